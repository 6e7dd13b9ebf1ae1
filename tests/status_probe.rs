//! `status` asks the running gateway (the JVM stand-in, tests/java/IcgStandIn.java) what it serves and what the
//! ICG's check-status says: the plain output, the JSON `served` object, the plugin line and exit code, the
//! metrics; `--no-probe` never connects. And SHA-1 beside SHA-256, as `openssl x509 -fingerprint -sha1` computes
//! it, with the closing line of a renewal naming it for the UMS.
//!
//! Each fails on the main before issue 21: its `status` read the keystore alone (no `served`, no SHA-1, OK
//! while the gateway served another certificate) and knew no `--no-probe`.

mod gateway;
mod sandbox;

use gateway::{free_port, Gateway};
use sandbox::{assert_exit, json, Options, Sandbox};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn sandbox() -> Sandbox {
    Sandbox::create(Options {
        port: free_port(),
        pkcs12: false,
    })
}

/// `status ARGS` on the installation, thresholds low enough that the sandbox's 10-day certificate is OK by
/// its expiry.
fn status(install: &Sandbox, json_output: bool, args: &[&str]) -> Output {
    let mut cmd = if json_output {
        install.icg_json()
    } else {
        install.icg()
    };
    cmd.timeout(Duration::from_secs(60))
        .args(["status", "--warn-days", "5", "--crit-days", "2"])
        .args(args)
        .output()
        .unwrap()
}

fn start(install: &Sandbox) -> Gateway {
    Gateway::start(
        &install.keystore(),
        &install.password_file(),
        install.port(),
    )
}

#[test]
fn a_gateway_serving_the_keystore_certificate_with_ok_is_ok() {
    let install = sandbox();
    let gateway = start(&install);
    let output = status(&install, true, &[]);
    assert_exit(&output, 0);
    let report = json(&output);
    let served = &report["served"];
    assert_eq!(
        served,
        &serde_json::json!({
            "reachable": true,
            "sha256": gateway.served_fingerprint().unwrap(),
            "same_as_keystore": true,
            "icg_status": "ok"
        })
    );
    let text = String::from_utf8_lossy(&status(&install, false, &[]).stdout).to_string();
    assert!(text.starts_with("OK - expires in"), "{text}");
    assert!(
        text.contains("serves the keystore's certificate; the ICG says ok"),
        "{text}"
    );
}

/// The case: `renew --restart none` changed the keystore, the gateway still serves the old one.
#[test]
fn a_gateway_still_serving_the_old_certificate_is_a_warning() {
    let install = sandbox();
    let gateway = start(&install);
    let old = gateway.served_fingerprint().unwrap();
    assert_exit(&install.renew_without_restart(), 0);

    let output = status(&install, true, &[]);
    assert_exit(&output, 1);
    let report = json(&output);
    assert_eq!(report["state"], "warning");
    assert_eq!(report["served"]["same_as_keystore"], false);
    assert_eq!(report["served"]["sha256"], old.as_str());
    assert_ne!(report["certificate"]["sha256"], old.as_str());

    let output = status(&install, false, &[]);
    assert_exit(&output, 1);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with("WARNING - the gateway serves another certificate than its keystore holds: restarted since the keystore changed?; the keystore's certificate expires in"),
        "{text}"
    );
    assert!(
        text.lines().next().unwrap().contains("| days_left="),
        "{text}"
    );

    // Expiry worse than the mismatch: the expiry decides (CRITICAL within 30 days here).
    let output = install
        .icg()
        .args(["status", "--warn-days", "900", "--crit-days", "800"])
        .output()
        .unwrap();
    assert_exit(&output, 2);
}

#[test]
fn the_icg_saying_err_is_critical_and_warn_changes_nothing() {
    let install = sandbox();
    let gateway = start(&install);
    gateway.set_status("*", "err");
    let output = status(&install, false, &[]);
    assert_exit(&output, 2);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with("CRITICAL - the ICG says err: it holds no valid certificate; the keystore's certificate expires in"),
        "{text}"
    );
    assert_eq!(
        json(&status(&install, true, &[]))["served"]["icg_status"],
        "err"
    );

    gateway.set_status("*", "warn");
    let output = status(&install, true, &[]);
    assert_exit(&output, 0);
    assert_eq!(json(&output)["served"]["icg_status"], "warn");
    let text = String::from_utf8_lossy(&status(&install, false, &[]).stdout).to_string();
    assert!(
        text.contains("the ICG says warn (no UMS server connected)"),
        "{text}"
    );
}

#[test]
fn a_gateway_that_does_not_run_leaves_the_state_to_the_expiry_and_says_so() {
    let install = sandbox();
    let output = status(&install, true, &[]);
    assert_exit(&output, 0);
    assert_eq!(
        json(&output)["served"],
        serde_json::json!({"reachable": false, "sha256": null, "same_as_keystore": null, "icg_status": null})
    );
    let output = status(&install, false, &[]);
    assert_exit(&output, 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("not answering on 127.0.0.1:")
            && text.contains("the state is judged by the keystore alone"),
        "{text}"
    );
}

