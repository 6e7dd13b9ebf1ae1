//! File-system mechanics with the safety properties the contract promises: bounded reads that refuse
//! anything but a regular file; the keystore's directory resolved once and opened, with every later step
//! (lock, exclusive 0600 temp file, read-back, rename, owner and mode, backup, removal) done relative to that
//! descriptor and checked against the (device, inode) that was read; fsync of file and directory; atomic
//! replacement that keeps owner, group, mode and SELinux label; timestamped backups. Knows nothing of
//! keystore formats. See docs/decisions.md, "Root on a shared gateway", for the layouts it refuses.
//!
//! Here: bounded reads of plain files, file identity, operator output files. [`SafeDir`] is in `dir`, the
//! keystore file and its lock in `keystore_file`, backups in `backup`.

mod backup;
mod dir;
mod keystore_file;
mod resolve;

pub use backup::{list_backups, make_backup, Backup, BackupKind};
pub use dir::SafeDir;
pub use keystore_file::{KeystoreFile, KeystoreLock};
pub use resolve::{resolve, resolve_dir, resolve_parent, Resolved, Trust};

/// Largest keystore, backup or material file read: a trust store of 10,000 certificates is about 10 MB.
pub const MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;

use crate::error::FileError;
use crate::error::{Error, FoundFile, Result};
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const O_NONBLOCK: i32 = rustix::fs::OFlags::NONBLOCK.bits() as i32;
const SELINUX_XATTR: &str = "security.selinux";
const TEMP_MARK: &str = ".icg-renew-";

/// Reads a whole regular file of at most `max` bytes, following symbolic links (the keystore and the ICG's
/// configuration may be links). Directories, FIFOs and devices are refused without blocking; `doing` words
/// the error ("read the keystore").
pub fn read_bounded(path: &Path, max: u64, doing: &str) -> Result<Vec<u8>> {
    read_regular(path, max, doing, O_NONBLOCK)
}

/// Reads a file an operator hands over (new material, keys, chains, password files, backups): resolved
/// once under [`Trust::operator`] ([`resolve_parent`]), then read through the held directory. A symbolic
/// link in its place is refused, and so is anything but a regular file (without blocking) and a file with a
/// second hard link (which could be another account's window onto a file it cannot read).
pub fn read_input(path: &Path, max: u64, doing: &str) -> Result<Vec<u8>> {
    read_input_with_meta(path, max, doing).map(|(data, _)| data)
}

/// [`read_input`], with what the file was when it was read (its mode, for a warning about who may read it).
pub fn read_input_with_meta(path: &Path, max: u64, doing: &str) -> Result<(Vec<u8>, FileMeta)> {
    let at = resolve_parent(path, Trust::operator())?;
    let opened = at.dir.open_regular(
        &at.name,
        rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
        doing,
    );
    let (file, stat) = opened.map_err(|e| match e {
        Error::File(FileError::BecameLink { .. }) => Error::File(FileError::InputIsLink {
            doing: doing.to_string(),
            path: path.to_path_buf(),
        }),
        other => other,
    })?;
    if stat.st_nlink != 1 {
        return Err(Error::File(FileError::SharedFile {
            doing: doing.to_string(),
            path: at.path(),
            links: stat.st_nlink,
            uid: stat.st_uid,
        }));
    }
    let data = dir::read_limited(file, stat.st_size as u64, max, doing, &at.path())?;
    Ok((data, FileMeta::of(&stat)))
}

/// The invoking operator: `$SUDO_USER` (as `/etc/passwd` has it) when root runs under sudo, else the real
/// user; with the home directory.
pub fn invoking_user() -> Option<(u32, PathBuf)> {
    match std::env::var("SUDO_USER") {
        Ok(name) if rustix::process::getuid().is_root() => passwd_entry(|n, _| n == name),
        _ => {
            let uid = rustix::process::getuid().as_raw();
            passwd_entry(|_, u| u == uid)
        }
    }
}

/// The uid and home directory of the first `/etc/passwd` entry whose (name, uid) `matches`.
fn passwd_entry(matches: impl Fn(&str, u32) -> bool) -> Option<(u32, PathBuf)> {
    let passwd = read_bounded(Path::new("/etc/passwd"), 16 * 1024 * 1024, "read").ok()?;
    String::from_utf8_lossy(&passwd).lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        let uid = fields.get(2)?.parse().ok()?;
        let home = fields.get(5)?;
        (matches(fields[0], uid) && home.starts_with('/')).then(|| (uid, PathBuf::from(home)))
    })
}

fn read_regular(path: &Path, max: u64, doing: &str, flags: i32) -> Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| Error::io(doing, path, &e))?;
    let stat = rustix::fs::fstat(&file).map_err(|e| Error::io(doing, path, &e.into()))?;
    if !is_regular(&stat) {
        return Err(Error::File(FileError::NotRegularFile {
            doing: doing.to_string(),
            path: path.to_path_buf(),
            found: found_file(&stat),
        }));
    }
    dir::read_limited(file, stat.st_size as u64, max, doing, path)
}

/// What a file that is not a regular file is.
fn found_file(stat: &rustix::fs::Stat) -> FoundFile {
    use rustix::fs::FileType;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => FoundFile::Directory,
        FileType::Fifo | FileType::Socket => FoundFile::FifoOrSocket,
        _ => FoundFile::DeviceOrSpecial,
    }
}

