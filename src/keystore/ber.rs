//! BER to DER, as far as Java's `DerValue` reads BER in a PKCS#12 file: indefinite lengths become definite and
//! a constructed OCTET STRING becomes one primitive OCTET STRING of its pieces (Bouncy Castle writes both).
//! Nothing else changes: tags, primitive contents and the order of elements stay as found, so bytes that were
//! DER come out identical. Non-minimal lengths are refused, as Java 17 refuses them.
//!
//! The conversion never recurses: one pass records the elements in a flat list with an explicit stack
//! (bounded depth), a second computes the definite lengths from the last element back, a third writes. The
//! output is never longer than the input plus four bytes per element, so no input can make it explode.

use std::borrow::Cow;

/// Deepest nesting of constructed elements accepted (a PKCS#12 file nests about a dozen levels).
pub const MAX_DEPTH: usize = 64;

/// Why bytes are not BER that Java reads; the text is the reason alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BerError {
    #[error("an element runs past the end of the data")]
    Truncated,
    #[error("a length is not in its shortest form, which Java refuses")]
    LongLength,
    #[error("a length does not fit in four bytes")]
    HugeLength,
    #[error("a primitive element has an indefinite length")]
    IndefinitePrimitive,
    #[error("elements are nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("a constructed OCTET STRING holds something other than OCTET STRINGs")]
    MixedOctetString,
    #[error("bytes follow the single top-level element")]
    TrailingBytes,
    #[error("a tag number does not fit in four bytes")]
    HugeTag,
}

const OCTET_STRING: u8 = 0x04;
const CONSTRUCTED_OCTET_STRING: u8 = 0x24;
const CONSTRUCTED: u8 = 0x20;

/// One element: its tag bytes, and either its primitive content or the index of its last descendant.
#[derive(Debug)]
struct Node {
    tag: std::ops::Range<usize>,
    /// Primitive: the content's range in the input.
    content: Option<std::ops::Range<usize>>,
    /// Constructed: indices of the direct children.
    children: Vec<usize>,
    /// A constructed OCTET STRING (or a piece inside one): written as the concatenation of its pieces.
    flatten: bool,
    /// The content length in the output (computed in the second pass).
    out_len: usize,
}

