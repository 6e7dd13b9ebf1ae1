//! The cost pre-check of PKCS#12 files and the algorithms of new ones.
//!
//! Before any key derivation runs, `sniff_params` walks a file's outer structure to learn its encryption
//! and MAC algorithms and iteration counts, and refuses absurd iteration counts, key derivations and MACs
//! that Java never writes (they would stall the tool). The walk reads with the `der` crate's `SliceReader`
//! element by element (DER only; no length is trusted beyond the input, nothing is allocated from one)
//! rather than with the typed `pkcs12` structures, which could not name the algorithms it refuses. Reading and rewriting an existing file is
//! `super::pfx`; new files (the sandbox, the pending key) are written by `p12-keystore` with the
//! algorithms Java 17's keytool uses, `Pkcs12Params::java17`.

use super::ber;
use crate::secret::Password;
use const_oid::db::rfc5911;
use der::asn1::{AnyRef, ObjectIdentifier as Oid};
use der::{Decode, Reader, SliceReader, Tag, TagNumber};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore as P12Store, KeyStoreEntry, MacAlgorithm,
    PrivateKey, PrivateKeyChain,
};

/// Highest PBE or MAC iteration count accepted: Java 17's own bound (`PKCS12KeyStore.MAX_ITERATION_COUNT`),
/// above which it refuses the MAC, the certificates and each key ("iteration count too large"). Java writes
/// 10,000 (older Java 8 and `keystore.pkcs12.legacy`: 50,000 and 100,000), OpenSSL 2,048.
pub const MAX_ITERATIONS: u64 = 5_000_000;
/// Highest sum of rounds over all encrypted parts, key bags and the MAC that the pre-check sees: a store at
/// Java's bound for both the MAC and its certificates passes; more than that (many keys each at the bound)
/// is refused before any derivation, so no file costs more than about ten seconds of key derivation.
pub const MAX_TOTAL_ITERATIONS: u64 = 10_000_000;

const OID_DATA: Oid = rfc5911::ID_DATA;
const OID_ENCRYPTED_DATA: Oid = rfc5911::ID_ENCRYPTED_DATA;
const OID_SHROUDED_KEY_BAG: Oid = pkcs12::PKCS_12_PKCS8_KEY_BAG_OID;
const OID_PBE_SHA_3DES: Oid = pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC;
const OID_PBE_SHA_RC2_40: Oid = pkcs12::PKCS_12_PBEWITH_SHAAND40_BIT_RC2_CBC;
const OID_PBES2: Oid = pkcs5::pbes2::PBES2_OID;
const OID_PBKDF2: Oid = pkcs5::pbes2::PBKDF2_OID;
/// PBMAC1 (RFC 9579), a MAC scheme of its own (PBKDF2 and an HMAC), not a digest.
const OID_PBMAC1: Oid = Oid::new_unwrap("1.2.840.113549.1.5.14");
const OID_SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
/// The SHA-2 family (2.16.840.1.101.3.4.2.*); the last arc picks the digest.
const OID_SHA2_ARC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2");
/// `[0]` constructed: the content of a ContentInfo and the value of a SafeBag.
const TAG_CONTEXT_0: Tag = Tag::ContextSpecific {
    constructed: true,
    number: TagNumber(0),
};

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
    /// The MAC's iteration count is there but not a DER INTEGER in 0..2^64: its cost cannot be judged.
    mac_iterations_unreadable: bool,
}

/// Whether the bytes have the outer shape of a PKCS#12 PFX (SEQUENCE { INTEGER 3, ContentInfo ... }).
/// BER (indefinite lengths, as Bouncy Castle writes) is recognised as Java recognises it.
pub fn looks_like_pkcs12(data: &[u8]) -> bool {
    ber::to_der(data).is_ok_and(|der| pfx_parts(&der).is_some())
}

fn pfx_parts(data: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let mut fields = reader(only(data, Tag::Sequence)?)?;
    if take(&mut fields, Tag::Integer)? != [3] {
        return None;
    }
    let auth_safe = take(&mut fields, Tag::Sequence)?;
    let mac = take(&mut fields, Tag::Sequence);
    Some((auth_safe, mac))
}

