//! What clients got: the access logs' requests counted by status and
//! route, and the join of each client 5xx (and each request a retry
//! rescued) to the error-log failure of the same request.
//!
//! Error logs and access logs are separate inputs, read one after the
//! other, so one side of the join must be kept: the failed requests of the
//! error logs and the access lines that need a cause (a 5xx, or failed
//! attempts that a retry absorbed) are kept as small fixed-size records, up
//! to [`MAX_JOIN`] each; every other access line is counted and forgotten.
//! The join runs once, at the end ([`Clients::join`]): each record looks
//! for an unused failure in its time window, preferring the strongest tie.

use std::collections::{BTreeMap, VecDeque};

use super::window;
use crate::event::{CauseId, ClientRequest, Failure};
use crate::keys::{Interner, NO_KEY, OTHER, key_hash};

/// Records kept per side of the join; past it, records are counted as not
/// joined ([`Clients::overflow`]), so memory stays bounded.
pub const MAX_JOIN: usize = 1 << 19;

/// Failures kept for the join while no access log is expected: enough for
/// the access lines of a log that mixes both (a container's output) to
/// find theirs, which are logged minutes before them at most.
const RECENT_FAILURES: usize = 1 << 14;

/// Seconds of failures kept for the join while no access log is expected.
const RECENT_SECONDS: i64 = 900;

/// Failures a record looks at in its window, at most.
const MAX_CANDIDATES: usize = 4096;

/// How an access line was tied to its error-log failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// Same request log id (Apache's `%L` in the access log and `[R:%L]`
    /// in the error log).
    LogId,
    /// Same connection number (`$connection` = `*N`) and request line.
    Connection,
    /// Same request line, in the window.
    Request,
    /// Same route, in the window (error lines with a path only: Apache).
    Route,
}

impl Method {
    /// Every method, strongest first.
    pub const ALL: [Method; 4] = [
        Method::LogId,
        Method::Connection,
        Method::Request,
        Method::Route,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Method::LogId => "log_id",
            Method::Connection => "connection",
            Method::Request => "request",
            Method::Route => "route",
        }
    }
}

/// Requests and their statuses on one route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteClients {
    /// Requests.
    pub requests: u64,
    /// Requests per status.
    pub statuses: BTreeMap<u16, u64>,
}

impl RouteClients {
    fn add(&mut self, status: u16, n: u64) {
        self.requests += n;
        bump(&mut self.statuses, status, n);
    }
}

/// `n` more of `key` in `counts`: a key seen before (the usual case: a
/// route or a log has few statuses, a route's durations few buckets) is
/// found without making an entry.
#[inline]
fn bump<K: Ord>(counts: &mut BTreeMap<K, u64>, key: K, n: u64) {
    match counts.get_mut(&key) {
        Some(c) => *c += n,
        None => {
            counts.insert(key, n);
        }
    }
}

/// Durations, in buckets of about 6% (16 per doubling), with the exact
/// largest: bounded whatever the number of requests.
///
/// The counts are a dense array over the buckets seen, from the lowest to
/// the highest (widened in steps of [`Durations::STEP`]): a request is counted with one load and one store where a
/// map of buckets would walk its nodes, and a route's requests, which take
/// similar times, fill a short run of buckets. A route holds at most
/// [`Durations::BUCKETS`] of them, 4 bytes each; the rare count past
/// `u32::MAX` keeps its high part in `carries`.
/// `tests::dense_durations_count_as_a_map_does` holds it to a map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Durations {
    /// The first bucket of `counts`.
    first: u16,
    /// Requests per bucket from `first` on, modulo 2^32.
    counts: Vec<u32>,
    /// The multiples of 2^32 the buckets' counts passed, by bucket.
    carries: BTreeMap<u16, u64>,
    /// Requests timed.
    pub count: u64,
    /// The longest, in milliseconds.
    pub max_ms: u64,
}

impl Durations {
    /// Buckets of any duration (that of `u64::MAX` ms is the last).
    const BUCKETS: usize = 16 + 60 * 16;

    /// Buckets `counts` grows by, and the multiple its first bucket is
    /// (a route's durations reach new buckets one by one at first).
    const STEP: u16 = 8;

    fn bucket(ms: u64) -> u16 {
        if ms < 16 {
            return ms as u16;
        }
        let octave = 63 - u64::from(ms.leading_zeros());
        let sub = (ms >> (octave - 4)) & 15;
        (16 + (octave - 4) * 16 + sub) as u16
    }

    /// The largest duration a bucket holds.
    fn upper(b: u16) -> u64 {
        let b = u64::from(b);
        if b < 16 {
            return b;
        }
        let octave = (b - 16) / 16 + 4;
        let sub = (b - 16) % 16;
        // The last bucket's top is `u64::MAX` (the shift drops its bit).
        ((16 + sub + 1) << (octave - 4)).wrapping_sub(1)
    }

    /// Adds one duration.
    #[inline]
    pub fn add(&mut self, ms: u64) {
        self.add_to(Self::bucket(ms), 1);
        self.count += 1;
        self.max_ms = self.max_ms.max(ms);
    }

