//! The rows compiled: cause ids looked up, searchers built, and what a
//! matching row says of a line ([`Classified`]). Shared by the classifier
//! of every server.

use std::sync::LazyLock;

use memchr::memmem;

use super::errno::Errno;
use super::rows::{CauseRule, Errnos, Match, Signature};
use crate::bytes::find;
use crate::event::{CauseId, Role};

/// A line recognised as (part of) an upstream failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified<'a> {
    /// The cause; `None` for attach-only lines.
    pub cause: Option<CauseId>,
    /// Multi-line role.
    pub role: Role,
    /// Strong or weak evidence for the cause.
    pub strong: bool,
    /// Status override from the signature.
    pub status: Option<u16>,
    /// The upstream as a server (`http://10.0.1.5:8080`, `unix:/x.sock`,
    /// a group or host name), built from the line.
    pub upstream: Option<&'a [u8]>,
    /// Raw route source: a request line (`GET /x HTTP/1.1`) or a path.
    pub route: Option<&'a [u8]>,
    /// nginx: the request line, to recognise retries of one request.
    pub request: Option<&'a [u8]>,
}

/// A signature row, compiled.
pub struct Compiled {
    /// The row.
    pub sig: Signature,
    /// Its cause rule, with cause ids.
    pub cause: CompiledCause,
    /// Searcher for the text the message must contain, built once.
    pub contains: Option<memmem::Finder<'static>>,
}

impl Compiled {
    /// Whether the message (and Apache message number) fit this row.
    #[inline]
    pub fn matches(&self, message: &[u8], ah: Option<u32>) -> bool {
        let contains = || {
            self.contains
                .as_ref()
                .is_none_or(|f| f.find(message).is_some())
        };
        match self.sig.matcher {
            Match::Prefix(p) => message.starts_with(p.as_bytes()),
            Match::Contains(_) => contains(),
            Match::PrefixContains(p, _) => message.starts_with(p.as_bytes()) && contains(),
            Match::Ah(n) => ah == Some(n),
            Match::AhContains(n, _) => ah == Some(n) && contains(),
            Match::Any => true,
        }
    }

    /// [`Compiled::matches`] for a message known to hold the row's text.
    #[inline]
    fn fits_besides_text(&self, message: &[u8], ah: Option<u32>) -> bool {
        match self.sig.matcher {
            Match::Contains(_) => true,
            Match::PrefixContains(p, _) => message.starts_with(p.as_bytes()),
            Match::AhContains(n, _) => ah == Some(n),
            _ => self.matches(message, ah),
        }
    }
}

/// A multi-literal search: the vectorized packed searcher where the target
/// has one (the lines are short, and the full automaton around it only adds
/// set-up per call), else the automaton.
pub enum Prefilter {
    /// Teddy, where the target has it.
    Packed(aho_corasick::packed::Searcher),
    /// Aho-Corasick otherwise.
    Automaton(aho_corasick::AhoCorasick),
}

impl Prefilter {
    /// The search for any of `tokens`.
    pub fn new(tokens: &[&str]) -> Prefilter {
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(tokens)
            .build();
        match packed {
            Some(p) => Prefilter::Packed(p),
            None => Prefilter::Automaton(
                aho_corasick::AhoCorasick::new(tokens).unwrap_or_else(|e| panic!("prefilter: {e}")),
            ),
        }
    }

    /// Whether any token occurs in `hay`.
    #[inline]
    pub fn is_match(&self, hay: &[u8]) -> bool {
        match self {
            Prefilter::Packed(p) => p.find(hay).is_some(),
            Prefilter::Automaton(a) => a.is_match(hay),
        }
    }
}

/// Which of a server's rows can fit a message, told by a multi-literal
/// search: the first row (in table order) whose text the message holds is
/// found, and only the rows matched otherwise (by prefix, by message
/// number, any) are tried before it; it (its text known to be there) and
/// the rows after it are tried as they come. When no text occurs (most lines of a log are no failure)
/// that is the rows matched otherwise alone. Either way the row chosen is
/// the one the plain walk over all rows chooses: the rows skipped need a
/// text the message does not hold.
pub struct RowFilter {
    /// The texts of the rows that need one.
    texts: Option<Prefilter>,
    /// The row of each text, in table order (a text's pattern id is its
    /// index here).
    text_rows: Vec<usize>,
    /// Rows tried whatever the message, in table order.
    always: Vec<usize>,
}

