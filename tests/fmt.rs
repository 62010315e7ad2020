//! `vcp fmt`: the formatted file builds to the same bytes as the original,
//! formatting twice changes nothing, the layout follows docs/fmt.md, and the
//! CLI rewrites only what changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vcp::check::{Loader, MemoryLoader, Options};
use vcp::cli::FsLoader;
use vcp::fmt::format;

fn fmt_ok(text: &str) -> String {
    match format(text) {
        Ok(out) => out,
        Err(diags) => panic!("format failed on\n{text}\n{diags:#?}"),
    }
}

/// Formats and checks idempotence.
fn fmt_stable(text: &str) -> String {
    let once = fmt_ok(text);
    let twice = fmt_ok(&once);
    assert_eq!(once, twice, "format is not idempotent on\n{text}");
    once
}

// ---------------------------------------------------------------- the repository's files

/// Every `.vcp` file below `dir`, sorted.
fn vcp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "vcp") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Reads files from the disk and formats each user file before the checker
/// sees it: a build through this loader is the build of the formatted files.
struct Formatting(FsLoader);

impl Loader for Formatting {
    fn load(&mut self, path: &str) -> Result<String, String> {
        let text = self.0.load(path)?;
        format(&text).map_err(|d| format!("{path} does not format: {d:?}"))
    }

    fn identity(&mut self, path: &str) -> Result<vcp::check::Identity, (vcp::diag::Code, String)> {
        self.0.identity(path)
    }
}

/// Builds `roots` as they are and formatted; both must succeed with the
/// same files, byte for byte.
fn assert_same_build(roots: &[String], options: &Options) {
    let (checked, before) = vcp::compile(roots, &mut FsLoader, options);
    let before =
        before.unwrap_or_else(|| panic!("{roots:?} does not build: {:?}", checked.diagnostics));
    let (checked, after) = vcp::compile(roots, &mut Formatting(FsLoader), options);
    let after = after.unwrap_or_else(|| {
        panic!(
            "{roots:?} does not build once formatted: {:?}",
            checked.diagnostics
        )
    });
    assert_eq!(
        before.files.keys().collect::<Vec<_>>(),
        after.files.keys().collect::<Vec<_>>()
    );
    for (path, text) in &before.files {
        let (before, after) = (
            without_lines(&text.to_string()),
            without_lines(&after.files[path].to_string()),
        );
        if before != after {
            let diff = before.lines().zip(after.lines()).find(|(a, b)| a != b);
            panic!("{roots:?}: {path} differs once formatted: {diff:?}");
        }
    }
}

