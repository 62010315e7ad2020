//! Stages at cluster scale: whether a stage's workers are a gang (they
//! start together and get each other's host names), and how many workers a
//! host list can name.

use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{self, ArgPart, Command, EnvValue, FailureBudget, JobKind};
use crate::source::Span;
use crate::syntax::ast::Expr;
use std::collections::BTreeMap;

/// Linux's limit on one string of a new program's arguments or environment
/// (`MAX_ARG_STRLEN`, 32 pages of 4 KiB, `include/uapi/linux/binfmts.h`),
/// counted with its terminating NUL (`valid_arg_len` in `fs/exec.c`). A
/// longer `VC_WORKER_HOSTS` makes the container's first exec fail with E2BIG
/// (volcano-sh/volcano#5471).
pub(super) const MAX_ARG_STRLEN: usize = 32 * 4096;

/// The longest of the host variables a worker's processes inherit: the
/// wrapper exports the svc plugin's `VC_WORKER_HOSTS` as `VCP_WORKER_HOSTS`.
const HOSTS_VAR: &str = "VCP_WORKER_HOSTS";

/// The bytes of `VC_WORKER_HOSTS` for `workers` pods of job `job`: Volcano's
/// svc plugin joins `<job>-worker-<i>.<job>` with commas
/// (`pkg/controllers/job/plugins/svc/svc.go`, `GenerateHosts`).
pub(super) fn hosts_len(job: &str, workers: u32) -> usize {
    let n = workers as usize;
    // Without the index: `<job>-worker-` + `.` + `<job>`, and a comma each
    // but the last.
    let fixed = 2 * job.len() + "-worker-".len() + 1;
    // The indexes 0..n: those in [low, high) have `width` digits.
    let (mut digits, mut low, mut high, mut width) = (0, 0, 10, 1);
    while low < n {
        digits += (n.min(high) - low) * width;
        (low, high, width) = (high, high.saturating_mul(10), width + 1);
    }
    n * fixed + digits + n.saturating_sub(1)
}

/// True when an exec can carry the host list of `workers` pods of `job`.
pub(super) fn hosts_fit(job: &str, workers: u32) -> bool {
    HOSTS_VAR.len() + 1 + hosts_len(job, workers) < MAX_ARG_STRLEN
}

