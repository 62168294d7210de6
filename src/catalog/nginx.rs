//! nginx's classifier: which row an nginx error line fits, found through
//! its first byte, a prefilter, and a memo of recent line starts.

use super::compiled::{
    Classified, Compiled, CompiledCause, Prefilter, between, built, errno_ok, finish,
};
use super::errno::Errno;
use super::memo::{Fit, FitMemo};
use super::rows::{Extract, Match, Phase};
use crate::bytes::find;
use crate::parse::Head;
use crate::parse::nginx::{LazyBody, context_start};

/// The nginx rows, and the indexes that find a line's row fast.
pub struct Nginx {
    /// The rows, in table order.
    pub(super) rows: Vec<Compiled>,
    /// One pass over a line for every token a failure has.
    pub(super) prefilter: Prefilter,
    /// Rows that can match a message starting with a given byte (in table
    /// order): rows matched by prefix only under their first byte, the
    /// others under every byte.
    /// Bytes with the same rows share one list.
    by_first: Vec<std::sync::Arc<[usize]>>,
    /// Prefixes of rows matched by prefix, by their first byte.
    prefixes: Vec<Vec<&'static [u8]>>,
}

impl Nginx {
    /// Indexes the nginx rows; `tokens` are the prefilter's.
    pub fn new(rows: Vec<Compiled>, tokens: &[&str]) -> Nginx {
        let first_of = |c: &Compiled| match c.sig.matcher {
            Match::Prefix(p) | Match::PrefixContains(p, _) => Some(p.as_bytes()[0]),
            _ => None,
        };
        // Few bytes start a prefix: the list of each is built once, and
        // every other byte shares the one list of the rows matched
        // otherwise (not 256 lists grown a row at a time).
        let others: std::sync::Arc<[usize]> = (0..rows.len())
            .filter(|&i| first_of(&rows[i]).is_none())
            .collect();
        let mut by_first: Vec<Option<std::sync::Arc<[usize]>>> = vec![None; 256];
        let mut prefixes = vec![Vec::new(); 256];
        for c in &rows {
            if let Match::Prefix(p) | Match::PrefixContains(p, _) = c.sig.matcher {
                let first = p.as_bytes()[0];
                prefixes[usize::from(first)].push(p.as_bytes());
                by_first[usize::from(first)].get_or_insert_with(|| {
                    (0..rows.len())
                        .filter(|&j| first_of(&rows[j]).is_none_or(|f| f == first))
                        .collect()
                });
            }
        }
        let by_first = by_first
            .into_iter()
            .map(|list| list.unwrap_or_else(|| std::sync::Arc::clone(&others)))
            .collect();
        // Only whether a line starts with any of them matters: a prefix
        // that another one starts (or repeats) adds nothing but a compare.
        for list in &mut prefixes {
            let all = std::mem::take(list);
            for (i, p) in all.iter().enumerate() {
                let covered = all
                    .iter()
                    .enumerate()
                    .any(|(j, q)| (q.len() < p.len() && p.starts_with(q)) || (q == p && j < i));
                if !covered {
                    list.push(*p);
                }
            }
        }
        Nginx {
            rows,
            prefilter: Prefilter::new(tokens),
            by_first,
            prefixes,
        }
    }

    /// The rows that can match a message starting with byte `first`, in
    /// table order: those matched by prefix when the prefix starts with
    /// `first`, and every row matched otherwise.
    #[cfg(test)]
    pub(super) fn rows_for(&self, first: usize) -> &[usize] {
        &self.by_first[first]
    }

