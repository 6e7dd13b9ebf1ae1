//! The renewal direction of the transaction ([`Renewal`]): back up, build the new keystore, write it and
//! read it back, rename it over the original, restart and confirm; after a success apply retention and
//! forget the pending key; after a failure past the rename, restore the backup (unless told not to). Each
//! step is its own method, in that order.

use super::confirm::{restart_and_confirm, Awaited, Heard};
use super::{result_name, stop_if_interrupted, Observer, Outcome, Steps, Transaction};
use crate::audit::AuditLog;
use crate::cert::sha256_fingerprint;
use crate::error::TransactionError;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::fsx::{self, FileId};
use crate::installed::Installed;
use crate::keystore::{EntryKind, Keystore, NewKeyEntry};
use crate::report::{IcgStatusPair, RenewResult};
use crate::secret::Password;
use crate::shown::Shown;
use crate::utc::Clock;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The renewal direction of a [`Transaction`]: the new key and chain go into the installed keystore's
/// server entry.
pub struct Renewal<'a> {
    /// The installed keystore as read through the transaction's keystore once the lock was held.
    pub installed: &'a Installed,
    pub store_password: &'a Password,
    pub key_password: &'a Password,
    pub new_key: &'a PKey<Private>,
    /// Leaf to root, as verified.
    pub new_chain: &'a [X509],
    /// On failure after the rename, restore the backup (else leave the new keystore in place).
    pub rollback: bool,
    /// The pending key of `csr` the new material uses: overwritten and removed after success.
    pub pending_key: Option<(&'a Path, FileId)>,
}

/// The server certificate's SHA-256 before and after.
struct Fingerprints {
    old: String,
    new: String,
}

impl Transaction<'_, Renewal<'_>> {
    /// Runs the renewal. Every way it ends is an [`Outcome`]: a failure before the rename is
    /// [`RenewResult::Failed`] (the installed keystore untouched, the run's backup and temporary file
    /// removed); after the rename the result says whether the renewal held, was rolled back, or needs a hand.
    pub fn run(
        &self,
        observer: &mut dyn Observer,
        audit: &mut AuditLog,
        clock: Clock,
    ) -> Outcome<RenewResult> {
        let renewal = &self.direction;
        let fingerprints = Fingerprints {
            old: sha256_fingerprint(renewal.installed.leaf()),
            new: sha256_fingerprint(&renewal.new_chain[0]),
        };
        let mut steps = Steps::new(observer);
        // What the gateway says now decides what its answer after the restart must be.
        let mut heard = Heard::before_change(&self.confirm);
        let mut made = None;
        let replaced = self.replace(&fingerprints, clock, &mut made, &mut steps, audit);
        let mut outcome = match replaced {
            Ok(written) => {
                let backup = made.map(|b: fsx::Backup| b.path).unwrap_or_default();
                self.after_the_rename(&fingerprints, backup, written, steps, audit, &mut heard)
            }
            Err(failure) => self.not_replaced(failure, made, steps, audit),
        };
        outcome.warnings.extend(heard.notes);
        outcome.icg_status = IcgStatusPair {
            before: heard.before.and_then(|b| b.status()),
            after: heard.after,
        };
        outcome
    }

    /// Everything up to and including the rename: the stale-temp clean-up, the backup (kept in `made` as
    /// soon as it exists), the new keystore built, written, read back and renamed over the original.
    fn replace(
        &self,
        fingerprints: &Fingerprints,
        clock: Clock,
        made: &mut Option<fsx::Backup>,
        steps: &mut Steps<'_>,
        audit: &mut AuditLog,
    ) -> Result<FileId> {
        stop_if_interrupted()?;
        self.clean_up_stale_temps(audit);
        let backup = made.insert(self.back_up(fingerprints, clock, steps, audit)?);
        let backup = backup.path.clone();
        let new_bytes = self.build(clock, steps)?;
        self.write(&new_bytes, fingerprints, &backup, steps, audit)
    }

