//! Helpers shared by the test modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vcp::check::Options;
use vcp::cli::FsLoader;

/// The repository root (cargo runs integration tests there).
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every example folder, sorted.
pub(crate) fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.join("pipeline.vcp").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Builds `examples/<name>/pipeline.vcp` as `vcp build` run from the
/// repository root would; panics with the rendered diagnostics on error.
pub(crate) fn build_example(dir: &Path) -> BTreeMap<String, String> {
    let name = dir.file_name().expect("named").to_string_lossy();
    let root_file = format!("examples/{name}/pipeline.vcp");
    compile_ok(&[root_file], &Options::default())
}

pub(crate) fn compile_ok(roots: &[String], options: &Options) -> BTreeMap<String, String> {
    let (checked, output) = vcp::compile(roots, &mut FsLoader, options);
    match output {
        Some(output) => output.into_strings(),
        None => panic!(
            "{} does not compile:\n{}",
            roots.join(", "),
            vcp::cli::render::render_all(
                &checked.sources,
                &checked.diagnostics,
                vcp::cli::render::Style::plain()
            )
        ),
    }
}

/// Every file under `dir`, by path relative to it.
pub(crate) fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read_to_string(&path).expect("UTF-8 file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The files of one pipeline folder of a build, relative to that folder.
pub(crate) fn pipeline_dirs(
    files: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<(String, String)>> {
    let mut dirs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, content) in files {
        if let Some((dir, rest)) = path.split_once('/') {
            dirs.entry(dir.to_string())
                .or_default()
                .push((rest.to_string(), content.clone()));
        }
    }
    dirs
}

/// `text` with single-character edits applied in order: for each (place,
/// operation, character), 0 removes the character at the place, 1 inserts
/// the character there, anything else replaces it. Shared by the proptests
/// that mutate real files.
pub(crate) fn mutate(text: &str, edits: &[(proptest::sample::Index, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(ref at, op, c) in edits {
        if chars.is_empty() {
            break;
        }
        let i = at.index(chars.len());
        match op {
            0 => {
                chars.remove(i);
            }
            1 => chars.insert(i, c),
            _ => chars[i] = c,
        }
    }
    chars.into_iter().collect()
}

// ---------------------------------------------------------------- tools, long tests, blessing

/// The programs some tests run, beyond the README's prerequisites (a Rust
/// toolchain, Python 3, a POSIX system with `sh` and `bash`): each with how
/// to tell it is there and what installs it. `.ci/run` installs all of them.
const TOOLS: &[(&str, &[&str], &str)] = &[
    // (name, command that succeeds when the tool works, what installs it)
    ("bash", &["bash", "-c", ":"], "Debian package bash"),
    ("dash", &["dash", "-c", ":"], "Debian package dash"),
    ("busybox", &["busybox", "true"], "Debian package busybox"),
    ("mawk", &["mawk", "BEGIN { exit 0 }"], "Debian package mawk"),
    ("gawk", &["gawk", "BEGIN { exit 0 }"], "Debian package gawk"),
    (
        "shellcheck",
        &["shellcheck", "--version"],
        "Debian package shellcheck",
    ),
    ("dot", &["dot", "-V"], "Debian package graphviz"),
    ("nvim", &["nvim", "--version"], "Debian package neovim"),
    (
        "kubectl",
        &["kubectl", "kustomize", "--help"],
        "kubectl with kustomize",
    ),
    ("git", &["git", "--version"], "Debian package git"),
    (
        "pyyaml",
        &["python3", "-c", "import yaml"],
        "PyYAML for python3: `python3 -m pip install pyyaml`",
    ),
    (
        "node",
        &["node", "--version"],
        "Node.js, Debian package nodejs",
    ),
    (
        "vscode-textmate",
        &["test", "-d", "editors/vscode/node_modules/vscode-textmate"],
        "`npm ci` in editors/vscode",
    ),
];

/// Set (to anything) by `.ci/run`: a test whose tool is missing fails
/// instead of skipping, so that CI cannot pass by skipping.
pub(crate) const REQUIRE_TOOLS: &str = "VCP_REQUIRE_TOOLS";

/// Whether `tool` (a name in [`TOOLS`]) works on this machine. When it does
/// not, prints a notice naming the test and returns false (the test then
/// returns early), or fails the test when `VCP_REQUIRE_TOOLS` is set.
///
/// ```ignore
/// if !common::require_tool("dash") {
///     return;
/// }
/// ```
pub(crate) fn require_tool(tool: &str) -> bool {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, OnceLock};
    static FOUND: OnceLock<Mutex<BTreeMap<String, bool>>> = OnceLock::new();
    let Some(&(_, probe, install)) = TOOLS.iter().find(|(name, ..)| *name == tool) else {
        panic!("require_tool({tool:?}): not a tool of tests/common.rs TOOLS")
    };
    let found = *FOUND
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(tool.to_string())
        .or_insert_with(|| {
            std::process::Command::new(probe[0])
                .args(&probe[1..])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        });
    if !found {
        skip(
            &format!("skipped: {tool} is not installed ({install})"),
            REQUIRE_TOOLS,
        );
    }
    found
}

/// Set (to anything) by `.ci/run`: the long tests run, and every property
/// test runs its full number of cases.
pub(crate) const FULL: &str = "VCP_TEST_FULL";

/// Whether the long, exhaustive tests run in full (`VCP_TEST_FULL` is set,
/// as `.ci/run` does). When they do not, prints a notice naming the test
/// and what it leaves out (`short`), so that `cargo test` stays fast
/// without hiding what only CI runs.
pub(crate) fn full(short: &str) -> bool {
    let full = std::env::var_os(FULL).is_some();
    if !full {
        skip(&format!("{short} ({FULL}=1 runs all of it)"), "");
    }
    full
}

/// How many cases a property test runs: `ci` under `VCP_TEST_FULL` (as
/// `.ci/run` does), an eighth of it (at least 8) by default, or
/// `PROPTEST_CASES` when that is set, which wins over both.
pub(crate) fn cases(ci: u32) -> u32 {
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if std::env::var_os(FULL).is_some() {
        ci
    } else {
        (ci / 8).max(8)
    }
}

/// A notice that the current test skipped (part of) its work, written to
/// the terminal past libtest's capture (which only takes `print!`), once a
/// test and reason; a failure instead when the variable `strict` is set.
fn skip(reason: &str, strict: &str) {
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};
    static SHOWN: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    assert!(
        strict.is_empty() || std::env::var_os(strict).is_none(),
        "{test}: {strict} is set, so it may not skip: {reason}"
    );
    let notice = format!("note: {test}: {reason}\n");
    let new = SHOWN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(notice.clone());
    if new {
        let _ = std::io::stderr().write_all(notice.as_bytes());
    }
}

/// Set (to anything) to rewrite every expected output from what the code
/// produces now: `VCP_BLESS=1 cargo test` (then read the diff). The one way
/// to bless the examples' `expected/`, the fmt cases, the UI snapshots and
/// the CLI transcripts.
pub(crate) const BLESS: &str = "VCP_BLESS";

pub(crate) fn blessing() -> bool {
    std::env::var_os(BLESS).is_some()
}

/// For a test whose expected output belongs to a tool with its own update
/// switch (insta's `INSTA_UPDATE`, trycmd's `TRYCMD`), which a test cannot
/// set for itself (`set_var` is unsafe, and this crate forbids unsafe code):
/// when blessing, runs the test `name` again in a child of this test binary
/// with `var=value`, and returns true once that child has passed. Returns
/// false when not blessing, or inside that child.
pub(crate) fn bless_through(name: &str, var: &str, value: &str) -> bool {
    if !blessing() || std::env::var_os(var).is_some() {
        return false;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let status = std::process::Command::new(exe)
        .args([name, "--exact", "--test-threads=1"])
        .env(var, value)
        .current_dir(root())
        .status()
        .expect("the test binary runs");
    assert!(status.success(), "{name} with {var}={value}: {status}");
    true
}

/// `value` as a vcp string literal (the escapes the lexer knows; no raw
/// control byte, which is E0002).
pub(crate) fn literal(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
