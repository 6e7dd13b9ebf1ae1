//! The first hour on a real 80x24 pseudo-terminal (rexpect): Ctrl-C answered within a second at the final
//! prompt and during a slow restart command, each certificate printed once, and no line wider than the
//! terminal in the interactive flow.

mod sandbox;

use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};
use sandbox::Sandbox;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TIMEOUT_MS: u64 = 60_000;
/// The question after the checks (issue 24); Enter takes its default, now.
const WHEN: &str = "Renew now, or at a time you choose?";
/// How long an answer to Ctrl-C may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// icg-renew on an 80x24 terminal (set with stty before the binary starts), in `cwd`, on the sandbox.
fn spawn(sandbox: &Sandbox, cwd: &Path, args: &[&str]) -> PtySession {
    let binary = assert_cmd::cargo::cargo_bin("icg-renew");
    let mut words: Vec<String> = vec![binary.display().to_string()];
    words.extend(sandbox.args());
    words.extend(args.iter().map(|a| a.to_string()));
    let line = shlex::try_join(words.iter().map(String::as_str)).unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("stty cols 80 rows 24 && exec {line}"))
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("SUDO_USER")
        .env("TERM", "xterm");
    spawn_command(cmd, Some(TIMEOUT_MS)).unwrap()
}

/// `renew MATERIAL OPTIONS…` on the terminal, in the installation's directory.
fn spawn_renew(sandbox: &Sandbox, material: &Path, options: &[&str]) -> PtySession {
    let mut args = vec!["renew", material.to_str().unwrap()];
    args.extend(options);
    spawn(sandbox, sandbox.root(), &args)
}

/// Waits for `prompt`, gives the prompt time to read single keys, then types `keys`.
fn answer(session: &mut PtySession, prompt: &str, keys: &str) -> String {
    let before = session.exp_string(prompt).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    session.send(keys).unwrap();
    session.flush().unwrap();
    before
}

/// Sends Ctrl-C and returns how long `expected` took to appear, with the text up to it.
fn interrupt(session: &mut PtySession, expected: &str) -> (Duration, String) {
    let sent = Instant::now();
    session.send_control('c').unwrap();
    session.flush().unwrap();
    let seen = session.exp_string(expected).unwrap();
    (sent.elapsed(), seen)
}

fn exit_code(session: &mut PtySession) -> (i32, String) {
    let rest = session.exp_eof().unwrap_or_default();
    match session.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => (code, rest),
        other => panic!("unexpected end: {other:?}"),
    }
}

#[test]
fn ctrl_c_at_the_final_prompt_says_nothing_was_changed_within_a_second() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let material = sandbox.material();
    let mut p = spawn_renew(&sandbox, &material, &["--restart", "none"]);
    answer(&mut p, WHEN, "\r");
    p.exp_string("Replace the keystore now?").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let (took, _) = interrupt(&mut p, "Interrupted: nothing was changed.");
    assert!(took < ANSWER_WITHIN, "the answer took {took:?}");
    assert_eq!(exit_code(&mut p).0, 130);
    assert!(std::fs::read(sandbox.keystore()).unwrap() == before);
    assert_eq!(sandbox.backups().len(), 0);
}

#[test]
fn ctrl_c_during_a_slow_restart_is_answered_within_a_second_and_the_renewal_finishes() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let material = sandbox.material();
    let marker = sandbox.dir().join("restart-finished");
    let restart = format!("sleep 4 && touch {}", marker.display());
    let mut p = spawn_renew(
        &sandbox,
        &material,
        &["--restart-command", &restart, "--no-health-check"],
    );
    answer(&mut p, WHEN, "\r");
    answer(&mut p, "Replace the keystore and restart the ICG now?", "y");
    p.exp_string("Restarting the ICG").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (took, _) = interrupt(&mut p, "Interrupted: the keystore is already replaced");
    assert!(took < ANSWER_WITHIN, "the answer took {took:?}");
    assert!(
        !marker.exists(),
        "the restart command ended before the answer"
    );
    p.exp_string("Renewed:").unwrap();
    let (code, _) = exit_code(&mut p);
    assert_eq!(code, 0);
    assert!(marker.exists(), "the restart command was cut short");
    assert!(std::fs::read(sandbox.keystore()).unwrap() != before);
}

