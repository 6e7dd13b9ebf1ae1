//! `icg-renew inbox [DIR]`: the drop folder. Copying new material (a UMS export, say) into DIR renews the
//! gateway with it, under `--yes`, with the same checks, backup, confirmation and rollback as `renew`; the
//! file then moves to `DIR/done/` or `DIR/failed/` with the JSON result beside it as `<name>.json`. A password
//! may lie beside the material as `<name>.password` (mode 0600). With `--at WHEN` the material is checked now
//! and kept in the spool as `renew --at` keeps it, and filed in `done/` with the scheduling as its result.
//!
//! Safety: DIR must be a directory that only root (and a group named with `--group`) can write to, since
//! whoever writes there decides the gateway's certificate, and every directory above it root's alone. DIR is
//! resolved once and held open for the whole run: listing, `done/` and `failed/` (root's, 0700, or 0750 with
//! the named group), the results and the moves (`renameat2` with `RENAME_NOREPLACE` between held
//! directories) all go through descriptors. One run at a time holds a lock on DIR; the renewal
//! itself holds the keystore lock. A file is taken only when it has settled: no change to it (its ctime, which
//! every write, rename and timestamp change moves) for `--settle` seconds, so a copy in progress is never
//! read half-written. Older material found beside the newest is moved to `failed/` as superseded, so that
//! it is never installed after newer material.

use super::renew::{exit_code, renew_install, Request};
use super::resolve::{open_audit, resolve};
use super::scheduled::{check_and_keep, Keep};
use super::Finished;
use crate::cli::{GlobalArgs, InboxArgs};
use crate::ui::prompts::Prompter;
use icg_renew::error::CommandError;
use icg_renew::error::{DropFolderRisk, Error, ErrorKind, Result};
use icg_renew::fsx::{self, SafeDir};
use icg_renew::material::MaterialSource;
use icg_renew::report::{InboxReport, Output};
use icg_renew::utc::{compact_utc, Clock, UnixTime};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Suffix of a material's password file.
const PASSWORD_SUFFIX: &str = ".password";
/// Suffix of a result document.
const RESULT_SUFFIX: &str = ".json";
/// How often a settling file is looked at again.
const POLL: Duration = Duration::from_millis(500);

/// A material file in the drop folder.
#[derive(Debug, Clone)]
struct Dropped {
    path: PathBuf,
    name: OsString,
    /// When it last changed (ctime), Unix seconds and nanoseconds.
    changed: (i64, i64),
    size: u64,
}

