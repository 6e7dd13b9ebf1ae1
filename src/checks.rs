//! The compatibility rules of the contract, one function per check id, each returning a `Check`. Chain
//! verification uses OpenSSL's `X509Store` with the installed root as the only trust anchor and the new
//! material's other certificates as untrusted intermediates. The time is passed in. Prints nothing.

use crate::cert::{self, common_name, subject_alt_names, unix_time};
use crate::material::{issued_by, KeySource, Material};
use crate::utc::{self, Clock};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509ExtendedKeyUsage, X509KeyUsage, X509Ref, X509StoreContext, X509};
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// The outcome of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub detail: String,
}

fn check(id: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        id,
        status,
        detail: detail.into(),
    }
}

fn pass_or_fail(
    id: &'static str,
    ok: bool,
    pass: impl Into<String>,
    fail: impl Into<String>,
) -> Check {
    if ok {
        check(id, Status::Pass, pass)
    } else {
        check(id, Status::Fail, fail)
    }
}

/// All checks, in the contract's order.
#[derive(Debug)]
pub struct Report {
    pub checks: Vec<Check>,
    /// The new chain as OpenSSL verified it, leaf to the installed root: what goes into the keystore.
    pub verified_chain: Option<Vec<X509>>,
}

impl Report {
    pub fn compatible(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Fail)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Warn)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }
}

/// The trust anchor of the installed chain: its last certificate when self-issued, else that certificate's
/// issuer among `trusted` (the keystore's other certificates), else the last certificate itself.
pub fn installed_root<T: std::borrow::Borrow<X509>>(
    installed_chain: &[X509],
    trusted: impl IntoIterator<Item = T>,
) -> Option<X509> {
    let top = installed_chain.last()?;
    if issued_by(top, top) {
        return Some(top.clone());
    }
    let issuer = trusted
        .into_iter()
        .find(|c| issued_by(top, c.borrow()))
        .map(|c| c.borrow().clone());
    Some(issuer.unwrap_or_else(|| top.clone()))
}

/// Runs every check of new `material` against the installed chain (leaf first) and its `root`.
pub fn run_all(installed_chain: &[X509], root: &X509, material: &Material, clock: Clock) -> Report {
    let installed = &installed_chain[0];
    let leaf = material.leaf();
    let (same_root_check, verified_chain) = same_root(&material.chain, root);
    let checks = vec![
        key_matches(leaf, material.key.as_ref(), &material.key_source),
        signed(leaf),
        end_entity(leaf),
        same_root_check,
        same_hosts(installed, leaf),
        san_present(leaf),
        validity(leaf, clock),
        newer(installed, leaf),
        name_differs_from_root(leaf, root),
        key_strength(leaf),
        signature_algorithm(verified_chain.as_deref().unwrap_or(&material.chain), root),
        key_usage(leaf),
        differs_from_installed(installed, leaf),
        server_auth(verified_chain.as_deref().unwrap_or(&material.chain), root),
    ];
    Report {
        checks,
        verified_chain,
    }
}

/// `key-matches`: the private key belongs to the leaf; `source` says which key it is.
pub fn key_matches(leaf: &X509Ref, key: Option<&PKey<Private>>, source: &KeySource) -> Check {
    let Some(key) = key else {
        return check(
            "key-matches",
            Status::Fail,
            "the new certificate came without a private key, and neither a pending key of icg-renew csr nor the installed key belongs to it: pass its key with --key FILE",
        );
    };
    let ok = leaf.public_key().is_ok_and(|p| p.public_eq(key));
    pass_or_fail(
        "key-matches",
        ok,
        format!("{} belongs to the new certificate", source.describe()),
        format!(
            "{} does not belong to the new certificate: give the key that was created with it",
            source.describe()
        ),
    )
}

/// `signed`: a CA signed the leaf; it is not self-signed.
pub fn signed(leaf: &X509) -> Check {
    let self_signed = issued_by(leaf, leaf);
    pass_or_fail(
        "signed",
        !self_signed,
        format!("issued by {}", cert::name_to_string(leaf.issuer_name())),
        "the new certificate is self-signed: have the UMS certificate manager sign it with the gateway's root",
    )
}

