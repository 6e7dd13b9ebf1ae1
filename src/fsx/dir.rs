//! A directory resolved once and held open ([`SafeDir`]): every read, exclusive create, removal and
//! overwrite in it goes through its descriptor and never follows a link.

use super::{is_regular, real_path, FileId, FileMeta, Trust};
use crate::error::FileError;
use crate::error::{Error, Result};
use rustix::fs::{openat, Mode, OFlags};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A directory resolved once and held open: every file operation on it goes through the descriptor with
/// `*at` calls that never follow a link, so renaming or re-linking anything on the way to it afterwards
/// cannot redirect them. `path` is only for messages and printed commands.
#[derive(Debug, Clone)]
pub struct SafeDir {
    pub(super) fd: std::sync::Arc<rustix::fd::OwnedFd>,
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

    /// A directory the resolver opened (`path`: where the walk found it).
    pub(super) fn held(fd: rustix::fd::OwnedFd, path: PathBuf) -> SafeDir {
        SafeDir {
            fd: std::sync::Arc::new(fd),
            path,
        }
    }

    /// Where the held directory is now, as the kernel names it (`/proc/self/fd`): the directory actually
    /// worked in, even if it was renamed since it was resolved. Falls back to the path it was found at.
    pub fn current_path(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        std::fs::read_link(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
            .ok()
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| self.path.clone())
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
        self.check(Trust::ROOT, role)
    }

    /// Refuses, when running as root, a directory that an account `trust` does not admit could change;
    /// `role` names it in the message ("the backup directory").
    pub fn check(&self, trust: Trust, role: &str) -> Result<()> {
        let stat = rustix::fs::fstat(&*self.fd)
            .map_err(|e| Error::io("inspect", &self.path, &e.into()))?;
        match trust.risk(&stat, u32::MAX) {
            None => Ok(()),
            Some(risk) => Err(Error::File(FileError::UnsafeDirectory {
                role: role.to_string(),
                dir: self.path.clone(),
                risk,
            })),
        }
    }

    /// What `name` is now, without following a link; `None` when nothing is there.
    pub fn meta_of(&self, name: &OsStr) -> Option<(FileMeta, bool)> {
        rustix::fs::statat(&*self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .map(|s| (FileMeta::of(&s), is_regular(&s)))
    }

    /// What the held directory is now.
    pub fn stat(&self) -> Result<rustix::fs::Stat> {
        rustix::fs::fstat(&*self.fd).map_err(|e| Error::io("inspect", &self.path, &e.into()))
    }

    /// What `name` is now, without following a link; `None` when nothing is there.
    pub fn stat_of(&self, name: &OsStr) -> Option<rustix::fs::Stat> {
        rustix::fs::statat(&*self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).ok()
    }

    /// Gives the held directory to group `gid` (its owner stays).
    pub fn set_group(&self, gid: u32) -> Result<()> {
        rustix::fs::fchown(&*self.fd, None, Some(rustix::process::Gid::from_raw(gid)))
            .map_err(|e| Error::io("set the group of", &self.path, &e.into()))
    }

    /// Whether `name` is a symbolic link now.
    pub fn is_link(&self, name: &OsStr) -> bool {
        self.type_of(name) == Some(rustix::fs::FileType::Symlink)
    }

    /// Whether `name` is a directory now (not a link to one).
    pub fn is_directory(&self, name: &OsStr) -> bool {
        self.type_of(name) == Some(rustix::fs::FileType::Directory)
    }

    fn type_of(&self, name: &OsStr) -> Option<rustix::fs::FileType> {
        rustix::fs::statat(&*self.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .map(|s| rustix::fs::FileType::from_raw_mode(s.st_mode))
    }

    /// Whether `name` still is the file `id`.
    pub fn holds(&self, name: &OsStr, id: FileId) -> bool {
        self.meta_of(name).is_some_and(|(m, _)| m.id == id)
    }

    /// Reads the regular file `name` (never through a link), at most `max` bytes, with what it was.
    pub fn read(&self, name: &OsStr, max: u64, doing: &str) -> Result<(Vec<u8>, FileMeta)> {
        let (file, stat) = self.open_regular(name, OFlags::RDONLY, Mode::empty(), doing)?;
        let data = read_limited(file, stat.st_size as u64, max, doing, &self.join(name))?;
        Ok((data, FileMeta::of(&stat)))
    }

    /// Opens `name` with `flags` (never through a link, never blocking on a FIFO) and refuses anything
    /// but a regular file.
    pub fn open_regular(
        &self,
        name: &OsStr,
        flags: OFlags,
        mode: Mode,
        doing: &str,
    ) -> Result<(File, rustix::fs::Stat)> {
        let path = self.join(name);
        let fd = openat(
            &*self.fd,
            name,
            flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            mode,
        )
        .map_err(|e| match (e, self.stat_of(name)) {
            (rustix::io::Errno::LOOP, _) => Error::File(FileError::BecameLink {
                doing: doing.to_string(),
                path: path.clone(),
            }),
            // A FIFO without a reader refuses a non-blocking writer (ENXIO): say what it is.
            (_, Some(stat)) if !is_regular(&stat) => Error::File(FileError::NotRegularFile {
                doing: doing.to_string(),
                path: path.clone(),
                found: super::found_file(&stat),
            }),
            (e, _) => Error::io(doing, &path, &e.into()),
        })?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| Error::io(doing, &path, &e.into()))?;
        if !is_regular(&stat) {
            return Err(Error::File(FileError::NotRegularFile {
                doing: doing.to_string(),
                path,
                found: super::found_file(&stat),
            }));
        }
        Ok((File::from(fd), stat))
    }

    /// Opens `name` for appending, creating it (mode 0600) when `create` and missing: only a regular file
    /// with one link, owned by root or the running account, so that no one can make the append land in
    /// another file.
    pub fn open_append(&self, name: &OsStr, doing: &str, create: bool) -> Result<File> {
        let create = if create {
            OFlags::CREATE
        } else {
            OFlags::empty()
        };
        let (file, stat) = self.open_regular(
            name,
            OFlags::WRONLY | OFlags::APPEND | create,
            Mode::from_raw_mode(0o600),
            doing,
        )?;
        let me = rustix::process::geteuid().as_raw();
        if stat.st_nlink != 1 || (stat.st_uid != 0 && stat.st_uid != me) {
            return Err(Error::File(FileError::SharedFile {
                doing: doing.to_string(),
                path: self.join(name),
                links: stat.st_nlink,
                uid: stat.st_uid,
            }));
        }
        Ok(file)
    }

    /// Whether this account may create files in the directory (as the kernel would decide it now).
    pub fn writable(&self) -> Result<()> {
        rustix::fs::accessat(
            &*self.fd,
            ".",
            rustix::fs::Access::WRITE_OK,
            rustix::fs::AtFlags::EACCESS,
        )
        .map_err(|e| Error::io("write in", &self.path, &e.into()))
    }

    /// Replaces `name` atomically with `data`, mode exactly `mode`: a temporary file created exclusively
    /// in this directory, flushed, renamed over `name` (a link there is replaced, not followed), and the
    /// directory flushed.
    pub fn replace(&self, name: &OsStr, data: &[u8], mode: u32, doing: &str) -> Result<()> {
        let path = self.join(name);
        let (temp, file, id) = (0..100)
            .find_map(|attempt| {
                let mut temp = OsString::from(".");
                temp.push(name);
                temp.push(format!(".{}.{attempt}.tmp", std::process::id()));
                match self.create_new(&temp, data, doing) {
                    Err(Error::Io { ref source, .. })
                        if source.kind() == std::io::ErrorKind::AlreadyExists =>
                    {
                        None
                    }
                    other => Some(other.map(|(file, id)| (temp, file, id))),
                }
            })
            .unwrap_or_else(|| Err(Error::io(doing, &path, &rustix::io::Errno::EXIST.into())))?;
        let done = rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
            .and_then(|()| rustix::fs::renameat(&*self.fd, &temp, &*self.fd, name));
        if let Err(e) = done {
            self.remove_if(&temp, id);
            return Err(Error::io(doing, &path, &e.into()));
        }
        self.sync()
    }

    /// Moves `name` into `to` as `to_name`, never replacing a name that exists there (`Ok(false)` then).
    pub fn move_noreplace(&self, name: &OsStr, to: &SafeDir, to_name: &OsStr) -> Result<bool> {
        match rustix::fs::renameat_with(
            &*self.fd,
            name,
            &*to.fd,
            to_name,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::EXIST) => Ok(false),
            Err(e) => Err(Error::io("move", &self.join(name), &e.into())),
        }
    }

