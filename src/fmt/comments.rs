//! Comments. The grammar skips them (`COMMENT` is a silent rule), so they are
//! found in the text, outside string literals, and each is hung on a node:
//!
//! - a comment on its own line belongs to the next node of its list (an item
//!   of the file, an entry of a block, an item of a list, an argument of a
//!   call) and is printed above it; after the last node, it stays at the end
//!   of the list, above the closing bracket ("dangling");
//! - a comment after code on the same line stays at the end of the line of the
//!   node it follows ("trailing"), or of the line of the opening bracket when
//!   no node precedes it ("header": `stage s {  # ...`);
//! - a comment inside a node but outside any of its lists (`stage # x` before
//!   the stage's name) moves above that node ("hoisted"): the layout has no
//!   place for it there.
//!
//! The blank lines of the source are kept (at most one) in front of nodes and
//! comments, never right after an opening bracket.
//!
//! Nodes and lists are identified by byte offsets in the source: a node by
//! where it starts, a list by the offset of its opening bracket. No two nodes
//! of the tree start at the same offset, and no two lists open at one.

use crate::source::Span;
use crate::syntax::ast::{Block, Entry, Expr, File, Item, StrLit};
use std::collections::{BTreeMap, BTreeSet};

/// The key of the file's own list of items, which has no bracket.
pub(super) const FILE: usize = usize::MAX;

/// A `#` comment in the source.
#[derive(Clone, Debug)]
pub(super) struct Comment {
    pub start: usize,
    pub end: usize,
    /// From the `#` to the end of the line, trailing whitespace removed.
    pub text: String,
    /// Only whitespace precedes it on its line.
    pub own_line: bool,
}

/// A comment printed on a line of its own.
#[derive(Clone, Debug)]
pub(super) struct OwnLine {
    pub text: String,
    pub blank_before: bool,
}

/// Where every comment goes, and where the blank lines are.
#[derive(Debug, Default)]
pub(super) struct Attached {
    /// Own-line comments above a node, by the node's start.
    pub leading: BTreeMap<usize, Vec<OwnLine>>,
    /// Comments from inside a node that the layout prints above it.
    pub hoisted: BTreeMap<usize, Vec<String>>,
    /// The comment at the end of a node's last line, by the node's start.
    pub trailing: BTreeMap<usize, String>,
    /// The comment after a list's opening bracket, by the bracket's offset.
    pub header: BTreeMap<usize, String>,
    /// Comments after a list's last node, by the bracket's offset.
    pub dangling: BTreeMap<usize, Vec<OwnLine>>,
    /// Nodes the source separated from what came before by a blank line.
    pub blank_before: BTreeSet<usize>,
}

/// Every comment of a file that parsed cleanly, in source order. String
/// literals are skipped by their spans in the tree, so that a `#` inside a
/// string, however escaped, is never mistaken for a comment.
pub(super) fn scan(source: &str, file: &File) -> Vec<Comment> {
    let mut strings = Vec::new();
    for item in &file.items {
        match item {
            Item::Import(i) => strings.push(span_of(&i.path)),
            Item::Pipeline(d) | Item::Template(d) => block_strings(&d.body, &mut strings),
        }
    }
    strings.sort_unstable();
    let bytes = source.as_bytes();
    let mut next_string = strings.into_iter().peekable();
    let mut comments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while next_string.next_if(|&(start, _)| start < i).is_some() {}
        if let Some((_, end)) = next_string.next_if(|&(start, _)| start == i) {
            i = end;
            continue;
        }
        if bytes[i] == b'#' {
            // `#` and `\n` are ASCII: both offsets are character boundaries.
            let end = source[i..].find('\n').map_or(source.len(), |n| i + n);
            let line_start = source[..i].rfind('\n').map_or(0, |n| n + 1);
            comments.push(Comment {
                start: i,
                end,
                text: source[i..end].trim_end().to_string(),
                own_line: source[line_start..i].trim().is_empty(),
            });
            i = end;
        } else {
            i += 1;
        }
    }
    comments
}

fn span_of(s: &StrLit) -> (usize, usize) {
    (s.span.start as usize, s.span.end as usize)
}

fn block_strings(b: &Block, out: &mut Vec<(usize, usize)>) {
    for entry in &b.entries {
        match entry {
            Entry::Stage(d) | Entry::Volume(d) => block_strings(&d.body, out),
            Entry::Param(p) => {
                if let Some(e) = &p.default {
                    expr_strings(e, out);
                }
            }
            Entry::Field(f) => {
                if f.key.quoted {
                    out.push((f.key.span.start as usize, f.key.span.end as usize));
                }
                expr_strings(&f.value, out);
            }
        }
    }
}

