//! The line cutter: every place that reads lines cuts them here, by one
//! set of rules. Lines end at `\n`, one trailing `\r` is stripped, the
//! last line of an input counts even without a final newline, and a line
//! longer than the limit is reported as oversized and skipped while it
//! streams past, so a huge line never has to fit in memory.
//!
//! - [`ChunkReader`] cuts a stream into chunks of whole lines, which
//!   workers scan in parallel (see [`crate::scan`]). A live one (a
//!   followed file) holds an unfinished last line until its end arrives.
//! - [`whole_lines_end`] and [`line_end`] are the two searches the
//!   readers make.
//! - [`spans`] and [`split_lines`] cut a chunk into its lines.

use std::io::{self, Read};

/// Longest line kept, in bytes (excluding the newline). nginx itself cuts
/// records at 2048 bytes; 1 MiB leaves room for anything real.
pub const MAX_LINE: usize = 1 << 20;

/// Bytes a chunk aims at; a chunk ends at the first line end past it.
/// 512 KiB: against 1 MiB, 1-7% faster on logs of 64 MiB to 1 GiB (nginx,
/// an outage, Apache, access, the fixtures; `benches/suite.sh` logs,
/// alternating runs), with half the buffer pages to fault in. A chunk
/// and what its scan builds then fit a core's L2 cache (1 MiB here) when
/// the ordered stage reads them again. 256 KiB did no better on 64 MiB
/// and worse on 1 GiB (more hand-offs between the threads).
pub const CHUNK_SIZE: usize = 512 * 1024;

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
///
/// A live reader ([`ChunkReader::live`]) reads a file that is still being
/// written: the end of what is there now is not the end of the input, so
/// an unfinished last line is held (an oversized one skipped) until its
/// newline arrives, and reading goes on after the writer appends.
pub struct ChunkReader<R> {
    inner: R,
    /// The start of a line that did not fit in the previous chunk.
    carry: Vec<u8>,
    eof: bool,
    target: usize,
    /// Bytes a buffer is first allocated with: the first target's chunk
    /// and its read-ahead, so that a later, larger target (see
    /// [`ChunkReader::set_target`]) does not move the buffer.
    first_alloc: usize,
    max_line: usize,
    /// A read error, reported after the lines read before it.
    error: Option<io::Error>,
    /// The end of the source is only the end of what is there now.
    live: bool,
    /// Inside an oversized line (live readers: across reads), its length
    /// so far.
    skipping: Option<u64>,
    /// Bytes read from the source.
    read: u64,
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
            first_alloc: target.saturating_add(READ_AHEAD),
            max_line,
            error: None,
            live: false,
            skipping: None,
            read: 0,
        }
    }

    /// A live reader: at the end of the source it hands out the whole
    /// lines it has and keeps the unfinished one for later.
    pub fn live(inner: R, target: usize, max_line: usize) -> Self {
        ChunkReader {
            live: true,
            ..Self::with_sizes(inner, target, max_line)
        }
    }

    /// Sets the chunk size for the pieces that follow (a buffer is still
    /// first allocated for the size the reader was made with).
    pub fn set_target(&mut self, target: usize) {
        self.target = target.max(1);
    }

    /// The next piece, read into `buf`; `Ok(Err(buf))` at the end of
    /// input (live: of what is there now), handing `buf` back unused. A
    /// read error comes after the lines read before it.
    pub fn next_piece(&mut self, mut buf: Vec<u8>) -> io::Result<Result<Piece, Vec<u8>>> {
        if let Some(len) = self.skipping.take() {
            // (Live only: an oversized line was still being written.)
            return match self.skip_rest_of_line(len, &mut buf) {
                Some(len) => Ok(Ok(Piece::Oversized(len))),
                None => self.nothing_now(buf),
            };
        }
        if self.carry.is_empty()
            && let Some(e) = self.error.take()
        {
            return Err(e);
        }
        let mut filled = self.carry.len();
        grow(&mut buf, filled, self.first_alloc);
        buf[..filled].copy_from_slice(&self.carry);
        self.carry.clear();
        // Bytes before this offset have been searched for a newline.
        let mut searched = 0;
        loop {
            if filled >= self.target || self.eof {
                if let Some(end) = whole_lines_end(&buf[searched..filled]) {
                    let cut = searched + end;
                    self.carry.extend_from_slice(&buf[cut..filled]);
                    self.eof &= !self.live;
                    return Ok(Ok(Piece::Chunk { buf, len: cut }));
                }
                searched = filled;
                if self.eof && !self.live {
                    if filled == 0 {
                        return match self.error.take() {
                            Some(e) => Err(e),
                            None => Ok(Err(buf)),
                        };
                    }
                    return Ok(Ok(Piece::Chunk { buf, len: filled }));
                }
                if filled > self.max_line {
                    return match self.skip_rest_of_line(filled as u64, &mut buf) {
                        Some(len) => Ok(Ok(Piece::Oversized(len))),
                        None => self.nothing_now(buf),
                    };
                }
                if self.eof {
                    // Live: the unfinished line waits for its newline.
                    self.carry.extend_from_slice(&buf[..filled]);
                    return self.nothing_now(buf);
                }
            }
            let want = (self.target + READ_AHEAD)
                .saturating_sub(filled)
                .max(READ_AHEAD);
            grow(&mut buf, filled + want, self.first_alloc);
            let n = self.read_some(&mut buf[filled..filled + want]);
            filled += n;
        }
    }

    /// Live: the end of what is there now (or the read error met there).
    fn nothing_now(&mut self, buf: Vec<u8>) -> io::Result<Result<Piece, Vec<u8>>> {
        self.eof = false;
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(Err(buf)),
        }
    }

    /// One read; 0 (and `eof` set) at the end or on an error, which is kept
    /// to be reported once the lines before it are out.
    fn read_some(&mut self, buf: &mut [u8]) -> usize {
        let n = match read_retrying(&mut self.inner, buf) {
            Ok(n) => n,
            Err(e) => {
                self.error = Some(e);
                0
            }
        };
        self.read += n as u64;
        if n == 0 {
            self.eof = true;
        }
        n
    }

    /// Discards the current over-long line up to its newline (using `buf`
    /// as scratch), giving its length; what follows the newline is kept for
    /// the next chunk. `None` when a live source has no more yet: the line
    /// is still being skipped at the next call.
    fn skip_rest_of_line(&mut self, mut len: u64, buf: &mut Vec<u8>) -> Option<u64> {
        grow(buf, READ_AHEAD, self.first_alloc);
        loop {
            let n = self.read_some(&mut buf[..READ_AHEAD]);
            if n == 0 {
                if self.live {
                    self.skipping = Some(len);
                    return None;
                }
                return Some(len);
            }
            if let Some(end) = line_end(&buf[..n]) {
                self.carry.extend_from_slice(&buf[end..n]);
                return Some(len + end as u64 - 1);
            }
            len += n as u64;
        }
    }

    /// The input ends here for good (a followed file left behind): the
    /// unfinished line it holds, if any, as its last line.
    pub fn unfinished(&mut self) -> Option<Piece> {
        if let Some(len) = self.skipping.take() {
            return Some(Piece::Oversized(len));
        }
        if self.carry.is_empty() {
            return None;
        }
        let buf = std::mem::take(&mut self.carry);
        let len = buf.len();
        Some(Piece::Chunk { buf, len })
    }

    /// True while an unfinished line is held (or skipped).
    pub fn holds_unfinished(&self) -> bool {
        !self.carry.is_empty() || self.skipping.is_some()
    }

    /// Bytes of an unfinished line held in memory (an oversized one being
    /// skipped holds none).
    pub fn held_bytes(&self) -> usize {
        self.carry.len()
    }

    /// Starts over, as at a new position in the source: what was held is
    /// dropped and the count of bytes read starts again at zero.
    pub fn restart(&mut self) {
        self.carry.clear();
        self.skipping = None;
        self.eof = false;
        self.error = None;
        self.read = 0;
    }

    /// Starts over inside a line that is longer than the limit: the bytes
    /// up to its newline are skipped and reported as one oversized line.
    pub fn restart_inside_oversized_line(&mut self) {
        self.restart();
        self.skipping = Some(self.max_line as u64 + 1);
    }

    /// Bytes read from the source since the start (or [`Self::restart`]).
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The source, to seek or inspect it.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The source.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

