//! Human-readable text for every output: certificates side by side, checks with their marks and reasons,
//! the plan, the steps with timings, and what to do next.

use crate::cert::CertSummary;
use crate::checks::{Check, Status};
use crate::report::*;
use crate::shown::Shown;
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

const LABEL_WIDTH: usize = 14;
const COLUMN_CAP: usize = 46;
/// Where a labelled value starts: two spaces and the label column.
const VALUE_INDENT: usize = 2 + LABEL_WIDTH;
/// The narrowest terminal text is fitted to; a narrower one wraps by itself.
const MIN_COLUMNS: usize = 40;

/// The width of the terminal the text goes to; 0: no terminal, nothing is wrapped.
static COLUMNS: AtomicUsize = AtomicUsize::new(0);

/// Fits everything rendered from now on to a terminal `columns` wide; `None` (no terminal): no width is
/// assumed and nothing is wrapped.
pub fn fit_to(columns: Option<usize>) {
    COLUMNS.store(columns.unwrap_or(0), Ordering::Relaxed);
}

/// The terminal's width, when the text goes to one.
pub fn columns() -> Option<usize> {
    match COLUMNS.load(Ordering::Relaxed) {
        0 => None,
        n => Some(n.max(MIN_COLUMNS)),
    }
}

/// Splits `text` into lines of at most `width` characters, breaking after spaces, commas and slashes. A
/// piece without such a break that is longer than `width` stays whole on its own line: a fingerprint is
/// never split. Without a width, the text stays one line.
pub fn wrap(text: &str, width: Option<usize>) -> Vec<String> {
    wrap_after(text, width, width)
}

/// [`wrap`] with a first line of another width (after a longer prefix).
fn wrap_after(text: &str, first: Option<usize>, width: Option<usize>) -> Vec<String> {
    let (Some(first), Some(width)) = (first, width) else {
        return vec![text.to_string()];
    };
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        piece.push(c);
        if matches!(c, ' ' | ',' | '/') {
            pieces.push(std::mem::take(&mut piece));
        }
    }
    pieces.push(piece);
    let mut lines = vec![String::new()];
    for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
        let limit = if lines.len() == 1 { first } else { width };
        let line = lines.last_mut().expect("one line at least");
        let fits = line.chars().count() + piece.trim_end().chars().count() <= limit;
        if fits || line.is_empty() {
            line.push_str(&piece);
        } else {
            lines.push(piece.trim_start().to_string());
        }
    }
    lines.iter().map(|l| l.trim_end().to_string()).collect()
}

/// `text` after a first-line `prefix`, wrapped to the terminal with the next lines indented to `indent`.
pub fn hanging(prefix: &str, text: &str, indent: usize) -> String {
    let width = columns().map(|c| c.saturating_sub(indent).max(20));
    let first = columns().map(|c| {
        c.saturating_sub(console::measure_text_width(prefix))
            .max(20)
    });
    let mut out = String::new();
    for (n, line) in wrap_after(text, first, width).iter().enumerate() {
        if n == 0 {
            let _ = writeln!(out, "{prefix}{line}");
        } else {
            let _ = writeln!(out, "{:indent$}{line}", "");
        }
    }
    out
}

/// A paragraph wrapped to the terminal, every line indented by `indent`.
pub fn paragraph(text: &str, indent: usize) -> String {
    hanging(&" ".repeat(indent), text, indent)
}

/// Text for a terminal with every line that is too wide wrapped, its next lines indented two more than it:
/// the safety net behind the renderers that fit their own layout. Without a terminal, the text as it is.
pub fn fit(text: &str) -> String {
    let Some(columns) = columns() else {
        return text.to_string();
    };
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if console::measure_text_width(bare) <= columns {
            out.push_str(line);
            continue;
        }
        let indent = bare.len() - bare.trim_start().len();
        let first = Some(columns.saturating_sub(indent).max(20));
        let rest = Some(columns.saturating_sub(indent + 2).max(20));
        for (n, part) in wrap_after(bare.trim_start(), first, rest)
            .iter()
            .enumerate()
        {
            let pad = if n == 0 { indent } else { indent + 2 };
            let _ = writeln!(out, "{:pad$}{part}", "");
        }
    }
    out
}

