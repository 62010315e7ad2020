//! `vcp run`: a pipeline on this machine, with no cluster. An edge room, like
//! the CLI: it starts processes, reads the clock and writes files.
//!
//! Each worker is the stage's generated wrapper script, the same file the
//! cluster runs, started with `sh` and the environment Volcano's `env` and
//! `svc` plugins would give the pod. Container images are not pulled:
//! commands run on the host. Volumes are local directories. A stage starts
//! when the stages it depends on completed; its reduce step after all its
//! workers succeeded. A failed worker is restarted alone, up to the stage's
//! retry count (items already done are skipped); when it still fails, every
//! other process is stopped. Each worker runs in its own process group, so
//! that stopping it stops everything it started.

mod failed;
mod progress;
mod state;

pub use progress::{PlainReporter, Reporter, StageProgress, TerminalReporter};
pub use state::{RunDir, RunSettings, new_run_id};

use crate::ir::{self, EnvValue, JobKind, Pipeline, Stage};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long stopped processes get to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);
const TICK: Duration = Duration::from_millis(50);

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
}

/// One process the runner started: a worker or a reduce step.
struct Proc {
    stage: usize,
    /// `None` for the reduce step.
    rank: Option<u32>,
    child: Child,
    started: Instant,
    log: PathBuf,
    /// Bytes of the log already mirrored (`--follow`).
    followed: u64,
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
    /// Items already done when the stage started (resume).
    done_before: u64,
}

pub fn run(
    pipeline: &Pipeline,
    scripts: &BTreeMap<String, String>,
    options: &RunOptions,
    stop: &Arc<AtomicBool>,
    reporter: &mut dyn Reporter,
) -> io::Result<Outcome> {
    let runner = Runner::new(pipeline, scripts, options)?;
    runner.run(stop, reporter)
}

struct Runner<'a> {
    pipeline: &'a Pipeline,
    options: &'a RunOptions,
    volumes: BTreeMap<String, PathBuf>,
    stages: Vec<StageState>,
    running: Vec<Proc>,
    /// Process groups started, stopped again at the end in case a worker
    /// left something behind.
    groups: Vec<i32>,
}

