//! The checker: from root files to a checked [`ir::Build`], or diagnostics.
//!
//! It resolves imports and templates, evaluates parameters (with `--set`
//! overrides), checks every field's type and range, the stage graph, and every
//! rule Kubernetes and Volcano would apply to the objects vcp will emit (names,
//! lengths with the largest pod index, labels), so that a file `vcp check`
//! accepts is a file the cluster accepts. All errors of all files are reported
//! in one run. No IO: files arrive through [`Loader`].

mod env;
mod eval;
pub mod fields;
mod fixes;
mod gitops;
mod graph;
mod items;
mod load;
mod mounts;
mod names;
mod overlay;
mod params;
mod pipeline;
mod resources;
mod scale;
mod stage;
mod templates;
mod values;
/// Durations as the language writes them (`1h30m`), for `vcp run --timeout`.
pub(crate) use values::duration as parse_duration;
mod volumes;

use crate::diag::{self, Code, Diagnostic, Diagnostics, did_you_mean};
use crate::ir;
use crate::source::{FileId, SourceMap};
use crate::syntax::ast;
use std::collections::{BTreeMap, BTreeSet};

/// Where the checker gets file contents: the CLI reads the filesystem, tests
/// and the fuzzer serve them from memory.
pub trait Loader {
    /// The text of the file at `path` (relative to the working directory, or
    /// absolute), or a short reason why it cannot be read.
    fn load(&mut self, path: &str) -> Result<String, String>;

    /// Who the file at `path` is, asked before it is loaded. The default
    /// (tests, the fuzzer) is the path itself. `Err` is a file that must not
    /// be read (a FIFO, a device, a file over the size limit): its code and
    /// reason.
    fn identity(&mut self, path: &str) -> Result<Identity, (Code, String)> {
        Ok(Identity {
            file: path.to_string(),
            key: path.to_string(),
        })
    }
}

/// A file beyond the path it was reached by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The same for every path to one file (relative, absolute, through a
    /// link): a file imported by two paths is loaded once.
    pub file: String,
    /// Its name in output headers and `vcp.dev/source`: independent of the
    /// working directory and of how the file was named (docs/gitops.md).
    pub key: String,
}

/// Files served from memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryLoader {
    pub files: BTreeMap<String, String>,
}

impl MemoryLoader {
    pub fn new(files: impl IntoIterator<Item = (String, String)>) -> MemoryLoader {
        MemoryLoader {
            files: files.into_iter().collect(),
        }
    }
}

impl Loader for MemoryLoader {
    fn load(&mut self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| "no such file".to_string())
    }
}

/// Build-time settings from the command line.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--set name=value`, in the order given.
    pub sets: Vec<(String, String)>,
}

/// The result of checking: the sources (for rendering), the diagnostics
/// (sorted), and the build when there is no error.
#[derive(Debug)]
pub struct Checked {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub build: Option<ir::Build>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A template and the file it is declared in.
#[derive(Clone, Copy)]
pub(crate) struct TemplateRef<'a> {
    pub file: FileId,
    pub decl: &'a ast::Decl,
}

