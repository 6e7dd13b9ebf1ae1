//! `backups`: the backups of the installed keystore, and the retention applied after a success.

use super::resolve::*;
use super::{Finished, Prompter};
use crate::audit::AuditLog;
use crate::cert::{rfc3339, CertSummary, Clock};
use crate::cli::GlobalArgs;
use crate::error::Result;
use crate::fsx::{self, KeystoreFile, SafeDir};
use crate::install::Install;
use crate::keystore::{Keystore, MAX_FILE_SIZE};
use crate::report::*;
use crate::shown::Shown;
use std::path::Path;

/// Removes the backups of `keystore` in `dir` beyond the newest `keep` (never those in `protect`), after a
/// success; what it could not remove is a warning, not a failure of the renewal.
pub(crate) fn prune_backups(
    keystore: &KeystoreFile,
    dir: &SafeDir,
    keep: usize,
    protect: &[&Path],
    audit: &mut AuditLog,
    prompter: &mut dyn Prompter,
) -> Step {
    let started = std::time::Instant::now();
    let listed = match fsx::list_backups(dir, &keystore.base_name()) {
        Ok(listed) => listed,
        Err(e) => {
            prompter.warn(&e.message);
            Vec::new()
        }
    };
    let going = crate::retention::beyond(&listed, keep, protect);
    let (removed, errors) = crate::retention::remove(dir, &listed, &going);
    for path in &removed {
        audit.record("backup-removed", &[("backup", &path.shown().to_string())]);
    }
    for e in &errors {
        prompter.warn(&format!("could not remove an old backup: {}", e.message));
    }
    let detail = if keep == 0 {
        "--keep-backups 0: every backup is kept".to_string()
    } else {
        format!(
            "kept the newest {keep}; overwrote and removed {} older{}",
            removed.len(),
            if errors.is_empty() {
                String::new()
            } else {
                format!(", {} could not be removed", errors.len())
            }
        )
    };
    Step {
        name: "retention".into(),
        ms: started.elapsed().as_millis() as u64,
        detail: Some(detail),
    }
}

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
    let going = crate::retention::next_to_go(&listed, keep);
    let entries = listed
        .into_iter()
        .map(|b| {
            let opened = open_listed_backup(&dir, &b, &install).and_then(|(_, store)| {
                let entry = store.server_entry(
                    install.alias.as_deref(),
                    &b.path,
                    &install.alias_option(),
                )?;
                Ok(CertSummary::of(&entry.certs[0], clock))
            });
            let (certificate, error) = match opened {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.message)),
            };
            BackupEntry {
                removed_by_next_renewal: going.contains(&b.path),
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
