//! At the operator's hour: the spool of scheduled renewals (`/var/lib/icg-renew/scheduled/`, root's, 0700)
//! and the times they run at. One renewal is a handful of files `<id>.<part>`, all root's, mode 0600, one
//! link: `new` (the material as it was given), `key`, `chain` and `password` when it had them, and `json`
//! (written last: when and how it was scheduled, the new leaf, and the renew options to run it with).
//! The `json` names its [`FORMAT`]; paths and options in it are the bytes of the operating system's
//! strings, in hex, so that any path (not only UTF-8) comes back byte for byte. An entry of another format
//! is refused (and can be cancelled), never guessed at.
//!
//! Safety: the spool is resolved once under [`Trust::ROOT`] and held; every read, write and removal goes
//! through its descriptor, never through a link. An entry the tool did not write — another owner, another
//! mode, a link, a FIFO, a second hard link, a name it does not know — is refused and listed as such, and
//! never run.

use crate::error::{Error, FileError, Result};
use crate::fsx::{self, SafeDir, Trust};
use crate::utc::UnixTime;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// Where the spool is.
pub const DEFAULT_DIR: &str = "/var/lib/icg-renew/scheduled";
/// A time missed by more than this (the host was off) moves to the same time the next day.
pub const MISSED_AFTER: i64 = 12 * 3600;
const DAY: i64 = 24 * 3600;
/// The parts of an entry, by file suffix.
pub const PARTS: [&str; 5] = ["json", "new", "key", "chain", "password"];
/// The most a spooled file may hold.
const MAX_PART: u64 = 16 << 20;
/// The version of the `json` part this icg-renew writes and reads. 1 (no `format` field) kept paths and
/// options as UTF-8 text, which altered any other path.
pub const FORMAT: u32 = 2;

/// What is kept of one scheduled renewal (its `json` part).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Always [`FORMAT`].
    pub format: u32,
    pub id: String,
    /// When it runs (Unix seconds).
    pub at: UnixTime,
    /// When, and by which command, it was scheduled.
    pub scheduled: UnixTime,
    pub how: String,
    #[serde(with = "hex_path")]
    pub keystore: PathBuf,
    /// The new leaf.
    pub new_sha256: String,
    pub new_not_after: String,
    /// The `renew` options it runs with (global options, `renew`, its options; no material, no password).
    #[serde(with = "hex_args")]
    pub args: Vec<OsString>,
    /// Which parts besides `json` and `new` it has (`key`, `chain`, `password`).
    pub parts: Vec<String>,
}

/// A spool entry that is not run, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refused {
    pub name: String,
    pub why: String,
    /// The id of a whole entry whose files the tool wrote but cannot run (incomplete, another format):
    /// `scheduled --cancel` may remove it.
    #[serde(skip)]
    pub id: Option<String>,
}

/// Bytes as lower-case hex.
fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex back to bytes.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// A path as the hex of its bytes.
mod hex_path {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::PathBuf;

    pub fn serialize<S: Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(path.as_os_str().as_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = super::from_hex(&text).ok_or_else(|| D::Error::custom("not hex"))?;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
}

/// Arguments as the hex of their bytes.
mod hex_args {
    use serde::{de::Error, ser::SerializeSeq, Deserialize, Deserializer, Serializer};
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};

    pub fn serialize<S: Serializer>(args: &[OsString], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(args.len()))?;
        for arg in args {
            seq.serialize_element(&super::to_hex(arg.as_bytes()))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OsString>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|text| {
                super::from_hex(text)
                    .map(OsString::from_vec)
                    .ok_or_else(|| D::Error::custom("not hex"))
            })
            .collect()
    }
}

/// Parses `--at`: `HH:MM` is the next such local time after `now` (today or tomorrow); anything else must
/// be an RFC 3339 time, and not in the past.
pub fn parse_when(text: &str, now: UnixTime) -> std::result::Result<UnixTime, String> {
    use chrono::{Local, NaiveTime, TimeZone};
    if let Ok(time) = NaiveTime::parse_from_str(text, "%H:%M") {
        let today = Local
            .timestamp_opt(now, 0)
            .single()
            .ok_or("the local time now is ambiguous")?
            .date_naive();
        for day in [today, today.succ_opt().unwrap_or(today)] {
            let at = Local
                .from_local_datetime(&day.and_time(time))
                .earliest()
                .map(|t| t.timestamp());
            if let Some(at) = at.filter(|at| *at > now) {
                return Ok(at);
            }
        }
        return Err(format!("{text} does not exist in the local time zone"));
    }
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|_| {
            format!("{text} is neither HH:MM nor an RFC 3339 time (2026-12-07T02:30:00+01:00)")
        })?
        .timestamp();
    if at <= now {
        return Err(format!("{text} is in the past"));
    }
    Ok(at)
}

