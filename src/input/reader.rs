//! The reader thread: opens each input in turn and cuts it into chunks of
//! whole lines.
//!
//! A regular file of text stored as it reads is mapped whole
//! ([`super::mapped`]) and its chunks are read in place, which saves the
//! copy out of the page cache; a chunk the file was cut short under says
//! so ([`ChunkBytes::lines_left`]), and the ordered stage scans again only
//! its lines before the cut. Anything else (stdin, pipes, compressed
//! files, a line no chunk could hold, a file's last line without its
//! newline, lines written after it was mapped) is read into pool buffers.
//! No lease is taken: a writer never waits for us.
//!
//! Everything it produces goes to an [`Outlet`], numbered in input order:
//! chunks for the scanning workers, everything else ([`Item`]) for the
//! ordered stage. The pool of buffers bounds the chunks in flight (a
//! mapped chunk carries an empty one), and so memory.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use super::lines::{ChunkReader, MAX_LINE, Piece};
use super::mapped::MappedFile;
use super::progress::Progress;
use super::source::{self, InputSpec};

/// The bytes of a chunk of whole lines: a pool buffer the reader filled
/// (or a mapped piece of the file, with an empty pool buffer along), the
/// length of its lines, and the index of its input.
pub struct ChunkBytes {
    buf: Vec<u8>,
    len: usize,
    input: usize,
    /// A chunk read in place: the file, and where the chunk is in it.
    mapped: Option<(Arc<MappedFile>, usize, usize)>,
}

impl ChunkBytes {
    /// The index of its input in the inputs read.
    pub fn input(&self) -> usize {
        self.input
    }

    /// The chunk's lines.
    pub fn bytes(&self) -> &[u8] {
        match &self.mapped {
            Some((file, from, to)) => file.bytes(*from, *to),
            None => &self.buf[..self.len],
        }
    }

    /// The chunk's whole lines before the cut, when the file was cut short
    /// under it: the lines the file still holds, which a scan of the
    /// chunk is to be made of instead. `None` when it was not cut.
    pub fn lines_left(&self) -> Option<&[u8]> {
        let (file, from, to) = self.mapped.as_ref()?;
        let cut = file.cut_from().filter(|cut| cut < to)?;
        let bytes = file.bytes(*from, cut.max(*from));
        let end = memchr::memrchr(b'\n', bytes).map_or(0, |i| i + 1);
        Some(&bytes[..end])
    }

    /// Gives the pool its buffer back, and a file read in place the pages
    /// before the chunk's end (chunks are released in input order).
    pub fn release(self, pool: &Sender<Vec<u8>>) {
        if let Some((file, _, to)) = &self.mapped {
            file.read_to(*to);
        }
        let _ = pool.send(self.buf);
    }
}

/// What the reader hands on besides chunks, in input order.
pub enum Item {
    /// An input starts (named as the user named it), with its index in
    /// the inputs read.
    Begin(String, usize),
    /// A line over the length limit, skipped.
    Oversized,
    /// The current input ends; with the error that ended it early.
    End(Option<io::Error>),
    /// An input that could not be opened.
    OpenFailed(String, io::Error),
}

/// Where the reader's output goes. Every call carries the next number in
/// input order.
pub trait Outlet {
    /// A chunk, for a worker; false once nobody takes chunks any more.
    fn chunk(&self, seq: u64, chunk: ChunkBytes) -> bool;
    /// Anything else, for the ordered stage.
    fn item(&self, seq: u64, item: Item);
}

/// How the reader cuts and buffers.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Buffers in circulation, at most.
    pub max_buffers: usize,
    /// Bytes per chunk, about.
    pub chunk_size: usize,
}

/// Buffers for the reader: taken from those given back, or new up to a
/// limit, which bounds memory and the chunks in flight.
struct Pool {
    free: Receiver<Vec<u8>>,
    /// One taken and put back unused.
    spare: Option<Vec<u8>>,
    allocated: usize,
    max: usize,
}

