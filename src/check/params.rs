//! Parameters: declarations, defaults and `--set` overrides.

use super::pipeline::PipelineChecker;
use super::{fixes, values};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir::{self, ParamValue};
use crate::source::Span;
use crate::syntax::ast::{Expr, Ident, StrPart};
use std::collections::{BTreeMap, BTreeSet};

const PARAM_TYPES: &[&str] = &["string", "int", "bool", "duration"];

/// A pipeline's parameters: the usable values (defaults overridden by
/// `--set`), and the names declared without one. The checker owns them and
/// lends them to the evaluator.
#[derive(Clone, Debug, Default)]
pub(super) struct Params {
    values: BTreeMap<String, Param>,
    /// Declared parameters without a usable value (their error is already
    /// reported): using one fails quietly instead of "unknown parameter".
    poisoned: BTreeSet<String>,
}

/// A usable parameter: its final value and where it is declared.
#[derive(Clone, Debug)]
struct Param {
    value: ParamValue,
    span: Span,
}

impl Params {
    pub(super) fn value(&self, name: &str) -> Option<&ParamValue> {
        self.values.get(name).map(|p| &p.value)
    }

    /// True for a declared parameter, usable or not.
    pub(super) fn is_declared(&self, name: &str) -> bool {
        self.values.contains_key(name) || self.poisoned.contains(name)
    }

    /// The names of the usable parameters, sorted.
    pub(super) fn usable_names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Every declared name: the usable ones, then the others.
    pub(super) fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys().chain(&self.poisoned)
    }

    /// The final values, by name, as the IR holds them.
    pub(super) fn to_values(&self) -> BTreeMap<String, ParamValue> {
        self.values
            .iter()
            .map(|(name, p)| (name.clone(), p.value.clone()))
            .collect()
    }
}

