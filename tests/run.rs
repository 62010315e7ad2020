//! `vcp run` end to end: the real binary, real processes, real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vcp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vcp"))
}

/// A scratch directory that is the working directory of the runs.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    vcp()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("vcp runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The id of the only run under `dir`.
fn run_id(dir: &Path) -> String {
    let runs: Vec<_> = std::fs::read_dir(dir.join(".vcp/runs"))
        .expect("runs")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(runs.len(), 1, "one run expected");
    runs[0].to_string_lossy().into_owned()
}

fn run_dir(dir: &Path) -> PathBuf {
    dir.join(".vcp/runs").join(run_id(dir))
}

#[test]
fn cube_volcano_processes_every_item_exactly_once() {
    let tmp = scratch();
    let example = crate::common::root().join("examples/cube-volcano/pipeline.vcp");
    let out = run_in(tmp.path(), &["run", example.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = run_dir(tmp.path());
    let results = run.join("volumes/results");
    let mut seen = Vec::new();
    for rank in 0..3 {
        // Each worker saw only its shard: items i with i mod 3 == rank.
        for entry in
            std::fs::read_dir(results.join(format!("worker-{rank}"))).expect("worker results")
        {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let item: u32 = name.trim_end_matches(".txt").parse().expect("item file");
            assert_eq!(item % 3, rank, "item {item} done by worker {rank}");
            seen.push(item);
        }
        let log = std::fs::read_to_string(run.join(format!("square/worker-{rank}.log")))
            .expect("worker log");
        // Every line of the worker is prefixed with its rank; vcp's own
        // lines (the attempt header) start with `vcp: `.
        assert!(
            log.lines()
                .all(|l| l.starts_with(&format!("[square {rank}] ")) || l.starts_with("vcp: ")),
            "every line prefixed with the rank: {log}"
        );
        assert!(log.starts_with("vcp: ==== worker "), "{log}");
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..300).collect::<Vec<_>>(), "300 items, each once");
    // The reduce step saw every worker's output.
    assert_eq!(
        std::fs::read_to_string(results.join("sum.txt"))
            .expect("sum")
            .trim(),
        "8955050"
    );
    assert!(
        std::fs::read_to_string(run.join("square/reduce.log"))
            .expect("reduce log")
            .contains("300 items from 3 workers")
    );
}

#[test]
fn every_example_runs() {
    for dir in crate::common::examples() {
        if dir.ends_with("cube-volcano") {
            continue; // its own test above
        }
        let tmp = scratch();
        let file = dir.join("pipeline.vcp");
        let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8 path")]);
        assert!(out.status.success(), "{}: {}", dir.display(), stderr(&out));
        let run = run_dir(tmp.path());
        let logs: Vec<_> = walk(&run)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        assert!(!logs.is_empty(), "{}: per-worker logs", dir.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A pipeline whose item 7 fails while `fail-7` exists in the data volume,
/// and whose items record each run in `runs.txt`.
fn flaky_pipeline(dir: &Path, retry: u32, sleep: &str) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let file = dir.join("flaky.vcp");
    std::fs::write(
        &file,
        format!(
            r#"pipeline flaky {{
  volume data {{ claim = "data", mount = "/data", local = "data" }}
  stage work {{
    image    = "busybox:1.36"
    workers  = 3
    parallel = 2
    shard    = range(0, 30)
    retry    = {retry}
    run      = """
      echo "{{item}}" >> "$VCP_VOLUME_DATA/runs.txt"
      if [ {{item}} = 7 ] && [ -e "$VCP_VOLUME_DATA/fail-7" ]; then
        [ -e "$VCP_VOLUME_DATA/once" ] && rm -f "$VCP_VOLUME_DATA/fail-7"
        echo "item 7 breaks" >&2
        exit 3
      fi
      sleep {sleep}
      """
  }}
}}
"#
        ),
    )
    .expect("write pipeline");
    file
}

fn runs_of(dir: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(dir.join("data/runs.txt")).unwrap_or_default();
    let mut items: Vec<u32> = text.lines().map(|l| l.parse().expect("item")).collect();
    items.sort_unstable();
    items
}

#[test]
fn an_item_that_fails_once_is_retried_and_the_run_succeeds() {
    let tmp = scratch();
    let file = flaky_pipeline(tmp.path(), 1, "0");
    std::fs::write(tmp.path().join("data/fail-7"), "").expect("marker");
    std::fs::write(tmp.path().join("data/once"), "").expect("marker");
    let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("restarting it, retry 1 of 1"),
        "{}",
        stderr(&out)
    );
    let runs = runs_of(tmp.path());
    assert_eq!(
        runs.iter().filter(|&&i| i == 7).count(),
        2,
        "item 7 ran twice"
    );
    // The restarted worker skipped the items it had done.
    assert_eq!(runs.len(), 31, "{runs:?}");
}

