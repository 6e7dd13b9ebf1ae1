//! `renew`: lock, checks, plan, confirmation and the transaction, then retention and the pending key.

use super::resolve::*;
use super::verify::{check_material, material_path};
use super::Finished;
use crate::cli::{self, GlobalArgs};
use crate::ui::prompts::Prompter;
use icg_renew::audit::AuditLog;
use icg_renew::checks;
use icg_renew::error::{CommandError, Error, ErrorKind, Result, TransactionError};
use icg_renew::install::Install;
use icg_renew::material::{KeySource, MaterialSource};
use icg_renew::renew::{Confirm, LockedKeystore, Renewal, Transaction};
use icg_renew::report::*;
use icg_renew::secret::Password;
use icg_renew::service::{Restart, RestartPlan};
use icg_renew::shown::Shown;
use icg_renew::utc::{Clock, UnixTime};
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

/// What a person typed and chose on the way through the checks, for a renewal kept for later.
#[derive(Default)]
pub(crate) struct Asked {
    /// The time chosen at "Renew now, or at a time you choose?" (asked only when not a dry run).
    pub(crate) later: Option<UnixTime>,
    /// The new material's password, when it was typed (a scheduled run has no one to type it).
    pub(crate) typed_password: Option<Password>,
    /// The keystore password was typed: a scheduled run could not open the keystore.
    pub(crate) typed_store_password: bool,
}

/// `renew` without `--at`: on a terminal, once the checks pass, the operator may choose a time instead of
/// now; that renewal is then kept exactly as `renew --at` keeps it.
pub(crate) fn run(
    global: &GlobalArgs,
    args: &cli::RenewArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let request = Request::from_args(args);
    let mut install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "renew", prompter);
    let mut asked = Asked::default();
    let report = renew_install(
        &mut install,
        &request,
        prompter,
        &mut audit,
        clock,
        Some(&mut asked),
    )?;
    if let Some(at) = asked.later {
        let kept = super::scheduled::Keep {
            dir: &args.spool.schedule_dir,
            how: "renew, at a time chosen on the terminal",
            command: "renew",
            at,
        };
        return super::scheduled::keep(
            global,
            &request,
            &kept,
            &report,
            asked.typed_password.as_ref(),
            prompter,
            clock,
        );
    }
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

/// The whole renewal of one installation: lock, checks, plan, questions, transaction. With `asked`, the
/// passwords typed on the way are noted there and (not in a dry run) a person is asked whether to renew now
/// or at a time they choose; a chosen time is put there, and the report comes back as checked (a dry run's),
/// nothing changed.
pub(crate) fn renew_install(
    install: &mut Install,
    args: &Request,
    prompter: &mut dyn Prompter,
    audit: &mut AuditLog,
    clock: Clock,
    mut asked: Option<&mut Asked>,
) -> Result<RenewReport> {
    let keystore = LockedKeystore::open(&install.keystore)?;
    let restart = restart_before_questions(&args.restart, args.dry_run)?;
    let backups_in = backup_dir(args.backup_dir.as_deref(), keystore.file())?;
    backups_in.check_private("the backup directory")?;
    let installed = load_installed(install, prompter, Some(keystore.file()))?;
    let new = material_path(args.new.as_deref(), prompter, install, &installed)?;
    let mut verified = check_material(install, &installed, &new, &args.material, prompter, clock)?;
    if let Some(asked) = asked.as_mut() {
        asked.typed_password = verified.typed_password.take();
        asked.typed_store_password = matches!(
            install.store_password,
            Some((_, icg_renew::install::PasswordSource::Prompt))
        );
    }
    let confirm = Confirm::from_plan(&args.restart, restart, install.port, Some(&installed.root));
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
        if let Restart::Undetected { .. } = &report.plan.restart {
            let stop = super::hint::message(&report.plan.restart.undetected_error());
            prompter.warn(&format!(
                "a renewal would stop before its first question: {stop}"
            ));
        }
        return Ok(report);
    }
    accept_warnings(prompter, &report)?;
    // Only when a scheduled run could open the keystore as this one did: not with a typed password.
    if let Some(asked) = asked.filter(|a| !a.typed_store_password) {
        match prompter.renew_when(clock.now) {
            None => return Err(Error::Command(CommandError::NotConfirmed)),
            Some(crate::ui::prompts::When::At(at)) => {
                asked.later = Some(at);
                return Ok(report);
            }
            Some(crate::ui::prompts::When::Now) => {}
        }
    }
    if !prompter.confirm_plan(&report.verify, &report.plan) {
        return Err(Error::Command(CommandError::NotConfirmed));
    }
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

/// How the ICG is restarted, decided before any question is asked: an operator must not answer them all to
/// learn that it cannot be done. A dry run, which restarts nothing, keeps an undetected method for its plan
/// (and a warning) instead of stopping.
fn restart_before_questions(plan: &RestartPlan, dry_run: bool) -> Result<Restart> {
    match plan.restart() {
        Err(Error::Transaction(TransactionError::NoRestartMethod { unit, script })) if dry_run => {
            Ok(Restart::Undetected { unit, script })
        }
        chosen => chosen,
    }
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

/// The operator accepts the warnings, if any; else nothing changes.
fn accept_warnings(prompter: &mut dyn Prompter, report: &RenewReport) -> Result<()> {
    if report
        .verify
        .checks
        .iter()
        .any(|c| c.status == checks::Status::Warn)
        && !prompter.accept_warnings(&report.verify)
    {
        return Err(Error::Command(CommandError::StoppedAtWarnings));
    }
    Ok(())
}
