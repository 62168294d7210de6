//! The report as one self-contained HTML page (`--format html`): the
//! answer first (incident cards, the ranked cause table with the fix in
//! nginx and Apache terms), then the timeline stacked by cause, the
//! upstreams' timelines, and per cause its upstreams, routes, example and
//! fix.
//!
//! Everything is in the file: the style sheet, a small script, the charts
//! as inline SVG drawn here ([`chart`]) and the report's JSON (the same
//! contract as `--format json`) in one `<script type="application/json">`
//! block, which the script reads for filtering, zooming and sorting. The
//! page needs no network, reads without JavaScript (everything but the
//! toolbar is static HTML) and carries a Content-Security-Policy that
//! allows nothing but its own style and script, by their SHA-256.
//! Everything taken from a log is escaped ([`escape`]).

mod chart;
mod escape;

use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::incidents::{duration, seconds_between};
use super::text::summary;
use super::words::{self, logged_by, plural, thousands, truncate};
use crate::event::Server;
use crate::parse::time;
use crate::report::{CauseReport, IncidentReport, Report};
use chart::{Axis, Columns, Scale, Stacks};
use escape::html;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Rows of a cause's upstream or route table in the page; the rest are
/// summed up under it (the embedded JSON has them all, unless trimmed).
const TABLE_ROWS: usize = 25;

/// Incidents shown as cards at once (the largest); the others are folded.
const SHOWN_INCIDENTS: usize = 6;

/// Upstreams drawn as small multiples.
const MULTIPLES: usize = 12;

/// The embedded JSON is trimmed past this size (see [`write_json`]).
const JSON_BUDGET: usize = 1_200_000;

/// The main chart: its view box and plot area.
const W: f64 = 960.0;
const H: f64 = 330.0;
const PLOT: (f64, f64, f64, f64) = (64.0, 944.0, 46.0, 270.0); // x0, x1, top, bottom
/// Columns at most: two units each.
const MAX_COLS: usize = 440;

/// Writes the page.
pub fn render(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut body = String::with_capacity(64 * 1024);
    page_body(r, &mut body);
    let csp = format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src 'none'; \
         base-uri 'none'; form-action 'none'",
        sha256(STYLE),
        sha256(SCRIPT)
    );
    let (headline, rest) = summary(r);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"upcause {}\">\n\
         <title>upcause: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        html(&truncate(&format!("{headline}{rest}"), 120)),
    )?;
    out.write_all(body.as_bytes())?;
    out.write_all(b"<script type=\"application/json\" id=\"report-data\">")?;
    write_json(r, out)?;
    write!(
        out,
        "</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
}

/// `sha256-BASE64` of `s`, as a CSP source.
fn sha256(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// What was left out of the embedded JSON to keep the page small.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
struct Trimmed {
    /// The activity's cells were left out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    activity: bool,
    /// Each cause's upstreams and routes were cut to this many.
    #[serde(skip_serializing_if = "Option::is_none")]
    lists: Option<usize>,
    /// Each cause's timeline was summed into windows of this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    timeline_window_seconds: Option<i64>,
}

/// A trimmed report: the report's fields and `trimmed`.
#[derive(Serialize)]
struct TrimmedReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    trimmed: &'a Trimmed,
}

/// Bytes kept up to [`JSON_BUDGET`]; past it an error, which ends the
/// serialization there.
struct Budget(Vec<u8>);

