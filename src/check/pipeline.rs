//! Checking one pipeline: its fields, then its parameters, volumes and
//! stages (each in its own file of this folder), the stage graph, and the
//! Kubernetes names vcp will emit.

use super::eval::Eval;
use super::fields::BlockKind;
use super::gitops::GitOpsField;
use super::names;
use super::overlay::Overlay;
use super::params::Params;
use super::scale;
use super::stage::StageSpans;
use super::{Options, TemplateRef};
use super::{fixes, values};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir;
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Decl, Entry, Expr, Field, Ident};
use std::collections::{BTreeMap, BTreeSet};

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

/// Kubernetes rejects an object whose annotations, keys and values, add up
/// to more (`TotalAnnotationSizeLimitB` in apimachinery's validation).
pub(super) const ANNOTATIONS_LIMIT: usize = 256 * 1024;
/// The part of it vcp keeps for its own annotations (`vcp.dev/source` with
/// the source's name, the GitOps ones): a few hundred bytes in practice.
pub(super) const VCP_ANNOTATIONS: usize = 4 * 1024;

pub(super) struct PipelineChecker<'a> {
    /// Fields the last unknown-field errors suggested (`command` -> `run`):
    /// not reported again as missing.
    pub(super) suggested: BTreeSet<String>,
    pub(super) sources: &'a SourceMap,
    pub(super) templates: &'a BTreeMap<String, TemplateRef<'a>>,
    pub(super) options: &'a Options,
    pub(super) params: Params,
    /// The pipeline's `gitops` field, which stages' `ttl`s must not fight.
    pub(super) gitops: GitOpsField,
    /// The diagnostics of the check, lent to the evaluator.
    pub(super) diags: &'a mut Diagnostics,
}

