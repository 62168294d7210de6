//! The report for people: a ranked summary table, then one block per cause.
//!
//! Colour is an option of the caller (on only for a terminal without
//! NO_COLOR); every string that came from a log goes through
//! [`crate::bytes::escape`].

use std::io::{self, Write};

use crate::parse::time;
use crate::render::words;
use crate::report::{CauseReport, Report};

use crate::bytes::escape;

/// How the text report looks.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// ANSI colours.
    pub color: bool,
    /// Upstreams and routes listed per cause (0: all of them).
    pub top: usize,
    /// Columns to fit every line into (`None`: no limit, lines as long as
    /// they come).
    pub width: Option<usize>,
    /// ASCII instead of Unicode blocks for the pictures.
    pub ascii: bool,
}

/// The narrowest layout the report is fitted to; narrower widths are
/// taken as this.
pub const MIN_WIDTH: usize = 40;

/// Where the value of a cause block's labelled line starts.
const INDENT: usize = 13;

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
    if opts.ascii {
        // Our own ellipsis too, so that only log text can hold anything
        // but ASCII.
        let mut buf = Vec::new();
        body(report, opts, &mut buf)?;
        return out.write_all(String::from_utf8_lossy(&buf).replace('…', "~").as_bytes());
    }
    body(report, opts, out)
}

fn body(report: &Report, opts: TextOptions, out: &mut dyn Write) -> io::Result<()> {
    let st = Style { on: opts.color };
    let width = opts.width.map_or(usize::MAX, |w| w.max(MIN_WIDTH));
    summary_line(report, &st, width, out)?;
    clock_warnings(report, &st, width, out)?;
    if !report.causes.is_empty() {
        writeln!(out)?;
        incidents(report, opts, width, out)?;
        let picture = super::histogram::lines(report, width, opts.ascii);
        for l in &picture {
            writeln!(out, "{l}")?;
        }
        if !picture.is_empty() {
            writeln!(out)?;
        }
        table(report, &st, width, out)?;
        for (i, c) in report.causes.iter().enumerate() {
            writeln!(out)?;
            cause_block(i + 1, c, report, opts, &st, width, out)?;
        }
    }
    super::clients::render(
        report,
        &|s| st.bold(s),
        &|o, label, text| labelled(o, label, text, width),
        out,
    )?;
    startup_section(report, &st, width, out)?;
    notes(report, &st, width, out)
}

/// Logs whose clock looks shifted, right under the summary: their lines
/// explain no incident as written.
fn clock_warnings(r: &Report, st: &Style, width: usize, out: &mut dyn Write) -> io::Result<()> {
    for w in &r.clock_warnings {
        let s = format!(
            "warning: {}'s times look {} off: none of its {} {} within the incidents of {} as written, {} {} once shifted by {} (a log in UTC beside one in local time?). Times are compared as written: {} lines them up",
            escape(&w.file),
            human_offset(w.offset_seconds),
            thousands(w.lines),
            plural(w.lines, "line falls", "lines fall"),
            escape(&w.against),
            thousands(w.matched),
            plural(w.matched, "does", "do"),
            w.offset,
            escape(&w.suggestion),
        );
        for l in wrap(&s, "", "  ", width) {
            writeln!(out, "{}", st.yellow(&l))?;
        }
    }
    Ok(())
}

