//! Printing diagnostics in the format the caller asked for: for people
//! (miette, via `render`), as JSON lines for tools, or as GitHub Actions
//! workflow commands that annotate the pull request.

use super::render::{self, Style};
use crate::diag::{Diagnostic, Severity};
use crate::source::SourceMap;
use serde::Serialize;
use std::io::Write;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// Rendered with source excerpts (stderr).
    #[default]
    Human,
    /// One JSON object per diagnostic and line (stdout).
    Json,
    /// GitHub Actions `::error file=...::` annotations (stdout).
    Github,
}

/// Prints diagnostics: how they reach the user.
#[derive(Clone, Copy, Debug)]
pub struct DiagnosticPrinter {
    pub format: MessageFormat,
    pub style: Style,
}

/// A diagnostic as JSON: the documented fields of `--message-format json`.
#[derive(Serialize, Debug)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: &'a str,
    message: &'a str,
    /// Absent for problems outside any file (`--set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    /// Byte offsets `[start, end)` in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<[u32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    /// Other places that explain the diagnostic (where a name was first
    /// defined, where a parameter is declared).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related: Vec<JsonRelated<'a>>,
}

/// A secondary place of a diagnostic, in the JSON form.
#[derive(Serialize, Debug)]
struct JsonRelated<'a> {
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    span: [u32; 2],
}

fn severity(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The JSON line of one diagnostic.
pub fn json(sources: &SourceMap, d: &Diagnostic) -> String {
    let location = d.span.map(|s| {
        let file = sources.get(s.file);
        let (line, column) = file.line_col(s.start);
        let (end_line, end_column) = file.line_col(s.end);
        (
            file.name.as_str(),
            line,
            column,
            end_line,
            end_column,
            [s.start, s.end],
        )
    });
    let value = JsonDiagnostic {
        code: d.code.as_str(),
        severity: severity(d),
        message: &d.message,
        file: location.map(|l| l.0),
        line: location.map(|l| l.1),
        column: location.map(|l| l.2),
        end_line: location.map(|l| l.3),
        end_column: location.map(|l| l.4),
        span: location.map(|l| l.5),
        label: d.label.as_deref(),
        help: d.help.as_deref(),
        related: d
            .secondary
            .iter()
            .map(|l| {
                let file = sources.get(l.span.file);
                let (line, column) = file.line_col(l.span.start);
                let (end_line, end_column) = file.line_col(l.span.end);
                JsonRelated {
                    message: &l.message,
                    file: &file.name,
                    line,
                    column,
                    end_line,
                    end_column,
                    span: [l.span.start, l.span.end],
                }
            })
            .collect(),
    };
    serde_json::to_string(&value).unwrap_or_default()
}

/// GitHub's escaping for the message and for property values.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command of one diagnostic.
pub fn github(sources: &SourceMap, d: &Diagnostic) -> String {
    let mut props = Vec::new();
    if let Some(s) = d.span {
        let file = sources.get(s.file);
        let (line, col) = file.line_col(s.start);
        let (end_line, end_col) = file.line_col(s.end);
        props.push(format!("file={}", escape_property(&file.name)));
        props.push(format!("line={line}"));
        props.push(format!("col={col}"));
        props.push(format!("endLine={end_line}"));
        props.push(format!("endColumn={end_col}"));
    }
    props.push(format!("title={}", escape_property(d.code.as_str())));
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    // An annotation has one place: the others are named in its text.
    for l in &d.secondary {
        message.push_str(&format!("\n{}: {}", l.message, sources.location(l.span)));
    }
    format!(
        "::{} {}::{}",
        severity(d),
        props.join(","),
        escape_data(&message)
    )
}

impl DiagnosticPrinter {
    /// Prints every diagnostic, then (for people) a summary line.
    pub fn print(&self, sources: &SourceMap, diags: &[Diagnostic], files: usize) {
        match self.format {
            MessageFormat::Human => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(render::render_all(sources, diags, self.style).as_bytes());
                if let Some(summary) = render::summary(diags) {
                    let files = if files == 1 {
                        "1 file".to_string()
                    } else {
                        format!("{files} files")
                    };
                    let _ = writeln!(err, "{summary} in {files}");
                    if let Some(first) = diags.iter().map(|d| d.code.as_str()).min() {
                        let _ = writeln!(err, "For more about a code, run `vcp explain {first}`.");
                    }
                }
            }
            MessageFormat::Json => {
                let mut out = std::io::stdout().lock();
                for d in diags {
                    let _ = writeln!(out, "{}", json(sources, d));
                }
            }
            MessageFormat::Github => {
                let mut out = std::io::stdout().lock();
                for d in diags {
                    let _ = writeln!(out, "{}", github(sources, d));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::source::{Origin, Span};

    #[test]
    fn github_commands_escape_their_parts() {
        let mut sources = SourceMap::new();
        let f = sources.add("a,b:c.vcp", "pipeline p {\n  x = 1\n}\n", Origin::User);
        let d = Diagnostic::error(
            Code::UnknownField,
            Span::new(f, 15, 16),
            "100% wrong\nreally",
        )
        .with_help("fix it");
        assert_eq!(
            github(&sources, &d),
            "::error file=a%2Cb%3Ac.vcp,line=2,col=3,endLine=2,endColumn=4,title=E0101::100%25 wrong%0Areally%0Ahelp: fix it"
        );
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut sources = SourceMap::new();
        let f = sources.add("p.vcp", "pipeline p {\n  x = 1\n}\n", Origin::User);
        let d = Diagnostic::error(
            Code::UnknownField,
            Span::new(f, 15, 16),
            "unknown field `x`",
        )
        .with_label("here");
        let v: serde_json::Value = serde_json::from_str(&json(&sources, &d)).expect("JSON");
        assert_eq!(v["code"], "E0101");
        assert_eq!(v["severity"], "error");
        assert_eq!(v["file"], "p.vcp");
        assert_eq!(v["line"], 2);
        assert_eq!(v["column"], 3);
        assert_eq!(v["span"], serde_json::json!([15, 16]));
        assert_eq!(v["label"], "here");
        assert!(v.get("related").is_none());
    }

    #[test]
    fn other_places_are_kept_in_json_and_github() {
        let mut sources = SourceMap::new();
        let f = sources.add(
            "p.vcp",
            "pipeline p {\n  param n: int = 4\n}\n",
            Origin::User,
        );
        let d = Diagnostic::global(Code::BadSet, "`--set n=x`: `x` is not an integer")
            .with_secondary(Span::new(f, 15, 31), "`n` is declared `int` here")
            .with_help("write a whole number");
        let v: serde_json::Value = serde_json::from_str(&json(&sources, &d)).expect("JSON");
        assert_eq!(v["help"], "write a whole number");
        assert_eq!(
            v["related"],
            serde_json::json!([{
                "message": "`n` is declared `int` here",
                "file": "p.vcp", "line": 2, "column": 3, "end_line": 2, "end_column": 19,
                "span": [15, 31]
            }])
        );
        assert_eq!(
            github(&sources, &d),
            "::error title=E0602::`--set n=x`: `x` is not an integer%0Ahelp: write a whole number%0A`n` is declared `int` here: p.vcp:2:3"
        );
    }
}
