//! The reduce step: the environment the docs promise every command, the same
//! in a pod (the reduce script run under dash with what Volcano's env plugin
//! gives the one-pod reduce task) and under `vcp run`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use vcp::check::{MemoryLoader, Options};

/// A three-worker stage over five items whose reduce writes its environment
/// to `<out>/env`.
fn source(out: &Path) -> String {
    format!(
        r#"pipeline red {{
  image = "busybox:1.36"
  param out: string = "{}"
  stage sum {{
    workers = 3
    shard   = range(0, 5)
    run     = "true {{item}}"
    reduce  = "env | grep -E '^(RANK|WORLD_SIZE|VC_TASK_INDEX|VK_TASK_INDEX|VC_WORKER_NUM|VC_WORKER_HOSTS|VCP_WORKER_HOSTS|VCP_MASTER_ADDR|VCP_REDUCE|VCP_PIPELINE|VCP_STAGE|VCP_SHARD_COUNT|VCP_ITEMS_TOTAL|VCP_ITEM)=' | LC_ALL=C sort >\"${{out}}/env\"; cat \"$VCP_SHARD_FILE\" >\"${{out}}/items\""
  }}
}}
"#,
        out.display()
    )
}

fn expected() -> &'static str {
    "RANK=0\nVCP_ITEMS_TOTAL=5\nVCP_MASTER_ADDR=\nVCP_PIPELINE=red\nVCP_REDUCE=1\n\
     VCP_SHARD_COUNT=5\nVCP_STAGE=sum\nVCP_WORKER_HOSTS=\nVC_TASK_INDEX=0\nVC_WORKER_HOSTS=\n\
     VC_WORKER_NUM=3\nVK_TASK_INDEX=0\nWORLD_SIZE=3\n"
}

fn build(src: String) -> BTreeMap<String, String> {
    let name = "red.vcp".to_string();
    let mut loader = MemoryLoader::new([(name.clone(), src)]);
    let (checked, output) = vcp::compile(&[name], &mut loader, &Options::default());
    match output {
        Some(o) => o.into_strings(),
        None => panic!("{:?}", checked.diagnostics),
    }
}

#[test]
fn the_reduce_sees_the_promised_environment_in_a_pod() {
    if !crate::common::require_tool("dash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    for (path, text) in build(source(&out)) {
        if let Some(name) = path.strip_prefix("red/scripts/") {
            std::fs::write(scripts.join(name), text).expect("write");
        }
    }
    // What Volcano's env plugin sets in the reduce task's only pod (no svc
    // plugin there: no VC_WORKER_NUM).
    let run = Command::new("dash")
        .arg(scripts.join("sum-reduce.sh"))
        .env("VC_TASK_INDEX", "0")
        .env("VK_TASK_INDEX", "0")
        .env_remove("VC_WORKER_NUM")
        .env("VCP_WORK_DIR", dir.path().join("work"))
        .stdin(Stdio::null())
        .output()
        .expect("dash runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let env = std::fs::read_to_string(out.join("env")).expect("env written");
    assert_eq!(env, expected());
    let items = std::fs::read_to_string(out.join("items")).expect("items written");
    assert_eq!(items, "0\n1\n2\n3\n4\n");
}

#[test]
fn the_reduce_sees_the_promised_environment_under_vcp_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let file = dir.path().join("red.vcp");
    std::fs::write(&file, source(&out)).expect("write");
    let run = Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(["run", "red.vcp"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("vcp runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let env = std::fs::read_to_string(out.join("env")).expect("env written");
    assert_eq!(env, expected());
    let items = std::fs::read_to_string(out.join("items")).expect("items written");
    assert_eq!(items, "0\n1\n2\n3\n4\n");
}
