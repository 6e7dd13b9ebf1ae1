//! The one path resolver ([`resolve`], [`resolve_dir`]): every path icg-renew is given or finds (new
//! material, `--key`, `--chain`, password files, an ACME lineage, `--backup-dir`, `--log-file`,
//! `--prometheus`, the drop folder) is walked once from `/`, one component at a time, with
//! `openat(O_PATH|O_DIRECTORY|O_NOFOLLOW)`. Each directory whose entry is taken must be one that only root,
//! the account running icg-renew, or the path's accepted owner can change; a symbolic link is followed only
//! in such a directory. The walk ends in a held directory and a final name, and the caller works only
//! through that descriptor afterwards: no later lookup by path can be redirected.
//!
//! Why a walk and not `openat2(RESOLVE_NO_SYMLINKS)`: links must still be followed where root alone placed
//! them (`/var/run`, certbot's `live/` links), so each link needs a decision the kernel cannot make for us.

use super::{FileMeta, SafeDir};
use crate::error::{DirectoryRisk, Error, FileError, Result};
use rustix::fd::OwnedFd;
use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags, CWD};
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Most symbolic links one resolution follows (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Who, besides root and the account running icg-renew, may control the directories on a path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trust {
    /// An account whose directories are as good as root's for this path: the operator who invoked
    /// icg-renew through sudo, for the material he hands over.
    pub owner: Option<u32>,
    /// Whether the directory holding the final component may be anyone's: for files that are only created
    /// exclusively and renamed within the held directory, or appended to only while they are a root-owned
    /// regular file with one link (the metrics file, the audit log). The directories above it never may.
    pub final_dir_open: bool,
}

impl Trust {
    /// Only root and the running account.
    pub const ROOT: Trust = Trust {
        owner: None,
        final_dir_open: false,
    };

    /// Only root and the running account above the final directory, which may be anyone's.
    pub const OUTPUT: Trust = Trust {
        owner: None,
        final_dir_open: true,
    };

    /// Root, the running account and the operator who invoked icg-renew (`$SUDO_USER` under sudo), for
    /// the files he hands over. Their own directory may be anyone's (the drop folder's group writes it):
    /// they are only read, never through a link and only with one link ([`super::read_input`]), so whoever
    /// controls that directory can choose their content, which every check still judges, but not make
    /// icg-renew read a file they could not read themselves.
    pub fn operator() -> Trust {
        Trust {
            owner: super::invoking_user().map(|(uid, _)| uid),
            final_dir_open: true,
        }
    }

    fn trusts_uid(&self, uid: u32) -> bool {
        uid == 0 || uid == rustix::process::geteuid().as_raw() || Some(uid) == self.owner
    }

    /// Why `dir` lets an untrusted account choose what its entry (owned by `entry_uid`; `u32::MAX` for
    /// any entry) is, if it does. Nothing is a risk to a run that is not root's: it can only be turned
    /// against its own account.
    pub(super) fn risk(&self, dir: &rustix::fs::Stat, entry_uid: u32) -> Option<DirectoryRisk> {
        if !super::running_as_root() {
            return None;
        }
        let mode = dir.st_mode;
        if !self.trusts_uid(dir.st_uid) {
            return Some(DirectoryRisk::OwnedBy(dir.st_uid));
        }
        if mode & 0o020 != 0 && dir.st_gid != 0 {
            return Some(DirectoryRisk::GroupWritable(dir.st_gid));
        }
        // In a sticky directory (`/tmp`) others may add names but not replace one they do not own.
        if mode & 0o002 != 0 && (mode & 0o1000 == 0 || !self.trusts_uid(entry_uid)) {
            return Some(DirectoryRisk::WorldWritable);
        }
        None
    }
}

/// A path resolved once: the directory holding its final component, open, and that component's name (which
/// may not exist yet). `path` is the path as given, for messages.
#[derive(Debug)]
pub struct Resolved {
    pub dir: SafeDir,
    pub name: OsString,
}

impl Resolved {
    /// The resolved path (the held directory's path and the name), for messages.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
}

/// One directory of the walk: its descriptor, its path as walked, and what it was when opened.
struct Step {
    fd: OwnedFd,
    path: PathBuf,
    stat: rustix::fs::Stat,
}

/// What the walk does with the final component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Follow it while it is a link (under the rule), then leave it as a name.
    Follow,
    /// Leave it as a name, link or not: the caller opens it with `O_NOFOLLOW`.
    Keep,
    /// Enter it as a directory.
    Enter,
}

