//! The audit log: one line per action (time, uid, pid, action, keystore, fingerprints, backup, result,
//! timings), appended to `--log-file`. Lines are built from fields the caller chooses, and no field ever
//! holds a password or key. A log that cannot be written is a warning, never a failure.

use crate::error::Error;
use crate::error::FileError;
use crate::fsx;
use crate::utc::{rfc3339, Clock};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct AuditLog {
    file: Option<File>,
    /// Where the log is to be made at the first line, when it does not exist yet.
    later: Option<fsx::Resolved>,
    pub path: PathBuf,
    /// Why the log cannot be written, for one warning.
    pub problem: Option<Error>,
    command: String,
}

impl AuditLog {
    /// Opens the log for appending; `command` names the icg-renew command on every line. The path is
    /// resolved once ([`fsx::resolve_parent`]: no directory above the log's that another account controls),
    /// and only a regular file of root's with one link is appended to: a link, a FIFO or a hard link in its
    /// place is a warning, never a write elsewhere and never a hang. A log that does not exist yet is made
    /// (0600) at the first line, so that a run that records nothing (`--dry-run`, a stop before any change)
    /// leaves no file behind; its directory must be writable now, or that is the warning.
    pub fn open(path: &Path, command: &str) -> AuditLog {
        let mut log = AuditLog {
            file: None,
            later: None,
            path: path.to_path_buf(),
            problem: None,
            command: command.to_string(),
        };
        match fsx::resolve_parent(path, fsx::Trust::OUTPUT) {
            Ok(at) if at.dir.stat_of(&at.name).is_none() => match at.dir.writable() {
                Ok(()) => log.later = Some(at),
                Err(e) => log.fail(e),
            },
            Ok(at) => match at
                .dir
                .open_append(&at.name, "append to the audit log", false)
            {
                Ok(file) => log.file = Some(file),
                Err(e) => log.fail(e),
            },
            Err(e) => log.fail(e),
        }
        log
    }

    /// Keeps why the log cannot be written (an I/O error as the audit log's own error, so the command
    /// layer can name the option that moves it).
    fn fail(&mut self, error: Error) {
        self.problem = Some(match error {
            Error::Io { source, .. } => Error::File(FileError::AuditLogNotOpened {
                path: self.path.clone(),
                source,
            }),
            other => other,
        });
    }

    /// Appends one line: `action` and `key=value` fields, values quoted when they hold spaces.
    pub fn record(&mut self, action: &str, fields: &[(&str, &str)]) {
        if let Some(at) = self.later.take() {
            match at
                .dir
                .open_append(&at.name, "append to the audit log", true)
            {
                Ok(file) => self.file = Some(file),
                Err(e) => self.fail(e),
            }
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut line = format!(
            "{} uid={} pid={} command={} action={action}",
            rfc3339(Clock::system().now),
            rustix::process::getuid().as_raw(),
            std::process::id(),
            self.command
        );
        for (key, value) in fields {
            // One line per action, whatever a name holds: control characters are escaped.
            let value = crate::shown::text(value);
            if value.is_empty() {
                // A field without a value (no downtime without a restart) is left out, not written empty.
                continue;
            }
            if value.contains([' ', '"', '=']) {
                line.push_str(&format!(" {key}=\"{}\"", value.replace('"', "'")));
            } else {
                line.push_str(&format!(" {key}={value}"));
            }
        }
        line.push('\n');
        if let Err(source) = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
        {
            self.problem = Some(Error::File(FileError::AuditLogNotWritten {
                path: self.path.clone(),
                source,
            }));
            self.file = None;
        }
    }
}
