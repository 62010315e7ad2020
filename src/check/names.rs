//! Name budgets: every name vcp will generate, computed with the emitter's own
//! naming functions (`ir::Pipeline::job_name` and friends) and checked against
//! Kubernetes' and Volcano's limits before anything is emitted, with what
//! the pipeline's `overlay` budget says kustomize overlays add to them.

use super::overlay::Overlay;
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
    overlay: &Overlay,
    stage_spans: &BTreeMap<String, Span>,
    diags: &mut Diagnostics,
) {
    let flow = pipeline.is_flow();
    // A JobFlow's job names hold the prefix and suffix twice: the JobFlow's
    // and the JobTemplate's (`<jobflow>-<template>`).
    let in_pods = if flow { 2 } else { 1 } * overlay.affixes();
    let namespace = overlay.namespace_len(&pipeline.namespace);
    // Says what the overlay budget adds to a name, and where it is set.
    let with_overlay = |diag: Diagnostic, added: usize| match overlay.span {
        Some(span) if added > 0 => {
            diag.with_secondary(span, format!("overlays add {added} characters to it"))
        }
        _ => diag,
    };
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
        let pod_len = pod.len() + in_pods;
        if pod_len > LIMIT {
            let what = match job.kind {
                JobKind::Work => format!("the pod of worker {last}"),
                JobKind::Reduce => "the reduce pod".to_string(),
            };
            let over = pod_len - LIMIT;
            let mut how = if flow {
                format!(
                    "shorten the names by {over} characters or more: in a JobFlow, Volcano names the job `<pipeline>-<pipeline>-<stage>`, so each character of the pipeline name counts twice"
                )
            } else {
                format!("shorten the pipeline or the stage name by {over} characters or more")
            };
            let mut named = format!("`{pod}`, {} characters", pod.len());
            if in_pods > 0 {
                named = format!(
                    "`{pod}` plus {in_pods} characters of overlay prefix and suffix{}, {pod_len} characters",
                    if flow { " (twice in a JobFlow)" } else { "" }
                );
                how.push_str(", or lower the overlay's `name_prefix` and `name_suffix`");
            }
            diags.push(with_overlay(
                Diagnostic::error(
                    Code::NameTooLong,
                    span,
                    format!("{what} would be named {named}; Kubernetes allows {LIMIT}"),
                )
                .with_label("this name is part of it")
                .with_secondary(decl.name.span, "and so is the pipeline name")
                .with_help(how),
                in_pods,
            ));
            continue;
        }
        if flow {
            // The JobFlow controller labels each job with
            // `volcano.sh/createdByJobTemplate: <namespace>.<template>` and
            // `volcano.sh/createdByJobFlow: <namespace>.<jobflow>`.
            let template = pipeline.template_name(job.stage, job.kind);
            let value = format!("{}.{template}", pipeline.namespace);
            let added = namespace - pipeline.namespace.len() + overlay.affixes();
            if value.len() + added > LIMIT {
                diags.push(with_overlay(
                    Diagnostic::error(
                        Code::NameTooLong,
                        span,
                        format!(
                            "Volcano would label the job `volcano.sh/createdByJobTemplate: {value}`, {} characters{}; label values are at most {LIMIT}",
                            value.len() + added,
                            overlay_note(added)
                        ),
                    )
                    .with_label("this name is part of it")
                    .with_secondary(namespace_span, "and so is the namespace")
                    .with_help(format!("shorten the namespace, the pipeline or the stage name{}", lower_budget(added))),
                    added,
                ));
            }
        }
    }
    if flow {
        let value = format!("{}.{}", pipeline.namespace, pipeline.flow_name());
        let added = namespace - pipeline.namespace.len() + overlay.affixes();
        if value.len() + added > LIMIT {
            diags.push(with_overlay(
                Diagnostic::error(
                    Code::NameTooLong,
                    decl.name.span,
                    format!(
                        "Volcano would label every job `volcano.sh/createdByJobFlow: {value}`, {} characters{}; label values are at most {LIMIT}",
                        value.len() + added,
                        overlay_note(added)
                    ),
                )
                .with_secondary(namespace_span, "the namespace is part of it")
                .with_help(format!("shorten the namespace or the pipeline name{}", lower_budget(added))),
                added,
            ));
        }
    }
}

/// ` with what overlays add` when they add anything.
fn overlay_note(added: usize) -> String {
    if added == 0 {
        String::new()
    } else {
        format!(" with the {added} that overlays add")
    }
}

/// `, or lower the overlay budget` when the overlay budget adds anything.
fn lower_budget(added: usize) -> &'static str {
    if added == 0 {
        ""
    } else {
        ", or lower the overlay budget"
    }
}
