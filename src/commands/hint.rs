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
        // --- library: material, keystore, installation, service, sandbox (errlib) ---
        Error::TooManyCertificates {
            file,
            count,
            max,
            chain_given: true,
        } => crate::error::too_many_certificates_text(file, " (with --chain)", *count, *max),
        Error::NoRestartMethod { .. } => {
            format!("{error}; pass --service UNIT, --restart-command CMD or --restart none")
        }
        Error::RestartNotStarted { .. } => format!("{error}; check --restart or --restart-command"),
        Error::InConfig { file, source } => {
            format!("{}: {}", crate::shown::path(file), message(source))
        }
        Error::TooManyCertificates { .. }
        | Error::UnusualRsaKey { .. }
        | Error::NoCertificate { .. }
        | Error::ZipUnreadable { .. }
        | Error::ZipEntryDamaged { .. }
        | Error::ZipEntryUnpack { .. }
        | Error::ZipEntryTooLarge { .. }
        | Error::ZipWithoutKeystore { .. }
        | Error::DamagedCertificate { .. }
        | Error::UnreadableKeyFile { .. }
        | Error::DamagedPrivateKey { .. }
        | Error::NoChainCertificates { .. }
        | Error::NoKeyEntries { .. }
        | Error::NoKeyEntry { .. }
        | Error::UnreadableEntryKey { .. }
        | Error::UndecryptableEntryKey { .. }
        | Error::InvalidStoredCertificate { .. }
        | Error::KeystoreRewrite { .. }
        | Error::UnfaithfulRewrite { .. }
        | Error::ConfigNotText { .. }
        | Error::InvalidYaml { .. }
        | Error::YamlAliases
        | Error::YamlTooDeep { .. }
        | Error::BadPort { .. }
        | Error::ClasspathKeystore { .. }
        | Error::NotSingleValue { .. }
        | Error::PasswordFileNotText { .. }
        | Error::RestartPipe { .. }
        | Error::RestartFailed { .. }
        | Error::RestartTimedOut { .. }
        | Error::RestartWait { .. }
        | Error::SandboxNotEmpty { .. }
        | Error::SandboxOpenSsl { .. }
        | Error::SandboxBuild { .. } => error.to_string(),
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

    /// The library's material, installation and restart errors get their option from here.
    #[test]
    fn library_errors_get_the_option_that_fixes_them() {
        let many = |chain_given| Error::TooManyCertificates {
            file: PathBuf::from("/m/new.pem"),
            count: 65,
            max: 64,
            chain_given,
        };
        assert_eq!(
            message(&many(true)),
            "/m/new.pem (with --chain) holds 65 certificates; new material needs only the server certificate and its CAs (at most 64): give just those"
        );
        assert_eq!(message(&many(false)), many(false).to_string());
        let restart = Error::NoRestartMethod {
            unit: "icg-server.service".into(),
            script: PathBuf::from("/etc/init.d/icg-server"),
        };
        assert_eq!(
            message(&restart),
            "cannot tell how to restart the ICG: systemd does not know icg-server.service and /etc/init.d/icg-server does not exist; pass --service UNIT, --restart-command CMD or --restart none"
        );
        let not_started = Error::RestartNotStarted {
            command: "systemctl restart icg-server.service".into(),
            source: std::io::Error::from_raw_os_error(2),
        };
        assert_eq!(
            message(&not_started),
            "cannot run the restart (systemctl restart icg-server.service): No such file or directory (os error 2); check --restart or --restart-command"
        );
        let in_config = Error::InConfig {
            file: PathBuf::from("/opt/icg/application-prod.yml"),
            source: Box::new(Error::PasswordPlaceholder {
                setting: "server.ssl.key-store-password".into(),
            }),
        };
        assert_eq!(
            message(&in_config),
            "/opt/icg/application-prod.yml: server.ssl.key-store-password uses a ${...} placeholder, which this tool does not resolve; pass --store-password-file FILE"
        );
    }
}
