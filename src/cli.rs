//! The command line of the contract (`docs/cli.md`) as clap definitions: commands,
//! options, environment variables and help text. Touches nothing on disk.

use clap::{Args, Parser, Subcommand, ValueEnum};
use icg_renew::material::MaterialSource;
use icg_renew::service::{self, RestartChoice, RestartPlan};
use std::path::PathBuf;
use std::time::Duration;

/// The contract's exit codes of every command but `status`, as `--help` (and so the man pages) list them.
macro_rules! exit_codes {
    () => {
        concat!(
            "  0  success\n",
            "  1  error (unreadable or corrupt input, wrong password, I/O, keystore locked);\n",
            "     nothing was changed\n",
            "  2  usage error\n",
            "  3  incompatible: the new material failed a compatibility check; nothing was changed\n",
            "  4  failed after the keystore was changed: the backup was restored, the ICG restarted\n",
            "     and (unless --no-health-check) confirmed to serve the old certificate again\n",
            "  5  failed, and the rollback failed too (or --no-rollback): the message says exactly\n",
            "     what to do by hand\n",
        )
    };
}

/// `status`'s exit codes: the monitoring-plugin convention.
macro_rules! status_exit_codes {
    () => {
        concat!(
            "Exit codes of status (monitoring-plugin convention):\n",
            "  0  OK\n",
            "  1  WARNING: expires within --warn-days, or the gateway serves another certificate\n",
            "     than its keystore holds\n",
            "  2  CRITICAL: expires within --crit-days, expired, not yet valid, or the ICG says err\n",
            "  3  UNKNOWN: cannot be read, or bad arguments\n",
        )
    };
}

/// The audit log when `--log-file` is not given.
pub const DEFAULT_LOG_FILE: &str = "/var/log/icg-renew.log";

#[derive(Debug, Parser)]
#[command(
    name = "icg-renew",
    version,
    about = "Renew the TLS certificate of an IGEL Cloud Gateway on the gateway itself",
    long_about = "Renew the TLS certificate of an IGEL Cloud Gateway (ICG) on the gateway host: check the new \
certificate against the installed root and host names, rewrite the keystore in place with a backup, restart the \
ICG, confirm that it serves the new certificate and that the ICG itself says ok (its /usg/check-status), and \
roll back by itself if it does not.",
    after_help = concat!(
        "Exit codes (status has its own, below):\n",
        exit_codes!(),
        "\n",
        status_exit_codes!(),
        "\nStart with `icg-renew demo` to see a complete renewal in a throwaway sandbox."
    )
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// ICG installation root [default: /opt/IGEL/icg]
    #[arg(long, global = true, value_name = "DIR", env = "ICG_ROOT")]
    pub icg_root: Option<PathBuf>,
    /// Read this application-prod.yml instead of the one under the root
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Operate on this keystore instead of server.ssl.key-store from the configuration
    #[arg(long, global = true, value_name = "FILE")]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore password (else env ICG_RENEW_STORE_PASSWORD, else the configuration)
    #[arg(long, global = true, value_name = "FILE")]
    pub store_password_file: Option<PathBuf>,
    /// Print exactly one JSON document on stdout; no prompts, colours or progress
    #[arg(long, global = true)]
    pub json: bool,
    /// Never prompt; take defaults; fail when a needed value is missing (implied when stdin is not a terminal)
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// Audit log, one line per action
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = DEFAULT_LOG_FILE
    )]
    pub log_file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the certificate in the ICG's keystore and what the running gateway serves and says (exit 0 OK,
    /// 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
    #[command(after_help = status_exit_codes!())]
    Status(StatusArgs),
    /// Check new certificate material against the installed one; changes nothing
    #[command(after_help = concat!("Exit codes:\n", exit_codes!()))]
    Verify(VerifyArgs),
    /// Verify, back up, rewrite the keystore, restart the ICG, confirm, roll back on failure
    #[command(after_help = concat!("Exit codes:\n", exit_codes!()))]
    Renew(RenewArgs),
    /// Restore a backup (default: the newest) and restart the ICG
    #[command(
        after_help = concat!("Exit codes:\n", exit_codes!()),
        mut_arg("backup_dir", |arg| arg.help("Where backups are [default: the keystore's own directory]"))
    )]
    Rollback(RollbackArgs),
    /// List backups, newest first, with the certificate each one holds
    Backups(BackupsArgs),
    /// Make a key pair on this host and a certificate request with the installed names (the key never leaves)
    Csr(CsrArgs),
    /// Build a throwaway sandbox and perform a complete renewal in it
    Demo(DemoArgs),
    /// Create a realistic throwaway ICG installation under DIR
    Sandbox(SandboxArgs),
    /// Renew with the newest material file dropped into DIR, then move it to DIR/done or DIR/failed with
    /// its JSON result (exit codes as for renew)
    Inbox(InboxArgs),
    /// List renewals scheduled with `renew --at`; cancel one; or run those that are due (the timer does)
    Scheduled(ScheduledArgs),
}

