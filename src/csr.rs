//! Keeping the private key on the gateway: a new key pair made here, and a PKCS#10 request whose subject and
//! Subject Alternative Names are copied from the installed certificate, so that the signed certificate
//! passes `same-hosts`. Also the placeholder certificate the pending key file carries.

use crate::cert::subject_alt_names;
use crate::error::CommandError;
use crate::error::{Error, Result};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509Builder, X509Extension, X509Ref, X509Req, X509ReqBuilder, X509};

/// The key types `csr --key-type` offers: never weaker than RSA 2048.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa(u32),
    Ec(Nid),
}

impl KeyType {
    pub fn parse(text: &str) -> std::result::Result<KeyType, String> {
        match text {
            "rsa:2048" => Ok(KeyType::Rsa(2048)),
            "rsa:3072" => Ok(KeyType::Rsa(3072)),
            "rsa:4096" => Ok(KeyType::Rsa(4096)),
            "ec:p256" => Ok(KeyType::Ec(Nid::X9_62_PRIME256V1)),
            "ec:p384" => Ok(KeyType::Ec(Nid::SECP384R1)),
            _ => Err("choose rsa:2048, rsa:3072, rsa:4096, ec:p256 or ec:p384".into()),
        }
    }

    /// The installed key's type and size, raised to RSA 2048 where it was weaker or unusual.
    pub fn like(cert: &X509Ref) -> KeyType {
        let Ok(key) = cert.public_key() else {
            return KeyType::Rsa(2048);
        };
        match key.id() {
            Id::EC => match key.ec_key().ok().and_then(|k| k.group().curve_name()) {
                Some(Nid::SECP384R1 | Nid::SECP521R1) => KeyType::Ec(Nid::SECP384R1),
                _ => KeyType::Ec(Nid::X9_62_PRIME256V1),
            },
            _ => KeyType::Rsa(match key.bits() {
                b if b > 3072 => 4096,
                b if b > 2048 => 3072,
                _ => 2048,
            }),
        }
    }

    pub fn describe(self) -> String {
        match self {
            KeyType::Rsa(bits) => format!("rsa:{bits}"),
            KeyType::Ec(Nid::SECP384R1) => "ec:p384".into(),
            KeyType::Ec(_) => "ec:p256".into(),
        }
    }

    pub fn generate(self) -> Result<PKey<Private>> {
        let made = match self {
            KeyType::Rsa(bits) => Rsa::generate(bits).and_then(PKey::from_rsa),
            KeyType::Ec(curve) => EcGroup::from_curve_name(curve)
                .and_then(|g| EcKey::generate(&g))
                .and_then(PKey::from_ec_key),
        };
        made.map_err(ssl)
    }
}

fn ssl(e: openssl::error::ErrorStack) -> Error {
    Error::Command(CommandError::OpenSslFailed {
        doing: "making the key or request".into(),
        source: e,
    })
}

/// The Subject Alternative Name of the installed certificate (its CN as a DNS name where it has none).
fn san_extension(
    installed: &X509Ref,
    context: &openssl::x509::X509v3Context<'_>,
) -> std::result::Result<X509Extension, openssl::error::ErrorStack> {
    let (dns, ips) = subject_alt_names(installed).unwrap_or_else(|| {
        (
            crate::cert::common_name(installed.subject_name())
                .into_iter()
                .collect(),
            Vec::new(),
        )
    });
    let mut san = SubjectAlternativeName::new();
    for name in &dns {
        san.dns(name);
    }
    for ip in &ips {
        san.ip(ip);
    }
    san.build(context)
}

/// A PKCS#10 request for `key` with the installed certificate's subject and names, signed with SHA-256.
pub fn request(key: &PKey<Private>, installed: &X509Ref) -> Result<X509Req> {
    let build = || -> std::result::Result<X509Req, openssl::error::ErrorStack> {
        let mut req = X509ReqBuilder::new()?;
        req.set_version(0)?;
        req.set_subject_name(installed.subject_name())?;
        req.set_pubkey(key)?;
        let mut extensions = Stack::new()?;
        extensions.push(san_extension(installed, &req.x509v3_context(None))?)?;
        req.add_extensions(&extensions)?;
        req.sign(key, MessageDigest::sha256())?;
        Ok(req.build())
    };
    build().map_err(ssl)
}

/// A self-signed stand-in for the certificate to come, valid for a year from `now`: it lets the pending key
/// live in a PKCS#12 file and records what was requested.
pub fn placeholder(key: &PKey<Private>, installed: &X509Ref, now: i64) -> Result<X509> {
    let build = || -> std::result::Result<X509, openssl::error::ErrorStack> {
        let mut serial = BigNum::new()?;
        serial.rand(63, MsbOption::MAYBE_ZERO, false)?;
        let mut b = X509Builder::new()?;
        b.set_version(2)?;
        b.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
        b.set_subject_name(installed.subject_name())?;
        b.set_issuer_name(installed.subject_name())?;
        b.set_pubkey(key)?;
        b.set_not_before(Asn1Time::from_unix(now)?.as_ref())?;
        b.set_not_after(Asn1Time::from_unix(now + 365 * 86_400)?.as_ref())?;
        let san = san_extension(installed, &b.x509v3_context(None, None))?;
        b.append_extension(san)?;
        b.sign(key, MessageDigest::sha256())?;
        Ok(b.build())
    };
    build().map_err(ssl)
}
