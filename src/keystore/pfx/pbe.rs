//! Password-based encryption of PKCS#12 parts and keys: the PKCS#12 PBE schemes (RFC 7292 appendix C)
//! and PBES2 with PBKDF2 (RFC 8018), parsed from and written back to their AlgorithmIdentifier with the
//! same parameters, the bound on iteration counts, and the MAC digests with their key derivation.

use super::{corrupt, PfxError, PfxResult};
use crate::secret::Password;
use der::asn1::{ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode};
use openssl::hash::MessageDigest;
use openssl::symm::Cipher;
use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
use pkcs12::kdf::Pkcs12KeyType;
use pkcs5::pbes2;
use zeroize::Zeroizing;

const PBES2: Oid = pkcs5::pbes2::PBES2_OID;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MacDigest {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl MacDigest {
    pub(super) fn from_oid(oid: Oid) -> Option<MacDigest> {
        Some(match oid.to_string().as_str() {
            "1.3.14.3.2.26" => MacDigest::Sha1,
            "2.16.840.1.101.3.4.2.4" => MacDigest::Sha224,
            "2.16.840.1.101.3.4.2.1" => MacDigest::Sha256,
            "2.16.840.1.101.3.4.2.2" => MacDigest::Sha384,
            "2.16.840.1.101.3.4.2.3" => MacDigest::Sha512,
            _ => return None,
        })
    }

    pub(super) fn oid(self) -> Oid {
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

    pub(super) fn name(self) -> &'static str {
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

    pub(super) fn mac(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: i32,
        data: &[u8],
    ) -> PfxResult<Vec<u8>> {
        let key = self.pkcs12_kdf(password, salt, Pkcs12KeyType::Mac, iterations);
        let pkey = openssl::pkey::PKey::hmac(&key).map_err(corrupt)?;
        let mut signer = openssl::sign::Signer::new(self.openssl(), &pkey).map_err(corrupt)?;
        signer.update(data).map_err(corrupt)?;
        signer.sign_to_vec().map_err(corrupt)
    }
}

pub(super) fn random_bytes(len: usize) -> PfxResult<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    openssl::rand::rand_bytes(&mut bytes).map_err(corrupt)?;
    Ok(bytes)
}

/// A password-based encryption scheme with its parameters.
pub(super) enum Scheme {
    /// RFC 7292 appendix C (PKCS#12 PBE): one of [`PKCS12_PBE`], salt, iterations.
    Pkcs12Pbe(&'static Pkcs12Pbe, Vec<u8>, i32),
    /// PBES2 with PBKDF2 (RFC 8018).
    Pbes2(Box<pbes2::Parameters>),
}

pub(super) struct Pkcs12Pbe {
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
    pub(super) fn parse(algorithm: &[u8]) -> PfxResult<Scheme> {
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
                    super::super::pkcs12::load_legacy_provider();
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
    pub(super) fn renewed(&self) -> PfxResult<(Scheme, Vec<u8>)> {
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

    pub(super) fn decrypt(
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

    pub(super) fn encrypt(
        &self,
        password: &Password,
        form: PasswordForm,
        data: &[u8],
    ) -> PfxResult<Vec<u8>> {
        let (cipher, key, iv) = self.key_iv(password, form)?;
        let iv = (!iv.is_empty()).then_some(iv.as_slice());
        openssl::symm::encrypt(cipher, &key, iv, data).map_err(corrupt)
    }

    pub(super) fn describe(&self) -> String {
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
    let max = super::super::pkcs12::MAX_ITERATIONS;
    if iterations < 1 || iterations as u64 > max {
        return Err(PfxError::Unsupported(format!(
            "an iteration count of {iterations}, outside 1..{max}"
        )));
    }
    Ok(())
}

/// Whether Java's PBE takes the password (`com.sun.crypto.provider.PBEKey`, used for the MAC, for PBES2 and
/// for the PKCS#12 ciphers alike): printable ASCII only, `' '` to `'~'`; anything else fails with "Password is
/// not ASCII", so the store does not load (store password) or its key cannot be read (key password).
pub fn java_pbe_accepts(password: &Password) -> bool {
    password.expose().chars().all(|c| (' '..='~').contains(&c))
}

/// How a password turns into bytes. Java retries an empty password as the one-character password "\0"
/// (which its PKCS#12 key derivation turns into no bytes at all): the two forms tools write for "no
/// password".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PasswordForm {
    AsGiven,
    NulChar,
}

impl PasswordForm {
    pub(super) fn candidates(password: &Password) -> &'static [PasswordForm] {
        if password.is_empty() {
            &[PasswordForm::AsGiven, PasswordForm::NulChar]
        } else {
            &[PasswordForm::AsGiven]
        }
    }

    /// The bytes for the PKCS#12 key derivation (RFC 7292 appendix B): UTF-16BE with a two-byte terminator.
    pub(super) fn pkcs12_bytes(self, password: &Password) -> Zeroizing<Vec<u8>> {
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
    pub(super) fn pbkdf2_bytes(self, password: &Password) -> Zeroizing<Vec<u8>> {
        match self {
            PasswordForm::AsGiven => Zeroizing::new(password.expose().as_bytes().to_vec()),
            PasswordForm::NulChar => Zeroizing::new(vec![0]),
        }
    }
}