/// When an entry for `at` runs, seen at `now`: `(at, false)` as scheduled, or `(later, true)` when `at` was
/// missed by more than [`MISSED_AFTER`] and moves, a day at a time, to the same time of a later day.
pub fn when_due(at: UnixTime, now: UnixTime) -> (UnixTime, bool) {
    if now - at <= MISSED_AFTER {
        return (at, false);
    }
    let days = (now - at - MISSED_AFTER + DAY - 1) / DAY;
    let mut moved = at + days * DAY;
    if moved <= now - MISSED_AFTER {
        moved += DAY;
    }
    (moved, true)
}

/// A fresh entry id: 16 hex digits from the time and the process.
pub fn new_id(now: UnixTime) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{:08x}{:08x}",
        now as u32,
        nanos ^ (std::process::id() << 20)
    )
}

/// The spool, resolved once and held.
#[derive(Debug)]
pub struct Spool {
    pub dir: SafeDir,
}

impl Spool {
    /// Opens the spool at `path`, creating it (0700) when missing; as root it must be root's alone.
    pub fn open(path: &Path) -> Result<Spool> {
        let at = fsx::resolve_parent(path, Trust::ROOT)?;
        let dir = at.dir.subdir(&at.name, 0o700)?;
        dir.check_private("the schedule directory")?;
        let stat = dir.stat()?;
        if rustix::process::geteuid().is_root() && stat.st_mode & 0o077 != 0 {
            return Err(Error::File(FileError::UnsafeDirectory {
                role: "the schedule directory".to_string(),
                dir: dir.path.clone(),
                risk: crate::error::DirectoryRisk::WorldWritable,
            }));
        }
        Ok(Spool { dir })
    }

    /// The spool at `path` when it exists and can be read, for `status`: never created, and any problem is
    /// `None` (the status of the certificate does not depend on it).
    pub fn find(path: &Path) -> Option<Spool> {
        let at = fsx::resolve_parent(path, Trust::ROOT).ok()?;
        if !at.dir.is_directory(&at.name) || at.dir.is_link(&at.name) {
            return None;
        }
        let dir = at.dir.subdir(&at.name, 0o700).ok()?;
        dir.check_private("the schedule directory").ok()?;
        Some(Spool { dir })
    }

    fn name(id: &str, part: &str) -> OsString {
        OsString::from(format!("{id}.{part}"))
    }

    /// Keeps `entry` with its `files` (part, bytes): every part first, the `json` last.
    pub fn add(&self, entry: &Entry, files: &[(&str, &[u8])]) -> Result<()> {
        for (part, data) in files {
            self.dir.write_private(
                &Self::name(&entry.id, part),
                data,
                "keep the scheduled material",
            )?;
        }
        let json = serde_json::to_vec_pretty(entry).unwrap_or_default();
        self.dir.write_private(
            &Self::name(&entry.id, "json"),
            &json,
            "keep the scheduled renewal",
        )?;
        self.dir.sync()
    }

    /// Writes `entry`'s `json` again (a time moved to the next day).
    pub fn update(&self, entry: &Entry) -> Result<()> {
        let json = serde_json::to_vec_pretty(entry).unwrap_or_default();
        self.dir.replace(
            &Self::name(&entry.id, "json"),
            &json,
            0o600,
            "keep the scheduled renewal",
        )
    }

    /// Every entry, by time, and every file in the spool that is refused.
    pub fn list(&self) -> Result<(Vec<Entry>, Vec<Refused>)> {
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut refused = Vec::new();
        for name in self.dir.names()? {
            let shown = crate::shown::text(&name.to_string_lossy());
            match self.judge(&name) {
                Ok((id, part)) => by_id.entry(id).or_default().push(part),
                Err(why) => refused.push(Refused {
                    name: shown,
                    why,
                    id: None,
                }),
            }
        }
        let mut entries = Vec::new();
        for (id, parts) in by_id {
            let entry = if parts.iter().any(|p| p == "new") {
                self.entry(&id, parts.iter().any(|p| p == "json"))
            } else {
                Err("an incomplete entry (no material)".to_string())
            };
            match entry {
                Ok(entry) => entries.push(entry),
                Err(why) => refused.push(Refused {
                    name: format!("{id}.*"),
                    why: format!("{why}; `icg-renew scheduled --cancel {id}` removes it"),
                    id: Some(id),
                }),
            }
        }
        entries.sort_by_key(|e| e.at);
        Ok((entries, refused))
    }

    /// The `json` part of entry `id` (`has_json`: the file is there), or why it cannot be run.
    fn entry(&self, id: &str, has_json: bool) -> std::result::Result<Entry, String> {
        let unreadable = || "an incomplete entry (no readable json)".to_string();
        if !has_json {
            return Err(unreadable());
        }
        let data = self.read(id, "json").map_err(|_| unreadable())?;
        parse_entry(&data, id)
    }

