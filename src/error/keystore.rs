//! Keystores: a JKS or PKCS#12 file that is damaged, costly, of a form Java does not read, or without the entry or
//! key wanted; a rewrite that cannot be made faithfully.

use super::*;

/// Keystores: what failed, with its facts; `Display` is the operator's one line.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The JKS keystore `file` is damaged (`why`).
    #[error("{} is a damaged JKS keystore ({why}): restore it from a backup", file.shown())]
    DamagedJks { file: PathBuf, why: String },
    /// The JKS keystore `file` holds two entries whose aliases Java takes for one (`alias`, shown short): its
    /// map keeps only the later, so the file is not what any Java tool wrote.
    #[error("{} holds two entries named '{alias}', of which Java sees only the later one: restore it from a backup", file.shown())]
    RepeatedJksAlias { file: PathBuf, alias: String },
    /// The PKCS#12 file `file` cannot be read (`source`: the decoder's or OpenSSL's error, or what is wrong).
    #[error("{} is a PKCS#12 file that cannot be read ({source}): restore it from a backup or export it again", file.shown())]
    DamagedPkcs12 {
        file: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The PKCS#12 file `file` asks for more work than is accepted before its password is tried (`why`).
    #[error("{}: refusing a PKCS#12 file whose {why}", file.shown())]
    CostlyPkcs12 { file: PathBuf, why: String },
    /// The PKCS#12 file `file` uses an algorithm or form (`why`) that Java's keystore does not read.
    #[error("{} is a PKCS#12 file that uses {why}, which Java's keystore does not read: export it again with keytool -importkeystore -deststoretype PKCS12", file.shown())]
    UnsupportedPkcs12 { file: PathBuf, why: String },
    /// Java cannot open the PKCS#12 file `file` with the configured password `which` ("store password", "key
    /// password"): it holds characters outside printable ASCII, which Java's PBE refuses.
    #[error("{} cannot be opened by Java with the configured {which}: it holds characters outside printable ASCII, which Java's PKCS#12 refuses (\"Password is not ASCII\"), so the ICG cannot load it either: export the keystore again with a password of printable ASCII characters and configure that password", file.shown())]
    PasswordJavaRefuses { file: PathBuf, which: &'static str },
    /// Java's `PKCS12KeyStore` refuses to load the PKCS#12 file `file` (`why`, in Java's terms).
    #[error("{} is a PKCS#12 file that Java cannot load ({why}), so the ICG cannot use it either: export it again with openssl pkcs12 -export or keytool", file.shown())]
    JavaCannotLoad { file: PathBuf, why: String },
    /// `file` is a Java keystore of type `kind` (JCEKS, BKS) that the ICG does not load; `convert` is the
    /// keytool command (quoted) that converts it to PKCS#12 beside it.
    #[error("{} is a {kind} keystore, which the ICG does not load (it reads JKS and PKCS#12): convert it with {convert} and use the new file", file.shown())]
    OtherJavaKeystore {
        file: PathBuf,
        kind: &'static str,
        convert: String,
    },
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
    /// The key entry `alias` (shown short) of the keystore `file`, chosen as the server entry, has no
    /// certificate: Java lists it with a chain of length 0, and no TLS server can serve it.
    #[error("{}: key entry '{alias}' has no certificate (Java lists it with a chain of length 0), so it cannot be the gateway's server entry: add its certificate chain with keytool -importcert, or restore the keystore from a backup", file.shown())]
    EntryWithoutCertificate { file: PathBuf, alias: String },
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
        source: Box<dyn std::error::Error + Send + Sync>,
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
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl KeystoreError {
    /// The category that decides the exit code and the JSON `kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::DamagedJks { .. }
            | Self::RepeatedJksAlias { .. }
            | Self::DamagedPkcs12 { .. }
            | Self::CostlyPkcs12 { .. }
            | Self::NotAKeystore { .. }
            | Self::EntryWithoutCertificate { .. }
            | Self::UnreadableEntryKey { .. }
            | Self::UndecryptableEntryKey { .. }
            | Self::InvalidStoredCertificate { .. } => ErrorKind::Corrupt,
            Self::UnsupportedPkcs12 { .. }
            | Self::OtherJavaKeystore { .. }
            | Self::PasswordJavaRefuses { .. }
            | Self::JavaCannotLoad { .. }
            | Self::TooManyKeys { .. }
            | Self::UnfaithfulRewrite { .. } => ErrorKind::Unsupported,
            Self::WrongKeyPassword { .. } => ErrorKind::WrongPassword,
            Self::NoSuchEntry { .. } | Self::NoKeyEntries { .. } | Self::NoKeyEntry { .. } => {
                ErrorKind::NotFound
            }
            Self::SeveralEntries { .. } => ErrorKind::Usage,
            Self::KeystoreRewrite { .. } => ErrorKind::Io,
        }
    }
}

/// `" {verb} {setting}"` when the alias comes from a setting; nothing for the command line (the hint adds it).
fn fix_with(verb: &str, from: &AliasFrom) -> String {
    match from {
        AliasFrom::CommandLine => String::new(),
        AliasFrom::Setting(setting) => format!("{verb} {setting}"),
    }
}
