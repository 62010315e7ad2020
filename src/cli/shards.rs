//! `vcp shards`: which items each worker of a stage gets. For items known at
//! build time (`range`, lists) it computes the assignment with the same rules
//! the wrapper scripts apply at run time (`crate::shard`); for items listed
//! at run time it says what the rule will do.

use super::graph::describe_shard;
use super::report::DiagnosticPrinter;
use super::{compile_inputs, stdout};
use crate::emit::Keep;
use crate::ir::{ItemSource, Stage, Strategy};
use crate::shard;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `vcp shards`.
pub(super) struct Args {
    pub file: PathBuf,
    pub stage: String,
    pub pipeline: Option<String>,
    pub worker: Option<u32>,
    pub sets: Vec<String>,
}

/// `vcp shards`: compiles the file and prints the preview of one stage.
/// Exit codes: 1 errors in the file, 2 no such stage or worker.
pub(super) fn show(args: Args, printer: DiagnosticPrinter) -> ExitCode {
    let (code, compiled) = compile_inputs(&[args.file], &args.sets, printer, Keep::Manifests);
    let Some(b) = compiled.and_then(|c| c.checked.build) else {
        return code;
    };
    let (stage, pipeline) = (&args.stage, &args.pipeline);
    let found = b
        .pipelines
        .iter()
        .filter(|p| pipeline.as_ref().is_none_or(|n| *n == p.name))
        .find_map(|p| p.stage(stage));
    let Some(s) = found else {
        let place = pipeline.as_ref().map_or_else(
            || "these pipelines".to_string(),
            |p| format!("pipeline `{p}`"),
        );
        eprintln!("error: no stage `{stage}` in {place}");
        return ExitCode::from(2);
    };
    match preview(s, args.worker) {
        Ok(text) => stdout(&[&text]),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Static sources larger than this are not previewed item by item.
const PREVIEW_LIMIT: u64 = 5_000_000;

fn range_len(start: i64, end: i64, step: i64) -> u64 {
    let span = if step > 0 { end - start } else { start - end };
    if span <= 0 {
        return 0;
    }
    (span as u64).div_ceil(step.unsigned_abs())
}

/// The preview text; `worker` limits it to one worker's full item list.
pub(super) fn preview(stage: &Stage, worker: Option<u32>) -> Result<String, String> {
    if let Some(w) = worker
        && w >= stage.workers
    {
        return Err(format!(
            "stage `{}` has {} workers (0 to {})",
            stage.name,
            stage.workers,
            stage.workers - 1
        ));
    }
    let Some(sh) = &stage.shard else {
        return Ok(format!(
            "stage `{}` has no shard rule: each of its {} workers runs the command once, with an empty $VCP_SHARD_FILE\n",
            stage.name, stage.workers
        ));
    };
    let rule = describe_shard(stage).unwrap_or_default();
    let items: Vec<String> = match &sh.source {
        ItemSource::Range { start, end, step } => {
            let n = range_len(*start, *end, *step);
            if n > PREVIEW_LIMIT {
                return Ok(format!(
                    "stage `{}`: {rule}: {n} items across {} workers; too many to preview (limit {PREVIEW_LIMIT})\n",
                    stage.name, stage.workers
                ));
            }
            shard::range_items(*start, *end, *step)
                .map(|i| i.to_string())
                .collect()
        }
        ItemSource::List(items) => items.clone(),
        ItemSource::Lines(path) => {
            return Ok(runtime(
                stage,
                &rule,
                &format!("the non-empty lines of {path}"),
                sh.strategy,
            ));
        }
        ItemSource::Output(from) => {
            return Ok(runtime(
                stage,
                &rule,
                &format!(
                    "the non-empty lines the workers of stage {from} wrote to $VCP_OUTPUT, worker 0's first"
                ),
                sh.strategy,
            ));
        }
        ItemSource::Files(glob) => {
            return Ok(runtime(
                stage,
                &rule,
                &format!("the regular files matching {glob}, in byte order"),
                sh.strategy,
            ));
        }
    };
    let bytes: Vec<&[u8]> = items.iter().map(String::as_bytes).collect();
    let assignment = shard::assign(sh.strategy, &bytes, None, stage.workers);
    let mut out = String::new();
    if let Some(w) = worker {
        for i in shard::shard(&assignment, w) {
            let _ = writeln!(out, "{}", items[i]);
        }
        return Ok(out);
    }
    let _ = writeln!(
        out,
        "stage `{}`: {rule}: {} items across {} workers",
        stage.name,
        items.len(),
        stage.workers
    );
    for w in 0..stage.workers {
        let mine = shard::shard(&assignment, w);
        let show = |i: usize| items[i].clone();
        let sample = match mine.as_slice() {
            [] => String::new(),
            [a] => format!(": {}", show(*a)),
            [a, b] => format!(": {}, {}", show(*a), show(*b)),
            [a, b, .., z] => format!(": {}, {}, ..., {}", show(*a), show(*b), show(*z)),
        };
        let _ = writeln!(out, "  worker {w}: {} items{sample}", mine.len());
    }
    Ok(out)
}

fn runtime(stage: &Stage, rule: &str, items: &str, strategy: Strategy) -> String {
    let how = match strategy {
        Strategy::Modulo => "item i goes to worker i mod WORLD_SIZE".to_string(),
        Strategy::Block => "contiguous runs: the first n mod WORLD_SIZE workers get n div WORLD_SIZE + 1 items, the others n div WORLD_SIZE".to_string(),
        Strategy::Hash => "each item goes to worker cksum(item) mod WORLD_SIZE, whatever its position".to_string(),
        Strategy::Size => "files are measured; largest first, each goes to the worker with the fewest bytes so far (ties: smaller path, then lower rank)".to_string(),
    };
    format!(
        "stage `{}`: {rule}\n  items: {items}, listed by each worker when the stage runs\n  assignment across {} workers: {how}\n",
        stage.name, stage.workers
    )
}
