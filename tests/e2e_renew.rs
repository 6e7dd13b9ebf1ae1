//! End to end: `renew`, `rollback`, `backups` and `demo` from the built binary against a real JVM TLS server
//! standing in for the ICG, on keystores read back by the JDK's keytool.

mod gateway;
mod sandbox;

use assert_cmd::Command;
use gateway::{free_port, manifest_dir, Gateway};
use sandbox::{assert_exit, json, Options, Sandbox};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// `icg-renew sandbox` with a free port.
fn sandbox(pkcs12: bool) -> Sandbox {
    Sandbox::create(Options {
        port: free_port(),
        pkcs12,
    })
}

/// An installation around a fixture keystore (made by keytool), password from fixtures/store.pass.
fn from_fixture(name: &str) -> Sandbox {
    let password = std::fs::read_to_string(manifest_dir().join("fixtures/store.pass")).unwrap();
    Sandbox::around_keystore(
        &manifest_dir().join("fixtures").join(name),
        &password,
        free_port(),
    )
}

/// `icg-renew --json` on the installation, cut off after two minutes.
fn icg(install: &Sandbox) -> Command {
    let mut cmd = install.icg_json();
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// `renew NEW ARGS` of the installation's new material.
fn renew(install: &Sandbox, args: &[&str]) -> Output {
    icg(install)
        .arg("renew")
        .arg(install.material())
        .args(args)
        .output()
        .unwrap()
}

fn start_gateway(install: &Sandbox) -> Gateway {
    Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    )
}

/// Alias -> (entry type, SHA-256 of its first certificate) as keytool lists them.
fn keytool_entries(install: &Sandbox) -> BTreeMap<String, (String, String)> {
    let out = install.keytool_list();
    assert!(
        out.status.success(),
        "keytool cannot read {}: {}",
        install.keystore().display(),
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

/// The full renewal on a running gateway: served, listed by keytool, format, mode and owner kept, backup exact.
fn renew_and_check(install: &Sandbox, material: &Path, extra: &[&str]) -> Value {
    let gateway = start_gateway(install);
    let keystore = install.keystore();
    let before = std::fs::read(&keystore).unwrap();
    let entries_before = keytool_entries(install);
    std::fs::set_permissions(&keystore, std::fs::Permissions::from_mode(0o640)).unwrap();
    let running_as_root = rustix_is_root();
    if running_as_root {
        std::os::unix::fs::chown(&keystore, Some(4321), Some(4322)).unwrap();
    }
    let old_fp = gateway.served_fingerprint().unwrap();

    let output = icg(install)
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
    assert_exit(&output, 0);
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
    let entries_after = keytool_entries(install);
    assert_eq!(
        entries_after["icg"],
        ("PrivateKeyEntry".to_string(), new_fp.clone())
    );
    assert_eq!(entries_after["root"], entries_before["root"]);
    assert_eq!(entries_after.len(), entries_before.len());

    // Same format by content, same mode and owner; the backup is the old keystore, byte for byte, 0600.
    let after = std::fs::read(&keystore).unwrap();
    assert_eq!(
        after.starts_with(&[0xFE, 0xED, 0xFE, 0xED]),
        before.starts_with(&[0xFE, 0xED, 0xFE, 0xED])
    );
    let meta = std::fs::metadata(&keystore).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if running_as_root {
        assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
    }
    let backup = PathBuf::from(report["backup"].as_str().unwrap());
    assert_eq!(std::fs::read(&backup).unwrap(), before);
    assert_eq!(std::fs::metadata(&backup).unwrap().mode() & 0o777, 0o600);
    let log = std::fs::read_to_string(install.log()).unwrap();
    assert!(
        log.contains("action=renewed") && log.contains(&new_fp),
        "{log}"
    );
    report
}

/// Asserts a renewal rolled back because of `error`: exit 4, result `rolled-back`, `error` in its message.
fn assert_rolled_back(output: &Output, error: &str) {
    assert_exit(output, 4);
    let report = json(output);
    assert_eq!(report["result"], "rolled-back");
    assert!(
        report["error"].as_str().unwrap().contains(error),
        "{report}"
    );
}

fn rustix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn renews_a_jks_sandbox_and_the_gateway_serves_the_new_certificate() {
    let install = sandbox(false);
    let report = renew_and_check(&install, &install.material(), &[]);
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "backup",
            "build",
            "write",
            "restart",
            "confirm",
            "retention"
        ]
    );
}

