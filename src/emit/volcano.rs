//! The Volcano objects vcp emits, as typed serde structs (field names from
//! Volcano's CRDs, `tests/fixtures/volcano/crds/`), and their construction
//! from the IR. Pod templates are k8s-openapi types. Fields serialize in
//! declaration order; maps are `BTreeMap`, so the output is deterministic.

use crate::ir::{self, EnvValue, JobKind, Pipeline, Stage};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use std::collections::BTreeMap;

/// A Kubernetes object of vcp's typed model: a Job, JobTemplate or JobFlow.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Manifest<Spec> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: Spec,
}

pub type Job = Manifest<JobSpec>;
/// A JobTemplate's `spec` is a Job spec.
pub type JobTemplate = Manifest<JobSpec>;
pub type JobFlow = Manifest<JobFlowSpec>;

/// `spec` of a Job; also the whole `spec` of a JobTemplate.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub scheduler_name: &'static str,
    pub queue: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    pub min_available: u32,
    /// Set when the workers are not a gang: the job is Completed once this
    /// many pods succeeded (every worker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_success: Option<u32>,
    pub max_retry: u32,
    /// None under `gitops`: the controller would recreate a deleted run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<u32>,
    pub plugins: BTreeMap<&'static str, Vec<String>>,
    pub policies: Vec<LifecyclePolicy>,
    pub tasks: Vec<TaskSpec>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct LifecyclePolicy {
    pub event: &'static str,
    pub action: &'static str,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TaskSpec {
    pub name: &'static str,
    pub replicas: u32,
    pub min_available: u32,
    pub max_retry: u32,
    pub template: core::PodTemplateSpec,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct JobFlowSpec {
    /// `retain` keeps finished jobs (and their pods' logs) until their own
    /// `ttlSecondsAfterFinished`.
    pub job_retain_policy: &'static str,
    pub flows: Vec<Flow>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<DependsOn>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DependsOn {
    pub targets: Vec<String>,
}

pub const MANAGED_BY: &str = "vcp";
pub const SOURCE_ANNOTATION: &str = "vcp.dev/source";
/// A hash of everything a job runs (its spec and scripts), so that a changed
/// stage shows in `kubectl get -L vcp.dev/spec-hash`, and a GitOps tool sees a
/// changed JobFlow when only a template or a script changed.
pub const HASH_LABEL: &str = "vcp.dev/spec-hash";
/// Written first, replaced once the YAML exists and can be hashed. Same
/// shape as a real hash (`h` + 12 hex digits), so that the YAML writer
/// treats both alike: a plain scalar.
pub const HASH_PLACEHOLDER: &str = ir::HASH_PLACEHOLDER;

/// The labels of every object of a pipeline; `name` and `component` describe
/// the object itself.
fn labels(
    pipeline: &Pipeline,
    name: &str,
    component: Option<&str>,
    user: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = user.clone();
    labels.insert("app.kubernetes.io/name".into(), name.into());
    labels.insert("app.kubernetes.io/part-of".into(), pipeline.name.clone());
    labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
    if let Some(c) = component {
        labels.insert("app.kubernetes.io/component".into(), c.into());
    }
    labels
}

fn annotations(
    pipeline: &Pipeline,
    line: usize,
    user: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut annotations = user.clone();
    annotations.insert(
        SOURCE_ANNOTATION.into(),
        format!("{}:{line}", pipeline.source),
    );
    annotations
}

/// Jobs cannot be changed once created (Volcano's webhook rejects every
/// spec change), so GitOps tools must delete and recreate them: Argo CD with
/// `Force=true,Replace=true`, Flux with its force annotation. Opt-in, since
/// recreating a job restarts its work.
fn replace_annotations(pipeline: &Pipeline, annotations: &mut BTreeMap<String, String>) {
    if pipeline.replace_on_change {
        annotations.insert(
            "argocd.argoproj.io/sync-options".into(),
            "Force=true,Replace=true".into(),
        );
        annotations.insert("kustomize.toolkit.fluxcd.io/force".into(), "enabled".into());
    }
}
/// Under Argo CD, the object that starts a run (the JobFlow, or the one
/// Job) goes in sync wave 1, after the ConfigMaps and JobTemplates it uses
/// (wave 0), so that it never starts before them.
fn gitops_annotations(pipeline: &Pipeline, annotations: &mut BTreeMap<String, String>) {
    if pipeline.gitops == ir::GitOps::ArgoCd {
        annotations.insert("argocd.argoproj.io/sync-wave".into(), "1".into());
    }
}

/// The labels of an object that runs work: with the spec hash.
fn hashed(mut labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels.insert(HASH_LABEL.into(), HASH_PLACEHOLDER.into());
    labels
}

fn meta(
    name: String,
    pipeline: &Pipeline,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(pipeline.namespace.clone()),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

/// The spec of the Volcano job that runs one job of a stage.
pub fn job_spec(pipeline: &Pipeline, stage: &Stage, kind: JobKind) -> JobSpec {
    let replicas = kind.replicas(stage);
    // A pod that fails has already used its retries inside the wrapper, so
    // the stage fails at once (TerminateJob: a terminated job is final, and a
    // JobFlow counts it as failed; an aborted one would leave the flow
    // waiting). An evicted pod restarts the job, at most max_retry times.
    let max_retry = stage.retries.max(1);
    let mut plugins = BTreeMap::new();
    plugins.insert("env", Vec::new());
    let gang = kind == JobKind::Work && stage.needs_all_workers();
    if gang {
        plugins.insert("svc", Vec::new());
    }
    // A gang starts once all its pods fit (minAvailable = replicas). Other
    // workers start one by one as capacity frees (minAvailable 1), and
    // minSuccess keeps the job from completing before every one of them
    // succeeded (Volcano's pkg/controllers/job/state/running.go: Completed
    // when succeeded >= minSuccess; a failed pod still terminates the job
    // through the PodFailed policy below).
    let (min_available, min_success) = match kind {
        JobKind::Work if !gang => (1, Some(replicas)),
        _ => (replicas, None),
    };
    JobSpec {
        scheduler_name: "volcano",
        queue: pipeline.queue.clone(),
        priority_class_name: pipeline.priority_class.clone(),
        min_available,
        min_success,
        max_retry,
        ttl_seconds_after_finished: (!pipeline.gitops.is_on())
            .then(|| u32::try_from(stage.ttl).unwrap_or(u32::MAX)),
        plugins,
        policies: vec![
            LifecyclePolicy {
                event: "PodFailed",
                action: "TerminateJob",
            },
            LifecyclePolicy {
                event: "PodEvicted",
                action: "RestartJob",
            },
        ],
        tasks: vec![TaskSpec {
            name: kind.task(),
            replicas,
            min_available,
            max_retry,
            template: pod_template(pipeline, stage, kind),
        }],
    }
}

fn pod_template(pipeline: &Pipeline, stage: &Stage, kind: JobKind) -> core::PodTemplateSpec {
    let mut mounts = vec![core::VolumeMount {
        name: "vcp-scripts".into(),
        mount_path: ir::SCRIPTS_MOUNT.into(),
        read_only: Some(true),
        ..core::VolumeMount::default()
    }];
    // The shared library and the stage's scripts, side by side in /vcp.
    let projection = |name: String| core::VolumeProjection {
        config_map: Some(core::ConfigMapProjection {
            name,
            ..core::ConfigMapProjection::default()
        }),
        ..core::VolumeProjection::default()
    };
    let mut volumes = vec![core::Volume {
        name: "vcp-scripts".into(),
        projected: Some(core::ProjectedVolumeSource {
            sources: Some(vec![
                projection(pipeline.lib_config_map()),
                projection(pipeline.stage_config_map(stage)),
            ]),
            ..core::ProjectedVolumeSource::default()
        }),
        ..core::Volume::default()
    }];
    for v in &pipeline.volumes {
        mounts.push(core::VolumeMount {
            name: v.name.clone(),
            mount_path: v.mount.clone(),
            read_only: v.read_only.then_some(true),
            ..core::VolumeMount::default()
        });
        volumes.push(core::Volume {
            name: v.name.clone(),
            persistent_volume_claim: Some(core::PersistentVolumeClaimVolumeSource {
                claim_name: v.claim.clone(),
                read_only: v.read_only.then_some(true),
            }),
            ..core::Volume::default()
        });
    }
    // The reduce step has its own image, env, resources and placement.
    let (image, own_env, resources_of, node_selector, tolerations) = match (kind, &stage.reduce) {
        (JobKind::Reduce, Some(r)) => (
            &r.image,
            &r.env,
            &r.resources,
            &r.node_selector,
            &r.tolerations,
        ),
        _ => (
            &stage.image,
            &stage.env,
            &stage.resources,
            &stage.node_selector,
            &stage.tolerations,
        ),
    };
    let mut env: Vec<core::EnvVar> = Vec::new();
    if kind == JobKind::Work && !stage.needs_all_workers() {
        // Without the svc plugin nothing sets the worker count; code written
        // for Volcano (cube-studio's) reads it, and so does the wrapper.
        env.push(core::EnvVar {
            name: "VC_WORKER_NUM".into(),
            value: Some(stage.workers.to_string()),
            value_from: None,
        });
    }
    if super::records::needs_run_key(stage) {
        // The build's hash, filled in once it is known (emit/layout.rs).
        env.push(core::EnvVar {
            name: super::records::RUN_KEY_VAR.into(),
            value: Some(super::records::RUN_KEY_PLACEHOLDER.into()),
            value_from: None,
        });
    }
    env.extend(own_env.iter().map(env_var));
    let container = core::Container {
        name: kind.task().into(),
        image: Some(image.clone()),
        command: Some(vec![
            "sh".into(),
            format!("{}/{}", ir::SCRIPTS_MOUNT, ir::script_name(stage, kind)),
        ]),
        working_dir: stage.working_dir.clone(),
        env: (!env.is_empty()).then_some(env),
        resources: resources(resources_of),
        volume_mounts: Some(mounts),
        ..core::Container::default()
    };
    let tolerations: Vec<core::Toleration> = tolerations
        .iter()
        .map(|t| core::Toleration {
            key: t.key.clone(),
            operator: t.operator.clone(),
            value: t.value.clone(),
            effect: t.effect.clone(),
            toleration_seconds: t.toleration_seconds,
        })
        .collect();
    let component = kind.task();
    core::PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(hashed(labels(
                pipeline,
                &stage.name,
                Some(component),
                &stage.labels,
            ))),
            annotations: (!stage.annotations.is_empty()).then(|| stage.annotations.clone()),
            ..ObjectMeta::default()
        }),
        spec: Some(core::PodSpec {
            restart_policy: Some("Never".into()),
            service_account_name: pipeline.service_account.clone(),
            active_deadline_seconds: stage.timeout.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
            node_selector: (!node_selector.is_empty()).then(|| node_selector.clone()),
            tolerations: (!tolerations.is_empty()).then_some(tolerations),
            containers: vec![container],
            volumes: Some(volumes),
            ..core::PodSpec::default()
        }),
    }
}

