//! Apache httpd's classifier: rows looked up by the line's message number
//! (`AH00957`), errno rules, and where the backend is named.

use super::compiled::{Classified, Compiled, between, built, errno_ok, finish};
use super::errno::Errno;
use super::rows::{Errnos, Extract, Match, Phase, Prefix};
use crate::bytes::find;
use crate::parse::Head;
use crate::parse::apache::{Body, Status};

/// The Apache rows, by message number.
pub struct Apache {
    rows: Vec<Compiled>,
    /// Rows by message number, so a line is checked against its own rows
    /// only: the groups of the numbers that have rows ...
    groups: Vec<Group>,
    /// ... and, for each number up to the highest of them, where its group
    /// is in `groups` ([`NO_GROUP`]: it has none). Message numbers are
    /// dense below 11000: the table is a few kilobytes, one look per line.
    by_ah: Box<[u16]>,
    /// Rows that take any message (errno rules).
    any: Vec<usize>,
    /// Rows for lines without a message number (2.2, a few 2.4).
    plain: Vec<usize>,
    /// Every row of `any` needs an errno: a line with a message number of
    /// no row of its own and no status fits none.
    any_needs_errno: bool,
    /// For each row that takes its upstream from between two texts, the
    /// index of the byte of each text searched for
    /// ([`crate::bytes::rare_byte`], chosen once, not per line).
    between_keys: Vec<(usize, usize)>,
}

/// A message number with no rows of its own (see [`Apache::by_ah`]).
const NO_GROUP: u16 = u16::MAX;

/// The rows of one message number, then the rows of `any`.
struct Group {
    /// Indices into the rows, in order.
    rows: Vec<usize>,
    /// The texts of the group's rows that need one, searched at once,
    /// where there are several (AH00898 has eight).
    texts: Option<Texts>,
}

/// One search for the texts of a group's rows (see [`Group::first_text`]).
struct Texts {
    /// Leftmost-first over the texts, in row order (a text's pattern id is
    /// its index in `at`).
    search: aho_corasick::packed::Searcher,
    /// Where in the group's rows each text's row is.
    at: Vec<usize>,
    /// Whether each of the group's rows needs a text.
    has_text: Vec<bool>,
    /// For each text, how far past where it starts the next text of a
    /// lower id may start: the least offset at which one fits with the
    /// text's own bytes there, its length where none does (see
    /// [`Group::first_text`]).
    skip: Vec<usize>,
}

impl Group {
    fn new(rows: Vec<usize>, compiled: &[Compiled]) -> Group {
        let mut texts = Vec::new();
        let mut at = Vec::new();
        let mut has_text = Vec::new();
        for (k, &i) in rows.iter().enumerate() {
            let text = match compiled[i].sig.matcher {
                Match::AhContains(_, t) => Some(t),
                _ => None,
            };
            has_text.push(text.is_some());
            if let Some(t) = text {
                texts.push(t);
                at.push(k);
            }
        }
        let texts = (texts.len() > 1)
            .then(|| {
                aho_corasick::packed::Config::new()
                    .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(&texts)
                    .build()
            })
            .flatten()
            .map(|search| Texts {
                search,
                skip: (0..texts.len())
                    .map(|p| skip(&texts[..p], texts[p]))
                    .collect(),
                at,
                has_text,
            });
        Group { rows, texts }
    }

    /// Where in the group's rows the first row whose text `message` holds
    /// is (`usize::MAX` when it holds none): rows needing a text before it
    /// cannot fit, it fits by its text. At each place where a text starts
    /// the search gives the first of those starting there; searching again
    /// from each next place where a text of a lower id can start visits
    /// every place such a text starts, so the least id seen is the least of
    /// all texts present. (`skip` says where that next place is: a text
    /// found is in the message, so a text of a lower id starts within it
    /// only where it fits with its bytes.)
    #[inline]
    fn first_text(texts: &Texts, message: &[u8]) -> usize {
        Self::first_text_by(texts, message, |p| texts.skip[p])
    }

    /// [`Group::first_text`] with the next search from `skip(id)` past a
    /// match's start (1 for every id: each next place).
    #[inline(always)]
    fn first_text_by(texts: &Texts, message: &[u8], skip: impl Fn(usize) -> usize) -> usize {
        let mut first = usize::MAX;
        let mut from = 0;
        while from < message.len()
            && let Some(m) = texts
                .search
                .find_in(message, aho_corasick::Span::from(from..message.len()))
        {
            let p = m.pattern().as_usize();
            if p < first {
                first = p;
                if first == 0 {
                    break;
                }
            }
            from = m.start() + skip(p);
        }
        texts.at.get(first).copied().unwrap_or(usize::MAX)
    }
}

