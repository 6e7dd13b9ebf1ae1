//! The commands: each turns its arguments into values (installation, material, plan), calls the library,
//! and returns what to show and the exit code. Asks the operator only through `Prompter`, so the same code
//! runs interactively, under `--yes` and under `--json`.

use crate::audit::AuditLog;
use crate::cert::{rfc3339, CertSummary, Clock};
use crate::checks;
use crate::cli::{self, Cli, Command, GlobalArgs, MaterialArgs, RestartArgs, RestartMode};
use crate::error::{Error, ErrorKind, Result};
use crate::fsx::{self, KeystoreFile, SafeDir};
use crate::install::{self, Install, Locate};
use crate::installed::Installed;
use crate::keystore::{Keystore, MAX_FILE_SIZE};
use crate::material::{self, Candidate, KeySource, Material, MaterialOptions};
use crate::pending;
use crate::renew::{self, Confirm, Observer, Transaction};
use crate::report::*;
use crate::sandbox;
use crate::secret::Password;
use crate::service::{Restart, RestartChoice};
use crate::shown::Shown;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the operator is asked and shown, when there is someone to ask. The provided methods are the
/// non-interactive answers: ask nothing, take the defaults, show nothing.
pub trait Prompter {
    /// The transaction's progress.
    fn observer(&mut self) -> &mut dyn Observer;
    /// Whether there is a person to ask.
    fn interactive(&self) -> bool {
        false
    }
    /// Something the operator should know that is not an error.
    fn warn(&mut self, _message: &str) {}
    /// Choose one of several installations.
    fn choose_installation(&mut self, _found: &[PathBuf]) -> Option<PathBuf> {
        None
    }
    /// The installed certificate, shown as soon as it is known.
    fn show_installed(&mut self, _keystore: &Path, _certificate: &CertSummary) {}
    /// Choose the new material among files found (or type a path).
    fn choose_material(&mut self, _candidates: &[Candidate]) -> Option<PathBuf> {
        None
    }
    /// A hidden password prompt.
    fn password(&mut self, _prompt: &str) -> Option<Password> {
        None
    }
    /// The checks start (`true`) or end (`false`): time for a spinner.
    fn checks_running(&mut self, _running: bool) {}
    /// The checks' outcome, before any question about it.
    fn show_checks(&mut self, _report: &VerifyReport) {}
    /// Accept the warnings of a compatible report.
    fn accept_warnings(&mut self, _report: &VerifyReport) -> bool {
        true
    }
    /// A yes/no question; the non-interactive answer is no.
    fn confirm(&mut self, _question: &str) -> bool {
        false
    }
    /// Confirm the plan before anything changes.
    fn confirm_plan(&mut self, _report: &VerifyReport, _plan: &Plan) -> bool {
        true
    }
}

/// Asks nothing, accepts defaults and keeps quiet: what `demo` uses for its inner renewal.
pub struct Defaults(pub renew::Silent);

impl Prompter for Defaults {
    fn observer(&mut self) -> &mut dyn Observer {
        &mut self.0
    }
}

/// A command's answer and its exit code.
#[derive(Debug)]
pub struct Finished {
    pub output: Output,
    pub exit_code: i32,
}

/// Runs the parsed command line.
pub fn run(cli: Cli, prompter: &mut dyn Prompter, clock: Clock) -> Result<Finished> {
    let global = &cli.global;
    match cli.command {
        Command::Status(args) => status(global, &args, prompter, clock),
        Command::Verify(args) => {
            verify(global, args.new.as_deref(), &args.material, prompter, clock)
        }
        Command::Renew(mut args) => {
            if args.from_hook {
                let found = crate::hook::from_environment()?;
                args.new = Some(found.new);
                args.material.key = found.key;
            }
            renew_command(global, &args, prompter, clock)
        }
        Command::Rollback(args) => rollback_command(global, &args, prompter, clock),
        Command::Backups(args) => backups(
            global,
            args.backup_dir.as_deref(),
            args.keep_backups,
            prompter,
            clock,
        ),
        Command::Sandbox(args) => {
            let made = sandbox::create(
                &args.dir,
                args.format == cli::SandboxFormat::Pkcs12,
                args.port,
                clock.now,
            )?;
            Ok(Finished {
                output: Output::Sandbox(sandbox_report(&made)),
                exit_code: 0,
            })
        }
        Command::Demo(args) => demo(global, args.keep, clock),
        Command::Csr(args) => csr(global, &args, prompter, clock),
        Command::Inbox(args) => crate::inbox::run(global, &args, prompter, clock),
    }
}

fn env_password(name: &str) -> Option<Password> {
    std::env::var(name).ok().map(Password::new)
}

