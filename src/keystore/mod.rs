//! One `Keystore` type over the two formats a gateway's keystore comes in, JKS and PKCS#12, recognised by
//! content: load, list entries, find the server entry, take out its key, and serialise a copy in which only
//! that entry has a new key and chain, in the original format, passwords and algorithms.
//! It knows nothing of the ICG: paths only appear in error messages.

pub mod ber;
pub mod jks;
mod kind;
pub mod pfx;
pub mod pkcs12;

use crate::error::KeystoreError;
use crate::error::{AliasFrom, Error, PasswordFor, Result};
use crate::secret::Password;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use pfx::{JavaEntryKind, Pfx, PfxError};
use std::path::Path;

pub use kind::{describe_bytes, OtherJavaType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jks,
    Pkcs12,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Jks => "jks",
            Format::Pkcs12 => "pkcs12",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    PrivateKey,
    TrustedCert,
    SecretKey,
}

impl EntryKind {
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::PrivateKey => "PrivateKeyEntry",
            EntryKind::TrustedCert => "trustedCertEntry",
            EntryKind::SecretKey => "SecretKeyEntry",
        }
    }
}

/// A keystore entry as this tool sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub alias: String,
    pub kind: EntryKind,
    /// Key entries: the chain, leaf first, parsed. Trusted entries and secret keys: empty.
    pub certs: Vec<X509>,
    /// Every certificate of the entry as stored (DER): the chain, or the one trusted certificate. Trusted
    /// certificates are parsed only when needed: a trust store may hold thousands.
    pub der: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
enum Backend {
    Jks(jks::JksStore),
    /// Kept bag by bag, with Java's entries over the bags.
    Pkcs12 {
        pfx: Box<Pfx>,
        entries: Vec<pfx::JavaEntry>,
    },
}

/// What the server entry is to hold after a rewrite.
#[derive(Debug, Clone, Copy)]
pub struct NewKeyEntry<'a> {
    pub alias: &'a str,
    pub key: &'a PKey<Private>,
    /// Leaf first.
    pub chain: &'a [X509],
    /// The JKS entry date.
    pub timestamp_ms: u64,
}

/// A loaded keystore.
#[derive(Debug, Clone)]
pub struct Keystore {
    pub format: Format,
    pub entries: Vec<Entry>,
    /// PKCS#12: aliases of key entries Java loses because a later entry has their alias.
    hidden_keys: Vec<String>,
    /// Passwords are held to Java's PBE rules (the installed keystore, which the ICG's Java must open); not
    /// for new material, which only this tool reads.
    java_passwords: bool,
    backend: Backend,
}

/// The refusal for a store whose key entry Java cannot see: a later entry took its alias (PKCS#12 names
/// are friendlyNames, which a file may repeat), so the ICG could not use that key either.
fn hidden_key_entry(alias: &str, path: &Path) -> Error {
    Error::Keystore(KeystoreError::DamagedPkcs12 {
        file: path.to_path_buf(),
        source: Box::new(PfxError::HiddenKey(alias.to_string())),
    })
}

/// Java's `JavaKeyStore` keeps its entries in a map under the alias in lower case, so a second entry of the
/// same alias silently replaces the first: the file is then not what Java would save, and renewing the entry
/// icg-renew found could leave the one Java serves untouched. Such a file is refused, never half-read.
fn refuse_repeated_jks_alias(store: &jks::JksStore, path: &Path) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for entry in &store.entries {
        if !seen.insert(entry.alias.to_lowercase()) {
            return Err(Error::Keystore(KeystoreError::RepeatedJksAlias {
                file: path.to_path_buf(),
                alias: crate::shown::short(&entry.alias, 64),
            }));
        }
    }
    Ok(())
}

impl Keystore {
    /// Whether the bytes are a Java keystore this module knows: one it loads (JKS or PKCS#12), or one whose
    /// type [`Keystore::load`] names in its refusal (JCEKS, BKS).
    pub fn recognises(data: &[u8]) -> bool {
        jks::looks_like_jks(data)
            || pkcs12::looks_like_pkcs12(data)
            || OtherJavaType::of(data).is_some()
    }

    /// Loads a keystore of either format as the ICG's Java must load it (a PKCS#12 password Java's PBE
    /// refuses is refused); `path` is only used in messages.
    pub fn load(data: &[u8], password: &Password, path: &Path) -> Result<Keystore> {
        Self::load_with(data, password, path, true)
    }

    /// Loads a keystore that only this tool reads (new material): any password it was written with.
    pub fn load_material(data: &[u8], password: &Password, path: &Path) -> Result<Keystore> {
        Self::load_with(data, password, path, false)
    }

