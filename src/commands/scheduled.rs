//! `renew --at WHEN` and `icg-renew scheduled`: a renewal checked now and run at the operator's hour. The
//! material (and its password) waits in the spool ([`icg_renew::schedule`]); `scheduled` lists, `--cancel`
//! removes, `--run-due` (every minute, from icg-renew-scheduled.timer) runs what is due as `renew --yes`
//! would, checks included, against the certificate installed then.

use super::renew::Request;
use super::Finished;
use crate::cli::{Cli, GlobalArgs, RenewArgs, ScheduledArgs};
use crate::ui::prompts::Prompter;
use icg_renew::error::{CommandError, Error, Result};
use icg_renew::report::{Output, Ran, RenewReport, RenewResult, ScheduledReport, Waiting};
use icg_renew::schedule::{self, Entry, Spool};
use icg_renew::secret::Password;
use icg_renew::shown::Shown;
use icg_renew::utc::{rfc3339, Clock};
use std::ffi::OsString;
use std::path::Path;

/// The most of one material file kept.
const MAX_MATERIAL: u64 = 16 << 20;
/// The packaged timer that runs `scheduled --run-due`.
const TIMER: &str = "icg-renew-scheduled.timer";

fn bad(what: String) -> Error {
    Error::Command(CommandError::BadArguments { what })
}

/// `renew … --at WHEN`: checks now (incompatible: exit 3, nothing kept), then keeps the material.
pub(crate) fn schedule(
    global: &GlobalArgs,
    args: &RenewArgs,
    how: &str,
    when: &str,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let at = parse_at(when, clock)?;
    let request = super::renew::Request::from_args(args);
    let kept = Keep {
        dir: &args.spool.schedule_dir,
        how,
        command: "renew",
        at,
    };
    check_and_keep(global, &request, &kept, prompter, clock)
}

/// `--at WHEN` as a time, or the usage error that says why not.
pub(crate) fn parse_at(when: &str, clock: Clock) -> Result<icg_renew::utc::UnixTime> {
    schedule::parse_when(when, clock.now)
        .map_err(|e| bad(format!("--at: {}", icg_renew::shown::text(&e))))
}

/// Where, when and by which command a checked renewal is kept.
pub(crate) struct Keep<'a> {
    /// The spool (`--schedule-dir`).
    pub dir: &'a Path,
    /// How it was scheduled, as `scheduled` lists it (`renew --at`, `inbox --at`).
    pub how: &'a str,
    /// The command named in the audit log.
    pub command: &'a str,
    pub at: icg_renew::utc::UnixTime,
}

/// Checks `request` now, as `renew --dry-run` would (incompatible: that report, exit 3, nothing kept), then
/// keeps it for `kept.at` (with the material's password when a person typed it; refused when the keystore's
/// was typed, which nothing keeps).
pub(crate) fn check_and_keep(
    global: &GlobalArgs,
    request: &Request,
    kept: &Keep,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut check = request.clone();
    // The due run restarts unattended: a restart method that cannot be found stops the scheduling now,
    // before the dry run that would only warn of it.
    check.restart.restart()?;
    check.dry_run = true;
    let mut install = super::resolve::resolve(global, prompter)?;
    let mut audit = super::resolve::open_audit(global, kept.command, prompter);
    let mut asked = super::renew::Asked::default();
    let report = super::renew::renew_install(
        &mut install,
        &check,
        prompter,
        &mut audit,
        clock,
        Some(&mut asked),
    )?;
    if report.result != RenewResult::DryRun {
        return Ok(Finished {
            exit_code: super::renew::exit_code(report.result),
            output: Output::Renew(Box::new(report)),
        });
    }
    if asked.typed_store_password {
        return Err(bad(
            "--at: the keystore password was typed, and a scheduled renewal runs with no one to type it; \
             give it with --store-password-file or ICG_RENEW_STORE_PASSWORD (or in the configuration)"
                .to_string(),
        ));
    }
    keep(
        global,
        request,
        kept,
        &report,
        asked.typed_password.as_ref(),
        prompter,
        clock,
    )
}

