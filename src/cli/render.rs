//! Rendering diagnostics for people (miette) and counting them. miette stays
//! in this file: the core produces plain `Diagnostic` data.

use crate::diag::{Code, Diagnostic, Severity};
use crate::source::{FileId, SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::collections::BTreeMap;
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

/// Renders every diagnostic, in order, as one string. The values E0701
/// warns about (credentials written inline) are masked in every excerpt,
/// since CI logs keep what is printed here.
pub fn render_all(sources: &SourceMap, diags: &[Diagnostic], style: Style) -> String {
    let masks = Masks::new(sources, diags);
    let mut out = String::new();
    for d in diags {
        out.push_str(&render_masked(sources, d, style, &masks));
    }
    out
}

pub fn render(sources: &SourceMap, diag: &Diagnostic, style: Style) -> String {
    render_all(sources, std::slice::from_ref(diag), style)
}

/// What a masked literal shows for each character of its value.
const MASK: char = '*';

/// The files whose excerpts hide credential-looking values: for each, the
/// text with every such value replaced by [`MASK`]s (quotes kept), and the
/// replaced ranges to move the other positions of the file by.
#[derive(Default)]
struct Masks {
    files: BTreeMap<FileId, (String, Vec<Cut>)>,
}

/// `old` (a byte range of the file) became `start..new_end` of the masked text.
#[derive(Clone, Copy)]
struct Cut {
    old: (usize, usize),
    new_end: usize,
}

impl Masks {
    fn new(sources: &SourceMap, diags: &[Diagnostic]) -> Masks {
        let mut spans: BTreeMap<FileId, Vec<(usize, usize)>> = BTreeMap::new();
        for d in diags.iter().filter(|d| d.code == Code::InlineSecret) {
            if let Some(span) = d.span {
                spans
                    .entry(span.file)
                    .or_default()
                    .push((span.start as usize, span.end as usize));
            }
        }
        let mut masks = Masks::default();
        for (file, mut ranges) in spans {
            ranges.sort_unstable();
            ranges.dedup();
            let text = &sources.get(file).text;
            let mut out = String::with_capacity(text.len());
            let mut cuts = Vec::new();
            let mut at = 0;
            for (start, end) in ranges {
                let Some(value) = text.get(start..end).filter(|_| start >= at) else {
                    continue;
                };
                out.push_str(&text[at..start]);
                // Keep the quotes (`"`, `"""`), hide what is between them.
                let open = value.len() - value.trim_start_matches('"').len();
                let close = value.len() - value.trim_end_matches('"').len();
                let (open, close) = if open + close >= value.len() {
                    (0, 0)
                } else {
                    (open, close)
                };
                out.push_str(&value[..open]);
                // One `*` a character (line breaks kept): every line and
                // column of the file stays where it was.
                out.extend(
                    value[open..value.len() - close]
                        .chars()
                        .map(|c| if c == '\n' { '\n' } else { MASK }),
                );
                out.push_str(&value[value.len() - close..]);
                cuts.push(Cut {
                    old: (start, end),
                    new_end: out.len(),
                });
                at = end;
            }
            out.push_str(&text[at..]);
            masks.files.insert(file, (out, cuts));
        }
        masks
    }

    /// The text to show for `file`, masked where needed.
    fn text<'a>(&'a self, sources: &'a SourceMap, file: FileId) -> &'a str {
        self.files
            .get(&file)
            .map_or(sources.get(file).text.as_str(), |(t, _)| t.as_str())
    }

    /// A span of the original file as a (start, length) of the shown text.
    fn span(&self, span: Span) -> SourceSpan {
        let Some((_, cuts)) = self.files.get(&span.file) else {
            return SourceSpan::new((span.start as usize).into(), span.len());
        };
        let map = |pos: usize| -> usize {
            // Positions after a cut move with it; one inside a masked value
            // stays inside it.
            let mut shift = 0isize;
            for cut in cuts {
                let (start, end) = cut.old;
                if pos >= end {
                    shift = cut.new_end as isize - end as isize;
                } else {
                    if pos > start {
                        let new_start = start.saturating_add_signed(shift);
                        return new_start + (pos - start).min(cut.new_end - new_start);
                    }
                    break;
                }
            }
            pos.saturating_add_signed(shift)
        };
        let start = map(span.start as usize);
        let end = map(span.end as usize).max(start);
        SourceSpan::new(start.into(), end - start)
    }
}

fn render_masked(sources: &SourceMap, diag: &Diagnostic, style: Style, masks: &Masks) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let report = Report::new(sources, diag, masks);
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
    fn new(sources: &SourceMap, d: &Diagnostic, masks: &Masks) -> Report {
        let mut labels = Vec::new();
        let mut help = d.help.clone();
        let mut source = None;
        if let Some(span) = d.span {
            let file = sources.get(span.file);
            let text = masks.text(sources, span.file).to_string();
            source = Some(NamedSource::new(file.name.clone(), text));
            labels.push(LabeledSpan::new_primary_with_span(
                d.label.clone(),
                masks.span(span),
            ));
        }
        for l in &d.secondary {
            if d.span.is_some_and(|s| s.file == l.span.file) {
                labels.push(LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    masks.span(l.span),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Origin;

    #[test]
    fn masked_values_keep_every_other_position() {
        let mut sources = SourceMap::new();
        let text = "env { A_TOKEN = \"sécret\", B = \"\"\"x\ny\"\"\", C = 1 }\n";
        let f = sources.add("p.vcp", text, Origin::User);
        let at = |s: &str| text.find(s).expect("in text");
        let secret = |s: &str| {
            Diagnostic::warning(
                Code::InlineSecret,
                Span::new(f, at(s), at(s) + s.len()),
                "looks like a credential",
            )
        };
        let diags = [secret("\"sécret\""), secret("\"\"\"x\ny\"\"\"")];
        let masks = Masks::new(&sources, &diags);
        assert_eq!(
            masks.text(&sources, f),
            "env { A_TOKEN = \"******\", B = \"\"\"*\n*\"\"\", C = 1 }\n"
        );
        // `C` is one byte earlier (`é` is two bytes, its mask one).
        let c = Span::new(f, at("C ="), at("C =") + 1);
        assert_eq!(masks.span(c), SourceSpan::new((at("C =") - 1).into(), 1));
        // Before the first value nothing moves; inside one, it stays inside.
        let a = Span::new(f, 6, 13);
        assert_eq!(masks.span(a), SourceSpan::new(6.into(), 7));
        let inside = Span::new(f, at("cret"), at("cret") + 2);
        let shown = masks.span(inside);
        assert!(shown.offset() > at("\"sécret") && shown.offset() < at(", B"));
        let out = render_all(&sources, &diags, Style::plain());
        assert!(!out.contains("sécret") && !out.contains("x\ny"), "{out}");
    }
}