fn env_var(e: &ir::EnvVar) -> core::EnvVar {
    match &e.value {
        EnvValue::Literal(v) => core::EnvVar {
            name: e.name.clone(),
            value: Some(kubelet_literal(v)),
            value_from: None,
        },
        EnvValue::Secret { name, key } => core::EnvVar {
            name: e.name.clone(),
            value: None,
            value_from: Some(core::EnvVarSource {
                secret_key_ref: Some(core::SecretKeySelector {
                    name: name.clone(),
                    key: key.clone(),
                    optional: None,
                }),
                ..core::EnvVarSource::default()
            }),
        },
        EnvValue::ConfigMap { name, key } => core::EnvVar {
            name: e.name.clone(),
            value: None,
            value_from: Some(core::EnvVarSource {
                config_map_key_ref: Some(core::ConfigMapKeySelector {
                    name: name.clone(),
                    key: key.clone(),
                    optional: None,
                }),
                ..core::EnvVarSource::default()
            }),
        },
    }
}

/// `value` as the kubelet must read it to give the container `value`: the
/// kubelet expands `$(NAME)` of an earlier variable and turns `$$` into `$`
/// in env values (k8s.io/kubernetes `third_party/forked/golang/expansion`),
/// so every `$` is written `$$` and nothing is expanded.
pub fn kubelet_literal(value: &str) -> String {
    value.replace('$', "$$")
}

