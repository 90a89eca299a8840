//! `hubsync disconnect`: revoke the refresh token and delete the stored tokens.

use anyhow::Result;

use super::{block_on, Context};
use crate::hubspot::auth;
use crate::hubspot::ApiVersion;
use crate::hubspot::{Auth, Client};

pub fn run(ctx: &Context) -> Result<()> {
    let store = auth::open_store(ctx.token_store(), &ctx.paths);
    let location = store.location();
    let removed = block_on(async {
        let client = Client::new(&ctx.global.api_base, ApiVersion::default(), Auth::None)?;
        Ok(auth::disconnect(&client, store).await?)
    })?;
    if ctx.json() {
        super::print_json(&serde_json::json!({"status": "disconnected", "removed": removed}))?;
    } else if removed {
        outln!("disconnected (tokens removed from {location})");
    } else {
        outln!("not connected: no tokens in {location}");
    }
    if auth::static_token().is_some() {
        errln!(
            "{} HUBSPOT_ACCESS_TOKEN is set and is still used until you unset it",
            crate::output::paint(crate::output::WARN, "note:")
        );
    }
    Ok(())
}
