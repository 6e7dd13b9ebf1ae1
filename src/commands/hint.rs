//! The operator's next step on the command line. The library's errors say which password or setting they are
//! about and name no option; this adds the option (or environment variable) that gives it, so the text the
//! operator reads is the contract's.

use icg_renew::error::{
    foreign_link_text, hook_text, installed_key_password_text, too_many_certificates_text,
    AliasFrom, CommandError, ConfigError, DropFolderRisk, Error, FileError, KeystoreError,
    MaterialError, PasswordFor, TransactionError,
};
use icg_renew::shown::Shown;

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
        Error::Io { .. } | Error::Locked { .. } => error.to_string(),
        Error::File(e) => files(e),
        Error::Keystore(e) => keystore(e),
        Error::Material(e) => material(e),
        Error::Config(e) => config(e),
        Error::Transaction(e) => transaction(e),
        Error::Command(e) => command(e),
    }
}

fn files(error: &FileError) -> String {
    match error {
        FileError::ForeignKeystoreLink {
            configured,
            real,
            through,
            uid,
            owner,
        } => foreign_link_text(configured, real, *through, *uid, *owner, "with --keystore "),
        FileError::AuditLogNotOpened { .. } => format!("{error}; pass --log-file FILE to keep one"),
        _ => error.to_string(),
    }
}

fn keystore(error: &KeystoreError) -> String {
    match error {
        KeystoreError::NoSuchEntry {
            from: AliasFrom::CommandLine,
            ..
        } => format!("{error}: fix --alias"),
        KeystoreError::SeveralEntries {
            from: AliasFrom::CommandLine,
            ..
        } => format!("{error}: choose one with --alias"),
        _ => error.to_string(),
    }
}

fn material(error: &MaterialError) -> String {
    match error {
        MaterialError::NotMaterial { .. } => {
            format!("{error}, or pass the certificate with --key and --chain")
        }
        MaterialError::KeyGivenTwice { .. } => {
            format!("{error}: leave out --key, or give the certificate alone")
        }
        MaterialError::SeveralKeys {
            directory: false, ..
        } => format!("{error}: split it and pass the key with --key"),
        MaterialError::SeveralKeys {
            directory: true, ..
        } => format!("{error}: give the certificate file as NEW and its key with --key"),
        MaterialError::TooManyCertificates {
            file,
            count,
            max,
            chain_given: true,
        } => too_many_certificates_text(file, " (with --chain)", *count, *max),
        MaterialError::HookVariables { found } => hook_text(*found, "--from-hook"),
        _ => error.to_string(),
    }
}

fn config(error: &ConfigError) -> String {
    match error {
        ConfigError::NoInstallation { .. } => {
            format!("{error}; pass --icg-root DIR or --config FILE")
        }
        ConfigError::NoKeystoreSetting { .. } => format!("{error}, or pass --keystore FILE"),
        ConfigError::KeystorePlaceholder { .. } => format!("{error}; pass --keystore FILE"),
        ConfigError::ClasspathKeystore { .. } => format!("{error}, or pass --keystore FILE"),
        ConfigError::SeveralInstallations { .. } => {
            format!("{error}: choose one with --icg-root DIR")
        }
        ConfigError::RootBelowUsg { meant, inner } => format!(
            "{}; --icg-root names the directory that holds usg/, so this is probably --icg-root {}",
            message(inner),
            icg_renew::shown::quote(meant.as_os_str())
        ),
        ConfigError::InConfig { file, source } => {
            format!("{}: {}", icg_renew::shown::path(file), message(source))
        }
        _ => error.to_string(),
    }
}

/// A wrapped failure keeps the hint of its own.
fn transaction(error: &TransactionError) -> String {
    match error {
        TransactionError::RenewalLeftInPlace { failure } => format!(
            "{}; the new keystore was left in place (--no-rollback)",
            message(failure)
        ),
        TransactionError::RenewalRolledBack { failure } => format!(
            "{}; the old keystore was restored and is served again",
            message(failure)
        ),
        TransactionError::RollbackFailedToo { failure, rollback } => format!(
            "{}; then the rollback failed too: {}",
            message(failure),
            message(rollback)
        ),
        TransactionError::NotReplaced { failure, keystore } => format!(
            "{}; icg-renew left the installed keystore {} untouched",
            message(failure),
            keystore.shown()
        ),
        TransactionError::RestoreNotDone { failure } => {
            format!("{}; the keystore was not changed", message(failure))
        }
        TransactionError::RestoreUnconfirmed { failure } => message(failure),
        TransactionError::NoRestartMethod { .. } => {
            format!("{error}; pass --service UNIT, --restart-command CMD or --restart none")
        }
        TransactionError::RestartNotStarted { .. } => {
            format!("{error}; check --restart or --restart-command")
        }
        _ => error.to_string(),
    }
}

