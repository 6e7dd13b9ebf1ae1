//! How names from outside (file names, aliases, restart commands) are shown to a person: control characters
//! escaped in every message, log line and terminal line, and words shell-quoted in every command printed for
//! someone to paste. JSON needs neither: serde_json escapes control characters itself.

use std::ffi::OsStr;
use std::path::Path;

/// Makes [`path`] callable as a method in the many messages that name a file.
pub trait Shown {
    /// The path with control characters escaped (`\n`, `\u{1b}`), safe inside one line of text.
    fn shown(&self) -> String;
}

impl<T: AsRef<Path> + ?Sized> Shown for T {
    fn shown(&self) -> String {
        path(self.as_ref())
    }
}

/// A path for a message: lossy UTF-8, every control character escaped.
pub fn path(path: &Path) -> String {
    text(&path.to_string_lossy())
}

/// Text for a message: every control character (newline included) escaped as Rust writes it.
pub fn text(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Outside text for a message, escaped and cut to `max` characters (with `…` when cut).
pub fn short(outside: &str, max: usize) -> String {
    let mut cut: String = outside.chars().take(max).collect();
    if cut.len() < outside.len() {
        cut.push('…');
    }
    text(&cut)
}

/// Text about to reach a terminal or a log: control characters escaped except line breaks, tabs and the
/// colour sequences (`ESC [ digits ; m`) the interface itself writes. A backstop behind [`text`]: a name
/// that reached a message unescaped still cannot move the cursor, erase a line or retitle the terminal.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\u{1b}' {
            if let Some(len) = colour_sequence(&text[i..]) {
                out.push_str(&text[i..i + len]);
                while chars.peek().is_some_and(|(j, _)| *j < i + len) {
                    chars.next();
                }
                continue;
            }
        }
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON document with the control characters serde_json leaves raw (DEL and the C1 range, which can only
/// stand inside strings) written as `\u00XX` escapes: still the same JSON, and nothing raw on a terminal.
pub fn json(document: &str) -> String {
    document
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The length of a colour sequence (SGR: `ESC [` digits and `;`, then `m`) at the start of `text`.
fn colour_sequence(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("\u{1b}[")?;
    let params = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (rest.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// One word of a command line, quoted for the shell an operator pastes into (bash) so that pasting it
/// yields exactly this word; without control characters the quoting is POSIX and any `sh` reads it. Words without control characters go through the `shlex` crate; a word with a control
/// character (a newline in a file name) is written as bash's `$'…'`, since quoting it raw would put the
/// control character itself on the screen.
pub fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    if word.chars().any(char::is_control) {
        let mut out = String::from("$'");
        for c in word.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if (c as u32) < 0x80 && c.is_control() => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    // try_quote fails only on a NUL byte, which neither a path nor an argument can hold.
    shlex::try_quote(&word)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| "''".into())
}

/// A whole command line, each word quoted with [`quote`].
pub fn command<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    words
        .into_iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_others_are_quoted() {
        let q = |w: &str| quote(OsStr::new(w));
        assert_eq!(q("/opt/IGEL/icg"), "/opt/IGEL/icg");
        assert_eq!(q("/tmp/a b"), "'/tmp/a b'");
        for word in ["it's", "$HOME", "a;b", "-x y"] {
            assert_eq!(shlex::split(&q(word)).unwrap(), vec![word.to_string()]);
        }
        assert_eq!(q("a\nb"), "$'a\\x0ab'");
    }

    #[test]
    fn control_characters_are_escaped_and_colours_kept() {
        assert_eq!(text("a\nb\u{1b}[2Kc"), "a\\nb\\u{1b}[2Kc");
        assert_eq!(
            for_terminal("\u{1b}[32mPASS\u{1b}[0m x\u{1b}]0;t\u{7}\n"),
            "\u{1b}[32mPASS\u{1b}[0m x\\u{1b}]0;t\\u{7}\n"
        );
    }

    #[test]
    fn quoted_words_come_back_whole_through_bash() {
        let hostile = "ks$(touch /tmp/x)`id`'\"\n;.jks";
        let line = command(["printf", "%s", hostile]);
        assert!(!line.chars().any(char::is_control), "{line}");
        let out = std::process::Command::new("bash")
            .args(["-c", &line])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), hostile);
        assert_eq!(quote(OsStr::new("plain/path.jks")), "plain/path.jks");
    }
}
