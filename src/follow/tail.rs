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
//!   ([`CLOSE_INACTIVE`] by default) and whatever its writer still appends (nginx writes to the
//!   old file until it gets SIGUSR1) is read too;
//! - the file's content was replaced (copytruncate): it is shorter than
//!   what was read, or its first bytes ([`FINGERPRINT`] of them, compared
//!   every poll before reading) are no longer the ones read, which tells a
//!   file truncated and grown past the old offset within one poll; they
//!   are looked at again after every read, so that a read racing the
//!   truncation (new content read from the old offset) is taken back. The
//!   rotated copy (`error.log.1`, `error.log-20261120`: same directory,
//!   same first bytes, at least as long as what was read) is read on from
//!   the old offset before the new content is read from its start; what
//!   the file held past the copy's end (written between the copy and the
//!   truncation) is counted in [`Tail::lost_bytes_estimate`];
//! - a rename rotation finds files in the directory that were never seen
//!   (a file created and rotated away again between two polls: two renames
//!   in quick succession): each is read from its start, in the order it
//!   was written, before the new file;
//! - the path is gone: keep reading the open file (its writer may still
//!   have it open) and wait for a new one;
//! - the path did not exist yet: open it, from its start, once it appears.
//!
//! Files are identified by device and inode (Unix) plus their first bytes.
//! Rotated-away files stay open while they grow and until they have been
//! idle for [`Tail::close_inactive`]; there is no cap on how many, and
//! running into the limit on open files is said ([`Tail::open_limit_hits`]).

use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::input::lines::{self, ChunkReader, MAX_LINE};
use crate::input::source;

/// How long a rotated-away file is still read after it stops growing,
/// by default (`--close-inactive`).
pub const CLOSE_INACTIVE: Duration = Duration::from_secs(300);

/// Bytes at the start of a file that tell it from another one at the
/// same inode (its content replaced by copytruncate).
pub const FINGERPRINT: usize = 1024;

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

/// The first `n` bytes of `file` (fewer if it is shorter).
fn head(file: &File, n: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let got = head_into(file, &mut buf)?;
    buf.truncate(got);
    Ok(buf)
}

