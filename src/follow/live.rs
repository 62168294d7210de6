//! Incidents live: found by the incidents stage in the rolling past, then
//! tracked as they open, change and close.
//!
//! The ingest aggregator keeps its incident cells (failures per 10 s
//! window, cause, server and upstream) for the last `--baseline` of log
//! time (and for as long as an incident is open); its lifecycle lines
//! likewise. At most once a second (and at exit) [`incidents::find`] runs
//! on them: the same baseline, spans, cascades, root cause and evidence as
//! `analyze`, with the rolling past as the baseline. What it finds is
//! matched to the incidents already tracked by time (an incident found
//! again overlaps the one it was), so each keeps its id while it grows.
//!
//! - **Open.** An incident found that no tracked one overlaps, and that
//!   ends after every closed one, opens.
//! - **Update.** When its failed requests, its root cause (cause and
//!   upstreams) or its echoes' counts change, at most once per
//!   `--interval`.
//! - **Close.** When no failure of it was logged for `--incident-quiet` of
//!   log time (the follow clock runs on while the log is quiet), and at
//!   least [`MERGE_GAP`] plus two cell windows: a failure any sooner could
//!   still join its span. At exit every open incident closes.
//!
//! An incident already over when first found (a log replayed with
//! `--from-start`, a burst read after a pause) opens and closes at once.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::aggregate::Aggregator;
use crate::aggregate::cells::CELL_WINDOW;
use crate::event::LocalTime;
use crate::incidents::{self, DEPLOY_SECS, FPM_BEFORE, MERGE_GAP};
use crate::report::{self, IncidentReport};

/// Closed incidents kept for the screen and the rolling report.
pub const CLOSED_KEPT: usize = 10;

/// How often incidents are looked for, at most.
const FIND_EVERY: Duration = Duration::from_secs(1);

/// What makes an update worth telling.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Signature {
    failed_requests: u64,
    root: String,
    root_upstreams: Vec<String>,
    echoes: Vec<(String, u64)>,
}

impl Signature {
    fn of(r: &IncidentReport) -> Signature {
        Signature {
            failed_requests: r.failed_requests,
            root: r.root_cause.cause.clone(),
            root_upstreams: r
                .root_cause
                .upstreams
                .iter()
                .map(|u| u.upstream.clone())
                .collect(),
            echoes: r
                .echoes
                .iter()
                .map(|e| (e.cause.clone(), e.count))
                .collect(),
        }
    }
}

/// One incident as tracked.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Numbered from 1 in the order they opened.
    pub id: u64,
    /// What the incidents stage says of it, latest.
    pub report: IncidentReport,
    /// First failure (log time, seconds).
    pub start: i64,
    /// Last failure.
    pub end: i64,
    /// Open: failures may still come.
    pub open: bool,
    sent: Signature,
    next_update: Instant,
}

/// An incident event: opened, changed, closed.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentEvent {
    /// `incident_open`, `incident_update` or `incident_close`.
    pub event: &'static str,
    /// The incident's id.
    pub id: u64,
    /// Why it closed: `quiet` (no failure for `--incident-quiet`) or
    /// `exit` (follow stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The follow clock (log time) when it happened.
    pub at: String,
    /// The incident, as `analyze` reports it.
    #[serde(flatten)]
    pub incident: IncidentReport,
}

/// The incidents of a follow run.
#[derive(Debug)]
pub struct Live {
    /// Seconds of log time without a failure that close an incident.
    pub quiet: i64,
    /// Seconds of log time the baseline spans.
    pub baseline: i64,
    /// Least time between two updates of an incident.
    pub update_every: Duration,
    next_find: Option<Instant>,
    /// Failures were counted since incidents were last looked for.
    dirty: bool,
    /// Open incidents, oldest first.
    pub open: Vec<Tracked>,
    /// The latest closed ones, oldest first.
    pub closed: VecDeque<Tracked>,
    /// The last failure of the latest closed incident: what ends before
    /// it was told already.
    told_until: i64,
    /// Incidents opened since the start.
    pub opened: u64,
}

impl Live {
    /// No incidents yet.
    pub fn new(quiet: i64, baseline: i64, update_every: Duration) -> Live {
        Live {
            quiet,
            baseline,
            update_every,
            next_find: None,
            dirty: false,
            open: Vec::new(),
            closed: VecDeque::new(),
            told_until: i64::MIN,
            opened: 0,
        }
    }

    /// Failures were counted: incidents are to be looked for again.
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// Seconds without a failure after which an incident closes.
    pub fn close_after(&self, agg: &Aggregator) -> i64 {
        self.quiet
            .max(MERGE_GAP.saturating_add(2 * agg.cells.window()))
    }

