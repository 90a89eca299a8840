//! The OAuth authorization-code flow of `hubsync connect` (SPEC §3, API.md §1).

use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::hubspot::client::{Body, Client, FormValue, Limit, Request};
use crate::hubspot::error::Error;
use crate::hubspot::models::{TokenInfo, TokenResponse};
use crate::hubspot::paths::ApiPaths;
use crate::hubspot::secret::Secret;

/// The scopes hubsync needs (SPEC §1).
pub const REQUIRED_SCOPES: [&str; 8] = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.lists.read",
    "crm.lists.write",
];

/// Asked as `optional_scope` with `connect --with-scaffold` (creating properties).
pub const SCAFFOLD_SCOPES: [&str; 2] =
    ["crm.schemas.contacts.write", "crm.schemas.companies.write"];

/// How long `connect` waits for the browser to come back.
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(300);

/// The OAuth app's credentials.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: Secret,
}

/// `http://localhost:PORT/callback` (HubSpot refuses IP-address redirect URIs).
#[must_use]
pub fn redirect_uri(port: u16) -> String {
    format!("http://localhost:{port}/callback")
}

/// A fresh, unguessable `state`.
pub fn new_state() -> Result<String, Error> {
    let mut b = [0u8; 24];
    getrandom::getrandom(&mut b).map_err(|e| {
        Error::Store(format!(
            "no randomness from the OS for the OAuth state: {e}"
        ))
    })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The page the user approves hubsync on.
pub fn authorize_url(
    auth_base: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    with_scaffold: bool,
) -> Result<Url, Error> {
    let base = format!("{}/oauth/authorize", auth_base.trim_end_matches('/'));
    let mut scopes: Vec<&str> = REQUIRED_SCOPES.to_vec();
    scopes.push("oauth");
    let scope = scopes.join(" ");
    let optional = SCAFFOLD_SCOPES.join(" ");
    let mut params = vec![
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope.as_str()),
        ("state", state),
    ];
    if with_scaffold {
        params.push(("optional_scope", optional.as_str()));
    }
    let mut url = Url::parse_with_params(&base, &params).map_err(|e| Error::Transport {
        base: auth_base.to_owned(),
        message: format!("not a valid authorize URL: {e}"),
    })?;
    // HubSpot wants the scope list separated by %20, not `+`.
    let query = url.query().map(|q| q.replace('+', "%20"));
    url.set_query(query.as_deref());
    Ok(url)
}

/// The scopes of [`REQUIRED_SCOPES`] missing from `granted`.
#[must_use]
pub fn missing_scopes(granted: &[String]) -> Vec<&'static str> {
    REQUIRED_SCOPES
        .iter()
        .copied()
        .filter(|s| !granted.iter().any(|g| g == s))
        .collect()
}

/// The loopback listener the browser is redirected to. Binds 127.0.0.1 only.
#[derive(Debug)]
pub struct CallbackListener {
    listener: TcpListener,
    /// The same port on `[::1]`: a browser may resolve `localhost` to the IPv6 loopback.
    listener6: Option<TcpListener>,
    port: u16,
}

/// What the callback brought.
enum Callback {
    Code(String),
    Denied(String),
}

impl CallbackListener {
    pub async fn bind(port: u16) -> Result<Self, Error> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            Error::Store(format!(
                "cannot listen on 127.0.0.1:{port} for the OAuth callback ({e}); pass --port N \
                 with a free port and register http://localhost:N/callback as a redirect URL of \
                 your HubSpot app"
            ))
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        let listener6 = match TcpListener::bind(("::1", port)).await {
            Ok(l) => Some(l),
            // Another program has the port on the IPv6 loopback: the browser might reach it.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(Error::Store(format!(
                    "cannot listen on [::1]:{port} for the OAuth callback (the port is taken there); pass --port N \
                     with a free port and register http://localhost:N/callback as a redirect URL of \
                     your HubSpot app"
                )))
            }
            // No IPv6 on this machine: `localhost` can only be 127.0.0.1.
            Err(_) => None,
        };
        Ok(Self {
            listener,
            listener6,
            port,
        })
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Wait for the redirect carrying `state`; requests with another state are refused (400) and
    /// waiting goes on. Returns the authorization code.
    pub async fn wait_for_code(&self, state: &str, timeout: Duration) -> Result<String, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let either = async {
                match &self.listener6 {
                    Some(v6) => tokio::select! {
                        a = self.listener.accept() => a,
                        a = v6.accept() => a,
                    },
                    None => self.listener.accept().await,
                }
            };
            let accepted = tokio::time::timeout_at(deadline, either).await;
            let Ok(accepted) = accepted else {
                let within = if timeout.as_secs() >= 120 {
                    format!("{} minutes", timeout.as_secs() / 60)
                } else {
                    format!("{} seconds", timeout.as_secs_f32().ceil())
                };
                return Err(Error::auth(format!(
                    "no answer from the browser within {within}; run `hubsync connect` again"
                )));
            };
            let Ok((stream, _)) = accepted else { continue };
            match handle(stream, state).await {
                Some(Callback::Code(code)) => return Ok(code),
                Some(Callback::Denied(why)) => {
                    return Err(Error::auth(format!(
                        "HubSpot did not authorize hubsync ({why}); run `hubsync connect` again"
                    )))
                }
                None => {}
            }
        }
    }
}

