//! Questions about syntax trees: what is at an offset (a field key in a
//! block of a known kind, a strategy, a function), the params of every
//! pipeline, a template's fields merged through its `use` chain.

use super::analysis::Analysis;
use crate::check::fields::{BlockKind, ValueKind};
use crate::syntax::ast::{self, Block, Entry, Expr, Ident, Item, Key, Param};
use std::collections::BTreeSet;

pub(crate) enum Hit<'a> {
    /// A field key of a block of this kind.
    Key(BlockKind, &'a Key),
    /// The strategy after `by`.
    Strategy(&'a Ident),
    /// The name of a call.
    Function(&'a Ident),
}

fn covers(span: crate::source::Span, offset: usize) -> bool {
    span.start as usize <= offset && offset <= span.end as usize
}

/// What is at `offset`.
pub(crate) fn at(file: &ast::File, offset: usize) -> Option<Hit<'_>> {
    file.items.iter().find_map(|item| match item {
        Item::Pipeline(d) if covers(d.span, offset) => block(&d.body, BlockKind::Pipeline, offset),
        Item::Template(d) if covers(d.span, offset) => block(&d.body, BlockKind::Stage, offset),
        _ => None,
    })
}

fn block(b: &Block, kind: BlockKind, offset: usize) -> Option<Hit<'_>> {
    for entry in &b.entries {
        if !covers(entry.span(), offset) {
            continue;
        }
        return match entry {
            Entry::Stage(d) => block(&d.body, BlockKind::Stage, offset),
            Entry::Volume(d) => block(&d.body, BlockKind::Volume, offset),
            Entry::Param(p) => p.default.as_ref().and_then(|e| expr(e, offset)),
            Entry::Field(f) => {
                if covers(f.key.span, offset) {
                    return kind
                        .field(&f.key.name)
                        .is_some()
                        .then_some(Hit::Key(kind, &f.key));
                }
                match kind.field(&f.key.name).map(|s| s.kind) {
                    Some(ValueKind::Block(inner)) => match &f.value {
                        Expr::Map(b) => block(b, inner, offset),
                        other => expr(other, offset),
                    },
                    Some(ValueKind::List(inner)) => match &f.value {
                        Expr::Map(b) => block(b, inner, offset),
                        Expr::List { items, .. } => items.iter().find_map(|i| match i {
                            Expr::Map(b) if covers(b.span, offset) => block(b, inner, offset),
                            _ => None,
                        }),
                        other => expr(other, offset),
                    },
                    _ => expr(&f.value, offset),
                }
            }
        };
    }
    None
}

fn expr(e: &Expr, offset: usize) -> Option<Hit<'_>> {
    if !covers(e.span(), offset) {
        return None;
    }
    match e {
        Expr::By {
            source, strategy, ..
        } => {
            if covers(strategy.span, offset) {
                Some(Hit::Strategy(strategy))
            } else {
                expr(source, offset)
            }
        }
        Expr::Call { name, args, .. } => {
            if covers(name.span, offset) {
                Some(Hit::Function(name))
            } else {
                args.iter().find_map(|a| expr(a, offset))
            }
        }
        Expr::List { items, .. } => items.iter().find_map(|i| expr(i, offset)),
        Expr::Map(b) => b.entries.iter().find_map(|entry| match entry {
            Entry::Field(f) => expr(&f.value, offset),
            _ => None,
        }),
        _ => None,
    }
}

/// Every param of every pipeline of a check, with its pipeline's name.
pub(crate) fn param_decls(analysis: &Analysis) -> Vec<(String, &Param)> {
    let mut out = Vec::new();
    for tree in analysis.trees() {
        for item in &tree.items {
            if let Item::Pipeline(d) = item {
                for entry in &d.body.entries {
                    if let Entry::Param(p) = entry {
                        out.push((d.name.name.clone(), &**p));
                    }
                }
            }
        }
    }
    out
}

/// Every template declaration of a check.
pub(crate) fn templates(analysis: &Analysis) -> Vec<&ast::Decl> {
    analysis
        .trees()
        .iter()
        .flat_map(|t| &t.items)
        .filter_map(|item| match item {
            Item::Template(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// A template's fields as a stage using it gets them: its templates' fields
/// in `use` order, then its own; a later value replaces an earlier one,
/// except in blocks that merge key by key. Values are their source text.
pub(crate) fn merged_template(analysis: &Analysis, name: &str) -> Option<Vec<(String, String)>> {
    let all = templates(analysis);
    all.iter().find(|d| d.name.name == name)?;
    let mut out: Vec<(String, String)> = Vec::new();
    merge(analysis, &all, name, &mut BTreeSet::new(), &mut out);
    Some(out)
}

fn merge(
    analysis: &Analysis,
    all: &[&ast::Decl],
    name: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<(String, String)>,
) {
    if !seen.insert(name.to_string()) {
        return;
    }
    let Some(decl) = all.iter().find(|d| d.name.name == name) else {
        return;
    };
    let text = |e: &Expr| analysis.file(e.span().file).slice(e.span()).to_string();
    for entry in &decl.body.entries {
        let Entry::Field(f) = entry else { continue };
        if f.key.name == "use" {
            let used: Vec<&str> = match &f.value {
                Expr::Ident(i) => vec![i.name.as_str()],
                Expr::List { items, .. } => items
                    .iter()
                    .filter_map(|i| match i {
                        Expr::Ident(i) => Some(i.name.as_str()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for u in used {
                merge(analysis, all, u, seen, out);
            }
            continue;
        }
        let merges = BlockKind::Stage
            .field(&f.key.name)
            .is_some_and(|s| s.kind.merges_by_key());
        match (&f.value, merges) {
            (Expr::Map(b), true) => {
                for e in &b.entries {
                    if let Entry::Field(inner) = e {
                        set(
                            out,
                            format!("{}.{}", f.key.name, inner.key.name),
                            text(&inner.value),
                        );
                    }
                }
            }
            (value, _) => set(out, f.key.name.clone(), text(value)),
        }
    }
}

fn set(out: &mut Vec<(String, String)>, key: String, value: String) {
    match out.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => out.push((key, value)),
    }
}
