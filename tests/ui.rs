//! UI tests: each `tests/ui/*.vcp` is checked and its rendered diagnostics
//! are snapshotted (tests/snapshots/, insta's format). A first line
//! `# args: --set a=b ...` passes build options. Files under `tests/ui/lib/`
//! are only imported. `VCP_BLESS=1 cargo test` rewrites the snapshots
//! (through insta's `INSTA_UPDATE=always`); read the diff.

use std::collections::BTreeSet;
use std::path::Path;
use vcp::check::Options;
use vcp::cli::{FsLoader, render};
use vcp::diag::Code;

/// The rendered diagnostics of one UI case, as `vcp check` prints them.
pub(crate) fn run_case(path: &Path) -> (String, BTreeSet<Code>) {
    let root = crate::common::root();
    let rel = path
        .strip_prefix(&root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let text = std::fs::read_to_string(path).expect("readable case");
    let mut options = Options::default();
    if let Some(args) = text.lines().next().and_then(|l| l.strip_prefix("# args:")) {
        let mut words = args.split_whitespace();
        while let Some(w) = words.next() {
            assert_eq!(w, "--set", "{rel}: only --set is supported in # args");
            let kv = words.next().expect("--set needs a value");
            let (k, v) = kv.split_once('=').expect("--set name=value");
            options.sets.push((k.to_string(), v.to_string()));
        }
    }
    let (checked, output) = vcp::compile(std::slice::from_ref(&rel), &mut FsLoader, &options);
    let mut rendered = render::render_all(
        &checked.sources,
        &checked.diagnostics,
        render::Style::plain(),
    );
    rendered.push_str(&format!(
        "--> {}\n",
        match (&output, render::summary(&checked.diagnostics)) {
            (Some(_), None) => "ok".to_string(),
            (Some(_), Some(s)) => format!("ok with {s}"),
            (None, Some(s)) => format!("failed: {s}"),
            (None, None) => "failed without diagnostics (a bug)".to_string(),
        }
    ));
    let codes = checked.diagnostics.iter().map(|d| d.code).collect();
    (rendered, codes)
}

#[test]
fn ui_cases() {
    if crate::common::bless_through("ui::ui_cases", "INSTA_UPDATE", "always") {
        return;
    }
    insta::glob!("ui/*.vcp", |path| {
        let (rendered, _) = run_case(path);
        insta::assert_snapshot!(rendered);
    });
}

/// E0506 needs a stage whose scripts pass 1 MiB: generated here rather than
/// committed as a 1 MB file.
pub(crate) fn scripts_too_large() -> (String, BTreeSet<Code>) {
    let mut text = String::from(
        "# A stage with 80,000 literal items: its script no longer fits a ConfigMap.\n\
         pipeline tables {\n  image = \"python:3.12-slim\"\n  stage copy {\n    run = \"python3 copy.py {item}\"\n    shard = [\n",
    );
    for i in 0..80_000 {
        text.push_str(&format!("      \"warehouse.table_{i:06}\",\n"));
    }
    text.push_str("    ]\n  }\n}\n");
    let name = "tests/ui/generated/E0506-scripts-too-large.vcp".to_string();
    let mut loader = vcp::check::MemoryLoader::new([(name.clone(), text)]);
    let (checked, _) = vcp::compile(
        std::slice::from_ref(&name),
        &mut loader,
        &Options::default(),
    );
    // `vcp check` renders only the scripts (Keep::Problems): the same error.
    let (problems, output) = vcp::compile_keeping(
        &[name],
        &mut loader,
        &Options::default(),
        vcp::emit::Keep::Problems,
    );
    assert!(output.is_none());
    assert_eq!(problems.diagnostics, checked.diagnostics);
    let rendered = render::render_all(
        &checked.sources,
        &checked.diagnostics,
        render::Style::plain(),
    );
    (
        rendered,
        checked.diagnostics.iter().map(|d| d.code).collect(),
    )
}

#[test]
fn ui_generated_scripts_too_large() {
    if crate::common::bless_through(
        "ui::ui_generated_scripts_too_large",
        "INSTA_UPDATE",
        "always",
    ) {
        return;
    }
    insta::assert_snapshot!(scripts_too_large().0);
}

/// Every code is produced by at least one UI case, and documented.
#[test]
fn every_code_has_a_case_and_a_page() {
    let mut seen = scripts_too_large().1;
    let dir = crate::common::root().join("tests/ui");
    for entry in std::fs::read_dir(&dir).expect("tests/ui exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "vcp") {
            seen.extend(run_case(&path).1);
        }
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| !seen.contains(c))
        .map(|c| c.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a tests/ui case: {missing:?}"
    );
    for code in Code::ALL {
        let page = code.explanation();
        assert!(
            page.starts_with(&format!("# {}: ", code.as_str())),
            "docs/errors/{}.md title",
            code.as_str()
        );
        assert!(
            page.contains("```vcp"),
            "docs/errors/{}.md has an example",
            code.as_str()
        );
    }
}

