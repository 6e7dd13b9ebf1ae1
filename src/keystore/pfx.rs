//! PKCS#12 kept at the bag level, read the way Java's `PKCS12KeyStore` reads it and rewritten so that only
//! the server entry changes.
//!
//! Reading decodes the PFX, checks the MAC, decrypts the certificate SafeContents with the store password
//! and lists every SafeBag with its exact bytes. Keys stay encrypted: a key is decrypted only on request,
//! with the key password (`status` needs none). Java's view of the bags (aliases, entry types, chains) is
//! built by [`java_entries`]. A rewrite replaces the server entry's key bag and certificate bags and
//! writes every other bag with the bytes it had; a SafeContents that lost or gained no bag is written
//! back as it was, encrypted bytes included, and one that changed is encrypted again with the algorithm
//! and parameters it had (fresh salt and IV). The MAC keeps its digest, iteration count and salt length.
//!
//! Structures are decoded with RustCrypto's `der`, `pkcs12`, `cms` and `pkcs5`; the PKCS#12 key
//! derivation is `pkcs12::kdf`; ciphers, PBKDF2 and HMAC are OpenSSL's (legacy provider for RC2/RC4).

use crate::secret::Password;
use der::asn1::{AnyRef, ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use openssl::hash::MessageDigest;
use openssl::symm::Cipher;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::cms::content_info::ContentInfo;
use pkcs12::cms::encrypted_data::EncryptedData;
use pkcs12::kdf::Pkcs12KeyType;
use pkcs5::pbes2;
use std::collections::HashMap;
use zeroize::Zeroizing;

const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
const ENCRYPTED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.6");
const SHROUDED_KEY_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.3");
const SECRET_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.5");
const X509_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.22.1");
const FRIENDLY_NAME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: Oid = Oid::new_unwrap("1.2.840.113549.1.9.21");
/// Java's "trusted key usage" attribute: a certificate bag carrying it is a trustedCertEntry.
const JAVA_TRUSTED_USAGE: Oid = Oid::new_unwrap("2.16.840.1.113894.746875.1.1");
const PBES2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.13");

/// Why a PKCS#12 file could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PfxError {
    /// The MAC does not verify, or (without a MAC) nothing decrypts, with the password given.
    WrongPassword,
    /// Well-formed, but uses something neither Java nor this tool handles.
    Unsupported(String),
    /// Not well-formed.
    Corrupt(String),
}

type PfxResult<T> = Result<T, PfxError>;

fn corrupt(e: impl std::fmt::Display) -> PfxError {
    PfxError::Corrupt(e.to_string())
}

/// How a password turns into bytes. Java retries an empty password as the one-character password "\0"
/// (which its PKCS#12 key derivation turns into no bytes at all): the two forms tools write for "no
/// password".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordForm {
    AsGiven,
    NulChar,
}

impl PasswordForm {
    fn candidates(password: &Password) -> &'static [PasswordForm] {
        if password.is_empty() {
            &[PasswordForm::AsGiven, PasswordForm::NulChar]
        } else {
            &[PasswordForm::AsGiven]
        }
    }

    /// The bytes for the PKCS#12 key derivation (RFC 7292 appendix B): UTF-16BE with a two-byte terminator.
    fn pkcs12_bytes(self, password: &Password) -> Zeroizing<Vec<u8>> {
        match self {
            PasswordForm::AsGiven => {
                let mut bytes = password.utf16be();
                bytes.extend([0, 0]);
                bytes
            }
            PasswordForm::NulChar => Zeroizing::new(Vec::new()),
        }
    }

    /// The bytes for PBKDF2: UTF-8.
    fn pbkdf2_bytes(self, password: &Password) -> Zeroizing<Vec<u8>> {
        match self {
            PasswordForm::AsGiven => Zeroizing::new(password.expose().as_bytes().to_vec()),
            PasswordForm::NulChar => Zeroizing::new(vec![0]),
        }
    }
}

/// What kind of bag, as far as Java's keystore cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BagKind {
    /// An encrypted PKCS#8 key (pkcs8ShroudedKeyBag).
    ShroudedKey,
    /// An X.509 certificate (its DER).
    Certificate(Vec<u8>),
    /// A secret key (Java's SecretKeyEntry).
    Secret,
    /// Anything else (unencrypted keyBags, which Java's keystore skips, CRLs, nested SafeContents, other
    /// certificate types): kept, never looked into.
    Other,
}

