//! Keystores as other tools write them, renewed without a gateway (`--restart none`) and read back by keytool
//! and openssl: legacy PKCS#12 keeps its legacy algorithms, and JKS with a non-ASCII password and alias works.

mod common;
mod sandbox;

use assert_cmd::Command;
use common::{fixture, fixture_bytes, store_password, Work};
use icg_renew::keystore::jks;
use icg_renew::secret::Password;
use sandbox::{assert_exit, json, succeed};
use std::path::Path;
use std::process::Command as Process;

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
    assert_exit(&output, 0);
    json(&output)
}

/// `keytool -list OPTIONS` of `keystore` opened with `password_file`; asserts that it succeeds.
fn keytool_list(options: &[&str], keystore: &Path, password_file: &Path) -> String {
    succeed(
        Process::new("keytool")
            .arg("-list")
            .args(options)
            .arg("-keystore")
            .arg(keystore)
            .arg("-storepass:file")
            .arg(password_file),
    )
}

/// `keytool -importkeystore -noprompt OPTIONS` from `source` into `dest`, each opened with its password file;
/// asserts that it succeeds.
fn import_keystore(
    options: &[&str],
    (source, source_password): (&Path, &Path),
    (dest, dest_password): (&Path, &Path),
) {
    succeed(
        Process::new("keytool")
            .args(["-importkeystore", "-noprompt"])
            .args(options)
            .arg("-srckeystore")
            .arg(source)
            .arg("-srcstorepass:file")
            .arg(source_password)
            .arg("-destkeystore")
            .arg(dest)
            .arg("-deststorepass:file")
            .arg(dest_password),
    );
}

#[test]
fn a_legacy_pkcs12_keystore_stays_legacy() {
    let work = Work::new();
    let keystore = work.path("keystore.jks");
    std::fs::copy(fixture("new-rsa-legacy.p12"), &keystore).unwrap();
    let password_file = work.new_pass();
    // The installed one is the legacy file; renew it with the intermediate-signed material of the same root.
    let report = renew(
        &keystore,
        &password_file,
        &fixture("new-inter-bundle.pem"),
        work.dir.path(),
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

    let listed = keytool_list(&["-storetype", "PKCS12"], &keystore, &password_file);
    assert!(
        listed.contains(report["new"]["sha256"].as_str().unwrap()),
        "{listed}"
    );
}

#[test]
fn a_jks_with_a_non_ascii_password_and_alias_is_read_and_renewed() {
    let work = Work::new();
    let keystore = work.path("keystore.jks");
    let password = "pässwörd-€";
    let password_file = work.write("pass", password.as_bytes());
    // keytool imports the fixture's key and chain under a non-ASCII alias into a JKS with that password.
    import_keystore(
        &[
            "-srcstoretype",
            "JKS",
            "-srcalias",
            "icg",
            "-destalias",
            "schlüssel",
            "-deststoretype",
            "JKS",
            "-destkeypass:file",
            password_file.to_str().unwrap(),
        ],
        (&fixture("installed-rsa.jks"), &fixture("store.pass")),
        (&keystore, &password_file),
    );

    let report = renew(
        &keystore,
        &password_file,
        &fixture("new-rsa-bundle.pem"),
        work.dir.path(),
    );
    assert_eq!(report["result"], "renewed");
    let listed = keytool_list(&[], &keystore, &password_file);
    assert!(
        listed.contains("schlüssel, ")
            && listed.contains(report["new"]["sha256"].as_str().unwrap()),
        "{listed}"
    );
    // keytool also decrypts the key itself with that password (into a JKS: Java's PKCS#12 writer refuses
    // non-ASCII passwords).
    import_keystore(
        &["-srcalias", "schlüssel", "-deststoretype", "JKS"],
        (&keystore, &password_file),
        (&work.path("copy.jks"), &password_file),
    );
}

/// A JKS whose alias repeats is no file a Java tool writes: Java's map keeps only the later entry, so keytool
/// lists one entry fewer than the file holds. Renewing the entry icg-renew happened to find could leave the one
/// the ICG serves untouched, so every command refuses the file with one line naming it and the alias, and
/// nothing is written.
#[test]
fn a_jks_whose_alias_repeats_is_refused_and_left_as_it_was() {
    let work = Work::with(&["new-rsa-bundle.pem"]);
    let password = Password::new(store_password());
    let store =
        jks::parse(&fixture_bytes("installed-rsa.jks"), &password).expect("the fixture parses");
    let mut repeated = store.clone();
    let server_entry = store
        .entries
        .iter()
        .find(|e| e.alias == "icg")
        .expect("an icg entry");
    repeated.entries.push(server_entry.clone());
    let bytes = repeated.serialize(&password, None);
    let keystore = work.write("repeated.jks", &bytes);
    let listed = keytool_list(&[], &keystore, &work.store_pass());
    assert!(
        listed.contains("Your keystore contains 2 entries"),
        "{listed}"
    );

    let expected = format!(
        "{} holds two entries named 'icg', of which Java sees only the later one: restore it from a backup",
        keystore.display()
    );
    let status = work.icg_on("repeated.jks").arg("status").output().unwrap();
    assert_exit(&status, 3);
    let said = String::from_utf8_lossy(&status.stdout).to_string()
        + &String::from_utf8_lossy(&status.stderr);
    assert!(said.contains(&expected), "{said}");

    let renewal = work
        .icg_on("repeated.jks")
        .args(["renew", "new-rsa-bundle.pem", "--restart", "none", "--yes"])
        .output()
        .unwrap();
    assert_exit(&renewal, 1);
    let stderr = String::from_utf8_lossy(&renewal.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!("icg-renew: {expected}"),
        "{stderr}"
    );
    assert_eq!(
        work.read("repeated.jks"),
        bytes,
        "the file must be left as it was"
    );
}
