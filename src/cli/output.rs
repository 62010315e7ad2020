//! Writing a build into the output directory in place, without ever losing
//! a file. The build is complete in memory before this runs (a diagnostic
//! means nothing is written). Then, holding a lock on the directory:
//!
//! 1. survey it (entry types from the listing: a FIFO or device is never
//!    opened; sizes from `fstat` once a file is open to be compared) and
//!    remove the temporary files of killed builds (`.vcp-tmp-*`);
//! 2. plan every file: unchanged (same size, then same bytes), changed,
//!    new; refuse (before writing anything) files without vcp's header,
//!    links, folders and special files where a file must go;
//! 3. write each changed or new file to a temporary file beside it and
//!    rename it into place, on every core: at every moment each file is its
//!    complete old or its complete new self, unchanged files keep their
//!    mtime, and the directory itself (a mount point, `.`, with its own
//!    mode and owner) is never replaced. A new file goes in with
//!    `renameat2(RENAME_NOREPLACE)` (`link` where the file system lacks
//!    it), which fails rather than replace a file someone created meanwhile.
//!    A folder DIR lacks (the pipeline's folder on a first build) is made
//!    under a temporary name, its files written straight into it, and
//!    renamed into place whole (`RENAME_NOREPLACE`; files moved in one by
//!    one if a folder appeared there meanwhile).
//!
//! No `fsync`: the output is derived data that `vcp build --check` verifies
//! and a rebuild repairs; a kill leaves each file whole (rename is atomic),
//! only a power loss could leave a file empty (docs/gitops.md).

use super::survey::{self, Entry, Survey};
use crate::emit::{self, Output, Text};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Component, Path};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The prefix of every temporary file or folder vcp makes in the output.
pub const TEMP_PREFIX: &str = ".vcp-tmp-";

#[derive(Debug, Default)]
pub struct WriteReport {
    /// Files written (new or changed).
    pub written: usize,
    /// Files that already held their bytes.
    pub unchanged: usize,
    /// Generated files (with vcp's header) no longer produced: removed with
    /// `prune`, else left in place.
    pub stale: Vec<String>,
    /// Temporary files of killed builds that were removed.
    pub leftovers: usize,
}

/// A failed write, and whether the directory was changed before it failed.
#[derive(Debug)]
pub struct WriteError {
    pub error: io::Error,
    /// False: the directory is as it was. True: some files are already new
    /// (each one whole); the next successful build completes the update.
    pub partly: bool,
}

impl From<io::Error> for WriteError {
    fn from(error: io::Error) -> WriteError {
        WriteError {
            error,
            partly: false,
        }
    }
}

pub(super) fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// A relative path with only normal components: nothing can escape the
/// output directory through it.
fn check_relative(path: &str) -> io::Result<()> {
    let p = Path::new(path);
    if path.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(invalid(format!(
            "refusing to write `{path}`: not a plain relative path"
        )));
    }
    Ok(())
}

/// What to do with one file of the build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    Unchanged,
    Changed,
    New,
}

/// Creates `dir` if needed and locks it for this process; `on_wait` runs
/// when another process holds the lock (this one then waits for it).
pub fn lock(dir: &Path, on_wait: &dyn Fn()) -> io::Result<fs::File> {
    match fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(invalid(format!(
                "{} exists and is not a directory",
                dir.display()
            )));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(dir)?,
        Err(e) => return Err(e),
    }
    // The directory itself is the lock (flock on its descriptor): nothing
    // is added to it, and a lock dies with its process.
    let handle = fs::File::open(dir)?;
    match handle.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            on_wait();
            handle.lock()?;
        }
        // A file system without locks (some network mounts): go on unlocked.
        Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {}
        Err(fs::TryLockError::Error(e)) => return Err(e),
    }
    Ok(handle)
}

