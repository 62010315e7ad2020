//! Go to definition, find references and rename, over every file of every
//! open document's check (so a template is found across imports). A rename
//! is tried on the checker first: a new name it would reject (not a name,
//! taken, a pod name past 63 characters) is refused with its diagnostic.

use super::analysis::Analysis;
use super::index::{self, Occurrence, SymKind};
use super::text::LineIndex;
use super::workspace::Workspace;
use crate::diag::Code;
use crate::source::normalize_path;
use lsp_types::{Location, Range, TextEdit, Uri, WorkspaceEdit};
use std::collections::{BTreeMap, HashMap};

/// A place in a file: its name and a byte range.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Place {
    pub(crate) file: String,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// The occurrence at `offset` of file `name`, and the check it comes from.
pub(crate) fn target<'a>(
    ws: &'a Workspace,
    name: &str,
    offset: usize,
) -> Option<(&'a Analysis, Occurrence)> {
    let analysis = ws.analysis_for(name)?;
    let id = analysis.find(name)?;
    let occurrences = index::occurrences(analysis.tree(id)?, &analysis.file(id).text);
    let found = index::at(&occurrences, offset)?.clone();
    Some((analysis, found))
}

/// Every occurrence of every user file of every open check that names the
/// same thing as `target`, once each.
fn everywhere(ws: &Workspace, target: &Occurrence) -> Vec<(Place, Occurrence)> {
    let mut out: BTreeMap<Place, Occurrence> = BTreeMap::new();
    for analysis in ws.analyses.values() {
        for (id, file) in analysis.user_files() {
            let Some(tree) = analysis.tree(id) else {
                continue;
            };
            for o in index::occurrences(tree, &analysis.file(id).text) {
                if index::matches(&o, target) {
                    let place = Place {
                        file: file.to_string(),
                        start: o.span.start as usize,
                        end: o.span.end as usize,
                    };
                    out.entry(place).or_insert(o);
                }
            }
        }
    }
    out.into_iter().collect()
}

pub(crate) fn definition(ws: &Workspace, name: &str, offset: usize) -> Vec<Location> {
    let Some((_, target)) = target(ws, name, offset) else {
        return Vec::new();
    };
    if target.kind == SymKind::Import {
        if target.name.starts_with("std/") {
            return Vec::new();
        }
        let file = join(name, &target.name);
        return ws
            .uri_of(&file)
            .map(|uri| Location::new(uri, Range::default()))
            .into_iter()
            .collect();
    }
    let mut places: Vec<Place> = everywhere(ws, &target)
        .into_iter()
        .filter(|(_, o)| o.def)
        .map(|(p, _)| p)
        .collect();
    // Definitions in the file asked about first.
    places.sort_by_key(|p| p.file != name);
    locations(ws, &places)
}

pub(crate) fn references(
    ws: &Workspace,
    name: &str,
    offset: usize,
    declaration: bool,
) -> Vec<Location> {
    let Some((_, target)) = target(ws, name, offset) else {
        return Vec::new();
    };
    if target.kind == SymKind::Import {
        return Vec::new();
    }
    let places: Vec<Place> = everywhere(ws, &target)
        .into_iter()
        .filter(|(_, o)| declaration || !o.def)
        .map(|(p, _)| p)
        .collect();
    locations(ws, &places)
}

fn locations(ws: &Workspace, places: &[Place]) -> Vec<Location> {
    places
        .iter()
        .filter_map(|p| {
            let uri = ws.uri_of(&p.file)?;
            let text = text_of(ws, &p.file)?;
            Some(Location::new(
                uri,
                LineIndex::new(&text).range(p.start, p.end),
            ))
        })
        .collect()
}

/// The current text of a file: the open document, else the one its check read.
pub(crate) fn text_of(ws: &Workspace, name: &str) -> Option<String> {
    if let Some(doc) = ws.docs.get(name) {
        return Some(doc.text.clone());
    }
    let analysis = ws.analysis_for(name)?;
    Some(analysis.file(analysis.find(name)?).text.clone())
}

const RENAMABLE: &[SymKind] = &[
    SymKind::Stage,
    SymKind::Template,
    SymKind::Param,
    SymKind::Volume,
];

/// The range of a renamable name at `offset`, and the name.
pub(crate) fn prepare_rename(ws: &Workspace, name: &str, offset: usize) -> Option<(Range, String)> {
    let (analysis, target) = target(ws, name, offset)?;
    if !RENAMABLE.contains(&target.kind) {
        return None;
    }
    let id = analysis.find(name)?;
    let index = LineIndex::new(&analysis.file(id).text);
    Some((
        index.range(target.span.start as usize, target.span.end as usize),
        target.name,
    ))
}

