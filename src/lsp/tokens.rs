//! Semantic tokens: the forgiving lexer's tokens, with names classified by
//! their place (a declaration's name, a field key, a function, a strategy,
//! a param inside `${}`), one token per line as the protocol wants.

use super::lex::{self, Kind, Token};
use super::text::LineIndex;
use lsp_types::{SemanticToken, SemanticTokenType, SemanticTokensLegend};

/// The token types, in legend order.
pub(crate) const TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::KEYWORD,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::CLASS,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::ENUM_MEMBER,
    SemanticTokenType::TYPE,
    SemanticTokenType::OPERATOR,
];

fn ty(t: &SemanticTokenType) -> u32 {
    TYPES.iter().position(|x| x == t).unwrap_or(0) as u32
}

pub(crate) fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.to_vec(),
        token_modifiers: Vec::new(),
    }
}

/// What a token is, or `None` for punctuation that needs no colour.
fn classify(text: &str, tokens: &[Token], i: usize) -> Option<SemanticTokenType> {
    let t = tokens[i];
    let word = |j: Option<usize>| j.and_then(|j| tokens.get(j)).map(|t| &text[t.start..t.end]);
    let next = tokens.get(i + 1).map(|t| t.kind);
    Some(match t.kind {
        Kind::Comment => SemanticTokenType::COMMENT,
        Kind::Keyword | Kind::Bool => SemanticTokenType::KEYWORD,
        Kind::Number => SemanticTokenType::NUMBER,
        Kind::Str => SemanticTokenType::STRING,
        Kind::Interp => SemanticTokenType::PARAMETER,
        Kind::Punct(b'=') => SemanticTokenType::OPERATOR,
        Kind::Punct(_) | Kind::Other => return None,
        Kind::Ident => match word(i.checked_sub(1)) {
            Some("pipeline") => SemanticTokenType::NAMESPACE,
            Some("template") | Some("stage") => SemanticTokenType::CLASS,
            Some("volume") => SemanticTokenType::VARIABLE,
            Some("param") => SemanticTokenType::PARAMETER,
            Some("by") => SemanticTokenType::ENUM_MEMBER,
            Some(":") if i >= 3 && word(Some(i - 3)) == Some("param") => SemanticTokenType::TYPE,
            _ if next == Some(Kind::Punct(b'(')) => SemanticTokenType::FUNCTION,
            _ if matches!(next, Some(Kind::Punct(b'=' | b'{'))) => SemanticTokenType::PROPERTY,
            _ => SemanticTokenType::VARIABLE,
        },
    })
}

/// The encoded tokens of a whole document.
pub(crate) fn semantic_tokens(text: &str) -> Vec<SemanticToken> {
    let index = LineIndex::new(text);
    let tokens = lex::lex(text);
    let mut out = Vec::new();
    let (mut last_line, mut last_start) = (0u32, 0u32);
    for i in 0..tokens.len() {
        let Some(kind) = classify(text, &tokens, i) else {
            continue;
        };
        let t = tokens[i];
        // One token per line: a multi-line string is cut at each newline.
        let mut start = t.start;
        for piece in text[t.start..t.end].split_inclusive('\n') {
            let end = start + piece.trim_end_matches(['\n', '\r']).len();
            if end > start {
                let from = index.position(start);
                let to = index.position(end);
                let delta_line = from.line - last_line;
                let delta_start = if delta_line == 0 {
                    from.character - last_start
                } else {
                    from.character
                };
                out.push(SemanticToken {
                    delta_line,
                    delta_start,
                    length: to.character.saturating_sub(from.character),
                    token_type: ty(&kind),
                    token_modifiers_bitset: 0,
                });
                (last_line, last_start) = (from.line, from.character);
            }
            start += piece.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified_by_place() {
        let text = "pipeline p {\n  param n: int = 2\n  stage s {\n    shard = range(0, n) by hash\n    run = \"\"\"\n      echo ${n}\n    \"\"\"\n  }\n}\n";
        let got = semantic_tokens(text);
        let mut line = 0;
        let mut col = 0;
        let mut seen = Vec::new();
        for t in &got {
            if t.delta_line > 0 {
                col = 0;
            }
            line += t.delta_line;
            col += t.delta_start;
            let start = LineIndex::new(text).offset(lsp_types::Position::new(line, col));
            seen.push((
                &text[start..start + t.length as usize],
                TYPES[t.token_type as usize].as_str(),
            ));
        }
        for expected in [
            ("p", "namespace"),
            ("n", "parameter"),
            ("int", "type"),
            ("s", "class"),
            ("shard", "property"),
            ("range", "function"),
            ("hash", "enumMember"),
            ("${n}", "parameter"),
            ("      echo ", "string"),
        ] {
            assert!(seen.contains(&expected), "{expected:?} in {seen:?}");
        }
    }
}