/// What identifies a file: the same (device, inode) is the same file, whatever names point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// A file as it was found: identity, owner, group and permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub id: FileId,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

impl FileMeta {
    pub(super) fn of(stat: &rustix::fs::Stat) -> FileMeta {
        FileMeta {
            id: FileId {
                dev: stat.st_dev,
                ino: stat.st_ino,
            },
            uid: stat.st_uid,
            gid: stat.st_gid,
            mode: stat.st_mode & 0o7777,
        }
    }
}

/// Whether `stat` is a regular file's.
pub fn is_regular(stat: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}
/// The file a path finally names (following symbolic links), resolved once.
pub fn real_path(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io("resolve", path, &e))
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keystore".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransactionError;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn mode_of(path: &Path) -> Option<u32> {
        std::fs::metadata(path).ok().map(|m| m.mode() & 0o7777)
    }

    #[test]
    fn refuses_a_fifo_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = read_bounded(&fifo, 1024, "read").unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = read_bounded(dir.path(), 1024, "read").unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }

    #[test]
    fn refuses_an_oversized_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![0u8; 2048]).unwrap();
        assert!(read_bounded(&path, 1024, "read")
            .unwrap_err()
            .to_string()
            .contains("limit"));
        assert_eq!(read_bounded(&path, 4096, "read").unwrap().len(), 2048);
    }

    fn sandbox_keystore(dir: &Path) -> KeystoreFile {
        let keystore = dir.join("keystore.jks");
        std::fs::write(&keystore, b"old").unwrap();
        KeystoreFile::open(&keystore).unwrap()
    }

    #[test]
    fn backups_are_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = sandbox_keystore(dir.path());
        let (_, meta) = file.read().unwrap();
        let made = |now| {
            make_backup(
                &file.dir,
                "keystore.jks",
                b"old",
                &meta,
                (now, BackupKind::BeforeRenewal),
            )
            .unwrap()
        };
        let first = made(1_000_000_000);
        let second = made(1_000_000_000);
        let third = made(1_000_000_060);
        assert!(first.path.ends_with("keystore.jks.20010909T014640Z.bak"));
        assert!(second.path.ends_with("keystore.jks.20010909T014640Z-1.bak"));
        assert_eq!(mode_of(&first.path), Some(0o600));
        let saved = make_backup(
            &file.dir,
            "keystore.jks",
            b"new",
            &meta,
            (1_000_000_120, BackupKind::BeforeRollback),
        )
        .unwrap();
        assert!(saved
            .path
            .ends_with("keystore.jks.20010909T014840Z.before-rollback.bak"));
        let listed: Vec<(PathBuf, BackupKind)> = list_backups(&file.dir, "keystore.jks")
            .unwrap()
            .into_iter()
            .map(|b| (b.path, b.kind))
            .collect();
        let renewal = BackupKind::BeforeRenewal;
        assert_eq!(
            listed,
            vec![
                (saved.path, BackupKind::BeforeRollback),
                (third.path, renewal),
                (second.path, renewal),
                (first.path, renewal)
            ]
        );
    }

    #[test]
    fn replacement_keeps_the_link_and_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.p12");
        let link = dir.path().join("keystore.jks");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let file = KeystoreFile::open(&link).unwrap();
        let (_, meta) = file.read().unwrap();
        let new_id = file
            .replace(meta.id, &meta, b"new", &|back| {
                assert_eq!(back, b"new");
                Ok(())
            })
            .unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(mode_of(&target), Some(0o640));
        assert!(file.dir.holds(&file.name, new_id));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_keystore_renamed_away_after_the_read_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = sandbox_keystore(dir.path());
        let (_, meta) = file.read().unwrap();
        std::fs::rename(dir.path().join("keystore.jks"), dir.path().join("moved")).unwrap();
        std::fs::write(dir.path().join("keystore.jks"), b"other").unwrap();
        let err = file
            .replace(meta.id, &meta, b"new", &|_| Ok(()))
            .unwrap_err();
        assert!(err.to_string().contains("no longer the file"), "{err}");
        assert_eq!(
            std::fs::read(dir.path().join("keystore.jks")).unwrap(),
            b"other"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_failed_verification_leaves_the_original_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let file = sandbox_keystore(dir.path());
        let (_, meta) = file.read().unwrap();
        let err = file
            .replace(meta.id, &meta, b"new", &|_| {
                Err(Error::Transaction(TransactionError::ReadBackDiffers {
                    keystore: dir.path().join("keystore.jks"),
                    what: "server key differs".into(),
                }))
            })
            .unwrap_err();
        assert!(
            matches!(&err, Error::Transaction(TransactionError::ReadBackDiffers { what, .. }) if what == "server key differs"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("keystore.jks")).unwrap(),
            b"old"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let file = sandbox_keystore(dir.path());
        let _held = file.lock().unwrap();
        // flock locks belong to the open file description, so a second open in this process conflicts too.
        let err = file.lock().unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Locked);
        assert!(
            err.to_string()
                .contains(&format!("process {}", std::process::id())),
            "{err}"
        );
    }
}
