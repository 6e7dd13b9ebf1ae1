//! Root on a gateway shared with the ICG's service account (issue 11, contract section "Running as root on a
//! gateway shared with the ICG's service account"). Each test builds the layout of a real gateway: a
//! service account made with `useradd` owns `usg/conf/`, the YAML, a link in it to the keystore, and the
//! keystore; `usg/keys/` is root's. The attacker is `tests/root_safety/flipper.c`, compiled here and run as
//! that account: inotify on the keys directory, re-pointing the link at a root-owned decoy file at the
//! moment icg-renew creates or renames a file. The decoy's bytes, owner and mode, and its directory's
//! contents, must be unchanged afterwards, and the real keystore must hold what the command promised
//! (read back by keytool). Tests that need root skip with a visible message otherwise; they run one at a
//! time (one account name, and the machine's two cores).

mod account;

use account::Account;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "icgsvc11";
/// Nothing listens here (ports 18100-18199 belong to these tests): a health check on it fails.
const DEAD_PORT: u16 = 18117;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The turn of a test that needs root, or `None` (after saying so) when the test must skip.
fn one_root_test_at_a_time(test: &str) -> Option<MutexGuard<'static, ()>> {
    let one = one_at_a_time();
    if !is_root() {
        eprintln!("SKIPPED {test}: needs root (a real service account and root-owned files); CI runs as root");
        return None;
    }
    Some(one)
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("icg-renew")
}

/// A sandbox installation at `root` whose service port nothing serves.
fn sandbox_on_the_dead_port(root: &Path) {
    run(Command::new(binary())
        .arg("sandbox")
        .arg(root)
        .args(["--port", &DEAD_PORT.to_string()]));
}

/// A temp dir holding a sandbox installation in `icg/` whose service port nothing serves, and that path.
fn dead_port_sandbox() -> (tempfile::TempDir, PathBuf) {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("icg");
    sandbox_on_the_dead_port(&root);
    (base, root)
}

