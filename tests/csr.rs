//! Keeping the key on the gateway: `csr` makes the key here and a request with the installed names; a CA
//! made with the real `openssl` signs it; `renew` finds the key by itself, installs it, and forgets the
//! pending key. keytool and openssl read the result back.

mod sandbox;

use sandbox::{assert_exit, failed_checks, json, succeed, Sandbox};
use std::path::Path;
use std::process::Command as Process;

/// `csr --out OUT` with `options` before `--out`; returns the run.
fn csr(sandbox: &Sandbox, options: &[&str], out: &Path) -> std::process::Output {
    sandbox
        .icg_json()
        .arg("csr")
        .args(options)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// `openssl ARGS` with `input` on stdin; asserts that it succeeds; returns its stdout.
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
    let csr_file = sandbox.root().join("request.csr");
    let made = csr(&sandbox, &[], &csr_file);
    assert_exit(&made, 0);
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
        &["req", "-noout", "-text", "-in", csr_file.to_str().unwrap()],
        None,
    );
    assert!(text.contains("DNS:icg.sandbox.test, DNS:gateway.sandbox.test, IP Address:192.0.2.10, IP Address:127.0.0.1"), "{text}");
    let status = json(&sandbox.icg_json().arg("status").output().unwrap());
    assert_eq!(
        status["pending"]["path"],
        sandbox.pending().to_str().unwrap()
    );

    let signed = sandbox.root().join("signed.pem");
    sandbox.sign_request(&csr_file, &signed);
    // The renewal is the printed next step, run as printed: it keeps the audit log the request was made
    // with and, on a host where no way to restart an ICG is found, `--restart none` (issue 22, point 10:
    // before, both were dropped and the line failed in a sandbox).
    let step = made["next_steps"][1].as_str().unwrap();
    let quoted = |p: &Path| shlex::try_quote(p.to_str().unwrap()).unwrap().into_owned();
    let line = step
        .trim_end_matches("(the key is found by itself)")
        .trim_end()
        .replace("SIGNED.pem", &quoted(&signed))
        .replace(
            "CA-CHAIN.pem",
            &quoted(&sandbox.root().join("ca/root-ca.pem")),
        );
    assert!(
        line.contains(&format!("--log-file {}", quoted(&sandbox.log()))),
        "{line}"
    );
    let restart_found = sandbox::host_can_restart_an_icg();
    let line = if restart_found {
        format!("{line} --restart none")
    } else {
        assert!(line.ends_with("--restart none"), "{line}");
        line
    };
    let renewed = Process::new("sh")
        .arg("-c")
        .arg(format!("{line} --json"))
        .output()
        .unwrap();
    assert_exit(&renewed, 0);
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
    let p12 = sandbox.root().join("exported.p12");
    let password_file = sandbox.password_file();
    succeed(
        Process::new("keytool")
            .args(["-importkeystore", "-noprompt", "-srcalias", "icg"])
            .args(["-deststoretype", "PKCS12", "-srckeystore"])
            .arg(sandbox.keystore())
            .arg("-srcstorepass:file")
            .arg(&password_file)
            .arg("-destkeystore")
            .arg(&p12)
            .arg("-deststorepass:file")
            .arg(&password_file),
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
        &[
            "req",
            "-noout",
            "-pubkey",
            "-in",
            csr_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(installed_public, requested_public);
}

#[test]
fn a_certificate_signed_for_another_key_fails_key_matches() {
    let sandbox = Sandbox::new();
    let made = csr(&sandbox, &[], &sandbox.root().join("ours.csr"));
    assert_exit(&made, 0);
    // A request for a key that is neither pending nor installed.
    let other_key = sandbox.root().join("other.key");
    let other_csr = sandbox.root().join("other.csr");
    succeed(
        Process::new("openssl")
            .args(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/O=icg-renew sandbox/CN=icg.sandbox.test"])
            .args(["-addext", "subjectAltName=DNS:icg.sandbox.test,DNS:gateway.sandbox.test,IP:192.0.2.10,IP:127.0.0.1", "-keyout"])
            .arg(&other_key)
            .arg("-out")
            .arg(&other_csr),
    );
    let signed = sandbox.root().join("other-signed.pem");
    sandbox.sign_request(&other_csr, &signed);
    let verified = sandbox
        .icg_json()
        .arg("verify")
        .arg(&signed)
        .arg("--chain")
        .arg(sandbox.root().join("ca/root-ca.pem"))
        .output()
        .unwrap();
    assert_exit(&verified, 3);
    let report = json(&verified);
    assert_eq!(failed_checks(&report), ["key-matches"]);
    assert!(
        sandbox.pending().exists(),
        "a failed verify keeps the pending key"
    );
}

#[test]
fn a_second_request_asks_before_replacing_the_pending_key() {
    let sandbox = Sandbox::new();
    let out = sandbox.root().join("request.csr");
    assert_exit(&csr(&sandbox, &[], &out), 0);
    let first = std::fs::read(sandbox.pending()).unwrap();
    let refused = csr(&sandbox, &["--yes"], &out);
    assert_exit(&refused, 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read(sandbox.pending()).unwrap(), first);
    let forced = csr(&sandbox, &["--force", "--key-type", "ec:p256"], &out);
    assert_exit(&forced, 0);
    let forced = json(&forced);
    assert_eq!(forced["replaced_pending"], true);
    assert_eq!(forced["key_type"], "ec:p256");
    assert_ne!(std::fs::read(sandbox.pending()).unwrap(), first);
}