impl Write for Budget {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if self.0.len() + b.len() > JSON_BUDGET {
            return Err(io::Error::other("over the budget"));
        }
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The compact JSON of `v` when it fits [`JSON_BUDGET`] (serialized up
/// to the budget at most).
fn within_budget<T: Serialize>(v: &T) -> Option<Vec<u8>> {
    let mut b = Budget(Vec::new());
    serde_json::to_writer(&mut b, v).ok()?;
    Some(b.0)
}

/// Writes the report's JSON for the script, compact, escaped for its
/// block ([`escape::ScriptWriter`]). Past [`JSON_BUDGET`] bytes it is
/// trimmed, in this order until it fits, and `trimmed` says what was
/// done: the activity's cells left out (the tables then zoom to a time
/// range by cause only); each cause's upstreams and routes cut to the
/// first 100 with the rest in `(other)`; each cause's timeline summed into
/// windows coarse enough for 2,000 of them.
fn write_json(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let json = match within_budget(r) {
        Some(j) => j,
        None => trim(r),
    };
    let mut w = escape::ScriptWriter::new(out);
    w.write_all(&json)?;
    w.finish()
}

/// The report trimmed to [`JSON_BUDGET`], as [`write_json`] describes.
fn trim(r: &Report) -> Vec<u8> {
    let mut trimmed = Trimmed {
        activity: true,
        ..Trimmed::default()
    };
    let mut t = Report {
        activity: Default::default(),
        ..r.clone()
    };
    t.activity.window_seconds = r.activity.window_seconds;
    let json = |t: &Report, trimmed: &Trimmed| within_budget(&TrimmedReport { report: t, trimmed });
    if let Some(j) = json(&t, &trimmed) {
        return j;
    }
    const KEEP: usize = 100;
    cut_lists(&mut t.causes, KEEP);
    trimmed.lists = Some(KEEP);
    if let Some(j) = json(&t, &trimmed) {
        return j;
    }
    trimmed.timeline_window_seconds = Some(coarsen_timelines(&mut t.causes, r.window_seconds));
    // Whatever is left, however long (a report with that many causes and
    // inputs is read whole).
    serde_json::to_vec(&TrimmedReport {
        report: &t,
        trimmed: &trimmed,
    })
    .unwrap_or_default()
}

/// Each cause's upstreams and routes cut to the first `keep`, the rest
/// summed as `(other)`.
fn cut_lists(causes: &mut [CauseReport], keep: usize) {
    use crate::report::{RouteCount, UpstreamCount};
    for c in causes {
        if c.upstreams.len() > keep {
            let rest = c.upstreams[keep..]
                .iter()
                .fold(0u64, |a, u| a.saturating_add(u.count));
            c.upstreams.truncate(keep);
            c.upstreams.push(UpstreamCount {
                upstream: "(other)".into(),
                count: rest,
            });
        }
        if c.routes.len() > keep {
            let rest = c.routes[keep..]
                .iter()
                .fold(0u64, |a, u| a.saturating_add(u.count));
            c.routes.truncate(keep);
            c.routes.push(RouteCount {
                route: "(other)".into(),
                count: rest,
            });
        }
    }
}

/// Each cause's timeline summed into windows (a multiple of `window`)
/// coarse enough for 2,000 of them over the longest; returns that window.
fn coarsen_timelines(causes: &mut [CauseReport], window: i64) -> i64 {
    const POINTS: i64 = 2000;
    let window = window.max(1);
    let mut coarse = window;
    for c in causes.iter() {
        if let (Some(a), Some(b)) = (
            c.timeline.first().and_then(|p| secs(&p.start)),
            c.timeline.last().and_then(|p| secs(&p.start)),
        ) {
            let windows = (b - a) / window + 1;
            coarse = coarse.max((windows + POINTS - 1) / POINTS * window);
        }
    }
    for c in causes {
        let mut sums: std::collections::BTreeMap<i64, u64> = Default::default();
        for p in &c.timeline {
            if let Some(s) = secs(&p.start) {
                let e = sums.entry(s.div_euclid(coarse) * coarse).or_default();
                *e = e.saturating_add(p.count);
            }
        }
        c.timeline = sums
            .into_iter()
            .map(|(s, count)| crate::report::TimelinePoint {
                start: crate::event::LocalTime(s).iso(),
                count,
            })
            .collect();
    }
    coarse
}

/// Seconds of the log's clock of an ISO time.
fn secs(iso: &str) -> Option<i64> {
    time::iso(iso.as_bytes()).map(|t| t.0)
}

/// The colour class of the cause at `rank` (0-based): the seven most
/// frequent causes have their own colour of the Okabe-Ito palette, the
/// rest alternate between two greys (so that stacked ones stay apart).
fn colour(rank: usize) -> usize {
    if rank < 7 { rank } else { 7 + (rank - 7) % 2 }
}

fn page_body(r: &Report, b: &mut String) {
    let (headline, rest) = summary(r);
    let _ = writeln!(
        b,
        "<header>\n<h1>Why the upstream failures</h1>\n<p class=\"summary\"><strong>{}</strong>{}</p>",
        html(&headline),
        html(&rest)
    );
    if let Some((a, z)) = span(r) {
        let _ = writeln!(
            b,
            "<p class=\"muted\">From {} to {}, in windows of {}.</p>",
            html(&a.replace('T', " ")),
            html(&z.replace('T', " ")),
            html(&r.window)
        );
    }
    b.push_str("</header>\n");
    if r.causes.is_empty() {
        notes(r, b);
        return;
    }
    b.push_str(
        "<div class=\"tools\" id=\"tools\" hidden>\n\
         <label>cause <select id=\"f-cause\"><option value=\"\">all causes</option></select></label>\n\
         <label>upstream <select id=\"f-upstream\"><option value=\"\">all upstreams</option></select></label>\n\
         <label>route contains <input id=\"f-route\" type=\"search\" placeholder=\"/api/\"></label>\n\
         <button type=\"button\" id=\"f-reset\">show all</button>\n\
         <output id=\"tools-status\"></output>\n</div>\n",
    );
    incidents(r, b);
    cause_table(r, b);
    timeline(r, b);
    multiples(r, b);
    b.push_str("<h2 id=\"causes\">Causes</h2>\n");
    for (i, c) in r.causes.iter().enumerate() {
        cause_section(i, c, r, b);
    }
    notes(r, b);
}

/// The first and last time over every cause.
fn span(r: &Report) -> Option<(String, String)> {
    let first = r
        .causes
        .iter()
        .filter_map(|c| c.first_seen.as_deref())
        .min()?;
    let last = r
        .causes
        .iter()
        .filter_map(|c| c.last_seen.as_deref())
        .max()?;
    Some((first.to_string(), last.to_string()))
}

fn incidents(r: &Report, b: &mut String) {
    b.push_str("<h2 id=\"incidents\">Incidents</h2>\n");
    if r.incidents.is_empty() {
        b.push_str("<p>No incident: failures never rose well above this log's own baseline.</p>\n");
        return;
    }
    // The largest first few as cards in time order; past them, the rest
    // (also in time order) folded under a summary, so the table stays
    // near the top of a long log's page.
    let mut by_size: Vec<usize> = (0..r.incidents.len()).collect();
    by_size.sort_by(|&a, &b| {
        r.incidents[b]
            .failed_requests
            .cmp(&r.incidents[a].failed_requests)
            .then(a.cmp(&b))
    });
    let mut shown = vec![false; r.incidents.len()];
    for &i in by_size.iter().take(SHOWN_INCIDENTS) {
        shown[i] = true;
    }
    b.push_str("<div class=\"cards\">\n");
    for (i, inc) in r.incidents.iter().enumerate() {
        if shown[i] {
            card(i, inc, r, b);
        }
    }
    b.push_str("</div>\n");
    let rest = r.incidents.len().saturating_sub(SHOWN_INCIDENTS);
    if rest > 0 {
        let _ = writeln!(
            b,
            "<details class=\"more\"><summary>{rest} smaller {}</summary>\n<div class=\"cards\">",
            plural(rest as u64, "incident", "incidents")
        );
        for (i, inc) in r.incidents.iter().enumerate() {
            if !shown[i] {
                card(i, inc, r, b);
            }
        }
        b.push_str("</div>\n</details>\n");
    }
}

/// `a (3), b (1), and 2 more`, escaped.
fn list<'a>(items: impl ExactSizeIterator<Item = (&'a str, u64)>, top: usize) -> String {
    let n = items.len();
    let mut parts: Vec<String> = items
        .take(top)
        .map(|(k, c)| format!("{} ({})", html(k), thousands(c)))
        .collect();
    if n > top {
        parts.push(format!("and {} more", n - top));
    }
    parts.join(", ")
}

