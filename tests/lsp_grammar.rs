//! The VS Code extension's TextMate grammar, tested with the engine VS Code
//! uses (vscode-textmate + vscode-oniguruma from npm) by
//! `editors/vscode/test/grammar.test.js`: tricky lexemes (multi-line
//! strings, `${}` interpolation, `$${`, comments in strings, escapes,
//! unclosed strings) get their scopes, and every example, standard library
//! and fmt case file highlights cleanly. Skips with a notice without node,
//! or before `npm ci` in editors/vscode (`.ci/run` does both).

use std::process::Command;

#[test]
fn the_textmate_grammar_highlights_tricky_lexemes_and_every_example() {
    if !crate::common::require_tool("node") || !crate::common::require_tool("vscode-textmate") {
        return;
    }
    let dir = crate::common::root().join("editors/vscode");
    let out = Command::new("node")
        .arg("test/grammar.test.js")
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("scope checks"), "{stdout}");
    println!("{stdout}");
}

#[test]
fn the_extension_declares_the_language_its_grammar_and_the_binary_setting() {
    let dir = crate::common::root().join("editors/vscode");
    let text = std::fs::read_to_string(dir.join("package.json")).expect("package.json");
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let contributes = &manifest["contributes"];
    let language = &contributes["languages"][0];
    assert_eq!(language["id"], "vcp");
    assert_eq!(language["extensions"][0], ".vcp");
    let grammar = &contributes["grammars"][0];
    assert_eq!(grammar["language"], "vcp");
    assert_eq!(grammar["scopeName"], "source.vcp");
    for file in [
        &language["configuration"],
        &grammar["path"],
        &manifest["main"],
    ] {
        let path = file.as_str().expect("a path");
        assert!(dir.join(path).is_file(), "{path}");
    }
    let grammar_file = dir.join(grammar["path"].as_str().unwrap_or_default());
    let grammar_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(grammar_file).expect("grammar"))
            .expect("the grammar is JSON");
    assert_eq!(grammar_json["scopeName"], "source.vcp");
    assert_eq!(
        contributes["configuration"]["properties"]["vcp.path"]["default"],
        "vcp"
    );
    let client = std::fs::read_to_string(dir.join("extension.js")).expect("extension.js");
    assert!(client.contains("args: [\"lsp\"]") && client.contains("\"path\""));
}
