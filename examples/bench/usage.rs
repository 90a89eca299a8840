//! How a measured hubsync child ended: exit code, output, its own peak memory and CPU time.

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Result;

pub struct Usage {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub rss_mb: f64,
    pub user_s: f64,
    pub system_s: f64,
}

fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut s);
        }
        s
    })
}

/// The child's peak resident set so far (`VmHWM` of `/proc/PID/status`), in kB; `None` once it
/// has exited or where there is no `/proc`.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the child's peak RSS every 5 ms until told to stop.
fn sample_peak(pid: u32, done: Arc<AtomicBool>) -> JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0u64;
        while !done.load(Ordering::Relaxed) {
            if let Some(kb) = vm_hwm_kb(pid) {
                peak = peak.max(kb);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        peak
    })
}

/// Wait for the child (its piped stdout and stderr are collected).
///
/// The peak RSS is sampled from `/proc/PID/status` while the child runs, not taken from
/// `wait4`: the child is started with `vfork` + `exec`, and Linux then counts the parent's
/// resident set (this process, with the whole sandbox in it) into the child's `ru_maxrss`.
#[cfg(unix)]
pub fn wait_with_usage(mut child: Child) -> Result<Usage> {
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let done = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak(child.id(), Arc::clone(&done));
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers and the pid of our own child.
    let rc = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut ru) };
    done.store(true, Ordering::Relaxed);
    let peak_kb = sampler.join().unwrap_or_default();
    let (stdout, stderr) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    if rc < 0 {
        anyhow::bail!("wait4 failed");
    }
    #[allow(clippy::cast_precision_loss)]
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    #[allow(clippy::cast_precision_loss)]
    Ok(Usage {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout,
        stderr,
        rss_mb: peak_kb as f64 / 1024.0,
        user_s: tv(ru.ru_utime),
        system_s: tv(ru.ru_stime),
    })
}

#[cfg(not(unix))]
pub fn wait_with_usage(mut child: Child) -> Result<Usage> {
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = child.wait()?;
    Ok(Usage {
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        rss_mb: 0.0,
        user_s: 0.0,
        system_s: 0.0,
    })
}
