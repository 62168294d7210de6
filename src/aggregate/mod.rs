//! Counting failures by cause, upstream, route and time window.
//!
//! An [`Aggregator`] owns every counter of a run and nothing else: it is
//! fed [`Failure`]s and line statistics and turns them into a
//! [`Report`](crate::report::Report). Keys (upstreams, routes) are interned
//! once and capped per dimension; past the cap new keys are counted under
//! `(other)` and the report says so. Two aggregators merge exactly when
//! their inputs were split at line boundaries, which is how parallel runs
//! and `merge` combine.

pub mod cells;
pub mod clients;
pub mod lifecycle;
pub mod startup;
pub mod window;

use std::collections::BTreeMap;

use hashbrown::HashMap;

use crate::event::{
    CauseId, ClientRequest, Failure, LineStats, LocalTime, PerServer, Server, UNRECOGNIZED_SAMPLES,
};
use crate::keys::{Interner, NO_KEY, OTHER};
use crate::order::correlate::client_status;
use crate::order::{self, Startup, Tally};
pub use cells::{Cells, Example};
pub use clients::Clients;

/// Most distinct upstreams kept before folding into `(other)`.
pub const MAX_UPSTREAMS: usize = 4096;
/// Most distinct routes kept before folding into `(other)`.
pub const MAX_ROUTES: usize = 10_000;
/// Longest example line kept, in bytes.
pub const MAX_EXAMPLE: usize = 4096;

/// Counters of one cause.
#[derive(Debug, Clone, Default)]
pub struct CauseStats {
    /// Failed requests.
    pub count: u64,
    /// Attempts (requests plus retries of them).
    pub attempts: u64,
    /// Physical lines.
    pub lines: u64,
    /// Earliest time seen.
    pub first: Option<LocalTime>,
    /// Latest time seen.
    pub last: Option<LocalTime>,
    /// Failed requests per window start.
    pub timeline: BTreeMap<i64, u64>,
    /// Failed requests whose lines had no time (pasted fragments, bare
    /// lines): counted, on no timeline.
    pub untimed: u64,
    /// Attempts per upstream id.
    pub upstreams: Counts,
    /// Failed requests per route id.
    pub routes: Counts,
    /// Failed requests per server.
    pub servers: PerServer<u64>,
    /// Failed requests per status the client got: the message's own when
    /// it tells one (404 for `Primary script unknown`), else the cause's
    /// status on the server that logged it.
    pub statuses: BTreeMap<u16, u64>,
    /// The earliest line in input order.
    pub example: Option<Example>,
}

impl CauseStats {
    /// Failed requests the web servers (nginx, Apache) logged.
    pub fn requests(&self) -> u64 {
        self.count.saturating_sub(self.explaining())
    }

    /// Lines of servers behind or below the web servers (php-fpm, the
    /// kernel): they explain failed requests and add none.
    pub fn explaining(&self) -> u64 {
        self.servers.behind_gateways().min(self.count)
    }
}

/// Counts per key id: a slot per id while the ids in use are few or close
/// together (the usual case: ids are handed out in order), so that counting
/// a failure is one indexed add; a hash map when they are spread wide.
/// Counts saturate (merged reports are input too); a count of zero is no
/// entry.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Used once the ids are spread wide (`dense` is then empty).
    sparse: HashMap<u32, u64>,
    /// A slot per id, while `sparse` is empty.
    dense: Vec<u64>,
    /// Non-zero slots of `dense`.
    dense_used: usize,
    /// The count of [`OTHER`], which is far above the other ids.
    other: u64,
}

/// Dense counts stay dense while the highest id is below this or below
/// [`DENSE_SPREAD`] times the ids counted; sparse ones turn dense again, from
/// this many ids on, under the same condition.
const DENSE_FROM: usize = 64;
const DENSE_SPREAD: usize = 4;

impl Counts {
    /// Adds `n` to `id`'s count.
    #[inline(always)]
    pub fn add(&mut self, id: u32, n: u64) {
        // The usual case inline: a key counted before, in the dense slots.
        if self.sparse.is_empty()
            && let Some(slot) = self.dense.get_mut(id as usize)
            && *slot != 0
        {
            *slot = slot.saturating_add(n);
            return;
        }
        self.add_other(id, n);
    }

