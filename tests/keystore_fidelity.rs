//! Keystores of every shape in `fixtures/shapes/` (made by keytool and openssl, see scripts/make-fixtures):
//! icg-renew reads them as keytool lists them, `status` needs no key password, and a renewal (`--restart
//! none`) changes the server entry and nothing else — as keytool lists the store, and for PKCS#12 as
//! `openssl pkcs12 -info` shows every other bag, attributes included, and the algorithms of MAC and bags.

mod common;
mod sandbox;

use assert_cmd::Command;
use icg_renew::keystore::Keystore;
use icg_renew::secret::Password;
use openssl::hash::MessageDigest;
use openssl::x509::X509;
use sandbox::{assert_exit, json, succeed, write_secret, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

/// One keystore shape and how the ICG's configuration would name it.
struct Shape {
    file: &'static str,
    /// The store password file in fixtures/shapes.
    store_pass: &'static str,
    /// `server.ssl.key-alias`, when the store has several keys.
    key_alias: Option<&'static str>,
    /// `server.ssl.key-password` file, when the key has its own password.
    key_pass: Option<&'static str>,
    /// The alias Java gives the server entry.
    server: &'static str,
}

const fn shape(file: &'static str, server: &'static str) -> Shape {
    Shape {
        file,
        store_pass: "store.pass",
        key_alias: None,
        key_pass: None,
        server,
    }
}

/// Every shape that is renewed (`not-yet-valid.p12` is only read: its certificate outlives the new one).
const RENEWED: [Shape; 17] = [
    shape("saved-twice.p12", "icg"),
    shape("keytool-legacy.p12", "icg"),
    Shape {
        key_pass: Some("key.pass"),
        ..shape("own-key-password.p12", "icg")
    },
    shape("no-friendly-name.p12", "1"),
    shape("vendor-attributes.p12", "icg"),
    Shape {
        store_pass: "empty.pass",
        ..shape("no-password.p12", "icg")
    },
    shape("no-mac.p12", "icg"),
    shape("openssl-rc2.p12", "icg"),
    shape("openssl-3des.p12", "icg"),
    Shape {
        key_alias: Some("icg"),
        ..shape("several-keys.p12", "icg")
    },
    Shape {
        key_alias: Some("icg"),
        ..shape("several-keys.jks", "icg")
    },
    Shape {
        key_alias: Some("icg"),
        ..shape("trailing-bytes.jks", "icg")
    },
    shape("not-yet-valid.p12", "icg"),
    // Repeated friendlyNames: Java keeps the last entry of a name (ignoring case) and lists it in lower case.
    shape("repeated-key-alias.p12", "icg"),
    shape("repeated-key-alias-case.p12", "icg"),
    shape("repeated-trusted-alias.p12", "icg"),
    // Two CA certificates of one subject: Java's chain takes the one the leaf's key identifier names.
    shape("same-subject-roots.p12", "icg"),
];

fn shapes_dir() -> PathBuf {
    common::fixture("shapes")
}

fn sha256(der: &[u8]) -> String {
    openssl::hash::hash(MessageDigest::sha256(), der)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An entry as keytool -list -v shows it: type, SHA-256 of every certificate, validity lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    kind: String,
    sha256: Vec<String>,
    validity: Vec<String>,
}

fn keytool_view(store: &Path, password_file: &Path) -> BTreeMap<String, Listed> {
    let text = succeed(
        Process::new("keytool")
            .args(["-list", "-v", "-keystore"])
            .arg(store)
            .arg("-storepass:file")
            .arg(password_file)
            .env("LC_ALL", "C"),
    );
    let mut entries = BTreeMap::new();
    let mut alias: Option<String> = None;
    let mut current = Listed {
        kind: String::new(),
        sha256: Vec::new(),
        validity: Vec::new(),
    };
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("Alias name: ") {
            if let Some(done) = alias.replace(name.to_string()) {
                entries.insert(done, current.clone());
            }
            current = Listed {
                kind: String::new(),
                sha256: Vec::new(),
                validity: Vec::new(),
            };
        } else if let Some(kind) = line.strip_prefix("Entry type: ") {
            current.kind = kind.to_string();
        } else if let Some(fp) = line.strip_prefix("SHA256: ") {
            current.sha256.push(fp.to_string());
        } else if line.starts_with("Valid from: ") {
            current.validity.push(line.to_string());
        }
    }
    if let Some(done) = alias {
        entries.insert(done, current);
    }
    entries
}

