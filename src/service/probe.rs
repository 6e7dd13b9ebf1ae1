//! What the gateway on 127.0.0.1:<port> serves and says: one look (the served leaf, then the ICG's own
//! verdict, asked in `check_status`), the probe that judges a look against the certificate and the verdicts
//! awaited, the verifying handshakes a device makes, and the wait until all hold. A gateway that requires a
//! client certificate is seen by its served leaf alone.

use super::check_status::{
    ask_check_status, refused_for_no_client_certificate, IcgStatus, StatusAnswer,
};
use openssl::ssl::{
    HandshakeError, MidHandshakeSslStream, Ssl, SslConnector, SslMethod, SslStream, SslVerifyMode,
    SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509PurposeId, X509VerifyResult, X509};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const POLL_INTERVAL: Duration = Duration::from_millis(25);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One look at the gateway on 127.0.0.1: the leaf it serves and what check-status answered.
#[derive(Debug, Clone)]
pub struct Look {
    pub leaf: X509,
    pub status: StatusAnswer,
}

/// What the confirmation accepts from check-status once the expected leaf is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdicts {
    /// `ok`, and `warn` too when `warn_ok`; `err` fails at once; `init` and any other answer wait on.
    Ok { warn_ok: bool },
    /// The ICG has no check-status (it answered 404 before the change): not asked.
    NotAsked,
    /// Any settled verdict (`ok`, `warn`, `err`): the restore after a failed renewal, which puts back what
    /// was served before and can do no better than that.
    Settled,
}

/// How the confirmed gateway was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed {
    /// The verdict accepted (`None`: not asked, or it cannot be asked).
    pub status: Option<IcgStatus>,
    /// The gateway requires a client certificate: confirmed by the served certificate alone.
    pub served_certificate_only: bool,
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Serving the expected certificate with an accepted verdict, and (with an anchor) verified as a
    /// device verifies it.
    Good(Confirmed),
    Unreachable(String),
    WrongCertificate(String),
    /// Serving the expected certificate, but check-status does not (yet) say what is awaited: wait on.
    Waiting {
        status: Option<IcgStatus>,
        why: String,
    },
    /// Serving the expected certificate, and the ICG says `err`: it rejects what it was given.
    Rejected,
    /// Serving the expected certificate, but a verifying client refuses it: waiting longer changes nothing.
    Refused(String),
}

impl Observation {
    pub fn describe(&self) -> String {
        match self {
            Observation::Good(c) => match c.status {
                Some(s) => format!(
                    "serving the expected certificate, the ICG says {}",
                    s.name()
                ),
                None => "serving the expected certificate".into(),
            },
            Observation::Unreachable(why) => format!("not answering ({why})"),
            Observation::WrongCertificate(fp) => {
                format!("serving another certificate (SHA-256 {fp})")
            }
            Observation::Waiting { why, .. } => format!("serving the certificate, but {why}"),
            Observation::Rejected => format!(
                "serving the certificate, but the ICG says {}",
                IcgStatus::Err.explained()
            ),
            Observation::Refused(why) => {
                format!("serving the certificate, but a verifying client refuses it: {why}")
            }
        }
    }

    /// The verdict this observation carries for the expected leaf, if any.
    pub fn status(&self) -> Option<IcgStatus> {
        match self {
            Observation::Good(c) => c.status,
            Observation::Waiting { status, .. } => *status,
            Observation::Rejected => Some(IcgStatus::Err),
            _ => None,
        }
    }
}

/// One probe of the gateway on 127.0.0.1:`port`: the served leaf, check-status judged by `verdicts`,
/// and, with an `anchor`, the verifying handshakes.
pub fn probe(
    port: u16,
    expected_sha256: &str,
    verdicts: Verdicts,
    anchor: Option<&X509>,
) -> Observation {
    let seen = match look(port, IO_TIMEOUT) {
        Ok(seen) => seen,
        Err(why) => return Observation::Unreachable(why),
    };
    let served = crate::cert::sha256_fingerprint(&seen.leaf);
    if served != expected_sha256 {
        return Observation::WrongCertificate(served);
    }
    let status = match (&seen.status, verdicts) {
        (StatusAnswer::ClientCertificateRequired, _) => {
            return Observation::Good(Confirmed {
                status: None,
                served_certificate_only: true,
            })
        }
        (_, Verdicts::NotAsked) => None,
        (StatusAnswer::Said(IcgStatus::Err), Verdicts::Ok { .. }) => return Observation::Rejected,
        (StatusAnswer::Said(s @ IcgStatus::Ok), _)
        | (StatusAnswer::Said(s @ IcgStatus::Warn), Verdicts::Ok { warn_ok: true })
        | (StatusAnswer::Said(s @ (IcgStatus::Warn | IcgStatus::Err)), Verdicts::Settled) => {
            Some(*s)
        }
        (StatusAnswer::Said(s), _) => {
            return Observation::Waiting {
                status: Some(*s),
                why: format!("the ICG says {}", s.explained()),
            }
        }
        (other, _) => {
            return Observation::Waiting {
                status: None,
                why: other.describe(),
            }
        }
    };
    if let Some(anchor) = anchor {
        if let Err(seen) = verify_as_a_device(port, anchor) {
            return seen;
        }
    }
    Observation::Good(Confirmed {
        status,
        served_certificate_only: false,
    })
}

