//! What every command starts from: the installation and its passwords resolved from the global options
//! (asking when several are found or a password is wrong), the audit log, the backup directory, and the
//! command that undoes a renewal.

use crate::cli::{self, GlobalArgs};
use crate::ui::prompts::Prompter;
use icg_renew::audit::AuditLog;
use icg_renew::cert::CertSummary;
use icg_renew::error::{CommandError, ConfigError};
use icg_renew::error::{Error, ErrorKind, Result};
use icg_renew::fsx::{self, KeystoreFile, SafeDir};
use icg_renew::install::{self, Install, Locate};
use icg_renew::installed::Installed;
use icg_renew::secret::Password;
use icg_renew::service::{self, RestartChoice, RestartPlan};
use icg_renew::shown::Shown;
use icg_renew::utc::Clock;
use openssl::pkey::{PKey, Private};
use std::path::Path;

pub(crate) fn env_password(name: &str) -> Option<Password> {
    std::env::var(name).ok().map(Password::new)
}

/// The global options that find the installation, as the library's value.
pub(crate) fn locate(global: &GlobalArgs) -> Locate {
    Locate {
        icg_root: global.icg_root.clone(),
        config: global.config.clone(),
        keystore: global.keystore.clone(),
        store_password_file: global.store_password_file.clone(),
        store_password_env: env_password("ICG_RENEW_STORE_PASSWORD"),
    }
}

/// An error about a missing configuration under an `--icg-root` that names the `usg` directory (or one
/// below it) instead of the installation root gets the root it probably meant.
pub(crate) fn icg_root_hint(error: Error, icg_root: Option<&Path>) -> Error {
    let Some(root) = icg_root else {
        return error;
    };
    let meant = root
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "usg"))
        .and_then(Path::parent);
    match meant {
        Some(meant) if !root.join(install::CONFIG_RELATIVE).exists() => {
            Error::Config(ConfigError::RootBelowUsg {
                meant: meant.to_path_buf(),
                inner: Box::new(error),
            })
        }
        _ => error,
    }
}

/// Resolves the installation, asking the prompter to choose when several are found.
pub(crate) fn resolve(global: &GlobalArgs, prompter: &mut dyn Prompter) -> Result<Install> {
    resolve_located(&locate(global), prompter)
}

/// Resolves the installation the values in `locate` name.
pub(crate) fn resolve_located(locate: &Locate, prompter: &mut dyn Prompter) -> Result<Install> {
    let install = install::resolve(locate, &mut |found| {
        prompter.choose_installation(found).ok_or_else(|| {
            Error::Config(ConfigError::SeveralInstallations {
                found: found.to_vec(),
            })
        })
    })
    .map_err(|e| icg_root_hint(e, locate.icg_root.as_deref()))?;
    for warning in &install.warnings {
        prompter.warn(warning);
    }
    Ok(install)
}

pub(crate) fn open_audit(
    global: &GlobalArgs,
    command: &str,
    prompter: &mut dyn Prompter,
) -> AuditLog {
    let audit = AuditLog::open(&global.log_file, command);
    if let Some(problem) = &audit.problem {
        prompter.warn(&super::hint::message(problem));
    }
    audit
}

/// The options that name this installation again in a later command (paths only, never a password), as
/// separate words for [`icg_renew::shown::command`].
pub(crate) fn location_args(install: &Install) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut push = |option: &str, value: &Path| {
        args.push(option.into());
        args.push(value.as_os_str().to_os_string());
    };
    match (&install.config_path, &install.root) {
        (Some(config), Some(root)) if *config == root.join(install::CONFIG_RELATIVE) => {
            if root != Path::new(install::DEFAULT_ROOT) {
                push("--icg-root", root);
            }
        }
        (Some(config), _) => push("--config", config),
        (None, _) => {}
    }
    if install.keystore_given || install.config_path.is_none() {
        push("--keystore", &install.keystore);
    }
    if let Some((_, install::PasswordSource::File(file))) = &install.store_password {
        push("--store-password-file", file);
    }
    args
}