/// The screen a terminal shows at the end of `raw` (rexpect's text): escape sequences applied, so that a
/// spinner cleared is gone and an overwritten line shows its last text; tall enough that nothing scrolls.
fn final_screen(raw: &str) -> String {
    let bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    let mut parser = vt100::Parser::new(2000, 80, 0);
    parser.process(&bytes);
    parser.screen().contents()
}

/// The text as a terminal shows it: escape sequences removed, carriage returns ending a line.
fn screen_lines(raw: &str) -> Vec<String> {
    // rexpect hands over each byte as one char: decode the UTF-8 again.
    let bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    let raw = String::from_utf8_lossy(&bytes);
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else {
            plain.push(c);
        }
    }
    plain.split(['\n', '\r']).map(|l| l.to_string()).collect()
}

/// Runs an interactive renewal with the list of material at 80x24 and returns everything it printed.
fn interactive_renewal(sandbox: &Sandbox) -> String {
    let mut p = spawn(
        sandbox,
        &sandbox.root().join("new"),
        &["renew", "--restart", "none"],
    );
    let mut seen = answer(&mut p, "Type a path", "\r");
    seen.push_str(&answer(&mut p, WHEN, "\r"));
    seen.push_str(&answer(&mut p, "Replace the keystore now?", "y"));
    seen.push_str(&p.exp_string("To undo:").unwrap());
    let (code, rest) = exit_code(&mut p);
    seen.push_str(&rest);
    assert_eq!(code, 0, "{seen}");
    seen
}

#[test]
fn the_interactive_flow_fits_an_80_column_terminal() {
    let sandbox = Sandbox::new();
    let seen = interactive_renewal(&sandbox);
    let too_wide: Vec<String> = screen_lines(&seen)
        .into_iter()
        .filter(|l| l.chars().count() > 80)
        .collect();
    assert!(
        too_wide.is_empty(),
        "lines wider than 80 columns:\n{}\n\nall:\n{seen}",
        too_wide.join("\n")
    );
    // The comparison is still there, and each fingerprint whole on one line.
    assert!(seen.contains("INSTALLED"), "{seen}");
    let installed = fingerprint(&sandbox);
    assert!(seen.contains(first_half(&installed)), "{seen}");
}