    /// The subdirectory `name`, created with `mode` when missing, opened through this directory (never
    /// through a link).
    pub fn subdir(&self, name: &OsStr, mode: u32) -> Result<SafeDir> {
        let path = self.join(name);
        match rustix::fs::mkdirat(&*self.fd, name, Mode::from_raw_mode(mode)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(Error::io("create", &path, &e.into())),
        }
        let fd = openat(
            &*self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io("open", &path, &e.into()))?;
        Ok(SafeDir::held(fd, path))
    }

    /// Creates `name` exclusively (never through a link), mode exactly 0600, writes `data` and flushes it.
    pub(super) fn create_new(
        &self,
        name: &OsStr,
        data: &[u8],
        doing: &str,
    ) -> Result<(File, FileId)> {
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
    /// the file `id` with one link (never through a link): for files holding an old private key (pending key, backups).
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
            return Err(Error::File(FileError::NoLongerFound {
                path,
                what: what.to_string(),
            }));
        }
        // A second hard link would be another name for the same bytes, perhaps a file someone chose.
        if stat.st_nlink != 1 {
            return Err(Error::File(FileError::SharedFile {
                doing: format!("overwrite {what}"),
                path,
                links: stat.st_nlink,
                uid: stat.st_uid,
            }));
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
            Err(Error::File(FileError::NotRemoved { path }))
        }
    }

    /// Flushes the directory's entries to disk.
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&*self.fd)
            .map_err(|e| Error::io("flush the directory", &self.path, &e.into()))
    }

    /// The names in the directory (`.` and `..` left out).
    pub fn names(&self) -> Result<Vec<OsString>> {
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
pub(super) fn read_limited(
    file: File,
    len: u64,
    max: u64,
    doing: &str,
    path: &Path,
) -> Result<Vec<u8>> {
    if len > max {
        return Err(Error::File(FileError::TooBig {
            doing: doing.to_string(),
            path: path.to_path_buf(),
            len,
            limit: max,
        }));
    }
    let mut data = Vec::with_capacity(len as usize);
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(doing, path, &e))?;
    if data.len() as u64 > max {
        return Err(Error::File(FileError::GrewPastLimit {
            doing: doing.to_string(),
            path: path.to_path_buf(),
            limit: max,
        }));
    }
    Ok(data)
}
