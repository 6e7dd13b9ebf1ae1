//! Crash safety: the binary, built with the `failpoints` feature, aborts itself right after each step of the
//! transaction in turn. After every abort the keystore is the old one or the new one, whole and readable by
//! keytool, the backup exists, and the next run cleans up and completes.
#![cfg(feature = "failpoints")]

mod sandbox;

use sandbox::Sandbox;
use std::time::Duration;

const STEPS: [&str; 4] = ["backup-written", "temp-written", "renamed", "restarted"];

fn renew(sandbox: &Sandbox, failpoint: Option<&str>) -> std::process::Output {
    let mut cmd = sandbox.icg_json();
    cmd.arg("renew")
        .arg(sandbox.material())
        .args(["--restart-command", "true", "--no-health-check"])
        .timeout(Duration::from_secs(60));
    if let Some(point) = failpoint {
        cmd.env("ICG_RENEW_FAILPOINT", point);
    }
    cmd.output().unwrap()
}

/// Whether keytool lists the sandbox's keystore with its key entry.
fn keytool_reads(sandbox: &Sandbox) -> bool {
    let listed = sandbox.keytool_list();
    listed.status.success() && String::from_utf8_lossy(&listed.stdout).contains("PrivateKeyEntry")
}

#[test]
fn an_abort_after_any_step_leaves_a_whole_keystore_and_the_backup() {
    for step in STEPS {
        let sandbox = Sandbox::new();
        let keystore = sandbox.keystore();
        let old = std::fs::read(&keystore).unwrap();

        let aborted = renew(&sandbox, Some(step));
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
            keytool_reads(&sandbox),
            "{step}: keytool cannot read the keystore"
        );
        let backups = sandbox.backups();
        assert_eq!(backups.len(), 1, "{step}");
        assert_eq!(std::fs::read(&backups[0]).unwrap(), old, "{step}");
        assert_eq!(
            sandbox.temp_files().len(),
            usize::from(step == "temp-written"),
            "{step}"
        );

        // The next run is not blocked by the dead process's lock and removes its temp file. After the rename
        // the new certificate is installed already: the same material again fails `differs-from-installed`.
        let next = renew(&sandbox, None);
        assert_eq!(
            next.status.code(),
            Some(if renamed { 3 } else { 0 }),
            "{step}: {}",
            String::from_utf8_lossy(&next.stderr)
        );
        if renamed {
            let report = sandbox::json(&next);
            let failed: Vec<&serde_json::Value> = report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["status"] == "fail")
                .map(|c| &c["id"])
                .collect();
            assert_eq!(failed, ["differs-from-installed"], "{step}");
        }
        assert!(sandbox.temp_files().is_empty(), "{step}");
        assert!(keytool_reads(&sandbox), "{step}");
    }
}
