//! String literals in canonical form.
//!
//! A `"..."` string is written again from its decoded value, so that every
//! way of writing one value comes out the same: `\\ \" \n \t \r` for those
//! characters, `\u{...}` for other control characters, `${name}` for an
//! interpolation and `$${` for a literal `${`. A `"""` string keeps its lines
//! as written (escapes and all) and only moves them to the new indentation,
//! by the rule the parser uses to remove it again (`syntax/strings.rs`).

use crate::syntax::ast::StrPart;
use std::fmt::Write as _;

/// The canonical `"..."` form of a decoded string.
pub(super) fn quote(parts: &[StrPart]) -> String {
    let mut out = String::from("\"");
    for (i, part) in parts.iter().enumerate() {
        match part {
            StrPart::Text(text) => {
                let before_interp = matches!(parts.get(i + 1), Some(StrPart::Interp(_)));
                escape_into(&mut out, text, before_interp);
            }
            StrPart::Interp(name) => {
                let _ = write!(out, "${{{}}}", name.name);
            }
        }
    }
    out.push('"');
    out
}

/// The canonical `"..."` form of a plain text (a quoted key).
pub(super) fn quote_text(text: &str) -> String {
    let mut out = String::from("\"");
    escape_into(&mut out, text, false);
    out.push('"');
    out
}

/// `before_interp`: a `${name}` follows, so a final `$` must not run into it
/// (`$${` would read as a literal `${`).
fn escape_into(out: &mut String, text: &str, before_interp: bool) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => match chars.peek() {
                // A literal `${`: `$${` (the `{` is written next).
                Some('{') => out.push_str("$$"),
                None if before_interp => out.push_str("\\$"),
                _ => out.push('$'),
            },
            // NUL has no escape (`\u{0}` is refused); it was written raw.
            c if c.is_control() && c != '\0' => {
                let _ = write!(out, "\\u{{{:X}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

/// The lines of a `"""` string whose text between the quotes is `inner`,
/// starting on a line indented by `indent`: `"""`, the lines of the value at
/// `indent + INDENT`, and `"""` at `indent`. `None` when a line defeats the
/// indentation rule (the caller then keeps the string as written).
///
/// Why this keeps the value: the parser drops a first line that is blank and
/// a last line that is blank, then removes the indentation common to the
/// non-blank lines. The lines are written with that indentation removed and
/// a new one added to every non-blank line, between a new first and last line
/// that are blank: the parser removes exactly what was added.
pub(super) fn triple_lines(inner: &str, indent: usize) -> Option<Vec<String>> {
    let mut lines: Vec<&str> = inner.split('\n').collect();
    if lines.len() > 1 && lines[0].trim().is_empty() {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let leading = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| leading(l))
        .min();
    // With no line of text the parser removes nothing, so nothing is added.
    let prefix = if common.is_some() {
        " ".repeat(indent + super::INDENT)
    } else {
        String::new()
    };
    let mut out = vec!["\"\"\"".to_string()];
    for line in lines {
        let body = line.get(common.unwrap_or(0).min(line.len())..)?;
        // The parser strips one CR (of CRLF) from each line; a second one is
        // part of the value and gets its CR back.
        let body = body.strip_suffix('\r').unwrap_or(body);
        let cr = if body.ends_with('\r') { "\r" } else { "" };
        if body.is_empty() {
            out.push(String::new());
        } else {
            out.push(format!("{prefix}{body}{cr}"));
        }
    }
    out.push(format!("{}\"\"\"", " ".repeat(indent)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::Ident;

    fn text(t: &str) -> StrPart {
        StrPart::Text(t.to_string())
    }

    fn interp(n: &str) -> StrPart {
        StrPart::Interp(Box::new(Ident {
            name: n.to_string(),
            span: Default::default(),
        }))
    }

    #[test]
    fn escapes() {
        assert_eq!(quote(&[text("a\"b\\c\n\t\r")]), r#""a\"b\\c\n\t\r""#);
        assert_eq!(quote(&[text("\u{7}x\u{1b}")]), r#""\u{7}x\u{1B}""#);
        assert_eq!(quote(&[text("é😀")]), "\"é😀\"");
    }

    #[test]
    fn dollars() {
        assert_eq!(quote(&[text("${HOME} $x $")]), r#""$${HOME} $x $""#);
        assert_eq!(quote(&[text("a$"), interp("day")]), r#""a\$${day}""#);
        assert_eq!(quote(&[text("$${")]), r#""$$${""#);
        assert_eq!(
            quote(&[interp("a"), interp("b"), text("$")]),
            r#""${a}${b}$""#
        );
    }

    #[test]
    fn triple_reindents() {
        let lines = triple_lines("\n        set -e\n          echo\n\n        ", 2)
            .expect("a plain string");
        assert_eq!(
            lines,
            ["\"\"\"", "    set -e", "      echo", "", "  \"\"\""]
        );
        let lines = triple_lines("x", 0).expect("a plain string");
        assert_eq!(lines, ["\"\"\"", "  x", "\"\"\""]);
        let lines = triple_lines("  ", 4).expect("a plain string");
        assert_eq!(lines, ["\"\"\"", "  ", "    \"\"\""]);
    }
}
