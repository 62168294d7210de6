//! The report for people: a ranked summary table, then one block per cause.
//!
//! Colour is an option of the caller (on only for a terminal without
//! NO_COLOR); every string that came from a log goes through
//! [`crate::bytes::escape`].

use std::io::{self, Write};

use crate::parse::time;
use crate::report::{CauseReport, Report};

use crate::bytes::escape;

/// How the text report looks.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// ANSI colours.
    pub color: bool,
    /// Upstreams and routes listed per cause.
    pub top: usize,
}

/// ANSI styling, or none (also used by the follow screen).
pub(crate) struct Style {
    pub(crate) on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub(crate) fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    pub(crate) fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    pub(crate) fn red(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    pub(crate) fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
}

/// Writes the text report.
pub fn render(report: &Report, opts: TextOptions, out: &mut dyn Write) -> io::Result<()> {
    let st = Style { on: opts.color };
    summary_line(report, &st, out)?;
    if !report.causes.is_empty() {
        writeln!(out)?;
        super::incidents::render(
            report,
            opts.top,
            &super::incidents::Paint { on: opts.color },
            out,
        )?;
        table(report, &st, out)?;
        for (i, c) in report.causes.iter().enumerate() {
            writeln!(out)?;
            cause_block(i + 1, c, report, opts, &st, out)?;
        }
    }
    notes(report, &st, out)
}

fn summary_line(r: &Report, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let files = r.files.len();
    // Saturating: a report read back by `merge` may hold any numbers.
    let l = &r.lines;
    let recognized = l
        .total
        .saturating_sub(l.unrecognized)
        .saturating_sub(l.blank)
        .saturating_sub(l.oversized);
    let counted = l.total.saturating_sub(l.blank);
    let mut source = format!(
        "{} {} from {} {}",
        thousands(r.lines.total),
        plural(r.lines.total, "line", "lines"),
        files,
        plural(files as u64, "input", "inputs"),
    );
    let unreadable = r.files.iter().filter(|f| f.error.is_some()).count();
    if unreadable > 0 {
        source += &format!(", {unreadable} with a read error");
    }
    // A share of nothing says nothing.
    if counted > 0 {
        let pct = recognized as f64 * 100.0 / counted as f64;
        source += &format!(" ({:.1}% recognized)", pct.min(100.0));
    }
    let flags = r.filters.flags().join(", ");
    let excluded = format!(
        "{} failed {} outside the filters not shown",
        thousands(r.excluded_failures),
        plural(r.excluded_failures, "request", "requests")
    );
    if r.causes.is_empty() {
        if l.total == 0 && unreadable == files && files > 0 {
            writeln!(out, "{} {source}", st.bold("Nothing could be read:"))
        } else if r.excluded_failures > 0 {
            writeln!(
                out,
                "{} {flags}: {excluded}; {source}",
                st.bold("The filters left no upstream failure:")
            )
        } else if !flags.is_empty() {
            writeln!(
                out,
                "{} {source}; filters {flags}",
                st.bold("No upstream failures found:")
            )
        } else {
            writeln!(out, "{} {source}", st.bold("No upstream failures found:"))
        }
    } else {
        let filtered = if flags.is_empty() {
            String::new()
        } else if r.excluded_failures > 0 {
            format!("; {flags}: {excluded}")
        } else {
            format!("; {flags}: none outside the filters")
        };
        writeln!(
            out,
            "{} in {} {}{filtered}; {source}",
            st.bold(&format!(
                "{} failed {}",
                thousands(r.total_failures),
                plural(r.total_failures, "request", "requests")
            )),
            r.causes.len(),
            plural(r.causes.len() as u64, "cause", "causes"),
        )
    }
}

fn table(r: &Report, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let cause_w = r
        .causes
        .iter()
        .map(|c| c.cause.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let tops: Vec<String> = r
        .causes
        .iter()
        .map(|c| {
            c.upstreams
                .first()
                .map(|u| truncate(&escape(&u.upstream), 40))
                .unwrap_or_else(|| "-".to_string())
        })
        .collect();
    let up_w = tops
        .iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(3)
        .max(12);
    writeln!(
        out,
        "{}",
        st.dim(&format!(
            " {:>2}  {:>8}  {:>6}  {:<cause_w$}  {:>6}  {:<up_w$}  FIX",
            "#", "REQUESTS", "SHARE", "CAUSE", "STATUS", "TOP UPSTREAM"
        ))
    )?;
    for (i, (c, top)) in r.causes.iter().zip(&tops).enumerate() {
        let fix = crate::event::CauseId::from_id(&c.cause)
            .map(|id| id.info().fix_short)
            .unwrap_or("");
        let pad = cause_w.saturating_sub(c.cause.len());
        writeln!(
            out,
            " {:>2}  {:>8}  {:>5.1}%  {}{}  {:>6}  {:<up_w$}  {}",
            i + 1,
            thousands(c.count),
            c.share * 100.0,
            st.red(&c.cause),
            " ".repeat(pad),
            c.status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            top,
            fix,
        )?;
    }
    Ok(())
}

fn cause_block(
    rank: usize,
    c: &CauseReport,
    r: &Report,
    opts: TextOptions,
    st: &Style,
    out: &mut dyn Write,
) -> io::Result<()> {
    let status = c.status.map(|s| format!(" ({s})")).unwrap_or_default();
    writeln!(
        out,
        "{}",
        st.bold(&format!("{rank}. {}: {}{status}", c.cause, c.title))
    )?;
    let retries = if c.attempts > c.count {
        format!(" ({} attempts with retries)", thousands(c.attempts))
    } else {
        String::new()
    };
    writeln!(
        out,
        "   {} failed {}{retries}, {:.1}% of all",
        thousands(c.count),
        plural(c.count, "request", "requests"),
        c.share * 100.0
    )?;
    if let (Some(first), Some(last)) = (&c.first_seen, &c.last_seen) {
        let peak = c
            .peak
            .as_ref()
            .map(|p| {
                format!(
                    ", peak {} ({} in {})",
                    st.yellow(&format!("{}..{}", short_time(&p.start), short_time(&p.end))),
                    p.count,
                    r.window
                )
            })
            .unwrap_or_default();
        writeln!(
            out,
            "   {:<10}{} .. {}{peak}",
            "seen",
            pretty_time(first),
            pretty_time(last)
        )?;
    }
    if c.untimed > 0 {
        let text = if c.untimed >= c.count {
            "none of its lines carry a time: counted, on no timeline".to_string()
        } else {
            format!(
                "{} of them from lines with no time: counted, not on the timeline",
                thousands(c.untimed)
            )
        };
        writeln!(out, "   {:<10}{text}", "no time")?;
    }
    if let Some(spark) = time_span(r).and_then(|span| sparkline(c, r.window_seconds, span)) {
        writeln!(out, "   {:<10}{spark}", "timeline")?;
    }
    if !c.upstreams.is_empty() {
        let list: Vec<(String, u64)> = c
            .upstreams
            .iter()
            .map(|u| (u.upstream.clone(), u.count))
            .collect();
        writeln!(out, "   {:<10}{}", "upstreams", top_list(&list, opts.top))?;
    }
    if !c.routes.is_empty() {
        let list: Vec<(String, u64)> = c
            .routes
            .iter()
            .map(|u| (u.route.clone(), u.count))
            .collect();
        writeln!(out, "   {:<10}{}", "routes", top_list(&list, opts.top))?;
    }
    writeln!(out, "   {:<10}{}", "means", c.meaning)?;
    writeln!(out, "   {:<10}{}", "fix", c.fix)?;
    if let Some(e) = &c.example {
        writeln!(out, "   {:<10}{}:{}", "example", escape(&e.file), e.line)?;
        writeln!(
            out,
            "             {}",
            st.dim(&truncate(&escape(&e.text), 400))
        )?;
    }
    Ok(())
}

fn notes(r: &Report, st: &Style, out: &mut dyn Write) -> io::Result<()> {
    let mut first = true;
    let mut note = |out: &mut dyn Write, s: String| -> io::Result<()> {
        if first {
            writeln!(out)?;
            first = false;
        }
        writeln!(out, "{s}")
    };
    if r.untimed_failures > 0 {
        note(
            out,
            st.yellow(&format!(
                "note: {} failed {} came from lines with no time (the time cut off in a paste, or never written): counted, but in no window and no incident",
                thousands(r.untimed_failures),
                plural(r.untimed_failures, "request", "requests")
            )),
        )?;
    }
    if r.lines.unrecognized > 0 {
        note(
            out,
            st.yellow(&format!(
                "note: {} {} in no known format (nginx, Apache 2.2/2.4, php-fpm, syslog), e.g.:",
                thousands(r.lines.unrecognized),
                plural(r.lines.unrecognized, "line", "lines")
            )),
        )?;
        for e in &r.unrecognized_examples {
            note(
                out,
                format!(
                    "  {}:{}: {}",
                    escape(&e.file),
                    e.line,
                    truncate(&escape(&e.text), 160)
                ),
            )?;
        }
    }
    if r.lines.oversized > 0 {
        note(
            out,
            format!(
                "note: {} {} longer than 1 MiB skipped",
                r.lines.oversized,
                plural(r.lines.oversized, "line", "lines")
            ),
        )?;
    }
    if r.folded.upstreams > 0 || r.folded.routes > 0 {
        note(
            out,
            format!(
                "note: too many distinct keys; counted as (other): {} upstream attempts, {} routes",
                r.folded.upstreams, r.folded.routes
            ),
        )?;
    }
    for f in r.files.iter().filter(|f| f.error.is_some()) {
        let kept = if f.lines > 0 {
            format!(
                " (the {} lines before it are in the report)",
                thousands(f.lines)
            )
        } else {
            String::new()
        };
        note(
            out,
            st.red(&format!(
                "error: {}: {}{kept}",
                escape(&f.path),
                escape(f.error.as_deref().unwrap_or(""))
            )),
        )?;
    }
    Ok(())
}

/// The first and last window over every cause, so that all sparklines
/// share one time axis and phases line up.
fn time_span(r: &Report) -> Option<(i64, i64)> {
    let starts = r
        .causes
        .iter()
        .flat_map(|c| &c.timeline)
        .filter_map(|p| time::iso(p.start.as_bytes()).map(|t| t.0));
    starts.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((a, b)) => Some((a.min(t), b.max(t))),
    })
}