/// Bytes read past a chunk's target, so that most chunks end at the last
/// newline of one read.
const READ_AHEAD: usize = 64 * 1024;

/// Makes `buf` at least `len` long; only new bytes are initialized. A
/// buffer not yet allocated is allocated zeroed, `first` bytes or more: a
/// large one then comes as fresh pages that cost nothing until a read
/// fills them (a small file touches a page of its first buffer, not the
/// whole of it).
#[inline]
fn grow(buf: &mut Vec<u8>, len: usize, first: usize) {
    if buf.len() < len {
        if buf.capacity() == 0 {
            *buf = vec![0; len.max(first)];
        } else {
            buf.resize(len, 0);
        }
    }
}

/// Just past the last newline in `bytes`: the end of the whole lines at
/// its start. `None` when no line ends in it.
#[inline]
pub fn whole_lines_end(bytes: &[u8]) -> Option<usize> {
    memchr::memrchr(b'\n', bytes).map(|i| i + 1)
}

/// Just past the first newline in `bytes`: the end of its first line.
/// `None` when no line ends in it.
#[inline]
pub fn line_end(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes).map(|i| i + 1)
}

/// One line of a chunk, by its offsets in the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Where the line starts.
    pub start: usize,
    /// Where its text ends: before the `\n` and one trailing `\r`.
    pub end: usize,
    /// Where the next line starts.
    pub next: usize,
}

