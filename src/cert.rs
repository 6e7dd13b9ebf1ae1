//! Certificate facts as the contract shows them: the summary (subject, issuer, serial, validity, days left,
//! SHA-256 fingerprint, DNS names, IP addresses, CA flag), and the time arithmetic behind it. The current time
//! is always passed in (`Clock`), so that tests never depend on today's date.

use crate::der;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509Ref};
use serde::Serialize;
use std::net::IpAddr;

/// Seconds since the Unix epoch, UTC.
pub type UnixTime = i64;

/// The current time, injectable for tests.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: UnixTime,
}

impl Clock {
    pub fn system() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Clock { now }
    }

    pub fn at(now: UnixTime) -> Self {
        Clock { now }
    }
}

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

pub fn hex_colons(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether the certificate has basicConstraints `CA:TRUE`.
pub fn is_ca(cert: &X509Ref) -> bool {
    cert.to_der()
        .map(|d| der::certificate_is_ca(&d))
        .unwrap_or(false)
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

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(t: UnixTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `YYYYMMDDTHHMMSSZ`, the compact form used in backup file names.
pub fn compact_utc(t: UnixTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Parses `compact_utc` back.
pub fn parse_compact_utc(text: &str) -> Option<UnixTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Calendar fields of a Unix time (proleptic Gregorian, UTC).
fn civil(t: UnixTime) -> (i64, i64, i64, i64, i64, i64) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_780_800), "2026-11-27T12:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(compact_utc(1_795_780_800), "20261127T120000Z");
        assert_eq!(parse_compact_utc("20261127T120000Z"), Some(1_795_780_800));
        assert_eq!(parse_compact_utc("20261327T120000Z"), None);
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
