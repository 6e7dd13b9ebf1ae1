//! The audit log: one line per action (time, uid, pid, action, keystore, fingerprints, backup, result,
//! timings), appended to `--log-file`. Lines are built from fields the caller chooses, and no field ever
//! holds a password or key. A log that cannot be written is a warning, never a failure.

use crate::cert::{rfc3339, Clock};
use crate::error::Error;
use crate::error::FileError;
use crate::fsx;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct AuditLog {
    file: Option<File>,
    pub path: PathBuf,
    /// Why the log cannot be written, for one warning.
    pub problem: Option<Error>,
    command: String,
}

impl AuditLog {
    /// Opens (creating 0600) the log for appending; `command` names the icg-renew command on every line.
    /// The path is resolved once ([`fsx::resolve_parent`]: no directory above the log's that another
    /// account controls), and only a regular file of root's with one link is appended to: a link, a FIFO
    /// or a hard link in its place is a warning, never a write elsewhere and never a hang.
    pub fn open(path: &Path, command: &str) -> AuditLog {
        let opened = fsx::resolve_parent(path, fsx::Trust::OUTPUT)
            .and_then(|at| at.dir.open_append(&at.name, "append to the audit log"));
        let (file, problem) = match opened {
            Ok(f) => (Some(f), None),
            Err(Error::Io { source, .. }) => (
                None,
                Some(Error::File(FileError::AuditLogNotOpened {
                    path: path.to_path_buf(),
                    source,
                })),
            ),
            Err(other) => (None, Some(other)),
        };
        AuditLog {
            file,
            path: path.to_path_buf(),
            problem,
            command: command.to_string(),
        }
    }

    /// Appends one line: `action` and `key=value` fields, values quoted when they hold spaces.
    pub fn record(&mut self, action: &str, fields: &[(&str, &str)]) {
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
