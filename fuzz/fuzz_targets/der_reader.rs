//! The hand-written DER reader and what is built on it: basic-constraints and extension lookup in a
//! certificate, the PKCS#12 algorithm sniffer, and the small INTEGER and OID helpers.
#![no_main]

use icg_renew::der;
use icg_renew::keystore::pkcs12;
use libfuzzer_sys::fuzz_target;

/// basicConstraints and subjectAltName.
const OIDS: [&[u8]; 2] = [&[0x55, 0x1D, 0x13], &[0x55, 0x1D, 0x11]];

fuzz_target!(|data: &[u8]| {
    let _ = der::certificate_is_ca(data);
    for oid in OIDS {
        let _ = der::certificate_extension(data, oid);
    }
    // The first byte picks how many following bytes are an OID to look up in the rest.
    if let Some((&n, rest)) = data.split_first() {
        let n = usize::from(n % 16).min(rest.len());
        let (oid, cert) = rest.split_at(n);
        let _ = der::certificate_extension(cert, oid);
        let _ = der::oid_to_string(oid);
        let _ = der::small_uint(oid);
    }
    let _ = pkcs12::sniff_params(data);
    let _ = pkcs12::looks_like_pkcs12(data);
});