/// The lines of a chunk, by offset (see [`Span`]).
#[inline]
pub fn spans(chunk: &[u8]) -> Spans<'_> {
    Spans {
        chunk,
        pos: 0,
        ahead: 0,
        newline: Newline::new(),
    }
}

/// Iterator of [`spans`].
pub struct Spans<'a> {
    chunk: &'a [u8],
    pos: usize,
    /// Where the next prefetch goes: [`PREFETCH_AHEAD`] bytes past the
    /// line being scanned, one cache line at a time.
    ahead: usize,
    newline: Newline,
}

/// How far ahead of the scan lines are prefetched.
const PREFETCH_AHEAD: usize = 2048;

/// The search for a line's end: `memchr`'s AVX2 searcher for `\n`, built
/// once per chunk where the CPU has AVX2, so that each line's search is
/// one call instead of `memchr::memchr`'s dispatch to it and its set-up
/// (about 11 instructions a line); `memchr::memchr` elsewhere.
#[derive(Clone, Copy)]
struct Newline {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::One>,
}

impl Newline {
    #[inline]
    fn new() -> Newline {
        Newline {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::One::new(b'\n'),
        }
    }

    /// The first `\n` in `hay`.
    #[inline(always)]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = &self.avx2 {
            return one.find(hay);
        }
        memchr::memchr(b'\n', hay)
    }
}

impl Iterator for Spans<'_> {
    type Item = Span;

    // Inline in the scanner's loop: a call would return the span through
    // memory.
    #[inline(always)]
    fn next(&mut self) -> Option<Span> {
        let start = self.pos;
        if start >= self.chunk.len() {
            return None;
        }
        let (raw_end, next) = match self.newline.find(&self.chunk[start..]) {
            Some(i) => (start + i, start + i + 1),
            None => (self.chunk.len(), self.chunk.len()),
        };
        self.pos = next;
        // Up to the chunk's end: the last lines have nothing further on.
        while self.ahead < (next + PREFETCH_AHEAD).min(self.chunk.len()) {
            crate::bytes::prefetch(self.chunk, self.ahead);
            self.ahead += 64;
        }
        let end = if raw_end > start && self.chunk[raw_end - 1] == b'\r' {
            raw_end - 1
        } else {
            raw_end
        };
        Some(Span { start, end, next })
    }
}

/// Splits a chunk into its lines, without `\n` and one trailing `\r` (the
/// length limit is the caller's to check).
pub fn split_lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    spans(chunk).map(move |s| &chunk[s.start..s.end])
}