/// `yaml` with its `key-store:` line's value replaced by `value`.
fn with_key_store(yaml: &str, value: &str) -> String {
    yaml.lines()
        .map(|l| {
            if l.trim_start().starts_with("key-store:") {
                format!("    key-store: {value}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// icg-renew on the installation at `root`, its audit log in `base`, no terminal on stdin.
fn icg_on(root: &Path, base: &Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--icg-root")
        .arg(root)
        .arg("--log-file")
        .arg(base.join("audit.log"))
        .stdin(Stdio::null());
    cmd
}

/// The names in `dir`, in the order the directory lists them.
fn names_in(dir: &Path) -> Vec<OsString> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

fn run(cmd: &mut Command) -> Output {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A root-owned file in a root-only directory that the attacker wants root to overwrite.
struct Decoy {
    dir: PathBuf,
    path: PathBuf,
    bytes: Vec<u8>,
    meta: (u32, u32, u32),
}

impl Decoy {
    fn create(base: &Path) -> Decoy {
        let dir = base.join("root-only");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("authorized_keys");
        let bytes = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDecoyDecoyDecoyDecoyDecoyDecoyDecoyDecoy root@decoy\n".to_vec();
        std::fs::write(&path, &bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let m = std::fs::metadata(&path).unwrap();
        Decoy {
            dir,
            path,
            bytes,
            meta: (m.uid(), m.gid(), m.mode()),
        }
    }

    /// Bytes, owner, group and mode as made, and nothing new beside it.
    fn assert_untouched(&self) {
        let m = std::fs::symlink_metadata(&self.path).unwrap();
        assert!(m.file_type().is_file(), "the decoy is no longer a file");
        assert_eq!(
            std::fs::read(&self.path).unwrap(),
            self.bytes,
            "decoy bytes changed"
        );
        assert_eq!(
            (m.uid(), m.gid(), m.mode()),
            self.meta,
            "decoy owner or mode changed"
        );
        assert_eq!(
            names_in(&self.dir),
            vec!["authorized_keys"],
            "files appeared beside the decoy"
        );
    }
}

/// The sandbox installation laid out as on a shared gateway, with the flipper built and a decoy made.
struct Gateway {
    base: tempfile::TempDir,
    account: Account,
    decoy: Decoy,
    flipper: PathBuf,
}

impl Gateway {
    fn new() -> Gateway {
        let base = tempfile::tempdir().unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let account = Account::create(ACCOUNT);
        let root = base.path().join("icg");
        sandbox_on_the_dead_port(&root);
        let conf = root.join("usg/conf");
        let keys = root.join("usg/keys");
        let yaml_path = conf.join("application-prod.yml");
        // The YAML names the link in conf/, which leads to the keystore in keys/.
        let yaml = std::fs::read_to_string(&yaml_path).unwrap();
        let keystore = keys.join("keystore.jks");
        let link = conf.join("keystore-link");
        let yaml = with_key_store(&yaml, &format!("file:{}", link.display()));
        std::fs::write(&yaml_path, yaml).unwrap();
        std::os::unix::fs::symlink(&keystore, &link).unwrap();
        let chown =
            |p: &Path| std::os::unix::fs::lchown(p, Some(account.uid), Some(account.gid)).unwrap();
        for p in [&conf, &yaml_path, &link, &keystore] {
            chown(p);
        }
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&keystore, std::fs::Permissions::from_mode(0o640)).unwrap();
        // The flipper: built here, runnable and with a place to write by the service account.
        let bin = base.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let flipper = bin.join("flipper");
        run(Command::new("cc")
            .args(["-O2", "-Wall", "-o"])
            .arg(&flipper)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/root_safety/flipper.c")));
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        chown(&bin);
        let decoy = Decoy::create(base.path());
        Gateway {
            base,
            account,
            decoy,
            flipper,
        }
    }

    fn root(&self) -> PathBuf {
        self.base.path().join("icg")
    }

    fn keys(&self) -> PathBuf {
        self.root().join("usg/keys")
    }

    fn keystore(&self) -> PathBuf {
        self.keys().join("keystore.jks")
    }

    fn link(&self) -> PathBuf {
        self.root().join("usg/conf/keystore-link")
    }

    fn password(&self) -> String {
        let yaml =
            std::fs::read_to_string(self.root().join("usg/conf/application-prod.yml")).unwrap();
        let value = yaml
            .lines()
            .find_map(|l| l.trim().strip_prefix("key-store-password:"))
            .unwrap()
            .trim()
            .to_string();
        value.trim_matches('\'').to_string()
    }

    /// icg-renew on this installation, plain output (the text a person reads and pastes from).
    fn icg(&self) -> Command {
        let mut cmd = icg_on(&self.root(), self.base.path());
        cmd.arg("--yes");
        cmd
    }

    /// The sandbox's new material.
    fn new_material(&self) -> PathBuf {
        self.root().join("new/keystore.icg")
    }

    /// `renew` of the new material with `options`.
    fn renew(&self, options: &[&str]) -> Output {
        self.icg()
            .arg("renew")
            .arg(self.new_material())
            .args(options)
            .output()
            .unwrap()
    }

    /// Starts the flipper as the service account with `rules` on the keys directory, once it watches.
    fn attack(&self, rules: &[String]) -> Flipper {
        let ready = self.base.path().join("bin/ready");
        let _ = std::fs::remove_file(&ready);
        let child = Command::new("runuser")
            .args(["-u", ACCOUNT, "--"])
            .arg(&self.flipper)
            .arg(&ready)
            .arg(self.keys())
            .args(rules)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready.exists() {
            assert!(Instant::now() < deadline, "the flipper did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Flipper {
            child,
            rules: rules.len(),
        }
    }

    /// A rule: at `event` (create or moved) of a name containing `text`, point the link at `target`.
    fn rule(&self, event: &str, text: &str, target: &Path) -> String {
        format!(
            "{event}:{text}:{}:{}",
            self.link().display(),
            target.display()
        )
    }

    /// `renew --restart none` while `flipper` attacks: every flip happened, the renewal succeeded and
    /// the real keystore holds the new certificate `new_fp`.
    fn renew_under_attack(&self, flipper: Flipper, new_fp: &str) {
        let output = self.renew(&["--restart", "none"]);
        flipper.assert_fired();
        assert_exit(&output, 0);
        assert!(
            self.keytool_fingerprints().contains(new_fp),
            "keystore not renewed"
        );
    }

    /// SHA-256 fingerprints (keytool's spelling) of the certificates in the keystore, as keytool lists them.
    fn keytool_fingerprints(&self) -> String {
        let out = run(Command::new("keytool")
            .args(["-list", "-v", "-keystore"])
            .arg(self.keystore())
            .args(["-storepass", &self.password()]));
        text(&out.stdout)
    }

    /// The new material's leaf fingerprint, as verify reports it.
    fn new_fingerprint(&self) -> String {
        let out = self
            .icg()
            .arg("--json")
            .arg("verify")
            .arg(self.new_material())
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["new"]["sha256"].as_str().unwrap().to_string()
    }
}

struct Flipper {
    child: Child,
    rules: usize,
}

impl Flipper {
    /// Waits (briefly) for the flipper and asserts that every flip happened: an attack that did not take
    /// place proves nothing.
    fn assert_fired(mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = self.child.wait_with_output().unwrap();
        let flips = text(&output.stdout).matches("flipped").count();
        assert_eq!(
            flips,
            self.rules,
            "the flipper fired {flips} of {} flips: {}{}",
            self.rules,
            text(&output.stdout),
            text(&output.stderr)
        );
    }
}

fn exit_code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(exit_code(output), code, "{}", describe(output));
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

#[test]
fn renew_with_the_link_flipped_at_the_backup_renews_the_real_keystore_only() {
    let Some(_one) = one_root_test_at_a_time("renew_with_the_link_flipped_at_the_backup") else {
        return;
    };
    let gw = Gateway::new();
    let new_fp = gw.new_fingerprint();
    // At the backup's creation the link goes to the decoy; at the temp file's creation, back again.
    let flipper = gw.attack(&[
        gw.rule("create", ".bak", &gw.decoy.path),
        gw.rule("create", ".icg-renew-", &gw.keystore()),
    ]);
    gw.renew_under_attack(flipper, &new_fp);
    assert_eq!(
        std::fs::metadata(gw.keystore()).unwrap().uid(),
        gw.account.uid
    );
    gw.decoy.assert_untouched();
}

#[test]
fn renew_with_the_link_flipped_at_the_temp_file_renews_the_real_keystore_only() {
    let Some(_one) = one_root_test_at_a_time("renew_with_the_link_flipped_at_the_temp_file") else {
        return;
    };
    let gw = Gateway::new();
    let new_fp = gw.new_fingerprint();
    let flipper = gw.attack(&[gw.rule("create", ".icg-renew-", &gw.decoy.path)]);
    gw.renew_under_attack(flipper, &new_fp);
    gw.decoy.assert_untouched();
}

#[test]
fn automatic_rollback_with_the_link_flipped_at_the_rename_restores_the_real_keystore_only() {
    let Some(_one) =
        one_root_test_at_a_time("automatic_rollback_with_the_link_flipped_at_the_rename")
    else {
        return;
    };
    let gw = Gateway::new();
    let before = std::fs::read(gw.keystore()).unwrap();
    let flipper = gw.attack(&[gw.rule("moved", "keystore.jks", &gw.decoy.path)]);
    // Nothing serves the port: the health check fails, the backup goes back, the check fails again.
    let output = gw.renew(&["--restart-command", "true", "--health-timeout", "2"]);
    flipper.assert_fired();
    assert_exit(&output, 5);
    assert_eq!(
        std::fs::read(gw.keystore()).unwrap(),
        before,
        "the old keystore was not restored"
    );
    let meta = std::fs::metadata(gw.keystore()).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (gw.account.uid, 0o640));
    gw.decoy.assert_untouched();
}

#[test]
fn rollback_with_the_link_flipped_at_the_backup_restores_the_real_keystore_only() {
    let Some(_one) = one_root_test_at_a_time("rollback_with_the_link_flipped_at_the_backup") else {
        return;
    };
    let gw = Gateway::new();
    let before = std::fs::read(gw.keystore()).unwrap();
    let renewed = gw.renew(&["--restart", "none"]);
    assert_exit(&renewed, 0);
    // `rollback` saves the renewed keystore first: that backup's creation is the moment of the flip.
    let flipper = gw.attack(&[gw.rule("create", ".bak", &gw.decoy.path)]);
    let output = gw
        .icg()
        .args(["rollback", "--restart", "none"])
        .output()
        .unwrap();
    flipper.assert_fired();
    assert_exit(&output, 0);
    assert_eq!(std::fs::read(gw.keystore()).unwrap(), before);
    gw.decoy.assert_untouched();
}

#[test]
fn csr_with_the_link_flipped_at_the_lock_keeps_the_pending_key_beside_the_real_keystore() {
    let Some(_one) = one_root_test_at_a_time("csr_with_the_link_flipped_at_the_lock") else {
        return;
    };
    let gw = Gateway::new();
    let flipper = gw.attack(&[gw.rule("create", ".lock", &gw.decoy.path)]);
    let output = gw
        .icg()
        .arg("csr")
        .arg("--out")
        .arg(gw.base.path().join("request.csr"))
        .output()
        .unwrap();
    flipper.assert_fired();
    assert_exit(&output, 0);
    let pending = gw.keys().join("keystore-link.pending.p12");
    let meta = std::fs::symlink_metadata(&pending).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o777, 0o600);
    gw.decoy.assert_untouched();
}

#[test]
fn a_group_writable_keys_directory_is_refused_before_anything_is_written() {
    let Some(_one) = one_root_test_at_a_time("a_group_writable_keys_directory_is_refused") else {
        return;
    };
    let gw = Gateway::new();
    std::os::unix::fs::chown(gw.keys(), Some(0), Some(gw.account.gid)).unwrap();
    std::fs::set_permissions(gw.keys(), std::fs::Permissions::from_mode(0o775)).unwrap();
    let before = std::fs::read(gw.keystore()).unwrap();
    let names_before = names_in(&gw.keys());
    for args in [
        vec!["renew", "NEW", "--restart", "none"],
        vec!["rollback", "--restart", "none"],
        vec!["csr", "--out", "OUT"],
    ] {
        let args: Vec<std::ffi::OsString> = args
            .iter()
            .map(|a| match *a {
                "NEW" => gw.new_material().into_os_string(),
                "OUT" => gw.base.path().join("request.csr").into_os_string(),
                other => other.into(),
            })
            .collect();
        let output = gw.icg().args(&args).output().unwrap();
        assert_eq!(exit_code(&output), 1, "{args:?}: {}", describe(&output));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("writable by group"), "{stderr}");
        assert!(
            stderr.contains(&gw.keys().display().to_string()),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read(gw.keystore()).unwrap(), before);
    assert_eq!(
        names_in(&gw.keys()),
        names_before,
        "files appeared in the refused directory"
    );
    gw.decoy.assert_untouched();
}

#[test]
fn a_link_that_another_account_controls_is_refused() {
    let Some(_one) = one_root_test_at_a_time("a_link_that_another_account_controls_is_refused")
    else {
        return;
    };
    let gw = Gateway::new();
    // The keystore belongs to root now: the service account's link may no longer choose it.
    std::os::unix::fs::chown(gw.keystore(), Some(0), Some(0)).unwrap();
    let before = std::fs::read(gw.keystore()).unwrap();
    let output = gw.renew(&["--restart", "none"]);
    assert_exit(&output, 1);
    assert!(
        text(&output.stderr).contains("reached through a link"),
        "{}",
        describe(&output)
    );
    // The fix names the option that gives the keystore's own path (added by the command layer).
    assert!(
        text(&output.stderr).contains("give the keystore's own path with --keystore "),
        "{}",
        describe(&output)
    );
    assert_eq!(std::fs::read(gw.keystore()).unwrap(), before);
}

/// A keystore name a service account could choose: command substitution, backquotes, quotes, a newline.
const HOSTILE_NAME: &str = "ks$(touch pwned-dollar)`touch pwned-tick`'q\"\n;touch pwned-line.jks";

/// The commands a renewal printed for a person: the undo line, the numbered manual steps, the plan's
/// restart command.
fn printed_commands(stdout: &str) -> Vec<String> {
    let mut commands = Vec::new();
    for line in stdout.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("To undo: ") {
            commands.push(rest.to_string());
        } else if let Some(rest) = trimmed.strip_prefix("Restart ") {
            if line.starts_with("  ") {
                commands.push(rest.trim().to_string());
            }
        } else if let Some((number, rest)) = trimmed.split_once(". ") {
            if line.starts_with("  ") && number.parse::<u32>().is_ok() {
                commands.push(rest.to_string());
            }
        }
    }
    commands
}

#[test]
fn every_printed_command_runs_exactly_as_printed_whatever_the_keystore_is_called() {
    let Some(_one) = one_root_test_at_a_time("every_printed_command_runs_exactly_as_printed")
    else {
        return;
    };
    let (base, root) = dead_port_sandbox();
    let keystore = root.join("usg/keys").join(HOSTILE_NAME);
    std::fs::rename(root.join("usg/keys/keystore.jks"), &keystore).unwrap();
    let yaml_path = root.join("usg/conf/application-prod.yml");
    let quoted = keystore
        .display()
        .to_string()
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    let yaml = with_key_store(
        &std::fs::read_to_string(&yaml_path).unwrap(),
        &format!("\"file:{quoted}\""),
    );
    std::fs::write(&yaml_path, yaml).unwrap();
    // icg-renew is on the PATH of the runs (so they print the bare name), and a stub of it is on the PATH of
    // the pasted commands.
    let installed_dir = base.path().join("bin");
    std::fs::create_dir(&installed_dir).unwrap();
    std::os::unix::fs::symlink(binary(), installed_dir.join("icg-renew")).unwrap();
    let run_path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", installed_dir.display());
    let icg = || {
        let mut cmd = icg_on(&root, base.path());
        cmd.env("PATH", &run_path).arg("--yes");
        cmd
    };
    let material = root.join("new/keystore.icg");
    let original = std::fs::read(&keystore).unwrap();

    // icg-renew stubbed on PATH: it records its arguments, NUL-separated, one file per call.
    let stub_dir = base.path().join("stub");
    let calls = stub_dir.join("calls");
    let markers = base.path().join("markers");
    std::fs::create_dir_all(&calls).unwrap();
    std::fs::create_dir(&markers).unwrap();
    let stub = stub_dir.join("icg-renew");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nn=$(ls {dir} | wc -l)\nprintf '%s\\0' \"$@\" > {dir}/call-$n\n",
            dir = calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", stub_dir.display());
    let paste = |output: &Output| -> Vec<String> {
        let mut commands = Vec::new();
        for stream in [&output.stdout, &output.stderr] {
            let shown = text(stream);
            assert!(
                !shown.chars().any(|c| c.is_control() && c != '\n'),
                "raw control characters printed: {shown:?}"
            );
            commands.extend(printed_commands(&shown));
        }
        for command in &commands {
            Command::new("bash")
                .args(["-c", command])
                .current_dir(&markers)
                .env("PATH", &path)
                .output()
                .unwrap();
        }
        let planted = names_in(&markers);
        assert!(
            planted.is_empty(),
            "a printed command ran code from the name: {planted:?} ({commands:?})"
        );
        commands
    };

    // A failure under --no-rollback: the manual steps put the backup back by hand.
    let failed = icg()
        .arg("renew")
        .arg(&material)
        .args(["--restart-command", "exit 1", "--no-rollback"])
        .output()
        .unwrap();
    assert_exit(&failed, 5);
    assert_ne!(std::fs::read(&keystore).unwrap(), original);
    let commands = paste(&failed);
    assert!(
        commands.iter().any(|c| c.starts_with("cp ")),
        "{commands:?}"
    );
    assert!(
        commands.iter().any(|c| c.contains("status")),
        "{commands:?}"
    );
    assert_eq!(
        std::fs::read(&keystore).unwrap(),
        original,
        "the pasted manual steps did not restore exactly the hostile-named keystore"
    );

    // A success: the plan's restart command and the undo line.
    let renewed = icg()
        .arg("renew")
        .arg(&material)
        .args(["--restart-command", "true 'a b'", "--no-health-check"])
        .output()
        .unwrap();
    assert_exit(&renewed, 0);
    let commands = paste(&renewed);
    assert!(
        commands.iter().any(|c| c.contains("rollback")),
        "{commands:?}"
    );
    assert!(
        commands.iter().any(|c| c.contains("/bin/sh -c")),
        "{commands:?}"
    );

    // Each stubbed call got the keystore's and the backup's names as single, whole arguments.
    let mut saw_keystore = false;
    let mut saw_backup = false;
    for call in std::fs::read_dir(&calls).unwrap() {
        let args = std::fs::read(call.unwrap().path()).unwrap();
        let args: Vec<&OsStr> = args
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(OsStr::from_bytes)
            .collect();
        saw_keystore |= args.contains(&keystore.as_os_str());
        saw_backup |= args.iter().any(|a| {
            let a = Path::new(a);
            a.parent() == keystore.parent()
                && a.file_name()
                    .unwrap()
                    .as_bytes()
                    .starts_with(HOSTILE_NAME.as_bytes())
                && a.is_file()
        });
        assert!(
            args.iter().all(|a| !a.as_bytes().starts_with(b"touch")),
            "a name was split into words: {args:?}"
        );
    }
    assert!(saw_backup, "the undo line did not name the backup whole");
    let log = std::fs::read_to_string(base.path().join("audit.log")).unwrap();
    assert!(log.contains("ks$(touch pwned-dollar)"), "{log}");
    assert!(
        !log.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in the audit log: {log:?}"
    );
    assert!(
        log.lines().all(|l| l.contains(" action=")),
        "a name split an audit line: {log}"
    );
    assert!(
        saw_keystore,
        "no printed icg-renew command named the keystore whole"
    );
}

#[test]
fn status_of_a_root_only_file_that_is_no_keystore_shows_none_of_its_bytes() {
    let Some(_one) = one_root_test_at_a_time("status_of_a_root_only_file_that_is_no_keystore")
    else {
        return;
    };
    let base = tempfile::tempdir().unwrap();
    let secret = base.path().join("shadow");
    std::fs::write(
        &secret,
        b"root:*:20000:0:99999:7:::\nsvc:$6$saltsalt$hash:20000::::::\n",
    )
    .unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let password = base.path().join("store.pass");
    std::fs::write(&password, "changeit").unwrap();
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    for args in [
        vec!["status"],
        vec!["--json", "status"],
        vec!["csr", "--out", "request.csr"],
    ] {
        let output = Command::new(binary())
            .arg("--keystore")
            .arg(&secret)
            .arg("--store-password-file")
            .arg(&password)
            .arg("--log-file")
            .arg(base.path().join("audit.log"))
            .args(&args)
            .current_dir(base.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_ne!(exit_code(&output), 0);
        let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
        for leaked in ["72 6f", "726f", "root:", "20000", "$6$"] {
            assert!(
                !all.contains(leaked),
                "{args:?} showed bytes of the file: {all}"
            );
        }
        assert!(
            all.contains("text"),
            "{args:?} does not say what the file looks like: {all}"
        );
    }
    let names = names_in(base.path());
    assert!(
        names
            .iter()
            .all(|n| n == "shadow" || n == "store.pass" || n == "audit.log"),
        "a lock or other file was created beside it: {names:?}"
    );
}

#[test]
fn sigquit_during_the_restart_wait_leaves_no_core_file() {
    let Some(_one) = one_root_test_at_a_time("sigquit_during_the_restart_wait_leaves_no_core_file")
    else {
        return;
    };
    let (base, root) = dead_port_sandbox();
    let work = base.path().join("cwd");
    std::fs::create_dir(&work).unwrap();
    let started = base.path().join("restart-started");
    // Core dumps allowed as far as the shell can: only icg-renew itself may forbid them. SIGQUIT back to
    // its default for icg-renew: a suite started as a background job (`nohup scripts/test &`) inherits it
    // ignored, which bash's own `trap -` cannot undo, and then the signal would prove nothing.
    let script = format!(
        "ulimit -c unlimited; exec env --default-signal=QUIT {} --icg-root {} --log-file {} --yes renew {} --restart-command 'touch {}; sleep 10' --no-health-check",
        binary().display(),
        root.display(),
        base.path().join("audit.log").display(),
        root.join("new/keystore.icg").display(),
        started.display()
    );
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .current_dir(&work)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the restart never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core_line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert!(
        core_line
            .split_whitespace()
            .skip(4)
            .take(2)
            .all(|v| v == "0"),
        "{core_line}"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::QUIT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc_sigquit()), "{status:?}");
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.starts_with('|') {
        eprintln!(
            "note: core_pattern pipes to {pattern:?}; only the process's own limits were checked"
        );
    }
    let cores = names_in(&work);
    assert!(cores.is_empty(), "a core file was left: {cores:?}");
}

fn libc_sigquit() -> i32 {
    rustix::process::Signal::QUIT.as_raw()
}

#[test]
fn a_new_password_file_readable_by_others_is_warned_about() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("icg");
    run(Command::new(binary()).arg("sandbox").arg(&root));
    let password = base.path().join("new.pass");
    std::fs::write(&password, "whatever").unwrap();
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = icg_on(&root, base.path())
        .arg("verify")
        .arg(root.join("new/keystore.icg"))
        .arg("--new-password-file")
        .arg(&password)
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("readable by others") && stderr.contains("new.pass"),
        "{}",
        describe(&output)
    );
}

#[test]
fn a_keystore_replaced_after_the_rename_is_not_restored_over_and_exits_5_with_manual_steps() {
    let _one = one_at_a_time();
    let (base, root) = dead_port_sandbox();
    let keystore = root.join("usg/keys/keystore.jks");
    // The "restart" swaps another file in under the keystore's name (a copy: another inode), then fails.
    let swap = format!(
        "cp {k} {k}.other && printf swapped >> {k}.other && mv {k}.other {k}; exit 1",
        k = keystore.display()
    );
    let output = icg_on(&root, base.path())
        .args(["--yes", "renew"])
        .arg(root.join("new/keystore.icg"))
        .args(["--restart-command", &swap])
        .output()
        .unwrap();
    assert_exit(&output, 5);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("no longer the file"),
        "{}",
        describe(&output)
    );
    assert!(
        std::fs::read(&keystore).unwrap().ends_with(b"swapped"),
        "the restore wrote over a file it had not written"
    );
    let steps = printed_commands(&stdout);
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("cp --remove-destination -- ")),
        "{steps:?}"
    );
}

