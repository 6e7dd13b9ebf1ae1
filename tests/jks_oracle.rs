//! The `jks` crate as an independent oracle for icg-renew's own JKS reader: on every JKS keystore that
//! scripts/make-fixtures makes with keytool (fixtures/ and fixtures/shapes/), on the JKS that `icg-renew
//! sandbox` writes, and on that one renewed, both must accept or both refuse, and where both accept they
//! must read the same entries: aliases, entry types, certificates and the protected key bytes. The crate
//! runs under `catch_unwind`: a panic in it is reported, never taken for an answer.

mod common;
mod sandbox;

use icg_renew::keystore::jks::{self, JksStore};
use icg_renew::secret::Password;
use sandbox::Sandbox;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// An entry as either reader sees it: trusted or key, certificates (DER), protected key bytes.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    key: Option<Vec<u8>>,
    certs: Vec<Vec<u8>>,
}

fn ours(data: &[u8], password: &str) -> Option<BTreeMap<String, Seen>> {
    let store: JksStore = jks::parse(data, &Password::new(password.to_string())).ok()?;
    Some(
        store
            .entries
            .into_iter()
            .map(|e| {
                (
                    e.alias,
                    Seen {
                        key: e.protected_key,
                        certs: e.der,
                    },
                )
            })
            .collect(),
    )
}

/// `Err` when the crate panicked.
fn theirs(data: &[u8], password: &str) -> Result<Option<BTreeMap<String, Seen>>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        let mut store = ::jks::KeyStore::new();
        store.load(data, password.as_bytes()).ok()?;
        let mut seen = BTreeMap::new();
        for alias in store.aliases() {
            let entry = if store.is_private_key_entry(&alias) {
                let key = store.get_raw_private_key_entry(&alias).ok()?;
                Seen {
                    key: Some(key.private_key),
                    certs: key
                        .certificate_chain
                        .into_iter()
                        .map(|c| c.content)
                        .collect(),
                }
            } else {
                let cert = store.get_trusted_certificate_entry(&alias).ok()?;
                Seen {
                    key: None,
                    certs: vec![cert.certificate.content],
                }
            };
            seen.insert(alias, entry);
        }
        Some(seen)
    }))
    .map_err(|_| "the jks crate panicked".to_string())
}

/// Compares both readers on one file; returns whether both accepted it.
fn compare(path: &Path, password: &str) -> bool {
    let data = std::fs::read(path).unwrap();
    let ours = ours(&data, password);
    let theirs = theirs(&data, password).unwrap_or_else(|why| panic!("{}: {why}", path.display()));
    assert_eq!(
        ours.is_some(),
        theirs.is_some(),
        "{}: icg-renew {} it, the jks crate {} it",
        path.display(),
        if ours.is_some() { "reads" } else { "refuses" },
        if theirs.is_some() { "reads" } else { "refuses" },
    );
    if let (Some(ours), Some(theirs)) = (&ours, &theirs) {
        assert_eq!(
            ours,
            theirs,
            "{}: the two readers see different entries",
            path.display()
        );
    }
    ours.is_some()
}

fn jks_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jks"))
        .collect();
    files.sort();
    files
}

#[test]
fn both_readers_agree_on_every_jks_fixture() {
    let store = common::store_password();
    let new = String::from_utf8(common::fixture_bytes("new.pass")).unwrap();
    let mut accepted = 0;
    let mut files = jks_files(&common::fixture(""));
    files.extend(jks_files(&common::fixture("shapes")));
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let password = if name.starts_with("new-") {
            &new
        } else {
            &store
        };
        if compare(path, password) {
            accepted += 1;
        }
    }
    // Every fixture but the truncated one is a keystore keytool lists.
    assert_eq!(accepted, files.len() - 1, "{files:?}");
    assert!(accepted >= 5, "{files:?}");
}

#[test]
fn both_readers_agree_on_a_sandbox_jks_before_and_after_a_renewal() {
    let sandbox = Sandbox::new();
    let keystore = sandbox.keystore();
    let password = sandbox.password();
    assert!(compare(&keystore, &password));
    sandbox.renew_json().assert().success();
    assert!(compare(&keystore, &password));
    // And a wrong password is refused by both.
    assert!(!compare(&keystore, "not the password"));
}