/// Resolves `path` under `trust`: the directory that holds its final component, held open, and the final
/// name. A final component that is a link is followed (under the same rule) until it is not; one that does
/// not exist is returned as a name to create.
pub fn resolve(path: &Path, trust: Trust) -> Result<Resolved> {
    resolve_as(path, trust, Last::Follow)
}

/// Like [`resolve`], but the final component is never followed: for files an operator hands over, which
/// are then opened with `O_NOFOLLOW` (a link in their place is refused, not followed).
pub fn resolve_parent(path: &Path, trust: Trust) -> Result<Resolved> {
    resolve_as(path, trust, Last::Keep)
}

fn resolve_as(path: &Path, trust: Trust, last: Last) -> Result<Resolved> {
    let (mut steps, name) = walk(path, trust, last)?;
    let last = steps.pop().expect("the walk always holds /");
    let name = name.ok_or_else(|| {
        Error::File(FileError::NamesNoFile {
            doing: "resolve".into(),
            path: path.to_path_buf(),
        })
    })?;
    Ok(Resolved {
        dir: held(last)?,
        name,
    })
}

/// Resolves `path` as a directory under `trust` and opens it for reading (listing, `*at` calls): every
/// directory on the way, and the directory's own entry, pass the rule of [`resolve`]. Who may change the
/// directory itself is the caller's rule ([`SafeDir::check`]): the drop folder admits a group.
pub fn resolve_dir(path: &Path, trust: Trust) -> Result<SafeDir> {
    let (mut steps, _) = walk(path, trust, Last::Enter)?;
    held(steps.pop().expect("the walk always holds /"))
}

/// The last directory of a walk, reopened for reading: path descriptors (`O_PATH`) can neither list, lock
/// nor flush.
fn held(last: Step) -> Result<SafeDir> {
    let read = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match openat(&last.fd, ".", read, Mode::empty()) {
        Ok(fd) => fd,
        // Where only search is allowed (a non-root `status` through a 0711 directory) the path descriptor
        // still serves every lookup.
        Err(rustix::io::Errno::ACCESS) => last.fd,
        Err(e) => return Err(Error::io("open the directory", &last.path, &e.into())),
    };
    Ok(SafeDir::held(fd, last.path))
}

