//! Structural validation against the `openAPIV3Schema` of Volcano's CRDs.
//!
//! The CRD files are the verbatim copies under `tests/fixtures/volcano/crds/`,
//! embedded with `include_str!` and parsed once. The walker implements the
//! subset of OpenAPI v3 that Kubernetes allows in structural schemas and that
//! these CRDs use (checked with a script when this was written): `type`,
//! `properties`, `additionalProperties`, `items`, `required`, `enum`,
//! `pattern`, `minimum`, `maximum`, `minLength`, `maxLength`, `minItems`,
//! `maxItems`, `format` (int32, int64, date-time), `nullable`, `default` (for
//! required fields and list-map keys), `x-kubernetes-int-or-string`,
//! `x-kubernetes-preserve-unknown-fields` and `x-kubernetes-list-type` (`set`,
//! `map` with `x-kubernetes-list-map-keys`). Any other keyword is reported, so
//! a newer CRD cannot be half-checked without anyone noticing.
//!
//! Unknown fields are errors everywhere, as with `kubectl apply
//! --validate=strict` (the API server would otherwise prune them silently,
//! which for a generated manifest always means a bug in the generator).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::names;
use super::{Problems, pointer};

/// One served version of one CRD.
pub(super) struct Crd {
    /// `group/version`, as written in `apiVersion`.
    pub(super) api_version: String,
    pub(super) kind: String,
    pub(super) namespaced: bool,
    pub(super) schema: Value,
}

const CRD_FILES: [(&str, &str); 5] = [
    (
        "batch.volcano.sh_jobs.yaml",
        include_str!("../fixtures/volcano/crds/batch.volcano.sh_jobs.yaml"),
    ),
    (
        "flow.volcano.sh_jobflows.yaml",
        include_str!("../fixtures/volcano/crds/flow.volcano.sh_jobflows.yaml"),
    ),
    (
        "flow.volcano.sh_jobtemplates.yaml",
        include_str!("../fixtures/volcano/crds/flow.volcano.sh_jobtemplates.yaml"),
    ),
    (
        "scheduling.volcano.sh_queues.yaml",
        include_str!("../fixtures/volcano/crds/scheduling.volcano.sh_queues.yaml"),
    ),
    (
        "scheduling.volcano.sh_podgroups.yaml",
        include_str!("../fixtures/volcano/crds/scheduling.volcano.sh_podgroups.yaml"),
    ),
];

/// Every served version of every fixture CRD, parsed on first use.
pub(super) fn crds() -> &'static [Crd] {
    static CRDS: OnceLock<Vec<Crd>> = OnceLock::new();
    CRDS.get_or_init(|| {
        let mut out = Vec::new();
        for (file, text) in CRD_FILES {
            let doc: Value = serde_saphyr::from_str(text)
                .unwrap_or_else(|e| panic!("fixture CRD {file} does not parse: {e}"));
            let spec = &doc["spec"];
            let group = spec["group"].as_str().expect("CRD spec.group");
            let kind = spec["names"]["kind"].as_str().expect("CRD spec.names.kind");
            let namespaced = spec["scope"] == "Namespaced";
            for version in spec["versions"].as_array().expect("CRD spec.versions") {
                if version["served"] != Value::Bool(true) {
                    continue;
                }
                let name = version["name"].as_str().expect("CRD version name");
                out.push(Crd {
                    api_version: format!("{group}/{name}"),
                    kind: kind.to_owned(),
                    namespaced,
                    schema: version["schema"]["openAPIV3Schema"].clone(),
                });
            }
        }
        out
    })
}

/// The CRD serving `kind` at `api_version`, if any.
pub(super) fn find(api_version: &str, kind: &str) -> Option<&'static Crd> {
    crds()
        .iter()
        .find(|c| c.api_version == api_version && c.kind == kind)
}

/// The CRD kinds known under some other version, to explain a wrong `apiVersion`.
pub(super) fn versions_of(kind: &str) -> Vec<&'static str> {
    crds()
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.api_version.as_str())
        .collect()
}

/// Keywords the walker understands; anything else in a schema is reported.
const KNOWN_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "description",
    "properties",
    "additionalProperties",
    "items",
    "required",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "default",
    "nullable",
    "anyOf",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
];

/// Validates the whole object `value` against a CRD root schema. The root
/// `metadata` is skipped: its schema is just `type: object`, and Kubernetes
/// validates ObjectMeta with its own rules (see `meta.rs`).
pub(super) fn validate_root(schema: &Value, value: &Value, problems: &mut Problems<'_>) {
    match schema.as_object() {
        Some(node) => walk_object(node, value, "", Some("metadata"), problems),
        None => problems.push("", "schema/unsupported", "CRD root schema is not a mapping"),
    }
}

