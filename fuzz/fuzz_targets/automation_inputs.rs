//! The inputs of unattended renewal: a material directory as an ACME client leaves it (`lineage::read`, then
//! `material::from_bytes` on what it gathered), the audit log the metrics read the last renewal from
//! (`metrics::last_renewal_in`), and the plugin line's sanitising of outside text (`monitoring::unknown_line`).
//! The input is split at `\n====\n` into up to four files of one directory (reused, emptied each run).
#![no_main]

use icg_renew::material::{self, MaterialOptions};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SEPARATOR: &[u8] = b"\n====\n";

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("icg-renew-fuzz-lineage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    })
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < 3 {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
    for (i, part) in split(data).iter().enumerate() {
        std::fs::write(dir.join(format!("file{i}.pem")), part).expect("write");
    }
    if let Ok((bundle, _files)) = icg_renew::lineage::read(dir) {
        let _ = material::from_bytes(&bundle, dir, &MaterialOptions::default());
    }
    let text = String::from_utf8_lossy(data);
    let _ = icg_renew::metrics::last_renewal_in(
        &text,
        Path::new("/opt/IGEL/icg/usg/keys/keystore.jks"),
    );
    let line = icg_renew::monitoring::unknown_line(&text);
    assert!(!line.contains('|') && !line.contains('\n'));
});