/// Runs the drop folder once: takes the newest settled material (waiting up to `--wait` seconds for it to
/// settle), renews with it, files it.
pub fn run(
    global: &GlobalArgs,
    args: &InboxArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    // A bad time is a usage error before anything is taken.
    let at = args
        .at
        .as_deref()
        .map(|when| super::scheduled::parse_at(when, clock))
        .transpose()?;
    let group = args.group.as_deref().map(group_id).transpose()?;
    let dir = open_inbox_dir(&args.dir, group)?;
    lock_dir(&dir)?;
    let mut report = InboxReport {
        dir: dir.path.clone(),
        taken: None,
        filed_as: None,
        result_file: None,
        superseded: Vec::new(),
        still_being_written: None,
        renew: None,
        scheduled: None,
        error: None,
    };
    let waited_since = std::time::Instant::now();
    let newest = loop {
        let mut found = dropped_files(&dir)?;
        found.sort_by_key(|d| std::cmp::Reverse(d.changed));
        let Some(newest) = found.first().cloned() else {
            return Ok(Finished {
                output: Output::Inbox(Box::new(report)),
                exit_code: 0,
            });
        };
        let now = now_seconds();
        if now - newest.changed.0 >= args.settle as i64 && settled(&dir, &newest) {
            for older in &found[1..] {
                if now - older.changed.0 >= args.settle as i64 {
                    let filed = file_away(
                        &dir,
                        group,
                        older,
                        "failed",
                        &superseded_json(&newest),
                        clock,
                    )?;
                    report.superseded.push(filed);
                }
            }
            break newest;
        }
        if waited_since.elapsed() >= Duration::from_secs(args.wait) {
            report.still_being_written = Some(newest.path);
            return Ok(Finished {
                output: Output::Inbox(Box::new(report)),
                exit_code: 0,
            });
        }
        std::thread::sleep(POLL);
    };

    report.taken = Some(newest.path.clone());
    // A password file others may read fails this material (filed with the reason), not the run.
    let attempt = match password_beside(&dir, &newest.name) {
        Ok(password_file) => renew_waiting_for_the_lock(
            global,
            args,
            (&newest.path, password_file.as_deref(), at),
            waited_since,
            prompter,
            clock,
        )?,
        Err(e) => Err(e),
    };
    let (outcome, exit_code) = match attempt {
        Ok(finished) => {
            let json = crate::ui::json(&finished.output);
            match finished.output {
                Output::Renew(renewed) => report.renew = Some(renewed),
                Output::Scheduled(scheduled) => report.scheduled = Some(scheduled),
                _ => {}
            }
            (json, finished.exit_code)
        }
        Err(e) => {
            report.error = Some(super::hint::message(&e));
            (
                crate::ui::json_error(&super::hint::message(&e), e.kind()),
                e.kind().exit_code(),
            )
        }
    };
    let outcome_dir = if exit_code == 0 { "done" } else { "failed" };
    let filed = file_away(&dir, group, &newest, outcome_dir, &outcome, clock)?;
    report.result_file = Some(result_path(&filed));
    report.filed_as = Some(filed);
    Ok(Finished {
        output: Output::Inbox(Box::new(report)),
        exit_code,
    })
}

/// The renewal of one dropped file (or, with `at`, its scheduling); another icg-renew holding the keystore
/// is waited for (up to `--wait`, counted from `waited_since`), not a reason to file the material: `Err`
/// then, and the file stays.
fn renew_waiting_for_the_lock(
    global: &GlobalArgs,
    args: &InboxArgs,
    (material, password_file, at): (&Path, Option<&Path>, Option<UnixTime>),
    waited_since: std::time::Instant,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Result<Finished>> {
    let attempt = loop {
        let attempt = renew_with(global, args, (material, password_file, at), prompter, clock);
        let locked = matches!(&attempt, Err(e) if e.kind() == ErrorKind::Locked);
        if !locked || waited_since.elapsed() >= Duration::from_secs(args.wait) {
            break attempt;
        }
        std::thread::sleep(POLL);
    };
    match attempt {
        Err(e) if e.kind() == ErrorKind::Locked => {
            Err(Error::Command(CommandError::MaterialStays {
                material: material.to_path_buf(),
                inner: Box::new(e),
            }))
        }
        other => Ok(other),
    }
}

/// The renewal of one dropped file, exactly as `renew --yes NEW [--new-password-file NAME.password]`
/// (with `at`: `… --at WHEN`, checked now and kept in the spool).
fn renew_with(
    global: &GlobalArgs,
    args: &InboxArgs,
    (material, password_file, at): (&Path, Option<&Path>, Option<UnixTime>),
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let request = Request {
        new: Some(material.to_path_buf()),
        material: MaterialSource {
            password_file: password_file.map(Path::to_path_buf),
            ..MaterialSource::default()
        },
        restart: args.restart.plan(),
        rollback: true,
        backup_dir: args.backups.backup_dir.clone(),
        dry_run: false,
        keep_backups: args.backups.keep_backups,
    };
    if let Some(at) = at {
        let kept = Keep {
            dir: &args.spool.schedule_dir,
            how: "inbox --at",
            command: "inbox",
            at,
        };
        return check_and_keep(global, &request, &kept, prompter, clock);
    }
    let mut install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "inbox", prompter);
    let renewed = renew_install(&mut install, &request, prompter, &mut audit, clock, None)?;
    Ok(Finished {
        exit_code: exit_code(renewed.result),
        output: Output::Renew(Box::new(renewed)),
    })
}

