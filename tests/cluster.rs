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

// --- under `vcp run` -------------------------------------------------------------

/// `vcp run pipeline.vcp` in a scratch directory holding `source`.
pub(crate) fn run_pipeline(dir: &std::path::Path, source: &str) -> std::process::Output {
    std::fs::write(dir.join("pipeline.vcp"), source).expect("write pipeline");
    std::process::Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(["run", "pipeline.vcp"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("vcp runs")
}

/// The folder standing in for volume `name` of the only run under `dir`.
pub(crate) fn run_volume(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let runs: Vec<_> = std::fs::read_dir(dir.join(".vcp/runs"))
        .expect("runs")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "one run expected");
    runs[0].join("volumes").join(name)
}

fn budget_pipeline(max_failed: &str, failing: &str) -> String {
    format!(
        r#"pipeline budget {{
  image = "busybox:1.36"
  volume work {{ claim = "budget-work", mount = "/work" }}
  stage s {{
    workers    = 2
    parallel   = 2
    retry      = 1
    shard      = range(0, 40) by hash
    run        = "case {{item}} in {failing}) echo \"boom on {{item}}\"; exit 4;; esac; echo {{item}} >> \"$VCP_VOLUME_WORK/done.$RANK\""
    max_failed = {max_failed}
    checkpoint = work
    reduce     = "cp \"$VCP_FAILED_ITEMS\" \"$VCP_VOLUME_WORK/failed\" && cp \"$VCP_FAILED_LOGS\" \"$VCP_VOLUME_WORK/logs\""
  }}
}}
"#
    )
}

#[test]
fn two_failed_items_within_the_budget_reach_the_reduce_and_the_summary() {
    for budget in ["2", "\"5%\""] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = run_pipeline(tmp.path(), &budget_pipeline(budget, "13|27"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{budget}: {stderr}");
        let work = run_volume(tmp.path(), "work");
        let failed = std::fs::read_to_string(work.join("failed")).expect("the reduce's copy");
        let mut lines: Vec<&str> = failed.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, ["4\t13", "4\t27"], "{budget}");
        let logs = std::fs::read_to_string(work.join("logs")).expect("log tails");
        assert!(
            logs.contains("boom on 13") && logs.contains("boom on 27"),
            "{logs}"
        );
        // Every other item ran, exactly once.
        let mut done = Vec::new();
        for rank in 0..2 {
            let text =
                std::fs::read_to_string(work.join(format!("done.{rank}"))).unwrap_or_default();
            done.extend(text.lines().map(|l| l.parse::<u32>().expect("a number")));
        }
        done.sort_unstable();
        let expected: Vec<u32> = (0..40).filter(|i| *i != 13 && *i != 27).collect();
        assert_eq!(done, expected, "{budget}");
        let all = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
        assert!(
            all.contains("2 item(s) failed within the stage's budget"),
            "{all}"
        );
        assert!(all.contains("\"13\": exit status 4"), "{all}");
    }
}

#[test]
fn over_the_budget_the_stage_fails() {
    // 3 failures: over a budget of 2, and of 5% of 40 items (2).
    for budget in ["2", "\"5%\""] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = run_pipeline(tmp.path(), &budget_pipeline(budget, "5|13|27"));
        assert!(!out.status.success(), "{budget}");
        assert!(
            !run_volume(tmp.path(), "work").join("failed").exists(),
            "the reduce must not run"
        );
    }
}

