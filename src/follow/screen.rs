//! The live screen: a compact view of the rolling report, redrawn in
//! place on a terminal (alternate screen, restored on exit).
//!
//! Everything that came from a log (upstreams, paths, error texts) goes
//! through [`escape`], so a log line cannot drive the terminal.

use std::io::{self, Write};

use crate::aggregate::window::format_duration;
use crate::bytes::escape;
use crate::event::LocalTime;
use crate::render::text::{Style, echo, logged_by, marks, plural, thousands, truncate};
use crate::report::{IncidentReport, Report};

/// One followed file as the screen shows it.
#[derive(Debug, Clone)]
pub struct InputLine {
    /// As given.
    pub path: String,
    /// Lines read.
    pub lines: u64,
    /// Rotations seen.
    pub rotations: u64,
    /// Bytes on disk that could not be read (copytruncate's race).
    pub lost_bytes: u64,
    /// Files that could not be opened for want of file descriptors.
    pub open_limit_hits: u64,
    /// Why it cannot be read now.
    pub error: Option<String>,
}

/// What one frame shows.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The rolling report.
    pub report: &'a Report,
    /// Its span in log time, `[start, end)`.
    pub span: (i64, i64),
    /// Seconds per mark.
    pub window: i64,
    /// `--last`, in seconds.
    pub last: i64,
    /// Requests per mark, by cause id.
    pub marks: Vec<(String, Vec<u64>)>,
    /// The followed files.
    pub inputs: Vec<InputLine>,
    /// Alert rules: text, holding, count.
    pub alerts: Vec<(String, bool, u64)>,
    /// The latest alert transitions and incident openings and closings,
    /// oldest first.
    pub alert_log: Vec<String>,
    /// Incidents: id, open, what the incidents stage says of it (the open
    /// ones and the latest closed, oldest first).
    pub incidents: Vec<(u64, bool, &'a IncidentReport)>,
    /// The follow clock (log time, seconds).
    pub now: i64,
    /// Failed requests since follow started.
    pub since_start: u64,
    /// Frames dropped since the start because the terminal (or whatever
    /// reads stdout) did not keep up.
    pub dropped: u64,
    /// Wall-clock time of the frame (`14:03:22`).
    pub updated: String,
    /// The last frame, after Ctrl-C.
    pub last_frame: bool,
}

