//! Secrets in memory: passwords and private-key bytes live in buffers that are wiped on drop and that print as
//! `[redacted]`, so that no `Debug` or log line can ever show one.

use std::fmt;
use zeroize::Zeroizing;

/// A password. Never printed, wiped from memory when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(value: String) -> Self {
        Password(Zeroizing::new(value))
    }

    pub fn empty() -> Self {
        Self::default()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The password as Java hands it to keystore code: UTF-16 code units, big-endian.
    pub fn utf16be(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.encode_utf16().flat_map(u16::to_be_bytes).collect())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Secret bytes, such as a DER-encoded private key. Never printed, wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    pub fn new(value: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Makes the process undumpable and its core-file limit zero, before any secret is read: a crash or a
/// SIGQUIT then leaves no core file holding a password or key, and no other process of the same user can
/// ptrace it or read its memory through /proc. Failures are ignored (an older kernel): nothing to do then.
pub fn forbid_core_dumps() {
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let password = Password::new("hunter2".into());
        let key = SecretBytes::new(b"key-bytes".to_vec());
        assert_eq!(format!("{password:?} {key:?}"), "[redacted] [redacted]");
    }

    #[test]
    fn utf16be_matches_java_char_encoding() {
        let password = Password::new("aé😀".into());
        assert_eq!(
            password.utf16be().as_slice(),
            &[0x00, 0x61, 0x00, 0xE9, 0xD8, 0x3D, 0xDE, 0x00]
        );
    }
}
