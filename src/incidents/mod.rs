//! Incidents: spans where failures rise well above the input's own
//! baseline, with their root cause and its echoes.
//!
//! Found from the aggregator's [`Cells`] alone (failures per short window,
//! cause, server and upstream, with the first and last failure time of
//! each), never from the lines again, so the cost is a walk over at most
//! [`MAX_CELLS`](crate::aggregate::cells::MAX_CELLS) cells and memory is
//! bounded by theirs.
//!
//! - **Baseline.** Per series (all failed requests together, and the
//!   attempts on each upstream), the median and the median absolute
//!   deviation over every window of the input's span, empty ones included
//!   (and at least [`MIN_BASELINE_SECS`] of them).
//!   A window is *hot* for a series when its count exceeds the median by
//!   more than [`K_MAD`] scaled deviations, [`K_POISSON`] times the square
//!   root of the median (counts are Poisson-like: a median of 0 or 1 has no
//!   spread to speak of) and at least [`MIN_EXCESS`] failures.
//! - **Spans.** Hot windows closer than [`MERGE_GAP`] seconds are one span;
//!   the window just before and just after it are taken in too, so a ramp
//!   is not cut. A span is an incident when it holds at least
//!   [`MIN_FAILURES`] failed requests over at least [`MIN_SECONDS`]: one
//!   stray timeout is not an incident.
//! - **Members.** The upstreams hot in the span; all upstreams of windows
//!   that are hot only as a whole (a rise spread over many upstreams); and,
//!   when the span holds echoes, every upstream that failed to connect or
//!   answer in it (the members of the group that was disabled).
//! - **Root and echoes.** `no live upstreams` (nginx) and Apache's workers
//!   in error state or all busy are *echoes*: they follow from the members'
//!   own failures. The root cause is the first link: of the other causes
//!   that hold at least a quarter of their failed attempts, the one that
//!   failed first. php-fpm's own lines (`server reached pm.max_children`,
//!   a child killed by a signal, a request timed out) on a pool behind the
//!   span's FastCGI upstreams are evidence, and the root cause when there
//!   are any: they explain the web server's failures and add no failed
//!   requests.
//!
//! - **Deploys.** A span that starts at most [`DEPLOY_SECS`] seconds after
//!   a reload or restart of a server that logged its failures (its own
//!   lifecycle lines, kept by the aggregator: nginx `SIGHUP ...
//!   reconfiguring`, `SIGTERM ... exiting`, `start worker processes`;
//!   Apache AH00493, AH00171, AH00169, AH00489) is a deploy. Lifecycle
//!   lines less than [`DEPLOY_GAP`] seconds apart are one reload or
//!   restart: a reload when one of them is a reload, else a restart; the
//!   line shown is its first reload or stop line (what was asked of the
//!   server), else its first line. That line joins the root cause's
//!   evidence.
//!
//! Edges are exact (the first and last failure time of the members'
//! cells); the peak is the member's busiest window.

pub mod clock;

use std::collections::{BTreeMap, BTreeSet};

use crate::aggregate::cells::{self, Cell, Cells};
use crate::aggregate::lifecycle::LifecycleLine;
use crate::aggregate::{Aggregator, Counts, Example};
use crate::catalog::lifecycle;
use crate::event::{CauseId, Lifecycle, LocalTime, PerServer, Server};
use crate::keys::{Interner, NO_KEY, OTHER};
use crate::parse::php_fpm_slowlog;

/// Scaled median absolute deviations above the median that make a window
/// hot.
pub const K_MAD: f64 = 5.0;
/// Square roots of the median above the median that make a window hot.
pub const K_POISSON: f64 = 4.0;
/// Failures above the median a hot window has at least.
pub const MIN_EXCESS: f64 = 4.0;
/// Hot windows at most this many seconds apart are one span.
pub const MERGE_GAP: i64 = 30;
/// Failed requests an incident has at least.
pub const MIN_FAILURES: u64 = 5;
/// Seconds an incident lasts at least (from its first failure to its
/// last).
pub const MIN_SECONDS: i64 = 2;
/// php-fpm lines up to this many seconds before an incident are its
/// evidence.
pub const FPM_BEFORE: i64 = 60;
/// The baseline spans at least this many seconds: windows missing from
/// a shorter input count as empty, so a log that holds only an outage
/// (an error log is empty while all is well) still shows it.
pub const MIN_BASELINE_SECS: i64 = 3600;
/// A span that starts at most this many seconds after a reload or a
/// restart of a server that logged it is a deploy.
pub const DEPLOY_SECS: i64 = 60;
/// Lifecycle lines at most this many seconds apart are one reload or
/// restart.
pub const DEPLOY_GAP: i64 = 5;
/// Evidence lines kept per incident from each server (the deploy's line
/// besides): the kernel's lines never push the web server's or php-fpm's
/// out.
pub const EVIDENCE_PER_SERVER: usize = 5;