    /// [`Counts::add`] for the rest: a key's first count, a key far above
    /// the others, the map.
    #[inline(never)]
    fn add_other(&mut self, id: u32, n: u64) {
        if n == 0 {
            return;
        }
        if id == OTHER {
            self.other = self.other.saturating_add(n);
            return;
        }
        let i = id as usize;
        let far = || i >= DENSE_FROM.max(DENSE_SPREAD * (self.dense_used + 1));
        if self.sparse.is_empty() && (i < self.dense.len() || !far()) {
            if i >= self.dense.len() {
                self.dense.resize(i + 1, 0);
            }
            let slot = &mut self.dense[i];
            if *slot == 0 {
                self.dense_used += 1;
            }
            *slot = slot.saturating_add(n);
            return;
        }
        if self.sparse.is_empty() {
            self.sparsify();
        }
        let before = self.sparse.len();
        let slot = self.sparse.entry(id).or_default();
        *slot = slot.saturating_add(n);
        // Looked at when the map has just grown to a power of two: not
        // again on every add while it stays at that size.
        let len = self.sparse.len();
        if len > before && len >= DENSE_FROM && len.is_power_of_two() {
            self.maybe_densify();
        }
    }

    /// Moves the dense slots into the map (an id far above the others).
    fn sparsify(&mut self) {
        for (k, &n) in (0u32..).zip(&self.dense) {
            if n > 0 {
                self.sparse.insert(k, n);
            }
        }
        self.dense = Vec::new();
        self.dense_used = 0;
    }

    fn maybe_densify(&mut self) {
        let max = self.sparse.keys().max().map_or(0, |&k| k as usize);
        if max >= DENSE_SPREAD * self.sparse.len() {
            return;
        }
        let mut dense = vec![0; max + 1];
        for (&k, &n) in &self.sparse {
            dense[k as usize] = n;
        }
        self.dense_used = self.sparse.len();
        self.dense = dense;
        self.sparse = HashMap::new();
    }

    /// (id, count) of every id counted, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        let sparse = self.sparse.iter().map(|(&k, &n)| (k, n));
        let dense = (0u32..)
            .zip(self.dense.iter().copied())
            .filter(|&(_, n)| n > 0);
        let other = (self.other > 0).then_some((OTHER, self.other));
        sparse.chain(dense).chain(other)
    }

    /// Number of ids counted.
    pub fn len(&self) -> usize {
        self.sparse.len() + self.dense_used + usize::from(self.other > 0)
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.iter().fold(0u64, |a, (_, n)| a.saturating_add(n))
    }

    /// (id, count) pairs in id order, whatever the representation.
    fn sorted(&self) -> Vec<(u32, u64)> {
        let mut v: Vec<(u32, u64)> = self.iter().collect();
        v.sort_unstable();
        v
    }
}

/// Equal when the same ids have the same counts, however each is held.
impl PartialEq for Counts {
    fn eq(&self, other: &Counts) -> bool {
        self.len() == other.len() && self.sorted() == other.sorted()
    }
}

impl Eq for Counts {}

/// One input as the report lists it.
#[derive(Debug, Clone)]
pub struct FileStats {
    /// As the user named it.
    pub path: String,
    /// Its lines.
    pub lines: LineStats,
    /// Why it could not be read (completely).
    pub error: Option<String>,
}

/// A sample of an unrecognized line.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Input index.
    pub file: u32,
    /// Line number.
    pub line: u64,
    /// The line, cut.
    pub text: Vec<u8>,
}