/// `  Label         value`, the value wrapped in its column.
fn row(out: &mut String, label: &str, value: &str) {
    out.push_str(&hanging(
        &format!("  {label:<LABEL_WIDTH$}"),
        value,
        VALUE_INDENT,
    ));
}

/// A fingerprint after `prefix` (label and title) when it fits there; else on the next line, indented,
/// with its colons when they fit and without them when not. Never split.
fn fingerprint_row(out: &mut String, prefix: &str, fingerprint: &str) {
    let width = console::measure_text_width(prefix) + fingerprint.len();
    match columns() {
        Some(columns) if width > columns => {
            let _ = writeln!(out, "{}", prefix.trim_end());
            if 4 + fingerprint.len() <= columns {
                let _ = writeln!(out, "    {fingerprint}");
            } else {
                let _ = writeln!(out, "    {}", fingerprint.replace(':', ""));
            }
        }
        _ => {
            let _ = writeln!(out, "{prefix}{fingerprint}");
        }
    }
}

/// Two fingerprints under each other, titled and aligned, both on the title's line or both below it.
fn fingerprint_pair(out: &mut String, left: (&str, &str), right: (&str, &str)) {
    let width = left.0.len().max(right.0.len()) + 1;
    let left_title = format!("{}:", left.0);
    let right_title = format!("{}:", right.0);
    fingerprint_row(
        out,
        &format!("  {:<LABEL_WIDTH$}{left_title:<width$} ", "SHA-256"),
        left.1,
    );
    fingerprint_row(
        out,
        &format!("  {:<LABEL_WIDTH$}{right_title:<width$} ", ""),
        right.1,
    );
}

/// A command for a person to type, after `prefix`: one line, or on a terminal too narrow for it, broken
/// between its words with a backslash at each line's end, so that pasting it still runs it.
pub fn command_line(prefix: &str, command: &str) -> String {
    let fits = columns().is_none_or(|c| console::measure_text_width(prefix) + command.len() <= c);
    let words = shlex::split(command).filter(|_| !fits);
    let Some(words) = words else {
        return format!("{prefix}{command}\n");
    };
    let columns = columns().unwrap_or(usize::MAX);
    let quoted: Vec<String> = words
        .iter()
        .map(|w| crate::shown::quote(std::ffi::OsStr::new(w)))
        .collect();
    let mut lines = vec![prefix.to_string()];
    for word in quoted {
        let line = lines.last_mut().expect("one line at least");
        let used = console::measure_text_width(line);
        if used + 1 + word.len() + 2 > columns
            && !line.trim().is_empty()
            && line.trim() != prefix.trim()
        {
            line.push_str(" \\");
            lines.push(format!("    {word}"));
        } else {
            if !line.is_empty() && !line.ends_with(' ') {
                line.push(' ');
            }
            line.push_str(&word);
        }
    }
    lines.join("\n") + "\n"
}

pub fn render(output: &Output) -> String {
    match output {
        Output::Status(r) => format!("{}\n{}", crate::monitoring::summary_line(r), status(r)),
        Output::Verify(r) => verify(r),
        Output::Renew(r) => renew(r),
        Output::Rollback(r) => rollback(r),
        Output::Backups(r) => backups(r),
        Output::Sandbox(r) => sandbox(r),
        Output::Csr(r) => csr(r),
        Output::Demo(r) => demo(r),
        Output::Inbox(r) => inbox(r),
    }
}

fn names(c: &CertSummary) -> (String, String) {
    let or_none = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            crate::shown::text(&v.join(", "))
        }
    };
    (or_none(&c.dns_names), or_none(&c.ip_addresses))
}

