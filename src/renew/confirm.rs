//! The restart of the ICG and the wait until it serves a given certificate and says what is awaited of it,
//! as steps of the transaction; and what the gateway said before the change.

use super::{last_chars, Confirm, Steps};
use crate::audit::AuditLog;
use crate::error::TransactionError;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::service::{Before, IcgStatus, Observation, Restart, Verdicts};
use std::time::{Duration, Instant};

/// How long the question before the change may take: the gateway runs (or not) and answers at once.
const BEFORE_BUDGET: Duration = Duration::from_secs(3);

/// What the gateway said over the transaction: before the change, after the last restart, and what the
/// operator should read once (a confirmation that had to do without check-status).
#[derive(Debug, Clone, Default)]
pub(super) struct Heard {
    pub before: Option<Before>,
    pub after: Option<IcgStatus>,
    pub notes: Vec<String>,
}

impl Heard {
    /// Asks the gateway before the change, when a confirmation will follow (else nothing is asked).
    pub fn before_change(confirm: &Confirm) -> Heard {
        let confirming = confirm.restart != Restart::None && confirm.health_timeout.is_some();
        Heard {
            before: confirming.then(|| Before::ask(confirm.port, BEFORE_BUDGET)),
            ..Heard::default()
        }
    }

    /// The verdicts a confirmation of the certificate meant to stay accepts: `ok`, `warn` only when the
    /// gateway said `warn` before or the operator allowed it; nothing asked of an ICG without the endpoint.
    pub fn verdicts(&self, confirm: &Confirm) -> Verdicts {
        match self.before {
            Some(Before::NoEndpoint) => Verdicts::NotAsked,
            Some(Before::Said(IcgStatus::Warn)) => Verdicts::Ok { warn_ok: true },
            _ => Verdicts::Ok {
                warn_ok: confirm.allow_no_ums,
            },
        }
    }

    /// The verdicts the restore after a failed renewal accepts: any settled one (it puts back what was
    /// served before).
    pub fn restore_verdicts(&self) -> Verdicts {
        match self.before {
            Some(Before::NoEndpoint) => Verdicts::NotAsked,
            _ => Verdicts::Settled,
        }
    }

    /// Says once that the confirmation rests on the served certificate and the verifying handshake.
    fn note_no_endpoint(&mut self) {
        let note = "this ICG has no /usg/check-status (it answered 404 before the change: a version before 2.04), so the confirmation rests on the served certificate and the verifying handshake";
        if !self.notes.iter().any(|n| n == note) {
            self.notes.push(note.into());
        }
    }
}

/// What a restart is to confirm: the certificate (its SHA-256, and its name in messages) and the verdicts
/// accepted.
pub(super) struct Awaited<'a> {
    pub fingerprint: &'a str,
    pub what: &'a str,
    pub verdicts: Verdicts,
    /// The certificate the awaited one replaces (its SHA-256 and its name in messages), when known: a
    /// gateway still serving it is told as such, not as "another certificate".
    pub replaced: Option<(&'a str, &'a str)>,
}

/// Restarts and, unless switched off, waits until the gateway serves the awaited certificate with an
/// accepted verdict. Returns the downtime: from `down_since` (the first restart of the transaction) to the
/// first answer with that certificate; `None` when there was no restart or no confirmation.
pub(super) fn restart_and_confirm(
    confirm: &Confirm,
    awaited: Awaited<'_>,
    down_since: Instant,
    steps: &mut Steps<'_>,
    audit: &mut AuditLog,
    heard: &mut Heard,
) -> Result<Option<u64>> {
    let Awaited {
        fingerprint,
        what,
        verdicts,
        replaced,
    } = awaited;
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
    let mut last_verdict = None;
    let confirmed = steps.run("confirm", |observer| {
        let waiting_for = format!("waiting for the gateway to serve {what}");
        let result = crate::service::wait_until_served(
            confirm.port,
            fingerprint,
            verdicts,
            confirm.anchor.as_ref(),
            remaining,
            &mut |elapsed, seen| {
                last_verdict = seen.status().or(last_verdict);
                observer.waiting(&waiting_for, elapsed, seen)
            },
        );
        match result {
            Ok((at, confirmed)) => {
                let how = if confirmed.served_certificate_only {
                    "; the gateway requires a client certificate, so it was confirmed by the served certificate alone".to_string()
                } else {
                    match confirmed.status {
                        Some(s) => format!(", the ICG says {}", s.name()),
                        None => ", without check-status (none on this ICG)".to_string(),
                    }
                };
                Ok((
                    (at, confirmed),
                    Some(format!("127.0.0.1:{} serves {what}{how}", confirm.port)),
                ))
            }
            Err(Observation::Refused(why)) => {
                Err(Error::Transaction(TransactionError::ServedButRefused {
                    what: what.to_string(),
                    why,
                }))
            }
            Err(Observation::Rejected) => {
                Err(Error::Transaction(TransactionError::RejectedByIcg {
                    what: what.to_string(),
                }))
            }
            Err(last) => Err(Error::Transaction(TransactionError::NotServedInTime {
                what: what.to_string(),
                timeout: health_timeout,
                last: match (&last, replaced) {
                    (Observation::WrongCertificate(served), Some((old, name))) if served == old => {
                        format!("still serving {name} (SHA-256 {served})")
                    }
                    _ => last.describe(),
                },
            })),
        }
    });
    heard.after = last_verdict;
    let (good_at, how) = confirmed?;
    if how.served_certificate_only {
        heard.notes.push(format!(
            "the gateway requires a client certificate: {what} was confirmed by the certificate it serves alone, without check-status or a verifying handshake"
        ));
    } else if verdicts == Verdicts::NotAsked {
        heard.note_no_endpoint();
    }
    let downtime = good_at.duration_since(down_since).as_millis() as u64;
    let status_text = how.status.map(IcgStatus::name).unwrap_or("none");
    audit.record(
        "confirmed",
        &[
            ("sha256", fingerprint),
            ("downtime_ms", &downtime.to_string()),
            ("icg_status", status_text),
        ],
    );
    Ok(Some(downtime))
}