impl<'a> PipelineChecker<'a> {
    pub(super) fn new(
        sources: &'a SourceMap,
        templates: &'a BTreeMap<String, TemplateRef<'a>>,
        options: &'a Options,
        diags: &'a mut Diagnostics,
    ) -> PipelineChecker<'a> {
        PipelineChecker {
            suggested: BTreeSet::new(),
            sources,
            templates,
            options,
            params: Params::default(),
            gitops: GitOpsField::default(),
            diags,
        }
    }

    /// The evaluator, for one expression: it reads the parameters and
    /// reports to the checker's diagnostics.
    pub(super) fn eval(&mut self) -> Eval<'_> {
        Eval {
            sources: self.sources,
            params: &self.params,
            diags: self.diags,
        }
    }

    pub(super) fn param_names(&self) -> Vec<String> {
        self.params.names().cloned().collect()
    }

    pub(super) fn errors(&self) -> usize {
        self.diags.error_count()
    }

    pub(super) fn check(&mut self, decl: &Decl) -> Option<ir::Pipeline> {
        let errors_before = self.errors();
        let name = decl.name.name.clone();
        if let Err(why) = values::dns1035_label(&name) {
            self.diags.push(
                Diagnostic::error(
                    Code::BadName,
                    decl.name.span,
                    format!("pipeline name `{name}` is not valid: {why}"),
                )
                .with_label("used in Job, JobFlow and host names")
                .with_help(decl_name_help("pipeline", &name)),
            );
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
        let fields = self.unique_fields(&fields, BlockKind::Pipeline, "pipeline");
        let mut pipeline = ir::Pipeline {
            name: name.clone(),
            span: decl.name.span,
            source: self.sources.get(decl.span.file).key.clone(),
            line: self.sources.location(decl.span).line,
            namespace: "default".into(),
            queue: "default".into(),
            priority_class: None,
            service_account: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            replace_on_change: false,
            gitops: ir::GitOps::None,
            volumes: Vec::new(),
            params: self.params.to_values(),
            stages: Vec::new(),
        };
        let mut default_image = None;
        let mut default_image_failed = false;
        let mut default_ttl = DEFAULT_TTL;
        let mut namespace_span = decl.name.span;
        let mut overlay = Overlay::default();
        let (mut ttl, mut replace) = (None, None);
        self.gitops = GitOpsField::default();
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
                    if let Some(q) = self.eval().string(v) {
                        if q == "root" {
                            self.diags.push(
                                Diagnostic::error(Code::BadQueue, v.span(), "Volcano does not accept jobs in the `root` queue")
                                    .with_label("root queue")
                                    .with_help("submit to a leaf queue, such as `default`"),
                            );
                        } else if let Err(why) = values::dns1123_subdomain(&q).and_then(|()| {
                            if q.len() > 63 {
                                Err(format!("it has {} characters; Volcano writes it into a 63-character pod label", q.len()))
                            } else {
                                Ok(())
                            }
                        }) {
                            self.diags.push(
                                Diagnostic::error(Code::BadQueue, v.span(), format!("queue name `{q}` is not valid: {why}"))
                                    .with_label("invalid queue name")
                                    .with_help(match fixes::k8s_name(&q, values::dns1123_label) {
                                        Some(fixed) => format!("did you mean `{fixed}`? Volcano queue names are lower-case letters, digits and `-`"),
                                        None => "Volcano queue names are lower-case letters, digits and `-`, at most 63, such as `default`".into(),
                                    }),
                            );
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
                "annotations" => {
                    pipeline.annotations = self.labels(&[v], false);
                    self.annotations_fit(&pipeline.annotations, v.span());
                }
                "ttl" => {
                    ttl = Some(v);
                    if let Some(t) = self.ttl(v) {
                        default_ttl = t;
                    }
                }
                "replace_on_change" => {
                    replace = Some(v);
                    if let Some(b) = self.eval().bool(v) {
                        pipeline.replace_on_change = b;
                    }
                }
                "gitops" => self.gitops = self.gitops_field(v),
                "overlay" => overlay = self.overlay(v, field.span),
                _ => {}
            }
        }
        pipeline.gitops = self.gitops.tool;
        self.ttl_under_gitops(self.gitops, ttl);
        self.replace_under_gitops(self.gitops, replace);
        pipeline.volumes = self.volumes(&volumes);

        let mut seen: BTreeMap<&str, &Ident> = BTreeMap::new();
        let mut unique = Vec::new();
        for stage in &stages {
            if let Some(first) = seen.get(stage.name.name.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        stage.name.span,
                        format!("stage `{}` is defined twice", stage.name.name),
                    )
                    .with_label("second definition")
                    .with_secondary(first.span, "first defined here")
                    .with_help(format!(
                        "rename one of them (such as `stage {}-2`), or merge their fields into one stage",
                        stage.name.name
                    )),
                );
                continue;
            }
            seen.insert(&stage.name.name, &stage.name);
            unique.push(*stage);
        }
        // Stages are checked independently (each with its own diagnostics,
        // merged back in order), so they can spread over the cores.
        let (sources, templates, options) = (self.sources, self.templates, self.options);
        let params = &self.params;
        let gitops = self.gitops;
        let results = crate::par::map(&unique, |stage| {
            let mut diags = Diagnostics::new();
            let mut checker = PipelineChecker::new(sources, templates, options, &mut diags);
            checker.params = params.clone();
            checker.gitops = gitops;
            let (checked_stage, spans) = checker.stage(
                stage,
                default_image.as_deref(),
                default_image_failed,
                default_ttl,
                &pipeline,
            );
            (stage.name.name.clone(), checked_stage, spans, diags)
        });
        let mut all_spans = Vec::with_capacity(results.len());
        // Collected in place: the results' buffer becomes `checked`'s,
        // rather than a second vector of stages alongside it.
        let checked: Vec<(ir::Stage, StageSpans)> = results
            .into_iter()
            .filter_map(|(name, checked_stage, spans, diags)| {
                self.diags.extend(diags);
                all_spans.push((name, spans.clone()));
                Some((checked_stage?, spans))
            })
            .collect();
        // Unknown stages in `after` are reported even for stages with other errors.
        let names: BTreeSet<&str> = stages.iter().map(|s| s.name.name.as_str()).collect();
        let unknown_deps = self.unknown_dependencies(&all_spans, &names);
        if stages.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    Code::MissingField,
                    decl.name.span,
                    format!("pipeline `{name}` has no stages"),
                )
                .with_label("nothing to run")
                .with_help("add a stage: `stage work { run = \"...\" }`"),
            );
        }
        self.reduce_collisions(&checked);
        if self.errors() > errors_before || unknown_deps {
            return None;
        }
        let shard_spans: BTreeMap<String, Span> = checked
            .iter()
            .filter_map(|(s, spans)| Some((s.name.clone(), spans.shard?)))
            .collect();
        let gang_spans: BTreeMap<String, Span> = checked
            .iter()
            .filter_map(|(s, spans)| Some((s.name.clone(), spans.gang?)))
            .collect();
        pipeline.stages = self.order(checked);
        if self.errors() > errors_before {
            return None;
        }
        let stage_spans = self.stage_spans_of(&stages);
        names::check(
            &pipeline,
            decl,
            namespace_span,
            &overlay,
            &stage_spans,
            self.diags,
        );
        scale::check_hosts(&pipeline, &stage_spans, &gang_spans, self.diags);
        scale::check_outputs(&pipeline, &shard_spans, self.diags);
        (self.errors() == errors_before).then_some(pipeline)
    }

    pub(super) fn stage_spans_of(&self, stages: &[&Decl]) -> BTreeMap<String, Span> {
        stages
            .iter()
            .map(|s| (s.name.name.clone(), s.name.span))
            .collect()
    }

    pub(super) fn name_value(
        &mut self,
        v: &Expr,
        what: &str,
        rule: fn(&str) -> Result<(), String>,
    ) -> Option<String> {
        let text = self.eval().string(v)?;
        match rule(&text) {
            Ok(()) => Some(text),
            Err(why) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadName,
                        v.span(),
                        format!("{what} `{text}` is not a valid Kubernetes name: {why}"),
                    )
                    .with_label(format!("invalid {what}"))
                    .with_help(name_help(&text, rule)),
                );
                None
            }
        }
    }

    pub(super) fn image(&mut self, v: &Expr) -> Option<String> {
        let image = self.eval().string(v)?;
        if let Err(why) = values::image(&image) {
            self.diags.push(
                Diagnostic::error(
                    Code::BadImage,
                    v.span(),
                    format!("`{image}` is not a valid image reference: {why}"),
                )
                .with_label("invalid image")
                .with_help(match fixes::image(&image) {
                    Some(fixed) if image.contains(char::is_whitespace) => {
                        format!("write `{fixed}`; a command and its options go in `run`")
                    }
                    Some(fixed) => format!("write `{fixed}`"),
                    None => {
                        "images look like `python:3.12-slim` or `registry.example.com/team/app:1.4`"
                            .into()
                    }
                }),
            );
            return None;
        }
        let last = image.rsplit('/').next().unwrap_or(&image);
        let tag = last.split_once(':').map(|(_, t)| t);
        if !image.contains('@') && tag.is_none_or(|t| t == "latest") {
            self.diags.push(
                Diagnostic::warning(Code::UnpinnedImage, v.span(), format!("image `{image}` is not pinned to a version"))
                    .with_label(if tag.is_some() { "`latest` moves" } else { "no tag means `latest`" })
                    .with_help("pin a tag (`python:3.12-slim`) or a digest so that every run uses the same code"),
            );
        }
        Some(image)
    }

    pub(super) fn ttl(&mut self, v: &Expr) -> Option<u64> {
        let ttl = self.eval().duration(v)?;
        if ttl > i32::MAX as u64 {
            self.diags.push(
                Diagnostic::error(
                    Code::OutOfRange,
                    v.span(),
                    "ttl is too long for Kubernetes (at most about 68 years)",
                )
                .with_label("at most 2147483647 seconds")
                .with_help(
                    "write a shorter time, such as `ttl = 7d`: it is how long Volcano keeps a finished job",
                ),
            );
            return None;
        }
        Some(ttl)
    }

    /// Whether `annotations` (with the room vcp keeps for its own) fit the
    /// total Kubernetes allows on one object; E0508 at `span` otherwise.
    pub(super) fn annotations_fit(&mut self, annotations: &BTreeMap<String, String>, span: Span) {
        let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size + VCP_ANNOTATIONS <= ANNOTATIONS_LIMIT {
            return;
        }
        self.diags.push(
            Diagnostic::error(
                Code::AnnotationsTooLarge,
                span,
                format!(
                    "these annotations take {size} bytes; Kubernetes allows {ANNOTATIONS_LIMIT} on one object, of which vcp keeps {VCP_ANNOTATIONS} for its own"
                ),
            )
            .with_label("more than one object may carry")
            .with_help("annotations are for short notes: put large data in a ConfigMap or a file on a volume and annotate its name"),
        );
    }

    /// Labels (`label_values`) or annotations: maps of strings with valid
    /// keys; later maps override earlier ones key by key.
    pub(super) fn labels(
        &mut self,
        maps: &[&Expr],
        label_values: bool,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let what = if label_values { "label" } else { "annotation" };
        for (key, value, _) in self.map_entries(maps, what) {
            if let Err(why) = values::qualified_name(&key.name) {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadLabelKey,
                        key.span,
                        format!("{what} key `{}` is not valid: {why}", key.name),
                    )
                    .with_label(format!("invalid {what} key"))
                    .with_help(match fixes::qualified_name(&key.name) {
                        Some(fixed) => format!("write `{fixed}` (keys are `name` or `prefix/name`: letters, digits, `-`, `_`, `.`)"),
                        None => "keys are `name` or `prefix/name`: letters, digits, `-`, `_` and `.`, such as `team` or `example.com/team`".into(),
                    }),
                );
                continue;
            }
            if label_values && RESERVED_LABELS.contains(&key.name.as_str()) {
                self.diags.push(
                    Diagnostic::error(Code::BadLabelKey, key.span, format!("vcp sets the label `{}` itself", key.name))
                        .with_label("reserved")
                        .with_help("vcp labels every object with app.kubernetes.io/name, part-of, component and managed-by"),
                );
                continue;
            }
            let Some(text) = self.eval().text(value) else {
                continue;
            };
            if label_values && let Err(why) = values::label_value(&text) {
                self.diags.push(
                    Diagnostic::error(Code::BadLabelValue, value.span(), format!("label value `{}` is not valid: {why}", text.escape_debug()))
                        .with_label("invalid label value")
                        .with_help("label values are at most 63 letters, digits, `-`, `_` and `.`; put free text in an annotation"),
                );
                continue;
            }
            out.insert(key.name.clone(), text);
        }
        out
    }
}

/// The help of an invalid Kubernetes name: the nearest valid one, or the rule.
pub(super) fn name_help(text: &str, rule: fn(&str) -> Result<(), String>) -> String {
    let dots = rule("a.b").is_ok();
    match fixes::k8s_name(text, rule) {
        Some(fixed) => format!("write `{fixed}`"),
        None if dots => {
            "names are lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit".into()
        }
        None => "names are lower-case letters, digits and `-`, starting and ending with a letter or digit, at most 63".into(),
    }
}

/// The help of an invalid pipeline or stage name (`what`): the rule, and the
/// nearest valid name.
pub(super) fn decl_name_help(what: &str, name: &str) -> String {
    let rule =
        format!("{what} names are lower-case letters, digits and `-`, starting with a letter");
    match fixes::k8s_name(name, values::dns1035_label) {
        Some(fixed) => format!("write `{what} {fixed}`: {rule}"),
        None => rule,
    }
}