/// A build's text without what depends on where things are in the source:
/// the `file:line` of the `vcp.dev/source` annotations, and the spec hashes
/// computed over manifests that carry them. Everything else must be equal.
fn without_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if let Some(at) = line.find("vcp.dev/source: ") {
            let value = &line[at..];
            let cut = value
                .rfind(':')
                .filter(|&c| value[c + 1..].bytes().all(|b| b.is_ascii_digit()));
            out.push_str(&line[..at]);
            out.push_str(cut.map_or(value, |c| &value[..c]));
            out.push_str(":LINE");
        } else if let Some(at) = line.find("vcp.dev/spec-hash: ") {
            out.push_str(&line[..at]);
            out.push_str("vcp.dev/spec-hash: HASH");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[test]
fn examples_build_the_same_once_formatted() {
    for dir in crate::common::examples() {
        let name = dir
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        assert_same_build(
            &[format!("examples/{name}/pipeline.vcp")],
            &Options::default(),
        );
    }
}

#[test]
fn ok_ui_cases_build_the_same_once_formatted() {
    let root = crate::common::root();
    let mut seen = 0;
    for path in vcp_files(&root.join("tests/ui")) {
        let name = path
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        if !name.starts_with("ok-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut options = Options::default();
        if let Some(args) = text.lines().next().and_then(|l| l.strip_prefix("# args:")) {
            let words: Vec<&str> = args.split_whitespace().filter(|w| *w != "--set").collect();
            for kv in words {
                let (k, v) = kv.split_once('=').expect("--set name=value");
                options.sets.push((k.to_string(), v.to_string()));
            }
        }
        let rel = path
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        assert_same_build(&[rel], &options);
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} ok- cases found");
}

/// The standard library is embedded, so its formatted text is built as a
/// local import: a stage per template, through the original text and
/// through the formatted one.
#[test]
fn stdlib_modules_build_the_same_once_formatted() {
    for (name, text) in vcp::stdlib::MODULES {
        let parsed = vcp::syntax::parse(vcp::source::FileId(0), text);
        let templates: Vec<String> = parsed
            .file
            .items
            .iter()
            .filter_map(|i| match i {
                vcp::syntax::ast::Item::Template(d) => Some(d.name.name.clone()),
                _ => None,
            })
            .collect();
        assert!(!templates.is_empty(), "{name} has no template");
        let mut pipeline =
            String::from("import \"lib.vcp\"\npipeline p {\n  image = \"busybox:1.36\"\n");
        for t in &templates {
            pipeline.push_str(&format!(
                "  stage s-{t} {{\n    use = {t}\n    run = \"true\"\n  }}\n"
            ));
        }
        pipeline.push_str("}\n");
        let build = |lib: String| {
            let mut loader = MemoryLoader::new([
                ("p.vcp".to_string(), pipeline.clone()),
                ("lib.vcp".to_string(), lib),
            ]);
            let (checked, output) =
                vcp::compile(&["p.vcp".to_string()], &mut loader, &Options::default());
            output
                .unwrap_or_else(|| panic!("{name}: {:?}", checked.diagnostics))
                .files
        };
        let formatted = fmt_stable(text);
        assert_eq!(build(text.to_string()), build(formatted), "{name}");
    }
}

#[test]
fn formatting_is_idempotent_on_every_file_that_parses() {
    let root = crate::common::root();
    let mut files: Vec<(String, String)> = Vec::new();
    for dir in ["examples", "tests/ui"] {
        for path in vcp_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&path).expect("readable");
            files.push((path.display().to_string(), text));
        }
    }
    for (name, text) in vcp::stdlib::MODULES {
        files.push((name.to_string(), text.to_string()));
    }
    let mut formatted = 0;
    for (name, text) in &files {
        let parsed = vcp::syntax::parse(vcp::source::FileId(0), text);
        match format(text) {
            Ok(once) => {
                assert!(
                    parsed.diagnostics.is_empty(),
                    "{name}: formatted despite syntax errors"
                );
                assert_eq!(fmt_ok(&once), once, "{name}: not idempotent");
                formatted += 1;
            }
            // Never formatted: the syntax errors come back, unchanged.
            Err(diags) => assert_eq!(diags, parsed.diagnostics, "{name}"),
        }
    }
    assert!(formatted > 50, "only {formatted} files formatted");
}

#[test]
fn examples_and_stdlib_keep_every_comment() {
    let root = crate::common::root();
    let mut paths = vcp_files(&root.join("examples"));
    paths.extend(vcp_files(&root.join("stdlib")));
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("readable");
        let out = fmt_stable(&text);
        // Comments survive: every comment line of the source is still there.
        for line in text.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(
                out.contains(line.trim()),
                "{}: lost {line:?}",
                path.display()
            );
        }
    }
}

/// The repository's own files are in the canonical layout.
#[test]
fn examples_and_stdlib_are_formatted() {
    let root = crate::common::root();
    let mut paths = vcp_files(&root.join("examples"));
    paths.extend(vcp_files(&root.join("stdlib")));
    let unformatted: Vec<String> = paths
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("readable");
            fmt_ok(&text) != text
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "run `vcp fmt` on: {unformatted:?}");
}

// The examples of docs/fmt.md are tested with every other page's, in
// tests/docs.rs.

// ---------------------------------------------------------------- the layout rules