/// `end-entity`: the leaf is not a CA certificate.
pub fn end_entity(leaf: &X509Ref) -> Check {
    pass_or_fail(
        "end-entity",
        !cert::is_ca(leaf),
        "an end-entity certificate (not a CA)",
        "the new certificate is a CA certificate (CA:TRUE): the gateway needs a server certificate",
    )
}

/// `same-root`: OpenSSL verifies the leaf up to the installed root; returns the verified chain too.
/// Time and key-size policy are left out here: `validity`, `key-strength` and `signature-algorithm` judge those.
pub fn same_root(new_chain: &[X509], root: &X509) -> (Check, Option<Vec<X509>>) {
    let fail = |why: String| check("same-root", Status::Fail, why);
    let root_name = cert::name_to_string(root.subject_name());
    let outcome = (|| -> Result<(bool, String, Option<Vec<X509>>), openssl::error::ErrorStack> {
        let mut store = X509StoreBuilder::new()?;
        store.add_cert(root.clone())?;
        let mut param = X509VerifyParam::new()?;
        let mut flags = X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::X509_STRICT;
        if !issued_by(root, root) {
            flags |= X509VerifyFlags::PARTIAL_CHAIN;
        }
        param.set_flags(flags)?;
        param.set_auth_level(0);
        store.set_param(&param)?;
        let store = store.build();
        let mut untrusted = Stack::new()?;
        for c in new_chain.iter().skip(1) {
            untrusted.push(c.clone())?;
        }
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, &new_chain[0], &untrusted, |c| {
            let ok = c.verify_cert()?;
            let chain = c.chain().map(|s| s.iter().map(|x| x.to_owned()).collect());
            Ok((ok, c.error().error_string().to_string(), chain))
        })
    })();
    match outcome {
        Ok((true, _, Some(chain))) => {
            let path = chain.len();
            (
                check(
                    "same-root",
                    Status::Pass,
                    format!("chains to the installed root {root_name} ({path} certificates)"),
                ),
                Some(chain),
            )
        }
        Ok((_, why, _)) => (fail(not_from_the_root(new_chain, root, &why)), None),
        Err(e) => (
            fail(format!(
                "the chain could not be verified ({e}): check the new material's certificates"
            )),
            None,
        ),
    }
}

/// Why `new_chain` (leaf first, as far as the material reaches) does not reach `root`, pointing the way
/// that helps: a chain that ends at another self-signed root comes from another root and cannot be used
/// (no `--chain` can fix that); one that ends at a CA the material lacks may only miss intermediates.
fn not_from_the_root(new_chain: &[X509], root: &X509, why: &str) -> String {
    let root_name = cert::name_to_string(root.subject_name());
    let top = new_chain.last().expect("material has a leaf");
    let top_name = cert::name_to_string(top.subject_name());
    if issued_by(top, top) {
        return format!(
            "comes from another root, {top_name}, not the installed root {root_name} ({why}): devices trust only the installed root, so this certificate cannot be used; request one from the CA under {root_name}"
        );
    }
    let issuer = cert::name_to_string(top.issuer_name());
    if issuer == root_name {
        return format!(
            "names the installed root {root_name} as its issuer but is not signed by its key ({why}): it comes from another CA of that name (a re-keyed root?) and cannot be used"
        );
    }
    format!(
        "does not reach the installed root {root_name} ({why}): the material ends at {top_name}, issued by {issuer}, which it does not include; if that CA is under {root_name}, add it with --chain, otherwise this certificate cannot be used"
    )
}