/// DIR resolved once (every directory above it root's alone) and held open; refused when someone other
/// than root (or `group`) could write to it.
fn open_inbox_dir(dir: &Path, group: Option<u32>) -> Result<SafeDir> {
    let held = fsx::resolve_dir(dir, fsx::Trust::ROOT).map_err(|e| match e {
        Error::Io { source, .. }
            if source.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) =>
        {
            Error::Command(CommandError::DropFolderNotADirectory {
                dir: dir.to_path_buf(),
            })
        }
        Error::Io { source, .. } => Error::Command(CommandError::NoDropFolder {
            dir: dir.to_path_buf(),
            source,
        }),
        other => other,
    })?;
    let stat = held.stat()?;
    let me = rustix::process::geteuid().as_raw();
    let risk = if stat.st_uid != 0 && stat.st_uid != me {
        Some(DropFolderRisk::Owner(stat.st_uid))
    } else if stat.st_mode & 0o002 != 0 {
        Some(DropFolderRisk::EveryUser)
    } else if stat.st_mode & 0o020 != 0 && group != Some(stat.st_gid) {
        Some(DropFolderRisk::Group(stat.st_gid))
    } else {
        None
    };
    accepted(held, risk)
}

/// `dir`, unless `risk` says who else could write to it.
fn accepted(dir: SafeDir, risk: Option<DropFolderRisk>) -> Result<SafeDir> {
    match risk {
        Some(risk) => Err(Error::Command(CommandError::DropFolderUnsafe {
            dir: dir.path.clone(),
            risk,
        })),
        None => Ok(dir),
    }
}

/// `DIR/outcome` (`done/` or `failed/`), created root's 0700 (0750 with `group`) when missing, opened
/// through DIR; refused unless root owns it and no one but root (and `group`, reading) can use it, so
/// that a member cannot prepare it as a way out of the folder.
fn results_dir(dir: &SafeDir, group: Option<u32>, outcome: &str) -> Result<SafeDir> {
    let target = dir
        .subdir(
            OsStr::new(outcome),
            if group.is_some() { 0o750 } else { 0o700 },
        )
        .map_err(|e| match e {
            Error::Io { .. } => Error::Command(CommandError::ResultsDirNotADirectory {
                dir: dir.join(OsStr::new(outcome)),
            }),
            other => other,
        })?;
    let stat = target.stat()?;
    if let (Some(gid), 0) = (group, stat.st_uid) {
        if stat.st_gid == 0 && stat.st_mode & 0o070 == 0o050 {
            target.set_group(gid)?;
        }
    }
    let stat = target.stat()?;
    let risk = if stat.st_uid != 0 && stat.st_uid != rustix::process::geteuid().as_raw() {
        Some(DropFolderRisk::Owner(stat.st_uid))
    } else if stat.st_mode & 0o007 != 0 {
        Some(DropFolderRisk::EveryUser)
    } else if stat.st_mode & 0o020 != 0
        || (stat.st_mode & 0o070 != 0 && stat.st_gid != 0 && group != Some(stat.st_gid))
    {
        Some(DropFolderRisk::Group(stat.st_gid))
    } else {
        None
    };
    accepted(target, risk)
}

