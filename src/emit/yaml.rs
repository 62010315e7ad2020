//! The one place YAML is written: a serde `Serializer` for the block style
//! kubectl prints, made for our typed model and nothing else.
//!
//! Scalars are written in one of three forms, chosen per string (the choice
//! is `yaml/scalar.rs`):
//!
//! - plain, only when the string can be read back as nothing but itself by a
//!   YAML 1.1 reader (kubectl's go-yaml, PyYAML) and a YAML 1.2 reader: a
//!   conservative character set, no keyword (`on`, `yes`, `~`, `null`, ...),
//!   nothing that starts like a number (`0123`, `1e3`, `12:30`) unless it also
//!   holds a letter no number has (`4Gi`, `500m`);
//! - a literal block (`|`, `|-`, `|+`) for multi-line text such as scripts,
//!   when every line is printable and free of trailing blanks;
//! - double-quoted otherwise, escaping what a reader would not keep as is.
//!
//! Output is written straight into one `String` without an intermediate tree;
//! serde-saphyr, which this replaces, spent most of `vcp build` deciding how to
//! quote (docs/performance.md). The round trip of every form is tested in
//! `yaml/tests.rs` against serde-saphyr's reader and PyYAML, and in
//! tests/hostile.rs with hostile strings through PyYAML.

mod scalar;
#[cfg(test)]
mod tests;

use scalar::{fits_literal, is_plain, needs_escape};
use serde::ser::{self, Serialize};
use std::fmt::{self, Write as _};

/// Renders one document; the header comment goes first.
pub fn document<T: Serialize>(header: &str, value: &T) -> String {
    // Written into a per-thread scratch buffer that keeps its capacity, then
    // copied out at its exact size: a build holds thousands of documents at
    // once, and growth by doubling would leave a third of that memory unused.
    thread_local! {
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        scratch.push_str(header);
        let mut writer = Writer {
            out: std::mem::take(scratch),
        };
        let written = value.serialize(Value {
            w: &mut writer,
            at: At::Top,
        });
        *scratch = writer.out;
        match written {
            Ok(()) => scratch.as_str().to_owned(),
            // Our model holds only strings, integers, booleans, lists and
            // maps: serialization cannot fail on user data.
            Err(e) => panic!("YAML serialization of the vcp model failed: {e}"),
        }
    })
}

/// The output, and nothing else: where the next value goes travels in `At`.
struct Writer {
    out: String,
}

/// Where a value is written: what has been written just before it.
#[derive(Clone, Copy)]
enum At {
    /// Start of the document.
    Top,
    /// After `key:` of a mapping whose keys are at this indent.
    Key(usize),
    /// After `- ` of a sequence whose dashes are at this indent.
    Dash(usize),
}

impl At {
    /// Indent of the entries of a mapping written here.
    fn map_indent(self) -> usize {
        match self {
            At::Top => 0,
            At::Key(i) | At::Dash(i) => i + 2,
        }
    }

    /// Indent of the dashes of a sequence written here. A sequence under a
    /// key sits at the key's indent, as kubectl prints it.
    fn seq_indent(self) -> usize {
        match self {
            At::Top => 0,
            At::Key(i) => i,
            At::Dash(i) => i + 2,
        }
    }
}

impl Writer {
    fn indent(&mut self, n: usize) {
        const BLANKS: &str = "                                ";
        let mut n = n;
        while n > BLANKS.len() {
            self.out.push_str(BLANKS);
            n -= BLANKS.len();
        }
        self.out.push_str(&BLANKS[..n]);
    }

    /// A scalar in flow position (plain or double-quoted), then the newline.
    fn scalar(&mut self, at: At, text: &str) {
        if let At::Key(_) = at {
            self.out.push(' ');
        }
        self.inline(text);
        self.out.push('\n');
    }

    /// `text` plain if that is safe, double-quoted otherwise.
    fn inline(&mut self, text: &str) {
        if is_plain(text) {
            self.out.push_str(text);
        } else {
            self.quoted(text);
        }
    }

    /// A string value: a literal block when it spans lines and can be one.
    fn string(&mut self, at: At, text: &str) {
        if memchr::memchr(b'\n', text.as_bytes()).is_some() && fits_literal(text) {
            self.literal(at, text);
        } else {
            self.scalar(at, text);
        }
    }

    fn literal(&mut self, at: At, text: &str) {
        let body = text.trim_end_matches('\n');
        let chomp = match text.len() - body.len() {
            0 => "-",
            1 => "",
            _ => "+",
        };
        let indent = at.map_indent();
        if let At::Key(_) = at {
            self.out.push(' ');
        }
        self.out.push('|');
        self.out.push_str(chomp);
        self.out.push('\n');
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
            if end > start {
                self.indent(indent);
            }
            self.out.push_str(&text[start..=end]);
            start = end + 1;
        }
        if start < text.len() {
            self.indent(indent);
            self.out.push_str(&text[start..]);
        }
        if chomp == "-" {
            self.out.push('\n');
        }
    }

    fn quoted(&mut self, text: &str) {
        self.out.push('"');
        let mut rest = text;
        while let Some(at) = rest.find(needs_escape) {
            self.out.push_str(&rest[..at]);
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\t' => self.out.push_str("\\t"),
                '\r' => self.out.push_str("\\r"),
                c if (c as u32) < 0x100 => {
                    let _ = write!(self.out, "\\x{:02X}", c as u32);
                }
                c => {
                    let _ = write!(self.out, "\\u{:04X}", c as u32);
                }
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.out.push_str(rest);
        self.out.push('"');
    }
}

