//! Helpers shared by the fuzz targets.

use icg_renew::keystore::jks;
use icg_renew::secret::Password;

/// The store password of the installed fixture keystores (`fixtures/store.pass`).
pub fn store_password() -> Password {
    Password::new(include_str!("../../fixtures/store.pass").trim_end_matches(['\r', '\n']).to_string())
}

/// The password of the new-material fixtures (`fixtures/new.pass`).
pub fn new_password() -> Password {
    Password::new(include_str!("../../fixtures/new.pass").trim_end_matches(['\r', '\n']).to_string())
}

/// `data` with its trailing JKS store digest recomputed for `password`, so that mutated JKS files get past
/// the integrity check (a fuzzer cannot forge SHA-1) and reach entry handling and key decryption.
/// `None` when the data is not long enough to be a JKS file or does not start like one.
pub fn with_fixed_jks_digest(data: &[u8], password: &Password) -> Option<Vec<u8>> {
    const DIGEST_LEN: usize = 20;
    if !jks::looks_like_jks(data) || data.len() < 12 + DIGEST_LEN {
        return None;
    }
    let body = &data[..data.len() - DIGEST_LEN];
    let mut sha = openssl::sha::Sha1::new();
    sha.update(&password.utf16be());
    sha.update(b"Mighty Aphrodite");
    sha.update(body);
    let digest = sha.finish();
    if digest == data[body.len()..] {
        return None; // already right: no need to run the same input twice
    }
    let mut fixed = body.to_vec();
    fixed.extend_from_slice(&digest);
    Some(fixed)
}
