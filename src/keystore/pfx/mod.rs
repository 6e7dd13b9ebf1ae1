//! PKCS#12 kept at the bag level, read the way Java's `PKCS12KeyStore` reads it and rewritten so that only
//! the server entry changes.
//!
//! Reading decodes the PFX, checks the MAC, decrypts the certificate SafeContents with the store password
//! and lists every SafeBag with its exact bytes. Keys stay encrypted: a key is decrypted only on request,
//! with the key password (`status` needs none). Java's view of the bags (aliases, entry types, chains) is
//! built by [`java_view`]. A rewrite replaces the server entry's key bag and certificate bags and
//! writes every other bag with the bytes it had; a SafeContents that lost or gained no bag is written
//! back as it was, encrypted bytes included, and one that changed is encrypted again with the algorithm
//! and parameters it had (fresh salt and IV). The MAC keeps its digest, iteration count and salt length.
//!
//! Structures are decoded with RustCrypto's `der`, `pkcs12`, `cms` and `pkcs5`; the PKCS#12 key
//! derivation is `pkcs12::kdf`; ciphers, PBKDF2 and HMAC are OpenSSL's (legacy provider for RC2/RC4).

mod bag;
mod java;
mod pbe;

pub use bag::{Bag, BagKind};
pub use java::{java_view, JavaEntry, JavaEntryKind, JavaView, UnfriendlyNames};

use super::ber::{self, BerError};
use crate::secret::Password;
use bag::{
    context_0, encrypted_data_parts, parse_bags, safe_contents, sequence_items, shrouded_parts,
    tlv, SHROUDED_KEY_BAG,
};
use der::asn1::{ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode, Tag, TagNumber};
pub use pbe::java_pbe_accepts;
use pbe::{random_bytes, MacDigest, PasswordForm, Scheme};
use pkcs12::cms::content_info::ContentInfo;
use zeroize::Zeroizing;

const DATA: Oid = const_oid::db::rfc5911::ID_DATA;
const ENCRYPTED_DATA: Oid = const_oid::db::rfc5911::ID_ENCRYPTED_DATA;