#[test]
fn renews_a_pkcs12_sandbox_keeping_java17_algorithms() {
    let install = sandbox(true);
    renew_and_check(&install, &install.material(), &[]);
    let info = std::process::Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-in"])
        .arg(install.keystore())
        .arg("-passin")
        .arg(format!("file:{}", install.password_file().display()))
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
        let install = from_fixture(fixture);
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
        let install = from_fixture(fixture);
        renew_and_check(
            &install,
            &manifest_dir().join("fixtures/new-rsa-bundle.pem"),
            &[],
        );
    }
}

#[test]
fn a_failing_restart_rolls_back_and_the_old_certificate_is_served_again() {
    let install = sandbox(false);
    let gateway = start_gateway(&install);
    let before = std::fs::read(install.keystore()).unwrap();
    let old_fp = gateway.served_fingerprint().unwrap();
    gateway.fail_next_restart();
    let output = renew(
        &install,
        &[
            "--restart-command",
            &gateway.restart_command(),
            "--health-timeout",
            "60",
        ],
    );
    assert_rolled_back(&output, "simulated restart failure");
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        Some(old_fp.as_str())
    );
}

#[test]
fn a_health_timeout_rolls_back() {
    let install = sandbox(true);
    let gateway = start_gateway(&install);
    let before = std::fs::read(install.keystore()).unwrap();
    let old_fp = gateway.served_fingerprint().unwrap();
    // A "restart" that does nothing: the gateway keeps serving the old certificate, so confirmation times out.
    let output = renew(
        &install,
        &["--restart-command", "true", "--health-timeout", "2"],
    );
    // Told as the old certificate, not as "another" (issue 22, point 10).
    assert_rolled_back(
        &output,
        "did not serve the new certificate within 2 s: still serving the old certificate",
    );
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        Some(old_fp.as_str())
    );
}

#[test]
fn a_rollback_that_fails_too_exits_5_with_the_manual_steps() {
    let install = sandbox(false);
    let before = std::fs::read(install.keystore()).unwrap();
    let output = renew(
        &install,
        &[
            "--restart-command",
            "echo cannot restart >&2; exit 1",
            "--health-timeout",
            "5",
        ],
    );
    assert_exit(&output, 5);
    let report = json(&output);
    assert_eq!(report["result"], "rollback-failed");
    let manual: Vec<&str> = report["manual_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // The restore itself worked before the restart failed: what is left by hand is the restart, not the copy.
    assert!(!manual.iter().any(|s| s.starts_with("cp ")), "{manual:?}");
    // Each step says what it is for (issue 22, point 10: before, a bare "/bin/sh -c …").
    assert_eq!(
        manual[0], "restart the ICG: /bin/sh -c 'echo cannot restart >&2; exit 1'",
        "{manual:?}"
    );
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("failed (exit status 1); its last line: cannot restart"),
        "{error}"
    );
    // ... and the keystore is the old one.
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
}

#[test]
fn no_rollback_leaves_the_new_keystore_and_exits_5() {
    let install = sandbox(false);
    let before = std::fs::read(install.keystore()).unwrap();
    let output = renew(&install, &["--restart-command", "exit 1", "--no-rollback"]);
    assert_exit(&output, 5);
    let report = json(&output);
    assert_eq!(report["result"], "rollback-failed");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.ends_with("; the new keystore was left in place (--no-rollback)"),
        "{report}"
    );
    assert!(
        error.contains("failed (exit status 1) and printed nothing"),
        "{error}"
    );
    assert_ne!(std::fs::read(install.keystore()).unwrap(), before);
    // The new keystore stays, so the manual steps start with copying the backup back.
    let first = report["manual_steps"][0].as_str().unwrap();
    assert!(
        first.starts_with("cp ") && first.contains(".bak"),
        "{report}"
    );
}

