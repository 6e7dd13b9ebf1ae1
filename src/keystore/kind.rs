//! What a file is, judged by its content: the Java keystore types recognised but not read (JCEKS, BKS), with
//! the keytool command that converts them, and a short description of any bytes for messages (never the
//! bytes themselves).

use super::{jks, pkcs12};
use std::path::Path;

/// A Java keystore type recognised by content but not read: the ICG's Tomcat is configured for JKS or PKCS#12.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherJavaType {
    /// Sun's JCEKS (magic 0xCECECECE).
    Jceks,
    /// Bouncy Castle's BKS: version 1 or 2, a salt length and salt, an iteration count, then entries.
    Bks,
}

impl OtherJavaType {
    /// The type of `data`, when it is one of these.
    pub fn of(data: &[u8]) -> Option<OtherJavaType> {
        if data.starts_with(&jks::JCEKS_MAGIC) {
            return Some(OtherJavaType::Jceks);
        }
        let int = |at: usize| -> Option<u32> {
            Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
        };
        let version = int(0)?;
        let salt = usize::try_from(int(4)?).ok()?;
        let iterations = int(8 + salt)?;
        let first_entry = *data.get(12 + salt)?;
        ((1..=2).contains(&version)
            && (1..=64).contains(&salt)
            && (1..=1 << 20).contains(&iterations)
            && first_entry <= 5)
            .then_some(OtherJavaType::Bks)
    }

    pub fn name(self) -> &'static str {
        match self {
            OtherJavaType::Jceks => "JCEKS",
            OtherJavaType::Bks => "BKS",
        }
    }

    /// The keytool command that converts `file` to PKCS#12 beside it, quoted for the shell.
    pub fn conversion(self, file: &Path) -> String {
        let target = file.with_extension("p12");
        let mut words: Vec<std::ffi::OsString> = vec![
            "keytool".into(),
            "-importkeystore".into(),
            "-srckeystore".into(),
            file.into(),
            "-srcstoretype".into(),
            self.name().into(),
        ];
        if self == OtherJavaType::Bks {
            words.extend(
                [
                    "-providerpath",
                    "bcprov.jar",
                    "-provider",
                    "org.bouncycastle.jce.provider.BouncyCastleProvider",
                ]
                .map(Into::into),
            );
        }
        words.extend(["-destkeystore".into(), target.into()]);
        words.extend(["-deststoretype", "pkcs12"].map(Into::into));
        crate::shown::command(words)
    }
}

/// A short description of what some bytes look like, for messages about files that were not understood.
pub fn describe_bytes(data: &[u8]) -> String {
    let kind = if data.is_empty() {
        "an empty file"
    } else if jks::looks_like_jks(data) {
        "a JKS keystore"
    } else if OtherJavaType::of(data) == Some(OtherJavaType::Jceks) {
        "a JCEKS keystore"
    } else if OtherJavaType::of(data) == Some(OtherJavaType::Bks) {
        "a BKS keystore"
    } else if data.starts_with(b"PK\x03\x04") {
        "a ZIP archive"
    } else if pkcs12::looks_like_pkcs12(data) {
        "PKCS#12"
    } else if data.windows(11).take(4096).any(|w| w == b"-----BEGIN ") {
        "PEM text"
    } else if data.first() == Some(&0x30) {
        "DER (ASN.1)"
    } else if data
        .iter()
        .take(512)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "text"
    } else {
        "binary data of unknown type"
    };
    // Never any of the bytes themselves: the file may be anything root can read (/etc/shadow).
    format!("{} bytes, looks like {kind}", data.len())
}
