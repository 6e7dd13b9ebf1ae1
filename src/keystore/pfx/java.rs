//! Java's view of a PKCS#12 file: the keystore entries `PKCS12KeyStore` makes from the bags (aliases,
//! entry types, certificate chains), with Java's numbering for entries without a friendlyName, and the
//! key entries it loses when a later bag repeats their friendlyName.

use super::{Bag, BagKind, BagRef, Pfx};
use der::asn1::{AnyRef, ObjectIdentifier as Oid};
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use std::collections::HashMap;

/// A Java keystore entry over the bags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaEntry {
    pub alias: String,
    pub kind: JavaEntryKind,
    /// Key entries: the key bag.
    pub key: Option<BagRef>,
    /// Key entries: the chain's certificate bags, leaf first. Trusted entries: the one certificate bag.
    pub certs: Vec<BagRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JavaEntryKind {
    PrivateKey,
    TrustedCert,
    SecretKey,
}

/// Java's numbering for entries without a friendlyName: "1", "2", ... in the order the bags are read
/// (`PKCS12KeyStore.getUnfriendlyName`), counting only the entries that get no friendlyName.
#[derive(Debug, Default)]
pub struct UnfriendlyNames {
    counter: u32,
}

impl UnfriendlyNames {
    pub fn alias_for(&mut self, friendly_name: Option<&str>) -> String {
        match friendly_name {
            Some(name) => name.to_string(),
            None => {
                self.counter += 1;
                self.counter.to_string()
            }
        }
    }
}

/// The issuer and subject Names (each as its DER, compared byte for byte) of a DER certificate: enough
/// to follow a chain through thousands of certificates without parsing any of them in full.
fn certificate_names(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut fields = tbs_fields(cert)?;
    let version = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(0),
    };
    if Tag::peek(&fields).ok()? == version {
        fields.tlv_bytes().ok()?;
    }
    fields.tlv_bytes().ok()?; // serial number
    fields.tlv_bytes().ok()?; // signature algorithm
    let issuer = fields.tlv_bytes().ok()?;
    fields.tlv_bytes().ok()?; // validity
    let subject = fields.tlv_bytes().ok()?;
    Some((issuer, subject))
}

/// The subject of a DER certificate as Java's `X500Principal.getName()` writes it (RFC 2253): the RDNs last
/// first, `+` between the values of one RDN; CN, C, L, ST, O, OU, STREET, DC and UID by keyword, any other type
/// as its OID with the value's DER in hex (`#...`), as RFC 2253 requires; string values with `,=+<>#;"\`
/// escaped, NUL as `\00`, and leading and trailing spaces escaped. It names the CA certificates a renewal
/// adds, as keytool names them.
pub fn rfc2253_subject(cert: &[u8]) -> Option<String> {
    let (_, subject) = certificate_names(cert)?;
    let name = AnyRef::from_der(subject).ok()?;
    let mut rdns = SliceReader::new(name.value()).ok()?;
    let mut written = Vec::new();
    while !rdns.is_finished() {
        let rdn: AnyRef<'_> = rdns.decode().ok()?;
        let mut avas = SliceReader::new(rdn.value()).ok()?;
        let mut values = Vec::new();
        while !avas.is_finished() {
            let ava: AnyRef<'_> = avas.decode().ok()?;
            let mut parts = SliceReader::new(ava.value()).ok()?;
            let oid: Oid = parts.decode().ok()?;
            let value: AnyRef<'_> = parts.decode().ok()?;
            values.push(rfc2253_ava(&oid, &value)?);
        }
        written.push(values.join("+"));
    }
    written.reverse();
    Some(written.join(","))
}

