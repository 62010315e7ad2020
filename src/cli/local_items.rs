//! The items of a `lines()` or `files()` source, read from this machine for
//! `vcp shards`: when the path is under a volume's mount and the volume has a
//! local folder (`--mount`, else its `local` path), the file is read or the
//! pattern expanded there, and the items are what a pod would list: lines
//! as bytes, files by their paths under the mount. Assigning them to workers
//! is `crate::shard`'s job; this file only reads.

use crate::ir::{ItemSource, Pipeline, Strategy, Volume};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Items read from a local folder.
#[derive(Debug)]
pub(super) struct LocalItems {
    pub items: Vec<Vec<u8>>,
    /// Byte sizes, for the `size` strategy.
    pub sizes: Option<Vec<u64>>,
    /// Where they came from: `data, the local folder of volume `data``.
    pub from: String,
}

/// The local folder of each volume that has one: `--mount` first, then the
/// volume's `local` path, relative to the pipeline file's folder, when that
/// folder exists (a `local` folder that is missing means the data is not on
/// this machine; a `--mount` that is missing is an error, reported by
/// [`read`]).
pub(super) fn local_folders(
    pipeline: &Pipeline,
    mounts: &BTreeMap<String, PathBuf>,
    base_dir: &Path,
) -> BTreeMap<String, PathBuf> {
    pipeline
        .volumes
        .iter()
        .filter_map(|v| {
            let dir = mounts.get(&v.name).cloned().or_else(|| {
                v.local
                    .as_ref()
                    .map(|l| base_dir.join(l))
                    .filter(|d| d.is_dir())
            })?;
            Some((v.name.clone(), dir))
        })
        .collect()
}

/// The volume whose mount holds `path` (the deepest one), and the rest of the
/// path after the mount (`""` or starting with `/`): as the wrapper scripts
/// resolve it.
fn volume_of<'p>(pipeline: &'p Pipeline, path: &'p str) -> Option<(&'p Volume, &'p str)> {
    pipeline
        .volumes
        .iter()
        .filter_map(|v| {
            let mount = v.mount.trim_end_matches('/');
            let rest = path.strip_prefix(mount)?;
            (rest.is_empty() || rest.starts_with('/')).then_some((v, rest))
        })
        .max_by_key(|(v, _)| v.mount.len())
}

/// The volume that holds a `lines()` or `files()` source, if one does.
pub(super) fn volume_name<'p>(pipeline: &'p Pipeline, source: &'p ItemSource) -> Option<&'p str> {
    match source {
        ItemSource::Lines(path) | ItemSource::Files(path) => {
            volume_of(pipeline, path).map(|(v, _)| v.name.as_str())
        }
        ItemSource::Range { .. } | ItemSource::List(_) | ItemSource::Output(_) => None,
    }
}

/// The items of `source` read from `folders`. `Ok(None)`: the data is not on
/// this machine (not under a volume with a local folder); `Err`: it should
/// be, but cannot be read.
pub(super) fn read(
    pipeline: &Pipeline,
    source: &ItemSource,
    strategy: Strategy,
    folders: &BTreeMap<String, PathBuf>,
) -> Result<Option<LocalItems>, String> {
    let (path, is_lines) = match source {
        ItemSource::Lines(path) => (path, true),
        ItemSource::Files(glob) => (glob, false),
        // Another stage's output exists only when that stage ran.
        ItemSource::Range { .. } | ItemSource::List(_) | ItemSource::Output(_) => {
            return Ok(None);
        }
    };
    let Some((volume, rest)) = volume_of(pipeline, path) else {
        return Ok(None);
    };
    let Some(folder) = folders.get(&volume.name) else {
        return Ok(None);
    };
    if !folder.is_dir() {
        return Err(format!(
            "{}, the folder of volume `{}`, is not a directory",
            folder.display(),
            volume.name
        ));
    }
    let from = format!(
        "{}, the local folder of volume `{}`",
        folder.display(),
        volume.name
    );
    let local = |rest: &str| folder.join(rest.trim_start_matches('/'));
    let items = if is_lines {
        let file = local(rest);
        let content =
            fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        crate::shard::lines_items(&content)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect()
    } else {
        let mount = volume.mount.trim_end_matches('/');
        expand(folder, rest)?
            .into_iter()
            .map(|rel| [mount.as_bytes(), b"/", &rel].concat())
            .collect::<Vec<Vec<u8>>>()
    };
    let sizes = if strategy == Strategy::Size {
        // Each item is a path in the pod: measured through its volume's
        // local folder. An item elsewhere cannot be measured here.
        let mut sizes = Vec::with_capacity(items.len());
        for item in &items {
            let path = String::from_utf8_lossy(item);
            let Some((v, rest)) = volume_of(pipeline, &path) else {
                return Ok(None);
            };
            let Some(dir) = folders.get(&v.name) else {
                return Ok(None);
            };
            let file = dir.join(rest.trim_start_matches('/'));
            let meta = fs::metadata(&file)
                .map_err(|e| format!("cannot measure {}: {e}", file.display()))?;
            sizes.push(meta.len());
        }
        Some(sizes)
    } else {
        None
    };
    Ok(Some(LocalItems { items, sizes, from }))
}

