//! The rolling window: failures of the last `--last` in buckets of one
//! `--window`, on the log's own clock.
//!
//! **Time axis.** Failures are placed by the time their log line carries,
//! not by when they were read, so a replay (`--from-start`) or a burst read
//! after a pause lands in the right windows. "Now" is the [`Clock`]: the
//! latest log time seen, advanced by the wall clock since it was seen. On a
//! live log it tracks the writer's clock whatever its time zone, and it
//! keeps running while the log is quiet, so old failures age out of the
//! report and alerts resolve. A stamp more than a day ahead of the local
//! clock does not move it (a corrupt line cannot push every real failure
//! out of the window).
//!
//! Each bucket holds per-cause counters ([`CauseStats`]) whose upstream and
//! route ids are those of the one ingest aggregator of the run, so buckets
//! add up without translating keys. Buckets older than the span are
//! dropped, so memory stays bounded however long the run.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::aggregate::{CauseStats, window};

/// A day, in seconds: how far ahead of the local clock a stamp may be.
const FUTURE_SLACK: i64 = 86_400;

/// "Now" on the log's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct Clock {
    anchor: Option<(i64, Instant)>,
}

impl Clock {
    /// The log time now: the latest stamp seen plus the wall time since;
    /// `wall` (local time) before any stamp was seen.
    pub fn now(&self, at: Instant, wall: i64) -> i64 {
        match self.anchor {
            Some((t, seen)) => t + at.saturating_duration_since(seen).as_secs() as i64,
            None => wall,
        }
    }

    /// Sees a log stamp; false when it is too far in the future to trust.
    pub fn observe(&mut self, t: i64, at: Instant, wall: i64) -> bool {
        if t > wall.saturating_add(FUTURE_SLACK) {
            return false;
        }
        if self.anchor.is_none() || t > self.now(at, wall) {
            self.anchor = Some((t, at));
        }
        true
    }
}

/// The buckets of the rolling window.
#[derive(Debug)]
pub struct Rolling {
    /// Bucket length in seconds.
    pub window: i64,
    /// Buckets in the span.
    pub marks: i64,
    buckets: BTreeMap<i64, Vec<CauseStats>>,
    causes: usize,
}

impl Rolling {
    /// Buckets of `window` seconds covering at least `last` seconds, for
    /// `causes` causes.
    pub fn new(window: i64, last: i64, causes: usize) -> Rolling {
        Rolling {
            window,
            marks: (last + window - 1) / window,
            buckets: BTreeMap::new(),
            causes,
        }
    }

    /// The span at `now`: `marks` whole buckets ending with the one that
    /// holds `now`, as `[start, end)`.
    pub fn span(&self, now: i64) -> (i64, i64) {
        let end = window::bucket(now, self.window) + self.window;
        (end - self.marks * self.window, end)
    }

    /// Places one cause's counters of a batch. `d` is what the ingest
    /// aggregator counted for the batch, its timeline per second; `home` is
    /// the bucket the batch's lines belong to, if known. Request counts go
    /// to the bucket of each request's second; the rest (attempts,
    /// upstreams, routes, example ...) to `home`.
    pub fn place(&mut self, cause: usize, d: CauseStats, home: Option<i64>, now: i64) {
        let (start, _) = self.span(now);
        let newest = window::bucket(now, self.window);
        let mut per_bucket: BTreeMap<i64, u64> = BTreeMap::new();
        let mut timed = 0;
        for (&sec, &n) in &d.timeline {
            *per_bucket
                .entry(window::bucket(sec, self.window))
                .or_default() += n;
            timed += n;
        }
        if d.count > timed {
            *per_bucket.entry(newest).or_default() += d.count - timed;
        }
        let home = home
            .or_else(|| per_bucket.keys().next_back().copied())
            .unwrap_or(newest);
        let keep = |b: i64| b >= start && b <= newest;
        for (b, n) in per_bucket {
            if keep(b) {
                let c = &mut self.bucket(b)[cause];
                c.count += n;
                *c.timeline.entry(b).or_default() += n;
            }
        }
        if keep(home) {
            let c = &mut self.bucket(home)[cause];
            add_rest(c, d);
        }
    }

    fn bucket(&mut self, b: i64) -> &mut Vec<CauseStats> {
        let n = self.causes;
        self.buckets
            .entry(b)
            .or_insert_with(|| vec![CauseStats::default(); n])
    }

    /// Drops the buckets older than the span.
    pub fn prune(&mut self, now: i64) {
        let (start, _) = self.span(now);
        self.buckets = self.buckets.split_off(&start);
    }

