//! The charts' geometry, drawn as inline SVG: a time axis with ticks at
//! round times, failures per window stacked by series, and the
//! downsampling that fits any number of windows into the chart's width.
//!
//! A column stands for one or more windows. When it stands for several,
//! it shows the busiest of them (with that window's split by series), so a
//! spike of one window is as tall in a month-long chart as in a
//! minute-long one; the column's smallest window is drawn as a tick, so a
//! column of steady failures and one of a single burst look different.

use std::fmt::Write as _;

use crate::event::LocalTime;

/// The time axis: times `[t0, t1)` (seconds of the log's clock) onto
/// `[x0, x1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    /// First time shown.
    pub(crate) t0: i64,
    /// End of the last window shown (exclusive).
    pub(crate) t1: i64,
    /// Where `t0` is drawn.
    pub(crate) x0: f64,
    /// Where `t1` is drawn.
    pub(crate) x1: f64,
}

impl Axis {
    /// Where `t` is drawn.
    pub(crate) fn x(&self, t: i64) -> f64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        self.x0 + (t - self.t0) as f64 / span * (self.x1 - self.x0)
    }

    /// Ticks at round times (a step from 1 s to 1 week), at most
    /// `max_ticks` of them, each with its label: the time of day, with the
    /// date where the day changes (and on the first tick) when the axis
    /// spans more than one day.
    pub(crate) fn ticks(&self, max_ticks: usize) -> Vec<Tick> {
        const STEPS: [i64; 22] = [
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
            86400, 172800, 345600, 604800, 1209600,
        ];
        let span = (self.t1 - self.t0).max(1);
        let max_ticks = max_ticks.max(2) as i64;
        let step = STEPS
            .into_iter()
            .find(|&s| span / s < max_ticks)
            .unwrap_or_else(|| (span / max_ticks + 1).max(1));
        let days = self.t0.div_euclid(86400) != (self.t1 - 1).div_euclid(86400);
        let mut out: Vec<Tick> = Vec::new();
        let mut t = self.t0.div_euclid(step) * step;
        if t < self.t0 {
            t += step;
        }
        let mut last_day = None;
        while t <= self.t1 {
            let iso = LocalTime(t).iso();
            let day = t.div_euclid(86400);
            let time = if step >= 86400 {
                String::new()
            } else if step < 60 {
                iso.get(11..19).unwrap_or("").to_string()
            } else {
                iso.get(11..16).unwrap_or("").to_string()
            };
            let date = if step >= 86400 || (days && last_day != Some(day)) {
                iso.get(5..10).unwrap_or("").to_string()
            } else {
                String::new()
            };
            last_day = Some(day);
            out.push(Tick {
                t,
                x: self.x(t),
                time,
                date,
            });
            t += step;
        }
        out
    }
}

/// One tick of the time axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tick {
    /// Its time.
    pub(crate) t: i64,
    /// Where it is drawn.
    pub(crate) x: f64,
    /// `10:23` (`10:23:45` for steps under a minute; empty for days).
    pub(crate) time: String,
    /// `11-21` where the day changes, else empty.
    pub(crate) date: String,
}

/// Windows grouped into columns: `per_col` windows each from `t0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Columns {
    /// Start of the first window.
    pub(crate) t0: i64,
    /// Seconds per window.
    pub(crate) window: i64,
    /// Windows per column.
    pub(crate) per_col: i64,
    /// Number of columns.
    pub(crate) n: usize,
    /// Number of windows (the last column may hold fewer than `per_col`).
    pub(crate) windows: i64,
}

impl Columns {
    /// The columns for windows from `first` to `last` (window starts),
    /// at most `max_cols` of them.
    pub(crate) fn fit(first: i64, last: i64, window: i64, max_cols: usize) -> Columns {
        let window = window.max(1);
        let windows = ((last - first).max(0) / window + 1).max(1);
        let max_cols = (max_cols.max(1)) as i64;
        let per_col = (windows + max_cols - 1) / max_cols;
        let n = ((windows + per_col - 1) / per_col) as usize;
        Columns {
            t0: first,
            window,
            per_col,
            n,
            windows,
        }
    }

    /// Seconds per column.
    pub(crate) fn span(&self) -> i64 {
        self.window.saturating_mul(self.per_col)
    }

    /// End of the last column (exclusive).
    pub(crate) fn end(&self) -> i64 {
        self.t0 + self.span() * self.n as i64
    }

    /// The window index of time `t` (the window holding it).
    fn window_of(&self, t: i64) -> i64 {
        (t - self.t0).div_euclid(self.window)
    }
}

