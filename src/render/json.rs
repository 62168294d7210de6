//! The JSON contract: the serde form of [`Report`], pretty-printed.
//!
//! serde_json escapes control characters, and the report holds lossy UTF-8
//! already, so the output is valid JSON whatever bytes the logs held.
//!
//! Indented as `serde_json`'s pretty printer does, with one difference: an
//! array inside an array is written on one line (the activity's cells are
//! rows of numbers, thousands of them). The text goes through a buffer of
//! its own (through `dyn Write`, every bracket and indentation would be a
//! call of its own) of a fixed size, not built whole in memory: a report
//! of a large log runs to megabytes, which a growing buffer would copy
//! again at each doubling and hold twice at the peak of the run.

use std::io::{self, BufWriter, Write};

use serde::Serialize;

use crate::report::Report;

/// Writes the report as JSON followed by a newline.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write(report, out)
}

/// [`render`] on up to `threads` threads: with two or more, the report's
/// `activity` (the cells and their lines, half of a large report's text)
/// is written on a second thread while this one writes the fields before
/// it, and goes out after them. The bytes are [`render`]'s whatever the
/// thread count.
pub fn render_on(report: &Report, threads: usize, out: &mut dyn Write) -> io::Result<()> {
    if threads < 2 {
        return render(report, out);
    }
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(AHEAD);
        let second = s.spawn(move || {
            let mut pipe = Pipe {
                to: tx,
                buf: Vec::with_capacity(BUFFER),
            };
            fields(report, Part::Only(SPLIT), &mut pipe)?;
            pipe.send()
        });
        let mut buf = BufWriter::with_capacity(BUFFER, out);
        let written = buf
            .write_all(b"{")
            .and_then(|()| fields(report, Part::Before(SPLIT), &mut buf));
        // Whatever happened here, the second thread's pieces are taken, so
        // that it cannot wait on a full channel.
        let mut piped = Ok(());
        for piece in rx {
            if written.is_ok() && piped.is_ok() {
                piped = buf.write_all(&piece);
            }
        }
        let second = second
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        written?;
        piped?;
        second?;
        fields(report, Part::After(SPLIT), &mut buf)?;
        buf.write_all(b"\n}\n")?;
        buf.into_inner().map(|_| ()).map_err(|e| e.into_error())
    })
}

/// The field of [`Report`] written on the second thread.
const SPLIT: &str = "activity";

/// Pieces of the second thread's text the channel holds before that
/// thread waits for the first (bounds the memory held: 4 MiB).
const AHEAD: usize = 16;

/// A writer that sends its text on in [`BUFFER`]-sized pieces.
struct Pipe {
    to: std::sync::mpsc::SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl Pipe {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(BUFFER));
        self.to
            .send(piece)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the writer stopped"))
    }
}

