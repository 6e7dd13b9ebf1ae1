//! Certificate facts as the contract shows them: the summary (subject, issuer, serial, validity, days left,
//! SHA-256 fingerprint, DNS names, IP addresses, CA flag), and the time arithmetic behind it. The current time
//! is always passed in (`Clock`), so that tests never depend on today's date.

use crate::utc::{rfc3339, Clock, UnixTime};
use foreign_types::ForeignTypeRef;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509Ref};
use serde::Serialize;
use std::net::IpAddr;

/// The certificate summary of the contract's JSON shapes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub sha256: String,
    /// What the UMS console lists for an ICG certificate (and filters devices by).
    pub sha1: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub is_ca: bool,
}

impl CertSummary {
    pub fn of(cert: &X509Ref, clock: Clock) -> Self {
        let not_after = unix_time(cert.not_after());
        let (dns_names, ip_addresses) = subject_alt_names(cert).unwrap_or_default();
        CertSummary {
            subject: name_to_string(cert.subject_name()),
            issuer: name_to_string(cert.issuer_name()),
            serial: cert
                .serial_number()
                .to_bn()
                .ok()
                .and_then(|bn| bn.to_hex_str().ok().map(|s| s.to_string()))
                .unwrap_or_default(),
            not_before: rfc3339(unix_time(cert.not_before())),
            not_after: rfc3339(not_after),
            days_left: (not_after - clock.now).div_euclid(86_400),
            sha256: sha256_fingerprint(cert),
            sha1: sha1_fingerprint(cert),
            dns_names,
            ip_addresses,
            is_ca: is_ca(cert),
        }
    }
}

/// Upper-case, colon-separated SHA-256 of the DER certificate.
pub fn sha256_fingerprint(cert: &X509Ref) -> String {
    cert.digest(MessageDigest::sha256())
        .map(|d| hex_colons(&d))
        .unwrap_or_default()
}

/// Upper-case, colon-separated SHA-1 of the DER certificate: the fingerprint the UMS console shows.
pub fn sha1_fingerprint(cert: &X509Ref) -> String {
    cert.digest(MessageDigest::sha1())
        .map(|d| hex_colons(&d))
        .unwrap_or_default()
}

