//! String literals: escapes, `${name}` interpolation and the indentation rule
//! of `"""` strings.

use super::ast::{Ident, Parts, StrLit, StrPart};
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// Decodes a `"..."` string whose content (between the quotes) starts at byte
/// `start` of the file.
pub(super) fn simple(
    file: FileId,
    inner: &str,
    start: usize,
    span: Span,
    diags: &mut Vec<Diagnostic>,
) -> StrLit {
    // Most strings hold no escape, no `${` and no control character: one
    // copy, no decoding.
    if memchr::memchr2(b'\\', b'$', inner.as_bytes()).is_none() && !has_control(inner) {
        let parts = if inner.is_empty() {
            Parts::default()
        } else {
            Parts::One(StrPart::Text(inner.to_owned()))
        };
        return StrLit { parts, span };
    }
    let mut parts = Vec::new();
    decode(file, inner, start, &mut parts, diags);
    StrLit {
        parts: parts.into(),
        span,
    }
}

/// Decodes a `"""..."""` string. A newline right after the opening quotes and
/// a last line holding only spaces are dropped; the indentation common to all
/// non-blank lines is removed. Each line is decoded at its own offset, so spans
/// inside the string stay exact.
pub(super) fn triple(
    file: FileId,
    inner: &str,
    start: usize,
    span: Span,
    diags: &mut Vec<Diagnostic>,
) -> StrLit {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = start;
    for line in inner.split('\n') {
        lines.push((offset, line));
        offset += line.len() + 1;
    }
    if lines.len() > 1 && lines[0].1.trim().is_empty() {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(|(_, l)| l.trim().is_empty()) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(_, l)| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut parts = Vec::new();
    for (i, (offset, line)) in lines.iter().enumerate() {
        if i > 0 {
            push_text(&mut parts, "\n");
        }
        // Only spaces and tabs count as indentation; other whitespace
        // (U+3000) is text, and cutting into it would split a character.
        let cut = indent.min(line.len() - line.trim_start_matches([' ', '\t']).len());
        // Strip CR of CRLF files: line endings are not part of the value.
        let body = line[cut..].strip_suffix('\r').unwrap_or(&line[cut..]);
        decode(file, body, offset + cut, &mut parts, diags);
    }
    StrLit {
        parts: parts.into(),
        span,
    }
}

fn push_text(parts: &mut Vec<StrPart>, text: &str) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push_str(text);
    } else {
        parts.push(StrPart::Text(text.to_string()));
    }
}

/// Whether `text` holds a C0 control character other than tab (newlines
/// never reach here: they end a `"` string and split a `"""` one).
fn has_control(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 && b != b'\t')
}

/// What to do about a NUL, raw or escaped: the same words for both.
const NUL_HELP: &str = "a command, an environment variable and a YAML value cannot carry a NUL (a shell would drop it silently): remove it";

/// One error per raw control character in `text` (which starts at byte
/// `start` of the file): invisible in an editor, and a NUL would be dropped
/// by the shell. Tab is the only raw control a line of a string takes.
fn report_controls(file: FileId, text: &str, start: usize, diags: &mut Vec<Diagnostic>) {
    for (i, b) in text.bytes().enumerate() {
        if b >= 0x20 || b == b'\t' {
            continue;
        }
        let span = Span::new(file, start + i, start + i + 1);
        diags.push(if b == 0 {
            Diagnostic::error(Code::BadString, span, "a NUL character is in this string")
                .with_label("a raw NUL byte")
                .with_help(NUL_HELP)
        } else {
            let escape = match b {
                b'\r' => "\\r".to_string(),
                _ => format!("\\u{{{b:x}}}"),
            };
            Diagnostic::error(
                Code::BadString,
                span,
                format!("a raw control character (U+{b:04X}) is in this string"),
            )
            .with_label("an invisible control character")
            .with_help(format!(
                "write it as an escape if you mean it: `{escape}`; tab is the only raw control character a string takes"
            ))
        });
    }
}