fn days(n: i64) -> String {
    if n < 0 {
        format!("expired {} days ago", -n)
    } else {
        format!("{n} days left")
    }
}

/// One certificate as labelled lines.
pub fn certificate(c: &CertSummary) -> String {
    let (dns, ips) = names(c);
    let mut out = String::new();
    for (label, value) in [
        ("Subject", c.subject.clone()),
        ("DNS names", dns),
        ("IP addresses", ips),
        ("Issuer", c.issuer.clone()),
        (
            "Valid",
            format!(
                "{} to {} ({})",
                c.not_before,
                c.not_after,
                days(c.days_left)
            ),
        ),
    ] {
        row(&mut out, label, &value);
    }
    fingerprint_row(
        &mut out,
        &format!("  {:<LABEL_WIDTH$}", "SHA-256"),
        &c.sha256,
    );
    out
}

/// Two certificates side by side, fingerprints below (they are too long for two columns).
pub fn side_by_side(
    left_title: &str,
    left: &CertSummary,
    right_title: &str,
    right: &CertSummary,
) -> String {
    let (ldns, lips) = names(left);
    let (rdns, rips) = names(right);
    let rows = [
        ("Subject", left.subject.clone(), right.subject.clone()),
        ("DNS names", ldns, rdns),
        ("IP addresses", lips, rips),
        ("Issuer", left.issuer.clone(), right.issuer.clone()),
        (
            "Valid from",
            left.not_before.clone(),
            right.not_before.clone(),
        ),
        (
            "Valid until",
            left.not_after.clone(),
            right.not_after.clone(),
        ),
        ("Expires", days(left.days_left), days(right.days_left)),
    ];
    let width = rows
        .iter()
        .map(|(_, l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(left_title.len(), COLUMN_CAP);
    let right_width = rows.iter().map(|(_, _, r)| r.chars().count()).max();
    if columns().is_some_and(|c| VALUE_INDENT + width + 2 + right_width.unwrap_or(0) > c) {
        return stacked(left_title, left, right_title, right, &rows);
    }
    let mut out = format!(
        "  {:<LABEL_WIDTH$}{left_title:<width$}  {right_title}\n",
        ""
    );
    for (label, l, r) in rows {
        if l.chars().count() > width {
            let _ = writeln!(
                out,
                "  {label:<LABEL_WIDTH$}{l}\n  {:<LABEL_WIDTH$}{:<width$}  {r}",
                "", ""
            );
        } else {
            let _ = writeln!(out, "  {label:<LABEL_WIDTH$}{l:<width$}  {r}");
        }
    }
    fingerprint_pair(
        &mut out,
        (left_title, &left.sha256),
        (right_title, &right.sha256),
    );
    out
}

/// The comparison on a terminal too narrow for two columns: a value both certificates share once, the
/// others one under the other, each wrapped in its column; fingerprints below.
fn stacked(
    left_title: &str,
    left: &CertSummary,
    right_title: &str,
    right: &CertSummary,
    rows: &[(&str, String, String)],
) -> String {
    let title_width = left_title.len().max(right_title.len());
    let indent = VALUE_INDENT + title_width + 1;
    let mut out = String::new();
    for (label, l, r) in rows {
        if l == r {
            row(&mut out, label, &format!("{l}  (both)"));
        } else {
            out.push_str(&hanging(
                &format!("  {label:<LABEL_WIDTH$}{left_title:<title_width$} "),
                l,
                indent,
            ));
            out.push_str(&hanging(
                &format!("  {:<LABEL_WIDTH$}{right_title:<title_width$} ", ""),
                r,
                indent,
            ));
        }
    }
    fingerprint_pair(
        &mut out,
        (left_title, &left.sha256),
        (right_title, &right.sha256),
    );
    out
}

pub fn mark(status: Status) -> String {
    match status {
        Status::Pass => console::style("PASS").green().to_string(),
        Status::Warn => console::style("WARN").yellow().bold().to_string(),
        Status::Fail => console::style("FAIL").red().bold().to_string(),
    }
}

pub fn checks(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    checks
        .iter()
        .map(|c| {
            hanging(
                &format!("  {}  {:<width$}  ", mark(c.status), c.id),
                &c.detail,
                2 + 4 + 2 + width + 2,
            )
        })
        .collect()
}

fn verify_body(r: &VerifyReport) -> String {
    let mut out = hanging(
        "New material: ",
        &format!("{} ({})", r.material.path.shown(), r.material.format),
        2,
    );
    out.push('\n');
    out.push_str(&side_by_side("INSTALLED", &r.current, "NEW", &r.new));
    out.push_str("\nChecks\n");
    out.push_str(&checks(&r.checks));
    out
}

fn verdict(r: &VerifyReport) -> String {
    let failed = r.checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = r.checks.iter().filter(|c| c.status == Status::Warn).count();
    if failed > 0 {
        format!("INCOMPATIBLE: {failed} check(s) failed; nothing was changed.\n")
    } else if warned > 0 {
        format!("Compatible, with {warned} warning(s).\n")
    } else {
        "Compatible: every check passed.\n".into()
    }
}

fn verify(r: &VerifyReport) -> String {
    format!("{}\n{}", verify_body(r), verdict(r))
}

/// The checks as the interactive flow shows them, before any question.
pub fn verify_details(r: &VerifyReport) -> String {
    verify(r)
}

/// The final text after an interactive run, which has shown the certificates, checks and steps already.
pub fn render_after_prompts(output: &Output) -> String {
    match output {
        Output::Verify(_) => String::new(),
        Output::Renew(r) if r.result == RenewResult::Incompatible => String::new(),
        Output::Renew(r) => renew_outcome(r),
        Output::Rollback(r) => rollback_outcome(r),
        other => render(other),
    }
}

fn status(r: &StatusReport) -> String {
    let mut out = format!(
        "Keystore {} ({}, entry '{}')\n",
        r.keystore.shown(),
        r.format.to_uppercase(),
        r.alias
    );
    out.push_str(&certificate(&r.certificate));
    let chain: Vec<&str> = r.chain.iter().map(|c| c.subject.as_str()).collect();
    row(&mut out, "Chain", &chain.join("  ->  "));
    if let Some(p) = &r.pending {
        let names: Vec<&str> = p
            .dns_names
            .iter()
            .chain(p.ip_addresses.iter())
            .map(String::as_str)
            .collect();
        row(
            &mut out,
            "Pending",
            &format!(
                "a request made {} for {} ({}) waits for its signed certificate; key in {}",
                p.created,
                p.subject,
                crate::shown::text(&names.join(", ")),
                p.path.shown()
            ),
        );
    }
    let state = match r.state {
        State::Ok => "OK",
        State::Warning => "WARNING",
        State::Critical => "CRITICAL",
    };
    let _ = writeln!(
        out,
        "\n{state}: the certificate {} (warning within {} days, critical within {}).",
        if r.certificate.days_left < 0 {
            format!("expired {} days ago", -r.certificate.days_left)
        } else if r.state == State::Critical && r.certificate.days_left > r.crit_days {
            format!("is not valid before {}", r.certificate.not_before)
        } else {
            format!("expires in {} days", r.certificate.days_left)
        },
        r.warn_days,
        r.crit_days
    );
    out
}

pub fn plan(p: &Plan) -> String {
    let mut out = String::from("Plan\n");
    for (label, value) in [
        (
            "Replace",
            format!(
                "{} ({}, entry '{}')",
                p.keystore.shown(),
                p.protection,
                crate::shown::text(&p.alias)
            ),
        ),
        ("Backup to", p.backup_dir.shown().to_string()),
        ("Restart", p.restart.clone()),
        ("Confirm", p.health_check.clone()),
        (
            "On failure",
            if p.rollback && p.restart.starts_with("none") {
                "restore the backup".into()
            } else if p.rollback {
                "restore the backup and restart".into()
            } else {
                "leave the new keystore in place (--no-rollback)".to_string()
            },
        ),
    ] {
        row(&mut out, label, &value);
    }
    out
}

pub fn steps(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| {
            hanging(
                &format!("  {:<10} {:>6} ms  ", s.name, s.ms),
                s.detail.as_deref().unwrap_or(""),
                24,
            )
        })
        .collect()
}

fn renew(r: &RenewReport) -> String {
    let mut out = verify_body(&r.verify);
    out.push('\n');
    out.push_str(&plan(&r.plan));
    if !r.steps.is_empty() {
        out.push_str("\nSteps\n");
        out.push_str(&steps(&r.steps));
    }
    out.push_str(&renew_outcome(r));
    out
}

/// What became of a renewal, and what to do next.
fn renew_outcome(r: &RenewReport) -> String {
    let mut out = String::from("\n");
    match r.result {
        RenewResult::Renewed => {
            out.push_str(&paragraph(
                &format!(
                    "Renewed: {} now holds the new certificate ({}).",
                    r.keystore.shown(),
                    days(r.verify.new.days_left)
                ),
                0,
            ));
            if let Some(ms) = r.downtime_ms {
                let _ = writeln!(
                    out,
                    "The gateway serves it; it was unreachable for {:.1} s.",
                    ms as f64 / 1000.0
                );
            }
            if let Some(b) = &r.backup {
                out.push_str(&hanging("Backup: ", &b.shown().to_string(), 8));
                out.push_str(&command_line(
                    "To undo: ",
                    &format!("{} {}", r.plan.undo, crate::shown::quote(b.as_os_str())),
                ));
            }
            let _ = writeln!(out, "Next renewal due in {} days.", r.verify.new.days_left);
        }
        RenewResult::DryRun => {
            let warned = r
                .verify
                .checks
                .iter()
                .filter(|c| c.status == Status::Warn)
                .count();
            if warned == 0 {
                out.push_str("Dry run: every check passed; nothing was changed.\n");
            } else {
                let _ = writeln!(
                    out,
                    "Dry run: compatible, with {warned} warning(s); nothing was changed."
                );
            }
        }
        RenewResult::Incompatible => out.push_str(&verdict(&r.verify)),
        RenewResult::RolledBack | RenewResult::RollbackFailed => {
            out.push_str(&paragraph(
                &format!(
                    "{}: {}",
                    if r.result == RenewResult::RolledBack {
                        "ROLLED BACK"
                    } else {
                        "FAILED"
                    },
                    r.error.as_deref().unwrap_or("")
                ),
                0,
            ));
            if let (RenewResult::RolledBack, Some(ms)) = (r.result, r.downtime_ms) {
                out.push_str(&paragraph(
                    &format!(
                        "The gateway serves the old certificate again; it was unreachable or refused for {:.1} s.",
                        ms as f64 / 1000.0
                    ),
                    0,
                ));
            }
            out.push_str(&manual(&r.manual_steps));
        }
    }
    out
}

fn manual(steps: &[String]) -> String {
    if steps.is_empty() {
        return String::new();
    }
    let mut out = String::from("Do this by hand, as root:\n");
    for (n, s) in steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {s}", n + 1);
    }
    out
}

