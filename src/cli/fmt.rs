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
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Formats `paths` (files, or directories searched for `*.vcp`). Exit codes:
/// 0 all formatted (or, with `check`, all already formatted), 1 a file would
/// change under `check`, has syntax errors or could not be read or written,
/// 2 a path does not exist or names no `.vcp` file.
pub fn format_files(paths: &[PathBuf], check: bool) -> ExitCode {
    let style = super::term::stderr_style(super::args::ColorChoice::Auto);
    format_files_styled(paths, check, style)
}

/// [`format_files`], with syntax errors shown in `style` (`--color`).
pub(super) fn format_files_styled(paths: &[PathBuf], check: bool, style: Style) -> ExitCode {
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

/// A unified diff of two texts by lines, for `--check`. `similar` finds the
/// changes (Myers' algorithm) and groups them with three lines of context;
/// the hunks are written here, with both lengths in every header.
mod diff {
    use similar::{Algorithm, DiffOp, DiffTag};
    use std::fmt::Write as _;

    const CONTEXT: usize = 3;
    /// Above this many changed lines (both sides, after the lines the texts
    /// start and end with alike), Myers' O((N+M)D) search could take minutes:
    /// the changed lines are shown as one block instead.
    const MAX_SEARCH: usize = 10_000;

    pub(super) fn unified(name: &str, old: &str, new: &str) -> String {
        let a: Vec<&str> = old.lines().collect();
        let b: Vec<&str> = new.lines().collect();
        let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
        for hunk in similar::group_diff_ops(changes(&a, &b), CONTEXT) {
            let (Some(first), Some(last)) = (hunk.first(), hunk.last()) else {
                continue;
            };
            let (old_start, new_start) = (first.old_range().start, first.new_range().start);
            let old_len = last.old_range().end - old_start;
            let new_len = last.new_range().end - new_start;
            // An empty side is numbered by the line before it.
            let _ = writeln!(
                out,
                "@@ -{},{old_len} +{},{new_len} @@",
                old_start + usize::from(old_len > 0),
                new_start + usize::from(new_len > 0)
            );
            for op in &hunk {
                let (tag, old_lines, new_lines) = op.as_tag_tuple();
                let (sign, lines) = match tag {
                    DiffTag::Equal => (' ', &a[old_lines]),
                    DiffTag::Delete | DiffTag::Replace => ('-', &a[old_lines]),
                    DiffTag::Insert => ('+', &b[new_lines.clone()]),
                };
                for line in lines {
                    let _ = writeln!(out, "{sign}{line}");
                }
                if tag == DiffTag::Replace {
                    for line in &b[new_lines] {
                        let _ = writeln!(out, "+{line}");
                    }
                }
            }
        }
        out
    }

    /// The edit script turning `a` into `b`.
    fn changes(a: &[&str], b: &[&str]) -> Vec<DiffOp> {
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let suffix = a[prefix..]
            .iter()
            .rev()
            .zip(b[prefix..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let (old_len, new_len) = (a.len() - prefix - suffix, b.len() - prefix - suffix);
        if old_len + new_len <= MAX_SEARCH {
            return similar::capture_diff_slices(Algorithm::Myers, a, b);
        }
        let equal = |old_index, new_index, len| DiffOp::Equal {
            old_index,
            new_index,
            len,
        };
        let replace = DiffOp::Replace {
            old_index: prefix,
            old_len,
            new_index: prefix,
            new_len,
        };
        let tail = equal(a.len() - suffix, b.len() - suffix, suffix);
        [equal(0, 0, prefix), replace, tail]
            .into_iter()
            .filter(|op| !op.old_range().is_empty() || !op.new_range().is_empty())
            .collect()
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
    fn a_rewrite_too_large_to_search_is_one_hunk() {
        let old: String = (0..6_000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..6_000).map(|i| format!("b{i}\n")).collect();
        let diff = unified(
            "f.vcp",
            &format!("same\n{old}end\n"),
            &format!("same\n{new}end\n"),
        );
        let mut lines = diff.lines().skip(2);
        assert_eq!(lines.next(), Some("@@ -1,6002 +1,6002 @@"));
        assert_eq!(lines.next(), Some(" same"));
        assert_eq!(lines.next(), Some("-a0"));
        assert_eq!(
            diff.lines().filter(|l| l.starts_with('-')).count(),
            6_000 + 1
        );
        assert_eq!(
            diff.lines().filter(|l| l.starts_with('+')).count(),
            6_000 + 1
        );
        assert!(diff.ends_with("+b5999\n end\n"));
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
