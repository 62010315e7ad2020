//! `vcp run` under faults, with real processes: vcp killed with SIGKILL,
//! an error in one stage, timeouts that reach `setsid` children, a changed
//! list on resume, a failed reduce, huge output. "A process of the run" is
//! any process whose environment holds the run's scratch directory (every
//! supervisor, worker and command inherits `VCP_WORK_DIR` under it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vcp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vcp"))
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    vcp()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("vcp runs")
}

fn spawn_in(dir: &Path, args: &[&str]) -> Child {
    vcp()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vcp")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn run_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir.join(".vcp/runs"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Pids of live processes whose environment mentions `marker`.
fn processes_of(marker: &Path) -> Vec<i32> {
    let needle = marker.to_string_lossy().into_owned();
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        // A zombie has an empty environ: it is dead, only not reaped yet.
        if memchr::memmem::find(&env, needle.as_bytes()).is_some() {
            out.push(pid);
        }
    }
    out
}

/// Waits up to `limit` for every process of the run to be gone.
fn assert_none_left(marker: &Path, limit: Duration, when: &str) {
    let deadline = Instant::now() + limit;
    loop {
        let left = processes_of(marker);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let names: Vec<String> = left
                .iter()
                .map(|p| {
                    std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                        .unwrap_or_default()
                        .replace('\0', " ")
                })
                .collect();
            panic!("{when}: processes of the run left after {limit:?}: {left:?} {names:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |rd| rd.count())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn five_sigkills_leave_no_process_and_resume_does_every_item_exactly_once() {
    if !crate::common::full("five SIGKILLs of vcp run mid-item") {
        return;
    }
    let tmp = tempfile::tempdir().expect("dir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("done")).expect("dirs");
    // Each completed execution leaves its own marker (item and pid), as
    // its last act (`exec`: a stop either comes before the marker, and the
    // item runs again, or after); a `setsid` child tries to outlive the run.
    let file = write(
        tmp.path(),
        "long.vcp",
        r#"pipeline long {
  volume data { claim = "data", mount = "/data", local = "data" }
  stage work {
    image    = "busybox:1.36"
    workers  = 2
    parallel = 2
    shard    = range(0, 48)
    run      = """
      setsid sleep 600 >/dev/null 2>&1 &
      sleep 1
      exec touch "$VCP_VOLUME_DATA/done/{item}.$$"
      """
  }
}
"#,
    );
    let file = file.to_str().expect("utf-8");
    for round in 0..5 {
        let args: Vec<String> = match run_ids(tmp.path()).first() {
            None => vec!["run".into(), file.into()],
            Some(id) => vec!["run".into(), "--resume".into(), id.clone()],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = count_files(&data.join("done"));
        let mut child = spawn_in(tmp.path(), &args);
        // Mid-item: some items of this attempt ran, others are running.
        wait_for("items to complete", Duration::from_secs(120), || {
            count_files(&data.join("done")) > before
        });
        std::thread::sleep(Duration::from_millis(300 + 150 * round));
        child.kill().expect("SIGKILL vcp");
        child.wait().expect("reap vcp");
        assert_none_left(
            tmp.path(),
            Duration::from_secs(5),
            &format!("SIGKILL {round}"),
        );
    }
    let id = run_ids(tmp.path())[0].clone();
    let out = run_in(tmp.path(), &["run", "--resume", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_none_left(tmp.path(), Duration::from_secs(1), "after success");
    let mut per_item = [0u32; 48];
    for e in std::fs::read_dir(data.join("done"))
        .expect("markers")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let item: usize = name
            .split('.')
            .next()
            .and_then(|i| i.parse().ok())
            .expect("marker");
        per_item[item] += 1;
    }
    assert_eq!(per_item, [1; 48], "each item completed exactly once");
}

#[test]
fn an_error_in_one_stage_leaves_no_process_of_another() {
    let tmp = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(tmp.path().join("data")).expect("data");
    let file = write(
        tmp.path(),
        "two.vcp",
        r#"pipeline two {
  volume data { claim = "data", mount = "/data", local = "data" }
  stage a {
    image   = "busybox:1.36"
    workers = 4
    run     = "sleep 300"
  }
  stage b {
    image       = "busybox:1.36"
    working_dir = "/data/missing"
    run         = "true"
  }
}
"#,
    );
    let started = Instant::now();
    let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_none_left(tmp.path(), Duration::ZERO, "after the error");
}

#[test]
fn a_timeout_reaches_processes_that_left_the_process_group() {
    let tmp = tempfile::tempdir().expect("dir");
    let file = write(
        tmp.path(),
        "hang.vcp",
        r#"pipeline hang {
  stage stuck {
    image   = "busybox:1.36"
    workers = 2
    timeout = 1s
    run     = "setsid sh -c 'trap \"\" TERM; sleep 600' & sleep 600"
  }
}
"#,
    );
    let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("timed out after 1s"),
        "{}",
        stderr(&out)
    );
    assert_none_left(tmp.path(), Duration::ZERO, "after the stage timeout");

    // The run's own --timeout: exit 124, nothing left, resumable.
    let file = write(
        tmp.path(),
        "slow.vcp",
        r#"pipeline slow {
  stage wait {
    image   = "busybox:1.36"
    workers = 2
    run     = "sleep 600"
  }
}
"#,
    );
    let started = Instant::now();
    let out = run_in(
        tmp.path(),
        &["run", "--timeout", "1s", file.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("vcp run --resume"),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_none_left(tmp.path(), Duration::ZERO, "after --timeout");
}

#[test]
fn a_retried_workers_first_attempt_output_stays_in_its_log() {
    let tmp = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(tmp.path().join("data")).expect("data");
    let file = write(
        tmp.path(),
        "retry.vcp",
        r#"pipeline retry {
  volume data { claim = "data", mount = "/data", local = "data" }
  stage once {
    image   = "busybox:1.36"
    retry   = 1
    run     = """
      if [ ! -e "$VCP_VOLUME_DATA/tried" ]; then
        touch "$VCP_VOLUME_DATA/tried"
        echo "first attempt: the cause of the failure" >&2
        exit 4
      fi
      echo "second attempt: fine"
      """
  }
}
"#,
    );
    let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = &run_ids(tmp.path())[0];
    let log = std::fs::read_to_string(tmp.path().join(format!(".vcp/runs/{id}/once/worker-0.log")))
        .expect("log");
    let first = log
        .find("first attempt: the cause")
        .expect("first attempt kept");
    let header = log.find("attempt 2").expect("a header per attempt");
    let second = log.find("second attempt: fine").expect("second attempt");
    assert!(first < header && header < second, "{log}");
}

#[test]
fn a_huge_line_without_newline_prints_a_small_summary_and_a_cut_log() {
    let tmp = tempfile::tempdir().expect("dir");
    let file = write(
        tmp.path(),
        "loud.vcp",
        r#"pipeline loud {
  stage shout {
    image = "busybox:1.36"
    run   = "head -c 10000000 /dev/zero | tr '\\0' x; exit 1"
  }
}
"#,
    );
    let out = run_in(
        tmp.path(),
        &["run", "--log-limit", "1M", file.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stderr.len() < 64 * 1024, "{} bytes", out.stderr.len());
    assert!(stderr(&out).contains("more bytes]"), "the line is cut");
    let id = &run_ids(tmp.path())[0];
    let log = std::fs::read(
        tmp.path()
            .join(format!(".vcp/runs/{id}/shout/worker-0.log")),
    )
    .expect("log");
    assert!(log.len() < 2 << 20, "{} bytes", log.len());
    let text = String::from_utf8_lossy(&log);
    assert!(
        text.contains("output cut here"),
        "a marker where output was cut"
    );
}

/// Executions of each item, from the `ran` file the commands append to.
fn executions(data: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(data.join("ran")).unwrap_or_default();
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn a_resumed_list_that_gained_an_item_runs_that_item_and_no_done_one() {
    let tmp = tempfile::tempdir().expect("dir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(data.join("list.txt"), "apple\npear\nplum\npear\n").expect("list");
    std::fs::write(data.join("break-plum"), "").expect("marker");
    let file = write(
        tmp.path(),
        "fruit.vcp",
        r#"pipeline fruit {
  volume data { claim = "data", mount = "/data", local = "data" }
  stage eat {
    image    = "busybox:1.36"
    workers  = 2
    parallel = 1
    shard    = lines("/data/list.txt")
    run      = """
      [ -e "$VCP_VOLUME_DATA/break-{item}" ] && exit 5
      echo {item} >> "$VCP_VOLUME_DATA/ran"
      """
  }
}
"#,
    );
    let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let first = executions(&data);
    assert!(!first.contains(&"plum".to_string()));
    // A line prepended: every index moves. The second `pear` is a
    // different item from the first (its occurrence), and was done or not
    // on its own.
    std::fs::write(data.join("list.txt"), "kiwi\napple\npear\nplum\npear\n").expect("list");
    std::fs::remove_file(data.join("break-plum")).expect("fix");
    let id = &run_ids(tmp.path())[0];
    // A crash tore a record of `kiwi` before it was complete: not done.
    let done = tmp
        .path()
        .join(format!(".vcp/runs/{id}/state/done/eat.0.done"));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&done)
        .expect("done file");
    std::io::Write::write_all(&mut f, b"4\t0\tki").expect("torn record");
    let out = run_in(tmp.path(), &["run", "--resume", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = executions(&data);
    let mut expected = vec![
        "apple".to_string(),
        "kiwi".to_string(),
        "pear".to_string(),
        "pear".to_string(),
        "plum".to_string(),
    ];
    expected.sort();
    assert_eq!(all, expected, "first attempt: {first:?}");
}

#[test]
fn a_resumed_reduce_failure_does_not_run_the_workers_again() {
    let tmp = tempfile::tempdir().expect("dir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(data.join("break-reduce"), "").expect("marker");
    let file = write(
        tmp.path(),
        "sum.vcp",
        r#"pipeline sum {
  volume data { claim = "data", mount = "/data", local = "data" }
  stage add {
    image   = "busybox:1.36"
    workers = 2
    shard   = range(0, 4)
    run     = "echo {item} >> \"$VCP_VOLUME_DATA/ran\""
    reduce  = "[ ! -e \"$VCP_VOLUME_DATA/break-reduce\" ] && echo reduce >> \"$VCP_VOLUME_DATA/ran\""
  }
}
"#,
    );
    let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("the reduce step"), "{}", stderr(&out));
    std::fs::remove_file(data.join("break-reduce")).expect("fix");
    let id = &run_ids(tmp.path())[0];
    let out = run_in(tmp.path(), &["run", "--resume", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("running the reduce step alone"),
        "{}",
        stderr(&out)
    );
    assert_eq!(executions(&data), ["0", "1", "2", "3", "reduce"]);
}

#[test]
fn run_state_is_private_and_runs_can_be_listed_and_deleted() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("dir");
    let file = write(
        tmp.path(),
        "one.vcp",
        r#"pipeline one {
  param secret: string = "s3cr3t"
  stage say {
    image = "busybox:1.36"
    run   = "echo ${secret}"
  }
}
"#,
    );
    let out = run_in(
        tmp.path(),
        &[
            "run",
            "--set",
            "secret=hunter2",
            file.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = run_ids(tmp.path())[0].clone();
    let run = tmp.path().join(".vcp/runs").join(&id);
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&run.join("run.json")), 0o600);
    assert_eq!(mode(&run), 0o700);
    assert_eq!(mode(&run.join("say/worker-0.log")), 0o600);
    // A succeeded run keeps its logs, not its working files.
    assert!(!run.join("work").exists());

    let out = run_in(tmp.path(), &["run", "--list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(&id) && listed.contains("succeeded"),
        "{listed}"
    );
    let out = run_in(tmp.path(), &["run", "--prune", "1d"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run.exists(), "a fresh run is not pruned");
    let out = run_in(tmp.path(), &["run", "--delete", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!run.exists());
}

#[test]
fn max_procs_below_a_stage_that_needs_all_its_workers_is_refused() {
    let tmp = tempfile::tempdir().expect("dir");
    let file = write(
        tmp.path(),
        "ring.vcp",
        r#"pipeline ring {
  stage talk {
    image   = "busybox:1.36"
    workers = 3
    run     = "echo peers: $VC_WORKER_HOSTS"
  }
}
"#,
    );
    // The allreduce example declares MASTER_PORT (a rendezvous).
    let example = crate::common::root().join("examples/allreduce/pipeline.vcp");
    for file in [file.as_path(), example.as_path()] {
        let out = run_in(
            tmp.path(),
            &["run", "--max-procs", "1", file.to_str().expect("utf-8")],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("--max-procs"), "{}", stderr(&out));
        assert!(!tmp.path().join(".vcp").exists(), "nothing started");
    }
    let out = run_in(
        tmp.path(),
        &["run", "--max-procs", "3", file.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}
