//! `service::judge_answer`: the gateway's answer to `GET /usg/check-status`, status line, headers and a plain
//! or chunked body, as the ICG's service account could send it (bounded to 16 KiB by the reader, as here).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let answer = &data[..data.len().min(16 * 1024)];
    let judged = icg_renew::service::judge_answer(answer);
    // Whatever it says is shown to the operator: it must hold no raw control character.
    if let icg_renew::service::StatusAnswer::Unclear(text) = judged {
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }
});
