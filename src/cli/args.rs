//! The command line: every subcommand and option, as clap reads them (and as
//! `vcp completions` and `vcp man` print them).

use super::graph::GraphFormat;
use super::report::MessageFormat;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "vcp",
    version,
    // Each subcommand's man page (`vcp man DIR`) carries the version.
    propagate_version = true,
    about = "Compile .vcp pipelines to Volcano Jobs, JobFlows and wrapper scripts",
    long_about = "vcp compiles .vcp pipeline files into Volcano manifests (Job, JobFlow, \
                  JobTemplate, ConfigMap) and one wrapper script per stage, checked before \
                  they reach the cluster and byte-identical on every run."
)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
    /// When to use colours in diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(super) color: ColorChoice,
    /// How to print diagnostics: for people (stderr), JSON lines or GitHub
    /// Actions annotations (stdout).
    #[arg(long, global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub(super) message_format: MessageFormat,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(super) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
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
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Override a parameter: `--set name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        sets: Vec<String>,
    },
    /// Show which items each worker of a stage gets.
    ///
    /// Items known at build time (range, lists) are assigned here with the
    /// rules the pods apply. So are lines() and files() whose data is on this
    /// machine: under a volume's mount, with the volume's `local` folder or a
    /// --mount standing in for the claim, as under `vcp run`.
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
        /// Read a volume's data from a local directory: `--mount data=./data`
        /// (repeatable; default: the volume's `local` folder).
        #[arg(long = "mount", value_name = "VOLUME=DIR")]
        mounts: Vec<String>,
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
        /// Stop the whole run after this long (`90s`, `2h`, `1h30m`); it can be resumed.
        #[arg(long, value_name = "DURATION")]
        timeout: Option<String>,
        /// Bytes of output one worker attempt keeps in its log (`500K`, `64M`,
        /// `2G`); past it, a marker and the output's last 64 KiB.
        #[arg(long, value_name = "SIZE", default_value = "64M")]
        log_limit: String,
        /// List the runs in .vcp/runs/ (id, outcome, pipeline, size) and exit.
        #[arg(long, conflicts_with_all = ["file", "resume", "delete", "prune"])]
        list: bool,
        /// Delete these runs (refused for a running one) and exit.
        #[arg(long, value_name = "RUN_ID", num_args = 1.., conflicts_with_all = ["file", "resume", "prune"])]
        delete: Vec<String>,
        /// Delete every run not running and unchanged for this long (`7d`), and exit.
        #[arg(long, value_name = "AGE", conflicts_with_all = ["file", "resume"])]
        prune: Option<String>,
    },
    /// Internal: the supervisor `vcp run` puts between itself and each worker.
    #[command(name = "__vcp-supervise", hide = true)]
    Supervise {
        #[arg(long)]
        log: PathBuf,
        #[arg(long)]
        lock: PathBuf,
        #[arg(long)]
        log_limit: u64,
        #[arg(last = true, required = true)]
        program: Vec<String>,
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
    /// Print the man page (roff): `vcp man > vcp.1`; or write it and one
    /// page per subcommand (vcp-build.1, ...) into a directory: `vcp man
    /// ~/.local/share/man/man1`.
    Man {
        /// Write vcp.1 and vcp-<command>.1 here instead of printing vcp.1.
        dir: Option<PathBuf>,
    },
    /// Run the language server on stdin/stdout, for editors (docs/editors.md).
    Lsp {
        /// Talk on stdin/stdout (the only transport; accepted because
        /// VS Code's client passes it).
        #[arg(long)]
        stdio: bool,
    },
}