/// One SafeBag: its exact bytes and what Java reads from it.
#[derive(Debug, Clone)]
pub struct Bag {
    /// The whole SafeBag as found (or as written for the new server entry).
    pub der: Vec<u8>,
    pub kind: BagKind,
    /// The bag value (the content of `[0]`), DER.
    value: Vec<u8>,
    /// The `bagAttributes` SET as found, DER.
    attributes: Option<Vec<u8>>,
    pub friendly_name: Option<String>,
    pub local_key_id: Option<Vec<u8>>,
    pub trusted: bool,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MacDigest {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl MacDigest {
    fn from_oid(oid: Oid) -> Option<MacDigest> {
        Some(match oid.to_string().as_str() {
            "1.3.14.3.2.26" => MacDigest::Sha1,
            "2.16.840.1.101.3.4.2.4" => MacDigest::Sha224,
            "2.16.840.1.101.3.4.2.1" => MacDigest::Sha256,
            "2.16.840.1.101.3.4.2.2" => MacDigest::Sha384,
            "2.16.840.1.101.3.4.2.3" => MacDigest::Sha512,
            _ => return None,
        })
    }

    fn oid(self) -> Oid {
        Oid::new_unwrap(match self {
            MacDigest::Sha1 => "1.3.14.3.2.26",
            MacDigest::Sha224 => "2.16.840.1.101.3.4.2.4",
            MacDigest::Sha256 => "2.16.840.1.101.3.4.2.1",
            MacDigest::Sha384 => "2.16.840.1.101.3.4.2.2",
            MacDigest::Sha512 => "2.16.840.1.101.3.4.2.3",
        })
    }

    fn openssl(self) -> MessageDigest {
        match self {
            MacDigest::Sha1 => MessageDigest::sha1(),
            MacDigest::Sha224 => MessageDigest::sha224(),
            MacDigest::Sha256 => MessageDigest::sha256(),
            MacDigest::Sha384 => MessageDigest::sha384(),
            MacDigest::Sha512 => MessageDigest::sha512(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            MacDigest::Sha1 => "HMAC-SHA1",
            MacDigest::Sha224 => "HMAC-SHA224",
            MacDigest::Sha256 => "HMAC-SHA256",
            MacDigest::Sha384 => "HMAC-SHA384",
            MacDigest::Sha512 => "HMAC-SHA512",
        }
    }

    /// RFC 7292 appendix B with this digest.
    fn pkcs12_kdf(
        self,
        pass: &[u8],
        salt: &[u8],
        id: Pkcs12KeyType,
        rounds: i32,
    ) -> Zeroizing<Vec<u8>> {
        use pkcs12::kdf::derive_key;
        Zeroizing::new(match self {
            MacDigest::Sha1 => derive_key::<sha1::Sha1>(pass, salt, id, rounds, 20),
            MacDigest::Sha224 => derive_key::<sha2::Sha224>(pass, salt, id, rounds, 28),
            MacDigest::Sha256 => derive_key::<sha2::Sha256>(pass, salt, id, rounds, 32),
            MacDigest::Sha384 => derive_key::<sha2::Sha384>(pass, salt, id, rounds, 48),
            MacDigest::Sha512 => derive_key::<sha2::Sha512>(pass, salt, id, rounds, 64),
        })
    }

    fn mac(self, password: &[u8], salt: &[u8], iterations: i32, data: &[u8]) -> PfxResult<Vec<u8>> {
        let key = self.pkcs12_kdf(password, salt, Pkcs12KeyType::Mac, iterations);
        let pkey = openssl::pkey::PKey::hmac(&key).map_err(corrupt)?;
        let mut signer = openssl::sign::Signer::new(self.openssl(), &pkey).map_err(corrupt)?;
        signer.update(data).map_err(corrupt)?;
        signer.sign_to_vec().map_err(corrupt)
    }
}

/// A decoded PKCS#12 file.
#[derive(Debug, Clone)]
pub struct Pfx {
    parts: Vec<Part>,
    mac: Option<MacParams>,
    form: PasswordForm,
}

/// A Java keystore entry over the bags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaEntry {
    pub alias: String,
    pub kind: JavaEntryKind,
    /// Key entries: the key bag.
    pub key: Option<BagRef>,
    /// Key entries: the chain's certificate bags, leaf first. Trusted entries: the one certificate bag.
    pub certs: Vec<BagRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JavaEntryKind {
    PrivateKey,
    TrustedCert,
    SecretKey,
}

/// The elements of a DER SEQUENCE, each as its exact bytes.
fn sequence_items(tlv: &[u8]) -> der::Result<Vec<&[u8]>> {
    let seq = AnyRef::from_der(tlv)?;
    if seq.tag() != Tag::Sequence {
        return Err(Tag::Sequence.value_error().into());
    }
    let mut reader = SliceReader::new(seq.value())?;
    let mut items = Vec::new();
    while !reader.is_finished() {
        items.push(reader.tlv_bytes()?);
    }
    Ok(items)
}

fn tlv(tag: Tag, content: &[u8]) -> PfxResult<Vec<u8>> {
    AnyRef::new(tag, content)
        .and_then(|any| any.to_der())
        .map_err(corrupt)
}

fn context_0(content: &[u8]) -> PfxResult<Vec<u8>> {
    tlv(
        Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(0),
        },
        content,
    )
}

fn random_bytes(len: usize) -> PfxResult<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    openssl::rand::rand_bytes(&mut bytes).map_err(corrupt)?;
    Ok(bytes)
}

impl Bag {
    fn parse(der: &[u8]) -> PfxResult<Bag> {
        let outer = AnyRef::from_der(der).map_err(corrupt)?;
        let mut reader = SliceReader::new(outer.value()).map_err(corrupt)?;
        let id: Oid = reader.decode().map_err(corrupt)?;
        let explicit: AnyRef<'_> = reader.decode().map_err(corrupt)?;
        let value = explicit.value().to_vec();
        let attributes = if reader.is_finished() {
            None
        } else {
            Some(reader.tlv_bytes().map_err(corrupt)?.to_vec())
        };
        reader.finish().map_err(corrupt)?;
        if outer.tag() != Tag::Sequence
            || explicit.tag()
                != (Tag::ContextSpecific {
                    constructed: true,
                    number: TagNumber(0),
                })
        {
            return Err(corrupt("a SafeBag is not a SEQUENCE with a [0] value"));
        }
        let kind = match id {
            SHROUDED_KEY_BAG => BagKind::ShroudedKey,
            SECRET_BAG => BagKind::Secret,
            CERT_BAG => certificate_of(&value)?.map_or(BagKind::Other, BagKind::Certificate),
            _ => BagKind::Other,
        };
        let mut bag = Bag {
            der: der.to_vec(),
            kind,
            value,
            attributes,
            friendly_name: None,
            local_key_id: None,
            trusted: false,
        };
        if let Some(set) = &bag.attributes {
            let set = set.clone();
            bag.read_attributes(&set)?;
        }
        Ok(bag)
    }

