//! Connecting to HubSpot: the OAuth flow, static tokens, token stores, and the connection
//! status shown by `hubsync status`.

pub mod oauth;
pub mod store;

use std::sync::Arc;

use serde::Serialize;
use url::Url;

use crate::config::Paths;
use crate::hubspot::client::{unix_now, Client, Request};
use crate::hubspot::error::Error;
use crate::hubspot::secret::Secret;
use crate::hubspot::ObjectType;

pub use oauth::{OAuthApp, REQUIRED_SCOPES, SCAFFOLD_SCOPES};
pub use store::{Credentials, StoreKind, TokenStore};

/// The environment variable holding a static (private-app) token; it wins over stored tokens.
pub const STATIC_TOKEN_ENV: &str = "HUBSPOT_ACCESS_TOKEN";

/// `HUBSPOT_ACCESS_TOKEN`, when set and not empty.
#[must_use]
pub fn static_token() -> Option<Secret> {
    std::env::var(STATIC_TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

/// The result of `connect`.
#[derive(Debug, Clone, Serialize)]
pub struct Connected {
    pub portal_id: Option<u64>,
    pub scopes: Vec<String>,
    /// `keyring`, `file`, or `env` for `HUBSPOT_ACCESS_TOKEN`.
    pub token_store: String,
    /// Where the tokens are (a file path or the keyring); absent for `env`.
    pub location: Option<String>,
    /// RFC 3339, for OAuth tokens.
    pub expires_at: Option<String>,
}

/// Options of the OAuth flow.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub auth_base: String,
    pub port: u16,
    pub with_scaffold: bool,
    pub timeout: std::time::Duration,
}

/// The OAuth authorization-code flow: listen on loopback, hand the authorize URL to `show_url`
/// (which opens a browser or prints it), wait for the callback, exchange the code, read token
/// info, check the scopes and store the credentials.
pub async fn connect_oauth(
    client: &Client,
    app: &OAuthApp,
    store: Arc<dyn TokenStore>,
    opts: &ConnectOptions,
    show_url: impl FnOnce(&Url),
) -> Result<Connected, Error> {
    // A keyring that can't be reached should fail before the browser round trip.
    let probe = Arc::clone(&store);
    blocking(move || probe.load().map(|_| ())).await?;

    let listener = oauth::CallbackListener::bind(opts.port).await?;
    let redirect = oauth::redirect_uri(listener.port());
    let state = oauth::new_state()?;
    let url = oauth::authorize_url(
        &opts.auth_base,
        &app.client_id,
        &redirect,
        &state,
        opts.with_scaffold,
    )?;
    show_url(&url);
    let code = listener.wait_for_code(&state, opts.timeout).await?;
    drop(listener);
    tracing::info!("authorization received; exchanging the code for tokens");

    let tokens = oauth::exchange_code(client, app, &code, &redirect).await?;
    let (hub_id, scopes) = match oauth::token_info(client, &tokens.access_token).await {
        Ok(info) => (info.hub_id.or(tokens.hub_id), info.scopes),
        Err(e) if e.stops() => return Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "token info unavailable; using the token response");
            (tokens.hub_id, tokens.scopes.clone().unwrap_or_default())
        }
    };
    let missing = oauth::missing_scopes(&scopes);
    if !missing.is_empty() {
        // Not kept, so don't leave a working refresh token behind at HubSpot either.
        if let Some(r) = &tokens.refresh_token {
            if let Err(e) = oauth::revoke(client, r).await {
                tracing::debug!(error = %e, "could not revoke the incomplete connection");
            }
        }
        return Err(missing_scopes_error(&missing));
    }
    let Some(refresh_token) = tokens.refresh_token.clone() else {
        return Err(Error::auth(
            "HubSpot returned no refresh token; run `hubsync connect` again",
        ));
    };
    let expires_at = unix_now() + i64::try_from(tokens.expires_in).unwrap_or(1800);
    let creds = Credentials {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
        access_token: tokens.access_token,
        refresh_token,
        expires_at,
        hub_id,
        scopes: scopes.clone(),
        api_base: Some(client.base().to_owned()),
    };
    let s = Arc::clone(&store);
    blocking(move || s.save(&creds)).await?;
    Ok(Connected {
        portal_id: hub_id,
        scopes,
        token_store: store::kind_name(store.kind()).to_owned(),
        location: Some(store.location()),
        expires_at: rfc3339(expires_at),
    })
}

/// Verify `HUBSPOT_ACCESS_TOKEN` with one cheap call: the first contact (`limit=1`). A
/// private-app token has no token-info endpoint, so its scopes show only when a call needs one
/// it lacks (403 `MISSING_SCOPES`, exit 4 naming them).
pub async fn verify_static(client: &Client) -> Result<Connected, Error> {
    let req = Request::new(
        reqwest::Method::GET,
        client.paths().objects(ObjectType::Contacts),
        "contacts page",
    )
    .query("limit", "1");
    client.send(&req).await?;
    Ok(Connected {
        portal_id: None,
        scopes: Vec::new(),
        token_store: "env".to_owned(),
        location: None,
        expires_at: None,
    })
}

