//! The command-line edge: argument parsing, reading files, rendering
//! diagnostics, writing outputs, exit codes. Exit codes: 0 success, 1 errors
//! in the input (or a failed run), 2 usage errors.

mod build;
pub mod fmt;
mod graph;
pub mod output;
pub mod render;
pub mod report;
mod run;
mod shards;

use crate::check::{self, Loader, Options};
use crate::diag::Code;
use crate::emit::{self, Keep};
use clap::{CommandFactory, Parser, Subcommand};
use report::{MessageFormat, Reporter};
use std::io::IsTerminal;
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
    /// How to print diagnostics: for people (stderr), JSON lines or GitHub
    /// Actions annotations (stdout).
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
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
        /// The .vcp files to check, or directories to search for them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Override a parameter: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
    /// Compile pipeline files into Volcano manifests and wrapper scripts.
    ///
    /// Each pipeline gets a folder `DIR/<pipeline>/` with its manifests, its
    /// scripts and a kustomization.yaml; DIR/kustomization.yaml lists them all,
    /// so `kubectl apply -k DIR` (or Argo CD / Flux pointed at DIR) deploys the
    /// build. Nothing is written unless the whole build succeeds, and files
    /// vcp did not generate are never touched.
    Build {
        /// The .vcp files to compile, or directories to search for them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The output directory, or `-` for every manifest as one YAML stream
        /// on stdout (for `kubectl apply -f -`; the scripts are inside the
        /// ConfigMaps).
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Override a parameter: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
        /// Write nothing; exit 1 with a diff if DIR differs from what the
        /// sources produce (the CI gate of a GitOps repository).
        #[arg(long)]
        check: bool,
        /// Remove generated files (with vcp's header) that the build no longer produces.
        #[arg(long, conflicts_with = "check")]
        prune: bool,
    },
    /// Format .vcp files in the one canonical layout (comments kept).
    ///
    /// Rewrites the files that change; with --check, writes nothing and exits
    /// 1 when a file is not formatted.
    Fmt {
        /// Files, or directories to search for .vcp files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write nothing; exit 1 and show what would change.
        #[arg(long)]
        check: bool,
    },
    /// Show the stage graph as Graphviz DOT or Mermaid.
    Graph {
        /// The .vcp files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = graph::GraphFormat::Dot)]
        format: graph::GraphFormat,
        /// Override a parameter: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
    /// Show which items each worker of a stage gets.
    Shards {
        /// The .vcp file.
        file: PathBuf,
        /// The stage.
        #[arg(long)]
        stage: String,
        /// The pipeline, when the file has several.
        #[arg(long)]
        pipeline: Option<String>,
        /// Print every item of this worker, one per line.
        #[arg(long, value_name = "N")]
        worker: Option<u32>,
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
    /// Print a shell completion script: `vcp completions bash > /etc/bash_completion.d/vcp`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `vcp man > vcp.1`.
    Man,
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
    let reporter = Reporter {
        format: cli.message_format,
        style,
    };
    match cli.command {
        Command::Check { files, sets } => {
            let (code, compiled) = compile_inputs(&files, &sets, reporter, Keep::Manifests);
            // The process ends here: freeing tens of megabytes of small
            // allocations one by one would only cost time.
            std::mem::forget(compiled);
            code
        }
        Command::Build {
            files,
            output,
            sets,
            check,
            prune,
        } => {
            // On stdout go the manifests alone.
            let keep = if !check && output.as_os_str() == "-" {
                Keep::Manifests
            } else {
                Keep::Everything
            };
            let (code, compiled) = compile_inputs(&files, &sets, reporter, keep);
            let Some((out, b)) = compiled.and_then(|c| c.output.zip(c.checked.build)) else {
                return code;
            };
            let code = if check {
                build::check(&output, &out)
            } else if output.as_os_str() == "-" {
                stdout_pieces(&emit::stream_pieces(&out))
            } else {
                build::write(&output, &out, b.pipelines.len(), prune)
            };
            // As for `check`: the process ends here.
            std::mem::forget((out, b));
            code
        }
        Command::Graph {
            files,
            format,
            sets,
        } => {
            let (code, compiled) = compile_inputs(&files, &sets, reporter, Keep::Manifests);
            let Some(b) = compiled.and_then(|c| c.checked.build) else {
                return code;
            };
            stdout(&match format {
                graph::GraphFormat::Dot => graph::dot(&b),
                graph::GraphFormat::Mermaid => graph::mermaid(&b),
            })
        }
        Command::Shards {
            file,
            stage,
            pipeline,
            worker,
            sets,
        } => {
            let (code, compiled) = compile_inputs(&[file], &sets, reporter, Keep::Manifests);
            let Some(b) = compiled.and_then(|c| c.checked.build) else {
                return code;
            };
            let found = b
                .pipelines
                .iter()
                .filter(|p| pipeline.as_ref().is_none_or(|n| *n == p.name))
                .find_map(|p| p.stage(&stage));
            let Some(s) = found else {
                let place = pipeline.map_or_else(
                    || "these pipelines".to_string(),
                    |p| format!("pipeline `{p}`"),
                );
                eprintln!("error: no stage `{stage}` in {place}");
                return ExitCode::from(2);
            };
            match shards::preview(s, worker) {
                Ok(text) => stdout(&text),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Explain { code } => explain(&code),
        Command::Fmt { paths, check } => fmt::run(&paths, check),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vcp", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => {
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
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
            reporter,
        ),
    }
}

/// Writes a command's result to stdout. A closed pipe (`vcp shards ... |
/// head`) is a normal end, not an error.
pub(crate) fn stdout(text: &str) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(1)
        }
    }
}

