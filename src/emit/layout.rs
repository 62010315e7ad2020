//! Which files a build is made of and where they go: per pipeline a folder
//! with its ConfigMaps, jobs (or JobTemplates and a JobFlow), scripts and
//! kustomization, and one kustomization over every pipeline.

use super::hash::{SEED, fingerprint, hash_spec, label_value, with_hash};
use super::kustomize::{self, Kustomization};
use super::output::{Output, Text, header};
use super::records::with_run_key;
use super::volcano;
use super::{script, yaml};
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, Build, JobKind, Pipeline};
use std::collections::BTreeMap;

/// Kubernetes rejects a ConfigMap whose keys and values add up to more.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;

/// What a build keeps of its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Every file of the output directory.
    Everything,
    /// The manifests (`vcp build -o -`): the wrapper scripts are in their
    /// ConfigMaps, and their plain files are dropped as soon as each stage
    /// is rendered (a third of the output at N = 10,000).
    Manifests,
    /// Nothing: only the problems (E0506) are wanted (`vcp check`, `vcp
    /// graph`, `vcp shards`, the language server). Only the scripts are
    /// rendered, each stage's dropped once measured: at N = 10,000 the
    /// manifests alone were 40 MB held for nothing.
    Problems,
}

/// Every file of the build. Fails (E0506) only when a stage's scripts do not
/// fit the ConfigMap that carries them: their size is known only here.
pub fn emit(build: &Build) -> Result<Output, Vec<Diagnostic>> {
    emit_keeping(build, Keep::Everything)
}

