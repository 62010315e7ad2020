//! Parsing: source text to [`ast::File`] plus syntax diagnostics.
//!
//! pest stays in this room: the rest of the compiler sees our AST and our
//! [`Span`]s only. Parsing never fails outright: lines the grammar cannot read
//! are recovered by catch-all rules, reported as E0001 and skipped, so that one
//! run reports every broken line of a file.

pub mod ast;
mod fast;
mod lower;
mod strings;

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use pest::Parser as _;

/// Deepest nesting of `{`, `[` and `(` the parser accepts. Real pipelines nest
/// four or five levels; the limit keeps hostile input from exhausting the stack.
pub const MAX_NESTING: usize = 64;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/vcp.pest"]
struct VcpParser;

/// The result of parsing one file: always an AST (possibly partial) and the
/// syntax errors found on the way.
#[derive(Debug)]
pub struct Parsed {
    pub file: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn parse(file: FileId, text: &str) -> Parsed {
    // A correct file takes the fast path (which gives up on nesting deeper
    // than MAX_NESTING, as `check_nesting` does); anything else is read (and
    // its errors explained) by the parser generated from the grammar.
    match parse_fast(file, text) {
        Some(ast) => Parsed {
            file: ast,
            diagnostics: Vec::new(),
        },
        None => parse_with_pest(file, text),
    }
}

/// The hand-written parser alone: the AST of a file without syntax errors,
/// `None` otherwise. Exposed for the agreement tests.
pub fn parse_fast(file: FileId, text: &str) -> Option<ast::File> {
    fast::parse(file, text)
}

/// The grammar's parser alone (with line recovery and diagnostics). Exposed
/// for the agreement tests; `parse` uses it for files with errors.
pub fn parse_with_pest(file: FileId, text: &str) -> Parsed {
    if let Some(diag) = check_nesting(file, text) {
        return Parsed {
            file: ast::File { items: Vec::new() },
            diagnostics: vec![diag],
        };
    }
    // One pest parse at a time: the call limit is a process-wide setting.
    let _serial = PEST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pest::set_call_limit(std::num::NonZeroUsize::new(
        CALLS_PER_BYTE * text.len().max(10_000),
    ));
    match VcpParser::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let mut lowering = lower::Lowering::new(file, text);
            let items = pairs
                .next()
                .map(|pair| lowering.file(pair))
                .unwrap_or_default();
            Parsed {
                file: ast::File { items },
                diagnostics: lowering.finish(),
            }
        }
        Err(err) => Parsed {
            file: ast::File { items: Vec::new() },
            diagnostics: vec![if is_call_limit(&err) {
                gave_up(file, text, &err)
            } else {
                syntax_error(file, text, 0, &err)
            }],
        },
    }
}

/// Grammar rule calls allowed per byte of a file on the pest path. Files with
/// errors are read with backtracking, and some shapes of broken input (lists
/// of multi-line blocks that never close, nested) make it re-read the same
/// lines again and again: a fuzzer found an 11 KB file that took 6 s. The
/// limit keeps the worst case linear in the file's size; files with ordinary
/// mistakes (every UI case, the benchmark files) need under 20 per byte;
/// small files get the budget of a 10 KB one.
const CALLS_PER_BYTE: usize = 2_000;

static PEST: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn is_call_limit(err: &pest::error::Error<Rule>) -> bool {
    matches!(&err.variant, pest::error::ErrorVariant::CustomError { message } if message.contains("call limit"))
}

/// The diagnostic for a file the parser stopped reading: at the first `[` or
/// `(` that is never closed (the usual cause), else where the parser was.
fn gave_up(file: FileId, text: &str, err: &pest::error::Error<Rule>) -> Diagnostic {
    let pos = first_unclosed_list(text)
        .unwrap_or(match err.location {
            pest::error::InputLocation::Pos(p) | pest::error::InputLocation::Span((p, _)) => p,
        })
        .min(text.len());
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    Diagnostic::error(
        Code::Syntax,
        Span::new(file, line_start, line_end.max(line_start)),
        "this file is too malformed to read: the parser gave up around here",
    )
    .with_label("likely cause: a list never closed")
    .with_help(
        "look for a `[` or `(` whose list runs over several lines and is never closed, \
         or blocks opened inside such a list; fix those and run vcp check again",
    )
}

