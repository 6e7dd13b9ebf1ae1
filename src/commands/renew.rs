//! `renew`: lock, checks, plan, confirmation and the transaction, then retention and the pending key.

use super::resolve::*;
use super::verify::{check_material, material_path};
use super::{Finished, Prompter};
use crate::cli::{self, GlobalArgs};
use icg_renew::audit::AuditLog;
use icg_renew::cert::Clock;
use icg_renew::checks;
use icg_renew::error::CommandError;
use icg_renew::error::{Error, ErrorKind, Result};
use icg_renew::install::Install;
use icg_renew::material::{KeySource, MaterialSource};
use icg_renew::renew::{Confirm, LockedKeystore, Renewal, Transaction};
use icg_renew::report::*;
use icg_renew::service::RestartPlan;
use icg_renew::shown::Shown;
use std::path::{Path, PathBuf};

/// A renewal as asked for, its options resolved into values: what `renew`, `inbox` and `demo` run.
#[derive(Debug, Clone)]
pub struct Request {
    /// The new material [default: chosen from the files found, when someone can be asked].
    pub new: Option<PathBuf>,
    pub material: MaterialSource,
    pub restart: RestartPlan,
    /// On failure after the rename, restore the backup (else leave the new keystore in place).
    pub rollback: bool,
    /// Where backups go [default: the keystore's own directory].
    pub backup_dir: Option<PathBuf>,
    /// Check and plan only.
    pub dry_run: bool,
    /// After success, keep this many backups of the keystore (0: all).
    pub keep_backups: usize,
}

impl Request {
    /// The `renew` options as values.
    pub(crate) fn from_args(args: &cli::RenewArgs) -> Request {
        Request {
            new: args.new.clone(),
            material: args.material.source(),
            restart: args.restart.plan(),
            rollback: !args.no_rollback,
            backup_dir: args.backups.backup_dir.clone(),
            dry_run: args.dry_run,
            keep_backups: args.backups.keep_backups,
        }
    }
}

pub(crate) fn run(
    global: &GlobalArgs,
    args: &Request,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "renew", prompter);
    let report = renew_install(&mut install, args, prompter, &mut audit, clock)?;
    Ok(Finished {
        exit_code: exit_code(report.result),
        output: Output::Renew(Box::new(report)),
    })
}

/// The exit code of a renewal's result.
pub(crate) fn exit_code(result: RenewResult) -> i32 {
    match result {
        RenewResult::Renewed | RenewResult::DryRun => 0,
        RenewResult::Incompatible => ErrorKind::Incompatible.exit_code(),
        RenewResult::RolledBack => ErrorKind::RolledBack.exit_code(),
        RenewResult::RollbackFailed => ErrorKind::RollbackFailed.exit_code(),
        // An error before the rename: nothing changed, whatever its kind (io, aborted, ...).
        RenewResult::Failed => ErrorKind::Io.exit_code(),
    }
}

/// The whole renewal of one installation: lock, checks, plan, questions, transaction.
pub(crate) fn renew_install(
    install: &mut Install,
    args: &Request,
    prompter: &mut dyn Prompter,
    audit: &mut AuditLog,
    clock: Clock,
) -> Result<RenewReport> {
    let keystore = LockedKeystore::open(&install.keystore)?;
    let backups_in = backup_dir(args.backup_dir.as_deref(), keystore.file())?;
    backups_in.check_private("the backup directory")?;
    let installed = load_installed(install, prompter, Some(keystore.file()))?;
    let new = material_path(args.new.as_deref(), prompter, install, &installed)?;
    let verified = check_material(install, &installed, &new, &args.material, prompter, clock)?;
    let confirm = Confirm::from_plan(&args.restart, install.port, Some(&installed.root))?;
    let plan = Plan {
        keystore: installed.path.clone(),
        format: installed.store.format.name(),
        protection: installed.store.protection(),
        alias: installed.alias.clone(),
        backup_dir: backups_in.path.clone(),
        restart: confirm.restart.clone(),
        health_check: confirm.health_check(),
        rollback: args.rollback,
        undo: undo_command(
            install,
            &args.restart,
            args.backup_dir.as_deref(),
            &audit.path,
        ),
    };
    let mut report = RenewReport {
        verify: verified.report,
        result: RenewResult::DryRun,
        keystore: installed.path.clone(),
        backup: None,
        steps: Vec::new(),
        downtime_ms: None,
        icg_status: IcgStatusPair::default(),
        error: None,
        kind: None,
        manual_steps: Vec::new(),
        plan,
    };
    // A dry run writes nothing, the audit log included.
    if !args.dry_run {
        audit_checks(audit, &installed.path, &new, &report.verify);
    }
    let Some(chain) = verified.verified_chain.filter(|_| report.verify.compatible) else {
        report.result = RenewResult::Incompatible;
        return Ok(report);
    };
    if args.dry_run {
        return Ok(report);
    }
    ask_before_changing(prompter, &report)?;
    // The key password must open the installed key, or the rewritten entry would not open either.
    installed_key(install, &installed)?;
    let new_key = verified
        .material
        .key
        .as_ref()
        .ok_or(Error::Command(CommandError::MaterialWithoutKey))?;
    let tx = Transaction {
        keystore: &keystore,
        backup_dir: &backups_in,
        confirm,
        keep_backups: args.keep_backups,
        direction: Renewal {
            installed: &installed,
            store_password: install.store_password()?,
            key_password: install.key_password()?,
            new_key,
            new_chain: &chain,
            rollback: args.rollback,
            pending_key: match &verified.material.key_source {
                KeySource::Pending(path, id) => Some((path.as_path(), *id)),
                _ => None,
            },
        },
    };
    icg_renew::interrupt::set_phase(icg_renew::interrupt::Phase::Renewing);
    let outcome = tx.run(prompter.observer(), audit, clock);
    for warning in &outcome.warnings {
        prompter.warn(warning);
    }
    report.result = outcome.result;
    report.backup = outcome.backup;
    report.steps = outcome.steps;
    report.downtime_ms = outcome.downtime_ms;
    report.icg_status = outcome.icg_status;
    report.kind = outcome.error.as_ref().map(|e| e.kind().name());
    report.error = outcome.error.map(|e| super::hint::message(&e));
    report.manual_steps = outcome.manual_steps;
    Ok(report)
}

/// The checks' verdict in the audit log, whatever follows.
fn audit_checks(audit: &mut AuditLog, keystore: &Path, new: &Path, verify: &VerifyReport) {
    audit.record(
        "checks",
        &[
            ("keystore", &keystore.shown().to_string()),
            (
                "material",
                &std::path::absolute(new)
                    .unwrap_or_else(|_| new.to_path_buf())
                    .shown()
                    .to_string(),
            ),
            ("old_sha256", &verify.current.sha256),
            ("new_sha256", &verify.new.sha256),
            ("compatible", if verify.compatible { "yes" } else { "no" }),
        ],
    );
}

/// The operator accepts the warnings, if any, and confirms the plan; else nothing changes.
fn ask_before_changing(prompter: &mut dyn Prompter, report: &RenewReport) -> Result<()> {
    if report
        .verify
        .checks
        .iter()
        .any(|c| c.status == checks::Status::Warn)
        && !prompter.accept_warnings(&report.verify)
    {
        return Err(Error::Command(CommandError::StoppedAtWarnings));
    }
    if !prompter.confirm_plan(&report.verify, &report.plan) {
        return Err(Error::Command(CommandError::NotConfirmed));
    }
    Ok(())
}
