//! Prometheus metrics: counters since follow started, served in the text
//! exposition format (0.0.4, written by `prometheus-client`) at `/metrics`.
//!
//! Label values are escaped as the format asks (`\\`, `\"`, `\n`), after
//! control and bidi characters from logs are shown escaped as in the text
//! report, and the upstream label is bounded: past [`MAX_UPSTREAM_LABELS`]
//! distinct upstreams, further ones are counted as `(other)`, as the report
//! does.
//!
//! The server is hyper's HTTP/1 server on a current-thread tokio runtime,
//! one thread whatever the number of clients. It bounds what a client can
//! make it hold: [`MAX_CONNECTIONS`] at once (more are closed at once),
//! a request head of [`MAX_HEAD`] bytes (`431` past it), [`HEAD_TIMEOUT`]
//! to send it and [`CONNECTION_TIMEOUT`] per connection. When accepting
//! fails (the limit on open files reached), it is counted, said on stderr
//! (at most once a minute, and its end once), and tried again after a
//! pause growing to a second: `/metrics` answers again as soon as
//! descriptors are free.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

use crate::event::CauseId;

/// Most distinct values of the `upstream` label.
pub const MAX_UPSTREAM_LABELS: usize = 256;

/// Label for failures without an upstream.
pub const NO_UPSTREAM: &str = "(none)";

/// Most distinct values of the `route` label of
/// `upcause_client_responses_total`: the first routes seen (normalized, as
/// the report gives them) keep theirs, later ones are counted as
/// `(other)`, so that a counter never moves from one series to another.
pub const MAX_ROUTE_LABELS: usize = 100;

/// Most series of `upcause_client_responses_total`; past it, a new
/// combination is counted under `route="(other)",upstream="(other)"` with
/// its status.
pub const MAX_CLIENT_SERIES: usize = 2000;

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
    /// Connections to the metrics server closed at once: it had as many
    /// as it serves.
    pub connections_refused: u64,
    /// Failures to accept a connection (the limit on open files reached).
    pub accept_errors: u64,
    /// Per upstream that was in an incident: whether one is open on it.
    incident_open: BTreeMap<String, bool>,
    /// Incidents opened since the start.
    incidents: u64,
    /// Access-log responses by (status, route, upstream).
    clients: BTreeMap<(u16, String, String), u64>,
    client_routes: HashSet<String>,
    client_upstreams: HashSet<String>,
}

/// `value` if it is in `set` or there is room for it (then added),
/// `(other)` otherwise.
fn bounded(set: &mut HashSet<String>, value: &str, max: usize) -> String {
    if set.contains(value) {
        value.to_string()
    } else if set.len() < max {
        set.insert(value.to_string());
        value.to_string()
    } else {
        "(other)".to_string()
    }
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

    /// The incidents: how many opened since the start, and the upstreams
    /// of those open now (the others that were in one are 0). Past
    /// [`MAX_UPSTREAM_LABELS`] upstreams, further ones show as `(other)`.
    pub fn set_incidents<'s>(&mut self, opened: u64, open: impl Iterator<Item = &'s str>) {
        self.incidents = opened;
        for v in self.incident_open.values_mut() {
            *v = false;
        }
        for u in open {
            let full = self.incident_open.len() >= MAX_UPSTREAM_LABELS;
            match self.incident_open.get_mut(u) {
                Some(v) => *v = true,
                None if full => {
                    self.incident_open.insert("(other)".to_string(), true);
                }
                None => {
                    self.incident_open.insert(u.to_string(), true);
                }
            }
        }
    }

    /// Counts `n` access-log responses with `status` on a route (its
    /// normalized text) from an upstream (the last attempt's address),
    /// `(none)` for either when the line has none; bounded by
    /// [`MAX_ROUTE_LABELS`], [`MAX_UPSTREAM_LABELS`] and
    /// [`MAX_CLIENT_SERIES`].
    pub fn add_client(&mut self, status: u16, route: Option<&str>, upstream: Option<&str>, n: u64) {
        let route = match route {
            Some(r) => bounded(&mut self.client_routes, r, MAX_ROUTE_LABELS),
            None => NO_UPSTREAM.to_string(),
        };
        let upstream = match upstream {
            Some(u) => bounded(&mut self.client_upstreams, u, MAX_UPSTREAM_LABELS),
            None => NO_UPSTREAM.to_string(),
        };
        let mut key = (status, route, upstream);
        if !self.clients.contains_key(&key) && self.clients.len() >= MAX_CLIENT_SERIES {
            key = (status, "(other)".to_string(), "(other)".to_string());
        }
        *self.clients.entry(key).or_default() += n;
    }

    /// The values a scrape shows, to be encoded without holding a lock.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot(Metrics {
            requests: self.requests.clone(),
            failures: self.failures.clone(),
            labels: HashSet::new(),
            files: self.files.clone(),
            alerts: self.alerts.clone(),
            output_dropped: self.output_dropped,
            connections_refused: self.connections_refused,
            accept_errors: self.accept_errors,
            incident_open: self.incident_open.clone(),
            incidents: self.incidents,
            clients: self.clients.clone(),
            client_routes: HashSet::new(),
            client_upstreams: HashSet::new(),
        })
    }
}

