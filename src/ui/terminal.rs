//! The operator's terminal: dialoguer prompts (installation, material, passwords, warnings, the final
//! confirmation, which defaults to No) and indicatif progress, one line per step with its time, and a live
//! wait while the gateway starts. Chatter goes to stderr; the final summary is printed by `main` on stdout.

use crate::ui::prompts::{Prompter, When};
use crate::ui::{compare, err_line, human, layout};
use console::style;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};
use icg_renew::cert::CertSummary;
use icg_renew::checks::Status;
use icg_renew::interrupt;
use icg_renew::material::Candidate;
use icg_renew::renew::Observer;
use icg_renew::report::{Plan, Step, VerifyReport};
use icg_renew::secret::Password;
use icg_renew::service::{Observation, Restart};
use icg_renew::shown::Shown;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the ICG usually takes to start after a restart (docs/architecture.md).
const EXPECTED_START: &str = "the ICG takes 10-15 s to start; devices reconnect by themselves";

/// Prompts and progress on a terminal.
#[derive(Default)]
pub struct Terminal {
    progress: Progress,
    spinner: Option<ProgressBar>,
    /// The installed certificate, shown only as the context of a prompt that comes before the result
    /// (which shows it anyway): on a terminal each thing is printed once.
    installed: Option<String>,
}

/// The spinner shown last (finished or not), so that the interruption watcher's answer is written around
/// it: a line written under a running spinner would be drawn over at its next tick.
static SHOWN: std::sync::Mutex<Option<ProgressBar>> = std::sync::Mutex::new(None);

/// Makes the interruption watcher write its answers around the spinner (`ProgressBar::suspend`).
pub fn announce_interruptions_around_spinners() {
    interrupt::announce_through(|text| {
        let shown = SHOWN.lock().ok().and_then(|s| s.clone());
        match shown {
            Some(bar) => bar.suspend(|| err_line(text)),
            None => err_line(text),
        }
    });
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(mut shown) = SHOWN.lock() {
        *shown = Some(bar.clone());
    }
    bar.set_style(
        // One line, always: a message wider than the terminal is cut (`wide_msg`), for a spinner that wraps
        // leaves its first line behind each time it is drawn again.
        ProgressStyle::with_template("{spinner:.cyan} {wide_msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
}

/// A prompt's answer; a prompt left by Ctrl-C ends the run with "nothing was changed" (exit 130).
fn answered<T>(result: dialoguer::Result<T>) -> Option<T> {
    if result.is_err() {
        interrupt::stop_if_requested();
    }
    result.ok()
}

fn step_label(name: &str) -> &'static str {
    match name {
        "backup" => "Backing up the keystore",
        "build" => "Building the new keystore",
        "write" => "Writing, reading back and replacing the keystore",
        "restart" => "Restarting the ICG",
        "confirm" => "Confirming the gateway serves the certificate",
        "restore" => "Restoring the backup",
        _ => "Working",
    }
}

/// One line per step, a spinner while it runs. (An interruption is answered by `interrupt`'s watcher.)
#[derive(Default)]
struct Progress {
    bar: Option<ProgressBar>,
}

impl Observer for Progress {
    fn step_started(&mut self, name: &str) {
        self.bar = Some(spinner(step_label(name).to_string()));
    }

    fn step_finished(&mut self, step: &Step, ok: bool) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let skipped = step
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("skipped"));
        let mark = if !ok {
            style("✘").red().bold()
        } else if skipped {
            style("–").dim()
        } else {
            style("✔").green().bold()
        };
        let line = layout::hanging(
            &format!("  {mark} {:<10} {:>6} ms  ", step.name, step.ms),
            step.detail.as_deref().unwrap_or(""),
            26,
        );
        err_line(line.trim_end());
    }

    /// The time waited is the spinner's own (`elapsed` in its template), shown once.
    fn waiting(&mut self, what: &str, _elapsed: Duration, seen: &Observation) {
        if let Some(bar) = &self.bar {
            let last = match seen {
                Observation::Good(_) => String::new(),
                other => format!(" — {}", other.describe()),
            };
            bar.set_message(format!("{what}…{last}"));
        }
    }
}

