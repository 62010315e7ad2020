//! No panic, ever: random, mutated, truncated and extreme inputs end in
//! diagnostics or success. (The cargo-fuzz target in fuzz/ explores further;
//! inputs it found are kept in tests/fixtures/fuzz/ and replayed here.)

use proptest::prelude::*;
use std::process::Command;
use vcp::check::{MemoryLoader, Options};

/// Compiles `text` as `t.vcp` (importing `lib.vcp` is possible); returns
/// whether it compiled. A failure must come with an error.
fn compile(text: &str) -> bool {
    let mut loader = MemoryLoader::new([
        ("t.vcp".to_string(), text.to_string()),
        (
            "lib.vcp".to_string(),
            "template t { workers = 2 }".to_string(),
        ),
    ]);
    let (checked, output) = vcp::compile(&["t.vcp".to_string()], &mut loader, &Options::default());
    assert!(
        output.is_some() || checked.has_errors(),
        "failed without an error on {text:?}"
    );
    output.is_some()
}

fn example_texts() -> Vec<String> {
    crate::common::examples()
        .into_iter()
        .map(|d| std::fs::read_to_string(d.join("pipeline.vcp")).expect("example"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(300)))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,300}") {
        compile(&text);
    }

    #[test]
    fn random_vcp_like_text_never_panics(
        text in r#"(pipeline|stage|template|volume|param|import|run|workers|shard|by|range|\{|\}|\[|\]|\(|\)|=|,|:|"|"""|\$\{|#|\n| |[a-z0-9]{1,4}){0,80}"#
    ) {
        compile(&text);
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..8),
    ) {
        let texts = example_texts();
        compile(&crate::common::mutate(&texts[which % texts.len()], &edits));
    }
}

#[test]
fn truncated_examples_never_panic() {
    for text in example_texts() {
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                compile(&text[..cut]);
            }
            cut += 3;
        }
    }
}

#[test]
fn extreme_inputs_end_in_diagnostics() {
    // An empty file is valid: it declares nothing.
    assert!(compile(""));
    assert!(!compile(&format!(
        "pipeline p {{ x = {} }}",
        "[".repeat(10_000)
    )));
    assert!(!compile(&format!(
        "pipeline p {{ stage s {}",
        "{ ".repeat(10_000)
    )));
    assert!(!compile(&"stage s {\n".repeat(2_000)));
    assert!(!compile(&"\"\"\"\n".repeat(2_001)));
    assert!(!compile(
        "pipeline p {\n  stage s {\n    image = \"busybox:1.36\"\n    run = \"true\"\n    workers = 99999999999999999999\n  }\n}\n"
    ));
    assert!(!compile(
        "pipeline p {\n  stage s {\n    image = \"busybox:1.36\"\n    run = \"true\"\n    timeout = 99999999999999999999s\n    retry = -99999999999999999999\n    resources { memory = \"1e999\" }\n  }\n}\n"
    ));
    // Every input the fuzzer found troublesome.
    for entry in
        std::fs::read_dir(crate::common::root().join("tests/fixtures/fuzz")).expect("fixtures")
    {
        let path = entry.expect("entry").path();
        compile(&String::from_utf8_lossy(
            &std::fs::read(&path).expect("read"),
        ));
    }
}

/// 10 MB of pipeline: a large valid file compiles, and 10 MB of broken
/// lines is reported without a quadratic slowdown (the test would time out).
#[test]
fn ten_megabyte_files() {
    let mut valid = String::from("pipeline big {\n  image = \"busybox:1.36\"\n");
    let mut i = 0;
    while valid.len() < 10_000_000 {
        valid.push_str(&format!(
            "  # stage number {i}, with a long comment to make the file large quickly.\n"
        ));
        i += 1;
    }
    valid.push_str("  stage s { run = \"true\" }\n}\n");
    assert!(compile(&valid));
    let broken = "pipeline p {\n".to_string() + &"  workers == 3 { [ (\n".repeat(500_000) + "}\n";
    assert!(!compile(&broken));
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.vcp");
    std::fs::write(&file, b"pipeline p {\xff\xfe}\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vcp"))
        .arg("check")
        .arg(&file)
        .output()
        .expect("vcp runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not UTF-8"), "{err}");
}
