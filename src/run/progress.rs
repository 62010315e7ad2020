//! What `vcp run` shows while it works: on a terminal, one live line per
//! running stage (indicatif); elsewhere (CI, a pipe), plain timestamped lines.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A snapshot of one started stage.
#[derive(Clone, Debug)]
pub struct StageProgress {
    pub name: String,
    pub workers: u32,
    pub done: u32,
    pub running: u32,
    pub per_item: bool,
    /// Items done, including those done by an earlier (resumed) run.
    pub items_done: u64,
    /// Known once every worker computed its shard.
    pub items_total: Option<u64>,
    pub items_this_run: u64,
    pub elapsed: Duration,
    pub reducing: bool,
    pub finished: bool,
}

impl StageProgress {
    fn line(&self) -> String {
        let mut s = format!(
            "{}: workers {}/{} done, {} running",
            self.name, self.done, self.workers, self.running
        );
        if self.per_item {
            let rate = self.items_this_run as f64 / self.elapsed.as_secs_f64().max(0.001);
            match self.items_total {
                Some(t) => s.push_str(&format!(", items {}/{t}, {rate:.1}/s", self.items_done)),
                None => s.push_str(&format!(", items {}, {rate:.1}/s", self.items_done)),
            }
        }
        if self.reducing {
            s.push_str(", reducing");
        }
        if self.finished {
            s.push_str(", completed");
        }
        s
    }
}

pub trait Reporter {
    /// Something happened: a stage started or completed, a worker failed.
    fn event(&mut self, message: &str);
    /// The state of the started stages, several times a second.
    fn progress(&mut self, stages: &[StageProgress]);
    /// A line of a worker's log (`--follow`).
    fn log_line(&mut self, line: &str);
    fn finish(&mut self);
}

/// `HH:MM:SS` (UTC) of now.
fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Timestamped lines on stderr; progress every few seconds.
pub struct PlainReporter {
    last: Option<Instant>,
    every: Duration,
}

impl PlainReporter {
    pub fn new() -> PlainReporter {
        PlainReporter {
            last: None,
            every: Duration::from_secs(5),
        }
    }
}

impl Default for PlainReporter {
    fn default() -> Self {
        PlainReporter::new()
    }
}

impl Reporter for PlainReporter {
    fn event(&mut self, message: &str) {
        eprintln!("[{}] {message}", clock());
    }

    fn progress(&mut self, stages: &[StageProgress]) {
        if self.last.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        self.last = Some(Instant::now());
        for s in stages.iter().filter(|s| !s.finished) {
            eprintln!("[{}] {}", clock(), s.line());
        }
    }

    fn log_line(&mut self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    fn finish(&mut self) {}
}

/// One live line per stage on a terminal.
pub struct TerminalReporter {
    multi: MultiProgress,
    bars: BTreeMap<String, ProgressBar>,
}

impl TerminalReporter {
    pub fn new() -> TerminalReporter {
        TerminalReporter {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: BTreeMap::new(),
        }
    }
}

impl Default for TerminalReporter {
    fn default() -> Self {
        TerminalReporter::new()
    }
}

impl Reporter for TerminalReporter {
    fn event(&mut self, message: &str) {
        let _ = self.multi.println(format!("[{}] {message}", clock()));
    }

    fn progress(&mut self, stages: &[StageProgress]) {
        for s in stages {
            let bar = self.bars.entry(s.name.clone()).or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            bar.set_message(s.line());
            if s.finished && !bar.is_finished() {
                bar.finish_with_message(s.line());
            }
        }
    }

    fn log_line(&mut self, line: &str) {
        let _ = self.multi.println(line);
    }

    fn finish(&mut self) {
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}