/// Each `tests/fmt/cases/<name>.in.vcp` formats to `<name>.out.vcp`, which
/// is formatted already (`VCP_BLESS=1 cargo test` rewrites the `.out.vcp`
/// files; read the diff).
#[test]
fn cases_format_to_their_expected_output() {
    let dir = crate::common::root().join("tests/fmt/cases");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/fmt/cases exists") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(case) = name.strip_suffix(".in.vcp") {
            names.push(case.to_string());
        } else {
            assert!(
                name.ends_with(".out.vcp"),
                "tests/fmt/cases/{name}: a case is <name>.in.vcp and <name>.out.vcp"
            );
        }
    }
    names.sort();
    assert!(names.len() >= 10, "{} cases", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let input = std::fs::read_to_string(dir.join(format!("{name}.in.vcp"))).expect("input");
        let out_path = dir.join(format!("{name}.out.vcp"));
        let formatted = fmt_stable(&input);
        if crate::common::blessing() {
            std::fs::write(&out_path, &formatted).expect("write");
            continue;
        }
        match std::fs::read_to_string(&out_path) {
            Ok(expected) if expected == formatted => {}
            Ok(expected) => failures.push(format!(
                "{name}:\n{}",
                similar::TextDiff::from_lines(&expected, &formatted)
                    .unified_diff()
                    .header(&format!("{name}.out.vcp"), "formatted")
            )),
            Err(e) => failures.push(format!("{name}.out.vcp: {e}")),
        }
    }
    for entry in std::fs::read_dir(&dir).expect("listed") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(case) = name.strip_suffix(".out.vcp") {
            assert!(
                names.iter().any(|n| n == case),
                "tests/fmt/cases/{name} has no {case}.in.vcp"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(run `VCP_BLESS=1 cargo test` to accept)",
        failures.join("\n")
    );
}

#[test]
fn syntax_errors_are_returned_not_formatted() {
    let text = "pipeline p {\n  workers == 3\n}\n";
    let diags = format(text).expect_err("a syntax error");
    assert!(!diags.is_empty());
    assert!(diags.iter().all(|d| d.code == vcp::diag::Code::Syntax));
}

// ---------------------------------------------------------------- generated inputs

mod generated;

// ---------------------------------------------------------------- the CLI

fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn tree(dir: &Path) -> BTreeMap<String, String> {
    crate::common::read_tree(dir)
}

const UNFORMATTED: &str = "pipeline p {\nnamespace=\"x\"\n}\n";
const FORMATTED: &str = "pipeline p {\n  namespace = \"x\"\n}\n";

#[test]
fn cli_check_reports_and_writes_nothing() {
    let dir = scratch(&[("a.vcp", UNFORMATTED), ("sub/b.vcp", FORMATTED)]);
    let before = tree(dir.path());
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], true),
        ExitCode::from(1)
    );
    assert_eq!(tree(dir.path()), before);
    let formatted = scratch(&[("b.vcp", FORMATTED)]);
    assert_eq!(
        vcp::cli::fmt::format_files(&[formatted.path().to_path_buf()], true),
        ExitCode::SUCCESS
    );
}

#[test]
fn cli_rewrites_only_changed_files() {
    let dir = scratch(&[
        ("a.vcp", UNFORMATTED),
        ("sub/b.vcp", FORMATTED),
        ("target/c.vcp", UNFORMATTED),
        (".vcp/d.vcp", UNFORMATTED),
        ("notes.txt", UNFORMATTED),
    ]);
    let b = dir.path().join("sub/b.vcp");
    let old_time = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&b)
        .and_then(|f| f.set_modified(old_time))
        .expect("set mtime");
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], false),
        ExitCode::SUCCESS
    );
    let after = tree(dir.path());
    assert_eq!(after["a.vcp"], FORMATTED);
    assert_eq!(after["sub/b.vcp"], FORMATTED);
    assert_eq!(after["target/c.vcp"], UNFORMATTED, "target/ is skipped");
    assert_eq!(
        after[".vcp/d.vcp"], UNFORMATTED,
        "hidden folders are skipped"
    );
    assert_eq!(after["notes.txt"], UNFORMATTED);
    assert_eq!(after.len(), 5, "no temporary file left: {:?}", after.keys());
    let mtime = std::fs::metadata(&b)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(mtime, old_time, "an unchanged file is not rewritten");
    // Named explicitly, a file is formatted whatever its name.
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().join("target/c.vcp")], false),
        ExitCode::SUCCESS
    );
    assert_eq!(tree(dir.path())["target/c.vcp"], FORMATTED);
}

#[test]
fn cli_leaves_files_with_syntax_errors_alone() {
    let broken = "pipeline p {\n  workers == 3\n}\n";
    let dir = scratch(&[("a.vcp", broken), ("b.vcp", UNFORMATTED)]);
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], false),
        ExitCode::from(1)
    );
    let after = tree(dir.path());
    assert_eq!(after["a.vcp"], broken);
    assert_eq!(
        after["b.vcp"], FORMATTED,
        "the other files are still formatted"
    );
}

#[test]
fn cli_usage_errors_exit_2() {
    let dir = scratch(&[("notes.txt", "")]);
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().join("missing.vcp")], false),
        ExitCode::from(2)
    );
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], false),
        ExitCode::from(2)
    );
}