impl Write for Pipe {
    #[inline]
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_all(b).map(|()| b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        if self.buf.len() + b.len() > BUFFER {
            self.send()?;
        }
        self.buf.extend_from_slice(b);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Which of a struct's fields [`fields`] writes, by a field's name.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// The fields before this one.
    Before(&'static str),
    /// This one.
    Only(&'static str),
    /// The fields after this one.
    After(&'static str),
}

/// Writes some fields of `value`, a struct, each as it stands in
/// [`write`]'s text of the whole struct (`,` unless it is the struct's
/// first, a line break and its indentation, the key, the value), without
/// the braces. A field left out (`skip_serializing_if`) writes nothing
/// and still marks its place for [`Part`].
fn fields<T: Serialize + ?Sized, W: Write>(value: &T, part: Part, out: &mut W) -> io::Result<()> {
    let mut w = Fields {
        out,
        part,
        met: false,
        written: 0,
    };
    value.serialize(&mut w).map_err(io::Error::from)
}

/// The serializer of [`fields`]: takes a struct only.
struct Fields<'o, W> {
    out: &'o mut W,
    part: Part,
    /// Whether the field `part` names was met.
    met: bool,
    /// Fields the struct wrote before, here or not.
    written: usize,
}

impl<W> Fields<'_, W> {
    /// Whether the field `key`, met now, is written here.
    fn meet(&mut self, key: &'static str) -> bool {
        let (Part::Before(k) | Part::Only(k) | Part::After(k)) = self.part;
        let this = key == k;
        let before = !self.met && !this;
        self.met |= this;
        match self.part {
            Part::Before(_) => before,
            Part::Only(_) => this,
            Part::After(_) => !before && !this,
        }
    }
}

impl<W: Write> serde::ser::SerializeStruct for &mut Fields<'_, W> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), serde_json::Error> {
        let on = self.meet(key);
        let first = self.written == 0;
        self.written += 1;
        if !on {
            return Ok(());
        }
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        // Inside the struct's braces, as `write` has it there.
        let mut rows = Rows {
            open: vec![false],
            indent: 1,
            ..Rows::default()
        };
        let out = &mut *self.out;
        rows.item(out, first).map_err(serde_json::Error::io)?;
        out.write_all(b"\"")
            .and_then(|()| out.write_all(key.as_bytes()))
            .and_then(|()| out.write_all(b"\": "))
            .map_err(serde_json::Error::io)?;
        let mut ser = serde_json::Serializer::with_formatter(out, rows);
        value.serialize(&mut ser)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), serde_json::Error> {
        self.meet(key);
        Ok(())
    }

    fn end(self) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

/// Anything but a struct.
macro_rules! not_a_struct {
    ($($name:ident($($arg:ty),*);)*) => {$(
        fn $name(self, $(_: $arg),*) -> Result<(), serde_json::Error> {
            Err(serde::ser::Error::custom("only a struct's fields are written apart"))
        }
    )*};
}

impl<'a, 'o, W: Write> serde::Serializer for &'a mut Fields<'o, W> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeTuple = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeMap = serde::ser::Impossible<(), serde_json::Error>;
    type SerializeStruct = &'a mut Fields<'o, W>;
    type SerializeStructVariant = serde::ser::Impossible<(), serde_json::Error>;

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, serde_json::Error> {
        Ok(self)
    }

    not_a_struct! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<V: Serialize + ?Sized>(self, _: &V) -> Result<(), serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &V,
    ) -> Result<(), serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, serde_json::Error> {
        Err(serde::ser::Error::custom(
            "only a struct's fields are written apart",
        ))
    }
}

/// Writes any value as the report is written, followed by a newline.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = BufWriter::with_capacity(BUFFER, out);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Rows::default());
    value.serialize(&mut ser).map_err(io::Error::from)?;
    buf.write_all(b"\n")?;
    // The rest goes out; flushing `out` is its owner's choice.
    buf.into_inner().map(|_| ()).map_err(|e| e.into_error())
}

/// Bytes of JSON held before they go to the output.
const BUFFER: usize = 256 * 1024;

/// Two-space indentation, except inside an array that is itself an array's
/// element: that one is written on one line (`[1,2,3]`).
#[derive(Default)]
struct Rows {
    /// Open containers, outermost first: true for an array.
    open: Vec<bool>,
    /// Depth (length of `open`) at which the one-line container began; 0
    /// when indenting.
    flat_from: usize,
    /// Indentation level.
    indent: usize,
    /// Whether the innermost indented container has a value yet.
    has_value: bool,
}

impl Rows {
    fn flat(&self) -> bool {
        self.flat_from > 0
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        /// A line break and the deepest indentation written in one piece.
        const BREAK: [u8; 129] = {
            let mut b = [b' '; 129];
            b[0] = b'\n';
            b
        };
        let n = self.indent * 2;
        match BREAK.get(..n + 1) {
            Some(s) => w.write_all(s),
            None => {
                w.write_all(&BREAK)?;
                (BREAK.len() - 1..n).try_for_each(|_| w.write_all(b" "))
            }
        }
    }

