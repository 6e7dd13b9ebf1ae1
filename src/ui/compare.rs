//! Certificates as the operator reads them: one certificate, two side by side (stacked on a narrow
//! terminal), and the checks with their marks.

use super::layout::*;
use icg_renew::cert::CertSummary;
use icg_renew::checks::{Check, Status};
use std::fmt::Write;

pub(crate) fn names(c: &CertSummary) -> (String, String) {
    let or_none = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            icg_renew::shown::text(&v.join(", "))
        }
    };
    (or_none(&c.dns_names), or_none(&c.ip_addresses))
}

pub(crate) fn days(n: i64) -> String {
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
    fingerprint_row(&mut out, &format!("  {:<LABEL_WIDTH$}", "SHA-1"), &c.sha1);
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
        "SHA-256",
        (left_title, &left.sha256),
        (right_title, &right.sha256),
    );
    fingerprint_pair(
        &mut out,
        "SHA-1",
        (left_title, &left.sha1),
        (right_title, &right.sha1),
    );
    out
}

/// The comparison on a terminal too narrow for two columns: a value both certificates share once, the
/// others one under the other, each wrapped in its column; fingerprints below.
pub(crate) fn stacked(
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
        "SHA-256",
        (left_title, &left.sha256),
        (right_title, &right.sha256),
    );
    fingerprint_pair(
        &mut out,
        "SHA-1",
        (left_title, &left.sha1),
        (right_title, &right.sha1),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(subject: &str, days_left: i64, fill: &str) -> CertSummary {
        CertSummary {
            subject: subject.into(),
            issuer: "CN=Gateway Root CA,O=Example Corporation Ltd".into(),
            serial: "01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            days_left,
            sha256: vec![fill; 32].join(":"),
            sha1: vec![fill; 20].join(":"),
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
        // Shared values once, the differing ones one under the other, each fingerprint with its colons,
        // in two halves at a colon (never inside a byte).
        assert!(
            narrow.contains("CN=icg.example.com,O=Example Corporation Ltd  (both)"),
            "{narrow}"
        );
        assert!(narrow.contains("INSTALLED 10 days left"), "{narrow}");
        assert!(narrow.contains("NEW       364 days left"), "{narrow}");
        for fill in ["AB", "CD"] {
            let half = vec![fill; 16].join(":");
            assert!(
                narrow.lines().any(|l| l.trim() == format!("{half}:")),
                "{narrow}"
            );
            assert!(narrow.lines().any(|l| l.trim() == half), "{narrow}");
        }
        // Without a terminal: the two columns and the fingerprints with their colons, whatever the width.
        assert!(wide.lines().any(|l| l.chars().count() > 80), "{wide}");
        assert!(
            wide.contains(&old.sha256) && wide.contains(&new.sha256),
            "{wide}"
        );
        assert!(!wide.contains("(both)"), "{wide}");
    }
}
