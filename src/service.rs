//! Restarting the ICG (systemd unit, SysV script, or an operator's command) and confirming that it serves a
//! given certificate: a TLS handshake to 127.0.0.1:<port> whose leaf must match by SHA-256, then
//! `GET /usg/check-status` answering 200, polled until a deadline. Knows nothing of keystores.

use crate::error::{Error, ErrorKind, Result};
use openssl::hash::MessageDigest;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const SYSV_SCRIPT: &str = "/etc/init.d/tomcat";
/// Environment variables that may hold secrets and are never passed to a restart command.
const SECRET_ENV: &[&str] = &["ICG_RENEW_STORE_PASSWORD", "ICG_RENEW_NEW_PASSWORD"];
const POLL_INTERVAL: Duration = Duration::from_millis(25);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// How the ICG is restarted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    Systemd { unit: String },
    Sysv { script: PathBuf },
    Command(String),
    None,
}

/// The contract's `--restart` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartChoice {
    Auto,
    Systemd,
    Sysv,
    None,
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
                    Err(Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "cannot tell how to restart the ICG: systemd does not know {unit} and {SYSV_SCRIPT} does not exist; pass --service UNIT, --restart-command CMD or --restart none"
                        ),
                    ))
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
            Restart::None => return None,
        };
        for name in SECRET_ENV {
            command.env_remove(name);
        }
        Some(command)
    }

    /// Runs the restart, bounded by `timeout` (the whole process group is killed past it). Returns what it
    /// printed, for the audit log; nothing reaches the terminal.
    pub fn run(&self, timeout: Duration) -> Result<String> {
        let Some(mut command) = self.command() else {
            return Ok(String::new());
        };
        let log = RestartLog::create()?;
        let out = log
            .file
            .try_clone()
            .map_err(|e| Error::io("open", &log.path, &e))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(
                log.file
                    .try_clone()
                    .map_err(|e| Error::io("open", &log.path, &e))?,
            ))
            .process_group(0)
            .spawn();
        let mut child = child.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot run the restart ({}): {e}; check --restart or --restart-command",
                    self.describe()
                ),
            )
        })?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                        let _ =
                            rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                    }
                    let _ = child.wait();
                    break Err(format!(
                        "did not finish within {} s and was killed",
                        timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => break Err(e.to_string()),
            }
        };
        let output = log.read();
        match status {
            Ok(s) if s.success() => Ok(output),
            Ok(s) => Err(Error::new(
                ErrorKind::Io,
                format!(
                    "the restart ({}) failed with {s}: {}",
                    self.describe(),
                    last_line(&output)
                ),
            )),
            Err(why) => Err(Error::new(
                ErrorKind::Io,
                format!("the restart ({}) {why}", self.describe()),
            )),
        }
    }
}

fn last_line(output: &str) -> String {
    output
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_string()
}

/// A private file (0600, exclusive) that catches the restart command's output, removed when dropped.
struct RestartLog {
    path: PathBuf,
    file: std::fs::File,
}

impl RestartLog {
    fn create() -> Result<RestartLog> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut nonce = [0u8; 8];
        let _ = openssl::rand::rand_bytes(&mut nonce);
        let path = std::env::temp_dir().join(format!(
            "icg-renew-restart-{}-{}.log",
            std::process::id(),
            crate::cert::hex_colons(&nonce).replace(':', "")
        ));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
            .map_err(|e| Error::io("create", &path, &e))?;
        Ok(RestartLog { path, file })
    }

    fn read(&self) -> String {
        let mut text = String::new();
        let _ = std::fs::File::open(&self.path)
            .and_then(|f| f.take(64 * 1024).read_to_string(&mut text));
        text
    }
}

impl Drop for RestartLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
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

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Serving the expected certificate and check-status answered 200.
    Good,
    Unreachable(String),
    WrongCertificate(String),
    Unhealthy(String),
}

impl Observation {
    pub fn describe(&self) -> String {
        match self {
            Observation::Good => "serving the expected certificate, check-status 200".into(),
            Observation::Unreachable(why) => format!("not answering ({why})"),
            Observation::WrongCertificate(fp) => {
                format!("serving another certificate (SHA-256 {fp})")
            }
            Observation::Unhealthy(why) => {
                format!("serving the certificate, but /usg/check-status {why}")
            }
        }
    }
}

/// One probe of the gateway on 127.0.0.1:`port`.
pub fn probe(port: u16, expected_sha256: &str) -> Observation {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => return Observation::Unreachable(e.to_string()),
    };
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let connector = match SslConnector::builder(SslMethod::tls_client()) {
        Ok(mut b) => {
            // Trust is not the question here: the served leaf is compared by fingerprint below.
            b.set_verify(SslVerifyMode::NONE);
            b.build()
        }
        Err(e) => return Observation::Unreachable(format!("TLS set-up failed: {e}")),
    };
    let tls = connector
        .configure()
        .map(|mut c| {
            c.set_verify_hostname(false);
            c.set_use_server_name_indication(false);
            c
        })
        .and_then(|c| c.into_ssl("127.0.0.1"));
    let mut stream = match tls {
        Ok(ssl) => match ssl.connect(stream) {
            Ok(s) => s,
            Err(e) => return Observation::Unreachable(format!("TLS handshake failed: {e}")),
        },
        Err(e) => return Observation::Unreachable(format!("TLS set-up failed: {e}")),
    };
    let served = stream
        .ssl()
        .peer_certificate()
        .and_then(|c| c.digest(MessageDigest::sha256()).ok())
        .map(|d| crate::cert::hex_colons(&d))
        .unwrap_or_default();
    if served != expected_sha256 {
        return Observation::WrongCertificate(served);
    }
    let request = format!(
        "GET /usg/check-status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return Observation::Unhealthy(format!("could not be asked ({e})"));
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Observation::Unhealthy(format!("gave no answer ({e})")),
        }
    }
    let status_line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    match status_line.split_whitespace().nth(1) {
        Some("200") => Observation::Good,
        Some(code) => Observation::Unhealthy(format!("answered HTTP {code}")),
        None => Observation::Unhealthy("gave no HTTP answer".into()),
    }
}

/// Polls `probe` until it is good or `timeout` passes; `tick` hears every observation with the elapsed time.
/// Returns the time of the first good answer, or the last observation on timeout.
pub fn wait_until_served(
    port: u16,
    expected_sha256: &str,
    timeout: Duration,
    tick: &mut dyn FnMut(Duration, &Observation),
) -> std::result::Result<Instant, Observation> {
    let start = Instant::now();
    loop {
        let seen = probe(port, expected_sha256);
        tick(start.elapsed(), &seen);
        if seen == Observation::Good {
            return Ok(Instant::now());
        }
        if start.elapsed() >= timeout {
            return Err(seen);
        }
        std::thread::sleep(POLL_INTERVAL.min(timeout.saturating_sub(start.elapsed())));
    }
}
