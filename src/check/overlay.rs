//! `overlay = { name_prefix = 8, name_suffix = 3, namespace = 20 }`: how
//! many characters the kustomize overlays over a pipeline's output add to
//! its names, so that the name budgets (`names.rs`) hold after an overlay
//! too. A number, not the overlays' strings: one base serves several
//! overlays (dev-, staging-, prod-), and vcp never sees them.

use super::fields::{BlockKind, alias};
use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::source::Span;
use crate::syntax::ast::Expr;

/// What overlays add, in characters.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Overlay {
    /// The longest `namePrefix`.
    pub(super) prefix: usize,
    /// The longest `nameSuffix`.
    pub(super) suffix: usize,
    /// The longest `namespace` an overlay sets, when it is longer than the
    /// pipeline's own.
    pub(super) namespace: Option<usize>,
    /// The `overlay` field, for diagnostics; `None` when it is not set.
    pub(super) span: Option<Span>,
}

impl Overlay {
    /// Characters added to a name that carries the prefix and suffix once.
    pub(super) fn affixes(&self) -> usize {
        self.prefix + self.suffix
    }

    /// The length of the namespace the objects may end up in.
    pub(super) fn namespace_len(&self, own: &str) -> usize {
        self.namespace.unwrap_or(0).max(own.len())
    }
}

/// A DNS label, the longest any of these can usefully be.
const MAX: i64 = 63;

impl PipelineChecker<'_> {
    pub(super) fn overlay(&mut self, value: &Expr, span: Span) -> Overlay {
        let mut overlay = Overlay {
            span: Some(span),
            ..Overlay::default()
        };
        for (key, value, _) in self.map_entries(&[value], "overlay setting") {
            let name = key.name.as_str();
            match name {
                "name_prefix" | "name_suffix" => {
                    let Some(n) = self.eval().int(value, name, 0, MAX - 1) else {
                        continue;
                    };
                    let n = usize::try_from(n).unwrap_or(0);
                    if name == "name_prefix" {
                        overlay.prefix = n;
                    } else {
                        overlay.suffix = n;
                    }
                }
                "namespace" => {
                    if let Some(n) = self.eval().int(value, name, 1, MAX) {
                        overlay.namespace = usize::try_from(n).ok();
                    }
                }
                other => {
                    let fields = BlockKind::Overlay.field_names();
                    let diag = Diagnostic::error(
                        Code::UnknownField,
                        key.span,
                        format!("unknown overlay setting `{other}`"),
                    )
                    .with_label("unknown setting");
                    let meant = alias(other)
                        .filter(|m| BlockKind::Overlay.field(m).is_some())
                        .or_else(|| did_you_mean(other, fields.clone()));
                    self.diags.push(match meant {
                        Some(m) => diag.with_help(format!("did you mean `{m}`?")),
                        None => diag.with_help(format!(
                            "overlay settings are numbers of characters: {}",
                            fields.collect::<Vec<_>>().join(", ")
                        )),
                    });
                }
            }
        }
        overlay
    }
}