    /// `n` more requests in bucket `b`.
    #[inline]
    fn add_to(&mut self, b: u16, n: u64) {
        let mut at = usize::from(b.wrapping_sub(self.first));
        if at >= self.counts.len() {
            at = self.make_room(b);
        }
        let c = &mut self.counts[at];
        let sum = u64::from(*c) + n;
        *c = sum as u32;
        if sum >> 32 != 0 {
            *self.carries.entry(b).or_default() += sum & !u64::from(u32::MAX);
        }
    }

    /// Widens `counts` to hold bucket `b`, in steps of [`Durations::STEP`]
    /// buckets, to the size needed; where `b` is in it.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, b: u16) -> usize {
        let end = usize::from(self.first) + self.counts.len();
        let (lo, hi) = if self.counts.is_empty() {
            (b, b + 1)
        } else {
            (self.first.min(b), (end as u16).max(b + 1))
        };
        // Whole steps, within the buckets there are.
        let lo = lo - lo % Self::STEP;
        let hi = (usize::from(hi).next_multiple_of(usize::from(Self::STEP))).min(Self::BUCKETS);
        let mut counts = Vec::with_capacity(hi - usize::from(lo));
        counts.resize(usize::from(self.first.max(lo) - lo), 0);
        counts.extend_from_slice(&self.counts);
        counts.resize(hi - usize::from(lo), 0);
        self.counts = counts;
        self.first = lo;
        usize::from(b - self.first)
    }

    /// The buckets with their counts, lowest first (empty ones too).
    fn buckets(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.counts.iter().enumerate().map(|(i, &c)| {
            let b = self.first + i as u16;
            let high = if self.carries.is_empty() {
                0
            } else {
                self.carries.get(&b).copied().unwrap_or(0)
            };
            (b, u64::from(c) + high)
        })
    }

    /// The `p`-th percentile (0..=100) in milliseconds: the top of its
    /// bucket, never above the largest; `None` when nothing was timed.
    pub fn percentile(&self, p: u64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = (self.count * p).div_ceil(100).max(1);
        let mut seen = 0;
        for (b, n) in self.buckets() {
            seen += n;
            if n > 0 && seen >= rank {
                return Some(Self::upper(b).min(self.max_ms));
            }
        }
        Some(self.max_ms)
    }

    fn merge(&mut self, o: &Durations) {
        for (b, n) in o.buckets() {
            if n > 0 {
                self.add_to(b, n);
            }
        }
        self.count += o.count;
        self.max_ms = self.max_ms.max(o.max_ms);
    }
}

/// How long a route's requests took: the failed ones (5xx) and a sample
/// of the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTiming {
    /// Requests answered with a 5xx.
    pub failed: Durations,
    /// One in [`TIMING_SAMPLE`](crate::scan::TIMING_SAMPLE) of the others.
    pub succeeded: Durations,
}

impl RouteTiming {
    /// Whether any request of the route was timed.
    fn timed(&self) -> bool {
        self.failed.count + self.succeeded.count > 0
    }
}

/// An access line that needs a cause, kept for the join: up to
/// [`MAX_JOIN`] of them are kept until the end, so they are packed into
/// 48 bytes (its window as a start and a length, the connection's
/// presence as a flag).
#[derive(Debug, Clone, Copy)]
struct Wanted {
    /// Earliest time its failure can have been logged.
    lo: i64,
    request: u64,
    log_id: u64,
    route: u64,
    /// Its connection number, where [`Wanted::HAS_CONNECTION`] is set.
    connection: u64,
    /// Seconds from `lo` to the latest time its failure can have been
    /// logged (a window of more than `u32::MAX` seconds, 136 years, is
    /// cut to its last ones).
    span: u32,
    status: u16,
    flags: u8,
}

impl Wanted {
    /// `connection` holds a connection number.
    const HAS_CONNECTION: u8 = 1;
    /// The upstream sent the 5xx itself (a header came with it).
    const ANSWERED_BY_UPSTREAM: u8 = 2;

    /// Latest time its failure can have been logged.
    fn hi(&self) -> i64 {
        self.lo + i64::from(self.span)
    }

    fn connection(&self) -> Option<u64> {
        (self.flags & Wanted::HAS_CONNECTION != 0).then_some(self.connection)
    }

    fn answered_by_upstream(&self) -> bool {
        self.flags & Wanted::ANSWERED_BY_UPSTREAM != 0
    }
}

/// An error-log failed request, kept for the join.
#[derive(Debug, Clone, Copy)]
struct Logged {
    time: i64,
    cause: CauseId,
    connection: Option<u64>,
    request: u64,
    log_id: u64,
    /// Route id in the aggregator's route interner (hashed at the join).
    route: u32,
}

/// A client request tied to an error-log failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// How.
    pub method: Method,
    /// The failure's cause.
    pub cause: CauseId,
    /// The failure's time.
    pub time: i64,
    /// What the client got.
    pub status: u16,
}

/// The join's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Joined {
    /// Each access line tied to a failure.
    pub pairs: Vec<Pair>,
    /// Client 5xx with no failure behind them, per status.
    pub unexplained: BTreeMap<u16, u64>,
    /// Of them, those the upstream answered itself (it sent a header:
    /// the application's own error), per status.
    pub answered_by_upstream: BTreeMap<u16, u64>,
}