#[test]
fn a_second_renewal_stops_at_once_while_the_first_holds_the_lock() {
    let install = sandbox(false);
    let first = std::process::Command::new(assert_cmd::cargo::cargo_bin("icg-renew"))
        .args(install.args())
        .args(["--json", "renew"])
        .arg(install.material())
        .args(["--restart-command", "sleep 3", "--no-health-check"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first has taken the lock and started its restart.
    let started = Instant::now();
    while install.backups().is_empty() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let second_started = Instant::now();
    let second = renew(&install, &["--restart", "none"]);
    assert!(
        second_started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        second_started.elapsed()
    );
    assert_exit(&second, 1);
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
    assert_exit(&first, 0);
    assert_eq!(install.backups().len(), 1);
}

#[test]
fn rollback_restores_the_newest_backup_and_backups_lists_it() {
    let install = sandbox(false);
    let gateway = start_gateway(&install);
    let original = std::fs::read(install.keystore()).unwrap();
    let old_fp = gateway.served_fingerprint().unwrap();
    let restart = gateway.restart_command();
    let renewed = renew(&install, &["--restart-command", &restart]);
    assert_exit(&renewed, 0);
    let new_fp = json(&renewed)["new"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();

    let listed = icg(&install).arg("backups").output().unwrap();
    assert!(listed.status.success());
    let listed = json(&listed);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["certificate"]["sha256"], old_fp.as_str());

    let renewed_bytes = std::fs::read(install.keystore()).unwrap();
    let rolled = icg(&install)
        .args(["rollback", "--restart-command", &restart])
        .output()
        .unwrap();
    assert_exit(&rolled, 0);
    let rolled = json(&rolled);
    assert_eq!(rolled["result"], "restored");
    assert_eq!(std::fs::read(install.keystore()).unwrap(), original);
    // The renewed keystore it replaced was saved first: the rollback can be undone too.
    let saved = rolled["saved_current"].as_str().unwrap();
    assert_eq!(std::fs::read(saved).unwrap(), renewed_bytes);
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        Some(old_fp.as_str())
    );
    assert_ne!(old_fp, new_fp);
}

#[test]
fn dry_run_changes_nothing() {
    let install = sandbox(false);
    let before = std::fs::read(install.keystore()).unwrap();
    let output = renew(&install, &["--dry-run", "--restart", "none"]);
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "dry-run");
    assert!(report["backup"].is_null());
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert!(install.backups().is_empty());
}

#[test]
fn incompatible_material_changes_nothing_and_exits_3() {
    let install = sandbox(false);
    let before = std::fs::read(install.keystore()).unwrap();
    let output = icg(&install)
        .arg("renew")
        .arg(install.root().join("incompatible/other-root.pem"))
        .args(["--restart", "none"])
        .output()
        .unwrap();
    assert_exit(&output, 3);
    assert_eq!(json(&output)["result"], "incompatible");
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert!(install.backups().is_empty());
}

#[test]
fn a_symlinked_keystore_keeps_its_link_and_the_target_is_replaced() {
    let install = sandbox(false);
    let target = install.root().join("usg/keys/real-keystore.jks");
    std::fs::rename(install.keystore(), &target).unwrap();
    std::os::unix::fs::symlink(&target, install.keystore()).unwrap();
    let before = std::fs::read(&target).unwrap();
    let output = renew(&install, &["--restart", "none"]);
    assert_exit(&output, 0);
    assert!(std::fs::symlink_metadata(install.keystore())
        .unwrap()
        .file_type()
        .is_symlink());
    assert_ne!(std::fs::read(&target).unwrap(), before);
    assert_eq!(
        keytool_entries(&install)["icg"].1,
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
    assert_exit(&output, 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Renewed:"), "{text}");
    assert!(text.contains("skipped: --restart none"), "{text}");
    assert!(
        text.contains("OK: the certificate expires in 365 days"),
        "{text}"
    );
}
