//! `rollback` undoes the last renewal, and only that (issue 22, point 1): after a renewal that rolled back by
//! itself there is nothing to undo (exit 1, no restart); a second `rollback` after a good renewal does not put
//! the new certificate back; the rollback's own undo is the command it prints, and it works once.

mod sandbox;

use sandbox::{assert_exit, json, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Output;

/// `rollback --yes --json` with a restart command that leaves `marker` behind, so a test can tell whether
/// the gateway was restarted.
fn rollback(sandbox: &Sandbox, marker: &Path, backup: Option<&Path>) -> Output {
    let mut cmd = sandbox.icg_json();
    cmd.args([
        "--yes",
        "rollback",
        "--no-health-check",
        "--restart-command",
    ])
    .arg(format!("touch {}", marker.display()));
    if let Some(backup) = backup {
        cmd.arg(backup);
    }
    cmd.output().unwrap()
}

fn leaf_sha256(sandbox: &Sandbox) -> String {
    let output = sandbox
        .icg_json()
        .args(["status", "--no-probe"])
        .output()
        .unwrap();
    json(&output)["certificate"]["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn after_a_renewal_that_rolled_back_by_itself_there_is_nothing_to_undo() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    // The restart fails the first time (after the rename) and works the second (the restore's): the renewal
    // rolls back by itself (exit 4).
    let once = sandbox.dir().join("failed-once");
    let restart = format!(
        "if [ -e {0} ]; then exit 0; else touch {0}; exit 1; fi",
        once.display()
    );
    let renewed = sandbox
        .icg()
        .args([
            "--yes",
            "renew",
            "--no-health-check",
            "--restart-command",
            &restart,
        ])
        .arg(sandbox.material())
        .output()
        .unwrap();
    assert_exit(&renewed, 4);
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);

    let marker = sandbox.dir().join("restarted");
    let output = rollback(&sandbox, &marker, None);
    assert_exit(&output, 1);
    let report = json(&output);
    assert_eq!(report["kind"], "not-found", "{report}");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .starts_with("nothing to undo"),
        "{report}"
    );
    assert!(!marker.exists(), "the gateway was restarted for nothing");
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
}

#[test]
fn a_second_rollback_does_not_undo_the_first_and_the_printed_undo_works_once() {
    let sandbox = Sandbox::new();
    let old = leaf_sha256(&sandbox);
    assert_exit(&sandbox.renew_without_restart(), 0);
    let new = leaf_sha256(&sandbox);
    assert_ne!(old, new);

    let marker = sandbox.dir().join("restarted");
    let first = rollback(&sandbox, &marker, None);
    assert_exit(&first, 0);
    assert!(marker.exists());
    assert_eq!(leaf_sha256(&sandbox), old);
    let report = json(&first);
    let saved = PathBuf::from(report["saved_current"].as_str().unwrap());
    assert!(
        saved.to_str().unwrap().ends_with(".before-rollback.bak"),
        "{report}"
    );
    assert!(
        report["undo"].as_str().unwrap().contains("rollback"),
        "{report}"
    );

    // The same command again: nothing to undo, and it names the way back to the new certificate.
    std::fs::remove_file(&marker).unwrap();
    let second = rollback(&sandbox, &marker, None);
    assert_exit(&second, 1);
    let error = json(&second)["error"].as_str().unwrap().to_string();
    assert!(error.contains(saved.to_str().unwrap()), "{error}");
    assert!(!marker.exists());
    assert_eq!(
        leaf_sha256(&sandbox),
        old,
        "the second rollback undid the first"
    );

    // The printed undo puts the new certificate back, once.
    let undone = rollback(&sandbox, &marker, Some(&saved));
    assert_exit(&undone, 0);
    assert_eq!(leaf_sha256(&sandbox), new);
    std::fs::remove_file(&marker).unwrap();
    let again = rollback(&sandbox, &marker, Some(&saved));
    assert_exit(&again, 1);
    assert!(!marker.exists());
    assert_eq!(leaf_sha256(&sandbox), new);

    // `backups` tells the two kinds apart.
    let listed = json(&sandbox.icg_json().arg("backups").output().unwrap());
    let kinds: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["made_before"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"renewal") && kinds.contains(&"rollback"),
        "{listed}"
    );
}
