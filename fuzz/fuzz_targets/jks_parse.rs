//! The JKS reader: `jks::parse` with the fixture store password, key decryption of every protected key it
//! finds, and `decrypt_key` on the raw input. Inputs are also tried with their store digest fixed up, so that
//! mutations get past the integrity check. A store that parses must serialise back to the same bytes (up to its digest: what follows is ignored).
#![no_main]

use icg_renew::keystore::jks;
use icg_renew::secret::Password;
use icg_renew_fuzz::{store_password, with_fixed_jks_digest};
use libfuzzer_sys::fuzz_target;

fn exercise(data: &[u8], password: &Password) {
    if let Ok(store) = jks::parse(data, password) {
        for entry in &store.entries {
            if let Some(blob) = &entry.protected_key {
                let _ = jks::decrypt_key(blob, password);
            }
        }
        // Bytes after the digest are ignored on reading, as Java ignores them, and not written back.
        assert!(
            data.starts_with(&store.serialize(password, None)),
            "a parsed JKS store does not serialise back to its own bytes"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let password = store_password();
    let _ = jks::decrypt_key(data, &password);
    exercise(data, &password);
    if let Some(fixed) = with_fixed_jks_digest(data, &password) {
        exercise(&fixed, &password);
    }
});
