//! The checker's diagnostics as LSP diagnostics: the code with its
//! `vcp explain` page as `codeDescription`, the help line in the message,
//! secondary labels as related information.

use super::analysis::Analysis;
use super::text::LineIndex;
use super::workspace::Workspace;
use crate::diag::{self, Code, Severity};
use crate::source::{FileId, Origin, Span};
use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Uri,
};
use std::collections::BTreeMap;
use std::str::FromStr;

/// Where the page of a code is published: the `docs/errors/` page that
/// `vcp explain` prints.
pub(crate) fn explain_uri(code: Code) -> Option<Uri> {
    Uri::from_str(&format!(
        "{}/blob/main/docs/errors/{}.md",
        env!("CARGO_PKG_REPOSITORY"),
        code.as_str()
    ))
    .ok()
}

/// The diagnostics of one check, by the name of the file they are in. A
/// diagnostic outside any file (or in the standard library) goes to the root.
pub(crate) fn of_analysis(
    analysis: &Analysis,
    root: &str,
    ws: &Workspace,
) -> BTreeMap<String, Vec<Diagnostic>> {
    let mut indexes: BTreeMap<FileId, LineIndex<'_>> = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<Diagnostic>> = BTreeMap::new();
    for (id, name) in analysis.user_files() {
        out.entry(name.to_string()).or_default();
        indexes.insert(id, LineIndex::new(&analysis.file(id).text));
    }
    out.entry(root.to_string()).or_default();
    for d in &analysis.checked.diagnostics {
        let span = d
            .span
            .filter(|s| analysis.file(s.file).origin == Origin::User);
        let (name, range) = match span {
            Some(s) => {
                let index = &indexes[&s.file];
                (
                    analysis.file(s.file).name.clone(),
                    index.range(s.start as usize, s.end as usize),
                )
            }
            None => (root.to_string(), lsp_types::Range::default()),
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .secondary
            .iter()
            .filter_map(|l| {
                let location = location(analysis, &indexes, ws, l.span)?;
                Some(DiagnosticRelatedInformation {
                    location,
                    message: l.message.clone(),
                })
            })
            .collect();
        out.entry(name).or_default().push(Diagnostic {
            range,
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.as_str().to_string())),
            code_description: explain_uri(d.code).map(|href| CodeDescription { href }),
            source: Some("vcp".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            tags: None,
            data: None,
        });
    }
    out
}

fn location(
    analysis: &Analysis,
    indexes: &BTreeMap<FileId, LineIndex<'_>>,
    ws: &Workspace,
    span: Span,
) -> Option<Location> {
    let index = indexes.get(&span.file)?;
    Some(Location {
        uri: ws.uri_of(&analysis.file(span.file).name)?,
        range: index.range(span.start as usize, span.end as usize),
    })
}

/// The checker's diagnostics of one file whose span touches `start..end`
/// (byte offsets), for code actions.
pub(crate) fn at(
    analysis: &Analysis,
    file: FileId,
    start: usize,
    end: usize,
) -> impl Iterator<Item = &diag::Diagnostic> {
    analysis.checked.diagnostics.iter().filter(move |d| {
        d.span
            .is_some_and(|s| s.file == file && s.start as usize <= end && start <= s.end as usize)
    })
}