/// All the counters of a run.
#[derive(Debug, Clone)]
pub struct Aggregator {
    /// Window length in seconds (may have grown, see [`window::coarser`]).
    pub window: i64,
    /// Window length asked for.
    pub requested_window: i64,
    /// Per cause, indexed by [`CauseId`].
    pub causes: Vec<CauseStats>,
    /// Upstream keys.
    pub upstreams: Interner,
    /// Route keys.
    pub routes: Interner,
    /// The inputs, in order.
    pub files: Vec<FileStats>,
    /// Samples of unrecognized lines.
    pub unrecognized: Vec<Sample>,
    /// Failures per short window, cause, server and upstream, for
    /// incidents.
    pub cells: Cells,
    /// What the access logs say clients got.
    pub clients: Clients,
    /// Start-up and configuration errors: no failures, counted apart.
    pub startup: startup::StartupErrors,
    /// Lifecycle lines (reloads, restarts): no failures, kept apart.
    pub lifecycle: lifecycle::Lifecycles,
    /// Files of folders without error logs that were not read, and why.
    pub unread: Vec<(String, String)>,
    /// Access lines by route, upstream and status together, since they
    /// were last taken (only from scanners asked to count them: `follow`'s
    /// metric takes them after every batch).
    pub client_series: Vec<ClientSeries>,
    /// The timeline window found last, and the window length it is of:
    /// failures come in time order, so most fall in it and need no
    /// division to be placed.
    last_bucket: (i64, i64),
}

/// Access lines of one route, upstream and status (see
/// [`Aggregator::client_series`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSeries {
    /// The normalized route, if the line had one.
    pub route: Option<Vec<u8>>,
    /// The last attempt's upstream address, if logged.
    pub upstream: Option<Vec<u8>>,
    /// The status the clients got.
    pub status: u16,
    /// How many lines.
    pub count: u64,
}

impl Aggregator {
    /// An empty aggregator with `window` seconds per timeline bucket.
    pub fn new(window: i64) -> Self {
        Aggregator {
            window,
            requested_window: window,
            causes: vec![CauseStats::default(); CauseId::all().count()],
            upstreams: Interner::new(MAX_UPSTREAMS),
            routes: Interner::new(MAX_ROUTES),
            files: Vec::new(),
            unrecognized: Vec::new(),
            cells: Cells::default(),
            clients: Clients::new(MAX_ROUTES),
            startup: startup::StartupErrors::default(),
            lifecycle: lifecycle::Lifecycles::default(),
            unread: Vec::new(),
            client_series: Vec::new(),
            last_bucket: (i64::MIN, 0),
        }
    }

    /// Counts one failure (or one more attempt of one), whose upstream and
    /// route have the ids given (interned into this aggregator, or
    /// [`NO_KEY`]); `text` is its first line, copied only when it becomes
    /// the cause's example.
    #[inline]
    pub fn add(&mut self, f: &Failure, upstream: u32, route: u32, text: &[u8]) {
        // Folded keys are counted per attempt (upstreams) and per request
        // (routes), like the lists they are missing from.
        if upstream == OTHER {
            self.upstreams.folded += 1;
        }
        if route == OTHER && f.new_request {
            self.routes.folded += 1;
        }
        self.cells.add(f, upstream, route, text);
        // What the cause's counts do not depend on first, so that the
        // cause is looked up once: a retry's move between statuses (other
        // causes' and this one's, before this request is counted), the
        // failure kept for the access logs' join, its timeline window.
        if f.restatus.is_some() {
            self.restatus(f);
        }
        if f.new_request && !f.repeat && f.time.is_some() {
            self.clients.failure(f, route);
        }
        let bucket = match f.time {
            Some(t) if f.new_request => Some(self.bucket(t.0)),
            _ => None,
        };
        let c = &mut self.causes[f.cause.0 as usize];
        c.attempts += 1;
        c.lines += u64::from(f.lines);
        if upstream != NO_KEY {
            c.upstreams.add(upstream, 1);
        }
        if c.example
            .as_ref()
            .is_none_or(|e| (f.file, f.line) < (e.file, e.line))
        {
            set_example(c, f, text);
        }
        if let Some(t) = f.time {
            // Later than the first and earlier than the last is the usual
            // case: two compares.
            if c.first.is_none_or(|x| t < x) {
                c.first = Some(t);
            }
            if c.last.is_none_or(|x| t > x) {
                c.last = Some(t);
            }
        }
        if !f.new_request {
            return;
        }
        c.count += 1;
        if f.time.is_none() {
            c.untimed += 1;
        }
        c.servers[f.server] += 1;
        if let Some(s) = client_status(f) {
            match c.statuses.get_mut(&s) {
                Some(n) => *n += 1,
                None => {
                    c.statuses.insert(s, 1);
                }
            }
        }
        if route != NO_KEY {
            c.routes.add(route, 1);
        }
        if let Some(bucket) = bucket {
            // Logs run forward in time: the newest window is the usual one,
            // and reaching it needs no key comparisons on the way.
            match c.timeline.last_entry() {
                Some(mut last) if *last.key() == bucket => *last.get_mut() += 1,
                _ => {
                    *c.timeline.entry(bucket).or_default() += 1;
                    if c.timeline.len() > window::MAX_WINDOWS {
                        self.coarsen();
                    }
                }
            }
        }
    }

