//! A forgiving lexer for the editor: tokens of any text, finished or
//! half-typed, never an error. Semantic tokens, folding ranges and the
//! context of a completion read it; the checker's parser (which must reject
//! what is wrong) stays the judge of what a file means.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Comment,
    /// `import`, `pipeline`, `template`, `stage`, `volume`, `param`, `by`.
    Keyword,
    /// `true`, `false`.
    Bool,
    /// A number, with or without a unit.
    Number,
    /// A piece of a string literal between interpolations (quotes included).
    Str,
    /// `${name}` in a string.
    Interp,
    Ident,
    /// One of `{ } [ ] ( ) = , :`.
    Punct(u8),
    /// Anything else: a stray character.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

pub(crate) const KEYWORDS: &[&str] = &[
    "import", "pipeline", "template", "stage", "volume", "param", "by",
];

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The tokens of `text`, in order, without whitespace.
pub(crate) fn lex(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                Kind::Comment
            }
            b'"' => {
                i = string(text, i, &mut out);
                continue;
            }
            b'{' | b'}' | b'[' | b']' | b'(' | b')' | b'=' | b',' | b':' => {
                i += 1;
                Kind::Punct(b)
            }
            b'-' | b'0'..=b'9'
                if bytes
                    .get(i + usize::from(b == b'-'))
                    .is_some_and(u8::is_ascii_digit) =>
            {
                i += 1;
                while i < bytes.len() && (ident_char(bytes[i]) || bytes[i] == b'.') {
                    i += 1;
                }
                Kind::Number
            }
            _ if ident_start(b) => {
                while i < bytes.len() && ident_char(bytes[i]) {
                    i += 1;
                }
                match &text[start..i] {
                    "true" | "false" => Kind::Bool,
                    word if KEYWORDS.contains(&word) => Kind::Keyword,
                    _ => Kind::Ident,
                }
            }
            _ => {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Other
            }
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// A string from its opening quote: pushes its pieces and interpolations,
/// returns the offset after it (the end of the line or of the text when it
/// is not closed).
fn string(text: &str, start: usize, out: &mut Vec<Token>) -> usize {
    let bytes = text.as_bytes();
    let triple = bytes[start..].starts_with(b"\"\"\"");
    let mut i = start + if triple { 3 } else { 1 };
    let mut piece = start;
    let end = loop {
        let Some(&b) = bytes.get(i) else {
            break bytes.len();
        };
        match b {
            b'\\' => i += 2,
            b'\n' if !triple => break i,
            b'"' if !triple => break i + 1,
            b'"' if bytes[i..].starts_with(b"\"\"\"") => break i + 3,
            b'$' if bytes[i..].starts_with(b"$${") => i += 3,
            b'$' if bytes[i..].starts_with(b"${") => {
                let close = memchr::memchr2(b'}', b'\n', &bytes[i..])
                    .map(|n| i + n)
                    .filter(|&c| bytes[c] == b'}');
                let Some(close) = close else {
                    i += 2;
                    continue;
                };
                if piece < i {
                    out.push(Token {
                        kind: Kind::Str,
                        start: piece,
                        end: i,
                    });
                }
                out.push(Token {
                    kind: Kind::Interp,
                    start: i,
                    end: close + 1,
                });
                i = close + 1;
                piece = i;
            }
            _ => i += 1,
        }
    };
    let end = end.min(bytes.len());
    let end = (end..=bytes.len())
        .find(|&e| text.is_char_boundary(e))
        .unwrap_or(bytes.len());
    if piece < end {
        out.push(Token {
            kind: Kind::Str,
            start: piece,
            end,
        });
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        lex(text)
            .into_iter()
            .map(|t| (t.kind, &text[t.start..t.end]))
            .collect()
    }

    #[test]
    fn strings_interpolations_and_escapes() {
        let text = r#"run = "a ${day} $${HOME} \" # not a comment" # comment"#;
        assert_eq!(
            kinds(text),
            vec![
                (Kind::Ident, "run"),
                (Kind::Punct(b'='), "="),
                (Kind::Str, "\"a "),
                (Kind::Interp, "${day}"),
                (Kind::Str, r#" $${HOME} \" # not a comment""#),
                (Kind::Comment, "# comment"),
            ]
        );
    }

    #[test]
    fn triple_strings_span_lines_and_unclosed_ones_stop() {
        let text = "x = \"\"\"\n  a \"quoted\" ${p}\n\"\"\" y\nz = \"open\nw";
        let got = kinds(text);
        assert_eq!(got[2], (Kind::Str, "\"\"\"\n  a \"quoted\" "));
        assert_eq!(got[3], (Kind::Interp, "${p}"));
        assert_eq!(got[4], (Kind::Str, "\n\"\"\""));
        assert_eq!(got[5], (Kind::Ident, "y"));
        assert_eq!(got[8], (Kind::Str, "\"open"));
        assert_eq!(got[9], (Kind::Ident, "w"));
    }

    #[test]
    fn numbers_keywords_and_junk() {
        let text = "stage s-1 { workers = -3, timeout = 1h30m, ok = true } é";
        let got = kinds(text);
        assert_eq!(got[0], (Kind::Keyword, "stage"));
        assert_eq!(got[1], (Kind::Ident, "s-1"));
        assert_eq!(got[5], (Kind::Number, "-3"));
        assert_eq!(got[9], (Kind::Number, "1h30m"));
        assert_eq!(got[13], (Kind::Bool, "true"));
        assert_eq!(got[15], (Kind::Other, "é"));
    }
}
