//! Shared test helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod hubspot;
pub use hubspot::*;
use tempfile::TempDir;

/// A throwaway environment: its own store, mapping file and XDG directories.
pub struct Env {
    pub dir: TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("hubsync.db")
    }

    pub fn mappings(&self) -> PathBuf {
        self.path("mappings.yaml")
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write test file");
        p
    }

    /// `hubsync` with this environment's store and mapping file, and no ambient configuration.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("hubsync").expect("hubsync binary");
        c.env_clear()
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("HUBSYNC_DB", self.db())
            .env("HUBSYNC_MAPPINGS", self.mappings())
            .env("HUBSYNC_TOKEN_STORE", "file");
        if let Some(p) = std::env::var_os("PATH") {
            c.env("PATH", p);
        }
        c
    }
}

/// The repository root (for `examples/data`, `mappings.example.yaml`, `man/`).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An environment with the example mapping file and the sample community imported
/// (`examples/data`: organizations, then contacts).
pub fn sample_env() -> Env {
    let env = Env::new();
    std::fs::copy(repo().join("mappings.example.yaml"), env.mappings()).expect("mapping");
    for (what, file) in [
        ("organizations", "organizations.json"),
        ("contacts", "contacts.json"),
    ] {
        env.cmd()
            .args(["import", what])
            .arg(repo().join("examples/data").join(file))
            .assert()
            .success();
    }
    env
}
