//! The report's `client_impact`: what the access logs say clients got,
//! and which of their 5xx the error logs explain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregator;
use crate::aggregate::clients::{Joined, Method, Pair};
use crate::event::CauseId;

/// Requests per status (`{"502": 12}`), in status order.
pub type Statuses = BTreeMap<u16, u64>;

/// What clients got, over every access line read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClientImpact {
    /// Access-log requests read.
    pub requests: u64,
    /// Requests per status.
    pub statuses: Statuses,
    /// Share of the requests answered with a 5xx, 4 decimals.
    pub error_rate: f64,
    /// Per route, most requests first.
    pub routes: Vec<RouteImpact>,
    /// Client 5xx with an error-log failure behind them.
    pub explained: u64,
    /// Client 5xx with none.
    pub unexplained: u64,
    /// The unexplained ones per status.
    pub unexplained_statuses: Statuses,
    /// Of the unexplained, those the upstream sent itself (a response
    /// header came with the 5xx: the application's own error, not the
    /// proxy's), per status.
    pub answered_by_upstream: Statuses,
    /// Requests whose failed attempts a retry recovered (the client got
    /// the retry's answer).
    pub absorbed_requests: u64,
    /// How access lines were tied to error-log failures, strongest first.
    pub join: Vec<JoinCount>,
    /// Requests per window of the report's timelines (only windows with
    /// requests), with their 5xx and 499 statuses only.
    #[serde(default)]
    pub timeline: Vec<WindowImpact>,
    /// Per upstream address of the last attempt (`$upstream_addr`, where
    /// the format logs it), most requests first; past the first
    /// [`TOP_UPSTREAMS`], folded into `(other)`.
    #[serde(default)]
    pub upstreams: Vec<UpstreamImpact>,
    /// Requests and failures not kept for the join past its bound.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_joined: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One route's requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RouteImpact {
    /// Normalized route (`(other)` past the cap).
    pub route: String,
    /// Requests.
    pub requests: u64,
    /// Requests per status.
    pub statuses: Statuses,
    /// Share answered with a 5xx.
    pub error_rate: f64,
}

/// Upstreams listed by name in `client_impact.upstreams`.
pub const TOP_UPSTREAMS: usize = 20;

/// One window's requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WindowImpact {
    /// Window start (ISO 8601, the log's own clock).
    pub start: String,
    /// Requests that ended in it.
    pub requests: u64,
    /// Of them, those answered with a 5xx or 499, per status.
    pub statuses: Statuses,
}

/// One upstream's requests (its last attempt).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UpstreamImpact {
    /// The address as `$upstream_addr` wrote it (`(other)` for the rest).
    pub upstream: String,
    /// Requests whose last attempt went to it.
    pub requests: u64,
    /// Requests per status the client got.
    pub statuses: Statuses,
}

/// A join method and the access lines it tied.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JoinCount {
    /// `connection` (`$connection` = `*N` and the request line),
    /// `request` (the request line in the time window) or `route` (the
    /// route in the window).
    pub method: String,
    /// Access lines tied so.
    pub matched: u64,
}

/// The statuses clients got because of one cause or incident.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CauseImpact {
    /// Access lines tied to its failures.
    pub requests: u64,
    /// What those clients got (a 200 is a failure a retry absorbed).
    pub statuses: Statuses,
    /// For timeouts: how long the requests on its routes took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timing: Vec<RouteTimingReport>,
}

/// How long the requests on one route took.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RouteTimingReport {
    /// The route.
    pub route: String,
    /// Requests answered with a 5xx.
    pub failed: Option<TimingReport>,
    /// The other requests (a sample: one in eight, by request line).
    pub succeeded: Option<TimingReport>,
}

/// A distribution of durations, in seconds (`$upstream_response_time`
/// where logged, else `$request_time` or `%D`), each within about 6%
/// (never above the largest, which is exact).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TimingReport {
    /// Requests timed.
    pub timed: u64,
    /// Median.
    pub p50_seconds: f64,
    /// 95th percentile.
    pub p95_seconds: f64,
    /// The longest.
    pub max_seconds: f64,
}

impl TimingReport {
    fn of(d: &crate::aggregate::clients::Durations) -> Option<TimingReport> {
        let s = |ms: u64| ms as f64 / 1000.0;
        Some(TimingReport {
            timed: d.count,
            p50_seconds: s(d.percentile(50)?),
            p95_seconds: s(d.percentile(95)?),
            max_seconds: s(d.max_ms),
        })
    }
}

/// Routes timed per timeout cause.
const TIMED_ROUTES: usize = 3;