fn card(i: usize, inc: &IncidentReport, r: &Report, b: &mut String) {
    let end = if inc.start.get(..10) == inc.end.get(..10) {
        inc.end.get(11..).unwrap_or(&inc.end).to_string()
    } else {
        inc.end.replace('T', " ")
    };
    let _ = writeln!(
        b,
        "<article class=\"card\" data-index=\"{i}\" data-start=\"{}\" data-end=\"{}\">\n\
         <h3>Incident {}: {} → {} ({})</h3>\n<p>{} failed {} on {}</p>\n<dl>",
        secs(&inc.start).unwrap_or(0),
        secs(&inc.end).unwrap_or(0),
        i + 1,
        html(&inc.start.replace('T', " ")),
        html(&end),
        duration(inc.seconds),
        thousands(inc.failed_requests),
        plural(inc.failed_requests, "request", "requests"),
        list(
            inc.upstreams.iter().map(|u| (u.upstream.as_str(), u.count)),
            5
        ),
    );
    let rc = &inc.root_cause;
    let on = list(
        rc.upstreams.iter().map(|u| (u.upstream.as_str(), u.count)),
        5,
    );
    let _ = writeln!(
        b,
        "<dt>root cause</dt><dd><a href=\"#cause-{id}\"><strong>{id}</strong></a>: {}{}</dd>",
        html(&rc.title),
        if on.is_empty() {
            String::new()
        } else {
            format!(", on {on}")
        },
        id = html(&rc.cause),
    );
    if let Some(d) = &rc.detail {
        let _ = writeln!(b, "<dt></dt><dd class=\"detail\">{}</dd>", html(d));
    }
    if let Some(d) = &inc.deploy {
        let _ = writeln!(
            b,
            "<dt>deploy</dt><dd>started {} after a {} at {} (<span class=\"mono\">{}:{}</span>)</dd>",
            duration(d.seconds_before),
            html(&d.kind),
            html(d.at.get(11..).unwrap_or(&d.at)),
            html(&d.file),
            d.line
        );
    }
    for (k, e) in rc.evidence.iter().enumerate() {
        let _ = writeln!(
            b,
            "<dt>{}</dt><dd><span class=\"mono\">{}:{}</span>{}<pre>{}</pre></dd>",
            if k == 0 { "evidence" } else { "" },
            html(&e.file),
            e.line,
            html(&words::offset(e.offset_seconds)),
            html(&truncate(&e.text, 600))
        );
    }
    if !inc.echoes.is_empty() {
        let _ = writeln!(
            b,
            "<dt>echoes</dt><dd>{}, which follow from the root cause</dd>",
            inc.echoes
                .iter()
                .map(|e| html(&words::echo(e)).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let others: Vec<(&str, u64)> = inc
        .causes
        .iter()
        .filter(|c| c.cause != rc.cause && !inc.echoes.iter().any(|e| e.cause == c.cause))
        .map(|c| (c.cause.as_str(), c.count))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            b,
            "<dt>seen as</dt><dd>{}</dd>",
            list(others.into_iter(), 26)
        );
    }
    let routes = list(inc.routes.iter().map(|r| (r.route.as_str(), r.count)), 5);
    let _ = writeln!(
        b,
        "<dt>impact</dt><dd>{} failed {}, peak {} in {}s at {}{}</dd>",
        thousands(inc.failed_requests),
        plural(inc.failed_requests, "request", "requests"),
        thousands(inc.peak.count),
        seconds_between(&inc.peak.start, &inc.peak.end),
        html(inc.peak.start.get(11..).unwrap_or(&inc.peak.start)),
        if routes.is_empty() {
            String::new()
        } else {
            format!("; routes {routes}")
        }
    );
    let logged = logged_by(&inc.servers);
    if logged.len() > 1 {
        let _ = writeln!(b, "<dt>logged by</dt><dd>{}</dd>", logged.join(", "));
    }
    let _ = writeln!(b, "<dt>fix</dt><dd>{}</dd>", html(&inc.fix));
    if let Some(q) = r.quiet.get(i) {
        let _ = writeln!(
            b,
            "<dt>then</dt><dd>quiet for {} until the next incident, {} failed {} in between</dd>",
            duration(q.seconds),
            thousands(q.failed_requests),
            plural(q.failed_requests, "request", "requests"),
        );
    }
    b.push_str("</dl>\n</article>\n");
}

fn cause_table(r: &Report, b: &mut String) {
    b.push_str(
        "<h2 id=\"table\">Causes by failed requests</h2>\n<div class=\"wide\">\n\
         <table class=\"sortable\" id=\"cause-table\">\n<thead><tr><th class=\"n\">#</th>\
         <th class=\"n\">requests</th><th class=\"n\">share</th><th>cause</th>\
         <th class=\"n\">status</th><th>top upstream</th><th class=\"fix\">fix (nginx)</th>\
         <th class=\"fix\">fix (Apache)</th></tr></thead>\n<tbody>\n",
    );
    for (i, c) in r.causes.iter().enumerate() {
        let id = html(&c.cause);
        let top = c
            .upstreams
            .first()
            .map_or_else(|| "-".to_string(), |u| html(&u.upstream).into_owned());
        let _ = writeln!(
            b,
            "<tr data-cause=\"{id}\"><td class=\"n\" data-v=\"{rank}\">{rank}</td>\
             <td class=\"n\" data-count=\"{id}\" data-v=\"{n}\">{count}</td>\
             <td class=\"n\" data-v=\"{share}\">{pct:.1}%</td>\
             <td class=\"id\"><span class=\"swatch s{s}\"></span><a href=\"#cause-{id}\">{id}</a>\
             <br><span class=\"muted\">{title}</span></td>\
             <td class=\"n\" data-v=\"{status}\">{status_text}</td><td class=\"mono\">{top}</td>\
             <td class=\"fix\">{nginx}</td><td class=\"fix\">{apache}</td></tr>",
            rank = i + 1,
            n = c.requests(),
            count = if c.requests() == 0 {
                "-".to_string()
            } else {
                thousands(c.requests())
            },
            share = c.share,
            pct = c.share * 100.0,
            s = colour(i),
            title = html(&c.title),
            status = c.status.unwrap_or(0),
            status_text = c.status.map_or_else(|| "-".to_string(), |s| s.to_string()),
            nginx = html(&c.fixes.0[Server::Nginx]),
            apache = html(&c.fixes.0[Server::Apache]),
        );
    }
    b.push_str("</tbody>\n</table>\n</div>\n");
}

/// A count of a series (a cause by rank) at a time.
type Point = (usize, i64, u64);

/// Every cause's timeline as `(rank, window start, count)`.
fn cause_points(r: &Report) -> Vec<Point> {
    r.causes
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.timeline
                .iter()
                .filter_map(move |p| Some((i, secs(&p.start)?, p.count)))
        })
        .collect()
}