/// One incident, with key ids of the aggregator it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// First failure.
    pub start: LocalTime,
    /// The microseconds of its second where the log wrote them (Apache,
    /// the kernel), else [`NO_MICROS`](crate::event::NO_MICROS).
    pub start_us: u32,
    /// Last failure.
    pub end: LocalTime,
    /// The microseconds of its second, likewise.
    pub end_us: u32,
    /// Start of the busiest window.
    pub peak_start: i64,
    /// Its end (exclusive).
    pub peak_end: i64,
    /// Failed requests in it.
    pub peak_count: u64,
    /// Failed requests (web servers' only: php-fpm lines add none).
    pub failed_requests: u64,
    /// The first link.
    pub root: CauseId,
    /// Failed attempts of the root cause per upstream.
    pub root_upstreams: Counts,
    /// Lines that show the root cause (and its evidence from other logs),
    /// in order of importance: the kernel's, php-fpm's, the root's first
    /// line, the first echo's, the deploy's; at most
    /// [`EVIDENCE_PER_SERVER`] from each server.
    pub evidence: Vec<Evidence>,
    /// What the kernel's line says happened (`php-fpm8.2 OOM-killed at
    /// ...`), when the kernel log explains the incident.
    pub root_detail: Option<String>,
    /// Echo causes and their failed requests.
    pub echoes: Vec<(CauseId, u64)>,
    /// Failed requests per cause (echoes included), most first.
    pub causes: Vec<(CauseId, u64)>,
    /// Failed attempts per upstream.
    pub upstreams: Counts,
    /// Failed requests per route.
    pub routes: Counts,
    /// Failed requests per server that logged them (php-fpm: its lines).
    pub servers: PerServer<u64>,
    /// The reload or restart it followed, if it followed one.
    pub deploy: Option<Deploy>,
    /// Lines that took one of its upstreams out of its group during it
    /// (nginx `upstream server temporarily disabled`, Apache AH00959): the
    /// link between the root cause and `no live upstreams`. No failed
    /// requests.
    pub disabled: u64,
}

/// One line of an incident's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The line.
    pub line: Example,
    /// The server that logged it.
    pub server: Server,
    /// When it was logged (its cell's first time), in seconds from the
    /// incident's start (negative: before it).
    pub offset: i64,
}

/// A reload or restart an incident followed (see [`DEPLOY_SECS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    /// `reload` or `restart`.
    pub kind: &'static str,
    /// The time of its line.
    pub at: LocalTime,
    /// Its line: the reload or stop asked of the server, else the first
    /// of its lifecycle lines.
    pub line: Example,
    /// The server reloaded or restarted.
    pub server: Server,
}

/// Lines of another log (php-fpm's, the kernel's) that explain an
/// incident: their earliest cause, how many lines, and the first line of
/// each cause with its time.
type FromOtherLogs = (CauseId, u64, Vec<(Example, LocalTime)>);

/// Evidence lines of `server`, `start` the incident's start.
fn evidence_of(
    lines: Vec<(Example, LocalTime)>,
    server: Server,
    start: LocalTime,
) -> impl Iterator<Item = Evidence> {
    lines
        .into_iter()
        .take(EVIDENCE_PER_SERVER)
        .map(move |(line, at)| Evidence {
            line,
            server,
            offset: at.0.saturating_sub(start.0),
        })
}

/// Failures between two incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quiet {
    /// The end of the incident before.
    pub start: LocalTime,
    /// The start of the incident after.
    pub end: LocalTime,
    /// Failed requests logged in between.
    pub failed_requests: u64,
}

/// Everything found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Incidents {
    /// Oldest first.
    pub incidents: Vec<Incident>,
    /// Between each incident and the next.
    pub quiet: Vec<Quiet>,
    /// Window of the cells they were found in, in seconds.
    pub window: i64,
}

/// Causes that follow from other failures: the group is out of servers.
pub fn is_echo(cause: CauseId) -> bool {
    matches!(cause.info().id, "no_live_upstreams" | "upstream_busy")
}

/// Causes of one request, not of the upstream (they never make a group
/// member fail).
fn is_request_cause(cause: CauseId) -> bool {
    matches!(cause.info().id, "fastcgi_script" | "php_fatal")
}

