//! The renewal transaction and the restore it falls back on. Nothing on disk changes before `execute` is
//! called (every check has passed by then); after that, the steps run in a fixed order — backup, write,
//! read back, rename, restart, confirm — each timed, and any failure after the rename restores the backup,
//! restarts and confirms again. Never prompts: what happens is reported to an `Observer`.

use crate::audit::AuditLog;
use crate::cert::{sha256_fingerprint, Clock};
use crate::error::{Error, ErrorKind, Result};
use crate::failpoint;
use crate::fsx::{self, FileId, FileMeta, KeystoreFile, SafeDir};
use crate::installed::Installed;
use crate::keystore::{EntryKind, Keystore, NewKeyEntry};
use crate::report::{RenewResult, Step};
use crate::secret::Password;
use crate::service::{self, HealthCheck, Observation, Restart, RestartPlan};
use crate::shown::{self, Shown};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::path::PathBuf;
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
}

impl Confirm {
    /// How the restart and the confirmation are planned from `plan` for the ICG on `port`.
    pub fn from_plan(plan: &RestartPlan, port: u16, anchor: Option<&X509>) -> Result<Confirm> {
        Ok(Confirm {
            health_timeout: plan.health_check.then_some(plan.timeout),
            restart_timeout: plan.timeout,
            restart: plan.restart()?,
            port,
            anchor: anchor.cloned(),
        })
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

/// Everything `execute` needs.
pub struct Transaction<'a> {
    pub installed: &'a Installed,
    pub store_password: &'a Password,
    pub key_password: &'a Password,
    pub new_key: &'a PKey<Private>,
    /// Leaf to root, as verified.
    pub new_chain: &'a [X509],
    /// Where the backup goes: the keystore's directory or `--backup-dir`, opened once and accepted.
    pub backup_dir: &'a SafeDir,
    pub confirm: Confirm,
    pub rollback: bool,
}

/// How a transaction ended, once the keystore had been touched or not.
#[derive(Debug)]
pub struct Outcome {
    pub result: RenewResult,
    pub backup: Option<PathBuf>,
    pub steps: Vec<Step>,
    pub downtime_ms: Option<u64>,
    pub error: Option<Error>,
    pub manual_steps: Vec<String>,
}

struct Steps<'o> {
    done: Vec<Step>,
    observer: &'o mut dyn Observer,
}

impl Steps<'_> {
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
                let message = e.message.clone();
                (Err(e), Some(message), false)
            }
        };
        let step = Step {
            name: name.to_string(),
            ms,
            detail,
        };
        self.observer.step_finished(&step, ok);
        self.done.push(step);
        value
    }

    fn skip(&mut self, name: &str, why: &str) {
        let step = Step {
            name: name.to_string(),
            ms: 0,
            detail: Some(format!("skipped: {why}")),
        };
        self.observer.step_finished(&step, true);
        self.done.push(step);
    }
}

