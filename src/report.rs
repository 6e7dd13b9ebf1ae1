//! What each command answers, as plain values: the JSON shapes of the contract (field names and order as it
//! gives them), which the human renderer also reads. Holds no logic beyond construction.

use crate::cert::CertSummary;
use crate::checks::Check;
use crate::service::{HealthCheck, IcgStatus, Restart};
use serde::{Serialize, Serializer};
use std::path::PathBuf;

/// `status`'s verdict, ordered from good to bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    Warning,
    Critical,
}

/// `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub keystore: PathBuf,
    pub format: &'static str,
    pub alias: String,
    pub certificate: CertSummary,
    pub chain: Vec<CertSummary>,
    pub state: State,
    /// The state the keystore's certificate alone gives (its validity and expiry), before the gateway is
    /// heard; for the wording only.
    #[serde(skip)]
    pub expiry_state: State,
    /// What the running gateway serves and says (`None`: `--no-probe`).
    pub served: Option<ServedReport>,
    /// Extension: a request made by `csr` that waits for its signed certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingInfo>,
    /// Extension: a renewal scheduled with `renew --at` that waits for its time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<Waiting>,
    /// Extension: the thresholds the state was judged by.
    pub warn_days: i64,
    pub crit_days: i64,
}

/// What the running gateway serves and says, as `status` saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ServedReport {
    pub reachable: bool,
    /// SHA-256 of the served leaf.
    pub sha256: Option<String>,
    /// Whether that leaf is the keystore's (`None` when nothing was served).
    pub same_as_keystore: Option<bool>,
    pub icg_status: Option<IcgStatus>,
    /// For the plain output only: the port asked, and what was seen besides (why it is unreachable, why
    /// there is no verdict).
    #[serde(skip)]
    pub port: u16,
    #[serde(skip)]
    pub note: Option<String>,
}

/// A pending key of `csr`: where, since when, for which names.
#[derive(Debug, Clone, Serialize)]
pub struct PendingInfo {
    pub path: PathBuf,
    pub created: String,
    pub subject: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
}

/// `csr`.
#[derive(Debug, Clone, Serialize)]
pub struct CsrReport {
    pub csr: PathBuf,
    pub pending_key: PathBuf,
    pub key_type: String,
    pub subject: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    /// SHA-256 of the DER request, upper-case hex with colons.
    pub sha256: String,
    pub replaced_pending: bool,
    pub next_steps: Vec<String>,
}

/// `verify`, and the first part of `renew`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub compatible: bool,
    pub checks: Vec<Check>,
    pub current: CertSummary,
    pub new: CertSummary,
    /// Extension: what the new material file turned out to be.
    pub material: MaterialInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaterialInfo {
    pub path: PathBuf,
    pub format: String,
    /// The chain that would be written, leaf to root.
    pub chain: Vec<CertSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RenewResult {
    Renewed,
    Incompatible,
    RolledBack,
    RollbackFailed,
    DryRun,
    /// An error stopped the renewal before the new keystore replaced the old one: the installed keystore is
    /// untouched, and what the run made (its backup, the temporary file) is removed.
    Failed,
}

/// What the ICG's `/usg/check-status` said before the change and after the last restart (`None`: not
/// asked, not running, or no endpoint).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IcgStatusPair {
    pub before: Option<IcgStatus>,
    pub after: Option<IcgStatus>,
}

/// One step of the transaction and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    pub ms: u64,
    /// Extension: what the step did or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The step failed (its `detail` is the error), for the human outcome not to repeat it.
    #[serde(skip)]
    pub failed: bool,
}

/// `renew`: everything `verify` has, plus the transaction's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RenewReport {
    #[serde(flatten)]
    pub verify: VerifyReport,
    pub result: RenewResult,
    pub keystore: PathBuf,
    pub backup: Option<PathBuf>,
    pub steps: Vec<Step>,
    pub downtime_ms: Option<u64>,
    pub icg_status: IcgStatusPair,
    /// Extension: what went wrong, and what to do by hand when the rollback failed too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Extension: the error's kind, as an error document has it (with `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manual_steps: Vec<String>,
    /// Extension: the plan, for `--dry-run` and the human summary.
    pub plan: Plan,
}

/// What a renewal will do, shown before it does it.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub keystore: PathBuf,
    pub format: &'static str,
    pub protection: String,
    pub alias: String,
    pub backup_dir: PathBuf,
    #[serde(serialize_with = "describe_restart")]
    pub restart: Restart,
    #[serde(serialize_with = "describe_health_check")]
    pub health_check: HealthCheck,
    pub rollback: bool,
    /// The command that undoes the renewal, less the backup's path.
    pub undo: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RollbackResult {
    Restored,
    Failed,
}

