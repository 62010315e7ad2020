//! pest pairs to AST. The grammar guarantees the shape of each pair, so a
//! shape this code does not expect is a bug in the grammar, reported as a
//! syntax error rather than a panic.

use super::ast::*;
use super::{Rule, explain_junk, strings};
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use pest::iterators::Pair;

pub(super) struct Lowering<'a> {
    file: FileId,
    text: &'a str,
    diags: Vec<Diagnostic>,
    /// Set once an unclosed top-level block was reported: the junk lines after
    /// it are consequences, not separate mistakes.
    unclosed: bool,
    /// Where the line after a field with a missing value starts: a junk line
    /// there is that value, already reported.
    value_on_next_line: Option<usize>,
}

impl<'a> Lowering<'a> {
    pub(super) fn new(file: FileId, text: &'a str) -> Lowering<'a> {
        Lowering {
            file,
            text,
            diags: Vec::new(),
            unclosed: false,
            value_on_next_line: None,
        }
    }

    pub(super) fn finish(self) -> Vec<Diagnostic> {
        self.diags
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn malformed(&mut self, span: Span) {
        self.diags.push(
            Diagnostic::error(
                Code::Syntax,
                span,
                "the parser could not read this (please report: the grammar and the lowering disagree)",
            )
            .with_help("this is a bug in vcp: please report it with this file; rewriting the line differently may avoid it"),
        );
    }

    pub(super) fn file(&mut self, pair: Pair<'_, Rule>) -> Vec<Item> {
        let mut items = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::import => {
                    let span = self.span(&p);
                    if let Some(path) = p.into_inner().find(|q| q.as_rule() == Rule::string) {
                        let path = self.string(path);
                        items.push(Item::Import(Import { path, span }));
                    }
                }
                Rule::pipeline => {
                    if let Some(d) = self.decl(p) {
                        items.push(Item::Pipeline(d));
                    }
                }
                Rule::template => {
                    if let Some(d) = self.decl(p) {
                        items.push(Item::Template(d));
                    }
                }
                Rule::top_junk => self.junk(&p, true),
                _ => {}
            }
        }
        items
    }

    fn junk(&mut self, pair: &Pair<'_, Rule>, top_level: bool) {
        if self.unclosed {
            return;
        }
        let junk_start = pair.as_span().start();
        let line = pair.as_str();
        let opens = line.matches('{').count();
        let closes = line.matches('}').count();
        // Junk right after a field on the same line (`shard = range(0, 10`)
        // is the tail of that field: explain the whole line, so that the
        // message says what the field was missing.
        let line_start = self.text[..junk_start].rfind('\n').map_or(0, |i| i + 1);
        let before = &self.text[line_start..junk_start];
        let (start, line) =
            if !top_level && !before.trim().is_empty() && !before.contains(['{', ',', '}']) {
                let indent = before.len() - before.trim_start().len();
                (
                    line_start + indent,
                    &self.text[line_start + indent..pair.as_span().end()],
                )
            } else {
                (junk_start, line)
            };
        // A line that is only a value (`"python:3.12"`) right after a field
        // whose value was missing is that value, already reported.
        let looks_like_field = {
            let t = line.trim_start();
            let name_len = t
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(t.len());
            name_len > 0 && t[name_len..].trim_start().starts_with(['=', '{'])
        };
        if !looks_like_field
            && self.value_on_next_line.is_some_and(|next| {
                self.text
                    .get(next..junk_start)
                    .is_some_and(|gap| gap.trim().is_empty())
            })
        {
            self.value_on_next_line = None;
            return;
        }
        let diag = explain_junk(self.file, self.text, start, line, top_level);
        if diag
            .help
            .as_deref()
            .is_some_and(|h| h.starts_with("the value must start"))
        {
            let end = pair.as_span().end();
            self.value_on_next_line = self.text[end..].find('\n').map(|i| end + i + 1);
        }
        if top_level && opens > closes {
            // The body of this block follows as more junk lines: they are
            // part of this one mistake.
            self.unclosed = true;
            if !diag.message.contains("cannot appear outside") {
                let first = start + line.find('{').unwrap_or(0);
                let brace = innermost_unclosed(self.text, first).unwrap_or(first);
                self.diags.push(
                    Diagnostic::error(
                        Code::Syntax,
                        Span::new(self.file, brace, brace + 1),
                        "this `{` is never closed",
                    )
                    .with_label("unclosed block")
                    .with_help("add the missing `}`; the lines after this one were not checked"),
                );
                return;
            }
        }
        self.diags.push(diag);
    }