fn rollback(r: &RollbackReport) -> String {
    let mut out = format!("Restore {} from {}\n", r.keystore.shown(), r.backup.shown());
    out.push_str(&steps(&r.steps));
    out.push_str(&rollback_outcome(r));
    out
}

/// What became of a rollback (its steps were shown as they ran, or above).
fn rollback_outcome(r: &RollbackReport) -> String {
    let mut out = String::new();
    match r.result {
        RollbackResult::Restored => {
            if let Some(saved) = &r.saved_current {
                let _ = writeln!(
                    out,
                    "The keystore it replaced was saved as {}.",
                    saved.shown()
                );
            }
            if let Some(ms) = r.downtime_ms {
                let _ = writeln!(
                    out,
                    "The gateway serves it again; it was unreachable for {:.1} s.",
                    ms as f64 / 1000.0
                );
            }
            out.push_str("\nRestored. The keystore holds again:\n");
            if let Some(c) = &r.certificate {
                out.push_str(&certificate(c));
            }
        }
        RollbackResult::Failed => {
            let _ = writeln!(out, "\nFAILED: {}", r.error.as_deref().unwrap_or(""));
            out.push_str(&manual(&r.manual_steps));
        }
    }
    out
}

fn backups(list: &[BackupEntry]) -> String {
    if list.is_empty() {
        return "No backups.\n".into();
    }
    let mut out = String::new();
    for b in list {
        let _ = writeln!(
            out,
            "{}  (made {}){}",
            b.path.shown(),
            b.created,
            if b.removed_by_next_renewal {
                "  [removed by the next renewal: --keep-backups]"
            } else {
                ""
            }
        );
        match (&b.certificate, &b.error) {
            (Some(c), _) => {
                let _ = writeln!(
                    out,
                    "  {}, until {} ({}), SHA-256 {}",
                    c.subject,
                    c.not_after,
                    days(c.days_left),
                    c.sha256
                );
            }
            (None, Some(e)) => {
                let _ = writeln!(out, "  cannot be read: {e}");
            }
            _ => {}
        }
    }
    out
}

