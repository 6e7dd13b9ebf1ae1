//! Human-readable text for every output: certificates side by side, checks with their marks and reasons,
//! the plan, the steps with timings, and what to do next.

use crate::cert::CertSummary;
use crate::checks::{Check, Status};
use crate::report::*;
use std::fmt::Write;

const LABEL_WIDTH: usize = 14;
const COLUMN_CAP: usize = 46;

pub fn render(output: &Output) -> String {
    match output {
        Output::Status(r) => status(r),
        Output::Verify(r) => verify(r),
        Output::Renew(r) => renew(r),
        Output::Rollback(r) => rollback(r),
        Output::Backups(r) => backups(r),
        Output::Sandbox(r) => sandbox(r),
        Output::Csr(r) => csr(r),
        Output::Demo(r) => demo(r),
    }
}

fn names(c: &CertSummary) -> (String, String) {
    let or_none = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
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
        ("SHA-256", c.sha256.clone()),
    ] {
        let _ = writeln!(out, "  {label:<LABEL_WIDTH$}{value}");
    }
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
    let _ = writeln!(
        out,
        "  {:<LABEL_WIDTH$}{left_title}: {}",
        "SHA-256", left.sha256
    );
    let _ = writeln!(out, "  {:<LABEL_WIDTH$}{right_title}: {}", "", right.sha256);
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
        .map(|c| format!("  {}  {:<width$}  {}\n", mark(c.status), c.id, c.detail))
        .collect()
}

fn verify_body(r: &VerifyReport) -> String {
    let mut out = format!(
        "New material: {} ({})\n\n",
        r.material.path.display(),
        r.material.format
    );
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
        other => render(other),
    }
}

fn status(r: &StatusReport) -> String {
    let mut out = format!(
        "Keystore {} ({}, entry '{}')\n",
        r.keystore.display(),
        r.format.to_uppercase(),
        r.alias
    );
    out.push_str(&certificate(&r.certificate));
    let chain: Vec<&str> = r.chain.iter().map(|c| c.subject.as_str()).collect();
    let _ = writeln!(out, "  {:<LABEL_WIDTH$}{}", "Chain", chain.join("  ->  "));
    if let Some(p) = &r.pending {
        let names: Vec<&str> = p
            .dns_names
            .iter()
            .chain(p.ip_addresses.iter())
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            out,
            "  {:<LABEL_WIDTH$}a request made {} for {} ({}) waits for its signed certificate; key in {}",
            "Pending",
            p.created,
            p.subject,
            names.join(", "),
            p.path.display()
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
                p.keystore.display(),
                p.protection,
                p.alias
            ),
        ),
        ("Backup to", p.backup_dir.display().to_string()),
        ("Restart", p.restart.clone()),
        ("Confirm", p.health_check.clone()),
        (
            "On failure",
            if p.rollback {
                "restore the backup and restart".into()
            } else {
                "leave the new keystore in place (--no-rollback)".to_string()
            },
        ),
    ] {
        let _ = writeln!(out, "  {label:<LABEL_WIDTH$}{value}");
    }
    out
}

pub fn steps(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| {
            format!(
                "  {:<10} {:>6} ms  {}\n",
                s.name,
                s.ms,
                s.detail.as_deref().unwrap_or("")
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
            let _ = writeln!(
                out,
                "Renewed: {} now holds the new certificate ({}).",
                r.keystore.display(),
                days(r.verify.new.days_left)
            );
            if let Some(ms) = r.downtime_ms {
                let _ = writeln!(
                    out,
                    "The gateway serves it; it was unreachable for {:.1} s.",
                    ms as f64 / 1000.0
                );
            }
            if let Some(b) = &r.backup {
                let _ = writeln!(
                    out,
                    "Backup: {}\nTo undo: {} {}",
                    b.display(),
                    r.plan.undo,
                    b.display()
                );
            }
            let _ = writeln!(out, "Next renewal due in {} days.", r.verify.new.days_left);
        }
        RenewResult::DryRun => out.push_str("Dry run: every check passed; nothing was changed.\n"),
        RenewResult::Incompatible => out.push_str(&verdict(&r.verify)),
        RenewResult::RolledBack | RenewResult::RollbackFailed => {
            let _ = writeln!(
                out,
                "{}: {}",
                if r.result == RenewResult::RolledBack {
                    "ROLLED BACK"
                } else {
                    "FAILED"
                },
                r.error.as_deref().unwrap_or("")
            );
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
    let mut out = format!(
        "Restore {} from {}\n",
        r.keystore.display(),
        r.backup.display()
    );
    out.push_str(&steps(&r.steps));
    match r.result {
        RollbackResult::Restored => {
            if let Some(saved) = &r.saved_current {
                let _ = writeln!(
                    out,
                    "The keystore it replaced was saved as {}.",
                    saved.display()
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
        let _ = writeln!(out, "{}  (made {})", b.path.display(), b.created);
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
        .map(|d| format!("DNS {d}"))
        .chain(r.ip_addresses.iter().map(|i| format!("IP {i}")))
        .collect();
    let mut out = format!("Certificate request written to {}\n", r.csr.display());
    for (label, value) in [
        ("Subject", r.subject.clone()),
        ("Names", names.join(", ")),
        (
            "Key",
            format!(
                "{} (born here; it stays in {})",
                r.key_type,
                r.pending_key.display()
            ),
        ),
        ("SHA-256", r.sha256.clone()),
    ] {
        let _ = writeln!(out, "  {label:<LABEL_WIDTH$}{value}");
    }
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
    let mut out = format!("Sandbox ICG installation created in {}\n", r.root.display());
    let _ = writeln!(out, "  configuration  {}\n  keystore       {} (server certificate expires in 10 days)\n  new material   {}", r.config.display(), r.keystore.display(), r.new_material.display());
    out
}

fn sandbox(r: &SandboxReport) -> String {
    let mut out = sandbox_files(r);
    out.push_str("\nTry:\n");
    for c in &r.commands {
        let _ = writeln!(out, "  {c}");
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
            r.sandbox.root.display()
        );
        for c in &r.sandbox.commands {
            let _ = writeln!(out, "  {c}");
        }
    } else {
        out.push_str("\nThe sandbox was removed. Run `icg-renew sandbox DIR` (or `demo --keep`) to keep one and try every command in it.\n");
    }
    out
}