/// The same view from icg-renew's own reader (no key is decrypted).
fn tool_view(store: &Path, password: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let data = std::fs::read(store).unwrap();
    let loaded = Keystore::load(&data, &Password::new(password.to_string()), store)
        .unwrap_or_else(|e| panic!("{}: {e}", store.display()));
    loaded
        .entries
        .iter()
        .map(|e| {
            (
                e.alias.clone(),
                (
                    e.kind.name().to_string(),
                    e.der.iter().map(|d| sha256(d)).collect(),
                ),
            )
        })
        .collect()
}

/// A temporary installation: the keystore copy, its configuration, the passwords.
struct Install {
    dir: tempfile::TempDir,
    keystore: PathBuf,
    store_pass: PathBuf,
}

impl Install {
    fn of(shape: &Shape) -> Install {
        Install::of_in(&shapes_dir(), shape)
    }

    /// An installation of a store from `fixtures` (its password files beside it).
    fn of_in(fixtures: &Path, shape: &Shape) -> Install {
        let dir = tempfile::tempdir().unwrap();
        let keystore = dir.path().join(shape.file);
        std::fs::copy(fixtures.join(shape.file), &keystore).unwrap();
        let store_password = std::fs::read_to_string(fixtures.join(shape.store_pass)).unwrap();
        let store_pass = dir.path().join("store.pass");
        write_secret(&store_pass, &store_password);
        let mut yaml = format!(
            "server:\n  port: 8443\n  ssl:\n    key-store: file:{}\n    key-store-password: '{store_password}'\n",
            keystore.display()
        );
        if let Some(alias) = shape.key_alias {
            yaml += &format!("    key-alias: {alias}\n");
        }
        if let Some(file) = shape.key_pass {
            let key_password = std::fs::read_to_string(fixtures.join(file)).unwrap();
            yaml += &format!("    key-password: '{key_password}'\n");
        }
        write_secret(&dir.path().join("application-prod.yml"), &yaml);
        Install {
            dir,
            keystore,
            store_pass,
        }
    }

    fn icg(&self) -> Command {
        let mut cmd = Command::cargo_bin("icg-renew").unwrap();
        cmd.arg("--config")
            .arg(self.dir.path().join("application-prod.yml"))
            .arg("--log-file")
            .arg(self.dir.path().join("audit.log"))
            .arg("--json")
            .timeout(std::time::Duration::from_secs(120));
        cmd
    }

    /// `renew` of the new material, `--restart none --yes`.
    fn renew(&self) -> std::process::Output {
        self.renew_with(&new_material())
    }

    /// `renew` of `material`, `--restart none --yes`.
    fn renew_with(&self, material: &Path) -> std::process::Output {
        self.icg()
            .arg("renew")
            .arg(material)
            .args(["--restart", "none", "--yes"])
            .output()
            .unwrap()
    }

    fn keytool(&self) -> BTreeMap<String, Listed> {
        keytool_view(&self.keystore, &self.store_pass)
    }
}

fn new_material() -> PathBuf {
    shapes_dir().join("new-bundle.pem")
}

/// The new chain's SHA-256 fingerprints, leaf first.
fn new_chain() -> Vec<String> {
    let pem = std::fs::read(new_material()).unwrap();
    X509::stack_from_pem(&pem)
        .unwrap()
        .iter()
        .map(|c| sha256(&c.to_der().unwrap()))
        .collect()
}

#[test]
fn every_shape_reads_as_keytool_lists_it() {
    for shape in &RENEWED {
        let store = shapes_dir().join(shape.file);
        let password = std::fs::read_to_string(shapes_dir().join(shape.store_pass)).unwrap();
        let listed: BTreeMap<String, (String, Vec<String>)> =
            keytool_view(&store, &shapes_dir().join(shape.store_pass))
                .into_iter()
                .map(|(alias, e)| (alias, (e.kind, e.sha256)))
                .collect();
        assert!(!listed.is_empty(), "{}", shape.file);
        assert_eq!(tool_view(&store, &password), listed, "{}", shape.file);
    }
}

#[test]
fn status_shows_the_server_entry_keytool_shows_without_any_key_password() {
    for shape in &RENEWED {
        let install = Install::of(&Shape {
            key_pass: None,
            ..*shape
        });
        let output = install.icg().arg("status").output().unwrap();
        let expected = if shape.file == "not-yet-valid.p12" {
            2
        } else {
            0
        };
        assert_exit(&output, expected);
        let report = json(&output);
        assert_eq!(report["alias"], shape.server, "{}", shape.file);
        let chain: Vec<String> = report["chain"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["sha256"].as_str().unwrap().to_string())
            .collect();
        let listed = install.keytool();
        assert_eq!(chain, listed[shape.server].sha256, "{}", shape.file);
    }
}

#[test]
fn a_not_yet_valid_certificate_is_critical() {
    let install = Install::of(&shape("not-yet-valid.p12", "icg"));
    let output = install.icg().arg("status").output().unwrap();
    assert_exit(&output, 2);
    assert_eq!(json(&output)["state"], "critical");
}

