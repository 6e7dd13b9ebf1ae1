//! Where new material may be lying, for an operator who did not name it: files with the usual endings in the
//! working directory, the invoking user's home and /root, newest first, owned by root or that user (never
//! another account's files); and whether a file holds the certificate for a given key.

use crate::fsx;
use crate::fsx::MAX_FILE_SIZE;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file that may be new certificate material, for the operator to choose from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub size: u64,
    /// Modification time, Unix seconds.
    pub modified: i64,
    /// Why this one may be the right one (for example: signed for the pending request).
    pub note: Option<String>,
}

/// Whether the file at `path` holds a certificate (PEM or DER) for `key`: a signed answer to a request.
pub fn holds_certificate_for(path: &Path, key: &PKey<Private>) -> bool {
    let Ok(data) = fsx::read_input(path, 1024 * 1024, "read") else {
        return false;
    };
    let certs = X509::stack_from_pem(&data)
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| X509::from_der(&data).ok().map(|c| vec![c]));
    certs
        .unwrap_or_default()
        .iter()
        .any(|c| c.public_key().is_ok_and(|p| p.public_eq(key)))
}

/// File endings a UMS export or a CA's answer usually has.
pub const CANDIDATE_EXTENSIONS: &[&str] = &["icg", "p12", "pfx", "jks", "pem", "crt", "cer"];
/// Most directory entries looked at in one search, so that a huge home directory cannot stall the prompt.
pub(super) const MAX_VISITED: usize = 20_000;

/// Files with a candidate ending under `places` (each with its own depth), newest first, without
/// following symbolic links, at most `limit` of them; with `owners`, only files one of those uids owns
/// (another account's file could be planted to become the pre-selected choice).
pub fn find_candidates(
    places: &[(PathBuf, usize)],
    owners: Option<&[u32]>,
    limit: usize,
) -> Vec<Candidate> {
    let mut found: Vec<Candidate> = Vec::new();
    let mut visited = 0usize;
    for (dir, depth) in places {
        for entry in walkdir::WalkDir::new(dir)
            .follow_links(false)
            .max_depth(*depth)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            visited += 1;
            if visited > MAX_VISITED {
                break;
            }
            let wanted = entry.file_type().is_file()
                && entry
                    .path()
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| {
                        CANDIDATE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                    });
            let Some(meta) = wanted.then(|| entry.metadata().ok()).flatten() else {
                continue;
            };
            if meta.len() == 0
                || meta.len() > MAX_FILE_SIZE
                || owners.is_some_and(|owners| !owners.contains(&meta.uid()))
                || found.iter().any(|c| c.path == entry.path())
            {
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64);
            found.push(Candidate {
                path: entry.path().to_path_buf(),
                size: meta.len(),
                modified,
                note: None,
            });
        }
    }
    found.sort_by(|a, b| {
        b.modified
            .cmp(&a.modified)
            .then_with(|| a.path.cmp(&b.path))
    });
    found.truncate(limit);
    found
}

/// Where the operator's UMS export lands, and whose files are offered: the current directory, the
/// invoking user's home (`$SUDO_USER`'s under sudo) and `/root`; files owned by root or the invoking user.
/// Never other accounts' homes: the ICG's service account could plant a file there.
pub struct Places {
    pub dirs: Vec<(PathBuf, usize)>,
    pub owners: Vec<u32>,
}

pub fn candidate_places() -> Places {
    let mut dirs: Vec<(PathBuf, usize)> = Vec::new();
    let mut owners = vec![0];
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push((cwd, 2));
    }
    if let Some((uid, home)) = fsx::invoking_user() {
        owners.push(uid);
        dirs.push((home, 3));
    }
    dirs.push((PathBuf::from("/root"), 3));
    dirs.retain(|(p, _)| p.is_dir());
    dirs.dedup();
    Places { dirs, owners }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_candidates_newest_first_by_ending() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.p12");
        let new = dir.path().join("sub/keystore.icg");
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(&old, b"x").unwrap();
        std::fs::write(&new, b"y").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"z").unwrap();
        std::fs::write(dir.path().join("empty.pem"), b"").unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(past)
            .unwrap();
        let found: Vec<PathBuf> = find_candidates(&[(dir.path().to_path_buf(), 3)], None, 10)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(found, vec![new, old]);
        assert!(find_candidates(&[(dir.path().to_path_buf(), 1)], None, 10)
            .iter()
            .all(|c| !c.path.ends_with("keystore.icg")));
    }

    #[test]
    fn another_accounts_file_is_not_offered_even_when_newest() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("keystore.icg");
        let planted = dir.path().join("planted.icg");
        std::fs::write(&mine, b"x").unwrap();
        std::fs::write(&planted, b"y").unwrap();
        let me = std::fs::metadata(&mine).unwrap().uid();
        let other = me + 4321;
        let future =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(4_000_000_000);
        std::fs::File::options()
            .write(true)
            .open(&planted)
            .unwrap()
            .set_modified(future)
            .unwrap();
        if std::os::unix::fs::chown(&planted, Some(other), None).is_err() {
            eprintln!("SKIPPED another_accounts_file_is_not_offered: chown needs root");
            return;
        }
        let places = [(dir.path().to_path_buf(), 1)];
        let offered: Vec<PathBuf> = find_candidates(&places, Some(&[0, me]), 10)
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(offered, vec![mine]);
        assert_eq!(find_candidates(&places, None, 10)[0].path, planted);
    }

    #[test]
    fn the_list_never_searches_other_homes() {
        let places = candidate_places();
        assert!(places.dirs.iter().all(|(d, _)| d != Path::new("/home")));
        assert!(places.owners.contains(&0));
    }
}
