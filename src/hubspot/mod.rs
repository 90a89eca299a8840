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
pub use paths::{ApiPaths, ObjectType};
pub use secret::Secret;

use crate::cli::GlobalArgs;
use crate::config::Paths;
use crate::mapping::ApiVersion;

/// An authenticated client: `HUBSPOT_ACCESS_TOKEN` when set, otherwise the stored OAuth tokens
/// (refreshed as needed). Not connected → exit 4 saying `hubsync connect`.
pub async fn connect_client(
    global: &GlobalArgs,
    paths: &Paths,
    version: ApiVersion,
) -> Result<Client, Error> {
    if let Err(why) = client::check_base(&global.api_base) {
        // Checked before any token is read or sent.
        return Err(Error::Stop(crate::error::Exit::Failed(format!(
            "--api-base (or HUBSYNC_API_BASE): {why}"
        ))));
    }
    if let Some(token) = auth::static_token() {
        return Client::new(&global.api_base, version, Auth::Static(token));
    }
    let store = auth::open_store(global.token_store, paths);
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
                b.trim_end_matches('/') != global.api_base.trim().trim_end_matches('/')
            }) =>
        {
            Err(Error::auth(format!(
                "the stored connection was made for the HubSpot API at {}, not {}; run `hubsync connect` for this one (or fix --api-base)",
                creds.api_base.as_deref().unwrap_or_default(),
                global.api_base
            )))
        }
        Some(creds) => Client::new(&global.api_base, version, Auth::OAuth { creds, store }),
        None => Err(Error::auth(format!(
            "not connected to HubSpot (no tokens in {}); run `hubsync connect`",
            store.location()
        ))),
    }
}
