//! The commands: each turns its arguments into values (installation, material, plan), calls the library,
//! and returns what to show and the exit code. Asks the operator only through `Prompter`, so the same code
//! runs interactively, under `--yes` and under `--json`.

pub(crate) mod backups;
pub(crate) mod csr;
pub(crate) mod demo;
pub mod hint;
pub(crate) mod inbox;
pub(crate) mod renew;
pub(crate) mod resolve;
pub(crate) mod rollback;
pub(crate) mod sandbox;
pub(crate) mod scheduled;
pub(crate) mod status;
pub(crate) mod verify;

use crate::cli::{Cli, Command};
use crate::ui::prompts::Prompter;
use icg_renew::error::Result;
use icg_renew::report::Output;
use icg_renew::utc::Clock;

/// A command's answer and its exit code.
#[derive(Debug)]
pub struct Finished {
    pub output: Output,
    pub exit_code: i32,
}

/// Runs the parsed command line; an unattended renewal that did not renew is told to the site's notify
/// script.
pub fn run(cli: Cli, prompter: &mut dyn Prompter, clock: Clock) -> Result<Finished> {
    let unattended = match &cli.command {
        Command::Renew(args) if args.from_hook => Some("renew"),
        Command::Inbox(_) => Some("inbox"),
        Command::Scheduled(args) if args.run_due => Some("scheduled"),
        _ => None,
    };
    let global = cli.global.clone();
    let finished = dispatch(cli, prompter, clock);
    if let Some(command) = unattended {
        notify_unless_renewed(&global, command, &finished, prompter);
    }
    finished
}

/// Runs the site's notify script ([`icg_renew::notify`]) for an unattended run that ended in anything but
/// `renewed` or `scheduled`; what became of it is in the audit log, and a warning when nobody heard.
fn notify_unless_renewed(
    global: &crate::cli::GlobalArgs,
    command: &str,
    finished: &Result<Finished>,
    prompter: &mut dyn Prompter,
) {
    let word = result_word;
    let no_keystore = global.keystore.clone().unwrap_or_default();
    let (result, keystore, json) = match finished {
        Ok(Finished {
            output: Output::Renew(r),
            ..
        }) => (word(r.result), r.keystore.clone(), None),
        Ok(Finished {
            output: Output::Inbox(r),
            ..
        }) => match (&r.renew, &r.error) {
            (Some(renewed), _) => (word(renewed.result), renewed.keystore.clone(), None),
            (None, Some(_)) => ("error".to_string(), no_keystore, None),
            // Nothing was ready, or it was scheduled: nothing anyone needs to hear of.
            (None, None) => return,
        },
        Ok(Finished {
            output: Output::Scheduled(r),
            ..
        }) => match r
            .ran
            .iter()
            .find(|ran| ran.result != "renewed" && ran.result != "waiting")
        {
            Some(ran) => (
                ran.result.clone(),
                ran.renew
                    .as_ref()
                    .map(|renew| renew.keystore.clone())
                    .unwrap_or(no_keystore),
                None,
            ),
            None => return,
        },
        Ok(_) => return,
        Err(e) => (
            "error".to_string(),
            no_keystore,
            Some(crate::ui::json_error(&hint::message(e), e.kind())),
        ),
    };
    if result == "renewed" || result == "scheduled" {
        return;
    }
    let json = match (json, finished) {
        (Some(json), _) => json,
        (None, Ok(f)) => crate::ui::json(&f.output),
        (None, Err(_)) => return,
    };
    let mut audit = resolve::open_audit(global, command, prompter);
    let notice = icg_renew::notify::Notice {
        result: &result,
        keystore: &keystore,
        json: &json,
    };
    let sent = icg_renew::notify::send(&notice, &mut audit);
    if let Some(warning) = sent.warning(&icg_renew::notify::script_path()) {
        prompter.warn(&warning);
    }
}

/// The result word of a renewal, as the JSON has it (`rolled-back`).
fn result_word(result: icg_renew::report::RenewResult) -> String {
    serde_json::to_value(result)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn dispatch(cli: Cli, prompter: &mut dyn Prompter, clock: Clock) -> Result<Finished> {
    let global = &cli.global;
    match cli.command {
        Command::Status(args) => status::run(global, &args, prompter, clock),
        Command::Verify(args) => verify::run(
            global,
            args.new.as_deref(),
            &args.material.source(),
            prompter,
            clock,
        ),
        Command::Renew(mut args) => {
            if args.from_hook {
                let found = icg_renew::hook::from_environment()?;
                args.new = Some(found.new);
                args.material.key = found.key;
            }
            if let Some(when) = args.at.clone() {
                let how = if args.from_hook {
                    "renew --from-hook --at"
                } else {
                    "renew --at"
                };
                return scheduled::schedule(global, &args, how, &when, prompter, clock);
            }
            renew::run(global, &args, prompter, clock)
        }
        Command::Rollback(args) => rollback::run(global, &args, prompter, clock),
        Command::Backups(args) => backups::run(
            global,
            args.backup_dir.as_deref(),
            args.keep_backups,
            prompter,
            clock,
        ),
        Command::Sandbox(args) => sandbox::run(&args, prompter, clock),
        Command::Demo(args) => demo::run(args.keep, prompter, clock),
        Command::Csr(args) => csr::run(global, &args, prompter, clock),
        Command::Inbox(args) => inbox::run(global, &args, prompter, clock),
        Command::Scheduled(args) => scheduled::run(global, &args, prompter, clock),
    }
}
