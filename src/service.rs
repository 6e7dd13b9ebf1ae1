//! Restarting the ICG (systemd unit, SysV script, or an operator's command) and confirming that it serves a
//! given certificate: a TLS handshake to 127.0.0.1:<port> whose leaf must match by SHA-256, then
//! `GET /usg/check-status` answering 200, polled until a deadline; then a verifying handshake as a device
//! makes it (the installed root as the only anchor, purpose TLS server, TLS 1.3 and TLS 1.2 where offered),
//! whose refusal ends the wait at once. Knows nothing of keystores.

use crate::error::{Error, ErrorKind, Result};
use openssl::hash::MessageDigest;
use openssl::ssl::{HandshakeError, SslConnector, SslMethod, SslVerifyMode, SslVersion};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509PurposeId, X509VerifyResult, X509};
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
    /// The served certificate and /usg/check-status, within `timeout`; with `verifying`, then the
    /// verifying TLS 1.3 and 1.2 handshakes.
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
                "TLS to 127.0.0.1:{port} must serve the new certificate and /usg/check-status answer 200, within {} s{}",
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
    /// printed (the last `OUTPUT_LIMIT` bytes), for the audit log; nothing reaches the terminal.
    ///
    /// Its output is read through a pipe while it runs. A process it leaves running (a daemon started in
    /// the background) may still hold that pipe: it is then handed to a detached `cat` that discards what
    /// the daemon writes, so the daemon neither dies of a closed pipe nor fills a file nobody can find.
    pub fn run(&self, timeout: Duration) -> Result<String> {
        let Some(mut command) = self.command() else {
            return Ok(String::new());
        };
        let pipe_failed = |e: std::io::Error| {
            Error::new(
                ErrorKind::Io,
                format!("cannot make a pipe for the restart's output: {e}"),
            )
        };
        let (reader, writer) = std::io::pipe().map_err(pipe_failed)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer.try_clone().map_err(pipe_failed)?))
            .stderr(Stdio::from(writer))
            .process_group(0)
            .spawn();
        // The command holds the parent's copies of the write end: without dropping it, no end of file.
        drop(command);
        let mut child = child.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot run the restart ({}): {e}; check --restart or --restart-command",
                    self.describe()
                ),
            )
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
                    break Err(format!(
                        "did not finish within {} s and was killed",
                        timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => break Err(e.to_string()),
            }
        };
        let output = output.finish();
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

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Serving the expected certificate and check-status answered 200.
    Good,
    Unreachable(String),
    WrongCertificate(String),
    Unhealthy(String),
    /// Serving the expected certificate, but a verifying client refuses it: waiting longer changes nothing.
    Refused(String),
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
            Observation::Refused(why) => {
                format!("serving the certificate, but a verifying client refuses it: {why}")
            }
        }
    }
}

/// One probe of the gateway on 127.0.0.1:`port`: the served leaf, check-status, and, with an `anchor`, the
/// verifying handshakes.
pub fn probe(port: u16, expected_sha256: &str, anchor: Option<&X509>) -> Observation {
    match (served_and_healthy(port, expected_sha256), anchor) {
        (Observation::Good, Some(anchor)) => match verify_as_a_device(port, anchor) {
            Ok(_) => Observation::Good,
            Err(seen) => seen,
        },
        (seen, _) => seen,
    }
}

/// The TLS versions a verifying handshake is made with, newest first.
const DEVICE_VERSIONS: [(SslVersion, &str); 2] = [
    (SslVersion::TLS1_3, "TLS 1.3"),
    (SslVersion::TLS1_2, "TLS 1.2"),
];

/// Verifying handshakes with 127.0.0.1:`port` as a device makes them: `anchor` as the only trust anchor,
/// purpose TLS server, the chain the gateway serves, TLS 1.3 and then TLS 1.2, each where the gateway
/// offers it. Host names are not compared (the address is 127.0.0.1; `same-hosts` judged the names), but the
/// leaf's key usage and the chain's extended key usage are, as Java clients do. Returns the versions that
/// were accepted, or why not: `Refused`, or `Unreachable` when the connection itself failed.
pub fn verify_as_a_device(
    port: u16,
    anchor: &X509,
) -> std::result::Result<Vec<&'static str>, Observation> {
    let mut accepted = Vec::new();
    for (version, name) in DEVICE_VERSIONS {
        match verifying_handshake(port, anchor, version) {
            Ok(Handshake::Accepted) => accepted.push(name),
            Ok(Handshake::NotOffered) => {}
            Err(Observation::Refused(why)) => {
                return Err(Observation::Refused(format!("{name}: {why}")))
            }
            Err(other) => return Err(other),
        }
    }
    if accepted.is_empty() {
        return Err(Observation::Refused(
            "the gateway offers neither TLS 1.3 nor TLS 1.2".into(),
        ));
    }
    Ok(accepted)
}

