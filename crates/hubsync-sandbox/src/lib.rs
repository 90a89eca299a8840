//! The local HubSpot: an HTTP server that behaves like HubSpot as API.md describes it.
//!
//! It serves OAuth, properties, contacts and companies (with HubSpot's batch atomicity and
//! e-mail uniqueness), search, lists and associations under both the `v3`/`v4` and the
//! date-versioned `2026-03` paths, and enforces bearer tokens, scopes, the rolling burst limit,
//! the daily limit and the search limit. Faults (5xx, 429 bursts, hangs, dropped connections)
//! can be scheduled or drawn at random. Tests read the request log and the state it holds.
//!
//! ```no_run
//! use hubsync_sandbox::{Sandbox, SandboxConfig};
//! let sb = Sandbox::start(SandboxConfig::default().with_static_token("pat-na1-test"))?;
//! println!("{}", sb.url());
//! # anyhow::Ok(())
//! ```

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use anyhow::{anyhow, bail, Context as _, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

mod associations;
mod auth;
mod config;
mod errors;
mod extract;
mod limits;
mod lists;
mod objects;
mod properties;
mod search;
mod seed;
mod server;
mod state;

pub use config::{
    Fault, FaultPlan, RandomFaults, RateLimit, SandboxConfig, ScheduledFault, ALL_SCOPES,
    DEFAULT_APP_SCOPES,
};

use state::{Inner, ObjectType};

/// One API or OAuth request the sandbox answered (controls under `/__sandbox` are not logged).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    pub at: DateTime<Utc>,
}

/// The state shared by the server's handlers and the test controls.
pub struct Shared {
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

fn object(name: &str) -> Result<ObjectType> {
    ObjectType::parse(name)
        .ok_or_else(|| anyhow!("unknown object type {name}: use contacts or companies"))
}

fn record_id(id: &str) -> Result<u64> {
    id.trim()
        .parse()
        .with_context(|| format!("\"{id}\" is not a record id"))
}

impl Inner {
    pub(crate) fn expire_access_tokens(&mut self) {
        let past = Utc::now() - chrono::Duration::seconds(1);
        for t in self.tokens.access.values_mut() {
            t.expires = past;
        }
    }

    pub(crate) fn revoke_refresh_tokens(&mut self) {
        self.tokens.refresh.clear();
        self.tokens.access.retain(|_, a| a.refresh.is_none());
    }

    /// Sets properties as a user editing the record in HubSpot would (read-only ones such as
    /// `hs_additional_emails` included); bumps the modification date.
    pub(crate) fn edit_as_user(
        &mut self,
        o: ObjectType,
        id: u64,
        props: &Map<String, Value>,
    ) -> Result<()> {
        let Some(live) = self.store(o).resolve(id).map(|r| r.id) else {
            bail!("{} {id} does not exist or is archived", o.name());
        };
        let values = seed::user_values(self, o, props, Some(live))?;
        self.update_record(o, live, values);
        Ok(())
    }

