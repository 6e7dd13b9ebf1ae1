//! `status` for monitoring: the plugin summary line (checked against the monitoring-plugin guidelines'
//! grammar), `status --prometheus FILE` (checked against the text exposition format's rules, values read back
//! from the keystore's real state and the audit log of real renewals), and the daily check wrapper writing it.

mod sandbox;

use sandbox::{assert_exit, json, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One performance-data item: `'label'=value[UOM];[warn];[crit];[min];[max]`.
#[derive(Debug)]
struct Perf {
    label: String,
    value: f64,
    warn: String,
    crit: String,
}

/// A Nagios range: `[@][start:][end]`, start may be `~`; an empty threshold is allowed.
fn is_range(text: &str) -> bool {
    let text = text.strip_prefix('@').unwrap_or(text);
    if text.is_empty() {
        return true;
    }
    let (start, end) = match text.split_once(':') {
        Some((s, e)) => (s, e),
        None => ("", text),
    };
    let number = |t: &str| t.is_empty() || t.parse::<f64>().is_ok();
    (start == "~" || number(start)) && number(end)
}

/// Parses a plugin's first line by the guidelines' grammar: `STATE - text | perfdata`, the text free of
/// `|`, the perfdata space-separated items. Panics naming the rule a line breaks.
fn parse_plugin_line(line: &str) -> (String, String, Vec<Perf>) {
    let (state, rest) = line.split_once(" - ").expect("STATE - text");
    assert!(
        ["OK", "WARNING", "CRITICAL", "UNKNOWN"].contains(&state),
        "state word: {line}"
    );
    let (text, perfdata) = match rest.split_once(" | ") {
        Some((t, p)) => (t, p),
        None => (rest, ""),
    };
    assert!(!text.contains('|'), "one | only: {line}");
    assert!(!text.chars().any(char::is_control), "control char: {line}");
    let mut items = Vec::new();
    for item in perfdata.split(' ').filter(|i| !i.is_empty()) {
        let (label, data) = item.rsplit_once('=').expect("label=value");
        let label = label.trim_matches('\'');
        assert!(
            !label.is_empty() && !label.contains(['=', '\'']),
            "label: {item}"
        );
        let fields: Vec<&str> = data.split(';').collect();
        assert!(fields.len() <= 5, "at most value;warn;crit;min;max: {item}");
        let digits_end = fields[0]
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(fields[0].len());
        let (value, uom) = fields[0].split_at(digits_end);
        assert!(
            ["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"].contains(&uom),
            "unit of measure: {item}"
        );
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {item}"));
        let get = |i: usize| fields.get(i).copied().unwrap_or("").to_string();
        for threshold in [get(1), get(2)] {
            assert!(is_range(&threshold), "threshold range: {item}");
        }
        for bound in [get(3), get(4)] {
            assert!(
                bound.is_empty() || bound.parse::<f64>().is_ok(),
                "min/max: {item}"
            );
        }
        items.push(Perf {
            label: label.to_string(),
            value,
            warn: get(1),
            crit: get(2),
        });
    }
    (state.to_string(), text.to_string(), items)
}

/// Checks text against the Prometheus text exposition format's rules as node_exporter's textfile
/// collector reads them; returns the samples, `name{labels}` → value.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    assert!(text.ends_with('\n'), "ends with a newline");
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped: BTreeMap<String, ()> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let mut finished_families: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(valid_name(name), "{line}");
            assert!(!help.is_empty() && !help.contains('\\'), "{line}");
            assert!(
                helped.insert(name.into(), ()).is_none(),
                "one HELP per family: {line}"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                !samples
                    .keys()
                    .any(|k: &String| k.split('{').next() == Some(name)),
                "TYPE before the family's samples: {line}"
            );
            assert!(typed.insert(name.into(), kind.into()).is_none(), "{line}");
            continue;
        }
        assert!(
            !line.starts_with('#') && !line.is_empty(),
            "stray line: {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let name = series.split('{').next().unwrap();
        assert!(valid_name(name), "metric name: {line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .expect("{labels}");
            for pair in inner.split(',') {
                let (label, quoted) = pair.split_once('=').expect("label=\"value\"");
                assert!(
                    valid_name(label) && !label.contains(':'),
                    "label name: {line}"
                );
                assert!(
                    quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                    "quoted label value: {line}"
                );
            }
        }
        assert!(typed.contains_key(name), "TYPE given for {name}");
        if name != current {
            assert!(
                !finished_families.contains(&name.to_string()),
                "a family's samples stand together: {name}"
            );
            finished_families.push(current.clone());
            current = name.to_string();
        }
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "duplicate series: {line}"
        );
    }
    samples
}

