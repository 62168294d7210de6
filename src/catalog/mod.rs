//! The catalog: upstream-failure signatures mapped to causes.
//!
//! Everything the tool knows about failure messages is data in two tables:
//! [`causes::CAUSES`] (what a cause means, its status per server, its fix)
//! and [`signatures::SIGNATURES`] (which message, errno and phase gives which
//! cause). [`Catalog::classify`] walks the signatures of the line's server in
//! order and takes the first that matches, so specific rows come before
//! general ones. A cheap literal prefilter runs first: most lines of a busy
//! error log are noise and never get past it.

pub mod causes;
pub mod errno;
mod memo;
pub mod signatures;

use memchr::memmem;

use crate::parse::{Head, Server, apache, find, nginx, php_fpm};
pub use errno::Errno;
use memo::Fit;
pub use memo::FitMemo;

/// What a cause means and how to fix it.
#[derive(Debug)]
pub struct CauseInfo {
    /// Stable identifier used in JSON, filters and rules (`upstream_timeout`).
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// HTTP status the client gets, per server (`[nginx, apache, php-fpm]`).
    pub status: [Option<u16>; 3],
    /// What happened, for a human.
    pub meaning: &'static str,
    /// The fix in a few words, for the summary table.
    pub fix_short: &'static str,
    /// The fix in that server's terms (`[nginx, apache, php-fpm]`; empty
    /// where the server has no such failure).
    pub fix: [&'static str; 3],
}

impl CauseInfo {
    /// The fix for `server`, falling back to the nginx wording.
    pub fn fix_for(&self, server: Server) -> &'static str {
        let f = self.fix[server.index()];
        if f.is_empty() { self.fix[0] } else { f }
    }
}

/// Index of a cause in [`causes::CAUSES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CauseId(pub u16);

impl CauseId {
    /// The cause's description.
    pub fn info(self) -> &'static CauseInfo {
        &causes::CAUSES[self.0 as usize]
    }

    /// Looks a cause up by its id string.
    pub fn from_id(id: &str) -> Option<CauseId> {
        causes::CAUSES
            .iter()
            .position(|c| c.id == id)
            .map(|i| CauseId(i as u16))
    }

    /// All causes, in catalog order.
    pub fn all() -> impl Iterator<Item = CauseId> {
        (0..causes::CAUSES.len()).map(|i| CauseId(i as u16))
    }
}

