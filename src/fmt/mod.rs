//! `vcp fmt`: one canonical layout for `.vcp` files, comments kept.
//!
//! The formatter is a pure function from text to text, like the rest of the
//! core: no IO (the CLI in `cli/fmt.rs` reads and writes the files). It works
//! in four steps:
//!
//! 1. parse with [`crate::syntax::parse`]; a file with any syntax diagnostic
//!    is returned as an error and never formatted;
//! 2. find the comments, which the grammar skips, in the text (everything from
//!    a `#` outside a string literal to the end of its line) and hang each one
//!    on a node of the tree (`comments.rs`);
//! 3. print the tree in the canonical layout (`layout.rs`), with strings
//!    re-quoted from their decoded value (`literal.rs`);
//! 4. verify: the output must parse cleanly into the same tree (spans aside,
//!    imports first) and hold the same comments, or the file is refused rather
//!    than changed in meaning.
//!
//! The layout depends only on the tree, the comments and where the source had
//! blank lines, never on how the source was indented or broken into lines, so
//! that `format(format(x)) == format(x)`. The rules are documented for users
//! in `docs/fmt.md`; keep the two in step.

mod comments;
mod layout;
mod literal;

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::{self, ast};

/// Lines longer than this are broken where the layout allows it.
pub const MAX_WIDTH: usize = 100;

/// Spaces per nesting level.
pub const INDENT: usize = 2;

/// A block with more entries than this is always written one entry per line.
pub const MAX_INLINE_ENTRIES: usize = 4;

/// Formats one `.vcp` file. Returns the syntax diagnostics (file 0) when the
/// text does not parse cleanly; the text is never formatted then.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = syntax::parse(FileId(0), source);
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics);
    }
    let found = comments::scan(source, &parsed.file);
    let attached = comments::attach(source, &parsed.file, &found);
    let output = layout::Printer::new(source, &attached, &found).file(&parsed.file);
    verify(&parsed.file, &found, &output)?;
    Ok(output)
}

/// The safety net under the layout rules: the output must mean what the
/// input meant. A failure here is a formatter bug; the file is refused (and
/// left as it is by the CLI) instead of being rewritten wrongly.
fn verify(
    before: &ast::File,
    comments_before: &[comments::Comment],
    output: &str,
) -> Result<(), Vec<Diagnostic>> {
    let reparsed = syntax::parse(FileId(0), output);
    let problem = if !reparsed.diagnostics.is_empty() {
        Some("its output does not parse")
    } else if normalized(before) != erase::file(&reparsed.file) {
        Some("its output does not mean the same as the input")
    } else {
        let mut a: Vec<&str> = comments_before.iter().map(|c| c.text.as_str()).collect();
        let found = comments::scan(output, &reparsed.file);
        let mut b: Vec<&str> = found.iter().map(|c| c.text.as_str()).collect();
        a.sort_unstable();
        b.sort_unstable();
        (a != b).then_some("its output does not keep every comment")
    };
    match problem {
        None => Ok(()),
        Some(what) => Err(vec![
            Diagnostic::error(
                Code::Syntax,
                Span::new(FileId(0), 0, 0),
                format!("vcp fmt cannot format this file safely: {what}"),
            )
            .with_label("the file was left unchanged")
            .with_help("this is a bug in vcp fmt; please report it with this file"),
        ]),
    }
}

/// The tree the formatted file must have: the input's, imports first (the
/// one reordering the layout makes), without spans.
fn normalized(file: &ast::File) -> ast::File {
    let (imports, rest): (Vec<_>, Vec<_>) = file
        .items
        .iter()
        .cloned()
        .partition(|i| matches!(i, ast::Item::Import(_)));
    erase::file(&ast::File {
        items: imports.into_iter().chain(rest).collect(),
    })
}

/// Copies of a tree with every span zeroed, so that two trees compare by
/// meaning only.
mod erase {
    use crate::source::Span;
    use crate::syntax::ast::*;

    pub(super) fn file(file: &File) -> File {
        let mut file = file.clone();
        for item in &mut file.items {
            match item {
                Item::Import(i) => {
                    i.span = Span::default();
                    string(&mut i.path);
                }
                Item::Pipeline(d) | Item::Template(d) => decl(d),
            }
        }
        file
    }

    fn decl(d: &mut Decl) {
        d.span = Span::default();
        d.name.span = Span::default();
        block(&mut d.body);
    }

    fn block(b: &mut Block) {
        b.span = Span::default();
        for entry in &mut b.entries {
            match entry {
                Entry::Stage(d) | Entry::Volume(d) => decl(d),
                Entry::Param(p) => {
                    p.span = Span::default();
                    p.name.span = Span::default();
                    p.ty.span = Span::default();
                    if let Some(e) = &mut p.default {
                        expr(e);
                    }
                }
                Entry::Field(f) => {
                    f.span = Span::default();
                    f.key.span = Span::default();
                    expr(&mut f.value);
                }
            }
        }
    }

    fn expr(e: &mut Expr) {
        match e {
            Expr::Str(s) => string(s),
            Expr::Map(b) => block(b),
            Expr::Ident(i) => i.span = Span::default(),
            Expr::Number { span, .. } | Expr::Quantity { span, .. } | Expr::Bool { span, .. } => {
                *span = Span::default();
            }
            Expr::List { items, span } => {
                *span = Span::default();
                items.iter_mut().for_each(expr);
            }
            Expr::Call { name, args, span } => {
                *span = Span::default();
                name.span = Span::default();
                args.iter_mut().for_each(expr);
            }
            Expr::By {
                source,
                strategy,
                span,
            } => {
                *span = Span::default();
                strategy.span = Span::default();
                expr(source);
            }
        }
    }

    fn string(s: &mut StrLit) {
        s.span = Span::default();
        for part in &mut s.parts {
            if let StrPart::Interp(i) = part {
                i.span = Span::default();
            }
        }
    }
}