fn locate(global: &GlobalArgs) -> Locate {
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
fn icg_root_hint(error: Error, icg_root: Option<&Path>) -> Error {
    let Some(root) = icg_root else {
        return error;
    };
    let meant = root
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "usg"))
        .and_then(Path::parent);
    match meant {
        Some(meant) if !root.join(install::CONFIG_RELATIVE).exists() => Error::new(
            error.kind,
            format!(
                "{}; --icg-root names the directory that holds usg/, so this is probably --icg-root {}",
                error.message,
                crate::shown::quote(meant.as_os_str())
            ),
        ),
        _ => error,
    }
}

/// Resolves the installation, asking the prompter to choose when several are found.
pub(crate) fn resolve(global: &GlobalArgs, prompter: &mut dyn Prompter) -> Result<Install> {
    let install = install::resolve(&locate(global), &mut |found| {
        prompter.choose_installation(found).ok_or_else(|| {
            Error::usage(format!(
                "several ICG installations found ({}): choose one with --icg-root DIR",
                found
                    .iter()
                    .map(|p| p.shown().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    })
    .map_err(|e| icg_root_hint(e, global.icg_root.as_deref()))?;
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
        prompter.warn(problem);
    }
    audit
}

/// The options that name this installation again in a later command (paths only, never a password), as
/// separate words for [`crate::shown::command`].
fn location_args(install: &Install) -> Vec<std::ffi::OsString> {
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
fn undo_command(
    install: &Install,
    restart: &RestartArgs,
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
        &restart.restart_command,
        restart.restart.to_possible_value(),
    ) {
        (Some(cmd), _) => push("--restart-command", cmd.into()),
        (None, Some(mode)) if restart.restart != RestartMode::Auto => {
            push("--restart", mode.get_name().into())
        }
        _ => {}
    }
    if restart.service != cli::DEFAULT_SERVICE {
        push("--service", restart.service.clone().into());
    }
    if log_file != Path::new(cli::DEFAULT_LOG_FILE) {
        push("--log-file", log_file.as_os_str().to_os_string());
    }
    if restart.no_health_check && restart.restart != RestartMode::None {
        words.push("--no-health-check".into());
    }
    format!(
        "{} {}",
        crate::invocation::program(),
        crate::shown::command(words)
    )
}

/// How many times a person is asked for a password before the error stands.
const PASSWORD_TRIES: usize = 3;

/// Runs `attempt` with the configured password (`None`), and, when that needs a password or has the wrong
/// one and someone can be asked, up to three times with a typed one.
fn with_password_retries<T>(
    prompter: &mut dyn Prompter,
    prompt: &str,
    mut attempt: impl FnMut(Option<Password>) -> Result<T>,
) -> Result<T> {
    let mut result = attempt(None);
    for _ in 0..PASSWORD_TRIES {
        match &result {
            Err(e)
                if matches!(e.kind, ErrorKind::WrongPassword | ErrorKind::PasswordNeeded)
                    && prompter.interactive() =>
            {
                if e.kind == ErrorKind::WrongPassword {
                    prompter.warn(&e.message);
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
fn load_installed(
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

/// The new material's path: as given, or chosen from the files found when someone can be asked. Files
/// that hold the certificate signed for a pending request of `csr` come first, marked.
fn material_path(
    new: Option<&Path>,
    prompter: &mut dyn Prompter,
    install: &Install,
    installed: &Installed,
) -> Result<PathBuf> {
    if let Some(path) = new {
        return Ok(path.to_path_buf());
    }
    let missing = || {
        Error::usage(
            "no new certificate material given: pass its path (NEW), for example ~/keystore.icg",
        )
    };
    if !prompter.interactive() {
        return Err(missing());
    }
    let places = material::candidate_places();
    let mut candidates = material::find_candidates(&places.dirs, Some(&places.owners), 30);
    if let Ok(Some(pending)) = install
        .store_password()
        .and_then(|pw| pending::load(&installed.file, pw))
    {
        for candidate in &mut candidates {
            if material::holds_certificate_for(&candidate.path, &pending.key) {
                candidate.note = Some(format!(
                    "signed for the pending request of {}",
                    rfc3339(pending.created)
                ));
            }
        }
        candidates.sort_by_key(|c| c.note.is_none());
    }
    prompter.choose_material(&candidates).ok_or_else(missing)
}

fn summaries(chain: &[openssl::x509::X509], clock: Clock) -> Vec<CertSummary> {
    chain.iter().map(|c| CertSummary::of(c, clock)).collect()
}

fn status_report(
    installed: &Installed,
    warn_days: i64,
    crit_days: i64,
    clock: Clock,
) -> StatusReport {
    let certificate = CertSummary::of(installed.leaf(), clock);
    // Judged in seconds: "valid for more than N days" must not be decided by a rounded-down day count.
    let remaining = crate::cert::unix_time(installed.leaf().not_after()) - clock.now;
    // Not yet valid is as bad as expired: the gateway serves a certificate that clients refuse.
    let not_yet_valid = crate::cert::unix_time(installed.leaf().not_before()) > clock.now;
    let state = if not_yet_valid || remaining <= crit_days.saturating_mul(86_400) {
        State::Critical
    } else if remaining <= warn_days.saturating_mul(86_400) {
        State::Warning
    } else {
        State::Ok
    };
    StatusReport {
        keystore: installed.path.clone(),
        format: installed.store.format.name(),
        alias: installed.alias.clone(),
        certificate,
        chain: summaries(&installed.full_chain(), clock),
        state,
        pending: None,
        warn_days,
        crit_days,
    }
}

/// `status`: errors are UNKNOWN (3) in the monitoring convention, which `main` applies. With
/// `--prometheus FILE` the outcome is written there too, UNKNOWN included; failing to write it is a warning.
fn status(
    global: &GlobalArgs,
    args: &cli::StatusArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let result = status_of_keystore(global, args, prompter, clock);
    if let Some(file) = &args.prometheus {
        let metrics = match &result {
            Ok(Finished {
                output: Output::Status(report),
                exit_code,
            }) => crate::metrics::Metrics::of(
                report,
                *exit_code,
                crate::metrics::last_renewal(&global.log_file, &report.keystore),
            ),
            _ => crate::metrics::Metrics {
                certificate: None,
                status: 3,
                last_renewal: None,
            },
        };
        let text = metrics.render();
        if let Err(e) =
            crate::outfile::replace(file, text.as_bytes(), 0o644, "write the metrics file")
        {
            prompter.warn(&e.message);
        }
    }
    result
}

fn status_of_keystore(
    global: &GlobalArgs,
    args: &cli::StatusArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let installed = load_installed(&mut install, prompter, None)?;
    let mut report = status_report(&installed, args.warn_days, args.crit_days, clock);
    report.pending = pending_info(&install, &installed, prompter);
    let exit_code = match report.state {
        State::Ok => 0,
        State::Warning => 1,
        State::Critical => 2,
    };
    Ok(Finished {
        output: Output::Status(report),
        exit_code,
    })
}

/// The material options, and a warning when `--new-password-file` is readable by others (as for the store
/// password file).
fn material_options(args: &MaterialArgs) -> Result<(MaterialOptions, Option<String>)> {
    let (password, warning) = match &args.new_password_file {
        Some(file) => {
            let (password, warning) = install::read_password_file(file)?;
            (Some(password), warning)
        }
        None => (env_password("ICG_RENEW_NEW_PASSWORD"), None),
    };
    let options = MaterialOptions {
        key: args.key.clone(),
        chain: args.chain.clone(),
        password,
        alias: args.alias.clone(),
    };
    Ok((options, warning))
}

/// A certificate that came without its key: the key born here by `csr` (the pending key), or else the
/// installed key (a renewal that keeps the key), whichever belongs to it.
fn find_key_on_the_gateway(
    material: &mut Material,
    install: &Install,
    installed: &Installed,
) -> Result<()> {
    let belongs =
        |key: &PKey<Private>| material.leaf().public_key().is_ok_and(|p| p.public_eq(key));
    if let Some(pending) = pending::load(&installed.file, install.store_password()?)? {
        if belongs(&pending.key) {
            material.key = Some(pending.key);
            material.key_source = KeySource::Pending(pending.path, pending.id);
            return Ok(());
        }
    }
    let installed_key = installed_key(install, installed)?;
    if belongs(&installed_key) {
        material.key = Some(installed_key);
        material.key_source = KeySource::Installed;
    }
    Ok(())
}

/// The installed server key, opened with the key password (the store password unless the configuration
/// sets another).
fn installed_key(install: &Install, installed: &Installed) -> Result<PKey<Private>> {
    installed
        .store
        .private_key(&installed.alias, install.key_password()?, &installed.path)
        .map_err(|e| {
            if e.kind == ErrorKind::WrongPassword {
                Error::new(
                    e.kind,
                    format!(
                        "{}; set server.ssl.key-password in {}",
                        e.message,
                        install
                            .config_path
                            .as_deref()
                            .map_or("application-prod.yml".into(), |p| p.shown().to_string())
                    ),
                )
            } else {
                e
            }
        })
}

/// Whether `new` holds the same bytes as the installed keystore: the keystore itself or a copy of it.
fn is_installed_keystore(new: &Path, installed: &Installed) -> bool {
    fsx::read_input(new, MAX_FILE_SIZE, "read the new certificate material")
        .is_ok_and(|bytes| bytes == installed.bytes)
}

/// A password error about the installed keystore given as new material points at the real mistake.
fn installed_keystore_hint(error: Error, new: &Path, is_installed: bool) -> Error {
    if !is_installed
        || !matches!(
            error.kind,
            ErrorKind::PasswordNeeded | ErrorKind::WrongPassword
        )
    {
        return error;
    }
    Error::new(
        ErrorKind::Incompatible,
        format!(
            "{} is the installed keystore, not new material: this is the installed certificate; give the new one (the UMS export keystore.icg, a PKCS#12 or PEM file)",
            new.display()
        ),
    )
}

/// The checks of new material against the installation, with everything needed to act on them.
struct Verified {
    report: VerifyReport,
    material: Material,
    verified_chain: Option<Vec<openssl::x509::X509>>,
}

fn check_material(
    install: &Install,
    installed: &Installed,
    new: &Path,
    args: &MaterialArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Verified> {
    let (mut options, warning) = material_options(args)?;
    if let Some(warning) = warning {
        prompter.warn(&warning);
    }
    let is_installed = is_installed_keystore(new, installed);
    if is_installed && options.password.is_none() {
        // The installed keystore (or a copy) opens with its own password; `differs-from-installed` then fails.
        options.password = install.store_password().ok().cloned();
    }
    let prompt = format!("Password of {}", new.shown());
    let mut material = with_password_retries(prompter, &prompt, |typed| {
        if typed.is_some() {
            options.password = typed;
        }
        material::load(new, &options)
    })
    .map_err(|e| installed_keystore_hint(e, new, is_installed))?;
    if material.key.is_none() {
        find_key_on_the_gateway(&mut material, install, installed)?;
    }
    prompter.checks_running(true);
    let result = checks::run_all(&installed.chain, &installed.root, &material, clock);
    prompter.checks_running(false);
    let shown_chain = result
        .verified_chain
        .clone()
        .unwrap_or_else(|| material.chain.clone());
    let report = VerifyReport {
        compatible: result.compatible(),
        current: CertSummary::of(installed.leaf(), clock),
        new: CertSummary::of(material.leaf(), clock),
        material: MaterialInfo {
            path: new.to_path_buf(),
            format: material.format.clone(),
            chain: summaries(&shown_chain, clock),
        },
        checks: result.checks,
    };
    prompter.show_checks(&report);
    Ok(Verified {
        report,
        material,
        verified_chain: result.verified_chain,
    })
}

fn verify(
    global: &GlobalArgs,
    new: Option<&Path>,
    args: &MaterialArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let installed = load_installed(&mut install, prompter, None)?;
    let new = material_path(new, prompter, &install, &installed)?;
    let verified = check_material(&install, &installed, &new, args, prompter, clock)?;
    let exit_code = if verified.report.compatible {
        0
    } else {
        ErrorKind::Incompatible.exit_code()
    };
    Ok(Finished {
        output: Output::Verify(verified.report),
        exit_code,
    })
}

/// How to restart and confirm; `anchor` is the root the verifying handshakes trust (`None`: no such
/// handshakes, for a restored certificate).
fn confirm_settings(args: &RestartArgs, port: u16, anchor: Option<&X509>) -> Result<Confirm> {
    let choice = match args.restart {
        RestartMode::Auto => RestartChoice::Auto,
        RestartMode::Systemd => RestartChoice::Systemd,
        RestartMode::Sysv => RestartChoice::Sysv,
        RestartMode::None => RestartChoice::None,
    };
    let restart = Restart::choose(choice, &args.service, args.restart_command.as_deref())?;
    let timeout = Duration::from_secs(args.health_timeout);
    Ok(Confirm {
        health_timeout: (!args.no_health_check).then_some(timeout),
        restart_timeout: timeout,
        restart,
        port,
        anchor: anchor.cloned(),
    })
}

/// Where backups go: `--backup-dir` opened once, or the keystore's own directory.
fn backup_dir(explicit: Option<&Path>, keystore: &KeystoreFile) -> Result<SafeDir> {
    match explicit {
        Some(dir) => SafeDir::open(dir),
        None => Ok(keystore.dir.clone()),
    }
}

/// A file that is no keystore at all (a configuration pointing at /etc/shadow) gets no lock file beside
/// it: checked before the lock, without showing any of its bytes.
fn refuse_a_non_keystore(file: &KeystoreFile) -> Result<()> {
    let (bytes, _) = file.read()?;
    if Keystore::recognises(&bytes) {
        Ok(())
    } else {
        Err(Error::corrupt(format!(
            "{} is not a JKS or PKCS#12 keystore ({}): check the path",
            file.configured.shown(),
            crate::keystore::describe_bytes(&bytes)
        )))
    }
}

/// The keystore resolved once, its layout accepted for writing, and its lock held: the start of every
/// command that changes it.
fn open_for_writing(install: &Install) -> Result<(KeystoreFile, fsx::KeystoreLock)> {
    let file = KeystoreFile::open(&install.keystore)?;
    file.accept_for_writing()?;
    refuse_a_non_keystore(&file)?;
    let lock = file.lock()?;
    Ok((file, lock))
}

fn renew_command(
    global: &GlobalArgs,
    args: &cli::RenewArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "renew", prompter);
    let report = renew_install(&mut install, args, prompter, &mut audit, clock)?;
    let exit_code = match report.result {
        RenewResult::Renewed | RenewResult::DryRun => 0,
        RenewResult::Incompatible => ErrorKind::Incompatible.exit_code(),
        RenewResult::RolledBack => ErrorKind::RolledBack.exit_code(),
        RenewResult::RollbackFailed => ErrorKind::RollbackFailed.exit_code(),
    };
    Ok(Finished {
        output: Output::Renew(Box::new(report)),
        exit_code,
    })
}

/// The whole renewal of one installation: lock, checks, plan, transaction.
pub(crate) fn renew_install(
    install: &mut Install,
    args: &cli::RenewArgs,
    prompter: &mut dyn Prompter,
    audit: &mut AuditLog,
    clock: Clock,
) -> Result<RenewReport> {
    let (file, _lock) = open_for_writing(install)?;
    let backups_in = backup_dir(args.backup_dir.as_deref(), &file)?;
    backups_in.check_private("the backup directory")?;
    let installed = load_installed(install, prompter, Some(&file))?;
    let new = material_path(args.new.as_deref(), prompter, install, &installed)?;
    let verified = check_material(install, &installed, &new, &args.material, prompter, clock)?;
    let confirm = confirm_settings(&args.restart, install.port, Some(&installed.root))?;
    let plan = Plan {
        keystore: installed.path.clone(),
        format: installed.store.format.name(),
        protection: installed.store.protection(),
        alias: installed.alias.clone(),
        backup_dir: backups_in.path.clone(),
        restart: confirm.restart.describe(),
        health_check: confirm.describe_health(),
        rollback: !args.no_rollback,
        undo: undo_command(
            install,
            &args.restart,
            args.backup_dir.as_deref(),
            &audit.path,
        ),
    };
    let fingerprint_new = verified.report.new.sha256.clone();
    let mut report = RenewReport {
        verify: verified.report,
        result: RenewResult::DryRun,
        keystore: installed.path.clone(),
        backup: None,
        steps: Vec::new(),
        downtime_ms: None,
        error: None,
        manual_steps: Vec::new(),
        plan,
    };
    audit.record(
        "checks",
        &[
            ("keystore", &installed.path.shown().to_string()),
            (
                "material",
                &std::path::absolute(&new)
                    .unwrap_or_else(|_| new.clone())
                    .shown()
                    .to_string(),
            ),
            ("old_sha256", &report.verify.current.sha256),
            ("new_sha256", &fingerprint_new),
            (
                "compatible",
                if report.verify.compatible {
                    "yes"
                } else {
                    "no"
                },
            ),
        ],
    );
    let Some(chain) = verified.verified_chain.filter(|_| report.verify.compatible) else {
        report.result = RenewResult::Incompatible;
        return Ok(report);
    };
    if args.dry_run {
        return Ok(report);
    }
    if report
        .verify
        .checks
        .iter()
        .any(|c| c.status == checks::Status::Warn)
        && !prompter.accept_warnings(&report.verify)
    {
        return Err(Error::new(
            ErrorKind::Aborted,
            "stopped at the warnings: nothing was changed",
        ));
    }
    if !prompter.confirm_plan(&report.verify, &report.plan) {
        return Err(Error::new(
            ErrorKind::Aborted,
            "not confirmed: nothing was changed",
        ));
    }
    // The key password must open the installed key, or the rewritten entry would not open either.
    installed_key(install, &installed)?;
    let new_key = verified.material.key.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Incompatible,
            "the new material has no private key",
        )
    })?;
    let tx = Transaction {
        installed: &installed,
        store_password: install.store_password()?,
        key_password: install.key_password()?,
        new_key,
        new_chain: &chain,
        backup_dir: &backups_in,
        confirm,
        rollback: !args.no_rollback,
    };
    crate::interrupt::set_phase(crate::interrupt::Phase::Renewing);
    let outcome = renew::execute(&tx, prompter.observer(), audit, clock)?;
    report.result = outcome.result;
    report.backup = outcome.backup;
    report.steps = outcome.steps;
    report.downtime_ms = outcome.downtime_ms;
    report.error = outcome.error.map(|e| e.message);
    report.manual_steps = outcome.manual_steps;
    if report.result == RenewResult::Renewed {
        let protect: Vec<&Path> = report.backup.iter().map(PathBuf::as_path).collect();
        let step = prune_backups(
            &installed.file,
            &backups_in,
            args.keep_backups,
            &protect,
            audit,
            prompter,
        );
        report.steps.push(step);
    }
    if let (RenewResult::Renewed, KeySource::Pending(path, id)) =
        (report.result, &verified.material.key_source)
    {
        let started = std::time::Instant::now();
        let detail = match pending::remove_securely(&installed.file, *id) {
            Ok(()) => format!(
                "the pending key {} is installed now: overwritten and removed",
                path.shown()
            ),
            Err(e) => {
                prompter.warn(&e.message);
                format!("could not remove the pending key: {}", e.message)
            }
        };
        audit.record(
            "pending-key-removed",
            &[("path", &path.shown().to_string())],
        );
        report.steps.push(Step {
            name: "forget-pending-key".into(),
            ms: started.elapsed().as_millis() as u64,
            detail: Some(detail),
        });
    }
    Ok(report)
}

/// What `status` says about a pending request; a pending key file that cannot be read is a warning.
fn pending_info(
    install: &Install,
    installed: &Installed,
    prompter: &mut dyn Prompter,
) -> Option<PendingInfo> {
    let loaded = install
        .store_password()
        .and_then(|pw| pending::load(&installed.file, pw));
    match loaded {
        Ok(Some(p)) => {
            let (dns_names, ip_addresses) =
                crate::cert::subject_alt_names(&p.placeholder).unwrap_or_default();
            Some(PendingInfo {
                path: p.path,
                created: rfc3339(p.created),
                subject: crate::cert::name_to_string(p.placeholder.subject_name()),
                dns_names,
                ip_addresses,
            })
        }
        Ok(None) => None,
        Err(e) => {
            prompter.warn(&e.message);
            None
        }
    }
}

/// `csr`: a new key pair born here, kept as the pending key, and a request with the installed names.
fn csr(
    global: &GlobalArgs,
    args: &cli::CsrArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let (file, _lock) = open_for_writing(&install)?;
    let installed = load_installed(&mut install, prompter, Some(&file))?;
    let store_password = install.store_password()?.clone();
    let existing = pending::load(&installed.file, &store_password)?;
    if let Some(old) = &existing {
        let question = format!(
            "A pending key from {} already waits at {}. Replace it (a certificate signed for it will then no longer fit)?",
            rfc3339(old.created),
            old.path.shown()
        );
        if !args.force && !prompter.confirm(&question) {
            return Err(Error::usage(format!(
                "a pending key from {} already waits at {}: renew with its signed certificate first, or pass --force to replace it",
                rfc3339(old.created),
                old.path.shown()
            )));
        }
    }
    if std::fs::symlink_metadata(&args.out).is_ok() && !args.force {
        return Err(Error::usage(format!(
            "{} exists: choose another --out, or pass --force to overwrite it",
            args.out.shown()
        )));
    }
    let key_type = args
        .key_type
        .unwrap_or_else(|| crate::csr::KeyType::like(installed.leaf()));
    let key = key_type.generate()?;
    let request = crate::csr::request(&key, installed.leaf())?;
    let placeholder = crate::csr::placeholder(&key, installed.leaf(), clock.now)?;
    let pem = request
        .to_pem()
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot encode the request: {e}")))?;
    let der = request
        .to_der()
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot encode the request: {e}")))?;

    crate::interrupt::set_phase(crate::interrupt::Phase::Writing);
    if let Some(old) = &existing {
        pending::remove_securely(&installed.file, old.id)?;
    }
    if args.force && std::fs::symlink_metadata(&args.out).is_ok() {
        std::fs::remove_file(&args.out).map_err(|e| Error::io("replace", &args.out, &e))?;
    }
    fsx::write_private_file(&args.out, &pem, "write the certificate request")?;
    let pending_path = pending::save(&installed.file, &key, &placeholder, &store_password)?;
    let sha256 = crate::cert::hex_colons(&openssl::sha::sha256(&der));
    let mut audit = open_audit(global, "csr", prompter);
    audit.record(
        "csr",
        &[
            ("keystore", &installed.path.shown().to_string()),
            ("csr", &args.out.shown().to_string()),
            ("pending_key", &pending_path.shown().to_string()),
            ("sha256", &sha256),
        ],
    );
    let (dns_names, ip_addresses) =
        crate::cert::subject_alt_names(&placeholder).unwrap_or_default();
    let renew_line = format!(
        "{} {}",
        crate::invocation::program(),
        crate::shown::command(location_args(&install))
    );
    Ok(Finished {
        output: Output::Csr(CsrReport {
            csr: args.out.clone(),
            pending_key: pending_path,
            key_type: key_type.describe(),
            subject: crate::cert::name_to_string(installed.leaf().subject_name()),
            dns_names,
            ip_addresses,
            sha256,
            replaced_pending: existing.is_some(),
            next_steps: vec![
                format!("have your CA sign {} with its Subject Alternative Names as requested", crate::shown::quote(args.out.as_os_str())),
                format!("{renew_line} renew SIGNED.pem --chain CA-CHAIN.pem   (the key is found by itself)"),
            ],
        }),
        exit_code: 0,
    })
}

/// Removes the backups of `keystore` in `dir` beyond the newest `keep` (never those in `protect`), after a
/// success; what it could not remove is a warning, not a failure of the renewal.
fn prune_backups(
    keystore: &KeystoreFile,
    dir: &SafeDir,
    keep: usize,
    protect: &[&Path],
    audit: &mut AuditLog,
    prompter: &mut dyn Prompter,
) -> Step {
    let started = std::time::Instant::now();
    let listed = match fsx::list_backups(dir, &keystore.base_name()) {
        Ok(listed) => listed,
        Err(e) => {
            prompter.warn(&e.message);
            Vec::new()
        }
    };
    let going = crate::retention::beyond(&listed, keep, protect);
    let (removed, errors) = crate::retention::remove(dir, &listed, &going);
    for path in &removed {
        audit.record("backup-removed", &[("backup", &path.shown().to_string())]);
    }
    for e in &errors {
        prompter.warn(&format!("could not remove an old backup: {}", e.message));
    }
    let detail = if keep == 0 {
        "--keep-backups 0: every backup is kept".to_string()
    } else {
        format!(
            "kept the newest {keep}; overwrote and removed {} older{}",
            removed.len(),
            if errors.is_empty() {
                String::new()
            } else {
                format!(", {} could not be removed", errors.len())
            }
        )
    };
    Step {
        name: "retention".into(),
        ms: started.elapsed().as_millis() as u64,
        detail: Some(detail),
    }
}

/// Opens a backup with the installation's password; `Err` carries why it cannot be read.
fn open_backup(path: &Path, install: &Install) -> Result<(Vec<u8>, Keystore)> {
    let bytes = fsx::read_input(path, MAX_FILE_SIZE, "read the backup")?;
    let store = Keystore::load(&bytes, install.store_password()?, path)?;
    Ok((bytes, store))
}

/// Opens a backup found in `dir`, through the directory (never through a link).
fn open_listed_backup(
    dir: &SafeDir,
    backup: &fsx::Backup,
    install: &Install,
) -> Result<(Vec<u8>, Keystore)> {
    let (bytes, _) = dir.read(&backup.name, MAX_FILE_SIZE, "read the backup")?;
    let store = Keystore::load(&bytes, install.store_password()?, &backup.path)?;
    Ok((bytes, store))
}

fn backups(
    global: &GlobalArgs,
    dir: Option<&Path>,
    keep: usize,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let install = resolve(global, prompter)?;
    let file = KeystoreFile::open(&install.keystore)?;
    let dir = backup_dir(dir, &file)?;
    let listed = fsx::list_backups(&dir, &file.base_name())?;
    let going = crate::retention::next_to_go(&listed, keep);
    let entries = listed
        .into_iter()
        .map(|b| {
            let opened = open_listed_backup(&dir, &b, &install).and_then(|(_, store)| {
                let entry = store.server_entry(
                    install.alias.as_deref(),
                    &b.path,
                    &install.alias_option(),
                )?;
                Ok(CertSummary::of(&entry.certs[0], clock))
            });
            let (certificate, error) = match opened {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.message)),
            };
            BackupEntry {
                removed_by_next_renewal: going.contains(&b.path),
                path: b.path,
                created: rfc3339(b.created),
                certificate,
                error,
            }
        })
        .collect();
    Ok(Finished {
        output: Output::Backups(entries),
        exit_code: 0,
    })
}

fn rollback_command(
    global: &GlobalArgs,
    args: &cli::RollbackArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let install = resolve(global, prompter)?;
    let mut audit = open_audit(global, "rollback", prompter);
    let file = KeystoreFile::open(&install.keystore)?;
    file.accept_for_writing()?;
    let dir = backup_dir(args.backup_dir.as_deref(), &file)?;
    dir.check_private("the backup directory")?;
    refuse_a_non_keystore(&file)?;
    let _lock = file.lock()?;
    for stale in file.remove_stale_temps() {
        audit.record("cleanup", &[("removed", &stale.shown())]);
    }
    let (backup, (bytes, store)) = match &args.backup {
        Some(path) => (path.clone(), open_backup(path, &install)?),
        None => {
            let newest = fsx::list_backups(&dir, &file.base_name())?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "no backup of {} in {}: name one, or pass --backup-dir DIR",
                            install.keystore.shown(),
                            dir.path.shown()
                        ),
                    )
                })?;
            let opened = open_listed_backup(&dir, &newest, &install)?;
            (newest.path, opened)
        }
    };
    let entry = store.server_entry(install.alias.as_deref(), &backup, &install.alias_option())?;
    let leaf = entry.certs[0].clone();
    let fingerprint = crate::cert::sha256_fingerprint(&leaf);
    let confirm = confirm_settings(&args.restart, install.port, None)?;
    // The keystore being replaced is saved first, so that a rollback can be undone too (after a renewal
    // with a key made by `csr`, it holds the only copy of that key).
    crate::interrupt::set_phase(crate::interrupt::Phase::Restoring);
    let (current, current_meta) = file.read()?;
    let saved_current = if current == bytes {
        None
    } else {
        let saved = fsx::make_backup(&dir, &file.base_name(), &current, &current_meta, clock.now)?;
        audit.record(
            "backup",
            &[
                ("keystore", &install.keystore.shown()),
                ("backup", &saved.path.shown()),
            ],
        );
        Some(saved.path)
    };
    audit.record(
        "rollback",
        &[
            ("keystore", &install.keystore.shown().to_string()),
            ("backup", &backup.shown().to_string()),
            ("sha256", &fingerprint),
        ],
    );
    let (steps, outcome) = renew::rollback(
        &file,
        &current_meta,
        &bytes,
        &confirm,
        &fingerprint,
        prompter.observer(),
        &mut audit,
    );
    let downtime_ms = outcome.as_ref().ok().copied().flatten();
    let mut steps = steps;
    if outcome.is_ok() {
        let mut protect = vec![backup.as_path()];
        protect.extend(saved_current.as_deref());
        steps.push(prune_backups(
            &file,
            &dir,
            args.keep_backups,
            &protect,
            &mut audit,
            prompter,
        ));
    }
    let (result, error, manual_steps, exit_code) = match outcome {
        Ok(_) => (RollbackResult::Restored, None, Vec::new(), 0),
        // The restore itself failed: it renames only as its last act, so the keystore is as it was.
        Err(e) if steps.last().is_some_and(|s| s.name == "restore") => {
            audit.record(
                "rollback-failed",
                &[
                    ("keystore", &install.keystore.shown()),
                    ("error", &e.message),
                ],
            );
            return Err(Error::new(
                e.kind,
                format!("{}; the keystore was not changed", e.message),
            ));
        }
        Err(e) => (
            RollbackResult::Failed,
            Some(e.message),
            renew::manual_restore_steps(&backup, &file, &current_meta, &confirm.restart),
            ErrorKind::RollbackFailed.exit_code(),
        ),
    };
    audit.record(
        if exit_code == 0 {
            "restored"
        } else {
            "rollback-failed"
        },
        &[
            ("keystore", &install.keystore.shown().to_string()),
            (
                "downtime_ms",
                &downtime_ms.map(|d| d.to_string()).unwrap_or_default(),
            ),
        ],
    );
    Ok(Finished {
        output: Output::Rollback(RollbackReport {
            result,
            keystore: install.keystore.clone(),
            backup,
            downtime_ms,
            saved_current,
            certificate: Some(CertSummary::of(&leaf, clock)),
            steps,
            error,
            manual_steps,
        }),
        exit_code,
    })
}

fn sandbox_report(made: &sandbox::Sandbox) -> SandboxReport {
    SandboxReport {
        root: made.root.clone(),
        config: made.config.clone(),
        keystore: made.keystore.clone(),
        new_material: made.new_material.clone(),
        files: made.files.clone(),
        commands: made.commands(),
    }
}

/// `demo`: a sandbox in a temp dir and a complete renewal in it, restart and confirmation skipped.
fn demo(global: &GlobalArgs, keep: bool, clock: Clock) -> Result<Finished> {
    use std::os::unix::fs::PermissionsExt;
    // A new directory, private to this user (tempfile's default mode follows the umask), removed when dropped
    // unless kept.
    let dir = tempfile::Builder::new()
        .prefix("icg-renew-demo-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| Error::io("create a directory in", &std::env::temp_dir(), &e))?;
    let result = demo_in(dir.path(), global, keep, clock);
    if keep {
        let _ = dir.keep();
    }
    result
}

fn demo_in(dir: &Path, global: &GlobalArgs, keep: bool, clock: Clock) -> Result<Finished> {
    let made = sandbox::create(dir, false, crate::install::DEFAULT_PORT, clock.now)?;
    let sandbox_global = GlobalArgs {
        icg_root: Some(made.root.clone()),
        json: global.json,
        yes: true,
        log_file: made.root.join("icg-renew.log"),
        ..GlobalArgs::default()
    };
    let mut install = resolve(&sandbox_global, &mut Defaults(renew::Silent))?;
    let before = status_report(&Installed::load(&install, None)?, 30, 7, clock);
    let args = cli::RenewArgs {
        new: Some(made.new_material.clone()),
        material: MaterialArgs::default(),
        restart: RestartArgs {
            restart: RestartMode::None,
            service: "icg-server.service".into(),
            restart_command: None,
            health_timeout: 120,
            no_health_check: true,
        },
        from_hook: false,
        no_rollback: false,
        backup_dir: None,
        dry_run: false,
        keep_backups: crate::retention::DEFAULT_KEEP,
    };
    let mut audit = AuditLog::open(&sandbox_global.log_file, "demo");
    let renew = renew_install(
        &mut install,
        &args,
        &mut Defaults(renew::Silent),
        &mut audit,
        clock,
    )?;
    let after = status_report(&Installed::load(&install, None)?, 30, 7, clock);
    let exit_code = if renew.result == RenewResult::Renewed {
        0
    } else {
        1
    };
    Ok(Finished {
        output: Output::Demo(Box::new(DemoReport {
            sandbox: sandbox_report(&made),
            before,
            renew,
            after,
            kept: keep,
        })),
        exit_code,
    })
}