    fn read_attributes(&mut self, set: &[u8]) -> PfxResult<()> {
        let set = AnyRef::from_der(set).map_err(corrupt)?;
        let mut reader = SliceReader::new(set.value()).map_err(corrupt)?;
        while !reader.is_finished() {
            let attribute: AnyRef<'_> = reader.decode().map_err(corrupt)?;
            let mut fields = SliceReader::new(attribute.value()).map_err(corrupt)?;
            let oid: Oid = fields.decode().map_err(corrupt)?;
            let values: AnyRef<'_> = fields.decode().map_err(corrupt)?;
            let first = SliceReader::new(values.value()).ok().and_then(|mut r| {
                (!r.is_finished())
                    .then(|| r.decode::<AnyRef<'_>>().ok())
                    .flatten()
            });
            match (oid, first) {
                (FRIENDLY_NAME, Some(name)) if name.tag() == Tag::BmpString => {
                    let units = name
                        .value()
                        .chunks(2)
                        .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
                    self.friendly_name = Some(
                        char::decode_utf16(units)
                            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                            .collect(),
                    );
                }
                (LOCAL_KEY_ID, Some(id)) if id.tag() == Tag::OctetString => {
                    self.local_key_id = Some(id.value().to_vec());
                }
                (JAVA_TRUSTED_USAGE, _) => self.trusted = true,
                _ => {}
            }
        }
        Ok(())
    }

    /// A new bag of type `id` holding `value`, with the attribute SET `attributes` as found elsewhere.
    fn build(id: Oid, kind: BagKind, value: Vec<u8>, template: &Bag) -> PfxResult<Bag> {
        let mut body = id.to_der().map_err(corrupt)?;
        body.extend(context_0(&value)?);
        if let Some(attributes) = &template.attributes {
            body.extend(attributes);
        }
        Ok(Bag {
            der: tlv(Tag::Sequence, &body)?,
            kind,
            value,
            attributes: template.attributes.clone(),
            friendly_name: template.friendly_name.clone(),
            local_key_id: template.local_key_id.clone(),
            trusted: template.trusted,
        })
    }

    fn certificate(cert_der: &[u8], template: &Bag) -> PfxResult<Bag> {
        let mut cert_bag = X509_CERTIFICATE.to_der().map_err(corrupt)?;
        cert_bag.extend(context_0(&tlv(Tag::OctetString, cert_der)?)?);
        let value = tlv(Tag::Sequence, &cert_bag)?;
        Bag::build(
            CERT_BAG,
            BagKind::Certificate(cert_der.to_vec()),
            value,
            template,
        )
    }

    fn without_attributes() -> Bag {
        Bag {
            der: Vec::new(),
            kind: BagKind::Other,
            value: Vec::new(),
            attributes: None,
            friendly_name: None,
            local_key_id: None,
            trusted: false,
        }
    }
}

/// The X.509 certificate of a CertBag value, `None` for other certificate types.
fn certificate_of(cert_bag: &[u8]) -> PfxResult<Option<Vec<u8>>> {
    let seq = AnyRef::from_der(cert_bag).map_err(corrupt)?;
    let mut reader = SliceReader::new(seq.value()).map_err(corrupt)?;
    let id: Oid = reader.decode().map_err(corrupt)?;
    let explicit: AnyRef<'_> = reader.decode().map_err(corrupt)?;
    if id != X509_CERTIFICATE {
        return Ok(None);
    }
    let octets = OctetString::from_der(explicit.value()).map_err(corrupt)?;
    Ok(Some(octets.as_bytes().to_vec()))
}

/// A password-based encryption scheme with its parameters.
enum Scheme {
    /// RFC 7292 appendix C (PKCS#12 PBE): one of [`PKCS12_PBE`], salt, iterations.
    Pkcs12Pbe(&'static Pkcs12Pbe, Vec<u8>, i32),
    /// PBES2 with PBKDF2 (RFC 8018).
    Pbes2(Box<pbes2::Parameters>),
}

struct Pkcs12Pbe {
    oid: &'static str,
    cipher: fn() -> Cipher,
    key_len: usize,
    iv_len: usize,
    name: &'static str,
}

/// The PKCS#12 PBE schemes Java reads and OpenSSL can compute.
const PKCS12_PBE: &[Pkcs12Pbe] = &[
    Pkcs12Pbe {
        oid: "1.2.840.113549.1.12.1.1",
        cipher: Cipher::rc4,
        key_len: 16,
        iv_len: 0,
        name: "PBE-SHA1-RC4-128",
    },
    Pkcs12Pbe {
        oid: "1.2.840.113549.1.12.1.3",
        cipher: Cipher::des_ede3_cbc,
        key_len: 24,
        iv_len: 8,
        name: "PBE-SHA1-3DES",
    },
    Pkcs12Pbe {
        oid: "1.2.840.113549.1.12.1.5",
        cipher: Cipher::rc2_cbc,
        key_len: 16,
        iv_len: 8,
        name: "PBE-SHA1-RC2-128",
    },
    Pkcs12Pbe {
        oid: "1.2.840.113549.1.12.1.6",
        cipher: Cipher::rc2_40_cbc,
        key_len: 5,
        iv_len: 8,
        name: "PBE-SHA1-RC2-40",
    },
];

#[derive(der::Sequence)]
struct PbeParameter {
    salt: OctetString,
    iterations: i32,
}

impl Scheme {
    fn parse(algorithm: &[u8]) -> PfxResult<Scheme> {
        let alg = AlgorithmIdentifierOwned::from_der(algorithm).map_err(corrupt)?;
        let params = alg
            .parameters
            .as_ref()
            .ok_or_else(|| corrupt("encryption parameters missing"))?
            .to_der()
            .map_err(corrupt)?;
        if alg.oid == PBES2 {
            let params = pbes2::Parameters::from_der(&params).map_err(|e| {
                PfxError::Unsupported(format!("PBES2 parameters not understood ({e})"))
            })?;
            if !matches!(params.kdf, pbes2::Kdf::Pbkdf2(_)) {
                return Err(PfxError::Unsupported(
                    "a PBES2 key derivation other than PBKDF2".into(),
                ));
            }
            return Ok(Scheme::Pbes2(Box::new(params)));
        }
        let oid = alg.oid.to_string();
        let pbe = PKCS12_PBE
            .iter()
            .find(|p| p.oid == oid)
            .ok_or_else(|| PfxError::Unsupported(format!("encryption algorithm {oid}")))?;
        let p = PbeParameter::from_der(&params).map_err(corrupt)?;
        check_iterations(i64::from(p.iterations))?;
        Ok(Scheme::Pkcs12Pbe(
            pbe,
            p.salt.as_bytes().to_vec(),
            p.iterations,
        ))
    }