/// The regular files (symbolic links followed) below `folder` that the sh
/// pattern `rest` matches, as paths relative to `folder`, in byte order;
/// paths holding a newline are left out, as the wrapper leaves them out.
fn expand(folder: &Path, rest: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut found: Vec<Vec<u8>> = vec![Vec::new()];
    for component in rest.split('/').filter(|c| !c.is_empty()) {
        let pattern = component.as_bytes();
        let mut next = Vec::new();
        for rel in &found {
            let join = |name: &[u8]| {
                if rel.is_empty() {
                    name.to_vec()
                } else {
                    [rel.as_slice(), b"/", name].concat()
                }
            };
            if !has_magic(pattern) {
                next.push(join(&unescape(pattern)));
                continue;
            }
            let dir = folder.join(std::ffi::OsStr::from_bytes(rel));
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            // The shell's readdir sees `.` and `..`, which a pattern starting
            // with `.` matches (`.*/x`); Rust's read_dir leaves them out.
            for dots in [&b"."[..], b".."] {
                if sh_match(pattern, dots) {
                    next.push(join(dots));
                }
            }
            for entry in entries {
                let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
                let name = entry.file_name();
                if sh_match(pattern, name.as_bytes()) {
                    next.push(join(name.as_bytes()));
                }
            }
        }
        found = next;
    }
    let mut files: Vec<Vec<u8>> = found
        .into_iter()
        .filter(|rel| !rel.is_empty() && !rel.contains(&b'\n'))
        .filter(|rel| folder.join(std::ffi::OsStr::from_bytes(rel)).is_file())
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Whether a pattern component has an unescaped `*`, `?` or `[`.
fn has_magic(pattern: &[u8]) -> bool {
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn unescape(pattern: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut bytes = pattern.iter();
    while let Some(&b) = bytes.next() {
        if b == b'\\' {
            if let Some(&next) = bytes.next() {
                out.push(next);
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// POSIX sh pattern matching of one file name, byte by byte (the C locale):
/// `*`, `?`, bracket expressions (`[abc]`, `[a-z]`, `[!a]`, `[[:digit:]]`),
/// `\` escapes. A leading `.` is matched only by a `.` in the pattern.
pub(super) fn sh_match(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    matches_from(pattern, name)
}

fn matches_from(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative with one backtrack point for the last `*`: linear enough
    // for file names, never exponential.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match bracket(&pattern[p..], name[n]) {
                Some((true, len)) => Some(p + len),
                Some((false, _)) => None,
                // An unclosed `[` is an ordinary character.
                None => (name[n] == b'[').then_some(p + 1),
            },
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == name[n]).then_some(p + 2),
            Some(&c) => (c == name[n]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((sp, sn))) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `byte` against the bracket expression at the start of `pattern`:
/// `Some((matched, length of the expression))`, `None` when it is unclosed.
fn bracket(pattern: &[u8], byte: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let c = *pattern.get(i)?;
        if c == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if c == b'[' && pattern.get(i + 1) == Some(&b':') {
            let end = pattern[i + 2..].windows(2).position(|w| w == b":]")?;
            let class = &pattern[i + 2..i + 2 + end];
            matched |= in_class(class, byte);
            i += end + 4;
            continue;
        }
        let (low, len) = match c {
            b'\\' => (*pattern.get(i + 1)?, 2),
            _ => (c, 1),
        };
        i += len;
        if pattern.get(i) == Some(&b'-') && pattern.get(i + 1).is_some_and(|&h| h != b']') {
            let high = *pattern.get(i + 1)?;
            matched |= (low..=high).contains(&byte);
            i += 2;
        } else {
            matched |= low == byte;
        }
    }
}

fn in_class(class: &[u8], b: u8) -> bool {
    match class {
        b"alpha" => b.is_ascii_alphabetic(),
        b"digit" => b.is_ascii_digit(),
        b"alnum" => b.is_ascii_alphanumeric(),
        b"upper" => b.is_ascii_uppercase(),
        b"lower" => b.is_ascii_lowercase(),
        b"space" => b.is_ascii_whitespace() || b == 0x0b,
        b"blank" => b == b' ' || b == b'\t',
        b"punct" => b.is_ascii_punctuation(),
        b"xdigit" => b.is_ascii_hexdigit(),
        b"cntrl" => b.is_ascii_control(),
        b"print" => (0x20..0x7f).contains(&b),
        b"graph" => (0x21..0x7f).contains(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::sh_match;

    #[test]
    fn patterns_match_as_sh_does() {
        let yes = |p: &str, n: &str| assert!(sh_match(p.as_bytes(), n.as_bytes()), "{p} {n}");
        let no = |p: &str, n: &str| assert!(!sh_match(p.as_bytes(), n.as_bytes()), "{p} {n}");
        yes("*.csv", "a.csv");
        yes("*.csv", ".csv.csv".trim_start_matches('.'));
        no("*.csv", ".hidden.csv");
        yes(".*.csv", ".hidden.csv");
        no("*.csv", "a.csv.gz");
        yes("a?c", "abc");
        no("a?c", "ac");
        yes("part-[0-9][0-9]", "part-07");
        no("part-[0-9][0-9]", "part-7x");
        yes("[!a]*", "b1");
        no("[!a]*", "a1");
        yes("[[:digit:]]x", "5x");
        yes("[]]", "]");
        yes("a[", "a[");
        yes(r"a\*", "a*");
        no(r"a\*", "ab");
        yes("*a*b*c*", "xxaxxbxxcxx");
        no("*a*b*c*", "xxaxxcxxbxx");
        yes("*", "");
    }
}
