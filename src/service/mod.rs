//! Restarting the ICG (systemd unit, SysV script, or an operator's command) and confirming that it serves a
//! given certificate: a TLS handshake to 127.0.0.1:<port> whose leaf must match by SHA-256, then the ICG's
//! verdict from `GET /usg/check-status` (`ok` awaited, `init` waited through, `err` a failure), polled
//! until a deadline; then a verifying handshake as a device makes it (the installed root as the only
//! anchor, purpose TLS server, TLS 1.3 and TLS 1.2 where offered), whose refusal ends the wait at once.
//! Knows nothing of keystores.
//!
//! Here: the restart (`Restart`, `RestartPlan`, `HealthCheck`); the probes and the wait are in `probe`, the
//! check-status request and the reading of its answer in `check_status`.

use crate::error::TransactionError;
use crate::error::{Error, Result};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod check_status;
mod probe;

pub use check_status::{judge_answer, IcgStatus, StatusAnswer};
pub use probe::{
    look, probe, verify_as_a_device, wait_until_served, Before, Confirmed, Look, Observation,
    Verdicts,
};

pub const SYSV_SCRIPT: &str = "/etc/init.d/tomcat";
/// Environment variables that may hold secrets and are never passed to a restart command.
const SECRET_ENV: &[&str] = &["ICG_RENEW_STORE_PASSWORD", "ICG_RENEW_NEW_PASSWORD"];

/// How the ICG is restarted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    Systemd {
        unit: String,
    },
    Sysv {
        script: PathBuf,
    },
    Command(String),
    None,
    /// `auto` found neither systemd's `unit` nor the SysV `script`. Only a dry run's plan holds it (a renewal
    /// stops before its first question); running it is the error a renewal stops at.
    Undetected {
        unit: String,
        script: PathBuf,
    },
}

/// The contract's `--restart` choices (the command line parses into this enum directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartChoice {
    /// The systemd unit when systemd knows it, else the SysV script.
    Auto,
    Systemd,
    Sysv,
    None,
}

/// The ICG's systemd unit unless the operator names another.
pub const DEFAULT_UNIT: &str = "icg-server.service";
/// How long to wait for the ICG to serve the certificate unless the operator says otherwise.
pub const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(120);

/// How the operator asked the ICG to be restarted and confirmed, resolved from the options once; turned
/// into a [`Restart`] (which may ask systemd) only when a command needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPlan {
    pub choice: RestartChoice,
    pub unit: String,
    /// Overrides `choice` when set.
    pub command: Option<String>,
    /// Bounds the confirmation, and the restart command when there is no confirmation.
    pub timeout: Duration,
    /// Whether to confirm that the ICG serves the certificate after the restart.
    pub health_check: bool,
    /// Accept the ICG's `warn` (no UMS server connected) after the restart although it said `ok` before.
    pub allow_no_ums: bool,
}

impl RestartPlan {
    /// No restart and no confirmation: for a sandbox, where no ICG runs.
    pub fn none() -> RestartPlan {
        RestartPlan {
            choice: RestartChoice::None,
            unit: DEFAULT_UNIT.into(),
            command: None,
            timeout: DEFAULT_HEALTH_TIMEOUT,
            health_check: false,
            allow_no_ums: false,
        }
    }

    /// The restart this plan means on this host.
    pub fn restart(&self) -> Result<Restart> {
        Restart::choose(self.choice, &self.unit, self.command.as_deref())
    }
}

/// What confirms a restart, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// Nothing is restarted, so nothing is confirmed.
    NoRestart,
    /// The operator turned the confirmation off.
    Skipped,
    /// The served certificate and the ICG's `ok` from /usg/check-status, within `timeout`; with
    /// `verifying`, then the verifying TLS 1.3 and 1.2 handshakes.
    Within {
        port: u16,
        timeout: Duration,
        verifying: bool,
    },
}