    /// Classifies an nginx line; `memo` keeps what the text before the
    /// context decides (see [`FitMemo`]).
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
        memo: Option<&mut FitMemo>,
    ) -> Option<Classified<'a>> {
        // nginx logs failures towards upstreams at warn and above (info is
        // reserved for client-side errors); the prefilter then skips every
        // line without a failure token.
        // At `emerg` nginx did not start or reload: no request failed (see
        // `startup`).
        if matches!(head.level, b"info" | b"notice" | b"debug" | b"emerg") {
            return None;
        }
        let first = usize::from(*head.body.first()?);
        // Rows look at the message, errno and action, all before the
        // context: a line whose text before its context has none of the
        // prefilter's tokens matches no row. Most failures start with a
        // row's prefix and have `upstream` in their action, which answers
        // that without a pass over the text.
        let at = context_start(head.body).unwrap_or(head.body.len());
        let (pre, ctx_raw) = head.body.split_at(at);
        let prefixed = self.prefixes[first].iter().any(|p| pre.starts_with(p));
        if !prefixed && !self.prefilter.is_match(pre) {
            return None;
        }
        // A worker's death (`worker process N exited on signal 11`, at
        // `alert`) has none of the prefilter's tokens.
        let alert = prefixed && matches!(head.level, [b'a', b'l', ..]);
        let decide = || self.fit(pre, &self.by_first[first]);
        let fit = match memo {
            Some(m) => m.get_or(pre, decide),
            None => decide(),
        };
        if prefixed && !fit.action_upstream && !alert && !self.prefilter.is_match(pre) {
            return None;
        }
        let row = &self.rows[fit.row? as usize];
        let (a, b) = fit.action;
        let body = LazyBody {
            message: &pre[..fit.message_len as usize],
            errno: fit.errno,
            action: &pre[a as usize..b as usize],
            ctx_raw,
        };
        self.row_says(row, &body, scratch)
    }

    /// What the text before an nginx line's context decides: its parts and
    /// the first of `rows` (indices into the nginx rows, in table order)
    /// that it fits.
    pub(super) fn fit(&self, pre: &[u8], rows: &[usize]) -> Fit {
        let body = LazyBody::parse_pre(pre, b"");
        // The parts are slices of `pre`, kept as offsets into it.
        let action_at = if body.action.is_empty() {
            0
        } else {
            body.action.as_ptr() as usize - pre.as_ptr() as usize
        };
        Fit {
            row: self.row(&body, rows).map(|i| i as u32),
            message_len: body.message.len() as u32,
            errno: body.errno,
            action: (action_at as u32, (action_at + body.action.len()) as u32),
            action_upstream: find(body.action, b"upstream").is_some(),
        }
    }

    /// The first of `rows` that the line fits; `None` when none does or
    /// that row says to ignore the line.
    pub(super) fn row(&self, body: &LazyBody<'_>, rows: &[usize]) -> Option<usize> {
        let errno = body.errno.map(Errno::of);
        for &i in rows {
            let c = &self.rows[i];
            let s = &c.sig;
            let msg_ok = c.matches(body.message, None);
            let phase_ok = match s.phase {
                Phase::Any | Phase::RemotePeer => true,
                Phase::Upstream => body.action.ends_with(b"upstream"),
                Phase::Action(a) => body.action == a.as_bytes(),
            };
            if !(msg_ok && phase_ok && errno_ok(s.errno, errno)) {
                continue;
            }
            if matches!(c.cause, CompiledCause::Ignore) {
                return None;
            }
            return Some(i);
        }
        None
    }

    /// What an nginx line that fits row `c` says.
    pub(super) fn row_says<'a>(
        &self,
        c: &Compiled,
        body: &LazyBody<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        let s = &c.sig;
        let errno = body.errno.map(Errno::of);
        let ctx = body.upstream_context();
        let upstream = match s.extract {
            Extract::NginxPeer => ctx
                .upstream
                .map(upstream_server)
                .or_else(|| between(body.message, b"connect() to ", b" failed")),
            Extract::NginxGroup => ctx.upstream.map(upstream_host),
            Extract::NginxResolvedName => resolved_name(body.message),
            Extract::NginxResolver => ctx.resolver.map(|r| built(scratch, &[b"resolver ", r])),
            _ => None,
        };
        finish(c, errno, upstream, ctx.request, ctx.request)
    }
}

/// nginx `upstream:` value as a server: scheme and address without the
/// URI; unix sockets as `unix:/path`. A sub-slice, so nothing is copied.
pub fn upstream_server(u: &[u8]) -> &[u8] {
    // The usual scheme is told without a search.
    let sep = if u.starts_with(b"http://") {
        4
    } else {
        match find(u, b"://") {
            Some(sep) => sep,
            None => return u,
        }
    };
    let rest = &u[sep + 3..];
    if rest.starts_with(b"unix:") {
        // `unix:/run/x.sock:` + URI; the path ends at the ':' nginx adds.
        let end = memchr::memchr(b':', &rest[5..]).map_or(rest.len(), |i| i + 5);
        return &rest[..end];
    }
    let end = crate::bytes::find_byte(b'/', rest).unwrap_or(rest.len());
    &u[..sep + 3 + end]
}

/// Host part of an nginx `upstream:` value (the upstream block's name for
/// `no live upstreams`).
fn upstream_host(u: &[u8]) -> &[u8] {
    let rest = match find(u, b"://") {
        Some(i) => &u[i + 3..],
        None => u,
    };
    let end = memchr::memchr(b'/', rest).unwrap_or(rest.len());
    &rest[..end]
}

/// The unresolvable name in nginx resolver errors.
fn resolved_name(msg: &[u8]) -> Option<&[u8]> {
    if let Some(i) = find(msg, b" could not be resolved") {
        return Some(&msg[..i]);
    }
    if let Some(name) = between(msg, b"in upstream \"", b"\"") {
        return Some(name);
    }
    msg.strip_prefix(b"no resolver defined to resolve ")
}