/// `openssl pkcs12 -info` of a PKCS#12: the algorithm lines (MAC and each bag's encryption) and the bags,
/// each as its attribute lines and its PEM.
struct OpensslInfo {
    algorithms: Vec<String>,
    bags: Vec<OpensslBag>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct OpensslBag {
    attributes: Vec<String>,
    pem: String,
}

impl OpensslBag {
    fn is_key(&self) -> bool {
        self.pem.contains("PRIVATE KEY")
    }

    fn trusted(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| a.contains("2.16.840.1.113894.746875.1.1"))
    }

    fn local_key_id(&self) -> Option<&String> {
        self.attributes.iter().find(|a| a.contains("localKeyID"))
    }
}

fn openssl_info(store: &Path, password_file: &Path, keys: bool) -> OpensslInfo {
    let output = Process::new("openssl")
        .args(["pkcs12", "-info", "-legacy", "-in"])
        .arg(store)
        .arg("-passin")
        .arg(if std::fs::read(password_file).unwrap().is_empty() {
            "pass:".to_string()
        } else {
            format!("file:{}", password_file.display())
        })
        .args(if keys { ["-nodes"] } else { ["-nokeys"] })
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", store.display());
    let algorithms = stderr
        .lines()
        .filter(|l| {
            l.starts_with("MAC") || l.contains("Encrypted data") || l.starts_with("Shrouded Keybag")
        })
        .map(str::to_string)
        .collect();
    let mut bags = Vec::new();
    let mut current: Option<OpensslBag> = None;
    let mut in_pem = false;
    for line in stdout.lines() {
        if line.starts_with("Bag Attributes") {
            bags.extend(current.take());
            current = Some(OpensslBag {
                attributes: vec![line.to_string()],
                pem: String::new(),
            });
            in_pem = false;
            continue;
        }
        let Some(bag) = current.as_mut() else {
            continue;
        };
        if line.starts_with("-----BEGIN") {
            in_pem = true;
        }
        if in_pem {
            bag.pem.push_str(line);
            bag.pem.push('\n');
        } else if !line.starts_with("subject=") && !line.starts_with("issuer=") {
            bag.attributes.push(line.to_string());
        }
        if line.starts_with("-----END") {
            in_pem = false;
        }
    }
    bags.extend(current);
    OpensslInfo { algorithms, bags }
}

/// The bags that belong to the server entry: its leaf, its untrusted CA certificates, its key (same
/// localKeyID as the leaf, or the only key).
fn server_bags(info: &OpensslInfo, chain_pems: &[String]) -> Vec<OpensslBag> {
    let leaf = info
        .bags
        .iter()
        .find(|b| b.pem == chain_pems[0])
        .expect("the server leaf is a bag");
    let keys = info.bags.iter().filter(|b| b.is_key()).count();
    info.bags
        .iter()
        .filter(|b| {
            if b.is_key() {
                keys == 1 || b.local_key_id().is_some() && b.local_key_id() == leaf.local_key_id()
            } else {
                chain_pems.contains(&b.pem) && (b.pem == chain_pems[0] || !b.trusted())
            }
        })
        .cloned()
        .collect()
}

fn without(all: &[OpensslBag], some: &[OpensslBag]) -> Vec<OpensslBag> {
    let mut rest: Vec<OpensslBag> = all.iter().filter(|b| !some.contains(b)).cloned().collect();
    rest.sort();
    rest
}

fn chain_pems(store: &Path, password: &str, alias: &str) -> Vec<String> {
    let data = std::fs::read(store).unwrap();
    let loaded = Keystore::load(&data, &Password::new(password.to_string()), store).unwrap();
    loaded
        .entry(alias)
        .unwrap()
        .der
        .iter()
        .map(|d| String::from_utf8(X509::from_der(d).unwrap().to_pem().unwrap()).unwrap())
        .collect()
}