/// The `VCP_RUN_KEY` of the worker pods of `path`.
fn run_key(files: &BTreeMap<String, String>, path: &str) -> String {
    let job = yaml(files, path);
    let env = job["spec"]["tasks"][0]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    env.iter()
        .find(|e| e["name"] == "VCP_RUN_KEY")
        .and_then(|e| e["value"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no VCP_RUN_KEY in {path}"))
}

#[test]
fn the_run_key_is_the_builds_spec_hash_kept_by_the_same_build_changed_by_any_change() {
    // A flow (the stage has a reduce): the key is the JobFlow's hash, in
    // both of its jobs.
    let source = budget_pipeline("2", "13");
    let files = build_valid(&source);
    let flow = yaml(&files, "budget/20-jobflow.yaml");
    let label = flow["metadata"]["labels"]["vcp.dev/spec-hash"]
        .as_str()
        .expect("label")
        .to_string();
    assert_eq!(run_key(&files, "budget/10-jobtemplate-s.yaml"), label);
    assert_eq!(
        run_key(&files, "budget/10-jobtemplate-s-reduce.yaml"),
        label
    );
    assert_eq!(build_valid(&source), files, "same build, same bytes");
    let changed = build_valid(&source.replace("range(0, 40)", "range(0, 41)"));
    assert_ne!(run_key(&changed, "budget/10-jobtemplate-s.yaml"), label);
    // A single Job: its own hash.
    let single = source.replace(
        &source[source.find("    reduce").expect("reduce")..source.find("  }\n}").expect("end")],
        "",
    );
    let files = build_valid(&single);
    let job = yaml(&files, "budget/10-job-s.yaml");
    assert_eq!(
        run_key(&files, "budget/10-job-s.yaml"),
        job["metadata"]["labels"]["vcp.dev/spec-hash"]
            .as_str()
            .expect("label")
    );
    // Stages without a checkpoint get no key.
    let plain = build_valid(&stage("    shard = range(0, 3)\n    run = \"w {item}\""));
    assert!(!plain["p/10-job-s.yaml"].contains("VCP_RUN_KEY"));
}

// --- fan-out: shard = output(a) ---------------------------------------------------

const FAN_OUT: &str = r#"pipeline fan {
  image = "busybox:1.36"
  volume work { claim = "fan-work", mount = "/work" }
  stage a {
    workers = 3
    gang    = false
    # Blanks, tabs, quotes, a carriage return, a leading dash, an empty line
    # and a last line without newline, from each worker.
    run     = "printf 'r%s a  b\n\n\tlead\ttab\r\nq\"x'\"'\"'y\n-n\nlast-%s' \"$RANK\" \"$RANK\" >> \"$VCP_OUTPUT\""
    output  = work
  }
  stage b {
    after   = [a]
    workers = 4
    shard   = output(a) by hash
    run     = "printf '%s\t%s\n' \"$VCP_ITEM_INDEX\" {item} >> \"$VCP_VOLUME_WORK/seen.$RANK\""
  }
}
"#;

#[test]
fn a_stage_sharded_by_output_processes_exactly_the_lines_the_workers_wrote() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_pipeline(tmp.path(), FAN_OUT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let work = run_volume(tmp.path(), "work");
    // What a's workers wrote, as files on the volume, in rank order.
    let runs = std::fs::read_dir(work.join(".vcp/fan"))
        .expect("output folder")
        .map(|e| e.expect("entry").path())
        .collect::<Vec<_>>();
    assert_eq!(runs.len(), 1, "one run key");
    let files: Vec<Vec<u8>> = (0..3)
        .map(|r| std::fs::read(runs[0].join(format!("a.{r}.output"))).expect("worker output"))
        .collect();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let expected: Vec<Vec<u8>> = vcp::shard::output_items(&refs)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(expected.len(), 3 * 5, "five non-empty lines a worker");
    assert_eq!(expected[0], b"r0 a  b");
    assert_eq!(expected[1], b"\tlead\ttab\r");
    assert_eq!(expected[4], b"last-0");
    // What b's workers ran: each item once, at its index in that list.
    let mut seen: Vec<(usize, Vec<u8>)> = Vec::new();
    for rank in 0..4 {
        let text = std::fs::read(work.join(format!("seen.{rank}"))).unwrap_or_default();
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let tab = line
                .iter()
                .position(|&b| b == b'\t')
                .expect("index<TAB>item");
            let index = std::str::from_utf8(&line[..tab])
                .expect("digits")
                .parse()
                .expect("index");
            seen.push((index, line[tab + 1..].to_vec()));
        }
    }
    seen.sort();
    let indexed: Vec<(usize, Vec<u8>)> = expected.into_iter().enumerate().collect();
    assert_eq!(seen, indexed);
}

#[test]
fn output_needs_the_stage_in_after_and_an_output_volume() {
    let no_after = FAN_OUT.replace("    after   = [a]\n", "");
    let err = build(&no_after).expect_err("not after a");
    assert!(
        err.contains("E0904") && err.contains("after = [a]"),
        "{err}"
    );
    let no_output = FAN_OUT.replace("    output  = work\n", "");
    let err = build(&no_output).expect_err("a keeps no output");
    assert!(
        err.contains("E0904") && err.contains("keeps no output"),
        "{err}"
    );
    let unknown = FAN_OUT.replace("output(a)", "output(z)");
    assert!(build(&unknown).expect_err("no stage z").contains("E0904"));
    let read_only = FAN_OUT.replace(
        "mount = \"/work\" }",
        "mount = \"/work\", read_only = true }",
    );
    assert!(build(&read_only).expect_err("read-only").contains("E0507"));
    // Built, the manifests pass the validator, and both stages' pods get
    // the run key that names the folder of the lines.
    let files = build_valid(FAN_OUT);
    let key = run_key(&files, "fan/10-jobtemplate-a.yaml");
    assert_eq!(key, run_key(&files, "fan/10-jobtemplate-b.yaml"));
}

