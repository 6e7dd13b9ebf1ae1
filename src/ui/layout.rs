//! Text layout for the terminal: the width text is fitted to, word wrapping that never breaks a path or a
//! fingerprint, hanging indents, label/value rows and shell commands broken over lines.

use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) const LABEL_WIDTH: usize = 14;
pub(crate) const COLUMN_CAP: usize = 46;
/// Where a labelled value starts: two spaces and the label column.
pub(crate) const VALUE_INDENT: usize = 2 + LABEL_WIDTH;
/// The narrowest terminal text is fitted to; a narrower one wraps by itself.
pub(crate) const MIN_COLUMNS: usize = 40;

/// The width of the terminal the text goes to; 0: no terminal, nothing is wrapped.
pub(crate) static COLUMNS: AtomicUsize = AtomicUsize::new(0);

/// Fits everything rendered from now on to a terminal `columns` wide; `None` (no terminal): no width is
/// assumed and nothing is wrapped.
pub fn fit_to(columns: Option<usize>) {
    COLUMNS.store(columns.unwrap_or(0), Ordering::Relaxed);
}

/// The terminal's width, when the text goes to one.
pub fn columns() -> Option<usize> {
    match COLUMNS.load(Ordering::Relaxed) {
        0 => None,
        n => Some(n.max(MIN_COLUMNS)),
    }
}

/// Splits `text` into lines of at most `width` characters (`first` for the first line, after a longer
/// prefix), breaking after spaces, commas and slashes; a piece still longer than the width breaks after
/// its colons (a fingerprint between two bytes, never inside one). A piece without any such break stays
/// whole on its own line. Without a width, the text stays one line.
pub(crate) fn wrap_after(text: &str, first: Option<usize>, width: Option<usize>) -> Vec<String> {
    let (Some(first), Some(width)) = (first, width) else {
        return vec![text.to_string()];
    };
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        piece.push(c);
        if matches!(c, ' ' | ',' | '/') {
            pieces.push(std::mem::take(&mut piece));
        }
    }
    pieces.push(piece);
    let pieces: Vec<String> = pieces
        .into_iter()
        .flat_map(|piece| {
            if piece.trim_end().chars().count() > width {
                piece.split_inclusive(':').map(str::to_string).collect()
            } else {
                vec![piece]
            }
        })
        .collect();
    let mut lines = vec![String::new()];
    for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
        let limit = if lines.len() == 1 { first } else { width };
        let line = lines.last_mut().expect("one line at least");
        let fits = line.chars().count() + piece.trim_end().chars().count() <= limit;
        if fits || line.is_empty() {
            line.push_str(&piece);
        } else {
            lines.push(piece.trim_start().to_string());
        }
    }
    lines.iter().map(|l| l.trim_end().to_string()).collect()
}

/// `text` after a first-line `prefix`, wrapped to the terminal with the next lines indented to `indent`.
pub fn hanging(prefix: &str, text: &str, indent: usize) -> String {
    let width = columns().map(|c| c.saturating_sub(indent).max(20));
    let first = columns().map(|c| {
        c.saturating_sub(console::measure_text_width(prefix))
            .max(20)
    });
    let mut out = String::new();
    for (n, line) in wrap_after(text, first, width).iter().enumerate() {
        if n == 0 {
            let _ = writeln!(out, "{prefix}{line}");
        } else {
            let _ = writeln!(out, "{:indent$}{line}", "");
        }
    }
    out
}

/// A paragraph wrapped to the terminal, every line indented by `indent`.
pub fn paragraph(text: &str, indent: usize) -> String {
    hanging(&" ".repeat(indent), text, indent)
}

/// Text for a terminal with every line that is too wide wrapped, its next lines indented two more than it:
/// the safety net behind the renderers that fit their own layout. Without a terminal, the text as it is.
pub fn fit(text: &str) -> String {
    let Some(columns) = columns() else {
        return text.to_string();
    };
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if console::measure_text_width(bare) <= columns {
            out.push_str(line);
            continue;
        }
        let indent = bare.len() - bare.trim_start().len();
        let first = Some(columns.saturating_sub(indent).max(20));
        let rest = Some(columns.saturating_sub(indent + 2).max(20));
        for (n, part) in wrap_after(bare.trim_start(), first, rest)
            .iter()
            .enumerate()
        {
            let pad = if n == 0 { indent } else { indent + 2 };
            let _ = writeln!(out, "{:pad$}{part}", "");
        }
    }
    out
}

/// `  Label         value`, the value wrapped in its column.
pub(crate) fn row(out: &mut String, label: &str, value: &str) {
    out.push_str(&hanging(
        &format!("  {label:<LABEL_WIDTH$}"),
        value,
        VALUE_INDENT,
    ));
}