/// The timing of a timeout cause's routes (the first few, most failures
/// first); empty for other causes.
pub fn timing_of(agg: &Aggregator, cause: &str, routes: &[&str]) -> Vec<RouteTimingReport> {
    if !cause.contains("timeout") {
        return Vec::new();
    }
    routes
        .iter()
        .take(TIMED_ROUTES)
        .filter_map(|r| {
            let t = agg.clients.route_timing(r.as_bytes())?;
            Some(RouteTimingReport {
                route: r.to_string(),
                failed: TimingReport::of(&t.failed),
                succeeded: TimingReport::of(&t.succeeded),
            })
        })
        .collect()
}

impl CauseImpact {
    /// From the pairs that `keep` selects.
    pub fn of<'a>(pairs: impl Iterator<Item = &'a Pair>) -> CauseImpact {
        let mut out = CauseImpact::default();
        for p in pairs {
            out.requests += 1;
            *out.statuses.entry(p.status).or_default() += 1;
        }
        out
    }
}

fn rate(statuses: &Statuses, requests: u64) -> f64 {
    if requests == 0 {
        return 0.0;
    }
    let failed: u64 = statuses.range(500..).map(|(_, n)| n).sum();
    (failed as f64 / requests as f64 * 10_000.0).round() / 10_000.0
}

/// The top-level object, and the join it was made with; `None` when no
/// access line was read.
pub fn build(agg: &Aggregator) -> Option<(ClientImpact, Joined)> {
    let c = &agg.clients;
    if !c.any() {
        return None;
    }
    let joined = c.join(&agg.routes);
    let mut routes: Vec<RouteImpact> = c
        .by_route
        .iter()
        .enumerate()
        .filter(|(_, r)| r.requests > 0)
        .map(|(i, r)| {
            (
                String::from_utf8_lossy(c.routes.key(i as u32)).into_owned(),
                r,
            )
        })
        .chain((c.other_route.requests > 0).then(|| ("(other)".to_string(), &c.other_route)))
        .map(|(route, r)| RouteImpact {
            route,
            requests: r.requests,
            error_rate: rate(&r.statuses, r.requests),
            statuses: r.statuses.clone(),
        })
        .collect();
    routes.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.route.cmp(&b.route))
    });
    let (_, windows) = c.timeline_in(agg.window);
    let timeline = windows
        .into_iter()
        .filter(|(_, w)| w.requests > 0)
        .map(|(start, w)| WindowImpact {
            start: crate::event::LocalTime(start).iso(),
            requests: w.requests,
            statuses: w.statuses,
        })
        .collect();
    let mut upstreams: Vec<UpstreamImpact> = c
        .by_upstream
        .iter()
        .enumerate()
        .filter(|(_, r)| r.requests > 0)
        .map(|(i, r)| UpstreamImpact {
            upstream: String::from_utf8_lossy(c.upstreams.key(i as u32)).into_owned(),
            requests: r.requests,
            statuses: r.statuses.clone(),
        })
        .collect();
    upstreams.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.upstream.cmp(&b.upstream))
    });
    let mut other = UpstreamImpact {
        upstream: "(other)".to_string(),
        requests: c.other_upstream.requests,
        statuses: c.other_upstream.statuses.clone(),
    };
    for u in upstreams.drain(TOP_UPSTREAMS.min(upstreams.len())..) {
        other.requests += u.requests;
        for (s, n) in u.statuses {
            *other.statuses.entry(s).or_default() += n;
        }
    }
    if other.requests > 0 {
        upstreams.push(other);
    }
    let explained = joined.pairs.iter().filter(|p| p.status >= 500).count() as u64;
    let impact = ClientImpact {
        requests: c.requests,
        error_rate: rate(&c.statuses, c.requests),
        statuses: c.statuses.clone(),
        routes,
        explained,
        unexplained: joined.unexplained.values().sum(),
        unexplained_statuses: joined.unexplained.clone(),
        answered_by_upstream: joined.answered_by_upstream.clone(),
        absorbed_requests: c.absorbed,
        join: Method::ALL
            .iter()
            .map(|m| JoinCount {
                method: m.name().to_string(),
                matched: joined.pairs.iter().filter(|p| p.method == *m).count() as u64,
            })
            .collect(),
        timeline,
        upstreams,
        not_joined: c.overflow,
    };
    Some((impact, joined))
}

/// The statuses clients got because of `cause`.
pub fn of_cause(joined: &Joined, cause: CauseId) -> CauseImpact {
    CauseImpact::of(joined.pairs.iter().filter(|p| p.cause == cause))
}

/// The statuses clients got because of failures of `causes` in
/// `[start, end]`.
pub fn of_span(joined: &Joined, causes: &[CauseId], start: i64, end: i64) -> CauseImpact {
    CauseImpact::of(
        joined
            .pairs
            .iter()
            .filter(|p| p.time >= start && p.time <= end && causes.contains(&p.cause)),
    )
}

