//! Regular files mapped into memory, read in place instead of copied out
//! of the page cache, and the guard that makes that safe when a file is
//! truncated meanwhile.
//!
//! Reading a mapping saves the copy that `read` makes of every byte; on a
//! log in the page cache that copy is the largest single cost of a run.
//! Its danger is truncation: a page of a mapping past the file's new end
//! raises SIGBUS when touched, which would end the run with no report
//! (`logrotate`'s `copytruncate` truncates a live log in place). No lease
//! is taken (a lease holds writers back and is broken after
//! `lease-break-time` anyway); instead a SIGBUS handler looks the faulting
//! address up among the files mapped now, and if it is in one, maps zero
//! pages over the rest of that mapping and notes from where
//! ([`MappedFile::cut_from`]): the access then reads zeros and the run
//! goes on. The ordered stage scans a chunk the cut reached again, only
//! its lines before the cut: the file ends there, as a read file cut
//! short ends where reading finds its end. A fault anywhere else is not ours: the handler puts back
//! the action it replaced and returns, so that the fault happens again
//! and is handled as it would have been (Rust's own stack-overflow
//! report, or the default: the process ends).
//!
//! This module and [`crate::bytes`]' SIMD loads are the crate's `unsafe`;
//! each block here carries its SAFETY argument.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Files that may be mapped at once, all threads together: past this a
/// file is read as before ([`MappedFile::map`] says `None`). A run maps
/// the file being read and, while its last chunks are scanned, the next.
const SLOTS: usize = 64;

/// One mapped file as the SIGBUS handler sees it.
struct Slot {
    /// Taken by a live [`MappedFile`].
    taken: AtomicBool,
    /// Start of the mapping (page-aligned); 0 while not published.
    start: AtomicUsize,
    /// Its length in bytes (a whole number of pages).
    len: AtomicUsize,
    /// Set by the handler: the offset of the first page that was past the
    /// file's end when touched ([`usize::MAX`]: none yet).
    cut_from: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    taken: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    cut_from: AtomicUsize::new(usize::MAX),
};

static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

/// The SIGBUS action the guard replaced, put back for faults not ours;
/// `None` when the guard could not be installed (files are not mapped).
static REPLACED: OnceLock<Option<libc::sigaction>> = OnceLock::new();

/// `madvise` advice that maps a range's pages in one call (Linux 5.14;
/// an older kernel refuses it, and the pages then fault in as read).
const MADV_POPULATE_READ: libc::c_int = 22;

/// Pages of a mapped file already read are given back (dropped from the
/// process's resident memory; they stay in the page cache) this many
/// bytes at a time: often enough to keep the resident set small, seldom
/// enough that the cost of each call, which every core running the
/// process pays, stays small.
const GIVE_BACK: usize = 4 << 20;

/// The system's page size, asked once.
fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf only reads a system setting.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(n)
            .ok()
            .filter(|n| n.is_power_of_two())
            .unwrap_or(4096)
    })
}

/// Installs the SIGBUS guard once per process; false if it could not be.
fn guard_installed() -> bool {
    REPLACED
        .get_or_init(|| {
            // SAFETY: both structs are plain data, zero is a valid value of
            // each (an empty mask, no flags), and sigaction reads the new
            // action and writes the old one, both valid for its call.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                (libc::sigaction(libc::SIGBUS, &action, &mut old) == 0).then_some(old)
            }
        })
        .is_some()
}

/// The SIGBUS handler. It only loads and updates atomics and calls
/// `mmap` and `sigaction`, system calls that take no lock of this process,
/// so it is safe to run at any point of any thread.
extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to a SA_SIGINFO handler;
    // si_addr is the faulting address for SIGBUS.
    let addr = unsafe { (*info).si_addr() } as usize;
    // Set before any file was mapped: a load, not a computation.
    let page = page_size();
    for slot in &TABLE {
        let start = slot.start.load(Ordering::Acquire);
        let len = slot.len.load(Ordering::Acquire);
        if start == 0 || addr < start || addr - start >= len {
            continue;
        }
        let from = addr & !(page - 1);
        // SAFETY: [from, start + len) lies inside a mapping that this
        // process made and that stays mapped while its slot is published
        // (the slot is withdrawn before it is unmapped). Mapping anonymous
        // zero pages over it with MAP_FIXED replaces pages nobody can read
        // any more (the file ends before them) with zeros, read-only as
        // before.
        let got = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                start + len - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if got != libc::MAP_FAILED {
            slot.cut_from.fetch_min(from - start, Ordering::AcqRel);
            return;
        }
        break;
    }
    // Not ours (or the zero pages could not be mapped): the action this
    // guard replaced handles the fault when it recurs on return.
    if let Some(Some(old)) = REPLACED.get() {
        // SAFETY: `old` is the action sigaction returned when the guard was
        // installed, valid to install again.
        unsafe {
            libc::sigaction(libc::SIGBUS, old, std::ptr::null_mut());
        }
    }
}

