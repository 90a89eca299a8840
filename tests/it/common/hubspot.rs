//! The local HubSpot the tests drive hubsync against, and hubsync pointed at it: connected
//! through the OAuth flow, or with a static token over the sample community.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hubsync_sandbox::{Sandbox, SandboxConfig};

use super::{repo, Env};

pub const CLIENT_ID: &str = "sandbox-client-id";
pub const CLIENT_SECRET: &str = "sandbox-client-secret";

/// A sandbox with one static and one manual list, no limits unless a test sets them.
pub fn sandbox(cfg: SandboxConfig) -> Sandbox {
    let sb = Sandbox::start(cfg).expect("sandbox starts");
    sb.create_list("Champions", "MANUAL", &[]).expect("list");
    sb.create_list("Active last 30 days", "DYNAMIC", &[])
        .expect("list");
    sb
}

/// `hubsync` pointed at the sandbox.
pub fn cmd(env: &Env, sb: &Sandbox) -> assert_cmd::Command {
    let mut c = env.cmd();
    c.env("HUBSYNC_API_BASE", sb.url())
        .env("HUBSYNC_AUTH_BASE", sb.url());
    c
}

/// The same as a plain process (for `connect`, which waits for the browser).
pub fn std_cmd(env: &Env, sb: &Sandbox) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("hubsync"));
    c.env_clear()
        .env("HOME", env.dir.path())
        .env("XDG_CONFIG_HOME", env.path("config"))
        .env("XDG_DATA_HOME", env.path("data"))
        .env("HUBSYNC_DB", env.db())
        .env("HUBSYNC_MAPPINGS", env.mappings())
        .env("HUBSYNC_TOKEN_STORE", "file")
        .env("HUBSYNC_API_BASE", sb.url())
        .env("HUBSYNC_AUTH_BASE", sb.url());
    c
}

/// A free loopback port for the callback listener.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A running `hubsync connect --no-browser` and the authorize URL it printed.
pub struct Connecting {
    pub child: Child,
    pub url: String,
    pub port: u16,
    stderr: Vec<String>,
    reader: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Connecting {
    pub fn start(env: &Env, sb: &Sandbox, extra: &[&str]) -> Connecting {
        let port = free_port();
        let mut child = std_cmd(env, sb)
            .args(["connect", "--no-browser", "--port", &port.to_string()])
            .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hubsync connect");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let url = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("connect exited before printing a URL: {seen:?}"))
                .expect("read stderr");
            seen.push(line.clone());
            if let Some(i) = line.find("http") {
                if line.contains("/oauth/authorize") {
                    break line[i..].trim().to_owned();
                }
            }
        };
        let reader = std::thread::spawn(move || lines.map_while(Result::ok).collect());
        Connecting {
            child,
            url,
            port,
            stderr: seen,
            reader: Some(reader),
        }
    }

    /// The `state` in the authorize URL.
    pub fn state(&self) -> String {
        let u = url::Url::parse(&self.url).expect("url");
        u.query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .expect("state in URL")
    }

    /// Wait for the process; (exit code, stdout, stderr).
    pub fn finish(mut self) -> (i32, String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("hubsync connect did not finish");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut out = String::new();
        if let Some(mut o) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut o, &mut out).expect("stdout");
        }
        let mut err = self.stderr.join("\n");
        if let Some(r) = self.reader.take() {
            err.push('\n');
            err.push_str(&r.join().expect("reader").join("\n"));
        }
        (status.code().unwrap_or(-1), out, err)
    }
}

/// GET `url` following redirects (the sandbox approves and sends the browser to the listener).
pub fn browse(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    })
}

/// Run the whole OAuth flow; returns the environment, now connected.
pub fn connected(sb: &Sandbox) -> Env {
    let env = Env::new();
    let c = Connecting::start(&env, sb, &[]);
    let (status, _) = browse(&c.url);
    assert_eq!(status, 200);
    let (code, out, err) = c.finish();
    assert_eq!(code, 0, "connect failed: {out}\n{err}");
    env
}

pub fn credentials(env: &Env) -> serde_json::Value {
    let text = std::fs::read_to_string(env.path("credentials.json")).expect("credentials.json");
    serde_json::from_str(&text).expect("credentials JSON")
}

/// The static token `hs` uses.
pub const TOKEN: &str = "pat-na1-push";

/// A sandbox seeded with `examples/data/hubspot-seed.json`, a store holding the sample
/// community, the example mapping file, and the property cache filled by `map refresh`.
pub fn community(cfg: SandboxConfig) -> (Env, Sandbox) {
    let sb = Sandbox::start(cfg.with_static_token(TOKEN)).expect("sandbox starts");
    sb.seed_file(repo().join("examples/data/hubspot-seed.json"))
        .expect("seed");
    let env = super::sample_env();
    hs(&env, &sb).args(["map", "refresh"]).assert().success();
    sb.clear_requests();
    (env, sb)
}

/// `hubsync` with the static token, pointed at the sandbox.
pub fn hs(env: &Env, sb: &Sandbox) -> assert_cmd::Command {
    let mut c = cmd(env, sb);
    c.env("HUBSPOT_ACCESS_TOKEN", TOKEN);
    c
}
