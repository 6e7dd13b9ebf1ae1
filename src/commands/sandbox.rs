//! `sandbox`: a throwaway ICG installation to try every command on.

use super::Finished;
use crate::cli::{self};
use icg_renew::error::Result;
use icg_renew::report::*;
use icg_renew::sandbox;
use icg_renew::utc::Clock;

pub(crate) fn sandbox_report(made: &sandbox::Sandbox) -> SandboxReport {
    SandboxReport {
        root: made.root.clone(),
        config: made.config.clone(),
        keystore: made.keystore.clone(),
        new_material: made.new_material.clone(),
        files: made.files.clone(),
        commands: made.commands(),
    }
}

pub(crate) fn run(args: &cli::SandboxArgs, clock: Clock) -> Result<Finished> {
    let made = sandbox::create(
        &args.dir,
        args.format == cli::SandboxFormat::Pkcs12,
        args.port,
        clock.now,
    )?;
    Ok(Finished {
        output: Output::Sandbox(sandbox_report(&made)),
        exit_code: 0,
    })
}
