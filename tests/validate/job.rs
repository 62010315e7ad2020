//! Volcano's admission rules for a Job spec (rules 1-23: 1-8 from the CRD
//! schema, 9-23 from the validating webhook,
//! `pkg/webhooks/admission/jobs/validate/admit_job.go` and `util.go`), the
//! Kubernetes rules the pods it creates will meet (named as
//! `pkg/controllers/job/helpers/helpers.go` names them; Volcano paths at the
//! commit in tests/fixtures/volcano/SOURCE.md), and the few "must" items that
//! no webhook checks but that make a job hang (restart policy, gang size with
//! `dependsOn`).
//!
//! The schema walk has already run, so these checks read values leniently: a
//! field of the wrong type is skipped here because it was reported there.
//! Messages quote Volcano's own wording where it has one; each carries a rule
//! tag (`d9`, `d14`, `pod-name`, ...) that the tests match on. Rules 2-8 are
//! CRD constraints and come out of the schema walk as `schema/...`.
//!
//! Checks are split in two: [`check_job_spec`] needs only the spec (it runs
//! once per Job or JobTemplate), [`check_job_names`] needs the job's name (it
//! runs once per Job, and once per JobFlow flow that instantiates a template).

use serde_json::Value;

use super::meta;
use super::names;
use super::{Problems, pointer};

/// Plugins registered in `pkg/controllers/job/plugins/factory.go` (rule 15).
const PLUGINS: &[&str] = &[
    "ssh",
    "env",
    "svc",
    "tensorflow",
    "mpi",
    "pytorch",
    "hcclrank",
    "ray",
];

/// Events the validating webhook accepts in a user policy (rule 14); the CRD
/// enum is wider (`PodRunning`, `OutOfSync`, `CommandIssued`).
const POLICY_EVENTS: &[&str] = &[
    "*",
    "PodFailed",
    "PodEvicted",
    "PodPending",
    "Unknown",
    "TaskCompleted",
    "TaskFailed",
    "JobUpdated",
];

/// Actions the validating webhook accepts in a user policy (rule 14).
const POLICY_ACTIONS: &[&str] = &[
    "AbortJob",
    "RestartJob",
    "RestartTask",
    "RestartPod",
    "RestartPartition",
    "TerminateJob",
    "CompleteJob",
    "ResumeJob",
];

/// Where the svc plugin mounts its ConfigMap in every container.
const SVC_MOUNT: &str = "/etc/volcano";
/// Default mount of the ssh plugin's Secret.
const SSH_MOUNT: &str = "/root/.ssh";

fn int(value: Option<&Value>) -> Option<i64> {
    value.and_then(Value::as_i64)
}

fn str_of(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

fn array(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// One task as the validating webhook sees it, after the mutating webhook's
/// defaults (`name` -> `default<i>`, `minAvailable` -> `replicas`).
struct Task<'a> {
    index: usize,
    name: String,
    replicas: i64,
    min_available: i64,
    depends_on: Vec<&'a str>,
    value: &'a Value,
}

fn tasks(spec: &Value) -> Vec<Task<'_>> {
    array(spec.get("tasks"))
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let name = match str_of(value.get("name")) {
                Some(n) if !n.is_empty() => n.to_owned(),
                _ => format!("default{index}"),
            };
            let replicas = int(value.get("replicas")).unwrap_or(0);
            let partition = value.get("partitionPolicy");
            let min_partitions = int(partition.and_then(|p| p.get("minPartitions"))).unwrap_or(0);
            let partition_size = int(partition.and_then(|p| p.get("partitionSize"))).unwrap_or(0);
            let min_available = int(value.get("minAvailable")).unwrap_or(if min_partitions > 0 {
                min_partitions * partition_size
            } else {
                replicas
            });
            let depends_on = array(value.get("dependsOn").and_then(|d| d.get("name")))
                .iter()
                .filter_map(Value::as_str)
                .collect();
            Task {
                index,
                name,
                replicas,
                min_available,
                depends_on,
                value,
            }
        })
        .collect()
}

/// Plugin names after the mutating webhook (svc for the distributed-framework
/// plugins, ssh for mpi).
fn effective_plugins(spec: &Value) -> Vec<String> {
    let mut plugins: Vec<String> = spec
        .get("plugins")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let has = |plugins: &[String], name: &str| plugins.iter().any(|p| p == name);
    if ["tensorflow", "mpi", "pytorch", "ray"]
        .iter()
        .any(|p| has(&plugins, p))
        && !has(&plugins, "svc")
    {
        plugins.push("svc".to_owned());
    }
    if has(&plugins, "mpi") && !has(&plugins, "ssh") {
        plugins.push("ssh".to_owned());
    }
    plugins
}

/// The value of a Go `flag` argument (`--name=v`, `-name=v`, `--name v`).
fn plugin_flag<'a>(args: &'a [Value], flag: &str) -> Option<&'a str> {
    let args: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
    for (i, arg) in args.iter().enumerate() {
        let bare = arg.trim_start_matches('-');
        if arg.starts_with('-') {
            if let Some(v) = bare.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                return Some(v);
            }
            if bare == flag {
                return args.get(i + 1).copied();
            }
        }
    }
    None
}