    /// Key, IV and cipher for `password`.
    fn key_iv(
        &self,
        password: &Password,
        form: PasswordForm,
    ) -> PfxResult<(Cipher, Zeroizing<Vec<u8>>, Vec<u8>)> {
        match self {
            Scheme::Pkcs12Pbe(pbe, salt, rounds) => {
                if pbe.oid != "1.2.840.113549.1.12.1.3" {
                    super::pkcs12::load_legacy_provider();
                }
                let pass = form.pkcs12_bytes(password);
                let derive = |id, len| {
                    Zeroizing::new(pkcs12::kdf::derive_key::<sha1::Sha1>(
                        &pass, salt, id, *rounds, len,
                    ))
                };
                let key = derive(Pkcs12KeyType::EncryptionKey, pbe.key_len);
                let iv = derive(Pkcs12KeyType::Iv, pbe.iv_len).to_vec();
                Ok(((pbe.cipher)(), key, iv))
            }
            Scheme::Pbes2(params) => {
                let pbes2::Kdf::Pbkdf2(kdf) = &params.kdf else {
                    return Err(PfxError::Unsupported("PBES2 without PBKDF2".into()));
                };
                let (cipher, iv) = match params.encryption {
                    pbes2::EncryptionScheme::Aes128Cbc { iv } => (Cipher::aes_128_cbc(), iv),
                    pbes2::EncryptionScheme::Aes192Cbc { iv } => (Cipher::aes_192_cbc(), iv),
                    pbes2::EncryptionScheme::Aes256Cbc { iv } => (Cipher::aes_256_cbc(), iv),
                    _ => {
                        return Err(PfxError::Unsupported(
                            "a PBES2 cipher other than AES-CBC".into(),
                        ))
                    }
                };
                let digest = match kdf.prf {
                    pbes2::Pbkdf2Prf::HmacWithSha1 => MessageDigest::sha1(),
                    pbes2::Pbkdf2Prf::HmacWithSha224 => MessageDigest::sha224(),
                    pbes2::Pbkdf2Prf::HmacWithSha256 => MessageDigest::sha256(),
                    pbes2::Pbkdf2Prf::HmacWithSha384 => MessageDigest::sha384(),
                    pbes2::Pbkdf2Prf::HmacWithSha512 => MessageDigest::sha512(),
                    _ => {
                        return Err(PfxError::Unsupported(
                            "a PBKDF2 function other than HMAC-SHA1/SHA2".into(),
                        ))
                    }
                };
                let mut key = Zeroizing::new(vec![0u8; params.encryption.key_size()]);
                let iterations = usize::try_from(kdf.iteration_count).map_err(corrupt)?;
                openssl::pkcs5::pbkdf2_hmac(
                    &form.pbkdf2_bytes(password),
                    kdf.salt.as_bytes(),
                    iterations,
                    digest,
                    &mut key,
                )
                .map_err(corrupt)?;
                Ok((cipher, key, iv.to_vec()))
            }
        }
    }