impl RowFilter {
    /// The filter of `rows`.
    pub fn new(rows: &[Compiled]) -> RowFilter {
        let mut texts = Vec::new();
        let mut text_rows = Vec::new();
        let mut always = Vec::new();
        for (i, c) in rows.iter().enumerate() {
            match c.sig.matcher {
                Match::Contains(t) | Match::PrefixContains(_, t) | Match::AhContains(_, t) => {
                    texts.push(t);
                    text_rows.push(i);
                }
                Match::Prefix(_) | Match::Ah(_) | Match::Any => always.push(i),
            }
        }
        RowFilter {
            texts: (!texts.is_empty()).then(|| Prefilter::new(&texts)),
            text_rows,
            always,
        }
    }

    /// [`RowFilter::new`] with the automaton where Teddy would do, to test
    /// the fallback.
    #[cfg(test)]
    pub fn new_with_automaton(rows: &[Compiled]) -> RowFilter {
        let mut f = RowFilter::new(rows);
        let texts: Vec<&str> = f
            .text_rows
            .iter()
            .filter_map(|&i| match rows[i].sig.matcher {
                Match::Contains(t) | Match::PrefixContains(_, t) | Match::AhContains(_, t) => {
                    Some(t)
                }
                _ => None,
            })
            .collect();
        if !texts.is_empty() {
            f.texts = Some(Prefilter::Automaton(
                aho_corasick::AhoCorasick::new(&texts).unwrap_or_else(|e| panic!("{e}")),
            ));
        }
        f
    }

    /// The first row (in table order) that fits `message` and `ah`: the
    /// one the plain walk over all rows gives, without searching again for
    /// the text the filter found.
    #[inline]
    pub fn first_fit<'r>(
        &self,
        rows: &'r [Compiled],
        message: &[u8],
        ah: Option<u32>,
    ) -> Option<&'r Compiled> {
        let first = self.first_text_row(message);
        let before = first.map_or(usize::MAX, |(i, _)| i);
        for &i in self.always.iter().take_while(|&&i| i < before) {
            if let Some(c) = rows.get(i)
                && c.matches(message, ah)
            {
                return Some(c);
            }
        }
        let (i, held) = first?;
        let c = rows.get(i)?;
        let fits = if held {
            c.fits_besides_text(message, ah)
        } else {
            c.matches(message, ah)
        };
        if fits {
            return Some(c);
        }
        rows.get(i + 1..)?.iter().find(|c| c.matches(message, ah))
    }

    /// The first row whose text `message` holds, and `true`; with the
    /// automaton, the first row that needs a text when any of them occurs,
    /// and `false` (its own text is not known to be there).
    #[inline]
    fn first_text_row(&self, message: &[u8]) -> Option<(usize, bool)> {
        match self.texts.as_ref()? {
            // Leftmost-first: at each place where a text starts, the first
            // (in table order) of those starting there. Searching again
            // from each next place visits every place a text starts, so
            // the least id seen is the least of all texts present.
            Prefilter::Packed(p) => {
                let mut first = usize::MAX;
                let mut at = 0;
                while let Some(m) = p.find_in(message, aho_corasick::Span::from(at..message.len()))
                {
                    first = first.min(m.pattern().as_usize());
                    if first == 0 {
                        break;
                    }
                    at = m.start() + 1;
                }
                self.text_rows.get(first).map(|&i| (i, true))
            }
            Prefilter::Automaton(a) => a
                .is_match(message)
                .then(|| self.text_rows.first().map(|&i| (i, false)))
                .flatten(),
        }
    }
}

/// A row's cause rule with the cause ids looked up.
pub enum CompiledCause {
    /// Always this cause.
    Fixed(CauseId),
    /// By errno, else the default (weak).
    ByErrno(Vec<(Errno, CauseId)>, CauseId),
    /// Not a failure.
    Ignore,
    /// Part of the failure being assembled.
    Attach,
}

