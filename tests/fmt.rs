//! `vcp fmt`: the formatted file builds to the same bytes as the original,
//! formatting twice changes nothing, the layout follows docs/fmt.md, and the
//! CLI rewrites only what changes.

use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vcp::check::{Loader, MemoryLoader, Options};
use vcp::cli::FsLoader;
use vcp::fmt::format;

fn fmt_ok(text: &str) -> String {
    match format(text) {
        Ok(out) => out,
        Err(diags) => panic!("format failed on\n{text}\n{diags:#?}"),
    }
}

/// Formats and checks idempotence.
fn fmt_stable(text: &str) -> String {
    let once = fmt_ok(text);
    let twice = fmt_ok(&once);
    assert_eq!(once, twice, "format is not idempotent on\n{text}");
    once
}

// ---------------------------------------------------------------- the repository's files

/// Every `.vcp` file below `dir`, sorted.
fn vcp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "vcp") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Reads files from the disk and formats each user file before the checker
/// sees it: a build through this loader is the build of the formatted files.
struct Formatting(FsLoader);

impl Loader for Formatting {
    fn load(&mut self, path: &str) -> Result<String, String> {
        let text = self.0.load(path)?;
        format(&text).map_err(|d| format!("{path} does not format: {d:?}"))
    }
}

/// Builds `roots` as they are and formatted; both must succeed with the
/// same files, byte for byte.
fn assert_same_build(roots: &[String], options: &Options) {
    let (checked, before) = vcp::compile(roots, &mut FsLoader, options);
    let before =
        before.unwrap_or_else(|| panic!("{roots:?} does not build: {:?}", checked.diagnostics));
    let (checked, after) = vcp::compile(roots, &mut Formatting(FsLoader), options);
    let after = after.unwrap_or_else(|| {
        panic!(
            "{roots:?} does not build once formatted: {:?}",
            checked.diagnostics
        )
    });
    assert_eq!(
        before.files.keys().collect::<Vec<_>>(),
        after.files.keys().collect::<Vec<_>>()
    );
    for (path, text) in &before.files {
        let (before, after) = (
            without_lines(&text.to_string()),
            without_lines(&after.files[path].to_string()),
        );
        if before != after {
            let diff = before.lines().zip(after.lines()).find(|(a, b)| a != b);
            panic!("{roots:?}: {path} differs once formatted: {diff:?}");
        }
    }
}

