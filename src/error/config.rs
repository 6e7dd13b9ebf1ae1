//! The installation and its configuration: no ICG found or several, `application-prod.yml` that is not text, not
//! YAML, or sets what this tool cannot follow.

use super::*;

/// The installation and its configuration: what failed, with its facts; `Display` is the operator's one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
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
}

impl ConfigError {
    /// The category that decides the exit code and the JSON `kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoInstallation { .. } | Self::NoKeystoreSetting { .. } => ErrorKind::NotFound,
            Self::KeystorePlaceholder { .. }
            | Self::YamlAliases
            | Self::BadPort { .. }
            | Self::ClasspathKeystore { .. }
            | Self::NotSingleValue { .. } => ErrorKind::Unsupported,
            Self::SeveralInstallations { .. } => ErrorKind::Usage,
            Self::ConfigNotText { .. }
            | Self::InvalidYaml { .. }
            | Self::YamlTooDeep { .. }
            | Self::PasswordFileNotText { .. } => ErrorKind::Corrupt,
            Self::RootBelowUsg { inner, .. } => inner.kind(),
            Self::InConfig { source, .. } => source.kind(),
        }
    }
}
