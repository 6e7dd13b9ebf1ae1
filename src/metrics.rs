//! `status --prometheus FILE`: the certificate's state in the node_exporter textfile-collector format
//! (Prometheus text exposition format 0.0.4), and the outcome of the last renewal, which it reads from the
//! audit log (see docs/decisions.md: the audit log is the one record every renewal already writes).

use crate::report::StatusReport;
use crate::service::IcgStatus;
use crate::shown::Shown;
use crate::utc::{parse_compact_utc, UnixTime};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The results `icg_renew_last_result` has a series for, as the contract lists them.
pub const RESULTS: [&str; 4] = ["renewed", "rolled-back", "rollback-failed", "incompatible"];

/// How much of the end of the audit log is read to find the last renewal (a renewal writes a few lines).
const LOG_TAIL: u64 = 1024 * 1024;

/// The outcome of the last renewal of a keystore, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRenewal {
    pub at: UnixTime,
    /// One of `RESULTS`.
    pub result: &'static str,
}

/// What a metrics file says.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// `not_after` (Unix seconds) and whole days left; `None` when the keystore could not be read.
    pub certificate: Option<(UnixTime, i64)>,
    /// `status`'s exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub status: i32,
    pub last_renewal: Option<LastRenewal>,
    /// When a renewal scheduled with `renew --at` will run (Unix seconds).
    pub scheduled: Option<UnixTime>,
    /// What the running gateway served and said; `None` when it was not asked (`--no-probe`).
    pub gateway: Option<GatewayMetrics>,
}

/// The running gateway as `status` saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayMetrics {
    /// Whether it served the keystore's leaf (`None`: it did not answer).
    pub served_matches_keystore: Option<bool>,
    /// The ICG's check-status verdict (`None`: no answer, no endpoint, or it cannot be asked).
    pub status: Option<IcgStatus>,
}

/// The values `icg_renew_gateway_status` has a series for: the ICG's verdicts, and `unknown` for none.
pub const GATEWAY_STATUSES: [&str; 5] = ["init", "ok", "warn", "err", "unknown"];

impl Metrics {
    /// The metrics of a status report.
    pub fn of(report: &StatusReport, status: i32, last_renewal: Option<LastRenewal>) -> Metrics {
        Metrics {
            certificate: parse_rfc3339(&report.certificate.not_after)
                .map(|not_after| (not_after, report.certificate.days_left)),
            status,
            last_renewal,
            scheduled: None,
            gateway: report.served.as_ref().map(|s| GatewayMetrics {
                served_matches_keystore: s.same_as_keystore,
                status: s.icg_status,
            }),
        }
    }

    /// The same, with the time of a scheduled renewal.
    pub fn with_scheduled(self, scheduled: Option<UnixTime>) -> Metrics {
        Metrics { scheduled, ..self }
    }

    /// The textfile: HELP and TYPE before each metric family, one sample per line, a final newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, help: &str, samples: &[(String, i64)]| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for (labels, value) in samples {
                out.push_str(&format!("{name}{labels} {value}\n"));
            }
        };
        if let Some((not_after, days_left)) = self.certificate {
            family(
                "icg_renew_certificate_not_after_timestamp_seconds",
                "When the certificate the ICG serves from its keystore expires (Unix time).",
                &[(String::new(), not_after)],
            );
            family(
                "icg_renew_certificate_days_left",
                "Whole days until the ICG's certificate expires (negative once expired).",
                &[(String::new(), days_left)],
            );
        }
        family(
            "icg_renew_status",
            "Exit code of icg-renew status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            &[(String::new(), i64::from(self.status))],
        );
        if let Some(gateway) = &self.gateway {
            if let Some(same) = gateway.served_matches_keystore {
                family(
                    "icg_renew_served_matches_keystore",
                    "1 when the running gateway serves the certificate its keystore holds, 0 when it serves another.",
                    &[(String::new(), i64::from(same))],
                );
            }
            let current = gateway.status.map_or("unknown", IcgStatus::name);
            let samples: Vec<(String, i64)> = GATEWAY_STATUSES
                .iter()
                .map(|s| (format!("{{status=\"{s}\"}}"), i64::from(*s == current)))
                .collect();
            family(
                "icg_renew_gateway_status",
                "The ICG's own verdict from /usg/check-status: 1 for the one it gave, 0 for the others (unknown: no verdict).",
                &samples,
            );
        }
        if let Some(last) = &self.last_renewal {
            family(
                "icg_renew_last_renewal_timestamp_seconds",
                "When icg-renew last tried to renew this keystore (Unix time).",
                &[(String::new(), last.at)],
            );
            let samples: Vec<(String, i64)> = RESULTS
                .iter()
                .map(|r| (format!("{{result=\"{r}\"}}"), i64::from(*r == last.result)))
                .collect();
            family(
                "icg_renew_last_result",
                "Outcome of the last renewal: 1 for the result it had, 0 for the others.",
                &samples,
            );
        }
        if let Some(at) = self.scheduled {
            family(
                "icg_renew_scheduled_timestamp_seconds",
                "When a renewal scheduled with renew --at will run (Unix time).",
                &[(String::new(), at)],
            );
        }
        out
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (what `utc::rfc3339` writes).
pub fn parse_rfc3339(text: &str) -> Option<UnixTime> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let compact: String = text.chars().filter(|c| *c != '-' && *c != ':').collect();
    parse_compact_utc(&compact)
}

