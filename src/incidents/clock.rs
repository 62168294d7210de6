//! Logs whose clocks disagree: a php-fpm or kernel log whose lines line up
//! with the web server's incidents only once shifted by whole hours or
//! half hours, as when php-fpm (or the kernel, or a container) logs UTC
//! and nginx local time.
//!
//! Times without a zone are compared as written, and nothing is shifted
//! unless `--tz-offset` says so: a guess that moved a log's lines would
//! change incidents and root causes behind the reader's back. What is
//! found here is only said, with the `--tz-offset` that would line the
//! logs up, and only when the evidence is unambiguous:
//!
//! - a line of the other log *explains* an incident when it falls from
//!   [`FPM_BEFORE`] seconds before the incident's first failure to its
//!   last, as the incidents stage takes it (php-fpm lines only for
//!   incidents on FastCGI upstreams, kernel lines for any);
//! - as written, none of the other log's lines explains any incident;
//! - shifted by one offset (a multiple of 30 minutes, from -12:00 to
//!   +14:00), at least half of them do, and no other offset explains as
//!   many.
//!
//! Each line is one cell of the other log (a cause in a 10-second
//! window), so a burst of lines counts once. The cost is the offsets
//! tried (53) times the other logs' cells times the incidents.

use super::{FPM_BEFORE, Incident, is_fastcgi, upstream_names};
use crate::aggregate::cells::Cells;
use crate::event::Server;
use crate::keys::Interner;

/// Offsets tried: every half hour from -12:00 to +14:00.
const STEP: i64 = 1800;
const LOWEST: i64 = -12 * 3600;
const HIGHEST: i64 = 14 * 3600;

/// A log whose clock looks shifted against the web server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skew {
    /// The input whose times look shifted (php-fpm's, the kernel's).
    pub file: u32,
    /// The web server's log whose incidents its lines explain once
    /// shifted.
    pub against: u32,
    /// Seconds to add to `file`'s times.
    pub seconds: i64,
    /// Its lines (cells) that explain an incident once shifted.
    pub matched: u64,
    /// Its lines (cells) that could explain one.
    pub lines: u64,
}

/// The logs whose lines explain the incidents only once shifted.
pub fn skews(incidents: &[Incident], cells: &Cells, upstreams: &Interner) -> Vec<Skew> {
    let windows = cells.windows();
    // The web servers' incidents: their span and whether FastCGI upstreams
    // failed in them.
    let spans: Vec<(i64, i64, bool)> = incidents
        .iter()
        .filter(|i| i.failed_requests > 0)
        .map(|i| {
            let fastcgi = upstream_names(&i.upstreams, upstreams)
                .iter()
                .any(|u| is_fastcgi(u));
            (i.start.0.saturating_sub(FPM_BEFORE), i.end.0, fastcgi)
        })
        .collect();
    if spans.is_empty() {
        return Vec::new();
    }
    // The web server's file that logged the most failures in the spans.
    let mut web_files: Vec<(u32, u64)> = Vec::new();
    // The other logs' cells, by file: (time, php-fpm or not).
    let mut others: Vec<(u32, Vec<(i64, bool)>)> = Vec::new();
    for (_, cs) in &windows {
        for c in cs.iter() {
            match c.key.server {
                Server::PhpFpm | Server::Kernel => {
                    let fpm = c.key.server == Server::PhpFpm;
                    match others.iter_mut().find(|(f, _)| *f == c.line.file) {
                        Some((_, v)) => v.push((c.first.0, fpm)),
                        None => others.push((c.line.file, vec![(c.first.0, fpm)])),
                    }
                }
                _ if spans
                    .iter()
                    .any(|&(s, e, _)| c.first.0 >= s && c.first.0 <= e) =>
                {
                    match web_files.iter_mut().find(|(f, _)| *f == c.line.file) {
                        Some((_, n)) => *n += c.count,
                        None => web_files.push((c.line.file, c.count)),
                    }
                }
                _ => {}
            }
        }
    }
    let Some(&(against, _)) = web_files.iter().max_by_key(|&&(f, n)| (n, u32::MAX - f)) else {
        return Vec::new();
    };
    let explains = |t: i64, fpm: bool| {
        spans
            .iter()
            .any(|&(s, e, fcgi)| (fcgi || !fpm) && t >= s && t <= e)
    };
    let mut out = Vec::new();
    for (file, lines) in others {
        // Lines that could explain an incident at all.
        let lines: Vec<(i64, bool)> = lines
            .into_iter()
            .filter(|&(_, fpm)| !fpm || spans.iter().any(|s| s.2))
            .collect();
        if lines.is_empty() || file == against {
            continue;
        }
        let matched = |shift: i64| {
            lines
                .iter()
                .filter(|&&(t, fpm)| explains(t.saturating_add(shift), fpm))
                .count() as u64
        };
        if matched(0) > 0 {
            continue;
        }
        let scores: Vec<(i64, u64)> = (LOWEST / STEP..=HIGHEST / STEP)
            .map(|k| k * STEP)
            .filter(|&s| s != 0)
            .map(|s| (s, matched(s)))
            .collect();
        let Some(&(seconds, best)) = scores.iter().max_by_key(|&&(s, n)| (n, -s.abs())) else {
            continue;
        };
        let n = lines.len() as u64;
        let unique = scores.iter().filter(|&&(_, m)| m == best).count() == 1;
        if best > 0 && best * 2 >= n && unique {
            out.push(Skew {
                file,
                against,
                seconds,
                matched: best,
                lines: n,
            });
        }
    }
    out
}
