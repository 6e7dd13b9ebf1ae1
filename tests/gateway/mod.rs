//! The stand-in gateway for end-to-end tests: a real JVM HTTPS server (tests/java/IcgStandIn.java) that
//! loads the keystore the way the ICG's Spring Boot does, restarted by tests/java/restart-standin.sh the way
//! systemd would. Only ever listens on 127.0.0.1.
#![allow(dead_code)]

#[path = "../common/served.rs"]
mod served;
pub use served::served_fingerprint;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// IcgStandIn compiled once per test binary.
fn classes() -> &'static Path {
    static CLASSES: OnceLock<tempfile::TempDir> = OnceLock::new();
    CLASSES
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let status = Command::new("javac")
                .args(["-d"])
                .arg(dir.path())
                .arg(manifest_dir().join("tests/java/IcgStandIn.java"))
                .status()
                .expect("javac runs (the JDK is installed by scripts/setup)");
            assert!(status.success(), "javac failed");
            dir
        })
        .path()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running stand-in gateway and its state directory.
pub struct Gateway {
    pub state: tempfile::TempDir,
    pub port: u16,
}

impl Gateway {
    /// Starts the stand-in on `port`, serving `keystore` opened with the password in `password_file`, and
    /// waits until it answers.
    pub fn start(keystore: &Path, password_file: &Path, port: u16) -> Gateway {
        Gateway::start_with_init(keystore, password_file, port, Duration::ZERO)
    }

    /// Like `start`, with check-status saying `init` for `init` after every start.
    pub fn start_with_init(
        keystore: &Path,
        password_file: &Path,
        port: u16,
        init: Duration,
    ) -> Gateway {
        let state = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(classes(), state.path().join("classes")).unwrap();
        let args = format!(
            "--keystore\n{}\n--password-file\n{}\n--port\n{port}\n--status-file\n{}\n--init-ms\n{}\n",
            keystore.display(),
            password_file.display(),
            state.path().join("status").display(),
            init.as_millis()
        );
        std::fs::write(state.path().join("args"), args).unwrap();
        let gateway = Gateway { state, port };
        let status = Command::new("sh")
            .arg("-c")
            .arg(gateway.restart_command())
            .status()
            .unwrap();
        assert!(status.success(), "the stand-in did not start");
        gateway.wait_for_any(Duration::from_secs(30));
        gateway
    }

    /// The command icg-renew runs to restart this gateway.
    pub fn restart_command(&self) -> String {
        format!(
            "sh {} {}",
            manifest_dir()
                .join("tests/java/restart-standin.sh")
                .display(),
            self.state.path().display()
        )
    }

    /// Sets what check-status says while the gateway serves the leaf with SHA-256 `fingerprint` (`*`: any
    /// leaf without a line of its own): `init`, `ok`, `warn`, `err`, or `404` for no endpoint.
    pub fn set_status(&self, fingerprint: &str, verdict: &str) {
        let path = self.state.path().join("status");
        let mut lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_whitespace().next() != Some(fingerprint))
            .map(str::to_string)
            .collect();
        lines.push(format!("{fingerprint} {verdict}"));
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    }

    /// The verdicts check-status gave, in order, as the stand-in logged them.
    pub fn verdicts_given(&self) -> Vec<String> {
        std::fs::read_to_string(self.state.path().join("server.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("icg-standin: check-status "))
            .map(str::to_string)
            .collect()
    }

    /// Makes the next restart fail once.
    pub fn fail_next_restart(&self) {
        std::fs::write(self.state.path().join("fail-next"), b"").unwrap();
    }

    /// SHA-256 (upper-case hex with colons) of the leaf the gateway serves, if it answers.
    pub fn served_fingerprint(&self) -> Option<String> {
        served_fingerprint(self.port)
    }

    /// Waits until the gateway serves `fingerprint`.
    pub fn wait_for(&self, fingerprint: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.served_fingerprint().as_deref() == Some(fingerprint) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn wait_for_any(&self, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.served_fingerprint().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.state.path().join("server.log")).unwrap_or_default();
        panic!(
            "the stand-in gateway did not answer on 127.0.0.1:{} within {timeout:?}:\n{log}",
            self.port
        );
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.state.path().join("pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}
