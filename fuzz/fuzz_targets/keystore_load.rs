//! `Keystore::load` on arbitrary bytes with the fixture store password, then what the tool does with a
//! loaded installed keystore: pick the server entry, decrypt the key entries (JKS key protector or PKCS#12
//! bags), describe the protection, and rewrite the key entry with its own key and chain, which must load
//! again. JKS inputs are also tried with their store digest fixed up, so that mutations get past it. Every
//! input that is one DER element is also tried re-encoded as BER (indefinite lengths, OCTET STRINGs in
//! pieces): where the DER form loads, the BER form must load with the same entries.
#![no_main]

use icg_renew::keystore::{describe_bytes, Keystore, NewKeyEntry};
use icg_renew::secret::Password;
use icg_renew_fuzz::{as_ber, store_password, with_fixed_jks_digest};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// Highest iteration count for which keys are decrypted and the rewrite is tried (the writer reuses the file's
/// counts): the tool accepts up to Java's 5,000,000 per count, seconds of work per key, which would make every
/// mutation of such a seed a timeout without testing anything new.
const MAX_REWRITE_ITERATIONS: u64 = 50_000;

fn exercise(data: &[u8], password: &Password) {
    let path = Path::new("fuzz");
    let Ok(store) = Keystore::load(data, password, path) else {
        return;
    };
    let protection = store.protection();
    let _ = store.server_entry(None, path, &icg_renew::error::AliasFrom::CommandLine);
    let aliases: Vec<String> = store.key_aliases().iter().map(|a| a.to_string()).collect();
    let rewrite_is_cheap = protection
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u64>().ok())
        .all(|n| n <= MAX_REWRITE_ITERATIONS);
    for alias in &aliases {
        let _ = store.server_entry(
            Some(&alias.to_ascii_uppercase()),
            path,
            &icg_renew::error::AliasFrom::CommandLine,
        );
        if !rewrite_is_cheap {
            continue;
        }
        let Ok(key) = store.private_key(alias, password, path) else {
            continue;
        };
        let Some(entry) = store.entry(alias) else {
            continue;
        };
        let new = NewKeyEntry {
            alias,
            key: &key,
            chain: &entry.certs,
            timestamp_ms: 1_700_000_000_000,
        };
        if let Ok(rewritten) = store.with_replaced_key(&new, password, password, path) {
            let reloaded = Keystore::load(&rewritten, password, path)
                .unwrap_or_else(|e| panic!("a rewritten keystore does not load again: {e}"));
            let again = reloaded
                .private_key(alias, password, path)
                .unwrap_or_else(|e| panic!("the rewritten key entry cannot be read: {e}"));
            assert!(
                again.public_eq(&key),
                "the rewritten key entry holds another key"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let password = store_password();
    let _ = describe_bytes(data);
    exercise(data, &password);
    if let Some(fixed) = with_fixed_jks_digest(data, &password) {
        exercise(&fixed, &password);
    }
    if let Some(ber) = as_ber(data) {
        exercise(&ber, &password);
        let path = Path::new("fuzz");
        if let Ok(store) = Keystore::load(data, &password, path) {
            let again = Keystore::load(&ber, &password, path).unwrap_or_else(|e| {
                panic!("the BER form of a loading keystore does not load: {e}")
            });
            let seen = |s: &Keystore| -> Vec<(String, &'static str, Vec<Vec<u8>>)> {
                s.entries
                    .iter()
                    .map(|e| (e.alias.clone(), e.kind.name(), e.der.clone()))
                    .collect()
            };
            assert_eq!(seen(&store), seen(&again), "BER and DER forms differ");
        }
    }
});
