//! UTC times as the contract writes them (RFC 3339, and the compact form in backup names) and the clock that
//! every command is handed, so that no test depends on today's date.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Seconds since the Unix epoch, UTC.
pub type UnixTime = i64;

/// The current time, injectable for tests.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: UnixTime,
}

impl Clock {
    pub fn system() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Clock { now }
    }

    pub fn at(now: UnixTime) -> Self {
        Clock { now }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
const RFC3339_UTC: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// `YYYYMMDDTHHMMSSZ`, the compact form used in backup file names.
const COMPACT_UTC: &[BorrowedFormatItem<'_>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(t: UnixTime) -> String {
    format_utc(t, RFC3339_UTC)
}

/// `YYYYMMDDTHHMMSSZ`, the compact form used in backup file names.
pub fn compact_utc(t: UnixTime) -> String {
    format_utc(t, COMPACT_UTC)
}

/// Parses `compact_utc` back; `None` for anything that is not a real calendar time in that form.
pub fn parse_compact_utc(text: &str) -> Option<UnixTime> {
    // The calendar crate accepts a sign before the year; the backup names never have one.
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    PrimitiveDateTime::parse(text, COMPACT_UTC)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Formats a Unix time in UTC. X.509 times lie within the years 0 to 9999 that the calendar covers; a value
/// outside (which no certificate can hold) is shown as the nearest time it covers.
fn format_utc(t: UnixTime, format: &[BorrowedFormatItem<'_>]) -> String {
    let earliest = PrimitiveDateTime::MIN.assume_utc().unix_timestamp();
    let latest = PrimitiveDateTime::MAX.assume_utc().unix_timestamp();
    OffsetDateTime::from_unix_timestamp(t.clamp(earliest, latest))
        .ok()
        .and_then(|time| time.format(format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_780_800), "2026-11-27T12:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(compact_utc(1_795_780_800), "20261127T120000Z");
        assert_eq!(parse_compact_utc("20261127T120000Z"), Some(1_795_780_800));
        assert_eq!(parse_compact_utc("20261327T120000Z"), None);
    }

    #[test]
    fn parsing_refuses_days_the_calendar_does_not_have() {
        assert_eq!(parse_compact_utc("20261130T000000Z"), Some(1_795_996_800));
        assert_eq!(parse_compact_utc("20261131T000000Z"), None);
        assert_eq!(parse_compact_utc("20260229T000000Z"), None);
        assert_eq!(parse_compact_utc("20280229T000000Z"), Some(1_835_395_200));
        assert_eq!(parse_compact_utc("21000229T000000Z"), None);
        assert_eq!(parse_compact_utc("20000229T000000Z"), Some(951_782_400));
        assert_eq!(parse_compact_utc("20260100T000000Z"), None);
        assert_eq!(parse_compact_utc("20261127T240000Z"), None);
        assert_eq!(parse_compact_utc("20261127T126000Z"), None);
        assert_eq!(parse_compact_utc("20261127T120060Z"), None);
    }

    #[test]
    fn parsing_refuses_other_shapes() {
        for text in [
            "",
            "20261127T120000",
            "20261127T120000Z ",
            "20261127 120000Z",
            "2026-11-27T12:00:00Z",
            "+20261127T120000Z",
            "-20261127T120000Z",
            "2026112T7120000Z",
            "２0261127T120000Z",
        ] {
            assert_eq!(parse_compact_utc(text), None, "{text:?}");
        }
    }

    #[test]
    fn formatting_round_trips_and_covers_every_certificate_year() {
        for t in [0, 951_782_400, 1_795_780_800, -1, 253_402_300_799] {
            assert_eq!(parse_compact_utc(&compact_utc(t)), Some(t), "{t}");
        }
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-62_167_219_200), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
    }
}
