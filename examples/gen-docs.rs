//! Writes the man pages and shell completions of icg-renew from its clap definitions, so that they always
//! match the binary and nothing of this ends up in the binary itself:
//!
//! ```sh
//! cargo run --release --example gen-docs -- OUTDIR
//! MANWIDTH=80 man -l OUTDIR/man/icg-renew.1
//! ```
//!
//! OUTDIR/man/icg-renew.1 and one page per command (icg-renew-renew.1, ...), and
//! OUTDIR/completions/{icg-renew.bash,_icg-renew,icg-renew.fish}. `scripts/package` runs it with the release
//! build's own target, features and flags, so it reuses that build. Each page is clap_mangen's NAME,
//! SYNOPSIS, DESCRIPTION, OPTIONS (and COMMANDS) followed by sections clap does not know: EXIT STATUS (the
//! exit codes of the `--help` text, one tagged paragraph each), and on the main page ENVIRONMENT, FILES and
//! EXAMPLES. Hyphenation is off (`.hy 0`), so no name (`ICG_RENEW_STORE_PASSWORD`, `icg-renew-check.timer`)
//! is ever split; laid-out text is kept as laid out (`.nf`). The footer holds the version and the date
//! (`SOURCE_DATE_EPOCH` when set, for a reproducible package). `tests/man_pages.rs` renders every page with
//! `man` and checks all of this.

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

#[allow(dead_code)] // tests/man_pages.rs compiles this file for `generate` alone
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

/// Writes the man pages to OUT/man and the completions to OUT/completions; returns the files written.
pub fn generate(out: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();

    let man = out.join("man");
    std::fs::create_dir_all(&man)?;
    let mut main = Cli::command().disable_help_subcommand(true);
    main.build();
    let values = value_names(&main);
    // The codes of every command but status: the main page's first list.
    let general = exit_blocks(main.get_after_help().map(|t| t.to_string()).as_deref())
        .into_iter()
        .skip_while(|b| matches!(b, Block::Heading(_)))
        .take_while(|b| matches!(b, Block::Entry(..)))
        .collect::<Vec<_>>();
    let footer = Footer::now();
    let mut pages = vec![(main.clone(), Page::Main)];
    pages.extend(
        main.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| (s.clone(), Page::Command)),
    );
    for (cmd, kind) in pages {
        let path = man.join(format!("{}.1", display_name(&cmd)));
        std::fs::write(&path, page(&cmd, kind, &general, &values, &footer)?)?;
        written.push(path);
    }

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    /// icg-renew(1): also ENVIRONMENT, FILES and EXAMPLES.
    Main,
    /// icg-renew-COMMAND(1).
    Command,
}

/// What `.TH` puts in the footer: the version and the date of the last change.
struct Footer {
    source: String,
    date: String,
}

impl Footer {
    /// `icg-renew VERSION`, and the date of `SOURCE_DATE_EPOCH` (the commit's, in `scripts/package`) or today.
    fn now() -> Footer {
        let epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_else(|| icg_renew::utc::Clock::system().now);
        Footer {
            source: format!("icg-renew {}", env!("CARGO_PKG_VERSION")),
            date: icg_renew::utc::rfc3339(epoch).chars().take(10).collect(),
        }
    }
}

fn display_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

/// One man page: clap_mangen's sections of `cmd` (its `after_help`, the exit codes, left out), then ours.
fn page(
    cmd: &clap::Command,
    kind: Page,
    general: &[Block],
    values: &[(String, String)],
    footer: &Footer,
) -> std::io::Result<String> {
    let own = cmd.get_after_help().map(|t| t.to_string());
    let bare = cmd.clone().after_help(None::<&str>);
    let man = clap_mangen::Man::new(bare)
        .title(display_name(cmd))
        .section("1")
        .date(&footer.date)
        .source(&footer.source)
        .manual("icg-renew manual");
    let mut roff = Vec::new();
    man.render_title(&mut roff)?;
    // No hyphenation: a name split at the end of a line (ICG_RE-NEW_…) is a wrong name; ragged right.
    roff.extend_from_slice(b".hy 0\n.ad l\n");
    man.render_name_section(&mut roff)?;
    man.render_synopsis_section(&mut roff)?;
    man.render_description_section(&mut roff)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut roff)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut roff)?;
    }
    let mut page = polish(&String::from_utf8_lossy(&roff), values);
    let blocks = match own.as_deref() {
        Some(text) => exit_blocks(Some(text)),
        None => general.to_vec(),
    };
    page.push_str(&exit_status(&blocks));
    if kind == Page::Main {
        page.push_str(MAIN_SECTIONS);
    } else {
        page.push_str(
            ".SH \"SEE ALSO\"\n\\fBicg\\-renew\\fR(1), for the environment and the files\n",
        );
    }
    Ok(page)
}

