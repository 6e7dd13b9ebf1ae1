//! The restart of the ICG and the wait until it serves a given certificate, as steps of the transaction.

use super::{last_chars, Confirm, Steps};
use crate::audit::AuditLog;
use crate::error::TransactionError;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::service::{self, Observation, Restart};
use std::time::Instant;

/// Restarts and, unless switched off, waits until the gateway serves `fingerprint`. Returns the downtime:
/// from `down_since` (the first restart of the transaction) to the first good answer; `None` when there
/// was no restart or no confirmation.
pub(super) fn restart_and_confirm(
    confirm: &Confirm,
    fingerprint: &str,
    what: &str,
    down_since: Instant,
    steps: &mut Steps<'_>,
    audit: &mut AuditLog,
) -> Result<Option<u64>> {
    if confirm.restart == Restart::None {
        steps.skip("restart", "--restart none");
        steps.skip("confirm", "no restart");
        return Ok(None);
    }
    let started = Instant::now();
    let timeout = confirm.health_timeout.unwrap_or(confirm.restart_timeout);
    let output = steps.run("restart", |_| {
        let out = confirm.restart.run(timeout)?;
        Ok((out, Some(confirm.restart.describe())))
    });
    failpoint::hit("restarted");
    match &output {
        Ok(out) => audit.record(
            "restart",
            &[
                ("how", &confirm.restart.describe()),
                ("output", last_chars(out.trim(), 2000)),
            ],
        ),
        Err(e) => audit.record(
            "restart-failed",
            &[
                ("how", &confirm.restart.describe()),
                ("error", &e.to_string()),
            ],
        ),
    }
    output?;
    let Some(health_timeout) = confirm.health_timeout else {
        steps.skip("confirm", "--no-health-check");
        return Ok(None);
    };
    let remaining = health_timeout.saturating_sub(started.elapsed());
    let good_at = steps.run("confirm", |observer| {
        let waiting_for = format!("waiting for the gateway to serve {what}");
        let result = service::wait_until_served(
            confirm.port,
            fingerprint,
            confirm.anchor.as_ref(),
            remaining,
            &mut |elapsed, seen| observer.waiting(&waiting_for, elapsed, seen),
        );
        match result {
            Ok(at) => Ok((
                at,
                Some(format!("127.0.0.1:{} serves {what}", confirm.port)),
            )),
            Err(Observation::Refused(why)) => {
                Err(Error::Transaction(TransactionError::ServedButRefused {
                    what: what.to_string(),
                    why,
                }))
            }
            Err(last) => Err(Error::Transaction(TransactionError::NotServedInTime {
                what: what.to_string(),
                timeout: health_timeout,
                last: last.describe(),
            })),
        }
    })?;
    let downtime = good_at.duration_since(down_since).as_millis() as u64;
    audit.record(
        "confirmed",
        &[
            ("sha256", fingerprint),
            ("downtime_ms", &downtime.to_string()),
        ],
    );
    Ok(Some(downtime))
}