/// How a signature's message is recognised.
#[derive(Debug, Clone, Copy)]
pub enum Match {
    /// The message starts with this text.
    Prefix(&'static str),
    /// The message contains this text.
    Contains(&'static str),
    /// The message starts with the first text and contains the second.
    PrefixContains(&'static str, &'static str),
    /// Apache message number.
    Ah(u32),
    /// Apache message number, and the message contains this text.
    AhContains(u32, &'static str),
    /// Any message (the errno or phase decides).
    Any,
}

/// Which failure phase a line must be in.
#[derive(Debug, Clone, Copy)]
pub enum Phase {
    /// No condition.
    Any,
    /// nginx: the ` while ...` action involves the upstream (`connecting to
    /// upstream`, `reading response header from upstream`, ...: every such
    /// action ends with `upstream`). The same message logged while talking
    /// to a client is not an upstream failure.
    Upstream,
    /// nginx: the action is exactly this.
    Action(&'static str),
    /// Apache: the line is about a backend connection (`[remote ...]`).
    RemotePeer,
}

/// Which error numbers a signature accepts.
#[derive(Debug, Clone, Copy)]
pub enum Errnos {
    /// Any errno, or none.
    Any,
    /// One of these.
    Is(&'static [Errno]),
}

/// How the cause follows from the line.
#[derive(Debug, Clone, Copy)]
pub enum CauseRule {
    /// Always this cause.
    Fixed(&'static str),
    /// By the errno's meaning; the default (a weak guess) when none fits.
    ByErrno(&'static [(Errno, &'static str)], &'static str),
    /// The line is not a failure (stops matching).
    Ignore,
    /// No cause of its own; it belongs to the failure being assembled on
    /// the same Apache thread (e.g. AH00959 "disabling worker").
    Attach,
}

/// How a line takes part in a failure logged over several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A complete failure by itself.
    Alone,
    /// Opens (or adds to) a failure on its Apache thread.
    Lead,
    /// Closes the failure on its Apache thread (the request-level line).
    Final,
    /// Adds to the failure on its Apache thread, never counted alone.
    Attach,
}

/// Where the upstream name comes from.
#[derive(Debug, Clone, Copy)]
pub enum Extract {
    /// No upstream in the message.
    None,
    /// nginx `upstream: "..."` as a server, else `connect() to X failed`.
    NginxPeer,
    /// nginx `upstream: "..."` host part: the upstream block's name.
    NginxGroup,
    /// nginx: the name before ` could not be resolved`, after `resolve `, or
    /// inside `in upstream "..."`.
    NginxResolvedName,
    /// nginx `resolver: ` context.
    NginxResolver,
    /// Apache: `SCHEME: attempt to connect to ADDR (...)` or a unix socket.
    ApacheConnect,
    /// Apache: the text between two markers, with a prefix.
    Between(&'static str, &'static str, Prefix),
    /// Apache: the `[remote ip:port]` peer of a backend connection, after
    /// this scheme.
    ApacheRemote(&'static str),
    /// php-fpm: `php-fpm:<pool>`.
    PhpPool,
}

/// What goes in front of an extracted address.
#[derive(Debug, Clone, Copy)]
pub enum Prefix {
    /// Nothing: the text is the upstream (a host name, `balancer://x`).
    Raw,
    /// `http://`.
    Http,
    /// The lowercased proxy scheme the message starts with (`HTTP: `,
    /// `FCGI: `, `proxy: HTTP: `).
    Scheme,
}

/// One row of the signature table.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The server that writes this message.
    pub server: Server,
    /// How the message is recognised.
    pub matcher: Match,
    /// Errnos accepted.
    pub errno: Errnos,
    /// Phase condition.
    pub phase: Phase,
    /// How the cause is decided.
    pub cause: CauseRule,
    /// Multi-line role.
    pub role: Role,
    /// A strong match decides the cause of a joined failure; a weak one
    /// (a generic request-level line) only fills in when nothing else does.
    pub strong: bool,
    /// Status the client got, when this message tells it more precisely
    /// than the cause does (e.g. `Primary script unknown` is a 404).
    pub status: Option<u16>,
    /// Where the upstream name is.
    pub extract: Extract,
}

impl Signature {
    /// A row with the defaults of its server.
    pub const fn new(server: Server, matcher: Match, cause: CauseRule) -> Signature {
        Signature {
            server,
            matcher,
            errno: Errnos::Any,
            phase: Phase::Any,
            cause,
            role: match server {
                Server::Apache => Role::Lead,
                _ => Role::Alone,
            },
            strong: true,
            status: None,
            extract: match server {
                Server::Nginx => Extract::NginxPeer,
                Server::Apache => Extract::None,
                Server::PhpFpm => Extract::PhpPool,
            },
        }
    }
    /// Accept only these errnos.
    pub const fn errno(mut self, e: &'static [Errno]) -> Self {
        self.errno = Errnos::Is(e);
        self
    }
    /// Require a phase.
    pub const fn phase(mut self, p: Phase) -> Self {
        self.phase = p;
        self
    }
    /// Set the multi-line role.
    pub const fn role(mut self, r: Role) -> Self {
        self.role = r;
        self
    }
    /// Mark as a weak match.
    pub const fn weak(mut self) -> Self {
        self.strong = false;
        self
    }
    /// Say where the upstream is.
    pub const fn extract(mut self, x: Extract) -> Self {
        self.extract = x;
        self
    }
    /// Override the status.
    pub const fn status(mut self, s: u16) -> Self {
        self.status = Some(s);
        self
    }
}

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

/// The compiled catalog.
pub struct Catalog {
    by_server: [Vec<Compiled>; 3],
    /// One pass over an nginx line for every token a failure has.
    nginx_prefilter: Prefilter,
    /// nginx rows that can match a message starting with a given byte (in
    /// table order): rows matched by prefix only under their first byte,
    /// the others under every byte.
    nginx_by_first: Vec<Vec<usize>>,
    /// Prefixes of nginx rows matched by prefix, by their first byte.
    nginx_prefixes: Vec<Vec<&'static [u8]>>,
    /// Apache rows by message number (indices into the Apache rows, in
    /// order), so a line is checked against its own rows only.
    apache_by_ah: hashbrown::HashMap<u32, Vec<usize>>,
    /// Apache rows that take any message (errno rules).
    apache_any: Vec<usize>,
    /// Apache rows for lines without a message number (2.2, a few 2.4).
    apache_plain: Vec<usize>,
}

/// A multi-literal search: the vectorized packed searcher where the target
/// has one (the lines are short, and the full automaton around it only adds
/// set-up per call), else the automaton.
enum Prefilter {
    Packed(aho_corasick::packed::Searcher),
    Automaton(aho_corasick::AhoCorasick),
}

impl Prefilter {
    fn new(tokens: &[&str]) -> Prefilter {
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

    #[inline]
    fn is_match(&self, hay: &[u8]) -> bool {
        match self {
            Prefilter::Packed(p) => p.find(hay).is_some(),
            Prefilter::Automaton(a) => a.is_match(hay),
        }
    }
}

struct Compiled {
    sig: Signature,
    cause: CompiledCause,
    /// Searcher for the text the message must contain, built once.
    contains: Option<memmem::Finder<'static>>,
}

impl Compiled {
    /// Whether the message (and Apache message number) fit this row.
    #[inline]
    fn matches(&self, message: &[u8], ah: Option<u32>) -> bool {
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
}

enum CompiledCause {
    Fixed(CauseId),
    ByErrno(Vec<(Errno, CauseId)>, CauseId),
    Ignore,
    Attach,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalog {
    /// Compiles the tables. Panics only if the tables themselves name an
    /// unknown cause, which the unit tests rule out.
    pub fn new() -> Catalog {
        let id = |s: &str| CauseId::from_id(s).unwrap_or_else(|| panic!("unknown cause id {s}"));
        let mut by_server: [Vec<Compiled>; 3] = Default::default();
        for sig in signatures::SIGNATURES {
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
            by_server[sig.server.index()].push(Compiled {
                sig: *sig,
                cause,
                contains,
            });
        }
        let mut apache_by_ah: hashbrown::HashMap<u32, Vec<usize>> = hashbrown::HashMap::new();
        let (mut apache_any, mut apache_plain) = (Vec::new(), Vec::new());
        for (i, c) in by_server[Server::Apache.index()].iter().enumerate() {
            match c.sig.matcher {
                Match::Ah(n) | Match::AhContains(n, _) => {
                    apache_by_ah.entry(n).or_default().push(i)
                }
                Match::Any => {
                    apache_any.push(i);
                    apache_plain.push(i);
                }
                _ => apache_plain.push(i),
            }
        }
        for rows in apache_by_ah.values_mut() {
            rows.extend_from_slice(&apache_any);
        }
        let mut nginx_by_first = vec![Vec::new(); 256];
        let mut nginx_prefixes = vec![Vec::new(); 256];
        for (i, c) in by_server[Server::Nginx.index()].iter().enumerate() {
            match c.sig.matcher {
                Match::Prefix(p) | Match::PrefixContains(p, _) => {
                    let first = usize::from(p.as_bytes()[0]);
                    nginx_by_first[first].push(i);
                    nginx_prefixes[first].push(p.as_bytes());
                }
                _ => nginx_by_first.iter_mut().for_each(|rows| rows.push(i)),
            }
        }
        // Only whether a line starts with any of them matters: a prefix
        // that another one starts (or repeats) adds nothing but a compare.
        for list in &mut nginx_prefixes {
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
        Catalog {
            nginx_by_first,
            nginx_prefixes,
            by_server,
            apache_by_ah,
            apache_any,
            apache_plain,
            nginx_prefilter: Prefilter::new(signatures::NGINX_PREFILTER),
        }
    }

    /// Classifies one line. Hot: called for every recognised line, so the
    /// prefilter rejects noise before any body parsing.
    ///
    /// An upstream name that the line does not hold as it is (a scheme
    /// added, say) is built in `scratch`, which the result borrows: no
    /// allocation per line.
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        self.classify_with(head, scratch, None)
    }

    /// [`Catalog::classify`] that keeps what it decides for the start of
    /// nginx lines in `memo` (see [`FitMemo`]): a scanner passes one, as
    /// most failure lines start like one seen shortly before.
    #[inline]
    pub fn classify_with<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
        memo: Option<&mut FitMemo>,
    ) -> Option<Classified<'a>> {
        match head.format.server() {
            // nginx logs failures towards upstreams at warn and above (info
            // is reserved for client-side errors); `classify_nginx` then
            // skips every line without a failure token.
            Server::Nginx => {
                if matches!(head.level, b"info" | b"notice" | b"debug") {
                    return None;
                }
                self.classify_nginx(head, scratch, memo)
            }
            // mod_ssl reports backend TLS failures at info level; only
            // debug and trace lines are left out.
            Server::Apache => {
                if head.level == b"debug" || head.level.starts_with(b"trace") {
                    return None;
                }
                self.classify_apache(head, scratch)
            }
            Server::PhpFpm => {
                if matches!(head.level, b"DEBUG" | b"NOTICE") {
                    return None;
                }
                self.classify_php_fpm(head, scratch)
            }
        }
    }

    fn classify_nginx<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
        memo: Option<&mut FitMemo>,
    ) -> Option<Classified<'a>> {
        let first = usize::from(*head.body.first()?);
        // Rows look at the message, errno and action, all before the
        // context: a line whose text before its context has none of the
        // prefilter's tokens matches no row. Most failures start with a
        // row's prefix and have `upstream` in their action, which answers
        // that without a pass over the text.
        let at = nginx::context_start(head.body).unwrap_or(head.body.len());
        let (pre, ctx_raw) = head.body.split_at(at);
        let prefixed = self.nginx_prefixes[first]
            .iter()
            .any(|p| pre.starts_with(p));
        if !prefixed && !self.nginx_prefilter.is_match(pre) {
            return None;
        }
        let decide = || self.nginx_fit(pre, &self.nginx_by_first[first]);
        let fit = match memo {
            Some(m) => m.get_or(pre, decide),
            None => decide(),
        };
        if prefixed && !fit.action_upstream && !self.nginx_prefilter.is_match(pre) {
            return None;
        }
        let row = &self.by_server[0][fit.row? as usize];
        let (a, b) = fit.action;
        let body = nginx::LazyBody {
            message: &pre[..fit.message_len as usize],
            errno: fit.errno,
            action: &pre[a as usize..b as usize],
            ctx_raw,
        };
        self.nginx_row_says(row, &body, scratch)
    }

    /// What the text before an nginx line's context decides: its parts and
    /// the first of `rows` (indices into the nginx rows, in table order)
    /// that it fits.
    fn nginx_fit(&self, pre: &[u8], rows: &[usize]) -> Fit {
        let body = nginx::LazyBody::parse_pre(pre, b"");
        // The parts are slices of `pre`, kept as offsets into it.
        let action_at = if body.action.is_empty() {
            0
        } else {
            body.action.as_ptr() as usize - pre.as_ptr() as usize
        };
        Fit {
            row: self.nginx_row(&body, rows).map(|i| i as u32),
            message_len: body.message.len() as u32,
            errno: body.errno,
            action: (action_at as u32, (action_at + body.action.len()) as u32),
            action_upstream: find(body.action, b"upstream").is_some(),
        }
    }

    /// The first of `rows` that the line fits; `None` when none does or
    /// that row says to ignore the line.
    fn nginx_row(&self, body: &nginx::LazyBody<'_>, rows: &[usize]) -> Option<usize> {
        let errno = body.errno.map(Errno::of);
        for &i in rows {
            let c = &self.by_server[0][i];
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
    fn nginx_row_says<'a>(
        &self,
        c: &Compiled,
        body: &nginx::LazyBody<'a>,
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
        self.finish(c, errno, upstream, ctx.request, ctx.request)
    }

    fn classify_apache<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        let body = apache::Body::parse(head.body);
        if body.ah.is_none() && body.status.is_none() && find(body.message, b"proxy").is_none() {
            return None;
        }
        let errno = body.status.map(|s| match s {
            apache::Status::Code(n) => Errno::of(n),
            apache::Status::Eai(_) => Errno::Dns,
        });
        let remote = body.peer.is_some_and(|p| p.remote);
        let rows = match body.ah {
            Some(n) => self.apache_by_ah.get(&n).unwrap_or(&self.apache_any),
            None => &self.apache_plain,
        };
        for c in rows.iter().map(|&i| &self.by_server[1][i]) {
            let s = &c.sig;
            let msg_ok = c.matches(body.message, body.ah);
            let phase_ok = !matches!(s.phase, Phase::RemotePeer) || remote;
            if !(msg_ok && phase_ok && errno_ok(s.errno, errno)) {
                continue;
            }
            let upstream = match s.extract {
                Extract::ApacheConnect => apache_connect_target(body.message, scratch),
                Extract::Between(a, b, p) => between(body.message, a.as_bytes(), b.as_bytes())
                    .map(|v| with_prefix(p, body.message, v, scratch)),
                Extract::ApacheRemote(scheme) => body
                    .peer
                    .filter(|p| p.remote)
                    .map(|p| built(scratch, &[scheme.as_bytes(), p.addr])),
                _ => None,
            };
            let route = returned_by(body.message);
            return self.finish(c, errno, upstream, route, None);
        }
        None
    }

    fn classify_php_fpm<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        let body = php_fpm::Body::parse(head.body);
        for c in &self.by_server[2] {
            if !c.matches(body.message, None) {
                continue;
            }
            let upstream = body.pool.map(|p| built(scratch, &[b"php-fpm:", p]));
            let route = between(body.message, b"(request: \"", b"\")");
            return self.finish(c, None, upstream, route, None);
        }
        None
    }

    fn finish<'a>(
        &self,
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
}

fn errno_ok(rule: Errnos, errno: Option<Errno>) -> bool {
    match rule {
        Errnos::Any => true,
        Errnos::Is(set) => errno.is_some_and(|e| set.contains(&e)),
    }
}

/// The path after the last ` returned by ` (Apache's `ap_proxyerror`
/// lines end with the request URI).
fn returned_by(msg: &[u8]) -> Option<&[u8]> {
    crate::parse::rfind(msg, b" returned by ").map(|i| &msg[i + 13..])
}

/// The text between `start` and the next `end` (or the end of `b`).
fn between<'a>(b: &'a [u8], start: &[u8], end: &[u8]) -> Option<&'a [u8]> {
    let i = find(b, start)? + start.len();
    let rest = &b[i..];
    let j = find(rest, end).unwrap_or(rest.len());
    Some(&rest[..j])
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
    let end = crate::parse::find_byte(b'/', rest).unwrap_or(rest.len());
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

/// Apache `HTTP: attempt to connect to 10.0.0.5:8080 (backend:8080) failed`,
/// `FCGI: attempt to connect to Unix domain socket /run/php.sock (...) failed`,
/// or the 2.2 form with `proxy: ` in front.
fn apache_connect_target<'a>(msg: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
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
            let scheme = match find(&m[..m.len().min(12)], b": ") {
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

/// `parts` joined in `scratch`.
fn built<'a>(scratch: &'a mut Vec<u8>, parts: &[&[u8]]) -> &'a [u8] {
    scratch.clear();
    for p in parts {
        scratch.extend_from_slice(p);
    }
    scratch
}

#[cfg(test)]
mod tests;
