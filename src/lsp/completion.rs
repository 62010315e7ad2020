//! Completion, from the context at the cursor as the forgiving lexer sees
//! it (the file is usually half-typed): the fields a block may still hold,
//! template names after `use`, stage names in `after`, params inside `${`,
//! strategies after `by`, item sources, `secret`/`config_map` in `env`,
//! the words of `operator` and `effect`, standard library imports.

use super::analysis::Analysis;
use super::hover;
use super::lex::{self, Kind, Token};
use super::reference;
use super::tree;
use crate::check::fields::{BlockKind, ValueKind};
use crate::ir::{SourceKind, Strategy};
use crate::stdlib;
use lsp_types::{
    CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind, Position, Range,
    TextEdit,
};
use std::collections::BTreeSet;

/// What a `{ ... }` holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ctx {
    Pipeline(String),
    /// A stage (its name) or a template (`None`): both hold stage fields.
    Stage(Option<String>),
    Volume,
    Resources,
    Toleration,
    /// The block value of a field (`env`, `labels`, ...).
    Map(String),
    Other,
}

#[derive(Clone, Debug)]
enum Frame {
    Block {
        ctx: Ctx,
        /// The field whose `=` was last seen, and the offset after it.
        eq: Option<(String, usize)>,
        keys: BTreeSet<String>,
    },
    List(Option<String>),
    Paren,
}

/// A declaration found by the lexer: `stage x` or `param x` and the
/// pipeline it is in.
struct Decl {
    word: &'static str,
    name: String,
    pipeline: Option<String>,
}

struct Scan {
    /// The frames open at the cursor, outermost first.
    stack: Vec<Frame>,
    decls: Vec<Decl>,
}

fn scan(text: &str, tokens: &[Token], cursor: usize) -> Scan {
    let mut stack: Vec<Frame> = Vec::new();
    let mut at_cursor = None;
    let mut decls = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if at_cursor.is_none() && t.start >= cursor {
            at_cursor = Some(stack.clone());
        }
        let prev = |n: usize| i.checked_sub(n).map(|j| tokens[j]);
        let word = |t: Option<Token>| t.map(|t| &text[t.start..t.end]);
        let pipeline = || {
            stack.iter().rev().find_map(|f| match f {
                Frame::Block {
                    ctx: Ctx::Pipeline(p),
                    ..
                } => Some(p.clone()),
                _ => None,
            })
        };
        match t.kind {
            Kind::Ident if matches!(word(prev(1)), Some("stage" | "param")) => {
                decls.push(Decl {
                    word: if word(prev(1)) == Some("stage") {
                        "stage"
                    } else {
                        "param"
                    },
                    name: text[t.start..t.end].to_string(),
                    pipeline: pipeline(),
                });
            }
            Kind::Punct(b'{') => {
                let key = match (prev(1), prev(2)) {
                    (Some(p), _) if p.kind == Kind::Ident => word(Some(p)),
                    (Some(p), Some(k)) if p.kind == Kind::Punct(b'=') && k.kind == Kind::Ident => {
                        word(Some(k))
                    }
                    _ => None,
                };
                let decl = prev(2)
                    .filter(|k| k.kind == Kind::Keyword)
                    .map(|k| &text[k.start..k.end]);
                let parent = stack.last();
                let in_stage = matches!(
                    parent,
                    Some(Frame::Block {
                        ctx: Ctx::Stage(_),
                        ..
                    })
                );
                let ctx = match (decl, key) {
                    (Some("pipeline"), Some(n)) => Ctx::Pipeline(n.to_string()),
                    (Some("template"), _) => Ctx::Stage(None),
                    (Some("stage"), Some(n)) => Ctx::Stage(Some(n.to_string())),
                    (Some("volume"), _) => Ctx::Volume,
                    (_, Some("resources")) if in_stage => Ctx::Resources,
                    (_, Some("tolerations")) if in_stage => Ctx::Toleration,
                    (_, Some(k)) => Ctx::Map(k.to_string()),
                    _ if matches!(parent, Some(Frame::List(Some(k))) if k == "tolerations") => {
                        Ctx::Toleration
                    }
                    _ => Ctx::Other,
                };
                stack.push(Frame::Block {
                    ctx,
                    eq: None,
                    keys: BTreeSet::new(),
                });
            }
            Kind::Punct(b'[') => {
                let key = match stack.last() {
                    Some(Frame::Block {
                        eq: Some((k, _)), ..
                    }) => Some(k.clone()),
                    _ => None,
                };
                stack.push(Frame::List(key));
            }
            Kind::Punct(b'(') => stack.push(Frame::Paren),
            Kind::Punct(b'}' | b']' | b')') => {
                stack.pop();
            }
            Kind::Punct(b'=') => {
                if let (Some(Frame::Block { eq, keys, .. }), Some(k)) = (stack.last_mut(), prev(1))
                    && (k.kind == Kind::Ident || k.kind == Kind::Str)
                {
                    let key = text[k.start..k.end].to_string();
                    keys.insert(key.clone());
                    *eq = Some((key, t.end));
                }
            }
            Kind::Punct(b',') => {
                if let Some(Frame::Block { eq, .. }) = stack.last_mut() {
                    *eq = None;
                }
            }
            _ => {}
        }
    }
    Scan {
        stack: at_cursor.unwrap_or(stack),
        decls,
    }
}

