//! Worker logs: one file per worker (and reduce step), every attempt
//! appended after a header line, so a restarted worker's first attempt
//! stays readable; the tail shown in a failure summary is bounded in lines
//! and bytes whatever the output looks like.

use super::state::civil_from_days;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes read from the end of a log for a failure summary.
const TAIL_BYTES: u64 = 16 * 1024;
/// A longer line is cut in the summary.
const LINE_BYTES: usize = 400;

/// Opens `path` for appending (0600) and writes an attempt's header;
/// returns the file and the offset where this attempt's output starts.
pub(super) fn begin_attempt(path: &Path, header: &str) -> io::Result<(File, u64)> {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((now / 86_400) as i64);
    let s = now % 86_400;
    writeln!(
        f,
        "vcp: ==== {header}, started {y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC ====",
        s / 3600,
        s / 60 % 60,
        s % 60
    )?;
    let start = f.metadata()?.len();
    Ok((f, start))
}

/// The last `n` lines of the log after `from`, each at most [`LINE_BYTES`]
/// bytes, read from at most the last [`TAIL_BYTES`] bytes: a summary stays
/// small whatever the worker printed (a 10 MB line without a newline).
pub(super) fn tail(path: &Path, from: u64, n: usize) -> Vec<String> {
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let start = from.max(len.saturating_sub(TAIL_BYTES));
    if f.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if f.take(TAIL_BYTES).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| cut(l, LINE_BYTES))
        .collect()
}

fn cut(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_string();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} [... {} more bytes]", &line[..end], line.len() - end)
}

/// The complete lines added to the log since `offset`, which moves past
/// them (`--follow`).
pub(super) fn new_lines(path: &Path, offset: &mut u64) -> Vec<String> {
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    if f.seek(SeekFrom::Start(*offset)).is_err() {
        return Vec::new();
    }
    let mut buf = Vec::new();
    if f.take(1 << 20).read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
        // One long line: shown in pieces rather than never.
        if buf.len() == 1 << 20 {
            *offset += buf.len() as u64;
            return vec![String::from_utf8_lossy(&buf).into_owned()];
        }
        return Vec::new();
    };
    *offset += end as u64 + 1;
    String::from_utf8_lossy(&buf[..end])
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_of_a_huge_line_is_small() {
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("log");
        std::fs::write(&log, "x".repeat(10 << 20)).expect("write");
        let lines = tail(&log, 0, 10);
        let total: usize = lines.iter().map(String::len).sum();
        assert!(total < 1024, "{total}");
        assert_eq!(lines.len(), 1);
    }

    #[test]
    fn attempts_are_appended() {
        let dir = tempfile::tempdir().expect("dir");
        let log = dir.path().join("log");
        let (mut f, _) = begin_attempt(&log, "attempt 1").expect("first");
        writeln!(f, "first output").expect("write");
        let (_, start) = begin_attempt(&log, "attempt 2").expect("second");
        let text = std::fs::read_to_string(&log).expect("read");
        assert!(text.contains("first output"));
        assert!(text.contains("attempt 2"));
        assert_eq!(start, text.len() as u64);
        assert!(tail(&log, start, 10).is_empty());
    }
}
