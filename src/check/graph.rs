//! The stage graph: `after` names, cycles, dependency order, and stage names
//! that collide with reduce steps.

use super::pipeline::PipelineChecker;
use super::stage::StageSpans;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir;
use std::collections::{BTreeMap, BTreeSet};

impl PipelineChecker<'_> {
    /// A stage named `x-reduce` would take the names of stage `x`'s reduce job.
    pub(super) fn reduce_collisions(&mut self, stages: &[(ir::Stage, StageSpans)]) {
        for (s, spans) in stages {
            if let Some(base) = s.name.strip_suffix("-reduce")
                && let Some((_, other)) = stages
                    .iter()
                    .find(|(o, _)| o.name == base && o.reduce.is_some())
            {
                self.diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        spans.name,
                        format!(
                            "stage `{}` has the name of the reduce step of stage `{base}`",
                            s.name
                        ),
                    )
                    .with_secondary(other.reduce.unwrap_or(other.name), "that reduce step")
                    .with_help("rename the stage"),
                );
            }
        }
    }

    /// Reports `after` entries that name no stage (or the stage itself);
    /// true when there was one.
    pub(super) fn unknown_dependencies(
        &mut self,
        stages: &[(String, StageSpans)],
        names: &BTreeSet<&str>,
    ) -> bool {
        let mut bad = false;
        for (name, spans) in stages {
            for dep in &spans.after {
                if !names.contains(dep.name.as_str()) {
                    let mut diag = Diagnostic::error(
                        Code::UnknownStage,
                        dep.span,
                        format!(
                            "stage `{name}` runs after `{}`, which is not a stage of this pipeline",
                            dep.name
                        ),
                    )
                    .with_label("unknown stage");
                    diag = match did_you_mean(&dep.name, names.iter().copied()) {
                        Some(m) => diag.with_help(format!("did you mean `{m}`?")),
                        None => {
                            let others: Vec<String> = names
                                .iter()
                                .filter(|n| **n != name.as_str())
                                .take(8)
                                .map(|n| format!("`{n}`"))
                                .collect();
                            if others.is_empty() {
                                diag.with_help("this pipeline has no other stage: remove `after`, or add the stage it waits for")
                            } else {
                                diag.with_help(format!(
                                    "`after` names stages of the same pipeline: {}",
                                    others.join(", ")
                                ))
                            }
                        }
                    };
                    self.diags.push(diag);
                    bad = true;
                } else if dep.name == *name {
                    self.diags.push(
                        Diagnostic::error(
                            Code::DependencyCycle,
                            dep.span,
                            format!("stage `{name}` runs after itself"),
                        )
                        .with_label("it would never start")
                        .with_help(format!(
                            "remove `{name}` from its `after` list; `after` names the stages that must finish first"
                        )),
                    );
                    bad = true;
                }
            }
        }
        bad
    }

    /// The stages in dependency order; reports a cycle.
    pub(super) fn order(&mut self, stages: Vec<(ir::Stage, StageSpans)>) -> Vec<ir::Stage> {
        // Kahn's algorithm; among ready stages, source order.
        let index: BTreeMap<&str, usize> = stages
            .iter()
            .enumerate()
            .map(|(i, (s, _))| (s.name.as_str(), i))
            .collect();
        // Kahn's algorithm with the ready stages kept in source order:
        // O((stages + edges) log stages).
        let mut pending: Vec<usize> = stages.iter().map(|(s, _)| s.after.len()).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); stages.len()];
        for (j, (s, _)) in stages.iter().enumerate() {
            for dep in &s.after {
                if let Some(&i) = index.get(dep.as_str()) {
                    dependents[i].push(j);
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..stages.len()).filter(|&i| pending[i] == 0).collect();
        let mut done = vec![false; stages.len()];
        let mut order = Vec::with_capacity(stages.len());
        while let Some(next) = ready.pop_first() {
            done[next] = true;
            order.push(next);
            for &j in &dependents[next] {
                pending[j] -= 1;
                if pending[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        if order.len() < stages.len() {
            self.report_cycle(&stages, &done);
            return stages.into_iter().map(|(s, _)| s).collect();
        }
        // Sorted in place by rank: a stage is some 700 bytes, and a second
        // vector of them was the checker's peak at N = 10,000.
        let mut rank = vec![0; stages.len()];
        for (position, &i) in order.iter().enumerate() {
            rank[i] = position;
        }
        let mut stages: Vec<(usize, ir::Stage)> = stages
            .into_iter()
            .enumerate()
            .map(|(i, (s, _))| (rank[i], s))
            .collect();
        // Ranks are unique, so the unstable sort is deterministic.
        stages.sort_unstable_by_key(|(rank, _)| *rank);
        stages.into_iter().map(|(_, s)| s).collect()
    }

    pub(super) fn report_cycle(&mut self, stages: &[(ir::Stage, StageSpans)], done: &[bool]) {
        // Walk `after` edges among the stages left over until one repeats.
        let Some(mut at) = (0..stages.len()).find(|&i| !done[i]) else {
            return;
        };
        let mut path: Vec<usize> = Vec::new();
        while !path.contains(&at) {
            path.push(at);
            let next = stages[at]
                .0
                .after
                .iter()
                .filter_map(|d| stages.iter().position(|(s, _)| &s.name == d))
                .find(|&j| !done[j]);
            match next {
                Some(j) => at = j,
                None => return,
            }
        }
        let start = path.iter().position(|&i| i == at).unwrap_or(0);
        let cycle: Vec<usize> = path[start..].to_vec();
        let mut names: Vec<&str> = cycle.iter().map(|&i| stages[i].0.name.as_str()).collect();
        names.push(names[0]);
        let first = cycle[0];
        let second = cycle.get(1).copied().unwrap_or(first);
        let edge = stages[first]
            .1
            .after
            .iter()
            .find(|d| d.name == stages[second].0.name)
            .map_or(stages[first].1.name, |d| d.span);
        let mut diag = Diagnostic::error(
            Code::DependencyCycle,
            edge,
            format!("stages wait for each other: {}", names.join(" runs after ")),
        )
        .with_label("closes the cycle")
        .with_help("no stage of a cycle can ever start; remove one of these `after` entries");
        for &i in &cycle[1..] {
            let next = cycle[(cycle.iter().position(|&c| c == i).unwrap_or(0) + 1) % cycle.len()];
            if let Some(d) = stages[i]
                .1
                .after
                .iter()
                .find(|d| d.name == stages[next].0.name)
            {
                diag = diag.with_secondary(
                    d.span,
                    format!(
                        "`{}` runs after `{}`",
                        stages[i].0.name, stages[next].0.name
                    ),
                );
            }
        }
        self.diags.push(diag);
    }
}
