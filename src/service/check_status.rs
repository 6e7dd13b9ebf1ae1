//! The ICG's own verdict on itself: `GET /usg/check-status` (ICG 2.04 and later) asked over an open TLS
//! connection and its answer judged — `{"status": "init|ok|warn|err"}` in a plain or chunked body, 404 for an
//! ICG without the endpoint, and a refusal for want of a client certificate. The answer comes from a process
//! of the ICG's service account: it is read bounded, and nothing of it is shown unescaped.

use openssl::ssl::SslStream;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The ICG's verdict on itself, as `GET /usg/check-status` gives it (ICG 2.04 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IcgStatus {
    /// Still starting (more than 30 s of it turns into `err`).
    Init,
    /// Running.
    Ok,
    /// No UMS server connected.
    Warn,
    /// The ICG holds no valid certificate.
    Err,
}

impl IcgStatus {
    /// The verdict as the ICG spells it.
    pub fn name(self) -> &'static str {
        match self {
            IcgStatus::Init => "init",
            IcgStatus::Ok => "ok",
            IcgStatus::Warn => "warn",
            IcgStatus::Err => "err",
        }
    }

    /// The verdict with what it means, for messages.
    pub fn explained(self) -> &'static str {
        match self {
            IcgStatus::Init => "init (still starting)",
            IcgStatus::Ok => "ok",
            IcgStatus::Warn => "warn (no UMS server connected)",
            IcgStatus::Err => "err (the ICG holds no valid certificate)",
        }
    }

    /// The verdict in a check-status body: `{"status": "init|ok|warn|err"}`.
    fn of_body(body: &[u8]) -> Option<IcgStatus> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        match value.get("status")?.as_str()? {
            "init" => Some(IcgStatus::Init),
            "ok" => Some(IcgStatus::Ok),
            "warn" => Some(IcgStatus::Warn),
            "err" => Some(IcgStatus::Err),
            _ => None,
        }
    }
}

/// What `GET /usg/check-status` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusAnswer {
    /// HTTP 200 with a verdict.
    Said(IcgStatus),
    /// HTTP 404: an ICG without the endpoint (before 2.04).
    NoEndpoint,
    /// The gateway requires a client certificate (devices present one after enrolment): nothing can be
    /// asked without one.
    ClientCertificateRequired,
    /// Anything else (another HTTP status, no verdict in the body, no answer): why.
    Unclear(String),
}

impl StatusAnswer {
    /// The answer in a few words, for messages.
    pub fn describe(&self) -> String {
        match self {
            StatusAnswer::Said(s) => format!("the ICG says {}", s.explained()),
            StatusAnswer::NoEndpoint => {
                "no /usg/check-status (HTTP 404: an ICG before 2.04)".into()
            }
            StatusAnswer::ClientCertificateRequired => {
                "it requires a client certificate, so check-status cannot be asked".into()
            }
            StatusAnswer::Unclear(why) => format!("/usg/check-status {why}"),
        }
    }
}

/// Whether a TLS failure after the server's certificate is its refusal of a client without a certificate:
/// TLS 1.3's `certificate_required` alert, or what TLS 1.2 servers send instead.
pub(super) fn refused_for_no_client_certificate(error: &str) -> bool {
    [
        "certificate required",
        "bad certificate",
        "handshake failure",
    ]
    .iter()
    .any(|alert| error.contains(alert))
}

/// How much of a check-status answer is read.
const ANSWER_LIMIT: usize = 16 * 1024;

/// `GET /usg/check-status` over `tls`, read until the server closes (`Connection: close`) or the budget
/// `left` ends.
pub(super) fn ask_check_status(
    tls: &mut SslStream<TcpStream>,
    port: u16,
    left: &dyn Fn() -> Duration,
) -> StatusAnswer {
    let request = format!(
        "GET /usg/check-status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    if let Err(e) = tls.write_all(request.as_bytes()) {
        return answer_to_failed_io(&e.to_string(), "could not be asked");
    }
    let mut answer = Vec::new();
    let mut buf = [0u8; 2048];
    while answer.len() < ANSWER_LIMIT {
        let _ = tls.get_ref().set_read_timeout(Some(left()));
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if answer.is_empty() => {
                return answer_to_failed_io(&e.to_string(), "gave no answer")
            }
            Err(_) => break,
        }
        if left() <= Duration::from_millis(1) {
            break;
        }
    }
    judge_answer(&answer)
}

