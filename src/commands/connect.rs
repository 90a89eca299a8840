//! `hubsync connect`: OAuth in the browser, or verify `HUBSPOT_ACCESS_TOKEN`.

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::ConnectArgs;
use crate::hubspot::auth::{self, ConnectOptions, Connected, OAuthApp};
use crate::hubspot::{Auth, Client, Secret};
use crate::mapping::{ApiVersion, Mapping};

pub fn run(ctx: &Context, args: &ConnectArgs) -> Result<()> {
    let version = api_version(ctx);
    let connected = block_on(async {
        if let Some(token) = auth::static_token() {
            let client = Client::new(&ctx.global.api_base, version.into(), Auth::Static(token))?;
            return Ok(auth::verify_static(&client).await?);
        }
        let client = Client::new(&ctx.global.api_base, version.into(), Auth::None)?;
        let (Some(client_id), Some(client_secret)) = (
            args.client_id.clone().filter(|s| !s.is_empty()),
            args.client_secret.clone().filter(|s| !s.is_empty()),
        ) else {
            anyhow::bail!(
                "connecting needs your HubSpot app's credentials: pass --client-id and \
                 --client-secret (or set HUBSYNC_CLIENT_ID and HUBSYNC_CLIENT_SECRET), or set \
                 HUBSPOT_ACCESS_TOKEN to a private app token"
            );
        };
        let app = OAuthApp {
            client_id,
            client_secret: Secret::new(client_secret),
        };
        let store = auth::open_store(ctx.token_store(), &ctx.paths);
        let opts = ConnectOptions {
            auth_base: ctx.global.auth_base.clone(),
            port: args.port,
            with_scaffold: args.with_scaffold,
            timeout: auth::oauth::CALLBACK_TIMEOUT,
        };
        let no_browser = args.no_browser;
        let connected = auth::connect_oauth(&client, &app, store, &opts, |url| {
            show_url(url.as_str(), no_browser);
        })
        .await?;
        Ok(connected)
    })?;
    print(ctx, &connected)
}

/// The mapping file's `api_version`, or the default when there is no usable mapping file yet.
fn api_version(ctx: &Context) -> ApiVersion {
    match Mapping::load_optional(&ctx.paths.mappings) {
        Ok(Some(m)) => m.file.api_version,
        _ => ApiVersion::default(),
    }
}

fn show_url(url: &str, no_browser: bool) {
    errln!(
        "Open this address in a browser to connect hubsync to HubSpot (waiting up to 5 minutes):\n\n  {url}\n"
    );
    if !no_browser && !open_browser(url) {
        errln!("(could not open a browser; open the address above yourself)");
    }
}

fn open_browser(url: &str) -> bool {
    // `$BROWSER` (the usual convention) names the program to open the address with.
    if let Some(browser) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        return std::process::Command::new(browser)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok();
    }
    let (program, pre): (&str, &[&str]) = if cfg!(target_os = "macos") {
        ("open", &[])
    } else if cfg!(windows) {
        ("cmd", &["/C", "start", ""])
    } else {
        ("xdg-open", &[])
    };
    std::process::Command::new(program)
        .args(pre)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

fn print(ctx: &Context, c: &Connected) -> Result<()> {
    if ctx.json() {
        let mut v = serde_json::to_value(c)?;
        v["status"] = serde_json::Value::String("connected".into());
        super::print_json(&v)?;
        return Ok(());
    }
    let portal = c
        .portal_id
        .map_or_else(|| "HubSpot".to_owned(), |p| format!("HubSpot portal {p}"));
    match &c.location {
        Some(loc) => outln!("connected to {portal} (tokens in {loc})"),
        None => outln!("connected to {portal} (token from HUBSPOT_ACCESS_TOKEN)"),
    }
    Ok(())
}
