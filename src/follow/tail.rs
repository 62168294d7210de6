//! Following one path across rotation, like `tail -F`, by short polling.
//!
//! A [`Tail`] holds the open file of its path and hands out complete lines
//! only: the bytes after the last newline are held until their newline
//! arrives. Every poll it reads what was appended, then compares the file
//! it has open with what the path names now:
//!
//! - the path names another file (rename rotation with `create`, delete and
//!   recreate): the old file is read to its end first, then the new one is
//!   read from its start. The old file stays open for a grace period
//!   ([`GRACE`]) and whatever its writer still appends (nginx writes to the
//!   old file until it gets SIGUSR1) is read too;
//! - the file is shorter than what was read (copytruncate): read again
//!   from its start;
//! - the path is gone: keep reading the open file (its writer may still
//!   have it open) and wait for a new one;
//! - the path did not exist yet: open it, from its start, once it appears.
//!
//! Files are identified by device and inode (Unix).

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::input::lines::{self, ChunkReader, MAX_LINE};

/// How long a rotated-away file is still read after it stops growing.
pub const GRACE: Duration = Duration::from_secs(10);

/// Most rotated-away files read at once per path.
const MAX_DRAINING: usize = 4;

/// Size of one read.
const READ_SIZE: usize = 256 * 1024;

/// What a tail hands to its consumer, in file order.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Complete lines; the last one lacks its newline only when a file was
    /// left for good with a line unfinished.
    Lines(&'a [u8]),
    /// A line longer than [`MAX_LINE`], skipped without being held.
    Oversized,
}

/// Receives the pieces of one tail.
pub type Sink<'s> = dyn FnMut(Piece<'_>) + 's;

/// What happened during one poll.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Polled {
    /// Bytes read.
    pub bytes: u64,
    /// The read budget ran out with more to read: poll again at once.
    pub more: bool,
}

