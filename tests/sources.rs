//! What vcp reads, and how the output names it: only regular files of at
//! most 64 MiB are sources (a FIFO or `/dev/zero` ends within seconds in
//! E0303), raw control bytes in strings are E0002, one file reached by two
//! paths is one file, and the output is the same bytes from any working
//! directory and for any spelling of the paths (relative, absolute, through
//! a link), `build --check` included.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const GOOD: &str =
    "pipeline demo {\n  stage work {\n    image = \"busybox:1.36\"\n    run = \"true\"\n  }\n}\n";

fn vcp(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("vcp runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `vcp` with a deadline: a hang is a failure, not a stuck test.
fn vcp_within(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vcp {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn fifos_and_devices_are_refused_within_seconds() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let fifo = tmp.path().join("fifo.vcp");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let importer = |target: &str| format!("import \"{target}\"\n{GOOD}");
    std::fs::write(tmp.path().join("a.vcp"), importer("fifo.vcp")).expect("write");
    std::fs::write(tmp.path().join("b.vcp"), importer("/dev/zero")).expect("write");
    std::fs::write(tmp.path().join("c.vcp"), importer("sub")).expect("write");
    std::fs::create_dir(tmp.path().join("sub")).expect("dir");
    for args in [
        &["check", "a.vcp"][..],
        &["check", "b.vcp"],
        &["check", "c.vcp"],
        &["check", "fifo.vcp"],
        &["check", "/dev/zero"],
        &["build", "/dev/zero", "-o", "-"],
    ] {
        let out = vcp_within(tmp.path(), args, Duration::from_secs(10));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let shown = text(&out);
        assert!(shown.contains("E0303"), "{args:?}: {shown}");
        assert!(
            shown.contains("FIFO")
                || shown.contains("character device")
                || shown.contains("directory"),
            "{args:?}: {shown}"
        );
    }
}

#[test]
fn a_source_over_64_mib_is_refused_by_its_size() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Sparse: 65 MiB that take no room on the disk.
    let big = std::fs::File::create(tmp.path().join("big.vcp")).expect("create");
    big.set_len(65 * 1024 * 1024).expect("set_len");
    std::fs::write(
        tmp.path().join("p.vcp"),
        format!("import \"big.vcp\"\n{GOOD}"),
    )
    .expect("write");
    let out = vcp_within(tmp.path(), &["check", "p.vcp"], Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("E0303"), "{}", text(&out));
    assert!(text(&out).contains("67108864"), "{}", text(&out));
}

#[test]
fn raw_nul_and_control_bytes_in_strings_are_coded_errors() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for (bad, want) in [
        ("run = \"a\0b\"", "a NUL character is in this string"),
        ("run = \"a\\u{0}b\"", "a NUL character (`\\u{0}`)"),
        ("run = \"\"\"\n      a\x1bb\n    \"\"\"", "U+001B"),
        ("run = \"a\x07b\"", "U+0007"),
    ] {
        std::fs::write(
            tmp.path().join("p.vcp"),
            GOOD.replace("run = \"true\"", bad),
        )
        .expect("write");
        let out = vcp(tmp.path(), &["check", "p.vcp"]);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
        let shown = text(&out);
        assert!(shown.contains("E0002"), "{bad:?}: {shown}");
        assert!(shown.contains(want), "{bad:?}: {shown}");
    }
}

/// A repository with `vcp.toml` at its root, sources in `pipelines/`, a
/// shared file imported by two spellings, the output in `deploy/`.
fn repository() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    std::fs::write(root.join("vcp.toml"), "").expect("write");
    std::fs::create_dir_all(root.join("pipelines/shared")).expect("dirs");
    std::fs::write(
        root.join("pipelines/shared/base.vcp"),
        "template small {\n  image = \"busybox:1.36\"\n}\n",
    )
    .expect("write");
    let abs = root.join("pipelines/shared/base.vcp");
    std::fs::write(
        root.join("pipelines/etl.vcp"),
        format!(
            "import \"shared/base.vcp\"\nimport \"./shared/../shared/base.vcp\"\nimport \"{}\"\n\
             pipeline etl {{\n  stage work {{\n    use = small\n    run = \"true\"\n  }}\n}}\n",
            abs.display()
        ),
    )
    .expect("write");
    tmp
}

