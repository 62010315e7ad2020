//! Where `{item}` and `${param}` stand in shell code. A small lexer of the
//! POSIX sh grammar (quotes, escapes, `$(...)`, `${...}`, `$((...))`,
//! backticks, here-documents, comments) finds the context of every slot; the
//! context decides what the slot becomes, so that the value reaches the
//! command as exactly the bytes written, or the checker refuses the context.
//!
//! | context | `{item}` becomes | why |
//! |---|---|---|
//! | unquoted, inside `${VAR:-...}` | `"$VCP_ITEM"` | one word, no splitting or globbing |
//! | inside `"..."`, an unquoted here-document, a comment | `${VCP_ITEM}` | the user's quotes already hold it |
//! | inside `'...'` | E0406 | the shell expands nothing there |
//! | backticks, `$((...))`, after a backslash, a quoted here-document | E0407 | the bytes cannot be kept exact |
//!
//! An `int` parameter may stand in `$((...))`: its value is a number.

use std::collections::VecDeque;

/// One unit of shell code: a character, or the slot with this index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Char(char),
    Slot(usize),
}

/// Where a slot stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Context {
    /// A word of the command (also inside `$(...)`).
    Unquoted,
    /// Inside double quotes.
    Double,
    /// The word of a `${VAR...}` expansion (`${VAR:-word}`, `${VAR#word}`).
    ParamWord,
    /// The body of a here-document with an unquoted delimiter.
    HereDoc,
    /// A `#` comment: nothing runs, the slot only marks the command per item.
    Comment,
    /// Inside single quotes: not expanded (E0406).
    Single,
    /// Inside backticks, whose nested quoting POSIX leaves unspecified.
    Backtick,
    /// Inside `$((...))`: the value would be evaluated as an expression.
    Arithmetic,
    /// Right after a backslash, which would escape the replacement's first
    /// character.
    Escaped,
    /// The body of a here-document with a quoted delimiter: not expanded.
    QuotedHereDoc,
    /// The delimiter word of a here-document.
    HereDocDelimiter,
}

impl Context {
    /// The replacement of a variable reference `name`, or `None` where the
    /// checker must refuse the context.
    pub(super) fn reference(self, name: &str, is_number: bool) -> Option<String> {
        match self {
            Context::Unquoted | Context::ParamWord => Some(format!("\"${{{name}}}\"")),
            Context::Double | Context::HereDoc | Context::Comment => Some(format!("${{{name}}}")),
            Context::Arithmetic if is_number => Some(format!("${{{name}}}")),
            _ => None,
        }
    }

    /// Where the slot stands, for messages: "inside backticks".
    pub(super) fn describe(self) -> &'static str {
        match self {
            Context::Unquoted => "in a word of the command",
            Context::Double => "inside double quotes",
            Context::ParamWord => "inside `${...}`",
            Context::HereDoc => "in a here-document",
            Context::Comment => "in a comment",
            Context::Single => "inside single quotes",
            Context::Backtick => "inside backticks",
            Context::Arithmetic => "inside `$((...))`",
            Context::Escaped => "right after a backslash",
            Context::QuotedHereDoc => "in a here-document with a quoted delimiter",
            Context::HereDocDelimiter => "in a here-document's delimiter",
        }
    }
}

#[derive(Clone, Debug)]
enum Frame {
    /// The command, or the inside of `$(...)` (`sub`), with its open
    /// parentheses and `case`s (whose patterns end in a lone `)`).
    Unquoted {
        sub: bool,
        depth: u32,
        cases: u32,
    },
    Double,
    Single,
    /// `${...}`; `quoted` when it stands inside double quotes or a
    /// here-document, where a `'` is an ordinary character.
    Param {
        quoted: bool,
    },
    Arith {
        depth: u32,
    },
    Backtick,
    HereDoc(HereDoc),
}

#[derive(Clone, Debug)]
struct HereDoc {
    delimiter: String,
    strip_tabs: bool,
    quoted: bool,
}

