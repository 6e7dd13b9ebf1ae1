//! A minimal, bounds-checked DER reader: just enough to inspect the structures the `openssl` and `p12-keystore`
//! crates do not expose (JKS key blobs, PKCS#12 algorithm parameters, X.509 basic constraints). It never
//! allocates from a length field and returns `None` on anything malformed.

pub const TAG_BOOLEAN: u8 = 0x01;
pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_OCTET_STRING: u8 = 0x04;
pub const TAG_NULL: u8 = 0x05;
pub const TAG_OID: u8 = 0x06;
pub const TAG_SEQUENCE: u8 = 0x30;
/// `[0]` constructed, context-specific.
pub const TAG_CONTEXT_0: u8 = 0xA0;
/// `[3]` constructed, context-specific (X.509 extensions).
pub const TAG_CONTEXT_3: u8 = 0xA3;

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads consecutive DER elements from a byte slice.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element, or `None` when the input ends or is malformed (including indefinite lengths).
    pub fn next_tlv(&mut self) -> Option<Tlv<'a>> {
        let (&tag, after_tag) = self.rest.split_first()?;
        if tag & 0x1F == 0x1F {
            return None; // multi-byte tags do not occur in the structures read here
        }
        let (&first, mut after_len) = after_tag.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 || after_len.len() < count {
                return None;
            }
            let mut len = 0usize;
            for &b in &after_len[..count] {
                len = (len << 8) | usize::from(b);
            }
            after_len = &after_len[count..];
            len
        };
        if after_len.len() < len {
            return None;
        }
        let (value, rest) = after_len.split_at(len);
        self.rest = rest;
        Some(Tlv { tag, value })
    }

    /// The next element, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        let tlv = self.next_tlv()?;
        (tlv.tag == tag).then_some(tlv.value)
    }
}

/// The whole of `data` as exactly one element with `tag`.
pub fn single(data: &[u8], tag: u8) -> Option<&[u8]> {
    let mut reader = Reader::new(data);
    let value = reader.expect(tag)?;
    reader.is_empty().then_some(value)
}

/// A non-negative INTEGER that fits in a u64.
pub fn small_uint(value: &[u8]) -> Option<u64> {
    let trimmed = match value {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => value,
    };
    if trimmed.is_empty()
        || trimmed.len() > 8
        || trimmed[0] & 0x80 != 0 && value.len() == trimmed.len()
    {
        return None;
    }
    Some(
        trimmed
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// Dotted text of an encoded OBJECT IDENTIFIER, for messages.
pub fn oid_to_string(value: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc = 0u64;
    for &b in value {
        acc = (acc << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = (acc / 40).min(2);
                parts.push(first);
                parts.push(acc - first * 40);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// The value of the X.509 extension `oid` (encoded OID bytes) in a DER certificate, if present.
pub fn certificate_extension<'a>(cert_der: &'a [u8], oid: &[u8]) -> Option<&'a [u8]> {
    let cert = single(cert_der, TAG_SEQUENCE)?;
    let tbs = Reader::new(cert).expect(TAG_SEQUENCE)?;
    let mut fields = Reader::new(tbs);
    while let Some(field) = fields.next_tlv() {
        if field.tag != TAG_CONTEXT_3 {
            continue;
        }
        let mut extensions = Reader::new(single(field.value, TAG_SEQUENCE)?);
        while let Some(extension) = extensions.expect(TAG_SEQUENCE) {
            let mut parts = Reader::new(extension);
            if parts.expect(TAG_OID)? != oid {
                continue;
            }
            let mut next = parts.next_tlv()?;
            if next.tag == TAG_BOOLEAN {
                next = parts.next_tlv()?;
            }
            return (next.tag == TAG_OCTET_STRING).then_some(next.value);
        }
        return None;
    }
    None
}

/// Whether `data` has the outer shape of an X.509 certificate: exactly one SEQUENCE of a SEQUENCE (the
/// signed part), a SEQUENCE (the algorithm) and a BIT STRING (the signature). A cheap check for the many
/// certificates of a trust store, which are parsed in full only when used.
pub fn looks_like_certificate(data: &[u8]) -> bool {
    let Some(cert) = single(data, TAG_SEQUENCE) else {
        return false;
    };
    let mut parts = Reader::new(cert);
    parts.expect(TAG_SEQUENCE).is_some()
        && parts.expect(TAG_SEQUENCE).is_some()
        && parts.expect(0x03).is_some()
        && parts.is_empty()
}

/// Encoded OID 2.5.29.19, basicConstraints.
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];

/// Whether a DER certificate carries basicConstraints with `cA` TRUE.
pub fn certificate_is_ca(cert_der: &[u8]) -> bool {
    let Some(value) = certificate_extension(cert_der, OID_BASIC_CONSTRAINTS) else {
        return false;
    };
    let Some(constraints) = single(value, TAG_SEQUENCE) else {
        return false;
    };
    match Reader::new(constraints).next_tlv() {
        Some(Tlv {
            tag: TAG_BOOLEAN,
            value: [flag],
        }) => *flag != 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut data = vec![0x04, 0x81, 0x80];
        data.extend(std::iter::repeat_n(7u8, 0x80));
        data.extend([0x05, 0x00]);
        let mut reader = Reader::new(&data);
        assert_eq!(reader.expect(TAG_OCTET_STRING).map(<[u8]>::len), Some(0x80));
        assert_eq!(reader.expect(TAG_NULL), Some(&[][..]));
        assert!(reader.is_empty());
    }

    #[test]
    fn refuses_lengths_past_the_end_and_indefinite_lengths() {
        assert!(Reader::new(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF])
            .next_tlv()
            .is_none());
        assert!(Reader::new(&[0x30, 0x80, 0x00, 0x00]).next_tlv().is_none());
        assert!(Reader::new(&[0x30, 0x05, 0x00]).next_tlv().is_none());
    }

    #[test]
    fn integers_and_oids() {
        assert_eq!(small_uint(&[0x00, 0xC3, 0x50]), Some(50_000));
        assert_eq!(small_uint(&[0x80]), None);
        assert_eq!(
            oid_to_string(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x02]),
            "1.2.840.113549.1.12.10.1.2"
        );
    }
}