/// Why a PKCS#12 file could not be read or written; its text is the reason alone (the caller names the file).
#[derive(Debug, Clone, thiserror::Error)]
pub enum PfxError {
    /// The MAC does not verify, or (without a MAC) nothing decrypts, with the password given.
    #[error("the password does not verify")]
    WrongPassword,
    /// Well-formed, but uses something neither Java nor this tool handles (which algorithm or form).
    #[error("{0}")]
    Unsupported(String),
    /// Not well-formed: what is wrong.
    #[error("{0}")]
    Corrupt(&'static str),
    /// Not well-formed, as the DER decoder found (or an encoding that failed).
    #[error("{0}")]
    Der(#[from] der::Error),
    /// OpenSSL failed (MAC, cipher, random bytes).
    #[error("{0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    /// Not BER that Java reads (what is wrong).
    #[error("{0}")]
    Ber(#[from] BerError),
    /// A count in the file does not fit this machine's integers.
    #[error("{0}")]
    Number(#[from] std::num::TryFromIntError),
    /// Java's PBE refuses the password (which one): it holds a character outside printable ASCII.
    #[error("the {0} holds characters outside printable ASCII")]
    PasswordNotAscii(&'static str),
    /// Java's `PKCS12KeyStore` refuses to load the file (why, in Java's terms).
    #[error("{0}")]
    JavaRefuses(String),
    /// Java cannot see the key entry of this alias (lower case; shown escaped and cut): a later entry of
    /// the same name replaced it while the file was read.
    #[error("its key entry '{}' is hidden by a later entry of the same name, so Java sees no key under it", crate::shown::short(.0, 64))]
    HiddenKey(String),
}

impl From<&'static str> for PfxError {
    fn from(what: &'static str) -> Self {
        PfxError::Corrupt(what)
    }
}

type PfxResult<T> = Result<T, PfxError>;

/// The error for a file that is not well-formed, keeping the decoder's (or OpenSSL's) error when there is one.
fn corrupt(e: impl Into<PfxError>) -> PfxError {
    e.into()
}

/// One ContentInfo of the AuthenticatedSafe.
#[derive(Debug, Clone)]
struct Part {
    /// The ContentInfo as found: written back unchanged while none of its bags changed.
    original: Vec<u8>,
    /// The AlgorithmIdentifier (DER) it was encrypted with; `None`: plain data.
    encryption: Option<Vec<u8>>,
    bags: Vec<Bag>,
    changed: bool,
}

/// Where a bag is: (part, bag) indices.
pub type BagRef = (usize, usize);

/// The MAC's parameters, kept for the rewrite.
#[derive(Debug, Clone, Copy)]
struct MacParams {
    digest: MacDigest,
    salt_len: usize,
    iterations: i32,
}

/// A decoded PKCS#12 file.
#[derive(Debug, Clone)]
pub struct Pfx {
    parts: Vec<Part>,
    mac: Option<MacParams>,
    form: PasswordForm,
    /// Some structure was BER (indefinite lengths, constructed OCTET STRINGs): a rewrite writes it as DER.
    ber: bool,
}

impl Pfx {
    /// Decodes a PKCS#12 file: checks the MAC and decrypts the certificate parts with `password`; keys
    /// stay encrypted.
    pub fn parse(data: &[u8], password: &Password) -> PfxResult<Pfx> {
        let mut was_ber = false;
        let mut to_der = |bytes: &[u8]| -> PfxResult<Vec<u8>> {
            let converted = ber::to_der(bytes)?;
            was_ber |= matches!(converted, std::borrow::Cow::Owned(_));
            Ok(converted.into_owned())
        };
        let data = to_der(data)?;
        let pfx = pkcs12::Pfx::from_der(&data).map_err(corrupt)?;
        if pfx.auth_safe.content_type != DATA {
            return Err(PfxError::Unsupported(
                "contents protected with a public key, which Java does not read".into(),
            ));
        }
        let auth_safe = OctetString::from_der(&pfx.auth_safe.content.to_der().map_err(corrupt)?)
            .map_err(corrupt)?;
        let auth_safe = auth_safe.as_bytes();
        let candidates = PasswordForm::candidates(password);
        let (mac, mut form) = match &pfx.mac_data {
            Some(mac_data) => {
                let digest = MacDigest::from_oid(mac_data.mac.algorithm.oid).ok_or_else(|| {
                    PfxError::Unsupported(format!("MAC algorithm {}", mac_data.mac.algorithm.oid))
                })?;
                let salt = mac_data.mac_salt.as_bytes();
                let mut verified = None;
                for &form in candidates {
                    let mac = digest.mac(
                        &form.pkcs12_bytes(password),
                        salt,
                        mac_data.iterations,
                        auth_safe,
                    )?;
                    let stored = mac_data.mac.digest.as_bytes();
                    if mac.len() == stored.len() && openssl::memcmp::eq(&mac, stored) {
                        verified = Some(form);
                        break;
                    }
                }
                let form = verified.ok_or(PfxError::WrongPassword)?;
                let params = MacParams {
                    digest,
                    salt_len: salt.len(),
                    iterations: mac_data.iterations,
                };
                (Some(params), Some(form))
            }
            None => (None, None),
        };
        // The MAC covers the AuthenticatedSafe as found; Java reads its content as BER too.
        let auth_safe = to_der(auth_safe)?;
        let mut parts = Vec::new();
        for info in sequence_items(&auth_safe).map_err(corrupt)? {
            let content_info = ContentInfo::from_der(info).map_err(corrupt)?;
            let content = content_info.content.to_der().map_err(corrupt)?;
            let (encryption, bags) = match content_info.content_type {
                DATA => {
                    let octets = OctetString::from_der(&content).map_err(corrupt)?;
                    (None, parse_bags(&to_der(octets.as_bytes())?)?)
                }
                ENCRYPTED_DATA => {
                    let (algorithm, ciphertext) = encrypted_data_parts(&content)?;
                    let scheme = Scheme::parse(&algorithm)?;
                    let mut result = Err(PfxError::WrongPassword);
                    for &candidate in form.as_ref().map_or(candidates, std::slice::from_ref) {
                        result = scheme
                            .decrypt(password, candidate, &ciphertext)
                            .and_then(|plain| parse_bags(&to_der(&plain)?))
                            .map(|bags| (candidate, bags));
                        if result.is_ok() {
                            break;
                        }
                    }
                    let (used, bags) = result.map_err(|e| match (e, pfx.mac_data.is_some()) {
                        // Behind a verified MAC, undecryptable contents are damage, not a wrong password.
                        (PfxError::WrongPassword, true) => {
                            corrupt("encrypted contents do not decrypt")
                        }
                        (e, _) => e,
                    })?;
                    form = Some(used);
                    (Some(algorithm), bags)
                }
                other => {
                    return Err(PfxError::Unsupported(format!("content type {other}")));
                }
            };
            parts.push(Part {
                original: info.to_vec(),
                encryption,
                bags,
                changed: false,
            });
        }
        Ok(Pfx {
            parts,
            mac,
            form: form.unwrap_or(PasswordForm::AsGiven),
            ber: was_ber,
        })
    }

    /// Whether Java needs the store password to load the file: it has a MAC or encrypted contents.
    pub fn password_protected(&self) -> bool {
        self.mac.is_some() || self.parts.iter().any(|p| p.encryption.is_some())
    }

    pub fn bag(&self, (part, bag): BagRef) -> &Bag {
        &self.parts[part].bags[bag]
    }

    /// Every bag with where it is, in file order.
    pub fn bags(&self) -> impl Iterator<Item = (BagRef, &Bag)> {
        self.parts.iter().enumerate().flat_map(|(p, part)| {
            part.bags
                .iter()
                .enumerate()
                .map(move |(b, bag)| ((p, b), bag))
        })
    }

    /// The PKCS#8 DER of a key bag, decrypted with `password` (Java's key password).
    pub fn decrypt_key(&self, at: BagRef, password: &Password) -> PfxResult<Zeroizing<Vec<u8>>> {
        let bag = self.bag(at);
        match bag.kind {
            BagKind::ShroudedKey => {
                let (algorithm, ciphertext) = shrouded_parts(&bag.value)?;
                let scheme = Scheme::parse(&algorithm)?;
                for &form in PasswordForm::candidates(password) {
                    if let Ok(plain) = scheme.decrypt(password, form, &ciphertext) {
                        return Ok(plain);
                    }
                }
                Err(PfxError::WrongPassword)
            }
            _ => Err(corrupt("not a key bag")),
        }
    }

    /// How the file is protected, for the plan: each encrypted part's and key's scheme, and the MAC.
    pub fn describe(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        let mut note = |what: String| {
            if !seen.contains(&what) {
                seen.push(what);
            }
        };
        for part in &self.parts {
            if let Some(alg) = &part.encryption {
                if let Ok(scheme) = Scheme::parse(alg) {
                    note(format!("certificates {}", scheme.describe()));
                }
            }
            for bag in part.bags.iter().filter(|b| b.kind == BagKind::ShroudedKey) {
                if let Ok(scheme) =
                    shrouded_parts(&bag.value).and_then(|(alg, _)| Scheme::parse(&alg))
                {
                    note(format!("keys {}", scheme.describe()));
                }
            }
        }
        if self.ber {
            note("read as BER (indefinite lengths), a renewal writes it as DER".into());
        }
        note(match self.mac {
            Some(mac) => format!("MAC {} ({} iterations)", mac.digest.name(), mac.iterations),
            None => "no MAC".into(),
        });
        seen.join(", ")
    }

    /// The file with entry `entry`'s key bag holding `pkcs8` (encrypted as the old key was, with
    /// `key_password`) and its certificate bags replaced by `chain` (leaf first); every other bag as it was.
    pub fn with_replaced_entry(
        &self,
        entry: &JavaEntry,
        others: &[JavaEntry],
        pkcs8: &[u8],
        chain: &[Vec<u8>],
        store_password: &Password,
        key_password: &Password,
    ) -> PfxResult<Vec<u8>> {
        let key_at = entry.key.ok_or_else(|| corrupt("not a key entry"))?;
        let Some(new_leaf) = chain.first() else {
            return Err(corrupt("the new chain is empty"));
        };
        let leaf_at = *entry
            .certs
            .first()
            .ok_or_else(|| corrupt("key entry without certificate"))?;
        if !java_pbe_accepts(key_password) {
            return Err(PfxError::PasswordNotAscii("key password"));
        }
        let mut updated = self.clone();
        // The key bag: same attributes, encrypted as before.
        let old_key = self.bag(key_at);
        let new_key = {
            {
                let (algorithm, _) = shrouded_parts(&old_key.value)?;
                let scheme = Scheme::parse(&algorithm)?;
                let (_, old_ciphertext) = shrouded_parts(&old_key.value)?;
                let form = PasswordForm::candidates(key_password)
                    .iter()
                    .copied()
                    .find(|&f| scheme.decrypt(key_password, f, &old_ciphertext).is_ok())
                    .ok_or(PfxError::WrongPassword)?;
                let (fresh, algorithm) = scheme.renewed()?;
                let ciphertext = fresh.encrypt(key_password, form, pkcs8)?;
                let mut epki = algorithm;
                epki.extend(tlv(Tag::OctetString, &ciphertext)?);
                Bag::build(
                    SHROUDED_KEY_BAG,
                    BagKind::ShroudedKey,
                    tlv(Tag::Sequence, &epki)?,
                    old_key,
                )?
            }
        };
        updated.replace(key_at, vec![new_key]);
        // Certificate bags of the old chain that no other entry uses go; the new chain takes the leaf's place.
        let used_elsewhere: Vec<BagRef> = others
            .iter()
            .filter(|o| o.alias != entry.alias)
            .flat_map(|o| o.certs.iter().copied())
            .collect();
        let mut new_bags = vec![Bag::certificate(new_leaf, self.bag(leaf_at))?];
        // A CA certificate the old chain already holds keeps its bag, attributes and place; a new one gets the
        // attributes Java would write for it.
        let old_cas: Vec<BagRef> = entry.certs.iter().skip(1).copied().collect();
        let mut kept: Vec<BagRef> = Vec::new();
        for cert in &chain[1..] {
            let same = old_cas
                .iter()
                .copied()
                .find(|&at| matches!(&self.bag(at).kind, BagKind::Certificate(der) if der == cert));
            if let Some(at) = same {
                kept.push(at);
                continue;
            }
            let template = match java::rfc2253_subject(cert) {
                Some(name) => Bag::java_ca_template(&name, old_key)?,
                None => Bag::without_attributes(),
            };
            new_bags.push(Bag::certificate(cert, &template)?);
        }
        let mut gone: Vec<BagRef> = old_cas
            .iter()
            .copied()
            .filter(|at| {
                !kept.contains(at) && !used_elsewhere.contains(at) && !self.bag(*at).trusted
            })
            .collect();
        // Removed from the back so that earlier indices stay valid; the leaf is replaced in place.
        gone.sort_unstable();
        gone.dedup();
        let leaf_shift = gone
            .iter()
            .filter(|(p, b)| *p == leaf_at.0 && *b < leaf_at.1)
            .count();
        for &at in gone.iter().rev() {
            updated.replace(at, Vec::new());
        }
        updated.replace((leaf_at.0, leaf_at.1 - leaf_shift), new_bags);
        updated.serialize(store_password)
    }

    /// Replaces the bag at `at` by `bags` (none: removes it).
    fn replace(&mut self, (part, bag): BagRef, bags: Vec<Bag>) {
        let part = &mut self.parts[part];
        part.bags.splice(bag..=bag, bags);
        part.changed = true;
    }

    fn serialize(&self, password: &Password) -> PfxResult<Vec<u8>> {
        let mut infos = Vec::new();
        for part in &self.parts {
            if !part.changed {
                infos.extend(&part.original);
                continue;
            }
            let contents = safe_contents(&part.bags)?;
            let mut info = match &part.encryption {
                None => {
                    let mut body = DATA.to_der().map_err(corrupt)?;
                    body.extend(context_0(&tlv(Tag::OctetString, &contents)?)?);
                    body
                }
                Some(algorithm) => {
                    let (scheme, algorithm) = Scheme::parse(algorithm)?.renewed()?;
                    let ciphertext = scheme.encrypt(password, self.form, &contents)?;
                    // EncryptedData { version 0, EncryptedContentInfo { data, algorithm, [0] IMPLICIT ciphertext } }
                    let mut eci = DATA.to_der().map_err(corrupt)?;
                    eci.extend(algorithm);
                    eci.extend(tlv(
                        Tag::ContextSpecific {
                            constructed: false,
                            number: TagNumber(0),
                        },
                        &ciphertext,
                    )?);
                    let mut encrypted_data = 0u8.to_der().map_err(corrupt)?;
                    encrypted_data.extend(tlv(Tag::Sequence, &eci)?);
                    let mut body = ENCRYPTED_DATA.to_der().map_err(corrupt)?;
                    body.extend(context_0(&tlv(Tag::Sequence, &encrypted_data)?)?);
                    body
                }
            };
            info = tlv(Tag::Sequence, &info)?;
            infos.extend(info);
        }
        let auth_safe = tlv(Tag::Sequence, &infos)?;
        let mut content_info = DATA.to_der().map_err(corrupt)?;
        content_info.extend(context_0(&tlv(Tag::OctetString, &auth_safe)?)?);
        let mut pfx = 3u8.to_der().map_err(corrupt)?;
        pfx.extend(tlv(Tag::Sequence, &content_info)?);
        if let Some(mac) = self.mac {
            let salt = random_bytes(mac.salt_len.max(8))?;
            let digest = mac.digest.mac(
                &self.form.pkcs12_bytes(password),
                &salt,
                mac.iterations,
                &auth_safe,
            )?;
            let mut algorithm = mac.digest.oid().to_der().map_err(corrupt)?;
            algorithm.extend(der::asn1::Null.to_der().map_err(corrupt)?);
            let mut digest_info = tlv(Tag::Sequence, &algorithm)?;
            digest_info.extend(tlv(Tag::OctetString, &digest)?);
            let mut mac_data = tlv(Tag::Sequence, &digest_info)?;
            mac_data.extend(tlv(Tag::OctetString, &salt)?);
            if mac.iterations != 1 {
                mac_data.extend(mac.iterations.to_der().map_err(corrupt)?);
            }
            pfx.extend(tlv(Tag::Sequence, &mac_data)?);
        }
        tlv(Tag::Sequence, &pfx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(name: &str) -> (Vec<u8>, Password) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shapes");
        let password = std::fs::read_to_string(dir.join("store.pass")).unwrap();
        (
            std::fs::read(dir.join(name)).unwrap(),
            Password::new(password),
        )
    }

    #[test]
    fn a_trusted_certificate_with_a_local_key_id_is_a_trusted_entry() {
        let (data, password) = shape("saved-twice.p12");
        let pfx = Pfx::parse(&data, &password).unwrap();
        let entries = java_view(&pfx).entries;
        let root = entries
            .iter()
            .find(|e| e.alias == "root")
            .expect("root is listed");
        assert_eq!(root.kind, JavaEntryKind::TrustedCert);
        assert_eq!(
            pfx.bag(root.certs[0]).local_key_id.as_deref(),
            Some(&b"01"[..])
        );
    }

    /// Renewing an entry with its own key and chain leaves every other bag byte for byte, and every part
    /// whose bags did not change as it was.
    #[test]
    fn a_rewrite_keeps_every_other_bag_byte_for_byte() {
        for name in [
            "saved-twice.p12",
            "several-keys.p12",
            "openssl-rc2.p12",
            "vendor-attributes.p12",
            "repeated-key-alias.p12",
            "repeated-trusted-alias.p12",
        ] {
            let (data, password) = shape(name);
            let pfx = Pfx::parse(&data, &password).unwrap();
            let entries = java_view(&pfx).entries;
            let server = entries.iter().find(|e| e.alias == "icg").unwrap();
            let pkcs8 = pfx.decrypt_key(server.key.unwrap(), &password).unwrap();
            let chain: Vec<Vec<u8>> = server
                .certs
                .iter()
                .map(|&at| match &pfx.bag(at).kind {
                    BagKind::Certificate(der) => der.clone(),
                    _ => unreachable!(),
                })
                .collect();
            let written = pfx
                .with_replaced_entry(server, &entries, &pkcs8, &chain, &password, &password)
                .unwrap();
            let again = Pfx::parse(&written, &password).unwrap();
            let mut mine: Vec<BagRef> = server.certs.clone();
            mine.extend(server.key);
            let written_bags: Vec<&[u8]> = again.bags().map(|(_, b)| b.der.as_slice()).collect();
            for (at, bag) in pfx.bags().filter(|(at, _)| !mine.contains(at)) {
                assert!(
                    written_bags.contains(&bag.der.as_slice()),
                    "{name}: bag {at:?} changed"
                );
            }
            assert_eq!(java_view(&again).entries.len(), entries.len(), "{name}");
            assert_eq!(
                again.describe(),
                pfx.describe(),
                "{name}: algorithms changed"
            );
            let key = again.decrypt_key(
                java_view(&again).entries[0]
                    .key
                    .unwrap_or(server.key.unwrap()),
                &password,
            );
            assert!(key.is_ok(), "{name}");
        }
    }

    /// Two key bags named `icg` (the second `ICG` in the case shape): Java keeps the second under `icg`,
    /// with the certificate of its own localKeyID, and has lost the first.
    #[test]
    fn a_repeated_key_alias_keeps_the_later_key_with_its_own_certificate() {
        for name in ["repeated-key-alias.p12", "repeated-key-alias-case.p12"] {
            let (data, password) = shape(name);
            let pfx = Pfx::parse(&data, &password).unwrap();
            let view = java_view(&pfx);
            let keys: Vec<BagRef> = pfx
                .bags()
                .filter(|(_, b)| b.kind == BagKind::ShroudedKey)
                .map(|(at, _)| at)
                .collect();
            assert_eq!(keys.len(), 2, "{name}");
            let icg = view.entries.iter().find(|e| e.alias == "icg").unwrap();
            assert_eq!(icg.key, Some(keys[1]), "{name}");
            assert!(pfx.bag(keys[1]).local_key_id.is_some(), "{name}");
            assert_eq!(
                pfx.bag(icg.certs[0]).local_key_id,
                pfx.bag(keys[1]).local_key_id,
                "{name}: the chain of the other key"
            );
            assert_eq!(view.hidden_keys, ["icg"], "{name}");
        }
    }
}