/// The largest worker count whose host list fits, for a job name.
pub(super) fn max_hosts_workers(job: &str) -> u32 {
    let (mut low, mut high) = (1u32, i32::MAX as u32);
    if !hosts_fit(job, low) {
        return 0;
    }
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if hosts_fit(job, mid) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// What a command or a variable's value names when it reads the workers'
/// hosts: [`ir::reads_worker_hosts`] (the wrapper's and the svc plugin's
/// variables), any other task's `VC_<TASK>_HOSTS`, and the svc plugin's
/// files in `/etc/volcano`.
fn text_reads_hosts(text: &str) -> bool {
    if ir::reads_worker_hosts(text) || text.contains("/etc/volcano") {
        return true;
    }
    // `VC_MASTER_HOSTS`, ...: a word of capitals, digits and `_` that starts
    // with `VC_` and ends in `_HOSTS`.
    text.match_indices("_HOSTS").any(|(at, _)| {
        let after = text[at + "_HOSTS".len()..].chars().next();
        let word_start = text[..at]
            .rfind(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .map_or(0, |i| i + 1);
        !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && text[word_start..at].starts_with("VC_")
    })
}

/// True when the stage's worker command, or a literal variable it gets,
/// reads the workers' host names.
pub(super) fn reads_hosts(command: &Command, env: &[ir::EnvVar]) -> bool {
    let in_command = match command {
        Command::Shell(code) => text_reads_hosts(code),
        Command::Argv(args) => args.iter().flatten().any(|p| match p {
            ArgPart::Text(t) => text_reads_hosts(t),
            ArgPart::Item => false,
        }),
    };
    in_command
        || env.iter().any(|e| match &e.value {
            EnvValue::Literal(v) => text_reads_hosts(v),
            _ => false,
        })
}

impl PipelineChecker<'_> {
    /// The stage's `gang`: as written, else true when the command reads the
    /// hosts or several workers run without a shard rule. `None` after an
    /// error.
    pub(super) fn gang(
        &mut self,
        value: Option<&Expr>,
        command: Option<&Command>,
        env: &[ir::EnvVar],
        workers: Option<i64>,
        sharded: bool,
    ) -> Option<bool> {
        let reads = command.is_some_and(|c| reads_hosts(c, env));
        match value {
            Some(v) => {
                let gang = self.eval().bool(v)?;
                if !gang && reads {
                    self.diags.push(
                        Diagnostic::error(
                            Code::HostsWithoutGang,
                            v.span(),
                            "`gang = false`, but the command reads the workers' host names",
                        )
                        .with_label("no host list without a gang")
                        .with_help("remove `gang = false`: workers that reach each other must start together, and only then does Volcano's svc plugin give them VC_WORKER_HOSTS"),
                    );
                    return None;
                }
                Some(gang)
            }
            None => Some(reads || (workers? > 1 && !sharded)),
        }
    }
}

impl PipelineChecker<'_> {
    /// `max_failed = 10` (items) or `max_failed = "1.5%"` (of all items).
    pub(super) fn max_failed(&mut self, v: &Expr) -> Option<FailureBudget> {
        let Expr::Str(_) = v else {
            let n = self.eval().int(v, "max_failed", 0, i64::from(i32::MAX))?;
            return u32::try_from(n).ok().map(FailureBudget::Count);
        };
        let text = self.eval().string(v)?;
        match parse_share(&text) {
            Some(basis) => Some(FailureBudget::Basis(basis)),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        Code::WrongType,
                        v.span(),
                        format!("`{text}` is not a share of the items"),
                    )
                    .with_label("expected a number of items, or a percentage")
                    .with_help("write `max_failed = 10` (items) or `max_failed = \"1%\"` (of all items; up to two decimals, at most 100%)"),
                );
                None
            }
        }
    }

    /// `checkpoint = <volume>`: a volume of the pipeline the workers can
    /// write.
    pub(super) fn checkpoint(&mut self, v: &Expr, volumes: &[ir::Volume]) -> Option<String> {
        let Expr::Ident(id) = v else {
            self.eval().wrong_type(v, "a volume name");
            return None;
        };
        match volumes.iter().find(|vol| vol.name == id.name) {
            None => {
                let names: Vec<&str> = volumes.iter().map(|vol| vol.name.as_str()).collect();
                let help = if names.is_empty() {
                    "declare one in the pipeline: `volume work { claim = \"my-claim\", mount = \"/work\" }`".to_string()
                } else {
                    format!("the pipeline's volumes: {}", names.join(", "))
                };
                self.diags.push(
                    Diagnostic::error(
                        Code::UnknownName,
                        id.span,
                        format!("no volume `{}` in this pipeline", id.name),
                    )
                    .with_label("not a volume")
                    .with_help(help),
                );
                None
            }
            Some(vol) if vol.read_only => {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadVolume,
                        id.span,
                        format!(
                            "volume `{}` is read-only; the workers write their records on it",
                            id.name
                        ),
                    )
                    .with_label("read_only = true")
                    .with_help(
                        "name a volume the stage can write, or remove `read_only` from this one",
                    ),
                );
                None
            }
            Some(vol) => Some(vol.name.clone()),
        }
    }

    /// A failure budget counts items, and the failures of all workers must
    /// meet on a volume (the budget and the reduce read them there).
    pub(super) fn budget_needs(&mut self, span: Span, per_item: bool, checkpoint: bool) -> bool {
        let problem = if !per_item {
            Some((
                "`max_failed` counts items, but the command runs once per worker",
                "use `{item}` in the command to run it once per item, or remove `max_failed`",
            ))
        } else if !checkpoint {
            Some((
                "`max_failed` needs a `checkpoint` volume",
                "add `checkpoint = <volume>`: the workers record their failed items there, where the budget counts them and the reduce finds them",
            ))
        } else {
            None
        };
        if let Some((message, help)) = problem {
            self.diags.push(
                Diagnostic::error(Code::BudgetWithoutRecords, span, message)
                    .with_label("failure budget")
                    .with_help(help),
            );
        }
        problem.is_none()
    }
}

