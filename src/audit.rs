//! The audit log: one line per action (time, uid, pid, action, keystore, fingerprints, backup, result,
//! timings), appended to `--log-file`. Lines are built from fields the caller chooses, and no field ever
//! holds a password or key. A log that cannot be written is a warning, never a failure.

use crate::cert::{rfc3339, Clock};
use crate::error::Error;
use crate::error::FileError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
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
    pub fn open(path: &Path, command: &str) -> AuditLog {
        let opened = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path);
        let (file, problem) = match opened {
            Ok(f) => (Some(f), None),
            Err(source) => (
                None,
                Some(Error::File(FileError::AuditLogNotOpened {
                    path: path.to_path_buf(),
                    source,
                })),
            ),
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
