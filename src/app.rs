//! The commands: each turns its arguments into values (installation, material, plan), calls the library,
//! and returns what to show and the exit code. Asks the operator only through `Prompter`, so the same code
//! runs interactively, under `--yes` and under `--json`.

use crate::audit::AuditLog;
use crate::cert::{rfc3339, CertSummary, Clock};
use crate::checks;
use crate::cli::{self, Cli, Command, GlobalArgs, MaterialArgs, RestartArgs, RestartMode};
use crate::error::{Error, ErrorKind, Result};
use crate::fsx::{self, KeystoreLock};
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
use openssl::pkey::{PKey, Private};
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
        Command::Renew(args) => renew_command(global, &args, prompter, clock),
        Command::Rollback(args) => rollback_command(global, &args, prompter, clock),
        Command::Backups(args) => backups(global, args.backup_dir.as_deref(), prompter, clock),
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

/// Resolves the installation, asking the prompter to choose when several are found.
fn resolve(global: &GlobalArgs, prompter: &mut dyn Prompter) -> Result<Install> {
    let install = install::resolve(&locate(global), &mut |found| {
        prompter.choose_installation(found).ok_or_else(|| {
            Error::usage(format!(
                "several ICG installations found ({}): choose one with --icg-root DIR",
                found
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    })?;
    for warning in &install.warnings {
        prompter.warn(warning);
    }
    Ok(install)
}

fn open_audit(global: &GlobalArgs, command: &str, prompter: &mut dyn Prompter) -> AuditLog {
    let audit = AuditLog::open(&global.log_file, command);
    if let Some(problem) = &audit.problem {
        prompter.warn(problem);
    }
    audit
}

/// The options that name this installation again in a later command (paths only, never a password).
fn location_args(install: &Install) -> String {
    let mut args = String::new();
    match (&install.config_path, &install.root) {
        (Some(config), Some(root)) if *config == root.join(install::CONFIG_RELATIVE) => {
            if root != Path::new(install::DEFAULT_ROOT) {
                args.push_str(&format!("--icg-root {} ", root.display()));
            }
        }
        (Some(config), _) => args.push_str(&format!("--config {} ", config.display())),
        (None, _) => {}
    }
    if install.keystore_given || install.config_path.is_none() {
        args.push_str(&format!("--keystore {} ", install.keystore.display()));
    }
    if let Some((_, install::PasswordSource::File(file))) = &install.store_password {
        args.push_str(&format!("--store-password-file {} ", file.display()));
    }
    args
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
fn load_installed(install: &mut Install, prompter: &mut dyn Prompter) -> Result<Installed> {
    let prompt = format!("Password of the keystore {}", install.keystore.display());
    let installed = with_password_retries(prompter, &prompt, |typed| {
        if let Some(password) = typed {
            install.store_password = Some((password, install::PasswordSource::Prompt));
        }
        Installed::load(install)
    })?;
    if let Some(configured) = &install.store_type {
        if !configured.eq_ignore_ascii_case(installed.store.format.name()) {
            prompter.warn(&format!(
                "server.ssl.key-store-type says {configured}, but {} holds {}: Java 9 and later read both, Java 8 (ICG 2.x) does not",
                installed.path.display(),
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
    let mut candidates = material::find_candidates(&material::candidate_places(), 30);
    if let Ok(Some(pending)) = install
        .store_password()
        .and_then(|pw| pending::load(&installed.path, pw))
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

/// `status`: errors are UNKNOWN (3) in the monitoring convention, which `main` applies.
fn status(
    global: &GlobalArgs,
    args: &cli::StatusArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let installed = load_installed(&mut install, prompter)?;
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

fn material_options(args: &MaterialArgs) -> Result<MaterialOptions> {
    let password = match &args.new_password_file {
        Some(file) => Some(install::read_password_file(file)?.0),
        None => env_password("ICG_RENEW_NEW_PASSWORD"),
    };
    Ok(MaterialOptions {
        key: args.key.clone(),
        chain: args.chain.clone(),
        password,
        alias: args.alias.clone(),
    })
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
    if let Some(pending) = pending::load(&installed.path, install.store_password()?)? {
        if belongs(&pending.key) {
            material.key = Some(pending.key);
            material.key_source = KeySource::Pending(pending.path);
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
                            .map_or("application-prod.yml".into(), |p| p.display().to_string())
                    ),
                )
            } else {
                e
            }
        })
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
    let mut options = material_options(args)?;
    let prompt = format!("Password of {}", new.display());
    let mut material = with_password_retries(prompter, &prompt, |typed| {
        if typed.is_some() {
            options.password = typed;
        }
        material::load(new, &options)
    })?;
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
    let installed = load_installed(&mut install, prompter)?;
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

fn confirm_settings(args: &RestartArgs, port: u16) -> Result<Confirm> {
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
    })
}

/// The directory that really holds the keystore (behind a link).
fn keystore_dir(keystore: &Path) -> Result<PathBuf> {
    Ok(fsx::real_path(keystore)?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/")))
}

fn backup_dir(explicit: Option<&Path>, keystore: &Path) -> Result<PathBuf> {
    match explicit {
        Some(dir) => Ok(dir.to_path_buf()),
        None => keystore_dir(keystore),
    }
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
fn renew_install(
    install: &mut Install,
    args: &cli::RenewArgs,
    prompter: &mut dyn Prompter,
    audit: &mut AuditLog,
    clock: Clock,
) -> Result<RenewReport> {
    let keystore_dir = keystore_dir(&install.keystore)?;
    fsx::check_dir_is_private(&keystore_dir, "the keystore directory")?;
    let _lock = KeystoreLock::acquire(&install.keystore)?;
    let installed = load_installed(install, prompter)?;
    let new = material_path(args.new.as_deref(), prompter, install, &installed)?;
    let verified = check_material(install, &installed, &new, &args.material, prompter, clock)?;
    let confirm = confirm_settings(&args.restart, install.port)?;
    let plan = Plan {
        keystore: installed.path.clone(),
        format: installed.store.format.name(),
        protection: installed.store.protection(),
        alias: installed.alias.clone(),
        backup_dir: backup_dir(args.backup_dir.as_deref(), &installed.path)?,
        restart: confirm.restart.describe(),
        health_check: confirm.describe_health(),
        rollback: !args.no_rollback,
        undo: format!("icg-renew {}rollback", location_args(install)),
    };
    fsx::check_dir_is_private(&plan.backup_dir, "the backup directory")?;
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
            ("keystore", &installed.path.display().to_string()),
            (
                "material",
                &std::path::absolute(&new)
                    .unwrap_or_else(|_| new.clone())
                    .display()
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
        backup_dir: report.plan.backup_dir.clone(),
        confirm,
        rollback: !args.no_rollback,
    };
    crate::interrupt::install();
    let outcome = renew::execute(&tx, prompter.observer(), audit, clock)?;
    report.result = outcome.result;
    report.backup = outcome.backup;
    report.steps = outcome.steps;
    report.downtime_ms = outcome.downtime_ms;
    report.error = outcome.error.map(|e| e.message);
    report.manual_steps = outcome.manual_steps;
    if let (RenewResult::Renewed, KeySource::Pending(path)) =
        (report.result, &verified.material.key_source)
    {
        let started = std::time::Instant::now();
        let detail = match pending::remove_securely(path) {
            Ok(()) => format!(
                "the pending key {} is installed now: overwritten and removed",
                path.display()
            ),
            Err(e) => {
                prompter.warn(&e.message);
                format!("could not remove the pending key: {}", e.message)
            }
        };
        audit.record(
            "pending-key-removed",
            &[("path", &path.display().to_string())],
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
        .and_then(|pw| pending::load(&installed.path, pw));
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
    fsx::check_dir_is_private(&keystore_dir(&install.keystore)?, "the keystore directory")?;
    let _lock = KeystoreLock::acquire(&install.keystore)?;
    let installed = load_installed(&mut install, prompter)?;
    let store_password = install.store_password()?.clone();
    let existing = pending::load(&installed.path, &store_password)?;
    if let Some(old) = &existing {
        let question = format!(
            "A pending key from {} already waits at {}. Replace it (a certificate signed for it will then no longer fit)?",
            rfc3339(old.created),
            old.path.display()
        );
        if !args.force && !prompter.confirm(&question) {
            return Err(Error::usage(format!(
                "a pending key from {} already waits at {}: renew with its signed certificate first, or pass --force to replace it",
                rfc3339(old.created),
                old.path.display()
            )));
        }
    }
    if std::fs::symlink_metadata(&args.out).is_ok() && !args.force {
        return Err(Error::usage(format!(
            "{} exists: choose another --out, or pass --force to overwrite it",
            args.out.display()
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

    if let Some(old) = &existing {
        pending::remove_securely(&old.path)?;
    }
    if args.force && std::fs::symlink_metadata(&args.out).is_ok() {
        std::fs::remove_file(&args.out).map_err(|e| Error::io("replace", &args.out, &e))?;
    }
    fsx::write_private_file(&args.out, &pem, "write the certificate request")?;
    let pending_path = pending::save(&installed.path, &key, &placeholder, &store_password)?;
    let sha256 = crate::cert::hex_colons(&openssl::sha::sha256(&der));
    let mut audit = open_audit(global, "csr", prompter);
    audit.record(
        "csr",
        &[
            ("keystore", &installed.path.display().to_string()),
            ("csr", &args.out.display().to_string()),
            ("pending_key", &pending_path.display().to_string()),
            ("sha256", &sha256),
        ],
    );
    let (dns_names, ip_addresses) =
        crate::cert::subject_alt_names(&placeholder).unwrap_or_default();
    let location = location_args(&install);
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
                format!("have your CA sign {} with its Subject Alternative Names as requested", args.out.display()),
                format!("icg-renew {location}renew SIGNED.pem --chain CA-CHAIN.pem   (the key is found by itself)"),
            ],
        }),
        exit_code: 0,
    })
}

/// Opens a backup with the installation's password; `Err` carries why it cannot be read.
fn open_backup(path: &Path, install: &Install) -> Result<(Vec<u8>, Keystore)> {
    let bytes = fsx::read_input(path, MAX_FILE_SIZE, "read the backup")?;
    let store = Keystore::load(&bytes, install.store_password()?, path)?;
    Ok((bytes, store))
}

fn backups(
    global: &GlobalArgs,
    dir: Option<&Path>,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let install = resolve(global, prompter)?;
    let dir = backup_dir(dir, &install.keystore)?;
    let entries = fsx::list_backups(&install.keystore, &dir)?
        .into_iter()
        .map(|b| {
            let opened = open_backup(&b.path, &install).and_then(|(_, store)| {
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
    fsx::check_dir_is_private(&keystore_dir(&install.keystore)?, "the keystore directory")?;
    let dir = backup_dir(args.backup_dir.as_deref(), &install.keystore)?;
    fsx::check_dir_is_private(&dir, "the backup directory")?;
    let _lock = KeystoreLock::acquire(&install.keystore)?;
    for stale in fsx::remove_stale_temps(&install.keystore) {
        audit.record("cleanup", &[("removed", &stale.display().to_string())]);
    }
    let backup = match &args.backup {
        Some(path) => path.clone(),
        None => fsx::list_backups(&install.keystore, &dir)?
            .into_iter()
            .next()
            .map(|b| b.path)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "no backup of {} in {}: name one, or pass --backup-dir DIR",
                        install.keystore.display(),
                        dir.display()
                    ),
                )
            })?,
    };
    let (bytes, store) = open_backup(&backup, &install)?;
    let entry = store.server_entry(install.alias.as_deref(), &backup, &install.alias_option())?;
    let leaf = entry.certs[0].clone();
    let fingerprint = crate::cert::sha256_fingerprint(&leaf);
    let confirm = confirm_settings(&args.restart, install.port)?;
    // The keystore being replaced is saved first, so that a rollback can be undone too (after a renewal
    // with a key made by `csr`, it holds the only copy of that key).
    let current = fsx::read_bounded(&install.keystore, MAX_FILE_SIZE, "read the keystore")?;
    let saved_current = if current == bytes {
        None
    } else {
        let saved = fsx::make_backup(&install.keystore, &current, &dir, clock.now)?;
        audit.record(
            "backup",
            &[
                ("keystore", &install.keystore.display().to_string()),
                ("backup", &saved.path.display().to_string()),
            ],
        );
        Some(saved.path)
    };
    audit.record(
        "rollback",
        &[
            ("keystore", &install.keystore.display().to_string()),
            ("backup", &backup.display().to_string()),
            ("sha256", &fingerprint),
        ],
    );
    crate::interrupt::install();
    let (steps, outcome) = renew::rollback(
        &install.keystore,
        &bytes,
        &confirm,
        &fingerprint,
        prompter.observer(),
        &mut audit,
    );
    let (result, error, manual_steps, exit_code) = match outcome {
        Ok(()) => (RollbackResult::Restored, None, Vec::new(), 0),
        Err(e) => (
            RollbackResult::Failed,
            Some(e.message),
            renew::manual_restore_steps(&backup, &install.keystore, &confirm.restart),
            ErrorKind::RollbackFailed.exit_code(),
        ),
    };
    audit.record(
        if exit_code == 0 {
            "restored"
        } else {
            "rollback-failed"
        },
        &[("keystore", &install.keystore.display().to_string())],
    );
    Ok(Finished {
        output: Output::Rollback(RollbackReport {
            result,
            keystore: install.keystore.clone(),
            backup,
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

/// A private, new directory under the system temp dir.
fn fresh_temp_dir(prefix: &str) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let mut nonce = [0u8; 6];
    openssl::rand::rand_bytes(&mut nonce).map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    let name: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("{prefix}-{name}"));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| Error::io("create", &dir, &e))?;
    Ok(dir)
}

/// `demo`: a sandbox in a temp dir and a complete renewal in it, restart and confirmation skipped.
fn demo(global: &GlobalArgs, keep: bool, clock: Clock) -> Result<Finished> {
    let dir = fresh_temp_dir("icg-renew-demo")?;
    let result = demo_in(&dir, global, keep, clock);
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
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
    let before = status_report(&Installed::load(&install)?, 30, 7, clock);
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
        no_rollback: false,
        backup_dir: None,
        dry_run: false,
    };
    let mut audit = AuditLog::open(&sandbox_global.log_file, "demo");
    let renew = renew_install(
        &mut install,
        &args,
        &mut Defaults(renew::Silent),
        &mut audit,
        clock,
    )?;
    let after = status_report(&Installed::load(&install)?, 30, 7, clock);
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