/// `"1.5%"` -> 150 (hundredths of a percent); at most 100%.
fn parse_share(text: &str) -> Option<u32> {
    let number = text.strip_suffix('%')?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (number.contains('.') && !digits(fraction)) || fraction.len() > 2 {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
    let basis = whole.checked_mul(100)?.checked_add(fraction)?;
    (basis <= 10_000).then_some(basis)
}

/// `shard = output(a)`: `a` is a stage this one runs after, and it keeps
/// its workers' lines on a volume (`output = <volume>`).
pub(super) fn check_outputs(
    pipeline: &ir::Pipeline,
    shard_spans: &BTreeMap<String, Span>,
    diags: &mut Diagnostics,
) {
    let by_name = pipeline.stages_by_name();
    for stage in &pipeline.stages {
        let Some(ir::ItemSource::Output(from)) = stage.shard.as_ref().map(|s| &s.source) else {
            continue;
        };
        let span = shard_spans.get(&stage.name).copied().unwrap_or(stage.span);
        let problem = match by_name.get(from.as_str()) {
            None => Some((
                format!("no stage `{from}` in this pipeline"),
                "name a stage of this pipeline whose workers write lines to $VCP_OUTPUT"
                    .to_string(),
            )),
            Some(_) if !stage.after.contains(from) => Some((
                format!(
                    "stage `{}` reads the output of `{from}`, but does not run after it",
                    stage.name
                ),
                format!(
                    "add `after = [{from}]`: the items exist only once every worker of `{from}` succeeded"
                ),
            )),
            Some(source) if source.output.is_none() => Some((
                format!("stage `{from}` keeps no output"),
                format!(
                    "give `{from}` a volume for its workers' lines: `output = <volume>`; its command writes them to $VCP_OUTPUT"
                ),
            )),
            Some(_) => None,
        };
        if let Some((message, help)) = problem {
            diags.push(
                Diagnostic::error(Code::BadOutputSource, span, message)
                    .with_label("items from another stage's output")
                    .with_help(help),
            );
        }
    }
}

/// Every gang stage's host list fits an exec (E0901).
pub(super) fn check_hosts(
    pipeline: &ir::Pipeline,
    stage_spans: &BTreeMap<String, Span>,
    gang_spans: &BTreeMap<String, Span>,
    diags: &mut Diagnostics,
) {
    for stage in pipeline.stages.iter().filter(|s| s.needs_all_workers()) {
        let job = pipeline.job_name(stage, JobKind::Work);
        if hosts_fit(&job, stage.workers) {
            continue;
        }
        let span = gang_spans
            .get(&stage.name)
            .or_else(|| stage_spans.get(&stage.name))
            .copied()
            .unwrap_or(stage.span);
        let max = max_hosts_workers(&job);
        let len = hosts_len(&job, stage.workers);
        diags.push(
            Diagnostic::error(
                Code::TooManyHosts,
                span,
                format!(
                    "the host list of stage `{}`'s {} workers takes {len} bytes; one variable of a program's environment holds less than {MAX_ARG_STRLEN}",
                    stage.name, stage.workers
                ),
            )
            .with_label("these workers get each other's host names")
            .with_help(format!(
                "at most {max} workers of job `{job}` fit; with more, every container would fail to start (E2BIG). If the workers do not reach each other, write `gang = false` (and read no host variable); otherwise use fewer workers or shorter pipeline and stage names"
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(job: &str, n: u32) -> String {
        (0..n)
            .map(|i| format!("{job}-worker-{i}.{job}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn the_length_is_the_joined_list() {
        for job in ["a", "etl-extract", &"x".repeat(63)] {
            for n in [0, 1, 2, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 12_345] {
                assert_eq!(hosts_len(job, n), joined(job, n).len(), "{job} {n}");
            }
        }
    }

    #[test]
    fn the_limit_is_the_last_count_that_fits() {
        for job in ["a", "cube-volcano-square", &"x".repeat(63)] {
            let max = max_hosts_workers(job);
            let var = |n| format!("{HOSTS_VAR}={}\0", joined(job, n));
            assert!(var(max).len() <= MAX_ARG_STRLEN, "{job}");
            assert!(var(max + 1).len() > MAX_ARG_STRLEN, "{job}");
        }
        // "Around a thousand pods": a long job name reaches it first.
        assert_eq!(max_hosts_workers(&"x".repeat(63)), 943);
    }

    #[test]
    fn shares_are_hundredths_of_a_percent() {
        assert_eq!(parse_share("1%"), Some(100));
        assert_eq!(parse_share("1.5%"), Some(150));
        assert_eq!(parse_share("0.25%"), Some(25));
        assert_eq!(parse_share("100%"), Some(10_000));
        for bad in [
            "101%", "1", "%", "1.%", ".5%", "1.234%", "-1%", "1e2%", " 1%",
        ] {
            assert_eq!(parse_share(bad), None, "{bad}");
        }
        assert_eq!(FailureBudget::Basis(100).allowed(250), 2);
        assert_eq!(FailureBudget::Count(3).allowed(1), 3);
    }

    #[test]
    fn host_variables_are_recognized() {
        for yes in [
            "echo $VC_WORKER_HOSTS",
            "x=${VCP_WORKER_HOSTS%%,*}",
            "cat /etc/volcano/worker.host",
            "torchrun --master-addr=$VCP_MASTER_ADDR",
            "echo $VC_MPI_WORKER_HOSTS",
        ] {
            assert!(text_reads_hosts(yes), "{yes}");
        }
        for no in [
            "echo $VC_WORKER_NUM",
            "echo $MY_HOSTS",
            "echo $VC_WORKER_HOSTSX",
            "python3 run.py {item}",
        ] {
            assert!(!text_reads_hosts(no), "{no}");
        }
    }
}