#[test]
fn renewing_each_shape_changes_the_server_entry_and_nothing_else() {
    let new_fingerprints = new_chain();
    let bundle = std::fs::read_to_string(new_material()).unwrap();
    let new_key_pem = &bundle[bundle.find("-----BEGIN PRIVATE KEY-----").unwrap()..];
    for shape in RENEWED.iter().filter(|s| s.file != "not-yet-valid.p12") {
        let install = Install::of(shape);
        let password = std::fs::read_to_string(&install.store_pass).unwrap();
        let pkcs12 = shape.file.ends_with(".p12");
        // openssl decrypts every key with the store password: not for a key with its own.
        let keys = shape.key_pass.is_none();
        let before_list = install.keytool();
        let before = pkcs12.then(|| {
            let old = chain_pems(&install.keystore, &password, shape.server);
            let info = openssl_info(&install.keystore, &install.store_pass, keys);
            (server_bags(&info, &old), info, old)
        });

        let output = install.renew();
        assert_exit(&output, 0);
        assert_eq!(json(&output)["result"], "renewed", "{}", shape.file);

        let after_list = install.keytool();
        assert_eq!(
            before_list.keys().collect::<Vec<_>>(),
            after_list.keys().collect::<Vec<_>>(),
            "{}: keytool's aliases changed",
            shape.file
        );
        for (alias, entry) in &before_list {
            if alias == shape.server {
                assert_eq!(after_list[alias].kind, "PrivateKeyEntry");
                assert_eq!(after_list[alias].sha256, new_fingerprints, "{}", shape.file);
            } else {
                assert_eq!(
                    &after_list[alias], entry,
                    "{}: entry {alias} changed",
                    shape.file
                );
            }
        }
        let Some((old_server, before, old)) = before else {
            continue;
        };
        let new = chain_pems(&install.keystore, &password, shape.server);
        let after = openssl_info(&install.keystore, &install.store_pass, keys);
        assert_eq!(
            before.algorithms, after.algorithms,
            "{}: algorithms changed",
            shape.file
        );
        let new_server = server_bags(&after, &new);
        assert_eq!(
            without(&before.bags, &old_server),
            without(&after.bags, &new_server),
            "{}: a foreign bag changed",
            shape.file
        );
        // The server's leaf and key keep their attributes (friendlyName, localKeyID, vendor attributes).
        let leaf_attributes = |bags: &[OpensslBag], pem: &str| {
            bags.iter()
                .find(|b| b.pem == pem)
                .map(|b| b.attributes.clone())
        };
        assert_eq!(
            leaf_attributes(&old_server, &old[0]),
            leaf_attributes(&new_server, &new[0]),
            "{}: the leaf's attributes changed",
            shape.file
        );
        let key_attributes = |bags: &[OpensslBag]| -> Vec<Vec<String>> {
            bags.iter()
                .filter(|b| b.is_key())
                .map(|b| b.attributes.clone())
                .collect()
        };
        assert_eq!(
            key_attributes(&old_server),
            key_attributes(&new_server),
            "{}",
            shape.file
        );
        if keys {
            let key = new_server
                .iter()
                .find(|b| b.is_key())
                .expect("the server key bag");
            assert_eq!(key.pem.trim(), new_key_pem.trim(), "{}", shape.file);
        }
    }
}

#[test]
fn a_key_with_its_own_password_needs_it_to_renew_and_nothing_changes_without() {
    let own = RENEWED
        .iter()
        .find(|s| s.file == "own-key-password.p12")
        .unwrap();
    let install = Install::of(&Shape {
        key_pass: None,
        ..*own
    });
    let before = std::fs::read(&install.keystore).unwrap();
    let output = install.renew();
    // The exit code of a wrong password (1), naming the setting that gives the key's own.
    assert_exit(&output, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.ssl.key-password"), "{stderr}");
    assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
}

/// The scenario: a sandbox's JKS converted by keytool to PKCS#12, one CA added by keytool (which
/// gives the trusted `root` a localKeyID when it saves again), renewed: `root` must still be there.
#[test]
fn a_keytool_converted_sandbox_keeps_its_root_after_a_renewal() {
    let sandbox = Sandbox::new();
    let keys = sandbox.root().join("usg/keys");
    let yaml_path = sandbox.root().join("usg/conf/application-prod.yml");
    let yaml = std::fs::read_to_string(&yaml_path).unwrap();
    let pass = sandbox.password_file();
    let p12 = keys.join("keystore.p12");
    succeed(
        Process::new("keytool")
            .args(["-importkeystore", "-noprompt", "-srckeystore"])
            .arg(keys.join("keystore.jks"))
            .arg("-srcstorepass:file")
            .arg(&pass)
            .arg("-destkeystore")
            .arg(&p12)
            .args(["-deststoretype", "PKCS12", "-deststorepass:file"])
            .arg(&pass),
    );
    succeed(
        Process::new("keytool")
            .args(["-importcert", "-noprompt", "-alias", "extra-ca", "-file"])
            .arg(shapes_dir().join("root.pem"))
            .arg("-keystore")
            .arg(&p12)
            .arg("-storepass:file")
            .arg(&pass),
    );
    std::fs::write(&yaml_path, yaml.replace("keystore.jks", "keystore.p12")).unwrap();
    let before = keytool_view(&p12, &pass);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["extra-ca", "icg", "root"],
        "the scenario's store"
    );
    let output = sandbox.renew_json().output().unwrap();
    assert_exit(&output, 0);
    let after = keytool_view(&p12, &pass);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        ["extra-ca", "icg", "root"]
    );
    assert_eq!(after["root"], before["root"]);
    assert_eq!(after["extra-ca"], before["extra-ca"]);
}