fn command(error: &CommandError) -> String {
    match error {
        CommandError::InstalledKeyPassword { config, inner } => {
            installed_key_password_text(&message(inner), config.as_deref())
        }
        CommandError::NoMaterialGiven => {
            format!("{error}: pass its path (NEW), for example ~/keystore.icg")
        }
        CommandError::NoBackup { .. } => format!("{error}, or pass --backup-dir DIR"),
        CommandError::PendingKeyWaits { .. } => format!("{error}, or pass --force to replace it"),
        CommandError::RequestFileExists { .. } => {
            format!("{error}: choose another --out, or pass --force to overwrite it")
        }
        CommandError::MaterialStays { material, inner } => format!(
            "{}; {} stays in the drop folder for the next run",
            message(inner),
            material.shown()
        ),
        CommandError::DropFolderUnsafe {
            dir,
            risk: DropFolderRisk::Group(gid),
        } => format!(
            "the drop folder {} is writable by group {gid} which --group does not name; whoever can write there decides the gateway's certificate: chown root and chmod 0700 it (or 0770 with --group GROUP)",
            dir.shown()
        ),
        CommandError::DropFolderUnsafe { .. } => format!("{error} (or 0770 with --group GROUP)"),
        CommandError::UnknownGroup { .. } => format!("--group {error}"),
        _ => error.to_string(),
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
        let placeholder = Error::Config(ConfigError::InConfig {
            file: PathBuf::from("/opt/icg/application-prod.yml"),
            source: Box::new(Error::PasswordPlaceholder {
                setting: "server.ssl.key-store-password".into(),
            }),
        });
        assert_eq!(placeholder.kind(), icg_renew::error::ErrorKind::Unsupported);
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
                Error::Material(MaterialError::NotMaterial { file: file(), what: "empty".into() }),
                "/m/new.pem is not certificate material this tool knows (empty): export the certificate and key from the UMS as PKCS#12 or PEM, or pass the certificate with --key and --chain",
            ),
            (
                Error::Material(MaterialError::KeyGivenTwice { file: file() }),
                "/m/new.pem already holds a private key: leave out --key, or give the certificate alone",
            ),
            (
                Error::Material(MaterialError::SeveralKeys { file: file(), count: 2, directory: false }),
                "/m/new.pem holds 2 private keys; a bundle must hold exactly one: split it and pass the key with --key",
            ),
            (
                Error::Material(MaterialError::SeveralKeys { file: PathBuf::from("/m"), count: 3, directory: true }),
                "/m holds 3 different private keys; a material directory must hold exactly one: give the certificate file as NEW and its key with --key",
            ),
            (
                Error::Config(ConfigError::NoInstallation {
                    default_config: PathBuf::from("/opt/IGEL/icg/usg/conf/application-prod.yml"),
                    searched: vec![PathBuf::from("/opt"), PathBuf::from("/srv")],
                    depth: 6,
                }),
                "no ICG installation found: /opt/IGEL/icg/usg/conf/application-prod.yml does not exist and none was found under /opt, /srv (searched 6 levels deep); pass --icg-root DIR or --config FILE",
            ),
            (
                Error::Config(ConfigError::NoKeystoreSetting { config: Some(PathBuf::from("/c.yml")) }),
                "/c.yml sets no server.ssl.key-store: add it, or pass --keystore FILE",
            ),
            (
                Error::Config(ConfigError::KeystorePlaceholder { location: "${KS}".into() }),
                "server.ssl.key-store '${KS}' uses a placeholder; pass --keystore FILE",
            ),
            (
                Error::Keystore(KeystoreError::NoSuchEntry { file: file(), alias: "web".into(), has: "tomcat".into(), from: AliasFrom::CommandLine }),
                "/m/new.pem has no private-key entry 'web' (it has: tomcat): fix --alias",
            ),
            (
                Error::Keystore(KeystoreError::NoSuchEntry {
                    file: PathBuf::from("/k.jks"),
                    alias: "web".into(),
                    has: "tomcat".into(),
                    from: AliasFrom::Setting("server.ssl.key-alias in /c.yml".into()),
                }),
                "/k.jks has no private-key entry 'web' (it has: tomcat): fix server.ssl.key-alias in /c.yml",
            ),
            (
                Error::Keystore(KeystoreError::SeveralEntries { file: file(), has: "a, b".into(), from: AliasFrom::CommandLine }),
                "/m/new.pem holds several private-key entries (a, b): choose one with --alias",
            ),
            (
                Error::Keystore(KeystoreError::DamagedJks { file: PathBuf::from("/k.jks"), why: "truncated".into() }),
                "/k.jks is a damaged JKS keystore (truncated): restore it from a backup",
            ),
            (
                Error::Keystore(KeystoreError::NotAKeystore { file: PathBuf::from("/k.jks"), what: "empty".into() }),
                "/k.jks is not a JKS or PKCS#12 keystore (empty): check the path",
            ),
            (
                Error::Keystore(KeystoreError::WrongKeyPassword { file: PathBuf::from("/k.p12"), alias: "tomcat".into() }),
                "wrong key password for entry 'tomcat' of /k.p12: give the password that protects the key",
            ),
        ];
        for (error, shown) in cases {
            assert_eq!(message(&error), shown);
            assert!(!error.to_string().contains("--"), "{error}");
            assert!(!error.to_string().contains("ICG_RENEW_"), "{error}");
        }
    }

    /// The command layer's own errors read as the strings it used to format, option names included; the
    /// wrapped ones keep the error they wrap as their source.
    #[test]
    fn the_command_edge_errors_read_as_before() {
        use icg_renew::error::ErrorKind;
        let locked = || Error::Locked {
            keystore: PathBuf::from("/k.jks"),
            holder: Some("42".into()),
            lock: PathBuf::from("/.k.jks.lock"),
        };
        let no_installation = || {
            Error::Config(ConfigError::NoInstallation {
                default_config: PathBuf::from("/r/usg/usg/conf/application-prod.yml"),
                searched: vec![],
                depth: 6,
            })
        };
        let cases = [
            (
                Error::Config(ConfigError::SeveralInstallations { found: vec![PathBuf::from("/a"), PathBuf::from("/b")] }),
                "several ICG installations found (/a, /b): choose one with --icg-root DIR",
                ErrorKind::Usage,
            ),
            (
                Error::Config(ConfigError::RootBelowUsg { meant: PathBuf::from("/r x"), inner: Box::new(no_installation()) }),
                "no ICG installation found: /r/usg/usg/conf/application-prod.yml does not exist and none was found under  (searched 6 levels deep); pass --icg-root DIR or --config FILE; --icg-root names the directory that holds usg/, so this is probably --icg-root '/r x'",
                ErrorKind::NotFound,
            ),
            (
                Error::Command(CommandError::InstalledKeyPassword {
                    config: None,
                    inner: Box::new(Error::Keystore(KeystoreError::WrongKeyPassword { file: PathBuf::from("/k.jks"), alias: "tomcat".into() })),
                }),
                "wrong key password for entry 'tomcat' of /k.jks: give the password that protects the key; set server.ssl.key-password in application-prod.yml",
                ErrorKind::WrongPassword,
            ),
            (
                Error::Command(CommandError::NoMaterialGiven),
                "no new certificate material given: pass its path (NEW), for example ~/keystore.icg",
                ErrorKind::Usage,
            ),
            (
                Error::Command(CommandError::InstalledKeystoreGiven {
                    file: PathBuf::from("/k.jks"),
                    inner: Box::new(Error::WrongPassword { file: PathBuf::from("/k.jks"), which: PasswordFor::Material }),
                }),
                "/k.jks is the installed keystore, not new material: this is the installed certificate; give the new one (the UMS export keystore.icg, a PKCS#12 or PEM file)",
                ErrorKind::Incompatible,
            ),
            (Error::Command(CommandError::MaterialWithoutKey), "the new material has no private key", ErrorKind::Incompatible),
            (Error::Command(CommandError::StoppedAtWarnings), "stopped at the warnings: nothing was changed", ErrorKind::Aborted),
            (Error::Command(CommandError::NotConfirmed), "not confirmed: nothing was changed", ErrorKind::Aborted),
            (
                Error::Command(CommandError::NoBackup { keystore: PathBuf::from("/k.jks"), dir: PathBuf::from("/b") }),
                "no backup of /k.jks in /b: name one, or pass --backup-dir DIR",
                ErrorKind::NotFound,
            ),
            (
                Error::Command(CommandError::PendingKeyWaits { created: 0, path: PathBuf::from("/.k.jks.pending") }),
                "a pending key from 1970-01-01T00:00:00Z already waits at /.k.jks.pending: renew with its signed certificate first, or pass --force to replace it",
                ErrorKind::Usage,
            ),
            (
                Error::Command(CommandError::RequestFileExists { file: PathBuf::from("icg-renew.csr") }),
                "icg-renew.csr exists: choose another --out, or pass --force to overwrite it",
                ErrorKind::Usage,
            ),
            (
                Error::Command(CommandError::MaterialStays { material: PathBuf::from("/in/new.p12"), inner: Box::new(locked()) }),
                "/k.jks is being changed by another icg-renew (process 42 holds /.k.jks.lock): wait for it to finish; /in/new.p12 stays in the drop folder for the next run",
                ErrorKind::Locked,
            ),
            (
                Error::Command(CommandError::InboxBusy { dir: PathBuf::from("/in"), source: std::io::Error::from_raw_os_error(11) }),
                "another icg-renew inbox is working on /in: wait for it to finish",
                ErrorKind::Locked,
            ),
            (
                Error::Command(CommandError::DroppedPasswordMode { file: PathBuf::from("/in/new.p12.password"), mode: 0o644 }),
                "/in/new.p12.password must be a regular file of mode 0600 (it is 644): chmod 600 it and drop the material again",
                ErrorKind::Usage,
            ),
            (
                Error::Command(CommandError::NoDropFolder { dir: PathBuf::from("/in"), source: std::io::Error::from_raw_os_error(2) }),
                "cannot open the drop folder /in: No such file or directory (os error 2); create it with: install -d -m 0700 /in",
                ErrorKind::NotFound,
            ),
            (
                Error::Command(CommandError::DropFolderNotADirectory { dir: PathBuf::from("/in") }),
                "the drop folder /in is not a directory (a link or a file): give the directory itself",
                ErrorKind::Usage,
            ),
            (
                Error::Command(CommandError::DropFolderUnsafe { dir: PathBuf::from("/in"), risk: DropFolderRisk::Owner(1000) }),
                "the drop folder /in belongs to uid 1000; whoever can write there decides the gateway's certificate: chown root and chmod 0700 it (or 0770 with --group GROUP)",
                ErrorKind::Unsupported,
            ),
            (
                Error::Command(CommandError::DropFolderUnsafe { dir: PathBuf::from("/in"), risk: DropFolderRisk::EveryUser }),
                "the drop folder /in is writable by every user; whoever can write there decides the gateway's certificate: chown root and chmod 0700 it (or 0770 with --group GROUP)",
                ErrorKind::Unsupported,
            ),
            (
                Error::Command(CommandError::DropFolderUnsafe { dir: PathBuf::from("/in"), risk: DropFolderRisk::Group(50) }),
                "the drop folder /in is writable by group 50 which --group does not name; whoever can write there decides the gateway's certificate: chown root and chmod 0700 it (or 0770 with --group GROUP)",
                ErrorKind::Unsupported,
            ),
            (
                Error::Command(CommandError::ResultsDirNotADirectory { dir: PathBuf::from("/in/done") }),
                "/in/done is not a directory: remove it so that icg-renew can file results there",
                ErrorKind::Unsupported,
            ),
            (
                Error::Command(CommandError::UnknownGroup { name: "icgdrop".into() }),
                "--group icgdrop: no such group in /etc/group; give its name or number",
                ErrorKind::Usage,
            ),
            (Error::Command(CommandError::Internal), "internal error; see the message above", ErrorKind::Io),
        ];
        for (error, shown, kind) in cases {
            assert_eq!(message(&error), shown);
            assert_eq!(error.kind(), kind, "{shown}");
            assert!(!error.to_string().contains("--"), "{error}");
        }
        // The parser's own line names the option it refused, as it is.
        let bad = Error::Command(CommandError::BadArguments {
            what: "unexpected argument '--x' found".into(),
        });
        assert_eq!(message(&bad), "unexpected argument '--x' found");
        assert_eq!(bad.kind(), ErrorKind::Usage);
        let wrapped = Error::Command(CommandError::MaterialStays {
            material: PathBuf::from("/in/new.p12"),
            inner: Box::new(locked()),
        });
        let source = std::error::Error::source(&wrapped).expect("the wrapped error");
        let inner = source.downcast_ref::<Box<Error>>().expect("a boxed Error");
        assert!(matches!(**inner, Error::Locked { .. }), "{inner}");
    }

    /// The options the core's errors used to name are added here, giving the old line byte for byte; a
    /// wrapped failure keeps the hint of its own.
    #[test]
    fn the_core_errors_get_their_options_back_and_wrapped_failures_keep_their_hints() {
        use icg_renew::error::{HookFound, LinkPart};
        let link = Error::File(FileError::ForeignKeystoreLink {
            configured: PathBuf::from("/opt/icg/keystore.jks"),
            real: PathBuf::from("/srv/ks dir/keystore.jks"),
            through: LinkPart::HoldingDirectory,
            uid: 1001,
            owner: 0,
        });
        assert_eq!(
            message(&link),
            "the keystore /opt/icg/keystore.jks is reached through a directory holding the link that uid 1001 controls, neither root nor the keystore's owner (uid 0): give the keystore's own path with --keystore '/srv/ks dir/keystore.jks', or make root own the link"
        );
        let hook = Error::Material(MaterialError::HookVariables {
            found: HookFound::KeyOnly,
        });
        assert_eq!(
            message(&hook),
            "--from-hook: CERT_KEY_PATH is set but CERT_FULLCHAIN_PATH is not; acme.sh sets both for --reloadcmd"
        );
        let nothing = Error::Material(MaterialError::HookVariables {
            found: HookFound::Nothing,
        });
        assert_eq!(
            message(&nothing),
            "--from-hook found none of RENEWED_LINEAGE (certbot --deploy-hook) or CERT_KEY_PATH and CERT_FULLCHAIN_PATH (acme.sh --reloadcmd) in its environment: run it as the ACME client's hook, or give the material as NEW"
        );
        let unconfirmed = || {
            Error::Transaction(TransactionError::NotServedInTime {
                what: "the new certificate".into(),
                timeout: std::time::Duration::from_secs(2),
                last: "not answering (connection refused)".into(),
            })
        };
        assert_eq!(
            message(&Error::Transaction(TransactionError::RenewalLeftInPlace {
                failure: Box::new(unconfirmed())
            })),
            "the gateway did not serve the new certificate within 2 s: not answering (connection refused); the new keystore was left in place (--no-rollback)"
        );
        let needs_option = || Error::PasswordNeeded {
            file: PathBuf::from("/k.jks"),
            which: PasswordFor::Keystore,
        };
        assert_eq!(
            message(&Error::Transaction(TransactionError::RollbackFailedToo {
                failure: Box::new(unconfirmed()),
                rollback: Box::new(needs_option()),
            })),
            "the gateway did not serve the new certificate within 2 s: not answering (connection refused); then the rollback failed too: no password for /k.jks: pass --store-password-file FILE or set ICG_RENEW_STORE_PASSWORD"
        );
        assert_eq!(
            message(&Error::Transaction(TransactionError::RestoreNotDone {
                failure: Box::new(needs_option())
            })),
            "no password for /k.jks: pass --store-password-file FILE or set ICG_RENEW_STORE_PASSWORD; the keystore was not changed"
        );
        let audit = Error::File(FileError::AuditLogNotOpened {
            path: PathBuf::from("/var/log/icg-renew.log"),
            source: std::io::Error::from_raw_os_error(13),
        });
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

    /// The library's material, installation and restart errors get their option from here.
    #[test]
    fn library_errors_get_the_option_that_fixes_them() {
        let many = |chain_given| {
            Error::Material(MaterialError::TooManyCertificates {
                file: PathBuf::from("/m/new.pem"),
                count: 65,
                max: 64,
                chain_given,
            })
        };
        assert_eq!(
            message(&many(true)),
            "/m/new.pem (with --chain) holds 65 certificates; new material needs only the server certificate and its CAs (at most 64): give just those"
        );
        assert_eq!(message(&many(false)), many(false).to_string());
        let restart = Error::Transaction(TransactionError::NoRestartMethod {
            unit: "icg-server.service".into(),
            script: PathBuf::from("/etc/init.d/icg-server"),
        });
        assert_eq!(
            message(&restart),
            "cannot tell how to restart the ICG: systemd does not know icg-server.service and /etc/init.d/icg-server does not exist; pass --service UNIT, --restart-command CMD or --restart none"
        );
        let not_started = Error::Transaction(TransactionError::RestartNotStarted {
            command: "systemctl restart icg-server.service".into(),
            source: std::io::Error::from_raw_os_error(2),
        });
        assert_eq!(
            message(&not_started),
            "cannot run the restart (systemctl restart icg-server.service): No such file or directory (os error 2); check --restart or --restart-command"
        );
        let in_config = Error::Config(ConfigError::InConfig {
            file: PathBuf::from("/opt/icg/application-prod.yml"),
            source: Box::new(Error::PasswordPlaceholder {
                setting: "server.ssl.key-store-password".into(),
            }),
        });
        assert_eq!(
            message(&in_config),
            "/opt/icg/application-prod.yml: server.ssl.key-store-password uses a ${...} placeholder, which this tool does not resolve; pass --store-password-file FILE"
        );
    }
}
