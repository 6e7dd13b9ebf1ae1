//! The keystore file ([`KeystoreFile`]): resolved once, its layout accepted for writing, locked
//! ([`KeystoreLock`]), read, and replaced atomically keeping owner, group, mode and SELinux label.

use super::{file_name, running_as_root, FileId, FileMeta, SafeDir, SELINUX_XATTR, TEMP_MARK};
use crate::error::FileError;
use crate::error::{Error, LinkPart, Result};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
            Error::File(FileError::KeystoreNamesNoFile {
                path: configured.to_path_buf(),
            })
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

    pub(super) fn real_name(&self) -> String {
        self.name.to_string_lossy().into_owned()
    }

    /// Reads the keystore through the directory, with its identity, owner and mode.
    pub fn read(&self) -> Result<(Vec<u8>, FileMeta)> {
        self.dir
            .read(&self.name, super::MAX_FILE_SIZE, "read the keystore")
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
            return Err(Error::File(FileError::KeystoreGone { path: self.path() }));
        };
        if !regular {
            return Err(Error::File(FileError::KeystoreNotRegular {
                path: self.path(),
            }));
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
            for (through, uid) in [
                (LinkPart::Link, link.uid()),
                (LinkPart::HoldingDirectory, holder_uid),
            ] {
                if uid != 0 && uid != keystore.uid {
                    return Err(Error::File(FileError::ForeignKeystoreLink {
                        configured: self.configured.clone(),
                        real: self.path(),
                        through,
                        uid,
                        owner: keystore.uid,
                    }));
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
            let holder = (!holder.is_empty() && holder.bytes().all(|b| b.is_ascii_digit()))
                .then(|| holder.to_string());
            return Err(Error::Locked {
                keystore: self.configured.clone(),
                holder,
                lock: path.to_path_buf(),
            });
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
            Err(Error::File(FileError::KeystoreSwapped {
                path: self.path(),
                doing: doing.to_string(),
            }))
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
                            .take(super::MAX_FILE_SIZE)
                            .read_to_end(&mut back)
                    })
                    .map_err(|e| Error::io("read back", &temp_path, &e))?;
                verify(&back)
            })
            .and_then(|()| {
                if !self.dir.holds(&temp, temp_id) {
                    return Err(Error::File(FileError::TempFileSwapped {
                        temp: temp_path.clone(),
                    }));
                }
                self.still_holds(expected, "replaced")?;
                rustix::fs::renameat(&*self.dir.fd, &temp, &*self.dir.fd, &self.name)
                    .map_err(|e| Error::io("rename the new keystore over", &self.path(), &e.into()))
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
    pub(super) fn copy_metadata(
        &self,
        file: &File,
        expected: FileId,
        like: &FileMeta,
    ) -> Result<()> {
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