/// One `type=value` of [`rfc2253_subject`].
fn rfc2253_ava(oid: &Oid, value: &AnyRef<'_>) -> Option<String> {
    const KEYWORDS: [(&str, &str); 9] = [
        ("2.5.4.3", "CN"),
        ("2.5.4.6", "C"),
        ("2.5.4.7", "L"),
        ("2.5.4.8", "ST"),
        ("2.5.4.10", "O"),
        ("2.5.4.11", "OU"),
        ("2.5.4.9", "STREET"),
        ("0.9.2342.19200300.100.1.25", "DC"),
        ("0.9.2342.19200300.100.1.1", "UID"),
    ];
    let dotted = oid.to_string();
    let keyword = KEYWORDS.iter().find(|(o, _)| *o == dotted).map(|(_, k)| *k);
    let text = match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            std::str::from_utf8(value.value()).ok().map(str::to_string)
        }
        Tag::TeletexString => Some(value.value().iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units = value
                .value()
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        _ => None,
    };
    match (keyword, text) {
        (Some(keyword), Some(text)) => Some(format!("{keyword}={}", rfc2253_escape(&text))),
        (keyword, _) => {
            let der = der::Encode::to_der(value).ok()?;
            let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
            Some(format!("{}=#{hex}", keyword.unwrap_or(&dotted)))
        }
    }
}

/// A value escaped as Java's `AVA.toRFC2253String` escapes it.
fn rfc2253_escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lead = chars.iter().take_while(|&&c| c == ' ' || c == '\r').count();
    let trail = chars
        .iter()
        .rev()
        .take_while(|&&c| c == ' ' || c == '\r')
        .count();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if ",=+<>#;\"\\".contains(c) || i < lead || i >= chars.len() - trail {
            out.push('\\');
        }
        if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

/// A reader over the fields of a DER certificate's TBSCertificate, the first step of every lookup here.
fn tbs_fields(cert: &[u8]) -> Option<SliceReader<'_>> {
    let cert = AnyRef::from_der(cert).ok()?;
    let tbs: AnyRef<'_> = SliceReader::new(cert.value()).ok()?.decode().ok()?;
    SliceReader::new(tbs.value()).ok()
}

/// Longest certificate chain followed from a key entry.
const MAX_CHAIN: usize = 16;

/// Java's entries over the bags, in the order `PKCS12KeyStore.engineLoad` makes them: every shrouded key bag
/// (with a localKeyID, or the only key) is a PrivateKeyEntry, every secret bag a SecretKeyEntry, every
/// certificate bag with Java's trusted-usage attribute a trustedCertEntry (whatever other attributes it
/// has: keytool adds a localKeyID to trusted entries when it saves such a store again). Aliases are the
/// friendlyNames, else Java's numbers, in lower case as Java's map keeps and lists them; a repeated alias
/// (ignoring case) replaces the earlier entry, as in Java's map. A key's chain starts at its own
/// certificate as `findMatchedCertificate` picks it from the untrusted certificate bags: the first with the
/// key's localKeyID and alias, else the last with its localKeyID, else the last with its alias; issuers
/// follow as `findIssuer` finds them (by subject, then by key identifier), until a self-issued one. A key
/// whose certificate is not found is listed with no chain, as Java lists it (a PrivateKeyEntry whose chain
/// has length 0).
pub fn java_view(pfx: &Pfx) -> JavaView {
    let mut read = EntriesRead::new(pfx);
    for (at, bag) in pfx.bags() {
        match &bag.kind {
            BagKind::ShroudedKey => read.key(at, bag),
            BagKind::Secret => read.secret(at, bag),
            BagKind::Certificate(der) => read.certificate(at, bag, der),
            BagKind::Other => {}
        }
    }
    read.into_view(pfx)
}

/// Java's entries over the bags, and the key entries it loses on the way.
#[derive(Debug, Clone)]
pub struct JavaView {
    pub entries: Vec<JavaEntry>,
    /// Aliases (lower case) of key entries that a later entry of the same alias replaced: Java reads the
    /// key bag and then cannot find it under any name.
    pub hidden_keys: Vec<String>,
}