/// The context of every slot, by slot index (`slots` slots in all).
pub(super) fn contexts(code: &[Unit], slots: usize) -> Vec<Context> {
    let mut lexer = Lexer {
        code,
        at: 0,
        stack: vec![Frame::Unquoted {
            sub: false,
            depth: 0,
            cases: 0,
        }],
        pending: VecDeque::new(),
        word_start: true,
        line_start: false,
        found: vec![Context::Unquoted; slots],
    };
    lexer.run();
    lexer.found
}

struct Lexer<'a> {
    code: &'a [Unit],
    at: usize,
    stack: Vec<Frame>,
    /// Here-documents whose bodies start after the next newline.
    pending: VecDeque<HereDoc>,
    /// At the start of a word (a `#` starts a comment, a word may be `case`).
    word_start: bool,
    /// At the start of a line of a here-document's body.
    line_start: bool,
    found: Vec<Context>,
}

impl Lexer<'_> {
    fn char_at(&self, i: usize) -> Option<char> {
        match self.code.get(i) {
            Some(Unit::Char(c)) => Some(*c),
            _ => None,
        }
    }

    fn slot(&mut self, index: usize, context: Context) {
        if let Some(f) = self.found.get_mut(index) {
            *f = context;
        }
    }

    fn run(&mut self) {
        while self.at < self.code.len() {
            let Some(top) = self.stack.last().cloned() else {
                return;
            };
            match top {
                Frame::HereDoc(doc) => self.here_doc(&doc),
                Frame::Single => self.single(),
                Frame::Backtick => self.backtick(),
                Frame::Double => self.double(),
                Frame::Param { quoted } => self.param(quoted),
                Frame::Arith { depth } => self.arith(depth),
                Frame::Unquoted { sub, depth, cases } => self.unquoted(sub, depth, cases),
            }
        }
    }

    fn set_top(&mut self, frame: Frame) {
        if let Some(top) = self.stack.last_mut() {
            *top = frame;
        }
    }

    /// A backslash: the next unit is taken literally; a slot there is
    /// refused (the backslash would escape its replacement's first byte).
    fn escape(&mut self) {
        if let Some(Unit::Slot(s)) = self.code.get(self.at + 1) {
            self.slot(*s, Context::Escaped);
        }
        self.at += 2;
    }

    /// `$`: the start of `$((`, `$(`, `${`, or a plain `$`.
    fn dollar(&mut self, quoted: bool) {
        match (self.char_at(self.at + 1), self.char_at(self.at + 2)) {
            (Some('('), Some('(')) => {
                self.stack.push(Frame::Arith { depth: 0 });
                self.at += 3;
            }
            (Some('('), _) => {
                self.stack.push(Frame::Unquoted {
                    sub: true,
                    depth: 0,
                    cases: 0,
                });
                self.word_start = true;
                self.at += 2;
            }
            (Some('{'), _) => {
                self.stack.push(Frame::Param { quoted });
                self.at += 2;
            }
            _ => self.at += 1,
        }
    }

    fn single(&mut self) {
        match self.code[self.at] {
            Unit::Slot(s) => self.slot(s, Context::Single),
            Unit::Char('\'') => {
                self.stack.pop();
            }
            Unit::Char(_) => {}
        }
        self.at += 1;
    }

    fn backtick(&mut self) {
        match self.code[self.at] {
            Unit::Slot(s) => self.slot(s, Context::Backtick),
            Unit::Char('\\') => {
                if let Some(Unit::Slot(s)) = self.code.get(self.at + 1) {
                    self.slot(*s, Context::Backtick);
                }
                self.at += 1;
            }
            Unit::Char('`') => {
                self.stack.pop();
            }
            Unit::Char(_) => {}
        }
        self.at += 1;
    }

    fn double(&mut self) {
        match self.code[self.at] {
            Unit::Slot(s) => {
                self.slot(s, Context::Double);
                self.at += 1;
            }
            Unit::Char('"') => {
                self.stack.pop();
                self.at += 1;
            }
            Unit::Char('\\') => self.escape(),
            Unit::Char('$') => self.dollar(true),
            Unit::Char('`') => {
                self.stack.push(Frame::Backtick);
                self.at += 1;
            }
            Unit::Char(_) => self.at += 1,
        }
    }

    fn param(&mut self, quoted: bool) {
        match self.code[self.at] {
            Unit::Slot(s) => {
                self.slot(s, Context::ParamWord);
                self.at += 1;
            }
            Unit::Char('}') => {
                self.stack.pop();
                self.at += 1;
            }
            Unit::Char('\'') if !quoted => {
                self.stack.push(Frame::Single);
                self.at += 1;
            }
            Unit::Char('"') => {
                self.stack.push(Frame::Double);
                self.at += 1;
            }
            Unit::Char('\\') => self.escape(),
            Unit::Char('$') => self.dollar(quoted),
            Unit::Char('`') => {
                self.stack.push(Frame::Backtick);
                self.at += 1;
            }
            Unit::Char(_) => self.at += 1,
        }
    }

    fn arith(&mut self, depth: u32) {
        match self.code[self.at] {
            Unit::Slot(s) => {
                self.slot(s, Context::Arithmetic);
                self.at += 1;
            }
            Unit::Char('(') => {
                self.set_top(Frame::Arith { depth: depth + 1 });
                self.at += 1;
            }
            Unit::Char(')') if depth > 0 => {
                self.set_top(Frame::Arith { depth: depth - 1 });
                self.at += 1;
            }
            Unit::Char(')') => {
                // `))` closes; a lone `)` is a syntax error the shell reports.
                self.stack.pop();
                self.at += if self.char_at(self.at + 1) == Some(')') {
                    2
                } else {
                    1
                };
            }
            Unit::Char('"') => {
                self.stack.push(Frame::Double);
                self.at += 1;
            }
            Unit::Char('\'') => {
                self.stack.push(Frame::Single);
                self.at += 1;
            }
            Unit::Char('\\') => self.escape(),
            Unit::Char('$') => self.dollar(false),
            Unit::Char('`') => {
                self.stack.push(Frame::Backtick);
                self.at += 1;
            }
            Unit::Char(_) => self.at += 1,
        }
    }

    fn unquoted(&mut self, sub: bool, depth: u32, cases: u32) {
        let unit = self.code[self.at];
        let word_start = self.word_start;
        self.word_start = false;
        match unit {
            Unit::Slot(s) => {
                self.slot(s, Context::Unquoted);
                self.at += 1;
            }
            Unit::Char(' ' | '\t' | ';' | '&' | '|' | '>') => {
                self.word_start = true;
                self.at += 1;
            }
            Unit::Char('\n') => {
                self.word_start = true;
                self.at += 1;
                if let Some(doc) = self.pending.pop_front() {
                    self.stack.push(Frame::HereDoc(doc));
                    self.line_start = true;
                }
            }
            Unit::Char('<') => {
                self.word_start = true;
                if self.char_at(self.at + 1) == Some('<') && self.char_at(self.at + 2) != Some('<')
                {
                    self.here_doc_operator();
                } else {
                    // `<`, or bash's `<<<` (not POSIX: dash rejects it).
                    while self.char_at(self.at) == Some('<') {
                        self.at += 1;
                    }
                }
            }
            Unit::Char('(') => {
                self.word_start = true;
                if sub {
                    self.set_top(Frame::Unquoted {
                        sub,
                        depth: depth + 1,
                        cases,
                    });
                }
                self.at += 1;
            }
            Unit::Char(')') => {
                self.word_start = true;
                if sub && depth > 0 {
                    self.set_top(Frame::Unquoted {
                        sub,
                        depth: depth - 1,
                        cases,
                    });
                } else if sub && cases == 0 {
                    self.stack.pop();
                }
                // Else the end of a `case` pattern, or an unbalanced `)`.
                self.at += 1;
            }
            Unit::Char('#') if word_start => self.comment(),
            Unit::Char('\\') => self.escape(),
            Unit::Char('\'') => {
                self.stack.push(Frame::Single);
                self.at += 1;
            }
            Unit::Char('"') => {
                self.stack.push(Frame::Double);
                self.at += 1;
            }
            Unit::Char('`') => {
                self.stack.push(Frame::Backtick);
                self.at += 1;
            }
            Unit::Char('$') => self.dollar(false),
            Unit::Char(c) if word_start && (c.is_ascii_alphanumeric() || c == '_') => {
                let mut word = String::new();
                while let Some(c) = self.char_at(self.at) {
                    if !(c.is_ascii_alphanumeric() || c == '_') {
                        break;
                    }
                    word.push(c);
                    self.at += 1;
                }
                let ends_word = matches!(
                    self.code.get(self.at),
                    None | Some(Unit::Char(' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')'))
                );
                if sub && ends_word {
                    let cases = match word.as_str() {
                        "case" => cases + 1,
                        "esac" => cases.saturating_sub(1),
                        _ => cases,
                    };
                    self.set_top(Frame::Unquoted { sub, depth, cases });
                }
            }
            Unit::Char(_) => self.at += 1,
        }
    }

    fn comment(&mut self) {
        while let Some(unit) = self.code.get(self.at) {
            match unit {
                Unit::Char('\n') => return,
                Unit::Slot(s) => self.slot(*s, Context::Comment),
                Unit::Char(_) => {}
            }
            self.at += 1;
        }
    }

    /// `<<` or `<<-` and the delimiter word; the body starts after the
    /// next newline.
    fn here_doc_operator(&mut self) {
        self.at += 2;
        let strip_tabs = self.char_at(self.at) == Some('-');
        if strip_tabs {
            self.at += 1;
        }
        while matches!(self.char_at(self.at), Some(' ' | '\t')) {
            self.at += 1;
        }
        let mut delimiter = String::new();
        let mut quoted = false;
        let mut quote: Option<char> = None;
        while let Some(unit) = self.code.get(self.at).copied() {
            match (unit, quote) {
                (Unit::Slot(s), _) => {
                    self.slot(s, Context::HereDocDelimiter);
                    quoted = true;
                }
                (Unit::Char(c), Some(q)) if c == q => quote = None,
                (Unit::Char('\\'), Some('"') | None) => {
                    quoted = true;
                    self.at += 1;
                    match self.code.get(self.at) {
                        Some(Unit::Char(c)) => delimiter.push(*c),
                        Some(Unit::Slot(s)) => self.slot(*s, Context::HereDocDelimiter),
                        None => {}
                    }
                }
                (Unit::Char(c), Some(_)) => delimiter.push(c),
                (Unit::Char(c @ ('\'' | '"')), None) => {
                    quoted = true;
                    quote = Some(c);
                }
                (Unit::Char(' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')'), None) => {
                    break;
                }
                (Unit::Char(c), None) => delimiter.push(c),
            }
            self.at += 1;
        }
        if !delimiter.is_empty() {
            self.pending.push_back(HereDoc {
                delimiter,
                strip_tabs,
                quoted,
            });
        }
    }

    fn here_doc(&mut self, doc: &HereDoc) {
        if self.line_start {
            self.line_start = false;
            let mut end = self.at;
            let mut line = String::new();
            let mut plain = true;
            while let Some(unit) = self.code.get(end) {
                match unit {
                    Unit::Char('\n') => break,
                    Unit::Char(c) => line.push(*c),
                    Unit::Slot(_) => plain = false,
                }
                end += 1;
            }
            let line = if doc.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                &line
            };
            if plain && line == doc.delimiter {
                self.at = (end + 1).min(self.code.len());
                self.stack.pop();
                if let Some(next) = self.pending.pop_front() {
                    self.stack.push(Frame::HereDoc(next));
                    self.line_start = true;
                }
                return;
            }
        }
        match self.code[self.at] {
            Unit::Slot(s) => {
                let context = if doc.quoted {
                    Context::QuotedHereDoc
                } else {
                    Context::HereDoc
                };
                self.slot(s, context);
                self.at += 1;
            }
            Unit::Char('\n') => {
                self.line_start = true;
                self.at += 1;
            }
            Unit::Char(_) if doc.quoted => self.at += 1,
            Unit::Char('\\') => self.escape(),
            Unit::Char('$') => self.dollar(true),
            Unit::Char('`') => {
                self.stack.push(Frame::Backtick);
                self.at += 1;
            }
            Unit::Char(_) => self.at += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Context, Unit, contexts};

    /// The contexts of the `@` slots in `code`.
    fn of(code: &str) -> Vec<Context> {
        let mut units = Vec::new();
        let mut slots = 0;
        for c in code.chars() {
            if c == '@' {
                units.push(Unit::Slot(slots));
                slots += 1;
            } else {
                units.push(Unit::Char(c));
            }
        }
        contexts(&units, slots)
    }

    use Context::*;

    #[test]
    fn quoting_contexts() {
        assert_eq!(of("echo @ x@y"), [Unquoted, Unquoted]);
        assert_eq!(of("echo \"a @ b\" '@' \\'@"), [Double, Single, Unquoted]);
        assert_eq!(of("echo \"it's @\" 'say \"@\"'"), [Double, Single]);
        assert_eq!(of("echo \\@ \"\\@\" \\\\@"), [Escaped, Escaped, Unquoted]);
        assert_eq!(of("echo `echo @` $((@ + 1))"), [Backtick, Arithmetic]);
        assert_eq!(
            of("echo $(echo @ \"@\") \"$(echo @)\""),
            [Unquoted, Double, Unquoted]
        );
        assert_eq!(
            of("echo ${X:-@} \"${X:-@}\" ${X:-'@'} \"${X:-'@'}\""),
            [ParamWord, ParamWord, Single, ParamWord]
        );
        assert_eq!(of("echo $X@ ${X}@ \"${X}@\""), [Unquoted, Unquoted, Double]);
        assert_eq!(of("echo a#@ # @ \"\n@"), [Unquoted, Comment, Unquoted]);
        assert_eq!(of("echo $((1 + (2 * @))) @"), [Arithmetic, Unquoted]);
    }

    #[test]
    fn command_substitutions_with_case_patterns() {
        assert_eq!(
            of("x=\"$(case @ in a) echo @;; (b) echo @;; esac)\" @"),
            [Unquoted, Unquoted, Unquoted, Unquoted]
        );
        assert_eq!(of("echo \"$( (echo @) )\" @"), [Unquoted, Unquoted]);
    }

    #[test]
    fn here_documents() {
        assert_eq!(
            of("cat <<EOF\n@ \"@\" '@'\nEOF\necho @"),
            [HereDoc, HereDoc, HereDoc, Unquoted]
        );
        assert_eq!(of("cat <<'EOF'\n@\nEOF\n@"), [QuotedHereDoc, Unquoted]);
        assert_eq!(of("cat <<\"E\"F\n@\nEF\n@"), [QuotedHereDoc, Unquoted]);
        assert_eq!(of("cat <<-EOF\n\t@\n\tEOF\n@"), [HereDoc, Unquoted]);
        assert_eq!(
            of("cat <<A <<'B'; echo @\n@\nA\n@\nB\n@"),
            [Unquoted, HereDoc, QuotedHereDoc, Unquoted]
        );
        assert_eq!(of("cat <<EOF\n$(echo @)\nEOF\n"), [Unquoted]);
        assert_eq!(of("cat <<E@\nx\n"), [HereDocDelimiter]);
        assert_eq!(of("cat <<<@"), [Unquoted]);
    }
}
