//! Faults: a full disk and a file-size limit while writing, directories and files the tool may not write or
//! read, signals during the restart wait, a restart command that hangs, links and shared directories where
//! files are expected. Every case: the right exit code, a message that says what happened, and the
//! installed keystore whole.

mod gateway;
mod sandbox;

use assert_cmd::Command;
use gateway::{free_port, Gateway};
use sandbox::{assert_exit, json, Sandbox};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("icg-renew")
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a shell snippet with `$BIN` set to the binary.
fn shell(snippet: &str) -> std::process::Output {
    Process::new("sh")
        .arg("-c")
        .arg(snippet)
        .env("BIN", binary())
        .output()
        .unwrap()
}

#[test]
fn a_file_size_limit_while_backing_up_leaves_nothing_behind() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let files_before = sandbox.files_in_keys();
    let args = sandbox.args().join(" ");
    // 4 blocks of 512 bytes: less than the 4.6 kB keystore, so the backup write hits the limit.
    let output = shell(&format!(
        "ulimit -f 4; exec \"$BIN\" {args} renew {} --restart none",
        sandbox.material().display()
    ));
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains("file size limit exceeded") && message.contains(".bak"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    let mut expected = files_before;
    expected.push(".keystore.jks.lock".into());
    expected.sort();
    assert_eq!(sandbox.files_in_keys(), expected);
}

#[test]
fn a_full_disk_while_writing_the_new_keystore_leaves_the_old_one() {
    let sandbox = Sandbox::new();
    let mount = sandbox.dir().join("small");
    std::fs::create_dir(&mount).unwrap();
    let mounted = Process::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32k,mode=0755", "tmpfs"])
        .arg(&mount)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("skipped: this machine does not let the test mount a tmpfs (the file-size-limit test covers the write path)");
        return;
    }
    let keystore = mount.join("keystore.jks");
    std::fs::copy(sandbox.keystore(), &keystore).unwrap();
    let before = std::fs::read(&keystore).unwrap();
    let password_file = sandbox.password_file();
    let backups = sandbox.dir().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let run_with = |extra: &[&str]| {
        Command::cargo_bin("icg-renew")
            .unwrap()
            .arg("--keystore")
            .arg(&keystore)
            .arg("--store-password-file")
            .arg(&password_file)
            .arg("--log-file")
            .arg(sandbox.log())
            .arg("renew")
            .arg(sandbox.material())
            .args(["--restart", "none", "--backup-dir"])
            .arg(&backups)
            .args(extra)
            .output()
            .unwrap()
    };
    // A dry run creates the lock file (one page); then fill the file system to the last byte.
    let dry = run_with(&["--dry-run"]);
    assert_exit(&dry, 0);
    let filled = Process::new("dd")
        .args(["if=/dev/zero", "bs=4096"])
        .arg(format!("of={}", mount.join("filler").display()))
        .output()
        .unwrap();
    assert!(!filled.status.success());
    let output = run_with(&[]);
    let after = std::fs::read(&keystore).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&mount)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let _ = Process::new("umount").arg(&mount).status();
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains("cannot write the new keystore") && message.contains("the disk is full"),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert_eq!(after, before);
    assert_eq!(left, [".keystore.jks.lock", "filler", "keystore.jks"]);
}

