//! `demo`: a sandbox in a private temporary directory and a complete renewal in it.

use super::renew::{renew_install, Request};
use super::resolve::*;
use super::sandbox::sandbox_report;
use super::status::status_report;
use super::Finished;
use crate::cli::GlobalArgs;
use crate::ui::prompts::{Defaults, Prompter};
use icg_renew::audit::AuditLog;
use icg_renew::error::{Error, Result};
use icg_renew::install::Locate;
use icg_renew::installed::Installed;
use icg_renew::material::MaterialSource;
use icg_renew::monitoring::{DEFAULT_CRIT_DAYS, DEFAULT_WARN_DAYS};
use icg_renew::renew;
use icg_renew::report::*;
use icg_renew::sandbox;
use icg_renew::service::RestartPlan;
use icg_renew::utc::Clock;
use std::path::Path;

/// `demo`: a sandbox in a temp dir and a complete renewal in it, restart and confirmation skipped.
pub(crate) fn run(keep: bool, prompter: &mut dyn Prompter, clock: Clock) -> Result<Finished> {
    use std::os::unix::fs::PermissionsExt;
    // A new directory, private to this user (tempfile's default mode follows the umask), removed when dropped
    // unless kept.
    let dir = tempfile::Builder::new()
        .prefix("icg-renew-demo-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| Error::io("create a directory in", &std::env::temp_dir(), &e))?;
    let result = demo_in(dir.path(), keep, prompter, clock);
    prompter.busy(None);
    if keep {
        let _ = dir.keep();
    }
    result
}

/// The demo in `dir`; `prompter` only shows what is being done (the renewal inside asks nothing).
pub(crate) fn demo_in(
    dir: &Path,
    keep: bool,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    prompter.busy(Some(super::sandbox::MAKING));
    let made = sandbox::create(dir, false, icg_renew::install::DEFAULT_PORT, clock.now)?;
    prompter.busy(Some(
        "Renewing in the sandbox: checks, backup, new keystore, read back",
    ));
    let located = Locate {
        icg_root: Some(made.root.clone()),
        ..locate(&GlobalArgs::default())
    };
    let log_file = made.root.join("icg-renew.log");
    let mut install = resolve_located(&located, &mut Defaults(renew::Silent))?;
    let before = status_report(
        &Installed::load(&install, None)?,
        DEFAULT_WARN_DAYS,
        DEFAULT_CRIT_DAYS,
        clock,
    );
    let args = Request {
        new: Some(made.new_material.clone()),
        material: MaterialSource::default(),
        restart: RestartPlan::none(),
        rollback: true,
        backup_dir: None,
        dry_run: false,
        keep_backups: icg_renew::retention::DEFAULT_KEEP,
    };
    let mut audit = AuditLog::open(&log_file, "demo");
    let renew = renew_install(
        &mut install,
        &args,
        &mut Defaults(renew::Silent),
        &mut audit,
        clock,
        None,
    )?;
    let after = status_report(
        &Installed::load(&install, None)?,
        DEFAULT_WARN_DAYS,
        DEFAULT_CRIT_DAYS,
        clock,
    );
    let exit_code = if renew.result == RenewResult::Renewed {
        0
    } else {
        1
    };
    Ok(Finished {
        output: Output::Demo(Box::new(DemoReport {
            sandbox: sandbox_report(&made),
            before,
            renew,
            after,
            kept: keep,
        })),
        exit_code,
    })
}
