//! `backups`: the backups of the installed keystore, with the certificate each holds and which ones the
//! next renewal's retention removes; and opening a backup for `rollback`.

use super::resolve::*;
use super::Finished;
use crate::cli::GlobalArgs;
use crate::ui::prompts::Prompter;
use icg_renew::cert::CertSummary;
use icg_renew::error::Result;
use icg_renew::fsx::MAX_FILE_SIZE;
use icg_renew::fsx::{self, KeystoreFile, SafeDir};
use icg_renew::install::Install;
use icg_renew::keystore::Keystore;
use icg_renew::report::*;
use icg_renew::utc::{rfc3339, Clock};
use std::path::Path;

/// Opens a backup with the installation's password; `Err` carries why it cannot be read.
pub(crate) fn open_backup(path: &Path, install: &Install) -> Result<(Vec<u8>, Keystore)> {
    let bytes = fsx::read_input(path, MAX_FILE_SIZE, "read the backup")?;
    let store = Keystore::load(&bytes, install.store_password()?, path)?;
    Ok((bytes, store))
}

/// Opens a backup found in `dir`, through the directory (never through a link).
pub(crate) fn open_listed_backup(
    dir: &SafeDir,
    backup: &fsx::Backup,
    install: &Install,
) -> Result<(Vec<u8>, Keystore)> {
    let (bytes, _) = dir.read(&backup.name, MAX_FILE_SIZE, "read the backup")?;
    let store = Keystore::load(&bytes, install.store_password()?, &backup.path)?;
    Ok((bytes, store))
}

pub(crate) fn run(
    global: &GlobalArgs,
    dir: Option<&Path>,
    keep: usize,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let install = resolve(global, prompter)?;
    let file = KeystoreFile::open(&install.keystore)?;
    let dir = backup_dir(dir, &file)?;
    let listed = fsx::list_backups(&dir, &file.base_name())?;
    let going = icg_renew::retention::next_to_go(&listed, keep);
    let entries = listed
        .into_iter()
        .map(|b| {
            let opened = open_listed_backup(&dir, &b, &install).and_then(|(_, store)| {
                let entry =
                    store.server_entry(install.alias.as_deref(), &b.path, &install.alias_from())?;
                Ok(CertSummary::of(&entry.certs[0], clock))
            });
            let (certificate, error) = match opened {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(super::hint::message(&e))),
            };
            BackupEntry {
                removed_by_next_renewal: going.contains(&b.path),
                made_before: match b.kind {
                    fsx::BackupKind::BeforeRenewal => "renewal",
                    fsx::BackupKind::BeforeRollback => "rollback",
                },
                path: b.path,
                created: rfc3339(b.created),
                certificate,
                error,
            }
        })
        .collect();
    Ok(Finished {
        output: Output::Backups(entries),
        exit_code: 0,
    })
}