#[test]
fn without_permission_nothing_changes() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let nobody = "65534";
    std::fs::set_permissions(sandbox.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chown = |path: &Path| {
        assert!(Process::new("chown")
            .args(["-R", &format!("{nobody}:{nobody}")])
            .arg(path)
            .status()
            .unwrap()
            .success())
    };
    let as_nobody = |extra: &str| {
        let args = sandbox.args().join(" ");
        shell(&format!(
            "exec setpriv --reuid={nobody} --regid={nobody} --clear-groups \"$BIN\" {args} renew {} --restart none {extra}",
            sandbox.material().display()
        ))
    };

    // The keystore belongs to root, mode 0600: the user cannot even read it.
    std::fs::set_permissions(
        sandbox.root().join("usg/conf/application-prod.yml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    chown(&sandbox.root().join("new"));
    let output = as_nobody("");
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("Permission denied") && stderr(&output).contains("keystore.jks"),
        "{}",
        stderr(&output)
    );

    // The user owns everything, but the keys directory is read-only.
    chown(sandbox.root());
    std::fs::set_permissions(
        sandbox.root().join("usg/keys"),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();
    let output = as_nobody("");
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("Permission denied"),
        "{}",
        stderr(&output)
    );
    std::fs::set_permissions(
        sandbox.root().join("usg/keys"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    // The backup directory belongs to root.
    let root_only = sandbox.dir().join("root-only");
    std::fs::create_dir(&root_only).unwrap();
    let output = as_nobody(&format!("--backup-dir {}", root_only.display()));
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("cannot write the backup")
            && stderr(&output).contains("Permission denied"),
        "{}",
        stderr(&output)
    );

    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert!(std::fs::read_dir(&root_only).unwrap().next().is_none());
    assert!(!sandbox
        .files_in_keys()
        .iter()
        .any(|f| f.ends_with(".bak") || f.ends_with(".tmp")));
}

#[test]
fn signals_during_the_restart_wait_do_not_stop_the_renewal() {
    let port = free_port();
    let sandbox = Sandbox::with_port(port);
    let gateway = Gateway::start(&sandbox.keystore(), &sandbox.password_file(), port);
    let restart = format!("sleep 1; {}", gateway.restart_command());
    let log = sandbox.log();
    let child = Process::new(binary())
        .args(sandbox.args())
        .args(["--json", "renew"])
        .arg(sandbox.material())
        .args(["--restart-command", &restart, "--health-timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("action=replace")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the renewal never replaced the keystore"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for signal in ["TERM", "INT", "HUP"] {
        Process::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "renewed");
    assert_eq!(
        gateway.served_fingerprint().as_deref(),
        report["new"]["sha256"].as_str()
    );
}

#[test]
fn a_signal_before_the_rename_stops_cleanly() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let args = sandbox.args().join(" ");
    // The shell sends SIGTERM to itself: the binary (exec'd into its place) gets it at start-up, before
    // its handler exists, and dies at once, with nothing written.
    let output = shell(&format!(
        "kill -TERM $$; exec \"$BIN\" {args} renew {} --restart none",
        sandbox.material().display()
    ));
    assert_ne!(output.status.code(), Some(0));
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert!(!sandbox.files_in_keys().iter().any(|f| f.ends_with(".bak")));
}

#[test]
fn a_hanging_restart_is_cut_off_at_the_health_timeout_and_rolled_back() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let marker = sandbox.dir().join("hung-once");
    let restart = format!(
        "if [ -e {m} ]; then exit 0; fi; touch {m}; exec sleep 613",
        m = marker.display()
    );
    let started = Instant::now();
    let output = sandbox
        .icg()
        .args(["--json", "renew"])
        .arg(sandbox.material())
        .args([
            "--restart-command",
            &restart,
            "--health-timeout",
            "2",
            "--no-health-check",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_exit(&output, 4);
    let report = json(&output);
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("did not finish within 2 s and was killed"),
        "{report}"
    );
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    let leftover = Process::new("pgrep")
        .args(["-f", "sleep 613"])
        .output()
        .unwrap();
    assert!(
        leftover.stdout.is_empty(),
        "the hung restart's process group survived"
    );
}

#[test]
fn links_in_place_of_operator_files_are_refused() {
    let sandbox = Sandbox::new();
    let link = sandbox.dir().join("material-link.icg");
    std::os::unix::fs::symlink(sandbox.material(), &link).unwrap();
    let output = sandbox.icg().arg("verify").arg(&link).output().unwrap();
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("is a symbolic link; give the path of the file it points to"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("material-link.icg"));
}

#[test]
fn a_shared_backup_directory_is_refused_as_root() {
    if !std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
    {
        eprintln!("skipped: the check applies to root only");
        return;
    }
    let sandbox = Sandbox::new();
    let shared = sandbox.dir().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let output = sandbox
        .icg()
        .arg("renew")
        .arg(sandbox.material())
        .args(["--restart", "none", "--backup-dir"])
        .arg(&shared)
        .output()
        .unwrap();
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("is writable by every user"),
        "{}",
        stderr(&output)
    );
    assert!(std::fs::read_dir(&shared).unwrap().next().is_none());
}

#[test]
fn a_terminal_or_pipe_that_goes_away_does_not_stop_the_work() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let args = sandbox.args().join(" ");
    // stdout and stderr closed, as after an SSH drop or `| head` that has exited: writes fail with EBADF/EPIPE.
    let status = shell(&format!("\"$BIN\" {args} status >&- 2>&-; echo $?"));
    assert_eq!(
        String::from_utf8_lossy(&status.stdout).trim(),
        "1",
        "status must still say WARNING"
    );
    let renewed = shell(&format!(
        "\"$BIN\" {args} --json renew {} --restart none >&- 2>&-; echo $?",
        sandbox.material().display()
    ));
    assert_eq!(String::from_utf8_lossy(&renewed.stdout).trim(), "0");
    assert_ne!(
        std::fs::read(sandbox.keystore()).unwrap(),
        before,
        "the renewal must have finished"
    );
}

/// A dry run, and runs that stop before any change (wrong password, missing material), leave no audit log
/// behind; the first line a real renewal writes makes it, 0600 (issue 22, point 9: on the main before,
/// each of these created and wrote `--log-file`).
#[test]
fn the_audit_log_is_made_only_by_a_run_that_records_something() {
    let sandbox = Sandbox::new();
    let dry = sandbox
        .icg()
        .args(["--yes", "renew", "--restart", "none", "--dry-run"])
        .arg(sandbox.material())
        .output()
        .unwrap();
    assert_exit(&dry, 0);
    let missing = sandbox
        .icg()
        .args(["--yes", "renew", "--restart", "none"])
        .arg(sandbox.dir().join("no-such-material.p12"))
        .output()
        .unwrap();
    assert_exit(&missing, 1);
    let wrong_password = sandbox.dir().join("wrong.pass");
    std::fs::write(&wrong_password, "not the password").unwrap();
    let refused = sandbox
        .icg()
        .arg("--store-password-file")
        .arg(&wrong_password)
        .args(["--yes", "renew", "--restart", "none"])
        .arg(sandbox.material())
        .output()
        .unwrap();
    assert_exit(&refused, 1);
    assert!(
        !sandbox.log().exists(),
        "a run that changed nothing made the audit log"
    );

    let renewed = sandbox
        .icg()
        .args(["--yes", "renew", "--restart", "none"])
        .arg(sandbox.material())
        .output()
        .unwrap();
    assert_exit(&renewed, 0);
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(log.contains("action=renewed"), "{log}");
    let mode = std::fs::metadata(sandbox.log())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}
