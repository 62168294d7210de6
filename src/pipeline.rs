//! One input through the stages: lines -> parse -> classify -> correlate ->
//! filter -> aggregate.
//!
//! This is the per-line hot loop. A line that is not an upstream failure
//! costs a prefix parse and the catalog's literal prefilter, with no
//! allocation. nginx FastCGI stderr records that span several physical
//! lines (PHP stack traces) are the one case where bytes are copied: the
//! record is joined in a reused buffer until its last line arrives.

use std::io::Read;

use memchr::memmem;

use crate::aggregate::{Aggregator, FileStats, LineStats};
use crate::catalog::{Catalog, CauseId};
use crate::correlate::{Correlator, Event, Failure};
use crate::lines::{Line, LineReader};
use crate::parse::{self, Format, LocalTime, ParseState};

/// Longest multi-line record kept (nginx itself stops at 2048 bytes).
const MAX_RECORD: usize = 64 * 1024;

/// Which failures to count.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Failures at or after this time.
    pub since: Option<LocalTime>,
    /// Failures before this time.
    pub until: Option<LocalTime>,
    /// Only these causes (all when empty).
    pub causes: Vec<CauseId>,
    /// Only upstreams containing this text.
    pub upstream: Option<String>,
}

impl Filters {
    /// True when the failure passes every filter. Failures without a time
    /// pass the time filters (they cannot be placed).
    pub fn keep(&self, f: &Failure<'_>) -> bool {
        if !self.causes.is_empty() && !self.causes.contains(&f.cause) {
            return false;
        }
        if let Some(t) = f.time {
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        if let Some(want) = &self.upstream {
            let Some(up) = f.upstream.as_deref() else {
                return false;
            };
            if memmem::find(up, want.as_bytes()).is_none() {
                return false;
            }
        }
        true
    }
}

/// Runs inputs into an aggregator.
pub struct Pipeline<'a> {
    catalog: &'a Catalog,
    filters: &'a Filters,
    default_year: i32,
}

/// A multi-line record being joined.
struct OpenRecord {
    buf: Vec<u8>,
    line: u64,
    physical: u32,
    open: bool,
}

impl<'a> Pipeline<'a> {
    /// A pipeline; `default_year` completes syslog stamps without a year.
    pub fn new(catalog: &'a Catalog, filters: &'a Filters, default_year: i32) -> Self {
        Pipeline {
            catalog,
            filters,
            default_year,
        }
    }

    /// Reads one input to its end (or its first read error) into `agg`.
    pub fn run<R: Read>(&self, name: String, reader: R, agg: &mut Aggregator) {
        let file = agg.files.len() as u32;
        agg.files.push(FileStats {
            path: name,
            lines: LineStats::default(),
            error: None,
        });
        let mut stats = LineStats::default();
        let mut state = ParseState::new(self.default_year);
        let mut correlator = Correlator::new();
        let mut record = OpenRecord {
            buf: Vec::new(),
            line: 0,
            physical: 0,
            open: false,
        };
        let mut lines = LineReader::new(reader);
        let mut error = None;
        loop {
            let line_no = lines.line_no() + 1;
            let line = match lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            };
            stats.total += 1;
            let text = match line {
                Line::Oversized(_) => {
                    stats.oversized += 1;
                    continue;
                }
                Line::Text(t) => t,
            };
            let head = parse::parse_head(text, &mut state);
            if record.open {
                if head.is_none() {
                    stats.continuation += 1;
                    record.physical += 1;
                    if record.buf.len() + text.len() < MAX_RECORD {
                        record.buf.push(b'\n');
                        record.buf.extend_from_slice(text);
                    }
                    if closes_record(text) {
                        self.finish_record(
                            &mut record,
                            file,
                            &mut state,
                            &mut correlator,
                            &mut stats,
                            agg,
                        );
                    }
                    continue;
                }
                self.finish_record(
                    &mut record,
                    file,
                    &mut state,
                    &mut correlator,
                    &mut stats,
                    agg,
                );
            }
            let Some(head) = head else {
                if text.iter().all(u8::is_ascii_whitespace) {
                    stats.blank += 1;
                } else {
                    stats.unrecognized += 1;
                    agg.unrecognized_line(file, line_no, text);
                }
                continue;
            };
            stats.by_server[head.format.server().index()] += 1;
            if head.format == Format::Nginx && opens_record(head.body) {
                record.buf.clear();
                record.buf.extend_from_slice(text);
                record.line = line_no;
                record.physical = 1;
                record.open = true;
                continue;
            }
            self.classify(
                &head,
                file,
                line_no,
                1,
                text,
                &mut correlator,
                &mut stats,
                agg,
            );
        }
        if record.open {
            self.finish_record(
                &mut record,
                file,
                &mut state,
                &mut correlator,
                &mut stats,
                agg,
            );
        }
        let filters = self.filters;
        correlator.flush(&mut |f| count(filters, &f, &mut stats, agg));
        let entry = &mut agg.files[file as usize];
        entry.lines = stats;
        entry.error = error.map(|e| describe(&e));
    }

    fn finish_record(
        &self,
        record: &mut OpenRecord,
        file: u32,
        state: &mut ParseState,
        correlator: &mut Correlator,
        stats: &mut LineStats,
        agg: &mut Aggregator,
    ) {
        record.open = false;
        let buf = std::mem::take(&mut record.buf);
        if let Some(head) = parse::parse_head(&buf, state) {
            self.classify(
                &head,
                file,
                record.line,
                record.physical,
                &buf,
                correlator,
                stats,
                agg,
            );
        }
        record.buf = buf;
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn classify(
        &self,
        head: &parse::Head<'_>,
        file: u32,
        line: u64,
        physical: u32,
        text: &[u8],
        correlator: &mut Correlator,
        stats: &mut LineStats,
        agg: &mut Aggregator,
    ) {
        let Some(class) = self.catalog.classify(head) else {
            return;
        };
        let ev = Event {
            class,
            server: head.format.server(),
            time: head.time,
            pid: head.pid,
            tid: head.tid,
            cid: head.cid,
            file,
            line,
            lines: physical,
            text,
        };
        let filters = self.filters;
        correlator.push(ev, &mut |f| count(filters, &f, stats, agg));
    }
}