/// A key entry's own alias (its friendlyName as written, or Java's number) and localKeyID: what its
/// certificate is matched by, even when a later entry of the same alias hides it.
struct KeyMatch {
    alias: String,
    id: Vec<u8>,
}

/// What one pass over the bags finds: the entries in Java's map order, and the certificates a key's chain
/// is then looked up in.
struct EntriesRead<'p> {
    /// How many shrouded key bags the file has (a lone key without a localKeyID still gets one).
    key_count: usize,
    names: UnfriendlyNames,
    /// Each entry with, for a key entry, what its certificate is matched by.
    entries: Vec<(JavaEntry, Option<KeyMatch>)>,
    /// The position in `entries` of each alias (Java's map key, in lower case).
    index: HashMap<String, usize>,
    /// The first untrusted certificate of each (localKeyID, alias in lower case).
    by_id_and_alias: HashMap<(Vec<u8>, String), BagRef>,
    /// The last untrusted certificate of each localKeyID (the ID Java gives it).
    by_id: HashMap<Vec<u8>, BagRef>,
    /// The last untrusted certificate of each friendlyName, in lower case.
    by_alias: HashMap<String, BagRef>,
    /// Every certificate (Java's `allCerts`, trusted ones included), indexed for `findIssuer`.
    issuers: Issuers<'p>,
    /// Key entries replaced by a later entry of their alias.
    hidden_keys: Vec<String>,
}

impl<'p> EntriesRead<'p> {
    fn new(pfx: &Pfx) -> Self {
        EntriesRead {
            key_count: pfx
                .bags()
                .filter(|(_, b)| b.kind == BagKind::ShroudedKey)
                .count(),
            names: UnfriendlyNames::default(),
            entries: Vec::new(),
            index: HashMap::new(),
            by_id_and_alias: HashMap::new(),
            by_id: HashMap::new(),
            by_alias: HashMap::new(),
            issuers: Issuers::default(),
            hidden_keys: Vec::new(),
        }
    }

    /// Adds an entry under its alias in lower case (`toLowerCase(Locale.ENGLISH)` in Java); one with an
    /// alias already taken replaces the earlier one, together with what the earlier key was matched by.
    fn put(&mut self, mut entry: JavaEntry, key: Option<KeyMatch>) {
        entry.alias = entry.alias.to_lowercase();
        match self.index.get(&entry.alias) {
            Some(&at) => {
                let (hidden, _) = std::mem::replace(&mut self.entries[at], (entry, key));
                if hidden.kind == JavaEntryKind::PrivateKey {
                    self.hidden_keys.push(hidden.alias);
                }
            }
            None => {
                self.index.insert(entry.alias.clone(), self.entries.len());
                self.entries.push((entry, key));
            }
        }
    }

    /// A shrouded key bag: a PrivateKeyEntry, when it has a localKeyID or is the only key.
    fn key(&mut self, at: BagRef, bag: &Bag) {
        let id = match &bag.local_key_id {
            Some(id) => id.clone(),
            None if self.key_count == 1 => b"01".to_vec(),
            None => return,
        };
        let alias = self.names.alias_for(bag.friendly_name.as_deref());
        let key = KeyMatch {
            alias: alias.clone(),
            id,
        };
        self.put(
            JavaEntry {
                alias,
                kind: JavaEntryKind::PrivateKey,
                key: Some(at),
                certs: Vec::new(),
            },
            Some(key),
        );
    }

    /// A secret bag: a SecretKeyEntry.
    fn secret(&mut self, at: BagRef, bag: &Bag) {
        let alias = self.names.alias_for(bag.friendly_name.as_deref());
        self.put(
            JavaEntry {
                alias,
                kind: JavaEntryKind::SecretKey,
                key: Some(at),
                certs: Vec::new(),
            },
            None,
        );
    }

