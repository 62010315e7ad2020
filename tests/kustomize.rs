//! Overlays keep references: every example is built into a base folder, and
//! real `kubectl kustomize` renders overlays over it with each transformer
//! GitOps repositories use (namePrefix, nameSuffix, namespace, labels, a
//! secretGenerator). In the result every name reference must resolve: a
//! JobFlow's flows to JobTemplates, its `dependsOn` targets to its flows,
//! the projected script ConfigMaps to ConfigMaps, all in one namespace; and
//! the independent validator (tests/validate/) must accept it.

use crate::common;
use crate::validate;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use vcp::check::Options;

/// Every example, built into `<dir>/base` as `vcp build` writes it.
fn build_base(dir: &Path) {
    let roots: Vec<String> = common::examples()
        .iter()
        .map(|e| {
            let name = e.file_name().expect("named").to_string_lossy();
            format!("examples/{name}/pipeline.vcp")
        })
        .collect();
    for (path, text) in common::compile_ok(&roots, &Options::default()) {
        let file = dir.join("base").join(path);
        std::fs::create_dir_all(file.parent().expect("in a folder")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }
}

/// `kubectl kustomize <dir>/overlay` over the base, with `fields` added to
/// the overlay's kustomization: what it prints.
fn render(dir: &Path, fields: &str) -> String {
    let overlay = dir.join("overlay");
    std::fs::create_dir_all(&overlay).expect("mkdir");
    std::fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../base\n{fields}"
        ),
    )
    .expect("write overlay");
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&overlay)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl kustomize failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The documents of [`render`], which the independent validator accepts
/// (all but the Secrets an overlay generates: not a kind it knows).
fn kustomize(dir: &Path, fields: &str) -> Vec<Value> {
    let text = render(dir, fields);
    let manifests: Vec<&str> = text
        .split("\n---\n")
        .filter(|doc| !doc.contains("\nkind: Secret\n"))
        .collect();
    let problems = validate::check_files(&[("kustomized.yaml".into(), manifests.join("\n---\n"))]);
    assert!(problems.is_empty(), "validator:\n{}", problems.join("\n"));
    serde_saphyr::from_multiple::<Value>(&text).expect("kustomize prints YAML")
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().into_iter().flatten().map(text).collect()
}

/// (kind, namespace, name) of every object.
fn objects(docs: &[Value]) -> BTreeSet<(String, String, String)> {
    docs.iter()
        .map(|d| {
            (
                text(&d["kind"]).to_owned(),
                text(&d["metadata"]["namespace"]).to_owned(),
                text(&d["metadata"]["name"]).to_owned(),
            )
        })
        .collect()
}

