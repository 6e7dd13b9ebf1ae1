//! `sandbox`: a throwaway ICG installation to try every command on.

use super::Finished;
use crate::cli::{self};
use crate::ui::prompts::Prompter;
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

/// What a person sees while the sandbox is made (a few seconds: RSA keys, certificates, keystores).
pub(crate) const MAKING: &str = "Making the sandbox: keys, certificates and keystores";

pub(crate) fn run(
    args: &cli::SandboxArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    prompter.busy(Some(MAKING));
    let made = sandbox::create(
        &args.dir,
        args.format == cli::SandboxFormat::Pkcs12,
        args.port,
        clock.now,
    );
    prompter.busy(None);
    let made = made?;
    Ok(Finished {
        output: Output::Sandbox(sandbox_report(&made)),
        exit_code: 0,
    })
}
