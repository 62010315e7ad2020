//! An independent validator for the manifests vcp emits.
//!
//! Every YAML file of a build output directory is read back and checked
//! against what the cluster will check, by code that shares nothing with the
//! compiler's own checker (`src/check`): if the two disagree, one of them is
//! wrong and a test says so.
//!
//! - structure: Volcano's real CRD schemas (`tests/fixtures/volcano/crds/`),
//!   strict about unknown fields like `kubectl apply --validate=strict`
//!   (`schema.rs`);
//! - Kubernetes' own rules: ObjectMeta, labels, annotations, ConfigMap
//!   (`meta.rs`), a subset of PodTemplate validation (`job.rs`);
//! - Volcano's admission rules for Jobs (its validating webhook,
//!   `pkg/webhooks/admission/jobs/validate/admit_job.go` and `util.go`, with
//!   the CRD's own constraints: rules 1-23 of `job.rs`), with the names of
//!   the pods its job controller creates (`job.rs`);
//! - JobFlow rules of its controller (`pkg/controllers/jobflow/`) across
//!   files: templates present, DAG, generated job names and label values
//!   (`flow.rs`).
//!
//! Volcano paths are relative to its repository at the commit given in
//! `tests/fixtures/volcano/SOURCE.md`.
//!
//! Each problem is one line: `<file>: <Kind>/<name>: <JSON pointer>: [<rule>] <message>`.
//! The rule tag is stable (`d9` is rule 9 of `job.rs`, `schema/enum`,
//! `g/dag`, ...) so tests can match on it; the message follows Volcano's or
//! Kubernetes' wording where they have one.
//!
//! YAML is read with serde-saphyr into `serde_json::Value`. It resolves plain
//! `on`/`yes`/`y`/`no` as booleans and `0123`/`1e3` as numbers, as YAML 1.1
//! readers such as kubectl's do, so a string the emitter forgot to quote shows
//! up as a type error.

mod flow;
mod job;
mod meta;
mod names;
mod schema;
#[cfg(test)]
mod tests;

use std::fmt::Display;

use serde_json::Value;

/// Checks every manifest of one build output directory.
///
/// `files` holds `(relative path, content)` pairs; only `*.yaml` / `*.yml`
/// files are read (scripts and other files are ignored), each possibly with
/// several `---`-separated documents and a leading comment header. Returns
/// every problem found, one line each; an empty vector means valid.
/// Cross-object rules (a JobFlow's templates, ConfigMap keys, duplicate names)
/// look at all files together, as `kubectl apply -f <dir>` would see them.
pub(crate) fn check_files(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut objects = Vec::new();
    for (path, text) in files {
        if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
            continue;
        }
        if path == "kustomization.yaml" || path.ends_with("/kustomization.yaml") {
            check_kustomization(path, text, files, &mut out);
            continue;
        }
        if is_listed_configuration(path, files) {
            // kustomize's transformer configuration: read by kustomize
            // (tests/kustomize.rs runs it), never sent to the cluster.
            continue;
        }
        match serde_saphyr::from_multiple::<Value>(text) {
            Ok(documents) => {
                for (index, value) in documents.into_iter().enumerate() {
                    objects.push(Object::new(path, index, value));
                }
            }
            Err(error) => {
                // The first line has the position; the rest is a source snippet.
                let error = error.to_string();
                let first = error.lines().next().unwrap_or_default();
                out.push(format!("{path}: [yaml] does not parse: {first}"));
            }
        }
    }
    for object in &objects {
        check_object(object, &mut out);
    }
    flow::check_cross_object(&objects, &mut out);
    out
}

