//! Hostile strings arrive exactly as written: every value of a corpus of
//! shell metacharacters, YAML specials and odd Unicode is put into every
//! user-controlled string that reaches a manifest or a script. Each YAML value
//! read back by a YAML 1.2 reader (serde-saphyr) and a YAML 1.1 reader
//! (PyYAML, as kubectl's go-yaml v2 reads YAML) is the same string; each value
//! that reaches a script, run under dash, reaches the program as the same
//! bytes. Values that cannot be made safe (label values) are rejected.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use vcp::check::{MemoryLoader, Options};

/// The corpus. Newlines are allowed everywhere except in items (one item per
/// line) and paths.
const CORPUS: &[&str] = &[
    "it's",
    "say \"hi\"",
    "$(touch /tmp/vcp-pwned)",
    "`touch /tmp/vcp-pwned`",
    "a; touch /tmp/vcp-pwned",
    "a && b || c",
    "two\nlines",
    "tab\there",
    "back\\slash\\",
    "100% %s %n %%",
    "{}",
    "{{ x }} {% y %} {# z #}",
    "日本語 ünïcödé 🚀",
    "\u{202e}rtl\u{202c} \u{200f}mark",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "~",
    "null",
    "true",
    "0123",
    "0x1f",
    "1e3",
    "1_000",
    "12:30",
    "2026-11-28",
    ".inf",
    "-.inf",
    ".nan",
    "a: b",
    "a #b",
    "*star",
    "&anchor",
    "!tag",
    "|pipe",
    ">gt",
    "@at",
    "`tick",
    "- dash",
    "--flag=x",
    "=",
    "<<",
    "? q",
    "[a, b]",
    "{a: b}",
    " lead",
    "trail ",
    "$HOME ${HOME} $1 $@ $*",
    // The kubelet's `$(VAR)` expansion in env values.
    "$(V)",
    "$(HOME)",
    "cost $$5",
    "$$(V)",
    "$(",
    "a$",
    "$",
    "'",
    "\"",
    "\\",
    "",
];

/// One stage per corpus value: the value as an env value, an annotation, a
/// parameter used in shell code, an argument, an item and part of a path.
fn pipeline() -> String {
    let mut src = String::from("pipeline hostile {\n  image = \"busybox:1.36\"\n");
    for (i, v) in CORPUS.iter().enumerate() {
        src.push_str(&format!(
            "  param p{i}: string = {}\n",
            crate::common::literal(v)
        ));
    }
    for (i, v) in CORPUS.iter().enumerate() {
        let lit = crate::common::literal(v);
        let item = if v.is_empty() || v.contains('\n') {
            "\"plain\"".to_string()
        } else {
            lit.clone()
        };
        let path = crate::common::literal(&format!("/data/{}", v.replace('\n', " ")));
        src.push_str(&format!(
            r#"  stage s{i} {{
    env {{ V = {lit} }}
    annotations {{ "example.com/v" = {lit} }}
    working_dir = {path}
    shard = [{item}]
    run = ["sh", "-c", "printf '%s' \"$1\" >\"$VCP_WORK_DIR/argv\"; printf '%s' \"$2\" >\"$VCP_WORK_DIR/item\"; printf '%s' \"$VCP_PARAM_P{i}\" >\"$VCP_WORK_DIR/param\"; printf '%s' \"$V\" >\"$VCP_WORK_DIR/env\"", "sh", {lit}, "{{item}}"]
    reduce = "printf '%s' \"${{p{i}}}\" >\"$VCP_WORK_DIR/param\""
  }}
"#
        ));
    }
    src.push_str("}\n");
    src
}

fn build() -> BTreeMap<String, String> {
    let name = "hostile.vcp".to_string();
    let mut loader = MemoryLoader::new([(name.clone(), pipeline())]);
    let (checked, output) = vcp::compile(&[name], &mut loader, &Options::default());
    match output {
        Some(o) => o.into_strings(),
        None => panic!(
            "{}",
            vcp::cli::render::render_all(
                &checked.sources,
                &checked.diagnostics,
                vcp::cli::render::Style::plain()
            )
        ),
    }
}