    pub(crate) fn dump_record(&self, o: ObjectType, id: u64) -> Value {
        self.store(o).resolve(id).map_or(Value::Null, |r| {
            r.to_json(o, self.defs(o), Some(&r.all_names()))
        })
    }
}

impl Sandbox {
    /// Binds 127.0.0.1 (`cfg.port`, 0 = any free port) and serves on its own thread with its own
    /// tokio runtime, so synchronous tests can use it.
    pub fn start(cfg: SandboxConfig) -> Result<Sandbox> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", cfg.port))
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", cfg.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::new(cfg)),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hubsync-sandbox")
            .enable_all()
            .build()
            .context("cannot start the sandbox runtime")?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let app = server::router(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hubsync-sandbox".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        r = axum::serve(listener, app) => {
                            if let Err(e) = r {
                                tracing::error!("sandbox server stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime cancels in-flight requests (e.g. injected hangs).
                runtime.shutdown_background();
            })
            .context("cannot start the sandbox thread")?;
        Ok(Sandbox {
            url: format!("http://127.0.0.1:{}", addr.port()),
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`: the API base and the authorize-page base.
    #[must_use]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The port the sandbox listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.lock()
    }

    /// Loads a seed file (see [`seed_json`](Self::seed_json) for the format).
    pub fn seed_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read seed file {}", path.display()))?;
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("seed file {} is not valid JSON", path.display()))?;
        self.seed_json(&v)
            .with_context(|| format!("seed file {}", path.display()))
    }

    /// Loads custom properties, contacts, companies, associations and lists:
    /// `{"properties": {"contacts": [...], "companies": [...]}, "contacts": [{"id"?, "properties"}],
    /// "companies": [...], "associations": [{"contact", "company"}],
    /// "lists": [{"name", "processingType", "objectTypeId"?, "members": [ids]}]}`.
    pub fn seed_json(&self, value: &Value) -> Result<()> {
        seed::apply(&mut self.lock(), value)
    }

    /// Every logged request, oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// How many logged requests used `method` on a path ending with `path_suffix`.
    #[must_use]
    pub fn count(&self, method: &str, path_suffix: &str) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|r| r.method == method && r.path.ends_with(path_suffix))
            .count()
    }

    pub fn clear_requests(&self) {
        self.lock().log.clear();
    }

    /// What HubSpot holds: `contacts`, `companies` (every record, archived and merged ones
    /// flagged), `lists` with `members`, `associations`, `properties`.
    #[must_use]
    pub fn state(&self) -> Value {
        self.lock().dump()
    }

    /// One record as the state dump shows it (merged ids lead to the survivor); `Null` if absent.
    #[must_use]
    pub fn record(&self, object_type: &str, id: &str) -> Value {
        match (object(object_type), record_id(id)) {
            (Ok(o), Ok(id)) => self.lock().dump_record(o, id),
            _ => Value::Null,
        }
    }

    /// The live contact with this e-mail (primary or additional), if any.
    #[must_use]
    pub fn contact_by_email(&self, email: &str) -> Option<Value> {
        let s = self.lock();
        let id = s.store(ObjectType::Contacts).by_email(email)?;
        Some(s.dump_record(ObjectType::Contacts, id))
    }

    /// Accepts `token` as a private-app token with `scopes`.
    pub fn add_static_token(&self, token: &str, scopes: &[&str]) {
        self.lock().tokens.statics.insert(
            token.to_string(),
            scopes.iter().map(|s| (*s).to_string()).collect(),
        );
    }

    /// Every OAuth access token issued so far is now expired (401 `EXPIRED_AUTHENTICATION`).
    pub fn expire_all_access_tokens(&self) {
        self.lock().expire_access_tokens();
    }

    /// Every refresh token (and the access tokens issued from it) stops working.
    pub fn revoke_refresh_tokens(&self) {
        self.lock().revoke_refresh_tokens();
    }

    /// Replaces the fault plan; scheduled request numbers count from now.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.lock().limits.set_faults(plan);
    }

    /// How many times a batch upsert wrote each key (the lowercased `id`, an e-mail for
    /// contacts); refused batches don't count.
    pub fn upserts_applied(&self) -> std::collections::HashMap<String, u32> {
        self.lock().upserts_applied.clone()
    }

    /// The next OAuth token requests (`POST …/token`: code exchanges and refreshes) get these
    /// faults, one each, in order; `Fault::Applied` issues (and rotates) the tokens first.
    pub fn fail_next_token_requests(&self, faults: Vec<Fault>) {
        self.lock().limits.token_faults = faults.into();
    }

    /// Replaces the burst limit (and empties its window).
    pub fn set_rate_limit(&self, rate: Option<RateLimit>) {
        self.lock().limits.set_rate_limit(rate);
    }

    /// Replaces the daily limit (and resets today's count).
    pub fn set_daily_limit(&self, limit: Option<u64>) {
        self.lock().limits.set_daily_limit(limit);
    }

    pub fn set_search_per_second(&self, limit: Option<u32>) {
        self.lock().limits.search_per_second = limit;
    }

    /// Creates a record as a user would in HubSpot; returns its id.
    pub fn create_record(&self, object_type: &str, properties: &Value) -> Result<String> {
        let o = object(object_type)?;
        let props = properties
            .as_object()
            .ok_or_else(|| anyhow!("properties must be a JSON object"))?;
        let mut s = self.lock();
        let values = seed::user_values(&s, o, props, None)?;
        Ok(s.create_record(o, values, None).to_string())
    }

    /// Edits a record as a user would in HubSpot (bumps its modification date).
    pub fn edit_record(&self, object_type: &str, id: &str, properties: &Value) -> Result<()> {
        let o = object(object_type)?;
        let props = properties
            .as_object()
            .ok_or_else(|| anyhow!("properties must be a JSON object"))?;
        self.lock().edit_as_user(o, record_id(id)?, props)
    }

    /// Merges `secondary` into `primary`: the secondary's id and e-mail now lead to the primary,
    /// which lists the secondary in `hs_merged_object_ids`.
    pub fn merge(&self, object_type: &str, primary: &str, secondary: &str) -> Result<()> {
        let o = object(object_type)?;
        if self
            .lock()
            .merge_records(o, record_id(primary)?, record_id(secondary)?)
        {
            Ok(())
        } else {
            bail!("cannot merge {secondary} into {primary}: both must exist, be live and differ")
        }
    }

    /// Archives a record (as deleting it in HubSpot does).
    pub fn archive(&self, object_type: &str, id: &str) -> Result<()> {
        let o = object(object_type)?;
        if self.lock().archive_record(o, record_id(id)?) {
            Ok(())
        } else {
            bail!("{object_type} {id} does not exist or is already archived")
        }
    }

    /// Creates a contact list (`MANUAL`, `SNAPSHOT` or `DYNAMIC`) with members; returns its id.
    pub fn create_list(
        &self,
        name: &str,
        processing_type: &str,
        members: &[&str],
    ) -> Result<String> {
        let mut s = self.lock();
        let filter_branch = (processing_type == "DYNAMIC").then(
            || serde_json::json!({"filterBranchType": "OR", "filterBranches": [], "filters": []}),
        );
        let id = lists::create_list(
            &mut s,
            lists::CreateBody {
                name: name.to_string(),
                object_type_id: "0-1".into(),
                processing_type: processing_type.to_string(),
                filter_branch,
            },
        )
        .map_err(|e| anyhow!("cannot create list {name}: {}", e.body["message"]))?;
        let now = s.now();
        for m in members {
            let mid = record_id(m)?;
            if s.store(ObjectType::Contacts).resolve(mid).is_none() {
                bail!("list {name}: contact {mid} does not exist");
            }
            if let Some(list) = s.lists.get_mut(&id) {
                list.members.insert(mid, now);
            }
        }
        Ok(id.to_string())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
