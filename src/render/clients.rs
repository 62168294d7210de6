//! The text report's account of what clients got (with access logs): the
//! statuses and error rate, which 5xx the error log explains and by which
//! cause, the ones it does not, the failures retries absorbed, the routes
//! with most errors, and how the lines were joined.

use std::io::{self, Write};

use super::words::{plural, thousands};
use crate::bytes::escape;
use crate::report::Report;
use crate::report::clients::{ClientImpact, Statuses};

/// Routes listed (those with most 5xx).
const ROUTES: usize = 5;

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        return "0%".into();
    }
    let p = n as f64 * 100.0 / of as f64;
    if p >= 10.0 || p == 0.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.2}%")
    }
}

/// `502 ×17 (36.2%)`, with 499 and 500 named for what they are.
fn status_list(s: &Statuses, of: u64) -> String {
    s.iter()
        .map(|(code, n)| {
            let what = match code {
                499 => " client closed the request,",
                500 => " the application's own error,",
                _ => "",
            };
            format!("{code} ×{} ({what}{})", thousands(*n), pct(*n, of))
                .replace("(,", "(")
                .replace(", (", " (")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The window with the highest client 5xx rate (the most 5xx, then the
/// earliest, among equal rates): `5xx rate 42.6% at 11:11 (20 of 47
/// requests)`; `None` when no window has a 5xx. The date is written
/// when the timeline crosses midnight, the seconds when windows are
/// shorter than a minute.
fn peak_rate(ci: &ClientImpact, window_seconds: i64) -> Option<String> {
    let w = ci
        .timeline
        .iter()
        .filter(|w| w.requests > 0 && failed(&w.statuses) > 0)
        .max_by(|a, b| {
            // a/b against c/d without rounding: a*d against c*b.
            let (fa, fb) = (failed(&a.statuses), failed(&b.statuses));
            (u128::from(fa) * u128::from(b.requests))
                .cmp(&(u128::from(fb) * u128::from(a.requests)))
                .then(fa.cmp(&fb))
                .then(b.start.cmp(&a.start))
        })?;
    let day = |s: &str| s.get(..10).map(str::to_owned);
    let one_day = ci.timeline.first().and_then(|f| day(&f.start))
        == ci.timeline.last().and_then(|l| day(&l.start));
    let clock = w.start.get(11..).unwrap_or(&w.start);
    let clock = if window_seconds < 60 {
        clock
    } else {
        clock.get(..5).unwrap_or(clock)
    };
    let at = if one_day {
        clock.to_string()
    } else {
        format!("{} {clock}", w.start.get(..10).unwrap_or(""))
    };
    let bad = failed(&w.statuses);
    Some(format!(
        "5xx rate {} at {at} ({} of {} {})",
        pct(bad, w.requests),
        thousands(bad),
        thousands(w.requests),
        plural(w.requests, "request", "requests")
    ))
}

fn failed(s: &Statuses) -> u64 {
    s.range(500..).map(|(_, n)| n).sum()
}

/// Writes a labelled line, wrapped as the text report wraps them.
pub(crate) type Labelled<'a> = &'a dyn Fn(&mut dyn Write, &str, &str) -> io::Result<()>;

/// Writes the section, when the report has access lines; `bold` styles
/// its heading, `labelled_line` writes its lines.
pub(crate) fn render(
    r: &Report,
    bold: &dyn Fn(&str) -> String,
    labelled_line: Labelled<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(ci) = &r.client_impact else {
        return Ok(());
    };
    writeln!(out)?;
    let bad = failed(&ci.statuses);
    writeln!(
        out,
        "{} {} {} in the access logs, {} answered with a 5xx ({})",
        bold("Clients:"),
        thousands(ci.requests),
        plural(ci.requests, "request", "requests"),
        thousands(bad),
        pct(bad, ci.requests)
    )?;
    labelled_line(out, "statuses", &status_list(&ci.statuses, ci.requests))?;
    if let Some(peak) = peak_rate(ci, r.window_seconds) {
        labelled_line(out, "peak", &peak)?;
    }
    explained(r, ci, labelled_line, out)?;
    if ci.absorbed_requests > 0 {
        labelled_line(
            out,
            "absorbed",
            &format!(
                "{} {} had a failed upstream attempt that a retry recovered: the client got the retry's answer, not an error",
                thousands(ci.absorbed_requests),
                plural(ci.absorbed_requests, "request", "requests"),
            ),
        )?;
    }
    let mut routes: Vec<_> = ci
        .routes
        .iter()
        .filter(|x| failed(&x.statuses) > 0)
        .collect();
    routes.sort_by(|a, b| {
        failed(&b.statuses)
            .cmp(&failed(&a.statuses))
            .then_with(|| a.route.cmp(&b.route))
    });
    for x in routes.iter().take(ROUTES) {
        let errors: Statuses = x.statuses.range(500..).map(|(k, v)| (*k, *v)).collect();
        labelled_line(
            out,
            "route",
            &format!(
                "{}: {} of {} {} failed ({}): {}",
                escape(&x.route),
                thousands(failed(&x.statuses)),
                thousands(x.requests),
                plural(x.requests, "request", "requests"),
                pct(failed(&x.statuses), x.requests),
                status_list(&errors, x.requests)
            ),
        )?;
    }
    if routes.len() > ROUTES {
        labelled_line(
            out,
            "",
            &format!("and {} more routes with 5xx", routes.len() - ROUTES),
        )?;
    }
    let joins: Vec<String> = ci
        .join
        .iter()
        .filter(|j| j.matched > 0)
        .map(|j| format!("{} {}", thousands(j.matched), by(&j.method)))
        .collect();
    if !joins.is_empty() {
        labelled_line(out, "joined", &joins.join(", "))?;
    }
    if ci.not_joined > 0 {
        labelled_line(
            out,
            "",
            &format!(
                "{} requests and failures past the join's bound were not joined",
                thousands(ci.not_joined)
            ),
        )?;
    }
    Ok(())
}

fn by(method: &str) -> &'static str {
    match method {
        "log_id" => "by the request's log id (%L)",
        "connection" => "by connection number and request line",
        "request" => "by request line and time",
        _ => "by route and time",
    }
}

/// Per 5xx status: how many the error log explains and by which causes,
/// and what is known of the rest.
fn explained(
    r: &Report,
    ci: &ClientImpact,
    labelled_line: Labelled<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (&code, &n) in ci.statuses.range(500..) {
        let mut causes: Vec<(String, u64)> = r
            .causes
            .iter()
            .filter_map(|c| {
                let got = c.client_impact.as_ref()?.statuses.get(&code).copied()?;
                let top = c
                    .upstreams
                    .first()
                    .map(|u| format!(" on {}", escape(&u.upstream)))
                    .unwrap_or_default();
                Some((format!("{}{top}", c.cause), got))
            })
            .collect();
        causes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let explained: u64 = causes.iter().map(|c| c.1).sum();
        let none = ci.unexplained_statuses.get(&code).copied().unwrap_or(0);
        let mut text = if explained > 0 {
            format!(
                "{} of {} clients' {code}s are explained by {}",
                thousands(explained),
                thousands(n),
                causes
                    .iter()
                    .map(|(c, k)| format!("{c} ({})", thousands(*k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!(
                "none of {} clients' {code}s has an error-log failure behind it",
                thousands(n)
            )
        };
        let own = ci.answered_by_upstream.get(&code).copied().unwrap_or(0);
        if none > 0 && explained > 0 {
            text += &format!(
                "; {} {} no error-log line",
                thousands(none),
                plural(none, "has", "have")
            );
        }
        if own > 0 {
            let whose = if own == none {
                String::new()
            } else {
                format!(" for {} of them", thousands(own))
            };
            text += &format!(
                ": the upstream itself answered {code}{whose} (upstream_status {code} with a header time), which is the application's own error, not the proxy's"
            );
        }
        labelled_line(out, &format!("{code}"), &text)?;
    }
    Ok(())
}

/// The line of a cause's block: what its clients got.
pub(crate) fn cause_line(
    ci: &crate::report::clients::CauseImpact,
    labelled_line: Labelled<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if ci.requests == 0 {
        labelled_line(out, "clients", "no access line ties to these failures")?;
        return timing_lines(ci, labelled_line, out);
    }
    let mut parts: Vec<String> = ci
        .statuses
        .iter()
        .map(|(code, n)| {
            let note = if *code < 500 {
                " (absorbed by a retry)"
            } else {
                ""
            };
            format!("{code} ×{}{note}", thousands(*n))
        })
        .collect();
    parts.sort();
    labelled_line(
        out,
        "clients",
        &format!(
            "{} {} in the access logs got {}",
            thousands(ci.requests),
            plural(ci.requests, "request", "requests"),
            parts.join(", ")
        ),
    )?;
    timing_lines(ci, labelled_line, out)
}

/// A timeout cause's routes: how long their failed and other requests took.
fn timing_lines(
    ci: &crate::report::clients::CauseImpact,
    labelled_line: Labelled<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let dist = |t: &crate::report::clients::TimingReport, what: &str| {
        format!(
            "{what} p50 {}, p95 {}, max {} ({} timed)",
            secs(t.p50_seconds),
            secs(t.p95_seconds),
            secs(t.max_seconds),
            thousands(t.timed)
        )
    };
    for t in &ci.timing {
        let mut parts = Vec::new();
        if let Some(f) = &t.failed {
            parts.push(dist(f, "failed"));
        }
        if let Some(s) = &t.succeeded {
            parts.push(dist(s, "the others"));
        }
        if parts.is_empty() {
            continue;
        }
        labelled_line(
            out,
            "timing",
            &format!("{}: {}", escape(&t.route), parts.join("; ")),
        )?;
    }
    Ok(())
}

/// `58.2 s`, `0.013 s`.
fn secs(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.3} s")
    }
}
