//! End-to-end renewals against real Apache Tomcat 10 as the gateway (tests/tomcat/): an instance per case,
//! its HTTPS connector configured from the installation's application-prod.yml as Spring Boot maps it,
//! restarted by icg-renew through `--restart-command` (catalina.sh stop/start). Each case asserts the exit
//! code, the JSON result, `downtime_ms`, and the certificate Tomcat actually serves afterwards. The cases
//! run one at a time (two JVMs at once would only slow each other) and print one summary line each.
//! Needs root (keystores and a service account as on a gateway). Ports 18420-18479.

mod account;
#[path = "sandbox/mod.rs"]
mod sandbox;
#[path = "tomcat/mod.rs"]
mod tomcat_instance;

use account::Account;
use sandbox::{failed_checks, json, succeed, Options, Sandbox};
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tomcat_instance::pki::{self, Issued, KeyType};
use tomcat_instance::{served_fingerprint, Tomcat};

/// The names of the sandbox's certificate, which new material must keep.
const SANDBOX_SANS: &str =
    "DNS:icg.sandbox.test,DNS:gateway.sandbox.test,IP:192.0.2.10,IP:127.0.0.1";
const SERVICE_ACCOUNT: &str = "icgtc13svc";

/// One case at a time: each starts its own JVM.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The case's turn (see `one_at_a_time`); returns from the test, after saying so, when not root.
macro_rules! root_case_turn {
    () => {{
        if !is_root() {
            eprintln!("SKIPPED: the Tomcat tests need root (keystores and a service account as on a gateway)");
            return;
        }
        one_at_a_time()
    }};
}

/// Ports of case `n`: HTTPS, Tomcat's shutdown port.
fn ports(n: u16) -> (u16, u16) {
    (18420 + n, 18450 + n)
}

