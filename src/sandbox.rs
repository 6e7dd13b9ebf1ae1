//! A complete, realistic throwaway ICG installation, made with the `openssl` crate: configuration, a keystore
//! whose server certificate expires in 10 days (under a root CA that stays in place), new material from the
//! same root in several formats, and incompatible samples. Used by `sandbox`, `demo` and the test suite.

use crate::error::CommandError;
use crate::error::{Error, Result};
use crate::keystore::jks::JksStore;
use crate::secret::Password;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const DAY: i64 = 86_400;
pub const SERVER_ALIAS: &str = "icg";
pub const DNS_NAMES: [&str; 2] = ["icg.sandbox.test", "gateway.sandbox.test"];
pub const IP_ADDRESSES: [&str; 2] = ["192.0.2.10", "127.0.0.1"];

/// A certificate with its key.
pub struct Issued {
    pub key: PKey<Private>,
    pub cert: X509,
}

/// What to put in a leaf certificate.
pub struct LeafSpec<'a> {
    pub common_name: &'a str,
    pub dns: &'a [&'a str],
    pub ips: &'a [&'a str],
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
}

/// The paths of a sandbox and the commands to try in it.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub root: PathBuf,
    pub config: PathBuf,
    pub keystore: PathBuf,
    pub new_material: PathBuf,
    pub files: Vec<PathBuf>,
}

fn rsa_key(bits: u32) -> Result<PKey<Private>> {
    Rsa::generate(bits)
        .and_then(PKey::from_rsa)
        .map_err(ssl_error)
}

fn ssl_error(source: openssl::error::ErrorStack) -> Error {
    Error::Command(CommandError::SandboxOpenSsl { source })
}

fn name(common_name: &str, org: &str) -> Result<openssl::x509::X509Name> {
    let mut builder = X509NameBuilder::new().map_err(ssl_error)?;
    builder.append_entry_by_text("O", org).map_err(ssl_error)?;
    builder
        .append_entry_by_text("CN", common_name)
        .map_err(ssl_error)?;
    Ok(builder.build())
}

fn random_serial() -> std::result::Result<Asn1Integer, openssl::error::ErrorStack> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    bn.to_asn1_integer()
}

/// A self-signed root CA valid from `now - 1 year` for `years`.
pub fn root_ca(common_name: &str, now: i64, years: i64) -> Result<Issued> {
    let key = rsa_key(3072)?;
    let subject = name(common_name, "icg-renew sandbox")?;
    let build = || -> std::result::Result<X509, openssl::error::ErrorStack> {
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(random_serial()?.as_ref())?;
        b.set_subject_name(&subject)?;
        b.set_issuer_name(&subject)?;
        b.set_pubkey(&key)?;
        b.set_not_before(Asn1Time::from_unix(now - 365 * DAY)?.as_ref())?;
        b.set_not_after(Asn1Time::from_unix(now + years * 365 * DAY)?.as_ref())?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok(b.build())
    };
    let cert = build().map_err(ssl_error)?;
    Ok(Issued { key, cert })
}

/// A certificate for `spec`, signed by `issuer` (or by itself when `issuer` is `None`), with a new RSA key.
pub fn leaf(spec: &LeafSpec<'_>, issuer: Option<&Issued>) -> Result<Issued> {
    let key = rsa_key(2048)?;
    let subject = name(spec.common_name, "icg-renew sandbox")?;
    let build = || -> std::result::Result<X509, openssl::error::ErrorStack> {
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(random_serial()?.as_ref())?;
        b.set_subject_name(&subject)?;
        b.set_issuer_name(issuer.map(|i| i.cert.subject_name()).unwrap_or(&subject))?;
        b.set_pubkey(&key)?;
        b.set_not_before(Asn1Time::from_unix(spec.not_before)?.as_ref())?;
        b.set_not_after(Asn1Time::from_unix(spec.not_after)?.as_ref())?;
        let mut constraints = BasicConstraints::new();
        if spec.is_ca {
            constraints.ca();
        }
        b.append_extension(constraints.critical().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()?,
        )?;
        b.append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()?,
        )?;
        if !spec.dns.is_empty() || !spec.ips.is_empty() {
            let mut san = SubjectAlternativeName::new();
            for d in spec.dns {
                san.dns(d);
            }
            for ip in spec.ips {
                san.ip(ip);
            }
            let ext = san.build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))?;
            b.append_extension(ext)?;
        }
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        if let Some(issuer) = issuer {
            let aki = AuthorityKeyIdentifier::new()
                .keyid(true)
                .build(&b.x509v3_context(Some(&issuer.cert), None))?;
            b.append_extension(aki)?;
        }
        b.sign(
            issuer.map(|i| &i.key).unwrap_or(&key),
            MessageDigest::sha256(),
        )?;
        Ok(b.build())
    };
    let cert = build().map_err(ssl_error)?;
    Ok(Issued { key, cert })
}

fn random_password() -> Result<Password> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    openssl::rand::rand_bytes(&mut bytes).map_err(ssl_error)?;
    Ok(Password::new(
        bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect(),
    ))
}

