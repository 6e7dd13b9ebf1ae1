//! At the operator's hour: `renew --at` checks now and keeps the material in a root-only spool;
//! `scheduled --run-due` (time given with the test-only `--now`, never by sleeping) renews at the hour and not
//! a minute before; incompatible material is refused at scheduling time; the due run checks again against
//! what is installed then; a missed time moves to the next day; cancel removes; a newer scheduling replaces
//! the older; a spool entry the tool did not write is refused. All of it fails on a main without `--at`.

mod sandbox;

use sandbox::{assert_exit, json, Sandbox};
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

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

#[test]
fn spool_entries_icg_renew_did_not_write_are_refused_not_run() {
    let sandbox = Sandbox::new();
    let before = std::fs::read(sandbox.keystore()).unwrap();
    let report = json(&schedule(&sandbox, &sandbox.material(), "02:30"));
    let id = report["id"].as_str().unwrap().to_string();
    let day = date_of(&report["at"]);
    let dir = spool(&sandbox);
    // A copy of the real entry under another id, owned by another account.
    let planted = "00000000000000aa";
    for part in ["json", "new"] {
        let to = dir.join(format!("{planted}.{part}"));
        let text = std::fs::read_to_string(dir.join(format!("{id}.{part}")))
            .unwrap_or_default()
            .replace(&id, planted);
        std::fs::write(&to, text).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&to, Some(65534), Some(65534)).unwrap();
    }
    // The real entry's material replaced by a link, a FIFO beside it, a name icg-renew never writes.
    std::fs::remove_file(dir.join(format!("{id}.new"))).unwrap();
    std::os::unix::fs::symlink(sandbox.material(), dir.join(format!("{id}.new"))).unwrap();
    let fifo = dir.join("00000000000000bb.new");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::write(dir.join("notes.txt"), b"x").unwrap();

    let due = run_due(&sandbox, &format!("{day}T02:30:00Z"));
    assert!(due["ran"].is_null(), "{due}");
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
    assert!(
        has("00000000000000aa.json: owned by uid 65534"),
        "{refused:?}"
    );
    assert!(
        has("notes.txt: a name icg-renew does not write"),
        "{refused:?}"
    );
    assert_eq!(std::fs::read(sandbox.keystore()).unwrap(), before);
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