/// [`stdout`] for text in pieces, written without joining them first.
pub(crate) fn stdout_pieces(pieces: &[&str]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let result = pieces
        .iter()
        .try_for_each(|p| out.write_all(p.as_bytes()))
        .and_then(|()| out.flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(1)
        }
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

/// The `.vcp` files named, with directories searched. A missing file is left
/// to the loader, which reports it as a diagnostic.
fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            vcp_files_below(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Appends the `*.vcp` files below `dir`, sorted; hidden files and folders
/// (`.vcp/` among them), `target/`, and links to folders (they could loop)
/// are skipped. Used by every command that takes directories.
pub(crate) fn vcp_files_below(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            if name != "target" {
                vcp_files_below(&path, out)?;
            }
        } else if name.ends_with(".vcp") && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Compiles the inputs (files or directories) and reports their
/// diagnostics; returns the exit code and, unless the arguments were
/// unusable, the result.
pub(crate) fn compile_inputs(
    paths: &[PathBuf],
    sets: &[String],
    reporter: Reporter,
    keep: Keep,
) -> (ExitCode, Option<Compiled>) {
    let options = match parse_sets(sets) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error[{}]: {e}", Code::BadSet.as_str());
            return (ExitCode::from(2), None);
        }
    };
    let files = match expand_inputs(paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return (ExitCode::from(2), None);
        }
    };
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!("error: no .vcp files in {}", shown.join(", "));
        return (ExitCode::from(2), None);
    }
    let roots: Vec<String> = files.iter().map(|f| display_name(f)).collect();
    let (checked, output) = crate::compile_keeping(&roots, &mut FsLoader, &options, keep);
    reporter.print(&checked.sources, &checked.diagnostics, roots.len());
    let code = if output.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    (code, Some(Compiled { checked, output }))
}

fn explain(code: &str) -> ExitCode {
    let wanted = code.trim().to_ascii_uppercase();
    let wanted = if wanted.starts_with('E') {
        wanted
    } else {
        format!("E{wanted:0>4}")
    };
    match Code::ALL.iter().find(|c| c.as_str() == wanted) {
        Some(c) => stdout(c.explanation()),
        None => {
            eprintln!(
                "error: no diagnostic code `{code}`; codes run from E0001 to E0801 (see docs/errors/)"
            );
            ExitCode::from(2)
        }
    }
}
