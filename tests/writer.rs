//! The in-place writer under faults: files written into DIR during builds
//! survive, `kill -9` leaves nothing the next build does not clean, special
//! files never hang a build, the directory keeps its mode, owner, inode
//! and mount, concurrent builds are serialized, unchanged files keep their
//! mtime, and `--check --message-format json` prints JSON lines only.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn vcp(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("vcp runs")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A pipeline of `n` stages; `tag` changes every command (and so every
/// file but the library script).
fn pipeline(n: usize, tag: &str) -> String {
    let mut s = String::from("pipeline demo {\n");
    for i in 0..n {
        s.push_str(&format!(
            "  stage s{i} {{\n    image = \"busybox:1.36\"\n    run = \"echo {tag} {i}\"\n  }}\n"
        ));
    }
    s.push_str("}\n");
    s
}

/// Every entry under `dir`: files with their bytes, folders as `<dir>`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("readable").flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            if entry.file_type().expect("type").is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The tree a fresh build of `source` (as `p.vcp`) writes into an empty
/// directory.
fn fresh(source: &str) -> BTreeMap<String, Vec<u8>> {
    fresh_as("p.vcp", source)
}

fn fresh_as(name: &str, source: &str) -> BTreeMap<String, Vec<u8>> {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join(name), source).expect("write");
    ok(&vcp(tmp.path(), &["build", name, "-o", "deploy"]));
    tree(&tmp.path().join("deploy"))
}

#[test]
fn a_file_written_into_dir_during_builds_survives() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (a, b) = (pipeline(40, "a"), pipeline(40, "b"));
    std::fs::write(tmp.path().join("p.vcp"), &a).expect("write");
    ok(&vcp(tmp.path(), &["build", "p.vcp", "-o", "deploy"]));
    let deploy = tmp.path().join("deploy");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for folder in ["", "demo/", "demo/scripts/"] {
                    std::fs::write(deploy.join(format!("{folder}ours-{n}.txt")), "ours")
                        .expect("write ours");
                }
                n += 1;
            }
            n
        });
        for round in 0..10 {
            let source = if round % 2 == 0 { &b } else { &a };
            std::fs::write(tmp.path().join("p.vcp"), source).expect("write");
            ok(&vcp(
                tmp.path(),
                &["build", "--prune", "p.vcp", "-o", "deploy"],
            ));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().expect("writer")
    });
    assert!(written > 0);
    for n in 0..written {
        for folder in ["", "demo/", "demo/scripts/"] {
            let path = deploy.join(format!("{folder}ours-{n}.txt"));
            assert_eq!(std::fs::read(&path).expect("survived"), b"ours", "{path:?}");
        }
    }
}

#[test]
fn kill_9_rounds_then_one_build_leave_exactly_a_fresh_build() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let sources = [pipeline(300, "a"), pipeline(300, "b"), pipeline(150, "c")];
    let parent = tmp.path().join("out");
    std::fs::create_dir(&parent).expect("dir");
    let mut seed = 12345u64;
    for round in 0..20 {
        std::fs::write(tmp.path().join("p.vcp"), &sources[round % 3]).expect("write");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vcp"))
            .args(["build", "--prune", "p.vcp", "-o", "out/deploy"])
            .current_dir(tmp.path())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(5 + (seed >> 33) % 150));
        let _ = child.kill(); // SIGKILL
        child.wait().expect("wait");
    }
    std::fs::write(tmp.path().join("p.vcp"), &sources[0]).expect("write");
    let out = vcp(
        tmp.path(),
        &["build", "--prune", "p.vcp", "-o", "out/deploy"],
    );
    ok(&out);
    assert_eq!(names(&parent), ["deploy"], "nothing beside DIR");
    assert_eq!(tree(&parent.join("deploy")), fresh(&sources[0]));
}

