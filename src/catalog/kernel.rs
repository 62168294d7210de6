//! The kernel log's classifier: an OOM kill or a segfault (the process
//! named is the upstream, `kernel:<name>`), SYN flooding on a port
//! (`kernel:port <n>`), a full conntrack table or the file-max limit
//! (the whole machine: no upstream).

use super::compiled::{Classified, Compiled, CompiledCause, RowFilter, built, finish};
use super::rows::Match;
use memchr::memmem;

use crate::bytes::find;
use crate::parse::Head;

/// The kernel rows.
pub struct Kernel {
    rows: Vec<Compiled>,
    filter: RowFilter,
    /// The searchers of what a message is about, built once.
    subjects: Subjects,
    /// Two bytes (the same one twice where one does) of which each row's
    /// text holds at least one (see [`GUARD_BYTES`]): a message holding
    /// neither holds no row's text, and only the rows that need none
    /// (`textless`, in table order) can fit it. `None` where the texts
    /// need more than two.
    guard: Option<(u8, u8)>,
    textless: Vec<usize>,
}

/// Bytes a kernel line that is no failure seldom holds, in the order they
/// are chosen for [`Kernel::guard`]: a firewall line (`[UFW BLOCK] IN=eth0
/// OUT= MAC=... SRC=... PROTO=TCP ...`, most of a busy `kern.log`) holds
/// capitals, digits, the interface's name and no other lowercase letter.
const GUARD_BYTES: &[u8] = b"rgpfkywvbmlsuoicdnhaet";

/// The bytes of [`Kernel::guard`] for `rows`.
fn guard(rows: &[Compiled]) -> Option<(u8, u8)> {
    let mut bytes: Vec<u8> = Vec::new();
    for c in rows {
        let text = match c.sig.matcher {
            Match::Contains(t) | Match::PrefixContains(_, t) | Match::AhContains(_, t) => t,
            Match::Prefix(_) | Match::Ah(_) | Match::Any => continue,
        };
        let b = *GUARD_BYTES.iter().find(|b| text.as_bytes().contains(b))?;
        if !bytes.contains(&b) {
            bytes.push(b);
        }
    }
    match bytes[..] {
        [] => None,
        [a] => Some((a, a)),
        [a, b] => Some((a, b)),
        _ => None,
    }
}

impl Kernel {
    /// The kernel rows, in table order.
    pub fn new(rows: Vec<Compiled>) -> Kernel {
        let filter = RowFilter::new(&rows);
        let textless = (0..rows.len())
            .filter(|&i| {
                matches!(
                    rows[i].sig.matcher,
                    Match::Prefix(_) | Match::Ah(_) | Match::Any
                )
            })
            .collect();
        Kernel {
            guard: guard(&rows),
            textless,
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
        self.classify_guarded(head, scratch, true)
    }

    /// [`Kernel::classify`], with or without the look for the guard's bytes
    /// first (`guarded`), which must not change what it says.
    #[inline(always)]
    fn classify_guarded<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
        guarded: bool,
    ) -> Option<Classified<'a>> {
        let m = head.body;
        let c = match self.guard {
            Some((a, b)) if guarded && crate::bytes::find_byte2(a, b, m).is_none() => self
                .textless
                .iter()
                .map(|&i| &self.rows[i])
                .find(|c| c.matches(m, None))?,
            _ => self.filter.first_fit(&self.rows, m, None)?,
        };
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

    /// Lines told by the guard's bytes are classified as the row filter
    /// alone classifies them: every line of the kernel fixture, each with
    /// the guard's bytes taken out and with a row's text put in, and the
    /// generator's kinds of line.
    #[test]
    fn the_guard_changes_nothing() {
        use crate::catalog::Catalog;
        use crate::parse::{ParseState, Scratch, parse_head};
        let catalog = Catalog::new();
        let kernel = &catalog.kernel;
        assert_eq!(kernel.guard, Some((b'r', b'g')));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let text = std::fs::read(root.join("incidents/fpm_dynamic.kern.log")).unwrap();
        let mut lines: Vec<Vec<u8>> = text.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
        lines.extend(
            [
                "Nov 21 22:21:05 web1 kernel: [63665.001994] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.11.185 DST=10.0.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL=85 ID=34165 PROTO=TCP SPT=57544 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0",
                "Nov 21 22:21:05 web1 kernel: [63665.002991] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid=13870,uid=33",
                "Nov 21 22:21:05 web1 kernel: [63665.004985] Out of memory: Killed process 53676 (php-fpm8.2) total-vm:788811kB, anon-rss:672231kB, file-rss:4096kB, shmem-rss:8192kB, UID:33 pgtables:1224kB oom_score_adj:0",
                "Nov 21 22:21:05 web1 kernel: [63665.004985] VFS: file-max limit 65536 reached",
                "Nov 21 22:21:05 web1 kernel: [63665.004985] TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:443. Sending cookies.",
                "Nov 21 22:21:05 web1 kernel: [63665.004985] nf_conntrack: nf_conntrack: table full, dropping packet",
                "Nov 21 22:21:05 web1 kernel: [63665.004985] php-fpm8.2[58087]: segfault at 0 ip 00007f3a2c1b4e10",
            ]
            .map(|l| l.as_bytes().to_vec()),
        );
        let texts = [
            " invoked oom-killer: ",
            ": Killed process ",
            "]: segfault at ",
            "Possible SYN flooding on port ",
            "table full, dropping packet",
        ];
        for l in lines.clone() {
            let s = String::from_utf8_lossy(&l).into_owned();
            if let Some(at) = s.find("kernel: ") {
                let (envelope, message) = s.split_at(at + 8);
                lines.push(format!("{envelope}{}", message.replace(['r', 'g'], "R")).into_bytes());
            }
            for t in texts {
                lines.push(format!("{s} {t}").into_bytes());
                lines.push(format!("{s} {}", t.replace(['r', 'g'], "")).into_bytes());
            }
        }
        let (mut guarded, mut told) = (0, 0);
        for line in &lines {
            let mut scratch = Scratch::default();
            let Some(head) = parse_head(line, &mut ParseState::new(2026), &mut scratch) else {
                continue;
            };
            if head.server != crate::event::Server::Kernel {
                continue;
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let fast = kernel.classify_guarded(&head, &mut a, true);
            let plain = kernel.classify_guarded(&head, &mut b, false);
            assert_eq!(fast, plain, "{}", String::from_utf8_lossy(line));
            told += usize::from(plain.is_some());
            guarded += usize::from(crate::bytes::find_byte2(b'r', b'g', head.body).is_none());
        }
        assert!(guarded > 20 && told > 20, "{guarded} {told}");
    }

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