/// A build's text without what depends on where things are in the source:
/// the `file:line` of the `vcp.dev/source` annotations, and the spec hashes
/// computed over manifests that carry them. Everything else must be equal.
fn without_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if let Some(at) = line.find("vcp.dev/source: ") {
            let value = &line[at..];
            let cut = value
                .rfind(':')
                .filter(|&c| value[c + 1..].bytes().all(|b| b.is_ascii_digit()));
            out.push_str(&line[..at]);
            out.push_str(cut.map_or(value, |c| &value[..c]));
            out.push_str(":LINE");
        } else if let Some(at) = line.find("vcp.dev/spec-hash: ") {
            out.push_str(&line[..at]);
            out.push_str("vcp.dev/spec-hash: HASH");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[test]
fn examples_build_the_same_once_formatted() {
    for dir in crate::common::examples() {
        let name = dir
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        assert_same_build(
            &[format!("examples/{name}/pipeline.vcp")],
            &Options::default(),
        );
    }
}

#[test]
fn ok_ui_cases_build_the_same_once_formatted() {
    let root = crate::common::root();
    let mut seen = 0;
    for path in vcp_files(&root.join("tests/ui")) {
        let name = path
            .file_name()
            .expect("named")
            .to_string_lossy()
            .into_owned();
        if !name.starts_with("ok-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut options = Options::default();
        if let Some(args) = text.lines().next().and_then(|l| l.strip_prefix("# args:")) {
            let words: Vec<&str> = args.split_whitespace().filter(|w| *w != "--set").collect();
            for kv in words {
                let (k, v) = kv.split_once('=').expect("--set name=value");
                options.sets.push((k.to_string(), v.to_string()));
            }
        }
        let rel = path
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        assert_same_build(&[rel], &options);
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} ok- cases found");
}

/// The standard library is embedded, so its formatted text is built as a
/// local import: a stage per template, through the original text and
/// through the formatted one.
#[test]
fn stdlib_modules_build_the_same_once_formatted() {
    for (name, text) in vcp::stdlib::MODULES {
        let parsed = vcp::syntax::parse(vcp::source::FileId(0), text);
        let templates: Vec<String> = parsed
            .file
            .items
            .iter()
            .filter_map(|i| match i {
                vcp::syntax::ast::Item::Template(d) => Some(d.name.name.clone()),
                _ => None,
            })
            .collect();
        assert!(!templates.is_empty(), "{name} has no template");
        let mut pipeline =
            String::from("import \"lib.vcp\"\npipeline p {\n  image = \"busybox:1.36\"\n");
        for t in &templates {
            pipeline.push_str(&format!(
                "  stage s-{t} {{\n    use = {t}\n    run = \"true\"\n  }}\n"
            ));
        }
        pipeline.push_str("}\n");
        let build = |lib: String| {
            let mut loader = MemoryLoader::new([
                ("p.vcp".to_string(), pipeline.clone()),
                ("lib.vcp".to_string(), lib),
            ]);
            let (checked, output) =
                vcp::compile(&["p.vcp".to_string()], &mut loader, &Options::default());
            output
                .unwrap_or_else(|| panic!("{name}: {:?}", checked.diagnostics))
                .files
        };
        let formatted = fmt_stable(text);
        assert_eq!(build(text.to_string()), build(formatted), "{name}");
    }
}

#[test]
fn formatting_is_idempotent_on_every_file_that_parses() {
    let root = crate::common::root();
    let mut files: Vec<(String, String)> = Vec::new();
    for dir in ["examples", "tests/ui"] {
        for path in vcp_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&path).expect("readable");
            files.push((path.display().to_string(), text));
        }
    }
    for (name, text) in vcp::stdlib::MODULES {
        files.push((name.to_string(), text.to_string()));
    }
    let mut formatted = 0;
    for (name, text) in &files {
        let parsed = vcp::syntax::parse(vcp::source::FileId(0), text);
        match format(text) {
            Ok(once) => {
                assert!(
                    parsed.diagnostics.is_empty(),
                    "{name}: formatted despite syntax errors"
                );
                assert_eq!(fmt_ok(&once), once, "{name}: not idempotent");
                formatted += 1;
            }
            // Never formatted: the syntax errors come back, unchanged.
            Err(diags) => assert_eq!(diags, parsed.diagnostics, "{name}"),
        }
    }
    assert!(formatted > 50, "only {formatted} files formatted");
}

#[test]
fn examples_and_stdlib_keep_every_comment() {
    let root = crate::common::root();
    let mut paths = vcp_files(&root.join("examples"));
    paths.extend(vcp_files(&root.join("stdlib")));
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("readable");
        let out = fmt_stable(&text);
        // Comments survive: every comment line of the source is still there.
        for line in text.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(
                out.contains(line.trim()),
                "{}: lost {line:?}",
                path.display()
            );
        }
    }
}

/// The repository's own files are in the canonical layout.
#[test]
fn examples_and_stdlib_are_formatted() {
    let root = crate::common::root();
    let mut paths = vcp_files(&root.join("examples"));
    paths.extend(vcp_files(&root.join("stdlib")));
    let unformatted: Vec<String> = paths
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("readable");
            fmt_ok(&text) != text
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(unformatted.is_empty(), "run `vcp fmt` on: {unformatted:?}");
}