/// The installed certificate's SHA-256 as `status --json` reports it.
fn fingerprint(sandbox: &Sandbox) -> String {
    let output = sandbox.icg_json().arg("status").output().unwrap();
    sandbox::json(&output)["certificate"]["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The first half of a fingerprint, up to the colon where a narrow terminal breaks it: what every showing
/// of it holds, on one line or on two.
fn first_half(fingerprint: &str) -> &str {
    let at = fingerprint
        .match_indices(':')
        .nth(15)
        .map_or(0, |(i, _)| i + 1);
    &fingerprint[..at]
}

/// How often the installed certificate's fingerprint appears, whole or in halves.
fn count_fingerprint(text: &str, fingerprint: &str) -> usize {
    text.matches(first_half(fingerprint)).count()
}

#[test]
fn each_command_shows_the_installed_certificate_once_on_a_terminal() {
    let sandbox = Sandbox::new();
    let installed = fingerprint(&sandbox);
    let material = sandbox.material();
    for args in [vec!["status"], vec!["verify", material.to_str().unwrap()]] {
        let mut p = spawn(&sandbox, sandbox.root(), &args);
        let (_, seen) = exit_code(&mut p);
        assert_eq!(count_fingerprint(&seen, &installed), 1, "{args:?}:\n{seen}");
        assert_eq!(
            seen.matches("Installed certificate in").count(),
            0,
            "{seen}"
        );
    }
    let seen = interactive_renewal(&sandbox);
    assert_eq!(count_fingerprint(&seen, &installed), 1, "{seen}");
}

/// On a terminal, `rollback` shows what goes and what comes back (fingerprints, expiry, the backup's name),
/// asks (default no), lists its steps once and says how to undo it; nothing wider than 80 columns (issue
/// 22, point 1: before, no preview and no question).
#[test]
fn rollback_previews_asks_lists_its_steps_once_and_says_how_to_undo_it_on_a_terminal() {
    let sandbox = Sandbox::new();
    let _ = interactive_renewal(&sandbox);
    let backup = sandbox.backups().remove(0);
    let renewed = std::fs::read(sandbox.keystore()).unwrap();

    // The default answer keeps everything as it is.
    let mut p = spawn(&sandbox, sandbox.root(), &["rollback", "--restart", "none"]);
    let preview = answer(&mut p, "Restore this backup and restart the ICG?", "\r");
    let (code, rest) = exit_code(&mut p);
    assert_eq!(code, 1, "{preview}{rest}");
    assert!(
        rest.contains("not confirmed: nothing was changed"),
        "{rest}"
    );
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), renewed);
    for shown in ["GOES", "COMES BACK", "SHA-256", "days left"] {
        assert!(preview.contains(shown), "{shown}: {preview}");
    }
    let name = backup.file_name().unwrap().to_str().unwrap();
    assert!(preview.contains(name), "{preview}");

    let mut p = spawn(&sandbox, sandbox.root(), &["rollback", "--restart", "none"]);
    let mut seen = answer(&mut p, "Restore this backup and restart the ICG?", "y");
    let (code, rest) = exit_code(&mut p);
    seen.push_str(&rest);
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("To undo this rollback:"), "{seen}");
    assert!(seen.contains(".before-rollback.bak"), "{seen}");
    let too_wide: Vec<String> = screen_lines(&seen)
        .into_iter()
        .filter(|l| l.chars().count() > 80)
        .collect();
    assert!(too_wide.is_empty(), "{}", too_wide.join("\n"));
    let restore_lines = screen_lines(&seen)
        .into_iter()
        .filter(|l| {
            l.trim_start()
                .trim_start_matches(['✔', '–', '✘'])
                .trim_start()
                .starts_with("restore ")
        })
        .count();
    assert_eq!(restore_lines, 1, "{seen}");
}

#[test]
fn a_warning_is_asked_about_in_a_short_question_that_fits_80_columns() {
    let sandbox = Sandbox::new();
    let renewed = sandbox.renew_without_restart();
    assert_eq!(renewed.status.code(), Some(0));
    let installed = std::fs::read(sandbox.keystore()).unwrap();
    // The backup holds the older certificate: `newer` warns.
    let backup = sandbox.backups().remove(0);
    let mut p = spawn_renew(
        &sandbox,
        &backup,
        &[
            "--new-password-file",
            sandbox.password_file().to_str().unwrap(),
            "--restart",
            "none",
        ],
    );
    let mut seen = answer(&mut p, "Accept the newer warning and go on?", "n");
    let (code, rest) = exit_code(&mut p);
    seen.push_str(&rest);
    assert_eq!(code, 1, "{seen}");
    assert!(seen.contains("nothing was changed"), "{seen}");
    let too_wide: Vec<String> = screen_lines(&seen)
        .into_iter()
        .filter(|l| l.chars().count() > 80)
        .collect();
    assert!(too_wide.is_empty(), "{}", too_wide.join("\n"));
    assert!(std::fs::read(sandbox.keystore()).unwrap() == installed);
}

