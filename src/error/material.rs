//! New material: files that are no material, hold too much or too little, damaged certificates and keys, ZIP
//! exports, ACME client directories and hooks, the pending key of `csr`.

use super::*;

/// New material: what failed, with its facts; `Display` is the operator's one line.
#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
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
    /// A link `link` in a material directory leads to `target`, outside `trust_root`, the only directory
    /// such links are followed into.
    #[error("{} is a symbolic link to {}, outside: icg-renew follows links in a material directory only within the ACME client's own directory {}; give the path of the file it points to", link.shown(), target.shown(), trust_root.shown())]
    MaterialLinkOutside {
        link: PathBuf,
        target: PathBuf,
        trust_root: PathBuf,
    },
    /// An ACME client's deploy hook set not the variables that name the material (`found`: which it set).
    #[error("{}", hook_text(*found, "the deploy hook"))]
    HookVariables { found: HookFound },
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
}

impl MaterialError {
    /// The category that decides the exit code and the JSON `kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotMaterial { .. }
            | Self::PendingKeyWithoutCertificate { .. }
            | Self::MaterialDirectoryTooMuchPem { .. }
            | Self::MaterialDirectoryEmpty { .. }
            | Self::NoCertificate { .. }
            | Self::ZipUnreadable { .. }
            | Self::ZipEntryDamaged { .. }
            | Self::ZipEntryUnpack { .. }
            | Self::ZipEntryTooLarge { .. }
            | Self::ZipWithoutKeystore { .. }
            | Self::DamagedCertificate { .. }
            | Self::UnreadableKeyFile { .. }
            | Self::DamagedPrivateKey { .. }
            | Self::NoChainCertificates { .. } => ErrorKind::Corrupt,
            Self::KeyGivenTwice { .. } | Self::SeveralKeys { .. } | Self::HookVariables { .. } => {
                ErrorKind::Usage
            }
            Self::PendingKeyNotBuilt { .. } => ErrorKind::Io,
            Self::MaterialDirectoryTooLarge { .. }
            | Self::MaterialLinkOutside { .. }
            | Self::TooManyCertificates { .. }
            | Self::UnusualRsaKey { .. } => ErrorKind::Unsupported,
        }
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

/// The message of [`MaterialError::TooManyCertificates`]; `after_file` is what the command layer puts after the
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

/// The text of [`MaterialError::HookVariables`], `by` naming what looked ("the deploy hook" in the library, the
/// option at the command line).
pub fn hook_text(found: HookFound, by: &str) -> String {
    match found {
        HookFound::KeyOnly => format!("{by}: CERT_KEY_PATH is set but CERT_FULLCHAIN_PATH is not; acme.sh sets both for --reloadcmd"),
        HookFound::FullchainOnly => format!("{by}: CERT_FULLCHAIN_PATH is set but CERT_KEY_PATH is not; acme.sh sets both for --reloadcmd"),
        HookFound::Nothing => format!("{by} found none of RENEWED_LINEAGE (certbot --deploy-hook) or CERT_KEY_PATH and CERT_FULLCHAIN_PATH (acme.sh --reloadcmd) in its environment: run it as the ACME client's hook, or give the material as NEW"),
    }
}
