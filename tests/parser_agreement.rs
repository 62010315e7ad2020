//! The hand-written parser (the fast path) and the parser generated from
//! grammar/vcp.pest (the specification) agree: on every input, either both
//! accept it without a diagnostic and build the same AST, spans included, or
//! the fast parser declines and pest reports at least one error.

use proptest::prelude::*;
use vcp::source::FileId;
use vcp::syntax::{parse_fast, parse_with_pest};

fn agree(text: &str) {
    let pest = parse_with_pest(FileId(0), text);
    match parse_fast(FileId(0), text) {
        Some(fast) => {
            assert!(
                pest.diagnostics.is_empty(),
                "fast accepted what pest rejects: {text:?}\n{:#?}",
                pest.diagnostics
            );
            assert_eq!(fast, pest.file, "different ASTs for {text:?}");
        }
        None => assert!(
            !pest.diagnostics.is_empty(),
            "fast rejected what pest accepts: {text:?}"
        ),
    }
}

/// Every committed `.vcp` file (read once), sorted by path.
fn corpus() -> Vec<String> {
    corpus_by_path().into_iter().map(|(_, text)| text).collect()
}

/// The corpus with each file's path under the repository.
fn corpus_by_path() -> Vec<(String, String)> {
    static CORPUS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(read_corpus).clone()
}

fn read_corpus() -> Vec<(String, String)> {
    let root = crate::common::root();
    let mut files = Vec::new();
    for dir in [
        "examples",
        "tests/ui",
        "tests/ui/lib",
        "stdlib/std",
        "tests/cli",
        "tests/fixtures/fuzz",
        "tests/fmt",
    ] {
        let mut paths = Vec::new();
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "vcp") {
                    paths.push(p);
                }
            }
        }
        paths.sort();
        for p in paths {
            let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
            let rel = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            files.push((rel, text));
        }
    }
    files
}

#[test]
fn parsers_agree_on_every_committed_file() {
    let mut files = corpus_by_path();
    assert!(files.len() > 100, "{} files", files.len());
    // Two of the fuzzer's inputs take pest about 12 s each (in a debug
    // build) to give up on; robustness.rs compiles them on every run.
    if !crate::common::full("leaves out tests/fixtures/fuzz/timeout-unclosed-lists*") {
        files.retain(|(path, _)| !path.starts_with("tests/fixtures/fuzz/timeout-unclosed-lists"));
    }
    for (_, text) in &files {
        agree(text);
    }
}

/// Every prefix of twelve files; by default every 16th (each file's
/// prefixes still end at every kind of place), all of them in CI.
#[test]
fn parsers_agree_on_every_prefix_of_the_examples() {
    let stride = if crate::common::full("checks every 16th prefix only") {
        1
    } else {
        16
    };
    for text in corpus().iter().filter(|t| t.contains("pipeline")).take(12) {
        for (i, _) in text.char_indices().step_by(stride) {
            agree(&text[..i]);
        }
    }
}

/// A pipeline of `stages` stages, each `extra` after its `run` line, large
/// enough (over 256 KB) for the fast parser to read its body in two halves.
fn large(stages: usize, extra: impl Fn(usize) -> String) -> String {
    let mut text =
        String::from("template t {\n  retry = 1\n}\n\npipeline big {\n  queue = \"q\"\n");
    for i in 0..stages {
        text.push_str(&format!(
            "  stage s{i} {{\n    use = t\n    image = \"registry.example.com/x/y-{i}:1.0\"\n    shard = [\"a\", \"b\", \"c\", \"d\"] by hash\n    run = \"echo {{item}}\"\n{}  }}\n",
            extra(i)
        ));
    }
    text.push_str("}\n");
    text
}

