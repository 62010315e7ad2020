//! The checked pipeline: what the checker proved and the emitters and the
//! runner consume. The checker has applied every default (namespace, queue,
//! workers, ttl, the GPU resource name, ...) when it builds these values, so
//! nothing downstream has a default of its own; every name is valid and
//! within its length budget; every reference is resolved. Only `Vec`,
//! `BTreeMap` and plain values, so that iteration order is deterministic.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Everything one build produces from its root files.
#[derive(Clone, Debug, PartialEq)]
pub struct Build {
    /// Sorted by name; names are unique across the build.
    pub pipelines: Vec<Pipeline>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub name: String,
    /// The pipeline's name in its `pipeline` declaration (for diagnostics
    /// raised after checking).
    pub span: crate::source::Span,
    /// The file that declares the pipeline, as shown to the user.
    pub source: String,
    /// 1-based line of the `pipeline` keyword.
    pub line: usize,
    pub namespace: String,
    pub queue: String,
    pub priority_class: Option<String>,
    pub service_account: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Annotate jobs so that GitOps tools delete and recreate them on change.
    pub replace_on_change: bool,
    /// The GitOps controller that applies the output, if any: it decides how
    /// finished runs are kept and named ([`GitOps`]).
    pub gitops: GitOps,
    pub volumes: Vec<Volume>,
    /// Final parameter values (defaults overridden by `--set`), by name.
    pub params: BTreeMap<String, ParamValue>,
    /// In a dependency order (every stage after the stages it depends on);
    /// among stages free to go, in source order.
    pub stages: Vec<Stage>,
}

/// `gitops = "argocd" | "flux" | "none"`. Under a GitOps controller that
/// re-applies what the repository holds, a finished run must stay (no
/// `ttlSecondsAfterFinished`: a deleted Job or JobFlow would be recreated and
/// run again), and a changed one must be a new object: the JobFlow (or the
/// one Job) is named with its spec hash, so the controller creates the new
/// run and prunes the old one. docs/gitops.md has the reasoning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GitOps {
    #[default]
    None,
    ArgoCd,
    Flux,
}

impl GitOps {
    /// The words `gitops` takes, in the order the docs list them.
    pub const NAMES: &'static [&'static str] = &["argocd", "flux", "none"];

    pub fn from_name(word: &str) -> Option<GitOps> {
        match word {
            "argocd" => Some(GitOps::ArgoCd),
            "flux" => Some(GitOps::Flux),
            "none" => Some(GitOps::None),
            _ => None,
        }
    }

    /// Whether a GitOps controller applies the output.
    pub fn is_on(self) -> bool {
        self != GitOps::None
    }
}

/// Stands for a spec hash (`h` + 12 hex digits) until the manifest that
/// carries it is written and hashed: in the `vcp.dev/spec-hash` labels, and
/// under `gitops` in the name of the object that starts a run.
pub const HASH_PLACEHOLDER: &str = "h000000000000";

#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    pub name: String,
    pub claim: String,
    pub mount: String,
    pub read_only: bool,
    /// For `vcp run`: the local directory standing in for the claim,
    /// relative to the directory of the pipeline's file.
    pub local: Option<String>,
}