/// The frame as lines of text (colour codes only with `color`).
pub fn render(f: &Frame<'_>, top: usize, color: bool) -> Vec<String> {
    let st = Style { on: color };
    let r = f.report;
    let mut out = Vec::new();
    let hm = |t: i64| {
        let iso = LocalTime(t).iso();
        iso.get(11..16).unwrap_or(&iso).to_string()
    };
    let what = if f.last_frame { "final report" } else { "live" };
    out.push(st.bold(&format!(
        "upcause follow, {what}: last {} of log time ({} .. {}), {} per mark, at {}",
        format_duration(f.last),
        hm(f.span.0),
        hm(f.span.1),
        format_duration(f.window),
        f.updated
    )));
    let files = f.inputs.len();
    out.push(format!(
        "{} failed {} in {} {}; {} since start; {} lines read from {} {}, {} unrecognized",
        thousands(r.total_failures),
        plural(r.total_failures, "request", "requests"),
        r.causes.len(),
        plural(r.causes.len() as u64, "cause", "causes"),
        thousands(f.since_start),
        thousands(r.lines.total),
        files,
        plural(files as u64, "file", "files"),
        thousands(r.lines.unrecognized),
    ));
    out.push(String::new());
    incidents(f, &st, &mut out);

    if r.causes.is_empty() {
        out.push(format!(
            "No upstream failures in the last {}.",
            format_duration(f.last)
        ));
    } else {
        let cause_w = r
            .causes
            .iter()
            .map(|c| c.cause.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let spark_w = f
            .marks
            .first()
            .map_or(0, |m| spark(&m.1).chars().count())
            .max(8);
        out.push(st.dim(&format!(
            " {:>8}  {:<cause_w$}  {:>6}  {:<spark_w$}  TOP UPSTREAM",
            "REQUESTS",
            "CAUSE",
            "STATUS",
            format!("LAST {}", format_duration(f.last)),
        )));
        for c in r.causes.iter().take(top.max(1)) {
            let line = f
                .marks
                .iter()
                .find(|(id, _)| *id == c.cause)
                .map(|(_, m)| spark(m))
                .unwrap_or_default();
            let up = c
                .upstreams
                .first()
                .map(|u| {
                    format!(
                        "{} ({})",
                        truncate(&escape(&u.upstream), 40),
                        thousands(u.count)
                    )
                })
                .unwrap_or_else(|| "-".into());
            let pad = cause_w - c.cause.len();
            out.push(format!(
                " {:>8}  {}{}  {:>6}  {:<spark_w$}  {up}",
                thousands(c.count),
                st.red(&c.cause),
                " ".repeat(pad),
                c.status.map_or_else(|| "-".to_string(), |s| s.to_string()),
                line,
            ));
            // Where it hurts and what to do, as `analyze` says it.
            let routes: Vec<String> = c
                .routes
                .iter()
                .take(3)
                .map(|r| {
                    format!(
                        "{} ({})",
                        truncate(&escape(&r.route), 40),
                        thousands(r.count)
                    )
                })
                .collect();
            let fix = crate::event::CauseId::from_id(&c.cause).map_or("", |id| id.info().fix_short);
            let mut detail = String::new();
            if !routes.is_empty() {
                detail += &format!("routes {}", routes.join(", "));
                if c.routes.len() > 3 {
                    detail += &format!(" and {} more", c.routes.len() - 3);
                }
            }
            if !fix.is_empty() {
                if !detail.is_empty() {
                    detail += "; ";
                }
                detail += &format!("fix: {fix}");
            }
            if !detail.is_empty() {
                out.push(st.dim(&format!("           {detail}")));
            }
        }
        if r.causes.len() > top.max(1) {
            out.push(format!(
                "   and {} more causes",
                r.causes.len() - top.max(1)
            ));
        }
        out.push(st.dim(&format!(
            "   one mark per {}: \u{b7} none, \u{2588} the busiest of its cause",
            format_duration(f.window)
        )));
        // Upstreams over every cause, by failed attempts.
        let mut ups: Vec<(String, u64, Vec<&str>)> = Vec::new();
        for c in &r.causes {
            for u in &c.upstreams {
                match ups.iter_mut().find(|x| x.0 == u.upstream) {
                    Some(x) => {
                        x.1 += u.count;
                        x.2.push(&c.cause);
                    }
                    None => ups.push((u.upstream.clone(), u.count, vec![&c.cause])),
                }
            }
        }
        if !ups.is_empty() {
            ups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            out.push(String::new());
            out.push(st.dim(" ATTEMPTS  TOP UPSTREAMS"));
            let up_w = ups
                .iter()
                .take(top.max(1))
                .map(|u| truncate(&escape(&u.0), 60).chars().count())
                .max()
                .unwrap_or(0);
            for (u, n, causes) in ups.iter().take(top.max(1)) {
                out.push(format!(
                    " {:>8}  {:<up_w$}  {}",
                    thousands(*n),
                    truncate(&escape(u), 60),
                    causes.join(", ")
                ));
            }
        }
    }

    if !f.alerts.is_empty() {
        out.push(String::new());
        out.push(st.dim(" ALERTS"));
        let w = f
            .alerts
            .iter()
            .map(|a| a.0.chars().count())
            .max()
            .unwrap_or(0);
        for (rule, firing, count) in &f.alerts {
            let state = if *firing {
                st.red("FIRING")
            } else {
                "ok    ".to_string()
            };
            out.push(format!("   {state}  {:<w$}  {count} now", escape(rule)));
        }
        for l in &f.alert_log {
            out.push(st.dim(&format!("   {}", escape(l))));
        }
    }

    out.push(String::new());
    out.push(st.dim(" FILES"));
    let w = f
        .inputs
        .iter()
        .map(|i| escape(&i.path).chars().count())
        .max()
        .unwrap_or(0);
    for i in &f.inputs {
        let mut s = format!(
            "   {:<w$}  {} {}",
            escape(&i.path),
            thousands(i.lines),
            plural(i.lines, "line", "lines")
        );
        if i.rotations > 0 {
            s.push_str(&format!(
                ", {} {}",
                i.rotations,
                plural(i.rotations, "rotation", "rotations")
            ));
        }
        if i.lost_bytes > 0 {
            s.push_str(&format!(
                ", {}",
                st.yellow(&format!(
                    "{} {} lost (copytruncate)",
                    thousands(i.lost_bytes),
                    plural(i.lost_bytes, "byte", "bytes")
                ))
            ));
        }
        if i.open_limit_hits > 0 {
            s.push_str(&format!(
                ", {}",
                st.yellow(&format!(
                    "{} rotated {} not opened (open-file limit)",
                    thousands(i.open_limit_hits),
                    plural(i.open_limit_hits, "file", "files")
                ))
            ));
        }
        if let Some(e) = &i.error {
            s.push_str(&format!(", {}", st.yellow(&escape(e))));
        }
        out.push(s);
    }
    // What was not counted, always in view: zero says nothing was.
    let lost: u64 = f.inputs.iter().map(|i| i.lost_bytes).sum();
    let unopened: u64 = f.inputs.iter().map(|i| i.open_limit_hits).sum();
    let tally = format!(
        "   not counted: {} {} lost on disk, {} {} not opened, {} {} dropped",
        thousands(lost),
        plural(lost, "byte", "bytes"),
        thousands(unopened),
        plural(unopened, "file", "files"),
        thousands(f.dropped),
        plural(f.dropped, "frame", "frames"),
    );
    out.push(if lost + unopened + f.dropped > 0 {
        st.yellow(&tally)
    } else {
        st.dim(&tally)
    });
    if !f.last_frame {
        out.push(String::new());
        out.push(st.dim(" Ctrl-C: stop (prints a final report)"));
    }
    out
}

/// The incidents: each open one in a few lines (start, duration so far,
/// failed requests, root cause and its upstreams, echoes, who logged it),
/// each closed one in one.
fn incidents(f: &Frame<'_>, st: &Style, out: &mut Vec<String>) {
    if f.incidents.is_empty() {
        return;
    }
    let open = f.incidents.iter().filter(|i| i.1).count();
    out.push(st.dim(&format!(
        " INCIDENTS ({open} open, {} closed)",
        f.incidents.len() - open
    )));
    let hms = |iso: &str| iso.get(11..).unwrap_or(iso).to_string();
    let ups = |i: &IncidentReport, n: usize| -> String {
        let v: Vec<String> = i
            .root_cause
            .upstreams
            .iter()
            .take(n)
            .map(|u| {
                format!(
                    "{} ({})",
                    truncate(&escape(&u.upstream), 40),
                    thousands(u.count)
                )
            })
            .collect();
        let more = i.root_cause.upstreams.len().saturating_sub(n);
        match (v.is_empty(), more) {
            (true, _) => String::new(),
            (false, 0) => format!(" on {}", v.join(", ")),
            (false, m) => format!(" on {} and {m} more", v.join(", ")),
        }
    };
    for &(id, is_open, i) in &f.incidents {
        if !is_open {
            out.push(format!(
                "   #{id} closed  {} -> {} ({}), {} failed {}, {}{}",
                hms(&i.start),
                hms(&i.end),
                format_duration(i.seconds.max(0)),
                thousands(i.failed_requests),
                plural(i.failed_requests, "request", "requests"),
                i.root_cause.cause,
                ups(i, 2)
            ));
            continue;
        }
        let start = crate::parse::time::parse_user(&i.start).map_or(f.now, |t| t.0);
        let end = crate::parse::time::parse_user(&i.end).map_or(f.now, |t| t.0);
        out.push(format!(
            "   {}  since {}, {} so far (last failure {} ago), {} failed {}",
            st.red(&format!("#{id} OPEN")),
            hms(&i.start),
            format_duration(f.now.saturating_sub(start).max(0)),
            format_duration(f.now.saturating_sub(end).max(0)),
            thousands(i.failed_requests),
            plural(i.failed_requests, "request", "requests"),
        ));
        out.push(format!(
            "      root cause  {}{}",
            st.red(&i.root_cause.cause),
            ups(i, 3)
        ));
        if !i.echoes.is_empty() {
            let e: Vec<String> = i.echoes.iter().map(echo).collect();
            out.push(format!("      echoes      {}", e.join(", ")));
        }
        let logged = logged_by(&i.servers);
        if !logged.is_empty() {
            out.push(st.dim(&format!("      logged by   {}", logged.join(", "))));
        }
    }
    out.push(String::new());
}

/// A sparkline: a dot for an empty window, at most 60 columns.
fn spark(windows: &[u64]) -> String {
    if windows.is_empty() {
        return String::new();
    }
    let cols = windows.len().min(60);
    let mut b = vec![0u64; cols];
    for (i, &n) in windows.iter().enumerate() {
        let slot = &mut b[i * cols / windows.len()];
        *slot = slot.saturating_add(n);
    }
    marks(&b)
}

/// The terminal while the live screen is up: alternate screen, cursor
/// hidden; both restored when dropped (also on an error or a panic).
pub struct Terminal {
    active: bool,
}

impl Terminal {
    /// Switches to the alternate screen.
    pub fn enter(out: &mut dyn Write) -> io::Result<Terminal> {
        out.write_all(b"\x1b[?1049h\x1b[?25l")?;
        out.flush()?;
        Ok(Terminal { active: true })
    }

    /// Draws a frame over the previous one: home, each line cleared to its
    /// end, the rest of the screen cleared.
    pub fn draw(&self, lines: &[String], out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(b"\x1b[H");
        for l in lines {
            buf.extend_from_slice(l.as_bytes());
            buf.extend_from_slice(b"\x1b[K\n");
        }
        buf.extend_from_slice(b"\x1b[J");
        out.write_all(&buf)?;
        out.flush()
    }

    /// Back to the normal screen, through `out` (after what was drawn).
    pub fn leave_through(&mut self, out: &mut dyn Write) {
        if std::mem::take(&mut self.active) {
            let _ = out.write_all(b"\x1b[?25h\x1b[?1049l");
            let _ = out.flush();
        }
    }

    /// Back to the normal screen.
    pub fn leave(&mut self) {
        if std::mem::take(&mut self.active) {
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"\x1b[?25h\x1b[?1049l");
            let _ = out.flush();
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::Aggregator;

    #[test]
    fn sparkline_marks() {
        assert_eq!(spark(&[0, 1, 7, 0]), "·▂█·");
        assert_eq!(spark(&[]), "");
        assert_eq!(spark(&vec![1; 120]).chars().count(), 60);
    }

    #[test]
    fn each_cause_shows_its_top_routes_and_short_fix() {
        use crate::report::{CauseReport, Fixes, RouteCount};
        let mut r = Report::build(&Aggregator::new(60));
        let route = |route: &str, count| RouteCount {
            route: route.into(),
            count,
        };
        r.causes.push(CauseReport {
            cause: "upstream_timeout".into(),
            title: String::new(),
            status: Some(504),
            statuses: Vec::new(),
            count: 10,
            attempts: 10,
            share: 1.0,
            first_seen: None,
            last_seen: None,
            peak: None,
            timeline: Vec::new(),
            upstreams: Vec::new(),
            routes: vec![
                route("/slow", 5),
                route("/a", 2),
                route("/b", 2),
                route("/c", 1),
            ],
            example: None,
            fix: String::new(),
            fixes: Fixes::default(),
            meaning: String::new(),
            servers: Default::default(),
            lines: 10,
            config: Vec::new(),
            untimed: 0,
            client_impact: None,
        });
        r.total_failures = 10;
        let f = Frame {
            report: &r,
            span: (0, 900),
            window: 60,
            last: 900,
            marks: Vec::new(),
            inputs: Vec::new(),
            alerts: Vec::new(),
            alert_log: Vec::new(),
            incidents: Vec::new(),
            now: 0,
            since_start: 10,
            dropped: 0,
            updated: "10:00:00".into(),
            last_frame: false,
        };
        let lines = render(&f, 5, false);
        let at = lines
            .iter()
            .position(|l| l.contains("upstream_timeout"))
            .unwrap();
        assert_eq!(
            lines[at + 1],
            "           routes /slow (5), /a (2), /b (2) and 1 more; \
             fix: speed up slow routes / raise proxy_read_timeout"
        );
        assert!(
            lines.contains(&"   one mark per 1m: · none, █ the busiest of its cause".to_string()),
            "{lines:#?}"
        );
    }

    #[test]
    fn frame_escapes_log_text_and_has_no_colour_without_it() {
        let r = Report::build(&Aggregator::new(60));
        let f = Frame {
            report: &r,
            span: (0, 900),
            window: 60,
            last: 900,
            marks: Vec::new(),
            inputs: vec![InputLine {
                path: "a\x1b[31m.log".into(),
                lines: 3,
                rotations: 1,
                lost_bytes: 0,
                open_limit_hits: 0,
                error: None,
            }],
            alerts: vec![("any>1/1m".into(), true, 2)],
            alert_log: vec!["10:00:00 firing any>1/1m (2)".into()],
            incidents: Vec::new(),
            now: 0,
            since_start: 0,
            dropped: 0,
            updated: "10:00:00".into(),
            last_frame: false,
        };
        let text = render(&f, 5, false).join("\n");
        assert!(
            text.contains("a\\x1b[31m.log  3 lines, 1 rotation"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        assert!(text.contains("FIRING  any>1/1m  2 now"));
        assert!(text.contains("   10:00:00 firing any>1/1m (2)"));
        assert!(render(&f, 5, true).join("\n").contains("\x1b[1;31mFIRING"));
        assert!(text.contains(
            "   not counted: 0 bytes lost on disk, 0 files not opened, 0 frames dropped"
        ));
    }

    #[test]
    fn open_incidents_show_their_root_cause_echoes_and_servers_closed_ones_a_line() {
        let r = Report::build(&Aggregator::new(60));
        let incident = |start: &str, end: &str, n: u64| -> IncidentReport {
            serde_json::from_value(serde_json::json!({
                "start": start, "end": end, "seconds": 22,
                "peak": {"start": start, "end": end, "count": 77},
                "failed_requests": n,
                "root_cause": {"cause": "upstream_timeout", "title": "t",
                    "upstreams": [{"upstream": "http://10.0.0.1:80", "count": 4},
                                  {"upstream": "http://10.0.0.2:80\u{1b}[2J", "count": 3}],
                    "evidence": []},
                "echoes": [{"cause": "no_live_upstreams", "count": 1178}],
                "causes": [], "upstreams": [], "routes": [],
                "servers": {"nginx": n, "apache": 0, "php-fpm": 2, "kernel": 0},
                "fix": "f"
            }))
            .unwrap()
        };
        let closed = incident("2026-12-02T15:00:00", "2026-12-02T15:00:30", 40);
        let open = incident("2026-12-02T16:05:36", "2026-12-02T16:05:58", 1180);
        let now = crate::parse::time::parse_user("2026-12-02T16:06:10")
            .unwrap()
            .0;
        let f = Frame {
            report: &r,
            span: (0, 900),
            window: 60,
            last: 900,
            marks: Vec::new(),
            inputs: Vec::new(),
            alerts: Vec::new(),
            alert_log: Vec::new(),
            incidents: vec![(1, false, &closed), (2, true, &open)],
            now,
            since_start: 0,
            dropped: 0,
            updated: "16:06:10".into(),
            last_frame: false,
        };
        let lines = render(&f, 5, false);
        let at = lines
            .iter()
            .position(|l| l == " INCIDENTS (1 open, 1 closed)")
            .unwrap_or_else(|| panic!("{lines:#?}"));
        assert_eq!(
            lines[at + 1..at + 6],
            [
                "   #1 closed  15:00:00 -> 15:00:30 (22s), 40 failed requests, upstream_timeout on http://10.0.0.1:80 (4), http://10.0.0.2:80\\x1b[2J (3)",
                "   #2 OPEN  since 16:05:36, 34s so far (last failure 12s ago), 1,180 failed requests",
                "      root cause  upstream_timeout on http://10.0.0.1:80 (4), http://10.0.0.2:80\\x1b[2J (3)",
                "      echoes      no_live_upstreams (1,178)",
                "      logged by   nginx (1,180 requests), php-fpm (2 lines)",
            ]
        );
    }

    #[test]
    fn what_was_not_counted_is_shown_per_file_and_in_total() {
        let r = Report::build(&Aggregator::new(60));
        let input = |path: &str, lost_bytes, open_limit_hits| InputLine {
            path: path.into(),
            lines: 10,
            rotations: 2,
            lost_bytes,
            open_limit_hits,
            error: None,
        };
        let f = Frame {
            report: &r,
            span: (0, 900),
            window: 60,
            last: 900,
            marks: Vec::new(),
            inputs: vec![input("a.log", 1234, 0), input("b.log", 1, 3)],
            alerts: Vec::new(),
            alert_log: Vec::new(),
            incidents: Vec::new(),
            now: 0,
            since_start: 0,
            dropped: 7,
            updated: "10:00:00".into(),
            last_frame: false,
        };
        let lines = render(&f, 5, false);
        for want in [
            "   a.log  10 lines, 2 rotations, 1,234 bytes lost (copytruncate)",
            "   b.log  10 lines, 2 rotations, 1 byte lost (copytruncate), 3 rotated files not opened (open-file limit)",
            "   not counted: 1,235 bytes lost on disk, 3 files not opened, 7 frames dropped",
        ] {
            assert!(lines.contains(&want.to_string()), "{want} in {lines:#?}");
        }
        let colour = render(&f, 5, true).join("\n");
        assert!(colour.contains("\x1b[33m   not counted: 1,235"), "{colour}");
    }
}
