//! Renewal by an ACME client's hook. End to end with Debian's `pebble` (the ACME test server) and `certbot`,
//! offline on 127.0.0.1: a keystore built with keytool from certbot's first certificate is renewed by
//! `certbot renew --deploy-hook "icg-renew renew --yes --from-hook …"`; after pebble restarts with a new
//! root, the hook refuses (`same-root`, exit 3) and nothing changes. acme.sh (not in Debian) through the
//! variables it documents for `--reloadcmd`; `step ca renew`'s files as a directory; the link rule for
//! material directories; `--from-hook` without any variable.
//!
//! Ports 18610-18613 (pebble's ACME, management, HTTP-01 and TLS-ALPN-01 ports); only one test uses them.

mod sandbox;

use sandbox::{assert_exit, json, succeed, write_secret, Sandbox};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const ACME_PORT: u16 = 18610;
const MANAGEMENT_PORT: u16 = 18611;
const HTTP_01_PORT: u16 = 18612;
const TLS_ALPN_PORT: u16 = 18613;
const DOMAIN: &str = "gw.icg-renew.test";
const STORE_PASSWORD: &str = "acme-test-pass";

/// pebble and certbot's standalone server listen on fixed ports: one certbot test at a time.
static CERTBOT: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_icg-renew")
}

