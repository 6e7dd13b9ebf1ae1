//! SafeBags at the byte level: what Java reads from a bag (kind, friendlyName, localKeyID, trusted
//! usage), the certificate inside a CertBag, SafeContents encoding and decoding, and the small DER
//! helpers the rest of the PKCS#12 codec builds on. Every bag keeps its exact bytes.

use super::{corrupt, PfxError, PfxResult};
use der::asn1::{AnyRef, ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};

pub(super) const SHROUDED_KEY_BAG: Oid = pkcs12::PKCS_12_PKCS8_KEY_BAG_OID;
const CERT_BAG: Oid = pkcs12::PKCS_12_CERT_BAG_OID;
const SECRET_BAG: Oid = pkcs12::PKCS_12_SECRET_BAG_OID;
const X509_CERTIFICATE: Oid = pkcs12::PKCS_12_X509_CERT_OID;
const FRIENDLY_NAME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: Oid = Oid::new_unwrap("1.2.840.113549.1.9.21");
/// Java's "trusted key usage" attribute: a certificate bag carrying it is a trustedCertEntry.
const JAVA_TRUSTED_USAGE: Oid = Oid::new_unwrap("2.16.840.1.113894.746875.1.1");

/// What kind of bag, as far as Java's keystore cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BagKind {
    /// An encrypted PKCS#8 key (pkcs8ShroudedKeyBag).
    ShroudedKey,
    /// An X.509 certificate (its DER).
    Certificate(Vec<u8>),
    /// A secret key (Java's SecretKeyEntry).
    Secret,
    /// Anything else (unencrypted keyBags, which Java's keystore skips, CRLs, nested SafeContents, other
    /// certificate types): kept, never looked into.
    Other,
}

/// One SafeBag: its exact bytes and what Java reads from it.
#[derive(Debug, Clone)]
pub struct Bag {
    /// The whole SafeBag as found (or as written for the new server entry).
    pub der: Vec<u8>,
    pub kind: BagKind,
    /// The bag value (the content of `[0]`), DER.
    pub(super) value: Vec<u8>,
    /// The `bagAttributes` SET as found, DER.
    attributes: Option<Vec<u8>>,
    pub friendly_name: Option<String>,
    pub local_key_id: Option<Vec<u8>>,
    pub trusted: bool,
}

/// The elements of a DER SEQUENCE, each as its exact bytes.
pub(super) fn sequence_items(tlv: &[u8]) -> der::Result<Vec<&[u8]>> {
    let seq = AnyRef::from_der(tlv)?;
    if seq.tag() != Tag::Sequence {
        return Err(Tag::Sequence.value_error().into());
    }
    let mut reader = SliceReader::new(seq.value())?;
    let mut items = Vec::new();
    while !reader.is_finished() {
        items.push(reader.tlv_bytes()?);
    }
    Ok(items)
}

pub(super) fn tlv(tag: Tag, content: &[u8]) -> PfxResult<Vec<u8>> {
    AnyRef::new(tag, content)
        .and_then(|any| any.to_der())
        .map_err(corrupt)
}

pub(super) fn context_0(content: &[u8]) -> PfxResult<Vec<u8>> {
    tlv(
        Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(0),
        },
        content,
    )
}

impl Bag {
    fn parse(der: &[u8]) -> PfxResult<Bag> {
        let outer = AnyRef::from_der(der).map_err(corrupt)?;
        let mut reader = SliceReader::new(outer.value()).map_err(corrupt)?;
        let id: Oid = reader.decode().map_err(corrupt)?;
        let explicit: AnyRef<'_> = reader.decode().map_err(corrupt)?;
        let value = explicit.value().to_vec();
        let attributes = if reader.is_finished() {
            None
        } else {
            Some(reader.tlv_bytes().map_err(corrupt)?.to_vec())
        };
        reader.finish().map_err(corrupt)?;
        if outer.tag() != Tag::Sequence
            || explicit.tag()
                != (Tag::ContextSpecific {
                    constructed: true,
                    number: TagNumber(0),
                })
        {
            return Err(corrupt("a SafeBag is not a SEQUENCE with a [0] value"));
        }
        let kind = match id {
            SHROUDED_KEY_BAG => BagKind::ShroudedKey,
            SECRET_BAG => BagKind::Secret,
            CERT_BAG => certificate_of(&value)?.map_or(BagKind::Other, BagKind::Certificate),
            _ => BagKind::Other,
        };
        let mut bag = Bag {
            der: der.to_vec(),
            kind,
            value,
            attributes,
            friendly_name: None,
            local_key_id: None,
            trusted: false,
        };
        if let Some(set) = &bag.attributes {
            let set = set.clone();
            bag.read_attributes(&set)?;
        }
        Ok(bag)
    }