/// Keeps a renewal whose checks passed (`report`) in the spool: the material as given (`typed_password`:
/// the new material's password when it was typed rather than given by file or environment), then replaces
/// older schedulings of the same keystore and makes sure something runs it.
pub(crate) fn keep(
    global: &GlobalArgs,
    request: &Request,
    kept: &Keep,
    report: &RenewReport,
    typed_password: Option<&Password>,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let at = kept.at;
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    let read = |path: &Path, what: &str| {
        icg_renew::fsx::read_input(path, MAX_MATERIAL, &format!("keep {what} for later"))
    };
    let new = request
        .new
        .as_deref()
        .unwrap_or(&report.verify.material.path);
    if icg_renew::fsx::resolve(new, icg_renew::fsx::Trust::operator())
        .is_ok_and(|at| at.dir.is_directory(&at.name))
    {
        // A directory (certbot's lineage): its full chain and its key, through the links certbot keeps there
        // (followed only where root's directories hold them, as the material loader does).
        let linked = |name: &str, what: &str| {
            icg_renew::fsx::resolve(&new.join(name), icg_renew::fsx::Trust::operator()).and_then(
                |at| {
                    at.dir
                        .read(&at.name, MAX_MATERIAL, &format!("keep {what} for later"))
                        .map(|(data, _)| data)
                },
            )
        };
        files.push(("new", linked("fullchain.pem", "the new chain")?));
        files.push(("key", linked("privkey.pem", "the new key")?));
    } else {
        files.push(("new", read(new, "the new material")?));
    }
    let mut parts: Vec<String> = files
        .iter()
        .skip(1)
        .map(|(part, _)| part.to_string())
        .collect();
    if let Some(key) = &request.material.key {
        files.push(("key", read(key, "the new key")?));
        parts.push("key".to_string());
    }
    if let Some(chain) = &request.material.chain {
        files.push(("chain", read(chain, "the chain")?));
        parts.push("chain".to_string());
    }
    let password = match &request.material.password_file {
        Some(file) => Some(read(file, "the new material's password")?),
        None => std::env::var_os("ICG_RENEW_NEW_PASSWORD")
            .filter(|v| !v.is_empty())
            .map(|v| std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec())
            .or_else(|| typed_password.map(|p| p.expose().as_bytes().to_vec())),
    };
    if let Some(password) = password {
        files.push(("password", password));
        parts.push("password".to_string());
    }

    let spool = Spool::open(kept.dir)?;
    let (existing, _) = spool.list()?;
    let entry = Entry {
        format: schedule::FORMAT,
        id: schedule::new_id(clock.now),
        at,
        scheduled: clock.now,
        how: kept.how.to_string(),
        keystore: report.keystore.clone(),
        new_sha256: report.verify.new.sha256.clone(),
        new_not_after: report.verify.new.not_after.clone(),
        args: options_for_later(global, request),
        parts,
    };
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    spool.add(&entry, &borrowed)?;
    let mut replaced = Vec::new();
    for old in existing.iter().filter(|e| e.keystore == entry.keystore) {
        spool.remove(&old.id)?;
        replaced.push(old.id.clone());
    }
    let mut audit = super::resolve::open_audit(global, kept.command, prompter);
    audit.record(
        "scheduled",
        &[
            ("id", &entry.id),
            ("at", &rfc3339(at)),
            ("keystore", &entry.keystore.shown().to_string()),
            ("new_sha256", &entry.new_sha256),
            ("replaces", &replaced.join(",")),
        ],
    );
    let runs_by = runs_by(kept.dir, prompter);
    let (waiting, refused) = spool.list()?;
    Ok(Finished {
        output: Output::Scheduled(Box::new(ScheduledReport {
            result: Some("scheduled"),
            id: Some(entry.id.clone()),
            at: Some(rfc3339(at)),
            replaced,
            runs_by: Some(runs_by),
            spool: spool.dir.path.clone(),
            waiting: waiting.iter().map(waiting_of).collect(),
            refused,
            ..Default::default()
        })),
        exit_code: 0,
    })
}

/// Makes sure something runs `scheduled --run-due`: the packaged timer, enabled where systemd runs and the
/// spool is the packaged one; otherwise says what to set up.
fn runs_by(dir: &Path, prompter: &mut dyn Prompter) -> String {
    let cron = format!(
        "Run {} every minute (cron: * * * * * root …).",
        icg_renew::shown::command(&[
            "icg-renew".into(),
            "scheduled".into(),
            "--run-due".into(),
            "--schedule-dir".into(),
            dir.as_os_str().to_os_string(),
        ])
    );
    let systemd =
        icg_renew::fsx::resolve_dir(Path::new("/run/systemd/system"), Default::default()).is_ok();
    if dir != Path::new(schedule::DEFAULT_DIR) || !systemd {
        return cron;
    }
    let enabled = std::process::Command::new("systemctl")
        .args(["enable", "--now", TIMER])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if enabled {
        format!("{TIMER} is enabled and runs it.")
    } else {
        prompter.warn(&format!("could not enable {TIMER}"));
        cron
    }
}