/// Fills `buf` from the start of `file`; how many bytes it got (fewer
/// than asked if the file is shorter).
fn head_into(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// True for the errors of running out of file descriptors.
fn is_fd_limit(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// A file whose first bytes are looked at after every read: a read that
/// raced a copytruncate (truncated and regrown past the offset between
/// the look before reading and the read) got new content from the old
/// offset, the middle of a line. Such a read is taken back (the end of
/// input is reported instead) and [`Guarded::replaced`] set, so that the
/// bytes are read from the rotated copy and the new content from its
/// start. The first bytes still being the ones read tells that the read
/// before the look was of the old content.
struct Guarded {
    file: File,
    /// The file's first bytes, up to [`FINGERPRINT`], as last seen.
    fingerprint: Vec<u8>,
    /// A read found the content replaced; nothing more is read.
    replaced: bool,
}

impl Guarded {
    /// Whether the file still starts with the fingerprint (as far as both
    /// go); a longer start is taken as the fingerprint.
    fn first_bytes_kept(&mut self) -> io::Result<bool> {
        let mut now = [0u8; FINGERPRINT];
        let k = head_into(&self.file, &mut now)?;
        let m = k.min(self.fingerprint.len());
        if now[..m] != self.fingerprint[..m] {
            return Ok(false);
        }
        if k > self.fingerprint.len() {
            self.fingerprint = now[..k].to_vec();
        }
        Ok(true)
    }
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.replaced {
            return Ok(0);
        }
        let n = self.file.read(buf)?;
        // A look that fails cannot tell; the bytes read are kept.
        if n > 0 && matches!(self.first_bytes_kept(), Ok(false)) {
            self.replaced = true;
            return Ok(0);
        }
        Ok(n)
    }
}

/// One open file, read through the line cutter, which holds its
/// unfinished last line.
struct Reader {
    chunks: ChunkReader<Guarded>,
    id: (u64, u64),
    /// Where in the file the cutter started reading.
    start: u64,
    /// A buffer handed back by the cutter, for the next read.
    spare: Vec<u8>,
    /// Its size at the last look.
    last_len: u64,
}

impl Reader {
    /// Opens the regular file at `path`, never blocking: a FIFO or device
    /// that took the path's place is refused, not waited on.
    fn open(path: &Path) -> io::Result<Reader> {
        let file = source::open_regular(path)?;
        let meta = file.metadata()?;
        let guarded = Guarded {
            fingerprint: head(&file, FINGERPRINT)?,
            file,
            replaced: false,
        };
        let mut r = Reader {
            id: file_id(&meta),
            last_len: meta.len(),
            chunks: ChunkReader::live(guarded, READ_SIZE, MAX_LINE),
            start: 0,
            spare: Vec::new(),
        };
        r.restart_at(0)?;
        Ok(r)
    }

    /// Whether the file's content was replaced since the last look
    /// (truncated, or truncated and grown again: its first bytes differ);
    /// the fingerprint and size are brought up to date otherwise.
    fn replaced(&mut self) -> io::Result<bool> {
        let offset = self.offset();
        let g = self.chunks.get_mut();
        if g.replaced {
            return Ok(true);
        }
        let len = g.file.metadata()?.len();
        if len < offset || !g.first_bytes_kept()? {
            return Ok(true);
        }
        self.last_len = len;
        Ok(false)
    }

    /// The file's first bytes, up to [`FINGERPRINT`], as last seen.
    fn fingerprint(&self) -> &[u8] {
        &self.chunks.get_ref().fingerprint
    }

    /// True once a read found the content replaced (see [`Guarded`]).
    fn found_replaced(&self) -> bool {
        self.chunks.get_ref().replaced
    }

    /// Goes on reading from `file` (the rotated copy of this one's
    /// content) at the same offset, keeping the line in progress.
    fn move_to(&mut self, mut file: File, id: (u64, u64)) -> io::Result<()> {
        file.seek(SeekFrom::Start(self.offset()))?;
        let g = self.chunks.get_mut();
        g.file = file;
        g.replaced = false;
        self.id = id;
        Ok(())
    }

    /// Bytes of the file consumed (read) so far.
    fn offset(&self) -> u64 {
        self.start + self.chunks.bytes_read()
    }

    /// Reads on from `at` in the file, forgetting what was held. At the
    /// start, a UTF-8 byte-order mark is skipped: it is no text.
    fn restart_at(&mut self, mut at: u64) -> io::Result<()> {
        let file = &mut self.chunks.get_mut().file;
        if at == 0 {
            file.seek(SeekFrom::Start(0))?;
            let mut head = [0u8; 3];
            let mut n = 0;
            while n < head.len() {
                match file.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if head[..n] == *crate::input::source::BOM {
                at = n as u64;
            }
        }
        file.seek(SeekFrom::Start(at))?;
        self.chunks.restart();
        self.start = at;
        Ok(())
    }

    /// Positions the reader at the end of the file, keeping the line in
    /// progress (the bytes after the last newline) as the start of the next
    /// line: lines that end after following began are counted.
    fn seek_to_end(&mut self) -> io::Result<()> {
        let file = &mut self.chunks.get_mut().file;
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

/// Where reading of one file stands, as saved in the state file: its
/// identity, first bytes and the offset of the first line not read whole.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileState {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// The file's first bytes (up to [`FINGERPRINT`]), hexadecimal.
    pub fingerprint: String,
    /// Bytes of whole lines read (and counted).
    pub offset: u64,
}

/// Where reading of one path stands: its file, and the rotated-away
/// files still being read, in reading order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TailState {
    /// The file the path names.
    pub current: Option<FileState>,
    /// Rotated-away files still read.
    pub rotated: Vec<FileState>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Reader {
    /// Where this file stands: the held unfinished line is not counted
    /// yet, so it is read again after a restart.
    fn state(&self) -> FileState {
        FileState {
            dev: self.id.0,
            ino: self.id.1,
            fingerprint: hex(self.fingerprint()),
            offset: self.offset() - self.chunks.held_bytes() as u64,
        }
    }

    /// Opens `path` if it is the file `saved` describes (the same first
    /// bytes, at least `offset` long), positioned at its offset.
    fn reopen(path: &Path, saved: &FileState) -> Option<Reader> {
        let want = unhex(&saved.fingerprint)?;
        let mut r = Reader::open(path).ok()?;
        let n = want.len().min(r.last_len as usize);
        if r.last_len < saved.offset || r.fingerprint().get(..n)? != &want[..n] {
            return None;
        }
        r.restart_at(saved.offset).ok()?;
        Some(r)
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
    /// Rotated files of the directory known not to need reading: there
    /// when following began, or read already (device and inode).
    seen: HashSet<(u64, u64)>,
    /// Rotations seen (rename, truncation, delete and recreate).
    pub rotations: u64,
    /// Bytes the file held that were never read: on copytruncate, those
    /// past the end of the rotated copy (written between the copy and the
    /// truncation), or past the read offset when no copy was found. An
    /// estimate: bytes written and truncated between two looks are not
    /// seen at all.
    pub lost_bytes_estimate: u64,
    /// Times a file could not be opened for want of file descriptors.
    pub open_limit_hits: u64,
    /// How long a rotated-away file is read after it stops growing.
    pub close_inactive: Duration,
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
            seen: HashSet::new(),
            rotations: 0,
            lost_bytes_estimate: 0,
            open_limit_hits: 0,
            close_inactive: CLOSE_INACTIVE,
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
        // What the directory holds now is history, not to be read.
        t.seen = t.rotated_files().into_iter().map(|(id, ..)| id).collect();
        t
    }

    /// Follows `path` from where `saved` says reading stopped: each file
    /// found again (at the path, or rotated away since, by its first
    /// bytes, its inode first) is read on from its offset; a file at the
    /// path that is not the saved one is new, read from its start.
    pub fn resume(path: PathBuf, saved: &TailState, now: Instant) -> Tail {
        let mut t = Tail::new(path, true);
        let listed = t.rotated_files();
        let find = |t: &Tail, fs: &FileState| -> Option<Reader> {
            let mut paths: Vec<&PathBuf> = vec![&t.path];
            let mut others: Vec<&PathBuf> = listed
                .iter()
                .filter(|(id, ..)| *id == (fs.dev, fs.ino))
                .map(|(_, p, _)| p)
                .collect();
            others.extend(listed.iter().map(|(_, p, _)| p));
            paths.extend(others);
            paths.into_iter().find_map(|p| {
                let r = Reader::reopen(p, fs)?;
                let open = t
                    .draining
                    .iter()
                    .map(|d| d.reader.id)
                    .chain(t.current.as_ref().map(|c| c.id));
                (!open.into_iter().any(|id| id == r.id)).then_some(r)
            })
        };
        // The path's file as it is now, read from its start unless it is
        // the saved one.
        let fresh = t.current.take();
        for fs in &saved.rotated {
            if let Some(r) = find(&t, fs) {
                t.seen.insert(r.id);
                t.draining.push(Draining {
                    reader: r,
                    last_data: now,
                });
            }
        }
        match saved.current.as_ref() {
            Some(fs) => match find(&t, fs) {
                Some(r) if fresh.as_ref().is_some_and(|f| f.id == r.id) => {
                    t.current = Some(r);
                }
                Some(r) => {
                    // Rotated while stopped: its rest, then the new file.
                    t.rotations += 1;
                    t.seen.insert(r.id);
                    t.draining.push(Draining {
                        reader: r,
                        last_data: now,
                    });
                    t.current = fresh;
                }
                None => t.current = fresh,
            },
            None => t.current = fresh,
        }
        if let Some(c) = &t.current {
            t.seen.insert(c.id);
        }
        t
    }

    /// Where reading stands, for the state file.
    pub fn state(&self) -> TailState {
        TailState {
            current: self.current.as_ref().map(Reader::state),
            rotated: self.draining.iter().map(|d| d.reader.state()).collect(),
        }
    }

    /// True for a name of a rotated copy of the path: the path's name
    /// followed by `.` or `-` and anything but a compression suffix
    /// (`error.log.1`, `error.log-20261120`).
    fn is_rotated_name(&self, name: &std::ffi::OsStr) -> bool {
        let (Some(base), Some(name)) = (self.path.file_name(), name.to_str()) else {
            return false;
        };
        let Some(rest) = base.to_str().and_then(|b| name.strip_prefix(b)) else {
            return false;
        };
        (rest.starts_with('.') || rest.starts_with('-'))
            && ![".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip"]
                .iter()
                .any(|z| rest.ends_with(z))
    }

    /// The regular files of the path's directory named as its rotated
    /// copies: identity, path and metadata.
    fn rotated_files(&self) -> Vec<((u64, u64), PathBuf, Metadata)> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| self.is_rotated_name(&e.file_name()))
            .filter_map(|e| {
                let p = e.path();
                let m = std::fs::metadata(&p).ok()?;
                m.is_file().then(|| (file_id(&m), p, m))
            })
            .collect()
    }

    /// Opens a file, counting a refusal for want of file descriptors.
    fn open_counted(&mut self, path: &Path) -> io::Result<Reader> {
        Reader::open(path).inspect_err(|e| {
            if is_fd_limit(e) {
                self.open_limit_hits += 1;
            }
        })
    }

    /// Every file open for this path.
    pub fn open_files(&self) -> usize {
        usize::from(self.current.is_some()) + self.draining.len()
    }

    /// After copytruncate: the rotated copy of `r`'s content (same first
    /// bytes, at least as long as what was read, not a file open already),
    /// the newest if there are several.
    fn find_copy(&mut self, r: &Reader) -> Option<(File, (u64, u64), u64)> {
        let offset = r.offset();
        let open: HashSet<(u64, u64)> = self.draining.iter().map(|d| d.reader.id).collect();
        let mut found: Vec<_> = self
            .rotated_files()
            .into_iter()
            .filter(|(id, _, m)| *id != r.id && !open.contains(id) && m.len() >= offset)
            .collect();
        found.sort_by_key(|(_, _, m)| std::cmp::Reverse(m.modified().ok()));
        for (id, p, m) in found {
            let file = match source::open_regular(&p) {
                Ok(f) => f,
                Err(e) => {
                    if is_fd_limit(&e) {
                        self.open_limit_hits += 1;
                        self.error = Some(describe(&e));
                    }
                    continue;
                }
            };
            let want = r.fingerprint().len().min(m.len() as usize);
            if head(&file, want).is_ok_and(|h| h == r.fingerprint()[..want]) {
                return Some((file, id, m.len()));
            }
        }
        None
    }

    /// After a rename rotation: the rotated files of the directory never
    /// seen, oldest first (created and rotated away between two looks).
    /// Every file listed counts as seen from now on.
    fn unseen_rotated(&mut self, new: Option<(u64, u64)>) -> Vec<PathBuf> {
        let listed = self.rotated_files();
        let open: HashSet<(u64, u64)> = self
            .draining
            .iter()
            .map(|d| d.reader.id)
            .chain(self.current.as_ref().map(|r| r.id))
            .chain(new)
            .collect();
        let mut unseen: Vec<_> = listed
            .iter()
            .filter(|(id, ..)| !self.seen.contains(id) && !open.contains(id))
            .map(|(_, p, m)| (m.modified().ok(), p.clone()))
            .collect();
        unseen.sort();
        // Only what is there now: a number freed by a deleted file may be
        // given to a new one.
        self.seen = listed.into_iter().map(|(id, ..)| id).collect();
        unseen.into_iter().map(|(_, p)| p).collect()
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
        let close_inactive = self.close_inactive;
        self.draining.retain_mut(|d| {
            let keep = now.duration_since(d.last_data) < close_inactive;
            if !keep {
                d.reader.finish(sink);
            }
            keep
        });

        if self.current.is_none() {
            // Not there yet, or gone after a rotation: a file that appears
            // now is new, read from its start.
            let path = self.path.clone();
            let opened = self.open_counted(&path).and_then(|mut r| {
                if std::mem::take(&mut self.seek_end_on_open) {
                    r.seek_to_end()?;
                }
                Ok(r)
            });
            match opened {
                Ok(r) => {
                    self.seen.insert(r.id);
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
        // copytruncate, looked at before reading, so that new content is
        // never read on from the old offset.
        match r.replaced() {
            Ok(false) => {}
            Ok(true) => {
                self.copytruncated(budget, now, sink, &mut polled);
                return polled;
            }
            Err(e) => {
                self.error = Some(describe(&e));
                return polled;
            }
        }
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
        if r.found_replaced() {
            // Truncated and regrown while it was read.
            self.copytruncated(budget, now, sink, &mut polled);
            return polled;
        }
        if polled.more {
            return polled; // rotation is looked at once caught up
        }
        // Rename or delete and recreate: the path names another file.
        let new_id = match std::fs::metadata(&self.path) {
            Ok(m) if file_id(&m) != r.id && !m.is_dir() => file_id(&m),
            _ => return polled, // the same, or gone: keep reading, wait
        };
        let Some(mut old) = self.current.take() else {
            return polled;
        };
        self.rotations += 1;
        // The rest of the old file before anything of the new one.
        if let Ok((n, _)) = old.read_some(u64::MAX, sink) {
            polled.bytes += n;
        }
        self.draining.push(Draining {
            reader: old,
            last_data: now,
        });
        // Files that came and were rotated away between two looks.
        for p in self.unseen_rotated(Some(new_id)) {
            match self.open_counted(&p) {
                Ok(mut r) => {
                    if let Ok((n, _)) = r.read_some(u64::MAX, sink) {
                        polled.bytes += n;
                    }
                    self.rotations += 1;
                    self.draining.push(Draining {
                        reader: r,
                        last_data: now,
                    });
                }
                Err(e) => self.error = Some(format!("{}: {}", p.display(), describe(&e))),
            }
        }
        let path = self.path.clone();
        match self.open_counted(&path) {
            Ok(mut r) => {
                self.error = None;
                self.seen.insert(r.id);
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

    /// The open file's content was replaced (copytruncate): what was not
    /// read yet is read from the rotated copy, from the same offset, then
    /// the file's new content from its start.
    fn copytruncated(
        &mut self,
        budget: u64,
        now: Instant,
        sink: &mut Sink<'_>,
        polled: &mut Polled,
    ) {
        self.rotations += 1;
        let Some(mut old) = self.current.take() else {
            return;
        };
        match self.find_copy(&old) {
            Some((file, id, len)) => {
                self.lost_bytes_estimate += old.last_len.saturating_sub(len);
                self.seen.insert(id);
                match old.move_to(file, id) {
                    Ok(()) => {
                        if let Ok((n, _)) = old.read_some(u64::MAX, sink) {
                            polled.bytes += n;
                        }
                        self.draining.push(Draining {
                            reader: old,
                            last_data: now,
                        });
                    }
                    Err(_) => old.finish(sink),
                }
            }
            None => {
                self.lost_bytes_estimate += old.last_len.saturating_sub(old.offset());
                old.finish(sink);
            }
        }
        let path = self.path.clone();
        match self.open_counted(&path) {
            Ok(mut r) => {
                self.error = None;
                self.seen.insert(r.id);
                if let Ok((n, eof)) = r.read_some(budget, sink) {
                    polled.bytes += n;
                    polled.more |= !eof;
                }
                self.current = Some(r);
            }
            Err(e) => self.error = Some(describe(&e)),
        }
    }

    /// Stops following: every open file is closed; unfinished lines are
    /// dropped (their writer may still be writing them).
    pub fn close(&mut self) {
        self.current = None;
        self.draining.clear();
    }
}

fn describe(e: &io::Error) -> String {
    if is_fd_limit(e) {
        return format!(
            "{}: the limit on open files is reached (rotated files are kept open until idle for --close-inactive; raise `ulimit -n` or lower --close-inactive)",
            crate::error::describe_io(e)
        );
    }
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
        assert_eq!(poll(&mut t, now + CLOSE_INACTIVE), "half|");
        append(&dir.path().join("e.log.1"), b"lost\n");
        assert_eq!(poll(&mut t, now + CLOSE_INACTIVE * 2), "");
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

    fn truncate(path: &std::path::Path) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(0)
            .unwrap();
    }

    /// On copytruncate, what the copy holds past what was read
    /// is read from the copy (`error.log-YYYYMMDD` here), the line in
    /// progress included, before the new content.
    #[test]
    fn copytruncate_drains_the_rotated_copy_from_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        append(&p, b"x\n");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        append(&p, b"a\nhal");
        assert_eq!(poll(&mut t, now), "a\n|");
        // Written after the last poll, then copied and truncated.
        append(&p, b"f\nb\n");
        std::fs::copy(&p, dir.path().join("e.log-20261120")).unwrap();
        truncate(&p);
        append(&p, b"new\n");
        assert_eq!(poll(&mut t, now), "half\nb\n|new\n|");
        assert_eq!(t.rotations, 1);
        assert_eq!(t.lost_bytes_estimate, 0);
        // A line written between the copy and the truncate is lost, and
        // counted as far as it was seen.
        append(&p, b"c\n");
        assert_eq!(poll(&mut t, now), "c\n|");
        append(&p, b"seen\n");
        assert_eq!(poll(&mut t, now), "seen\n|");
        append(&p, b"lost\n");
        t.current.as_mut().unwrap().replaced().unwrap(); // looked at
        std::fs::copy(&p, dir.path().join("e.log.1")).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("e.log.1"))
            .unwrap()
            .set_len(11)
            .unwrap();
        truncate(&p);
        assert_eq!(poll(&mut t, now), "");
        assert_eq!(t.rotations, 2);
        assert_eq!(t.lost_bytes_estimate, 5);
    }

    /// A file truncated and grown past the old offset within one
    /// poll was never seen as truncated, and read on from its middle.
    #[test]
    fn a_file_regrown_past_the_offset_is_told_by_its_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        append(&p, b"");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        append(&p, b"first 1\n");
        assert_eq!(poll(&mut t, now), "first 1\n|");
        truncate(&p);
        append(&p, b"second 1\nsecond 2\n");
        assert_eq!(poll(&mut t, now), "second 1\nsecond 2\n|");
        assert_eq!(t.rotations, 1);
        // No copy: what was on disk and unread is unknown, none was seen.
        assert_eq!(t.lost_bytes_estimate, 0);
    }

    /// A copytruncate (and regrowth past the offset) between two reads of
    /// one poll: the read after it lands in the middle of the new content.
    /// Reading is checked against the first bytes after every read, so
    /// nothing of the new content is read from the old offset, and no
    /// line is handed out twice.
    #[test]
    fn a_copytruncate_during_a_read_is_caught_before_the_new_content_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        append(&p, b"x\n");
        let mut t = Tail::new(p.clone(), false);
        append(&p, b"a 1\na 2\n");
        let mut out = String::new();
        let mut rotated = false;
        let mut sink = |piece: Piece<'_>| {
            if let Piece::Lines(b) = piece {
                out.push_str(&String::from_utf8_lossy(b));
                out.push('|');
            }
            if !std::mem::replace(&mut rotated, true) {
                // The rotator runs while the lines read are handed out.
                std::fs::copy(&p, dir.path().join("e.log.1")).unwrap();
                truncate(&p);
                append(&p, b"b 1\nb 2\nb 3\nb 4\n");
            }
        };
        let now = Instant::now();
        t.poll(u64::MAX, now, &mut sink);
        t.poll(u64::MAX, now, &mut sink);
        assert_eq!(out, "a 1\na 2\n|b 1\nb 2\nb 3\nb 4\n|");
        assert_eq!(t.rotations, 1);
        assert_eq!(t.lost_bytes_estimate, 0);
    }

    /// Two renames between two polls: the file in between was
    /// never opened. And rotated files stay open while they grow (no cap
    /// of 4).
    #[test]
    fn a_file_rotated_away_between_two_polls_is_read_and_none_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.log");
        let old = |n: u32| dir.path().join(format!("e.log.{n}"));
        append(&old(9), b"history\n");
        append(&p, b"");
        let mut t = Tail::new(p.clone(), false);
        let now = Instant::now();
        append(&p, b"a\n");
        assert_eq!(poll(&mut t, now), "a\n|");
        std::fs::rename(&p, old(1)).unwrap();
        append(&p, b"b\n");
        std::fs::rename(old(1), old(2)).unwrap();
        std::fs::rename(&p, old(1)).unwrap();
        append(&p, b"c\n");
        assert_eq!(poll(&mut t, now), "b\n|c\n|");
        assert_eq!(t.rotations, 2);
        // Six more rotations, every writer still writing to its file.
        for i in 0..6 {
            std::fs::rename(&p, dir.path().join(format!("e.log-{i}"))).unwrap();
            append(&p, b"n\n");
            poll(&mut t, now);
        }
        assert_eq!(t.open_files(), 9);
        append(&old(2), b"late a\n");
        append(&old(1), b"late b\n");
        assert_eq!(poll(&mut t, now), "late a\n|late b\n|");
        assert_eq!(poll(&mut t, now + CLOSE_INACTIVE), "");
        assert_eq!(t.open_files(), 1);
    }
}
