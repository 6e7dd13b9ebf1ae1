//! File-system mechanics with the safety properties the contract promises: bounded reads that refuse
//! anything but a regular file, the per-keystore lock, exclusive 0600 temp files, fsync of file and
//! directory, atomic replacement that keeps owner, group, mode and SELinux label (through a symbolic link to
//! its target), and timestamped backups. Knows nothing of keystore formats.

use crate::cert::{compact_utc, parse_compact_utc, UnixTime};
use crate::error::{Error, ErrorKind, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const O_NONBLOCK: i32 = rustix::fs::OFlags::NONBLOCK.bits() as i32;
const O_NOFOLLOW: i32 = rustix::fs::OFlags::NOFOLLOW.bits() as i32;
const SELINUX_XATTR: &str = "security.selinux";
const TEMP_MARK: &str = ".icg-renew-";

/// Reads a whole regular file of at most `max` bytes, following symbolic links (the keystore and the ICG's
/// configuration may be links). Directories, FIFOs and devices are refused without blocking; `doing` words
/// the error ("read the keystore").
pub fn read_bounded(path: &Path, max: u64, doing: &str) -> Result<Vec<u8>> {
    read_regular(path, max, doing, O_NONBLOCK)
}

/// Like `read_bounded`, but a symbolic link is refused too: for files an operator hands over (new material,
/// keys, password files, backups), so that a link planted in a shared directory cannot redirect the read.
pub fn read_input(path: &Path, max: u64, doing: &str) -> Result<Vec<u8>> {
    read_regular(path, max, doing, O_NONBLOCK | O_NOFOLLOW).map_err(|e| {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            Error::new(
                ErrorKind::Io,
                format!("cannot {doing} {}: it is a symbolic link; give the path of the file it points to", path.display()),
            )
        } else {
            e
        }
    })
}

fn read_regular(path: &Path, max: u64, doing: &str, flags: i32) -> Result<Vec<u8>> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| Error::io(doing, path, &e))?;
    let meta = file.metadata().map_err(|e| Error::io(doing, path, &e))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else if meta.file_type().is_fifo_like() {
            "a FIFO or socket"
        } else {
            "a device or special file"
        };
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "cannot {doing} {}: it is {what}, not a regular file; give the path of a file",
                path.display()
            ),
        ));
    }
    if meta.len() > max {
        return Err(Error::corrupt(format!(
            "cannot {doing} {}: it is {} bytes, more than the {} MiB limit; check the path",
            path.display(),
            meta.len(),
            max / (1024 * 1024)
        )));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    Read::by_ref(&mut file)
        .take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(doing, path, &e))?;
    if data.len() as u64 > max {
        return Err(Error::corrupt(format!(
            "cannot {doing} {}: it grew past the size limit",
            path.display()
        )));
    }
    Ok(data)
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo() || self.is_socket()
    }
}

/// Permission bits of a file, if it can be inspected.
pub fn mode_of(path: &Path) -> Option<u32> {
    std::fs::metadata(path).ok().map(|m| m.mode() & 0o7777)
}

/// Refuses, when running as root, a directory that another user could write to (world-writable, or owned
/// by someone else): they could swap a file in it for a link between our check and our use.
pub fn check_dir_is_private(dir: &Path, role: &str) -> Result<()> {
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let meta = std::fs::metadata(dir).map_err(|e| Error::io("inspect", dir, &e))?;
    if meta.mode() & 0o002 != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{role} {} is writable by every user, which lets them race icg-renew with links: chmod o-w it, or choose another directory", dir.display()),
        ));
    }
    if meta.uid() != 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{role} {} belongs to uid {}, not root, who could swap files in it while icg-renew works: chown root it, or choose another directory", dir.display(), meta.uid()),
        ));
    }
    Ok(())
}

/// The file a path finally names (following symbolic links), so that a linked keystore keeps its link.
pub fn real_path(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io("resolve", path, &e))
}

/// An exclusive advisory lock held for the lifetime of the value. It lives in a lock file beside the
/// keystore; the kernel releases it when the process dies, so a stale file never blocks the next run.
#[derive(Debug)]
pub struct KeystoreLock {
    _file: File,
    pub path: PathBuf,
}