/// The DNS names (lower-case) and IP addresses a certificate is valid for: its SAN, or its CN without one.
fn host_names(cert: &X509Ref) -> (BTreeSet<String>, BTreeSet<IpAddr>) {
    match subject_alt_names(cert) {
        Some((dns, ips)) => (
            dns.into_iter().map(|d| d.to_ascii_lowercase()).collect(),
            ips.iter().filter_map(|ip| ip.parse().ok()).collect(),
        ),
        None => {
            let cn = common_name(cert.subject_name()).unwrap_or_default();
            match cn.parse::<IpAddr>() {
                Ok(ip) => (BTreeSet::new(), [ip].into()),
                Err(_) if cn.is_empty() => (BTreeSet::new(), BTreeSet::new()),
                Err(_) => ([cn.to_ascii_lowercase()].into(), BTreeSet::new()),
            }
        }
    }
}

/// `same-hosts`: every DNS name and IP address of the installed certificate is in the new SAN.
pub fn same_hosts(installed: &X509Ref, new: &X509Ref) -> Check {
    let (old_dns, old_ips) = host_names(installed);
    let (new_dns, new_ips) = match subject_alt_names(new) {
        Some((dns, ips)) => (
            dns.into_iter()
                .map(|d| d.to_ascii_lowercase())
                .collect::<BTreeSet<_>>(),
            ips.iter()
                .filter_map(|ip| ip.parse().ok())
                .collect::<BTreeSet<IpAddr>>(),
        ),
        None => Default::default(),
    };
    let describe = |dns: Vec<&String>, ips: Vec<&IpAddr>| {
        dns.iter()
            .map(|d| format!("DNS {d}"))
            .chain(ips.iter().map(|i| format!("IP {i}")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = describe(
        old_dns.difference(&new_dns).collect(),
        old_ips.difference(&new_ips).collect(),
    );
    let added = describe(
        new_dns.difference(&old_dns).collect(),
        new_ips.difference(&old_ips).collect(),
    );
    let all = describe(old_dns.iter().collect(), old_ips.iter().collect());
    if !missing.is_empty() {
        check(
            "same-hosts",
            Status::Fail,
            format!("the new certificate lacks {missing}; create it in the UMS with the same host names and IP addresses"),
        )
    } else if !added.is_empty() {
        check(
            "same-hosts",
            Status::Warn,
            format!("keeps {all}, and adds {added}"),
        )
    } else {
        check("same-hosts", Status::Pass, format!("same names: {all}"))
    }
}

/// `san-present`: the new leaf has a Subject Alternative Name.
pub fn san_present(leaf: &X509Ref) -> Check {
    pass_or_fail(
        "san-present",
        leaf.subject_alt_names().is_some(),
        "has a Subject Alternative Name",
        "has no Subject Alternative Name: devices will refuse it; create it with every host name and IP address as SAN",
    )
}

/// `validity`: now lies inside the leaf's validity period.
pub fn validity(leaf: &X509Ref, clock: Clock) -> Check {
    let from = unix_time(leaf.not_before());
    let until = unix_time(leaf.not_after());
    if clock.now < from {
        check(
            "validity",
            Status::Fail,
            format!(
                "not valid before {}: check the clock, or wait",
                utc::rfc3339(from)
            ),
        )
    } else if clock.now > until {
        check(
            "validity",
            Status::Fail,
            format!(
                "expired on {}: create a new certificate",
                utc::rfc3339(until)
            ),
        )
    } else {
        check(
            "validity",
            Status::Pass,
            format!(
                "valid from {} to {}",
                utc::rfc3339(from),
                utc::rfc3339(until)
            ),
        )
    }
}

/// `newer`: the new leaf expires after the installed one (a warn otherwise).
pub fn newer(installed: &X509Ref, new: &X509Ref) -> Check {
    let old = unix_time(installed.not_after());
    let new = unix_time(new.not_after());
    if new > old {
        check(
            "newer",
            Status::Pass,
            format!(
                "expires {} (installed: {})",
                utc::rfc3339(new),
                utc::rfc3339(old)
            ),
        )
    } else {
        check(
            "newer",
            Status::Warn,
            format!(
                "expires {}, not after the installed certificate ({})",
                utc::rfc3339(new),
                utc::rfc3339(old)
            ),
        )
    }
}

/// `name-differs-from-root`: the leaf's common name is not the root's.
pub fn name_differs_from_root(leaf: &X509Ref, root: &X509Ref) -> Check {
    let leaf_cn = common_name(leaf.subject_name()).unwrap_or_default();
    let root_cn = common_name(root.subject_name()).unwrap_or_default();
    pass_or_fail(
        "name-differs-from-root",
        !leaf_cn.eq_ignore_ascii_case(&root_cn),
        format!("CN '{leaf_cn}' differs from the root's"),
        format!("the new certificate's CN '{leaf_cn}' equals the root's: give the server certificate another name"),
    )
}

/// `key-strength`: RSA of at least 2048 bits, or EC on P-256, P-384 or P-521.
pub fn key_strength(leaf: &X509Ref) -> Check {
    let Ok(key) = leaf.public_key() else {
        return check(
            "key-strength",
            Status::Fail,
            "the public key cannot be read",
        );
    };
    match key.id() {
        Id::RSA => {
            let bits = key.bits();
            pass_or_fail(
                "key-strength",
                bits >= 2048,
                format!("RSA {bits} bits"),
                format!("RSA {bits} bits is too weak: use at least 2048"),
            )
        }
        Id::EC => {
            let curve = key.ec_key().ok().and_then(|k| k.group().curve_name());
            let name = curve
                .and_then(|n| n.short_name().ok())
                .unwrap_or("unknown curve");
            let ok = matches!(
                curve,
                Some(Nid::X9_62_PRIME256V1 | Nid::SECP384R1 | Nid::SECP521R1)
            );
            pass_or_fail(
                "key-strength",
                ok,
                format!("EC {name}"),
                format!("EC on {name} is not accepted: use P-256, P-384 or P-521"),
            )
        }
        other => check("key-strength", Status::Fail, unusable_key_type(other)),
    }
}

/// Why the ICG cannot serve a key that is neither RSA nor EC, naming the key type (never OpenSSL's number)
/// and the clients that refuse it. Java 17 itself reads all of these keys; its TLS clients and browsers are
/// what limits them.
fn unusable_key_type(id: Id) -> String {
    let (name, why) = match id {
        Id::ED25519 => ("Ed25519", "Java 8 and 11, whose TLS has no EdDSA, and Chrome refuse Ed25519 server certificates"),
        Id::ED448 => ("Ed448", "Java 8 and 11, whose TLS has no EdDSA, and Chrome refuse Ed448 server certificates"),
        Id::RSA_PSS => ("RSA-PSS", "a key restricted to PSS (id-RSASSA-PSS) is refused in a server certificate by Chrome's TLS library and by Java 8 before 8u261; an ordinary RSA key signs with PSS where the client asks for it"),
        Id::DSA => ("DSA", "TLS 1.3 has no DSA signatures and browsers no longer offer DSA cipher suites"),
        Id::DH | Id::DHX | Id::X25519 | Id::X448 => {
            let name = match id {
                Id::X25519 => "X25519",
                Id::X448 => "X448",
                _ => "DH",
            };
            (name, "a key-agreement key cannot sign the TLS handshake")
        }
        other => {
            let name = Nid::from_raw(other.as_raw())
                .long_name()
                .unwrap_or("unknown");
            return format!("key type {name} cannot serve the ICG: TLS clients accept RSA and EC server keys: use RSA 2048+ or EC P-256/P-384/P-521");
        }
    };
    format!("key type {name} cannot serve the ICG: {why}: use RSA 2048+ or EC P-256/P-384/P-521")
}

/// `signature-algorithm`: no MD5 or SHA-1 signature on the leaf or an intermediate (the root's own
/// signature does not matter: it is trusted by being installed).
pub fn signature_algorithm(chain: &[X509], root: &X509) -> Check {
    let root_der = root.to_der().ok();
    let weak: Vec<String> = chain
        .iter()
        .filter(|c| c.to_der().ok() != root_der)
        .filter_map(|c| {
            let nid = c.signature_algorithm().object().nid();
            let digest = nid.signature_algorithms().map(|s| s.digest);
            matches!(digest, Some(Nid::MD5 | Nid::SHA1 | Nid::MD2 | Nid::MD4)).then(|| {
                format!(
                    "{} ({})",
                    cert::name_to_string(c.subject_name()),
                    nid.long_name().unwrap_or("?")
                )
            })
        })
        .collect();
    pass_or_fail(
        "signature-algorithm",
        weak.is_empty(),
        "no MD5 or SHA-1 signatures",
        format!(
            "weak signature on {}: have it signed with SHA-256 or better",
            weak.join(", ")
        ),
    )
}

/// `key-usage`: where the leaf has a keyUsage extension, it allows digitalSignature. TLS 1.3 and every ECDHE
/// suite make the server sign with its key; Java and OpenSSL clients refuse a leaf that may not sign (RSA
/// with keyEncipherment alone, EC with keyAgreement alone).
pub fn key_usage(leaf: &X509Ref) -> Check {
    let Some(usage) = leaf.key_usage() else {
        return check(
            "key-usage",
            Status::Pass,
            "no keyUsage extension: the key may sign",
        );
    };
    let names: Vec<&str> = [
        (X509KeyUsage::DIGITAL_SIGNATURE, "digitalSignature"),
        (X509KeyUsage::NON_REPUDIATION, "nonRepudiation"),
        (X509KeyUsage::KEY_ENCIPHERMENT, "keyEncipherment"),
        (X509KeyUsage::DATA_ENCIPHERMENT, "dataEncipherment"),
        (X509KeyUsage::KEY_AGREEMENT, "keyAgreement"),
        (X509KeyUsage::KEY_CERT_SIGN, "keyCertSign"),
        (X509KeyUsage::CRL_SIGN, "cRLSign"),
        (X509KeyUsage::ENCIPHER_ONLY, "encipherOnly"),
        (X509KeyUsage::DECIPHER_ONLY, "decipherOnly"),
    ]
    .into_iter()
    .filter(|(bit, _)| usage.contains(*bit))
    .map(|(_, name)| name)
    .collect();
    let listed = if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(", ")
    };
    pass_or_fail(
        "key-usage",
        usage.contains(X509KeyUsage::DIGITAL_SIGNATURE),
        format!("keyUsage allows digitalSignature ({listed})"),
        format!("keyUsage allows only {listed}, not digitalSignature: TLS clients (Java, OpenSSL, curl) will refuse it; create the certificate with key usage digitalSignature (and keyEncipherment for RSA)"),
    )
}

/// `server-auth`: where the leaf or an intermediate has an extendedKeyUsage extension, it allows serverAuth
/// or anyExtendedKeyUsage (the root is trusted by being installed; its extensions do not matter).
pub fn server_auth(chain: &[X509], root: &X509) -> Check {
    let root_der = root.to_der().ok();
    let refused: Vec<String> = chain
        .iter()
        .filter(|c| c.to_der().ok() != root_der)
        .filter(|c| {
            c.extended_key_usage().is_some_and(|eku| {
                !eku.intersects(X509ExtendedKeyUsage::SSL_SERVER | X509ExtendedKeyUsage::ANYEKU)
            })
        })
        .map(|c| cert::name_to_string(c.subject_name()))
        .collect();
    pass_or_fail(
        "server-auth",
        refused.is_empty(),
        "extended key usage permits TLS server authentication (or is not restricted)",
        format!(
            "the extendedKeyUsage of {} does not include serverAuth: TLS clients will refuse the gateway; create the certificate with extended key usage serverAuth",
            refused.join(", ")
        ),
    )
}

/// `differs-from-installed`: the new leaf is not the installed certificate (their SHA-256 differ). Renewing
/// with the certificate already served rewrites the keystore and restarts the gateway for nothing.
pub fn differs_from_installed(installed: &X509Ref, new: &X509Ref) -> Check {
    let same = cert::sha256_fingerprint(installed) == cert::sha256_fingerprint(new);
    pass_or_fail(
        "differs-from-installed",
        !same,
        "the new certificate is not the installed one",
        "this is the installed certificate; give the new one",
    )
}
