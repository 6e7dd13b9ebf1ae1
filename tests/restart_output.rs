//! The restart command's output: read through a pipe while it runs, kept bounded (its end) for the audit log,
//! and a daemon the command leaves running holds no unlinked file: its output goes to a pipe that is drained
//! after icg-renew stops reading, so it keeps running and writing.

use icg_renew::service::Restart;
use std::path::Path;
use std::time::{Duration, Instant};

fn pid_in(file: &Path) -> u32 {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no pid in {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where each of the process's descriptors points.
fn fd_targets(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| t.display().to_string())
        .collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}

#[test]
fn a_backgrounded_daemon_keeps_no_deleted_file_and_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("daemon.pid");
    let count = dir.path().join("count");
    // Like `catalina.sh run &` in a SysV script: the daemon inherits the script's stdout and stderr.
    let script = format!(
        "echo starting the gateway; echo a warning >&2; \
         (n=0; while true; do n=$((n+1)); echo tick $n; echo $n >> '{}'; sleep 0.05; done) & \
         echo $! > '{}'; echo started",
        count.display(),
        pid_file.display()
    );
    let started = Instant::now();
    let output = Restart::Command(script)
        .run(Duration::from_secs(30))
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the restart waited for the daemon: {:?}",
        started.elapsed()
    );
    assert!(output.contains("starting the gateway"), "{output}");
    assert!(output.contains("a warning"), "{output}");
    assert!(output.contains("started"), "{output}");

    let daemon = pid_in(&pid_file);
    std::thread::sleep(Duration::from_millis(500));
    let targets = fd_targets(daemon);
    assert!(
        alive(daemon),
        "the daemon died once icg-renew stopped reading its output"
    );
    assert!(
        !targets.iter().any(|t| t.contains("(deleted)")),
        "{targets:?}"
    );
    assert!(
        !targets.iter().any(|t| t.contains("icg-renew-restart")),
        "{targets:?}"
    );
    let stdout = std::fs::read_link(format!("/proc/{daemon}/fd/1")).unwrap();
    assert!(
        stdout.display().to_string().starts_with("pipe:"),
        "{}",
        stdout.display()
    );
    // It goes on writing: its output is drained, not blocked on a full pipe.
    let before = std::fs::metadata(&count).unwrap().len();
    std::thread::sleep(Duration::from_millis(500));
    let after = std::fs::metadata(&count).unwrap().len();
    assert!(
        after > before,
        "the daemon stopped writing ({before} then {after} bytes)"
    );
    let _ = std::process::Command::new("kill")
        .arg(daemon.to_string())
        .status();
}

#[test]
fn a_large_output_is_kept_bounded_to_its_end() {
    let script = "i=0; while [ $i -lt 20000 ]; do echo line $i of a noisy restart; i=$((i+1)); done; echo the last line";
    let output = Restart::Command(script.into())
        .run(Duration::from_secs(60))
        .unwrap();
    assert!(output.len() <= 64 * 1024, "{} bytes kept", output.len());
    assert!(output.len() > 32 * 1024, "{} bytes kept", output.len());
    assert!(
        output.trim_end().ends_with("the last line"),
        "{}",
        &output[output.len() - 100..]
    );
}

#[test]
fn a_failing_restart_reports_its_last_line() {
    let error = Restart::Command("echo preparing; echo the unit is masked >&2; exit 3".into())
        .run(Duration::from_secs(30))
        .unwrap_err()
        .to_string();
    assert!(error.contains("the unit is masked"), "{}", error);
}

#[test]
fn a_hanging_restart_is_killed_at_its_timeout() {
    let started = Instant::now();
    let error = Restart::Command("echo hanging; sleep 600".into())
        .run(Duration::from_secs(1))
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(error.contains("killed"), "{}", error);
}

#[test]
fn control_characters_in_the_output_are_escaped() {
    let error = Restart::Command(r"printf 'colour \033[31mred\033[0m\r\n'; exit 1".into())
        .run(Duration::from_secs(30))
        .unwrap_err()
        .to_string();
    assert!(!error.contains('\u{1b}'), "{:?}", error);
    assert!(!error.contains('\r'), "{:?}", error);
    assert!(error.contains(r"\u{1b}[31mred"), "{:?}", error);
}