/// The last renewal of `keystore` recorded in the audit log `log` (none in a log just rotated: logrotate
/// compresses the old one).
pub fn last_renewal(log: &Path, keystore: &Path) -> Option<LastRenewal> {
    last_renewal_in(&read_tail(log)?, keystore)
}

/// The end of a regular file (resolved once, never through a link), whole lines only.
fn read_tail(path: &Path) -> Option<String> {
    let at = crate::fsx::resolve_parent(path, crate::fsx::Trust::OUTPUT).ok()?;
    let (mut file, stat) = at
        .dir
        .open_regular(
            &at.name,
            rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
            "read the audit log",
        )
        .ok()?;
    let start = (stat.st_size as u64).saturating_sub(LOG_TAIL);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.take(LOG_TAIL).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Some(if start > 0 {
        text.split_once('\n')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default()
    } else {
        text
    })
}

/// The last line in `text` that ends a renewal of `keystore`.
pub fn last_renewal_in(text: &str, keystore: &Path) -> Option<LastRenewal> {
    let keystore = crate::shown::text(&keystore.shown());
    text.lines().rev().find_map(|line| {
        let (time, rest) = line.split_once(' ')?;
        let fields = audit_fields(rest);
        let field = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        if !matches!(field("command"), Some("renew" | "inbox")) || field("keystore")? != keystore {
            return None;
        }
        let result = match (field("action")?, field("compatible")) {
            // A renewal that failed before the rename changed nothing: the last result stands.
            ("failed", _) if field("replaced") == Some("no") => return None,
            ("renewed", _) => RESULTS[0],
            ("rolled-back", _) => RESULTS[1],
            // `failed` stands last only when nothing was restored (--no-rollback).
            ("rollback-failed" | "failed", _) => RESULTS[2],
            ("checks", Some("no")) => RESULTS[3],
            _ => return None,
        };
        Some(LastRenewal {
            at: parse_rfc3339(time)?,
            result,
        })
    })
}

/// `key=value` and `key="value with spaces"` fields of an audit line (see `audit::AuditLog::record`).
fn audit_fields(text: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = text.trim_start();
    while let Some((key, after)) = rest.split_once('=') {
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.split_once('"') {
                Some((v, next)) => (v, next),
                None => (quoted, ""),
            },
            None => after.split_once(' ').unwrap_or((after, "")),
        };
        fields.push((key.to_string(), value.to_string()));
        rest = next.trim_start();
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
2026-11-01T10:00:00Z uid=0 pid=7 command=renew action=checks keystore=/ks material=/m.p12 compatible=no
2026-11-02T10:00:00Z uid=0 pid=8 command=renew action=checks keystore=/ks compatible=yes
2026-11-02T10:00:01Z uid=0 pid=8 command=renew action=renewed keystore=/ks new_sha256=AB downtime_ms=\"\"
2026-11-03T10:00:00Z uid=0 pid=9 command=rollback action=rollback-failed keystore=/ks
2026-11-04T10:00:00Z uid=0 pid=10 command=renew action=renewed keystore=/other
";

    #[test]
    fn the_last_renewal_of_the_keystore_is_found_and_other_commands_and_keystores_ignored() {
        let last = last_renewal_in(LOG, Path::new("/ks")).unwrap();
        assert_eq!(last.result, "renewed");
        assert_eq!(Some(last.at), parse_rfc3339("2026-11-02T10:00:01Z"));
        let first_line: String = LOG.lines().next().unwrap().to_string();
        assert_eq!(
            last_renewal_in(&first_line, Path::new("/ks"))
                .unwrap()
                .result,
            "incompatible"
        );
        assert_eq!(last_renewal_in(LOG, Path::new("/none")), None);
    }

    #[test]
    fn a_rollback_after_a_failure_is_the_result() {
        let log = "2026-11-02T10:00:01Z uid=0 pid=8 command=renew action=failed keystore=\"/k s\" error=\"no answer\"\n\
                   2026-11-02T10:00:09Z uid=0 pid=8 command=renew action=rolled-back keystore=\"/k s\" backup=/b\n";
        assert_eq!(
            last_renewal_in(log, Path::new("/k s")).unwrap().result,
            "rolled-back"
        );
    }

    /// A renewal stopped before the rename (a full disk) changed nothing: the renewal before it is still
    /// the last result, not `rollback-failed`.
    #[test]
    fn a_failure_before_the_rename_leaves_the_last_result() {
        let log = format!(
            "{LOG}2026-11-05T10:00:00Z uid=0 pid=11 command=renew action=backup keystore=/ks backup=/ks.bak\n\
             2026-11-05T10:00:01Z uid=0 pid=11 command=renew action=failed keystore=/ks replaced=no \
             backup_removed=/ks.bak error=\"cannot write\"\n"
        );
        let last = last_renewal_in(&log, Path::new("/ks")).unwrap();
        assert_eq!(last.result, "renewed");
        assert_eq!(Some(last.at), parse_rfc3339("2026-11-02T10:00:01Z"));
    }

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(parse_rfc3339("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(parse_rfc3339("1970-01-02 00:00:01"), None);
    }
}