/// Validates `value` against the schema node `schema` found at `path`.
pub(super) fn walk(schema: &Value, value: &Value, path: &str, problems: &mut Problems<'_>) {
    let Some(node) = schema.as_object() else {
        problems.push(path, "schema/unsupported", "schema node is not a mapping");
        return;
    };
    for key in node.keys() {
        if !KNOWN_KEYWORDS.contains(&key.as_str()) {
            problems.push(
                path,
                "schema/unsupported",
                format!("the validator does not implement schema keyword `{key}`"),
            );
        }
    }

    if value.is_null() {
        // Kubernetes prunes nulls of non-nullable fields before validation; in
        // generated YAML a null is a `~`/empty scalar where a value was meant.
        if node.get("nullable") != Some(&Value::Bool(true)) {
            problems.push(path, "schema/null", "null value is not allowed here");
        }
        return;
    }

    if let Some(allowed) = node.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        problems.push(
            path,
            "schema/enum",
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        );
    }

    if node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        // The `anyOf: [integer, string]` beside this flag says the same thing.
        match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => {}
            Value::String(s) => check_string(node, s, path, problems),
            _ => problems.push(
                path,
                "schema/type",
                format!("must be an integer or a string, got {}", type_name(value)),
            ),
        }
        return;
    }
    if node.contains_key("anyOf") {
        problems.push(
            path,
            "schema/unsupported",
            "the validator implements `anyOf` only with x-kubernetes-int-or-string",
        );
    }

    match node.get("type").and_then(Value::as_str) {
        Some("object") => walk_object(node, value, path, None, problems),
        Some("array") => walk_array(node, value, path, problems),
        Some("string") => match value.as_str() {
            Some(s) => check_string(node, s, path, problems),
            None => type_error("string", value, path, problems),
        },
        Some("integer") => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => check_integer(node, n, path, problems),
            _ => type_error("integer", value, path, problems),
        },
        Some("number") => match value {
            Value::Number(n) => check_bounds(node, n.as_f64().unwrap_or(f64::NAN), path, problems),
            _ => type_error("number", value, path, problems),
        },
        Some("boolean") => {
            if !value.is_boolean() {
                type_error("boolean", value, path, problems);
            }
        }
        Some(other) => problems.push(
            path,
            "schema/unsupported",
            format!("the validator does not implement type `{other}`"),
        ),
        None => {
            if node.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true)) {
                problems.push(path, "schema/unsupported", "schema node without a type");
            }
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(expected: &str, value: &Value, path: &str, problems: &mut Problems<'_>) {
    // A YAML 1.1 reader (kubectl's) turns unquoted on/yes/y/no into booleans and
    // 1e3/0123 into numbers; serde-saphyr reads them the same way, so such a
    // scalar shows up here as a type error instead of passing as a string.
    problems.push(
        path,
        "schema/type",
        format!("must be {expected}, got {} {value}", type_name(value)),
    );
}

/// An object: known properties, map values, unknown fields, required fields.
/// `skip` names one property validated elsewhere (the root `metadata`).
fn walk_object(
    node: &Map<String, Value>,
    value: &Value,
    path: &str,
    skip: Option<&str>,
    problems: &mut Problems<'_>,
) {
    let Some(object) = value.as_object() else {
        type_error("object", value, path, problems);
        return;
    };
    let preserve = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let properties = node.get("properties").and_then(Value::as_object);
    let additional = node.get("additionalProperties");

    for (key, field) in object {
        if skip == Some(key.as_str()) {
            continue;
        }
        let field_path = format!("{path}/{}", pointer(key));
        if let Some(sub) = properties.and_then(|p| p.get(key)) {
            walk(sub, field, &field_path, problems);
        } else if let Some(sub) = additional.filter(|a| a.is_object()) {
            walk(sub, field, &field_path, problems);
        } else if additional == Some(&Value::Bool(true)) || preserve {
            // Kept as is by the API server.
        } else {
            let hint = properties
                .and_then(|p| names::did_you_mean(key, p.keys().map(String::as_str)))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            problems.push(
                &field_path,
                "schema/unknown-field",
                format!("unknown field `{key}`{hint}"),
            );
        }
    }

    for required in node
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let defaulted = properties
            .and_then(|p| p.get(required))
            .is_some_and(|s| s.get("default").is_some());
        if !object.contains_key(required) && !defaulted {
            problems.push(
                &format!("{path}/{}", pointer(required)),
                "schema/required",
                format!("Required value: `{required}` must be set"),
            );
        }
    }
}

