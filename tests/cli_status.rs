//! `icg-renew status` through the binary: the JSON shape, the monitoring exit codes, how the installation is
//! found (`--icg-root`, `ICG_ROOT`, `--config`, `--keystore`, the password sources), and `sandbox`.

mod common;
mod sandbox;

use common::{
    assert_one_line_error, assert_summary, check_status, fixture_bytes, icg, json, store_password,
    Work,
};
use predicates::prelude::*;
use sandbox::{Options, Sandbox};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `status --json` on a copy of `keystore`; asserts the exit code; returns the JSON.
fn status_json(keystore: &str, extra: &[&str], expected_code: i32) -> Value {
    let work = Work::with(&[keystore]);
    let assert = work
        .icg_on(keystore)
        .arg("status")
        .arg("--json")
        .args(extra)
        .assert()
        .code(expected_code);
    json(&assert.get_output().stdout)
}

// The JSON shape.

#[test]
fn status_json_has_keystore_format_alias_certificate_chain_and_state() {
    let work = Work::with(&["installed-rsa.jks"]);
    let assert = work
        .icg_on("installed-rsa.jks")
        .args(["status", "--json"])
        .assert()
        .code(0);
    let status = json(&assert.get_output().stdout);
    assert_eq!(
        status["keystore"],
        work.path("installed-rsa.jks").display().to_string()
    );
    assert_eq!(status["format"], "jks");
    assert_eq!(status["alias"], "icg");
    assert!(status["certificate"].is_object(), "{status}");
    assert!(status["chain"].is_array(), "{status}");
    assert_eq!(status["state"], "ok");
}

#[test]
fn status_json_certificate_and_chain_have_the_summary_fields() {
    let status = status_json("installed-inter.p12", &[], 0);
    assert_summary(&status["certificate"]);
    for summary in status["chain"].as_array().unwrap() {
        assert_summary(summary);
    }
}

#[test]
fn status_json_certificate_is_the_installed_leaf() {
    let status = status_json("installed-rsa.jks", &[], 0);
    let leaf = &status["certificate"];
    assert_eq!(leaf["subject"], "CN=icg.example.test,O=icg-renew fixtures");
    assert_eq!(
        leaf["dns_names"],
        serde_json::json!(["icg.example.test", "gateway.example.test"])
    );
    assert_eq!(leaf["ip_addresses"], serde_json::json!(["203.0.113.10"]));
    assert_eq!(leaf["is_ca"], false);
}

#[test]
fn status_json_chain_runs_from_the_leaf_to_the_root() {
    let status = status_json("installed-inter.p12", &[], 0);
    let chain = status["chain"].as_array().unwrap();
    let subjects: Vec<&str> = chain
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "CN=icg.example.test,O=icg-renew fixtures",
            "CN=IGEL Test Intermediate CA,O=icg-renew fixtures",
            "CN=IGEL Test Root CA,O=icg-renew fixtures",
        ]
    );
    assert_eq!(chain[0]["sha256"], status["certificate"]["sha256"]);
    let root = chain.last().unwrap();
    assert_eq!(root["issuer"], root["subject"]);
    assert_eq!(root["is_ca"], true);
}

