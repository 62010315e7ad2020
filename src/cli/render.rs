//! Rendering diagnostics for people (miette) and counting them. miette stays
//! in this file: the core produces plain `Diagnostic` data.

use crate::diag::{Diagnostic, Severity};
use crate::source::SourceMap;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

/// How diagnostics look on a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Style {
    /// No colour, fixed width: what tests snapshot.
    pub fn plain() -> Style {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// Renders every diagnostic, in order, as one string.
pub fn render_all(sources: &SourceMap, diags: &[Diagnostic], style: Style) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render(sources, d, style));
    }
    out
}

pub fn render(sources: &SourceMap, diag: &Diagnostic, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let report = Report::new(sources, diag);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", diag.code.as_str(), diag.message);
    }
    out
}

/// `error: 2 errors, 1 warning` style summary line, or `None` when clean.
pub fn summary(diags: &[Diagnostic]) -> Option<String> {
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, 0) => None,
        (0, w) => Some(plural(w, "warning")),
        (e, 0) => Some(plural(e, "error")),
        (e, w) => Some(format!("{}, {}", plural(e, "error"), plural(w, "warning"))),
    }
}

/// A diagnostic in miette's terms, with its file as source code.
struct Report {
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
}

impl Report {
    fn new(sources: &SourceMap, d: &Diagnostic) -> Report {
        let mut labels = Vec::new();
        let mut help = d.help.clone();
        let mut source = None;
        if let Some(span) = d.span {
            let file = sources.get(span.file);
            source = Some(NamedSource::new(file.name.clone(), file.text.clone()));
            labels.push(LabeledSpan::new_primary_with_span(
                d.label.clone(),
                SourceSpan::new((span.start as usize).into(), span.len()),
            ));
        }
        for l in &d.secondary {
            if d.span.is_some_and(|s| s.file == l.span.file) {
                labels.push(LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    SourceSpan::new((l.span.start as usize).into(), l.span.len()),
                ));
            } else {
                // miette shows one file per report: name the other place.
                let at = sources.location(l.span);
                let note = format!("{}: {at}", l.message);
                help = Some(match help {
                    Some(h) => format!("{h}\n{note}"),
                    None => note,
                });
            }
        }
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        Report {
            message: format!("{severity}[{}]: {}", d.code.as_str(), d.message),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            help,
            source,
            labels,
        }
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}
