//! Hover: a field's reference (type, default, meaning), a param's type and
//! value, a template's merged fields, a stage's Volcano names with the
//! characters of 63 left and its shard, a strategy's or function's rule.

use super::analysis::Analysis;
use super::index::{Occurrence, SymKind};
use super::navigate;
use super::reference::{self, Row};
use super::tree::{self, Hit};
use super::workspace::Workspace;
use crate::check::fields::{BlockKind, ValueKind};
use crate::ir::{self, ItemSource, JobKind, Strategy};
use crate::shard;
use std::fmt::Write;

/// Host names and label values are at most 63 characters.
const LIMIT: usize = 63;

/// The hover text (Markdown) at `offset` of file `name`, and the byte range
/// it is about.
pub(crate) fn hover(ws: &Workspace, name: &str, offset: usize) -> Option<(String, usize, usize)> {
    if let Some((analysis, o)) = navigate::target(ws, name, offset) {
        let text = match o.kind {
            SymKind::Stage => stage(analysis, &o),
            SymKind::Template => template(analysis, &o.name),
            SymKind::Param => param(analysis, &o),
            SymKind::Volume => volume(&o),
            SymKind::Pipeline => pipeline(analysis, &o.name),
            SymKind::Import => import(&o.name),
        };
        if let Some(text) = text {
            return Some((text, o.span.start as usize, o.span.end as usize));
        }
    }
    let analysis = ws.analysis_for(name)?;
    let id = analysis.find(name)?;
    let hit = tree::at(analysis.tree(id)?, offset)?;
    let (text, span) = match hit {
        Hit::Key(block, key) => (field(block, &key.name)?, key.span),
        Hit::Strategy(i) => (strategy(&i.name)?, i.span),
        Hit::Function(i) => (function(&i.name)?, i.span),
    };
    Some((text, span.start as usize, span.end as usize))
}

fn block_word(block: BlockKind) -> &'static str {
    match block {
        BlockKind::Pipeline => "pipeline",
        BlockKind::Stage => "stage",
        BlockKind::Volume => "volume",
        BlockKind::Resources => "resources",
        BlockKind::Toleration => "toleration",
        BlockKind::Overlay => "overlay",
        BlockKind::Reduce => "reduce",
    }
}

/// A field's documentation: the reference row, else what the field table says.
pub(crate) fn field(block: BlockKind, name: &str) -> Option<String> {
    let spec = block.field(name)?;
    let mut out = format!("**`{name}`** ({} field)", block_word(block));
    match reference::field(block, name) {
        Some(row) => write_row(&mut out, &row),
        None => {
            let _ = write!(out, "\n\n{}", kind_text(spec.kind));
        }
    }
    if let ValueKind::Choice(options) = spec.kind {
        let quoted: Vec<String> = options.iter().map(|o| format!("`\"{o}\"`")).collect();
        let _ = write!(out, "\n\none of {}", quoted.join(", "));
    }
    Some(out)
}

fn write_row(out: &mut String, row: &Row) {
    for (column, value) in &row.cells {
        if column == "meaning" {
            continue;
        }
        let _ = write!(out, "\n\n{column}: {value}");
    }
    if let Some(meaning) = row.cell("meaning") {
        let _ = write!(out, "\n\n{meaning}");
    }
}

/// What a kind of value is, for fields the reference has no table for.
pub(crate) fn kind_text(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::String => "a string",
        ValueKind::Name => "a Kubernetes name",
        ValueKind::Image => "a container image reference",
        ValueKind::Path => "a path",
        ValueKind::Int => "a whole number",
        ValueKind::Bool => "`true` or `false`",
        ValueKind::Duration => "a duration: `30s`, `10m`, `1h30m`",
        ValueKind::Quantity => "a resource quantity: `\"500m\"`, `2`, `4Gi`",
        ValueKind::Choice(_) => "one of these words, as a string",
        ValueKind::Command => "shell code (a string) or an argument list",
        ValueKind::Reduce => {
            "shell code, an argument list, or a `reduce { run, image, resources, env }` block"
        }
        ValueKind::Shard => "`<source> [by <strategy>]`",
        ValueKind::Templates => "a template name, or a list of them",
        ValueKind::Stages => "a stage name, or a list of them",
        ValueKind::Budget => "a number of items, or a share of them: `10`, `\"1%\"`",
        ValueKind::Volume => "the name of one of the pipeline's volumes",
        ValueKind::Map => "`{ key = \"value\" }`",
        ValueKind::Env => "`{ NAME = value }`",
        ValueKind::Block(_) => "a block of fields",
        ValueKind::List(_) => "one block, or a list of them",
    }
}

pub(crate) fn strategy(name: &str) -> Option<String> {
    let row = reference::strategy(name)?;
    Some(format!(
        "**`by {name}`** (shard strategy)\n\nitem i goes to: {}",
        row.cell("item i goes to").unwrap_or_default()
    ))
}

