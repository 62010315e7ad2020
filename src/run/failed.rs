//! Items that failed within a stage's failure budget (`max_failed`): the
//! records its workers published in the stage's state directory
//! (`<stage>.<rank>.failed`, `status<TAB>item` lines, by vcp-lib.sh).

use std::path::Path;

/// The failed items of every worker, in rank order, as (exit status, item).
pub(super) fn within_budget(dir: &Path, stage: &str, workers: u32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rank in 0..workers {
        let Ok(text) = std::fs::read(dir.join(format!("{stage}.{rank}.failed"))) else {
            continue;
        };
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = String::from_utf8_lossy(line);
            let (status, item) = line.split_once('\t').unwrap_or(("?", &line));
            out.push((status.to_string(), item.to_string()));
        }
    }
    out
}

/// The summary lines of a stage's failed items: at most `show` of them.
pub(super) fn summary(stage: &str, failed: &[(String, String)], show: usize) -> Vec<String> {
    let mut lines = vec![format!(
        "{stage}: {} item(s) failed within the stage's budget (max_failed):",
        failed.len()
    )];
    for (status, item) in failed.iter().take(show) {
        lines.push(format!("  {item:?}: exit status {status}"));
    }
    if failed.len() > show {
        lines.push(format!("  and {} more", failed.len() - show));
    }
    lines
}
