//! The transaction that changes the keystore: one [`Transaction`] type, run in one of its two directions —
//! a [`Renewal`] (`renew`, `inbox`, `demo`) or the [`Restore`] of a backup (`rollback`). Nothing on disk
//! changes before it runs (every check has passed by then, and the caller holds the keystore's lock: a
//! transaction holds a [`LockedKeystore`]); then the steps run in a fixed order — clean up stale temporary
//! files, back up, write, read back, rename, restart, confirm, and after a success apply backup retention —
//! each timed, and any failure of a renewal after the rename restores the backup, restarts and confirms
//! again. Both directions end in one [`Outcome`]. Never prompts: what happens is reported to an
//! `Observer`, and what the operator should know comes back as warnings.
//!
//! Here: the transaction, its shared fields and the steps both directions take (the stale-temp clean-up,
//! retention); the renewal's own steps in `execute`, the restart and confirmation (and what the gateway
//! said before the change) in `confirm`, the restore's own steps in `restore`.

mod confirm;
mod execute;
mod locked;
mod restore;

pub use execute::Renewal;
pub use locked::LockedKeystore;
pub use restore::Restore;

use crate::audit::AuditLog;
use crate::error::TransactionError;
use crate::error::{Error, Result};
use crate::fsx::{self, KeystoreFile, SafeDir};
use crate::report::{IcgStatusPair, RenewResult, Step};
use crate::service::{HealthCheck, Observation, Restart, RestartPlan};
use crate::shown::Shown;
use openssl::x509::X509;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Hears about the transaction as it runs (the terminal UI draws progress from it).
pub trait Observer {
    fn step_started(&mut self, name: &str);
    fn step_finished(&mut self, step: &Step, ok: bool);
    /// While waiting for the gateway: what is awaited, for how long so far, and what was last seen.
    fn waiting(&mut self, what: &str, elapsed: Duration, seen: &Observation);
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn step_started(&mut self, _: &str) {}
    fn step_finished(&mut self, _: &Step, _: bool) {}
    fn waiting(&mut self, _: &str, _: Duration, _: &Observation) {}
}

/// How the gateway is restarted and confirmed.
#[derive(Debug, Clone)]
pub struct Confirm {
    pub restart: Restart,
    /// `None`: do not confirm.
    pub health_timeout: Option<Duration>,
    /// Bounds the restart command when there is no health check.
    pub restart_timeout: Duration,
    pub port: u16,
    /// The installed root: the only trust anchor of the verifying handshakes (`None`: fingerprint and
    /// check-status only).
    pub anchor: Option<X509>,
    /// Accept the ICG's `warn` after the restart although it said `ok` before (`--allow-no-ums`).
    pub allow_no_ums: bool,
}

impl Confirm {
    /// How the restart (`restart`, decided from `plan` before any question) and the confirmation are planned
    /// for the ICG on `port`.
    pub fn from_plan(
        plan: &RestartPlan,
        restart: Restart,
        port: u16,
        anchor: Option<&X509>,
    ) -> Confirm {
        Confirm {
            health_timeout: plan.health_check.then_some(plan.timeout),
            restart_timeout: plan.timeout,
            restart,
            port,
            anchor: anchor.cloned(),
            allow_no_ums: plan.allow_no_ums,
        }
    }

    /// What confirms the restart.
    pub fn health_check(&self) -> HealthCheck {
        match (&self.restart, self.health_timeout) {
            (Restart::None, _) => HealthCheck::NoRestart,
            (_, None) => HealthCheck::Skipped,
            (_, Some(timeout)) => HealthCheck::Within {
                port: self.port,
                timeout,
                verifying: self.anchor.is_some(),
            },
        }
    }
}

/// One change of the keystore, in the direction `D`: a [`Renewal`] or a [`Restore`]. The fields here are
/// what both directions share; each direction's `run` takes the steps in order and ends in an [`Outcome`].
pub struct Transaction<'a, D> {
    /// The keystore's lock, held for the whole transaction.
    pub keystore: &'a LockedKeystore,
    /// Where the keystore being replaced is saved, and where retention applies: the keystore's directory
    /// or `--backup-dir`, opened once and accepted.
    pub backup_dir: &'a SafeDir,
    pub confirm: Confirm,
    /// After success, keep this many backups of the keystore (0: all).
    pub keep_backups: usize,
    /// What is written: the new key and chain, or a backup.
    pub direction: D,
}