impl Volume {
    /// The variable the wrapper exports with the volume's path: the mount
    /// path in a pod, the local directory under `vcp run`.
    pub fn env_name(&self) -> String {
        format!(
            "VCP_VOLUME_{}",
            self.name.to_ascii_uppercase().replace('-', "_")
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    String(String),
    Int(i64),
    Bool(bool),
    /// Seconds.
    Duration(u64),
}

impl ParamValue {
    /// The value as text, as interpolated into strings.
    pub fn to_text(&self) -> String {
        match self {
            ParamValue::String(s) => s.clone(),
            ParamValue::Int(i) => i.to_string(),
            ParamValue::Bool(b) => b.to_string(),
            ParamValue::Duration(secs) => format_duration(*secs),
        }
    }
}

/// `5400` -> `1h30m`: the shortest form that reads back to the same seconds.
pub fn format_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub name: String,
    /// The stage's name in its declaration.
    pub span: crate::source::Span,
    /// 1-based line of the `stage` keyword.
    pub line: usize,
    pub image: String,
    pub command: Command,
    pub workers: u32,
    /// Items run at once inside one worker (per-item commands only).
    pub parallel: u32,
    pub shard: Option<Shard>,
    /// How many times a failed item (or a failed once-per-worker command) is
    /// run again before the worker gives up.
    pub retries: u32,
    /// Wall-clock limit of one worker, in seconds.
    pub timeout: Option<u64>,
    /// Seconds the finished Volcano Job is kept.
    pub ttl: u64,
    /// Runs once after every worker of the stage succeeded.
    pub reduce: Option<Reduce>,
    /// Stages that must complete first, by name, sorted.
    pub after: Vec<String>,
    /// In the order written (templates' entries first).
    pub env: Vec<EnvVar>,
    pub working_dir: Option<String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub resources: Resources,
    /// Pipeline labels merged with the stage's own.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `gang`: the workers need each other, so they start together (Volcano
    /// gang scheduling) and get each other's host names (the `svc` plugin).
    /// Otherwise each worker starts as soon as it fits. The checker's
    /// default: true when the command reads the hosts, or when several
    /// workers run without a shard rule (vcp cannot see how they share work).
    pub gang: bool,
    /// `max_failed`: how many items may still fail after their retries
    /// without failing the stage (none: the first such item fails it).
    pub max_failed: Option<FailureBudget>,
    /// `checkpoint`: the volume (by name) where the workers record done and
    /// failed items, under the run key, so that a restarted worker skips
    /// what is done and the failures of all workers meet.
    pub checkpoint: Option<String>,
    /// `output`: the volume (by name) that keeps the lines the workers
    /// write to `$VCP_OUTPUT`, which a later stage shards with
    /// `output(<this stage>)`.
    pub output: Option<String>,
}

/// A stage's failure budget: a number of items, or a share of all items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureBudget {
    Count(u32),
    /// Hundredths of a percent of all items (`"1.5%"` is 150), rounded down
    /// to whole items.
    Basis(u32),
}

impl FailureBudget {
    /// The number of items allowed to fail out of `total`.
    pub fn allowed(self, total: u64) -> u64 {
        match self {
            FailureBudget::Count(n) => u64::from(n),
            FailureBudget::Basis(b) => total.saturating_mul(u64::from(b)) / 10_000,
        }
    }
}

impl Stage {
    /// True when the command runs once per item (it mentions `{item}`).
    pub fn per_item(&self) -> bool {
        self.command.mentions_item()
    }

    /// True when the workers must all run at once: the stage is a gang
    /// (`gang = true`, or by default its command or an environment value
    /// reads the worker hosts, see [`reads_worker_hosts`], or several
    /// workers run without a shard rule). Volcano then schedules them as a
    /// gang with the `svc` plugin, and `vcp run --max-procs` below the
    /// worker count would stall them, so the runner refuses that.
    pub fn needs_all_workers(&self) -> bool {
        self.gang
    }
}

/// True when `text` names one of [`WORKER_HOSTS_VARS`] as a whole word.
pub fn reads_worker_hosts(text: &str) -> bool {
    WORKER_HOSTS_VARS.iter().any(|var| {
        text.match_indices(var)
            .any(|(i, _)| names_var(text, i, var.len()))
    })
}

/// The variables through which a worker finds its peers.
pub const WORKER_HOSTS_VARS: [&str; 3] = ["VC_WORKER_HOSTS", "VCP_WORKER_HOSTS", "VCP_MASTER_ADDR"];

/// True when `text[at..at + len]` is a whole variable name, not part of a
/// longer one (`MY_VCP_MASTER_ADDR`, `VC_WORKER_HOSTS_FILE`).
fn names_var(text: &str, at: usize, len: usize) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    !before.is_some_and(word) && !after.is_some_and(word)
}

/// The reduce step of a stage: one pod of its own, after every worker.
/// `reduce = "cmd"` takes the stage's image and env with the default
/// resources; `reduce { run, image, resources, env }` sets its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Reduce {
    pub command: Command,
    /// The block's image, else the stage's.
    pub image: String,
    /// The stage's env, then the block's (a later key wins).
    pub env: Vec<EnvVar>,
    /// [`Reduce::DEFAULT_CPU`] and [`Reduce::DEFAULT_MEMORY`] and no GPU,
    /// unless the block's `resources` sets them: a merge step must not hold
    /// the stage's GPUs or wait for a GPU node.
    pub resources: Resources,
    /// The stage's node selector without its GPU model label (plus the
    /// block's GPU model, if it asks for a GPU).
    pub node_selector: BTreeMap<String, String>,
    /// The stage's tolerations except those of its GPU resource's taint.
    pub tolerations: Vec<Toleration>,
}

