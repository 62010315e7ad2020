//! Stages at cluster scale: whether a stage's workers are a gang (they
//! start together and get each other's host names), and how many workers a
//! host list can name.

use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{self, ArgPart, Command, EnvValue, JobKind};
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