impl Pool {
    /// A buffer; `None` when the consumer is gone.
    fn take(&mut self) -> Option<Vec<u8>> {
        if let Some(b) = self.spare.take() {
            return Some(b);
        }
        match self.free.try_recv() {
            Ok(b) => Some(b),
            Err(_) if self.allocated < self.max => {
                self.allocated += 1;
                Some(Vec::new())
            }
            Err(_) => self.free.recv().ok(),
        }
    }

    /// A buffer taken and not used, for the next [`Pool::take`].
    fn put_back(&mut self, buf: Vec<u8>) {
        self.spare = Some(buf);
    }

    /// A buffer that will not come back.
    fn forget(&mut self) {
        self.allocated -= 1;
    }
}

/// The chunk size for an input of `size` bytes: `chunk_size`, or for an
/// input of a few chunks, an eighth of it (never under 64 KiB), so that the
/// workers and the ordered stage overlap on a small file as on a large
/// one instead of taking one or two chunks in turn. Reports do not depend
/// on where chunks end.
fn small_input_chunk(size: u64, chunk_size: usize) -> usize {
    usize::try_from(size / 8)
        .unwrap_or(usize::MAX)
        .clamp(64 << 10, chunk_size.max(64 << 10))
}

/// Below this, chunks are not made smaller (see [`piece_target`]).
const SMALLEST_PIECE: usize = 64 << 10;

/// The chunk size for the next piece of an input cut in chunks of
/// `chunk`, after `read` bytes of it, with `left` bytes of it still
/// stored (when its size is known). A piece is no larger than what was
/// read before it, so that the first worker starts on a small read
/// instead of waiting for a whole chunk to be copied in and the second
/// one soon after (64, 128, 320 KiB read, then whole chunks); and none is
/// larger than a quarter of what is left, so that near the end the
/// workers finish together and the ordered stage has a small last chunk
/// to take, instead of one worker scanning a whole last chunk while the
/// other waits. Never under [`SMALLEST_PIECE`] (or `chunk`, if smaller).
/// Reports do not depend on where chunks end.
fn piece_target(chunk: usize, read: u64, left: Option<u64>) -> usize {
    let up = usize::try_from(read).unwrap_or(usize::MAX);
    let down = left.map_or(usize::MAX, |l| usize::try_from(l / 4).unwrap_or(usize::MAX));
    chunk
        .min(up.max(SMALLEST_PIECE))
        .min(down.max(SMALLEST_PIECE))
}

/// How mapping an input's pieces ended.
enum Mapped {
    /// Every line was handed on.
    Done,
    /// Nobody takes chunks any more.
    Gone,
    /// The rest, from this byte on, is to be read.
    ReadFrom(u64),
}

/// Where mapped pieces go, and what they count on the way.
struct Pieces<'a, O> {
    pool: &'a mut Pool,
    out: &'a O,
    seq: &'a mut u64,
    index: usize,
    /// The run's chunk size.
    chunk_size: usize,
    stored: &'a AtomicU64,
    progress: Option<&'a Progress>,
}