/// (env value, annotation, working dir) of every stage, from parsed YAML
/// documents keyed by JobTemplate name.
fn values_of(docs: &[Value]) -> BTreeMap<String, (String, String, String)> {
    let mut out = BTreeMap::new();
    for doc in docs {
        if doc["kind"] != "JobTemplate" {
            continue;
        }
        let name = doc["metadata"]["name"].as_str().expect("name").to_string();
        let container = &doc["spec"]["tasks"][0]["template"]["spec"]["containers"][0];
        // What the process sees, after the kubelet's `$(VAR)` expansion.
        let env = crate::kubelet::container_env(container);
        let get = |v: &Value| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("<not a string: {v}>"))
        };
        out.insert(
            name,
            (
                env.get("V")
                    .cloned()
                    .unwrap_or_else(|| "<no V>".to_string()),
                get(&doc["metadata"]["annotations"]["example.com/v"]),
                get(&container["workingDir"]),
            ),
        );
    }
    out
}

fn expected() -> BTreeMap<String, (String, String, String)> {
    CORPUS
        .iter()
        .enumerate()
        .flat_map(|(i, v)| {
            let want = (
                v.to_string(),
                v.to_string(),
                format!("/data/{}", v.replace('\n', " ")),
            );
            [
                (format!("hostile-s{i}"), want.clone()),
                (format!("hostile-s{i}-reduce"), want),
            ]
        })
        .collect()
}

#[test]
fn yaml_values_read_back_unchanged_by_a_yaml_1_2_reader() {
    let mut docs = Vec::new();
    for (path, text) in build() {
        if path.ends_with(".yaml") {
            for doc in serde_saphyr::from_multiple::<Value>(&text).expect("YAML 1.2 parses") {
                docs.push(doc);
            }
        }
    }
    assert_eq!(values_of(&docs), expected());
}

#[test]
fn yaml_values_read_back_unchanged_by_a_yaml_1_1_reader() {
    if !crate::common::require_tool("pyyaml") {
        return;
    }
    let mut stream = String::new();
    for (path, text) in build() {
        if path.ends_with(".yaml") {
            stream.push_str("---\n");
            stream.push_str(&text);
        }
    }
    assert_eq!(values_of(&pyyaml_load_all(&stream)), expected());
}

/// Every document of `stream` as PyYAML reads it: YAML 1.1, which reads
/// `yes`/`on`/`0123`/`1_000` as non-strings unless they are quoted, as
/// kubectl's YAML decoder does. The stream goes through a file, so that a
/// python3 that fails early cannot break a pipe.
fn pyyaml_load_all(stream: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("stream.yaml");
    std::fs::write(&file, stream).expect("write");
    let script = "import json, sys, yaml\n\
                  with open(sys.argv[1], encoding='utf-8') as f:\n    \
                  docs = [d for d in yaml.safe_load_all(f) if d is not None]\n\
                  sys.stdout.write(json.dumps(docs, default=str))\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "PyYAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The document `src/emit/yaml.rs` tests write: `s` as a value, in a
/// list, as a key and inside nested maps.
#[derive(serde::Serialize)]
struct Doc<'a> {
    value: &'a str,
    list: Vec<&'a str>,
    nested: BTreeMap<&'a str, Vec<BTreeMap<&'a str, &'a str>>>,
}

