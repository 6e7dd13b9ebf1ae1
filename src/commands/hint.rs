//! The operator's next step on the command line. The library's errors say which password or setting they are
//! about and name no option; this adds the option (or environment variable) that gives it, so the text the
//! operator reads is the contract's.

use crate::error::{Error, PasswordFor};

/// The error's one-line message as the operator sees it, with the command-line fix where there is one.
pub fn message(error: &Error) -> String {
    match error {
        Error::WrongPassword {
            which: PasswordFor::Keystore,
            ..
        } => format!(
            "{error}; pass the right one with --store-password-file (only if you are sure it is right: the file was changed since it was written; compare it with a backup)"
        ),
        Error::WrongPassword {
            which: PasswordFor::Material,
            ..
        } => format!("{error}; pass the right one with --new-password-file"),
        Error::WrongPassword {
            which: PasswordFor::EncryptedKey,
            ..
        } => format!("{error}: pass the right one with --new-password-file"),
        Error::PasswordNeeded {
            which: PasswordFor::Keystore,
            ..
        } => format!("{error}: pass --store-password-file FILE or set ICG_RENEW_STORE_PASSWORD"),
        Error::PasswordNeeded {
            which: PasswordFor::Material | PasswordFor::EncryptedKey,
            ..
        } => format!("{error}: pass --new-password-file FILE or set ICG_RENEW_NEW_PASSWORD"),
        Error::PasswordPlaceholder { .. } => format!("{error}; pass --store-password-file FILE"),
        Error::Context { prefix, inner } => format!("{prefix}: {}", message(inner)),
        Error::Io { .. } | Error::Other { .. } => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_library_names_no_option_and_the_hint_adds_it() {
        let error = Error::PasswordNeeded {
            file: PathBuf::from("/opt/icg/keystore.jks"),
            which: PasswordFor::Keystore,
        };
        assert_eq!(error.to_string(), "no password for /opt/icg/keystore.jks");
        assert_eq!(
            message(&error),
            "no password for /opt/icg/keystore.jks: pass --store-password-file FILE or set ICG_RENEW_STORE_PASSWORD"
        );
        let placeholder = Error::PasswordPlaceholder {
            setting: "server.ssl.key-store-password".into(),
        }
        .context("/opt/icg/application-prod.yml");
        assert_eq!(placeholder.kind(), crate::error::ErrorKind::Unsupported);
        assert_eq!(
            message(&placeholder),
            "/opt/icg/application-prod.yml: server.ssl.key-store-password uses a ${...} placeholder, which this tool does not resolve; pass --store-password-file FILE"
        );
    }
}