/// Median and median absolute deviation of `values` padded with zeros up
/// to `n` values.
fn baseline(values: &[u64], n: u64) -> (f64, f64) {
    let median = |v: &mut Vec<u64>, n: u64| -> f64 {
        // v holds the non-zero part; zeros come first in sorted order.
        v.sort_unstable();
        let zeros = n.saturating_sub(v.len() as u64);
        let at = |i: u64| -> f64 {
            if i < zeros {
                0.0
            } else {
                v[(i - zeros) as usize] as f64
            }
        };
        if n == 0 {
            0.0
        } else if n % 2 == 1 {
            at(n / 2)
        } else {
            (at(n / 2 - 1) + at(n / 2)) / 2.0
        }
    };
    let mut v: Vec<u64> = values.iter().copied().filter(|&x| x > 0).collect();
    let m = median(&mut v, n);
    // Deviations: the zeros deviate by m each (not written out: the span
    // may hold far more windows than cells), the rest by |x - m|.
    let zeros = n.saturating_sub(v.len() as u64);
    let mut dev: Vec<f64> = v.iter().map(|&x| (x as f64 - m).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let below = dev.partition_point(|&x| x < m) as u64;
    let at = |i: u64| -> f64 {
        if i < below {
            dev[i as usize]
        } else if i < below + zeros {
            m
        } else {
            dev[(i - zeros) as usize]
        }
    };
    let d = if n == 0 {
        0.0
    } else if n % 2 == 1 {
        at(n / 2)
    } else {
        (at(n / 2 - 1) + at(n / 2)) / 2.0
    };
    (m, d)
}

/// The count above which a window is hot, for a series with this
/// baseline.
fn threshold((m, d): (f64, f64)) -> f64 {
    m + (K_MAD * 1.4826 * d)
        .max(K_POISSON * m.max(1.0).sqrt())
        .max(MIN_EXCESS)
}

/// Finds the incidents in `agg`'s cells, and the deploys they followed
/// in its lifecycle lines.
pub fn find(agg: &Aggregator) -> Incidents {
    let mut found = find_in(&agg.cells, &agg.upstreams);
    for i in &mut found.incidents {
        let (n, first) = disabled(i, &agg.lifecycle.disabled, &agg.upstreams);
        i.disabled = n;
        if let Some(l) = first {
            // The cascade's middle link: after the root's first line.
            let at = i
                .evidence
                .iter()
                .position(|e| e.server.is_gateway())
                .map_or(i.evidence.len(), |p| p + 1);
            i.evidence.insert(
                at,
                Evidence {
                    line: l.line.clone(),
                    server: l.server,
                    offset: l.time.map_or(0, |t| t.0.saturating_sub(i.start.0)),
                },
            );
        }
        i.deploy = deploy(i, &agg.lifecycle.list);
        if let Some(d) = &i.deploy {
            i.evidence.push(Evidence {
                line: d.line.clone(),
                server: d.server,
                offset: d.at.0.saturating_sub(i.start.0),
            });
        }
    }
    found
}

/// The lines among `lines` that took one of `i`'s upstreams out of its
/// group from its start to its end: how many, and the first.
fn disabled<'a>(
    i: &Incident,
    lines: &'a [LifecycleLine],
    upstreams: &Interner,
) -> (u64, Option<&'a LifecycleLine>) {
    if lines.is_empty() {
        return (0, None);
    }
    let members: Vec<&[u8]> = i
        .upstreams
        .iter()
        .filter(|&(u, _)| u != OTHER && u != NO_KEY)
        .map(|(u, _)| lifecycle::without_scheme(upstreams.key(u)))
        .collect();
    let mut found = lines
        .iter()
        .filter(|l| l.time.is_some_and(|t| t >= i.start && t <= i.end))
        .filter(|l| lifecycle::disabled_member(&l.line.text).is_some_and(|m| members.contains(&m)));
    let first = found.next();
    (first.map_or(0, |_| 1 + found.count() as u64), first)
}

/// The reload or restart `i` followed, from the lifecycle lines (in input
/// order) of the servers that logged it.
fn deploy(i: &Incident, lines: &[LifecycleLine]) -> Option<Deploy> {
    let near = |l: &LifecycleLine| {
        l.kind != Lifecycle::Crash
            && l.server != Server::PhpFpm
            && i.servers[l.server] > 0
            && l.time
                .is_some_and(|t| t <= i.start && i.start.0 - t.0 <= DEPLOY_SECS)
    };
    // Their time order (inputs are read one after another).
    let mut cands: Vec<&LifecycleLine> = lines.iter().filter(|l| near(l)).collect();
    cands.sort_by_key(|l| (l.time, l.line.file, l.line.line));
    let last = cands.len().checked_sub(1)?;
    // Walk back over the lines of the same reload or restart.
    let mut first = last;
    while first > 0 {
        let (a, b) = (cands[first - 1].time?, cands[first].time?);
        if b.0 - a.0 > DEPLOY_GAP {
            break;
        }
        first -= 1;
    }
    let group = &cands[first..=last];
    let asked = |k: Lifecycle| group.iter().find(|l| l.kind == k);
    let kind = if asked(Lifecycle::Reload).is_some() {
        "reload"
    } else {
        "restart"
    };
    let shown = group
        .iter()
        .find(|l| matches!(l.kind, Lifecycle::Reload | Lifecycle::Stop))
        .or_else(|| asked(Lifecycle::Signal))
        .unwrap_or(&group[0]);
    Some(Deploy {
        kind,
        at: shown.time?,
        line: shown.line.clone(),
        server: shown.server,
    })
}

