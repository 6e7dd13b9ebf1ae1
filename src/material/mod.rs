//! New certificate material from any file an operator may have been given, recognised by content, never by
//! name: JKS, PKCS#12 (modern and legacy), the UMS export `keystore.icg` (a password-less keystore, or a ZIP
//! holding a keystore and its password), a PEM bundle, or a single PEM/DER certificate with `--key`.
//! Returns the private key and the chain ordered leaf to root. Decides nothing about compatibility.
//!
//! Here: telling formats apart and loading them; the search for candidate files is in `candidates`.

mod candidates;

pub use candidates::{
    candidate_places, find_candidates, holds_certificate_for, Candidate, Places,
    CANDIDATE_EXTENSIONS,
};

use crate::error::MaterialError;
use crate::error::{AliasFrom, Error, ErrorKind, PasswordFor, Result};
use crate::fsx;
use crate::fsx::MAX_FILE_SIZE;
use crate::keystore::{self, Keystore};
use crate::secret::Password;
use crate::shown::Shown;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Longest chain followed when ordering certificates.
const MAX_CHAIN: usize = 16;
/// Most certificates accepted in new material (a chain is a handful; ordering is quadratic in the count).
const MAX_CERTIFICATES: usize = 64;
/// Most entries looked at in a ZIP container.
const MAX_ZIP_ENTRIES: usize = 64;

/// What the operator gave besides the material file.
#[derive(Debug, Clone, Default)]
pub struct MaterialOptions {
    pub key: Option<PathBuf>,
    pub chain: Option<PathBuf>,
    pub password: Option<Password>,
    pub alias: Option<String>,
}

/// Where the parts of new material come from, as the operator named them; the password file is read (and
/// its mode judged) when the material is opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaterialSource {
    pub key: Option<PathBuf>,
    pub chain: Option<PathBuf>,
    pub password_file: Option<PathBuf>,
    pub alias: Option<String>,
}

/// Loaded new material.
#[derive(Debug)]
pub struct Material {
    /// What the file turned out to be, for the operator.
    pub format: String,
    /// The private key, when the material carries one (or `--key` gave it); else the caller may find it.
    pub key: Option<PKey<Private>>,
    /// Where the key came from, for the `key-matches` check.
    pub key_source: KeySource,
    /// Leaf first, then each issuer found, as far as the material reaches.
    pub chain: Vec<X509>,
}

/// Where the private key of new material came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// In the material file itself.
    Material,
    /// From `--key`.
    KeyFile(PathBuf),
    /// The key `icg-renew csr` left beside the keystore: its path and the file it was read from.
    Pending(PathBuf, crate::fsx::FileId),
    /// The key already installed: a renewal that keeps the key.
    Installed,
    /// No key was found.
    None,
}

impl KeySource {
    pub fn describe(&self) -> String {
        match self {
            KeySource::Material => "the key in the new material".into(),
            KeySource::KeyFile(p) => format!("the key from {}", p.shown()),
            KeySource::Pending(p, _) => {
                format!("the pending key from icg-renew csr ({})", p.shown())
            }
            KeySource::Installed => "the installed key (the renewal keeps the key)".into(),
            KeySource::None => "no key".into(),
        }
    }
}

impl Material {
    pub fn leaf(&self) -> &X509 {
        &self.chain[0]
    }
}

fn needs_password(path: &Path) -> Error {
    Error::PasswordNeeded {
        file: path.to_path_buf(),
        which: PasswordFor::Material,
    }
}

/// Loads new material from `path`: a file, or a directory of PEM files as an ACME client writes it.
pub fn load(path: &Path, options: &MaterialOptions) -> Result<Material> {
    let input = fsx::resolve_parent(path, fsx::Trust::operator())?;
    if input.dir.is_directory(&input.name) {
        let (bundle, files) = crate::lineage::read(path)?;
        let mut material = from_bytes(&bundle, path, options)?;
        material.format = format!("PEM files in a directory ({})", files.join(", "));
        return Ok(material);
    }
    let data = fsx::read_input(path, MAX_FILE_SIZE, "read the new certificate material")?;
    from_bytes(&data, path, options)
}