/// The edits of a rename, after the checker accepted the renamed files.
pub(crate) fn rename(
    ws: &Workspace,
    name: &str,
    offset: usize,
    new_name: &str,
) -> Result<WorkspaceEdit, String> {
    let Some((_, target)) = target(ws, name, offset) else {
        return Err("there is no name to rename here".to_string());
    };
    if !RENAMABLE.contains(&target.kind) {
        return Err(format!(
            "only stages, templates, params and volumes can be renamed, not {}s",
            target.kind.word()
        ));
    }
    if !is_ident(new_name) {
        return Err(format!(
            "`{new_name}` is not a name: names are a letter or `_`, then letters, digits, `_` and `-`"
        ));
    }
    let mut target = target;
    if target.env_form {
        // Renaming from `$VCP_VOLUME_DATA`: find the volume it stands for.
        let volume = everywhere(ws, &target)
            .into_iter()
            .find(|(_, o)| o.def && !o.env_form)
            .ok_or("no volume of this pipeline has this variable")?;
        target = volume.1;
    }
    let places = everywhere(ws, &target);
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut edits: BTreeMap<String, Vec<(usize, usize, String)>> = BTreeMap::new();
    for (place, o) in &places {
        let new = if o.env_form {
            index::env_form(new_name)
        } else {
            new_name.to_string()
        };
        edits
            .entry(place.file.clone())
            .or_default()
            .push((place.start, place.end, new));
    }
    for file in edits.keys() {
        let text = text_of(ws, file).ok_or_else(|| format!("cannot read `{file}`"))?;
        texts.insert(file.clone(), text);
    }
    let mut renamed = texts.clone();
    for (file, list) in &edits {
        let text = renamed.entry(file.clone()).or_default();
        let mut list = list.clone();
        list.sort_by_key(|e| std::cmp::Reverse(e.0));
        for (start, end, new) in list {
            if text.is_char_boundary(start) && text.is_char_boundary(end) && start <= end {
                text.replace_range(start..end, &new);
            }
        }
    }
    refuse_new_errors(ws, &renamed, edits.keys())?;
    // lsp-types keys edits by `Uri`, whose parsed parts clippy counts as
    // interior mutability; they never change once parsed.
    #[allow(clippy::mutable_key_type)]
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for (file, list) in edits {
        let (Some(uri), Some(text)) = (ws.uri_of(&file), texts.get(&file)) else {
            return Err(format!("`{file}` cannot be edited"));
        };
        let index = LineIndex::new(text);
        changes.insert(
            uri,
            list.into_iter()
                .map(|(s, e, new)| TextEdit::new(index.range(s, e), new))
                .collect(),
        );
    }
    Ok(WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    })
}

/// Checks every open document that loads a renamed file with the renamed
/// texts: an error the current texts do not have refuses the rename.
fn refuse_new_errors<'a>(
    ws: &Workspace,
    renamed: &BTreeMap<String, String>,
    files: impl Iterator<Item = &'a String> + Clone,
) -> Result<(), String> {
    for (root, before) in &ws.analyses {
        if !files.clone().any(|f| before.loads(f) || f == root) {
            continue;
        }
        let mut loader = ws.loader(Some(renamed));
        let after = Analysis::run(root, &mut loader, None);
        let count = |a: &Analysis, code: Code| {
            a.checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error() && d.code == code)
                .count()
        };
        for d in after.checked.diagnostics.iter().filter(|d| d.is_error()) {
            if count(&after, d.code) > count(before, d.code) {
                return Err(format!(
                    "the checker would reject this name: {} ({})",
                    d.message,
                    d.code.as_str()
                ));
            }
        }
    }
    Ok(())
}

/// A name of the language: a letter or `_`, then letters, digits, `_`, `-`.
pub(crate) fn is_ident(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !super::lex::KEYWORDS.contains(&name)
        && name != "true"
        && name != "false"
}

/// `a/b/pipeline.vcp` + `../common.vcp` -> `a/common.vcp`, as the checker
/// resolves imports.
pub(crate) fn join(importer: &str, path: &str) -> String {
    if path.starts_with('/') {
        return normalize_path(path);
    }
    match importer.rfind('/') {
        Some(i) if i > 0 => normalize_path(&format!("{}/{path}", &importer[..i])),
        Some(_) => normalize_path(&format!("/{path}")),
        None => normalize_path(path),
    }
}
