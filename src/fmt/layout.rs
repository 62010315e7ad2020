//! The canonical layout: a printer from the tree (and the attached comments)
//! to text. `docs/fmt.md` states the rules for users.
//!
//! Rendering functions return [`Lines`]: the first line is a fragment that
//! continues the current line (the caller has already written `key = `), the
//! others are whole lines with their indentation. Whether something fits on
//! one line is judged from the column where it starts, before the `=` of
//! neighbouring fields are aligned: alignment is decided last and never
//! changes a line break, so the result depends only on the tree.

use super::comments::{self, Attached, Comment, OwnLine};
use super::literal;
use super::{INDENT, MAX_INLINE_ENTRIES, MAX_WIDTH};
use crate::syntax::ast::{Block, Decl, Entry, Expr, File, Item, Key, StrLit};

type Lines = Vec<String>;

pub(super) struct Printer<'a> {
    source: &'a str,
    attached: &'a Attached,
    /// Where every comment starts, sorted: a list or block that holds a
    /// comment is never written on one line.
    comment_starts: Vec<usize>,
}

/// A list, or the arguments of a call.
struct Seq<'e> {
    /// `[` or `name(`.
    open: String,
    close: &'static str,
    /// The offset of the opening bracket, which names the list's comments.
    key: usize,
    items: &'e [Expr],
}

/// One line of a list or block before alignment.
enum Row {
    Blank,
    /// A comment on its own line, indented.
    Comment(String),
    Node {
        lines: Lines,
        /// For `key = value` on one line: where the key ends (bytes) and its
        /// width (characters), to align the `=`.
        key: Option<(usize, usize)>,
        trailing: Option<String>,
    },
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// Writes `head` in front of the first line, at `indent`.
fn prefixed(indent: usize, head: &str, mut lines: Lines) -> Lines {
    if let Some(first) = lines.first_mut() {
        *first = format!("{}{head}{first}", spaces(indent));
    }
    lines
}

fn push_last(lines: &mut Lines, tail: &str) {
    if let Some(last) = lines.last_mut() {
        last.push_str(tail);
    }
}

fn is_block(e: &Expr) -> bool {
    match e {
        Expr::Map(_) => true,
        Expr::By { source, .. } => is_block(source),
        _ => false,
    }
}

fn contains_block(e: &Expr) -> bool {
    match e {
        Expr::Map(_) => true,
        Expr::List { items, .. } => items.iter().any(contains_block),
        Expr::Call { args, .. } => args.iter().any(contains_block),
        Expr::By { source, .. } => contains_block(source),
        _ => false,
    }
}

fn key_text(key: &Key) -> String {
    if key.quoted {
        literal::quote_text(&key.name)
    } else {
        key.name.clone()
    }
}

impl<'a> Printer<'a> {
    pub(super) fn new(
        source: &'a str,
        attached: &'a Attached,
        comments: &[Comment],
    ) -> Printer<'a> {
        Printer {
            source,
            attached,
            comment_starts: comments.iter().map(|c| c.start).collect(),
        }
    }

    /// Whether a comment starts in `start..end`.
    fn has_comment(&self, start: usize, end: usize) -> bool {
        let i = self.comment_starts.partition_point(|&c| c < start);
        self.comment_starts.get(i).is_some_and(|&c| c < end)
    }