/// The access logs' counts.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    /// Access-log requests read.
    pub requests: u64,
    /// Requests per status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests whose failed attempts a retry recovered.
    pub absorbed: u64,
    /// Normalized routes of the access lines.
    pub routes: Interner,
    /// Per route id of [`Clients::routes`].
    pub by_route: Vec<RouteClients>,
    /// Routes past the cap.
    pub other_route: RouteClients,
    /// Records not kept for the join (past [`MAX_JOIN`]).
    pub overflow: u64,
    /// Per route id of [`Clients::routes`], up to the last route timed
    /// (in place, not boxed: a timing reads one line less). A route none
    /// of whose requests was timed has nothing in either.
    pub timing: Vec<RouteTiming>,
    /// Requests per window start (of [`Clients::window`] seconds), with
    /// their 5xx and 499 statuses only.
    pub timeline: BTreeMap<i64, RouteClients>,
    /// The timeline's window length: the aggregator's, or coarser when
    /// the timeline would pass [`window::MAX_WINDOWS`].
    pub window: i64,
    /// Last attempts' upstream addresses (`$upstream_addr`).
    pub upstreams: Interner,
    /// Per upstream id of [`Clients::upstreams`].
    pub by_upstream: Vec<RouteClients>,
    /// Upstreams past the cap.
    pub other_upstream: RouteClients,
    /// No input looked like an access log: failures are kept for the
    /// join only for [`RECENT_SECONDS`] (at most [`RECENT_FAILURES`])
    /// until an access line is read, so that error logs alone take no
    /// memory for a join that will not happen.
    pub recent_failures_only: bool,
    wanted: Vec<Wanted>,
    /// In input order; a ring, so that forgetting the oldest failures
    /// (see [`Clients::forget_old_failures`]) moves none of the others.
    logged: VecDeque<Logged>,
}

impl Clients {
    /// An empty tally keeping up to `max_routes` routes.
    pub fn new(max_routes: usize) -> Clients {
        Clients {
            routes: Interner::new(max_routes),
            upstreams: Interner::new(max_routes),
            ..Clients::default()
        }
    }

    /// The id of a normalized route (with its [`key_hash`]) in
    /// [`Clients::routes`], added if there is room: [`OTHER`] otherwise.
    #[inline]
    pub fn route(&mut self, bytes: &[u8], hash: u64) -> u32 {
        self.routes.intern_hashed(bytes, hash)
    }

    /// Counts `n` access lines answered with `status`; `route` is their
    /// route's id from [`Clients::route`] (`None`: no route).
    #[inline]
    pub fn count(&mut self, route: Option<u32>, status: u16, n: u64) {
        self.requests += n;
        bump(&mut self.statuses, status, n);
        match route {
            None => {}
            Some(OTHER) => self.other_route.add(status, n),
            Some(id) => {
                let id = id as usize;
                if self.by_route.len() <= id {
                    self.by_route.resize_with(id + 1, RouteClients::default);
                }
                self.by_route[id].add(status, n);
            }
        }
    }

    /// Counts `n` access lines that ended at `time` (seconds) with
    /// `status` (a 5xx or 499 kept, 0 for any other) in windows of at
    /// least `window` seconds.
    pub fn second(&mut self, time: i64, status: u16, n: u64, window: i64) {
        if window > self.window {
            self.rebucket(window::common(self.window.max(1), window));
        }
        let slot = self
            .timeline
            .entry(window::bucket(time, self.window))
            .or_default();
        slot.requests += n;
        if status != 0 {
            bump(&mut slot.statuses, status, n);
        }
        if self.timeline.len() > window::MAX_WINDOWS {
            while self.timeline.len() > window::MAX_WINDOWS {
                self.rebucket(window::coarser(self.window));
            }
        }
    }

    /// Moves the timeline to windows of `w` seconds (a multiple of the
    /// current length).
    fn rebucket(&mut self, w: i64) {
        self.window = w;
        let old = std::mem::take(&mut self.timeline);
        for (start, rc) in old {
            let slot = self.timeline.entry(window::bucket(start, w)).or_default();
            slot.requests += rc.requests;
            for (s, n) in rc.statuses {
                *slot.statuses.entry(s).or_default() += n;
            }
        }
    }

    /// The timeline in windows of at least `w` seconds (the report's):
    /// the window length used, and the windows.
    pub fn timeline_in(&self, w: i64) -> (i64, BTreeMap<i64, RouteClients>) {
        let w = window::common(self.window.max(1), w.max(1));
        let mut out: BTreeMap<i64, RouteClients> = BTreeMap::new();
        for (&start, rc) in &self.timeline {
            let slot = out.entry(window::bucket(start, w)).or_default();
            slot.requests += rc.requests;
            for (&s, &n) in &rc.statuses {
                *slot.statuses.entry(s).or_default() += n;
            }
        }
        (w, out)
    }