/// The path prompt reads a path the way icg-renew prints one and an operator types one: `~/…` in the
/// operator's home, shell quotes around a name with a space (issue 22, point 5: before, both were taken as
/// literal names and refused as missing).
#[test]
fn the_path_prompt_takes_the_home_directory_and_quoted_paths() {
    let sandbox = Sandbox::new();
    let empty = sandbox.dir().join("empty");
    std::fs::create_dir(&empty).unwrap();
    // `~` is the invoking operator's home, as /etc/passwd has it (where the candidate search looks too).
    let uid = String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap();
    let entry = Command::new("getent")
        .args(["passwd", uid.trim()])
        .output()
        .unwrap();
    let home = String::from_utf8(entry.stdout)
        .unwrap()
        .split(':')
        .nth(5)
        .unwrap()
        .to_string();
    let in_home = tempfile::Builder::new()
        .prefix(".icg-renew-test-")
        .tempdir_in(&home)
        .unwrap();
    let spaced = in_home.path().join("renewal files");
    std::fs::create_dir(&spaced).unwrap();
    // An ending no candidate search looks for: the path must be typed.
    std::fs::copy(sandbox.material(), spaced.join("gateway.export")).unwrap();
    let below_home = in_home
        .path()
        .strip_prefix(&home)
        .unwrap()
        .display()
        .to_string();
    let typed = [
        format!("~/{below_home}/'renewal files'/gateway.export"),
        format!("'{}'", spaced.join("gateway.export").display()),
    ];
    for path in typed {
        let mut p = spawn(
            &sandbox,
            &empty,
            &["renew", "--dry-run", "--restart", "none"],
        );
        // "Type a path…" is the last entry: up from the first reaches it.
        p.exp_string("Type a path").unwrap();
        std::thread::sleep(Duration::from_millis(400));
        p.send("\x1b[A").unwrap();
        p.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        p.send("\r").unwrap();
        p.flush().unwrap();
        answer(
            &mut p,
            "Path of the new certificate material",
            &format!("{path}\r"),
        );
        let (code, seen) = exit_code(&mut p);
        assert_eq!(code, 0, "{path}: {seen}");
        assert!(
            seen.contains("Dry run: every check passed"),
            "{path}: {seen}"
        );
    }
}

/// With no way to restart the ICG found, `renew` says so before its first question, and `renew --dry-run`
/// (which restarts nothing) prints its checks and plan, warns that a renewal would stop, and succeeds (issue
/// 22, point 6: before, the material was chosen and checked first, and the dry run failed with exit 1 and,
/// without a terminal, printed no checks).
#[test]
fn a_restart_method_that_cannot_be_found_stops_renew_before_any_question() {
    if sandbox::host_can_restart_an_icg() {
        eprintln!("SKIPPED: this host has a way to restart an ICG (icg-server.service or /etc/init.d/tomcat)");
        return;
    }
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let mut p = spawn(&sandbox, &sandbox.root().join("new"), &["renew"]);
    let (code, seen) = exit_code(&mut p);
    assert_eq!(code, 1, "{seen}");
    assert!(
        seen.contains("cannot tell how to restart the ICG"),
        "{seen}"
    );
    assert!(seen.contains("--restart none"), "{seen}");
    assert!(!seen.contains("Which file holds"), "asked first: {seen}");
    assert!(std::fs::read(sandbox.keystore()).unwrap() == before);

    let dry = sandbox
        .icg()
        .args(["renew", "--dry-run"])
        .arg(sandbox.material())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&dry.stdout);
    let stderr = String::from_utf8_lossy(&dry.stderr);
    assert_eq!(dry.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("PASS  same-root"), "{stdout}");
    assert!(
        stdout.contains("Restart") && stdout.contains("none found"),
        "{stdout}"
    );
    assert!(stderr.contains("a renewal would stop"), "{stderr}");
    assert!(std::fs::read(sandbox.keystore()).unwrap() == before);
}