fn count(filters: &Filters, f: &Failure<'_>, stats: &mut LineStats, agg: &mut Aggregator) {
    if filters.keep(f) {
        stats.matched += f.lines as u64;
        agg.add(f);
    }
}

/// An nginx FastCGI stderr record whose payload goes on over the next
/// physical lines: it has not reached its closing `" while ...` yet.
fn opens_record(body: &[u8]) -> bool {
    body.starts_with(b"FastCGI sent in stderr: \"")
        && memmem::find(body, b"\" while ").is_none()
        && memmem::find(body, b", client: ").is_none()
}

/// The last physical line of a multi-line record: the payload's closing
/// quote and the context follow.
fn closes_record(line: &[u8]) -> bool {
    memmem::find(line, b"\" while ").is_some() || memmem::find(line, b", client: ").is_some()
}

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "unexpected end of file (truncated?)".to_string(),
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
            format!("corrupt data: {e}")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (cause, count, attempts, upstreams, routes) of one cause.
    type Row = (String, u64, u64, Vec<String>, Vec<String>);

    /// Runs `log` through the pipeline: a row per cause with failures, and
    /// the line stats.
    fn run(log: &str) -> (Vec<Row>, LineStats) {
        let catalog = Catalog::new();
        let filters = Filters::default();
        let mut agg = Aggregator::new(60);
        Pipeline::new(&catalog, &filters, 2026).run("t".into(), log.as_bytes(), &mut agg);
        let report = crate::report::Report::build(&agg);
        let causes = report
            .causes
            .iter()
            .map(|c| {
                (
                    c.cause.clone(),
                    c.count,
                    c.attempts,
                    c.upstreams
                        .iter()
                        .map(|u| format!("{}={}", u.upstream, u.count))
                        .collect(),
                    c.routes
                        .iter()
                        .map(|r| format!("{}={}", r.route, r.count))
                        .collect(),
                )
            })
            .collect();
        (causes, agg.files[0].lines.clone())
    }

    // Hand-written edge cases in the exact shapes Apache 2.4 writes.
    #[test]
    fn apache_connect_failure_is_one_request() {
        let log = "\
[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:18081 (127.0.0.1:18081) failed
[Sat Nov 21 10:00:00.000002 2026] [proxy:error] [pid 10:tid 20] AH00959: ap_proxy_connect_backend disabling worker for (127.0.0.1:18081) for 60s
[Sat Nov 21 10:00:00.000003 2026] [proxy_http:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH01114: HTTP: failed to make connection to backend: 127.0.0.1
[Sat Nov 21 10:00:00.000004 2026] [proxy:error] [pid 10:tid 21] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:18081 (127.0.0.1:18081) failed
[Sat Nov 21 10:00:00.000005 2026] [proxy_http:error] [pid 10:tid 21] [client 127.0.0.1:5001] AH01114: HTTP: failed to make connection to backend: 127.0.0.1
";
        let (causes, stats) = run(log);
        assert_eq!(
            causes,
            vec![(
                "upstream_refused".into(),
                2,
                2,
                vec!["http://127.0.0.1:18081=2".into()],
                vec![]
            )]
        );
        assert_eq!(stats.matched, 5);
    }

    #[test]
    fn apache_timeout_takes_cause_and_route_from_two_lines() {
        let log = "\
[Sat Nov 21 10:00:01.000001 2026] [proxy_http:error] [pid 10:tid 20] (70007)The timeout specified has expired: [client 127.0.0.1:5000] AH01102: error reading status line from remote server 127.0.0.1:18082
[Sat Nov 21 10:00:01.000002 2026] [proxy:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH00898: Error reading from remote server returned by /api/users/42
";
        let (causes, _) = run(log);
        assert_eq!(
            causes,
            vec![(
                "upstream_timeout".into(),
                1,
                1,
                vec!["http://127.0.0.1:18082=1".into()],
                vec!["/api/users/:id=1".into()]
            )]
        );
    }

    #[test]
    fn apache_standalone_lines_on_one_thread_stay_separate() {
        let log = "\
[Sat Nov 21 10:00:00.1 2026] [proxy:error] [pid 10:tid 20] AH00940: HTTP: disabled connection for (127.0.0.1:18081)
[Sat Nov 21 10:00:00.2 2026] [proxy:error] [pid 10:tid 20] AH00940: HTTP: disabled connection for (127.0.0.1:18081)
[Sat Nov 21 10:00:09.2 2026] [proxy:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH00898: DNS lookup failure for: nosuch.invalid returned by /x
";
        let (causes, _) = run(log);
        let got: Vec<(String, u64)> = causes.iter().map(|c| (c.0.clone(), c.1)).collect();
        assert_eq!(
            got,
            [
                ("no_live_upstreams".to_string(), 2),
                ("dns_resolution".to_string(), 1)
            ]
        );
    }

    #[test]
    fn nginx_retries_are_attempts_of_one_request() {
        let log = r#"2026/11/20 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.1:80/a", host: "h"
2026/11/20 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.2:80/a", host: "h"
2026/11/20 10:00:00 [error] 7#7: *1 no live upstreams while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://backend/a", host: "h"
2026/11/20 10:00:05 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.1:80/a", host: "h"
2026/11/20 10:00:05 [error] 7#7: *2 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.2:80/a", host: "h"
"#;
        let (causes, _) = run(log);
        let got: Vec<(String, u64, u64)> = causes.iter().map(|c| (c.0.clone(), c.1, c.2)).collect();
        // Request 1 (two servers), request 2 on the same keepalive
        // connection, request 3 on another connection.
        assert_eq!(
            got,
            [
                ("upstream_refused".to_string(), 3, 4),
                ("no_live_upstreams".to_string(), 1, 1)
            ]
        );
    }

    #[test]
    fn fastcgi_stderr_over_several_lines_is_one_record() {
        let log = "2026/11/20 10:00:00 [error] 7#7: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: boom in /var/www/f.php:3
Stack trace:
#0 {main}
  thrown in /var/www/f.php on line 3\" while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /f.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"h\"
garbage after
";
        let (causes, stats) = run(log);
        assert_eq!(
            causes,
            vec![(
                "fastcgi_script".into(),
                1,
                1,
                vec!["unix:/run/php/php8.2-fpm.sock=1".into()],
                vec!["/f.php=1".into()]
            )]
        );
        assert_eq!(
            (
                stats.total,
                stats.continuation,
                stats.matched,
                stats.unrecognized
            ),
            (5, 3, 4, 1)
        );
    }

    #[test]
    fn filters_apply_to_failures() {
        let log = r#"2026/11/20 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.1:80/a", host: "h"
2026/11/20 11:00:00 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://10.0.0.2:80/a", host: "h"
"#;
        let catalog = Catalog::new();
        let filters = Filters {
            since: crate::parse::time::parse_user("2026-11-20 10:30"),
            ..Default::default()
        };
        let mut agg = Aggregator::new(60);
        Pipeline::new(&catalog, &filters, 2026).run("t".into(), log.as_bytes(), &mut agg);
        assert_eq!(agg.total_failures(), 1);
        let filters = Filters {
            upstream: Some("10.0.0.1".into()),
            ..Default::default()
        };
        let mut agg = Aggregator::new(60);
        Pipeline::new(&catalog, &filters, 2026).run("t".into(), log.as_bytes(), &mut agg);
        let r = crate::report::Report::build(&agg);
        assert_eq!(r.causes.len(), 1);
        assert_eq!(r.causes[0].cause, "upstream_refused");
        assert_eq!(r.lines.matched, 1);
    }
}
