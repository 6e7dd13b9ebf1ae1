//! The DER structures read outside the PKCS#12 codec, all with RustCrypto's `der` crate or OpenSSL: the
//! PKCS#12 cost pre-check (`pkcs12::sniff_params`, `pkcs12::looks_like_pkcs12`), the JKS key blob
//! (`jks::decrypt_key`, and `jks::encrypt_key`, whose blob must decrypt to the (non-empty) input again) and the CA flag
//! of a certificate OpenSSL parses (`cert::is_ca`). And the BER normaliser (`ber::to_der`): on input it
//! leaves as it is (DER lengths, no constructed OCTET STRING), the BER form of that input converts back to it.
#![no_main]

use icg_renew::cert;
use icg_renew::keystore::{ber, jks, pkcs12};
use icg_renew_fuzz::{as_ber, store_password};
use libfuzzer_sys::fuzz_target;
use openssl::x509::X509;

fuzz_target!(|data: &[u8]| {
    let _ = pkcs12::sniff_params(data);
    let _ = pkcs12::looks_like_pkcs12(data);
    if let (Ok(std::borrow::Cow::Borrowed(_)), Some(ber_form)) = (ber::to_der(data), as_ber(data)) {
        let _ = pkcs12::sniff_params(&ber_form);
        let back = ber::to_der(&ber_form).expect("the BER form of DER converts");
        assert_eq!(back.as_ref(), data, "BER to DER does not give the DER back");
    }
    if let Ok(cert) = X509::from_der(data) {
        let _ = cert::is_ca(&cert);
    }
    let password = store_password();
    let _ = jks::decrypt_key(data, &password);
    // A key of at least one byte (the reader refuses an empty one, as Java holds no such key).
    if !data.is_empty() {
        let blob = jks::encrypt_key(data, &password).expect("a key blob is written");
        let plain = jks::decrypt_key(&blob, &password).expect("a written key blob decrypts again");
        assert_eq!(
            plain.expose(),
            data,
            "a JKS key blob does not decrypt to what was protected"
        );
    }
});