    /// A certificate bag: a trustedCertEntry when Java's trusted-usage attribute marks it, else a
    /// certificate that a key's chain may use.
    fn certificate(&mut self, at: BagRef, bag: &Bag, der: &'p [u8]) {
        self.issuers.add(at, der);
        if bag.trusted {
            let alias = self.names.alias_for(bag.friendly_name.as_deref());
            self.put(
                JavaEntry {
                    alias,
                    kind: JavaEntryKind::TrustedCert,
                    key: None,
                    certs: vec![at],
                },
                None,
            );
            return;
        }
        let id = match &bag.local_key_id {
            Some(id) => Some(id.clone()),
            None if self.key_count == 1 && at.1 == 0 => Some(b"01".to_vec()),
            None => None,
        };
        let alias = bag.friendly_name.as_deref().map(str::to_lowercase);
        if let Some(id) = &id {
            self.by_id.insert(id.clone(), at);
            if let Some(alias) = &alias {
                self.by_id_and_alias
                    .entry((id.clone(), alias.clone()))
                    .or_insert(at);
            }
        }
        if let Some(alias) = alias {
            self.by_alias.insert(alias, at);
        }
    }

    /// The certificate `findMatchedCertificate` gives a key: the first with its localKeyID and alias, else
    /// the last with its localKeyID, else the last with its alias (ignoring case).
    fn matched_certificate(&self, key: &KeyMatch) -> Option<BagRef> {
        let alias = key.alias.to_lowercase();
        self.by_id_and_alias
            .get(&(key.id.clone(), alias.clone()))
            .or_else(|| self.by_id.get(&key.id))
            .or_else(|| self.by_alias.get(&alias))
            .copied()
    }

    /// The entries, each key with its chain (empty when no certificate matches the key).
    fn into_view(mut self, pfx: &Pfx) -> JavaView {
        let read = std::mem::take(&mut self.entries);
        let mut entries = Vec::with_capacity(read.len());
        for (mut entry, key) in read {
            if let Some(key) = key {
                let leaf = self.matched_certificate(&key);
                entry.certs = chain_from(pfx, leaf, &self.issuers);
            }
            entries.push(entry);
        }
        JavaView {
            entries,
            hidden_keys: self.hidden_keys,
        }
    }
}

/// Java's `allCerts`, indexed the way `findIssuer` searches it, so that each step of a chain is one lookup
/// however many certificates share a subject.
#[derive(Default)]
struct Issuers<'p> {
    /// The first certificate of each subject.
    first: HashMap<&'p [u8], BagRef>,
    /// The first certificate of each subject and subject key identifier.
    by_key_id: HashMap<(&'p [u8], &'p [u8]), BagRef>,
    /// The last certificate of each subject that has no subject key identifier.
    last_without_key_id: HashMap<&'p [u8], BagRef>,
}

impl<'p> Issuers<'p> {
    fn add(&mut self, at: BagRef, der: &'p [u8]) {
        let Some((_, subject)) = certificate_names(der) else {
            return;
        };
        self.first.entry(subject).or_insert(at);
        match subject_key_id(der) {
            Some(id) => {
                self.by_key_id.entry((subject, id)).or_insert(at);
            }
            None => {
                self.last_without_key_id.insert(subject, at);
            }
        }
    }

    /// The issuer Java's `findIssuer` picks for `cert` among all certificates of its issuer's subject: when
    /// `cert` names its issuer's key (authority key identifier), the first whose subject key identifier is
    /// that key, else the last without a subject key identifier; when it names none, the first. None for
    /// a self-issued certificate, where the chain ends.
    fn of(&self, cert: &[u8]) -> Option<BagRef> {
        let (issuer, subject) = certificate_names(cert)?;
        if issuer == subject {
            return None;
        }
        match authority_key_id(cert) {
            None => self.first.get(issuer),
            Some(id) => self
                .by_key_id
                .get(&(issuer, id))
                .or_else(|| self.last_without_key_id.get(issuer)),
        }
        .copied()
    }
}

