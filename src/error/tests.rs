//! The error types' texts, kinds and sources.

use super::*;
use std::error::Error as _;

#[test]
fn an_io_error_keeps_the_os_error_as_its_source() {
    let os = std::io::Error::from_raw_os_error(13);
    let error = Error::io("read", Path::new("/etc/shadow"), &os);
    assert_eq!(error.kind(), ErrorKind::Io);
    let source = error.source().expect("a source");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.raw_os_error(), Some(13));
    assert!(Error::Command(CommandError::NoMaterialGiven)
        .source()
        .is_none());
}

/// The transaction's outcome errors keep today's kinds (exit codes 4, 5, 1 and the JSON kind) and the
/// first failure as their source.
#[test]
fn outcome_errors_keep_their_kind_and_the_first_failure_as_source() {
    let failure = || {
        Error::Transaction(TransactionError::ServedButRefused {
            what: "the new certificate".into(),
            why: "unable to get local issuer certificate".into(),
        })
    };
    let rolled_back = Error::Transaction(TransactionError::RenewalRolledBack {
        failure: Box::new(failure()),
    });
    assert_eq!(rolled_back.kind(), ErrorKind::RolledBack);
    assert_eq!(rolled_back.kind().exit_code(), 4);
    assert_eq!(
        rolled_back.to_string(),
        "the gateway serves the new certificate, but a verifying client refuses it: unable to get local issuer certificate; the old keystore was restored and is served again"
    );
    // A boxed source is the box (thiserror hands out the field); its content is the first failure.
    let first = rolled_back.source().expect("the first failure");
    assert!(matches!(
        first.downcast_ref::<Box<Error>>().map(|b| &**b),
        Some(Error::Transaction(
            TransactionError::ServedButRefused { .. }
        ))
    ));
    let too = Error::Transaction(TransactionError::RollbackFailedToo {
        failure: Box::new(failure()),
        rollback: Box::new(Error::Transaction(
            TransactionError::KeystoreChangedMeanwhile {
                keystore: PathBuf::from("/k.jks"),
            },
        )),
    });
    assert_eq!(too.kind().exit_code(), 5);
    assert!(matches!(
        too.source()
            .and_then(|s| s.downcast_ref::<Box<Error>>())
            .map(|b| &**b),
        Some(Error::Transaction(
            TransactionError::ServedButRefused { .. }
        ))
    ));
    let left = Error::Transaction(TransactionError::RenewalLeftInPlace {
        failure: Box::new(failure()),
    });
    assert_eq!(left.kind(), ErrorKind::RollbackFailed);
    assert_eq!(
        Error::Transaction(TransactionError::InterruptedBeforeReplace).kind(),
        ErrorKind::Aborted
    );
    let locked = Error::Locked {
        keystore: PathBuf::from("/k.jks"),
        holder: None,
        lock: PathBuf::from("/.k.jks.lock"),
    };
    assert_eq!(
        Error::Transaction(TransactionError::RestoreNotDone {
            failure: Box::new(locked)
        })
        .kind(),
        ErrorKind::Locked
    );
    let listed = Error::File(FileError::ListBackups {
        source: Box::new(Error::io(
            "list",
            Path::new("/b"),
            &std::io::Error::from_raw_os_error(2),
        )),
    });
    assert_eq!(listed.kind(), ErrorKind::NotFound);
    assert!(listed.source().is_some());
}

/// The file-system refusals name the file, the account and the fix, as they did as formatted strings.
#[test]
fn refusals_of_a_layout_name_the_facts() {
    let dir = PathBuf::from("/srv/backups");
    let text = |risk| {
        Error::File(FileError::UnsafeDirectory {
            role: "the backup directory".into(),
            dir: dir.clone(),
            risk,
        })
        .to_string()
    };
    assert_eq!(text(DirectoryRisk::WorldWritable), "the backup directory /srv/backups is writable by every user, which lets them race icg-renew with links: chmod o-w it, or choose another directory");
    assert_eq!(text(DirectoryRisk::OwnedBy(1001)), "the backup directory /srv/backups belongs to uid 1001, not root, who could swap files in it while icg-renew works: chown root it, or choose another directory");
    assert_eq!(text(DirectoryRisk::GroupWritable(50)), "the backup directory /srv/backups is writable by group 50, whose members could swap files in it while icg-renew works: chmod g-w it, or choose another directory");
    let big = Error::File(FileError::TooBig {
        doing: "read the keystore".into(),
        path: PathBuf::from("/k.jks"),
        len: 20 * 1024 * 1024,
        limit: 16 * 1024 * 1024,
    });
    assert_eq!(big.kind(), ErrorKind::Corrupt);
    assert_eq!(
        big.to_string(),
        "cannot read the keystore /k.jks: it is 20971520 bytes, more than the 16 MiB limit; check the path"
    );
    let fifo = Error::File(FileError::NotRegularFile {
        doing: "read".into(),
        path: PathBuf::from("/tmp/f"),
        found: FoundFile::FifoOrSocket,
    });
    assert_eq!(
        fifo.to_string(),
        "cannot read /tmp/f: it is a FIFO or socket, not a regular file; give the path of a file"
    );
    assert_eq!(
        Error::File(FileError::KeystoreGone {
            path: PathBuf::from("/k.jks")
        })
        .kind(),
        ErrorKind::NotFound
    );
}