    fn load_with(
        data: &[u8],
        password: &Password,
        path: &Path,
        java_passwords: bool,
    ) -> Result<Keystore> {
        if jks::looks_like_jks(data) {
            return match jks::parse(data, password) {
                Ok(store) => {
                    refuse_repeated_jks_alias(&store, path)?;
                    Ok(Self::from_jks(store))
                }
                Err(jks::JksError::WrongPassword) => Err(wrong_password(path)),
                Err(jks::JksError::Corrupt(why)) => {
                    Err(Error::Keystore(KeystoreError::DamagedJks {
                        file: path.to_path_buf(),
                        why: why.to_string(),
                    }))
                }
            };
        }
        if pkcs12::looks_like_pkcs12(data) {
            return Self::load_pkcs12(data, password, path, java_passwords);
        }
        if let Some(other) = OtherJavaType::of(data) {
            return Err(Error::Keystore(KeystoreError::OtherJavaKeystore {
                file: path.to_path_buf(),
                kind: other.name(),
                convert: other.conversion(path),
            }));
        }
        Err(Error::Keystore(KeystoreError::NotAKeystore {
            file: path.to_path_buf(),
            what: describe_bytes(data),
        }))
    }

    fn from_jks(store: jks::JksStore) -> Keystore {
        let entries = store
            .entries
            .iter()
            .map(|e| Entry {
                alias: e.alias.clone(),
                kind: if e.protected_key.is_some() {
                    EntryKind::PrivateKey
                } else {
                    EntryKind::TrustedCert
                },
                certs: e.certs.clone(),
                der: e.der.clone(),
            })
            .collect();
        Keystore {
            format: Format::Jks,
            entries,
            hidden_keys: Vec::new(),
            java_passwords: false,
            backend: Backend::Jks(store),
        }
    }

    fn load_pkcs12(
        data: &[u8],
        password: &Password,
        path: &Path,
        java_passwords: bool,
    ) -> Result<Keystore> {
        // The cost pre-check: iteration counts and key derivations are judged before any is run.
        pkcs12::sniff_params(data).map_err(|why| {
            Error::Keystore(KeystoreError::CostlyPkcs12 {
                file: path.to_path_buf(),
                why: why.to_string(),
            })
        })?;
        let parsed = Pfx::parse(data, password).map_err(|e| match e {
            PfxError::WrongPassword => wrong_password(path),
            PfxError::Unsupported(why) => Error::Keystore(KeystoreError::UnsupportedPkcs12 {
                file: path.to_path_buf(),
                why: why.to_string(),
            }),
            e @ PfxError::JavaRefuses(_) => java_refuses(e, path),
            source => Error::Keystore(KeystoreError::DamagedPkcs12 {
                file: path.to_path_buf(),
                source: Box::new(source),
            }),
        })?;
        if java_passwords && parsed.password_protected() && !pfx::java_pbe_accepts(password) {
            return Err(java_refuses(
                PfxError::PasswordNotAscii("store password"),
                path,
            ));
        }
        let pfx::JavaView {
            entries: java,
            hidden_keys,
        } = pfx::java_view(&parsed);
        let keys = java
            .iter()
            .filter(|e| e.kind == JavaEntryKind::PrivateKey)
            .count();
        if keys > pkcs12::MAX_KEY_ENTRIES {
            return Err(Error::Keystore(KeystoreError::TooManyKeys {
                file: path.to_path_buf(),
                keys,
                max: pkcs12::MAX_KEY_ENTRIES,
            }));
        }
        let mut entries = Vec::with_capacity(java.len());
        for entry in &java {
            let der: Vec<Vec<u8>> = entry
                .certs
                .iter()
                .filter_map(|&at| match &parsed.bag(at).kind {
                    pfx::BagKind::Certificate(der) => Some(der.clone()),
                    _ => None,
                })
                .collect();
            let (kind, certs) = match entry.kind {
                JavaEntryKind::PrivateKey => (
                    EntryKind::PrivateKey,
                    der.iter()
                        .map(|d| to_x509(d, path))
                        .collect::<Result<Vec<_>>>()?,
                ),
                JavaEntryKind::TrustedCert => (EntryKind::TrustedCert, Vec::new()),
                JavaEntryKind::SecretKey => (EntryKind::SecretKey, Vec::new()),
            };
            entries.push(Entry {
                alias: entry.alias.clone(),
                kind,
                certs,
                der,
            });
        }
        Ok(Keystore {
            format: Format::Pkcs12,
            entries,
            hidden_keys,
            java_passwords,
            backend: Backend::Pkcs12 {
                pfx: Box::new(parsed),
                entries: java,
            },
        })
    }

