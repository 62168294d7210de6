//! From classified lines to failed requests.
//!
//! Servers do not log one line per failed request:
//! - Apache writes one failure as several lines on the same `[pid:tid]`
//!   (AH00957 + AH00959 + AH01114 for a refused connect, AH01102 + AH00898
//!   for a read timeout). They are joined here, so the failure gets its
//!   cause from the line that knows it, its upstream from another and its
//!   route from a third.
//! - nginx logs one line per server tried for one request. A retry (same
//!   worker, connection and request line, another server, same cause) adds
//!   an attempt, not a request.
//!
//! The joins look at a few lines of state per thread or connection, capped,
//! so memory stays bounded whatever the input.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

use crate::catalog::{CauseId, Classified, Role};
use crate::parse::{LocalTime, Server};

/// Seconds within which Apache lines on one thread belong to one failure.
const APACHE_JOIN_SECS: i64 = 2;
/// Seconds within which nginx lines of one request are its retries.
const RETRY_SECS: i64 = 600;
/// Most Apache threads with a failure being assembled.
const MAX_PENDING: usize = 4096;
/// Most nginx requests remembered for retry detection.
const MAX_RECENT: usize = 16_384;

/// One failed request (or one more attempt of it), ready to aggregate.
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    /// The cause.
    pub cause: CauseId,
    /// The server that logged it.
    pub server: Server,
    /// A status more precise than the cause's own, if the message told it.
    pub status: Option<u16>,
    /// When, as the log wrote it.
    pub time: Option<LocalTime>,
    /// The upstream, as a server name.
    pub upstream: Option<Cow<'a, [u8]>>,
    /// A request line or path, not yet normalized.
    pub route: Option<Cow<'a, [u8]>>,
    /// False for a retry of a request already counted under this cause.
    pub new_request: bool,
    /// Physical lines that make up this failure.
    pub lines: u32,
    /// Index of the input it came from.
    pub file: u32,
    /// Line number of its first line.
    pub line: u64,
    /// The text of its first line.
    pub text: Cow<'a, [u8]>,
}

impl Failure<'_> {
    fn into_owned(self) -> Failure<'static> {
        Failure {
            upstream: self.upstream.map(|u| Cow::Owned(u.into_owned())),
            route: self.route.map(|r| Cow::Owned(r.into_owned())),
            text: Cow::Owned(self.text.into_owned()),
            ..self
        }
    }
}

/// A classified line with where it came from.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What the catalog made of it.
    pub class: Classified<'a>,
    /// The writing server.
    pub server: Server,
    /// Its time.
    pub time: Option<LocalTime>,
    /// Process id.
    pub pid: Option<u32>,
    /// Thread id.
    pub tid: Option<u64>,
    /// nginx connection number.
    pub cid: Option<u64>,
    /// Input index.
    pub file: u32,
    /// Line number of its first line.
    pub line: u64,
    /// Physical lines of the record (more than one for FastCGI stderr).
    pub lines: u32,
    /// The whole record.
    pub text: &'a [u8],
}

struct Pending {
    failure: Failure<'static>,
    strong: bool,
    has_lead: bool,
    last: Option<LocalTime>,
    seq: u64,
}

enum Slot {
    Pending(Pending),
    /// A failure was just emitted for this thread; a weak request-level
    /// line right after it belongs to it.
    Closed {
        time: Option<LocalTime>,
        seq: u64,
    },
}

#[derive(Default)]
struct Recent {
    time: i64,
    seen: Vec<(CauseId, u64)>,
}

/// Joins lines into failures; feed it events in file order, then flush.
#[derive(Default)]
pub struct Correlator {
    apache: HashMap<(u32, u32, u64), Slot>,
    recent: HashMap<u64, Recent>,
    recent_order: VecDeque<u64>,
    seq: u64,
    /// Lines absorbed into failures already emitted.
    pub absorbed_lines: u64,
}