// --- library: material, keystore, installation, service, sandbox (errlib) ---

/// The typed errors of the material, keystore, installation, service and sandbox modules read exactly
/// as the messages those modules formatted themselves before, keep their exit-code kind, and name no
/// command-line option.
#[test]
fn library_errors_read_as_before_and_name_no_option() {
    let f = || PathBuf::from("/m/new.pem");
    let ssl = openssl::error::ErrorStack::get;
    let os = || std::io::Error::from_raw_os_error(2);
    let cases: Vec<(Error, &str, ErrorKind)> = vec![
        (
            Error::Material(MaterialError::TooManyCertificates { file: f(), count: 65, max: 64, chain_given: false }),
            "/m/new.pem holds 65 certificates; new material needs only the server certificate and its CAs (at most 64): give just those",
            ErrorKind::Unsupported,
        ),
        (
            Error::Material(MaterialError::UnusualRsaKey { file: f() }),
            "/m/new.pem holds a certificate with an RSA key no CA issues (a public exponent over 64 bits or a modulus over 16,384 bits): check the file",
            ErrorKind::Unsupported,
        ),
        (
            Error::Material(MaterialError::NoCertificate { file: f() }),
            "/m/new.pem holds no certificate: it needs at least the new server certificate",
            ErrorKind::Corrupt,
        ),
        (
            Error::Material(MaterialError::ZipEntryUnpack { file: f(), entry: "ks.p12".into(), source: os() }),
            "/m/new.pem: cannot unpack ks.p12 (No such file or directory (os error 2))",
            ErrorKind::Corrupt,
        ),
        (
            Error::Material(MaterialError::ZipEntryTooLarge { file: f(), entry: "ks.p12".into() }),
            "/m/new.pem: ks.p12 unpacks to more than the size limit",
            ErrorKind::Corrupt,
        ),
        (
            Error::Material(MaterialError::ZipWithoutKeystore { file: f() }),
            "/m/new.pem is a ZIP archive without a keystore inside: export the certificate and key from the UMS as PKCS#12 or PEM instead",
            ErrorKind::Corrupt,
        ),
        (
            Error::Material(MaterialError::DamagedCertificate { file: f(), source: ssl() }),
            "/m/new.pem holds a damaged certificate: export it again",
            ErrorKind::Corrupt,
        ),
        (
            Error::Material(MaterialError::UnreadableKeyFile { file: f(), source: ssl() }),
            "/m/new.pem is not a private key this tool can read (PEM or DER, PKCS#8 or traditional): check the file",
            ErrorKind::Corrupt,
        ),
        (
            Error::Material(MaterialError::DamagedPrivateKey { file: f(), source: ssl() }),
            "/m/new.pem holds a damaged private key: export it again",
            ErrorKind::Corrupt,
        ),
        (
            Error::Material(MaterialError::NoChainCertificates { file: f(), what: "0 bytes, looks like an empty file".into() }),
            "/m/new.pem holds no certificates (0 bytes, looks like an empty file): give a PEM file with the CA certificates",
            ErrorKind::Corrupt,
        ),
        (
            Error::Keystore(KeystoreError::NoKeyEntries { file: PathBuf::from("/k.jks") }),
            "/k.jks holds no private-key entry: it is not a server keystore",
            ErrorKind::NotFound,
        ),
        (
            Error::Keystore(KeystoreError::NoKeyEntry { file: PathBuf::from("/k.jks"), alias: "icg".into() }),
            "/k.jks has no key entry 'icg'",
            ErrorKind::NotFound,
        ),
        (
            Error::Keystore(KeystoreError::UndecryptableEntryKey {
                file: PathBuf::from("/k.p12"),
                alias: "icg".into(),
                source: Box::new(crate::keystore::pfx::PfxError::Corrupt("key bag truncated")),
            }),
            "/k.p12: the key of entry 'icg' cannot be read (key bag truncated)",
            ErrorKind::Corrupt,
        ),
        (
            Error::Keystore(KeystoreError::InvalidStoredCertificate { file: PathBuf::from("/k.jks"), source: ssl() }),
            "/k.jks holds a certificate that is not valid X.509",
            ErrorKind::Corrupt,
        ),
        (
            Error::Keystore(KeystoreError::KeystoreRewrite { file: PathBuf::from("/k.jks"), source: "alias too long".into() }),
            "cannot build the new keystore for /k.jks: alias too long; nothing was changed (check the new material, or report this)",
            ErrorKind::Io,
        ),
        (
            Error::Keystore(KeystoreError::UnfaithfulRewrite {
                file: PathBuf::from("/k.p12"),
                source: Box::new(crate::keystore::pfx::PfxError::Unsupported("encryption algorithm 1.2.3".into())),
            }),
            "/k.p12: cannot write it back faithfully (encryption algorithm 1.2.3); convert it with keytool -importkeystore -deststoretype PKCS12 first",
            ErrorKind::Unsupported,
        ),
        (
            Error::Config(ConfigError::InConfig { file: PathBuf::from("/c.yml"), source: Box::new(Error::Config(ConfigError::YamlAliases)) }),
            "/c.yml: uses YAML aliases (*name), which application-prod.yml has no need of: write the values out",
            ErrorKind::Unsupported,
        ),
        (
            Error::Config(ConfigError::YamlTooDeep { max: 32 }),
            "nests deeper than 32 levels, which no ICG configuration does: check the file",
            ErrorKind::Corrupt,
        ),
        (
            Error::Config(ConfigError::BadPort { value: "https".into() }),
            "server.port 'https' is not a port number; fix it",
            ErrorKind::Unsupported,
        ),
        (
            Error::Config(ConfigError::ClasspathKeystore { location: "classpath:ks.jks".into() }),
            "server.ssl.key-store 'classpath:ks.jks' is inside the application, not a file: a classpath keystore is not supported; point key-store at a file",
            ErrorKind::Unsupported,
        ),
        (
            Error::Config(ConfigError::NotSingleValue { key: "server.port".into() }),
            "server.port is not a single value; fix it",
            ErrorKind::Unsupported,
        ),
        (
            Error::Transaction(TransactionError::NoRestartMethod { unit: "icg-server.service".into(), script: PathBuf::from("/etc/init.d/icg-server") }),
            "cannot tell how to restart the ICG: systemd does not know icg-server.service and /etc/init.d/icg-server does not exist",
            ErrorKind::NotFound,
        ),
        (
            Error::Transaction(TransactionError::RestartNotStarted { command: "systemctl restart icg".into(), source: os() }),
            "cannot run the restart (systemctl restart icg): No such file or directory (os error 2)",
            ErrorKind::Io,
        ),
        (
            Error::Transaction(TransactionError::RestartTimedOut { command: "/bin/sh -c 'sleep 9'".into(), seconds: 3 }),
            "the restart (/bin/sh -c 'sleep 9') did not finish within 3 s and was killed",
            ErrorKind::Io,
        ),
        (
            Error::Command(CommandError::SandboxNotEmpty { dir: PathBuf::from("/tmp/sb") }),
            "/tmp/sb exists and is not empty: give a new or empty directory for the sandbox",
            ErrorKind::Usage,
        ),
        (
            Error::Command(CommandError::SandboxBuild { part: "keystore", why: "bad key".into() }),
            "cannot build the sandbox keystore: bad key",
            ErrorKind::Io,
        ),
    ];
    for (error, text, kind) in cases {
        assert_eq!(error.to_string(), text);
        assert_eq!(error.kind(), kind, "{text}");
        assert!(!text.contains("--"), "{text}");
    }
}