/// How far past where `text` starts in a message a text of `lower` may
/// start: the least offset from 1 at which one of them agrees with the
/// bytes of `text` it would overlap, `text`'s length where none does (at
/// least 1).
fn skip(lower: &[&str], text: &str) -> usize {
    let text = text.as_bytes();
    (1..text.len())
        .find(|&d| {
            lower.iter().any(|q| {
                let (q, rest) = (q.as_bytes(), &text[d..]);
                let n = q.len().min(rest.len());
                q[..n] == rest[..n]
            })
        })
        .unwrap_or(text.len().max(1))
}

impl Apache {
    /// Indexes the Apache rows.
    pub fn new(rows: Vec<Compiled>) -> Apache {
        let mut by_ah: hashbrown::HashMap<u32, Vec<usize>> = hashbrown::HashMap::new();
        let (mut any, mut plain) = (Vec::new(), Vec::new());
        for (i, c) in rows.iter().enumerate() {
            match c.sig.matcher {
                Match::Ah(n) | Match::AhContains(n, _) => by_ah.entry(n).or_default().push(i),
                Match::Any => {
                    any.push(i);
                    plain.push(i);
                }
                _ => plain.push(i),
            }
        }
        let mut numbers: Vec<u32> = by_ah.keys().copied().collect();
        numbers.sort_unstable();
        let mut index = vec![NO_GROUP; numbers.last().map_or(0, |&n| n as usize + 1)];
        let mut groups = Vec::with_capacity(numbers.len());
        for n in numbers {
            let mut group = by_ah.remove(&n).unwrap_or_default();
            group.extend_from_slice(&any);
            index[n as usize] = u16::try_from(groups.len()).unwrap_or(NO_GROUP);
            groups.push(Group::new(group, &rows));
        }
        let any_needs_errno = any
            .iter()
            .all(|&i| matches!(rows[i].sig.errno, Errnos::Is(_)));
        let between_keys = rows
            .iter()
            .map(|c| match c.sig.extract {
                Extract::Between(a, b, _) => (rare_byte(a.as_bytes()), rare_byte(b.as_bytes())),
                _ => (0, 0),
            })
            .collect();
        Apache {
            between_keys,
            rows,
            groups,
            by_ah: index.into_boxed_slice(),
            any,
            plain,
            any_needs_errno,
        }
    }

    /// The rows of message number `n`, if it has any of its own.
    #[inline]
    fn group(&self, n: u32) -> Option<&Group> {
        let g = *self.by_ah.get(usize::try_from(n).ok()?)?;
        self.groups.get(usize::from(g))
    }

    /// Classifies an Apache line.
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        self.classify_filtered(head, scratch, true)
    }

    /// [`Apache::classify`], with or without the shortcuts (`filter`): the
    /// look at the message number alone and the one search for the texts
    /// of a message number's rows, which must not change what it says.
    #[inline]
    fn classify_filtered<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
        filter: bool,
    ) -> Option<Classified<'a>> {
        // mod_ssl reports backend TLS failures at info level; only debug
        // and trace lines are left out.
        if head.level == b"debug" || head.level.starts_with(b"trace") {
            return None;
        }
        let parts = Body::parse_parts(head.body);
        let group = parts.ah.and_then(|n| self.group(n));
        // Most lines of a busy log (`AH00128: File does not exist`,
        // `AH01630: client denied`) have a message number no row asks for:
        // they are told from the number, without a look at the message.
        if parts.ah.is_some()
            && group.is_none()
            && parts.status.is_none()
            && filter
            && self.any_needs_errno
        {
            return None;
        }
        let body = parts.with_referer();
        if body.ah.is_none() && body.status.is_none() && find(body.message, b"proxy").is_none() {
            return None;
        }
        let errno = body.status.map(|s| match s {
            Status::Code(n) => Errno::of(n),
            Status::Eai(_) => Errno::Dns,
        });
        let remote = body.peer.is_some_and(|p| p.remote);
        let rows = match (body.ah, group) {
            (_, Some(g)) => &g.rows,
            (Some(_), None) => &self.any,
            (None, None) => &self.plain,
        };
        // Rows that need a text: those before the first whose text the
        // message holds cannot fit, that one fits by its text.
        let texts = group.and_then(|g| g.texts.as_ref()).filter(|_| filter);
        let first_text = texts.map_or(usize::MAX, |t| Group::first_text(t, body.message));
        for (k, &i) in rows.iter().enumerate() {
            let c = &self.rows[i];
            let s = &c.sig;
            let msg_ok = match texts {
                Some(t) if t.has_text[k] && k < first_text => false,
                // The group's message number is the line's.
                Some(_) if k == first_text => true,
                _ => c.matches(body.message, body.ah),
            };
            let phase_ok = !matches!(s.phase, Phase::RemotePeer) || remote;
            if !(msg_ok && phase_ok && errno_ok(s.errno, errno)) {
                continue;
            }
            let upstream = match s.extract {
                Extract::ApacheConnect if filter => apache_connect_target(body.message, scratch),
                Extract::ApacheConnect => apache_connect_target_any(body.message, scratch),
                Extract::Between(a, b, p) => {
                    let v = if filter {
                        between_by(
                            body.message,
                            a.as_bytes(),
                            b.as_bytes(),
                            self.between_keys[i],
                        )
                    } else {
                        between(body.message, a.as_bytes(), b.as_bytes())
                    };
                    v.map(|v| with_prefix(p, body.message, v, scratch))
                }
                Extract::ApacheRemote(scheme) => body
                    .peer
                    .filter(|p| p.remote)
                    .map(|p| built(scratch, &[scheme.as_bytes(), p.addr])),
                _ => None,
            };
            let route = returned_by(body.message);
            return finish(c, errno, upstream, route, None);
        }
        None
    }
}

