//! Java's view of a PKCS#12 file: the keystore entries `PKCS12KeyStore` makes from the bags (aliases,
//! entry types, certificate chains), with Java's numbering for entries without a friendlyName.

use super::{Bag, BagKind, BagRef, Pfx};
use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, TagNumber};
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
    let cert = AnyRef::from_der(cert).ok()?;
    let tbs: AnyRef<'_> = SliceReader::new(cert.value()).ok()?.decode().ok()?;
    let mut fields = SliceReader::new(tbs.value()).ok()?;
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

/// Longest certificate chain followed from a key entry.
const MAX_CHAIN: usize = 16;

/// Java's entries over the bags, in the order `PKCS12KeyStore.engineLoad` makes them: every shrouded key bag
/// (with a localKeyID, or the only key) is a PrivateKeyEntry, every secret bag a SecretKeyEntry, every
/// certificate bag with Java's trusted-usage attribute a trustedCertEntry (whatever other attributes it
/// has: keytool adds a localKeyID to trusted entries when it saves such a store again). Aliases are the
/// friendlyNames, else Java's numbers; a repeated alias (ignoring ASCII case) replaces the earlier entry,
/// as in Java's map. A key's chain is its certificate (same localKeyID, else same alias) followed by
/// issuers found by subject (first certificate of each subject), until a self-issued one; a key without
/// a certificate is not listed (Java drops it too).
pub fn java_entries(pfx: &Pfx) -> Vec<JavaEntry> {
    let mut read = EntriesRead::new(pfx);
    for (at, bag) in pfx.bags() {
        match &bag.kind {
            BagKind::ShroudedKey => read.key(at, bag),
            BagKind::Secret => read.secret(at, bag),
            BagKind::Certificate(der) => read.certificate(at, bag, der),
            BagKind::Other => {}
        }
    }
    read.into_entries(pfx)
}

/// What one pass over the bags finds: the entries in Java's map order, and the certificates a key's chain
/// is then looked up in.
struct EntriesRead<'p> {
    /// How many shrouded key bags the file has (a lone key without a localKeyID still gets one).
    key_count: usize,
    names: UnfriendlyNames,
    entries: Vec<JavaEntry>,
    /// The position in `entries` of each alias, in lower case.
    index: HashMap<String, usize>,
    /// The localKeyID Java gives each key entry, by the position it was recorded at.
    key_ids: Vec<(usize, Vec<u8>)>,
    /// Untrusted certificates with the ID Java gives them.
    cert_ids: Vec<(Vec<u8>, BagRef)>,
    /// Untrusted certificates with a friendlyName, in lower case.
    cert_aliases: Vec<(String, BagRef)>,
    /// The first certificate of each subject.
    by_subject: HashMap<&'p [u8], BagRef>,
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
            key_ids: Vec::new(),
            cert_ids: Vec::new(),
            cert_aliases: Vec::new(),
            by_subject: HashMap::new(),
        }
    }

    /// Adds an entry; one with an alias already taken (ignoring ASCII case) replaces the earlier one.
    fn put(&mut self, entry: JavaEntry) {
        let key = entry.alias.to_ascii_lowercase();
        match self.index.get(&key) {
            Some(&at) => self.entries[at] = entry,
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push(entry);
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
        self.key_ids.push((self.entries.len(), id));
        self.put(JavaEntry {
            alias,
            kind: JavaEntryKind::PrivateKey,
            key: Some(at),
            certs: Vec::new(),
        });
    }

    /// A secret bag: a SecretKeyEntry.
    fn secret(&mut self, at: BagRef, bag: &Bag) {
        let alias = self.names.alias_for(bag.friendly_name.as_deref());
        self.put(JavaEntry {
            alias,
            kind: JavaEntryKind::SecretKey,
            key: Some(at),
            certs: Vec::new(),
        });
    }

    /// A certificate bag: a trustedCertEntry when Java's trusted-usage attribute marks it, else a
    /// certificate that a key's chain may use.
    fn certificate(&mut self, at: BagRef, bag: &Bag, der: &'p [u8]) {
        if let Some((_, subject)) = certificate_names(der) {
            self.by_subject.entry(subject).or_insert(at);
        }
        if bag.trusted {
            let alias = self.names.alias_for(bag.friendly_name.as_deref());
            self.put(JavaEntry {
                alias,
                kind: JavaEntryKind::TrustedCert,
                key: None,
                certs: vec![at],
            });
            return;
        }
        let id = match &bag.local_key_id {
            Some(id) => Some(id.clone()),
            None if self.key_count == 1 && at.1 == 0 => Some(b"01".to_vec()),
            None => None,
        };
        if let Some(id) = id {
            self.cert_ids.push((id, at));
        }
        if let Some(name) = &bag.friendly_name {
            self.cert_aliases.push((name.to_ascii_lowercase(), at));
        }
    }

    /// The entries, each key with its chain; a key without a certificate is left out.
    fn into_entries(mut self, pfx: &Pfx) -> Vec<JavaEntry> {
        let id_of: HashMap<usize, Vec<u8>> = self.key_ids.into_iter().collect();
        let by_id: HashMap<&[u8], BagRef> = self
            .cert_ids
            .iter()
            .rev()
            .map(|(id, at)| (id.as_slice(), *at))
            .collect();
        let by_alias: HashMap<&str, BagRef> = self
            .cert_aliases
            .iter()
            .rev()
            .map(|(name, at)| (name.as_str(), *at))
            .collect();
        for (position, entry) in self.entries.iter_mut().enumerate() {
            if entry.kind != JavaEntryKind::PrivateKey {
                continue;
            }
            let leaf = id_of
                .get(&position)
                .and_then(|id| by_id.get(id.as_slice()))
                .or_else(|| by_alias.get(entry.alias.to_ascii_lowercase().as_str()));
            entry.certs = chain_from(pfx, leaf.copied(), &self.by_subject);
        }
        self.entries
            .retain(|e| e.kind != JavaEntryKind::PrivateKey || !e.certs.is_empty());
        self.entries
    }
}

/// The chain from `leaf`: each certificate followed by its issuer (found by subject) until a self-issued
/// one, a loop, or `MAX_CHAIN` certificates.
fn chain_from(pfx: &Pfx, leaf: Option<BagRef>, by_subject: &HashMap<&[u8], BagRef>) -> Vec<BagRef> {
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
        next = match certificate_names(der) {
            Some((issuer, subject)) if issuer != subject => by_subject.get(issuer).copied(),
            _ => None,
        };
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfriendly_names_count_only_nameless_entries() {
        let mut names = UnfriendlyNames::default();
        assert_eq!(names.alias_for(None), "1");
        assert_eq!(names.alias_for(Some("root")), "root");
        assert_eq!(names.alias_for(None), "2");
        assert_eq!(names.alias_for(None), "3");
    }
}
