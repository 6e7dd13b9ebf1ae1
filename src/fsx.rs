//! File-system mechanics with the safety properties the contract promises: bounded reads that refuse
//! anything but a regular file; the keystore's directory resolved once and opened, with every later step
//! (lock, exclusive 0600 temp file, read-back, rename, owner and mode, backup, removal) done relative to that
//! descriptor and checked against the (device, inode) that was read; fsync of file and directory; atomic
//! replacement that keeps owner, group, mode and SELinux label; timestamped backups. Knows nothing of
//! keystore formats. See docs/decisions.md, "Root on a shared gateway", for the layouts it refuses.

use crate::cert::{compact_utc, parse_compact_utc, UnixTime};
use crate::error::{Error, ErrorKind, Result};
use crate::shown::Shown;
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
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
                format!("cannot {doing} {}: it is a symbolic link; give the path of the file it points to", path.shown()),
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
                path.shown()
            ),
        ));
    }
    if meta.len() > max {
        return Err(Error::corrupt(format!(
            "cannot {doing} {}: it is {} bytes, more than the {} MiB limit; check the path",
            path.shown(),
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
            path.shown()
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
    fn of(stat: &rustix::fs::Stat) -> FileMeta {
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

fn is_regular(stat: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A directory resolved once and held open: every file operation on it goes through the descriptor with
/// `*at` calls that never follow a link, so renaming or re-linking anything on the way to it afterwards
/// cannot redirect them. `path` is only for messages and printed commands.
#[derive(Debug, Clone)]
pub struct SafeDir {
    fd: std::sync::Arc<rustix::fd::OwnedFd>,
    pub path: PathBuf,
}

impl SafeDir {
    /// Resolves `dir` (following links, once) and opens it by walking from `/`, one component at a time,
    /// never through a link: the descriptor is the directory the resolved name held.
    pub fn open(dir: &Path) -> Result<SafeDir> {
        use rustix::fs::{openat, Mode, OFlags, CWD};
        let real = real_path(dir)?;
        let walk = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let failed = |e: rustix::io::Errno| Error::io("open the directory", &real, &e.into());
        // The way down needs only search permission (O_PATH), as a lookup by path would.
        let mut fd = openat(CWD, "/", walk, Mode::empty()).map_err(failed)?;
        let names: Vec<&OsStr> = real
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(name) => Some(name),
                _ => None,
            })
            .collect();
        if let Some((last, way)) = names.split_last() {
            for name in way {
                fd = openat(&fd, *name, walk, Mode::empty()).map_err(failed)?;
            }
            // The directory itself is opened for reading (listing, fsync); where only search is allowed
            // (a non-root `status` through a 0711 directory), a path descriptor still serves every lookup.
            let read = walk.difference(OFlags::PATH) | OFlags::RDONLY;
            fd = match openat(&fd, *last, read, Mode::empty()) {
                Err(rustix::io::Errno::ACCESS) => openat(&fd, *last, walk, Mode::empty()),
                other => other,
            }
            .map_err(failed)?;
        } else {
            fd = openat(
                CWD,
                "/",
                walk.difference(OFlags::PATH) | OFlags::RDONLY,
                Mode::empty(),
            )
            .map_err(failed)?;
        }
        Ok(SafeDir {
            fd: std::sync::Arc::new(fd),
            path: real,
        })
    }

    /// The open directory, for `*at` calls of modules that keep their own files in it.
    pub fn fd(&self) -> std::sync::Arc<rustix::fd::OwnedFd> {
        self.fd.clone()
    }

    /// The path of `name` in this directory, for messages.
    pub fn join(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    /// Refuses, when running as root, a directory that an account other than root could change: owned by
    /// another uid, group-writable with a group other than root's, or writable by everyone. Such an
    /// account could swap the files icg-renew works on, which the descriptor cannot prevent.
    pub fn check_private(&self, role: &str) -> Result<()> {
        if !running_as_root() {
            return Ok(());
        }
        let stat = rustix::fs::fstat(&*self.fd)
            .map_err(|e| Error::io("inspect", &self.path, &e.into()))?;
        let shown = self.path.shown();
        let refuse = |why: String| Err(Error::new(ErrorKind::Unsupported, why));
        if stat.st_mode & 0o002 != 0 {
            return refuse(format!("{role} {shown} is writable by every user, which lets them race icg-renew with links: chmod o-w it, or choose another directory"));
        }
        if stat.st_uid != 0 {
            return refuse(format!("{role} {shown} belongs to uid {}, not root, who could swap files in it while icg-renew works: chown root it, or choose another directory", stat.st_uid));
        }
        if stat.st_mode & 0o020 != 0 && stat.st_gid != 0 {
            return refuse(format!("{role} {shown} is writable by group {}, whose members could swap files in it while icg-renew works: chmod g-w it, or choose another directory", stat.st_gid));
        }
        Ok(())
    }

    /// What `name` is now, without following a link; `None` when nothing is there.
    pub fn meta_of(&self, name: &OsStr) -> Option<(FileMeta, bool)> {
        rustix::fs::statat(&*self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .map(|s| (FileMeta::of(&s), is_regular(&s)))
    }

    /// Whether `name` still is the file `id`.
    pub fn holds(&self, name: &OsStr, id: FileId) -> bool {
        self.meta_of(name).is_some_and(|(m, _)| m.id == id)
    }

    /// Reads the regular file `name` (never through a link), at most `max` bytes, with what it was.
    pub fn read(&self, name: &OsStr, max: u64, doing: &str) -> Result<(Vec<u8>, FileMeta)> {
        use rustix::fs::{openat, Mode, OFlags};
        let path = self.join(name);
        let fd = openat(
            &*self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == rustix::io::Errno::LOOP {
                Error::new(
                    ErrorKind::Io,
                    format!(
                        "cannot {doing} {}: it is a symbolic link now, which icg-renew does not follow a second time; run it again",
                        path.shown()
                    ),
                )
            } else {
                Error::io(doing, &path, &e.into())
            }
        })?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| Error::io(doing, &path, &e.into()))?;
        if !is_regular(&stat) {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "cannot {doing} {}: it is not a regular file; give the path of a file",
                    path.shown()
                ),
            ));
        }
        let file = File::from(fd);
        let data = read_limited(file, stat.st_size as u64, max, doing, &path)?;
        Ok((data, FileMeta::of(&stat)))
    }

    /// Creates `name` exclusively (never through a link), mode exactly 0600, writes `data` and flushes it.
    fn create_new(&self, name: &OsStr, data: &[u8], doing: &str) -> Result<(File, FileId)> {
        use rustix::fs::{openat, Mode, OFlags};
        let path = self.join(name);
        let fd = openat(
            &*self.fd,
            name,
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::io(doing, &path, &e.into()))?;
        let id = rustix::fs::fstat(&fd)
            .map(|s| FileMeta::of(&s).id)
            .map_err(|e| Error::io(doing, &path, &e.into()))?;
        let mut file = File::from(fd);
        // The umask may have narrowed the mode further; never widened it. Make it exactly 0600.
        let written = rustix::fs::fchmod(&file, rustix::fs::Mode::from_raw_mode(0o600))
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(data))
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            drop(file);
            self.remove_if(name, id);
            return Err(Error::io(doing, &path, &e));
        }
        Ok((file, id))
    }

    /// Creates `name` exclusively with mode 0600, writes and flushes it, and flushes the directory.
    pub fn write_private(&self, name: &OsStr, data: &[u8], doing: &str) -> Result<FileId> {
        let (_, id) = self.create_new(name, data, doing)?;
        self.sync()?;
        Ok(id)
    }

    /// Removes `name` if it still is the file `id`; whether it did.
    pub fn remove_if(&self, name: &OsStr, id: FileId) -> bool {
        self.holds(name, id)
            && rustix::fs::unlinkat(&*self.fd, name, rustix::fs::AtFlags::empty()).is_ok()
    }

    /// Overwrites the regular file `name` with zeros, flushes it, and removes it, all only while `name` is
    /// the file `id` (never through a link): for files holding an old private key (pending key, backups).
    /// `what` names the file in messages ("the pending key").
    pub fn shred(&self, name: &OsStr, id: FileId, what: &str) -> Result<()> {
        let path = self.join(name);
        let fd = rustix::fs::openat(
            &*self.fd,
            name,
            rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| Error::io("open", &path, &e.into()))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| Error::io("inspect", &path, &e.into()))?;
        if stat.st_dev != id.dev || stat.st_ino != id.ino || !is_regular(&stat) {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} is no longer {what} icg-renew found: it was left alone; check it",
                    path.shown()
                ),
            ));
        }
        let mut file = File::from(fd);
        let zeros = vec![0u8; stat.st_size as usize];
        file.write_all(&zeros)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("overwrite", &path, &e))?;
        drop(file);
        if self.remove_if(name, id) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Io,
                format!("cannot remove {}: it was renamed or replaced", path.shown()),
            ))
        }
    }

    /// Flushes the directory's entries to disk.
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&*self.fd)
            .map_err(|e| Error::io("flush the directory", &self.path, &e.into()))
    }

    /// The names in the directory (`.` and `..` left out).
    fn names(&self) -> Result<Vec<OsString>> {
        use std::os::unix::ffi::OsStrExt;
        let fd = rustix::fs::openat(
            &*self.fd,
            ".",
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| Error::io("list", &self.path, &e.into()))?;
        let dir = rustix::fs::Dir::read_from(&fd)
            .map_err(|e| Error::io("list", &self.path, &e.into()))?;
        Ok(dir
            .flatten()
            .map(|entry| OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string())
            .filter(|name| name != "." && name != "..")
            .collect())
    }
}

