//! Whether the ICG serves a given certificate: a TLS probe of 127.0.0.1:<port> (the leaf's SHA-256, then
//! `GET /usg/check-status`), the verifying handshakes a device makes, and the wait until both hold.

use openssl::hash::MessageDigest;
use openssl::ssl::{
    HandshakeError, MidHandshakeSslStream, Ssl, SslConnector, SslMethod, SslStream, SslVerifyMode,
    SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509PurposeId, X509VerifyResult, X509};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const POLL_INTERVAL: Duration = Duration::from_millis(25);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Serving the expected certificate and check-status answered 200.
    Good,
    Unreachable(String),
    WrongCertificate(String),
    Unhealthy(String),
    /// Serving the expected certificate, but a verifying client refuses it: waiting longer changes nothing.
    Refused(String),
}

impl Observation {
    pub fn describe(&self) -> String {
        match self {
            Observation::Good => "serving the expected certificate, check-status 200".into(),
            Observation::Unreachable(why) => format!("not answering ({why})"),
            Observation::WrongCertificate(fp) => {
                format!("serving another certificate (SHA-256 {fp})")
            }
            Observation::Unhealthy(why) => {
                format!("serving the certificate, but /usg/check-status {why}")
            }
            Observation::Refused(why) => {
                format!("serving the certificate, but a verifying client refuses it: {why}")
            }
        }
    }
}

/// One probe of the gateway on 127.0.0.1:`port`: the served leaf, check-status, and, with an `anchor`, the
/// verifying handshakes.
pub fn probe(port: u16, expected_sha256: &str, anchor: Option<&X509>) -> Observation {
    match (served_and_healthy(port, expected_sha256), anchor) {
        (Observation::Good, Some(anchor)) => match verify_as_a_device(port, anchor) {
            Ok(_) => Observation::Good,
            Err(seen) => seen,
        },
        (seen, _) => seen,
    }
}

/// The TLS versions a verifying handshake is made with, newest first.
const DEVICE_VERSIONS: [(SslVersion, &str); 2] = [
    (SslVersion::TLS1_3, "TLS 1.3"),
    (SslVersion::TLS1_2, "TLS 1.2"),
];

/// Verifying handshakes with 127.0.0.1:`port` as a device makes them: `anchor` as the only trust anchor,
/// purpose TLS server, the chain the gateway serves, TLS 1.3 and then TLS 1.2, each where the gateway
/// offers it. Host names are not compared (the address is 127.0.0.1; `same-hosts` judged the names), but the
/// leaf's key usage and the chain's extended key usage are, as Java clients do. Returns the versions that
/// were accepted, or why not: `Refused`, or `Unreachable` when the connection itself failed.
pub fn verify_as_a_device(
    port: u16,
    anchor: &X509,
) -> std::result::Result<Vec<&'static str>, Observation> {
    let mut accepted = Vec::new();
    for (version, name) in DEVICE_VERSIONS {
        match verifying_handshake(port, anchor, version) {
            Ok(Handshake::Accepted) => accepted.push(name),
            Ok(Handshake::NotOffered) => {}
            Err(Observation::Refused(why)) => {
                return Err(Observation::Refused(format!("{name}: {why}")))
            }
            Err(other) => return Err(other),
        }
    }
    if accepted.is_empty() {
        return Err(Observation::Refused(
            "the gateway offers neither TLS 1.3 nor TLS 1.2".into(),
        ));
    }
    Ok(accepted)
}

enum Handshake {
    Accepted,
    NotOffered,
}

/// One verifying handshake at `version`: set up as a device, connected, then judged.
fn verifying_handshake(
    port: u16,
    anchor: &X509,
    version: SslVersion,
) -> std::result::Result<Handshake, Observation> {
    let ssl = device_client(anchor, version)?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| Observation::Unreachable(e.to_string()))?;
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    match ssl.connect(stream) {
        Ok(tls) => judge_accepted(&tls, anchor),
        Err(HandshakeError::Failure(mid)) => judge_failed(&mid),
        Err(e) => Err(Observation::Unreachable(format!(
            "TLS handshake failed: {e}"
        ))),
    }
}

/// A TLS client at exactly `version` that trusts only `anchor` and checks the chain for the TLS-server
/// purpose, without host names or SNI.
fn device_client(anchor: &X509, version: SslVersion) -> std::result::Result<Ssl, Observation> {
    let setup =
        |e: openssl::error::ErrorStack| Observation::Refused(format!("TLS set-up failed: {e}"));
    let mut store = X509StoreBuilder::new().map_err(setup)?;
    store.add_cert(anchor.clone()).map_err(setup)?;
    if !crate::material::issued_by(anchor, anchor) {
        // The installed chain stops at an intermediate: it is the anchor, as in the `same-root` check.
        store
            .set_flags(X509VerifyFlags::PARTIAL_CHAIN)
            .map_err(setup)?;
    }
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(setup)?;
    builder.set_verify(SslVerifyMode::PEER);
    builder
        .set_verify_cert_store(store.build())
        .map_err(setup)?;
    builder
        .set_min_proto_version(Some(version))
        .map_err(setup)?;
    builder
        .set_max_proto_version(Some(version))
        .map_err(setup)?;
    let connector = builder.build();
    let mut config = connector.configure().map_err(setup)?;
    config.set_verify_hostname(false);
    config.set_use_server_name_indication(false);
    let mut ssl = config.into_ssl("127.0.0.1").map_err(setup)?;
    ssl.param_mut()
        .set_purpose(X509PurposeId::SSL_SERVER)
        .map_err(setup)?;
    Ok(ssl)
}