    /// The start of the timeline window holding `t`: the window found last
    /// when `t` is in it (no division), else found and remembered.
    #[inline]
    fn bucket(&mut self, t: i64) -> i64 {
        let (at, w) = self.last_bucket;
        if w == self.window && (t.wrapping_sub(at) as u64) < w as u64 {
            return at;
        }
        let b = window::bucket(t, self.window);
        self.last_bucket = (b, self.window);
        b
    }

    /// A retry whose request was counted under other causes with another
    /// status: the client got this attempt's, so one request of each of
    /// those causes moves to it.
    #[inline(never)]
    fn restatus(&mut self, f: &Failure) {
        let (Some(r), Some(to)) = (f.restatus, client_status(f)) else {
            return;
        };
        for cause in r.causes() {
            let Some(c) = self.causes.get_mut(cause.0 as usize) else {
                continue;
            };
            match c.statuses.get_mut(&r.from) {
                Some(n) if *n > 0 => *n -= 1,
                _ => continue,
            }
            c.statuses.retain(|_, n| *n > 0);
            *c.statuses.entry(to).or_default() += 1;
        }
    }

    /// Grows the window until every timeline fits.
    #[cold]
    #[inline(never)]
    fn coarsen(&mut self) {
        while self
            .causes
            .iter()
            .any(|c| c.timeline.len() > window::MAX_WINDOWS)
        {
            self.rebucket(window::coarser(self.window));
        }
    }

    fn rebucket(&mut self, new_window: i64) {
        self.window = new_window;
        for c in &mut self.causes {
            let old = std::mem::take(&mut c.timeline);
            for (start, n) in old {
                *c.timeline
                    .entry(window::bucket(start, new_window))
                    .or_default() += n;
            }
        }
    }

    /// Records an unrecognized line (keeps the first few as samples).
    pub fn unrecognized_line(&mut self, file: u32, line: u64, text: &[u8]) {
        if self.unrecognized.len() < UNRECOGNIZED_SAMPLES {
            self.unrecognized.push(Sample {
                file,
                line,
                text: text[..text.len().min(240)].to_vec(),
            });
        }
    }

    /// Total failed requests over all causes: the web servers' lines only
    /// (php-fpm's and the kernel's own lines explain failures, they are
    /// not failed requests; see [`CauseStats::explaining`]).
    pub fn total_failures(&self) -> u64 {
        self.causes
            .iter()
            .fold(0u64, |n, c| n.saturating_add(c.requests()))
    }

    /// Lines of php-fpm and the kernel over all causes.
    pub fn explaining_lines(&self) -> u64 {
        self.causes
            .iter()
            .fold(0u64, |n, c| n.saturating_add(c.explaining()))
    }

    /// The server that logged most of a cause's failures.
    pub fn dominant_server(c: &CauseStats) -> Server {
        let mut best = Server::Nginx;
        for (s, &n) in c.servers.iter() {
            if n > c.servers[best] {
                best = s;
            }
        }
        best
    }

