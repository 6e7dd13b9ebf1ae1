//! Timestamped backups of the keystore: written exclusively beside it or in the backup directory, and
//! listed newest first.

use super::{FileId, FileMeta, SafeDir};
use crate::error::FileError;
use crate::error::{Error, Result};
use crate::utc::{compact_utc, parse_compact_utc, UnixTime};
use std::ffi::OsString;
use std::path::PathBuf;

/// A backup file, when it was made, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub name: OsString,
    pub created: UnixTime,
    pub kind: BackupKind,
    /// The file as it was made or listed: it is removed only while its name still holds this file.
    pub id: FileId,
}

/// What a backup holds: the keystore as it was before a renewal, or as it was before a rollback replaced it.
/// A plain `rollback` undoes the last renewal; the second kind is only restored by name (undoing a rollback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupKind {
    /// `<keystore>.<stamp>.bak`
    BeforeRenewal,
    /// `<keystore>.<stamp>.before-rollback.bak`
    BeforeRollback,
}

impl BackupKind {
    fn suffix(self) -> &'static str {
        match self {
            BackupKind::BeforeRenewal => ".bak",
            BackupKind::BeforeRollback => ".before-rollback.bak",
        }
    }
}

/// How many backups of one keystore one second can hold.
const MAX_PER_SECOND: u32 = 100;

/// Writes `data` to `<keystore name>.<YYYYMMDDTHHMMSSZ>.bak` in `dir` (with `-N` before `.bak`, N above
/// every number taken in that second), created exclusively through the directory's descriptor: mode 0600,
/// owner and group of `like` (the keystore it copies), flushed with its directory.
pub fn make_backup(
    dir: &SafeDir,
    keystore_name: &str,
    data: &[u8],
    like: &FileMeta,
    (now, kind): (UnixTime, BackupKind),
) -> Result<Backup> {
    let stamp = compact_utc(now);
    let suffix = kind.suffix();
    let name_of = |n: u32| {
        OsString::from(if n == 0 {
            format!("{keystore_name}.{stamp}{suffix}")
        } else {
            format!("{keystore_name}.{stamp}-{n}{suffix}")
        })
    };
    // The number goes after the highest one taken in this second, never into a gap that retention left:
    // backups of one second are ordered by it, and a reused low number would make the newest look oldest.
    let first_free = (0..MAX_PER_SECOND)
        .filter(|n| dir.meta_of(&name_of(*n)).is_some())
        .max()
        .map_or(0, |n| n + 1);
    for n in first_free..MAX_PER_SECOND {
        let name = name_of(n);
        if dir.meta_of(&name).is_some() {
            continue;
        }
        let path = dir.join(&name);
        let (file, id) = dir.create_new(&name, data, "write the backup")?;
        let owned = rustix::fs::fchown(
            &file,
            Some(rustix::fs::Uid::from_raw(like.uid)),
            Some(rustix::fs::Gid::from_raw(like.gid)),
        );
        drop(file);
        if let Err(e) = owned {
            dir.remove_if(&name, id);
            return Err(Error::io("set the owner of the backup", &path, &e.into()));
        }
        // A backup that may not survive a crash is not one to name: it goes, and the run stops.
        if let Err(e) = dir.sync() {
            dir.remove_if(&name, id);
            return Err(e);
        }
        return Ok(Backup {
            path,
            name,
            created: now,
            kind,
            id,
        });
    }
    Err(Error::File(FileError::NoFreeBackupName {
        dir: dir.path.clone(),
    }))
}

/// Backups of the keystore named `keystore_name` in `dir`, newest first (regular files only).
pub fn list_backups(dir: &SafeDir, keystore_name: &str) -> Result<Vec<Backup>> {
    let prefix = format!("{keystore_name}.");
    let mut backups: Vec<(Backup, u32)> = dir
        .names()
        .map_err(|e| {
            Error::File(FileError::ListBackups {
                source: Box::new(e),
            })
        })?
        .into_iter()
        .filter_map(|name| {
            let text = name.to_string_lossy().into_owned();
            let stem = text.strip_prefix(&prefix)?.strip_suffix(".bak")?;
            let (stem, kind) = match stem.strip_suffix(".before-rollback") {
                Some(stem) => (stem, BackupKind::BeforeRollback),
                None => (stem, BackupKind::BeforeRenewal),
            };
            let (stamp, n) = match stem.split_once('-') {
                Some((stamp, n)) => (stamp, n.parse().ok()?),
                None => (stem, 0),
            };
            let created = parse_compact_utc(stamp)?;
            let (meta, regular) = dir.meta_of(&name)?;
            regular.then(|| {
                (
                    Backup {
                        path: dir.join(&name),
                        name,
                        created,
                        kind,
                        id: meta.id,
                    },
                    n,
                )
            })
        })
        .collect();
    backups.sort_by(|(a, an), (b, bn)| b.created.cmp(&a.created).then(bn.cmp(an)));
    Ok(backups.into_iter().map(|(b, _)| b).collect())
}
