//! `install::parse_config`: application-prod.yml as UTF-8 text (other input is skipped, as `read_config`
//! refuses it before parsing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = icg_renew::install::parse_config(text);
    }
});