/// Thousands of generated strings through the emitter's YAML writer and
/// back through PyYAML: each reads back as the same string everywhere.
#[test]
fn generated_strings_read_back_unchanged_by_a_yaml_1_1_reader() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    if !crate::common::require_tool("pyyaml") {
        return;
    }
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(Default::default()),
    );
    let strategy = prop_oneof![
        any::<String>(),
        "[-a-zA-Z0-9 _.:/@+=,#'\"!&*?|>%`~\\[\\]{}\n\t\r]{0,12}",
    ];
    let strings: Vec<String> = (0..crate::common::cases(4000))
        .map(|_| strategy.new_tree(&mut runner).expect("strategy").current())
        .collect();
    let mut stream = String::new();
    for s in &strings {
        let entry = BTreeMap::from([(s.as_str(), s.as_str()), ("k", s)]);
        let doc = Doc {
            value: s,
            list: vec![s, "x", s],
            nested: BTreeMap::from([(s.as_str(), vec![entry.clone(), BTreeMap::new(), entry])]),
        };
        stream.push_str("---\n");
        stream.push_str(&vcp::emit::yaml::document("# header\n", &doc));
    }
    let back = pyyaml_load_all(&stream);
    assert_eq!(back.len(), strings.len());
    for (s, got) in strings.iter().zip(back) {
        let entry = serde_json::json!({ s: s, "k": s });
        assert_eq!(
            got,
            serde_json::json!({ "value": s, "list": [s, "x", s], "nested": { s: [entry, {}, entry] } }),
            "{s:?}"
        );
    }
}