/// The pod templates of a Job or JobTemplate.
fn pod_templates(doc: &Value) -> Vec<&Value> {
    doc["spec"]["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|task| &task["template"])
        .collect()
}

/// Every name reference in `docs`, checked to resolve; returns the names
/// of the references to objects outside the build (Secrets, claims, ...),
/// which must keep the name the pipeline wrote.
fn assert_references_resolve(docs: &[Value]) -> BTreeSet<String> {
    let all = objects(docs);
    let has =
        |kind: &str, ns: &str, name: &str| all.contains(&(kind.into(), ns.into(), name.into()));
    let mut outside = BTreeSet::new();
    let mut flows_seen = 0;
    for doc in docs {
        let kind = text(&doc["kind"]);
        let ns = text(&doc["metadata"]["namespace"]);
        let name = text(&doc["metadata"]["name"]);
        if kind == "JobFlow" {
            let flows: Vec<&Value> = doc["spec"]["flows"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            let names: BTreeSet<&str> = flows.iter().map(|f| text(&f["name"])).collect();
            for flow in &flows {
                let flow_name = text(&flow["name"]);
                assert!(
                    has("JobTemplate", ns, flow_name),
                    "JobFlow {ns}/{name}: flow {flow_name} names no JobTemplate in {ns}"
                );
                flows_seen += 1;
                for target in strings(&flow["dependsOn"]["targets"]) {
                    assert!(
                        names.contains(target),
                        "JobFlow {ns}/{name}: target {target} is not one of its flows"
                    );
                }
            }
        }
        if kind == "Job" || kind == "JobTemplate" {
            for template in pod_templates(doc) {
                let spec = &template["spec"];
                for volume in spec["volumes"].as_array().into_iter().flatten() {
                    for source in volume["projected"]["sources"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        let cm = text(&source["configMap"]["name"]);
                        assert!(
                            has("ConfigMap", ns, cm),
                            "{kind} {ns}/{name}: projected ConfigMap {cm} is not in {ns}"
                        );
                    }
                    let claim = text(&volume["persistentVolumeClaim"]["claimName"]);
                    if !claim.is_empty() {
                        outside.insert(format!("claim {claim}"));
                    }
                }
                for container in spec["containers"].as_array().into_iter().flatten() {
                    for env in container["env"].as_array().into_iter().flatten() {
                        let secret = text(&env["valueFrom"]["secretKeyRef"]["name"]);
                        if !secret.is_empty() {
                            outside.insert(format!("secret {secret}"));
                        }
                        let cm = text(&env["valueFrom"]["configMapKeyRef"]["name"]);
                        if !cm.is_empty() {
                            outside.insert(format!("configmap {cm}"));
                        }
                    }
                }
            }
        }
    }
    assert!(
        flows_seen > 0,
        "the examples hold no JobFlow: the test checks nothing"
    );
    outside
}

/// The references to objects vcp does not generate, as the base has them.
fn base_outside(dir: &Path) -> BTreeSet<String> {
    assert_references_resolve(&kustomize(dir, ""))
}

fn scratch() -> Option<tempfile::TempDir> {
    if !common::require_tool("kubectl") {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    build_base(dir.path());
    Some(dir)
}

#[test]
fn each_transformer_keeps_every_reference() {
    let Some(dir) = scratch() else { return };
    let outside = base_outside(dir.path());
    assert!(
        !outside.is_empty(),
        "the examples reference no Secret or claim"
    );
    let base_names: BTreeSet<String> = objects(&kustomize(dir.path(), ""))
        .into_iter()
        .map(|(_, _, name)| name)
        .collect();
    for (fields, rename) in [
        ("namePrefix: dev-\n", ("dev-", "")),
        ("nameSuffix: -canary\n", ("", "-canary")),
        ("namespace: staging\n", ("", "")),
        (
            "namePrefix: prod-\nnameSuffix: -b\nnamespace: batch-prod\n",
            ("prod-", "-b"),
        ),
    ] {
        let docs = kustomize(dir.path(), fields);
        // Every object was renamed as asked, and is still there.
        let names: BTreeSet<String> = objects(&docs).into_iter().map(|(_, _, n)| n).collect();
        let expected: BTreeSet<String> = base_names
            .iter()
            .map(|n| format!("{}{n}{}", rename.0, rename.1))
            .collect();
        assert_eq!(names, expected, "overlay {fields:?}");
        if let Some(ns) = fields.lines().find_map(|l| l.strip_prefix("namespace: ")) {
            for doc in &docs {
                assert_eq!(
                    text(&doc["metadata"]["namespace"]),
                    ns,
                    "overlay {fields:?}"
                );
            }
        }
        // Objects outside the build keep the names the pipelines wrote.
        assert_eq!(
            assert_references_resolve(&docs),
            outside,
            "overlay {fields:?}"
        );
    }
}

#[test]
fn overlay_labels_and_annotations_reach_the_pods() {
    let Some(dir) = scratch() else { return };
    let docs = kustomize(
        dir.path(),
        "labels:\n- pairs:\n    env: dev\n  includeTemplates: true\ncommonAnnotations:\n  team.example.com/oncall: batch\n",
    );
    let mut pods = 0;
    for doc in &docs {
        assert_eq!(text(&doc["metadata"]["labels"]["env"]), "dev");
        for template in pod_templates(doc) {
            pods += 1;
            assert_eq!(text(&template["metadata"]["labels"]["env"]), "dev");
            assert_eq!(
                text(&template["metadata"]["annotations"]["team.example.com/oncall"]),
                "batch"
            );
        }
    }
    assert!(pods > 0);
    assert_references_resolve(&docs);
}

#[test]
fn a_generated_secret_in_the_overlay_is_referenced_by_its_new_name() {
    let Some(dir) = scratch() else { return };
    // examples/etl reads `secret("warehouse-credentials", "password")`: an
    // overlay that generates that Secret renames it (prefix and content
    // hash), and the pods must follow.
    let docs = kustomize(
        dir.path(),
        "namePrefix: dev-\nsecretGenerator:\n- name: warehouse-credentials\n  namespace: data\n  literals:\n  - password=hunter2\n",
    );
    let secret = docs
        .iter()
        .find(|d| text(&d["kind"]) == "Secret")
        .map(|d| text(&d["metadata"]["name"]).to_owned())
        .expect("the overlay generates a Secret");
    assert!(secret.starts_with("dev-warehouse-credentials-"), "{secret}");
    let outside = assert_references_resolve(&docs);
    assert!(outside.contains(&format!("secret {secret}")), "{outside:?}");
    assert!(
        !outside.contains("secret warehouse-credentials"),
        "{outside:?}"
    );
}

#[test]
fn without_the_configuration_kustomize_breaks_the_references() {
    // The control: the configuration file is what keeps the references, so
    // taking it out of a base must break them (else the tests above would
    // pass on kustomize's defaults alone and prove nothing).
    let Some(dir) = scratch() else { return };
    let mut stripped = 0;
    for entry in std::fs::read_dir(dir.path().join("base")).expect("base") {
        let file = entry.expect("entry").path().join("kustomization.yaml");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let without: String = text.replace("configurations:\n- kustomizeconfig.yaml\n", "");
        if without != text {
            stripped += 1;
            std::fs::write(&file, without).expect("write");
        }
    }
    assert_eq!(stripped, common::examples().len());
    let docs = serde_saphyr::from_multiple::<Value>(&render(dir.path(), "namePrefix: dev-\n"))
        .expect("YAML");
    let flows: Vec<&str> = docs
        .iter()
        .filter(|d| text(&d["kind"]) == "JobFlow")
        .flat_map(|d| d["spec"]["flows"].as_array().into_iter().flatten())
        .map(|f| text(&f["name"]))
        .collect();
    assert!(!flows.is_empty());
    assert!(
        flows.iter().all(|f| !f.starts_with("dev-")),
        "kustomize renamed flows without the configuration: {flows:?}"
    );
}

#[test]
fn every_pipeline_folder_ships_the_configuration() {
    // A GitOps tool may point at one pipeline folder instead of the whole
    // output: each folder carries its own copy.
    let mut folders = BTreeMap::new();
    for example in common::examples() {
        for (path, text) in common::build_example(&example) {
            if let Some(folder) = path.strip_suffix("/kustomization.yaml") {
                folders.insert(folder.to_owned(), text);
            }
        }
    }
    assert_eq!(folders.len(), common::examples().len());
    for (folder, text) in folders {
        assert!(
            text.contains("configurations:\n- kustomizeconfig.yaml\n"),
            "{folder}/kustomization.yaml:\n{text}"
        );
    }
}

/// A two-stage pipeline (a JobFlow) whose longest pod name, with
/// `prefix` added twice by an overlay, is `63 + over` characters.
fn flow_at_the_limit(budget: Option<usize>, prefix: usize, over: usize) -> String {
    // dev-etl-dev-etl-<stage>-worker-0: 2 * (prefix + 3) + 2 + stage + 9.
    let stage = "s".to_owned() + &"x".repeat(63 + over - 2 * (prefix + 3) - 2 - 9 - 1);
    let budget = budget.map_or(String::new(), |b| {
        format!("  overlay = {{ name_prefix = {b} }}\n")
    });
    format!(
        "pipeline etl {{\n{budget}  image = \"python:3.12-slim\"\n  stage a {{\n    run = \"true\"\n  }}\n  stage {stage} {{\n    after = [a]\n    run = \"true\"\n  }}\n}}\n"
    )
}

/// The codes of the diagnostics of `source`, and its files if it compiles.
fn compile(source: &str) -> (Vec<&'static str>, Option<BTreeMap<String, String>>) {
    let mut loader = vcp::check::MemoryLoader::new([("etl.vcp".to_owned(), source.to_owned())]);
    let (checked, output) = vcp::compile(&["etl.vcp".to_owned()], &mut loader, &Options::default());
    let codes = checked
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    (codes, output.map(|o| o.into_strings()))
}

fn write_base(dir: &Path, files: &BTreeMap<String, String>) {
    for (path, text) in files {
        let file = dir.join("base").join(path);
        std::fs::create_dir_all(file.parent().expect("in a folder")).expect("mkdir");
        std::fs::write(file, text).expect("write");
    }
}

#[test]
fn the_overlay_budget_is_exact_against_real_kustomize_and_the_validator() {
    if !common::require_tool("kubectl") {
        return;
    }
    // Exactly at the limit with a declared `dev-` (4 characters): it
    // compiles, and the overlay's output passes the validator.
    let (codes, files) = compile(&flow_at_the_limit(Some(4), 4, 0));
    assert_eq!(codes, Vec::<&str>::new());
    let dir = tempfile::tempdir().expect("temp dir");
    write_base(dir.path(), &files.expect("compiles"));
    let docs = kustomize(dir.path(), "namePrefix: dev-\n");
    assert_references_resolve(&docs);
    // One character more: E0502, naming the overlay.
    let (codes, _) = compile(&flow_at_the_limit(Some(4), 4, 1));
    assert_eq!(codes, ["E0502"]);
    // Without the budget the same names compile, and the overlay's output
    // is what the budget is for: pods Kubernetes refuses.
    let (codes, files) = compile(&flow_at_the_limit(None, 4, 1));
    assert_eq!(codes, Vec::<&str>::new());
    let dir = tempfile::tempdir().expect("temp dir");
    write_base(dir.path(), &files.expect("compiles"));
    let text = render(dir.path(), "namePrefix: dev-\n");
    let problems = validate::check_files(&[("kustomized.yaml".into(), text)]);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("[pod-name]") && p.contains("(64 characters)")),
        "the validator should refuse a 64-character pod name:\n{}",
        problems.join("\n")
    );
}

/// A two-stage pipeline under `gitops = "<tool>"`, with `extra` in its
/// first stage.
fn gitops_pipeline(tool: &str, extra: &str) -> String {
    format!(
        "pipeline etl {{\n  gitops = \"{tool}\"\n  namespace = \"data\"\n  image = \"python:3.12-slim\"\n  stage extract {{\n    workers = 2\n{extra}    run = \"python3 extract.py\"\n  }}\n  stage load {{\n    after = [extract]\n    run = \"python3 load.py\"\n  }}\n}}\npipeline one {{\n  gitops = \"{tool}\"\n  image = \"python:3.12-slim\"\n  stage work {{\n    run = \"true\"\n  }}\n}}\n"
    )
}

/// The names of the JobFlow of `etl` and the Job of `one`.
fn run_names(files: &BTreeMap<String, String>) -> (String, String) {
    let name = |path: &str| {
        let doc: Value = serde_saphyr::from_str(&files[path]).expect("YAML");
        text(&doc["metadata"]["name"]).to_owned()
    };
    (name("etl/20-jobflow.yaml"), name("one/10-job-work.yaml"))
}

#[test]
fn under_gitops_a_run_is_named_by_its_content_and_kept() {
    for tool in ["argocd", "flux"] {
        let (codes, files) = compile(&gitops_pipeline(tool, ""));
        assert_eq!(codes, Vec::<&str>::new(), "{tool}");
        let files = files.expect("compiles");
        let listed: Vec<(String, String)> =
            files.iter().map(|(p, t)| (p.clone(), t.clone())).collect();
        let problems = validate::check_files(&listed);
        assert!(problems.is_empty(), "{tool}: {}", problems.join("\n"));
        for (path, text) in &files {
            // Nothing for the controller to recreate after a deletion.
            assert!(!text.contains("ttlSecondsAfterFinished"), "{tool}: {path}");
            assert!(!text.contains(vcp::ir::HASH_PLACEHOLDER), "{tool}: {path}");
        }
        let (flow, job) = run_names(&files);
        let flow_doc: Value = serde_saphyr::from_str(&files["etl/20-jobflow.yaml"]).expect("YAML");
        let hash = text(&flow_doc["metadata"]["labels"]["vcp.dev/spec-hash"]);
        assert_eq!(flow, format!("etl-{hash}"), "{tool}");
        assert!(
            job.starts_with("one-work-h") && job.len() == "one-work-".len() + 13,
            "{job}"
        );
        let wave = &flow_doc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"];
        assert_eq!(
            text(wave),
            if tool == "argocd" { "1" } else { "" },
            "{tool}"
        );
        // The same sources give the same names; a comment that moves the
        // stage's lines does not change what runs, nor the name.
        let (_, again) = compile(&gitops_pipeline(tool, "    # a note\n"));
        assert_eq!(
            run_names(&again.expect("compiles")),
            (flow.clone(), job.clone())
        );
        // A change to what runs is a new JobFlow, and the other pipeline's
        // Job keeps its name.
        let (_, changed) = compile(&gitops_pipeline(tool, "    retry = 2\n"));
        let (new_flow, new_job) = run_names(&changed.expect("compiles"));
        assert_ne!(new_flow, flow, "{tool}");
        assert_eq!(new_job, job, "{tool}");
    }
}

#[test]
fn without_gitops_nothing_changes() {
    let source = gitops_pipeline("none", "");
    let (codes, files) = compile(&source);
    assert_eq!(codes, Vec::<&str>::new());
    let files = files.expect("compiles");
    assert_eq!(run_names(&files), ("etl".into(), "one-work".into()));
    assert!(files["etl/10-jobtemplate-load.yaml"].contains("ttlSecondsAfterFinished: 86400"));
}