    /// Counts `n` access lines whose last attempt went to `upstream`.
    pub fn upstream(&mut self, upstream: &[u8], status: u16, n: u64) {
        match self.upstreams.intern(upstream) {
            OTHER => self.other_upstream.add(status, n),
            id => {
                let id = id as usize;
                if self.by_upstream.len() <= id {
                    self.by_upstream.resize_with(id + 1, RouteClients::default);
                }
                self.by_upstream[id].add(status, n);
            }
        }
    }

    /// Times a request on a route (its id from [`Clients::route`]) that
    /// took `ms` milliseconds.
    #[inline]
    pub fn timing(&mut self, route: u32, ms: u64, failed: bool) {
        let id = match route {
            OTHER => return,
            id => id as usize,
        };
        if self.timing.len() <= id {
            self.timing.resize_with(id + 1, RouteTiming::default);
        }
        let t = &mut self.timing[id];
        if failed {
            t.failed.add(ms);
        } else {
            t.succeeded.add(ms);
        }
    }

    /// The timing of a route, if any of its requests was timed.
    pub fn route_timing(&self, route: &[u8]) -> Option<&RouteTiming> {
        let id = (0..self.routes.len() as u32).find(|&i| self.routes.key(i) == route)?;
        self.timing.get(id as usize).filter(|t| t.timed())
    }

    /// Keeps an access line that needs a cause (a 5xx, or failed attempts
    /// a retry absorbed) for the join, already counted by
    /// [`Clients::count`]; `route` is its route's [`key_hash`] (0 for none).
    pub fn request(&mut self, r: &ClientRequest, route: u64) {
        if r.absorbed() {
            self.absorbed += 1;
        }
        let Some(t) = r.time else { return };
        if !(r.failed() || r.absorbed()) {
            return;
        }
        if self.wanted.len() >= MAX_JOIN {
            self.overflow += 1;
            return;
        }
        let t = t.0;
        let secs = r.duration_ms.map_or(0, |ms| ms.div_ceil(1000)) as i64;
        let (lo, hi) = if r.time_is_start {
            // Apache without a duration: the start is known, the end not.
            (t - 1, t + 300)
        } else {
            (t - secs - 2, t + 1)
        };
        let span = u32::try_from(hi.saturating_sub(lo)).unwrap_or(u32::MAX);
        let mut flags = 0;
        if r.connection.is_some() {
            flags |= Wanted::HAS_CONNECTION;
        }
        if r.answered_by_upstream == Some(true) {
            flags |= Wanted::ANSWERED_BY_UPSTREAM;
        }
        self.wanted.push(Wanted {
            lo: hi - i64::from(span),
            request: r.request,
            log_id: r.log_id,
            route: if route == 0 { 0 } else { route | 1 },
            connection: r.connection.unwrap_or(0),
            span,
            status: r.status,
            flags,
        });
    }

    /// Keeps an error-log failed request for the join (`route` is its id
    /// in the aggregator's route interner, or [`NO_KEY`]).
    #[inline]
    pub fn failure(&mut self, f: &Failure, route: u32) {
        let Some(t) = f.time else { return };
        if !f.new_request || f.repeat {
            return;
        }
        if self.recent_failures_only && self.requests == 0 {
            if self.logged.len() >= RECENT_FAILURES {
                self.forget_old_failures(t.0);
            }
        } else if self.logged.len() >= MAX_JOIN {
            self.overflow += 1;
            return;
        }
        self.logged.push_back(Logged {
            time: t.0,
            cause: f.cause,
            connection: f.join.connection,
            request: f.join.request,
            log_id: f.join.log_id,
            route,
        });
    }

    /// Past [`RECENT_FAILURES`] failures kept, forgets those more than
    /// [`RECENT_SECONDS`] before `now`, and the older half if that is
    /// not enough.
    ///
    /// What stays is the last half of those logged since then, in input
    /// order: found from the back, so that the failures before them go
    /// from the front of the ring without the others moving; only when a
    /// failure among them is older (a log that went back in time) are
    /// they sifted.
    #[inline(never)]
    fn forget_old_failures(&mut self, now: i64) {
        if self.logged.len() < RECENT_FAILURES {
            return;
        }
        let since = now.saturating_sub(RECENT_SECONDS);
        let keep = RECENT_FAILURES / 2;
        // `kept` recent failures from `from` on, among `older` ones.
        let (mut kept, mut from) = (0, self.logged.len());
        for (i, l) in self.logged.iter().enumerate().rev() {
            if kept == keep {
                break;
            }
            if l.time >= since {
                kept += 1;
                from = i;
            }
        }
        let older = self.logged.len() - from - kept;
        self.logged.drain(..from);
        if older > 0 {
            self.logged.retain(|l| l.time >= since);
        }
    }

    /// [`Clients::forget_old_failures`] the plain way, on a list: the
    /// oracle.
    #[cfg(test)]
    fn forget_old_failures_plain(logged: &mut Vec<Logged>, now: i64) {
        if logged.len() < RECENT_FAILURES {
            return;
        }
        let since = now.saturating_sub(RECENT_SECONDS);
        logged.retain(|l| l.time >= since);
        if logged.len() >= RECENT_FAILURES / 2 {
            logged.drain(..logged.len() - RECENT_FAILURES / 2);
        }
    }

