//! Evaluating expressions against the type a field expects. Each evaluator
//! returns `None` after reporting a diagnostic, so that checking goes on and
//! every mistake of a file is reported in one run.

use super::params::Params;
use super::{fixes, values};
use crate::diag::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::ir::{self, ParamValue};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Expr, StrLit, StrPart};

/// The evaluator: borrowed from the checker for each expression it reads,
/// with the pipeline's parameters and the checker's diagnostics.
pub(super) struct Eval<'a> {
    pub(super) sources: &'a SourceMap,
    pub(super) params: &'a Params,
    pub(super) diags: &'a mut Diagnostics,
}

impl Eval<'_> {
    pub(super) fn wrong_type(&mut self, expr: &Expr, expected: &str) {
        let mut help = None;
        match expr {
            Expr::Number { text, .. } | Expr::Quantity { text, .. }
                if expected.contains("string") =>
            {
                help = Some(format!("write it in quotes: \"{text}\""));
            }
            Expr::Number { text, .. } if expected == "an integer" => {
                if let Ok(v) = text.parse::<f64>() {
                    help = Some(format!(
                        "write a whole number, such as `{}` or `{}`",
                        v.floor(),
                        v.ceil()
                    ));
                }
            }
            Expr::Str(s) if expected == "an integer" => {
                if let Some(t) = s.as_plain().filter(|t| t.parse::<i64>().is_ok()) {
                    help = Some(format!("write the number without quotes: {t}"));
                }
            }
            Expr::Ident(i) if expected.contains("string") => {
                help = Some(format!(
                    "strings are written in double quotes: \"{}\"",
                    i.name
                ));
            }
            _ => {}
        }
        let help = help.unwrap_or_else(|| what_to_write(expected));
        self.diags.push(
            Diagnostic::error(
                Code::WrongType,
                expr.span(),
                format!("expected {expected}, found {}", expr.describe()),
            )
            .with_label(format!("expected {expected}"))
            .with_help(help),
        );
    }

    /// The parameter a name refers to, reporting E0201 when there is none.
    fn param(&mut self, name: &str, span: Span) -> Option<ParamValue> {
        if let Some(value) = self.params.value(name) {
            return Some(value.clone());
        }
        if self.params.is_declared(name) {
            return None;
        }
        let suggestion = did_you_mean(name, self.params.usable_names()).map(str::to_string);
        let mut diag = Diagnostic::error(
            Code::UnknownName,
            span,
            format!("unknown parameter `{name}`"),
        )
        .with_label("not a parameter of this pipeline");
        let shell_like = name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        diag = match suggestion {
            Some(s) => diag.with_help(format!("did you mean `{s}`?")),
            None if shell_like => diag.with_help(format!(
                "`${{{name}}}` inserts a vcp parameter; for the shell variable write `${name}` or `$${{{name}}}`"
            )),
            None => diag.with_help(format!(
                "declare it in the pipeline: `param {name}: string = \"...\"`"
            )),
        };
        self.diags.push(diag);
        None
    }

    /// True for a name that is a parameter, usable or not.
    fn is_param(&self, name: &str) -> bool {
        self.params.is_declared(name)
    }

    /// A string with `${param}` replaced by the parameters' values.
    pub(super) fn string(&mut self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Str(s) => self.interpolate(s, |_, value| value.to_text()),
            Expr::Ident(i) if self.is_param(&i.name) => {
                self.param(&i.name, i.span).map(|v| v.to_text())
            }
            _ => {
                self.wrong_type(expr, "a string");
                None
            }
        }
    }

    /// A string, or a number or boolean taken as text (environment values,
    /// list items).
    pub(super) fn text(&mut self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Number { text, .. } => Some(text.clone()),
            Expr::Bool { value, .. } => Some(value.to_string()),
            _ => self.string(expr),
        }
    }

    fn interpolate(
        &mut self,
        s: &StrLit,
        render: impl Fn(&str, &ParamValue) -> String,
    ) -> Option<String> {
        let mut out = String::new();
        let mut ok = true;
        for part in &s.parts {
            match part {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Interp(id) => match self.param(&id.name, id.span) {
                    Some(v) => out.push_str(&render(&id.name, &v)),
                    None => ok = false,
                },
            }
        }
        ok.then_some(out)
    }

    /// Shell code: `${param}` becomes a reference to the variable the wrapper
    /// exports (never the value itself, so a value is never parsed as code),
    /// and `{item}` becomes one quoted word.
    pub(super) fn shell(&mut self, expr: &Expr) -> Option<String> {
        let Expr::Str(s) = expr else {
            self.wrong_type(
                expr,
                "a string (shell code) or a list of strings (arguments)",
            );
            return None;
        };
        let code = self.interpolate(s, |name, _| format!("${{{}}}", ir::param_env_name(name)))?;
        if item_in_single_quotes(&code) {
            // Point at the `{item}` itself when the source shows it.
            let raw = self.sources.slice(s.span);
            let at = raw
                .match_indices("{item}")
                .find(|(i, _)| raw[..*i].matches('\'').count() % 2 == 1)
                .map_or(s.span, |(i, _)| s.span.sub(i, "{item}".len()));
            self.diags.push(
                Diagnostic::error(Code::QuotedItem, at, "`{item}` is inside single quotes")
                    .with_label("the shell will not expand it here")
                    .with_help("write `{item}` unquoted or inside double quotes; it always becomes exactly one argument"),
            );
            return None;
        }
        Some(code.replace("{item}", ir::SHELL_ITEM))
    }

    /// An integer in `min..=max`; `what` names the field in messages.
    pub(super) fn int(&mut self, expr: &Expr, what: &str, min: i64, max: i64) -> Option<i64> {
        let (value, span) = match expr {
            Expr::Number { text, span } if !text.contains('.') => match text.parse::<i64>() {
                Ok(v) => (v, *span),
                Err(_) => {
                    self.out_of_range(*span, what, text, min, max);
                    return None;
                }
            },
            Expr::Ident(i) if self.is_param(&i.name) => match self.param(&i.name, i.span)? {
                ParamValue::Int(v) => (v, i.span),
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::WrongType,
                            i.span,
                            format!("parameter `{}` is not an `int`", i.name),
                        )
                        .with_label("expected an integer")
                        .with_help(format!(
                            "declare it `param {}: int = ...`, or write a number here",
                            i.name
                        )),
                    );
                    return None;
                }
            },
            Expr::Ident(i) => {
                self.param(&i.name, i.span);
                return None;
            }
            // `5e9`: a whole number in scientific notation, which integer
            // fields do not read; say what it would be in digits.
            Expr::Quantity { text, span } if let Some(v) = scientific_integer(text) => {
                if v < min as f64 || v > max as f64 {
                    self.out_of_range(*span, what, text, min, max);
                } else {
                    self.diags.push(
                        Diagnostic::error(
                            Code::WrongType,
                            *span,
                            format!("expected an integer, found `{text}` in scientific notation"),
                        )
                        .with_label("expected an integer")
                        .with_help(format!("write it in digits: `{}`", v as i64)),
                    );
                }
                return None;
            }
            _ => {
                self.wrong_type(expr, "an integer");
                return None;
            }
        };
        if value < min || value > max {
            self.out_of_range(span, what, &value.to_string(), min, max);
            return None;
        }
        Some(value)
    }

    fn out_of_range(&mut self, span: Span, what: &str, text: &str, min: i64, max: i64) {
        let too_small = match text.parse::<i64>() {
            Ok(v) => v < min,
            Err(_) => scientific_integer(text).map_or(text.starts_with('-'), |v| v < min as f64),
        };
        let range = if max < i64::from(i32::MAX) {
            format!("between {min} and {max}")
        } else if too_small {
            format!("at least {min}")
        } else {
            format!("at most {max}")
        };
        self.diags.push(
            Diagnostic::error(
                Code::OutOfRange,
                span,
                format!("`{what}` = {text} is out of range: it must be {range}"),
            )
            .with_label(format!("must be {range}"))
            .with_help(range_help(what, min, max, too_small)),
        );
    }

    pub(super) fn bool(&mut self, expr: &Expr) -> Option<bool> {
        match expr {
            Expr::Bool { value, .. } => Some(*value),
            Expr::Ident(i) if self.is_param(&i.name) => match self.param(&i.name, i.span)? {
                ParamValue::Bool(b) => Some(b),
                _ => {
                    self.wrong_type(expr, "a boolean (`true` or `false`)");
                    None
                }
            },
            _ => {
                self.wrong_type(expr, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    /// A duration in seconds: `30m`, `1h30m`, or a `duration` parameter.
    pub(super) fn duration(&mut self, expr: &Expr) -> Option<u64> {
        let (text, span) = match expr {
            Expr::Quantity { text, span } => (text.clone(), *span),
            Expr::Str(s) => (self.string(expr)?, s.span),
            Expr::Number { text, span } => {
                self.diags.push(
                    Diagnostic::error(Code::BadDuration, *span, format!("`{text}` has no unit"))
                        .with_label("a duration needs a unit")
                        .with_help(format!("write `{text}s`, `{text}m` or `{text}h`")),
                );
                return None;
            }
            Expr::Ident(i) if self.is_param(&i.name) => match self.param(&i.name, i.span)? {
                ParamValue::Duration(d) => return Some(d),
                _ => {
                    self.wrong_type(expr, "a duration such as `30m`");
                    return None;
                }
            },
            _ => {
                self.wrong_type(expr, "a duration such as `30m`");
                return None;
            }
        };
        match values::duration(&text) {
            Ok(d) => Some(d),
            Err(why) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadDuration,
                        span,
                        format!("`{text}` is not a valid duration: {why}"),
                    )
                    .with_label("invalid duration")
                    .with_help(match fixes::duration(&text) {
                        Some(fixed) => format!("write `{fixed}`"),
                        None => "durations look like `30s`, `10m`, `2h`, `1d` or `1h30m`".into(),
                    }),
                );
                None
            }
        }
    }

    /// A quantity as written (`"500m"`, `2`, `4Gi`), checked.
    pub(super) fn quantity(&mut self, expr: &Expr) -> Option<(String, values::Quantity, Span)> {
        let (text, span) = match expr {
            Expr::Quantity { text, span } | Expr::Number { text, span } => (text.clone(), *span),
            Expr::Str(s) => (self.string(expr)?, s.span),
            _ => {
                self.wrong_type(expr, "a quantity such as \"500m\" or \"4Gi\"");
                return None;
            }
        };
        match values::quantity(&text) {
            Ok(q) => Some((text, q, span)),
            Err(why) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadQuantity,
                        span,
                        format!("`{text}` is not a valid quantity: {why}"),
                    )
                    .with_label("invalid quantity")
                    .with_help(quantity_help(&text)),
                );
                None
            }
        }
    }
}

