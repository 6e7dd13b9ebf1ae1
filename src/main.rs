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
        ui::err_line(&format!(
            "icg-renew: internal error{place}; nothing more was changed. Please report this."
        ));
    }));
    icg_renew::interrupt::survive_file_size_limit();
    let args: Vec<OsString> = std::env::args_os().collect();
    let json = args.iter().any(|a| a == "--json");
    let is_status = subcommand_word(&args).is_some_and(|w| w == "status");
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
            if is_status && !json {
                ui::out(&format!(
                    "{}\n",
                    icg_renew::monitoring::unknown_line(
                        "bad arguments; see icg-renew status --help"
                    )
                ));
            }
            if json {
                let message = e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("usage error")
                    .trim_start_matches("error: ")
                    .to_string();
                ui::out(&format!("{}\n", ui::json_error(&Error::usage(message))));
            } else {
                let _ = e.print();
            }
            std::process::exit(if is_status { STATUS_UNKNOWN } else { 2 });
        }
    };
    let is_status = matches!(cli.command, icg_renew::cli::Command::Status(_));
    let json = cli.global.json;
    use std::io::IsTerminal;
    let interactive = !json
        && !cli.global.yes
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || json {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let mut prompter: Box<dyn app::Prompter> = if interactive {
        Box::new(ui::terminal::Terminal::default())
    } else {
        Box::new(ui::Plain(renew::Silent))
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app::run(cli, prompter.as_mut(), Clock::system())
    }));
    let code = match outcome {
        Ok(Ok(finished)) => {
            if json {
                ui::out(&format!("{}\n", ui::json(&finished.output)));
            } else {
                let text = if interactive {
                    ui::human::render_after_prompts(&finished.output)
                } else {
                    ui::human::render(&finished.output)
                };
                ui::out(&text);
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

/// The command word of an argument list that clap could not parse: the first argument that is neither an
/// option nor the value of a global option that takes one.
fn subcommand_word(args: &[OsString]) -> Option<&OsString> {
    const TAKES_VALUE: [&str; 5] = [
        "--icg-root",
        "--config",
        "--keystore",
        "--store-password-file",
        "--log-file",
    ];
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        if TAKES_VALUE.contains(&text.as_ref()) {
            rest.next();
        } else if !text.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

fn report_error(error: &Error, json: bool, is_status: bool) -> i32 {
    if json {
        ui::out(&format!("{}\n", ui::json_error(error)));
    } else if is_status {
        // A monitoring system shows the first line of stdout as the service's status.
        ui::out(&format!(
            "{}\n",
            icg_renew::monitoring::unknown_line(&error.message)
        ));
    }
    ui::err_line(&format!("icg-renew: {}", error.message));
    if is_status {
        STATUS_UNKNOWN
    } else {
        error.kind.exit_code()
    }
}
