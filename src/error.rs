//! The library's error type. Each family of failure is its own variant with the facts as fields (the file,
//! which password, the OS error as `#[source]`); its `Display` is the one-line message naming the file and the
//! fix, and `kind()` decides the process exit code of the contract (`docs/cli.md`). The library names no
//! command-line option: where the fix is an option (`--store-password-file`, ...), the variant says which
//! password or file it is about and the command layer adds the option (`commands::hint`).

use crate::shown::Shown;
use std::path::{Path, PathBuf};

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
    /// `file` is none of the material formats this tool reads (`what` describes its first bytes).
    #[error("{} is not certificate material this tool knows ({what}): export the certificate and key from the UMS as PKCS#12 or PEM", file.shown())]
    NotMaterial { file: PathBuf, what: String },
    /// `file` holds a private key and a separate key file was given too.
    #[error("{} already holds a private key", file.shown())]
    KeyGivenTwice { file: PathBuf },
    /// New material holds `count` private keys where it must hold one (`directory`: an ACME client's directory).
    #[error("{}", several_keys_text(file, *count, *directory))]
    SeveralKeys {
        file: PathBuf,
        count: usize,
        directory: bool,
    },
    /// No ICG installation at `default_config` nor under `searched` (down to `depth` levels).
    #[error("no ICG installation found: {} does not exist and none was found under {} (searched {depth} levels deep)", default_config.shown(), searched.iter().map(|p| p.shown()).collect::<Vec<_>>().join(", "))]
    NoInstallation {
        default_config: PathBuf,
        searched: Vec<PathBuf>,
        depth: usize,
    },
    /// The configuration `config` names no keystore.
    #[error("{} sets no server.ssl.key-store: add it", config.as_deref().map(|p| p.shown()).unwrap_or_default())]
    NoKeystoreSetting { config: Option<PathBuf> },
    /// `server.ssl.key-store` is a placeholder (`location`, shortened for the message) this tool does not resolve.
    #[error("server.ssl.key-store '{location}' uses a placeholder")]
    KeystorePlaceholder { location: String },
    /// The JKS keystore `file` is damaged (`why`).
    #[error("{} is a damaged JKS keystore ({why}): restore it from a backup", file.shown())]
    DamagedJks { file: PathBuf, why: String },
    /// The PKCS#12 file `file` cannot be read (`why`).
    #[error("{} is a PKCS#12 file that cannot be read ({why}): restore it from a backup or export it again", file.shown())]
    DamagedPkcs12 { file: PathBuf, why: String },
    /// The PKCS#12 file `file` asks for more work than is accepted before its password is tried (`why`).
    #[error("{}: refusing a PKCS#12 file whose {why}", file.shown())]
    CostlyPkcs12 { file: PathBuf, why: String },
    /// The PKCS#12 file `file` uses an algorithm or form (`why`) that Java's keystore does not read.
    #[error("{} is a PKCS#12 file that uses {why}, which Java's keystore does not read: export it again with keytool -importkeystore -deststoretype PKCS12", file.shown())]
    UnsupportedPkcs12 { file: PathBuf, why: String },
    /// `file` is a JCEKS keystore.
    #[error("{} is a JCEKS keystore, which the ICG does not use: convert it with keytool -importkeystore -deststoretype PKCS12", file.shown())]
    Jceks { file: PathBuf },
    /// `file` is no keystore (`what` describes its first bytes).
    #[error("{} is not a JKS or PKCS#12 keystore ({what}): check the path", file.shown())]
    NotAKeystore { file: PathBuf, what: String },
    /// `file` holds `keys` private keys, more than `max`.
    #[error("{} holds {keys} private keys, more than the {max} a gateway keystore could need: check the file", file.shown())]
    TooManyKeys {
        file: PathBuf,
        keys: usize,
        max: usize,
    },
    /// The key password does not open the key of entry `alias` in `file`.
    #[error("wrong key password for entry '{alias}' of {}: give the password that protects the key", file.shown())]
    WrongKeyPassword { file: PathBuf, alias: String },
    /// `file` has no private-key entry `alias` (`has`: the aliases it has, listed for the message).
    #[error("{} has no private-key entry '{alias}' (it has: {has}){}", file.shown(), fix_with(": fix", from))]
    NoSuchEntry {
        file: PathBuf,
        alias: String,
        has: String,
        from: AliasFrom,
    },
    /// `file` holds several private-key entries (`has`) and no alias chose one.
    #[error("{} holds several private-key entries ({has}){}", file.shown(), fix_with(": choose one with", from))]
    SeveralEntries {
        file: PathBuf,
        has: String,
        from: AliasFrom,
    },
    /// An error with more context in front (`prefix: message`), keeping its kind.
    #[error("{prefix}: {inner}")]
    Context {
        prefix: String,
        #[source]
        inner: Box<Error>,
    },
    /// Every other failure: its kind, its message, and the lower-level error when there is one.
    #[error("{message}")]
    Other {
        kind: ErrorKind,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error::Other {
            kind,
            message: message.into(),
            source: None,
        }
    }

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
            Error::NoSuchEntry { .. } => ErrorKind::NotFound,
            Error::DamagedJks { .. }
            | Error::DamagedPkcs12 { .. }
            | Error::CostlyPkcs12 { .. }
            | Error::NotAKeystore { .. } => ErrorKind::Corrupt,
            Error::UnsupportedPkcs12 { .. } | Error::Jceks { .. } | Error::TooManyKeys { .. } => {
                ErrorKind::Unsupported
            }
            Error::WrongKeyPassword { .. } => ErrorKind::WrongPassword,
            Error::SeveralEntries { .. } => ErrorKind::Usage,
            Error::NotMaterial { .. } => ErrorKind::Corrupt,
            Error::KeyGivenTwice { .. } | Error::SeveralKeys { .. } => ErrorKind::Usage,
            Error::NoInstallation { .. } | Error::NoKeystoreSetting { .. } => ErrorKind::NotFound,
            Error::KeystorePlaceholder { .. } => ErrorKind::Unsupported,
            Error::Context { inner, .. } => inner.kind(),
            Error::Other { kind, .. } => *kind,
        }
    }

    /// The same error, with `cause` as its source (a typed variant becomes `Other`, keeping its text and kind).
    pub fn caused_by(self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Other {
            kind: self.kind(),
            message: self.to_string(),
            source: Some(Box::new(cause)),
        }
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

    /// Prefix the message with more context while keeping the kind; the error itself becomes the source.
    pub fn context(self, prefix: impl std::fmt::Display) -> Self {
        Error::Context {
            prefix: prefix.to_string(),
            inner: Box::new(self),
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

/// `" {verb} {setting}"` when the alias comes from a setting; nothing for the command line (the hint adds it).
fn fix_with(verb: &str, from: &AliasFrom) -> String {
    match from {
        AliasFrom::CommandLine => String::new(),
        AliasFrom::Setting(setting) => format!("{verb} {setting}"),
    }
}

fn holder_text(holder: Option<&str>) -> String {
    match holder {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_string(),
    }
}

fn several_keys_text(file: &Path, count: usize, directory: bool) -> String {
    if directory {
        format!(
            "{} holds {count} different private keys; a material directory must hold exactly one",
            file.shown()
        )
    } else {
        format!(
            "{} holds {count} private keys; a bundle must hold exactly one",
            file.shown()
        )
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
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_io_error_keeps_the_os_error_as_its_source() {
        let os = std::io::Error::from_raw_os_error(13);
        let error = Error::io("read", Path::new("/etc/shadow"), &os);
        assert_eq!(error.kind(), ErrorKind::Io);
        let source = error.source().expect("a source");
        let io = source
            .downcast_ref::<std::io::Error>()
            .expect("an io::Error");
        assert_eq!(io.raw_os_error(), Some(13));
        assert!(Error::usage("x").source().is_none());
    }
}