fn expr_strings(e: &Expr, out: &mut Vec<(usize, usize)>) {
    match e {
        Expr::Str(s) => out.push(span_of(s)),
        Expr::List { items, .. } => items.iter().for_each(|i| expr_strings(i, out)),
        Expr::Call { args, .. } => args.iter().for_each(|a| expr_strings(a, out)),
        Expr::Map(b) => block_strings(b, out),
        Expr::By { source, .. } => expr_strings(source, out),
        Expr::Number { .. } | Expr::Quantity { .. } | Expr::Bool { .. } | Expr::Ident(_) => {}
    }
}

/// The offset of the `(` of a call whose name ends at `name_end`: whitespace
/// and comments may stand between the two.
pub(super) fn call_paren(source: &str, name_end: usize) -> usize {
    let mut i = name_end;
    loop {
        let rest = source.get(i..).unwrap_or("");
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with('#') {
            i += trimmed.find('\n').unwrap_or(trimmed.len());
        } else {
            return if trimmed.starts_with('(') {
                i
            } else {
                name_end
            };
        }
    }
}

/// A node of the tree that the layout may put on a line of its own.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Entry(&'a Entry),
    Expr(&'a Expr),
}

/// A list of nodes between brackets (or the whole file).
struct List<'a> {
    key: usize,
    /// The first offset inside the brackets.
    inner_start: usize,
    /// The offset of the closing bracket.
    close: usize,
    nodes: Vec<Node<'a>>,
}

impl<'a> Node<'a> {
    fn range(self) -> (usize, usize) {
        let span = match self {
            Node::Item(Item::Import(i)) => i.span,
            Node::Item(Item::Pipeline(d) | Item::Template(d)) => d.span,
            // The span of a field or a param runs past its value over the
            // whitespace and comments that follow (pest skips them while
            // looking for an optional `by`): end at the value.
            Node::Entry(Entry::Field(f)) => Span {
                end: f.value.span().end,
                ..f.span
            },
            Node::Entry(Entry::Param(p)) => {
                let last = p.default.as_ref().map_or(p.ty.span, Expr::span);
                Span {
                    end: last.end,
                    ..p.span
                }
            }
            Node::Entry(e) => e.span(),
            Node::Expr(e) => e.span(),
        };
        (span.start as usize, span.end as usize)
    }

    /// The lists directly inside this node.
    fn lists(self, source: &str) -> Vec<List<'a>> {
        let mut out = Vec::new();
        match self {
            Node::Item(Item::Import(_)) => {}
            Node::Item(Item::Pipeline(d) | Item::Template(d)) => out.push(block_list(&d.body)),
            Node::Entry(Entry::Stage(d) | Entry::Volume(d)) => out.push(block_list(&d.body)),
            Node::Entry(Entry::Param(p)) => {
                if let Some(e) = &p.default {
                    expr_lists(source, e, &mut out);
                }
            }
            Node::Entry(Entry::Field(f)) => expr_lists(source, &f.value, &mut out),
            Node::Expr(e) => expr_lists(source, e, &mut out),
        }
        out
    }
}

fn block_list(b: &Block) -> List<'_> {
    let start = b.span.start as usize;
    List {
        key: start,
        inner_start: start + 1,
        close: (b.span.end as usize).saturating_sub(1),
        nodes: b.entries.iter().map(Node::Entry).collect(),
    }
}

fn expr_lists<'a>(source: &str, e: &'a Expr, out: &mut Vec<List<'a>>) {
    match e {
        Expr::List { items, span } => out.push(List {
            key: span.start as usize,
            inner_start: span.start as usize + 1,
            close: (span.end as usize).saturating_sub(1),
            nodes: items.iter().map(Node::Expr).collect(),
        }),
        Expr::Call { name, args, span } => {
            let paren = call_paren(source, name.span.end as usize);
            out.push(List {
                key: paren,
                inner_start: paren + 1,
                close: (span.end as usize).saturating_sub(1),
                nodes: args.iter().map(Node::Expr).collect(),
            });
        }
        Expr::Map(b) => out.push(block_list(b)),
        Expr::By { source: inner, .. } => expr_lists(source, inner, out),
        Expr::Str(_) | Expr::Number { .. } | Expr::Quantity { .. } | Expr::Bool { .. } => {}
        Expr::Ident(_) => {}
    }
}