    /// The same scheme and parameters with a fresh salt (same length) and IV, as an AlgorithmIdentifier.
    fn renewed(&self) -> PfxResult<(Scheme, Vec<u8>)> {
        match self {
            Scheme::Pkcs12Pbe(pbe, salt, rounds) => {
                let salt = random_bytes(salt.len().max(8))?;
                let params = PbeParameter {
                    salt: OctetString::new(salt.clone()).map_err(corrupt)?,
                    iterations: *rounds,
                };
                let alg = AlgorithmIdentifierOwned {
                    oid: Oid::new_unwrap(pbe.oid),
                    parameters: Some(
                        der::Any::from_der(&params.to_der().map_err(corrupt)?).map_err(corrupt)?,
                    ),
                };
                Ok((
                    Scheme::Pkcs12Pbe(pbe, salt, *rounds),
                    alg.to_der().map_err(corrupt)?,
                ))
            }
            Scheme::Pbes2(params) => {
                let mut params = params.clone();
                if let pbes2::Kdf::Pbkdf2(kdf) = &mut params.kdf {
                    let len = kdf.salt.as_bytes().len().max(8);
                    kdf.salt = pbes2::Salt::new(random_bytes(len)?).map_err(corrupt)?;
                }
                let fresh: [u8; 16] = random_bytes(16)?.try_into().expect("16 bytes asked");
                params.encryption = match params.encryption {
                    pbes2::EncryptionScheme::Aes128Cbc { .. } => {
                        pbes2::EncryptionScheme::Aes128Cbc { iv: fresh }
                    }
                    pbes2::EncryptionScheme::Aes192Cbc { .. } => {
                        pbes2::EncryptionScheme::Aes192Cbc { iv: fresh }
                    }
                    pbes2::EncryptionScheme::Aes256Cbc { .. } => {
                        pbes2::EncryptionScheme::Aes256Cbc { iv: fresh }
                    }
                    _ => {
                        return Err(PfxError::Unsupported(
                            "a PBES2 cipher other than AES-CBC".into(),
                        ))
                    }
                };
                let alg = AlgorithmIdentifierOwned {
                    oid: PBES2,
                    parameters: Some(
                        der::Any::from_der(&params.to_der().map_err(corrupt)?).map_err(corrupt)?,
                    ),
                };
                let der = alg.to_der().map_err(corrupt)?;
                Ok((Scheme::Pbes2(params), der))
            }
        }
    }