/// Runs the transaction. `Err` means nothing was changed (a backup may have been written); every outcome
/// after the rename is an `Ok(Outcome)` whose result says whether the renewal held, was rolled back, or
/// needs a hand.
pub fn execute(
    tx: &Transaction<'_>,
    observer: &mut dyn Observer,
    audit: &mut AuditLog,
    clock: Clock,
) -> Result<Outcome> {
    let installed = tx.installed;
    let keystore = &installed.path;
    let old_fp = sha256_fingerprint(installed.leaf());
    let new_fp = sha256_fingerprint(&tx.new_chain[0]);
    let mut steps = Steps {
        done: Vec::new(),
        observer,
    };

    stop_if_interrupted()?;
    let file = &installed.file;
    for stale in file.remove_stale_temps() {
        audit.record("cleanup", &[("removed", &stale.shown())]);
    }

    let backup = steps.run("backup", |_| {
        let b = fsx::make_backup(
            tx.backup_dir,
            &file.base_name(),
            &installed.bytes,
            &installed.read,
            clock.now,
        )?;
        Ok((b.path.clone(), Some(b.path.shown())))
    })?;
    audit.record(
        "backup",
        &[
            ("keystore", &keystore.shown().to_string()),
            ("backup", &backup.shown().to_string()),
            ("sha256", &old_fp),
        ],
    );
    failpoint::hit("backup-written");

    let new_bytes = steps.run("build", |_| {
        let entry = NewKeyEntry {
            alias: &installed.alias,
            key: tx.new_key,
            chain: tx.new_chain,
            timestamp_ms: (clock.now.max(0) as u64) * 1000,
        };
        let bytes = installed.store.with_replaced_key(
            &entry,
            tx.store_password,
            tx.key_password,
            keystore,
        )?;
        let size = bytes.len();
        Ok((
            bytes,
            Some(format!("{} bytes, {}", size, installed.store.protection())),
        ))
    })?;

    let written = steps.run("write", |_| {
        let verify = |back: &[u8]| {
            read_back(back, tx, installed)
                .and_then(|()| unchanged_since_read(installed))
                .and_then(|()| stop_if_interrupted())
        };
        let id = file.replace(installed.read.id, &installed.read, &new_bytes, &verify)?;
        Ok((
            id,
            Some("written beside the original, read back, renamed over it".into()),
        ))
    })?;
    audit.record(
        "replace",
        &[
            ("keystore", &keystore.shown().to_string()),
            ("old_sha256", &old_fp),
            ("new_sha256", &new_fp),
            ("backup", &backup.shown().to_string()),
        ],
    );
    failpoint::hit("renamed");
    crate::interrupt::set_phase(crate::interrupt::Phase::Replaced);

    // The gateway is down from the first restart until it serves the certificate that stays.
    let down_since = Instant::now();
    let confirmed = restart_and_confirm(
        &tx.confirm,
        &new_fp,
        "the new certificate",
        down_since,
        &mut steps,
        audit,
    );
    let (failure, downtime_ms) = match confirmed {
        Ok(downtime) => {
            // Without a restart there was no downtime to report: the field is left out, not empty.
            let keystore_text = keystore.shown().to_string();
            let downtime_text = downtime.map(|d| d.to_string());
            let mut fields = vec![
                ("keystore", keystore_text.as_str()),
                ("new_sha256", &new_fp),
            ];
            if let Some(ms) = &downtime_text {
                fields.push(("downtime_ms", ms));
            }
            audit.record("renewed", &fields);
            return Ok(Outcome {
                result: RenewResult::Renewed,
                backup: Some(backup),
                steps: steps.done,
                downtime_ms: downtime,
                error: None,
                manual_steps: Vec::new(),
            });
        }
        Err(e) => (e, None),
    };
    audit.record(
        "failed",
        &[
            ("keystore", &keystore.shown().to_string()),
            ("error", &failure.message),
        ],
    );

    if !tx.rollback {
        let manual = manual_restore_steps(&backup, file, &installed.read, &tx.confirm.restart);
        return Ok(Outcome {
            result: RenewResult::RollbackFailed,
            backup: Some(backup),
            steps: steps.done,
            downtime_ms,
            error: Some(Error::new(
                ErrorKind::RollbackFailed,
                format!(
                    "{}; the new keystore was left in place (--no-rollback)",
                    failure.message
                ),
            )),
            manual_steps: manual,
        });
    }

    let restored = restore(
        file,
        written,
        &installed.read,
        &installed.bytes,
        &tx.confirm,
        &old_fp,
        Some(down_since),
        &mut steps,
        audit,
    );
    let downtime_ms = restored.as_ref().ok().copied().flatten().or(downtime_ms);
    let (result, error, manual_steps) = match restored {
        Ok(_) => (
            RenewResult::RolledBack,
            Error::new(
                ErrorKind::RolledBack,
                format!(
                    "{}; the old keystore was restored and is served again",
                    failure.message
                ),
            ),
            Vec::new(),
        ),
        Err(e) => (
            RenewResult::RollbackFailed,
            Error::new(
                ErrorKind::RollbackFailed,
                format!(
                    "{}; then the rollback failed too: {}",
                    failure.message, e.message
                ),
            ),
            manual_restore_steps(&backup, file, &installed.read, &tx.confirm.restart),
        ),
    };
    audit.record(
        &result_name(result),
        &[
            ("keystore", &keystore.shown().to_string()),
            ("backup", &backup.shown().to_string()),
            (
                "downtime_ms",
                &downtime_ms.map(|d| d.to_string()).unwrap_or_default(),
            ),
        ],
    );
    Ok(Outcome {
        result,
        backup: Some(backup),
        steps: steps.done,
        downtime_ms,
        error: Some(error),
        manual_steps,
    })
}