/// Explains a line the grammar could not read, by parsing it alone with the
/// rule it was meant to match. `offset` is where `line` starts in the file.
fn explain_junk(
    file: FileId,
    source: &str,
    offset: usize,
    line: &str,
    top_level: bool,
) -> Diagnostic {
    let trimmed = line.trim_end();
    let whole = Span::new(file, offset, offset + trimmed.len());
    let mut words = trimmed.split_whitespace();
    let first = words.next().unwrap_or("");
    let keyword = ["stage", "volume", "pipeline", "template", "param"].contains(&first);
    // A declaration whose name is not a name: `stage 2-load {`.
    if keyword
        && let Some(name) = words
            .next()
            .filter(|n| !n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
    {
        let name = name.trim_end_matches(['{', ':']);
        let at = offset + line.find(name).unwrap_or(0);
        return Diagnostic::error(
                Code::Syntax,
                Span::new(file, at, at + name.len().max(1)),
                format!("`{name}` is not a valid {first} name"),
            )
            .with_label("names start with a letter")
            .with_help("names are letters, digits, `-` and `_`, starting with a letter: `load-2`, not `2-load`");
    }
    if top_level
        && (keyword && first != "pipeline" && first != "template"
            || VcpParser::parse(Rule::entry_line, line).is_ok())
    {
        let first_span = Span::new(file, offset, offset + first.len().max(1));
        return Diagnostic::error(Code::Syntax, first_span, format!("`{first}` cannot appear outside a pipeline"))
            .with_label("not inside any block")
            .with_help("stages, volumes, params and fields go inside `pipeline <name> { ... }` (or `template <name> { ... }`)");
    }
    let rule = if top_level {
        Rule::item_line
    } else {
        Rule::entry_line
    };
    match VcpParser::parse(rule, line) {
        Err(err) => syntax_error(file, source, offset, &err),
        Ok(_) => Diagnostic::error(Code::Syntax, whole, "this cannot appear here")
            .with_help("remove this line, or move it into the block where it belongs"),
    }
}

fn syntax_error(
    file: FileId,
    source: &str,
    offset: usize,
    err: &pest::error::Error<Rule>,
) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = offset
        + match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let rest_of_line = source
        .get(pos..)
        .unwrap_or("")
        .split('\n')
        .next()
        .unwrap_or("");
    if rest_of_line.starts_with('"')
        && !rest_of_line.starts_with("\"\"\"")
        && !rest_of_line[1..].contains('"')
    {
        return Diagnostic::error(
            Code::Syntax,
            Span::new(file, pos, pos + rest_of_line.trim_end().len()),
            "this string is not closed",
        )
        .with_label("no closing `\"` on this line")
        .with_help("close it on the same line; for text over several lines use \"\"\"...\"\"\"");
    }
    let found = describe_at(source, pos);
    let expected = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => expected_words(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let len = found_len(source, pos);
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {expected}, found {found}")
    };
    let diag = Diagnostic::error(Code::Syntax, Span::new(file, pos, pos + len), message)
        .with_label(if expected.is_empty() {
            "not expected here".to_string()
        } else {
            format!("expected {expected}")
        });
    diag.with_help(hint_at(source, pos).unwrap_or_else(|| fallback_hint(&expected, &source[pos..])))
}

