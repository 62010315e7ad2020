//! Positions and addresses: byte offsets to LSP positions (lines and UTF-16
//! code units, the encoding every client supports), edits applied to a
//! document, and `file://` URIs to the names the checker knows files by.

use lsp_types::{Position, Range, Uri};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The start of every line of a text, to turn offsets into positions and back.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = floor_char(self.text, offset.min(self.text.len()));
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(to_u32(line), to_u32(character))
    }

    pub(crate) fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end.max(start)))
    }

    /// The byte offset of a position; a position past the end of its line
    /// is the end of the line, past the last line the end of the text.
    pub(crate) fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let line_end = self
            .starts
            .get(position.line as usize + 1)
            .map_or(self.text.len(), |next| next - 1);
        let mut units = 0;
        for (i, c) in self.text[start..line_end].char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        line_end
    }
}

fn floor_char(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Applies one `didChange` edit: the range replaced by `new`, or the whole
/// text when there is no range.
pub(crate) fn apply_change(text: &mut String, range: Option<Range>, new: &str) {
    match range {
        None => new.clone_into(text),
        Some(range) => {
            let index = LineIndex::new(text);
            let start = index.offset(range.start);
            let end = index.offset(range.end).max(start);
            text.replace_range(start..end, new);
        }
    }
}

/// The local path of a `file:` URI.
pub(crate) fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path`: the authority runs to the next `/`.
    let path = &rest[rest.find('/')?..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let bytes = percent_decode(path)?;
    String::from_utf8(bytes).ok().map(PathBuf::from)
}

/// The `file:` URI of an absolute path.
pub(crate) fn path_to_uri(path: &Path) -> Option<Uri> {
    let mut out = String::from("file://");
    for &b in path.to_string_lossy().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&out).ok()
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let text = "a = \"é😀x\"\nb\n";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap_or_default();
        assert_eq!(index.position(x), Position::new(0, 8));
        assert_eq!(index.offset(Position::new(0, 8)), x);
        assert_eq!(index.offset(Position::new(1, 99)), text.len() - 1);
        assert_eq!(index.offset(Position::new(9, 0)), text.len());
        assert_eq!(index.position(text.len()), Position::new(2, 0));
    }

    #[test]
    fn edits_apply_by_range() {
        let mut text = "stage a {\n  workers = 1\n}\n".to_string();
        let range = Range::new(Position::new(1, 12), Position::new(1, 13));
        apply_change(&mut text, Some(range), "42");
        assert_eq!(text, "stage a {\n  workers = 42\n}\n");
        apply_change(&mut text, None, "x");
        assert_eq!(text, "x");
    }

    #[test]
    fn file_uris_round_trip() {
        let path = Path::new("/tmp/a dir/é.vcp");
        let uri = path_to_uri(path).expect("a valid URI");
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%C3%A9.vcp");
        assert_eq!(uri_to_path(&uri).as_deref(), Some(path));
        let other = Uri::from_str("untitled:Untitled-1").expect("a URI");
        assert_eq!(uri_to_path(&other), None);
    }
}