    /// From the rename on: restart and confirm; then the renewal holds, or falls back to the backup.
    fn after_the_rename(
        &self,
        fingerprints: &Fingerprints,
        backup: PathBuf,
        written: FileId,
        mut steps: Steps<'_>,
        audit: &mut AuditLog,
        heard: &mut Heard,
    ) -> Outcome<RenewResult> {
        // The gateway is down from the first restart until it serves the certificate that stays.
        let down_since = Instant::now();
        let confirmed = restart_and_confirm(
            &self.confirm,
            Awaited {
                fingerprint: &fingerprints.new,
                what: "the new certificate",
                verdicts: heard.verdicts(&self.confirm),
                replaced: Some((&fingerprints.old, "the old certificate")),
            },
            down_since,
            &mut steps,
            audit,
            heard,
        );
        match confirmed {
            Ok(downtime_ms) => self.renewed(fingerprints, backup, downtime_ms, steps, audit),
            Err(failure) => self.fall_back(
                fingerprints,
                backup,
                written,
                down_since,
                failure,
                steps,
                audit,
                heard,
            ),
        }
    }

    /// A failure before the rename: the keystore was never replaced. What this run made goes (its backup —
    /// a copy of the keystore that is still installed — and any temporary file left beside the keystore),
    /// and the audit log ends with the failure.
    fn not_replaced(
        &self,
        failure: Error,
        made: Option<fsx::Backup>,
        mut steps: Steps<'_>,
        audit: &mut AuditLog,
    ) -> Outcome<RenewResult> {
        let installed = self.direction.installed;
        let started = Instant::now();
        let mut warnings = Vec::new();
        let mut left = None;
        let mut removed = String::new();
        if let Some(backup) = made {
            if self.backup_dir.remove_if(&backup.name, backup.id) {
                removed = backup.path.shown().to_string();
            } else {
                warnings.push(format!(
                    "the backup {} made for this run could not be removed: remove it by hand",
                    backup.path.shown()
                ));
                left = Some(backup.path);
            }
            let _ = self.backup_dir.sync();
        }
        // `replace` removes its temporary file itself; one that could not be removed goes now.
        self.clean_up_stale_temps(audit);
        steps.after(
            "clean-up",
            started,
            if removed.is_empty() {
                "nothing was replaced".to_string()
            } else {
                format!("nothing was replaced; removed the backup made for this run, {removed}")
            },
        );
        audit.record(
            "failed",
            &[
                ("keystore", &installed.path.shown().to_string()),
                ("replaced", "no"),
                ("backup_removed", &removed),
                ("error", &failure.to_string()),
            ],
        );
        Outcome {
            result: RenewResult::Failed,
            backup: left,
            steps: steps.done,
            downtime_ms: None,
            error: Some(Error::Transaction(TransactionError::NotReplaced {
                failure: Box::new(failure),
                keystore: installed.path.clone(),
            })),
            manual_steps: Vec::new(),
            warnings,
            icg_status: IcgStatusPair::default(),
        }
    }

    /// The backup of the keystore as it was read, in the backup directory.
    fn back_up(
        &self,
        fingerprints: &Fingerprints,
        clock: Clock,
        steps: &mut Steps<'_>,
        audit: &mut AuditLog,
    ) -> Result<fsx::Backup> {
        let installed = self.direction.installed;
        let backup = steps.run("backup", |_| {
            let b = fsx::make_backup(
                self.backup_dir,
                &installed.file.base_name(),
                &installed.bytes,
                &installed.read,
                (clock.current(), fsx::BackupKind::BeforeRenewal),
            )?;
            let shown = b.path.shown();
            Ok((b, Some(shown)))
        })?;
        audit.record(
            "backup",
            &[
                ("keystore", &installed.path.shown().to_string()),
                ("backup", &backup.path.shown().to_string()),
                ("sha256", &fingerprints.old),
            ],
        );
        failpoint::hit("backup-written");
        Ok(backup)
    }

    /// The new keystore's bytes: the installed one with only the server entry replaced.
    fn build(&self, clock: Clock, steps: &mut Steps<'_>) -> Result<Vec<u8>> {
        let renewal = &self.direction;
        let installed = renewal.installed;
        steps.run("build", |_| {
            let entry = NewKeyEntry {
                alias: &installed.alias,
                key: renewal.new_key,
                chain: renewal.new_chain,
                timestamp_ms: (clock.now.max(0) as u64) * 1000,
            };
            let bytes = installed.store.with_replaced_key(
                &entry,
                renewal.store_password,
                renewal.key_password,
                &installed.path,
            )?;
            let size = bytes.len();
            Ok((
                bytes,
                Some(format!("{} bytes, {}", size, installed.store.protection())),
            ))
        })
    }