#[test]
fn status_json_chain_of_a_root_signed_leaf_ends_at_the_root() {
    let status = status_json("installed-ec.jks", &[], 0);
    let chain = status["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2, "{status}");
    assert_eq!(
        chain[1]["subject"],
        "CN=IGEL Test Root CA,O=icg-renew fixtures"
    );
}

#[test]
fn format_is_pkcs12_for_a_pkcs12_keystore() {
    assert_eq!(status_json("installed-rsa.p12", &[], 0)["format"], "pkcs12");
}

#[test]
fn format_is_recognised_by_content_not_by_file_name() {
    let work = Work::new();
    work.copy_as("installed-rsa.p12", "keystore.jks");
    let assert = work
        .icg_on("keystore.jks")
        .args(["status", "--json"])
        .assert()
        .code(0);
    assert_eq!(json(&assert.get_output().stdout)["format"], "pkcs12");
}

#[test]
fn global_options_before_or_after_the_command_give_the_same_answer() {
    let work = Work::with(&["installed-rsa.jks"]);
    let keystore = work.path("installed-rsa.jks");
    let before = icg()
        .arg("--json")
        .arg("--keystore")
        .arg(&keystore)
        .arg("--store-password-file")
        .arg(work.store_pass())
        .arg("status")
        .assert()
        .code(0);
    let after = icg()
        .arg("status")
        .arg("--json")
        .arg("--keystore")
        .arg(&keystore)
        .arg("--store-password-file")
        .arg(work.store_pass())
        .assert()
        .code(0);
    assert_eq!(
        json(&before.get_output().stdout),
        json(&after.get_output().stdout)
    );
}

#[test]
fn status_without_json_prints_a_readable_report() {
    let work = Work::with(&["installed-rsa.jks"]);
    work.icg_on("installed-rsa.jks")
        .arg("status")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("icg.example.test"))
        .stdout(predicate::str::contains("OK"));
}

// Exit codes in the monitoring-plugin convention, around the installed leaf's days left.

fn days_left() -> i64 {
    status_json("installed-rsa.jks", &[], 0)["certificate"]["days_left"]
        .as_i64()
        .expect("days_left is an integer")
}

/// `status` with these thresholds: the exit code and the state.
fn status_with(warn_days: i64, crit_days: i64) -> (i32, Value) {
    let work = Work::with(&["installed-rsa.jks"]);
    let output = work
        .icg_on("installed-rsa.jks")
        .args(["status", "--json"])
        .arg(format!("--warn-days={warn_days}"))
        .arg(format!("--crit-days={crit_days}"))
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        json(&output.stdout)["state"].clone(),
    )
}

#[test]
fn status_is_ok_with_more_days_left_than_warn_days() {
    let days = days_left();
    assert_eq!(status_with(days - 10, days - 20), (0, "ok".into()));
}

#[test]
fn status_is_warning_within_warn_days() {
    let days = days_left();
    assert_eq!(status_with(days + 10, days - 10), (1, "warning".into()));
}

#[test]
fn status_is_critical_within_crit_days() {
    let days = days_left();
    assert_eq!(status_with(days + 20, days + 10), (2, "critical".into()));
}

#[test]
fn status_is_ok_for_a_ten_year_certificate_with_default_thresholds() {
    assert_eq!(status_json("installed-rsa.jks", &[], 0)["state"], "ok");
}

#[test]
fn status_of_an_unreadable_keystore_is_unknown() {
    let work = Work::new();
    work.copy_as("garbage.bin", "keystore.jks");
    let assert = work.icg_on("keystore.jks").arg("status").assert().code(3);
    assert_one_line_error(
        &assert.get_output().stderr,
        &work.path("keystore.jks").display().to_string(),
    );
}

#[test]
fn status_of_a_missing_keystore_is_unknown() {
    let work = Work::new();
    work.icg_on("keystore.jks").arg("status").assert().code(3);
}

#[test]
fn status_with_a_wrong_password_is_unknown() {
    let work = Work::with(&["installed-rsa.jks"]);
    work.write("store.pass", b"not-the-password");
    work.icg_on("installed-rsa.jks")
        .arg("status")
        .assert()
        .code(3);
}

#[test]
fn status_json_error_is_one_document() {
    let work = Work::new();
    work.copy_as("truncated-rsa.jks", "keystore.jks");
    let assert = work
        .icg_on("keystore.jks")
        .args(["status", "--json"])
        .assert()
        .code(3);
    let error = json(&assert.get_output().stdout);
    assert!(error["error"].is_string(), "{error}");
    assert!(error["kind"].is_string(), "{error}");
}

// Finding the installation. `status` reports every error as UNKNOWN (3), so the error cases run `verify`,
// whose exit code for them is 1.

