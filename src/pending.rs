//! The pending key of `csr`: a key pair born on the gateway, kept beside the keystore until the CA's signed
//! certificate comes back. It is a PKCS#12 file `<keystore name>.pending.p12`, mode 0600, encrypted with the
//! keystore's store password, holding the key and a self-signed placeholder certificate that carries the
//! requested subject and names (so `status` can say what is pending). Removed, overwritten first, once a
//! renewal with it has succeeded.

use crate::cert::UnixTime;
use crate::error::{Error, ErrorKind, Result};
use crate::fsx;
use crate::keystore::{Keystore, MAX_FILE_SIZE};
use crate::secret::Password;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const ALIAS: &str = "pending";

/// A pending key, loaded.
pub struct Pending {
    pub path: PathBuf,
    pub key: PKey<Private>,
    /// The placeholder: the requested subject and Subject Alternative Names.
    pub placeholder: X509,
    pub created: UnixTime,
}

/// Where the pending key of `keystore` lives: beside the file the keystore path finally names.
pub fn path_for(keystore: &Path) -> Result<PathBuf> {
    let real = fsx::real_path(keystore)?;
    Ok(real.with_file_name(format!("{}.pending.p12", fsx::file_name(keystore))))
}

/// Loads the pending key of `keystore`, if there is one.
pub fn load(keystore: &Path, store_password: &Password) -> Result<Option<Pending>> {
    let path = path_for(keystore)?;
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let bytes = fsx::read_input(&path, MAX_FILE_SIZE, "read the pending key")?;
    let store = Keystore::load(&bytes, store_password, &path)?;
    let entry = store.server_entry(Some(ALIAS), &path, "the pending key file")?;
    let placeholder = entry.certs.first().cloned().ok_or_else(|| {
        Error::corrupt(format!(
            "{} holds no certificate: run icg-renew csr again",
            path.display()
        ))
    })?;
    let key = store.private_key(ALIAS, store_password, &path)?;
    let created = std::fs::metadata(&path).map(|m| m.mtime()).unwrap_or(0);
    Ok(Some(Pending {
        path,
        key,
        placeholder,
        created,
    }))
}

/// Writes a new pending key file (exclusively, 0600); an existing one must have been removed first.
pub fn save(
    keystore: &Path,
    key: &PKey<Private>,
    placeholder: &X509,
    store_password: &Password,
) -> Result<PathBuf> {
    let path = path_for(keystore)?;
    let bytes = Keystore::build_pkcs12(
        store_password,
        ALIAS,
        key,
        std::slice::from_ref(placeholder),
        &[],
    )
    .map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot build the pending key file {}: {e}", path.display()),
        )
    })?;
    fsx::write_private_file(&path, &bytes, "write the pending key")?;
    Ok(path)
}

/// Overwrites the file with zeros, flushes, and removes it.
pub fn remove_securely(path: &Path) -> Result<()> {
    let len = std::fs::symlink_metadata(path)
        .map_err(|e| Error::io("inspect", path, &e))?
        .len();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| Error::io("open", path, &e))?;
    let zeros = vec![0u8; len as usize];
    file.write_all(&zeros)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("overwrite", path, &e))?;
    drop(file);
    std::fs::remove_file(path).map_err(|e| Error::io("remove", path, &e))
}