enum Handshake {
    Accepted,
    NotOffered,
}

fn verifying_handshake(
    port: u16,
    anchor: &X509,
    version: SslVersion,
) -> std::result::Result<Handshake, Observation> {
    let setup =
        |e: openssl::error::ErrorStack| Observation::Refused(format!("TLS set-up failed: {e}"));
    let mut store = X509StoreBuilder::new().map_err(setup)?;
    store.add_cert(anchor.clone()).map_err(setup)?;
    if !crate::material::issued_by(anchor, anchor) {
        // The installed chain stops at an intermediate: it is the anchor, as in the `same-root` check.
        store
            .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
            .map_err(setup)?;
    }
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(setup)?;
    builder.set_verify(SslVerifyMode::PEER);
    builder
        .set_verify_cert_store(store.build())
        .map_err(setup)?;
    builder
        .set_min_proto_version(Some(version))
        .map_err(setup)?;
    builder
        .set_max_proto_version(Some(version))
        .map_err(setup)?;
    let connector = builder.build();
    let mut config = connector.configure().map_err(setup)?;
    config.set_verify_hostname(false);
    config.set_use_server_name_indication(false);
    let mut ssl = config.into_ssl("127.0.0.1").map_err(setup)?;
    ssl.param_mut()
        .set_purpose(X509PurposeId::SSL_SERVER)
        .map_err(setup)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| Observation::Unreachable(e.to_string()))?;
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let tls = match ssl.connect(stream) {
        Ok(tls) => tls,
        Err(HandshakeError::Failure(mid)) => {
            let verified = mid.ssl().verify_result();
            if verified != X509VerifyResult::OK {
                return Err(Observation::Refused(format!(
                    "the served chain does not verify up to the installed root ({})",
                    verified.error_string()
                )));
            }
            let error = mid.error();
            if let Some(io) = error.io_error() {
                return Err(Observation::Unreachable(format!(
                    "TLS handshake failed: {io}"
                )));
            }
            let reasons = error
                .ssl_error()
                .map(|stack| stack.to_string())
                .unwrap_or_else(|| error.to_string());
            if [
                "protocol version",
                "unsupported protocol",
                "no protocols available",
            ]
            .iter()
            .any(|r| reasons.contains(r))
            {
                return Ok(Handshake::NotOffered);
            }
            return Err(Observation::Refused(format!(
                "the handshake failed: {reasons}"
            )));
        }
        Err(e) => {
            return Err(Observation::Unreachable(format!(
                "TLS handshake failed: {e}"
            )))
        }
    };
    let leaf = tls.ssl().peer_certificate();
    let chain: Vec<X509> = tls
        .ssl()
        .verified_chain()
        .map(|s| s.iter().map(|c| c.to_owned()).collect())
        .unwrap_or_default();
    let Some(leaf) = leaf else {
        return Err(Observation::Refused(
            "the gateway sent no certificate".into(),
        ));
    };
    for judged in [
        crate::checks::key_usage(&leaf),
        crate::checks::server_auth(&chain, anchor),
    ] {
        if judged.status == crate::checks::Status::Fail {
            return Err(Observation::Refused(judged.detail));
        }
    }
    Ok(Handshake::Accepted)
}

/// The served leaf compared by fingerprint, then `GET /usg/check-status`.
fn served_and_healthy(port: u16, expected_sha256: &str) -> Observation {
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

/// Polls `probe` until it is good, a verifying client refuses the gateway, or `timeout` passes; `tick` hears
/// every observation with the elapsed time. Returns the time of the first good answer, or the last observation.
pub fn wait_until_served(
    port: u16,
    expected_sha256: &str,
    anchor: Option<&X509>,
    timeout: Duration,
    tick: &mut dyn FnMut(Duration, &Observation),
) -> std::result::Result<Instant, Observation> {
    let start = Instant::now();
    loop {
        let seen = probe(port, expected_sha256, anchor);
        tick(start.elapsed(), &seen);
        if seen == Observation::Good {
            return Ok(Instant::now());
        }
        if matches!(seen, Observation::Refused(_)) || start.elapsed() >= timeout {
            return Err(seen);
        }
        std::thread::sleep(POLL_INTERVAL.min(timeout.saturating_sub(start.elapsed())));
    }
}
