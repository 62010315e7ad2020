//! Content fingerprints: the spec-hash label of every job (what a GitOps tool
//! compares to see a change) and of the JobFlow.

use super::volcano;
use memchr::memmem::Finder;
use std::sync::LazyLock;

/// Where every fingerprint starts (digits of pi: any odd-looking constant).
pub(super) const SEED: u64 = 0x243f_6a88_85a3_08d3;

/// A content fingerprint continued from `state` over `bytes`, 8 bytes a step
/// (byte-wise FNV-1a, which this replaced, was 7% of a build): the same on
/// every platform, not a security measure. The length goes in last, so that
/// the zero padding of the tail cannot make two inputs alike.
pub(super) fn fingerprint(bytes: &[u8], mut state: u64) -> u64 {
    fn step(state: u64, word: u64) -> u64 {
        (state ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29)
    }
    let (words, tail) = bytes.as_chunks::<8>();
    for word in words {
        state = step(state, u64::from_le_bytes(*word));
    }
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    state = step(state, u64::from_le_bytes(last));
    step(state, bytes.len() as u64)
}

/// The label value of a fingerprint: mixed so that every input bit reaches
/// the 48 bits shown (the splitmix64 finalizer).
fn label_hash(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) & 0xffff_ffff_ffff
}

/// A fingerprint as the spec-hash label shows it: `h` and 12 hex digits.
pub(super) fn label_value(hash: u64) -> String {
    format!("h{:012x}", label_hash(hash))
}

/// The hash of a manifest without its source-line annotation: moving a
/// stage in its file (`vcp fmt`, a new stage above it) does not change what
/// runs, so it must not look like a change to a GitOps tool.
pub(super) fn hash_spec(text: &str, mut state: u64) -> u64 {
    static KEY: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(volcano::SOURCE_ANNOTATION));
    let key_len = volcano::SOURCE_ANNOTATION.len();
    // Bytes hashed so far, and the end of the last annotation line.
    let (mut hashed, mut from) = (0, 0);
    for at in KEY.find_iter(text.as_bytes()) {
        if at < from {
            continue;
        }
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        if text[line_start..at].bytes().all(|b| b == b' ') && text[at + key_len..].starts_with(": ")
        {
            state = fingerprint(&text.as_bytes()[hashed..line_start], state);
            hashed = line_end;
        }
        from = line_end;
    }
    fingerprint(&text.as_bytes()[hashed..], state)
}

/// Fills in the hash placeholder of `text`'s spec-hash labels, and of its
/// name when it ends in one (a run's name under `gitops`), in place: the
/// placeholder has the length of every hash value.
pub(super) fn with_hash(mut text: String, hash: u64) -> String {
    static LABEL: LazyLock<Finder<'static>> = LazyLock::new(|| {
        let label = format!("{}: {}", volcano::HASH_LABEL, volcano::HASH_PLACEHOLDER);
        Finder::new(&label).into_owned()
    });
    let value = label_value(hash);
    debug_assert_eq!(value.len(), volcano::HASH_PLACEHOLDER.len());
    let ends: Vec<usize> = LABEL
        .find_iter(text.as_bytes())
        .map(|at| at + LABEL.needle().len())
        .collect();
    for end in ends {
        text.replace_range(end - value.len()..end, &value);
    }
    // The object's own name: the first line at the indentation of
    // `metadata`'s fields (annotations and labels are nested deeper).
    if let Some(at) = text.find("\n  name: ") {
        let end = text[at + 1..].find('\n').map_or(text.len(), |i| at + 1 + i);
        if text[..end].ends_with(&format!("-{}", volcano::HASH_PLACEHOLDER)) {
            text.replace_range(end - value.len()..end, &value);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::volcano;

    fn label(text: &str) -> u64 {
        label_hash(hash_spec(text, SEED))
    }

    #[test]
    fn the_spec_hash_ignores_only_the_source_line() {
        let doc = "metadata:\n  annotations:\n    vcp.dev/source: a.vcp:3\n  name: x\nspec: {}\n";
        let moved = doc.replace("a.vcp:3", "a.vcp:40");
        assert_eq!(label(doc), label(&moved));
        // A key that only contains the annotation's name is hashed.
        let other = doc.replace("    vcp.dev/source", "    my.vcp.dev/source");
        assert_ne!(label(doc), label(&other));
        assert_ne!(label(doc), label(&doc.replace("name: x", "name: y")));
    }

    #[test]
    fn every_byte_and_the_length_count() {
        let text = b"0123456789abcdefXYZ".to_vec();
        let base = label_hash(fingerprint(&text, SEED));
        for i in 0..text.len() {
            let mut changed = text.clone();
            changed[i] ^= 0x80;
            assert_ne!(base, label_hash(fingerprint(&changed, SEED)), "byte {i}");
        }
        // Zero padding of the tail does not make inputs alike.
        assert_ne!(
            label_hash(fingerprint(b"ab", SEED)),
            label_hash(fingerprint(b"ab\0", SEED))
        );
        assert_ne!(
            label_hash(fingerprint(b"", SEED)),
            label_hash(fingerprint(b"\0", SEED))
        );
    }

    #[test]
    fn a_name_ending_in_the_placeholder_gets_the_hash() {
        let label = format!("{}: {}", volcano::HASH_LABEL, volcano::HASH_PLACEHOLDER);
        let name = format!("etl-{}", volcano::HASH_PLACEHOLDER);
        let doc = format!(
            "metadata:\n  annotations:\n    a: x-{p}\n  labels:\n    {label}\n  name: {name}\nspec:\n  name: {name}\n",
            p = volcano::HASH_PLACEHOLDER
        );
        let value = format!("h{:012x}", label_hash(7));
        let text = with_hash(doc, 7);
        assert!(text.contains(&format!("\n  name: etl-{value}\n")), "{text}");
        // Only the object's own name and label: not annotations, not specs.
        assert_eq!(text.matches(&value).count(), 2, "{text}");
        // A name without the placeholder stays as written.
        let plain = "metadata:\n  name: etl-h000000000001\n".to_string();
        assert_eq!(with_hash(plain.clone(), 7), plain);
    }

    #[test]
    fn every_placeholder_gets_the_hash() {
        let line = format!("{}: {}\n", volcano::HASH_LABEL, volcano::HASH_PLACEHOLDER);
        let text = with_hash(format!("a:\n  {line}b:\n    {line}"), 0x1234);
        let value = format!("h{:012x}", label_hash(0x1234));
        assert_eq!(text.matches(&value).count(), 2);
        assert!(!text.contains(volcano::HASH_PLACEHOLDER));
    }
}
