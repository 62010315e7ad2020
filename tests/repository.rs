//! The repository holds sources, not binaries: no tracked file over 500 KB
//! outside `tests/fixtures/` (real inputs such as Volcano's CRD schemas).
//! Its benchmark scripts stay runnable.

use std::process::Command;

const LIMIT: u64 = 500 * 1024;

#[test]
fn no_tracked_file_is_over_500_kb_outside_test_fixtures() {
    if !crate::common::require_tool("git") {
        return;
    }
    let root = crate::common::root();
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("git runs");
    if !out.status.success() {
        // A source tree without its history (a crate package, say): there
        // is nothing tracked to check.
        assert!(
            !root.join(".git").exists(),
            "git ls-files: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let mut large = Vec::new();
    for path in out.stdout.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        if path.starts_with("tests/fixtures/") {
            continue;
        }
        // A file deleted in the work tree but not yet in the index has no size.
        if let Ok(meta) = std::fs::metadata(root.join(&path))
            && meta.len() > LIMIT
        {
            large.push(format!("{path}: {} KB", meta.len() / 1024));
        }
    }
    assert!(
        large.is_empty(),
        "tracked files over {} KB (binaries belong in a package registry, real inputs in tests/fixtures/):\n{}",
        LIMIT / 1024,
        large.join("\n")
    );
}

/// The benchmark scripts (`benches/*.sh`: `benches/all.sh` reprints every
/// figure of docs/performance.md with them) parse and are clean under
/// shellcheck, each in the shell its `#!` line names; they run too rarely
/// for a slip to be noticed otherwise. The Python ones compile.
#[test]
fn benchmark_scripts_are_clean_under_shellcheck() {
    if !crate::common::require_tool("shellcheck") {
        return;
    }
    let benches = crate::common::root().join("benches");
    let mut scripts: Vec<_> = std::fs::read_dir(&benches)
        .expect("benches/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    assert!(scripts.iter().any(|p| p.ends_with("all.sh")), "{scripts:?}");
    for script in &scripts {
        let text = std::fs::read_to_string(script).expect("readable");
        let shell = if text.starts_with("#!/bin/sh") {
            "sh"
        } else {
            "bash"
        };
        let parsed = Command::new(shell)
            .arg("-n")
            .arg(script)
            .output()
            .expect("the shell runs");
        assert!(
            parsed.status.success(),
            "{shell} -n {}: {}",
            script.display(),
            String::from_utf8_lossy(&parsed.stderr)
        );
        let out = Command::new("shellcheck")
            .args(["-x", "-s", shell])
            .arg(script)
            .current_dir(&benches)
            .output()
            .expect("shellcheck runs");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let python: Vec<_> = std::fs::read_dir(&benches)
        .expect("benches/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    // Parsed only: py_compile would leave __pycache__ in benches/.
    let out = Command::new("python3")
        .args([
            "-c",
            "import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)",
        ])
        .args(&python)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
