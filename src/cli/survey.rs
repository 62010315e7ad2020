//! What the output directory holds, seen without opening anything but
//! regular files: the type of every entry as the directory listing gives it
//! (`lstat` only where the file system does not say; a FIFO, socket or
//! device is named, never opened, so it cannot hang a build), the temporary
//! files of killed builds, and the generated files the build no longer
//! produces. Sizes are not asked here: a file the build may replace is
//! opened anyway, and `fstat` on it gives its size before a byte is read.

use super::output::{TEMP_PREFIX, invalid};
use crate::emit::{self, Output};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// How much of a file is read to find vcp's header (its first two lines).
pub const HEAD: usize = 4096;

/// One entry of the output directory, as `lstat` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    File,
    Dir,
    Link,
    /// A FIFO, socket or device: its kind.
    Special(&'static str),
}

#[derive(Debug, Default)]
pub struct Survey {
    /// Every entry down to the depth of the build's files, by relative path
    /// (hidden entries left out).
    pub entries: BTreeMap<String, Entry>,
    /// Temporary files and folders of killed builds (`.vcp-tmp-*`).
    pub temps: Vec<String>,
    /// Generated files (vcp's header) that the build does not produce.
    pub stale: Vec<String>,
}

/// Surveys `dir` (which need not exist) for `output`.
pub fn survey(dir: &Path, output: &Output) -> io::Result<Survey> {
    // Generated files are at most this deep (`<pipeline>/scripts/x.sh`):
    // looking deeper would only cost time in a big directory (`-o .`).
    let depth = output
        .files
        .keys()
        .map(|p| p.split('/').count())
        .max()
        .unwrap_or(0)
        .max(3);
    let mut survey = Survey::default();
    match walk(dir, "", depth, &mut survey) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(survey),
        r => r?,
    }
    for (path, entry) in &survey.entries {
        if *entry == Entry::File
            && !output.files.contains_key(path)
            && (path.ends_with(".yaml") || path.ends_with(".sh"))
            && read_regular(&dir.join(path), |_| HEAD)
                .is_ok_and(|head| emit::is_generated(&String::from_utf8_lossy(&head)))
        {
            survey.stale.push(path.clone());
        }
    }
    Ok(survey)
}

fn walk(root: &Path, rel: &str, depth: usize, survey: &mut Survey) -> io::Result<()> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        if name.starts_with(TEMP_PREFIX) {
            survey.temps.push(path);
            continue;
        }
        if name.starts_with('.') {
            continue;
        }
        // The entry's own type: a link is a link, never followed.
        let kind = entry.file_type()?;
        let found = if kind.is_dir() {
            Entry::Dir
        } else if kind.is_symlink() {
            Entry::Link
        } else if kind.is_file() {
            Entry::File
        } else {
            Entry::Special(special_kind(&kind))
        };
        survey.entries.insert(path.clone(), found);
        if found == Entry::Dir && depth > 1 {
            walk(root, &path, depth - 1, survey)?;
        }
    }
    Ok(())
}

pub fn special_kind(kind: &fs::FileType) -> &'static str {
    if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

/// At most `limit(size)` bytes of the regular file at `path`, `size` being
/// its size when opened. It is opened without following a link and without
/// blocking, and checked to be a regular file before a byte is read:
/// something swapped in since the survey is refused, not read. Reading
/// stops at `size` (one `read` for a file read whole): a file that grows
/// meanwhile is being written by someone else, and is seen as it was.
pub fn read_regular(path: &Path, limit: impl FnOnce(u64) -> usize) -> io::Result<Vec<u8>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(invalid(format!(
            "{} is a {}, not a regular file",
            path.display(),
            special_kind(&meta.file_type())
        )));
    }
    let want = usize::try_from(meta.len())
        .unwrap_or(usize::MAX)
        .min(limit(meta.len()));
    // A file read whole is one `read`: `take` ends the read at `want`
    // without asking for more.
    let mut bytes = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}