pub fn hex_colons(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether the certificate has basicConstraints `CA:TRUE`, as OpenSSL reads it: the same reading that
/// OpenSSL's chain verification uses, and for every certificate OpenSSL parsed (a strict DER decoder refuses
/// some that OpenSSL and Java accept). A basicConstraints OpenSSL cannot decode, or one present twice, is no
/// CA flag.
pub fn is_ca(cert: &X509Ref) -> bool {
    // SAFETY: `cert` is a valid X509 for the duration of the call; X509_get_extension_flags only reads it
    // (it decodes and caches the extensions under OpenSSL's own lock on first use) and keeps no pointer.
    let flags = unsafe { openssl_sys::X509_get_extension_flags(cert.as_ptr()) };
    flags & openssl_sys::EXFLAG_CA != 0
}

/// The DNS names and IP addresses of the Subject Alternative Name, or `None` when it has no SAN.
pub fn subject_alt_names(cert: &X509Ref) -> Option<(Vec<String>, Vec<String>)> {
    let names = cert.subject_alt_names()?;
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in &names {
        if let Some(d) = name.dnsname() {
            dns.push(d.to_string());
        } else if let Some(ip) = name.ipaddress().and_then(ip_from_bytes) {
            ips.push(ip.to_string());
        }
    }
    Some((dns, ips))
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// The subject's common name (the first CN), if it has one.
pub fn common_name(name: &X509NameRef) -> Option<String> {
    name.entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
}

/// A distinguished name in RFC 4514 order, most specific first: `CN=…,O=…`.
pub fn name_to_string(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|entry| {
            let key = entry
                .object()
                .nid()
                .short_name()
                .map(str::to_string)
                .unwrap_or_else(|_| entry.object().to_string());
            let value = entry.data().to_string().unwrap_or_else(|_| "?".to_string());
            format!("{key}={}", escape_dn_value(&value))
        })
        .collect();
    parts.reverse();
    parts.join(",")
}

fn escape_dn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') {
            out.push('\\');
        } else if c.is_control() {
            // RFC 4514's hex escape: a subject chosen by whoever made the certificate shows no raw control.
            let mut utf8 = [0u8; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                out.push_str(&format!("\\{byte:02X}"));
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// An ASN.1 time as Unix seconds.
pub fn unix_time(time: &Asn1TimeRef) -> UnixTime {
    Asn1Time::from_unix(0)
        .ok()
        .and_then(|epoch| epoch.diff(time).ok())
        .map(|d| i64::from(d.days) * 86_400 + i64::from(d.secs))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate with basicConstraints `constraints` (OpenSSL's text form), or none.
    fn certificate(constraints: Option<&str>) -> openssl::x509::X509 {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::pkey::PKey;
        use openssl::x509::{X509Extension, X509NameBuilder, X509};
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "ca-flag test").unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::from_unix(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::from_unix(86_400).unwrap())
            .unwrap();
        if let Some(value) = constraints {
            #[allow(deprecated)] // the text form is the shortest way to write these variants
            let ext = X509Extension::new_nid(None, None, Nid::BASIC_CONSTRAINTS, value).unwrap();
            b.append_extension(ext).unwrap();
        }
        b.sign(&key, MessageDigest::sha256()).unwrap();
        b.build()
    }

    /// The certificate with its first `from` byte sequence replaced by `to` (same length), as OpenSSL reads it.
    fn altered(cert: &openssl::x509::X509, from: &[u8], to: &[u8]) -> openssl::x509::X509 {
        let mut der = cert.to_der().unwrap();
        let at = der.windows(from.len()).position(|w| w == from).unwrap();
        der[at..at + to.len()].copy_from_slice(to);
        openssl::x509::X509::from_der(&der).unwrap()
    }

    #[test]
    fn the_ca_flag_is_basic_constraints_ca_true() {
        assert!(is_ca(&certificate(Some("critical,CA:TRUE"))));
        assert!(is_ca(&certificate(Some("CA:TRUE,pathlen:0"))));
        assert!(!is_ca(&certificate(Some("critical,CA:FALSE"))));
        assert!(!is_ca(&certificate(None)));
    }

    /// Chosen behaviour for certificates a strict DER decoder refuses: OpenSSL's reading decides.
    #[test]
    fn the_ca_flag_follows_openssl_where_strict_der_would_refuse() {
        let ca = certificate(Some("critical,CA:TRUE"));
        // BasicConstraints { cA BOOLEAN }: TRUE written as 01 instead of DER's FF. OpenSSL (and Java) read
        // it as TRUE; a strict DER decoder would refuse the certificate and so miss the CA flag.
        let bc_true = [0x30, 0x03, 0x01, 0x01, 0xFF];
        let loose_true = altered(&ca, &bc_true, &[0x30, 0x03, 0x01, 0x01, 0x01]);
        assert!(is_ca(&loose_true));
        use der::Decode;
        assert!(
            bool::from_der(&[0x01, 0x01, 0x01]).is_err(),
            "DER allows only FF for TRUE"
        );
        // The same place holding an INTEGER: OpenSSL cannot decode basicConstraints, so no CA flag.
        let garbled = altered(&ca, &bc_true, &[0x30, 0x03, 0x02, 0x01, 0xFF]);
        assert!(!is_ca(&garbled));
    }

    #[test]
    fn days_left_rounds_down_and_goes_negative() {
        use openssl::asn1::Asn1Time;
        let t = Asn1Time::from_unix(1_000_000).unwrap();
        let not_after = unix_time(&t);
        assert_eq!(not_after, 1_000_000);
        assert_eq!((not_after - (1_000_000 - 86_400 - 1)).div_euclid(86_400), 1);
        assert_eq!((not_after - (1_000_000 + 1)).div_euclid(86_400), -1);
    }
}
