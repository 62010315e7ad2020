//! `vcp shards`: which items each worker of a stage gets. For items known at
//! build time (`range`, lists), and for `lines()` and `files()` whose data is
//! on this machine (under a volume with a local folder: `--mount`, else its
//! `local` path; read by `local_items.rs`), it computes the assignment with
//! the same rules the wrapper scripts apply at run time (`crate::shard`); for
//! other items listed at run time it says what the rule will do.

use super::graph::describe_shard;
use super::local_items::{self, LocalItems};
use super::report::DiagnosticPrinter;
use super::{compile_inputs, stdout};
use crate::emit::Keep;
use crate::ir::{ItemSource, Stage, Strategy};
use crate::shard;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The arguments of `vcp shards`.
pub(super) struct Args {
    pub file: PathBuf,
    pub stage: String,
    pub pipeline: Option<String>,
    pub worker: Option<u32>,
    pub sets: Vec<String>,
    /// `VOLUME=DIR`: the local folder standing in for a volume.
    pub mounts: Vec<String>,
}

/// `vcp shards`: compiles the file and prints the preview of one stage.
/// Exit codes: 1 errors in the file, 2 no such stage or worker.
pub(super) fn show(args: Args, printer: DiagnosticPrinter) -> ExitCode {
    let mut mounts = BTreeMap::new();
    for m in &args.mounts {
        let Some((name, dir)) = m.split_once('=') else {
            eprintln!("error: `--mount {m}`: expected `--mount volume=dir`");
            return ExitCode::from(2);
        };
        mounts.insert(name.to_string(), PathBuf::from(dir));
    }
    let base_dir = args
        .file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let (code, compiled) = compile_inputs(&[args.file], &args.sets, printer, Keep::Problems);
    let Some(b) = compiled.and_then(|c| c.checked.build) else {
        return code;
    };
    let (stage, pipeline) = (&args.stage, &args.pipeline);
    let found = b
        .pipelines
        .iter()
        .filter(|p| pipeline.as_ref().is_none_or(|n| *n == p.name))
        .find_map(|p| p.stage(stage).map(|s| (p, s)));
    let Some((p, s)) = found else {
        let place = pipeline.as_ref().map_or_else(
            || "these pipelines".to_string(),
            |p| format!("pipeline `{p}`"),
        );
        eprintln!("error: no stage `{stage}` in {place}");
        return ExitCode::from(2);
    };
    if let Some(name) = mounts
        .keys()
        .find(|n| !p.volumes.iter().any(|v| &v.name == *n))
    {
        eprintln!(
            "error: `--mount {name}=...`: pipeline `{}` has no volume `{name}`",
            p.name
        );
        return ExitCode::from(2);
    }
    // Items listed at run time, read here when their data is on this machine.
    let local = s.shard.as_ref().map(|sh| {
        let folders = local_items::local_folders(p, &mounts, &base_dir);
        local_items::read(p, &sh.source, sh.strategy, &folders)
    });
    let local = match local {
        Some(Ok(Some(items))) => Local::Items(items),
        Some(Err(e)) => Local::Unreadable(e),
        _ => Local::Elsewhere(
            s.shard
                .as_ref()
                .and_then(|sh| local_items::volume_name(p, &sh.source))
                .map(str::to_string),
        ),
    };
    match preview(s, args.worker, local) {
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

/// What this machine has of a stage's run-time items.
pub(super) enum Local {
    Items(LocalItems),
    /// The data should be here but cannot be read: why.
    Unreadable(String),
    /// Not on this machine (or the items are known at build time); the
    /// volume that holds them, if one does.
    Elsewhere(Option<String>),
}

/// The preview text; `worker` limits it to one worker's full item list.
pub(super) fn preview(stage: &Stage, worker: Option<u32>, local: Local) -> Result<String, String> {
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
    let mut from = String::new();
    let mut sizes = None;
    let items: Vec<Vec<u8>> = match (&sh.source, local) {
        (ItemSource::Lines(_) | ItemSource::Files(_), Local::Items(local)) => {
            from = format!("  items read from {}\n", local.from);
            sizes = local.sizes;
            local.items
        }
        (ItemSource::Range { start, end, step }, _) => {
            let n = range_len(*start, *end, *step);
            if n > PREVIEW_LIMIT {
                return Ok(format!(
                    "stage `{}`: {rule}: {n} items across {} workers; too many to preview (limit {PREVIEW_LIMIT})\n",
                    stage.name, stage.workers
                ));
            }
            shard::range_items(*start, *end, *step)
                .map(|i| i.to_string().into_bytes())
                .collect()
        }
        (ItemSource::List(items), _) => items.iter().map(|i| i.clone().into_bytes()).collect(),
        (ItemSource::Lines(path), local) => {
            let items = format!("the non-empty lines of {path}");
            return Ok(runtime(stage, &rule, &items, sh.strategy, &local));
        }
        (ItemSource::Output(from), local) => {
            let items = format!(
                "the non-empty lines the workers of stage {from} wrote to $VCP_OUTPUT, worker 0's first"
            );
            return Ok(runtime(stage, &rule, &items, sh.strategy, &local));
        }
        (ItemSource::Files(glob), local) => {
            let items = format!("the regular files matching {glob}, in byte order");
            return Ok(runtime(stage, &rule, &items, sh.strategy, &local));
        }
    };
    let bytes: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    let assignment = shard::assign(sh.strategy, &bytes, sizes.as_deref(), stage.workers);
    let text = |i: usize| String::from_utf8_lossy(&items[i]).into_owned();
    let mut out = String::new();
    if let Some(w) = worker {
        for i in shard::shard(&assignment, w) {
            let _ = writeln!(out, "{}", text(i));
        }
        return Ok(out);
    }
    let _ = writeln!(
        out,
        "stage `{}`: {rule}: {} across {}",
        stage.name,
        count(items.len() as u64, "item"),
        count(u64::from(stage.workers), "worker"),
    );
    out.push_str(&from);
    for w in 0..stage.workers {
        let mine = shard::shard(&assignment, w);
        let show = text;
        let sample = match mine.as_slice() {
            [] => String::new(),
            [a] => format!(": {}", show(*a)),
            [a, b] => format!(": {}, {}", show(*a), show(*b)),
            [a, b, .., z] => format!(": {}, {}, ..., {}", show(*a), show(*b), show(*z)),
        };
        let _ = writeln!(
            out,
            "  worker {w}: {}{sample}",
            count(mine.len() as u64, "item")
        );
    }
    Ok(out)
}

/// `1 item`, `2 items`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn runtime(stage: &Stage, rule: &str, items: &str, strategy: Strategy, local: &Local) -> String {
    let how = match strategy {
        Strategy::Modulo => "item i goes to worker i mod WORLD_SIZE".to_string(),
        Strategy::Block => "contiguous runs: the first n mod WORLD_SIZE workers get n div WORLD_SIZE + 1 items, the others n div WORLD_SIZE".to_string(),
        Strategy::Hash => "each item goes to worker cksum(item) mod WORLD_SIZE, whatever its position".to_string(),
        Strategy::Size => "files are measured; largest first, each goes to the worker with the fewest bytes so far (ties: smaller path, then lower rank)".to_string(),
    };
    let note = match local {
        Local::Unreadable(why) => format!("  not previewed: {why}\n"),
        Local::Elsewhere(Some(volume)) => format!(
            "  to preview them, give the volume's data: `--mount {volume}=DIR` (or its `local` folder)\n"
        ),
        Local::Items(_) | Local::Elsewhere(None) => String::new(),
    };
    format!(
        "stage `{}`: {rule}\n  items: {items}, listed by each worker when the stage runs\n  assignment across {}: {how}\n{note}",
        stage.name,
        count(u64::from(stage.workers), "worker")
    )
}
