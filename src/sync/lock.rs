//! The run lock beside the store: overlapping cron runs never both write.
//!
//! The lock is an OS file lock (`flock`-style) on `hubsync.lock`, so a run killed with `kill -9`
//! releases it with the process: a stale lock file is taken over safely, never trusted. The
//! file's content (pid, command, start time) only names the holder in the message.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::error::Exit;

/// The run holding the lock, as the lock file names it.
#[derive(Debug, Clone)]
pub struct Holder {
    /// `pid 42 \`hubsync sync\` since 2026-…`.
    pub who: String,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// A held run lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Take the lock for `what` (e.g. `sync`), or fail with exit 75 naming the holder.
    pub fn acquire(data_dir: &Path, what: &str) -> Result<RunLock> {
        if !data_dir.exists() {
            crate::store::create_private_dir(data_dir)
                .with_context(|| format!("cannot create {}", data_dir.display()))?;
        }
        let path = data_dir.join("hubsync.lock");
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "another hubsync run"
                } else {
                    holder
                };
                return Err(Exit::TryLater(format!(
                    "another hubsync run holds the lock ({holder}); this run did nothing and the next one will catch up"
                ))
                .into());
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        let info = format!(
            "pid {} `hubsync {what}` since {}",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(info.as_bytes())?;
        file.flush()?;
        Ok(RunLock { file, path })
    }

    /// Whether a live process holds the lock in `data_dir` (without taking it).
    #[must_use]
    pub fn is_held(data_dir: &Path) -> bool {
        let Ok(file) = OpenOptions::new()
            .read(true)
            .open(data_dir.join("hubsync.lock"))
        else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => false,
        }
    }

    /// Who holds the lock in `data_dir`, as its file names it (`pid 42 \`hubsync sync\``), and
    /// since when; `None` when the file says nothing (a run starting or finishing).
    #[must_use]
    pub fn holder(data_dir: &Path) -> Option<Holder> {
        let text = std::fs::read_to_string(data_dir.join("hubsync.lock")).ok()?;
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let since = text
            .rsplit_once(" since ")
            .and_then(|(_, t)| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        Some(Holder {
            who: text.to_owned(),
            since,
        })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_exit_75_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "sync").unwrap();
        let err = RunLock::acquire(dir.path(), "push").unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 75);
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        RunLock::acquire(dir.path(), "push").unwrap();
    }

    #[test]
    fn a_stale_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hubsync.lock"),
            "pid 999999 `hubsync sync` since 2020",
        )
        .unwrap();
        RunLock::acquire(dir.path(), "sync").unwrap();
    }
}
