//! New material as a directory of PEM files, the way ACME clients leave it: certbot's lineage
//! (`live/NAME/` with `privkey.pem`, `fullchain.pem`, `cert.pem`, `chain.pem`, each a symbolic link into
//! `archive/NAME/`), acme.sh's domain directory (`NAME.key`, `fullchain.cer`, ...), the files `step ca renew`
//! rewrites. Gathers the private keys and certificates of every file into one PEM text for `material`;
//! other files (README, CSRs, configuration) contribute nothing.
//!
//! The directory is resolved once ([`fsx::resolve_dir`]) and listed through its descriptor. A symbolic link
//! in it is followed by the same resolver (never through a directory another account can change) and only
//! to a file inside the lineage's own configuration directory (for `…/live/NAME` the directory above `live`,
//! else the directory itself). A link anywhere else is refused. See docs/decisions.md.

use crate::error::MaterialError;
use crate::error::{Error, Result};
use crate::fsx;
use crate::fsx::MAX_FILE_SIZE;
use std::path::{Path, PathBuf};

/// Most entries looked at in a material directory.
const MAX_ENTRIES: usize = 64;

/// The private keys and certificates found in the files of `dir`, as one PEM text, each block once; and
/// the names of the files that contributed.
pub fn read(dir: &Path) -> Result<(Vec<u8>, Vec<String>)> {
    let held = fsx::resolve_dir(dir, fsx::Trust::operator())?;
    held.check(fsx::Trust::operator(), "the material directory")?;
    let trust_root = trust_root(&held.path);
    let mut names = held.names()?;
    if names.len() > MAX_ENTRIES {
        return Err(Error::Material(MaterialError::MaterialDirectoryTooLarge {
            dir: dir.to_path_buf(),
            max: MAX_ENTRIES,
        }));
    }
    names.sort();
    let mut seen: Vec<String> = Vec::new();
    let mut bundle = Vec::new();
    let mut used = Vec::new();
    for entry in names {
        let name = entry.to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        const DOING: &str = "read the new certificate material";
        let data = match held.meta_of(&entry) {
            Some((_, true)) => held.read(&entry, MAX_FILE_SIZE, DOING)?.0,
            Some(_) if held.is_link(&entry) => {
                let target = linked_file(&held.join(&entry), &trust_root)?;
                target.dir.read(&target.name, MAX_FILE_SIZE, DOING)?.0
            }
            _ => continue,
        };
        let mut contributed = false;
        for block in pem_blocks(&data) {
            let normal: String = block.split_whitespace().collect();
            if !seen.contains(&normal) {
                seen.push(normal);
                bundle.extend_from_slice(block.as_bytes());
                bundle.push(b'\n');
            }
            contributed = true;
        }
        if contributed {
            used.push(name);
        }
        if bundle.len() as u64 > MAX_FILE_SIZE {
            return Err(Error::Material(
                MaterialError::MaterialDirectoryTooMuchPem {
                    dir: dir.to_path_buf(),
                    limit: MAX_FILE_SIZE,
                },
            ));
        }
    }
    if used.is_empty() {
        return Err(Error::Material(MaterialError::MaterialDirectoryEmpty {
            dir: dir.to_path_buf(),
        }));
    }
    let keys = seen
        .iter()
        .filter(|b| b.contains("PRIVATEKEY-----"))
        .count();
    if keys > 1 {
        return Err(Error::Material(MaterialError::SeveralKeys {
            file: dir.to_path_buf(),
            count: keys,
            directory: true,
        }));
    }
    Ok((bundle, used))
}

/// The directory links may lead into: certbot's configuration directory for a lineage `…/live/NAME`,
/// else the material directory itself.
fn trust_root(real_dir: &Path) -> PathBuf {
    match real_dir.parent() {
        Some(live) if live.file_name().is_some_and(|n| n == "live") => {
            live.parent().unwrap_or(live).to_path_buf()
        }
        _ => real_dir.to_path_buf(),
    }
}

/// The file a link in a material directory leads to, resolved once, when it lies inside `trust_root`.
fn linked_file(link: &Path, trust_root: &Path) -> Result<fsx::Resolved> {
    let target = fsx::resolve(link, fsx::Trust::operator())?;
    if !target.path().starts_with(trust_root) {
        return Err(Error::Material(MaterialError::MaterialLinkOutside {
            link: link.to_path_buf(),
            target: target.path(),
            trust_root: trust_root.to_path_buf(),
        }));
    }
    Ok(target)
}

/// The PEM blocks of a private key or certificate in `data` (other blocks, such as requests, are left out).
fn pem_blocks(data: &[u8]) -> Vec<&str> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Vec::new();
    };
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = after.find(&end_marker) else {
            break;
        };
        let end = start + 11 + end + end_marker.len();
        if label == "CERTIFICATE" || label.ends_with("PRIVATE KEY") {
            blocks.push(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_text_are_left_out_and_blocks_kept_whole() {
        let text = b"hello\n-----BEGIN CERTIFICATE REQUEST-----\nAA\n-----END CERTIFICATE REQUEST-----\n-----BEGIN CERTIFICATE-----\nBB\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nCC\n-----END EC PRIVATE KEY-----";
        let blocks = pem_blocks(text);
        assert_eq!(blocks.len(), 2);
        assert!(
            blocks[0].starts_with("-----BEGIN CERTIFICATE-----")
                && blocks[0].ends_with("CERTIFICATE-----")
        );
        assert!(blocks[1].ends_with("-----END EC PRIVATE KEY-----"));
    }

    #[test]
    fn the_trust_root_of_a_certbot_lineage_is_its_configuration_directory() {
        assert_eq!(
            trust_root(Path::new("/etc/le/live/gw")),
            Path::new("/etc/le")
        );
        assert_eq!(
            trust_root(Path::new("/root/.acme.sh/gw")),
            Path::new("/root/.acme.sh/gw")
        );
    }
}
