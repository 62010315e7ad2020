//! The layering of ARCHITECTURE.md, held by reading the source tree: the
//! core (every module of `src/` but the edges: `cli`, `run`, `lsp` and
//! `main.rs`) does no IO and never uses an edge, and pest stays in
//! `src/syntax`. Files are found by walking `src/`, so a module split into
//! new files stays covered; a failure names the file, the line and the rule.
//!
//! The scan strips comments and string literals, then reads every path
//! (`std::fs::read`, `use std::{fs, io}`, `super::super::cli`, `::nix`) with
//! `use` trees expanded and `self`/`super` resolved against the file's
//! module, so that no spelling of a forbidden path slips through.

use std::path::Path;

/// Top-level modules of `src/` that are edges: they may do IO. Everything
/// else under `src/` is core (a new module is core until it is listed here).
const EDGES: &[&str] = &["cli", "run", "lsp", "main"];

/// Modules the core is made of: they must exist, so that a rename cannot
/// make the test pass by scanning nothing.
const CORE: &[&str] = &["syntax", "check", "ir", "emit", "fmt", "shard"];

/// Paths the core never uses, with why.
const CORE_FORBIDS: &[(&str, &str)] = &[
    (
        "std::fs",
        "the core does no IO: files reach it through check::Loader",
    ),
    (
        "std::process",
        "the core does no IO: processes belong to cli and run",
    ),
    ("std::net", "the core does no IO"),
    (
        "std::env",
        "the core does no IO: settings reach it as check::Options",
    ),
    ("std::os", "the core does no IO"),
    (
        "std::time::Instant",
        "the core reads no clock: output is deterministic",
    ),
    (
        "std::time::SystemTime",
        "the core reads no clock: output is deterministic",
    ),
    (
        "std::time::UNIX_EPOCH",
        "the core reads no clock: output is deterministic",
    ),
    ("std::io::stdin", "the core does no IO"),
    ("std::io::stdout", "the core does no IO: the CLI prints"),
    ("std::io::stderr", "the core does no IO: the CLI prints"),
    ("crate::cli", "the core never uses an edge (cli)"),
    ("crate::run", "the core never uses an edge (run)"),
    ("crate::lsp", "the core never uses an edge (lsp)"),
    ("miette", "miette renders diagnostics at the CLI edge only"),
    ("clap", "command-line parsing is the CLI's"),
    ("clap_complete", "command-line parsing is the CLI's"),
    ("clap_mangen", "command-line parsing is the CLI's"),
    ("nix", "signals and processes are the runner's"),
    ("signal_hook", "signals are the runner's"),
    ("indicatif", "progress display is the runner's"),
    ("mimalloc", "the allocator is the binary's"),
    ("tempfile", "the core does no IO"),
];

/// Macros that print: console IO.
const CORE_FORBIDDEN_MACROS: &[&str] = &["print", "println", "eprint", "eprintln", "dbg"];

/// One problem: where, and which rule.
fn problem(file: &str, line: usize, what: &str, why: &str) -> String {
    format!("{file}:{line}: {what}: {why}")
}

#[test]
fn the_core_does_no_io_and_uses_no_edge_and_pest_stays_in_syntax() {
    let src = crate::common::root().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for module in CORE {
        assert!(
            src.join(module).is_dir() || src.join(format!("{module}.rs")).is_file(),
            "src/{module} is gone: update CORE in tests/architecture.rs"
        );
    }
    for path in &files {
        let rel = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).expect("UTF-8 source");
        problems.extend(check_file(&rel, &text));
    }
    assert!(files.len() > 20, "only {} files under src/", files.len());
    assert!(
        problems.is_empty(),
        "the layering of ARCHITECTURE.md is broken:\n{}",
        problems.join("\n")
    );
}