/// The x axis: ticks, their labels (the date under the time where the
/// day changes) and the axis line.
fn x_axis(axis: &Axis, bottom: f64, max_ticks: usize, b: &mut String) {
    let _ = write!(
        b,
        "<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>",
        chart::num(axis.x0),
        chart::num(axis.x1),
        y = chart::num(bottom)
    );
    for t in axis.ticks(max_ticks) {
        let x = chart::num(t.x);
        let anchor = if t.x - axis.x0 < 30.0 {
            "start"
        } else if axis.x1 - t.x < 30.0 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            b,
            "<line class=\"axis\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
            chart::num(bottom),
            chart::num(bottom + 5.0)
        );
        let (first, second) = if t.time.is_empty() {
            (t.date.as_str(), "")
        } else {
            (t.time.as_str(), t.date.as_str())
        };
        let _ = write!(
            b,
            "<text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\">{first}</text>",
            chart::num(bottom + 22.0)
        );
        if !second.is_empty() {
            let _ = write!(
                b,
                "<text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\">{second}</text>",
                chart::num(bottom + 41.0)
            );
        }
    }
}

fn timeline(r: &Report, b: &mut String) {
    b.push_str("<h2 id=\"timeline\">Failures over time</h2>\n");
    let points = cause_points(r);
    let (Some(first), Some(last)) = (
        points.iter().map(|p| p.1).min(),
        points.iter().map(|p| p.1).max(),
    ) else {
        b.push_str("<p>No failure carries a time: nothing to draw.</p>\n");
        return;
    };
    // The clients' 5xx rate, where access logs were read: (window start,
    // requests, 5xx).
    let client: Vec<(i64, u64, u64)> = r
        .client_impact
        .iter()
        .flat_map(|ci| &ci.timeline)
        .filter_map(|w| {
            let failed = w.statuses.range(500..).map(|(_, n)| n).sum();
            Some((secs(&w.start)?, w.requests, failed))
        })
        .collect();
    let first = client.iter().map(|p| p.0).fold(first, i64::min);
    let last = client.iter().map(|p| p.0).fold(last, i64::max);
    let (x0, mut x1, top, bottom) = PLOT;
    if !client.is_empty() {
        // Room for the rate axis on the right.
        x1 -= 40.0;
    }
    let cols = Columns::fit(first, last, r.window_seconds, MAX_COLS);
    let axis = Axis {
        t0: cols.t0,
        t1: cols.end(),
        x0,
        x1,
    };
    let st = Stacks::build(cols, r.causes.len(), &points);
    let scale = Scale::new(st.max(), 4, bottom, top);
    let rects = chart::stack(&st, &axis, &scale);
    let _ = write!(
        b,
        "<figure class=\"chart\" id=\"chart\">\n<svg viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-labelledby=\"chart-title\" data-t0=\"{}\" data-t1=\"{}\" data-x0=\"{x0}\" data-x1=\"{x1}\">\
         <title id=\"chart-title\">Failed requests per {} stacked by cause</title>",
        axis.t0,
        axis.t1,
        html(&r.window),
    );
    // Grid and value labels.
    for v in scale.ticks() {
        let y = chart::num(scale.y(v));
        let _ = write!(
            b,
            "<line class=\"grid\" x1=\"{x0}\" x2=\"{x1}\" y1=\"{y}\" y2=\"{y}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            x0 - 6.0,
            chart::num(scale.y(v) + 5.0),
            thousands(v)
        );
    }
    // Incidents, shaded behind the bars; numbers that would touch are
    // written as one label (`1, 2`, or `3-7` for more).
    let mut labels: Vec<(f64, usize, usize)> = Vec::new();
    let label = |first: usize, last: usize| match last - first {
        0 => first.to_string(),
        1 => format!("{first}, {last}"),
        _ => format!("{first}\u{2013}{last}"),
    };
    // About the width of a label: 9 units per character at 16 units.
    let width = |first: usize, last: usize| label(first, last).chars().count() as f64 * 9.0;
    for (i, inc) in r.incidents.iter().enumerate() {
        if let (Some(s), Some(e)) = (secs(&inc.start), secs(&inc.end)) {
            let (xa, xb) = (axis.x(s.max(axis.t0)), axis.x((e + 1).min(axis.t1)));
            let w = (xb - xa).max(3.0);
            let _ = write!(
                b,
                "<rect class=\"inc\" x=\"{}\" y=\"{top}\" width=\"{}\" height=\"{}\"><title>Incident {}: {} to {}</title></rect>",
                chart::num(xa),
                chart::num(w),
                chart::num(bottom - top),
                i + 1,
                html(&inc.start.replace('T', " ")),
                html(&inc.end.replace('T', " ")),
            );
            match labels.last_mut() {
                Some((x, first, last)) if xa < *x + width(*first, *last) + 8.0 => *last = i + 1,
                _ => labels.push((xa, i + 1, i + 1)),
            }
        }
    }
    for &(x, first, last) in &labels {
        let _ = write!(
            b,
            "<text class=\"inc-label\" x=\"{}\" y=\"{}\"{}>{}</text>",
            chart::num((x + 2.0).min(x1)),
            chart::num(top - 5.0),
            if x1 - x < 40.0 {
                " text-anchor=\"end\""
            } else {
                ""
            },
            label(first, last)
        );
    }
    // One series per cause.
    for (i, c) in r.causes.iter().enumerate() {
        let mine: Vec<&chart::Rect> = rects.iter().filter(|p| p.series == i).collect();
        let _ = write!(
            b,
            "<g class=\"series\" data-cause=\"{id}\"><path class=\"s{}\" d=\"{}\"><title>{id}: {} failed {}</title></path></g>",
            colour(i),
            chart::path(&mine),
            thousands(c.count),
            plural(c.count, "request", "requests"),
            id = html(&c.cause),
        );
    }
    // Each column's quietest window, where a column holds several.
    if cols.per_col > 1 {
        let mut d = String::new();
        for (c, &low) in st.low.iter().enumerate() {
            if low == 0 || st.busiest[c].is_none() {
                continue;
            }
            let start = cols.t0 + cols.span() * c as i64;
            let (xa, xb) = (axis.x(start), axis.x(start + cols.span()));
            let _ = write!(
                d,
                "M{} {}H{}",
                chart::num(xa),
                chart::num(scale.y(low)),
                chart::num(xb)
            );
        }
        if !d.is_empty() {
            let _ = write!(b, "<path class=\"low\" d=\"{d}\"/>");
        }
    }
    // The peak.
    let totals = st.totals();
    if let Some((c, &n)) = totals
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
        && n > 0
    {
        let start = cols.t0 + cols.span() * c as i64;
        let x = (axis.x(start) + axis.x(start + cols.span())) / 2.0;
        let y = scale.y(n);
        let at = st.busiest[c].map(|t| crate::event::LocalTime(t).iso());
        let days = axis.t0.div_euclid(86400) != (axis.t1 - 1).div_euclid(86400);
        let label = format!(
            "peak {} at {}",
            thousands(n),
            at.as_deref()
                .and_then(|s| s.get(if days { 5 } else { 11 }..16))
                .unwrap_or("")
                .replace('T', " ")
        );
        let anchor = if x - x0 < 120.0 {
            "start"
        } else if x1 - x < 120.0 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            b,
            "<path class=\"peak\" d=\"M{} {}l-6 -9h12z\"/><text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            chart::num(x),
            chart::num(y - 2.0),
            chart::num(x),
            chart::num((y - 14.0).min(18.0)),
            html(&label)
        );
    }
    if !client.is_empty() {
        client_rate(&cols, &axis, &client, b);
    }
    x_axis(&axis, bottom, 8, b);
    let _ = writeln!(
        b,
        "<rect class=\"sel\" x=\"{x0}\" y=\"{top}\" width=\"0\" height=\"{}\"/>\
         <rect class=\"brush\" x=\"{x0}\" y=\"{top}\" width=\"{}\" height=\"{}\"/></svg>",
        bottom - top,
        x1 - x0,
        bottom - top
    );
    // The legend and how to read it.
    b.push_str("<ul class=\"legend\">");
    for (i, c) in r.causes.iter().enumerate() {
        let _ = write!(
            b,
            "<li data-cause=\"{id}\"><span class=\"swatch s{}\"></span>{id} ({})</li>",
            colour(i),
            thousands(c.count),
            id = html(&c.cause)
        );
    }
    if !client.is_empty() {
        b.push_str(
            "<li class=\"client\"><span class=\"swatch rate\"></span>clients' 5xx rate (right axis)</li>",
        );
    }
    b.push_str("</ul>\n<figcaption class=\"note\">");
    let _ = write!(
        b,
        "Failed requests per {}, stacked by cause",
        html(&r.window)
    );
    if !client.is_empty() {
        b.push_str(
            "; the dashed line: the share of the access logs' requests answered with a 5xx, in % on the right axis",
        );
        if cols.per_col > 1 {
            b.push_str(" (each column's highest)");
        }
    }
    if cols.per_col > 1 {
        let _ = write!(
            b,
            "; each column is the busiest of its {} windows ({} each), the line across it the quietest",
            cols.per_col,
            html(&r.window)
        );
    }
    if r.causes.len() > 7 {
        b.push_str("; causes after the seventh are in two alternating greys");
    }
    b.push_str(
        ". Shaded: the incidents. Drag across the chart to zoom the tables to a time range.</figcaption>\n</figure>\n",
    );
}

