//! A full disk under the keystore: a real tmpfs mount (`mount -t tmpfs -o size=…`) as the keystore's
//! directory, filled so that the backup fits but the new keystore does not (or, once, so that not even the
//! backup fits). The renewal stops before the rename: the keystore stays byte for byte, nothing the run made
//! is left (no backup, no temporary file, run after run), the audit log ends with a failure line, `--json`
//! still prints the one renew document (checks, plan, error and kind), a terminal shows the error once and
//! says that the installed keystore is untouched, and the exit code is 1 (docs/cli.md: an I/O failure before
//! anything changed).
//!
//! Each test fails on main before issue 22 (0980028), where the same run left the backup, printed only the
//! error document (`{"error", "kind"}`; no checks, no plan), ended the audit log at `action=backup`, and
//! showed the error twice on a terminal (the failed step, then `icg-renew: …`).
//!
//! Mounting needs root (CI runs as root); where `mount` is not permitted the tests say SKIPPED and pass.

mod common;

use common::{fixture, fixture_bytes, json, store_password, CHECK_IDS};
use rexpect::process::WaitStatus;
use rexpect::session::spawn_command;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The installed keystore: a PKCS#12 of more than one page, so that its rewrite needs more than one page too.
const KEYSTORE: &str = "installed-rsa.p12";
const MATERIAL: &str = "new-rsa.p12";

/// A tmpfs mounted on a private temporary directory, unmounted when dropped; the keystore, its password,
/// the material and the audit log live outside it, in `outside`.
struct FullDisk {
    mount: tempfile::TempDir,
    outside: tempfile::TempDir,
}