/// Finds the incidents in `cells`, whose upstream ids are `upstreams`'.
pub fn find_in(cells: &Cells, upstreams: &Interner) -> Incidents {
    let w = cells.window();
    let windows = cells.windows();
    let mut out = Incidents {
        window: w,
        ..Incidents::default()
    };
    let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
        return out;
    };
    let span = (last.0.saturating_sub(first.0) / w + 1)
        .max(MIN_BASELINE_SECS / w)
        .max(1) as u64;
    let web = |c: &Cell| c.key.server.is_gateway();

    // The series: failed requests in all, attempts per upstream.
    let overall: Vec<u64> = windows
        .iter()
        .map(|(_, cs)| cs.iter().filter(|c| web(c)).map(|c| c.count).sum())
        .collect();
    let mut per_up: BTreeMap<u32, Vec<(usize, u64)>> = BTreeMap::new();
    for (i, (_, cs)) in windows.iter().enumerate() {
        for c in cs.iter().filter(|c| web(c)) {
            let v = per_up.entry(c.key.upstream).or_default();
            match v.last_mut() {
                Some(last) if last.0 == i => last.1 += c.attempts,
                _ => v.push((i, c.attempts)),
            }
        }
    }
    let overall_limit = threshold(baseline(&overall, span));
    let mut up_limit: BTreeMap<u32, f64> = BTreeMap::new();
    // Per window: the upstreams hot in it; whether it is hot as a whole.
    let mut hot_ups: Vec<Vec<u32>> = vec![Vec::new(); windows.len()];
    for (&u, v) in &per_up {
        let values: Vec<u64> = v.iter().map(|x| x.1).collect();
        let limit = threshold(baseline(&values, span));
        up_limit.insert(u, limit);
        for &(i, n) in v {
            if n as f64 > limit {
                hot_ups[i].push(u);
            }
        }
    }
    let hot_all: Vec<bool> = overall.iter().map(|&n| n as f64 > overall_limit).collect();

    // Spans per series: each upstream's hot windows, and the windows hot
    // only as a whole (a rise spread over many upstreams, all members).
    let close = |i: usize, j: usize| {
        windows[j].0.saturating_sub(windows[i].0.saturating_add(w)) <= MERGE_GAP
    };
    let mut spans: Vec<Span> = Vec::new();
    let mut add_spans = |hot: &[usize], members: &dyn Fn(usize) -> Vec<u32>| {
        let mut cur: Option<Span> = None;
        for &i in hot {
            match &mut cur {
                Some(s) if close(s.b, i) => {
                    s.b = i;
                    s.members.extend(members(i));
                }
                _ => {
                    spans.extend(cur.take());
                    cur = Some(Span {
                        a: i,
                        b: i,
                        members: members(i).into_iter().collect(),
                    });
                }
            }
        }
        spans.extend(cur);
    };
    for (&u, v) in &per_up {
        let limit = up_limit[&u];
        let hot: Vec<usize> = v
            .iter()
            .filter(|x| x.1 as f64 > limit)
            .map(|x| x.0)
            .collect();
        add_spans(&hot, &|_| vec![u]);
    }
    let diffuse: Vec<usize> = (0..windows.len())
        .filter(|&i| hot_all[i] && hot_ups[i].is_empty())
        .collect();
    add_spans(&diffuse, &|i| {
        windows[i]
            .1
            .iter()
            .filter(|c| web(c))
            .map(|c| c.key.upstream)
            .collect()
    });
    // One incident per group of spans that overlap, or that follow each
    // other closely when one of them echoes (the members failed just
    // before their group ran out of servers).
    let echoes_in = |s: &Span| {
        (s.a..=s.b).any(|i| {
            windows[i]
                .1
                .iter()
                .any(|c| web(c) && is_echo(c.key.cause) && s.members.contains(&c.key.upstream))
        })
    };
    spans.sort_by_key(|s| (s.a, s.b));
    let mut groups: Vec<(Span, bool)> = Vec::new();
    for s in spans {
        let e = echoes_in(&s);
        match groups.last_mut() {
            Some((g, ge)) if s.a <= g.b || ((e || *ge) && close(g.b, s.a)) => {
                g.b = g.b.max(s.b);
                g.members.extend(s.members);
                *ge |= e;
            }
            _ => groups.push((s, e)),
        }
    }
    let mut claimed: BTreeSet<(usize, u32)> = BTreeSet::new();
    for (k, (g, _)) in groups.iter().enumerate() {
        // The windows of the group, and its neighbours when adjacent in
        // time and in no other group.
        let mut idx: Vec<usize> = (g.a..=g.b).collect();
        let prev_b = k.checked_sub(1).map(|p| groups[p].0.b);
        if g.a > 0
            && windows[g.a - 1].0 == windows[g.a].0.saturating_sub(w)
            && prev_b != Some(g.a - 1)
        {
            idx.insert(0, g.a - 1);
        }
        let next_a = groups.get(k + 1).map(|n| n.0.a);
        if g.b + 1 < windows.len()
            && windows[g.b + 1].0 == windows[g.b].0.saturating_add(w)
            && next_a != Some(g.b + 1)
        {
            idx.push(g.b + 1);
        }
        if let Some(inc) = incident(cells, &windows, &idx, g, &mut claimed, upstreams, w) {
            out.incidents.push(inc);
        }
    }
    // Quiet periods: the failures between one incident and the next.
    for pair in out.incidents.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        let failed_requests = windows
            .iter()
            .flat_map(|(_, cs)| cs.iter())
            .filter(|c| web(c) && c.first > prev.end && c.last < next.start)
            .map(|c| c.count.saturating_sub(c.repeats))
            .sum();
        out.quiet.push(Quiet {
            start: prev.end,
            end: next.start,
            failed_requests,
        });
    }
    out
}