fn csr(r: &CsrReport) -> String {
    let names: Vec<String> = r
        .dns_names
        .iter()
        .map(|d| format!("DNS {}", crate::shown::text(d)))
        .chain(r.ip_addresses.iter().map(|i| format!("IP {i}")))
        .collect();
    let mut out = format!("Certificate request written to {}\n", r.csr.shown());
    for (label, value) in [
        ("Subject", r.subject.clone()),
        ("Names", names.join(", ")),
        (
            "Key",
            format!(
                "{} (born here; it stays in {})",
                r.key_type,
                r.pending_key.shown()
            ),
        ),
    ] {
        row(&mut out, label, &value);
    }
    fingerprint_row(
        &mut out,
        &format!("  {:<LABEL_WIDTH$}", "SHA-256"),
        &r.sha256,
    );
    if r.replaced_pending {
        out.push_str("  (an earlier pending key was replaced)\n");
    }
    out.push_str("\nNext:\n");
    for (n, step) in r.next_steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {step}", n + 1);
    }
    out
}

fn sandbox_files(r: &SandboxReport) -> String {
    let mut out = format!("Sandbox ICG installation created in {}\n", r.root.shown());
    let _ = writeln!(out, "  configuration  {}\n  keystore       {} (server certificate expires in 10 days)\n  new material   {}", r.config.shown(), r.keystore.shown(), r.new_material.shown());
    out
}

