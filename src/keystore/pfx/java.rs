//! Java's view of a PKCS#12 file: the keystore entries `PKCS12KeyStore` makes from the bags (aliases,
//! entry types, certificate chains), with Java's numbering for entries without a friendlyName.

use super::{BagKind, BagRef, Pfx};
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
    let key_count = pfx
        .bags()
        .filter(|(_, b)| b.kind == BagKind::ShroudedKey)
        .count();
    let mut names = UnfriendlyNames::default();
    let mut entries: Vec<JavaEntry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut put = |entries: &mut Vec<JavaEntry>, entry: JavaEntry| {
        let key = entry.alias.to_ascii_lowercase();
        match index.get(&key) {
            Some(&at) => entries[at] = entry,
            None => {
                index.insert(key, entries.len());
                entries.push(entry);
            }
        }
    };
    // Untrusted certificates with the ID Java gives them, and the first certificate of each subject.
    let mut cert_ids: Vec<(Vec<u8>, BagRef)> = Vec::new();
    let mut cert_aliases: Vec<(String, BagRef)> = Vec::new();
    let mut by_subject: HashMap<&[u8], BagRef> = HashMap::new();
    let mut key_ids: Vec<(usize, Vec<u8>)> = Vec::new();
    for (at, bag) in pfx.bags() {
        match &bag.kind {
            BagKind::ShroudedKey => {
                let id = match &bag.local_key_id {
                    Some(id) => id.clone(),
                    None if key_count == 1 => b"01".to_vec(),
                    None => continue,
                };
                let alias = names.alias_for(bag.friendly_name.as_deref());
                key_ids.push((entries.len(), id));
                put(
                    &mut entries,
                    JavaEntry {
                        alias,
                        kind: JavaEntryKind::PrivateKey,
                        key: Some(at),
                        certs: Vec::new(),
                    },
                );
            }
            BagKind::Secret => {
                let alias = names.alias_for(bag.friendly_name.as_deref());
                put(
                    &mut entries,
                    JavaEntry {
                        alias,
                        kind: JavaEntryKind::SecretKey,
                        key: Some(at),
                        certs: Vec::new(),
                    },
                );
            }
            BagKind::Certificate(der) => {
                if let Some((_, subject)) = certificate_names(der) {
                    by_subject.entry(subject).or_insert(at);
                }
                if bag.trusted {
                    let alias = names.alias_for(bag.friendly_name.as_deref());
                    put(
                        &mut entries,
                        JavaEntry {
                            alias,
                            kind: JavaEntryKind::TrustedCert,
                            key: None,
                            certs: vec![at],
                        },
                    );
                    continue;
                }
                let id = match &bag.local_key_id {
                    Some(id) => Some(id.clone()),
                    None if key_count == 1 && at.1 == 0 => Some(b"01".to_vec()),
                    None => None,
                };
                if let Some(id) = id {
                    cert_ids.push((id, at));
                }
                if let Some(name) = &bag.friendly_name {
                    cert_aliases.push((name.to_ascii_lowercase(), at));
                }
            }
            BagKind::Other => {}
        }
    }
    let id_of: HashMap<usize, Vec<u8>> = key_ids.into_iter().collect();
    let by_id: HashMap<&[u8], BagRef> = cert_ids
        .iter()
        .rev()
        .map(|(id, at)| (id.as_slice(), *at))
        .collect();
    let by_alias: HashMap<&str, BagRef> = cert_aliases
        .iter()
        .rev()
        .map(|(name, at)| (name.as_str(), *at))
        .collect();
    for (position, entry) in entries.iter_mut().enumerate() {
        if entry.kind != JavaEntryKind::PrivateKey {
            continue;
        }
        let leaf = id_of
            .get(&position)
            .and_then(|id| by_id.get(id.as_slice()))
            .or_else(|| by_alias.get(entry.alias.to_ascii_lowercase().as_str()));
        let mut next = leaf.copied();
        while let Some(at) = next {
            if entry.certs.contains(&at) || entry.certs.len() >= MAX_CHAIN {
                break;
            }
            entry.certs.push(at);
            let BagKind::Certificate(der) = &pfx.bag(at).kind else {
                break;
            };
            next = match certificate_names(der) {
                Some((issuer, subject)) if issuer != subject => by_subject.get(issuer).copied(),
                _ => None,
            };
        }
    }
    entries.retain(|e| e.kind != JavaEntryKind::PrivateKey || !e.certs.is_empty());
    entries
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