/// A fingerprint after `prefix` (label and title) when it fits there; else on the next line, indented,
/// and where it does not fit there either, in two halves at the colon between them. Always with its
/// colons, as the JSON and every other view write it; never split inside a byte.
pub(crate) fn fingerprint_row(out: &mut String, prefix: &str, fingerprint: &str) {
    let width = console::measure_text_width(prefix) + fingerprint.len();
    match columns() {
        Some(columns) if width > columns => {
            let _ = writeln!(out, "{}", prefix.trim_end());
            let half = fingerprint
                .match_indices(':')
                .map(|(i, _)| i + 1)
                .nth(fingerprint.matches(':').count() / 2);
            match half {
                Some(at) if 4 + fingerprint.len() > columns => {
                    let (first, second) = fingerprint.split_at(at);
                    let _ = writeln!(out, "    {first}\n    {second}");
                }
                _ => {
                    let _ = writeln!(out, "    {fingerprint}");
                }
            }
        }
        _ => {
            let _ = writeln!(out, "{prefix}{fingerprint}");
        }
    }
}

/// `text` cut to `max` characters by an ellipsis, keeping a third of them from its start and two thirds
/// from its end (a path's file name); unchanged when it fits.
pub(crate) fn shorten_middle(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max || max < 5 {
        return text.to_string();
    }
    let keep_end = (max - 1) * 2 / 3;
    let keep_start = max - 1 - keep_end;
    let start: String = text.chars().take(keep_start).collect();
    let end: String = text.chars().skip(count - keep_end).collect();
    format!("{start}…{end}")
}

/// Two fingerprints (`label`: which digest) under each other, titled and aligned, both on the title's line
/// or both below it.
pub(crate) fn fingerprint_pair(
    out: &mut String,
    label: &str,
    left: (&str, &str),
    right: (&str, &str),
) {
    let width = left.0.len().max(right.0.len()) + 1;
    let left_title = format!("{}:", left.0);
    let right_title = format!("{}:", right.0);
    fingerprint_row(
        out,
        &format!("  {:<LABEL_WIDTH$}{left_title:<width$} ", label),
        left.1,
    );
    fingerprint_row(
        out,
        &format!("  {:<LABEL_WIDTH$}{right_title:<width$} ", ""),
        right.1,
    );
}

/// A command for a person to type, after `prefix`: one line, or on a terminal too narrow for it, broken
/// between its words with a backslash at each line's end, so that pasting it still runs it.
pub fn command_line(prefix: &str, command: &str) -> String {
    let fits = columns().is_none_or(|c| console::measure_text_width(prefix) + command.len() <= c);
    let words = shlex::split(command).filter(|_| !fits);
    let Some(words) = words else {
        return format!("{prefix}{command}\n");
    };
    let columns = columns().unwrap_or(usize::MAX);
    let quoted: Vec<String> = words
        .iter()
        .map(|w| icg_renew::shown::quote(std::ffi::OsStr::new(w)))
        .collect();
    let mut lines = vec![prefix.to_string()];
    for word in quoted {
        let line = lines.last_mut().expect("one line at least");
        let used = console::measure_text_width(line);
        if used + 1 + word.len() + 2 > columns
            && !line.trim().is_empty()
            && line.trim() != prefix.trim()
        {
            line.push_str(" \\");
            lines.push(format!("    {word}"));
        } else {
            if !line.is_empty() && !line.ends_with(' ') {
                line.push(' ');
            }
            line.push_str(&word);
        }
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_after_spaces_commas_and_slashes_and_never_inside_a_long_piece() {
        assert_eq!(
            wrap_after(
                "CN=icg.sandbox.test,O=icg-renew sandbox",
                Some(20),
                Some(20)
            ),
            ["CN=icg.sandbox.test,", "O=icg-renew sandbox"]
        );
        // A fingerprint longer than the line breaks between bytes; a piece without a break stays whole.
        let fingerprint = "AB:".repeat(31) + "AB";
        let lines = wrap_after(&fingerprint, Some(20), Some(20));
        assert_eq!(lines.concat(), fingerprint);
        assert!(lines
            .iter()
            .all(|l| l.len() <= 20 && l.split(':').all(|b| b.len() <= 2)));
        let hex = "AB".repeat(32);
        assert_eq!(wrap_after(&hex, Some(20), Some(20)), [hex]);
        assert_eq!(wrap_after("one two", None, None), ["one two"]);
        assert_eq!(wrap_after("aa bb cc", Some(2), Some(5)), ["aa", "bb cc"]);
    }

    #[test]
    fn a_long_name_keeps_its_start_and_end() {
        assert_eq!(shorten_middle("/short", 10), "/short");
        assert_eq!(
            shorten_middle("/opt/a/very/long/name.p12", 15),
            "/opt/…/name.p12"
        );
        assert_eq!(
            shorten_middle("/opt/a/very/long/name.p12", 15)
                .chars()
                .count(),
            15
        );
    }
}