impl<'a> Runner<'a> {
    fn new(
        pipeline: &'a Pipeline,
        scripts: &BTreeMap<String, String>,
        options: &'a RunOptions,
    ) -> io::Result<Runner<'a>> {
        // Processes a worker leaves behind (its parent died) become ours, not
        // init's: stop_all can then wait for every one of them.
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let dir = &options.dir;
        fs::create_dir_all(dir.scripts())?;
        for (name, text) in scripts {
            fs::write(dir.scripts().join(name), text)?;
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
                }
            })
            .collect();
        Ok(Runner {
            pipeline,
            options,
            volumes,
            stages,
            running: Vec::new(),
            groups: Vec::new(),
        })
    }

    fn run(mut self, stop: &Arc<AtomicBool>, reporter: &mut dyn Reporter) -> io::Result<Outcome> {
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
            reporter.event(&format!(
                "note: {} come from Secrets or ConfigMaps on the cluster; set them in your environment to pass them to vcp run",
                names.join(", ")
            ));
        }
        for (i, s) in self.pipeline.stages.iter().enumerate() {
            if self.stages[i].phase == Phase::Done && self.options.stage.is_none() {
                reporter.event(&format!("{}: already completed, skipped", s.name));
            }
        }
        let mut last_progress = Instant::now();
        let outcome = loop {
            if stop.load(Ordering::SeqCst) {
                reporter.event("interrupted: stopping every process of the run");
                break Outcome::Interrupted;
            }
            if let Some(failure) = self.poll(reporter)? {
                break Outcome::Failed(Box::new(failure));
            }
            self.start_ready(reporter)?;
            if self.options.follow {
                self.follow(reporter);
            }
            if last_progress.elapsed() >= Duration::from_millis(200) {
                reporter.progress(&self.progress());
                last_progress = Instant::now();
            }
            if self.stages.iter().all(|s| s.phase == Phase::Done) && self.running.is_empty() {
                break Outcome::Succeeded;
            }
            std::thread::sleep(TICK);
        };
        if self.options.follow {
            self.follow(reporter);
        }
        self.stop_all();
        reporter.progress(&self.progress());
        reporter.finish();
        Ok(outcome)
    }

    /// Reaps finished processes; returns a failure that ends the run.
    fn poll(&mut self, reporter: &mut dyn Reporter) -> io::Result<Option<Failure>> {
        let mut i = 0;
        while i < self.running.len() {
            let timeout = self.pipeline.stages[self.running[i].stage].timeout;
            let timed_out =
                timeout.is_some_and(|t| self.running[i].started.elapsed() > Duration::from_secs(t));
            if timed_out {
                self.kill(self.running[i].child.id());
            }
            let Some(status) = self.running[i].child.try_wait()? else {
                i += 1;
                continue;
            };
            if self.options.follow {
                self.follow_one(i, reporter);
            }
            let proc = self.running.swap_remove(i);
            let stage = &self.pipeline.stages[proc.stage];
            let state = &mut self.stages[proc.stage];
            if status.success() && !timed_out {
                match proc.rank {
                    Some(rank) => {
                        state.done.insert(rank);
                        if state.done.len() == stage.workers as usize {
                            reporter.event(&format!(
                                "{}: all {} workers succeeded",
                                stage.name, stage.workers
                            ));
                            if stage.reduce.is_some() {
                                state.phase = Phase::Reducing;
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
            let exit = if timed_out {
                format!(
                    "timed out after {}",
                    ir::format_duration(timeout.unwrap_or(0))
                )
            } else {
                describe_status(status)
            };
            let attempts = match proc.rank {
                Some(rank) => state.attempts.get(&rank).copied().unwrap_or(1),
                None => state.reduce_attempts,
            };
            let who = match proc.rank {
                Some(rank) => format!("worker {rank}"),
                None => "reduce".to_string(),
            };
            // A timeout is final, as activeDeadlineSeconds is on the cluster.
            if !timed_out && attempts <= stage.retries {
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
                last_lines: last_lines(&proc.log, 10),
                log: proc.log,
            }));
        }
        Ok(None)
    }

    fn complete(&mut self, stage: usize, reporter: &mut dyn Reporter) -> io::Result<()> {
        let s = &self.pipeline.stages[stage];
        self.stages[stage].phase = Phase::Done;
        File::create(self.options.dir.stage_done(&s.name))?;
        let took = self.stages[stage]
            .started
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        reporter.event(&format!("{}: completed in {took:.1}s", s.name));
        let failed = failed::within_budget(&self.options.dir.state(&s.name), &s.name, s.workers);
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
            let state_dir = self.options.dir.state(&stage.name);
            fs::create_dir_all(state_dir.join("done"))?;
            let done_before = fs::read_dir(state_dir.join("done"))?.count() as u64;
            // Progress counts this run's items; start the count afresh.
            fs::write(state_dir.join("progress"), "")?;
            let state = &mut self.stages[i];
            state.phase = Phase::Working;
            state.started = Some(Instant::now());
            state.done_before = done_before;
            state.queued = (0..stage.workers).collect();
            let resumed = if done_before > 0 {
                format!(", {done_before} items already done")
            } else {
                String::new()
            };
            reporter.event(&format!(
                "{}: starting {} workers{resumed}",
                stage.name, stage.workers
            ));
        }
        let limit = self.options.max_procs.unwrap_or(usize::MAX);
        for i in 0..self.stages.len() {
            while self.running.len() < limit {
                let Some(rank) = self.stages[i].queued.pop_front() else {
                    break;
                };
                self.start_worker(i, rank)?;
            }
        }
        Ok(())
    }

    fn work_dir(&self, stage: &Stage, rank: Option<u32>) -> PathBuf {
        let base = self.options.dir.path().join("work").join(&stage.name);
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

    fn command(
        &self,
        stage: &Stage,
        kind: JobKind,
        rank: Option<u32>,
        log: &Path,
    ) -> io::Result<Command> {
        let script = self
            .options
            .dir
            .scripts()
            .join(ir::script_name(stage, kind));
        let work = self.work_dir(stage, rank);
        fs::create_dir_all(&work)?;
        let cwd = match stage
            .working_dir
            .as_deref()
            .and_then(|w| self.local_path(w))
        {
            Some(dir) => dir,
            None => {
                let dir = self.options.dir.path().join("work").join(&stage.name);
                fs::create_dir_all(&dir)?;
                dir
            }
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
        let log_file = File::create(log)?;
        let mut cmd = Command::new("sh");
        cmd.arg(&script)
            .current_dir(&cwd)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            // Its own process group: stopping the worker stops all it started.
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
        for e in &stage.env {
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
        let hosts = vec!["localhost"; stage.workers as usize].join(",");
        cmd.env("VCP_WORK_DIR", &work)
            .env("VCP_STATE_DIR", self.options.dir.state(&stage.name))
            .env("VCP_DONE_DIR", self.options.dir.state(&stage.name))
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
            cmd.env("VC_TASK_INDEX", rank.to_string())
                .env("VK_TASK_INDEX", rank.to_string())
                .env("VC_WORKER_NUM", stage.workers.to_string());
            // As in a pod: only a gang gets the hosts (the svc plugin).
            if stage.needs_all_workers() {
                cmd.env("VC_WORKER_HOSTS", &hosts);
            }
        }
        Ok(cmd)
    }

    fn start_worker(&mut self, stage_index: usize, rank: u32) -> io::Result<()> {
        let stage = &self.pipeline.stages[stage_index];
        let log_dir = self.options.dir.path().join(&stage.name);
        fs::create_dir_all(&log_dir)?;
        let log = log_dir.join(format!("worker-{rank}.log"));
        let attempts = self.stages[stage_index].attempts.entry(rank).or_insert(0);
        *attempts += 1;
        let mut cmd = self.command(stage, JobKind::Work, Some(rank), &log)?;
        let child = cmd.spawn()?;
        self.groups.push(pid(child.id()));
        self.running.push(Proc {
            stage: stage_index,
            rank: Some(rank),
            child,
            started: Instant::now(),
            log,
            followed: 0,
        });
        Ok(())
    }

    fn start_reduce(&mut self, stage_index: usize, reporter: &mut dyn Reporter) -> io::Result<()> {
        let stage = &self.pipeline.stages[stage_index];
        let log = self.options.dir.path().join(&stage.name).join("reduce.log");
        self.stages[stage_index].reduce_attempts += 1;
        if self.stages[stage_index].reduce_attempts == 1 {
            reporter.event(&format!("{}: starting the reduce step", stage.name));
        }
        let mut cmd = self.command(stage, JobKind::Reduce, None, &log)?;
        let child = cmd.spawn()?;
        self.groups.push(pid(child.id()));
        self.running.push(Proc {
            stage: stage_index,
            rank: None,
            child,
            started: Instant::now(),
            log,
            followed: 0,
        });
        Ok(())
    }

    fn kill(&self, id: u32) {
        let _ = killpg(Pid::from_raw(pid(id)), Signal::SIGTERM);
    }

    /// Stops every process group the run started: SIGTERM, then SIGKILL to
    /// whatever is left after the grace period; then reaps every process
    /// that ended up ours, so that none outlives the run.
    fn stop_all(&mut self) {
        for &g in &self.groups {
            let _ = killpg(Pid::from_raw(g), Signal::SIGTERM);
        }
        let deadline = Instant::now() + GRACE;
        while !self.running.is_empty() && Instant::now() < deadline {
            self.running
                .retain_mut(|p| !matches!(p.child.try_wait(), Ok(Some(_))));
            std::thread::sleep(TICK);
        }
        for &g in &self.groups {
            let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        }
        for p in &mut self.running {
            let _ = p.child.wait();
        }
        self.running.clear();
        let deadline = Instant::now() + GRACE;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {
                    if Instant::now() > deadline {
                        break;
                    }
                    for &g in &self.groups {
                        let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
                    }
                    std::thread::sleep(TICK);
                }
                Ok(_) => {}
                // ECHILD: no child of ours is left.
                Err(_) => break,
            }
        }
    }

    fn follow(&mut self, reporter: &mut dyn Reporter) {
        for i in 0..self.running.len() {
            self.follow_one(i, reporter);
        }
    }

    /// Mirrors the complete lines a process added to its log since last time.
    fn follow_one(&mut self, i: usize, reporter: &mut dyn Reporter) {
        let p = &mut self.running[i];
        let Ok(mut f) = File::open(&p.log) else {
            return;
        };
        if f.seek(SeekFrom::Start(p.followed)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return;
        }
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        for line in String::from_utf8_lossy(&buf[..end]).lines() {
            reporter.log_line(line);
        }
        p.followed += end as u64 + 1;
    }

    fn progress(&self) -> Vec<StageProgress> {
        let mut out = Vec::new();
        for (i, stage) in self.pipeline.stages.iter().enumerate() {
            let state = &self.stages[i];
            if state.started.is_none() {
                continue;
            }
            let running = self
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
            let done_now = fs::metadata(self.options.dir.state(&stage.name).join("progress"))
                .map_or(0, |m| m.len());
            out.push(StageProgress {
                name: stage.name.clone(),
                workers: stage.workers,
                done: state.done.len() as u32,
                running: running as u32,
                per_item: stage.per_item(),
                items_done: state.done_before + done_now,
                items_total: total
                    .filter(|_| stage.per_item())
                    .map(|t| t.max(state.done_before + done_now)),
                items_this_run: done_now,
                elapsed: state.started.map_or(Duration::ZERO, |t| t.elapsed()),
                reducing: state.phase == Phase::Reducing,
                finished: state.phase == Phase::Done,
            });
        }
        out
    }
}

fn pid(id: u32) -> i32 {
    i32::try_from(id).unwrap_or(i32::MAX)
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
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let index = parts.next()?.to_string();
            let status = parts.next()?.to_string();
            let item = parts.next().unwrap_or_default().to_string();
            Some((index, item, status))
        })
        .collect()
}

fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}
