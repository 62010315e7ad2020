//! Where and how big a worker is: resources, node selectors, tolerations.

use super::fields::{BlockKind, TOLERATION_EFFECTS, TOLERATION_OPERATORS, alias};
use super::pipeline::PipelineChecker;
use super::{fixes, values};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast::Expr;
use std::collections::BTreeMap;

impl PipelineChecker<'_> {
    pub(super) fn resources(&mut self, maps: &[&Expr]) -> ir::Resources {
        let mut r = ir::Resources {
            gpu_resource: "nvidia.com/gpu".into(),
            gpu_model_label: "nvidia.com/gpu.product".into(),
            ..ir::Resources::default()
        };
        let mut gpu_model_span = None;
        for (key, value, span) in self.map_entries(maps, "resource") {
            match key.name.as_str() {
                k @ ("cpu" | "memory" | "ephemeral_storage") => {
                    let Some((text, q, qspan)) = self.eval().quantity(value) else {
                        continue;
                    };
                    if q.value <= 0.0 {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadQuantity,
                                qspan,
                                format!("{k} must be more than 0"),
                            )
                            .with_label("zero")
                            .with_help(format!("remove `{k}` to leave it unset")),
                        );
                        continue;
                    }
                    if k != "cpu" && q.milli {
                        let number = text.trim_end_matches('m');
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadQuantity,
                                qspan,
                                format!("`{text}` of {k} means {number} thousandths of a byte"),
                            )
                            .with_label("`m` is milli, not mega")
                            .with_help(format!("did you mean `{number}Mi`?")),
                        );
                        continue;
                    }
                    match k {
                        "cpu" => r.cpu = Some(text),
                        "memory" => r.memory = Some(text),
                        _ => r.ephemeral_storage = Some(text),
                    }
                }
                "gpu" => {
                    if let Some(n) = self.eval().int(value, "gpu", 0, 1024) {
                        r.gpu = u32::try_from(n).unwrap_or(0);
                    }
                }
                "gpu_resource" => {
                    if let Some(name) = self.eval().string(value) {
                        if !name.contains('/') || values::qualified_name(&name).is_err() {
                            self.diags.push(
                                Diagnostic::error(Code::BadName, value.span(), format!("`{name}` is not an extended resource name"))
                                    .with_label("expected `vendor.example/name`")
                                    .with_help("GPU resources are named like `nvidia.com/gpu` or `amd.com/gpu`"),
                            );
                        } else {
                            r.gpu_resource = name;
                        }
                    }
                }
                "gpu_model" => {
                    if let Some(model) = self.eval().text(value) {
                        if let Err(why) = values::label_value(&model) {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadLabelValue,
                                    value.span(),
                                    format!("GPU model `{model}` cannot be a node label value: {why}"),
                                )
                                .with_label("selects nodes by this label value")
                                .with_help(label_value_help(&model, "write the model as your nodes' label shows it (`kubectl get nodes -L nvidia.com/gpu.product`)")),
                            );
                        } else {
                            r.gpu_model = Some(model);
                            gpu_model_span = Some(span);
                        }
                    }
                }
                "gpu_model_label" => {
                    if let Some(label) = self.eval().string(value) {
                        if let Err(why) = values::qualified_name(&label) {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadLabelKey,
                                    value.span(),
                                    format!("`{label}` is not a valid node label key: {why}"),
                                )
                                .with_help(label_key_help(&label)),
                            );
                        } else {
                            r.gpu_model_label = label;
                        }
                    }
                }
                other => {
                    let mut diag = Diagnostic::error(
                        Code::UnknownField,
                        key.span,
                        format!("unknown resource `{other}`"),
                    )
                    .with_label("unknown resource");
                    let resources = BlockKind::Resources.field_names();
                    diag = match alias(other).or_else(|| did_you_mean(other, resources.clone())) {
                        Some(s) => diag.with_help(format!("did you mean `{s}`?")),
                        None => {
                            let known: Vec<&str> = resources.collect();
                            diag.with_help(format!("resources are: {}", known.join(", ")))
                        }
                    };
                    self.diags.push(diag);
                }
            }
        }
        if r.gpu == 0
            && let Some(span) = gpu_model_span
        {
            self.diags.push(
                Diagnostic::error(
                    Code::WrongType,
                    span,
                    "`gpu_model` is set but the stage requests no GPU",
                )
                .with_label("selects GPU nodes for nothing")
                .with_help("add `gpu = 1` (or more) to resources"),
            );
        }
        r
    }

    pub(super) fn node_selector(&mut self, maps: &[&Expr]) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (key, value, _) in self.map_entries(maps, "node label") {
            if let Err(why) = values::qualified_name(&key.name) {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadLabelKey,
                        key.span,
                        format!("node label key `{}` is not valid: {why}", key.name),
                    )
                    .with_help(label_key_help(&key.name)),
                );
                continue;
            }
            let Some(text) = self.eval().text(value) else {
                continue;
            };
            if let Err(why) = values::label_value(&text) {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadLabelValue,
                        value.span(),
                        format!(
                            "node label value `{}` is not valid: {why}",
                            text.escape_debug()
                        ),
                    )
                    .with_help(label_value_help(
                        &text,
                        "write the value as `kubectl get nodes --show-labels` shows it",
                    )),
                );
                continue;
            }
            out.insert(key.name.clone(), text);
        }
        out
    }

    pub(super) fn tolerations(&mut self, v: &Expr) -> Vec<ir::Toleration> {
        let items: Vec<&Expr> = match v {
            Expr::List { items, .. } => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            let Expr::Map(block) = item else {
                self.eval().wrong_type(item, "a toleration: { key = \"...\", operator = \"Exists\", effect = \"NoSchedule\" }");
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
            for (key, f) in self.unique_fields(&fields, BlockKind::Toleration, "toleration") {
                spans.insert(key, f.span);
                let v = &f.value;
                match key {
                    "key" => match self.eval().string(v) {
                        Some(k) if values::qualified_name(&k).is_ok() => t.key = Some(k),
                        Some(k) => {
                            let why = values::qualified_name(&k).err().unwrap_or_default();
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadLabelKey,
                                    v.span(),
                                    format!("taint key `{k}` is not valid: {why}"),
                                )
                                .with_help(label_key_help(&k)),
                            );
                            ok = false;
                        }
                        None => ok = false,
                    },
                    "operator" => t.operator = self.choice(v, TOLERATION_OPERATORS, "operator"),
                    "value" => t.value = self.eval().text(v),
                    "effect" => t.effect = self.choice(v, TOLERATION_EFFECTS, "effect"),
                    _ => t.toleration_seconds = self.eval().int(v, "seconds", 0, i64::MAX),
                }
            }
            if t.operator.as_deref() == Some("Exists") && t.value.is_some() {
                self.diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        spans.get("value").copied().unwrap_or(item.span()),
                        "a toleration with `operator = \"Exists\"` cannot have a `value`",
                    )
                    .with_help("remove `value`, or use `operator = \"Equal\"`"),
                );
                ok = false;
            }
            if t.key.is_none() && t.operator.as_deref() != Some("Exists") {
                self.diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        item.span(),
                        "a toleration without `key` must use `operator = \"Exists\"`",
                    )
                    .with_help("name the taint (`key = \"nvidia.com/gpu\"`), or tolerate every taint with `operator = \"Exists\"`"),
                );
                ok = false;
            }
            if t.toleration_seconds.is_some() && t.effect.as_deref() != Some("NoExecute") {
                self.diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        spans.get("seconds").copied().unwrap_or(item.span()),
                        "`seconds` only applies with `effect = \"NoExecute\"`",
                    )
                    .with_help("add `effect = \"NoExecute\"`, or remove `seconds`"),
                );
                ok = false;
            }
            if ok {
                out.push(t);
            }
        }
        out
    }

    pub(super) fn choice(&mut self, v: &Expr, options: &[&str], what: &str) -> Option<String> {
        let text = self.eval().string(v)?;
        if options.contains(&text.as_str()) {
            return Some(text);
        }
        let mut diag = Diagnostic::error(
            Code::WrongType,
            v.span(),
            format!("`{text}` is not a valid {what}"),
        )
        .with_label(format!("expected one of {}", options.join(", ")));
        diag = match did_you_mean(&text, options.iter().copied()).or_else(|| {
            options
                .iter()
                .copied()
                .find(|o| o.eq_ignore_ascii_case(&text))
        }) {
            Some(s) => diag.with_help(format!("did you mean `{s}`?")),
            None => diag.with_help(format!("write one of `{}`", options.join("`, `"))),
        };
        self.diags.push(diag);
        None
    }
}

/// The help of an invalid label value: the nearest valid one, or `otherwise`.
fn label_value_help(text: &str, otherwise: &str) -> String {
    match fixes::label_value(text) {
        Some(fixed) => format!(
            "write `{fixed}`, if that is how your nodes are labelled: label values are at most 63 letters, digits, `-`, `_` and `.`"
        ),
        None => {
            format!("{otherwise}: label values are at most 63 letters, digits, `-`, `_` and `.`")
        }
    }
}

/// The help of an invalid label key: the nearest valid one, or the rule.
fn label_key_help(key: &str) -> String {
    match fixes::qualified_name(key) {
        Some(fixed) => format!("write `{fixed}` (keys are `name` or `prefix/name`: letters, digits, `-`, `_`, `.`)"),
        None => "keys are `name` or `prefix/name`: letters, digits, `-`, `_` and `.`, such as `nvidia.com/gpu.product`".into(),
    }
}