/// The value of a whole number written like `5e9` or `1.5E3`.
fn scientific_integer(text: &str) -> Option<f64> {
    let v: f64 = text.parse().ok()?;
    (text.contains(['e', 'E']) && v.is_finite() && v.fract() == 0.0).then_some(v)
}

/// The help of a value of the wrong type, by what was expected.
fn what_to_write(expected: &str) -> String {
    if expected == "an integer" {
        "write a whole number without quotes, such as `4`".into()
    } else if expected.starts_with("a boolean") {
        "write `true` or `false`, without quotes".into()
    } else if expected.starts_with("a duration") {
        "write a duration such as `30m`, `2h` or `1h30m`".into()
    } else if expected.starts_with("a quantity") {
        "write a quantity such as `500m`, `2` or `4Gi`".into()
    } else if expected == "a string" {
        "write text in double quotes: \"...\"".into()
    } else if expected == "a stage name" {
        "write the names of earlier stages, without quotes: `after = [extract]`".into()
    } else if expected.starts_with("a template name") {
        "write the names of templates, without quotes: `use = gpu` or `use = [base, gpu]`".into()
    } else {
        format!("write {expected}")
    }
}

/// The help of a number out of range: the range, and the nearest value in it.
fn range_help(what: &str, min: i64, max: i64, too_small: bool) -> String {
    let range = match (min, max) {
        (i64::MIN, i64::MAX) => "a whole number that fits in 64 bits".to_string(),
        (min, i64::MAX) => format!("a whole number of {min} or more"),
        (min, max) => format!("a whole number from {min} to {max}"),
    };
    let field = what.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let mut help = if field && (too_small || max <= 1_000_000) {
        let nearest = if too_small { min } else { max };
        format!("write {range}, such as `{what} = {nearest}`")
    } else {
        format!("write {range}")
    };
    if max == i64::from(i32::MAX) {
        help.push_str(" (Kubernetes keeps it in 32 bits)");
    }
    help
}

