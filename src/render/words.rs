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
