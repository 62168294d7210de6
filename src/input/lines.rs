//! Line scanning over reused buffers.
//!
//! Two readers share the rules: lines end at `\n`, one trailing `\r` is
//! stripped, the last line counts even without a final newline, and a line
//! longer than the limit is reported as oversized and skipped while it
//! streams past, so a huge line never has to fit in memory.
//!
//! - [`LineReader`] lends one line at a time out of its buffer.
//! - [`ChunkReader`] cuts a stream into chunks of whole lines, which
//!   workers scan in parallel (see [`crate::scan`]).

use std::io::{self, Read};

/// Longest line kept, in bytes (excluding the newline). nginx itself cuts
/// records at 2048 bytes; 1 MiB leaves room for anything real.
pub const MAX_LINE: usize = 1 << 20;

/// Size of each read from the underlying source.
const READ_SIZE: usize = 256 * 1024;

/// One physical line.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The bytes of the line, without `\n` or a trailing `\r`.
    Text(&'a [u8]),
    /// A line longer than the limit; only its length is kept.
    Oversized(u64),
}

/// Reads lines from any byte source through a single growing-then-reused
/// buffer.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the unread part of `buf`.
    start: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    eof: bool,
    max_line: usize,
    line_no: u64,
    /// A read error, reported after the lines read before it (the same
    /// rule as [`ChunkReader`]).
    error: Option<io::Error>,
}

impl<R: Read> LineReader<R> {
    /// A reader with the default line limit.
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_LINE)
    }

    /// A reader that treats lines longer than `max_line` bytes as oversized.
    pub fn with_limit(inner: R, max_line: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; READ_SIZE.min(max_line.saturating_add(2)).max(64)],
            start: 0,
            end: 0,
            eof: false,
            max_line,
            line_no: 0,
            error: None,
        }
    }

    /// Number of the line most recently returned (1-based).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line, `None` at the end of input. An I/O error leaves the
    /// lines returned before it valid.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let line_start = self.start;
                let line_end = self.start + pos;
                self.start = line_end + 1;
                self.line_no += 1;
                if line_end - line_start > self.max_line {
                    return Ok(Some(Line::Oversized((line_end - line_start) as u64)));
                }
                return Ok(Some(Line::Text(trim_cr(&self.buf[line_start..line_end]))));
            }
            let pending = self.end - self.start;
            if pending > self.max_line {
                let len = self.skip_rest_of_line(pending as u64)?;
                self.line_no += 1;
                return Ok(Some(Line::Oversized(len)));
            }
            if self.eof {
                if pending == 0 {
                    return match self.error.take() {
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                }
                let line_start = self.start;
                self.start = self.end;
                self.line_no += 1;
                return Ok(Some(Line::Text(trim_cr(&self.buf[line_start..self.end]))));
            }
            self.fill()?;
        }
    }

    /// Moves the unread bytes to the front, grows the buffer if a single
    /// line fills it, and reads more.
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let limit = self.max_line.saturating_add(2);
            let new_len = (self.buf.len() * 2).min(limit).max(self.buf.len() + 1);
            self.buf.resize(new_len, 0);
        }
        let n = match read_retrying(&mut self.inner, &mut self.buf[self.end..]) {
            Ok(n) => n,
            Err(e) => {
                self.error = Some(e);
                0
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Ok(())
    }

    /// Discards the current over-long line up to and including its newline,
    /// returning its length. Memory stays at the buffer size.
    fn skip_rest_of_line(&mut self, mut len: u64) -> io::Result<u64> {
        self.start = 0;
        self.end = 0;
        loop {
            if self.eof {
                return Ok(len);
            }
            let n = read_retrying(&mut self.inner, &mut self.buf[..])?;
            if n == 0 {
                self.eof = true;
                return Ok(len);
            }
            if let Some(pos) = memchr::memchr(b'\n', &self.buf[..n]) {
                len += pos as u64;
                self.start = pos + 1;
                self.end = n;
                return Ok(len);
            }
            len += n as u64;
        }
    }
}

/// Bytes a chunk aims at; a chunk ends at the first line end past it.
pub const CHUNK_SIZE: usize = 2048 * 1024;