/// The walk itself; `mode` says what becomes of the final component.
fn walk(path: &Path, trust: Trust, mode: Last) -> Result<(Vec<Step>, Option<OsString>)> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("resolve", path, &e))?
            .join(path)
    };
    let fail = |at: &Path, e: rustix::io::Errno| Error::io("open", at, &e.into());
    let walk_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = || -> Result<Step> {
        let fd =
            openat(CWD, "/", walk_flags, Mode::empty()).map_err(|e| fail(Path::new("/"), e))?;
        let stat = rustix::fs::fstat(&fd).map_err(|e| fail(Path::new("/"), e))?;
        Ok(Step {
            fd,
            path: PathBuf::from("/"),
            stat,
        })
    };
    let mut steps = vec![root()?];
    let mut pending: VecDeque<OsString> = components(&absolute);
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        match part.to_str() {
            Some("/") => {
                steps.truncate(1);
                continue;
            }
            Some(".") => continue,
            Some("..") => {
                if steps.len() > 1 {
                    steps.pop();
                }
                continue;
            }
            _ => {}
        }
        let last = pending.is_empty();
        let top = steps.last().expect("the walk always holds /");
        let here = top.path.join(&part);
        let entry = match statat(&top.fd, &part, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(entry) => entry,
            Err(rustix::io::Errno::NOENT) if last && mode != Last::Enter => {
                refuse_if_risky(top, trust, rustix::process::geteuid().as_raw(), true, &here)?;
                return Ok((steps, Some(part)));
            }
            Err(e) => return Err(fail(&here, e)),
        };
        let kind = FileType::from_raw_mode(entry.st_mode);
        // Whether this entry stays the final name (not followed, not entered).
        let final_name =
            last && mode != Last::Enter && !(kind == FileType::Symlink && mode == Last::Follow);
        refuse_if_risky(top, trust, entry.st_uid, final_name, &here)?;
        match kind {
            FileType::Symlink if !(last && mode == Last::Keep) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(fail(&here, rustix::io::Errno::LOOP));
                }
                let target = rustix::fs::readlinkat(&top.fd, &part, Vec::new())
                    .map_err(|e| fail(&here, e))?;
                let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
                for (i, c) in components(&target).into_iter().enumerate() {
                    pending.insert(i, c);
                }
            }
            FileType::Directory if !last || mode == Last::Enter => {
                let fd = openat(&top.fd, &part, walk_flags, Mode::empty())
                    .map_err(|e| fail(&here, e))?;
                let stat = rustix::fs::fstat(&fd).map_err(|e| fail(&here, e))?;
                if FileMeta::of(&stat).id != FileMeta::of(&entry).id {
                    // Swapped between the look and the open: only an account we refused could do that,
                    // or root itself; either way, do not guess.
                    return Err(Error::File(FileError::ChangedWhileResolved { path: here }));
                }
                steps.push(Step {
                    fd,
                    path: here,
                    stat,
                });
            }
            _ if last && mode != Last::Enter => return Ok((steps, Some(part))),
            _ => return Err(fail(&here, rustix::io::Errno::NOTDIR)),
        }
    }
    // Entered as a directory, or a path that names one (`/`, or ending in `..`): no final name.
    Ok((steps, None))
}

/// Refuses to take `here`'s entry (owned by `entry_uid`) from `top` when an untrusted account could
/// choose it; `final_name`: the entry is the final name the caller opens itself.
fn refuse_if_risky(
    top: &Step,
    trust: Trust,
    entry_uid: u32,
    final_name: bool,
    here: &Path,
) -> Result<()> {
    if final_name && trust.final_dir_open {
        return Ok(());
    }
    match trust.risk(&top.stat, entry_uid) {
        None => Ok(()),
        Some(risk) => Err(Error::File(FileError::ForeignDirectoryOnPath {
            path: here.to_path_buf(),
            dir: top.path.clone(),
            risk,
        })),
    }
}

