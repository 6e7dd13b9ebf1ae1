//! `demo`: a sandbox in a private temporary directory and a complete renewal in it.

use super::renew::renew_install;
use super::resolve::*;
use super::sandbox::sandbox_report;
use super::status::status_report;
use super::{Defaults, Finished};
use crate::audit::AuditLog;
use crate::cert::Clock;
use crate::cli::{self, GlobalArgs, MaterialArgs, RestartArgs, RestartMode};
use crate::error::{Error, Result};
use crate::installed::Installed;
use crate::renew::{self};
use crate::report::*;
use crate::sandbox;
use std::path::Path;

/// `demo`: a sandbox in a temp dir and a complete renewal in it, restart and confirmation skipped.
pub(crate) fn run(global: &GlobalArgs, keep: bool, clock: Clock) -> Result<Finished> {
    use std::os::unix::fs::PermissionsExt;
    // A new directory, private to this user (tempfile's default mode follows the umask), removed when dropped
    // unless kept.
    let dir = tempfile::Builder::new()
        .prefix("icg-renew-demo-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| Error::io("create a directory in", &std::env::temp_dir(), &e))?;
    let result = demo_in(dir.path(), global, keep, clock);
    if keep {
        let _ = dir.keep();
    }
    result
}

pub(crate) fn demo_in(
    dir: &Path,
    global: &GlobalArgs,
    keep: bool,
    clock: Clock,
) -> Result<Finished> {
    let made = sandbox::create(dir, false, crate::install::DEFAULT_PORT, clock.now)?;
    let sandbox_global = GlobalArgs {
        icg_root: Some(made.root.clone()),
        json: global.json,
        yes: true,
        log_file: made.root.join("icg-renew.log"),
        ..GlobalArgs::default()
    };
    let mut install = resolve(&sandbox_global, &mut Defaults(renew::Silent))?;
    let before = status_report(&Installed::load(&install, None)?, 30, 7, clock);
    let args = cli::RenewArgs {
        new: Some(made.new_material.clone()),
        material: MaterialArgs::default(),
        restart: RestartArgs {
            restart: RestartMode::None,
            service: "icg-server.service".into(),
            restart_command: None,
            health_timeout: 120,
            no_health_check: true,
        },
        from_hook: false,
        no_rollback: false,
        backup_dir: None,
        dry_run: false,
        keep_backups: crate::retention::DEFAULT_KEEP,
    };
    let mut audit = AuditLog::open(&sandbox_global.log_file, "demo");
    let renew = renew_install(
        &mut install,
        &args,
        &mut Defaults(renew::Silent),
        &mut audit,
        clock,
    )?;
    let after = status_report(&Installed::load(&install, None)?, 30, 7, clock);
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