#[test]
fn one_file_imported_by_several_paths_is_one_file() {
    let tmp = repository();
    let out = vcp(tmp.path(), &["check", "pipelines/etl.vcp"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("E0202"), "{}", text(&out));
}

#[test]
fn the_output_is_the_same_from_any_directory_and_any_spelling() {
    let tmp = repository();
    let root = tmp.path().canonicalize().expect("canonical");
    let out = vcp(&root, &["build", "pipelines", "-o", "deploy"]);
    assert!(out.status.success(), "{}", text(&out));
    let header = std::fs::read_to_string(root.join("deploy/etl/kustomization.yaml")).expect("read");
    assert!(
        header.starts_with("# Code generated by vcp from pipelines/etl.vcp. DO NOT EDIT.\n"),
        "{header}"
    );
    // A link to the repository, as a CI checkout or a home directory has.
    let link = tempfile::tempdir().expect("link dir");
    std::os::unix::fs::symlink(&root, link.path().join("repo")).expect("symlink");
    let via_link = link.path().join("repo");
    let abs_src = root.join("pipelines/etl.vcp");
    let abs_out = root.join("deploy");
    let cases: Vec<(std::path::PathBuf, Vec<String>)> = vec![
        (
            root.clone(),
            vec!["pipelines/etl.vcp".into(), "deploy".into()],
        ),
        (
            root.join("pipelines"),
            vec!["etl.vcp".into(), "../deploy".into()],
        ),
        (
            root.join("pipelines/shared"),
            vec!["../etl.vcp".into(), "../../deploy".into()],
        ),
        (
            std::env::temp_dir(),
            vec![abs_src.display().to_string(), abs_out.display().to_string()],
        ),
        (
            via_link.join("pipelines"),
            vec![
                "./etl.vcp".into(),
                via_link.join("deploy").display().to_string(),
            ],
        ),
        (
            link.path().to_path_buf(),
            vec![
                "repo/pipelines/../pipelines/etl.vcp".into(),
                "repo/deploy/".into(),
            ],
        ),
    ];
    for (cwd, args) in &cases {
        let out = vcp(cwd, &["build", "--check", &args[0], "-o", &args[1]]);
        assert!(
            out.status.success(),
            "from {cwd:?} with {args:?}:\n{}",
            text(&out)
        );
        // The stream is the same bytes too.
        let stream = vcp(cwd, &["build", &args[0], "-o", "-"]);
        let here = vcp(&root, &["build", "pipelines/etl.vcp", "-o", "-"]);
        assert_eq!(stream.stdout, here.stdout, "from {cwd:?}");
    }
}

/// Kubernetes rejects more than 256 KiB of annotations on one object: the
/// issue's 300 KB annotation, and a stage's that fit alone but not with its
/// pipeline's, are E0508; 250 KB in all is fine.
#[test]
fn annotations_over_256_kib_are_e0508() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let big = |n: usize| "x".repeat(n);
    for (pipeline, stage, fails) in [
        (300_000, 0, true),
        (0, 300_000, true),
        (130_000, 130_000, true),
        (125_000, 125_000, false),
    ] {
        let source = format!(
            "pipeline demo {{\n  annotations {{ a = \"{}\" }}\n  stage work {{\n    image = \"busybox:1.36\"\n    run = \"true\"\n    annotations {{ b = \"{}\" }}\n  }}\n}}\n",
            big(pipeline),
            big(stage)
        );
        std::fs::write(tmp.path().join("p.vcp"), source).expect("write");
        let out = vcp(tmp.path(), &["check", "p.vcp"]);
        assert_eq!(
            out.status.code(),
            Some(if fails { 1 } else { 0 }),
            "{pipeline} + {stage}"
        );
        assert_eq!(text(&out).contains("E0508"), fails, "{pipeline} + {stage}");
    }
}