/// The clients' 5xx rate per column on its own axis at the right of the
/// plot, in %.
fn client_rate(cols: &Columns, axis: &Axis, points: &[(i64, u64, u64)], b: &mut String) {
    let (_, _, top, bottom) = PLOT;
    let rates = chart::rates(cols, points);
    let scale = chart::rate_scale(&rates, bottom, top);
    let _ = write!(
        b,
        "<g class=\"rate\"><line class=\"axis\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
        chart::num(top),
        chart::num(bottom),
        x = chart::num(axis.x1)
    );
    for v in scale.ticks() {
        let y = chart::num(scale.y(v));
        let _ = write!(
            b,
            "<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{}\">{v}%</text>",
            chart::num(axis.x1),
            chart::num(axis.x1 + 4.0),
            chart::num(axis.x1 + 6.0),
            chart::num(scale.y(v) + 5.0),
        );
    }
    let (failed, requests) = points
        .iter()
        .fold((0u64, 0u64), |(f, r), p| (f + p.2, r + p.1));
    let _ = write!(
        b,
        "<path class=\"rate-line\" id=\"client-rate\" d=\"{}\"><title>clients' 5xx rate: {} of {} {} over the span</title></path></g>",
        chart::rate_path(cols, &rates, axis, &scale),
        thousands(failed),
        thousands(requests),
        plural(requests, "request", "requests"),
    );
}