/// `sandbox` and `demo` say what they are doing while they work (seconds of RSA keys, then the renewal),
/// and the spinner is gone before the answer (issue 22, point 10: before, nothing showed until the end).
#[test]
fn sandbox_and_demo_show_what_they_are_doing_while_they_work() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir().join("another");
    let mut p = spawn(&sandbox, sandbox.dir(), &["sandbox", dir.to_str().unwrap()]);
    p.exp_string("Making the sandbox: keys, certificates and keystores")
        .unwrap();
    let (code, rest) = exit_code(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("Sandbox ICG installation created"), "{rest}");

    let mut p = spawn(&sandbox, sandbox.dir(), &["demo"]);
    let mut seen = p.exp_string("Making the sandbox").unwrap();
    seen.push_str("Making the sandbox");
    seen.push_str(&p.exp_string("Renewing in the sandbox").unwrap());
    seen.push_str("Renewing in the sandbox");
    let (code, rest) = exit_code(&mut p);
    let rest = seen + &rest;
    assert_eq!(code, 0, "{rest}");
    let screen = final_screen(&rest);
    assert!(
        !screen.contains("Renewing in the sandbox") && !screen.contains("Making the sandbox"),
        "the spinner stayed:\n{screen}"
    );
    assert!(screen.contains("A throwaway ICG installation"), "{screen}");
}

/// Whether every colon-separated hexadecimal word on `line` (a fingerprint, or part of one) is made of
/// whole bytes: a fingerprint broken at the line's end inside a byte leaves a one-digit part.
fn fingerprints_whole(line: &str) -> bool {
    line.split_whitespace()
        .map(|w| w.trim_matches(|c: char| "(),.".contains(c)))
        .filter(|w| w.len() >= 5 && w.contains(':'))
        .filter(|w| w.chars().all(|c| c.is_ascii_hexdigit() || c == ':'))
        .all(|w| w.split(':').all(|byte| byte.is_empty() || byte.len() == 2))
}

/// Whether `line` holds a whole time as icg-renew writes it (`2026-12-07T02:57:15Z`).
fn has_whole_time(line: &str) -> bool {
    let chars: Vec<char> = line.chars().collect();
    chars.windows(20).any(|w| {
        let s: String = w.iter().collect();
        s.len() == 20
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[10] == b'T'
            && s.ends_with('Z')
            && s[..4].chars().all(|c| c.is_ascii_digit())
    })
}