/// The examples of docs/fmt.md are formatted (fragments are formatted
/// inside a template).
#[test]
fn docs_examples_are_formatted() {
    let doc =
        std::fs::read_to_string(crate::common::root().join("docs/fmt.md")).expect("docs/fmt.md");
    let mut blocks = 0;
    for block in doc.split("```vcp\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        if let Ok(out) = format(block) {
            assert_eq!(out, block, "docs/fmt.md example");
        } else {
            let wrapped: String = block
                .lines()
                .map(|l| format!("  {l}\n").replace("  \n", "\n"))
                .collect();
            let wrapped = format!("template doc {{\n{wrapped}}}\n");
            assert_eq!(fmt_ok(&wrapped), wrapped, "docs/fmt.md example");
        }
        blocks += 1;
    }
    assert!(blocks >= 5);
}

// ---------------------------------------------------------------- the layout rules

#[test]
fn layout_of_a_messy_file() {
    let text = r#"
pipeline   p{namespace="ml"
  queue    =   "q"


  param day:string="x"   # the day
  volume data{claim="c",mount="/data"}
  stage   s
  {
      run = "echo hi", workers = 3
  resources = { cpu = "2" }
  env {
    A = "1"
    B = "2" }
  }
}
import "std/python"
"#;
    let expected = r#"import "std/python"

pipeline p {
  namespace = "ml"
  queue     = "q"

  param day: string = "x"  # the day
  volume data { claim = "c", mount = "/data" }
  stage s {
    run     = "echo hi"
    workers = 3
    resources { cpu = "2" }
    env { A = "1", B = "2" }
  }
}
"#;
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn comments_keep_their_place() {
    let text = r#"# header of the file

# about the template
template t { # on the brace
  # above a field
  image = "x" # after a field
  tolerations = [ # on the bracket
    { operator = "Exists" }, # after an item
    # dangling in the list
  ]
  resources { cpu = "1" } # after a block
  # dangling at the end
}
# at the end of the file
"#;
    let expected = r#"# header of the file

# about the template
template t {  # on the brace
  # above a field
  image = "x"  # after a field
  tolerations = [  # on the bracket
    { operator = "Exists" },  # after an item
    # dangling in the list
  ]
  resources { cpu = "1" }  # after a block
  # dangling at the end
}
# at the end of the file
"#;
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn trailing_comments_align_within_a_section() {
    let text = "template t {\n  use = python # a\n  workers = 3\n  working_dir = \"/code\" # b\n\n  retry = 1 # c\n}\n";
    let expected = "template t {\n  use         = python   # a\n  workers     = 3\n  working_dir = \"/code\"  # b\n\n  retry = 1  # c\n}\n";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn comments_inside_a_node_move_above_it() {
    let text = "pipeline # odd\n p {\n  shard = range(0, 3) # odd too\n by modulo\n  x = f # before (\n (1)\n}\n";
    let expected = "# odd\npipeline p {\n  # odd too\n  shard = range(0, 3) by modulo\n  # before (\n  x     = f(1)\n}\n";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn a_comment_in_a_list_breaks_it() {
    let text = "template t {\n  after = [a, # first\n b]\n  run = f(1, # one\n 2)\n}\n";
    let expected = "template t {\n  after = [\n    a,  # first\n    b,\n  ]\n  run = f(\n    1,  # one\n    2,\n  )\n}\n";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn blocks_on_one_line_only_when_short_and_flat() {
    let text = r#"template t {
  env { A = "1", B = "2", C = "3", D = "4", E = "5" }
  resources { cpu = "2", memory = "4Gi", gpu = 1, gpu_model = "NVIDIA-A100-SXM4-80GB-WITH-A-VERY-LONG-NAME-INDEED" }
  labels { a = { b = 1 } }
  node_selector {}
  tolerations = [{ operator = "Exists" }]
  after = ["a", "b"]
}
"#;
    let expected = r#"template t {
  env {
    A = "1"
    B = "2"
    C = "3"
    D = "4"
    E = "5"
  }
  resources {
    cpu       = "2"
    memory    = "4Gi"
    gpu       = 1
    gpu_model = "NVIDIA-A100-SXM4-80GB-WITH-A-VERY-LONG-NAME-INDEED"
  }
  labels {
    a { b = 1 }
  }
  node_selector {}
  tolerations = [
    { operator = "Exists" },
  ]
  after = ["a", "b"]
}
"#;
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn long_lists_break_one_item_per_line() {
    let items: Vec<String> = (0..12)
        .map(|i| format!("\"warehouse.table_{i:03}\""))
        .collect();
    let text = format!("template t {{ shard = [{}] by hash }}\n", items.join(", "));
    let out = fmt_stable(&text);
    assert!(
        out.starts_with("template t {\n  shard = [\n    \"warehouse.table_000\",\n"),
        "{out}"
    );
    assert!(
        out.ends_with("    \"warehouse.table_011\",\n  ] by hash\n}\n"),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 100));
}

#[test]
fn stages_are_always_one_entry_per_line() {
    let out = fmt_stable("pipeline p { stage a { run = \"x\" }\n stage b {} }\n");
    assert_eq!(
        out,
        "pipeline p {\n  stage a {\n    run = \"x\"\n  }\n  stage b {}\n}\n"
    );
}

#[test]
fn strings_are_written_canonically() {
    let text = r#"template t {
  a = "tab\u{9}quote\"dollar\$x brace\${HOME} $${PATH} ${day}"
  b = "end\$${day}"
  "key.with/slash" = "é\u{1F600}\\"
  c = "cr	raw"
}
"#;
    let expected = r#"template t {
  a                = "tab\tquote\"dollar$x brace$${HOME} $${PATH} ${day}"
  b                = "end\$${day}"
  "key.with/slash" = "é😀\\"
  c                = "cr\traw"
}
"#;
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn triple_strings_move_to_the_new_indentation() {
    let text = "pipeline p {\nstage s {\nrun = \"\"\"\n        set -e\n          echo \"${day}\" \\t\n\n        done\"\"\"\n}\n}\n";
    let expected = "pipeline p {\n  stage s {\n    run = \"\"\"\n      set -e\n        echo \"${day}\" \\t\n\n      done\n    \"\"\"\n  }\n}\n";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn imports_move_first_below_the_header() {
    let text = "# header\n\n# about p\npipeline p {}\n\nimport \"a.vcp\" # a\ntemplate t {}\nimport \"b.vcp\"\n";
    let expected = "# header\n\nimport \"a.vcp\"  # a\nimport \"b.vcp\"\n\n# about p\npipeline p {}\n\ntemplate t {}\n";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn crlf_and_tabs_are_normalized() {
    let text = "pipeline p {\r\n\tnamespace = \"x\"\r\n\tstage s {\r\n\t\trun = \"\"\"\r\n\t\t\techo\r\n\t\t\"\"\"\r\n\t}\r\n}\r\n";
    let expected = "pipeline p {\n  namespace = \"x\"\n  stage s {\n    run = \"\"\"\n      echo\n    \"\"\"\n  }\n}\n";
    assert_eq!(fmt_stable(text), expected);
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt_stable(""), "");
    assert_eq!(fmt_stable("\n\n  \n"), "");
    assert_eq!(
        fmt_stable("  # just a note\n\n\n# another\n"),
        "# just a note\n\n# another\n"
    );
}

#[test]
fn syntax_errors_are_returned_not_formatted() {
    let text = "pipeline p {\n  workers == 3\n}\n";
    let diags = format(text).expect_err("a syntax error");
    assert!(!diags.is_empty());
    assert!(diags.iter().all(|d| d.code == vcp::diag::Code::Syntax));
}

// ---------------------------------------------------------------- generated inputs

/// A value of the grammar, to be written out in a random layout.
#[derive(Clone, Debug)]
enum Value {
    Str(Vec<&'static str>),
    Triple(Vec<Vec<&'static str>>),
    Atom(&'static str),
    List(Vec<Value>),
    Map(Vec<Entry>),
    Call(&'static str, Vec<Value>),
    By(Box<Value>, &'static str),
}

#[derive(Clone, Debug)]
enum Entry {
    Field(Key, Value),
    Param(&'static str, &'static str, Option<Value>),
    Stage(&'static str, Vec<Entry>),
    Volume(&'static str, Vec<Entry>),
}

#[derive(Clone, Debug)]
enum Key {
    Name(&'static str),
    Quoted(Vec<&'static str>),
}

#[derive(Clone, Debug)]
enum Item {
    Import(Vec<&'static str>),
    Pipeline(&'static str, Vec<Entry>),
    Template(&'static str, Vec<Entry>),
}

/// Pieces of string literals, each valid on its own and next to any other.
const STRING_PIECES: &[&str] = &[
    "a",
    "b c",
    "python3 x.py",
    "é",
    "😀",
    "\\n",
    "\\t",
    "\\r",
    "\\\"",
    "\\\\",
    "\\$",
    "\\u{e9}",
    "$${",
    "$${HOME}",
    "${day}",
    "$x",
    "{item}",
    "{",
    "}",
    "#",
    "'",
    " ",
];
const KEY_PIECES: &[&str] = &["a", "app.kubernetes.io/team", "#", "\\\"", "$${", " ", "é"];
const TRIPLE_PIECES: &[&str] = &[
    "set -e", "echo", " ", "  ", "\t", "\"x\"", "\\\"", "\\\\", "\\n", "${day}", "$${HOME}", "#",
    "é",
];
const NAMES: &[&str] = &["p", "etl-1", "s_2", "load"];
const KEYS: &[&str] = &[
    "a", "workers", "b-c", "x_1", "env", "stage", "by", "true", "param", "volume",
];
const ATOMS: &[&str] = &[
    "0", "-1", "42", "3.5", "4Gi", "1h30m", "500m", "1e3", "true", "false", "python", "a-b", "x_1",
];
const CALLS: &[&str] = &["range", "f", "secret"];
const STRATEGIES: &[&str] = &["modulo", "size"];
const TYPES: &[&str] = &["string", "int"];

fn pieces(from: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(from), 0..max)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => pieces(STRING_PIECES, 6).prop_map(Value::Str),
        1 => prop::collection::vec(pieces(TRIPLE_PIECES, 4), 0..4).prop_map(Value::Triple),
        3 => prop::sample::select(ATOMS).prop_map(Value::Atom),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(
                (key(), inner.clone()).prop_map(|(k, v)| Entry::Field(k, v)),
                0..6
            )
            .prop_map(Value::Map),
            (
                prop::sample::select(CALLS),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(n, a)| Value::Call(n, a)),
            // `by` follows a primary value, never another `by`.
            (inner, prop::sample::select(STRATEGIES)).prop_map(|(v, s)| match v {
                Value::By(source, _) => Value::By(source, s),
                v => Value::By(Box::new(v), s),
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(Key::Name),
        1 => pieces(KEY_PIECES, 4).prop_map(Key::Quoted),
    ]
}

fn field() -> impl Strategy<Value = Entry> {
    (key(), value()).prop_map(|(k, v)| Entry::Field(k, v))
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    let entry = prop_oneof![
        6 => field(),
        1 => (prop::sample::select(NAMES), prop::sample::select(TYPES), prop::option::of(value()))
            .prop_map(|(n, t, v)| Entry::Param(n, t, v)),
        1 => (prop::sample::select(NAMES), prop::collection::vec(field(), 0..4))
            .prop_map(|(n, b)| Entry::Volume(n, b)),
        2 => (prop::sample::select(NAMES), prop::collection::vec(field(), 0..6))
            .prop_map(|(n, b)| Entry::Stage(n, b)),
    ];
    prop::collection::vec(entry, 0..7)
}

fn items() -> impl Strategy<Value = Vec<Item>> {
    let item = prop_oneof![
        1 => pieces(STRING_PIECES, 3).prop_map(Item::Import),
        2 => (prop::sample::select(NAMES), entries()).prop_map(|(n, e)| Item::Pipeline(n, e)),
        1 => (prop::sample::select(NAMES), entries()).prop_map(|(n, e)| Item::Template(n, e)),
    ];
    prop::collection::vec(item, 0..4)
}

/// Writes a tree with random whitespace, line breaks, separators and (when
/// `noisy`) comments and blank lines wherever the grammar allows them.
struct Messy {
    rng: u64,
    noisy: bool,
    out: String,
    comments: usize,
}

impl Messy {
    fn new(seed: u64, noisy: bool) -> Messy {
        Messy {
            rng: seed | 1,
            noisy,
            out: String::new(),
            comments: 0,
        }
    }

    fn roll(&mut self, n: u64) -> u64 {
        // xorshift64: reproducible from the seed proptest shrinks.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % n
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// A line break, unless it would make a blank line in a quiet layout.
    fn newline(&mut self) {
        let line = self.out.rsplit('\n').next().unwrap_or("");
        if self.noisy || !line.trim().is_empty() {
            self.out.push('\n');
        }
        let indent = " ".repeat(self.roll(7) as usize);
        self.push(&indent);
    }

    /// Whitespace between tokens of a free-layout rule; `required` when the
    /// tokens would otherwise run together.
    fn ws(&mut self, required: bool) {
        match self.roll(10) {
            0..=2 if !required => {}
            3 | 4 => self.newline(),
            5 if self.noisy => {
                self.comments += 1;
                let text = format!(" # note {} \"quoted\" {{ # }}", self.comments);
                self.push(&text);
                self.newline();
            }
            6 if self.noisy => {
                self.push("\n");
                self.newline();
            }
            7 => self.push("\t"),
            _ => self.push(" "),
        }
    }

    /// Spaces and tabs only (inside `key = value` and `param`).
    fn sp(&mut self, required: bool) {
        match self.roll(4) {
            0 if !required => {}
            1 => self.push("\t"),
            2 => self.push("   "),
            _ => self.push(" "),
        }
    }

    fn string(&mut self, pieces: &[&str]) {
        self.push("\"");
        for p in pieces {
            self.push(p);
        }
        self.push("\"");
    }

    /// In a quiet layout the choices that change a `"""` string's value
    /// (where it starts and ends, spaces on blank lines) are fixed.
    fn triple(&mut self, lines: &[Vec<&str>]) {
        self.push("\"\"\"");
        let base = self.roll(9) as usize;
        if !self.noisy || self.roll(4) > 0 {
            self.push("\n");
        }
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.push("\n");
            }
            let text: String = line.concat();
            if !text.trim().is_empty() || (self.noisy && self.roll(2) == 0) {
                let extra = if self.noisy { self.roll(3) as usize } else { 0 };
                let indent = " ".repeat(base + extra);
                self.push(&indent);
            }
            if self.noisy || !text.trim().is_empty() {
                self.push(&text);
            }
        }
        if self.noisy && self.out.ends_with('"') {
            // `""""` would close the string one quote early.
            self.push(" ");
        }
        if !self.noisy || self.roll(3) > 0 {
            self.push("\n");
            let indent = " ".repeat(self.roll(9) as usize);
            self.push(&indent);
        }
        self.push("\"\"\"");
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Str(p) => self.string(p),
            Value::Triple(lines) => self.triple(lines),
            Value::Atom(a) => self.push(a),
            Value::List(items) => {
                self.push("[");
                self.seq(items);
                self.push("]");
            }
            Value::Call(name, args) => {
                self.push(name);
                self.ws(false);
                self.push("(");
                self.seq(args);
                self.push(")");
            }
            Value::Map(entries) => self.block(entries),
            Value::By(source, strategy) => {
                self.value(source);
                self.ws(true);
                self.push("by");
                self.ws(true);
                self.push(strategy);
            }
        }
    }

    fn seq(&mut self, items: &[Value]) {
        self.ws(false);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.ws(false);
                self.push(",");
                self.ws(false);
            }
            self.value(item);
        }
        if !items.is_empty() && self.roll(2) == 0 {
            self.ws(false);
            self.push(",");
        }
        self.ws(false);
    }

    fn block(&mut self, entries: &[Entry]) {
        self.push("{");
        self.ws(false);
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                match self.roll(3) {
                    0 => self.push(","),
                    1 => {
                        self.ws(false);
                        self.push(",");
                    }
                    _ => {}
                }
                self.newline_or_space();
            }
            self.entry(e);
        }
        if !entries.is_empty() && self.roll(3) == 0 {
            self.push(",");
        }
        self.ws(false);
        self.push("}");
    }

    /// Between entries: a line break, or a space after a comma.
    fn newline_or_space(&mut self) {
        if self.out.ends_with(',') && self.roll(2) == 0 {
            self.ws(true);
        } else {
            self.newline();
            self.ws(false);
        }
    }

    fn entry(&mut self, e: &Entry) {
        match e {
            Entry::Field(k, v) => {
                match k {
                    Key::Name(n) => self.push(n),
                    Key::Quoted(p) => self.string(p),
                }
                self.sp(false);
                if matches!(v, Value::Map(_)) && self.roll(2) == 0 {
                    self.value(v);
                } else {
                    self.push("=");
                    self.sp(false);
                    self.value(v);
                }
            }
            Entry::Param(n, t, v) => {
                self.push("param");
                self.sp(true);
                self.push(n);
                self.sp(false);
                self.push(":");
                self.sp(false);
                self.push(t);
                if let Some(v) = v {
                    self.sp(false);
                    self.push("=");
                    self.sp(false);
                    self.value(v);
                }
            }
            Entry::Stage(n, b) | Entry::Volume(n, b) => {
                self.push(if matches!(e, Entry::Stage(..)) {
                    "stage"
                } else {
                    "volume"
                });
                self.ws(true);
                self.push(n);
                self.ws(false);
                self.block(b);
            }
        }
    }

    fn file(mut self, items: &[Item]) -> String {
        self.ws(false);
        for item in items {
            match item {
                Item::Import(p) => {
                    self.push("import");
                    self.ws(true);
                    self.string(p);
                }
                Item::Pipeline(n, b) | Item::Template(n, b) => {
                    self.push(if matches!(item, Item::Pipeline(..)) {
                        "pipeline"
                    } else {
                        "template"
                    });
                    self.ws(true);
                    self.push(n);
                    self.ws(false);
                    self.block(b);
                }
            }
            self.newline();
            self.ws(false);
        }
        if self.roll(5) == 0 {
            self.out = self.out.replace('\n', "\r\n");
        }
        self.out
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any valid file, laid out anyhow with comments and blank lines, formats
    /// (which verifies that the tree and the comments are kept) and formatting
    /// again changes nothing.
    #[test]
    fn generated_files_format_idempotently(tree in items(), seed in any::<u64>()) {
        let text = Messy::new(seed, true).file(&tree);
        let parsed = vcp::syntax::parse(vcp::source::FileId(0), &text);
        prop_assert!(parsed.diagnostics.is_empty(), "generated text does not parse:\n{}\n{:#?}", text, parsed.diagnostics);
        let once = format(&text);
        prop_assert!(once.is_ok(), "format failed:\n{}\n{:#?}", text, once);
        let once = once.unwrap_or_default();
        prop_assert_eq!(format(&once).ok(), Some(once.clone()), "not idempotent on:\n{}", text);
        prop_assert!(once.lines().all(|l| l == l.trim_end() || l.trim().is_empty() || text.contains("\"\"\"")));
    }

    /// Without comments and blank lines, the layout of the input does not
    /// matter: two random layouts of one tree format to the same text.
    #[test]
    fn layout_does_not_depend_on_the_input_layout(tree in items(), a in any::<u64>(), b in any::<u64>()) {
        let one = Messy::new(a, false).file(&tree);
        let two = Messy::new(b, false).file(&tree);
        let (one, two) = (format(&one), format(&two));
        prop_assert!(one.is_ok() && two.is_ok(), "{:?} {:?}", one, two);
        prop_assert_eq!(one.ok(), two.ok());
    }
}

// ---------------------------------------------------------------- the CLI

fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn tree(dir: &Path) -> BTreeMap<String, String> {
    crate::common::read_tree(dir)
}

const UNFORMATTED: &str = "pipeline p {\nnamespace=\"x\"\n}\n";
const FORMATTED: &str = "pipeline p {\n  namespace = \"x\"\n}\n";

#[test]
fn cli_check_reports_and_writes_nothing() {
    let dir = scratch(&[("a.vcp", UNFORMATTED), ("sub/b.vcp", FORMATTED)]);
    let before = tree(dir.path());
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], true),
        ExitCode::from(1)
    );
    assert_eq!(tree(dir.path()), before);
    let formatted = scratch(&[("b.vcp", FORMATTED)]);
    assert_eq!(
        vcp::cli::fmt::format_files(&[formatted.path().to_path_buf()], true),
        ExitCode::SUCCESS
    );
}

#[test]
fn cli_rewrites_only_changed_files() {
    let dir = scratch(&[
        ("a.vcp", UNFORMATTED),
        ("sub/b.vcp", FORMATTED),
        ("target/c.vcp", UNFORMATTED),
        (".vcp/d.vcp", UNFORMATTED),
        ("notes.txt", UNFORMATTED),
    ]);
    let b = dir.path().join("sub/b.vcp");
    let old_time = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&b)
        .and_then(|f| f.set_modified(old_time))
        .expect("set mtime");
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], false),
        ExitCode::SUCCESS
    );
    let after = tree(dir.path());
    assert_eq!(after["a.vcp"], FORMATTED);
    assert_eq!(after["sub/b.vcp"], FORMATTED);
    assert_eq!(after["target/c.vcp"], UNFORMATTED, "target/ is skipped");
    assert_eq!(
        after[".vcp/d.vcp"], UNFORMATTED,
        "hidden folders are skipped"
    );
    assert_eq!(after["notes.txt"], UNFORMATTED);
    assert_eq!(after.len(), 5, "no temporary file left: {:?}", after.keys());
    let mtime = std::fs::metadata(&b)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(mtime, old_time, "an unchanged file is not rewritten");
    // Named explicitly, a file is formatted whatever its name.
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().join("target/c.vcp")], false),
        ExitCode::SUCCESS
    );
    assert_eq!(tree(dir.path())["target/c.vcp"], FORMATTED);
}

#[test]
fn cli_leaves_files_with_syntax_errors_alone() {
    let broken = "pipeline p {\n  workers == 3\n}\n";
    let dir = scratch(&[("a.vcp", broken), ("b.vcp", UNFORMATTED)]);
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], false),
        ExitCode::from(1)
    );
    let after = tree(dir.path());
    assert_eq!(after["a.vcp"], broken);
    assert_eq!(
        after["b.vcp"], FORMATTED,
        "the other files are still formatted"
    );
}

#[test]
fn cli_usage_errors_exit_2() {
    let dir = scratch(&[("notes.txt", "")]);
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().join("missing.vcp")], false),
        ExitCode::from(2)
    );
    assert_eq!(
        vcp::cli::fmt::format_files(&[dir.path().to_path_buf()], false),
        ExitCode::from(2)
    );
}