fn status_first_line(sandbox: &Sandbox, extra: &[&str]) -> (i32, String) {
    let output = sandbox.icg().arg("status").args(extra).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let first = text.lines().next().unwrap_or("").to_string();
    (output.status.code().unwrap(), first)
}

#[test]
fn the_first_line_of_status_is_the_plugin_summary_with_days_left_as_performance_data() {
    let sandbox = Sandbox::new();
    let report = json(&sandbox.icg_json().arg("status").output().unwrap());
    let days = report["certificate"]["days_left"].as_i64().unwrap();
    let date = &report["certificate"]["not_after"].as_str().unwrap()[..10];
    for (extra, code, state, warn, crit) in [
        (vec![], 1, "WARNING", "30", "7"),
        (
            vec!["--warn-days", "5", "--crit-days", "2"],
            0,
            "OK",
            "5",
            "2",
        ),
        (vec!["--crit-days", "20"], 2, "CRITICAL", "30", "20"),
    ] {
        let (exit, line) = status_first_line(&sandbox, &extra);
        assert_eq!(exit, code, "{line}");
        let (word, text, perf) = parse_plugin_line(&line);
        assert_eq!(word, state, "{line}");
        assert_eq!(text, format!("expires in {days} days ({date})"));
        assert_eq!(perf.len(), 1, "{line}");
        assert_eq!(perf[0].label, "days_left");
        assert_eq!(perf[0].value, days as f64);
        assert_eq!((perf[0].warn.as_str(), perf[0].crit.as_str()), (warn, crit));
    }
}

#[test]
fn status_that_cannot_read_the_keystore_says_unknown_on_the_first_line() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.keystore(), b"not a keystore").unwrap();
    let (exit, line) = status_first_line(&sandbox, &[]);
    assert_eq!(exit, 3);
    let (word, text, perf) = parse_plugin_line(&line);
    assert_eq!(word, "UNKNOWN");
    assert!(text.contains("keystore.jks"), "{line}");
    assert!(perf.is_empty());
    let (exit, line) = status_first_line(&sandbox, &["--warn-days", "many"]);
    assert_eq!(exit, 3);
    assert!(line.starts_with("UNKNOWN - "), "{line}");
}

fn renew(sandbox: &Sandbox, material: &Path) -> i32 {
    let output = sandbox.renew_yes(&["--restart", "none"], material);
    output.status.code().unwrap()
}

fn metrics(sandbox: &Sandbox, file: &Path, expected_exit: i32) -> BTreeMap<String, f64> {
    let output = sandbox
        .icg()
        .arg("status")
        .arg("--prometheus")
        .arg(file)
        .output()
        .unwrap();
    assert_exit(&output, expected_exit);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644, "node_exporter must be able to read it");
    parse_exposition(&std::fs::read_to_string(file).unwrap())
}

#[test]
fn prometheus_metrics_follow_the_format_and_the_keystore_and_the_last_renewal() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir().join("icg-renew.prom");
    let before = metrics(&sandbox, &file, 1);
    let report = json(&sandbox.icg_json().arg("status").output().unwrap());
    assert_eq!(before["icg_renew_status"], 1.0);
    assert_eq!(
        before["icg_renew_certificate_days_left"],
        report["certificate"]["days_left"].as_i64().unwrap() as f64
    );
    let not_after = before["icg_renew_certificate_not_after_timestamp_seconds"] as i64;
    let by_date = std::process::Command::new("date")
        .args(["-u", "-d"])
        .arg(format!("@{not_after}"))
        .arg("+%Y-%m-%dT%H:%M:%SZ")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&by_date.stdout).trim(),
        report["certificate"]["not_after"].as_str().unwrap()
    );
    assert!(
        !before.keys().any(|k| k.starts_with("icg_renew_last")),
        "no renewal yet: {before:?}"
    );

    // An incompatible material is a renewal that was refused.
    let other_root = sandbox.root().join("incompatible/other-root.pem");
    assert_eq!(renew(&sandbox, &other_root), 3);
    let refused = metrics(&sandbox, &file, 1);
    assert_eq!(
        refused["icg_renew_last_result{result=\"incompatible\"}"],
        1.0
    );
    assert_eq!(refused["icg_renew_last_result{result=\"renewed\"}"], 0.0);

    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    assert_eq!(renew(&sandbox, &sandbox.material()), 0);
    let after = metrics(&sandbox, &file, 0);
    assert_eq!(after["icg_renew_status"], 0.0);
    assert!(
        after["icg_renew_certificate_days_left"] > 300.0,
        "{after:?}"
    );
    assert_eq!(after["icg_renew_last_result{result=\"renewed\"}"], 1.0);
    for other in ["rolled-back", "rollback-failed", "incompatible"] {
        assert_eq!(
            after[&format!("icg_renew_last_result{{result=\"{other}\"}}")],
            0.0
        );
    }
    let at = after["icg_renew_last_renewal_timestamp_seconds"];
    assert!(
        (started - 2.0..=started + 60.0).contains(&at),
        "{at} vs {started}"
    );
    let leftovers: Vec<PathBuf> = std::fs::read_dir(sandbox.dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn prometheus_metrics_say_unknown_when_the_keystore_cannot_be_read() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.keystore(), b"not a keystore").unwrap();
    let file = sandbox.dir().join("icg-renew.prom");
    let samples = metrics(&sandbox, &file, 3);
    assert_eq!(samples.len(), 1, "{samples:?}");
    assert_eq!(samples["icg_renew_status"], 3.0);
}

