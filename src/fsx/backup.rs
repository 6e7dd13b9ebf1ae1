//! Timestamped backups of the keystore: written exclusively beside it or in the backup directory, and
//! listed newest first.

use super::{FileMeta, SafeDir};
use crate::cert::{compact_utc, parse_compact_utc, UnixTime};
use crate::error::FileError;
use crate::error::{Error, Result};
use std::ffi::OsString;
use std::path::PathBuf;

/// A backup file and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub name: OsString,
    pub created: UnixTime,
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
    now: UnixTime,
) -> Result<Backup> {
    let stamp = compact_utc(now);
    let name_of = |n: u32| {
        OsString::from(if n == 0 {
            format!("{keystore_name}.{stamp}.bak")
        } else {
            format!("{keystore_name}.{stamp}-{n}.bak")
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
        dir.sync()?;
        return Ok(Backup {
            path,
            name,
            created: now,
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
            let (stamp, n) = match stem.split_once('-') {
                Some((stamp, n)) => (stamp, n.parse().ok()?),
                None => (stem, 0),
            };
            let created = parse_compact_utc(stamp)?;
            matches!(dir.meta_of(&name), Some((_, true))).then(|| {
                (
                    Backup {
                        path: dir.join(&name),
                        name,
                        created,
                    },
                    n,
                )
            })
        })
        .collect();
    backups.sort_by(|(a, an), (b, bn)| b.created.cmp(&a.created).then(bn.cmp(an)));
    Ok(backups.into_iter().map(|(b, _)| b).collect())
}