#[test]
fn unchanged_files_keep_their_mtime_and_only_changed_ones_are_written() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let one = "pipeline demo {\n  stage a {\n    image = \"busybox:1.36\"\n    run = \"true\"\n  }\n  stage b {\n    image = \"busybox:1.36\"\n    run = \"true\"\n    after = [a]\n  }\n}\n";
    std::fs::write(tmp.path().join("p.vcp"), one).expect("write");
    ok(&vcp(tmp.path(), &["build", "p.vcp", "-o", "deploy"]));
    let deploy = tmp.path().join("deploy");
    let mtimes = |dir: &Path| -> BTreeMap<String, (i64, i64, u64)> {
        tree(dir)
            .into_iter()
            .filter(|(_, v)| v != b"<dir>")
            .map(|(k, _)| {
                let m = std::fs::metadata(dir.join(&k)).expect("meta");
                (k, (m.mtime(), m.mtime_nsec(), m.ino()))
            })
            .collect()
    };
    let before = mtimes(&deploy);
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        tmp.path().join("p.vcp"),
        one.replace("run = \"true\"\n    after", "run = \"false\"\n    after"),
    )
    .expect("write");
    let out = vcp(tmp.path(), &["build", "p.vcp", "-o", "deploy"]);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unchanged"), "{stderr}");
    let after = mtimes(&deploy);
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    // Stage b's script, its JobTemplate, the ConfigMaps and the JobFlow
    // (whose spec hash covers b).
    assert_eq!(
        changed,
        [
            "demo/00-configmaps.yaml",
            "demo/10-jobtemplate-b.yaml",
            "demo/20-jobflow.yaml",
            "demo/scripts/b.sh"
        ]
    );
}

#[test]
fn dot_pwd_and_a_mode_750_dir_keep_their_mode_group_and_inode() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = tmp.path().join("p.vcp");
    std::fs::write(&src, pipeline(3, "a")).expect("write");
    let deploy = tmp.path().join("deploy");
    std::fs::create_dir(&deploy).expect("dir");
    std::fs::set_permissions(&deploy, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    // Group 1 (daemon) where we may change it; the mode alone otherwise.
    let _ = std::os::unix::fs::chown(&deploy, None, Some(1));
    let meta = std::fs::metadata(&deploy).expect("meta");
    let src = src.to_string_lossy().into_owned();
    let abs = deploy.to_string_lossy().into_owned();
    for (round, (cwd, out)) in [
        (tmp.path(), "deploy"),
        (deploy.as_path(), "."),
        (deploy.as_path(), abs.as_str()),
        (tmp.path(), abs.as_str()),
    ]
    .into_iter()
    .enumerate()
    {
        let tag = ["a", "b", "c", "d"][round];
        std::fs::write(&src, pipeline(3, tag)).expect("write");
        ok(&vcp(cwd, &["build", "--prune", &src, "-o", out]));
        let now = std::fs::metadata(&deploy).expect("meta");
        assert_eq!(now.mode(), meta.mode(), "{out}");
        assert_eq!(now.gid(), meta.gid(), "{out}");
        assert_eq!(now.uid(), meta.uid(), "{out}");
        assert_eq!(now.ino(), meta.ino(), "{out}: the same directory");
        let mut files = names(&deploy);
        files.retain(|n| n != "p.vcp");
        assert_eq!(files, ["demo", "kustomization.yaml"], "{out}");
        assert_eq!(tree(&deploy), fresh(&pipeline(3, tag)), "{out}");
        // The calling shell's directory still exists.
        assert!(cwd.exists());
    }
}

#[test]
fn a_mount_point_is_updated_in_place() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let deploy = tmp.path().join("deploy");
    std::fs::create_dir(&deploy).expect("dir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&deploy)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        for tag in ["a", "b"] {
            std::fs::write(tmp.path().join("p.vcp"), pipeline(5, tag)).expect("write");
            ok(&vcp(
                tmp.path(),
                &["build", "--prune", "p.vcp", "-o", "deploy"],
            ));
            assert_eq!(tree(&deploy), fresh(&pipeline(5, tag)));
        }
        // A full disk: the build fails, each file is whole, the next good
        // build (with room again) repairs everything.
        // Fill the disk, then free 128 KiB: the build starts, then fails.
        {
            use std::io::Write as _;
            let mut filler = std::fs::File::create(deploy.join("filler")).expect("filler");
            let chunk = vec![b'x'; 64 * 1024];
            while filler.write_all(&chunk).is_ok() {}
            let len = filler.metadata().expect("meta").len();
            filler
                .set_len(len.saturating_sub(128 * 1024))
                .expect("free");
        }
        std::fs::write(tmp.path().join("p.vcp"), pipeline(300, "c")).expect("write");
        let out = vcp(tmp.path(), &["build", "p.vcp", "-o", "deploy"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("No space left"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(names(&deploy).iter().all(|n| !n.starts_with(".vcp-tmp")));
        std::fs::remove_file(deploy.join("filler")).expect("room");
        ok(&vcp(
            tmp.path(),
            &["build", "--prune", "p.vcp", "-o", "deploy"],
        ));
        assert_eq!(tree(&deploy), fresh(&pipeline(300, "c")));
    });
    let _ = Command::new("umount").arg(&deploy).status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn special_files_in_dir_never_hang_a_build() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("p.vcp"), pipeline(2, "a")).expect("write");
    ok(&vcp(tmp.path(), &["build", "p.vcp", "-o", "deploy"]));
    let target = tmp.path().join("deploy/demo/10-jobtemplate-s0.yaml");
    std::fs::remove_file(&target).expect("remove");
    nix_mkfifo(&target);
    // Elsewhere a FIFO is someone else's file: left alone.
    nix_mkfifo(&tmp.path().join("deploy/demo/pipe.yaml"));
    for args in [
        &["build", "p.vcp", "-o", "deploy"][..],
        &["build", "--check", "p.vcp", "-o", "deploy"],
        &["build", "--prune", "p.vcp", "-o", "deploy"],
    ] {
        let start = Instant::now();
        let out = vcp(tmp.path(), args);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stderr.contains("is a FIFO") || stdout.contains("is a FIFO"),
            "{args:?}: {stderr}{stdout}"
        );
    }
    std::fs::remove_file(&target).expect("remove");
    ok(&vcp(tmp.path(), &["build", "p.vcp", "-o", "deploy"]));
    assert!(tmp.path().join("deploy/demo/pipe.yaml").exists());
}

