//! Writes the man pages and shell completions of icg-renew from its clap definitions, so that they always
//! match the binary and nothing of this ends up in the binary itself:
//!
//! ```sh
//! cargo run --example gen-docs -- OUTDIR
//! ```
//!
//! OUTDIR/man/icg-renew.1 and one page per command (icg-renew-renew.1, ...), and
//! OUTDIR/completions/{icg-renew.bash,_icg-renew,icg-renew.fish}. `scripts/package` runs it. The main page
//! also gets the sections clap does not know: exit status, environment and files.

// The binary's own clap definitions, compiled in here too: they live in the binary, not the library, and
// depend only on clap and the library. Their conversions into library values are the binary's business.
#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use clap::CommandFactory;
use clap_complete::Shell;
use cli::Cli;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: gen-docs OUTDIR");
        return ExitCode::from(2);
    };
    match generate(Path::new(&out)) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-docs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(out: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();

    let man = out.join("man");
    std::fs::create_dir_all(&man)?;
    clap_mangen::generate_to(Cli::command(), &man)?;
    let main_page = man.join("icg-renew.1");
    let mut page = Vec::new();
    // The main page's exit codes are its EXIT STATUS section below, not the --help text's copy of them.
    let main_command = Cli::command()
        .disable_help_subcommand(true)
        .after_help(None::<&str>);
    clap_mangen::Man::new(main_command).render(&mut page)?;
    page.extend_from_slice(EXTRA_SECTIONS.as_bytes());
    std::fs::write(&main_page, page)?;
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&man)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    pages.sort();
    let values = value_names(&Cli::command());
    for path in &pages {
        let text = std::fs::read_to_string(path)?;
        std::fs::write(path, polish(&text, &values))?;
    }
    written.extend(pages);

    let completions = out.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = Cli::command();
        written.push(clap_complete::generate_to(
            shell,
            &mut cmd,
            "icg-renew",
            &completions,
        )?);
    }
    Ok(written)
}

/// Every long option that takes a value, with its value name, over all commands (`--restart` gets its
/// possible values).
fn value_names(cmd: &clap::Command) -> Vec<(String, String)> {
    let mut names = Vec::new();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if !arg.get_action().takes_values() {
            continue;
        }
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        let value = if !possible.is_empty() {
            possible.join("|")
        } else {
            arg.get_value_names()
                .and_then(|v| v.first())
                .map_or_else(|| "VALUE".to_string(), |v| v.to_string())
        };
        names.push((long.to_string(), value));
    }
    for sub in cmd.get_subcommands() {
        names.extend(value_names(sub));
    }
    names.sort();
    names.dedup();
    names
}

/// clap_mangen's pages with two things fixed: the synopsis shows each option's value (`[--icg-root DIR]`,
/// not `[--icg-root]`), and the `after_help` text gets a real section name instead of "EXTRA".
fn polish(page: &str, values: &[(String, String)]) -> String {
    let roff = |text: &str| text.replace('-', "\\-");
    let mut page = page.replace(".SH EXTRA", ".SH \"GETTING STARTED\"");
    for (long, value) in values {
        page = page.replace(
            &format!("[\\fB\\-\\-{}\\fR]", roff(long)),
            &format!("[\\fB\\-\\-{}\\fR \\fI{}\\fR]", roff(long), roff(value)),
        );
    }
    page
}

/// Sections of icg-renew(1) beyond the clap definitions (`docs/cli.md`, packaging/).
const EXTRA_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success.
.TP
\fB1\fR
Error (unreadable or corrupt input, wrong password, I/O, keystore locked by another icg-renew); nothing was
changed.
.TP
\fB2\fR
Usage error.
.TP
\fB3\fR
Incompatible: the new material failed at least one compatibility check; nothing was changed.
.TP
\fB4\fR
The renewal failed after the keystore was changed; the backup was restored, the ICG restarted and (unless
\fB\-\-no\-health\-check\fR) confirmed to serve the old certificate again.
.TP
\fB5\fR
The renewal failed and the rollback failed too, or failed under \fB\-\-no\-rollback\fR; the message says
exactly what to do by hand.
.PP
\fBstatus\fR follows the monitoring-plugin convention instead: 0 OK, 1 WARNING (expires within
\fB\-\-warn\-days\fR), 2 CRITICAL (within \fB\-\-crit\-days\fR, or expired), 3 UNKNOWN (cannot be read).
.SH ENVIRONMENT
.TP
\fBICG_ROOT\fR
ICG installation root, as \fB\-\-icg\-root\fR.
.TP
\fBICG_RENEW_STORE_PASSWORD\fR
Keystore password when \fB\-\-store\-password\-file\fR is not given.
.TP
\fBICG_RENEW_NEW_PASSWORD\fR
Password of the new material when \fB\-\-new\-password\-file\fR is not given.
.TP
\fBNO_COLOR\fR
When set and not empty, no colours.
.PP
Passwords are never taken from the command line.
.SH FILES
.TP
\fI/opt/IGEL/icg/usg/conf/application-prod.yml\fR
The ICG configuration: keystore path, type, alias, password and \fBserver.port\fR.
.TP
\fI/var/log/icg-renew.log\fR
The audit log, one line per action, never a secret; rotated by \fI/etc/logrotate.d/icg-renew\fR.
.TP
\fIicg-renew-check.service\fR, \fIicg-renew-check.timer\fR
A daily \fBicg-renew status\fR that logs WARNING and CRITICAL to the journal; installed, not enabled:
\fBsystemctl enable \-\-now icg-renew-check.timer\fR.
"#;