#[test]
fn parsers_agree_on_files_read_in_two_halves() {
    let n = 2000;
    let mid = n / 2;
    let cases = [
        // The usual case: the second half starts at a stage near the middle.
        large(n, |_| String::new()),
        // The guess lands inside a string holding `stage` lines: the first
        // half reads past it and the second half's result is dropped.
        large(n, |i| {
            if (mid - 40..mid + 40).contains(&i) {
                "    env { NOTE = \"\"\"\n      stage fake {\n      \"\"\" }\n".to_string()
            } else {
                String::new()
            }
        }),
        // An error in the second half: the fast parser declines.
        large(n, |i| {
            if i == n - 3 {
                "    oops\n".to_string()
            } else {
                String::new()
            }
        }),
        // An error in the first half.
        large(n, |i| {
            if i == 3 {
                "    oops = \n".to_string()
            } else {
                String::new()
            }
        }),
        // `stage` lines one level down (a field of that name) around the
        // middle, and a `by` on the line after its value.
        large(n, |i| {
            if (mid - 40..mid + 40).contains(&i) {
                "    stage = [1]\n      by modulo\n".to_string()
            } else {
                String::new()
            }
        }),
    ];
    for text in &cases {
        assert!(text.len() > 256 * 1024, "{} bytes", text.len());
        agree(text);
    }
    // The first case is read without error, and all of it.
    let ast = parse_fast(FileId(0), &cases[0]).expect("valid");
    let vcp::syntax::ast::Item::Pipeline(p) = &ast.items[1] else {
        panic!("not a pipeline")
    };
    assert_eq!(p.body.entries.len(), n + 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(2000)))]

    #[test]
    fn parsers_agree_on_token_soup(
        text in r#"(pipeline p \{|stage s \{|template t \{|volume v \{|param x: int|param y: string = "a"|import "b.vcp"|\}|\{|\[|\]|\(|\)|=|,|:| by | = |"s"|"a\\"b"|"\$\{x\}"|"""\n  t\n  """|#c\n|\n|  |\t|\r\n|true|false|-3|1.5|4Gi|1h30m|1e3|1_0|x-y|range|a|b|3x|"unterminated|\\){0,40}"#
    ) {
        agree(&text);
    }

    #[test]
    fn parsers_agree_on_mutated_examples(
        which in 0usize..64,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(vec!['{', '}', '[', ']', '(', ')', '"', '#', '\n', ' ', ',', '=', ':', 'a', '1', '-', '\\', '$'])), 1..4),
    ) {
        let files: Vec<String> = corpus().into_iter().filter(|t| t.len() < 4000).collect();
        agree(&crate::common::mutate(&files[which % files.len()], &edits));
    }
}

/// Whitespace and comments, as they may appear between tokens.
fn gap() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        " ",
        "  ",
        "\n",
        "\n\n",
        " # note\n",
        "\t",
        "\r\n",
        "\n  # a comment { [ \" \n  ",
    ])
    .prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "3",
        "-7",
        "0.5",
        "4Gi",
        "500m",
        "1h30m",
        "true",
        "false",
        "name",
        "a-b_c",
        "\"text\"",
        "\"esc \\\" \\\\ \\n \\u{e9}\"",
        "\"${day}\"",
        "\"$${HOME} $x\"",
        "\"\"",
        "\"\"\"\n    multi\n      line\n    \"\"\"",
        "range(0, 10)",
        "lines(\"/x\")",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (
                prop::collection::vec(inner.clone(), 0..4),
                gap(),
                any::<bool>()
            )
                .prop_map(|(items, g, trailing)| format!(
                    "[{g}{}{}]",
                    items.join(", "),
                    if trailing && !items.is_empty() {
                        ","
                    } else {
                        ""
                    }
                )),
            (
                inner.clone(),
                gap(),
                prop::sample::select(vec!["modulo", "block", "hash", "size"])
            )
                .prop_map(|(v, g, s)| format!("{v}{g}by {s}")),
            (prop::collection::vec(inner.clone(), 0..3), gap())
                .prop_map(|(args, g)| format!("f({g}{})", args.join(",{g}"))),
            (
                prop::collection::vec(
                    (prop::sample::select(vec!["a", "b-c", "\"k.io/x\""]), inner),
                    0..3
                ),
                gap()
            )
                .prop_map(|(fields, g)| format!(
                    "{{{g}{}{g}}}",
                    fields
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join(&format!(",{g}"))
                )),
        ]
    })
}

fn entry() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(vec![
                "workers", "run", "image", "shard", "env", "by", "stage", "param"
            ]),
            value()
        )
            .prop_map(|(k, v)| format!("{k} = {v}")),
        (
            prop::sample::select(vec!["resources", "labels"]),
            prop::collection::vec(value(), 0..3)
        )
            .prop_map(|(k, vs)| format!(
                "{k} {{ {} }}",
                vs.iter()
                    .enumerate()
                    .map(|(i, v)| format!("k{i} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        (
            prop::sample::select(vec!["string", "int"]),
            prop::option::of(value())
        )
            .prop_map(|(t, d)| format!(
                "param p: {t}{}",
                d.map(|d| format!(" = {d}")).unwrap_or_default()
            )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(1500)))]

    #[test]
    fn parsers_agree_on_generated_valid_files(
        entries in prop::collection::vec((entry(), gap()), 0..8),
        stages in prop::collection::vec(prop::collection::vec((entry(), gap()), 0..5), 0..3),
        g in gap(),
    ) {
        let mut text = format!("import \"std/python\"{g}pipeline p {{{g}");
        for (e, g) in &entries {
            text.push_str(&format!("{e}{g}"));
        }
        for (i, body) in stages.iter().enumerate() {
            text.push_str(&format!("stage s{i} {{{g}"));
            for (e, g) in body {
                text.push_str(&format!("{e}{g}"));
            }
            text.push_str("}\n");
        }
        text.push_str("}\n");
        agree(&text);
        // Most of these are valid: the fast path must take them.
        let valid = parse_with_pest(FileId(0), &text).diagnostics.is_empty();
        if valid {
            prop_assert!(parse_fast(FileId(0), &text).is_some());
        }
    }
}
