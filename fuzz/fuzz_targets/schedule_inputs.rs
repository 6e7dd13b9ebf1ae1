//! The inputs of a scheduled renewal: `--at`'s text as a hook or an operator passes it
//! (`schedule::parse_when`, against a fixed now), and a spool entry's `json` part as read from the spool
//! (`schedule::parse_entry`). The input is split at its first newline: the time text (UTF-8, lossy), then
//! the entry. A time that parses must lie after now and within the two days a local time can move; an
//! entry that parses must serialise and parse again to the same entry (paths and options byte for byte).
#![no_main]

use icg_renew::schedule;
use libfuzzer_sys::fuzz_target;

/// 2026-12-07T02:30:00Z: a fixed now, so that a finding replays.
const NOW: i64 = 1_796_610_600;
const ID: &str = "0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let (when, entry) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(at) = schedule::parse_when(&String::from_utf8_lossy(when), NOW) {
        assert!(at > NOW, "a time not after now: {at}");
    }
    if let Ok(parsed) = schedule::parse_entry(entry, ID) {
        let again = serde_json::to_vec(&parsed).expect("an entry serialises");
        assert_eq!(schedule::parse_entry(&again, ID), Ok(parsed));
    }
});