/// A sparkline of the timeline over the report's whole time span, empty
/// windows as the lowest mark, squeezed to at most 60 columns.
fn sparkline(c: &CauseReport, window: i64, span: (i64, i64)) -> Option<String> {
    let points: Vec<(i64, u64)> = c
        .timeline
        .iter()
        .filter_map(|p| Some((time::iso(p.start.as_bytes())?.0, p.count)))
        .collect();
    let (first, last) = span;
    let windows = ((last - first) / window + 1) as usize;
    if windows < 2 {
        return None;
    }
    let cols = windows.min(60);
    let mut buckets = vec![0u64; cols];
    for (start, n) in &points {
        let idx = ((start - first) / window) as usize * cols / windows;
        let b = &mut buckets[idx.min(cols - 1)];
        *b = b.saturating_add(*n);
    }
    let line = marks(&buckets);
    let per = (windows as f64 / cols as f64).ceil() as i64 * window;
    let label = |t: i64| short_time(&crate::event::LocalTime(t).iso());
    Some(format!(
        "{line}  {} .. {}, {} per mark",
        label(first),
        label(last),
        crate::aggregate::window::format_duration(per)
    ))
}

fn top_list(items: &[(String, u64)], top: usize) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .take(top)
        .map(|(k, n)| format!("{} ({})", truncate(&escape(k), 80), thousands(*n)))
        .collect();
    if items.len() > top {
        parts.push(format!("and {} more", items.len() - top));
    }
    parts.join(", ")
}

/// `2026-11-20T10:23:45` -> `2026-11-20 10:23:45`.
fn pretty_time(iso: &str) -> String {
    iso.replacen('T', " ", 1)
}

/// `2026-11-20T10:23:00` -> `10:23` (seconds kept when not zero).
fn short_time(iso: &str) -> String {
    let t = iso.split('T').nth(1).unwrap_or(iso);
    t.strip_suffix(":00").unwrap_or(t).to_string()
}

/// One mark per bucket, scaled to the largest: the lowest mark for an
/// empty bucket, at least the second lowest for any failure.
pub(crate) fn marks(buckets: &[u64]) -> String {
    const MARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    buckets
        .iter()
        .map(|&n| {
            if n == 0 {
                MARKS[0]
            } else {
                MARKS[((u128::from(n) * 7).div_ceil(u128::from(max)) as usize).clamp(1, 7)]
            }
        })
        .collect()
}

pub(crate) use super::words::{plural, thousands, truncate};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(short_time("2026-11-20T10:23:00"), "10:23");
        assert_eq!(truncate("abcdef", 5), "ab...");
    }
}
