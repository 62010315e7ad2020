//! The one place YAML is written. serde-saphyr with fixed options: quote
//! every string a YAML 1.1 reader (kubectl's) could take for something else
//! (`on`, `yes`, `~`, `0123`, `1e3`), block scalars for scripts, and no
//! folding of long lines (a folded command surprises reviewers).

use serde::Serialize;

/// Renders one document; the header comment goes first.
pub fn document<T: Serialize>(header: &str, value: &T) -> String {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    options.yaml_12 = false;
    options.indent_step = 2;
    let body = match serde_saphyr::to_string_with_options(value, options) {
        Ok(body) => body,
        // Our model holds only strings, integers, booleans, lists and maps:
        // serialization cannot fail on user data.
        Err(e) => panic!("YAML serialization of the vcp model failed: {e}"),
    };
    let mut out = String::with_capacity(header.len() + body.len() + 1);
    out.push_str(header);
    out.push_str(body.trim_end_matches('\n'));
    out.push('\n');
    out
}