/// Compiles `sig`. Panics only if the row names an unknown cause, which
/// the unit tests rule out.
pub fn compile(sig: &Signature) -> Compiled {
    let id = |s: &str| CauseId::from_id(s).unwrap_or_else(|| panic!("unknown cause id {s}"));
    let cause = match sig.cause {
        CauseRule::Fixed(c) => CompiledCause::Fixed(id(c)),
        CauseRule::ByErrno(table, default) => CompiledCause::ByErrno(
            table.iter().map(|&(e, c)| (e, id(c))).collect(),
            id(default),
        ),
        CauseRule::Ignore => CompiledCause::Ignore,
        CauseRule::Attach => CompiledCause::Attach,
    };
    let contains = match sig.matcher {
        Match::Contains(t) | Match::PrefixContains(_, t) | Match::AhContains(_, t) => {
            Some(memmem::Finder::new(t.as_bytes()).into_owned())
        }
        _ => None,
    };
    Compiled {
        sig: *sig,
        cause,
        contains,
    }
}

/// What a line that fits row `c` says, with what its classifier found.
#[inline]
pub fn finish<'a>(
    c: &Compiled,
    errno: Option<Errno>,
    upstream: Option<&'a [u8]>,
    route: Option<&'a [u8]>,
    request: Option<&'a [u8]>,
) -> Option<Classified<'a>> {
    let (cause, strong, role) = match &c.cause {
        CompiledCause::Ignore => return None,
        CompiledCause::Attach => (None, false, Role::Attach),
        CompiledCause::Fixed(id) => (Some(*id), c.sig.strong, c.sig.role),
        CompiledCause::ByErrno(table, default) => {
            match errno.and_then(|e| table.iter().find(|(te, _)| *te == e)) {
                Some((_, id)) => (Some(*id), c.sig.strong, c.sig.role),
                None => (Some(*default), false, c.sig.role),
            }
        }
    };
    let cause = if errno == Some(Errno::NetUnreachable) {
        ipv6_unreachable(cause, upstream)
    } else {
        cause
    };
    Some(Classified {
        cause,
        role,
        strong,
        status: c.sig.status,
        upstream: upstream.filter(|u| !u.is_empty()),
        route,
        request,
    })
}

/// Network unreachable towards an IPv6 address: the host has no IPv6, so
/// `upstream_unreachable` is `upstream_ipv6_unreachable` there.
#[cold]
#[inline(never)]
fn ipv6_unreachable(cause: Option<CauseId>, upstream: Option<&[u8]>) -> Option<CauseId> {
    match (cause, upstream) {
        (Some(id), Some(u)) if id == IPV6.0 && is_ipv6(u) => Some(IPV6.1),
        _ => cause,
    }
}

/// `upstream_unreachable` and what it is towards an IPv6 address.
static IPV6: LazyLock<(CauseId, CauseId)> = LazyLock::new(|| {
    let id = |s| CauseId::from_id(s).unwrap_or_else(|| panic!("unknown cause id {s}"));
    (id("upstream_unreachable"), id("upstream_ipv6_unreachable"))
});

/// An upstream written as an IPv6 literal: `http://[2001:db8::1]:8080`,
/// `[2001:db8::1]:8080`.
fn is_ipv6(u: &[u8]) -> bool {
    let host = match find(u, b"://") {
        Some(i) => &u[i + 3..],
        None => u,
    };
    host.first() == Some(&b'[')
        && host[1..]
            .iter()
            .take_while(|&&c| c != b']')
            .any(|&c| c == b':')
}

/// Whether the errno fits the row's rule.
pub fn errno_ok(rule: Errnos, errno: Option<Errno>) -> bool {
    match rule {
        Errnos::Any => true,
        Errnos::Is(set) => errno.is_some_and(|e| set.contains(&e)),
    }
}

/// The text between `start` and the next `end` (or the end of `b`).
pub fn between<'a>(b: &'a [u8], start: &[u8], end: &[u8]) -> Option<&'a [u8]> {
    let i = find(b, start)? + start.len();
    let rest = &b[i..];
    let j = find(rest, end).unwrap_or(rest.len());
    Some(&rest[..j])
}

/// `parts` joined in `scratch`.
pub fn built<'a>(scratch: &'a mut Vec<u8>, parts: &[&[u8]]) -> &'a [u8] {
    scratch.clear();
    for p in parts {
        scratch.extend_from_slice(p);
    }
    scratch
}
