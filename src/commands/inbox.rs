//! `icg-renew inbox [DIR]`: the drop folder. Copying new material (a UMS export, say) into DIR renews the
//! gateway with it, under `--yes`, with the same checks, backup, confirmation and rollback as `renew`; the
//! file then moves to `DIR/done/` or `DIR/failed/` with the JSON result beside it as `<name>.json`. A password
//! may lie beside the material as `<name>.password` (mode 0600).
//!
//! Safety: DIR must be a directory that only root (and a group named with `--group`) can write to, since
//! whoever writes there decides the gateway's certificate. One run at a time holds a lock on DIR; the renewal
//! itself holds the keystore lock. A file is taken only when it has settled: no change to it (its ctime, which
//! every write, rename and timestamp change moves) for `--settle` seconds, so a copy in progress is never
//! read half-written. Older material found beside the newest is moved to `failed/` as superseded, so that
//! it is never installed after newer material.

use super::renew::{exit_code, renew_install, Request};
use super::resolve::{open_audit, resolve};
use super::{Finished, Prompter};
use crate::cli::{GlobalArgs, InboxArgs};
use icg_renew::cert::{compact_utc, Clock};
use icg_renew::error::CommandError;
use icg_renew::error::{DropFolderRisk, Error, ErrorKind, Result};
use icg_renew::material::MaterialSource;
use icg_renew::report::{InboxReport, Output};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
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
    name: String,
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
    let dir = &args.dir;
    let group = args.group.as_deref().map(group_id).transpose()?;
    check_inbox_dir(dir, group)?;
    let _lock = lock_dir(dir)?;
    let mut report = InboxReport {
        dir: dir.clone(),
        taken: None,
        filed_as: None,
        result_file: None,
        superseded: Vec::new(),
        still_being_written: None,
        renew: None,
        error: None,
    };
    let waited_since = std::time::Instant::now();
    let newest = loop {
        let mut found = dropped_files(dir)?;
        found.sort_by_key(|d| std::cmp::Reverse(d.changed));
        let Some(newest) = found.first().cloned() else {
            return Ok(Finished {
                output: Output::Inbox(Box::new(report)),
                exit_code: 0,
            });
        };
        let now = now_seconds();
        if now - newest.changed.0 >= args.settle as i64 && settled(&newest) {
            for older in &found[1..] {
                if now - older.changed.0 >= args.settle as i64 {
                    let filed = file_away(dir, older, "failed", &superseded_json(&newest), clock)?;
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
    let attempt =
        renew_waiting_for_the_lock(global, args, &newest.path, waited_since, prompter, clock)?;
    let (outcome, exit_code) = match attempt {
        Ok(renewed) => {
            let code = exit_code(renewed.result);
            let json = crate::ui::json(&Output::Renew(Box::new(renewed.clone())));
            report.renew = Some(Box::new(renewed));
            (json, code)
        }
        Err(e) => {
            report.error = Some(super::hint::message(&e));
            (crate::ui::json_error(&e), e.kind().exit_code())
        }
    };
    let outcome_dir = if exit_code == 0 { "done" } else { "failed" };
    let filed = file_away(dir, &newest, outcome_dir, &outcome, clock)?;
    report.result_file = Some(result_path(&filed));
    report.filed_as = Some(filed);
    Ok(Finished {
        output: Output::Inbox(Box::new(report)),
        exit_code,
    })
}

/// The renewal of one dropped file; another icg-renew holding the keystore is waited for (up to `--wait`,
/// counted from `waited_since`), not a reason to file the material: `Err` then, and the file stays.
fn renew_waiting_for_the_lock(
    global: &GlobalArgs,
    args: &InboxArgs,
    material: &Path,
    waited_since: std::time::Instant,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Result<icg_renew::report::RenewReport>> {
    let password_file = password_beside(material);
    let attempt = loop {
        let attempt = renew_with(
            global,
            args,
            material,
            password_file.as_deref(),
            prompter,
            clock,
        );
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

/// The renewal of one dropped file, exactly as `renew --yes NEW [--new-password-file NAME.password]`.
fn renew_with(
    global: &GlobalArgs,
    args: &InboxArgs,
    material: &Path,
    password_file: Option<&Path>,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<icg_renew::report::RenewReport> {
    if let Some(file) = password_file {
        let meta = std::fs::symlink_metadata(file).map_err(|e| Error::io("inspect", file, &e))?;
        if !meta.is_file() || meta.mode() & 0o077 != 0 {
            return Err(Error::Command(CommandError::DroppedPasswordMode {
                file: file.to_path_buf(),
                mode: meta.mode() & 0o7777,
            }));
        }
    }
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
    let mut install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "inbox", prompter);
    renew_install(&mut install, &request, prompter, &mut audit, clock)
}

/// Refuses a DIR that someone other than root (or `group`) could write to, or that is a link.
fn check_inbox_dir(dir: &Path, group: Option<u32>) -> Result<()> {
    let meta = std::fs::symlink_metadata(dir).map_err(|source| {
        Error::Command(CommandError::NoDropFolder {
            dir: dir.to_path_buf(),
            source,
        })
    })?;
    if !meta.is_dir() {
        return Err(Error::Command(CommandError::DropFolderNotADirectory {
            dir: dir.to_path_buf(),
        }));
    }
    let me = rustix::process::geteuid().as_raw();
    let refuse = |risk| {
        Error::Command(CommandError::DropFolderUnsafe {
            dir: dir.to_path_buf(),
            risk,
        })
    };
    if meta.uid() != 0 && meta.uid() != me {
        return Err(refuse(DropFolderRisk::Owner(meta.uid())));
    }
    if meta.mode() & 0o002 != 0 {
        return Err(refuse(DropFolderRisk::EveryUser));
    }
    if meta.mode() & 0o020 != 0 && group != Some(meta.gid()) {
        return Err(refuse(DropFolderRisk::Group(meta.gid())));
    }
    Ok(())
}

/// An exclusive lock on DIR for this run; a second run stops at once.
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    let handle = std::fs::File::open(dir).map_err(|e| Error::io("open", dir, &e))?;
    rustix::fs::flock(
        &handle,
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .map_err(|errno| {
        Error::Command(CommandError::InboxBusy {
            dir: dir.to_path_buf(),
            source: errno.into(),
        })
    })?;
    Ok(handle)
}

/// The material files in DIR: regular, not hidden, not a password or result file. Others are left alone.
fn dropped_files(dir: &Path) -> Result<Vec<Dropped>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list the drop folder", dir, &e))? {
        let entry = entry.map_err(|e| Error::io("list the drop folder", dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with(PASSWORD_SUFFIX) || name.ends_with(RESULT_SUFFIX)
        {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        found.push(Dropped {
            path: entry.path(),
            name,
            changed: (meta.ctime(), meta.ctime_nsec()),
            size: meta.len(),
        });
    }
    Ok(found)
}

/// Whether the file is as it was when listed (same size and change time): not written to since.
fn settled(file: &Dropped) -> bool {
    std::fs::symlink_metadata(&file.path)
        .is_ok_and(|m| m.len() == file.size && (m.ctime(), m.ctime_nsec()) == file.changed)
}

fn password_beside(material: &Path) -> Option<PathBuf> {
    let mut name = material.as_os_str().to_owned();
    name.push(PASSWORD_SUFFIX);
    let path = PathBuf::from(name);
    std::fs::symlink_metadata(&path).is_ok().then_some(path)
}

fn result_path(filed: &Path) -> PathBuf {
    let mut name = filed.as_os_str().to_owned();
    name.push(RESULT_SUFFIX);
    PathBuf::from(name)
}

fn superseded_json(newest: &Dropped) -> String {
    serde_json::json!({
        "result": "superseded",
        "error": format!("not used: newer material {} was dropped after it", newest.name),
        "kind": "superseded",
    })
    .to_string()
}

/// Moves a dropped file (and its password file) into `DIR/<outcome>/`, under its own name or, when that is
/// taken, with a time stamp; writes the result document beside it first.
fn file_away(
    dir: &Path,
    file: &Dropped,
    outcome: &str,
    result: &str,
    clock: Clock,
) -> Result<PathBuf> {
    let target_dir = dir.join(outcome);
    if std::fs::symlink_metadata(&target_dir).is_err() {
        std::fs::DirBuilder::new()
            .mode(0o750)
            .create(&target_dir)
            .map_err(|e| Error::io("create", &target_dir, &e))?;
    }
    let meta = std::fs::symlink_metadata(&target_dir)
        .map_err(|e| Error::io("inspect", &target_dir, &e))?;
    if !meta.is_dir() {
        return Err(Error::Command(CommandError::ResultsDirNotADirectory {
            dir: target_dir,
        }));
    }
    let mut target = target_dir.join(&file.name);
    if std::fs::symlink_metadata(&target).is_ok()
        || std::fs::symlink_metadata(result_path(&target)).is_ok()
    {
        target = target_dir.join(format!("{}.{}", file.name, compact_utc(clock.now)));
    }
    icg_renew::outfile::replace(
        &result_path(&target),
        format!("{result}\n").as_bytes(),
        0o640,
        "write the result",
    )?;
    std::fs::rename(&file.path, &target).map_err(|e| Error::io("move", &file.path, &e))?;
    if let Some(password) = password_beside(&file.path) {
        let mut moved = target.as_os_str().to_owned();
        moved.push(PASSWORD_SUFFIX);
        std::fs::rename(&password, PathBuf::from(moved))
            .map_err(|e| Error::io("move", &password, &e))?;
    }
    Ok(target)
}

/// The gid of a group name from /etc/group, or a number.
fn group_id(name: &str) -> Result<u32> {
    if let Ok(gid) = name.parse() {
        return Ok(gid);
    }
    let groups = std::fs::read_to_string("/etc/group")
        .map_err(|e| Error::io("read", Path::new("/etc/group"), &e))?;
    groups
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
