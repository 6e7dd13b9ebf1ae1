//! A throwaway ICG installation for the tests that run the binary against one: `icg-renew sandbox` in a temp
//! dir (or a fixture keystore laid out the same way), its store password in a 0600 file beside it, the
//! binary's command line pointed at it, the files in its keys directory, and its CA to sign requests with;
//! also the small run-and-check helpers these tests share (`succeed`, `json`, `assert_exit`).
//!
//! Layout: `DIR/icg` is the installation (`--icg-root`), `DIR/store.pass` its store password and
//! `DIR/audit.log` the audit log (`--log-file`); both stay outside the installation.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

/// How `icg-renew sandbox` makes the installation.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `server.port` of its configuration (`--port`).
    pub port: u16,
    /// A PKCS#12 keystore (`--format pkcs12`) instead of a JKS.
    pub pkcs12: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            port: 8443,
            pkcs12: false,
        }
    }
}

/// A throwaway ICG installation in a temp dir, removed when dropped.
pub struct Sandbox {
    dir: tempfile::TempDir,
    root: PathBuf,
    port: u16,
}

impl Sandbox {
    /// `icg-renew sandbox` with a JKS keystore on port 8443.
    pub fn new() -> Sandbox {
        Sandbox::create(Options::default())
    }

    /// `icg-renew sandbox --port PORT` with a JKS keystore.
    pub fn with_port(port: u16) -> Sandbox {
        Sandbox::create(Options {
            port,
            ..Options::default()
        })
    }