/// A regular file mapped read-only, whole: its bytes are read in place.
/// Pages behind the reading are given back as it goes
/// ([`MappedFile::read_to`]); unmapped when the last chunk is done.
pub struct MappedFile {
    /// The mapping's start (page-aligned).
    base: *mut u8,
    /// The mapping's length (whole pages).
    map_len: usize,
    /// The file's bytes mapped.
    len: usize,
    /// Its slot in the handler's table.
    slot: usize,
    /// Bytes from the start whose pages were given back.
    given_back: AtomicUsize,
}

// SAFETY: the file owns its mapping (nothing else unmaps it), and the
// mapping is read-only, so its bytes can be read from any thread.
unsafe impl Send for MappedFile {}
// SAFETY: as for Send; shared access only reads, and `given_back` is
// atomic.
unsafe impl Sync for MappedFile {}

impl MappedFile {
    /// Maps the first `len` bytes of `file`. `Ok(None)` when it cannot be
    /// mapped now (empty, the guard is not installed, or as many files as
    /// the table holds are mapped): the caller reads it instead.
    pub fn map(file: &File, len: u64) -> io::Result<Option<MappedFile>> {
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        if len == 0 || !guard_installed() {
            return Ok(None);
        }
        let map_len = len.next_multiple_of(page_size());
        let Some(slot) = TABLE.iter().position(|s| {
            s.taken
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }) else {
            return Ok(None);
        };
        // SAFETY: a fresh read-only private mapping of an open file from
        // its start; the kernel picks the address, so no memory of ours is
        // replaced.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            TABLE[slot].taken.store(false, Ordering::Release);
            return Err(io::Error::last_os_error());
        }
        let entry = &TABLE[slot];
        entry.cut_from.store(usize::MAX, Ordering::Relaxed);
        entry.len.store(map_len, Ordering::Release);
        entry.start.store(base as usize, Ordering::Release);
        Ok(Some(MappedFile {
            base: base.cast(),
            map_len,
            len,
            slot,
            given_back: AtomicUsize::new(0),
        }))
    }

    /// The file's bytes mapped.
    pub fn size(&self) -> usize {
        self.len
    }

    /// The bytes `from..to` of the file (clamped to what is mapped). Zeros
    /// where the file was cut before they were read
    /// ([`MappedFile::cut_from`]).
    pub fn bytes(&self, from: usize, to: usize) -> &[u8] {
        let to = to.min(self.len);
        let from = from.min(to);
        // SAFETY: [base + from, base + to) lies inside the live read-only
        // mapping this file owns, which outlives the borrow. A page past
        // the file's end reads as zeros through the guard instead of
        // raising SIGBUS. The bytes are those of a log file, appended to
        // and not rewritten in place, so what was read does not change
        // while it is borrowed.
        unsafe { std::slice::from_raw_parts(self.base.add(from), to - from) }
    }

    /// Maps the pages of bytes `from..to` in one call, so that reading
    /// them does not fault page by page. Only a hint: a kernel without
    /// the call, or a range past the file's end, is left as it is.
    pub fn populate(&self, from: usize, to: usize) {
        let page = page_size();
        let (from, to) = (from & !(page - 1), to.min(self.len));
        if from >= to {
            return;
        }
        // SAFETY: the range lies inside this file's live mapping; the
        // advice only maps its pages in (a page past the file's end makes
        // the call fail, not fault).
        unsafe {
            libc::madvise(self.base.add(from).cast(), to - from, MADV_POPULATE_READ);
        }
    }

    /// Where the bytes that read as zeros start, if the file was cut short
    /// while it was mapped: the start of the first page past its new end
    /// that was touched. Bytes between the new end and there read as
    /// zeros too, as the kernel fills the last page of a file.
    pub fn cut_from(&self) -> Option<usize> {
        let cut = TABLE[self.slot].cut_from.load(Ordering::Acquire);
        (cut != usize::MAX).then_some(cut)
    }

    /// Says that the bytes before `to` will not be read again: their pages
    /// are given back once [`GIVE_BACK`] bytes of them wait, which keeps
    /// the process's resident memory small on a file of any size. Called
    /// in file order.
    pub fn read_to(&self, to: usize) {
        let page = page_size();
        let to = to.min(self.len) & !(page - 1);
        let from = self.given_back.load(Ordering::Relaxed);
        if to < from + GIVE_BACK {
            return;
        }
        self.given_back.store(to, Ordering::Relaxed);
        // SAFETY: the range lies inside this file's live mapping and no
        // chunk before `to` is read any more; MADV_DONTNEED on a private
        // read-only file mapping only drops the pages from this process
        // (a later read would map them again from the page cache).
        unsafe {
            libc::madvise(self.base.add(from).cast(), to - from, libc::MADV_DONTNEED);
        }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        let entry = &TABLE[self.slot];
        // Withdrawn from the handler before the memory goes away.
        entry.start.store(0, Ordering::Release);
        entry.len.store(0, Ordering::Release);
        // SAFETY: base and map_len are the mapping this file made, and no
        // borrow of its bytes outlives it.
        unsafe {
            libc::munmap(self.base.cast(), self.map_len);
        }
        entry.taken.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let file = File::open(&path).unwrap();
        (dir, file)
    }

    /// The bytes of any range are the file's, whatever the range's place
    /// in a page, and giving pages back does not change what reads.
    #[test]
    fn a_mapping_is_the_files_bytes() {
        let text: Vec<u8> = (0..(GIVE_BACK as u32 + 50_000))
            .map(|i| (i % 251) as u8)
            .collect();
        let (_dir, file) = file_of(&text);
        let map = MappedFile::map(&file, text.len() as u64).unwrap().unwrap();
        assert_eq!(map.size(), text.len());
        for (from, to) in [
            (0, 1),
            (0, 50_000),
            (1, 4096),
            (4095, 4097),
            (12_345, text.len()),
        ] {
            map.populate(from, to);
            assert_eq!(map.bytes(from, to), &text[from..to], "{from} {to}");
        }
        map.read_to(GIVE_BACK + 10_000);
        assert_eq!(map.bytes(0, text.len()), &text[..]);
        assert_eq!(map.cut_from(), None);
        // Past the end is clamped, not read.
        assert_eq!(
            map.bytes(text.len() - 3, text.len() + 100),
            &text[text.len() - 3..]
        );
    }

    /// A file cut short under its mapping reads as zeros past its new end
    /// instead of ending the process, and the mapping says from where.
    #[test]
    fn a_truncated_file_reads_as_zeros_and_is_cut() {
        let page = page_size();
        let text = vec![b'x'; 4 * page];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let map = MappedFile::map(&file, text.len() as u64).unwrap().unwrap();
        assert!(map.bytes(0, page).iter().all(|&b| b == b'x'));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(page as u64)
            .unwrap();
        let bytes = map.bytes(0, 4 * page);
        assert!(bytes[..page].iter().all(|&b| b == b'x'));
        assert!(bytes[page..].iter().all(|&b| b == 0));
        assert_eq!(map.cut_from(), Some(page));
        drop(map);
        // The slot is free again and a new mapping is not cut.
        let map = MappedFile::map(&file, page as u64).unwrap().unwrap();
        assert_eq!(map.cut_from(), None);
        assert!(map.bytes(0, page).iter().all(|&b| b == b'x'));
    }

    /// Past the table's size, files are not mapped (the caller reads);
    /// dropping them frees their slots. An empty file is not mapped.
    #[test]
    fn the_table_bounds_the_mappings() {
        let (_dir, file) = file_of(b"line\n");
        assert!(MappedFile::map(&file, 0).unwrap().is_none());
        let mut held = Vec::new();
        while let Some(m) = MappedFile::map(&file, 5).unwrap() {
            held.push(m);
            assert!(held.len() <= SLOTS);
        }
        // Other tests may hold slots meanwhile; most are this test's.
        assert!(held.len() > SLOTS / 2, "{}", held.len());
        drop(held);
        assert!(MappedFile::map(&file, 5).unwrap().is_some());
    }
}
