//! The repository holds sources, not binaries: no tracked file over 500 KB
//! outside `tests/fixtures/` (real inputs such as Volcano's CRD schemas).

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
