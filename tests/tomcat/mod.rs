//! Real Apache Tomcat 10 (Debian's tomcat10 and tomcat10-user, installed by scripts/setup) as the gateway of
//! the Tomcat tests: a private CATALINA_BASE per test made by `tomcat10-instance-create`, one HTTPS
//! connector on 127.0.0.1 configured from an ICG's application-prod.yml the way Spring Boot maps
//! `server.ssl.*` onto its embedded Tomcat (optionally asking for or requiring a client certificate, as the
//! ICG does once devices are enrolled), and a webapp `usg` whose servlet (tests/tomcat/CheckStatus.java)
//! answers check-status with the verdict a test sets, after an `init` period it may set.
//! Restarted by tests/tomcat/restart-tomcat.sh (catalina.sh stop/start), as icg-renew's --restart-command.
#![allow(dead_code)]

pub mod pki;
#[path = "../common/served.rs"]
mod served;
pub use served::served_fingerprint;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const CATALINA_HOME: &str = "/usr/share/tomcat10";

/// Whether Debian's Tomcat 10 and its instance tool are installed.
pub fn installed() -> bool {
    Path::new(CATALINA_HOME).join("bin/catalina.sh").exists()
        && Path::new("/usr/bin/tomcat10-instance-create").exists()
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `server.ssl.*` of an application-prod.yml, as Spring Boot reads it.
#[derive(Debug, Clone)]
pub struct SslConfig {
    pub port: u16,
    pub key_store: PathBuf,
    pub key_store_password: String,
    pub key_store_type: Option<String>,
    pub key_alias: Option<String>,
    pub key_password: Option<String>,
}

impl SslConfig {
    pub fn read(yml: &Path) -> SslConfig {
        let text = std::fs::read_to_string(yml).unwrap();
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
        let server = &docs[0]["server"];
        let ssl = &server["ssl"];
        let text_of = |key: &str| -> Option<String> {
            let value = &ssl[key];
            value
                .as_str()
                .map(str::to_string)
                .or_else(|| value.as_i64().map(|n| n.to_string()))
        };
        let key_store = text_of("key-store").expect("server.ssl.key-store");
        SslConfig {
            port: server["port"].as_i64().unwrap_or(8443) as u16,
            // Spring Boot takes a resource location; `file:` names a file.
            key_store: PathBuf::from(key_store.strip_prefix("file:").unwrap_or(&key_store)),
            key_store_password: text_of("key-store-password").unwrap_or_default(),
            key_store_type: text_of("key-store-type"),
            key_alias: text_of("key-alias"),
            key_password: text_of("key-password"),
        }
    }

    /// The `<Certificate>` element of the connector: Spring Boot's mapping of these properties.
    fn certificate_element(&self) -> String {
        let mut attrs = vec![
            (
                "certificateKeystoreFile",
                self.key_store.display().to_string(),
            ),
            (
                "certificateKeystorePassword",
                self.key_store_password.clone(),
            ),
        ];
        if let Some(t) = &self.key_store_type {
            attrs.push(("certificateKeystoreType", t.clone()));
        }
        if let Some(a) = &self.key_alias {
            attrs.push(("certificateKeyAlias", a.clone()));
        }
        if let Some(p) = &self.key_password {
            attrs.push(("certificateKeyPassword", p.clone()));
        }
        let attrs: Vec<String> = attrs
            .iter()
            .map(|(name, value)| format!("{name}=\"{}\"", xml_escape(value)))
            .collect();
        format!("<Certificate {} />", attrs.join(" "))
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A private Tomcat instance, stopped and removed when dropped.
pub struct Tomcat {
    /// Holds the instance; removed after it stopped.
    _dir: tempfile::TempDir,
    pub base: PathBuf,
    pub port: u16,
}

fn run(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Tomcat {
    /// A new instance serving HTTPS as `yml` configures the ICG, with its shutdown port `shutdown_port`,
    /// run as `run_as` (an account) or root. Not started.
    pub fn create(yml: &Path, shutdown_port: u16, run_as: Option<&str>) -> Tomcat {
        Tomcat::create_with_client_auth(yml, shutdown_port, run_as, "none")
    }

    /// Like `create`, with the connector's `certificateVerification` (`none`, `optional`: asks devices for
    /// a client certificate, `required`: refuses a client without one).
    pub fn create_with_client_auth(
        yml: &Path,
        shutdown_port: u16,
        run_as: Option<&str>,
        verification: &str,
    ) -> Tomcat {
        assert!(
            installed(),
            "Apache Tomcat 10 is missing: run scripts/setup (it installs tomcat10 and tomcat10-user)"
        );
        let ssl = SslConfig::read(yml);
        let dir = tempfile::tempdir().unwrap();
        // The service account must reach its instance.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let base = dir.path().join("base");
        run(Command::new("tomcat10-instance-create")
            // Its HTTP connector is replaced below by the HTTPS one, on the ICG's port.
            .args([
                "-p",
                &ssl.port.to_string(),
                "-c",
                &shutdown_port.to_string(),
            ])
            .arg(&base));
        // Debian's tomcat-locate-java.sh sets -e; catalina.sh `stop N -force` goes on after commands that
        // fail (the shutdown port already closed), so the default is set again after sourcing it.
        std::fs::write(
            base.join("bin/setenv.sh"),
            format!(
                "CATALINA_HOME={CATALINA_HOME}\n\
                 . /usr/libexec/tomcat10/tomcat-locate-java.sh\n\
                 set +e\n\
                 JAVA_OPTS=\"-Djava.awt.headless=true -Xms32m -Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1\"\n"
            ),
        )
        .unwrap();
        std::fs::write(
            base.join("conf/server.xml"),
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by icg-renew's Tomcat tests from {yml}: one HTTPS connector as Spring Boot configures it. -->
<Server port="{shutdown_port}" address="127.0.0.1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="{port}" address="127.0.0.1" protocol="org.apache.coyote.http11.Http11NioProtocol"
               SSLEnabled="true" scheme="https" secure="true" maxThreads="20">
      <SSLHostConfig protocols="TLSv1.2,TLSv1.3" certificateVerification="{verification}">
        {certificate}
      </SSLHostConfig>
    </Connector>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
"#,
                yml = xml_escape(&yml.display().to_string()),
                port = ssl.port,
                certificate = ssl.certificate_element(),
                verification = xml_escape(verification),
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            base.join("conf/server.xml"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let webapp = base.join("webapps/usg/WEB-INF");
        std::fs::create_dir_all(webapp.join("classes")).unwrap();
        run(Command::new("javac")
            .args(["-nowarn", "-cp"])
            .arg(Path::new(CATALINA_HOME).join("lib/servlet-api.jar"))
            .arg("-d")
            .arg(webapp.join("classes"))
            .arg(manifest_dir().join("tests/tomcat/CheckStatus.java")));
        std::fs::write(
            webapp.join("web.xml"),
            r#"<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="5.0">
  <servlet>
    <servlet-name>check-status</servlet-name>
    <servlet-class>CheckStatus</servlet-class>
    <load-on-startup>1</load-on-startup>
  </servlet>
  <servlet-mapping>
    <servlet-name>check-status</servlet-name>
    <url-pattern>/check-status</url-pattern>
  </servlet-mapping>
</web-app>
"#,
        )
        .unwrap();
        if let Some(account) = run_as {
            std::fs::write(base.join("run-as"), account).unwrap();
            run(Command::new("chown")
                .arg("-R")
                .arg(format!("{account}:{account}"))
                .arg(&base));
        }
        Tomcat {
            _dir: dir,
            base,
            port: ssl.port,
        }
    }

    /// The command icg-renew runs to restart this instance.
    pub fn restart_command(&self) -> String {
        format!(
            "sh {} {}",
            manifest_dir()
                .join("tests/tomcat/restart-tomcat.sh")
                .display(),
            self.base.display()
        )
    }

    /// Starts the instance and waits until it serves a certificate.
    pub fn start(&self) {
        run(Command::new("sh").arg("-c").arg(self.restart_command()));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(90) {
            if served_fingerprint(self.port).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "Tomcat did not serve on 127.0.0.1:{} within 90 s:\n{}",
            self.port,
            self.log()
        );
    }

    /// The end of the instance's catalina.out, for failure messages.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.base.join("logs/catalina.out")).unwrap_or_default();
        text.lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Sets what check-status says (`init`, `ok`, `warn`, `err`, `404`), from the next request on.
    pub fn set_status(&self, verdict: &str) {
        std::fs::write(self.base.join("check-status"), verdict).unwrap();
    }

    /// Makes check-status say `init` for `init` after every start of the webapp.
    pub fn set_init_period(&self, init: Duration) {
        std::fs::write(
            self.base.join("check-status-init-ms"),
            init.as_millis().to_string(),
        )
        .unwrap();
    }

    /// Makes the next restart fail once.
    pub fn fail_next_restart(&self) {
        std::fs::write(self.base.join("fail-next"), b"").unwrap();
    }

    /// The pid of the running Tomcat.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.base.join("temp/tomcat.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    }
}

impl Drop for Tomcat {
    fn drop(&mut self) {
        if let Some(pid) = self.pid().filter(|pid| running(*pid)) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let start = Instant::now();
            while running(pid) && start.elapsed() < Duration::from_secs(15) {
                std::thread::sleep(Duration::from_millis(100));
            }
            if running(pid) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// Whether `pid` runs (an exited process that its new parent has not reaped yet does not).
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(") ")
            .next()
            .is_some_and(|rest| !rest.starts_with('Z'))
    })
}