    /// `icg-renew sandbox` with `options`.
    pub fn create(options: Options) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("icg");
        let mut cmd = Command::cargo_bin("icg-renew").unwrap();
        cmd.arg("sandbox")
            .arg(&root)
            .args(["--port", &options.port.to_string()]);
        if options.pkcs12 {
            cmd.args(["--format", "pkcs12"]);
        }
        cmd.assert().success();
        Sandbox::finish(dir, root, options.port)
    }

    /// An installation around a copy of `keystore` (made by keytool, say) instead of one `icg-renew sandbox`
    /// made: the same layout, with a configuration naming the keystore, its `password` (quoted) and `port`.
    pub fn around_keystore(keystore: &Path, password: &str, port: u16) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("icg");
        std::fs::create_dir_all(root.join("usg/conf")).unwrap();
        std::fs::create_dir_all(root.join("usg/keys")).unwrap();
        let copy = root.join("usg/keys/keystore.jks");
        std::fs::copy(keystore, &copy).unwrap();
        std::fs::write(
            root.join("usg/conf/application-prod.yml"),
            format!("server:\n  port: {port}\n  ssl:\n    key-store: file:{}\n    key-store-password: '{password}'\n", copy.display()),
        )
        .unwrap();
        Sandbox::finish(dir, root, port)
    }

    fn finish(dir: tempfile::TempDir, root: PathBuf, port: u16) -> Sandbox {
        let sandbox = Sandbox { dir, root, port };
        write_secret(&sandbox.password_file(), &sandbox.password());
        sandbox
    }

    /// The temp dir around the installation, for files that are not part of it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The installation (`--icg-root`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `server.port` of the configuration.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn keystore(&self) -> PathBuf {
        self.root.join("usg/keys/keystore.jks")
    }

    /// The new material `icg-renew sandbox` makes, compatible with the installed certificate.
    pub fn material(&self) -> PathBuf {
        self.root.join("new/keystore.icg")
    }

    /// Where `csr` keeps the key of the request it made.
    pub fn pending(&self) -> PathBuf {
        self.root.join("usg/keys/keystore.jks.pending.p12")
    }

    /// The audit log (`--log-file`).
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("audit.log")
    }

    /// `key-store-password` from the installation's configuration.
    pub fn password(&self) -> String {
        let yaml =
            std::fs::read_to_string(self.root.join("usg/conf/application-prod.yml")).unwrap();
        let value = yaml
            .lines()
            .find_map(|l| l.trim().strip_prefix("key-store-password:"))
            .expect("key-store-password in the configuration")
            .trim();
        value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or(value)
            .to_string()
    }

    /// A file (mode 0600) holding the store password.
    pub fn password_file(&self) -> PathBuf {
        self.dir.path().join("store.pass")
    }

    /// `--icg-root ROOT --log-file LOG`, for commands that are not built by [`Sandbox::icg`].
    pub fn args(&self) -> Vec<String> {
        vec![
            "--icg-root".into(),
            self.root.display().to_string(),
            "--log-file".into(),
            self.log().display().to_string(),
        ]
    }

    /// The binary, pointed at this installation and its audit log.
    pub fn icg(&self) -> Command {
        let mut cmd = Command::cargo_bin("icg-renew").unwrap();
        cmd.args(self.args());
        cmd
    }

    /// [`Sandbox::icg`] with `--json`.
    pub fn icg_json(&self) -> Command {
        let mut cmd = self.icg();
        cmd.arg("--json");
        cmd
    }

    /// Plain `renew` of the sandbox's new material with `--restart none` (no terminal, so no question).
    pub fn renew_without_restart(&self) -> Output {
        self.icg()
            .arg("renew")
            .arg(self.material())
            .args(["--restart", "none"])
            .output()
            .unwrap()
    }

    /// `--yes renew OPTIONS… MATERIAL`, plain output.
    pub fn renew_yes(&self, options: &[&str], material: &Path) -> Output {
        self.icg()
            .args(["--yes", "renew"])
            .args(options)
            .arg(material)
            .output()
            .unwrap()
    }

    /// `--json renew` of the sandbox's new material, `--restart none --yes`, given two minutes at most.
    pub fn renew_json(&self) -> Command {
        let mut cmd = self.icg_json();
        cmd.arg("renew")
            .arg(self.material())
            .args(["--restart", "none", "--yes"])
            .timeout(std::time::Duration::from_secs(120));
        cmd
    }

    /// The names of the files in the keys directory, sorted.
    pub fn files_in_keys(&self) -> Vec<String> {
        sorted_names_in(&self.root.join("usg/keys"))
    }

    /// The installed certificate's `days_left`, as `status --json` reports it.
    pub fn days_left(&self) -> i64 {
        let status = json(&self.icg_json().arg("status").output().unwrap());
        status["certificate"]["days_left"].as_i64().unwrap()
    }

    /// The backups (`*.bak`) in the keys directory, sorted.
    pub fn backups(&self) -> Vec<PathBuf> {
        self.keys_ending(".bak")
    }

    /// The temporary files (`*.tmp`) in the keys directory, sorted.
    pub fn temp_files(&self) -> Vec<PathBuf> {
        self.keys_ending(".tmp")
    }

    fn keys_ending(&self, suffix: &str) -> Vec<PathBuf> {
        let keys = self.root.join("usg/keys");
        self.files_in_keys()
            .into_iter()
            .filter(|name| name.ends_with(suffix))
            .map(|name| keys.join(name))
            .collect()
    }

    /// `keytool -list` of the keystore, opened with the store password file; the run, whatever its outcome.
    pub fn keytool_list(&self) -> Output {
        Process::new("keytool")
            .args(["-list", "-keystore"])
            .arg(self.keystore())
            .arg("-storepass:file")
            .arg(self.password_file())
            .output()
            .unwrap()
    }

    /// The installation's CA signs `csr` into `out`, copying the request's extensions, as a UMS or corporate
    /// CA would.
    pub fn sign_request(&self, csr: &Path, out: &Path) {
        succeed(
            Process::new("openssl")
                .args(["x509", "-req", "-copy_extensions", "copy"])
                .args(["-days", "365", "-in"])
                .arg(csr)
                .arg("-CA")
                .arg(self.root.join("ca/root-ca.pem"))
                .arg("-CAkey")
                .arg(self.root.join("ca/root-ca.key"))
                .arg("-out")
                .arg(out),
        );
    }
}

/// Runs `cmd` (keytool or openssl, say); asserts that it succeeds, showing its stderr; returns its stdout.
pub fn succeed(cmd: &mut Process) -> String {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes `text` to `path` with mode 0600.
pub fn write_secret(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The names of the files in `dir`, sorted.
pub fn sorted_names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Parses stdout as exactly one JSON document; the panic shows stdout and stderr.
pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The ids of the checks a JSON report lists as failed, in its order.
pub fn failed_checks(report: &Value) -> Vec<&str> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

/// Asserts the exit code of a run; the failure message shows its stderr.
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether icg-renew's `--restart auto` finds a way to restart an ICG on this host (systemd knows
/// `icg-server.service`, or `/etc/init.d/tomcat` exists): the tests of what happens without one skip then.
pub fn host_can_restart_an_icg() -> bool {
    let unit_known = Process::new("systemctl")
        .args([
            "show",
            "--property=LoadState",
            "--value",
            "icg-server.service",
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "loaded");
    unit_known || Path::new("/etc/init.d/tomcat").exists()
}
