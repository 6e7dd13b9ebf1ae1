//! Files icg-renew writes for other programs to read (the Prometheus textfile, the drop folder's result
//! documents): replaced atomically, so a reader sees the old file or the new one, never a half-written one.

use crate::error::Result;
use crate::fsx;
use std::path::Path;

/// Writes `data` to a new temporary file beside `path` (created exclusively, never through a link, with
/// exactly `mode`), flushes it, renames it over `path` and flushes the directory. `path` is resolved once
/// ([`fsx::resolve_parent`]): no directory above the file's may be another account's, and a link at `path`
/// itself is replaced, not followed. `doing` words the error ("write the metrics file").
pub fn replace(path: &Path, data: &[u8], mode: u32, doing: &str) -> Result<()> {
    let at = fsx::resolve_parent(path, fsx::Trust::OUTPUT)?;
    at.dir.replace(&at.name, data, mode, doing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
