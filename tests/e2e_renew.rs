//! End to end: `renew`, `rollback`, `backups` and `demo` from the built binary against a real JVM TLS server
//! standing in for the ICG, on keystores read back by the JDK's keytool.

mod gateway;

use assert_cmd::Command;
use gateway::{free_port, manifest_dir, Gateway};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A throwaway ICG installation.
struct Install {
    _dir: tempfile::TempDir,
    root: PathBuf,
    keystore: PathBuf,
    password_file: PathBuf,
    port: u16,
}

impl Install {
    /// `icg-renew sandbox` with a free port.
    fn sandbox(pkcs12: bool) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("icg");
        let port = free_port();
        let mut cmd = Command::cargo_bin("icg-renew").unwrap();
        cmd.arg("sandbox")
            .arg(&root)
            .args(["--port", &port.to_string()]);
        if pkcs12 {
            cmd.args(["--format", "pkcs12"]);
        }
        cmd.assert().success();
        let yaml = std::fs::read_to_string(root.join("usg/conf/application-prod.yml")).unwrap();
        let password = yaml
            .lines()
            .find_map(|l| l.trim().strip_prefix("key-store-password: "))
            .unwrap()
            .to_string();
        let password_file = dir.path().join("store.pass");
        std::fs::write(&password_file, password).unwrap();
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Install {
            keystore: root.join("usg/keys/keystore.jks"),
            _dir: dir,
            root,
            password_file,
            port,
        }
    }

    /// An installation around a fixture keystore (made by keytool), password from fixtures/store.pass.
    fn from_fixture(name: &str) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("icg");
        std::fs::create_dir_all(root.join("usg/conf")).unwrap();
        std::fs::create_dir_all(root.join("usg/keys")).unwrap();
        let keystore = root.join("usg/keys/keystore.jks");
        std::fs::copy(manifest_dir().join("fixtures").join(name), &keystore).unwrap();
        let password = std::fs::read_to_string(manifest_dir().join("fixtures/store.pass")).unwrap();
        let port = free_port();
        std::fs::write(
            root.join("usg/conf/application-prod.yml"),
            format!("server:\n  port: {port}\n  ssl:\n    key-store: file:{}\n    key-store-password: '{password}'\n", keystore.display()),
        )
        .unwrap();
        let password_file = dir.path().join("store.pass");
        std::fs::write(&password_file, password).unwrap();
        Install {
            _dir: dir,
            root,
            keystore,
            password_file,
            port,
        }
    }

    fn icg(&self) -> Command {
        let mut cmd = Command::cargo_bin("icg-renew").unwrap();
        cmd.arg("--icg-root")
            .arg(&self.root)
            .arg("--log-file")
            .arg(self.root.join("audit.log"))
            .arg("--json");
        cmd.timeout(Duration::from_secs(120));
        cmd
    }

    fn start_gateway(&self) -> Gateway {
        Gateway::start(&self.keystore, &self.password_file, self.port)
    }

    fn material(&self) -> PathBuf {
        self.root.join("new/keystore.icg")
    }

    /// Alias -> (entry type, SHA-256 of its first certificate) as keytool lists them.
    fn keytool_entries(&self) -> BTreeMap<String, (String, String)> {
        let out = std::process::Command::new("keytool")
            .args(["-list", "-keystore"])
            .arg(&self.keystore)
            .arg("-storepass:file")
            .arg(&self.password_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keytool cannot read {}: {}",
            self.keystore.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut entries = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let fields: Vec<&str> = line.split(", ").collect();
            if fields.len() >= 3
                && fields
                    .iter()
                    .any(|f| f.ends_with("Entry") || f.ends_with("Entry,"))
            {
                let kind = fields
                    .iter()
                    .find(|f| f.contains("Entry"))
                    .unwrap()
                    .trim_end_matches(',')
                    .to_string();
                let fingerprint = lines
                    .next()
                    .and_then(|l| l.split("): ").nth(1))
                    .unwrap_or_default()
                    .to_string();
                entries.insert(fields[0].to_string(), (kind, fingerprint));
            }
        }
        entries
    }
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bak"))
        .collect();
    found.sort();
    found
}

