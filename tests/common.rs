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