    /// The text between the quotes of a `"""` string, if `s` is one.
    fn triple_inner(&self, s: &StrLit) -> Option<&'a str> {
        let text = self
            .source
            .get(s.span.start as usize..s.span.end as usize)?;
        if text.len() >= 6 && text.starts_with("\"\"\"") && text.ends_with("\"\"\"") {
            text.get(3..text.len() - 3)
        } else {
            None
        }
    }

    // ------------------------------------------------------------ one line

    /// The one-line form of an expression, if it may have one: no comment
    /// inside, no `"""` string, lists and calls without blocks, blocks as
    /// [`Printer::flat_block`] allows.
    fn flat(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Str(s) => match self.triple_inner(s) {
                Some(_) => None,
                None => Some(literal::quote(&s.parts)),
            },
            Expr::Number { text, .. } | Expr::Quantity { text, .. } => Some(text.clone()),
            Expr::Bool { value, .. } => Some(value.to_string()),
            Expr::Ident(i) => Some(i.name.clone()),
            Expr::List { items, span } => {
                if self.has_comment(span.start as usize, span.end as usize)
                    || items.iter().any(is_block)
                {
                    return None;
                }
                Some(format!("[{}]", self.flat_all(items)?))
            }
            Expr::Call { name, args, span } => {
                // Comments before the `(` are printed above the line, not
                // inside the call: only those between the parentheses count.
                let paren = comments::call_paren(self.source, name.span.end as usize);
                if self.has_comment(paren, span.end as usize) || args.iter().any(is_block) {
                    return None;
                }
                Some(format!("{}({})", name.name, self.flat_all(args)?))
            }
            Expr::Map(b) => self.flat_block(b),
            Expr::By {
                source, strategy, ..
            } => Some(format!("{} by {}", self.flat(source)?, strategy.name)),
        }
    }

    fn flat_all(&self, items: &[Expr]) -> Option<String> {
        let parts: Option<Vec<String>> = items.iter().map(|i| self.flat(i)).collect();
        Some(parts?.join(", "))
    }

    /// The one-line form of a block: `{}`, or `{ a = 1, b = 2 }` for at most
    /// [`MAX_INLINE_ENTRIES`] fields whose values hold no block, and no
    /// comment anywhere inside.
    fn flat_block(&self, b: &Block) -> Option<String> {
        if self.has_comment(b.span.start as usize, b.span.end as usize)
            || b.entries.len() > MAX_INLINE_ENTRIES
        {
            return None;
        }
        if b.entries.is_empty() {
            return Some("{}".to_string());
        }
        let mut fields = Vec::new();
        for entry in &b.entries {
            let Entry::Field(f) = entry else {
                return None;
            };
            if contains_block(&f.value) {
                return None;
            }
            fields.push(format!("{} = {}", key_text(&f.key), self.flat(&f.value)?));
        }
        Some(format!("{{ {} }}", fields.join(", ")))
    }

    /// `flat` written from column `col`, followed by `suffix` characters,
    /// stays within [`MAX_WIDTH`].
    fn fits(col: usize, flat: &str, suffix: usize) -> bool {
        col + width(flat) + suffix <= MAX_WIDTH
    }

    // ------------------------------------------------------------ values

    /// An expression starting at column `col` of a line indented by `indent`,
    /// with `suffix` characters to follow its last line.
    fn expr(&self, e: &Expr, indent: usize, col: usize, suffix: usize) -> Lines {
        match e {
            Expr::List { items, span } => {
                let seq = Seq {
                    open: "[".to_string(),
                    close: "]",
                    key: span.start as usize,
                    items,
                };
                self.seq(e, seq, indent, col, suffix)
            }
            Expr::Call { name, args, .. } => {
                let seq = Seq {
                    open: format!("{}(", name.name),
                    close: ")",
                    key: comments::call_paren(self.source, name.span.end as usize),
                    items: args,
                };
                self.seq(e, seq, indent, col, suffix)
            }
            Expr::Map(b) => self.block(b, indent, col, suffix, false),
            Expr::By {
                source, strategy, ..
            } => {
                let tail = format!(" by {}", strategy.name);
                let mut lines = self.expr(source, indent, col, suffix + width(&tail));
                push_last(&mut lines, &tail);
                lines
            }
            Expr::Str(s) => self.string(s, indent),
            Expr::Number { .. } | Expr::Quantity { .. } | Expr::Bool { .. } | Expr::Ident(_) => {
                vec![self.flat(e).unwrap_or_default()]
            }
        }
    }

    fn string(&self, s: &StrLit, indent: usize) -> Lines {
        match self.triple_inner(s) {
            None => vec![literal::quote(&s.parts)],
            Some(inner) => literal::triple_lines(inner, indent).unwrap_or_else(|| {
                // Kept exactly as written: the value cannot change.
                let raw = self
                    .source
                    .get(s.span.start as usize..s.span.end as usize)
                    .unwrap_or_default();
                raw.split('\n').map(str::to_string).collect()
            }),
        }
    }

    /// A list or a call's arguments: on one line if it may and fits, else
    /// one item per line, each followed by a comma.
    fn seq(&self, whole: &Expr, seq: Seq<'_>, indent: usize, col: usize, suffix: usize) -> Lines {
        if let Some(flat) = self.flat(whole)
            && (seq.items.is_empty() || Self::fits(col, &flat, suffix))
        {
            return vec![flat];
        }
        let inner = indent + INDENT;
        let mut rows = Vec::new();
        for item in seq.items {
            let mut lines = self.expr(item, inner, inner, 1);
            push_last(&mut lines, ",");
            let lines = prefixed(inner, "", lines);
            self.push_node(&mut rows, item.span().start as usize, inner, lines, None, 0);
        }
        self.push_dangling(&mut rows, seq.key, inner);
        self.bracketed(&seq.open, seq.key, rows, seq.close, indent)
    }

    /// `open` (with the list's header comment), the rows, `close`.
    fn bracketed(
        &self,
        open: &str,
        key: usize,
        rows: Vec<Row>,
        close: &str,
        indent: usize,
    ) -> Lines {
        let mut first = open.to_string();
        if let Some(c) = self.attached.header.get(&key) {
            first.push_str("  ");
            first.push_str(c);
        }
        let mut lines = vec![first];
        lines.extend(finish(rows));
        lines.push(format!("{}{close}", spaces(indent)));
        lines
    }

    /// A block: on one line if [`Printer::flat_block`] allows it and it
    /// fits (never when `always_multi`, unless empty), else one entry per
    /// line.
    fn block(
        &self,
        b: &Block,
        indent: usize,
        col: usize,
        suffix: usize,
        always_multi: bool,
    ) -> Lines {
        if (!always_multi || b.entries.is_empty())
            && let Some(flat) = self.flat_block(b)
            && (b.entries.is_empty() || Self::fits(col, &flat, suffix))
        {
            return vec![flat];
        }
        let inner = indent + INDENT;
        let mut rows = Vec::new();
        for entry in &b.entries {
            let (lines, key) = self.entry(entry, inner);
            self.push_node(&mut rows, entry.span().start as usize, inner, lines, key, 0);
        }
        let key = b.span.start as usize;
        self.push_dangling(&mut rows, key, inner);
        self.bracketed("{", key, rows, "}", indent)
    }

    // ------------------------------------------------------------ entries

    /// An entry of a block, as whole lines at `indent`, and for a one-line
    /// `key = value` where its key ends.
    fn entry(&self, entry: &Entry, indent: usize) -> (Lines, Option<(usize, usize)>) {
        match entry {
            Entry::Field(f) => {
                let key = key_text(&f.key);
                if let Expr::Map(b) = &f.value {
                    // `key { ... }`, the block form.
                    let head = format!("{key} ");
                    let lines = self.block(b, indent, indent + width(&head), 0, false);
                    (prefixed(indent, &head, lines), None)
                } else {
                    let head = format!("{key} = ");
                    let lines = self.expr(&f.value, indent, indent + width(&head), 0);
                    let align = (lines.len() == 1).then(|| (indent + key.len(), width(&key)));
                    (prefixed(indent, &head, lines), align)
                }
            }
            Entry::Param(p) => {
                let mut head = format!("param {}: {}", p.name.name, p.ty.name);
                let lines = match &p.default {
                    None => vec![String::new()],
                    Some(value) => {
                        head.push_str(" = ");
                        self.expr(value, indent, indent + width(&head), 0)
                    }
                };
                (prefixed(indent, &head, lines), None)
            }
            Entry::Stage(d) => (self.decl("stage", d, indent, true), None),
            Entry::Volume(d) => (self.decl("volume", d, indent, false), None),
        }
    }

    fn decl(&self, keyword: &str, d: &Decl, indent: usize, always_multi: bool) -> Lines {
        let head = format!("{keyword} {} ", d.name.name);
        let lines = self.block(&d.body, indent, indent + width(&head), 0, always_multi);
        prefixed(indent, &head, lines)
    }

    // ------------------------------------------------------------ comments

    /// A node with its comments: the leading ones (after skipping `skip` of
    /// them, printed elsewhere), a blank line if the source had one, the
    /// hoisted ones, the node, its trailing comment.
    fn push_node(
        &self,
        rows: &mut Vec<Row>,
        start: usize,
        indent: usize,
        lines: Lines,
        key: Option<(usize, usize)>,
        skip: usize,
    ) {
        if let Some(leading) = self.attached.leading.get(&start) {
            push_comments(rows, leading.iter().skip(skip), indent);
        }
        if self.attached.blank_before.contains(&start) {
            rows.push(Row::Blank);
        }
        for text in self.attached.hoisted.get(&start).into_iter().flatten() {
            rows.push(Row::Comment(format!("{}{text}", spaces(indent))));
        }
        rows.push(Row::Node {
            lines,
            key,
            trailing: self.attached.trailing.get(&start).cloned(),
        });
    }

    fn push_dangling(&self, rows: &mut Vec<Row>, key: usize, indent: usize) {
        if let Some(dangling) = self.attached.dangling.get(&key) {
            push_comments(rows, dangling.iter(), indent);
        }
    }

    // ------------------------------------------------------------ the file

    /// The whole file: imports first, then pipelines and templates in source
    /// order, one blank line between items (imports may stay together).
    pub(super) fn file(&self, file: &File) -> String {
        let start_of = |item: &Item| match item {
            Item::Import(i) => i.span.start as usize,
            Item::Pipeline(d) | Item::Template(d) => d.span.start as usize,
        };
        let is_import = |item: &Item| matches!(item, Item::Import(_));
        let mut rows = Vec::new();
        // The comments above the first item, up to its last blank line, are
        // the file's header: they stay on top even when imports move up.
        let first = file.items.first().map(start_of);
        let mut header_len = 0;
        if let Some(first) = first
            && let Some(leading) = self.attached.leading.get(&first)
        {
            header_len = (1..=leading.len())
                .rev()
                .find(|&i| {
                    leading
                        .get(i)
                        .map_or(self.attached.blank_before.contains(&first), |c| {
                            c.blank_before
                        })
                })
                .unwrap_or(0);
            if header_len > 0 {
                push_comments(&mut rows, leading[..header_len].iter(), 0);
                rows.push(Row::Blank);
            }
        }
        let ordered = file
            .items
            .iter()
            .filter(|i| is_import(i))
            .chain(file.items.iter().filter(|i| !is_import(i)));
        let mut previous: Option<&Item> = None;
        for item in ordered {
            if previous.is_some_and(|p| !(is_import(p) && is_import(item))) {
                rows.push(Row::Blank);
            }
            let lines = match item {
                Item::Import(i) => prefixed(0, "import ", self.string(&i.path, 0)),
                Item::Pipeline(d) => self.decl("pipeline", d, 0, true),
                Item::Template(d) => self.decl("template", d, 0, true),
            };
            let start = start_of(item);
            let skip = if Some(start) == first { header_len } else { 0 };
            self.push_node(&mut rows, start, 0, lines, None, skip);
            previous = Some(item);
        }
        self.push_dangling(&mut rows, comments::FILE, 0);
        let mut out = finish(rows).join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

fn push_comments<'c>(
    rows: &mut Vec<Row>,
    comments: impl Iterator<Item = &'c OwnLine>,
    indent: usize,
) {
    for c in comments {
        if c.blank_before {
            rows.push(Row::Blank);
        }
        rows.push(Row::Comment(format!("{}{}", spaces(indent), c.text)));
    }
}

