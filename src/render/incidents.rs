//! The incidents at the top of the text report: one paragraph each, oldest
//! first, the newest last (next to the table that follows).

use std::io::{self, Write};

use super::words::{logged_by, plural, thousands, truncate};
use crate::bytes::escape;
use crate::report::{IncidentReport, Report};

/// Bold, red and dim, or plain.
pub(crate) struct Paint {
    /// ANSI colours on.
    pub(crate) on: bool,
}

impl Paint {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Writes the incidents, or the one line saying there are none (when
/// there were failures at all); each paragraph is followed by a blank line.
pub(crate) fn render(r: &Report, top: usize, st: &Paint, out: &mut dyn Write) -> io::Result<()> {
    if r.causes.is_empty() {
        return Ok(());
    }
    if r.incidents.is_empty() {
        writeln!(
            out,
            "No incident: failures never rose well above this log's own baseline."
        )?;
        return writeln!(out);
    }
    for (i, inc) in r.incidents.iter().enumerate() {
        paragraph(i + 1, inc, top, st, out)?;
        if let Some(q) = r.quiet.get(i) {
            writeln!(
                out,
                "   {:<11}{} until the next incident, {} failed {} in between",
                "quiet",
                duration(q.seconds),
                thousands(q.failed_requests),
                plural(q.failed_requests, "request", "requests"),
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn paragraph(
    n: usize,
    inc: &IncidentReport,
    top: usize,
    st: &Paint,
    out: &mut dyn Write,
) -> io::Result<()> {
    let end = if inc.start.get(..10) == inc.end.get(..10) {
        inc.end.get(11..).unwrap_or(&inc.end).to_string()
    } else {
        inc.end.replace('T', " ")
    };
    let what: Vec<String> = inc
        .upstreams
        .iter()
        .take(top.max(1))
        .map(|u| escape(&u.upstream).into_owned())
        .collect();
    let on = if what.is_empty() {
        String::new()
    } else {
        format!(" on {}", what.join(", "))
    };
    writeln!(
        out,
        "{}",
        st.bold(&format!(
            "Incident {n}: {} -> {end} ({}), {} failed {}{on}",
            inc.start.replace('T', " "),
            duration(inc.seconds),
            thousands(inc.failed_requests),
            plural(inc.failed_requests, "request", "requests"),
        ))
    )?;
    let rc = &inc.root_cause;
    let root_on = list(
        &rc.upstreams
            .iter()
            .map(|u| (u.upstream.clone(), u.count))
            .collect::<Vec<_>>(),
        top,
    );
    writeln!(
        out,
        "   {:<11}{}: {}{}",
        "root cause",
        st.red(&rc.cause),
        rc.title,
        if root_on.is_empty() {
            String::new()
        } else {
            format!(", on {root_on}")
        }
    )?;
    if let Some(d) = &rc.detail {
        writeln!(out, "   {:<11}{}", "", escape(d))?;
    }
    if let Some(d) = &inc.deploy {
        writeln!(
            out,
            "   {:<11}started {} after a {} at {} ({}:{})",
            "deploy",
            duration(d.seconds_before),
            d.kind,
            d.at.get(11..).unwrap_or(&d.at),
            escape(&d.file),
            d.line
        )?;
    }
    for (k, e) in rc.evidence.iter().enumerate() {
        let label = if k == 0 { "evidence" } else { "" };
        let when = super::words::offset(e.offset_seconds);
        writeln!(out, "   {:<11}{}:{}{when}", label, escape(&e.file), e.line)?;
        writeln!(
            out,
            "              {}",
            st.dim(&truncate(&escape(&e.text), 300))
        )?;
    }
    if !inc.echoes.is_empty() {
        let echoes: Vec<String> = inc.echoes.iter().map(super::words::echo).collect();
        writeln!(
            out,
            "   {:<11}{}, which follow from the root cause",
            "echoes",
            echoes.join(", ")
        )?;
    }
    let others: Vec<String> = inc
        .causes
        .iter()
        .filter(|c| c.cause != rc.cause && !inc.echoes.iter().any(|e| e.cause == c.cause))
        .map(|c| format!("{} ({})", c.cause, thousands(c.count)))
        .collect();
    if !others.is_empty() {
        writeln!(out, "   {:<11}{}", "seen as", others.join(", "))?;
    }
    let routes = list(
        &inc.routes
            .iter()
            .map(|r| (r.route.clone(), r.count))
            .collect::<Vec<_>>(),
        top,
    );
    writeln!(
        out,
        "   {:<11}{} failed {}, peak {} in {}s at {}{}",
        "impact",
        thousands(inc.failed_requests),
        plural(inc.failed_requests, "request", "requests"),
        thousands(inc.peak.count),
        seconds_between(&inc.peak.start, &inc.peak.end),
        inc.peak.start.get(11..).unwrap_or(&inc.peak.start),
        if routes.is_empty() {
            String::new()
        } else {
            format!("; routes {routes}")
        }
    )?;
    let logged = logged_by(&inc.servers);
    if logged.len() > 1 {
        writeln!(out, "   {:<11}{}", "logged by", logged.join(", "))?;
    }
    writeln!(out, "   {:<11}{}", "fix", inc.fix)
}

/// `a (3), b (1), +2 more`.
fn list(items: &[(String, u64)], top: usize) -> String {
    let mut s: Vec<String> = items
        .iter()
        .take(top.max(1))
        .map(|(k, n)| format!("{} ({})", escape(k), thousands(*n)))
        .collect();
    if items.len() > top.max(1) {
        s.push(format!("+{} more", items.len() - top.max(1)));
    }
    s.join(", ")
}

/// `1m05s`, `3s`.
pub(crate) fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Seconds from one ISO time to another.
pub(crate) fn seconds_between(a: &str, b: &str) -> i64 {
    match (
        crate::parse::time::iso(a.as_bytes()),
        crate::parse::time::iso(b.as_bytes()),
    ) {
        (Some(a), Some(b)) => b.0.saturating_sub(a.0),
        _ => 0,
    }
}
