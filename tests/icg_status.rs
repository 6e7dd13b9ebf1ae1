//! What the gateway itself says: the confirmation reads the ICG's `/usg/check-status` verdict
//! (`init|ok|warn|err`) before the change and after the restart, end to end from the built binary against the
//! JVM stand-in gateway (tests/java/IcgStandIn.java), whose verdict each test sets per served certificate.
//!
//! Each of these fails on the main before issue 21, which took any HTTP 200 as health: `err` and `warn` for
//! the new certificate were "renewed", `init` was confirmed at once, a 404 timed out and rolled back, and
//! neither `icg_status` nor `--allow-no-ums` existed.

mod gateway;
mod sandbox;

use gateway::{free_port, Gateway};
use sandbox::{assert_exit, json, Options, Sandbox};
use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};

fn sandbox() -> Sandbox {
    Sandbox::create(Options {
        port: free_port(),
        pkcs12: false,
    })
}

/// The new material's leaf SHA-256, as `verify` reports it.
fn new_fingerprint(install: &Sandbox) -> String {
    let output = install
        .icg_json()
        .arg("verify")
        .arg(install.material())
        .output()
        .unwrap();
    assert_exit(&output, 0);
    json(&output)["new"]["sha256"].as_str().unwrap().to_string()
}

/// `renew --json` with the gateway's restart command, `--health-timeout SECONDS` and `extra`; the time it took.
fn renew(install: &Sandbox, gateway: &Gateway, seconds: u64, extra: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = install
        .icg_json()
        .timeout(Duration::from_secs(180))
        .arg("renew")
        .arg(install.material())
        .args([
            "--restart-command",
            &gateway.restart_command(),
            "--health-timeout",
            &seconds.to_string(),
        ])
        .args(extra)
        .output()
        .unwrap();
    (output, started.elapsed())
}

fn icg_status(report: &Value) -> (Value, Value) {
    (
        report["icg_status"]["before"].clone(),
        report["icg_status"]["after"].clone(),
    )
}

/// Rolled back (exit 4), the keystore byte for byte as before, and the gateway serving `old` again.
fn assert_rolled_back_to(
    output: &Output,
    install: &Sandbox,
    gateway: &Gateway,
    before: &[u8],
    old: &str,
) -> Value {
    assert_exit(output, 4);
    let report = json(output);
    assert_eq!(report["result"], "rolled-back", "{report}");
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(old));
    report
}

#[test]
fn err_for_the_new_certificate_is_a_failed_confirmation_and_rolls_back_at_once() {
    let install = sandbox();
    let gateway = Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    );
    let old = gateway.served_fingerprint().unwrap();
    let new = new_fingerprint(&install);
    gateway.set_status(&new, "err");
    let before = std::fs::read(install.keystore()).unwrap();

    let (output, took) = renew(&install, &gateway, 60, &[]);
    let report = assert_rolled_back_to(&output, &install, &gateway, &before, &old);
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("the ICG itself says err"), "{error}");
    assert_eq!(icg_status(&report), ("ok".into(), "ok".into()));
    // `err` ends the wait: far from the 60 s the timeout allows.
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[test]
fn init_is_waited_through_and_only_ok_confirms() {
    let install = sandbox();
    let gateway = Gateway::start_with_init(
        &install.keystore(),
        &install.password_file(),
        install.port(),
        Duration::from_secs(8),
    );
    let new = new_fingerprint(&install);
    let given_before = gateway.verdicts_given().len();

    let (output, took) = renew(&install, &gateway, 60, &[]);
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "renewed");
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(new.as_str()));
    assert_eq!(icg_status(&report).1, "ok");
    // After the restart the stand-in said init for 8 s, then ok: the renewal waited for the ok.
    let after_restart: Vec<String> = gateway.verdicts_given().split_off(given_before + 1);
    assert!(
        after_restart.first().map(String::as_str) == Some("init")
            && after_restart.last().map(String::as_str) == Some("ok"),
        "{after_restart:?}"
    );
    assert!(took >= Duration::from_secs(8), "took {took:?}");
}

#[test]
fn warn_before_and_after_is_accepted() {
    let install = sandbox();
    let gateway = Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    );
    gateway.set_status("*", "warn");
    let new = new_fingerprint(&install);

    let (output, _) = renew(&install, &gateway, 60, &[]);
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "renewed");
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(new.as_str()));
    assert_eq!(icg_status(&report), ("warn".into(), "warn".into()));
}

#[test]
fn ok_before_and_warn_after_waits_until_the_deadline_then_rolls_back() {
    let install = sandbox();
    let gateway = Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    );
    let old = gateway.served_fingerprint().unwrap();
    let new = new_fingerprint(&install);
    gateway.set_status(&new, "warn");
    let before = std::fs::read(install.keystore()).unwrap();

    let (output, took) = renew(&install, &gateway, 10, &[]);
    let report = assert_rolled_back_to(&output, &install, &gateway, &before, &old);
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("within 10 s") && error.contains("no UMS server connected"),
        "{error}"
    );
    assert_eq!(icg_status(&report), ("ok".into(), "ok".into()));
    assert!(took >= Duration::from_secs(10), "took {took:?}");
}

#[test]
fn allow_no_ums_accepts_warn_after_ok() {
    let install = sandbox();
    let gateway = Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    );
    let new = new_fingerprint(&install);
    gateway.set_status(&new, "warn");

    let (output, _) = renew(&install, &gateway, 60, &["--allow-no-ums"]);
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "renewed");
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(new.as_str()));
    assert_eq!(icg_status(&report), ("ok".into(), "warn".into()));
    // The undo line carries the option, so that undoing does not wait for a UMS either.
    assert!(
        report["plan"]["undo"]
            .as_str()
            .unwrap()
            .contains("--allow-no-ums"),
        "{report}"
    );
}

#[test]
fn an_icg_without_the_endpoint_is_confirmed_by_certificate_and_handshake_and_says_so_once() {
    let install = sandbox();
    let gateway = Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    );
    gateway.set_status("*", "404");
    let new = new_fingerprint(&install);

    let (output, _) = renew(&install, &gateway, 60, &[]);
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "renewed");
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(new.as_str()));
    assert_eq!(icg_status(&report), (Value::Null, Value::Null));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("has no /usg/check-status").count(),
        1,
        "{stderr}"
    );
    let confirm = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "confirm")
        .unwrap();
    assert!(
        confirm["detail"]
            .as_str()
            .unwrap()
            .contains("without check-status"),
        "{confirm}"
    );
}

#[test]
fn a_rollback_to_a_certificate_the_icg_says_err_for_is_not_a_success() {
    let install = sandbox();
    let gateway = Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    );
    let old = gateway.served_fingerprint().unwrap();
    let (output, _) = renew(&install, &gateway, 60, &[]);
    assert_exit(&output, 0);
    assert_eq!(icg_status(&json(&output)), ("ok".into(), "ok".into()));
    // The old certificate is refused by the ICG now: the rollback must not call that a success.
    gateway.set_status(&old, "err");
    let output = install
        .icg_json()
        .timeout(Duration::from_secs(120))
        .args([
            "rollback",
            "--restart-command",
            &gateway.restart_command(),
            "--health-timeout",
            "60",
        ])
        .output()
        .unwrap();
    assert_exit(&output, 5);
    let report = json(&output);
    assert_eq!(report["result"], "failed", "{report}");
    assert_eq!(icg_status(&report), ("ok".into(), "err".into()));
    assert!(
        report["error"].as_str().unwrap().contains("says err"),
        "{report}"
    );

    // The backup is the keystore again; the gateway serves it and keeps saying err.
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(old.as_str()));
}
