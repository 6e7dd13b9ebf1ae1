//! Finding an ICG installation and reading what the tool needs from its `application-prod.yml`: keystore
//! path and type, passwords, key alias and port, bound as the ICG's Spring Boot binds them (relaxed names,
//! nested and dotted keys mixed, several documents with the later winning). Reads only; never writes.

use crate::error::ConfigError;
use crate::error::{AliasFrom, Error, PasswordFor, Result};
use crate::fsx;
use crate::secret::Password;
use crate::shown::Shown;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

pub const DEFAULT_ROOT: &str = "/opt/IGEL/icg";
pub const CONFIG_RELATIVE: &str = "usg/conf/application-prod.yml";
pub const DEFAULT_PORT: u16 = 8443;
/// Where an installer may have put an ICG that is not at the default root.
pub const SEARCH_ROOTS: &[&str] = &["/opt", "/usr/local", "/srv"];
/// How deep below a search root to look for `usg/conf/application-prod.yml`.
pub const SEARCH_DEPTH: usize = 6;
const MAX_CONFIG_SIZE: u64 = 1024 * 1024;
const MAX_PASSWORD_FILE_SIZE: u64 = 64 * 1024;

/// What the operator said about where things are (command-line options and environment).
#[derive(Debug, Clone, Default)]
pub struct Locate {
    pub icg_root: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub keystore: Option<PathBuf>,
    pub store_password_file: Option<PathBuf>,
    /// The value of `ICG_RENEW_STORE_PASSWORD`, if set.
    pub store_password_env: Option<Password>,
}

/// The settings of `server.*` in application-prod.yml that matter here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IcgConfig {
    pub port: Option<u16>,
    pub key_store: Option<PathBuf>,
    pub key_store_type: Option<String>,
    pub key_store_password: Option<Password>,
    pub key_password: Option<Password>,
    pub key_alias: Option<String>,
}

/// Where the password in use came from, for the plan and messages (never the password itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    File(PathBuf),
    Env,
    Config(PathBuf),
    Prompt,
}

impl PasswordSource {
    pub fn describe(&self) -> String {
        match self {
            PasswordSource::File(p) => format!("from {}", p.shown()),
            PasswordSource::Env => "from ICG_RENEW_STORE_PASSWORD".into(),
            PasswordSource::Config(p) => {
                format!("from server.ssl.key-store-password in {}", p.shown())
            }
            PasswordSource::Prompt => "typed at the prompt".into(),
        }
    }
}

/// A resolved installation: everything needed to open and rewrite the server keystore.
#[derive(Debug, Clone)]
pub struct Install {
    pub root: Option<PathBuf>,
    pub config_path: Option<PathBuf>,
    pub keystore: PathBuf,
    pub store_type: Option<String>,
    /// `None` when no source provided it (the interactive flow may then ask).
    pub store_password: Option<(Password, PasswordSource)>,
    /// `server.ssl.key-password` when set; otherwise the store password is the key password.
    pub key_password: Option<Password>,
    pub alias: Option<String>,
    pub port: u16,
    /// Things the operator should know that are not errors (for example a password file others can read).
    pub warnings: Vec<String>,
    /// The keystore was named with `--keystore` (so later commands must name it too).
    pub keystore_given: bool,
}

impl Install {
    pub fn store_password(&self) -> Result<&Password> {
        self.store_password
            .as_ref()
            .map(|(p, _)| p)
            .ok_or_else(|| Error::PasswordNeeded {
                file: self.keystore.clone(),
                which: PasswordFor::Keystore,
            })
    }

    pub fn key_password(&self) -> Result<&Password> {
        match &self.key_password {
            Some(p) => Ok(p),
            None => self.store_password(),
        }
    }

    /// Where the server alias is set, for the fix of an alias that finds no entry: the configuration key.
    pub fn alias_from(&self) -> AliasFrom {
        AliasFrom::Setting(match &self.config_path {
            Some(p) => format!("server.ssl.key-alias in {}", p.shown()),
            None => "server.ssl.key-alias in application-prod.yml".into(),
        })
    }
}

