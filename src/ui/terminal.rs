//! The operator's terminal: dialoguer prompts (installation, material, passwords, warnings, the final
//! confirmation, which defaults to No) and indicatif progress, one line per step with its time, and a live
//! wait while the gateway starts. Chatter goes to stderr; the final summary is printed by `main` on stdout.

use crate::app::Prompter;
use crate::cert::CertSummary;
use crate::checks::Status;
use crate::interrupt;
use crate::material::Candidate;
use crate::renew::Observer;
use crate::report::{Plan, Step, VerifyReport};
use crate::secret::Password;
use crate::service::Observation;
use crate::shown::Shown;
use crate::ui::{err_line, human};
use console::style;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the ICG usually takes to start after a restart (icg-facts).
const EXPECTED_START: &str = "the ICG takes 10-15 s to start; devices reconnect by themselves";

/// Prompts and progress on a terminal.
#[derive(Default)]
pub struct Terminal {
    progress: Progress,
    spinner: Option<ProgressBar>,
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn theme() -> ColorfulTheme {
    ColorfulTheme::default()
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

/// One line per step, a spinner while it runs.
#[derive(Default)]
struct Progress {
    bar: Option<ProgressBar>,
    /// The keystore has been replaced: from now on an interruption must not stop anything.
    replaced: bool,
    told_about_interrupt: bool,
}

impl Progress {
    fn notice_interrupt(&mut self) {
        if self.replaced && !self.told_about_interrupt && interrupt::requested() {
            self.told_about_interrupt = true;
            let note = style("Interrupted: the keystore is already replaced, so the renewal is finishing (or rolling back) safely. Please wait.").yellow().bold().to_string();
            match &self.bar {
                Some(bar) => bar.println(note),
                None => err_line(&note),
            }
        }
    }
}

impl Observer for Progress {
    fn step_started(&mut self, name: &str) {
        self.bar = Some(spinner(step_label(name).to_string()));
        self.notice_interrupt();
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
        err_line(&format!(
            "  {mark} {:<10} {:>6} ms  {}",
            step.name,
            step.ms,
            step.detail.as_deref().unwrap_or("")
        ));
        if ok && step.name == "write" {
            self.replaced = true;
        }
        self.notice_interrupt();
    }

    fn waiting(&mut self, what: &str, elapsed: Duration, seen: &Observation) {
        if let Some(bar) = &self.bar {
            let last = match seen {
                Observation::Good => String::new(),
                other => format!(" — {}", other.describe()),
            };
            bar.set_message(format!("{what}… {} s{last}", elapsed.as_secs()));
        }
        self.notice_interrupt();
    }
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

impl Prompter for Terminal {
    fn observer(&mut self) -> &mut dyn Observer {
        &mut self.progress
    }

    fn interactive(&self) -> bool {
        true
    }

    fn warn(&mut self, message: &str) {
        err_line(&format!("{} {message}", style("warning:").yellow().bold()));
    }

    fn choose_installation(&mut self, found: &[PathBuf]) -> Option<PathBuf> {
        let items: Vec<String> = found.iter().map(|p| p.shown().to_string()).collect();
        let chosen = Select::with_theme(&theme())
            .with_prompt("Several ICG installations were found. Which one?")
            .items(&items)
            .default(0)
            .interact_opt()
            .ok()??;
        found.get(chosen).cloned()
    }

    fn show_installed(&mut self, keystore: &Path, c: &CertSummary) {
        let names: Vec<&str> = c
            .dns_names
            .iter()
            .chain(c.ip_addresses.iter())
            .map(String::as_str)
            .collect();
        err_line(&format!(
            "{} {}",
            style("Installed certificate in").bold(),
            keystore.shown()
        ));
        err_line(&format!(
            "  {}\n  names: {}\n  issued by {}\n  expires {} ({})\n",
            c.subject,
            names.join(", "),
            c.issuer,
            c.not_after,
            if c.days_left < 0 {
                format!("expired {} days ago", -c.days_left)
            } else {
                format!("in {} days", c.days_left)
            }
        ));
    }

    fn choose_material(&mut self, candidates: &[Candidate]) -> Option<PathBuf> {
        let mut items: Vec<String> = candidates
            .iter()
            .map(|c| {
                let note = c
                    .note
                    .as_deref()
                    .map(|n| format!("  <- {n}"))
                    .unwrap_or_default();
                format!(
                    "{}  ({}, {}){note}",
                    c.path.shown(),
                    human_size(c.size),
                    crate::cert::rfc3339(c.modified)
                )
            })
            .collect();
        items.push("Type a path…".into());
        let prompt = if candidates.is_empty() {
            "No certificate files found nearby. Where is the new certificate material?"
        } else {
            "Which file holds the new certificate? (newest first)"
        };
        let chosen = Select::with_theme(&theme())
            .with_prompt(prompt)
            .items(&items)
            .default(0)
            .interact_opt()
            .ok()??;
        if let Some(c) = candidates.get(chosen) {
            return Some(c.path.clone());
        }
        let typed: String = Input::with_theme(&theme())
            .with_prompt("Path of the new certificate material")
            .validate_with(|input: &String| -> Result<(), String> {
                let path = Path::new(input.trim());
                match std::fs::File::open(path) {
                    Ok(_) if path.is_file() => Ok(()),
                    Ok(_) => Err(format!("{} is not a file", path.shown())),
                    Err(e) => Err(format!("cannot read {}: {e}", path.shown())),
                }
            })
            .interact_text()
            .ok()?;
        Some(PathBuf::from(typed.trim()))
    }

    fn password(&mut self, prompt: &str) -> Option<Password> {
        dialoguer::Password::with_theme(&theme())
            .with_prompt(prompt)
            .allow_empty_password(true)
            .interact()
            .ok()
            .map(Password::new)
    }

    fn checks_running(&mut self, running: bool) {
        if running {
            self.spinner = Some(spinner(
                "Checking the new certificate against the installed one".into(),
            ));
        } else if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
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
                Confirm::with_theme(&theme())
                    .with_prompt(format!("{}: {}. Go on anyway?", check.id, check.detail))
                    .default(false)
                    .interact()
                    .unwrap_or(false)
            })
    }

    fn confirm(&mut self, question: &str) -> bool {
        Confirm::with_theme(&theme())
            .with_prompt(question)
            .default(false)
            .interact()
            .unwrap_or(false)
    }

    fn confirm_plan(&mut self, _report: &VerifyReport, plan: &Plan) -> bool {
        err_line(&human::plan(plan));
        if plan.restart.starts_with("none") {
            err_line("  The ICG is not restarted: it serves the new certificate after its next restart.\n");
        } else {
            err_line(&format!("  Expected interruption: {EXPECTED_START}.\n"));
        }
        let question = if plan.restart.starts_with("none") {
            "Replace the keystore now?"
        } else {
            "Replace the keystore and restart the ICG now?"
        };
        Confirm::with_theme(&theme())
            .with_prompt(question)
            .default(false)
            .interact()
            .unwrap_or(false)
    }
}