/// A key bag `icg` followed by a trusted certificate `icg`: Java's map keeps the certificate, so Java (and
/// the ICG) sees no key at all. icg-renew reads it the same way and refuses to renew it, naming the file
/// and the fix, with the keystore untouched.
#[test]
fn a_key_hidden_by_a_later_entry_of_its_name_reads_as_java_reads_it_and_is_refused() {
    let hidden = shape("trusted-over-key-alias.p12", "icg");
    let store = shapes_dir().join(hidden.file);
    let password = std::fs::read_to_string(shapes_dir().join(hidden.store_pass)).unwrap();
    let listed = keytool_view(&store, &shapes_dir().join(hidden.store_pass));
    let kinds: Vec<(&str, &str)> = listed
        .iter()
        .map(|(alias, e)| (alias.as_str(), e.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("icg", "trustedCertEntry"), ("root", "trustedCertEntry")],
        "Java's own view of the shape"
    );
    let listed: BTreeMap<String, (String, Vec<String>)> = listed
        .into_iter()
        .map(|(alias, e)| (alias, (e.kind, e.sha256)))
        .collect();
    assert_eq!(tool_view(&store, &password), listed);

    for key_alias in [None, Some("icg"), Some("ICG")] {
        let install = Install::of(&Shape {
            key_alias,
            ..shape("trusted-over-key-alias.p12", "icg")
        });
        let before = std::fs::read(&install.keystore).unwrap();
        let output = install.renew();
        assert_exit(&output, 1);
        let report = json(&output);
        assert_eq!(report["kind"], "corrupt", "{key_alias:?}");
        let message = report["error"].as_str().unwrap();
        assert!(
            message.contains(&install.keystore.display().to_string())
                && message.contains("'icg' is hidden by a later entry")
                && message.contains("export it again"),
            "{key_alias:?}: {message}"
        );
        assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
        let plain = Command::cargo_bin("icg-renew")
            .unwrap()
            .arg("--config")
            .arg(install.dir.path().join("application-prod.yml"))
            .arg("--log-file")
            .arg(install.dir.path().join("audit.log"))
            .arg("renew")
            .arg(new_material())
            .args(["--restart", "none", "--yes"])
            .output()
            .unwrap();
        assert_exit(&plain, 1);
        common::assert_one_line_error(&plain.stderr, &install.keystore.display().to_string());
        assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The edges of issue 23 (`fixtures/edges/`, see scripts/make-fixtures): each store compared with Java 17's own
// view, `KeyStore.load` and `getKey` with exactly the configured password (scripts/fixtures/JavaView.java).
// ---------------------------------------------------------------------------------------------------------

fn edges_dir() -> PathBuf {
    common::fixture("edges")
}

const fn edge(file: &'static str) -> Shape {
    shape(file, "icg")
}

/// Java's view of a store: alias → (entry type, SHA-256 of each certificate, whether getKey worked), or the
/// exception that stopped `KeyStore.load`.
type JavaEntries = BTreeMap<String, (String, Vec<String>, bool)>;

fn java_view(store: &Path, password_file: &Path) -> Result<JavaEntries, String> {
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixtures/JavaView.java");
    let text = succeed(
        Process::new("java")
            .arg(program)
            .arg(store)
            .arg(password_file),
    );
    if let Some(failed) = text.strip_prefix("LOAD-FAILED ") {
        return Err(failed.trim().to_string());
    }
    Ok(text
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sha256 = fields[3].trim_start_matches("sha256=");
            let sha256 = if sha256 == "-" {
                Vec::new()
            } else {
                sha256.split(',').map(str::to_string).collect()
            };
            let key_ok = fields.get(4).is_none_or(|k| *k == "key=ok");
            (
                fields[0].to_string(),
                (fields[1].to_string(), sha256, key_ok),
            )
        })
        .collect())
}

/// Java's view without the key column, to compare with icg-renew's reader.
fn java_listing(store: &Path, password_file: &Path) -> BTreeMap<String, (String, Vec<String>)> {
    java_view(store, password_file)
        .unwrap_or_else(|e| panic!("Java cannot load {}: {e}", store.display()))
        .into_iter()
        .map(|(alias, (kind, sha256, _))| (alias, (kind, sha256)))
        .collect()
}

fn error_of(output: &std::process::Output) -> (String, String) {
    let report = json(output);
    (
        report["kind"].as_str().unwrap_or_default().to_string(),
        report["error"].as_str().unwrap_or_default().to_string(),
    )
}

