//! The installed keystore as one value: the bytes as read (what a backup must equal) and which file they
//! came from (its directory, held open, and its device and inode), the parsed store, the server entry's
//! alias and chain, and the root that new material must chain to.

use crate::checks;
use crate::error::Result;
use crate::fsx::{FileMeta, KeystoreFile};
use crate::install::Install;
use crate::keystore::{EntryKind, Keystore};
use openssl::x509::X509;
use std::path::PathBuf;

#[derive(Debug)]
pub struct Installed {
    pub path: PathBuf,
    /// The resolved keystore, every later change goes through it.
    pub file: KeystoreFile,
    /// The file the bytes were read from: identity, owner, group, mode.
    pub read: FileMeta,
    pub bytes: Vec<u8>,
    pub store: Keystore,
    pub alias: String,
    /// The server entry's chain, leaf first.
    pub chain: Vec<X509>,
    pub root: X509,
}

impl Installed {
    /// Reads and parses the keystore of `install` and finds its server entry and root. `file` is the
    /// keystore resolved once (see [`KeystoreFile::open`]); without it, it is resolved now.
    pub fn load(install: &Install, file: Option<&KeystoreFile>) -> Result<Installed> {
        let path = install.keystore.clone();
        let file = match file {
            Some(file) => file.clone(),
            None => KeystoreFile::open(&path)?,
        };
        let (bytes, read) = file.read()?;
        let store = Keystore::load(&bytes, install.store_password()?, &path)?;
        let entry = store.server_entry(install.alias.as_deref(), &path, &install.alias_from())?;
        let alias = entry.alias.clone();
        // The server entry always has its leaf (`server_entry` refuses a key entry without one).
        let chain = entry.certs.clone();
        // Trusted certificates are parsed one by one, and only while the chain's issuer is still sought.
        let trusted = store
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::TrustedCert)
            .flat_map(|e| e.der.iter())
            .filter_map(|der| X509::from_der(der).ok());
        let root = checks::installed_root(&chain, trusted).expect("chain is not empty");
        Ok(Installed {
            path,
            file,
            read,
            bytes,
            store,
            alias,
            chain,
            root,
        })
    }

    pub fn leaf(&self) -> &X509 {
        &self.chain[0]
    }

    /// The chain to show: the entry's chain, completed with the root when the entry stops short of it.
    pub fn full_chain(&self) -> Vec<X509> {
        let mut chain = self.chain.clone();
        let root_der = self.root.to_der().ok();
        if chain.last().and_then(|c| c.to_der().ok()) != root_der {
            chain.push(self.root.clone());
        }
        chain
    }
}
