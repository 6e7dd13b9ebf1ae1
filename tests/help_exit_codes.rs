//! Every exit code of the contract is in `--help` (0–5, and status's 0–3), for each command that can end
//! with it, and so in the man pages clap_mangen renders from the same definitions
//! (`examples/gen-docs.rs`). Asked of the real binary.

use assert_cmd::Command;

fn help(args: &[&str]) -> String {
    let output = Command::cargo_bin("icg-renew")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn assert_lists(text: &str, codes: &[(&str, &str)]) {
    for (code, words) in codes {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{code}  ")) && l.contains(words))
            .unwrap_or_else(|| panic!("no line for exit code {code} ({words}) in:\n{text}"));
        assert!(line.starts_with("  "), "{line}");
    }
}

const RENEW_CODES: [(&str, &str); 6] = [
    ("0", "success"),
    ("1", "error"),
    ("2", "usage"),
    ("3", "incompatible"),
    ("4", "backup was restored"),
    ("5", "rollback failed"),
];
const STATUS_CODES: [(&str, &str); 4] = [
    ("0", "OK"),
    ("1", "WARNING"),
    ("2", "CRITICAL"),
    ("3", "UNKNOWN"),
];

#[test]
fn top_level_help_lists_every_exit_code() {
    let text = help(&["--help"]);
    assert_lists(&text, &RENEW_CODES);
    assert_lists(&text, &STATUS_CODES);
}

#[test]
fn renew_rollback_and_verify_help_list_exit_codes_0_to_5() {
    for command in ["renew", "rollback", "verify"] {
        assert_lists(&help(&[command, "--help"]), &RENEW_CODES);
    }
}

#[test]
fn status_help_lists_the_plugin_exit_codes() {
    assert_lists(&help(&["status", "--help"]), &STATUS_CODES);
}

/// The man page of `renew` is rendered from the same help text: the long lines of codes 4 and 5 are whole
/// in it, not cut to a summary.
#[test]
fn renew_help_explains_exit_codes_4_and_5_in_full() {
    let text = help(&["renew", "--help"]);
    assert!(
        text.contains("confirmed to serve the old certificate again"),
        "{text}"
    );
    assert!(text.contains("what to do by hand"), "{text}");
}
