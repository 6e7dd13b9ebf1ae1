//! The Java KeyStore (JKS) format, read and written here rather than through the `jks` crate: a loader has to
//! walk and bound-check every field before trusting it, verify the store digest and parse every key blob and
//! certificate anyway, and what is left for the crate then (key decryption, serialisation) is a few lines,
//! while its remaining faults (random entry order, no non-ASCII passwords, no modified UTF-8 aliases) would
//! stay. See docs/decisions.md.
//!
//! Layout (all integers big-endian): magic `FEEDFEED`, version 1 or 2, entry count, entries, then a SHA-1
//! digest over (password as UTF-16BE, "Mighty Aphrodite", everything before the digest). An entry is a tag
//! (1 private key, 2 trusted certificate), an alias in Java's modified UTF-8, a timestamp in milliseconds, and
//! either a protected key and its certificate chain or one certificate. Version 2 puts the certificate type
//! ("X.509") before each certificate.
//!
//! Entries that are not replaced are written back byte for byte, in their original order.

use crate::secret::{Password, SecretBytes};
use der::asn1::{AnyRef, ObjectIdentifier as Oid, OctetStringRef};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use openssl::sha::Sha1;
use openssl::x509::X509;

pub const MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];
/// JCEKS, a different Java format that this tool does not write.
pub const JCEKS_MAGIC: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];
const WHITENER: &[u8] = b"Mighty Aphrodite";
const DIGEST_LEN: usize = 20;
const TAG_PRIVATE_KEY: u32 = 1;
const TAG_TRUSTED_CERT: u32 = 2;
/// Smallest possible entry: tag, alias length, timestamp, certificate length.
const MIN_ENTRY_LEN: usize = 4 + 2 + 8 + 4;
/// Longest certificate chain accepted on one key entry.
const MAX_CHAIN: usize = 32;
/// Sun's proprietary JKS key protection.
const OID_JKS_KEY_PROTECTOR: Oid = Oid::new_unwrap("1.3.6.1.4.1.42.2.17.1.1");
const SALT_LEN: usize = 20;

/// Why a JKS file could not be loaded.
#[derive(Debug, PartialEq, Eq)]
pub enum JksError {
    /// The structure is damaged: the text says where.
    Corrupt(String),
    /// The structure is sound but the digest does not match this password.
    WrongPassword,
}

