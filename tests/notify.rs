//! Someone hears of a failure: an unattended renewal (`inbox`, `renew --from-hook`) that does not renew runs
//! the site's notify script (`ICG_RENEW_NOTIFY`, a real script written here) with the JSON result on stdin
//! and `ICG_RENEW_RESULT`, `ICG_RENEW_KEYSTORE` in a minimal environment; a script others may change is not
//! run; one that hangs is stopped with the processes it started; one that fails changes no exit code; and
//! the two examples of docs/operations.md (mail through `sendmail`, a webhook through `curl`) work as
//! written. Every test here fails on a main without `src/notify.rs`: no script is ever run there.

mod sandbox;

use sandbox::{assert_exit, json, Sandbox};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Writes `body` as an executable script (mode `mode`) at `path`.
fn script(path: &Path, body: &str, mode: u32) -> PathBuf {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.to_path_buf()
}

/// A drop folder holding material whose root differs from the installed one: the renewal is incompatible.
fn inbox_with_incompatible_material(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir().join("inbox");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(
        sandbox.root().join("incompatible/other-root.pem"),
        dir.join("gw.pem"),
    )
    .unwrap();
    dir
}

/// `--json inbox DIR` with `ICG_RENEW_NOTIFY=notify` and the extra environment.
fn run_inbox(sandbox: &Sandbox, dir: &Path, notify: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = sandbox.icg_json();
    cmd.arg("inbox")
        .arg(dir)
        .args(["--restart", "none", "--settle", "1", "--wait", "20"])
        .env("ICG_RENEW_NOTIFY", notify)
        .timeout(Duration::from_secs(120));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn log_of(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.log()).unwrap_or_default()
}

#[test]
fn a_failing_inbox_renewal_runs_the_script_with_the_json_result_on_stdin() {
    let sandbox = Sandbox::new();
    let dir = inbox_with_incompatible_material(&sandbox);
    let marker = sandbox.dir().join("heard.json");
    let env_file = sandbox.dir().join("heard.env");
    let notify = script(
        &sandbox.dir().join("notify"),
        &format!(
            "#!/bin/sh\ncat > '{}'\nenv | sort > '{}'\n",
            marker.display(),
            env_file.display()
        ),
        0o700,
    );
    let output = run_inbox(&sandbox, &dir, &notify, &[("ICG_SECRET_TEST", "hidden")]);
    assert_exit(&output, 3);
    let heard: Value = serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    assert_eq!(heard["renew"]["result"], "incompatible", "{heard}");
    assert_eq!(heard, json(&output), "the script gets what --json prints");
    let env = std::fs::read_to_string(&env_file).unwrap();
    assert!(env.contains("ICG_RENEW_RESULT=incompatible\n"), "{env}");
    assert!(
        env.contains(&format!(
            "ICG_RENEW_KEYSTORE={}\n",
            sandbox.keystore().display()
        )),
        "{env}"
    );
    // A minimal environment: nothing of icg-renew's own is passed on (the shell adds PWD and the like).
    assert!(!env.contains("ICG_SECRET_TEST"), "{env}");
    assert!(!env.contains("ICG_RENEW_NOTIFY"), "{env}");
    let log = log_of(&sandbox);
    assert!(
        log.contains("command=inbox action=notified") && log.contains("result=incompatible"),
        "{log}"
    );
}

#[test]
fn a_successful_renewal_runs_no_script() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir().join("inbox");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(sandbox.material(), dir.join("keystore.icg")).unwrap();
    let marker = sandbox.dir().join("heard");
    let notify = script(
        &sandbox.dir().join("notify"),
        &format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        0o700,
    );
    let output = run_inbox(&sandbox, &dir, &notify, &[]);
    assert_exit(&output, 0);
    assert_eq!(json(&output)["renew"]["result"], "renewed");
    assert!(!marker.exists());
    assert!(!log_of(&sandbox).contains("notif"));
}

#[test]
fn a_script_its_group_may_change_is_not_run_and_the_audit_log_says_so() {
    let sandbox = Sandbox::new();
    let dir = inbox_with_incompatible_material(&sandbox);
    let marker = sandbox.dir().join("heard");
    let notify = script(
        &sandbox.dir().join("notify"),
        &format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        0o770,
    );
    let output = run_inbox(&sandbox, &dir, &notify, &[]);
    assert_exit(&output, 3);
    assert!(!marker.exists(), "a group-writable script was run");
    let log = log_of(&sandbox);
    assert!(
        log.contains("action=notify-warning") && log.contains("not run: its group or others may"),
        "{log}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was not run"), "{stderr}");
}

#[test]
fn a_failing_script_changes_no_exit_code() {
    let sandbox = Sandbox::new();
    let dir = inbox_with_incompatible_material(&sandbox);
    let notify = script(&sandbox.dir().join("notify"), "#!/bin/sh\nexit 7\n", 0o755);
    let output = run_inbox(&sandbox, &dir, &notify, &[]);
    assert_exit(&output, 3);
    let log = log_of(&sandbox);
    assert!(
        log.contains("action=notify-warning") && log.contains("exit status: 7"),
        "{log}"
    );
}

