//! The run directory `.vcp/runs/<run-id>/`: the scripts as run, logs per
//! worker, done records (for `--resume`), default volume folders, and the
//! settings a resumed run needs to compile the same pipeline again. It is
//! private to the user (0700, files 0600): run.json holds `--set` values.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
    pub id: String,
}

impl RunDir {
    /// `root` is made absolute: workers run in other directories.
    pub fn new(root: &Path, id: &str) -> RunDir {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        RunDir {
            path: root.join(id),
            id: id.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn scripts(&self) -> PathBuf {
        self.path.join("scripts")
    }

    /// Every stage's done records (`VCP_DONE_DIR`): `<stage>.<rank>.done`.
    pub fn done_dir(&self) -> PathBuf {
        self.path.join("state").join("done")
    }

    /// Exists once the stage (and its reduce step) completed.
    pub fn stage_done(&self, stage: &str) -> PathBuf {
        self.path.join("state").join(format!("{stage}.complete"))
    }

    /// Exists once every worker of the stage succeeded: a resume then runs
    /// the reduce step alone.
    pub fn workers_done(&self, stage: &str) -> PathBuf {
        self.path
            .join("state")
            .join(format!("{stage}.workers-complete"))
    }

    /// Working files of the workers, removed when the run succeeds.
    pub fn work(&self) -> PathBuf {
        self.path.join("work")
    }

    /// Held (shared) by every supervisor while it lives.
    pub fn procs_lock(&self) -> PathBuf {
        self.path.join("procs.lock")
    }

    fn settings_file(&self) -> PathBuf {
        self.path.join("run.json")
    }

    pub fn save(&self, settings: &RunSettings) -> io::Result<()> {
        create_private_dir(&self.path)?;
        let text = serde_json::to_string_pretty(settings).map_err(io::Error::other)?;
        write_private(&self.settings_file(), (text + "\n").as_bytes())
    }

    /// How the run ended, for `vcp run --list`.
    pub fn set_outcome(&self, outcome: &str) -> io::Result<()> {
        write_private(
            &self.path.join("outcome"),
            format!("{outcome}\n").as_bytes(),
        )
    }

    /// Takes the run for this process: an exclusive lock on `run.lock` (held
    /// until the returned file is dropped), then makes sure no process of an
    /// earlier attempt lives (no supervisor holds `procs.lock`), waiting up
    /// to `wait` for them to stop. Two attempts of a run never overlap.
    pub fn take(&self, wait: Duration) -> Result<File, String> {
        create_private_dir(&self.path).map_err(|e| e.to_string())?;
        let lock = open_private(&self.path.join("run.lock")).map_err(|e| e.to_string())?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "run `{}` is running in another vcp process; wait for it or stop it first",
                    self.id
                ));
            }
            Err(TryLockError::Error(e)) => return Err(e.to_string()),
        }
        let procs = open_private(&self.procs_lock()).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + wait;
        loop {
            match procs.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(format!(
                        "processes of an earlier attempt of run `{}` are still alive after {}s (they hold {}); stop them first",
                        self.id,
                        wait.as_secs(),
                        self.procs_lock().display()
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e.to_string()),
            }
        }
        procs.unlock().map_err(|e| e.to_string())?;
        Ok(lock)
    }

    pub fn load(&self) -> io::Result<RunSettings> {
        let text = std::fs::read_to_string(self.settings_file())?;
        serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// Creates `path` and its missing parents, readable by the user only.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

fn open_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Writes a file readable by the user only (through a temporary file, so a
/// crash leaves the old content or the new, never a part).
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(tmp, path)
}

/// One past run, for `vcp run --list`.
#[derive(Debug)]
pub struct RunInfo {
    pub id: String,
    pub settings: Option<RunSettings>,
    /// `succeeded`, `failed`, `interrupted`, `timed out`, `running`, or
    /// `unknown` (it ended without saying how: vcp was killed).
    pub outcome: String,
    pub bytes: u64,
}

/// Every run under `root`, oldest first.
pub fn list_runs(root: &Path) -> io::Result<Vec<RunInfo>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let id = entry.file_name().to_string_lossy().into_owned();
        let dir = RunDir::new(root, &id);
        let outcome = if dir.is_running() {
            "running".to_string()
        } else {
            fs::read_to_string(dir.path.join("outcome"))
                .map_or_else(|_| "unknown".to_string(), |t| t.trim().to_string())
        };
        out.push(RunInfo {
            settings: dir.load().ok(),
            outcome,
            bytes: dir_size(&entry.path()),
            id,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

impl RunDir {
    /// A vcp or a supervisor of this run is alive (it holds a lock).
    pub fn is_running(&self) -> bool {
        [self.path.join("run.lock"), self.procs_lock()]
            .iter()
            .any(|p| {
                File::open(p).is_ok_and(|f| matches!(f.try_lock(), Err(TryLockError::WouldBlock)))
            })
    }

    /// Deletes the run, unless it is running.
    pub fn delete(&self) -> Result<(), String> {
        let lock = self.take(Duration::ZERO)?;
        fs::remove_dir_all(&self.path).map_err(|e| e.to_string())?;
        drop(lock);
        Ok(())
    }

    /// Seconds since the run last changed (its newest top-level entry).
    pub fn age(&self) -> Option<Duration> {
        let newest = fs::read_dir(&self.path)
            .ok()?
            .flatten()
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max()?;
        SystemTime::now().duration_since(newest).ok()
    }
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// What `vcp run` was asked to do; `--resume` repeats it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunSettings {
    pub file: String,
    pub pipeline: String,
    pub stage: Option<String>,
    pub sets: Vec<(String, String)>,
    pub mounts: BTreeMap<String, String>,
}

/// `20261128-183012-ab12`: sortable by start time, unique per process.
pub fn new_run_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{:04x}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        (std::process::id() ^ now.subsec_nanos()) & 0xffff
    )
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant).
pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
    }
}
