//! The keystore held for a transaction: resolved once, its layout accepted for writing, recognised as a
//! keystore, and its lock taken — in that order, before its contents are read and checked. A
//! [`super::Transaction`], renewal or restore, can only be built with one, so no transaction runs without
//! the lock; the lock is released when the value is dropped.

use crate::error::KeystoreError;
use crate::error::{Error, Result};
use crate::fsx::{KeystoreFile, KeystoreLock};
use crate::keystore::Keystore;
use std::path::Path;

/// The keystore resolved once and locked for writing; made only by [`LockedKeystore::open`].
#[derive(Debug)]
pub struct LockedKeystore {
    file: KeystoreFile,
    _lock: KeystoreLock,
}

impl LockedKeystore {
    /// Resolves `keystore` once, accepts its layout for writing, refuses a file that is no keystore at all
    /// (a configuration pointing at /etc/shadow gets no lock file beside it, and none of its bytes is
    /// shown), then takes the lock: another icg-renew on the same keystore stops here.
    pub fn open(keystore: &Path) -> Result<LockedKeystore> {
        let file = KeystoreFile::open(keystore)?;
        file.accept_for_writing()?;
        let (bytes, _) = file.read()?;
        if !Keystore::recognises(&bytes) {
            return Err(Error::Keystore(KeystoreError::NotAKeystore {
                file: file.configured.clone(),
                what: crate::keystore::describe_bytes(&bytes),
            }));
        }
        let lock = file.lock()?;
        Ok(LockedKeystore { file, _lock: lock })
    }

    /// The keystore file the lock is held for.
    pub fn file(&self) -> &KeystoreFile {
        &self.file
    }
}
