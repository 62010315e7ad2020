//! Parameters: declarations, defaults and `--set` overrides.

use super::eval::Param;
use super::pipeline::PipelineChecker;
use super::values;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir::{self, ParamValue};
use crate::syntax::ast::{Expr, Ident, StrPart};
use std::collections::BTreeMap;

const PARAM_TYPES: &[&str] = &["string", "int", "bool", "duration"];

impl PipelineChecker<'_> {
    /// Declared parameters, with `--set` overrides applied.
    pub(super) fn params(&mut self, params: &[&crate::syntax::ast::Param]) {
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

    pub(super) fn param_default(&mut self, ty: &str, expr: &Expr) -> Option<ParamValue> {
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
