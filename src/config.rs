//! Where hubsync's files live: XDG defaults, flags and environment overrides (SPEC §2).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// Resolved paths and settings shared by every command.
#[derive(Debug, Clone)]
pub struct Paths {
    pub mappings: PathBuf,
    pub db: PathBuf,
}

impl Paths {
    /// Resolve paths from the given overrides (flags, which already include `HUBSYNC_*`
    /// environment overrides), else the XDG defaults.
    pub fn resolve(mappings: Option<&Path>, db: Option<&Path>) -> Result<Self> {
        let mappings = match mappings {
            Some(p) => p.to_path_buf(),
            None => xdg_dir("XDG_CONFIG_HOME", ".config")?.join("hubsync/mappings.yaml"),
        };
        let db = match db {
            Some(p) => p.to_path_buf(),
            None => xdg_dir("XDG_DATA_HOME", ".local/share")?.join("hubsync/hubsync.db"),
        };
        Ok(Self { mappings, db })
    }

    /// The directory holding the store (and the lock and file token store beside it).
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        self.db.parent().unwrap_or_else(|| Path::new("."))
    }
}

fn xdg_dir(var: &str, fallback: &str) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).context(
        "neither $XDG_CONFIG_HOME/$XDG_DATA_HOME nor $HOME is set; pass --db and --mappings",
    )?;
    Ok(PathBuf::from(home).join(fallback))
}

/// The mapping file's `api_version` picks the generation of HubSpot paths the client calls.
impl From<crate::mapping::ApiVersion> for crate::hubspot::ApiVersion {
    fn from(v: crate::mapping::ApiVersion) -> Self {
        match v {
            crate::mapping::ApiVersion::V2026_03 => Self::V2026_03,
            crate::mapping::ApiVersion::V3 => Self::V3,
        }
    }
}