/// The path after the last ` returned by ` (Apache's `ap_proxyerror`
/// lines end with the request URI).
#[inline]
fn returned_by(msg: &[u8]) -> Option<&[u8]> {
    const TEXT: &[u8] = b" returned by ";
    const K: usize = rare_byte(TEXT);
    crate::bytes::rfind_by_in_text(msg, TEXT, K).map(|i| &msg[i + TEXT.len()..])
}

/// The index of the byte of `text` searched for (see
/// [`crate::bytes::rare_byte`]); 0 for an empty text.
const fn rare_byte(text: &[u8]) -> usize {
    crate::bytes::rare_byte_const(text)
}

/// [`between`] by [`crate::bytes::find_by`], the index of the byte of each
/// text searched for given (both texts not empty).
#[inline]
fn between_by<'a>(b: &'a [u8], start: &[u8], end: &[u8], keys: (usize, usize)) -> Option<&'a [u8]> {
    let i = crate::bytes::find_by(b, start, keys.0)? + start.len();
    let rest = &b[i..];
    let j = crate::bytes::find_by(rest, end, keys.1).unwrap_or(rest.len());
    Some(&rest[..j])
}

/// [`apache_connect_target_any`] for 2.4's form, `HTTP: attempt to connect
/// to ...` at the start of the message, where the text and the scheme are
/// where they start; the same result.
#[inline]
fn apache_connect_target<'a>(msg: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    const TEXT: &[u8] = b"attempt to connect to ";
    // The scheme: letters up to `: ` in the first 12 bytes, not `proxy`
    // (2.2's prefix). No earlier `attempt to connect to ` fits in it.
    let colon = msg[..msg.len().min(12)].iter().position(|&c| c == b':');
    let Some(colon) = colon.filter(|&c| {
        c > 0
            && msg.get(c + 1) == Some(&b' ')
            && msg[..c].iter().all(u8::is_ascii_alphabetic)
            && &msg[..c] != b"proxy"
            && msg[c + 2..].starts_with(TEXT)
    }) else {
        return apache_connect_target_any(msg, scratch);
    };
    let rest = &msg[colon + 2 + TEXT.len()..];
    // Up to the first ` (`.
    let end = crate::bytes::find_by(rest, b" (", 1).unwrap_or(rest.len());
    let target = &rest[..end];
    if let Some(path) = target.strip_prefix(b"Unix domain socket ") {
        return Some(built(scratch, &[b"unix:", path]));
    }
    let target = target.strip_suffix(b" failed").unwrap_or(target);
    scratch.clear();
    scratch.extend(msg[..colon].iter().map(u8::to_ascii_lowercase));
    scratch.extend_from_slice(b"://");
    scratch.extend_from_slice(target);
    Some(scratch)
}

/// Apache `HTTP: attempt to connect to 10.0.0.5:8080 (backend:8080) failed`,
/// `FCGI: attempt to connect to Unix domain socket /run/php.sock (...) failed`,
/// or the 2.2 form with `proxy: ` in front.
fn apache_connect_target_any<'a>(msg: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let target = between(msg, b"attempt to connect to ", b" (")?;
    if let Some(path) = target.strip_prefix(b"Unix domain socket ") {
        return Some(built(scratch, &[b"unix:", path]));
    }
    let target = target.strip_suffix(b" failed").unwrap_or(target);
    Some(with_prefix(Prefix::Scheme, msg, target, scratch))
}