/// The upstreams' failed attempts over time, one small chart each, from
/// the report's activity (failures per short window and upstream).
fn multiples(r: &Report, b: &mut String) {
    let rank: std::collections::HashMap<&str, usize> = r
        .causes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.cause.as_str(), i))
        .collect();
    let mut by_upstream: std::collections::HashMap<&str, (u64, Vec<Point>)> =
        std::collections::HashMap::new();
    for c in &r.activity.cells {
        let Some(k) = r.activity.keys.get(c.key as usize) else {
            continue;
        };
        let Some(&s) = rank.get(k.cause.as_str()) else {
            continue;
        };
        let e = by_upstream
            .entry(k.upstream.as_deref().unwrap_or("(none)"))
            .or_default();
        e.0 = e.0.saturating_add(c.attempts);
        e.1.push((s, c.first, c.attempts));
    }
    if by_upstream.is_empty() {
        return;
    }
    let mut ups: Vec<(&str, (u64, Vec<Point>))> = by_upstream.into_iter().collect();
    ups.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    let window = r.activity.window_seconds.max(1);
    let all = ups.iter().flat_map(|u| u.1.1.iter().map(|p| p.1));
    let (Some(first), Some(last)) = (all.clone().min(), all.max()) else {
        return;
    };
    let first = first.div_euclid(window) * window;
    let cols = Columns::fit(first, last, window, 150);
    let (x0, x1, top, bottom) = (8.0, 312.0, 28.0, 90.0);
    let axis = Axis {
        t0: cols.t0,
        t1: cols.end(),
        x0,
        x1,
    };
    b.push_str("<h2 id=\"upstreams\">Upstreams over time</h2>\n<div class=\"multiples\">\n");
    for (name, (total, points)) in ups.iter().take(MULTIPLES) {
        let st = Stacks::build(cols, r.causes.len(), points);
        let scale = Scale::new(st.max(), 1, bottom, top);
        let rects = chart::stack(&st, &axis, &scale);
        let _ = write!(
            b,
            "<figure><svg viewBox=\"0 0 320 116\" role=\"img\"><title>{name}: {} failed {}, most {} in {}</title>\
             <text x=\"{x0}\" y=\"18\">{}</text><text x=\"{x1}\" y=\"18\" text-anchor=\"end\">{}</text>",
            thousands(*total),
            plural(*total, "attempt", "attempts"),
            thousands(st.max()),
            crate::aggregate::window::format_duration(cols.span()),
            html(&truncate(name, 26)),
            thousands(*total),
            name = html(name),
        );
        for (i, c) in r.causes.iter().enumerate() {
            let mine: Vec<&chart::Rect> = rects.iter().filter(|p| p.series == i).collect();
            if !mine.is_empty() {
                let _ = write!(
                    b,
                    "<path class=\"s{}\" data-cause=\"{}\" d=\"{}\"/>",
                    colour(i),
                    html(&c.cause),
                    chart::path(&mine)
                );
            }
        }
        let crosses = axis.t0.div_euclid(86400) != (axis.t1 - 1).div_euclid(86400);
        // Seconds where the axis is shorter than ten minutes.
        let to = if axis.t1 - axis.t0 < 600 { 19 } else { 16 };
        let label = |t: i64| {
            let iso = crate::event::LocalTime(t).iso();
            let from = if crosses { 5 } else { 11 };
            iso.get(from..to).unwrap_or("").replace('T', " ")
        };
        let _ = writeln!(
            b,
            "<line class=\"axis\" x1=\"{x0}\" x2=\"{x1}\" y1=\"{bottom}\" y2=\"{bottom}\"/>\
             <text class=\"tick\" x=\"{x0}\" y=\"110\">{}</text><text class=\"tick\" x=\"{x1}\" y=\"110\" text-anchor=\"end\">{}</text></svg></figure>",
            label(axis.t0),
            label(axis.t1)
        );
    }
    b.push_str("</div>\n");
    let _ = writeln!(
        b,
        "<p class=\"note\">Failed attempts per upstream, the busiest {} of each column, coloured by cause, all on one time axis; the number is the upstream's failed attempts{}.</p>",
        crate::aggregate::window::format_duration(cols.window),
        if ups.len() > MULTIPLES {
            format!(
                "; the {} upstreams with most failures of {}",
                MULTIPLES,
                ups.len()
            )
        } else {
            String::new()
        }
    );
}

/// A table of keys (upstreams or routes) with bars, for the script to
/// filter, zoom and sort.
fn key_table(
    b: &mut String,
    cause: &str,
    field: &str,
    heading: &str,
    unit: &str,
    items: &[(&str, u64)],
) {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    let _ = writeln!(
        b,
        "<table class=\"sortable\" data-keys=\"{field}\" data-of=\"{}\">\n<thead><tr><th>{heading}</th>\
         <th class=\"n\">{unit}</th></tr></thead>\n<tbody>",
        html(cause)
    );
    for (k, n) in items.iter().take(TABLE_ROWS) {
        let key = html(k);
        let _ = writeln!(
            b,
            "<tr data-key=\"{key}\" data-all=\"{n}\"><td><svg class=\"bar\" viewBox=\"0 0 100 10\" \
             preserveAspectRatio=\"none\" aria-hidden=\"true\"><rect height=\"10\" width=\"{}\"/></svg>\
             <span class=\"mono\">{key}</span></td><td class=\"n\" data-v=\"{n}\">{}</td></tr>",
            chart::num(*n as f64 / max as f64 * 100.0),
            thousands(*n)
        );
    }
    b.push_str("</tbody>\n");
    if items.len() > TABLE_ROWS {
        let rest = items[TABLE_ROWS..]
            .iter()
            .fold(0u64, |a, i| a.saturating_add(i.1));
        let _ = writeln!(
            b,
            "<tfoot><tr><td class=\"muted\">and {} more</td><td class=\"n\">{}</td></tr></tfoot>",
            thousands((items.len() - TABLE_ROWS) as u64),
            thousands(rest)
        );
    }
    b.push_str("</table>\n");
}