impl FullDisk {
    /// A 256 KiB tmpfs (root's, 0700) holding a copy of the keystore; `None` (after saying so) when this
    /// process may not mount.
    fn mount(test: &str) -> Option<FullDisk> {
        let mount = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
            .arg(mount.path())
            .output()
            .unwrap();
        if !mounted.status.success() {
            eprintln!(
                "SKIPPED {test}: cannot mount a tmpfs ({}); CI runs the tests as root",
                String::from_utf8_lossy(&mounted.stderr).trim()
            );
            return None;
        }
        let disk = FullDisk {
            mount,
            outside: tempfile::tempdir().unwrap(),
        };
        std::fs::write(disk.keystore(), fixture_bytes(KEYSTORE)).unwrap();
        std::fs::set_permissions(disk.keystore(), std::fs::Permissions::from_mode(0o600)).unwrap();
        for (name, text) in [
            ("store.pass", store_password()),
            (
                "new.pass",
                String::from_utf8(fixture_bytes("new.pass")).unwrap(),
            ),
        ] {
            let path = disk.outside.path().join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Some(disk)
    }

    fn keystore(&self) -> PathBuf {
        self.mount.path().join("keystore.p12")
    }

    fn log(&self) -> PathBuf {
        self.outside.path().join("audit.log")
    }

    /// The size of one allocation unit of the mount (a page on tmpfs).
    fn block(&self) -> u64 {
        rustix::fs::statvfs(self.mount.path()).unwrap().f_frsize
    }

    fn pages(&self, bytes: u64) -> u64 {
        bytes.div_ceil(self.block())
    }

    /// Fills the mount so that `pages` blocks stay free.
    fn leave_free(&self, pages: u64) {
        let stat = rustix::fs::statvfs(self.mount.path()).unwrap();
        let free = stat.f_bavail * stat.f_frsize;
        let keep = pages * self.block();
        assert!(free > keep, "the mount has only {free} bytes free");
        std::fs::write(
            self.mount.path().join("filler"),
            vec![0u8; (free - keep) as usize],
        )
        .unwrap();
    }

    /// Leaves room for the lock file and the backup, but not for the new keystore (as large as the old).
    fn room_for_the_backup_only(&self) {
        let keystore = std::fs::metadata(self.keystore()).unwrap().len();
        assert!(
            self.pages(keystore) >= 2,
            "the keystore fixture fits one block: its rewrite could fit the one left"
        );
        // The lock file (a process id: one block), the backup, and one block that the new keystore outgrows.
        self.leave_free(1 + self.pages(keystore) + 1);
    }

    /// The arguments of a renewal of the keystore on the mount, restarting nothing.
    fn renew_args(&self) -> Vec<String> {
        let text = |p: &Path| p.display().to_string();
        vec![
            "--keystore".into(),
            text(&self.keystore()),
            "--store-password-file".into(),
            text(&self.outside.path().join("store.pass")),
            "--log-file".into(),
            text(&self.log()),
            "renew".into(),
            text(&fixture(MATERIAL)),
            "--new-password-file".into(),
            text(&self.outside.path().join("new.pass")),
            "--restart".into(),
            "none".into(),
        ]
    }

    /// `renew --json`: exit code and the one document on stdout.
    fn renew_json(&self) -> (Option<i32>, Value, String) {
        let out = common::icg()
            .arg("--json")
            .args(self.renew_args())
            .output()
            .unwrap();
        (
            out.status.code(),
            json(&out.stdout),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The names on the mount besides the keystore, its lock file and the filler: what a run left behind.
    fn litter(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.mount.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !matches!(n.as_str(), "keystore.p12" | ".keystore.p12.lock" | "filler"))
            .collect();
        names.sort();
        names
    }

    fn last_audit_line(&self) -> String {
        let log = std::fs::read_to_string(self.log()).unwrap();
        log.lines().last().unwrap_or_default().to_string()
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.mount.path())
            .status();
    }
}

/// The renew document of a run that stopped before the rename: checks and plan, the error naming the full
/// disk and the untouched keystore, kind `io`, no backup.
fn assert_failed_document(report: &Value, keystore: &Path) {
    assert_eq!(report["result"], "failed", "{report}");
    assert_eq!(report["kind"], "io", "{report}");
    let checks = report["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), CHECK_IDS.len(), "{report}");
    assert_eq!(report["compatible"], true, "{report}");
    assert_eq!(
        report["plan"]["keystore"],
        keystore.display().to_string(),
        "{report}"
    );
    assert!(report["backup"].is_null(), "{report}");
    let error = report["error"].as_str().expect("error");
    assert!(error.contains("No space left on device"), "{error}");
    assert!(
        error.contains(&format!(
            "left the installed keystore {} untouched",
            keystore.display()
        )),
        "{error}"
    );
}

#[test]
fn a_full_disk_leaves_no_backup_and_still_answers_with_checks_and_plan() {
    let Some(disk) =
        FullDisk::mount("a_full_disk_leaves_no_backup_and_still_answers_with_checks_and_plan")
    else {
        return;
    };
    let before = std::fs::read(disk.keystore()).unwrap();
    disk.room_for_the_backup_only();
    // Each retry on the full disk ends as the first did: nothing accumulates.
    for attempt in 1..=3 {
        let (code, report, stderr) = disk.renew_json();
        assert_eq!(code, Some(1), "attempt {attempt}: {report}\n{stderr}");
        assert_failed_document(&report, &disk.keystore());
        // Diagnostics go to stderr: the error once, as one line.
        common::assert_one_line_error(stderr.as_bytes(), "No space left on device");
        let steps: Vec<&str> = report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            ["backup", "build", "write", "clean-up"],
            "attempt {attempt}: the backup was written, the new keystore was not"
        );
        assert_eq!(
            std::fs::read(disk.keystore()).unwrap(),
            before,
            "attempt {attempt}: the keystore changed"
        );
        assert_eq!(
            disk.litter(),
            Vec::<String>::new(),
            "attempt {attempt}: left on the disk"
        );
        let last = disk.last_audit_line();
        assert!(
            last.contains("command=renew action=failed")
                && last.contains("replaced=no")
                && last.contains("backup_removed=")
                && last.contains("No space left on device"),
            "attempt {attempt}: the audit log ends with {last}"
        );
    }
}

#[test]
fn a_disk_too_full_for_the_backup_stops_before_anything_is_made() {
    let Some(disk) =
        FullDisk::mount("a_disk_too_full_for_the_backup_stops_before_anything_is_made")
    else {
        return;
    };
    let before = std::fs::read(disk.keystore()).unwrap();
    // Room for the lock file alone.
    disk.leave_free(1);
    let (code, report, stderr) = disk.renew_json();
    assert_eq!(code, Some(1), "{report}\n{stderr}");
    assert_failed_document(&report, &disk.keystore());
    assert_eq!(report["steps"][0]["name"], "backup", "{report}");
    assert_eq!(std::fs::read(disk.keystore()).unwrap(), before);
    assert_eq!(disk.litter(), Vec::<String>::new());
    let last = disk.last_audit_line();
    assert!(
        last.contains("action=failed") && last.contains("replaced=no"),
        "the audit log ends with {last}"
    );
}

#[test]
fn a_terminal_shows_the_full_disk_once_and_says_the_keystore_is_untouched() {
    let Some(disk) =
        FullDisk::mount("a_terminal_shows_the_full_disk_once_and_says_the_keystore_is_untouched")
    else {
        return;
    };
    let before = std::fs::read(disk.keystore()).unwrap();
    disk.room_for_the_backup_only();
    let binary = assert_cmd::cargo::cargo_bin("icg-renew");
    let mut words = vec![binary.display().to_string()];
    words.extend(disk.renew_args());
    let line = shlex::try_join(words.iter().map(String::as_str)).unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("stty cols 80 rows 24 && exec {line}"))
        .current_dir(disk.outside.path())
        .env("HOME", disk.outside.path())
        .env_remove("SUDO_USER")
        .env_remove("ICG_RENEW_STORE_PASSWORD")
        .env_remove("ICG_RENEW_NEW_PASSWORD")
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(60_000)).unwrap();
    // Now, not at a later time (the default).
    let mut seen = p.exp_string("Renew now, or at a time you choose?").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    p.send("\r").unwrap();
    p.flush().unwrap();
    seen.push_str(&p.exp_string("Replace the keystore now?").unwrap());
    std::thread::sleep(std::time::Duration::from_millis(400));
    p.send("y").unwrap();
    p.flush().unwrap();
    seen.push_str(&p.exp_eof().unwrap_or_default());
    let code = match p.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("unexpected end: {other:?}"),
    };
    let screen = plain(&seen);
    // Wrapped at 80 columns, a sentence may break between words and a path after a slash: compare the
    // text without its white space.
    let bare = |text: &str| text.split_whitespace().collect::<String>();
    let flat = bare(&screen);
    assert_eq!(
        flat.matches(&bare("No space left on device")).count(),
        1,
        "the error is not shown exactly once:\n{screen}"
    );
    let untouched = format!(
        "the installed keystore {} is untouched",
        disk.keystore().display()
    );
    assert!(
        flat.contains(&bare(&untouched)),
        "no `{untouched}`:\n{screen}"
    );
    assert!(
        flat.contains(&bare("the backup made for this run was removed")),
        "{screen}"
    );
    assert_eq!(code, 1, "{screen}");
    assert_eq!(std::fs::read(disk.keystore()).unwrap(), before);
    assert_eq!(disk.litter(), Vec::<String>::new());
}

