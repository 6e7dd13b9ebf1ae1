//! The icg-renew binary: parse the arguments, call the library, print, exit with the contract's code.

use clap::Parser;
use icg_renew::app;
use icg_renew::cert::Clock;
use icg_renew::cli::Cli;
use icg_renew::error::{Error, ErrorKind};
use icg_renew::{renew, ui};
use std::ffi::OsString;

/// `status` answers in the monitoring-plugin convention: anything that stops it is UNKNOWN.
const STATUS_UNKNOWN: i32 = 3;

fn main() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "icg-renew: internal error{place}; nothing more was changed. Please report this."
        );
    }));
    let args: Vec<OsString> = std::env::args_os().collect();
    let json = args.iter().any(|a| a == "--json");
    let is_status = args.iter().skip(1).any(|a| a == "status");
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as Clap;
            if matches!(
                e.kind(),
                Clap::DisplayHelp
                    | Clap::DisplayVersion
                    | Clap::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(
                    if e.kind() == Clap::DisplayHelpOnMissingArgumentOrSubcommand {
                        2
                    } else {
                        0
                    },
                );
            }
            if json {
                let message = e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("usage error")
                    .trim_start_matches("error: ")
                    .to_string();
                println!("{}", ui::json_error(&Error::usage(message)));
            } else {
                let _ = e.print();
            }
            std::process::exit(if is_status { STATUS_UNKNOWN } else { 2 });
        }
    };
    let is_status = matches!(cli.command, icg_renew::cli::Command::Status(_));
    let json = cli.global.json;
    let mut prompter = ui::Plain(renew::Silent);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app::run(cli, &mut prompter, Clock::system())
    }));
    let code = match outcome {
        Ok(Ok(finished)) => {
            if json {
                println!("{}", ui::json(&finished.output));
            } else {
                print!("{}", ui::human::render(&finished.output));
            }
            finished.exit_code
        }
        Ok(Err(error)) => report_error(&error, json, is_status),
        Err(_) => report_error(
            &Error::new(ErrorKind::Io, "internal error; see the message above"),
            json,
            is_status,
        ),
    };
    std::process::exit(code);
}

fn report_error(error: &Error, json: bool, is_status: bool) -> i32 {
    if json {
        println!("{}", ui::json_error(error));
    }
    eprintln!("icg-renew: {}", error.message);
    if is_status {
        STATUS_UNKNOWN
    } else {
        error.kind.exit_code()
    }
}
