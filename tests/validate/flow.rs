//! Rules that span several objects of one output: JobFlows and the
//! JobTemplates they instantiate (Volcano's `pkg/controllers/jobflow/`),
//! duplicate objects, ConfigMap keys that pods read, and names the Volcano
//! controllers will create.
//!
//! A JobFlow's `flows[].name` is the name of a JobTemplate in the same
//! namespace; the controller creates Job `<jobflow>-<flow>` from it with
//! labels `volcano.sh/createdByJobTemplate=<ns>.<flow>` and
//! `volcano.sh/createdByJobFlow=<ns>.<jobflow>`, and starts a flow once every
//! `dependsOn.targets` job is Completed. The `/jobflows/validate` webhook
//! that checks targets and cycles is off by default, so a bad graph is only
//! seen here.

use serde_json::Value;

use super::job;
use super::names;
use super::{CONFIG_MAP, JOB, JOB_FLOW, JOB_TEMPLATE, Object};

/// A Volcano Job that will exist once the output is applied: a Job object, or
/// one a JobFlow creates from a template.
struct PlannedJob<'a> {
    namespace: &'a str,
    name: String,
    spec: &'a Value,
    /// The object to report against (the Job, or the JobFlow).
    origin: &'a Object,
    /// JSON pointer of the name's origin in `origin`.
    path: String,
}

/// Runs every cross-object rule over all objects of one output.
pub(super) fn check_cross_object(objects: &[Object], out: &mut Vec<String>) {
    check_duplicates(objects, out);

    let mut planned: Vec<PlannedJob<'_>> = objects
        .iter()
        .filter(|o| o.is(JOB.0, JOB.1) && !o.name.is_empty())
        .map(|o| PlannedJob {
            namespace: &o.namespace,
            name: o.name.clone(),
            spec: o.value.get("spec").unwrap_or(&Value::Null),
            origin: o,
            path: "/metadata/name".to_owned(),
        })
        .collect();
    for jobflow in objects.iter().filter(|o| o.is(JOB_FLOW.0, JOB_FLOW.1)) {
        check_jobflow(jobflow, objects, &mut planned, out);
    }

    check_planned_names(&planned, objects, out);
    check_configmap_keys(objects, out);
}

/// Two objects of the same kind, namespace and name: the second `kubectl
/// apply` silently replaces the first.
fn check_duplicates(objects: &[Object], out: &mut Vec<String>) {
    let group = |o: &Object| o.api_version.split('/').next().unwrap_or("").to_owned();
    for (i, object) in objects.iter().enumerate() {
        if object.name.is_empty() || object.kind.is_empty() {
            continue;
        }
        if let Some(first) = objects[..i].iter().find(|o| {
            o.kind == object.kind
                && group(o) == group(object)
                && o.namespace == object.namespace
                && o.name == object.name
        }) {
            object.problems(out).push(
                "/metadata/name",
                "duplicate-object",
                format!(
                    "{} is also defined in {}; applying both keeps only one",
                    object.label, first.file
                ),
            );
        }
    }
}