/// Before the rename, an interruption stops the renewal with the keystore untouched.
fn stop_if_interrupted() -> Result<()> {
    if crate::interrupt::requested() {
        return Err(Error::new(
            ErrorKind::Aborted,
            "interrupted before the keystore was replaced: nothing was changed",
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

/// The keystore must still be the bytes that were checked and backed up: another tool (the UMS wizard,
/// keystore_update) may have replaced it while the operator was reading the plan.
fn unchanged_since_read(installed: &Installed) -> Result<()> {
    let (now, meta) = installed.file.read()?;
    if meta.id == installed.read.id && now == installed.bytes {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Io,
            format!("{} was changed by something else while icg-renew worked: nothing was replaced; run icg-renew again", installed.path.shown()),
        ))
    }
}

/// The read-back check of a freshly written keystore: it opens with the same password, the server entry
/// holds exactly the new key and chain, and every other entry is as it was.
fn read_back(bytes: &[u8], tx: &Transaction<'_>, installed: &Installed) -> Result<()> {
    let differs = |what: &str| {
        Error::new(
            ErrorKind::Io,
            format!("the new keystore for {} did not read back as meant ({what}), so nothing was replaced; please report this with the audit log", installed.path.shown()),
        )
    };
    let temp = installed.file.path();
    let temp = temp.as_path();
    let store = Keystore::load(bytes, tx.store_password, temp).map_err(|e| differs(&e.message))?;
    if store.format != installed.store.format {
        return Err(differs("format changed"));
    }
    let entry = store
        .entry(&installed.alias)
        .ok_or_else(|| differs("server entry missing"))?;
    let meant: Vec<Vec<u8>> = tx
        .new_chain
        .iter()
        .map(|x| x.to_der().unwrap_or_default())
        .collect();
    if entry.kind != EntryKind::PrivateKey || entry.der != meant {
        return Err(differs("server chain differs"));
    }
    let key = store
        .private_key(&installed.alias, tx.key_password, temp)
        .map_err(|e| differs(&e.message))?;
    if !key.public_eq(tx.new_key) {
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

/// Restarts and, unless switched off, waits until the gateway serves `fingerprint`. Returns the downtime:
/// from `down_since` (the first restart of the transaction) to the first good answer; `None` when there
/// was no restart or no confirmation.
fn restart_and_confirm(
    confirm: &Confirm,
    fingerprint: &str,
    what: &str,
    down_since: Instant,
    steps: &mut Steps<'_>,
    audit: &mut AuditLog,
) -> Result<Option<u64>> {
    if confirm.restart == Restart::None {
        steps.skip("restart", "--restart none");
        steps.skip("confirm", "no restart");
        return Ok(None);
    }
    let started = Instant::now();
    let timeout = confirm.health_timeout.unwrap_or(confirm.restart_timeout);
    let output = steps.run("restart", |_| {
        let out = confirm.restart.run(timeout)?;
        Ok((out, Some(confirm.restart.describe())))
    });
    failpoint::hit("restarted");
    match &output {
        Ok(out) => audit.record(
            "restart",
            &[
                ("how", &confirm.restart.describe()),
                ("output", last_chars(out.trim(), 2000)),
            ],
        ),
        Err(e) => audit.record(
            "restart-failed",
            &[("how", &confirm.restart.describe()), ("error", &e.message)],
        ),
    }
    output?;
    let Some(health_timeout) = confirm.health_timeout else {
        steps.skip("confirm", "--no-health-check");
        return Ok(None);
    };
    let remaining = health_timeout.saturating_sub(started.elapsed());
    let good_at = steps.run("confirm", |observer| {
        let waiting_for = format!("waiting for the gateway to serve {what}");
        let result = service::wait_until_served(
            confirm.port,
            fingerprint,
            confirm.anchor.as_ref(),
            remaining,
            &mut |elapsed, seen| observer.waiting(&waiting_for, elapsed, seen),
        );
        match result {
            Ok(at) => Ok((
                at,
                Some(format!("127.0.0.1:{} serves {what}", confirm.port)),
            )),
            Err(Observation::Refused(why)) => Err(Error::new(
                ErrorKind::Io,
                format!("the gateway serves {what}, but a verifying client refuses it: {why}"),
            )),
            Err(last) => Err(Error::new(
                ErrorKind::Io,
                format!(
                    "the gateway did not serve {what} within {} s: {}",
                    health_timeout.as_secs(),
                    last.describe()
                ),
            )),
        }
    })?;
    let downtime = good_at.duration_since(down_since).as_millis() as u64;
    audit.record(
        "confirmed",
        &[
            ("sha256", fingerprint),
            ("downtime_ms", &downtime.to_string()),
        ],
    );
    Ok(Some(downtime))
}

/// Puts `backup_bytes` back as the keystore (same atomic procedure, through the keystore's directory, and
/// only while its name still holds the file `expected`: what icg-renew wrote or read last), with owner,
/// group and mode of `like`; restarts, and confirms `fingerprint`. Returns the downtime, counted from
/// `down_since` (a renewal's first restart) or else from this restart.
#[allow(clippy::too_many_arguments)]
fn restore(
    file: &KeystoreFile,
    expected: FileId,
    like: &FileMeta,
    backup_bytes: &[u8],
    confirm: &Confirm,
    fingerprint: &str,
    down_since: Option<Instant>,
    steps: &mut Steps<'_>,
    audit: &mut AuditLog,
) -> Result<Option<u64>> {
    steps.run("restore", |_| {
        let same = |back: &[u8]| {
            if back == backup_bytes {
                Ok(())
            } else {
                Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "the restored keystore for {} does not read back byte for byte",
                        file.path().shown()
                    ),
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
    // The restored certificate was served before; it may be the expired one being replaced, which a verifying
    // client refuses. Its confirmation is the fingerprint and check-status.
    let unverified = Confirm {
        anchor: None,
        ..confirm.clone()
    };
    restart_and_confirm(
        &unverified,
        fingerprint,
        "the restored certificate",
        down_since.unwrap_or_else(Instant::now),
        steps,
        audit,
    )
}

/// Restores a backup as the `rollback` command does: lock held by the caller; `current` is the keystore
/// file as it was read just before (only that file is replaced). The result holds the downtime (`None`
/// without restart or confirmation).
pub fn rollback(
    file: &KeystoreFile,
    current: &FileMeta,
    backup_bytes: &[u8],
    confirm: &Confirm,
    fingerprint: &str,
    observer: &mut dyn Observer,
    audit: &mut AuditLog,
) -> (Vec<Step>, Result<Option<u64>>) {
    let mut steps = Steps {
        done: Vec::new(),
        observer,
    };
    let outcome = restore(
        file,
        current.id,
        current,
        backup_bytes,
        confirm,
        fingerprint,
        None,
        &mut steps,
        audit,
    );
    (steps.done, outcome)
}

/// The exact commands an operator runs to put the backup back by hand, every word shell-quoted: the copy
/// only when the keystore on disk is not the backup already (a rollback that restored the file but could
/// not restart). The copy replaces the name rather than writing through it (`--remove-destination`), then
/// gives back the original owner, group and mode (`-h`: never through a link).
pub fn manual_restore_steps(
    backup: &std::path::Path,
    file: &KeystoreFile,
    original: &FileMeta,
    restart: &Restart,
) -> Vec<String> {
    let target = file.path();
    let backup_bytes =
        fsx::read_input(backup, crate::keystore::MAX_FILE_SIZE, "read the backup").ok();
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
    match restart {
        Restart::None => steps.push(
            "restart the ICG: systemctl restart icg-server.service (or /etc/init.d/tomcat restart)"
                .into(),
        ),
        other => steps.push(other.describe()),
    }
    steps.push(format!(
        "{} {}",
        crate::invocation::program(),
        shown::command(["--keystore".as_ref(), target.as_os_str(), "status".as_ref()])
    ));
    steps
}