    pub fn entry(&self, alias: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.alias == alias)
    }

    /// The private-key entries' aliases.
    pub fn key_aliases(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::PrivateKey)
            .map(|e| e.alias.as_str())
            .collect()
    }

    /// The entry the server uses: `alias` when given (ignoring ASCII case, as Java does: its JKS stores
    /// aliases in lower case and its PKCS#12 compares them without case), else the only private-key entry.
    /// A key entry without a certificate (Java lists it, with a chain of length 0) counts when the entries are
    /// counted, but is never the server entry: the returned entry always has its leaf.
    pub fn server_entry(
        &self,
        alias: Option<&str>,
        path: &Path,
        alias_from: &AliasFrom,
    ) -> Result<&Entry> {
        let keys = self.key_aliases();
        let with_certificate = |entry: &'_ Entry| {
            if entry.certs.is_empty() {
                Err(Error::Keystore(KeystoreError::EntryWithoutCertificate {
                    file: path.to_path_buf(),
                    alias: crate::shown::short(&entry.alias, 64),
                }))
            } else {
                Ok(())
            }
        };
        if let Some(wanted) = alias {
            let found = self
                .entries
                .iter()
                .find(|e| e.kind == EntryKind::PrivateKey && e.alias.eq_ignore_ascii_case(wanted));
            if let (None, Some(hidden)) = (found, self.hidden_key(Some(wanted))) {
                return Err(hidden_key_entry(hidden, path));
            }
            let found = found.ok_or_else(|| {
                Error::Keystore(KeystoreError::NoSuchEntry {
                    file: path.to_path_buf(),
                    alias: crate::shown::short(wanted, 64),
                    has: list_or_none(&keys),
                    from: alias_from.clone(),
                })
            })?;
            with_certificate(found)?;
            return Ok(found);
        }
        match keys.as_slice() {
            [only] => {
                let found = self.entry(only).expect("alias listed from entries");
                with_certificate(found)?;
                Ok(found)
            }
            [] => Err(match self.hidden_key(None) {
                Some(hidden) => hidden_key_entry(hidden, path),
                None => Error::Keystore(KeystoreError::NoKeyEntries {
                    file: path.to_path_buf(),
                }),
            }),
            many => Err(Error::Keystore(KeystoreError::SeveralEntries {
                file: path.to_path_buf(),
                has: list_or_none(many),
                from: alias_from.clone(),
            })),
        }
    }

    /// A key entry Java loses to a later entry of the same alias: `wanted` (ignoring case), else any.
    fn hidden_key(&self, wanted: Option<&str>) -> Option<&str> {
        self.hidden_keys
            .iter()
            .map(String::as_str)
            .find(|hidden| wanted.is_none_or(|w| w.to_lowercase() == *hidden))
    }

    /// The private key of entry `alias`, decrypted with `key_password`.
    pub fn private_key(
        &self,
        alias: &str,
        key_password: &Password,
        path: &Path,
    ) -> Result<PKey<Private>> {
        let not_found = || {
            Error::Keystore(KeystoreError::NoKeyEntry {
                file: path.to_path_buf(),
                alias: alias.to_string(),
            })
        };
        let bad_key = |source| {
            Error::Keystore(KeystoreError::UnreadableEntryKey {
                file: path.to_path_buf(),
                alias: alias.to_string(),
                source,
            })
        };
        match &self.backend {
            Backend::Jks(store) => {
                let blob = store
                    .entries
                    .iter()
                    .find(|e| e.alias == alias)
                    .and_then(|e| e.protected_key.as_deref())
                    .ok_or_else(not_found)?;
                let pkcs8 = jks::decrypt_key(blob, key_password)
                    .ok_or_else(|| wrong_key_password(alias, path))?;
                PKey::private_key_from_pkcs8(pkcs8.expose()).map_err(bad_key)
            }
            Backend::Pkcs12 { pfx, entries } => {
                let key_at = entries
                    .iter()
                    .find(|e| e.alias == alias)
                    .and_then(|e| e.key)
                    .ok_or_else(not_found)?;
                if self.java_passwords && !pfx::java_pbe_accepts(key_password) {
                    return Err(java_refuses(
                        PfxError::PasswordNotAscii("key password"),
                        path,
                    ));
                }
                let pkcs8 = pfx.decrypt_key(key_at, key_password).map_err(|e| match e {
                    PfxError::WrongPassword => wrong_key_password(alias, path),
                    source => Error::Keystore(KeystoreError::UndecryptableEntryKey {
                        file: path.to_path_buf(),
                        alias: alias.to_string(),
                        source: Box::new(source),
                    }),
                })?;
                PKey::private_key_from_pkcs8(&pkcs8).map_err(bad_key)
            }
        }
    }

    /// A description of how the file is protected, for the plan.
    pub fn protection(&self) -> String {
        match &self.backend {
            Backend::Jks(store) => format!("JKS version {}", store.version),
            Backend::Pkcs12 { pfx, .. } => format!("PKCS#12, {}", pfx.describe()),
        }
    }

    /// The keystore as it would be with entry `alias` holding `key` and `chain` (leaf first), serialised in
    /// the original format with the same passwords and algorithms. Every other entry stays as it is.
    pub fn with_replaced_key(
        &self,
        new: &NewKeyEntry<'_>,
        store_password: &Password,
        key_password: &Password,
        path: &Path,
    ) -> Result<Vec<u8>> {
        let NewKeyEntry {
            alias,
            key,
            chain,
            timestamp_ms,
        } = *new;
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| {
            Error::Keystore(KeystoreError::KeystoreRewrite {
                file: path.to_path_buf(),
                source,
            })
        };
        let pkcs8 = crate::secret::SecretBytes::new(
            key.private_key_to_pkcs8().map_err(|e| failed(e.into()))?,
        );
        match &self.backend {
            Backend::Jks(store) => {
                let protected =
                    jks::encrypt_key(pkcs8.expose(), key_password).map_err(|e| failed(e.into()))?;
                let entry = store
                    .key_entry_bytes(alias, &protected, chain, timestamp_ms)
                    .map_err(|why| failed(why.into()))?;
                Ok(store.serialize(store_password, Some((alias, &entry))))
            }
            Backend::Pkcs12 { pfx, entries } => {
                let entry = entries
                    .iter()
                    .find(|e| e.alias == alias && e.kind == JavaEntryKind::PrivateKey)
                    .ok_or_else(|| {
                        failed(Box::new(Error::Keystore(KeystoreError::NoKeyEntry {
                            file: path.to_path_buf(),
                            alias: alias.to_string(),
                        })))
                    })?;
                let chain = chain
                    .iter()
                    .map(|c| c.to_der().map_err(|e| failed(e.into())))
                    .collect::<Result<Vec<_>>>()?;
                pfx.with_replaced_entry(
                    entry,
                    entries,
                    pkcs8.expose(),
                    &chain,
                    store_password,
                    key_password,
                )
                .map_err(|e| match e {
                    PfxError::WrongPassword => wrong_key_password(alias, path),
                    e @ PfxError::PasswordNotAscii(_) => java_refuses(e, path),
                    source @ PfxError::Unsupported(_) => {
                        Error::Keystore(KeystoreError::UnfaithfulRewrite {
                            file: path.to_path_buf(),
                            source: Box::new(source),
                        })
                    }
                    source => failed(Box::new(source)),
                })
            }
        }
    }
}