/// A path as a list entry, followed by `facts`: shortened in its middle where the entry would be wider than
/// the terminal (the list's marker included), so that the entry stays one line and the facts (a time, a
/// size) are never broken. The chosen path is then printed in full.
fn picker_entry(path: &str, facts: &str) -> String {
    match layout::columns() {
        Some(columns) => {
            let room = columns.saturating_sub(4 + console::measure_text_width(facts));
            layout::shorten_middle(path, room.max(20))
        }
        None => path.to_string(),
    }
}

/// A path as the operator types it, also the way icg-renew prints one: `~` or `~/…` in the invoking
/// operator's home, one shell-quoted word (`'/tmp/a b/x.p12'`, `"…"`, backslashes, `$'…'` with escapes)
/// unquoted; anything else (a path with spaces typed as it is) taken literally, less the spaces around it.
fn typed_path(input: &str) -> PathBuf {
    let text = input.trim();
    let word = ansi_c_quoted(text)
        .or_else(|| {
            shlex::split(text)
                .filter(|words| words.len() == 1)
                .map(|mut words| words.remove(0))
        })
        .unwrap_or_else(|| text.to_string());
    let home = || icg_renew::fsx::invoking_user().map(|(_, home)| home);
    // As in a shell, only a `~` typed unquoted means the home directory.
    match word.strip_prefix('~').filter(|_| text.starts_with('~')) {
        Some("") => home().unwrap_or_else(|| PathBuf::from(&word)),
        Some(rest) if rest.starts_with('/') => home()
            .map(|h| h.join(rest.trim_start_matches('/')))
            .unwrap_or_else(|| PathBuf::from(&word)),
        _ => PathBuf::from(word),
    }
}