/// The chain from `leaf`: each certificate followed by its issuer until a self-issued one, a loop, or
/// `MAX_CHAIN` certificates.
fn chain_from(pfx: &Pfx, leaf: Option<BagRef>, issuers: &Issuers<'_>) -> Vec<BagRef> {
    let mut chain = Vec::new();
    let mut next = leaf;
    while let Some(at) = next {
        if chain.contains(&at) || chain.len() >= MAX_CHAIN {
            break;
        }
        chain.push(at);
        let BagKind::Certificate(der) = &pfx.bag(at).kind else {
            break;
        };
        next = issuers.of(der);
    }
    chain
}

/// The keyIdentifier of a certificate's authority key identifier extension (2.5.29.35).
fn authority_key_id(cert: &[u8]) -> Option<&[u8]> {
    let value = certificate_extension(cert, &AUTHORITY_KEY_IDENTIFIER)?;
    let sequence = AnyRef::from_der(value).ok()?;
    let first: AnyRef<'_> = SliceReader::new(sequence.value()).ok()?.decode().ok()?;
    // keyIdentifier [0] IMPLICIT OCTET STRING
    let key_identifier = Tag::ContextSpecific {
        constructed: false,
        number: TagNumber(0),
    };
    (first.tag() == key_identifier).then_some(first.value())
}

/// The key identifier of a certificate's subject key identifier extension (2.5.29.14).
fn subject_key_id(cert: &[u8]) -> Option<&[u8]> {
    let value = certificate_extension(cert, &SUBJECT_KEY_IDENTIFIER)?;
    let octets = AnyRef::from_der(value).ok()?;
    (octets.tag() == Tag::OctetString).then_some(octets.value())
}

const AUTHORITY_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.35");
const SUBJECT_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.14");

/// The value (the extnValue's octets) of the extension `wanted` of a DER certificate, read field by field
/// like [`certificate_names`], without decoding the rest.
fn certificate_extension<'a>(cert: &'a [u8], wanted: &Oid) -> Option<&'a [u8]> {
    let mut fields = tbs_fields(cert)?;
    let extensions_field = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(3),
    };
    while !fields.is_finished() {
        let field: AnyRef<'a> = fields.decode().ok()?;
        if field.tag() != extensions_field {
            continue;
        }
        let extensions: AnyRef<'a> = SliceReader::new(field.value()).ok()?.decode().ok()?;
        let mut extensions = SliceReader::new(extensions.value()).ok()?;
        while !extensions.is_finished() {
            let extension: AnyRef<'a> = extensions.decode().ok()?;
            let mut parts = SliceReader::new(extension.value()).ok()?;
            let id: Oid = parts.decode().ok()?;
            if id != *wanted {
                continue;
            }
            let mut next: AnyRef<'a> = parts.decode().ok()?;
            if next.tag() == Tag::Boolean {
                next = parts.decode().ok()?;
            }
            return (next.tag() == Tag::OctetString).then_some(next.value());
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_written_as_java_writes_rfc_2253() {
        let root = openssl::x509::X509::from_pem(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/shapes/root.pem"
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            rfc2253_subject(&root.to_der().unwrap()).as_deref(),
            Some("CN=Shapes Root CA,O=icg-renew fixtures")
        );
        assert_eq!(rfc2253_escape(" a,b#c "), "\\ a\\,b\\#c\\ ");
        assert_eq!(rfc2253_escape("x\0y"), "x\\00y");
    }

    #[test]
    fn unfriendly_names_count_only_nameless_entries() {
        let mut names = UnfriendlyNames::default();
        assert_eq!(names.alias_for(None), "1");
        assert_eq!(names.alias_for(Some("root")), "root");
        assert_eq!(names.alias_for(None), "2");
        assert_eq!(names.alias_for(None), "3");
    }
}
