//! Checking one pipeline: parameters, pipeline fields, volumes, stages (with
//! their templates), the stage graph, and the Kubernetes names vcp will emit.

use super::eval::{Eval, Param};
use super::names;
use super::values;
use super::{Options, TemplateRef};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir::{self, ArgPart, Command, EnvValue, ItemSource, ParamValue, Strategy};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Block, Decl, Entry, Expr, Field, Ident, StrPart};
use std::collections::{BTreeMap, BTreeSet};

const PIPELINE_FIELDS: &[&str] = &[
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

const STAGE_FIELDS: &[&str] = &[
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
const MAP_FIELDS: &[&str] = &["env", "node_selector", "resources", "labels", "annotations"];

const RESOURCE_FIELDS: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral_storage",
    "gpu",
    "gpu_resource",
    "gpu_model",
    "gpu_model_label",
];

const VOLUME_FIELDS: &[&str] = &["claim", "mount", "read_only", "local"];
const TOLERATION_FIELDS: &[&str] = &["key", "operator", "value", "effect", "seconds"];
const PARAM_TYPES: &[&str] = &["string", "int", "bool", "duration"];

/// Labels vcp sets itself on every object.
const RESERVED_LABELS: &[&str] = &[
    "app.kubernetes.io/name",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/component",
];

/// Default `ttlSecondsAfterFinished`: one day keeps logs around for a look
/// the morning after, then Volcano cleans up.
const DEFAULT_TTL: u64 = 86_400;

/// Words users reach for, and the field they mean.
const ALIASES: &[(&str, &str)] = &[
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

/// Spans of a stage's parts, kept beside the IR for later checks.
#[derive(Clone, Debug)]
pub(super) struct StageSpans {
    pub(super) name: Span,
    pub(super) after: Vec<Ident>,
    pub(super) reduce: Option<Span>,
}

pub(super) struct PipelineChecker<'a> {
    /// Fields the last unknown-field errors suggested (`command` -> `run`):
    /// not reported again as missing.
    suggested: BTreeSet<String>,
    sources: &'a SourceMap,
    templates: &'a BTreeMap<String, TemplateRef<'a>>,
    options: &'a Options,
    eval: Eval<'a>,
}

impl<'a> PipelineChecker<'a> {
    pub(super) fn new(
        sources: &'a SourceMap,
        templates: &'a BTreeMap<String, TemplateRef<'a>>,
        options: &'a Options,
        diags: &'a mut Vec<Diagnostic>,
    ) -> PipelineChecker<'a> {
        PipelineChecker {
            suggested: BTreeSet::new(),
            sources,
            templates,
            options,
            eval: Eval {
                sources,
                params: BTreeMap::new(),
                poisoned: BTreeSet::new(),
                diags,
            },
        }
    }

    pub(super) fn param_names(&self) -> Vec<String> {
        self.eval
            .params
            .keys()
            .chain(&self.eval.poisoned)
            .cloned()
            .collect()
    }

    fn errors(&self) -> usize {
        self.eval.diags.iter().filter(|d| d.is_error()).count()
    }

    pub(super) fn check(&mut self, decl: &Decl) -> Option<ir::Pipeline> {
        let errors_before = self.errors();
        let name = decl.name.name.clone();
        if let Err(why) = values::dns1035_label(&name) {
            self.eval
                .error(
                    Code::BadName,
                    decl.name.span,
                    format!("pipeline name `{name}` is not valid: {why}"),
                )
                .label("used in Job, JobFlow and host names")
                .help(
                    "pipeline names are lower-case letters, digits and `-`, starting with a letter",
                )
                .emit();
        }

        let mut fields: Vec<&Field> = Vec::new();
        let mut volumes = Vec::new();
        let mut stages: Vec<&Decl> = Vec::new();
        let mut params = Vec::new();
        for entry in &decl.body.entries {
            match entry {
                Entry::Field(f) => fields.push(f),
                Entry::Volume(v) => volumes.push(v),
                Entry::Stage(s) => stages.push(s),
                Entry::Param(p) => params.push(&**p),
            }
        }

        self.params(&params);
        let fields = self.unique_fields(&fields, PIPELINE_FIELDS, "pipeline");
        let mut pipeline = ir::Pipeline {
            name: name.clone(),
            span: decl.name.span,
            source: self.sources.get(decl.span.file).name.clone(),
            line: self.sources.location(decl.span).line,
            namespace: "default".into(),
            queue: "default".into(),
            priority_class: None,
            service_account: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            replace_on_change: false,
            volumes: Vec::new(),
            params: self
                .eval
                .params
                .iter()
                .map(|(k, p)| (k.clone(), p.value.clone()))
                .collect(),
            stages: Vec::new(),
        };
        let mut default_image = None;
        let mut default_image_failed = false;
        let mut default_ttl = DEFAULT_TTL;
        let mut namespace_span = decl.name.span;
        for &(key, field) in &fields {
            let v = &field.value;
            match key {
                "namespace" => {
                    if let Some(ns) = self.name_value(v, "namespace", values::dns1123_label) {
                        pipeline.namespace = ns;
                        namespace_span = v.span();
                    }
                }
                "queue" => {
                    if let Some(q) = self.eval.string(v) {
                        if q == "root" {
                            self.eval
                                .error(Code::BadQueue, v.span(), "Volcano does not accept jobs in the `root` queue")
                                .label("root queue")
                                .help("submit to a leaf queue, such as `default`")
                                .emit();
                        } else if let Err(why) = values::dns1123_subdomain(&q).and_then(|()| {
                            if q.len() > 63 {
                                Err(format!("it has {} characters; Volcano writes it into a 63-character pod label", q.len()))
                            } else {
                                Ok(())
                            }
                        }) {
                            self.eval
                                .error(Code::BadQueue, v.span(), format!("queue name `{q}` is not valid: {why}"))
                                .label("invalid queue name")
                                .emit();
                        } else {
                            pipeline.queue = q;
                        }
                    }
                }
                "priority_class" => {
                    pipeline.priority_class =
                        self.name_value(v, "priority class", values::dns1123_subdomain);
                }
                "service_account" => {
                    pipeline.service_account =
                        self.name_value(v, "service account", values::dns1123_subdomain);
                }
                "image" => {
                    default_image = self.image(v);
                    default_image_failed = default_image.is_none();
                }
                "labels" => pipeline.labels = self.labels(&[v], true),
                "annotations" => pipeline.annotations = self.labels(&[v], false),
                "ttl" => {
                    if let Some(t) = self.ttl(v) {
                        default_ttl = t;
                    }
                }
                "replace_on_change" => {
                    if let Some(b) = self.eval.bool(v) {
                        pipeline.replace_on_change = b;
                    }
                }
                _ => {}
            }
        }
        pipeline.volumes = self.volumes(&volumes);

        let mut seen: BTreeMap<&str, &Ident> = BTreeMap::new();
        let mut unique = Vec::new();
        for stage in &stages {
            if let Some(first) = seen.get(stage.name.name.as_str()) {
                self.eval
                    .error(
                        Code::Duplicate,
                        stage.name.span,
                        format!("stage `{}` is defined twice", stage.name.name),
                    )
                    .label("second definition")
                    .secondary(first.span, "first defined here")
                    .emit();
                continue;
            }
            seen.insert(&stage.name.name, &stage.name);
            unique.push(*stage);
        }
        // Stages are checked independently (each with its own diagnostics,
        // merged back in order), so they can spread over the cores.
        let (sources, templates, options) = (self.sources, self.templates, self.options);
        let (params, poisoned) = (&self.eval.params, &self.eval.poisoned);
        let results = crate::par::map(&unique, |stage| {
            let mut diags = Vec::new();
            let mut checker = PipelineChecker::new(sources, templates, options, &mut diags);
            checker.eval.params = params.clone();
            checker.eval.poisoned = poisoned.clone();
            let (checked_stage, spans) = checker.stage(
                stage,
                default_image.as_deref(),
                default_image_failed,
                default_ttl,
                &pipeline,
            );
            (stage.name.name.clone(), checked_stage, spans, diags)
        });
        let mut checked = Vec::new();
        let mut all_spans = Vec::new();
        for (name, checked_stage, spans, diags) in results {
            self.eval.diags.extend(diags);
            all_spans.push((name, spans.clone()));
            if let Some(s) = checked_stage {
                checked.push((s, spans));
            }
        }
        // Unknown stages in `after` are reported even for stages with other errors.
        let names: BTreeSet<&str> = stages.iter().map(|s| s.name.name.as_str()).collect();
        let unknown_deps = self.unknown_dependencies(&all_spans, &names);
        if stages.is_empty() {
            self.eval
                .error(
                    Code::MissingField,
                    decl.name.span,
                    format!("pipeline `{name}` has no stages"),
                )
                .label("nothing to run")
                .help("add a stage: `stage work { run = \"...\" }`")
                .emit();
        }
        self.reduce_collisions(&checked);
        if self.errors() > errors_before || unknown_deps {
            return None;
        }
        pipeline.stages = self.order(checked);
        if self.errors() > errors_before {
            return None;
        }
        names::check(
            &pipeline,
            decl,
            namespace_span,
            &self.stage_spans_of(&stages),
            self.eval.diags,
        );
        (self.errors() == errors_before).then_some(pipeline)
    }

    /// The field names of a template, checked even when no stage uses it.
    pub(super) fn template_fields(&mut self, decl: &Decl) {
        let block = format!("template `{}`", decl.name.name);
        let fields = self.fields_of(&decl.body, "a stage");
        self.unique_fields(&fields, STAGE_FIELDS, &block);
    }

    fn stage_spans_of(&self, stages: &[&Decl]) -> BTreeMap<String, Span> {
        stages
            .iter()
            .map(|s| (s.name.name.clone(), s.name.span))
            .collect()
    }

    /// Declared parameters, with `--set` overrides applied.
    fn params(&mut self, params: &[&crate::syntax::ast::Param]) {
        let mut env_names: BTreeMap<String, &Ident> = BTreeMap::new();
        for p in params {
            if let Some(first) = self.eval.params.get(&p.name.name) {
                let first = first.span;
                self.eval
                    .error(
                        Code::Duplicate,
                        p.name.span,
                        format!("parameter `{}` is declared twice", p.name.name),
                    )
                    .label("second declaration")
                    .secondary(first, "first declared here")
                    .emit();
                continue;
            }
            let env = ir::param_env_name(&p.name.name);
            if let Some(other) = env_names.get(&env) {
                let other = other.span;
                self.eval
                    .error(
                        Code::Duplicate,
                        p.name.span,
                        format!(
                            "parameters `{}` and `{}` would both be exported as `{env}`",
                            p.name.name,
                            self.sources.slice(other)
                        ),
                    )
                    .secondary(other, "the other one")
                    .help("rename one of them")
                    .emit();
                continue;
            }
            env_names.insert(env, &p.name);
            let ty = p.ty.name.as_str();
            if !PARAM_TYPES.contains(&ty) {
                let mut b = self
                    .eval
                    .error(
                        Code::UnknownName,
                        p.ty.span,
                        format!("unknown parameter type `{ty}`"),
                    )
                    .label("not a type");
                b = match did_you_mean(ty, PARAM_TYPES.iter().copied()) {
                    Some(s) => b.help(format!("did you mean `{s}`?")),
                    None => b.help("parameter types are `string`, `int`, `bool` and `duration`"),
                };
                b.emit();
                self.eval.poisoned.insert(p.name.name.clone());
                continue;
            }
            let set = self
                .options
                .sets
                .iter()
                .rev()
                .find(|(n, _)| *n == p.name.name)
                .map(|(_, v)| v.clone());
            let value = match set {
                Some(text) => match parse_set(ty, &text) {
                    Ok(v) => Some(v),
                    Err(why) => {
                        self.eval.diags.push(
                            Diagnostic::global(
                                Code::BadSet,
                                format!("`--set {}={text}`: {why}", p.name.name),
                            )
                            .with_secondary(
                                p.span,
                                format!("`{}` is declared `{ty}` here", p.name.name),
                            ),
                        );
                        None
                    }
                },
                None => match &p.default {
                    // Defaults cannot refer to other parameters: no order to resolve them in.
                    Some(d) => self.param_default(ty, d),
                    None => {
                        self.eval
                            .error(
                                Code::MissingField,
                                p.span,
                                format!("parameter `{}` has no default value", p.name.name),
                            )
                            .label("needs a value")
                            .help(format!(
                                "give it a default (`param {}: {ty} = ...`) or pass `--set {}=...`",
                                p.name.name, p.name.name
                            ))
                            .emit();
                        None
                    }
                },
            };
            match value {
                Some(value) => {
                    self.eval.params.insert(
                        p.name.name.clone(),
                        Param {
                            value,
                            span: p.name.span,
                        },
                    );
                }
                None => {
                    self.eval.poisoned.insert(p.name.name.clone());
                }
            }
        }
    }

    fn param_default(&mut self, ty: &str, expr: &Expr) -> Option<ParamValue> {
        if let Expr::Str(s) = expr
            && let Some(StrPart::Interp(id)) =
                s.parts.iter().find(|p| matches!(p, StrPart::Interp(_)))
        {
            self.eval
                .error(
                    Code::BadString,
                    id.span,
                    "a parameter default cannot refer to another parameter",
                )
                .label("not allowed in a default")
                .emit();
            return None;
        }
        match ty {
            "string" => self.eval.string(expr).map(ParamValue::String),
            "int" => self
                .eval
                .int(expr, "the default", i64::MIN, i64::MAX)
                .map(ParamValue::Int),
            "bool" => self.eval.bool(expr).map(ParamValue::Bool),
            _ => self.eval.duration(expr).map(ParamValue::Duration),
        }
    }

    /// The `key = value` entries of a block; a declaration in it is reported.
    fn fields_of<'b>(&mut self, block: &'b Block, inside: &str) -> Vec<&'b Field> {
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
    fn unique_fields<'f>(
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
                self.eval
                    .error(
                        Code::DuplicateField,
                        f.key.span,
                        format!("`{key}` is set twice in this {block}"),
                    )
                    .label("second value")
                    .secondary(*first, "first set here")
                    .help("keep one of them")
                    .emit();
                continue;
            }
            seen.insert(key, f.key.span);
            out.push((key, *f));
        }
        out
    }

    fn unknown_field(&mut self, f: &Field, known: &[&str], block: &str) {
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
        let mut b = self
            .eval
            .error(
                Code::UnknownField,
                f.key.span,
                format!("unknown field `{key}` in {block}"),
            )
            .label("unknown field");
        b = if let Some(m) = suggestion {
            b.help(format!("did you mean `{m}`?"))
        } else if stage_like && RESOURCE_FIELDS.contains(&key) {
            b.help(format!("`{key}` belongs in `resources {{ {key} = ... }}`"))
        } else if (block == "pipeline" && STAGE_FIELDS.contains(&key))
            || (block != "pipeline" && PIPELINE_FIELDS.contains(&key))
        {
            let home = if block == "pipeline" {
                "a stage (or a template)"
            } else {
                "the pipeline"
            };
            b.help(format!("`{key}` belongs in {home}"))
        } else {
            b.help(format!("{block} fields are: {}", known.join(", ")))
        };
        b.emit();
    }

    fn name_value(
        &mut self,
        v: &Expr,
        what: &str,
        rule: fn(&str) -> Result<(), String>,
    ) -> Option<String> {
        let text = self.eval.string(v)?;
        match rule(&text) {
            Ok(()) => Some(text),
            Err(why) => {
                self.eval
                    .error(
                        Code::BadName,
                        v.span(),
                        format!("{what} `{text}` is not a valid Kubernetes name: {why}"),
                    )
                    .label(format!("invalid {what}"))
                    .emit();
                None
            }
        }
    }

    fn image(&mut self, v: &Expr) -> Option<String> {
        let image = self.eval.string(v)?;
        if let Err(why) = values::image(&image) {
            self.eval
                .error(
                    Code::BadImage,
                    v.span(),
                    format!("`{image}` is not a valid image reference: {why}"),
                )
                .label("invalid image")
                .help("images look like `python:3.12-slim` or `registry.example.com/team/app:1.4`")
                .emit();
            return None;
        }
        let last = image.rsplit('/').next().unwrap_or(&image);
        let tag = last.split_once(':').map(|(_, t)| t);
        if !image.contains('@') && tag.is_none_or(|t| t == "latest") {
            self.eval
                .error(Code::UnpinnedImage, v.span(), format!("image `{image}` is not pinned to a version"))
                .label(if tag.is_some() { "`latest` moves" } else { "no tag means `latest`" })
                .help("pin a tag (`python:3.12-slim`) or a digest so that every run uses the same code")
                .warning()
                .emit();
        }
        Some(image)
    }

    fn ttl(&mut self, v: &Expr) -> Option<u64> {
        let ttl = self.eval.duration(v)?;
        if ttl > i32::MAX as u64 {
            self.eval
                .error(
                    Code::OutOfRange,
                    v.span(),
                    "ttl is too long for Kubernetes (at most about 68 years)",
                )
                .emit();
            return None;
        }
        Some(ttl)
    }

    /// Labels (`label_values`) or annotations: maps of strings with valid
    /// keys; later maps override earlier ones key by key.
    fn labels(&mut self, maps: &[&Expr], label_values: bool) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let what = if label_values { "label" } else { "annotation" };
        for (key, value, _) in self.map_entries(maps, what) {
            if let Err(why) = values::qualified_name(&key.name) {
                self.eval
                    .error(
                        Code::BadLabelKey,
                        key.span,
                        format!("{what} key `{}` is not valid: {why}", key.name),
                    )
                    .label(format!("invalid {what} key"))
                    .emit();
                continue;
            }
            if label_values && RESERVED_LABELS.contains(&key.name.as_str()) {
                self.eval
                    .error(Code::BadLabelKey, key.span, format!("vcp sets the label `{}` itself", key.name))
                    .label("reserved")
                    .help("vcp labels every object with app.kubernetes.io/name, part-of, component and managed-by")
                    .emit();
                continue;
            }
            let Some(text) = self.eval.text(value) else {
                continue;
            };
            if label_values && let Err(why) = values::label_value(&text) {
                self.eval
                        .error(Code::BadLabelValue, value.span(), format!("label value `{}` is not valid: {why}", text.escape_debug()))
                        .label("invalid label value")
                        .help("label values are at most 63 letters, digits, `-`, `_` and `.`; put free text in an annotation")
                        .emit();
                continue;
            }
            out.insert(key.name.clone(), text);
        }
        out
    }

    /// The `key = value` entries of map values, in order, with declarations
    /// inside the map reported.
    fn map_entries<'e>(
        &mut self,
        maps: &[&'e Expr],
        what: &str,
    ) -> Vec<(&'e crate::syntax::ast::Key, &'e Expr, Span)> {
        let mut out = Vec::new();
        for map in maps {
            let Expr::Map(block) = map else {
                self.eval
                    .wrong_type(map, &format!("a block of {what}s: {{ name = value }}"));
                continue;
            };
            let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
            for entry in &block.entries {
                match entry {
                    Entry::Field(f) => {
                        if let Some(first) = seen.get(f.key.name.as_str()) {
                            self.eval
                                .error(
                                    Code::DuplicateField,
                                    f.key.span,
                                    format!("`{}` is set twice", f.key.name),
                                )
                                .label("second value")
                                .secondary(*first, "first set here")
                                .emit();
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

    fn misplaced(&mut self, entry: &Entry, inside: &str) {
        let what = match entry {
            Entry::Stage(_) => "a `stage`",
            Entry::Volume(_) => "a `volume`",
            Entry::Param(_) => "a `param`",
            Entry::Field(_) => "a field",
        };
        self.eval
            .error(
                Code::UnknownField,
                entry.span(),
                format!("{what} cannot be declared inside {inside}"),
            )
            .label("not allowed here")
            .help("stages, volumes and params are declared directly inside a pipeline")
            .emit();
    }

    fn volumes(&mut self, decls: &[&Decl]) -> Vec<ir::Volume> {
        let mut out: Vec<ir::Volume> = Vec::new();
        let mut mounts: BTreeMap<String, Span> = BTreeMap::new();
        let mut names: BTreeMap<String, Span> = BTreeMap::new();
        for decl in decls {
            let name = &decl.name.name;
            if let Some(first) = names.get(name) {
                self.eval
                    .error(
                        Code::Duplicate,
                        decl.name.span,
                        format!("volume `{name}` is defined twice"),
                    )
                    .secondary(*first, "first defined here")
                    .emit();
                continue;
            }
            names.insert(name.clone(), decl.name.span);
            if let Err(why) = values::dns1123_label(name) {
                self.eval
                    .error(
                        Code::BadName,
                        decl.name.span,
                        format!("volume name `{name}` is not valid: {why}"),
                    )
                    .label("becomes a pod volume name")
                    .emit();
            } else if name == "vcp-scripts" {
                self.eval
                    .error(
                        Code::BadVolume,
                        decl.name.span,
                        "`vcp-scripts` is the volume vcp mounts its scripts from",
                    )
                    .help("choose another name")
                    .emit();
            }
            let fields = self.fields_of(&decl.body, "a volume");
            let fields = self.unique_fields(&fields, VOLUME_FIELDS, "volume");
            let mut claim = None;
            let mut mount = None;
            let mut read_only = false;
            let mut local = None;
            for &(key, f) in &fields {
                match key {
                    "claim" => {
                        claim = self.name_value(&f.value, "claim", values::dns1123_subdomain)
                    }
                    "mount" => {
                        let Some(path) = self.eval.string(&f.value) else {
                            continue;
                        };
                        let check = values::absolute_path(&path).and_then(|()| {
                            if path.contains(':') {
                                Err("it contains `:`, which Kubernetes does not allow in mount paths".into())
                            } else {
                                Ok(())
                            }
                        });
                        if let Err(why) = check {
                            self.eval
                                .error(
                                    Code::BadPath,
                                    f.value.span(),
                                    format!("mount path `{path}` is not valid: {why}"),
                                )
                                .label("invalid mount path")
                                .emit();
                        } else if path.trim_end_matches('/').is_empty() {
                            self.eval
                                .error(
                                    Code::BadPath,
                                    f.value.span(),
                                    "a volume mounted at `/` would hide the container's own files",
                                )
                                .label("the root of the container")
                                .help("mount the volume at a directory of its own, such as `/data`")
                                .emit();
                        } else if overlaps(&path, ir::SCRIPTS_MOUNT) {
                            self.eval
                                .error(
                                    Code::BadVolume,
                                    f.value.span(),
                                    format!(
                                        "`{path}` overlaps `{}`, where vcp mounts its scripts",
                                        ir::SCRIPTS_MOUNT
                                    ),
                                )
                                .help("mount the volume elsewhere, such as `/data`")
                                .emit();
                        } else if let Some(first) = mounts.get(&path) {
                            self.eval
                                .error(
                                    Code::BadVolume,
                                    f.value.span(),
                                    format!("two volumes are mounted at `{path}`"),
                                )
                                .secondary(*first, "first mounted here")
                                .emit();
                        } else {
                            mounts.insert(path.clone(), f.value.span());
                            mount = Some(path);
                        }
                    }
                    "local" => match self.eval.string(&f.value) {
                        Some(path) if path.is_empty() || path.contains(['\n', '\0']) => {
                            self.eval
                                .error(
                                    Code::BadPath,
                                    f.value.span(),
                                    "`local` must be a non-empty path on one line",
                                )
                                .emit();
                        }
                        other => local = other,
                    },
                    _ => {
                        if let Some(b) = self.eval.bool(&f.value) {
                            read_only = b;
                        }
                    }
                }
            }
            let missing: Vec<&str> = ["claim", "mount"]
                .into_iter()
                .filter(|k| !fields.iter().any(|(n, _)| n == k))
                .collect();
            if !missing.is_empty() {
                self.eval
                    .error(Code::BadVolume, decl.name.span, format!("volume `{name}` needs {}", missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(" and ")))
                    .label("incomplete volume")
                    .help("a volume is an existing PersistentVolumeClaim and where to mount it: `volume data { claim = \"shared-data\", mount = \"/data\" }`")
                    .emit();
            }
            if let (Some(claim), Some(mount)) = (claim, mount) {
                out.push(ir::Volume {
                    name: name.clone(),
                    claim,
                    mount,
                    read_only,
                    local,
                });
            }
        }
        out
    }

    /// The template layers of a stage, outermost first: each `use`d template
    /// (after its own `use`s), then the stage itself.
    fn layers<'b>(
        &mut self,
        body: &'b Block,
        chain: &mut Vec<&'b str>,
        out: &mut Vec<(&'b Block, String)>,
    ) where
        'a: 'b,
    {
        for entry in &body.entries {
            let Entry::Field(f) = entry else { continue };
            if f.key.name != "use" {
                continue;
            }
            let names: Vec<&Ident> = match &f.value {
                Expr::Ident(i) => vec![i],
                Expr::List { items, .. } => items
                    .iter()
                    .filter_map(|e| match e {
                        Expr::Ident(i) => Some(i),
                        other => {
                            self.eval.wrong_type(other, "a template name");
                            None
                        }
                    })
                    .collect(),
                other => {
                    self.eval
                        .wrong_type(other, "a template name or a list of them");
                    continue;
                }
            };
            for name in names {
                let Some(t) = self.templates.get(&name.name).copied() else {
                    let suggestion =
                        did_you_mean(&name.name, self.templates.keys().map(String::as_str));
                    let mut b = self
                        .eval
                        .error(
                            Code::UnknownName,
                            name.span,
                            format!("unknown template `{}`", name.name),
                        )
                        .label("no template of this name is in scope");
                    b = match suggestion {
                        Some(s) => b.help(format!("did you mean `{s}`?")),
                        None if name.name == "python" || name.name == "pytorch" => {
                            b.help("import it first: `import \"std/python\"`")
                        }
                        None if name.name.starts_with("cube") => {
                            b.help("import it first: `import \"std/cube\"`")
                        }
                        None => b.help("templates come from this file and the files it imports"),
                    };
                    b.emit();
                    continue;
                };
                if chain.contains(&t.decl.name.name.as_str()) {
                    let mut cycle: Vec<&str> = chain.clone();
                    cycle.push(&t.decl.name.name);
                    self.eval
                        .error(
                            Code::TemplateCycle,
                            name.span,
                            format!("template cycle: {}", cycle.join(" -> ")),
                        )
                        .label("uses a template that uses this one")
                        .emit();
                    continue;
                }
                chain.push(&t.decl.name.name);
                self.layers(&t.decl.body, chain, out);
                chain.pop();
                out.push((&t.decl.body, format!("template `{}`", t.decl.name.name)));
            }
        }
    }

    fn stage(
        &mut self,
        decl: &Decl,
        default_image: Option<&str>,
        default_image_failed: bool,
        default_ttl: u64,
        pipeline: &ir::Pipeline,
    ) -> (Option<ir::Stage>, StageSpans) {
        let errors_before = self.errors();
        let name = decl.name.name.clone();
        if let Err(why) = values::dns1035_label(&name) {
            self.eval
                .error(
                    Code::BadName,
                    decl.name.span,
                    format!("stage name `{name}` is not valid: {why}"),
                )
                .label("used in Job and host names")
                .help("stage names are lower-case letters, digits and `-`, starting with a letter")
                .emit();
        }
        let mut layers = Vec::new();
        let errors_before_use = self.errors();
        self.layers(&decl.body, &mut vec![], &mut layers);
        // A stage whose templates failed misses their fields: saying so again
        // as "no image" or "no run" would repeat the same mistake.
        let use_failed = self.errors() > errors_before_use;
        layers.push((&decl.body, "stage".to_string()));
        self.suggested.clear();

        // The winning value of each field, and every value of map fields.
        let mut last: BTreeMap<&str, &Field> = BTreeMap::new();
        let mut maps: BTreeMap<&str, Vec<&Expr>> = BTreeMap::new();
        for (layer, block) in &layers {
            let fields = self.fields_of(layer, "a stage");
            for (key, f) in self.unique_fields(&fields, STAGE_FIELDS, block) {
                if MAP_FIELDS.contains(&key) {
                    maps.entry(key).or_default().push(&f.value);
                }
                last.insert(key, f);
            }
        }

        let value = |k: &str| last.get(k).map(|f| &f.value);
        let image = match value("image") {
            Some(v) => self.image(v),
            None => match default_image {
                Some(i) => Some(i.to_string()),
                None if use_failed || default_image_failed || self.suggested.contains("image") => {
                    None
                }
                None => {
                    self.eval
                        .error(Code::MissingField, decl.name.span, format!("stage `{name}` has no image"))
                        .label("which container image runs this stage?")
                        .help("set `image = \"...\"` in the stage, in a template it uses, or once for all stages in the pipeline")
                        .emit();
                    None
                }
            },
        };
        let command = match value("run") {
            Some(v) => self.command(v),
            None if use_failed || self.suggested.contains("run") => None,
            None => {
                self.eval
                    .error(Code::MissingField, decl.name.span, format!("stage `{name}` has no `run` command"))
                    .label("nothing to run")
                    .help("add `run = \"python task.py {item}\"` (shell code) or `run = [\"python\", \"task.py\"]` (arguments)")
                    .emit();
                None
            }
        };
        let max = i64::from(i32::MAX);
        let workers = value("workers").map_or(Some(1), |v| self.eval.int(v, "workers", 1, max));
        let parallel =
            value("parallel").map_or(Some(1), |v| self.eval.int(v, "parallel", 1, 10_000));
        let retries = value("retry").map_or(Some(0), |v| self.eval.int(v, "retry", 0, 1_000));
        let timeout = match value("timeout") {
            Some(v) => match self.eval.duration(v) {
                Some(0) => {
                    self.eval
                        .error(
                            Code::OutOfRange,
                            v.span(),
                            "a timeout of 0 would stop every worker at once",
                        )
                        .emit();
                    None
                }
                other => other.map(Some),
            },
            None => Some(None),
        };
        let ttl = value("ttl").map_or(Some(default_ttl), |v| self.ttl(v));
        let reduce = match value("reduce") {
            Some(v) => {
                let reduce = self.command(v);
                if reduce.as_ref().is_some_and(Command::mentions_item) {
                    self.eval
                        .error(Code::ItemWithoutShard, v.span(), "`{item}` has no meaning in `reduce`")
                        .label("reduce runs once, after all items")
                        .help("read the workers' results from a shared volume; WORLD_SIZE says how many workers there were")
                        .emit();
                    None
                } else {
                    reduce.map(Some)
                }
            }
            None => Some(None),
        };
        let shard = match value("shard") {
            Some(v) => self.shard(v).map(Some),
            None => Some(None),
        };
        if let (Some(Command::Shell(_) | Command::Argv(_)), Some(None)) =
            (command.as_ref(), shard.as_ref())
            && command.as_ref().is_some_and(Command::mentions_item)
            && let Some(v) = value("run")
        {
            self.eval
                        .error(Code::ItemWithoutShard, v.span(), "the command uses the item (`{item}` or `$VCP_ITEM`) but the stage has no `shard` rule")
                        .label("no items to run this for")
                        .help("add `shard = range(0, 100)` (or a list, `lines(path)`, `files(glob)`), or remove `{item}`")
                        .emit();
        }
        let after = match value("after") {
            Some(v) => self.after(v),
            None => Vec::new(),
        };
        let env = self.env(maps.get("env").map_or(&[][..], Vec::as_slice));
        let working_dir = match value("working_dir") {
            Some(v) => self
                .eval
                .string(v)
                .and_then(|p| match values::absolute_path(&p) {
                    Ok(()) => Some(p),
                    Err(why) => {
                        self.eval
                            .error(
                                Code::BadPath,
                                v.span(),
                                format!("working_dir `{p}` is not valid: {why}"),
                            )
                            .label("invalid path")
                            .emit();
                        None
                    }
                }),
            None => None,
        };
        let mut node_selector =
            self.node_selector(maps.get("node_selector").map_or(&[][..], Vec::as_slice));
        let tolerations = match value("tolerations") {
            Some(v) => self.tolerations(v),
            None => Vec::new(),
        };
        let resources = self.resources(maps.get("resources").map_or(&[][..], Vec::as_slice));
        if let Some(model) = &resources.gpu_model {
            node_selector.insert(resources.gpu_model_label.clone(), model.clone());
        }
        let mut labels = pipeline.labels.clone();
        labels.extend(self.labels(maps.get("labels").map_or(&[][..], Vec::as_slice), true));
        let mut annotations = pipeline.annotations.clone();
        annotations.extend(self.labels(
            maps.get("annotations").map_or(&[][..], Vec::as_slice),
            false,
        ));

        let spans = StageSpans {
            name: decl.name.span,
            after: after.clone(),
            reduce: value("reduce").map(Expr::span),
        };
        if self.errors() > errors_before {
            return (None, spans);
        }
        let stage = (|| {
            Some(ir::Stage {
                name,
                span: decl.name.span,
                line: self.sources.location(decl.span).line,
                image: image?,
                command: command?,
                workers: u32::try_from(workers?).ok()?,
                parallel: u32::try_from(parallel?).ok()?,
                shard: shard?,
                retries: u32::try_from(retries?).ok()?,
                timeout: timeout?,
                ttl: ttl?,
                reduce: reduce?,
                after: {
                    let mut names: Vec<String> = after.iter().map(|i| i.name.clone()).collect();
                    names.sort();
                    names.dedup();
                    names
                },
                env,
                working_dir,
                node_selector,
                tolerations,
                resources,
                labels,
                annotations,
            })
        })();
        (stage, spans)
    }

    fn command(&mut self, v: &Expr) -> Option<Command> {
        match v {
            Expr::List { items, span } => {
                if items.is_empty() {
                    self.eval
                        .error(Code::WrongType, *span, "the argument list is empty")
                        .label("no program to run")
                        .emit();
                    return None;
                }
                let mut args = Vec::new();
                for item in items {
                    let text = self.eval.text(item)?;
                    let mut parts = Vec::new();
                    for (i, piece) in text.split("{item}").enumerate() {
                        if i > 0 {
                            parts.push(ArgPart::Item);
                        }
                        if !piece.is_empty() {
                            parts.push(ArgPart::Text(piece.to_string()));
                        }
                    }
                    args.push(parts);
                }
                Some(Command::Argv(args))
            }
            _ => {
                let code = self.eval.shell(v)?;
                if code.trim().is_empty() {
                    self.eval
                        .error(Code::WrongType, v.span(), "the command is empty")
                        .label("nothing to run")
                        .emit();
                    return None;
                }
                Some(Command::Shell(code))
            }
        }
    }

    fn shard(&mut self, v: &Expr) -> Option<ir::Shard> {
        let (source_expr, strategy) = match v {
            Expr::By {
                source, strategy, ..
            } => {
                let known = ["modulo", "block", "hash", "size"];
                let s = match strategy.name.as_str() {
                    "modulo" => Strategy::Modulo,
                    "block" => Strategy::Block,
                    "hash" => Strategy::Hash,
                    "size" => Strategy::Size,
                    other => {
                        let mut b = self
                            .eval
                            .error(
                                Code::UnknownShard,
                                strategy.span,
                                format!("unknown shard strategy `{other}`"),
                            )
                            .label("not a strategy");
                        b = match did_you_mean(other, known) {
                            Some(s) => b.help(format!("did you mean `{s}`?")),
                            None => b.help("strategies are `modulo`, `block`, `hash` and `size`"),
                        };
                        b.emit();
                        return None;
                    }
                };
                (&**source, s)
            }
            other => (other, Strategy::Modulo),
        };
        let source = self.item_source(source_expr)?;
        if strategy == Strategy::Size && source.is_static() {
            let what = if matches!(source, ItemSource::Range { .. }) {
                "numbers from `range`"
            } else {
                "a literal list"
            };
            let by_span = match v {
                Expr::By { strategy, .. } => strategy.span,
                _ => v.span(),
            };
            self.eval
                .error(Code::StrategyMismatch, by_span, format!("`size` balances files by their size, but the items are {what}"))
                .label("needs files")
                .secondary(source_expr.span(), "these items have no size")
                .help("use `files(\"/data/*.parquet\") by size` or `lines(\"list-of-paths.txt\") by size`; for other items use `modulo`, `block` or `hash`")
                .emit();
            return None;
        }
        Some(ir::Shard { source, strategy })
    }

    fn item_source(&mut self, expr: &Expr) -> Option<ItemSource> {
        match expr {
            Expr::List { items, span } => {
                if items.is_empty() {
                    self.eval
                        .error(Code::BadItem, *span, "the item list is empty")
                        .label("no items")
                        .help("list at least one item, or remove `shard`")
                        .emit();
                    return None;
                }
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    let Some(text) = self.eval.text(item) else {
                        ok = false;
                        continue;
                    };
                    if text.is_empty() || memchr::memchr2(b'\n', b'\0', text.as_bytes()).is_some() {
                        self.eval
                            .error(
                                Code::BadItem,
                                item.span(),
                                if text.is_empty() {
                                    "an item cannot be empty".to_string()
                                } else {
                                    "an item cannot contain a newline or NUL".to_string()
                                },
                            )
                            .label("invalid item")
                            .help("items travel one per line through the shard files")
                            .emit();
                        ok = false;
                        continue;
                    }
                    out.push(text);
                }
                ok.then_some(ItemSource::List(out))
            }
            Expr::Call { name, args, span } => match name.name.as_str() {
                "range" => {
                    if !(2..=3).contains(&args.len()) {
                        self.eval
                            .error(
                                Code::BadShardArgs,
                                *span,
                                format!(
                                    "`range` takes 2 or 3 arguments, got {}",
                                    plural(args.len(), "argument")
                                ),
                            )
                            .label("range(start, end) or range(start, end, step)")
                            .emit();
                        return None;
                    }
                    // Items are computed by awk in the wrapper, in doubles:
                    // keep them exact and printable as integers everywhere.
                    let limit = i64::from(i32::MAX);
                    let start = self.eval.int(&args[0], "range start", -limit, limit);
                    let end = self.eval.int(&args[1], "range end", -limit, limit);
                    let step = match args.get(2) {
                        Some(s) => {
                            let step = self.eval.int(s, "range step", -limit, limit)?;
                            if step == 0 {
                                self.eval
                                    .error(Code::BadShardArgs, s.span(), "a range step cannot be 0")
                                    .label("would never end")
                                    .emit();
                                return None;
                            }
                            step
                        }
                        None => 1,
                    };
                    let (start, end) = (start?, end?);
                    let empty = if step > 0 { start >= end } else { start <= end };
                    if empty {
                        self.eval
                            .error(Code::BadShardArgs, *span, format!("this range has no items: range({start}, {end}, {step})"))
                            .label("empty")
                            .help(if step > 0 {
                                "the end is exclusive and must be above the start; count down with a negative step: range(10, 0, -1)"
                            } else {
                                "with a negative step the end must be below the start"
                            })
                            .emit();
                        return None;
                    }
                    Some(ItemSource::Range { start, end, step })
                }
                "lines" | "files" => {
                    if args.len() != 1 {
                        self.eval
                            .error(
                                Code::BadShardArgs,
                                *span,
                                format!(
                                    "`{}` takes one argument, got {}",
                                    name.name,
                                    plural(args.len(), "argument")
                                ),
                            )
                            .label(if name.name == "lines" {
                                "lines(\"/data/items.txt\")"
                            } else {
                                "files(\"/data/*.csv\")"
                            })
                            .emit();
                        return None;
                    }
                    let text = self.eval.string(&args[0])?;
                    if text.is_empty() || text.contains(['\n', '\0']) {
                        self.eval
                            .error(
                                Code::BadShardArgs,
                                args[0].span(),
                                format!(
                                    "the argument of `{}` must be a non-empty path on one line",
                                    name.name
                                ),
                            )
                            .emit();
                        return None;
                    }
                    Some(if name.name == "lines" {
                        ItemSource::Lines(text)
                    } else {
                        ItemSource::Files(text)
                    })
                }
                other => {
                    let mut b = self
                        .eval
                        .error(
                            Code::UnknownShard,
                            name.span,
                            format!("unknown item source `{other}`"),
                        )
                        .label("not an item source");
                    b = match did_you_mean(other, ["range", "lines", "files"]) {
                        Some(s) => b.help(format!("did you mean `{s}`?")),
                        None => b.help("item sources are `range(start, end[, step])`, `[...]`, `lines(path)` and `files(glob)`"),
                    };
                    b.emit();
                    None
                }
            },
            other => {
                self.eval.wrong_type(
                    other,
                    "an item source: `range(...)`, `[...]`, `lines(...)` or `files(...)`",
                );
                None
            }
        }
    }

    fn after(&mut self, v: &Expr) -> Vec<Ident> {
        let items: Vec<&Expr> = match v {
            Expr::List { items, .. } => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Expr::Ident(i) => out.push(i.clone()),
                Expr::Str(s) if s.as_plain().is_some() => {
                    self.eval
                        .error(
                            Code::WrongType,
                            s.span,
                            "stages in `after` are names, not strings",
                        )
                        .label("remove the quotes")
                        .help(format!(
                            "write `after = [{}]`",
                            s.as_plain().unwrap_or_default()
                        ))
                        .emit();
                }
                other => self.eval.wrong_type(other, "a stage name"),
            }
        }
        out
    }

    fn env(&mut self, maps: &[&Expr]) -> Vec<ir::EnvVar> {
        let mut out: Vec<ir::EnvVar> = Vec::new();
        for (key, value, _) in self.map_entries(maps, "environment variable") {
            let name = key.name.clone();
            if let Err(why) = values::env_name(&name) {
                self.eval
                    .error(
                        Code::BadEnvName,
                        key.span,
                        format!("`{name}` is not a valid environment variable name: {why}"),
                    )
                    .label("invalid name")
                    .emit();
                continue;
            }
            if is_reserved_env(&name) {
                self.eval
                    .error(Code::BadEnvName, key.span, format!("`{name}` is set by vcp for every worker"))
                    .label("reserved")
                    .help("RANK, WORLD_SIZE and the VC_*, VK_* and VCP_* variables come from Volcano and the wrapper; choose another name")
                    .emit();
                continue;
            }
            let value = match value {
                Expr::Call {
                    name: f,
                    args,
                    span,
                } => {
                    let kind = f.name.as_str();
                    if kind != "secret" && kind != "config_map" {
                        let mut b = self
                            .eval
                            .error(
                                Code::UnknownName,
                                f.span,
                                format!("unknown function `{kind}`"),
                            )
                            .label("not a function");
                        b = match did_you_mean(kind, ["secret", "config_map"]) {
                            Some(s) => b.help(format!("did you mean `{s}`?")),
                            None => b.help("environment values are strings, `secret(name, key)` or `config_map(name, key)`"),
                        };
                        b.emit();
                        continue;
                    }
                    if args.len() != 2 {
                        self.eval
                            .error(
                                Code::WrongType,
                                *span,
                                format!(
                                    "`{kind}` takes a name and a key, got {}",
                                    plural(args.len(), "argument")
                                ),
                            )
                            .label(format!("{kind}(\"name\", \"key\")"))
                            .emit();
                        continue;
                    }
                    let object = self.name_value(
                        &args[0],
                        if kind == "secret" {
                            "secret"
                        } else {
                            "config map"
                        },
                        values::dns1123_subdomain,
                    );
                    let key_text = self.eval.string(&args[1]);
                    let Some(key_text) = key_text.filter(|k| match values::config_key(k) {
                        Ok(()) => true,
                        Err(why) => {
                            self.eval
                                .error(
                                    Code::BadName,
                                    args[1].span(),
                                    format!("key `{k}` is not valid: {why}"),
                                )
                                .emit();
                            false
                        }
                    }) else {
                        continue;
                    };
                    let Some(object) = object else { continue };
                    if kind == "secret" {
                        EnvValue::Secret {
                            name: object,
                            key: key_text,
                        }
                    } else {
                        EnvValue::ConfigMap {
                            name: object,
                            key: key_text,
                        }
                    }
                }
                other => {
                    let Some(text) = self.eval.text(other) else {
                        continue;
                    };
                    if let Some(why) = credential_smell(&name, &text) {
                        self.eval
                            .error(Code::InlineSecret, other.span(), format!("`{name}` looks like a credential written inline ({why})"))
                            .label("this value ends up in Git and in the manifests")
                            .help(format!("store it in a Secret and write `{name} = secret(\"<secret-name>\", \"<key>\")`"))
                            .warning()
                            .emit();
                    }
                    EnvValue::Literal(text)
                }
            };
            if let Some(existing) = out.iter_mut().find(|e| e.name == name) {
                // A later layer (the stage over its templates) wins.
                existing.value = value;
            } else {
                out.push(ir::EnvVar { name, value });
            }
        }
        out
    }

    fn node_selector(&mut self, maps: &[&Expr]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (key, value, _) in self.map_entries(maps, "node label") {
            if let Err(why) = values::qualified_name(&key.name) {
                self.eval
                    .error(
                        Code::BadLabelKey,
                        key.span,
                        format!("node label key `{}` is not valid: {why}", key.name),
                    )
                    .emit();
                continue;
            }
            let Some(text) = self.eval.text(value) else {
                continue;
            };
            if let Err(why) = values::label_value(&text) {
                self.eval
                    .error(
                        Code::BadLabelValue,
                        value.span(),
                        format!(
                            "node label value `{}` is not valid: {why}",
                            text.escape_debug()
                        ),
                    )
                    .emit();
                continue;
            }
            out.insert(key.name.clone(), text);
        }
        out
    }

    fn tolerations(&mut self, v: &Expr) -> Vec<ir::Toleration> {
        let items: Vec<&Expr> = match v {
            Expr::List { items, .. } => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            let Expr::Map(block) = item else {
                self.eval.wrong_type(item, "a toleration: { key = \"...\", operator = \"Exists\", effect = \"NoSchedule\" }");
                continue;
            };
            let fields = self.fields_of(block, "a toleration");
            let mut t = ir::Toleration {
                key: None,
                operator: None,
                value: None,
                effect: None,
                toleration_seconds: None,
            };
            let mut ok = true;
            let mut spans: BTreeMap<&str, Span> = BTreeMap::new();
            for (key, f) in self.unique_fields(&fields, TOLERATION_FIELDS, "toleration") {
                spans.insert(key, f.span);
                let v = &f.value;
                match key {
                    "key" => match self.eval.string(v) {
                        Some(k) if values::qualified_name(&k).is_ok() => t.key = Some(k),
                        Some(k) => {
                            self.eval
                                .error(
                                    Code::BadLabelKey,
                                    v.span(),
                                    format!("taint key `{k}` is not valid"),
                                )
                                .emit();
                            ok = false;
                        }
                        None => ok = false,
                    },
                    "operator" => t.operator = self.choice(v, &["Equal", "Exists"], "operator"),
                    "value" => t.value = self.eval.text(v),
                    "effect" => {
                        t.effect = self.choice(
                            v,
                            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
                            "effect",
                        )
                    }
                    _ => t.toleration_seconds = self.eval.int(v, "seconds", 0, i64::MAX),
                }
            }
            if t.operator.as_deref() == Some("Exists") && t.value.is_some() {
                self.eval
                    .error(
                        Code::WrongType,
                        spans.get("value").copied().unwrap_or(item.span()),
                        "a toleration with `operator = \"Exists\"` cannot have a `value`",
                    )
                    .help("remove `value`, or use `operator = \"Equal\"`")
                    .emit();
                ok = false;
            }
            if t.key.is_none() && t.operator.as_deref() != Some("Exists") {
                self.eval
                    .error(
                        Code::WrongType,
                        item.span(),
                        "a toleration without `key` must use `operator = \"Exists\"`",
                    )
                    .emit();
                ok = false;
            }
            if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
                self.eval
                    .error(
                        Code::WrongType,
                        spans.get("seconds").copied().unwrap_or(item.span()),
                        "`seconds` only applies with `effect = \"NoExecute\"`",
                    )
                    .emit();
                ok = false;
            }
            if ok {
                out.push(t);
            }
        }
        out
    }

    fn choice(&mut self, v: &Expr, options: &[&str], what: &str) -> Option<String> {
        let text = self.eval.string(v)?;
        if options.contains(&text.as_str()) {
            return Some(text);
        }
        let mut b = self
            .eval
            .error(
                Code::WrongType,
                v.span(),
                format!("`{text}` is not a valid {what}"),
            )
            .label(format!("expected one of {}", options.join(", ")));
        if let Some(s) = did_you_mean(&text, options.iter().copied()) {
            b = b.help(format!("did you mean `{s}`?"));
        }
        b.emit();
        None
    }

    fn resources(&mut self, maps: &[&Expr]) -> ir::Resources {
        let mut r = ir::Resources {
            gpu_resource: "nvidia.com/gpu".into(),
            gpu_model_label: "nvidia.com/gpu.product".into(),
            ..ir::Resources::default()
        };
        let mut gpu_model_span = None;
        for (key, value, span) in self.map_entries(maps, "resource") {
            match key.name.as_str() {
                k @ ("cpu" | "memory" | "ephemeral_storage") => {
                    let Some((text, q, qspan)) = self.eval.quantity(value) else {
                        continue;
                    };
                    if q.value <= 0.0 {
                        self.eval
                            .error(Code::BadQuantity, qspan, format!("{k} must be more than 0"))
                            .label("zero")
                            .help(format!("remove `{k}` to leave it unset"))
                            .emit();
                        continue;
                    }
                    if k != "cpu" && q.milli {
                        let number = text.trim_end_matches('m');
                        self.eval
                            .error(
                                Code::BadQuantity,
                                qspan,
                                format!("`{text}` of {k} means {number} thousandths of a byte"),
                            )
                            .label("`m` is milli, not mega")
                            .help(format!("did you mean `{number}Mi`?"))
                            .emit();
                        continue;
                    }
                    match k {
                        "cpu" => r.cpu = Some(text),
                        "memory" => r.memory = Some(text),
                        _ => r.ephemeral_storage = Some(text),
                    }
                }
                "gpu" => {
                    if let Some(n) = self.eval.int(value, "gpu", 0, 1024) {
                        r.gpu = u32::try_from(n).unwrap_or(0);
                    }
                }
                "gpu_resource" => {
                    if let Some(name) = self.eval.string(value) {
                        if !name.contains('/') || values::qualified_name(&name).is_err() {
                            self.eval
                                .error(Code::BadName, value.span(), format!("`{name}` is not an extended resource name"))
                                .label("expected `vendor.example/name`")
                                .help("GPU resources are named like `nvidia.com/gpu` or `amd.com/gpu`")
                                .emit();
                        } else {
                            r.gpu_resource = name;
                        }
                    }
                }
                "gpu_model" => {
                    if let Some(model) = self.eval.text(value) {
                        if let Err(why) = values::label_value(&model) {
                            self.eval
                                .error(
                                    Code::BadLabelValue,
                                    value.span(),
                                    format!(
                                        "GPU model `{model}` cannot be a node label value: {why}"
                                    ),
                                )
                                .emit();
                        } else {
                            r.gpu_model = Some(model);
                            gpu_model_span = Some(span);
                        }
                    }
                }
                "gpu_model_label" => {
                    if let Some(label) = self.eval.string(value) {
                        if let Err(why) = values::qualified_name(&label) {
                            self.eval
                                .error(
                                    Code::BadLabelKey,
                                    value.span(),
                                    format!("`{label}` is not a valid node label key: {why}"),
                                )
                                .emit();
                        } else {
                            r.gpu_model_label = label;
                        }
                    }
                }
                other => {
                    let mut b = self
                        .eval
                        .error(
                            Code::UnknownField,
                            key.span,
                            format!("unknown resource `{other}`"),
                        )
                        .label("unknown resource");
                    b = match ALIASES
                        .iter()
                        .find(|(a, _)| *a == other)
                        .map(|(_, m)| *m)
                        .or(match other {
                            "gpus" | "nvidia.com/gpu" => Some("gpu"),
                            "mem" => Some("memory"),
                            "ephemeral-storage" | "storage" | "disk" => Some("ephemeral_storage"),
                            _ => None,
                        })
                        .or_else(|| did_you_mean(other, RESOURCE_FIELDS.iter().copied()))
                    {
                        Some(s) => b.help(format!("did you mean `{s}`?")),
                        None => b.help(format!("resources are: {}", RESOURCE_FIELDS.join(", "))),
                    };
                    b.emit();
                }
            }
        }
        if r.gpu == 0
            && let Some(span) = gpu_model_span
        {
            self.eval
                .error(
                    Code::WrongType,
                    span,
                    "`gpu_model` is set but the stage requests no GPU",
                )
                .label("selects GPU nodes for nothing")
                .help("add `gpu = 1` (or more) to resources")
                .emit();
        }
        r
    }

    /// A stage named `x-reduce` would take the names of stage `x`'s reduce job.
    fn reduce_collisions(&mut self, stages: &[(ir::Stage, StageSpans)]) {
        for (s, spans) in stages {
            if let Some(base) = s.name.strip_suffix("-reduce")
                && let Some((_, other)) = stages
                    .iter()
                    .find(|(o, _)| o.name == base && o.reduce.is_some())
            {
                self.eval
                    .error(
                        Code::Duplicate,
                        spans.name,
                        format!(
                            "stage `{}` has the name of the reduce step of stage `{base}`",
                            s.name
                        ),
                    )
                    .secondary(other.reduce.unwrap_or(other.name), "that reduce step")
                    .help("rename the stage")
                    .emit();
            }
        }
    }

    /// Reports `after` entries that name no stage (or the stage itself);
    /// true when there was one.
    fn unknown_dependencies(
        &mut self,
        stages: &[(String, StageSpans)],
        names: &BTreeSet<&str>,
    ) -> bool {
        let mut bad = false;
        for (name, spans) in stages {
            for dep in &spans.after {
                if !names.contains(dep.name.as_str()) {
                    let mut b = self
                        .eval
                        .error(Code::UnknownStage, dep.span, format!("stage `{name}` runs after `{}`, which is not a stage of this pipeline", dep.name))
                        .label("unknown stage");
                    if let Some(m) = did_you_mean(&dep.name, names.iter().copied()) {
                        b = b.help(format!("did you mean `{m}`?"));
                    }
                    b.emit();
                    bad = true;
                } else if dep.name == *name {
                    self.eval
                        .error(
                            Code::DependencyCycle,
                            dep.span,
                            format!("stage `{name}` runs after itself"),
                        )
                        .label("it would never start")
                        .emit();
                    bad = true;
                }
            }
        }
        bad
    }

    /// The stages in dependency order; reports a cycle.
    fn order(&mut self, stages: Vec<(ir::Stage, StageSpans)>) -> Vec<ir::Stage> {
        // Kahn's algorithm; among ready stages, source order.
        let index: BTreeMap<&str, usize> = stages
            .iter()
            .enumerate()
            .map(|(i, (s, _))| (s.name.as_str(), i))
            .collect();
        // Kahn's algorithm with the ready stages kept in source order:
        // O((stages + edges) log stages).
        let mut pending: Vec<usize> = stages.iter().map(|(s, _)| s.after.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); stages.len()];
        for (j, (s, _)) in stages.iter().enumerate() {
            for dep in &s.after {
                if let Some(&i) = index.get(dep.as_str()) {
                    dependents[i].push(j);
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..stages.len()).filter(|&i| pending[i] == 0).collect();
        let mut done = vec![false; stages.len()];
        let mut order = Vec::with_capacity(stages.len());
        while let Some(next) = ready.pop_first() {
            done[next] = true;
            order.push(next);
            for &j in &dependents[next] {
                pending[j] -= 1;
                if pending[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        if order.len() < stages.len() {
            self.report_cycle(&stages, &done);
            return stages.into_iter().map(|(s, _)| s).collect();
        }
        let mut slots: Vec<Option<ir::Stage>> = stages.into_iter().map(|(s, _)| Some(s)).collect();
        order.into_iter().filter_map(|i| slots[i].take()).collect()
    }

    fn report_cycle(&mut self, stages: &[(ir::Stage, StageSpans)], done: &[bool]) {
        // Walk `after` edges among the stages left over until one repeats.
        let Some(mut at) = (0..stages.len()).find(|&i| !done[i]) else {
            return;
        };
        let mut path: Vec<usize> = Vec::new();
        while !path.contains(&at) {
            path.push(at);
            let next = stages[at]
                .0
                .after
                .iter()
                .filter_map(|d| stages.iter().position(|(s, _)| &s.name == d))
                .find(|&j| !done[j]);
            match next {
                Some(j) => at = j,
                None => return,
            }
        }
        let start = path.iter().position(|&i| i == at).unwrap_or(0);
        let cycle: Vec<usize> = path[start..].to_vec();
        let mut names: Vec<&str> = cycle.iter().map(|&i| stages[i].0.name.as_str()).collect();
        names.push(names[0]);
        let first = cycle[0];
        let second = cycle.get(1).copied().unwrap_or(first);
        let edge = stages[first]
            .1
            .after
            .iter()
            .find(|d| d.name == stages[second].0.name)
            .map_or(stages[first].1.name, |d| d.span);
        let mut b = self
            .eval
            .error(
                Code::DependencyCycle,
                edge,
                format!("stages wait for each other: {}", names.join(" runs after ")),
            )
            .label("closes the cycle")
            .help("no stage of a cycle can ever start; remove one of these `after` entries");
        for &i in &cycle[1..] {
            let next = cycle[(cycle.iter().position(|&c| c == i).unwrap_or(0) + 1) % cycle.len()];
            if let Some(d) = stages[i]
                .1
                .after
                .iter()
                .find(|d| d.name == stages[next].0.name)
            {
                b = b.secondary(
                    d.span,
                    format!(
                        "`{}` runs after `{}`",
                        stages[i].0.name, stages[next].0.name
                    ),
                );
            }
        }
        b.emit();
    }
}

/// True when one path is the other or lies below it.
fn overlaps(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn is_reserved_env(name: &str) -> bool {
    matches!(name, "RANK" | "WORLD_SIZE")
        || ["VC_", "VK_", "VCP_"].iter().any(|p| name.starts_with(p))
}

/// Why a literal environment value looks like a credential, if it does.
fn credential_smell(name: &str, value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    for suffix in [
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "API_KEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIALS",
    ] {
        if upper == suffix || upper.ends_with(&format!("_{suffix}")) {
            return Some("its name says so");
        }
    }
    let shapes: [(&str, usize); 8] = [
        ("ghp_", 30),
        ("github_pat_", 30),
        ("glpat-", 20),
        ("xoxb-", 20),
        ("xoxp-", 20),
        ("sk-", 30),
        ("hf_", 30),
        ("AKIA", 20),
    ];
    if shapes
        .iter()
        .any(|(p, len)| value.starts_with(p) && value.len() >= *len && !value.contains(' '))
    {
        return Some("its value has the shape of an access token");
    }
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return Some("its value is a private key");
    }
    None
}

/// A `--set` value read as the parameter's type.
fn parse_set(ty: &str, text: &str) -> Result<ParamValue, String> {
    match ty {
        "string" => Ok(ParamValue::String(text.to_string())),
        "int" => text
            .parse()
            .map(ParamValue::Int)
            .map_err(|_| format!("`{text}` is not an integer")),
        "bool" => match text {
            "true" => Ok(ParamValue::Bool(true)),
            "false" => Ok(ParamValue::Bool(false)),
            _ => Err(format!("`{text}` is not `true` or `false`")),
        },
        _ => values::duration(text)
            .map(ParamValue::Duration)
            .map_err(|why| format!("`{text}` is not a duration: {why}")),
    }
}