    fn read_attributes(&mut self, set: &[u8]) -> PfxResult<()> {
        let set = AnyRef::from_der(set).map_err(corrupt)?;
        let mut reader = SliceReader::new(set.value()).map_err(corrupt)?;
        while !reader.is_finished() {
            let attribute: AnyRef<'_> = reader.decode().map_err(corrupt)?;
            let mut fields = SliceReader::new(attribute.value()).map_err(corrupt)?;
            let oid: Oid = fields.decode().map_err(corrupt)?;
            let values: AnyRef<'_> = fields.decode().map_err(corrupt)?;
            let first = SliceReader::new(values.value()).ok().and_then(|mut r| {
                (!r.is_finished())
                    .then(|| r.decode::<AnyRef<'_>>().ok())
                    .flatten()
            });
            match (oid, first) {
                (FRIENDLY_NAME, Some(name)) if name.tag() == Tag::BmpString => {
                    let units = name
                        .value()
                        .chunks(2)
                        .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
                    self.friendly_name = Some(
                        char::decode_utf16(units)
                            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                            .collect(),
                    );
                }
                // Java's `DerValue.getBMPString` fails the whole load on any other type.
                (FRIENDLY_NAME, Some(name)) => {
                    return Err(PfxError::JavaRefuses(format!(
                        "a friendlyName is {}, where Java reads only a BMPString (\"Incorrect string type {}\")",
                        string_type(name.tag()),
                        tag_number(name.tag())
                    )));
                }
                (LOCAL_KEY_ID, Some(id)) if id.tag() == Tag::OctetString => {
                    self.local_key_id = Some(id.value().to_vec());
                }
                (LOCAL_KEY_ID, Some(id)) => {
                    return Err(PfxError::JavaRefuses(format!(
                        "a localKeyID is {}, where Java reads only an OCTET STRING",
                        string_type(id.tag())
                    )));
                }
                (FRIENDLY_NAME | LOCAL_KEY_ID, None) => {
                    return Err(PfxError::JavaRefuses(
                        "a friendlyName or localKeyID attribute has no value".into(),
                    ));
                }
                (JAVA_TRUSTED_USAGE, _) => self.trusted = true,
                _ => {}
            }
        }
        Ok(())
    }

    /// A new bag of type `id` holding `value`, with the attribute SET `attributes` as found elsewhere.
    pub(super) fn build(id: Oid, kind: BagKind, value: Vec<u8>, template: &Bag) -> PfxResult<Bag> {
        let mut body = id.to_der().map_err(corrupt)?;
        body.extend(context_0(&value)?);
        if let Some(attributes) = &template.attributes {
            body.extend(attributes);
        }
        Ok(Bag {
            der: tlv(Tag::Sequence, &body)?,
            kind,
            value,
            attributes: template.attributes.clone(),
            friendly_name: template.friendly_name.clone(),
            local_key_id: template.local_key_id.clone(),
            trusted: template.trusted,
        })
    }

    pub(super) fn certificate(cert_der: &[u8], template: &Bag) -> PfxResult<Bag> {
        let mut cert_bag = X509_CERTIFICATE.to_der().map_err(corrupt)?;
        cert_bag.extend(context_0(&tlv(Tag::OctetString, cert_der)?)?);
        let value = tlv(Tag::Sequence, &cert_bag)?;
        Bag::build(
            CERT_BAG,
            BagKind::Certificate(cert_der.to_vec()),
            value,
            template,
        )
    }

    /// A template with the attributes Java's `PKCS12KeyStore.engineStore` gives a CA certificate of a key
    /// entry's chain: friendlyName `name` (the subject's RFC 2253 name), no localKeyID, then the key bag's
    /// own attributes other than friendlyName, localKeyID and trusted usage.
    pub(super) fn java_ca_template(name: &str, key_bag: &Bag) -> PfxResult<Bag> {
        let bmp: Vec<u8> = name.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut friendly = FRIENDLY_NAME.to_der().map_err(corrupt)?;
        friendly.extend(tlv(Tag::Set, &tlv(Tag::BmpString, &bmp)?)?);
        let mut attributes = tlv(Tag::Sequence, &friendly)?;
        if let Some(set) = &key_bag.attributes {
            let set = AnyRef::from_der(set).map_err(corrupt)?;
            let mut reader = SliceReader::new(set.value()).map_err(corrupt)?;
            while !reader.is_finished() {
                let attribute = reader.tlv_bytes().map_err(corrupt)?;
                let oid: Oid =
                    SliceReader::new(AnyRef::from_der(attribute).map_err(corrupt)?.value())
                        .and_then(|mut r| r.decode())
                        .map_err(corrupt)?;
                if ![FRIENDLY_NAME, LOCAL_KEY_ID, JAVA_TRUSTED_USAGE].contains(&oid) {
                    attributes.extend_from_slice(attribute);
                }
            }
        }
        Ok(Bag {
            attributes: Some(tlv(Tag::Set, &attributes)?),
            friendly_name: Some(name.to_string()),
            ..Bag::without_attributes()
        })
    }

    pub(super) fn without_attributes() -> Bag {
        Bag {
            der: Vec::new(),
            kind: BagKind::Other,
            value: Vec::new(),
            attributes: None,
            friendly_name: None,
            local_key_id: None,
            trusted: false,
        }
    }
}

/// An ASN.1 type for messages: "a UTF8String", else "an element with tag N".
fn string_type(tag: Tag) -> String {
    match tag {
        Tag::Utf8String => "a UTF8String".into(),
        Tag::PrintableString => "a PrintableString".into(),
        Tag::TeletexString => "a T61String".into(),
        Tag::Ia5String => "an IA5String".into(),
        Tag::VisibleString => "a VisibleString".into(),
        Tag::OctetString => "an OCTET STRING".into(),
        other => format!("an element with tag {}", tag_number(other)),
    }
}

/// The number Java prints for a universal tag (12 for a UTF8String).
fn tag_number(tag: Tag) -> u32 {
    tag.number().value()
}

/// The X.509 certificate of a CertBag value, `None` for other certificate types.
fn certificate_of(cert_bag: &[u8]) -> PfxResult<Option<Vec<u8>>> {
    let seq = AnyRef::from_der(cert_bag).map_err(corrupt)?;
    let mut reader = SliceReader::new(seq.value()).map_err(corrupt)?;
    let id: Oid = reader.decode().map_err(corrupt)?;
    let explicit: AnyRef<'_> = reader.decode().map_err(corrupt)?;
    if id != X509_CERTIFICATE {
        return Ok(None);
    }
    let octets = OctetString::from_der(explicit.value()).map_err(corrupt)?;
    Ok(Some(octets.as_bytes().to_vec()))
}

/// The AlgorithmIdentifier (DER) and ciphertext of an EncryptedData, read as Java reads it: the
/// EncryptedContentInfo must hold the ciphertext (`[0] IMPLICIT OCTET STRING`), which may be primitive or,
/// as BER allows, constructed of OCTET STRING pieces.
pub(super) fn encrypted_data_parts(encrypted_data: &[u8]) -> PfxResult<(Vec<u8>, Vec<u8>)> {
    let items = sequence_items(encrypted_data).map_err(corrupt)?;
    let [_version, info] = items.as_slice() else {
        return Err(corrupt("EncryptedData is not two fields"));
    };
    let fields = sequence_items(info).map_err(corrupt)?;
    let [content_type, algorithm, content] = fields.as_slice() else {
        return Err(corrupt("EncryptedContentInfo is not three fields"));
    };
    let _: Oid = Oid::from_der(content_type).map_err(corrupt)?;
    let content = der::asn1::AnyRef::from_der(content).map_err(corrupt)?;
    let ciphertext = match content.tag() {
        Tag::ContextSpecific {
            constructed: false,
            number: TagNumber(0),
        } => content.value().to_vec(),
        Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(0),
        } => {
            let mut joined = Vec::new();
            let mut pieces = der::SliceReader::new(content.value()).map_err(corrupt)?;
            while !der::Reader::is_finished(&pieces) {
                let piece: OctetString = der::Reader::decode(&mut pieces).map_err(corrupt)?;
                joined.extend_from_slice(piece.as_bytes());
            }
            joined
        }
        _ => {
            return Err(corrupt(
                "encrypted contents are not [0] IMPLICIT OCTET STRING",
            ))
        }
    };
    Ok((algorithm.to_vec(), ciphertext))
}

/// The AlgorithmIdentifier (DER) and ciphertext of an EncryptedPrivateKeyInfo.
pub(super) fn shrouded_parts(epki: &[u8]) -> PfxResult<(Vec<u8>, Vec<u8>)> {
    let items = sequence_items(epki).map_err(corrupt)?;
    let [algorithm, data] = items.as_slice() else {
        return Err(corrupt("EncryptedPrivateKeyInfo is not two fields"));
    };
    let data = OctetString::from_der(data).map_err(corrupt)?;
    Ok((algorithm.to_vec(), data.as_bytes().to_vec()))
}

/// The SafeContents bytes of a list of bags.
pub(super) fn safe_contents(bags: &[Bag]) -> PfxResult<Vec<u8>> {
    let body: Vec<u8> = bags.iter().flat_map(|b| b.der.iter().copied()).collect();
    tlv(Tag::Sequence, &body)
}

pub(super) fn parse_bags(safe_contents: &[u8]) -> PfxResult<Vec<Bag>> {
    sequence_items(safe_contents)
        .map_err(corrupt)?
        .into_iter()
        .map(Bag::parse)
        .collect()
}
