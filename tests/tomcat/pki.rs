//! Certificates for the key-usage tests and the Tomcat group, made with the `openssl` command line: a root CA
//! (or the sandbox's), and leaves or intermediates it signs with exactly the extensions a test names (key
//! usage, extended key usage, SAN), with RSA or EC keys. Everything lands in a directory the caller owns.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The key type of a certificate made here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    Ec,
}

/// A certificate and its private key as PEM files.
#[derive(Clone, Debug)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Issued {
    pub fn x509(&self) -> openssl::x509::X509 {
        openssl::x509::X509::from_pem(&std::fs::read(&self.cert).unwrap()).unwrap()
    }
}

fn openssl(args: &[&str], dir: &Path) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn new_key(dir: &Path, name: &str, key_type: KeyType) -> PathBuf {
    let key = format!("{name}.key");
    let (algorithm, option) = match key_type {
        KeyType::Rsa => ("RSA", "rsa_keygen_bits:2048"),
        KeyType::Ec => ("EC", "ec_paramgen_curve:P-256"),
    };
    openssl(
        &[
            "genpkey",
            "-algorithm",
            algorithm,
            "-pkeyopt",
            option,
            "-out",
            &key,
        ],
        dir,
    );
    dir.join(key)
}

/// Runs `openssl` in `dir` with `args` writing the certificate `name` (`-out <name>.pem`), whose key is `key`.
fn certificate(dir: &Path, name: &str, key: PathBuf, args: &[&str]) -> Issued {
    let cert = format!("{name}.pem");
    let mut args = args.to_vec();
    args.extend(["-out", &cert]);
    openssl(&args, dir);
    Issued {
        cert: dir.join(cert),
        key,
    }
}

/// A self-signed root CA `name` in `dir`.
pub fn root(dir: &Path, name: &str) -> Issued {
    let key = new_key(dir, name, KeyType::Rsa);
    certificate(
        dir,
        name,
        key,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-days",
            "3650",
            "-subj",
            &format!("/O=icg-renew tests/CN={name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )
}

/// A certificate `name` signed by `issuer`, valid from yesterday for `days`, with the extension lines
/// `extensions` (openssl's x509v3 configuration syntax, one per entry).
pub fn issue<S: AsRef<str>>(
    dir: &Path,
    issuer: &Issued,
    name: &str,
    cn: &str,
    key_type: KeyType,
    days: u32,
    extensions: &[S],
) -> Issued {
    let key = new_key(dir, name, key_type);
    let csr = format!("{name}.csr");
    openssl(
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/O=icg-renew tests/CN={cn}"),
            "-out",
            &csr,
        ],
        dir,
    );
    let ext_file = format!("{name}.ext");
    let lines: String = extensions
        .iter()
        .map(|l| format!("{}\n", l.as_ref()))
        .collect();
    std::fs::write(dir.join(&ext_file), lines).unwrap();
    certificate(
        dir,
        name,
        key,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            issuer.cert.to_str().unwrap(),
            "-CAkey",
            issuer.key.to_str().unwrap(),
            "-days",
            &days.to_string(),
            "-sha256",
            "-extfile",
            &ext_file,
            "-set_serial",
            &format!("0x{:x}", serial()),
        ],
    )
}

/// A fresh serial number, so that two certificates made in the same second differ.
fn serial() -> u64 {
    let mut bytes = [0u8; 8];
    openssl::rand::rand_bytes(&mut bytes).unwrap();
    u64::from_be_bytes(bytes) >> 1
}

/// The extension lines of a server leaf for `sans` (`DNS:…`, `IP:…`) with `key_usage` and `eku` (either may
/// be empty for no such extension).
pub fn leaf_extensions(sans: &str, key_usage: &str, eku: &str) -> Vec<String> {
    let mut lines = vec![
        "basicConstraints=critical,CA:FALSE".to_string(),
        format!("subjectAltName={sans}"),
    ];
    if !key_usage.is_empty() {
        lines.push(format!("keyUsage=critical,{key_usage}"));
    }
    if !eku.is_empty() {
        lines.push(format!("extendedKeyUsage={eku}"));
    }
    lines
}

/// A PEM bundle (leaf, then `chain`, then the key) at `out`: new material as an ACME client leaves it.
pub fn bundle(leaf: &Issued, chain: &[&Path], out: &Path) {
    let mut text = std::fs::read(&leaf.cert).unwrap();
    for c in chain {
        text.extend(std::fs::read(c).unwrap());
    }
    text.extend(std::fs::read(&leaf.key).unwrap());
    std::fs::write(out, text).unwrap();
}

