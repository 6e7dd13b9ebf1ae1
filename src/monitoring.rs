//! `status` as a monitoring plugin (Nagios, Icinga, Checkmk): the first line of its plain output is the
//! summary those systems show, `STATE - text | perfdata`, in the plugin guidelines' format. Only text is
//! built here; the exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) is decided in `commands::status`.

use crate::report::{ServedReport, State, StatusReport};
use crate::service::IcgStatus;

/// `status --warn-days` unless given: WARNING within this many days of expiry.
pub const DEFAULT_WARN_DAYS: i64 = 30;
/// `status --crit-days` unless given: CRITICAL within this many days of expiry.
pub const DEFAULT_CRIT_DAYS: i64 = 7;

/// The plugin state word of a status.
pub fn state_word(state: State) -> &'static str {
    match state {
        State::Ok => "OK",
        State::Warning => "WARNING",
        State::Critical => "CRITICAL",
    }
}

/// The state once the running gateway is heard: the ICG's `err` is CRITICAL; a served leaf other than the
/// keystore's is a WARNING unless the expiry makes it worse; `warn` and an unreachable gateway leave the
/// state as the expiry made it (a certificate check is not an uptime check).
pub fn with_gateway(by_expiry: State, served: &ServedReport) -> State {
    let by_gateway = if served.icg_status == Some(IcgStatus::Err) {
        State::Critical
    } else if served.same_as_keystore == Some(false) {
        State::Warning
    } else {
        State::Ok
    };
    by_expiry.max(by_gateway)
}

/// What the gateway said that calls for a state of its own (see `with_gateway`), if anything.
pub fn gateway_reason(report: &StatusReport) -> Option<&'static str> {
    let served = report.served.as_ref()?;
    if served.icg_status == Some(IcgStatus::Err) {
        Some("the ICG says err: it holds no valid certificate")
    } else if served.same_as_keystore == Some(false) {
        Some("the gateway serves another certificate than its keystore holds: restarted since the keystore changed?")
    } else {
        None
    }
}

/// The first line of `status`: `OK - expires in 364 days (2027-12-01) | days_left=364;30;7`.
///
/// The performance data names the thresholds as the contract gives them (`;warn;crit` as plain numbers).
pub fn summary_line(report: &StatusReport) -> String {
    let days = report.certificate.days_left;
    let date = report
        .certificate
        .not_after
        .get(..10)
        .unwrap_or(&report.certificate.not_after);
    let text = if days < 0 {
        format!("expired {} days ago ({date})", -days)
    } else if report.expiry_state == State::Critical && days > report.crit_days {
        // Critical although far from expiry: not valid yet.
        let from = &report.certificate.not_before;
        format!("not valid before {}", from.get(..10).unwrap_or(from))
    } else {
        format!("expires in {days} days ({date})")
    };
    // The gateway's reason leads when it made the state worse than the expiry.
    let text = match gateway_reason(report) {
        Some(reason) if report.state > report.expiry_state => {
            format!("{reason}; the keystore's certificate {text}")
        }
        _ => text,
    };
    format!(
        "{} - {} | days_left={days};{};{}",
        state_word(report.state),
        plugin_text(&text),
        report.warn_days,
        report.crit_days
    )
}

/// The first line when `status` cannot judge the certificate: `UNKNOWN - <why>`, without performance data.
pub fn unknown_line(message: &str) -> String {
    format!("UNKNOWN - {}", plugin_text(message))
}

/// Text that is safe in a plugin's first line: one line, no `|` (it starts the performance data), no
/// control characters (file names in messages come from outside).
fn plugin_text(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(days_left: i64, state: State) -> StatusReport {
        let certificate = crate::cert::CertSummary {
            subject: "CN=icg.example.com".into(),
            issuer: "CN=Root".into(),
            serial: "01".into(),
            not_before: "2123-01-01T00:00:00Z".into(),
            not_after: "2124-01-01T00:00:00Z".into(),
            days_left,
            sha256: "AB".into(),
            sha1: "CD".into(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            is_ca: false,
        };
        StatusReport {
            keystore: "/k".into(),
            format: "jks",
            alias: "icg".into(),
            chain: vec![certificate.clone()],
            certificate,
            state,
            expiry_state: state,
            served: None,
            pending: None,
            scheduled: None,
            warn_days: 30,
            crit_days: 7,
        }
    }

    #[test]
    fn a_certificate_not_yet_valid_is_named_so_in_the_summary() {
        assert_eq!(
            summary_line(&report(35_000, State::Critical)),
            "CRITICAL - not valid before 2123-01-01 | days_left=35000;30;7"
        );
        assert_eq!(
            summary_line(&report(5, State::Critical)),
            "CRITICAL - expires in 5 days (2124-01-01) | days_left=5;30;7"
        );
    }

    #[test]
    fn unknown_text_cannot_start_performance_data_or_a_second_line() {
        let line = unknown_line("cannot read /tmp/a|b\u{1b}[31m\nsecond");
        assert_eq!(line, "UNKNOWN - cannot read /tmp/a/b?[31m");
    }
}
