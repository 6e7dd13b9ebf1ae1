//! Someone hears of a failure: after an unattended renewal (`renew --from-hook`, `inbox`, a scheduled one)
//! that ends in anything but `renewed` or `scheduled`, the site's notify script (`/etc/icg-renew/notify`, or
//! the path in `ICG_RENEW_NOTIFY`) runs with the JSON result on its stdin and `ICG_RENEW_RESULT`,
//! `ICG_RENEW_KEYSTORE` in an environment that holds nothing else but a fixed `PATH`.
//!
//! Safety: the script is resolved once under [`Trust::ROOT`] (no directory on the way that another account
//! controls), opened without following a link in its place, and judged through that descriptor: only a
//! regular file owned by root, executable by its owner and writable by no group or other account runs, and
//! it runs *as that descriptor* (`/proc/self/fd/N`), so renaming another file into its place afterwards
//! changes nothing. It runs in its own process group, for at most [`LIMIT`]; past it, the whole group is
//! killed. Whatever happens to it is written to the audit log and handed back, and never changes icg-renew's
//! exit code.

use crate::audit::AuditLog;
use crate::error::Error;
use crate::fsx::{self, Trust};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where the site's script is.
pub const DEFAULT_SCRIPT: &str = "/etc/icg-renew/notify";
/// The environment variable that names another script (for tests, and sites that keep it elsewhere).
pub const SCRIPT_ENV: &str = "ICG_RENEW_NOTIFY";
/// The longest a script may run.
pub const LIMIT: Duration = Duration::from_secs(60);
/// The only `PATH` the script gets.
const SCRIPT_PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The most of a script icg-renew will look at before running it (it only needs the descriptor).
const MAX_SCRIPT: u64 = 1 << 20;

/// What the script is told.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    /// The result word (`incompatible`, `rolled-back`, …, or `error`).
    pub result: &'a str,
    /// The keystore the renewal was for; empty when the failure came before it was known.
    pub keystore: &'a Path,
    /// The JSON result, as `--json` prints it.
    pub json: &'a str,
}

/// What became of the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// No script is installed: nothing to do.
    NoScript,
    /// The script ran and exited 0.
    Ran,
    /// The script was not run: why.
    Refused(String),
    /// The script ran and failed (its exit status), or could not be started.
    Failed(String),
    /// The script was still running at the limit and was killed with its process group.
    TimedOut(Duration),
}

impl Sent {
    /// A line for the operator when the notification did not reach anyone; `None` when it did, or when
    /// there was no script.
    pub fn warning(&self, script: &Path) -> Option<String> {
        let script = crate::shown::path(script);
        match self {
            Sent::NoScript | Sent::Ran => None,
            Sent::Refused(why) => Some(format!("the notify script {script} was not run: {why}")),
            Sent::Failed(why) => Some(format!("the notify script {script} failed: {why}")),
            Sent::TimedOut(limit) => Some(format!(
                "the notify script {script} was still running after {} s and was stopped",
                limit.as_secs()
            )),
        }
    }
}

/// The script to run: `ICG_RENEW_NOTIFY`, else [`DEFAULT_SCRIPT`].
pub fn script_path() -> PathBuf {
    std::env::var_os(SCRIPT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SCRIPT))
}

/// The time limit: [`LIMIT`]. Builds with the `failpoints` feature (tests only, never a release) take
/// `ICG_RENEW_NOTIFY_LIMIT_MS`, so that a test of the limit does not wait a minute.
fn limit() -> Duration {
    #[cfg(feature = "failpoints")]
    if let Some(ms) = std::env::var("ICG_RENEW_NOTIFY_LIMIT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Duration::from_millis(ms);
    }
    LIMIT
}