/// The limit is 60 s; builds with the `failpoints` feature (which the test suite uses) shorten it through
/// `ICG_RENEW_NOTIFY_LIMIT_MS`. Without the feature the test is skipped, saying so.
#[test]
fn a_script_that_hangs_is_stopped_with_what_it_started() {
    if !cfg!(feature = "failpoints") {
        eprintln!("skipped: needs --features failpoints to shorten the 60 s limit");
        return;
    }
    let sandbox = Sandbox::new();
    let dir = inbox_with_incompatible_material(&sandbox);
    let pid_file = sandbox.dir().join("sleeper.pid");
    let notify = script(
        &sandbox.dir().join("notify"),
        &format!(
            "#!/bin/sh\nsleep 120 &\necho $! > '{}'\nwait\n",
            pid_file.display()
        ),
        0o700,
    );
    let started = Instant::now();
    let output = run_inbox(
        &sandbox,
        &dir,
        &notify,
        &[("ICG_RENEW_NOTIFY_LIMIT_MS", "1500")],
    );
    let took = started.elapsed();
    assert_exit(&output, 3);
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let log = log_of(&sandbox);
    assert!(
        log.contains("action=notify-warning") && log.contains("stopped after 1500 ms"),
        "{log}"
    );
    let sleeper = std::fs::read_to_string(&pid_file).unwrap();
    let proc_dir = PathBuf::from(format!("/proc/{}", sleeper.trim()));
    // Killed, and reaped by init: give the kernel a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc_dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "the script's child still runs: {state}"
    );
}

/// The fenced `sh` block of docs/operations.md whose second line is `marker`.
fn documented_script(marker: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md"))
        .unwrap();
    doc.split("```sh\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().to_string())
        .find(|block| block.lines().nth(1) == Some(marker))
        .unwrap_or_else(|| panic!("docs/operations.md has no script {marker}"))
}

/// `text` with its one line `from` replaced by `to` (a setting the site edits).
fn set(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.lines().filter(|l| *l == from).count(), 1, "{text}");
    text.replace(&format!("{from}\n"), &format!("{to}\n"))
}

#[test]
fn the_documented_mail_script_sends_the_result_through_sendmail() {
    let sandbox = Sandbox::new();
    let dir = inbox_with_incompatible_material(&sandbox);
    // A sendmail stand-in that keeps its arguments and the message.
    let mail = sandbox.dir().join("mail.txt");
    let stand_in = script(
        &sandbox.dir().join("sendmail"),
        &format!(
            "#!/bin/sh\necho \"args: $*\" > '{0}'\ncat >> '{0}'\n",
            mail.display()
        ),
        0o755,
    );
    let body = documented_script(
        "# /etc/icg-renew/notify: mail the result of an unattended renewal that did not renew.",
    );
    let body = set(
        &body,
        "SENDMAIL=/usr/sbin/sendmail",
        &format!("SENDMAIL='{}'", stand_in.display()),
    );
    let notify = script(&sandbox.dir().join("notify"), &body, 0o700);
    let output = run_inbox(&sandbox, &dir, &notify, &[]);
    assert_exit(&output, 3);
    let mail = std::fs::read_to_string(&mail).unwrap();
    assert!(mail.starts_with("args: -t -oi\nTo: root\n"), "{mail}");
    assert!(
        mail.lines()
            .any(|l| l.starts_with("Subject: icg-renew on ") && l.ends_with(": incompatible")),
        "{mail}"
    );
    let (_, result) = mail.split_once("Its result:\n\n").unwrap();
    let result: Value = serde_json::from_str(result).unwrap();
    assert_eq!(result["renew"]["result"], "incompatible");
    assert!(log_of(&sandbox).contains("action=notified"));
}

/// A one-request HTTP server on 127.0.0.1 that writes the body it is posted to `body_file` and answers 204.
fn webhook_server(body_file: &Path) -> (std::process::Child, u16) {
    let program = format!(
        r#"
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        with open({path:?}, "wb") as f:
            f.write(self.headers.get("Content-Type", "").encode() + b"\n" + data)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
print(server.server_address[1], flush=True)
server.handle_request()
"#,
        path = body_file.display().to_string()
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &program])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().unwrap())
}

#[test]
fn the_documented_webhook_script_posts_the_result_with_curl() {
    let sandbox = Sandbox::new();
    let dir = inbox_with_incompatible_material(&sandbox);
    let posted = sandbox.dir().join("posted");
    let (mut server, port) = webhook_server(&posted);
    let body = documented_script(
        "# /etc/icg-renew/notify: post the result of an unattended renewal that did not renew to a webhook.",
    );
    let body = set(
        &body,
        "URL=https://hooks.example.org/icg-renew",
        &format!("URL=http://127.0.0.1:{port}/icg-renew"),
    );
    let notify = script(&sandbox.dir().join("notify"), &body, 0o700);
    let output = run_inbox(&sandbox, &dir, &notify, &[]);
    let _ = server.kill();
    let _ = server.wait();
    assert_exit(&output, 3);
    let posted = std::fs::read_to_string(&posted).unwrap();
    let (content_type, result) = posted.split_once('\n').unwrap();
    assert_eq!(content_type, "application/json");
    let result: Value = serde_json::from_str(result).unwrap();
    assert_eq!(result["renew"]["result"], "incompatible");
    assert!(log_of(&sandbox).contains("action=notified"));
}
