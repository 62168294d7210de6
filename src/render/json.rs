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
