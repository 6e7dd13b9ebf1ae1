//! Everything the operator sees: the renderers (human text and the contract's JSON) and the prompters that
//! stand between `app` and a person. Decides nothing.

pub mod human;
pub mod terminal;

use crate::app::Prompter;
use crate::error::Error;
use crate::renew::{self, Observer};
use crate::report::Output;

/// The JSON document of an output, exactly as the contract shapes it.
pub fn json(output: &Output) -> String {
    let value = match output {
        Output::Status(r) => serde_json::to_value(r),
        Output::Verify(r) => serde_json::to_value(r),
        Output::Renew(r) => serde_json::to_value(r),
        Output::Rollback(r) => serde_json::to_value(r),
        Output::Backups(r) => serde_json::to_value(r),
        Output::Sandbox(r) => serde_json::to_value(r),
        Output::Csr(r) => serde_json::to_value(r),
        Output::Demo(r) => serde_json::to_value(r),
    };
    value
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|e| {
            format!("{{\"error\": \"cannot render JSON: {e}\", \"kind\": \"internal\"}}")
        })
}

/// The JSON error document of the contract.
pub fn json_error(error: &Error) -> String {
    serde_json::json!({ "error": error.message, "kind": error.kind.name() }).to_string()
}

/// The prompter for `--yes`, `--json` and scripts: asks nothing, takes defaults, warns on stderr.
pub struct Plain(pub renew::Silent);

impl Prompter for Plain {
    fn observer(&mut self) -> &mut dyn Observer {
        &mut self.0
    }
    fn warn(&mut self, message: &str) {
        eprintln!("icg-renew: warning: {message}");
    }
}
