//! Copy-free input: a file that no process has open for writing is mapped
//! into memory and scanned in place, which saves copying every byte out
//! of the page cache (about a sixth of the CPU time of an analysis).
//!
//! Scanning memory that changes underneath is not sound, so a file is
//! mapped only under a read lease (`fcntl(F_SETLEASE, F_RDLCK)`): the
//! kernel grants it only when nobody has the file open for writing, and
//! while it is held, a process that opens the file for writing or
//! truncates it waits until the lease is given up. The lease then reads
//! as being broken ([`Mapped::lease_breaking`]), and the reader stops
//! handing out mapped chunks, waits until the ones out are done, gives up
//! the lease and reads the rest of the file the usual way. The writer
//! waits a few milliseconds. (The kernel also sends a signal, which is
//! ignored: its default action would end the process.)
//!
//! Where a lease cannot be had (a file open for writing such as the live
//! log, another owner without `CAP_LEASE`, a file system without leases),
//! the file is read into buffers as usual.

// The system calls of mapping and leasing a file: with `bytes::load16`,
// the only `unsafe` of the crate, each block with its SAFETY argument.
#![allow(unsafe_code)]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use memmap2::{Advice, Mmap, UncheckedAdvice};

const PAGE: usize = 4096;

/// At least the span the kernel maps around a page fault.
const FAULT_AROUND: usize = 256 << 10;

/// Pages are let go in runs of at least this much: each release
/// interrupts the other cores to flush their address caches, so fewer,
/// larger releases cost less, for a few MiB more of resident memory.
const RELEASE_STEP: usize = 4 << 20;

/// Files smaller than this are read: mapping costs more than it saves.
pub const MIN_MAPPED: u64 = 8 << 20;

/// `fcntl` command choosing the lease-break signal (Linux's `F_SETSIG`,
/// which the libc crate does not export).
const F_SETSIG: libc::c_int = 10;

/// The signal the kernel sends when a lease of ours is being broken.
fn lease_signal() -> libc::c_int {
    libc::SIGRTMIN() + 1
}

/// Ignores the lease-break signal (once); false if it could not be.
fn ignore_break_signal() -> bool {
    static ONCE: Once = Once::new();
    static OK: AtomicBool = AtomicBool::new(false);
    ONCE.call_once(|| {
        // SAFETY: setting a signal's disposition to "ignore".
        let ok = unsafe { libc::signal(lease_signal(), libc::SIG_IGN) != libc::SIG_ERR };
        OK.store(ok, Ordering::SeqCst);
    });
    OK.load(Ordering::SeqCst)
}

/// A file mapped under a read lease. Dropping it gives the lease up.
pub struct Mapped {
    map: Mmap,
    file: File,
    /// Pages below this offset have been let go ([`Mapped::done_through`]).
    released: AtomicUsize,
}