/// A help for a syntax error no common slip explains: what to write there.
fn fallback_hint(expected: &str, rest: &str) -> String {
    if rest.starts_with(|c: char| c.is_ascii_digit())
        && let Some(word) = rest
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .next()
            .filter(|w| w.contains(|c: char| c.is_ascii_alphabetic()))
    {
        return format!(
            "names start with a letter; a key that starts with a digit is written in quotes: `\"{word}\"`"
        );
    }
    for (close, what) in [
        ("`)`", "the call"),
        ("`]`", "the list"),
        ("`}`", "the block"),
    ] {
        if expected.contains(close) {
            return format!("close {what} with {close}, or separate its items with commas");
        }
    }
    if expected.is_empty() {
        "remove this, or move it into the block where it belongs".to_string()
    } else {
        format!("write {expected} here (`vcp explain E0001` shows the syntax)")
    }
}

/// The user's words for what the parser wanted.
fn expected_words(rules: &[Rule]) -> String {
    let mut words: Vec<&str> = rules
        .iter()
        .filter_map(|r| match r {
            Rule::eq => Some("`=`"),
            Rule::colon => Some("`:`"),
            Rule::open_brace | Rule::value_block | Rule::block => Some("`{`"),
            Rule::close_brace => Some("`}`"),
            Rule::close_paren => Some("`)`"),
            Rule::close_bracket => Some("`]`"),
            Rule::ident | Rule::key => Some("a name"),
            Rule::string | Rule::simple_string | Rule::triple_string => Some("a string"),
            Rule::expr | Rule::value | Rule::boolean | Rule::number | Rule::quantity => {
                Some("a value")
            }
            Rule::list => Some("a list"),
            Rule::call => Some("a function call"),
            Rule::field => Some("a field (`name = value`)"),
            Rule::stage | Rule::kw_stage => Some("`stage`"),
            Rule::param | Rule::kw_param => Some("`param`"),
            Rule::volume | Rule::kw_volume => Some("`volume`"),
            Rule::import | Rule::kw_import => Some("`import`"),
            Rule::pipeline | Rule::kw_pipeline => Some("`pipeline`"),
            Rule::template | Rule::kw_template => Some("`template`"),
            Rule::kw_by => Some("`by`"),
            Rule::EOI => Some("the end of the line"),
            _ => None,
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    // `by` may follow any value; it is worth naming only when alone.
    if words.len() > 1 {
        words.retain(|w| *w != "`by`");
    }
    match words.len() {
        0 => String::new(),
        1 => words[0].to_string(),
        n => format!("{} or {}", words[..n - 1].join(", "), words[n - 1]),
    }
}

/// What is at `pos`, for "found ..." in messages.
fn describe_at(source: &str, pos: usize) -> String {
    let rest = source.get(pos..).unwrap_or("");
    match rest.chars().next() {
        None => "the end of the file".to_string(),
        Some('\n') | Some('\r') => "the end of the line".to_string(),
        Some(_) => {
            let len = found_len(source, pos);
            format!("`{}`", &rest[..len])
        }
    }
}

/// Length in bytes of the token at `pos`: a word, or one character.
fn found_len(source: &str, pos: usize) -> usize {
    let rest = source.get(pos..).unwrap_or("");
    let word: usize = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '.')
        .map(char::len_utf8)
        .sum();
    if word > 0 {
        word
    } else {
        rest.chars()
            .next()
            .filter(|c| *c != '\n')
            .map_or(0, char::len_utf8)
    }
}

/// Extra help for common slips, judged from the text around the error.
fn hint_at(source: &str, pos: usize) -> Option<String> {
    let rest = source.get(pos..).unwrap_or("");
    let before = source.get(..pos).unwrap_or("");
    let line_before = before.rsplit('\n').next().unwrap_or("");
    // `image = python:3.12`: a string written without its quotes.
    if let Some((key, value)) = line_before.split_once('=')
        && !rest.starts_with(['=', '\n', '\r', '"'])
        && !rest.is_empty()
        && !value.trim().is_empty()
        && !value.contains(['"', '[', '(', '{'])
        && key
            .trim()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        let word_end = rest
            .find(|c: char| c.is_whitespace() || c == ',' || c == '}')
            .unwrap_or(rest.len());
        return Some(format!(
            "strings are written in double quotes: `{} = \"{}{}\"`",
            key.trim(),
            value.trim(),
            &rest[..word_end]
        ));
    }
    if rest.starts_with("==")
        || (rest.starts_with('=') && before.ends_with('='))
        || rest.starts_with(':')
            && line_before
                .trim_end()
                .ends_with(|c: char| c.is_alphanumeric())
            && !line_before.contains("param")
    {
        return Some("fields are written `name = value`".to_string());
    }
    if rest.starts_with('\'') {
        return Some("strings use double quotes: \"like this\"".to_string());
    }
    if line_before.trim_end().ends_with('=')
        && (rest.starts_with('\n') || rest.starts_with('\r') || rest.is_empty())
    {
        return Some("the value must start on the same line as its `=`".to_string());
    }
    if line_before.matches('"').count() % 2 == 1 && (rest.starts_with('\n') || rest.is_empty()) {
        return Some(
            "this string is not closed; for text over several lines use \"\"\"...\"\"\""
                .to_string(),
        );
    }
    None
}

