//! The library's error type. Each family of failure is its own variant with the facts as fields (the file,
//! which password, the OS error as `#[source]`); its `Display` is the one-line message naming the file and the
//! fix, and `kind()` decides the process exit code of the contract (`docs/cli.md`). The library names no
//! command-line option: where the fix is an option (`--store-password-file`, ...), the variant says which
//! password or file it is about and the command layer adds the option (`commands::hint`).

use crate::shown::Shown;
use std::path::{Path, PathBuf};

mod command;
mod config;
mod files;
mod keystore;
mod material;
mod transaction;

pub use command::*;
pub use config::*;
pub use files::*;
pub use keystore::*;
pub use material::*;
pub use transaction::*;

/// What went wrong, in the categories that automation can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Wrong command-line use, or a value missing under `--yes`.
    Usage,
    /// A file or installation that is not where it should be.
    NotFound,
    /// Reading or writing failed (permissions, full disk, ...).
    Io,
    /// A file whose content is damaged or not what it claims to be.
    Corrupt,
    /// A password that does not open a keystore or key.
    WrongPassword,
    /// A password is needed and no source gave one (under `--yes`: a usage error naming the option).
    PasswordNeeded,
    /// A well-formed input this tool cannot handle (format, algorithm, configuration form).
    Unsupported,
    /// Another icg-renew holds the keystore lock.
    Locked,
    /// The new material failed a compatibility check; nothing was changed.
    Incompatible,
    /// The renewal failed after the change, and the old keystore was restored.
    RolledBack,
    /// The renewal failed and the old state could not be restored automatically.
    RollbackFailed,
    /// The operator declined or interrupted before anything changed.
    Aborted,
}

impl ErrorKind {
    /// The stable name used in JSON error documents.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Io => "io",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::WrongPassword => "wrong-password",
            ErrorKind::PasswordNeeded => "usage",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Locked => "locked",
            ErrorKind::Incompatible => "incompatible",
            ErrorKind::RolledBack => "rolled-back",
            ErrorKind::RollbackFailed => "rollback-failed",
            ErrorKind::Aborted => "aborted",
        }
    }

    /// Exit code for every command but `status` (which follows the monitoring-plugin convention).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage | ErrorKind::PasswordNeeded => 2,
            ErrorKind::Incompatible => 3,
            ErrorKind::RolledBack => 4,
            ErrorKind::RollbackFailed => 5,
            _ => 1,
        }
    }
}

/// Which password an error is about (the command layer names the option that gives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordFor {
    /// The installed keystore's password.
    Keystore,
    /// The new material's password (a PKCS#12 file or a keystore in a ZIP).
    Material,
    /// The password of the new material's encrypted PEM key.
    EncryptedKey,
}

/// Where the alias of the server entry comes from, for the fix of an alias that finds no entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasFrom {
    /// The command line (the command layer names the option).
    CommandLine,
    /// A setting or file, described as the operator fixes it ("server.ssl.key-alias in FILE").
    Setting(String),
}

/// An error: its variant says what failed and carries the facts; `Display` is the operator's one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing `path` failed while `doing` something (kind: not-found or io).
    #[error("cannot {doing} {}: {} ({})", path.shown(), io_detail(source), io_hint(source))]
    Io {
        doing: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The password given does not open `file`.
    #[error("{}", wrong_password_text(file, *which))]
    WrongPassword { file: PathBuf, which: PasswordFor },
    /// `file` needs a password and no source gave one.
    #[error("{}", password_needed_text(file, *which))]
    PasswordNeeded { file: PathBuf, which: PasswordFor },
    /// A configuration `setting` holds a placeholder for the keystore password that this tool does not resolve.
    #[error("{setting} uses a ${{...}} placeholder, which this tool does not resolve")]
    PasswordPlaceholder { setting: String },
    /// Another icg-renew holds the lock of `keystore` (the lock file `lock`; `holder` is its process id when
    /// the lock file names one).
    #[error("{} is being changed by another icg-renew ({} holds {}): wait for it to finish", keystore.shown(), holder_text(holder.as_deref()), lock.shown())]
    Locked {
        keystore: PathBuf,
        holder: Option<String>,
        lock: PathBuf,
    },
    /// Files and directories.
    #[error(transparent)]
    File(#[from] FileError),
    /// Keystores.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// New material.
    #[error(transparent)]
    Material(#[from] MaterialError),
    /// The installation and its configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The transaction.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// What a command refuses or fails at beyond the areas above.
    #[error(transparent)]
    Command(#[from] CommandError),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The category that decides the exit code and the JSON `kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            Error::Io { .. } => ErrorKind::Io,
            Error::WrongPassword { .. } => ErrorKind::WrongPassword,
            Error::PasswordNeeded { .. } => ErrorKind::PasswordNeeded,
            Error::PasswordPlaceholder { .. } => ErrorKind::Unsupported,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::File(e) => e.kind(),
            Error::Keystore(e) => e.kind(),
            Error::Material(e) => e.kind(),
            Error::Config(e) => e.kind(),
            Error::Transaction(e) => e.kind(),
            Error::Command(e) => e.kind(),
        }
    }

    /// An I/O failure on `path` while `doing` something; its message gives a fix suited to the OS error.
    pub fn io(doing: &str, path: &Path, err: &std::io::Error) -> Self {
        // The OS error is kept as the source (by its number, which is all an `io::Error` can be rebuilt from).
        let source = match err.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => std::io::Error::new(err.kind(), err.to_string()),
        };
        Error::Io {
            doing: doing.to_string(),
            path: path.to_path_buf(),
            source,
        }
    }
}

fn io_detail(err: &std::io::Error) -> String {
    if err.raw_os_error() == Some(libc_efbig()) {
        "file size limit exceeded".to_string()
    } else {
        err.to_string()
    }
}

fn io_hint(err: &std::io::Error) -> &'static str {
    match err.kind() {
        std::io::ErrorKind::NotFound => "check the path",
        std::io::ErrorKind::PermissionDenied => "run as root or fix the permissions",
        std::io::ErrorKind::StorageFull => "the disk is full: free some space and try again",
        std::io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only",
        _ => "check the file and try again",
    }
}

fn holder_text(holder: Option<&str>) -> String {
    match holder {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_string(),
    }
}

fn wrong_password_text(file: &Path, which: PasswordFor) -> String {
    match which {
        PasswordFor::EncryptedKey => {
            format!("wrong password for the encrypted key {}", file.shown())
        }
        PasswordFor::Keystore | PasswordFor::Material => format!(
            "wrong password for {}: the password given does not open it",
            file.shown()
        ),
    }
}

fn password_needed_text(file: &Path, which: PasswordFor) -> String {
    match which {
        PasswordFor::Keystore => format!("no password for {}", file.shown()),
        PasswordFor::Material | PasswordFor::EncryptedKey => {
            format!("{} is protected by a password", file.shown())
        }
    }
}

/// EFBIG, the errno of a write past RLIMIT_FSIZE (27 on Linux).
fn libc_efbig() -> i32 {
    rustix::io::Errno::FBIG.raw_os_error()
}

#[cfg(test)]
mod tests;