/// Loads new material from bytes already read; `path` names them in messages.
pub fn from_bytes(data: &[u8], path: &Path, options: &MaterialOptions) -> Result<Material> {
    let extra_chain = match &options.chain {
        Some(chain) => read_certificates(chain)?,
        None => Vec::new(),
    };
    let mut key_in_file = true;
    let (format, key, certs): LoadedMaybeKey = if Keystore::recognises(data) {
        let (format, key, certs) = from_keystore(data, path, options, None)?;
        (format, Some(key), certs)
    } else if data.starts_with(b"PK\x03\x04") {
        let (format, key, certs) = from_zip(data, path, options)?;
        (format, Some(key), certs)
    } else if let Some(blocks) = pem_blocks(data) {
        let loaded = from_pem(&blocks, path, options)?;
        key_in_file = loaded.1.is_some() && options.key.is_none();
        loaded
    } else if let Ok(cert) = X509::from_der(data) {
        key_in_file = false;
        (
            "DER certificate".to_string(),
            separate_key(options)?,
            vec![cert],
        )
    } else {
        return Err(Error::Material(MaterialError::NotMaterial {
            file: path.to_path_buf(),
            what: keystore::describe_bytes(data),
        }));
    };
    let key_source = match (&key, &options.key) {
        (None, _) => KeySource::None,
        (Some(_), Some(file)) if !key_in_file => KeySource::KeyFile(file.clone()),
        (Some(_), _) => KeySource::Material,
    };
    let mut pool = certs;
    pool.extend(extra_chain);
    if pool.len() > MAX_CERTIFICATES {
        return Err(Error::Material(MaterialError::TooManyCertificates {
            file: path.to_path_buf(),
            count: pool.len(),
            max: MAX_CERTIFICATES,
            chain_given: options.chain.is_some(),
        }));
    }
    if pool.iter().any(|c| !ordinary_public_key(c)) {
        return Err(Error::Material(MaterialError::UnusualRsaKey {
            file: path.to_path_buf(),
        }));
    }
    let leaf = pick_leaf(&pool, key.as_ref()).ok_or_else(|| {
        Error::Material(MaterialError::NoCertificate {
            file: path.to_path_buf(),
        })
    })?;
    Ok(Material {
        format,
        key,
        key_source,
        chain: order_chain(leaf, &pool),
    })
}

type Loaded = (String, PKey<Private>, Vec<X509>);

/// A keystore as material: the chosen private-key entry and its chain. The given password is tried, then
/// the empty one (a UMS `keystore.icg` carries none), then `fallback` (a password found beside it in a container).
fn from_keystore(
    data: &[u8],
    path: &Path,
    options: &MaterialOptions,
    fallback: Option<&Password>,
) -> Result<Loaded> {
    let candidates: Vec<Password> = options
        .password
        .iter()
        .chain(std::iter::once(&Password::empty()))
        .chain(fallback)
        .cloned()
        .collect();
    let mut last_error = None;
    for password in &candidates {
        match Keystore::load_material(data, password, path) {
            Ok(store) => {
                let entry =
                    store.server_entry(options.alias.as_deref(), path, &AliasFrom::CommandLine)?;
                let key = store.private_key(&entry.alias, password, path)?;
                let format = format!(
                    "{} keystore, entry '{}'",
                    store.format.name().to_uppercase(),
                    entry.alias
                );
                return Ok((format, key, entry.certs.clone()));
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WrongPassword | ErrorKind::PasswordNeeded
                ) =>
            {
                last_error = Some(e)
            }
            Err(e) => return Err(e),
        }
    }
    match (last_error, &options.password) {
        (Some(_), Some(_)) => Err(Error::WrongPassword {
            file: path.to_path_buf(),
            which: PasswordFor::Material,
        }),
        _ => Err(needs_password(path)),
    }
}

/// A ZIP container: a keystore plus a properties or JSON file that holds its password.
fn from_zip(data: &[u8], path: &Path, options: &MaterialOptions) -> Result<Loaded> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(data)).map_err(|source| {
        Error::Material(MaterialError::ZipUnreadable {
            file: path.to_path_buf(),
            source,
        })
    })?;
    let mut keystore_bytes: Option<(String, Vec<u8>)> = None;
    let mut password: Option<Password> = None;
    for index in 0..archive.len().min(MAX_ZIP_ENTRIES) {
        let mut file = archive.by_index(index).map_err(|source| {
            Error::Material(MaterialError::ZipEntryDamaged {
                file: path.to_path_buf(),
                source,
            })
        })?;
        if !file.is_file() {
            continue;
        }
        // A ZIP entry's name is outside data: escaped and cut short before any message shows it.
        let name = file
            .name()
            .map(|n| crate::shown::short(&n, 128))
            .unwrap_or_else(|_| format!("entry {index}"));
        let mut bytes = Vec::new();
        Read::by_ref(&mut file)
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| {
                Error::Material(MaterialError::ZipEntryUnpack {
                    file: path.to_path_buf(),
                    entry: name.clone(),
                    source,
                })
            })?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(Error::Material(MaterialError::ZipEntryTooLarge {
                file: path.to_path_buf(),
                entry: name,
            }));
        }
        if Keystore::recognises(&bytes) {
            keystore_bytes.get_or_insert((name, bytes));
        } else if let Some(found) = password_in_text(&bytes) {
            password.get_or_insert(found);
        }
    }
    let (name, bytes) = keystore_bytes.ok_or_else(|| {
        Error::Material(MaterialError::ZipWithoutKeystore {
            file: path.to_path_buf(),
        })
    })?;
    let inner = PathBuf::from(format!("{}:{name}", path.shown()));
    let (format, key, certs) = from_keystore(&bytes, &inner, options, password.as_ref())?;
    Ok((format!("ZIP container holding a {format}"), key, certs))
}