fn missing_scopes_error(missing: &[&str]) -> Error {
    Error::auth(format!(
        "HubSpot did not grant the scopes {}; add them to the app (or the private app token) and \
         run `hubsync connect` again",
        missing.join(", ")
    ))
}

/// Delete the stored tokens and revoke the refresh token. Returns whether anything was stored.
pub async fn disconnect(client: &Client, store: Arc<dyn TokenStore>) -> Result<bool, Error> {
    let s = Arc::clone(&store);
    let Some(creds) = blocking(move || s.load()).await? else {
        return Ok(false);
    };
    if let Err(e) = oauth::revoke(client, &creds.refresh_token).await {
        tracing::warn!(error = %e, "could not revoke the refresh token at HubSpot; deleting it locally anyway");
    }
    let s = Arc::clone(&store);
    blocking(move || s.delete()).await?;
    Ok(true)
}

/// The connection part of `hubsync status`. Reads the token store; makes no network call.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionStatus {
    pub connected: bool,
    pub portal_id: Option<u64>,
    pub scopes: Vec<String>,
    /// `keyring`, `file`, or `env` (`HUBSPOT_ACCESS_TOKEN`).
    pub token_store: String,
    /// When the access token expires (RFC 3339); it is refreshed automatically.
    pub expires_at: Option<String>,
    /// Scopes hubsync needs that the stored connection lacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_scopes: Vec<String>,
    /// Why it isn't connected, and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl ConnectionStatus {
    fn not_connected(token_store: String, problem: String) -> Self {
        Self {
            connected: false,
            portal_id: None,
            scopes: Vec::new(),
            token_store,
            expires_at: None,
            missing_scopes: Vec::new(),
            problem: Some(problem),
        }
    }
}

/// The connection as far as it can be known without asking HubSpot. Call it from synchronous
/// code (not inside an async runtime): with the keyring store it talks to the keyring daemon.
#[must_use]
pub fn connection_status(kind: StoreKind, paths: &Paths) -> ConnectionStatus {
    if static_token().is_some() {
        return ConnectionStatus {
            connected: true,
            problem: None,
            ..ConnectionStatus::not_connected("env".to_owned(), String::new())
        };
    }
    let store = store::open(kind, paths);
    let kind = store::kind_name(kind).to_owned();
    match store.load() {
        Ok(Some(c)) => ConnectionStatus {
            connected: true,
            portal_id: c.hub_id,
            missing_scopes: oauth::missing_scopes(&c.scopes)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            scopes: c.scopes,
            token_store: kind,
            expires_at: rfc3339(c.expires_at),
            problem: None,
        },
        Ok(None) => ConnectionStatus::not_connected(
            kind,
            format!(
                "not connected (no tokens in {}); run `hubsync connect`",
                store.location()
            ),
        ),
        Err(e) => ConnectionStatus::not_connected(kind, e.to_string()),
    }
}

/// Which token store a command uses, for the `--token-store` value given.
#[must_use]
pub fn open_store(kind: StoreKind, paths: &Paths) -> Arc<dyn TokenStore> {
    Arc::from(store::open(kind, paths))
}

/// Run a token-store call (possibly talking to the keyring daemon) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Store(format!("the token store call did not finish: {e}")))?
}

fn rfc3339(unix: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file token store in a fresh folder; `None` when `HUBSPOT_ACCESS_TOKEN` is set (it wins
    /// over stored tokens, so these tests have nothing to check).
    fn setup() -> Option<(tempfile::TempDir, StoreKind, Paths)> {
        if static_token().is_some() {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths {
            mappings: dir.path().join("unused.yaml"),
            db: dir.path().join("hubsync.db"),
        };
        Some((dir, StoreKind::File, paths))
    }

    #[test]
    fn status_without_tokens_says_connect() {
        let Some((_dir, kind, paths)) = setup() else {
            return;
        };
        let s = connection_status(kind, &paths);
        assert!(!s.connected);
        assert_eq!(s.token_store, "file");
        assert!(s
            .problem
            .as_deref()
            .unwrap_or("")
            .contains("hubsync connect"));
    }

    #[test]
    fn status_reads_the_store_and_never_shows_secrets() {
        let Some((_dir, kind, paths)) = setup() else {
            return;
        };
        let creds = Credentials {
            client_id: "cid".into(),
            client_secret: Secret::new("client-secret-value"),
            access_token: Secret::new("access-token-value"),
            refresh_token: Secret::new("na1-refresh-value"),
            expires_at: 1_900_000_000,
            hub_id: Some(42),
            scopes: REQUIRED_SCOPES
                .iter()
                .filter(|s| **s != "crm.lists.write")
                .map(|s| (*s).to_owned())
                .collect(),
            api_base: None,
        };
        store::open(StoreKind::File, &paths)
            .save(&creds)
            .expect("save");
        let s = connection_status(kind, &paths);
        assert!(s.connected);
        assert_eq!(s.portal_id, Some(42));
        assert_eq!(s.expires_at.as_deref(), Some("2030-03-17T17:46:40Z"));
        assert_eq!(s.missing_scopes, vec!["crm.lists.write".to_owned()]);
        let json = serde_json::to_string(&s).expect("json");
        for secret in [
            "client-secret-value",
            "access-token-value",
            "na1-refresh-value",
        ] {
            assert!(!json.contains(secret));
        }
    }
}