/// Reads at most `max` bytes from an open regular file of `len` bytes.
fn read_limited(file: File, len: u64, max: u64, doing: &str, path: &Path) -> Result<Vec<u8>> {
    if len > max {
        return Err(Error::corrupt(format!(
            "cannot {doing} {}: it is {len} bytes, more than the {} MiB limit; check the path",
            path.shown(),
            max / (1024 * 1024)
        )));
    }
    let mut data = Vec::with_capacity(len as usize);
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(doing, path, &e))?;
    if data.len() as u64 > max {
        return Err(Error::corrupt(format!(
            "cannot {doing} {}: it grew past the size limit",
            path.shown()
        )));
    }
    Ok(data)
}

/// The keystore as icg-renew works on it: its link (if any) followed once, its directory open as a
/// [`SafeDir`], and its name in that directory. `configured` is the path as the configuration or
/// `--keystore` gave it (for messages and printed commands).
#[derive(Debug, Clone)]
pub struct KeystoreFile {
    pub dir: SafeDir,
    pub name: OsString,
    pub configured: PathBuf,
}

impl KeystoreFile {
    /// Resolves the keystore path once and opens its directory.
    pub fn open(configured: &Path) -> Result<KeystoreFile> {
        let real = std::fs::canonicalize(configured)
            .map_err(|e| Error::io("read the keystore", configured, &e))?;
        let name = real.file_name().map(OsStr::to_os_string).ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "{} names no file: give the keystore's path",
                    configured.shown()
                ),
            )
        })?;
        let dir = SafeDir::open(real.parent().unwrap_or(Path::new("/")))?;
        Ok(KeystoreFile {
            dir,
            name,
            configured: configured.to_path_buf(),
        })
    }

    /// The file the configured path resolved to.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// The keystore's name as configured (a link's own name): backups and the pending key are named
    /// after it.
    pub fn base_name(&self) -> String {
        file_name(&self.configured)
    }

    fn real_name(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }

    /// Reads the keystore through the directory, with its identity, owner and mode.
    pub fn read(&self) -> Result<(Vec<u8>, FileMeta)> {
        self.dir.read(
            &self.name,
            crate::keystore::MAX_FILE_SIZE,
            "read the keystore",
        )
    }

    /// Before anything is written: refuses, when running as root, a layout in which another account could
    /// redirect or swap what icg-renew writes. The keystore's directory must be root's alone
    /// ([`SafeDir::check_private`]); a keystore reached through a link must be reached through a link (and
    /// a directory holding it) that belongs to root or to the keystore's own owner.
    pub fn accept_for_writing(&self) -> Result<()> {
        self.dir.check_private("the keystore directory")?;
        if !running_as_root() {
            return Ok(());
        }
        let Some((keystore, regular)) = self.dir.meta_of(&self.name) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{} is gone: check the path", self.path().shown()),
            ));
        };
        if !regular {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} is not a regular file: check the path",
                    self.path().shown()
                ),
            ));
        }
        let link = std::fs::symlink_metadata(&self.configured)
            .ok()
            .filter(|m| m.file_type().is_symlink());
        if let Some(link) = link {
            let holder = self
                .configured
                .parent()
                .filter(|p| !p.as_os_str().is_empty());
            let holder = holder.unwrap_or(Path::new("."));
            let holder_uid = std::fs::metadata(holder)
                .map(|m| m.uid())
                .map_err(|e| Error::io("inspect", holder, &e))?;
            for (what, uid) in [
                ("link", link.uid()),
                ("directory holding the link", holder_uid),
            ] {
                if uid != 0 && uid != keystore.uid {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "the keystore {} is reached through a {what} that uid {uid} controls, neither root nor the keystore's owner (uid {}): give the keystore's own path with --keystore {}, or make root own the link",
                            self.configured.shown(),
                            keystore.uid,
                            crate::shown::quote(self.path().as_os_str())
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Takes the per-keystore lock: a lock file beside the keystore in its (accepted) directory. Call only
    /// after [`KeystoreFile::accept_for_writing`].
    pub fn lock(&self) -> Result<KeystoreLock> {
        let name = OsString::from(format!(".{}.lock", self.real_name()));
        let path = self.dir.join(&name);
        let fd = rustix::fs::openat(
            &*self.dir.fd,
            &name,
            rustix::fs::OFlags::RDWR
                | rustix::fs::OFlags::CREATE
                | rustix::fs::OFlags::NOFOLLOW
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::io("create the lock file", &path, &e.into()))?;
        let mut file = File::from(fd);
        if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut holder = String::new();
            let _ = Read::by_ref(&mut file).take(32).read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if !holder.is_empty() && holder.bytes().all(|b| b.is_ascii_digit()) {
                format!("process {holder}")
            } else {
                "another process".to_string()
            };
            return Err(Error::new(
                ErrorKind::Locked,
                format!(
                    "{} is being changed by another icg-renew ({who} holds {}): wait for it to finish",
                    self.configured.shown(),
                    path.shown()
                ),
            ));
        }
        file.set_len(0)
            .and_then(|()| write!(file, "{}", std::process::id()))
            .map_err(|e| Error::io("write the lock file", &path, &e))?;
        Ok(KeystoreLock { _file: file, path })
    }

    /// An error unless the keystore's name still holds the file `id`.
    pub fn still_holds(&self, id: FileId, doing: &str) -> Result<()> {
        if self.dir.holds(&self.name, id) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} is no longer the file icg-renew read (something renamed or replaced it): nothing was {doing}; check the directory, then run icg-renew again",
                    self.path().shown()
                ),
            ))
        }
    }

    /// Replaces the keystore — which must still be the file `expected` — with `data`, atomically: an
    /// exclusive temp file in the same directory, flushed, given owner, group, mode and SELinux label of
    /// `like`, read back through its descriptor and checked by `verify`, then renamed over the keystore's
    /// name once both names still hold what they held; then the directory is flushed. Returns the new
    /// file's identity. On any error the keystore is untouched and the temp file is gone.
    pub fn replace(
        &self,
        expected: FileId,
        like: &FileMeta,
        data: &[u8],
        verify: &dyn Fn(&[u8]) -> Result<()>,
    ) -> Result<FileId> {
        let temp = OsString::from(format!(
            ".{}{TEMP_MARK}{}.tmp",
            self.real_name(),
            std::process::id()
        ));
        let temp_path = self.dir.join(&temp);
        if let Some((stale, _)) = self.dir.meta_of(&temp) {
            self.dir.remove_if(&temp, stale.id);
        }
        let (mut file, temp_id) = self.dir.create_new(&temp, data, "write the new keystore")?;
        let outcome = self
            .copy_metadata(&file, expected, like)
            .and_then(|()| {
                crate::failpoint::hit("temp-written");
                let mut back = Vec::with_capacity(data.len());
                file.seek(std::io::SeekFrom::Start(0))
                    .and_then(|_| {
                        Read::by_ref(&mut file)
                            .take(crate::keystore::MAX_FILE_SIZE)
                            .read_to_end(&mut back)
                    })
                    .map_err(|e| Error::io("read back", &temp_path, &e))?;
                verify(&back)
            })
            .and_then(|()| {
                if !self.dir.holds(&temp, temp_id) {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("the new keystore {} was renamed or replaced by something else: nothing was replaced; check the directory", temp_path.shown()),
                    ));
                }
                self.still_holds(expected, "replaced")?;
                rustix::fs::renameat(&*self.dir.fd, &temp, &*self.dir.fd, &self.name).map_err(
                    |e| Error::io("rename the new keystore over", &self.path(), &e.into()),
                )
            });
        drop(file);
        if let Err(e) = outcome {
            self.dir.remove_if(&temp, temp_id);
            return Err(e);
        }
        // The rename has happened: from here on an error would claim that nothing changed. Flushing the
        // directory entry is best effort (the file's own data was flushed before the rename).
        let _ = self.dir.sync();
        Ok(temp_id)
    }

    /// Gives the open temp file owner, group and mode of `like`, and the SELinux label of the keystore (read
    /// through a descriptor of the file `expected`).
    fn copy_metadata(&self, file: &File, expected: FileId, like: &FileMeta) -> Result<()> {
        let path = self.path();
        rustix::fs::fchown(
            file,
            Some(rustix::fs::Uid::from_raw(like.uid)),
            Some(rustix::fs::Gid::from_raw(like.gid)),
        )
        .and_then(|()| rustix::fs::fchmod(file, rustix::fs::Mode::from_raw_mode(like.mode)))
        .map_err(|e| {
            Error::io(
                "set owner and mode of the new keystore for",
                &path,
                &e.into(),
            )
        })?;
        let original = rustix::fs::openat(
            &*self.dir.fd,
            &self.name,
            rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::NOFOLLOW
                | rustix::fs::OFlags::NONBLOCK
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        );
        if let Ok(original) = original {
            let same = rustix::fs::fstat(&original).is_ok_and(|s| FileMeta::of(&s).id == expected);
            let mut label = vec![0u8; 256];
            if let (true, Ok(len)) = (
                same,
                rustix::fs::fgetxattr(&original, SELINUX_XATTR, &mut label[..]),
            ) {
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

    /// Removes temp files an earlier, killed run left beside the keystore. Call only while holding the lock.
    pub fn remove_stale_temps(&self) -> Vec<PathBuf> {
        let prefix = format!(".{}{TEMP_MARK}", self.real_name());
        let mut removed = Vec::new();
        for name in self.dir.names().unwrap_or_default() {
            let text = name.to_string_lossy();
            if !(text.starts_with(&prefix) && text.ends_with(".tmp")) {
                continue;
            }
            if let Some((meta, true)) = self.dir.meta_of(&name) {
                if self.dir.remove_if(&name, meta.id) {
                    removed.push(self.dir.join(&name));
                }
            }
        }
        removed
    }
}

/// An exclusive advisory lock held for the lifetime of the value. It lives in a lock file beside the
/// keystore; the kernel releases it when the process dies, so a stale file never blocks the next run.
#[derive(Debug)]
pub struct KeystoreLock {
    _file: File,
    pub path: PathBuf,
}

/// A backup file and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub name: OsString,
    pub created: UnixTime,
}

/// Writes `data` to `<keystore name>.<YYYYMMDDTHHMMSSZ>.bak` in `dir` (with `-N` before `.bak` when that
/// name is taken), created exclusively through the directory's descriptor: mode 0600, owner and group of
/// `like` (the keystore it copies), flushed with its directory.
pub fn make_backup(
    dir: &SafeDir,
    keystore_name: &str,
    data: &[u8],
    like: &FileMeta,
    now: UnixTime,
) -> Result<Backup> {
    let stamp = compact_utc(now);
    for n in 0..100 {
        let name = OsString::from(if n == 0 {
            format!("{keystore_name}.{stamp}.bak")
        } else {
            format!("{keystore_name}.{stamp}-{n}.bak")
        });
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
    Err(Error::new(
        ErrorKind::Io,
        format!("cannot find a free backup name in {}", dir.path.shown()),
    ))
}

/// Backups of the keystore named `keystore_name` in `dir`, newest first (regular files only).
pub fn list_backups(dir: &SafeDir, keystore_name: &str) -> Result<Vec<Backup>> {
    let prefix = format!("{keystore_name}.");
    let mut backups: Vec<(Backup, u32)> = dir
        .names()
        .map_err(|e| Error::new(e.kind, format!("cannot list backups: {}", e.message)))?
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

/// The file a path finally names (following symbolic links), resolved once.
pub fn real_path(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io("resolve", path, &e))
}

/// Permission bits of a file, if it can be inspected.
pub fn mode_of(path: &Path) -> Option<u32> {
    std::fs::metadata(path).ok().map(|m| m.mode() & 0o7777)
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("flush the directory", dir, &e))
}

/// Creates `path` (an operator's output file) exclusively, never through a link, mode 0600; writes and
/// flushes it and its directory.
pub fn write_private_file(path: &Path, data: &[u8], doing: &str) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::io(doing, path, &e))?;
    let result = file
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(data))
        .and_then(|()| file.sync_all());
    if let Err(e) = result {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(Error::io(doing, path, &e));
    }
    fsync_dir(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
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
        let first = make_backup(&file.dir, "keystore.jks", b"old", &meta, 1_000_000_000).unwrap();
        let second = make_backup(&file.dir, "keystore.jks", b"old", &meta, 1_000_000_000).unwrap();
        let third = make_backup(&file.dir, "keystore.jks", b"old", &meta, 1_000_000_060).unwrap();
        assert!(first.path.ends_with("keystore.jks.20010909T014640Z.bak"));
        assert!(second.path.ends_with("keystore.jks.20010909T014640Z-1.bak"));
        assert_eq!(mode_of(&first.path), Some(0o600));
        let listed: Vec<PathBuf> = list_backups(&file.dir, "keystore.jks")
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
        assert!(
            err.message.contains("no longer the file"),
            "{}",
            err.message
        );
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
                Err(Error::corrupt("read-back differs"))
            })
            .unwrap_err();
        assert_eq!(err.message, "read-back differs");
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
        assert_eq!(err.kind, ErrorKind::Locked);
        assert!(
            err.message
                .contains(&format!("process {}", std::process::id())),
            "{}",
            err.message
        );
    }
}
