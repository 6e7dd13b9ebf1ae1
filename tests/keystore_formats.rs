//! Keystores as other tools write them, renewed without a gateway (`--restart none`) and read back by keytool
//! and openssl: legacy PKCS#12 keeps its legacy algorithms, and JKS with a non-ASCII password and alias works.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn write_secret(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

fn renew(keystore: &Path, password_file: &Path, material: &Path, dir: &Path) -> serde_json::Value {
    let output = Command::cargo_bin("icg-renew")
        .unwrap()
        .arg("--keystore")
        .arg(keystore)
        .arg("--store-password-file")
        .arg(password_file)
        .arg("--log-file")
        .arg(dir.join("audit.log"))
        .args(["--json", "renew"])
        .arg(material)
        .args(["--restart", "none"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_legacy_pkcs12_keystore_stays_legacy() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keystore.jks");
    std::fs::copy(fixture("new-rsa-legacy.p12"), &keystore).unwrap();
    let password_file = dir.path().join("pass");
    write_secret(
        &password_file,
        &std::fs::read_to_string(fixture("new.pass")).unwrap(),
    );
    // The installed one is the legacy file; renew it with the intermediate-signed material of the same root.
    let report = renew(
        &keystore,
        &password_file,
        &fixture("new-inter-bundle.pem"),
        dir.path(),
    );
    assert_eq!(report["result"], "renewed");

    let info = Process::new("openssl")
        .args(["pkcs12", "-legacy", "-info", "-noout", "-in"])
        .arg(&keystore)
        .arg("-passin")
        .arg(format!("file:{}", password_file.display()))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&info.stderr).to_string() + &String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success(), "{text}");
    assert!(text.contains("MAC: sha1"), "{text}");
    assert!(text.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{text}");
    assert!(!text.contains("PBES2"), "{text}");

    let listed = Process::new("keytool")
        .args(["-list", "-storetype", "PKCS12", "-keystore"])
        .arg(&keystore)
        .arg("-storepass:file")
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(report["new"]["sha256"].as_str().unwrap()),
        "{listed}"
    );
}

#[test]
fn a_jks_with_a_non_ascii_password_and_alias_is_read_and_renewed() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("keystore.jks");
    let password = "pässwörd-€";
    let password_file = dir.path().join("pass");
    write_secret(&password_file, password);
    // keytool imports the fixture's key and chain under a non-ASCII alias into a JKS with that password.
    let status = Process::new("keytool")
        .args([
            "-importkeystore",
            "-noprompt",
            "-srcstoretype",
            "JKS",
            "-srcalias",
            "icg",
            "-destalias",
            "schlüssel",
            "-deststoretype",
            "JKS",
            "-srckeystore",
        ])
        .arg(fixture("installed-rsa.jks"))
        .arg("-srcstorepass:file")
        .arg(fixture("store.pass"))
        .arg("-destkeystore")
        .arg(&keystore)
        .arg("-deststorepass:file")
        .arg(&password_file)
        .arg("-destkeypass:file")
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let report = renew(
        &keystore,
        &password_file,
        &fixture("new-rsa-bundle.pem"),
        dir.path(),
    );
    assert_eq!(report["result"], "renewed");
    let listed = Process::new("keytool")
        .args(["-list", "-keystore"])
        .arg(&keystore)
        .arg("-storepass:file")
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("schlüssel, ")
            && listed.contains(report["new"]["sha256"].as_str().unwrap()),
        "{listed}"
    );
    // keytool also decrypts the key itself with that password (into a JKS: Java's PKCS#12 writer refuses
    // non-ASCII passwords).
    let exported = Process::new("keytool")
        .args([
            "-importkeystore",
            "-noprompt",
            "-srcalias",
            "schlüssel",
            "-deststoretype",
            "JKS",
            "-srckeystore",
        ])
        .arg(&keystore)
        .arg("-srcstorepass:file")
        .arg(&password_file)
        .arg("-destkeystore")
        .arg(dir.path().join("copy.jks"))
        .arg("-deststorepass:file")
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
}