/// The options the renewal runs with later, as arguments (kept byte for byte): the installation, the log,
/// the restart, the rollback and the backups; no material and no password (those are in the spool).
fn options_for_later(global: &GlobalArgs, request: &Request) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    // Absolute: the timer runs in another directory than the operator's shell.
    let mut push = |option: &str, value: &Path| {
        let value = std::path::absolute(value).unwrap_or_else(|_| value.to_path_buf());
        out.push(option.into());
        out.push(value.into_os_string());
    };
    if let Some(v) = &global.icg_root {
        push("--icg-root", v);
    }
    if let Some(v) = &global.config {
        push("--config", v);
    }
    if let Some(v) = &global.keystore {
        push("--keystore", v);
    }
    if let Some(v) = &global.store_password_file {
        push("--store-password-file", v);
    }
    push("--log-file", &global.log_file);
    push_renew(&mut out, request);
    // `--backup-dir` is an option of `renew`, after the command word.
    if let Some(v) = &request.backup_dir {
        let v = std::path::absolute(v).unwrap_or_else(|_| v.to_path_buf());
        out.extend(["--backup-dir".into(), v.into_os_string()]);
    }
    out
}

/// The `renew` command word and its restart, backup and rollback options, as words.
fn push_renew(out: &mut Vec<OsString>, request: &Request) {
    use clap::ValueEnum;
    let plan = &request.restart;
    let restart = crate::cli::RestartArg(plan.choice)
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_else(|| "auto".to_string());
    let mut words: Vec<String> = vec![
        "renew".to_string(),
        "--restart".to_string(),
        restart,
        "--service".to_string(),
        plan.unit.clone(),
        "--health-timeout".to_string(),
        plan.timeout.as_secs().to_string(),
        "--keep-backups".to_string(),
        request.keep_backups.to_string(),
    ];
    if let Some(cmd) = &plan.command {
        words.extend(["--restart-command".to_string(), cmd.clone()]);
    }
    if let Some(alias) = &request.material.alias {
        words.extend(["--alias".to_string(), alias.clone()]);
    }
    if !plan.health_check {
        words.push("--no-health-check".to_string());
    }
    if plan.allow_no_ums {
        words.push("--allow-no-ums".to_string());
    }
    if !request.rollback {
        words.push("--no-rollback".to_string());
    }
    out.extend(words.into_iter().map(OsString::from));
}

pub(crate) fn waiting_of(e: &Entry) -> Waiting {
    Waiting {
        id: e.id.clone(),
        at: rfc3339(e.at),
        keystore: e.keystore.clone(),
        new_sha256: e.new_sha256.clone(),
        new_not_after: e.new_not_after.clone(),
        scheduled: rfc3339(e.scheduled),
        how: e.how.clone(),
    }
}

/// `icg-renew scheduled [--cancel ID | --run-due]`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: &ScheduledArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let spool = Spool::open(&args.spool.schedule_dir)?;
    let (entries, refused) = spool.list()?;
    let mut report = ScheduledReport {
        spool: spool.dir.path.clone(),
        refused,
        ..Default::default()
    };
    for r in &report.refused {
        prompter.warn(&format!(
            "{} in {} is not run: {}",
            r.name,
            icg_renew::shown::path(&spool.dir.path),
            r.why
        ));
    }
    let mut exit_code = 0;
    if let Some(id) = &args.cancel {
        let refused_entry = report.refused.iter().any(|r| r.id.as_ref() == Some(id));
        if !entries.iter().any(|e| &e.id == id) && !refused_entry {
            return Err(bad(format!(
                "--cancel: no scheduled renewal {}; `icg-renew scheduled` lists them",
                icg_renew::shown::text(id)
            )));
        }
        spool.remove(id)?;
        super::resolve::open_audit(global, "scheduled", prompter)
            .record("cancelled", &[("id", id)]);
        report.cancelled = Some(id.clone());
    } else if args.run_due {
        let now = now_of(args, clock)?;
        for mut entry in entries.clone() {
            let (at, moved) = schedule::when_due(entry.at, now);
            if moved {
                entry.at = at;
                spool.update(&entry)?;
                super::resolve::open_audit(global, "scheduled", prompter).record(
                    "moved",
                    &[
                        ("id", &entry.id),
                        ("at", &rfc3339(at)),
                        ("why", "missed by more than 12 hours"),
                    ],
                );
                report.moved.push(waiting_of(&entry));
            }
            if at > now {
                continue;
            }
            let ran = run_one(&spool, &entry, prompter, clock);
            if exit_code == 0 {
                exit_code = ran.exit_code;
            }
            report.ran.push(ran);
        }
    }
    let (waiting, _) = spool.list()?;
    report.waiting = waiting.iter().map(waiting_of).collect();
    Ok(Finished {
        output: Output::Scheduled(Box::new(report)),
        exit_code,
    })
}

