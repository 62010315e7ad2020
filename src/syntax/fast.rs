//! A hand-written recursive-descent parser for files without syntax errors.
//!
//! The pest parser generated from `grammar/vcp.pest` is the specification
//! and produces every syntax diagnostic; it is also about ten times slower
//! than this one (backtracking, implicit whitespace tried at every `~`).
//! [`parse`] accepts exactly the inputs the pest path accepts without a
//! diagnostic and builds the same AST, spans included; on anything else it
//! gives up (`None`) and the pest path runs and explains the error. A test
//! (`tests/parser_agreement.rs`) holds the two to this contract on the
//! examples, every UI case and generated inputs.

use super::ast::*;
use super::{MAX_NESTING, strings};
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

/// The AST of `text`, or `None` when the file is not cleanly valid.
pub(super) fn parse(file: FileId, text: &str) -> Option<File> {
    let mut p = Parser {
        file,
        src: text.as_bytes(),
        text,
        pos: 0,
        depth: 0,
        diags: Vec::new(),
    };
    let items = p.file()?;
    p.diags.is_empty().then_some(File { items })
}

struct Parser<'a> {
    file: FileId,
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    /// Open brackets around the cursor. Deeper than [`MAX_NESTING`], the
    /// file goes to pest, which reports it; the AST stays shallow enough
    /// for every pass that recurses over it.
    depth: usize,
    /// Diagnostics of string decoding: any of them sends the file to pest.
    diags: Vec<Diagnostic>,
}

/// Files from this size on have their largest block read by two threads.
const SPLIT_FROM: usize = 256 * 1024;
/// How far past the middle of a file a `stage` line is looked for.
const SPLIT_SEARCH: usize = 64 * 1024;