impl<O: Outlet> Pieces<'_, O> {
    /// Hands on `file` from byte `skip` (past a byte-order mark) in chunks
    /// of whole lines read in place, cut where
    /// [`piece_target`] says as when it is read, up to its end as it was
    /// when mapped; from where it cannot be mapped, a chunk cannot end on
    /// a newline (a line longer than [`MAX_LINE`], a last line without its
    /// newline), or the file has grown since, it is read instead.
    fn map_all(&mut self, file: &File, skip: u64) -> Mapped {
        let size = match file.metadata() {
            Ok(m) => m.len(),
            Err(_) => return Mapped::ReadFrom(skip),
        };
        let map = match MappedFile::map(file, size) {
            Ok(Some(map)) if map.size() as u64 >= skip => Arc::new(map),
            _ => return Mapped::ReadFrom(skip),
        };
        // Twice the chunk of a read: a mapped chunk takes no buffer, only
        // its pages while it is in flight, and fewer chunks mean fewer
        // hand-offs between threads.
        let chunk = small_input_chunk(size, 2 * self.chunk_size);
        let mut at = skip as usize;
        while at < map.size() {
            let left = map.size() - at;
            let target = piece_target(chunk, at as u64, Some(left as u64));
            // A buffer first: pages are mapped in only for a chunk that can
            // go out now, which keeps the mapped pages resident no more
            // than the buffers in circulation.
            let Some(buf) = self.pool.take() else {
                return Mapped::Gone;
            };
            let Some(end) = line_end(&map, at, target.min(left)) else {
                self.pool.put_back(buf);
                return Mapped::ReadFrom(at as u64);
            };
            self.stored.store(end as u64, Ordering::Relaxed);
            if let Some(p) = self.progress {
                p.input_position(end as u64);
            }
            let chunk = ChunkBytes {
                buf,
                len: 0,
                input: self.index,
                mapped: Some((map.clone(), at, end)),
            };
            if !self.out.chunk(*self.seq, chunk) {
                return Mapped::Gone;
            }
            *self.seq += 1;
            at = end;
        }
        // Lines written since it was mapped are read.
        match file.metadata() {
            Ok(m) if m.len() > at as u64 => Mapped::ReadFrom(at as u64),
            _ => Mapped::Done,
        }
    }
}

/// Where a chunk of `map` from `at` of about `want` bytes ends: after its
/// last newline, its pages mapped in. A chunk without a newline is looked
/// at again up to [`MAX_LINE`] bytes further, to take a long line whole.
/// `None` when none ends on a newline there, or when the file was cut
/// short under it.
fn line_end(map: &MappedFile, at: usize, want: usize) -> Option<usize> {
    let mut want = want;
    loop {
        map.populate(at, at + want);
        let found = memchr::memrchr(b'\n', map.bytes(at, at + want));
        if map.cut_from().is_some_and(|cut| cut < at + want) {
            return None;
        }
        match found {
            Some(i) => return Some(at + i + 1),
            None if at + want < map.size() && want <= MAX_LINE => {
                want = (map.size() - at).min(want + MAX_LINE + 1);
            }
            None => return None,
        }
    }
}

/// `file` read on from byte `at`, its bytes counted into `stored`.
fn read_from(
    mut file: File,
    at: u64,
    stored: &Arc<AtomicU64>,
) -> io::Result<Box<dyn io::Read + Send>> {
    use std::io::Seek;
    file.seek(io::SeekFrom::Start(at))?;
    Ok(source::counted(Box::new(file), Some(stored.clone())))
}