/// Every UI snapshot belongs to a case: a deleted or renamed case leaves
/// none behind (`VCP_BLESS=1 cargo test` removes them).
#[test]
fn every_snapshot_has_a_case() {
    let root = crate::common::root();
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(root.join("tests/snapshots")).expect("tests/snapshots") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        let Some(case) = name
            .strip_prefix("main__ui__ui_cases@")
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        if !root.join("tests/ui").join(case).is_file() {
            if crate::common::blessing() {
                std::fs::remove_file(&path).expect("remove");
            } else {
                orphans.push(name);
            }
        }
    }
    assert!(
        orphans.is_empty(),
        "snapshots without a tests/ui case (`VCP_BLESS=1 cargo test` removes them): {orphans:?}"
    );
}

/// The `--set name=value` arguments of a case's `# args:` first line.
pub(crate) fn case_args(text: &str) -> Vec<String> {
    let Some(args) = text.lines().next().and_then(|l| l.strip_prefix("# args:")) else {
        return Vec::new();
    };
    args.split_whitespace().map(str::to_string).collect()
}

/// What is wrong with the diagnostics `vcp check` prints for one case, in
/// one message format: every error must come with a help line.
fn errors_without_help(rel: &str, args: &[String], format: &str) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vcp"))
        .current_dir(crate::common::root())
        .args(["check", rel, "--color", "never", "--message-format", format])
        .args(args)
        .output()
        .expect("vcp runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut missing = Vec::new();
    match format {
        "json" => {
            for line in stdout.lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
                let help = v["help"].as_str().unwrap_or("");
                if v["severity"] == "error" && help.trim().is_empty() {
                    missing.push(format!("{rel} (json): {line}"));
                }
            }
        }
        "github" => {
            for line in stdout.lines().filter(|l| l.starts_with("::error ")) {
                if !line.contains("%0Ahelp: ") {
                    missing.push(format!("{rel} (github): {line}"));
                }
            }
        }
        _ => {
            // Each report starts with `  × error[` or `  ⚠ warning[`; its
            // help is a line `  help: ` before the next report.
            let mut current: Option<&str> = None;
            let mut helped = false;
            for line in stderr.lines().chain(["  × end"]) {
                if line.starts_with("  × ") || line.starts_with("  ⚠ ") {
                    if let Some(error) = current.take()
                        && !helped
                    {
                        missing.push(format!("{rel} (human): {error}"));
                    }
                    current = line.starts_with("  × error[").then_some(line);
                    helped = false;
                } else if line.starts_with("  help: ") {
                    helped = true;
                }
            }
        }
    }
    missing
}

/// Issue 13.6: every error says how to fix it. Each error of every UI case,
/// as the real binary prints it for people, as JSON and as GitHub
/// annotations, has a help (the right unit, the valid range, a did-you-mean,
/// what to write instead).
#[test]
fn every_error_has_a_help_in_every_format() {
    let root = crate::common::root();
    let mut cases: Vec<_> = std::fs::read_dir(root.join("tests/ui"))
        .expect("tests/ui exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "vcp"))
        .collect();
    cases.sort();
    assert!(cases.len() > 50, "tests/ui holds the corpus");
    let mut missing = Vec::new();
    for path in &cases {
        let rel = format!(
            "tests/ui/{}",
            path.file_name().expect("named").to_string_lossy()
        );
        let text = std::fs::read_to_string(path).expect("readable case");
        let args = case_args(&text);
        for format in ["human", "json", "github"] {
            missing.extend(errors_without_help(&rel, &args, format));
        }
    }
    assert!(
        missing.is_empty(),
        "{} errors without a help:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// Issue 13.7: `range(300)` is `range(0, 300)`, as in Python: the same
/// build, byte for byte (manifests and the scripts that compute the items).
#[test]
fn range_with_one_argument_counts_from_zero() {
    let build = |shard: &str| {
        let text = format!(
            "pipeline p {{\n  image = \"python:3.12-slim\"\n  stage s {{\n    workers = 3\n    shard = {shard}\n    run = \"python3 task.py {{item}}\"\n  }}\n}}\n"
        );
        let name = "p.vcp".to_string();
        let mut loader = vcp::check::MemoryLoader::new([(name.clone(), text)]);
        let (checked, output) = vcp::compile(&[name], &mut loader, &Options::default());
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        output.expect("builds").into_strings()
    };
    assert_eq!(build("range(300)"), build("range(0, 300)"));
    assert_eq!(
        build("range(300) by block"),
        build("range(0, 300, 1) by block")
    );
}

/// Issue 20.7: the values E0701 warns about never appear in what vcp
/// prints for people (CI logs keep it): not under their own warning, not
/// as a context line of another diagnostic's excerpt.
#[test]
fn credentials_are_masked_in_every_excerpt() {
    let root = crate::common::root();
    let mut masked = 0;
    for entry in std::fs::read_dir(root.join("tests/ui")).expect("tests/ui exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "vcp") {
            continue;
        }
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let (checked, _) = vcp::compile(
            std::slice::from_ref(&rel),
            &mut FsLoader,
            &Options::default(),
        );
        let rendered = render::render_all(
            &checked.sources,
            &checked.diagnostics,
            render::Style::plain(),
        );
        for d in checked
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::InlineSecret)
        {
            let span = d.span.expect("E0701 has a span");
            let value = checked.sources.slice(span).trim_matches('"');
            assert!(!value.is_empty(), "{rel}: an E0701 without a value");
            assert!(
                !rendered.contains(value),
                "{rel}: `{value}` is printed:\n{rendered}"
            );
            masked += 1;
        }
    }
    assert!(masked >= 4, "the corpus has credentials to mask ({masked})");
}
