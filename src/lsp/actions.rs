//! Code actions: the fixes the checker's help lines describe, as edits
//! (every "did you mean", a duplicate field removed, a resource moved into
//! `resources`, a missing import or param declared, `$${` for a shell
//! variable, quotes dropped from stage names), and formatting (`vcp fmt`).

use super::analysis::Analysis;
use super::text::LineIndex;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::ast::{self, Block, Entry, Expr, Field, Item};
use lsp_types::{Range, TextEdit};

/// One fix: a title and its edits (byte ranges of the file, new text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fix {
    pub(crate) title: String,
    pub(crate) edits: Vec<(usize, usize, String)>,
    /// The diagnostic it fixes.
    pub(crate) diagnostic: Diagnostic,
    pub(crate) preferred: bool,
}

/// The fixes of the diagnostics of `file` that touch `start..end`.
pub(crate) fn fixes(analysis: &Analysis, file: FileId, start: usize, end: usize) -> Vec<Fix> {
    let text = &analysis.file(file).text;
    let Some(tree) = analysis.tree(file) else {
        return Vec::new();
    };
    super::diagnostics::at(analysis, file, start, end)
        .filter_map(|d| fix(d, text, tree))
        .collect()
}

fn fix(d: &Diagnostic, text: &str, tree: &ast::File) -> Option<Fix> {
    let span = d.span?;
    let (s, e) = (span.start as usize, span.end as usize);
    let written = text.get(s..e)?;
    let help = d.help.as_deref()?;
    let make = |title: String, edits: Vec<(usize, usize, String)>, preferred: bool| Fix {
        title,
        edits,
        diagnostic: d.clone(),
        preferred,
    };
    if let Some(meant) = between(help, "did you mean `", "`?") {
        if meant.starts_with("--set ") {
            return None;
        }
        let new = if written.starts_with("${") && written.ends_with('}') {
            format!("${{{meant}}}")
        } else if written.starts_with('"') && !meant.starts_with('"') {
            format!("\"{meant}\"")
        } else {
            meant.to_string()
        };
        return Some(make(
            format!("Replace with `{meant}`"),
            vec![(s, e, new)],
            true,
        ));
    }
    if d.code == Code::DuplicateField && help.starts_with("keep one of them") {
        let field = field_with_key(tree, span)?;
        return Some(make(
            format!("Remove the second `{}`", field.key.name),
            vec![delete_line(text, field.span)],
            true,
        ));
    }
    if let Some(inside) = between(help, "belongs in `", " {") {
        let (block, field) = block_with_key(tree, span)?;
        return Some(make(
            format!("Move `{}` into `{inside}`", field.key.name),
            move_into(text, block, field, inside),
            true,
        ));
    }
    if let Some(import) = between(help, "import it first: `", "`") {
        return Some(make(
            format!("Add `{import}`"),
            vec![(0, 0, format!("{import}\n"))],
            true,
        ));
    }
    if let Some(param) = between(help, "declare it in the pipeline: `", "`") {
        let open = pipeline_open(tree, span)?;
        let indent = "  ";
        return Some(make(
            format!("Declare `{param}`"),
            vec![(open, open, format!("\n{indent}{param}"))],
            false,
        ));
    }
    if help.contains("`$${") && written.starts_with("${") {
        return Some(make(
            format!("Write `${written}` for the shell variable"),
            vec![(s, s, "$".to_string())],
            true,
        ));
    }
    if help.starts_with("write `after = [") && written.starts_with('"') {
        let bare = written.trim_matches('"').to_string();
        return Some(make(
            "Remove the quotes".to_string(),
            vec![(s, e, bare)],
            true,
        ));
    }
    None
}

/// The text between `open` and the next `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// Removes a field, with its line when nothing else is on it.
fn delete_line(text: &str, span: Span) -> (usize, usize, String) {
    let (mut s, mut e) = (span.start as usize, span.end as usize);
    let line_start = text[..s].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[e..].find('\n').map_or(text.len(), |i| e + i);
    if text[line_start..s].trim().is_empty()
        && text[e..line_end].trim_matches([' ', ',']).trim().is_empty()
    {
        s = line_start;
        e = (line_end + 1).min(text.len());
    } else if text[e..].starts_with(',') {
        e += 1;
    }
    (s, e, String::new())
}

fn move_into(
    text: &str,
    block: &Block,
    field: &Field,
    inside: &str,
) -> Vec<(usize, usize, String)> {
    let field_text = &text[field.span.start as usize..field.span.end as usize];
    let target = block.entries.iter().find_map(|e| match e {
        Entry::Field(f) if f.key.name == inside => match &f.value {
            Expr::Map(b) => Some(b),
            _ => None,
        },
        _ => None,
    });
    match target {
        Some(b) => {
            let insert = match b.entries.last() {
                Some(last) => (last.span().end as usize, format!(", {field_text}")),
                None => (b.span.start as usize + 1, format!(" {field_text} ")),
            };
            vec![
                delete_line(text, field.span),
                (insert.0, insert.0, insert.1),
            ]
        }
        None => vec![(
            field.span.start as usize,
            field.span.end as usize,
            format!("{inside} {{ {field_text} }}"),
        )],
    }
}

/// The field whose key is `key`, anywhere in the tree.
fn field_with_key(tree: &ast::File, key: Span) -> Option<&Field> {
    block_with_key(tree, key).map(|(_, f)| f)
}

/// The field whose key is `key` and the block it is in.
fn block_with_key(tree: &ast::File, key: Span) -> Option<(&Block, &Field)> {
    fn search(b: &Block, key: Span) -> Option<(&Block, &Field)> {
        for e in &b.entries {
            let found = match e {
                Entry::Field(f) if f.key.span == key => return Some((b, f)),
                Entry::Field(f) => match &f.value {
                    Expr::Map(inner) => search(inner, key),
                    _ => None,
                },
                Entry::Stage(d) | Entry::Volume(d) => search(&d.body, key),
                Entry::Param(_) => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
    tree.items.iter().find_map(|item| match item {
        Item::Pipeline(d) | Item::Template(d) => search(&d.body, key),
        Item::Import(_) => None,
    })
}

/// The offset after the `{` of the pipeline that contains `span`.
fn pipeline_open(tree: &ast::File, span: Span) -> Option<usize> {
    tree.items.iter().find_map(|item| match item {
        Item::Pipeline(d) if d.span.start <= span.start && span.end <= d.span.end => {
            Some(d.body.span.start as usize + 1)
        }
        _ => None,
    })
}

/// `vcp fmt` of a document as one edit, none when it is formatted, or why
/// it cannot be formatted.
pub(crate) fn format(text: &str) -> Result<Vec<TextEdit>, String> {
    match crate::fmt::format(text) {
        Ok(out) if out == text => Ok(Vec::new()),
        Ok(out) => {
            let index = LineIndex::new(text);
            Ok(vec![TextEdit::new(
                Range::new(index.position(0), index.position(text.len())),
                out,
            )])
        }
        Err(diags) => Err(diags.first().map_or_else(
            || "the file cannot be formatted".to_string(),
            |d| format!("not formatted: the file has a syntax error: {}", d.message),
        )),
    }
}