/// The reader thread: opens each input in turn and cuts it into chunks.
/// The buffers come back through `free`.
pub fn read_inputs(
    inputs: &[InputSpec],
    opts: ReadOptions,
    progress: Option<&Progress>,
    out: &impl Outlet,
    free: Receiver<Vec<u8>>,
) {
    let ReadOptions {
        max_buffers,
        chunk_size,
    } = opts;
    let mut seq = 0u64;
    let mut pool = Pool {
        free,
        spare: None,
        allocated: 0,
        max: max_buffers,
    };
    let send = |item: Item, seq: &mut u64| {
        out.item(*seq, item);
        *seq += 1;
    };
    for (index, spec) in inputs.iter().enumerate() {
        let name = spec.display_name();
        let stored = Arc::new(AtomicU64::new(0));
        if let Some(p) = progress {
            p.start_input(&name);
        }
        // Bytes as stored are counted for the progress bar and for the
        // chunk sizes near the end of the input (one relaxed addition per
        // read).
        let opened = match source::open_plain(spec) {
            Some((file, skip)) => {
                send(Item::Begin(name, index), &mut seq);
                let mut pieces = Pieces {
                    pool: &mut pool,
                    out,
                    seq: &mut seq,
                    index,
                    chunk_size,
                    stored: &stored,
                    progress,
                };
                match pieces.map_all(&file, skip) {
                    Mapped::Done => {
                        send(Item::End(None), &mut seq);
                        continue;
                    }
                    Mapped::Gone => return,
                    Mapped::ReadFrom(at) => match read_from(file, at, &stored) {
                        Ok(r) => r,
                        Err(e) => {
                            send(Item::End(Some(e)), &mut seq);
                            continue;
                        }
                    },
                }
            }
            None => match source::open_counted(spec, Some(stored.clone())) {
                Ok(r) => {
                    send(Item::Begin(name, index), &mut seq);
                    r
                }
                Err(e) => {
                    send(Item::OpenFailed(name, e), &mut seq);
                    continue;
                }
            },
        };
        let size = source::size_on_disk(spec);
        let chunk = size.map_or(chunk_size, |size| small_input_chunk(size, chunk_size));
        let mut chunks = ChunkReader::with_sizes(opened, chunk, MAX_LINE);
        let error = loop {
            let Some(buf) = pool.take() else { return };
            let left = size.map(|s| s.saturating_sub(stored.load(Ordering::Relaxed)));
            chunks.set_target(piece_target(chunk, chunks.bytes_read(), left));
            let piece = chunks.next_piece(buf);
            if let Some(p) = progress {
                p.input_position(stored.load(Ordering::Relaxed));
            }
            match piece {
                Ok(Ok(Piece::Chunk { buf, len })) => {
                    let chunk = ChunkBytes {
                        buf,
                        len,
                        input: index,
                        mapped: None,
                    };
                    if !out.chunk(seq, chunk) {
                        return;
                    }
                    seq += 1;
                }
                Ok(Ok(Piece::Oversized(_))) => {
                    pool.forget(); // the buffer was only scratch; let it go
                    send(Item::Oversized, &mut seq);
                }
                Ok(Err(unused)) => {
                    drop(unused);
                    pool.forget();
                    break None;
                }
                Err(e) => {
                    pool.forget();
                    break Some(e);
                }
            }
        };
        send(Item::End(error), &mut seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of a few chunks is cut in eighths, never below 64 KiB; a
    /// large one keeps the run's chunk size.
    #[test]
    fn small_inputs_get_smaller_chunks() {
        let run = 512 << 10;
        assert_eq!(small_input_chunk(1_000_000, run), 125_000);
        assert_eq!(small_input_chunk(10_000, run), 64 << 10);
        assert_eq!(small_input_chunk(0, run), 64 << 10);
        assert_eq!(small_input_chunk(4 << 20, run), run);
        assert_eq!(small_input_chunk(64 << 30, run), run);
        assert_eq!(small_input_chunk(u64::MAX, run), run);
        // Never under 64 KiB, whatever the run's size (no panic either).
        assert_eq!(small_input_chunk(64 << 30, 32 << 10), 64 << 10);
    }

    /// Pieces grow from 64 KiB to the chunk size as the input is read,
    /// and shrink again to a quarter of what is left near its end.
    #[test]
    fn pieces_start_and_end_small() {
        let chunk = 512 << 10;
        let size: u64 = 64 << 20;
        assert_eq!(piece_target(chunk, 0, Some(size)), 64 << 10);
        assert_eq!(piece_target(chunk, 128 << 10, Some(size)), 128 << 10);
        assert_eq!(piece_target(chunk, 320 << 10, Some(size)), 320 << 10);
        assert_eq!(piece_target(chunk, 1 << 20, Some(size)), chunk);
        assert_eq!(piece_target(chunk, 1 << 20, None), chunk);
        assert_eq!(piece_target(chunk, 32 << 20, Some(1 << 20)), 256 << 10);
        assert_eq!(piece_target(chunk, 32 << 20, Some(100)), 64 << 10);
        assert_eq!(piece_target(chunk, 32 << 20, Some(0)), 64 << 10);
        // A chunk size under 64 KiB is kept.
        assert_eq!(piece_target(4 << 10, 0, Some(size)), 4 << 10);
        assert_eq!(piece_target(4 << 10, u64::MAX, Some(u64::MAX)), 4 << 10);
    }

    /// Reads `spec` into `out` in chunks of 512 KiB. Buffers are never
    /// given back: the pool makes as many as it may.
    fn read_all(spec: InputSpec, out: &impl Outlet) {
        let (tx, rx) = std::sync::mpsc::channel();
        drop(tx);
        let opts = ReadOptions {
            max_buffers: usize::MAX,
            chunk_size: 512 << 10,
        };
        read_inputs(&[spec], opts, None, out, rx);
    }

    /// Collects what [`read_inputs`] hands out.
    struct Collect(std::sync::Mutex<Vec<(u64, Vec<u8>)>>);

    impl Outlet for Collect {
        fn chunk(&self, seq: u64, chunk: ChunkBytes) -> bool {
            self.0.lock().unwrap().push((seq, chunk.bytes().to_vec()));
            true
        }
        fn item(&self, _: u64, _: Item) {}
    }

    /// What [`read_inputs`] hands out, in order: chunks' bytes, and an
    /// empty entry for each oversized line.
    #[derive(Default)]
    struct Everything(std::sync::Mutex<Vec<(u64, Option<Vec<u8>>)>>);

    impl Outlet for Everything {
        fn chunk(&self, seq: u64, chunk: ChunkBytes) -> bool {
            let bytes = chunk.bytes().to_vec();
            self.0.lock().unwrap().push((seq, Some(bytes)));
            true
        }
        fn item(&self, seq: u64, item: Item) {
            match item {
                Item::Oversized => self.0.lock().unwrap().push((seq, None)),
                Item::End(Some(e)) => panic!("{e}"),
                _ => {}
            }
        }
    }

    /// The lines of `spec` as [`read_inputs`] hands them out, whole lines
    /// run together, `None` for an oversized line.
    fn lines_of(spec: InputSpec) -> Vec<Option<Vec<u8>>> {
        let out = Everything::default();
        read_all(spec, &out);
        let mut items = out.0.into_inner().unwrap();
        items.sort_by_key(|(seq, _)| *seq);
        let mut lines = Vec::new();
        for (_, item) in items {
            match item {
                Some(bytes) => {
                    lines.extend(
                        bytes
                            .split_inclusive(|&b| b == b'\n')
                            .map(|l| Some(l.to_vec())),
                    );
                }
                None => lines.push(None),
            }
        }
        lines
    }

    /// A file read in place hands out the lines that reading it hands
    /// out, oversized lines and a last line without its newline included:
    /// each text is read as a plain file (mapped) and gzipped (read).
    #[test]
    fn mapped_files_are_read_as_read_files() {
        use std::io::Write;
        let long = |n: usize| {
            let mut l = vec![b'y'; n];
            l.push(b'\n');
            l
        };
        let mut lines = Vec::new();
        for i in 0..30_000u32 {
            lines.extend_from_slice(
                format!("line {i} {}\n", "x".repeat(i as usize % 97)).as_bytes(),
            );
        }
        let texts: Vec<Vec<u8>> = vec![
            b"one\ntwo\nno newline at the end".to_vec(),
            b"\n".to_vec(),
            b"\xef\xbb\xbfa byte-order mark first\nsecond\n".to_vec(),
            b"only a line without newline".to_vec(),
            [&lines[..], &long(700 << 10), &lines[..]].concat(),
            [&lines[..], &long(MAX_LINE + 5000), &lines[..], b"tail"].concat(),
            [&long(MAX_LINE * 3)[..], &lines[..]].concat(),
            [&lines[..], &long(MAX_LINE - 1)[..]].concat(),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (i, text) in texts.iter().enumerate() {
            let plain = dir.path().join(format!("{i}.log"));
            std::fs::write(&plain, text).unwrap();
            let gz = dir.path().join(format!("{i}.log.gz"));
            let mut enc = flate2::write::GzEncoder::new(
                std::fs::File::create(&gz).unwrap(),
                Default::default(),
            );
            enc.write_all(text).unwrap();
            enc.finish().unwrap();
            let mapped = lines_of(InputSpec::Path(plain));
            let read = lines_of(InputSpec::Path(gz));
            assert_eq!(mapped.len(), read.len(), "text {i}");
            assert!(mapped == read, "text {i}");
        }
    }

    /// Chunks handed out before their file was cut short say so once the
    /// cut reaches them, and read as zeros past the new end instead of
    /// ending the process; the chunks before the cut do not, and the lines
    /// left of the chunks are the lines the file still holds.
    #[test]
    fn chunks_of_a_truncated_file_say_they_were_cut() {
        struct Hold(std::sync::Mutex<Vec<ChunkBytes>>);
        impl Outlet for Hold {
            fn chunk(&self, _: u64, chunk: ChunkBytes) -> bool {
                self.0.lock().unwrap().push(chunk);
                true
            }
            fn item(&self, _: u64, _: Item) {}
        }
        let mut text = Vec::new();
        let mut i = 0u64;
        while text.len() < 4 << 20 {
            text.extend_from_slice(format!("line {i}\n").as_bytes());
            i += 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, &text).unwrap();
        let out = Hold(Default::default());
        read_all(InputSpec::Path(p.clone()), &out);
        let chunks = out.0.into_inner().unwrap();
        assert!(chunks.len() > 4);
        assert!(chunks.iter().all(|c| c.lines_left().is_none()));
        let keep = 1 << 20;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(keep as u64)
            .unwrap();
        let mut at = 0;
        let mut left = Vec::new();
        for chunk in &chunks {
            let bytes = chunk.bytes();
            let end = at + bytes.len();
            if end <= keep {
                assert_eq!(bytes, &text[at..end]);
                assert_eq!(chunk.lines_left(), None);
                left.extend_from_slice(bytes);
            } else {
                // Past the new end, zeros (a scan touches them all).
                assert!(bytes[keep.saturating_sub(at)..].iter().all(|&b| b == 0));
                left.extend_from_slice(chunk.lines_left().unwrap());
            }
            at = end;
        }
        assert_eq!(at, text.len());
        // The lines left are the file's whole lines now, as reading it
        // would find them.
        let now = std::fs::read(&p).unwrap();
        let whole = memchr::memrchr(b'\n', &now).map_or(0, |i| i + 1);
        assert_eq!(left, &now[..whole]);
    }

    /// The chunks of a file, whatever their sizes, are its lines in order,
    /// each whole; the first is small, and so is the last.
    #[test]
    fn chunks_hold_the_whole_file_small_at_both_ends() {
        let mut text = Vec::new();
        let mut i = 0u64;
        while text.len() < 6 << 20 {
            text.extend_from_slice(
                format!("line {i} {}\n", "x".repeat((i % 300) as usize)).as_bytes(),
            );
            i += 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, &text).unwrap();
        let out = Collect(Default::default());
        read_all(InputSpec::Path(p), &out);
        let chunks = out.0.into_inner().unwrap();
        let whole: Vec<u8> = chunks.iter().flat_map(|(_, c)| c.clone()).collect();
        assert_eq!(whole, text);
        assert!(chunks.iter().all(|(_, c)| c.ends_with(b"\n")));
        let sizes: Vec<usize> = chunks.iter().map(|(_, c)| c.len()).collect();
        assert!(sizes[0] <= 128 << 10, "{sizes:?}");
        assert!(*sizes.last().unwrap() <= 128 << 10, "{sizes:?}");
        // The run's chunk size is reached (less a line at most).
        assert!(sizes.iter().any(|&s| s > (512 << 10) - 200), "{sizes:?}");
    }
}