/// The algorithms and iteration counts of a PKCS#12 file, or an error text when an iteration count is out
/// of bounds or a key derivation or MAC is one that Java never writes (scrypt, MD5, ...): those are refused
/// before any library spends memory or time on them. `Ok(None)`: not the plain form Java and OpenSSL write.
pub fn sniff_params(data: &[u8]) -> Result<Option<Pkcs12Params>, String> {
    let Ok(data) = ber::to_der(data) else {
        return Ok(None);
    };
    let Some((auth_safe, mac)) = pfx_parts(&data) else {
        return Ok(None);
    };
    let mut found = Found::default();
    if let Some(mac) = mac {
        mac_params(mac, &mut found);
    }
    if walk_auth_safe(auth_safe, &mut found).is_none() || found.mac_iterations_unreadable {
        // Found by fuzzing: contents the walk could not read (then BER, now converted first) hid a 2^31-round
        // derivation; whatever it still cannot read is refused rather than derived.
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
            "iteration count {n} is outside 1..{MAX_ITERATIONS} (Java refuses more than {MAX_ITERATIONS})"
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
    let mut ci = reader(auth_safe)?;
    if take(&mut ci, Tag::ObjectIdentifier)? != OID_DATA.as_bytes() {
        return None;
    }
    let content = only(take(&mut ci, TAG_CONTEXT_0)?, Tag::OctetString)?;
    // The octets hold BER of their own (Java reads them so); converting is linear and bounded.
    let content = ber::to_der(content).ok()?;
    let mut infos = reader(only(&content, Tag::Sequence)?)?;
    while let Some(info) = take(&mut infos, Tag::Sequence) {
        let mut parts = reader(info)?;
        let oid = take(&mut parts, Tag::ObjectIdentifier)?;
        let body = take(&mut parts, TAG_CONTEXT_0)?;
        if oid == OID_ENCRYPTED_DATA.as_bytes() {
            let mut ed = reader(only(body, Tag::Sequence)?)?;
            take(&mut ed, Tag::Integer)?;
            let mut eci = reader(take(&mut ed, Tag::Sequence)?)?;
            take(&mut eci, Tag::ObjectIdentifier)?;
            if let Some(alg) = pbe_params(take(&mut eci, Tag::Sequence)?, found)? {
                found.cert_encryption.get_or_insert(alg);
            }
        } else if oid == OID_DATA.as_bytes() {
            let octets = ber::to_der(only(body, Tag::OctetString)?).ok()?;
            let mut bags = reader(only(&octets, Tag::Sequence)?)?;
            while let Some(bag) = take(&mut bags, Tag::Sequence) {
                let mut bag_parts = reader(bag)?;
                if take(&mut bag_parts, Tag::ObjectIdentifier)? != OID_SHROUDED_KEY_BAG.as_bytes() {
                    continue;
                }
                let epki = only(take(&mut bag_parts, TAG_CONTEXT_0)?, Tag::Sequence)?;
                if let Some(alg) = pbe_params(take(&mut reader(epki)?, Tag::Sequence)?, found)? {
                    found.key_encryption.get_or_insert(alg);
                }
            }
            // Anything left unread (BER, damage) could hide a costly derivation: not inspectable.
            if !bags.is_finished() {
                return None;
            }
        }
    }
    infos.is_finished().then_some(())
}

/// An AlgorithmIdentifier of a PKCS#12 PBE scheme or PBES2: records its iteration count (and a refusal
/// for a key derivation other than PBKDF2), and returns it when `p12-keystore` can write it again.
/// `None`: the parameters could not be read; `Some(None)`: read, but not an algorithm we write.
fn pbe_params(
    algorithm_id: &[u8],
    found: &mut Found,
) -> Option<Option<(EncryptionAlgorithm, u64)>> {
    let mut alg = reader(algorithm_id)?;
    let oid = take(&mut alg, Tag::ObjectIdentifier)?;
    let mut p = reader(take(&mut alg, Tag::Sequence)?)?;
    if oid == OID_PBES2.as_bytes() {
        let mut kdf = reader(take(&mut p, Tag::Sequence)?)?;
        let kdf_oid = take(&mut kdf, Tag::ObjectIdentifier)?;
        if kdf_oid != OID_PBKDF2.as_bytes() {
            found.refused.get_or_insert(format!(
                "key derivation {} is not one Java writes (PBKDF2)",
                oid_text(kdf_oid)
            ));
            return Some(None);
        }
        let mut pbkdf2 = reader(take(&mut kdf, Tag::Sequence)?)?;
        take(&mut pbkdf2, Tag::OctetString)?;
        let iterations = small_uint(take(&mut pbkdf2, Tag::Integer)?)?;
        found.iterations.push(iterations);
        return Some(Some((
            EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            iterations,
        )));
    }
    // PKCS#5 v1 and PKCS#12 PBE schemes share the parameters (salt, iterations).
    take(&mut p, Tag::OctetString)?;
    let iterations = small_uint(take(&mut p, Tag::Integer)?)?;
    found.iterations.push(iterations);
    Some(if oid == OID_PBE_SHA_3DES.as_bytes() {
        Some((
            EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            iterations,
        ))
    } else if oid == OID_PBE_SHA_RC2_40.as_bytes() {
        Some((EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc, iterations))
    } else {
        None
    })
}

/// The MAC's digest and iteration count; a digest Java never uses (MD5, ...) is refused.
fn mac_params(mac_data: &[u8], found: &mut Found) -> Option<()> {
    let mut parts = reader(mac_data)?;
    let digest_info = take(&mut parts, Tag::Sequence)?;
    let algorithm = take(&mut reader(digest_info)?, Tag::Sequence)?;
    let oid = take(&mut reader(algorithm)?, Tag::ObjectIdentifier)?;
    take(&mut parts, Tag::OctetString)?;
    let iterations = match take(&mut parts, Tag::Integer).map(small_uint) {
        Some(Some(iterations)) => iterations,
        Some(None) => {
            found.mac_iterations_unreadable = true;
            return None;
        }
        None => 1,
    };
    found.iterations.push(iterations);
    let mac = if oid == OID_SHA1.as_bytes() {
        MacAlgorithm::HmacSha1
    } else if let Some(&[last]) = oid.strip_prefix(OID_SHA2_ARC.as_bytes()) {
        match last {
            1 => MacAlgorithm::HmacSha256,
            2 => MacAlgorithm::HmacSha384,
            3 => MacAlgorithm::HmacSha512,
            4 => MacAlgorithm::HmacSha224,
            5 => MacAlgorithm::HmacSha512_224,
            6 => MacAlgorithm::HmacSha512_256,
            _ => return None,
        }
    } else if oid == OID_PBMAC1.as_bytes() {
        found.refused.get_or_insert(format!(
            "MAC scheme is PBMAC1 ({}), which the ICG's Java does not read (it reads HMAC with SHA-1 or SHA-2)",
            oid_text(oid)
        ));
        return None;
    } else {
        found.refused.get_or_insert(format!(
            "MAC digest {} is not one Java writes (SHA-1 or SHA-2)",
            oid_text(oid)
        ));
        return None;
    };
    found.mac = Some((mac, iterations));
    Some(())
}

/// A reader over `data` for the walk; the `der` crate bounds every length by the input and never allocates.
fn reader(data: &[u8]) -> Option<SliceReader<'_>> {
    SliceReader::new(data).ok()
}

