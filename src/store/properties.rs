//! The HubSpot property cache (`property_cache` table).