fn read_retrying<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_keeps_bytes_and_zeroes_new_ones_as_resize_does() {
        for (start, len) in [
            (&b""[..], 0),
            (b"", 5),
            (b"", 300 << 10),
            (b"abc", 2),
            (b"abc", 9),
        ] {
            let mut fast = start.to_vec();
            grow(&mut fast, len, 0);
            let mut plain = start.to_vec();
            if plain.len() < len {
                plain.resize(len, 0);
            }
            assert_eq!(fast, plain);
        }
        // A buffer handed back (cleared, its capacity kept) is resized.
        let mut used = vec![7u8; 10];
        used.clear();
        grow(&mut used, 4, 100);
        assert_eq!(used, [0; 4]);
        // A new buffer is allocated for its first size, zeroed.
        let mut new = Vec::new();
        grow(&mut new, 5, 100);
        assert_eq!(new, [0; 100]);
        grow(&mut new, 200, 100);
        assert_eq!(new, [0; 200]);
    }

    /// A source that hands out at most `step` bytes per read, so every
    /// buffer boundary gets exercised.
    struct Chunked<'a>(&'a [u8], usize);
    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Every line, read through a [`ChunkReader`] aiming at `chunk`-byte
    /// chunks from a source handing out `chunk` bytes per read.
    fn collect(input: &[u8], chunk: usize, limit: usize) -> Vec<Result<Vec<u8>, u64>> {
        lines_of(
            ChunkReader::with_sizes(Chunked(input, chunk), chunk, limit),
            limit,
        )
    }

    fn lines_of<R: Read>(mut r: ChunkReader<R>, limit: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Ok(piece) = r.next_piece(std::mem::take(&mut buf)).unwrap() {
            push_piece(piece, limit, &mut out, &mut buf);
        }
        out
    }

    fn push_piece(
        piece: Piece,
        limit: usize,
        out: &mut Vec<Result<Vec<u8>, u64>>,
        spare: &mut Vec<u8>,
    ) {
        match piece {
            Piece::Oversized(n) => out.push(Err(n)),
            Piece::Chunk { buf, len } => {
                for s in spans(&buf[..len]) {
                    // The limit is on the line without its newline.
                    let raw = buf[s.start..s.next]
                        .strip_suffix(b"\n")
                        .unwrap_or(&buf[s.start..s.next]);
                    out.push(if raw.len() > limit {
                        Err(raw.len() as u64)
                    } else {
                        Ok(buf[s.start..s.end].to_vec())
                    });
                }
                *spare = buf;
            }
        }
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
    /// with one read for the whole input.
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

    /// A file being written, `step` bytes at a time, read live after each
    /// write; the unfinished line is taken when the writer is done.
    fn collect_live(input: &[u8], step: usize, limit: usize) -> Vec<Result<Vec<u8>, u64>> {
        use std::sync::{Arc, Mutex};
        /// Reads what has been written so far.
        struct Growing(Arc<Mutex<(Vec<u8>, usize)>>);
        impl Read for Growing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let mut g = self.0.lock().unwrap();
                let (data, at) = &mut *g;
                let n = (data.len() - *at).min(buf.len());
                buf[..n].copy_from_slice(&data[*at..*at + n]);
                *at += n;
                Ok(n)
            }
        }
        let shared = Arc::new(Mutex::new((Vec::new(), 0)));
        let mut r = ChunkReader::live(Growing(shared.clone()), 16, limit);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for part in input.chunks(step.max(1)) {
            shared.lock().unwrap().0.extend_from_slice(part);
            while let Ok(piece) = r.next_piece(std::mem::take(&mut buf)).unwrap() {
                if let Piece::Chunk { buf, len } = &piece {
                    assert!(buf[..*len].ends_with(b"\n"), "live chunks hold whole lines");
                }
                push_piece(piece, limit, &mut out, &mut buf);
            }
        }
        if let Some(piece) = r.unfinished() {
            push_piece(piece, limit, &mut out, &mut buf);
        }
        assert!(!r.holds_unfinished());
        out
    }

    #[test]
    fn a_live_reader_gives_the_same_lines_as_written_in_any_steps() {
        let mut input = Vec::new();
        for i in 0..120 {
            input.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 41));
            input.extend_from_slice(if i % 7 == 0 { b"\r\n" } else { b"\n" });
        }
        input.extend(std::iter::repeat_n(b'x', 1000));
        input.extend_from_slice(b"\nlast unfinished");
        let want = collect(&input, 7, 100);
        assert_eq!(want.last(), Some(&Ok(b"last unfinished".to_vec())));
        assert!(want.contains(&Err(1000)));
        for step in [1, 3, 16, 99, 5000] {
            assert_eq!(collect_live(&input, step, 100), want, "step {step}");
        }
    }

    #[test]
    fn a_live_reader_holds_the_unfinished_line_until_its_newline() {
        let mut r = ChunkReader::live(Chunked(b"one\ntw", 100), 1 << 10, 100);
        let Ok(Ok(Piece::Chunk { buf, len })) = r.next_piece(Vec::new()) else {
            panic!("the whole line first");
        };
        assert_eq!(&buf[..len], b"one\n");
        assert!(matches!(r.next_piece(buf), Ok(Err(_))));
        assert!(r.holds_unfinished());
        assert_eq!(r.bytes_read(), 6);
        r.restart();
        assert!(!r.holds_unfinished());
        assert_eq!(r.bytes_read(), 0);
    }

    #[test]
    fn a_live_reader_skips_an_oversized_line_across_reads() {
        let mut r = ChunkReader::live(Chunked(&[b'z'; 300], 50), 16, 100);
        // Nothing to hand out while the long line is being written.
        assert!(matches!(r.next_piece(Vec::new()), Ok(Err(_))));
        assert!(r.holds_unfinished());
        assert_eq!(r.held_bytes(), 0);
        assert_eq!(r.unfinished(), Some(Piece::Oversized(300)));
    }

    #[test]
    fn the_two_searches() {
        assert_eq!(whole_lines_end(b"a\nb\nc"), Some(4));
        assert_eq!(line_end(b"a\nb\nc"), Some(2));
        assert_eq!(whole_lines_end(b"abc"), None);
        assert_eq!(line_end(b""), None);
    }

    #[test]
    fn spans_point_at_the_text_and_the_next_line() {
        let chunk = b"ab\r\n\ncd";
        let got: Vec<Span> = spans(chunk).collect();
        assert_eq!(
            got,
            [
                Span {
                    start: 0,
                    end: 2,
                    next: 4
                },
                Span {
                    start: 4,
                    end: 4,
                    next: 5
                },
                Span {
                    start: 5,
                    end: 7,
                    next: 7
                },
            ]
        );
    }

    /// The spans of the plain search: a `memchr` call per line.
    fn plain_spans(chunk: &[u8]) -> Vec<Span> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < chunk.len() {
            let (raw_end, next) = match memchr::memchr(b'\n', &chunk[start..]) {
                Some(i) => (start + i, start + i + 1),
                None => (chunk.len(), chunk.len()),
            };
            let end = if raw_end > start && chunk[raw_end - 1] == b'\r' {
                raw_end - 1
            } else {
                raw_end
            };
            out.push(Span { start, end, next });
            start = next;
        }
        out
    }

    /// The searcher built once per chunk gives the spans the plain search
    /// does: lines of every length up to 300 bytes and some longer (each
    /// side of the searcher's 16- and 32-byte forms), mixed, `\r\n`
    /// endings, empty lines, a `\r` alone, no newline at the end.
    #[test]
    fn spans_match_the_plain_search() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = |n: u64| {
            crate::testing::xorshift(&mut seed);
            seed % n
        };
        let mut lens: Vec<usize> = (0..300).collect();
        lens.extend([511, 512, 513, 1000]);
        for round in 0..400 {
            let mut chunk = Vec::new();
            let lines = 1 + rand(40);
            for _ in 0..lines {
                let n = if round < lens.len() {
                    lens[round]
                } else {
                    lens[rand(lens.len() as u64) as usize]
                };
                chunk.extend((0..n).map(|i| b'a' + (i % 26) as u8));
                match rand(6) {
                    0 => chunk.extend_from_slice(b"\r\n"),
                    1 => chunk.extend_from_slice(b"\n\n"),
                    2 => chunk.push(b'\r'),
                    _ => chunk.push(b'\n'),
                }
            }
            if rand(2) == 0 {
                chunk.pop();
            }
            for cut in [
                chunk.len(),
                chunk.len().saturating_sub(1 + rand(70) as usize),
            ] {
                let c = &chunk[..cut];
                assert_eq!(
                    spans(c).collect::<Vec<_>>(),
                    plain_spans(c),
                    "round {round}"
                );
            }
        }
        assert_eq!(spans(b"").count(), 0);
        let newlines = vec![b'\n'; 200];
        assert_eq!(spans(&newlines).collect::<Vec<_>>(), plain_spans(&newlines));
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