fn cause_section(i: usize, c: &CauseReport, r: &Report, b: &mut String) {
    let id = html(&c.cause);
    let status = c.status.map(|s| format!(" ({s})")).unwrap_or_default();
    let _ = writeln!(
        b,
        "<section class=\"cause\" id=\"cause-{id}\" data-cause=\"{id}\">\n\
         <h3><span class=\"swatch s{}\"></span>{}. {id}: {}{status}</h3>\n\
         <p>{}</p>\n<dl>",
        colour(i),
        i + 1,
        html(&c.title),
        html(&words::cause_count(c)),
    );
    if let (Some(first), Some(last)) = (&c.first_seen, &c.last_seen) {
        let _ = writeln!(
            b,
            "<dt>seen</dt><dd>{} .. {}</dd>",
            html(&first.replace('T', " ")),
            html(&last.replace('T', " "))
        );
    }
    if let Some(p) = &c.peak {
        let _ = writeln!(
            b,
            "<dt>peak</dt><dd>{} .. {}: {} in {}</dd>",
            html(&p.start.replace('T', " ")),
            html(p.end.get(11..).unwrap_or(&p.end)),
            thousands(p.count),
            html(&r.window)
        );
    }
    if c.statuses.len() > 1 {
        let s: Vec<String> = c
            .statuses
            .iter()
            .map(|s| format!("{} ({})", s.status, thousands(s.count)))
            .collect();
        let _ = writeln!(b, "<dt>statuses</dt><dd>{}</dd>", s.join(", "));
    }
    if c.untimed > 0 {
        let _ = writeln!(
            b,
            "<dt>no time</dt><dd>{} of them from lines with no time: counted, not on the timeline</dd>",
            thousands(c.untimed)
        );
    }
    let _ = writeln!(b, "<dt>means</dt><dd>{}</dd>", html(&c.meaning));
    for (server, fix) in c.fixes.0.iter() {
        if fix.is_empty() || (!server.is_gateway() && c.servers.0[server] == 0) {
            continue;
        }
        let name = match server {
            Server::Nginx => "nginx",
            Server::Apache => "Apache",
            Server::PhpFpm => "php-fpm",
            Server::Kernel => "kernel",
        };
        let _ = writeln!(b, "<dt>fix ({name})</dt><dd>{}</dd>", html(fix));
    }
    for a in &c.config {
        let _ = writeln!(b, "<dt>config</dt><dd>{}</dd>", html(&a.advice));
    }
    if let Some(e) = &c.example {
        let _ = writeln!(
            b,
            "<dt>example</dt><dd><span class=\"mono\">{}:{}</span><pre>{}</pre></dd>",
            html(&e.file),
            e.line,
            html(&e.text)
        );
    }
    b.push_str("</dl>\n<div class=\"two\">\n");
    if !c.upstreams.is_empty() {
        let items: Vec<(&str, u64)> = c
            .upstreams
            .iter()
            .map(|u| (u.upstream.as_str(), u.count))
            .collect();
        key_table(b, &c.cause, "upstream", "upstream", "attempts", &items);
    }
    if !c.routes.is_empty() {
        let items: Vec<(&str, u64)> = c
            .routes
            .iter()
            .map(|u| (u.route.as_str(), u.count))
            .collect();
        key_table(b, &c.cause, "route", "route", "requests", &items);
    }
    b.push_str("</div>\n</section>\n");
}

