//! Stages at cluster scale (issue 17): gang only where the workers need
//! each other, the svc plugin only where they read the hosts; the emitted
//! Jobs pass the independent validator.

use serde_json::Value;
use std::collections::BTreeMap;
use vcp::check::{MemoryLoader, Options};

/// The files of `source` (one pipeline file), or the rendered diagnostics.
pub(crate) fn build(source: &str) -> Result<BTreeMap<String, String>, String> {
    let name = "pipeline.vcp".to_string();
    let mut loader = MemoryLoader::new([(name.clone(), source.to_string())]);
    let (checked, output) = vcp::compile(&[name], &mut loader, &Options::default());
    output.map(|o| o.into_strings()).ok_or_else(|| {
        vcp::cli::render::render_all(
            &checked.sources,
            &checked.diagnostics,
            vcp::cli::render::Style::plain(),
        )
    })
}

/// The built files, checked by the independent validator.
pub(crate) fn build_valid(source: &str) -> BTreeMap<String, String> {
    let files = build(source).unwrap_or_else(|e| panic!("does not build:\n{e}"));
    let list: Vec<(String, String)> = files.clone().into_iter().collect();
    let problems = crate::validate::check_files(&list);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    files
}

fn yaml(files: &BTreeMap<String, String>, path: &str) -> Value {
    let text = files.get(path).unwrap_or_else(|| panic!("no {path}"));
    serde_saphyr::from_str(text).expect("YAML")
}

/// (job minAvailable, minSuccess, task minAvailable, has svc, VC_WORKER_NUM in the pod env)
fn scheduling(job: &Value) -> (i64, Option<i64>, i64, bool, Option<String>) {
    let spec = &job["spec"];
    let task = &spec["tasks"][0];
    let env = task["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let num = env
        .iter()
        .find(|e| e["name"] == "VC_WORKER_NUM")
        .map(|e| e["value"].as_str().expect("a literal").to_string());
    (
        spec["minAvailable"].as_i64().expect("minAvailable"),
        spec["minSuccess"].as_i64(),
        task["minAvailable"].as_i64().expect("task minAvailable"),
        spec["plugins"].get("svc").is_some(),
        num,
    )
}

fn stage(fields: &str) -> String {
    format!(
        "pipeline p {{\n  image = \"busybox:1.36\"\n  stage s {{\n    workers = 200\n{fields}\n  }}\n}}\n"
    )
}

#[test]
fn a_sharded_stage_without_hosts_is_no_gang_and_has_no_svc() {
    let files = build_valid(&stage(
        "    shard = range(0, 10000) by hash\n    run = \"work {item}\"",
    ));
    let job = yaml(&files, "p/10-job-s.yaml");
    assert_eq!(
        scheduling(&job),
        (1, Some(200), 1, false, Some("200".into()))
    );
    // Nothing in the wrapper depends on svc: VC_WORKER_NUM is in the pod env.
}

#[test]
fn a_stage_that_reads_the_hosts_keeps_the_gang_and_svc() {
    for run in [
        "    run = \"connect $VC_WORKER_HOSTS {item}\"",
        "    run = [\"torchrun\", \"--master-addr=$VCP_MASTER_ADDR\", \"{item}\"]",
        "    run = \"cat /etc/volcano/worker.host; work {item}\"",
    ] {
        let files = build_valid(&stage(&format!(
            "    shard = range(0, 10000) by hash\n{run}"
        )));
        let job = yaml(&files, "p/10-job-s.yaml");
        assert_eq!(scheduling(&job), (200, None, 200, true, None), "{run}");
    }
}

#[test]
fn unsharded_workers_are_a_gang_and_the_field_decides_over_the_default() {
    let gang = |fields: &str| scheduling(&yaml(&build_valid(&stage(fields)), "p/10-job-s.yaml"));
    assert_eq!(
        gang("    run = \"python3 train.py\""),
        (200, None, 200, true, None)
    );
    assert_eq!(
        gang("    gang = false\n    run = \"python3 train.py\"").0,
        1
    );
    assert_eq!(
        gang("    gang = true\n    shard = range(0, 9)\n    run = \"w {item}\"").0,
        200
    );
}

#[test]
fn the_reduce_job_is_one_pod_either_way() {
    let files = build_valid(&stage(
        "    shard = range(0, 10)\n    run = \"w {item}\"\n    reduce = \"merge\"",
    ));
    let reduce = yaml(&files, "p/10-jobtemplate-s-reduce.yaml");
    assert_eq!(scheduling(&reduce), (1, None, 1, false, None));
}

#[test]
fn a_gang_past_the_host_list_limit_is_refused_and_one_below_builds() {
    // Job `p-s`: host names `p-s-worker-<i>.p-s`, 18 to 22 bytes and a comma.
    let at = |n: u32, gang: &str| {
        build(
            &stage(&format!("    {gang}\n    run = \"w\""))
                .replace("workers = 200", &format!("workers = {n}")),
        )
    };
    let err = at(9000, "gang = true").expect_err("over the limit");
    assert!(err.contains("E0901"), "{err}");
    at(5000, "gang = true").expect("under the limit");
    at(9000, "gang = false").expect("no host list");
}