/// A request that failed at the TLS layer: TLS 1.3 tells a client without a certificate only now.
fn answer_to_failed_io(error: &str, what: &str) -> StatusAnswer {
    if refused_for_no_client_certificate(error) {
        StatusAnswer::ClientCertificateRequired
    } else {
        StatusAnswer::Unclear(format!("{what} ({error})"))
    }
}

/// The HTTP answer judged: its status code, and for 200 the verdict in its body (plain or chunked). Public
/// for the fuzz target `check_status_answer`: the bytes are the gateway's, another account's.
pub fn judge_answer(answer: &[u8]) -> StatusAnswer {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return StatusAnswer::Unclear("gave no HTTP answer".into());
    };
    let head = String::from_utf8_lossy(&answer[..split]);
    let body = &answer[split + 4..];
    let code = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default();
    match code {
        "200" => {
            let chunked = head.lines().any(|l| {
                let l = l.to_ascii_lowercase();
                l.starts_with("transfer-encoding:") && l.contains("chunked")
            });
            let body = if chunked {
                dechunked(body)
            } else {
                body.to_vec()
            };
            match IcgStatus::of_body(&body) {
                Some(s) => StatusAnswer::Said(s),
                None => StatusAnswer::Unclear("answered 200 without a verdict".into()),
            }
        }
        "404" => StatusAnswer::NoEndpoint,
        "" => StatusAnswer::Unclear("gave no HTTP answer".into()),
        code => StatusAnswer::Unclear(format!("answered HTTP {}", crate::shown::text(code))),
    }
}

/// A chunked HTTP body put together (as far as it arrived).
fn dechunked(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&body[..end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = end + 2;
        // The gateway runs as another account: its chunk sizes are not trusted to fit.
        let Some(stop) = start
            .checked_add(size)
            .filter(|s| size > 0 && *s <= body.len())
        else {
            break;
        };
        out.extend_from_slice(&body[start..stop]);
        body = body.get(stop.saturating_add(2)..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_read_from_a_plain_and_a_chunked_answer() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"warn\"}";
        assert_eq!(judge_answer(plain), StatusAnswer::Said(IcgStatus::Warn));
        let chunked = b"HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{\"status\r\n7\r\n\": \"ok\"\r\n1\r\n}\r\n0\r\n\r\n";
        assert_eq!(judge_answer(chunked), StatusAnswer::Said(IcgStatus::Ok));
    }

    #[test]
    fn a_hostile_answer_is_no_verdict_and_no_panic() {
        for answer in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n{}\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n{\"status\":\"ok\"}",
            b"HTTP/1.1 200 OK\r\n\r\n{\"status\":\"OK\"}",
            b"HTTP/1.1 200 OK\r\n\r\n{\"status\":[\"ok\"]}",
            b"HTTP/1.1 \x1b[31m\r\n\r\n",
        ] {
            assert!(matches!(judge_answer(answer), StatusAnswer::Unclear(_)));
        }
        let StatusAnswer::Unclear(why) = judge_answer(b"HTTP/1.1 5\x1b[2J0 x\r\n\r\n") else {
            panic!("a verdict from nothing");
        };
        assert!(!why.contains('\x1b'), "{why}");
    }

    #[test]
    fn http_200_alone_is_no_verdict_and_404_is_no_endpoint() {
        assert!(matches!(
            judge_answer(b"HTTP/1.1 200 OK\r\n\r\nfine"),
            StatusAnswer::Unclear(_)
        ));
        assert_eq!(
            judge_answer(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            StatusAnswer::NoEndpoint
        );
        assert!(matches!(
            judge_answer(b"HTTP/1.1 503 Unavailable\r\n\r\n"),
            StatusAnswer::Unclear(_)
        ));
    }
}
