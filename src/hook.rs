//! `renew --from-hook`: where an ACME client's deploy hook finds the material it just renewed, from the
//! environment the client sets for its hook. certbot's `--deploy-hook` sets `RENEWED_LINEAGE` (the lineage
//! directory `live/NAME`); acme.sh's `--reloadcmd` sets `CERT_KEY_PATH` and `CERT_FULLCHAIN_PATH`.
//! (`step ca renew --exec` sets nothing: its line names the directory as NEW.)

use crate::error::MaterialError;
use crate::error::{Error, HookFound, Result};
use std::ffi::OsString;
use std::path::PathBuf;

/// The material of a hook: NEW, and the key file when it is separate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookMaterial {
    pub new: PathBuf,
    pub key: Option<PathBuf>,
}

/// Reads the hook's variables through `var` (the process environment in `from_environment`); an empty
/// variable counts as unset.
pub fn find(var: impl Fn(&str) -> Option<OsString>) -> Result<HookMaterial> {
    let get = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(lineage) = get("RENEWED_LINEAGE") {
        return Ok(HookMaterial {
            new: lineage,
            key: None,
        });
    }
    match (get("CERT_KEY_PATH"), get("CERT_FULLCHAIN_PATH")) {
        (Some(key), Some(fullchain)) => Ok(HookMaterial {
            new: fullchain,
            key: Some(key),
        }),
        (Some(_), None) => Err(Error::Material(MaterialError::HookVariables {
            found: HookFound::KeyOnly,
        })),
        (None, Some(_)) => Err(Error::Material(MaterialError::HookVariables {
            found: HookFound::FullchainOnly,
        })),
        (None, None) => Err(Error::Material(MaterialError::HookVariables {
            found: HookFound::Nothing,
        })),
    }
}

/// [`find`] in the process environment.
pub fn from_environment() -> Result<HookMaterial> {
    find(|name| std::env::var_os(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn certbot_first_then_acme_sh_then_a_usage_error_naming_the_variables() {
        let both = find(env(&[
            ("RENEWED_LINEAGE", "/etc/letsencrypt/live/gw"),
            ("CERT_KEY_PATH", "/k"),
            ("CERT_FULLCHAIN_PATH", "/f"),
        ]))
        .unwrap();
        assert_eq!(both.new, PathBuf::from("/etc/letsencrypt/live/gw"));
        assert_eq!(both.key, None);
        let acme = find(env(&[
            ("CERT_KEY_PATH", "/k"),
            ("CERT_FULLCHAIN_PATH", "/f"),
        ]))
        .unwrap();
        assert_eq!(
            (acme.new, acme.key),
            (PathBuf::from("/f"), Some(PathBuf::from("/k")))
        );
        let none = find(env(&[("RENEWED_LINEAGE", "")])).unwrap_err();
        assert_eq!(none.kind().exit_code(), 2);
        for name in ["RENEWED_LINEAGE", "CERT_KEY_PATH", "CERT_FULLCHAIN_PATH"] {
            assert!(none.to_string().contains(name), "{none}");
        }
        assert!(!none.to_string().contains("--from-hook"), "{none}");
        assert!(matches!(
            find(env(&[("CERT_KEY_PATH", "/k")])),
            Err(Error::Material(MaterialError::HookVariables {
                found: HookFound::KeyOnly
            }))
        ));
        assert!(matches!(
            find(env(&[("CERT_FULLCHAIN_PATH", "/f")])),
            Err(Error::Material(MaterialError::HookVariables {
                found: HookFound::FullchainOnly
            }))
        ));
    }
}