/// The completions at `offset` of `text`; `analysis` is the file's last
/// check (templates across imports, params).
pub(crate) fn complete(
    text: &str,
    offset: usize,
    analysis: Option<&Analysis>,
) -> Vec<CompletionItem> {
    let offset = offset.min(text.len());
    let tokens = lex::lex(text);
    // The word being typed does not count as context.
    let word_start = text[..offset]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    if let Some(t) = tokens
        .iter()
        .find(|t| t.start < offset && offset <= t.end && matches!(t.kind, Kind::Str | Kind::Interp))
    {
        return in_string(text, &tokens, *t, offset, analysis);
    }
    if tokens
        .iter()
        .any(|t| t.kind == Kind::Comment && t.start < offset && offset <= t.end)
    {
        return Vec::new();
    }
    let scan = scan(text, &tokens, word_start);
    let before: Vec<&Token> = tokens.iter().filter(|t| t.end <= word_start).collect();
    let last_word = before.last().map(|t| &text[t.start..t.end]);
    let Some(frame) = scan.stack.last() else {
        return keywords(&["import", "pipeline", "template"]);
    };
    let pipeline = scan.stack.iter().rev().find_map(|f| match f {
        Frame::Block {
            ctx: Ctx::Pipeline(p),
            ..
        } => Some(p.clone()),
        _ => None,
    });
    let stage = scan.stack.iter().rev().find_map(|f| match f {
        Frame::Block {
            ctx: Ctx::Stage(s), ..
        } => Some(s.clone()),
        _ => None,
    });
    if last_word == Some("by") {
        return strategies();
    }
    match frame {
        Frame::List(Some(key)) => {
            value(key, None, text, &scan, pipeline, stage, analysis, last_word)
        }
        Frame::List(None) | Frame::Paren => params(&scan, pipeline.as_deref()),
        Frame::Block { ctx, eq, keys } => {
            let in_value = eq
                .as_ref()
                .is_some_and(|(_, at)| !text[*at..word_start].contains('\n'));
            if let (true, Some((key, _))) = (in_value, eq) {
                return value(
                    key,
                    Some(ctx),
                    text,
                    &scan,
                    pipeline,
                    stage,
                    analysis,
                    last_word,
                );
            }
            let block = match ctx {
                Ctx::Pipeline(_) => BlockKind::Pipeline,
                Ctx::Stage(_) => BlockKind::Stage,
                Ctx::Volume => BlockKind::Volume,
                Ctx::Resources => BlockKind::Resources,
                Ctx::Toleration => BlockKind::Toleration,
                Ctx::Map(_) | Ctx::Other => return Vec::new(),
            };
            let mut out = fields(block, keys);
            if block == BlockKind::Pipeline {
                out.extend(keywords(&["stage", "volume", "param"]));
            }
            out
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn value(
    key: &str,
    ctx: Option<&Ctx>,
    text: &str,
    scan: &Scan,
    pipeline: Option<String>,
    stage: Option<Option<String>>,
    analysis: Option<&Analysis>,
    last_word: Option<&str>,
) -> Vec<CompletionItem> {
    let _ = text;
    match (ctx, key) {
        (Some(Ctx::Map(m)), _) if m == "env" => {
            let mut out = functions(&["secret", "config_map"]);
            out.extend(params(scan, pipeline.as_deref()));
            out
        }
        (Some(Ctx::Toleration), "operator" | "effect") => {
            let spec = BlockKind::Toleration.field(key);
            match spec.map(|s| s.kind) {
                Some(ValueKind::Choice(options)) => options
                    .iter()
                    .map(|o| item(&format!("\"{o}\""), CompletionItemKind::ENUM_MEMBER, None))
                    .collect(),
                _ => Vec::new(),
            }
        }
        (_, "use") => templates(analysis),
        (_, "after") => scan
            .decls
            .iter()
            .filter(|d| d.word == "stage" && d.pipeline == pipeline)
            .filter(|d| stage.as_ref().and_then(|s| s.as_deref()) != Some(d.name.as_str()))
            .map(|d| item(&d.name, CompletionItemKind::CLASS, Some("stage")))
            .collect(),
        (_, "shard") if matches!(last_word, Some(")" | "]")) => keywords(&["by"]),
        (_, "shard") => {
            let mut out: Vec<CompletionItem> = SourceKind::ALL
                .into_iter()
                .filter(|k| k.is_call())
                .map(|k| {
                    let mut i = item(
                        k.as_str(),
                        CompletionItemKind::FUNCTION,
                        Some("item source"),
                    );
                    i.insert_text = Some(format!("{k}("));
                    i.documentation = hover::function(k.as_str()).map(markdown);
                    i
                })
                .collect();
            out.extend(params(scan, pipeline.as_deref()));
            out
        }
        _ => {
            let kind = ctx
                .and_then(ctx_block)
                .and_then(|b| b.field(key))
                .map(|s| s.kind);
            let mut out = match kind {
                Some(ValueKind::Bool) => keywords(&["true", "false"]),
                _ => Vec::new(),
            };
            out.extend(params(scan, pipeline.as_deref()));
            out
        }
    }
}

fn ctx_block(ctx: &Ctx) -> Option<BlockKind> {
    match ctx {
        Ctx::Pipeline(_) => Some(BlockKind::Pipeline),
        Ctx::Stage(_) => Some(BlockKind::Stage),
        Ctx::Volume => Some(BlockKind::Volume),
        Ctx::Resources => Some(BlockKind::Resources),
        Ctx::Toleration => Some(BlockKind::Toleration),
        _ => None,
    }
}

fn in_string(
    text: &str,
    tokens: &[Token],
    token: Token,
    offset: usize,
    analysis: Option<&Analysis>,
) -> Vec<CompletionItem> {
    let typed = &text[token.start..offset];
    let opened = typed.rfind("${").filter(|&i| !typed[i..].contains('}'));
    if let Some(i) = opened
        && !typed[..i].ends_with('$')
    {
        let scan = scan(text, tokens, token.start);
        let pipeline = scan.stack.iter().rev().find_map(|f| match f {
            Frame::Block {
                ctx: Ctx::Pipeline(p),
                ..
            } => Some(p.clone()),
            _ => None,
        });
        let mut out = params(&scan, pipeline.as_deref());
        if let Some(a) = analysis {
            for (scope, p) in tree::param_decls(a) {
                if pipeline.is_none() || pipeline.as_deref() == Some(scope.as_str()) {
                    push_unique(
                        &mut out,
                        item(&p.name.name, CompletionItemKind::VARIABLE, Some("param")),
                    );
                }
            }
        }
        return out;
    }
    let index = tokens.iter().position(|t| *t == token).unwrap_or(0);
    let import = index
        .checked_sub(1)
        .map(|j| tokens[j])
        .is_some_and(|t| &text[t.start..t.end] == "import");
    if import {
        return stdlib::MODULES
            .iter()
            .map(|(name, _)| item(name, CompletionItemKind::MODULE, Some("standard library")))
            .collect();
    }
    Vec::new()
}

fn push_unique(out: &mut Vec<CompletionItem>, new: CompletionItem) {
    if !out.iter().any(|i| i.label == new.label) {
        out.push(new);
    }
}

fn params(scan: &Scan, pipeline: Option<&str>) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    for d in &scan.decls {
        if d.word == "param" && (pipeline.is_none() || d.pipeline.as_deref() == pipeline) {
            push_unique(
                &mut out,
                item(&d.name, CompletionItemKind::VARIABLE, Some("param")),
            );
        }
    }
    out
}

fn templates(analysis: Option<&Analysis>) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    let mut known = BTreeSet::new();
    if let Some(a) = analysis {
        for d in tree::templates(a) {
            known.insert(d.name.name.clone());
            let mut i = item(&d.name.name, CompletionItemKind::CLASS, Some("template"));
            i.documentation = hover_template(a, &d.name.name);
            out.push(i);
        }
    }
    // Templates of standard library modules not imported yet, with the import.
    for (module, source) in stdlib::MODULES {
        for name in source
            .lines()
            .filter_map(|l| l.strip_prefix("template "))
            .filter_map(|l| l.split_whitespace().next())
        {
            if known.contains(name) {
                continue;
            }
            let mut i = item(
                name,
                CompletionItemKind::CLASS,
                Some(&format!("template from {module}")),
            );
            i.additional_text_edits = Some(vec![TextEdit::new(
                Range::new(Position::new(0, 0), Position::new(0, 0)),
                format!("import \"{module}\"\n"),
            )]);
            out.push(i);
        }
    }
    out
}

fn hover_template(a: &Analysis, name: &str) -> Option<Documentation> {
    let fields = tree::merged_template(a, name)?;
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    Some(markdown(format!("```vcp\n{}\n```", body.join("\n"))))
}

fn fields(block: BlockKind, set: &BTreeSet<String>) -> Vec<CompletionItem> {
    block
        .fields()
        .iter()
        .filter(|f| !set.contains(f.name))
        .map(|f| {
            let detail = reference::field(block, f.name)
                .and_then(|r| r.cell("type").map(str::to_string))
                .unwrap_or_else(|| hover::kind_text(f.kind).to_string());
            let mut i = item(f.name, CompletionItemKind::FIELD, Some(&detail));
            i.documentation = hover::field(block, f.name).map(markdown);
            i.insert_text = Some(match f.kind {
                ValueKind::Block(_) => format!("{} {{ ", f.name),
                _ => format!("{} = ", f.name),
            });
            i
        })
        .collect()
}

fn strategies() -> Vec<CompletionItem> {
    Strategy::ALL
        .into_iter()
        .map(|s| {
            let mut i = item(
                s.as_str(),
                CompletionItemKind::ENUM_MEMBER,
                Some("shard strategy"),
            );
            i.documentation = hover::strategy(s.as_str()).map(markdown);
            i
        })
        .collect()
}

fn functions(names: &[&str]) -> Vec<CompletionItem> {
    names
        .iter()
        .map(|n| {
            let mut i = item(n, CompletionItemKind::FUNCTION, None);
            i.insert_text = Some(format!("{n}("));
            i.documentation = hover::function(n).map(markdown);
            i
        })
        .collect()
}

fn keywords(words: &[&str]) -> Vec<CompletionItem> {
    words
        .iter()
        .map(|w| item(w, CompletionItemKind::KEYWORD, None))
        .collect()
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<&str>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: detail.map(str::to_string),
        ..CompletionItem::default()
    }
}