/// A handshake that failed: the chain did not verify, the connection broke, or the gateway does not offer
/// the version (`NotOffered`).
fn judge_failed(
    mid: &MidHandshakeSslStream<TcpStream>,
) -> std::result::Result<Handshake, Observation> {
    let verified = mid.ssl().verify_result();
    if verified != X509VerifyResult::OK {
        return Err(Observation::Refused(format!(
            "the served chain does not verify up to the installed root ({})",
            verified.error_string()
        )));
    }
    let error = mid.error();
    if let Some(io) = error.io_error() {
        return Err(Observation::Unreachable(format!(
            "TLS handshake failed: {io}"
        )));
    }
    let reasons = error
        .ssl_error()
        .map(|stack| stack.to_string())
        .unwrap_or_else(|| error.to_string());
    if [
        "protocol version",
        "unsupported protocol",
        "no protocols available",
    ]
    .iter()
    .any(|r| reasons.contains(r))
    {
        return Ok(Handshake::NotOffered);
    }
    Err(Observation::Refused(format!(
        "the handshake failed: {reasons}"
    )))
}

/// A handshake that verified: the leaf's key usage and the chain's extended key usage are judged as Java
/// clients judge them.
fn judge_accepted(
    tls: &SslStream<TcpStream>,
    anchor: &X509,
) -> std::result::Result<Handshake, Observation> {
    let chain: Vec<X509> = tls
        .ssl()
        .verified_chain()
        .map(|s| s.iter().map(|c| c.to_owned()).collect())
        .unwrap_or_default();
    let Some(leaf) = tls.ssl().peer_certificate() else {
        return Err(Observation::Refused(
            "the gateway sent no certificate".into(),
        ));
    };
    for judged in [
        crate::checks::key_usage(&leaf),
        crate::checks::server_auth(&chain, anchor),
    ] {
        if judged.status == crate::checks::Status::Fail {
            return Err(Observation::Refused(judged.detail));
        }
    }
    Ok(Handshake::Accepted)
}

/// The served leaf compared by fingerprint, then `GET /usg/check-status`.
fn served_and_healthy(port: u16, expected_sha256: &str) -> Observation {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => return Observation::Unreachable(e.to_string()),
    };
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let connector = match SslConnector::builder(SslMethod::tls_client()) {
        Ok(mut b) => {
            // Trust is not the question here: the served leaf is compared by fingerprint below.
            b.set_verify(SslVerifyMode::NONE);
            b.build()
        }
        Err(e) => return Observation::Unreachable(format!("TLS set-up failed: {e}")),
    };
    let tls = connector
        .configure()
        .map(|mut c| {
            c.set_verify_hostname(false);
            c.set_use_server_name_indication(false);
            c
        })
        .and_then(|c| c.into_ssl("127.0.0.1"));
    let mut stream = match tls {
        Ok(ssl) => match ssl.connect(stream) {
            Ok(s) => s,
            Err(e) => return Observation::Unreachable(format!("TLS handshake failed: {e}")),
        },
        Err(e) => return Observation::Unreachable(format!("TLS set-up failed: {e}")),
    };
    let served = stream
        .ssl()
        .peer_certificate()
        .and_then(|c| c.digest(MessageDigest::sha256()).ok())
        .map(|d| crate::cert::hex_colons(&d))
        .unwrap_or_default();
    if served != expected_sha256 {
        return Observation::WrongCertificate(served);
    }
    let request = format!(
        "GET /usg/check-status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return Observation::Unhealthy(format!("could not be asked ({e})"));
    }
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Observation::Unhealthy(format!("gave no answer ({e})")),
        }
    }
    let status_line = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    match status_line.split_whitespace().nth(1) {
        Some("200") => Observation::Good,
        Some(code) => Observation::Unhealthy(format!("answered HTTP {code}")),
        None => Observation::Unhealthy("gave no HTTP answer".into()),
    }
}

/// Polls `probe` until it is good, a verifying client refuses the gateway, or `timeout` passes; `tick` hears
/// every observation with the elapsed time. Returns the time of the first good answer, or the last observation.
pub fn wait_until_served(
    port: u16,
    expected_sha256: &str,
    anchor: Option<&X509>,
    timeout: Duration,
    tick: &mut dyn FnMut(Duration, &Observation),
) -> std::result::Result<Instant, Observation> {
    let start = Instant::now();
    loop {
        let seen = probe(port, expected_sha256, anchor);
        tick(start.elapsed(), &seen);
        if seen == Observation::Good {
            return Ok(Instant::now());
        }
        if matches!(seen, Observation::Refused(_)) || start.elapsed() >= timeout {
            return Err(seen);
        }
        std::thread::sleep(POLL_INTERVAL.min(timeout.saturating_sub(start.elapsed())));
    }
}
