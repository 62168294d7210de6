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

use crate::report::{Activity, Report};

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
    let (activity, around) = split();
    std::thread::scope(|s| {
        let second = s.spawn(|| activity.write(&report.activity));
        let written = around.write(report, out);
        let second = second
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        written.and(second)
    })
}

/// A report's JSON written on two threads, [`render`]'s bytes: the
/// activity's text on one ([`ActivityText::write`], which may start
/// before the rest of the report is built: it needs the activity alone),
/// in pieces at most [`AHEAD`] ahead of the other, which writes the rest
/// of the report around them ([`AroundActivity::write`]).
pub fn split() -> (ActivityText, AroundActivity) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(AHEAD);
    let pipe = Pipe {
        to: tx,
        buf: Vec::with_capacity(BUFFER),
    };
    (ActivityText(pipe), AroundActivity(rx))
}

/// The activity's half of [`split`].
pub struct ActivityText(Pipe);

impl ActivityText {
    /// Writes the report's `activity` field as it stands in the whole
    /// text (never its first field); an error once the other half is gone.
    pub fn write(mut self, activity: &Activity) -> io::Result<()> {
        field(SPLIT, activity, false, &mut self.0).map_err(io::Error::from)?;
        self.0.send()
    }
}

/// The rest of the report's half of [`split`].
pub struct AroundActivity(std::sync::mpsc::Receiver<Vec<u8>>);

