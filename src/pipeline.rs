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

fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "unexpected end of file (truncated?)".to_string(),
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
            format!("corrupt data: {e}")
        }
        _ => e.to_string(),
    }
}
