//! The transaction: interrupted or raced before the change, a read-back that differs, the restart of the ICG, a
//! confirmation that fails, and how a renewal or restore ended when it did (rolled back, left in place, failed
//! twice).

use super::*;

/// The transaction: what failed, with its facts; `Display` is the operator's one line.
#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
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
    /// The gateway serves `what`, and the ICG's own check-status says `err`: it holds no valid certificate.
    #[error("the gateway serves {what}, but the ICG itself says err on /usg/check-status: it holds no valid certificate")]
    RejectedByIcg { what: String },
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
    /// The renewal failed before the new keystore replaced `keystore` (`failure`, whose kind it keeps): the
    /// installed keystore is as it was, and what the run made is removed.
    #[error("{failure}; icg-renew left the installed keystore {} untouched", keystore.shown())]
    NotReplaced {
        #[source]
        failure: Box<Error>,
        keystore: PathBuf,
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
    /// The restart `command` ended with `status`; `last_line` is the last line it printed (empty: nothing).
    #[error(
        "the restart ({command}) failed ({}){}",
        ended(status),
        said(last_line)
    )]
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
}

impl TransactionError {
    /// The category that decides the exit code and the JSON `kind`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InterruptedBeforeReplace => ErrorKind::Aborted,
            Self::KeystoreChangedMeanwhile { .. }
            | Self::ReadBackDiffers { .. }
            | Self::ReadBackUnreadable { .. }
            | Self::RestoreReadBackDiffers { .. }
            | Self::ServedButRefused { .. }
            | Self::RejectedByIcg { .. }
            | Self::NotServedInTime { .. }
            | Self::RestartPipe { .. }
            | Self::RestartNotStarted { .. }
            | Self::RestartFailed { .. }
            | Self::RestartTimedOut { .. }
            | Self::RestartWait { .. } => ErrorKind::Io,
            Self::RenewalRolledBack { .. } => ErrorKind::RolledBack,
            Self::RenewalLeftInPlace { .. }
            | Self::RollbackFailedToo { .. }
            | Self::RestoreUnconfirmed { .. } => ErrorKind::RollbackFailed,
            Self::NoRestartMethod { .. } => ErrorKind::NotFound,
            Self::RestoreNotDone { failure, .. } | Self::NotReplaced { failure, .. } => {
                failure.kind()
            }
        }
    }
}

/// How a process ended, in words: `exit status 1`, `killed by signal 9`.
fn ended(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// What a restart printed last, after its failure: `; its last line: …`, or that it printed nothing.
fn said(last_line: &str) -> String {
    if last_line.is_empty() {
        " and printed nothing".into()
    } else {
        format!("; its last line: {last_line}")
    }
}