#[test]
fn the_graph_shows_the_data_edge() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("pipeline.vcp"), FAN_OUT).expect("write");
    for (format, edge) in [
        (
            "dot",
            "\"fan/a\" -> \"fan/b\" [style=dashed, label=\"items\"];",
        ),
        ("mermaid", "p0_a -. items .-> p0_b"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vcp"))
            .args(["graph", "--format", format, "pipeline.vcp"])
            .current_dir(tmp.path())
            .output()
            .expect("vcp graph");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(edge), "{format}: {text}");
    }
}

// --- checkpoints: a pod killed in the middle of its items -------------------------

/// Runs the worker script of stage `s` as its pod would (the env plugin's
/// index, the pod's VC_WORKER_NUM and VCP_RUN_KEY, the volume at `volume`),
/// in its own process group.
fn pod_worker(
    scripts: &std::path::Path,
    volume: &std::path::Path,
    key: &str,
) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    std::process::Command::new("sh")
        .arg(scripts.join("s.sh"))
        .env("VC_TASK_INDEX", "0")
        .env("VC_WORKER_NUM", "1")
        .env("VCP_RUN_KEY", key)
        .env("VCP_VOLUME_WORK", volume)
        .env("VCP_WORK_DIR", volume.join("pod-tmp"))
        .env_remove("VCP_DONE_DIR")
        .env_remove("VCP_STATE_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("sh runs")
}

fn count_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

#[test]
fn a_pod_killed_in_the_middle_of_an_item_and_restarted_runs_every_item_exactly_once() {
    let source = r#"pipeline ckpt {
  image = "busybox:1.36"
  volume work { claim = "ckpt-work", mount = "/work" }
  stage s {
    shard      = range(0, 12)
    run        = "echo {item} >> \"$VCP_VOLUME_WORK/started\"; sleep 0.3; echo {item} >> \"$VCP_VOLUME_WORK/finished\""
    checkpoint = work
  }
}
"#;
    let tmp = tempfile::tempdir().expect("temp dir");
    let files = build_valid(source);
    let key = run_key(&files, "ckpt/10-job-s.yaml");
    let scripts = tmp.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    for (path, text) in &files {
        if let Some(name) = path.strip_prefix("ckpt/scripts/") {
            std::fs::write(scripts.join(name), text).expect("write script");
        }
    }
    let volume = tmp.path().join("volume");
    std::fs::create_dir_all(&volume).expect("mkdir");
    let (started, finished) = (volume.join("started"), volume.join("finished"));

    // Killed (SIGKILL, the whole pod) while its fifth item sleeps.
    let mut pod = pod_worker(&scripts, &volume, &key);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(count_lines(&started) == 5 && count_lines(&finished) == 4) {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker did not get going"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pgid = pod.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status()
        .expect("kill");
    assert!(killed.success());
    let _ = pod.wait();

    // Restarted with the same build: the four done items are skipped.
    let status = pod_worker(&scripts, &volume, &key).wait().expect("wait");
    assert!(status.success());
    let mut done: Vec<u32> = std::fs::read_to_string(&finished)
        .expect("finished")
        .lines()
        .map(|l| l.parse().expect("number"))
        .collect();
    done.sort_unstable();
    assert_eq!(
        done,
        (0..12).collect::<Vec<_>>(),
        "every item finished exactly once"
    );
    // Only the item that was killed started twice.
    assert_eq!(count_lines(&started), 13);
    // The records are on the volume, under the run key.
    assert!(volume.join(".vcp/ckpt").join(&key).is_dir());

    // A changed build has another key: it starts afresh.
    let changed = build_valid(&source.replace("sleep 0.3", "sleep 0.01"));
    let other = run_key(&changed, "ckpt/10-job-s.yaml");
    assert_ne!(other, key);
}