    /// Every cause's counters over the span at `now`.
    pub fn merged(&self, now: i64) -> Vec<CauseStats> {
        let (start, end) = self.span(now);
        let mut out = vec![CauseStats::default(); self.causes];
        for (_, b) in self.buckets.range(start..end) {
            for (into, from) in out.iter_mut().zip(b) {
                into.count += from.count;
                for (&k, &n) in &from.timeline {
                    *into.timeline.entry(k).or_default() += n;
                }
                add_rest(into, from.clone());
            }
        }
        out
    }

    /// Requests per bucket of the span for one cause of `merged` output.
    pub fn marks_of(&self, c: &CauseStats, now: i64) -> Vec<u64> {
        let (start, _) = self.span(now);
        let mut v = vec![0u64; self.marks as usize];
        for (&b, &n) in &c.timeline {
            let i = (b - start) / self.window;
            if (0..self.marks).contains(&i) {
                v[i as usize] += n;
            }
        }
        v
    }
}

/// Adds everything but the request count and timeline.
fn add_rest(into: &mut CauseStats, from: CauseStats) {
    into.attempts += from.attempts;
    into.lines += from.lines;
    into.untimed += from.untimed;
    into.first = match (into.first, from.first) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    into.last = match (into.last, from.last) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    for (k, n) in from.upstreams.iter() {
        into.upstreams.add(k, n);
    }
    for (k, n) in from.routes.iter() {
        into.routes.add(k, n);
    }
    for (s, n) in into.servers.iter_mut() {
        *n += from.servers[s];
    }
    for (k, n) in from.statuses {
        *into.statuses.entry(k).or_default() += n;
    }
    if let Some(e) = from.example
        && into
            .example
            .as_ref()
            .is_none_or(|m| (e.file, e.line) < (m.file, m.line))
    {
        into.example = Some(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stats(seconds: &[(i64, u64)], upstream: u32) -> CauseStats {
        let mut c = CauseStats::default();
        for &(s, n) in seconds {
            c.count += n;
            c.attempts += n;
            *c.timeline.entry(s).or_default() += n;
            c.upstreams.add(upstream, n);
        }
        c
    }

    #[test]
    fn clock_follows_the_log_and_runs_on() {
        let t0 = Instant::now();
        let mut c = Clock::default();
        assert_eq!(c.now(t0, 500), 500);
        // A replay of an old log anchors the clock in the past.
        assert!(c.observe(100, t0, 10_000));
        assert_eq!(c.now(t0 + Duration::from_secs(5), 10_000), 105);
        // An older stamp does not move it back; a newer one moves it on.
        assert!(c.observe(90, t0, 10_000));
        assert_eq!(c.now(t0, 10_000), 100);
        assert!(c.observe(300, t0, 10_000));
        assert_eq!(c.now(t0 + Duration::from_secs(1), 10_000), 301);
        // Far in the future: not trusted.
        assert!(!c.observe(10_000 + FUTURE_SLACK + 1, t0, 10_000));
        assert_eq!(c.now(t0, 10_000), 300);
    }

    #[test]
    fn buckets_roll_and_counts_stay_exact() {
        let mut r = Rolling::new(60, 300, 2);
        assert_eq!(r.marks, 5);
        assert_eq!(r.span(1000), (720, 1020));
        // Two windows in one batch: requests split exactly.
        r.place(0, stats(&[(900, 2), (965, 3)], 7), None, 1000);
        r.place(1, stats(&[(999, 1)], 8), Some(960), 1000);
        // Older than the span: dropped.
        r.place(0, stats(&[(100, 5)], 7), None, 1000);
        let m = r.merged(1000);
        assert_eq!((m[0].count, m[1].count), (5, 1));
        assert_eq!(m[0].attempts, 5);
        assert_eq!(r.marks_of(&m[0], 1000), vec![0, 0, 0, 2, 3]);
        assert_eq!(m[0].upstreams.iter().collect::<Vec<_>>(), [(7, 5)]);
        // Later the first bucket leaves the span.
        let later = 1000 + 240;
        r.prune(later);
        let m = r.merged(later);
        assert_eq!(m[0].count, 3);
        assert_eq!(r.buckets.len(), 1);
        r.prune(5000);
        assert!(r.buckets.is_empty());
    }

    #[test]
    fn untimed_requests_count_now() {
        let mut r = Rolling::new(60, 120, 1);
        let mut c = stats(&[], 1);
        c.count = 2;
        c.attempts = 2;
        r.place(0, c, None, 1000);
        assert_eq!(r.merged(1000)[0].count, 2);
        assert_eq!(r.marks_of(&r.merged(1000)[0], 1000), vec![0, 2]);
    }
}
