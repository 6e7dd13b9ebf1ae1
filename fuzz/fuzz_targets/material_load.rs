//! `material::from_bytes` (JKS, PKCS#12, ZIP containers, PEM bundles, DER) with the fixture new-material
//! password; when material loads, the certificate summary and every compatibility check run on it against
//! the installed fixture chain, as the tool does. JKS inputs are also tried with their digest fixed up.
#![no_main]

use icg_renew::cert::CertSummary;
use icg_renew::utc::Clock;
use icg_renew::checks;
use icg_renew::keystore::Keystore;
use icg_renew::material::{self, MaterialOptions};
use icg_renew_fuzz::{new_password, store_password, with_fixed_jks_digest};
use libfuzzer_sys::fuzz_target;
use openssl::x509::X509;
use std::path::Path;
use std::sync::OnceLock;

/// The installed chain (leaf first) and root the checks compare against: `fixtures/installed-rsa.jks`.
fn installed() -> &'static (Vec<X509>, X509) {
    static INSTALLED: OnceLock<(Vec<X509>, X509)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let path = Path::new("fixtures/installed-rsa.jks");
        let store = Keystore::load(
            include_bytes!("../../fixtures/installed-rsa.jks"),
            &store_password(),
            path,
        )
        .expect("installed fixture loads");
        let chain = store
            .server_entry(None, path, &icg_renew::error::AliasFrom::CommandLine)
            .expect("server entry")
            .certs
            .clone();
        let root = X509::from_pem(include_bytes!("../../fixtures/root.pem")).expect("root fixture");
        (chain, root)
    })
}

fn exercise(data: &[u8]) {
    let options = MaterialOptions {
        password: Some(new_password()),
        ..Default::default()
    };
    let Ok(material) = material::from_bytes(data, Path::new("fuzz"), &options) else {
        return;
    };
    let clock = Clock::at(1_800_000_000);
    for cert in &material.chain {
        let _ = CertSummary::of(cert, clock);
    }
    let (chain, root) = installed();
    let _ = checks::run_all(chain, root, &material, clock);
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if let Some(fixed) = with_fixed_jks_digest(data, &new_password()) {
        exercise(&fixed);
    }
});