    /// Adds another aggregator's counts (inputs in `other` come after ours).
    pub fn merge(&mut self, other: Aggregator) {
        let file_offset = self.files.len() as u32;
        let up_map: Vec<u32> = (0..other.upstreams.len() as u32)
            .map(|i| self.upstreams.intern(other.upstreams.key(i)))
            .collect();
        let route_map: Vec<u32> = (0..other.routes.len() as u32)
            .map(|i| self.routes.intern(other.routes.key(i)))
            .collect();
        let remap = |m: &[u32], id: u32| if id == OTHER { OTHER } else { m[id as usize] };
        self.upstreams.folded = self.upstreams.folded.saturating_add(other.upstreams.folded);
        self.routes.folded = self.routes.folded.saturating_add(other.routes.folded);
        // Keys of `other` that do not fit under our caps fold now, counted
        // per attempt / request like the rest.
        let (mut newly_folded_up, mut newly_folded_routes) = (0u64, 0u64);
        // The finest window both timelines fit into exactly: the coarser
        // of the two when one divides the other (always so for the parts
        // of one run, whose windows come from one chain of coarsening).
        let w = window::common(self.window, other.window);
        if w > self.window {
            self.rebucket(w);
        }
        for (mine, theirs) in self.causes.iter_mut().zip(other.causes) {
            // Saturating: merged reports are input, and input can be hostile.
            mine.count = mine.count.saturating_add(theirs.count);
            mine.attempts = mine.attempts.saturating_add(theirs.attempts);
            mine.lines = mine.lines.saturating_add(theirs.lines);
            mine.untimed = mine.untimed.saturating_add(theirs.untimed);
            mine.first = min_opt(mine.first, theirs.first);
            mine.last = max_opt(mine.last, theirs.last);
            for (start, n) in theirs.timeline {
                let slot = mine
                    .timeline
                    .entry(window::bucket(start, self.window))
                    .or_default();
                *slot = slot.saturating_add(n);
            }
            for (u, n) in theirs.upstreams.iter() {
                let id = remap(&up_map, u);
                if id == OTHER && u != OTHER {
                    newly_folded_up = newly_folded_up.saturating_add(n);
                }
                mine.upstreams.add(id, n);
            }
            for (r, n) in theirs.routes.iter() {
                let id = remap(&route_map, r);
                if id == OTHER && r != OTHER {
                    newly_folded_routes = newly_folded_routes.saturating_add(n);
                }
                mine.routes.add(id, n);
            }
            for (s, n) in mine.servers.iter_mut() {
                *n = n.saturating_add(theirs.servers[s]);
            }
            for (s, n) in theirs.statuses {
                let slot = mine.statuses.entry(s).or_default();
                *slot = slot.saturating_add(n);
            }
            if let Some(mut e) = theirs.example {
                e.file += file_offset;
                if mine
                    .example
                    .as_ref()
                    .is_none_or(|m| (e.file, e.line) < (m.file, m.line))
                {
                    mine.example = Some(e);
                }
            }
        }
        self.upstreams.folded = self.upstreams.folded.saturating_add(newly_folded_up);
        self.routes.folded = self.routes.folded.saturating_add(newly_folded_routes);
        for mut s in other.unrecognized {
            if self.unrecognized.len() < UNRECOGNIZED_SAMPLES {
                s.file += file_offset;
                self.unrecognized.push(s);
            }
        }
        self.cells.merge(other.cells, |c| {
            c.key.upstream = match c.key.upstream {
                NO_KEY => NO_KEY,
                id => remap(&up_map, id),
            };
            let routes = c.take_routes();
            for (r, n) in routes.into_iter().filter(|r| r.1 > 0) {
                c.add_route(remap(&route_map, r), n);
            }
            c.line.file += file_offset;
        });
        self.startup.merge(other.startup, file_offset);
        self.lifecycle.merge(other.lifecycle, file_offset);
        self.unread.extend(other.unread);
        self.files.extend(other.files);
        self.clients
            .merge(other.clients, |id| remap(&route_map, id));
        self.coarsen();
    }
}

/// The ordered stage counts into the aggregator.
impl Tally for Aggregator {
    fn begin_input(&mut self, name: String) -> u32 {
        self.files.push(FileStats {
            path: name,
            lines: LineStats::default(),
            error: None,
        });
        self.files.len() as u32 - 1
    }

    fn end_input(&mut self, file: u32, lines: LineStats, error: Option<String>) {
        let entry = &mut self.files[file as usize];
        entry.lines = lines;
        entry.error = error;
    }

