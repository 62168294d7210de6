//! Small text helpers shared by the text renderers.

/// `s` cut to `max` characters, ending in an ellipsis (`…`) when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `one` or `many` by `n`.
pub(crate) fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `1234567` -> `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The servers that logged something, each with how much: `nginx (80
/// requests), php-fpm (3 lines)`; a gateway's lines are failed requests,
/// another server's only lines about them.
pub(crate) fn logged_by(servers: &crate::report::ServerCounts) -> Vec<String> {
    servers
        .0
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, &n)| {
            let what = if s.is_gateway() {
                plural(n, "request", "requests")
            } else {
                plural(n, "line", "lines")
            };
            format!("{} ({} {what})", s.name(), thousands(n))
        })
        .collect()
}

/// The lines of php-fpm and the kernel in `causes`, per server: `1
/// php-fpm line and 5 kernel lines`; `None` when there are none.
pub(crate) fn explaining_lines(causes: &[crate::report::CauseReport]) -> Option<String> {
    let mut per: crate::event::PerServer<u64> = crate::event::PerServer::default();
    for c in causes {
        for (s, &n) in c.servers.0.iter().filter(|(s, _)| !s.is_gateway()) {
            per[s] = per[s].saturating_add(n.min(c.count));
        }
    }
    let parts: Vec<String> = per
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, &n)| {
            format!(
                "{} {} {}",
                thousands(n),
                s.name(),
                plural(n, "line", "lines")
            )
        })
        .collect();
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => {
            let (last, rest) = parts.split_last()?;
            Some(format!("{} and {last}", rest.join(", ")))
        }
    }
}

/// How many failed requests a cause holds, in words: `80 failed requests
/// (83 attempts with retries), 98.8% of all`; for php-fpm's and the
/// kernel's lines, that they explain failures and add none.
pub(crate) fn cause_count(c: &crate::report::CauseReport) -> String {
    let requests = c.requests();
    let explaining = c.explaining();
    let retries = if c.attempts > c.count {
        format!(" ({} attempts with retries)", thousands(c.attempts))
    } else {
        String::new()
    };
    let lines = || {
        let servers: Vec<&str> = c
            .servers
            .0
            .iter()
            .filter(|(s, n)| !s.is_gateway() && **n > 0)
            .map(|(s, _)| s.name())
            .collect();
        format!(
            "{} {} {}",
            thousands(explaining),
            servers.join("/"),
            plural(explaining, "line", "lines")
        )
    };
    if requests == 0 {
        format!(
            "{}, which {} failed requests and {} none {}",
            lines(),
            plural(explaining, "explains", "explain"),
            plural(explaining, "is", "are"),
            plural(explaining, "itself", "themselves"),
        )
    } else if explaining > 0 {
        format!(
            "{} failed {}{retries}, {:.1}% of all, and {} explaining them",
            thousands(requests),
            plural(requests, "request", "requests"),
            c.share * 100.0,
            lines()
        )
    } else {
        format!(
            "{} failed {}{retries}, {:.1}% of all",
            thousands(requests),
            plural(requests, "request", "requests"),
            c.share * 100.0
        )
    }
}

/// An incident's echo: `no_live_upstreams (178)`; members taken out of
/// their group are lines, not failed requests: `upstream_disabled (7
/// lines)`.
pub(crate) fn echo(e: &crate::report::CauseCount) -> String {
    if e.cause == crate::report::DISABLED_ECHO {
        format!(
            "{} ({} {})",
            e.cause,
            thousands(e.count),
            plural(e.count, "line", "lines")
        )
    } else {
        format!("{} ({})", e.cause, thousands(e.count))
    }
}

/// When an evidence line was logged, from its incident's start: ` (4s
/// before the start)`; nothing at the start or when not known.
pub(crate) fn offset(seconds: Option<i64>) -> String {
    match seconds {
        Some(0) | None => String::new(),
        Some(n) if n < 0 => format!(" ({}s before the start)", n.unsigned_abs()),
        Some(n) => format!(" ({n}s after the start)"),
    }
}