/// One scrape's copy of the values, encoded by `prometheus-client`.
#[derive(Debug)]
pub struct Snapshot(Metrics);

impl Snapshot {
    fn encode_into(self, out: &mut String) -> std::fmt::Result {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        prometheus_text::encode(out, &registry)
    }

    /// The text exposition format (Prometheus 0.0.4).
    pub fn render(self) -> String {
        let mut out = String::with_capacity(4096);
        let _ = self.encode_into(&mut out);
        out
    }
}

/// A counter sample (labels given with the family).
fn counter(m: &mut MetricEncoder<'_>, n: u64) -> std::fmt::Result {
    m.encode_counter::<NoLabelSet, u64, u64>(&n, None)
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
        let m = &self.0;
        let ids: Vec<&str> = CauseId::all().map(|c| c.info().id).collect();
        {
            let mut family = enc.encode_descriptor(
                "upcause_failures",
                "Failed attempts towards upstreams by cause and upstream (a request retried on another server counts once per server).",
                None,
                MetricType::Counter,
            )?;
            for ((cause, upstream), n) in &m.failures {
                let labels = [
                    ("cause", Cow::Borrowed(ids[*cause])),
                    ("upstream", crate::bytes::escape(upstream)),
                ];
                counter(&mut family.encode_family(&labels)?, *n)?;
            }
        }
        {
            let mut family = enc.encode_descriptor(
                "upcause_failed_requests",
                "Failed requests by cause (as the report counts them).",
                None,
                MetricType::Counter,
            )?;
            for (cause, n) in m.requests.iter().enumerate() {
                counter(&mut family.encode_family(&[("cause", ids[cause])])?, *n)?;
            }
        }
        if !m.clients.is_empty() {
            let mut family = enc.encode_descriptor(
                "upcause_client_responses",
                "Responses clients got, from the access logs, by status, route (normalized) and upstream (the last attempt's address).",
                None,
                MetricType::Counter,
            )?;
            for ((status, route, upstream), n) in &m.clients {
                let labels = [
                    ("status", Cow::Owned(status.to_string())),
                    ("route", crate::bytes::escape(route)),
                    ("upstream", crate::bytes::escape(upstream)),
                ];
                counter(&mut family.encode_family(&labels)?, *n)?;
            }
        }
        type Value = fn(&FileMetrics) -> u64;
        let per_file: [(&str, &str, Value); 5] = [
            ("upcause_lines", "Physical lines read.", |f| f.lines),
            (
                "upcause_unrecognized_lines",
                "Lines in no known format.",
                |f| f.unrecognized,
            ),
            (
                "upcause_rotations",
                "Rotations seen (rename, copytruncate, delete and recreate).",
                |f| f.rotations,
            ),
            (
                "upcause_lost_bytes_estimate",
                "Bytes that were on disk but could not be read (on copytruncate: written between the copy and the truncation).",
                |f| f.lost_bytes,
            ),
            (
                "upcause_open_limit_reached",
                "Files that could not be opened because the limit on open files was reached.",
                |f| f.open_limit_hits,
            ),
        ];
        for (name, help, value) in per_file {
            let mut family = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            for f in &m.files {
                let labels = [("file", crate::bytes::escape(&f.path))];
                counter(&mut family.encode_family(&labels)?, value(f))?;
            }
        }
        let totals: [(&str, &str, u64); 4] = [
            (
                "upcause_incidents",
                "Incidents opened (failures well above the rolling baseline; see --baseline).",
                m.incidents,
            ),
            (
                "upcause_output_dropped",
                "Output dropped because stdout was not read fast enough (JSON lines; screen or text frames).",
                m.output_dropped,
            ),
            (
                "upcause_metrics_connections_refused",
                "Connections to the metrics server closed unanswered because it already had as many as it serves at once.",
                m.connections_refused,
            ),
            (
                "upcause_metrics_accept_errors",
                "Connections to the metrics server that could not be accepted (the limit on open files reached, ...).",
                m.accept_errors,
            ),
        ];
        for (name, help, n) in totals {
            counter(
                &mut enc.encode_descriptor(name, help, None, MetricType::Counter)?,
                n,
            )?;
        }
        {
            let mut family = enc.encode_descriptor(
                "upcause_open_files",
                "Files open now (the followed file and rotated ones still read).",
                None,
                MetricType::Gauge,
            )?;
            for f in &m.files {
                let labels = [("file", crate::bytes::escape(&f.path))];
                family.encode_family(&labels)?.encode_gauge(&f.open_files)?;
            }
        }
        if !m.alerts.is_empty() {
            let mut family = enc.encode_descriptor(
                "upcause_alert_firing",
                "1 while the --alert rule holds.",
                None,
                MetricType::Gauge,
            )?;
            for (rule, firing) in &m.alerts {
                let labels = [("alert", crate::bytes::escape(rule))];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&u64::from(*firing))?;
            }
        }
        if !m.incident_open.is_empty() {
            let mut family = enc.encode_descriptor(
                "upcause_incident_open",
                "1 while an incident is open on the upstream (0 once it closed).",
                None,
                MetricType::Gauge,
            )?;
            for (upstream, open) in &m.incident_open {
                let labels = [("upstream", crate::bytes::escape(upstream))];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&u64::from(*open))?;
            }
        }
        Ok(())
    }
}