    /// Writes the new keystore beside the original, reads it back, and renames it over the original while
    /// that still holds the bytes read at the start; returns the identity of the file now in place.
    fn write(
        &self,
        new_bytes: &[u8],
        fingerprints: &Fingerprints,
        backup: &Path,
        steps: &mut Steps<'_>,
        audit: &mut AuditLog,
    ) -> Result<FileId> {
        let renewal = &self.direction;
        let installed = renewal.installed;
        let written = steps.run("write", |_| {
            let verify = |back: &[u8]| {
                read_back(back, renewal)
                    .and_then(|()| unchanged_since_read(installed))
                    .and_then(|()| stop_if_interrupted())
            };
            let id =
                installed
                    .file
                    .replace(installed.read.id, &installed.read, new_bytes, &verify)?;
            Ok((
                id,
                Some("written beside the original, read back, renamed over it".into()),
            ))
        })?;
        audit.record(
            "replace",
            &[
                ("keystore", &installed.path.shown().to_string()),
                ("old_sha256", &fingerprints.old),
                ("new_sha256", &fingerprints.new),
                ("backup", &backup.shown().to_string()),
            ],
        );
        failpoint::hit("renamed");
        crate::interrupt::set_phase(crate::interrupt::Phase::Replaced);
        Ok(written)
    }

    /// The renewal held: audited, old backups pruned, the pending key forgotten.
    fn renewed(
        &self,
        fingerprints: &Fingerprints,
        backup: PathBuf,
        downtime_ms: Option<u64>,
        mut steps: Steps<'_>,
        audit: &mut AuditLog,
    ) -> Outcome<RenewResult> {
        let installed = self.direction.installed;
        // Without a restart there was no downtime to report: the field is left out, not empty.
        let keystore_text = installed.path.shown().to_string();
        let downtime_text = downtime_ms.map(|d| d.to_string());
        let mut fields = vec![
            ("keystore", keystore_text.as_str()),
            ("new_sha256", &fingerprints.new),
        ];
        if let Some(ms) = &downtime_text {
            fields.push(("downtime_ms", ms));
        }
        audit.record("renewed", &fields);
        let mut warnings = Vec::new();
        self.retain_backups(&[backup.as_path()], &mut steps, audit, &mut warnings);
        if let Some((path, id)) = self.direction.pending_key {
            self.forget_pending_key(path, id, &mut steps, audit, &mut warnings);
        }
        Outcome {
            result: RenewResult::Renewed,
            backup: Some(backup),
            steps: steps.done,
            downtime_ms,
            error: None,
            manual_steps: Vec::new(),
            warnings,
            icg_status: IcgStatusPair::default(),
        }
    }

    /// The pending key of `csr` is installed now: overwritten and removed; failing that is a warning.
    fn forget_pending_key(
        &self,
        path: &Path,
        id: FileId,
        steps: &mut Steps<'_>,
        audit: &mut AuditLog,
        warnings: &mut Vec<String>,
    ) {
        let started = Instant::now();
        let detail = match crate::pending::remove_securely(&self.direction.installed.file, id) {
            Ok(()) => format!(
                "the pending key {} is installed now: overwritten and removed",
                path.shown()
            ),
            Err(e) => {
                warnings.push(e.to_string());
                format!("could not remove the pending key: {}", e)
            }
        };
        audit.record(
            "pending-key-removed",
            &[("path", &path.shown().to_string())],
        );
        steps.after("forget-pending-key", started, detail);
    }