fn pem_bundle(issued: &Issued, chain: &[&X509]) -> Result<Vec<u8>> {
    let mut out = issued.cert.to_pem().map_err(ssl_error)?;
    for c in chain {
        out.extend(c.to_pem().map_err(ssl_error)?);
    }
    out.extend(issued.key.private_key_to_pem_pkcs8().map_err(ssl_error)?);
    Ok(out)
}

/// Creates a new file (never through a link) with `mode` from the start, so a key is never readable by others.
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|e| Error::io("create", path, &e))?;
    file.write_all(data)
        .map_err(|e| Error::io("write", path, &e))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set the mode of", path, &e))?;
    Ok(path.to_path_buf())
}

fn make_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io("create", path, &e))
}

/// Creates the sandbox under `dir` (which must not exist or be empty). `pkcs12` chooses the keystore format.
pub fn create(dir: &Path, pkcs12: bool, port: u16, now: i64) -> Result<Sandbox> {
    let layout = Layout::make(dir)?;
    let root = root_ca("ICG Sandbox Root CA", now, 10)?;
    // Ten days and an hour: `status` a moment later still says 10 days left, as the sandbox promises.
    let installed = leaf(
        &sandbox_leaf(now - 355 * DAY, now + 10 * DAY + 3600),
        Some(&root),
    )?;
    let renewed = leaf(&sandbox_leaf(now - 3600, now + 365 * DAY), Some(&root))?;
    let store_password = random_password()?;

    let mut files = Vec::new();
    let keystore = write_keystore(&layout, pkcs12, &store_password, &installed, &root, now)?;
    files.push(keystore.clone());
    let config = write_config(&layout, port, &keystore, &store_password)?;
    files.push(config.clone());
    let new_material = write_new_material(&layout, &renewed, &root, &mut files)?;
    write_ca(&layout, &root, &mut files)?;
    write_incompatible(&layout, &root, now, &mut files)?;
    Ok(Sandbox {
        root: layout.root,
        config,
        keystore,
        new_material,
        files,
    })
}

/// The directories of a sandbox, all made (under an absolute root).
struct Layout {
    root: PathBuf,
    conf: PathBuf,
    keys: PathBuf,
    logs: PathBuf,
    new: PathBuf,
    incompatible: PathBuf,
    ca: PathBuf,
}

impl Layout {
    /// Makes the directories under `dir`, which must not exist or be empty.
    fn make(dir: &Path) -> Result<Layout> {
        if dir.exists() {
            let empty = std::fs::read_dir(dir)
                .map_err(|e| Error::io("open", dir, &e))?
                .next()
                .is_none();
            if !empty {
                return Err(Error::Command(CommandError::SandboxNotEmpty {
                    dir: dir.to_path_buf(),
                }));
            }
        }
        let root = std::path::absolute(dir).map_err(|e| Error::io("resolve", dir, &e))?;
        let layout = Layout {
            conf: root.join("usg/conf"),
            keys: root.join("usg/keys"),
            logs: root.join("usg/logs"),
            new: root.join("new"),
            incompatible: root.join("incompatible"),
            ca: root.join("ca"),
            root,
        };
        for d in [
            &layout.conf,
            &layout.keys,
            &layout.new,
            &layout.incompatible,
            &layout.logs,
        ] {
            make_dir(d)?;
        }
        Ok(layout)
    }
}

/// A server certificate for the sandbox's names and addresses, valid from `not_before` to `not_after`.
fn sandbox_leaf(not_before: i64, not_after: i64) -> LeafSpec<'static> {
    LeafSpec {
        common_name: DNS_NAMES[0],
        dns: &DNS_NAMES,
        ips: &IP_ADDRESSES,
        not_before,
        not_after,
        is_ca: false,
    }
}

/// The installed keystore (JKS, or PKCS#12 when `pkcs12`): the server entry and the root as a trusted entry.
fn write_keystore(
    layout: &Layout,
    pkcs12: bool,
    store_password: &Password,
    installed: &Issued,
    root: &Issued,
    now: i64,
) -> Result<PathBuf> {
    let chain = [installed.cert.clone(), root.cert.clone()];
    let keystore_bytes = if pkcs12 {
        crate::keystore::pkcs12::build(
            store_password,
            SERVER_ALIAS,
            &installed.key,
            &chain,
            &[("root", &root.cert)],
        )
    } else {
        let pkcs8 = installed.key.private_key_to_pkcs8().map_err(ssl_error)?;
        JksStore::build(
            store_password,
            &[(SERVER_ALIAS, &pkcs8, &chain)],
            &[("root", &root.cert)],
            (now * 1000) as u64,
        )
    }
    .map_err(|why| {
        Error::Command(CommandError::SandboxBuild {
            part: "keystore",
            why,
        })
    })?;
    write_file(&layout.keys.join("keystore.jks"), &keystore_bytes, 0o600)
}

