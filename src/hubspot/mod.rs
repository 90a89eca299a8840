//! The HubSpot client: the one door for HTTP, auth, limits, retries, and one file per resource.
//!
//! Build a client with [`connect_client`], then call the resource
//! modules: [`objects`], [`search`], [`properties`], [`lists`], [`associations`].

pub mod associations;
pub mod auth;
pub mod client;
pub mod error;
pub mod limiter;
pub mod lists;
pub mod models;
pub mod objects;
pub mod paging;
pub mod paths;
pub mod properties;
pub mod retry;
pub mod search;
pub mod secret;

use std::sync::Arc;

pub use client::{Auth, Client, Request};
pub use error::{ApiError, Error};
pub use paths::{ApiPaths, ApiVersion, ObjectType};
pub use secret::Secret;

use crate::config::Paths;

/// An authenticated client for `api_base`: `HUBSPOT_ACCESS_TOKEN` when set, otherwise the
/// OAuth tokens in `token_store` (refreshed as needed). A malformed or clear-text `api_base` is
/// [`Error::BadBase`], before any token is read. Not connected → exit 4 saying `hubsync connect`.
pub async fn connect_client(
    api_base: &str,
    token_store: auth::StoreKind,
    paths: &Paths,
    version: ApiVersion,
) -> Result<Client, Error> {
    client::check_base(api_base).map_err(Error::BadBase)?;
    if let Some(token) = auth::static_token() {
        return Client::new(api_base, version, Auth::Static(token));
    }
    let store = auth::open_store(token_store, paths);
    let s = Arc::clone(&store);
    let creds = match auth::blocking(move || s.load()).await {
        Ok(c) => c,
        // No keyring here and no token file: this machine was never connected.
        Err(Error::Store(why)) => {
            return Err(Error::auth(format!(
                "not connected to HubSpot ({why}); run `hubsync connect`"
            )))
        }
        Err(e) => return Err(e),
    };
    match creds {
        Some(creds)
            if creds.api_base.as_deref().is_some_and(|b| {
                b.trim_end_matches('/') != api_base.trim().trim_end_matches('/')
            }) =>
        {
            Err(Error::auth(format!(
                "the stored connection was made for the HubSpot API at {}, not {api_base}; run `hubsync connect` for this one",
                creds.api_base.as_deref().unwrap_or_default(),
            )))
        }
        Some(creds) => Client::new(api_base, version, Auth::OAuth { creds, store }),
        None => Err(Error::auth(format!(
            "not connected to HubSpot (no tokens in {}); run `hubsync connect`",
            store.location()
        ))),
    }
}