/// A kustomization is not applied to the cluster: it must be a valid
/// `kustomize.config.k8s.io/v1beta1` Kustomization whose `resources` all
/// exist beside it (files, or folders with their own kustomization).
fn check_kustomization(path: &str, text: &str, files: &[(String, String)], out: &mut Vec<String>) {
    let dir = path.strip_suffix("kustomization.yaml").unwrap_or("");
    let value: Value = match serde_saphyr::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.push(format!("{path}: [kustomize] does not parse: {e}"));
            return;
        }
    };
    if value["apiVersion"] != "kustomize.config.k8s.io/v1beta1" || value["kind"] != "Kustomization"
    {
        out.push(format!(
            "{path}: [kustomize] not a kustomize.config.k8s.io/v1beta1 Kustomization"
        ));
    }
    let Some(map) = value.as_object() else { return };
    for key in map.keys() {
        if ![
            "apiVersion",
            "kind",
            "resources",
            "configurations",
            "commonLabels",
            "labels",
            "namespace",
        ]
        .contains(&key.as_str())
        {
            out.push(format!("{path}: [kustomize] unexpected field {key}"));
        }
    }
    let Some(resources) = value["resources"].as_array() else {
        out.push(format!("{path}: [kustomize] resources is not a list"));
        return;
    };
    if let Some(configurations) = map.get("configurations") {
        for c in configurations.as_array().into_iter().flatten() {
            let exists = c
                .as_str()
                .is_some_and(|c| files.iter().any(|(p, _)| *p == format!("{dir}{c}")));
            if !exists {
                out.push(format!(
                    "{path}: [kustomize] configuration {c} does not exist"
                ));
            }
        }
    }
    for r in resources {
        let Some(r) = r.as_str() else {
            out.push(format!("{path}: [kustomize] a resource is not a string"));
            continue;
        };
        let target = format!("{dir}{r}");
        let exists = files.iter().any(|(p, _)| *p == target)
            || files
                .iter()
                .any(|(p, _)| *p == format!("{target}/kustomization.yaml"));
        if !exists {
            out.push(format!("{path}: [kustomize] resource {r} does not exist"));
        }
    }
}

/// Whether `path` is named in the `configurations` of the kustomization
/// beside it.
fn is_listed_configuration(path: &str, files: &[(String, String)]) -> bool {
    let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
    let kustomization = if dir.is_empty() {
        "kustomization.yaml".to_owned()
    } else {
        format!("{dir}/kustomization.yaml")
    };
    files
        .iter()
        .find(|(p, _)| *p == kustomization)
        .and_then(|(_, text)| serde_saphyr::from_str::<Value>(text).ok())
        .and_then(|value| value["configurations"].as_array().cloned())
        .is_some_and(|list| list.iter().any(|c| c.as_str() == Some(name)))
}

/// Checks one YAML text (one or more documents) as if it were the only file
/// of an output directory, named `<document>.yaml`. A JobFlow checked alone
/// reports its JobTemplates as missing: use [`check_files`] for those.
pub(crate) fn check_yaml_document(text: &str) -> Vec<String> {
    check_files(&[("<document>.yaml".to_owned(), text.to_owned())])
}

/// One parsed YAML document with what every check needs to know about it.
pub(super) struct Object {
    pub(super) file: String,
    pub(super) value: Value,
    pub(super) api_version: String,
    pub(super) kind: String,
    pub(super) name: String,
    /// `metadata.namespace`, or [`DEFAULT_NAMESPACE`] when unset: objects
    /// without one land together in kubectl's namespace, and label-length
    /// rules need some namespace to count.
    pub(super) namespace: String,
    /// `Kind/name`, as problems show it.
    pub(super) label: String,
}

impl Object {
    fn new(file: &str, index: usize, value: Value) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
        let api_version = text(&value["apiVersion"]);
        let kind = text(&value["kind"]);
        let name = text(&value["metadata"]["name"]);
        let namespace = value["metadata"]["namespace"]
            .as_str()
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_owned();
        let shown_kind = if kind.is_empty() { "<no kind>" } else { &kind };
        let label = if name.is_empty() {
            format!("{shown_kind}/<document {}>", index + 1)
        } else {
            format!("{shown_kind}/{name}")
        };
        Object {
            file: file.to_owned(),
            value,
            api_version,
            kind,
            name,
            namespace,
            label,
        }
    }

    /// Whether this is `kind` in the API group version vcp emits.
    pub(super) fn is(&self, api_version: &str, kind: &str) -> bool {
        self.api_version == api_version && self.kind == kind
    }

    /// A sink that reports problems against this object.
    pub(super) fn problems<'a>(&'a self, out: &'a mut Vec<String>) -> Problems<'a> {
        Problems {
            out,
            file: &self.file,
            object: &self.label,
            note: String::new(),
        }
    }
}

