//! Files and directories: a path that is not what it must be, a layout that lets another account race icg-renew,
//! the keystore file swapped or gone, backups, output files and the audit log.

use super::*;

/// Files and directories: what failed, with its facts; `Display` is the operator's one line.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// An operator's input file `path` is a symbolic link, which is not followed (reading it for `doing`).
    #[error("cannot {doing} {}: it is a symbolic link; give the path of the file it points to", path.shown())]
    InputIsLink { doing: String, path: PathBuf },
    /// `path` is not a regular file (`found`: what it is instead, where that was looked at).
    #[error("cannot {doing} {}: it is {}; give the path of a file", path.shown(), found.text())]
    NotRegularFile {
        doing: String,
        path: PathBuf,
        found: FoundFile,
    },
    /// `path`, in a directory resolved once, became a symbolic link after it was resolved.
    #[error("cannot {doing} {}: it is a symbolic link now, which icg-renew does not follow a second time; run it again", path.shown())]
    BecameLink { doing: String, path: PathBuf },
    /// `path` is `len` bytes, more than the `limit` (bytes) of what `doing` reads.
    #[error("cannot {doing} {}: it is {len} bytes, more than the {} MiB limit; check the path", path.shown(), limit / (1024 * 1024))]
    TooBig {
        doing: String,
        path: PathBuf,
        len: u64,
        limit: u64,
    },
    /// `path` grew past `limit` bytes while it was read.
    #[error("cannot {doing} {}: it grew past the size limit", path.shown())]
    GrewPastLimit {
        doing: String,
        path: PathBuf,
        limit: u64,
    },
    /// Running as root, a directory icg-renew works in (`role`: "the keystore directory") that another account
    /// could change (`risk`), and so swap the files in it.
    #[error("{}", unsafe_directory_text(role, dir, risk))]
    UnsafeDirectory {
        role: String,
        dir: PathBuf,
        risk: DirectoryRisk,
    },
    /// Running as root, `path` lies beyond the directory `dir`, which an account other than root (and the
    /// path's accepted owner) could change (`risk`): it could choose what `path` is.
    #[error("{}", foreign_directory_text(path, dir, risk))]
    ForeignDirectoryOnPath {
        path: PathBuf,
        dir: PathBuf,
        risk: DirectoryRisk,
    },
    /// `path` has `links` hard links (or, to be appended to, belongs to `uid`, not root): reading or
    /// appending to it (`doing`) could reach a file someone else chose.
    #[error("cannot {doing} {}: it has {links} hard links and belongs to uid {uid}; icg-renew uses only a file with one link (and appends only to root's): copy it, or move it away", path.shown())]
    SharedFile {
        doing: String,
        path: PathBuf,
        links: u64,
        uid: u32,
    },
    /// A directory on the way to `path` was swapped while it was being resolved.
    #[error("{} changed while icg-renew resolved it: run it again, and check who else writes there", path.shown())]
    ChangedWhileResolved { path: PathBuf },
    /// `path` (`what`: "the pending key") is no longer the file icg-renew found, so it was left alone.
    #[error("{} is no longer {what} icg-renew found: it was left alone; check it", path.shown())]
    NoLongerFound { path: PathBuf, what: String },
    /// `path` was renamed or replaced before it could be removed.
    #[error("cannot remove {}: it was renamed or replaced", path.shown())]
    NotRemoved { path: PathBuf },
    /// The keystore path `path` resolves to no file name (`/`).
    #[error("{} names no file: give the keystore's path", path.shown())]
    KeystoreNamesNoFile { path: PathBuf },
    /// The keystore `path` disappeared after it was resolved.
    #[error("{} is gone: check the path", path.shown())]
    KeystoreGone { path: PathBuf },
    /// The keystore `path` is not a regular file.
    #[error("{} is not a regular file: check the path", path.shown())]
    KeystoreNotRegular { path: PathBuf },
    /// Running as root, the keystore `configured` is reached through a link (or a directory holding the link:
    /// `through`) that `uid` controls, neither root nor the keystore's owner `owner`; `real` is the keystore's
    /// own path (the command layer names the option that gives it).
    #[error("{}", foreign_link_text(configured, real, *through, *uid, *owner, ""))]
    ForeignKeystoreLink {
        configured: PathBuf,
        real: PathBuf,
        through: LinkPart,
        uid: u32,
        owner: u32,
    },
    /// The keystore's name `path` no longer holds the file icg-renew read: nothing was `doing` ("replaced").
    #[error("{} is no longer the file icg-renew read (something renamed or replaced it): nothing was {doing}; check the directory, then run icg-renew again", path.shown())]
    KeystoreSwapped { path: PathBuf, doing: String },
    /// The new keystore's temporary file `temp` was renamed or replaced before the rename.
    #[error("the new keystore {} was renamed or replaced by something else: nothing was replaced; check the directory", temp.shown())]
    TempFileSwapped { temp: PathBuf },
    /// Every backup name of this second is taken in `dir`.
    #[error("cannot find a free backup name in {}", dir.shown())]
    NoFreeBackupName { dir: PathBuf },
    /// Every name for a filed result of `name` is taken in `dir`.
    #[error("cannot find a free name for {} in {}: clear out old results", name.shown(), dir.shown())]
    NoFreeResultName { dir: PathBuf, name: PathBuf },
    /// The backup directory could not be listed (kind of `source`).
    #[error("cannot list backups: {source}")]
    ListBackups {
        #[source]
        source: Box<Error>,
    },
    /// An output file `path` (written for `doing`) names no file.
    #[error("cannot {doing} {}: it names no file", path.shown())]
    NamesNoFile { doing: String, path: PathBuf },
    /// The audit log `path` cannot be opened for appending (the command layer names the option that moves it).
    #[error("cannot write the audit log {}: {source}", path.shown())]
    AuditLogNotOpened {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Appending a line to the audit log `path` failed.
    #[error("cannot write the audit log {}: {source}", path.shown())]
    AuditLogNotWritten {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FileError {
    /// The category that decides the exit code and the JSON `kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InputIsLink { .. }
            | Self::NotRegularFile { .. }
            | Self::BecameLink { .. }
            | Self::NoLongerFound { .. }
            | Self::NotRemoved { .. }
            | Self::KeystoreNamesNoFile { .. }
            | Self::KeystoreNotRegular { .. }
            | Self::KeystoreSwapped { .. }
            | Self::TempFileSwapped { .. }
            | Self::NoFreeBackupName { .. }
            | Self::NoFreeResultName { .. }
            | Self::AuditLogNotOpened { .. }
            | Self::AuditLogNotWritten { .. }
            | Self::ChangedWhileResolved { .. }
            | Self::SharedFile { .. } => ErrorKind::Io,
            Self::TooBig { .. } | Self::GrewPastLimit { .. } => ErrorKind::Corrupt,
            Self::UnsafeDirectory { .. }
            | Self::ForeignKeystoreLink { .. }
            | Self::ForeignDirectoryOnPath { .. } => ErrorKind::Unsupported,
            Self::KeystoreGone { .. } => ErrorKind::NotFound,
            Self::NamesNoFile { .. } => ErrorKind::Usage,
            Self::ListBackups { source, .. } => source.kind(),
        }
    }
}