/// The full renewal on a running gateway: served, listed by keytool, format, mode and owner kept, backup exact.
fn renew_and_check(install: &Install, material: &Path, extra: &[&str]) -> Value {
    let gateway = install.start_gateway();
    let before = std::fs::read(&install.keystore).unwrap();
    let entries_before = install.keytool_entries();
    std::fs::set_permissions(&install.keystore, std::fs::Permissions::from_mode(0o640)).unwrap();
    let running_as_root = rustix_is_root();
    if running_as_root {
        std::os::unix::fs::chown(&install.keystore, Some(4321), Some(4322)).unwrap();
    }
    let old_fp = gateway.served_fingerprint().unwrap();

    let output = install
        .icg()
        .arg("renew")
        .arg(material)
        .args([
            "--restart-command",
            &gateway.restart_command(),
            "--health-timeout",
            "60",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output);
    assert_eq!(report["result"], "renewed");
    let new_fp = report["new"]["sha256"].as_str().unwrap().to_string();
    assert_ne!(new_fp, old_fp);
    assert_eq!(report["current"]["sha256"], old_fp.as_str());
    assert!(report["downtime_ms"].as_u64().is_some(), "{report}");

    // The gateway serves the new leaf, and keytool sees it under the same alias; the root entry is untouched.
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        Some(new_fp.as_str())
    );
    let entries_after = install.keytool_entries();
    assert_eq!(
        entries_after["icg"],
        ("PrivateKeyEntry".to_string(), new_fp.clone())
    );
    assert_eq!(entries_after["root"], entries_before["root"]);
    assert_eq!(entries_after.len(), entries_before.len());

    // Same format by content, same mode and owner; the backup is the old keystore, byte for byte, 0600.
    let after = std::fs::read(&install.keystore).unwrap();
    assert_eq!(
        after.starts_with(&[0xFE, 0xED, 0xFE, 0xED]),
        before.starts_with(&[0xFE, 0xED, 0xFE, 0xED])
    );
    let meta = std::fs::metadata(&install.keystore).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if running_as_root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
    }
    let backup = PathBuf::from(report["backup"].as_str().unwrap());
    assert_eq!(std::fs::read(&backup).unwrap(), before);
    assert_eq!(std::fs::metadata(&backup).unwrap().mode() & 0o777, 0o600);
    let log = std::fs::read_to_string(install.root.join("audit.log")).unwrap();
    assert!(
        log.contains("action=renewed") && log.contains(&new_fp),
        "{log}"
    );
    report
}

fn rustix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn renews_a_jks_sandbox_and_the_gateway_serves_the_new_certificate() {
    let install = Install::sandbox(false);
    let report = renew_and_check(&install, &install.material(), &[]);
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["backup", "build", "write", "restart", "confirm"]);
}

#[test]
fn renews_a_pkcs12_sandbox_keeping_java17_algorithms() {
    let install = Install::sandbox(true);
    renew_and_check(&install, &install.material(), &[]);
    let info = std::process::Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-in"])
        .arg(&install.keystore)
        .arg("-passin")
        .arg(format!("file:{}", install.password_file.display()))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&info.stderr).to_string() + &String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("MAC: sha256") && text.contains("AES-256-CBC"),
        "{text}"
    );
}

#[test]
fn renews_keytool_made_ec_keystores_in_both_formats() {
    for fixture in ["installed-ec.jks", "installed-ec.p12"] {
        let install = Install::from_fixture(fixture);
        renew_and_check(
            &install,
            &manifest_dir().join("fixtures/new-ec.p12"),
            &[
                "--new-password-file",
                manifest_dir().join("fixtures/new.pass").to_str().unwrap(),
            ],
        );
    }
}

#[test]
fn renews_keytool_made_rsa_keystores_with_a_pem_bundle() {
    for fixture in ["installed-rsa.jks", "installed-rsa.p12"] {
        let install = Install::from_fixture(fixture);
        renew_and_check(
            &install,
            &manifest_dir().join("fixtures/new-rsa-bundle.pem"),
            &[],
        );
    }
}

#[test]
fn a_failing_restart_rolls_back_and_the_old_certificate_is_served_again() {
    let install = Install::sandbox(false);
    let gateway = install.start_gateway();
    let before = std::fs::read(&install.keystore).unwrap();
    let old_fp = gateway.served_fingerprint().unwrap();
    gateway.fail_next_restart();
    let output = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args([
            "--restart-command",
            &gateway.restart_command(),
            "--health-timeout",
            "60",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(4),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output);
    assert_eq!(report["result"], "rolled-back");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("simulated restart failure"),
        "{report}"
    );
    assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        Some(old_fp.as_str())
    );
}

#[test]
fn a_health_timeout_rolls_back() {
    let install = Install::sandbox(true);
    let gateway = install.start_gateway();
    let before = std::fs::read(&install.keystore).unwrap();
    let old_fp = gateway.served_fingerprint().unwrap();
    // A "restart" that does nothing: the gateway keeps serving the old certificate, so confirmation times out.
    let output = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args(["--restart-command", "true", "--health-timeout", "2"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(4),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output);
    assert_eq!(report["result"], "rolled-back");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("did not serve the new certificate within 2 s"),
        "{report}"
    );
    assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        Some(old_fp.as_str())
    );
}

#[test]
fn a_rollback_that_fails_too_exits_5_with_the_manual_steps() {
    let install = Install::sandbox(false);
    let before = std::fs::read(&install.keystore).unwrap();
    let output = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args([
            "--restart-command",
            "echo cannot restart >&2; exit 1",
            "--health-timeout",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5));
    let report = json(&output);
    assert_eq!(report["result"], "rollback-failed");
    let manual: Vec<&str> = report["manual_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        manual[0].starts_with("cp ") && manual[0].contains(".bak"),
        "{manual:?}"
    );
    // The restore itself worked before the restart failed: the keystore is the old one.
    assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
}