/// Hot windows of one series, or of a group of them.
struct Span {
    /// First window (index).
    a: usize,
    /// Last window.
    b: usize,
    /// Upstreams whose failures are the span's.
    members: BTreeSet<u32>,
}

/// The incident of the windows `idx` (group `g` and its neighbours), if it
/// is one; `claimed` holds the (window, upstream) cells taken by incidents
/// before it.
fn incident(
    store: &Cells,
    windows: &[(i64, &[Cell])],
    idx: &[usize],
    g: &Span,
    claimed: &mut BTreeSet<(usize, u32)>,
    upstreams: &Interner,
    w: i64,
) -> Option<Incident> {
    let web = |c: &Cell| c.key.server.is_gateway();
    let in_span = |i: usize| (g.a..=g.b).contains(&i);
    let mut members = g.members.clone();
    // With echoes, the members of the disabled group: every upstream that
    // failed to connect or answer in the span.
    let echoing = idx.iter().any(|&i| {
        windows[i]
            .1
            .iter()
            .any(|c| web(c) && is_echo(c.key.cause) && members.contains(&c.key.upstream))
    });
    if echoing {
        for &i in idx {
            for c in windows[i].1.iter().filter(|c| web(c)) {
                if !is_echo(c.key.cause) && !is_request_cause(c.key.cause) {
                    members.insert(c.key.upstream);
                }
            }
        }
    }
    let cells: Vec<(usize, &Cell)> = idx
        .iter()
        .flat_map(|&i| windows[i].1.iter().map(move |c| (i, c)))
        .filter(|(i, c)| {
            web(c)
                && members.contains(&c.key.upstream)
                && !claimed.contains(&(*i, c.key.upstream))
                && (in_span(*i) || !is_request_cause(c.key.cause))
        })
        .collect();
    // Requests, once each: a retry that failed otherwise is not another.
    let requests = |c: &Cell| c.count.saturating_sub(c.repeats);
    let failed_requests: u64 = cells.iter().map(|(_, c)| requests(c)).sum();
    let (start, start_us) = cells
        .iter()
        .map(|(_, c)| (c.first, c.first_us))
        .min_by_key(|&(t, us)| cells::early(t, us))?;
    let (end, end_us) = cells
        .iter()
        .map(|(_, c)| (c.last, c.last_us))
        .max_by_key(|&(t, us)| cells::late(t, us))?;
    if failed_requests < MIN_FAILURES || end.0.saturating_sub(start.0) < MIN_SECONDS {
        return None;
    }
    claimed.extend(cells.iter().map(|(i, c)| (*i, c.key.upstream)));
    // Peak: the busiest window (the earliest of equals). The cells are
    // summed per window in one pass: a pass over every cell per window
    // grows with the square of a long incident.
    let mut per_window: BTreeMap<usize, u64> = BTreeMap::new();
    for (i, c) in &cells {
        *per_window.entry(*i).or_default() += c.count;
    }
    let mut peak = (0i64, 0u64);
    for &i in idx {
        let n = per_window.get(&i).copied().unwrap_or(0);
        if n > peak.1 {
            peak = (windows[i].0, n);
        }
    }
    // Causes, upstreams, routes, servers.
    let mut by_cause: BTreeMap<CauseId, (u64, u64, LocalTime)> = BTreeMap::new();
    let mut ups = Counts::default();
    let mut routes = Counts::default();
    let mut servers: PerServer<u64> = PerServer::default();
    for (_, c) in &cells {
        let e = by_cause.entry(c.key.cause).or_insert((0, 0, c.first));
        e.0 += c.count;
        e.1 += c.attempts;
        e.2 = e.2.min(c.first);
        if c.key.upstream != NO_KEY {
            ups.add(c.key.upstream, c.attempts);
        }
        for (r, n) in c.route_counts() {
            routes.add(r, n);
        }
        routes.add(OTHER, c.other_routes);
        servers[c.key.server] += requests(c);
    }
    let mut causes: Vec<(CauseId, u64)> = by_cause.iter().map(|(&k, v)| (k, v.0)).collect();
    causes.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let echoes: Vec<(CauseId, u64)> = causes.iter().copied().filter(|c| is_echo(c.0)).collect();
    // The first link: among the causes that are not echoes and hold a
    // quarter of those attempts, the earliest.
    let links: Vec<(CauseId, u64, LocalTime)> = by_cause
        .iter()
        .filter(|(k, _)| !is_echo(**k))
        .map(|(&k, v)| (k, v.1, v.2))
        .collect();
    let link_attempts: u64 = links.iter().map(|l| l.1).sum();
    let mut root = links
        .iter()
        .filter(|l| l.1 * 4 >= link_attempts)
        .min_by(|x, y| x.2.cmp(&y.2).then(y.1.cmp(&x.1)).then(x.0.cmp(&y.0)))
        .map(|l| l.0)
        .or_else(|| causes.first().map(|c| c.0))?;
    let mut root_upstreams = Counts::default();
    let mut first_root: Option<&Cell> = None;
    let mut first_echo: Option<&Cell> = None;
    for (_, c) in &cells {
        // The earliest cell that kept its line (see `Cells`), else the
        // earliest.
        let rank = |x: &Cell| (!x.line.has_text(), x.first, x.line.file, x.line.line);
        let earlier = |o: Option<&Cell>| o.is_none_or(|o| rank(c) < rank(o));
        if c.key.cause == root {
            if c.key.upstream != NO_KEY {
                root_upstreams.add(c.key.upstream, c.attempts);
            }
            if earlier(first_root) {
                first_root = Some(c);
            }
        } else if is_echo(c.key.cause) && earlier(first_echo) {
            first_echo = Some(c);
        }
    }
    let web_lines: Vec<Evidence> = first_root
        .iter()
        .chain(&first_echo)
        .map(|c| Evidence {
            line: store.example(c),
            server: c.key.server,
            offset: c.first.0.saturating_sub(start.0),
        })
        .collect();
    // php-fpm's own lines on a pool behind the span's FastCGI upstreams.
    let mut fpm_lines = Vec::new();
    let fpm = fpm_evidence(store, windows, start, end, &ups, upstreams, w);
    let mut root_detail = None;
    if let Some((cause, lines, pool_lines)) = fpm {
        root = cause;
        servers[Server::PhpFpm] += lines;
        fpm_lines.extend(evidence_of(pool_lines, Server::PhpFpm, start));
        root_detail = slow_script(cause, &fpm_lines, start);
    }
    // The kernel's lines about a process or port behind it, or the machine.
    let mut evidence = Vec::new();
    if let Some(((cause, lines, kernel_lines), detail)) =
        kernel_evidence(store, windows, start, end, &ups, upstreams, w)
    {
        root = cause;
        root_detail = Some(detail);
        servers[Server::Kernel] += lines;
        evidence.extend(evidence_of(kernel_lines, Server::Kernel, start));
    }
    evidence.append(&mut fpm_lines);
    evidence.extend(web_lines);
    Some(Incident {
        start,
        start_us,
        end,
        end_us,
        peak_start: peak.0,
        peak_end: peak.0.saturating_add(w),
        peak_count: peak.1,
        failed_requests,
        root,
        root_upstreams,
        evidence,
        root_detail,
        echoes,
        causes,
        upstreams: ups,
        routes,
        servers,
        deploy: None,
        disabled: 0,
    })
}