/// What a path that had to be a regular file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundFile {
    Directory,
    FifoOrSocket,
    DeviceOrSpecial,
}

impl FoundFile {
    fn text(self) -> &'static str {
        match self {
            FoundFile::Directory => "a directory, not a regular file",
            FoundFile::FifoOrSocket => "a FIFO or socket, not a regular file",
            FoundFile::DeviceOrSpecial => "a device or special file, not a regular file",
        }
    }
}

/// Why a directory lets an account other than root swap the files in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryRisk {
    /// Writable by every user (mode o+w).
    WorldWritable,
    /// Owned by this uid, not root.
    OwnedBy(u32),
    /// Writable by this group, not root's.
    GroupWritable(u32),
}

fn unsafe_directory_text(role: &str, dir: &Path, risk: &DirectoryRisk) -> String {
    let dir = dir.shown();
    match risk {
        DirectoryRisk::WorldWritable => format!("{role} {dir} is writable by every user, which lets them race icg-renew with links: chmod o-w it, or choose another directory"),
        DirectoryRisk::OwnedBy(uid) => format!("{role} {dir} belongs to uid {uid}, not root, who could swap files in it while icg-renew works: chown root it, or choose another directory"),
        DirectoryRisk::GroupWritable(gid) => format!("{role} {dir} is writable by group {gid}, whose members could swap files in it while icg-renew works: chmod g-w it, or choose another directory"),
    }
}

fn foreign_directory_text(path: &Path, dir: &Path, risk: &DirectoryRisk) -> String {
    let who = match risk {
        DirectoryRisk::WorldWritable => "every user".to_string(),
        DirectoryRisk::OwnedBy(uid) => format!("uid {uid}, its owner"),
        DirectoryRisk::GroupWritable(gid) => format!("the members of group {gid}"),
    };
    format!(
        "{} is refused: the directory {} on the way to it can be changed by {who}, who could point it at another file; use a path whose directories only root can change",
        path.shown(),
        dir.shown()
    )
}

/// Which part of the way to a linked keystore another account controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPart {
    /// The symbolic link itself.
    Link,
    /// The directory holding the link.
    HoldingDirectory,
}

/// The text of [`FileError::ForeignKeystoreLink`]; `with` goes before the keystore's own path in the fix
/// (empty in the library, the option that gives the path at the command line).
pub fn foreign_link_text(
    configured: &Path,
    real: &Path,
    through: LinkPart,
    uid: u32,
    owner: u32,
    with: &str,
) -> String {
    let what = match through {
        LinkPart::Link => "link",
        LinkPart::HoldingDirectory => "directory holding the link",
    };
    format!(
        "the keystore {} is reached through a {what} that uid {uid} controls, neither root nor the keystore's owner (uid {owner}): give the keystore's own path {with}{}, or make root own the link",
        configured.shown(),
        crate::shown::quote(real.as_os_str())
    )
}
