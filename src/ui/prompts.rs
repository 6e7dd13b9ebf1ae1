//! The questions the commands ask and the progress they report, as one trait (`Prompter`), with its two
//! non-interactive answers: `Plain` for `--yes`, `--json` and scripts (warnings on stderr) and `Defaults` for
//! `demo`'s inner renewal (silent). The terminal's prompter is `ui::terminal::Terminal`.

use super::{err_line, layout};
use icg_renew::cert::CertSummary;
use icg_renew::material::Candidate;
use icg_renew::renew::{Observer, Silent};
use icg_renew::report::{Plan, VerifyReport};
use icg_renew::secret::Password;
use std::path::{Path, PathBuf};

/// When a renewal runs, as the operator chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    /// At this time (Unix seconds), kept in the spool until then.
    At(icg_renew::utc::UnixTime),
}

/// What the operator is asked and shown, when there is someone to ask. The provided methods are the
/// non-interactive answers: ask nothing, take the defaults, show nothing.
pub trait Prompter {
    /// The transaction's progress.
    fn observer(&mut self) -> &mut dyn Observer;
    /// Whether there is a person to ask.
    fn interactive(&self) -> bool {
        false
    }
    /// Something the operator should know that is not an error.
    fn warn(&mut self, _message: &str) {}
    /// Choose one of several installations.
    fn choose_installation(&mut self, _found: &[PathBuf]) -> Option<PathBuf> {
        None
    }
    /// The installed certificate, shown as soon as it is known.
    fn show_installed(&mut self, _keystore: &Path, _certificate: &CertSummary) {}
    /// Choose the new material among files found (or type a path).
    fn choose_material(&mut self, _candidates: &[Candidate]) -> Option<PathBuf> {
        None
    }
    /// A hidden password prompt.
    fn password(&mut self, _prompt: &str) -> Option<Password> {
        None
    }
    /// Work that takes seconds without anything to show starts (`Some`: what it is) or ends (`None`): time
    /// for a spinner.
    fn busy(&mut self, _what: Option<&str>) {}
    /// The checks' outcome, before any question about it.
    fn show_checks(&mut self, _report: &VerifyReport) {}
    /// Accept the warnings of a compatible report.
    fn accept_warnings(&mut self, _report: &VerifyReport) -> bool {
        true
    }
    /// A yes/no question; the non-interactive answer is no.
    fn confirm(&mut self, _question: &str) -> bool {
        false
    }
    /// Once the checks pass: renew now, or at a time the operator chooses (`None`: neither, nothing
    /// changes). The non-interactive answer is now.
    fn renew_when(&mut self, _now: icg_renew::utc::UnixTime) -> Option<When> {
        Some(When::Now)
    }
    /// Confirm the plan before anything changes.
    fn confirm_plan(&mut self, _report: &VerifyReport, _plan: &Plan) -> bool {
        true
    }
    /// Confirm a rollback: the certificate that `goes`, the one that `comes_back`, from `backup`.
    fn confirm_rollback(
        &mut self,
        _goes: &CertSummary,
        _comes_back: &CertSummary,
        _backup: &Path,
    ) -> bool {
        true
    }
}

/// Asks nothing, accepts defaults and keeps quiet: what `demo` uses for its inner renewal.
pub struct Defaults(pub Silent);

impl Prompter for Defaults {
    fn observer(&mut self) -> &mut dyn Observer {
        &mut self.0
    }
}

/// The prompter for `--yes`, `--json` and scripts: asks nothing, takes defaults, warns on stderr.
pub struct Plain(pub Silent);

impl Prompter for Plain {
    fn observer(&mut self) -> &mut dyn Observer {
        &mut self.0
    }
    fn warn(&mut self, message: &str) {
        // Wrapped only when a terminal shows it (`--yes` at a console); one line in a log or pipe.
        let line = layout::fit(&format!("icg-renew: warning: {message}\n"));
        err_line(line.trim_end());
    }
}