/// An RSA leaf `name` for `sans` signed by `issuer` that expired yesterday (valid for the 30 days before),
/// made with the openssl crate since the command line of OpenSSL 3.0 cannot back-date a certificate.
pub fn expired_leaf(dir: &Path, issuer: &Issued, name: &str, cn: &str, sans: &str) -> Issued {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::{
        BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    };
    use openssl::x509::{X509Name, X509};

    let ca = X509::from_pem(&std::fs::read(&issuer.cert).unwrap()).unwrap();
    let ca_key = PKey::private_key_from_pem(&std::fs::read(&issuer.key).unwrap()).unwrap();
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut subject = X509Name::builder().unwrap();
    subject
        .append_entry_by_text("O", "icg-renew tests")
        .unwrap();
    subject.append_entry_by_text("CN", cn).unwrap();
    let subject = subject.build();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    let serial = BigNum::from_dec_str(&serial().to_string()).unwrap();
    builder
        .set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    builder.set_subject_name(&subject).unwrap();
    builder.set_issuer_name(ca.subject_name()).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::from_unix(now - 31 * 86_400).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::from_unix(now - 86_400).unwrap())
        .unwrap();
    builder
        .append_extension(BasicConstraints::new().critical().build().unwrap())
        .unwrap();
    builder
        .append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .unwrap(),
        )
        .unwrap();
    builder
        .append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap())
        .unwrap();
    let mut san = SubjectAlternativeName::new();
    for entry in sans.split(',') {
        match entry.split_once(':') {
            Some(("DNS", name)) => san.dns(name),
            Some(("IP", ip)) => san.ip(ip),
            _ => panic!("unknown SAN entry {entry}"),
        };
    }
    let san = san.build(&builder.x509v3_context(Some(&ca), None)).unwrap();
    builder.append_extension(san).unwrap();
    builder.sign(&ca_key, MessageDigest::sha256()).unwrap();
    let cert = dir.join(format!("{name}.pem"));
    let key_file = dir.join(format!("{name}.key"));
    std::fs::write(&cert, builder.build().to_pem().unwrap()).unwrap();
    std::fs::write(&key_file, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    Issued {
        cert,
        key: key_file,
    }
}

/// A keystore `dir/installed.<format>` (`format` JKS or PKCS12) with entry `alias` (its own `key_password`)
/// holding `leaf` and its chain up to the root `ca`, and trusted entry `root`; made by openssl and keytool as
/// an administrator would.
pub fn keystore(
    dir: &Path,
    ca: &Issued,
    leaf: &Issued,
    format: &str,
    alias: &str,
    store_password: &str,
    key_password: &str,
) -> PathBuf {
    let run = |cmd: &mut Command| {
        let output = cmd.output().unwrap();
        assert!(
            output.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let p12 = dir.join("export.p12");
    run(Command::new("openssl")
        .args([
            "pkcs12",
            "-export",
            "-name",
            alias,
            "-passout",
            "pass:export-pw",
        ])
        .arg("-in")
        .arg(&leaf.cert)
        .arg("-inkey")
        .arg(&leaf.key)
        .arg("-certfile")
        .arg(&ca.cert)
        .arg("-out")
        .arg(&p12));
    let out = dir.join(format!("installed.{}", format.to_lowercase()));
    run(Command::new("keytool")
        .args([
            "-importkeystore",
            "-noprompt",
            "-srcstoretype",
            "PKCS12",
            "-srcstorepass",
            "export-pw",
        ])
        .arg("-srckeystore")
        .arg(&p12)
        .args([
            "-srcalias",
            alias,
            "-destalias",
            alias,
            "-deststoretype",
            format,
        ])
        .args([
            "-deststorepass",
            store_password,
            "-destkeypass",
            key_password,
        ])
        .arg("-destkeystore")
        .arg(&out));
    run(Command::new("keytool")
        .args([
            "-importcert",
            "-noprompt",
            "-alias",
            "root",
            "-storepass",
            store_password,
        ])
        .arg("-file")
        .arg(&ca.cert)
        .arg("-keystore")
        .arg(&out));
    let _ = std::fs::remove_file(p12);
    out
}