impl PipelineChecker<'_> {
    /// Declared parameters, with `--set` overrides applied.
    pub(super) fn params(&mut self, params: &[&crate::syntax::ast::Param]) {
        let mut env_names: BTreeMap<String, &Ident> = BTreeMap::new();
        for p in params {
            if let Some(first) = self.params.values.get(&p.name.name) {
                let first = first.span;
                self.diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        p.name.span,
                        format!("parameter `{}` is declared twice", p.name.name),
                    )
                    .with_label("second declaration")
                    .with_secondary(first, "first declared here")
                    .with_help("remove one of them, or rename it (and its uses)"),
                );
                continue;
            }
            let env = ir::param_env_name(&p.name.name);
            if let Some(other) = env_names.get(&env) {
                let other = other.span;
                self.diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        p.name.span,
                        format!(
                            "parameters `{}` and `{}` would both be exported as `{env}`",
                            p.name.name,
                            self.sources.slice(other)
                        ),
                    )
                    .with_secondary(other, "the other one")
                    .with_help("rename one of them"),
                );
                continue;
            }
            env_names.insert(env, &p.name);
            let ty = p.ty.name.as_str();
            if !PARAM_TYPES.contains(&ty) {
                let mut diag = Diagnostic::error(
                    Code::UnknownName,
                    p.ty.span,
                    format!("unknown parameter type `{ty}`"),
                )
                .with_label("not a type");
                let alias = match ty {
                    "integer" | "number" | "i64" | "u32" | "long" => Some("int"),
                    "str" | "text" | "path" => Some("string"),
                    "boolean" => Some("bool"),
                    "time" | "timedelta" | "interval" => Some("duration"),
                    _ => None,
                };
                diag = match alias.or_else(|| did_you_mean(ty, PARAM_TYPES.iter().copied())) {
                    Some(s) => diag.with_help(format!("did you mean `{s}`?")),
                    None => {
                        diag.with_help("parameter types are `string`, `int`, `bool` and `duration`")
                    }
                };
                self.diags.push(diag);
                self.params.poisoned.insert(p.name.name.clone());
                continue;
            }
            let set = self
                .options
                .sets
                .iter()
                .rev()
                .find(|(n, _)| *n == p.name.name)
                .map(|(_, v)| v.clone());
            let value =
                match set {
                    Some(text) => match parse_set(ty, &text) {
                        Ok(v) => Some(v),
                        Err(why) => {
                            self.diags.push(
                                Diagnostic::global(
                                    Code::BadSet,
                                    format!("`--set {}={text}`: {why}", p.name.name),
                                )
                                .with_secondary(
                                    p.span,
                                    format!("`{}` is declared `{ty}` here", p.name.name),
                                )
                                .with_help(set_help(
                                    &p.name.name,
                                    ty,
                                    &text,
                                    p.default.as_ref().map(|d| self.sources.slice(d.span())),
                                )),
                            );
                            None
                        }
                    },
                    None => match &p.default {
                        // Defaults cannot refer to other parameters: no order to resolve them in.
                        Some(d) => self.param_default(ty, d),
                        None => {
                            self.diags.push(Diagnostic::error(
                                Code::MissingField,
                                p.span,
                                format!("parameter `{}` has no default value", p.name.name),
                            ).with_label("needs a value").with_help(format!(
                                "give it a default (`param {}: {ty} = ...`) or pass `--set {}=...`",
                                p.name.name, p.name.name
                            )));
                            None
                        }
                    },
                };
            match value {
                Some(value) => {
                    self.params.values.insert(
                        p.name.name.clone(),
                        Param {
                            value,
                            span: p.name.span,
                        },
                    );
                }
                None => {
                    self.params.poisoned.insert(p.name.name.clone());
                }
            }
        }
    }

    pub(super) fn param_default(&mut self, ty: &str, expr: &Expr) -> Option<ParamValue> {
        if let Expr::Str(s) = expr
            && let Some(StrPart::Interp(id)) =
                s.parts.iter().find(|p| matches!(p, StrPart::Interp(_)))
        {
            self.diags.push(
                Diagnostic::error(
                    Code::BadString,
                    id.span,
                    "a parameter default cannot refer to another parameter",
                )
                .with_label("not allowed in a default")
                .with_help(format!(
                    "write the value itself, or use `${{{}}}` where this parameter is used",
                    id.name
                )),
            );
            return None;
        }
        match ty {
            "string" => self.eval().string(expr).map(ParamValue::String),
            "int" => self
                .eval()
                .int(expr, "the default", i64::MIN, i64::MAX)
                .map(ParamValue::Int),
            "bool" => self.eval().bool(expr).map(ParamValue::Bool),
            _ => self.eval().duration(expr).map(ParamValue::Duration),
        }
    }
}

/// The help of a `--set` value that does not fit the type `ty` of `name`:
/// a value that does, the default's own text when there is one.
fn set_help(name: &str, ty: &str, text: &str, default: Option<&str>) -> String {
    let example = |fallback: &str| {
        default
            .filter(|d| !d.starts_with('"'))
            .unwrap_or(fallback)
            .to_string()
    };
    match ty {
        "int" => {
            let fixed = text
                .trim()
                .replace(['_', ','], "")
                .parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && v.abs() < 9e15)
                .map_or_else(|| example("4"), |v| (v as i64).to_string());
            format!("`{name}` is an `int`: write a whole number, such as `--set {name}={fixed}`")
        }
        "bool" => {
            let fixed = match text.to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" | "1" => "true",
                _ => "false",
            };
            format!(
                "`{name}` is a `bool`: write `--set {name}={fixed}` (exactly `true` or `false`)"
            )
        }
        _ => match fixes::duration(text) {
            Some(fixed) => format!("`{name}` is a `duration`: write `--set {name}={fixed}`"),
            None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => format!(
                "`{name}` is a `duration`: add a unit, such as `--set {name}={text}s` or `--set {name}={text}m`"
            ),
            None => format!(
                "`{name}` is a `duration`: write a number and a unit, such as `--set {name}={}`",
                example("30m")
            ),
        },
    }
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