    /// Whether any access line was read.
    pub fn any(&self) -> bool {
        self.requests > 0
    }

    /// Adds another tally's counts (its inputs come after ours); `route`
    /// maps the other aggregator's route ids to ours.
    pub fn merge(&mut self, other: Clients, route: impl Fn(u32) -> u32) {
        self.requests = self.requests.saturating_add(other.requests);
        self.absorbed = self.absorbed.saturating_add(other.absorbed);
        self.overflow = self.overflow.saturating_add(other.overflow);
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
        for (i, rc) in other.by_route.into_iter().enumerate() {
            let key = other.routes.key(i as u32).to_vec();
            let slot = match self.routes.intern(&key) {
                OTHER => &mut self.other_route,
                id => {
                    let id = id as usize;
                    if self.by_route.len() <= id {
                        self.by_route.resize_with(id + 1, RouteClients::default);
                    }
                    &mut self.by_route[id]
                }
            };
            slot.requests += rc.requests;
            for (s, n) in rc.statuses {
                *slot.statuses.entry(s).or_default() += n;
            }
        }
        for (i, t) in other.timing.into_iter().enumerate() {
            if !t.timed() {
                continue;
            }
            let key = other.routes.key(i as u32).to_vec();
            let id = match self.routes.intern(&key) {
                OTHER => continue,
                id => id as usize,
            };
            if self.timing.len() <= id {
                self.timing.resize_with(id + 1, RouteTiming::default);
            }
            let mine = &mut self.timing[id];
            mine.failed.merge(&t.failed);
            mine.succeeded.merge(&t.succeeded);
        }
        self.other_route.requests += other.other_route.requests;
        for (s, n) in other.other_route.statuses {
            *self.other_route.statuses.entry(s).or_default() += n;
        }
        if other.window > 0 {
            let w = window::common(self.window.max(1), other.window);
            if w > self.window {
                self.rebucket(w);
            }
            for (start, rc) in other.timeline {
                let slot = self
                    .timeline
                    .entry(window::bucket(start, self.window))
                    .or_default();
                slot.requests += rc.requests;
                for (s, n) in rc.statuses {
                    *slot.statuses.entry(s).or_default() += n;
                }
            }
            while self.timeline.len() > window::MAX_WINDOWS {
                self.rebucket(window::coarser(self.window));
            }
        }
        for (i, rc) in other.by_upstream.into_iter().enumerate() {
            let key = other.upstreams.key(i as u32).to_vec();
            for (s, n) in rc.statuses {
                self.upstream(&key, s, n);
            }
        }
        for (s, n) in other.other_upstream.statuses {
            self.other_upstream.add(s, n);
        }
        self.wanted.extend(other.wanted);
        self.logged.extend(other.logged.into_iter().map(|mut l| {
            if l.route != NO_KEY {
                l.route = route(l.route);
            }
            l
        }));
    }