// ---- Every path, not only the keystore's (issue 20). Each of these failed on the main before the resolver
// (`fsx::resolve`): the attack row of the issue it stands for is named in its doc comment.

impl Gateway {
    /// A directory of the service account's in the test's base (0755), holding `link`, a symbolic link the
    /// account made to the decoy's root-only directory.
    fn accounts_link_to_the_decoy(&self) -> PathBuf {
        let own = self.base.path().join("svc-own");
        std::fs::create_dir(&own).unwrap();
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = own.join("link");
        std::os::unix::fs::symlink(&self.decoy.dir, &link).unwrap();
        for p in [&own, &link] {
            std::os::unix::fs::lchown(p, Some(self.account.uid), Some(self.account.gid)).unwrap();
        }
        link
    }

    fn keystore_bytes(&self) -> Vec<u8> {
        std::fs::read(self.keystore()).unwrap()
    }

    /// icg-renew on this installation with `log` as its audit log.
    fn icg_logging_to(&self, log: &Path) -> Command {
        let mut cmd = Command::new(binary());
        cmd.arg("--icg-root")
            .arg(self.root())
            .arg("--log-file")
            .arg(log)
            .arg("--yes")
            .stdin(Stdio::null());
        cmd
    }

    /// Builds one of the attackers in tests/root_safety/ into the account's bin directory.
    fn build(&self, name: &str) -> PathBuf {
        let out = self.base.path().join("bin").join(name);
        run(Command::new("cc")
            .args(["-O2", "-Wall", "-o"])
            .arg(&out)
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/root_safety/{name}.c")),
            ));
        out
    }
}

