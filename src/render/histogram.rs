//! The text report's picture of all failures over time: a few rows of
//! blocks (or ASCII), the busiest mark's count at the top, and a time
//! axis under it, with dates where the span crosses midnight.

use std::collections::BTreeMap;

use super::words::thousands;
use crate::event::LocalTime;
use crate::parse::time;
use crate::report::Report;

/// Rows of the histogram.
const ROWS: usize = 4;

/// Columns at most, however wide the terminal.
const MAX_COLS: usize = 72;

/// The glyphs of one eighth to eight eighths of a cell.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const ASCII: [char; 8] = ['_', '-', '-', '=', '=', '#', '#', '#'];

/// The histogram's lines (each at most `width` columns), or none when the
/// failures fall in fewer than two windows.
pub(crate) fn lines(r: &Report, width: usize, ascii: bool) -> Vec<String> {
    let window = r.window_seconds.max(1);
    let mut totals: BTreeMap<i64, u64> = BTreeMap::new();
    for c in &r.causes {
        for p in &c.timeline {
            if let Some(t) = time::iso(p.start.as_bytes()) {
                let e = totals.entry(t.0).or_default();
                *e = e.saturating_add(p.count);
            }
        }
    }
    let (Some((&first, _)), Some((&last, _))) = (totals.first_key_value(), totals.last_key_value())
    else {
        return Vec::new();
    };
    let windows = ((last - first) / window + 1) as usize;
    if windows < 2 {
        return Vec::new();
    }
    // Marks: one or more windows each; a mark one or more columns wide.
    let probe = thousands(totals.values().copied().max().unwrap_or(0));
    let lead = 3 + probe.len().max(1) + 2;
    let room = width.saturating_sub(lead).clamp(16, MAX_COLS);
    let per_mark = windows.div_ceil(room);
    let marks = windows.div_ceil(per_mark);
    let stretch = (room / marks).clamp(1, 8);
    let mut buckets = vec![0u64; marks];
    for (&t, &n) in &totals {
        let i = (((t - first) / window) as usize / per_mark).min(marks - 1);
        buckets[i] = buckets[i].saturating_add(n);
    }
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    let top = thousands(max);
    let label_w = top.len();
    let cols = marks * stretch;
    let (bar, corner, axis, tick) = if ascii {
        ('|', '+', '-', '+')
    } else {
        ('│', '└', '─', '┬')
    };
    let glyphs = if ascii { &ASCII } else { &BLOCKS };
    let mut out = Vec::new();
    let per = crate::aggregate::window::format_duration(per_mark as i64 * window);
    out.push(format!("   all failures, per {per}"));
    let eighths = (ROWS * 8) as u128;
    for row in 0..ROWS {
        let base = ((ROWS - 1 - row) * 8) as u128;
        let mut line = if row == 0 {
            format!("   {top:>label_w$} {bar}")
        } else {
            format!("   {:>label_w$} {bar}", "")
        };
        for &n in &buckets {
            let level = if n == 0 {
                0
            } else {
                (u128::from(n) * eighths).div_ceil(u128::from(max)).max(1)
            };
            let fill = level.saturating_sub(base).min(8) as usize;
            let c = if fill == 0 { ' ' } else { glyphs[fill - 1] };
            for _ in 0..stretch {
                line.push(c);
            }
        }
        out.push(line.trim_end().to_string());
    }
    // The time axis: ticks at round times, labels that do not touch.
    let secs_per_col = (per_mark as i64 * window) as f64 / stretch as f64;
    let end = first + (marks * per_mark) as i64 * window;
    let crosses = first.div_euclid(86400) != (end - 1).div_euclid(86400);
    const STEPS: [i64; 20] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
        172800, 604800,
    ];
    let sub_minute = window < 60 && per_mark == 1;
    let label_len = if sub_minute { 8 } else { 5 };
    let step = STEPS
        .into_iter()
        .find(|&s| s as f64 / secs_per_col >= (label_len + 2) as f64 && s >= window)
        .unwrap_or(604800);
    let days = step >= 86400;
    let indent = 3 + label_w + 1;
    let mut axis_line: Vec<char> = format!("   {:>label_w$} {corner}", "").chars().collect();
    axis_line.extend(std::iter::repeat_n(axis, cols));
    let mut labels: Vec<char> = vec![' '; indent + 1 + cols + 12];
    let mut dates: Vec<char> = labels.clone();
    let mut last_label_end = 0usize;
    let mut last_date_end = 0usize;
    let mut last_day = None;
    let mut t = first.div_euclid(step) * step;
    if t < first {
        t += step;
    }
    while t < end {
        let col = ((t - first) as f64 / secs_per_col).round() as usize;
        let at = indent + 1 + col;
        let iso = LocalTime(t).iso();
        let text = if days {
            iso.get(5..10).unwrap_or("")
        } else if sub_minute {
            iso.get(11..19).unwrap_or("")
        } else {
            iso.get(11..16).unwrap_or("")
        };
        let fits = at + text.len() <= width.min(labels.len());
        if col < cols && fits && (last_label_end == 0 || at > last_label_end) {
            axis_line[at] = tick;
            for (k, ch) in text.chars().enumerate() {
                labels[at + k] = ch;
            }
            last_label_end = at + text.len();
            let day = t.div_euclid(86400);
            if crosses && !days && last_day != Some(day) {
                let date = iso.get(..10).unwrap_or("");
                if at + date.len() <= width.min(dates.len())
                    && (last_date_end == 0 || at > last_date_end)
                {
                    for (k, ch) in date.chars().enumerate() {
                        dates[at + k] = ch;
                    }
                    last_date_end = at + date.len();
                    last_day = Some(day);
                }
            }
        }
        t += step;
    }
    out.push(
        axis_line
            .into_iter()
            .collect::<String>()
            .trim_end()
            .to_string(),
    );
    out.push(
        labels
            .into_iter()
            .collect::<String>()
            .trim_end()
            .to_string(),
    );
    let dates: String = dates.into_iter().collect();
    if !dates.trim().is_empty() {
        out.push(dates.trim_end().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CauseReport, TimelinePoint};

    fn report(points: &[(&str, u64)], window: i64) -> Report {
        let mut r: Report = serde_json::from_str(
            r#"{"version":1,"window":"1m","window_seconds":60,"total_failures":0,
            "causes":[],"lines":{"total":0,"matched":0,"unrecognized":0,"oversized":0,
            "continuation":0,"blank":0,"recognized":{"nginx":0,"apache":0,"php-fpm":0}},
            "files":[],"unrecognized_examples":[],"folded":{"upstreams":0,"routes":0}}"#,
        )
        .unwrap();
        r.window_seconds = window;
        r.window = crate::aggregate::window::format_duration(window);
        let c: CauseReport = serde_json::from_value(serde_json::json!({
            "cause":"upstream_timeout","title":"t","status":504,"statuses":[],"count":1,
            "attempts":1,"share":1.0,"first_seen":null,"last_seen":null,"peak":null,
            "timeline":[],"upstreams":[],"routes":[],"example":null,"fix":"","meaning":"",
            "fixes":{"nginx":"","apache":""},"servers":{"nginx":1,"apache":0,"php-fpm":0},"lines":1
        }))
        .unwrap();
        let mut c = c;
        c.timeline = points
            .iter()
            .map(|&(s, n)| TimelinePoint {
                start: s.to_string(),
                count: n,
            })
            .collect();
        r.causes.push(c);
        r
    }

    #[test]
    fn bars_scale_to_the_busiest_mark_and_the_axis_has_times() {
        let r = report(
            &[
                ("2026-11-21T09:37:00", 22),
                ("2026-11-21T09:38:00", 98),
                ("2026-11-21T09:39:00", 60),
            ],
            60,
        );
        let l = lines(&r, 100, false);
        assert_eq!(
            l,
            [
                "   all failures, per 1m",
                "   98 │        ████████",
                "      │        ████████▄▄▄▄▄▄▄▄",
                "      │        ████████████████",
                "      │████████████████████████",
                "      └┬───────┬───────┬───────",
                "       09:37   09:38   09:39",
            ]
        );
        let a = lines(&r, 100, true);
        assert_eq!(a[4], "      |########################");
        assert_eq!(a[5], "      ++-------+-------+-------");
        assert!(a.iter().all(|l| l.is_ascii()));
    }

    #[test]
    fn one_window_draws_nothing_and_a_lone_failure_shows() {
        assert!(lines(&report(&[("2026-11-21T09:37:00", 5)], 60), 80, false).is_empty());
        let r = report(
            &[("2026-11-21T09:00:00", 1), ("2026-11-21T10:00:00", 1000)],
            60,
        );
        let l = lines(&r, 80, false);
        // 61 windows in one column each: the lone failure is the lowest block.
        assert!(l[4].contains('▁'), "{l:?}");
        assert!(l.iter().all(|x| x.chars().count() <= 80));
    }

    #[test]
    fn dates_under_the_axis_when_the_span_crosses_midnight() {
        let r = report(
            &[("2026-11-21T22:00:00", 3), ("2026-11-22T02:00:00", 4)],
            60,
        );
        let l = lines(&r, 80, false);
        let dates = l.last().unwrap();
        assert!(dates.contains("2026-11-21"), "{l:#?}");
        assert!(dates.contains("2026-11-22"), "{l:#?}");
        assert!(l.iter().all(|x| x.chars().count() <= 80), "{l:#?}");
        // A month: the axis is in dates.
        let r = report(
            &[("2026-11-01T00:00:00", 3), ("2026-11-30T23:50:00", 4)],
            600,
        );
        let l = lines(&r, 60, false);
        assert!(l[6].contains("11-"), "{l:#?}");
        assert!(l.iter().all(|x| x.chars().count() <= 60), "{l:#?}");
    }
}