/// The word of Bash's `$'…'` quoting (what `shown::quote` writes for names with control characters), or
/// `None` when `text` is not one such word.
fn ansi_c_quoted(text: &str) -> Option<String> {
    let body = text.strip_prefix("$'")?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let code = |chars: &mut std::str::Chars<'_>, digits: usize| {
                    let hex: String = chars.take(digits).collect();
                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                };
                out.push(match chars.next()? {
                    'x' => code(&mut chars, 2)?,
                    'u' => code(&mut chars, 4)?,
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
            '\'' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

impl Terminal {
    /// The installed certificate, once, before a prompt that needs it as context.
    fn show_context(&mut self) {
        if let Some(text) = self.installed.take() {
            err_line(&text);
        }
    }
}

impl Prompter for Terminal {
    fn observer(&mut self) -> &mut dyn Observer {
        &mut self.progress
    }

    fn interactive(&self) -> bool {
        true
    }

    fn warn(&mut self, message: &str) {
        let line = layout::hanging(
            &format!("{} ", style("warning:").yellow().bold()),
            message,
            2,
        );
        err_line(line.trim_end());
    }

    fn choose_installation(&mut self, found: &[PathBuf]) -> Option<PathBuf> {
        let items: Vec<String> = found
            .iter()
            .map(|p| picker_entry(&p.shown().to_string(), ""))
            .collect();
        let chosen = Select::with_theme(&theme())
            .with_prompt("Several ICG installations were found. Which one?")
            .items(&items)
            .default(0)
            .interact_opt();
        let chosen = answered(chosen)??;
        found.get(chosen).cloned()
    }

    fn show_installed(&mut self, keystore: &Path, c: &CertSummary) {
        let names: Vec<&str> = c
            .dns_names
            .iter()
            .chain(c.ip_addresses.iter())
            .map(String::as_str)
            .collect();
        let expires = if c.days_left < 0 {
            format!("expired {} days ago", -c.days_left)
        } else {
            format!("in {} days", c.days_left)
        };
        self.installed = Some(
            [
                layout::hanging(
                    &format!("{} ", style("Installed certificate in").bold()),
                    &keystore.shown().to_string(),
                    2,
                ),
                layout::paragraph(&c.subject, 2),
                layout::hanging("  names: ", &names.join(", "), 9),
                layout::hanging("  issued by ", &c.issuer, 4),
                layout::paragraph(&format!("expires {} ({expires})", c.not_after), 2),
            ]
            .concat(),
        );
    }

    fn choose_material(&mut self, candidates: &[Candidate]) -> Option<PathBuf> {
        self.show_context();
        let mut items: Vec<String> = candidates
            .iter()
            .map(|c| {
                let note = c
                    .note
                    .as_deref()
                    .map(|n| format!("  <- {n}"))
                    .unwrap_or_default();
                let facts = format!(
                    "  ({}, {}){note}",
                    human_size(c.size),
                    icg_renew::utc::rfc3339(c.modified)
                );
                format!(
                    "{}{facts}",
                    picker_entry(&c.path.shown().to_string(), &facts)
                )
            })
            .collect();
        items.push("Type a path…".into());
        let prompt = if candidates.is_empty() {
            "No certificate files found nearby. Where is the new certificate material?"
        } else {
            "Which file holds the new certificate? (newest first)"
        };
        // The chosen line is not repeated after the prompt (too wide for 80 columns): the path follows alone.
        let chosen = Select::with_theme(&theme())
            .with_prompt(prompt)
            .items(&items)
            .default(0)
            .report(false)
            .interact_opt();
        let chosen = answered(chosen)??;
        if let Some(c) = candidates.get(chosen) {
            err_line(
                layout::hanging(
                    &format!("{} New material: ", style("✔").green()),
                    &c.path.display().to_string(),
                    2,
                )
                .trim_end(),
            );
            return Some(c.path.clone());
        }
        let typed = Input::<String>::with_theme(&theme())
            .with_prompt("Path of the new certificate material")
            .validate_with(|input: &String| -> Result<(), String> {
                let path = typed_path(input);
                let path = path.as_path();
                // Looked at through the resolver, never opened: a FIFO must not hang the prompt.
                match icg_renew::fsx::resolve_parent(path, icg_renew::fsx::Trust::operator()) {
                    Ok(at)
                        if at
                            .dir
                            .stat_of(&at.name)
                            .is_some_and(|s| icg_renew::fsx::is_regular(&s)) =>
                    {
                        Ok(())
                    }
                    Ok(_) => Err(format!("{} is not a file", path.shown())),
                    Err(e) => Err(e.to_string()),
                }
            })
            .interact_text();
        let typed = answered(typed)?;
        Some(typed_path(&typed))
    }

    fn password(&mut self, prompt: &str) -> Option<Password> {
        self.show_context();
        let typed = dialoguer::Password::with_theme(&theme())
            .with_prompt(prompt)
            .allow_empty_password(true)
            .interact();
        answered(typed).map(Password::new)
    }

    fn busy(&mut self, what: Option<&str>) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
        self.spinner = what.map(|w| spinner(w.to_string()));
    }

    fn show_checks(&mut self, report: &VerifyReport) {
        err_line(&human::verify_details(report));
    }

    fn accept_warnings(&mut self, report: &VerifyReport) -> bool {
        report
            .checks
            .iter()
            .filter(|c| c.status == Status::Warn)
            .all(|check| {
                // The reason on its own wrapped lines; the question short enough for any terminal.
                let reason = layout::hanging(
                    &format!("{} {}: ", style("WARN").yellow().bold(), check.id),
                    &check.detail,
                    4,
                );
                err_line(reason.trim_end());
                let answer = Confirm::with_theme(&theme())
                    .with_prompt(format!("Accept the {} warning and go on?", check.id))
                    .default(false)
                    .interact();
                answered(answer).unwrap_or(false)
            })
    }

    fn confirm(&mut self, question: &str) -> bool {
        let answer = Confirm::with_theme(&theme())
            .with_prompt(question)
            .default(false)
            .interact();
        answered(answer).unwrap_or(false)
    }

    fn confirm_rollback(
        &mut self,
        goes: &CertSummary,
        comes_back: &CertSummary,
        backup: &Path,
    ) -> bool {
        err_line(&compare::side_by_side(
            "GOES",
            goes,
            "COMES BACK",
            comes_back,
        ));
        err_line(&layout::hanging(
            "From the backup ",
            &backup.shown().to_string(),
            2,
        ));
        self.confirm("Restore this backup and restart the ICG?")
    }

    fn renew_when(&mut self, now: icg_renew::utc::UnixTime) -> Option<When> {
        let chosen = Select::with_theme(&theme())
            .with_prompt("Renew now, or at a time you choose?")
            .items(["Now", "At a time I choose"])
            .default(0)
            .interact_opt();
        if answered(chosen)?? == 0 {
            return Some(When::Now);
        }
        let parse = |input: &str| icg_renew::schedule::parse_when(input.trim(), now);
        let typed = Input::<String>::with_theme(&theme())
            .with_prompt("At what time? (HH:MM, the next such local time)")
            .validate_with(|input: &String| -> Result<(), String> {
                parse(input)
                    .map(|_| ())
                    .map_err(|e| icg_renew::shown::text(&e))
            })
            .interact_text();
        parse(&answered(typed)?).ok().map(When::At)
    }

    fn confirm_plan(&mut self, _report: &VerifyReport, plan: &Plan) -> bool {
        err_line(&human::plan(plan));
        if plan.restart == Restart::None {
            err_line(&layout::paragraph(
                "The ICG is not restarted: it serves the new certificate after its next restart.",
                2,
            ));
        } else {
            err_line(&layout::paragraph(
                &format!("Expected interruption: {EXPECTED_START}."),
                2,
            ));
        }
        let question = if plan.restart == Restart::None {
            "Replace the keystore now?"
        } else {
            "Replace the keystore and restart the ICG now?"
        };
        let answer = Confirm::with_theme(&theme())
            .with_prompt(question)
            .default(false)
            .interact();
        answered(answer).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths_are_read_the_way_icg_renew_prints_them() {
        let home = icg_renew::fsx::invoking_user().map(|(_, h)| h).unwrap();
        assert_eq!(typed_path("  /tmp/x.p12 "), PathBuf::from("/tmp/x.p12"));
        assert_eq!(typed_path("~/keystore.icg"), home.join("keystore.icg"));
        assert_eq!(typed_path("~"), home);
        assert_eq!(typed_path("'~/x'"), PathBuf::from("~/x"));
        assert_eq!(typed_path("~other/x"), PathBuf::from("~other/x"));
        assert_eq!(
            typed_path("'/tmp/a b/x.p12'"),
            PathBuf::from("/tmp/a b/x.p12")
        );
        assert_eq!(
            typed_path("\"/tmp/a b/x.p12\""),
            PathBuf::from("/tmp/a b/x.p12")
        );
        assert_eq!(
            typed_path("/tmp/a\\ b/x.p12"),
            PathBuf::from("/tmp/a b/x.p12")
        );
        // Typed as it is, with spaces and no quotes: taken literally.
        assert_eq!(
            typed_path("/tmp/a b/x.p12"),
            PathBuf::from("/tmp/a b/x.p12")
        );
        let printed = icg_renew::shown::quote(std::ffi::OsStr::new("/tmp/a\u{1b}b'c.p12"));
        assert_eq!(typed_path(&printed), PathBuf::from("/tmp/a\u{1b}b'c.p12"));
        let spaced = icg_renew::shown::quote(std::ffi::OsStr::new("/tmp/it's here.p12"));
        assert_eq!(typed_path(&spaced), PathBuf::from("/tmp/it's here.p12"));
    }
}
