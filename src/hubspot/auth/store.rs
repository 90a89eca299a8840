//! Where OAuth credentials live: the OS keyring or a 0600 `credentials.json` beside the store.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Paths;
use crate::hubspot::error::Error;
use crate::hubspot::secret::{expose_serialize, Secret};

/// Everything needed to call HubSpot and refresh: tokens, the OAuth app, what was granted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub client_id: String,
    #[serde(serialize_with = "expose_serialize")]
    pub client_secret: Secret,
    #[serde(serialize_with = "expose_serialize")]
    pub access_token: Secret,
    #[serde(serialize_with = "expose_serialize")]
    pub refresh_token: Secret,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
    #[serde(default)]
    pub hub_id: Option<u64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The API base the tokens were issued for; a run against another base is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
}

/// Where OAuth tokens are kept (the command line's `--token-store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The OS keyring (service `hubsync`).
    Keyring,
    /// `credentials.json` beside the store, mode 0600.
    File,
}

/// A place to keep [`Credentials`]. Calls may block (the keyring talks to a daemon); async
/// code runs them on a blocking thread.
pub trait TokenStore: Send + Sync + fmt::Debug {
    fn kind(&self) -> StoreKind;
    /// Where, for messages: `OS keyring (service hubsync)` or the file path.
    fn location(&self) -> String;
    fn load(&self) -> Result<Option<Credentials>, Error>;
    /// Replace the stored credentials atomically.
    fn save(&self, creds: &Credentials) -> Result<(), Error>;
    /// Remove them; `false` when there was nothing to remove.
    fn delete(&self) -> Result<bool, Error>;
}

/// The store chosen by `--token-store` for this database. A connection made with
/// `--token-store file` is remembered: when its `credentials.json` exists beside the store, it
/// is used whatever `--token-store` says (`disconnect` removes it).
#[must_use]
pub fn open(kind: StoreKind, paths: &Paths) -> Box<dyn TokenStore> {
    let file = paths.data_dir().join("credentials.json");
    match kind {
        StoreKind::Keyring if !file.exists() => Box::new(KeyringStore::new(&paths.db)),
        StoreKind::File | StoreKind::Keyring => Box::new(FileStore::new(file)),
    }
}

/// The name a store has in `--token-store` and in `status`.
#[must_use]
pub fn kind_name(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Keyring => "keyring",
        StoreKind::File => "file",
    }
}

// ---- file ----

/// `credentials.json`, created with mode 0600 and replaced atomically (temp file + rename).
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, what: &str, e: &std::io::Error) -> Error {
        Error::Store(format!(
            "cannot {what} the token file {}: {e}",
            self.path.display()
        ))
    }
}

impl TokenStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<Option<Credentials>, Error> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.failed("read", &e)),
        };
        let de = &mut serde_json::Deserializer::from_slice(&text);
        serde_path_to_error::deserialize(de).map(Some).map_err(|e| {
            Error::Store(format!(
                "the token file {} is damaged (at `{}`); delete it and run `hubsync connect`",
                self.path.display(),
                e.path()
            ))
        })
    }

    fn save(&self, creds: &Credentials) -> Result<(), Error> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.failed("create the directory of", &e))?;
        let body = serde_json::to_vec_pretty(creds)
            .map_err(|e| Error::Store(format!("cannot encode credentials: {e}")))?;
        let tmp = dir.join(format!(".credentials.json.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            f.write_all(&body)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.failed("write", &e)
        })
    }

    fn delete(&self) -> Result<bool, Error> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.failed("delete", &e)),
        }
    }
}

// ---- keyring ----

const SERVICE: &str = "hubsync";

/// One keyring entry per store: service `hubsync`, account `oauth:<database path>`.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    account: String,
}

impl KeyringStore {
    #[must_use]
    pub fn new(db: &Path) -> Self {
        Self {
            account: format!("oauth:{}", db.display()),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, Error> {
        keyring::Entry::new(SERVICE, &self.account).map_err(|e| keyring_error(&e))
    }
}

/// One clear line; the platform's own error (often a raw D-Bus message) only at debug level.
fn keyring_error(e: &keyring::Error) -> Error {
    tracing::debug!(error = %e, "keyring error");
    match e {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => Error::Store(
            "the OS keyring is not reachable (no Secret Service here, as under cron or on a \
             headless machine); use `--token-store file` (or HUBSYNC_TOKEN_STORE=file) to keep \
             tokens in a 0600 file beside the store"
                .to_owned(),
        ),
        keyring::Error::BadEncoding(_) => Error::Store(
            "the hubsync entry in the OS keyring is damaged; run `hubsync disconnect` and `hubsync connect`"
                .to_owned(),
        ),
        _ => Error::Store(
            "the OS keyring refused the hubsync entry; use `--token-store file` (or \
             HUBSYNC_TOKEN_STORE=file) instead"
                .to_owned(),
        ),
    }
}

impl TokenStore for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self) -> String {
        format!("OS keyring (service {SERVICE})")
    }

    fn load(&self) -> Result<Option<Credentials>, Error> {
        match self.entry()?.get_password() {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|_| {
                Error::Store(
                    "the hubsync entry in the OS keyring is damaged; run `hubsync connect`"
                        .to_owned(),
                )
            }),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(&e)),
        }
    }

    fn save(&self, creds: &Credentials) -> Result<(), Error> {
        let text = serde_json::to_string(creds)
            .map_err(|e| Error::Store(format!("cannot encode credentials: {e}")))?;
        self.entry()?
            .set_password(&text)
            .map_err(|e| keyring_error(&e))
    }

    fn delete(&self) -> Result<bool, Error> {
        match self.entry()?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            client_id: "cid".into(),
            client_secret: Secret::new("client-secret-value"),
            access_token: Secret::new("access-token-value"),
            refresh_token: Secret::new("na1-refresh-value"),
            expires_at: 1_700_000_000,
            hub_id: Some(42),
            scopes: vec!["oauth".into()],
            api_base: None,
        }
    }

    #[test]
    fn file_store_round_trip_and_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().join("sub/credentials.json"));
        assert_eq!(store.load().expect("load"), None);
        store.save(&creds()).expect("save");
        assert_eq!(store.load().expect("load"), Some(creds()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut c = creds();
        c.refresh_token = Secret::new("na1-rotated");
        store.save(&c).expect("save again");
        assert_eq!(
            store.load().expect("load").map(|c| c.refresh_token),
            Some(Secret::new("na1-rotated"))
        );
        assert!(store.delete().expect("delete"));
        assert!(!store.delete().expect("delete again"));
    }

    #[test]
    fn debug_hides_secrets() {
        let text = format!("{:?}", creds());
        assert!(!text.contains("client-secret-value"));
        assert!(!text.contains("access-token-value"));
        assert!(!text.contains("na1-refresh-value"));
    }
}
