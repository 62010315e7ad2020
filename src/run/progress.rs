//! What `vcp run` shows while it works: on a terminal, one live line per
//! running stage (indicatif); elsewhere (CI, a pipe), plain timestamped lines.
//! And the words of its messages and final summary: counts with their
//! plurals, the failed items, the reduce steps' last lines.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `1 worker`, `3 workers`, `0 items`.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    match n.into() {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// `worker 0 succeeded` / `all 3 workers succeeded`.
pub(super) fn all_workers(n: u32) -> String {
    match n {
        1 => "its worker succeeded".to_string(),
        n => format!("all {n} workers succeeded"),
    }
}

/// The note about environment variables that come from the cluster.
pub(super) fn missing_env_note(names: &[&str]) -> String {
    let (verb, from, it) = if names.len() == 1 {
        ("comes", "a Secret or ConfigMap", "it")
    } else {
        ("come", "Secrets or ConfigMaps", "them")
    };
    format!(
        "note: {} {verb} from {from} on the cluster; set {it} in your environment to pass {it} to vcp run",
        names.join(", ")
    )
}

/// One failed item of the summary: `failed item 3 (b.csv): exit status 2`;
/// the item is not repeated when it is its own index (`range()` items).
pub fn failed_item(index: &str, item: &str, status: &str) -> String {
    if item == index || item.is_empty() {
        format!("failed item {index}: exit status {status}")
    } else {
        format!("failed item {index} ({item}): exit status {status}")
    }
}

/// The last `n` lines a stage's reduce command printed, from its log
/// `reduce.log` (at most the last 64 KiB of it, lines cut at 300 bytes):
/// the pipeline's answer, where the final summary shows it. The wrapper's
/// own lines (`vcp: ...`) and the `[stage reduce] ` prefix are left out.
pub fn reduce_tail(log: &Path, stage: &str, n: usize) -> Vec<String> {
    const WINDOW: u64 = 64 * 1024;
    const WIDTH: usize = 300;
    let Ok(mut file) = File::open(log) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = len.saturating_sub(WINDOW);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let prefix = format!("[{stage} reduce] ");
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<String> = text
        .lines()
        // A window that starts mid-file starts mid-line.
        .skip(usize::from(start > 0))
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter(|l| !l.starts_with("vcp: "))
        .map(|l| match l.char_indices().nth(WIDTH) {
            Some((cut, _)) => format!("{}...", &l[..cut]),
            None => l.to_string(),
        })
        .collect();
    lines.drain(..lines.len().saturating_sub(n));
    lines
}

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
            // A finished stage's line goes away (its `completed` event says
            // it): it is never drawn again below later events.
            if s.finished {
                if let Some(bar) = self.bars.get(&s.name)
                    && !bar.is_finished()
                {
                    bar.finish_and_clear();
                    self.multi.remove(bar);
                }
                continue;
            }
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
        }
    }

    fn log_line(&mut self, line: &str) {
        let _ = self.multi.println(line);
    }

    fn finish(&mut self) {
        // The summary follows the events; live lines would only repeat them.
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_their_plurals() {
        assert_eq!(count(1u32, "worker"), "1 worker");
        assert_eq!(count(0u32, "item"), "0 items");
        assert_eq!(count(3u64, "stage"), "3 stages");
        assert_eq!(all_workers(1), "its worker succeeded");
        assert_eq!(all_workers(4), "all 4 workers succeeded");
    }

    #[test]
    fn the_env_note_agrees_with_its_names() {
        assert_eq!(
            missing_env_note(&["API_TOKEN"]),
            "note: API_TOKEN comes from a Secret or ConfigMap on the cluster; set it in your environment to pass it to vcp run"
        );
        assert!(missing_env_note(&["A", "B"]).starts_with("note: A, B come from Secrets"));
    }

    #[test]
    fn a_failed_item_is_not_repeated() {
        assert_eq!(
            failed_item("17", "17", "1"),
            "failed item 17: exit status 1"
        );
        assert_eq!(
            failed_item("2", "b.csv", "3"),
            "failed item 2 (b.csv): exit status 3"
        );
    }

    #[test]
    fn the_reduce_tail_is_the_commands_last_lines() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("reduce.log");
        let mut text = String::from("[sum reduce] vcp: reduce, world size 3\n");
        for i in 0..20 {
            text.push_str(&format!("[sum reduce] line {i}\n"));
        }
        text.push_str("[sum reduce] sum = 8955\n[sum reduce] vcp: reduce done\n");
        std::fs::write(&log, text).expect("write");
        assert_eq!(
            reduce_tail(&log, "sum", 3),
            ["line 18", "line 19", "sum = 8955"]
        );
        assert!(reduce_tail(&dir.path().join("missing.log"), "sum", 3).is_empty());
        // A long log is read from its end only; a long line is cut.
        let long = format!("[sum reduce] {}\n", "x".repeat(200_000));
        std::fs::write(&log, format!("{long}[sum reduce] {}\n", "y".repeat(1000))).expect("write");
        let tail = reduce_tail(&log, "sum", 5);
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0], format!("{}...", "y".repeat(300)));
    }
}