/// A password in a properties (`password=...`, `keystore.password: ...`) or JSON (`"password": "..."`) file.
fn password_in_text(bytes: &[u8]) -> Option<Password> {
    let text = std::str::from_utf8(bytes).ok()?;
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        return map
            .iter()
            .find(|(k, v)| k.to_ascii_lowercase().contains("password") && v.is_string())
            .and_then(|(_, v)| v.as_str().map(|s| Password::new(s.to_string())));
    }
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=').or_else(|| line.split_once(':'))?;
        let key = key.trim().to_ascii_lowercase();
        (!key.starts_with('#') && key.contains("password"))
            .then(|| Password::new(value.trim().to_string()))
    })
}

/// One `-----BEGIN label-----` block with its full text.
struct PemBlock {
    label: String,
    text: Vec<u8>,
}

fn pem_blocks(data: &[u8]) -> Option<Vec<PemBlock>> {
    let text = std::str::from_utf8(data).ok()?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after.find("-----")?;
        let label = after[..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let end = after.find(&end_marker)? + end_marker.len();
        blocks.push(PemBlock {
            label,
            text: rest.as_bytes()[start..start + 11 + end].to_vec(),
        });
        rest = &after[end..];
    }
    (!blocks.is_empty()).then_some(blocks)
}

fn from_pem(blocks: &[PemBlock], path: &Path, options: &MaterialOptions) -> Result<LoadedMaybeKey> {
    let mut certs = Vec::new();
    let mut keys = Vec::new();
    for block in blocks {
        match block.label.as_str() {
            "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => {
                certs.push(X509::from_pem(&block.text).map_err(|source| {
                    Error::Material(MaterialError::DamagedCertificate {
                        file: path.to_path_buf(),
                        source,
                    })
                })?)
            }
            label if label.ends_with("PRIVATE KEY") => keys.push(block),
            _ => {}
        }
    }
    let key = match keys.as_slice() {
        [] => separate_key(options)?,
        [block] => {
            if options.key.is_some() {
                return Err(Error::Material(MaterialError::KeyGivenTwice {
                    file: path.to_path_buf(),
                }));
            }
            Some(pem_key(&block.text, path, options.password.as_ref())?)
        }
        many => {
            return Err(Error::Material(MaterialError::SeveralKeys {
                file: path.to_path_buf(),
                count: many.len(),
                directory: false,
            }))
        }
    };
    let format = if keys.is_empty() {
        "PEM certificates"
    } else {
        "PEM bundle"
    };
    Ok((format.to_string(), key, certs))
}

type LoadedMaybeKey = (String, Option<PKey<Private>>, Vec<X509>);

/// The key given with `--key`, if any (without one, the caller looks for the pending or installed key).
fn separate_key(options: &MaterialOptions) -> Result<Option<PKey<Private>>> {
    let Some(key_path) = options.key.as_ref() else {
        return Ok(None);
    };
    let data = fsx::read_input(key_path, 1024 * 1024, "read the private key")?;
    if pem_blocks(&data).is_some() {
        return pem_key(&data, key_path, options.password.as_ref()).map(Some);
    }
    PKey::private_key_from_der(&data)
        .or_else(|_| match &options.password {
            Some(p) => PKey::private_key_from_pkcs8_passphrase(&data, p.expose().as_bytes()),
            None => PKey::private_key_from_pkcs8_callback(&data, |_| Ok(0)),
        })
        .map_err(|source| {
            if options.password.is_none() && !looks_like_plain_der_key(&data) {
                needs_password(key_path)
            } else {
                Error::Material(MaterialError::UnreadableKeyFile {
                    file: key_path.to_path_buf(),
                    source,
                })
            }
        })
        .map(Some)
}

fn looks_like_plain_der_key(data: &[u8]) -> bool {
    PKey::private_key_from_der(data).is_ok()
}

