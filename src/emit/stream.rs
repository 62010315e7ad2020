//! The manifests of a build as one multi-document YAML stream (`vcp build
//! -o -`), borrowed from the output without copying.

use super::kustomize::is_kustomize_file;
use super::output::{Output, is_generated};

/// Every manifest of a build as one multi-document YAML stream, in the order
/// `kubectl apply -f -` should create them: per pipeline, its ConfigMaps,
/// its JobTemplates (or Job), its JobFlow. kustomize's files and the plain
/// script files are left out (the scripts are inside the ConfigMaps).
pub fn stream(output: &Output) -> String {
    let mut out = String::new();
    for piece in stream_pieces(output) {
        out.push_str(piece);
    }
    out
}

/// [`stream`] as borrowed pieces, to be written out without copying.
pub fn stream_pieces(output: &Output) -> Vec<&str> {
    let mut pieces = Vec::new();
    for (path, text) in &output.files {
        if !path.ends_with(".yaml") || is_kustomize_file(path) {
            continue;
        }
        let mut parts = text.pieces();
        let Some(head) = parts.next() else {
            continue;
        };
        // One header for the stream; each file's own header line goes.
        let (first, body) = match head.split_once('\n') {
            Some((first, rest)) if is_generated(head) => (first, rest),
            _ => ("", head),
        };
        if pieces.is_empty() {
            if !first.is_empty() {
                pieces.push(&head[..first.len() + 1]);
            }
        } else {
            pieces.push("---\n");
        }
        pieces.push(body);
        pieces.extend(parts);
    }
    pieces
}
