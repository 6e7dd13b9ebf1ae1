//! At the operator's hour: `renew --at` checks now and keeps the material in a root-only spool;
//! `scheduled --run-due` (time given with the test-only `--now`, never by sleeping) renews at the hour and not
//! a minute before; incompatible material is refused at scheduling time; the due run checks again against
//! what is installed then; a missed time moves to the next day; cancel removes; a newer scheduling replaces
//! the older; a spool entry the tool did not write (another account's, made with `useradd`; a link; a FIFO)
//! is refused; `inbox --at` schedules the dropped material; paths that are not UTF-8 come back byte for
//! byte; an entry of an older spool format is refused. All of it fails on a main without `--at`.

mod account;
mod gateway;
mod sandbox;

use account::Account;
use gateway::{free_port, Gateway};
use sandbox::{assert_exit, json, Sandbox};
use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spool(sandbox: &Sandbox) -> PathBuf {
    sandbox.dir().join("scheduled")
}

/// `--json` COMMAND with the spool and UTC as the local time zone.
fn icg(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = sandbox.icg_json();
    cmd.args(args)
        .arg("--schedule-dir")
        .arg(spool(sandbox))
        .env("TZ", "UTC")
        .env("ICG_RENEW_NOTIFY", sandbox.dir().join("no-notify"))
        .timeout(std::time::Duration::from_secs(120));
    cmd.output().unwrap()
}

fn schedule(sandbox: &Sandbox, material: &Path, when: &str) -> Output {
    let material = material.display().to_string();
    icg(
        sandbox,
        &["renew", &material, "--restart", "none", "--at", when],
    )
}