fn notes(r: &Report, b: &mut String) {
    b.push_str(
        "<h2 id=\"inputs\">Inputs</h2>\n<div class=\"wide\"><table class=\"sortable\">\n\
         <thead><tr><th>input</th><th class=\"n\">lines</th><th class=\"n\">matched</th>\
         <th class=\"n\">unrecognized</th><th>error</th></tr></thead>\n<tbody>\n",
    );
    for f in &r.files {
        let _ = writeln!(
            b,
            "<tr><td class=\"mono\">{}</td><td class=\"n\" data-v=\"{}\">{}</td>\
             <td class=\"n\" data-v=\"{}\">{}</td><td class=\"n\" data-v=\"{}\">{}</td><td>{}</td></tr>",
            html(&f.path),
            f.lines,
            thousands(f.lines),
            f.matched,
            thousands(f.matched),
            f.unrecognized,
            thousands(f.unrecognized),
            html(f.error.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</tbody>\n</table></div>\n");
    for w in &r.clock_warnings {
        let _ = writeln!(
            b,
            "<p class=\"note\">{}'s times look off by {}: none of its {} {} within the incidents of {} as written, {} {} once shifted. Times are compared as written: <code>{}</code> lines them up.</p>",
            html(&w.file),
            html(&w.offset),
            thousands(w.lines),
            plural(w.lines, "line falls", "lines fall"),
            html(&w.against),
            thousands(w.matched),
            plural(w.matched, "does", "do"),
            html(&w.suggestion)
        );
    }
    let flags = r.filters.flags();
    if !flags.is_empty() {
        let _ = writeln!(
            b,
            "<p class=\"note\">Filters: {}; {} failed {} outside them not shown.</p>",
            html(&flags.join(", ")),
            thousands(r.excluded_failures),
            plural(r.excluded_failures, "request", "requests")
        );
    }
    if r.untimed_failures > 0 {
        let _ = writeln!(
            b,
            "<p class=\"note\">{} failed {} came from lines with no time (the time cut off in a paste, or never written): counted, but in no window and no incident.</p>",
            thousands(r.untimed_failures),
            plural(r.untimed_failures, "request", "requests")
        );
    }
    if r.lines.unrecognized > 0 {
        let _ = writeln!(
            b,
            "<p class=\"note\">{} {} in no known format (nginx, Apache 2.2/2.4, php-fpm, syslog), e.g.:</p>",
            thousands(r.lines.unrecognized),
            plural(r.lines.unrecognized, "line", "lines")
        );
        for e in &r.unrecognized_examples {
            let _ = writeln!(
                b,
                "<p class=\"mono\">{}:{}</p><pre>{}</pre>",
                html(&e.file),
                e.line,
                html(&truncate(&e.text, 600))
            );
        }
    }
    if r.lines.oversized > 0 {
        let _ = writeln!(
            b,
            "<p class=\"note\">{} {} longer than 1 MiB skipped.</p>",
            thousands(r.lines.oversized),
            plural(r.lines.oversized, "line", "lines")
        );
    }
    if r.folded.upstreams > 0 || r.folded.routes > 0 {
        let _ = writeln!(
            b,
            "<p class=\"note\">Too many distinct keys; counted as (other): {} upstream attempts, {} routes.</p>",
            thousands(r.folded.upstreams),
            thousands(r.folded.routes)
        );
    }
    let _ = writeln!(
        b,
        "<p class=\"note\">Made by upcause {} from {} {}. The report's JSON (as <code>--format json</code> writes it) is in this page's <code>report-data</code> block.</p>",
        env!("CARGO_PKG_VERSION"),
        r.files.len(),
        plural(r.files.len() as u64, "input", "inputs")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ActivityCell, ActivityKey, RouteCount, TimelinePoint};

    fn report() -> Report {
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "version": 1, "window": "1m", "window_seconds": 60, "total_failures": 5,
            "causes": [], "lines": {"total": 5, "matched": 5, "unrecognized": 0, "oversized": 0,
            "continuation": 0, "blank": 0, "recognized": {"nginx": 5, "apache": 0, "php-fpm": 0}},
            "files": [], "unrecognized_examples": [], "folded": {"upstreams": 0, "routes": 0}
        }))
        .unwrap();
        let c: CauseReport = serde_json::from_value(serde_json::json!({
            "cause": "upstream_timeout", "title": "t", "status": 504, "statuses": [],
            "count": 5, "attempts": 5, "share": 1.0, "first_seen": "2026-11-20T09:00:00",
            "last_seen": "2026-11-20T09:00:00", "peak": null,
            "timeline": [{"start": "2026-11-20T09:00:00", "count": 5}], "upstreams": [],
            "routes": [], "example": null, "fix": "", "meaning": "",
            "fixes": {"nginx": "", "apache": ""}, "servers": {"nginx": 5, "apache": 0, "php-fpm": 0},
            "lines": 5
        }))
        .unwrap();
        r.causes.push(c);
        r
    }

    fn page(r: &Report) -> (String, serde_json::Value) {
        let mut out = Vec::new();
        render(r, &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        let open = "<script type=\"application/json\" id=\"report-data\">";
        let at = page.find(open).unwrap() + open.len();
        let end = at + page[at..].find("</script>").unwrap();
        let json = serde_json::from_str(&page[at..end]).unwrap();
        (page, json)
    }

    #[test]
    fn past_six_incidents_the_smaller_ones_are_folded() {
        let mut r = report();
        for (k, n) in [5u64, 50, 7, 60, 8, 70, 9, 80, 6].into_iter().enumerate() {
            let inc: IncidentReport = serde_json::from_value(serde_json::json!({
                "start": format!("2026-11-20T09:0{k}:00"), "end": format!("2026-11-20T09:0{k}:30"),
                "seconds": 30,
                "peak": {"start": "2026-11-20T09:00:00", "end": "2026-11-20T09:00:10", "count": n},
                "failed_requests": n,
                "root_cause": {"cause": "upstream_timeout", "title": "t", "upstreams": [], "evidence": []},
                "echoes": [], "causes": [], "upstreams": [], "routes": [],
                "servers": {"nginx": n, "apache": 0, "php-fpm": 0}, "fix": "f"
            }))
            .unwrap();
            r.incidents.push(inc);
        }
        let (page, _) = page(&r);
        let cards = |html: &str| -> Vec<String> {
            html.split("<h3>Incident ")
                .skip(1)
                .map(|s| s[..s.find(':').unwrap()].to_string())
                .collect()
        };
        let (open, folded) = page.split_once("<details class=\"more\">").unwrap();
        // The six largest (50 to 80, 9 and 8) in time order; 5, 7, 6 folded.
        assert_eq!(cards(open), ["2", "4", "5", "6", "7", "8"]);
        assert!(folded.starts_with("<summary>3 smaller incidents</summary>"));
        assert_eq!(cards(folded), ["1", "3", "9"]);
    }

    #[test]
    fn a_small_report_is_embedded_whole() {
        let r = report();
        let (_, json) = page(&r);
        assert_eq!(json, serde_json::to_value(&r).unwrap());
        assert!(json.get("trimmed").is_none());
    }

    #[test]
    fn a_large_report_is_trimmed_to_the_budget_and_says_how() {
        let mut r = report();
        r.activity.keys = vec![ActivityKey {
            cause: "upstream_timeout".into(),
            server: "nginx".into(),
            upstream: Some("http://10.0.0.1:8080".into()),
        }];
        r.activity.routes = vec!["/api/users/:id".into()];
        let mut routes = [(crate::keys::NO_KEY, 0); crate::aggregate::cells::CELL_ROUTES];
        routes[0] = (0, 1);
        let cell = ActivityCell {
            key: 0,
            first: 1_795_165_200,
            last: 1_795_165_200,
            count: 1,
            attempts: 1,
            repeats: 0,
            other_routes: 0,
            routes,
        };
        r.activity.window_seconds = 10;
        r.activity.cells = vec![cell; 8192];
        let c = &mut r.causes[0];
        c.routes = (0..10_000)
            .map(|i| RouteCount {
                route: format!("/a/fairly/long/route/number/{i}/with/more/segments"),
                count: 1,
            })
            .collect();
        c.timeline = (0..30_000)
            .map(|i| TimelinePoint {
                start: crate::event::LocalTime(1_795_165_200 + i * 60).iso(),
                count: 1,
            })
            .collect();
        let (page, json) = page(&r);
        assert!(page.len() < 2_000_000, "{}", page.len());
        assert_eq!(json["trimmed"]["activity"], true);
        assert_eq!(json["activity"]["cells"].as_array().unwrap().len(), 0);
        assert_eq!(json["activity"]["window_seconds"], 10);
        let routes = json["causes"][0]["routes"].as_array().unwrap();
        assert_eq!(json["trimmed"]["lists"], 100);
        assert_eq!(routes.len(), 101);
        assert_eq!(
            routes[100],
            serde_json::json!({"route": "(other)", "count": 9_900})
        );
        // The timeline, summed: no failure lost.
        let tl = json["causes"][0]["timeline"].as_array().unwrap();
        let sum: u64 = tl.iter().map(|p| p["count"].as_u64().unwrap()).sum();
        assert_eq!(sum, 30_000);
        assert_eq!(tl.len(), 2_000);
        assert_eq!(json["trimmed"]["timeline_window_seconds"], 900);
    }
}
