//! The cost pre-check of PKCS#12 files and the algorithms of new ones.
//!
//! Before any key derivation runs, `sniff_params` walks a file's outer structure to learn its encryption
//! and MAC algorithms and iteration counts, and refuses absurd iteration counts, key derivations and MACs
//! that Java never writes (they would stall the tool). Reading and rewriting an existing file is
//! `super::pfx`; new files (the sandbox, the pending key) are written by `p12-keystore` with the
//! algorithms Java 17's keytool uses, `Pkcs12Params::java17`.

use crate::der::{self, Reader};
use p12_keystore::{EncryptionAlgorithm, MacAlgorithm};

/// Highest PBE or MAC iteration count accepted. Java writes 10,000 (older Java 8: up to 100,000), OpenSSL
/// 2,048; a million PBKDF2 rounds already take about half a second.
pub const MAX_ITERATIONS: u64 = 1_000_000;
/// Highest sum of rounds over all encrypted parts and the MAC (each key entry has its own): a keystore with
/// a hundred keys at Java's 10,000 rounds needs a million.
pub const MAX_TOTAL_ITERATIONS: u64 = 4_000_000;

const OID_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];
const OID_ENCRYPTED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x06];
const OID_SHROUDED_KEY_BAG: &[u8] = &[
    0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x02,
];
const OID_PBE_SHA_3DES: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01, 0x03];
const OID_PBE_SHA_RC2_40: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01, 0x06];
const OID_PBES2: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D];
const OID_PBKDF2: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C];
/// PBMAC1 (RFC 9579), a MAC scheme of its own (PBKDF2 and an HMAC), not a digest.
const OID_PBMAC1: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0E];
const OID_SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
const OID_SHA2_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];

/// The algorithms a PKCS#12 file was written with, as far as `p12-keystore` can write them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pkcs12Params {
    pub encryption: EncryptionAlgorithm,
    pub encryption_iterations: u32,
    pub mac: MacAlgorithm,
    pub mac_iterations: u32,
}

impl Pkcs12Params {
    /// What Java 17's keytool writes: PBES2/AES-256 with HMAC-SHA-256, MAC HMAC-SHA-256, 10,000 iterations.
    pub fn java17() -> Self {
        Pkcs12Params {
            encryption: EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            encryption_iterations: 10_000,
            mac: MacAlgorithm::HmacSha256,
            mac_iterations: 10_000,
        }
    }
}

/// What the outer walk learned. `None` fields were absent or not understood.
#[derive(Debug, Default)]
struct Found {
    key_encryption: Option<(EncryptionAlgorithm, u64)>,
    cert_encryption: Option<(EncryptionAlgorithm, u64)>,
    mac: Option<(MacAlgorithm, u64)>,
    /// Every PBE and MAC iteration count seen, whatever the algorithm.
    iterations: Vec<u64>,
    /// Why the file must not reach a key derivation at all (an algorithm Java never writes).
    refused: Option<String>,
}

/// Whether the bytes have the outer shape of a PKCS#12 PFX (SEQUENCE { INTEGER 3, ContentInfo ... }).
pub fn looks_like_pkcs12(data: &[u8]) -> bool {
    pfx_parts(data).is_some()
}

fn pfx_parts(data: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let pfx = der::single(data, der::TAG_SEQUENCE)?;
    let mut fields = Reader::new(pfx);
    if fields.expect(der::TAG_INTEGER)? != [3] {
        return None;
    }
    let auth_safe = fields.expect(der::TAG_SEQUENCE)?;
    let mac = fields.expect(der::TAG_SEQUENCE);
    Some((auth_safe, mac))
}

/// The algorithms and iteration counts of a PKCS#12 file, or an error text when an iteration count is out
/// of bounds or a key derivation or MAC is one that Java never writes (scrypt, MD5, ...): those are refused
/// before any library spends memory or time on them. `Ok(None)`: not the plain form Java and OpenSSL write.
pub fn sniff_params(data: &[u8]) -> Result<Option<Pkcs12Params>, String> {
    let Some((auth_safe, mac)) = pfx_parts(data) else {
        return Ok(None);
    };
    let mut found = Found::default();
    if let Some(mac) = mac {
        mac_params(mac, &mut found);
    }
    if walk_auth_safe(auth_safe, &mut found).is_none() {
        // Found by fuzzing: contents in BER (indefinite lengths) hid a 2^31-round derivation from this walk.
        return Err("contents are not in the DER form Java and OpenSSL write, so their cost cannot be checked first; export it again".into());
    }
    if let Some(why) = found.refused {
        return Err(why);
    }
    if let Some(n) = found
        .iterations
        .iter()
        .find(|&&n| n == 0 || n > MAX_ITERATIONS)
    {
        return Err(format!(
            "iteration count {n} is outside 1..{MAX_ITERATIONS}"
        ));
    }
    let total: u64 = found.iterations.iter().sum();
    if total > MAX_TOTAL_ITERATIONS {
        return Err(format!(
            "{} encrypted parts need {total} key-derivation rounds in all, more than the {MAX_TOTAL_ITERATIONS} any gateway keystore needs",
            found.iterations.len()
        ));
    }
    let Some((encryption, enc_iter)) = found.key_encryption.or(found.cert_encryption) else {
        return Ok(None);
    };
    // Without a readable MAC, write the one that goes with the encryption: SHA-1 for the old PBE schemes
    // (Java 8 before 8u301 reads no other), SHA-256 with PBES2.
    let default_mac = match encryption {
        EncryptionAlgorithm::PbeWithHmacSha256AndAes256 => MacAlgorithm::HmacSha256,
        _ => MacAlgorithm::HmacSha1,
    };
    let (mac, mac_iter) = found.mac.unwrap_or((default_mac, enc_iter));
    Ok(Some(Pkcs12Params {
        encryption,
        encryption_iterations: enc_iter as u32,
        mac,
        mac_iterations: mac_iter as u32,
    }))
}