impl KeystoreLock {
    pub fn acquire(keystore: &Path) -> Result<KeystoreLock> {
        let real = real_path(keystore)?;
        let path = sibling(&real, ".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW)
            .open(&path)
            .map_err(|e| Error::io("create the lock file", &path, &e))?;
        if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("process {holder}")
            };
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "{} is being changed by another icg-renew ({who} holds {}): wait for it to finish",
                    keystore.display(),
                    path.display()
                ),
            ));
        }
        file.set_len(0)
            .map_err(|e| Error::io("write the lock file", &path, &e))?;
        write!(file, "{}", std::process::id())
            .map_err(|e| Error::io("write the lock file", &path, &e))?;
        Ok(KeystoreLock { _file: file, path })
    }
}

/// `<dir>/.<name><suffix>`: a hidden file beside `real`.
fn sibling(real: &Path, suffix: &str) -> PathBuf {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    real.with_file_name(format!(".{name}{suffix}"))
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("flush the directory", dir, &e))
}

/// Creates `path` exclusively (never through a link) with mode 0600, writes `data` and flushes it.
fn write_new_file(path: &Path, data: &[u8], doing: &str) -> Result<File> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(doing, path, &e))?;
    // The umask may have narrowed the mode further; never widened it. Make it exactly 0600.
    let result = file
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(data))
        .and_then(|()| file.sync_all());
    if let Err(e) = result {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(Error::io(doing, path, &e));
    }
    Ok(file)
}

/// Creates `path` exclusively with mode 0600, writes and flushes it, and flushes its directory.
pub fn write_private_file(path: &Path, data: &[u8], doing: &str) -> Result<()> {
    write_new_file(path, data, doing)?;
    fsync_dir(path.parent().unwrap_or(Path::new("/")))
}

/// Gives `file` the owner and group of `like` (and, with `with_mode`, its mode and SELinux label).
fn copy_metadata(
    file: &File,
    like: &std::fs::Metadata,
    like_path: &Path,
    with_mode: bool,
) -> std::io::Result<()> {
    std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid()))?;
    if with_mode {
        file.set_permissions(std::fs::Permissions::from_mode(like.mode() & 0o7777))?;
        let mut label = vec![0u8; 256];
        if let Ok(len) = rustix::fs::getxattr(like_path, SELINUX_XATTR, &mut label[..]) {
            let _ = rustix::fs::fsetxattr(
                file,
                SELINUX_XATTR,
                &label[..len],
                rustix::fs::XattrFlags::empty(),
            );
        }
    }
    Ok(())
}

/// Replaces the file `target` names (its link target when it is a symbolic link) with `data`, atomically:
/// an exclusive temp file in the same directory, flushed, given the original's owner, group, mode and
/// label, checked by `verify`, renamed over the original, then the directory flushed. On any error the
/// original is untouched and the temp file is gone.
pub fn replace_atomically(
    target: &Path,
    data: &[u8],
    verify: &dyn Fn(&Path) -> Result<()>,
) -> Result<()> {
    let real = real_path(target)?;
    let dir = real.parent().unwrap_or(Path::new("/")).to_path_buf();
    let original = std::fs::metadata(&real).map_err(|e| Error::io("inspect", &real, &e))?;
    let temp = sibling(&real, &format!("{TEMP_MARK}{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let file = write_new_file(&temp, data, "write the new keystore")?;
    let outcome = copy_metadata(&file, &original, &real, true)
        .map_err(|e| Error::io("set owner and mode of", &temp, &e))
        .and_then(|()| {
            drop(file);
            crate::failpoint::hit("temp-written");
            verify(&temp)
        })
        .and_then(|()| {
            std::fs::rename(&temp, &real)
                .map_err(|e| Error::io("rename the new keystore over", &real, &e))
        });
    if let Err(e) = outcome {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    // The rename has happened: from here on an error would claim that nothing changed. Flushing the
    // directory entry is best effort (the file's own data was flushed before the rename).
    let _ = fsync_dir(&dir);
    Ok(())
}

/// Removes temp files an earlier, killed run left beside `keystore`. Call only while holding the lock.
pub fn remove_stale_temps(keystore: &Path) -> Vec<PathBuf> {
    let Ok(real) = real_path(keystore) else {
        return Vec::new();
    };
    let prefix = sibling(&real, TEMP_MARK);
    let prefix = prefix
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(dir) = real.parent() else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix)
                && name.ends_with(".tmp")
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed.push(entry.path());
            }
        }
    }
    removed
}

/// A backup file and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub created: UnixTime,
}

