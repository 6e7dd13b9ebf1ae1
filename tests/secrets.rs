//! No secret reaches a terminal, a log or a child's environment: every command of the suite's scenarios is
//! run, and its stdout, stderr and the audit log are searched for the store password, the new material's
//! password and PEM private-key markers. The restart command's environment is searched too.

use assert_cmd::Command;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

struct Run {
    what: String,
    text: String,
}

fn run(what: &str, root: &Path, log: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::cargo_bin("icg-renew").unwrap();
    cmd.arg("--icg-root")
        .arg(root)
        .arg("--log-file")
        .arg(log)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    Run {
        what: what.to_string(),
        text: format!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[test]
fn no_command_prints_or_logs_a_password_or_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("icg");
    Command::cargo_bin("icg-renew")
        .unwrap()
        .arg("sandbox")
        .arg(&root)
        .assert()
        .success();
    let yaml = std::fs::read_to_string(root.join("usg/conf/application-prod.yml")).unwrap();
    let store_password = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("key-store-password: "))
        .unwrap()
        .to_string();
    let new_password = std::fs::read_to_string(fixture("new.pass")).unwrap();
    let new_pass_file = dir.path().join("new.pass");
    std::fs::write(&new_pass_file, &new_password).unwrap();
    std::fs::set_permissions(&new_pass_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wrong_file = dir.path().join("wrong.pass");
    std::fs::write(&wrong_file, "a-wrong-guess-4711").unwrap();
    let log = dir.path().join("audit.log");
    let env_file = dir.path().join("restart-env");
    let new = root.join("new/keystore.icg");
    let (new, pem, npf, wrong, envf) = (
        new.to_str().unwrap(),
        root.join("new/new-bundle.pem"),
        new_pass_file.to_str().unwrap(),
        wrong_file.to_str().unwrap(),
        env_file.to_str().unwrap(),
    );
    let restart_dump = format!("env > {envf}");
    let env_store = [("ICG_RENEW_STORE_PASSWORD", store_password.as_str())];
    let env_new = [("ICG_RENEW_NEW_PASSWORD", new_password.as_str())];

    let runs = vec![
        run("status", &root, &log, &[], &["status"]),
        run("status --json", &root, &log, &[], &["--json", "status"]),
        run("verify", &root, &log, &[], &["verify", new]),
        run(
            "verify pem --json",
            &root,
            &log,
            &[],
            &["--json", "verify", pem.to_str().unwrap()],
        ),
        run(
            "verify protected p12",
            &root,
            &log,
            &[],
            &[
                "verify",
                fixture("new-rsa.p12").to_str().unwrap(),
                "--new-password-file",
                npf,
            ],
        ),
        run(
            "verify protected p12, env",
            &root,
            &log,
            &env_new,
            &["--json", "verify", fixture("new-rsa.p12").to_str().unwrap()],
        ),
        run(
            "verify wrong new password",
            &root,
            &log,
            &[],
            &[
                "verify",
                fixture("new-rsa.p12").to_str().unwrap(),
                "--new-password-file",
                wrong,
            ],
        ),
        run(
            "verify encrypted key",
            &root,
            &log,
            &[],
            &[
                "verify",
                fixture("new-rsa.pem").to_str().unwrap(),
                "--key",
                fixture("new-rsa-enc.key").to_str().unwrap(),
                "--new-password-file",
                npf,
            ],
        ),
        run(
            "status wrong store password",
            &root,
            &log,
            &[],
            &["--store-password-file", wrong, "status"],
        ),
        run(
            "renew dry run",
            &root,
            &log,
            &[],
            &["renew", new, "--dry-run", "--restart", "none"],
        ),
        run(
            "renew, restart env dumped",
            &root,
            &log,
            &env_store,
            &[
                "renew",
                new,
                "--restart-command",
                &restart_dump,
                "--no-health-check",
            ],
        ),
        run(
            "renew failing restart",
            &root,
            &log,
            &[],
            &[
                "--json",
                "renew",
                pem.to_str().unwrap(),
                "--restart-command",
                "exit 1",
            ],
        ),
        run("backups", &root, &log, &[], &["backups"]),
        run("backups --json", &root, &log, &[], &["--json", "backups"]),
        run(
            "rollback",
            &root,
            &log,
            &[],
            &["rollback", "--restart", "none"],
        ),
        run("demo", &root, &log, &[], &["demo"]),
        run("demo --json", &root, &log, &[], &["--json", "demo"]),
    ];
    let audit = std::fs::read_to_string(&log).unwrap();
    assert!(
        audit.contains("action=renewed")
            && audit.contains("action=failed")
            && audit.contains("action=restored"),
        "{audit}"
    );
    let restart_env = std::fs::read_to_string(&env_file).unwrap();
    let secrets = [
        store_password.as_str(),
        new_password.as_str(),
        "a-wrong-guess-4711",
        "PRIVATE KEY",
    ];
    for secret in secrets {
        for r in &runs {
            assert!(
                !r.text.contains(secret),
                "{} printed a secret:\n{}",
                r.what,
                r.text
            );
        }
        assert!(
            !audit.contains(secret),
            "the audit log holds a secret:\n{audit}"
        );
        assert!(
            !restart_env.contains(secret),
            "the restart command's environment holds a secret"
        );
    }
    assert!(
        restart_env.contains("PATH="),
        "the environment dump is empty: {restart_env}"
    );
}