/// The problems of one file, `rel` being its path under `src/`.
fn check_file(rel: &str, text: &str) -> Vec<String> {
    let file = format!("src/{rel}");
    let top = rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs");
    let core = !EDGES.contains(&top);
    let in_syntax = top == "syntax";
    let tokens = tokenize(text);
    let mut problems = Vec::new();
    for (path, line) in paths(&tokens, &module_of(rel)) {
        if core {
            for (forbidden, why) in CORE_FORBIDS {
                if starts_with_path(&path, forbidden) {
                    problems.push(problem(&file, line, &path, why));
                }
            }
        }
        if !in_syntax && (starts_with_path(&path, "pest") || starts_with_path(&path, "pest_derive"))
        {
            problems.push(problem(
                &file,
                line,
                &path,
                "pest stays in src/syntax (the grammar's parser)",
            ));
        }
    }
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map(|t| t.text.as_str());
        if core && CORE_FORBIDDEN_MACROS.contains(&token.text.as_str()) && next == Some("!") {
            problems.push(problem(
                &file,
                token.line,
                &format!("{}!", token.text),
                "the core does no IO: it returns diagnostics and text",
            ));
        }
        if !in_syntax && token.text == "grammar" && i >= 2 && tokens[i - 1].text == "[" {
            problems.push(problem(
                &file,
                token.line,
                "#[grammar]",
                "pest stays in src/syntax (the grammar's parser)",
            ));
        }
    }
    problems
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `check/pipeline.rs` is `crate::check::pipeline`,
/// `emit/mod.rs` is `crate::emit`, `lib.rs` is `crate`.
fn module_of(rel: &str) -> Vec<String> {
    let mut module = vec!["crate".to_string()];
    let rel = rel.trim_end_matches(".rs");
    for part in rel.split('/') {
        if !matches!(part, "mod" | "lib" | "main") {
            module.push(part.to_string());
        }
    }
    module
}

/// Whether `path` is `prefix` or inside it (`std::fs::read` is in
/// `std::fs`; `std::fsx` is not).
fn starts_with_path(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::"))
}

/// A token of Rust source: an identifier or keyword, `::`, or one
/// character of punctuation. Comments, string and character literals and
/// numbers are dropped.
#[derive(Debug)]
struct Token {
    text: String,
    line: usize,
}

fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    // Skips to just past `end`, counting lines.
    let skip_until = |i: &mut usize, line: &mut usize, end: &[char]| {
        while *i < chars.len() {
            if chars[*i..].starts_with(end) {
                *i += end.len();
                return;
            }
            if chars[*i] == '\n' {
                *line += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i..].starts_with(&['/', '*']) {
                    depth += 1;
                    i += 2;
                } else if chars[i..].starts_with(&['*', '/']) {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                match chars[i] {
                    '\\' => {
                        // An escape; `\` at the end of a line continues it.
                        if chars.get(i + 1) == Some(&'\n') {
                            line += 1;
                        }
                        i += 2;
                    }
                    '\n' => {
                        line += 1;
                        i += 1;
                    }
                    _ => i += 1,
                }
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                // The quote, the backslash and the escaped character.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // Raw strings (r"..", r#".."#, br".."), and raw identifiers (r#type).
            if matches!(word.as_str(), "r" | "br" | "cr") && matches!(chars.get(i), Some('"' | '#'))
            {
                let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
                if chars.get(i + hashes) == Some(&'"') {
                    i += hashes + 1;
                    let mut end = vec!['"'];
                    end.extend(std::iter::repeat_n('#', hashes));
                    skip_until(&mut i, &mut line, &end);
                    continue;
                }
                if word == "r" && hashes == 1 {
                    i += 1;
                    let start = i;
                    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                        i += 1;
                    }
                    let word = chars[start..i].iter().collect();
                    tokens.push(Token { text: word, line });
                    continue;
                }
            }
            if matches!(word.as_str(), "b" | "c") && chars.get(i) == Some(&'"') {
                continue; // b"..": the string is skipped next.
            }
            if word == "b" && chars.get(i) == Some(&'\'') {
                continue; // b'x'
            }
            tokens.push(Token { text: word, line });
        } else if c == ':' && next == Some(':') {
            tokens.push(Token {
                text: "::".to_string(),
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    tokens
}

fn is_ident(text: &str) -> bool {
    text.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// Every path of the file, resolved (`use` trees expanded, `self`, `super`
/// and `crate` made absolute), with its line. `file_module` is the module
/// of the file; inline `mod name { .. }` blocks nest inside it.
fn paths(tokens: &[Token], file_module: &[String]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    // The inline modules open at each brace depth.
    let mut modules: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let current: Vec<String> = file_module
            .iter()
            .cloned()
            .chain(modules.iter().map(|(name, _)| name.clone()))
            .collect();
        match tokens[i].text.as_str() {
            "{" => {
                depth += 1;
                i += 1;
            }
            "}" => {
                depth -= 1;
                if modules.last().is_some_and(|(_, d)| *d == depth) {
                    modules.pop();
                }
                i += 1;
            }
            "mod"
                if tokens.get(i + 2).is_some_and(|t| t.text == "{")
                    && tokens.get(i + 1).is_some_and(|t| is_ident(&t.text)) =>
            {
                modules.push((tokens[i + 1].text.clone(), depth));
                depth += 1;
                i += 3;
            }
            "use" => {
                let mut prefixes = Vec::new();
                i += 1;
                use_tree(tokens, &mut i, &mut prefixes, &mut out, &current);
            }
            text if is_ident(text) || text == "::" => {
                let line = tokens[i].line;
                let mut segments = Vec::new();
                if text == "::" {
                    segments.push(String::new());
                    i += 1;
                }
                while i < tokens.len() && is_ident(&tokens[i].text) {
                    // A field or method (`x.fs`) is not a path.
                    if segments.is_empty() && i > 0 && tokens[i - 1].text == "." {
                        break;
                    }
                    segments.push(tokens[i].text.clone());
                    i += 1;
                    if tokens.get(i).is_some_and(|t| t.text == "::")
                        && tokens.get(i + 1).is_some_and(|t| is_ident(&t.text))
                    {
                        i += 1;
                    } else {
                        break;
                    }
                }
                if segments.is_empty() || segments == [String::new()] {
                    i += 1;
                } else {
                    out.push((resolve(&segments, &current), line));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads one use tree at `tokens[*i]` (up to `;`, `,` or `}` of the
/// enclosing group), pushing every full path it names.
fn use_tree(
    tokens: &[Token],
    i: &mut usize,
    prefix: &mut Vec<String>,
    out: &mut Vec<(String, usize)>,
    current: &[String],
) {
    let start_len = prefix.len();
    let line = tokens.get(*i).map_or(0, |t| t.line);
    let mut named = false;
    while *i < tokens.len() {
        let text = tokens[*i].text.as_str();
        match text {
            "::" => {
                if prefix.is_empty() {
                    prefix.push(String::new());
                }
                *i += 1;
            }
            "{" => {
                *i += 1;
                loop {
                    use_tree(tokens, i, prefix, out, current);
                    match tokens.get(*i).map(|t| t.text.as_str()) {
                        Some(",") => *i += 1,
                        Some("}") => {
                            *i += 1;
                            break;
                        }
                        _ => break,
                    }
                }
                if prefix.len() > start_len {
                    prefix.truncate(start_len);
                }
                // A group ends this tree.
                skip_to_tree_end(tokens, i);
                return;
            }
            "*" => {
                named = true;
                *i += 1;
            }
            "as" => {
                *i += 2;
            }
            "," | "}" | ";" => break,
            _ if is_ident(text) => {
                prefix.push(text.to_string());
                named = true;
                *i += 1;
            }
            _ => *i += 1,
        }
    }
    if named && prefix.len() > start_len {
        out.push((resolve(prefix, current), line));
    }
    prefix.truncate(start_len);
}

fn skip_to_tree_end(tokens: &[Token], i: &mut usize) {
    while *i < tokens.len() && !matches!(tokens[*i].text.as_str(), "," | "}" | ";") {
        *i += 1;
    }
}

/// `segments` as an absolute path: `crate::..`, `std::..` or another
/// crate's; `self` and `super` resolved from `current`.
fn resolve(segments: &[String], current: &[String]) -> String {
    let mut segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if segments.first() == Some(&"") {
        segments.remove(0);
        return segments.join("::");
    }
    let mut base: Vec<&str> = Vec::new();
    match segments.first() {
        Some(&"self") => {
            base = current.iter().map(String::as_str).collect();
            segments.remove(0);
        }
        Some(&"super") => {
            base = current.iter().map(String::as_str).collect();
            while segments.first() == Some(&"super") {
                segments.remove(0);
                if base.len() > 1 {
                    base.pop();
                }
            }
        }
        _ => {}
    }
    base.extend(segments);
    base.join("::")
}

// ---------------------------------------------------------------- the scanner itself

#[test]
fn every_spelling_of_a_forbidden_path_is_found() {
    let found = |rel: &str, text: &str| -> Vec<String> {
        check_file(rel, text)
            .into_iter()
            .map(|p| p.split(": ").nth(1).unwrap_or_default().to_string())
            .collect()
    };
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "emit/x.rs",
            "fn f() { std::fs::read(\"a\"); }",
            &["std::fs::read"],
        ),
        (
            "emit/x.rs",
            "use std::{collections::BTreeMap, fs};",
            &["std::fs"],
        ),
        (
            "check/a/b.rs",
            "use super::super::super::cli::FsLoader;",
            &["crate::cli::FsLoader"],
        ),
        (
            "check/mod.rs",
            "use crate::{diag, run::Runner};",
            &["crate::run::Runner"],
        ),
        (
            "ir.rs",
            "fn f() { let _ = ::std::env::var(\"X\"); }",
            &["std::env::var"],
        ),
        (
            "shard.rs",
            "use std::io::{self, stdout};",
            &["std::io::stdout"],
        ),
        ("fmt/mod.rs", "fn f() { eprintln!(\"x\"); }", &["eprintln!"]),
        ("emit/mod.rs", "use pest::Parser;", &["pest::Parser"]),
        (
            "lsp/mod.rs",
            "#[derive(pest_derive::Parser)]",
            &["pest_derive::Parser"],
        ),
        (
            "emit/x.rs",
            "mod tests { use super::super::super::cli; }",
            &["crate::cli"],
        ),
        (
            "emit/x.rs",
            "fn f() { let t = std::time::Instant::now(); }",
            &["std::time::Instant::now"],
        ),
        // Not paths: comments, strings, fields, and what is allowed.
        (
            "emit/x.rs",
            "// std::fs::read\n/* std::process */ fn f() {}",
            &[],
        ),
        (
            "emit/x.rs",
            "const S: &str = \"std::fs\"; const R: &str = r#\"std::net\"#;",
            &[],
        ),
        (
            "emit/x.rs",
            "fn f(x: X) { x.fs::<u8>(); let c = '\"'; std::fmt::Write; }",
            &[],
        ),
        (
            "emit/x.rs",
            "use std::time::Duration; use crate::runner;",
            &[],
        ),
        ("cli/mod.rs", "use std::fs; use crate::run;", &[]),
        ("syntax/mod.rs", "use pest::Parser as _;", &[]),
    ];
    for (rel, text, expected) in cases {
        assert_eq!(found(rel, text), *expected, "{rel}: {text}");
    }
    // Lines are counted through strings, continuations and comments.
    let text =
        "const A: &str = \"a\\\n b\";\n/* x\n */ const B: &str = r#\"\n\"#;\nuse std::net;\n";
    assert_eq!(
        check_file("emit/x.rs", text),
        ["src/emit/x.rs:6: std::net: the core does no IO"]
    );
}
