//! `vcp run`: arguments, the run directory, signals, and the final summary.

use super::compile_inputs;
use super::report::DiagnosticPrinter;
use crate::emit::{self, Keep};
use crate::run::{
    self as runner, Outcome, PlainReporter, Reporter, RunDir, RunOptions, RunSettings,
    TerminalReporter,
};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Where runs are kept, relative to the working directory.
const RUNS: &str = ".vcp/runs";

pub(super) struct Args {
    pub file: Option<PathBuf>,
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub sets: Vec<String>,
    pub mounts: Vec<String>,
    pub max_procs: Option<u32>,
    pub follow: bool,
    pub resume: Option<String>,
    pub timeout: Option<String>,
    pub log_limit: String,
    pub list: bool,
    pub delete: Vec<String>,
    pub prune: Option<String>,
}

/// `64M`, `500K`, `2G`, `1000`: bytes (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let factor: u64 = match unit {
        "" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return Err(format!("`{text}`: the unit is K, M or G (`64M`)")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("`{text}` is not a size: write a number and K, M or G (`64M`)"))
}

/// `vcp run --list`, `--delete`, `--prune`.
fn manage(args: &Args, root: &Path) -> ExitCode {
    if args.list {
        let runs = match runner::list_runs(root) {
            Ok(r) => r,
            Err(e) => return usage(&format!("cannot read {RUNS}: {e}")),
        };
        if runs.is_empty() {
            eprintln!("no runs in {RUNS}/");
        }
        for r in runs {
            let (pipeline, file) = r
                .settings
                .as_ref()
                .map_or(("?", "?"), |s| (s.pipeline.as_str(), s.file.as_str()));
            println!(
                "{}  {:<11}  {:>9}  {pipeline} ({file})",
                r.id,
                r.outcome,
                human_size(r.bytes)
            );
        }
        return ExitCode::SUCCESS;
    }
    let mut ids = args.delete.clone();
    if let Some(age) = &args.prune {
        let max_age = match crate::check::parse_duration(age) {
            Ok(s) => Duration::from_secs(s),
            Err(e) => return usage(&format!("`--prune {age}` is not a duration: {e}")),
        };
        let runs = match runner::list_runs(root) {
            Ok(r) => r,
            Err(e) => return usage(&format!("cannot read {RUNS}: {e}")),
        };
        ids.extend(
            runs.into_iter()
                .filter(|r| r.outcome != "running")
                .filter(|r| RunDir::new(root, &r.id).age().is_some_and(|a| a >= max_age))
                .map(|r| r.id),
        );
    }
    let mut code = ExitCode::SUCCESS;
    for id in ids {
        if id.is_empty() || id.contains('/') || id.starts_with('.') {
            eprintln!("error: `{id}` is not a run id");
            code = ExitCode::from(2);
            continue;
        }
        let dir = RunDir::new(root, &id);
        if !dir.path().is_dir() {
            eprintln!("error: no run `{id}` in {RUNS}/");
            code = ExitCode::from(2);
            continue;
        }
        match dir.delete() {
            Ok(()) => eprintln!("deleted run {id}"),
            Err(e) => {
                eprintln!("error: cannot delete run `{id}`: {e}");
                code = ExitCode::from(1);
            }
        }
    }
    code
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub(super) fn run(args: Args, diagnostics: DiagnosticPrinter) -> ExitCode {
    let root = PathBuf::from(RUNS);
    if args.list || !args.delete.is_empty() || args.prune.is_some() {
        return manage(&args, &root);
    }
    let timeout = match args.timeout.as_deref().map(crate::check::parse_duration) {
        None => None,
        Some(Ok(0)) => return usage("`--timeout` must be longer than 0s"),
        Some(Ok(s)) => Some(Duration::from_secs(s)),
        Some(Err(e)) => return usage(&format!("`--timeout` is not a duration: {e}")),
    };
    let log_limit = match parse_size(&args.log_limit) {
        Ok(n) => n,
        Err(e) => return usage(&format!("--log-limit {e}")),
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot find the vcp executable to supervise workers: {e}");
            return ExitCode::from(1);
        }
    };
    let (dir, settings) = match &args.resume {
        Some(id) => {
            let dir = RunDir::new(&root, id);
            let settings = match dir.load() {
                Ok(s) => s,
                Err(e) => {
                    return usage(&format!(
                        "cannot resume run `{id}`: {e} (runs are in {RUNS}/)"
                    ));
                }
            };
            if !args.sets.is_empty() || !args.mounts.is_empty() || args.pipeline.is_some() {
                return usage(
                    "--resume repeats the run's own --set, --mount and --pipeline; do not give them again",
                );
            }
            if let Some(file) = &args.file
                && super::display_name(file) != settings.file
            {
                return usage(&format!(
                    "run `{id}` ran {}, not {}",
                    settings.file,
                    file.display()
                ));
            }
            (dir, settings)
        }
        None => {
            let Some(file) = &args.file else {
                return usage("vcp run needs a .vcp file (or --resume <run-id>)");
            };
            let mut mounts = BTreeMap::new();
            for m in &args.mounts {
                let Some((name, path)) = m.split_once('=') else {
                    return usage(&format!("`--mount {m}`: expected `--mount volume=dir`"));
                };
                let abs = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
                mounts.insert(name.to_string(), abs.to_string_lossy().into_owned());
            }
            let sets = match super::parse_sets(&args.sets) {
                Ok(o) => o.sets,
                Err(e) => return usage(&e),
            };
            let settings = RunSettings {
                file: super::display_name(file),
                pipeline: args.pipeline.clone().unwrap_or_default(),
                stage: args.stage.clone(),
                sets,
                mounts,
            };
            (RunDir::new(&root, &runner::new_run_id()), settings)
        }
    };

    let set_args: Vec<String> = settings
        .sets
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let (code, compiled) = compile_inputs(
        &[PathBuf::from(&settings.file)],
        &set_args,
        diagnostics,
        Keep::Everything,
    );
    let Some(build) = compiled.and_then(|c| c.checked.build) else {
        return code;
    };
    let pipeline = if settings.pipeline.is_empty() {
        match build.pipelines.as_slice() {
            [one] => one,
            many => {
                let names: Vec<&str> = many.iter().map(|p| p.name.as_str()).collect();
                return usage(&format!(
                    "{} has several pipelines ({}); choose one with --pipeline",
                    settings.file,
                    names.join(", ")
                ));
            }
        }
    } else {
        match build.pipelines.iter().find(|p| p.name == settings.pipeline) {
            Some(p) => p,
            None => {
                return usage(&format!(
                    "{} has no pipeline `{}`",
                    settings.file, settings.pipeline
                ));
            }
        }
    };
    if let Some(stage) = &settings.stage
        && pipeline.stage(stage).is_none()
    {
        let names: Vec<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
        return usage(&format!(
            "pipeline `{}` has no stage `{stage}` (stages: {})",
            pipeline.name,
            names.join(", ")
        ));
    }
    for name in settings.mounts.keys() {
        if !pipeline.volumes.iter().any(|v| &v.name == name) {
            return usage(&format!(
                "`--mount {name}=...`: pipeline `{}` has no volume `{name}`",
                pipeline.name
            ));
        }
    }
    if let Some(max) = args.max_procs {
        let stalls = runner::too_few_procs(pipeline, settings.stage.as_deref(), max as usize);
        if let Some((stage, workers)) = stalls.first() {
            return usage(&format!(
                "stage `{stage}` needs its {workers} workers running at once (its command reads the worker hosts), but --max-procs is {max}: it would wait forever; give --max-procs {workers} or more"
            ));
        }
    }
    let mut settings = settings;
    settings.pipeline = pipeline.name.clone();
    if args.resume.is_none()
        && let Err(e) = runner::create_private_dir(&root).and_then(|()| dir.save(&settings))
    {
        eprintln!(
            "error: cannot create the run directory {}: {e}",
            dir.path().display()
        );
        return ExitCode::from(1);
    }
    // Held until vcp exits: one vcp per run, and none while processes of
    // an earlier attempt live (they get the grace period to stop).
    let _lock = match dir.take(runner::supervise::GRACE + Duration::from_secs(3)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };

    let scripts: BTreeMap<String, String> = emit::pipeline_files(pipeline)
        .into_iter()
        .filter_map(|(path, text)| {
            path.strip_prefix("scripts/")
                .map(|name| (name.to_string(), text.to_string()))
        })
        .collect();
    let options = RunOptions {
        dir: dir.clone(),
        stage: settings.stage.clone(),
        mounts: settings
            .mounts
            .iter()
            .map(|(k, v)| (k.clone(), PathBuf::from(v)))
            .collect(),
        base_dir: Path::new(&settings.file)
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        max_procs: args.max_procs.map(|n| n as usize),
        follow: args.follow,
        timeout,
        log_limit,
        exe,
    };

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("error: cannot handle signals: {e}");
            return ExitCode::from(1);
        }
    }
    let mut reporter: Box<dyn Reporter> = if std::io::stderr().is_terminal() {
        Box::new(TerminalReporter::new())
    } else {
        Box::new(PlainReporter::new())
    };
    let verb = if args.resume.is_some() {
        "resuming"
    } else {
        "starting"
    };
    reporter.event(&format!(
        "{verb} run {} of pipeline `{}` ({} stages); logs in {RUNS}/{}/",
        dir.id,
        pipeline.name,
        pipeline.stages.len(),
        dir.id
    ));
    let started = Instant::now();
    let outcome = runner::run(pipeline, &scripts, &options, &stop, reporter.as_mut());
    // Shown relative to the working directory when it is below it.
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| dir.path().strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| dir.path().to_path_buf());
    let logs = shown.display();
    let word = match &outcome {
        Ok(Outcome::Succeeded) => "succeeded",
        Ok(Outcome::Interrupted) => "interrupted",
        Ok(Outcome::TimedOut) => "timed out",
        Ok(Outcome::Failed(_)) | Err(_) => "failed",
    };
    let _ = dir.set_outcome(word);
    match outcome {
        Ok(Outcome::Succeeded) => {
            eprintln!(
                "run {} succeeded in {:.1}s; logs in {logs}/",
                dir.id,
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Ok(Outcome::Interrupted) => {
            eprintln!(
                "run {} interrupted; every process was stopped; logs in {logs}/",
                dir.id
            );
            eprintln!("continue it with: vcp run --resume {}", dir.id);
            ExitCode::from(130)
        }
        Ok(Outcome::TimedOut) => {
            eprintln!(
                "run {} stopped by --timeout after {:.1}s; every process was stopped; logs in {logs}/",
                dir.id,
                started.elapsed().as_secs_f64()
            );
            eprintln!("continue it with: vcp run --resume {}", dir.id);
            ExitCode::from(124)
        }
        Ok(Outcome::Failed(f)) => {
            let who = match f.rank {
                Some(r) => format!("worker {r}"),
                None => "the reduce step".to_string(),
            };
            eprintln!(
                "run {} failed: stage `{}`, {who}, {}",
                dir.id, f.stage, f.exit
            );
            for (index, item, status) in f.items.iter().take(5) {
                eprintln!("  failed item {index} ({item}): exit status {status}");
            }
            if f.items.len() > 5 {
                eprintln!("  and {} more failed items", f.items.len() - 5);
            }
            eprintln!("  log: {}", f.log.display());
            for line in &f.last_lines {
                eprintln!("  | {line}");
            }
            eprintln!(
                "the other workers were stopped; continue with: vcp run --resume {}",
                dir.id
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!(
                "error: run {} could not go on: {e}; logs in {logs}/",
                dir.id
            );
            ExitCode::from(1)
        }
    }
}