/// Requests equal limits: predictable placement, and the only form
/// Kubernetes accepts for GPUs.
fn resources(r: &ir::Resources) -> Option<core::ResourceRequirements> {
    let mut amounts = BTreeMap::new();
    if let Some(cpu) = &r.cpu {
        amounts.insert("cpu".to_string(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &r.memory {
        amounts.insert("memory".to_string(), Quantity(memory.clone()));
    }
    if let Some(storage) = &r.ephemeral_storage {
        amounts.insert("ephemeral-storage".to_string(), Quantity(storage.clone()));
    }
    if r.gpu > 0 {
        amounts.insert(r.gpu_resource.clone(), Quantity(r.gpu.to_string()));
    }
    if amounts.is_empty() {
        return None;
    }
    Some(core::ResourceRequirements {
        limits: Some(amounts.clone()),
        requests: Some(amounts),
        ..core::ResourceRequirements::default()
    })
}

/// A plain Volcano Job (single-job pipelines).
pub fn job(pipeline: &Pipeline, stage: &Stage, kind: JobKind) -> Job {
    let mut annotations = annotations(pipeline, stage.line, &stage.annotations);
    replace_annotations(pipeline, &mut annotations);
    gitops_annotations(pipeline, &mut annotations);
    Manifest {
        api_version: "batch.volcano.sh/v1alpha1",
        kind: "Job",
        metadata: meta(
            pipeline.job_name(stage, kind),
            pipeline,
            hashed(labels(
                pipeline,
                &stage.name,
                Some(kind.task()),
                &stage.labels,
            )),
            annotations,
        ),
        spec: job_spec(pipeline, stage, kind),
    }
}

pub fn job_template(pipeline: &Pipeline, stage: &Stage, kind: JobKind) -> JobTemplate {
    Manifest {
        api_version: "flow.volcano.sh/v1alpha1",
        kind: "JobTemplate",
        metadata: meta(
            pipeline.template_name(stage, kind),
            pipeline,
            hashed(labels(
                pipeline,
                &stage.name,
                Some(kind.task()),
                &stage.labels,
            )),
            annotations(pipeline, stage.line, &stage.annotations),
        ),
        spec: job_spec(pipeline, stage, kind),
    }
}

/// The JobFlow that starts each job once the jobs it depends on completed.
pub fn job_flow(pipeline: &Pipeline) -> JobFlow {
    let mut flows = Vec::new();
    let by_name = pipeline.stages_by_name();
    for job in pipeline.jobs() {
        let targets: Vec<String> = match job.kind {
            JobKind::Reduce => vec![pipeline.template_name(job.stage, JobKind::Work)],
            JobKind::Work => job
                .stage
                .after
                .iter()
                .filter_map(|name| by_name.get(name.as_str()))
                .map(|dep| {
                    // A stage with a reduce step is complete once its reduce is.
                    let last = if dep.reduce.is_some() {
                        JobKind::Reduce
                    } else {
                        JobKind::Work
                    };
                    pipeline.template_name(dep, last)
                })
                .collect(),
        };
        flows.push(Flow {
            name: pipeline.template_name(job.stage, job.kind),
            depends_on: (!targets.is_empty()).then_some(DependsOn { targets }),
        });
    }
    let mut annotations = annotations(pipeline, pipeline.line, &pipeline.annotations);
    replace_annotations(pipeline, &mut annotations);
    gitops_annotations(pipeline, &mut annotations);
    Manifest {
        api_version: "flow.volcano.sh/v1alpha1",
        kind: "JobFlow",
        metadata: meta(
            pipeline.flow_name(),
            pipeline,
            hashed(labels(pipeline, &pipeline.name, None, &pipeline.labels)),
            annotations,
        ),
        spec: JobFlowSpec {
            job_retain_policy: "retain",
            flows,
        },
    }
}

/// A ConfigMap carrying wrapper scripts: `component` is `scripts` for the
/// shared library, the stage name otherwise.
pub fn scripts_config_map(
    pipeline: &Pipeline,
    name: String,
    line: usize,
    scripts: BTreeMap<String, String>,
) -> core::ConfigMap {
    core::ConfigMap {
        metadata: meta(
            name,
            pipeline,
            labels(pipeline, &pipeline.name, Some("scripts"), &pipeline.labels),
            annotations(pipeline, line, &BTreeMap::new()),
        ),
        data: Some(scripts),
        ..core::ConfigMap::default()
    }
}