fn decode(
    file: FileId,
    text: &str,
    start: usize,
    parts: &mut Vec<StrPart>,
    diags: &mut Vec<Diagnostic>,
) {
    if has_control(text) {
        report_controls(file, text, start, diags);
    }
    let bytes = text.as_bytes();
    let mut buf = String::new();
    let mut i = 0;
    let here = |from: usize, to: usize| Span::new(file, start + from, start + to);
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or('\0');
        match c {
            '\\' => {
                let next = text[i + 1..].chars().next();
                let (decoded, len) = match next {
                    Some('n') => (Some('\n'), 2),
                    Some('t') => (Some('\t'), 2),
                    Some('r') => (Some('\r'), 2),
                    Some('"') => (Some('"'), 2),
                    Some('\\') => (Some('\\'), 2),
                    Some('$') => (Some('$'), 2),
                    Some('u') => unicode_escape(&text[i..]),
                    Some(other) => (None, 1 + other.len_utf8()),
                    None => (None, 1),
                };
                match decoded {
                    Some(ch) => buf.push(ch),
                    None if is_nul_escape(&text[i..i + len]) => diags.push(
                        Diagnostic::error(
                            Code::BadString,
                            here(i, i + len),
                            format!(
                                "a NUL character (`{}`) is in this string",
                                &text[i..i + len]
                            ),
                        )
                        .with_label("a NUL escape")
                        .with_help(NUL_HELP),
                    ),
                    None => diags.push(
                        Diagnostic::error(
                            Code::BadString,
                            here(i, i + len),
                            format!("invalid escape `{}` in string", &text[i..i + len]),
                        )
                        .with_label("not a known escape")
                        .with_help(
                            "known escapes are \\n \\t \\r \\\" \\\\ \\$ and \\u{1F600}; write \\\\ for a backslash",
                        ),
                    ),
                }
                i += len;
            }
            '$' if bytes.get(i + 1) == Some(&b'$') && bytes.get(i + 2) == Some(&b'{') => {
                // `$${` is a literal `${`, for shell code such as `$${HOME}`.
                buf.push_str("${");
                i += 3;
            }
            '$' if bytes.get(i + 1) == Some(&b'{') => {
                let close = text[i..].find('}').map(|c| i + c);
                let name = close.map(|c| &text[i + 2..c]);
                match (close, name) {
                    (Some(close), Some(name)) if is_ident(name) => {
                        if !buf.is_empty() {
                            push_text(parts, &buf);
                            buf.clear();
                        }
                        parts.push(StrPart::Interp(Box::new(Ident {
                            name: name.to_string(),
                            span: here(i, close + 1),
                        })));
                        i = close + 1;
                    }
                    (close, _) => {
                        let end = close.map_or(text.len(), |c| c + 1);
                        diags.push(
                            Diagnostic::error(
                                Code::BadString,
                                here(i, end),
                                format!("`{}` is not a parameter reference", &text[i..end]),
                            )
                            .with_label("expected `${name}`")
                            .with_help(
                                "`${name}` inserts a parameter; for a literal `${` (shell code) write `$${`",
                            ),
                        );
                        buf.push_str(&text[i..end]);
                        i = end;
                    }
                }
            }
            _ => {
                // Copy the run up to the next escape or `$` at once.
                let run = text[i..]
                    .find(['\\', '$'])
                    .map_or(text.len(), |n| i + n.max(1));
                buf.push_str(&text[i..run]);
                i = run;
            }
        }
    }
    if !buf.is_empty() {
        push_text(parts, &buf);
    }
}

/// `\u{0}`, `\u{000000}`: a NUL, which no string can hold.
fn is_nul_escape(escape: &str) -> bool {
    escape
        .strip_prefix("\\u{")
        .and_then(|e| e.strip_suffix('}'))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b == b'0'))
}

/// `\u{1F600}`: returns the character and the escape's length.
fn unicode_escape(text: &str) -> (Option<char>, usize) {
    let Some(rest) = text.strip_prefix("\\u{") else {
        return (None, 2);
    };
    let Some(close) = rest.find('}') else {
        return (None, 2);
    };
    let len = 3 + close + 1;
    let hex = &rest[..close];
    if hex.is_empty() || hex.len() > 6 {
        return (None, len);
    }
    let ch = u32::from_str_radix(hex, 16)
        .ok()
        .and_then(char::from_u32)
        .filter(|c| *c != '\0');
    (ch, len)
}

pub(crate) fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(lit: &StrLit) -> String {
        lit.parts
            .iter()
            .map(|p| match p {
                StrPart::Text(t) => t.clone(),
                StrPart::Interp(i) => format!("<{}>", i.name),
            })
            .collect()
    }

    #[test]
    fn escapes_and_interpolation() {
        let mut d = Vec::new();
        let lit = simple(
            FileId(0),
            r#"a\"b\n${day}-$${HOME} $x \u{e9}"#,
            0,
            Span::default(),
            &mut d,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(text_of(&lit), "a\"b\n<day>-${HOME} $x é");
    }

    #[test]
    fn bad_escape_and_bad_reference() {
        let mut d = Vec::new();
        simple(FileId(0), r"\q ${1x} ${open", 0, Span::default(), &mut d);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d.iter().all(|d| d.code == Code::BadString));
    }

    #[test]
    fn raw_control_characters_and_nul_escapes_are_errors() {
        for (text, want) in [
            ("a\0b", "a NUL character is in this string"),
            ("a\x01b", "a raw control character (U+0001)"),
            ("a\rb ${x}", "a raw control character (U+000D)"),
            (r"a\u{0}b", r"a NUL character (`\u{0}`)"),
            (r"a\u{000}b", r"a NUL character (`\u{000}`)"),
        ] {
            let mut d = Vec::new();
            simple(FileId(0), text, 0, Span::default(), &mut d);
            assert_eq!(d.len(), 1, "{text:?}: {d:?}");
            assert_eq!(d[0].code, Code::BadString);
            assert!(d[0].message.contains(want), "{text:?}: {}", d[0].message);
        }
        let mut d = Vec::new();
        triple(FileId(0), "\n  a\tb\x1b\n  ", 0, Span::default(), &mut d);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].span.map(|s| s.start), Some(6));
        // Tabs, and escapes of controls other than NUL, are fine.
        let mut d = Vec::new();
        simple(FileId(0), r"a\tb\u{1b}", 0, Span::default(), &mut d);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn triple_strings_drop_common_indent() {
        let mut d = Vec::new();
        let lit = triple(
            FileId(0),
            "\n    set -e\n      echo ${x}\n    ",
            0,
            Span::default(),
            &mut d,
        );
        assert_eq!(text_of(&lit), "set -e\n  echo <x>");
    }
}