/// Why a key could not be protected for a JKS entry.
#[derive(Debug, thiserror::Error)]
pub enum KeyProtectError {
    /// No random salt from OpenSSL.
    #[error(transparent)]
    Random(#[from] openssl::error::ErrorStack),
    /// The key is too large for a DER length.
    #[error(transparent)]
    Encoding(#[from] der::Error),
}

/// A protected key blob: an EncryptedPrivateKeyInfo (PKCS#8) whose algorithm is Sun's key protector, which
/// the `pkcs8` crate's type cannot hold (it knows only the PKCS#5 schemes).
#[derive(der::Sequence)]
struct ProtectedKey<'a> {
    algorithm: spki::AlgorithmIdentifierRef<'a>,
    encrypted: &'a OctetStringRef,
}

/// One entry as found in the file.
#[derive(Debug, Clone)]
pub struct JksEntry {
    pub alias: String,
    /// The private-key entry's certificate chain (leaf first), parsed; empty for a trusted certificate.
    pub certs: Vec<X509>,
    /// Every certificate of the entry as DER: the chain, or the one trusted certificate.
    pub der: Vec<Vec<u8>>,
    /// The protected key blob of a private-key entry; `None` for a trusted certificate.
    pub protected_key: Option<Vec<u8>>,
    /// The alias exactly as encoded in the file, reused when the entry is rewritten.
    alias_raw: Vec<u8>,
    /// The entry's bytes from its tag to its end, written back unchanged when it is not replaced.
    raw: Vec<u8>,
}

/// A loaded JKS keystore.
#[derive(Debug, Clone)]
pub struct JksStore {
    pub version: u32,
    pub entries: Vec<JksEntry>,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], JksError> {
        if n > self.left() {
            return Err(JksError::Corrupt(format!(
                "{what} at byte {} claims {n} bytes but only {} remain",
                self.pos,
                self.left()
            )));
        }
        let slice = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn u16(&mut self, what: &str) -> Result<usize, JksError> {
        let b = self.take(2, what)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self, what: &str) -> Result<u32, JksError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len32(&mut self, what: &str) -> Result<usize, JksError> {
        let n = self.u32(what)? as usize;
        if n > self.left() {
            return Err(JksError::Corrupt(format!(
                "{what} length {n} at byte {} is larger than the {} bytes left",
                self.pos - 4,
                self.left()
            )));
        }
        Ok(n)
    }
}

/// Whether the bytes start like a JKS keystore.
pub fn looks_like_jks(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// Parses and verifies a JKS keystore: structure first, so that damage is told apart from a wrong password.
pub fn parse(data: &[u8], password: &Password) -> Result<JksStore, JksError> {
    if data.len() < 12 + DIGEST_LEN || !looks_like_jks(data) {
        return Err(JksError::Corrupt(
            "not a JKS keystore (no FEEDFEED header)".into(),
        ));
    }
    // Read as Java's JavaKeyStore reads it: the entries, then the digest; bytes after the digest are
    // ignored, as Java ignores them (docs/decisions.md, "JKS with bytes after its digest").
    let mut cur = Cursor { data, pos: 4 };
    let version = cur.u32("version")?;
    if version != 1 && version != 2 {
        return Err(JksError::Corrupt(format!("unknown JKS version {version}")));
    }
    let count = cur.u32("entry count")? as usize;
    if count > cur.left() / MIN_ENTRY_LEN {
        return Err(JksError::Corrupt(format!(
            "entry count {count} cannot fit in the {} bytes of the file",
            data.len()
        )));
    }
    // Not `with_capacity(count)`: a count that merely fits the file could still reserve hundreds of MB.
    let mut entries = Vec::new();
    for index in 0..count {
        entries.push(parse_entry(&mut cur, version, index)?);
    }
    if cur.left() < DIGEST_LEN {
        return Err(JksError::Corrupt(format!(
            "the file ends {} bytes after the last entry, before the end of its {DIGEST_LEN}-byte digest",
            cur.left()
        )));
    }
    let body = &data[..cur.pos];
    if store_digest(password, body) != data[body.len()..body.len() + DIGEST_LEN] {
        return Err(JksError::WrongPassword);
    }
    Ok(JksStore { version, entries })
}

fn parse_entry(cur: &mut Cursor<'_>, version: u32, index: usize) -> Result<JksEntry, JksError> {
    let start = cur.pos;
    let tag = cur.u32("entry tag")?;
    let alias_len = cur.u16("alias")?;
    let alias_raw = cur.take(alias_len, "alias")?.to_vec();
    let alias = decode_modified_utf8(&alias_raw).ok_or_else(|| {
        JksError::Corrupt(format!("entry {index}: alias is not valid modified UTF-8"))
    })?;
    // Messages name the alias escaped and cut short: it is outside data, up to 64 KiB of anything.
    let shown_alias = crate::shown::short(&alias, 64);
    cur.take(8, "timestamp")?;
    let (der, protected_key) = match tag {
        TAG_PRIVATE_KEY => {
            let key_len = cur.len32("protected key")?;
            let blob = cur.take(key_len, "protected key")?;
            check_protected_key(blob)
                .map_err(|e| JksError::Corrupt(format!("entry '{shown_alias}': {e}")))?;
            let chain_len = cur.u32("chain length")? as usize;
            if chain_len == 0 || chain_len > MAX_CHAIN {
                return Err(JksError::Corrupt(format!(
                    "entry '{shown_alias}': certificate chain length {chain_len} is not between 1 and {MAX_CHAIN}"
                )));
            }
            let mut chain = Vec::with_capacity(chain_len);
            for _ in 0..chain_len {
                chain.push(parse_cert(cur, version, &shown_alias)?.to_vec());
            }
            (chain, Some(blob.to_vec()))
        }
        TAG_TRUSTED_CERT => (vec![parse_cert(cur, version, &shown_alias)?.to_vec()], None),
        other => {
            return Err(JksError::Corrupt(format!(
            "entry {index}: unknown entry type {other} (a secret-key entry needs JCEKS or PKCS#12)"
        )))
        }
    };
    // A key entry's chain is what the tool works with: parse it in full now.
    let certs = if protected_key.is_some() {
        der.iter()
            .map(|d| {
                X509::from_der(d).map_err(|_| {
                    JksError::Corrupt(format!(
                        "entry '{shown_alias}': a certificate is not valid X.509 DER"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    Ok(JksEntry {
        alias,
        certs,
        der,
        protected_key,
        alias_raw,
        raw: cur.data[start..cur.pos].to_vec(),
    })
}

/// One stored certificate, checked for the outer shape of X.509 (trusted certificates are parsed in full
/// only when used: a trust store may hold thousands).
fn parse_cert<'a>(cur: &mut Cursor<'a>, version: u32, alias: &str) -> Result<&'a [u8], JksError> {
    if version == 2 {
        let type_len = cur.u16("certificate type")?;
        let cert_type = cur.take(type_len, "certificate type")?;
        if cert_type != b"X.509" {
            return Err(JksError::Corrupt(format!(
                "entry '{alias}': certificate type '{}' is not X.509",
                crate::shown::short(&String::from_utf8_lossy(cert_type), 32)
            )));
        }
    }
    let len = cur.len32("certificate")?;
    let der = cur.take(len, "certificate")?;
    if looks_like_certificate(der) {
        Ok(der)
    } else {
        Err(JksError::Corrupt(format!(
            "entry '{alias}': a certificate is not valid X.509 DER"
        )))
    }
}

/// Whether `data` has the outer shape of an X.509 certificate: exactly one SEQUENCE of a SEQUENCE (the
/// signed part), a SEQUENCE (the algorithm) and a BIT STRING (the signature). A cheap check for the many
/// certificates of a trust store, which are parsed in full only when used.
fn looks_like_certificate(data: &[u8]) -> bool {
    let shape = |reader: &mut SliceReader<'_>| -> der::Result<()> {
        reader.sequence(|parts| {
            for tag in [Tag::Sequence, Tag::Sequence, Tag::BitString] {
                AnyRef::decode(parts)?.tag().assert_eq(tag)?;
            }
            Ok(())
        })
    };
    SliceReader::new(data)
        .is_ok_and(|mut reader| shape(&mut reader).is_ok() && reader.is_finished())
}

/// The protected key must be an EncryptedPrivateKeyInfo with Sun's key-protector OID and room for salt and check.
fn check_protected_key(blob: &[u8]) -> Result<&[u8], String> {
    let key =
        ProtectedKey::from_der(blob).map_err(|e| format!("protected key is not DER ({e})"))?;
    if key.algorithm.oid != OID_JKS_KEY_PROTECTOR {
        return Err(format!(
            "key protection algorithm {} is not the JKS one",
            key.algorithm.oid
        ));
    }
    let encrypted = key.encrypted.as_bytes();
    if encrypted.len() < SALT_LEN + DIGEST_LEN + 1 {
        return Err("protected key is too short".into());
    }
    Ok(encrypted)
}

/// SHA-1 over password, whitener and body: the JKS integrity digest.
fn store_digest(password: &Password, body: &[u8]) -> [u8; DIGEST_LEN] {
    let mut sha = Sha1::new();
    sha.update(&password.utf16be());
    sha.update(WHITENER);
    sha.update(body);
    sha.finish()
}

/// The JKS key-protector keystream: SHA-1 chained over (password, previous digest), starting from the salt.
fn keystream_xor(password_utf16: &[u8], salt: &[u8], data: &mut [u8]) {
    let mut digest = [0u8; DIGEST_LEN];
    digest.copy_from_slice(salt);
    for chunk in data.chunks_mut(DIGEST_LEN) {
        let mut sha = Sha1::new();
        sha.update(password_utf16);
        sha.update(&digest);
        digest = sha.finish();
        for (byte, k) in chunk.iter_mut().zip(digest.iter()) {
            *byte ^= k;
        }
    }
}

fn key_check(password_utf16: &[u8], plain: &[u8]) -> [u8; DIGEST_LEN] {
    let mut sha = Sha1::new();
    sha.update(password_utf16);
    sha.update(plain);
    sha.finish()
}

/// Decrypts a protected key blob; `None` when the key password is wrong.
pub fn decrypt_key(blob: &[u8], password: &Password) -> Option<SecretBytes> {
    let encrypted = check_protected_key(blob).ok()?;
    let (salt, rest) = encrypted.split_at(SALT_LEN);
    let (cipher, check) = rest.split_at(rest.len() - DIGEST_LEN);
    let pw = password.utf16be();
    let mut plain = zeroize::Zeroizing::new(cipher.to_vec());
    keystream_xor(&pw, salt, &mut plain);
    (key_check(&pw, &plain) == check).then(|| SecretBytes::new(std::mem::take(&mut *plain)))
}

/// Protects a PKCS#8 key with the JKS key protector and a fresh random salt.
pub fn encrypt_key(pkcs8: &[u8], password: &Password) -> Result<Vec<u8>, KeyProtectError> {
    let mut salt = [0u8; SALT_LEN];
    openssl::rand::rand_bytes(&mut salt)?;
    let pw = password.utf16be();
    let mut cipher = pkcs8.to_vec();
    keystream_xor(&pw, &salt, &mut cipher);
    let mut encrypted = Vec::with_capacity(SALT_LEN + cipher.len() + DIGEST_LEN);
    encrypted.extend_from_slice(&salt);
    encrypted.extend_from_slice(&cipher);
    encrypted.extend_from_slice(&key_check(&pw, pkcs8));
    let key = ProtectedKey {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: OID_JKS_KEY_PROTECTOR,
            parameters: Some(AnyRef::NULL),
        },
        encrypted: OctetStringRef::new(&encrypted)?,
    };
    Ok(key.to_der()?)
}

impl JksStore {
    /// A new private-key entry for `alias` (which must exist), ready for `serialize`.
    pub fn key_entry_bytes(
        &self,
        alias: &str,
        protected_key: &[u8],
        chain: &[X509],
        timestamp_ms: u64,
    ) -> Result<Vec<u8>, String> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.alias == alias)
            .ok_or_else(|| format!("no entry '{alias}'"))?;
        let mut out = Vec::new();
        out.extend_from_slice(&TAG_PRIVATE_KEY.to_be_bytes());
        out.extend_from_slice(&(entry.alias_raw.len() as u16).to_be_bytes());
        out.extend_from_slice(&entry.alias_raw);
        out.extend_from_slice(&timestamp_ms.to_be_bytes());
        out.extend_from_slice(&(protected_key.len() as u32).to_be_bytes());
        out.extend_from_slice(protected_key);
        out.extend_from_slice(&(chain.len() as u32).to_be_bytes());
        for cert in chain {
            if self.version == 2 {
                out.extend_from_slice(&5u16.to_be_bytes());
                out.extend_from_slice(b"X.509");
            }
            let der = cert.to_der().map_err(|e| e.to_string())?;
            out.extend_from_slice(&(der.len() as u32).to_be_bytes());
            out.extend_from_slice(&der);
        }
        Ok(out)
    }

    /// The whole file: every entry in its original order, the one named in `replacement` swapped for new bytes.
    pub fn serialize(&self, password: &Password, replacement: Option<(&str, &[u8])>) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for entry in &self.entries {
            match replacement {
                Some((alias, bytes)) if alias == entry.alias => out.extend_from_slice(bytes),
                _ => out.extend_from_slice(&entry.raw),
            }
        }
        let digest = store_digest(password, &out);
        out.extend_from_slice(&digest);
        out
    }

    /// Builds a new keystore from scratch (used by the sandbox): private-key entries then trusted entries.
    pub fn build(
        password: &Password,
        key_entries: &[(&str, &[u8], &[X509])],
        trusted: &[(&str, &X509)],
        timestamp_ms: u64,
    ) -> Result<Vec<u8>, String> {
        let mut store = JksStore {
            version: 2,
            entries: Vec::new(),
        };
        let mut raws = Vec::new();
        for (alias, pkcs8, chain) in key_entries {
            let protected = encrypt_key(pkcs8, password).map_err(|e| e.to_string())?;
            store.entries.push(placeholder(alias));
            raws.push(store.key_entry_bytes(alias, &protected, chain, timestamp_ms)?);
        }
        for (alias, cert) in trusted {
            let der = cert.to_der().map_err(|e| e.to_string())?;
            let mut raw = Vec::new();
            raw.extend_from_slice(&TAG_TRUSTED_CERT.to_be_bytes());
            raw.extend_from_slice(&(alias.len() as u16).to_be_bytes());
            raw.extend_from_slice(alias.as_bytes());
            raw.extend_from_slice(&timestamp_ms.to_be_bytes());
            raw.extend_from_slice(&5u16.to_be_bytes());
            raw.extend_from_slice(b"X.509");
            raw.extend_from_slice(&(der.len() as u32).to_be_bytes());
            raw.extend_from_slice(&der);
            store.entries.push(placeholder(alias));
            raws.push(raw);
        }
        for (entry, raw) in store.entries.iter_mut().zip(raws) {
            entry.raw = raw;
        }
        Ok(store.serialize(password, None))
    }
}

fn placeholder(alias: &str) -> JksEntry {
    JksEntry {
        alias: alias.to_string(),
        certs: Vec::new(),
        der: Vec::new(),
        protected_key: None,
        alias_raw: alias.as_bytes().to_vec(),
        raw: Vec::new(),
    }
}

/// Java's modified UTF-8 (as written by `DataOutputStream.writeUTF`): NUL as C0 80, characters outside the
/// BMP as two encoded surrogates.
fn decode_modified_utf8(bytes: &[u8]) -> Option<String> {
    let mut units: Vec<u16> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b0 = u16::from(bytes[i]);
        let cont = |j: usize| {
            bytes
                .get(j)
                .filter(|&&b| b & 0xC0 == 0x80)
                .map(|&b| u16::from(b & 0x3F))
        };
        if b0 < 0x80 {
            units.push(b0);
            i += 1;
        } else if b0 & 0xE0 == 0xC0 {
            units.push(((b0 & 0x1F) << 6) | cont(i + 1)?);
            i += 2;
        } else if b0 & 0xF0 == 0xE0 {
            units.push(((b0 & 0x0F) << 12) | (cont(i + 1)? << 6) | cont(i + 2)?);
            i += 3;
        } else {
            return None;
        }
    }
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_utf8_aliases() {
        assert_eq!(decode_modified_utf8(b"icg").as_deref(), Some("icg"));
        assert_eq!(decode_modified_utf8(&[0xC0, 0x80]).as_deref(), Some("\0"));
        // U+1F600 as the surrogates D83D DE00, each in three bytes.
        assert_eq!(
            decode_modified_utf8(&[0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]).as_deref(),
            Some("😀")
        );
        assert_eq!(decode_modified_utf8(&[0xFF]), None);
    }

    #[test]
    fn key_protection_round_trips_and_rejects_a_wrong_password() {
        let password = Password::new("pässwörd".into());
        let key = b"0123456789abcdefghijklmnopqrstuvwxyz-not-really-pkcs8".to_vec();
        let blob = encrypt_key(&key, &password).unwrap();
        assert_eq!(
            decrypt_key(&blob, &password).unwrap().expose(),
            key.as_slice()
        );
        assert!(decrypt_key(&blob, &Password::new("wrong".into())).is_none());
    }

    #[test]
    fn protected_key_blob_has_the_layout_java_writes() {
        let password = Password::new("x".into());
        let blob = encrypt_key(&[7u8; 200], &password).unwrap();
        // SEQUENCE { SEQUENCE { OID 1.3.6.1.4.1.42.2.17.1.1, NULL }, OCTET STRING salt || key || check }.
        let head = [
            0x30, 0x82, 0x01, 0x03, 0x30, 0x0E, 0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A,
            0x02, 0x11, 0x01, 0x01, 0x05, 0x00, 0x04, 0x81, 0xF0,
        ];
        assert_eq!(blob[..head.len()], head);
        assert_eq!(blob.len(), head.len() + SALT_LEN + 200 + DIGEST_LEN);
        assert_eq!(check_protected_key(&blob).unwrap(), &blob[head.len()..]);
    }

    #[test]
    fn protected_keys_of_another_shape_are_refused_with_the_reason() {
        let blob = encrypt_key(&[7u8; 200], &Password::new("x".into())).unwrap();
        let mut other_oid = blob.clone();
        other_oid[17] = 0x02;
        let why = check_protected_key(&other_oid).unwrap_err();
        assert_eq!(
            why,
            "key protection algorithm 1.3.6.1.4.1.42.2.17.1.2 is not the JKS one"
        );
        let why = check_protected_key(&blob[..blob.len() - 1]).unwrap_err();
        assert!(why.starts_with("protected key is not DER ("), "{why}");
        let mut trailing = blob.clone();
        trailing.push(0);
        assert!(check_protected_key(&trailing).is_err());
        let short = encrypt_key(&[], &Password::new("x".into())).unwrap();
        assert_eq!(
            check_protected_key(&short).unwrap_err(),
            "protected key is too short"
        );
    }

    #[test]
    fn the_outer_shape_of_a_certificate() {
        let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/root.pem")).unwrap();
        let cert = X509::from_pem(&pem).unwrap().to_der().unwrap();
        assert!(looks_like_certificate(&cert));
        let mut trailing = cert.clone();
        trailing.push(0);
        assert!(!looks_like_certificate(&trailing));
        assert!(!looks_like_certificate(&cert[..cert.len() - 1]));
        // SEQUENCE { SEQUENCE, SEQUENCE, INTEGER }: no signature.
        assert!(!looks_like_certificate(&[
            0x30, 0x07, 0x30, 0x00, 0x30, 0x00, 0x02, 0x01, 0x00
        ]));
        assert!(looks_like_certificate(&[
            0x30, 0x08, 0x30, 0x00, 0x30, 0x00, 0x03, 0x02, 0x00, 0x00
        ]));
    }

    #[test]
    fn hostile_counts_and_lengths_are_refused_without_allocating() {
        let mut data = MAGIC.to_vec();
        data.extend(2u32.to_be_bytes());
        data.extend(u32::MAX.to_be_bytes());
        data.extend([0u8; 40]);
        match parse(&data, &Password::empty()) {
            Err(JksError::Corrupt(msg)) => assert!(msg.contains("entry count"), "{msg}"),
            other => panic!("unexpected {other:?}"),
        }
        let mut data = MAGIC.to_vec();
        data.extend(2u32.to_be_bytes());
        data.extend(1u32.to_be_bytes());
        data.extend(TAG_PRIVATE_KEY.to_be_bytes());
        data.extend(1u16.to_be_bytes());
        data.push(b'a');
        data.extend([0u8; 8]);
        data.extend(0xFFFF_FFF0u32.to_be_bytes());
        data.extend([0u8; 40]);
        match parse(&data, &Password::empty()) {
            Err(JksError::Corrupt(msg)) => assert!(msg.contains("protected key length"), "{msg}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
