//! UI tests: each `tests/ui/*.vcp` is checked and its rendered diagnostics
//! are snapshotted (tests/snapshots/). A first line `# args: --set a=b ...`
//! passes build options. Files under `tests/ui/lib/` are only imported.

use std::collections::BTreeSet;
use std::path::Path;
use vcp::check::Options;
use vcp::cli::{FsLoader, render};
use vcp::diag::Code;

/// The rendered diagnostics of one UI case, as `vcp check` prints them.
fn run_case(path: &Path) -> (String, BTreeSet<Code>) {
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
    insta::glob!("ui/*.vcp", |path| {
        let (rendered, _) = run_case(path);
        insta::assert_snapshot!(rendered);
    });
}

/// Every code is produced by at least one UI case, and documented.
#[test]
fn every_code_has_a_case_and_a_page() {
    let mut seen = BTreeSet::new();
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