/// [`emit`], keeping only what `keep` asks for.
pub fn emit_keeping(build: &Build, keep: Keep) -> Result<Output, Vec<Diagnostic>> {
    let mut files = BTreeMap::new();
    let mut diags = Vec::new();
    if keep == Keep::Problems {
        for pipeline in &build.pipelines {
            let problems = crate::par::map(&pipeline.stages, |stage| {
                let scripts = stage_scripts(pipeline, stage);
                too_large(stage, &scripts)
            });
            diags.extend(problems.into_iter().flatten());
        }
        return if diags.is_empty() {
            Ok(Output { files })
        } else {
            Err(diags)
        };
    }
    for pipeline in &build.pipelines {
        let folder = format!("{}/", pipeline.name);
        diags.extend(pipeline_output(pipeline, &folder, keep, &mut files));
    }
    // One kustomization over every pipeline: `kubectl apply -k DIR`, or a
    // GitOps tool pointed at DIR, deploys the whole build.
    if !build.pipelines.is_empty() {
        let mut sources: Vec<&str> = build.pipelines.iter().map(|p| p.source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        let folders = build.pipelines.iter().map(|p| p.name.clone()).collect();
        files.insert(
            "kustomization.yaml".into(),
            yaml::document(&header(&sources.join(", ")), &Kustomization::new(folders)).into(),
        );
    }
    if diags.is_empty() {
        Ok(Output { files })
    } else {
        Err(diags)
    }
}

/// The files of one pipeline, relative to its folder.
pub fn pipeline_files(pipeline: &Pipeline) -> BTreeMap<String, Text> {
    let mut files = BTreeMap::new();
    pipeline_output(pipeline, "", Keep::Everything, &mut files);
    files
}

/// Adds the files of one pipeline to `files`, under `folder` (empty, or
/// ending in `/`), and returns the E0506 problems of its ConfigMaps. The
/// numeric prefixes make `kubectl apply -f` create the scripts first and the
/// JobFlow last.
fn pipeline_output(
    pipeline: &Pipeline,
    folder: &str,
    keep: Keep,
    files: &mut BTreeMap<String, Text>,
) -> Vec<Diagnostic> {
    let header = header(&pipeline.source);
    let mut diags = Vec::new();
    // The pipeline's kustomization lists its manifests.
    let mut resources = vec!["00-configmaps.yaml".to_string()];
    let lib = script::render_lib(pipeline);
    let lib_hash = fingerprint(lib.as_bytes(), SEED);
    let lib_config_map = yaml::document(
        "",
        &volcano::scripts_config_map(
            pipeline,
            pipeline.lib_config_map(),
            pipeline.line,
            BTreeMap::from([(script::LIB_NAME.to_string(), lib.clone())]),
        ),
    );
    if keep == Keep::Everything {
        files.insert(format!("{folder}scripts/{}", script::LIB_NAME), lib.into());
    }

    // Stages render independently (their scripts, ConfigMap and jobs):
    // spread them over the cores, then put the results back in order.
    let flow = pipeline.is_flow();
    let stages = crate::par::map(&pipeline.stages, |stage| {
        render_stage(pipeline, stage, &header, lib_hash, flow, keep)
    });

    // One file for every ConfigMap: the documents as they are, one after
    // the other.
    let mut config_maps = Text::from(header.clone() + &lib_config_map);
    drop(lib_config_map);
    let mut flow_hash = SEED;
    let mut jobs = Vec::new();
    for stage in stages {
        diags.extend(stage.problem);
        config_maps.push(stage.config_map);
        for (path, text) in stage.scripts {
            files.insert(format!("{folder}scripts/{path}"), text.into());
        }
        for (path, text, hash) in stage.jobs {
            flow_hash = fingerprint(&hash.to_le_bytes(), flow_hash);
            jobs.push((path, text, hash));
        }
    }
    files.insert(format!("{folder}00-configmaps.yaml"), config_maps);
    // The run key of checkpoints: the spec hash of the whole build, the
    // JobFlow's (which covers every job), or the one Job's.
    let mut run_key = jobs.first().map(|(_, _, hash)| label_value(*hash));
    if flow {
        let text = yaml::document(&header, &volcano::job_flow(pipeline));
        let hash = hash_spec(&text, flow_hash);
        run_key = Some(label_value(hash));
        files.insert(
            format!("{folder}20-jobflow.yaml"),
            with_hash(text, hash).into(),
        );
        resources.push("20-jobflow.yaml".into());
    }
    let needs_key = pipeline.stages.iter().any(super::records::needs_run_key);
    for (path, mut text, _) in jobs {
        if let (true, Some(key)) = (needs_key, &run_key) {
            text = with_run_key(text, key);
        }
        files.insert(format!("{folder}{path}"), text.into());
        resources.push(path);
    }
    resources.sort_unstable();
    files.insert(
        format!("{folder}kustomization.yaml"),
        yaml::document(&header, &Kustomization::with_config(resources)).into(),
    );
    // Where the objects name each other, for overlays that rename them.
    files.insert(
        format!("{folder}{}", kustomize::CONFIG_FILE),
        yaml::document(&header, &kustomize::transformer_config()).into(),
    );
    diags
}

/// What one stage contributes to its pipeline's files.
struct StageOutput {
    /// Its wrapper scripts, by file name.
    scripts: BTreeMap<String, String>,
    /// Its ConfigMap, as a YAML document after a `---` line.
    config_map: String,
    /// (path, text, hash) of its JobTemplates (or its Job).
    jobs: Vec<(String, String, u64)>,
    problem: Option<Diagnostic>,
}

fn render_stage(
    pipeline: &Pipeline,
    stage: &ir::Stage,
    header: &str,
    lib_hash: u64,
    flow: bool,
    keep: Keep,
) -> StageOutput {
    let scripts = stage_scripts(pipeline, stage);
    let mut jobs = Vec::new();
    for (kind, (_, script)) in [JobKind::Work, JobKind::Reduce].into_iter().zip(&scripts) {
        // A job's hash covers its YAML and the scripts it runs.
        let seed = fingerprint(
            &fingerprint(script.as_bytes(), SEED).to_le_bytes(),
            lib_hash,
        );
        let (path, text) = if flow {
            let name = pipeline.template_name(stage, kind);
            let suffix = name
                .strip_prefix(&format!("{}-", pipeline.name))
                .unwrap_or(&name);
            (
                format!("10-jobtemplate-{suffix}.yaml"),
                yaml::document(header, &volcano::job_template(pipeline, stage, kind)),
            )
        } else {
            (
                format!("10-job-{}.yaml", stage.name),
                yaml::document(header, &volcano::job(pipeline, stage, kind)),
            )
        };
        let hash = hash_spec(&text, seed);
        jobs.push((path, with_hash(text, hash), hash));
    }
    let problem = too_large(stage, &scripts);
    // The scripts go into the ConfigMap and come back out once it is
    // written: they are kept as files too, and need not be copied.
    let mut config_map = volcano::scripts_config_map(
        pipeline,
        pipeline.stage_config_map(stage),
        stage.line,
        scripts.into_iter().collect(),
    );
    // Its document follows others in the pipeline's ConfigMap file.
    let text = yaml::document("---\n", &config_map);
    let scripts = match keep {
        Keep::Everything => config_map.data.take().unwrap_or_default(),
        Keep::Manifests | Keep::Problems => BTreeMap::new(),
    };
    StageOutput {
        scripts,
        config_map: text,
        jobs,
        problem,
    }
}

/// A stage's wrapper scripts by file name: its workers', then its reduce
/// step's if it has one.
fn stage_scripts(pipeline: &Pipeline, stage: &ir::Stage) -> Vec<(String, String)> {
    let mut scripts = vec![(
        ir::script_name(stage, JobKind::Work),
        script::render(pipeline, stage, JobKind::Work),
    )];
    if stage.reduce.is_some() {
        scripts.push((
            ir::script_name(stage, JobKind::Reduce),
            script::render(pipeline, stage, JobKind::Reduce),
        ));
    }
    scripts
}

/// E0506 when a stage's scripts do not fit the ConfigMap that carries them.
fn too_large(stage: &ir::Stage, scripts: &[(String, String)]) -> Option<Diagnostic> {
    let size: usize = scripts.iter().map(|(k, v)| k.len() + v.len()).sum();
    (size > CONFIG_MAP_LIMIT).then(|| {
    Diagnostic::error(
        Code::ScriptsTooLarge,
        stage.span,
        format!(
            "the scripts of stage `{}` take {size} bytes; the ConfigMap that carries them holds at most {CONFIG_MAP_LIMIT}",
            stage.name
        ),
    )
    .with_label("this stage's scripts")
    .with_help("a long literal item list is the usual cause: put the items in a file on a volume and use `lines(path)`")
    })
}