/// What [`ChunkReader::next_piece`] gives.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// Whole lines in `buf[..len]` (the last one may lack its newline only
    /// at the end of the input). Bytes past `len` are scratch.
    Chunk {
        /// The buffer, handed back for reuse.
        buf: Vec<u8>,
        /// Length of the lines in it.
        len: usize,
    },
    /// A line over the limit that did not fit in a chunk; its length.
    Oversized(u64),
}

/// Cuts a byte stream into chunks of whole lines. Buffers are passed in
/// and handed out, so a caller can recycle a fixed set of them; a recycled
/// buffer is reused as it is, never cleared, so steady-state reading
/// neither allocates nor zeroes memory.
pub struct ChunkReader<R> {
    inner: R,
    /// The start of a line that did not fit in the previous chunk.
    carry: Vec<u8>,
    eof: bool,
    target: usize,
    max_line: usize,
    /// A read error, reported after the lines read before it.
    error: Option<io::Error>,
}

impl<R: Read> ChunkReader<R> {
    /// A reader with the default chunk size and line limit.
    pub fn new(inner: R) -> Self {
        Self::with_sizes(inner, CHUNK_SIZE, MAX_LINE)
    }

    /// A reader with explicit sizes (tests use small ones).
    pub fn with_sizes(inner: R, target: usize, max_line: usize) -> Self {
        ChunkReader {
            inner,
            carry: Vec::new(),
            eof: false,
            target: target.max(1),
            max_line,
            error: None,
        }
    }

    /// The next piece, read into `buf`; `Ok(Err(buf))` at the end of
    /// input, handing `buf` back unused. A read error comes after the lines
    /// read before it.
    pub fn next_piece(&mut self, mut buf: Vec<u8>) -> io::Result<Result<Piece, Vec<u8>>> {
        if self.carry.is_empty()
            && let Some(e) = self.error.take()
        {
            return Err(e);
        }
        let mut filled = self.carry.len();
        grow(&mut buf, filled);
        buf[..filled].copy_from_slice(&self.carry);
        self.carry.clear();
        // Bytes before this offset have been searched for a newline.
        let mut searched = 0;
        loop {
            if filled >= self.target || self.eof {
                if let Some(p) = memchr::memrchr(b'\n', &buf[searched..filled]) {
                    let cut = searched + p + 1;
                    self.carry.extend_from_slice(&buf[cut..filled]);
                    return Ok(Ok(Piece::Chunk { buf, len: cut }));
                }
                searched = filled;
                if self.eof {
                    if filled == 0 {
                        return match self.error.take() {
                            Some(e) => Err(e),
                            None => Ok(Err(buf)),
                        };
                    }
                    return Ok(Ok(Piece::Chunk { buf, len: filled }));
                }
                if filled > self.max_line {
                    let len = self.skip_rest_of_line(filled as u64, &mut buf)?;
                    return Ok(Ok(Piece::Oversized(len)));
                }
            }
            let want = (self.target + 64 * 1024)
                .saturating_sub(filled)
                .max(64 * 1024);
            grow(&mut buf, filled + want);
            let n = match read_retrying(&mut self.inner, &mut buf[filled..filled + want]) {
                Ok(n) => n,
                Err(e) => {
                    // The lines before the damage still count; the error
                    // is reported once they are out.
                    self.error = Some(e);
                    0
                }
            };
            filled += n;
            if n == 0 {
                self.eof = true;
            }
        }
    }

    /// Discards the current over-long line up to its newline (using `buf`
    /// as scratch); what follows the newline is kept for the next chunk.
    fn skip_rest_of_line(&mut self, mut len: u64, buf: &mut Vec<u8>) -> io::Result<u64> {
        grow(buf, 64 * 1024);
        loop {
            let n = match read_retrying(&mut self.inner, &mut buf[..64 * 1024]) {
                Ok(n) => n,
                Err(e) => {
                    self.error = Some(e);
                    0
                }
            };
            if n == 0 {
                self.eof = true;
                return Ok(len);
            }
            if let Some(pos) = memchr::memchr(b'\n', &buf[..n]) {
                self.carry.extend_from_slice(&buf[pos + 1..n]);
                return Ok(len + pos as u64);
            }
            len += n as u64;
        }
    }
}

/// Makes `buf` at least `len` long; only new bytes are initialized.
#[inline]
fn grow(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}

