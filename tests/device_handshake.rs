//! The confirmation's verifying handshake (`service::probe` with an anchor) against `openssl s_server` as the
//! gateway: it accepts a good chain with TLS 1.3 and 1.2, accepts a TLS 1.2-only gateway, and refuses (at
//! once, without waiting for the timeout) a gateway whose certificate a device refuses: another root, extended
//! key usage clientAuth only, RSA with keyEncipherment only. And end to end: a renewal whose gateway serves
//! the new leaf without its intermediate is rolled back (exit 4). The ICG's verdict from check-status (set
//! per test in the s_server's www/usg/check-status) is judged: `err` fails at once, `warn` waits unless
//! accepted, `init` waits; a gateway that asks for a client certificate is probed in full, one that requires
//! it is confirmed by its served leaf alone. Ports 18409-18419.

#[path = "tomcat/pki.rs"]
mod pki;

use icg_renew::service::{self, Confirmed, IcgStatus, Observation, StatusAnswer, Verdicts};
use openssl::hash::MessageDigest;
use pki::{issue, leaf_extensions, root, Issued, KeyType};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `openssl s_server` serving `leaf` (and `chain`) on 127.0.0.1:`port`, answering 200 for
/// /usg/check-status; killed when dropped.
struct SServer(Child);

impl SServer {
    fn start(dir: &Path, leaf: &Issued, port: u16, extra: &[&str]) -> SServer {
        std::fs::create_dir_all(dir.join("www/usg")).unwrap();
        std::fs::write(dir.join("www/usg/check-status"), "{\"status\":\"ok\"}\n").unwrap();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&leaf.cert)
            .arg("-key")
            .arg(&leaf.key)
            .args(extra)
            .current_dir(dir.join("www"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = SServer(child);
        wait_until_listening(port, Duration::from_secs(10), "s_server did not listen");
        server
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port`; fails with `failure` after `limit`.
fn wait_until_listening(port: u16, limit: Duration, failure: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < limit, "{failure}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fingerprint(issued: &Issued) -> String {
    let digest = issued.x509().digest(MessageDigest::sha256()).unwrap();
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn leaf(dir: &Path, ca: &Issued, key_type: KeyType, key_usage: &str, eku: &str) -> Issued {
    let lines = leaf_extensions("DNS:icg.example.test,IP:127.0.0.1", key_usage, eku);
    issue(dir, ca, "leaf", "icg.example.test", key_type, 365, &lines)
}

/// A gateway on 127.0.0.1:`port` (`openssl s_server` with `extra`) serving a leaf for icg.example.test
/// issued by a root of its own.
struct Gateway {
    _server: SServer,
    ca: Issued,
    leaf: Issued,
    dir: tempfile::TempDir,
}

impl Gateway {
    fn serve(port: u16, key_type: KeyType, key_usage: &str, eku: &str, extra: &[&str]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let ca = root(dir.path(), "root");
        let leaf = leaf(dir.path(), &ca, key_type, key_usage, eku);
        let server = SServer::start(dir.path(), &leaf, port, extra);
        Gateway {
            _server: server,
            ca,
            leaf,
            dir,
        }
    }
}

#[test]
fn a_good_chain_is_accepted_with_tls_1_3_and_1_2() {
    let gw = Gateway::serve(18410, KeyType::Ec, "digitalSignature", "serverAuth", &[]);
    assert_eq!(
        service::probe(
            18410,
            &fingerprint(&gw.leaf),
            Verdicts::Ok { warn_ok: false },
            Some(&gw.ca.x509())
        ),
        Observation::Good(Confirmed {
            status: Some(IcgStatus::Ok),
            served_certificate_only: false
        })
    );
    assert_eq!(
        service::verify_as_a_device(18410, &gw.ca.x509()).unwrap(),
        ["TLS 1.3", "TLS 1.2"]
    );
}

#[test]
fn a_tls_1_2_only_gateway_is_accepted_with_tls_1_2() {
    let gw = Gateway::serve(
        18411,
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
        "serverAuth",
        &["-tls1_2"],
    );
    assert_eq!(
        service::verify_as_a_device(18411, &gw.ca.x509()).unwrap(),
        ["TLS 1.2"]
    );
}

/// Probes a gateway serving `served` with `anchor` and expects a refusal mentioning `why`, reported at once.
fn assert_refused(port: u16, served: &Issued, anchor: &Issued, why: &str) {
    let started = Instant::now();
    let seen = service::wait_until_served(
        port,
        &fingerprint(served),
        Verdicts::Ok { warn_ok: false },
        Some(&anchor.x509()),
        Duration::from_secs(30),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the refusal waited {:?}",
        started.elapsed()
    );
    match &seen {
        Observation::Refused(detail) => assert!(detail.contains(why), "{detail}"),
        other => panic!("expected a refusal, saw {other:?}"),
    }
}

#[test]
fn a_chain_from_another_root_is_refused() {
    let gw = Gateway::serve(
        18412,
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
        "serverAuth",
        &[],
    );
    let other = root(gw.dir.path(), "other");
    assert_refused(
        18412,
        &gw.leaf,
        &other,
        "does not verify up to the installed root",
    );
}

#[test]
fn a_client_auth_only_certificate_is_refused() {
    let gw = Gateway::serve(
        18413,
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
        "clientAuth",
        &[],
    );
    assert_refused(18413, &gw.leaf, &gw.ca, "purpose");
}

#[test]
fn an_rsa_certificate_that_may_not_sign_is_refused() {
    let gw = Gateway::serve(18414, KeyType::Rsa, "keyEncipherment", "serverAuth", &[]);
    assert_refused(18414, &gw.leaf, &gw.ca, "digitalSignature");
}

// The `openssl s_server` gateway answers check-status with the verdict a test writes into its
// www/usg/check-status; one that asks for a client certificate with -verify, one that requires it with -Verify.

impl Gateway {
    fn say(&self, verdict: &str) {
        std::fs::write(
            self.dir.path().join("www/usg/check-status"),
            format!("{{\"status\":\"{verdict}\"}}\n"),
        )
        .unwrap();
    }
}

#[test]
fn the_verdict_is_read_and_judged_err_fails_warn_waits_unless_accepted() {
    let gw = Gateway::serve(18417, KeyType::Ec, "digitalSignature", "serverAuth", &[]);
    let fp = fingerprint(&gw.leaf);
    let strict = Verdicts::Ok { warn_ok: false };
    gw.say("err");
    let look = service::look(18417, Duration::from_secs(3)).unwrap();
    assert_eq!(look.status, StatusAnswer::Said(IcgStatus::Err));
    assert_eq!(
        service::probe(18417, &fp, strict, Some(&gw.ca.x509())),
        Observation::Rejected
    );
    gw.say("warn");
    assert!(matches!(
        service::probe(18417, &fp, strict, Some(&gw.ca.x509())),
        Observation::Waiting {
            status: Some(IcgStatus::Warn),
            ..
        }
    ));
    assert_eq!(
        service::probe(
            18417,
            &fp,
            Verdicts::Ok { warn_ok: true },
            Some(&gw.ca.x509())
        ),
        Observation::Good(Confirmed {
            status: Some(IcgStatus::Warn),
            served_certificate_only: false
        })
    );
    gw.say("init");
    assert!(matches!(
        service::probe(18417, &fp, Verdicts::Settled, None),
        Observation::Waiting {
            status: Some(IcgStatus::Init),
            ..
        }
    ));
}

#[test]
fn a_gateway_that_asks_for_a_client_certificate_is_still_probed_in_full() {
    let gw = Gateway::serve(
        18418,
        KeyType::Ec,
        "digitalSignature",
        "serverAuth",
        &["-verify", "1"],
    );
    assert_eq!(
        service::probe(
            18418,
            &fingerprint(&gw.leaf),
            Verdicts::Ok { warn_ok: false },
            Some(&gw.ca.x509())
        ),
        Observation::Good(Confirmed {
            status: Some(IcgStatus::Ok),
            served_certificate_only: false
        })
    );
}

#[test]
fn a_gateway_that_requires_a_client_certificate_is_confirmed_by_its_leaf_with_tls_1_3_and_1_2() {
    for (port, extra) in [
        (18419, &["-Verify", "1"][..]),
        (18409, &["-Verify", "1", "-tls1_2"][..]),
    ] {
        let gw = Gateway::serve(port, KeyType::Ec, "digitalSignature", "serverAuth", extra);
        let look = service::look(port, Duration::from_secs(3)).unwrap();
        assert_eq!(
            look.status,
            StatusAnswer::ClientCertificateRequired,
            "{extra:?}"
        );
        assert_eq!(
            look.leaf.to_der().unwrap(),
            gw.leaf.x509().to_der().unwrap()
        );
        assert_eq!(
            service::probe(
                port,
                &fingerprint(&gw.leaf),
                Verdicts::Ok { warn_ok: false },
                Some(&gw.ca.x509())
            ),
            Observation::Good(Confirmed {
                status: None,
                served_certificate_only: true
            }),
            "{extra:?}"
        );
    }
}

// A refusal in the confirmation is a failed renewal: rolled back, exit 4.

#[path = "sandbox/mod.rs"]
mod sandbox;

const SANDBOX_SANS: &str =
    "DNS:icg.sandbox.test,DNS:gateway.sandbox.test,IP:192.0.2.10,IP:127.0.0.1";

/// Renews `install` (whose root is `ca`) with a leaf from a new intermediate, behind a gateway that serves
/// the keystore's leaf without its intermediates (tests/tomcat/leaf-only-server.sh) on `port`. Asserts that
/// the renewal was rolled back with exit 4 and the keystore is as before afterwards; returns the JSON report.
fn renew_behind_a_leaf_only_gateway(
    install: &sandbox::Sandbox,
    ca: &Issued,
    port: u16,
) -> serde_json::Value {
    let inter = issue(
        install.dir(),
        ca,
        "inter",
        "ICG Sandbox Issuing CA",
        KeyType::Rsa,
        800,
        &[
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    let lines = leaf_extensions(
        SANDBOX_SANS,
        "digitalSignature,keyEncipherment",
        "serverAuth",
    );
    let new = issue(
        install.dir(),
        &inter,
        "new",
        "icg.sandbox.test",
        KeyType::Rsa,
        400,
        &lines,
    );
    let material = install.dir().join("new-bundle.pem");
    pki::bundle(&new, &[&inter.cert, &ca.cert], &material);

    let state = install.dir().join("gateway");
    std::fs::create_dir(&state).unwrap();
    let restart = format!(
        "sh {}/tests/tomcat/leaf-only-server.sh {} {} {} {port}",
        env!("CARGO_MANIFEST_DIR"),
        state.display(),
        install.keystore().display(),
        install.password_file().display()
    );
    let start = Command::new("sh").arg("-c").arg(&restart).status().unwrap();
    assert!(start.success());
    let _server = KillOnDrop(state.join("pid"));
    wait_until_listening(port, Duration::from_secs(20), "the gateway did not start");
    let before = std::fs::read(install.keystore()).unwrap();
    let output = install
        .icg_json()
        .args(["--yes", "renew"])
        .arg(&material)
        .args(["--restart-command", &restart, "--health-timeout", "60"])
        .output()
        .unwrap();
    let report = sandbox::json(&output);
    assert_eq!(std::fs::read(install.keystore()).unwrap(), before);
    assert_eq!(output.status.code().unwrap(), 4, "{report}");
    assert_eq!(report["result"], "rolled-back");
    report
}

#[test]
fn a_gateway_that_serves_the_new_leaf_without_its_intermediate_is_rolled_back_with_exit_4() {
    let port = 18415;
    let install = sandbox::Sandbox::with_port(port);
    let ca = Issued {
        cert: install.root().join("ca/root-ca.pem"),
        key: install.root().join("ca/root-ca.key"),
    };
    let report = renew_behind_a_leaf_only_gateway(&install, &ca, port);
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("verifying client refuses"), "{error}");
    assert!(error.contains("installed root"), "{error}");
    assert!(report["downtime_ms"].as_u64().is_some(), "{report}");
    let audit = std::fs::read_to_string(install.log()).unwrap();
    assert!(audit.contains("action=rolled-back"), "{audit}");
}

/// Renewing is most needed when the installed certificate has expired. Devices refuse that one too, so the
/// restored certificate is confirmed by fingerprint and check-status only: the rollback holds (exit 4, not 5).
#[test]
fn a_refused_renewal_of_an_expired_certificate_still_rolls_back_with_exit_4() {
    let port = 18416;
    let pki_dir = tempfile::tempdir().unwrap();
    let ca = root(pki_dir.path(), "ICG Test Root CA");
    let old = pki::expired_leaf(pki_dir.path(), &ca, "old", "icg.sandbox.test", SANDBOX_SANS);
    let keystore = pki::keystore(
        pki_dir.path(),
        &ca,
        &old,
        "JKS",
        "icg",
        "Store-pw-13",
        "Store-pw-13",
    );
    let install = sandbox::Sandbox::around_keystore(&keystore, "Store-pw-13", port);
    let report = renew_behind_a_leaf_only_gateway(&install, &ca, port);
    assert!(
        report["current"]["days_left"].as_i64().unwrap() < 0,
        "{report}"
    );
}

/// Kills the pid named in a file when dropped.
struct KillOnDrop(std::path::PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}
