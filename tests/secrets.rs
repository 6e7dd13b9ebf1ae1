//! No secret reaches a terminal, a log or a child's environment: every command of the suite's scenarios is
//! run, and its stdout, stderr and the audit log are searched for the store password, the new material's
//! password and PEM private-key markers. The restart command's environment is searched too.

mod common;
mod sandbox;

use common::fixture;
use sandbox::{write_secret, Sandbox};

struct Run {
    what: String,
    text: String,
}

/// Runs the binary on the sandbox with `env` added; keeps what it printed.
fn run(what: &str, sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Run {
    let output = sandbox
        .icg()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap();
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
    let sandbox = Sandbox::new();
    let store_password = sandbox.password();
    let new_password = std::fs::read_to_string(fixture("new.pass")).unwrap();
    let new_pass_file = sandbox.dir().join("new.pass");
    write_secret(&new_pass_file, &new_password);
    let wrong_file = sandbox.dir().join("wrong.pass");
    std::fs::write(&wrong_file, "a-wrong-guess-4711").unwrap();
    let env_file = sandbox.dir().join("restart-env");
    let new = sandbox.material();
    let (new, pem, npf, wrong, envf) = (
        new.to_str().unwrap(),
        sandbox.root().join("new/new-bundle.pem"),
        new_pass_file.to_str().unwrap(),
        wrong_file.to_str().unwrap(),
        env_file.to_str().unwrap(),
    );
    let restart_dump = format!("env > {envf}");
    let env_store = [("ICG_RENEW_STORE_PASSWORD", store_password.as_str())];
    let env_new = [("ICG_RENEW_NEW_PASSWORD", new_password.as_str())];

    let runs = vec![
        run("status", &sandbox, &[], &["status"]),
        run("status --json", &sandbox, &[], &["--json", "status"]),
        run("verify", &sandbox, &[], &["verify", new]),
        run(
            "verify pem --json",
            &sandbox,
            &[],
            &["--json", "verify", pem.to_str().unwrap()],
        ),
        run(
            "verify protected p12",
            &sandbox,
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
            &sandbox,
            &env_new,
            &["--json", "verify", fixture("new-rsa.p12").to_str().unwrap()],
        ),
        run(
            "verify wrong new password",
            &sandbox,
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
            &sandbox,
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
            &sandbox,
            &[],
            &["--store-password-file", wrong, "status"],
        ),
        run(
            "renew dry run",
            &sandbox,
            &[],
            &["renew", new, "--dry-run", "--restart", "none"],
        ),
        // The failing restart first: new-bundle.pem holds the certificate keystore.icg holds, which after a
        // renewal is the installed one (`differs-from-installed` would stop it before any restart).
        run(
            "renew failing restart",
            &sandbox,
            &[],
            &[
                "--json",
                "renew",
                pem.to_str().unwrap(),
                "--restart-command",
                "exit 1",
            ],
        ),
        run(
            "renew, restart env dumped",
            &sandbox,
            &env_store,
            &[
                "renew",
                new,
                "--restart-command",
                &restart_dump,
                "--no-health-check",
            ],
        ),
        run("backups", &sandbox, &[], &["backups"]),
        run("backups --json", &sandbox, &[], &["--json", "backups"]),
        run(
            "rollback",
            &sandbox,
            &[],
            &["rollback", "--restart", "none"],
        ),
        run("demo", &sandbox, &[], &["demo"]),
        run("demo --json", &sandbox, &[], &["--json", "demo"]),
    ];
    let audit = std::fs::read_to_string(sandbox.log()).unwrap();
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