/// At 80 columns, long names neither widen nor break the picker's entries and `backups`: each entry one
/// line with its time whole, each fingerprint whole or in halves at a colon, with its colons (issue 22,
/// point 7: before, entries wrapped inside their times and fingerprints broke inside a byte).
#[test]
fn long_names_keep_the_picker_and_backups_within_80_columns() {
    let sandbox = Sandbox::new();
    let long = "renewal-for-the-cloud-gateway-of-the-regional-office-exported-from-ums";
    let new_dir = sandbox.root().join("new");
    std::fs::copy(sandbox.material(), new_dir.join(format!("{long}.icg"))).unwrap();
    // A directory name is never broken inside (it is copied from the screen): one that fits on a line.
    let backup_dir = sandbox.dir().join(format!("{}-backups", &long[..60]));
    std::fs::create_dir(&backup_dir).unwrap();
    let backup_option = backup_dir.to_str().unwrap();
    let mut p = spawn(
        &sandbox,
        &new_dir,
        &["renew", "--restart", "none", "--backup-dir", backup_option],
    );
    let picker = answer(&mut p, "Type a path", "\r");
    let entries: Vec<String> = screen_lines(&picker)
        .into_iter()
        .filter(|l| l.contains(" KiB, ") || l.contains(" B, "))
        .collect();
    assert!(entries.iter().any(|l| l.contains('…')), "{picker}");
    for entry in &entries {
        assert!(entry.chars().count() <= 80, "too wide: {entry}");
        assert!(has_whole_time(entry), "time broken: {entry}");
    }
    answer(&mut p, WHEN, "\r");
    answer(&mut p, "Replace the keystore now?", "y");
    let (code, rest) = exit_code(&mut p);
    assert_eq!(code, 0, "{rest}");

    let mut p = spawn(
        &sandbox,
        sandbox.root(),
        &["backups", "--backup-dir", backup_option],
    );
    let (code, listing) = exit_code(&mut p);
    assert_eq!(code, 0, "{listing}");
    let lines = screen_lines(&listing);
    assert!(lines.iter().any(|l| l.contains("SHA-256")), "{listing}");
    for line in &lines {
        assert!(line.chars().count() <= 80, "too wide: {line}");
        assert!(fingerprints_whole(line), "fingerprint broken: {line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.matches(':').count() >= 15 && fingerprints_whole(l)),
        "fingerprints keep their colons: {listing}"
    );
}

/// Ctrl-C while the gateway is awaited: the answer comes, and the spinner leaves no line behind (it stays
/// one line at 80 columns and shows its time once) (issue 22, point 7).
#[test]
fn ctrl_c_in_the_wait_leaves_no_stale_spinner_lines() {
    let sandbox = Sandbox::new();
    let material = sandbox.material();
    let mut p = spawn_renew(
        &sandbox,
        &material,
        &["--restart-command", "true", "--health-timeout", "6"],
    );
    let mut seen = answer(&mut p, WHEN, "\r");
    seen.push_str(&answer(
        &mut p,
        "Replace the keystore and restart the ICG now?",
        "y",
    ));
    // rexpect hands over the text before what it waited for: both go back together.
    seen.push_str(&p.exp_string("Confirming the gateway").unwrap());
    seen.push_str("Confirming the gateway");
    std::thread::sleep(Duration::from_millis(1500));
    let (took, text) = interrupt(&mut p, "Interrupted: the keystore is already replaced");
    seen.push_str(&text);
    seen.push_str("Interrupted: the keystore is already replaced");
    assert!(took < ANSWER_WITHIN, "the answer took {took:?}");
    let (code, rest) = exit_code(&mut p);
    seen.push_str(&rest);
    assert!(code == 4 || code == 5, "{code}: {seen}");
    let screen = final_screen(&seen);
    assert!(
        !screen.contains("Confirming the gateway") && !screen.contains("waiting for the gateway"),
        "stale spinner lines:\n{screen}"
    );
    assert!(
        screen.contains("Interrupted: the keystore is already replaced"),
        "{screen}"
    );
    assert!(!seen.contains(" s — "), "the time shown twice: {seen}");
}

/// `renew` of the sandbox's material on the terminal, restarting nothing, with its own spool (returned).
fn spawn_renew_with_spool(sandbox: &Sandbox) -> (PathBuf, PtySession) {
    let spool = sandbox.dir().join("scheduled");
    let spool_arg = spool.display().to_string();
    let p = spawn_renew(
        sandbox,
        &sandbox.material(),
        &["--restart", "none", "--schedule-dir", &spool_arg],
    );
    (spool, p)
}

/// `scheduled --json` on the spool `spool`.
fn scheduled_json(sandbox: &Sandbox, spool: &Path, extra: &[&str]) -> serde_json::Value {
    let output = sandbox
        .icg_json()
        .arg("scheduled")
        .arg("--schedule-dir")
        .arg(spool)
        .args(extra)
        .output()
        .unwrap();
    sandbox::json(&output)
}

/// The local time of day (`HH:MM`) of an RFC 3339 time, by `date` in the same time zone as the binary's.
fn local_hh_mm(at: &str) -> String {
    let out = Command::new("date")
        .args(["-d", at, "+%H:%M"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Issue 24: after the checks, the terminal asks "Renew now, or at a time you choose?"; choosing a time and
/// typing 02:30 keeps the renewal in the spool exactly as `renew --at 02:30` would, says how to list and
/// cancel it, and changes nothing in the keystore; at 02:30 the due run renews with it. (Fails on a main
/// without the question: the flow goes straight to "Replace the keystore now?".)
#[test]
fn choosing_a_time_at_the_question_schedules_the_renewal_and_changes_nothing_now() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let (spool, mut p) = spawn_renew_with_spool(&sandbox);
    let mut seen = answer(&mut p, WHEN, "\x1b[B");
    std::thread::sleep(Duration::from_millis(200));
    p.send("\r").unwrap();
    p.flush().unwrap();
    // A time that is no time is said and asked again.
    seen.push_str(&answer(&mut p, "At what time?", "25:99\r"));
    seen.push_str(&p.exp_string("is neither HH:MM nor").unwrap());
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..5 {
        p.send("\x7f").unwrap();
    }
    p.send("02:30\r").unwrap();
    p.flush().unwrap();
    seen.push_str(&p.exp_string("Scheduled: renewal").unwrap());
    let (code, rest) = exit_code(&mut p);
    seen.push_str(&rest);
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains("Replace the keystore"), "{seen}");
    for said in ["To list: ", "To cancel: ", "--cancel"] {
        assert!(seen.contains(said), "{said}: {seen}");
    }

    // Nothing changed; the renewal waits, listed with its time and how it was scheduled.
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert_eq!(sandbox.backups().len(), 0);
    let listed = scheduled_json(&sandbox, &spool, &[]);
    let waiting = listed["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{listed}");
    let at = waiting[0]["at"].as_str().unwrap().to_string();
    assert_eq!(local_hh_mm(&at), "02:30", "{listed}");
    assert_eq!(
        waiting[0]["how"], "renew, at a time chosen on the terminal",
        "{listed}"
    );
    let id = waiting[0]["id"].as_str().unwrap().to_string();
    assert!(seen.contains(&id), "{seen}");
    assert!(too_wide(&seen).is_empty(), "{}", too_wide(&seen).join("\n"));
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(log.contains(&format!("action=scheduled id={id}")), "{log}");

    // At the hour the timer's run renews with the kept material.
    let due = scheduled_json(&sandbox, &spool, &["--run-due", "--now", &at]);
    assert_eq!(due["ran"][0]["result"], "renewed", "{due}");
    assert_ne!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert!(sandbox.keytool_list().status.success());
}

/// Issue 24: Enter at "Renew now, or at a time you choose?" takes the default, now: the plan and its
/// question follow, the renewal happens, and nothing is kept for later.
#[test]
fn the_default_answer_renews_now_and_keeps_nothing_for_later() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let (spool, mut p) = spawn_renew_with_spool(&sandbox);
    let mut seen = answer(&mut p, WHEN, "\r");
    seen.push_str(&answer(&mut p, "Replace the keystore now?", "y"));
    seen.push_str(&p.exp_string("Renewed:").unwrap());
    let (code, rest) = exit_code(&mut p);
    seen.push_str(&rest);
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains("At what time?"), "{seen}");
    assert_ne!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert_eq!(sandbox.backups().len(), 1);
    assert!(sandbox.keytool_list().status.success());
    let listed = scheduled_json(&sandbox, &spool, &[]);
    assert_eq!(listed["waiting"].as_array().unwrap().len(), 0, "{listed}");
}

