//! The run directory `.vcp/runs/<run-id>/`: the scripts as run, logs per
//! worker, done markers (for `--resume`), default volume folders, and the
//! settings a resumed run needs to compile the same pipeline again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

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

    /// Done markers and progress of a stage's items (`VCP_STATE_DIR`).
    pub fn state(&self, stage: &str) -> PathBuf {
        self.path.join("state").join(stage)
    }

    /// Exists once the stage (and its reduce step) completed.
    pub fn stage_done(&self, stage: &str) -> PathBuf {
        self.path.join("state").join(format!("{stage}.done"))
    }

    fn settings_file(&self) -> PathBuf {
        self.path.join("run.json")
    }

    pub fn save(&self, settings: &RunSettings) -> io::Result<()> {
        std::fs::create_dir_all(&self.path)?;
        let text = serde_json::to_string_pretty(settings).map_err(io::Error::other)?;
        std::fs::write(self.settings_file(), text + "\n")
    }

    pub fn load(&self) -> io::Result<RunSettings> {
        let text = std::fs::read_to_string(self.settings_file())?;
        serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
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