/// A temp dir laid out like an ICG root: `<root>/usg/keys/keystore.jks` (a copy of installed-rsa.jks) and
/// `<root>/usg/conf/application-prod.yml` made by `yaml` from the keystore path and the store password.
struct IcgRoot {
    work: Work,
}

impl IcgRoot {
    fn new(yaml: impl FnOnce(&Path, &str) -> String) -> IcgRoot {
        let work = Work::with(&["new-rsa-bundle.pem"]);
        work.copy_as("installed-rsa.jks", "icg/usg/keys/keystore.jks");
        let text = yaml(&work.path("icg/usg/keys/keystore.jks"), &store_password());
        work.write("icg/usg/conf/application-prod.yml", text.as_bytes());
        IcgRoot { work }
    }

    /// The configuration of the fixtures, moved from /opt/IGEL/icg to this root.
    fn like_the_fixture() -> IcgRoot {
        let mut root = PathBuf::new();
        let made = IcgRoot::new(|keystore, _| {
            root = keystore.ancestors().nth(3).unwrap().to_path_buf();
            String::from_utf8(fixture_bytes("application-prod.yml"))
                .unwrap()
                .replace("/opt/IGEL/icg", &root.display().to_string())
        });
        assert_eq!(root, made.root());
        made
    }

    fn root(&self) -> PathBuf {
        self.work.path("icg")
    }

    fn config(&self) -> PathBuf {
        self.work.path("icg/usg/conf/application-prod.yml")
    }

    fn keystore(&self) -> PathBuf {
        self.work.path("icg/usg/keys/keystore.jks")
    }

    /// `status --json` with `args`; asserts exit 0 and that it read this root's keystore.
    fn assert_status_finds_keystore(&self, cmd: &mut assert_cmd::Command) {
        let assert = cmd
            .current_dir(self.work.dir.path())
            .args(["status", "--json"])
            .assert()
            .code(0);
        let status = json(&assert.get_output().stdout);
        assert_eq!(status["keystore"], self.keystore().display().to_string());
        assert_eq!(status["alias"], "icg");
    }

    /// `verify new-rsa-bundle.pem` with `--icg-root`; asserts exit 1 and one stderr line naming `names`.
    fn assert_verify_error(&self, names: &Path) -> String {
        let assert = icg()
            .current_dir(self.work.dir.path())
            .arg("--icg-root")
            .arg(self.root())
            .arg("verify")
            .arg("new-rsa-bundle.pem")
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert_one_line_error(stderr.as_bytes(), &names.display().to_string());
        assert_eq!(
            std::fs::read(self.keystore()).unwrap(),
            fixture_bytes("installed-rsa.jks")
        );
        stderr
    }
}

fn nested_yaml(key_store: &str, password: &str) -> String {
    format!("server:\n  port: 8443\n  ssl:\n    key-store: {key_store}\n    key-store-password: '{password}'\n")
}

#[test]
fn icg_root_option_finds_the_keystore_named_in_the_configuration() {
    let icg_root = IcgRoot::like_the_fixture();
    icg_root.assert_status_finds_keystore(icg().arg("--icg-root").arg(icg_root.root()));
}

#[test]
fn icg_root_env_var_finds_the_installation() {
    let icg_root = IcgRoot::like_the_fixture();
    icg_root.assert_status_finds_keystore(icg().env("ICG_ROOT", icg_root.root()));
}

#[test]
fn config_option_reads_that_configuration() {
    let icg_root = IcgRoot::like_the_fixture();
    let elsewhere = icg_root.work.write(
        "elsewhere/application-prod.yml",
        &std::fs::read(icg_root.config()).unwrap(),
    );
    std::fs::remove_file(icg_root.config()).unwrap();
    icg_root.assert_status_finds_keystore(icg().arg("--config").arg(elsewhere));
}

