//! The fields of each block (pipeline, stage, volume, resources, toleration)
//! with the kind of value each holds, the words users write for them, and
//! reading a block's fields: unknown names, duplicates, declarations where
//! only fields may go.
//!
//! The tables are the one list of fields: the checker reads blocks with
//! them, and tools (an editor's completion) can ask them what a block holds.

use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::source::Span;
use crate::syntax::ast::{Block, Entry, Expr, Field};
use std::collections::BTreeMap;

/// A block that holds fields. Templates hold stage fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockKind {
    Pipeline,
    Stage,
    Volume,
    /// `resources = { ... }` of a stage.
    Resources,
    /// One entry of a stage's `tolerations`.
    Toleration,
    /// `overlay = { ... }` of a pipeline: what kustomize overlays add to
    /// its names (`check/overlay.rs`).
    Overlay,
    /// `reduce { ... }` of a stage.
    Reduce,
}

/// What a field's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Text; `${param}` inserts a parameter.
    String,
    /// A Kubernetes object name (namespace, queue, claim, ...).
    Name,
    /// A container image reference, pinned to a tag or digest.
    Image,
    /// A path.
    Path,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
    /// `30s`, `10m`, `1h30m`.
    Duration,
    /// A resource quantity: `"500m"`, `2`, `4Gi`.
    Quantity,
    /// One of these words, as a string.
    Choice(&'static [&'static str]),
    /// Shell code (a string) or an argument list.
    Command,
    /// A command, or a `reduce { run = ..., image, resources, env }` block.
    Reduce,
    /// `<source> [by <strategy>]`: the work items and how workers share them.
    Shard,
    /// A template name, or a list of them.
    Templates,
    /// A stage name, or a list of them.
    Stages,
    /// A number of items, or a share of them as a string (`"1%"`).
    Budget,
    /// The name of one of the pipeline's volumes.
    Volume,
    /// `{ key = "value" }`.
    Map,
    /// `{ NAME = value }`, where a value is text, `secret(name, key)` or
    /// `config_map(name, key)`.
    Env,
    /// `{ ... }` holding the fields of a block.
    Block(BlockKind),
    /// One block, or a list of them.
    List(BlockKind),
}

impl ValueKind {
    /// True for the maps whose entries merge key by key across a stage's
    /// templates and the stage itself (other fields: the last one wins).
    pub fn merges_by_key(self) -> bool {
        matches!(self, ValueKind::Map | ValueKind::Env | ValueKind::Block(_))
    }
}

/// One field: its name and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: ValueKind,
}

const fn field(name: &'static str, kind: ValueKind) -> FieldSpec {
    FieldSpec { name, kind }
}

pub const TOLERATION_OPERATORS: &[&str] = &["Equal", "Exists"];
pub const TOLERATION_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

use ValueKind as K;

/// The fields of each block, in the order messages list them.
const PIPELINE: &[FieldSpec] = &[
    field("namespace", K::Name),
    field("queue", K::Name),
    field("priority_class", K::Name),
    field("service_account", K::Name),
    field("image", K::Image),
    field("labels", K::Map),
    field("annotations", K::Map),
    field("ttl", K::Duration),
    field("replace_on_change", K::Bool),
    field("overlay", K::Block(BlockKind::Overlay)),
    field("gitops", K::Choice(crate::ir::GitOps::NAMES)),
];

const STAGE: &[FieldSpec] = &[
    field("use", K::Templates),
    field("image", K::Image),
    field("run", K::Command),
    field("workers", K::Int),
    field("parallel", K::Int),
    field("shard", K::Shard),
    field("retry", K::Int),
    field("timeout", K::Duration),
    field("ttl", K::Duration),
    field("reduce", K::Reduce),
    field("after", K::Stages),
    field("env", K::Env),
    field("working_dir", K::Path),
    field("node_selector", K::Map),
    field("tolerations", K::List(BlockKind::Toleration)),
    field("resources", K::Block(BlockKind::Resources)),
    field("labels", K::Map),
    field("annotations", K::Map),
    field("gang", K::Bool),
    field("max_failed", K::Budget),
    field("checkpoint", K::Volume),
    field("output", K::Volume),
];

const VOLUME: &[FieldSpec] = &[
    field("claim", K::Name),
    field("mount", K::Path),
    field("read_only", K::Bool),
    field("local", K::Path),
];

const RESOURCES: &[FieldSpec] = &[
    field("cpu", K::Quantity),
    field("memory", K::Quantity),
    field("ephemeral_storage", K::Quantity),
    field("gpu", K::Int),
    field("gpu_resource", K::String),
    field("gpu_model", K::String),
    field("gpu_model_label", K::String),
];

