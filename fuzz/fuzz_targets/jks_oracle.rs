//! The `jks` crate as an independent oracle for `jks::parse`: whenever our reader accepts an input (as
//! given, or with its store digest fixed up), the crate reads it too, under `catch_unwind` with the panic
//! hook silenced (its own panics are its faults, not findings), and where it also accepts, both must see
//! the same aliases, entry types, certificates and protected key bytes.
#![no_main]

use icg_renew::keystore::jks;
use icg_renew::secret::Password;
use icg_renew_fuzz::{store_password, with_fixed_jks_digest};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

type Seen = BTreeMap<String, (Option<Vec<u8>>, Vec<Vec<u8>>)>;

fn theirs(data: &[u8], password: &Password) -> Option<Seen> {
    let mut store = ::jks::KeyStore::new();
    store.load(data, password.expose().as_bytes()).ok()?;
    let mut seen = Seen::new();
    for alias in store.aliases() {
        let entry = if store.is_private_key_entry(&alias) {
            let key = store.get_raw_private_key_entry(&alias).ok()?;
            (
                Some(key.private_key),
                key.certificate_chain
                    .into_iter()
                    .map(|c| c.content)
                    .collect(),
            )
        } else {
            let cert = store.get_trusted_certificate_entry(&alias).ok()?;
            (None, vec![cert.certificate.content])
        };
        seen.insert(alias, entry);
    }
    Some(seen)
}

fn exercise(data: &[u8], password: &Password) {
    let Ok(store) = jks::parse(data, password) else {
        return;
    };
    let ours: Seen = store
        .entries
        .into_iter()
        .map(|e| (e.alias, (e.protected_key, e.der)))
        .collect();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let theirs = catch_unwind(AssertUnwindSafe(|| theirs(data, password)));
    std::panic::set_hook(hook);
    if let Ok(Some(theirs)) = theirs {
        // The crate keeps one entry per alias (a map); a file with a repeated alias is not comparable.
        if theirs.len() == ours.len() {
            assert!(
                ours == theirs,
                "the jks crate reads other entries than jks::parse"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let password = store_password();
    exercise(data, &password);
    if let Some(fixed) = with_fixed_jks_digest(data, &password) {
        exercise(&fixed, &password);
    }
});