impl Reduce {
    /// One core: a merge step reads the workers' results from a volume, and
    /// one core with a guaranteed share fits on any node.
    pub const DEFAULT_CPU: &'static str = "1";
    /// Enough for a merge that streams its inputs; a reduce that holds them
    /// all in memory sets `reduce { resources { memory = ... } }`.
    pub const DEFAULT_MEMORY: &'static str = "1Gi";
}

/// A command as the user wrote it, with parameters already substituted in
/// argv form. `{item}` stays a placeholder until run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Shell code run with `sh -c`. Parameters referenced as `${name}` have
    /// become `${VCP_PARAM_NAME}` (exported by the wrapper, so a value is never
    /// parsed as code); `{item}` a reference to `VCP_ITEM`, each written for
    /// the quoting context where it stands (`check/shell.rs`).
    Shell(String),
    /// An argument vector run without a shell; each argument is a sequence of
    /// literal text and `{item}` placeholders.
    Argv(Vec<Vec<ArgPart>>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArgPart {
    Text(String),
    Item,
}

impl Command {
    pub fn mentions_item(&self) -> bool {
        match self {
            Command::Shell(code) => shell_mentions_item(code),
            Command::Argv(args) => args.iter().flatten().any(|p| *p == ArgPart::Item),
        }
    }
}

/// What `{item}` becomes in an argument vector's word: one word, whatever
/// the item holds.
pub const SHELL_ITEM: &str = "\"$VCP_ITEM\"";

/// Shell code mentions the item when it reads `$VCP_ITEM` or `${VCP_ITEM}`
/// (which `{item}` became), not `$VCP_ITEMS_TOTAL`.
fn shell_mentions_item(code: &str) -> bool {
    ["$VCP_ITEM", "${VCP_ITEM}"].iter().any(|pat| {
        code.match_indices(pat).any(|(i, _)| {
            let next = code[i + pat.len()..].chars().next();
            pat.ends_with('}') || !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

/// The environment variable a parameter is exported as in wrapper scripts.
pub fn param_env_name(param: &str) -> String {
    format!("VCP_PARAM_{}", param.to_ascii_uppercase().replace('-', "_"))
}

#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    pub source: ItemSource,
    pub strategy: Strategy,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemSource {
    /// `range(start, end, step)`: start, start+step, ... while < end (or > end
    /// for a negative step). Items are the decimal numbers.
    Range { start: i64, end: i64, step: i64 },
    /// A literal list of items.
    List(Vec<String>),
    /// The non-empty lines of a file, read at run time.
    Lines(String),
    /// The regular files matching a POSIX sh glob, listed at run time in
    /// byte order.
    Files(String),
    /// The non-empty lines another stage's workers wrote to `$VCP_OUTPUT`,
    /// read at run time: worker 0's first, in the order written.
    Output(String),
}

impl ItemSource {
    /// True when the items are known at compile time.
    pub fn is_static(&self) -> bool {
        matches!(self, ItemSource::Range { .. } | ItemSource::List(_))
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            ItemSource::Range { .. } => SourceKind::Range,
            ItemSource::List(_) => SourceKind::List,
            ItemSource::Lines(_) => SourceKind::Lines,
            ItemSource::Files(_) => SourceKind::Files,
            ItemSource::Output(_) => SourceKind::Output,
        }
    }
}

/// The kinds of [`ItemSource`], without their arguments. The names are
/// those of the language (`range(...)`, `lines(...)`, `files(...)`; a list
/// is written `[...]`), of the wrapper scripts and of the docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    Range,
    List,
    Lines,
    Files,
    Output,
}

impl SourceKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [SourceKind; 5] = [
        SourceKind::Range,
        SourceKind::List,
        SourceKind::Lines,
        SourceKind::Files,
        SourceKind::Output,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Range => "range",
            SourceKind::List => "list",
            SourceKind::Lines => "lines",
            SourceKind::Files => "files",
            SourceKind::Output => "output",
        }
    }

    /// True for the sources written as a call, `name(...)`: all but a list.
    pub fn is_call(self) -> bool {
        self != SourceKind::List
    }

    /// How the source is written, with its arguments named.
    pub fn syntax(self) -> &'static str {
        match self {
            SourceKind::Range => "range(start, end[, step])",
            SourceKind::List => "[...]",
            SourceKind::Lines => "lines(path)",
            SourceKind::Files => "files(glob)",
            SourceKind::Output => "output(stage)",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceKind {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<SourceKind, UnknownWord> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == word)
            .ok_or(UnknownWord)
    }
}

/// The error of parsing a word that names no [`SourceKind`] or [`Strategy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownWord;

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a known name")
    }
}

