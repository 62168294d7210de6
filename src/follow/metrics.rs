//! Prometheus metrics: counters since follow started, served as the text
//! exposition format at `/metrics` by a small HTTP server thread.
//!
//! Label values are escaped as the format asks (`\\`, `\"`, `\n`) and the
//! upstream label is bounded: past [`MAX_UPSTREAM_LABELS`] distinct
//! upstreams, further ones are counted as `(other)`, as the report does.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::event::CauseId;

/// Most distinct values of the `upstream` label.
pub const MAX_UPSTREAM_LABELS: usize = 256;

/// Label for failures without an upstream.
pub const NO_UPSTREAM: &str = "(none)";

/// Counters of one followed file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileMetrics {
    /// As given on the command line.
    pub path: String,
    /// Physical lines read.
    pub lines: u64,
    /// Lines in no known format.
    pub unrecognized: u64,
    /// Rotations seen.
    pub rotations: u64,
    /// Bytes on disk that could not be read (copytruncate's race).
    pub lost_bytes: u64,
    /// Files that could not be opened for want of file descriptors.
    pub open_limit_hits: u64,
    /// Files open now (the current one and rotated ones still read).
    pub open_files: u64,
}

/// Everything exposed.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Vec<u64>,
    failures: BTreeMap<(usize, String), u64>,
    labels: HashSet<String>,
    /// Per followed file.
    pub files: Vec<FileMetrics>,
    /// Alert rules and whether they hold.
    pub alerts: Vec<(String, bool)>,
    /// Output dropped because stdout was not read fast enough.
    pub output_dropped: u64,
}