/// The bytes with every indefinite length made definite and every constructed OCTET STRING made primitive;
/// borrowed when they were DER in these respects already.
pub fn to_der(input: &[u8]) -> Result<Cow<'_, [u8]>, BerError> {
    let (nodes, changed) = read(input)?;
    if !changed {
        return Ok(Cow::Borrowed(input));
    }
    let mut nodes = nodes;
    // Children always come after their parent: computing from the back sees every child first.
    for i in (0..nodes.len()).rev() {
        let len = match &nodes[i].content {
            Some(range) => range.len(),
            None => nodes[i]
                .children
                .iter()
                .map(|&c| {
                    let child = &nodes[c];
                    if nodes[i].flatten {
                        child.out_len
                    } else {
                        child.tag.len() + length_size(child.out_len) + child.out_len
                    }
                })
                .sum(),
        };
        nodes[i].out_len = len;
    }
    let mut out = Vec::with_capacity(input.len());
    // Explicit stack of (node, write its header?) so that nothing recurses.
    let mut stack = vec![(0usize, true)];
    while let Some((i, header)) = stack.pop() {
        let node = &nodes[i];
        if header {
            if node.flatten {
                out.push(OCTET_STRING);
            } else {
                out.extend_from_slice(&input[node.tag.clone()]);
            }
            push_length(&mut out, node.out_len);
        }
        match &node.content {
            Some(range) => out.extend_from_slice(&input[range.clone()]),
            None => {
                for &c in node.children.iter().rev() {
                    stack.push((c, !node.flatten));
                }
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// The elements of `input` in document order, and whether anything needs converting.
fn read(input: &[u8]) -> Result<(Vec<Node>, bool), BerError> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut changed = false;
    // Open constructed elements: (node index, where it ends; None: indefinite).
    let mut open: Vec<(usize, Option<usize>)> = Vec::new();
    let mut at = 0;
    loop {
        // Close every element that ends here.
        while let Some(&(_, end)) = open.last() {
            match end {
                Some(end) if at == end => {
                    open.pop();
                }
                Some(end) if at > end => return Err(BerError::Truncated),
                None if input.get(at..at + 2) == Some(&[0, 0]) => {
                    at += 2;
                    open.pop();
                }
                _ => break,
            }
        }
        if open.is_empty() && !nodes.is_empty() {
            return if at == input.len() {
                Ok((nodes, changed))
            } else {
                Err(BerError::TrailingBytes)
            };
        }
        let tag_start = at;
        let first = *input.get(at).ok_or(BerError::Truncated)?;
        at += 1;
        if first & 0x1F == 0x1F {
            let mut bytes = 0;
            loop {
                let b = *input.get(at).ok_or(BerError::Truncated)?;
                at += 1;
                bytes += 1;
                if bytes > 4 {
                    return Err(BerError::HugeTag);
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let tag = tag_start..at;
        let length = read_length(input, &mut at)?;
        // No element may run past the end of the one holding it (or of the input).
        let limit = open
            .iter()
            .rev()
            .find_map(|&(_, end)| end)
            .unwrap_or(input.len());
        let constructed = first & CONSTRUCTED != 0;
        let parent_flattens = open.last().is_some_and(|&(p, _)| nodes[p].flatten);
        if parent_flattens && first & !CONSTRUCTED != OCTET_STRING {
            return Err(BerError::MixedOctetString);
        }
        let index = nodes.len();
        if let Some(&(parent, _)) = open.last() {
            nodes[parent].children.push(index);
        }
        if constructed {
            if open.len() >= MAX_DEPTH {
                return Err(BerError::TooDeep);
            }
            let flatten = first == CONSTRUCTED_OCTET_STRING || parent_flattens;
            changed |= length.is_none() || first == CONSTRUCTED_OCTET_STRING;
            let end = match length {
                Some(len) => Some(
                    at.checked_add(len)
                        .filter(|&e| e <= limit)
                        .ok_or(BerError::Truncated)?,
                ),
                None => None,
            };
            nodes.push(Node {
                tag,
                content: None,
                children: Vec::new(),
                flatten,
                out_len: 0,
            });
            open.push((index, end));
        } else {
            let len = length.ok_or(BerError::IndefinitePrimitive)?;
            let end = at
                .checked_add(len)
                .filter(|&e| e <= limit)
                .ok_or(BerError::Truncated)?;
            nodes.push(Node {
                tag,
                content: Some(at..end),
                children: Vec::new(),
                flatten: false,
                out_len: 0,
            });
            at = end;
            if open.is_empty() {
                return if at == input.len() {
                    Ok((nodes, changed))
                } else {
                    Err(BerError::TrailingBytes)
                };
            }
        }
    }
}

/// A length: `None` for the indefinite form. Lengths over four bytes and ones not in their shortest form are
/// refused (Java 17's `DerInputStream.getLength` refuses both).
fn read_length(input: &[u8], at: &mut usize) -> Result<Option<usize>, BerError> {
    let first = *input.get(*at).ok_or(BerError::Truncated)?;
    *at += 1;
    match first {
        0x80 => Ok(None),
        n if n < 0x80 => Ok(Some(usize::from(n))),
        n => {
            let count = usize::from(n & 0x7F);
            if count > 4 {
                return Err(BerError::HugeLength);
            }
            let bytes = input.get(*at..*at + count).ok_or(BerError::Truncated)?;
            *at += count;
            if bytes[0] == 0 {
                return Err(BerError::LongLength);
            }
            let value = bytes.iter().fold(0usize, |v, &b| (v << 8) | usize::from(b));
            if value < 0x80 {
                return Err(BerError::LongLength);
            }
            Ok(Some(value))
        }
    }
}

fn length_size(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ => 5,
    }
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    let size = length_size(len);
    if size == 1 {
        out.push(len as u8);
        return;
    }
    out.push(0x80 | (size - 1) as u8);
    for i in (0..size - 1).rev() {
        out.push((len >> (8 * i)) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn der_comes_back_borrowed_and_identical() {
        let der = hex("30 08 02 01 03 04 03 01 02 03");
        assert!(matches!(to_der(&der), Ok(Cow::Borrowed(b)) if b == der.as_slice()));
    }

    #[test]
    fn indefinite_lengths_become_definite() {
        let ber = hex("30 80 02 01 03 30 80 06 01 2a 00 00 00 00");
        let der = hex("30 08 02 01 03 30 03 06 01 2a");
        assert_eq!(to_der(&ber).unwrap().as_ref(), der.as_slice());
    }

    #[test]
    fn constructed_octet_strings_are_joined_at_every_level() {
        // A [0] EXPLICIT holding a constructed OCTET STRING of two pieces, one itself constructed.
        let ber = hex("a0 80 24 80 04 02 01 02 24 80 04 01 03 00 00 00 00 00 00");
        let der = hex("a0 05 04 03 01 02 03");
        assert_eq!(to_der(&ber).unwrap().as_ref(), der.as_slice());
    }

    #[test]
    fn long_contents_get_long_lengths() {
        let mut ber = hex("24 80 04 81 c8");
        ber.extend([7u8; 200]);
        ber.extend(hex("04 81 c8"));
        ber.extend([8u8; 200]);
        ber.extend([0, 0]);
        let der = to_der(&ber).unwrap();
        assert_eq!(&der[..4], &[0x04, 0x82, 0x01, 0x90]);
        assert_eq!(der.len(), 4 + 400);
    }

    #[test]
    fn what_java_refuses_is_refused() {
        for (ber, why) in [
            ("30 81 02 05 00", BerError::LongLength),
            ("30 82 00 82 05 00", BerError::LongLength),
            ("30 85 01 00 00 00 00", BerError::HugeLength),
            ("04 80 00 00", BerError::IndefinitePrimitive),
            ("30 80 05 00", BerError::Truncated),
            ("30 05 05 00", BerError::Truncated),
            ("30 02 05 00 00", BerError::TrailingBytes),
            ("24 80 02 01 00 00 00", BerError::MixedOctetString),
            ("30 03 30 80 00 00 00", BerError::Truncated),
        ] {
            assert_eq!(to_der(&hex(ber)), Err(why), "{ber}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let mut ber = Vec::new();
        for _ in 0..100_000 {
            ber.extend([0x30, 0x80]);
        }
        assert_eq!(to_der(&ber), Err(BerError::TooDeep));
        let mut ok = Vec::new();
        for _ in 0..MAX_DEPTH {
            ok.extend([0x30, 0x80]);
        }
        ok.extend([0x05, 0x00]);
        ok.extend(std::iter::repeat_n(0u8, 2 * MAX_DEPTH));
        let der = to_der(&ok).unwrap();
        assert_eq!(&der[der.len() - 4..], &[0x30, 0x02, 0x05, 0x00]);
    }

    #[test]
    fn many_elements_convert_in_linear_space() {
        let mut ber = hex("30 80");
        for _ in 0..50_000 {
            ber.extend([0x30, 0x80, 0x00, 0x00]);
        }
        ber.extend([0, 0]);
        let der = to_der(&ber).unwrap();
        assert!(der.len() <= ber.len());
    }
}
