//! What a command refuses or fails at beyond the areas above: arguments, the operator's answers, `csr`'s request,
//! `rollback`'s backup, the drop folder of `inbox`, the sandbox.

use super::*;

/// What a command refuses or fails at beyond the areas above: what failed, with its facts; `Display` is the operator's one line.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The command line could not be parsed (`what`: the parser's first line of explanation).
    #[error("{what}")]
    BadArguments { what: String },
    /// A panic was caught at the top: its message went to stderr already.
    #[error("internal error; see the message above")]
    Internal,
    /// The key password (the store password, unless `config` sets another) does not open the installed key.
    #[error("{}", installed_key_password_text(&inner.to_string(), config.as_deref()))]
    InstalledKeyPassword {
        config: Option<PathBuf>,
        #[source]
        inner: Box<Error>,
    },
    /// New material was asked for and none was given or chosen.
    #[error("no new certificate material given")]
    NoMaterialGiven,
    /// The new material `file` is the installed keystore (or a copy): its password error `inner` is the symptom.
    #[error("{} is the installed keystore, not new material: this is the installed certificate; give the new one (the UMS export keystore.icg, a PKCS#12 or PEM file)", file.shown())]
    InstalledKeystoreGiven {
        file: PathBuf,
        #[source]
        inner: Box<Error>,
    },
    /// The checked material holds no private key to install.
    #[error("the new material has no private key")]
    MaterialWithoutKey,
    /// The operator did not accept the checks' warnings.
    #[error("stopped at the warnings: nothing was changed")]
    StoppedAtWarnings,
    /// The operator did not confirm the plan.
    #[error("not confirmed: nothing was changed")]
    NotConfirmed,
    /// `rollback` would restore `backup`, which holds the certificate installed now (`sha256`): nothing to
    /// undo, nothing was changed. `replaced`: the newest keystore an earlier rollback replaced, which can be
    /// named to undo that rollback.
    #[error("nothing to undo: {} holds the certificate installed now (SHA-256 {sha256}), so the last renewal is already undone; nothing was changed{}", backup.shown(), replaced.as_ref().map(|p| format!(". The keystore the last rollback replaced is {}: name it to put that back", p.shown())).unwrap_or_default())]
    NothingToUndo {
        backup: PathBuf,
        sha256: String,
        replaced: Option<PathBuf>,
    },
    /// No backup of `keystore` was found in `dir`.
    #[error("no backup of {} in {}: name one", keystore.shown(), dir.shown())]
    NoBackup { keystore: PathBuf, dir: PathBuf },
    /// A pending key made by `csr` on `created` already waits at `path`.
    #[error("a pending key from {} already waits at {}: renew with its signed certificate first", crate::utc::rfc3339(*created), path.shown())]
    PendingKeyWaits {
        created: crate::utc::UnixTime,
        path: PathBuf,
    },
    /// The request file `file` exists already.
    #[error("{} exists", file.shown())]
    RequestFileExists { file: PathBuf },
    /// The certificate request could not be encoded.
    #[error("cannot encode the request: {source}")]
    EncodeRequest {
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// Another run of the drop folder `dir` holds its lock.
    #[error("another icg-renew inbox is working on {}: wait for it to finish", dir.shown())]
    InboxBusy {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The keystore was locked (`inner`) for as long as the drop folder waits; `material` stays for the next run.
    #[error("{inner}; {} stays in the drop folder for the next run", material.shown())]
    MaterialStays {
        material: PathBuf,
        #[source]
        inner: Box<Error>,
    },
    /// A dropped material's password file `file` is not a regular file of mode 0600 (`mode`: its mode).
    #[error("{} must be a regular file of mode 0600 (it is {mode:o}): chmod 600 it and drop the material again", file.shown())]
    DroppedPasswordMode { file: PathBuf, mode: u32 },
    /// The drop folder `dir` cannot be opened.
    #[error("cannot open the drop folder {}: {source}; create it with: install -d -m 0700 {}", dir.shown(), dir.shown())]
    NoDropFolder {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The drop folder `dir` is a link or a file.
    #[error("the drop folder {} is not a directory (a link or a file): give the directory itself", dir.shown())]
    DropFolderNotADirectory { dir: PathBuf },
    /// Someone other than root (or the group allowed) could write to the drop folder `dir`.
    #[error("the drop folder {} {}; whoever can write there decides the gateway's certificate: chown root and chmod 0700 it", dir.shown(), risk.describe())]
    DropFolderUnsafe { dir: PathBuf, risk: DropFolderRisk },
    /// `dir`, where results are filed, is not a directory.
    #[error("{} is not a directory: remove it so that icg-renew can file results there", dir.shown())]
    ResultsDirNotADirectory { dir: PathBuf },
    /// `name` is no group of /etc/group.
    #[error("{name}: no such group in /etc/group; give its name or number")]
    UnknownGroup { name: String },
    /// OpenSSL failed while `doing` something ("making the key or request").
    #[error("OpenSSL failed while {doing}: {source}")]
    OpenSslFailed {
        doing: String,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The sandbox directory `dir` exists and holds files.
    #[error("{} exists and is not empty: give a new or empty directory for the sandbox", dir.shown())]
    SandboxNotEmpty { dir: PathBuf },
    /// OpenSSL failed while the sandbox's keys and certificates were made.
    #[error("OpenSSL failed while building the sandbox: {source}")]
    SandboxOpenSsl {
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The sandbox's `part` ("keystore", "material") cannot be built (`why`, from the keystore writer).
    #[error("cannot build the sandbox {part}: {why}")]
    SandboxBuild { part: &'static str, why: String },
}

impl CommandError {
    /// The category that decides the exit code and the JSON `kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::BadArguments { .. }
            | Self::NoMaterialGiven
            | Self::PendingKeyWaits { .. }
            | Self::RequestFileExists { .. }
            | Self::DroppedPasswordMode { .. }
            | Self::DropFolderNotADirectory { .. }
            | Self::UnknownGroup { .. }
            | Self::SandboxNotEmpty { .. } => ErrorKind::Usage,
            Self::Internal
            | Self::EncodeRequest { .. }
            | Self::OpenSslFailed { .. }
            | Self::SandboxOpenSsl { .. }
            | Self::SandboxBuild { .. } => ErrorKind::Io,
            Self::InstalledKeystoreGiven { .. } | Self::MaterialWithoutKey => {
                ErrorKind::Incompatible
            }
            Self::StoppedAtWarnings | Self::NotConfirmed => ErrorKind::Aborted,
            Self::NoBackup { .. } | Self::NoDropFolder { .. } | Self::NothingToUndo { .. } => {
                ErrorKind::NotFound
            }
            Self::InboxBusy { .. } | Self::MaterialStays { .. } => ErrorKind::Locked,
            Self::DropFolderUnsafe { .. } | Self::ResultsDirNotADirectory { .. } => {
                ErrorKind::Unsupported
            }
            Self::InstalledKeyPassword { inner, .. } => inner.kind(),
        }
    }
}

/// Who besides root could write to a drop folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropFolderRisk {
    /// It belongs to this uid.
    Owner(u32),
    /// Every user may write to it.
    EveryUser,
    /// This group may write to it, and it is not the group allowed (the command layer names the option).
    Group(u32),
}

impl DropFolderRisk {
    /// What is wrong, after "the drop folder DIR".
    fn describe(self) -> String {
        match self {
            DropFolderRisk::Owner(uid) => format!("belongs to uid {uid}"),
            DropFolderRisk::EveryUser => "is writable by every user".to_string(),
            DropFolderRisk::Group(gid) => {
                format!("is writable by group {gid}, which is not the group allowed")
            }
        }
    }
}

/// The line for a key password that does not open the installed key: `inner` (the password error as the
/// reader is to see it) and where the key password is set, the configuration or its usual name when none
/// was read. `commands::hint` passes the inner error with its own fix.
pub fn installed_key_password_text(inner: &str, config: Option<&Path>) -> String {
    let place = config.map_or("application-prod.yml".into(), |p| p.shown().to_string());
    format!("{inner}; set server.ssl.key-password in {place}")
}