/// How a transaction ended once it had begun to change things: `R` says how (a renewal's or a restore's
/// result); `backup` is the copy it made of the keystore it replaced (`None` when a restore found the
/// keystore already equal to the backup).
#[derive(Debug)]
pub struct Outcome<R> {
    pub result: R,
    pub backup: Option<PathBuf>,
    pub steps: Vec<Step>,
    pub downtime_ms: Option<u64>,
    pub error: Option<Error>,
    pub manual_steps: Vec<String>,
    /// What the operator should know that did not fail the transaction (an old backup left in place, a
    /// confirmation without check-status).
    pub warnings: Vec<String>,
    /// What the ICG's check-status said before the change and after the last restart.
    pub icg_status: IcgStatusPair,
}

struct Steps<'o> {
    done: Vec<Step>,
    observer: &'o mut dyn Observer,
}

impl Steps<'_> {
    fn new(observer: &mut dyn Observer) -> Steps<'_> {
        Steps {
            done: Vec::new(),
            observer,
        }
    }

    fn run<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut dyn Observer) -> Result<(T, Option<String>)>,
    ) -> Result<T> {
        self.observer.step_started(name);
        let start = Instant::now();
        let outcome = f(self.observer);
        let ms = start.elapsed().as_millis() as u64;
        let (value, detail, ok) = match outcome {
            Ok((value, detail)) => (Ok(value), detail, true),
            Err(e) => {
                let message = e.to_string();
                (Err(e), Some(message), false)
            }
        };
        let step = Step {
            name: name.to_string(),
            ms,
            detail,
            failed: !ok,
        };
        self.observer.step_finished(&step, ok);
        self.done.push(step);
        value
    }

    /// A step after the outcome is settled (retention, the pending key): timed and listed, not shown live.
    fn after(&mut self, name: &str, started: Instant, detail: String) {
        self.done.push(Step {
            name: name.to_string(),
            ms: started.elapsed().as_millis() as u64,
            detail: Some(detail),
            failed: false,
        });
    }

    fn skip(&mut self, name: &str, why: &str) {
        let step = Step {
            name: name.to_string(),
            ms: 0,
            detail: Some(format!("skipped: {why}")),
            failed: false,
        };
        self.observer.step_finished(&step, true);
        self.done.push(step);
    }
}

/// Before the rename, an interruption stops the renewal with the keystore untouched.
fn stop_if_interrupted() -> Result<()> {
    if crate::interrupt::requested() {
        return Err(Error::Transaction(
            TransactionError::InterruptedBeforeReplace,
        ));
    }
    Ok(())
}

/// The end of a long text (a restart command's output), so that one audit line stays readable.
fn last_chars(text: &str, max: usize) -> &str {
    let start = text
        .char_indices()
        .rev()
        .nth(max.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    &text[start..]
}

/// The result as the contract names it (its JSON spelling).
fn result_name(result: RenewResult) -> String {
    serde_json::to_value(result)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl<D> Transaction<'_, D> {
    /// The keystore file the lock is held for.
    fn file(&self) -> &KeystoreFile {
        self.keystore.file()
    }

    /// Removes the temporary files an earlier, killed run left beside the keystore (audited).
    fn clean_up_stale_temps(&self, audit: &mut AuditLog) {
        for stale in self.file().remove_stale_temps() {
            audit.record("cleanup", &[("removed", &stale.shown())]);
        }
    }

    /// Removes the backups of the keystore in the backup directory beyond the newest `keep_backups`
    /// (never those in `protect`), after a success; what it could not remove is a warning, not a failure
    /// of the transaction.
    fn retain_backups(
        &self,
        protect: &[&Path],
        steps: &mut Steps<'_>,
        audit: &mut AuditLog,
        warnings: &mut Vec<String>,
    ) {
        let keep = self.keep_backups;
        let started = Instant::now();
        let listed = match fsx::list_backups(self.backup_dir, &self.file().base_name()) {
            Ok(listed) => listed,
            Err(e) => {
                warnings.push(e.to_string());
                Vec::new()
            }
        };
        let going = crate::retention::beyond(&listed, keep, protect);
        let owner = self
            .file()
            .dir
            .meta_of(&self.file().name)
            .map_or(0, |(m, _)| m.uid);
        let (removed, errors) = crate::retention::remove(self.backup_dir, &listed, &going, owner);
        for path in &removed {
            audit.record("backup-removed", &[("backup", &path.shown().to_string())]);
        }
        for e in &errors {
            warnings.push(format!("could not remove an old backup: {}", e));
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
        steps.after("retention", started, detail);
    }
}
