//! Crash safety: the binary, built with the `failpoints` feature, aborts itself right after each step of the
//! transaction in turn. After every abort the keystore is the old one or the new one, whole and readable by
//! keytool, the backup exists, and the next run cleans up and completes.
#![cfg(feature = "failpoints")]

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;

const STEPS: [&str; 4] = ["backup-written", "temp-written", "renamed", "restarted"];

fn sandbox(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("icg");
    Command::cargo_bin("icg-renew")
        .unwrap()
        .arg("sandbox")
        .arg(&root)
        .assert()
        .success();
    let yaml = std::fs::read_to_string(root.join("usg/conf/application-prod.yml")).unwrap();
    let password = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("key-store-password: "))
        .unwrap();
    let password_file = dir.join("store.pass");
    std::fs::write(&password_file, password).unwrap();
    (root, password_file)
}

fn renew(root: &Path, failpoint: Option<&str>) -> std::process::Output {
    let mut cmd = Command::cargo_bin("icg-renew").unwrap();
    cmd.arg("--icg-root")
        .arg(root)
        .arg("--log-file")
        .arg(root.join("audit.log"))
        .args(["--json", "renew"])
        .arg(root.join("new/keystore.icg"))
        .args(["--restart-command", "true", "--no-health-check"])
        .timeout(Duration::from_secs(60));
    if let Some(point) = failpoint {
        cmd.env("ICG_RENEW_FAILPOINT", point);
    }
    cmd.output().unwrap()
}

fn keytool_reads(keystore: &Path, password_file: &Path) -> bool {
    std::process::Command::new("keytool")
        .args(["-list", "-keystore"])
        .arg(keystore)
        .arg("-storepass:file")
        .arg(password_file)
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("PrivateKeyEntry")
        })
}

fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect()
}

#[test]
fn an_abort_after_any_step_leaves_a_whole_keystore_and_the_backup() {
    for step in STEPS {
        let dir = tempfile::tempdir().unwrap();
        let (root, password_file) = sandbox(dir.path());
        let keys = root.join("usg/keys");
        let keystore = keys.join("keystore.jks");
        let old = std::fs::read(&keystore).unwrap();

        let aborted = renew(&root, Some(step));
        assert_eq!(
            aborted.status.code(),
            None,
            "{step}: the process should have been aborted by a signal"
        );
        let now = std::fs::read(&keystore).unwrap();
        let renamed = matches!(step, "renamed" | "restarted");
        assert_eq!(
            now == old,
            !renamed,
            "{step}: the keystore should be the {} one",
            if renamed { "new" } else { "old" }
        );
        assert!(
            keytool_reads(&keystore, &password_file),
            "{step}: keytool cannot read the keystore"
        );
        let backups = files_in(&keys, ".bak");
        assert_eq!(backups.len(), 1, "{step}");
        assert_eq!(std::fs::read(&backups[0]).unwrap(), old, "{step}");
        assert_eq!(
            files_in(&keys, ".tmp").len(),
            usize::from(step == "temp-written"),
            "{step}"
        );

        // The next run is not blocked by the dead process's lock and removes its temp file.
        let next = renew(&root, None);
        assert_eq!(
            next.status.code(),
            Some(0),
            "{step}: {}",
            String::from_utf8_lossy(&next.stderr)
        );
        assert!(files_in(&keys, ".tmp").is_empty(), "{step}");
        assert!(keytool_reads(&keystore, &password_file), "{step}");
    }
}