    /// A block that reached the end of the file: one report per file, at the
    /// `{` most likely missing its `}`.
    fn unclosed_block(&mut self, open: usize) {
        if self.unclosed {
            return;
        }
        self.unclosed = true;
        let brace = innermost_unclosed(self.text, open).unwrap_or(open);
        self.diags.push(
            Diagnostic::error(
                Code::Syntax,
                Span::new(self.file, brace, brace + 1),
                "this `{` is never closed",
            )
            .with_label("unclosed block")
            .with_help("add the missing `}`"),
        );
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn decl(&mut self, pair: Pair<'_, Rule>) -> Option<Decl> {
        let span = self.span(&pair);
        let mut name = None;
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::block => body = Some(self.block(p)),
                _ => {}
            }
        }
        match (name, body) {
            (Some(name), Some(body)) => Some(Decl { name, body, span }),
            _ => {
                self.malformed(span);
                None
            }
        }
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let span = self.span(&pair);
        let mut entries = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::unclosed => self.unclosed_block(span.start as usize),
                Rule::stage => {
                    if let Some(d) = self.decl(p) {
                        entries.push(Entry::Stage(d));
                    }
                }
                Rule::volume => {
                    if let Some(d) = self.decl(p) {
                        entries.push(Entry::Volume(d));
                    }
                }
                Rule::param => {
                    if let Some(param) = self.param(p) {
                        entries.push(Entry::Param(Box::new(param)));
                    }
                }
                Rule::field => {
                    if let Some(f) = self.field(p) {
                        entries.push(Entry::Field(f));
                    }
                }
                Rule::junk => self.junk(&p, false),
                _ => {}
            }
        }
        Block { entries, span }
    }

    fn param(&mut self, pair: Pair<'_, Rule>) -> Option<Param> {
        let span = self.span(&pair);
        let mut idents = Vec::new();
        let mut default = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => idents.push(self.ident(p)),
                Rule::value => default = self.value(p),
                _ => {}
            }
        }
        let mut idents = idents.into_iter();
        match (idents.next(), idents.next()) {
            (Some(name), Some(ty)) => Some(Param {
                // To the end of the default (or the type), without the
                // whitespace pest's span takes after it.
                span: Span {
                    end: default.as_ref().map_or(ty.span, Expr::span).end,
                    ..span
                },
                name,
                ty,
                default,
            }),
            _ => {
                self.malformed(span);
                None
            }
        }
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Option<Field> {
        let span = self.span(&pair);
        let mut key = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::key => key = self.key(p),
                Rule::value => value = self.value(p),
                Rule::value_block => {
                    value = p.into_inner().next().map(|b| Expr::Map(self.block(b)));
                }
                _ => {}
            }
        }
        match (key, value) {
            // From the key to the end of the value: pest's span of the rule
            // also covers the whitespace it skipped looking for `by`.
            (Some(key), Some(value)) => Some(Field {
                span: key.span.to(value.span()),
                key,
                value,
            }),
            _ => {
                self.malformed(span);
                None
            }
        }
    }

    fn key(&mut self, pair: Pair<'_, Rule>) -> Option<Key> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        match inner.as_rule() {
            Rule::ident => Some(Key {
                name: inner.as_str().to_string(),
                quoted: false,
                span,
            }),
            Rule::string => {
                let lit = self.string(inner);
                let name = match lit.as_plain() {
                    Some(name) => name,
                    None => {
                        self.diags.push(
                            Diagnostic::error(Code::BadString, span, "a key cannot use `${...}`")
                                .with_help(
                                    "keys are fixed names; use a parameter in the value instead",
                                ),
                        );
                        String::new()
                    }
                };
                Some(Key {
                    name,
                    quoted: true,
                    span,
                })
            }
            _ => None,
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let expr = pair.into_inner().next()?;
        self.expr(expr)
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => {
                let mut inner = pair.into_inner();
                let primary = self.expr(inner.next()?)?;
                let strategy = inner.find(|p| p.as_rule() == Rule::ident);
                Some(match strategy {
                    Some(s) => Expr::By {
                        source: Box::new(primary),
                        strategy: Box::new(self.ident(s)),
                        span,
                    },
                    None => primary,
                })
            }
            Rule::string => Some(Expr::Str(self.string(pair))),
            Rule::boolean => Some(Expr::Bool {
                value: pair.as_str() == "true",
                span,
            }),
            Rule::number => Some(Expr::Number {
                text: pair.as_str().to_string(),
                span,
            }),
            Rule::quantity => Some(Expr::Quantity {
                text: pair.as_str().to_string(),
                span,
            }),
            Rule::list => {
                let items = pair
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::expr)
                    .filter_map(|p| self.expr(p))
                    .collect();
                Some(Expr::List { items, span })
            }
            Rule::block => Some(Expr::Map(self.block(pair))),
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = self.ident(inner.next()?);
                let args = inner
                    .filter(|p| p.as_rule() == Rule::expr)
                    .filter_map(|p| self.expr(p))
                    .collect();
                Some(Expr::Call {
                    name: Box::new(name),
                    args,
                    span,
                })
            }
            Rule::ident => Some(Expr::Ident(self.ident(pair))),
            _ => {
                self.malformed(span);
                None
            }
        }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let span = self.span(&pair);
        let Some(kind) = pair.into_inner().next() else {
            return StrLit {
                parts: Parts::default(),
                span,
            };
        };
        let triple = kind.as_rule() == Rule::triple_string;
        let mut parts = kind.into_inner();
        let inner = parts.next();
        if parts.any(|p| p.as_rule() == Rule::unclosed) {
            self.diags.push(
                Diagnostic::error(
                    Code::Syntax,
                    span.sub(0, 3),
                    "this `\"\"\"` string is never closed",
                )
                .with_label("runs to the end of the file")
                .with_help("close it with `\"\"\"`"),
            );
        }
        let (text, start) = inner.map_or(("", span.start as usize), |p| {
            (p.as_str(), p.as_span().start())
        });
        if triple {
            strings::triple(self.file, text, start, span, &mut self.diags)
        } else {
            strings::simple(self.file, text, start, span, &mut self.diags)
        }
    }
}

/// The `{` most likely missing its `}`, scanning from `from` (strings and
/// comments skipped): a `}` that starts a line less indented than the line
/// of the innermost open `{` closes an outer block, so that inner one is the
/// culprit; otherwise the last `{` still open at the end.
fn innermost_unclosed(text: &str, from: usize) -> Option<usize> {
    let indent_of = |pos: usize| {
        let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
        text[start..].len() - text[start..].trim_start_matches([' ', '\t']).len()
    };
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut in_comment = false;
    for (i, b) in text.bytes().enumerate().skip(from) {
        if in_comment {
            in_comment = b != b'\n';
        } else if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'#' => in_comment = true,
                b'"' => in_string = true,
                b'{' => stack.push((i, indent_of(i))),
                b'}' => {
                    let line_start = text[..i].rfind('\n').map_or(0, |j| j + 1);
                    let leading = text[line_start..i].trim().is_empty();
                    if let Some(&(open, indent)) = stack.last()
                        && leading
                        && indent > indent_of(i)
                    {
                        return Some(open);
                    }
                    stack.pop();
                }
                _ => {}
            }
        }
    }
    stack.last().map(|&(open, _)| open)
}
