//! Every name of a syntax tree that refers to something: declarations of
//! pipelines, templates, stages, volumes and params, and their uses (`use`,
//! `after`, `${param}` and parameters by name, `$VCP_VOLUME_<NAME>` in
//! strings, imports). Definition, references and rename are lookups here.

use crate::source::Span;
use crate::syntax::ast::{self, Entry, Expr, Item, StrPart};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SymKind {
    Pipeline,
    Template,
    Stage,
    Volume,
    Param,
    Import,
}

impl SymKind {
    pub(crate) fn word(self) -> &'static str {
        match self {
            SymKind::Pipeline => "pipeline",
            SymKind::Template => "template",
            SymKind::Stage => "stage",
            SymKind::Volume => "volume",
            SymKind::Param => "param",
            SymKind::Import => "import",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Occurrence {
    pub(crate) kind: SymKind,
    pub(crate) name: String,
    /// The pipeline a stage, volume or param belongs to; `None` for
    /// templates, pipelines and imports, and for a param used in a template
    /// (it is the param of whichever pipeline uses the template).
    pub(crate) scope: Option<String>,
    /// The name as written (for an import, the string with its quotes).
    pub(crate) span: Span,
    pub(crate) def: bool,
    /// Written as `VCP_VOLUME_<NAME>`: upper-case, `-` as `_`.
    pub(crate) env_form: bool,
}

impl Occurrence {
    /// Whether two occurrences name the same thing.
    pub(crate) fn same(&self, other: &Occurrence) -> bool {
        self.kind == other.kind
            && self.name == other.name
            && (self.scope == other.scope
                || (self.kind == SymKind::Param && (self.scope.is_none() || other.scope.is_none())))
    }
}

/// The occurrences of one file, in source order of the walk.
pub(crate) fn occurrences(file: &ast::File, text: &str) -> Vec<Occurrence> {
    let mut walk = Walk {
        text,
        out: Vec::new(),
        scope: None,
    };
    for item in &file.items {
        match item {
            Item::Import(i) => walk.push(
                SymKind::Import,
                i.path.as_plain().unwrap_or_default(),
                i.path.span,
                false,
            ),
            Item::Pipeline(d) => {
                walk.scope = None;
                walk.push(SymKind::Pipeline, d.name.name.clone(), d.name.span, true);
                walk.scope = Some(d.name.name.clone());
                walk.block(&d.body);
            }
            Item::Template(d) => {
                walk.scope = None;
                walk.push(SymKind::Template, d.name.name.clone(), d.name.span, true);
                walk.block(&d.body);
            }
        }
    }
    walk.out
}

struct Walk<'a> {
    text: &'a str,
    out: Vec<Occurrence>,
    scope: Option<String>,
}

impl Walk<'_> {
    fn push(&mut self, kind: SymKind, name: String, span: Span, def: bool) {
        let scope = match kind {
            SymKind::Stage | SymKind::Volume | SymKind::Param => self.scope.clone(),
            _ => None,
        };
        self.out.push(Occurrence {
            kind,
            name,
            scope,
            span,
            def,
            env_form: false,
        });
    }

    fn block(&mut self, block: &ast::Block) {
        for entry in &block.entries {
            match entry {
                Entry::Stage(d) => {
                    self.push(SymKind::Stage, d.name.name.clone(), d.name.span, true);
                    self.block(&d.body);
                }
                Entry::Volume(d) => {
                    self.push(SymKind::Volume, d.name.name.clone(), d.name.span, true);
                    self.block(&d.body);
                }
                Entry::Param(p) => {
                    self.push(SymKind::Param, p.name.name.clone(), p.name.span, true);
                    if let Some(default) = &p.default {
                        self.expr(default);
                    }
                }
                Entry::Field(f) => match f.key.name.as_str() {
                    "use" if !f.key.quoted => self.names(&f.value, SymKind::Template),
                    "after" if !f.key.quoted => self.names(&f.value, SymKind::Stage),
                    _ => self.expr(&f.value),
                },
            }
        }
    }

    /// `x` or `[x, y]` naming templates or stages.
    fn names(&mut self, value: &Expr, kind: SymKind) {
        match value {
            Expr::Ident(i) => self.push(kind, i.name.clone(), i.span, false),
            Expr::List { items, .. } => {
                for item in items {
                    self.names(item, kind);
                }
            }
            other => self.expr(other),
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Str(s) => {
                for part in &s.parts {
                    if let StrPart::Interp(i) = part {
                        let name = Span {
                            start: i.span.start.saturating_add(2),
                            end: i.span.end.saturating_sub(1).max(i.span.start),
                            ..i.span
                        };
                        self.push(SymKind::Param, i.name.clone(), name, false);
                    }
                }
                self.volume_vars(s.span);
            }
            Expr::Ident(i) => self.push(SymKind::Param, i.name.clone(), i.span, false),
            Expr::List { items, .. } => items.iter().for_each(|i| self.expr(i)),
            Expr::Map(b) => self.block(b),
            Expr::Call { args, .. } => args.iter().for_each(|a| self.expr(a)),
            Expr::By { source, .. } => self.expr(source),
            Expr::Number { .. } | Expr::Quantity { .. } | Expr::Bool { .. } => {}
        }
    }

    /// `VCP_VOLUME_<NAME>` in a string's source text: a use of a volume.
    fn volume_vars(&mut self, span: Span) {
        const PREFIX: &str = "VCP_VOLUME_";
        let Some(raw) = self.text.get(span.start as usize..span.end as usize) else {
            return;
        };
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        for (at, _) in raw.match_indices(PREFIX) {
            if at > 0 && word(raw.as_bytes()[at - 1]) {
                continue;
            }
            let start = at + PREFIX.len();
            let len = raw[start..].bytes().take_while(|&b| word(b)).count();
            if len == 0 {
                continue;
            }
            let upper = &raw[start..start + len];
            self.out.push(Occurrence {
                kind: SymKind::Volume,
                // Compared with volume names in their env form.
                name: upper.to_string(),
                scope: self.scope.clone(),
                span: span.sub(start, len),
                def: false,
                env_form: true,
            });
        }
    }
}

/// A name in its `VCP_VOLUME_` form: upper-case, `-` as `_`.
pub(crate) fn env_form(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// Whether two occurrences name the same volume, one of them perhaps in its
/// env form; for every other kind, [`Occurrence::same`].
pub(crate) fn matches(a: &Occurrence, b: &Occurrence) -> bool {
    if a.kind == SymKind::Volume && b.kind == SymKind::Volume && a.env_form != b.env_form {
        let (name, env) = if a.env_form { (b, a) } else { (a, b) };
        return a.scope == b.scope && env_form(&name.name) == env.name;
    }
    a.same(b)
}

/// The occurrence whose name covers `offset`.
pub(crate) fn at(occurrences: &[Occurrence], offset: usize) -> Option<&Occurrence> {
    occurrences
        .iter()
        .find(|o| o.span.start as usize <= offset && offset <= o.span.end as usize)
}
