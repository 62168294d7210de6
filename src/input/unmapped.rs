//! Where files cannot be scanned in place (the read leases that make it
//! sound are Linux's), every file is read into buffers: [`Mapped::open`]
//! never maps, and no [`Mapped`] can exist.

use std::path::Path;

/// No file is mapped, whatever its size.
pub const MIN_MAPPED: u64 = u64::MAX;

/// A mapped file; never made here.
pub enum Mapped {}

impl Mapped {
    /// Never maps: the file is read.
    pub fn open(_path: &Path) -> Option<Mapped> {
        None
    }

    /// (Never called: no `Mapped` exists.)
    pub fn populate(&self, _start: usize, _end: usize) {
        match *self {}
    }

    /// (Never called.)
    pub fn bytes(&self) -> &[u8] {
        match *self {}
    }

    /// (Never called.)
    pub fn lease_breaking(&self) -> bool {
        match *self {}
    }

    /// (Never called.)
    pub fn done_with(&self, _start: usize, _end: usize) {
        match *self {}
    }

    /// (Never called.)
    pub fn done_through(&self, _end: usize) {
        match *self {}
    }
}
