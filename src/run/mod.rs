//! `vcp run`: a pipeline on this machine, with no cluster. An edge room, like
//! the CLI: it starts processes, reads the clock and writes files.
//!
//! Each worker is the stage's generated wrapper script, the same file the
//! cluster runs, started with `sh` and the environment Volcano's `env` and
//! `svc` plugins would give the pod, under a supervisor process
//! (supervise.rs) that guarantees nothing it started outlives the run.
//! Container images are not pulled: commands run on the host. Volumes are
//! local directories. A stage starts when the stages it depends on
//! completed; its reduce step after all its workers succeeded. A failed
//! worker is restarted alone, up to the stage's retry count (items already
//! done are skipped); when it still fails, every other process is stopped.
//! Done items are recorded by the wrapper library itself (`VCP_DONE_DIR`),
//! by identity, so `--resume` runs exactly the items not done yet.

mod failed;
mod logs;
mod procs;
mod progress;
mod state;
pub mod supervise;

pub use progress::{PlainReporter, Reporter, StageProgress, TerminalReporter};
pub use progress::{count, failed_item, reduce_tail};
pub use state::{RunDir, RunInfo, RunSettings, create_private_dir, list_runs, new_run_id};

use crate::ir::{self, EnvValue, JobKind, Pipeline, Stage};
use procs::{Proc, Procs};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the progress lines are refreshed.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// What the runner needs besides the pipeline.
#[derive(Debug)]
pub struct RunOptions {
    pub dir: RunDir,
    /// Run only this stage (its dependencies are taken as done).
    pub stage: Option<String>,
    /// Volume name -> local directory.
    pub mounts: BTreeMap<String, PathBuf>,
    /// Directory of the pipeline's file, for volumes' `local` paths.
    pub base_dir: PathBuf,
    /// At most this many worker processes at once.
    pub max_procs: Option<usize>,
    /// Mirror every log line to the terminal.
    pub follow: bool,
    /// Wall-clock limit of the whole run.
    pub timeout: Option<Duration>,
    /// Bytes of one attempt's output kept in its log before the cut.
    pub log_limit: u64,
    /// This process: the supervisor is `<exe> __vcp-supervise`.
    pub exe: PathBuf,
}

/// Why a run failed: enough for the summary.
#[derive(Debug)]
pub struct Failure {
    pub stage: String,
    /// `None` for the reduce step.
    pub rank: Option<u32>,
    pub exit: String,
    /// Items that failed, as `(index, item, exit status)`.
    pub items: Vec<(String, String, String)>,
    pub log: PathBuf,
    pub last_lines: Vec<String>,
}

#[derive(Debug)]
pub enum Outcome {
    Succeeded,
    Failed(Box<Failure>),
    Interrupted,
    /// `--timeout` passed.
    TimedOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Working,
    Reducing,
    Done,
}

struct StageState {
    phase: Phase,
    /// Workers not started yet (ranks), in order.
    queued: VecDeque<u32>,
    done: BTreeSet<u32>,
    /// Attempts per rank (starts).
    attempts: BTreeMap<u32, u32>,
    reduce_attempts: u32,
    started: Option<Instant>,
    /// Done records found when the stage started (resume).
    done_before: u64,
    /// Done records counted so far, and how far each file was read.
    done_now: u64,
    read_to: BTreeMap<PathBuf, u64>,
}

pub fn run(
    pipeline: &Pipeline,
    scripts: &BTreeMap<String, String>,
    options: &RunOptions,
    stop: &Arc<AtomicBool>,
    reporter: &mut dyn Reporter,
) -> io::Result<Outcome> {
    let mut runner = Runner::new(pipeline, scripts, options)?;
    let outcome = runner.run(stop, reporter);
    // Stopped here on every path, an error return included (and by Drop
    // on a panic).
    runner.procs.stop_all();
    let outcome = outcome?;
    if matches!(outcome, Outcome::Succeeded) {
        // A succeeded run keeps its logs, scripts, settings and volumes;
        // its working files and done records are of no further use.
        let _ = fs::remove_dir_all(options.dir.work());
        let _ = fs::remove_dir_all(options.dir.done_dir());
    }
    Ok(outcome)
}

