//! Wrapper scripts: POSIX sh rendered from the minijinja templates in
//! `templates/`. Every interpolated value is single-quoted by the formatter
//! (numbers excepted); the only unquoted insertions are fragments this module
//! builds from quoted pieces and marks safe.

use crate::ir::{self, ArgPart, Command, ItemSource, JobKind, Pipeline, Stage};
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Output, State, UndefinedBehavior};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("worker.sh.j2", include_str!("templates/worker.sh.j2")),
    ("reduce.sh.j2", include_str!("templates/reduce.sh.j2")),
    ("lib.sh.j2", include_str!("templates/lib.sh.j2")),
    ("items.sh.j2", include_str!("templates/items.sh.j2")),
];

/// The file name of the shared library every stage script sources.
pub const LIB_NAME: &str = "vcp-lib.sh";

/// The POSIX sh + awk implementation of item sources and shard strategies,
/// pasted verbatim into every worker script (not a template: shell code is
/// full of `{#`).
pub const SHARD_FUNCTIONS: &str = include_str!("templates/shard.sh");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build();
        match syntax {
            Ok(syntax) => env.set_syntax(syntax),
            Err(e) => panic!("template syntax settings rejected: {e}"),
        }
        env.set_formatter(shell_formatter);
        env.add_filter("comment", comment);
        for (name, text) in TEMPLATES {
            // The templates are part of the binary and covered by tests: a
            // syntax error in one is a build defect, found by every test run.
            if let Err(e) = env.add_template(name, text) {
                panic!("template {name} does not parse: {e}");
            }
        }
        env
    })
}

/// `'...'`: the POSIX way to pass any string as one word, unchanged.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let _ = write_shell_quoted(&mut out, s);
    out
}

/// [`shell_quote`] written straight into `out`.
fn write_shell_quoted(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    out.write_char('\'')?;
    let mut parts = s.split('\'');
    out.write_str(parts.next().unwrap_or_default())?;
    for part in parts {
        out.write_str("'\\''")?;
        out.write_str(part)?;
    }
    out.write_char('\'')
}

fn shell_formatter(
    out: &mut Output<'_>,
    _state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    let written = match (value.is_safe(), value.kind(), value.as_str()) {
        (true, _, Some(text)) => out.write_str(text),
        (true, _, None) | (false, ValueKind::Number, _) => write!(out, "{value}"),
        (false, ValueKind::String, text) => write_shell_quoted(out, text.unwrap_or_default()),
        (false, kind, _) => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("refusing to put a {kind} into a shell script"),
            ));
        }
    };
    written.map_err(|_| Error::new(ErrorKind::WriteFailure, "write failed"))
}

/// Text for a `#` comment: one line, printable, marked safe.
fn comment(value: &str) -> Value {
    let clean: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    Value::from_safe_string(clean)
}

/// One argument vector word: quoted literal pieces and `"$VCP_ITEM"`.
fn argv_word(parts: &[ArgPart]) -> String {
    if parts.is_empty() {
        return "''".to_string();
    }
    parts
        .iter()
        .map(|p| match p {
            ArgPart::Text(t) => shell_quote(t),
            ArgPart::Item => ir::SHELL_ITEM.to_string(),
        })
        .collect()
}

fn command_value(command: &Command) -> Value {
    let mut map: BTreeMap<&str, Value> = BTreeMap::new();
    match command {
        Command::Shell(code) => {
            map.insert("shell", Value::from(code.as_str()));
        }
        Command::Argv(args) => {
            let words: Vec<Value> = args
                .iter()
                .map(|a| Value::from_safe_string(argv_word(a)))
                .collect();
            map.insert("argv", Value::from(words));
        }
    }
    Value::from(map)
}

/// A path as shell code: under a volume's mount it is relative to that
/// volume's variable, so that `vcp run` can put the volume elsewhere.
fn path_code(pipeline: &Pipeline, path: &str) -> String {
    let volume = pipeline
        .volumes
        .iter()
        .filter(|v| {
            let mount = v.mount.trim_end_matches('/');
            path == mount || path.starts_with(&format!("{mount}/"))
        })
        .max_by_key(|v| v.mount.len());
    match volume {
        Some(v) => {
            let rest = &path[v.mount.trim_end_matches('/').len()..];
            let var = format!("\"${{{}}}\"", v.env_name());
            if rest.is_empty() {
                var
            } else {
                format!("{var}{}", shell_quote(rest))
            }
        }
        None => shell_quote(path),
    }
}