#[test]
fn the_daily_check_wrapper_writes_the_metrics_file_when_asked_to() {
    let sandbox = Sandbox::new();
    let file = sandbox.dir().join("node-exporter.prom");
    daily_check(
        sandbox.root(),
        &file,
        Some(&sandbox.log()),
        1,
        "<4>WARNING - expires in ",
    );

    // No installation: UNKNOWN first, at priority err, and the metrics say 3.
    daily_check(
        &sandbox.dir().join("nowhere"),
        &file,
        None,
        3,
        "<3>UNKNOWN - ",
    );
}

/// Runs packaging/icg-renew-check on the installation `root` (with `--log-file` when given), writing the
/// metrics to `file`; asserts its exit code `status`, the start of its first line, and `status` as the
/// metrics' `icg_renew_status`.
fn daily_check(root: &Path, file: &Path, log_file: Option<&Path>, status: i32, first: &str) {
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/icg-renew-check");
    let mut check = std::process::Command::new("sh");
    check.arg(&wrapper);
    if let Some(log_file) = log_file {
        check.arg("--log-file").arg(log_file);
    }
    let output = check
        .env("ICG_RENEW", env!("CARGO_BIN_EXE_icg-renew"))
        .env("ICG_ROOT", root)
        .env("ICG_RENEW_PROMETHEUS_FILE", file)
        .output()
        .unwrap();
    assert_exit(&output, status);
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.lines().next().unwrap().starts_with(first), "{log}");
    let samples = parse_exposition(&std::fs::read_to_string(file).unwrap());
    assert_eq!(samples["icg_renew_status"], f64::from(status));
}

/// Asserts that `check` panics (rejects) on each of `bad`.
fn assert_rejects<T>(check: fn(&str) -> T, bad: &[&str]) {
    for bad in bad {
        assert!(std::panic::catch_unwind(|| check(bad)).is_err(), "{bad}");
    }
}

#[test]
fn the_grammar_checks_reject_what_they_should() {
    assert_rejects(
        parse_plugin_line,
        &[
            "OK: expires | days_left=3;30;7",
            "OK - a | b | days_left=3",
            "OK - text | days_left=three;30;7",
            "OK - text | days_left=3;x;7",
        ],
    );
    assert_rejects(
        parse_exposition,
        &[
            "no_type 1\n",
            "# TYPE a gauge\na 1",
            "# TYPE a gauge\na{x=1} 1\n",
            "# TYPE a gauge\na 1\na 2\n",
            "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 2\n",
        ],
    );
}

#[test]
fn a_rolled_back_renewal_is_the_last_result() {
    let sandbox = Sandbox::new();
    let flag = sandbox.dir().join("restarted-once");
    // The first restart (after the rewrite) fails; the second (after the restore) works: a rollback.
    let restart = format!(
        "test -e '{0}' || {{ touch '{0}'; exit 1; }}",
        flag.display()
    );
    let output = sandbox.renew_yes(
        &["--no-health-check", "--restart-command", &restart],
        &sandbox.material(),
    );
    assert_exit(&output, 4);
    let file = sandbox.dir().join("icg-renew.prom");
    let samples = metrics(&sandbox, &file, 1);
    assert_eq!(
        samples["icg_renew_last_result{result=\"rolled-back\"}"],
        1.0
    );
    assert_eq!(samples["icg_renew_last_result{result=\"renewed\"}"], 0.0);
}

/// One failure is one journal entry: the daily check logs status's UNKNOWN summary once, at err, and not
/// again from stderr or as a closing line (issue 22, point 9: three entries before).
#[test]
fn the_daily_check_logs_a_failure_once() {
    let missing = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/icg-renew-check"))
        .env("ICG_RENEW", env!("CARGO_BIN_EXE_icg-renew"))
        .env("ICG_ROOT", missing.path().join("no-icg"))
        .env_remove("ICG_RENEW_PROMETHEUS_FILE")
        .output()
        .unwrap();
    assert_exit(&output, 3);
    let log = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].starts_with("<3>UNKNOWN - cannot read the ICG configuration"),
        "{log}"
    );
}
