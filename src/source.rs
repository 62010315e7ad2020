//! Source files and spans.
//!
//! Every file the compiler reads (a user file, an import, a stdlib module) gets
//! a [`FileId`] in a [`SourceMap`]. Every AST node and every diagnostic carries
//! a [`Span`]: a byte range in one file. Line and column are computed only when
//! a diagnostic is rendered.

use std::fmt;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A byte range `start..end` in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: saturating_u32(start),
            end: saturating_u32(end),
        }
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }

    /// A span inside this one, `offset..offset+len` bytes from its start.
    pub fn sub(self, offset: usize, len: usize) -> Span {
        let start = self.start.saturating_add(saturating_u32(offset));
        Span {
            file: self.file,
            start,
            end: start
                .saturating_add(saturating_u32(len))
                .min(self.end.max(start)),
        }
    }
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Where a source file came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file the user named or imported; the name is the path as shown to the user.
    User,
    /// A module of the embedded standard library (`std/...`).
    Stdlib,
}

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics and headers: a relative path or `std/python`.
    pub name: String,
    /// The name the output gives it (headers, `vcp.dev/source`): relative to
    /// its source root, the same from any working directory. The name by
    /// default.
    pub key: String,
    pub text: String,
    pub origin: Origin,
    /// Byte offset of the start of every line.
    line_starts: Vec<u32>,
}

impl SourceFile {
    fn new(name: String, text: String, origin: Origin) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| saturating_u32(i + 1)))
            .collect();
        SourceFile {
            key: name.clone(),
            name,
            text,
            origin,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let end = (offset as usize).min(self.text.len());
        let col = self
            .text
            .get(start..end)
            .map_or(end - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

/// All files of one compilation.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(
        &mut self,
        name: impl Into<String>,
        text: impl Into<String>,
        origin: Origin,
    ) -> FileId {
        let id = FileId(saturating_u32(self.files.len()));
        self.files
            .push(SourceFile::new(name.into(), text.into(), origin));
        id
    }

    /// Sets the name the output gives a file (see [`SourceFile::key`]).
    pub fn set_key(&mut self, id: FileId, key: String) {
        self.files[id.0 as usize].key = key;
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| FileId(saturating_u32(i)))
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(saturating_u32(i)), f))
    }

    pub fn slice(&self, span: Span) -> &str {
        self.get(span.file).slice(span)
    }

    /// `file:line` of a span's start, as written into annotations.
    pub fn location(&self, span: Span) -> Location {
        let file = self.get(span.file);
        let (line, column) = file.line_col(span.start);
        Location {
            file: file.name.clone(),
            line,
            column,
        }
    }
}

/// A human-readable position: `file:line:column`, all 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A file's name as sources are known by: `.` segments and empty ones
/// removed, `..` resolved lexically (leading `..` stay). Imports are
/// resolved with it and the CLI shows names with it, so one file has one name.
pub fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(normalize_path("./x//y/./z.vcp"), "x/y/z.vcp");
        assert_eq!(normalize_path("/a/../../b"), "/b");
        assert_eq!(normalize_path("../a/./../b.vcp"), "../b.vcp");
    }
}
