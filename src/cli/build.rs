//! `vcp build`: write the output directory (atomically), or with `--check`
//! compare it with what the sources produce (the GitOps CI gate).

use super::output;
use crate::emit::Output;
use similar::TextDiff;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::ExitCode;

/// Writes the build; `prune` removes stale generated files.
pub(super) fn write(out_dir: &Path, output: &Output, pipelines: usize, prune: bool) -> ExitCode {
    match output::write(out_dir, output, prune) {
        Ok(report) => {
            let what = if pipelines == 1 {
                "1 pipeline".to_string()
            } else {
                format!("{pipelines} pipelines")
            };
            if report.unchanged {
                eprintln!(
                    "{} is up to date ({} files for {what})",
                    out_dir.display(),
                    output.files.len()
                );
            } else {
                eprintln!(
                    "wrote {} files for {what} to {}",
                    output.files.len(),
                    out_dir.display()
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
            eprintln!("error: cannot write {}: {e}", out_dir.display());
            eprintln!("note: {} was left as it was", out_dir.display());
            ExitCode::from(1)
        }
    }
}

/// `--check`: exit 0 when `out_dir` holds exactly what the sources produce
/// (files without vcp's header are ignored), 1 with a diff otherwise.
pub(super) fn check(out_dir: &Path, output: &Output) -> ExitCode {
    let mut changed = 0;
    let mut missing = Vec::new();
    let mut report = String::new();
    for (path, want) in &output.files {
        let target = out_dir.join(path);
        match fs::read(&target) {
            Ok(have) if want.eq_bytes(&have) => {}
            Ok(have) => {
                changed += 1;
                let have = String::from_utf8_lossy(&have);
                let want = want.to_string();
                let diff = TextDiff::from_lines(have.as_ref(), want.as_str());
                let shown = target.display().to_string();
                let text = diff
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("{shown} (committed)"),
                        &format!("{shown} (from sources)"),
                    )
                    .to_string();
                report.push_str(&text);
            }
            Err(_) => missing.push(path.clone()),
        }
    }
    let stale: BTreeSet<String> = output::stale_files(out_dir, output)
        .unwrap_or_default()
        .into_iter()
        .collect();
    for path in &missing {
        report.push_str(&format!("missing: {}\n", out_dir.join(path).display()));
    }
    for path in &stale {
        report.push_str(&format!(
            "stale: {} (generated, no longer produced)\n",
            out_dir.join(path).display()
        ));
    }
    super::stdout(&[&report]);
    if changed + missing.len() + stale.len() == 0 {
        eprintln!("{} is up to date", out_dir.display());
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{} is out of date: {changed} changed, {} missing, {} stale; run `vcp build` (with --prune for stale files) and commit the result",
        out_dir.display(),
        missing.len(),
        stale.len()
    );
    ExitCode::from(1)
}