/// Splits a chunk into its lines (same rules as [`LineReader`], without
/// the length limit, which the caller checks).
pub fn split_lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = chunk;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        Some(trim_cr(line))
    })
}

fn read_retrying<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The line without one trailing `\r`.
#[inline]
pub fn trim_cr(line: &[u8]) -> &[u8] {
    match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every line, with a source that hands out at most `chunk` bytes
    /// per read, so every buffer boundary gets exercised.
    fn collect(input: &[u8], chunk: usize, limit: usize) -> Vec<Result<Vec<u8>, u64>> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = LineReader::with_limit(Chunked(input, chunk), limit);
        let mut out = Vec::new();
        while let Some(line) = r.next_line().unwrap() {
            out.push(match line {
                Line::Text(t) => Ok(t.to_vec()),
                Line::Oversized(n) => Err(n),
            });
        }
        out
    }

    fn texts(v: &[&str]) -> Vec<Result<Vec<u8>, u64>> {
        v.iter().map(|s| Ok(s.as_bytes().to_vec())).collect()
    }

    #[test]
    fn splits_lines_and_keeps_last_without_newline() {
        for chunk in [1, 2, 3, 7, 1000] {
            assert_eq!(
                collect(b"a\nbb\n\nccc", chunk, 100),
                texts(&["a", "bb", "", "ccc"])
            );
        }
    }

    #[test]
    fn strips_one_carriage_return() {
        assert_eq!(
            collect(b"a\r\nb\r\r\nc\r", 3, 100),
            texts(&["a", "b\r", "c"])
        );
    }

    #[test]
    fn keeps_nul_and_invalid_utf8() {
        assert_eq!(
            collect(b"a\0b\xff\xfe\nz", 2, 100),
            vec![Ok(b"a\0b\xff\xfe".to_vec()), Ok(b"z".to_vec())]
        );
    }

    #[test]
    fn oversized_line_is_skipped_and_counted() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.extend(b"\nafter\n");
        for chunk in [1, 16, 64, 5000] {
            let got = collect(&input, chunk, 100);
            assert_eq!(
                got,
                vec![Ok(b"short".to_vec()), Err(1000), Ok(b"after".to_vec())],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn line_exactly_at_limit_is_kept() {
        let line = vec![b'y'; 100];
        let mut input = line.clone();
        input.push(b'\n');
        assert_eq!(collect(&input, 7, 100), vec![Ok(line)]);
        let mut longer = vec![b'y'; 101];
        longer.push(b'\n');
        assert_eq!(collect(&longer, 7, 100), vec![Err(101)]);
    }

    #[test]
    fn oversized_last_line_without_newline() {
        let input = vec![b'z'; 500];
        assert_eq!(collect(&input, 13, 100), vec![Err(500)]);
    }

    /// All lines of a stream read through [`ChunkReader`] + [`split_lines`],
    /// in the same shape as [`collect`].
    fn collect_chunks(input: &[u8], target: usize, limit: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut r = ChunkReader::with_sizes(input, target, limit);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            match r.next_piece(buf).unwrap() {
                Err(_) => return out,
                Ok(Piece::Oversized(n)) => {
                    out.push(Err(n));
                    buf = Vec::new();
                }
                Ok(Piece::Chunk { buf: c, len }) => {
                    assert!(
                        c[..len].ends_with(b"\n") || r.eof,
                        "chunks end at a line end"
                    );
                    for l in split_lines(&c[..len]) {
                        out.push(if l.len() > limit {
                            Err(l.len() as u64)
                        } else {
                            Ok(l.to_vec())
                        });
                    }
                    buf = c;
                }
            }
        }
    }

    #[test]
    fn chunks_give_the_same_lines() {
        let mut input = Vec::new();
        for i in 0..300 {
            input.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 37));
            input.extend_from_slice(if i % 5 == 0 { b"\r\n" } else { b"\n" });
        }
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.extend_from_slice(b"\nlast");
        let want = collect(&input, 7, 100);
        for target in [1, 10, 64, 4096] {
            assert_eq!(collect_chunks(&input, target, 100), want, "target {target}");
        }
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(collect(b"", 4, 100).is_empty());
        assert_eq!(collect(b"\n", 4, 100), texts(&[""]));
    }
}