fn sandbox(r: &SandboxReport) -> String {
    let mut out = sandbox_files(r);
    out.push_str("\nTry:\n");
    for c in &r.commands {
        out.push_str(&command_line("  ", c));
    }
    out
}

fn demo(r: &DemoReport) -> String {
    let mut out = String::from("== 1. A throwaway ICG installation ==\n");
    out.push_str(&sandbox_files(&r.sandbox));
    out.push_str("\n== 2. What the gateway serves now ==\n");
    out.push_str(&status(&r.before));
    out.push_str("\n== 3. Renew with the new material (restart and confirmation skipped: no gateway runs in the sandbox) ==\n");
    out.push_str(&renew(&r.renew));
    out.push_str("\n== 4. The keystore read back after the renewal ==\n");
    out.push_str(&status(&r.after));
    if r.kept {
        let _ = writeln!(
            out,
            "\nThe sandbox was kept: {}. Try:",
            r.sandbox.root.shown()
        );
        for c in &r.sandbox.commands {
            out.push_str(&command_line("  ", c));
        }
    } else {
        let icg = crate::invocation::program();
        let _ = writeln!(
            out,
            "\nThe sandbox was removed (the undo line above has nothing left to undo). Run `{icg} sandbox DIR` (or `{icg} demo --keep`) to keep one and try every command in it."
        );
    }
    out
}

