//! The open documents and their checks. Files are known by the names the
//! checker gives them (relative to the workspace folder, or absolute
//! outside it); the checker reads an open document from memory and any
//! other file from disk (the overlay loader). A change marks a document
//! dirty; [`Workspace::flush`] checks again every open document that is
//! dirty or imports a dirty file, once however many changes came in.

use super::analysis::Analysis;
use super::diagnostics;
use super::text::{path_to_uri, uri_to_path};
use crate::check::Loader;
use crate::source::normalize_path;
use lsp_types::{Diagnostic, PublishDiagnosticsParams, Uri};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub(crate) struct Doc {
    pub(crate) uri: Uri,
    pub(crate) text: String,
    pub(crate) version: i32,
}

pub(crate) struct Workspace {
    /// The workspace folder: relative names are relative to it.
    pub(crate) root: PathBuf,
    pub(crate) docs: BTreeMap<String, Doc>,
    /// The check of every open document as a root.
    pub(crate) analyses: BTreeMap<String, Analysis>,
    dirty: BTreeSet<String>,
    /// What each file was last sent, so that only changes are published.
    published: BTreeMap<String, (Uri, Vec<Diagnostic>)>,
}

impl Workspace {
    pub(crate) fn new(root: PathBuf) -> Workspace {
        Workspace {
            root,
            docs: BTreeMap::new(),
            analyses: BTreeMap::new(),
            dirty: BTreeSet::new(),
            published: BTreeMap::new(),
        }
    }

    /// The checker's name of a document.
    pub(crate) fn name_of(&self, uri: &Uri) -> String {
        let Some(path) = uri_to_path(uri) else {
            return uri.as_str().to_string();
        };
        match path.strip_prefix(&self.root) {
            Ok(rel) => normalize_path(&rel.to_string_lossy()),
            Err(_) => normalize_path(&path.to_string_lossy()),
        }
    }

    /// The URI of a file the checker names (none for the standard library).
    pub(crate) fn uri_of(&self, name: &str) -> Option<Uri> {
        if let Some(doc) = self.docs.get(name) {
            return Some(doc.uri.clone());
        }
        if name.starts_with("std/") && crate::stdlib::module(name).is_some() {
            return None;
        }
        path_to_uri(&self.path_of(name))
    }

    pub(crate) fn path_of(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub(crate) fn open(&mut self, uri: Uri, text: String, version: i32) {
        let name = self.name_of(&uri);
        self.docs.insert(name.clone(), Doc { uri, text, version });
        self.dirty.insert(name);
    }

    pub(crate) fn doc_mut(&mut self, uri: &Uri) -> Option<&mut Doc> {
        let name = self.name_of(uri);
        self.dirty.insert(name.clone());
        self.docs.get_mut(&name)
    }

    pub(crate) fn close(&mut self, uri: &Uri) {
        let name = self.name_of(uri);
        self.docs.remove(&name);
        self.analyses.remove(&name);
        // Files importing it now read it from disk.
        self.dirty.insert(name);
    }

    /// A file changed on disk (saved, or changed by another program).
    pub(crate) fn touched(&mut self, uri: &Uri) {
        let name = self.name_of(uri);
        self.dirty.insert(name);
    }

    pub(crate) fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Checks again what the changes since the last flush affect, and
    /// returns the diagnostics that changed, per file.
    pub(crate) fn flush(&mut self) -> Vec<PublishDiagnosticsParams> {
        if self.dirty.is_empty() {
            return Vec::new();
        }
        let dirty = std::mem::take(&mut self.dirty);
        let mut roots: BTreeSet<String> = dirty
            .iter()
            .filter(|n| self.docs.contains_key(*n))
            .cloned()
            .collect();
        for (root, analysis) in &self.analyses {
            if dirty.iter().any(|n| analysis.loads(n)) {
                roots.insert(root.clone());
            }
        }
        for root in roots {
            let mut loader = Overlay {
                root: &self.root,
                docs: &self.docs,
                trial: None,
            };
            let analysis = Analysis::run(&root, &mut loader, self.analyses.get(&root));
            self.analyses.insert(root, analysis);
        }
        self.publish()
    }

    /// Every file's diagnostics, from every check that loaded it, where
    /// they differ from what was last published.
    fn publish(&mut self) -> Vec<PublishDiagnosticsParams> {
        let mut by_file: BTreeMap<String, Vec<Diagnostic>> = BTreeMap::new();
        for name in self.published.keys() {
            by_file.insert(name.clone(), Vec::new());
        }
        for (root, analysis) in &self.analyses {
            for (name, diags) in diagnostics::of_analysis(analysis, root, self) {
                let list = by_file.entry(name).or_default();
                for d in diags {
                    if !list.contains(&d) {
                        list.push(d);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (name, diags) in by_file {
            let Some(uri) = self.uri_of(&name) else {
                continue;
            };
            let unchanged = match self.published.get(&name) {
                Some((_, d)) => *d == diags,
                // A file never published: only its errors, or that an open
                // document has none.
                None => diags.is_empty() && !self.docs.contains_key(&name),
            };
            if unchanged {
                continue;
            }
            let version = self.docs.get(&name).map(|d| d.version);
            out.push(PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics: diags.clone(),
                version,
            });
            if diags.is_empty() && !self.docs.contains_key(&name) {
                self.published.remove(&name);
            } else {
                self.published.insert(name, (uri, diags));
            }
        }
        out
    }

    /// The check that answers questions about `name`: its own when it is
    /// open, else one that imports it.
    pub(crate) fn analysis_for(&self, name: &str) -> Option<&Analysis> {
        self.analyses
            .get(name)
            .or_else(|| self.analyses.values().find(|a| a.loads(name)))
    }

    /// A loader that reads open documents from memory, `trial` texts first
    /// (a rename being tried), and other files from disk.
    pub(crate) fn loader<'a>(&'a self, trial: Option<&'a BTreeMap<String, String>>) -> Overlay<'a> {
        Overlay {
            root: &self.root,
            docs: &self.docs,
            trial,
        }
    }
}

pub(crate) struct Overlay<'a> {
    root: &'a Path,
    docs: &'a BTreeMap<String, Doc>,
    trial: Option<&'a BTreeMap<String, String>>,
}

impl Loader for Overlay<'_> {
    fn load(&mut self, path: &str) -> Result<String, String> {
        if let Some(text) = self.trial.and_then(|t| t.get(path)) {
            return Ok(text.clone());
        }
        if let Some(doc) = self.docs.get(path) {
            return Ok(doc.text.clone());
        }
        let bytes = std::fs::read(self.root.join(path)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        })?;
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })
    }
}