/// The command that undoes a renewal, as a person types it (the backup's path follows): this binary as
/// invoked, the options that name the installation, `--backup-dir` when given, and the restart and audit-log
/// options when they are not the defaults, so that in a sandbox it restarts nothing and logs inside the
/// sandbox. Every word is shell-quoted.
pub(crate) fn undo_command(
    install: &Install,
    restart: &RestartPlan,
    backup_dir: Option<&Path>,
    log_file: &Path,
) -> String {
    use clap::ValueEnum;
    use std::ffi::OsString;
    let mut words: Vec<OsString> = location_args(install);
    words.push("rollback".into());
    let mut push = |option: &str, value: OsString| {
        words.push(option.into());
        words.push(value);
    };
    if let Some(dir) = backup_dir {
        push("--backup-dir", dir.as_os_str().to_os_string());
    }
    match (
        &restart.command,
        cli::RestartArg(restart.choice).to_possible_value(),
    ) {
        (Some(cmd), _) => push("--restart-command", cmd.into()),
        (None, Some(mode)) if restart.choice != RestartChoice::Auto => {
            push("--restart", mode.get_name().into())
        }
        _ => {}
    }
    if restart.unit != service::DEFAULT_UNIT {
        push("--service", restart.unit.clone().into());
    }
    if log_file != Path::new(cli::DEFAULT_LOG_FILE) {
        push("--log-file", log_file.as_os_str().to_os_string());
    }
    if !restart.health_check && restart.choice != RestartChoice::None {
        words.push("--no-health-check".into());
    }
    if restart.allow_no_ums && restart.health_check {
        words.push("--allow-no-ums".into());
    }
    format!(
        "{} {}",
        icg_renew::invocation::program(),
        icg_renew::shown::command(words)
    )
}

/// How many times a person is asked for a password before the error stands.
pub(crate) const PASSWORD_TRIES: usize = 3;

/// Runs `attempt` with the configured password (`None`), and, when that needs a password or has the wrong
/// one and someone can be asked, up to three times with a typed one.
pub(crate) fn with_password_retries<T>(
    prompter: &mut dyn Prompter,
    prompt: &str,
    mut attempt: impl FnMut(Option<Password>) -> Result<T>,
) -> Result<T> {
    let mut result = attempt(None);
    for _ in 0..PASSWORD_TRIES {
        match &result {
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WrongPassword | ErrorKind::PasswordNeeded
                ) && prompter.interactive() =>
            {
                if e.kind() == ErrorKind::WrongPassword {
                    prompter.warn(&super::hint::message(e));
                }
            }
            _ => return result,
        }
        let Some(password) = prompter.password(prompt) else {
            return result;
        };
        result = attempt(Some(password));
    }
    result
}

/// Loads the installed keystore, asking for its password when no source gave the right one; a typed
/// password replaces the configured one in `install` for the rest of the run.
pub(crate) fn load_installed(
    install: &mut Install,
    prompter: &mut dyn Prompter,
    file: Option<&KeystoreFile>,
) -> Result<Installed> {
    let prompt = format!("Password of the keystore {}", install.keystore.shown());
    let installed = with_password_retries(prompter, &prompt, |typed| {
        if let Some(password) = typed {
            install.store_password = Some((password, install::PasswordSource::Prompt));
        }
        Installed::load(install, file)
    })?;
    if let Some(configured) = &install.store_type {
        if !configured.eq_ignore_ascii_case(installed.store.format.name()) {
            prompter.warn(&format!(
                "server.ssl.key-store-type says {configured}, but {} holds {}: Java 9 and later read both, Java 8 (ICG 2.x) does not",
                installed.path.shown(),
                installed.store.format.name().to_uppercase()
            ));
        }
    }
    prompter.show_installed(
        &installed.path,
        &CertSummary::of(installed.leaf(), Clock::system()),
    );
    Ok(installed)
}

pub(crate) fn summaries(chain: &[openssl::x509::X509], clock: Clock) -> Vec<CertSummary> {
    chain.iter().map(|c| CertSummary::of(c, clock)).collect()
}

/// The installed server key, opened with the key password (the store password unless the configuration
/// sets another).
pub(crate) fn installed_key(install: &Install, installed: &Installed) -> Result<PKey<Private>> {
    installed
        .store
        .private_key(&installed.alias, install.key_password()?, &installed.path)
        .map_err(|e| {
            if e.kind() == ErrorKind::WrongPassword {
                Error::Command(CommandError::InstalledKeyPassword {
                    config: install.config_path.clone(),
                    inner: Box::new(e),
                })
            } else {
                e
            }
        })
}

/// Where backups go: `--backup-dir` opened once, or the keystore's own directory.
pub(crate) fn backup_dir(explicit: Option<&Path>, keystore: &KeystoreFile) -> Result<SafeDir> {
    match explicit {
        Some(dir) => fsx::resolve_dir(dir, fsx::Trust::ROOT),
        None => Ok(keystore.dir.clone()),
    }
}