    /// Ties each kept access line to an unused failure in its window: the
    /// same connection and request line first, then the same request
    /// line, then the same route; each failure explains one request.
    /// `routes` is the interner the failures' route ids point into.
    pub fn join(&self, routes: &Interner) -> Joined {
        // Each route's hash taken once: a record compares it with up to
        // MAX_CANDIDATES failures.
        let route_hashes: Vec<u64> = (0..routes.len() as u32)
            .map(|id| key_hash(routes.key(id)) | 1)
            .collect();
        let route_hash = |id: u32| match id {
            NO_KEY | OTHER => 0,
            id => route_hashes[id as usize],
        };
        let mut logged: Vec<Logged> = self.logged.iter().copied().collect();
        logged.sort_by_key(|l| l.time);
        let mut used = vec![false; logged.len()];
        // The kept lines in the order of their windows' ends, as indexes
        // (a copy of the lines would double their memory at the end).
        let mut order: Vec<u32> = (0..self.wanted.len() as u32).collect();
        order.sort_by_key(|&i| {
            let w = &self.wanted[i as usize];
            (w.hi(), w.lo)
        });
        let mut out = Joined::default();
        for w in order.iter().map(|&i| &self.wanted[i as usize]) {
            let from = logged.partition_point(|l| l.time < w.lo);
            let mut best: Option<(Method, usize)> = None;
            for (i, l) in logged[from..]
                .iter()
                .enumerate()
                .take(MAX_CANDIDATES)
                .map(|(i, l)| (from + i, l))
            {
                if l.time > w.hi() {
                    break;
                }
                if used[i] {
                    continue;
                }
                let same_request = w.request != 0 && w.request == l.request;
                let method = if w.log_id != 0 && w.log_id == l.log_id {
                    Method::LogId
                } else if same_request && w.connection().is_some_and(|c| l.connection == Some(c)) {
                    Method::Connection
                } else if same_request {
                    Method::Request
                } else if w.route != 0
                    && w.route == route_hash(l.route)
                    && (w.request == 0 || l.request == 0)
                {
                    Method::Route
                } else {
                    continue;
                };
                if best.is_none_or(|(m, _)| method < m) {
                    best = Some((method, i));
                    // Nothing beats a log id, nor a connection where no
                    // log id is logged.
                    if method == Method::LogId || (method == Method::Connection && w.log_id == 0) {
                        break;
                    }
                }
            }
            match best {
                Some((method, i)) => {
                    used[i] = true;
                    out.pairs.push(Pair {
                        method,
                        cause: logged[i].cause,
                        time: logged[i].time,
                        status: w.status,
                    });
                }
                None if w.status >= 500 => {
                    *out.unexplained.entry(w.status).or_default() += 1;
                    if w.answered_by_upstream() {
                        *out.answered_by_upstream.entry(w.status).or_default() += 1;
                    }
                }
                None => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{JoinKey, LocalTime, Server};

    fn req(t: i64, status: u16, conn: Option<u64>, request: u64, failed: u32) -> ClientRequest {
        ClientRequest {
            time: Some(LocalTime(t)),
            status,
            duration_ms: Some(1500),
            failed_attempts: failed,
            answered_by_upstream: Some(false),
            time_is_start: false,
            connection: conn,
            request,
            log_id: 0,
            route: 0,
            line: 0,
        }
    }

    fn fail(t: i64, cause: &str, conn: Option<u64>, request: u64) -> Failure {
        Failure {
            time: Some(LocalTime(t)),
            join: JoinKey {
                connection: conn,
                request,
                log_id: 0,
            },
            ..Failure::plain(CauseId::from_id(cause).unwrap(), Server::Nginx)
        }
    }

    /// Counts and keeps `r` as the ordered stage does.
    fn add(c: &mut Clients, r: &ClientRequest, route: Option<(&[u8], u64)>) {
        let id = route.map(|(bytes, hash)| c.route(bytes, hash));
        c.count(id, r.status, 1);
        if r.failed() || r.absorbed() {
            c.request(r, route.map_or(0, |(_, h)| h));
        }
    }

    /// The ring forgets what the plain list forgets, and keeps the rest in
    /// the same order: logs that run forward, jump back and forth in time,
    /// and pause longer than the failures are kept.
    #[test]
    fn the_ring_forgets_as_the_plain_list_does() {
        let mut seed = 11u64;
        let mut next = |n: u64| {
            crate::testing::lcg(&mut seed);
            (seed >> 33) % n
        };
        for round in 0..4 {
            let mut ring = Clients::new(10);
            ring.recent_failures_only = true;
            let mut plain: Vec<Logged> = Vec::new();
            let mut t = 10_000i64;
            for i in 0..(5 * RECENT_FAILURES as u64) {
                t += match (round, next(1000)) {
                    // Forward, a few a second.
                    (0, _) => i64::from(next(4) == 0),
                    // Back now and then, by up to twenty minutes.
                    (1, 0..=4) => -(next(1200) as i64),
                    // Long pauses.
                    (2, 0..=2) => 2_000,
                    // Every step at random, back or forward.
                    (3, _) => next(61) as i64 - 30,
                    _ => i64::from(next(3) == 0),
                };
                let f = fail(t, "upstream_refused", Some(i), i);
                Clients::forget_old_failures_plain(&mut plain, t);
                plain.push(Logged {
                    time: t,
                    cause: f.cause,
                    connection: f.join.connection,
                    request: f.join.request,
                    log_id: f.join.log_id,
                    route: NO_KEY,
                });
                ring.failure(&f, NO_KEY);
                if i % 997 == 0 || ring.logged.len() != plain.len() {
                    let got: Vec<(i64, u64)> =
                        ring.logged.iter().map(|l| (l.time, l.request)).collect();
                    let want: Vec<(i64, u64)> = plain.iter().map(|l| (l.time, l.request)).collect();
                    assert_eq!(got, want, "round {round}, failure {i}");
                }
            }
        }
    }

    #[test]
    fn joins_by_the_strongest_tie_once_each() {
        let mut c = Clients::new(10);
        let r = Some((&b"/a"[..], key_hash(b"/a")));
        let mut routes = Interner::new(10);
        let a = routes.intern(b"/a");
        c.failure(&fail(100, "upstream_refused", Some(7), 11), NO_KEY);
        c.failure(&fail(100, "upstream_refused", Some(8), 11), NO_KEY);
        c.failure(&fail(150, "upstream_timeout", None, 0), a);
        // Same connection and request: the connection tie, though another
        // failure with the same request line is in the window too.
        add(&mut c, &req(101, 502, Some(8), 11, 1), r);
        // Same request line, no connection logged.
        add(&mut c, &req(100, 502, None, 11, 1), r);
        // Only the route (the failure has no request line).
        add(&mut c, &req(151, 504, None, 99, 1), r);
        // Nothing behind it.
        let mut alone = req(300, 502, None, 5, 1);
        alone.answered_by_upstream = Some(true);
        add(&mut c, &alone, r);
        // A retry rescued it: counted absorbed, no failure left to tie.
        add(&mut c, &req(301, 200, None, 5, 1), r);
        let j = c.join(&routes);
        let methods: Vec<_> = j.pairs.iter().map(|p| p.method).collect();
        assert_eq!(
            methods,
            [Method::Request, Method::Connection, Method::Route]
        );
        assert_eq!(j.unexplained, BTreeMap::from([(502, 1)]));
        assert_eq!(j.answered_by_upstream, BTreeMap::from([(502, 1)]));
        assert_eq!(c.absorbed, 1);
        assert_eq!(c.requests, 5);
        assert_eq!(
            c.by_route[0].statuses,
            BTreeMap::from([(200, 1), (502, 3), (504, 1)])
        );
    }

    #[test]
    fn error_logs_alone_keep_only_recent_failures_until_an_access_line() {
        let mut c = Clients::new(10);
        c.recent_failures_only = true;
        let routes = Interner::new(10);
        // Ten failures a second for an hour and a half.
        for i in 0..54_000i64 {
            c.failure(
                &fail(1_000 + i / 10, "upstream_refused", Some(i as u64), 1),
                NO_KEY,
            );
            assert!(c.logged.len() <= RECENT_FAILURES, "{i}: {}", c.logged.len());
        }
        // Between two prunings at most RECENT_FAILURES are kept: at ten a
        // second, the last 1,638 s at most, the last 819 s at least.
        let now = 1_000 + 5_399;
        assert!(c.logged.iter().all(|l| l.time >= now - 2 * RECENT_SECONDS));
        assert!(c.logged.iter().filter(|l| l.time >= now - 819).count() >= 8_190);
        assert_eq!(c.overflow, 0);
        // A mixed log: its access line still finds its recent failure.
        add(&mut c, &req(1_000 + 5_399, 502, Some(53_999), 1, 1), None);
        // From the first access line on, every failure is kept.
        let kept = c.logged.len();
        for i in 0..40_000i64 {
            c.failure(&fail(7_000 + i / 10, "upstream_timeout", None, 2), NO_KEY);
        }
        assert_eq!(c.logged.len(), kept + 40_000);
        let j = c.join(&routes);
        assert_eq!(j.pairs.len(), 1);
        assert_eq!(j.pairs[0].method, Method::Connection);
    }

    #[test]
    fn join_records_stay_small() {
        assert_eq!(
            (std::mem::size_of::<Wanted>(), std::mem::size_of::<Logged>()),
            (48, 48)
        );
    }

    /// A packed line keeps its window to the second at both ends, and a
    /// connection numbered 0 apart from none.
    #[test]
    fn packed_lines_keep_their_window_and_connection() {
        let routes = Interner::new(10);
        // 1.5 s before 100: its failure was logged from 96 to 101.
        for (at, joined) in [(95, false), (96, true), (101, true), (102, false)] {
            let mut c = Clients::new(10);
            c.failure(&fail(at, "upstream_refused", Some(0), 11), NO_KEY);
            add(&mut c, &req(100, 502, Some(0), 11, 1), None);
            let j = c.join(&routes);
            let methods: Vec<_> = j.pairs.iter().map(|p| p.method).collect();
            let want: &[Method] = if joined { &[Method::Connection] } else { &[] };
            assert_eq!(methods, want, "failure at {at}");
        }
        // No connection logged on the access line: the request line ties.
        let mut c = Clients::new(10);
        c.failure(&fail(100, "upstream_refused", Some(0), 11), NO_KEY);
        add(&mut c, &req(100, 502, None, 11, 1), None);
        assert_eq!(c.join(&routes).pairs[0].method, Method::Request);
        // A window longer than 136 years keeps its end.
        let mut c = Clients::new(10);
        c.failure(&fail(1_000, "upstream_refused", None, 11), NO_KEY);
        let mut long = req(1_000, 502, None, 11, 1);
        long.duration_ms = Some(u64::MAX);
        add(&mut c, &long, None);
        assert_eq!(c.join(&routes).pairs.len(), 1);
    }

    #[test]
    fn durations_keep_percentiles_within_a_bucket() {
        let mut d = Durations::default();
        assert_eq!(d.percentile(50), None);
        for ms in 1..=1000 {
            d.add(ms);
        }
        d.add(58_000);
        let p50 = d.percentile(50).unwrap();
        assert!((480..=540).contains(&p50), "{p50}");
        let p95 = d.percentile(95).unwrap();
        assert!((930..=1000).contains(&p95), "{p95}");
        assert_eq!(d.percentile(100), Some(58_000));
        for ms in [0, 15, 16, 17, 1000, 59_999, 60_000, 3_600_000] {
            let b = Durations::bucket(ms);
            assert!(Durations::upper(b) >= ms, "{ms}");
            assert!(Durations::upper(b) * 100 <= ms.max(1) * 107 + 100, "{ms}");
        }
    }

    /// [`Durations`] the plain way, in a map: the oracle.
    #[derive(Default)]
    struct PlainDurations {
        buckets: BTreeMap<u16, u64>,
        count: u64,
        max_ms: u64,
    }

    impl PlainDurations {
        fn add(&mut self, ms: u64) {
            *self.buckets.entry(Durations::bucket(ms)).or_default() += 1;
            self.count += 1;
            self.max_ms = self.max_ms.max(ms);
        }

        fn merge(&mut self, o: &PlainDurations) {
            for (&b, &n) in &o.buckets {
                *self.buckets.entry(b).or_default() += n;
            }
            self.count += o.count;
            self.max_ms = self.max_ms.max(o.max_ms);
        }

        fn percentile(&self, p: u64) -> Option<u64> {
            if self.count == 0 {
                return None;
            }
            let rank = (self.count * p).div_ceil(100).max(1);
            let mut seen = 0;
            for (&b, &n) in &self.buckets {
                seen += n;
                if seen >= rank {
                    return Some(Durations::upper(b).min(self.max_ms));
                }
            }
            Some(self.max_ms)
        }
    }

    /// Asserts that `d` counts what `plain` counts, at every percentile.
    fn same_durations(d: &Durations, plain: &PlainDurations, what: &str) {
        assert_eq!((d.count, d.max_ms), (plain.count, plain.max_ms), "{what}");
        let got: BTreeMap<u16, u64> = d.buckets().filter(|&(_, n)| n > 0).collect();
        assert_eq!(got, plain.buckets, "{what}");
        for p in 0..=100 {
            assert_eq!(d.percentile(p), plain.percentile(p), "{what} p{p}");
        }
    }

    /// The dense buckets against a map of them: durations that widen the
    /// array down and up, one at a time and in runs, merged both ways,
    /// and counts past `u32::MAX`.
    #[test]
    fn dense_durations_count_as_a_map_does() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            crate::testing::xorshift(&mut seed);
            seed % n
        };
        for round in 0..200 {
            let (mut d, mut plain) = (Durations::default(), PlainDurations::default());
            let (mut e, mut plain_e) = (Durations::default(), PlainDurations::default());
            for i in 0..next(400) {
                let ms = match next(8) {
                    0 => next(16),
                    1 => u64::MAX - next(1 << 40),
                    2 => 1 << next(64),
                    3 => 60_000 + next(1_000),
                    _ => 200 + next(1_000),
                };
                if i % 3 == 0 {
                    e.add(ms);
                    plain_e.add(ms);
                } else {
                    d.add(ms);
                    plain.add(ms);
                }
            }
            same_durations(&d, &plain, &format!("round {round}"));
            same_durations(&e, &plain_e, &format!("round {round}, other"));
            if round % 2 == 0 {
                d.merge(&e);
                plain.merge(&plain_e);
                same_durations(&d, &plain, &format!("round {round}, merged"));
            } else {
                e.merge(&d);
                plain_e.merge(&plain);
                same_durations(&e, &plain_e, &format!("round {round}, merged"));
            }
        }
        // Counts past 32 bits: one bucket near the wrap, added to one at a
        // time and by merges.
        let (mut d, mut plain) = (Durations::default(), PlainDurations::default());
        for ms in [5, 700, 40] {
            d.add(ms);
            plain.add(ms);
        }
        let b = Durations::bucket(700);
        let near = u64::from(u32::MAX) - 2;
        d.counts[usize::from(b - d.first)] = near as u32;
        *plain.buckets.get_mut(&b).unwrap() = near;
        d.count += near - 1;
        plain.count += near - 1;
        for _ in 0..5 {
            d.add(700);
            plain.add(700);
        }
        same_durations(&d, &plain, "past u32");
        let copy = d.clone();
        let plain_copy = PlainDurations {
            buckets: plain.buckets.clone(),
            ..plain
        };
        for _ in 0..3 {
            d.merge(&copy);
            plain.merge(&plain_copy);
        }
        same_durations(&d, &plain, "merged past u32");
        assert!(d.counts.len() <= Durations::BUCKETS);
    }

    #[test]
    fn the_timeline_follows_the_window_and_stays_bounded() {
        let mut c = Clients::new(10);
        c.second(61, 502, 2, 10);
        c.second(65, 0, 3, 10);
        c.second(75, 499, 1, 10);
        assert_eq!(c.window, 10);
        // The aggregator coarsened: the earlier windows merge.
        c.second(130, 0, 1, 60);
        assert_eq!(c.window, 60);
        let got: Vec<_> = c.timeline.iter().map(|(&s, w)| (s, w.requests)).collect();
        assert_eq!(got, [(60, 6), (120, 1)]);
        assert_eq!(
            c.timeline[&60].statuses,
            BTreeMap::from([(499, 1), (502, 2)])
        );
        for t in 0..(window::MAX_WINDOWS as i64 + 5) {
            c.second(t * 60, 0, 1, 60);
        }
        assert!(c.timeline.len() <= window::MAX_WINDOWS);
        assert!(c.window > 60);
        let n: u64 = c.timeline.values().map(|w| w.requests).sum();
        assert_eq!(n, 7 + window::MAX_WINDOWS as u64 + 5);
        let (w, t) = c.timeline_in(7200);
        assert_eq!(w % 7200, 0);
        assert_eq!(t.values().map(|w| w.requests).sum::<u64>(), n);
    }

    #[test]
    fn a_failure_outside_the_window_explains_nothing() {
        let mut c = Clients::new(10);
        c.failure(&fail(100, "upstream_refused", Some(7), 11), NO_KEY);
        add(&mut c, &req(110, 502, Some(7), 11, 1), None);
        let j = c.join(&Interner::new(1));
        assert!(j.pairs.is_empty());
        assert_eq!(j.unexplained, BTreeMap::from([(502, 1)]));
    }
}