/// Where problems go, with the file and object they are about.
pub(super) struct Problems<'a> {
    out: &'a mut Vec<String>,
    file: &'a str,
    object: &'a str,
    /// Appended to every message, e.g. which JobFlow instantiates a template.
    note: String,
}

impl Problems<'_> {
    /// Records one problem at JSON pointer `path` (empty = the whole object).
    pub(super) fn push(&mut self, path: &str, rule: &str, message: impl Display) {
        let path = if path.is_empty() { "/" } else { path };
        self.out.push(format!(
            "{}: {}: {path}: [{rule}] {message}{}",
            self.file, self.object, self.note
        ));
    }

    /// The same sink with `note` appended to every message.
    pub(super) fn with_note(self, note: String) -> Self {
        Problems { note, ..self }
    }
}

/// A JSON-pointer segment (`~` and `/` escaped, as in label keys).
pub(super) fn pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The namespace kubectl uses for an object that names none (without a
/// context namespace).
pub(super) const DEFAULT_NAMESPACE: &str = "default";

pub(super) const JOB: (&str, &str) = ("batch.volcano.sh/v1alpha1", "Job");
pub(super) const JOB_FLOW: (&str, &str) = ("flow.volcano.sh/v1alpha1", "JobFlow");
pub(super) const JOB_TEMPLATE: (&str, &str) = ("flow.volcano.sh/v1alpha1", "JobTemplate");
pub(super) const CONFIG_MAP: (&str, &str) = ("v1", "ConfigMap");

/// Checks that need only the object itself (and, for a Job's names, nothing
/// else); JobFlow rules run in [`flow::check_cross_object`].
fn check_object(object: &Object, out: &mut Vec<String>) {
    let mut problems = object.problems(out);
    let value = &object.value;
    if !value.is_object() {
        problems.push(
            "",
            "yaml",
            format!("a manifest must be a mapping, got {value}"),
        );
        return;
    }
    if object.api_version.is_empty() || object.kind.is_empty() {
        problems.push("", "kind", "apiVersion and kind must both be set (strings)");
        return;
    }
    if object.is(CONFIG_MAP.0, CONFIG_MAP.1) {
        meta::check_object_meta(value, true, &mut problems);
        meta::check_configmap(value, &mut problems);
        return;
    }
    let Some(crd) = schema::find(&object.api_version, &object.kind) else {
        let served = schema::versions_of(&object.kind);
        let message = if served.is_empty() {
            format!(
                "{} {} is not a kind this validator knows (Volcano Job, JobFlow, JobTemplate, Queue, PodGroup; v1 ConfigMap)",
                object.api_version, object.kind
            )
        } else {
            format!(
                "{} is served as {}, not {}",
                object.kind,
                served.join(", "),
                object.api_version
            )
        };
        problems.push("/apiVersion", "kind", message);
        return;
    };
    meta::check_object_meta(value, crd.namespaced, &mut problems);
    schema::validate_root(&crd.schema, value, &mut problems);

    let spec = value.get("spec").unwrap_or(&Value::Null);
    if object.is(JOB.0, JOB.1) {
        job::check_job_spec(spec, "/spec", &mut problems);
        if !object.name.is_empty() {
            job::check_job_names(&object.name, spec, "/metadata/name", "/spec", &mut problems);
        }
    } else if object.is(JOB_TEMPLATE.0, JOB_TEMPLATE.1) {
        // Name rules run per flow that instantiates the template (flow.rs).
        job::check_job_spec(spec, "/spec", &mut problems);
    }
}