/// Failures per window and series brought down to columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stacks {
    /// The columns.
    pub(crate) cols: Columns,
    /// Per column, the count of each series in its busiest window.
    pub(crate) values: Vec<Vec<u64>>,
    /// Per column, the total of its quietest window (0 when a window of
    /// it had none).
    pub(crate) low: Vec<u64>,
    /// The start of each column's busiest window (`None`: no failures).
    pub(crate) busiest: Vec<Option<i64>>,
}

impl Stacks {
    /// Counts `(series, window start, count)` of `nseries` series into
    /// `cols`: each column keeps its busiest window (ties: the earliest),
    /// whole, so stacks never add up windows that were not one.
    pub(crate) fn build(cols: Columns, nseries: usize, points: &[(usize, i64, u64)]) -> Stacks {
        let per = cols.per_col.max(1);
        // Totals per window, sparse: a window's index and its total.
        let mut totals: std::collections::HashMap<i64, u64> = std::collections::HashMap::new();
        for &(_, t, n) in points {
            let w = cols.window_of(t);
            let e = totals.entry(w).or_default();
            *e = e.saturating_add(n);
        }
        let mut best: Vec<Option<(i64, u64)>> = vec![None; cols.n];
        let mut seen: Vec<i64> = vec![0; cols.n];
        let mut low: Vec<u64> = vec![u64::MAX; cols.n];
        for (&w, &n) in &totals {
            let Some(c) = usize::try_from(w / per).ok().filter(|&c| c < cols.n) else {
                continue;
            };
            seen[c] += 1;
            low[c] = low[c].min(n);
            match best[c] {
                Some((bw, bn)) if bn > n || (bn == n && bw < w) => {}
                _ => best[c] = Some((w, n)),
            }
        }
        for c in 0..cols.n {
            // Windows of the column without failures count as its low.
            let windows = per.min(cols.windows - c as i64 * per);
            if seen[c] < windows || low[c] == u64::MAX {
                low[c] = 0;
            }
        }
        let mut values = vec![vec![0u64; nseries]; cols.n];
        for &(s, t, n) in points {
            let w = cols.window_of(t);
            let Some(c) = usize::try_from(w / per).ok().filter(|&c| c < cols.n) else {
                continue;
            };
            if best[c].map(|b| b.0) == Some(w) && s < nseries {
                values[c][s] = values[c][s].saturating_add(n);
            }
        }
        Stacks {
            cols,
            values,
            low,
            busiest: best
                .iter()
                .map(|b| b.map(|(w, _)| cols.t0 + w * cols.window))
                .collect(),
        }
    }

    /// Each column's total.
    pub(crate) fn totals(&self) -> Vec<u64> {
        self.values
            .iter()
            .map(|v| v.iter().fold(0u64, |a, &b| a.saturating_add(b)))
            .collect()
    }

    /// The tallest column's total.
    pub(crate) fn max(&self) -> u64 {
        self.totals().into_iter().max().unwrap_or(0)
    }
}

/// One drawn bar piece.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    /// Series.
    pub(crate) series: usize,
    /// Column.
    pub(crate) col: usize,
    /// Left.
    pub(crate) x: f64,
    /// Top.
    pub(crate) y: f64,
    /// Width.
    pub(crate) w: f64,
    /// Height.
    pub(crate) h: f64,
}

/// The value axis: `0..=top` onto `[bottom, top_y]`, with round ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    /// The value at the top of the plot (a multiple of `step`).
    pub(crate) top: u64,
    /// Between ticks.
    pub(crate) step: u64,
    /// Where 0 is drawn.
    pub(crate) bottom: f64,
    /// Where `top` is drawn.
    pub(crate) top_y: f64,
}

impl Scale {
    /// Round ticks (1, 2 or 5 times a power of ten), about `ticks` of
    /// them, up to at least `max`.
    pub(crate) fn new(max: u64, ticks: u64, bottom: f64, top_y: f64) -> Scale {
        let max = max.max(1);
        let raw = max.div_ceil(ticks.max(1)).max(1);
        let mut p = 1u64;
        let step = loop {
            if let Some(s) = [1, 2, 5].into_iter().map(|m| m * p).find(|&s| s >= raw) {
                break s;
            }
            p = p.saturating_mul(10);
        };
        Scale {
            top: max.div_ceil(step) * step,
            step,
            bottom,
            top_y,
        }
    }

    /// Where `v` is drawn.
    pub(crate) fn y(&self, v: u64) -> f64 {
        self.bottom - v as f64 / self.top as f64 * (self.bottom - self.top_y)
    }

    /// The tick values, 0 first.
    pub(crate) fn ticks(&self) -> Vec<u64> {
        (0..=self.top / self.step).map(|i| i * self.step).collect()
    }
}

