//! The checks `key-usage` and `server-auth` on certificates made here with openssl: each passes for what TLS
//! clients accept and fails for what Java and OpenSSL clients refuse (RSA with keyEncipherment alone, EC with
//! keyAgreement alone, extended key usage clientAuth alone, on the leaf or an intermediate); and `verify
//! --json` shows them like every other check.

mod common;
#[path = "tomcat/pki.rs"]
mod pki;
#[path = "sandbox/mod.rs"]
mod sandbox;

use icg_renew::checks::{self, Check, Status};
use pki::{issue, leaf_extensions, root, Issued, KeyType};
use std::path::Path;

const SANS: &str = "DNS:icg.example.test,IP:127.0.0.1";

fn assert_check(check: &Check, id: &str, status: Status) {
    assert_eq!(check.id, id);
    assert_eq!(check.status, status, "{id}: {}", check.detail);
    assert!(!check.detail.is_empty(), "{id} has no detail");
}

/// Asserts that `check` is check `id` failing, with a detail naming each of `named`.
fn assert_fails_naming(check: &Check, id: &str, named: &[&str]) {
    assert_check(check, id, Status::Fail);
    for name in named {
        assert!(check.detail.contains(name), "{}", check.detail);
    }
}

fn leaf(dir: &Path, ca: &Issued, key_type: KeyType, key_usage: &str, eku: &str) -> Issued {
    let lines = leaf_extensions(SANS, key_usage, eku);
    issue(dir, ca, "leaf", "icg.example.test", key_type, 365, &lines)
}

fn key_usage_of(key_type: KeyType, key_usage: &str) -> Check {
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    checks::key_usage(&leaf(dir.path(), &ca, key_type, key_usage, "serverAuth").x509())
}

fn server_auth_of(eku: &str) -> Check {
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    let chain = [
        leaf(
            dir.path(),
            &ca,
            KeyType::Rsa,
            "digitalSignature,keyEncipherment",
            eku,
        )
        .x509(),
        ca.x509(),
    ];
    checks::server_auth(&chain, &ca.x509())
}

// key-usage

#[test]
fn key_usage_passes_for_rsa_with_digital_signature_and_key_encipherment() {
    let check = key_usage_of(KeyType::Rsa, "digitalSignature,keyEncipherment");
    assert_check(&check, "key-usage", Status::Pass);
}

#[test]
fn key_usage_passes_for_ec_with_digital_signature() {
    assert_check(
        &key_usage_of(KeyType::Ec, "digitalSignature"),
        "key-usage",
        Status::Pass,
    );
}

#[test]
fn key_usage_passes_without_a_key_usage_extension() {
    assert_check(&key_usage_of(KeyType::Rsa, ""), "key-usage", Status::Pass);
}

#[test]
fn key_usage_fails_for_rsa_with_key_encipherment_only() {
    let check = key_usage_of(KeyType::Rsa, "keyEncipherment");
    assert_fails_naming(
        &check,
        "key-usage",
        &["keyEncipherment", "digitalSignature"],
    );
}

#[test]
fn key_usage_fails_for_ec_with_key_agreement_only() {
    let check = key_usage_of(KeyType::Ec, "keyAgreement");
    assert_fails_naming(&check, "key-usage", &["keyAgreement"]);
}

// server-auth

#[test]
fn server_auth_passes_for_server_and_client_auth() {
    assert_check(
        &server_auth_of("serverAuth,clientAuth"),
        "server-auth",
        Status::Pass,
    );
}

#[test]
fn server_auth_passes_without_an_extended_key_usage_extension() {
    assert_check(&server_auth_of(""), "server-auth", Status::Pass);
}

#[test]
fn server_auth_passes_for_any_extended_key_usage() {
    assert_check(
        &server_auth_of("anyExtendedKeyUsage"),
        "server-auth",
        Status::Pass,
    );
}

#[test]
fn server_auth_fails_for_client_auth_only() {
    let check = server_auth_of("clientAuth");
    assert_fails_naming(&check, "server-auth", &["icg.example.test"]);
}

#[test]
fn server_auth_fails_for_an_intermediate_restricted_to_client_auth() {
    let dir = tempfile::tempdir().unwrap();
    let ca = root(dir.path(), "root");
    let inter = issue(
        dir.path(),
        &ca,
        "inter",
        "Client Issuing CA",
        KeyType::Rsa,
        365,
        &[
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "keyUsage=critical,keyCertSign,cRLSign",
            "extendedKeyUsage=clientAuth",
        ],
    );
    let good_leaf = leaf(
        dir.path(),
        &inter,
        KeyType::Rsa,
        "digitalSignature",
        "serverAuth",
    );
    let check = checks::server_auth(&[good_leaf.x509(), inter.x509(), ca.x509()], &ca.x509());
    assert_fails_naming(&check, "server-auth", &["Client Issuing CA"]);
}

// verify --json shows them, and a refused certificate is incompatible (exit 3)

/// New material for a sandbox, signed by its CA with its names and `key_usage`/`eku`.
fn sandbox_material(
    install: &sandbox::Sandbox,
    key_type: KeyType,
    key_usage: &str,
    eku: &str,
) -> std::path::PathBuf {
    let ca = Issued {
        cert: install.root().join("ca/root-ca.pem"),
        key: install.root().join("ca/root-ca.key"),
    };
    let lines = leaf_extensions(
        "DNS:icg.sandbox.test,DNS:gateway.sandbox.test,IP:192.0.2.10,IP:127.0.0.1",
        key_usage,
        eku,
    );
    let made = issue(
        install.dir(),
        &ca,
        "material",
        "icg.sandbox.test",
        key_type,
        400,
        &lines,
    );
    let out = install.dir().join("material-bundle.pem");
    pki::bundle(&made, &[&ca.cert], &out);
    out
}

fn verify_json(install: &sandbox::Sandbox, material: &Path) -> (i32, serde_json::Value) {
    let output = install
        .icg_json()
        .arg("verify")
        .arg(material)
        .output()
        .unwrap();
    (output.status.code().unwrap(), sandbox::json(&output))
}

#[test]
fn verify_json_lists_key_usage_and_server_auth_and_refuses_what_clients_refuse() {
    let install = sandbox::Sandbox::new();
    let good = sandbox_material(
        &install,
        KeyType::Rsa,
        "digitalSignature,keyEncipherment",
        "serverAuth",
    );
    let (code, report) = verify_json(&install, &good);
    assert_eq!(code, 0, "{report}");
    assert_eq!(common::check_status(&report, "key-usage"), "pass");
    assert_eq!(common::check_status(&report, "server-auth"), "pass");
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, common::CHECK_IDS);

    for (key_type, key_usage, eku, failing) in [
        (KeyType::Rsa, "keyEncipherment", "serverAuth", "key-usage"),
        (KeyType::Ec, "keyAgreement", "serverAuth", "key-usage"),
        (
            KeyType::Rsa,
            "digitalSignature,keyEncipherment",
            "clientAuth",
            "server-auth",
        ),
    ] {
        let material = sandbox_material(&install, key_type, key_usage, eku);
        let (code, report) = verify_json(&install, &material);
        assert_eq!(code, 3, "{key_usage}/{eku}: {report}");
        assert_eq!(report["compatible"], false);
        assert_eq!(common::check_status(&report, failing), "fail", "{report}");
        assert_eq!(
            common::not_passed(&report),
            [format!("\"{failing}\"=\"fail\"")]
        );
    }
}