/// Connections served at once; more are closed at once (and counted).
pub const MAX_CONNECTIONS: usize = 128;

/// Largest request head (and read buffer) of a connection: a longer head
/// is answered `431 Request Header Fields Too Large` and the connection
/// closed.
pub const MAX_HEAD: usize = 16 * 1024;

/// Time a client has to send a whole request head (slowloris).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest life of one connection, keep-alive included.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest wait before accepting again after accepting failed.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Least time between two messages about failing to accept.
const SAY_EVERY: Duration = Duration::from_secs(60);

/// The metrics server: hyper's HTTP/1 server on a current-thread tokio
/// runtime in a thread of its own.
pub struct Server {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds exactly `addr` and serves `metrics` at `/metrics`.
    pub fn start(addr: SocketAddr, metrics: Arc<Mutex<Metrics>>) -> io::Result<Server> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, metrics, stopped).await,
                        Err(e) => crate::error::print_error(&format!(
                            "--metrics {addr}: cannot listen: {}",
                            crate::error::describe_io(&e)
                        )),
                    }
                });
            })?;
        Ok(Server {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Accepts until told to stop. A failure to accept (the limit on open
/// files reached) is said once, counted, and waited out with a growing
/// pause; accepting resumes when it works again.
async fn serve(
    listener: TcpListener,
    metrics: Arc<Mutex<Metrics>>,
    mut stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD);
    let http = Arc::new(http);
    // Failing now; when it was last said (and whether its end was).
    let mut failing = false;
    let mut said: Option<Instant> = None;
    let mut end_said = true;
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                count(&metrics, |m| m.accept_errors += 1);
                if !failing && said.is_none_or(|t| t.elapsed() >= SAY_EVERY) {
                    crate::error::print_error(&format!(
                        "--metrics: cannot accept connections: {}; trying again (counted in upcause_metrics_accept_errors_total)",
                        crate::error::describe_io(&e)
                    ));
                    said = Some(Instant::now());
                    end_said = false;
                }
                failing = true;
                tokio::select! {
                    _ = &mut stopped => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if failing {
            if !end_said {
                crate::error::print_error(&"--metrics: accepting connections again");
                end_said = true;
            }
            failing = false;
            backoff = Duration::from_millis(10);
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            count(&metrics, |m| m.connections_refused += 1);
            drop(stream);
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let http = Arc::clone(&http);
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(req, Arc::clone(&metrics)));
            let conn = http.serve_connection(TokioIo::new(stream), service);
            // Errors are the client's (a head too long, gone away, timed
            // out); hyper has answered what could be answered.
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
            drop(slot);
        });
    }
}