pub(crate) fn function(name: &str) -> Option<String> {
    if let Some(row) = reference::source(name) {
        return Some(format!(
            "**`{}`** (item source)\n\nitems: {}\n\nknown {}",
            row.names.first().map_or(name, String::as_str),
            row.cell("items").unwrap_or_default(),
            row.cell("known").unwrap_or_default()
        ));
    }
    match name {
        "secret" => Some(
            "**`secret(name, key)`** (environment value)\n\nthe value of `key` in the Secret `name`, never written into the manifests"
                .to_string(),
        ),
        "config_map" => Some(
            "**`config_map(name, key)`** (environment value)\n\nthe value of `key` in the ConfigMap `name`"
                .to_string(),
        ),
        _ => None,
    }
}

fn import(path: &str) -> Option<String> {
    let std = crate::stdlib::module(path.strip_suffix(".vcp").unwrap_or(path))?;
    let templates: Vec<String> = std
        .lines()
        .filter_map(|l| l.strip_prefix("template "))
        .filter_map(|l| l.split_whitespace().next())
        .map(|t| format!("`{t}`"))
        .collect();
    Some(format!(
        "**`{path}`** (standard library)\n\ntemplates: {}",
        templates.join(", ")
    ))
}

fn volume(o: &Occurrence) -> Option<String> {
    let name = if o.env_form {
        &o.name
    } else {
        &super::index::env_form(&o.name)
    };
    Some(format!(
        "**volume `{}`**\n\nits path is in `$VCP_VOLUME_{name}`: the mount path in a pod, the local directory under `vcp run`",
        if o.env_form {
            o.name.to_ascii_lowercase()
        } else {
            o.name.clone()
        }
    ))
}

fn pipeline(analysis: &Analysis, name: &str) -> Option<String> {
    let mut out = format!("**pipeline `{name}`**");
    if let Some(p) = built(analysis, name) {
        let _ = write!(
            out,
            "\n\nnamespace `{}`, queue `{}`, {} stage(s); {}",
            p.namespace,
            p.queue,
            p.stages.len(),
            if p.is_flow() {
                format!("a JobFlow `{}` runs the jobs", p.name)
            } else {
                "one Volcano Job".to_string()
            }
        );
    }
    Some(out)
}

fn built<'a>(analysis: &'a Analysis, pipeline: &str) -> Option<&'a ir::Pipeline> {
    analysis
        .build
        .as_ref()?
        .pipelines
        .iter()
        .find(|p| p.name == pipeline)
}

fn param(analysis: &Analysis, o: &Occurrence) -> Option<String> {
    let decl = tree::param_decls(analysis).into_iter().find(|(scope, p)| {
        p.name.name == o.name && (o.scope.is_none() || o.scope.as_deref() == Some(scope.as_str()))
    })?;
    let (scope, p) = decl;
    let file = analysis.file(p.span.file);
    let mut out = format!("**param `{}`**: `{}`", p.name.name, p.ty.name);
    if let Some(default) = &p.default {
        let _ = write!(out, " = `{}`", file.slice(default.span()));
    }
    let _ = write!(out, "\n\nof pipeline `{scope}`");
    if let Some(value) = built(analysis, &scope).and_then(|b| b.params.get(&o.name)) {
        let _ = write!(out, "; value `{}`", value.to_text());
    }
    let _ = write!(
        out,
        "\n\nin shell commands `${{{}}}` is `${}`",
        p.name.name,
        ir::param_env_name(&p.name.name)
    );
    Some(out)
}

fn template(analysis: &Analysis, name: &str) -> Option<String> {
    let fields = tree::merged_template(analysis, name)?;
    let mut out = format!("**template `{name}`**\n\n```vcp\n");
    for (key, value) in fields {
        let _ = writeln!(out, "{key} = {value}");
    }
    out.push_str("```");
    Some(out)
}

fn stage(analysis: &Analysis, o: &Occurrence) -> Option<String> {
    let mut out = format!("**stage `{}`**", o.name);
    let Some(p) = o.scope.as_deref().and_then(|s| built(analysis, s)) else {
        out.push_str("\n\n(names and shards appear once the pipeline checks without errors)");
        return Some(out);
    };
    let Some(stage) = p.stage(&o.name) else {
        out.push_str("\n\n(not in the last build that checked without errors)");
        return Some(out);
    };
    if !analysis.fresh {
        out.push_str(" (from the last check without errors)");
    }
    let _ = writeln!(
        out,
        " of pipeline `{}`: {} worker(s)",
        p.name, stage.workers
    );
    let kinds: &[JobKind] = if stage.reduce.is_some() {
        &[JobKind::Work, JobKind::Reduce]
    } else {
        &[JobKind::Work]
    };
    for &kind in kinds {
        let job = p.job_name(stage, kind);
        let last = kind.replicas(stage).saturating_sub(1);
        let pod = format!("{job}-{}-{last}", kind.task());
        let _ = write!(out, "\n- Volcano Job `{job}`");
        if p.is_flow() {
            let template = p.template_name(stage, kind);
            let label = format!("{}.{template}", p.namespace);
            let _ = write!(
                out,
                " (JobTemplate `{template}` in JobFlow `{}`; label `{label}`: {} of {LIMIT} characters)",
                p.name,
                label.len()
            );
        }
        let _ = write!(
            out,
            "\n- pods `{job}-{}-0`{}: the longest, `{pod}`, is {} of {LIMIT} characters, **{} left**",
            kind.task(),
            if last > 0 {
                format!(" … `-{last}`")
            } else {
                String::new()
            },
            pod.len(),
            LIMIT.saturating_sub(pod.len())
        );
    }
    let _ = write!(
        out,
        "\n- ConfigMap `{}` (scripts)",
        p.stage_config_map(stage)
    );
    if let Some(s) = &stage.shard {
        out.push_str("\n\n");
        out.push_str(&shard_text(s, stage.workers));
    }
    Some(out)
}