/// The parts of a path, `/` standing for the root (an absolute link target starts from it again).
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .map(|c| match c {
            Component::RootDir | Component::Prefix(_) => OsString::from("/"),
            Component::CurDir => OsString::from("."),
            Component::ParentDir => OsString::from(".."),
            Component::Normal(name) => name.to_os_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// Another account (no user needs to exist for root to give it files).
    const OTHER: u32 = 4242;

    /// A small deterministic generator (xorshift), so that a failing tree can be rebuilt from its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// The rule again, written plainly over `std::fs` metadata: whether taking an entry owned by
    /// `entry_uid` from `dir` lets an account other than root choose it.
    fn risky(dir: &std::fs::Metadata, entry_uid: u32) -> bool {
        let mode = dir.mode();
        dir.uid() != 0
            || (mode & 0o020 != 0 && dir.gid() != 0)
            || (mode & 0o002 != 0 && (mode & 0o1000 == 0 || entry_uid != 0))
    }

    /// The oracle: walks `path` by path (the test's tree does not change under it), following links as
    /// the kernel would. `Ok(directory)` when no entry was taken from a risky directory, `Err(())` else.
    fn oracle(path: &Path) -> std::result::Result<PathBuf, ()> {
        let mut pending: VecDeque<OsString> = components(path);
        let mut at = PathBuf::from("/");
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            match part.to_str() {
                Some("/") => at = PathBuf::from("/"),
                Some(".") => {}
                Some("..") => {
                    at.pop();
                }
                _ => {
                    let entry = at.join(&part);
                    let meta = std::fs::symlink_metadata(&entry).map_err(|_| ())?;
                    if risky(&std::fs::metadata(&at).unwrap(), meta.uid()) {
                        return Err(());
                    }
                    if meta.file_type().is_symlink() {
                        links += 1;
                        assert!(links < MAX_LINKS);
                        let target = std::fs::read_link(&entry).unwrap();
                        for (i, c) in components(&target).into_iter().enumerate() {
                            pending.insert(i, c);
                        }
                    } else if meta.is_dir() {
                        at = entry;
                    } else {
                        return Err(());
                    }
                }
            }
        }
        Ok(at)
    }

    /// Generated trees of directories and links with random owners and modes: the resolver returns a
    /// directory exactly when no step took an entry from a directory another account controls, and then
    /// the directory the plain walk reaches.
    #[test]
    fn the_resolver_holds_a_directory_only_when_no_step_crossed_another_accounts_directory() {
        if !rustix::process::geteuid().is_root() {
            eprintln!(
                "SKIPPED the resolver property test: it needs root to give files to other accounts"
            );
            return;
        }
        let modes = [0o755, 0o775, 0o777, 0o1777, 0o700];
        let mut checked = (0, 0);
        for seed in 1..=40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let base = tempfile::tempdir().unwrap();
            std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let mut dirs = vec![base.path().to_path_buf()];
            let mut names = vec![OsString::from("..")];
            for i in 0..6 {
                let parent = dirs[rng.below(dirs.len())].clone();
                let dir = parent.join(format!("d{i}"));
                std::fs::create_dir(&dir).unwrap();
                let owner = if rng.below(3) == 0 { OTHER } else { 0 };
                let group = if rng.below(2) == 0 { OTHER } else { 0 };
                std::os::unix::fs::chown(&dir, Some(owner), Some(group)).unwrap();
                let mode = modes[rng.below(modes.len())];
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
                names.push(format!("d{i}").into());
                dirs.push(dir);
            }
            for i in 0..6 {
                let at = dirs[rng.below(dirs.len())].join(format!("l{i}"));
                let target = dirs[rng.below(dirs.len())].clone();
                std::os::unix::fs::symlink(&target, &at).unwrap();
                let owner = if rng.below(3) == 0 { OTHER } else { 0 };
                std::os::unix::fs::lchown(&at, Some(owner), Some(owner)).unwrap();
                names.push(format!("l{i}").into());
            }
            for _ in 0..60 {
                let mut path = base.path().to_path_buf();
                for _ in 0..1 + rng.below(5) {
                    path.push(&names[rng.below(names.len())]);
                }
                let expected = oracle(&path);
                match resolve_dir(&path, Trust::ROOT) {
                    Ok(held) => {
                        let reached = expected.unwrap_or_else(|()| {
                            panic!("seed {seed}: {path:?} held, the oracle refuses")
                        });
                        let want = std::fs::metadata(&reached).unwrap();
                        let got = held.stat().unwrap();
                        assert_eq!(
                            (got.st_dev, got.st_ino),
                            (want.dev(), want.ino()),
                            "seed {seed}: {path:?}"
                        );
                        checked.0 += 1;
                    }
                    Err(Error::File(FileError::ForeignDirectoryOnPath { .. })) => {
                        assert!(
                            expected.is_err(),
                            "seed {seed}: {path:?} refused, the oracle holds it"
                        );
                        checked.1 += 1;
                    }
                    // Names that are not there, or lead to a file: neither side holds a directory.
                    Err(_) => assert!(expected.is_err(), "seed {seed}: {path:?}"),
                }
            }
        }
        // Both outcomes must have been exercised, or the property says little.
        assert!(
            checked.0 > 50 && checked.1 > 50,
            "held {}, refused {}",
            checked.0,
            checked.1
        );
    }
}