impl HealthCheck {
    /// The confirmation in the plan's words.
    pub fn describe(&self) -> String {
        match self {
            HealthCheck::NoRestart => "skipped: no restart".into(),
            HealthCheck::Skipped => "skipped (--no-health-check)".into(),
            HealthCheck::Within {
                port,
                timeout,
                verifying,
            } => format!(
                "TLS to 127.0.0.1:{port} must serve the new certificate and /usg/check-status say ok, within {} s{}",
                timeout.as_secs(),
                if *verifying {
                    "; then TLS 1.3 and 1.2 clients trusting only the installed root must accept it"
                } else {
                    ""
                }
            ),
        }
    }
}

impl Restart {
    /// Decides the restart strategy; `auto` asks systemd whether it knows the unit, then looks for the SysV script.
    pub fn choose(choice: RestartChoice, unit: &str, command: Option<&str>) -> Result<Restart> {
        if let Some(cmd) = command {
            return Ok(Restart::Command(cmd.to_string()));
        }
        match choice {
            RestartChoice::None => Ok(Restart::None),
            RestartChoice::Systemd => Ok(Restart::Systemd {
                unit: unit.to_string(),
            }),
            RestartChoice::Sysv => Ok(Restart::Sysv {
                script: PathBuf::from(SYSV_SCRIPT),
            }),
            RestartChoice::Auto => {
                if systemd_knows(unit) {
                    Ok(Restart::Systemd {
                        unit: unit.to_string(),
                    })
                } else if std::path::Path::new(SYSV_SCRIPT).exists() {
                    Ok(Restart::Sysv {
                        script: PathBuf::from(SYSV_SCRIPT),
                    })
                } else {
                    Err(Restart::Undetected {
                        unit: unit.to_string(),
                        script: PathBuf::from(SYSV_SCRIPT),
                    }
                    .undetected_error())
                }
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Restart::Systemd { unit } => {
                crate::shown::command(["systemctl", "restart", unit.as_str()])
            }
            Restart::Sysv { script } => {
                crate::shown::command([script.as_os_str(), "restart".as_ref()])
            }
            Restart::Command(cmd) => crate::shown::command(["/bin/sh", "-c", cmd.as_str()]),
            Restart::None => {
                "none (the ICG keeps the old certificate until its next restart)".into()
            }
            Restart::Undetected { unit, script } => format!(
                "none found (systemd does not know {} and {} does not exist)",
                crate::shown::short(unit, 64),
                crate::shown::Shown::shown(script.as_path())
            ),
        }
    }

    /// For `Undetected`, the error a renewal stops at; for any other restart, an internal inconsistency.
    pub fn undetected_error(&self) -> Error {
        match self {
            Restart::Undetected { unit, script } => {
                Error::Transaction(TransactionError::NoRestartMethod {
                    unit: unit.clone(),
                    script: script.clone(),
                })
            }
            _ => Error::Command(crate::error::CommandError::Internal),
        }
    }

    fn command(&self) -> Option<Command> {
        let mut command = match self {
            Restart::Systemd { unit } => {
                let mut c = Command::new("systemctl");
                c.args(["restart", unit]);
                c
            }
            Restart::Sysv { script } => {
                let mut c = Command::new(script);
                c.arg("restart");
                c
            }
            Restart::Command(cmd) => {
                let mut c = Command::new("/bin/sh");
                c.args(["-c", cmd]);
                c
            }
            Restart::None | Restart::Undetected { .. } => return None,
        };
        for name in SECRET_ENV {
            command.env_remove(name);
        }
        Some(command)
    }

    /// Runs the restart, bounded by `timeout` (the whole process group is killed past it). Returns what it
    /// printed (the last `OUTPUT_LIMIT` bytes), for the audit log; nothing reaches the terminal.
    ///
    /// Its output is read through a pipe while it runs. A process it leaves running (a daemon started in
    /// the background) may still hold that pipe: it is then handed to a detached `cat` that discards what
    /// the daemon writes, so the daemon neither dies of a closed pipe nor fills a file nobody can find.
    pub fn run(&self, timeout: Duration) -> Result<String> {
        if let Restart::Undetected { .. } = self {
            return Err(self.undetected_error());
        }
        let Some(mut command) = self.command() else {
            return Ok(String::new());
        };
        let pipe_failed = |source| Error::Transaction(TransactionError::RestartPipe { source });
        let (reader, writer) = std::io::pipe().map_err(pipe_failed)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer.try_clone().map_err(pipe_failed)?))
            .stderr(Stdio::from(writer))
            .process_group(0)
            .spawn();
        // The command holds the parent's copies of the write end: without dropping it, no end of file.
        drop(command);
        let mut child = child.map_err(|source| {
            Error::Transaction(TransactionError::RestartNotStarted {
                command: self.describe(),
                source,
            })
        })?;
        let mut output = OutputTail::new(reader);
        let deadline = Instant::now() + timeout;
        let status = loop {
            output.read_available();
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                        let _ =
                            rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                    }
                    let _ = child.wait();
                    break Err(Error::Transaction(TransactionError::RestartTimedOut {
                        command: self.describe(),
                        seconds: timeout.as_secs(),
                    }));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(source) => {
                    break Err(Error::Transaction(TransactionError::RestartWait {
                        command: self.describe(),
                        source,
                    }))
                }
            }
        };
        let output = output.finish();
        match status? {
            s if s.success() => Ok(output),
            status => Err(Error::Transaction(TransactionError::RestartFailed {
                command: self.describe(),
                status,
                last_line: last_line(&output),
            })),
        }
    }
}