    fn unrecognized_line(&mut self, file: u32, line: u64, text: &[u8]) {
        Aggregator::unrecognized_line(self, file, line, text);
    }

    #[inline]
    fn interners(&mut self) -> (&mut Interner, &mut Interner) {
        (&mut self.upstreams, &mut self.routes)
    }

    #[inline]
    fn add(&mut self, f: &Failure, upstream: u32, route: u32, text: &[u8]) {
        Aggregator::add(self, f, upstream, route, text);
    }

    #[inline]
    fn client_route(&mut self, route: &[u8], hash: u64) -> u32 {
        self.clients.route(route, hash)
    }

    #[inline]
    fn clients(&mut self, route: Option<u32>, status: u16, count: u64) {
        self.clients.count(route, status, count);
    }

    fn client_request(&mut self, r: &ClientRequest, route: u64) {
        self.clients.request(r, route);
    }

    #[inline]
    fn client_timing(&mut self, route: u32, ms: u64, failed: bool) {
        self.clients.timing(route, ms, failed);
    }

    fn client_second(&mut self, time: i64, status: u16, count: u64) {
        self.clients.second(time, status, count, self.window);
    }

    fn client_upstream(&mut self, upstream: &[u8], status: u16, count: u64) {
        self.clients.upstream(upstream, status, count);
    }

    fn client_series(
        &mut self,
        route: Option<&[u8]>,
        upstream: Option<&[u8]>,
        status: u16,
        count: u64,
    ) {
        self.client_series.push(ClientSeries {
            route: route.map(<[u8]>::to_vec),
            upstream: upstream.map(<[u8]>::to_vec),
            status,
            count,
        });
    }

    fn startup(&mut self, s: &Startup<'_>) {
        self.startup.add(s);
    }

    fn lifecycle(&mut self, l: &order::Lifecycle<'_>) {
        self.lifecycle.add(l);
    }
}

/// Makes the failure `f`, whose first line is `text`, the example of its
/// cause `c` (the first failure of a cause, or one from earlier in the
/// input): rare, so out of the way of the counting.
#[cold]
#[inline(never)]
fn set_example(c: &mut CauseStats, f: &Failure, text: &[u8]) {
    c.example = Some(Example {
        file: f.file,
        line: f.line,
        text: text[..text.len().min(MAX_EXAMPLE)].to_vec(),
    });
}