fn run_due(sandbox: &Sandbox, now: &str) -> Value {
    let output = icg(sandbox, &["scheduled", "--run-due", "--now", now]);
    assert!(
        output.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    json(&output)
}

fn spool_names(sandbox: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(spool(sandbox))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ`, by `date`.
fn chrono_free_unix(at: &str) -> i64 {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", at, "+%s"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The date part of an RFC 3339 time.
fn date_of(at: &Value) -> String {
    at.as_str().unwrap()[..10].to_string()
}

#[test]
fn scheduled_for_0230_it_waits_at_0229_and_renews_at_0230() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let output = schedule(&sandbox, &sandbox.material(), "02:30");
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "scheduled", "{report}");
    let id = report["id"].as_str().unwrap().to_string();
    assert!(
        report["at"].as_str().unwrap().ends_with("T02:30:00Z"),
        "{report}"
    );
    let day = date_of(&report["at"]);
    // Nothing changed yet; the material waits, root's, 0600, in a 0700 directory.
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    let meta = std::fs::metadata(spool(&sandbox)).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700);
    assert_eq!(
        spool_names(&sandbox),
        [format!("{id}.json"), format!("{id}.new")]
    );
    for name in spool_names(&sandbox) {
        let meta = std::fs::metadata(spool(&sandbox).join(name)).unwrap();
        assert_eq!((meta.mode() & 0o777, meta.uid()), (0o600, 0));
    }

    // status and the metrics show the renewal that waits.
    let metrics = sandbox.dir().join("icg.prom");
    let metrics_arg = metrics.display().to_string();
    let status = json(&icg(&sandbox, &["status", "--prometheus", &metrics_arg]));
    assert_eq!(status["scheduled"]["id"], id.as_str(), "{status}");
    assert_eq!(status["scheduled"]["at"], report["at"]);
    let at = chrono_free_unix(report["at"].as_str().unwrap());
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains(&format!("\nicg_renew_scheduled_timestamp_seconds {at}\n")),
        "{text}"
    );

    let early = run_due(&sandbox, &format!("{day}T02:29:00Z"));
    assert!(early["ran"].is_null(), "{early}");
    assert_eq!(early["waiting"][0]["id"], id.as_str());
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);

    let due = run_due(&sandbox, &format!("{day}T02:30:00Z"));
    assert_eq!(due["ran"][0]["id"], id.as_str(), "{due}");
    assert_eq!(due["ran"][0]["result"], "renewed", "{due}");
    assert!(sandbox.days_left() > 300);
    assert_eq!(sandbox.backups().len(), 1);
    assert!(sandbox.keytool_list().status.success());
    assert!(
        spool_names(&sandbox).is_empty(),
        "{:?}",
        spool_names(&sandbox)
    );
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(log.contains(&format!("action=scheduled id={id}")), "{log}");
    assert!(log.contains("command=renew action=renewed"), "{log}");
    // The due run says which entry it was, after the renewal's own lines.
    let last = log.lines().last().unwrap();
    assert!(
        last.contains(&format!("command=scheduled action=ran-scheduled id={id}"))
            && last.contains("result=renewed exit=0"),
        "{log}"
    );
}

#[test]
fn incompatible_material_is_refused_when_scheduling_and_nothing_is_kept() {
    let sandbox = Sandbox::new();
    let output = schedule(
        &sandbox,
        &sandbox.root().join("incompatible/other-root.pem"),
        "02:30",
    );
    assert_exit(&output, 3);
    assert_eq!(json(&output)["result"], "incompatible");
    assert!(spool_names(&sandbox).is_empty());
}

#[test]
fn a_renewal_in_between_is_seen_by_the_due_run() {
    let sandbox = Sandbox::new();
    let report = json(&schedule(&sandbox, &sandbox.material(), "02:30"));
    let day = date_of(&report["at"]);
    // Another renewal installs the same material before the hour.
    assert_exit(&sandbox.renew_without_restart(), 0);
    let installed = std::fs::read(sandbox.keystore()).unwrap();
    let backups = sandbox.backups().len();
    // The site's notify script hears of the due run's outcome.
    let heard = sandbox.dir().join("heard");
    let notify = sandbox.dir().join("no-notify");
    std::fs::write(
        &notify,
        format!(
            "#!/bin/sh\n{{ echo \"$ICG_RENEW_RESULT\"; cat; }} > '{}'\n",
            heard.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&notify, std::fs::Permissions::from_mode(0o700)).unwrap();
    let output = icg(
        &sandbox,
        &[
            "scheduled",
            "--run-due",
            "--now",
            &format!("{day}T02:30:00Z"),
        ],
    );
    // Checked again against what is installed now: the new certificate is no longer newer than the
    // installed one, so the due run is incompatible, exit 3, and nothing is half-done.
    assert_exit(&output, 3);
    let due = json(&output);
    let ran = &due["ran"][0];
    assert_eq!(ran["result"], "incompatible", "{due}");
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), installed);
    assert_eq!(sandbox.backups().len(), backups);
    let heard = std::fs::read_to_string(&heard).unwrap();
    let (result, document) = heard.split_once('\n').unwrap();
    assert_eq!(result, "incompatible");
    let document: Value = serde_json::from_str(document).unwrap();
    assert_eq!(document["ran"][0]["result"], "incompatible");
    assert!(sandbox.keytool_list().status.success());
    assert!(spool_names(&sandbox).is_empty());
}

#[test]
fn a_time_missed_by_more_than_twelve_hours_moves_to_the_next_day() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let report = json(&schedule(&sandbox, &sandbox.material(), "02:30"));
    let day = date_of(&report["at"]);
    let late = run_due(&sandbox, &format!("{day}T14:31:00Z"));
    assert!(late["ran"].is_null(), "{late}");
    let moved = late["moved"][0]["at"].as_str().unwrap();
    assert!(
        moved.ends_with("T02:30:00Z") && moved[..10] > day[..],
        "{late}"
    );
    assert_eq!(late["waiting"][0]["at"], moved);
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(log.contains("action=moved"), "{log}");
}

#[test]
fn cancel_removes_and_a_newer_scheduling_replaces_the_older() {
    let sandbox = Sandbox::new();
    let first = json(&schedule(&sandbox, &sandbox.material(), "02:30"));
    let second = json(&schedule(&sandbox, &sandbox.material(), "03:30"));
    let (first, second) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    assert_ne!(first, second);
    let listed = json(&icg(&sandbox, &["scheduled"]));
    let waiting = listed["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 1, "{listed}");
    assert_eq!(waiting[0]["id"], second);
    assert!(spool_names(&sandbox).iter().all(|n| n.starts_with(second)));

    let cancelled = icg(&sandbox, &["scheduled", "--cancel", second]);
    assert_exit(&cancelled, 0);
    assert_eq!(json(&cancelled)["cancelled"], second);
    assert!(spool_names(&sandbox).is_empty());
    assert_exit(&icg(&sandbox, &["scheduled", "--cancel", second]), 2);
}

/// Issue 24: a spool entry planted by another account — made with `useradd` — is refused, as are a link, a
/// FIFO and a name icg-renew does not write (those two also the account's); none of it is run, and the
/// planted files are left as they are. (On the old main, the account was a bare uid 65534.)
#[test]
fn spool_entries_icg_renew_did_not_write_are_refused_not_run() {
    if !rustix::process::geteuid().is_root() {
        eprintln!(
            "SKIPPED spool_entries_icg_renew_did_not_write_are_refused_not_run: needs root (useradd, chown); CI runs as root"
        );
        return;
    }
    let account = Account::create("icgsched24");
    let owned_by_account = |path: &Path| {
        std::os::unix::fs::lchown(path, Some(account.uid), Some(account.uid)).unwrap();
    };
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let report = json(&schedule(&sandbox, &sandbox.material(), "02:30"));
    let id = report["id"].as_str().unwrap().to_string();
    let day = date_of(&report["at"]);
    let dir = spool(&sandbox);
    // A whole entry (its json and material, valid in every other way) as the account would leave it.
    let planted = "00000000000000aa";
    for part in ["json", "new"] {
        let to = dir.join(format!("{planted}.{part}"));
        let data = std::fs::read(dir.join(format!("{id}.{part}"))).unwrap();
        let data = if part == "json" {
            String::from_utf8(data)
                .unwrap()
                .replace(&id, planted)
                .into_bytes()
        } else {
            data
        };
        std::fs::write(&to, data).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
        owned_by_account(&to);
    }
    // The real entry's material replaced by the account's link, the account's FIFO beside it, a name
    // icg-renew never writes.
    std::fs::remove_file(dir.join(format!("{id}.new"))).unwrap();
    let link = dir.join(format!("{id}.new"));
    std::os::unix::fs::symlink(sandbox.material(), &link).unwrap();
    owned_by_account(&link);
    let fifo = dir.join("00000000000000bb.new");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    owned_by_account(&fifo);
    std::fs::write(dir.join("notes.txt"), b"x").unwrap();

    let due = run_due(&sandbox, &format!("{day}T02:30:00Z"));
    assert!(due["ran"].is_null(), "{due}");
    assert!(due["waiting"].as_array().unwrap().is_empty(), "{due}");
    let refused: Vec<String> = due["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r["name"].as_str().unwrap(),
                r["why"].as_str().unwrap()
            )
        })
        .collect();
    let has = |what: &str| refused.iter().any(|r| r.contains(what));
    assert!(has(&format!("{id}.new: a symbolic link")), "{refused:?}");
    assert!(
        has("00000000000000bb.new: not a regular file"),
        "{refused:?}"
    );
    for part in ["json", "new"] {
        assert!(
            has(&format!(
                "{planted}.{part}: owned by uid {}, not by uid 0",
                account.uid
            )),
            "{refused:?}"
        );
    }
    assert!(
        has("notes.txt: a name icg-renew does not write"),
        "{refused:?}"
    );
    // Not run, not touched: the keystore as it was, no backup, the planted files still there.
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert!(sandbox.backups().is_empty());
    for name in [format!("{planted}.json"), format!("{planted}.new")] {
        assert_eq!(
            std::fs::symlink_metadata(dir.join(&name)).unwrap().uid(),
            account.uid
        );
    }
    // Nor can it be cancelled in the tool's name.
    assert_exit(&icg(&sandbox, &["scheduled", "--cancel", planted]), 2);
    assert!(dir.join(format!("{planted}.new")).exists());
    drop(account);
    assert!(!Command::new("id")
        .arg("icgsched24")
        .output()
        .unwrap()
        .status
        .success());
}

/// Issue 24: `inbox --at 02:30` checks the dropped material now, keeps it in the spool like `renew --at`,
/// and files it in `done/` with a result that says `scheduled`; the gateway keeps serving the old certificate
/// until the due run at 02:30 renews, restarts the stand-in gateway and confirms it serves the new one.
/// (Fails on a main without `inbox --at`.)
#[test]
fn inbox_at_schedules_the_dropped_material_and_the_due_run_renews_the_gateway() {
    let port = free_port();
    let sandbox = Sandbox::with_port(port);
    let gateway = Gateway::start(&sandbox.keystore(), &sandbox.password_file(), port);
    let old = gateway.served_fingerprint().unwrap();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let inbox = sandbox.dir().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::set_permissions(&inbox, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(sandbox.material(), inbox.join("keystore.icg")).unwrap();
    let inbox_arg = inbox.display().to_string();
    let restart = gateway.restart_command();
    let output = icg(
        &sandbox,
        &[
            "inbox",
            &inbox_arg,
            "--settle",
            "0",
            "--wait",
            "30",
            "--restart-command",
            &restart,
            "--at",
            "02:30",
        ],
    );
    assert_exit(&output, 0);
    let report = json(&output);
    assert!(report["renew"].is_null(), "{report}");
    let scheduled = &report["scheduled"];
    assert_eq!(scheduled["result"], "scheduled", "{report}");
    let id = scheduled["id"].as_str().unwrap().to_string();
    assert!(
        scheduled["at"].as_str().unwrap().ends_with("T02:30:00Z"),
        "{report}"
    );
    // Filed in done/, its result document the scheduling.
    let filed: Value =
        serde_json::from_slice(&std::fs::read(inbox.join("done/keystore.icg.json")).unwrap())
            .unwrap();
    assert_eq!(filed["result"], "scheduled", "{filed}");
    assert_eq!(filed["id"], id.as_str());
    assert_eq!(filed["at"], scheduled["at"]);
    assert!(inbox.join("done/keystore.icg").exists());
    // Nothing changed yet; the material waits in the spool as `renew --at` keeps it.
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    assert!(sandbox.backups().is_empty());
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(old.as_str()));
    assert_eq!(
        spool_names(&sandbox),
        [format!("{id}.json"), format!("{id}.new")]
    );
    assert_eq!(scheduled["waiting"][0]["how"], "inbox --at", "{report}");
    let log = std::fs::read_to_string(sandbox.log()).unwrap();
    assert!(
        log.contains(&format!("command=inbox action=scheduled id={id}")),
        "{log}"
    );

    let day = date_of(&scheduled["at"]);
    let early = run_due(&sandbox, &format!("{day}T02:29:00Z"));
    assert!(early["ran"].is_null(), "{early}");
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(old.as_str()));
    let due = run_due(&sandbox, &format!("{day}T02:30:00Z"));
    let ran = &due["ran"][0];
    assert_eq!(ran["result"], "renewed", "{due}");
    let new = ran["renew"]["new"]["sha256"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(gateway.served_fingerprint().as_deref(), Some(new));
    assert!(
        ran["renew"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "confirm"),
        "{due}"
    );
    assert_eq!(sandbox.backups().len(), 1);
    assert!(sandbox.keytool_list().status.success());
    assert!(spool_names(&sandbox).is_empty());
}

/// Issue 24: the options a renewal runs with later are kept byte for byte. A keystore, a backup directory
/// and an audit log whose directory names are not UTF-8 are scheduled, and the due run renews exactly that
/// keystore, backs it up into exactly that directory and logs to exactly that file. (On the old main the
/// kept options were text: the names came back altered and the due run failed.) Plain output: the JSON
/// documents cannot carry such a path yet.
#[test]
fn paths_that_are_not_utf8_come_back_byte_for_byte_in_the_due_run() {
    let sandbox = Sandbox::new();
    let odd = |name: &[u8]| sandbox.dir().join(OsStr::from_bytes(name));
    let keys = odd(b"keys-\xff\xfe");
    let backups = odd(b"backups-\xe9t\xe9");
    let logs = odd(b"logs-\x80");
    for dir in [&keys, &backups, &logs] {
        std::fs::create_dir(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let keystore = keys.join("keystore.jks");
    std::fs::copy(sandbox.keystore(), &keystore).unwrap();
    std::fs::set_permissions(&keystore, std::fs::Permissions::from_mode(0o600)).unwrap();
    let log = logs.join("audit.log");
    let before = std::fs::read(&keystore).unwrap();
    let icg_odd = |args: &[&OsStr]| {
        Command::new(assert_cmd::cargo::cargo_bin("icg-renew"))
            .arg("--yes")
            .arg("--icg-root")
            .arg(sandbox.root())
            .arg("--keystore")
            .arg(&keystore)
            .arg("--log-file")
            .arg(&log)
            .args(args)
            .arg("--schedule-dir")
            .arg(spool(&sandbox))
            .env("TZ", "UTC")
            .env("ICG_RENEW_NOTIFY", sandbox.dir().join("no-notify"))
            .output()
            .unwrap()
    };
    let material = sandbox.material();
    let output = icg_odd(&[
        OsStr::new("renew"),
        material.as_os_str(),
        OsStr::new("--restart"),
        OsStr::new("none"),
        OsStr::new("--backup-dir"),
        backups.as_os_str(),
        OsStr::new("--at"),
        OsStr::new("02:30"),
    ]);
    assert_exit(&output, 0);
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    // "Scheduled: renewal ID at YYYY-MM-DDT02:30:00Z."
    let (id, at) = said
        .lines()
        .find_map(|l| l.strip_prefix("Scheduled: renewal "))
        .and_then(|rest| rest.trim_end_matches('.').split_once(" at "))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(at.ends_with("T02:30:00Z"), "{said}");
    assert_eq!(std::fs::read(&keystore).unwrap(), before);
    let kept: Value =
        serde_json::from_slice(&std::fs::read(spool(&sandbox).join(format!("{id}.json"))).unwrap())
            .unwrap();
    assert_eq!(kept["format"], 2, "{kept}");

    let now = format!("{}T02:30:00Z", &at[..10]);
    let due = icg_odd(&[
        OsStr::new("scheduled"),
        OsStr::new("--run-due"),
        OsStr::new("--now"),
        OsStr::new(&now),
    ]);
    let ran = String::from_utf8_lossy(&due.stdout).into_owned();
    assert!(
        ran.contains(&format!("Ran {id}: renewed (exit 0)")),
        "{ran}{}",
        String::from_utf8_lossy(&due.stderr)
    );
    assert_exit(&due, 0);
    // That keystore renewed (read back by keytool from a plain name), the installation's own untouched.
    assert_ne!(std::fs::read(&keystore).unwrap(), before);
    let copy = sandbox.dir().join("renewed.jks");
    std::fs::copy(&keystore, &copy).unwrap();
    let listed = Command::new("keytool")
        .args(["-list", "-keystore"])
        .arg(&copy)
        .args(["-storepass", &sandbox.password()])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    // Its backup in exactly that directory, and the due run's lines in exactly that log.
    let backed_up: Vec<_> = std::fs::read_dir(&backups).unwrap().collect();
    assert_eq!(backed_up.len(), 1, "{backed_up:?}");
    let lines = std::fs::read_to_string(&log).unwrap();
    assert!(lines.contains("command=renew action=renewed"), "{lines}");
    assert!(spool_names(&sandbox).is_empty());
}

/// Issue 24: an entry of the older spool format (options kept as text, no `format`) is refused with one
/// clear line that says why and how to remove it, never run; `--cancel` removes it.
#[test]
fn an_entry_of_an_older_spool_format_is_refused_and_can_be_cancelled() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let report = json(&schedule(&sandbox, &sandbox.material(), "02:30"));
    let id = report["id"].as_str().unwrap().to_string();
    let day = date_of(&report["at"]);
    // The same entry as the older icg-renew wrote it: no format, paths and options as text.
    let kept = spool(&sandbox).join(format!("{id}.json"));
    let mut old: Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    let object = old.as_object_mut().unwrap();
    object.remove("format");
    object.insert(
        "keystore".into(),
        Value::String(sandbox.keystore().display().to_string()),
    );
    object.insert(
        "args".into(),
        serde_json::json!(["renew", "--restart", "none"]),
    );
    std::fs::write(&kept, serde_json::to_vec(&old).unwrap()).unwrap();

    let due = run_due(&sandbox, &format!("{day}T02:30:00Z"));
    assert!(due["ran"].is_null(), "{due}");
    let refused = &due["refused"][0];
    assert_eq!(refused["name"], format!("{id}.*"), "{due}");
    let why = refused["why"].as_str().unwrap();
    assert!(
        why.contains("spool format 1") && why.contains(&format!("--cancel {id}")),
        "{why}"
    );
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
    // Said on stderr too, one line.
    let output = icg(&sandbox, &["scheduled"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("spool format 1"), "{stderr}");

    let cancelled = icg(&sandbox, &["scheduled", "--cancel", &id]);
    assert_exit(&cancelled, 0);
    assert!(spool_names(&sandbox).is_empty());
}

/// An acme.sh `--reloadcmd` with `--at`: the key and the full chain are kept, and renew at the hour.
#[test]
fn a_deploy_hook_with_at_schedules_and_the_due_run_renews() {
    let sandbox = Sandbox::new();
    let bundle = sandbox.root().join("new/new-bundle.pem");
    let key = sandbox.dir().join("key.pem");
    let fullchain = sandbox.dir().join("fullchain.pem");
    assert!(std::process::Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(&bundle)
        .arg("-out")
        .arg(&key)
        .status()
        .unwrap()
        .success());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(&bundle).unwrap();
    let certs: Vec<&str> = text
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter_map(|c| c.find("-----BEGIN CERTIFICATE-----").map(|i| &c[i..]))
        .collect();
    std::fs::write(&fullchain, certs.concat()).unwrap();
    let mut cmd = sandbox.icg_json();
    let output = cmd
        .args([
            "renew",
            "--yes",
            "--from-hook",
            "--at",
            "02:30",
            "--restart",
            "none",
        ])
        .arg("--schedule-dir")
        .arg(spool(&sandbox))
        .env("TZ", "UTC")
        .env("CERT_KEY_PATH", &key)
        .env("CERT_FULLCHAIN_PATH", &fullchain)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let report = json(&output);
    assert_eq!(report["result"], "scheduled", "{report}");
    assert_eq!(report["waiting"][0]["how"], "renew --from-hook --at");
    let id = report["id"].as_str().unwrap();
    assert_eq!(
        spool_names(&sandbox),
        [
            format!("{id}.json"),
            format!("{id}.key"),
            format!("{id}.new")
        ]
    );
    let due = run_due(&sandbox, &format!("{}T02:30:00Z", date_of(&report["at"])));
    assert_eq!(due["ran"][0]["result"], "renewed", "{due}");
    assert!(sandbox.days_left() > 300);
}
