//! `vcp graph`: the stage DAG of each pipeline as Graphviz DOT or Mermaid,
//! with worker counts, shard rules and reduce steps. Edges are the JobFlow's
//! dependencies: a stage starts when the jobs it follows completed.

use super::report::DiagnosticPrinter;
use super::{compile_inputs, stdout};
use crate::emit::Keep;
use crate::ir::{Build, ItemSource, JobKind, Pipeline, Stage};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(super) enum GraphFormat {
    Dot,
    Mermaid,
}

/// `vcp graph`: compiles the files and prints their stage graphs.
pub(super) fn show(
    files: &[PathBuf],
    format: GraphFormat,
    sets: &[String],
    printer: DiagnosticPrinter,
) -> ExitCode {
    let (code, compiled) = compile_inputs(files, sets, printer, Keep::Problems);
    let Some(b) = compiled.and_then(|c| c.checked.build) else {
        return code;
    };
    let text = match format {
        GraphFormat::Dot => dot(&b),
        GraphFormat::Mermaid => mermaid(&b),
    };
    stdout(&[&text])
}

/// `range(0, 300) by modulo`: a shard rule as the user would write it.
pub(super) fn describe_shard(stage: &Stage) -> Option<String> {
    let shard = stage.shard.as_ref()?;
    let source = match &shard.source {
        ItemSource::Range { start, end, step } if *step == 1 => format!("range({start}, {end})"),
        ItemSource::Range { start, end, step } => format!("range({start}, {end}, {step})"),
        ItemSource::List(items) => format!("[{} items]", items.len()),
        ItemSource::Lines(path) => format!("lines({path:?})"),
        ItemSource::Files(glob) => format!("files({glob:?})"),
        ItemSource::Output(stage) => format!("output({stage})"),
    };
    Some(format!("{source} by {}", shard.strategy))
}

/// The lines of a stage's node label.
fn stage_lines(stage: &Stage) -> Vec<String> {
    let mut lines = vec![stage.name.clone()];
    let workers = if stage.workers == 1 {
        "1 worker".to_string()
    } else {
        format!("{} workers", stage.workers)
    };
    lines.push(if stage.per_item() && stage.parallel > 1 {
        format!("{workers} x {} at a time", stage.parallel)
    } else {
        workers
    });
    if let Some(rule) = describe_shard(stage) {
        lines.push(rule);
    }
    lines
}

/// Each edge of a pipeline's job graph, as (from, to) job keys.
fn edges(p: &Pipeline) -> Vec<(String, String)> {
    let key = |s: &Stage, k: JobKind| match k {
        JobKind::Work => s.name.clone(),
        JobKind::Reduce => format!("{}-reduce", s.name),
    };
    let mut out = Vec::new();
    let by_name = p.stages_by_name();
    for stage in &p.stages {
        if stage.reduce.is_some() {
            out.push((key(stage, JobKind::Work), key(stage, JobKind::Reduce)));
        }
        for dep in stage.after.iter().filter_map(|d| by_name.get(d.as_str())) {
            let last = if dep.reduce.is_some() {
                JobKind::Reduce
            } else {
                JobKind::Work
            };
            out.push((key(dep, last), key(stage, JobKind::Work)));
        }
    }
    out
}

/// The data edges of a pipeline: (stage whose output, stage sharding it).
fn data_edges(p: &Pipeline) -> Vec<(String, String)> {
    p.stages
        .iter()
        .filter_map(|s| match s.shard.as_ref().map(|sh| &sh.source) {
            Some(ItemSource::Output(from)) => Some((from.clone(), s.name.clone())),
            _ => None,
        })
        .collect()
}

fn dot_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Graphviz HTML-like label: lines joined by `<br/>`, text escaped.
fn dot_label(lines: &[String]) -> String {
    let escaped: Vec<String> = lines
        .iter()
        .map(|l| {
            l.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        })
        .collect();
    format!("<{}>", escaped.join("<br/>"))
}

pub(super) fn dot(build: &Build) -> String {
    let mut out =
        String::from("digraph vcp {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
    for p in &build.pipelines {
        let id = |job: &str| dot_string(&format!("{}/{job}", p.name));
        let _ = writeln!(
            out,
            "  subgraph {} {{",
            dot_string(&format!("cluster_{}", p.name))
        );
        let _ = writeln!(
            out,
            "    label={};",
            dot_string(&format!("pipeline {}", p.name))
        );
        for stage in &p.stages {
            let _ = writeln!(
                out,
                "    {} [label={}];",
                id(&stage.name),
                dot_label(&stage_lines(stage))
            );
            if stage.reduce.is_some() {
                let _ = writeln!(
                    out,
                    "    {} [label={}, shape=ellipse];",
                    id(&format!("{}-reduce", stage.name)),
                    dot_label(&[format!("{}: reduce", stage.name)])
                );
            }
        }
        for (from, to) in edges(p) {
            let _ = writeln!(out, "    {} -> {};", id(&from), id(&to));
        }
        for (from, to) in data_edges(p) {
            let _ = writeln!(
                out,
                "    {} -> {} [style=dashed, label=\"items\"];",
                id(&from),
                id(&to)
            );
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// Text inside a Mermaid `["..."]` label.
fn mermaid_text(s: &str) -> String {
    s.replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

pub(super) fn mermaid(build: &Build) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, p) in build.pipelines.iter().enumerate() {
        // Mermaid ids: letters, digits and `_` only.
        let id = |job: &str| format!("p{i}_{}", job.replace('-', "_"));
        let _ = writeln!(
            out,
            "  subgraph p{i}[\"pipeline {}\"]",
            mermaid_text(&p.name)
        );
        for stage in &p.stages {
            let label: Vec<String> = stage_lines(stage).iter().map(|l| mermaid_text(l)).collect();
            let _ = writeln!(out, "    {}[\"{}\"]", id(&stage.name), label.join("<br/>"));
            if stage.reduce.is_some() {
                let _ = writeln!(
                    out,
                    "    {}([\"{}: reduce\"])",
                    id(&format!("{}-reduce", stage.name)),
                    mermaid_text(&stage.name)
                );
            }
        }
        for (from, to) in edges(p) {
            let _ = writeln!(out, "    {} --> {}", id(&from), id(&to));
        }
        for (from, to) in data_edges(p) {
            let _ = writeln!(out, "    {} -. items .-> {}", id(&from), id(&to));
        }
        out.push_str("  end\n");
    }
    out
}