/// The pieces of every column, stacked from the bottom in series order.
pub(crate) fn stack(st: &Stacks, axis: &Axis, scale: &Scale) -> Vec<Rect> {
    let mut out = Vec::new();
    for (c, vals) in st.values.iter().enumerate() {
        let start = st.cols.t0 + st.cols.span() * c as i64;
        let (xa, xb) = (axis.x(start), axis.x(start + st.cols.span()));
        let full = xb - xa;
        // A gap between columns where there is room for one.
        let gap = if full >= 4.0 { full * 0.15 } else { 0.0 };
        let mut acc = 0u64;
        for (s, &v) in vals.iter().enumerate() {
            if v == 0 {
                continue;
            }
            let y_low = scale.y(acc);
            acc = acc.saturating_add(v);
            let y_high = scale.y(acc);
            out.push(Rect {
                series: s,
                col: c,
                x: xa + gap / 2.0,
                y: y_high,
                w: (full - gap).max(0.5),
                h: y_low - y_high,
            });
        }
    }
    out
}

/// `n` with at most one decimal, without a trailing `.0`.
pub(crate) fn num(n: f64) -> String {
    let mut s = String::new();
    push_num(&mut s, n);
    s
}

/// [`num`] appended to `out`, by integer formatting (a chart writes
/// thousands of these, and float formatting is slow).
pub(crate) fn push_num(out: &mut String, n: f64) {
    let tenths = (n * 10.0).round() as i64;
    if tenths < 0 {
        out.push('-');
    }
    let t = tenths.unsigned_abs();
    let _ = write!(out, "{}", t / 10);
    if !t.is_multiple_of(10) {
        let _ = write!(out, ".{}", t % 10);
    }
}

/// A rate per column: the failed requests and the requests of the
/// column's window with the highest rate (ties: the most failed, then the
/// earliest), so a one-window spike of errors is as high in a month-long
/// chart as in a minute-long one; `None` where no window had requests.
pub(crate) fn rates(cols: &Columns, points: &[(i64, u64, u64)]) -> Vec<Option<(u64, u64)>> {
    let per = cols.per_col.max(1);
    let mut out: Vec<Option<(i64, u64, u64)>> = vec![None; cols.n];
    for &(t, requests, failed) in points {
        if requests == 0 {
            continue;
        }
        let w = cols.window_of(t);
        let Some(c) = usize::try_from(w / per).ok().filter(|&c| c < cols.n) else {
            continue;
        };
        let better = match out[c] {
            None => true,
            Some((bw, br, bf)) => {
                // failed/requests against bf/br, exactly.
                let (a, b) = (
                    u128::from(failed) * u128::from(br),
                    u128::from(bf) * u128::from(requests),
                );
                a > b || (a == b && (failed > bf || (failed == bf && w < bw)))
            }
        };
        if better {
            out[c] = Some((w, requests, failed.min(requests)));
        }
    }
    out.into_iter().map(|v| v.map(|(_, r, f)| (f, r))).collect()
}

/// The scale of a rate axis, in whole percent: round ticks up to at
/// least the highest rate, never above 100.
pub(crate) fn rate_scale(rates: &[Option<(u64, u64)>], bottom: f64, top_y: f64) -> Scale {
    let max = rates
        .iter()
        .flatten()
        .map(|&(f, r)| (f * 100).div_ceil(r.max(1)))
        .max()
        .unwrap_or(0)
        .clamp(1, 100);
    let mut s = Scale::new(max, 4, bottom, top_y);
    if s.top > 100 {
        s.top = 100;
        s.step = 25;
    }
    s
}

/// The rate line as an SVG path: a step across each column with a rate,
/// joined to the next column's when they touch, broken where a column had
/// no requests.
pub(crate) fn rate_path(
    cols: &Columns,
    rates: &[Option<(u64, u64)>],
    axis: &Axis,
    scale: &Scale,
) -> String {
    let mut d = String::new();
    let mut joined = false;
    for (c, r) in rates.iter().enumerate() {
        let Some((f, n)) = *r else {
            joined = false;
            continue;
        };
        let start = cols.t0 + cols.span() * c as i64;
        let (xa, xb) = (axis.x(start), axis.x(start + cols.span()));
        let pct = f as f64 * 100.0 / n.max(1) as f64;
        let y = scale.bottom - pct / scale.top as f64 * (scale.bottom - scale.top_y);
        if joined {
            d.push('V');
        } else {
            d.push('M');
            push_num(&mut d, xa);
            d.push(' ');
        }
        push_num(&mut d, y);
        d.push('H');
        push_num(&mut d, xb);
        joined = true;
    }
    d
}

