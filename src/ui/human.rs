//! Human-readable text for every command's answer: the status, the checks' verdict, the plan, the steps with
//! timings, the outcome and what to do next. Layout is `ui::layout`; certificates and checks are `ui::compare`.

use super::compare::*;
use super::layout::*;
use icg_renew::checks::Status;
use icg_renew::report::*;
use icg_renew::service::Restart;
use icg_renew::shown::Shown;
use std::fmt::Write;

/// The text of a command's answer.
pub fn render(output: &Output) -> String {
    match output {
        Output::Status(r) => format!("{}\n{}", icg_renew::monitoring::summary_line(r), status(r)),
        Output::Verify(r) => verify(r),
        Output::Renew(r) => renew(r),
        Output::Rollback(r) => rollback(r),
        Output::Backups(r) => backups(r),
        Output::Sandbox(r) => sandbox(r),
        Output::Csr(r) => csr(r),
        Output::Demo(r) => demo(r),
        Output::Inbox(r) => inbox(r),
        Output::Scheduled(r) => scheduled(r),
    }
}

/// `renew --at` and `scheduled`.
fn scheduled(r: &icg_renew::report::ScheduledReport) -> String {
    let mut out = String::new();
    if let (Some(id), Some(at)) = (&r.id, &r.at) {
        out.push_str(&format!("Scheduled: renewal {id} at {at}.\n"));
        for old in &r.replaced {
            out.push_str(&format!("It replaces the earlier scheduling {old}.\n"));
        }
        if let Some(how) = &r.runs_by {
            out.push_str(&format!("{how}\n"));
        }
        out.push_str(&list_and_cancel(id, &r.spool));
    }
    if let Some(id) = &r.cancelled {
        out.push_str(&format!(
            "Cancelled {id}; its material was overwritten and removed.\n"
        ));
    }
    for ran in &r.ran {
        out.push_str(&format!(
            "Ran {}: {} (exit {}){}\n",
            ran.id,
            ran.result,
            ran.exit_code,
            ran.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    for w in &r.moved {
        out.push_str(&format!(
            "Missed by more than 12 hours: {} moves to {}.\n",
            w.id, w.at
        ));
    }
    for refused in &r.refused {
        out.push_str(&format!(
            "Refused (not run): {} in {}: {}\n",
            refused.name,
            r.spool.shown(),
            refused.why
        ));
    }
    if r.waiting.is_empty() {
        out.push_str("No renewal is waiting.\n");
    }
    for w in &r.waiting {
        out.push_str(&format!("{}  {}  {}\n", w.at, w.id, w.keystore.shown()));
        // The fingerprint whole on one line, whatever the terminal's width.
        fingerprint_row(&mut out, "    new leaf SHA-256 ", &w.new_sha256);
        out.push_str(&format!(
            "    expires {}; scheduled {} by {}\n",
            w.new_not_after, w.scheduled, w.how
        ));
    }
    out
}

/// How to list the scheduled renewals and cancel the one just scheduled.
fn list_and_cancel(id: &str, spool: &std::path::Path) -> String {
    let mut list: Vec<std::ffi::OsString> = vec!["scheduled".into()];
    if spool != std::path::Path::new(icg_renew::schedule::DEFAULT_DIR) {
        list.extend(["--schedule-dir".into(), spool.as_os_str().to_os_string()]);
    }
    let mut cancel = list.clone();
    cancel.extend(["--cancel".into(), id.into()]);
    let icg = icg_renew::invocation::program();
    format!(
        "To list: {icg} {}\nTo cancel: {icg} {}\n",
        icg_renew::shown::command(&list),
        icg_renew::shown::command(&cancel)
    )
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
    if let Some(w) = &r.scheduled {
        row(
            &mut out,
            "Scheduled",
            &format!(
                "a renewal waits for {} (id {}, new leaf SHA-256 {}, expires {})",
                w.at, w.id, w.new_sha256, w.new_not_after
            ),
        );
    }
    row(&mut out, "Gateway", &served(r.served.as_ref()));
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
                icg_renew::shown::text(&names.join(", ")),
                p.path.shown()
            ),
        );
    }
    let state = match r.state {
        State::Ok => "OK",
        State::Warning => "WARNING",
        State::Critical => "CRITICAL",
    };
    let reason = match icg_renew::monitoring::gateway_reason(r) {
        Some(reason) if r.state > r.expiry_state => format!("{reason}; "),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "\n{state}: {reason}the certificate {} (warning within {} days, critical within {}).",
        if r.certificate.days_left < 0 {
            format!("expired {} days ago", -r.certificate.days_left)
        } else if r.expiry_state == State::Critical && r.certificate.days_left > r.crit_days {
            format!("is not valid before {}", r.certificate.not_before)
        } else {
            format!("expires in {} days", r.certificate.days_left)
        },
        r.warn_days,
        r.crit_days
    );
    out
}

