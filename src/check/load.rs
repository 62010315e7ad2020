//! Loading: the root files, their imports (relative files and `std/...`
//! modules), cycle and existence checks. File contents come through the
//! [`Loader`] trait, so this room does no IO itself.

use super::{Identity, Loader};
use crate::diag::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::{FileId, Origin, SourceMap, Span, normalize_path as normalize};
use crate::stdlib;
use crate::syntax::{self, ast};
use std::collections::BTreeMap;

/// A parsed file and the files it imports.
#[derive(Debug)]
pub(super) struct Module {
    pub(super) id: FileId,
    pub(super) ast: ast::File,
    /// Files this one imports directly, in source order.
    pub(super) imports: Vec<FileId>,
}

pub(super) struct Loaded {
    pub(super) sources: SourceMap,
    pub(super) modules: BTreeMap<FileId, Module>,
    pub(super) roots: Vec<FileId>,
}

/// Loads the roots and everything they import. Problems become diagnostics;
/// a file that cannot be read is left out.
pub(super) fn load(roots: &[String], loader: &mut dyn Loader, diags: &mut Diagnostics) -> Loaded {
    let mut state = State {
        loader,
        sources: SourceMap::new(),
        modules: BTreeMap::new(),
        by_name: BTreeMap::new(),
        diags,
    };
    let mut root_ids = Vec::new();
    for root in roots {
        let name = normalize(root);
        match state.load_user(name.clone()) {
            Ok(id) => root_ids.push(id),
            Err((code, err)) => {
                let diag = Diagnostic::global(code, format!("cannot read `{name}`: {err}"));
                state.diags.push(match code {
                    Code::NotASource => diag.with_help(NOT_A_SOURCE_HELP),
                    _ => diag.with_help(
                        "name a readable `.vcp` file, or a directory of them, relative to the current directory",
                    ),
                });
            }
        }
    }
    // Depth-first over imports, with the path of files being visited, so that
    // a cycle is reported with every file on it.
    let mut done = BTreeMap::new();
    for &id in &root_ids {
        let mut stack = Vec::new();
        state.visit(id, &mut stack, &mut done);
    }
    Loaded {
        sources: state.sources,
        modules: state.modules,
        roots: root_ids,
    }
}

/// What to write instead of a file that is not a source.
const NOT_A_SOURCE_HELP: &str = "sources are regular files of at most 64 MiB: name the `.vcp` file itself, not a device, FIFO, socket or folder";

struct State<'a> {
    loader: &'a mut dyn Loader,
    sources: SourceMap,
    modules: BTreeMap<FileId, Module>,
    by_name: BTreeMap<String, FileId>,
    diags: &'a mut Diagnostics,
}