impl AroundActivity {
    /// Writes the report, its activity as [`ActivityText::write`] writes
    /// it on the other thread (the report's own is not looked at): the
    /// fields before it, then its pieces as they come, then the fields
    /// after it.
    pub fn write(self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = BufWriter::with_capacity(BUFFER, out);
        let written = buf
            .write_all(b"{")
            .and_then(|()| fields(report, Part::Before(SPLIT), &mut buf));
        // Whatever happened here, the other thread's pieces are taken, so
        // that it cannot wait on a full channel.
        let mut piped = Ok(());
        for piece in self.0 {
            if written.is_ok() && piped.is_ok() {
                piped = buf.write_all(&piece);
            }
        }
        written?;
        piped?;
        fields(report, Part::After(SPLIT), &mut buf)?;
        buf.write_all(b"\n}\n")?;
        buf.into_inner().map(|_| ()).map_err(|e| e.into_error())
    }
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
    /// The fields after this one.
    After(&'static str),
}

/// Writes some fields of `value`, a struct, each as it stands in
/// [`write()`]'s text of the whole struct (`,` unless it is the struct's
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

/// Writes a struct's field `key` as it stands in [`write()`]'s text of
/// the struct (`,` unless it is the first, a line break and its
/// indentation, the key, the value), without the braces.
fn field<V: Serialize + ?Sized, W: Write>(
    key: &'static str,
    value: &V,
    first: bool,
    out: &mut W,
) -> Result<(), serde_json::Error> {
    debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    // Inside the struct's braces, as `write` has it there.
    let mut rows = Rows {
        open: vec![false],
        indent: 1,
        ..Rows::default()
    };
    rows.item(out, first).map_err(serde_json::Error::io)?;
    out.write_all(b"\"")
        .and_then(|()| out.write_all(key.as_bytes()))
        .and_then(|()| out.write_all(b"\": "))
        .map_err(serde_json::Error::io)?;
    let mut ser = serde_json::Serializer::with_formatter(out, rows);
    value.serialize(Plain(&mut ser))
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
        let (Part::Before(k) | Part::After(k)) = self.part;
        let this = key == k;
        let before = !self.met && !this;
        self.met |= this;
        match self.part {
            Part::Before(_) => before,
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
        field(key, value, first, &mut *self.out)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), serde_json::Error> {
        self.meet(key);
        Ok(())
    }

    fn end(self) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

/// What [`Fields`] says of anything but a struct.
fn only_structs() -> serde_json::Error {
    serde::ser::Error::custom("only a struct's fields are written apart")
}

/// Anything but a struct.
macro_rules! not_a_struct {
    ($($name:ident($($arg:ty),*);)*) => {$(
        fn $name(self, $(_: $arg),*) -> Result<(), serde_json::Error> {
            Err(only_structs())
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
        Err(only_structs())
    }

    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &V,
    ) -> Result<(), serde_json::Error> {
        Err(only_structs())
    }

    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), serde_json::Error> {
        Err(only_structs())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        Err(only_structs())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, serde_json::Error> {
        Err(only_structs())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, serde_json::Error> {
        Err(only_structs())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, serde_json::Error> {
        Err(only_structs())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        Err(only_structs())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, serde_json::Error> {
        Err(only_structs())
    }
}

/// Writes any value as the report is written, followed by a newline.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = BufWriter::with_capacity(BUFFER, out);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Rows::default());
    value.serialize(Plain(&mut ser)).map_err(io::Error::from)?;
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

    /// Only [`Plain`] writes bytes here: a string's UTF-8, written as
    /// serde_json writes a string (see [`Plain`]).
    fn write_byte_array<W: ?Sized + Write>(&mut self, w: &mut W, value: &[u8]) -> io::Result<()> {
        self.begin_string(w)?;
        let mut run = 0;
        while let Some(at) = next_escape(value, run) {
            if run < at {
                w.write_all(&value[run..at])?;
            }
            self.write_char_escape(w, escape_of(value[at]))?;
            run = at + 1;
        }
        if run < value.len() {
            w.write_all(&value[run..])?;
        }
        self.end_string(w)
    }
}

/// Where the next byte serde_json escapes (a control character, `"`,
/// `\`, as its escape table has them) is in `b`, from `from` on: looked
/// for 16 bytes a step by [`crate::bytes::Block::json_escaped`], the last
/// block overlapping the one before (a report's example lines make
/// megabytes of text on a large log).
fn next_escape(b: &[u8], from: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::bytes::Block;
        let mut i = from;
        while let Some(block) = b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            let hits = Block::load(block).json_escaped();
            if hits != 0 {
                return Some(i + hits.trailing_zeros() as usize);
            }
            i += 16;
        }
        if i >= b.len() {
            return None;
        }
        match b.last_chunk::<16>() {
            // The last 16 bytes, those before `i` shifted out.
            Some(last) => {
                let hits = Block::load(last).json_escaped() >> (i + 16 - b.len());
                (hits != 0).then(|| i + hits.trailing_zeros() as usize)
            }
            None => next_escape_plain(b, i),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    next_escape_plain(b, from)
}

/// [`next_escape`] a byte at a time: for inputs under 16 bytes, and its
/// oracle.
fn next_escape_plain(b: &[u8], from: usize) -> Option<usize> {
    let escaped = |c: u8| (c < 0x20) | (c == b'"') | (c == b'\\');
    b.get(from..)?
        .iter()
        .position(|&c| escaped(c))
        .map(|p| from + p)
}

/// The escape serde_json writes for a byte [`next_escape`] finds.
fn escape_of(c: u8) -> serde_json::ser::CharEscape {
    use serde_json::ser::CharEscape;
    match c {
        b'"' => CharEscape::Quote,
        b'\\' => CharEscape::ReverseSolidus,
        0x08 => CharEscape::Backspace,
        b'\t' => CharEscape::Tab,
        b'\n' => CharEscape::LineFeed,
        0x0c => CharEscape::FormFeed,
        b'\r' => CharEscape::CarriageReturn,
        c => CharEscape::AsciiControl(c),
    }
}

/// A serializer that hands everything to `S` (serde_json's, with [`Rows`]),
/// except a string: that one goes as its bytes, which [`Rows`] writes as
/// serde_json writes a string, its runs without escapes as they are and
/// each escape through serde_json's own `write_char_escape`, the escapes
/// found 16 bytes a step instead of by serde_json's look-up of every byte
/// in its escape table. The text is serde_json's. Data that is bytes goes
/// as the array of numbers serde_json makes of it; map keys go as they
/// are (serde_json takes only strings there).
struct Plain<S>(S);

/// A value written through [`Plain`].
struct Through<'v, T: ?Sized>(&'v T);

impl<T: Serialize + ?Sized> Serialize for Through<'_, T> {
    #[inline]
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Plain(s))
    }
}

macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $name(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.0.$name($($arg),*)
        }
    )*};
}

impl<S: serde::Serializer> serde::Serializer for Plain<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Plain<S::SerializeSeq>;
    type SerializeTuple = Plain<S::SerializeTuple>;
    type SerializeTupleStruct = Plain<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Plain<S::SerializeTupleVariant>;
    type SerializeMap = Plain<S::SerializeMap>;
    type SerializeStruct = Plain<S::SerializeStruct>;
    type SerializeStructVariant = Plain<S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.0.serialize_bytes(v.as_bytes())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = self.0.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Through(v))
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Through(v))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Through(v))
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Plain)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Plain)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Plain)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(Plain)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Plain)
    }

    #[inline]
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Plain)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(Plain)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// The compound writers whose items are values alone (sequences and
/// tuples): each item written [`Through`] the wrapper.
macro_rules! plain_items {
    ($($kind:ident :: $item:ident),* $(,)?) => {$(
        impl<C: serde::ser::$kind> serde::ser::$kind for Plain<C> {
            type Ok = C::Ok;
            type Error = C::Error;
            #[inline]
            fn $item<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), C::Error> {
                self.0.$item(&Through(v))
            }
            #[inline]
            fn end(self) -> Result<C::Ok, C::Error> {
                self.0.end()
            }
        }
    )*};
}