const REDUCE: &[FieldSpec] = &[
    field("run", K::Command),
    field("image", K::Image),
    field("resources", K::Block(BlockKind::Resources)),
    field("env", K::Env),
];

const TOLERATION: &[FieldSpec] = &[
    field("key", K::String),
    field("operator", K::Choice(TOLERATION_OPERATORS)),
    field("value", K::String),
    field("effect", K::Choice(TOLERATION_EFFECTS)),
    field("seconds", K::Int),
];

const OVERLAY: &[FieldSpec] = &[
    field("name_prefix", K::Int),
    field("name_suffix", K::Int),
    field("namespace", K::Int),
];

impl BlockKind {
    pub const ALL: [BlockKind; 7] = [
        BlockKind::Pipeline,
        BlockKind::Stage,
        BlockKind::Volume,
        BlockKind::Resources,
        BlockKind::Toleration,
        BlockKind::Overlay,
        BlockKind::Reduce,
    ];

    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            BlockKind::Pipeline => PIPELINE,
            BlockKind::Stage => STAGE,
            BlockKind::Volume => VOLUME,
            BlockKind::Resources => RESOURCES,
            BlockKind::Toleration => TOLERATION,
            BlockKind::Overlay => OVERLAY,
            BlockKind::Reduce => REDUCE,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    pub fn field_names(self) -> impl Iterator<Item = &'static str> + Clone {
        self.fields().iter().map(|f| f.name)
    }
}

/// Words users reach for, and the field they mean.
pub const ALIASES: &[(&str, &str)] = &[
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
    ("namePrefix", "name_prefix"),
    ("prefix", "name_prefix"),
    ("nameSuffix", "name_suffix"),
    ("suffix", "name_suffix"),
    ("gpus", "gpu"),
    ("nvidia.com/gpu", "gpu"),
    ("mem", "memory"),
    ("ephemeral-storage", "ephemeral_storage"),
    ("storage", "ephemeral_storage"),
    ("disk", "ephemeral_storage"),
];

/// The field a word users reach for means, if it is a known one.
pub fn alias(word: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(a, _)| *a == word)
        .map(|(_, field)| *field)
}

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
        kind: BlockKind,
        block: &str,
    ) -> Vec<(&'f str, &'f Field)> {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut out = Vec::new();
        for f in fields {
            let key = f.key.name.as_str();
            if kind.field(key).is_none() {
                self.unknown_field(f, kind, block);
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

    /// Reports a field `kind` blocks do not have; `block` names the block in
    /// the message (`stage`, ``template `gpu` ``, ...).
    fn unknown_field(&mut self, f: &Field, kind: BlockKind, block: &str) {
        let key = f.key.name.as_str();
        let suggestion = alias(key)
            .filter(|m| kind.field(m).is_some())
            .or_else(|| did_you_mean(key, kind.field_names()));
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
        } else if matches!(kind, BlockKind::Stage | BlockKind::Reduce)
            && BlockKind::Resources.field(key).is_some()
        {
            diag.with_help(format!("`{key}` belongs in `resources {{ {key} = ... }}`"))
        } else if (kind == BlockKind::Pipeline && BlockKind::Stage.field(key).is_some())
            || (kind != BlockKind::Pipeline && BlockKind::Pipeline.field(key).is_some())
        {
            let home = if kind == BlockKind::Pipeline {
                "a stage (or a template)"
            } else {
                "the pipeline"
            };
            diag.with_help(format!("`{key}` belongs in {home}"))
        } else {
            let known: Vec<&str> = kind.field_names().collect();
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
                                .with_secondary(*first, "first set here")
                                .with_help("keep one of them"),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `doc` has `word` with no identifier character either side.
    fn mentions(doc: &str, word: &str) -> bool {
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
        doc.match_indices(word)
            .any(|(i, _)| !doc[..i].ends_with(ident) && !doc[i + word.len()..].starts_with(ident))
    }

    #[test]
    fn the_language_reference_lists_every_field_and_choice() {
        let doc = include_str!("../../docs/language.md");
        for block in BlockKind::ALL {
            for f in block.fields() {
                assert!(mentions(doc, f.name), "{block:?} field `{}`", f.name);
                if let ValueKind::Choice(options) = f.kind {
                    for option in options {
                        assert!(mentions(doc, option), "`{}` = {option}", f.name);
                    }
                }
            }
        }
    }

    #[test]
    fn every_alias_means_a_field() {
        for (word, meant) in ALIASES {
            let owners: Vec<BlockKind> = BlockKind::ALL
                .into_iter()
                .filter(|b| b.field(meant).is_some())
                .collect();
            assert!(!owners.is_empty(), "`{word}` -> `{meant}`");
            assert!(owners.iter().all(|b| b.field(word).is_none()), "`{word}`");
        }
    }
}