fn min_opt(a: Option<LocalTime>, b: Option<LocalTime>) -> Option<LocalTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<LocalTime>, b: Option<LocalTime>) -> Option<LocalTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts a failure with keys interned into `a`.
    fn add(a: &mut Aggregator, cause: &str, t: i64, up: &str, route: &str, new_request: bool) {
        let mut buf = Vec::new();
        crate::scan::route::normalize(route.as_bytes(), &mut buf);
        let f = Failure {
            time: Some(LocalTime(t)),
            new_request,
            line: t as u64,
            ..Failure::plain(CauseId::from_id(cause).unwrap(), Server::Nginx)
        };
        let (u, r) = (a.upstreams.intern(up.as_bytes()), a.routes.intern(&buf));
        a.add(&f, u, r, b"x");
    }

    #[test]
    fn counts_requests_attempts_and_windows() {
        let mut a = Aggregator::new(60);
        for (t, up, route, new) in [
            (120, "http://a:1", "GET /u/1 HTTP/1.1", true),
            (130, "http://b:1", "GET /u/1 HTTP/1.1", false),
            (200, "http://a:1", "GET /u/2 HTTP/1.1", true),
        ] {
            add(&mut a, "upstream_timeout", t, up, route, new);
        }
        let c = &a.causes[CauseId::from_id("upstream_timeout").unwrap().0 as usize];
        assert_eq!((c.count, c.attempts), (2, 3));
        assert_eq!(
            c.timeline.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            [(120, 1), (180, 1)]
        );
        assert_eq!(c.routes.len(), 1);
        assert_eq!(a.routes.key(c.routes.iter().next().unwrap().0), b"/u/:id");
        assert_eq!(c.upstreams.total(), 3);
        assert_eq!(c.first.unwrap().0, 120);
        assert_eq!(c.last.unwrap().0, 200);
        assert_eq!(c.example.as_ref().unwrap().line, 120);
    }

    #[test]
    fn keys_past_the_cap_fold_into_other() {
        let mut i = Interner::new(2);
        assert_eq!(i.intern(b"a"), 0);
        assert_eq!(i.intern(b"b"), 1);
        assert_eq!(i.intern(b"c"), OTHER);
        assert_eq!(i.intern(b"a"), 0);
        assert_eq!(i.key(OTHER), b"(other)");
        // The aggregator counts what it folds: per attempt, per request.
        let mut a = Aggregator::new(60);
        a.upstreams = Interner::new(1);
        a.routes = Interner::new(1);
        add(&mut a, "upstream_refused", 0, "u1", "/a", true);
        for _ in 0..5 {
            add(&mut a, "upstream_refused", 1, "u2", "/b", true);
        }
        add(&mut a, "upstream_refused", 1, "u3", "/c", false);
        assert_eq!((a.upstreams.folded, a.routes.folded), (6, 5));
        // Merging folds per attempt too: b's new upstream does not fit in a.
        let mut b = Aggregator::new(60);
        for _ in 0..5 {
            add(&mut b, "upstream_refused", 2, "u9", "/a", true);
        }
        a.merge(b);
        assert_eq!(a.upstreams.folded, 11);
    }

    /// The window found last places failures where the division does:
    /// forward, back in time, before 1970, across coarsenings, and after
    /// the window length is changed from outside.
    #[test]
    fn the_last_window_places_failures_as_the_division_does() {
        let mut seed = 5u64;
        let mut next = |n: u64| {
            crate::testing::lcg(&mut seed);
            (seed >> 33) % n
        };
        for (window, spread) in [(60, 7), (1, 3), (3600, 400), (60, 90_000)] {
            let mut a = Aggregator::new(window);
            let mut times = Vec::new();
            let mut t = -5_000i64;
            for i in 0..4000 {
                t += match next(20) {
                    0 => -(next(spread * 3) as i64),
                    _ => next(spread) as i64,
                };
                if i == 2000 {
                    a.window *= 2;
                }
                add(&mut a, "upstream_refused", t, "u", "/", true);
                times.push(t);
            }
            let c = &a.causes[CauseId::from_id("upstream_refused").unwrap().0 as usize];
            let mut plain: BTreeMap<i64, u64> = BTreeMap::new();
            for &t in &times {
                *plain.entry(window::bucket(t, a.window)).or_default() += 1;
            }
            // Rebucketed into the final window: exact when each window
            // length divides the next.
            let mut got: BTreeMap<i64, u64> = BTreeMap::new();
            for (&start, &n) in &c.timeline {
                *got.entry(window::bucket(start, a.window)).or_default() += n;
            }
            assert_eq!(got, plain, "window {window}, spread {spread}");
            assert_eq!(c.first.unwrap().0, *times.iter().min().unwrap());
            assert_eq!(c.last.unwrap().0, *times.iter().max().unwrap());
        }
    }

    #[test]
    fn examples_are_cut_at_the_limit() {
        let mut a = Aggregator::new(60);
        let f = Failure::plain(CauseId::from_id("upstream_refused").unwrap(), Server::Nginx);
        a.add(&f, NO_KEY, NO_KEY, &[b'x'; 3 * MAX_EXAMPLE]);
        let c = &a.causes[f.cause.0 as usize];
        assert_eq!(c.example.as_ref().unwrap().text.len(), MAX_EXAMPLE);
    }

    #[test]
    fn timelines_coarsen_when_too_long() {
        let mut a = Aggregator::new(1);
        for t in 0..(window::MAX_WINDOWS as i64 + 5) {
            add(&mut a, "upstream_refused", t, "u", "/", true);
        }
        assert!(a.window > 1);
        let c = &a.causes[CauseId::from_id("upstream_refused").unwrap().0 as usize];
        assert!(c.timeline.len() <= window::MAX_WINDOWS);
        assert_eq!(
            c.timeline.values().sum::<u64>(),
            window::MAX_WINDOWS as u64 + 5
        );
    }

    #[test]
    fn merge_equals_one_run() {
        let spec: Vec<(&str, i64, String, String, bool)> = (0..50)
            .map(|i| {
                (
                    if i % 3 == 0 {
                        "upstream_refused"
                    } else {
                        "upstream_timeout"
                    },
                    i * 7,
                    format!("u{}", i % 4),
                    format!("/r/{}", i % 5),
                    i % 4 != 1,
                )
            })
            .collect();
        let run = |a: &mut Aggregator, part: &[(&str, i64, String, String, bool)]| {
            for (c, t, u, r, n) in part {
                add(a, c, *t, u, r, *n);
            }
        };
        let mut whole = Aggregator::new(60);
        run(&mut whole, &spec);
        let mut left = Aggregator::new(60);
        let mut right = Aggregator::new(60);
        run(&mut left, &spec[..20]);
        run(&mut right, &spec[20..]);
        left.merge(right);
        for (a, b) in whole.causes.iter().zip(&left.causes) {
            assert_eq!(
                (a.count, a.attempts, a.first, a.last),
                (b.count, b.attempts, b.first, b.last)
            );
            assert_eq!(a.timeline, b.timeline);
            assert_eq!(a.upstreams.total(), b.upstreams.total());
        }
    }

    #[test]
    fn counts_agree_with_a_map_sparse_and_dense() {
        // Ids spread wide stay sparse; ids close together turn dense; both
        // must count like a plain map.
        for (spread, step) in [(1u32, 1usize), (1000, 1), (3, 7)] {
            let mut c = Counts::default();
            let mut model: HashMap<u32, u64> = HashMap::new();
            for i in 0..5000usize {
                let id = ((i * step) % 700) as u32 * spread;
                let n = (i % 3) as u64;
                c.add(id, n);
                if n > 0 {
                    *model.entry(id).or_default() += n;
                }
            }
            c.add(OTHER, 2);
            c.add(OTHER, u64::MAX);
            model.insert(OTHER, u64::MAX);
            let mut got: Vec<(u32, u64)> = c.iter().collect();
            got.sort_unstable();
            let mut want: Vec<(u32, u64)> = model.into_iter().collect();
            want.sort_unstable();
            assert_eq!(got, want, "spread {spread}");
            assert_eq!(c.len(), want.len());
            let get = |id| c.iter().find(|&(k, _)| k == id).map_or(0, |(_, n)| n);
            assert_eq!(get(OTHER), u64::MAX);
            assert_eq!(
                get(spread * 3),
                want.iter().find(|w| w.0 == spread * 3).map_or(0, |w| w.1)
            );
            assert_eq!(get(123_456), 0);
        }
        let mut c = Counts::default();
        c.add(5, 0);
        assert!(c.is_empty());
        c.add(5, u64::MAX);
        c.add(5, 1);
        assert_eq!(c.total(), u64::MAX);
        // The same counts, held densely in one and sparsely in the other
        // (the order of the adds decides), are equal.
        let (mut dense, mut sparse) = (Counts::default(), Counts::default());
        sparse.add(10_000, 1);
        for id in 0..3000 {
            dense.add(id, 7);
            sparse.add(id, 7);
        }
        assert_ne!(dense, sparse);
        dense.add(10_000, 1);
        assert!(!sparse.sparse.is_empty() && dense.sparse.is_empty());
        assert_eq!(dense, sparse);
        // Sparse from a far first id, dense again once enough close ids
        // have come (at 64 keys, the highest id under 4 times that).
        let mut back = Counts::default();
        back.add(200, 1);
        for id in 0..62 {
            back.add(id, 2);
            back.add(id, 1);
        }
        assert!(!back.sparse.is_empty());
        back.add(62, 3);
        assert!(back.sparse.is_empty(), "dense again at 64 keys");
        let mut got: Vec<(u32, u64)> = back.iter().collect();
        got.sort_unstable();
        let mut want: Vec<(u32, u64)> = (0..63).map(|id| (id, 3)).collect();
        want.push((200, 1));
        assert_eq!(got, want);
    }
}
