//! Every input the fuzzers found trouble with (fuzz/seeds/*/crash-*), fed to the binary the way an
//! operator would: each must end quickly with a clean one-line error, never a panic, hang or huge
//! allocation. New findings are covered as soon as their seed is committed.

use assert_cmd::Command;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn crash_seeds() -> Vec<(String, PathBuf)> {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut found = Vec::new();
    for target in std::fs::read_dir(&seeds).unwrap().flatten() {
        let name = target.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(target.path()).unwrap().flatten() {
            if file.file_name().to_string_lossy().starts_with("crash-") {
                found.push((name.clone(), file.path()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_fuzzing_finding_ends_in_a_clean_error() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("store.pass");
    std::fs::copy(fixtures.join("store.pass"), &password_file).unwrap();
    std::fs::set_permissions(
        &password_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let seeds = crash_seeds();
    assert!(
        seeds.len() >= 5,
        "the committed findings are missing: {seeds:?}"
    );
    for (target, seed) in seeds {
        let mut cmd = Command::cargo_bin("icg-renew").unwrap();
        cmd.arg("--log-file")
            .arg(dir.path().join("audit.log"))
            .timeout(Duration::from_secs(20));
        match target.as_str() {
            "config_parse" => cmd
                .arg("--config")
                .arg(&seed)
                .arg("--keystore")
                .arg(fixtures.join("installed-rsa.jks"))
                .arg("verify")
                .arg(fixtures.join("new-rsa-bundle.pem")),
            "keystore_load" | "jks_parse" => cmd
                .arg("--keystore")
                .arg(&seed)
                .arg("--store-password-file")
                .arg(&password_file)
                .arg("verify")
                .arg(fixtures.join("new-rsa-bundle.pem")),
            _ => cmd
                .arg("--keystore")
                .arg(fixtures.join("installed-rsa.jks"))
                .arg("--store-password-file")
                .arg(&password_file)
                .arg("verify")
                .arg(&seed),
        };
        let started = Instant::now();
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}: took {:?}",
            seed.display(),
            started.elapsed()
        );
        assert!(
            matches!(output.status.code(), Some(1..=3)),
            "{}: ended with {:?}: {stderr}",
            seed.display(),
            output.status
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("internal error"),
            "{}: {stderr}",
            seed.display()
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{}: {stderr}",
            seed.display()
        );
    }
}
