//! `--keep-backups N`: after each successful renewal or rollback, only the newest N backups of the keystore
//! stay (the one just made always among them), `0` keeps all, and `backups` marks those the next renewal
//! removes. Real renewals and rollbacks in a sandbox, backups read back from the directory.

mod sandbox;

use sandbox::{assert_exit, json, Sandbox};
use std::path::PathBuf;

fn renew(sandbox: &Sandbox, extra: &[&str]) {
    let options = [&["--restart", "none"], extra].concat();
    let output = sandbox.renew_yes(&options, &sandbox.material());
    assert_exit(&output, 0);
}

fn rollback(sandbox: &Sandbox, extra: &[&str]) {
    let output = sandbox
        .icg()
        .args(["--yes", "rollback", "--restart", "none"])
        .args(extra)
        .output()
        .unwrap();
    assert_exit(&output, 0);
}

/// Renewals and rollbacks in turn: each makes one backup (a rollback saves the keystore it replaces).
fn churn(sandbox: &Sandbox, times: usize, extra: &[&str]) {
    for i in 0..times {
        if i % 2 == 0 {
            renew(sandbox, extra);
        } else {
            rollback(sandbox, extra);
        }
    }
}

/// The backups, newest first, as `backups --json` lists them, with their "removed by the next renewal" mark.
fn listed(sandbox: &Sandbox, extra: &[&str]) -> Vec<(PathBuf, bool)> {
    let output = sandbox
        .icg_json()
        .arg("backups")
        .args(extra)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    json(&output)
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                PathBuf::from(b["path"].as_str().unwrap()),
                b["removed_by_next_renewal"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn twelve_renewals_and_rollbacks_leave_the_newest_ten_backups() {
    let sandbox = Sandbox::new();
    churn(&sandbox, 10, &[]);
    let before = listed(&sandbox, &[]);
    assert_eq!(before.len(), 10);
    assert_eq!(sandbox.backups().len(), 10);
    // With ten kept, the oldest goes at the next renewal.
    let marked: Vec<bool> = before.iter().map(|(_, m)| *m).collect();
    assert_eq!(
        marked,
        [false, false, false, false, false, false, false, false, false, true]
    );

    churn(&sandbox, 2, &[]);
    let after = listed(&sandbox, &[]);
    assert_eq!(after.len(), 10, "{after:?}");
    assert_eq!(sandbox.backups().len(), 10);
    // The two oldest went; the nine newest of before are still there, behind the two new ones.
    for (path, _) in &before[..8] {
        assert!(
            after.iter().any(|(p, _)| p == path),
            "{} kept",
            path.display()
        );
    }
    for (path, _) in &before[8..] {
        assert!(!path.exists(), "{} removed", path.display());
    }
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert_eq!(log.matches("action=backup-removed").count(), 2, "{log}");
    // The keystore is whole and holds the last rollback's certificate (the original).
    assert!(sandbox.keytool_list().status.success());
    let status = json(&sandbox.icg_json().arg("status").output().unwrap());
    assert!(status["certificate"]["days_left"].as_i64().unwrap() < 30);
}

#[test]
fn keep_zero_keeps_every_backup_and_a_small_keep_never_removes_the_new_one() {
    let sandbox = Sandbox::new();
    churn(&sandbox, 4, &["--keep-backups", "0"]);
    assert_eq!(sandbox.backups().len(), 4);
    assert!(listed(&sandbox, &["--keep-backups", "0"])
        .iter()
        .all(|(_, m)| !m));

    renew(&sandbox, &["--keep-backups", "1"]);
    let left = sandbox.backups();
    assert_eq!(left.len(), 1, "{left:?}");
    let report = json(&sandbox.icg_json().args(["backups"]).output().unwrap());
    let kept = &report[0];
    // The one left is the one this renewal made: it holds the certificate that was installed before it.
    assert!(
        kept["certificate"]["days_left"].as_i64().unwrap() < 30,
        "{kept}"
    );
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    let last_backup = log.lines().rfind(|l| l.contains("action=backup ")).unwrap();
    assert!(
        last_backup.contains(&left[0].display().to_string()),
        "{last_backup}"
    );
}

#[test]
fn a_rollback_keeps_the_backup_it_restored_and_the_one_it_saved() {
    let sandbox = Sandbox::new();
    renew(&sandbox, &[]);
    let restored = sandbox.backups();
    assert_eq!(restored.len(), 1);
    rollback(&sandbox, &["--keep-backups", "1"]);
    let left = sandbox.backups();
    assert_eq!(left.len(), 2, "both stay: {left:?}");
    assert!(left.contains(&restored[0]));
}
