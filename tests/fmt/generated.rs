//! Generated files: random trees of the grammar written in random layouts
//! (whitespace, line breaks, separators, comments) format idempotently,
//! and the layout of the input does not matter.

use proptest::prelude::*;
use vcp::fmt::format;

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
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(400)))]

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