/// A part of the `--help` text's exit codes: a line that introduces a list (`Exit codes of status …:`), or
/// one code with its meaning (continuation lines joined).
#[derive(Clone, Debug)]
enum Block {
    Heading(String),
    Entry(String, String),
}

/// The exit codes as `cli.rs` lays them out for `--help`: `  N  meaning`, continued on lines indented
/// further; a line at the left margin ending in `:` introduces a list. Anything else is not an exit code.
fn exit_blocks(text: Option<&str>) -> Vec<Block> {
    let mut blocks = Vec::new();
    for line in text.unwrap_or_default().lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let indented = line.starts_with(' ');
        let code = trimmed
            .split_once("  ")
            .filter(|(code, _)| !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()));
        match (indented, code, blocks.last_mut()) {
            (true, Some((code, meaning)), _) => {
                blocks.push(Block::Entry(code.to_string(), meaning.trim().to_string()))
            }
            (true, None, Some(Block::Entry(_, meaning))) => {
                meaning.push(' ');
                meaning.push_str(trimmed);
            }
            (false, _, _) if trimmed.ends_with(':') => blocks.push(Block::Heading(trimmed.into())),
            _ => {}
        }
    }
    blocks
}

/// The EXIT STATUS section: one tagged paragraph per code; a list's introduction as a paragraph of its own
/// (left out when it says no more than the section's name).
fn exit_status(blocks: &[Block]) -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    for block in blocks {
        match block {
            Block::Heading(h) if h == "Exit codes:" => {}
            Block::Heading(h) => out.push_str(&format!(".PP\n{}\n", roff_text(h))),
            Block::Entry(code, meaning) => out.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff_text(code),
                roff_text(meaning)
            )),
        }
    }
    out
}