impl std::error::Error for UnknownWord {}

/// How a stage's items are shared among its workers: `by <strategy>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    /// Item `i` goes to worker `i mod N`.
    Modulo,
    /// Contiguous runs of near-equal length; the first `n mod N` workers get
    /// one item more.
    Block,
    /// Worker `cksum(item) mod N`, with the CRC POSIX `cksum` computes.
    Hash,
    /// Files by byte size: largest first, each to the least loaded worker.
    Size,
}

impl Strategy {
    /// Every strategy, in the order the docs list them.
    pub const ALL: [Strategy; 4] = [
        Strategy::Modulo,
        Strategy::Block,
        Strategy::Hash,
        Strategy::Size,
    ];

    /// The name written after `by`, and in the wrapper scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Modulo => "modulo",
            Strategy::Block => "block",
            Strategy::Hash => "hash",
            Strategy::Size => "size",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Strategy, UnknownWord> {
        Strategy::ALL
            .into_iter()
            .find(|s| s.as_str() == word)
            .ok_or(UnknownWord)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: EnvValue,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EnvValue {
    Literal(String),
    Secret { name: String, key: String },
    ConfigMap { name: String, key: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Toleration {
    pub key: Option<String>,
    /// `Equal` or `Exists`.
    pub operator: Option<String>,
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: Option<String>,
    pub toleration_seconds: Option<i64>,
}

/// Per-worker resources; requests and limits are the same.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Resources {
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub ephemeral_storage: Option<String>,
    pub gpu: u32,
    /// Extended resource name of the GPU, `nvidia.com/gpu` by default.
    pub gpu_resource: String,
    /// GPU model, turned into a node selector `gpu_model_label: gpu_model`.
    pub gpu_model: Option<String>,
    pub gpu_model_label: String,
}

/// The two kinds of Volcano Job a stage becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// The stage's workers: one task named `worker` with `workers` replicas,
    /// so that Volcano's `svc` plugin provides `VC_WORKER_NUM`.
    Work,
    /// The reduce step: one pod, started after the work job completed.
    Reduce,
}

impl JobKind {
    /// The Volcano task name.
    pub fn task(self) -> &'static str {
        match self {
            JobKind::Work => "worker",
            JobKind::Reduce => "reduce",
        }
    }

    pub fn replicas(self, stage: &Stage) -> u32 {
        match self {
            JobKind::Work => stage.workers,
            JobKind::Reduce => 1,
        }
    }
}

/// One Volcano Job of a pipeline.
#[derive(Clone, Copy, Debug)]
pub struct JobPlan<'a> {
    pub stage: &'a Stage,
    pub kind: JobKind,
}