#[test]
fn a_permanent_failure_stops_the_run_names_the_item_and_resume_finishes_the_rest() {
    let tmp = scratch();
    let file = flaky_pipeline(tmp.path(), 0, "0.2");
    std::fs::write(tmp.path().join("data/fail-7"), "").expect("marker");
    let started = Instant::now();
    let out = run_in(tmp.path(), &["run", file.to_str().expect("utf-8")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "fails within seconds"
    );
    assert!(err.contains("stage `work`, worker 1"), "{err}");
    assert!(err.contains("failed item 7 (7): exit status 3"), "{err}");
    assert!(
        err.contains("item 7 breaks"),
        "the summary shows the log's last lines: {err}"
    );
    let first = runs_of(tmp.path());
    assert!(
        first.len() < 30,
        "the other workers were stopped before finishing: {first:?}"
    );

    // Fix the cause and resume: nothing done is processed twice.
    std::fs::remove_file(tmp.path().join("data/fail-7")).expect("remove marker");
    let id = run_id(tmp.path());
    let out = run_in(tmp.path(), &["run", "--resume", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = runs_of(tmp.path());
    for item in 0..30u32 {
        let times = all.iter().filter(|&&i| i == item).count();
        // Item 7 ran (and failed) once before; an item interrupted mid-run may repeat.
        assert!(times >= 1, "item {item} never ran");
    }
    let done_first: Vec<u32> = first.iter().copied().filter(|&i| i != 7).collect();
    let repeated: Vec<u32> = done_first
        .iter()
        .copied()
        .filter(|i| all.iter().filter(|&&j| j == *i).count() > 1)
        .collect();
    // Items recorded as done are never repeated; an item still running
    // when the run stopped has no record and runs again.
    assert!(
        repeated.len() <= 6,
        "at most the items in flight (3 workers x 2 lanes) repeat: {repeated:?}"
    );
}

#[test]
fn sigint_stops_every_process_of_the_run() {
    let tmp = scratch();
    let file = tmp.path().join("slow.vcp");
    std::fs::write(
        &file,
        r#"pipeline slow {
  volume data { claim = "data", mount = "/data", local = "data" }
  stage wait {
    image   = "busybox:1.36"
    workers = 3
    shard   = range(0, 6)
    parallel = 2
    run     = "ps -o pgid= -p $$ >> \"$VCP_VOLUME_DATA/groups\"; sleep 300 # {item}"
  }
}
"#,
    )
    .expect("write");
    std::fs::create_dir_all(tmp.path().join("data")).expect("data");
    let child = vcp()
        .args(["run", file.to_str().expect("utf-8")])
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vcp");
    // Wait until all six items are sleeping.
    let groups_file = tmp.path().join("data/groups");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&groups_file).map_or(0, |t| t.lines().count()) < 6 {
        assert!(Instant::now() < deadline, "workers did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("send SIGINT");
    let out = child.wait_with_output().expect("vcp exits");
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let groups: Vec<i32> = std::fs::read_to_string(&groups_file)
        .expect("groups")
        .lines()
        .map(|l| l.trim().parse().expect("pgid"))
        .collect();
    for g in groups {
        // Signal 0 to the group: ESRCH means no process of it is left.
        let alive = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(g), None).is_ok();
        assert!(!alive, "process group {g} survived");
    }
}

#[test]
fn usage_errors_exit_2() {
    let tmp = scratch();
    let out = run_in(tmp.path(), &["run"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_in(tmp.path(), &["run", "--resume", "no-such-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot resume run `no-such-run`"));
}

#[test]
fn follow_mirrors_every_worker_line() {
    let tmp = scratch();
    let file = tmp.path().join("echo.vcp");
    std::fs::write(
        &file,
        r#"pipeline echo {
  stage say {
    image   = "busybox:1.36"
    workers = 2
    shard   = ["a", "b", "c", "d"]
    run     = "echo hello {item}"
  }
}
"#,
    )
    .expect("write");
    let out = run_in(
        tmp.path(),
        &["run", "--follow", file.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (rank, item) in [(0, "a"), (1, "b"), (0, "c"), (1, "d")] {
        assert!(
            stdout.contains(&format!("[say {rank}] hello {item}")),
            "{stdout}"
        );
    }
}

#[test]
fn max_procs_runs_workers_in_waves() {
    let run_waves = |extra: &[&str]| {
        let tmp = scratch();
        let file = tmp.path().join("waves.vcp");
        std::fs::write(
            &file,
            r#"pipeline waves {
  volume data { claim = "data", mount = "/data", local = "data" }
  stage work {
    image   = "busybox:1.36"
    workers = 3
    gang    = false
    run     = """
      d="$VCP_VOLUME_DATA"
      touch "$d/running-$RANK"
      sleep 1.5
      for f in "$d"/running-*; do
        if [ "$f" != "$d/running-$RANK" ]; then touch "$d/overlap-$RANK"; fi
      done
      rm "$d/running-$RANK"
      """
  }
}
"#,
        )
        .expect("write");
        std::fs::create_dir_all(tmp.path().join("data")).expect("data");
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.push(file.to_str().expect("utf-8"));
        let out = run_in(tmp.path(), &args);
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::read_dir(tmp.path().join("data"))
            .expect("dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("overlap-"))
            })
            .count()
    };
    // All three at once without a limit (each announces itself, then looks
    // for the others 1.5 s later: workers started together see each other)...
    assert!(run_waves(&[]) > 0);
    // ...one at a time with --max-procs 1.
    assert_eq!(run_waves(&["--max-procs", "1"]), 0);
}
