//! Putting a backup back as the keystore: the restore direction of the transaction ([`Restore`], the
//! `rollback` command), the step a failed renewal falls back on, and the manual steps when even that fails.

use super::confirm::{restart_and_confirm, Awaited, Heard};
use super::{Confirm, Observer, Outcome, Steps, Transaction};
use crate::audit::AuditLog;
use crate::error::TransactionError;
use crate::error::{Error, Result};
use crate::fsx::{self, FileId, FileMeta};
use crate::report::{IcgStatusPair, RollbackResult};
use crate::service::Restart;
use crate::shown::{self, Shown};
use crate::utc::Clock;
use std::path::Path;
use std::time::Instant;

/// The restore direction of a [`Transaction`]: a backup already opened and checked by the caller goes
/// back in place of the keystore.
pub struct Restore<'a> {
    /// The backup's path (for messages, the audit log and the manual steps).
    pub backup: &'a Path,
    /// The backup's bytes as read and opened.
    pub backup_bytes: &'a [u8],
    /// SHA-256 of the backup's server certificate.
    pub fingerprint: &'a str,
}

/// What the operator runs when icg-renew was told not to restart.
const RESTART_BY_HAND: &str =
    "restart the ICG: systemctl restart icg-server.service (or /etc/init.d/tomcat restart)";

impl<D> Transaction<'_, D> {
    /// Puts `backup_bytes` back as the keystore (same atomic procedure, through the keystore's directory,
    /// and only while its name still holds the file `expected`: what icg-renew wrote or read last), with
    /// owner, group and mode of `like`; restarts, and confirms `fingerprint`: after a failed renewal
    /// (`down_since` given) with any settled verdict of the ICG, else as a renewal confirms. Returns the
    /// downtime, counted from `down_since` (a renewal's first restart) or else from this restart.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn put_back(
        &self,
        expected: FileId,
        like: &FileMeta,
        backup_bytes: &[u8],
        fingerprint: &str,
        down_since: Option<Instant>,
        steps: &mut Steps<'_>,
        audit: &mut AuditLog,
        heard: &mut Heard,
    ) -> Result<Option<u64>> {
        let file = self.file();
        steps.run("restore", |_| {
            let same = |back: &[u8]| {
                if back == backup_bytes {
                    Ok(())
                } else {
                    Err(Error::Transaction(
                        TransactionError::RestoreReadBackDiffers {
                            keystore: file.path(),
                        },
                    ))
                }
            };
            file.replace(expected, like, backup_bytes, &same)?;
            Ok(((), Some("the backup is the keystore again".into())))
        })?;
        audit.record(
            "restore",
            &[
                ("keystore", &file.configured.shown()),
                ("sha256", fingerprint),
            ],
        );
        // The restored certificate was served before; it may be the expired one being replaced, which a
        // verifying client refuses. Its confirmation is the fingerprint and check-status.
        let unverified = Confirm {
            anchor: None,
            ..self.confirm.clone()
        };
        let verdicts = match down_since {
            Some(_) => heard.restore_verdicts(),
            None => heard.verdicts(&self.confirm),
        };
        restart_and_confirm(
            &unverified,
            Awaited {
                fingerprint,
                what: "the restored certificate",
                verdicts,
                replaced: None,
            },
            down_since.unwrap_or_else(Instant::now),
            steps,
            audit,
            heard,
        )
    }

    /// The exact commands an operator runs to put the backup back by hand, every word shell-quoted: the
    /// copy only when the keystore on disk is not the backup already (a rollback that restored the file
    /// but could not restart). The copy replaces the name rather than writing through it
    /// (`--remove-destination`), then gives back the original owner, group and mode (`-h`: never through
    /// a link).
    pub(super) fn manual_restore_steps(&self, backup: &Path, original: &FileMeta) -> Vec<String> {
        let file = self.file();
        let target = file.path();
        let backup_bytes = fsx::read_input(backup, fsx::MAX_FILE_SIZE, "read the backup").ok();
        let restored = backup_bytes.is_some_and(|b| file.read().is_ok_and(|(now, _)| now == b));
        let mut steps = Vec::new();
        if !restored {
            steps.push(shown::command([
                "cp".as_ref(),
                "--remove-destination".as_ref(),
                "--".as_ref(),
                backup.as_os_str(),
                target.as_os_str(),
            ]));
            steps.push(shown::command([
                "chown".as_ref(),
                "-h".as_ref(),
                std::ffi::OsStr::new(&format!("{}:{}", original.uid, original.gid)),
                "--".as_ref(),
                target.as_os_str(),
            ]));
            steps.push(shown::command([
                "chmod".as_ref(),
                std::ffi::OsStr::new(&format!("{:o}", original.mode)),
                "--".as_ref(),
                target.as_os_str(),
            ]));
        }
        match &self.confirm.restart {
            Restart::None => steps.push(RESTART_BY_HAND.into()),
            other => steps.push(format!("restart the ICG: {}", other.describe())),
        }
        steps.push(format!(
            "{} {}",
            crate::invocation::program(),
            shown::command(["--keystore".as_ref(), target.as_os_str(), "status".as_ref()])
        ));
        steps
    }
}