pub fn check(roots: &[String], loader: &mut dyn Loader, options: &Options) -> Checked {
    let mut diags = Diagnostics::new();
    let loaded = load::load(roots, loader, &mut diags);
    let templates = collect_templates(&loaded, &mut diags);

    let mut pipelines = Vec::new();
    let mut declared_params = BTreeSet::new();
    let mut seen_pipelines: BTreeMap<String, ast::Ident> = BTreeMap::new();
    // A file with syntax errors is not checked further: its missing lines
    // would show up again as missing fields, repeating the same mistakes.
    let broken: BTreeSet<crate::source::FileId> = diags
        .iter()
        .filter(|d| matches!(d.code, Code::Syntax | Code::BadString))
        .filter_map(|d| d.span.map(|s| s.file))
        .collect();
    for &root in &loaded.roots {
        if broken.contains(&root) {
            continue;
        }
        let visible = visible_templates(&loaded, root, &templates);
        let module = &loaded.modules[&root];
        for item in &module.ast.items {
            let ast::Item::Pipeline(decl) = item else {
                continue;
            };
            if let Some(first) = seen_pipelines.get(&decl.name.name) {
                diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        decl.name.span,
                        format!("pipeline `{}` is defined twice in this build", decl.name.name),
                    )
                    .with_label("second definition")
                    .with_secondary(first.span, "first defined here")
                    .with_help("pipeline names must be unique: each one gets its own output folder and objects"),
                );
                continue;
            }
            seen_pipelines.insert(decl.name.name.clone(), decl.name.clone());
            let mut checker =
                pipeline::PipelineChecker::new(&loaded.sources, &visible, options, &mut diags);
            if let Some(p) = checker.check(decl) {
                pipelines.push(p);
            }
            declared_params.extend(checker.param_names());
        }
    }

    // Templates are checked on their own too, so that a typo in one no stage
    // uses yet is found now (a stage using it reports the same diagnostic,
    // which the deduplication below keeps once).
    for t in templates.values() {
        if broken.contains(&t.file)
            || loaded.sources.get(t.file).origin != crate::source::Origin::User
        {
            continue;
        }
        let none = BTreeMap::new();
        let mut checker =
            pipeline::PipelineChecker::new(&loaded.sources, &none, options, &mut diags);
        checker.template_fields(t.decl);
    }

    for (name, _) in &options.sets {
        if !declared_params.contains(name) {
            let mut d = Diagnostic::global(
                Code::UnknownSet,
                format!("`--set {name}=...` names no parameter of the pipelines being built"),
            );
            d = match did_you_mean(name, declared_params.iter().map(String::as_str)) {
                Some(s) => d.with_help(format!("did you mean `--set {s}=...`?")),
                None if declared_params.is_empty() => {
                    d.with_help("these pipelines declare no `param`")
                }
                None => d.with_help(format!(
                    "declared parameters: {}",
                    declared_params
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            diags.push(d);
        }
    }

    // A template used by several stages reports its own mistakes once.
    let mut diags = diags.into_vec();
    let mut seen = BTreeSet::new();
    diags.retain(|d| {
        seen.insert((
            d.code,
            d.span.map(|s| (s.file, s.start, s.end)),
            d.message.clone(),
        ))
    });
    diag::sort(&mut diags);

    let failed = diags.iter().any(Diagnostic::is_error);
    pipelines.sort_by(|a, b| a.name.cmp(&b.name));
    Checked {
        sources: loaded.sources,
        diagnostics: diags,
        build: (!failed).then_some(ir::Build { pipelines }),
    }
}

/// Every template of every loaded file, by name; duplicates are errors.
fn collect_templates<'a>(
    loaded: &'a load::Loaded,
    diags: &mut Diagnostics,
) -> BTreeMap<String, TemplateRef<'a>> {
    let mut all: BTreeMap<String, TemplateRef<'a>> = BTreeMap::new();
    for module in loaded.modules.values() {
        for item in &module.ast.items {
            let ast::Item::Template(decl) = item else {
                continue;
            };
            if let Some(first) = all.get(&decl.name.name) {
                diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        decl.name.span,
                        format!("template `{}` is defined twice", decl.name.name),
                    )
                    .with_label("second definition")
                    .with_secondary(first.decl.name.span, "first defined here")
                    .with_help("template names are shared by every file of a build; rename one"),
                );
                continue;
            }
            all.insert(
                decl.name.name.clone(),
                TemplateRef {
                    file: module.id,
                    decl,
                },
            );
        }
    }
    all
}

/// The templates a root file can use: its own and those of every file it
/// imports, directly or not.
fn visible_templates<'a>(
    loaded: &load::Loaded,
    root: FileId,
    all: &BTreeMap<String, TemplateRef<'a>>,
) -> BTreeMap<String, TemplateRef<'a>> {
    let mut reachable = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(f) = todo.pop() {
        if reachable.insert(f)
            && let Some(m) = loaded.modules.get(&f)
        {
            todo.extend(m.imports.iter().copied());
        }
    }
    all.iter()
        .filter(|(_, t)| reachable.contains(&t.file))
        .map(|(n, t)| (n.clone(), *t))
        .collect()
}