/// Row "PKCS#12 in BER": keytool's store with a BER outer structure and an openssl store in BER all through
/// read as Java reads them, and renew, written as DER with every other entry kept. On the old main, status
/// and renew refused both ("not a JKS or PKCS#12 keystore").
#[test]
fn a_pkcs12_in_ber_reads_as_java_reads_it_and_renews_as_der() {
    for file in ["ber-keytool.p12", "ber-nomac.p12"] {
        let store = edges_dir().join(file);
        let pass = edges_dir().join("store.pass");
        let password = std::fs::read_to_string(&pass).unwrap();
        let data = std::fs::read(&store).unwrap();
        assert!(
            matches!(
                icg_renew::keystore::ber::to_der(&data),
                Ok(std::borrow::Cow::Owned(_))
            ),
            "{file} is BER"
        );
        assert_eq!(
            tool_view(&store, &password),
            java_listing(&store, &pass),
            "{file}"
        );

        let install = Install::of_in(&edges_dir(), &edge(file));
        let status = install.icg().arg("status").output().unwrap();
        assert_exit(&status, 0);
        let before = java_listing(&install.keystore, &install.store_pass);
        let output = install.renew_with(&edges_dir().join("new-bundle.pem"));
        assert_exit(&output, 0);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("a renewal writes it as DER"),
            "{file}: {stdout}"
        );
        let after = java_view(&install.keystore, &install.store_pass).unwrap();
        let written = std::fs::read(&install.keystore).unwrap();
        assert!(
            matches!(
                icg_renew::keystore::ber::to_der(&written),
                Ok(std::borrow::Cow::Borrowed(_))
            ),
            "{file}: written as DER"
        );
        assert!(after["icg"].2, "{file}: Java reads the new key");
        let new_leaf = sha256(
            &X509::stack_from_pem(&std::fs::read(edges_dir().join("new-bundle.pem")).unwrap())
                .unwrap()[0]
                .to_der()
                .unwrap(),
        );
        assert_eq!(after["icg"].1[0], new_leaf, "{file}");
        for (alias, entry) in before.iter().filter(|(a, _)| *a != "icg") {
            assert_eq!(
                (&after[alias].0, &after[alias].1),
                (&entry.0, &entry.1),
                "{file}: {alias}"
            );
        }
    }
}

/// Row "non-ASCII store password": Java's PBE takes printable ASCII only, so Java cannot load these stores;
/// icg-renew says so in every command and changes nothing. On the old main it read and renewed them (exit 0).
#[test]
fn a_password_java_refuses_is_refused_and_nothing_is_renewed() {
    for (file, pass) in [
        ("non-ascii-pbes2.p12", "non-ascii.pass"),
        ("emoji-3des.p12", "emoji.pass"),
    ] {
        let failed = java_view(&edges_dir().join(file), &edges_dir().join(pass)).unwrap_err();
        assert!(
            failed.contains("Password is not ASCII"),
            "{file}: Java says {failed}"
        );
        let install = Install::of_in(
            &edges_dir(),
            &Shape {
                store_pass: pass,
                ..edge(file)
            },
        );
        let before = std::fs::read(&install.keystore).unwrap();
        let status = install.icg().arg("status").output().unwrap();
        assert_ne!(status.status.code(), Some(0), "{file}: status");
        let output = install.renew_with(&edges_dir().join("new-bundle.pem"));
        assert_exit(&output, 1);
        let (kind, message) = error_of(&output);
        assert_eq!(kind, "unsupported", "{file}");
        assert!(
            message.contains("outside printable ASCII") && message.contains("store password"),
            "{file}: {message}"
        );
        assert_eq!(std::fs::read(&install.keystore).unwrap(), before, "{file}");
    }
}

/// Row "friendlyName a UTF8String": Java fails the whole load ("Incorrect string type 12"); so does icg-renew,
/// naming the reason. On the old main it read alias `1` and renewed it.
#[test]
fn a_friendly_name_java_cannot_read_is_refused_as_java_refuses_it() {
    let file = "utf8-friendly-name.p12";
    let failed = java_view(&edges_dir().join(file), &edges_dir().join("store.pass")).unwrap_err();
    assert!(
        failed.contains("Incorrect string type 12"),
        "Java says {failed}"
    );
    let install = Install::of_in(&edges_dir(), &edge(file));
    let before = std::fs::read(&install.keystore).unwrap();
    let output = install.renew_with(&edges_dir().join("new-bundle.pem"));
    assert_exit(&output, 1);
    let (_, message) = error_of(&output);
    assert!(
        message.contains("Java cannot load") && message.contains("Incorrect string type 12"),
        "{message}"
    );
    assert_eq!(std::fs::read(&install.keystore).unwrap(), before);
}

