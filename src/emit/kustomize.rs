//! The kustomize side of a build: the `kustomization.yaml` files that list
//! its manifests, and the transformer configuration that teaches kustomize
//! where vcp's objects name each other, so that an overlay's `namePrefix`,
//! `nameSuffix`, `namespace` and labels keep every reference intact.
//!
//! Kustomize renames a reference only when the object it names is part of
//! the same build (its nameReference transformer), so listing a field here
//! never renames a Secret, claim or queue that lives outside the
//! kustomization: those keep the name written in the pipeline. The field
//! paths follow kustomize's own built-in configuration for Deployments and
//! batch Jobs (`api/internal/konfig/builtinpluginconsts/namereference.go`,
//! `commonlabels.go`), moved to where Volcano keeps the pod template:
//! `spec/tasks/template`.

use serde::Serialize;

/// The file with the transformer configuration, beside each pipeline's
/// kustomization (kustomize's docs call it `kustomizeconfig.yaml` too).
pub const CONFIG_FILE: &str = "kustomizeconfig.yaml";

/// Whether a file of a build is kustomize's, not a manifest for the cluster.
pub fn is_kustomize_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "kustomization.yaml" || name == CONFIG_FILE
}

/// A kustomize entry point listing the files (or folders) of a build.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    configurations: Vec<String>,
}

impl Kustomization {
    /// The kustomization over every pipeline folder: each folder brings its
    /// own configuration, which kustomize merges upwards.
    pub fn new(resources: Vec<String>) -> Kustomization {
        Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources,
            configurations: Vec::new(),
        }
    }

    /// The kustomization of one pipeline folder, with [`CONFIG_FILE`].
    pub fn with_config(resources: Vec<String>) -> Kustomization {
        Kustomization {
            configurations: vec![CONFIG_FILE.to_string()],
            ..Kustomization::new(resources)
        }
    }
}

/// kustomize's transformer configuration (the `configurations:` file).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformerConfig {
    name_reference: Vec<NameReference>,
    common_labels: Vec<FieldSpec>,
    /// Used by `labels:` entries with `includeTemplates: true`.
    template_labels: Vec<FieldSpec>,
    common_annotations: Vec<FieldSpec>,
}

/// The fields (`field_specs`) that hold the name of a `kind` object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NameReference {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    version: &'static str,
    field_specs: Vec<FieldSpec>,
}

/// A path in objects of one kind; `[]` is implied: kustomize walks into
/// every element of a list on the way.
#[derive(Serialize)]
struct FieldSpec {
    kind: &'static str,
    group: &'static str,
    path: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    create: bool,
}

/// The kinds that hold a pod template, with their API group.
const POD_HOLDERS: [(&str, &str); 2] = [
    ("Job", "batch.volcano.sh"),
    ("JobTemplate", "flow.volcano.sh"),
];
/// Where those kinds keep it (one task per job, but kustomize walks them all).
const POD_TEMPLATE: &str = "spec/tasks/template";

/// `path` (below the pod template when `in_pod`) in every pod holder.
fn in_holders(path: &str, in_pod: bool, create: bool) -> Vec<FieldSpec> {
    POD_HOLDERS
        .iter()
        .map(|&(kind, group)| FieldSpec {
            kind,
            group,
            path: if in_pod {
                format!("{POD_TEMPLATE}/{path}")
            } else {
                path.to_string()
            },
            create,
        })
        .collect()
}

/// Every name reference of the objects vcp emits.
pub fn transformer_config() -> TransformerConfig {
    let pod = |paths: &[&str]| -> Vec<FieldSpec> {
        paths
            .iter()
            .flat_map(|p| in_holders(p, true, false))
            .collect()
    };
    let flow = |path: &str| FieldSpec {
        kind: "JobFlow",
        group: "flow.volcano.sh",
        path: path.to_string(),
        create: false,
    };
    let name_reference = vec![
        // The flows of a JobFlow are JobTemplate names.
        NameReference {
            kind: "JobTemplate",
            group: Some("flow.volcano.sh"),
            version: "v1alpha1",
            field_specs: vec![
                flow("spec/flows/name"),
                flow("spec/flows/dependsOn/targets"),
            ],
        },
        // vcp's script ConfigMaps, and `config_map(name, key)` values.
        NameReference {
            kind: "ConfigMap",
            group: None,
            version: "v1",
            field_specs: pod(&[
                "spec/volumes/projected/sources/configMap/name",
                "spec/containers/env/valueFrom/configMapKeyRef/name",
            ]),
        },
        NameReference {
            kind: "Secret",
            group: None,
            version: "v1",
            field_specs: pod(&["spec/containers/env/valueFrom/secretKeyRef/name"]),
        },
        NameReference {
            kind: "PersistentVolumeClaim",
            group: None,
            version: "v1",
            field_specs: pod(&["spec/volumes/persistentVolumeClaim/claimName"]),
        },
        NameReference {
            kind: "ServiceAccount",
            group: None,
            version: "v1",
            field_specs: pod(&["spec/serviceAccountName"]),
        },
        NameReference {
            kind: "PriorityClass",
            group: Some("scheduling.k8s.io"),
            version: "v1",
            field_specs: in_holders("spec/priorityClassName", false, false),
        },
        NameReference {
            kind: "Queue",
            group: Some("scheduling.volcano.sh"),
            version: "v1beta1",
            field_specs: in_holders("spec/queue", false, false),
        },
    ];
    TransformerConfig {
        name_reference,
        common_labels: in_holders("metadata/labels", true, true),
        template_labels: in_holders("metadata/labels", true, true),
        common_annotations: in_holders("metadata/annotations", true, true),
    }
}