/// The text a terminal shows: rexpect's one char per byte decoded as UTF-8 again, escape sequences removed.
fn plain(raw: &str) -> String {
    let bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    let text = String::from_utf8_lossy(&bytes);
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
        } else if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// A rollback on a full disk: its save of the installed keystore fits, the restored copy does not. The
/// rollback stops before its rename and removes the save it made (before, the `.before-rollback.bak` stayed),
/// the keystore stays the renewed one, and the audit log ends with `rollback-failed replaced=no`.
#[test]
fn a_rollback_on_a_full_disk_removes_the_save_it_made() {
    let Some(disk) = FullDisk::mount("a_rollback_on_a_full_disk_removes_the_save_it_made") else {
        return;
    };
    let (code, report, stderr) = disk.renew_json();
    assert_eq!(code, Some(0), "{report}\n{stderr}");
    let renewed = std::fs::read(disk.keystore()).unwrap();
    let backups_before = disk.litter();
    assert_eq!(backups_before.len(), 1, "{backups_before:?}");
    // Room for the save of the installed keystore and one block more: not for the restored copy too.
    disk.leave_free(disk.pages(renewed.len() as u64) + 1);
    let text = |p: &Path| p.display().to_string();
    let out = common::icg()
        .args([
            "--json",
            "--yes",
            "--keystore",
            &text(&disk.keystore()),
            "--store-password-file",
            &text(&disk.outside.path().join("store.pass")),
            "--log-file",
            &text(&disk.log()),
            "rollback",
            "--restart",
            "none",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(std::fs::read(disk.keystore()).unwrap(), renewed);
    assert_eq!(disk.litter(), backups_before, "the rollback left its save");
    let last = disk.last_audit_line();
    assert!(
        last.contains("action=rollback-failed") && last.contains("replaced=no"),
        "{last}"
    );
    assert!(
        last.contains("backup_removed=") && last.contains("before-rollback"),
        "{last}"
    );
}
