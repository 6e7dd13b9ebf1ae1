//! `sandbox`: a throwaway ICG installation to try every command on.

use super::Finished;
use crate::cert::Clock;
use crate::cli::{self};
use crate::error::Result;
use crate::report::*;
use crate::sandbox;

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