/// An SVG path of rectangles (`M x y h w v h h -w z` each).
pub(crate) fn path(rects: &[&Rect]) -> String {
    let mut d = String::with_capacity(rects.len() * 24);
    for r in rects {
        d.push('M');
        push_num(&mut d, r.x);
        d.push(' ');
        push_num(&mut d, r.y);
        d.push('h');
        push_num(&mut d, r.w);
        d.push('v');
        push_num(&mut d, r.h);
        d.push_str("h-");
        push_num(&mut d, r.w);
        d.push('z');
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_165_200; // 2026-11-20T09:00:00

    #[test]
    fn the_rate_line_keeps_each_columns_highest_rate_on_its_own_scale() {
        // 6 one-minute windows in 3 columns of 2.
        let cols = Columns::fit(T, T + 300, 60, 3);
        assert_eq!((cols.per_col, cols.n), (2, 3));
        let points = [
            // Column 0: 1 of 100 and 17 of 27: the second is kept.
            (T, 100, 1),
            (T + 60, 27, 17),
            // Column 1: no requests at all: the line breaks.
            // Column 2: 0 of 5, then 2 of 4 (50%).
            (T + 240, 5, 0),
            (T + 300, 4, 2),
        ];
        let r = rates(&cols, &points);
        assert_eq!(r, [Some((17, 27)), None, Some((2, 4))]);
        let scale = rate_scale(&r, 200.0, 0.0);
        // 63% rounds up to 64: ticks of 20, up to 80%.
        assert_eq!((scale.top, scale.step), (80, 20));
        let axis = Axis {
            t0: cols.t0,
            t1: cols.end(),
            x0: 0.0,
            x1: 360.0,
        };
        // 17/27 = 62.96% of 80% of 200 units: y = 200 - 157.4.
        assert_eq!(
            rate_path(&cols, &r, &axis, &scale),
            "M0 42.6H120M240 75H360"
        );
        // Touching columns join with a vertical.
        let r = [Some((1, 2)), Some((1, 1))];
        let two = Columns::fit(T, T + 60, 60, 2);
        let axis = Axis {
            t0: T,
            t1: two.end(),
            x0: 0.0,
            x1: 100.0,
        };
        let scale = rate_scale(&r, 100.0, 0.0);
        assert_eq!(scale.top, 100);
        assert_eq!(rate_path(&two, &r, &axis, &scale), "M0 50H50V0H100");
        // Nothing failed: the scale still has a top.
        assert_eq!(rate_scale(&[Some((0, 9))], 1.0, 0.0).top, 1);
    }

    #[test]
    fn axis_maps_the_span_onto_the_plot_and_ticks_at_round_times() {
        let a = Axis {
            t0: T + 30,
            t1: T + 30 + 3600,
            x0: 50.0,
            x1: 950.0,
        };
        assert_eq!(a.x(T + 30), 50.0);
        assert_eq!(a.x(T + 30 + 1800), 500.0);
        assert_eq!(a.x(T + 30 + 3600), 950.0);
        let ticks = a.ticks(8);
        // An hour in at most 8 ticks: every 10 minutes, from 09:10.
        let times: Vec<&str> = ticks.iter().map(|t| t.time.as_str()).collect();
        assert_eq!(
            times,
            ["09:10", "09:20", "09:30", "09:40", "09:50", "10:00"]
        );
        assert!(ticks.iter().all(|t| t.date.is_empty()));
        assert!(ticks.iter().all(|t| t.x >= 50.0 && t.x <= 950.0));
        assert_eq!(ticks[0].t % 600, 0);
    }

    #[test]
    fn ticks_carry_dates_across_midnight_and_days_for_a_month() {
        // 22:00 to 02:00 the next day.
        let a = Axis {
            t0: T + 13 * 3600,
            t1: T + 17 * 3600,
            x0: 0.0,
            x1: 100.0,
        };
        let ticks = a.ticks(6);
        let with_date: Vec<(&str, &str)> = ticks
            .iter()
            .filter(|t| !t.date.is_empty())
            .map(|t| (t.time.as_str(), t.date.as_str()))
            .collect();
        assert_eq!(with_date, [("22:00", "11-20"), ("00:00", "11-21")]);
        // A 30-day archive: a tick per week at most 6, labelled by date.
        let month = Axis {
            t0: T,
            t1: T + 30 * 86400,
            x0: 0.0,
            x1: 100.0,
        };
        let ticks = month.ticks(8);
        assert!(ticks.len() <= 8 && ticks.len() >= 4, "{ticks:?}");
        assert!(ticks.iter().all(|t| t.time.is_empty() && t.date.len() == 5));
    }

    #[test]
    fn one_window_fills_one_column() {
        let cols = Columns::fit(T, T, 60, 450);
        assert_eq!(
            cols,
            Columns {
                t0: T,
                window: 60,
                per_col: 1,
                n: 1,
                windows: 1
            }
        );
        let st = Stacks::build(cols, 1, &[(0, T, 7)]);
        assert_eq!(st.values, vec![vec![7]]);
        assert_eq!(st.low, vec![7]);
    }

    #[test]
    fn downsampling_keeps_the_busiest_window_of_each_column() {
        // 100,000 one-minute windows with 1 failure each, and one window
        // with 500: the column holding it shows 500, not an average.
        let windows = 100_000i64;
        let mut points: Vec<(usize, i64, u64)> = (0..windows).map(|w| (0, T + w * 60, 1)).collect();
        let spike = 77_777;
        points[spike as usize].2 = 500;
        let cols = Columns::fit(T, T + (windows - 1) * 60, 60, 450);
        assert!(cols.n <= 450);
        assert_eq!(cols.per_col, 223);
        assert!(cols.end() >= T + windows * 60);
        let st = Stacks::build(cols, 1, &points);
        assert_eq!(st.max(), 500);
        let c = (spike / cols.per_col) as usize;
        assert_eq!(st.values[c], vec![500]);
        assert_eq!(st.busiest[c], Some(T + spike * 60));
        assert_eq!(st.low[c], 1);
        // The other columns show a window's 1.
        assert!(
            st.totals()
                .iter()
                .enumerate()
                .all(|(i, &n)| i == c || n == 1)
        );
    }

    #[test]
    fn a_column_with_empty_windows_has_a_low_of_zero() {
        let cols = Columns::fit(T, T + 9 * 60, 60, 2);
        assert_eq!((cols.per_col, cols.n), (5, 2));
        let st = Stacks::build(cols, 2, &[(0, T, 3), (1, T, 2), (0, T + 60, 4)]);
        // Column 0: the busiest window is T (3 + 2 = 5), split by series.
        assert_eq!(st.values[0], vec![3, 2]);
        assert_eq!(st.low, vec![0, 0]);
        assert_eq!(st.values[1], vec![0, 0]);
        assert_eq!(st.busiest, vec![Some(T), None]);
    }

    #[test]
    fn stacking_puts_series_on_top_of_each_other_in_order() {
        let cols = Columns::fit(T, T + 60, 60, 10);
        let st = Stacks::build(cols, 3, &[(0, T, 2), (2, T, 3), (1, T + 60, 10)]);
        let axis = Axis {
            t0: T,
            t1: cols.end(),
            x0: 0.0,
            x1: 200.0,
        };
        let scale = Scale::new(st.max(), 5, 110.0, 10.0);
        assert_eq!((scale.top, scale.step), (10, 2));
        assert_eq!(scale.ticks(), vec![0, 2, 4, 6, 8, 10]);
        let rects = stack(&st, &axis, &scale);
        assert_eq!(rects.len(), 3);
        let (a, b) = (rects[0], rects[1]);
        assert_eq!((a.series, a.col, b.series, b.col), (0, 0, 2, 0));
        // Series 0 from the baseline up 2/10 of 100; series 2 on top of it.
        assert!((a.y + a.h - 110.0).abs() < 1e-9 && (a.h - 20.0).abs() < 1e-9);
        assert!((b.y + b.h - a.y).abs() < 1e-9 && (b.h - 30.0).abs() < 1e-9);
        // Column 1 is the full height, in the right half, with a gap.
        let c = rects[2];
        assert!((c.y - 10.0).abs() < 1e-9 && (c.h - 100.0).abs() < 1e-9);
        assert!(c.x > 100.0 && c.x + c.w < 200.0);
        assert_eq!(path(&[&a]), "M7.5 90h85v20h-85z");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(-1.25), "-1.3");
        assert_eq!(num(12.06), "12.1");
        assert_eq!(num(944.0), "944");
    }

    #[test]
    fn scale_rounds_up_to_a_round_top() {
        assert_eq!(Scale::new(0, 4, 0.0, 0.0).top, 1);
        assert_eq!(Scale::new(1, 4, 0.0, 0.0).top, 1);
        let s = Scale::new(98, 4, 0.0, 0.0);
        assert_eq!((s.step, s.top), (50, 100));
        let s = Scale::new(123_456, 4, 0.0, 0.0);
        assert_eq!((s.step, s.top), (50_000, 150_000));
    }
}