fn nix_mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[test]
fn a_second_build_waits_for_the_first_and_says_so() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("p.vcp"), pipeline(2, "a")).expect("write");
    let deploy = tmp.path().join("deploy");
    std::fs::create_dir(&deploy).expect("dir");
    // Hold the lock the way a build does.
    let held = std::fs::File::open(&deploy).expect("open");
    held.lock().expect("lock");
    let child = Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(["build", "p.vcp", "-o", "deploy"])
        .current_dir(tmp.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(names(&deploy), Vec::<String>::new(), "it waits");
    held.unlock().expect("unlock");
    let out = child.wait_with_output().expect("wait");
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("waiting for another vcp build"));
    assert_eq!(tree(&deploy), fresh(&pipeline(2, "a")));
    // Two builds at once, of different sources: the last one wins whole.
    let (a, b) = (tmp.path().join("a.vcp"), tmp.path().join("b.vcp"));
    std::fs::write(&a, pipeline(200, "a")).expect("write");
    std::fs::write(&b, pipeline(200, "b")).expect("write");
    let spawn = |src: &Path| {
        Command::new(env!("CARGO_BIN_EXE_vcp"))
            .args(["build", "--prune"])
            .arg(src)
            .args(["-o", "deploy"])
            .current_dir(tmp.path())
            .output()
    };
    std::thread::scope(|scope| {
        let one = scope.spawn(|| spawn(&a));
        let two = scope.spawn(|| spawn(&b));
        ok(&one.join().expect("one").expect("runs"));
        ok(&two.join().expect("two").expect("runs"));
    });
    let now = tree(&deploy);
    let (fa, fb) = (
        fresh_as("a.vcp", &pipeline(200, "a")),
        fresh_as("b.vcp", &pipeline(200, "b")),
    );
    assert!(now == fa || now == fb, "one whole build");
}

#[test]
fn json_check_prints_only_json_lines_on_stdout() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("p.vcp"), pipeline(2, "a")).expect("write");
    ok(&vcp(tmp.path(), &["build", "p.vcp", "-o", "deploy"]));
    std::fs::write(tmp.path().join("p.vcp"), pipeline(3, "b")).expect("write");
    std::fs::copy(
        tmp.path().join("deploy/demo/10-jobtemplate-s0.yaml"),
        tmp.path().join("deploy/demo/old.yaml"),
    )
    .expect("copy");
    let out = vcp(
        tmp.path(),
        &[
            "--message-format",
            "json",
            "build",
            "--check",
            "p.vcp",
            "-o",
            "deploy",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let mut statuses = Vec::new();
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(v["kind"], "drift");
        statuses.push(v["status"].as_str().expect("status").to_string());
        if v["status"] == "changed" {
            assert!(
                v["detail"]
                    .as_str()
                    .expect("diff")
                    .contains("(from sources)")
            );
        }
    }
    assert!(statuses.contains(&"changed".into()), "{statuses:?}");
    assert!(statuses.contains(&"missing".into()), "{statuses:?}");
    assert!(statuses.contains(&"stale".into()), "{statuses:?}");
}