/// Where the comment or string starting at `i` ends (the index after it; a
/// comment ends before its newline, an unclosed `"` at the end of its line,
/// an unclosed `"""` at the end of the text), or `None` when none starts
/// there. Escapes are skipped as the parsers skip them.
fn past_literal(bytes: &[u8], i: usize) -> Option<usize> {
    let (quote, one_line): (&[u8], bool) = match bytes[i] {
        b'#' => {
            let end = bytes[i..].iter().position(|&b| b == b'\n');
            return Some(end.map_or(bytes.len(), |n| i + n));
        }
        b'"' if bytes[i..].starts_with(b"\"\"\"") => (b"\"\"\"", false),
        b'"' => (b"\"", true),
        _ => return None,
    };
    let mut j = i + quote.len();
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'\n' if one_line => return Some(j),
            _ if bytes[j..].starts_with(quote) => return Some(j + quote.len()),
            _ => j += 1,
        }
    }
    Some(bytes.len())
}

/// The bytes of the file outside comments and strings, with their offsets.
fn code_bytes(bytes: &[u8]) -> impl Iterator<Item = (usize, u8)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            match past_literal(bytes, i) {
                Some(next) => i = next,
                None => {
                    i += 1;
                    return Some((i - 1, bytes[i - 1]));
                }
            }
        }
        None
    })
}

/// The first `[` or `(` without its closing bracket, strings and comments
/// skipped: a closing bracket closes the nearest open one of its kind, and
/// the openers it skips over are unclosed.
fn first_unclosed_list(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut first: Option<usize> = None;
    for (i, b) in code_bytes(bytes) {
        match b {
            c @ (b'[' | b'(' | b'{') => open.push((c, i)),
            c @ (b']' | b')' | b'}') => {
                let want = match c {
                    b']' => b'[',
                    b')' => b'(',
                    _ => b'{',
                };
                if let Some(k) = open.iter().rposition(|&(o, _)| o == want) {
                    for &(o, at) in &open[k + 1..] {
                        if o != b'{' {
                            first = Some(first.map_or(at, |f| f.min(at)));
                        }
                    }
                    open.truncate(k);
                }
            }
            _ => {}
        }
    }
    let left = open.iter().filter(|&&(o, _)| o != b'{').map(|&(_, at)| at);
    first.into_iter().chain(left).min()
}