/// Adds to the server's own counters.
fn count(metrics: &Mutex<Metrics>, add: impl FnOnce(&mut Metrics)) {
    add(&mut metrics.lock().unwrap_or_else(PoisonError::into_inner));
}

/// `GET /metrics` (or `HEAD`); 405 for other methods, 404 elsewhere.
async fn answer(
    req: Request<Incoming>,
    metrics: Arc<Mutex<Metrics>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let (status, body) = match (get, req.uri().path()) {
        (true, "/metrics") => {
            let snapshot = metrics
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .snapshot();
            (StatusCode::OK, snapshot.render())
        }
        (false, _) => (StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_string()),
        _ => (
            StatusCode::NOT_FOUND,
            "not found; metrics are at /metrics\n".to_string(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
    );
    Ok(resp)
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
        m.files[0].open_files = 1;
        m.alerts = vec![("any>1/1m".into(), true)];
        let text = m.snapshot().render();
        // The Prometheus text format, as it was written by hand before:
        // HELP and TYPE with the sample's full name, no `# EOF`.
        assert!(text.starts_with(
            "# HELP upcause_failures_total Failed attempts towards upstreams by cause and upstream \
             (a request retried on another server counts once per server).\n\
             # TYPE upcause_failures_total counter\n\
             upcause_failures_total{cause=\"upstream_refused\",upstream=\"http://10.0.0.1:80\"} 2\n"
        ), "{text}");
        assert!(text.ends_with(
            "# HELP upcause_open_files Files open now (the followed file and rotated ones still read).\n\
             # TYPE upcause_open_files gauge\n\
             upcause_open_files{file=\"/var/log/a \\\"b\\\".log\"} 1\n\
             # HELP upcause_alert_firing 1 while the --alert rule holds.\n\
             # TYPE upcause_alert_firing gauge\n\
             upcause_alert_firing{alert=\"any>1/1m\"} 1\n"
        ), "{text}");
        assert!(text.contains("upcause_incidents_total 0\n"), "{text}");
        // An incident open on an upstream, then closed: 1, then 0.
        m.set_incidents(1, ["http://10.0.0.1:80", "pool"].into_iter());
        let text = m.snapshot().render();
        assert!(text.contains("upcause_incidents_total 1\n"), "{text}");
        assert!(text.ends_with(
            "# HELP upcause_incident_open 1 while an incident is open on the upstream (0 once it closed).\n\
             # TYPE upcause_incident_open gauge\n\
             upcause_incident_open{upstream=\"http://10.0.0.1:80\"} 1\n\
             upcause_incident_open{upstream=\"pool\"} 1\n"
        ), "{text}");
        m.set_incidents(1, std::iter::empty());
        let text = m.snapshot().render();
        assert!(
            text.contains("upcause_incident_open{upstream=\"pool\"} 0\n"),
            "{text}"
        );
        // Client responses: routes past the cap are `(other)`, and so is
        // every new combination past the series cap.
        for r in 0..MAX_ROUTE_LABELS + 5 {
            m.add_client(502, Some(&format!("/r{r}")), Some("10.0.0.1:80"), 1);
        }
        m.add_client(200, None, None, 3);
        let text = m.snapshot().render();
        assert!(text.contains(
            "upcause_client_responses_total{status=\"502\",route=\"(other)\",upstream=\"10.0.0.1:80\"} 5\n"
        ));
        assert!(text.contains(
            "upcause_client_responses_total{status=\"200\",route=\"(none)\",upstream=\"(none)\"} 3\n"
        ));
        for r in 0..MAX_ROUTE_LABELS {
            for u in 0..30 {
                m.add_client(500, Some(&format!("/r{r}")), Some(&format!("u{u}")), 1);
            }
        }
        assert_eq!(m.clients.len(), MAX_CLIENT_SERIES + 1);
        let folded = (500, "(other)".to_string(), "(other)".to_string());
        assert_eq!(
            m.clients[&folded] as usize,
            MAX_ROUTE_LABELS * 30 - (MAX_CLIENT_SERIES - (MAX_ROUTE_LABELS + 2))
        );
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
        let text = m.snapshot().render();
        assert!(text.contains("upstream=\"(other)\"} 12\n"), "{text}");
    }
}