/// Which script was slow, when php-fpm's slowlog gives the root cause:
/// `/var/www/report.php ran past request_slowlog_timeout at
/// 2026-12-06T13:58:01, 1s before the first failure, waiting in sleep()
/// /var/www/report.php:3`, from its first entry among `lines`.
fn slow_script(cause: CauseId, lines: &[Evidence], start: LocalTime) -> Option<String> {
    if cause.info().id != "php_fpm_slow_request" {
        return None;
    }
    lines.iter().find_map(|e| {
        let (script, frame) = php_fpm_slowlog::script_and_frame(&e.line.text);
        let script = String::from_utf8_lossy(script?);
        let at = LocalTime(start.0.saturating_add(e.offset)).iso();
        let when = match e.offset {
            0 => "at the first failure".to_string(),
            n if n < 0 => format!("{}s before the first failure", n.unsigned_abs()),
            n => format!("{n}s after the first failure"),
        };
        let waiting = frame
            .map(|f| format!(", waiting in {}", String::from_utf8_lossy(f)))
            .unwrap_or_default();
        Some(format!(
            "{script} ran past request_slowlog_timeout at {at}, {when}{waiting}"
        ))
    })
}

/// The named upstreams of `ups`, as text.
fn upstream_names(ups: &Counts, upstreams: &Interner) -> Vec<String> {
    ups.iter()
        .filter(|&(u, _)| u != OTHER && u != NO_KEY)
        .map(|(u, _)| String::from_utf8_lossy(upstreams.key(u)).into_owned())
        .collect()
}