#[track_caller]
fn assert_refused_naming(output: &Output, code: i32, path: &Path, uid: u32) {
    assert_exit(output, code);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{} on the way to it can be changed by uid {uid}",
            path.display()
        )),
        "{}",
        describe(output)
    );
}

/// Row 3: `--backup-dir` reached through a link in a directory of the account's (to a root-only directory)
/// is refused before anything is written; the backup (the old private key) never lands there.
#[test]
fn a_backup_dir_through_the_accounts_link_is_refused_before_anything_is_written() {
    let Some(_turn) = one_root_test_at_a_time("backup dir through the account's link") else {
        return;
    };
    let gw = Gateway::new();
    let link = gw.accounts_link_to_the_decoy();
    let before = gw.keystore_bytes();
    let output = gw.renew(&["--restart", "none", "--backup-dir", link.to_str().unwrap()]);
    assert_refused_naming(&output, 1, link.parent().unwrap(), gw.account.uid);
    assert_eq!(gw.keystore_bytes(), before, "the keystore changed");
    gw.decoy.assert_untouched();
}

/// Row 4: new material, `--key`, `--chain` and an ACME lineage reached through the account's link to a
/// root-only directory are refused: root does not read a root-only key for the account.
#[test]
fn material_key_chain_and_lineage_through_the_accounts_link_are_refused() {
    let Some(_turn) = one_root_test_at_a_time("material through the account's link") else {
        return;
    };
    let gw = Gateway::new();
    let link = gw.accounts_link_to_the_decoy();
    // What the account wants root to read: a root-only key (the decoy stands in for it) and a lineage.
    let lineage = gw.decoy.dir.join("lineage");
    std::fs::create_dir(&lineage).unwrap();
    std::fs::copy(&gw.decoy.path, lineage.join("privkey.pem")).unwrap();
    let before = gw.keystore_bytes();
    let through = |name: &str| link.join(name);
    let bundle = gw.root().join("new/new-bundle.pem");
    let leaf = gw.base.path().join("leaf.pem");
    run(Command::new("openssl")
        .args(["x509", "-in"])
        .arg(&bundle)
        .arg("-out")
        .arg(&leaf));
    // Each case: the arguments, and the hook's environment.
    type Case<'a> = (Vec<OsString>, Vec<(&'a str, PathBuf)>);
    let cases: Vec<Case> = vec![
        (
            vec!["verify".into(), through("authorized_keys").into()],
            vec![],
        ),
        (
            vec![
                "verify".into(),
                leaf.into(),
                "--key".into(),
                through("authorized_keys").into(),
            ],
            vec![],
        ),
        (
            vec![
                "verify".into(),
                bundle.into(),
                "--chain".into(),
                through("authorized_keys").into(),
            ],
            vec![],
        ),
        (
            vec![
                "renew".into(),
                "--from-hook".into(),
                "--restart".into(),
                "none".into(),
            ],
            vec![("RENEWED_LINEAGE", through("lineage"))],
        ),
    ];
    for (args, env) in cases {
        let mut cmd = gw.icg();
        cmd.args(&args);
        for (key, value) in &env {
            cmd.env(key, value);
        }
        let output = cmd.output().unwrap();
        assert_refused_naming(&output, 1, link.parent().unwrap(), gw.account.uid);
        assert!(
            !text(&output.stdout).contains("ssh-ed25519"),
            "{}",
            describe(&output)
        );
    }
    assert_eq!(gw.keystore_bytes(), before, "the keystore changed");
}