fn inbox(r: &InboxReport) -> String {
    let mut out = String::new();
    for older in &r.superseded {
        let _ = writeln!(out, "Superseded by newer material: {}", older.shown());
    }
    if let Some(waiting) = &r.still_being_written {
        let _ = writeln!(
            out,
            "Nothing taken: {} is still being written; it is taken once it has settled.",
            waiting.shown()
        );
    }
    match (&r.taken, &r.renew, &r.error) {
        (None, _, _) if r.still_being_written.is_none() => {
            let _ = writeln!(out, "No material in {}.", r.dir.shown());
        }
        (Some(taken), Some(renew_report), _) => {
            let _ = writeln!(out, "Material {}", taken.shown());
            out.push_str(&renew(renew_report));
        }
        (Some(taken), None, Some(error)) => {
            let _ = writeln!(out, "Material {}: {error}", taken.shown());
        }
        _ => {}
    }
    if let (Some(filed), Some(result)) = (&r.filed_as, &r.result_file) {
        let _ = writeln!(
            out,
            "Filed as {}, result in {}",
            filed.shown(),
            result.shown()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_after_spaces_commas_and_slashes_and_never_inside_a_long_piece() {
        assert_eq!(
            wrap("CN=icg.sandbox.test,O=icg-renew sandbox", Some(20)),
            ["CN=icg.sandbox.test,", "O=icg-renew sandbox"]
        );
        let fingerprint = "AB:".repeat(31) + "AB";
        assert_eq!(wrap(&fingerprint, Some(20)), [fingerprint]);
        assert_eq!(wrap("one two", None), ["one two"]);
        assert_eq!(wrap_after("aa bb cc", Some(2), Some(5)), ["aa", "bb cc"]);
    }

    fn summary(subject: &str, days_left: i64, fill: &str) -> CertSummary {
        CertSummary {
            subject: subject.into(),
            issuer: "CN=Gateway Root CA,O=Example Corporation Ltd".into(),
            serial: "01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            days_left,
            sha256: vec![fill; 32].join(":"),
            dns_names: vec!["gateway.example.com".into(), "icg.example.com".into()],
            ip_addresses: vec!["192.0.2.10".into()],
            is_ca: false,
        }
    }

    /// One test, because the width is one setting for the process.
    #[test]
    fn the_comparison_stacks_on_a_narrow_terminal_and_is_not_wrapped_without_one() {
        let old = summary("CN=icg.example.com,O=Example Corporation Ltd", 10, "AB");
        let new = summary("CN=icg.example.com,O=Example Corporation Ltd", 364, "CD");
        fit_to(Some(80));
        let narrow = side_by_side("INSTALLED", &old, "NEW", &new);
        fit_to(None);
        let wide = side_by_side("INSTALLED", &old, "NEW", &new);
        for line in narrow.lines() {
            assert!(line.chars().count() <= 80, "{line}\n{narrow}");
        }
        // Shared values once, the differing ones one under the other, each fingerprint whole on a line.
        assert!(
            narrow.contains("CN=icg.example.com,O=Example Corporation Ltd  (both)"),
            "{narrow}"
        );
        assert!(narrow.contains("INSTALLED 10 days left"), "{narrow}");
        assert!(narrow.contains("NEW       364 days left"), "{narrow}");
        assert!(
            narrow.lines().any(|l| l.trim() == "AB".repeat(32)),
            "{narrow}"
        );
        assert!(
            narrow.lines().any(|l| l.trim() == "CD".repeat(32)),
            "{narrow}"
        );
        // Without a terminal: the two columns and the fingerprints with their colons, whatever the width.
        assert!(wide.lines().any(|l| l.chars().count() > 80), "{wide}");
        assert!(
            wide.contains(&old.sha256) && wide.contains(&new.sha256),
            "{wide}"
        );
        assert!(!wide.contains("(both)"), "{wide}");
    }
}