/// Hangs every comment on its node; see the module documentation.
pub(super) fn attach(source: &str, file: &File, comments: &[Comment]) -> Attached {
    let mut line_starts = vec![0];
    line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
    let mut attacher = Attacher {
        source,
        comments,
        line_starts,
        out: Attached::default(),
    };
    attacher.list(&List {
        key: FILE,
        inner_start: 0,
        close: source.len(),
        nodes: file.items.iter().map(Node::Item).collect(),
    });
    attacher.out
}

struct Attacher<'a> {
    source: &'a str,
    comments: &'a [Comment],
    line_starts: Vec<usize>,
    out: Attached,
}

/// Where the walk over one list stands.
struct Cursor {
    /// Nothing printed in the list yet: no blank line may come first.
    first: bool,
    /// The end of the last thing seen (node or comment), for blank lines.
    prev_end: usize,
    /// The last node seen: its start and end.
    prev_node: Option<(usize, usize)>,
    /// Own-line comments waiting for the next node.
    pending: Vec<OwnLine>,
}

impl<'a> Attacher<'a> {
    /// The comments that start in `from..to`.
    fn comments_in(&self, from: usize, to: usize) -> &'a [Comment] {
        let all = self.comments;
        let lo = all.partition_point(|c| c.start < from);
        let hi = all.partition_point(|c| c.start < to);
        &all[lo..hi.max(lo)]
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    /// Whether a line holding only whitespace lies between `from` and `to`
    /// (the text between two tokens: whitespace and commas).
    fn blank_between(&self, from: usize, to: usize) -> bool {
        let Some(text) = self.source.get(from..to) else {
            return false;
        };
        let pieces: Vec<&str> = text.split('\n').collect();
        pieces.len() > 2
            && pieces[1..pieces.len() - 1]
                .iter()
                .any(|p| p.trim().is_empty())
    }

    fn list(&mut self, list: &List<'_>) {
        let mut cursor = Cursor {
            first: true,
            prev_end: list.inner_start,
            prev_node: None,
            pending: Vec::new(),
        };
        let mut gap_start = list.inner_start;
        for &node in &list.nodes {
            let (start, end) = node.range();
            self.gap(list, gap_start, start, &mut cursor);
            if !cursor.pending.is_empty() {
                self.out
                    .leading
                    .insert(start, std::mem::take(&mut cursor.pending));
            }
            if !cursor.first && self.blank_between(cursor.prev_end, start) {
                self.out.blank_before.insert(start);
            }
            cursor.first = false;
            self.node(node);
            cursor.prev_end = end;
            cursor.prev_node = Some((start, end));
            gap_start = end;
        }
        self.gap(list, gap_start, list.close, &mut cursor);
        if !cursor.pending.is_empty() {
            self.out.dangling.insert(list.key, cursor.pending);
        }
    }

    /// The comments between two nodes of a list (or its brackets).
    fn gap(&mut self, list: &List<'_>, from: usize, to: usize, cursor: &mut Cursor) {
        for comment in self.comments_in(from, to) {
            let line = self.line_of(comment.start);
            if !comment.own_line {
                if let Some((start, end)) = cursor.prev_node
                    && self.line_of(end) == line
                {
                    self.out.trailing.insert(start, comment.text.clone());
                    cursor.prev_end = comment.end;
                    continue;
                }
                if cursor.prev_node.is_none()
                    && cursor.pending.is_empty()
                    && list.key != FILE
                    && self.line_of(list.key) == line
                {
                    self.out.header.insert(list.key, comment.text.clone());
                    cursor.prev_end = comment.end;
                    continue;
                }
            }
            let blank_before = !cursor.first && self.blank_between(cursor.prev_end, comment.start);
            cursor.pending.push(OwnLine {
                text: comment.text.clone(),
                blank_before,
            });
            cursor.first = false;
            cursor.prev_end = comment.end;
        }
    }

    fn node(&mut self, node: Node<'_>) {
        let (start, end) = node.range();
        let lists = node.lists(self.source);
        let hoisted: Vec<String> = self
            .comments_in(start, end)
            .iter()
            .filter(|c| {
                !lists
                    .iter()
                    .any(|l| l.inner_start <= c.start && c.start < l.close)
            })
            .map(|c| c.text.clone())
            .collect();
        if !hoisted.is_empty() {
            self.out.hoisted.insert(start, hoisted);
        }
        for list in &lists {
            self.list(list);
        }
    }
}
