//! `status`: the installed certificate's state in the monitoring convention, what the running gateway serves
//! and says (one look of at most 3 s, unless `--no-probe`), and the pending request of `csr`.

use super::resolve::*;
use super::Finished;
use crate::cli::{self, GlobalArgs};
use crate::ui::prompts::Prompter;
use icg_renew::cert::CertSummary;
use icg_renew::error::Result;
use icg_renew::install::Install;
use icg_renew::installed::Installed;
use icg_renew::pending;
use icg_renew::report::*;
use icg_renew::utc::{rfc3339, Clock};

pub(crate) fn status_report(
    installed: &Installed,
    warn_days: i64,
    crit_days: i64,
    clock: Clock,
) -> StatusReport {
    let certificate = CertSummary::of(installed.leaf(), clock);
    // Judged in seconds: "valid for more than N days" must not be decided by a rounded-down day count.
    let remaining = icg_renew::cert::unix_time(installed.leaf().not_after()) - clock.now;
    // Not yet valid is as bad as expired: the gateway serves a certificate that clients refuse.
    let not_yet_valid = icg_renew::cert::unix_time(installed.leaf().not_before()) > clock.now;
    let state = if not_yet_valid || remaining <= crit_days.saturating_mul(86_400) {
        State::Critical
    } else if remaining <= warn_days.saturating_mul(86_400) {
        State::Warning
    } else {
        State::Ok
    };
    StatusReport {
        keystore: installed.path.clone(),
        format: installed.store.format.name(),
        alias: installed.alias.clone(),
        certificate,
        chain: summaries(&installed.full_chain(), clock),
        state,
        expiry_state: state,
        served: None,
        pending: None,
        scheduled: None,
        warn_days,
        crit_days,
    }
}

/// `status`: errors are UNKNOWN (3) in the monitoring convention, which `main` applies. With
/// `--prometheus FILE` the outcome is written there too, UNKNOWN included; failing to write it is a warning.
pub(crate) fn run(
    global: &GlobalArgs,
    args: &cli::StatusArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let result = status_of_keystore(global, args, prompter, clock);
    if let Some(file) = &args.prometheus {
        let metrics = match &result {
            Ok(Finished {
                output: Output::Status(report),
                exit_code,
            }) => icg_renew::metrics::Metrics::of(
                report,
                *exit_code,
                icg_renew::metrics::last_renewal(&global.log_file, &report.keystore),
            )
            .with_scheduled(
                report
                    .scheduled
                    .as_ref()
                    .and_then(|w| icg_renew::metrics::parse_rfc3339(&w.at)),
            ),
            _ => icg_renew::metrics::Metrics {
                certificate: None,
                status: 3,
                last_renewal: None,
                scheduled: None,
                gateway: None,
            },
        };
        let text = metrics.render();
        if let Err(e) =
            icg_renew::outfile::replace(file, text.as_bytes(), 0o644, "write the metrics file")
        {
            prompter.warn(&super::hint::message(&e));
        }
    }
    result
}

pub(crate) fn status_of_keystore(
    global: &GlobalArgs,
    args: &cli::StatusArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let installed = load_installed(&mut install, prompter, None)?;
    let mut report = status_report(&installed, args.warn_days, args.crit_days, clock);
    report.pending = pending_info(&install, &installed, prompter);
    report.scheduled = icg_renew::schedule::Spool::find(&args.spool.schedule_dir)
        .and_then(|spool| spool.list().ok())
        .and_then(|(entries, _)| entries.into_iter().find(|e| e.keystore == report.keystore))
        .map(|e| super::scheduled::waiting_of(&e));
    if !args.no_probe {
        let served = served_report(install.port, &report.certificate.sha256);
        report.state = icg_renew::monitoring::with_gateway(report.state, &served);
        report.served = Some(served);
    }
    let exit_code = match report.state {
        State::Ok => 0,
        State::Warning => 1,
        State::Critical => 2,
    };
    Ok(Finished {
        output: Output::Status(report),
        exit_code,
    })
}

/// How long `status` may spend asking the gateway, all in all.
const PROBE_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// What the gateway on 127.0.0.1:`port` serves (compared with the keystore's leaf, `keystore_sha256`) and
/// what its check-status says; one look within `PROBE_BUDGET`.
fn served_report(port: u16, keystore_sha256: &str) -> ServedReport {
    use icg_renew::service::StatusAnswer;
    match icg_renew::service::look(port, PROBE_BUDGET) {
        Ok(look) => {
            let sha256 = icg_renew::cert::sha256_fingerprint(&look.leaf);
            let (icg_status, note) = match look.status {
                StatusAnswer::Said(s) => (Some(s), None),
                other => (None, Some(other.describe())),
            };
            ServedReport {
                reachable: true,
                same_as_keystore: Some(sha256 == keystore_sha256),
                sha256: Some(sha256),
                icg_status,
                port,
                note,
            }
        }
        Err(why) => ServedReport {
            reachable: false,
            sha256: None,
            same_as_keystore: None,
            icg_status: None,
            port,
            note: Some(why),
        },
    }
}

/// What `status` says about a pending request; a pending key file that cannot be read is a warning.
pub(crate) fn pending_info(
    install: &Install,
    installed: &Installed,
    prompter: &mut dyn Prompter,
) -> Option<PendingInfo> {
    let loaded = install
        .store_password()
        .and_then(|pw| pending::load(&installed.file, pw));
    match loaded {
        Ok(Some(p)) => {
            let (dns_names, ip_addresses) =
                icg_renew::cert::subject_alt_names(&p.placeholder).unwrap_or_default();
            Some(PendingInfo {
                path: p.path,
                created: rfc3339(p.created),
                subject: icg_renew::cert::name_to_string(p.placeholder.subject_name()),
                dns_names,
                ip_addresses,
            })
        }
        Ok(None) => None,
        Err(e) => {
            prompter.warn(&super::hint::message(&e));
            None
        }
    }
}