impl Mapped {
    /// Maps the regular file at `path` if it is large enough and a read
    /// lease can be had; `None` means: read it instead.
    pub fn open(path: &Path) -> Option<Mapped> {
        // Look before opening: opening a FIFO would take its writer's data.
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_file() || meta.len() < MIN_MAPPED || !ignore_break_signal() {
            return None;
        }
        let file = File::open(path).ok()?;
        let fd = file.as_raw_fd();
        // SAFETY: plain fcntl calls on a descriptor we own.
        let leased = unsafe {
            libc::fcntl(fd, F_SETSIG, lease_signal()) == 0
                && libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) == 0
        };
        if !leased {
            return None;
        }
        // Looked at again, now that nobody can change it (the path may
        // have been replaced since the first look).
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        let len = meta.len();
        // SAFETY: under the lease no process can write to or truncate the
        // file, so the mapped bytes do not change while they are borrowed;
        // the lease is held until the mapping is gone (see Drop).
        let map = unsafe { memmap2::MmapOptions::new().len(len as usize).map(&file) }.ok()?;
        let _ = map.advise(Advice::Sequential);
        let mapped = Mapped {
            map,
            file,
            released: AtomicUsize::new(0),
        };
        // gzip is read through its decoder.
        if mapped.bytes().starts_with(&[0x1f, 0x8b]) {
            return None;
        }
        Some(mapped)
    }

    /// Maps the pages of `start..end` in one call, just before they are
    /// scanned: cheaper than a page fault for every 64 KiB. (Kernels
    /// before 5.14 refuse; the pages then fault in as they are read.)
    pub fn populate(&self, start: usize, end: usize) {
        let s = start / PAGE * PAGE;
        let e = end.min(self.map.len());
        if e > s {
            let _ = self.map.advise_range(Advice::PopulateRead, s, e - s);
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// True once a process waits to write to or truncate the file: stop
    /// handing out mapped chunks and let it go as soon as they are done.
    pub fn lease_breaking(&self) -> bool {
        // While a break is pending, the lease reads as what it is to
        // become: none.
        // SAFETY: a plain fcntl call on a descriptor we own.
        unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLEASE) != libc::F_RDLCK }
    }

    /// Lets the kernel drop the page mappings of `start..end` (rounded in
    /// to whole pages), so that resident memory stays bounded: the pages
    /// stay in the page cache. Call only when no slice of that range is in
    /// use any more.
    pub fn done_with(&self, start: usize, end: usize) {
        let (s, e) = (start.div_ceil(PAGE) * PAGE, end / PAGE * PAGE);
        if e > s {
            // SAFETY: the caller holds no borrow of this range; the file
            // cannot change under the lease, so repopulated pages would
            // read the same bytes.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, s, e - s)
            };
        }
    }

    /// [`Mapped::done_with`] everything before `end`, for chunks finished
    /// in file order: the pages shared by two chunks go with the second.
    pub fn done_through(&self, end: usize) {
        // A page fault maps the pages around it too (64 KiB by default),
        // which could bring pages just let go back in for good: only pages
        // below the window of any later fault are let go.
        let e = end / FAULT_AROUND * FAULT_AROUND;
        let at_end = end >= self.map.len();
        if !at_end && e < self.released.load(Ordering::Relaxed) + RELEASE_STEP {
            return;
        }
        let s = self.released.fetch_max(e, Ordering::Relaxed);
        if e > s {
            self.done_with(s, e);
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: a plain fcntl call on a descriptor we own. The mapping
        // itself is unmapped right after this, and nothing borrows it any
        // more: this value is being dropped.
        unsafe {
            libc::fcntl(self.file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::{Duration, Instant};

    fn big_file(dir: &Path) -> std::path::PathBuf {
        let p = dir.join("big.log");
        let mut f = File::create(&p).unwrap();
        let line =
            b"2026/11/20 10:00:00 [info] 1#1: *1 client 1.1.1.1 closed keepalive connection\n";
        for _ in 0..(MIN_MAPPED as usize / line.len() + 1) {
            f.write_all(line).unwrap();
        }
        p
    }

    #[test]
    fn a_file_open_for_writing_is_not_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let p = big_file(dir.path());
        let writer = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        assert!(Mapped::open(&p).is_none());
        drop(writer);
        let m = Mapped::open(&p).expect("mapped once nobody writes");
        assert_eq!(m.bytes().len() as u64, std::fs::metadata(&p).unwrap().len());
    }

    #[test]
    fn small_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("small.log");
        std::fs::write(&p, b"x\n").unwrap();
        assert!(Mapped::open(&p).is_none());
    }

    /// A writer opening the file breaks the lease: the holder hears of it
    /// and the writer gets in once the mapping is given up.
    #[test]
    fn a_writer_breaks_the_lease_and_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = big_file(dir.path());
        let m = Mapped::open(&p).expect("mapped");
        assert!(!m.lease_breaking());
        let p2 = p.clone();
        let writer = std::thread::spawn(move || {
            let start = Instant::now();
            let f = std::fs::OpenOptions::new().append(true).open(&p2).unwrap();
            (f, start.elapsed())
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !m.lease_breaking() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(m.lease_breaking(), "the break was signalled");
        std::thread::sleep(Duration::from_millis(50));
        assert!(!writer.is_finished(), "the writer waits for the lease");
        drop(m);
        let (_f, waited) = writer.join().unwrap();
        assert!(waited >= Duration::from_millis(50));
        assert!(waited < Duration::from_secs(10));
    }
}
