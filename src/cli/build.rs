//! `vcp build`: write the output directory (in place, see `output.rs`), or
//! with `--check` compare it with what the sources produce (the GitOps CI
//! gate).

use super::output::{self, Plan};
use super::report::MessageFormat;
use super::survey;
use crate::emit::{Output, Text};
use similar::TextDiff;
use std::path::Path;
use std::process::ExitCode;

/// Writes the build; `prune` removes stale generated files.
pub(super) fn write(out_dir: &Path, output: &Output, pipelines: usize, prune: bool) -> ExitCode {
    let on_wait = || {
        eprintln!(
            "waiting for another vcp build writing {} to finish",
            out_dir.display()
        );
    };
    match output::write(out_dir, output, prune, &on_wait) {
        Ok(report) => {
            let what = if pipelines == 1 {
                "1 pipeline".to_string()
            } else {
                format!("{pipelines} pipelines")
            };
            if report.leftovers > 0 {
                eprintln!(
                    "removed {} temporary file(s) left by an interrupted build",
                    report.leftovers
                );
            }
            let total = output.files.len();
            if report.written == 0 {
                eprintln!(
                    "{} is up to date ({total} files for {what})",
                    out_dir.display()
                );
            } else if report.unchanged == 0 {
                eprintln!("wrote {total} files for {what} to {}", out_dir.display());
            } else {
                eprintln!(
                    "wrote {} of {total} files for {what} to {} ({} unchanged)",
                    report.written,
                    out_dir.display(),
                    report.unchanged
                );
            }
            if prune {
                for path in &report.stale {
                    eprintln!("removed stale {}", out_dir.join(path).display());
                }
            } else if !report.stale.is_empty() {
                eprintln!(
                    "note: {} generated file(s) are no longer produced (remove them with --prune):",
                    report.stale.len()
                );
                for path in &report.stale {
                    eprintln!("  {}", out_dir.join(path).display());
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {}", out_dir.display(), e.error);
            if e.partly {
                eprintln!(
                    "note: some files of {} are already new, each one whole; the next successful build completes the update",
                    out_dir.display()
                );
            } else {
                eprintln!("note: {} was left as it was", out_dir.display());
            }
            ExitCode::from(1)
        }
    }
}

/// One way `out_dir` differs from the build.
#[derive(serde::Serialize)]
struct Drift<'a> {
    /// Always `"drift"`: tells these lines from diagnostics.
    kind: &'static str,
    /// `changed`, `missing`, `stale` or `unreadable`.
    status: &'static str,
    file: &'a str,
    /// The unified diff (changed files) or the reason (unreadable ones).
    #[serde(skip_serializing_if = "str::is_empty")]
    detail: &'a str,
}

/// `--check`: exit 0 when `out_dir` holds exactly what the sources produce
/// (files without vcp's header are ignored), 1 otherwise. For people the
/// diff goes to stdout; with `--message-format json` every difference is a
/// JSON line on stdout (the diff in its `detail`), and nothing else is.
pub(super) fn check(out_dir: &Path, output: &Output, format: MessageFormat) -> ExitCode {
    let survey = match survey::survey(out_dir, output) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", out_dir.display());
            return ExitCode::from(1);
        }
    };
    let files: Vec<(&String, &Text)> = output.files.iter().collect();
    let found = crate::par::map(&files, |(path, want)| {
        let mut have = Vec::new();
        let plan = output::plan(out_dir, &survey, path, want, &mut |b| have = b);
        (plan, have)
    });
    let mut drifts: Vec<(&'static str, String, String)> = Vec::new();
    let mut counts = [0usize; 3];
    for ((path, want), (plan, have)) in files.iter().zip(found) {
        let shown = out_dir.join(path).display().to_string();
        match plan {
            Ok(Plan::Unchanged) => {}
            Ok(Plan::Changed) => {
                counts[0] += 1;
                let have = String::from_utf8_lossy(&have);
                let want = want.to_string();
                let diff = TextDiff::from_lines(have.as_ref(), want.as_str())
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("{shown} (committed)"),
                        &format!("{shown} (from sources)"),
                    )
                    .to_string();
                drifts.push(("changed", shown, diff));
            }
            Ok(Plan::New) => {
                counts[1] += 1;
                drifts.push(("missing", shown, String::new()));
            }
            Err(e) => {
                counts[0] += 1;
                drifts.push(("unreadable", shown, e.to_string()));
            }
        }
    }
    for path in &survey.stale {
        counts[2] += 1;
        let shown = out_dir.join(path).display().to_string();
        drifts.push(("stale", shown, String::new()));
    }
    // As before: the diffs, then the missing files, then the stale ones.
    drifts.sort_by_key(|(status, _, _)| match *status {
        "missing" => 1,
        "stale" => 2,
        _ => 0,
    });
    print_drifts(&drifts, format);
    let [changed, missing, stale] = counts;
    if changed + missing + stale == 0 {
        eprintln!("{} is up to date", out_dir.display());
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{} is out of date: {changed} changed, {missing} missing, {stale} stale; run `vcp build` (with --prune for stale files) and commit the result",
        out_dir.display(),
    );
    ExitCode::from(1)
}

fn print_drifts(drifts: &[(&'static str, String, String)], format: MessageFormat) {
    let mut out = String::new();
    for (status, file, detail) in drifts {
        if format == MessageFormat::Json {
            let drift = Drift {
                kind: "drift",
                status,
                file,
                detail,
            };
            out.push_str(&serde_json::to_string(&drift).unwrap_or_default());
            out.push('\n');
            continue;
        }
        match *status {
            "changed" => out.push_str(detail),
            "missing" => out.push_str(&format!("missing: {file}\n")),
            "stale" => out.push_str(&format!("stale: {file} (generated, no longer produced)\n")),
            _ => out.push_str(&format!("unreadable: {detail}\n")),
        }
    }
    super::stdout(&[&out]);
}