    fn begin<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        array: bool,
        bracket: &[u8],
    ) -> io::Result<()> {
        if !self.flat() && array && self.open.last() == Some(&true) {
            self.flat_from = self.open.len() + 1;
        }
        self.open.push(array);
        if !self.flat() {
            self.indent += 1;
            self.has_value = false;
        }
        w.write_all(bracket)
    }

    fn end<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        if self.flat() {
            if self.open.len() == self.flat_from {
                self.flat_from = 0;
            }
            self.open.pop();
            return w.write_all(bracket);
        }
        self.open.pop();
        self.indent -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if self.flat() {
            return if first { Ok(()) } else { w.write_all(b",") };
        }
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl serde_json::ser::Formatter for Rows {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, true, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        if !self.flat() {
            self.has_value = true;
        }
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.begin(w, false, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.flat() { b":" } else { b": " })
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        if !self.flat() {
            self.has_value = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        write(v, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Everything but arrays in arrays is exactly serde_json's pretty form.
    #[test]
    fn indents_as_serde_json_does() {
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [1, {"d": [true, null], "e": "x\n"}],
            "f": {"g": {"h": 1.5}}, "i": "\u{1}"
        });
        assert_eq!(text(&v), serde_json::to_string_pretty(&v).unwrap() + "\n");
    }

    /// A struct with fields left out at its start, middle and end.
    #[derive(Serialize)]
    struct Some3 {
        #[serde(skip_serializing_if = "Option::is_none")]
        a: Option<u8>,
        b: Vec<Vec<u8>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        c: Option<&'static str>,
        d: serde_json::Value,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        e: Vec<u8>,
    }

    /// The fields before one, that one and those after it, written apart,
    /// are the struct's text: for every field, whichever fields are left
    /// out.
    #[test]
    fn a_struct_written_in_parts_is_written_whole() {
        for (a, c, e) in [
            (None, None, vec![]),
            (Some(1), Some("x\n"), vec![1]),
            (None, Some("y"), vec![]),
        ] {
            let v = Some3 {
                a,
                b: vec![vec![1, 2], vec![]],
                c,
                d: serde_json::json!({"k": [1, {"l": null}], "m": "\u{1}"}),
                e,
            };
            let whole = text(&v);
            for k in ["a", "b", "c", "d", "e"] {
                let mut parts = b"{".to_vec();
                for part in [Part::Before(k), Part::Only(k), Part::After(k)] {
                    fields(&v, part, &mut parts).unwrap();
                }
                parts.extend_from_slice(b"\n}\n");
                assert_eq!(String::from_utf8(parts).unwrap(), whole, "split at {k}");
            }
        }
    }

    /// The report written on several threads is the one written on one
    /// (the integration tests compare full reports of real logs).
    #[test]
    fn threads_write_the_same_report() {
        let mut r = Report::build(&crate::aggregate::Aggregator::new(60));
        r.activity.routes = vec!["/a\"b".into(); 3];
        let mut one = Vec::new();
        render(&r, &mut one).unwrap();
        for threads in [2, 3] {
            let mut many = Vec::new();
            render_on(&r, threads, &mut many).unwrap();
            assert_eq!(
                String::from_utf8(many).unwrap(),
                String::from_utf8(one.clone()).unwrap()
            );
        }
    }

    #[test]
    fn arrays_in_arrays_take_one_line() {
        let v = serde_json::json!({"cells": [[1, 2, [3]], [], [{"a": 1, "b": [2]}]], "n": [1]});
        let got = text(&v);
        assert_eq!(
            got,
            "{\n  \"cells\": [\n    [1,2,[3]],\n    [],\n    [{\"a\":1,\"b\":[2]}]\n  ],\n  \"n\": [\n    1\n  ]\n}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(back, v);
    }
}