/// Resolves the installation. `discover` is asked to choose when no location was given, the default root
/// does not exist, and a search finds several.
pub fn resolve(
    locate: &Locate,
    choose: &mut dyn FnMut(&[PathBuf]) -> Result<PathBuf>,
) -> Result<Install> {
    let (root, config_path) = match (&locate.config, &locate.icg_root) {
        (Some(config), root) => (root.clone(), Some(config.clone())),
        (None, Some(root)) => (Some(root.clone()), Some(root.join(CONFIG_RELATIVE))),
        (None, None) => {
            let default = PathBuf::from(DEFAULT_ROOT);
            if default.join(CONFIG_RELATIVE).exists() || locate.keystore.is_some() {
                let config = default.join(CONFIG_RELATIVE);
                let config = config.exists().then_some(config);
                (Some(default), config)
            } else {
                let found = discover(SEARCH_ROOTS.iter().map(Path::new), SEARCH_DEPTH);
                let root = match found.len() {
                    0 => {
                        return Err(Error::Config(ConfigError::NoInstallation {
                            default_config: Path::new(DEFAULT_ROOT).join(CONFIG_RELATIVE),
                            searched: SEARCH_ROOTS.iter().map(PathBuf::from).collect(),
                            depth: SEARCH_DEPTH,
                        }))
                    }
                    1 => found[0].clone(),
                    _ => choose(&found)?,
                };
                let config = root.join(CONFIG_RELATIVE);
                (Some(root), Some(config))
            }
        }
    };
    let config = match &config_path {
        // With --keystore given, a configuration that is not there is simply not used.
        Some(path) if locate.keystore.is_some() && locate.config.is_none() && !path.exists() => {
            None
        }
        Some(path) => Some(read_config(path)?),
        None => None,
    };
    let config_path = config.as_ref().and(config_path);
    let config = config.unwrap_or_default();

    let keystore = match (&locate.keystore, &config.key_store) {
        (Some(path), _) => path.clone(),
        (None, Some(path)) => resolve_relative(path, config_path.as_deref()),
        (None, None) => {
            return Err(Error::Config(ConfigError::NoKeystoreSetting {
                config: config_path.clone(),
            }))
        }
    };

    let mut warnings = Vec::new();
    let store_password = if let Some(file) = &locate.store_password_file {
        let (password, warning) = read_password_file(file)?;
        warnings.extend(warning);
        Some((password, PasswordSource::File(file.clone())))
    } else if let Some(password) = &locate.store_password_env {
        Some((password.clone(), PasswordSource::Env))
    } else {
        config
            .key_store_password
            .clone()
            .zip(config_path.clone().map(PasswordSource::Config))
    };

    Ok(Install {
        root,
        config_path,
        keystore,
        store_type: config.key_store_type,
        store_password,
        key_password: config.key_password,
        alias: config.key_alias,
        port: config.port.unwrap_or(DEFAULT_PORT),
        warnings,
        keystore_given: locate.keystore.is_some(),
    })
}

/// Installation roots (directories holding `usg/conf/application-prod.yml`) below `roots`, without following
/// symbolic links, sorted.
pub fn discover<'a>(roots: impl Iterator<Item = &'a Path>, depth: usize) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = roots
        .filter(|r| r.is_dir())
        .flat_map(|r| {
            walkdir::WalkDir::new(r)
                .follow_links(false)
                .max_depth(depth)
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file() && e.path().ends_with(CONFIG_RELATIVE))
                .filter_map(|e| e.path().ancestors().nth(3).map(Path::to_path_buf))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn resolve_relative(path: &Path, config: Option<&Path>) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    // Relative to the usg directory, the service's working directory.
    match config.and_then(|c| c.parent()).and_then(Path::parent) {
        Some(usg) => usg.join(path),
        None => path.to_path_buf(),
    }
}

/// Reads and parses application-prod.yml.
pub fn read_config(path: &Path) -> Result<IcgConfig> {
    let bytes = fsx::read_bounded(path, MAX_CONFIG_SIZE, "read the ICG configuration")?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::Config(ConfigError::ConfigNotText {
            file: path.to_path_buf(),
            source: e.utf8_error(),
        })
    })?;
    parse_config(&text).map_err(|e| {
        Error::Config(ConfigError::InConfig {
            file: path.to_path_buf(),
            source: Box::new(e),
        })
    })
}