/// A port that accepts connections into its backlog and never answers: the probe gives up within its 3 s;
/// `--no-probe` never connects at all (the backlog stays empty).
#[test]
fn no_probe_never_connects_and_a_hanging_gateway_costs_at_most_3_s() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let install = Sandbox::create(Options {
        port,
        pkcs12: false,
    });

    let started = Instant::now();
    let output = status(&install, true, &["--no-probe"]);
    assert_exit(&output, 0);
    assert!(json(&output)["served"].is_null());
    assert!(
        listener.accept().is_err(),
        "--no-probe connected to the gateway's port"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let started = Instant::now();
    let output = status(&install, true, &[]);
    let took = started.elapsed();
    assert_exit(&output, 0);
    assert_eq!(json(&output)["served"]["reachable"], false);
    assert!(listener.accept().is_ok(), "the probe did not connect");
    assert!(took < Duration::from_millis(5500), "status took {took:?}");
}

#[test]
fn the_metrics_say_whether_the_served_certificate_matches_and_what_the_icg_says() {
    let install = sandbox();
    let gateway = start(&install);
    gateway.set_status("*", "warn");
    assert_exit(&install.renew_without_restart(), 0);
    let file = install.dir().join("icg.prom");
    let output = status(&install, false, &["--prometheus", file.to_str().unwrap()]);
    assert_exit(&output, 1);
    let metrics = std::fs::read_to_string(&file).unwrap();
    for line in [
        "icg_renew_served_matches_keystore 0",
        "icg_renew_gateway_status{status=\"warn\"} 1",
        "icg_renew_gateway_status{status=\"ok\"} 0",
        "icg_renew_gateway_status{status=\"unknown\"} 0",
        "icg_renew_status 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let output = status(
        &install,
        false,
        &["--no-probe", "--prometheus", file.to_str().unwrap()],
    );
    assert_exit(&output, 0);
    let metrics = std::fs::read_to_string(&file).unwrap();
    assert!(!metrics.contains("icg_renew_gateway_status"), "{metrics}");
}

/// `openssl x509 -fingerprint -sha1` of the keystore's leaf, exported by keytool.
fn openssl_sha1(install: &Sandbox) -> String {
    let pem = install.dir().join("leaf.pem");
    let exported = Command::new("keytool")
        .args(["-exportcert", "-rfc", "-alias", "icg", "-keystore"])
        .arg(install.keystore())
        .arg("-storepass:file")
        .arg(install.password_file())
        .arg("-file")
        .arg(&pem)
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
        .arg(&pem)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.trim()
        .split_once('=')
        .map(|(_, fp)| fp.to_string())
        .unwrap_or_else(|| panic!("{text}"))
}

#[test]
fn sha1_equals_openssl_and_a_renewal_closes_with_it_for_the_ums() {
    let install = sandbox();
    let report = json(&status(&install, true, &["--no-probe"]));
    let sha1 = openssl_sha1(&install);
    assert_eq!(report["certificate"]["sha1"], sha1.as_str());
    assert_eq!(report["chain"][0]["sha1"], sha1.as_str());
    let text =
        String::from_utf8_lossy(&status(&install, false, &["--no-probe"]).stdout).to_string();
    assert!(text.contains(&format!("SHA-1         {sha1}")), "{text}");

    let output = install
        .icg()
        .args(["--yes", "renew"])
        .arg(install.material())
        .args(["--restart", "none"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    let new_sha1 = openssl_sha1(&install);
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let closing: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        closing.contains(&format!(
            "In the UMS (Cloud Gateway Options), check that the certificate with SHA-1 {new_sha1} is marked as used."
        )),
        "{text}"
    );
    assert!(last.contains("marked as used"), "{text}");
}

/// The packaged daily check (packaging/icg-renew-check) runs `status`, so it hears the gateway too: a gateway
/// still serving the old certificate is logged at warning priority and exits 1, and its metrics say so.
#[test]
fn the_daily_check_warns_of_a_gateway_serving_another_certificate() {
    let install = sandbox();
    let _gateway = start(&install);
    assert_exit(&install.renew_without_restart(), 0);
    let metrics = install.dir().join("daily.prom");
    let output = Command::new("sh")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/icg-renew-check"))
        .args(["--warn-days", "5", "--crit-days", "2", "--log-file"])
        .arg(install.log())
        .env("ICG_RENEW", env!("CARGO_BIN_EXE_icg-renew"))
        .env("ICG_ROOT", install.root())
        .env("ICG_RENEW_PROMETHEUS_FILE", &metrics)
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(
        log.starts_with(
            "<4>WARNING - the gateway serves another certificate than its keystore holds"
        ),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.starts_with("<6>  Gateway") && l.contains("serves another certificate")),
        "{log}"
    );
    let metrics = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "icg_renew_served_matches_keystore 0"),
        "{metrics}"
    );
}