fn str_of(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

/// One JobFlow: templates present, targets known, graph acyclic, label
/// values, and (through `planned`) the name rules of every generated Job.
fn check_jobflow<'a>(
    jobflow: &'a Object,
    objects: &'a [Object],
    planned: &mut Vec<PlannedJob<'a>>,
    out: &mut Vec<String>,
) {
    let flows: &[Value] = jobflow
        .value
        .get("spec")
        .and_then(|s| s.get("flows"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let flow_names: Vec<&str> = flows
        .iter()
        .map(|f| str_of(f.get("name")).unwrap_or(""))
        .collect();
    let namespace = jobflow.namespace.as_str();

    let jobflow_label = format!("{namespace}.{}", jobflow.name);
    if !jobflow.name.is_empty() && !names::is_label_value(&jobflow_label) {
        jobflow.problems(out).push(
            "/metadata/name",
            "g/label",
            format!(
                "label value volcano.sh/createdByJobFlow={jobflow_label:?} ({} characters) must be a label value of at most 63: shorten the namespace or the JobFlow name",
                jobflow_label.len()
            ),
        );
    }

    for (i, flow) in flows.iter().enumerate() {
        let flow_name = flow_names[i];
        let path = format!("/spec/flows/{i}");
        if flow_name.is_empty() {
            continue; // The schema reported the missing name.
        }
        if flow_names[..i].contains(&flow_name) {
            jobflow.problems(out).push(
                &format!("{path}/name"),
                "g/duplicate-flow",
                format!(
                    "flow {flow_name:?} appears twice: both would create Job {}-{flow_name}",
                    jobflow.name
                ),
            );
        }
        let flow_label = format!("{namespace}.{flow_name}");
        if !names::is_label_value(&flow_label) {
            jobflow.problems(out).push(
                &format!("{path}/name"),
                "g/label",
                format!(
                    "label value volcano.sh/createdByJobTemplate={flow_label:?} ({} characters) must be a label value of at most 63",
                    flow_label.len()
                ),
            );
        }
        for (t, target) in flow
            .get("dependsOn")
            .and_then(|d| d.get("targets"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(target) = target.as_str()
                && !flow_names.contains(&target)
            {
                jobflow.problems(out).push(
                    &format!("{path}/dependsOn/targets/{t}"),
                    "g/target",
                    format!("jobflow Flow is not DAG: vertex is not defined: {target}"),
                );
            }
        }

        let templates: Vec<&Object> = objects
            .iter()
            .filter(|o| o.is(JOB_TEMPLATE.0, JOB_TEMPLATE.1) && o.name == flow_name)
            .collect();
        let Some(template) = templates.iter().find(|t| t.namespace == namespace) else {
            let elsewhere: Vec<String> = templates
                .iter()
                .map(|t| format!("{} (namespace {})", t.file, t.namespace))
                .collect();
            let hint = if elsewhere.is_empty() {
                String::new()
            } else {
                format!(
                    "; found only in another namespace: {}",
                    elsewhere.join(", ")
                )
            };
            jobflow.problems(out).push(
                &format!("{path}/name"),
                "g/template",
                format!(
                    "flow {flow_name:?} names JobTemplate {flow_name:?}, which is not in this output in namespace {namespace}{hint}"
                ),
            );
            continue;
        };

        let job_name = format!("{}-{flow_name}", jobflow.name);
        let spec = template.value.get("spec").unwrap_or(&Value::Null);
        let note = format!(
            " (as Job {job_name} created by {} in {})",
            jobflow.label, jobflow.file
        );
        let mut problems = template.problems(out).with_note(note.clone());
        job::check_job_names(&job_name, spec, "/metadata/name", "/spec", &mut problems);
        // An aborted job is neither Completed nor Failed to the JobFlow
        // controller (pkg/controllers/jobflow/jobflow_controller_action.go),
        // so the flow waits forever.
        for abort in job::abort_job_actions(spec, "/spec") {
            problems.push(
                &abort,
                "g/abortjob",
                "AbortJob leaves a JobFlow waiting forever (Aborted is neither Completed nor Failed); use TerminateJob",
            );
        }
        planned.push(PlannedJob {
            namespace,
            name: job_name,
            spec,
            origin: jobflow,
            path: format!("{path}/name"),
        });
    }

    check_flow_cycles(jobflow, flows, &flow_names, out);
}

/// Kahn's algorithm over the known targets; whatever remains lies on or behind
/// a cycle. Unknown targets were reported as `g/target` already.
fn check_flow_cycles(
    jobflow: &Object,
    flows: &[Value],
    flow_names: &[&str],
    out: &mut Vec<String>,
) {
    let targets: Vec<Vec<usize>> = flows
        .iter()
        .map(|f| {
            f.get("dependsOn")
                .and_then(|d| d.get("targets"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|t| flow_names.iter().position(|n| *n == t))
                .collect()
        })
        .collect();
    let mut done = vec![false; flows.len()];
    loop {
        let ready: Vec<usize> = (0..flows.len())
            .filter(|&i| !done[i] && targets[i].iter().all(|&t| done[t]))
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in ready {
            done[i] = true;
        }
    }
    let stuck: Vec<&str> = (0..flows.len())
        .filter(|&i| !done[i])
        .map(|i| flow_names[i])
        .collect();
    if !stuck.is_empty() {
        jobflow.problems(out).push(
            "/spec/flows",
            "g/dag",
            format!(
                "jobflow Flow is not DAG: flows {} depend on each other in a cycle (or on a flow that does), so they are never created",
                stuck.join(", ")
            ),
        );
    }
}

/// Names the cluster will hold once everything is created: two planned Jobs
/// with one name, or a ConfigMap in the output that the svc plugin's
/// `<job>-svc` ConfigMap would clash with.
fn check_planned_names(planned: &[PlannedJob<'_>], objects: &[Object], out: &mut Vec<String>) {
    for (i, job) in planned.iter().enumerate() {
        if let Some(other) = planned[..i]
            .iter()
            .find(|o| o.namespace == job.namespace && o.name == job.name)
        {
            job.origin.problems(out).push(
                &job.path,
                "g/job-name-collision",
                format!(
                    "Job {} would also be created by {} in {}",
                    job.name, other.origin.label, other.origin.file
                ),
            );
        }
        if job::has_svc(job.spec) {
            let svc_configmap = format!("{}-svc", job.name);
            if let Some(cm) = objects.iter().find(|o| {
                o.is(CONFIG_MAP.0, CONFIG_MAP.1)
                    && o.name == svc_configmap
                    && o.namespace == job.namespace
            }) {
                job.origin.problems(out).push(
                    &job.path,
                    "generated-name-collision",
                    format!(
                        "the svc plugin of Job {} creates ConfigMap {svc_configmap}, which {} in {} also defines",
                        job.name, cm.label, cm.file
                    ),
                );
            }
        }
    }
}

/// A pod that mounts key K of ConfigMap C, or reads it into an env var, fails
/// to start when C is emitted beside it without K.
fn check_configmap_keys(objects: &[Object], out: &mut Vec<String>) {
    for object in objects
        .iter()
        .filter(|o| o.is(JOB.0, JOB.1) || o.is(JOB_TEMPLATE.0, JOB_TEMPLATE.1))
    {
        let spec = object.value.get("spec").unwrap_or(&Value::Null);
        for (path, name, key) in job::configmap_references(spec, "/spec") {
            let Some(cm) = objects.iter().find(|o| {
                o.is(CONFIG_MAP.0, CONFIG_MAP.1)
                    && o.name == name
                    && o.namespace == object.namespace
            }) else {
                continue; // Not emitted here: an existing ConfigMap of the cluster.
            };
            let has_key = ["data", "binaryData"]
                .iter()
                .any(|field| cm.value.get(*field).and_then(|d| d.get(&key)).is_some());
            if !has_key {
                object.problems(out).push(
                    &path,
                    "configmap-ref",
                    format!("ConfigMap {name} ({}) has no key {key:?}", cm.file),
                );
            }
        }
    }
}