/// Parses the `server` settings of a Spring Boot YAML configuration as Spring Boot binds them: nested or
/// dotted keys in any mix, relaxed names (`key-store`, `keyStore`, `key_store`, `KEYSTORE` are one key), and
/// of several documents in the file the last that sets a key wins.
pub fn parse_config(text: &str) -> Result<IcgConfig> {
    check_yaml_shape(text)?;
    let docs = YamlLoader::load_from_str(text)
        .map_err(|source| Error::Config(ConfigError::InvalidYaml { source }))?;
    let get = |key: &str| -> Result<Option<String>> {
        let parts: Vec<String> = key.split('.').map(relaxed).collect();
        for doc in docs.iter().rev() {
            if let Some(value) = lookup(doc, &parts) {
                return scalar(value, key).map(Some);
            }
        }
        Ok(None)
    };
    let port = match get("server.port")? {
        Some(p) => Some(p.parse::<u16>().map_err(|_| {
            Error::Config(ConfigError::BadPort {
                value: crate::shown::short(&p, 64),
            })
        })?),
        None => None,
    };
    let key_store = match get("server.ssl.key-store")? {
        Some(location) => Some(keystore_location(&location)?),
        None => None,
    };
    let password = |key: &str| -> Result<Option<Password>> {
        match get(key)? {
            Some(value) if value.contains("${") => Err(Error::PasswordPlaceholder {
                setting: key.to_string(),
            }),
            value => Ok(value.map(Password::new)),
        }
    };
    Ok(IcgConfig {
        port,
        key_store,
        key_store_type: get("server.ssl.key-store-type")?,
        key_store_password: password("server.ssl.key-store-password")?,
        key_password: password("server.ssl.key-password")?,
        key_alias: get("server.ssl.key-alias")?,
    })
}

/// Deepest nesting accepted in application-prod.yml (Spring's own files nest four or five levels).
const MAX_YAML_DEPTH: usize = 32;

/// Walks the YAML events once before any tree is built: aliases, which the loader would expand (a
/// "billion laughs" of a few hundred bytes), and deep nesting, which would exhaust the stack, are refused.
fn check_yaml_shape(text: &str) -> Result<()> {
    use yaml_rust2::parser::{Event, Parser};
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (event, _) = parser
            .next_token()
            .map_err(|source| Error::Config(ConfigError::InvalidYaml { source }))?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::Alias(_) => return Err(Error::Config(ConfigError::YamlAliases)),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_YAML_DEPTH {
                    return Err(Error::Config(ConfigError::YamlTooDeep {
                        max: MAX_YAML_DEPTH,
                    }));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

/// A Spring resource location: a plain path or `file:` URL; `classpath:` is not a file that can be replaced.
fn keystore_location(location: &str) -> Result<PathBuf> {
    // For messages only: the configuration may belong to the ICG's service account.
    let shown_location = crate::shown::short(location, 200);
    if location.starts_with("classpath:") {
        return Err(Error::Config(ConfigError::ClasspathKeystore {
            location: shown_location,
        }));
    }
    let path = location
        .strip_prefix("file://")
        .or_else(|| location.strip_prefix("file:"))
        .unwrap_or(location);
    if path.contains("${") {
        return Err(Error::Config(ConfigError::KeystorePlaceholder {
            location: shown_location,
        }));
    }
    Ok(PathBuf::from(path))
}

/// A name element in Spring Boot's relaxed form: case, dashes and underscores do not count
/// (`key-store`, `keyStore`, `key_store` and `KEYSTORE` are all `keystore`).
fn relaxed(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Finds `parts` (relaxed names) below `node`, where any run of parts may also be written as one dotted key;
/// of two keys in one mapping that name the same setting, the later wins.
fn lookup<'a>(node: &'a Yaml, parts: &[String]) -> Option<&'a Yaml> {
    if parts.is_empty() {
        return Some(node);
    }
    let Yaml::Hash(map) = node else { return None };
    map.iter().rev().find_map(|(key, child)| {
        let Yaml::String(key) = key else { return None };
        let names: Vec<String> = key.split('.').map(relaxed).collect();
        let n = names.len();
        (n <= parts.len() && names[..] == parts[..n])
            .then(|| lookup(child, &parts[n..]))
            .flatten()
    })
}

fn scalar(value: &Yaml, key: &str) -> Result<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Ok(s.clone()),
        Yaml::Integer(i) => Ok(i.to_string()),
        Yaml::Boolean(b) => Ok(b.to_string()),
        _ => Err(Error::Config(ConfigError::NotSingleValue {
            key: key.to_string(),
        })),
    }
}

