//! `rollback`: put a backup back, restart and confirm.

use super::backups::{open_backup, open_listed_backup};
use super::resolve::*;
use super::Finished;
use crate::cli::{self, GlobalArgs};
use crate::ui::prompts::Prompter;
use icg_renew::cert::CertSummary;
use icg_renew::error::CommandError;
use icg_renew::error::{Error, ErrorKind, Result};
use icg_renew::fsx::{self, BackupKind};
use icg_renew::renew::{Confirm, LockedKeystore, Restore, Transaction};
use icg_renew::report::*;
use icg_renew::utc::Clock;

/// `rollback [BACKUP]`: without BACKUP, the keystore as it was before the last renewal (the newest backup a
/// renewal made; backups a rollback made of what it replaced are restored only by name, so that a second
/// `rollback` cannot undo the first). A backup holding the installed certificate is nothing to undo. On a
/// terminal, what goes and what comes back are shown and the operator is asked (default no).
pub(crate) fn run(
    global: &GlobalArgs,
    args: &cli::RollbackArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "rollback", prompter);
    let keystore = LockedKeystore::open(&install.keystore)?;
    let file = keystore.file();
    let dir = backup_dir(args.backups.backup_dir.as_deref(), file)?;
    dir.check_private("the backup directory")?;
    let installed = load_installed(&mut install, prompter, Some(file))?;
    let listed = fsx::list_backups(&dir, &file.base_name())?;
    let (backup, (bytes, store)) = match &args.backup {
        Some(path) => (path.clone(), open_backup(path, &install)?),
        None => {
            let newest = listed
                .iter()
                .find(|b| b.kind == BackupKind::BeforeRenewal)
                .ok_or_else(|| {
                    Error::Command(CommandError::NoBackup {
                        keystore: install.keystore.clone(),
                        dir: dir.path.clone(),
                    })
                })?;
            let opened = open_listed_backup(&dir, newest, &install)?;
            (newest.path.clone(), opened)
        }
    };
    let entry = store.server_entry(install.alias.as_deref(), &backup, &install.alias_from())?;
    let leaf = entry.certs[0].clone();
    let fingerprint = icg_renew::cert::sha256_fingerprint(&leaf);
    if fingerprint == icg_renew::cert::sha256_fingerprint(installed.leaf()) {
        let replaced = listed
            .iter()
            .find(|b| b.kind == BackupKind::BeforeRollback)
            .map(|b| b.path.clone());
        return Err(Error::Command(CommandError::NothingToUndo {
            backup,
            sha256: fingerprint,
            replaced,
        }));
    }
    let goes = CertSummary::of(installed.leaf(), clock);
    let comes_back = CertSummary::of(&leaf, clock);
    if !prompter.confirm_rollback(&goes, &comes_back, &backup) {
        return Err(Error::Command(CommandError::NotConfirmed));
    }
    let tx = Transaction {
        keystore: &keystore,
        backup_dir: &dir,
        confirm: Confirm::from_plan(&args.restart.plan(), install.port, None)?,
        keep_backups: args.backups.keep_backups,
        direction: Restore {
            backup: &backup,
            backup_bytes: &bytes,
            fingerprint: &fingerprint,
        },
    };
    let outcome = tx.run(prompter.observer(), &mut audit, clock)?;
    for warning in &outcome.warnings {
        prompter.warn(warning);
    }
    let exit_code = match outcome.result {
        RollbackResult::Restored => 0,
        RollbackResult::Failed => ErrorKind::RollbackFailed.exit_code(),
    };
    Ok(Finished {
        output: Output::Rollback(RollbackReport {
            result: outcome.result,
            keystore: install.keystore.clone(),
            backup,
            downtime_ms: outcome.downtime_ms,
            icg_status: outcome.icg_status,
            saved_current: outcome.backup,
            certificate: Some(comes_back),
            undo: undo_command(
                &install,
                &args.restart.plan(),
                args.backups.backup_dir.as_deref(),
                &global.log_file,
            ),
            steps: outcome.steps,
            error: outcome.error.map(|e| super::hint::message(&e)),
            manual_steps: outcome.manual_steps,
        }),
        exit_code,
    })
}