/// Writes `output` into `dir` (created if missing); with `prune`, generated
/// files no longer produced are removed. `on_wait` runs when another build
/// holds the directory.
pub fn write(
    dir: &Path,
    output: &Output,
    prune: bool,
    on_wait: &dyn Fn(),
) -> Result<WriteReport, WriteError> {
    for path in output.files.keys() {
        check_relative(path)?;
    }
    let _lock = lock(dir, on_wait)?;
    let survey = survey::survey(dir, output)?;
    let files: Vec<(&String, &Text)> = output.files.iter().collect();
    let plans = plan_all(dir, &survey, &files)?;

    let mut report = WriteReport {
        stale: survey.stale.clone(),
        ..WriteReport::default()
    };
    for temp in &survey.temps {
        let path = dir.join(temp);
        let removed = if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => report.leftovers += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }

    let todo: Vec<(&String, &Text, Plan)> = files
        .iter()
        .zip(&plans)
        .filter(|(_, plan)| **plan != Plan::Unchanged)
        .map(|((path, text), plan)| (*path, *text, *plan))
        .collect();
    report.unchanged = files.len() - todo.len();

    // A folder DIR lacks (all of it, on a first build) is made whole under
    // a temporary name beside its place, its files written straight into
    // it, and renamed into place at once: one name per file, not a
    // temporary one and then a rename.
    let mut roots: BTreeMap<&str, String> = BTreeMap::new();
    for (path, _, plan) in &todo {
        if *plan == Plan::New
            && let Some(root) = missing_root(&survey, path)
            && !roots.contains_key(root)
        {
            let temp = format!("{TEMP_PREFIX}{}-d{}", pid(), roots.len());
            let temp = match root.rsplit_once('/') {
                Some((parent, _)) => format!("{parent}/{temp}"),
                None => temp,
            };
            roots.insert(root, temp);
        }
    }
    let staged = |path: &str| {
        let root = missing_root(&survey, path)?;
        Some(format!("{}{}", roots.get(root)?, &path[root.len()..]))
    };

    // Folders first, one by one (never through a link); then the files on
    // every core.
    let mut made = BTreeSet::new();
    let mut temp_folders = BTreeSet::new();
    for (path, _, plan) in &todo {
        if *plan != Plan::New {
            continue;
        }
        let real = match (missing_root(&survey, path), staged(path)) {
            (Some(root), Some(at)) => {
                let temp = &roots[root];
                let mut end = temp.len();
                while let Some(i) = at[end + 1..].find('/') {
                    temp_folders.insert(at[..end + 1 + i].to_string());
                    end += 1 + i;
                }
                temp_folders.insert(temp.clone());
                root.rsplit_once('/').map(|(parent, _)| parent)
            }
            _ => path.rsplit_once('/').map(|(folder, _)| folder),
        };
        if let Some(folder) = real
            && !made.contains(folder)
        {
            create_real_dirs(dir, folder).map_err(|error| WriteError {
                error,
                partly: !made.is_empty(),
            })?;
            made.insert(folder);
        }
    }
    let clean = || {
        for temp in roots.values() {
            let _ = fs::remove_dir_all(dir.join(temp));
        }
    };
    for folder in &temp_folders {
        fs::create_dir(dir.join(folder)).map_err(|error| {
            clean();
            WriteError {
                error,
                partly: !made.is_empty(),
            }
        })?;
    }
    let seq = AtomicUsize::new(0);
    // Parts of about equal cost for the cores: a file costs its bytes and
    // about as much again as 8 KiB of them to create (tmpfs and ext4).
    let weight =
        |(_, text, _): &(&String, &Text, Plan)| text.pieces().map(str::len).sum::<usize>() + 8192;
    let results =
        crate::par::map_weighted(&todo, weight, |(path, text, plan)| match staged(path) {
            Some(at) if *plan == Plan::New => write_new(&dir.join(at), text),
            _ => {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                put(dir, path, text, *plan, n)
            }
        });
    // Files written into a staged folder are not in DIR yet.
    let mut visible = false;
    let mut first_error = None;
    for ((path, _, plan), result) in todo.iter().zip(results) {
        match result {
            Ok(()) => {
                report.written += 1;
                visible |= *plan != Plan::New || staged(path).is_none();
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(error) = first_error {
        clean();
        return Err(WriteError {
            error,
            partly: visible || !made.is_empty(),
        });
    }
    for (root, temp) in &roots {
        let moved = move_in(dir, root, temp, &todo, &staged);
        if let Err(error) = moved {
            clean();
            return Err(WriteError {
                error,
                partly: true,
            });
        }
    }
    if prune {
        for path in &report.stale {
            remove_stale(dir, path).map_err(|error| WriteError {
                error,
                partly: true,
            })?;
        }
    }
    Ok(report)
}

/// Plans every file, in parallel (comparing means reading); any refusal
/// comes before anything is written.
pub(super) fn plan_all(
    dir: &Path,
    survey: &Survey,
    files: &[(&String, &Text)],
) -> io::Result<Vec<Plan>> {
    let plans = crate::par::map(files, |(path, text)| {
        plan(dir, survey, path, text, &mut |_| ())
    });
    plans.into_iter().collect()
}

/// What to do with the file at `path`; `seen` gets the bytes it holds when
/// they differ from `text` (the `--check` diff).
pub(super) fn plan(
    dir: &Path,
    survey: &Survey,
    path: &str,
    text: &Text,
    seen: &mut dyn FnMut(Vec<u8>),
) -> io::Result<Plan> {
    let shown = || dir.join(path).display().to_string();
    // Every folder on the way must be a real folder (or not exist yet).
    let mut at = 0;
    while let Some(i) = path[at..].find('/') {
        let folder = &path[..at + i];
        match survey.entries.get(folder) {
            None | Some(Entry::Dir) => {}
            Some(Entry::Link) => {
                return Err(invalid(format!(
                    "{} is a symlink; vcp does not write through links",
                    dir.join(folder).display()
                )));
            }
            Some(_) => {
                return Err(invalid(format!(
                    "{} is a file where a directory is needed",
                    dir.join(folder).display()
                )));
            }
        }
        at += i + 1;
    }
    match survey.entries.get(path) {
        None => return Ok(Plan::New),
        Some(Entry::File) => {}
        Some(Entry::Link) => {
            return Err(invalid(format!(
                "{} is a symlink; vcp does not write through links",
                shown()
            )));
        }
        Some(Entry::Dir) => return Err(invalid(format!("{} is a directory", shown()))),
        Some(Entry::Special(kind)) => {
            return Err(invalid(format!(
                "{} is a {kind}, not a regular file; remove it (vcp never opens one)",
                shown()
            )));
        }
    }
    let want: usize = text.pieces().map(str::len).sum();
    // Same size: compare every byte. Another size: only the header matters.
    let mut len = 0;
    let have = survey::read_regular(&dir.join(path), |size| {
        len = size;
        if size == want as u64 {
            want
        } else {
            survey::HEAD
        }
    })?;
    if have.len() as u64 == len && text.eq_bytes(&have) {
        return Ok(Plan::Unchanged);
    }
    if !emit::is_generated(&String::from_utf8_lossy(&have)) {
        return Err(invalid(format!(
            "{} exists and was not generated by vcp; move it away or choose another output directory",
            shown()
        )));
    }
    seen(have);
    Ok(Plan::Changed)
}

/// Writes one file through a temporary file beside it.
fn put(dir: &Path, path: &str, text: &Text, plan: Plan, n: usize) -> io::Result<()> {
    let target = dir.join(path);
    let folder = target.parent().unwrap_or(dir);
    let temp = folder.join(format!("{TEMP_PREFIX}{}-{n}", pid()));
    let result = write_new(&temp, text).and_then(|()| match plan {
        Plan::New => put_new(&temp, &target),
        _ => fs::rename(&temp, &target),
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// This process's id, asked once (a `getpid` per file otherwise).
fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Moves the complete `temp` to `target` only where nothing is: a file
/// someone created meanwhile is never replaced.
fn put_new(temp: &Path, target: &Path) -> io::Result<()> {
    let appeared = || {
        invalid(format!(
            "{} appeared during the build; it was left as it is",
            target.display()
        ))
    };
    // One call: rename, failing where a file is.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::errno::Errno;
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(
            AT_FDCWD,
            temp,
            AT_FDCWD,
            target,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => return Ok(()),
            Err(Errno::EEXIST) => return Err(appeared()),
            // A file system without RENAME_NOREPLACE: as below.
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // `link` fails rather than replace a file.
    match fs::hard_link(temp, target) {
        Ok(()) => fs::remove_file(temp),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(appeared()),
        // No hard links here (some FUSE and FAT file systems): rename,
        // still only where nothing is.
        Err(_) if fs::symlink_metadata(target).is_err() => fs::rename(temp, target),
        Err(e) => Err(e),
    }
}

fn write_new(path: &Path, text: &Text) -> io::Result<()> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let mut pieces = text.pieces();
    let (Some(first), None) = (pieces.next(), pieces.next()) else {
        // Many pieces (a ConfigMap file): gathered into large writes.
        let size: usize = text.pieces().map(str::len).sum();
        let mut file = io::BufWriter::with_capacity(size.min(256 * 1024), file);
        for piece in text.pieces() {
            file.write_all(piece.as_bytes())?;
        }
        file.into_inner().map_err(io::IntoInnerError::into_error)?;
        return Ok(());
    };
    // One piece (most files): one write, no buffer.
    (&file).write_all(first.as_bytes())
}

/// The folder of `path` nearest DIR that DIR lacks, if any.
fn missing_root<'a>(survey: &Survey, path: &'a str) -> Option<&'a str> {
    let mut at = 0;
    while let Some(i) = path[at..].find('/') {
        let folder = &path[..at + i];
        if !survey.entries.contains_key(folder) {
            return Some(folder);
        }
        at += i + 1;
    }
    None
}

/// Renames the staged folder `temp` to `root` where nothing is; where a
/// folder appeared meanwhile (or the file system cannot promise to replace
/// nothing), moves its files in one by one, each only where nothing is.
fn move_in(
    dir: &Path,
    root: &str,
    temp: &str,
    todo: &[(&String, &Text, Plan)],
    staged: &dyn Fn(&str) -> Option<String>,
) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        let flags = RenameFlags::RENAME_NOREPLACE;
        if renameat2(AT_FDCWD, &dir.join(temp), AT_FDCWD, &dir.join(root), flags).is_ok() {
            return Ok(());
        }
    }
    for (path, _, plan) in todo {
        let under = path.strip_prefix(root).is_some_and(|r| r.starts_with('/'));
        if *plan != Plan::New || !under {
            continue;
        }
        if let Some(at) = staged(path) {
            if let Some((folder, _)) = path.rsplit_once('/') {
                create_real_dirs(dir, folder)?;
            }
            put_new(&dir.join(at), &dir.join(path.as_str()))?;
        }
    }
    fs::remove_dir_all(dir.join(temp))
}

/// Removes a stale generated file (its header checked again right before)
/// and the folders it leaves empty.
fn remove_stale(dir: &Path, path: &str) -> io::Result<()> {
    let file = dir.join(path);
    let head = survey::read_regular(&file, |_| survey::HEAD)?;
    if !emit::is_generated(&String::from_utf8_lossy(&head)) {
        return Ok(());
    }
    fs::remove_file(&file)?;
    let mut folder = file.parent();
    while let Some(d) = folder.filter(|d| *d != dir) {
        if fs::remove_dir(d).is_err() {
            break;
        }
        folder = d.parent();
    }
    Ok(())
}

/// Creates `folder` (relative) under `root`, refusing to pass through a
/// symlink.
fn create_real_dirs(root: &Path, folder: &str) -> io::Result<()> {
    let mut at = root.to_path_buf();
    for c in folder.split('/') {
        at.push(c);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(invalid(format!(
                    "{} is a symlink; vcp does not write through links",
                    at.display()
                )));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(invalid(format!(
                    "{} is a file where a directory is needed",
                    at.display()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&at) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && at.is_dir() => {}
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder that appears while its staged copy is written: the files
    /// go in one by one beside what was put there, and the staged copy goes.
    #[test]
    fn a_folder_made_during_the_build_gets_the_files_and_keeps_its_own() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path();
        let (a, b) = ("demo/a.yaml".to_string(), "demo/scripts/b.sh".to_string());
        let text = Text::from("# generated\n".to_string());
        let todo = [(&a, &text, Plan::New), (&b, &text, Plan::New)];
        let staged = |path: &str| Some(path.replacen("demo", ".vcp-tmp-1-d0", 1));
        fs::create_dir_all(dir.join(".vcp-tmp-1-d0/scripts")).expect("staged");
        for path in [&a, &b] {
            write_new(&dir.join(staged(path).expect("staged")), &text).expect("write");
        }
        // Someone else's folder and file, made meanwhile.
        fs::create_dir(dir.join("demo")).expect("theirs");
        fs::write(dir.join("demo/theirs.txt"), "theirs").expect("theirs");
        move_in(dir, "demo", ".vcp-tmp-1-d0", &todo, &staged).expect("moved in");
        assert_eq!(
            fs::read(dir.join("demo/theirs.txt")).expect("kept"),
            b"theirs"
        );
        for path in [&a, &b] {
            assert_eq!(fs::read(dir.join(path)).expect("ours"), b"# generated\n");
        }
        assert!(!dir.join(".vcp-tmp-1-d0").exists(), "staged copy removed");
        // A file of ours that someone made first is left as it is.
        fs::create_dir_all(dir.join(".vcp-tmp-1-d0/scripts")).expect("staged");
        write_new(&dir.join(".vcp-tmp-1-d0/a.yaml"), &text).expect("write");
        fs::write(dir.join("demo/a.yaml"), "theirs").expect("theirs");
        let todo = [(&a, &text, Plan::New)];
        let err = move_in(dir, "demo", ".vcp-tmp-1-d0", &todo, &staged).expect_err("refused");
        assert!(
            err.to_string().contains("appeared during the build"),
            "{err}"
        );
        assert_eq!(fs::read(dir.join("demo/a.yaml")).expect("kept"), b"theirs");
    }
}
