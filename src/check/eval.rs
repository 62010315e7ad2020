//! Evaluating expressions against the type a field expects. Each evaluator
//! returns `None` after reporting a diagnostic, so that checking goes on and
//! every mistake of a file is reported in one run.

use super::params::Params;
use super::shell::{self, Unit};
use super::{fixes, values};
use crate::diag::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::ir::{self, ParamValue};
use crate::source::{SourceMap, Span};
use crate::syntax::ast::{Expr, StrLit, StrPart};

const ITEM: &str = "{item}";

/// A slot of shell code: what stands there.
#[derive(Clone, Debug, PartialEq)]
enum Slot {
    Item,
    /// `number`: an `int` parameter, whose value is digits.
    Param {
        name: String,
        span: Span,
        number: bool,
    },
}

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
    /// and `{item}` a reference to `VCP_ITEM`, each written for the quoting
    /// context it stands in (`shell.rs`), so that the command receives the
    /// exact bytes; a context where that cannot be is an error.
    pub(super) fn shell(&mut self, expr: &Expr) -> Option<String> {
        let Expr::Str(s) = expr else {
            self.wrong_type(
                expr,
                "a string (shell code) or a list of strings (arguments)",
            );
            return None;
        };
        // The code as units, with a slot for each `{item}` and `${param}`.
        let mut units = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        let mut ok = true;
        for part in &s.parts {
            match part {
                StrPart::Text(t) => {
                    let mut rest = t.as_str();
                    while !rest.is_empty() {
                        // `${item}` (written `$${item}`) is the shell's variable.
                        let after_dollar = matches!(units.last(), Some(Unit::Char('$')));
                        if rest.starts_with(ITEM) && !after_dollar {
                            units.push(Unit::Slot(slots.len()));
                            slots.push(Slot::Item);
                            rest = &rest[ITEM.len()..];
                        } else if let Some(c) = rest.chars().next() {
                            units.push(Unit::Char(c));
                            rest = &rest[c.len_utf8()..];
                        }
                    }
                }
                StrPart::Interp(id) => match self.param(&id.name, id.span) {
                    Some(v) => {
                        units.push(Unit::Slot(slots.len()));
                        slots.push(Slot::Param {
                            name: id.name.clone(),
                            span: id.span,
                            number: matches!(v, ParamValue::Int(_)),
                        });
                    }
                    None => ok = false,
                },
            }
        }
        if !ok {
            return None;
        }
        let contexts = shell::contexts(&units, slots.len());
        let item_spans = self.item_spans(s, slots.iter().filter(|s| **s == Slot::Item).count());
        let mut items_seen = 0;
        let mut code = String::new();
        for unit in &units {
            match *unit {
                Unit::Char(c) => code.push(c),
                Unit::Slot(i) => {
                    let (var, number, name, span) = match &slots[i] {
                        Slot::Item => {
                            items_seen += 1;
                            let span = item_spans.get(items_seen - 1).copied().unwrap_or(s.span);
                            ("VCP_ITEM".to_string(), false, ITEM.to_string(), span)
                        }
                        Slot::Param { name, span, number } => (
                            ir::param_env_name(name),
                            *number,
                            format!("${{{name}}}"),
                            *span,
                        ),
                    };
                    match contexts[i].reference(&var, number) {
                        Some(text) => code.push_str(&text),
                        None => {
                            self.refuse(contexts[i], &name, &var, span);
                            ok = false;
                        }
                    }
                }
            }
        }
        ok.then_some(code)
    }

    /// The span of each `{item}` of a string in the source, when the source
    /// shows them one for one (escapes cannot spell `{item}` differently,
    /// but a `$${item}` is the shell's).
    fn item_spans(&self, s: &StrLit, count: usize) -> Vec<Span> {
        let raw = self.sources.slice(s.span);
        let spans: Vec<Span> = raw
            .match_indices(ITEM)
            .filter(|(i, _)| !raw[..*i].ends_with('$'))
            .map(|(i, _)| s.span.sub(i, ITEM.len()))
            .collect();
        if spans.len() == count {
            spans
        } else {
            Vec::new()
        }
    }

    /// The diagnostic for `name` (`{item}` or `${param}`) where the shell
    /// would not give the command its exact bytes.
    fn refuse(&mut self, context: shell::Context, name: &str, var: &str, span: Span) {
        let (code, label, help) = match context {
            shell::Context::Single => (
                Code::QuotedItem,
                "the shell expands nothing inside single quotes".to_string(),
                format!(
                    "write `{name}` outside the single quotes (it is always exactly one argument); if the quoted text is code for another program (awk, python -c), pass the value through the environment, where it is `${var}`: `awk -v v=\"${var}\" '...'`, `os.environ[\"{var}\"]`"
                ),
            ),
            shell::Context::Backtick => (
                Code::UnsafeItemContext,
                "backticks re-read their text with quoting rules POSIX leaves open".to_string(),
                format!(
                    "write `$(...)` instead of backticks: inside it `{name}` is exactly one argument"
                ),
            ),
            shell::Context::Arithmetic => (
                Code::UnsafeItemContext,
                "the value would be evaluated as an arithmetic expression (code, in bash)"
                    .to_string(),
                format!(
                    "check that it is a number first, then use the variable yourself: `case ${var} in '' | *[!0-9]*) exit 1 ;; esac; echo $(( {var} + 1 ))`; an `int` parameter may stand here"
                ),
            ),
            shell::Context::Escaped => (
                Code::UnsafeItemContext,
                "a backslash here escapes only the first byte of what it becomes".to_string(),
                format!(
                    "remove the backslash; for a literal backslash before the value write `'\\\\'{name}`"
                ),
            ),
            shell::Context::QuotedHereDoc => (
                Code::UnsafeItemContext,
                "a here-document with a quoted delimiter expands nothing".to_string(),
                format!(
                    "write the delimiter unquoted (`<<EOF`): there `{name}` becomes the exact text"
                ),
            ),
            _ => (
                Code::UnsafeItemContext,
                "a here-document's delimiter is read before any expansion".to_string(),
                format!("write a fixed delimiter such as `EOF`, and `{name}` in the body"),
            ),
        };
        self.diags.push(
            Diagnostic::error(code, span, format!("`{name}` is {}", context.describe()))
                .with_label(label)
                .with_help(help),
        );
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