struct Runner<'a> {
    pipeline: &'a Pipeline,
    options: &'a RunOptions,
    volumes: BTreeMap<String, PathBuf>,
    stages: Vec<StageState>,
    procs: Procs,
}

impl<'a> Runner<'a> {
    fn new(
        pipeline: &'a Pipeline,
        scripts: &BTreeMap<String, String>,
        options: &'a RunOptions,
    ) -> io::Result<Runner<'a>> {
        let dir = &options.dir;
        create_private_dir(&dir.scripts())?;
        create_private_dir(&dir.done_dir())?;
        for (name, text) in scripts {
            state::write_private(&dir.scripts().join(name), text.as_bytes())?;
        }
        let mut volumes = BTreeMap::new();
        for v in &pipeline.volumes {
            let path = match (options.mounts.get(&v.name), &v.local) {
                (Some(p), _) => p.clone(),
                (None, Some(local)) => options.base_dir.join(local),
                (None, None) => dir.path().join("volumes").join(&v.name),
            };
            fs::create_dir_all(&path)?;
            volumes.insert(v.name.clone(), fs::canonicalize(&path)?);
        }
        let stages = pipeline
            .stages
            .iter()
            .map(|s| {
                let skipped = options.stage.as_ref().is_some_and(|only| *only != s.name);
                let done = dir.stage_done(&s.name).exists();
                StageState {
                    phase: if skipped || done {
                        Phase::Done
                    } else {
                        Phase::Waiting
                    },
                    queued: VecDeque::new(),
                    done: BTreeSet::new(),
                    attempts: BTreeMap::new(),
                    reduce_attempts: 0,
                    started: None,
                    done_before: 0,
                    done_now: 0,
                    read_to: BTreeMap::new(),
                }
            })
            .collect();
        Ok(Runner {
            pipeline,
            options,
            volumes,
            stages,
            procs: Procs::new()?,
        })
    }

    fn run(&mut self, stop: &Arc<AtomicBool>, reporter: &mut dyn Reporter) -> io::Result<Outcome> {
        let mut missing = BTreeSet::new();
        for (i, s) in self.pipeline.stages.iter().enumerate() {
            if self.stages[i].phase == Phase::Done {
                continue;
            }
            for e in &s.env {
                if !matches!(e.value, EnvValue::Literal(_)) && std::env::var_os(&e.name).is_none() {
                    missing.insert(e.name.as_str());
                }
            }
        }
        if !missing.is_empty() {
            let names: Vec<&str> = missing.into_iter().collect();
            reporter.event(&progress::missing_env_note(&names));
        }
        for (i, s) in self.pipeline.stages.iter().enumerate() {
            if self.stages[i].phase == Phase::Done && self.options.stage.is_none() {
                reporter.event(&format!("{}: already completed, skipped", s.name));
            }
        }
        let deadline = self.options.timeout.map(|t| Instant::now() + t);
        let mut last_progress: Option<Instant> = None;
        let outcome = loop {
            if stop.load(Ordering::SeqCst) {
                reporter.event("interrupted: stopping every process of the run");
                break Outcome::Interrupted;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                reporter.event("the run's --timeout passed: stopping every process of the run");
                break Outcome::TimedOut;
            }
            if let Some(failure) = self.poll(reporter)? {
                break Outcome::Failed(Box::new(failure));
            }
            self.start_ready(reporter)?;
            if self.options.follow {
                for p in &mut self.procs.running {
                    for line in logs::new_lines(&p.log, &mut p.followed) {
                        reporter.log_line(&line);
                    }
                }
            }
            if last_progress.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                let progress = self.progress();
                reporter.progress(&progress);
                last_progress = Some(Instant::now());
            }
            if self.stages.iter().all(|s| s.phase == Phase::Done) && self.procs.running.is_empty() {
                break Outcome::Succeeded;
            }
            // Sleep until a supervisor ends or a signal comes, at most
            // until the next deadline or progress refresh.
            let mut wake = PROGRESS_EVERY;
            for d in self
                .procs
                .running
                .iter()
                .filter_map(|p| p.deadline.filter(|_| !p.timed_out))
                .chain(deadline)
            {
                wake = wake.min(d.saturating_duration_since(Instant::now()));
            }
            self.procs.wait(wake);
        };
        self.procs.stop_all();
        let progress = self.progress();
        reporter.progress(&progress);
        reporter.finish();
        Ok(outcome)
    }

    /// Handles ended supervisors and stage timeouts; returns a failure
    /// that ends the run.
    fn poll(&mut self, reporter: &mut dyn Reporter) -> io::Result<Option<Failure>> {
        let now = Instant::now();
        for p in &mut self.procs.running {
            if !p.timed_out && p.deadline.is_some_and(|d| now >= d) {
                // A timeout is final, as activeDeadlineSeconds is on the cluster.
                p.timed_out = true;
                p.stop();
            }
        }
        while let Some((mut proc, status)) = self.procs.reap()? {
            if self.options.follow {
                for line in logs::new_lines(&proc.log, &mut proc.followed) {
                    reporter.log_line(&line);
                }
            }
            let stage = &self.pipeline.stages[proc.stage];
            if status.success() && !proc.timed_out {
                let state = &mut self.stages[proc.stage];
                match proc.rank {
                    Some(rank) => {
                        state.done.insert(rank);
                        if state.done.len() == stage.workers as usize {
                            reporter.event(&format!(
                                "{}: {}",
                                stage.name,
                                progress::all_workers(stage.workers)
                            ));
                            if stage.reduce.is_some() {
                                fs::write(self.options.dir.workers_done(&stage.name), "")?;
                                self.stages[proc.stage].phase = Phase::Reducing;
                                self.start_reduce(proc.stage, reporter)?;
                            } else {
                                self.complete(proc.stage, reporter)?;
                            }
                        }
                    }
                    None => {
                        reporter.event(&format!("{}: reduce succeeded", stage.name));
                        self.complete(proc.stage, reporter)?;
                    }
                }
                continue;
            }
            let exit = if proc.timed_out {
                format!(
                    "timed out after {}",
                    ir::format_duration(stage.timeout.unwrap_or(0))
                )
            } else {
                describe_status(status)
            };
            let state = &self.stages[proc.stage];
            let attempts = match proc.rank {
                Some(rank) => state.attempts.get(&rank).copied().unwrap_or(1),
                None => state.reduce_attempts,
            };
            let who = match proc.rank {
                Some(rank) => format!("worker {rank}"),
                None => "reduce".to_string(),
            };
            if !proc.timed_out && attempts <= stage.retries {
                reporter.event(&format!(
                    "{}: {who} failed ({exit}); restarting it, retry {attempts} of {}",
                    stage.name, stage.retries
                ));
                match proc.rank {
                    Some(rank) => self.start_worker(proc.stage, rank)?,
                    None => self.start_reduce(proc.stage, reporter)?,
                }
                continue;
            }
            let work = self.work_dir(stage, proc.rank);
            return Ok(Some(Failure {
                stage: stage.name.clone(),
                rank: proc.rank,
                exit,
                items: failed_items(&work.join("failed")),
                last_lines: logs::tail(&proc.log, proc.log_start, 10),
                log: proc.log,
            }));
        }
        Ok(None)
    }

    fn complete(&mut self, stage: usize, reporter: &mut dyn Reporter) -> io::Result<()> {
        let s = &self.pipeline.stages[stage];
        self.stages[stage].phase = Phase::Done;
        fs::write(self.options.dir.stage_done(&s.name), "")?;
        let took = self.stages[stage]
            .started
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        reporter.event(&format!("{}: completed in {took:.1}s", s.name));
        let failed = failed::within_budget(&self.options.dir.done_dir(), &s.name, s.workers);
        if !failed.is_empty() {
            for line in failed::summary(&s.name, &failed, 20) {
                reporter.event(&line);
            }
        }
        Ok(())
    }

    /// Starts every stage whose dependencies completed, and queued workers
    /// while the process limit allows.
    fn start_ready(&mut self, reporter: &mut dyn Reporter) -> io::Result<()> {
        for i in 0..self.stages.len() {
            if self.stages[i].phase != Phase::Waiting {
                continue;
            }
            let stage = &self.pipeline.stages[i];
            let deps_done = self.options.stage.is_some()
                || stage.after.iter().all(|d| {
                    self.pipeline
                        .stages
                        .iter()
                        .position(|s| &s.name == d)
                        .is_none_or(|j| self.stages[j].phase == Phase::Done)
                });
            if !deps_done {
                continue;
            }
            self.stages[i].started = Some(Instant::now());
            if stage.reduce.is_some() && self.options.dir.workers_done(&stage.name).exists() {
                // Only the reduce step failed before: it runs alone.
                reporter.event(&format!(
                    "{}: every worker succeeded in an earlier attempt; running the reduce step alone",
                    stage.name
                ));
                self.stages[i].phase = Phase::Reducing;
                self.start_reduce(i, reporter)?;
                continue;
            }
            self.count_done(i);
            let state = &mut self.stages[i];
            state.done_before = state.done_now;
            state.phase = Phase::Working;
            state.queued = (0..stage.workers).collect();
            let resumed = if state.done_before > 0 {
                format!(", {} already done", count(state.done_before, "item"))
            } else {
                String::new()
            };
            reporter.event(&format!(
                "{}: starting {}{resumed}",
                stage.name,
                count(stage.workers, "worker")
            ));
        }
        let limit = self.options.max_procs.unwrap_or(usize::MAX);
        for i in 0..self.stages.len() {
            while self.procs.running.len() < limit {
                let Some(rank) = self.stages[i].queued.pop_front() else {
                    break;
                };
                self.start_worker(i, rank)?;
            }
        }
        Ok(())
    }

    /// Counts the stage's done records appended since the last count.
    fn count_done(&mut self, stage_index: usize) {
        let prefix = format!("{}.", self.pipeline.stages[stage_index].name);
        let Ok(entries) = fs::read_dir(self.options.dir.done_dir()) else {
            return;
        };
        let state = &mut self.stages[stage_index];
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rank) = name
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".done"))
            else {
                continue;
            };
            if rank.parse::<u32>().is_err() {
                continue;
            }
            let from = state.read_to.entry(e.path()).or_insert(0);
            let Ok(mut f) = fs::File::open(e.path()) else {
                continue;
            };
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(*from)).is_ok() && f.read_to_end(&mut buf).is_ok() {
                let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                state.done_now += memchr::memchr_iter(b'\n', &buf[..complete]).count() as u64;
                *from += complete as u64;
            }
        }
    }

    fn work_dir(&self, stage: &Stage, rank: Option<u32>) -> PathBuf {
        let base = self.options.dir.work().join(&stage.name);
        match rank {
            Some(r) => base.join(r.to_string()),
            None => base.join("reduce"),
        }
    }

    /// The local directory for a container path under a volume's mount.
    fn local_path(&self, path: &str) -> Option<PathBuf> {
        self.pipeline
            .volumes
            .iter()
            .filter(|v| {
                let mount = v.mount.trim_end_matches('/');
                path == mount || path.starts_with(&format!("{mount}/"))
            })
            .max_by_key(|v| v.mount.len())
            .and_then(|v| {
                let rest = path[v.mount.trim_end_matches('/').len()..].trim_start_matches('/');
                self.volumes.get(&v.name).map(|d| {
                    if rest.is_empty() {
                        d.clone()
                    } else {
                        d.join(rest)
                    }
                })
            })
    }

    /// Starts the supervisor of one worker (or reduce step) attempt.
    fn spawn(
        &mut self,
        stage_index: usize,
        rank: Option<u32>,
        header: &str,
        log_name: &str,
    ) -> io::Result<()> {
        let stage = &self.pipeline.stages[stage_index];
        let kind = if rank.is_some() {
            JobKind::Work
        } else {
            JobKind::Reduce
        };
        let script = self
            .options
            .dir
            .scripts()
            .join(ir::script_name(stage, kind));
        let work = self.work_dir(stage, rank);
        create_private_dir(&work)?;
        let cwd = match stage
            .working_dir
            .as_deref()
            .and_then(|w| self.local_path(w))
        {
            Some(dir) => dir,
            None => self.options.dir.work().join(&stage.name),
        };
        if !cwd.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "working directory {} of stage {} does not exist",
                    cwd.display(),
                    stage.name
                ),
            ));
        }
        let log_dir = self.options.dir.path().join(&stage.name);
        create_private_dir(&log_dir)?;
        let log = log_dir.join(log_name);
        let (log_file, log_start) = logs::begin_attempt(&log, header)?;
        let args = supervise::SuperviseArgs {
            log: log.clone(),
            lock: self.options.dir.procs_lock(),
            log_limit: self.options.log_limit,
            program: vec!["sh".to_string(), script.to_string_lossy().into_owned()],
        };
        let mut cmd = Command::new(&self.options.exe);
        cmd.arg(supervise::SUBCOMMAND)
            .args(args.to_args())
            .current_dir(&cwd)
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            // Its own process group: Ctrl-C on the terminal reaches vcp,
            // which stops the workers in order.
            .process_group(0);
        // Nothing from the caller's environment may pose as Volcano's.
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k == "RANK"
                || k == "WORLD_SIZE"
                || ["VC_", "VK_", "VCP_"].iter().any(|p| k.starts_with(p))
            {
                cmd.env_remove(&key);
            }
        }
        // The reduce step's env is its own (the stage's, then its block's).
        let env = match (kind, &stage.reduce) {
            (JobKind::Reduce, Some(r)) => &r.env,
            _ => &stage.env,
        };
        for e in env {
            match &e.value {
                EnvValue::Literal(v) => {
                    cmd.env(&e.name, v);
                }
                // No cluster to read it from: the caller's variable of the
                // same name stands in (inherited), if there is one.
                EnvValue::Secret { .. } | EnvValue::ConfigMap { .. } => {}
            }
        }
        for v in &self.pipeline.volumes {
            if let Some(dir) = self.volumes.get(&v.name) {
                cmd.env(v.env_name(), dir);
            }
        }
        cmd.env("VCP_WORK_DIR", &work)
            .env("VCP_DONE_DIR", self.options.dir.done_dir())
            // Keys output lines on volumes: the run's id stands in for the
            // build's hash (the same on --resume).
            .env("VCP_RUN_KEY", &self.options.dir.id)
            // vcp run restarts a failed worker itself; but within a failure
            // budget a worker succeeds, so its items retry inside it.
            .env(
                "VCP_RETRIES",
                if stage.max_failed.is_some() {
                    stage.retries
                } else {
                    0
                }
                .to_string(),
            );
        if let Some(rank) = rank {
            let hosts = vec!["localhost"; stage.workers as usize].join(",");
            cmd.env("VC_TASK_INDEX", rank.to_string())
                .env("VK_TASK_INDEX", rank.to_string())
                .env("VC_WORKER_NUM", stage.workers.to_string());
            // As in a pod: only a gang gets the hosts (the svc plugin).
            if stage.needs_all_workers() {
                cmd.env("VC_WORKER_HOSTS", &hosts);
            }
        }
        let child = cmd.spawn()?;
        let timeout = stage.timeout.map(Duration::from_secs);
        self.procs
            .running
            .push(Proc::new(stage_index, rank, child, timeout, log, log_start));
        Ok(())
    }

    fn start_worker(&mut self, stage_index: usize, rank: u32) -> io::Result<()> {
        let attempts = self.stages[stage_index].attempts.entry(rank).or_insert(0);
        *attempts += 1;
        let header = format!(
            "worker {rank} of stage {}, attempt {attempts}",
            self.pipeline.stages[stage_index].name
        );
        self.spawn(
            stage_index,
            Some(rank),
            &header,
            &format!("worker-{rank}.log"),
        )
    }

    fn start_reduce(&mut self, stage_index: usize, reporter: &mut dyn Reporter) -> io::Result<()> {
        let stage = &self.pipeline.stages[stage_index];
        self.stages[stage_index].reduce_attempts += 1;
        let attempt = self.stages[stage_index].reduce_attempts;
        if attempt == 1 {
            reporter.event(&format!("{}: starting the reduce step", stage.name));
        }
        let header = format!("reduce step of stage {}, attempt {attempt}", stage.name);
        self.spawn(stage_index, None, &header, "reduce.log")
    }

    fn progress(&mut self) -> Vec<StageProgress> {
        let mut out = Vec::new();
        for i in 0..self.pipeline.stages.len() {
            if self.stages[i].started.is_none() {
                continue;
            }
            if self.pipeline.stages[i].per_item() && self.stages[i].phase == Phase::Working {
                self.count_done(i);
            }
            let stage = &self.pipeline.stages[i];
            let state = &self.stages[i];
            let running = self
                .procs
                .running
                .iter()
                .filter(|p| p.stage == i && p.rank.is_some())
                .count();
            let mut total = Some(0u64);
            for rank in 0..stage.workers {
                let count = fs::read_to_string(self.work_dir(stage, Some(rank)).join("count"))
                    .ok()
                    .and_then(|c| c.trim().parse::<u64>().ok());
                total = total.zip(count).map(|(a, b)| a + b);
            }
            let done_this_run = state.done_now - state.done_before;
            out.push(StageProgress {
                name: stage.name.clone(),
                workers: stage.workers,
                done: state.done.len() as u32,
                running: running as u32,
                per_item: stage.per_item(),
                items_done: state.done_now,
                items_total: total
                    .filter(|_| stage.per_item())
                    .map(|t| t.max(state.done_now)),
                items_this_run: done_this_run,
                elapsed: state.started.map_or(Duration::ZERO, |t| t.elapsed()),
                reducing: state.phase == Phase::Reducing,
                finished: state.phase == Phase::Done,
            });
        }
        out
    }
}

/// Stages `vcp run` cannot run under `--max-procs`: their workers need each
/// other at once (`ir::Stage::needs_all_workers`) and are more than the
/// limit. Found before anything starts, as `(stage, workers)`.
pub fn too_few_procs(pipeline: &Pipeline, only: Option<&str>, max: usize) -> Vec<(String, u32)> {
    pipeline
        .stages
        .iter()
        .filter(|s| only.is_none_or(|o| o == s.name))
        .filter(|s| s.needs_all_workers() && s.workers as usize > max)
        .map(|s| (s.name.clone(), s.workers))
        .collect()
}

fn describe_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown status".to_string(),
    }
}

/// `index<TAB>status<TAB>item` lines the wrapper writes for failed items.
fn failed_items(path: &Path) -> Vec<(String, String, String)> {
    let Ok(text) = fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .take(100)
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let index = parts.next()?.to_string();
            let status = parts.next()?.to_string();
            let item = parts.next().unwrap_or_default().to_string();
            Some((index, item, status))
        })
        .collect()
}
