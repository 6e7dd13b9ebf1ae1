//! `rollback`: put a backup back, restart and confirm.

use super::backups::{open_backup, open_listed_backup, prune_backups};
use super::resolve::*;
use super::{Finished, Prompter};
use crate::cert::{CertSummary, Clock};
use crate::cli::{self, GlobalArgs};
use crate::error::{Error, ErrorKind, Result};
use crate::fsx::{self, KeystoreFile};
use crate::renew::Confirm;
use crate::renew::{self};
use crate::report::*;
use crate::shown::Shown;

pub(crate) fn run(
    global: &GlobalArgs,
    args: &cli::RollbackArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "rollback", prompter);
    let file = KeystoreFile::open(&install.keystore)?;
    file.accept_for_writing()?;
    let dir = backup_dir(args.backup_dir.as_deref(), &file)?;
    dir.check_private("the backup directory")?;
    refuse_a_non_keystore(&file)?;
    let _lock = file.lock()?;
    for stale in file.remove_stale_temps() {
        audit.record("cleanup", &[("removed", &stale.shown())]);
    }
    let (backup, (bytes, store)) = match &args.backup {
        Some(path) => (path.clone(), open_backup(path, &install)?),
        None => {
            let newest = fsx::list_backups(&dir, &file.base_name())?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "no backup of {} in {}: name one, or pass --backup-dir DIR",
                            install.keystore.shown(),
                            dir.path.shown()
                        ),
                    )
                })?;
            let opened = open_listed_backup(&dir, &newest, &install)?;
            (newest.path, opened)
        }
    };
    let entry = store.server_entry(install.alias.as_deref(), &backup, &install.alias_option())?;
    let leaf = entry.certs[0].clone();
    let fingerprint = crate::cert::sha256_fingerprint(&leaf);
    let confirm = Confirm::from_plan(&args.restart.plan(), install.port, None)?;
    // The keystore being replaced is saved first, so that a rollback can be undone too (after a renewal
    // with a key made by `csr`, it holds the only copy of that key).
    crate::interrupt::set_phase(crate::interrupt::Phase::Restoring);
    let (current, current_meta) = file.read()?;
    let saved_current = if current == bytes {
        None
    } else {
        let saved = fsx::make_backup(&dir, &file.base_name(), &current, &current_meta, clock.now)?;
        audit.record(
            "backup",
            &[
                ("keystore", &install.keystore.shown()),
                ("backup", &saved.path.shown()),
            ],
        );
        Some(saved.path)
    };
    audit.record(
        "rollback",
        &[
            ("keystore", &install.keystore.shown().to_string()),
            ("backup", &backup.shown().to_string()),
            ("sha256", &fingerprint),
        ],
    );
    let (steps, outcome) = renew::rollback(
        &file,
        &current_meta,
        &bytes,
        &confirm,
        &fingerprint,
        prompter.observer(),
        &mut audit,
    );
    let downtime_ms = outcome.as_ref().ok().copied().flatten();
    let mut steps = steps;
    if outcome.is_ok() {
        let mut protect = vec![backup.as_path()];
        protect.extend(saved_current.as_deref());
        steps.push(prune_backups(
            &file,
            &dir,
            args.keep_backups,
            &protect,
            &mut audit,
            prompter,
        ));
    }
    let (result, error, manual_steps, exit_code) = match outcome {
        Ok(_) => (RollbackResult::Restored, None, Vec::new(), 0),
        // The restore itself failed: it renames only as its last act, so the keystore is as it was.
        Err(e) if steps.last().is_some_and(|s| s.name == "restore") => {
            audit.record(
                "rollback-failed",
                &[
                    ("keystore", &install.keystore.shown()),
                    ("error", &e.message),
                ],
            );
            return Err(Error::new(
                e.kind,
                format!("{}; the keystore was not changed", e.message),
            ));
        }
        Err(e) => (
            RollbackResult::Failed,
            Some(e.message),
            renew::manual_restore_steps(&backup, &file, &current_meta, &confirm.restart),
            ErrorKind::RollbackFailed.exit_code(),
        ),
    };
    audit.record(
        if exit_code == 0 {
            "restored"
        } else {
            "rollback-failed"
        },
        &[
            ("keystore", &install.keystore.shown().to_string()),
            (
                "downtime_ms",
                &downtime_ms.map(|d| d.to_string()).unwrap_or_default(),
            ),
        ],
    );
    Ok(Finished {
        output: Output::Rollback(RollbackReport {
            result,
            keystore: install.keystore.clone(),
            backup,
            downtime_ms,
            saved_current,
            certificate: Some(CertSummary::of(&leaf, clock)),
            steps,
            error,
            manual_steps,
        }),
        exit_code,
    })
}