/// True for a FastCGI upstream (nginx's `fastcgi://` and `unix:`, Apache's
/// `fcgi://`): one a php-fpm pool may serve.
fn is_fastcgi(upstream: &str) -> bool {
    ["fastcgi://", "unix:", "fcgi://"]
        .iter()
        .any(|p| upstream.starts_with(p))
}

/// `server`'s cells that can explain an incident from `start` to `end`:
/// those from [`FPM_BEFORE`] seconds before its start to its end, in
/// windows of `w` seconds.
fn cells_explaining<'a>(
    windows: &'a [(i64, &'a [Cell])],
    start: LocalTime,
    end: LocalTime,
    w: i64,
    server: Server,
) -> impl Iterator<Item = &'a Cell> {
    let from = start.0.saturating_sub(FPM_BEFORE);
    windows
        .iter()
        .filter(move |(s, _)| s.saturating_add(w) > from && *s <= end.0)
        .flat_map(|(_, cs)| cs.iter())
        .filter(move |c| c.key.server == server && c.last.0 >= from && c.first <= end)
}

/// The php-fpm lines that explain an incident on these upstreams: their
/// earliest cause, how many lines, and the first line of each cause. A
/// pool is behind an upstream when the upstream's address names it (a
/// socket `php8.2-fpm-<pool>.sock`), or, when none does, when the incident
/// has FastCGI upstreams at all (the log does not say which address a pool
/// listens on).
fn fpm_evidence(
    store: &Cells,
    windows: &[(i64, &[Cell])],
    start: LocalTime,
    end: LocalTime,
    ups: &Counts,
    upstreams: &Interner,
    w: i64,
) -> Option<FromOtherLogs> {
    let mut fastcgi = upstream_names(ups, upstreams);
    fastcgi.retain(|u| is_fastcgi(u));
    if fastcgi.is_empty() {
        return None;
    }
    let cells: Vec<&Cell> = cells_explaining(windows, start, end, w, Server::PhpFpm).collect();
    let pool = |c: &Cell| -> String {
        let k = String::from_utf8_lossy(upstreams.key(c.key.upstream)).into_owned();
        k.strip_prefix("php-fpm:").unwrap_or("").to_string()
    };
    let named: Vec<&Cell> = cells
        .iter()
        .copied()
        .filter(|c| {
            let p = pool(c);
            !p.is_empty() && fastcgi.iter().any(|u| names_pool(u, &p))
        })
        .collect();
    let chosen = if named.is_empty() { cells } else { named };
    if chosen.is_empty() {
        return None;
    }
    let mut by_cause: BTreeMap<CauseId, (LocalTime, &Cell)> = BTreeMap::new();
    let mut lines = 0u64;
    for c in &chosen {
        lines += c.attempts;
        let e = by_cause.entry(c.key.cause).or_insert((c.first, c));
        if (c.first, c.line.file, c.line.line) < (e.0, e.1.line.file, e.1.line.line) {
            *e = (c.first, c);
        }
    }
    let mut firsts: Vec<(LocalTime, CauseId, &Cell)> =
        by_cause.into_iter().map(|(k, (t, c))| (t, k, c)).collect();
    firsts.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
    let cause = firsts.first()?.1;
    Some((
        cause,
        lines,
        firsts.iter().map(|f| (store.example(f.2), f.0)).collect(),
    ))
}

