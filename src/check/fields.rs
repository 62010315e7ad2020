//! The fields of each block (pipeline, stage, volume, resources, toleration),
//! the words users write for them, and reading a block's fields: unknown
//! names, duplicates, declarations where only fields may go.

use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::source::Span;
use crate::syntax::ast::{Block, Entry, Expr, Field};
use std::collections::BTreeMap;

pub(super) const PIPELINE_FIELDS: &[&str] = &[
    "namespace",
    "queue",
    "priority_class",
    "service_account",
    "image",
    "labels",
    "annotations",
    "ttl",
    "replace_on_change",
];

pub(super) const STAGE_FIELDS: &[&str] = &[
    "use",
    "image",
    "run",
    "workers",
    "parallel",
    "shard",
    "retry",
    "timeout",
    "ttl",
    "reduce",
    "after",
    "env",
    "working_dir",
    "node_selector",
    "tolerations",
    "resources",
    "labels",
    "annotations",
];

/// Stage fields whose entries merge key by key across templates and stage.
pub(super) const MAP_FIELDS: &[&str] =
    &["env", "node_selector", "resources", "labels", "annotations"];

pub(super) const RESOURCE_FIELDS: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral_storage",
    "gpu",
    "gpu_resource",
    "gpu_model",
    "gpu_model_label",
];

pub(super) const VOLUME_FIELDS: &[&str] = &["claim", "mount", "read_only", "local"];
pub(super) const TOLERATION_FIELDS: &[&str] = &["key", "operator", "value", "effect", "seconds"];

/// Words users reach for, and the field they mean.
pub(super) const ALIASES: &[(&str, &str)] = &[
    ("command", "run"),
    ("cmd", "run"),
    ("script", "run"),
    ("replicas", "workers"),
    ("num_workers", "workers"),
    ("world_size", "workers"),
    ("retries", "retry"),
    ("max_retry", "retry"),
    ("depends_on", "after"),
    ("dependencies", "after"),
    ("needs", "after"),
    ("concurrency", "parallel"),
    ("workdir", "working_dir"),
    ("cwd", "working_dir"),
    ("workingDir", "working_dir"),
    ("nodeSelector", "node_selector"),
    ("template", "use"),
    ("extends", "use"),
    ("priorityClassName", "priority_class"),
    ("serviceAccountName", "service_account"),
    ("ns", "namespace"),
];

impl PipelineChecker<'_> {
    /// The `key = value` entries of a block; a declaration in it is reported.
    pub(super) fn fields_of<'b>(&mut self, block: &'b Block, inside: &str) -> Vec<&'b Field> {
        block
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Field(f) => Some(f),
                other => {
                    self.misplaced(other, inside);
                    None
                }
            })
            .collect()
    }

    /// The fields of one block, checked for unknown names and duplicates.
    pub(super) fn unique_fields<'f>(
        &mut self,
        fields: &[&'f Field],
        known: &[&str],
        block: &str,
    ) -> Vec<(&'f str, &'f Field)> {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut out = Vec::new();
        for f in fields {
            let key = f.key.name.as_str();
            if !known.contains(&key) {
                self.unknown_field(f, known, block);
                continue;
            }
            if let Some(first) = seen.get(key) {
                self.diags.push(
                    Diagnostic::error(
                        Code::DuplicateField,
                        f.key.span,
                        format!("`{key}` is set twice in this {block}"),
                    )
                    .with_label("second value")
                    .with_secondary(*first, "first set here")
                    .with_help("keep one of them"),
                );
                continue;
            }
            seen.insert(key, f.key.span);
            out.push((key, *f));
        }
        out
    }

    pub(super) fn unknown_field(&mut self, f: &Field, known: &[&str], block: &str) {
        let key = f.key.name.as_str();
        let stage_like = known.contains(&"run");
        let suggestion = ALIASES
            .iter()
            .find(|(a, _)| *a == key)
            .map(|(_, m)| *m)
            .filter(|m| known.contains(m))
            .or_else(|| did_you_mean(key, known.iter().copied()));
        if let Some(m) = suggestion {
            self.suggested.insert(m.to_string());
        }
        let mut diag = Diagnostic::error(
            Code::UnknownField,
            f.key.span,
            format!("unknown field `{key}` in {block}"),
        )
        .with_label("unknown field");
        diag = if let Some(m) = suggestion {
            diag.with_help(format!("did you mean `{m}`?"))
        } else if stage_like && RESOURCE_FIELDS.contains(&key) {
            diag.with_help(format!("`{key}` belongs in `resources {{ {key} = ... }}`"))
        } else if (block == "pipeline" && STAGE_FIELDS.contains(&key))
            || (block != "pipeline" && PIPELINE_FIELDS.contains(&key))
        {
            let home = if block == "pipeline" {
                "a stage (or a template)"
            } else {
                "the pipeline"
            };
            diag.with_help(format!("`{key}` belongs in {home}"))
        } else {
            diag.with_help(format!("{block} fields are: {}", known.join(", ")))
        };
        self.diags.push(diag);
    }

    /// The `key = value` entries of map values, in order, with declarations
    /// inside the map reported.
    pub(super) fn map_entries<'e>(
        &mut self,
        maps: &[&'e Expr],
        what: &str,
    ) -> Vec<(&'e crate::syntax::ast::Key, &'e Expr, Span)> {
        let mut out = Vec::new();
        for map in maps {
            let Expr::Map(block) = map else {
                self.eval()
                    .wrong_type(map, &format!("a block of {what}s: {{ name = value }}"));
                continue;
            };
            let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
            for entry in &block.entries {
                match entry {
                    Entry::Field(f) => {
                        if let Some(first) = seen.get(f.key.name.as_str()) {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::DuplicateField,
                                    f.key.span,
                                    format!("`{}` is set twice", f.key.name),
                                )
                                .with_label("second value")
                                .with_secondary(*first, "first set here"),
                            );
                            continue;
                        }
                        seen.insert(&f.key.name, f.key.span);
                        out.push((&f.key, &f.value, f.span));
                    }
                    other => self.misplaced(other, what),
                }
            }
        }
        out
    }

    pub(super) fn misplaced(&mut self, entry: &Entry, inside: &str) {
        let what = match entry {
            Entry::Stage(_) => "a `stage`",
            Entry::Volume(_) => "a `volume`",
            Entry::Param(_) => "a `param`",
            Entry::Field(_) => "a field",
        };
        self.diags.push(
            Diagnostic::error(
                Code::UnknownField,
                entry.span(),
                format!("{what} cannot be declared inside {inside}"),
            )
            .with_label("not allowed here")
            .with_help("stages, volumes and params are declared directly inside a pipeline"),
        );
    }
}
