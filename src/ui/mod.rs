//! Everything the operator sees: the renderers (human text and the contract's JSON) and the prompters that
//! stand between `commands` and a person. Decides nothing.

pub mod compare;
pub mod human;
pub mod layout;
pub mod prompts;
pub mod terminal;

use icg_renew::error::ErrorKind;
use icg_renew::report::Output;

/// Writes to stdout. A terminal that went away (an SSH drop) or a closed pipe must not kill the process:
/// a renewal may be between the rename and its confirmation. Nothing printed matters more than finishing.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(icg_renew::shown::for_terminal(text).as_bytes());
    let _ = stdout.flush();
}

/// Writes a line to stderr, ignoring a terminal that went away (see `out`).
pub fn err_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "{}",
        icg_renew::shown::for_terminal(text)
    );
}

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
        Output::Inbox(r) => serde_json::to_value(r),
        Output::Scheduled(r) => serde_json::to_value(r),
    };
    let text = value
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|e| {
            format!("{{\"error\": \"cannot render JSON: {e}\", \"kind\": \"internal\"}}")
        });
    icg_renew::shown::json(&text)
}

/// The JSON error document of the contract: the error's line as the operator reads it (`message`, with the
/// command-line fix the command layer added) and its kind.
pub fn json_error(message: &str, kind: ErrorKind) -> String {
    icg_renew::shown::json(
        &serde_json::json!({ "error": message, "kind": kind.name() }).to_string(),
    )
}