fn walk_auth_safe(auth_safe: &[u8], found: &mut Found) -> Option<()> {
    let mut ci = Reader::new(auth_safe);
    if ci.expect(der::TAG_OID)? != OID_DATA {
        return None;
    }
    let wrapped = ci.expect(der::TAG_CONTEXT_0)?;
    let content = der::single(wrapped, der::TAG_OCTET_STRING)?;
    let mut infos = Reader::new(der::single(content, der::TAG_SEQUENCE)?);
    while let Some(info) = infos.expect(der::TAG_SEQUENCE) {
        let mut parts = Reader::new(info);
        let oid = parts.expect(der::TAG_OID)?;
        let body = parts.expect(der::TAG_CONTEXT_0)?;
        if oid == OID_ENCRYPTED_DATA {
            let encrypted_data = der::single(body, der::TAG_SEQUENCE)?;
            let mut ed = Reader::new(encrypted_data);
            ed.expect(der::TAG_INTEGER)?;
            let mut eci = Reader::new(ed.expect(der::TAG_SEQUENCE)?);
            eci.expect(der::TAG_OID)?;
            if let Some(alg) = pbe_params(eci.expect(der::TAG_SEQUENCE)?, found)? {
                found.cert_encryption.get_or_insert(alg);
            }
        } else if oid == OID_DATA {
            let safe_contents =
                der::single(der::single(body, der::TAG_OCTET_STRING)?, der::TAG_SEQUENCE)?;
            let mut bags = Reader::new(safe_contents);
            while let Some(bag) = bags.expect(der::TAG_SEQUENCE) {
                let mut bag_parts = Reader::new(bag);
                if bag_parts.expect(der::TAG_OID)? != OID_SHROUDED_KEY_BAG {
                    continue;
                }
                let epki = der::single(bag_parts.expect(der::TAG_CONTEXT_0)?, der::TAG_SEQUENCE)?;
                if let Some(alg) = pbe_params(Reader::new(epki).expect(der::TAG_SEQUENCE)?, found)?
                {
                    found.key_encryption.get_or_insert(alg);
                }
            }
            // Anything left unread (BER, damage) could hide a costly derivation: not inspectable.
            if !bags.is_empty() {
                return None;
            }
        }
    }
    infos.is_empty().then_some(())
}

/// An AlgorithmIdentifier of a PKCS#12 PBE scheme or PBES2: records its iteration count (and a refusal
/// for a key derivation other than PBKDF2), and returns it when `p12-keystore` can write it again.
/// `None`: the parameters could not be read; `Some(None)`: read, but not an algorithm we write.
fn pbe_params(
    algorithm_id: &[u8],
    found: &mut Found,
) -> Option<Option<(EncryptionAlgorithm, u64)>> {
    let mut alg = Reader::new(algorithm_id);
    let oid = alg.expect(der::TAG_OID)?;
    let mut p = Reader::new(alg.expect(der::TAG_SEQUENCE)?);
    if oid == OID_PBES2 {
        let mut kdf = Reader::new(p.expect(der::TAG_SEQUENCE)?);
        let kdf_oid = kdf.expect(der::TAG_OID)?;
        if kdf_oid != OID_PBKDF2 {
            found.refused.get_or_insert(format!(
                "key derivation {} is not one Java writes (PBKDF2)",
                der::oid_to_string(kdf_oid)
            ));
            return Some(None);
        }
        let mut pbkdf2 = Reader::new(kdf.expect(der::TAG_SEQUENCE)?);
        pbkdf2.expect(der::TAG_OCTET_STRING)?;
        let iterations = der::small_uint(pbkdf2.expect(der::TAG_INTEGER)?)?;
        found.iterations.push(iterations);
        return Some(Some((
            EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            iterations,
        )));
    }
    // PKCS#5 v1 and PKCS#12 PBE schemes share the parameters (salt, iterations).
    p.expect(der::TAG_OCTET_STRING)?;
    let iterations = der::small_uint(p.expect(der::TAG_INTEGER)?)?;
    found.iterations.push(iterations);
    Some(if oid == OID_PBE_SHA_3DES {
        Some((
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            iterations,
        ))
    } else if oid == OID_PBE_SHA_RC2_40 {
        Some((EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc, iterations))
    } else {
        None
    })
}