/// What the gateway says before a change: its verdict, that it has no endpoint (404), or nothing (it does
/// not run, requires a client certificate, or gave no verdict). One look, at most `budget` long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    Said(IcgStatus),
    NoEndpoint,
    Unknown,
}

impl Before {
    /// Asks the gateway on 127.0.0.1:`port`.
    pub fn ask(port: u16, budget: Duration) -> Before {
        match look(port, budget).map(|l| l.status) {
            Ok(StatusAnswer::Said(s)) => Before::Said(s),
            Ok(StatusAnswer::NoEndpoint) => Before::NoEndpoint,
            _ => Before::Unknown,
        }
    }

    /// The verdict, for the JSON's `icg_status.before`.
    pub fn status(self) -> Option<IcgStatus> {
        match self {
            Before::Said(s) => Some(s),
            _ => None,
        }
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

/// One look at the gateway on 127.0.0.1:`port`, within `budget`: a TLS handshake that trusts anything (the
/// served leaf is judged by fingerprint, not by trust), then `GET /usg/check-status`. `Err`: nothing was
/// served (why).
pub fn look(port: u16, budget: Duration) -> std::result::Result<Look, String> {
    let deadline = Instant::now() + budget;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(left()))
        .map_err(|e| e.to_string())?;
    let _ = stream.set_read_timeout(Some(left()));
    let _ = stream.set_write_timeout(Some(left()));
    let mut builder = SslConnector::builder(SslMethod::tls_client())
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    // Trust is not the question here: the served leaf is compared by fingerprint.
    builder.set_verify(SslVerifyMode::NONE);
    let ssl = builder
        .build()
        .configure()
        .map(|mut c| {
            c.set_verify_hostname(false);
            c.set_use_server_name_indication(false);
            c
        })
        .and_then(|c| c.into_ssl("127.0.0.1"))
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let mut tls = match ssl.connect(stream) {
        Ok(tls) => tls,
        // TLS 1.2: a gateway that requires a client certificate ends the handshake after its own.
        Err(HandshakeError::Failure(mid)) => {
            return match mid.ssl().peer_certificate() {
                Some(leaf) if refused_for_no_client_certificate(&mid.error().to_string()) => {
                    Ok(Look {
                        leaf,
                        status: StatusAnswer::ClientCertificateRequired,
                    })
                }
                _ => Err(format!("TLS handshake failed: {}", mid.error())),
            };
        }
        Err(e) => return Err(format!("TLS handshake failed: {e}")),
    };
    let leaf = tls
        .ssl()
        .peer_certificate()
        .ok_or_else(|| "the gateway sent no certificate".to_string())?;
    let _ = tls.get_ref().set_read_timeout(Some(left()));
    let status = ask_check_status(&mut tls, port, &left);
    Ok(Look { leaf, status })
}

/// How long to wait between probes while the gateway does not serve the expected leaf (to measure the
/// downtime closely), and while it serves it but its verdict is awaited (it changes every 30 s).
const VERDICT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The confirmation's wait: polls `probe` until it is good, the ICG says `err`, a verifying client refuses
/// the gateway, or `timeout` passes; `tick` hears every observation with the elapsed time. Returns when the
/// expected leaf was first served (the end of the downtime) and how it was confirmed, or the last
/// observation.
pub fn wait_until_served(
    port: u16,
    expected_sha256: &str,
    verdicts: Verdicts,
    anchor: Option<&X509>,
    timeout: Duration,
    tick: &mut dyn FnMut(Duration, &Observation),
) -> std::result::Result<(Instant, Confirmed), Observation> {
    let start = Instant::now();
    let mut served_since = None;
    loop {
        let seen = probe(port, expected_sha256, verdicts, anchor);
        tick(start.elapsed(), &seen);
        let serving = !matches!(
            seen,
            Observation::Unreachable(_) | Observation::WrongCertificate(_)
        );
        if serving && served_since.is_none() {
            served_since = Some(Instant::now());
        }
        match seen {
            Observation::Good(confirmed) => {
                return Ok((served_since.unwrap_or_else(Instant::now), confirmed))
            }
            Observation::Refused(_) | Observation::Rejected => return Err(seen),
            _ if start.elapsed() >= timeout => return Err(seen),
            _ => {}
        }
        let pause = if serving {
            VERDICT_POLL_INTERVAL
        } else {
            POLL_INTERVAL
        };
        std::thread::sleep(pause.min(timeout.saturating_sub(start.elapsed())));
    }
}
