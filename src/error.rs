//! The library's error type. Every error carries a message that names the file involved and the fix, and a
//! kind that decides the process exit code of the contract (`docs/cli.md`).

use crate::shown::Shown;
use std::path::Path;

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

/// An error with its kind, a one-line message for the operator, and the lower-level error it reports when
/// there is one (`std::error::Error::source`; the message already says what the operator needs).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, with `cause` as its source.
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(cause));
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// An I/O failure on `path` while `doing` something, with a fix suited to the OS error.
    pub fn io(doing: &str, path: &Path, err: &std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        let hint = match err.kind() {
            std::io::ErrorKind::NotFound => "check the path",
            std::io::ErrorKind::PermissionDenied => "run as root or fix the permissions",
            std::io::ErrorKind::StorageFull => "the disk is full: free some space and try again",
            std::io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only",
            _ => "check the file and try again",
        };
        let detail = if err.raw_os_error() == Some(libc_efbig()) {
            "file size limit exceeded".to_string()
        } else {
            err.to_string()
        };
        // The OS error is kept as the source (by its number, which is all an `io::Error` can be rebuilt from).
        let cause = match err.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => std::io::Error::new(err.kind(), err.to_string()),
        };
        Self::new(
            kind,
            format!("cannot {doing} {}: {detail} ({hint})", path.shown()),
        )
        .caused_by(cause)
    }

    /// Prefix the message with more context while keeping the kind.
    pub fn context(mut self, prefix: impl std::fmt::Display) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}

/// EFBIG, the errno of a write past RLIMIT_FSIZE (27 on Linux).
fn libc_efbig() -> i32 {
    rustix::io::Errno::FBIG.raw_os_error()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_io_error_keeps_the_os_error_as_its_source() {
        let os = std::io::Error::from_raw_os_error(13);
        let error = Error::io("read", Path::new("/etc/shadow"), &os);
        assert_eq!(error.kind, ErrorKind::Io);
        let source = error.source().expect("a source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.raw_os_error(), Some(13));
        assert!(Error::usage("x").source().is_none());
    }
}