fn to_x509(der: &[u8], path: &Path) -> Result<X509> {
    X509::from_der(der).map_err(|source| {
        Error::Keystore(KeystoreError::InvalidStoredCertificate {
            file: path.to_path_buf(),
            source,
        })
    })
}

/// What Java's `PKCS12KeyStore` refuses, in the operator's words: a password its PBE does not take, or a
/// file it cannot load.
fn java_refuses(e: PfxError, path: &Path) -> Error {
    Error::Keystore(match e {
        PfxError::PasswordNotAscii(which) => KeystoreError::PasswordJavaRefuses {
            file: path.to_path_buf(),
            which,
        },
        other => KeystoreError::JavaCannotLoad {
            file: path.to_path_buf(),
            why: other.to_string(),
        },
    })
}

fn wrong_key_password(alias: &str, path: &Path) -> Error {
    Error::Keystore(KeystoreError::WrongKeyPassword {
        file: path.to_path_buf(),
        alias: alias.to_string(),
    })
}

fn wrong_password(path: &Path) -> Error {
    Error::WrongPassword {
        file: path.to_path_buf(),
        which: PasswordFor::Keystore,
    }
}

/// Aliases for a one-line message: the first ten, and how many more.
fn list_or_none(items: &[&str]) -> String {
    const SHOWN: usize = 10;
    let items: Vec<String> = items
        .iter()
        .map(|alias| crate::shown::short(alias, 64))
        .collect();
    match items.len() {
        0 => "no private-key entries".into(),
        n if n <= SHOWN => items.join(", "),
        n => format!("{} and {} more", items[..SHOWN].join(", "), n - SHOWN),
    }
}