/// `3600` as `1 h`, `5400` as `1 h 30 min`.
fn human_offset(seconds: i64) -> String {
    let a = seconds.unsigned_abs();
    match (a / 3600, a % 3600 / 60) {
        (h, 0) => format!("{h} h"),
        (0, m) => format!("{m} min"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The start-up and configuration errors, apart from the causes: no
/// failed requests, each with the configuration's file:line, count, times,
/// meaning, fix and first line.
fn startup_section(r: &Report, st: &Style, width: usize, out: &mut dyn Write) -> io::Result<()> {
    if r.startup_errors.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let lines: u64 = r
        .startup_errors
        .iter()
        .fold(0, |n, s| n.saturating_add(s.count));
    for l in wrap(
        &format!(
            "Start-up and configuration errors: {} {} in {} {}, not failed requests (the server did not start or reload)",
            thousands(lines),
            plural(lines, "line", "lines"),
            r.startup_errors.len(),
            plural(r.startup_errors.len() as u64, "error", "errors"),
        ),
        "",
        "  ",
        width,
    ) {
        writeln!(out, "{}", st.bold(&l))?;
    }
    for (i, s) in r.startup_errors.iter().enumerate() {
        writeln!(out)?;
        for l in wrap(
            &format!("S{}. {}: {} ({})", i + 1, s.kind, s.title, s.server),
            "",
            "    ",
            width,
        ) {
            writeln!(out, "{}", st.bold(&l))?;
        }
        labelled(out, "message", &escape(&s.message), width)?;
        if let Some(c) = &s.config {
            labelled(out, "config", &escape(c), width)?;
        }
        let times = match (&s.first_seen, &s.last_seen) {
            (Some(a), Some(b)) if a == b => format!(", at {}", pretty_time(a)),
            (Some(a), Some(b)) => format!(", {} .. {}", pretty_time(a), pretty_time(b)),
            _ => String::new(),
        };
        let untimed = match s.untimed {
            0 => String::new(),
            n if n >= s.count => ", with no time".to_string(),
            n => format!(", {} with no time", thousands(n)),
        };
        labelled(
            out,
            "seen",
            &format!(
                "{} {}{times}{untimed}",
                thousands(s.count),
                plural(s.count, "time", "times")
            ),
            width,
        )?;
        // A kind's meaning and fix are said once, at its first error.
        match r.startup_errors[..i]
            .iter()
            .position(|o| o.kind == s.kind && o.fix == s.fix)
        {
            Some(j) => labelled(out, "means", &format!("as S{}", j + 1), width)?,
            None => {
                labelled(out, "means", &s.meaning, width)?;
                labelled(out, "fix", &s.fix, width)?;
            }
        }
        labelled(
            out,
            "example",
            &format!("{}:{}", escape(&s.example.file), s.example.line),
            width,
        )?;
        let text = truncate(&escape(&s.example.text), 400);
        let indent = " ".repeat(INDENT);
        for l in wrap(&text, &indent, &indent, width.max(INDENT + 10)) {
            let l = l.trim_end();
            writeln!(out, "{indent}{}", st.dim(&l[INDENT.min(l.len())..]))?;
        }
    }
    Ok(())
}

/// Display columns of `s` (one per character: what the report prints is
/// escaped, so it holds no control characters).
fn cols(s: &str) -> usize {
    s.chars().count()
}

/// `text` broken at spaces into lines of at most `width` columns, the
/// first after `first` and the others after `rest` (both prefixes are
/// counted); a word longer than a line is cut where the line ends.
pub(crate) fn wrap(text: &str, first: &str, rest: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        let mut word = word.to_string();
        loop {
            let sep = usize::from(!empty);
            if cols(&line) + sep + cols(&word) <= width {
                if !empty {
                    line.push(' ');
                }
                line.push_str(&word);
                empty = false;
                break;
            }
            if !empty {
                lines.push(std::mem::replace(&mut line, rest.to_string()));
                empty = true;
                continue;
            }
            // Alone on its line and still too long: cut it.
            let room = width.saturating_sub(cols(&line)).max(1);
            let head: String = word.chars().take(room).collect();
            word = word.chars().skip(room).collect();
            line.push_str(&head);
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            if word.is_empty() {
                break;
            }
        }
    }
    if !empty || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Writes `text` wrapped under a label: `   label     text ...`, the
/// continuation lines under the text.
fn labelled(out: &mut dyn Write, label: &str, text: &str, width: usize) -> io::Result<()> {
    let first = format!("   {label:<10}");
    for l in wrap(text, &first, &" ".repeat(INDENT), width) {
        writeln!(out, "{}", l.trim_end())?;
    }
    Ok(())
}

/// The incidents' paragraphs, each line that is wider than the terminal
/// broken at spaces, continued under its text.
fn incidents(
    report: &Report,
    opts: TextOptions,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut text = Vec::new();
    super::incidents::render(
        report,
        if opts.top == 0 { usize::MAX } else { opts.top },
        &super::incidents::Paint { on: opts.color },
        &mut text,
    )?;
    let text = String::from_utf8_lossy(&text);
    for line in text.lines() {
        if cols(line) <= width {
            writeln!(out, "{line}")?;
            continue;
        }
        // Labelled lines (`   evidence   ...`) continue under their text,
        // a heading under its first word.
        let rest = if line.starts_with("   ") {
            INDENT + 1
        } else {
            3
        };
        for l in wrap(line, "", &" ".repeat(rest), width) {
            writeln!(out, "{}", l.trim_end())?;
        }
    }
    Ok(())
}

/// The summary line, in two parts: its headline (`180 failed requests`,
/// `No upstream failures found:`) and the rest, unescaped.
pub(crate) fn summary(r: &Report) -> (String, String) {
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
            ("Nothing could be read:".to_string(), format!(" {source}"))
        } else if l.total == 0 {
            // An empty input is not a clean one.
            (
                "Nothing to analyze, no line was read:".to_string(),
                format!(" {source}"),
            )
        } else if recognized == l.access && l.access > 0 {
            (
                "No error-log line was read, so the clients' errors cannot be explained:"
                    .to_string(),
                format!(" {source}"),
            )
        } else if recognized == 0 {
            (
                "No line is in a known error-log format, so nothing can be said:".to_string(),
                format!(" {source}"),
            )
        } else if r.excluded_failures > 0 {
            (
                "The filters left no upstream failure:".to_string(),
                format!(" {flags}: {excluded}; {source}"),
            )
        } else if !flags.is_empty() {
            (
                "No upstream failures found:".to_string(),
                format!(" {source}; filters {flags}"),
            )
        } else {
            (
                "No upstream failures found:".to_string(),
                format!(" {source}"),
            )
        }
    } else {
        let filtered = if flags.is_empty() {
            String::new()
        } else if r.excluded_failures > 0 {
            format!("; {flags}: {excluded}")
        } else {
            format!("; {flags}: none outside the filters")
        };
        // php-fpm's and the kernel's lines explain failures, they are
        // none themselves.
        let explaining = match words::explaining_lines(&r.causes) {
            Some(l) if r.total_failures == 0 => format!(
                " ({l}, which {} failures a web server's log would show)",
                plural(r.explaining_lines, "explains", "explain")
            ),
            Some(l) => format!(" ({l} explaining them)"),
            None => String::new(),
        };
        (
            format!(
                "{} failed {}",
                thousands(r.total_failures),
                plural(r.total_failures, "request", "requests")
            ),
            format!(
                " in {} {}{explaining}{filtered}; {source}",
                r.causes.len(),
                plural(r.causes.len() as u64, "cause", "causes"),
            ),
        )
    }
}

fn summary_line(r: &Report, st: &Style, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let (headline, rest) = summary(r);
    for (i, line) in wrap(&format!("{headline}{rest}"), "", "  ", width)
        .into_iter()
        .enumerate()
    {
        match line.strip_prefix(headline.as_str()) {
            Some(after) if i == 0 => writeln!(out, "{}{after}", st.bold(&headline))?,
            _ => writeln!(out, "{line}")?,
        }
    }
    Ok(())
}

/// The summary table: `#`, requests, share and cause always; status, top
/// upstream and the short fix as the width allows, long upstreams and
/// fixes cut with an ellipsis, so that no row is wider than `width`.
fn table(r: &Report, st: &Style, width: usize, out: &mut dyn Write) -> io::Result<()> {
    // " ## " + "  REQUESTS" + "  SHARE " + "  "
    const LEAD: usize = 1 + 2 + 2 + 8 + 2 + 6 + 2;
    let natural_cause = r
        .causes
        .iter()
        .map(|c| c.cause.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let cause_w = natural_cause.min(width.saturating_sub(LEAD).max(8));
    let mut room = width.saturating_sub(LEAD + cause_w);
    let with_status = room >= 8;
    if with_status {
        room -= 8;
    }
    let ups: Vec<String> = r
        .causes
        .iter()
        .map(|c| {
            c.upstreams
                .first()
                .map(|u| escape(&u.upstream).into_owned())
                .unwrap_or_else(|| "-".to_string())
        })
        .collect();
    let fixes: Vec<&str> = r
        .causes
        .iter()
        .map(|c| {
            crate::event::CauseId::from_id(&c.cause)
                .map(|id| id.info().fix_short)
                .unwrap_or("")
        })
        .collect();
    let natural_up = ups.iter().map(|u| cols(u)).max().unwrap_or(3).clamp(12, 40);
    let natural_fix = fixes.iter().map(|f| cols(f)).max().unwrap_or(0).max(3);
    // The upstream column first (it is what to look at), then the fix,
    // which each cause's block repeats in full.
    const MIN_FIX: usize = 16;
    let (up_w, fix_w) = if room >= 2 + natural_up + 2 + MIN_FIX {
        (
            Some(natural_up),
            Some(natural_fix.min(room - 2 - natural_up - 2)),
        )
    } else if room >= 2 + 12 {
        (Some(natural_up.min(room - 2)), None)
    } else {
        (None, None)
    };
    let mut head = format!(
        " {:>2}  {:>8}  {:>6}  {:<cause_w$}",
        "#", "REQUESTS", "SHARE", "CAUSE"
    );
    if with_status {
        head += &format!("  {:>6}", "STATUS");
    }
    if let Some(w) = up_w {
        head += &format!("  {:<w$}", "TOP UPSTREAM");
    }
    if fix_w.is_some() {
        head += "  FIX";
    }
    writeln!(out, "{}", st.dim(head.trim_end()))?;
    for (i, c) in r.causes.iter().enumerate() {
        let cause = truncate(&c.cause, cause_w);
        // A cause of php-fpm's or the kernel's lines alone has no failed
        // requests and no share: its lines are counted in its section.
        let (count, share) = if c.requests() == 0 {
            ("-".to_string(), "-".to_string())
        } else {
            (thousands(c.requests()), format!("{:.1}%", c.share * 100.0))
        };
        let mut row = format!(
            " {:>2}  {:>8}  {:>6}  {}{}",
            i + 1,
            count,
            share,
            st.red(&cause),
            " ".repeat(cause_w.saturating_sub(cols(&cause))),
        );
        if with_status {
            let status = c.status.map_or_else(|| "-".to_string(), |s| s.to_string());
            row += &format!("  {status:>6}");
        }
        if let Some(w) = up_w {
            row += &format!("  {:<w$}", truncate(&ups[i], w));
        }
        if let Some(w) = fix_w {
            row += &format!("  {}", truncate(fixes[i], w));
        }
        writeln!(out, "{}", row.trim_end())?;
    }
    Ok(())
}

fn cause_block(
    rank: usize,
    c: &CauseReport,
    r: &Report,
    opts: TextOptions,
    st: &Style,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let status = c.status.map(|s| format!(" ({s})")).unwrap_or_default();
    for l in wrap(
        &format!("{rank}. {}: {}{status}", c.cause, c.title),
        "",
        "   ",
        width,
    ) {
        writeln!(out, "{}", st.bold(&l))?;
    }
    for l in wrap(&words::cause_count(c), "   ", "   ", width) {
        writeln!(out, "{l}")?;
    }
    if let (Some(first), Some(last)) = (&c.first_seen, &c.last_seen) {
        let seen = format!("{} .. {}", pretty_time(first), pretty_time(last));
        let peak = c.peak.as_ref().map(|p| {
            (
                format!("{}..{}", short_time(&p.start), short_time(&p.end)),
                format!("({} in {})", p.count, r.window),
            )
        });
        let mut text = seen;
        if let Some((at, n)) = &peak {
            text += &format!(", peak {at} {n}");
        }
        let first = format!("   {:<10}", "seen");
        for l in wrap(&text, &first, &" ".repeat(INDENT), width) {
            // The peak's time is highlighted where it is printed.
            match &peak {
                Some((at, _)) if st.on && l.contains(at.as_str()) => {
                    writeln!(out, "{}", l.replacen(at.as_str(), &st.yellow(at), 1))?
                }
                _ => writeln!(out, "{l}")?,
            }
        }
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
        labelled(out, "no time", &text, width)?;
    }
    if let Some(span) = time_span(r) {
        let room = width.saturating_sub(INDENT).max(10);
        if let Some((line, scale)) = sparkline(c, r.window_seconds, span, room.min(60), opts.ascii)
        {
            if cols(&line) + 2 + cols(&scale) <= room {
                writeln!(out, "   {:<10}{line}  {scale}", "timeline")?;
            } else {
                writeln!(out, "   {:<10}{line}", "timeline")?;
                labelled(out, "", &scale, width)?;
            }
        }
    }
    let top = if opts.top == 0 { usize::MAX } else { opts.top };
    if !c.upstreams.is_empty() {
        let list: Vec<(&str, u64)> = c
            .upstreams
            .iter()
            .map(|u| (u.upstream.as_str(), u.count))
            .collect();
        top_list(out, "upstreams", &list, top, width)?;
    }
    if !c.routes.is_empty() {
        let list: Vec<(&str, u64)> = c
            .routes
            .iter()
            .map(|u| (u.route.as_str(), u.count))
            .collect();
        top_list(out, "routes", &list, top, width)?;
    }
    if let Some(ci) = &c.client_impact {
        super::clients::cause_line(ci, &|o, label, text| labelled(o, label, text, width), out)?;
    }
    labelled(out, "means", &c.meaning, width)?;
    labelled(out, "fix", &c.fix, width)?;
    for a in &c.config {
        labelled(out, "config", &escape(&a.advice), width)?;
    }
    if let Some(e) = &c.example {
        labelled(
            out,
            "example",
            &format!("{}:{}", escape(&e.file), e.line),
            width,
        )?;
        // The line itself under its label, broken at spaces to fit.
        let text = truncate(&escape(&e.text), 400);
        let indent = " ".repeat(INDENT);
        for l in wrap(&text, &indent, &indent, width.max(INDENT + 10)) {
            let l = l.trim_end();
            writeln!(out, "{indent}{}", st.dim(&l[INDENT.min(l.len())..]))?;
        }
    }
    Ok(())
}

fn notes(r: &Report, st: &Style, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let mut first = true;
    let mut note =
        |out: &mut dyn Write, s: String, paint: &dyn Fn(&str) -> String| -> io::Result<()> {
            if first {
                writeln!(out)?;
                first = false;
            }
            for l in wrap(&s, "", "  ", width) {
                writeln!(out, "{}", paint(&l))?;
            }
            Ok(())
        };
    let plain = |s: &str| s.to_string();
    let yellow = |s: &str| st.yellow(s);
    let red = |s: &str| st.red(s);
    if r.untimed_failures > 0 {
        note(
            out,
            format!(
                "note: {} failed {} came from lines with no time (the time cut off in a paste, or never written): counted, but in no window and no incident",
                thousands(r.untimed_failures),
                plural(r.untimed_failures, "request", "requests")
            ),
            &yellow,
        )?;
    }
    if r.lines.unrecognized > 0 {
        note(
            out,
            format!(
                "note: {} {} in no known format (nginx, Apache 2.2/2.4, php-fpm, syslog), e.g.:",
                thousands(r.lines.unrecognized),
                plural(r.lines.unrecognized, "line", "lines")
            ),
            &yellow,
        )?;
        for e in &r.unrecognized_examples {
            let place = format!("  {}:{}: ", escape(&e.file), e.line);
            let room = width.saturating_sub(cols(&place)).clamp(20, 160);
            note(
                out,
                format!("{place}{}", truncate(&escape(&e.text), room)),
                &plain,
            )?;
        }
    }
    if !r.skipped_files.is_empty() {
        let n = r.skipped_files.len() as u64;
        note(
            out,
            format!(
                "note: {} {} not read: {} in a folder without *error*log* files, and {} first lines are no error or access log's:",
                thousands(n),
                plural(n, "file", "files"),
                plural(n, "it is", "they are"),
                plural(n, "its", "their"),
            ),
            &yellow,
        )?;
        const SHOWN: usize = 10;
        for f in r.skipped_files.iter().take(SHOWN) {
            note(out, format!("  {}: {}", escape(&f.path), f.reason), &plain)?;
        }
        if r.skipped_files.len() > SHOWN {
            note(
                out,
                format!(
                    "  and {} more (see the JSON report's skipped_files)",
                    r.skipped_files.len() - SHOWN
                ),
                &plain,
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
            &plain,
        )?;
    }
    if r.folded.upstreams > 0 || r.folded.routes > 0 {
        note(
            out,
            format!(
                "note: too many distinct keys; counted as (other): {} upstream attempts, {} routes",
                r.folded.upstreams, r.folded.routes
            ),
            &plain,
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
            format!(
                "error: {}: {}{kept}",
                escape(&f.path),
                escape(f.error.as_deref().unwrap_or(""))
            ),
            &red,
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

/// A sparkline of the timeline over the report's whole time span, squeezed
/// to at most `max_cols` marks, and its scale: the span, the time per mark
/// and what a full block stands for.
fn sparkline(
    c: &CauseReport,
    window: i64,
    span: (i64, i64),
    max_cols: usize,
    ascii: bool,
) -> Option<(String, String)> {
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
    let cols = windows.min(max_cols.max(1));
    // Marks of equal length: the windows per mark rounded up, so the last
    // mark may cover fewer.
    let per_mark = windows.div_ceil(cols);
    let cols = windows.div_ceil(per_mark);
    let mut buckets = vec![0u64; cols];
    for (start, n) in &points {
        let idx = ((start - first) / window) as usize / per_mark;
        let b = &mut buckets[idx.min(cols - 1)];
        *b = b.saturating_add(*n);
    }
    let full = buckets.iter().copied().max().unwrap_or(0);
    // A cause whose failures carry no time has no line: its `no time`
    // line says so, and a row of empty marks scaled to nothing would not.
    if full == 0 {
        return None;
    }
    let line = if ascii {
        ascii_marks(&buckets)
    } else {
        marks(&buckets)
    };
    let label = |t: i64| short_time(&crate::event::LocalTime(t).iso());
    Some((
        line,
        format!(
            "{} .. {}, {} per mark, {} = {}",
            label(first),
            label(last),
            crate::aggregate::window::format_duration(per_mark as i64 * window),
            if ascii { '#' } else { '\u{2588}' },
            thousands(full)
        ),
    ))
}

/// `upstreams  a (5), b (3), and 2 more` under its label, broken after a
/// comma where the width ends; each item cut to a line.
fn top_list(
    out: &mut dyn Write,
    label: &str,
    items: &[(&str, u64)],
    top: usize,
    width: usize,
) -> io::Result<()> {
    let room = width.saturating_sub(INDENT).max(20);
    let mut parts: Vec<String> = items
        .iter()
        .take(top)
        .map(|(k, n)| {
            let n = format!(" ({})", thousands(*n));
            let max = room.saturating_sub(cols(&n) + 1).clamp(10, 80);
            format!("{}{n}", truncate(&escape(k), max))
        })
        .collect();
    if items.len() > top {
        parts.push(format!("and {} more", items.len() - top));
    }
    let last = parts.len().saturating_sub(1);
    let mut line = format!("   {label:<10}");
    let mut empty = true;
    for (i, p) in parts.iter().enumerate() {
        let p = if i < last { format!("{p},") } else { p.clone() };
        if !empty && cols(&line) + 1 + cols(&p) > width {
            writeln!(out, "{line}")?;
            line = " ".repeat(INDENT);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(&p);
        empty = false;
    }
    writeln!(out, "{line}")
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

/// One mark per bucket, scaled to the largest (a full block): a dot for an
/// empty bucket, at least the lowest block for any failure.
pub(crate) fn marks(buckets: &[u64]) -> String {
    const MARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    buckets
        .iter()
        .map(|&n| {
            if n == 0 {
                '·'
            } else {
                MARKS[((u128::from(n) * 8).div_ceil(u128::from(max)) as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

/// [`marks`] in ASCII: `.` for an empty bucket, then `_ - = #` rising.
fn ascii_marks(buckets: &[u64]) -> String {
    const MARKS: [char; 4] = ['_', '-', '=', '#'];
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    buckets
        .iter()
        .map(|&n| {
            if n == 0 {
                '.'
            } else {
                MARKS[((u128::from(n) * 4).div_ceil(u128::from(max)) as usize).clamp(1, 4) - 1]
            }
        })
        .collect()
}

pub(crate) use super::words::{echo, logged_by, plural, thousands, truncate};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_without_timed_failures_has_no_sparkline() {
        let mut c: CauseReport = serde_json::from_value(serde_json::json!({
            "cause": "upstream_timeout", "title": "t", "status": 504, "statuses": [],
            "count": 3, "attempts": 3, "share": 1.0, "first_seen": null, "last_seen": null,
            "peak": null, "timeline": [], "untimed": 3, "upstreams": [], "routes": [],
            "example": null, "fix": "", "meaning": "", "fixes": {"nginx": "", "apache": ""},
            "servers": {"nginx": 3, "apache": 0, "php-fpm": 0}, "lines": 3
        }))
        .unwrap();
        let span = (1_795_165_200, 1_795_165_200 + 600);
        // Other causes span ten minutes; this one has nothing on them.
        assert_eq!(sparkline(&c, 60, span, 60, false), None);
        c.timeline.push(crate::report::TimelinePoint {
            start: "2026-11-20T09:05:00".into(),
            count: 2,
        });
        let (line, scale) = sparkline(&c, 60, span, 60, false).unwrap();
        assert_eq!(line, "·····█·····");
        assert_eq!(scale, "09:00 .. 09:10, 1m per mark, █ = 2");
        let (line, scale) = sparkline(&c, 60, span, 60, true).unwrap();
        assert_eq!(line, ".....#.....");
        assert!(scale.ends_with("# = 2"));
    }

    #[test]
    fn helpers() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(short_time("2026-11-20T10:23:00"), "10:23");
        assert_eq!(truncate("abcdef", 5), "abcd…");
        assert_eq!(truncate("abcde", 5), "abcde");
        assert_eq!(marks(&[1, 0, 100]), "▁·█");
        assert_eq!(marks(&[0, 0]), "··");
        assert_eq!(marks(&[4, 8, 1]), "▄█▁");
        assert_eq!(ascii_marks(&[1, 0, 100, 60]), "_.#=");
        assert_eq!(
            wrap("aaa bbb ccc", "> ", "  ", 9),
            vec!["> aaa bbb".to_string(), "  ccc".to_string()]
        );
        assert_eq!(
            wrap("abcdefghij", "", "", 4),
            vec!["abcd".to_string(), "efgh".to_string(), "ij".to_string()]
        );
    }
}
