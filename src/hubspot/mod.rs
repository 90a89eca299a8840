//! The HubSpot client: the one door for HTTP, auth, limits, retries, and one file per resource.