/// The ICG's `application-prod.yml`, naming the keystore and its password.
fn write_config(
    layout: &Layout,
    port: u16,
    keystore: &Path,
    store_password: &Password,
) -> Result<PathBuf> {
    let yaml = format!(
        "server:\n  port: {port}\n  ssl:\n    key-store: {ks}\n    key-store-password: {pw}\n    trust-store-password: {pw}\n    trust-store: {ks}\n  tomcat:\n    accesslog:\n      directory: {logs}\nclient:\n  auth:\n    activated: true\n",
        ks = keystore.display(),
        pw = store_password.expose(),
        logs = layout.logs.display(),
    );
    write_file(
        &layout.conf.join("application-prod.yml"),
        yaml.as_bytes(),
        0o600,
    )
}

/// The renewed certificate as the UMS exports it (returned) and as a PEM bundle, and the root alone.
fn write_new_material(
    layout: &Layout,
    renewed: &Issued,
    root: &Issued,
    files: &mut Vec<PathBuf>,
) -> Result<PathBuf> {
    // The UMS export: a PKCS#12 keystore without a password.
    let icg = crate::keystore::pkcs12::build(
        &Password::empty(),
        SERVER_ALIAS,
        &renewed.key,
        &[renewed.cert.clone(), root.cert.clone()],
        &[],
    )
    .map_err(|why| {
        Error::Command(CommandError::SandboxBuild {
            part: "material",
            why,
        })
    })?;
    let new_material = write_file(&layout.new.join("keystore.icg"), &icg, 0o600)?;
    files.push(new_material.clone());
    files.push(write_file(
        &layout.new.join("new-bundle.pem"),
        &pem_bundle(renewed, &[&root.cert])?,
        0o600,
    )?);
    files.push(write_file(
        &layout.new.join("root.pem"),
        &root.cert.to_pem().map_err(ssl_error)?,
        0o644,
    )?);
    Ok(new_material)
}

/// The sandbox's CA, so that a request made by `csr` can be signed as a UMS or corporate CA would.
fn write_ca(layout: &Layout, root: &Issued, files: &mut Vec<PathBuf>) -> Result<()> {
    make_dir(&layout.ca)?;
    files.push(write_file(
        &layout.ca.join("root-ca.pem"),
        &root.cert.to_pem().map_err(ssl_error)?,
        0o644,
    )?);
    files.push(write_file(
        &layout.ca.join("root-ca.key"),
        &root.key.private_key_to_pem_pkcs8().map_err(ssl_error)?,
        0o600,
    )?);
    Ok(())
}

/// Material that a check must refuse: another root, a missing IP address, self-signed.
fn write_incompatible(
    layout: &Layout,
    root: &Issued,
    now: i64,
    files: &mut Vec<PathBuf>,
) -> Result<()> {
    let bad = &layout.incompatible;
    let other_root = root_ca("Some Other Root CA", now, 10)?;
    let foreign = leaf(
        &sandbox_leaf(now - 3600, now + 365 * DAY),
        Some(&other_root),
    )?;
    files.push(write_file(
        &bad.join("other-root.pem"),
        &pem_bundle(&foreign, &[&other_root.cert])?,
        0o600,
    )?);
    let missing_ip = leaf(
        &LeafSpec {
            ips: &IP_ADDRESSES[1..],
            ..sandbox_leaf(now - 3600, now + 365 * DAY)
        },
        Some(root),
    )?;
    files.push(write_file(
        &bad.join("missing-ip.pem"),
        &pem_bundle(&missing_ip, &[&root.cert])?,
        0o600,
    )?);
    let self_signed = leaf(&sandbox_leaf(now - 3600, now + 365 * DAY), None)?;
    files.push(write_file(
        &bad.join("self-signed.pem"),
        &pem_bundle(&self_signed, &[])?,
        0o600,
    )?);
    Ok(())
}

impl Sandbox {
    /// Commands a newcomer can try next.
    pub fn commands(&self) -> Vec<String> {
        let icg = crate::invocation::program();
        let at = |relative: &str| crate::shown::quote(self.root.join(relative).as_os_str());
        let r = crate::shown::quote(self.root.as_os_str());
        // Everything that writes stays inside the sandbox: its own audit log, and no restart of a real ICG.
        let log = format!("--log-file {}", at("icg-renew.log"));
        vec![
            format!("{icg} --icg-root {r} status"),
            format!("{icg} --icg-root {r} verify {}", at("new/keystore.icg")),
            format!(
                "{icg} --icg-root {r} verify {}",
                at("incompatible/missing-ip.pem")
            ),
            format!(
                "{icg} --icg-root {r} renew {} --restart none {log}",
                at("new/keystore.icg")
            ),
            format!("{icg} --icg-root {r} backups"),
            format!(
                "{icg} --icg-root {r} csr --out {} {log}",
                at("icg-renew.csr")
            ),
            format!(
                "openssl x509 -req -in {} -CA {} -CAkey {} -copy_extensions copy -days 365 -out {}",
                at("icg-renew.csr"),
                at("ca/root-ca.pem"),
                at("ca/root-ca.key"),
                at("signed.pem")
            ),
            format!(
                "{icg} --icg-root {r} renew {} --chain {} --restart none {log}",
                at("signed.pem"),
                at("ca/root-ca.pem")
            ),
            format!("{icg} --icg-root {r} rollback --restart none {log}"),
        ]
    }
}
