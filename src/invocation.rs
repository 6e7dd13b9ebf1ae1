//! How a person runs this binary again: every command icg-renew prints for someone to type (the sandbox's
//! "Try:" lines, the undo line, the next steps) starts with [`program`], which is `icg-renew` when that name on
//! PATH is this very binary, and else the absolute path of the running binary (a fresh clone's
//! `target/release/icg-renew` is not on PATH). Words are shell-quoted by [`crate::shown::quote`].

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The binary's name as installed.
pub const NAME: &str = "icg-renew";

/// The first word of a printed command, already shell-quoted: `icg-renew`, or this binary's absolute path
/// when `icg-renew` on PATH is missing or another file.
pub fn program() -> &'static str {
    static PROGRAM: OnceLock<String> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let exe = std::env::current_exe().ok();
        let path = std::env::var_os("PATH").unwrap_or_default();
        match exe {
            Some(exe) if !same_file_on_path(&exe, &path) => crate::shown::quote(exe.as_os_str()),
            _ => NAME.to_string(),
        }
    })
}

/// Whether `icg-renew` found through `path` (a PATH value) is the file `exe`.
fn same_file_on_path(exe: &Path, path: &std::ffi::OsStr) -> bool {
    let running = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(NAME))
        .find(|candidate| is_executable(candidate))
        .and_then(|found| std::fs::canonicalize(found).ok())
        .is_some_and(|found: PathBuf| found == running)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_not_on_path_is_named_by_its_absolute_path() {
        let exe = std::env::current_exe().unwrap();
        assert!(!same_file_on_path(
            &exe,
            std::ffi::OsStr::new("/nonexistent")
        ));
        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&exe, linked.path().join(NAME)).unwrap();
        assert!(same_file_on_path(&exe, linked.path().as_os_str()));
    }
}