/// Row 5: `status --prometheus` into a directory the account re-points at a root-only directory is
/// refused; the root-only file there keeps its bytes and mode.
#[test]
fn the_metrics_file_through_the_accounts_link_is_refused() {
    let Some(_turn) = one_root_test_at_a_time("metrics through the account's link") else {
        return;
    };
    let gw = Gateway::new();
    let link = gw.accounts_link_to_the_decoy();
    let output = gw
        .icg()
        .args(["status", "--prometheus"])
        .arg(link.join("authorized_keys"))
        .output()
        .unwrap();
    assert!(
        text(&output.stderr).contains("on the way to it can be changed by uid"),
        "{}",
        describe(&output)
    );
    gw.decoy.assert_untouched();
}

/// Rows 6 and 7: an audit log in a directory the account re-points is not written (a warning), and a FIFO
/// in place of the log is a warning too, never a hang.
#[test]
fn an_audit_log_through_the_accounts_link_or_a_fifo_is_a_warning_not_a_write_or_a_hang() {
    let Some(_turn) = one_root_test_at_a_time("audit log through a link, or a FIFO") else {
        return;
    };
    let gw = Gateway::new();
    let link = gw.accounts_link_to_the_decoy();
    let output = gw
        .icg_logging_to(&link.join("authorized_keys"))
        .args(["renew", "--restart", "none", "--dry-run"])
        .arg(gw.new_material())
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(
        text(&output.stderr).contains("on the way to it can be changed by uid"),
        "{}",
        describe(&output)
    );
    gw.decoy.assert_untouched();

    let fifo = gw.base.path().join("svc-own/audit.log");
    run(Command::new("runuser")
        .args(["-u", ACCOUNT, "--", "mkfifo"])
        .arg(&fifo));
    let mut child = gw
        .icg_logging_to(&fifo)
        .args(["renew", "--restart", "none", "--dry-run"])
        .arg(gw.new_material())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("icg-renew hung on a FIFO as its audit log");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 0);
    assert!(
        text(&output.stderr).contains("FIFO"),
        "{}",
        describe(&output)
    );
}