/// Reads a password file: the whole content less one trailing line break. Returns a warning when the file
/// is readable by group or others.
pub fn read_password_file(path: &Path) -> Result<(Password, Option<String>)> {
    let (bytes, meta) =
        fsx::read_input_with_meta(path, MAX_PASSWORD_FILE_SIZE, "read the password file")?;
    // Only the position of the bad byte is kept: the bytes are a password.
    let mut text = String::from_utf8(bytes).map_err(|e| {
        Error::Config(ConfigError::PasswordFileNotText {
            file: path.to_path_buf(),
            source: e.utf8_error(),
        })
    })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    let warning = Some(meta.mode)
        .filter(|mode| mode & 0o077 != 0)
        .map(|mode| {
            format!(
                "{} is readable by others (mode {:o}): chmod 600 it",
                path.shown(),
                mode & 0o777
            )
        });
    Ok((Password::new(text), warning))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn reads_nested_settings_and_strips_file_prefix() {
        let config = parse_config(
            "server:\n  port: 9443\n  ssl:\n    key-store: file:/opt/IGEL/icg/usg/keys/keystore.jks\n    key-store-password: 123456\n    key-alias: icg\n",
        )
        .unwrap();
        assert_eq!(config.port, Some(9443));
        assert_eq!(
            config.key_store,
            Some(PathBuf::from("/opt/IGEL/icg/usg/keys/keystore.jks"))
        );
        assert_eq!(config.key_store_password.unwrap().expose(), "123456");
        assert_eq!(config.key_alias.as_deref(), Some("icg"));
        assert_eq!(config.key_password, None);
    }

    #[test]
    fn reads_dotted_keys() {
        let config =
            parse_config("server.ssl.key-store: /k.p12\nserver:\n  ssl.key-store-type: PKCS12\n")
                .unwrap();
        assert_eq!(config.key_store, Some(PathBuf::from("/k.p12")));
        assert_eq!(config.key_store_type.as_deref(), Some("PKCS12"));
        assert_eq!(config.port, None);
    }

    #[test]
    fn relaxed_names_nested_and_dotted_mixed_read_like_kebab_case() {
        let kebab = parse_config(
            "server:\n  port: 9443\n  ssl:\n    key-store: file:/k.jks\n    key-store-password: pw\n    key-store-type: JKS\n    key-alias: icg\n    key-password: kp\n",
        )
        .unwrap();
        for text in [
            "server:\n  port: 9443\n  ssl:\n    keyStore: file:/k.jks\n    keyStorePassword: pw\n    keyStoreType: JKS\n    keyAlias: icg\n    keyPassword: kp\n",
            "server:\n  PORT: 9443\n  ssl:\n    key_store: file:/k.jks\n    key_store_password: pw\n    key_store_type: JKS\n    KEY_ALIAS: icg\n    KEYPASSWORD: kp\n",
            "server.port: 9443\nserver:\n  SSL.keyStore: file:/k.jks\n  ssl:\n    key_store-password: pw\nSERVER.ssl.key-store-type: JKS\nserver.ssl:\n  keyAlias: icg\n  key-password: kp\n",
        ] {
            assert_eq!(parse_config(text).unwrap(), kebab, "{text}");
        }
    }

    #[test]
    fn of_several_documents_the_later_wins() {
        let config = parse_config(
            "server:\n  port: 8443\n  ssl:\n    key-store: /old.jks\n    key-alias: icg\n---\nserver:\n  ssl:\n    keyStore: /new.jks\n",
        )
        .unwrap();
        assert_eq!(config.key_store, Some(PathBuf::from("/new.jks")));
        // What the later document does not set comes from the earlier one.
        assert_eq!(config.key_alias.as_deref(), Some("icg"));
        assert_eq!(config.port, Some(8443));
    }

    #[test]
    fn refuses_classpath_and_placeholders() {
        let err =
            parse_config("server:\n  ssl:\n    key-store: classpath:keystore.jks\n").unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
        // The library says which setting holds a placeholder; the command layer names the option.
        let err = parse_config("server:\n  ssl:\n    key-store-password: ${PW}\n").unwrap_err();
        assert!(
            matches!(&err, Error::PasswordPlaceholder { setting } if setting == "server.ssl.key-store-password"),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn aliases_and_deep_nesting_are_refused_before_loading() {
        // Found by fuzzing: nine levels of aliases expand to a billion nodes in the loader.
        let laughs = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n";
        assert!(parse_config(laughs)
            .unwrap_err()
            .to_string()
            .contains("aliases"));
        let deep = "- ".repeat(5000) + "x\n";
        assert!(parse_config(&deep)
            .unwrap_err()
            .to_string()
            .contains("nests deeper"));
        let flow = "[".repeat(5000);
        assert!(parse_config(&flow).is_err());
    }

    #[test]
    fn bad_yaml_and_bad_port_are_errors() {
        assert!(parse_config("server: [unclosed").is_err());
        assert!(parse_config("server:\n  port: 99999\n").is_err());
    }
}
