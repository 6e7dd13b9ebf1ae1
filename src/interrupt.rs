//! Ctrl-C, SIGTERM and SIGHUP, turned into a flag. Before the keystore is replaced, a set flag stops the
//! renewal cleanly with nothing changed; once it has been replaced, the renewal (or its rollback) carries on
//! to a consistent end, and the flag only makes the terminal say so. Nothing here kills the process.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Catches SIGINT, SIGTERM and SIGHUP from now on. Call once, before anything changes.
pub fn install() {
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(signal, Arc::clone(flag()));
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

/// Whether an interruption was asked for.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}
