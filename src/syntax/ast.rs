//! The abstract syntax tree. Every node carries a [`Span`]; nothing here
//! mentions pest.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Import(Import),
    Pipeline(Decl),
    Template(Decl),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    pub path: StrLit,
    pub span: Span,
}

/// `pipeline NAME { ... }`, `template NAME { ... }`, `stage NAME { ... }`,
/// `volume NAME { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Decl {
    pub name: Ident,
    pub body: Block,
    /// From the keyword to the closing brace.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub entries: Vec<Entry>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Stage(Decl),
    Volume(Decl),
    /// Boxed: a `param` is rare and three times the size of a field.
    Param(Box<Param>),
    Field(Field),
}

impl Entry {
    pub fn span(&self) -> Span {
        match self {
            Entry::Stage(d) | Entry::Volume(d) => d.span,
            Entry::Param(p) => p.span,
            Entry::Field(f) => f.span,
        }
    }
}

/// `param NAME: TYPE [= DEFAULT]`
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Ident,
    pub default: Option<Expr>,
    pub span: Span,
}

/// `key = value`
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub key: Key,
    pub value: Expr,
    pub span: Span,
}

/// A field key: a name (`workers`) or a string (`"app.kubernetes.io/team"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Str(StrLit),
    /// An integer or decimal, kept as written; the checker decides its range.
    Number {
        text: String,
        span: Span,
    },
    /// A number with a unit (`30m`, `4Gi`), kept as written.
    Quantity {
        text: String,
        span: Span,
    },
    Bool {
        value: bool,
        span: Span,
    },
    List {
        items: Vec<Expr>,
        span: Span,
    },
    Map(Block),
    Call {
        /// Boxed, as `By`'s strategy: an `Expr` is as large as its largest
        /// variant, and most are list items (48 bytes rather than 80).
        name: Box<Ident>,
        args: Vec<Expr>,
        span: Span,
    },
    Ident(Ident),
    /// `source by strategy`
    By {
        source: Box<Expr>,
        strategy: Box<Ident>,
        span: Span,
    },
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Str(s) => s.span,
            Expr::Map(b) => b.span,
            Expr::Ident(i) => i.span,
            Expr::Number { span, .. }
            | Expr::Quantity { span, .. }
            | Expr::Bool { span, .. }
            | Expr::List { span, .. }
            | Expr::Call { span, .. }
            | Expr::By { span, .. } => *span,
        }
    }

    /// What kind of value this is, in the words of error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Expr::Str(_) => "a string",
            Expr::Number { text, .. } if text.contains('.') => "a decimal number",
            Expr::Number { .. } => "an integer",
            Expr::Quantity { .. } => "a number with a unit",
            Expr::Bool { .. } => "a boolean",
            Expr::List { .. } => "a list",
            Expr::Map(_) => "a block",
            Expr::Call { .. } => "a function call",
            Expr::Ident(_) => "a name",
            Expr::By { .. } => "a shard rule",
        }
    }
}

/// A string literal with its escapes decoded and its `${name}` interpolations
/// split out.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub parts: Parts,
    pub span: Span,
}

/// The parts of a string literal, as a slice. Most literals are one piece of
/// text, held in place: a `Vec` would be one more allocation for every
/// string of the file (an item list is mostly strings). A boxed slice
/// rather than a `Vec` keeps `Parts` as small as one part (24 bytes).
#[derive(Clone)]
pub enum Parts {
    One(StrPart),
    Many(Box<[StrPart]>),
}

impl Default for Parts {
    fn default() -> Parts {
        Parts::Many(Box::default())
    }
}

impl From<Vec<StrPart>> for Parts {
    fn from(mut parts: Vec<StrPart>) -> Parts {
        if parts.len() == 1
            && let Some(only) = parts.pop()
        {
            Parts::One(only)
        } else {
            Parts::Many(parts.into_boxed_slice())
        }
    }
}

impl std::ops::Deref for Parts {
    type Target = [StrPart];
    fn deref(&self) -> &[StrPart] {
        match self {
            Parts::One(part) => std::slice::from_ref(part),
            Parts::Many(parts) => parts,
        }
    }
}

impl std::ops::DerefMut for Parts {
    fn deref_mut(&mut self) -> &mut [StrPart] {
        match self {
            Parts::One(part) => std::slice::from_mut(part),
            Parts::Many(parts) => parts,
        }
    }
}

impl<'a> IntoIterator for &'a Parts {
    type Item = &'a StrPart;
    type IntoIter = std::slice::Iter<'a, StrPart>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Parts {
    type Item = &'a mut StrPart;
    type IntoIter = std::slice::IterMut<'a, StrPart>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

/// Equal when the parts are, however they are held.
impl PartialEq for Parts {
    fn eq(&self, other: &Parts) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    /// `${name}`; the span covers `${name}`. Boxed: it is rare, and a
    /// string part is then no larger than its text.
    Interp(Box<Ident>),
}

impl StrLit {
    /// The text, if the string has no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Interp(_) => return None,
            }
        }
        Some(out)
    }
}
