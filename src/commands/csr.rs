//! `csr`: a new key pair born here, kept as the pending key, and a request with the installed names.

use super::resolve::*;
use super::Finished;
use crate::cli::{self, GlobalArgs};
use crate::ui::prompts::Prompter;
use icg_renew::error::CommandError;
use icg_renew::error::{Error, Result};
use icg_renew::fsx::{self};
use icg_renew::pending;
use icg_renew::renew::LockedKeystore;
use icg_renew::report::*;
use icg_renew::shown::Shown;
use icg_renew::utc::{rfc3339, Clock};

/// `csr`: a new key pair born here, kept as the pending key, and a request with the installed names.
pub(crate) fn run(
    global: &GlobalArgs,
    args: &cli::CsrArgs,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let keystore = LockedKeystore::open(&install.keystore)?;
    let installed = load_installed(&mut install, prompter, Some(keystore.file()))?;
    let store_password = install.store_password()?.clone();
    let existing = pending::load(&installed.file, &store_password)?;
    if let Some(old) = &existing {
        let question = format!(
            "A pending key from {} already waits at {}. Replace it (a certificate signed for it will then no longer fit)?",
            rfc3339(old.created),
            old.path.shown()
        );
        if !args.force && !prompter.confirm(&question) {
            return Err(Error::Command(CommandError::PendingKeyWaits {
                created: old.created,
                path: old.path.clone(),
            }));
        }
    }
    let out = fsx::resolve_parent(&args.out, fsx::Trust::OUTPUT)?;
    if out.dir.stat_of(&out.name).is_some() && !args.force {
        return Err(Error::Command(CommandError::RequestFileExists {
            file: args.out.clone(),
        }));
    }
    let key_type = args
        .key_type
        .unwrap_or_else(|| icg_renew::csr::KeyType::like(installed.leaf()));
    let key = key_type.generate()?;
    let request = icg_renew::csr::request(&key, installed.leaf())?;
    let placeholder = icg_renew::csr::placeholder(&key, installed.leaf(), clock.now)?;
    let pem = request
        .to_pem()
        .map_err(|source| Error::Command(CommandError::EncodeRequest { source }))?;
    let der = request
        .to_der()
        .map_err(|source| Error::Command(CommandError::EncodeRequest { source }))?;

    icg_renew::interrupt::set_phase(icg_renew::interrupt::Phase::Writing);
    if let Some(old) = &existing {
        pending::remove_securely(&installed.file, old.id)?;
    }
    out.dir
        .replace(&out.name, &pem, 0o600, "write the certificate request")?;
    let pending_path = pending::save(&installed.file, &key, &placeholder, &store_password)?;
    let sha256 = icg_renew::cert::hex_colons(&openssl::sha::sha256(&der));
    let mut audit = open_audit(global, "csr", prompter);
    audit.record(
        "csr",
        &[
            ("keystore", &installed.path.shown().to_string()),
            ("csr", &args.out.shown().to_string()),
            ("pending_key", &pending_path.shown().to_string()),
            ("sha256", &sha256),
        ],
    );
    let (dns_names, ip_addresses) =
        icg_renew::cert::subject_alt_names(&placeholder).unwrap_or_default();
    let renew_line = format!(
        "{} {}",
        icg_renew::invocation::program(),
        icg_renew::shown::command(location_args(&install))
    );
    Ok(Finished {
        output: Output::Csr(CsrReport {
            csr: args.out.clone(),
            pending_key: pending_path,
            key_type: key_type.describe(),
            subject: icg_renew::cert::name_to_string(installed.leaf().subject_name()),
            dns_names,
            ip_addresses,
            sha256,
            replaced_pending: existing.is_some(),
            next_steps: vec![
                format!("have your CA sign {} with its Subject Alternative Names as requested", icg_renew::shown::quote(args.out.as_os_str())),
                format!("{renew_line} renew SIGNED.pem --chain CA-CHAIN.pem   (the key is found by itself)"),
            ],
        }),
        exit_code: 0,
    })
}