/// `rollback`.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub result: RollbackResult,
    pub keystore: PathBuf,
    pub backup: PathBuf,
    /// From the restart until the restored certificate was served; `None` without restart or confirmation.
    pub downtime_ms: Option<u64>,
    pub icg_status: IcgStatusPair,
    /// Extension: where the keystore that was replaced was saved first (`None` when it equalled the backup).
    pub saved_current: Option<PathBuf>,
    /// Extensions: the certificate now installed, the steps, and what went wrong.
    pub certificate: Option<CertSummary>,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manual_steps: Vec<String>,
    /// Extension: the command that undoes this rollback, less the saved keystore's path (`saved_current`).
    pub undo: String,
}

/// One line of `backups`.
#[derive(Debug, Clone, Serialize)]
pub struct BackupEntry {
    pub path: PathBuf,
    pub created: String,
    /// `None` when the backup cannot be opened with the current password (an extension: `error` says why).
    pub certificate: Option<CertSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Extension: the next successful renewal removes this backup (`--keep-backups`).
    pub removed_by_next_renewal: bool,
    /// Extension: `renewal` (the keystore before a renewal; what a plain `rollback` restores) or `rollback`
    /// (the keystore a rollback replaced; restored only by name).
    pub made_before: &'static str,
}

/// `sandbox`.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxReport {
    pub root: PathBuf,
    pub config: PathBuf,
    pub keystore: PathBuf,
    pub new_material: PathBuf,
    pub files: Vec<PathBuf>,
    pub commands: Vec<String>,
}

/// `demo`: the sandbox it built and the renewal it ran there.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub sandbox: SandboxReport,
    pub before: StatusReport,
    pub renew: RenewReport,
    pub after: StatusReport,
    pub kept: bool,
}

/// `inbox`: what the drop folder held and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct InboxReport {
    pub dir: PathBuf,
    /// The material file renewed with (`None`: nothing was ready).
    pub taken: Option<PathBuf>,
    /// Where it was moved (`done/NAME` or `failed/NAME`) and its result document.
    pub filed_as: Option<PathBuf>,
    pub result_file: Option<PathBuf>,
    /// Older material moved to `failed/` unused, newest first.
    pub superseded: Vec<PathBuf>,
    /// The newest file, left in place because it was still changing when the wait ran out.
    pub still_being_written: Option<PathBuf>,
    pub renew: Option<Box<RenewReport>>,
    /// With `--at`: the renewal checked and kept for later (as `renew --at` answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<Box<ScheduledReport>>,
    /// What stopped the renewal before it produced a report.
    pub error: Option<String>,
}

/// `renew --at` and `scheduled`: what was scheduled, what waits, what was refused, moved, cancelled or run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ScheduledReport {
    /// `scheduled` when this run scheduled a renewal (then `id` and `at` name it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Older schedulings of the same keystore that this one replaced.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<String>,
    /// What runs it: the timer enabled, or what to set up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_by: Option<String>,
    pub spool: std::path::PathBuf,
    pub waiting: Vec<Waiting>,
    /// Missed by more than 12 hours: moved to the same time a later day.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<Waiting>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<crate::schedule::Refused>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ran: Vec<Ran>,
}

/// One scheduled renewal, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    pub id: String,
    pub at: String,
    pub keystore: std::path::PathBuf,
    pub new_sha256: String,
    pub new_not_after: String,
    pub scheduled: String,
    pub how: String,
}

/// A due renewal that was run: its result word and exit code, and its report or error.
#[derive(Debug, Clone, Serialize)]
pub struct Ran {
    pub id: String,
    pub result: String,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew: Option<Box<RenewReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything a command can answer.
#[derive(Debug, Clone)]
pub enum Output {
    Status(StatusReport),
    Verify(VerifyReport),
    Renew(Box<RenewReport>),
    Rollback(RollbackReport),
    Backups(Vec<BackupEntry>),
    Sandbox(SandboxReport),
    Csr(CsrReport),
    Demo(Box<DemoReport>),
    Inbox(Box<InboxReport>),
    Scheduled(Box<ScheduledReport>),
}

/// The plan's restart in the contract's JSON: the command, shell-quoted, or `none (…)`.
fn describe_restart<S: Serializer>(restart: &Restart, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&restart.describe())
}

/// The plan's confirmation in the contract's JSON: what must be seen, or why nothing is checked.
fn describe_health_check<S: Serializer>(
    health: &HealthCheck,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&health.describe())
}
