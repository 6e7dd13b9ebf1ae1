//! `verify`: new material found or chosen, opened (with password retries) and checked against the installation.

use super::resolve::*;
use super::Finished;
use crate::cli::GlobalArgs;
use crate::ui::prompts::Prompter;
use icg_renew::cert::CertSummary;
use icg_renew::checks;
use icg_renew::error::CommandError;
use icg_renew::error::{Error, ErrorKind, Result};
use icg_renew::fsx;
use icg_renew::fsx::MAX_FILE_SIZE;
use icg_renew::install::{self, Install};
use icg_renew::installed::Installed;
use icg_renew::material::{self, KeySource, Material, MaterialOptions, MaterialSource};
use icg_renew::pending;
use icg_renew::report::*;
use icg_renew::shown::Shown;
use icg_renew::utc::{rfc3339, Clock};
use openssl::pkey::{PKey, Private};
use std::path::{Path, PathBuf};

/// The new material's path: as given, or chosen from the files found when someone can be asked. Files
/// that hold the certificate signed for a pending request of `csr` come first, marked.
pub(crate) fn material_path(
    new: Option<&Path>,
    prompter: &mut dyn Prompter,
    install: &Install,
    installed: &Installed,
) -> Result<PathBuf> {
    if let Some(path) = new {
        return Ok(path.to_path_buf());
    }
    let missing = || Error::Command(CommandError::NoMaterialGiven);
    if !prompter.interactive() {
        return Err(missing());
    }
    let places = material::candidate_places();
    let mut candidates = material::find_candidates(&places.dirs, Some(&places.owners), 30);
    if let Ok(Some(pending)) = install
        .store_password()
        .and_then(|pw| pending::load(&installed.file, pw))
    {
        for candidate in &mut candidates {
            if material::holds_certificate_for(&candidate.path, &pending.key) {
                candidate.note = Some(format!(
                    "signed for the pending request of {}",
                    rfc3339(pending.created)
                ));
            }
        }
        candidates.sort_by_key(|c| c.note.is_none());
    }
    prompter.choose_material(&candidates).ok_or_else(missing)
}

/// The material options, and a warning when `--new-password-file` is readable by others (as for the store
/// password file).
pub(crate) fn material_options(args: &MaterialSource) -> Result<(MaterialOptions, Option<String>)> {
    let (password, warning) = match &args.password_file {
        Some(file) => {
            let (password, warning) = install::read_password_file(file)?;
            (Some(password), warning)
        }
        None => (env_password("ICG_RENEW_NEW_PASSWORD"), None),
    };
    let options = MaterialOptions {
        key: args.key.clone(),
        chain: args.chain.clone(),
        password,
        alias: args.alias.clone(),
    };
    Ok((options, warning))
}

/// A certificate that came without its key: the key born here by `csr` (the pending key), or else the
/// installed key (a renewal that keeps the key), whichever belongs to it.
pub(crate) fn find_key_on_the_gateway(
    material: &mut Material,
    install: &Install,
    installed: &Installed,
) -> Result<()> {
    let belongs =
        |key: &PKey<Private>| material.leaf().public_key().is_ok_and(|p| p.public_eq(key));
    if let Some(pending) = pending::load(&installed.file, install.store_password()?)? {
        if belongs(&pending.key) {
            material.key = Some(pending.key);
            material.key_source = KeySource::Pending(pending.path, pending.id);
            return Ok(());
        }
    }
    let installed_key = installed_key(install, installed)?;
    if belongs(&installed_key) {
        material.key = Some(installed_key);
        material.key_source = KeySource::Installed;
    }
    Ok(())
}

/// Whether `new` holds the same bytes as the installed keystore: the keystore itself or a copy of it.
pub(crate) fn is_installed_keystore(new: &Path, installed: &Installed) -> bool {
    fsx::read_input(new, MAX_FILE_SIZE, "read the new certificate material")
        .is_ok_and(|bytes| bytes == installed.bytes)
}

/// A password error about the installed keystore given as new material points at the real mistake.
pub(crate) fn installed_keystore_hint(error: Error, new: &Path, is_installed: bool) -> Error {
    if !is_installed
        || !matches!(
            error.kind(),
            ErrorKind::PasswordNeeded | ErrorKind::WrongPassword
        )
    {
        return error;
    }
    Error::Command(CommandError::InstalledKeystoreGiven {
        file: new.to_path_buf(),
        inner: Box::new(error),
    })
}

/// The checks of new material against the installation, with everything needed to act on them.
pub(crate) struct Verified {
    pub(crate) report: VerifyReport,
    pub(crate) material: Material,
    pub(crate) verified_chain: Option<Vec<openssl::x509::X509>>,
    /// The password that opened the material, when a person typed it.
    pub(crate) typed_password: Option<icg_renew::secret::Password>,
}

pub(crate) fn check_material(
    install: &Install,
    installed: &Installed,
    new: &Path,
    args: &MaterialSource,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Verified> {
    let (mut options, warning) = material_options(args)?;
    if let Some(warning) = warning {
        prompter.warn(&warning);
    }
    let is_installed = is_installed_keystore(new, installed);
    if is_installed && options.password.is_none() {
        // The installed keystore (or a copy) opens with its own password; `differs-from-installed` then fails.
        options.password = install.store_password().ok().cloned();
    }
    let prompt = format!("Password of {}", new.shown());
    let mut was_typed = false;
    let mut material = with_password_retries(prompter, &prompt, |typed| {
        if typed.is_some() {
            options.password = typed;
            was_typed = true;
        }
        material::load(new, &options)
    })
    .map_err(|e| installed_keystore_hint(e, new, is_installed))?;
    if material.key.is_none() {
        find_key_on_the_gateway(&mut material, install, installed)?;
    }
    prompter.busy(Some(
        "Checking the new certificate against the installed one",
    ));
    let result = checks::run_all(&installed.chain, &installed.root, &material, clock);
    prompter.busy(None);
    let shown_chain = result
        .verified_chain
        .clone()
        .unwrap_or_else(|| material.chain.clone());
    let report = VerifyReport {
        compatible: result.compatible(),
        current: CertSummary::of(installed.leaf(), clock),
        new: CertSummary::of(material.leaf(), clock),
        material: MaterialInfo {
            path: new.to_path_buf(),
            format: material.format.clone(),
            chain: summaries(&shown_chain, clock),
        },
        checks: result.checks,
    };
    prompter.show_checks(&report);
    Ok(Verified {
        report,
        material,
        verified_chain: result.verified_chain,
        typed_password: options.password.filter(|_| was_typed),
    })
}

pub(crate) fn run(
    global: &GlobalArgs,
    new: Option<&Path>,
    args: &MaterialSource,
    prompter: &mut dyn Prompter,
    clock: Clock,
) -> Result<Finished> {
    let mut install = resolve(global, prompter)?;
    let installed = load_installed(&mut install, prompter, None)?;
    let new = material_path(new, prompter, &install, &installed)?;
    let verified = check_material(&install, &installed, &new, args, prompter, clock)?;
    let exit_code = if verified.report.compatible {
        0
    } else {
        ErrorKind::Incompatible.exit_code()
    };
    Ok(Finished {
        output: Output::Verify(verified.report),
        exit_code,
    })
}