/// Items beyond this many are not assigned for a preview.
const PREVIEW_ITEMS: u64 = 100_000;
const SHOWN_WORKERS: usize = 8;
const SHOWN_ITEMS: usize = 5;

fn shard_text(s: &ir::Shard, workers: u32) -> String {
    let items: Vec<String> = match &s.source {
        ItemSource::Range { start, end, step } => {
            let count = range_len(*start, *end, *step);
            if count > PREVIEW_ITEMS {
                return format!(
                    "shard: {count} items by `{}` (too many to preview here; `vcp shards` lists them)",
                    s.strategy
                );
            }
            shard::range_items(*start, *end, *step)
                .map(|i| i.to_string())
                .collect()
        }
        ItemSource::List(items) => items.clone(),
        ItemSource::Output(from) => {
            return format!(
                "shard: the lines stage `{from}` wrote to $VCP_OUTPUT, by `{}`, known at run time",
                s.strategy
            );
        }
        ItemSource::Lines(path) => {
            return format!(
                "shard: the lines of `{path}` by `{}`, known at run time",
                s.strategy
            );
        }
        ItemSource::Files(glob) => {
            return format!(
                "shard: the files matching `{glob}` by `{}`, known at run time",
                s.strategy
            );
        }
    };
    if s.strategy == Strategy::Size || workers == 0 {
        return format!("shard: {} items by `{}`", items.len(), s.strategy);
    }
    let bytes: Vec<&[u8]> = items.iter().map(|i| i.as_bytes()).collect();
    let assignment = shard::assign(s.strategy, &bytes, None, workers);
    let mut out = format!("shard: {} items by `{}`", items.len(), s.strategy);
    for rank in 0..workers.min(SHOWN_WORKERS as u32) {
        let mine = shard::shard(&assignment, rank);
        let shown: Vec<&str> = mine
            .iter()
            .take(SHOWN_ITEMS)
            .map(|&i| items[i].as_str())
            .collect();
        let more = if mine.len() > SHOWN_ITEMS {
            ", …"
        } else {
            ""
        };
        let _ = write!(
            out,
            "\n- worker {rank}: {} item(s){}{}{more}",
            mine.len(),
            if shown.is_empty() { "" } else { ": " },
            shown.join(", ")
        );
    }
    if workers as usize > SHOWN_WORKERS {
        let _ = write!(
            out,
            "\n- … {} more workers",
            workers as usize - SHOWN_WORKERS
        );
    }
    out
}

/// How many items `range(start, end, step)` has.
fn range_len(start: i64, end: i64, step: i64) -> u64 {
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let span = if step > 0 { end - start } else { start - end };
    if step == 0 || span <= 0 {
        return 0;
    }
    let step = step.abs();
    u64::try_from((span + step - 1) / step).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_lengths() {
        assert_eq!(range_len(0, 300, 1), 300);
        assert_eq!(range_len(0, 10, 3), 4);
        assert_eq!(range_len(10, 0, -1), 10);
        assert_eq!(range_len(0, 0, 1), 0);
        assert_eq!(range_len(i64::MIN, i64::MAX, 1), u64::MAX);
        for (a, b, s) in [(0, 300, 1), (3, 17, 4), (10, -5, -3)] {
            assert_eq!(
                range_len(a, b, s),
                shard::range_items(a, b, s).count() as u64
            );
        }
    }

    #[test]
    fn a_shard_preview_lists_each_workers_items() {
        let s = ir::Shard {
            source: ItemSource::Range {
                start: 0,
                end: 10,
                step: 1,
            },
            strategy: Strategy::Modulo,
        };
        let text = shard_text(&s, 3);
        assert!(text.contains("worker 0: 4 item(s): 0, 3, 6, 9"), "{text}");
        assert!(text.contains("worker 2: 3 item(s): 2, 5, 8"), "{text}");
        let big = ir::Shard {
            source: ItemSource::Range {
                start: 0,
                end: i64::from(i32::MAX),
                step: 1,
            },
            strategy: Strategy::Hash,
        };
        assert!(shard_text(&big, 3).contains("too many to preview"));
    }
}
