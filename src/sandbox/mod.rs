//! The local HubSpot: an HTTP server that behaves like HubSpot as API.md describes it.