/// The run's notion of now: the clock's, or (test builds only) the hidden `--now`.
#[cfg(feature = "failpoints")]
fn now_of(args: &ScheduledArgs, clock: Clock) -> Result<icg_renew::utc::UnixTime> {
    match &args.now {
        Some(text) => Ok(chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| {
                bad(format!(
                    "--now: {} is no RFC 3339 time",
                    icg_renew::shown::text(text)
                ))
            })?
            .timestamp()),
        None => Ok(clock.now),
    }
}

/// The run's notion of now: the clock's (a release has no `--now`).
#[cfg(not(feature = "failpoints"))]
fn now_of(_args: &ScheduledArgs, clock: Clock) -> Result<icg_renew::utc::UnixTime> {
    Ok(clock.now)
}

/// Runs one due renewal as `renew --yes` with its kept options and material, then removes it (unless
/// another icg-renew held the keystore: then it stays for the next minute).
fn run_one(spool: &Spool, entry: &Entry, prompter: &mut dyn Prompter, clock: Clock) -> Ran {
    let mut argv: Vec<std::ffi::OsString> = vec!["icg-renew".into(), "--yes".into()];
    argv.extend(entry.args.iter().cloned());
    argv.push(spool.path(&entry.id, "new").into());
    for (part, option) in [
        ("key", "--key"),
        ("chain", "--chain"),
        ("password", "--new-password-file"),
    ] {
        if entry.parts.iter().any(|p| p == part) {
            argv.push(option.into());
            argv.push(spool.path(&entry.id, part).into());
        }
    }
    let mut log_file = None;
    let outcome = match <Cli as clap::Parser>::try_parse_from(&argv) {
        Ok(cli) => {
            log_file = Some(cli.global.log_file.clone());
            super::dispatch(cli, prompter, clock)
        }
        Err(e) => Err(bad(format!(
            "the kept options no longer parse: {}",
            e.kind()
        ))),
    };
    let ran = match outcome {
        Ok(Finished {
            output: Output::Renew(r),
            exit_code,
        }) => Ran {
            id: entry.id.clone(),
            result: super::result_word(r.result),
            exit_code,
            error: r.error.clone(),
            renew: Some(r),
        },
        Ok(other) => Ran {
            id: entry.id.clone(),
            result: "error".to_string(),
            exit_code: other.exit_code,
            renew: None,
            error: None,
        },
        Err(e) => {
            if e.kind() == icg_renew::error::ErrorKind::Locked {
                return Ran {
                    id: entry.id.clone(),
                    result: "waiting".to_string(),
                    exit_code: 0,
                    renew: None,
                    error: Some(super::hint::message(&e)),
                };
            }
            Ran {
                id: entry.id.clone(),
                result: "error".to_string(),
                exit_code: e.kind().exit_code(),
                renew: None,
                error: Some(super::hint::message(&e)),
            }
        }
    };
    if let Err(e) = spool.remove(&entry.id) {
        prompter.warn(&super::hint::message(&e));
    }
    // The renewal's own lines say what it did; this one says it was the scheduled entry's run.
    if let Some(log_file) = log_file {
        icg_renew::audit::AuditLog::open(&log_file, "scheduled").record(
            "ran-scheduled",
            &[
                ("id", &entry.id),
                ("at", &rfc3339(entry.at)),
                ("result", &ran.result),
                ("exit", &ran.exit_code.to_string()),
            ],
        );
    }
    ran
}
