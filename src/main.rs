//! The icg-renew binary: parse the arguments, call the library, print, exit with the contract's code.

mod cli;
mod commands;
mod ui;

use clap::{CommandFactory, Parser};
use cli::Cli;
use icg_renew::error::CommandError;
use icg_renew::error::Error;
use icg_renew::renew;
use icg_renew::utc::Clock;
use std::ffi::OsString;

/// `status` answers in the monitoring-plugin convention: anything that stops it is UNKNOWN.
const STATUS_UNKNOWN: i32 = 3;

fn main() {
    guard_the_process();
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => std::process::exit(refuse_arguments(&e, &args)),
    };
    let is_status = matches!(cli.command, cli::Command::Status(_));
    let json = cli.global.json;
    use std::io::IsTerminal;
    let interactive = !json
        && !cli.global.yes
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    set_up_the_terminal(json);
    let mut prompter: Box<dyn ui::prompts::Prompter> = if interactive {
        ui::terminal::announce_interruptions_around_spinners();
        Box::new(ui::terminal::Terminal::default())
    } else {
        Box::new(ui::prompts::Plain(renew::Silent))
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        commands::run(cli, prompter.as_mut(), Clock::system())
    }));
    let code = match outcome {
        Ok(Ok(finished)) => {
            print_answer(&finished.output, json, interactive);
            say_why_nothing_was_replaced(&finished.output, json, interactive);
            finished.exit_code
        }
        Ok(Err(error)) => report_error(&error, json, is_status),
        Err(_) => report_error(&Error::Command(CommandError::Internal), json, is_status),
    };
    std::process::exit(code);
}

/// No core dumps, a panic reported in one line, a file-size limit survived, and signals watched.
fn guard_the_process() {
    icg_renew::secret::forbid_core_dumps();
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
    icg_renew::interrupt::watch();
}

/// Arguments clap could not parse (or `--help`, `--version`): prints what the contract says and returns the
/// exit code (0 for help and version, 3 for `status`, else 2).
fn refuse_arguments(e: &clap::Error, args: &[OsString]) -> i32 {
    let json = args.iter().any(|a| a == "--json");
    let is_status = subcommand_word(args).is_some_and(|w| w == "status");
    use clap::error::ErrorKind as Clap;
    if matches!(
        e.kind(),
        Clap::DisplayHelp | Clap::DisplayVersion | Clap::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == Clap::DisplayHelpOnMissingArgumentOrSubcommand {
            2
        } else {
            0
        };
    }
    if is_status && !json {
        ui::out(&format!(
            "{}\n",
            icg_renew::monitoring::unknown_line("bad arguments; see icg-renew status --help")
        ));
    }
    if json {
        let what = e
            .to_string()
            .lines()
            .next()
            .unwrap_or("usage error")
            .trim_start_matches("error: ")
            .to_string();
        let error = Error::Command(CommandError::BadArguments { what });
        ui::out(&format!(
            "{}\n",
            ui::json_error(&commands::hint::message(&error), error.kind())
        ));
    } else {
        let _ = e.print();
    }
    if is_status {
        STATUS_UNKNOWN
    } else {
        2
    }
}

