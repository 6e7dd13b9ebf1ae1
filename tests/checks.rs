//! The compatibility checks of `icg_renew::checks`, one by one, on certificates and keys from `fixtures/`.
//! Each check id has a test where it passes and one where it fails (or warns, for the checks that only warn).

mod common;

use common::{fixture, fixture_bytes, CHECK_IDS};
use icg_renew::cert::unix_time;
use icg_renew::checks::{self, Check, Status};
use icg_renew::material::{self, KeySource, Material, MaterialOptions};
use icg_renew::utc::Clock;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

/// 2014-06-01T00:00:00Z, 2015-06-01T00:00:00Z and 2016-06-01T00:00:00Z: before, inside and after the validity
/// of `bad-validity.pem` (2015-01-01 … 2016-01-01).
const BEFORE_2015: i64 = 1_401_580_800;
const MID_2015: i64 = 1_433_116_800;
const AFTER_2016: i64 = 1_464_739_200;

/// Every certificate of a PEM fixture, in file order.
fn certs(name: &str) -> Vec<X509> {
    X509::stack_from_pem(&fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first certificate of a PEM fixture (the leaf, in every bundle but new-rsa-bundle.pem).
fn cert(name: &str) -> X509 {
    certs(name).remove(0)
}

/// The private key of a PEM fixture (a key file, or the key block of a bundle).
fn key(name: &str) -> PKey<Private> {
    PKey::private_key_from_pem(&fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn root() -> X509 {
    cert("root.pem")
}

fn installed_leaf() -> X509 {
    cert("installed-rsa-leaf.pem")
}

/// New material as the tool loads it.
fn material(name: &str) -> Material {
    material::load(&fixture(name), &MaterialOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_check(check: &Check, id: &str, status: Status) {
    assert_eq!(check.id, id);
    assert_eq!(check.status, status, "{id}: {}", check.detail);
    assert!(!check.detail.is_empty(), "{id} has no detail");
}

// key-matches

#[test]
fn key_matches_passes_for_the_leafs_own_key() {
    let check = checks::key_matches(
        &cert("new-rsa.pem"),
        Some(&key("new-rsa.key")),
        &KeySource::Material,
    );
    assert_check(&check, "key-matches", Status::Pass);
}

#[test]
fn key_matches_fails_for_another_key() {
    let check = checks::key_matches(
        &cert("bad-key-matches.pem"),
        Some(&key("bad-key-matches.pem")),
        &KeySource::Material,
    );
    assert_check(&check, "key-matches", Status::Fail);
}

// signed

#[test]
fn signed_passes_for_a_leaf_signed_by_the_root() {
    assert_check(
        &checks::signed(&cert("new-rsa.pem")),
        "signed",
        Status::Pass,
    );
}

#[test]
fn signed_fails_for_a_self_signed_leaf() {
    let check = checks::signed(&cert("bad-signed.pem"));
    assert_check(&check, "signed", Status::Fail);
    assert!(check.detail.contains("self-signed"), "{}", check.detail);
}

// end-entity

#[test]
fn end_entity_passes_for_a_server_certificate() {
    let check = checks::end_entity(&cert("new-rsa.pem"));
    assert_check(&check, "end-entity", Status::Pass);
}

#[test]
fn end_entity_fails_for_a_ca_certificate() {
    let check = checks::end_entity(&cert("bad-end-entity.pem"));
    assert_check(&check, "end-entity", Status::Fail);
}

// same-root

#[test]
fn same_root_passes_and_returns_the_chain_leaf_to_root() {
    let leaf = cert("new-rsa.pem");
    let (check, chain) = checks::same_root(&[leaf.clone(), root()], &root());
    assert_check(&check, "same-root", Status::Pass);
    let chain = chain.expect("a verified chain");
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].to_der().unwrap(), leaf.to_der().unwrap());
    assert_eq!(chain[1].to_der().unwrap(), root().to_der().unwrap());
}

#[test]
fn same_root_passes_through_an_intermediate_from_the_new_material() {
    let (check, chain) = checks::same_root(&material("new-inter-bundle.pem").chain, &root());
    assert_check(&check, "same-root", Status::Pass);
    assert_eq!(chain.expect("a verified chain").len(), 3);
}

#[test]
fn same_root_fails_for_a_leaf_of_another_root_and_says_it_cannot_be_used() {
    let (check, chain) = checks::same_root(&certs("bad-same-root.pem"), &root());
    assert_check(&check, "same-root", Status::Fail);
    assert!(chain.is_none());
    // Another root: naming it, and no --chain advice, which could not help (issue 22, point 3).
    assert!(
        check
            .detail
            .contains("comes from another root, CN=Other Root CA")
            && check.detail.contains("cannot be used")
            && !check.detail.contains("--chain"),
        "{}",
        check.detail
    );
}

#[test]
fn same_root_without_the_intermediate_points_at_the_missing_ca() {
    let leaf = material("new-inter-bundle.pem").chain[0].clone();
    let (check, _) = checks::same_root(&[leaf], &root());
    assert_check(&check, "same-root", Status::Fail);
    assert!(
        check
            .detail
            .contains("issued by CN=IGEL Test Intermediate CA")
            && check.detail.contains("add it with --chain"),
        "{}",
        check.detail
    );
}

// same-hosts

#[test]
fn same_hosts_passes_for_the_same_names_and_addresses() {
    let check = checks::same_hosts(&installed_leaf(), &cert("new-rsa.pem"));
    assert_check(&check, "same-hosts", Status::Pass);
}

#[test]
fn same_hosts_fails_and_names_the_missing_ip_address() {
    let check = checks::same_hosts(&installed_leaf(), &cert("bad-same-hosts.pem"));
    assert_check(&check, "same-hosts", Status::Fail);
    assert!(check.detail.contains("203.0.113.10"), "{}", check.detail);
}

#[test]
fn same_hosts_warns_and_names_an_added_host() {
    let check = checks::same_hosts(&installed_leaf(), &cert("warn-extra-host.pem"));
    assert_check(&check, "same-hosts", Status::Warn);
    assert!(
        check.detail.contains("extra.example.test"),
        "{}",
        check.detail
    );
}

// san-present

#[test]
fn san_present_passes_with_a_subject_alternative_name() {
    let check = checks::san_present(&cert("new-rsa.pem"));
    assert_check(&check, "san-present", Status::Pass);
}

#[test]
fn san_present_fails_without_a_subject_alternative_name() {
    let check = checks::san_present(&cert("bad-san-present.pem"));
    assert_check(&check, "san-present", Status::Fail);
}

// validity (the clock is injected; bad-validity.pem is valid 2015-01-01 … 2016-01-01)

#[test]
fn validity_passes_inside_the_validity_period() {
    let check = checks::validity(&cert("bad-validity.pem"), Clock::at(MID_2015));
    assert_check(&check, "validity", Status::Pass);
}

#[test]
fn validity_fails_before_the_validity_period() {
    let check = checks::validity(&cert("bad-validity.pem"), Clock::at(BEFORE_2015));
    assert_check(&check, "validity", Status::Fail);
    assert!(
        check.detail.contains("not valid before"),
        "{}",
        check.detail
    );
}

#[test]
fn validity_fails_after_the_validity_period() {
    let check = checks::validity(&cert("bad-validity.pem"), Clock::at(AFTER_2016));
    assert_check(&check, "validity", Status::Fail);
    assert!(check.detail.contains("expired"), "{}", check.detail);
}

// newer (warns, never fails)

#[test]
fn newer_passes_when_the_new_leaf_expires_later() {
    let check = checks::newer(&installed_leaf(), &cert("new-rsa.pem"));
    assert_check(&check, "newer", Status::Pass);
}

#[test]
fn newer_warns_when_the_new_leaf_expires_earlier() {
    let check = checks::newer(&installed_leaf(), &cert("warn-newer.pem"));
    assert_check(&check, "newer", Status::Warn);
}

// name-differs-from-root

#[test]
fn name_differs_from_root_passes_for_a_server_name() {
    let check = checks::name_differs_from_root(&cert("new-rsa.pem"), &root());
    assert_check(&check, "name-differs-from-root", Status::Pass);
}

#[test]
fn name_differs_from_root_fails_for_the_roots_common_name() {
    let check = checks::name_differs_from_root(&cert("bad-name-differs-from-root.pem"), &root());
    assert_check(&check, "name-differs-from-root", Status::Fail);
}

// key-strength

#[test]
fn key_strength_passes_for_rsa_2048() {
    let check = checks::key_strength(&cert("new-rsa.pem"));
    assert_check(&check, "key-strength", Status::Pass);
}

#[test]
fn key_strength_passes_for_ec_p256() {
    let check = checks::key_strength(&cert("new-ec.pem"));
    assert_check(&check, "key-strength", Status::Pass);
}

#[test]
fn key_strength_fails_for_rsa_1024() {
    let check = checks::key_strength(&cert("bad-key-strength.pem"));
    assert_check(&check, "key-strength", Status::Fail);
    assert!(check.detail.contains("1024"), "{}", check.detail);
}

#[test]
fn key_strength_fails_for_an_ec_curve_other_than_the_nist_ones() {
    let check = checks::key_strength(&self_signed_on_secp256k1());
    assert_check(&check, "key-strength", Status::Fail);
}

/// A throwaway self-signed certificate with a secp256k1 key (no fixture has one).
fn self_signed_on_secp256k1() -> X509 {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    let group = EcGroup::from_curve_name(Nid::SECP256K1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "k1.example.test").unwrap();
    let name = name.build();
    let mut builder = openssl::x509::X509Builder::new().unwrap();
    builder.set_version(2).unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&key).unwrap();
    let not_before = openssl::asn1::Asn1Time::from_unix(MID_2015).unwrap();
    let not_after = openssl::asn1::Asn1Time::from_unix(AFTER_2016).unwrap();
    builder.set_not_before(&not_before).unwrap();
    builder.set_not_after(&not_after).unwrap();
    builder.sign(&key, MessageDigest::sha256()).unwrap();
    builder.build()
}

// signature-algorithm

#[test]
fn signature_algorithm_passes_for_sha256() {
    let check = checks::signature_algorithm(&[cert("new-rsa.pem"), root()], &root());
    assert_check(&check, "signature-algorithm", Status::Pass);
}

#[test]
fn signature_algorithm_fails_for_a_sha1_signed_leaf() {
    let check =
        checks::signature_algorithm(&[cert("bad-signature-algorithm.pem"), root()], &root());
    assert_check(&check, "signature-algorithm", Status::Fail);
    assert!(
        check.detail.contains("icg.example.test"),
        "{}",
        check.detail
    );
}

// installed_root

#[test]
fn installed_root_is_the_self_signed_top_of_the_chain() {
    let found = checks::installed_root(&[installed_leaf(), root()], &[]).expect("a root");
    assert_eq!(found.to_der().unwrap(), root().to_der().unwrap());
}

#[test]
fn installed_root_is_found_among_the_trusted_entries() {
    let trusted = [cert("other-root.pem"), root()];
    let found = checks::installed_root(&[installed_leaf()], &trusted).expect("a root");
    assert_eq!(found.to_der().unwrap(), root().to_der().unwrap());
}

#[test]
fn installed_root_falls_back_to_the_top_of_the_chain_without_its_issuer() {
    let found = checks::installed_root(&[installed_leaf()], &[cert("other-root.pem")])
        .expect("a certificate");
    assert_eq!(found.to_der().unwrap(), installed_leaf().to_der().unwrap());
}

#[test]
fn installed_root_of_an_empty_chain_is_none() {
    assert!(checks::installed_root(&[], &[root()]).is_none());
}

// differs-from-installed

#[test]
fn differs_from_installed_fails_for_the_installed_certificate_itself() {
    let installed = installed_leaf();
    let check = checks::differs_from_installed(&installed, &installed);
    assert_check(&check, "differs-from-installed", Status::Fail);
    assert_eq!(
        check.detail,
        "this is the installed certificate; give the new one"
    );
    let new = material("new-rsa-bundle.pem");
    let check = checks::differs_from_installed(&installed, new.leaf());
    assert_check(&check, "differs-from-installed", Status::Pass);
}

// run_all

/// A time inside the validity of the new leaf of `material` (made the day the fixtures were).
fn clock_inside(material: &Material) -> Clock {
    Clock::at(unix_time(material.leaf().not_before()) + 86_400)
}

#[test]
fn run_all_passes_every_check_in_the_contracts_order_for_good_material() {
    let new = material("new-rsa-bundle.pem");
    let report = checks::run_all(
        &[installed_leaf(), root()],
        &root(),
        &new,
        clock_inside(&new),
    );
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, CHECK_IDS);
    let not_passed: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:?}");
    assert!(report.compatible());
    assert_eq!(report.verified_chain.expect("verified chain").len(), 2);
}

#[test]
fn run_all_is_incompatible_when_one_check_fails() {
    let new = material("bad-same-hosts.pem");
    let report = checks::run_all(
        &[installed_leaf(), root()],
        &root(),
        &new,
        clock_inside(&new),
    );
    assert!(!report.compatible());
    let failed: Vec<&str> = report.failures().map(|c| c.id).collect();
    assert_eq!(failed, ["same-hosts"]);
}

#[test]
fn run_all_stays_compatible_with_only_warnings() {
    let new = material("warn-newer.pem");
    let report = checks::run_all(
        &[installed_leaf(), root()],
        &root(),
        &new,
        clock_inside(&new),
    );
    assert!(report.compatible());
    let warned: Vec<&str> = report.warnings().map(|c| c.id).collect();
    assert_eq!(warned, ["newer"]);
}

#[test]
fn run_all_judges_validity_by_the_injected_clock() {
    let new = material("new-rsa-bundle.pem");
    let long_ago = Clock::at(MID_2015);
    let report = checks::run_all(&[installed_leaf(), root()], &root(), &new, long_ago);
    let failed: Vec<&str> = report.failures().map(|c| c.id).collect();
    assert_eq!(failed, ["validity"]);
}