impl Pipeline {
    /// Every job, in dependency order: each stage's work job, then its reduce.
    pub fn jobs(&self) -> Vec<JobPlan<'_>> {
        let mut jobs = Vec::new();
        for stage in &self.stages {
            jobs.push(JobPlan {
                stage,
                kind: JobKind::Work,
            });
            if stage.reduce.is_some() {
                jobs.push(JobPlan {
                    stage,
                    kind: JobKind::Reduce,
                });
            }
        }
        jobs
    }

    /// More than one job needs a JobFlow to order them; one job is emitted
    /// as a plain Volcano Job.
    pub fn is_flow(&self) -> bool {
        self.stages.len() > 1 || self.stages.iter().any(|s| s.reduce.is_some())
    }

    /// The JobTemplate (and flow) name of a job: `<pipeline>-<stage>`, with
    /// `-reduce` for a reduce step. The pipeline name keeps templates of
    /// different pipelines in one namespace apart.
    pub fn template_name(&self, stage: &Stage, kind: JobKind) -> String {
        match kind {
            JobKind::Work => format!("{}-{}", self.name, stage.name),
            JobKind::Reduce => format!("{}-{}-reduce", self.name, stage.name),
        }
    }

    /// The name of the Volcano Job that runs: Volcano's JobFlow controller
    /// names the jobs it creates `<jobflow>-<template>`. Under `gitops`, a
    /// single Job ends in its spec hash ([`HASH_PLACEHOLDER`] until emitted).
    pub fn job_name(&self, stage: &Stage, kind: JobKind) -> String {
        let template = self.template_name(stage, kind);
        if self.is_flow() {
            format!("{}-{}", self.flow_name(), template)
        } else {
            format!("{template}{}", self.run_suffix())
        }
    }

    /// The name of the JobFlow: the pipeline's, ending in its spec hash under
    /// `gitops`.
    pub fn flow_name(&self) -> String {
        format!("{}{}", self.name, self.run_suffix())
    }

    /// What `gitops` adds to the name of the object that starts a run.
    fn run_suffix(&self) -> String {
        if self.gitops.is_on() {
            format!("-{HASH_PLACEHOLDER}")
        } else {
            String::new()
        }
    }

    /// The ConfigMap that carries `vcp-lib.sh`, shared by every stage.
    pub fn lib_config_map(&self) -> String {
        format!("{}-vcp-lib", self.name)
    }

    /// The ConfigMap that carries a stage's scripts: one per stage, so that
    /// no pipeline outgrows the 1 MiB a ConfigMap holds.
    pub fn stage_config_map(&self, stage: &Stage) -> String {
        format!("{}-{}-vcp", self.name, stage.name)
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The stages by name, for lookups in a loop over the stages: [`stage`]
    /// searches, and 10,000 stages make that quadratic.
    ///
    /// [`stage`]: Pipeline::stage
    pub fn stages_by_name(&self) -> BTreeMap<&str, &Stage> {
        self.stages.iter().map(|s| (s.name.as_str(), s)).collect()
    }
}

/// The file name of a job's wrapper script (ConfigMap key and plain file).
pub fn script_name(stage: &Stage, kind: JobKind) -> String {
    match kind {
        JobKind::Work => format!("{}.sh", stage.name),
        JobKind::Reduce => format!("{}-reduce.sh", stage.name),
    }
}

/// Where the scripts ConfigMap is mounted in every container.
pub const SCRIPTS_MOUNT: &str = "/vcp";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for s in Strategy::ALL {
            assert_eq!(s.to_string().parse(), Ok(s));
        }
        for k in SourceKind::ALL {
            assert_eq!(k.to_string().parse(), Ok(k));
        }
        assert_eq!("Modulo".parse::<Strategy>(), Err(UnknownWord));
        assert_eq!("ranges".parse::<SourceKind>(), Err(UnknownWord));
    }

    #[test]
    fn worker_hosts_are_read_as_whole_names() {
        assert!(reads_worker_hosts("torchrun --hosts $VC_WORKER_HOSTS"));
        assert!(reads_worker_hosts("x=${VCP_MASTER_ADDR}:29500"));
        assert!(reads_worker_hosts("$(VCP_WORKER_HOSTS)"));
        assert!(!reads_worker_hosts("echo $MY_VC_WORKER_HOSTS"));
        assert!(!reads_worker_hosts("cat $VC_WORKER_HOSTS_FILE"));
        assert!(!reads_worker_hosts("echo $VC_WORKER_NUM"));
    }

    #[test]
    fn the_language_reference_lists_every_strategy_and_source() {
        let doc = include_str!("../docs/language.md");
        let sharding = &doc[doc.find("## Sharding").expect("a Sharding section")..];
        for s in Strategy::ALL {
            assert!(sharding.contains(&format!("| `{s}`")), "{s}");
        }
        for k in SourceKind::ALL.into_iter().filter(|k| k.is_call()) {
            assert!(sharding.contains(&format!("| `{k}(")), "{k}");
        }
    }
}
