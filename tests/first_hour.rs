//! A newcomer's and an operator's first hour, from the built binary: the installed keystore given as new
//! material is refused before anything changes, and the sandbox's printed commands (its "Try:" lines and the
//! undo line a renewal prints) work as printed, in order, with the binary not on PATH, and stay inside it.

mod sandbox;

use sandbox::{json, Sandbox};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A PATH without the binary: what a fresh clone has.
const PATH_WITHOUT_ICG_RENEW: &str = "/usr/local/bin:/usr/bin:/bin";

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_installed_keystore_as_new_material_fails_differs_from_installed_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    // The lock file beside the keystore is the only file a refused renewal may leave (empty, unlocked).
    let files_before = sandbox.files_in_keys();
    let marker = sandbox.dir().join("restarted");
    let restart = format!("touch {}", marker.display());
    let output = sandbox
        .icg_json()
        .arg("renew")
        .arg(sandbox.keystore())
        .args(["--restart-command", &restart, "--yes"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let report = json(&output);
    assert_eq!(report["result"], "incompatible");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "differs-from-installed")
        .expect("the check differs-from-installed");
    assert_eq!(check["status"], "fail");
    assert_eq!(
        check["detail"],
        "this is the installed certificate; give the new one"
    );
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    let mut files_after = sandbox.files_in_keys();
    files_after.retain(|f| !f.ends_with(".lock"));
    assert_eq!(files_after, files_before);
    assert!(!marker.exists(), "the restart command ran");
}

#[test]
fn a_copy_of_the_installed_keystore_is_named_as_such_in_plain_text() {
    let sandbox = Sandbox::new();
    let copy = sandbox.dir().join("keystore-copy.jks");
    std::fs::copy(sandbox.keystore(), &copy).unwrap();
    let output = sandbox.icg().arg("verify").arg(&copy).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let all = text(&output);
    assert!(all.contains("differs-from-installed"), "{all}");
    assert!(
        all.contains("this is the installed certificate; give the new one"),
        "{all}"
    );
    assert!(!all.contains("--new-password-file"), "{all}");
}

#[test]
fn the_installed_keystore_under_another_key_password_points_at_the_mistake() {
    // A store whose key password differs from its store password cannot be opened as material with the
    // store password alone: the message names it as the installed keystore, not a password problem.
    let sandbox = Sandbox::new();
    let config = sandbox.root().join("usg/conf/application-prod.yml");
    let keystore = sandbox.keystore();
    let password = sandbox.password();
    let status = Command::new("keytool")
        .args(["-keypasswd", "-alias", "icg", "-keystore"])
        .arg(&keystore)
        .args(["-storepass", &password, "-keypass", &password])
        .args(["-new", "another-key-password"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", text(&status));
    let yaml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        yaml.replace("ssl:\n", "ssl:\n    key-password: another-key-password\n"),
    )
    .unwrap();
    let output = sandbox.icg().arg("verify").arg(&keystore).output().unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(3), "{all}");
    assert!(
        all.contains("is the installed keystore, not new material"),
        "{all}"
    );
    assert!(!all.contains("--new-password-file"), "{all}");
}

/// The lines under "Try:" of `sandbox DIR`'s plain output.
fn try_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| l.trim() != "Try:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect()
}