/// The lines of `seen` wider than the 80-column terminal.
fn too_wide(seen: &str) -> Vec<String> {
    screen_lines(seen)
        .into_iter()
        .filter(|l| l.chars().count() > 80)
        .collect()
}

/// Issue 24: a password typed for the material is kept with the renewal for later (the timer's run has no one
/// to type it), whether the time was chosen at the question or given with `--at` on the terminal; the due run
/// renews with it.
#[test]
fn a_password_typed_for_the_material_is_kept_for_the_renewal_at_the_hour() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let spool = sandbox.dir().join("scheduled");
    let spool_arg = spool.display().to_string();
    // The sandbox's new key and chain as PKCS#12 that only opens with a password nobody configured.
    let bundle = sandbox.root().join("new/new-bundle.pem");
    let p12 = sandbox.dir().join("new.p12");
    let made = Command::new("openssl")
        .args(["pkcs12", "-export", "-in"])
        .arg(&bundle)
        .arg("-inkey")
        .arg(&bundle)
        .arg("-out")
        .arg(&p12)
        .args(["-passout", "pass:typed only"])
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");

    // Chosen at the question.
    let mut p = spawn_renew(
        &sandbox,
        &p12,
        &["--restart", "none", "--schedule-dir", &spool_arg],
    );
    answer(&mut p, "Password of", "typed only\r");
    answer(&mut p, WHEN, "\x1b[B");
    std::thread::sleep(Duration::from_millis(200));
    p.send("\r").unwrap();
    p.flush().unwrap();
    answer(&mut p, "At what time?", "02:30\r");
    p.exp_string("Scheduled: renewal").unwrap();
    assert_eq!(exit_code(&mut p).0, 0);
    let first = scheduled_json(&sandbox, &spool, &[])["waiting"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        std::fs::read(spool.join(format!("{first}.password"))).unwrap(),
        b"typed only"
    );

    // Given with --at on the terminal: the same, and it replaces the first.
    let mut p = spawn_renew(
        &sandbox,
        &p12,
        &[
            "--restart",
            "none",
            "--schedule-dir",
            &spool_arg,
            "--at",
            "03:30",
        ],
    );
    answer(&mut p, "Password of", "typed only\r");
    p.exp_string("Scheduled: renewal").unwrap();
    let (code, rest) = exit_code(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(
        rest.contains(&format!("It replaces the earlier scheduling {first}")),
        "{rest}"
    );
    let listed = scheduled_json(&sandbox, &spool, &[]);
    let waiting = listed["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{listed}");
    let id = waiting[0]["id"].as_str().unwrap();
    assert_eq!(
        std::fs::read(spool.join(format!("{id}.password"))).unwrap(),
        b"typed only"
    );
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);

    let at = waiting[0]["at"].as_str().unwrap();
    let due = scheduled_json(&sandbox, &spool, &["--run-due", "--now", at]);
    assert_eq!(due["ran"][0]["result"], "renewed", "{due}");
    assert_ne!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert!(sandbox.keytool_list().status.success());
}