impl Metrics {
    /// Zero counters for these files.
    pub fn new(files: Vec<String>) -> Metrics {
        Metrics {
            requests: vec![0; CauseId::all().count()],
            files: files
                .into_iter()
                .map(|path| FileMetrics {
                    path,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Counts failed requests of a cause.
    pub fn add_requests(&mut self, cause: usize, n: u64) {
        if let Some(c) = self.requests.get_mut(cause) {
            *c += n;
        }
    }

    /// Counts failed attempts of a cause on an upstream ([`NO_UPSTREAM`]
    /// when none is known).
    pub fn add_failures(&mut self, cause: usize, upstream: &str, n: u64) {
        let label = if self.labels.contains(upstream) {
            upstream
        } else if self.labels.len() < MAX_UPSTREAM_LABELS {
            self.labels.insert(upstream.to_string());
            upstream
        } else {
            "(other)"
        };
        *self.failures.entry((cause, label.to_string())).or_default() += n;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let ids: Vec<&str> = CauseId::all().map(|c| c.info().id).collect();
        header(
            &mut out,
            "upcause_failures_total",
            "Failed attempts towards upstreams by cause and upstream (a request retried on another server counts once per server).",
        );
        for ((cause, upstream), n) in &self.failures {
            let _ = writeln!(
                out,
                "upcause_failures_total{{cause=\"{}\",upstream=\"{}\"}} {n}",
                ids[*cause],
                escape_label(upstream)
            );
        }
        header(
            &mut out,
            "upcause_failed_requests_total",
            "Failed requests by cause (as the report counts them).",
        );
        for (cause, n) in self.requests.iter().enumerate() {
            let _ = writeln!(
                out,
                "upcause_failed_requests_total{{cause=\"{}\"}} {n}",
                ids[cause]
            );
        }
        type Value = fn(&FileMetrics) -> u64;
        let per_file: [(&str, &str, Value); 5] = [
            ("upcause_lines_total", "Physical lines read.", |f| f.lines),
            (
                "upcause_unrecognized_lines_total",
                "Lines in no known format.",
                |f| f.unrecognized,
            ),
            (
                "upcause_rotations_total",
                "Rotations seen (rename, copytruncate, delete and recreate).",
                |f| f.rotations,
            ),
            (
                "upcause_lost_bytes_estimate_total",
                "Bytes that were on disk but could not be read (on copytruncate: written between the copy and the truncation).",
                |f| f.lost_bytes,
            ),
            (
                "upcause_open_limit_reached_total",
                "Files that could not be opened because the limit on open files was reached.",
                |f| f.open_limit_hits,
            ),
        ];
        for (name, help, value) in per_file {
            header(&mut out, name, help);
            for f in &self.files {
                let _ = writeln!(
                    out,
                    "{name}{{file=\"{}\"}} {}",
                    escape_label(&f.path),
                    value(f)
                );
            }
        }
        header(
            &mut out,
            "upcause_output_dropped_total",
            "Output dropped because stdout was not read fast enough (JSON lines; screen or text frames).",
        );
        let _ = writeln!(out, "upcause_output_dropped_total {}", self.output_dropped);
        let _ = writeln!(
            out,
            "# HELP upcause_open_files Files open now (the followed file and rotated ones still read).\n# TYPE upcause_open_files gauge"
        );
        for f in &self.files {
            let _ = writeln!(
                out,
                "upcause_open_files{{file=\"{}\"}} {}",
                escape_label(&f.path),
                f.open_files
            );
        }
        if !self.alerts.is_empty() {
            let _ = writeln!(
                out,
                "# HELP upcause_alert_firing 1 while the --alert rule holds.\n# TYPE upcause_alert_firing gauge"
            );
            for (rule, firing) in &self.alerts {
                let _ = writeln!(
                    out,
                    "upcause_alert_firing{{alert=\"{}\"}} {}",
                    escape_label(rule),
                    u8::from(*firing)
                );
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
}

/// A label value as the exposition format wants it.
pub fn escape_label(s: &str) -> String {
    // Control and bidi characters from logs are shown escaped first (as in
    // the text report), so a scraped page read in a terminal stays safe.
    let safe = crate::bytes::escape(s);
    let mut out = String::with_capacity(safe.len());
    for c in safe.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The HTTP server thread.
pub struct Server {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds exactly `addr` and serves `metrics` at `/metrics`.
    pub fn start(addr: SocketAddr, metrics: Arc<Mutex<Metrics>>) -> std::io::Result<Server> {
        let server = tiny_http::Server::http(addr)
            .map(Arc::new)
            .map_err(std::io::Error::other)?;
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for req in serving.incoming_requests() {
                    let path = req.url().split('?').next().unwrap_or("");
                    let get = matches!(
                        req.method(),
                        tiny_http::Method::Get | tiny_http::Method::Head
                    );
                    let (status, body) = match (get, path) {
                        (true, "/metrics") => {
                            (200, metrics.lock().map(|m| m.render()).unwrap_or_default())
                        }
                        (false, _) => (405, "only GET\n".to_string()),
                        _ => (404, "not found; metrics are at /metrics\n".to_string()),
                    };
                    let content_type = tiny_http::Header::from_bytes(
                        &b"Content-Type"[..],
                        &b"text/plain; version=0.0.4; charset=utf-8"[..],
                    );
                    let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
                    if let Ok(h) = content_type {
                        resp = resp.with_header(h);
                    }
                    let _ = req.respond(resp);
                }
            })?;
        Ok(Server {
            server,
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_is_escaped_and_bounded() {
        let mut m = Metrics::new(vec!["/var/log/a \"b\".log".into()]);
        let refused = CauseId::from_id("upstream_refused").unwrap().0 as usize;
        m.add_requests(refused, 2);
        m.add_failures(refused, "http://10.0.0.1:80", 2);
        m.add_failures(refused, "x\\y\"z\nw", 1);
        m.files[0].lines = 7;
        m.files[0].rotations = 1;
        let text = m.render();
        assert!(text.contains(
            "upcause_failures_total{cause=\"upstream_refused\",upstream=\"http://10.0.0.1:80\"} 2\n"
        ));
        // The newline is shown escaped (`\x0a`), then the backslash is
        // escaped for the exposition format.
        assert!(
            text.contains("upstream=\"x\\\\y\\\"z\\\\x0aw\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("upcause_failed_requests_total{cause=\"upstream_refused\"} 2\n"));
        assert!(text.contains("upcause_failed_requests_total{cause=\"upstream_timeout\"} 0\n"));
        assert!(text.contains("upcause_lines_total{file=\"/var/log/a \\\"b\\\".log\"} 7\n"));
        assert!(text.contains("upcause_rotations_total{file=\"/var/log/a \\\"b\\\".log\"} 1\n"));
        assert!(text.contains("# TYPE upcause_failures_total counter\n"));
        assert!(text.contains("# HELP upcause_rotations_total "));
        // Every sample line is a name, labels and a number.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(l.rsplit(' ').next().unwrap().parse::<u64>().is_ok(), "{l}");
        }
        for i in 0..(MAX_UPSTREAM_LABELS + 10) {
            m.add_failures(refused, &format!("u{i}"), 1);
        }
        let text = m.render();
        assert!(text.contains("upstream=\"(other)\"} 12\n"), "{text}");
    }
}