impl Transaction<'_, Restore<'_>> {
    /// Restores the backup: stale temporary files removed, the keystore being replaced saved first (so
    /// that a rollback can be undone too: after a renewal with a key made by `csr`, it holds the only copy
    /// of that key), the backup put back, restart and confirm, retention. `Err` means the keystore was not
    /// changed; `Ok` with `RollbackResult::Failed` means it was restored but not confirmed. The outcome's
    /// `backup` is the saved keystore (`None` when it already equalled the backup).
    pub fn run(
        &self,
        observer: &mut dyn Observer,
        audit: &mut AuditLog,
        clock: Clock,
    ) -> Result<Outcome<RollbackResult>> {
        let restore = &self.direction;
        let keystore = self.file().configured.shown();
        let mut heard = Heard::before_change(&self.confirm);
        self.clean_up_stale_temps(audit);
        crate::interrupt::set_phase(crate::interrupt::Phase::Restoring);
        let (saved_current, current_meta) = self.save_current(audit, clock)?;
        audit.record(
            "rollback",
            &[
                ("keystore", &keystore),
                ("backup", &restore.backup.shown().to_string()),
                ("sha256", restore.fingerprint),
            ],
        );
        let mut steps = Steps::new(observer);
        let restored = self.put_back(
            current_meta.id,
            &current_meta,
            restore.backup_bytes,
            restore.fingerprint,
            None,
            &mut steps,
            audit,
            &mut heard,
        );
        let mut warnings = Vec::new();
        let (result, downtime_ms, error, manual_steps) = match restored {
            Ok(downtime_ms) => {
                let mut protect = vec![restore.backup];
                protect.extend(saved_current.as_ref().map(|b| b.path.as_path()));
                self.retain_backups(&protect, &mut steps, audit, &mut warnings);
                (RollbackResult::Restored, downtime_ms, None, Vec::new())
            }
            // The restore itself failed: it renames only as its last act, so the keystore is as it was.
            // What this run made goes: its save of the keystore, which is still the installed one.
            Err(e) if steps.done.last().is_some_and(|s| s.name == "restore") => {
                let removed = saved_current
                    .as_ref()
                    .filter(|b| self.backup_dir.remove_if(&b.name, b.id))
                    .map(|b| b.path.shown().to_string())
                    .unwrap_or_default();
                audit.record(
                    "rollback-failed",
                    &[
                        ("keystore", &keystore),
                        ("replaced", "no"),
                        ("backup_removed", &removed),
                        ("error", &e.to_string()),
                    ],
                );
                return Err(Error::Transaction(TransactionError::RestoreNotDone {
                    failure: Box::new(e),
                }));
            }
            Err(e) => (
                RollbackResult::Failed,
                None,
                Some(Error::Transaction(TransactionError::RestoreUnconfirmed {
                    failure: Box::new(e),
                })),
                self.manual_restore_steps(restore.backup, &current_meta),
            ),
        };
        audit.record(
            if result == RollbackResult::Restored {
                "restored"
            } else {
                "rollback-failed"
            },
            &[
                ("keystore", &keystore),
                (
                    "downtime_ms",
                    &downtime_ms.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ],
        );
        Ok(Outcome {
            result,
            backup: saved_current.map(|b| b.path),
            steps: steps.done,
            downtime_ms,
            error,
            manual_steps,
            warnings: warnings.into_iter().chain(heard.notes).collect(),
            icg_status: IcgStatusPair {
                before: heard.before.and_then(|b| b.status()),
                after: heard.after,
            },
        })
    }

    /// Saves the keystore about to be replaced in the backup directory, unless it already equals the
    /// backup; returns the copy's path and the keystore's metadata as read.
    fn save_current(
        &self,
        audit: &mut AuditLog,
        clock: Clock,
    ) -> Result<(Option<fsx::Backup>, FileMeta)> {
        let (current, current_meta) = self.file().read()?;
        if current == self.direction.backup_bytes {
            return Ok((None, current_meta));
        }
        let saved = fsx::make_backup(
            self.backup_dir,
            &self.file().base_name(),
            &current,
            &current_meta,
            (clock.current(), fsx::BackupKind::BeforeRollback),
        )?;
        audit.record(
            "backup",
            &[
                ("keystore", &self.file().configured.shown()),
                ("backup", &saved.path.shown()),
            ],
        );
        Ok((Some(saved), current_meta))
    }
}
