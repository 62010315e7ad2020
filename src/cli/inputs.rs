//! From the command line's inputs to a compiled build: reading files
//! (`FsLoader`), the names files are shown under, directories searched for
//! `.vcp` files, `--set` values, and the diagnostics printed on the way.

use super::report::DiagnosticPrinter;
use crate::check::{self, Identity, Loader, Options};
use crate::diag::Code;
use crate::emit::{self, Keep};
use crate::source::normalize_path;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

/// The largest source file vcp reads (E0303 beyond).
pub(super) const MAX_SOURCE: u64 = 64 * 1024 * 1024;

/// Reads files relative to the working directory: regular files only (a
/// FIFO or device is refused by its metadata, never opened blocking), at
/// most [`MAX_SOURCE`] bytes.
pub struct FsLoader;

impl Loader for FsLoader {
    fn identity(&mut self, path: &str) -> Result<Identity, (Code, String)> {
        let not_found = || {
            Ok(Identity {
                file: path.to_string(),
                key: path.to_string(),
            })
        };
        // The metadata of what the path leads to (through links): a missing
        // file is left to `load`, which reports it.
        let Ok(meta) = std::fs::metadata(path) else {
            return not_found();
        };
        if !meta.is_file() {
            return Err((
                Code::NotASource,
                format!(
                    "it is a {}, not a regular file",
                    super::survey::special_kind(&meta.file_type())
                ),
            ));
        }
        if meta.len() > MAX_SOURCE {
            return Err((
                Code::NotASource,
                format!(
                    "it holds {} bytes; a source file holds at most {MAX_SOURCE} (64 MiB)",
                    meta.len()
                ),
            ));
        }
        let Ok(file) = std::fs::canonicalize(path) else {
            return not_found();
        };
        Ok(Identity {
            key: source_key(&file),
            file: file.to_string_lossy().into_owned(),
        })
    }

    fn load(&mut self, path: &str) -> Result<String, String> {
        let bytes = read_source(Path::new(path)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        })?;
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })
    }
}

/// The bytes of a source file: opened without blocking (a FIFO swapped in
/// since [`FsLoader::identity`] looked is refused, not waited on), checked
/// to be a regular file, read up to the size limit.
fn read_source(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_SOURCE) as usize);
    file.take(MAX_SOURCE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SOURCE {
        return Err(std::io::Error::other("larger than 64 MiB"));
    }
    Ok(bytes)
}

/// Files that mark a source root: the nearest folder above a source that
/// holds one of these is where the names in output headers start.
pub(super) const ROOT_MARKERS: [&str; 2] = ["vcp.toml", ".git"];

/// The name the output gives the source file at `file` (canonical):
/// relative to its source root, the nearest folder above it with a
/// `vcp.toml` or `.git`; outside any, its file name alone. The same from
/// any working directory and for any spelling of the path.
pub(super) fn source_key(file: &Path) -> String {
    let root = file
        .ancestors()
        .skip(1)
        .find(|dir| ROOT_MARKERS.iter().any(|m| dir.join(m).exists()));
    let rel = match root {
        Some(root) => file.strip_prefix(root).unwrap_or(file),
        None => Path::new(file.file_name().unwrap_or(file.as_os_str())),
    };
    normalize_path(&rel.to_string_lossy())
}

/// The name a file is shown under: relative to the working directory, so
/// that outputs never carry an absolute path.
pub fn display_name(path: &Path) -> String {
    let rel = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| relative_to(path, &cwd))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    normalize_path(&rel.to_string_lossy())
}

fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &path[common..] {
        out.push(c);
    }
    Some(out)
}

pub(crate) fn parse_sets(sets: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    for s in sets {
        let Some((name, value)) = s.split_once('=') else {
            return Err(format!("`--set {s}`: expected `--set name=value`"));
        };
        if name.is_empty() {
            return Err(format!("`--set {s}`: the parameter name is empty"));
        }
        options.sets.push((name.to_string(), value.to_string()));
    }
    Ok(options)
}

/// The result of compiling the files named on the command line.
pub(crate) struct Compiled {
    pub checked: check::Checked,
    /// Present when there was no error.
    pub output: Option<emit::Output>,
}

/// The `.vcp` files named, with directories searched. A missing file is left
/// to the loader, which reports it as a diagnostic.
fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            vcp_files_below(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Appends the `*.vcp` files below `dir`, sorted; hidden files and folders
/// (`.vcp/` among them), `target/`, and links to folders (they could loop)
/// are skipped. Used by every command that takes directories.
pub(crate) fn vcp_files_below(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            if name != "target" {
                vcp_files_below(&path, out)?;
            }
        } else if name.ends_with(".vcp") && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Compiles the inputs (files or directories) and reports their
/// diagnostics; returns the exit code and, unless the arguments were
/// unusable, the result.
pub(crate) fn compile_inputs(
    paths: &[PathBuf],
    sets: &[String],
    printer: DiagnosticPrinter,
    keep: Keep,
) -> (ExitCode, Option<Compiled>) {
    let options = match parse_sets(sets) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error[{}]: {e}", Code::BadSet.as_str());
            return (ExitCode::from(2), None);
        }
    };
    let files = match expand_inputs(paths) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return (ExitCode::from(2), None);
        }
    };
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!("error: no .vcp files in {}", shown.join(", "));
        return (ExitCode::from(2), None);
    }
    let roots: Vec<String> = files.iter().map(|f| display_name(f)).collect();
    let (checked, output) = crate::compile_keeping(&roots, &mut FsLoader, &options, keep);
    printer.print(&checked.sources, &checked.diagnostics, roots.len());
    let code = if output.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    (code, Some(Compiled { checked, output }))
}