/// `icg-renew --json --yes renew MATERIAL --restart-command …` against `tomcat`.
fn renew(install: &Sandbox, tomcat: &Tomcat, material: &Path) -> Output {
    install
        .icg_json()
        .args(["--yes", "renew"])
        .arg(material)
        .args(["--restart-command", &tomcat.restart_command()])
        .args(["--health-timeout", "90"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap()
}

fn rollback(install: &Sandbox, tomcat: &Tomcat) -> Output {
    install
        .icg_json()
        .args(["--yes", "rollback"])
        .args(["--restart-command", &tomcat.restart_command()])
        .args(["--health-timeout", "90"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap()
}

/// The CA of a sandbox made by `icg-renew sandbox`.
fn sandbox_ca(install: &Sandbox) -> Issued {
    Issued {
        cert: install.root().join("ca/root-ca.pem"),
        key: install.root().join("ca/root-ca.key"),
    }
}

/// New material: a leaf from `ca` for the sandbox's names with `key_usage`, as a PEM bundle with its root.
fn material(dir: &Path, ca: &Issued, name: &str, key_type: KeyType, key_usage: &str) -> PathBuf {
    let lines = pki::leaf_extensions(SANDBOX_SANS, key_usage, "serverAuth,clientAuth");
    let leaf = pki::issue(dir, ca, name, "icg.sandbox.test", key_type, 400, &lines);
    let bundle = dir.join(format!("{name}-bundle.pem"));
    pki::bundle(&leaf, &[&ca.cert], &bundle);
    bundle
}

fn fingerprint_of(pem: &Path) -> String {
    let cert = openssl::x509::X509::from_pem(&std::fs::read(pem).unwrap()).unwrap();
    let digest = cert.digest(openssl::hash::MessageDigest::sha256()).unwrap();
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn exit_code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}

/// What Tomcat serves, named for the summary.
fn served_name(port: u16, old: &str, new: &str) -> String {
    match served_fingerprint(port) {
        Some(fp) if fp == old => "the old certificate".into(),
        Some(fp) if fp == new => "the new certificate".into(),
        Some(fp) => format!("another certificate {fp}"),
        None => "nothing".into(),
    }
}

/// One summary line per case (shown with --nocapture, and in CI's log).
fn summary(case: &str, code: i32, report: &Value, served: &str, wall: Duration) {
    eprintln!(
        "tomcat case {case}: exit {code}, result {}, downtime_ms {}, serving {served} ({:.1} s)",
        report["result"],
        report["downtime_ms"],
        wall.as_secs_f64()
    );
}

/// A run of icg-renew against Tomcat as a case sees it, its summary line printed.
struct Case {
    code: i32,
    output: Output,
    report: Value,
    /// What Tomcat serves afterwards (`served_name`).
    served: String,
    wall: Duration,
}

/// Runs `run` as case `case` against the Tomcat on `port`, which served `old` before; `new` is the new
/// certificate's fingerprint, or `None` for the one the JSON report names.
fn run_case(
    case: &str,
    port: u16,
    old: &str,
    new: Option<&str>,
    run: impl FnOnce() -> Output,
) -> Case {
    let started = Instant::now();
    let output = run();
    let wall = started.elapsed();
    let report = json(&output);
    let new = match new {
        Some(new) => new.to_string(),
        None => report["new"]["sha256"].as_str().unwrap().to_string(),
    };
    let served = served_name(port, old, &new);
    let code = exit_code(&output);
    summary(case, code, &report, &served, wall);
    Case {
        code,
        output,
        report,
        served,
        wall,
    }
}

/// Asserts that the audit log has an `action` line with the report's `downtime`.
fn assert_audited_with_downtime(install: &Sandbox, action: &str, downtime: u64) {
    let audit = std::fs::read_to_string(install.log()).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains(&format!("action={action}"))
                && l.contains(&format!("downtime_ms={downtime}"))),
        "{audit}"
    );
}

/// Asserts a renewal that held: exit 0, the new certificate served, a downtime within the run.
fn assert_renewed(case: &str, install: &Sandbox, tomcat: &Tomcat, material: &Path) -> Value {
    let old = served_fingerprint(tomcat.port).expect("Tomcat serves before the renewal");
    let Case {
        code,
        output,
        report,
        served,
        wall,
    } = run_case(case, tomcat.port, &old, None, || {
        renew(install, tomcat, material)
    });
    assert_eq!(
        code,
        0,
        "{report}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        tomcat.log()
    );
    assert_eq!(report["result"], "renewed");
    assert_eq!(report["current"]["sha256"], old.as_str());
    assert_eq!(served, "the new certificate");
    let downtime = report["downtime_ms"].as_u64().expect("downtime_ms");
    assert!(
        downtime > 0 && (downtime as u128) < wall.as_millis(),
        "{downtime} ms in {wall:?}"
    );
    assert_audited_with_downtime(install, "renewed", downtime);
    report
}

/// An installation around a keystore made here (RSA or EC leaf from a fresh CA), its configuration naming
/// the store type, key alias and key password as Spring Boot reads them. Returns it with its CA.
fn custom_install(
    pki_dir: &Path,
    port: u16,
    key_type: KeyType,
    format: &str,
    key_password: Option<&str>,
) -> (Sandbox, Issued) {
    let store_password = "Store-pw-13";
    let ca = pki::root(pki_dir, "ICG Test Root CA");
    let lines = pki::leaf_extensions(
        SANDBOX_SANS,
        "digitalSignature,keyEncipherment",
        "serverAuth",
    );
    let leaf = pki::issue(
        pki_dir,
        &ca,
        "installed",
        "icg.sandbox.test",
        key_type,
        10,
        &lines,
    );
    let alias = "gateway-key";
    let made = pki::keystore(
        pki_dir,
        &ca,
        &leaf,
        format,
        alias,
        store_password,
        key_password.unwrap_or(store_password),
    );
    let install = Sandbox::around_keystore(&made, store_password, port);
    let yml = install.root().join("usg/conf/application-prod.yml");
    let mut text = std::fs::read_to_string(&yml).unwrap();
    text.push_str(&format!(
        "    key-store-type: {format}\n    key-alias: {alias}\n"
    ));
    if let Some(p) = key_password {
        text.push_str(&format!("    key-password: '{p}'\n"));
    }
    std::fs::write(&yml, text).unwrap();
    (install, ca)
}

fn yml(install: &Sandbox) -> PathBuf {
    install.root().join("usg/conf/application-prod.yml")
}

/// A sandbox installation with a JKS keystore whose gateway port is `port`.
fn jks_sandbox(port: u16) -> Sandbox {
    Sandbox::create(Options {
        port,
        pkcs12: false,
    })
}

/// Case `n`'s installation (JKS) behind its started Tomcat.
fn jks_behind_tomcat(n: u16) -> (Sandbox, Tomcat) {
    let (port, shutdown) = ports(n);
    let install = jks_sandbox(port);
    let tomcat = started_tomcat(&install, shutdown, None);
    (install, tomcat)
}

/// Tomcat configured from `install`'s YAML (run as `account`, or root), started.
fn started_tomcat(install: &Sandbox, shutdown: u16, account: Option<&str>) -> Tomcat {
    let tomcat = Tomcat::create(&yml(install), shutdown, account);
    tomcat.start();
    tomcat
}

#[test]
fn jks_renewal_then_rollback() {
    let _serial = root_case_turn!();
    let (install, tomcat) = jks_behind_tomcat(0);
    let port = tomcat.port;
    let old = served_fingerprint(port).unwrap();
    let report = assert_renewed("jks", &install, &tomcat, &install.material());
    let new = report["new"]["sha256"].as_str().unwrap().to_string();

    let back = run_case("rollback", port, &old, Some(&new), || {
        rollback(&install, &tomcat)
    });
    assert_eq!(back.code, 0, "{}\n{}", back.report, tomcat.log());
    assert_eq!(back.report["result"], "restored");
    assert_eq!(back.served, "the old certificate");
    let downtime = back.report["downtime_ms"]
        .as_u64()
        .expect("rollback's downtime_ms");
    assert!(downtime > 0 && (downtime as u128) < back.wall.as_millis());
}

#[test]
fn pkcs12_renewal() {
    let _serial = root_case_turn!();
    let (port, shutdown) = ports(1);
    let install = Sandbox::create(Options { port, pkcs12: true });
    let tomcat = started_tomcat(&install, shutdown, None);
    assert_renewed("pkcs12", &install, &tomcat, &install.material());
}

#[test]
fn jks_with_a_separate_key_password_and_alias() {
    let _serial = root_case_turn!();
    let (port, shutdown) = ports(2);
    let pki_dir = tempfile::tempdir().unwrap();
    let (install, ca) = custom_install(
        pki_dir.path(),
        port,
        KeyType::Rsa,
        "JKS",
        Some("Key-pw-other"),
    );
    let tomcat = started_tomcat(&install, shutdown, None);
    let new = material(
        pki_dir.path(),
        &ca,
        "new",
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
    );
    assert_renewed("jks-key-password", &install, &tomcat, &new);
    // The key still opens with its own password, as Tomcat just proved; keytool agrees.
    succeed(
        Process::new("keytool")
            .args([
                "-list",
                "-storepass",
                "Store-pw-13",
                "-alias",
                "gateway-key",
                "-keystore",
            ])
            .arg(install.keystore()),
    );
}

#[test]
fn ec_to_ec_in_pkcs12() {
    let _serial = root_case_turn!();
    let (port, shutdown) = ports(3);
    let pki_dir = tempfile::tempdir().unwrap();
    let (install, ca) = custom_install(pki_dir.path(), port, KeyType::Ec, "PKCS12", None);
    let tomcat = started_tomcat(&install, shutdown, None);
    let new = material(
        pki_dir.path(),
        &ca,
        "new-ec",
        KeyType::Ec,
        "digitalSignature",
    );
    let report = assert_renewed("ec-pkcs12", &install, &tomcat, &new);
    assert_eq!(
        report["new"]["sha256"],
        fingerprint_of(&pki_dir.path().join("new-ec.pem")).as_str()
    );
}

#[test]
fn a_certificate_clients_refuse_stops_with_exit_3_before_any_change() {
    let _serial = root_case_turn!();
    let (install, tomcat) = jks_behind_tomcat(4);
    let port = tomcat.port;
    let old = served_fingerprint(port).unwrap();
    let pid = tomcat.pid();
    let before = std::fs::read(install.keystore()).unwrap();
    let refused = material(
        install.dir(),
        &sandbox_ca(&install),
        "encipher-only",
        KeyType::Rsa,
        "keyEncipherment",
    );
    let Case {
        code,
        report,
        served,
        ..
    } = run_case("refused-key-usage", port, &old, Some(""), || {
        renew(&install, &tomcat, &refused)
    });
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["result"], "incompatible");
    assert_eq!(failed_checks(&report), ["key-usage"]);
    assert!(report["downtime_ms"].is_null());
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert!(install.backups().is_empty());
    assert_eq!(tomcat.pid(), pid, "Tomcat was restarted");
    assert_eq!(served, "the old certificate");
}

#[test]
fn a_restart_that_fails_once_rolls_back_with_exit_4() {
    let _serial = root_case_turn!();
    let (install, tomcat) = jks_behind_tomcat(5);
    let port = tomcat.port;
    let old = served_fingerprint(port).unwrap();
    let before = std::fs::read(install.keystore()).unwrap();
    tomcat.fail_next_restart();
    let Case {
        code,
        report,
        served,
        wall,
        ..
    } = run_case("restart-fails-once", port, &old, None, || {
        renew(&install, &tomcat, &install.material())
    });
    assert_eq!(code, 4, "{report}\n{}", tomcat.log());
    assert_eq!(report["result"], "rolled-back");
    assert_eq!(served, "the old certificate");
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    // The downtime runs from the failed restart until the old certificate is served again: it covers every
    // step from the first restart on.
    let downtime = report["downtime_ms"]
        .as_u64()
        .expect("downtime_ms after a rollback");
    let steps = report["steps"].as_array().unwrap();
    let first_restart = steps.iter().position(|s| s["name"] == "restart").unwrap();
    let after: u64 = steps[first_restart..]
        .iter()
        .map(|s| s["ms"].as_u64().unwrap())
        .sum();
    assert!(
        downtime >= after,
        "downtime {downtime} ms < {after} ms of steps from the first restart on"
    );
    assert!((downtime as u128) < wall.as_millis());
    assert_audited_with_downtime(&install, "rolled-back", downtime);
}

#[test]
fn a_keystore_owned_by_the_service_account_that_runs_tomcat() {
    let _serial = root_case_turn!();
    let (port, shutdown) = ports(6);
    let account = Account::create(SERVICE_ACCOUNT);
    let install = jks_sandbox(port);
    // As on a gateway: root's directories the account can enter, a keystore the account owns (0640).
    for dir in [
        install.dir(),
        install.root(),
        &install.root().join("usg"),
        &install.root().join("usg/keys"),
    ] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let keystore = install.keystore();
    succeed(
        Process::new("chown")
            .arg(format!("{}:{}", account.name, account.name))
            .arg(&keystore),
    );
    std::fs::set_permissions(&keystore, std::fs::Permissions::from_mode(0o640)).unwrap();
    let owner = std::fs::metadata(&keystore).unwrap().uid();
    let tomcat = started_tomcat(&install, shutdown, Some(account.name));
    let tomcat_uid = std::fs::metadata(format!("/proc/{}", tomcat.pid().unwrap()))
        .unwrap()
        .uid();
    assert_eq!(tomcat_uid, owner, "Tomcat runs as the service account");
    assert_renewed("service-account", &install, &tomcat, &install.material());
    let meta = std::fs::metadata(&keystore).unwrap();
    assert_eq!(meta.uid(), owner);
    assert_eq!(meta.mode() & 0o7777, 0o640);
    drop(tomcat);
}

/// Case `n`'s JKS installation behind a started Tomcat whose connector has `certificateVerification`.
fn jks_behind_tomcat_verifying(n: u16, verification: &str) -> (Sandbox, Tomcat) {
    let (port, shutdown) = ports(n);
    let install = jks_sandbox(port);
    let tomcat = Tomcat::create_with_client_auth(&yml(&install), shutdown, None, verification);
    tomcat.start();
    (install, tomcat)
}

fn confirm_detail(report: &Value) -> String {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "confirm")
        .and_then(|s| s["detail"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Devices present a client certificate after enrolment, so the ICG's connector asks for one. With
/// `optional`, icg-renew's probe (which has none) still completes: check-status is read (`ok`) and the
/// verifying TLS 1.3 and 1.2 handshakes are made. Fails on the main before issue 21 (no `icg_status`).
#[test]
fn a_connector_that_asks_for_a_client_certificate_is_confirmed_in_full() {
    let _serial = root_case_turn!();
    let (install, tomcat) = jks_behind_tomcat_verifying(7, "optional");
    let report = assert_renewed(
        "client-auth-optional",
        &install,
        &tomcat,
        &install.material(),
    );
    assert_eq!(report["icg_status"]["before"], "ok", "{report}");
    assert_eq!(report["icg_status"]["after"], "ok", "{report}");
    let detail = confirm_detail(&report);
    assert!(detail.contains("the ICG says ok"), "{detail}");
}

/// A connector that requires a client certificate cannot be asked for check-status nor verified by a client
/// without one: the renewal is confirmed by the certificate it serves alone, and the output says so. Fails
/// on the main before issue 21, whose check-status request failed and so timed out and rolled back.
#[test]
fn a_connector_that_requires_a_client_certificate_is_confirmed_by_its_served_certificate() {
    let _serial = root_case_turn!();
    let (install, tomcat) = jks_behind_tomcat_verifying(8, "required");
    let old = served_fingerprint(tomcat.port).unwrap();
    let case = run_case("client-auth-required", tomcat.port, &old, None, || {
        renew(&install, &tomcat, &install.material())
    });
    assert_eq!(case.code, 0, "{}\n{}", case.report, tomcat.log());
    assert_eq!(case.served, "the new certificate");
    assert!(case.report["icg_status"]["after"].is_null());
    let detail = confirm_detail(&case.report);
    assert!(
        detail.contains("confirmed by the served certificate alone"),
        "{detail}"
    );
    let stderr = String::from_utf8_lossy(&case.output.stderr);
    assert!(stderr.contains("requires a client certificate"), "{stderr}");
}

/// The webapp's check-status says `init` for 8 s after each start, then `err`: the renewal waits through
/// `init`, takes the `err` as the ICG's rejection and rolls back; the restore puts back what was served
/// before and accepts the settled verdict (Tomcat says `err` for any certificate here). Exit 4, the old
/// certificate served. Fails on the main before issue 21, which took the first HTTP 200 as success.
#[test]
fn a_tomcat_gateway_that_says_err_after_init_is_rolled_back() {
    let _serial = root_case_turn!();
    let (install, tomcat) = jks_behind_tomcat(9);
    let old = served_fingerprint(tomcat.port).unwrap();
    let before = std::fs::read(install.keystore()).unwrap();
    tomcat.set_init_period(Duration::from_secs(8));
    tomcat.set_status("err");
    let case = run_case("says-err", tomcat.port, &old, None, || {
        renew(&install, &tomcat, &install.material())
    });
    assert_eq!(case.code, 4, "{}\n{}", case.report, tomcat.log());
    assert_eq!(case.report["result"], "rolled-back");
    assert!(
        case.report["error"]
            .as_str()
            .unwrap()
            .contains("the ICG itself says err"),
        "{}",
        case.report
    );
    assert_eq!(case.served, "the old certificate");
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert!(case.wall >= Duration::from_secs(8), "{:?}", case.wall);
}