/// The value of the next element when it carries `tag`; `None`, with nothing read, when the input ends,
/// the element is not DER or it carries another tag.
fn take<'a>(reader: &mut SliceReader<'a>, tag: Tag) -> Option<&'a [u8]> {
    if Tag::peek(reader).ok()? != tag {
        return None;
    }
    AnyRef::decode(reader).ok().map(AnyRef::value)
}

/// The whole of `data` as exactly one element with `tag`.
fn only(data: &[u8], tag: Tag) -> Option<&[u8]> {
    let mut whole = reader(data)?;
    let value = take(&mut whole, tag)?;
    whole.is_finished().then_some(value)
}

/// The value of an INTEGER as a u64: `None` when negative, too large or not in its shortest form.
fn small_uint(value: &[u8]) -> Option<u64> {
    AnyRef::new(Tag::Integer, value).ok()?.decode_as().ok()
}

/// Dotted text of an OBJECT IDENTIFIER's encoded value, for messages.
fn oid_text(value: &[u8]) -> String {
    Oid::from_bytes(value).map_or_else(
        |_| "(not a valid object identifier)".to_string(),
        |oid| oid.to_string(),
    )
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

/// A new PKCS#12 keystore with one key entry and trusted entries, as Java 17's keytool writes it.
pub fn build(
    password: &Password,
    alias: &str,
    key: &PKey<Private>,
    chain: &[X509],
    trusted: &[(&str, &X509)],
) -> std::result::Result<Vec<u8>, String> {
    let cert = |c: &X509| {
        c.to_der()
            .map_err(|e| e.to_string())
            .and_then(|d| Certificate::from_der(&d).map_err(|e| e.to_string()))
    };
    let pkcs8 =
        crate::secret::SecretBytes::new(key.private_key_to_pkcs8().map_err(|e| e.to_string())?);
    let mut store = P12Store::new();
    let certs = chain
        .iter()
        .map(cert)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let local_key_id = format!("Time {}", crate::utc::Clock::system().now * 1000);
    store.add_entry(
        alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            local_key_id,
            PrivateKey::from_der(pkcs8.expose()).map_err(|e| e.to_string())?,
            certs,
        )),
    );
    for (name, c) in trusted {
        store.add_entry(name, KeyStoreEntry::Certificate(cert(c)?));
    }
    write_pkcs12(&store, password, &Pkcs12Params::java17())
}