fn have(command: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {command}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `'text'` for /bin/sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `openssl req` in `dir` with a new P-256 key, unencrypted in `key_file`, and `args`.
fn openssl_req_with_a_new_ec_key(dir: &Path, key_file: &str, args: &[&str]) {
    succeed(
        Command::new("openssl")
            .current_dir(dir)
            .args([
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key_file,
            ])
            .args(args),
    );
}

/// A pebble process with its own throwaway TLS CA, stopped when dropped.
struct Pebble {
    child: Child,
    dir: PathBuf,
}

impl Pebble {
    /// Makes the CA and pebble's `localhost`/`127.0.0.1` certificate (once), writes the config, starts pebble.
    fn start(dir: &Path) -> Pebble {
        if !dir.join("tls-ca.pem").exists() {
            openssl_req_with_a_new_ec_key(
                dir,
                "tls-ca.key",
                &[
                    "-x509",
                    "-out",
                    "tls-ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=pebble TLS test CA",
                ],
            );
            openssl_req_with_a_new_ec_key(
                dir,
                "pebble.key",
                &["-out", "pebble.csr", "-subj", "/CN=localhost"],
            );
            std::fs::write(
                dir.join("pebble.ext"),
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            )
            .unwrap();
            succeed(Command::new("openssl").current_dir(dir).args([
                "x509",
                "-req",
                "-in",
                "pebble.csr",
                "-CA",
                "tls-ca.pem",
                "-CAkey",
                "tls-ca.key",
                "-days",
                "2",
                "-extfile",
                "pebble.ext",
                "-out",
                "pebble.pem",
            ]));
            std::fs::write(
                dir.join("pebble.json"),
                serde_json::json!({"pebble": {
                    "listenAddress": format!("127.0.0.1:{ACME_PORT}"),
                    "managementListenAddress": format!("127.0.0.1:{MANAGEMENT_PORT}"),
                    "certificate": dir.join("pebble.pem"),
                    "privateKey": dir.join("pebble.key"),
                    "httpPort": HTTP_01_PORT,
                    "tlsPort": TLS_ALPN_PORT,
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": false
                }})
                .to_string(),
            )
            .unwrap();
        }
        let log = std::fs::File::create(dir.join("pebble.log")).unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            // certbot retries a rejected nonce, but a quiet test needs no retries.
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start pebble");
        let pebble = Pebble {
            child,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while pebble.root().is_none() {
            assert!(
                Instant::now() < deadline,
                "pebble did not start: {}",
                std::fs::read_to_string(dir.join("pebble.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pebble
    }

    /// The root pebble issues under, from its management API (`/roots/0`), as PEM.
    fn root(&self) -> Option<String> {
        use openssl::ssl::{SslConnector, SslMethod};
        use std::io::{Read, Write};
        let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
        builder.set_ca_file(self.dir.join("tls-ca.pem")).ok()?;
        let tcp = std::net::TcpStream::connect(("127.0.0.1", MANAGEMENT_PORT)).ok()?;
        tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut tls = builder.build().connect("localhost", tcp).ok()?;
        tls.write_all(b"GET /roots/0 HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut response = String::new();
        let _ = tls.read_to_string(&mut response);
        let start = response.find("-----BEGIN CERTIFICATE-----")?;
        let end = response.find("-----END CERTIFICATE-----")? + "-----END CERTIFICATE-----".len();
        Some(format!("{}\n", &response[start..end]))
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// certbot with its own directories, talking to pebble.
fn certbot(dir: &Path, args: &[&str]) -> Output {
    let conf = dir.join("certbot");
    Command::new("certbot")
        .arg("--config-dir")
        .arg(conf.join("config"))
        .arg("--work-dir")
        .arg(conf.join("work"))
        .arg("--logs-dir")
        .arg(conf.join("logs"))
        .args(["--server", &format!("https://127.0.0.1:{ACME_PORT}/dir")])
        .args([
            "--non-interactive",
            "--agree-tos",
            "--register-unsafely-without-email",
        ])
        .args(args)
        .env("REQUESTS_CA_BUNDLE", dir.join("tls-ca.pem"))
        // The hook names `icg-renew` as the README does: the binary under test comes first on PATH.
        .env("PATH", path_with_the_binary())
        .output()
        .expect("run certbot")
}

fn path_with_the_binary() -> std::ffi::OsString {
    let bin_dir = Path::new(bin()).parent().unwrap().to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&rest))).unwrap()
}

fn standalone() -> Vec<String> {
    vec![
        "--standalone".into(),
        "--http-01-address".into(),
        "127.0.0.1".into(),
        "--http-01-port".into(),
        HTTP_01_PORT.to_string(),
    ]
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The SHA-256 of a PEM certificate file as icg-renew writes it (upper-case hex with colons).
fn fingerprint(pem_file: &Path) -> String {
    let text = succeed(
        Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(pem_file),
    );
    text.trim().rsplit('=').next().unwrap().to_string()
}

/// An ICG installation whose JKS keystore keytool built from certbot's lineage: the server entry `icg` (as
/// the configuration's key-alias says) with the chain up to pebble's root, and the root as a trusted entry.
fn installation_from_lineage(dir: &Path, lineage: &Path, root_pem: &str) -> PathBuf {
    let root = dir.join("icg");
    std::fs::create_dir_all(root.join("usg/conf")).unwrap();
    std::fs::create_dir_all(root.join("usg/keys")).unwrap();
    std::fs::write(dir.join("pebble-root.pem"), root_pem).unwrap();
    let chain = std::fs::read_to_string(lineage.join("chain.pem")).unwrap();
    std::fs::write(dir.join("cas.pem"), format!("{chain}{root_pem}")).unwrap();
    let p12 = dir.join("first.p12");
    succeed(
        Command::new("openssl")
            .args(["pkcs12", "-export", "-name", "icg", "-inkey"])
            .arg(lineage.join("privkey.pem"))
            .arg("-in")
            .arg(lineage.join("cert.pem"))
            .arg("-certfile")
            .arg(dir.join("cas.pem"))
            .args(["-passout", &format!("pass:{STORE_PASSWORD}"), "-out"])
            .arg(&p12),
    );
    let keystore = root.join("usg/keys/keystore.jks");
    succeed(
        Command::new("keytool")
            .args(["-importkeystore", "-srcstoretype", "PKCS12", "-srckeystore"])
            .arg(&p12)
            .args([
                "-srcstorepass",
                STORE_PASSWORD,
                "-deststoretype",
                "JKS",
                "-destkeystore",
            ])
            .arg(&keystore)
            .args(["-deststorepass", STORE_PASSWORD, "-noprompt"]),
    );
    succeed(
        Command::new("keytool")
            .args(["-importcert", "-noprompt", "-alias", "pebble-root", "-file"])
            .arg(dir.join("pebble-root.pem"))
            .arg("-keystore")
            .arg(&keystore)
            .args(["-storepass", STORE_PASSWORD]),
    );
    std::fs::write(
        root.join("usg/conf/application-prod.yml"),
        format!(
            "server:\n  port: 18620\n  ssl:\n    key-store: file:{}\n    key-store-password: {STORE_PASSWORD}\n    key-store-type: JKS\n    key-alias: icg\n",
            keystore.display()
        ),
    )
    .unwrap();
    root
}

fn keytool_list(keystore: &Path) -> String {
    succeed(
        Command::new("keytool")
            .args(["-list", "-keystore"])
            .arg(keystore)
            .args(["-storepass", STORE_PASSWORD]),
    )
}

fn backups_of(keystore: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(keystore.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    found.sort();
    found
}

#[test]
fn certbot_renews_the_keystore_through_its_deploy_hook_and_a_new_root_is_refused() {
    if !have("pebble") || !have("certbot") {
        eprintln!("SKIPPED: pebble or certbot is missing (scripts/setup installs them)");
        return;
    }
    let _one_at_a_time = CERTBOT.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let mut pebble = Pebble::start(dir);
    let mut first = vec!["certonly", "-d", DOMAIN, "-d", "localhost"];
    let standalone = standalone();
    first.extend(standalone.iter().map(String::as_str));
    assert_ok(&certbot(dir, &first), "certbot certonly");
    let lineage = dir.join("certbot/config/live").join(DOMAIN);
    assert!(std::fs::symlink_metadata(lineage.join("privkey.pem"))
        .unwrap()
        .file_type()
        .is_symlink());
    let root = installation_from_lineage(dir, &lineage, &pebble.root().unwrap());
    let keystore = root.join("usg/keys/keystore.jks");
    let log = dir.join("audit.log");
    let first_fp = fingerprint(&lineage.join("cert.pem"));

    // The deploy hook, as the README gives it, with the exit code kept for the test.
    let hook_rc = dir.join("hook.rc");
    let hook = format!(
        "icg-renew --icg-root {} --log-file {} renew --yes --from-hook --restart none; rc=$?; echo $rc > {}; exit $rc",
        sh_quote(&root.display().to_string()),
        sh_quote(&log.display().to_string()),
        sh_quote(&hook_rc.display().to_string()),
    );
    let mut renew = vec![
        "renew",
        "--force-renewal",
        "--no-random-sleep-on-renew",
        "--deploy-hook",
        &hook,
    ];
    renew.extend(standalone.iter().map(String::as_str));
    let started = Instant::now();
    assert_ok(&certbot(dir, &renew), "certbot renew");
    eprintln!(
        "certbot renew with the deploy hook: {:?}",
        started.elapsed()
    );
    assert_eq!(std::fs::read_to_string(&hook_rc).unwrap().trim(), "0");
    let renewed_fp = fingerprint(&lineage.join("cert.pem"));
    assert_ne!(renewed_fp, first_fp, "certbot made a new certificate");
    let status = Command::new(bin())
        .args(["--json", "--icg-root"])
        .arg(&root)
        .arg("--log-file")
        .arg(&log)
        .arg("status")
        .output()
        .unwrap();
    let status = json(&status);
    assert_eq!(status["certificate"]["sha256"], renewed_fp.as_str());
    assert_eq!(status["alias"], "icg");
    let backups = backups_of(&keystore);
    assert_eq!(backups.len(), 1, "{backups:?}");
    let listing = keytool_list(&keystore);
    assert!(
        listing.contains("icg,") && listing.contains("PrivateKeyEntry"),
        "{listing}"
    );
    assert!(
        listing.contains("pebble-root,") && listing.contains("trustedCertEntry"),
        "{listing}"
    );

    // pebble restarts with a new root and forgets its accounts; certbot registers again.
    drop(pebble);
    pebble = Pebble::start(dir);
    std::fs::remove_dir_all(dir.join("certbot/config/accounts")).unwrap();
    assert_ok(&certbot(dir, &["register"]), "certbot register");
    let before = std::fs::read(&keystore).unwrap();
    std::fs::remove_file(&hook_rc).unwrap();
    let refused = certbot(dir, &renew);
    assert_eq!(std::fs::read_to_string(&hook_rc).unwrap().trim(), "3");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        said.contains("FAIL  same-root"),
        "certbot shows the hook's report: {said}"
    );
    assert!(
        said.contains("Hook 'deploy-hook' reported error code 3"),
        "{said}"
    );
    // certbot's own exit status stays 0: the certificate itself was renewed (README says to watch the metrics).
    eprintln!(
        "certbot renew exit status with the refusing hook: {}",
        refused.status
    );
    assert_ne!(
        fingerprint(&lineage.join("cert.pem")),
        renewed_fp,
        "certbot did renew"
    );
    assert_eq!(
        std::fs::read(&keystore).unwrap(),
        before,
        "the keystore is unchanged"
    );
    assert_eq!(backups_of(&keystore), backups, "no new backup");
    drop(pebble);
}

/// `certbot renew --deploy-hook "icg-renew renew --yes --from-hook --at 02:30"` schedules instead of
/// restarting: the keystore is unchanged, the lineage's full chain and key wait in the spool, and the due run
/// renews with them. Fails on a main without `--at`.
#[test]
fn certbot_deploy_hook_with_at_schedules_and_the_due_run_renews() {
    if !have("pebble") || !have("certbot") {
        eprintln!("SKIPPED: pebble or certbot is missing (scripts/setup installs them)");
        return;
    }
    let _one_at_a_time = CERTBOT.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let pebble = Pebble::start(dir);
    let mut first = vec!["certonly", "-d", DOMAIN, "-d", "localhost"];
    let standalone = standalone();
    first.extend(standalone.iter().map(String::as_str));
    assert_ok(&certbot(dir, &first), "certbot certonly");
    let lineage = dir.join("certbot/config/live").join(DOMAIN);
    let root = installation_from_lineage(dir, &lineage, &pebble.root().unwrap());
    let keystore = root.join("usg/keys/keystore.jks");
    let log = dir.join("audit.log");
    let spool = dir.join("scheduled");
    let hook = format!(
        "icg-renew --icg-root {} --log-file {} renew --yes --from-hook --restart none --at 02:30 --schedule-dir {}",
        sh_quote(&root.display().to_string()),
        sh_quote(&log.display().to_string()),
        sh_quote(&spool.display().to_string()),
    );
    let mut renew = vec![
        "renew",
        "--force-renewal",
        "--no-random-sleep-on-renew",
        "--deploy-hook",
        &hook,
    ];
    renew.extend(standalone.iter().map(String::as_str));
    let before = std::fs::read(&keystore).unwrap();
    assert_ok(&certbot(dir, &renew), "certbot renew");
    let renewed_fp = fingerprint(&lineage.join("cert.pem"));
    assert_eq!(std::fs::read(&keystore).unwrap(), before, "nothing yet");
    let icg = |args: &[&str]| {
        Command::new(bin())
            .args(["--json", "--icg-root"])
            .arg(&root)
            .arg("--log-file")
            .arg(&log)
            .args(args)
            .arg("--schedule-dir")
            .arg(&spool)
            .output()
            .unwrap()
    };
    let listed = json(&icg(&["scheduled"]));
    let waiting = &listed["waiting"][0];
    assert_eq!(waiting["new_sha256"], renewed_fp.as_str(), "{listed}");
    assert_eq!(waiting["how"], "renew --from-hook --at");
    // 02:30 in the host's time zone, as an RFC 3339 time in UTC.
    let at = waiting["at"].as_str().unwrap();
    let due = json(&icg(&["scheduled", "--run-due", "--now", at]));
    assert_eq!(due["ran"][0]["result"], "renewed", "{due}");
    let status = json(&icg(&["status"]));
    assert_eq!(status["certificate"]["sha256"], renewed_fp.as_str());
    drop(pebble);
}

/// A new sandbox, and its new material split the way ACME clients store it: the key, the leaf, the CA
/// certificates.
fn sandbox_and_split_material() -> (Sandbox, String, String, String) {
    let sandbox = Sandbox::new();
    let bundle = std::fs::read_to_string(sandbox.root().join("new/new-bundle.pem")).unwrap();
    let blocks: Vec<String> = bundle
        .split_inclusive("-----\n")
        .collect::<String>()
        .split("-----BEGIN ")
        .filter(|b| !b.trim().is_empty())
        .map(|b| format!("-----BEGIN {b}"))
        .collect();
    let key = blocks
        .iter()
        .find(|b| b.contains("PRIVATE KEY"))
        .unwrap()
        .clone();
    let certs: Vec<&String> = blocks
        .iter()
        .filter(|b| b.contains("CERTIFICATE"))
        .collect();
    let leaf = certs[0].clone();
    let cas = certs[1..].iter().map(|c| c.as_str()).collect();
    (sandbox, key, leaf, cas)
}

/// A new directory `name` in the sandbox's directory, for material as a client leaves it.
fn material_dir(sandbox: &Sandbox, name: &str) -> PathBuf {
    let dir = sandbox.dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `renew --yes --restart none` of the material in `dir`, run by `icg` (the sandbox's plain or JSON command).
fn renew_dir(mut icg: assert_cmd::Command, dir: &Path) -> Output {
    icg.args(["renew", "--yes", "--restart", "none"])
        .arg(dir)
        .output()
        .unwrap()
}

/// The sandbox's `renew --yes --from-hook --restart none`, its environment still to set.
fn renew_from_hook(sandbox: &Sandbox) -> assert_cmd::Command {
    let mut icg = sandbox.icg();
    icg.args(["renew", "--yes", "--from-hook", "--restart", "none"]);
    icg
}

/// Renews from `dir`, asserts the refusal (exit 1) and returns what it said on stderr.
fn refusal_of(sandbox: &Sandbox, dir: &Path) -> String {
    let refused = renew_dir(sandbox.icg(), dir);
    assert_exit(&refused, 1);
    String::from_utf8_lossy(&refused.stderr).into_owned()
}

fn renewed_to_a_year(sandbox: &Sandbox) -> bool {
    sandbox.days_left() > 300
}

#[test]
fn acme_sh_reloadcmd_variables_name_the_key_and_the_full_chain() {
    let (sandbox, key, leaf, cas) = sandbox_and_split_material();
    // acme.sh's domain directory, with the files and variables it documents for --reloadcmd.
    let domain = material_dir(&sandbox, "acme.sh/icg.sandbox.test_ecc");
    write_secret(&domain.join("icg.sandbox.test.key"), &key);
    std::fs::write(domain.join("icg.sandbox.test.cer"), &leaf).unwrap();
    std::fs::write(domain.join("ca.cer"), &cas).unwrap();
    std::fs::write(domain.join("fullchain.cer"), format!("{leaf}{cas}")).unwrap();
    std::fs::write(
        domain.join("icg.sandbox.test.conf"),
        "Le_Domain='icg.sandbox.test'\n",
    )
    .unwrap();
    let output = renew_from_hook(&sandbox)
        .env("Le_Domain", "icg.sandbox.test")
        .env("CERT_PATH", domain.join("icg.sandbox.test.cer"))
        .env("CERT_KEY_PATH", domain.join("icg.sandbox.test.key"))
        .env("CA_CERT_PATH", domain.join("ca.cer"))
        .env("CERT_FULLCHAIN_PATH", domain.join("fullchain.cer"))
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(renewed_to_a_year(&sandbox));
    assert_eq!(sandbox.backups().len(), 1);
}

#[test]
fn step_ca_renew_files_in_a_directory_are_material() {
    let (sandbox, key, leaf, cas) = sandbox_and_split_material();
    // `step ca renew DIR/cert.crt DIR/key.key` rewrites the bundle (leaf and intermediates) and keeps the key.
    let dir = material_dir(&sandbox, "step");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(dir.join("cert.crt"), format!("{leaf}{cas}")).unwrap();
    write_secret(&dir.join("key.key"), &key);
    let output = renew_dir(sandbox.icg_json(), &dir);
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "renewed");
    assert_eq!(
        report["material"]["format"],
        "PEM files in a directory (cert.crt, key.key)"
    );
    assert!(renewed_to_a_year(&sandbox));
}

#[test]
fn from_hook_without_any_variable_is_a_usage_error_naming_them() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let output = renew_from_hook(&sandbox)
        .env_remove("RENEWED_LINEAGE")
        .env_remove("CERT_KEY_PATH")
        .env_remove("CERT_FULLCHAIN_PATH")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in ["RENEWED_LINEAGE", "CERT_KEY_PATH", "CERT_FULLCHAIN_PATH"] {
        assert!(stderr.contains(name), "{stderr}");
    }
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // The option the operator used is named (the command layer adds it to the library's message).
    assert!(stderr.contains("--from-hook found none of"), "{stderr}");
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    // NEW and --from-hook together are a usage error too.
    let both = sandbox
        .icg()
        .args(["renew", "--yes", "--from-hook"])
        .arg(sandbox.material())
        .output()
        .unwrap();
    assert_exit(&both, 2);
}

/// A certbot-like lineage `conf/live/gw` whose files link into `conf/archive/gw`.
fn lineage_in(base: &Path, key: &str, leaf: &str, cas: &str) -> PathBuf {
    let archive = base.join("conf/archive/gw");
    let live = base.join("conf/live/gw");
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::create_dir_all(&live).unwrap();
    write_secret(&archive.join("privkey1.pem"), key);
    std::fs::write(archive.join("fullchain1.pem"), format!("{leaf}{cas}")).unwrap();
    std::os::unix::fs::symlink("../../archive/gw/privkey1.pem", live.join("privkey.pem")).unwrap();
    std::os::unix::fs::symlink(
        "../../archive/gw/fullchain1.pem",
        live.join("fullchain.pem"),
    )
    .unwrap();
    std::fs::write(live.join("README"), "certbot's note\n").unwrap();
    live
}

#[test]
fn links_are_followed_only_inside_a_lineage_that_only_root_can_change() {
    let (sandbox, key, leaf, cas) = sandbox_and_split_material();
    let before = std::fs::read(sandbox.keystore()).unwrap();

    // A link out of the lineage (here: to the sandbox's own material) is refused.
    let outside = sandbox.dir().join("outside");
    let live = lineage_in(&outside, &key, &leaf, &cas);
    std::fs::remove_file(live.join("fullchain.pem")).unwrap();
    std::fs::write(sandbox.dir().join("elsewhere.pem"), format!("{leaf}{cas}")).unwrap();
    std::os::unix::fs::symlink(
        sandbox.dir().join("elsewhere.pem"),
        live.join("fullchain.pem"),
    )
    .unwrap();
    let stderr = refusal_of(&sandbox, &live);
    assert!(
        stderr.contains("fullchain.pem is a symbolic link") && stderr.contains("outside"),
        "{stderr}"
    );

    // A lineage whose archive others can write to is refused.
    let writable = sandbox.dir().join("writable");
    let live = lineage_in(&writable, &key, &leaf, &cas);
    std::fs::set_permissions(
        writable.join("conf/archive"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let stderr = refusal_of(&sandbox, &live);
    assert!(
        stderr.contains("conf/archive on the way to it can be changed by every user"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(sandbox.keystore()).unwrap(),
        before,
        "nothing changed"
    );

    // The same layout, private, renews; so does certbot's RENEWED_LINEAGE pointing at it.
    let good = sandbox.dir().join("good");
    let live = lineage_in(&good, &key, &leaf, &cas);
    let output = renew_from_hook(&sandbox)
        .env("RENEWED_LINEAGE", &live)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(renewed_to_a_year(&sandbox));
}

#[test]
fn a_directory_with_two_private_keys_is_refused() {
    let (sandbox, key, leaf, cas) = sandbox_and_split_material();
    let dir = material_dir(&sandbox, "two-keys");
    write_secret(&dir.join("a.key"), &key);
    let other = succeed(Command::new("openssl").args([
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]));
    write_secret(&dir.join("b.key"), &other);
    std::fs::write(dir.join("fullchain.pem"), format!("{leaf}{cas}")).unwrap();
    let output = renew_dir(sandbox.icg(), &dir);
    assert_exit(&output, 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("2 different private keys"));
}