/// `2 cores`, `4cpu`: a CPU count with a unit of speech.
fn is_cores(text: &str) -> bool {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    !number.is_empty()
        && matches!(
            unit.trim().to_ascii_lowercase().as_str(),
            "core" | "cores" | "cpu" | "cpus" | "vcpu" | "vcpus"
        )
}

/// The help of an invalid quantity: the right unit for the one written.
fn quantity_help(text: &str) -> String {
    match fixes::quantity(text) {
        Some((binary, decimal)) => format!(
            "write `{binary}` (powers of 1024, as memory is usually meant) or `{decimal}` (powers of 1000)"
        ),
        None if text.starts_with('-') => "write a positive amount, such as `500m` or `4Gi`".into(),
        None if is_cores(text) => {
            let n = text.trim_end_matches(|c: char| !(c.is_ascii_digit() || c == '.'));
            format!("CPUs are counted without a unit: write `{n}`")
        }
        None => "quantities are a number and a suffix: `500m` (CPU), `2`, `4Gi`, `512Mi`".into(),
    }
}

/// True when `{item}` appears where a POSIX shell reads single-quoted text.
fn item_in_single_quotes(code: &str) -> bool {
    let mut single = false;
    let mut double = false;
    let mut escaped = false;
    let bytes = code.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if !single => escaped = true,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'{' if single && code[i..].starts_with("{item}") => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::item_in_single_quotes;

    #[test]
    fn single_quote_tracking() {
        assert!(item_in_single_quotes("echo '{item}'"));
        assert!(!item_in_single_quotes("echo \"{item}\""));
        assert!(!item_in_single_quotes("echo \"it's {item}\""));
        assert!(!item_in_single_quotes("echo 'a' {item}"));
        assert!(!item_in_single_quotes("echo \\'{item}"));
    }
}