/// Where scheduled renewals are kept: `renew --at` and `scheduled` take it.
#[derive(Debug, Args, Clone)]
pub struct ScheduleDirArg {
    /// Where scheduled renewals are kept (root's, 0700)
    #[arg(long, value_name = "DIR", default_value = icg_renew::schedule::DEFAULT_DIR)]
    pub schedule_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScheduledArgs {
    /// Remove this scheduled renewal (its material overwritten first)
    #[arg(long, value_name = "ID", conflicts_with = "run_due")]
    pub cancel: Option<String>,
    /// Apply the renewals that are due (what icg-renew-scheduled.timer runs every minute)
    #[arg(long)]
    pub run_due: bool,
    /// Take this RFC 3339 time as now (tests only: builds with the `failpoints` feature, never a release)
    #[cfg(feature = "failpoints")]
    #[arg(long, value_name = "TIME", hide = true, requires = "run_due")]
    pub now: Option<String>,
    #[command(flatten)]
    pub spool: ScheduleDirArg,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// WARNING when the certificate expires within this many days
    #[arg(long, value_name = "DAYS", default_value_t = icg_renew::monitoring::DEFAULT_WARN_DAYS)]
    pub warn_days: i64,
    /// CRITICAL when the certificate expires within this many days (or has expired)
    #[arg(long, value_name = "DAYS", default_value_t = icg_renew::monitoring::DEFAULT_CRIT_DAYS)]
    pub crit_days: i64,
    /// Also write the state as Prometheus metrics to FILE (node_exporter textfile format, replaced atomically)
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    #[command(flatten)]
    pub spool: ScheduleDirArg,
    /// Do not ask the running gateway what it serves and says (the keystore alone is judged)
    #[arg(long)]
    pub no_probe: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct MaterialArgs {
    /// Private key (PEM or DER; PKCS#8 or traditional) when NEW holds none
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// More CA certificates (PEM) to complete the chain
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// Password of NEW or of an encrypted key (else env ICG_RENEW_NEW_PASSWORD)
    #[arg(long, value_name = "FILE")]
    pub new_password_file: Option<PathBuf>,
    /// Which private-key entry of NEW to take when it has several
    #[arg(long, value_name = "ALIAS")]
    pub alias: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// New certificate material: JKS, PKCS#12, keystore.icg, PEM bundle, a PEM/DER certificate with --key, or
    /// a directory holding one PEM key and its chain [default: choose from the files found, on a terminal]
    #[arg(value_name = "NEW")]
    pub new: Option<PathBuf>,
    #[command(flatten)]
    pub material: MaterialArgs,
}

impl MaterialArgs {
    /// The options as the library's value.
    pub fn source(&self) -> MaterialSource {
        MaterialSource {
            key: self.key.clone(),
            chain: self.chain.clone(),
            password_file: self.new_password_file.clone(),
            alias: self.alias.clone(),
        }
    }
}

/// `--restart`'s value: the library's enum, wrapped so that the binary can give it clap's parsing and the
/// help of each value (the library knows no clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartArg(pub RestartChoice);

impl ValueEnum for RestartArg {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            RestartArg(RestartChoice::Auto),
            RestartArg(RestartChoice::Systemd),
            RestartArg(RestartChoice::Sysv),
            RestartArg(RestartChoice::None),
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self.0 {
            RestartChoice::Auto => PossibleValue::new("auto")
                .help("The systemd unit when systemd knows it, else /etc/init.d/tomcat"),
            RestartChoice::Systemd => PossibleValue::new("systemd")
                .help("systemctl restart of the unit --service names (default icg-server.service)"),
            RestartChoice::Sysv => PossibleValue::new("sysv")
                .help("/etc/init.d/tomcat restart (ICG 2.x without systemd)"),
            RestartChoice::None => PossibleValue::new("none").help(
                "Do not restart (the ICG keeps serving the old certificate until it is restarted)",
            ),
        })
    }
}

#[derive(Debug, Args, Clone)]
pub struct RestartArgs {
    /// How to restart the ICG
    #[arg(long, value_enum, default_value_t = RestartArg(RestartChoice::Auto))]
    pub restart: RestartArg,
    /// systemd unit of the ICG
    #[arg(long, value_name = "UNIT", default_value = service::DEFAULT_UNIT)]
    pub service: String,
    /// Restart by running CMD with /bin/sh -c instead (overrides --restart)
    #[arg(long, value_name = "CMD")]
    pub restart_command: Option<String>,
    /// How long to wait for the ICG to serve the certificate and say "ok" on /usg/check-status (also bounds the
    /// restart command)
    #[arg(long, value_name = "SECONDS", default_value_t = service::DEFAULT_HEALTH_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub health_timeout: u64,
    /// Do not confirm that the ICG serves the certificate after the restart
    #[arg(long)]
    pub no_health_check: bool,
    /// Accept the ICG's "warn" (no UMS server connected) after the restart although it said "ok" before
    #[arg(long)]
    pub allow_no_ums: bool,
}