/// Issue 24: a keystore password that had to be typed is not kept, so the terminal does not offer a later
/// time (it goes straight to the plan), and `--at` on the terminal refuses with what to do (exit 2, nothing
/// kept, nothing changed).
#[test]
fn a_typed_keystore_password_is_not_offered_a_later_time() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let password = sandbox.password();
    let config = sandbox.root().join("usg/conf/application-prod.yml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    let without: String = yaml
        .lines()
        .filter(|l| !l.trim_start().starts_with("key-store-password:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, yaml);
    std::fs::write(&config, without).unwrap();
    let spool = sandbox.dir().join("scheduled");
    let spool_arg = spool.display().to_string();
    let material = sandbox.material();

    let mut p = spawn_renew(
        &sandbox,
        &material,
        &["--restart", "none", "--schedule-dir", &spool_arg],
    );
    answer(&mut p, "Password of the keystore", &format!("{password}\r"));
    let seen = answer(&mut p, "Replace the keystore now?", "n");
    assert!(!seen.contains(WHEN), "{seen}");
    assert_eq!(exit_code(&mut p).0, 1);

    let mut p = spawn_renew(
        &sandbox,
        &material,
        &[
            "--restart",
            "none",
            "--schedule-dir",
            &spool_arg,
            "--at",
            "02:30",
        ],
    );
    answer(&mut p, "Password of the keystore", &format!("{password}\r"));
    let (code, rest) = exit_code(&mut p);
    assert_eq!(code, 2, "{rest}");
    assert!(rest.contains("--store-password-file"), "{rest}");
    let listed = scheduled_json(&sandbox, &spool, &[]);
    assert_eq!(listed["waiting"].as_array().unwrap().len(), 0, "{listed}");
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
}