/// Plain text as roff: backslashes and hyphens escaped, no line taken for a request.
fn roff_text(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
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

/// The synopsis shows each option's value, kept on the option's line (`[--icg-root DIR]`, not
/// `[--icg-root]`).
fn polish(page: &str, values: &[(String, String)]) -> String {
    let mut page = page.to_string();
    for (long, value) in values {
        page = page.replace(
            &format!("[\\fB\\-\\-{}\\fR]", roff_text(long)),
            &format!(
                "[\\fB\\-\\-{}\\fR\\ \\fI{}\\fR]",
                roff_text(long),
                roff_text(value)
            ),
        );
    }
    page
}

/// The sections of icg-renew(1) beyond the clap definitions, as `docs/cli.md` and `packaging/` have them.
const MAIN_SECTIONS: &str = r#".SH ENVIRONMENT
.TP
\fBICG_ROOT\fR
The ICG installation root when \fB\-\-icg\-root\fR is not given.
.TP
\fBICG_RENEW_STORE_PASSWORD\fR
The keystore password when \fB\-\-store\-password\-file\fR is not given (before the configuration's).
.TP
\fBICG_RENEW_NEW_PASSWORD\fR
The password of the new material when \fB\-\-new\-password\-file\fR is not given.
.TP
\fBICG_RENEW_NOTIFY\fR
Another path for the notify script (tests); default \fI/etc/icg\-renew/notify\fR.
.TP
\fBICG_RENEW_RESULT\fR, \fBICG_RENEW_KEYSTORE\fR
Set for the notify script, with \fBPATH\fR and nothing else: the result word (or \fBerror\fR) and the
keystore.
.TP
\fBICG_RENEW_PROMETHEUS_FILE\fR
Read by the daily check, \fI/usr/lib/icg\-renew/icg\-renew\-check\fR: when set, \fBstatus\fR also writes
this node_exporter textfile.
.TP
\fBRENEWED_LINEAGE\fR, \fBCERT_KEY_PATH\fR, \fBCERT_FULLCHAIN_PATH\fR
Where \fBrenew \-\-from\-hook\fR finds the new material: certbot's lineage, or acme.sh's key and full
chain.
.TP
\fBSUDO_USER\fR
The operator whose files the interactive list of material offers, when root runs under sudo.
.TP
\fBTZ\fR
The local time of \fBrenew \-\-at\fR \fIHH:MM\fR (else \fI/etc/localtime\fR).
.TP
\fBNO_COLOR\fR
When set and not empty, no colours.
.PP
No option takes a password as its value on the command line.
.SH FILES
.TP
\fI/opt/IGEL/icg/usg/conf/application\-prod.yml\fR
The ICG's configuration (under \fB\-\-icg\-root\fR): the keystore (\fBserver.ssl.key\-store\fR), its
type, alias and password, and \fBserver.port\fR.
.TP
\fIKEYSTORE\fR\fB.\fR\fISTAMP\fR\fB.bak\fR, \fIKEYSTORE\fR\fB.\fR\fISTAMP\fR\fB.before\-rollback.bak\fR
Backups (mode 0600), beside the keystore or in \fB\-\-backup\-dir\fR; the newest 10 are kept
(\fB\-\-keep\-backups\fR).
.TP
\fB.\fR\fIKEYSTORE\fR\fB.lock\fR, \fIKEYSTORE\fR\fB.pending.p12\fR
The lock that lets one icg\-renew change the keystore at a time; the key of a \fBcsr\fR request waiting
for its certificate.
.TP
\fI/var/log/icg\-renew.log\fR
The audit log (\fB\-\-log\-file\fR), one line per action, never a secret; rotated by
\fI/etc/logrotate.d/icg\-renew\fR.
.TP
\fI/etc/icg\-renew/notify\fR
Run, when it exists (root's, executable, not writable by group or others), after an unattended renewal that did not renew,
with the JSON result on its standard input.
.TP
\fI/var/lib/icg\-renew/inbox\fR
The drop folder of \fBinbox\fR, with \fIdone/\fR and \fIfailed/\fR.
.TP
\fI/var/lib/icg\-renew/scheduled\fR
Where renewals scheduled with \fBrenew \-\-at\fR wait (\fB\-\-schedule\-dir\fR; root's, 0700).
.TP
\fIicg\-renew\-check.service\fR, \fIicg\-renew\-check.timer\fR
A daily \fBstatus\fR that logs to the journal; installed, not enabled:
\fBsystemctl enable \-\-now icg\-renew\-check.timer\fR.
.TP
\fIicg\-renew\-inbox.path\fR, \fIicg\-renew\-inbox.service\fR
Renew when material is dropped into the inbox; installed, not enabled.
.TP
\fIicg\-renew\-scheduled.timer\fR, \fIicg\-renew\-scheduled.service\fR
Apply the scheduled renewals that are due, every minute; enabled by \fBrenew \-\-at\fR.
.SH EXAMPLES
A complete renewal in a throwaway sandbox, the first thing to run:
.PP
.RS 4
.nf
icg\-renew demo
.fi
.RE
.PP
The installed certificate; then a check of new material, and the renewal (it asks before any change):
.PP
.RS 4
.nf
icg\-renew status
icg\-renew verify ~/keystore.icg
icg\-renew renew ~/keystore.icg
.fi
.RE
.PP
Undo the last renewal:
.PP
.RS 4
.nf
icg\-renew rollback
.fi
.RE
.SH "SEE ALSO"
\fBkeytool\fR(1), \fBsystemctl\fR(1)
"#;
