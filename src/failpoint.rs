//! Test-only crash points. With the `failpoints` feature, `hit(name)` aborts the process at once when the
//! environment variable `ICG_RENEW_FAILPOINT` equals `name`, so tests can prove that a kill at that moment
//! leaves a consistent keystore. Without the feature (every release build) it compiles to nothing.

#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    if std::env::var("ICG_RENEW_FAILPOINT").is_ok_and(|wanted| wanted == name) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "failpoint {name}: aborting");
        std::process::abort();
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}
