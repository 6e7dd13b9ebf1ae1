//! Ctrl-C, SIGTERM and SIGHUP, turned into a flag and answered within a second. A watcher thread looks at the
//! flag ten times a second and says what happens next, by the phase the run is in:
//! - nothing changed yet (reading, checking, any prompt): it restores the terminal, says "nothing was
//!   changed" and exits with 130 at once;
//! - the renewal has started but the keystore is not yet replaced: the transaction stops at its next check
//!   with nothing changed, and the watcher says so right away;
//! - the keystore is replaced, or a backup is being restored: the renewal (or its rollback) carries on to a
//!   consistent end, and the watcher says so right away, even while a slow restart command runs.
//! - `csr` writes its request and pending key: the writing finishes, and the watcher says so.
//!
//! Only the first answer of each phase is printed. Nothing here kills a child or stops a transaction.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Where a run is, as far as an interruption is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Nothing was changed: an interruption ends the run at once.
    Unchanged = 0,
    /// A renewal runs, the keystore is not replaced yet: it stops before the replacement.
    Renewing = 1,
    /// The keystore was replaced: the renewal finishes or rolls back.
    Replaced = 2,
    /// A backup is being restored (`rollback`): it finishes.
    Restoring = 3,
    /// Files of icg-renew's own are being written (`csr`): the writing finishes.
    Writing = 4,
}

static PHASE: AtomicU8 = AtomicU8::new(Phase::Unchanged as u8);
/// The phase whose answer was printed, plus one (0: none yet).
static TOLD: AtomicU8 = AtomicU8::new(0);
static STOPPING: AtomicBool = AtomicBool::new(false);

/// How often the watcher looks at the flag: well within the second an answer may take.
const WATCH_EVERY: Duration = Duration::from_millis(100);

fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Catches SIGINT, SIGTERM and SIGHUP from now on (once; later calls do nothing).
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        for signal in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            let _ = signal_hook::flag::register(signal, Arc::clone(flag()));
        }
    });
}

/// The terminal settings at the start, put back before an interrupted run exits (a password prompt turns
/// echo off).
fn saved_terminal() -> &'static Option<rustix::termios::Termios> {
    static SAVED: OnceLock<Option<rustix::termios::Termios>> = OnceLock::new();
    SAVED.get_or_init(|| {
        let stdin = std::io::stdin();
        stdin
            .is_terminal()
            .then(|| rustix::termios::tcgetattr(&stdin).ok())
            .flatten()
    })
}

/// Catches the signals and starts the watcher that answers them: what the binary calls first.
pub fn watch() {
    let _ = saved_terminal();
    install();
    let _ = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(|| loop {
            std::thread::sleep(WATCH_EVERY);
            if requested() {
                answer();
            }
        });
}

/// Enters `phase`: from now on an interruption means what it says.
pub fn set_phase(phase: Phase) {
    PHASE.store(phase as u8, Ordering::SeqCst);
}

fn phase() -> Phase {
    match PHASE.load(Ordering::SeqCst) {
        1 => Phase::Renewing,
        2 => Phase::Replaced,
        3 => Phase::Restoring,
        4 => Phase::Writing,
        _ => Phase::Unchanged,
    }
}

/// Whether an interruption was asked for.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// What the watcher says for an interruption in `phase`; `None` ends the run instead.
pub fn answer_for(phase: Phase) -> Option<&'static str> {
    match phase {
        Phase::Unchanged => None,
        Phase::Renewing => Some(
            "Interrupted: stopping before the keystore is replaced; nothing will change.",
        ),
        Phase::Replaced => Some(
            "Interrupted: the keystore is already replaced. Please wait:\n  the renewal finishes, or rolls back, safely.",
        ),
        Phase::Writing => Some(
            "Interrupted: the files being written are finished first. Please wait.",
        ),
        Phase::Restoring => Some(
            "Interrupted: the backup is being restored. Please wait:\n  the restore and the restart finish safely.",
        ),
    }
}

fn answer() {
    let now = phase();
    match answer_for(now) {
        None => stop_unchanged(),
        Some(text) => {
            if TOLD.swap(now as u8 + 1, Ordering::SeqCst) != now as u8 + 1 {
                say(text);
            }
        }
    }
}

/// How the watcher's answer reaches the screen when something else draws there (a spinner): set once by
/// the terminal's user interface, which writes the text around what it draws.
static ANNOUNCER: OnceLock<Announcer> = OnceLock::new();

/// Writes one of the watcher's answers.
type Announcer = Box<dyn Fn(&str) + Send + Sync>;

/// Hands the watcher's answers to `announce` instead of writing them to stderr directly.
pub fn announce_through(announce: impl Fn(&str) + Send + Sync + 'static) {
    let _ = ANNOUNCER.set(Box::new(announce));
}

/// Writes one line on stderr, over a spinner's line on a terminal (or through the announcer).
fn say(text: &str) {
    if let Some(announce) = ANNOUNCER.get() {
        announce(text);
        return;
    }
    use std::io::Write;
    let prefix = if std::io::stderr().is_terminal() {
        "\r\x1b[2K"
    } else {
        ""
    };
    let _ = writeln!(std::io::stderr().lock(), "{prefix}{text}");
}

/// Ends the run after an interruption while nothing was changed: terminal restored, exit 130.
pub fn stop_unchanged() -> ! {
    if STOPPING.swap(true, Ordering::SeqCst) {
        // The other thread is already saying it; wait for its exit.
        loop {
            std::thread::sleep(WATCH_EVERY);
        }
    }
    if let Some(termios) = saved_terminal() {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            termios,
        );
    }
    if std::io::stderr().is_terminal() {
        // Show the cursor again: a list prompt hides it.
        use std::io::Write;
        let _ = write!(std::io::stderr().lock(), "\x1b[?25h");
    }
    say("Interrupted: nothing was changed.");
    std::process::exit(130)
}

/// After a prompt returned without an answer: an interruption ends the run as [`stop_unchanged`] does.
pub fn stop_if_requested() {
    if requested() && phase() == Phase::Unchanged {
        stop_unchanged();
    }
}

/// Makes a write past the file-size limit (RLIMIT_FSIZE) fail with EFBIG, which the writers turn into a
/// clean error, instead of SIGXFSZ killing the process half-way.
pub fn survive_file_size_limit() {
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        Arc::new(AtomicBool::new(false)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_but_the_first_has_an_answer_saying_what_happens_next() {
        assert_eq!(answer_for(Phase::Unchanged), None);
        let renewing = answer_for(Phase::Renewing).unwrap();
        assert!(renewing.contains("nothing will change"));
        assert!(answer_for(Phase::Replaced).unwrap().contains("rolls back"));
        assert!(answer_for(Phase::Restoring)
            .unwrap()
            .contains("finish safely"));
        for phase in [
            Phase::Renewing,
            Phase::Replaced,
            Phase::Restoring,
            Phase::Writing,
        ] {
            for line in answer_for(phase).unwrap().lines() {
                assert!(line.chars().count() <= 80, "{line}");
            }
        }
    }
}