    /// The new certificate was not confirmed: restore the backup, restart and confirm the old one (or,
    /// under `--no-rollback`, leave the new keystore and say what to do by hand).
    #[allow(clippy::too_many_arguments)]
    fn fall_back(
        &self,
        fingerprints: &Fingerprints,
        backup: PathBuf,
        written: FileId,
        down_since: Instant,
        failure: Error,
        mut steps: Steps<'_>,
        audit: &mut AuditLog,
        heard: &mut Heard,
    ) -> Outcome<RenewResult> {
        let installed = self.direction.installed;
        audit.record(
            "failed",
            &[
                ("keystore", &installed.path.shown().to_string()),
                ("error", &failure.to_string()),
            ],
        );
        if !self.direction.rollback {
            let manual = self.manual_restore_steps(&backup, &installed.read);
            return Outcome {
                result: RenewResult::RollbackFailed,
                backup: Some(backup),
                steps: steps.done,
                downtime_ms: None,
                error: Some(Error::Transaction(TransactionError::RenewalLeftInPlace {
                    failure: Box::new(failure),
                })),
                manual_steps: manual,
                warnings: Vec::new(),
                icg_status: IcgStatusPair::default(),
            };
        }
        let restored = self.put_back(
            written,
            &installed.read,
            &installed.bytes,
            &fingerprints.old,
            Some(down_since),
            &mut steps,
            audit,
            heard,
        );
        let downtime_ms = restored.as_ref().ok().copied().flatten();
        let (result, error, manual_steps) = match restored {
            Ok(_) => (
                RenewResult::RolledBack,
                Error::Transaction(TransactionError::RenewalRolledBack {
                    failure: Box::new(failure),
                }),
                Vec::new(),
            ),
            Err(e) => (
                RenewResult::RollbackFailed,
                Error::Transaction(TransactionError::RollbackFailedToo {
                    failure: Box::new(failure),
                    rollback: Box::new(e),
                }),
                self.manual_restore_steps(&backup, &installed.read),
            ),
        };
        audit.record(
            &result_name(result),
            &[
                ("keystore", &installed.path.shown().to_string()),
                ("backup", &backup.shown().to_string()),
                (
                    "downtime_ms",
                    &downtime_ms.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ],
        );
        Outcome {
            result,
            backup: Some(backup),
            steps: steps.done,
            downtime_ms,
            error: Some(error),
            manual_steps,
            warnings: Vec::new(),
            icg_status: IcgStatusPair::default(),
        }
    }
}

/// The keystore must still be the bytes that were checked and backed up: another tool (the UMS wizard,
/// keystore_update) may have replaced it while the operator was reading the plan.
fn unchanged_since_read(installed: &Installed) -> Result<()> {
    let (now, meta) = installed.file.read()?;
    if meta.id == installed.read.id && now == installed.bytes {
        Ok(())
    } else {
        Err(Error::Transaction(
            TransactionError::KeystoreChangedMeanwhile {
                keystore: installed.path.clone(),
            },
        ))
    }
}

/// The read-back check of a freshly written keystore: it opens with the same password, the server entry
/// holds exactly the new key and chain, and every other entry is as it was.
fn read_back(bytes: &[u8], renewal: &Renewal<'_>) -> Result<()> {
    let installed = renewal.installed;
    let differs = |what: &str| {
        Error::Transaction(TransactionError::ReadBackDiffers {
            keystore: installed.path.clone(),
            what: what.to_string(),
        })
    };
    let unreadable = |e: Error| {
        Error::Transaction(TransactionError::ReadBackUnreadable {
            keystore: installed.path.clone(),
            source: Box::new(e),
        })
    };
    let temp = installed.file.path();
    let temp = temp.as_path();
    let store = Keystore::load(bytes, renewal.store_password, temp).map_err(unreadable)?;
    if store.format != installed.store.format {
        return Err(differs("format changed"));
    }
    let entry = store
        .entry(&installed.alias)
        .ok_or_else(|| differs("server entry missing"))?;
    let meant: Vec<Vec<u8>> = renewal
        .new_chain
        .iter()
        .map(|x| x.to_der().unwrap_or_default())
        .collect();
    if entry.kind != EntryKind::PrivateKey || entry.der != meant {
        return Err(differs("server chain differs"));
    }
    let key = store
        .private_key(&installed.alias, renewal.key_password, temp)
        .map_err(unreadable)?;
    if !key.public_eq(renewal.new_key) {
        return Err(differs("server key differs"));
    }
    if other_entries(&store, &installed.alias) != other_entries(&installed.store, &installed.alias)
    {
        return Err(differs("another entry changed"));
    }
    Ok(())
}

/// Every entry but `alias`, as (alias, kind, certificates as stored), in a fixed order.
fn other_entries<'s>(
    store: &'s Keystore,
    alias: &str,
) -> Vec<(&'s str, &'static str, &'s [Vec<u8>])> {
    let mut entries: Vec<_> = store
        .entries
        .iter()
        .filter(|e| e.alias != alias)
        .map(|e| (e.alias.as_str(), e.kind.name(), e.der.as_slice()))
        .collect();
    entries.sort_unstable();
    entries
}