/// Retention: a "backup" that is a hard link to a root-only file is never overwritten or removed.
#[test]
fn retention_never_shreds_a_backup_name_with_a_second_hard_link() {
    let Some(_turn) = one_root_test_at_a_time("retention and a hard link") else {
        return;
    };
    let gw = Gateway::new();
    let planted = gw.keys().join("keystore-link.20000101T000000Z.bak");
    std::fs::hard_link(&gw.decoy.path, &planted).unwrap();
    let output = gw.renew(&["--restart", "none", "--keep-backups", "1"]);
    assert_exit(&output, 0);
    assert!(
        text(&output.stderr).contains("2 hard links")
            || text(&output.stdout).contains("2 hard links"),
        "{}",
        describe(&output)
    );
    assert!(planted.exists(), "the planted name was removed");
    std::fs::remove_file(&planted).unwrap();
    gw.decoy.assert_untouched();
}

/// A drop folder made for the account's group (root's, 0770), with the sandbox's installation.
fn group_drop_folder(gw: &Gateway) -> PathBuf {
    let inbox = gw.base.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::os::unix::fs::chown(&inbox, Some(0), Some(gw.account.gid)).unwrap();
    std::fs::set_permissions(&inbox, std::fs::Permissions::from_mode(0o770)).unwrap();
    inbox
}