/// The identity of a file.
#[cfg(unix)]
fn file_id(m: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// The identity of a file (no inodes: rename rotation is not detected).
#[cfg(not(unix))]
fn file_id(_: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// One open file, read through the line cutter, which holds its
/// unfinished last line.
struct Reader {
    chunks: ChunkReader<File>,
    id: (u64, u64),
    /// Where in the file the cutter started reading.
    start: u64,
    /// A buffer handed back by the cutter, for the next read.
    spare: Vec<u8>,
}

impl Reader {
    /// Opens the regular file at `path`, never blocking: a FIFO or device
    /// that took the path's place is refused, not waited on.
    fn open(path: &Path) -> io::Result<Reader> {
        let file = crate::input::source::open_regular(path)?;
        let meta = file.metadata()?;
        Ok(Reader {
            id: file_id(&meta),
            chunks: ChunkReader::live(file, READ_SIZE, MAX_LINE),
            start: 0,
            spare: Vec::new(),
        })
    }

    /// Bytes of the file consumed (read) so far.
    fn offset(&self) -> u64 {
        self.start + self.chunks.bytes_read()
    }

    /// Reads on from `at` in the file, forgetting what was held.
    fn restart_at(&mut self, at: u64) -> io::Result<()> {
        self.chunks.get_mut().seek(SeekFrom::Start(at))?;
        self.chunks.restart();
        self.start = at;
        Ok(())
    }

    /// Positions the reader at the end of the file, keeping the line in
    /// progress (the bytes after the last newline) as the start of the next
    /// line: lines that end after following began are counted.
    fn seek_to_end(&mut self) -> io::Result<()> {
        let file = self.chunks.get_mut();
        let len = file.metadata()?.len();
        let mut start = len;
        let mut buf = vec![0u8; 64 * 1024];
        // Look back for the last newline, at most one line length.
        let floor = len.saturating_sub(MAX_LINE as u64 + 1);
        let mut found = len == 0;
        while !found && start > floor {
            let from = start.saturating_sub(buf.len() as u64).max(floor);
            let n = (start - from) as usize;
            file.seek(SeekFrom::Start(from))?;
            file.read_exact(&mut buf[..n])?;
            match lines::whole_lines_end(&buf[..n]) {
                Some(e) => {
                    start = from + e as u64;
                    found = true;
                }
                None => start = from,
            }
        }
        if !found && start > 0 {
            // No newline within a line length: an oversized line is being
            // written; skip to its end.
            self.restart_at(len)?;
            self.chunks.restart_inside_oversized_line();
            return Ok(());
        }
        self.restart_at(start)
    }

    /// Reads what was appended, up to about `budget` bytes, handing out
    /// complete lines. Returns the bytes read and whether the end was
    /// reached.
    fn read_some(&mut self, budget: u64, sink: &mut Sink<'_>) -> io::Result<(u64, bool)> {
        let before = self.chunks.bytes_read();
        loop {
            let total = self.chunks.bytes_read() - before;
            if total >= budget {
                return Ok((total, false));
            }
            match self.chunks.next_piece(std::mem::take(&mut self.spare))? {
                Err(buf) => {
                    self.spare = buf;
                    return Ok((self.chunks.bytes_read() - before, true));
                }
                Ok(lines::Piece::Chunk { buf, len }) => {
                    sink(Piece::Lines(&buf[..len]));
                    self.spare = buf;
                }
                Ok(lines::Piece::Oversized(_)) => sink(Piece::Oversized),
            }
        }
    }

    /// The file is left for good: its unfinished line counts as a line.
    fn finish(&mut self, sink: &mut Sink<'_>) {
        match self.chunks.unfinished() {
            Some(lines::Piece::Chunk { buf, len }) => sink(Piece::Lines(&buf[..len])),
            Some(lines::Piece::Oversized(_)) => sink(Piece::Oversized),
            None => {}
        }
    }
}

/// A rotated-away file still being read.
struct Draining {
    reader: Reader,
    last_data: Instant,
}

/// One followed path.
pub struct Tail {
    path: PathBuf,
    current: Option<Reader>,
    draining: Vec<Draining>,
    /// Rotations seen (rename, truncation, delete and recreate).
    pub rotations: u64,
    /// Why the path cannot be read right now (`None` when it is open).
    pub error: Option<String>,
    /// The error last told to the user, so each is told once.
    told: Option<String>,
    /// The file exists but could not be opened at start: once it can be,
    /// start at its end all the same.
    seek_end_on_open: bool,
}

impl Tail {
    /// Starts following `path`: from its end, or its start with
    /// `from_start`. A path that does not exist yet is waited for.
    pub fn new(path: PathBuf, from_start: bool) -> Tail {
        let mut t = Tail {
            path,
            current: None,
            draining: Vec::new(),
            rotations: 0,
            error: None,
            told: None,
            seek_end_on_open: false,
        };
        match Reader::open(&t.path) {
            Ok(mut r) => {
                let positioned = if from_start { Ok(()) } else { r.seek_to_end() };
                match positioned {
                    Ok(()) => t.current = Some(r),
                    Err(e) => t.error = Some(describe(&e)),
                }
            }
            Err(e) => {
                t.seek_end_on_open = !from_start && e.kind() != io::ErrorKind::NotFound;
                t.error = Some(describe(&e));
            }
        }
        t
    }

    /// True while a file is open for the path.
    pub fn is_open(&self) -> bool {
        self.current.is_some()
    }

    /// An error not told yet (each distinct one is told once).
    pub fn untold_error(&mut self) -> Option<String> {
        if self.error != self.told {
            self.told.clone_from(&self.error);
            return self.error.clone();
        }
        None
    }

    /// Reads what was appended (about `budget` bytes at most per file) and
    /// follows rotation; `sink` gets complete lines in order.
    pub fn poll(&mut self, budget: u64, now: Instant, sink: &mut Sink<'_>) -> Polled {
        let mut polled = Polled::default();
        // What a rotated-away file's writer still appended comes first.
        for d in &mut self.draining {
            if let Ok((n, eof)) = d.reader.read_some(budget, sink) {
                polled.bytes += n;
                polled.more |= !eof;
                if n > 0 {
                    d.last_data = now;
                }
            }
        }
        self.draining.retain_mut(|d| {
            let keep = now.duration_since(d.last_data) < GRACE;
            if !keep {
                d.reader.finish(sink);
            }
            keep
        });

        if self.current.is_none() {
            // Not there yet, or gone after a rotation: a file that appears
            // now is new, read from its start.
            let opened = Reader::open(&self.path).and_then(|mut r| {
                if std::mem::take(&mut self.seek_end_on_open) {
                    r.seek_to_end()?;
                }
                Ok(r)
            });
            match opened {
                Ok(r) => {
                    self.current = Some(r);
                    self.error = None;
                }
                Err(e) => {
                    self.error = Some(describe(&e));
                    return polled;
                }
            }
        }
        let Some(r) = &mut self.current else {
            return polled;
        };
        match r.read_some(budget, sink) {
            Ok((n, eof)) => {
                polled.bytes += n;
                polled.more |= !eof;
            }
            Err(e) => {
                self.error = Some(describe(&e));
                return polled;
            }
        }
        if polled.more {
            return polled; // rotation is looked at once caught up
        }
        // copytruncate: the file is now shorter than what was read.
        if r.chunks
            .get_ref()
            .metadata()
            .is_ok_and(|m| m.len() < r.offset())
        {
            self.rotations += 1;
            r.finish(sink);
            if r.restart_at(0).is_ok() {
                if let Ok((n, eof)) = r.read_some(budget, sink) {
                    polled.bytes += n;
                    polled.more |= !eof;
                }
            }
            return polled;
        }
        // Rename or delete and recreate: the path names another file.
        let replaced = match std::fs::metadata(&self.path) {
            Ok(m) => file_id(&m) != r.id && !m.is_dir(),
            Err(_) => false, // gone: keep reading the open file, wait
        };
        if !replaced {
            return polled;
        }
        let Some(mut old) = self.current.take() else {
            return polled;
        };
        self.rotations += 1;
        // The rest of the old file before anything of the new one.
        if let Ok((n, _)) = old.read_some(u64::MAX, sink) {
            polled.bytes += n;
        }
        if self.draining.len() >= MAX_DRAINING {
            let mut oldest = self.draining.remove(0);
            oldest.reader.finish(sink);
        }
        self.draining.push(Draining {
            reader: old,
            last_data: now,
        });
        match Reader::open(&self.path) {
            Ok(mut r) => {
                self.error = None;
                if let Ok((n, eof)) = r.read_some(budget, sink) {
                    polled.bytes += n;
                    polled.more |= !eof;
                }
                self.current = Some(r);
            }
            Err(e) => self.error = Some(describe(&e)),
        }
        polled
    }

    /// Stops following: every open file is closed; unfinished lines are
    /// dropped (their writer may still be writing them).
    pub fn close(&mut self) {
        self.current = None;
        self.draining.clear();
    }
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory (waiting for it)".to_string(),
        _ => crate::error::describe_io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Collects what a tail hands out, as text with `|` between pieces and
    /// `#` for an oversized line.
    fn poll(t: &mut Tail, now: Instant) -> String {
        let mut out = String::new();
        t.poll(u64::MAX, now, &mut |p| match p {
            Piece::Lines(b) => {
                out.push_str(&String::from_utf8_lossy(b));
                out.push('|');
            }
            Piece::Oversized => out.push('#'),
        });
        out
    }

    fn append(path: &std::path::Path, s: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(s).unwrap();
    }

    #[test]
    fn starts_at_the_end_keeping_the_line_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        append(&p, b"old 1\nold 2\nhalf");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        assert_eq!(poll(&mut t, now), "");
        append(&p, b" done\nnew\npart");
        assert_eq!(poll(&mut t, now), "half done\nnew\n|");
        append(&p, b"ial\n");
        assert_eq!(poll(&mut t, now), "partial\n|");
        let mut t = Tail::new(p.clone(), true);
        assert_eq!(
            poll(&mut t, now),
            "old 1\nold 2\nhalf done\nnew\npartial\n|"
        );
    }

    #[test]
    fn rename_rotation_reads_the_old_file_to_its_end_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        append(&p, b"");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        append(&p, b"a\n");
        assert_eq!(poll(&mut t, now), "a\n|");
        append(&p, b"b\nunfin");
        std::fs::rename(&p, dir.path().join("e.log.1")).unwrap();
        // Gone: the open file is kept.
        assert_eq!(poll(&mut t, now), "b\n|");
        append(&dir.path().join("e.log.1"), b"ished\nc\n");
        append(&p, b"d\n");
        assert_eq!(poll(&mut t, now), "unfinished\nc\n|d\n|");
        assert_eq!(t.rotations, 1);
        // The old file's writer still appends during the grace period.
        append(&dir.path().join("e.log.1"), b"late\nhalf");
        append(&p, b"e\n");
        assert_eq!(poll(&mut t, now), "late\n|e\n|");
        // After it, its unfinished line counts and it is closed.
        assert_eq!(poll(&mut t, now + GRACE), "half|");
        append(&dir.path().join("e.log.1"), b"lost\n");
        assert_eq!(poll(&mut t, now + GRACE * 2), "");
    }

    #[test]
    fn copytruncate_reads_from_the_start_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        append(&p, b"x\n");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        append(&p, b"aaaa\nbbbb\n");
        assert_eq!(poll(&mut t, now), "aaaa\nbbbb\n|");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&p, b"c\n");
        assert_eq!(poll(&mut t, now), "c\n|");
        assert_eq!(t.rotations, 1);
    }

    #[test]
    fn waits_for_a_missing_file_and_follows_delete_and_recreate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        assert!(!t.is_open());
        assert!(t.untold_error().unwrap().contains("no such file"));
        assert_eq!(t.untold_error(), None);
        assert_eq!(poll(&mut t, now), "");
        append(&p, b"first\n");
        assert_eq!(poll(&mut t, now), "first\n|");
        assert!(t.is_open());
        std::fs::remove_file(&p).unwrap();
        assert_eq!(poll(&mut t, now), "");
        append(&p, b"again\n");
        assert_eq!(poll(&mut t, now), "again\n|");
        assert_eq!(t.rotations, 1);
    }

    #[test]
    fn oversized_lines_are_skipped_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        append(&p, b"");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        let big = vec![b'x'; MAX_LINE + 10];
        append(&p, b"a\n");
        append(&p, &big);
        assert_eq!(poll(&mut t, now), "a\n|");
        assert_eq!(t.current.as_ref().unwrap().chunks.held_bytes(), 0);
        append(&p, b"xx\nb\n");
        assert_eq!(poll(&mut t, now), "#b\n|");
    }

    #[test]
    fn budget_limits_one_poll() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        let line = [b'y'; 99];
        let mut data = Vec::new();
        for _ in 0..10_000 {
            data.extend_from_slice(&line);
            data.push(b'\n');
        }
        append(&p, &data);
        let mut t = Tail::new(p.clone(), true);
        let mut got = 0usize;
        let mut polls = 0;
        loop {
            polls += 1;
            let r = t.poll(READ_SIZE as u64, Instant::now(), &mut |p| {
                if let Piece::Lines(b) = p {
                    got += b.len();
                }
            });
            if !r.more {
                break;
            }
            assert!(polls < 100);
        }
        assert_eq!(got, data.len());
        assert!(polls > 1);
    }
}