/// Rejects nesting deeper than [`MAX_NESTING`] before pest sees it: the
/// parser, the lowering and the checker all recurse over nesting.
fn check_nesting(file: FileId, text: &str) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    for (i, b) in code_bytes(bytes) {
        match b {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(
                        Diagnostic::error(
                            Code::Syntax,
                            Span::new(file, i, i + 1),
                            format!("blocks and lists nested deeper than {MAX_NESTING} levels"),
                        )
                        .with_label("too deep")
                        .with_help("flatten the structure; no pipeline needs this depth"),
                    );
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> ast::File {
        let parsed = parse(FileId(0), text);
        assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
        parsed.file
    }

    /// Both parsers stop at the same depth: the fast one gives up past
    /// MAX_NESTING and the pest path reports it; brackets inside strings,
    /// triple-quoted ones included, are not nesting.
    #[test]
    fn nesting_is_bounded_the_same_on_both_paths() {
        let nested = |depth: usize| {
            format!(
                "pipeline p {{ x = {}1{} }}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let deep = nested(MAX_NESTING);
        assert!(parse_fast(FileId(0), &deep).is_none());
        let parsed = parse(FileId(0), &deep);
        assert_eq!(parsed.diagnostics.len(), 1);
        assert!(
            parsed.diagnostics[0].message.contains("nested deeper"),
            "{:?}",
            parsed.diagnostics
        );
        let shallow = nested(MAX_NESTING - 1);
        assert!(parse_fast(FileId(0), &shallow).is_some());
        assert!(parse_with_pest(FileId(0), &shallow).diagnostics.is_empty());

        let braces = "{".repeat(MAX_NESTING + 1);
        let strings = format!(
            "pipeline p {{\n  a = \"{braces}\"\n  b = \"\"\"\n    {braces} \\\"\"\" }}\n  \"\"\"\n}}\n"
        );
        assert!(parse_fast(FileId(0), &strings).is_some());
        assert!(parse_with_pest(FileId(0), &strings).diagnostics.is_empty());
    }

    /// Nested lists of multi-line blocks that never close made the pest
    /// path exponential (a fuzzer find); the call budget ends it with one
    /// diagnostic at the first unclosed list.
    #[test]
    fn a_parse_that_would_backtrack_forever_gives_up() {
        let mut text = String::from("pipeline p {\n");
        for i in 0..25 {
            text.push_str(&format!(
                "  t{i} = [\n    {{ key = \"d\", oper\"data\"\n  q = \"b\"\n"
            ));
        }
        text.push_str("}\n");
        let parsed = parse(FileId(0), &text);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let diag = &parsed.diagnostics[0];
        assert!(diag.message.contains("too malformed"), "{}", diag.message);
        assert_eq!(
            diag.span.map(|s| &text[s.start as usize..s.end as usize]),
            Some("  t0 = [")
        );
    }

    #[test]
    fn parses_a_small_pipeline() {
        let file = parse_ok(
            r#"
import "std/python"
pipeline p {
  namespace = "ml"   # a comment
  param day: string = "2026-11-28"
  volume data { claim = "shared", mount = "/data" }
  stage split {
    workers = 3, parallel = 10
    shard = range(0, 300) by modulo
    run = "python task.py {item}"
    resources { cpu = "2", memory = 4Gi }
    after = [a, b]
    timeout = 1h30m
    ok = true
  }
}
"#,
        );
        assert_eq!(file.items.len(), 2);
        let ast::Item::Pipeline(p) = &file.items[1] else {
            panic!("not a pipeline")
        };
        assert_eq!(p.name.name, "p");
        assert_eq!(p.body.entries.len(), 4);
    }

    #[test]
    fn broken_lines_are_all_reported() {
        let parsed = parse(
            FileId(0),
            "pipeline p {\n  workers == 3\n  image = \n  stage s { run = \"x\" }\n}\n",
        );
        assert_eq!(parsed.diagnostics.len(), 2, "{:#?}", parsed.diagnostics);
        let ast::Item::Pipeline(p) = &parsed.file.items[0] else {
            panic!("not a pipeline")
        };
        assert!(matches!(p.body.entries[0], ast::Entry::Stage(_)));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("pipeline p {{ x = {} }}", "[".repeat(10_000));
        let parsed = parse(FileId(0), &text);
        assert_eq!(parsed.diagnostics[0].code, Code::Syntax);
    }
}