plain_items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl<C: serde::ser::SerializeMap> serde::ser::SerializeMap for Plain<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), C::Error> {
        self.0.serialize_key(k)
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), C::Error> {
        self.0.serialize_value(&Through(v))
    }
    #[inline]
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: serde::ser::SerializeStruct> serde::ser::SerializeStruct for Plain<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &Through(v))
    }
    #[inline]
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    #[inline]
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: serde::ser::SerializeStructVariant> serde::ser::SerializeStructVariant for Plain<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &Through(v))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
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

    /// The text without [`Plain`]: serde_json's own string scan.
    fn scanned<T: Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Rows::default());
        v.serialize(&mut ser).unwrap();
        out.push(b'\n');
        String::from_utf8(out).unwrap()
    }

    struct Bytes(&'static [u8]);

    impl Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    #[derive(Serialize)]
    enum Kinds {
        Unit,
        New(String),
        Tuple(String, u8),
        Struct { a: String, b: Option<String> },
    }

    /// Strings with and without what serde_json escapes, anywhere in
    /// them and around the 16-byte steps, and every other kind of value
    /// [`Plain`] hands on: the same text as serde_json's alone.
    #[test]
    fn plain_strings_are_written_as_serde_json_writes_them() {
        let specials = [
            '"', '\\', '\n', '\u{0}', '\u{1f}', '\u{7f}', 'é', '€', ' ', '/',
        ];
        let mut strings: Vec<String> = (0..=0x80u32)
            .filter_map(char::from_u32)
            .map(|c| format!("{c}a{c}{c}"))
            .collect();
        strings.push(String::new());
        for len in [1, 15, 16, 17, 31, 32, 33, 40] {
            let base: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            strings.push(base.clone());
            for &c in &specials {
                for at in [0, len / 2, len - 1] {
                    let mut t: Vec<char> = base.chars().collect();
                    t[at] = c;
                    strings.push(t.into_iter().collect());
                }
            }
        }
        for t in &strings {
            assert_eq!(text(t), scanned(t), "{t:?}");
        }
        assert_eq!(text(&strings), scanned(&strings));
        let mut keyed = std::collections::BTreeMap::new();
        keyed.insert(7u32, "x\"y".to_string());
        keyed.insert(8u32, "plain".to_string());
        let many = (
            Some("a"),
            None::<&str>,
            [
                Kinds::Unit,
                Kinds::New("n\n".into()),
                Kinds::Tuple("t".into(), 1),
            ],
            Kinds::Struct {
                a: "s".into(),
                b: Some("\u{1}".into()),
            },
            keyed,
            serde_json::json!({"k\"": ["v", "w\t", 1.5, null, {"": ""}]}),
        );
        assert_eq!(text(&many), scanned(&many));
        // Bytes as serde_json writes them: an array of numbers.
        assert_eq!(
            text(&(Bytes(b"\x00\"ab"), Bytes(b""))),
            scanned(&([0u8, 34, 97, 98], [0u8; 0]))
        );
    }

    /// The block search for escapes finds what the plain one does, from
    /// every start, on every length across the block edges, with the
    /// escaped bytes and their neighbours (0x1f, 0x20, 0x7f, 0x80, 0xff)
    /// at every place.
    #[test]
    fn next_escape_is_the_plain_search() {
        let bytes = [0u8, 0x1f, 0x20, b'"', b'\\', b'\n', 0x7f, 0x80, 0xff, b'a'];
        for len in 0..50 {
            for &c in &bytes {
                for at in 0..len {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    if at + 17 < len {
                        b[at + 17] = b'"';
                    }
                    for from in 0..=len + 1 {
                        assert_eq!(
                            next_escape(&b, from),
                            next_escape_plain(&b, from),
                            "{b:?} {from}"
                        );
                    }
                }
            }
        }
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

    /// The fields before one, that one alone ([`field`], unless it is
    /// left out) and those after it, written apart, are the struct's text:
    /// for every field, whichever fields are left out.
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
                fields(&v, Part::Before(k), &mut parts).unwrap();
                let first = parts.len() == 1;
                let out = &mut parts;
                match k {
                    "a" => v.a.map(|a| field("a", &a, first, out)),
                    "b" => Some(field("b", &v.b, first, out)),
                    "c" => v.c.map(|c| field("c", c, first, out)),
                    "d" => Some(field("d", &v.d, first, out)),
                    _ => (!v.e.is_empty()).then(|| field("e", &v.e, first, out)),
                }
                .transpose()
                .unwrap();
                fields(&v, Part::After(k), &mut parts).unwrap();
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
