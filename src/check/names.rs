//! Name budgets: every name vcp will generate, computed with the emitter's own
//! naming functions (`ir::Pipeline::job_name` and friends) and checked against
//! Kubernetes' and Volcano's limits before anything is emitted.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{self, JobKind};
use crate::source::Span;
use crate::syntax::ast::Decl;
use std::collections::BTreeMap;

/// Host names and label values are at most 63 characters.
const LIMIT: usize = 63;

pub(super) fn check(
    pipeline: &ir::Pipeline,
    decl: &Decl,
    namespace_span: Span,
    stage_spans: &BTreeMap<String, Span>,
    diags: &mut Diagnostics,
) {
    let flow = pipeline.is_flow();
    for job in pipeline.jobs() {
        let span = stage_spans
            .get(&job.stage.name)
            .copied()
            .unwrap_or(decl.name.span);
        let job_name = pipeline.job_name(job.stage, job.kind);
        // The pod of the largest index is the longest host name; with the
        // `svc` plugin it must be a DNS label.
        let last = job.kind.replicas(job.stage).saturating_sub(1);
        let pod = format!("{job_name}-{}-{last}", job.kind.task());
        if pod.len() > LIMIT {
            let what = match job.kind {
                JobKind::Work => format!("the pod of worker {last}"),
                JobKind::Reduce => "the reduce pod".to_string(),
            };
            let over = pod.len() - LIMIT;
            let how = if flow {
                format!(
                    "shorten the names by {over} characters or more: in a JobFlow, Volcano names the job `<pipeline>-<pipeline>-<stage>`, so each character of the pipeline name counts twice"
                )
            } else {
                format!("shorten the pipeline or the stage name by {over} characters or more")
            };
            diags.push(
                Diagnostic::error(
                    Code::NameTooLong,
                    span,
                    format!(
                        "{what} would be named `{pod}`, {} characters; Kubernetes allows {LIMIT}",
                        pod.len()
                    ),
                )
                .with_label("this name is part of it")
                .with_secondary(decl.name.span, "and so is the pipeline name")
                .with_help(how),
            );
            continue;
        }
        if flow {
            // The JobFlow controller labels each job with
            // `volcano.sh/createdByJobTemplate: <namespace>.<template>` and
            // `volcano.sh/createdByJobFlow: <namespace>.<jobflow>`.
            let template = pipeline.template_name(job.stage, job.kind);
            let value = format!("{}.{template}", pipeline.namespace);
            if value.len() > LIMIT {
                diags.push(
                    Diagnostic::error(
                        Code::NameTooLong,
                        span,
                        format!(
                            "Volcano would label the job `volcano.sh/createdByJobTemplate: {value}`, {} characters; label values are at most {LIMIT}",
                            value.len()
                        ),
                    )
                    .with_label("this name is part of it")
                    .with_secondary(namespace_span, "and so is the namespace")
                    .with_help("shorten the namespace, the pipeline or the stage name"),
                );
            }
        }
    }
    if flow {
        let value = format!("{}.{}", pipeline.namespace, pipeline.name);
        if value.len() > LIMIT {
            diags.push(
                Diagnostic::error(
                    Code::NameTooLong,
                    decl.name.span,
                    format!(
                        "Volcano would label every job `volcano.sh/createdByJobFlow: {value}`, {} characters; label values are at most {LIMIT}",
                        value.len()
                    ),
                )
                .with_secondary(namespace_span, "the namespace is part of it")
                .with_help("shorten the namespace or the pipeline name"),
            );
        }
    }
}
