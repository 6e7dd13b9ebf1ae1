//! Helpers shared by the fuzz targets.

use icg_renew::keystore::jks;
use icg_renew::secret::Password;

/// The store password of the installed fixture keystores (`fixtures/store.pass`).
pub fn store_password() -> Password {
    Password::new(
        include_str!("../../fixtures/store.pass")
            .trim_end_matches(['\r', '\n'])
            .to_string(),
    )
}

/// The password of the new-material fixtures (`fixtures/new.pass`).
pub fn new_password() -> Password {
    Password::new(
        include_str!("../../fixtures/new.pass")
            .trim_end_matches(['\r', '\n'])
            .to_string(),
    )
}

/// `data` with its trailing JKS store digest recomputed for `password`, so that mutated JKS files get past
/// the integrity check (a fuzzer cannot forge SHA-1) and reach entry handling and key decryption.
/// `None` when the data is not long enough to be a JKS file or does not start like one.
pub fn with_fixed_jks_digest(data: &[u8], password: &Password) -> Option<Vec<u8>> {
    const DIGEST_LEN: usize = 20;
    if !jks::looks_like_jks(data) || data.len() < 12 + DIGEST_LEN {
        return None;
    }
    let body = &data[..data.len() - DIGEST_LEN];
    let mut sha = openssl::sha::Sha1::new();
    sha.update(&password.utf16be());
    sha.update(b"Mighty Aphrodite");
    sha.update(body);
    let digest = sha.finish();
    if digest == data[body.len()..] {
        return None; // already right: no need to run the same input twice
    }
    let mut fixed = body.to_vec();
    fixed.extend_from_slice(&digest);
    Some(fixed)
}

/// `data` re-encoded as BER the way Bouncy Castle writes a PKCS#12 file: every constructed element with an
/// indefinite length, every OCTET STRING longer than 64 bytes as a constructed OCTET STRING of 64-byte pieces
/// (so the octets, and a MAC over them, stay the same). Only the element tree is walked, never the inside of
/// a primitive. `None` when `data` is not one definite-length element (or nests deeper than 64, or holds an
/// element with tag 0, which BER reads as end-of-contents).
pub fn as_ber(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let rest = element_as_ber(data, &mut out, 0)?;
    rest.is_empty().then_some(out)
}

/// Re-encodes the element at the start of `data` into `out`; returns what follows it.
fn element_as_ber<'a>(data: &'a [u8], out: &mut Vec<u8>, depth: usize) -> Option<&'a [u8]> {
    const PIECE: usize = 64;
    if depth > 64 {
        return None;
    }
    let tag = *data.first()?;
    if tag & 0x1F == 0x1F || tag == 0 {
        return None; // high tag numbers do not occur in PKCS#12; tag 0 would read as end-of-contents
    }
    let (len, header) = match *data.get(1)? {
        n if n < 0x80 => (usize::from(n), 2),
        n if (0x81..=0x84).contains(&n) => {
            let count = usize::from(n & 0x7F);
            let bytes = data.get(2..2 + count)?;
            (
                bytes.iter().fold(0usize, |v, &b| (v << 8) | usize::from(b)),
                2 + count,
            )
        }
        _ => return None,
    };
    let content = data.get(header..header.checked_add(len)?)?;
    let rest = &data[header + len..];
    if tag & 0x20 != 0 {
        out.extend([tag, 0x80]);
        let mut inner = content;
        while !inner.is_empty() {
            inner = element_as_ber(inner, out, depth + 1)?;
        }
        out.extend([0, 0]);
    } else if tag == 0x04 && content.len() > PIECE {
        out.extend([0x24, 0x80]);
        for piece in content.chunks(PIECE) {
            out.extend([0x04, piece.len() as u8]);
            out.extend_from_slice(piece);
        }
        out.extend([0, 0]);
    } else {
        out.extend_from_slice(&data[..header + len]);
    }
    Some(rest)
}