fn run_inbox(gw: &Gateway, inbox: &Path) -> Output {
    gw.icg()
        .arg("--json")
        .arg("inbox")
        .arg(inbox)
        .args([
            "--group",
            ACCOUNT,
            "--restart",
            "none",
            "--settle",
            "0",
            "--wait",
            "5",
        ])
        .output()
        .unwrap()
}

/// Drops `name` (bytes that are no material) into the folder as the account would.
fn drop_junk(gw: &Gateway, inbox: &Path, name: &str) {
    let path = inbox.join(name);
    std::fs::write(&path, b"not material\n").unwrap();
    std::os::unix::fs::chown(&path, Some(gw.account.uid), Some(gw.account.gid)).unwrap();
}

/// Row 1: a member of the drop folder's group who made `failed/` himself is refused (root does not file
/// into his directory); one who swaps root's `failed/` for a link to a root-only directory, as fast as
/// the kernel lets him (RENAME_EXCHANGE in a loop), never gets a file moved or written there. Five runs.
#[test]
fn a_group_member_cannot_turn_failed_into_a_way_out_of_the_drop_folder() {
    let Some(_turn) = one_root_test_at_a_time("drop folder: failed/ swapped") else {
        return;
    };
    let gw = Gateway::new();
    let inbox = group_drop_folder(&gw);
    let failed = inbox.join("failed");
    run(Command::new("runuser")
        .args(["-u", ACCOUNT, "--", "mkdir", "-m", "0770"])
        .arg(&failed));
    drop_junk(&gw, &inbox, "passwd");
    let output = run_inbox(&gw, &inbox);
    assert_exit(&output, 1);
    assert!(
        text(&output.stdout).contains(&format!("belongs to uid {}", gw.account.uid)),
        "{}",
        describe(&output)
    );
    assert!(inbox.join("passwd").exists(), "the material was moved");
    std::fs::remove_dir(&failed).unwrap();

    let exchanger = gw.build("exchanger");
    let way_out = inbox.join("way-out");
    for attempt in 0..5 {
        // The racer left the two names either way round: clear both, a link and a directory alike.
        for name in [&failed, &way_out] {
            match std::fs::symlink_metadata(name) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(name).unwrap(),
                Ok(_) => std::fs::remove_file(name).unwrap(),
                Err(_) => {}
            }
        }
        std::fs::create_dir(&failed).unwrap();
        std::fs::set_permissions(&failed, std::fs::Permissions::from_mode(0o750)).unwrap();
        run(Command::new("runuser")
            .args(["-u", ACCOUNT, "--", "ln", "-s"])
            .arg(&gw.decoy.dir)
            .arg(&way_out));
        drop_junk(&gw, &inbox, "authorized_keys");
        let racer = Command::new("runuser")
            .args(["-u", ACCOUNT, "--"])
            .arg(&exchanger)
            .arg(&failed)
            .arg(&way_out)
            .arg("3")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let output = run_inbox(&gw, &inbox);
        let raced = racer.wait_with_output().unwrap();
        assert!(
            text(&raced.stdout).contains("exchanges"),
            "the racer did not run"
        );
        gw.decoy.assert_untouched();
        assert!(
            [0, 1, 2, 3].contains(&exit_code(&output)),
            "attempt {attempt}: {}",
            describe(&output)
        );
    }
}