#[test]
fn key_store_with_a_file_prefix_is_read_as_a_path() {
    let icg_root = IcgRoot::new(|keystore, password| {
        nested_yaml(&format!("file:{}", keystore.display()), password)
    });
    icg_root.assert_status_finds_keystore(icg().arg("--icg-root").arg(icg_root.root()));
}

#[test]
fn dotted_configuration_keys_are_read() {
    let icg_root = IcgRoot::new(|keystore, password| {
        format!(
            "server.port: 8443\nserver.ssl.key-store: {}\nserver.ssl.key-store-password: '{password}'\n",
            keystore.display()
        )
    });
    icg_root.assert_status_finds_keystore(icg().arg("--icg-root").arg(icg_root.root()));
}

#[test]
fn relative_key_store_is_resolved_against_the_usg_directory() {
    let icg_root = IcgRoot::new(|_, password| nested_yaml("keys/keystore.jks", password));
    let assert = icg()
        .arg("--icg-root")
        .arg(icg_root.root())
        .args(["status", "--json"])
        .assert()
        .code(0);
    let keystore = json(&assert.get_output().stdout)["keystore"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        std::fs::canonicalize(keystore).unwrap(),
        std::fs::canonicalize(icg_root.keystore()).unwrap()
    );
}

#[test]
fn keystore_option_with_store_password_file_needs_no_configuration() {
    let work = Work::with(&["installed-rsa.jks"]);
    work.icg_on("installed-rsa.jks")
        .arg("status")
        .assert()
        .code(0);
}

#[test]
fn store_password_env_var_opens_the_keystore() {
    let work = Work::with(&["installed-rsa.jks"]);
    icg()
        .arg("--keystore")
        .arg(work.path("installed-rsa.jks"))
        .env("ICG_RENEW_STORE_PASSWORD", store_password())
        .arg("status")
        .assert()
        .code(0);
}

#[test]
fn store_password_file_takes_precedence_over_the_env_var() {
    let work = Work::with(&["installed-rsa.jks"]);
    work.icg_on("installed-rsa.jks")
        .env("ICG_RENEW_STORE_PASSWORD", "not-the-password")
        .arg("status")
        .assert()
        .code(0);
}

#[test]
fn store_password_env_var_takes_precedence_over_the_configuration() {
    let icg_root = IcgRoot::new(|keystore, _| {
        nested_yaml(&keystore.display().to_string(), "not-the-password")
    });
    icg_root.assert_status_finds_keystore(
        icg()
            .arg("--icg-root")
            .arg(icg_root.root())
            .env("ICG_RENEW_STORE_PASSWORD", store_password()),
    );
}

#[test]
fn missing_configuration_is_an_error_naming_it() {
    let icg_root = IcgRoot::like_the_fixture();
    std::fs::remove_file(icg_root.config()).unwrap();
    icg_root.assert_verify_error(&icg_root.config());
}

#[test]
fn configuration_without_key_store_is_an_error_pointing_to_keystore_option() {
    let icg_root = IcgRoot::new(|_, _| "server:\n  port: 8443\n".to_string());
    let stderr = icg_root.assert_verify_error(&icg_root.config());
    assert!(stderr.contains("--keystore"), "{stderr}");
}

#[test]
fn classpath_key_store_is_not_supported() {
    let icg_root = IcgRoot::new(|_, password| nested_yaml("classpath:keystore.jks", password));
    let stderr = icg_root.assert_verify_error(&icg_root.config());
    assert!(stderr.contains("not supported"), "{stderr}");
}

#[test]
fn status_with_a_missing_configuration_is_unknown() {
    let icg_root = IcgRoot::like_the_fixture();
    std::fs::remove_file(icg_root.config()).unwrap();
    icg()
        .arg("--icg-root")
        .arg(icg_root.root())
        .arg("status")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            icg_root.config().display().to_string(),
        ));
}

// `sandbox DIR`

/// The binary with a clean environment (`common::icg`), pointed at the sandbox.
fn icg_on(sandbox: &Sandbox) -> assert_cmd::Command {
    let mut cmd = icg();
    cmd.arg("--icg-root").arg(sandbox.root());
    cmd
}

