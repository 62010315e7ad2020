//! What Kubernetes itself checks on every object: `metadata` (ObjectMeta) and
//! the whole of a `v1` ConfigMap, which has no CRD.
//!
//! Rules from `k8s.io/apimachinery/pkg/api/validation` (`ValidateObjectMeta`,
//! `ValidateLabels`, `ValidateAnnotations`) and
//! `k8s.io/kubernetes/pkg/apis/core/validation` (`ValidateConfigMap`).

use serde_json::Value;

use super::names;
use super::{Problems, pointer};

/// ObjectMeta fields a manifest may carry (`kubectl --validate=strict` rejects
/// anything else). Server-set fields are accepted because `kubectl get -o yaml`
/// output carries them; a generator emitting them would be odd but harmless.
const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Total size of all annotation keys and values (`TotalAnnotationSizeLimitB`).
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// Total size of a ConfigMap's keys and values (`MaxSecretSize`, shared by ConfigMaps).
const CONFIGMAP_MAX_BYTES: usize = 1024 * 1024;

/// Checks the root `metadata` of an object: a name that is a DNS-1123
/// subdomain (every kind vcp emits uses that rule), a namespace that is a
/// DNS-1123 label (none on cluster-scoped kinds), labels and annotations.
pub(super) fn check_object_meta(object: &Value, namespaced: bool, problems: &mut Problems<'_>) {
    let Some(meta) = object.get("metadata") else {
        problems.push(
            "/metadata",
            "meta/required",
            "Required value: `metadata` must be set",
        );
        return;
    };
    let Some(meta_map) = meta.as_object() else {
        problems.push("/metadata", "schema/type", "`metadata` must be a mapping");
        return;
    };
    for key in meta_map.keys() {
        if !OBJECT_META_FIELDS.contains(&key.as_str()) {
            let hint = names::did_you_mean(key, OBJECT_META_FIELDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            problems.push(
                &format!("/metadata/{}", pointer(key)),
                "meta/unknown-field",
                format!("unknown field `{key}`{hint}"),
            );
        }
    }
    match meta.get("name") {
        // `kubectl apply` needs a name; generateName only works with `create`.
        None | Some(Value::Null) => problems.push(
            "/metadata/name",
            "meta/name",
            "Required value: name is required (kubectl apply cannot use generateName)",
        ),
        Some(Value::String(name)) => {
            if !names::is_dns1123_subdomain(name) {
                problems.push(
                    "/metadata/name",
                    "meta/name",
                    format!(
                        "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most 253)"
                    ),
                );
            }
        }
        Some(other) => problems.push(
            "/metadata/name",
            "schema/type",
            format!("must be string, got {other}"),
        ),
    }
    match meta.get("namespace") {
        None | Some(Value::Null) => {}
        Some(Value::String(ns)) if !namespaced => problems.push(
            "/metadata/namespace",
            "meta/namespace",
            format!("{ns:?}: this kind is cluster-scoped and takes no namespace"),
        ),
        Some(Value::String(ns)) => {
            if !names::is_dns1123_label(ns) {
                problems.push(
                    "/metadata/namespace",
                    "meta/namespace",
                    format!(
                        "Invalid value: {ns:?}: a namespace must be a DNS-1123 label (at most 63)"
                    ),
                );
            }
        }
        Some(other) => problems.push(
            "/metadata/namespace",
            "schema/type",
            format!("must be string, got {other}"),
        ),
    }
    check_labels(meta.get("labels"), "/metadata/labels", problems);
    check_annotations(meta.get("annotations"), "/metadata/annotations", problems);
    for (field, expected) in [("finalizers", "array"), ("ownerReferences", "array")] {
        if let Some(v) = meta.get(field)
            && !v.is_array()
            && !v.is_null()
        {
            problems.push(
                &format!("/metadata/{field}"),
                "schema/type",
                format!("must be {expected}"),
            );
        }
    }
}

/// A label map: keys are qualified names, values valid label values
/// (at most 63 characters). Used for object, pod-template and selector labels.
pub(super) fn check_labels(labels: Option<&Value>, path: &str, problems: &mut Problems<'_>) {
    let Some(labels) = labels.filter(|v| !v.is_null()) else {
        return;
    };
    let Some(map) = labels.as_object() else {
        problems.push(path, "schema/type", "labels must be a mapping of strings");
        return;
    };
    for (key, value) in map {
        let key_path = format!("{path}/{}", pointer(key));
        if !names::is_qualified_name(key) {
            problems.push(
                &key_path,
                "meta/label-key",
                format!("Invalid value: {key:?}: label keys are [prefix/]name, name at most 63 alphanumeric, '-', '_' or '.' characters starting and ending alphanumeric, prefix a DNS subdomain"),
            );
        }
        match value.as_str() {
            Some(v) if !names::is_label_value(v) => problems.push(
                &key_path,
                "meta/label-value",
                format!(
                    "Invalid value: {v:?}: a label value must be empty or at most 63 characters ({}) of alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
                    v.len()
                ),
            ),
            Some(_) => {}
            None => problems.push(
                &key_path,
                "schema/type",
                format!("label value must be a string, got {value}"),
            ),
        }
    }
}

/// An annotation map: keys are qualified names, values strings, total size
/// at most 256 KiB.
pub(super) fn check_annotations(
    annotations: Option<&Value>,
    path: &str,
    problems: &mut Problems<'_>,
) {
    let Some(annotations) = annotations.filter(|v| !v.is_null()) else {
        return;
    };
    let Some(map) = annotations.as_object() else {
        problems.push(
            path,
            "schema/type",
            "annotations must be a mapping of strings",
        );
        return;
    };
    let mut total = 0;
    for (key, value) in map {
        let key_path = format!("{path}/{}", pointer(key));
        if !names::is_qualified_name(&key.to_ascii_lowercase()) {
            problems.push(
                &key_path,
                "meta/annotation-key",
                format!("Invalid value: {key:?}: annotation keys must be qualified names"),
            );
        }
        match value.as_str() {
            Some(v) => total += key.len() + v.len(),
            None => problems.push(
                &key_path,
                "schema/type",
                format!("annotation value must be a string, got {value}"),
            ),
        }
    }
    if total > ANNOTATIONS_MAX_BYTES {
        problems.push(
            path,
            "meta/annotations-size",
            format!("Too long: annotations are {total} bytes, must have at most {ANNOTATIONS_MAX_BYTES} bytes"),
        );
    }
}

/// A `v1` ConfigMap: only the fields the type has, string values, valid keys
/// not shared between `data` and `binaryData`, at most 1 MiB in all.
pub(super) fn check_configmap(object: &Value, problems: &mut Problems<'_>) {
    let Some(map) = object.as_object() else {
        return;
    };
    const FIELDS: &[&str] = &[
        "apiVersion",
        "kind",
        "metadata",
        "data",
        "binaryData",
        "immutable",
    ];
    for key in map.keys() {
        if !FIELDS.contains(&key.as_str()) {
            let hint = names::did_you_mean(key, FIELDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            problems.push(
                &format!("/{}", pointer(key)),
                "schema/unknown-field",
                format!("unknown field `{key}`{hint}"),
            );
        }
    }
    if let Some(immutable) = map.get("immutable")
        && !immutable.is_boolean()
    {
        problems.push(
            "/immutable",
            "schema/type",
            format!("must be boolean, got {immutable}"),
        );
    }
    let mut total = 0;
    let mut seen: Vec<&str> = Vec::new();
    for field in ["data", "binaryData"] {
        let Some(entries) = map.get(field).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(entries) = entries.as_object() else {
            problems.push(
                &format!("/{field}"),
                "schema/type",
                "must be a mapping of strings",
            );
            continue;
        };
        for (key, value) in entries {
            let key_path = format!("/{field}/{}", pointer(key));
            if !names::is_configmap_key(key) {
                problems.push(
                    &key_path,
                    "configmap/key",
                    format!("Invalid value: {key:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (at most 253, not '.', '..' or starting with '..')"),
                );
            }
            if seen.contains(&key.as_str()) {
                problems.push(
                    &key_path,
                    "configmap/key",
                    format!("Invalid value: {key:?}: duplicate of key present in data"),
                );
            }
            seen.push(key);
            match value.as_str() {
                Some(v) => {
                    if field == "binaryData" && !is_base64(v) {
                        problems.push(
                            &key_path,
                            "configmap/binary",
                            "binaryData values must be base64",
                        );
                    }
                    // Kubernetes adds len(key)+len(value) over both maps.
                    total += key.len() + v.len();
                }
                None => problems.push(
                    &key_path,
                    "schema/type",
                    format!("ConfigMap values must be strings, got {value}"),
                ),
            }
        }
    }
    if total > CONFIGMAP_MAX_BYTES {
        problems.push(
            "/data",
            "configmap/size",
            format!(
                "Too long: ConfigMap data is {total} bytes, must have at most {CONFIGMAP_MAX_BYTES} bytes"
            ),
        );
    }
}

fn is_base64(s: &str) -> bool {
    let trimmed = s.trim_end_matches('=');
    s.len().is_multiple_of(4)
        && s.len() - trimmed.len() <= 2
        && trimmed
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}
