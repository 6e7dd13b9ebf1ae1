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
    /// The PKCS#12 file `file` cannot be read (`source`: the decoder's or OpenSSL's error, or what is wrong).
    #[error("{} is a PKCS#12 file that cannot be read ({source}): restore it from a backup or export it again", file.shown())]
    DamagedPkcs12 {
        file: PathBuf,
        #[source]
        source: crate::keystore::pfx::PfxError,
    },
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
    // --- command edge ---
    /// The command line could not be parsed (`what`: the parser's first line of explanation).
    #[error("{what}")]
    BadArguments { what: String },
    /// A panic was caught at the top: its message went to stderr already.
    #[error("internal error; see the message above")]
    Internal,
    /// Several ICG installations were found and no one could be asked which.
    #[error("several ICG installations found ({})", found.iter().map(|p| p.shown().to_string()).collect::<Vec<_>>().join(", "))]
    SeveralInstallations { found: Vec<PathBuf> },
    /// The installation root given names the `usg` directory (or one below it); `meant` is the root that
    /// holds it. `inner` is the error the root as given led to.
    #[error("{inner}; the installation root is the directory that holds usg/, so this is probably {}", crate::shown::quote(meant.as_os_str()))]
    RootBelowUsg {
        meant: PathBuf,
        #[source]
        inner: Box<Error>,
    },
    /// The key password (the store password, unless `config` sets another) does not open the installed key.
    #[error("{inner}; set server.ssl.key-password in {}", key_password_place(config.as_deref()))]
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
    /// No backup of `keystore` was found in `dir`.
    #[error("no backup of {} in {}: name one", keystore.shown(), dir.shown())]
    NoBackup { keystore: PathBuf, dir: PathBuf },
    /// A pending key made by `csr` on `created` already waits at `path`.
    #[error("a pending key from {} already waits at {}: renew with its signed certificate first", crate::cert::rfc3339(*created), path.shown())]
    PendingKeyWaits {
        created: crate::cert::UnixTime,
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
    // --- core: file system, keystore file, backups, pending key, material directory, hook, transaction ---
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
    /// The backup directory could not be listed (kind of `source`).
    #[error("cannot list backups: {source}")]
    ListBackups {
        #[source]
        source: Box<Error>,
    },
    /// An output file `path` (written for `doing`) names no file.
    #[error("cannot {doing} {}: it names no file", path.shown())]
    NamesNoFile { doing: String, path: PathBuf },
    /// OpenSSL failed while `doing` something ("making the key or request").
    #[error("OpenSSL failed while {doing}: {source}")]
    OpenSslFailed {
        doing: String,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The pending key file `path` holds no certificate.
    #[error("{} holds no certificate: run icg-renew csr again", path.shown())]
    PendingKeyWithoutCertificate { path: PathBuf },
    /// The pending key file `path` could not be built (`why`).
    #[error("cannot build the pending key file {}: {why}", path.shown())]
    PendingKeyNotBuilt { path: PathBuf, why: String },
    /// A material directory `dir` holds more than `max` entries.
    #[error("{} holds more than {max} entries; a material directory holds a key and its certificates: give the directory the ACME client writes", dir.shown())]
    MaterialDirectoryTooLarge { dir: PathBuf, max: usize },
    /// The files of a material directory `dir` hold more than `limit` bytes of PEM.
    #[error("the files in {} hold more than {} MiB of PEM: give the directory the ACME client writes", dir.shown(), limit / (1024 * 1024))]
    MaterialDirectoryTooMuchPem { dir: PathBuf, limit: u64 },
    /// A material directory `dir` holds no PEM key or certificate.
    #[error("{} holds no PEM private key or certificate: give the directory the ACME client writes (certbot: /etc/letsencrypt/live/NAME)", dir.shown())]
    MaterialDirectoryEmpty { dir: PathBuf },
    /// A link `link` in a material directory leads where the link rule does not allow (`why`); links are
    /// followed only within `trust_root`.
    #[error("{} is a symbolic link {}: icg-renew follows links in a material directory only within the ACME client's own directory {}, owned by root and writable by no one else; give the path of the file it points to", link.shown(), why.text(), trust_root.shown())]
    MaterialLinkRefused {
        link: PathBuf,
        trust_root: PathBuf,
        why: LinkRefusal,
    },
    /// The server entry `alias` of the keystore `file` has no certificate.
    #[error("{}: entry '{}' has no certificate", file.shown(), crate::shown::text(alias))]
    EntryWithoutCertificate { file: PathBuf, alias: String },
    /// An ACME client's deploy hook set not the variables that name the material (`found`: which it set).
    #[error("{}", hook_text(*found, "the deploy hook"))]
    HookVariables { found: HookFound },
    /// An interruption arrived before the keystore was replaced.
    #[error("interrupted before the keystore was replaced: nothing was changed")]
    InterruptedBeforeReplace,
    /// The keystore `keystore` changed on disk between the read at the start and the rename.
    #[error("{} was changed by something else while icg-renew worked: nothing was replaced; run icg-renew again", keystore.shown())]
    KeystoreChangedMeanwhile { keystore: PathBuf },
    /// The new keystore for `keystore`, read back before the rename, differs from what was meant (`what`).
    #[error("the new keystore for {} did not read back as meant ({what}), so nothing was replaced; please report this with the audit log", keystore.shown())]
    ReadBackDiffers { keystore: PathBuf, what: String },
    /// The new keystore for `keystore`, read back before the rename, does not open (`source`).
    #[error("the new keystore for {} did not read back as meant ({source}), so nothing was replaced; please report this with the audit log", keystore.shown())]
    ReadBackUnreadable {
        keystore: PathBuf,
        #[source]
        source: Box<Error>,
    },
    /// A restored keystore for `keystore` did not read back as the backup's bytes.
    #[error("the restored keystore for {} does not read back byte for byte", keystore.shown())]
    RestoreReadBackDiffers { keystore: PathBuf },
    /// The gateway serves `what` ("the new certificate"), but a verifying client refuses it (`why`).
    #[error("the gateway serves {what}, but a verifying client refuses it: {why}")]
    ServedButRefused { what: String, why: String },
    /// The gateway did not serve `what` within `timeout`; `last` is what the last probe saw.
    #[error("the gateway did not serve {what} within {} s: {last}", timeout.as_secs())]
    NotServedInTime {
        what: String,
        timeout: std::time::Duration,
        last: String,
    },
    /// The renewal failed after the rename (`failure`) and the old keystore was restored and confirmed.
    #[error("{failure}; the old keystore was restored and is served again")]
    RenewalRolledBack {
        #[source]
        failure: Box<Error>,
    },
    /// The renewal failed after the rename (`failure`) and, as asked, the new keystore was left in place.
    #[error("{failure}; the new keystore was left in place")]
    RenewalLeftInPlace {
        #[source]
        failure: Box<Error>,
    },
    /// The renewal failed after the rename (`failure`) and restoring the backup failed too (`rollback`).
    #[error("{failure}; then the rollback failed too: {rollback}")]
    RollbackFailedToo {
        #[source]
        failure: Box<Error>,
        rollback: Box<Error>,
    },
    /// Restoring a backup failed before its rename (`failure`, whose kind it keeps): nothing changed.
    #[error("{failure}; the keystore was not changed")]
    RestoreNotDone {
        #[source]
        failure: Box<Error>,
    },
    /// A backup was put back, but the restart or its confirmation failed (`failure`).
    #[error("{failure}")]
    RestoreUnconfirmed {
        #[source]
        failure: Box<Error>,
    },
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
    // --- library: material, keystore, installation, service, sandbox (errlib) ---
    /// New material (`file`, with the certificates of a chain file when `chain_given`) holds `count`
    /// certificates, more than `max`.
    #[error("{}", too_many_certificates_text(file, "", *count, *max))]
    TooManyCertificates {
        file: PathBuf,
        count: usize,
        max: usize,
        chain_given: bool,
    },
    /// `file` holds a certificate whose RSA key is of a size or exponent no CA issues.
    #[error("{} holds a certificate with an RSA key no CA issues (a public exponent over 64 bits or a modulus over 16,384 bits): check the file", file.shown())]
    UnusualRsaKey { file: PathBuf },
    /// New material `file` holds no certificate at all.
    #[error("{} holds no certificate: it needs at least the new server certificate", file.shown())]
    NoCertificate { file: PathBuf },
    /// `file` starts like a ZIP archive, but its directory cannot be read.
    #[error("{} looks like a ZIP archive but cannot be opened ({source}): export it again", file.shown())]
    ZipUnreadable {
        file: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    /// An entry of the ZIP archive `file` cannot be opened.
    #[error("{}: damaged ZIP entry ({source}): export it again", file.shown())]
    ZipEntryDamaged {
        file: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    /// The entry `entry` (escaped and shortened) of the ZIP archive `file` cannot be unpacked.
    #[error("{}: cannot unpack {entry} ({source})", file.shown())]
    ZipEntryUnpack {
        file: PathBuf,
        entry: String,
        #[source]
        source: std::io::Error,
    },
    /// The entry `entry` of the ZIP archive `file` unpacks to more than the size limit.
    #[error("{}: {entry} unpacks to more than the size limit", file.shown())]
    ZipEntryTooLarge { file: PathBuf, entry: String },
    /// The ZIP archive `file` holds no keystore.
    #[error("{} is a ZIP archive without a keystore inside: export the certificate and key from the UMS as PKCS#12 or PEM instead", file.shown())]
    ZipWithoutKeystore { file: PathBuf },
    /// A PEM certificate block of `file` is not a valid certificate.
    #[error("{} holds a damaged certificate: export it again", file.shown())]
    DamagedCertificate {
        file: PathBuf,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The key file `file` is no private key in a form this tool reads.
    #[error("{} is not a private key this tool can read (PEM or DER, PKCS#8 or traditional): check the file", file.shown())]
    UnreadableKeyFile {
        file: PathBuf,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The unencrypted PEM private key in `file` cannot be read.
    #[error("{} holds a damaged private key: export it again", file.shown())]
    DamagedPrivateKey {
        file: PathBuf,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The chain file `file` holds no certificate (`what` describes its first bytes).
    #[error("{} holds no certificates ({what}): give a PEM file with the CA certificates", file.shown())]
    NoChainCertificates { file: PathBuf, what: String },
    /// The keystore `file` has no private-key entry at all.
    #[error("{} holds no private-key entry: it is not a server keystore", file.shown())]
    NoKeyEntries { file: PathBuf },
    /// The keystore `file` has no key entry `alias`.
    #[error("{} has no key entry '{alias}'", file.shown())]
    NoKeyEntry { file: PathBuf, alias: String },
    /// The decrypted key of entry `alias` in `file` is no key OpenSSL reads.
    #[error("{}: the key of entry '{alias}' cannot be read: {source}", file.shown())]
    UnreadableEntryKey {
        file: PathBuf,
        alias: String,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The key bag of entry `alias` in the PKCS#12 file `file` cannot be decrypted or decoded.
    #[error("{}: the key of entry '{alias}' cannot be read ({source})", file.shown())]
    UndecryptableEntryKey {
        file: PathBuf,
        alias: String,
        #[source]
        source: crate::keystore::pfx::PfxError,
    },
    /// A certificate stored in the keystore `file` is not valid X.509.
    #[error("{} holds a certificate that is not valid X.509", file.shown())]
    InvalidStoredCertificate {
        file: PathBuf,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// Building the rewritten keystore for `file` failed; nothing was changed.
    #[error("cannot build the new keystore for {}: {source}; nothing was changed (check the new material, or report this)", file.shown())]
    KeystoreRewrite {
        file: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The PKCS#12 file `file` uses something this tool cannot write back as it was.
    #[error("{}: cannot write it back faithfully ({source}); convert it with keytool -importkeystore -deststoretype PKCS12 first", file.shown())]
    UnfaithfulRewrite {
        file: PathBuf,
        #[source]
        source: crate::keystore::pfx::PfxError,
    },
    /// The ICG configuration `file` is not UTF-8 text.
    #[error("{} is not UTF-8 text: check the file", file.shown())]
    ConfigNotText {
        file: PathBuf,
        #[source]
        source: std::str::Utf8Error,
    },
    /// The ICG configuration `file` has a problem (`source`).
    #[error("{}: {source}", file.shown())]
    InConfig {
        file: PathBuf,
        #[source]
        source: Box<Error>,
    },
    /// The configuration is not valid YAML.
    #[error("not valid YAML ({source}); fix the file")]
    InvalidYaml {
        #[source]
        source: yaml_rust2::ScanError,
    },
    /// The configuration uses YAML aliases.
    #[error("uses YAML aliases (*name), which application-prod.yml has no need of: write the values out")]
    YamlAliases,
    /// The configuration nests deeper than `max` levels.
    #[error("nests deeper than {max} levels, which no ICG configuration does: check the file")]
    YamlTooDeep { max: usize },
    /// `server.port` is `value` (escaped and shortened), which is no port number.
    #[error("server.port '{value}' is not a port number; fix it")]
    BadPort { value: String },
    /// `server.ssl.key-store` is a `classpath:` location (`location`, shortened for the message).
    #[error("server.ssl.key-store '{location}' is inside the application, not a file: a classpath keystore is not supported; point key-store at a file")]
    ClasspathKeystore { location: String },
    /// The setting `key` is a list or map, not a single value.
    #[error("{key} is not a single value; fix it")]
    NotSingleValue { key: String },
    /// The password file `file` is not UTF-8 text.
    #[error("{} is not UTF-8 text: write the password as plain text", file.shown())]
    PasswordFileNotText {
        file: PathBuf,
        #[source]
        source: std::str::Utf8Error,
    },
    /// No restart was chosen, systemd does not know `unit` and the SysV `script` does not exist.
    #[error("cannot tell how to restart the ICG: systemd does not know {unit} and {} does not exist", script.shown())]
    NoRestartMethod { unit: String, script: PathBuf },
    /// The pipe for the restart's output cannot be made.
    #[error("cannot make a pipe for the restart's output: {source}")]
    RestartPipe {
        #[source]
        source: std::io::Error,
    },
    /// The restart `command` (as shown to the operator) cannot be started.
    #[error("cannot run the restart ({command}): {source}")]
    RestartNotStarted {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The restart `command` ended with `status`; `last_line` is the last line it printed.
    #[error("the restart ({command}) failed with {status}: {last_line}")]
    RestartFailed {
        command: String,
        status: std::process::ExitStatus,
        last_line: String,
    },
    /// The restart `command` ran longer than `seconds` and was killed.
    #[error("the restart ({command}) did not finish within {seconds} s and was killed")]
    RestartTimedOut { command: String, seconds: u64 },
    /// Waiting for the restart `command` failed.
    #[error("the restart ({command}) {source}")]
    RestartWait {
        command: String,
        #[source]
        source: std::io::Error,
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
            // --- command edge ---
            Error::BadArguments { .. } => ErrorKind::Usage,
            Error::Internal => ErrorKind::Io,
            Error::SeveralInstallations { .. } => ErrorKind::Usage,
            Error::RootBelowUsg { inner, .. } | Error::InstalledKeyPassword { inner, .. } => {
                inner.kind()
            }
            Error::NoMaterialGiven => ErrorKind::Usage,
            Error::InstalledKeystoreGiven { .. } | Error::MaterialWithoutKey => {
                ErrorKind::Incompatible
            }
            Error::StoppedAtWarnings | Error::NotConfirmed => ErrorKind::Aborted,
            Error::NoBackup { .. } => ErrorKind::NotFound,
            Error::PendingKeyWaits { .. } | Error::RequestFileExists { .. } => ErrorKind::Usage,
            Error::EncodeRequest { .. } => ErrorKind::Io,
            Error::InboxBusy { .. } | Error::MaterialStays { .. } => ErrorKind::Locked,
            Error::DroppedPasswordMode { .. } => ErrorKind::Usage,
            Error::NoDropFolder { .. } => ErrorKind::NotFound,
            Error::DropFolderNotADirectory { .. } => ErrorKind::Usage,
            Error::DropFolderUnsafe { .. } | Error::ResultsDirNotADirectory { .. } => {
                ErrorKind::Unsupported
            }
            Error::UnknownGroup { .. } => ErrorKind::Usage,
            // --- core: file system, keystore file, backups, pending key, material directory, hook, transaction ---
            Error::InputIsLink { .. }
            | Error::NotRegularFile { .. }
            | Error::BecameLink { .. }
            | Error::NoLongerFound { .. }
            | Error::NotRemoved { .. }
            | Error::KeystoreNamesNoFile { .. }
            | Error::KeystoreNotRegular { .. }
            | Error::KeystoreSwapped { .. }
            | Error::TempFileSwapped { .. }
            | Error::NoFreeBackupName { .. }
            | Error::OpenSslFailed { .. }
            | Error::PendingKeyNotBuilt { .. }
            | Error::KeystoreChangedMeanwhile { .. }
            | Error::ReadBackDiffers { .. }
            | Error::ReadBackUnreadable { .. }
            | Error::RestoreReadBackDiffers { .. }
            | Error::ServedButRefused { .. }
            | Error::NotServedInTime { .. }
            | Error::AuditLogNotOpened { .. }
            | Error::AuditLogNotWritten { .. } => ErrorKind::Io,
            Error::TooBig { .. }
            | Error::GrewPastLimit { .. }
            | Error::PendingKeyWithoutCertificate { .. }
            | Error::MaterialDirectoryTooMuchPem { .. }
            | Error::MaterialDirectoryEmpty { .. }
            | Error::EntryWithoutCertificate { .. } => ErrorKind::Corrupt,
            Error::UnsafeDirectory { .. }
            | Error::ForeignKeystoreLink { .. }
            | Error::MaterialDirectoryTooLarge { .. }
            | Error::MaterialLinkRefused { .. } => ErrorKind::Unsupported,
            Error::KeystoreGone { .. } => ErrorKind::NotFound,
            Error::NamesNoFile { .. } | Error::HookVariables { .. } => ErrorKind::Usage,
            Error::InterruptedBeforeReplace => ErrorKind::Aborted,
            Error::RenewalRolledBack { .. } => ErrorKind::RolledBack,
            Error::RenewalLeftInPlace { .. }
            | Error::RollbackFailedToo { .. }
            | Error::RestoreUnconfirmed { .. } => ErrorKind::RollbackFailed,
            Error::ListBackups { source } => source.kind(),
            Error::RestoreNotDone { failure } => failure.kind(),
            // --- library: material, keystore, installation, service, sandbox (errlib) ---
            Error::TooManyCertificates { .. }
            | Error::UnusualRsaKey { .. }
            | Error::UnfaithfulRewrite { .. }
            | Error::YamlAliases
            | Error::BadPort { .. }
            | Error::ClasspathKeystore { .. }
            | Error::NotSingleValue { .. } => ErrorKind::Unsupported,
            Error::NoCertificate { .. }
            | Error::ZipUnreadable { .. }
            | Error::ZipEntryDamaged { .. }
            | Error::ZipEntryUnpack { .. }
            | Error::ZipEntryTooLarge { .. }
            | Error::ZipWithoutKeystore { .. }
            | Error::DamagedCertificate { .. }
            | Error::UnreadableKeyFile { .. }
            | Error::DamagedPrivateKey { .. }
            | Error::NoChainCertificates { .. }
            | Error::UnreadableEntryKey { .. }
            | Error::UndecryptableEntryKey { .. }
            | Error::InvalidStoredCertificate { .. }
            | Error::ConfigNotText { .. }
            | Error::InvalidYaml { .. }
            | Error::YamlTooDeep { .. }
            | Error::PasswordFileNotText { .. } => ErrorKind::Corrupt,
            Error::NoKeyEntries { .. }
            | Error::NoKeyEntry { .. }
            | Error::NoRestartMethod { .. } => ErrorKind::NotFound,
            Error::KeystoreRewrite { .. }
            | Error::RestartPipe { .. }
            | Error::RestartNotStarted { .. }
            | Error::RestartFailed { .. }
            | Error::RestartTimedOut { .. }
            | Error::RestartWait { .. }
            | Error::SandboxOpenSsl { .. }
            | Error::SandboxBuild { .. } => ErrorKind::Io,
            Error::SandboxNotEmpty { .. } => ErrorKind::Usage,
            Error::InConfig { source, .. } => source.kind(),
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

// --- command edge ---
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

/// Where the key password is set: the configuration, or its usual name when none was read.
fn key_password_place(config: Option<&Path>) -> String {
    config.map_or("application-prod.yml".into(), |p| p.shown().to_string())
}

// --- library: material, keystore, installation, service, sandbox (errlib) ---

/// The message of [`Error::TooManyCertificates`]; `after_file` is what the command layer puts after the
/// file's name (the option that added the chain file's certificates).
pub fn too_many_certificates_text(
    file: &Path,
    after_file: &str,
    count: usize,
    max: usize,
) -> String {
    format!(
        "{}{after_file} holds {count} certificates; new material needs only the server certificate and its CAs (at most {max}): give just those",
        file.shown()
    )
}

/// EFBIG, the errno of a write past RLIMIT_FSIZE (27 on Linux).
fn libc_efbig() -> i32 {
    rustix::io::Errno::FBIG.raw_os_error()
}

// --- core: file system, keystore file, backups, pending key, material directory, hook, transaction ---

/// What a path that had to be a regular file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundFile {
    Directory,
    FifoOrSocket,
    DeviceOrSpecial,
    /// Not a regular file, without saying what it is.
    Other,
}

impl FoundFile {
    fn text(self) -> &'static str {
        match self {
            FoundFile::Directory => "a directory, not a regular file",
            FoundFile::FifoOrSocket => "a FIFO or socket, not a regular file",
            FoundFile::DeviceOrSpecial => "a device or special file, not a regular file",
            FoundFile::Other => "not a regular file",
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

/// Which part of the way to a linked keystore another account controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPart {
    /// The symbolic link itself.
    Link,
    /// The directory holding the link.
    HoldingDirectory,
}

/// The text of [`Error::ForeignKeystoreLink`]; `with` goes before the keystore's own path in the fix
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

/// Why a symbolic link in a material directory is not followed.
#[derive(Debug)]
pub enum LinkRefusal {
    /// It leads to `target`, outside the directory links may lead into.
    Outside { target: PathBuf },
    /// A directory or file on the way, `path`, cannot be inspected.
    Uninspectable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A directory or file on the way, `path`, belongs to `uid`, neither root nor the account running.
    ForeignOwner { path: PathBuf, uid: u32 },
    /// A directory or file on the way, `path`, is writable by group or others.
    WritableByOthers { path: PathBuf },
}

impl LinkRefusal {
    fn text(&self) -> String {
        match self {
            LinkRefusal::Outside { target } => format!("to {}, outside", target.shown()),
            LinkRefusal::Uninspectable { source, .. } => {
                format!("that cannot be inspected ({source})")
            }
            LinkRefusal::ForeignOwner { path, uid } => {
                format!("through {}, which belongs to uid {uid}", path.shown())
            }
            LinkRefusal::WritableByOthers { path } => {
                format!("through {}, which others can write to", path.shown())
            }
        }
    }
}

/// Which of the variables naming the material an ACME client's deploy hook found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookFound {
    /// CERT_KEY_PATH without CERT_FULLCHAIN_PATH.
    KeyOnly,
    /// CERT_FULLCHAIN_PATH without CERT_KEY_PATH.
    FullchainOnly,
    /// None of them.
    Nothing,
}

/// The text of [`Error::HookVariables`], `by` naming what looked ("the deploy hook" in the library, the
/// option at the command line).
pub fn hook_text(found: HookFound, by: &str) -> String {
    match found {
        HookFound::KeyOnly => format!("{by}: CERT_KEY_PATH is set but CERT_FULLCHAIN_PATH is not; acme.sh sets both for --reloadcmd"),
        HookFound::FullchainOnly => format!("{by}: CERT_FULLCHAIN_PATH is set but CERT_KEY_PATH is not; acme.sh sets both for --reloadcmd"),
        HookFound::Nothing => format!("{by} found none of RENEWED_LINEAGE (certbot --deploy-hook) or CERT_KEY_PATH and CERT_FULLCHAIN_PATH (acme.sh --reloadcmd) in its environment: run it as the ACME client's hook, or give the material as NEW"),
    }
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

    /// The transaction's outcome errors keep today's kinds (exit codes 4, 5, 1 and the JSON kind) and the
    /// first failure as their source.
    #[test]
    fn outcome_errors_keep_their_kind_and_the_first_failure_as_source() {
        let failure = || Error::ServedButRefused {
            what: "the new certificate".into(),
            why: "unable to get local issuer certificate".into(),
        };
        let rolled_back = Error::RenewalRolledBack {
            failure: Box::new(failure()),
        };
        assert_eq!(rolled_back.kind(), ErrorKind::RolledBack);
        assert_eq!(rolled_back.kind().exit_code(), 4);
        assert_eq!(
            rolled_back.to_string(),
            "the gateway serves the new certificate, but a verifying client refuses it: unable to get local issuer certificate; the old keystore was restored and is served again"
        );
        // A boxed source is the box (thiserror hands out the field); its content is the first failure.
        let first = rolled_back.source().expect("the first failure");
        assert!(matches!(
            first.downcast_ref::<Box<Error>>().map(|b| &**b),
            Some(Error::ServedButRefused { .. })
        ));
        let too = Error::RollbackFailedToo {
            failure: Box::new(failure()),
            rollback: Box::new(Error::KeystoreChangedMeanwhile {
                keystore: PathBuf::from("/k.jks"),
            }),
        };
        assert_eq!(too.kind().exit_code(), 5);
        assert!(matches!(
            too.source()
                .and_then(|s| s.downcast_ref::<Box<Error>>())
                .map(|b| &**b),
            Some(Error::ServedButRefused { .. })
        ));
        let left = Error::RenewalLeftInPlace {
            failure: Box::new(failure()),
        };
        assert_eq!(left.kind(), ErrorKind::RollbackFailed);
        assert_eq!(Error::InterruptedBeforeReplace.kind(), ErrorKind::Aborted);
        let locked = Error::Locked {
            keystore: PathBuf::from("/k.jks"),
            holder: None,
            lock: PathBuf::from("/.k.jks.lock"),
        };
        assert_eq!(
            Error::RestoreNotDone {
                failure: Box::new(locked)
            }
            .kind(),
            ErrorKind::Locked
        );
        let listed = Error::ListBackups {
            source: Box::new(Error::io(
                "list",
                Path::new("/b"),
                &std::io::Error::from_raw_os_error(2),
            )),
        };
        assert_eq!(listed.kind(), ErrorKind::NotFound);
        assert!(listed.source().is_some());
    }

    /// The file-system refusals name the file, the account and the fix, as they did as formatted strings.
    #[test]
    fn refusals_of_a_layout_name_the_facts() {
        let dir = PathBuf::from("/srv/backups");
        let text = |risk| {
            Error::UnsafeDirectory {
                role: "the backup directory".into(),
                dir: dir.clone(),
                risk,
            }
            .to_string()
        };
        assert_eq!(text(DirectoryRisk::WorldWritable), "the backup directory /srv/backups is writable by every user, which lets them race icg-renew with links: chmod o-w it, or choose another directory");
        assert_eq!(text(DirectoryRisk::OwnedBy(1001)), "the backup directory /srv/backups belongs to uid 1001, not root, who could swap files in it while icg-renew works: chown root it, or choose another directory");
        assert_eq!(text(DirectoryRisk::GroupWritable(50)), "the backup directory /srv/backups is writable by group 50, whose members could swap files in it while icg-renew works: chmod g-w it, or choose another directory");
        let big = Error::TooBig {
            doing: "read the keystore".into(),
            path: PathBuf::from("/k.jks"),
            len: 20 * 1024 * 1024,
            limit: 16 * 1024 * 1024,
        };
        assert_eq!(big.kind(), ErrorKind::Corrupt);
        assert_eq!(
            big.to_string(),
            "cannot read the keystore /k.jks: it is 20971520 bytes, more than the 16 MiB limit; check the path"
        );
        let fifo = Error::NotRegularFile {
            doing: "read".into(),
            path: PathBuf::from("/tmp/f"),
            found: FoundFile::FifoOrSocket,
        };
        assert_eq!(
            fifo.to_string(),
            "cannot read /tmp/f: it is a FIFO or socket, not a regular file; give the path of a file"
        );
        assert_eq!(
            Error::KeystoreGone {
                path: PathBuf::from("/k.jks")
            }
            .kind(),
            ErrorKind::NotFound
        );
    }

    // --- library: material, keystore, installation, service, sandbox (errlib) ---

    /// The typed errors of the material, keystore, installation, service and sandbox modules read exactly
    /// as the messages those modules formatted themselves before, keep their exit-code kind, and name no
    /// command-line option.
    #[test]
    fn library_errors_read_as_before_and_name_no_option() {
        let f = || PathBuf::from("/m/new.pem");
        let ssl = openssl::error::ErrorStack::get;
        let os = || std::io::Error::from_raw_os_error(2);
        let cases: Vec<(Error, &str, ErrorKind)> = vec![
            (
                Error::TooManyCertificates { file: f(), count: 65, max: 64, chain_given: false },
                "/m/new.pem holds 65 certificates; new material needs only the server certificate and its CAs (at most 64): give just those",
                ErrorKind::Unsupported,
            ),
            (
                Error::UnusualRsaKey { file: f() },
                "/m/new.pem holds a certificate with an RSA key no CA issues (a public exponent over 64 bits or a modulus over 16,384 bits): check the file",
                ErrorKind::Unsupported,
            ),
            (
                Error::NoCertificate { file: f() },
                "/m/new.pem holds no certificate: it needs at least the new server certificate",
                ErrorKind::Corrupt,
            ),
            (
                Error::ZipEntryUnpack { file: f(), entry: "ks.p12".into(), source: os() },
                "/m/new.pem: cannot unpack ks.p12 (No such file or directory (os error 2))",
                ErrorKind::Corrupt,
            ),
            (
                Error::ZipEntryTooLarge { file: f(), entry: "ks.p12".into() },
                "/m/new.pem: ks.p12 unpacks to more than the size limit",
                ErrorKind::Corrupt,
            ),
            (
                Error::ZipWithoutKeystore { file: f() },
                "/m/new.pem is a ZIP archive without a keystore inside: export the certificate and key from the UMS as PKCS#12 or PEM instead",
                ErrorKind::Corrupt,
            ),
            (
                Error::DamagedCertificate { file: f(), source: ssl() },
                "/m/new.pem holds a damaged certificate: export it again",
                ErrorKind::Corrupt,
            ),
            (
                Error::UnreadableKeyFile { file: f(), source: ssl() },
                "/m/new.pem is not a private key this tool can read (PEM or DER, PKCS#8 or traditional): check the file",
                ErrorKind::Corrupt,
            ),
            (
                Error::DamagedPrivateKey { file: f(), source: ssl() },
                "/m/new.pem holds a damaged private key: export it again",
                ErrorKind::Corrupt,
            ),
            (
                Error::NoChainCertificates { file: f(), what: "0 bytes, looks like an empty file".into() },
                "/m/new.pem holds no certificates (0 bytes, looks like an empty file): give a PEM file with the CA certificates",
                ErrorKind::Corrupt,
            ),
            (
                Error::NoKeyEntries { file: PathBuf::from("/k.jks") },
                "/k.jks holds no private-key entry: it is not a server keystore",
                ErrorKind::NotFound,
            ),
            (
                Error::NoKeyEntry { file: PathBuf::from("/k.jks"), alias: "icg".into() },
                "/k.jks has no key entry 'icg'",
                ErrorKind::NotFound,
            ),
            (
                Error::UndecryptableEntryKey {
                    file: PathBuf::from("/k.p12"),
                    alias: "icg".into(),
                    source: crate::keystore::pfx::PfxError::Corrupt("key bag truncated"),
                },
                "/k.p12: the key of entry 'icg' cannot be read (key bag truncated)",
                ErrorKind::Corrupt,
            ),
            (
                Error::InvalidStoredCertificate { file: PathBuf::from("/k.jks"), source: ssl() },
                "/k.jks holds a certificate that is not valid X.509",
                ErrorKind::Corrupt,
            ),
            (
                Error::KeystoreRewrite { file: PathBuf::from("/k.jks"), source: "alias too long".into() },
                "cannot build the new keystore for /k.jks: alias too long; nothing was changed (check the new material, or report this)",
                ErrorKind::Io,
            ),
            (
                Error::UnfaithfulRewrite {
                    file: PathBuf::from("/k.p12"),
                    source: crate::keystore::pfx::PfxError::Unsupported("encryption algorithm 1.2.3".into()),
                },
                "/k.p12: cannot write it back faithfully (encryption algorithm 1.2.3); convert it with keytool -importkeystore -deststoretype PKCS12 first",
                ErrorKind::Unsupported,
            ),
            (
                Error::InConfig { file: PathBuf::from("/c.yml"), source: Box::new(Error::YamlAliases) },
                "/c.yml: uses YAML aliases (*name), which application-prod.yml has no need of: write the values out",
                ErrorKind::Unsupported,
            ),
            (
                Error::YamlTooDeep { max: 32 },
                "nests deeper than 32 levels, which no ICG configuration does: check the file",
                ErrorKind::Corrupt,
            ),
            (
                Error::BadPort { value: "https".into() },
                "server.port 'https' is not a port number; fix it",
                ErrorKind::Unsupported,
            ),
            (
                Error::ClasspathKeystore { location: "classpath:ks.jks".into() },
                "server.ssl.key-store 'classpath:ks.jks' is inside the application, not a file: a classpath keystore is not supported; point key-store at a file",
                ErrorKind::Unsupported,
            ),
            (
                Error::NotSingleValue { key: "server.port".into() },
                "server.port is not a single value; fix it",
                ErrorKind::Unsupported,
            ),
            (
                Error::NoRestartMethod { unit: "icg-server.service".into(), script: PathBuf::from("/etc/init.d/icg-server") },
                "cannot tell how to restart the ICG: systemd does not know icg-server.service and /etc/init.d/icg-server does not exist",
                ErrorKind::NotFound,
            ),
            (
                Error::RestartNotStarted { command: "systemctl restart icg".into(), source: os() },
                "cannot run the restart (systemctl restart icg): No such file or directory (os error 2)",
                ErrorKind::Io,
            ),
            (
                Error::RestartTimedOut { command: "/bin/sh -c 'sleep 9'".into(), seconds: 3 },
                "the restart (/bin/sh -c 'sleep 9') did not finish within 3 s and was killed",
                ErrorKind::Io,
            ),
            (
                Error::SandboxNotEmpty { dir: PathBuf::from("/tmp/sb") },
                "/tmp/sb exists and is not empty: give a new or empty directory for the sandbox",
                ErrorKind::Usage,
            ),
            (
                Error::SandboxBuild { part: "keystore", why: "bad key".into() },
                "cannot build the sandbox keystore: bad key",
                ErrorKind::Io,
            ),
        ];
        for (error, text, kind) in cases {
            assert_eq!(error.to_string(), text);
            assert_eq!(error.kind(), kind, "{text}");
            assert!(!text.contains("--"), "{text}");
        }
    }

    /// A wrapped error keeps the real lower-level error as its source.
    #[test]
    fn library_errors_keep_their_real_source() {
        let yaml = yaml_rust2::YamlLoader::load_from_str("a: [").unwrap_err();
        let error = Error::InConfig {
            file: PathBuf::from("/c.yml"),
            source: Box::new(Error::InvalidYaml { source: yaml }),
        };
        assert_eq!(error.kind(), ErrorKind::Corrupt);
        let inner = error.source().expect("the wrapped error");
        let scan = inner.source().expect("the scanner's error");
        assert!(scan.downcast_ref::<yaml_rust2::ScanError>().is_some());
        let rewrite = Error::KeystoreRewrite {
            file: PathBuf::from("/k.p12"),
            source: Box::new(crate::keystore::pfx::PfxError::Corrupt("x")),
        };
        assert!(rewrite
            .source()
            .and_then(|s| s.downcast_ref::<crate::keystore::pfx::PfxError>())
            .is_some());
        let der = <der::asn1::AnyRef<'_> as der::Decode<'_>>::from_der(&[0x30]).unwrap_err();
        let damaged = Error::DamagedPkcs12 {
            file: PathBuf::from("/k.p12"),
            source: der.into(),
        };
        assert_eq!(
            damaged.to_string(),
            format!("/k.p12 is a PKCS#12 file that cannot be read ({der}): restore it from a backup or export it again")
        );
        let codec = damaged.source().expect("the codec's error");
        assert!(codec
            .source()
            .and_then(|s| s.downcast_ref::<der::Error>())
            .is_some());
    }
}
