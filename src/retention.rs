//! Backup retention (`--keep-backups N`): each backup holds an old private key, and unattended renewal would
//! pile them up forever. After a successful renewal or rollback the backups of that keystore beyond the
//! newest N are overwritten and removed, like the pending key; the ones the command just made or used stay.
//! Works on the list `fsx::list_backups` returns and removes through the backups' directory descriptor, only
//! regular files with one link, owned by root or the keystore's owner.

use crate::error::{Error, FileError};
use crate::fsx::{Backup, SafeDir};
use std::path::{Path, PathBuf};

/// `--keep-backups` when none is given.
pub const DEFAULT_KEEP: usize = 10;

/// The backups (newest first in `backups`) beyond the `keep` that stay: those in `protect` always count
/// among them, the newest others fill the rest; none when `keep` is 0 (keep all). Counting the protected
/// first matters when stamps tie: two backups made in the same second sort by name, and the one just made
/// must not push out nothing but itself.
pub fn beyond(backups: &[Backup], keep: usize, protect: &[&Path]) -> Vec<PathBuf> {
    if keep == 0 {
        return Vec::new();
    }
    let is_protected = |b: &&Backup| protect.contains(&b.path.as_path());
    let room = keep.saturating_sub(backups.iter().filter(is_protected).count());
    backups
        .iter()
        .filter(|b| !is_protected(b))
        .skip(room)
        .map(|b| b.path.clone())
        .collect()
}

/// The backups that the next renewal would remove: it adds one backup, so those from position `keep` on
/// after it, i.e. from `keep - 1` on now.
pub fn next_to_go(backups: &[Backup], keep: usize) -> Vec<PathBuf> {
    if keep == 0 {
        return Vec::new();
    }
    backups
        .iter()
        .skip(keep - 1)
        .map(|b| b.path.clone())
        .collect()
}

/// Overwrites and removes each backup named in `paths` from `dir`, through its descriptor and only while the
/// name holds the file listed; returns those removed and the errors of the others.
pub fn remove(
    dir: &SafeDir,
    backups: &[Backup],
    paths: &[PathBuf],
    keystore_owner: u32,
) -> (Vec<PathBuf>, Vec<Error>) {
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    for backup in backups.iter().filter(|b| paths.contains(&b.path)) {
        let Some((meta, true)) = dir.meta_of(&backup.name) else {
            continue;
        };
        if meta.uid != 0 && meta.uid != keystore_owner {
            errors.push(Error::File(FileError::NoLongerFound {
                path: backup.path.clone(),
                what: "a backup".into(),
            }));
            continue;
        }
        match dir.shred(&backup.name, meta.id, "the backup") {
            Ok(()) => removed.push(backup.path.clone()),
            Err(e) => errors.push(e),
        }
    }
    (removed, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> Vec<Backup> {
        (0..n)
            .map(|i| Backup {
                path: PathBuf::from(format!("/b/{i}")),
                name: format!("{i}").into(),
                created: 1000 - i as i64,
                kind: crate::fsx::BackupKind::BeforeRenewal,
                id: crate::fsx::FileId {
                    dev: 0,
                    ino: i as u64,
                },
            })
            .collect()
    }

    #[test]
    fn keeps_the_newest_and_the_protected_and_everything_at_zero() {
        let backups = list(5);
        assert_eq!(
            beyond(&backups, 3, &[]),
            vec![PathBuf::from("/b/3"), "/b/4".into()]
        );
        assert_eq!(
            beyond(&backups, 3, &[Path::new("/b/4")]),
            vec![PathBuf::from("/b/2"), "/b/3".into()]
        );
        // The protected one counts among the kept even when it sorts after others (a stamp tie).
        assert_eq!(
            beyond(&backups, 1, &[Path::new("/b/1")]),
            vec![
                PathBuf::from("/b/0"),
                "/b/2".into(),
                "/b/3".into(),
                "/b/4".into()
            ]
        );
        assert!(beyond(&backups, 0, &[]).is_empty());
        assert!(beyond(&backups, 5, &[]).is_empty());
        assert_eq!(
            next_to_go(&backups, 3),
            vec![PathBuf::from("/b/2"), "/b/3".into(), "/b/4".into()]
        );
        assert!(next_to_go(&backups, 0).is_empty());
        assert!(next_to_go(&backups, 6).is_empty());
    }
}
