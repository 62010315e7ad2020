//! One check of one root file (an open document) with everything it
//! imports: the checker's result, the syntax trees of its files (parsed
//! again on first use, so that diagnostics never wait for them), and the
//! last build without errors, which hover reads names and shards from while
//! the file is being edited.

use crate::check::{self, Checked, Loader};
use crate::ir;
use crate::source::{FileId, Origin, SourceFile};
use crate::syntax::{self, ast};
use std::cell::OnceCell;
use std::rc::Rc;

pub(crate) struct Analysis {
    pub(crate) checked: Checked,
    /// This check's build, or the last one of the same root that succeeded.
    pub(crate) build: Option<Rc<ir::Build>>,
    /// Whether `build` comes from this check.
    pub(crate) fresh: bool,
    /// Whether the emitter's own diagnostics (E0506, scripts too large for
    /// their ConfigMap) have been added: it runs when the editor is idle.
    pub(crate) emitted: bool,
    trees: OnceCell<Vec<ast::File>>,
}

impl Analysis {
    pub(crate) fn run(
        root: &str,
        loader: &mut dyn Loader,
        previous: Option<&Analysis>,
    ) -> Analysis {
        let mut checked = check::check(&[root.to_string()], loader, &check::Options::default());
        let fresh = checked.build.is_some();
        let build = match checked.build.take() {
            Some(b) => Some(Rc::new(b)),
            None => previous.and_then(|p| p.build.clone()),
        };
        Analysis {
            checked,
            build,
            fresh,
            emitted: !fresh,
            trees: OnceCell::new(),
        }
    }

    /// Renders the build as `vcp check` does, for the diagnostics only the
    /// emitter can give. True when it found some.
    pub(crate) fn emit(&mut self) -> bool {
        if self.emitted {
            return false;
        }
        self.emitted = true;
        let Some(build) = self.build.as_ref().filter(|_| self.fresh) else {
            return false;
        };
        match crate::emit::emit_keeping(build, crate::emit::Keep::Problems) {
            Ok(_) => false,
            Err(diags) => {
                self.checked.diagnostics.extend(diags);
                crate::diag::sort(&mut self.checked.diagnostics);
                true
            }
        }
    }

    /// The syntax tree of every file, indexed by `FileId`.
    pub(crate) fn trees(&self) -> &[ast::File] {
        self.trees.get_or_init(|| {
            self.checked
                .sources
                .files()
                .map(|(id, f)| syntax::parse(id, &f.text).file)
                .collect()
        })
    }

    pub(crate) fn tree(&self, id: FileId) -> Option<&ast::File> {
        self.trees().get(id.0 as usize)
    }

    pub(crate) fn file(&self, id: FileId) -> &SourceFile {
        self.checked.sources.get(id)
    }

    pub(crate) fn find(&self, name: &str) -> Option<FileId> {
        self.checked.sources.find(name)
    }

    /// The user files of this check (the root, its imports), by id and name.
    pub(crate) fn user_files(&self) -> impl Iterator<Item = (FileId, &str)> {
        self.checked
            .sources
            .files()
            .filter(|(_, f)| f.origin == Origin::User)
            .map(|(id, f)| (id, f.name.as_str()))
    }

    pub(crate) fn loads(&self, name: &str) -> bool {
        self.user_files().any(|(_, n)| n == name)
    }
}