#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Serializes one value at `at`.
struct Value<'a> {
    w: &'a mut Writer,
    at: At,
}

/// A mapping (map or struct) or a sequence being written.
struct Block<'a> {
    w: &'a mut Writer,
    at: At,
    /// Indent of its keys or dashes.
    indent: usize,
    empty: bool,
    /// What is written for it when it has no entry: `{}` or `[]`.
    empty_form: &'static str,
}

impl<'a> Block<'a> {
    fn map(w: &'a mut Writer, at: At) -> Self {
        Block {
            indent: at.map_indent(),
            w,
            at,
            empty: true,
            empty_form: "{}",
        }
    }

    fn seq(w: &'a mut Writer, at: At) -> Self {
        Block {
            indent: at.seq_indent(),
            w,
            at,
            empty: true,
            empty_form: "[]",
        }
    }

    /// Moves to where the next entry starts. The first entry goes on the
    /// line of the dash before the block; after a key it starts a new line.
    fn entry(&mut self) {
        if self.empty {
            if let At::Key(_) = self.at {
                self.w.out.push('\n');
                self.w.indent(self.indent);
            }
            self.empty = false;
        } else {
            self.w.indent(self.indent);
        }
    }

    /// Writes `key:` and leaves the writer after the colon.
    fn key(&mut self, key: &str) {
        self.entry();
        self.w.inline(key);
        self.w.out.push(':');
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.entry();
        self.w.out.push_str("- ");
        value.serialize(Value {
            w: self.w,
            at: At::Dash(self.indent),
        })
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Value {
            w: self.w,
            at: At::Key(self.indent),
        })
    }

    fn end(self) -> Result<(), Error> {
        if self.empty {
            self.w.scalar_raw(self.at, self.empty_form);
        }
        Ok(())
    }
}

impl Writer {
    /// A scalar written exactly as given (numbers, booleans, `{}`, `[]`).
    fn scalar_raw(&mut self, at: At, text: &str) {
        if let At::Key(_) = at {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }
}

impl Writer {
    fn number(&mut self, at: At, n: impl fmt::Display) {
        if let At::Key(_) = at {
            self.out.push(' ');
        }
        let _ = writeln!(self.out, "{n}");
    }
}

/// Serializer methods that write an integer as it is.
macro_rules! integers {
    ($($method:ident($ty:ty);)*) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            self.w.number(self.at, v);
            Ok(())
        })*
    };
}

impl<'a> ser::Serializer for Value<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Block<'a>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = Block<'a>;
    type SerializeStruct = Block<'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.w.scalar_raw(self.at, if v { "true" } else { "false" });
        Ok(())
    }
    integers! {
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(ser::Error::custom("non-finite number in the model"));
        }
        self.w.number(self.at, format_args!("{v:?}"));
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.w.string(self.at, v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(ser::Error::custom("bytes in the model"))
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.w.scalar_raw(self.at, "null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut map = Block::map(self.w, self.at);
        map.key(variant);
        map.value(value)?;
        map.end()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Block<'a>, Error> {
        Ok(Block::seq(self.w, self.at))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(ser::Error::custom("tuples are not in the model"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(ser::Error::custom("tuples are not in the model"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(ser::Error::custom("tuple variants are not in the model"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Block<'a>, Error> {
        Ok(Block::map(self.w, self.at))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Block<'a>, Error> {
        Ok(Block::map(self.w, self.at))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(ser::Error::custom("struct variants are not in the model"))
    }
}

impl ser::SerializeSeq for Block<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        Block::end(self)
    }
}

impl ser::SerializeMap for Block<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(KeyText(self))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        Block::end(self)
    }
}

impl ser::SerializeStruct for Block<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // Field names of our model and of k8s-openapi's: identifiers, always
        // plain (checked on every test build).
        debug_assert!(is_plain(key), "field name {key:?} needs quotes");
        self.entry();
        self.w.out.push_str(key);
        self.w.out.push(':');
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        Block::end(self)
    }
}

/// Writes a mapping key. Keys in the model are strings (field names, and
/// the keys of labels, annotations, selectors and resources).
struct KeyText<'a, 'b>(&'a mut Block<'b>);

/// Serializer methods that refuse what is not a string key.
macro_rules! not_a_key {
    ($($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ret, Error> {
            Err(ser::Error::custom("mapping keys are strings in the vcp model"))
        })*
    };
}

impl ser::Serializer for KeyText<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.key(v);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.0.key(variant);
        Ok(())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(ser::Error::custom(
            "mapping keys are strings in the vcp model",
        ))
    }
    not_a_key! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}