/// Row 2: a drop folder that is root's 0700 but lies in a directory of the account's is refused with that
/// directory and its owner: the account could swap the folder for a link after any check of it.
#[test]
fn a_drop_folder_below_a_directory_of_the_account_is_refused() {
    let Some(_turn) = one_root_test_at_a_time("drop folder below the account's directory") else {
        return;
    };
    let gw = Gateway::new();
    let own = gw.base.path().join("svc-parent");
    std::fs::create_dir(&own).unwrap();
    let inbox = own.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    std::fs::set_permissions(&inbox, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&own, Some(gw.account.uid), Some(gw.account.gid)).unwrap();
    std::fs::write(
        inbox.join("keystore.icg"),
        std::fs::read(gw.new_material()).unwrap(),
    )
    .unwrap();
    let output = gw
        .icg()
        .arg("inbox")
        .arg(&inbox)
        .args(["--restart", "none", "--settle", "0", "--wait", "5"])
        .output()
        .unwrap();
    assert_refused_naming(&output, 1, &own, gw.account.uid);
    assert_eq!(
        names_in(&inbox),
        vec!["keystore.icg"],
        "something was filed"
    );
}

/// The report names the directory actually worked in: a drop folder given through root's own link is
/// reported at its real place, where the file now is.
#[test]
fn the_drop_folder_report_names_the_directory_worked_in() {
    let Some(_turn) = one_root_test_at_a_time("drop folder report path") else {
        return;
    };
    let gw = Gateway::new();
    let real = gw.base.path().join("real-inbox");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = gw.base.path().join("inbox-link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    std::fs::write(real.join("junk.pem"), b"not material\n").unwrap();
    let output = gw
        .icg()
        .arg("--json")
        .arg("inbox")
        .arg(&link)
        .args(["--restart", "none", "--settle", "0", "--wait", "5"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let filed = PathBuf::from(report["filed_as"].as_str().unwrap());
    assert_eq!(filed, real.join("failed/junk.pem"), "{}", describe(&output));
    assert!(filed.exists());
}
