//! The confirmation's verifying handshake (`service::probe` with an anchor) against `openssl s_server` as the
//! gateway: it accepts a good chain with TLS 1.3 and 1.2, accepts a TLS 1.2-only gateway, and refuses (at
//! once, without waiting for the timeout) a gateway whose certificate a device refuses: another root, extended
//! key usage clientAuth only, RSA with keyEncipherment only. Ports 18410-18419.

#[path = "tomcat/pki.rs"]
mod pki;

use icg_renew::service::{self, Observation};
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
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "s_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
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
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    issue(dir, ca, "leaf", "icg.example.test", key_type, 365, &lines)
}

#[test]
fn a_good_chain_is_accepted_with_tls_1_3_and_1_2() {
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    let good = leaf(
        dir.path(),
        &ca,
        KeyType::Ec,
        "digitalSignature",
        "serverAuth",
    );
    let _server = SServer::start(dir.path(), &good, 18410, &[]);
    assert_eq!(
        service::probe(18410, &fingerprint(&good), Some(&ca.x509())),
        Observation::Good
    );
    assert_eq!(
        service::verify_as_a_device(18410, &ca.x509()).unwrap(),
        ["TLS 1.3", "TLS 1.2"]
    );
}

#[test]
fn a_tls_1_2_only_gateway_is_accepted_with_tls_1_2() {
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    let good = leaf(
        dir.path(),
        &ca,
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
        "serverAuth",
    );
    let _server = SServer::start(dir.path(), &good, 18411, &["-tls1_2"]);
    assert_eq!(
        service::verify_as_a_device(18411, &ca.x509()).unwrap(),
        ["TLS 1.2"]
    );
}

/// Probes a gateway serving `served` with `anchor` and expects a refusal mentioning `why`, reported at once.
fn assert_refused(port: u16, served: &Issued, anchor: &Issued, why: &str) {
    let started = Instant::now();
    let seen = service::wait_until_served(
        port,
        &fingerprint(served),
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
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    let other = root(dir.path(), "other");
    let good = leaf(
        dir.path(),
        &ca,
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
        "serverAuth",
    );
    let _server = SServer::start(dir.path(), &good, 18412, &[]);
    assert_refused(
        18412,
        &good,
        &other,
        "does not verify up to the installed root",
    );
}

#[test]
fn a_client_auth_only_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    let client = leaf(
        dir.path(),
        &ca,
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
        "clientAuth",
    );
    let _server = SServer::start(dir.path(), &client, 18413, &[]);
    assert_refused(18413, &client, &ca, "purpose");
}

#[test]
fn an_rsa_certificate_that_may_not_sign_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    let no_sign = leaf(
        dir.path(),
        &ca,
        KeyType::Rsa,
        "keyEncipherment",
        "serverAuth",
    );
    let _server = SServer::start(dir.path(), &no_sign, 18414, &[]);
    assert_refused(18414, &no_sign, &ca, "digitalSignature");
}