/// Serve one request on the listener. `None` when it wasn't the callback we wait for.
async fn handle(mut stream: TcpStream, state: &str) -> Option<Callback> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    if read.is_err() {
        return None;
    }
    let head = String::from_utf8_lossy(&buf);
    let target = head
        .lines()
        .next()
        .and_then(|l| {
            let mut parts = l.split_whitespace();
            (parts.next() == Some("GET"))
                .then(|| parts.next())
                .flatten()
        })
        .unwrap_or("");
    let Ok(url) = Url::parse(&format!("http://localhost{target}")) else {
        respond(&mut stream, 400, "Bad request.").await;
        return None;
    };
    if url.path() != "/callback" {
        respond(&mut stream, 404, "Not found.").await;
        return None;
    }
    let get = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    if get("state").as_deref() != Some(state) {
        tracing::warn!("refused an OAuth callback whose state does not match this connect");
        respond(
            &mut stream,
            400,
            "This authorization does not belong to the running `hubsync connect` (state mismatch). Nothing was stored.",
        )
        .await;
        return None;
    }
    if let Some(err) = get("error") {
        let desc = get("error_description").unwrap_or_default();
        respond(
            &mut stream,
            200,
            "hubsync was not authorized. You can close this tab.",
        )
        .await;
        return Some(Callback::Denied(if desc.is_empty() {
            err
        } else {
            format!("{err}: {desc}")
        }));
    }
    match get("code").filter(|c| !c.is_empty()) {
        Some(code) => {
            respond(
                &mut stream,
                200,
                "hubsync received the authorization. You can close this tab and return to the terminal.",
            )
            .await;
            Some(Callback::Code(code))
        }
        None => {
            respond(&mut stream, 400, "The callback has no authorization code.").await;
            None
        }
    }
}

async fn respond(stream: &mut TcpStream, status: u16, text: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>hubsync</title></head><body><p>{text}</p></body></html>"
    );
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(msg.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Exchange the authorization code for tokens.
pub async fn exchange_code(
    client: &Client,
    app: &OAuthApp,
    code: &str,
    redirect_uri: &str,
) -> Result<TokenResponse, Error> {
    let req = Request {
        method: Method::POST,
        path: client.paths().oauth_token(),
        query: Vec::new(),
        body: Body::Form(vec![
            ("grant_type", FormValue::Plain("authorization_code".into())),
            ("client_id", FormValue::Plain(app.client_id.clone())),
            (
                "client_secret",
                FormValue::Secret(app.client_secret.clone()),
            ),
            ("redirect_uri", FormValue::Plain(redirect_uri.to_owned())),
            ("code", FormValue::Secret(Secret::new(code))),
        ]),
        limit: Limit::None,
        what: "token",
        retry_ambiguous: true,
    };
    match client.execute(&req, None).await {
        Ok(r) => r.json("token"),
        Err(Error::Api(e)) if (400..500).contains(&e.status) => Err(Error::auth(format!(
            "HubSpot refused the authorization code ({}); check --client-id/--client-secret and \
             that http://localhost:PORT/callback is a redirect URL of the app, then run \
             `hubsync connect` again",
            if e.message.is_empty() {
                e.error.as_deref().unwrap_or("invalid grant")
            } else {
                e.message.as_str()
            }
        ))),
        Err(e) => Err(e),
    }
}

/// Hub id and granted scopes of an access token.
pub async fn token_info(client: &Client, token: &Secret) -> Result<TokenInfo, Error> {
    let req = Request::new(
        Method::GET,
        ApiPaths::oauth_access_token_info(token.expose()),
        "token info",
    )
    .limit(Limit::None);
    client.execute(&req, None).await?.json("token info")
}

/// Revoke a refresh token. A token HubSpot no longer knows counts as revoked.
pub async fn revoke(client: &Client, refresh_token: &Secret) -> Result<(), Error> {
    let req = Request::new(
        Method::DELETE,
        ApiPaths::oauth_refresh_token(refresh_token.expose()),
        "revoke",
    )
    .limit(Limit::None);
    match client.execute(&req, None).await {
        Ok(_) => Ok(()),
        Err(Error::Api(e)) if matches!(e.status, 400 | 401 | 404) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_has_every_scope_and_state() {
        let u = authorize_url(
            "https://app.hubspot.com/",
            "cid",
            "http://localhost:47321/callback",
            "s123",
            true,
        )
        .expect("url");
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(u.path(), "/oauth/authorize");
        assert_eq!(get("client_id").as_deref(), Some("cid"));
        assert_eq!(
            get("redirect_uri").as_deref(),
            Some("http://localhost:47321/callback")
        );
        assert_eq!(get("state").as_deref(), Some("s123"));
        let scope = get("scope").expect("scope");
        for s in REQUIRED_SCOPES.iter().chain(["oauth"].iter()) {
            assert!(scope.split(' ').any(|x| x == *s), "{s} in {scope}");
        }
        assert_eq!(
            get("optional_scope").as_deref(),
            Some("crm.schemas.contacts.write crm.schemas.companies.write")
        );
        assert!(u.as_str().contains("%20"));
    }

    #[test]
    fn states_differ() {
        assert_ne!(new_state().expect("state"), new_state().expect("state"));
    }

    #[test]
    fn missing_scopes_named() {
        let granted: Vec<String> = REQUIRED_SCOPES
            .iter()
            .filter(|s| **s != "crm.lists.write")
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(missing_scopes(&granted), vec!["crm.lists.write"]);
    }

    #[tokio::test]
    async fn listener_gives_up_after_the_timeout() {
        let l = CallbackListener::bind(0).await.expect("bind");
        let err = l
            .wait_for_code("s", Duration::from_millis(100))
            .await
            .expect_err("times out");
        assert!(matches!(err, Error::Auth(_)), "{err:?}");
        assert!(err.to_string().contains("hubsync connect"));
    }

    #[tokio::test]
    async fn listener_binds_loopback_only() {
        let l = CallbackListener::bind(0).await.expect("bind");
        let addr = l.listener.local_addr().expect("addr");
        assert!(addr.ip().is_loopback());
        assert!(addr.is_ipv4());
    }
}
