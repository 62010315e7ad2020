//! `gitops = "argocd" | "flux" | "none"`: which GitOps controller applies
//! the output, and the fields that would fight it. Under a controller that
//! re-applies the repository, a `ttl` deletes a finished run that the
//! controller then recreates (and runs again), and `replace_on_change`
//! makes Argo CD delete and recreate every run on every sync: both are
//! refused with E1001 (docs/gitops.md has the reasoning and the sources).

use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic};
use crate::ir::GitOps;
use crate::source::Span;
use crate::syntax::ast::Expr;

/// The `gitops` field, where it is set.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct GitOpsField {
    pub(super) tool: GitOps,
    pub(super) span: Option<Span>,
}

impl GitOpsField {
    fn name(self) -> &'static str {
        match self.tool {
            GitOps::ArgoCd => "Argo CD",
            GitOps::Flux => "Flux",
            GitOps::None => "none",
        }
    }
}

impl PipelineChecker<'_> {
    pub(super) fn gitops_field(&mut self, v: &Expr) -> GitOpsField {
        let tool = self
            .choice(v, GitOps::NAMES, "GitOps controller")
            .and_then(|word| GitOps::from_name(&word))
            .unwrap_or_default();
        GitOpsField {
            tool,
            span: Some(v.span()),
        }
    }

    /// E1001 for a `ttl` (of the pipeline, a stage or a template) under a
    /// GitOps controller.
    pub(super) fn ttl_under_gitops(&mut self, gitops: GitOpsField, ttl: Option<&Expr>) {
        let (Some(ttl), Some(at)) = (ttl, gitops.span) else {
            return;
        };
        if !gitops.tool.is_on() {
            return;
        }
        self.diags.push(
            Diagnostic::error(
                Code::GitOpsConflict,
                ttl.span(),
                format!(
                    "a `ttl` deletes the finished run, and {} would create it again and run it again",
                    gitops.name()
                ),
            )
            .with_label("deletes the finished job")
            .with_secondary(at, "the controller re-applies what the repository holds")
            .with_help("remove `ttl`: under `gitops` a finished run stays until the pipeline changes, and the controller prunes it then"),
        );
    }

    /// E1001 for `replace_on_change = true` under a GitOps controller.
    pub(super) fn replace_under_gitops(&mut self, gitops: GitOpsField, replace: Option<&Expr>) {
        let (Some(replace), Some(at)) = (replace, gitops.span) else {
            return;
        };
        if !gitops.tool.is_on() || !matches!(self.eval().bool(replace), Some(true)) {
            return;
        }
        self.diags.push(
            Diagnostic::error(
                Code::GitOpsConflict,
                replace.span(),
                "`replace_on_change` and `gitops` are two answers to the same question",
            )
            .with_label("would recreate the jobs on every sync")
            .with_secondary(at, "names each run by its content already")
            .with_help("remove `replace_on_change`: under `gitops` a changed pipeline is a new object, which the controller creates while it prunes the old one"),
        );
    }
}