/// A PEM private key, encrypted or not; the password callback never reaches a terminal.
fn pem_key(pem: &[u8], path: &Path, password: Option<&Password>) -> Result<PKey<Private>> {
    let encrypted = pem.windows(9).any(|w| w == b"ENCRYPTED");
    let result = PKey::private_key_from_pem_callback(pem, |buf| {
        let pw = password.map(|p| p.expose().as_bytes()).unwrap_or_default();
        if pw.len() > buf.len() {
            return Ok(0);
        }
        buf[..pw.len()].copy_from_slice(pw);
        Ok(pw.len())
    });
    result.map_err(|source| {
        if encrypted && password.is_some() {
            Error::WrongPassword {
                file: path.to_path_buf(),
                which: PasswordFor::EncryptedKey,
            }
        } else if encrypted {
            needs_password(path)
        } else {
            Error::Material(MaterialError::DamagedPrivateKey {
                file: path.to_path_buf(),
                source,
            })
        }
    })
}

/// Certificates from a `--chain` file, PEM (any number) or DER (one).
fn read_certificates(path: &Path) -> Result<Vec<X509>> {
    let data = fsx::read_input(path, MAX_FILE_SIZE, "read the chain file")?;
    X509::stack_from_pem(&data)
        .ok()
        .filter(|certs| !certs.is_empty())
        .or_else(|| X509::from_der(&data).ok().map(|c| vec![c]))
        .ok_or_else(|| {
            Error::Material(MaterialError::NoChainCertificates {
                file: path.to_path_buf(),
                what: keystore::describe_bytes(&data),
            })
        })
}

/// The leaf: the certificate that belongs to the key; failing that (the key-matches check will say so), the
/// certificate that issued none of the others, preferring one that is not a CA.
fn pick_leaf<'a>(pool: &'a [X509], key: Option<&PKey<Private>>) -> Option<&'a X509> {
    if let Some(cert) = key.and_then(|key| {
        pool.iter()
            .find(|c| c.public_key().is_ok_and(|p| p.public_eq(key)))
    }) {
        return Some(cert);
    }
    let issues_another = |c: &X509| pool.iter().any(|o| !same_cert(o, c) && issued_by(o, c));
    pool.iter()
        .filter(|c| !issues_another(c))
        .min_by_key(|c| crate::cert::is_ca(c))
        .or_else(|| pool.first())
}

/// RSA keys with a huge public exponent make every signature check slow (found by fuzzing: 64 such
/// certificates took minutes to order); real ones use 65537 and at most 16,384-bit moduli.
fn ordinary_public_key(cert: &X509) -> bool {
    match cert.public_key().ok().and_then(|k| k.rsa().ok()) {
        Some(rsa) => rsa.e().num_bits() <= 64 && rsa.n().num_bits() <= 16_384,
        None => true,
    }
}

fn same_cert(a: &X509, b: &X509) -> bool {
    a.to_der().ok() == b.to_der().ok()
}

/// Whether `issuer` signed `cert` (names match and the signature verifies).
pub fn issued_by(cert: &X509, issuer: &X509) -> bool {
    cert.issuer_name()
        .try_cmp(issuer.subject_name())
        .is_ok_and(|o| o.is_eq())
        && issuer
            .public_key()
            .and_then(|k| cert.verify(&k))
            .unwrap_or(false)
}

/// `leaf` followed by its issuers from `pool`, as far as they go, without loops.
pub fn order_chain(leaf: &X509, pool: &[X509]) -> Vec<X509> {
    let mut chain = vec![leaf.clone()];
    while chain.len() < MAX_CHAIN {
        let current = chain.last().expect("chain starts with the leaf");
        if issued_by(current, current) {
            break;
        }
        match pool
            .iter()
            .find(|c| issued_by(current, c) && !chain.iter().any(|k| same_cert(k, c)))
        {
            Some(issuer) => chain.push(issuer.clone()),
            None => break,
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_passwords_in_properties_and_json() {
        assert_eq!(
            password_in_text(b"# comment\nkeystore.password=abc\n")
                .unwrap()
                .expose(),
            "abc"
        );
        assert_eq!(
            password_in_text(br#"{"file":"k.p12","password":"x y"}"#)
                .unwrap()
                .expose(),
            "x y"
        );
        assert!(password_in_text(b"alias=icg\n").is_none());
    }

    #[test]
    fn splits_pem_blocks() {
        let text = b"junk\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n";
        let blocks = pem_blocks(text).unwrap();
        assert_eq!(
            blocks.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(),
            ["CERTIFICATE", "PRIVATE KEY"]
        );
        assert!(pem_blocks(b"no pem here").is_none());
    }
}
