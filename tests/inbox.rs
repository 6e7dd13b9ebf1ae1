//! `icg-renew inbox DIR`, the drop folder, without systemd: good material renews and lands in `done/` with
//! its JSON result; incompatible material lands in `failed/` and changes nothing; a file still being written
//! is left alone until it has settled; a password beside the material; older material superseded; a folder
//! others can write to, and a second run at the same time, are refused.

mod sandbox;

use sandbox::{assert_exit, json, sorted_names_in, succeed, write_secret, Sandbox};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn inbox_dir(sandbox: &Sandbox, mode: u32) -> PathBuf {
    let dir = sandbox.dir().join("inbox");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

/// `inbox DIR --restart none --settle SETTLE --wait WAIT`, run by `icg` (the sandbox's plain or JSON command).
fn inbox(
    mut icg: assert_cmd::Command,
    dir: &Path,
    settle: &str,
    wait: &str,
) -> assert_cmd::Command {
    icg.arg("inbox")
        .arg(dir)
        .args(["--restart", "none", "--settle", settle, "--wait", wait]);
    icg
}

fn run_inbox(sandbox: &Sandbox, dir: &Path, extra: &[&str]) -> Output {
    inbox(sandbox.icg_json(), dir, "1", "20")
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn result_of(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn good_material_renews_and_is_filed_in_done_with_its_result() {
    let sandbox = Sandbox::new();
    let dir = inbox_dir(&sandbox, 0o700);
    std::fs::copy(sandbox.material(), dir.join("keystore.icg")).unwrap();
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["renew"]["result"], "renewed");
    assert_eq!(sorted_names_in(&dir), ["done"]);
    assert_eq!(
        sorted_names_in(&dir.join("done")),
        ["keystore.icg", "keystore.icg.json"]
    );
    let result = result_of(&dir.join("done/keystore.icg.json"));
    assert_eq!(result["result"], "renewed");
    assert_eq!(result["keystore"], sandbox.keystore().display().to_string());
    assert!(sandbox.days_left() > 300);
    assert_eq!(sandbox.backups().len(), 1);
    assert!(sandbox.keytool_list().status.success());
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(log.contains("command=inbox action=renewed"), "{log}");

    // Empty now: nothing to do.
    let again = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&again, 0);
    assert!(json(&again)["taken"].is_null());
}

#[test]
fn incompatible_material_is_filed_in_failed_and_changes_nothing() {
    let sandbox = Sandbox::new();
    let dir = inbox_dir(&sandbox, 0o700);
    let before = std::fs::read(sandbox.keystore()).unwrap();
    std::fs::copy(
        sandbox.root().join("incompatible/other-root.pem"),
        dir.join("gw.pem"),
    )
    .unwrap();
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 3);
    assert_eq!(
        sorted_names_in(&dir.join("failed")),
        ["gw.pem", "gw.pem.json"]
    );
    let result = result_of(&dir.join("failed/gw.pem.json"));
    assert_eq!(result["result"], "incompatible");
    assert!(result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "same-root" && c["status"] == "fail"));
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert!(sandbox.backups().is_empty());

    // Something that is no material at all: failed, with the error document.
    std::fs::write(dir.join("notes.txt"), b"not a certificate").unwrap();
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 1);
    let result = result_of(&dir.join("failed/notes.txt.json"));
    assert_eq!(result["kind"], "corrupt", "{result}");
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
}

#[test]
fn a_file_still_being_written_is_not_taken_until_it_has_settled() {
    let sandbox = Sandbox::new();
    let dir = inbox_dir(&sandbox, 0o700);
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let material = std::fs::read(sandbox.material()).unwrap();
    let target = dir.join("keystore.icg");
    // A slow copy: a chunk every 0.5 s for about 4 s.
    let chunk = material.len().div_ceil(8);
    let parts: Vec<Vec<u8>> = material.chunks(chunk).map(<[u8]>::to_vec).collect();
    let writer_target = target.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut file = std::fs::File::create(&writer_target).unwrap();
        for part in parts {
            file.write_all(&part).unwrap();
            file.flush().unwrap();
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let output = inbox(sandbox.icg_json(), &dir, "2", "2").output().unwrap();
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["still_being_written"], target.display().to_string());
    assert!(report["taken"].is_null());
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    writer.join().unwrap();
    assert_eq!(sorted_names_in(&dir), ["keystore.icg"], "left in place");

    // Once complete and settled, it is taken whole.
    let output = inbox(sandbox.icg_json(), &dir, "2", "20").output().unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        result_of(&dir.join("done/keystore.icg.json"))["result"],
        "renewed"
    );
    assert!(sandbox.days_left() > 300);
}