/// The MAC's digest and iteration count; a digest Java never uses (MD5, ...) is refused.
fn mac_params(mac_data: &[u8], found: &mut Found) -> Option<()> {
    let mut parts = Reader::new(mac_data);
    let digest_info = parts.expect(der::TAG_SEQUENCE)?;
    let algorithm = Reader::new(digest_info).expect(der::TAG_SEQUENCE)?;
    let oid = Reader::new(algorithm).expect(der::TAG_OID)?;
    parts.expect(der::TAG_OCTET_STRING)?;
    let iterations = match parts.expect(der::TAG_INTEGER) {
        Some(value) => der::small_uint(value)?,
        None => 1,
    };
    found.iterations.push(iterations);
    let mac = if oid == OID_SHA1 {
        MacAlgorithm::HmacSha1
    } else if let Some(&[last]) = oid.strip_prefix(OID_SHA2_PREFIX) {
        match last {
            1 => MacAlgorithm::HmacSha256,
            2 => MacAlgorithm::HmacSha384,
            3 => MacAlgorithm::HmacSha512,
            4 => MacAlgorithm::HmacSha224,
            5 => MacAlgorithm::HmacSha512_224,
            6 => MacAlgorithm::HmacSha512_256,
            _ => return None,
        }
    } else if oid == OID_PBMAC1 {
        found.refused.get_or_insert(format!(
            "MAC scheme is PBMAC1 ({}), which the ICG's Java does not read (it reads HMAC with SHA-1 or SHA-2)",
            der::oid_to_string(oid)
        ));
        return None;
    } else {
        found.refused.get_or_insert(format!(
            "MAC digest {} is not one Java writes (SHA-1 or SHA-2)",
            der::oid_to_string(oid)
        ));
        return None;
    };
    found.mac = Some((mac, iterations));
    Some(())
}

/// Most private-key entries accepted in one PKCS#12 file (a gateway keystore has one or two).
pub const MAX_KEY_ENTRIES: usize = 64;
/// Loads the OpenSSL providers needed to read legacy PKCS#12 (RC2, RC4, 3DES) once per process.
pub fn load_legacy_provider() {
    use std::sync::OnceLock;
    static PROVIDERS: OnceLock<Vec<openssl::provider::Provider>> = OnceLock::new();
    PROVIDERS.get_or_init(|| {
        ["legacy", "default"]
            .iter()
            .filter_map(|name| openssl::provider::Provider::try_load(None, name, true).ok())
            .collect()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    // Found by fuzzing (fuzz/seeds/keystore_load/crash-*): each made p12-keystore or OpenSSL spend
    // minutes or gigabytes before failing.
    #[test]
    fn an_md5_mac_with_two_billion_iterations_is_refused_before_any_work() {
        let data = hex("304a020103301106092a864886f70d010701a0040402300030323020300c06082a864886f70d020505000410000000000000000000000000000000000408000000000000000002047fffffff");
        let why = sniff_params(&data).unwrap_err();
        assert!(why.contains("MAC digest 1.2.840.113549.2.5"), "{why}");
    }

    #[test]
    fn a_pbmac1_mac_is_named_as_the_mac_scheme_it_is() {
        let data = hex("3049020103301106092a864886f70d010701a0040402300030313021300d06092a864886f70d01050e05000410000000000000000000000000000000000408000000000000000002020800");
        let why = sniff_params(&data).unwrap_err();
        assert!(
            why.contains("MAC scheme is PBMAC1 (1.2.840.113549.1.5.14)"),
            "{why}"
        );
        assert!(!why.contains("digest"), "{why}");
    }

    #[test]
    fn an_scrypt_key_derivation_is_refused_before_any_work() {
        let data = hex("3081a002010330819a06092a864886f70d010701a0818c04818930818630818306092a864886f70d010706a0763074020100306f06092a864886f70d010701305006092a864886f70d01050d3043302206092b06010401da47040b3015040800000000000000000203100000020108020110301d060960864801650304012a041000000000000000000000000000000000801000000000000000000000000000000000");
        let why = sniff_params(&data).unwrap_err();
        assert!(
            why.contains("key derivation 1.3.6.1.4.1.11591.4.11"),
            "{why}"
        );
    }

    #[test]
    fn java_and_openssl_defaults_are_read() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let keytool = sniff_params(&std::fs::read(fixtures.join("installed-rsa.p12")).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(keytool, Pkcs12Params::java17());
        let legacy = sniff_params(&std::fs::read(fixtures.join("new-rsa-legacy.p12")).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            (legacy.encryption, legacy.mac),
            (
                EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
                MacAlgorithm::HmacSha1
            )
        );
    }
}
