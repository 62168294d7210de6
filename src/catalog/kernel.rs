//! The kernel log's classifier: an OOM kill or a segfault (the process
//! named is the upstream, `kernel:<name>`), SYN flooding on a port
//! (`kernel:port <n>`), a full conntrack table or the file-max limit
//! (the whole machine: no upstream).

use super::compiled::{Classified, Compiled, CompiledCause, RowFilter, built, finish};
use memchr::memmem;

use crate::bytes::find;
use crate::parse::Head;

/// The kernel rows.
pub struct Kernel {
    rows: Vec<Compiled>,
    filter: RowFilter,
    /// The searchers of what a message is about, built once.
    subjects: Subjects,
}

impl Kernel {
    /// The kernel rows, in table order.
    pub fn new(rows: Vec<Compiled>) -> Kernel {
        let filter = RowFilter::new(&rows);
        Kernel {
            rows,
            filter,
            subjects: Subjects::new(),
        }
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
        let upstream = self
            .subjects
            .of(m)
            .map(|(what, s)| built(scratch, &[b"kernel:", what, s]));
        finish(c, None, upstream, None, None)
    }
}

/// What a message is about, through searchers built once (a substring
/// search that prepares its needle per call costs more than the search
/// on a short message).
struct Subjects {
    killed: memmem::Finder<'static>,
    segfault: memmem::Finder<'static>,
    syn: memmem::Finder<'static>,
}

const KILLED: &[u8] = b"Killed process ";
const SEGFAULT: &[u8] = b"]: segfault at ";
const SYN: &[u8] = b"SYN flooding on port ";

impl Subjects {
    fn new() -> Subjects {
        Subjects {
            killed: memmem::Finder::new(KILLED),
            segfault: memmem::Finder::new(SEGFAULT),
            syn: memmem::Finder::new(SYN),
        }
    }

    /// What a message is about: the killed or crashed process, or the
    /// port (`port ` and its number).
    #[inline]
    fn of<'a>(&self, m: &'a [u8]) -> Option<(&'static [u8], &'a [u8])> {
        let after = |f: &memmem::Finder<'_>, len: usize| f.find(m).map(|i| &m[i + len..]);
        let upto = |b: &'a [u8], end: &[u8]| &b[..find(b, end).unwrap_or(b.len())];
        if let Some(rest) = after(&self.killed, KILLED.len())
            && let p = upto(rest, b")")
            && let Some(open) = memchr::memchr(b'(', p)
        {
            return Some((b"", &p[open + 1..]));
        }
        if let Some(i) = self.segfault.find(m) {
            let name = &m[..i];
            return memchr::memrchr(b'[', name).map(|o| (&b""[..], &name[..o]));
        }
        let p = upto(after(&self.syn, SYN.len())?, b". ");
        let port = memchr::memrchr(b':', p).map_or(p, |c| &p[c + 1..]);
        Some((b"port ", port))
    }
}

/// What a message is about: the killed or crashed process, or the port
/// (`port ` and its number). The plain form of [`Subjects::of`].
#[cfg(test)]
fn subject(m: &[u8]) -> Option<(&'static [u8], &[u8])> {
    // `Out of memory: Killed process 1234 (php-fpm8.2) total-vm:...`.
    use super::compiled::between;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The searchers built once find what the plain searches find.
    #[test]
    fn subjects_match_the_plain_searches() {
        let s = Subjects::new();
        for m in [
            "Out of memory: Killed process 20031 (php-fpm8.2) total-vm:1048576kB",
            "Memory cgroup out of memory: Killed process 1 (a b) x",
            "Killed process 1 no parens",
            "Killed process 1 (unclosed",
            "Killed process 1 (x) php-fpm8.2[1]: segfault at 0",
            "php-fpm8.2[58087]: segfault at 0 ip 00007f3a2c1b4e10",
            "no bracket]: segfault at 0",
            "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:443. Sending cookies.",
            "TCP: Possible SYN flooding on port [::]:80. Dropping request.",
            "TCP: Possible SYN flooding on port 8080",
            "nf_conntrack: nf_conntrack: table full, dropping packet",
            "",
        ] {
            assert_eq!(s.of(m.as_bytes()), subject(m.as_bytes()), "{m}");
        }
    }
}