impl State<'_> {
    /// The user file at `name`, loaded once per identity (one file reached
    /// by two paths is one file).
    fn load_user(&mut self, name: String) -> Result<FileId, (Code, String)> {
        let Identity { file, key } = self.loader.identity(&name)?;
        if let Some(&id) = self.by_name.get(&file) {
            return Ok(id);
        }
        let text = self
            .loader
            .load(&name)
            .map_err(|e| (Code::ImportNotFound, e))?;
        let id = self.add(file, name, text, Origin::User);
        self.sources.set_key(id, key);
        Ok(id)
    }

    /// Adds a file known by `identity` (its name for the standard library).
    fn add(&mut self, identity: String, name: String, text: String, origin: Origin) -> FileId {
        let id = self.sources.add(name, text, origin);
        self.by_name.insert(identity, id);
        let parsed = syntax::parse(id, &self.sources.get(id).text);
        self.diags.extend(parsed.diagnostics);
        self.modules.insert(
            id,
            Module {
                id,
                ast: parsed.file,
                imports: Vec::new(),
            },
        );
        id
    }

    fn visit(
        &mut self,
        id: FileId,
        stack: &mut Vec<(FileId, Span)>,
        done: &mut BTreeMap<FileId, ()>,
    ) {
        if done.contains_key(&id) {
            return;
        }
        let imports: Vec<ast::Import> = self.modules[&id]
            .ast
            .items
            .iter()
            .filter_map(|item| match item {
                ast::Item::Import(i) => Some(i.clone()),
                _ => None,
            })
            .collect();
        let mut resolved = Vec::new();
        for import in imports {
            let Some(target) = self.resolve(id, &import) else {
                continue;
            };
            if target == id || stack.iter().any(|(f, _)| *f == target) {
                self.report_cycle(id, target, &import, stack);
                continue;
            }
            if !resolved.contains(&target) {
                resolved.push(target);
            }
            stack.push((id, import.span));
            self.visit(target, stack, done);
            stack.pop();
        }
        if let Some(module) = self.modules.get_mut(&id) {
            module.imports = resolved;
        }
        done.insert(id, ());
    }

    /// The file an import names, loading it on first use.
    fn resolve(&mut self, from: FileId, import: &ast::Import) -> Option<FileId> {
        let Some(path) = import.path.as_plain() else {
            self.diags.push(
                Diagnostic::error(
                    Code::BadString,
                    import.path.span,
                    "an import path cannot use `${...}`",
                )
                .with_help("imports are resolved before parameters have values"),
            );
            return None;
        };
        if path.starts_with("std/") {
            let name = path.strip_suffix(".vcp").unwrap_or(&path).to_string();
            if let Some(&id) = self.by_name.get(&name) {
                return Some(id);
            }
            let Some(text) = stdlib::module(&name) else {
                let known = stdlib::MODULES.iter().map(|(n, _)| *n);
                let mut diag = Diagnostic::error(
                    Code::ImportNotFound,
                    import.path.span,
                    format!("there is no standard library module `{name}`"),
                )
                .with_label("not in the standard library");
                diag = match did_you_mean(&name, known.clone()) {
                    Some(s) => diag.with_help(format!("did you mean `{s}`?")),
                    None => diag.with_help(format!(
                        "the standard library has {}",
                        known
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.diags.push(diag);
                return None;
            };
            return Some(self.add(name.clone(), name, text.to_string(), Origin::Stdlib));
        }
        let importer = self.sources.get(from);
        if importer.origin == Origin::Stdlib {
            // The standard library only imports the standard library.
            return None;
        }
        let name = join(&importer.name, &path);
        match self.load_user(name.clone()) {
            Ok(id) => Some(id),
            Err((Code::NotASource, err)) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::NotASource,
                        import.path.span,
                        format!("cannot import `{path}`: {err}"),
                    )
                    .with_label(format!("`{name}` was not read"))
                    .with_help(NOT_A_SOURCE_HELP),
                );
                None
            }
            Err((_, err)) => {
                let mut diag = Diagnostic::error(
                    Code::ImportNotFound,
                    import.path.span,
                    format!("cannot import `{path}`: {err}"),
                )
                .with_label(format!("looked for `{name}`"));
                diag = if path.ends_with(".vcp") {
                    diag.with_help("paths are relative to the directory of the importing file")
                } else {
                    diag.with_help(format!(
                        "paths are relative to the importing file and include the extension: `{path}.vcp`?"
                    ))
                };
                self.diags.push(diag);
                None
            }
        }
    }

    fn report_cycle(
        &mut self,
        from: FileId,
        target: FileId,
        import: &ast::Import,
        stack: &[(FileId, Span)],
    ) {
        let start = stack
            .iter()
            .position(|(f, _)| *f == target)
            .unwrap_or(stack.len());
        let mut names: Vec<String> = stack[start..]
            .iter()
            .map(|(f, _)| self.sources.get(*f).name.clone())
            .collect();
        names.push(self.sources.get(from).name.clone());
        names.push(self.sources.get(target).name.clone());
        let mut diag = Diagnostic::error(
            Code::ImportCycle,
            import.span,
            format!("import cycle: {}", names.join(" -> ")),
        )
        .with_label("this import closes the cycle")
        .with_help("move what both files need into a third file that both import");
        for (_, span) in &stack[start..] {
            diag = diag.with_secondary(*span, "imported here");
        }
        self.diags.push(diag);
    }
}

/// `a/b/pipeline.vcp` + `../common.vcp` -> `a/common.vcp`, lexically.
fn join(importer: &str, path: &str) -> String {
    if path.starts_with('/') {
        return normalize(path);
    }
    let dir = match importer.rfind('/') {
        Some(i) => &importer[..i],
        None => "",
    };
    if dir.is_empty() {
        normalize(path)
    } else {
        normalize(&format!("{dir}/{path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lexically() {
        assert_eq!(join("a/b/p.vcp", "../c.vcp"), "a/c.vcp");
        assert_eq!(join("p.vcp", "./lib/c.vcp"), "lib/c.vcp");
        assert_eq!(join("p.vcp", "../c.vcp"), "../c.vcp");
    }
}
