//! What a TLS server on 127.0.0.1 serves, as a client without verification sees it: shared by the stand-in
//! gateway (tests/gateway/) and the Tomcat harness (tests/tomcat/).

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use std::time::Duration;

/// SHA-256 (upper-case hex with colons) of the leaf served on 127.0.0.1:`port`, if it answers.
pub fn served_fingerprint(port: u16) -> Option<String> {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut builder = SslConnector::builder(SslMethod::tls_client()).ok()?;
    builder.set_verify(SslVerifyMode::NONE);
    let tls = builder
        .build()
        .configure()
        .ok()?
        .verify_hostname(false)
        .use_server_name_indication(false)
        .connect("127.0.0.1", stream)
        .ok()?;
    let digest = tls
        .ssl()
        .peer_certificate()?
        .digest(openssl::hash::MessageDigest::sha256())
        .ok()?;
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}
