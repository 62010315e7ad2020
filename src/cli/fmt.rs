//! `vcp fmt`: rewrites `.vcp` files in the canonical layout (`crate::fmt`),
//! or with `--check` only reports the files that are not in it.
//!
//! A file is replaced by writing a temporary file beside it and renaming it
//! over the original, so that an interrupted run never leaves half a file;
//! files already formatted are not touched at all (their modification time
//! stays, and build tools see no change). A file with syntax errors is never
//! changed: its diagnostics are printed instead.

use super::render::{self, Style};
use crate::source::{Origin, SourceMap};
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Formats `paths` (files, or directories searched for `*.vcp`). Exit codes:
/// 0 all formatted (or, with `check`, all already formatted), 1 a file would
/// change under `check`, has syntax errors or could not be read or written,
/// 2 a path does not exist or names no `.vcp` file.
pub fn format_files(paths: &[PathBuf], check: bool) -> ExitCode {
    let files = match expand(paths) {
        Ok(files) if files.is_empty() => {
            let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!("error: no .vcp files in {}", shown.join(", "));
            return ExitCode::from(2);
        }
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let style = Style {
        color: io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        width: 100,
    };
    let mut failed = false;
    let mut unformatted = false;
    let stdout = io::stdout();
    for path in &files {
        let name = super::display_name(path);
        let text = match read(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read {name}: {e}");
                failed = true;
                continue;
            }
        };
        let formatted = match crate::fmt::format(&text) {
            Ok(formatted) => formatted,
            Err(diags) => {
                let mut sources = SourceMap::new();
                sources.add(name.clone(), text, Origin::User);
                eprint!("{}", render::render_all(&sources, &diags, style));
                eprintln!("error: {name} was not formatted: it has syntax errors");
                failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if check {
            unformatted = true;
            let mut out = stdout.lock();
            let _ = writeln!(out, "would reformat {name}");
            let _ = write!(out, "{}", diff::unified(&name, &text, &formatted));
        } else if let Err(e) = replace(path, &formatted) {
            eprintln!("error: cannot write {name}: {e}");
            failed = true;
        } else {
            let _ = writeln!(stdout.lock(), "formatted {name}");
        }
    }
    if failed || unformatted {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Files named, and the `*.vcp` files below directories named (see
/// [`super::vcp_files_below`]). A path that does not exist is a usage error.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            super::vcp_files_below(path, &mut out)?;
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(out)
}

fn read(path: &Path) -> io::Result<String> {
    let bytes = fs::read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Replaces the file at `path` (the file a symbolic link points to, not the
/// link) with `text`: written beside it under a temporary name with the same
/// permissions, then renamed over it.
fn replace(path: &Path, text: &str) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.vcp-fmt-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::set_permissions(&temp, fs::metadata(&target)?.permissions())?;
        fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A unified diff of two texts by lines, for `--check`. Small on purpose
/// (the `similar` crate is a dev-dependency only): lines common to both ends
/// are set aside, the rest is compared by longest common subsequence, and
/// when that would need too much memory it is shown as one hunk.
mod diff {
    use std::fmt::Write as _;

    /// Above this many cells (lines × lines) the LCS table is not built.
    const MAX_CELLS: usize = 4_000_000;
    const CONTEXT: usize = 3;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Op {
        Same,
        Delete,
        Insert,
    }

    pub(super) fn unified(name: &str, old: &str, new: &str) -> String {
        let a: Vec<&str> = old.lines().collect();
        let b: Vec<&str> = new.lines().collect();
        let ops = script(&a, &b);
        let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
        // Each op with its line numbers in `a` and `b`.
        let mut numbered = Vec::with_capacity(ops.len());
        let (mut i, mut j) = (0, 0);
        for op in ops {
            numbered.push((op, i, j));
            match op {
                Op::Same => (i, j) = (i + 1, j + 1),
                Op::Delete => i += 1,
                Op::Insert => j += 1,
            }
        }
        let changed: Vec<usize> = (0..numbered.len())
            .filter(|&k| numbered[k].0 != Op::Same)
            .collect();
        let mut k = 0;
        while k < changed.len() {
            // One hunk: changes at most 2 * CONTEXT lines apart, with context.
            let first = changed[k];
            let mut last = first;
            while k + 1 < changed.len() && changed[k + 1] - last <= 2 * CONTEXT {
                k += 1;
                last = changed[k];
            }
            k += 1;
            let start = first.saturating_sub(CONTEXT);
            let end = (last + 1 + CONTEXT).min(numbered.len());
            let hunk = &numbered[start..end];
            let old_len = hunk.iter().filter(|n| n.0 != Op::Insert).count();
            let new_len = hunk.iter().filter(|n| n.0 != Op::Delete).count();
            // An empty side is numbered by the line before it.
            let _ = writeln!(
                out,
                "@@ -{},{old_len} +{},{new_len} @@",
                hunk[0].1 + usize::from(old_len > 0),
                hunk[0].2 + usize::from(new_len > 0)
            );
            for &(op, i, j) in hunk {
                let _ = match op {
                    Op::Same => writeln!(out, " {}", a[i]),
                    Op::Delete => writeln!(out, "-{}", a[i]),
                    Op::Insert => writeln!(out, "+{}", b[j]),
                };
            }
        }
        out
    }

    /// An edit script turning `a` into `b`.
    fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let suffix = a[prefix..]
            .iter()
            .rev()
            .zip(b[prefix..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
        let mut ops = vec![Op::Same; prefix];
        if ma.len().saturating_mul(mb.len()) > MAX_CELLS {
            ops.extend(std::iter::repeat_n(Op::Delete, ma.len()));
            ops.extend(std::iter::repeat_n(Op::Insert, mb.len()));
        } else {
            // lcs[i][j]: the LCS length of ma[i..] and mb[j..].
            let w = mb.len() + 1;
            let mut lcs = vec![0u32; (ma.len() + 1) * w];
            for i in (0..ma.len()).rev() {
                for j in (0..mb.len()).rev() {
                    lcs[i * w + j] = if ma[i] == mb[j] {
                        lcs[(i + 1) * w + j + 1] + 1
                    } else {
                        lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                    };
                }
            }
            let (mut i, mut j) = (0, 0);
            while i < ma.len() || j < mb.len() {
                if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
                    ops.push(Op::Same);
                    (i, j) = (i + 1, j + 1);
                } else if i < ma.len()
                    && (j == mb.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
                {
                    ops.push(Op::Delete);
                    i += 1;
                } else {
                    ops.push(Op::Insert);
                    j += 1;
                }
            }
        }
        ops.extend(std::iter::repeat_n(Op::Same, suffix));
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::diff::unified;

    #[test]
    fn distant_changes_make_separate_hunks() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 18\n", "");
        assert_eq!(
            unified("f.vcp", &old, &new),
            "--- f.vcp\n+++ f.vcp (formatted)\n\
             @@ -1,5 +1,5 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n\
             @@ -15,6 +15,5 @@\n line 15\n line 16\n line 17\n-line 18\n line 19\n line 20\n"
        );
    }

    #[test]
    fn close_changes_share_a_hunk() {
        let diff = unified("f.vcp", "a\nb\nc\nd\ne\n", "a\nB\nc\nD\ne\n");
        assert_eq!(
            diff,
            "--- f.vcp\n+++ f.vcp (formatted)\n@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n-d\n+D\n e\n"
        );
    }
}
