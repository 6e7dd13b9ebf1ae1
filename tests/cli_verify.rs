//! `icg-renew verify` through the binary: each compatibility check failing on its own `bad-*.pem`, good
//! material in every format against every installed keystore, the JSON shape, broken input and usage errors.
//! Every run works on private copies of the fixtures.

mod common;

use common::{
    assert_one_line_error, assert_summary, check_status, fixture_bytes, icg, json, mkfifo,
    not_passed, Work, CHECK_IDS, INSTALLED_KEYSTORES,
};
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// `verify --json` of `args` against a copy of installed-rsa.jks; asserts the exit code; returns the JSON.
fn verify_json(args: &[&str], expected_code: i32) -> Value {
    let work = Work::with(&["installed-rsa.jks"]);
    for name in args.iter().filter(|a| !a.starts_with('-')) {
        work.copy(name);
    }
    let assert = work
        .icg_on("installed-rsa.jks")
        .arg("verify")
        .args(args)
        .arg("--json")
        .assert()
        .code(expected_code);
    json(&assert.get_output().stdout)
}

/// `bad` makes check `id` fail: exit 3, `"compatible": false`, and `id` has status "fail".
fn assert_check_fails(bad: &str, id: &str) {
    let report = verify_json(&[bad], 3);
    assert_eq!(report["compatible"], false, "{bad}");
    assert_eq!(check_status(&report, id), "fail", "{bad}: {report}");
}

// Each check fails on its own material.

#[test]
fn key_matches_fails_for_a_key_of_another_certificate() {
    assert_check_fails("bad-key-matches.pem", "key-matches");
}

#[test]
fn signed_fails_for_a_self_signed_certificate() {
    assert_check_fails("bad-signed.pem", "signed");
}

#[test]
fn end_entity_fails_for_a_ca_certificate() {
    assert_check_fails("bad-end-entity.pem", "end-entity");
}

#[test]
fn same_root_fails_for_a_certificate_of_another_root() {
    assert_check_fails("bad-same-root.pem", "same-root");
}

#[test]
fn same_hosts_fails_when_an_installed_ip_address_is_missing() {
    assert_check_fails("bad-same-hosts.pem", "same-hosts");
}

#[test]
fn san_present_fails_without_a_subject_alternative_name() {
    assert_check_fails("bad-san-present.pem", "san-present");
}

#[test]
fn validity_fails_for_an_expired_certificate() {
    assert_check_fails("bad-validity.pem", "validity");
}

#[test]
fn name_differs_from_root_fails_when_the_cn_is_the_roots() {
    assert_check_fails("bad-name-differs-from-root.pem", "name-differs-from-root");
}

#[test]
fn key_strength_fails_for_rsa_1024() {
    assert_check_fails("bad-key-strength.pem", "key-strength");
}

#[test]
fn signature_algorithm_fails_for_sha1() {
    assert_check_fails("bad-signature-algorithm.pem", "signature-algorithm");
}