/// An exclusive lock on DIR (its held descriptor) for this run; a second run stops at once. Held until
/// the process ends.
fn lock_dir(dir: &SafeDir) -> Result<()> {
    rustix::fs::flock(
        &*dir.fd(),
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .map_err(|errno| {
        Error::Command(CommandError::InboxBusy {
            dir: dir.path.clone(),
            source: errno.into(),
        })
    })
}

/// The material files in DIR: regular, not hidden, not a password or result file. Others are left alone.
fn dropped_files(dir: &SafeDir) -> Result<Vec<Dropped>> {
    let mut found = Vec::new();
    for name in dir.names()? {
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with(PASSWORD_SUFFIX) || text.ends_with(RESULT_SUFFIX)
        {
            continue;
        }
        let Some(stat) = dir.stat_of(&name).filter(fsx::is_regular) else {
            continue;
        };
        found.push(Dropped {
            path: dir.join(&name),
            name,
            changed: (stat.st_ctime, stat.st_ctime_nsec as i64),
            size: stat.st_size as u64,
        });
    }
    Ok(found)
}

/// Whether the file is as it was when listed (same size and change time): not written to since.
fn settled(dir: &SafeDir, file: &Dropped) -> bool {
    dir.stat_of(&file.name).is_some_and(|s| {
        s.st_size as u64 == file.size && (s.st_ctime, s.st_ctime_nsec as i64) == file.changed
    })
}

fn with_suffix(name: &OsStr, suffix: &str) -> OsString {
    let mut name = name.to_os_string();
    name.push(suffix);
    name
}

/// The password file beside dropped material, if there is one: it must be a regular file that only its
/// owner can read.
fn password_beside(dir: &SafeDir, material: &OsStr) -> Result<Option<PathBuf>> {
    let name = with_suffix(material, PASSWORD_SUFFIX);
    let Some(stat) = dir.stat_of(&name) else {
        return Ok(None);
    };
    if !fsx::is_regular(&stat) || stat.st_mode & 0o077 != 0 {
        return Err(Error::Command(CommandError::DroppedPasswordMode {
            file: dir.join(&name),
            mode: stat.st_mode & 0o7777,
        }));
    }
    Ok(Some(dir.join(&name)))
}

fn result_path(filed: &Path) -> PathBuf {
    let mut name = filed.as_os_str().to_owned();
    name.push(RESULT_SUFFIX);
    PathBuf::from(name)
}

fn superseded_json(newest: &Dropped) -> String {
    serde_json::json!({
        "result": "superseded",
        "error": format!("not used: newer material {} was dropped after it", newest.name.to_string_lossy()),
        "kind": "superseded",
    })
    .to_string()
}

/// Moves a dropped file (and its password file) into `DIR/<outcome>/`, under its own name or, when that is
/// taken, with a time stamp (and a counter): never over an existing name. The result document goes beside
/// it first. Returns where the file now is, named by the directory actually worked in.
fn file_away(
    dir: &SafeDir,
    group: Option<u32>,
    file: &Dropped,
    outcome: &str,
    result: &str,
    clock: Clock,
) -> Result<PathBuf> {
    let target_dir = results_dir(dir, group, outcome)?;
    let stamp = compact_utc(clock.current());
    for attempt in 0..100 {
        let target = match attempt {
            0 => file.name.clone(),
            1 => with_suffix(&file.name, &format!(".{stamp}")),
            n => with_suffix(&file.name, &format!(".{stamp}-{n}")),
        };
        let result_name = with_suffix(&target, RESULT_SUFFIX);
        if target_dir.stat_of(&result_name).is_some() || target_dir.stat_of(&target).is_some() {
            continue;
        }
        target_dir.replace(
            &result_name,
            format!("{result}\n").as_bytes(),
            0o640,
            "write the result",
        )?;
        if !dir.move_noreplace(&file.name, &target_dir, &target)? {
            continue;
        }
        let password = with_suffix(&file.name, PASSWORD_SUFFIX);
        if dir.stat_of(&password).is_some() {
            dir.move_noreplace(
                &password,
                &target_dir,
                &with_suffix(&target, PASSWORD_SUFFIX),
            )?;
        }
        return Ok(target_dir.current_path().join(&target));
    }
    Err(Error::File(icg_renew::error::FileError::NoFreeResultName {
        dir: target_dir.path.clone(),
        name: file.name.clone().into(),
    }))
}

/// The gid of a group name from /etc/group, or a number.
fn group_id(name: &str) -> Result<u32> {
    if let Ok(gid) = name.parse() {
        return Ok(gid);
    }
    let groups = fsx::read_bounded(Path::new("/etc/group"), 16 * 1024 * 1024, "read")?;
    String::from_utf8_lossy(&groups)
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next() == Some(name)).then(|| fields.nth(1)?.parse().ok())?
        })
        .ok_or_else(|| {
            Error::Command(CommandError::UnknownGroup {
                name: name.to_string(),
            })
        })
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