/// Colours off for `NO_COLOR` and JSON; text wrapped to the terminal's width when there is one.
fn set_up_the_terminal(json: bool) {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || json {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    if !json {
        // Only a terminal has a width; text for a pipe or file is not wrapped.
        ui::layout::fit_to(
            console::Term::stdout()
                .size_checked()
                .map(|(_, columns)| usize::from(columns)),
        );
    }
}

/// A command's answer on stdout: JSON, or the human text (shorter after the prompts showed most of it).
fn print_answer(output: &icg_renew::report::Output, json: bool, interactive: bool) {
    if json {
        ui::out(&format!("{}\n", ui::json(output)));
    } else {
        let text = if interactive {
            ui::human::render_after_prompts(output)
        } else {
            ui::human::render(output)
        };
        ui::out(&ui::layout::fit(&text));
    }
}

/// A renewal that failed before the rename answers with its report (result `failed`), and its error goes to
/// stderr as any error's does, for scripts and logs that read it there, except where it was shown already:
/// in the steps on a terminal (live, or in the report on stdout).
fn say_why_nothing_was_replaced(output: &icg_renew::report::Output, json: bool, interactive: bool) {
    use icg_renew::report::{Output, RenewResult};
    use std::io::IsTerminal;
    let Output::Renew(report) = output else {
        return;
    };
    let shown = interactive || (!json && std::io::stdout().is_terminal());
    if let (RenewResult::Failed, Some(error), false) = (report.result, &report.error, shown) {
        let line = ui::layout::fit(&format!("icg-renew: {error}\n"));
        ui::err_line(line.trim_end());
    }
}

/// The command word of an argument list that clap could not parse: the first argument that is neither an
/// option nor the value of an option that takes one.
fn subcommand_word(args: &[OsString]) -> Option<&OsString> {
    let takes_value = options_taking_a_value();
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        if takes_value.iter().any(|option| *option == text) {
            rest.next();
        } else if !text.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

/// The options that may stand before the command word and take a separate value (`--log-file FILE`), as the
/// clap definitions in `cli.rs` declare them.
fn options_taking_a_value() -> Vec<String> {
    let mut command = Cli::command();
    command.build();
    command
        .get_arguments()
        .filter(|arg| arg.get_action().takes_values())
        .flat_map(|arg| {
            let long = arg.get_long().map(|name| format!("--{name}"));
            let short = arg.get_short().map(|name| format!("-{name}"));
            long.into_iter().chain(short)
        })
        .collect()
}

fn report_error(error: &Error, json: bool, is_status: bool) -> i32 {
    let message = commands::hint::message(error);
    if json {
        ui::out(&format!(
            "{}\n",
            ui::json_error(&commands::hint::message(error), error.kind())
        ));
    } else if is_status {
        // A monitoring system shows the first line of stdout as the service's status (on a terminal, the
        // message is shown only there).
        ui::out(&format!(
            "{}\n",
            icg_renew::monitoring::unknown_line(&message)
        ));
    }
    use std::io::IsTerminal;
    if json || !is_status || !std::io::stdout().is_terminal() {
        let line = ui::layout::fit(&format!("icg-renew: {message}\n"));
        ui::err_line(line.trim_end());
    }
    if is_status {
        STATUS_UNKNOWN
    } else {
        error.kind().exit_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    /// For every option of the top-level command, the word `subcommand_word` takes for the command is the one
    /// clap takes: `OPTION x status` is the command `status` exactly when OPTION consumes `x` as its value.
    #[test]
    fn the_command_word_is_found_as_clap_finds_it() {
        let mut command = Cli::command();
        command.build();
        let mut seen = 0;
        for arg in command.get_arguments() {
            let names = arg
                .get_long()
                .map(|name| format!("--{name}"))
                .into_iter()
                .chain(arg.get_short().map(|name| format!("-{name}")));
            for name in names {
                let line = args(&["icg-renew", &name, "x", "status"]);
                let clap_took_status = Cli::try_parse_from(&line).is_ok();
                let word = subcommand_word(&line).map(|w| w.to_string_lossy().into_owned());
                assert_eq!(
                    word.as_deref() == Some("status"),
                    clap_took_status,
                    "{name}: subcommand_word found {word:?}"
                );
                seen += 1;
            }
        }
        assert!(seen >= 9, "only {seen} options looked at");
    }

    #[test]
    fn the_global_options_with_a_value_are_derived() {
        let options = options_taking_a_value();
        for expected in [
            "--icg-root",
            "--config",
            "--keystore",
            "--store-password-file",
            "--log-file",
        ] {
            assert!(
                options.iter().any(|o| o == expected),
                "{expected} missing from {options:?}"
            );
        }
        for flag in ["--json", "--yes", "-y", "--help", "--version"] {
            assert!(!options.iter().any(|o| o == flag), "{flag} takes no value");
        }
    }

    /// `scheduled --run-due --now TIME` exists only in test builds (the `failpoints` feature); a release
    /// binary refuses `--now` as a usage error (scripts/install-test runs the packaged binary with it).
    #[test]
    fn now_of_run_due_exists_only_in_test_builds() {
        let line = args(&[
            "icg-renew",
            "scheduled",
            "--run-due",
            "--now",
            "2026-12-07T02:30:00Z",
        ]);
        let parsed = Cli::try_parse_from(&line);
        assert_eq!(parsed.is_ok(), cfg!(feature = "failpoints"));
        if let Err(e) = parsed {
            assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
            assert_eq!(refuse_arguments(&e, &line), 2);
        }
    }

    #[test]
    fn the_command_word_skips_values_that_look_like_commands() {
        let line = args(&[
            "icg-renew",
            "--json",
            "--config",
            "status",
            "-y",
            "--log-file",
            "renew",
            "verify",
            "--bad",
        ]);
        assert_eq!(subcommand_word(&line), Some(&OsString::from("verify")));
        assert_eq!(subcommand_word(&args(&["icg-renew", "--json"])), None);
    }
}