fn volumes_value(pipeline: &Pipeline) -> Value {
    let volumes: Vec<Value> = pipeline
        .volumes
        .iter()
        .map(|v| {
            let mut map: BTreeMap<&str, Value> = BTreeMap::new();
            map.insert("name", Value::from_safe_string(v.env_name()));
            let name = v.env_name();
            map.insert(
                "assign",
                Value::from_safe_string(format!("{name}=${{{name}:-{}}}", shell_quote(&v.mount))),
            );
            Value::from(map)
        })
        .collect();
    Value::from(volumes)
}

fn shard_value(pipeline: &Pipeline, stage: &Stage) -> Value {
    let Some(shard) = &stage.shard else {
        return Value::from(());
    };
    let mut map: BTreeMap<&str, Value> = BTreeMap::new();
    map.insert("strategy", Value::from(shard.strategy.as_str()));
    map.insert("kind", Value::from(shard.source.kind().as_str()));
    match &shard.source {
        ItemSource::Range { start, end, step } => {
            map.insert("start", Value::from(*start));
            map.insert("end", Value::from(*end));
            map.insert("step", Value::from(*step));
        }
        ItemSource::List(items) => {
            let mut code = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    code.push_str(" \\\n    ");
                }
                let _ = write_shell_quoted(&mut code, item);
            }
            map.insert("items", Value::from_safe_string(code));
        }
        ItemSource::Lines(path) => {
            map.insert("path", Value::from_safe_string(path_code(pipeline, path)));
        }
        ItemSource::Files(glob) => {
            map.insert("glob", Value::from_safe_string(path_code(pipeline, glob)));
        }
        ItemSource::Output(from) => {
            map.insert(
                "call",
                Value::from_safe_string(super::records::output_items_call(pipeline, from)),
            );
        }
    }
    Value::from(map)
}

fn params_value(pipeline: &Pipeline) -> Value {
    let params: Vec<Value> = pipeline
        .params
        .iter()
        .map(|(name, value)| {
            let mut map: BTreeMap<&str, Value> = BTreeMap::new();
            map.insert("name", Value::from_safe_string(ir::param_env_name(name)));
            map.insert("value", Value::from(value.to_text()));
            Value::from(map)
        })
        .collect();
    Value::from(params)
}

/// The wrapper script of one job of a stage.
pub fn render(pipeline: &Pipeline, stage: &Stage, kind: JobKind) -> String {
    let (template, command) = match kind {
        JobKind::Work => ("worker.sh.j2", &stage.command),
        JobKind::Reduce => (
            "reduce.sh.j2",
            stage.reduce.as_ref().map_or(&stage.command, |r| &r.command),
        ),
    };
    let ctx = minijinja::context! {
        source => pipeline.source.as_str(),
        pipeline => pipeline.name.as_str(),
        stage => stage.name.as_str(),
        workers => stage.workers,
        parallel => stage.parallel,
        retries => stage.retries,
        per_item => stage.per_item(),
        per_item_flag => u8::from(stage.per_item()),
        strategy => stage.shard.as_ref().map_or("", |s| s.strategy.as_str()),
        params => params_value(pipeline),
        command => command_value(command),
        shard => shard_value(pipeline, stage),
        volumes => volumes_value(pipeline),
        records => Value::from_safe_string(super::records::script_settings(pipeline, stage, kind)),
    };
    render_template(template, ctx)
}

/// `vcp-lib.sh`: the logic shared by every stage script of a pipeline.
pub fn render_lib(pipeline: &Pipeline) -> String {
    let ctx = minijinja::context! {
        source => pipeline.source.as_str(),
        shard_functions => Value::from_safe_string(SHARD_FUNCTIONS.trim_end().to_string()),
    };
    render_template("lib.sh.j2", ctx)
}

fn render_template(template: &str, ctx: Value) -> String {
    let rendered = environment()
        .get_template(template)
        .and_then(|t| t.render(ctx));
    match rendered {
        Ok(text) => text,
        // Only a defect in a template can get here; the tests render every
        // example, so it cannot ship unnoticed.
        Err(e) => panic!("wrapper template {template} failed to render: {e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