#[test]
fn no_rollback_leaves_the_new_keystore_and_exits_5() {
    let install = Install::sandbox(false);
    let before = std::fs::read(&install.keystore).unwrap();
    let output = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args(["--restart-command", "exit 1", "--no-rollback"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5));
    assert_eq!(json(&output)["result"], "rollback-failed");
    assert_ne!(std::fs::read(&install.keystore).unwrap(), before);
}

#[test]
fn a_second_renewal_stops_at_once_while_the_first_holds_the_lock() {
    let install = Install::sandbox(false);
    let first = std::process::Command::new(assert_cmd::cargo::cargo_bin("icg-renew"))
        .arg("--icg-root")
        .arg(&install.root)
        .arg("--log-file")
        .arg(install.root.join("audit.log"))
        .args(["--json", "renew"])
        .arg(install.material())
        .args(["--restart-command", "sleep 3", "--no-health-check"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first has taken the lock and started its restart.
    let started = Instant::now();
    while backups_in(&install.root.join("usg/keys")).is_empty()
        && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second_started = Instant::now();
    let second = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args(["--restart", "none"])
        .output()
        .unwrap();
    assert!(
        second_started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        second_started.elapsed()
    );
    assert_eq!(second.status.code(), Some(1));
    let error = json(&second);
    assert_eq!(error["kind"], "locked");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("another icg-renew"),
        "{error}"
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0));
    assert_eq!(backups_in(&install.root.join("usg/keys")).len(), 1);
}

#[test]
fn rollback_restores_the_newest_backup_and_backups_lists_it() {
    let install = Install::sandbox(false);
    let gateway = install.start_gateway();
    let original = std::fs::read(&install.keystore).unwrap();
    let old_fp = gateway.served_fingerprint().unwrap();
    let restart = gateway.restart_command();
    let renewed = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args(["--restart-command", &restart])
        .output()
        .unwrap();
    assert_eq!(
        renewed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&renewed.stderr)
    );
    let new_fp = json(&renewed)["new"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = install.icg().arg("backups").output().unwrap();
    assert!(listed.status.success());
    let listed = json(&listed);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["certificate"]["sha256"], old_fp.as_str());

    let rolled = install
        .icg()
        .args(["rollback", "--restart-command", &restart])
        .output()
        .unwrap();
    assert_eq!(
        rolled.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rolled.stderr)
    );
    let rolled = json(&rolled);
    assert_eq!(rolled["result"], "restored");
    assert_eq!(std::fs::read(&install.keystore).unwrap(), original);
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        Some(old_fp.as_str())
    );
    assert_ne!(old_fp, new_fp);
}

#[test]
fn dry_run_changes_nothing() {
    let install = Install::sandbox(false);
    let before = std::fs::read(&install.keystore).unwrap();
    let output = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args(["--dry-run", "--restart", "none"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report = json(&output);
    assert_eq!(report["result"], "dry-run");
    assert!(report["backup"].is_null());
    assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
    assert!(backups_in(&install.root.join("usg/keys")).is_empty());
}

#[test]
fn incompatible_material_changes_nothing_and_exits_3() {
    let install = Install::sandbox(false);
    let before = std::fs::read(&install.keystore).unwrap();
    let output = install
        .icg()
        .arg("renew")
        .arg(install.root.join("incompatible/other-root.pem"))
        .args(["--restart", "none"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json(&output)["result"], "incompatible");
    assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
    assert!(backups_in(&install.root.join("usg/keys")).is_empty());
}

#[test]
fn a_symlinked_keystore_keeps_its_link_and_the_target_is_replaced() {
    let install = Install::sandbox(false);
    let target = install.root.join("usg/keys/real-keystore.jks");
    std::fs::rename(&install.keystore, &target).unwrap();
    std::os::unix::fs::symlink(&target, &install.keystore).unwrap();
    let before = std::fs::read(&target).unwrap();
    let output = install
        .icg()
        .arg("renew")
        .arg(install.material())
        .args(["--restart", "none"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(std::fs::symlink_metadata(&install.keystore)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_ne!(std::fs::read(&target).unwrap(), before);
    assert_eq!(
        install.keytool_entries()["icg"].1,
        json(&output)["new"]["sha256"].as_str().unwrap()
    );
}

#[test]
fn demo_runs_a_complete_renewal() {
    let output = Command::cargo_bin("icg-renew")
        .unwrap()
        .arg("demo")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Renewed:"), "{text}");
    assert!(text.contains("skipped: --restart none"), "{text}");
    assert!(
        text.contains("OK: the certificate expires in 365 days"),
        "{text}"
    );
}
