//! Files icg-renew writes for other programs to read (the Prometheus textfile, the drop folder's result
//! documents): replaced atomically, so a reader sees the old file or the new one, never a half-written one.

use crate::error::{CommandError, FileError};
use crate::error::{Error, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Writes `data` to a new temporary file beside `path` (created exclusively, never through a link, with
/// exactly `mode`), flushes it, renames it over `path` and flushes the directory. A link at `path` itself is
/// replaced, not followed. `doing` words the error ("write the metrics file").
pub fn replace(path: &Path, data: &[u8], mode: u32, doing: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        Error::File(FileError::NamesNoFile {
            doing: doing.to_string(),
            path: path.to_path_buf(),
        })
    })?;
    let temp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), nonce()?));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&temp)
        .and_then(|mut file| {
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            file.write_all(data)?;
            file.sync_all()
        });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::io(doing, path, &e));
    }
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("flush the directory", &dir, &e))
}

fn nonce() -> Result<String> {
    let mut bytes = [0u8; 6];
    openssl::rand::rand_bytes(&mut bytes).map_err(|source| {
        Error::Command(CommandError::OpenSslFailed {
            doing: "making a temporary file name".into(),
            source,
        })
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_link_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let out = dir.path().join("metrics.prom");
        std::os::unix::fs::symlink(&victim, &out).unwrap();
        replace(&out, b"new\n", 0o644, "write").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&out).unwrap(), b"new\n");
        assert!(!std::fs::symlink_metadata(&out)
            .unwrap()
            .file_type()
            .is_symlink());
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }
}