/// How [`Parser::entries`] stopped.
enum BlockEnd {
    Closed,
    Split,
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl Parser<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.src[self.pos..].starts_with(s.as_bytes())
    }

    /// pest's implicit whitespace: spaces, tabs, CR, LF and `#` comments.
    fn skip(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// The grammar's `sp`: spaces and tabs only.
    fn sp(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A keyword: the word, not followed by an identifier character.
    fn keyword(&self, word: &str) -> bool {
        self.at(word)
            && !self
                .src
                .get(self.pos + word.len())
                .copied()
                .is_some_and(is_ident_char)
    }

    fn ident(&mut self) -> Option<Ident> {
        let start = self.pos;
        let first = self.peek()?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        Some(Ident {
            name: self.text[start..self.pos].to_string(),
            span: self.span(start, self.pos),
        })
    }

    fn file(&mut self) -> Option<Vec<Item>> {
        let mut items = Vec::new();
        self.skip();
        while self.pos < self.src.len() {
            let start = self.pos;
            if self.keyword("import") {
                self.pos += "import".len();
                self.skip();
                let path = self.string()?;
                items.push(Item::Import(Import {
                    span: self.span(start, path.span.end as usize),
                    path,
                }));
            } else if self.keyword("pipeline") {
                items.push(Item::Pipeline(self.decl("pipeline")?));
            } else if self.keyword("template") {
                items.push(Item::Template(self.decl("template")?));
            } else {
                return None;
            }
            self.skip();
        }
        Some(items)
    }

    /// `keyword name { ... }`, at the keyword.
    fn decl(&mut self, keyword: &str) -> Option<Decl> {
        let start = self.pos;
        self.pos += keyword.len();
        self.skip();
        let name = self.ident()?;
        self.skip();
        let body = self.block()?;
        Some(Decl {
            name,
            span: self.span(start, body.span.end as usize),
            body,
        })
    }

    /// Runs `inner` one bracket deeper.
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if self.depth == MAX_NESTING {
            return None;
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    /// `{ entry (,)? ... }`, at the `{`.
    fn block(&mut self) -> Option<Block> {
        if self.peek() != Some(b'{') {
            return None;
        }
        self.nested(Self::block_entries)
    }

    fn block_entries(&mut self) -> Option<Block> {
        let start = self.pos;
        self.pos += 1;
        let mut entries = Vec::new();
        match self.split_point() {
            Some(split) => self.entries_in_two(&mut entries, split)?,
            None => {
                self.entries(&mut entries, usize::MAX)?;
            }
        }
        entries.shrink_to_fit();
        Some(Block {
            entries,
            span: self.span(start, self.pos),
        })
    }

    /// Entries up to the block's `}` (consumed), or up to `split` when an
    /// entry ends there: then the cursor is at `split`, between entries.
    fn entries(&mut self, entries: &mut Vec<Entry>, split: usize) -> Option<BlockEnd> {
        loop {
            self.skip();
            if self.pos == split {
                return Some(BlockEnd::Split);
            }
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Some(BlockEnd::Closed);
                }
                None => return None,
                _ => {}
            }
            entries.push(self.entry()?);
            self.skip();
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
        }
    }

    /// Where a large top-level block may be cut in two for two threads: the
    /// first `stage` line past the middle of the rest of the file. A guess,
    /// checked by [`Self::entries_in_two`]: it counts only if the first half,
    /// read as usual, ends an entry exactly there.
    fn split_point(&self) -> Option<usize> {
        let rest = self.src.len() - self.pos;
        if self.depth != 1 || rest < SPLIT_FROM || crate::par::cores() < 2 {
            return None;
        }
        let mid = self.pos + rest / 2;
        // A `}` at the start of a line before the middle most likely closes
        // this block: then it is not the large one.
        if memchr::memmem::find(&self.src[self.pos..mid], b"\n}").is_some() {
            return None;
        }
        let window = &self.src[mid..self.src.len().min(mid + SPLIT_SEARCH)];
        memchr::memmem::find_iter(window, b"stage ")
            .map(|at| mid + at)
            .find(|&at| {
                let line = &self.src[..at];
                let blank =
                    line.len() - line.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                line[line.len() - blank..]
                    .iter()
                    .all(|b| matches!(b, b' ' | b'\t'))
            })
    }

    /// The entries of a block read by two threads: this one up to `split`,
    /// another from `split` to the `}`. The result is the one-thread result:
    /// the second half is used only when the first ends an entry exactly at
    /// `split`, where a one-thread parse would be between the same entries at
    /// the same depth; otherwise the first half reads on to the `}` alone.
    fn entries_in_two(&mut self, entries: &mut Vec<Entry>, split: usize) -> Option<()> {
        let mut tail = Parser {
            file: self.file,
            src: self.src,
            text: self.text,
            pos: split,
            depth: self.depth,
            diags: Vec::new(),
        };
        std::thread::scope(|scope| {
            let second = scope.spawn(move || {
                let mut entries = Vec::new();
                tail.entries(&mut entries, usize::MAX)
                    .map(|_| (entries, tail.pos, tail.diags))
            });
            let first = self.entries(entries, split);
            let second = second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            match first? {
                BlockEnd::Closed => Some(()),
                BlockEnd::Split => {
                    let (rest, end, diags) = second?;
                    entries.extend(rest);
                    self.pos = end;
                    self.diags.extend(diags);
                    Some(())
                }
            }
        })
    }

    /// True when the keyword at the cursor starts a declaration (it is
    /// followed by a name), not a field that happens to be called `stage`.
    fn declares(&self, keyword: &str) -> bool {
        if !self.keyword(keyword) {
            return false;
        }
        let mut probe = Parser {
            file: self.file,
            src: self.src,
            text: self.text,
            pos: self.pos + keyword.len(),
            depth: self.depth,
            diags: Vec::new(),
        };
        if keyword == "param" {
            probe.sp();
        } else {
            probe.skip();
        }
        probe.ident().is_some()
    }

    fn entry(&mut self) -> Option<Entry> {
        if self.declares("stage") {
            return Some(Entry::Stage(self.decl("stage")?));
        }
        if self.declares("volume") {
            return Some(Entry::Volume(self.decl("volume")?));
        }
        if self.declares("param") {
            return Some(Entry::Param(Box::new(self.param()?)));
        }
        Some(Entry::Field(self.field()?))
    }

    /// `param name: type [= value]`, all on one line.
    fn param(&mut self) -> Option<Param> {
        let start = self.pos;
        self.pos += "param".len();
        self.sp();
        let name = self.ident()?;
        self.sp();
        if self.peek() != Some(b':') {
            return None;
        }
        self.pos += 1;
        self.sp();
        let ty = self.ident()?;
        let after_type = self.pos;
        self.sp();
        let default = if self.peek() == Some(b'=') {
            self.pos += 1;
            self.sp();
            Some(self.expr()?)
        } else {
            self.pos = after_type;
            None
        };
        let end = default.as_ref().map_or(ty.span, Expr::span).end as usize;
        Some(Param {
            name,
            ty,
            default,
            span: self.span(start, end),
        })
    }

    /// `key = value` or `key { ... }`, the value on the line of the key.
    fn field(&mut self) -> Option<Field> {
        let key = self.key()?;
        self.sp();
        let value = match self.peek() {
            Some(b'=') => {
                self.pos += 1;
                self.sp();
                self.expr()?
            }
            Some(b'{') => Expr::Map(self.block()?),
            _ => return None,
        };
        Some(Field {
            span: key.span.to(value.span()),
            key,
            value,
        })
    }

    fn key(&mut self) -> Option<Key> {
        let start = self.pos;
        if self.peek() == Some(b'"') {
            let lit = self.string()?;
            let name = lit.as_plain()?;
            return Some(Key {
                name,
                quoted: true,
                span: self.span(start, self.pos),
            });
        }
        let id = self.ident()?;
        Some(Key {
            name: id.name,
            quoted: false,
            span: id.span,
        })
    }

    /// `primary [by strategy]`.
    fn expr(&mut self) -> Option<Expr> {
        let start = self.pos;
        let primary = self.primary()?;
        let after = self.pos;
        self.skip();
        if self.keyword("by") {
            self.pos += 2;
            self.skip();
            if let Some(strategy) = self.ident() {
                return Some(Expr::By {
                    source: Box::new(primary),
                    span: self.span(start, self.pos),
                    strategy: Box::new(strategy),
                });
            }
        }
        // `by` without a name is not part of this value: pest backtracks.
        self.pos = after;
        Some(primary)
    }

    fn primary(&mut self) -> Option<Expr> {
        let start = self.pos;
        match self.peek()? {
            b'"' => self.string().map(Expr::Str),
            b'[' => {
                self.pos += 1;
                let items = self.exprs(b']')?;
                Some(Expr::List {
                    items,
                    span: self.span(start, self.pos),
                })
            }
            b'{' => self.block().map(Expr::Map),
            b'-' | b'0'..=b'9' => self.number(),
            _ => {
                if self.keyword("true") || self.keyword("false") {
                    let value = self.at("true");
                    self.pos += if value { 4 } else { 5 };
                    return Some(Expr::Bool {
                        value,
                        span: self.span(start, self.pos),
                    });
                }
                let name = self.ident()?;
                let after = self.pos;
                self.skip();
                if self.peek() == Some(b'(') {
                    self.pos += 1;
                    let args = self.exprs(b')')?;
                    return Some(Expr::Call {
                        name: Box::new(name),
                        args,
                        span: self.span(start, self.pos),
                    });
                }
                self.pos = after;
                Some(Expr::Ident(name))
            }
        }
    }

    /// `expr (, expr)* ,? close`, after the opening bracket.
    fn exprs(&mut self, close: u8) -> Option<Vec<Expr>> {
        // At its exact size: item lists are most of a large file's AST.
        let mut items = self.nested(|p| p.exprs_until(close))?;
        items.shrink_to_fit();
        Some(items)
    }

    fn exprs_until(&mut self, close: u8) -> Option<Vec<Expr>> {
        let mut items = Vec::new();
        self.skip();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Some(items);
        }
        loop {
            items.push(self.expr()?);
            self.skip();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.skip();
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        return Some(items);
                    }
                }
                b if b == close => {
                    self.pos += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    /// `-? digits (. digits)?` then a unit (a quantity) or nothing that
    /// could continue a name (a number).
    fn number(&mut self) -> Option<Expr> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos > from
        };
        if !digits(self) {
            return None;
        }
        if self.peek() == Some(b'.') && self.src.get(self.pos + 1).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
            digits(self);
        }
        if self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            while self.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            return Some(Expr::Quantity {
                text: self.text[start..self.pos].to_string(),
                span: self.span(start, self.pos),
            });
        }
        if self.peek().is_some_and(is_ident_char) {
            return None;
        }
        Some(Expr::Number {
            text: self.text[start..self.pos].to_string(),
            span: self.span(start, self.pos),
        })
    }

    /// `"..."` or `"""..."""`, decoded by the same code as the pest path.
    fn string(&mut self) -> Option<StrLit> {
        let start = self.pos;
        if self.at("\"\"\"") {
            self.pos += 3;
            let inner = self.pos;
            loop {
                if self.at("\"\"\"") {
                    break;
                }
                match self.peek() {
                    None => return None,
                    Some(b'\\') => self.pos += 1 + self.char_len_at(self.pos + 1),
                    Some(_) => self.pos += self.char_len_at(self.pos),
                }
            }
            let raw = &self.text[inner..self.pos];
            self.pos += 3;
            let span = self.span(start, self.pos);
            return Some(strings::triple(
                self.file,
                raw,
                inner,
                span,
                &mut self.diags,
            ));
        }
        if self.peek() != Some(b'"') {
            return None;
        }
        self.pos += 1;
        let inner = self.pos;
        loop {
            // Straight to the next byte that matters.
            let rest = self.src.get(self.pos..)?;
            self.pos += memchr::memchr3(b'"', b'\n', b'\\', rest)?;
            match self.peek()? {
                b'"' => break,
                b'\n' => return None,
                b'\\' => {
                    if matches!(self.src.get(self.pos + 1), None | Some(b'\n')) {
                        return None;
                    }
                    self.pos += 1 + self.char_len_at(self.pos + 1);
                }
                _ => self.pos += 1,
            }
        }
        let raw = &self.text[inner..self.pos];
        self.pos += 1;
        let span = self.span(start, self.pos);
        Some(strings::simple(
            self.file,
            raw,
            inner,
            span,
            &mut self.diags,
        ))
    }

    /// Length of the UTF-8 character at byte `i` (0 at the end).
    fn char_len_at(&self, i: usize) -> usize {
        self.text
            .get(i..)
            .and_then(|s| s.chars().next())
            .map_or(0, char::len_utf8)
    }
}