/// The job's sum of task replicas (saturating: counts come from user input).
fn total_replicas(tasks: &[Task<'_>]) -> i64 {
    tasks
        .iter()
        .fold(0i64, |acc, t| acc.saturating_add(t.replicas.max(0)))
}

/// Job `minAvailable` after the mutating webhook (0 or unset -> sum of task minAvailable).
fn job_min_available(spec: &Value, tasks: &[Task<'_>]) -> i64 {
    match int(spec.get("minAvailable")) {
        Some(n) if n != 0 => n,
        _ => tasks
            .iter()
            .fold(0i64, |acc, t| acc.saturating_add(t.min_available)),
    }
}

/// Every rule that needs only the spec: rules 1, 9-11, 14-17, 18 (root, label
/// length), 19-23, restart policy, gang size with `dependsOn`.
pub(super) fn check_job_spec(spec: &Value, base: &str, problems: &mut Problems<'_>) {
    if !spec.is_object() {
        problems.push(
            base,
            "d1",
            "No task specified in job spec (spec is missing)",
        );
        return;
    }
    let tasks = tasks(spec);
    if tasks.is_empty() {
        problems.push(
            &format!("{base}/tasks"),
            "d1",
            "No task specified in job spec",
        );
    }

    let mut seen_names: Vec<&str> = Vec::new();
    for task in &tasks {
        let path = format!("{base}/tasks/{}", task.index);
        // Rule 9.
        if task.min_available > task.replicas {
            problems.push(
                &format!("{path}/minAvailable"),
                "d9",
                format!(
                    "'minAvailable' ({}) is greater than 'replicas' ({}) in task: {}",
                    task.min_available, task.replicas, task.name
                ),
            );
        }
        // Rule 10.
        if seen_names.contains(&task.name.as_str()) {
            problems.push(
                &format!("{path}/name"),
                "d10",
                format!("duplicated task name {}", task.name),
            );
        }
        seen_names.push(&task.name);
        // Rule 14, task level.
        check_policies(
            task.value.get("policies"),
            &format!("{path}/policies"),
            problems,
        );
        check_partition_policy(task, &path, problems);
        check_topology_policy(task, &path, problems);
        check_pod_template(
            task.value.get("template"),
            &format!("{path}/template"),
            problems,
        );
    }

    // Rule 11.
    let total = total_replicas(&tasks);
    let min_available = job_min_available(spec, &tasks);
    if min_available > total {
        problems.push(
            &format!("{base}/minAvailable"),
            "d11",
            format!(
                "job 'minAvailable' ({min_available}) should not be greater than total replicas in tasks ({total})"
            ),
        );
    }

    // Rule 14, job level.
    check_policies(spec.get("policies"), &format!("{base}/policies"), problems);
    check_plugins(spec, &tasks, base, problems);
    check_volumes(spec, &tasks, base, problems);
    check_queue(spec, base, problems);
    check_dependencies(&tasks, min_available, base, problems);

    // Rule 22.
    if let Some(topology) = spec.get("networkTopology")
        && topology
            .get("highestTierAllowed")
            .is_some_and(|v| !v.is_null())
        && topology
            .get("highestTierName")
            .is_some_and(|v| !v.is_null())
    {
        problems.push(
            &format!("{base}/networkTopology"),
            "d22",
            "must not specify 'highestTierAllowed' and 'highestTierName' in networkTopology simultaneously",
        );
    }
    if let Some(estimate) = str_of(spec.get("runningEstimate"))
        && !names::is_go_duration(estimate)
    {
        problems.push(
            &format!("{base}/runningEstimate"),
            "duration",
            format!("{estimate:?} is not a Go duration (e.g. `90m`, `1h30m`)"),
        );
    }
}

/// Rule 14 over one policy list (job-level, or one task's), plus the two
/// things that are accepted but cannot work: a `PodPending` policy without a
/// `timeout` never acts, and a `timeout` that is not a Go duration fails to
/// decode.
fn check_policies(policies: Option<&Value>, path: &str, problems: &mut Problems<'_>) {
    let mut seen_events: Vec<&str> = Vec::new();
    let mut seen_codes: Vec<i64> = Vec::new();
    for (k, policy) in array(policies).iter().enumerate() {
        let policy_path = format!("{path}/{k}");
        // The webhook merges `event` into `events` and drops repeats within one policy.
        let mut events: Vec<&str> = array(policy.get("events"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if let Some(e) = str_of(policy.get("event")).filter(|e| !e.is_empty()) {
            events.push(e);
        }
        let mut unique: Vec<&str> = Vec::new();
        for e in events {
            if !unique.contains(&e) {
                unique.push(e);
            }
        }
        let exit_code = policy.get("exitCode").filter(|v| !v.is_null());
        match (unique.is_empty(), exit_code) {
            (false, Some(_)) => problems.push(
                &policy_path,
                "d14",
                "must not specify event and exitCode simultaneously",
            ),
            (true, None) => problems.push(
                &policy_path,
                "d14",
                "either event and exitCode should be specified",
            ),
            (false, None) => {
                let action = str_of(policy.get("action")).unwrap_or("");
                if !POLICY_ACTIONS.contains(&action) {
                    problems.push(
                        &format!("{policy_path}/action"),
                        "d14",
                        format!(
                            "Invalid value: {action:?}: invalid policy action; valid actions are [{}]",
                            POLICY_ACTIONS.join(", ")
                        ),
                    );
                }
                for event in unique {
                    if !POLICY_EVENTS.contains(&event) {
                        problems.push(
                            &policy_path,
                            "d14",
                            format!(
                                "Invalid value: {event:?}: invalid policy event; valid events are [{}]",
                                POLICY_EVENTS.join(", ")
                            ),
                        );
                    }
                    if seen_events.contains(&event) {
                        problems.push(
                            &policy_path,
                            "d14",
                            format!("duplicate event {event}  across different policy"),
                        );
                    } else {
                        seen_events.push(event);
                    }
                    if event == "PodPending" && policy.get("timeout").is_none_or(Value::is_null) {
                        problems.push(
                            &policy_path,
                            "policy-pending-timeout",
                            "a PodPending policy acts only after its `timeout`; without one it never fires",
                        );
                    }
                }
            }
            (true, Some(code)) => {
                let code = code.as_i64().unwrap_or(0);
                if code == 0 {
                    problems.push(
                        &format!("{policy_path}/exitCode"),
                        "d14",
                        "0 is not a valid error code",
                    );
                } else if seen_codes.contains(&code) {
                    problems.push(
                        &format!("{policy_path}/exitCode"),
                        "d14",
                        format!("duplicate exitCode {code}"),
                    );
                } else {
                    seen_codes.push(code);
                }
            }
        }
        if let Some(timeout) = str_of(policy.get("timeout"))
            && !names::is_go_duration(timeout)
        {
            problems.push(
                &format!("{policy_path}/timeout"),
                "duration",
                format!("{timeout:?} is not a Go duration (e.g. `10m`)"),
            );
        }
    }
    if seen_events.contains(&"*") && seen_events.len() > 1 {
        problems.push(
            path,
            "d14",
            "if there's * here, no other policy should be here",
        );
    }
}

/// Rules 15 and 16, and mount paths the plugins add to every container.
fn check_plugins(spec: &Value, tasks: &[Task<'_>], base: &str, problems: &mut Problems<'_>) {
    let declared = spec.get("plugins").and_then(Value::as_object);
    for (name, args) in declared.into_iter().flatten() {
        let path = format!("{base}/plugins/{}", pointer(name));
        if !PLUGINS.contains(&name.as_str()) {
            let hint = names::did_you_mean(name, PLUGINS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            problems.push(
                &path,
                "d15",
                format!("unable to find job plugin: {name}{hint}"),
            );
        }
        if name == "mpi" {
            let master = plugin_flag(array(Some(args)), "master").unwrap_or("master");
            if !tasks.iter().any(|t| t.name == master) {
                problems.push(
                    &path,
                    "d16",
                    format!("The specified mpi master task was not found (task {master:?})"),
                );
            }
        }
    }

    // A container that mounts something at the path a plugin mounts to gets a
    // duplicate mountPath when the controller builds the pod, and pod creation
    // fails (inference from PLUG/svc/svc.go:194-217 and PLUG/ssh/ssh.go:144-200).
    let plugins = effective_plugins(spec);
    let mut plugin_mounts: Vec<(String, &str)> = Vec::new();
    if plugins.iter().any(|p| p == "svc") {
        plugin_mounts.push((SVC_MOUNT.to_owned(), "svc"));
    }
    if plugins.iter().any(|p| p == "ssh") {
        let args = declared.and_then(|d| d.get("ssh"));
        let dir = plugin_flag(array(args), "ssh-key-file-path").unwrap_or(SSH_MOUNT);
        plugin_mounts.push((dir.to_owned(), "ssh"));
    }
    for task in tasks {
        for (c, container) in containers(task.value.get("template")) {
            for (m, mount) in array(container.get("volumeMounts")).iter().enumerate() {
                let Some(mount_path) = str_of(mount.get("mountPath")) else {
                    continue;
                };
                for (plugin_path, plugin) in &plugin_mounts {
                    if mount_path.trim_end_matches('/') == plugin_path.trim_end_matches('/') {
                        problems.push(
                            &format!("{base}/tasks/{}/template/spec/{c}/volumeMounts/{m}/mountPath", task.index),
                            "plugin-mount",
                            format!("the {plugin} plugin mounts its own volume at {plugin_path}; this mount would duplicate it"),
                        );
                    }
                }
            }
        }
    }
}

/// Rule 17, and job volumes against container mounts (the controller adds
/// each job volume to every container, so the same path twice breaks the pod).
fn check_volumes(spec: &Value, tasks: &[Task<'_>], base: &str, problems: &mut Problems<'_>) {
    let mut mount_paths: Vec<&str> = Vec::new();
    for (i, volume) in array(spec.get("volumes")).iter().enumerate() {
        let path = format!("{base}/volumes/{i}");
        let mount_path = str_of(volume.get("mountPath")).unwrap_or("");
        if mount_path.is_empty() {
            problems.push(&format!("{path}/mountPath"), "d17", "mountPath is required");
        } else if mount_paths.contains(&mount_path) {
            problems.push(
                &format!("{path}/mountPath"),
                "d17",
                format!("duplicated mountPath: {mount_path}"),
            );
        } else {
            mount_paths.push(mount_path);
        }
        let claim = volume.get("volumeClaim").filter(|v| !v.is_null());
        let claim_name = str_of(volume.get("volumeClaimName")).unwrap_or("");
        if claim.is_none() && claim_name.is_empty() {
            problems.push(
                &path,
                "d17",
                "either VolumeClaim or VolumeClaimName must be specified",
            );
        }
        if !claim_name.is_empty() {
            if claim.is_some() {
                problems.push(
                    &path,
                    "d17",
                    "conflict: If you want to use an existing PVC, just specify VolumeClaimName.If you want to create a new PVC, you do not need to specify VolumeClaimName",
                );
            }
            if !names::is_dns1123_subdomain(claim_name) {
                problems.push(
                    &format!("{path}/volumeClaimName"),
                    "d17",
                    format!("invalid VolumeClaimName {claim_name} : must be a DNS-1123 subdomain"),
                );
            }
        }
    }
    for task in tasks {
        for (c, container) in containers(task.value.get("template")) {
            for (m, mount) in array(container.get("volumeMounts")).iter().enumerate() {
                if let Some(p) = str_of(mount.get("mountPath"))
                    && mount_paths.contains(&p)
                {
                    problems.push(
                        &format!("{base}/tasks/{}/template/spec/{c}/volumeMounts/{m}/mountPath", task.index),
                        "d17",
                        format!("job volume already mounts {p} into every container; this mount would duplicate it"),
                    );
                }
            }
        }
    }
}

/// Rule 18 as far as it goes without a cluster: not `root`; and (k8s) the
/// queue name becomes the pod label `volcano.sh/queue-name`, so at most 63.
fn check_queue(spec: &Value, base: &str, problems: &mut Problems<'_>) {
    let queue = str_of(spec.get("queue")).unwrap_or("default");
    let path = format!("{base}/queue");
    if queue == "root" {
        problems.push(&path, "d18", "can not submit job to root queue");
    }
    if !names::is_label_value(queue) {
        problems.push(
            &path,
            "queue-label",
            format!(
                "queue name {queue:?} ({} characters) becomes the pod label volcano.sh/queue-name, which must be a label value of at most 63",
                queue.len()
            ),
        );
    }
}

/// Rule 19 exactly as the webhook computes it (Kahn's algorithm over
/// `dependsOn.name`, where an unknown or repeated name leaves the dependent
/// task with a positive in-degree forever), plus the gang deadlock: the
/// PodGroup needs `minAvailable` pods before any dependent task's pods exist.
fn check_dependencies(
    tasks: &[Task<'_>],
    min_available: i64,
    base: &str,
    problems: &mut Problems<'_>,
) {
    if tasks.iter().all(|t| t.depends_on.is_empty()) {
        return;
    }
    let mut in_degree: Vec<usize> = tasks.iter().map(|t| t.depends_on.len()).collect();
    // Edges dependency -> dependent, de-duplicated as the webhook's map does.
    let mut edges: Vec<(&str, usize)> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        for dep in &t.depends_on {
            if !edges.contains(&(dep, i)) {
                edges.push((dep, i));
            }
        }
    }
    let mut stack: Vec<usize> = (0..tasks.len()).filter(|&i| in_degree[i] == 0).collect();
    let mut sorted = 0;
    while let Some(done) = stack.pop() {
        sorted += 1;
        for &(from, to) in &edges {
            if from == tasks[done].name {
                in_degree[to] -= 1;
                if in_degree[to] == 0 {
                    stack.push(to);
                }
            }
        }
    }
    if sorted != tasks.len() {
        let mut detail = Vec::new();
        for t in tasks {
            for dep in &t.depends_on {
                if !tasks.iter().any(|o| o.name == *dep) {
                    detail.push(format!("task {} depends on unknown task {dep}", t.name));
                }
            }
            let mut seen: Vec<&str> = Vec::new();
            for dep in &t.depends_on {
                if seen.contains(dep) {
                    detail.push(format!("task {} lists {dep} twice", t.name));
                }
                seen.push(dep);
            }
        }
        let stuck: Vec<&str> = tasks
            .iter()
            .zip(&in_degree)
            .filter(|(_, d)| **d > 0)
            .map(|(t, _)| t.name.as_str())
            .collect();
        detail.push(format!("tasks never started: {}", stuck.join(", ")));
        problems.push(
            &format!("{base}/tasks"),
            "d19",
            format!(
                "job has dependencies between tasks, but doesn't form a directed acyclic graph(DAG) ({})",
                detail.join("; ")
            ),
        );
    }

    let independent: i64 = tasks
        .iter()
        .filter(|t| t.depends_on.is_empty())
        .fold(0i64, |acc, t| acc.saturating_add(t.replicas.max(0)));
    if min_available > independent {
        problems.push(
            &format!("{base}/minAvailable"),
            "gang-deadlock",
            format!(
                "job minAvailable {min_available} exceeds the {independent} pods of tasks without dependsOn: dependent tasks' pods are created only later, so the gang can never be scheduled (Volcano's pkg/controllers/job/job_controller_actions.go)"
            ),
        );
    }
}

/// Rule 23.
fn check_partition_policy(task: &Task<'_>, path: &str, problems: &mut Problems<'_>) {
    let Some(policy) = task.value.get("partitionPolicy").filter(|v| v.is_object()) else {
        return;
    };
    let path = format!("{path}/partitionPolicy");
    let total = int(policy.get("totalPartitions")).unwrap_or(0);
    let size = int(policy.get("partitionSize")).unwrap_or(0);
    let min_partitions = int(policy.get("minPartitions")).unwrap_or(0);
    if total <= 0 {
        problems.push(
            &path,
            "d23",
            format!(
                "'TotalPartitions' must be greater than 0 in task: {}",
                task.name
            ),
        );
    }
    if size <= 0 {
        problems.push(
            &path,
            "d23",
            format!(
                "'PartitionSize' must be greater than 0 in task: {}",
                task.name
            ),
        );
    }
    if total.saturating_mul(size) != task.replicas {
        problems.push(
            &path,
            "d23",
            format!(
                "'Replicas' are not equal to TotalPartitions*PartitionSize in task: {}",
                task.name
            ),
        );
    }
    if min_partitions > 0 && task.min_available != min_partitions.saturating_mul(size) {
        problems.push(
            &path,
            "d23",
            format!(
                "'MinAvailable' is not equal to MinPartitions*PartitionSize in task: {}",
                task.name
            ),
        );
    }
}

/// Rule 21: with a NUMA topology policy, every container's CPU request (or
/// limit when it has no requests) must be a whole number of CPUs.
fn check_topology_policy(task: &Task<'_>, path: &str, problems: &mut Problems<'_>) {
    match str_of(task.value.get("topologyPolicy")) {
        None | Some("" | "none") => return,
        Some(_) => {}
    }
    for (c, container) in containers(task.value.get("template")) {
        let resources = container.get("resources");
        let requests = resources
            .and_then(|r| r.get("requests"))
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty());
        let source = requests.or_else(|| {
            resources
                .and_then(|r| r.get("limits"))
                .and_then(Value::as_object)
        });
        let cpu = source.and_then(|m| m.get("cpu"));
        let whole = match cpu {
            None => true,
            Some(Value::Number(n)) => n.is_i64() || n.is_u64(),
            Some(Value::String(s)) => names::quantity_value(s).is_some_and(|v| v.fract() == 0.0),
            Some(_) => true,
        };
        if !whole {
            problems.push(
                &format!("{path}/template/spec/{c}/resources"),
                "d21",
                format!(
                    "the cpu request isn't an integer in spec.task[{}] {c}",
                    task.index
                ),
            );
        }
    }
}

/// `(path segment, container)` for every container and init container of a
/// pod template; the segment is `containers/<i>` or `initContainers/<i>`.
fn containers(template: Option<&Value>) -> Vec<(String, &Value)> {
    let spec = template.and_then(|t| t.get("spec"));
    let mut out = Vec::new();
    for field in ["initContainers", "containers"] {
        for (i, c) in array(spec.and_then(|s| s.get(field))).iter().enumerate() {
            out.push((format!("{field}/{i}"), c));
        }
    }
    out
}

/// Rule 20, a subset of Kubernetes' PodTemplate validation (the parts a
/// generator can get wrong: names, images, env, mounts, resources, ports,
/// tolerations, selectors) plus the restart policy every Volcano task needs.
fn check_pod_template(template: Option<&Value>, path: &str, problems: &mut Problems<'_>) {
    let Some(template) = template.filter(|t| t.is_object()) else {
        return;
    };
    if let Some(metadata) = template.get("metadata") {
        meta::check_labels(
            metadata.get("labels"),
            &format!("{path}/metadata/labels"),
            problems,
        );
        meta::check_annotations(
            metadata.get("annotations"),
            &format!("{path}/metadata/annotations"),
            problems,
        );
    }
    let Some(spec) = template.get("spec").filter(|s| s.is_object()) else {
        return;
    };
    let spec_path = format!("{path}/spec");

    // A pod left at the default `Always` never reaches Succeeded, so the job
    // never completes (Volcano's pkg/controllers/job/state/running.go).
    match str_of(spec.get("restartPolicy")) {
        Some("Never" | "OnFailure") => {}
        Some(other) => problems.push(
            &format!("{spec_path}/restartPolicy"),
            "restartPolicy",
            format!("restartPolicy {other:?}: a Volcano task needs Never or OnFailure, or its pods never finish"),
        ),
        None => problems.push(
            &format!("{spec_path}/restartPolicy"),
            "restartPolicy",
            "restartPolicy is unset, so Kubernetes defaults it to Always and the pods never finish; use Never or OnFailure",
        ),
    }

    if array(spec.get("containers")).is_empty() {
        problems.push(
            &format!("{spec_path}/containers"),
            "d20",
            "Required value: a pod needs at least one container",
        );
    }

    let volumes = array(spec.get("volumes"));
    let volume_names: Vec<&str> = volumes
        .iter()
        .filter_map(|v| str_of(v.get("name")))
        .collect();
    for (i, volume) in volumes.iter().enumerate() {
        let vpath = format!("{spec_path}/volumes/{i}");
        if let Some(name) = str_of(volume.get("name"))
            && !names::is_dns1123_label(name)
        {
            problems.push(
                &format!("{vpath}/name"),
                "d20",
                format!("Invalid value: {name:?}: a volume name must be a DNS-1123 label"),
            );
        }
        let sources = volume
            .as_object()
            .map_or(0, |m| m.keys().filter(|k| *k != "name").count());
        if sources != 1 {
            problems.push(
                &vpath,
                "d20",
                if sources == 0 {
                    "must specify a volume type".to_owned()
                } else {
                    "may not specify more than 1 volume type".to_owned()
                },
            );
        }
        for source in ["configMap", "secret"] {
            for (k, item) in array(volume.get(source).and_then(|s| s.get("items")))
                .iter()
                .enumerate()
            {
                if let Some(p) = str_of(item.get("path"))
                    && (p.starts_with('/') || p.split('/').any(|seg| seg == ".."))
                {
                    problems.push(
                        &format!("{vpath}/{source}/items/{k}/path"),
                        "d20",
                        format!("Invalid value: {p:?}: must be a relative path without '..'"),
                    );
                }
            }
        }
    }

    let mut container_names: Vec<&str> = Vec::new();
    for (segment, container) in containers(Some(template)) {
        let cpath = format!("{spec_path}/{segment}");
        if let Some(name) = str_of(container.get("name")) {
            if !names::is_dns1123_label(name) {
                problems.push(
                    &format!("{cpath}/name"),
                    "d20",
                    format!("Invalid value: {name:?}: a container name must be a DNS-1123 label"),
                );
            }
            if container_names.contains(&name) {
                problems.push(
                    &format!("{cpath}/name"),
                    "d20",
                    format!("Duplicate value: container name {name:?}"),
                );
            }
            container_names.push(name);
        }
        if str_of(container.get("image")).is_none_or(str::is_empty) {
            problems.push(&format!("{cpath}/image"), "d20", "Required value: image");
        }
        if let Some(policy) = str_of(container.get("imagePullPolicy"))
            && !matches!(policy, "Always" | "Never" | "IfNotPresent")
        {
            problems.push(
                &format!("{cpath}/imagePullPolicy"),
                "d20",
                format!("Unsupported value: {policy:?}: supported values: \"Always\", \"IfNotPresent\", \"Never\""),
            );
        }
        check_env(container, &cpath, problems);
        check_ports(container, &cpath, problems);
        check_resources(
            container.get("resources"),
            &format!("{cpath}/resources"),
            problems,
        );
        for (m, mount) in array(container.get("volumeMounts")).iter().enumerate() {
            if let Some(name) = str_of(mount.get("name"))
                && !volume_names.contains(&name)
            {
                problems.push(
                    &format!("{cpath}/volumeMounts/{m}/name"),
                    "d20",
                    format!("Not found: volume {name:?} is not among the pod's volumes"),
                );
            }
            if str_of(mount.get("mountPath")).is_some_and(str::is_empty) {
                problems.push(
                    &format!("{cpath}/volumeMounts/{m}/mountPath"),
                    "d20",
                    "Required value: mountPath",
                );
            }
        }
    }

    if let Some(selector) = spec.get("nodeSelector") {
        meta::check_labels(
            Some(selector),
            &format!("{spec_path}/nodeSelector"),
            problems,
        );
    }
    for (t, toleration) in array(spec.get("tolerations")).iter().enumerate() {
        check_toleration(
            toleration,
            &format!("{spec_path}/tolerations/{t}"),
            problems,
        );
    }
    if let Some(dns) = str_of(spec.get("dnsPolicy"))
        && !matches!(
            dns,
            "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None"
        )
    {
        problems.push(
            &format!("{spec_path}/dnsPolicy"),
            "d20",
            format!("Unsupported value: {dns:?}"),
        );
    }
    for field in ["serviceAccountName", "priorityClassName", "subdomain"] {
        if let Some(name) = str_of(spec.get(field))
            && !name.is_empty()
            && !names::is_dns1123_subdomain(name)
        {
            problems.push(
                &format!("{spec_path}/{field}"),
                "d20",
                format!("Invalid value: {name:?}: must be a DNS-1123 subdomain"),
            );
        }
    }
    if let Some(hostname) = str_of(spec.get("hostname"))
        && !hostname.is_empty()
        && !names::is_dns1123_label(hostname)
    {
        problems.push(
            &format!("{spec_path}/hostname"),
            "d20",
            format!("Invalid value: {hostname:?}: must be a DNS-1123 label"),
        );
    }
    if int(spec.get("activeDeadlineSeconds")).is_some_and(|n| n <= 0) {
        problems.push(
            &format!("{spec_path}/activeDeadlineSeconds"),
            "d20",
            "must be greater than 0",
        );
    }
    if int(spec.get("terminationGracePeriodSeconds")).is_some_and(|n| n < 0) {
        problems.push(
            &format!("{spec_path}/terminationGracePeriodSeconds"),
            "d20",
            "must be greater than or equal to 0",
        );
    }
}

fn check_env(container: &Value, cpath: &str, problems: &mut Problems<'_>) {
    for (e, env) in array(container.get("env")).iter().enumerate() {
        let epath = format!("{cpath}/env/{e}");
        if let Some(name) = str_of(env.get("name"))
            && !names::is_env_var_name(name)
        {
            problems.push(
                &format!("{epath}/name"),
                "d20",
                format!("Invalid value: {name:?}: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"),
            );
        }
        let value_from = env.get("valueFrom").filter(|v| !v.is_null());
        if let Some(from) = value_from {
            if str_of(env.get("value")).is_some_and(|v| !v.is_empty()) {
                problems.push(
                    &epath,
                    "d20",
                    "Invalid value: may not be specified when `value` is not empty",
                );
            }
            let sources = from.as_object().map_or(0, serde_json::Map::len);
            if sources != 1 {
                problems.push(
                    &format!("{epath}/valueFrom"),
                    "d20",
                    "Invalid value: must specify exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef",
                );
            }
            for source in ["configMapKeyRef", "secretKeyRef"] {
                if let Some(reference) = from.get(source) {
                    if let Some(key) = str_of(reference.get("key"))
                        && !names::is_configmap_key(key)
                    {
                        problems.push(
                            &format!("{epath}/valueFrom/{source}/key"),
                            "d20",
                            format!("Invalid value: {key:?}: not a valid config key"),
                        );
                    }
                    if str_of(reference.get("name")).is_none_or(str::is_empty) {
                        problems.push(
                            &format!("{epath}/valueFrom/{source}/name"),
                            "d20",
                            "Required value: name",
                        );
                    }
                }
            }
        }
    }
    for (e, env_from) in array(container.get("envFrom")).iter().enumerate() {
        let sources = ["configMapRef", "secretRef"]
            .iter()
            .filter(|s| env_from.get(**s).is_some_and(|v| !v.is_null()))
            .count();
        if sources != 1 {
            problems.push(
                &format!("{cpath}/envFrom/{e}"),
                "d20",
                "Invalid value: must specify exactly one of configMapRef, secretRef",
            );
        }
    }
}

fn check_ports(container: &Value, cpath: &str, problems: &mut Problems<'_>) {
    let mut port_names: Vec<&str> = Vec::new();
    for (p, port) in array(container.get("ports")).iter().enumerate() {
        let ppath = format!("{cpath}/ports/{p}");
        if let Some(n) = int(port.get("containerPort"))
            && !(1..=65535).contains(&n)
        {
            problems.push(
                &format!("{ppath}/containerPort"),
                "d20",
                "Invalid value: must be between 1 and 65535, inclusive",
            );
        }
        if let Some(n) = int(port.get("hostPort"))
            && !(0..=65535).contains(&n)
        {
            problems.push(
                &format!("{ppath}/hostPort"),
                "d20",
                "Invalid value: must be between 1 and 65535, inclusive",
            );
        }
        if let Some(protocol) = str_of(port.get("protocol"))
            && !matches!(protocol, "TCP" | "UDP" | "SCTP")
        {
            problems.push(
                &format!("{ppath}/protocol"),
                "d20",
                format!(
                    "Unsupported value: {protocol:?}: supported values: \"SCTP\", \"TCP\", \"UDP\""
                ),
            );
        }
        if let Some(name) = str_of(port.get("name")) {
            if !names::is_iana_svc_name(name) {
                problems.push(
                    &format!("{ppath}/name"),
                    "d20",
                    format!("Invalid value: {name:?}: a port name must be an IANA service name (at most 15 lowercase alphanumerics or '-', with a letter)"),
                );
            }
            if port_names.contains(&name) {
                problems.push(
                    &format!("{ppath}/name"),
                    "d20",
                    format!("Duplicate value: port name {name:?}"),
                );
            }
            port_names.push(name);
        }
    }
}

/// Resource names, non-negative quantities, `requests <= limits`, and the
/// extended-resource rule (GPUs: whole numbers, limits required, requests
/// equal to limits) from `ValidateResourceRequirements`.
fn check_resources(resources: Option<&Value>, rpath: &str, problems: &mut Problems<'_>) {
    let Some(resources) = resources else {
        return;
    };
    let quantity = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => names::quantity_value(s),
        _ => None,
    };
    let limits = resources.get("limits").and_then(Value::as_object);
    let requests = resources.get("requests").and_then(Value::as_object);
    for (field, map) in [("limits", limits), ("requests", requests)] {
        for (name, value) in map.into_iter().flatten() {
            let qpath = format!("{rpath}/{field}/{}", pointer(name));
            let standard = matches!(name.as_str(), "cpu" | "memory" | "ephemeral-storage")
                || name.starts_with("hugepages-");
            let valid_name = if name.contains('/') {
                names::is_qualified_name(name)
            } else {
                standard
            };
            if !valid_name {
                problems.push(
                    &qpath,
                    "d20",
                    format!("Invalid value: {name:?}: must be a standard resource type (cpu, memory, ephemeral-storage, hugepages-*) or fully qualified (e.g. nvidia.com/gpu)"),
                );
            }
            let Some(amount) = quantity(value) else {
                continue;
            };
            if amount < 0.0 {
                problems.push(
                    &qpath,
                    "d20",
                    "Invalid value: must be greater than or equal to 0",
                );
            }
            // Extended resources: prefixed names outside kubernetes.io.
            let extended = name.contains('/')
                && !name.starts_with("kubernetes.io/")
                && !name.contains(".kubernetes.io/");
            if extended {
                if amount.fract() != 0.0 {
                    problems.push(
                        &qpath,
                        "d20",
                        format!("Invalid value: {value}: must be an integer"),
                    );
                }
                if field == "requests" {
                    match limits.and_then(|l| l.get(name)).and_then(quantity) {
                        None => problems.push(
                            &qpath,
                            "d20",
                            format!("Required value: Limit must be set for non overcommitable resources ({name})"),
                        ),
                        Some(limit) if limit != amount => problems.push(
                            &qpath,
                            "d20",
                            format!("Invalid value: {value}: must be equal to {name} limit"),
                        ),
                        Some(_) => {}
                    }
                }
            } else if field == "requests"
                && let Some(limit) = limits.and_then(|l| l.get(name)).and_then(quantity)
                && amount > limit
            {
                problems.push(
                    &qpath,
                    "d20",
                    format!("Invalid value: {value}: must be less than or equal to {name} limit"),
                );
            }
        }
    }
}

fn check_toleration(toleration: &Value, tpath: &str, problems: &mut Problems<'_>) {
    let key = str_of(toleration.get("key")).unwrap_or("");
    let operator = str_of(toleration.get("operator")).unwrap_or("");
    let value = str_of(toleration.get("value")).unwrap_or("");
    let effect = str_of(toleration.get("effect")).unwrap_or("");
    if !key.is_empty() && !names::is_qualified_name(key) {
        problems.push(
            &format!("{tpath}/key"),
            "d20",
            format!("Invalid value: {key:?}: not a label key"),
        );
    }
    if key.is_empty() && operator != "Exists" {
        problems.push(
            &format!("{tpath}/operator"),
            "d20",
            "Invalid value: operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        );
    }
    match operator {
        "" | "Equal" => {}
        "Exists" if !value.is_empty() => problems.push(
            &format!("{tpath}/operator"),
            "d20",
            "Invalid value: value must be empty when `operator` is 'Exists'",
        ),
        "Exists" => {}
        other => problems.push(
            &format!("{tpath}/operator"),
            "d20",
            format!("Unsupported value: {other:?}: supported values: \"Equal\", \"Exists\""),
        ),
    }
    if !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        problems.push(
            &format!("{tpath}/effect"),
            "d20",
            format!("Unsupported value: {effect:?}: supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""),
        );
    }
    if toleration
        .get("tolerationSeconds")
        .is_some_and(|v| !v.is_null())
        && effect != "NoExecute"
    {
        problems.push(
            &format!("{tpath}/effect"),
            "d20",
            "Invalid value: effect must be 'NoExecute' when `tolerationSeconds` is set",
        );
    }
}

/// Whether the job's pods get `hostname`/`subdomain` and a Service named after
/// the job (the svc plugin, declared or added by the mutating webhook).
pub(super) fn has_svc(spec: &Value) -> bool {
    effective_plugins(spec).iter().any(|p| p == "svc")
}

/// Rules that need the job's name: 12 and 13 (Volcano's qualified-name checks),
/// the object-name rule, the real pod names `<job>-<task>-<replicas-1>`, and
/// the Services the svc and ray plugins create (DNS-1035 labels).
///
/// `name_path` is where the name comes from: `/metadata/name` of a Job, or of
/// the JobTemplate a JobFlow instantiates as `<jobflow>-<flow>`.
pub(super) fn check_job_names(
    job: &str,
    spec: &Value,
    name_path: &str,
    base: &str,
    problems: &mut Problems<'_>,
) {
    // Rule 13.
    if !names::is_qualified_name(job) || job.contains('/') {
        problems.push(
            name_path,
            "d13",
            format!(
                "create job with name {job} validate failed: must be a qualified name of at most 63 characters (is {})",
                job.len()
            ),
        );
    }
    if !names::is_dns1123_subdomain(job) {
        problems.push(
            name_path,
            "job-name",
            format!("job name {job:?} must be a DNS-1123 subdomain"),
        );
    }
    let plugins = effective_plugins(spec);
    let svc = plugins.iter().any(|p| p == "svc");
    if svc && !names::is_dns1035_label(job) {
        problems.push(
            name_path,
            "job-name",
            format!(
                "job name {job:?} must be a DNS-1035 label (lowercase letter first, at most 63): the svc plugin creates a Service named after the job"
            ),
        );
    }
    if plugins.iter().any(|p| p == "ray") {
        let head = format!("{job}-head-svc");
        if !names::is_dns1035_label(&head) {
            problems.push(
                name_path,
                "job-name",
                format!("the ray plugin's Service {head:?} must be a DNS-1035 label of at most 63 characters"),
            );
        }
    }

    for task in tasks(spec) {
        let path = format!("{base}/tasks/{}", task.index);
        // Rule 12: the webhook uses the task's position, not a replica index.
        let webhook_pod = format!("{job}-{}-{}", task.name, task.index);
        if !names::is_qualified_name(&webhook_pod) || webhook_pod.contains('/') {
            problems.push(
                &format!("{path}/name"),
                "d12",
                format!(
                    "create pod with name {webhook_pod} validate failed: must be a qualified name of at most 63 characters (is {})",
                    webhook_pod.len()
                ),
            );
        }
        if task.replicas <= 0 {
            continue;
        }
        // (k8s) The last pod's real name is also its hostname with svc, and the
        // hostname kubelet sets without svc: a DNS-1123 label of at most 63.
        let last_pod = format!("{job}-{}-{}", task.name, task.replicas - 1);
        if !names::is_dns1123_label(&last_pod) {
            let why = if svc {
                "the svc plugin sets it as the pod's hostname"
            } else {
                "a pod name longer than 63 cannot be its hostname"
            };
            problems.push(
                &format!("{path}/replicas"),
                "pod-name",
                format!(
                    "pod name {last_pod:?} ({} characters) must be a DNS-1123 label of at most 63: {why}",
                    last_pod.len()
                ),
            );
        }
    }
}

/// Paths of `AbortJob` actions in a spec's policies (job and task level).
pub(super) fn abort_job_actions(spec: &Value, base: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut scan = |policies: Option<&Value>, path: String| {
        for (k, policy) in array(policies).iter().enumerate() {
            if str_of(policy.get("action")) == Some("AbortJob") {
                out.push(format!("{path}/{k}/action"));
            }
        }
    };
    scan(spec.get("policies"), format!("{base}/policies"));
    for (i, task) in array(spec.get("tasks")).iter().enumerate() {
        scan(task.get("policies"), format!("{base}/tasks/{i}/policies"));
    }
    out
}

/// ConfigMap keys that the pod templates of a spec need, for the
/// cross-object check against the ConfigMaps emitted beside it:
/// `(path, configmap name, key)` for every non-optional `configMap` volume
/// item and `configMapKeyRef`.
pub(super) fn configmap_references(spec: &Value, base: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (i, task) in array(spec.get("tasks")).iter().enumerate() {
        let tpath = format!("{base}/tasks/{i}/template/spec");
        let pod = task.get("template").and_then(|t| t.get("spec"));
        for (v, volume) in array(pod.and_then(|p| p.get("volumes"))).iter().enumerate() {
            let Some(cm) = volume.get("configMap") else {
                continue;
            };
            let (Some(name), false) = (
                str_of(cm.get("name")),
                cm.get("optional") == Some(&Value::Bool(true)),
            ) else {
                continue;
            };
            for (k, item) in array(cm.get("items")).iter().enumerate() {
                if let Some(key) = str_of(item.get("key")) {
                    out.push((
                        format!("{tpath}/volumes/{v}/configMap/items/{k}/key"),
                        name.to_owned(),
                        key.to_owned(),
                    ));
                }
            }
        }
        for (segment, container) in containers(task.get("template")) {
            for (e, env) in array(container.get("env")).iter().enumerate() {
                let Some(reference) = env.get("valueFrom").and_then(|f| f.get("configMapKeyRef"))
                else {
                    continue;
                };
                if reference.get("optional") == Some(&Value::Bool(true)) {
                    continue;
                }
                if let (Some(name), Some(key)) =
                    (str_of(reference.get("name")), str_of(reference.get("key")))
                {
                    out.push((
                        format!("{tpath}/{segment}/env/{e}/valueFrom/configMapKeyRef/key"),
                        name.to_owned(),
                        key.to_owned(),
                    ));
                }
            }
        }
    }
    out
}