    /// Forgets what is older than the baseline (and than every open
    /// incident, and the minute before it where evidence may be).
    fn prune(&self, agg: &mut Aggregator, now: i64) {
        let from = self
            .open
            .iter()
            .map(|t| t.start.saturating_sub(FPM_BEFORE.max(DEPLOY_SECS)))
            .fold(now.saturating_sub(self.baseline), i64::min);
        agg.cells.forget_before(from, CELL_WINDOW);
        agg.lifecycle.list.retain(|l| {
            l.time
                .is_some_and(|t| t.0 >= from.saturating_sub(DEPLOY_SECS))
        });
    }

    /// Looks for incidents in `agg` at log time `now` (at most once a
    /// second unless `force`, and only when failures were counted since
    /// the last look: the same cells give the same incidents), and returns
    /// what opened, changed and closed.
    pub fn update(
        &mut self,
        agg: &mut Aggregator,
        now: i64,
        at: Instant,
        force: bool,
    ) -> Vec<IncidentEvent> {
        if !force && self.next_find.is_some_and(|n| at < n) {
            return Vec::new();
        }
        self.next_find = Some(at + FIND_EVERY);
        // Found before the past is forgotten: a burst read at once (a log
        // read from its start) may hold hours, all of it looked at once.
        let (found, reports) = if self.dirty || force {
            self.dirty = false;
            let found = incidents::find(agg).incidents;
            let reports = report::incident_reports(agg, &found);
            (found, reports)
        } else {
            (Vec::new(), Vec::new())
        };
        let close_after = self.close_after(agg);
        let iso = LocalTime(now).iso();
        let mut events = Vec::new();
        let mut seen = vec![false; self.open.len()];
        for (inc, rep) in found.iter().zip(reports) {
            let (s, e) = (inc.start.0, inc.end.0);
            let overlaps = |t: &Tracked| s <= t.end && e >= t.start;
            if let Some(k) = self.open.iter().position(overlaps) {
                if !seen[k] {
                    seen[k] = true;
                    let t = &mut self.open[k];
                    t.report = rep;
                    t.start = s;
                    t.end = t.end.max(e);
                }
                continue;
            }
            if e <= self.told_until || self.closed.iter().any(overlaps) {
                continue;
            }
            self.opened += 1;
            let t = Tracked {
                id: self.opened,
                sent: Signature::of(&rep),
                report: rep,
                start: s,
                end: e,
                open: true,
                next_update: at + self.update_every,
            };
            events.push(event("incident_open", &t, None, &iso));
            self.open.push(t);
            seen.push(true);
        }
        // Quiet long enough: closed.
        let mut k = 0;
        while k < self.open.len() {
            if now.saturating_sub(self.open[k].end) >= close_after {
                let t = self.open.remove(k);
                events.push(event("incident_close", &t, Some("quiet"), &iso));
                self.close(t);
            } else {
                k += 1;
            }
        }
        // Changed: told at most once per interval.
        for t in &mut self.open {
            let sig = Signature::of(&t.report);
            if sig != t.sent && at >= t.next_update {
                t.sent = sig;
                t.next_update = at + self.update_every;
                events.push(event("incident_update", t, None, &iso));
            }
        }
        self.prune(agg, now);
        events
    }

    /// Follow stops: what is still open closes, as it stands.
    pub fn close_all(&mut self, now: i64) -> Vec<IncidentEvent> {
        let iso = LocalTime(now).iso();
        let open = std::mem::take(&mut self.open);
        open.into_iter()
            .map(|t| {
                let e = event("incident_close", &t, Some("exit"), &iso);
                self.close(t);
                e
            })
            .collect()
    }

    fn close(&mut self, mut t: Tracked) {
        t.open = false;
        self.told_until = self.told_until.max(t.end);
        self.closed.push_back(t);
        if self.closed.len() > CLOSED_KEPT {
            self.closed.pop_front();
        }
    }

    /// The open incidents and the closed ones kept, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &Tracked> {
        let mut v: Vec<&Tracked> = self.closed.iter().chain(&self.open).collect();
        v.sort_by_key(|t| (t.start, t.id));
        v.into_iter()
    }

    /// The upstreams of the open incidents.
    pub fn open_upstreams(&self) -> impl Iterator<Item = &str> {
        self.open
            .iter()
            .flat_map(|t| t.report.upstreams.iter().map(|u| u.upstream.as_str()))
    }
}

fn event(kind: &'static str, t: &Tracked, reason: Option<&'static str>, at: &str) -> IncidentEvent {
    IncidentEvent {
        event: kind,
        id: t.id,
        reason,
        at: at.to_string(),
        incident: t.report.clone(),
    }
}
