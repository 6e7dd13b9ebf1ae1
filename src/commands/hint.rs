//! The operator's next step on the command line. The library's errors say which password or setting they are
//! about and name no option; this adds the option (or environment variable) that gives it, so the text the
//! operator reads is the contract's.

use crate::error::{AliasFrom, Error, PasswordFor};

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
        Error::NotMaterial { .. } => {
            format!("{error}, or pass the certificate with --key and --chain")
        }
        Error::KeyGivenTwice { .. } => {
            format!("{error}: leave out --key, or give the certificate alone")
        }
        Error::SeveralKeys {
            directory: false, ..
        } => format!("{error}: split it and pass the key with --key"),
        Error::SeveralKeys {
            directory: true, ..
        } => format!("{error}: give the certificate file as NEW and its key with --key"),
        Error::NoInstallation { .. } => format!("{error}; pass --icg-root DIR or --config FILE"),
        Error::NoKeystoreSetting { .. } => format!("{error}, or pass --keystore FILE"),
        Error::KeystorePlaceholder { .. } => format!("{error}; pass --keystore FILE"),
        Error::NoSuchEntry {
            from: AliasFrom::CommandLine,
            ..
        } => format!("{error}: fix --alias"),
        Error::SeveralEntries {
            from: AliasFrom::CommandLine,
            ..
        } => format!("{error}: choose one with --alias"),
        // --- core: the options of the keystore link and the hook; wrapped failures keep their hints ---
        Error::ForeignKeystoreLink {
            configured,
            real,
            through,
            uid,
            owner,
        } => crate::error::foreign_link_text(configured, real, *through, *uid, *owner, "with --keystore "),
        Error::HookVariables { found } => crate::error::hook_text(*found, "--from-hook"),
        Error::RenewalLeftInPlace { failure } => format!(
            "{}; the new keystore was left in place (--no-rollback)",
            message(failure)
        ),
        Error::RenewalRolledBack { failure } => format!(
            "{}; the old keystore was restored and is served again",
            message(failure)
        ),
        Error::RollbackFailedToo { failure, rollback } => format!(
            "{}; then the rollback failed too: {}",
            message(failure),
            message(rollback)
        ),
        Error::RestoreNotDone { failure } => {
            format!("{}; the keystore was not changed", message(failure))
        }
        Error::RestoreUnconfirmed { failure } => message(failure),
        Error::AuditLogNotOpened { .. } => format!("{error}; pass --log-file FILE to keep one"),
        Error::InputIsLink { .. }
        | Error::NotRegularFile { .. }
        | Error::BecameLink { .. }
        | Error::TooBig { .. }
        | Error::GrewPastLimit { .. }
        | Error::UnsafeDirectory { .. }
        | Error::NoLongerFound { .. }
        | Error::NotRemoved { .. }
        | Error::KeystoreNamesNoFile { .. }
        | Error::KeystoreGone { .. }
        | Error::KeystoreNotRegular { .. }
        | Error::KeystoreSwapped { .. }
        | Error::TempFileSwapped { .. }
        | Error::NoFreeBackupName { .. }
        | Error::ListBackups { .. }
        | Error::NamesNoFile { .. }
        | Error::OpenSslFailed { .. }
        | Error::PendingKeyWithoutCertificate { .. }
        | Error::PendingKeyNotBuilt { .. }
        | Error::MaterialDirectoryTooLarge { .. }
        | Error::MaterialDirectoryTooMuchPem { .. }
        | Error::MaterialDirectoryEmpty { .. }
        | Error::MaterialLinkRefused { .. }
        | Error::EntryWithoutCertificate { .. }
        | Error::InterruptedBeforeReplace
        | Error::KeystoreChangedMeanwhile { .. }
        | Error::ReadBackDiffers { .. }
        | Error::ReadBackUnreadable { .. }
        | Error::RestoreReadBackDiffers { .. }
        | Error::ServedButRefused { .. }
        | Error::NotServedInTime { .. }
        | Error::AuditLogNotWritten { .. } => error.to_string(),
        Error::Context { prefix, inner } => format!("{prefix}: {}", message(inner)),
        Error::Io { .. }
        | Error::Locked { .. }
        | Error::DamagedJks { .. }
        | Error::DamagedPkcs12 { .. }
        | Error::CostlyPkcs12 { .. }
        | Error::UnsupportedPkcs12 { .. }
        | Error::Jceks { .. }
        | Error::NotAKeystore { .. }
        | Error::TooManyKeys { .. }
        | Error::WrongKeyPassword { .. }
        | Error::NoSuchEntry { .. }
        | Error::SeveralEntries { .. }
        | Error::Other { .. } => error.to_string(),
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

    /// Each typed error, rendered for the operator, reads exactly as the message the library used to format
    /// itself; its `Display` (the library's part) names no option.
    #[test]
    fn each_hint_gives_the_contract_text_and_the_library_names_no_option() {
        let file = || PathBuf::from("/m/new.pem");
        let cases = [
            (
                Error::WrongPassword { file: PathBuf::from("/k.jks"), which: PasswordFor::Keystore },
                "wrong password for /k.jks: the password given does not open it; pass the right one with --store-password-file (only if you are sure it is right: the file was changed since it was written; compare it with a backup)",
            ),
            (
                Error::WrongPassword { file: file(), which: PasswordFor::Material },
                "wrong password for /m/new.pem: the password given does not open it; pass the right one with --new-password-file",
            ),
            (
                Error::WrongPassword { file: file(), which: PasswordFor::EncryptedKey },
                "wrong password for the encrypted key /m/new.pem: pass the right one with --new-password-file",
            ),
            (
                Error::PasswordNeeded { file: file(), which: PasswordFor::Material },
                "/m/new.pem is protected by a password: pass --new-password-file FILE or set ICG_RENEW_NEW_PASSWORD",
            ),
            (
                Error::Locked { keystore: PathBuf::from("/k.jks"), holder: Some("42".into()), lock: PathBuf::from("/k.jks.lock") },
                "/k.jks is being changed by another icg-renew (process 42 holds /k.jks.lock): wait for it to finish",
            ),
            (
                Error::Locked { keystore: PathBuf::from("/k.jks"), holder: None, lock: PathBuf::from("/k.jks.lock") },
                "/k.jks is being changed by another icg-renew (another process holds /k.jks.lock): wait for it to finish",
            ),
            (
                Error::NotMaterial { file: file(), what: "empty".into() },
                "/m/new.pem is not certificate material this tool knows (empty): export the certificate and key from the UMS as PKCS#12 or PEM, or pass the certificate with --key and --chain",
            ),
            (
                Error::KeyGivenTwice { file: file() },
                "/m/new.pem already holds a private key: leave out --key, or give the certificate alone",
            ),
            (
                Error::SeveralKeys { file: file(), count: 2, directory: false },
                "/m/new.pem holds 2 private keys; a bundle must hold exactly one: split it and pass the key with --key",
            ),
            (
                Error::SeveralKeys { file: PathBuf::from("/m"), count: 3, directory: true },
                "/m holds 3 different private keys; a material directory must hold exactly one: give the certificate file as NEW and its key with --key",
            ),
            (
                Error::NoInstallation {
                    default_config: PathBuf::from("/opt/IGEL/icg/usg/conf/application-prod.yml"),
                    searched: vec![PathBuf::from("/opt"), PathBuf::from("/srv")],
                    depth: 6,
                },
                "no ICG installation found: /opt/IGEL/icg/usg/conf/application-prod.yml does not exist and none was found under /opt, /srv (searched 6 levels deep); pass --icg-root DIR or --config FILE",
            ),
            (
                Error::NoKeystoreSetting { config: Some(PathBuf::from("/c.yml")) },
                "/c.yml sets no server.ssl.key-store: add it, or pass --keystore FILE",
            ),
            (
                Error::KeystorePlaceholder { location: "${KS}".into() },
                "server.ssl.key-store '${KS}' uses a placeholder; pass --keystore FILE",
            ),
            (
                Error::NoSuchEntry { file: file(), alias: "web".into(), has: "tomcat".into(), from: AliasFrom::CommandLine },
                "/m/new.pem has no private-key entry 'web' (it has: tomcat): fix --alias",
            ),
            (
                Error::NoSuchEntry {
                    file: PathBuf::from("/k.jks"),
                    alias: "web".into(),
                    has: "tomcat".into(),
                    from: AliasFrom::Setting("server.ssl.key-alias in /c.yml".into()),
                },
                "/k.jks has no private-key entry 'web' (it has: tomcat): fix server.ssl.key-alias in /c.yml",
            ),
            (
                Error::SeveralEntries { file: file(), has: "a, b".into(), from: AliasFrom::CommandLine },
                "/m/new.pem holds several private-key entries (a, b): choose one with --alias",
            ),
            (
                Error::DamagedJks { file: PathBuf::from("/k.jks"), why: "truncated".into() },
                "/k.jks is a damaged JKS keystore (truncated): restore it from a backup",
            ),
            (
                Error::NotAKeystore { file: PathBuf::from("/k.jks"), what: "empty".into() },
                "/k.jks is not a JKS or PKCS#12 keystore (empty): check the path",
            ),
            (
                Error::WrongKeyPassword { file: PathBuf::from("/k.p12"), alias: "tomcat".into() },
                "wrong key password for entry 'tomcat' of /k.p12: give the password that protects the key",
            ),
        ];
        for (error, shown) in cases {
            assert_eq!(message(&error), shown);
            assert!(!error.to_string().contains("--"), "{error}");
            assert!(!error.to_string().contains("ICG_RENEW_"), "{error}");
        }
    }

    /// The options the core's errors used to name are added here, giving the old line byte for byte; a
    /// wrapped failure keeps the hint of its own.
    #[test]
    fn the_core_errors_get_their_options_back_and_wrapped_failures_keep_their_hints() {
        use crate::error::{HookFound, LinkPart};
        let link = Error::ForeignKeystoreLink {
            configured: PathBuf::from("/opt/icg/keystore.jks"),
            real: PathBuf::from("/srv/ks dir/keystore.jks"),
            through: LinkPart::HoldingDirectory,
            uid: 1001,
            owner: 0,
        };
        assert_eq!(
            message(&link),
            "the keystore /opt/icg/keystore.jks is reached through a directory holding the link that uid 1001 controls, neither root nor the keystore's owner (uid 0): give the keystore's own path with --keystore '/srv/ks dir/keystore.jks', or make root own the link"
        );
        let hook = Error::HookVariables {
            found: HookFound::KeyOnly,
        };
        assert_eq!(
            message(&hook),
            "--from-hook: CERT_KEY_PATH is set but CERT_FULLCHAIN_PATH is not; acme.sh sets both for --reloadcmd"
        );
        let nothing = Error::HookVariables {
            found: HookFound::Nothing,
        };
        assert_eq!(
            message(&nothing),
            "--from-hook found none of RENEWED_LINEAGE (certbot --deploy-hook) or CERT_KEY_PATH and CERT_FULLCHAIN_PATH (acme.sh --reloadcmd) in its environment: run it as the ACME client's hook, or give the material as NEW"
        );
        let unconfirmed = || Error::NotServedInTime {
            what: "the new certificate".into(),
            timeout: std::time::Duration::from_secs(2),
            last: "not answering (connection refused)".into(),
        };
        assert_eq!(
            message(&Error::RenewalLeftInPlace {
                failure: Box::new(unconfirmed())
            }),
            "the gateway did not serve the new certificate within 2 s: not answering (connection refused); the new keystore was left in place (--no-rollback)"
        );
        let needs_option = || Error::PasswordNeeded {
            file: PathBuf::from("/k.jks"),
            which: PasswordFor::Keystore,
        };
        assert_eq!(
            message(&Error::RollbackFailedToo {
                failure: Box::new(unconfirmed()),
                rollback: Box::new(needs_option()),
            }),
            "the gateway did not serve the new certificate within 2 s: not answering (connection refused); then the rollback failed too: no password for /k.jks: pass --store-password-file FILE or set ICG_RENEW_STORE_PASSWORD"
        );
        assert_eq!(
            message(&Error::RestoreNotDone {
                failure: Box::new(needs_option())
            }),
            "no password for /k.jks: pass --store-password-file FILE or set ICG_RENEW_STORE_PASSWORD; the keystore was not changed"
        );
        let audit = Error::AuditLogNotOpened {
            path: PathBuf::from("/var/log/icg-renew.log"),
            source: std::io::Error::from_raw_os_error(13),
        };
        assert_eq!(
            message(&audit),
            "cannot write the audit log /var/log/icg-renew.log: Permission denied (os error 13); pass --log-file FILE to keep one"
        );
        for error in [link, hook, audit] {
            let library = error.to_string();
            assert!(
                !library.contains("--keystore")
                    && !library.contains("--from-hook")
                    && !library.contains("--log-file"),
                "{library}"
            );
        }
    }
}
