//! The writer's tests: layout, the form of every kind of string, and round
//! trips through a YAML 1.2 reader (serde-saphyr); the YAML 1.1 reader
//! (PyYAML) reads them back in tests/hostile.rs.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(serde::Serialize)]
struct Doc<'a> {
    value: &'a str,
    list: Vec<&'a str>,
    nested: BTreeMap<&'a str, Vec<BTreeMap<&'a str, &'a str>>>,
    empty_map: BTreeMap<&'a str, &'a str>,
    empty_list: Vec<&'a str>,
    number: i64,
    flag: bool,
}

fn doc(s: &str) -> String {
    let entry = BTreeMap::from([(s, s), ("k", s)]);
    let value = Doc {
        value: s,
        list: vec![s, "x", s],
        nested: BTreeMap::from([(s, vec![entry.clone(), BTreeMap::new(), entry])]),
        empty_map: BTreeMap::new(),
        empty_list: vec![],
        number: -3,
        flag: true,
    };
    document("# header\n", &value)
}

/// Reads the document back with serde-saphyr (YAML 1.2) and checks every
/// place `s` went.
fn round_trips(s: &str) {
    let text = doc(s);
    let back: serde_json::Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let expected = serde_json::json!({
        "value": s,
        "list": [s, "x", s],
        "nested": { s: [ { s: s, "k": s }, {}, { s: s, "k": s } ] },
        "empty_map": {},
        "empty_list": [],
        "number": -3,
        "flag": true,
    });
    assert_eq!(back, expected, "{text}");
}

#[test]
fn layout_is_kubectls() {
    let text = doc("a");
    assert_eq!(
        text,
        "# header\nvalue: a\nlist:\n- a\n- x\n- a\nnested:\n  a:\n  - a: a\n    k: a\n  - {}\n  - a: a\n    k: a\n\
         empty_map: {}\nempty_list: []\nnumber: -3\nflag: true\n"
    );
}

#[test]
fn scalars_choose_the_simplest_safe_form() {
    for plain in [
        "a",
        "4Gi",
        "500m",
        "registry.example.com/x:1.0",
        "/vcp/a.sh",
        "a b",
        "nvidia.com/gpu",
        "1Gi",
    ] {
        assert!(is_plain(plain), "{plain}");
    }
    for quoted in [
        "",
        "2",
        "0123",
        "1e3",
        "0x1f",
        "1_000",
        "12:30",
        "2026-11-28",
        "yes",
        "No",
        "ON",
        "~",
        "null",
        "y",
        ".inf",
        "-1",
        "a: b",
        "a #b",
        "- x",
        "a ",
        " a",
        "*a",
        "&a",
        "!a",
        "%a",
        "@a",
        "`a",
        "{}",
        "[a]",
        "=",
        "<<",
        "a, b",
        "a,b",
        "日本",
    ] {
        assert!(!is_plain(quoted), "{quoted}");
    }
    assert!(
        doc("#!/bin/sh\nset -eu\n\n  echo hi\n")
            .contains("value: |\n  #!/bin/sh\n  set -eu\n\n    echo hi\n")
    );
    assert!(doc("a\nb").contains("value: |-\n  a\n  b\n"));
    assert!(doc("a\n\n").contains("value: |+\n  a\n\n"));
    assert!(doc(" a\nb").contains(r#"value: " a\nb""#));
    assert!(doc("a \nb").contains(r#"value: "a \nb""#));
    assert!(doc("\u{85}\u{2028}\t\"\\").contains(r#"value: "\x85\u2028\t\"\\""#));
}

#[test]
fn corpus_round_trips() {
    for s in [
        "",
        "\n",
        "\n\n",
        "a\n",
        "a\n\n\n",
        "\ta\n",
        "a\tb\nc",
        "#x\n- y\n",
        "x\n---\n...\n",
        "\r\n",
        "a\rb",
        "\u{feff}x",
        "\u{0}",
        "\u{7f}",
        "\u{9f}",
        "\u{fffe}",
        "\u{ffff}",
        "🚀",
        "'",
        "\"",
        "\\",
        ": ",
        "a:",
        "a:b",
        "? x",
    ] {
        round_trips(s);
    }
}

// Generated strings through PyYAML (YAML 1.1, as kubectl reads): in
// tests/hostile.rs, with the other tests that run a program.

proptest! {
    #[test]
    fn any_string_round_trips(s in any::<String>()) {
        round_trips(&s);
    }

    #[test]
    fn yamlish_strings_round_trip(s in "[-a-zA-Z0-9 _.:/@+=,#'\"!&*?|>%`~\\[\\]{}\n\t]{0,12}") {
        round_trips(&s);
    }
}
