//! Document symbols (pipeline -> params, volumes, stages; templates;
//! imports) and folding ranges (blocks, lists, multi-line strings, runs of
//! comment lines).

use super::lex::{self, Kind};
use super::text::LineIndex;
use crate::source::Span;
use crate::syntax::ast::{self, Entry, Item};
use lsp_types::{DocumentSymbol, FoldingRange, FoldingRangeKind, SymbolKind};

pub(crate) fn document_symbols(file: &ast::File, text: &str) -> Vec<DocumentSymbol> {
    let index = LineIndex::new(text);
    file.items
        .iter()
        .map(|item| match item {
            Item::Import(i) => symbol(
                &index,
                text,
                i.path.span,
                i.span,
                SymbolKind::MODULE,
                "import",
                Vec::new(),
            ),
            Item::Template(d) => decl(&index, text, d, SymbolKind::CLASS, "template", Vec::new()),
            Item::Pipeline(d) => {
                let children = d
                    .body
                    .entries
                    .iter()
                    .filter_map(|e| match e {
                        Entry::Stage(s) => Some(decl(
                            &index,
                            text,
                            s,
                            SymbolKind::FUNCTION,
                            "stage",
                            Vec::new(),
                        )),
                        Entry::Volume(v) => Some(decl(
                            &index,
                            text,
                            v,
                            SymbolKind::STRUCT,
                            "volume",
                            Vec::new(),
                        )),
                        Entry::Param(p) => Some(symbol(
                            &index,
                            text,
                            p.name.span,
                            p.span,
                            SymbolKind::VARIABLE,
                            &format!("param: {}", p.ty.name),
                            Vec::new(),
                        )),
                        Entry::Field(_) => None,
                    })
                    .collect();
                decl(&index, text, d, SymbolKind::NAMESPACE, "pipeline", children)
            }
        })
        .collect()
}

fn decl(
    index: &LineIndex<'_>,
    text: &str,
    d: &ast::Decl,
    kind: SymbolKind,
    detail: &str,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    symbol(index, text, d.name.span, d.span, kind, detail, children)
}

#[allow(deprecated)] // `deprecated` is a field every client still reads.
fn symbol(
    index: &LineIndex<'_>,
    text: &str,
    name: Span,
    whole: Span,
    kind: SymbolKind,
    detail: &str,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    let whole = whole.to(name);
    let label = text
        .get(name.start as usize..name.end as usize)
        .filter(|s| !s.is_empty())
        .unwrap_or("?");
    DocumentSymbol {
        name: label.to_string(),
        detail: Some(detail.to_string()),
        kind,
        tags: None,
        deprecated: None,
        range: index.range(whole.start as usize, whole.end as usize),
        selection_range: index.range(name.start as usize, name.end as usize),
        children: (!children.is_empty()).then_some(children),
    }
}

pub(crate) fn folding_ranges(text: &str) -> Vec<FoldingRange> {
    let index = LineIndex::new(text);
    let line = |offset: usize| index.position(offset).line;
    let mut out = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut comments: Option<(u32, u32)> = None;
    let tokens = lex::lex(text);
    for t in &tokens {
        if t.kind == Kind::Comment {
            let l = line(t.start);
            comments = match comments {
                Some((first, last)) if last + 1 == l => Some((first, l)),
                other => {
                    push_comments(&mut out, other);
                    Some((l, l))
                }
            };
            continue;
        }
        match t.kind {
            Kind::Punct(b'{' | b'[' | b'(') => open.push(t.start),
            Kind::Punct(b'}' | b']' | b')') => {
                if let Some(start) = open.pop() {
                    let (a, b) = (line(start), line(t.start));
                    if b > a {
                        out.push(FoldingRange {
                            start_line: a,
                            end_line: b - 1,
                            ..FoldingRange::default()
                        });
                    }
                }
            }
            Kind::Str | Kind::Interp => {
                let (a, b) = (line(t.start), line(t.end));
                if b > a + 1 {
                    out.push(FoldingRange {
                        start_line: a,
                        end_line: b - 1,
                        ..FoldingRange::default()
                    });
                }
            }
            _ => {}
        }
    }
    push_comments(&mut out, comments);
    out.sort_by_key(|r| (r.start_line, r.end_line));
    out.dedup();
    out
}

fn push_comments(out: &mut Vec<FoldingRange>, run: Option<(u32, u32)>) {
    if let Some((first, last)) = run.filter(|(f, l)| l > f) {
        out.push(FoldingRange {
            start_line: first,
            end_line: last,
            kind: Some(FoldingRangeKind::Comment),
            ..FoldingRange::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_comment_runs_fold() {
        let text = "# a\n# b\npipeline p {\n  stage s {\n    run = \"x\"\n  }\n}\n";
        let got: Vec<(u32, u32)> = folding_ranges(text)
            .iter()
            .map(|r| (r.start_line, r.end_line))
            .collect();
        assert_eq!(got, [(0, 1), (2, 5), (3, 4)]);
    }

    #[test]
    fn symbols_nest_under_their_pipeline() {
        let text = "import \"std/python\"\ntemplate t { retry = 1 }\npipeline p {\n  param n: int = 2\n  volume v { claim = \"c\", mount = \"/d\" }\n  stage s { run = \"x\" }\n}\n";
        let parsed = crate::syntax::parse(crate::source::FileId(0), text);
        let got = document_symbols(&parsed.file, text);
        let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["\"std/python\"", "t", "p"]);
        let children: Vec<&str> = got[2]
            .children
            .iter()
            .flatten()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(children, ["n", "v", "s"]);
    }
}
