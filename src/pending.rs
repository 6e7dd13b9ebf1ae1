//! The pending key of `csr`: a key pair born on the gateway, kept beside the keystore until the CA's signed
//! certificate comes back. It is a PKCS#12 file `<keystore name>.pending.p12`, mode 0600, encrypted with the
//! keystore's store password, holding the key and a self-signed placeholder certificate that carries the
//! requested subject and names (so `status` can say what is pending). Removed, overwritten first, once a
//! renewal with it has succeeded. Every access goes through the keystore's directory as resolved once
//! ([`KeystoreFile`]), never through a path looked up again.

use crate::error::MaterialError;
use crate::error::{AliasFrom, Error, Result};
use crate::fsx::MAX_FILE_SIZE;
use crate::fsx::{FileId, KeystoreFile};
use crate::keystore::Keystore;
use crate::secret::Password;
use crate::utc::UnixTime;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::ffi::OsString;
use std::path::PathBuf;

pub const ALIAS: &str = "pending";

/// A pending key, loaded.
pub struct Pending {
    pub path: PathBuf,
    /// The file it was read from, so that only that file is ever removed.
    pub id: FileId,
    pub key: PKey<Private>,
    /// The placeholder: the requested subject and Subject Alternative Names.
    pub placeholder: X509,
    pub created: UnixTime,
}

/// The pending key's name in the keystore's directory.
fn name_for(keystore: &KeystoreFile) -> OsString {
    OsString::from(format!("{}.pending.p12", keystore.base_name()))
}

/// Where the pending key of `keystore` lives: beside the file the keystore path finally names.
pub fn path_for(keystore: &KeystoreFile) -> PathBuf {
    keystore.dir.join(&name_for(keystore))
}

/// Loads the pending key of `keystore`, if there is one.
pub fn load(keystore: &KeystoreFile, store_password: &Password) -> Result<Option<Pending>> {
    let name = name_for(keystore);
    let path = keystore.dir.join(&name);
    if keystore.dir.meta_of(&name).is_none() {
        return Ok(None);
    }
    let (bytes, meta) = keystore
        .dir
        .read(&name, MAX_FILE_SIZE, "read the pending key")?;
    let store = Keystore::load(&bytes, store_password, &path)?;
    let entry = store.server_entry(
        Some(ALIAS),
        &path,
        &AliasFrom::Setting("the pending key file".into()),
    )?;
    let placeholder = entry.certs.first().cloned().ok_or_else(|| {
        Error::Material(MaterialError::PendingKeyWithoutCertificate { path: path.clone() })
    })?;
    let key = store.private_key(ALIAS, store_password, &path)?;
    let created = rustix::fs::statat(
        &*keystore.dir.fd(),
        &name,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map(|s| s.st_mtime)
    .unwrap_or(0);
    Ok(Some(Pending {
        path,
        id: meta.id,
        key,
        placeholder,
        created,
    }))
}

/// Writes a new pending key file (exclusively, 0600); an existing one must have been removed first.
pub fn save(
    keystore: &KeystoreFile,
    key: &PKey<Private>,
    placeholder: &X509,
    store_password: &Password,
) -> Result<PathBuf> {
    let name = name_for(keystore);
    let path = keystore.dir.join(&name);
    let bytes = crate::keystore::pkcs12::build(
        store_password,
        ALIAS,
        key,
        std::slice::from_ref(placeholder),
        &[],
    )
    .map_err(|e| {
        Error::Material(MaterialError::PendingKeyNotBuilt {
            path: path.clone(),
            why: e.to_string(),
        })
    })?;
    keystore
        .dir
        .write_private(&name, &bytes, "write the pending key")?;
    Ok(path)
}

/// Overwrites the pending key file `id` with zeros, flushes, and removes it; a name that no longer holds
/// that file is left alone.
pub fn remove_securely(keystore: &KeystoreFile, id: FileId) -> Result<()> {
    keystore
        .dir
        .shred(&name_for(keystore), id, "the pending key")
}