/// Runs a generated script under `shell` as a pod would run it, with the
/// container's env values as the kubelet gives them.
fn run_script(
    shell: &str,
    scripts: &Path,
    name: &str,
    work: &Path,
    env: &BTreeMap<String, String>,
) {
    let out = Command::new(shell)
        .arg(scripts.join(name))
        .envs(env)
        .env("VC_TASK_INDEX", "0")
        .env("VC_WORKER_NUM", "1")
        .env("VCP_WORK_DIR", work)
        .output()
        .unwrap_or_else(|e| panic!("{shell} runs: {e}"));
    assert!(
        out.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn values_reach_programs_as_the_same_bytes_under_dash() {
    values_reach_programs_as_the_same_bytes("dash");
}

#[test]
fn values_reach_programs_as_the_same_bytes_under_bash() {
    values_reach_programs_as_the_same_bytes("bash");
}

fn values_reach_programs_as_the_same_bytes(shell: &str) {
    if !crate::common::require_tool(shell) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    // Each job's container env, by JobTemplate name, as the kubelet gives it.
    let mut envs = BTreeMap::new();
    for (path, text) in build() {
        if let Some(name) = path.strip_prefix("hostile/scripts/") {
            std::fs::write(scripts.join(name), text).expect("write");
        } else if path.ends_with(".yaml") {
            for doc in serde_saphyr::from_multiple::<Value>(&text).expect("YAML") {
                if doc["kind"] == "JobTemplate" {
                    let container = &doc["spec"]["tasks"][0]["template"]["spec"]["containers"][0];
                    let name = doc["metadata"]["name"].as_str().expect("name").to_string();
                    envs.insert(name, crate::kubelet::container_env(container));
                }
            }
        }
    }
    // A value executed as code would create this file.
    for (i, v) in CORPUS.iter().enumerate() {
        let work = dir.path().join(format!("w{i}"));
        run_script(
            shell,
            &scripts,
            &format!("s{i}.sh"),
            &work,
            &envs[&format!("hostile-s{i}")],
        );
        let read =
            |f: &str| std::fs::read(work.join(f)).unwrap_or_else(|e| panic!("s{i}: {f}: {e}"));
        assert_eq!(read("argv"), v.as_bytes(), "argument of s{i}");
        assert_eq!(read("env"), v.as_bytes(), "env value of s{i} in a pod");
        assert_eq!(
            read("param"),
            v.as_bytes(),
            "parameter of s{i} in an argument vector"
        );
        let item = if v.is_empty() || v.contains('\n') {
            "plain"
        } else {
            v
        };
        assert_eq!(read("item"), item.as_bytes(), "item of s{i}");
        let reduce = dir.path().join(format!("r{i}"));
        run_script(
            shell,
            &scripts,
            &format!("s{i}-reduce.sh"),
            &reduce,
            &envs[&format!("hostile-s{i}-reduce")],
        );
        assert_eq!(
            std::fs::read(reduce.join("param")).expect("param"),
            v.as_bytes(),
            "parameter of s{i} in shell code"
        );
    }
    assert!(
        !Path::new("/tmp/vcp-pwned").exists(),
        "a value was executed as code"
    );
}

#[test]
fn hostile_output_passes_the_independent_validator() {
    let files: Vec<(String, String)> = build()
        .into_iter()
        .filter_map(|(path, text)| path.strip_prefix("hostile/").map(|p| (p.to_string(), text)))
        .collect();
    let problems = crate::validate::check_files(&files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn label_values_that_cannot_be_safe_are_rejected() {
    for v in CORPUS {
        let src = format!(
            "pipeline p {{\n  labels {{ team = {} }}\n  stage s {{ image = \"busybox:1.36\", run = \"true\" }}\n}}\n",
            crate::common::literal(v)
        );
        let mut loader = MemoryLoader::new([("p.vcp".to_string(), src)]);
        let (checked, output) =
            vcp::compile(&["p.vcp".to_string()], &mut loader, &Options::default());
        let valid = v.is_empty()
            || (v.len() <= 63
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
        if valid {
            let files = output.expect("valid label value compiles").into_strings();
            // A valid label value that YAML could misread is quoted.
            let job = &files["p/10-job-s.yaml"];
            let doc: Value = serde_saphyr::from_str(job).expect("YAML");
            assert_eq!(
                doc["metadata"]["labels"]["team"],
                Value::String(v.to_string())
            );
        } else {
            assert!(output.is_none(), "label value {v:?} accepted");
            assert!(
                checked
                    .diagnostics
                    .iter()
                    .any(|d| d.code == vcp::diag::Code::BadLabelValue),
                "label value {v:?}: {:?}",
                checked.diagnostics
            );
        }
    }
}

/// Under `vcp run`, every env value of the corpus reaches the command as the
/// same bytes as in a pod (where the kubelet's expansion undoes vcp's
/// escaping, tested above).
#[test]
fn env_values_reach_programs_as_the_same_bytes_under_vcp_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut src = String::from(
        "pipeline hostile-env {\n  image = \"busybox:1.36\"\n  volume out { claim = \"out\", mount = \"/out\", local = \"out\" }\n  stage s {\n    env {\n",
    );
    for (i, v) in CORPUS.iter().enumerate() {
        src.push_str(&format!("      V{i} = {}\n", crate::common::literal(v)));
    }
    let code = format!(
        "i=0; while [ \"$i\" -lt {} ]; do eval \"x=\\${{V$i}}\"; printf '%s' \"$x\" >\"$VCP_VOLUME_OUT/$i\"; i=$((i + 1)); done",
        CORPUS.len()
    );
    src.push_str(&format!(
        "    }}\n    run = {}\n  }}\n}}\n",
        crate::common::literal(&code)
    ));
    std::fs::write(dir.path().join("env.vcp"), &src).expect("write");
    let run = Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(["run", "env.vcp"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("vcp runs");
    assert!(
        run.status.success(),
        "{src}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for (i, v) in CORPUS.iter().enumerate() {
        let got = std::fs::read(out.join(i.to_string())).expect("value written");
        assert_eq!(got, v.as_bytes(), "env value {i} ({v:?}) under vcp run");
    }
}

/// Every generated script of the hostile pipeline passes shellcheck, as
/// the examples' do: values with `$`, quotes and backslashes included.
#[test]
fn hostile_scripts_pass_shellcheck() {
    if !crate::common::require_tool("shellcheck") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut names = Vec::new();
    for (path, text) in build() {
        if let Some(name) = path.strip_prefix("hostile/scripts/") {
            std::fs::write(dir.path().join(name), text).expect("write");
            names.push(name.to_string());
        }
    }
    let out = Command::new("shellcheck")
        .args(["-x", "-P", "SCRIPTDIR", "-s", "sh", "-f", "gcc"])
        .args(&names)
        .current_dir(dir.path())
        .output()
        .expect("shellcheck runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
