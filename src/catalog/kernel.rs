//! The kernel log's classifier: an OOM kill or a segfault (the process
//! named is the upstream, `kernel:<name>`), SYN flooding on a port
//! (`kernel:port <n>`), a full conntrack table or the file-max limit
//! (the whole machine: no upstream).

use super::compiled::{Classified, Compiled, CompiledCause, RowFilter, between, built, finish};
use crate::parse::Head;

/// The kernel rows.
pub struct Kernel {
    rows: Vec<Compiled>,
    filter: RowFilter,
}

impl Kernel {
    /// The kernel rows, in table order.
    pub fn new(rows: Vec<Compiled>) -> Kernel {
        let filter = RowFilter::new(&rows);
        Kernel { rows, filter }
    }

    /// Classifies a kernel line.
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        let m = head.body;
        let c = self.filter.first_fit(&self.rows, m, None)?;
        // Not a failure: nothing to read from the message.
        if matches!(c.cause, CompiledCause::Ignore) {
            return None;
        }
        let upstream = subject(m).map(|(what, s)| built(scratch, &[b"kernel:", what, s]));
        finish(c, None, upstream, None, None)
    }
}

/// What a message is about: the killed or crashed process, or the port
/// (`port ` and its number).
fn subject(m: &[u8]) -> Option<(&'static [u8], &[u8])> {
    // `Out of memory: Killed process 1234 (php-fpm8.2) total-vm:...`.
    if let Some(p) = between(m, b"Killed process ", b")")
        && let Some(open) = memchr::memchr(b'(', p)
    {
        return Some((b"", &p[open + 1..]));
    }
    // `php-fpm8.2[1234]: segfault at 0 ip ...`.
    if let Some(i) = crate::bytes::find(m, b"]: segfault at ") {
        let name = &m[..i];
        return memchr::memrchr(b'[', name).map(|o| (&b""[..], &name[..o]));
    }
    // `Possible SYN flooding on port 80.` or, newer, `on port [::]:80.` /
    // `0.0.0.0:80.`: the port after the last colon.
    let p = between(m, b"SYN flooding on port ", b". ")?;
    let port = memchr::memrchr(b':', p).map_or(p, |c| &p[c + 1..]);
    Some((b"port ", port))
}
