//! Helpers shared by the integration tests: fixture paths, private temporary copies of fixtures, running the
//! binary with a clean environment, and reading its JSON answers.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// The check ids of the contract, in the contract's order.
pub const CHECK_IDS: [&str; 14] = [
    "key-matches",
    "signed",
    "end-entity",
    "same-root",
    "same-hosts",
    "san-present",
    "validity",
    "newer",
    "name-differs-from-root",
    "key-strength",
    "signature-algorithm",
    "key-usage",
    "differs-from-installed",
    "server-auth",
];

/// The installed keystores of the fixtures (all hold entry `icg` and trusted entry `root`).
pub const INSTALLED_KEYSTORES: [&str; 5] = [
    "installed-rsa.jks",
    "installed-rsa.p12",
    "installed-ec.jks",
    "installed-ec.p12",
    "installed-inter.p12",
];

/// The path of a file in `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("read fixture {name}: {e}"))
}

/// The password of the installed fixture keystores.
pub fn store_password() -> String {
    String::from_utf8(fixture_bytes("store.pass")).expect("store.pass is text")
}

/// A private temporary directory holding copies of fixtures. The password files `store.pass` and `new.pass`
/// are always there, with mode 0600 so that the tool has no reason to warn about them on stderr.
pub struct Work {
    pub dir: TempDir,
}

impl Work {
    pub fn new() -> Work {
        let work = Work {
            dir: tempfile::tempdir().expect("create a temp dir"),
        };
        work.copy_as("store.pass", "store.pass");
        work.copy_as("new.pass", "new.pass");
        work
    }

    /// A work dir with copies of `fixtures` (by their own names).
    pub fn with(fixtures: &[&str]) -> Work {
        let work = Work::new();
        for name in fixtures {
            work.copy(name);
        }
        work
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Copies a fixture under its own name; returns the copy's path.
    pub fn copy(&self, name: &str) -> PathBuf {
        self.copy_as(name, name)
    }

    /// Copies a fixture under another name (directories on the way are created), mode 0600.
    pub fn copy_as(&self, name: &str, as_name: &str) -> PathBuf {
        self.write(as_name, &fixture_bytes(name))
    }

    /// Writes a file (directories on the way are created), mode 0600.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    pub fn store_pass(&self) -> PathBuf {
        self.path("store.pass")
    }

    pub fn new_pass(&self) -> PathBuf {
        self.path("new.pass")
    }

    /// `icg-renew --keystore <copy of keystore> --store-password-file store.pass`, run in this dir.
    pub fn icg_on(&self, keystore: &str) -> Command {
        let mut cmd = icg();
        cmd.current_dir(self.dir.path())
            .arg("--keystore")
            .arg(self.path(keystore))
            .arg("--store-password-file")
            .arg(self.store_pass());
        cmd
    }
}

/// The binary with an environment free of the variables it reads, and a timeout so that a hang fails the
/// test instead of blocking the suite.
pub fn icg() -> Command {
    let mut cmd = Command::cargo_bin("icg-renew").expect("the icg-renew binary");
    cmd.env_remove("ICG_ROOT")
        .env_remove("ICG_RENEW_STORE_PASSWORD")
        .env_remove("ICG_RENEW_NEW_PASSWORD")
        .timeout(Duration::from_secs(30));
    cmd
}

/// Parses stdout as exactly one JSON document.
pub fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// The status of check `id` in a `verify --json` report.
pub fn check_status<'a>(report: &'a Value, id: &str) -> &'a str {
    report["checks"]
        .as_array()
        .expect("checks is an array")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report}"))["status"]
        .as_str()
        .expect("status is a string")
}

/// The ids of the checks that did not pass, with their status, for failure messages.
pub fn not_passed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|c| c["status"] != "pass")
                .map(|c| format!("{}={}", c["id"], c["status"]))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `text` is `YYYY-MM-DDTHH:MM:SSZ`.
pub fn is_rfc3339_utc(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Asserts the contract's certificate summary shape.
pub fn assert_summary(summary: &Value) {
    let object = summary
        .as_object()
        .unwrap_or_else(|| panic!("summary is not an object: {summary}"));
    for key in [
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "days_left",
        "sha256",
        "dns_names",
        "ip_addresses",
        "is_ca",
    ] {
        assert!(object.contains_key(key), "summary lacks {key}: {summary}");
    }
    for key in ["subject", "issuer", "serial"] {
        let value = summary[key].as_str().unwrap_or_default();
        assert!(
            !value.is_empty(),
            "{key} is not a non-empty string: {summary}"
        );
    }
    for key in ["not_before", "not_after"] {
        let value = summary[key].as_str().unwrap_or_default();
        assert!(
            is_rfc3339_utc(value),
            "{key} is not RFC 3339 UTC: {value:?}"
        );
    }
    assert!(
        summary["days_left"].is_i64(),
        "days_left is not an integer: {}",
        summary["days_left"]
    );
    let sha256 = summary["sha256"].as_str().unwrap_or_default();
    let bytes: Vec<&str> = sha256.split(':').collect();
    assert_eq!(bytes.len(), 32, "sha256 is not 32 bytes: {sha256}");
    assert!(
        bytes.iter().all(|b| b.len() == 2
            && b.chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))),
        "sha256 is not upper-case hex with colons: {sha256}"
    );
    for key in ["dns_names", "ip_addresses"] {
        let list = summary[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} is not an array: {summary}"));
        assert!(list.iter().all(Value::is_string), "{key}: {summary}");
    }
    assert!(summary["is_ca"].is_boolean(), "is_ca: {summary}");
}

/// Asserts a failed run's stderr: exactly one line, naming `names`, and no panic.
pub fn assert_one_line_error(stderr: &[u8], names: &str) {
    let text = String::from_utf8_lossy(stderr);
    assert!(!text.contains("panicked"), "stderr shows a panic:\n{text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stderr is not exactly one line:\n{text}");
    assert!(
        lines[0].contains(names),
        "the message does not name {names}: {}",
        lines[0]
    );
}

/// Creates a FIFO with mkfifo(1).
pub fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {} failed", path.display());
}