fn markdown(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str) -> Vec<String> {
        let offset = text.find('|').expect("a cursor");
        let text = text.replacen('|', "", 1);
        complete(&text, offset, None)
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn fields_in_their_blocks() {
        let got = labels("pipeline p {\n  stage a {\n    workers = 2\n    |\n  }\n}\n");
        assert!(got.contains(&"run".to_string()), "{got:?}");
        assert!(
            !got.contains(&"workers".to_string()),
            "already set: {got:?}"
        );
        assert!(!got.contains(&"namespace".to_string()), "{got:?}");
        let got = labels("pipeline p {\n  na|\n");
        assert!(got.contains(&"namespace".to_string()) && got.contains(&"stage".to_string()));
        let got = labels("pipeline p { stage a { resources { c| } } }");
        assert!(
            got.contains(&"cpu".to_string()) && !got.contains(&"run".to_string()),
            "{got:?}"
        );
        let got = labels("|");
        assert_eq!(got, ["import", "pipeline", "template"]);
    }

    #[test]
    fn names_in_their_places() {
        let text = "pipeline p {\n  param day: string = \"x\"\n  stage a { run = \"x\" }\n  stage b {\n    after = [|]\n    shard = range(0, 3) by m\n    run = \"echo ${d\"\n  }\n}\n";
        assert_eq!(labels(text), ["a"]);
        let by = text
            .replace("after = [|]", "after = []")
            .replace("by m", "by |m");
        assert_eq!(labels(&by), ["modulo", "block", "hash", "size"]);
        let interp = text
            .replace("after = [|]", "after = []")
            .replace("${d", "${d|");
        assert_eq!(labels(&interp), ["day"]);
        let literal = interp.replace("${d|", "$${d|");
        assert!(labels(&literal).is_empty());
        let uses = text.replace("after = [|]", "use = |");
        let got = labels(&uses);
        assert!(
            got.contains(&"python".to_string()) && got.contains(&"cube-volcano".to_string()),
            "{got:?}"
        );
        let imports = "import \"std/|\"";
        assert_eq!(labels(imports), ["std/cube", "std/python"]);
        let op = "pipeline p { stage a { tolerations = [{ operator = | }] } }";
        assert_eq!(labels(op), ["\"Equal\"", "\"Exists\""]);
        let env = "pipeline p { stage a { env { A = | } } }";
        assert!(labels(env).contains(&"secret".to_string()));
    }
}
