//! The documentation's examples are tested. Every ```vcp block of README.md
//! and docs/*.md (the pages of docs/errors/ have their own test) is read by
//! the compiler and the formatter; its info string says what it is:
//!
//! - `vcp`: a whole file. It checks without errors and is formatted (what
//!   `vcp fmt --check` wants), so a reader can copy it as it is.
//! - `vcp fragment`: an excerpt of a file, a pipeline or a stage. It parses,
//!   as a file or inside a block, and is formatted there.
//! - `vcp error=E0101`: a whole file that is wrong on purpose: checking it
//!   reports that code.
//! - `vcp ignore`: not read (an outline with `...` in it).

use std::path::{Path, PathBuf};
use vcp::check::{MemoryLoader, Options};
use vcp::fmt::format;

/// One fenced block.
struct Block {
    /// `README.md:16`, for messages.
    place: String,
    attrs: Vec<String>,
    text: String,
}

/// The pages whose blocks are tested: README.md and docs/*.md.
fn pages() -> Vec<PathBuf> {
    let root = crate::common::root();
    let mut pages = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The ```vcp blocks of `page`.
fn blocks(page: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(page).expect("readable page");
    let name = page
        .strip_prefix(crate::common::root())
        .unwrap_or(page)
        .display()
        .to_string();
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let mut words = info.split_whitespace();
        let language = words.next().unwrap_or_default();
        let body: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        if language != "vcp" {
            assert!(
                !language.starts_with("vcp"),
                "{name}:{}: write `vcp` and its attributes apart (```vcp fragment)",
                n + 1
            );
            continue;
        }
        out.push(Block {
            place: format!("{name}:{}", n + 1),
            attrs: words.map(str::to_string).collect(),
            text: body.iter().map(|l| format!("{l}\n")).collect(),
        });
    }
    out
}

/// The codes of the errors `vcp check` reports for `text` as a file.
fn error_codes(text: &str) -> Vec<&'static str> {
    let mut loader = MemoryLoader::new([("doc.vcp".to_string(), text.to_string())]);
    let (checked, _) = vcp::compile(&["doc.vcp".to_string()], &mut loader, &Options::default());
    checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect()
}

/// `text` indented into `header { ... }`.
fn wrapped(header: &str, text: &str) -> String {
    let body: String = text
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("  {l}\n")
            }
        })
        .collect();
    format!("{header} {{\n{body}}}\n")
}

/// Why `block` is not a formatted excerpt, if it is not.
fn fragment_problem(block: &Block) -> Option<String> {
    let candidates = [
        block.text.clone(),
        wrapped("pipeline doc", &block.text),
        wrapped("template doc", &block.text),
    ];
    let mut problem = "it parses neither as a file nor inside a block".to_string();
    for candidate in candidates {
        if let Ok(formatted) = format(&candidate) {
            if formatted == candidate {
                return None;
            }
            problem = format!("not formatted; vcp fmt writes it as\n{formatted}");
        }
    }
    Some(problem)
}

#[test]
fn every_vcp_block_of_the_readme_and_docs_checks_and_is_formatted() {
    let mut failures = Vec::new();
    let mut seen = 0;
    for page in pages() {
        for block in blocks(&page) {
            seen += 1;
            let attrs: Vec<&str> = block.attrs.iter().map(String::as_str).collect();
            let problem = match attrs.as_slice() {
                [] => {
                    let codes = error_codes(&block.text);
                    if !codes.is_empty() {
                        Some(format!(
                            "`vcp check` reports {codes:?} (mark an excerpt ```vcp fragment)"
                        ))
                    } else {
                        match format(&block.text) {
                            Ok(f) if f == block.text => None,
                            Ok(f) => Some(format!("not formatted; vcp fmt writes it as\n{f}")),
                            Err(_) => Some("it does not parse".to_string()),
                        }
                    }
                }
                ["fragment"] => fragment_problem(&block),
                ["ignore"] => None,
                [error] if error.starts_with("error=") => {
                    let code = &error["error=".len()..];
                    let codes = error_codes(&block.text);
                    (!codes.contains(&code)).then(|| format!("expected {code}, got {codes:?}"))
                }
                _ => Some(format!(
                    "unknown attributes {attrs:?}: use `fragment`, `error=E0101` or `ignore`"
                )),
            };
            if let Some(problem) = problem {
                failures.push(format!("{}: {problem}", block.place));
            }
        }
    }
    assert!(seen >= 10, "only {seen} vcp blocks found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// docs/language.md says that whitespace alone separates a block's entries,
/// as the grammar reads them (and std/cube's comment writes them).
#[test]
fn whitespace_alone_separates_entries_as_the_reference_says() {
    let doc = std::fs::read_to_string(crate::common::root().join("docs/language.md"))
        .expect("docs/language.md");
    let example = r#"stage work { use = cube-volcano  workers = 3  run = "python3 demo.py" }"#;
    assert!(
        doc.contains(&format!("`{example}`")),
        "docs/language.md shows {example}"
    );
    let with_commas = example.replace("  ", ", ");
    let as_file = |s: &str| wrapped("pipeline doc", s);
    assert_eq!(
        format(&as_file(example)).expect("parses"),
        format(&as_file(&with_commas)).expect("parses"),
    );
}

/// README.md says how to install the binary, under the package's own name.
#[test]
fn the_readme_says_how_to_install() {
    let root = crate::common::root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(readme.contains("## Install"));
    assert!(readme.contains("cargo install --locked --path ."));
    let package = manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("[package] name comes first");
    assert_ne!(package, "vcp", "crates.io's `vcp` is another crate");
    assert!(
        readme.contains(&format!("`{package}`")),
        "README names {package}"
    );
    assert!(manifest.contains("[[bin]]\nname = \"vcp\""));
}