    /// `(id, part)` of a file the tool writes, or why `name` is not one.
    fn judge(&self, name: &OsStr) -> std::result::Result<(String, String), String> {
        let text = name.to_str().ok_or("a name icg-renew does not write")?;
        let (id, part) = text
            .split_once('.')
            .filter(|(id, part)| {
                id.len() == 16
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                    && PARTS.contains(part)
            })
            .ok_or("a name icg-renew does not write")?;
        let stat = self.dir.stat_of(name).ok_or("it vanished")?;
        let kind = stat.st_mode & 0o170000;
        if kind == 0o120000 {
            return Err("a symbolic link".to_string());
        }
        if kind != 0o100000 {
            return Err("not a regular file (a FIFO, a device or a directory)".to_string());
        }
        let me = rustix::process::geteuid().as_raw();
        if stat.st_uid != me {
            return Err(format!("owned by uid {}, not by uid {me}", stat.st_uid));
        }
        if stat.st_mode & 0o777 != 0o600 {
            return Err(format!("mode {:04o}, not 0600", stat.st_mode & 0o777));
        }
        if stat.st_nlink != 1 {
            return Err(format!("{} hard links", stat.st_nlink));
        }
        Ok((id.to_string(), part.to_string()))
    }

    /// The part `part` of entry `id`.
    pub fn read(&self, id: &str, part: &str) -> Result<Vec<u8>> {
        self.dir
            .read(
                &Self::name(id, part),
                MAX_PART,
                "read the scheduled renewal",
            )
            .map(|(data, _)| data)
    }

    /// The path of part `part` of entry `id`.
    pub fn path(&self, id: &str, part: &str) -> PathBuf {
        self.dir.join(&Self::name(id, part))
    }

    /// Removes entry `id`, each part overwritten first (the material and its password).
    pub fn remove(&self, id: &str) -> Result<()> {
        for part in PARTS.iter().rev() {
            let name = Self::name(id, part);
            if let Some((meta, true)) = self.dir.meta_of(&name) {
                self.dir
                    .shred(&name, meta.id, "remove the scheduled renewal")?;
            }
        }
        self.dir.sync()
    }
}

/// The `json` part of spool entry `id` as read from its file (`data`), or why it cannot be run: not JSON of
/// this spool format, or an entry of another id.
pub fn parse_entry(data: &[u8], id: &str) -> std::result::Result<Entry, String> {
    let unreadable = || "an incomplete entry (no readable json)".to_string();
    let value: serde_json::Value = serde_json::from_slice(data).map_err(|_| unreadable())?;
    let format = value.get("format").and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(FORMAT)) {
        return Err(format!(
            "written by another icg-renew (spool format {}; this one reads {FORMAT}): schedule it again",
            format.unwrap_or(1)
        ));
    }
    serde_json::from_value::<Entry>(value)
        .ok()
        .filter(|e| e.id == id)
        .ok_or_else(unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_missed_by_more_than_twelve_hours_moves_to_the_next_day() {
        let at = 1_800_000_000;
        assert_eq!(when_due(at, at - 60), (at, false));
        assert_eq!(when_due(at, at), (at, false));
        assert_eq!(when_due(at, at + MISSED_AFTER), (at, false));
        assert_eq!(when_due(at, at + MISSED_AFTER + 1), (at + DAY, true));
        assert_eq!(when_due(at, at + 3 * DAY), (at + 3 * DAY, true));
        assert_eq!(
            when_due(at, at + 3 * DAY + MISSED_AFTER + 1),
            (at + 4 * DAY, true)
        );
    }

    #[test]
    fn an_entry_keeps_any_path_and_option_byte_for_byte() {
        use std::os::unix::ffi::OsStrExt;
        let odd = |bytes: &[u8]| OsStr::from_bytes(bytes).to_os_string();
        let entry = Entry {
            format: FORMAT,
            id: "0123456789abcdef".into(),
            at: 1_800_000_000,
            scheduled: 1_799_990_000,
            how: "renew --at".into(),
            keystore: PathBuf::from(odd(b"/srv/keys-\xff\xfe/keystore.jks")),
            new_sha256: "AB:CD".into(),
            new_not_after: "2027-12-07T02:16:35Z".into(),
            args: vec![odd(b"--log-file"), odd(b"/var/log/\x80.log"), odd(b"")],
            parts: vec!["key".into()],
        };
        let json = serde_json::to_vec(&entry).unwrap();
        assert!(std::str::from_utf8(&json).is_ok());
        assert_eq!(serde_json::from_slice::<Entry>(&json).unwrap(), entry);
        assert_eq!(from_hex("2d2dff"), Some(vec![0x2d, 0x2d, 0xff]));
        assert_eq!(from_hex("2d2"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("+1"), None);
    }

    #[test]
    fn an_rfc3339_time_in_the_past_is_refused() {
        let now = 1_800_000_000;
        assert!(parse_when("2020-01-01T00:00:00Z", now).is_err());
        assert_eq!(
            parse_when("2027-01-15T08:00:00Z", now - 10),
            Ok(1_800_000_000)
        );
        assert!(parse_when("tomorrow", now).is_err());
        let next = parse_when("02:30", now).unwrap();
        assert!(next > now && next <= now + DAY);
    }
}