/// Copies `keystore` to `<dir>/<file name>.<YYYYMMDDTHHMMSSZ>.bak` (with `-N` before `.bak` when that name
/// is taken): byte-identical, mode 0600, the original's owner and group, flushed with its directory.
pub fn make_backup(keystore: &Path, data: &[u8], dir: &Path, now: UnixTime) -> Result<Backup> {
    let real = real_path(keystore)?;
    let original = std::fs::metadata(&real).map_err(|e| Error::io("inspect", &real, &e))?;
    let name = file_name(keystore);
    let stamp = compact_utc(now);
    for n in 0..100 {
        let candidate = if n == 0 {
            format!("{name}.{stamp}.bak")
        } else {
            format!("{name}.{stamp}-{n}.bak")
        };
        let path = dir.join(candidate);
        match write_new_file(&path, data, "write the backup") {
            Ok(file) => {
                if let Err(e) = copy_metadata(&file, &original, &real, false) {
                    let _ = std::fs::remove_file(&path);
                    return Err(Error::io("set the owner of the backup", &path, &e));
                }
                fsync_dir(dir)?;
                return Ok(Backup { path, created: now });
            }
            Err(e) if path.exists() && e.kind != ErrorKind::Io => return Err(e),
            Err(_) if path.exists() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::new(
        ErrorKind::Io,
        format!("cannot find a free backup name in {}", dir.display()),
    ))
}

/// Backups of `keystore` in `dir`, newest first.
pub fn list_backups(keystore: &Path, dir: &Path) -> Result<Vec<Backup>> {
    let name = file_name(keystore);
    let prefix = format!("{name}.");
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list backups in", dir, &e))?;
    let mut backups: Vec<(Backup, u32)> = entries
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let stem = file.strip_prefix(&prefix)?.strip_suffix(".bak")?;
            let (stamp, n) = match stem.split_once('-') {
                Some((stamp, n)) => (stamp, n.parse().ok()?),
                None => (stem, 0),
            };
            let created = parse_compact_utc(stamp)?;
            entry.file_type().ok()?.is_file().then(|| {
                (
                    Backup {
                        path: entry.path(),
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

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keystore".into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(err.message.contains("FIFO"), "{}", err.message);
        let err = read_bounded(dir.path(), 1024, "read").unwrap_err();
        assert!(err.message.contains("directory"), "{}", err.message);
    }

    #[test]
    fn refuses_an_oversized_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![0u8; 2048]).unwrap();
        assert!(read_bounded(&path, 1024, "read")
            .unwrap_err()
            .message
            .contains("limit"));
        assert_eq!(read_bounded(&path, 4096, "read").unwrap().len(), 2048);
    }

    #[test]
    fn backups_are_listed_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let keystore = dir.path().join("keystore.jks");
        std::fs::write(&keystore, b"old").unwrap();
        let first = make_backup(&keystore, b"old", dir.path(), 1_000_000_000).unwrap();
        let second = make_backup(&keystore, b"old", dir.path(), 1_000_000_000).unwrap();
        let third = make_backup(&keystore, b"old", dir.path(), 1_000_000_060).unwrap();
        assert!(first.path.ends_with("keystore.jks.20010909T014640Z.bak"));
        assert!(second.path.ends_with("keystore.jks.20010909T014640Z-1.bak"));
        assert_eq!(mode_of(&first.path), Some(0o600));
        let listed: Vec<PathBuf> = list_backups(&keystore, dir.path())
            .unwrap()
            .into_iter()
            .map(|b| b.path)
            .collect();
        assert_eq!(listed, vec![third.path, second.path, first.path]);
    }

    #[test]
    fn replacement_keeps_the_link_and_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.p12");
        let link = dir.path().join("keystore.jks");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        replace_atomically(&link, b"new", &|_| Ok(())).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(mode_of(&target), Some(0o640));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_failed_verification_leaves_the_original_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("keystore.jks");
        std::fs::write(&target, b"old").unwrap();
        let err = replace_atomically(&target, b"new", &|_| {
            Err(Error::corrupt("read-back differs"))
        })
        .unwrap_err();
        assert_eq!(err.message, "read-back differs");
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("keystore.jks");
        std::fs::write(&target, b"old").unwrap();
        let _held = KeystoreLock::acquire(&target).unwrap();
        // flock locks belong to the open file description, so a second open in this process conflicts too.
        let err = KeystoreLock::acquire(&target).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Locked);
        assert!(
            err.message
                .contains(&format!("process {}", std::process::id())),
            "{}",
            err.message
        );
    }
}