/// The kernel lines that explain an incident on these upstreams (from
/// [`FPM_BEFORE`] seconds before its start to its end): their earliest
/// cause, how many lines, and the first line of each cause. An OOM kill
/// or a segfault explains it (a process died mid-request), the more so
/// when the process is php-fpm behind a FastCGI upstream or names an
/// upstream; SYN flooding when its port is an upstream's or a web
/// server's (80, 443); a full conntrack table or the file-max limit
/// always (the whole machine). The lines about a named process or port
/// come first, and give the root cause when there are any.
fn kernel_evidence(
    store: &Cells,
    windows: &[(i64, &[Cell])],
    start: LocalTime,
    end: LocalTime,
    ups: &Counts,
    upstreams: &Interner,
    w: i64,
) -> Option<(FromOtherLogs, String)> {
    let names = upstream_names(ups, upstreams);
    let fastcgi = names.iter().any(|u| is_fastcgi(u));
    let port_of = |u: &str| -> Option<String> {
        let rest = u.rsplit_once(':')?.1;
        let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!port.is_empty()).then_some(port)
    };
    let ports: Vec<String> = names.iter().filter_map(|u| port_of(u)).collect();
    // 2: about a process or port behind the incident; 1: plausible by time
    // alone; none: unrelated.
    let weight = |c: &Cell| -> Option<u8> {
        let k = match c.key.upstream {
            NO_KEY | OTHER => String::new(),
            u => String::from_utf8_lossy(upstreams.key(u)).into_owned(),
        };
        let subject = k.strip_prefix("kernel:").unwrap_or("");
        if let Some(port) = subject.strip_prefix("port ") {
            if ports.iter().any(|p| p == port) {
                return Some(2);
            }
            return matches!(port, "80" | "443").then_some(1);
        }
        if subject.is_empty() {
            return Some(1);
        }
        let fpm = subject.starts_with("php") && subject.contains("fpm");
        let named = names.iter().any(|u| names_pool(u, subject));
        Some(if (fpm && fastcgi) || named { 2 } else { 1 })
    };
    let mut by_cause: BTreeMap<CauseId, (u8, LocalTime, &Cell)> = BTreeMap::new();
    let mut lines = 0u64;
    for c in cells_explaining(windows, start, end, w, Server::Kernel) {
        let Some(wt) = weight(c) else { continue };
        lines += c.attempts;
        let e = by_cause.entry(c.key.cause).or_insert((wt, c.first, c));
        let rank =
            |wt: u8, t: LocalTime, x: &Cell| (std::cmp::Reverse(wt), t, x.line.file, x.line.line);
        if rank(wt, c.first, c) < rank(e.0, e.1, e.2) {
            *e = (wt, c.first, c);
        }
    }
    let mut firsts: Vec<(u8, LocalTime, CauseId, &Cell)> = by_cause
        .into_iter()
        .map(|(k, (wt, t, c))| (wt, t, k, c))
        .collect();
    firsts.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let &(_, at, cause, cell) = firsts.first()?;
    let key = match cell.key.upstream {
        NO_KEY | OTHER => String::new(),
        u => String::from_utf8_lossy(upstreams.key(u)).into_owned(),
    };
    let subject = key.strip_prefix("kernel:").unwrap_or("");
    let when = match at.0.saturating_sub(start.0) {
        0 => "at the first failure".to_string(),
        n if n < 0 => format!("{}s before the first failure", -n),
        n => format!("{n}s after the first failure"),
    };
    let fpm = subject.starts_with("php") && subject.contains("fpm");
    let what = match cause.info().id {
        "kernel_oom_kill" if fpm => format!(
            "{subject} OOM-killed at {}, {when}: the pool lost children mid-request, their requests got no response",
            at.iso()
        ),
        "kernel_oom_kill" => format!(
            "{subject} OOM-killed at {}, {when}: the process died mid-request",
            at.iso()
        ),
        "kernel_segfault" => format!(
            "{subject} crashed (segfault) at {}, {when}: its requests got no response",
            at.iso()
        ),
        "kernel_syn_flood" => format!(
            "SYN flooding on {subject} at {}, {when}: its listen queue overflowed",
            at.iso()
        ),
        "kernel_conntrack_full" => format!(
            "the conntrack table was full at {}, {when}: the kernel dropped new connections",
            at.iso()
        ),
        _ => format!(
            "the system-wide file-max limit was reached at {}, {when}: no process could open a socket",
            at.iso()
        ),
    };
    Some((
        (
            cause,
            lines,
            firsts.iter().map(|f| (store.example(f.3), f.1)).collect(),
        ),
        what,
    ))
}

/// Whether an upstream address names a php-fpm pool (`unix:/run/php/php8.2-fpm-www.sock`
/// names `www`).
fn names_pool(upstream: &str, pool: &str) -> bool {
    let (hay, needle) = (upstream.as_bytes(), pool.as_bytes());
    if needle.is_empty() || needle.len() > hay.len() {
        return false;
    }
    let edge = |i: Option<&u8>| i.is_none_or(|b| !b.is_ascii_alphanumeric());
    (0..=hay.len() - needle.len()).any(|s| {
        hay[s..].starts_with(needle)
            && edge(s.checked_sub(1).and_then(|i| hay.get(i)))
            && edge(hay.get(s + needle.len()))
    })
}

#[cfg(test)]
mod tests;
