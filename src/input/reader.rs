//! The reader thread: opens each input in turn and cuts it into chunks of
//! whole lines, read into pool buffers.
//!
//! Files are read, never mapped. Scanning a mapping in place saved the
//! copy out of the page cache, but it cannot be made safe: a read lease
//! (which holds back writers and truncation while a mapped file is
//! scanned) is broken by the kernel after `lease-break-time` (45 s) if the
//! holder does not answer, and a process stopped with Ctrl-Z cannot answer,
//! so a truncation then ends it with SIGBUS and no report; and every
//! writer that opens the file (PHP's `error_log()` does, per line) waits
//! until the chunks in flight are done. With reads, a truncated file just
//! ends earlier and no writer ever waits for us.
//!
//! Everything it produces goes to an [`Outlet`], numbered in input order:
//! chunks for the scanning workers, everything else ([`Item`]) for the
//! ordered stage. The pool of buffers bounds the chunks in flight, and so
//! memory.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};

use super::lines::{ChunkReader, MAX_LINE, Piece};
use super::progress::Progress;
use super::source::{self, InputSpec};

/// The bytes of a chunk of whole lines: a pool buffer the reader filled,
/// the length of its lines, and the index of its input.
pub struct ChunkBytes(Vec<u8>, usize, usize);

impl ChunkBytes {
    /// The index of its input in the inputs read.
    pub fn input(&self) -> usize {
        self.2
    }

    /// The chunk's lines.
    pub fn bytes(&self) -> &[u8] {
        &self.0[..self.1]
    }

    /// Gives the pool its buffer back.
    pub fn release(self, pool: &Sender<Vec<u8>>) {
        let _ = pool.send(self.0);
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
    allocated: usize,
    max: usize,
}

impl Pool {
    /// A buffer; `None` when the consumer is gone.
    fn take(&mut self) -> Option<Vec<u8>> {
        match self.free.try_recv() {
            Ok(b) => Some(b),
            Err(_) if self.allocated < self.max => {
                self.allocated += 1;
                Some(Vec::new())
            }
            Err(_) => self.free.recv().ok(),
        }
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
        allocated: 0,
        max: max_buffers,
    };
    let send = |item: Item, seq: &mut u64| {
        out.item(*seq, item);
        *seq += 1;
    };
    for (index, spec) in inputs.iter().enumerate() {
        let name = spec.display_name();
        let stored = Arc::new(std::sync::atomic::AtomicU64::new(0));
        if let Some(p) = progress {
            p.start_input(&name);
        }
        // Bytes as stored are counted for the progress bar and for the
        // chunk sizes near the end of the input (one relaxed addition per
        // read).
        let opened = match source::open_counted(spec, Some(stored.clone())) {
            Ok(r) => {
                send(Item::Begin(name, index), &mut seq);
                r
            }
            Err(e) => {
                send(Item::OpenFailed(name, e), &mut seq);
                continue;
            }
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
                    if !out.chunk(seq, ChunkBytes(buf, len, index)) {
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

    /// Collects what [`read_inputs`] hands out.
    struct Collect(std::sync::Mutex<Vec<(u64, Vec<u8>)>>);

    impl Outlet for Collect {
        fn chunk(&self, seq: u64, chunk: ChunkBytes) -> bool {
            self.0.lock().unwrap().push((seq, chunk.bytes().to_vec()));
            true
        }
        fn item(&self, _: u64, _: Item) {}
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
        let (tx, rx) = std::sync::mpsc::channel();
        // Buffers are never given back: the pool makes as many as it may.
        drop(tx);
        let opts = ReadOptions {
            max_buffers: usize::MAX,
            chunk_size: 512 << 10,
        };
        read_inputs(&[InputSpec::Path(p)], opts, None, &out, rx);
        let chunks = out.0.into_inner().unwrap();
        let whole: Vec<u8> = chunks.iter().flat_map(|(_, c)| c.clone()).collect();
        assert_eq!(whole, text);
        assert!(chunks.iter().all(|(_, c)| c.ends_with(b"\n")));
        let sizes: Vec<usize> = chunks.iter().map(|(_, c)| c.len()).collect();
        assert!(sizes[0] <= 128 << 10, "{sizes:?}");
        assert!(*sizes.last().unwrap() <= 128 << 10, "{sizes:?}");
        assert!(sizes.iter().any(|&s| s > 512 << 10), "{sizes:?}");
    }
}