fn last_line(output: &str) -> String {
    output
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `text` with every control character but line ends and tabs written as an escape (`\u{1b}`), so that a
/// restart command's output can neither steer the terminal that shows an error nor one that shows the log.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// How much of a restart command's output is kept for the audit log (its end).
const OUTPUT_LIMIT: usize = 64 * 1024;
/// How long the output is still read after the command ended, for what its last writes left in the pipe.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// The read end of the restart command's output pipe (non-blocking) and the last `OUTPUT_LIMIT` bytes read.
struct OutputTail {
    reader: Option<std::io::PipeReader>,
    tail: Vec<u8>,
}

impl OutputTail {
    fn new(reader: std::io::PipeReader) -> OutputTail {
        let nonblocking = rustix::fs::fcntl_getfl(&reader).and_then(|flags| {
            rustix::fs::fcntl_setfl(&reader, flags | rustix::fs::OFlags::NONBLOCK)
        });
        OutputTail {
            // A pipe that cannot be made non-blocking is not read: reading it could block forever.
            reader: nonblocking.is_ok().then_some(reader),
            tail: Vec::new(),
        }
    }

    /// Reads what is in the pipe now. Returns whether every writer has closed it.
    fn read_available(&mut self) -> bool {
        let Some(reader) = self.reader.as_mut() else {
            return true;
        };
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => {
                    self.reader = None;
                    return true;
                }
                Ok(n) => {
                    self.tail.extend_from_slice(&buf[..n]);
                    if self.tail.len() > OUTPUT_LIMIT {
                        let excess = self.tail.len() - OUTPUT_LIMIT;
                        self.tail.drain(..excess);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// After the command ended: reads what is left; if something it started still holds the pipe, hands the
    /// read end to a detached `cat >/dev/null`.
    fn finish(mut self) -> String {
        let until = Instant::now() + OUTPUT_GRACE;
        while !self.read_available() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(reader) = self.reader.take() {
            drain_in_background(reader);
        }
        printable(&String::from_utf8_lossy(&self.tail))
    }
}

/// Keeps reading (and discarding) a pipe that a process outliving the restart command writes to, in a
/// process of its own that ends when the last writer closes it.
fn drain_in_background(reader: std::io::PipeReader) {
    let mut drain = Command::new("/bin/cat");
    for name in SECRET_ENV {
        drain.env_remove(name);
    }
    let blocking = rustix::fs::fcntl_getfl(&reader)
        .and_then(|flags| rustix::fs::fcntl_setfl(&reader, flags - rustix::fs::OFlags::NONBLOCK));
    if blocking.is_err() {
        return;
    }
    // The child is not waited for: it lives as long as the daemon holds the pipe, and init reaps it.
    let _ = drain
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(reader)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
}

fn systemd_knows(unit: &str) -> bool {
    let mut command = Command::new("systemctl");
    for name in SECRET_ENV {
        command.env_remove(name);
    }
    command
        .args(["show", "--property=LoadState", "--value", unit])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "loaded")
}