/// `newer` only warns, so no material makes it fail: an older certificate is still compatible.
#[test]
fn newer_warns_but_stays_compatible_for_an_earlier_expiry() {
    let report = verify_json(&["warn-newer.pem"], 0);
    assert_eq!(report["compatible"], true);
    assert_eq!(check_status(&report, "newer"), "warn");
    assert_eq!(not_passed(&report), [r#""newer"="warn""#]);
}

#[test]
fn same_hosts_warns_but_stays_compatible_for_an_added_host() {
    let report = verify_json(&["warn-extra-host.pem"], 0);
    assert_eq!(report["compatible"], true);
    assert_eq!(check_status(&report, "same-hosts"), "warn");
    assert_eq!(not_passed(&report), [r#""same-hosts"="warn""#]);
}

// Good material in every format passes against every installed keystore.

/// Runs `verify <args> --json` against a copy of each installed keystore (in a work dir holding `files`),
/// with `env` set, and asserts exit 0, `"compatible": true` and every check "pass".
fn assert_passes_everywhere(files: &[&str], args: &[&str], env: &[(&str, &str)]) {
    let work = Work::with(files);
    for keystore in INSTALLED_KEYSTORES {
        work.copy(keystore);
        let mut cmd = work.icg_on(keystore);
        cmd.arg("verify").args(args).arg("--json");
        for (key, value) in env {
            cmd.env(key, value);
        }
        let output = cmd.output().expect("run icg-renew");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "verify {args:?} against {keystore}: {stderr}"
        );
        let report = json(&output.stdout);
        assert_eq!(report["compatible"], true, "{args:?} against {keystore}");
        assert!(
            not_passed(&report).is_empty(),
            "{args:?} against {keystore}: {:?}",
            not_passed(&report)
        );
    }
}

fn new_password() -> String {
    String::from_utf8(fixture_bytes("new.pass")).expect("new.pass is text")
}

#[test]
fn openssl_pkcs12_passes() {
    assert_passes_everywhere(
        &["new-rsa.p12"],
        &["new-rsa.p12", "--new-password-file", "new.pass"],
        &[],
    );
}

#[test]
fn legacy_pkcs12_passes() {
    assert_passes_everywhere(
        &["new-rsa-legacy.p12"],
        &["new-rsa-legacy.p12", "--new-password-file", "new.pass"],
        &[],
    );
}

#[test]
fn keytool_pkcs12_passes() {
    assert_passes_everywhere(
        &["new-rsa-keytool.p12"],
        &["new-rsa-keytool.p12", "--new-password-file", "new.pass"],
        &[],
    );
}

#[test]
fn jks_passes() {
    assert_passes_everywhere(
        &["new-rsa.jks"],
        &["new-rsa.jks", "--new-password-file", "new.pass"],
        &[],
    );
}

#[test]
fn pem_bundle_with_key_first_passes() {
    assert_passes_everywhere(&["new-rsa-bundle.pem"], &["new-rsa-bundle.pem"], &[]);
}

#[test]
fn pem_bundle_with_an_intermediate_passes() {
    assert_passes_everywhere(&["new-inter-bundle.pem"], &["new-inter-bundle.pem"], &[]);
}

#[test]
fn pkcs12_with_an_empty_password_passes() {
    assert_passes_everywhere(&["new-nopass.p12"], &["new-nopass.p12"], &[]);
}

#[test]
fn ums_keystore_icg_without_password_passes() {
    assert_passes_everywhere(&["keystore.icg"], &["keystore.icg"], &[]);
}

#[test]
fn ums_keystore_icg_zip_with_its_password_inside_passes() {
    assert_passes_everywhere(&["keystore-zip.icg"], &["keystore-zip.icg"], &[]);
}

#[test]
fn ec_pkcs12_passes() {
    assert_passes_everywhere(
        &["new-ec.p12"],
        &["new-ec.p12", "--new-password-file", "new.pass"],
        &[],
    );
}

#[test]
fn ec_pem_certificate_with_key_passes() {
    assert_passes_everywhere(
        &["new-ec.pem", "new-ec.key"],
        &["new-ec.pem", "--key", "new-ec.key"],
        &[],
    );
}

#[test]
fn pem_certificate_with_pkcs8_key_passes() {
    assert_passes_everywhere(
        &["new-rsa.pem", "new-rsa.key"],
        &["new-rsa.pem", "--key", "new-rsa.key"],
        &[],
    );
}

#[test]
fn pem_certificate_with_traditional_rsa_key_passes() {
    assert_passes_everywhere(
        &["new-rsa.pem", "new-rsa-trad.key"],
        &["new-rsa.pem", "--key", "new-rsa-trad.key"],
        &[],
    );
}

#[test]
fn pem_certificate_with_encrypted_key_and_password_file_passes() {
    assert_passes_everywhere(
        &["new-rsa.pem", "new-rsa-enc.key"],
        &[
            "new-rsa.pem",
            "--key",
            "new-rsa-enc.key",
            "--new-password-file",
            "new.pass",
        ],
        &[],
    );
}

#[test]
fn pem_certificate_with_der_key_and_chain_passes() {
    assert_passes_everywhere(
        &["new-rsa.pem", "new-rsa.key.der", "chain.pem"],
        &[
            "new-rsa.pem",
            "--key",
            "new-rsa.key.der",
            "--chain",
            "chain.pem",
        ],
        &[],
    );
}

#[test]
fn der_certificate_with_key_passes() {
    assert_passes_everywhere(
        &["new-rsa.der", "new-rsa.key"],
        &["new-rsa.der", "--key", "new-rsa.key"],
        &[],
    );
}

#[test]
fn new_password_from_env_opens_a_pkcs12() {
    assert_passes_everywhere(
        &["new-rsa.p12"],
        &["new-rsa.p12"],
        &[("ICG_RENEW_NEW_PASSWORD", &new_password())],
    );
}

#[test]
fn new_password_from_env_opens_an_encrypted_key() {
    assert_passes_everywhere(
        &["new-rsa.pem", "new-rsa-enc.key"],
        &["new-rsa.pem", "--key", "new-rsa-enc.key"],
        &[("ICG_RENEW_NEW_PASSWORD", &new_password())],
    );
}

/// A chain file that takes the material past 64 certificates is refused (exit 1, unsupported) with one line
/// that names the material file and the option that added the certificates.
#[test]
fn a_chain_file_with_too_many_certificates_is_refused_naming_the_option() {
    let work = Work::with(&["installed-rsa.jks", "new-rsa.pem", "new-rsa.key"]);
    work.write("many.pem", &fixture_bytes("chain.pem").repeat(65));
    let material = work.path("new-rsa.pem");
    let assert = work
        .icg_on("installed-rsa.jks")
        .arg("verify")
        .arg(&material)
        .args(["--key", "new-rsa.key", "--chain", "many.pem"])
        .assert()
        .code(1);
    assert_one_line_error(
        &assert.get_output().stderr,
        &format!(
            "{} (with --chain) holds 66 certificates; new material needs only the server certificate and its CAs (at most 64): give just those",
            material.display()
        ),
    );
}

/// Without a terminal there is no one to ask: a needed password that was not given is a usage error.
#[test]
fn pkcs12_without_its_password_is_a_usage_error_naming_the_file() {
    let work = Work::with(&["installed-rsa.jks", "new-rsa.p12"]);
    let assert = work
        .icg_on("installed-rsa.jks")
        .arg("verify")
        .arg(work.path("new-rsa.p12"))
        .assert()
        .code(2);
    assert_one_line_error(
        &assert.get_output().stderr,
        &work.path("new-rsa.p12").display().to_string(),
    );
}

#[test]
fn pkcs12_with_a_wrong_password_is_an_error_naming_the_file() {
    let work = Work::with(&["installed-rsa.jks", "new-rsa.p12"]);
    work.write("new.pass", b"not-the-password");
    let assert = work
        .icg_on("installed-rsa.jks")
        .arg("verify")
        .arg(work.path("new-rsa.p12"))
        .arg("--new-password-file")
        .arg(work.new_pass())
        .assert()
        .code(1);
    assert_one_line_error(
        &assert.get_output().stderr,
        &work.path("new-rsa.p12").display().to_string(),
    );
}

// The JSON shape of `verify --json`.

fn good_report() -> Value {
    verify_json(&["new-rsa-bundle.pem"], 0)
}

#[test]
fn verify_json_has_compatible_checks_current_and_new() {
    let report = good_report();
    assert_eq!(report["compatible"], true);
    assert!(report["checks"].is_array(), "{report}");
    assert!(report["current"].is_object(), "{report}");
    assert!(report["new"].is_object(), "{report}");
}

#[test]
fn verify_json_lists_every_check_in_the_contracts_order_with_status_and_detail() {
    let report = good_report();
    let checks = report["checks"].as_array().expect("checks");
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, CHECK_IDS);
    for check in checks {
        assert!(
            ["pass", "warn", "fail"].contains(&check["status"].as_str().unwrap_or_default()),
            "{check}"
        );
        assert!(
            !check["detail"].as_str().unwrap_or_default().is_empty(),
            "{check}"
        );
    }
}

#[test]
fn verify_json_certificate_summaries_have_the_contract_fields() {
    let report = good_report();
    assert_summary(&report["current"]);
    assert_summary(&report["new"]);
}

#[test]
fn verify_json_summaries_describe_the_installed_and_the_new_leaf() {
    let report = good_report();
    for which in ["current", "new"] {
        let summary = &report[which];
        assert_eq!(
            summary["subject"], "CN=icg.example.test,O=icg-renew fixtures",
            "{which}"
        );
        assert_eq!(
            summary["issuer"], "CN=IGEL Test Root CA,O=icg-renew fixtures",
            "{which}"
        );
        assert_eq!(
            summary["dns_names"],
            serde_json::json!(["icg.example.test", "gateway.example.test"]),
            "{which}"
        );
        assert_eq!(
            summary["ip_addresses"],
            serde_json::json!(["203.0.113.10"]),
            "{which}"
        );
        assert_eq!(summary["is_ca"], false, "{which}");
    }
    assert_ne!(report["current"]["sha256"], report["new"]["sha256"]);
    let current_days = report["current"]["days_left"].as_i64().unwrap();
    let new_days = report["new"]["days_left"].as_i64().unwrap();
    assert!(new_days > current_days, "{new_days} <= {current_days}");
}

#[test]
fn global_options_work_after_the_command() {
    let work = Work::with(&["installed-rsa.jks", "new-rsa-bundle.pem"]);
    let assert = icg()
        .current_dir(work.dir.path())
        .arg("verify")
        .arg("new-rsa-bundle.pem")
        .arg("--keystore")
        .arg(work.path("installed-rsa.jks"))
        .arg("--store-password-file")
        .arg(work.store_pass())
        .arg("--json")
        .assert()
        .code(0);
    assert_eq!(json(&assert.get_output().stdout)["compatible"], true);
}

#[test]
fn incompatible_material_changes_nothing() {
    let work = Work::with(&["installed-rsa.jks", "bad-same-root.pem"]);
    work.icg_on("installed-rsa.jks")
        .arg("verify")
        .arg("bad-same-root.pem")
        .assert()
        .code(3);
    assert_eq!(
        work.read("installed-rsa.jks"),
        fixture_bytes("installed-rsa.jks")
    );
}

// Broken input: exit 1, one line on stderr naming the file, no panic, the keystore untouched.

/// Runs `verify <new>` with `keystore` (a file in `work`) as the installed keystore and asserts the exit
/// code, a one-line message naming `names`, and that the keystore has not changed.
fn assert_clean_error(work: &Work, keystore: &str, new: &Path, code: i32, names: &Path) {
    let before = work.read(keystore);
    let assert = work
        .icg_on(keystore)
        .arg("verify")
        .arg(new)
        .arg("--new-password-file")
        .arg(work.new_pass())
        .timeout(Duration::from_secs(10))
        .assert()
        .code(code);
    assert_one_line_error(&assert.get_output().stderr, &names.display().to_string());
    assert_eq!(work.read(keystore), before, "{keystore} was changed");
}

/// A copy of `fixture` named `name` in `work`, changed by `damage`.
fn damaged_copy(work: &Work, fixture: &str, name: &str, damage: impl FnOnce(&mut [u8])) {
    let mut bytes = fixture_bytes(fixture);
    damage(&mut bytes);
    assert_ne!(bytes, fixture_bytes(fixture));
    work.write(name, &bytes);
}

fn flip_middle_byte(bytes: &mut [u8]) {
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
}

/// The offset of the first 4-byte length field of a JKS: that of the first entry's certificate (trusted
/// entry) or protected key (private-key entry). Layout: magic, version, count, then per entry a tag, a
/// modified-UTF-8 alias (2-byte length), an 8-byte date, and for a trusted entry the certificate type (UTF).
fn first_jks_length_field(jks: &[u8]) -> usize {
    let u16_at = |o: usize| usize::from(u16::from_be_bytes([jks[o], jks[o + 1]]));
    let tag = u32::from_be_bytes(jks[12..16].try_into().unwrap());
    let mut offset = 16;
    offset += 2 + u16_at(offset) + 8;
    if tag == 2 {
        offset += 2 + u16_at(offset);
    }
    offset
}

fn new_material_work() -> (Work, std::path::PathBuf) {
    let work = Work::with(&["installed-rsa.jks", "installed-rsa.p12", "new-rsa.p12"]);
    let new = work.path("new-rsa.p12");
    (work, new)
}

#[test]
fn corrupt_jks_keystore_is_an_error_naming_it() {
    let (work, new) = new_material_work();
    damaged_copy(&work, "installed-rsa.jks", "corrupt.jks", flip_middle_byte);
    assert_clean_error(&work, "corrupt.jks", &new, 1, &work.path("corrupt.jks"));
}

#[test]
fn corrupt_pkcs12_keystore_is_an_error_naming_it() {
    let (work, new) = new_material_work();
    damaged_copy(&work, "installed-rsa.p12", "corrupt.p12", flip_middle_byte);
    assert_clean_error(&work, "corrupt.p12", &new, 1, &work.path("corrupt.p12"));
}

#[test]
fn truncated_jks_keystore_is_an_error_naming_it() {
    let (work, new) = new_material_work();
    work.copy("truncated-rsa.jks");
    assert_clean_error(
        &work,
        "truncated-rsa.jks",
        &new,
        1,
        &work.path("truncated-rsa.jks"),
    );
}

#[test]
fn truncated_pkcs12_keystore_is_an_error_naming_it() {
    let (work, new) = new_material_work();
    work.copy("truncated-rsa.p12");
    assert_clean_error(
        &work,
        "truncated-rsa.p12",
        &new,
        1,
        &work.path("truncated-rsa.p12"),
    );
}

#[test]
fn jks_with_a_huge_entry_count_is_an_error_naming_it() {
    let (work, new) = new_material_work();
    damaged_copy(&work, "installed-rsa.jks", "count.jks", |b| {
        b[8..12].copy_from_slice(&[0xFF; 4]);
    });
    assert_clean_error(&work, "count.jks", &new, 1, &work.path("count.jks"));
}

#[test]
fn jks_with_a_huge_length_field_is_an_error_naming_it() {
    let (work, new) = new_material_work();
    damaged_copy(&work, "installed-rsa.jks", "length.jks", |b| {
        let at = first_jks_length_field(b);
        b[at..at + 4].copy_from_slice(&[0xFF; 4]);
    });
    assert_clean_error(&work, "length.jks", &new, 1, &work.path("length.jks"));
}

#[test]
fn wrong_store_password_is_an_error_naming_the_keystore() {
    let (work, new) = new_material_work();
    work.write("store.pass", b"not-the-password");
    assert_clean_error(
        &work,
        "installed-rsa.jks",
        &new,
        1,
        &work.path("installed-rsa.jks"),
    );
}

#[test]
fn empty_new_file_is_an_error_naming_it() {
    let work = Work::with(&["installed-rsa.jks", "empty.bin"]);
    let new = work.path("empty.bin");
    assert_clean_error(&work, "installed-rsa.jks", &new, 1, &new);
}

#[test]
fn garbage_new_file_is_an_error_naming_it() {
    let work = Work::with(&["installed-rsa.jks", "garbage.bin"]);
    let new = work.path("garbage.bin");
    assert_clean_error(&work, "installed-rsa.jks", &new, 1, &new);
}

#[test]
fn missing_new_file_is_an_error_naming_it() {
    let work = Work::with(&["installed-rsa.jks"]);
    let new = work.path("missing.p12");
    assert_clean_error(&work, "installed-rsa.jks", &new, 1, &new);
}

#[test]
fn directory_as_new_file_is_an_error_naming_it() {
    let work = Work::with(&["installed-rsa.jks"]);
    let new = work.path("a-directory");
    std::fs::create_dir(&new).unwrap();
    assert_clean_error(&work, "installed-rsa.jks", &new, 1, &new);
}

#[test]
fn fifo_as_new_file_is_an_error_naming_it_without_hanging() {
    let work = Work::with(&["installed-rsa.jks"]);
    let new = work.path("a-fifo");
    mkfifo(&new);
    assert_clean_error(&work, "installed-rsa.jks", &new, 1, &new);
}

#[test]
fn json_error_is_one_document_with_message_and_kind() {
    let work = Work::with(&["installed-rsa.jks", "garbage.bin"]);
    let assert = work
        .icg_on("installed-rsa.jks")
        .arg("--json")
        .arg("verify")
        .arg(work.path("garbage.bin"))
        .assert()
        .code(1);
    let error = json(&assert.get_output().stdout);
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("garbage.bin"),
        "{error}"
    );
    assert_eq!(error["kind"], "corrupt");
}

// Usage errors: exit 2.

#[test]
fn unknown_option_is_a_usage_error() {
    let work = Work::with(&["installed-rsa.jks", "new-rsa-bundle.pem"]);
    work.icg_on("installed-rsa.jks")
        .arg("verify")
        .arg("new-rsa-bundle.pem")
        .arg("--no-such-option")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--no-such-option"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn missing_new_argument_is_a_usage_error() {
    let work = Work::with(&["installed-rsa.jks"]);
    work.icg_on("installed-rsa.jks")
        .arg("verify")
        .assert()
        .code(2);
}

#[test]
fn json_usage_error_is_one_document_of_kind_usage() {
    let work = Work::with(&["installed-rsa.jks", "new-rsa-bundle.pem"]);
    let assert = work
        .icg_on("installed-rsa.jks")
        .arg("--json")
        .arg("verify")
        .arg("new-rsa-bundle.pem")
        .arg("--no-such-option")
        .assert()
        .code(2);
    let error = json(&assert.get_output().stdout);
    assert_eq!(error["kind"], "usage", "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("--no-such-option"),
        "{error}"
    );
}

#[test]
fn usage_error_of_verify_with_a_file_named_status_is_exit_2() {
    let work = Work::with(&["installed-rsa.jks"]);
    work.copy_as("new-rsa-bundle.pem", "status");
    work.icg_on("installed-rsa.jks")
        .arg("verify")
        .arg("status")
        .arg("--no-such-option")
        .assert()
        .code(2);
}