/// The rows as lines: blank lines never first, last or doubled; in each run
/// of one-line rows not broken by a blank line or a node of several lines,
/// the `=` of `key = value` fields aligned, and the trailing comments aligned
/// two spaces after the longest line that has one.
fn finish(rows: Vec<Row>) -> Lines {
    let mut cleaned: Vec<Row> = Vec::with_capacity(rows.len());
    for row in rows {
        let blank = matches!(row, Row::Blank);
        if blank && matches!(cleaned.last(), None | Some(Row::Blank)) {
            continue;
        }
        cleaned.push(row);
    }
    if matches!(cleaned.last(), Some(Row::Blank)) {
        cleaned.pop();
    }
    let mut out = Vec::new();
    let mut section: Vec<Row> = Vec::new();
    for row in cleaned {
        match row {
            Row::Blank => {
                flush(&mut section, &mut out);
                out.push(String::new());
            }
            Row::Node {
                mut lines,
                trailing,
                ..
            } if lines.len() > 1 => {
                flush(&mut section, &mut out);
                if let Some(c) = trailing {
                    push_last(&mut lines, &format!("  {c}"));
                }
                out.extend(lines);
            }
            row => section.push(row),
        }
    }
    flush(&mut section, &mut out);
    out
}

/// Aligns and writes one section of one-line rows.
fn flush(section: &mut Vec<Row>, out: &mut Lines) {
    let key_width = section
        .iter()
        .filter_map(|r| match r {
            Row::Node {
                key: Some((_, w)), ..
            } => Some(*w),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut lines: Vec<(String, Option<String>)> = Vec::new();
    for row in section.drain(..) {
        match row {
            Row::Comment(text) => lines.push((text, None)),
            Row::Node {
                lines: node,
                key,
                trailing,
            } => {
                let mut line = node.into_iter().next().unwrap_or_default();
                if let Some((at, w)) = key
                    && line.is_char_boundary(at)
                {
                    line.insert_str(at, &spaces(key_width - w));
                }
                lines.push((line, trailing));
            }
            Row::Blank => lines.push((String::new(), None)),
        }
    }
    let column = lines
        .iter()
        .filter(|(_, c)| c.is_some())
        .map(|(l, _)| width(l))
        .max()
        .unwrap_or(0)
        + 2;
    for (mut line, comment) in lines {
        if let Some(c) = comment {
            let pad = column - width(&line);
            line.push_str(&spaces(pad));
            line.push_str(&c);
        }
        out.push(line);
    }
}
