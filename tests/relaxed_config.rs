//! `application-prod.yml` read as the ICG's Spring Boot binds it: the sandbox's configuration rewritten with
//! camelCase, underscore and upper-case names, nested and dotted keys mixed, and as two documents (the later
//! wins) — each finds the same keystore, opens it with the same password and reads the same certificate as
//! the kebab-case original, through the built binary. Fails on the main before issue 21, which read only
//! kebab-case names and the first document ("sets no server.ssl.key-store").

mod sandbox;

use sandbox::{assert_exit, json, Sandbox};
use serde_json::Value;

/// `status --json --no-probe` of the installation with `yaml` as its application-prod.yml.
fn status_with(install: &Sandbox, yaml: &str) -> Value {
    let config = install.root().join("usg/conf/application-prod.yml");
    std::fs::write(&config, yaml).unwrap();
    let output = install
        .icg_json()
        .args(["status", "--no-probe"])
        .output()
        .unwrap();
    assert_exit(&output, 1);
    json(&output)
}

#[test]
fn relaxed_names_and_documents_read_the_same_keystore_as_kebab_case() {
    let install = Sandbox::new();
    let keystore = install.keystore();
    let keystore = keystore.display();
    let password = install.password();
    let kebab = status_with(
        &install,
        &format!(
            "server:\n  port: 8443\n  ssl:\n    key-store: file:{keystore}\n    key-store-password: {password}\n    key-store-type: JKS\n"
        ),
    );
    assert_eq!(kebab["format"], "jks");
    let variants = [
        (
            "camelCase",
            format!(
                "server:\n  port: 8443\n  ssl:\n    keyStore: file:{keystore}\n    keyStorePassword: {password}\n    keyStoreType: JKS\n"
            ),
        ),
        (
            "underscore",
            format!(
                "server:\n  port: 8443\n  ssl:\n    key_store: {keystore}\n    key_store_password: {password}\n    KEY_STORE_TYPE: JKS\n"
            ),
        ),
        (
            "mixed",
            format!(
                "server.ssl.keyStore: {keystore}\nserver:\n  ssl.key_store_password: {password}\n  SSL:\n    KEYSTORETYPE: JKS\n"
            ),
        ),
        (
            "two documents",
            format!(
                "server:\n  ssl:\n    key-store: /nonexistent/old.jks\n    key-store-password: wrong\n---\nserver:\n  ssl:\n    keyStore: {keystore}\n    keyStorePassword: {password}\n"
            ),
        ),
    ];
    for (name, yaml) in variants {
        let report = status_with(&install, &yaml);
        for field in ["keystore", "format", "alias", "certificate", "chain"] {
            assert_eq!(report[field], kebab[field], "{name}: {field}\n{yaml}");
        }
    }
}

#[test]
fn classpath_and_placeholders_are_still_refused_with_the_option_that_replaces_them() {
    let install = Sandbox::new();
    let config = install.root().join("usg/conf/application-prod.yml");
    for (yaml, option) in [
        (
            "server:\n  ssl:\n    keyStore: classpath:keystore.jks\n",
            "--keystore",
        ),
        (
            "server:\n  ssl:\n    key_store: /k.jks\n    keyStorePassword: ${ICG_PW}\n",
            "--store-password-file",
        ),
    ] {
        std::fs::write(&config, yaml).unwrap();
        let output = install
            .icg()
            .args(["status", "--no-probe"])
            .output()
            .unwrap();
        assert_exit(&output, 3);
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(text.contains(option), "{yaml}: {text}");
    }
}