/// Runs the site's script for `notice`, records what became of it in `audit`, and returns it.
pub fn send(notice: &Notice, audit: &mut AuditLog) -> Sent {
    let script = script_path();
    let sent = run(&script, notice, limit());
    let outcome = match &sent {
        Sent::NoScript => return sent,
        Sent::Ran => "ran".to_string(),
        Sent::Refused(why) => format!("not run: {why}"),
        Sent::Failed(why) => format!("failed: {why}"),
        Sent::TimedOut(limit) => format!("stopped after {} ms", limit.as_millis()),
    };
    let action = if sent == Sent::Ran {
        "notified"
    } else {
        "notify-warning"
    };
    audit.record(
        action,
        &[
            ("script", &script.to_string_lossy()),
            ("result", notice.result),
            ("keystore", &notice.keystore.to_string_lossy()),
            ("outcome", &outcome),
        ],
    );
    sent
}

/// Opens, judges and runs `script`.
fn run(script: &Path, notice: &Notice, limit: Duration) -> Sent {
    let missing = |e: &Error| matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
    let opened = fsx::resolve(script, Trust::ROOT).and_then(|at| {
        at.dir.open_regular(
            &at.name,
            rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
            "open the notify script",
        )
    });
    let (file, stat) = match opened {
        Ok(opened) => opened,
        Err(e) if missing(&e) => return Sent::NoScript,
        Err(e) => return Sent::Refused(e.to_string()),
    };
    if let Some(why) = unsafe_script(stat.st_uid, stat.st_mode) {
        return Sent::Refused(why);
    }
    if stat.st_size as u64 > MAX_SCRIPT {
        return Sent::Refused(format!("it is larger than {MAX_SCRIPT} bytes"));
    }
    // A copy of the descriptor without close-on-exec: the script runs as the file that was judged, and an
    // interpreter (`#!/bin/sh`) opens it again through the same `/proc/self/fd` name in the child.
    let exec_fd = match rustix::io::dup(&file) {
        Ok(fd) => fd,
        Err(e) => return Sent::Failed(format!("cannot start it: {e}")),
    };
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let program = format!("/proc/self/fd/{}", exec_fd.as_raw_fd());
    let mut command = Command::new(&program);
    command
        .env_clear()
        .env("PATH", SCRIPT_PATH_ENV)
        .env("ICG_RENEW_RESULT", notice.result)
        .env("ICG_RENEW_KEYSTORE", notice.keystore)
        .current_dir("/")
        .stdin(Stdio::piped())
        .process_group(0);
    // What it prints goes to icg-renew's stderr (a terminal or the journal), never into the JSON on stdout.
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(err) => command.stdout(Stdio::from(err)),
        Err(_) => command.stdout(Stdio::null()),
    };
    let spawned = command.spawn();
    drop(exec_fd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Sent::Failed(format!("cannot start it: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let json = notice.json.as_bytes().to_vec();
        // A script that never reads its input must not stop icg-renew: the writer is left behind, and ends
        // when the script's end of the pipe closes.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&json);
        });
    }
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Sent::Ran,
            Ok(Some(status)) => return Sent::Failed(status.to_string()),
            Ok(None) if Instant::now() >= deadline => {
                if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = child.wait();
                return Sent::TimedOut(limit);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Sent::Failed(format!("cannot wait for it: {e}")),
        }
    }
}

/// Why a script, as its descriptor shows it, must not run as root; `None` when it may.
fn unsafe_script(uid: u32, mode: u32) -> Option<String> {
    let mode = mode & 0o7777;
    if uid != 0 {
        Some(format!("it is owned by uid {uid}, not root"))
    } else if mode & 0o022 != 0 {
        Some(format!(
            "its group or others may change it (mode {mode:04o}); chmod go-w it"
        ))
    } else if mode & 0o100 == 0 {
        Some(format!(
            "it is not executable (mode {mode:04o}); chmod u+x it"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_root_owned_executable_script_nobody_else_can_change_may_run() {
        assert_eq!(unsafe_script(0, 0o700), None);
        assert_eq!(unsafe_script(0, 0o755), None);
        assert!(unsafe_script(1000, 0o700).is_some());
        assert!(unsafe_script(0, 0o770).is_some());
        assert!(unsafe_script(0, 0o702).is_some());
        assert!(unsafe_script(0, 0o600).is_some());
    }
}