impl RestartArgs {
    /// The options as the library's value.
    pub fn plan(&self) -> RestartPlan {
        RestartPlan {
            choice: self.restart.0,
            unit: self.service.clone(),
            command: self.restart_command.clone(),
            timeout: Duration::from_secs(self.health_timeout),
            health_check: !self.no_health_check,
            allow_no_ums: self.allow_no_ums,
        }
    }
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    /// New certificate material: JKS, PKCS#12, keystore.icg, PEM bundle, a PEM/DER certificate with --key, or
    /// a directory holding one PEM key and its chain (an ACME client's) [default: choose from the files
    /// found, on a terminal]
    #[arg(value_name = "NEW")]
    pub new: Option<PathBuf>,
    /// Run as an ACME client's deploy hook: take NEW from RENEWED_LINEAGE (certbot) or CERT_KEY_PATH and
    /// CERT_FULLCHAIN_PATH (acme.sh)
    #[arg(long, conflicts_with_all = ["new", "key"])]
    pub from_hook: bool,
    #[command(flatten)]
    pub material: MaterialArgs,
    #[command(flatten)]
    pub restart: RestartArgs,
    /// On failure, leave the new keystore in place
    #[arg(long)]
    pub no_rollback: bool,
    /// Run every check and show the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub backups: BackupArgs,
    /// Check now, renew at WHEN: HH:MM (the next such local time) or an RFC 3339 time; the material waits in
    /// --schedule-dir
    #[arg(long, value_name = "WHEN", conflicts_with = "dry_run")]
    pub at: Option<String>,
    #[command(flatten)]
    pub spool: ScheduleDirArg,
}

/// Where backups go and how many are kept: `renew`, `rollback` and `inbox` take the same pair.
#[derive(Debug, Args, Clone)]
pub struct BackupArgs {
    /// Where backups go [default: the keystore's own directory]
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// After success, remove (overwrite first) backups of this keystore beyond the newest N; 0 keeps all
    #[arg(long, value_name = "N", default_value_t = icg_renew::retention::DEFAULT_KEEP)]
    pub keep_backups: usize,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Backup to restore [default: the newest]
    #[arg(value_name = "BACKUP")]
    pub backup: Option<PathBuf>,
    #[command(flatten)]
    pub restart: RestartArgs,
    #[command(flatten)]
    pub backups: BackupArgs,
}

#[derive(Debug, Args)]
pub struct BackupsArgs {
    /// Where backups are [default: the keystore's own directory]
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Mark the backups the next renewal would remove when it keeps N (0: none)
    #[arg(long, value_name = "N", default_value_t = icg_renew::retention::DEFAULT_KEEP)]
    pub keep_backups: usize,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Directory to create the sandbox in (created if missing; must be empty if it exists)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Format of the sandbox's keystore
    #[arg(long, value_enum, default_value_t = SandboxFormat::Jks)]
    pub format: SandboxFormat,
    /// server.port written to the sandbox's configuration
    #[arg(long, value_name = "PORT", default_value_t = 8443)]
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxFormat {
    Jks,
    Pkcs12,
}

#[derive(Debug, Args)]
pub struct CsrArgs {
    /// Where to write the request (PEM)
    #[arg(long, value_name = "FILE", default_value = "icg-renew.csr")]
    pub out: PathBuf,
    /// Key type [default: like the installed key, at least rsa:2048]
    #[arg(long, value_name = "TYPE", value_parser = icg_renew::csr::KeyType::parse)]
    pub key_type: Option<icg_renew::csr::KeyType>,
    /// Replace an existing pending key and request file without asking
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the sandbox directory afterwards (its path is printed)
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct InboxArgs {
    /// The drop folder: writable only by root (and --group)
    #[arg(value_name = "DIR", default_value = "/var/lib/icg-renew/inbox")]
    pub dir: PathBuf,
    /// A group whose members may write to DIR too (name or number)
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Take a file only when it has not changed for this many seconds (a copy in progress is left alone)
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub settle: u64,
    /// How long to wait for the newest file to settle before leaving it for the next run
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub wait: u64,
    #[command(flatten)]
    pub restart: RestartArgs,
    #[command(flatten)]
    pub backups: BackupArgs,
    /// Check the material now, renew at WHEN (as `renew --at`): HH:MM (the next such local time) or an RFC
    /// 3339 time; the material waits in --schedule-dir and is filed in done/ as scheduled
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    #[command(flatten)]
    pub spool: ScheduleDirArg,
}