/// Adds `b`'s counts to `a`'s.
fn add_statuses(a: &mut Statuses, b: &Statuses) {
    for (&s, &n) in b {
        *a.entry(s).or_default() += n;
    }
}

/// The `client_impact` of saved reports merged (`merge`): every count
/// summed, the rates recomputed, the timeline's windows put in the merged
/// `window` (seconds), routes past [`MERGED_ROUTES`] and upstreams past
/// [`TOP_UPSTREAMS`] folded into `(other)`; `None` when no report has one.
pub fn merged<'a>(
    parts: impl IntoIterator<Item = &'a ClientImpact>,
    window: i64,
) -> Option<ClientImpact> {
    let mut out: Option<ClientImpact> = None;
    let mut routes: BTreeMap<String, (u64, Statuses)> = BTreeMap::new();
    let mut upstreams: BTreeMap<String, (u64, Statuses)> = BTreeMap::new();
    let mut timeline: BTreeMap<i64, (u64, Statuses)> = BTreeMap::new();
    for p in parts {
        let o = out.get_or_insert_with(|| ClientImpact {
            join: p
                .join
                .iter()
                .map(|j| JoinCount {
                    method: j.method.clone(),
                    matched: 0,
                })
                .collect(),
            ..ClientImpact::default()
        });
        o.requests += p.requests;
        add_statuses(&mut o.statuses, &p.statuses);
        o.explained += p.explained;
        o.unexplained += p.unexplained;
        add_statuses(&mut o.unexplained_statuses, &p.unexplained_statuses);
        add_statuses(&mut o.answered_by_upstream, &p.answered_by_upstream);
        o.absorbed_requests += p.absorbed_requests;
        o.not_joined += p.not_joined;
        for j in &p.join {
            match o.join.iter_mut().find(|x| x.method == j.method) {
                Some(x) => x.matched += j.matched,
                None => o.join.push(j.clone()),
            }
        }
        let add =
            |map: &mut BTreeMap<String, (u64, Statuses)>, key: &str, n: u64, st: &Statuses| {
                let e = map.entry(key.to_string()).or_default();
                e.0 += n;
                add_statuses(&mut e.1, st);
            };
        for r in &p.routes {
            add(&mut routes, &r.route, r.requests, &r.statuses);
        }
        for u in &p.upstreams {
            add(&mut upstreams, &u.upstream, u.requests, &u.statuses);
        }
        for w in &p.timeline {
            let Some(t) = crate::parse::time::iso(w.start.as_bytes()) else {
                continue;
            };
            let e = timeline
                .entry(crate::aggregate::window::bucket(t.0, window.max(1)))
                .or_default();
            e.0 += w.requests;
            add_statuses(&mut e.1, &w.statuses);
        }
    }
    let mut out = out?;
    out.error_rate = rate(&out.statuses, out.requests);
    let ranked = |map: BTreeMap<String, (u64, Statuses)>, keep: usize| {
        let (mut named, other): (Vec<_>, Vec<_>) =
            map.into_iter().partition(|(k, _)| k != "(other)");
        named.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
        let mut folded: (u64, Statuses) = other
            .into_iter()
            .next()
            .map_or_else(Default::default, |o| o.1);
        for (_, (n, s)) in named.drain(keep.min(named.len())..) {
            folded.0 += n;
            add_statuses(&mut folded.1, &s);
        }
        if folded.0 > 0 {
            named.push(("(other)".to_string(), folded));
        }
        named
    };
    out.routes = ranked(routes, MERGED_ROUTES)
        .into_iter()
        .map(|(route, (requests, statuses))| RouteImpact {
            route,
            requests,
            error_rate: rate(&statuses, requests),
            statuses,
        })
        .collect();
    out.upstreams = ranked(upstreams, TOP_UPSTREAMS)
        .into_iter()
        .map(|(upstream, (requests, statuses))| UpstreamImpact {
            upstream,
            requests,
            statuses,
        })
        .collect();
    out.timeline = timeline
        .into_iter()
        .map(|(start, (requests, statuses))| WindowImpact {
            start: crate::event::LocalTime(start).iso(),
            requests,
            statuses,
        })
        .collect();
    Some(out)
}

/// Routes listed by name in a merged `client_impact` (as one report
/// counts at most).
pub const MERGED_ROUTES: usize = 10_000;

impl CauseImpact {
    /// Causes' impacts of saved reports summed; timings are left out (a
    /// percentile of several reports cannot be had from theirs).
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a CauseImpact>) -> Option<CauseImpact> {
        let mut out: Option<CauseImpact> = None;
        for p in parts {
            let o = out.get_or_insert_with(CauseImpact::default);
            o.requests += p.requests;
            add_statuses(&mut o.statuses, &p.statuses);
        }
        out
    }
}
