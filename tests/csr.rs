//! Keeping the key on the gateway: `csr` makes the key here and a request with the installed names; a CA
//! made with the real `openssl` signs it; `renew` finds the key by itself, installs it, and forgets the
//! pending key. keytool and openssl read the result back.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("icg");
        Command::cargo_bin("icg-renew")
            .unwrap()
            .arg("sandbox")
            .arg(&root)
            .assert()
            .success();
        Sandbox { _dir: dir, root }
    }

    fn icg(&self) -> Command {
        let mut cmd = Command::cargo_bin("icg-renew").unwrap();
        cmd.arg("--icg-root")
            .arg(&self.root)
            .arg("--log-file")
            .arg(self.root.join("audit.log"))
            .arg("--json");
        cmd
    }

    fn pending(&self) -> PathBuf {
        self.root.join("usg/keys/keystore.jks.pending.p12")
    }

    fn password_file(&self) -> PathBuf {
        let yaml =
            std::fs::read_to_string(self.root.join("usg/conf/application-prod.yml")).unwrap();
        let password = yaml
            .lines()
            .find_map(|l| l.trim().strip_prefix("key-store-password: "))
            .unwrap();
        let path = self.root.join("store.pass");
        std::fs::write(&path, password).unwrap();
        path
    }

    /// The sandbox's CA signs `csr`, copying the request's extensions, as a UMS or corporate CA would.
    fn sign(&self, csr: &Path, out: &Path) {
        let output = Process::new("openssl")
            .args([
                "x509",
                "-req",
                "-copy_extensions",
                "copy",
                "-days",
                "365",
                "-in",
            ])
            .arg(csr)
            .arg("-CA")
            .arg(self.root.join("ca/root-ca.pem"))
            .arg("-CAkey")
            .arg(self.root.join("ca/root-ca.key"))
            .arg("-out")
            .arg(out)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn openssl_text(args: &[&str], input: Option<&[u8]>) -> String {
    let mut child = Process::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = input {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_key_born_on_the_gateway_is_installed_with_its_signed_certificate() {
    let sandbox = Sandbox::new();
    let csr = sandbox.root.join("request.csr");
    let made = sandbox
        .icg()
        .arg("csr")
        .arg("--out")
        .arg(&csr)
        .output()
        .unwrap();
    assert_eq!(
        made.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let made = json(&made);
    assert_eq!(made["key_type"], "rsa:2048");
    assert_eq!(
        made["dns_names"],
        serde_json::json!(["icg.sandbox.test", "gateway.sandbox.test"])
    );
    assert_eq!(
        made["ip_addresses"],
        serde_json::json!(["192.0.2.10", "127.0.0.1"])
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(sandbox.pending()).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // The request carries the installed names; status mentions it.
    let text = openssl_text(
        &["req", "-noout", "-text", "-in", csr.to_str().unwrap()],
        None,
    );
    assert!(text.contains("DNS:icg.sandbox.test, DNS:gateway.sandbox.test, IP Address:192.0.2.10, IP Address:127.0.0.1"), "{text}");
    let status = json(&sandbox.icg().arg("status").output().unwrap());
    assert_eq!(
        status["pending"]["path"],
        sandbox.pending().to_str().unwrap()
    );

    let signed = sandbox.root.join("signed.pem");
    sandbox.sign(&csr, &signed);
    let renewed = sandbox
        .icg()
        .arg("renew")
        .arg(&signed)
        .arg("--chain")
        .arg(sandbox.root.join("ca/root-ca.pem"))
        .args(["--restart", "none"])
        .output()
        .unwrap();
    assert_eq!(
        renewed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&renewed.stderr)
    );
    let renewed = json(&renewed);
    let key_check = renewed["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "key-matches")
        .unwrap()
        .clone();
    assert!(
        key_check["detail"]
            .as_str()
            .unwrap()
            .contains("pending key"),
        "{key_check}"
    );
    assert!(
        !sandbox.pending().exists(),
        "the pending key should be gone"
    );

    // keytool hands the installed key to openssl: its public key is the one in the request.
    let p12 = sandbox.root.join("exported.p12");
    let password_file = sandbox.password_file();
    let exported = Process::new("keytool")
        .args([
            "-importkeystore",
            "-noprompt",
            "-srcalias",
            "icg",
            "-deststoretype",
            "PKCS12",
            "-srckeystore",
        ])
        .arg(sandbox.root.join("usg/keys/keystore.jks"))
        .arg("-srcstorepass:file")
        .arg(&password_file)
        .arg("-destkeystore")
        .arg(&p12)
        .arg("-deststorepass:file")
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let key_pem = openssl_text(
        &[
            "pkcs12",
            "-nocerts",
            "-nodes",
            "-in",
            p12.to_str().unwrap(),
            "-passin",
            &format!("file:{}", password_file.display()),
        ],
        None,
    );
    let installed_public = openssl_text(&["pkey", "-pubout"], Some(key_pem.as_bytes()));
    let requested_public = openssl_text(
        &["req", "-noout", "-pubkey", "-in", csr.to_str().unwrap()],
        None,
    );
    assert_eq!(installed_public, requested_public);
}

#[test]
fn a_certificate_signed_for_another_key_fails_key_matches() {
    let sandbox = Sandbox::new();
    let made = sandbox
        .icg()
        .arg("csr")
        .arg("--out")
        .arg(sandbox.root.join("ours.csr"))
        .output()
        .unwrap();
    assert_eq!(made.status.code(), Some(0));
    // A request for a key that is neither pending nor installed.
    let other_key = sandbox.root.join("other.key");
    let other_csr = sandbox.root.join("other.csr");
    let status = Process::new("openssl")
        .args(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=icg-renew sandbox/CN=icg.sandbox.test"])
        .args(["-addext", "subjectAltName=DNS:icg.sandbox.test,DNS:gateway.sandbox.test,IP:192.0.2.10,IP:127.0.0.1", "-keyout"])
        .arg(&other_key)
        .arg("-out")
        .arg(&other_csr)
        .output()
        .unwrap();
    assert!(status.status.success());
    let signed = sandbox.root.join("other-signed.pem");
    sandbox.sign(&other_csr, &signed);
    let verified = sandbox
        .icg()
        .arg("verify")
        .arg(&signed)
        .arg("--chain")
        .arg(sandbox.root.join("ca/root-ca.pem"))
        .output()
        .unwrap();
    assert_eq!(verified.status.code(), Some(3));
    let report = json(&verified);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["key-matches"]);
    assert!(
        sandbox.pending().exists(),
        "a failed verify keeps the pending key"
    );
}

#[test]
fn a_second_request_asks_before_replacing_the_pending_key() {
    let sandbox = Sandbox::new();
    let out = sandbox.root.join("request.csr");
    assert_eq!(
        sandbox
            .icg()
            .arg("csr")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    let first = std::fs::read(sandbox.pending()).unwrap();
    let refused = sandbox
        .icg()
        .arg("--yes")
        .arg("csr")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read(sandbox.pending()).unwrap(), first);
    let forced = sandbox
        .icg()
        .args(["csr", "--force", "--key-type", "ec:p256", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        forced.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let forced = json(&forced);
    assert_eq!(forced["replaced_pending"], true);
    assert_eq!(forced["key_type"], "ec:p256");
    assert_ne!(std::fs::read(sandbox.pending()).unwrap(), first);
}