/// Runs one printed command line as a person would paste it: by a shell, without a terminal.
fn run_as_printed(line: &str, cwd: &Path) -> Output {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(line)
        .current_dir(cwd)
        .env("PATH", PATH_WITHOUT_ICG_RENEW)
        .env_remove("ICG_ROOT")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn every_try_line_and_the_undo_line_work_as_printed_without_the_binary_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("my sandbox");
    let binary = assert_cmd::cargo::cargo_bin("icg-renew");
    let made = Command::new(&binary)
        .arg("sandbox")
        .arg(&root)
        .env("PATH", PATH_WITHOUT_ICG_RENEW)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let stdout = String::from_utf8_lossy(&made.stdout).into_owned();
    let lines = try_lines(&stdout);
    assert!(lines.len() >= 8, "{stdout}");
    let mut undo = None;
    let mut undo_rollback = None;
    for line in &lines {
        if !line.starts_with("openssl") {
            assert!(
                line.starts_with(&binary.display().to_string())
                    || line.starts_with(&format!("'{}", binary.display())),
                "a printed command does not start with the binary's path: {line}"
            );
        }
        for writer in [" renew ", " csr ", " rollback "] {
            if line.contains(writer) {
                assert!(line.contains("--log-file"), "{line}");
            }
        }
        if line.contains(" renew ") || line.contains(" rollback ") {
            assert!(line.contains("--restart none"), "{line}");
        }
        let output = run_as_printed(line, dir.path());
        // `status` of the sandbox's certificate, 10 days from expiry, is a WARNING (1) in the plugin
        // convention; the incompatible sample fails its checks (3).
        let expected = if line.ends_with(" status") {
            1
        } else if line.contains("incompatible/") {
            3
        } else {
            0
        };
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{line}\n{}",
            text(&output)
        );
        let printed = String::from_utf8_lossy(&output.stdout).into_owned();
        if let Some(found) = printed.lines().find_map(|l| l.strip_prefix("To undo: ")) {
            undo = Some(found.to_string());
        }
        if let Some(found) = printed
            .lines()
            .find_map(|l| l.strip_prefix("To undo this rollback: "))
        {
            undo_rollback = Some(found.to_string());
        }
    }
    let undo = undo.expect("a renewal printed the undo line");
    // The Try lines' own rollback undid the renewal already: its printed undo puts the renewal back (and
    // works as printed too), so that the renewal's undo line has something to undo again.
    let undo_rollback = undo_rollback.expect("the rollback printed how to undo it");
    let output = run_as_printed(&undo_rollback, dir.path());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{undo_rollback}\n{}",
        text(&output)
    );
    assert!(undo.contains("--restart none"), "{undo}");
    assert!(undo.contains("--log-file"), "{undo}");
    // The undo line names the backup it restores, last: the keystore holds that backup's bytes after it.
    let keystore = root.join("usg/keys/keystore.jks");
    let words = shlex::split(&undo).expect("the undo line is one shell command");
    let backup = std::fs::read(words.last().unwrap()).unwrap();
    let output = run_as_printed(&undo, dir.path());
    assert_eq!(output.status.code(), Some(0), "{undo}\n{}", text(&output));
    assert!(
        std::fs::read(&keystore).unwrap() == backup,
        "{undo} did not restore its backup"
    );
    let log = std::fs::read_to_string(root.join("icg-renew.log")).unwrap();
    for command in ["command=renew", "command=csr", "command=rollback"] {
        assert!(
            log.contains(command),
            "{command} not in the sandbox's log:\n{log}"
        );
    }
}

#[test]
fn a_renewal_without_restart_says_so_in_the_plan_and_logs_no_empty_downtime() {
    let sandbox = Sandbox::new();
    let output = sandbox.renew_without_restart();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    let on_failure = all
        .lines()
        .find(|l| l.trim_start().starts_with("On failure"))
        .expect("the plan's On failure line");
    assert!(on_failure.ends_with("restore the backup"), "{on_failure}");
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(log.contains("action=renewed"), "{log}");
    assert!(!log.contains("downtime_ms=\"\""), "{log}");
}

#[test]
fn a_dry_run_with_a_warning_does_not_say_every_check_passed() {
    let sandbox = Sandbox::new();
    let renewed = sandbox.renew_without_restart();
    assert_eq!(renewed.status.code(), Some(0), "{}", text(&renewed));
    // The backup holds the old certificate, which expires before the installed one: `newer` warns.
    let backup = sandbox.backups().remove(0);
    let output = sandbox
        .icg()
        .arg("renew")
        .arg(&backup)
        .arg("--new-password-file")
        .arg(sandbox.password_file())
        .args(["--restart", "none", "--dry-run"])
        .output()
        .unwrap();
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("WARN"), "{all}");
    assert!(!all.contains("every check passed"), "{all}");
    assert!(
        all.contains("Dry run: compatible, with 1 warning(s); nothing was changed."),
        "{all}"
    );
}

#[test]
fn a_status_that_cannot_be_read_says_unknown_on_stdout() {
    let sandbox = Sandbox::new();
    let output = Command::new(assert_cmd::cargo::cargo_bin("icg-renew"))
        .arg("--icg-root")
        .arg(sandbox.root().join("usg"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("UNKNOWN - "), "{stdout}");
    // A doubled usg/usg gets the root it probably meant.
    assert!(
        stdout.contains(&format!(
            "so this is probably --icg-root {}",
            sandbox.root().display()
        )),
        "{stdout}"
    );
}