#[test]
fn a_password_beside_the_material_opens_it_and_must_be_private() {
    let sandbox = Sandbox::new();
    let dir = inbox_dir(&sandbox, 0o700);
    let p12 = sandbox.dir().join("gw.p12");
    succeed(
        Command::new("openssl")
            .args(["pkcs12", "-export", "-in"])
            .arg(sandbox.root().join("new/new-bundle.pem"))
            .args(["-passout", "pass:drop-secret", "-out"])
            .arg(&p12),
    );
    // Readable by others: refused, filed in failed/ with the reason.
    std::fs::copy(&p12, dir.join("open.p12")).unwrap();
    std::fs::write(dir.join("open.p12.password"), "drop-secret").unwrap();
    std::fs::set_permissions(
        dir.join("open.p12.password"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 2);
    let result = result_of(&dir.join("failed/open.p12.json"));
    assert!(
        result["error"].as_str().unwrap().contains("0600"),
        "{result}"
    );
    assert!(dir.join("failed/open.p12.password").exists());
    assert!(sandbox.days_left() < 30);

    std::fs::copy(&p12, dir.join("gw.p12")).unwrap();
    write_secret(&dir.join("gw.p12.password"), "drop-secret\n");
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 0);
    assert_eq!(
        sorted_names_in(&dir.join("done")),
        ["gw.p12", "gw.p12.json", "gw.p12.password"]
    );
    assert!(sandbox.days_left() > 300);
    let result = std::fs::read_to_string(dir.join("done/gw.p12.json")).unwrap();
    assert!(!result.contains("drop-secret"));
}

#[test]
fn older_material_is_superseded_by_the_newest() {
    let sandbox = Sandbox::new();
    let dir = inbox_dir(&sandbox, 0o700);
    std::fs::copy(
        sandbox.root().join("incompatible/other-root.pem"),
        dir.join("older.pem"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::copy(sandbox.material(), dir.join("newer.icg")).unwrap();
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 0);
    assert_eq!(
        result_of(&dir.join("done/newer.icg.json"))["result"],
        "renewed"
    );
    assert_eq!(
        result_of(&dir.join("failed/older.pem.json"))["result"],
        "superseded"
    );
}

#[test]
fn a_folder_others_can_write_to_and_a_second_run_are_refused() {
    let sandbox = Sandbox::new();
    let dir = inbox_dir(&sandbox, 0o777);
    std::fs::copy(sandbox.material(), dir.join("keystore.icg")).unwrap();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("writable by every user"));

    // Group-writable: only with --group naming that group.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
    let output = run_inbox(&sandbox, &dir, &[]);
    assert_exit(&output, 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--group"));
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);

    // Another run holds the folder.
    let held = std::fs::File::open(&dir).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let gid = std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&dir).unwrap()).to_string();
    let output = run_inbox(&sandbox, &dir, &["--group", &gid]);
    assert_exit(&output, 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("another icg-renew inbox"));
    drop(held);
    let output = run_inbox(&sandbox, &dir, &["--group", &gid]);
    assert_exit(&output, 0);
    assert!(sandbox.days_left() > 300);
}

#[test]
fn a_keystore_locked_by_another_icg_renew_is_waited_for_and_the_material_kept() {
    let sandbox = Sandbox::new();
    let dir = inbox_dir(&sandbox, 0o700);
    std::fs::copy(sandbox.material(), dir.join("keystore.icg")).unwrap();
    // The keystore lock a running `icg-renew renew` holds.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(sandbox.root().join("usg/keys/.keystore.jks.lock"))
        .unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let output = inbox(sandbox.icg(), &dir, "0", "2").output().unwrap();
    assert_exit(&output, 1);
    assert!(String::from_utf8_lossy(&output.stderr).contains("stays in the drop folder"));
    assert_eq!(sorted_names_in(&dir), ["keystore.icg"]);

    // Released while the inbox waits: it renews.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(lock);
    });
    let output = run_inbox(&sandbox, &dir, &[]);
    releaser.join().unwrap();
    assert_exit(&output, 0);
    assert!(sandbox.days_left() > 300);
}