/// Rows "key entry without certificate": Java lists it (PrivateKeyEntry, chain length 0); icg-renew lists it
/// the same way, never renews it, and with two key entries and no key-alias asks which one, as for two
/// complete keys. On the old main the lone key was "no private-key entry" and the pair renewed `icg` unasked.
#[test]
fn key_entries_without_a_certificate_are_listed_and_never_the_server_entry() {
    for file in ["key-without-cert.p12", "two-keys-one-without-cert.p12"] {
        let store = edges_dir().join(file);
        let pass = edges_dir().join("store.pass");
        let java = java_listing(&store, &pass);
        assert!(
            java.values()
                .any(|(kind, chain)| kind == "PrivateKeyEntry" && chain.is_empty()),
            "{file}"
        );
        let password = std::fs::read_to_string(&pass).unwrap();
        assert_eq!(tool_view(&store, &password), java, "{file}");
    }

    let lone = Install::of_in(&edges_dir(), &edge("key-without-cert.p12"));
    let before = std::fs::read(&lone.keystore).unwrap();
    let output = lone.renew_with(&edges_dir().join("new-bundle.pem"));
    assert_exit(&output, 1);
    let (_, message) = error_of(&output);
    assert!(
        message.contains("key entry 'icg' has no certificate"),
        "{message}"
    );
    assert_eq!(std::fs::read(&lone.keystore).unwrap(), before);

    let pair = Install::of_in(&edges_dir(), &edge("two-keys-one-without-cert.p12"));
    let before = std::fs::read(&pair.keystore).unwrap();
    let output = pair.renew_with(&edges_dir().join("new-bundle.pem"));
    assert_exit(&output, 2);
    let (kind, message) = error_of(&output);
    assert_eq!(kind, "usage");
    assert!(
        message.contains("icg") && message.contains("backup"),
        "{message}"
    );
    assert_eq!(std::fs::read(&pair.keystore).unwrap(), before);

    let chosen = Install::of_in(
        &edges_dir(),
        &Shape {
            key_alias: Some("icg"),
            ..edge("two-keys-one-without-cert.p12")
        },
    );
    let output = chosen.renew_with(&edges_dir().join("new-bundle.pem"));
    assert_exit(&output, 0);
    let after = java_view(&chosen.keystore, &chosen.store_pass).unwrap();
    assert!(
        after["backup"].1.is_empty() && after["backup"].2,
        "backup kept as Java had it"
    );
    assert!(after["icg"].2);

    let backup = Install::of_in(
        &edges_dir(),
        &Shape {
            key_alias: Some("backup"),
            ..edge("two-keys-one-without-cert.p12")
        },
    );
    let output = backup.renew_with(&edges_dir().join("new-bundle.pem"));
    assert_exit(&output, 1);
    assert!(error_of(&output)
        .1
        .contains("key entry 'backup' has no certificate"));
}

/// Row "key PBE with 2,000,000 iterations" (keytool's keyPbeIterationCount): Java reads it, so does
/// icg-renew, and the renewed key keeps the count. On the old main: "iteration count outside 1..1000000".
#[test]
fn a_key_with_two_million_iterations_reads_and_renews() {
    let install = Install::of_in(&edges_dir(), &edge("key-pbe-2m.p12"));
    assert!(java_view(&install.keystore, &install.store_pass).unwrap()["icg"].2);
    let status = install.icg().arg("status").output().unwrap();
    assert_exit(&status, 0);
    let output = install.renew_with(&edges_dir().join("new-bundle.pem"));
    assert_exit(&output, 0);
    assert!(java_view(&install.keystore, &install.store_pass).unwrap()["icg"].2);
    let info = openssl_info(&install.keystore, &install.store_pass, false);
    assert!(
        info.algorithms
            .iter()
            .any(|a| a.contains("Shrouded Keybag") && a.contains("Iteration 2000000")),
        "{:?}",
        info.algorithms
    );
}

/// Row "JCEKS": status, verify and renew give the same message, naming the type and how to convert. On the
/// old main only status did; renew said "not a JKS or PKCS#12 keystore".
#[test]
fn a_jceks_keystore_gets_one_message_from_every_command() {
    let install = Install::of_in(&edges_dir(), &edge("keystore.jceks"));
    let material = edges_dir().join("new-bundle.pem");
    let mut messages = Vec::new();
    for args in [
        vec!["status".into()],
        vec!["verify".into(), material.clone().into_os_string()],
        vec![
            "renew".into(),
            material.clone().into_os_string(),
            "--restart".into(),
            "none".into(),
            "--yes".into(),
        ],
    ] {
        let output = install.icg().args(&args).output().unwrap();
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        messages.push(error_of(&output).1);
    }
    for message in &messages {
        assert!(
            message.contains("is a JCEKS keystore") && message.contains("-deststoretype pkcs12"),
            "{message}"
        );
    }
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:#?}");
}