    fn decrypt(
        &self,
        password: &Password,
        form: PasswordForm,
        data: &[u8],
    ) -> PfxResult<Zeroizing<Vec<u8>>> {
        let (cipher, key, iv) = self.key_iv(password, form)?;
        let iv = (!iv.is_empty()).then_some(iv.as_slice());
        openssl::symm::decrypt(cipher, &key, iv, data)
            .map(Zeroizing::new)
            .map_err(|_| PfxError::WrongPassword)
    }

    fn encrypt(&self, password: &Password, form: PasswordForm, data: &[u8]) -> PfxResult<Vec<u8>> {
        let (cipher, key, iv) = self.key_iv(password, form)?;
        let iv = (!iv.is_empty()).then_some(iv.as_slice());
        openssl::symm::encrypt(cipher, &key, iv, data).map_err(corrupt)
    }

    fn describe(&self) -> String {
        match self {
            Scheme::Pkcs12Pbe(pbe, _, rounds) => format!("{} ({rounds} iterations)", pbe.name),
            Scheme::Pbes2(params) => {
                let bits = params.encryption.key_size() * 8;
                let rounds = match &params.kdf {
                    pbes2::Kdf::Pbkdf2(kdf) => kdf.iteration_count,
                    _ => 0,
                };
                format!("PBES2/AES-{bits} ({rounds} iterations)")
            }
        }
    }
}

/// Keys inside encrypted parts are not seen by the pre-check (`pkcs12::sniff_params`): their iteration
/// counts are bounded here, before any derivation runs.
fn check_iterations(iterations: i64) -> PfxResult<()> {
    let max = super::pkcs12::MAX_ITERATIONS;
    if iterations < 1 || iterations as u64 > max {
        return Err(PfxError::Unsupported(format!(
            "an iteration count of {iterations}, outside 1..{max}"
        )));
    }
    Ok(())
}

/// The SafeContents bytes of a list of bags.
fn safe_contents(bags: &[Bag]) -> PfxResult<Vec<u8>> {
    let body: Vec<u8> = bags.iter().flat_map(|b| b.der.iter().copied()).collect();
    tlv(Tag::Sequence, &body)
}

fn parse_bags(safe_contents: &[u8]) -> PfxResult<Vec<Bag>> {
    sequence_items(safe_contents)
        .map_err(corrupt)?
        .into_iter()
        .map(Bag::parse)
        .collect()
}

impl Pfx {
    /// Decodes a PKCS#12 file: checks the MAC and decrypts the certificate parts with `password`; keys
    /// stay encrypted.
    pub fn parse(data: &[u8], password: &Password) -> PfxResult<Pfx> {
        let pfx = pkcs12::Pfx::from_der(data).map_err(corrupt)?;
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
        let mut parts = Vec::new();
        for info in sequence_items(auth_safe).map_err(corrupt)? {
            let content_info = ContentInfo::from_der(info).map_err(corrupt)?;
            let content = content_info.content.to_der().map_err(corrupt)?;
            let (encryption, bags) = match content_info.content_type {
                DATA => {
                    let octets = OctetString::from_der(&content).map_err(corrupt)?;
                    (None, parse_bags(octets.as_bytes())?)
                }
                ENCRYPTED_DATA => {
                    let encrypted = EncryptedData::from_der(&content).map_err(corrupt)?;
                    let info = &encrypted.enc_content_info;
                    let algorithm = info.content_enc_alg.to_der().map_err(corrupt)?;
                    let scheme = Scheme::parse(&algorithm)?;
                    let ciphertext = info
                        .encrypted_content
                        .as_ref()
                        .map_or(&[][..], |c| c.as_bytes());
                    let mut result = Err(PfxError::WrongPassword);
                    for &candidate in form.as_ref().map_or(candidates, std::slice::from_ref) {
                        result = scheme
                            .decrypt(password, candidate, ciphertext)
                            .and_then(|plain| parse_bags(&plain))
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
        })
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
        for cert in &chain[1..] {
            new_bags.push(Bag::certificate(cert, &Bag::without_attributes())?);
        }
        let mut gone: Vec<BagRef> = entry
            .certs
            .iter()
            .skip(1)
            .copied()
            .filter(|at| !used_elsewhere.contains(at) && !self.bag(*at).trusted)
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

/// The AlgorithmIdentifier (DER) and ciphertext of an EncryptedPrivateKeyInfo.
fn shrouded_parts(epki: &[u8]) -> PfxResult<(Vec<u8>, Vec<u8>)> {
    let items = sequence_items(epki).map_err(corrupt)?;
    let [algorithm, data] = items.as_slice() else {
        return Err(corrupt("EncryptedPrivateKeyInfo is not two fields"));
    };
    let data = OctetString::from_der(data).map_err(corrupt)?;
    Ok((algorithm.to_vec(), data.as_bytes().to_vec()))
}

/// Java's numbering for entries without a friendlyName: "1", "2", ... in the order the bags are read
/// (`PKCS12KeyStore.getUnfriendlyName`), counting only the entries that get no friendlyName.
#[derive(Debug, Default)]
pub struct UnfriendlyNames {
    counter: u32,
}

impl UnfriendlyNames {
    pub fn alias_for(&mut self, friendly_name: Option<&str>) -> String {
        match friendly_name {
            Some(name) => name.to_string(),
            None => {
                self.counter += 1;
                self.counter.to_string()
            }
        }
    }
}

/// The issuer and subject Names (each as its DER, compared byte for byte) of a DER certificate: enough
/// to follow a chain through thousands of certificates without parsing any of them in full.
fn certificate_names(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let cert = AnyRef::from_der(cert).ok()?;
    let tbs: AnyRef<'_> = SliceReader::new(cert.value()).ok()?.decode().ok()?;
    let mut fields = SliceReader::new(tbs.value()).ok()?;
    let version = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(0),
    };
    if Tag::peek(&fields).ok()? == version {
        fields.tlv_bytes().ok()?;
    }
    fields.tlv_bytes().ok()?; // serial number
    fields.tlv_bytes().ok()?; // signature algorithm
    let issuer = fields.tlv_bytes().ok()?;
    fields.tlv_bytes().ok()?; // validity
    let subject = fields.tlv_bytes().ok()?;
    Some((issuer, subject))
}

/// Longest certificate chain followed from a key entry.
const MAX_CHAIN: usize = 16;

/// Java's entries over the bags, in the order `PKCS12KeyStore.engineLoad` makes them: every shrouded key bag
/// (with a localKeyID, or the only key) is a PrivateKeyEntry, every secret bag a SecretKeyEntry, every
/// certificate bag with Java's trusted-usage attribute a trustedCertEntry (whatever other attributes it
/// has: keytool adds a localKeyID to trusted entries when it saves such a store again). Aliases are the
/// friendlyNames, else Java's numbers; a repeated alias (ignoring ASCII case) replaces the earlier entry,
/// as in Java's map. A key's chain is its certificate (same localKeyID, else same alias) followed by
/// issuers found by subject (first certificate of each subject), until a self-issued one; a key without
/// a certificate is not listed (Java drops it too).
pub fn java_entries(pfx: &Pfx) -> Vec<JavaEntry> {
    let key_count = pfx
        .bags()
        .filter(|(_, b)| b.kind == BagKind::ShroudedKey)
        .count();
    let mut names = UnfriendlyNames::default();
    let mut entries: Vec<JavaEntry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut put = |entries: &mut Vec<JavaEntry>, entry: JavaEntry| {
        let key = entry.alias.to_ascii_lowercase();
        match index.get(&key) {
            Some(&at) => entries[at] = entry,
            None => {
                index.insert(key, entries.len());
                entries.push(entry);
            }
        }
    };
    // Untrusted certificates with the ID Java gives them, and the first certificate of each subject.
    let mut cert_ids: Vec<(Vec<u8>, BagRef)> = Vec::new();
    let mut cert_aliases: Vec<(String, BagRef)> = Vec::new();
    let mut by_subject: HashMap<&[u8], BagRef> = HashMap::new();
    let mut key_ids: Vec<(usize, Vec<u8>)> = Vec::new();
    for (at, bag) in pfx.bags() {
        match &bag.kind {
            BagKind::ShroudedKey => {
                let id = match &bag.local_key_id {
                    Some(id) => id.clone(),
                    None if key_count == 1 => b"01".to_vec(),
                    None => continue,
                };
                let alias = names.alias_for(bag.friendly_name.as_deref());
                key_ids.push((entries.len(), id));
                put(
                    &mut entries,
                    JavaEntry {
                        alias,
                        kind: JavaEntryKind::PrivateKey,
                        key: Some(at),
                        certs: Vec::new(),
                    },
                );
            }
            BagKind::Secret => {
                let alias = names.alias_for(bag.friendly_name.as_deref());
                put(
                    &mut entries,
                    JavaEntry {
                        alias,
                        kind: JavaEntryKind::SecretKey,
                        key: Some(at),
                        certs: Vec::new(),
                    },
                );
            }
            BagKind::Certificate(der) => {
                if let Some((_, subject)) = certificate_names(der) {
                    by_subject.entry(subject).or_insert(at);
                }
                if bag.trusted {
                    let alias = names.alias_for(bag.friendly_name.as_deref());
                    put(
                        &mut entries,
                        JavaEntry {
                            alias,
                            kind: JavaEntryKind::TrustedCert,
                            key: None,
                            certs: vec![at],
                        },
                    );
                    continue;
                }
                let id = match &bag.local_key_id {
                    Some(id) => Some(id.clone()),
                    None if key_count == 1 && at.1 == 0 => Some(b"01".to_vec()),
                    None => None,
                };
                if let Some(id) = id {
                    cert_ids.push((id, at));
                }
                if let Some(name) = &bag.friendly_name {
                    cert_aliases.push((name.to_ascii_lowercase(), at));
                }
            }
            BagKind::Other => {}
        }
    }
    let id_of: HashMap<usize, Vec<u8>> = key_ids.into_iter().collect();
    let by_id: HashMap<&[u8], BagRef> = cert_ids
        .iter()
        .rev()
        .map(|(id, at)| (id.as_slice(), *at))
        .collect();
    let by_alias: HashMap<&str, BagRef> = cert_aliases
        .iter()
        .rev()
        .map(|(name, at)| (name.as_str(), *at))
        .collect();
    for (position, entry) in entries.iter_mut().enumerate() {
        if entry.kind != JavaEntryKind::PrivateKey {
            continue;
        }
        let leaf = id_of
            .get(&position)
            .and_then(|id| by_id.get(id.as_slice()))
            .or_else(|| by_alias.get(entry.alias.to_ascii_lowercase().as_str()));
        let mut next = leaf.copied();
        while let Some(at) = next {
            if entry.certs.contains(&at) || entry.certs.len() >= MAX_CHAIN {
                break;
            }
            entry.certs.push(at);
            let BagKind::Certificate(der) = &pfx.bag(at).kind else {
                break;
            };
            next = match certificate_names(der) {
                Some((issuer, subject)) if issuer != subject => by_subject.get(issuer).copied(),
                _ => None,
            };
        }
    }
    entries.retain(|e| e.kind != JavaEntryKind::PrivateKey || !e.certs.is_empty());
    entries
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
        let entries = java_entries(&pfx);
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
        ] {
            let (data, password) = shape(name);
            let pfx = Pfx::parse(&data, &password).unwrap();
            let entries = java_entries(&pfx);
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
            assert_eq!(java_entries(&again).len(), entries.len(), "{name}");
            assert_eq!(
                again.describe(),
                pfx.describe(),
                "{name}: algorithms changed"
            );
            let key = again.decrypt_key(
                java_entries(&again)[0].key.unwrap_or(server.key.unwrap()),
                &password,
            );
            assert!(key.is_ok(), "{name}");
        }
    }

    #[test]
    fn unfriendly_names_count_only_nameless_entries() {
        let mut names = UnfriendlyNames::default();
        assert_eq!(names.alias_for(None), "1");
        assert_eq!(names.alias_for(Some("root")), "root");
        assert_eq!(names.alias_for(None), "2");
        assert_eq!(names.alias_for(None), "3");
    }
}