impl Correlator {
    /// A correlator with empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event; calls `emit` for each failure it completes.
    pub fn push(&mut self, ev: Event<'_>, emit: &mut dyn FnMut(Failure<'_>)) {
        match ev.server {
            Server::Apache if ev.class.role != Role::Alone => self.push_apache(ev, emit),
            Server::Nginx => {
                if let Some(f) = self.nginx_failure(ev) {
                    emit(f);
                }
            }
            _ => {
                if let Some(f) = failure_of(ev) {
                    emit(f);
                }
            }
        }
    }

    /// Emits every failure still being assembled (end of an input).
    pub fn flush(&mut self, emit: &mut dyn FnMut(Failure<'_>)) {
        let mut pending: Vec<Pending> = self
            .apache
            .drain()
            .filter_map(|(_, s)| match s {
                Slot::Pending(p) => Some(p),
                Slot::Closed { .. } => None,
            })
            .collect();
        pending.sort_by_key(|p| p.seq);
        for p in pending {
            emit(p.failure);
        }
        self.recent.clear();
        self.recent_order.clear();
    }

    fn nginx_failure<'a>(&mut self, ev: Event<'a>) -> Option<Failure<'a>> {
        let (Some(cid), Some(request)) = (ev.cid, ev.class.request) else {
            return failure_of(ev);
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (ev.file, ev.pid, cid, request).hash(&mut h);
        let key = h.finish();
        let up = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            ev.class.upstream.hash(&mut h);
            h.finish()
        };
        let t = ev.time.map_or(0, |t| t.0);
        let mut f = failure_of(ev)?;
        let pair = (f.cause, up);
        match self.recent.get_mut(&key) {
            Some(r) if (t - r.time).abs() <= RETRY_SECS => {
                if r.seen.contains(&pair) {
                    // The same failure again: a new request on a keepalive
                    // connection, not a retry.
                    r.seen.clear();
                    r.seen.push(pair);
                } else if r.seen.iter().any(|(c, _)| *c == f.cause) {
                    f.new_request = false;
                    if r.seen.len() < 32 {
                        r.seen.push(pair);
                    }
                } else if r.seen.len() < 32 {
                    r.seen.push(pair);
                }
                r.time = t;
            }
            _ => {
                if self
                    .recent
                    .insert(
                        key,
                        Recent {
                            time: t,
                            seen: vec![pair],
                        },
                    )
                    .is_none()
                {
                    self.recent_order.push_back(key);
                }
                if self.recent_order.len() > MAX_RECENT
                    && let Some(old) = self.recent_order.pop_front()
                {
                    self.recent.remove(&old);
                }
            }
        }
        Some(f)
    }

    fn push_apache(&mut self, ev: Event<'_>, emit: &mut dyn FnMut(Failure<'_>)) {
        let key = (ev.file, ev.pid.unwrap_or(0), ev.tid.unwrap_or(0));
        let role = ev.class.role;
        let strong = ev.class.strong;
        let time = ev.time;
        self.seq += 1;
        let seq = self.seq;

        let near = |a: Option<LocalTime>, b: Option<LocalTime>| match (a, b) {
            (Some(a), Some(b)) => (a.0 - b.0).abs() <= APACHE_JOIN_SECS,
            _ => true,
        };

        match self.apache.remove(&key) {
            Some(Slot::Pending(mut p)) if near(p.last, time) => {
                let cause = ev.class.cause;
                let conflicting_lead = role == Role::Lead
                    && p.has_lead
                    && strong
                    && p.strong
                    && cause == Some(p.failure.cause);
                if conflicting_lead {
                    // A second failure of the same kind: the first one had
                    // no request-level line.
                    emit(p.failure);
                    self.start_apache(key, ev, seq, emit);
                    return;
                }
                merge(&mut p, ev);
                if role == Role::Final {
                    emit(p.failure);
                    self.apache.insert(key, Slot::Closed { time, seq });
                } else {
                    self.apache.insert(key, Slot::Pending(p));
                }
            }
            Some(Slot::Pending(p)) => {
                emit(p.failure);
                self.start_apache(key, ev, seq, emit);
            }
            Some(Slot::Closed { time: closed, .. })
                if near(closed, time)
                    && (role == Role::Attach || (role == Role::Final && !strong)) =>
            {
                self.absorbed_lines += 1;
                self.apache.insert(key, Slot::Closed { time: closed, seq });
            }
            _ => self.start_apache(key, ev, seq, emit),
        }
        self.bound_pending(emit);
    }

    fn start_apache(
        &mut self,
        key: (u32, u32, u64),
        ev: Event<'_>,
        seq: u64,
        emit: &mut dyn FnMut(Failure<'_>),
    ) {
        let role = ev.class.role;
        let strong = ev.class.strong;
        let time = ev.time;
        let Some(f) = failure_of(ev) else {
            return; // an attach line with nothing to attach to
        };
        if role == Role::Final {
            emit(f);
            self.apache.insert(key, Slot::Closed { time, seq });
        } else {
            self.apache.insert(
                key,
                Slot::Pending(Pending {
                    failure: f.into_owned(),
                    strong,
                    has_lead: role == Role::Lead,
                    last: time,
                    seq,
                }),
            );
        }
    }

    /// Keeps the per-thread state bounded: past the cap, the oldest entries
    /// are emitted (pending) or forgotten (closed).
    fn bound_pending(&mut self, emit: &mut dyn FnMut(Failure<'_>)) {
        if self.apache.len() <= MAX_PENDING {
            return;
        }
        let mut by_age: Vec<((u32, u32, u64), u64)> = self
            .apache
            .iter()
            .map(|(k, s)| {
                (
                    *k,
                    match s {
                        Slot::Pending(p) => p.seq,
                        Slot::Closed { seq, .. } => *seq,
                    },
                )
            })
            .collect();
        by_age.sort_by_key(|&(_, s)| s);
        for (k, _) in by_age.into_iter().take(MAX_PENDING / 2) {
            if let Some(Slot::Pending(p)) = self.apache.remove(&k) {
                emit(p.failure);
            }
        }
    }
}

/// Adds a line to a failure being assembled: the first strong cause wins,
/// the first upstream and route found are kept.
fn merge(p: &mut Pending, ev: Event<'_>) {
    let c = ev.class;
    if let Some(cause) = c.cause
        && c.strong
        && !p.strong
    {
        p.failure.cause = cause;
        p.failure.status = c.status;
        p.strong = true;
    }
    if p.failure.upstream.is_none() {
        p.failure.upstream = c.upstream.map(|u| Cow::Owned(u.into_owned()));
    }
    if p.failure.route.is_none() {
        p.failure.route = c.route.map(|r| Cow::Owned(r.to_vec()));
    }
    if p.failure.time.is_none() {
        p.failure.time = ev.time;
    }
    p.has_lead |= c.role == Role::Lead;
    p.last = ev.time.or(p.last);
    p.failure.lines += ev.lines;
}

/// The failure a single line stands for (`None` for attach-only lines).
fn failure_of(ev: Event<'_>) -> Option<Failure<'_>> {
    let c = ev.class;
    Some(Failure {
        cause: c.cause?,
        server: ev.server,
        status: c.status,
        time: ev.time,
        upstream: c.upstream,
        route: c.route.map(Cow::Borrowed),
        new_request: true,
        lines: ev.lines,
        file: ev.file,
        line: ev.line,
        text: Cow::Borrowed(ev.text),
    })
}