fn walk_array(node: &Map<String, Value>, value: &Value, path: &str, problems: &mut Problems<'_>) {
    let Some(items) = value.as_array() else {
        type_error("array", value, path, problems);
        return;
    };
    if let Some(min) = node.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        problems.push(
            path,
            "schema/minItems",
            format!("must have at least {min} items"),
        );
    }
    if let Some(max) = node.get("maxItems").and_then(Value::as_u64)
        && (items.len() as u64) > max
    {
        problems.push(
            path,
            "schema/maxItems",
            format!("must have at most {max} items"),
        );
    }
    if let Some(item_schema) = node.get("items") {
        for (i, item) in items.iter().enumerate() {
            walk(item_schema, item, &format!("{path}/{i}"), problems);
        }
    }
    match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].contains(item) {
                    problems.push(
                        &format!("{path}/{i}"),
                        "schema/list-set",
                        format!("Duplicate value: {item}"),
                    );
                }
            }
        }
        Some("map") => check_list_map(node, items, path, problems),
        Some("atomic") | None => {}
        Some(other) => problems.push(
            path,
            "schema/unsupported",
            format!("unknown x-kubernetes-list-type `{other}`"),
        ),
    }
}

/// `x-kubernetes-list-type: map`: the key fields (with their defaults filled
/// in, as the API server does before validating) identify each item uniquely.
fn check_list_map(
    node: &Map<String, Value>,
    items: &[Value],
    path: &str,
    problems: &mut Problems<'_>,
) {
    let keys: Vec<&str> = node
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let item_props = node.get("items").and_then(|i| i.get("properties"));
    let identity = |item: &Value| -> Vec<Value> {
        keys.iter()
            .map(|k| {
                item.get(*k)
                    .or_else(|| {
                        item_props
                            .and_then(|p| p.get(*k))
                            .and_then(|s| s.get("default"))
                    })
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect()
    };
    let identities: Vec<Vec<Value>> = items.iter().map(identity).collect();
    for (i, id) in identities.iter().enumerate() {
        if identities[..i].contains(id) {
            let shown: Vec<String> = keys
                .iter()
                .zip(id)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            problems.push(
                &format!("{path}/{i}"),
                "schema/list-map-key",
                format!(
                    "Duplicate value: an earlier item has the same {}",
                    shown.join(", ")
                ),
            );
        }
    }
}

fn check_string(node: &Map<String, Value>, s: &str, path: &str, problems: &mut Problems<'_>) {
    // OpenAPI lengths count characters, not bytes.
    let len = s.chars().count() as u64;
    if let Some(min) = node.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        problems.push(
            path,
            "schema/minLength",
            format!("must be at least {min} characters long"),
        );
    }
    if let Some(max) = node.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        problems.push(
            path,
            "schema/maxLength",
            format!("Too long: may not be more than {max} characters (is {len})"),
        );
    }
    if let Some(pattern) = node.get("pattern").and_then(Value::as_str) {
        match names::crd_pattern(pattern) {
            Some(matches) if matches(s) => {}
            Some(_) => problems.push(
                path,
                "schema/pattern",
                format!("{s:?} should match '{pattern}'"),
            ),
            None => problems.push(
                path,
                "schema/unsupported",
                format!("the validator does not implement pattern '{pattern}'"),
            ),
        }
    }
    if node.get("format").and_then(Value::as_str) == Some("date-time") && !is_rfc3339(s) {
        problems.push(
            path,
            "schema/format",
            format!("{s:?} is not an RFC 3339 date-time"),
        );
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, shape only (status fields only).
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    matches!(rest, "Z" | "z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && rest[1..3].bytes().all(|c| c.is_ascii_digit())
            && rest[4..6].bytes().all(|c| c.is_ascii_digit()))
}

fn check_integer(
    node: &Map<String, Value>,
    n: &serde_json::Number,
    path: &str,
    problems: &mut Problems<'_>,
) {
    let value: i128 = n
        .as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
        .unwrap_or_default();
    let range = match node.get("format").and_then(Value::as_str) {
        Some("int32") => Some((i128::from(i32::MIN), i128::from(i32::MAX))),
        Some("int64") => Some((i128::from(i64::MIN), i128::from(i64::MAX))),
        _ => None,
    };
    if let Some((lo, hi)) = range
        && !(lo..=hi).contains(&value)
    {
        problems.push(
            path,
            "schema/format",
            format!(
                "{value} does not fit in {}",
                node["format"].as_str().unwrap_or("")
            ),
        );
    }
    check_bounds(node, value as f64, path, problems);
}

fn check_bounds(node: &Map<String, Value>, value: f64, path: &str, problems: &mut Problems<'_>) {
    if let Some(min) = node.get("minimum").and_then(Value::as_f64)
        && value < min
    {
        problems.push(
            path,
            "schema/minimum",
            format!("should be greater than or equal to {min}"),
        );
    }
    if let Some(max) = node.get("maximum").and_then(Value::as_f64)
        && value > max
    {
        problems.push(
            path,
            "schema/maximum",
            format!("should be less than or equal to {max}"),
        );
    }
}