/// What the running gateway serves and says, in one sentence.
fn served(served: Option<&ServedReport>) -> String {
    let Some(s) = served else {
        return "not asked".into();
    };
    if !s.reachable {
        return format!(
            "not answering on 127.0.0.1:{} ({}): the state is judged by the keystore alone",
            s.port,
            icg_renew::shown::text(s.note.as_deref().unwrap_or("no answer"))
        );
    }
    let what = match (s.same_as_keystore, &s.sha256) {
        (Some(false), Some(fp)) => format!(
            "serves another certificate than its keystore holds (SHA-256 {fp}): restarted since the keystore changed?"
        ),
        _ => "serves the keystore's certificate".to_string(),
    };
    let says = match (s.icg_status, &s.note) {
        (Some(status), _) => format!("the ICG says {}", status.explained()),
        (None, Some(note)) => icg_renew::shown::text(note),
        (None, None) => "no verdict".into(),
    };
    format!("127.0.0.1:{} {what}; {says}", s.port)
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
                icg_renew::shown::text(&p.alias)
            ),
        ),
        ("Backup to", p.backup_dir.shown().to_string()),
        ("Restart", p.restart.describe()),
        ("Confirm", p.health_check.describe()),
        (
            "On failure",
            if p.rollback && p.restart == Restart::None {
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
                    &format!("{} {}", r.plan.undo, icg_renew::shown::quote(b.as_os_str())),
                ));
            }
            let _ = writeln!(out, "Next renewal due in {} days.", r.verify.new.days_left);
            out.push_str(&paragraph(
                &format!(
                    "In the UMS (Cloud Gateway Options), check that the certificate with SHA-1 {} is marked as used.",
                    r.verify.new.sha1
                ),
                0,
            ));
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
                        "The gateway serves the old certificate again, {:.1} s after the first restart.",
                        ms as f64 / 1000.0
                    ),
                    0,
                ));
            }
            out.push_str(&manual(&r.manual_steps));
        }
        RenewResult::Failed => out.push_str(&paragraph(&not_replaced(r), 0)),
    }
    out
}

/// A renewal that failed before the rename, in one line. The failing step already shows the error (live
/// on a terminal, or in the steps above), so the line names the step instead of repeating it.
fn not_replaced(r: &RenewReport) -> String {
    let Some(failed) = r.steps.iter().find(|s| s.failed) else {
        return format!("FAILED: {}", r.error.as_deref().unwrap_or(""));
    };
    let backup_made = r.steps.iter().any(|s| s.name == "backup" && !s.failed);
    format!(
        "FAILED at the {} step: nothing was replaced; the installed keystore {} is untouched{}.",
        failed.name,
        r.keystore.shown(),
        if backup_made && r.backup.is_none() {
            ", and the backup made for this run was removed"
        } else {
            ""
        }
    )
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
                out.push_str(&command_line(
                    "To undo this rollback: ",
                    &format!("{} {}", r.undo, icg_renew::shown::quote(saved.as_os_str())),
                ));
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
                out.push_str(&paragraph(
                    &format!(
                        "{}, until {} ({})",
                        c.subject,
                        c.not_after,
                        days(c.days_left)
                    ),
                    2,
                ));
                // Each fingerprint on its own row, whole or in halves at a colon (never inside a byte).
                fingerprint_row(&mut out, "  SHA-256  ", &c.sha256);
                fingerprint_row(&mut out, "  SHA-1    ", &c.sha1);
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
        .map(|d| format!("DNS {}", icg_renew::shown::text(d)))
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
    out.push_str("\n== 2. What the keystore holds now (no gateway runs in the sandbox) ==\n");
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
        let icg = icg_renew::invocation::program();
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
        (Some(taken), None, None) if r.scheduled.is_some() => {
            let _ = writeln!(out, "Material {}", taken.shown());
            out.push_str(&r.scheduled.as_deref().map(scheduled).unwrap_or_default());
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
