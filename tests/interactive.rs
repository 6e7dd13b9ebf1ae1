//! The operator's flow on a real pseudo-terminal (rexpect): choosing the material from the list, typing a
//! password (wrong, then right), confirming or declining, a failing check ending the flow, and a renewal
//! against the stand-in gateway with live progress. Asserts the text a person reads, and the files.

mod gateway;
mod sandbox;

use gateway::{free_port, manifest_dir, Gateway};
use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};
use sandbox::Sandbox;
use std::path::Path;
use std::process::Command;

const TIMEOUT_MS: u64 = 60_000;
/// The question after the checks (issue 24); Enter takes its default, now.
const WHEN: &str = "Renew now, or at a time you choose?";

/// icg-renew on a terminal, started in `cwd`, with the sandbox as the installation.
fn spawn(sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> PtySession {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("icg-renew"));
    cmd.current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("SUDO_USER")
        .env("TERM", "xterm")
        .args(sandbox.args())
        .args(args);
    spawn_command(cmd, Some(TIMEOUT_MS)).unwrap()
}

/// Waits for `prompt`, gives the prompt time to switch the terminal to reading keys, then types `keys`.
/// (Keys that arrive before that sit in the line buffer and are never seen as single key presses.)
fn answer(session: &mut PtySession, prompt: &str, keys: &str) {
    session.exp_string(prompt).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    session.send(keys).unwrap();
    session.flush().unwrap();
}

fn exit_code(session: &mut PtySession) -> i32 {
    let _ = session.exp_eof();
    match session.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("unexpected end: {other:?}"),
    }
}

#[test]
fn the_happy_path_chooses_the_material_from_the_list_and_renews() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let mut p = spawn(
        &sandbox,
        &sandbox.root().join("new"),
        &["renew", "--restart", "none"],
    );
    p.exp_string("Installed certificate in").unwrap();
    p.exp_string("CN=icg.sandbox.test").unwrap();
    p.exp_string("Which file holds the new certificate?")
        .unwrap();
    p.exp_string("keystore.icg").unwrap();
    answer(&mut p, "Type a path", "\r"); // the first, newest candidate
    p.exp_string("Compatible: every check passed.").unwrap();
    answer(&mut p, WHEN, "\r");
    p.exp_string("Backup to").unwrap();
    answer(&mut p, "Replace the keystore now?", "y");
    p.exp_string("backup").unwrap();
    p.exp_string("Renewed:").unwrap();
    // Printed with the binary as invoked: the test binary is not on PATH.
    p.exp_string("To undo: ").unwrap();
    p.exp_string("icg-renew --icg-root").unwrap();
    assert_eq!(exit_code(&mut p), 0);
    assert_ne!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert_eq!(sandbox.backups().len(), 1);
}

#[test]
fn a_wrong_password_is_said_and_asked_again() {
    let sandbox = Sandbox::new();
    let material = manifest_dir().join("fixtures/new-rsa.p12");
    // The fixture is from another root: only the password handling is under test here, so verify suffices.
    let mut p = spawn(
        &sandbox,
        sandbox.root(),
        &["verify", material.to_str().unwrap()],
    );
    answer(&mut p, "Password of", "not-the-password\r");
    p.exp_string("wrong password for").unwrap();
    let right = std::fs::read_to_string(manifest_dir().join("fixtures/new.pass")).unwrap();
    answer(&mut p, "Password of", &format!("{right}\r"));
    p.exp_string("same-root").unwrap();
    p.exp_string("INCOMPATIBLE").unwrap();
    assert_eq!(exit_code(&mut p), 3);
}

#[test]
fn declining_the_final_confirmation_changes_nothing() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let material = sandbox.material();
    let mut p = spawn(
        &sandbox,
        sandbox.root(),
        &[
            "renew",
            material.to_str().unwrap(),
            "--restart-command",
            "true",
        ],
    );
    answer(&mut p, WHEN, "\r");
    p.exp_string("Expected interruption: the ICG takes 10-15 s to start")
        .unwrap();
    answer(&mut p, "Replace the keystore and restart the ICG now?", "n");
    p.exp_string("not confirmed: nothing was changed").unwrap();
    assert_eq!(exit_code(&mut p), 1);
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert_eq!(sandbox.backups().len(), 0);
}

#[test]
fn a_failing_check_ends_the_flow_with_what_to_do() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let material = sandbox.root().join("incompatible/missing-ip.pem");
    let mut p = spawn(
        &sandbox,
        sandbox.root(),
        &["renew", material.to_str().unwrap(), "--restart", "none"],
    );
    p.exp_string("FAIL").unwrap();
    p.exp_string("the new certificate lacks IP 192.0.2.10; create it in the UMS with the same host names and IP addresses").unwrap();
    p.exp_string("INCOMPATIBLE").unwrap();
    let rest = p.exp_eof().unwrap();
    assert!(!rest.contains("Replace the keystore"), "{rest}");
    assert_eq!(exit_code(&mut p), 3);
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert_eq!(sandbox.backups().len(), 0);
}

#[test]
fn a_renewal_on_a_running_gateway_shows_the_wait_and_the_summary() {
    let port = free_port();
    let sandbox = Sandbox::with_port(port);
    let gateway = Gateway::start(&sandbox.keystore(), &sandbox.password_file(), port);
    let material = sandbox.material();
    let mut p = spawn(
        &sandbox,
        sandbox.root(),
        &[
            "renew",
            material.to_str().unwrap(),
            "--restart-command",
            &gateway.restart_command(),
        ],
    );
    answer(&mut p, WHEN, "\r");
    answer(&mut p, "Replace the keystore and restart the ICG now?", "y");
    p.exp_string("restart").unwrap();
    p.exp_string("confirm").unwrap();
    p.exp_string("Renewed:").unwrap();
    p.exp_string("The gateway serves it; it was unreachable for")
        .unwrap();
    p.exp_string("Next renewal due in 364 days.").unwrap();
    assert_eq!(exit_code(&mut p), 0);
    let served = gateway.served_fingerprint().unwrap();
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(
        log.contains(&format!("action=confirmed sha256={served}")),
        "{log}"
    );
}

#[test]
fn the_list_offers_the_certificate_signed_for_the_pending_request_first() {
    let sandbox = Sandbox::new();
    let csr = sandbox.root().join("request.csr");
    let made = sandbox
        .icg()
        .arg("csr")
        .arg("--out")
        .arg(&csr)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let signed = sandbox.root().join("new/signed.pem");
    sandbox.sign_request(&csr, &signed);
    let mut p = spawn(
        &sandbox,
        &sandbox.root().join("new"),
        &["renew", "--restart", "none"],
    );
    p.exp_string("Which file holds the new certificate?")
        .unwrap();
    let listed = p.exp_string("Type a path").unwrap();
    let first = listed
        .lines()
        .find(|l| l.contains(".pem") || l.contains(".icg"))
        .unwrap_or_default()
        .to_string();
    assert!(
        first.contains("signed.pem") && first.contains("signed for the pending request"),
        "{listed}"
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_string("the pending key from icg-renew csr").unwrap();
    answer(&mut p, WHEN, "\r");
    answer(&mut p, "Replace the keystore now?", "y");
    p.exp_string("Renewed:").unwrap();
    assert_eq!(exit_code(&mut p), 0);
    assert!(!sandbox.pending().exists());
}