/// Puts the prefix in front of an extracted address (in `scratch` when
/// there is one).
fn with_prefix<'a>(p: Prefix, msg: &'a [u8], v: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    match p {
        Prefix::Raw => v,
        Prefix::Http => built(scratch, &[b"http://", v]),
        Prefix::Scheme => {
            let m = msg.strip_prefix(b"proxy: ").unwrap_or(msg);
            let scheme = match crate::bytes::find_by(&m[..m.len().min(12)], b": ", 0) {
                Some(i) if m[..i].iter().all(u8::is_ascii_alphabetic) => &m[..i],
                _ => b"http",
            };
            scratch.clear();
            scratch.extend(scheme.iter().map(u8::to_ascii_lowercase));
            scratch.extend_from_slice(b"://");
            scratch.extend_from_slice(v);
            scratch
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::parse::{ParseState, Scratch, parse_head};

    /// Lines told by their message number alone, by one search for the
    /// texts of their number's rows and with their upstream read by the
    /// shortcuts, are classified as the plain walk over the rows classifies
    /// them: every Apache fixture line, and each with its message number,
    /// status and message changed.
    #[test]
    fn the_message_number_filter_changes_nothing() {
        let catalog = Catalog::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for dir in ["apache", "faults", "logid", "startup", "incidents"] {
            for f in std::fs::read_dir(root.join(dir)).unwrap() {
                let text = std::fs::read(f.unwrap().path()).unwrap();
                for l in text.split(|&c| c == b'\n').filter(|l| l.starts_with(b"[")) {
                    lines.push(l.to_vec());
                    let s = String::from_utf8_lossy(l);
                    for (from, to) in [
                        ("AH00957", "AH00128"),
                        ("AH01102", "AH01630"),
                        ("AH00898", "AH09999"),
                        ("(111)", ""),
                        ("(70007)", ""),
                        ("AH00128", "AH00957"),
                        // Several texts of AH00898's rows, in either order.
                        (
                            "Error reading from remote server",
                            "Error reading from remote server (Corrupt status line)",
                        ),
                        (
                            "Error reading from remote server",
                            "Timeout on 100-Continue, interim responses",
                        ),
                        (
                            "Error reading from remote server",
                            "x DNS lookup failure for: a.b Error during SSL Handshake",
                        ),
                        ("DNS lookup failure for: ", "Corrupt status line: "),
                        (
                            "Primary script unknown",
                            "PHP Fatal error: Access to the script",
                        ),
                        // Connect messages in other forms.
                        (
                            "HTTP: attempt to connect to",
                            "proxy: attempt to connect to",
                        ),
                        ("HTTP: attempt to connect to", "Http: attempt to connect to"),
                        ("HTTP: attempt", "H1: attempt"),
                        ("HTTP: attempt", "HTTPSCHEMEX: attempt"),
                        ("HTTP: attempt", "attempt"),
                        (
                            "attempt to connect to ",
                            "attempt to connect to Unix domain socket ",
                        ),
                        (" (", " failed "),
                        ("remote server ", "remote server remote server "),
                        ("remote server ", "remote server"),
                    ] {
                        lines.push(s.replace(from, to).into_bytes());
                    }
                }
            }
        }
        lines.push(b"[Fri Nov 21 22:21:05.520509 2025] [core:error] [pid 1:tid 2] (24)Too many open files: AH00128: x".to_vec());
        for message in connect_messages() {
            let mut l = b"[Fri Nov 21 22:21:05.520509 2025] [proxy:error] [pid 1:tid 2] (111)Connection refused: AH00957: ".to_vec();
            l.extend_from_slice(&message);
            lines.push(l);
        }
        let (mut told, mut filtered) = (0, 0);
        for line in &lines {
            let mut scratch = Scratch::default();
            let Some(head) = parse_head(line, &mut ParseState::new(2026), &mut scratch) else {
                continue;
            };
            if head.server != crate::event::Server::Apache {
                continue;
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let fast = catalog.apache.classify_filtered(&head, &mut a, true);
            let plain = catalog.apache.classify_filtered(&head, &mut b, false);
            assert_eq!(fast, plain, "{}", String::from_utf8_lossy(line));
            told += usize::from(plain.is_some());
            let parts = crate::parse::apache::Body::parse_parts(head.body);
            filtered += usize::from(
                parts.status.is_none()
                    && parts.ah.is_some_and(|n| catalog.apache.group(n).is_none()),
            );
        }
        assert!(told > 100 && filtered > 100, "{told} {filtered}");
    }

    /// The search for the first text of a group's rows, with its skips past
    /// each text found, gives the text of least id the message holds, as a
    /// plain search for each text does, and as the search from each next
    /// place does: on messages made of the texts, their pieces and their
    /// overlaps, in every order.
    #[test]
    fn first_text_is_the_least_text_present() {
        let catalog = Catalog::new();
        let apache = &catalog.apache;
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut checked = 0;
        for g in &apache.groups {
            let Some(t) = &g.texts else { continue };
            let texts: Vec<&[u8]> =
                t.at.iter()
                    .map(|&k| match apache.rows[g.rows[k]].sig.matcher {
                        crate::catalog::rows::Match::AhContains(_, text) => text.as_bytes(),
                        _ => unreachable!(),
                    })
                    .collect();
            for _ in 0..4_000 {
                crate::testing::xorshift(&mut x);
                let mut m = Vec::new();
                for i in 0..(x % 5) {
                    let r = x.rotate_left(13 * i as u32);
                    let text = texts[(r % texts.len() as u64) as usize];
                    let a = (r >> 8) as usize % (text.len() + 1);
                    let b = (r >> 20) as usize % (text.len() + 1);
                    match (r >> 40) % 4 {
                        0 => m.extend_from_slice(text),
                        1 => m.extend_from_slice(&text[a.min(b)..a.max(b)]),
                        2 => m.extend_from_slice(b" returned by /x"),
                        _ => {
                            // Overlapping: the text again from a place in it.
                            m.extend_from_slice(text);
                            m.extend_from_slice(&text[a..]);
                        }
                    }
                }
                let plain = (0..texts.len())
                    .find(|&p| memchr::memmem::find(&m, texts[p]).is_some())
                    .map_or(usize::MAX, |p| t.at[p]);
                assert_eq!(
                    super::Group::first_text(t, &m),
                    plain,
                    "{}",
                    String::from_utf8_lossy(&m)
                );
                assert_eq!(super::Group::first_text_by(t, &m, |_| 1), plain);
                checked += usize::from(plain != usize::MAX);
            }
        }
        assert!(checked > 1_000, "{checked}");
    }

    /// Each message number's rows are those the table gives it, in order,
    /// then the rows that take any number; a number of no row has none.
    #[test]
    fn rows_by_message_number() {
        use crate::catalog::rows::Match;
        let catalog = Catalog::new();
        let apache = &catalog.apache;
        let mut with_rows = 0;
        for n in 0..20_000 {
            let own: Vec<usize> = (0..apache.rows.len())
                .filter(|&i| {
                    matches!(apache.rows[i].sig.matcher,
                        Match::Ah(m) | Match::AhContains(m, _) if m == n)
                })
                .collect();
            match apache.group(n) {
                Some(g) => {
                    with_rows += 1;
                    let mut want = own.clone();
                    want.extend_from_slice(&apache.any);
                    assert_eq!(g.rows, want, "AH{n:05}");
                }
                None => assert!(own.is_empty(), "AH{n:05}"),
            }
        }
        assert!(with_rows > 50, "{with_rows}");
        assert!(apache.group(u32::MAX).is_none());
    }

    /// Messages of AH00957 in the forms Apache writes and cut or changed.
    fn connect_messages() -> Vec<Vec<u8>> {
        let base: [&[u8]; 5] = [
            b"HTTP: attempt to connect to 127.0.0.1:9 (localhost:9) failed",
            b"FCGI: attempt to connect to Unix domain socket /run/php/php8.2-fpm.sock (localhost:8000) failed",
            b"proxy: HTTP: attempt to connect to 10.0.0.5:8080 (backend) failed",
            b"H2C: attempt to connect to [2001:db8::1]:8080 ([2001:db8::1]:8080) failed",
            b"HTTP: attempt to connect to 10.0.0.5:8080 failed",
        ];
        let mut out = Vec::new();
        for m in base {
            for at in 0..=m.len() {
                out.push(m[..at].to_vec());
                out.push(m[at..].to_vec());
                for b in [b':', b' ', b'(', b'a', b'P'] {
                    let mut x = m.to_vec();
                    if at < x.len() {
                        x[at] = b;
                        out.push(x);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn connect_target_reads_as_the_plain_one() {
        let mut fast_told = 0;
        for m in connect_messages() {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let fast = super::apache_connect_target(&m, &mut a).map(<[u8]>::to_vec);
            let plain = super::apache_connect_target_any(&m, &mut b).map(<[u8]>::to_vec);
            assert_eq!(fast, plain, "{}", String::from_utf8_lossy(&m));
            fast_told += usize::from(fast.is_some());
        }
        assert!(fast_told > 100, "{fast_told}");
    }
}