/// `verify DIR/<material> --json`; asserts the exit code; returns the JSON.
fn verify(sandbox: &Sandbox, material: &str, code: i32) -> Value {
    let assert = icg_on(sandbox)
        .arg("verify")
        .arg(sandbox.root().join(material))
        .arg("--json")
        .assert()
        .code(code);
    json(&assert.get_output().stdout)
}

/// `keytool -list` of the sandbox keystore.
fn keytool_list(sandbox: &Sandbox) -> String {
    let output = sandbox.keytool_list();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "keytool failed:\n{stdout}");
    stdout
}

fn assert_keytool_lists_server_and_root_entries(listing: &str) {
    let entry = |alias: &str| {
        listing
            .lines()
            .find(|l| l.starts_with(&format!("{alias},")))
            .unwrap_or_else(|| panic!("no entry {alias} in:\n{listing}"))
            .to_string()
    };
    assert!(entry("icg").contains("PrivateKeyEntry"), "{listing}");
    assert!(entry("root").contains("trustedCertEntry"), "{listing}");
}

#[test]
fn sandbox_creates_configuration_keystore_and_material() {
    let sandbox = Sandbox::new();
    for file in [
        "usg/conf/application-prod.yml",
        "usg/keys/keystore.jks",
        "new/keystore.icg",
        "incompatible/missing-ip.pem",
        "incompatible/other-root.pem",
        "incompatible/self-signed.pem",
    ] {
        assert!(sandbox.root().join(file).is_file(), "no {file}");
    }
}

#[test]
fn sandbox_status_is_warning_with_ten_days_left() {
    let sandbox = Sandbox::new();
    let assert = icg_on(&sandbox).args(["status", "--json"]).assert().code(1);
    let status = json(&assert.get_output().stdout);
    assert_eq!(status["state"], "warning");
    let days = status["certificate"]["days_left"].as_i64().unwrap();
    assert!((9..=10).contains(&days), "days_left {days}");
}

#[test]
fn sandbox_new_material_passes_verify() {
    let sandbox = Sandbox::new();
    let report = verify(&sandbox, "new/keystore.icg", 0);
    assert_eq!(report["compatible"], true);
}

#[test]
fn sandbox_missing_ip_fails_same_hosts() {
    let sandbox = Sandbox::new();
    let report = verify(&sandbox, "incompatible/missing-ip.pem", 3);
    assert_eq!(check_status(&report, "same-hosts"), "fail");
}

#[test]
fn sandbox_other_root_fails_same_root() {
    let sandbox = Sandbox::new();
    let report = verify(&sandbox, "incompatible/other-root.pem", 3);
    assert_eq!(check_status(&report, "same-root"), "fail");
}

#[test]
fn sandbox_self_signed_fails_signed() {
    let sandbox = Sandbox::new();
    let report = verify(&sandbox, "incompatible/self-signed.pem", 3);
    assert_eq!(check_status(&report, "signed"), "fail");
}

#[test]
fn sandbox_jks_keystore_is_read_by_keytool() {
    let sandbox = Sandbox::new();
    let listing = keytool_list(&sandbox);
    assert!(listing.contains("Keystore type: JKS"), "{listing}");
    assert_keytool_lists_server_and_root_entries(&listing);
}

#[test]
fn sandbox_pkcs12_keystore_is_read_by_keytool() {
    let sandbox = Sandbox::create(Options {
        pkcs12: true,
        ..Options::default()
    });
    let listing = keytool_list(&sandbox);
    assert!(listing.contains("Keystore type: PKCS12"), "{listing}");
    assert_keytool_lists_server_and_root_entries(&listing);
}

#[test]
fn sandbox_into_a_non_empty_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("something"), b"x").unwrap();
    icg()
        .arg("sandbox")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(dir.path().display().to_string()));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "the sandbox wrote into a non-empty directory"
    );
}
