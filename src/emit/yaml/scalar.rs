//! Which form a string takes in YAML: plain, a literal block, or
//! double-quoted (with what escaped). Decisions only; the writer in
//! `yaml.rs` writes the chosen form.

/// Characters escaped inside double quotes: the quote and backslash, and
/// everything YAML 1.1 readers refuse in a stream or would fold (line breaks,
/// controls, C1, BOM, the Unicode line and paragraph separators).
pub(super) fn needs_escape(c: char) -> bool {
    matches!(c, '"' | '\\') || !is_printable(c) || c == '\t'
}

/// What a YAML 1.1 reader accepts anywhere in a stream (PyYAML's set minus tab
/// and line breaks, which we never leave bare in flow scalars), without the
/// Unicode separators that some readers take as line breaks.
fn is_printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Whether a multi-line string reads back unchanged as a literal block: every
/// line printable (tabs inside a line are content), no line with trailing
/// blanks, the first non-empty line not starting with a blank (that would
/// need an indentation indicator), and not only line breaks.
pub(super) fn fits_literal(text: &str) -> bool {
    let body = text.trim_end_matches('\n');
    // A reader takes the block's indentation from its first non-empty line.
    if body.is_empty()
        || body.trim_start_matches('\n').starts_with([' ', '\t'])
        || body.ends_with([' ', '\t'])
    {
        return false;
    }
    // No blank before a line break; and whether the text is printable ASCII
    // (scripts are), which settles printability. The fold does not stop
    // early, so that it compiles to vector code.
    let bytes = body.as_bytes();
    if memchr::memchr_iter(b'\n', bytes).any(|i| i > 0 && matches!(bytes[i - 1], b' ' | b'\t')) {
        return false;
    }
    let ascii = bytes.iter().fold(true, |ok, &b| {
        ok & (matches!(b, b' '..=b'~') | (b == b'\t') | (b == b'\n'))
    });
    ascii
        || body
            .chars()
            .all(|c| c == '\t' || c == '\n' || is_printable(c))
}

/// Whether `text` can be written without quotes and read back, by YAML 1.1
/// and 1.2 readers, as this same string. Deliberately narrow: what falls
/// outside is quoted, which is always correct.
pub(super) fn is_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == b'/' || first == b'_')
        || !(last.is_ascii_alphanumeric()
            || matches!(last, b'/' | b'_' | b'.' | b'-' | b'+' | b'='))
    {
        return false;
    }
    // One pass: every byte from the safe set, and no `: `.
    let mut prev = 0u8;
    for &b in bytes {
        if !PLAIN_SAFE[usize::from(b)] || (prev == b':' && b == b' ') {
            return false;
        }
        prev = b;
    }
    if first.is_ascii_digit() {
        // Numbers, dates, times and sexagesimals (YAML 1.1) all start with a
        // digit and hold no letter outside digits, signs, `e`, `x`, `o`, `b`
        // and hex digits; a string with any other letter is none of them.
        return bytes.iter().any(|b| {
            b.is_ascii_alphabetic()
                && !b.is_ascii_hexdigit()
                && !matches!(b, b'x' | b'X' | b'o' | b'O')
        }) && !text.contains(':');
    }
    !is_keyword(text)
}

/// The bytes a plain scalar may hold: letters, digits and `-_./:@+= `.
static PLAIN_SAFE: [bool; 256] = {
    let mut safe = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        safe[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'/' | b':' | b'@' | b'+' | b'=' | b' '
            );
        b += 1;
    }
    safe
};

/// YAML 1.1 booleans and nulls, in every case a reader accepts (we check
/// case-insensitively, which is stricter).
fn is_keyword(text: &str) -> bool {
    const WORDS: [&str; 10] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    text.len() <= 5 && WORDS.iter().any(|w| w.eq_ignore_ascii_case(text))
}
