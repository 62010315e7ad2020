//! The command-line edge: argument parsing, reading files, rendering
//! diagnostics, writing outputs, exit codes. Exit codes: 0 success, 1 errors
//! in the input (or a failed run), 2 usage errors.

pub mod output;
pub mod render;
mod run;

use crate::check::{self, Loader, Options};
use crate::diag::Code;
use crate::emit;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "vcp",
    version,
    about = "Compile .vcp pipelines to Volcano Jobs, JobFlows and wrapper scripts",
    long_about = "vcp compiles .vcp pipeline files into Volcano manifests (Job, JobFlow, \
                  JobTemplate, ConfigMap) and one wrapper script per stage, checked before \
                  they reach the cluster and byte-identical on every run."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to use colours in diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check pipeline files and report every problem, without writing anything.
    Check {
        /// The .vcp files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Override a parameter: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
    /// Compile pipeline files into Volcano manifests and wrapper scripts.
    ///
    /// Each pipeline gets a folder `DIR/<pipeline>/` with its manifests and a
    /// `scripts/` folder; apply it with `kubectl apply -f DIR/<pipeline>/`.
    /// Nothing is written unless the whole build succeeds.
    Build {
        /// The .vcp files to compile.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The output directory.
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Override a parameter: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
    /// Run a pipeline on this machine, without a cluster.
    ///
    /// Each stage's workers are started as local processes running the same
    /// wrapper scripts the cluster would run, with the environment Volcano's
    /// env and svc plugins give a pod (VC_TASK_INDEX, VC_WORKER_NUM,
    /// VC_WORKER_HOSTS = localhost,...). Container images are NOT pulled:
    /// commands run on this host, with its programs. Volumes are local
    /// directories: --mount, else the volume's `local` path, else a folder in
    /// the run directory. Secret and ConfigMap values come from environment
    /// variables of the same name. Logs, done markers and scripts are kept in
    /// .vcp/runs/<run-id>/; --resume <run-id> skips what already completed.
    Run {
        /// The .vcp file (optional with --resume).
        file: Option<PathBuf>,
        /// The pipeline to run, when the file has several.
        #[arg(long)]
        pipeline: Option<String>,
        /// Run only this stage (its dependencies are taken as done).
        #[arg(long)]
        stage: Option<String>,
        /// Override a parameter: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
        /// Use a local directory for a volume: `--mount data=./data` (repeatable).
        #[arg(long = "mount", value_name = "VOLUME=DIR")]
        mounts: Vec<String>,
        /// At most this many worker processes at once (default: all workers of
        /// every stage that can start). Workers that talk to each other need
        /// at least their stage's worker count.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_procs: Option<u32>,
        /// Mirror every worker's log lines to the terminal.
        #[arg(long)]
        follow: bool,
        /// Continue the run with this id: completed stages and done items are skipped.
        #[arg(long, value_name = "RUN_ID")]
        resume: Option<String>,
    },
    /// Explain an error code, such as E0101.
    Explain {
        /// The code, with or without the leading `E`.
        code: String,
    },
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success, usage errors with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let style = render::Style {
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
        width: 100,
    };
    match cli.command {
        Command::Check { files, sets } => check_files(&files, &sets, style).0,
        Command::Build {
            files,
            output,
            sets,
        } => build(&files, &output, &sets, style),
        Command::Explain { code } => explain(&code),
        Command::Run {
            file,
            pipeline,
            stage,
            sets,
            mounts,
            max_procs,
            follow,
            resume,
        } => run::run(
            run::Args {
                file,
                pipeline,
                stage,
                sets,
                mounts,
                max_procs,
                follow,
                resume,
            },
            style,
        ),
    }
}

/// Reads files relative to the working directory.
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&mut self, path: &str) -> Result<String, String> {
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        })?;
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })
    }
}

/// The name a file is shown under: relative to the working directory, so
/// that outputs never carry an absolute path.
pub fn display_name(path: &Path) -> String {
    let rel = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| relative_to(path, &cwd))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    check::load::normalize(&rel.to_string_lossy())
}

fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &path[common..] {
        out.push(c);
    }
    Some(out)
}

pub(crate) fn parse_sets(sets: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    for s in sets {
        let Some((name, value)) = s.split_once('=') else {
            return Err(format!("`--set {s}`: expected `--set name=value`"));
        };
        if name.is_empty() {
            return Err(format!("`--set {s}`: the parameter name is empty"));
        }
        options.sets.push((name.to_string(), value.to_string()));
    }
    Ok(options)
}

/// The result of compiling the files named on the command line.
pub(crate) struct Compiled {
    pub checked: check::Checked,
    /// Present when there was no error.
    pub output: Option<emit::Output>,
}

/// Compiles files and prints their diagnostics; returns the exit code and,
/// unless the arguments were unusable, the result.
pub(crate) fn check_files(
    files: &[PathBuf],
    sets: &[String],
    style: render::Style,
) -> (ExitCode, Option<Compiled>) {
    let options = match parse_sets(sets) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error[{}]: {e}", Code::BadSet.as_str());
            return (ExitCode::from(2), None);
        }
    };
    let roots: Vec<String> = files.iter().map(|f| display_name(f)).collect();
    let (checked, output) = crate::compile(&roots, &mut FsLoader, &options);
    let mut err = std::io::stderr().lock();
    let _ =
        err.write_all(render::render_all(&checked.sources, &checked.diagnostics, style).as_bytes());
    if let Some(summary) = render::summary(&checked.diagnostics) {
        let codes: std::collections::BTreeSet<&str> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        let _ = writeln!(err, "{summary} in {}", plural_files(roots.len()));
        if let Some(first) = codes.iter().next() {
            let _ = writeln!(err, "For more about a code, run `vcp explain {first}`.");
        }
    }
    let code = if output.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    (code, Some(Compiled { checked, output }))
}

fn plural_files(n: usize) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

fn build(files: &[PathBuf], out_dir: &Path, sets: &[String], style: render::Style) -> ExitCode {
    let (code, compiled) = check_files(files, sets, style);
    let Some(Compiled {
        checked,
        output: Some(output),
    }) = compiled
    else {
        return code;
    };
    let Some(build) = checked.build else {
        return code;
    };
    match output::write(out_dir, &output) {
        Ok(report) => {
            eprintln!(
                "wrote {} files for {} to {}{}",
                output.files.len(),
                match build.pipelines.len() {
                    1 => format!("pipeline `{}`", build.pipelines[0].name),
                    n => format!("{n} pipelines"),
                },
                out_dir.display(),
                if report.unchanged { " (unchanged)" } else { "" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", out_dir.display());
            eprintln!("note: {} was left as it was", out_dir.display());
            ExitCode::from(1)
        }
    }
}

fn explain(code: &str) -> ExitCode {
    let wanted = code.trim().to_ascii_uppercase();
    let wanted = if wanted.starts_with('E') {
        wanted
    } else {
        format!("E{wanted:0>4}")
    };
    match Code::ALL.iter().find(|c| c.as_str() == wanted) {
        Some(c) => {
            print!("{}", c.explanation());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "error: no diagnostic code `{code}`; codes run from E0001 to E0801 (see docs/errors/)"
            );
            ExitCode::from(2)
        }
    }
}