/// Row "key types": Ed25519 and RSA-PSS new material is refused naming the key type and the clients that
/// refuse it, never with OpenSSL's number. On the old main: "key type Id(1087)" / "Id(912)".
#[test]
fn key_types_are_named_with_the_clients_that_refuse_them() {
    let install = Install::of_in(&edges_dir(), &edge("ca-names-keytool.p12"));
    for (file, name) in [
        ("new-ed25519.pem", "Ed25519"),
        ("new-rsa-pss.pem", "RSA-PSS"),
    ] {
        let output = install
            .icg()
            .arg("verify")
            .arg(edges_dir().join(file))
            .output()
            .unwrap();
        assert_exit(&output, 3);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains(&format!("key type {name}")), "{file}: {text}");
        assert!(!text.contains("Id("), "{file}: {text}");
    }
}

/// The CA certificate bags of a PKCS#12 as `openssl pkcs12 -info` shows them: (subject line, attributes).
fn ca_bags(store: &Path, pass: &Path) -> Vec<OpensslBag> {
    openssl_info(store, pass, false)
        .bags
        .into_iter()
        .filter(|b| !b.is_key() && b.local_key_id().is_none() && !b.trusted())
        .collect()
}

/// Row "CA bags": unchanged CA certificates of the server chain keep their bag and attributes (keytool's
/// subject names, openssl's -caname); a new CA certificate gets the friendlyName keytool gives it when it
/// saves the store. On the old main every CA bag lost its attributes.
#[test]
fn ca_bags_keep_their_attributes_and_new_ones_get_the_name_java_gives_them() {
    for file in ["ca-names-keytool.p12", "ca-names-openssl.p12"] {
        let install = Install::of_in(&edges_dir(), &edge(file));
        let before = ca_bags(&install.keystore, &install.store_pass);
        assert_eq!(before.len(), 2, "{file}");
        assert!(before
            .iter()
            .all(|b| b.attributes.iter().any(|a| a.contains("friendlyName"))));
        let output = install.renew_with(&edges_dir().join("new-inter-bundle.pem"));
        assert_exit(&output, 0);
        assert_eq!(
            ca_bags(&install.keystore, &install.store_pass),
            before,
            "{file}"
        );
    }

    // A root-signed store renewed with an intermediate-signed leaf: the intermediate's bag is new.
    let install = Install::of_in(&edges_dir(), &edge("ber-keytool.p12"));
    let output = install.renew_with(&edges_dir().join("new-inter-bundle.pem"));
    assert_exit(&output, 0);
    let ours = ca_bags(&install.keystore, &install.store_pass);
    let saved = install.dir.path().join("saved-by-keytool.p12");
    succeed(
        Process::new("keytool")
            .args([
                "-importkeystore",
                "-noprompt",
                "-srcstoretype",
                "PKCS12",
                "-srckeystore",
            ])
            .arg(&install.keystore)
            .arg("-srcstorepass:file")
            .arg(&install.store_pass)
            .arg("-destkeystore")
            .arg(&saved)
            .args(["-deststoretype", "PKCS12", "-deststorepass:file"])
            .arg(&install.store_pass),
    );
    let javas = ca_bags(&saved, &install.store_pass);
    let names = |bags: &[OpensslBag]| -> Vec<String> {
        let mut names: Vec<String> = bags
            .iter()
            .flat_map(|b| {
                b.attributes
                    .iter()
                    .filter(|a| a.contains("friendlyName"))
                    .cloned()
            })
            .collect();
        names.sort();
        names
    };
    assert!(!names(&ours).is_empty());
    assert_eq!(names(&ours), names(&javas));
}

/// New material is read by icg-renew alone, not by the ICG's Java: a PKCS#12 with a non-ASCII password
/// (`openssl pkcs12 -export` takes one) is read as new material; only the installed keystore is held to
/// Java's rule.
#[test]
fn new_material_with_a_non_ascii_password_is_still_read() {
    let install = Install::of_in(&edges_dir(), &edge("ca-names-keytool.p12"));
    let output = install
        .icg()
        .arg("verify")
        .arg(edges_dir().join("non-ascii-pbes2.p12"))
        .arg("--new-password-file")
        .arg(edges_dir().join("non-ascii.pass"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("printable ASCII"), "{text}");
    // The material is the installed certificate itself: read, then judged (not newer than the installed one).
    assert!(text.contains("\"checks\""), "{text}");
}