fn write_pkcs12(
    store: &P12Store,
    password: &Password,
    params: &Pkcs12Params,
) -> std::result::Result<Vec<u8>, String> {
    store
        .writer(password.expose())
        .encryption_algorithm(params.encryption)
        .encryption_iterations(params.encryption_iterations)
        .mac_algorithm(params.mac)
        .mac_iterations(params.mac_iterations)
        .write()
        .map_err(|e| e.to_string())
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
    fn reads_short_and_long_lengths() {
        let mut data = vec![0x04, 0x81, 0x80];
        data.extend(std::iter::repeat_n(7u8, 0x80));
        data.extend([0x05, 0x00]);
        let mut elements = reader(&data).unwrap();
        assert_eq!(
            take(&mut elements, Tag::OctetString).map(<[u8]>::len),
            Some(0x80)
        );
        assert_eq!(take(&mut elements, Tag::Sequence), None, "another tag");
        assert_eq!(take(&mut elements, Tag::Null), Some(&[][..]));
        assert!(elements.is_finished());
    }

    #[test]
    fn refuses_lengths_past_the_end_indefinite_and_overlong_lengths() {
        for data in [
            &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF][..],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x30, 0x05, 0x00],
            // The length 2 in two bytes: BER, not DER.
            &[0x30, 0x81, 0x02, 0x05, 0x00],
        ] {
            assert_eq!(only(data, Tag::Sequence), None, "{data:02x?}");
        }
        assert_eq!(
            only(&[0x30, 0x02, 0x05, 0x00], Tag::Sequence),
            Some(&[5, 0][..])
        );
        assert_eq!(
            only(&[0x30, 0x00, 0x05], Tag::Sequence),
            None,
            "trailing byte"
        );
    }

    #[test]
    fn integers_and_oids() {
        assert_eq!(small_uint(&[0x00, 0xC3, 0x50]), Some(50_000));
        assert_eq!(small_uint(&[0x00]), Some(0));
        assert_eq!(small_uint(&[0x80]), None, "negative");
        assert_eq!(small_uint(&[0x00, 0x05]), None, "not the shortest form");
        assert_eq!(small_uint(&[0x01; 9]), None, "more than 64 bits");
        assert_eq!(
            oid_text(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x02]),
            "1.2.840.113549.1.12.10.1.2"
        );
        assert_eq!(oid_text(&[0x2A, 0x86]), "(not a valid object identifier)");
    }

    /// A PFX as Java writes it, with `iterations` as the MAC's count and `mac_oid` as its digest.
    fn pfx_with_mac(mac_oid: &str, iterations: &str) -> Vec<u8> {
        let oid_len = mac_oid.len() / 2;
        let iter_len = iterations.len() / 2;
        let algorithm = format!("30{:02x}06{oid_len:02x}{mac_oid}0500", oid_len + 4);
        let digest_info = format!("30{:02x}{algorithm}04020000", algorithm.len() / 2 + 4);
        let mac = format!("{digest_info}040100") + &format!("02{iter_len:02x}{iterations}");
        let mac = format!("30{:02x}{mac}", mac.len() / 2);
        let body = format!("020103301106092a864886f70d010701a00404023000{mac}");
        hex(&format!("30{:02x}{body}", body.len() / 2))
    }

    #[test]
    fn iteration_counts_out_of_bounds_are_refused_and_in_bounds_pass() {
        let sha256 = "608648016503040201";
        let why = sniff_params(&pfx_with_mac(sha256, "4c4b41")).unwrap_err();
        assert_eq!(
            why,
            "iteration count 5000001 is outside 1..5000000 (Java refuses more than 5000000)"
        );
        let why = sniff_params(&pfx_with_mac(sha256, "00")).unwrap_err();
        assert!(why.starts_with("iteration count 0 is outside"), "{why}");
        // Without an encrypted part there is nothing to write again: read, not refused.
        assert_eq!(sniff_params(&pfx_with_mac(sha256, "4c4b40")), Ok(None));
        assert_eq!(sniff_params(&pfx_with_mac(sha256, "1e8480")), Ok(None));
    }

    #[test]
    fn a_mac_iteration_count_that_is_no_der_integer_is_refused() {
        let sha256 = "608648016503040201";
        for count in ["0000", "ff", "010000000000000000"] {
            let why = sniff_params(&pfx_with_mac(sha256, count)).unwrap_err();
            assert!(
                why.starts_with("contents are not in the DER form"),
                "{count}: {why}"
            );
        }
    }

    /// Contents in BER are converted as Java reads them, so their cost is judged like any other's: the fuzzer's
    /// file whose BER hid a 2^31-round derivation from the DER-only walk is refused for that count now.
    #[test]
    fn contents_in_ber_are_read_and_their_cost_judged() {
        let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds/keystore_load/crash-p12-ber-hides-huge-iterations");
        let data = std::fs::read(seed).unwrap();
        assert!(looks_like_pkcs12(&data));
        let why = sniff_params(&data).unwrap_err();
        assert!(why.contains("iteration count 2147483647"), "{why}");
        // The AuthenticatedSafe's SEQUENCE with an indefinite length, then its end-of-contents octets.
        let data = hex("3018020103301306092a864886f70d010701a006040430800000");
        assert_eq!(sniff_params(&data), Ok(None));
    }

    #[test]
    fn every_pkcs12_fixture_passes_the_pre_check() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut seen = 0;
        for dir in [root.clone(), root.join("shapes")] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "p12")
                    && !path.ends_with("truncated-rsa.p12")
                {
                    let data = std::fs::read(&path).unwrap();
                    assert!(looks_like_pkcs12(&data), "{}", path.display());
                    let params = sniff_params(&data);
                    assert!(
                        matches!(params, Ok(Some(_))),
                        "{}: {params:?}",
                        path.display()
                    );
                    seen += 1;
                }
            }
        }
        assert!(seen >= 15, "only {seen} PKCS#12 fixtures");
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