/// A wrapped error keeps the real lower-level error as its source.
#[test]
fn library_errors_keep_their_real_source() {
    let yaml = yaml_rust2::YamlLoader::load_from_str("a: [").unwrap_err();
    let error = Error::Config(ConfigError::InConfig {
        file: PathBuf::from("/c.yml"),
        source: Box::new(Error::Config(ConfigError::InvalidYaml { source: yaml })),
    });
    assert_eq!(error.kind(), ErrorKind::Corrupt);
    let inner = error.source().expect("the wrapped error");
    let scan = inner.source().expect("the scanner's error");
    assert!(scan.downcast_ref::<yaml_rust2::ScanError>().is_some());
    let rewrite = Error::Keystore(KeystoreError::KeystoreRewrite {
        file: PathBuf::from("/k.p12"),
        source: Box::new(crate::keystore::pfx::PfxError::Corrupt("x")),
    });
    assert!(rewrite
        .source()
        .and_then(|s| s.downcast_ref::<crate::keystore::pfx::PfxError>())
        .is_some());
    let der = <der::asn1::AnyRef<'_> as der::Decode<'_>>::from_der(&[0x30]).unwrap_err();
    let damaged = Error::Keystore(KeystoreError::DamagedPkcs12 {
        file: PathBuf::from("/k.p12"),
        source: Box::new(crate::keystore::pfx::PfxError::from(der)),
    });
    assert_eq!(
        damaged.to_string(),
        format!("/k.p12 is a PKCS#12 file that cannot be read ({der}): restore it from a backup or export it again")
    );
    let codec = damaged.source().expect("the codec's error");
    assert!(codec
        .source()
        .and_then(|s| s.downcast_ref::<der::Error>())
        .is_some());
}
