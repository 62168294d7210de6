//! `upcause follow`: `tail -F` that understands 502 causes.
//!
//! ```text
//! tail (per path; rotation)  -> complete lines
//!   -> feed: Scanner -> Sequencer (per path, kept) -> ingest Aggregator
//!   -> rolling window (log time) | alerts | metrics
//!   -> live: the incidents stage on the ingest's cells of the rolling past
//!      -> incident_open / incident_update / incident_close
//!   -> every --interval: a report (live screen, or one JSON object a line)
//! ```
//!
//! One thread does the reading and reporting; the metrics server has its
//! own, and so has the output queue. The loop polls the files when a
//! change in their directories wakes it ([`watch`]: inotify where it
//! exists) and at least every second; where the directories cannot be
//! watched, every 100 ms ([`POLL`]). Polling stays the ground truth:
//! rotation and files that do not exist yet need a `stat` of the path
//! anyway, and it sees what no event tells (NFS, a rotated file moved to
//! another directory). Idle, a poll is four system calls per file.

pub mod alert;
pub mod feed;
pub mod live;
pub mod metrics;
pub mod queue;
pub mod rolling;
pub mod screen;
pub mod state;
pub mod tail;
pub mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Local;
use serde::Serialize;

use crate::aggregate::{Aggregator, window};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::event::CauseId;
use crate::event::LocalTime;
use crate::exit::ExitCode;
use crate::order::Filters;
use crate::report::Report;

use alert::{Alerts, Rule, Transition};
use feed::Feeder;
use live::{IncidentEvent, Live};
use metrics::Metrics;
use screen::{Frame, InputLine, Terminal};
use tail::Tail;
use watch::{Wake, Watch};

pub use watch::POLL;

/// Bytes read per file per poll before the others get their turn.
const BUDGET: u64 = 8 << 20;

/// How reports are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Redrawn in place on a terminal.
    Screen,
    /// Text frames one after the other (`--format text` off a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

/// `follow`'s command line, validated.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The files.
    pub paths: Vec<PathBuf>,
    /// Read them from their start.
    pub from_start: bool,
    /// Output.
    pub mode: Mode,
    /// Between reports.
    pub interval: Duration,
    /// How long a rotated-away file is read after it stops growing.
    pub close_inactive: Duration,
    /// Where reading positions are kept across runs.
    pub state: Option<PathBuf>,
    /// Span of the rolling report, in seconds.
    pub last: i64,
    /// Bucket of the rolling report, in seconds.
    pub window: i64,
    /// Alert rules.
    pub rules: Vec<Rule>,
    /// Where to serve metrics.
    pub metrics: Option<SocketAddr>,
    /// Which failures count.
    pub filters: Filters,
    /// Items per list on the screen.
    pub top: usize,
    /// Colours on the screen.
    pub color: bool,
    /// Year for syslog stamps without one.
    pub default_year: i32,
    /// When the machine booted, for the kernel log's uptime stamps.
    pub boot_time: Option<LocalTime>,
    /// How access-log lines are read (`--access-format`).
    pub access: crate::parse::access::AccessFormats,
    /// Seconds of log time without a failure that close an incident.
    pub incident_quiet: i64,
    /// Seconds of log time the incidents' baseline spans.
    pub baseline: i64,
    /// The servers' configuration given with `--config`.
    pub server_config: crate::serverconf::ServerConfig,
    /// Which files' times are shifted (`--tz-offset`).
    pub shifts: crate::input::clock::Shifts,
}

/// Bounds of a time range.
#[derive(Debug, Clone, Serialize)]
pub struct Bounds {
    /// Start (ISO 8601, local time, no zone).
    pub start: String,
    /// End (exclusive).
    pub end: String,
}

/// Counts since follow started.
#[derive(Debug, Clone, Serialize)]
pub struct SinceStart {
    /// Failed requests over all causes (as in `analyze`, php-fpm's and
    /// the kernel's lines are not counted: they explain failures).
    pub total_failures: u64,
    /// Failed requests per cause id, lines for php-fpm's and the kernel's
    /// causes (causes with none left out).
    pub causes: BTreeMap<String, u64>,
}

/// An alert rule's state in a report.
#[derive(Debug, Clone, Serialize)]
pub struct AlertState {
    /// The rule as written.
    pub alert: String,
    /// Whether it holds.
    pub firing: bool,
    /// Failed requests in its window now.
    pub count: u64,
}

/// One rolling report: the `analyze` report of the span, plus where it
/// stands in time.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport<'a> {
    /// The report of the failures in `span` (lines and files: since start).
    #[serde(flatten)]
    pub report: &'a Report,
    /// True for the report printed on Ctrl-C / SIGTERM.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The reporting interval, wall clock.
    pub interval: Bounds,
    /// The log time the causes cover.
    pub span: Bounds,
    /// `--last`.
    pub last: String,
    /// `--last` in seconds.
    pub last_seconds: i64,
    /// Counts since follow started.
    pub since_start: SinceStart,
    /// Rotations seen per file.
    pub rotations: BTreeMap<String, u64>,
    /// Lines of output dropped since the start because stdout was not
    /// read fast enough (reports and alert lines: the files are read on).
    pub dropped_lines: u64,
    /// Per file, bytes that were on disk but could not be read: on
    /// copytruncate, those written between the copy and the truncation.
    pub lost_bytes_estimate: BTreeMap<String, u64>,
    /// Every alert rule.
    pub alerts: Vec<AlertState>,
    /// Ids of the incidents open now (`incidents` holds them, and the
    /// closed ones that ended in the span).
    pub open_incidents: Vec<u64>,
}

/// An alert transition on stdout (JSON mode).
#[derive(Serialize)]
struct AlertLine<'a> {
    #[serde(flatten)]
    t: &'a Transition,
    /// Wall clock.
    time: String,
}

/// An incident event on stdout (JSON mode).
#[derive(Serialize)]
struct IncidentLine<'a> {
    #[serde(flatten)]
    e: &'a IncidentEvent,
    /// Wall clock.
    time: String,
}

/// Local wall-clock time on the log's scale.
fn wall_now() -> i64 {
    LocalTime::from_naive(Local::now().naive_local()).0
}

fn wall_iso() -> String {
    LocalTime(wall_now()).iso()
}

/// Runs `follow` until Ctrl-C or SIGTERM.
pub fn run(cfg: FollowConfig) -> Result<ExitCode> {
    let names: Vec<String> = cfg.paths.iter().map(|p| p.display().to_string()).collect();
    let metrics = Arc::new(Mutex::new(Metrics::new(names.clone())));
    if let Ok(mut m) = metrics.lock() {
        m.alerts = cfg.rules.iter().map(|r| (r.text.clone(), false)).collect();
    }
    let (wake_tx, wake_rx) = channel::<Wake>();
    let stop_tx = wake_tx.clone();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(Wake::Stop);
    })
    .map_err(|e| Error::Usage(format!("cannot handle Ctrl-C / SIGTERM: {e}")))?;

    let catalog = Catalog::new();
    let saved = match &cfg.state {
        Some(p) => state::load(p).unwrap_or_else(|e| {
            crate::error::print_error(&format!(
                "--state {}: cannot be read ({}); starting afresh",
                p.display(),
                crate::error::describe_io(&e)
            ));
            None
        }),
        None => None,
    };
    let started = Instant::now();
    let mut tails: Vec<Tail> = cfg
        .paths
        .iter()
        .zip(&names)
        .map(|(p, name)| {
            let mut t = match saved.as_ref().and_then(|s| s.files.get(name)) {
                Some(s) => Tail::resume(p.clone(), s, started),
                None => Tail::new(p.clone(), cfg.from_start),
            };
            t.close_inactive = cfg.close_inactive;
            t
        })
        .collect();
    let mut keeper = StateKeeper::new(cfg.state.clone());
    // Watched before the files are first read: nothing falls between.
    let watch = Watch::start(&cfg.paths, wake_tx);
    // Once /metrics answers, every file is open and positioned.
    let _server = match cfg.metrics {
        Some(addr) => Some(
            metrics::Server::start(addr, Arc::clone(&metrics)).map_err(|e| {
                Error::Usage(format!(
                    "--metrics {addr}: cannot listen: {}",
                    crate::error::describe_io(&e)
                ))
            })?,
        ),
        None => None,
    };
    let mut feeder = Feeder::new(
        &catalog,
        &cfg.filters,
        cfg.default_year,
        cfg.boot_time,
        cfg.access.clone(),
        &names,
        cfg.window,
        cfg.last,
        Alerts::new(cfg.rules.clone()),
        Live::new(cfg.incident_quiet, cfg.baseline, cfg.interval),
        cfg.metrics.is_some().then(|| Arc::clone(&metrics)),
    )
    .with_readings(readings(&cfg));
    let mut out = Output::new(&cfg)?;
    if let Some(e) = &watch.error
        && out.mode != Mode::Screen
    {
        crate::error::print_error(&format!("{e}; polling every {} ms", POLL.as_millis()));
    }

    let mut interval_start = wall_iso();
    // The live screen shows at once; JSON reports come once per interval.
    let mut next_report = match cfg.mode {
        Mode::Screen => Instant::now(),
        _ => Instant::now() + cfg.interval,
    };
    loop {
        let at = Instant::now();
        let wall = wall_now();
        watch.polling_now();
        let more = poll_all(&mut tails, &mut feeder, at, wall);
        for (t, name) in tails.iter_mut().zip(&names) {
            if let Some(e) = t.untold_error()
                && out.mode != Mode::Screen
            {
                crate::error::print_error(&format!("{name}: {e}"));
            }
        }
        let changed = feeder.tick(at, wall);
        out.incidents(&changed.incidents)?;
        out.alerts(&changed.alerts)?;
        publish(&metrics, &feeder, &tails, out.out.dropped);
        keeper.keep(&tails, &names, at, false);
        if at >= next_report || (!changed.is_empty() && out.mode == Mode::Screen) {
            let end = wall_iso();
            out.report(
                &cfg,
                &mut feeder,
                &tails,
                &names,
                (&interval_start, &end),
                false,
            )?;
            if at >= next_report {
                interval_start = end;
                next_report += cfg.interval;
                if next_report <= at {
                    next_report = at + cfg.interval;
                }
            }
        }
        let wait = if more {
            Duration::ZERO
        } else {
            watch
                .interval()
                .min(next_report.saturating_duration_since(Instant::now()))
        };
        match wake_rx.recv_timeout(wait) {
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(Wake::Files) | Err(RecvTimeoutError::Timeout) => {}
        }
    }

    // What was appended up to the signal, then whatever is still being
    // joined, then the final report.
    let at = Instant::now();
    let wall = wall_now();
    for _ in 0..64 {
        if !poll_all(&mut tails, &mut feeder, at, wall) {
            break;
        }
    }
    feeder.finish(at, wall);
    keeper.keep(&tails, &names, at, true);
    let changed = feeder.tick(at, wall);
    out.incidents(&changed.incidents)?;
    out.alerts(&changed.alerts)?;
    out.incidents(&feeder.close_incidents(at, wall))?;
    publish(&metrics, &feeder, &tails, out.out.dropped);
    out.leave_screen();
    let end = wall_iso();
    out.report(
        &cfg,
        &mut feeder,
        &tails,
        &names,
        (&interval_start, &end),
        true,
    )?;
    out.out.finish();
    for t in &mut tails {
        t.close();
    }
    Ok(ExitCode::Success)
}

/// Time between writes of the state file, at least.
const STATE_EVERY: Duration = Duration::from_secs(1);

/// Writes the state file when reading moved on, at most every
/// [`STATE_EVERY`]; a failure to write is told once (until it works again).
struct StateKeeper {
    path: Option<PathBuf>,
    last: Option<state::State>,
    next: Instant,
    failing: bool,
}

impl StateKeeper {
    fn new(path: Option<PathBuf>) -> StateKeeper {
        StateKeeper {
            path,
            last: None,
            next: Instant::now(),
            failing: false,
        }
    }

    /// Saves the state if it changed and it is time (`now` for the last).
    fn keep(&mut self, tails: &[Tail], names: &[String], at: Instant, last: bool) {
        let Some(path) = &self.path else { return };
        if !last && at < self.next {
            return;
        }
        let s = state::State::new(
            names
                .iter()
                .zip(tails)
                .map(|(n, t)| (n.clone(), t.state()))
                .collect(),
        );
        if self.last.as_ref() == Some(&s) {
            return;
        }
        self.next = at + STATE_EVERY;
        match state::save(path, &s) {
            Ok(()) => {
                self.last = Some(s);
                self.failing = false;
            }
            Err(e) => {
                if !self.failing {
                    crate::error::print_error(&format!(
                        "--state {}: cannot be written: {}",
                        path.display(),
                        crate::error::describe_io(&e)
                    ));
                }
                self.failing = true;
            }
        }
    }
}

/// Polls every file once; true when one has more to read at once.
fn poll_all(tails: &mut [Tail], feeder: &mut Feeder<'_>, at: Instant, wall: i64) -> bool {
    let mut more = false;
    for (i, t) in tails.iter_mut().enumerate() {
        let p = t.poll(BUDGET, at, &mut |piece| feeder.feed(i, piece, at, wall));
        more |= p.more;
    }
    more
}

/// Copies the per-file counters and alert states into the metrics.
fn publish(metrics: &Mutex<Metrics>, feeder: &Feeder<'_>, tails: &[Tail], dropped: u64) {
    let Ok(mut m) = metrics.lock() else { return };
    m.output_dropped = dropped;
    for (i, (f, t)) in m.files.iter_mut().zip(tails).enumerate() {
        let s = feeder.line_stats(i);
        f.lines = s.total;
        f.unrecognized = s.unrecognized;
        f.rotations = t.rotations;
        f.lost_bytes = t.lost_bytes_estimate;
        f.open_limit_hits = t.open_limit_hits;
        f.open_files = t.open_files() as u64;
    }
    m.alerts = feeder
        .alerts
        .states()
        .map(|(r, firing, _)| (r.to_string(), firing))
        .collect();
    m.set_incidents(feeder.live.opened, feeder.live.open_upstreams());
}

/// The rolling report now.
fn build(feeder: &mut Feeder<'_>, tails: &[Tail], window: i64, now: i64) -> Report {
    let mut agg = Aggregator::new(window);
    agg.causes = feeder.rolling.merged(now);
    agg.files = feeder.ingest.files.clone();
    for (i, (f, t)) in agg.files.iter_mut().zip(tails).enumerate() {
        f.lines = feeder.line_stats(i);
        f.error = if t.is_open() { None } else { t.error.clone() };
    }
    agg.unrecognized = feeder.ingest.unrecognized.clone();
    // The keys are the ingest aggregator's; lend them for the build.
    agg.upstreams = std::mem::take(&mut feeder.ingest.upstreams);
    agg.routes = std::mem::take(&mut feeder.ingest.routes);
    let report = Report::build(&agg);
    feeder.ingest.upstreams = std::mem::take(&mut agg.upstreams);
    feeder.ingest.routes = std::mem::take(&mut agg.routes);
    report
}

/// Where reports and alerts go.
struct Output {
    mode: Mode,
    color: bool,
    top: usize,
    out: queue::Queue,
    terminal: Option<Terminal>,
    /// The latest alert transitions, for the screen.
    alert_log: VecDeque<String>,
}

/// Alert transitions kept for the screen.
const ALERT_LOG: usize = 5;

impl Output {
    fn new(cfg: &FollowConfig) -> Result<Output> {
        let mut out =
            queue::Queue::new(io::stdout(), cfg.mode == Mode::Json).map_err(Error::Output)?;
        let terminal = match cfg.mode {
            Mode::Screen => Some(Terminal::enter(&mut out).map_err(Error::Output)?),
            _ => None,
        };
        Ok(Output {
            mode: cfg.mode,
            color: cfg.color,
            top: cfg.top,
            out,
            terminal,
            alert_log: VecDeque::new(),
        })
    }

    fn leave_screen(&mut self) {
        self.out.wait_for_room();
        let _ = self.out.flush();
        if let Some(mut t) = self.terminal.take() {
            t.leave_through(&mut self.out);
        }
    }

    /// Incident events: JSON objects on stdout in JSON mode; otherwise
    /// openings and closings as lines on stderr (the screen shows the
    /// rest).
    fn incidents(&mut self, events: &[IncidentEvent]) -> Result<()> {
        for e in events {
            if self.mode == Mode::Json {
                let line = IncidentLine {
                    e,
                    time: wall_iso(),
                };
                serde_json::to_writer(&mut self.out, &line)
                    .map_err(io::Error::from)
                    .and_then(|()| self.out.write_all(b"\n"))
                    .map_err(Error::Output)?;
                continue;
            }
            let i = &e.incident;
            let root = alert::AlertRoot::of(e.id, i);
            let echoes: Vec<String> = i
                .echoes
                .iter()
                .map(|c| format!("{} {}", c.cause, c.count))
                .collect();
            let echoes = if echoes.is_empty() {
                String::new()
            } else {
                format!("; echoes: {}", echoes.join(", "))
            };
            let line = match e.event {
                "incident_open" => format!(
                    "incident {} open: {} since {} ({} failed so far{echoes})",
                    e.id,
                    root.words(),
                    i.start,
                    i.failed_requests
                ),
                "incident_close" => format!(
                    "incident {} closed: {}, {} -> {} ({}, {} failed requests{echoes})",
                    e.id,
                    root.words(),
                    i.start,
                    i.end,
                    window::format_duration(i.seconds),
                    i.failed_requests
                ),
                _ => continue,
            };
            eprintln!("upcause: {}", crate::bytes::escape(&line));
            let wall = wall_iso();
            self.alert_log
                .push_back(format!("{} {}", wall.get(11..).unwrap_or(&wall), line));
            if self.alert_log.len() > ALERT_LOG {
                self.alert_log.pop_front();
            }
        }
        if !events.is_empty() {
            self.out.flush().map_err(Error::Output)?;
        }
        Ok(())
    }

    /// Alert transitions: JSON objects on stdout in JSON mode, lines on
    /// stderr otherwise.
    fn alerts(&mut self, changed: &[Transition]) -> Result<()> {
        for t in changed {
            if self.mode == Mode::Json {
                let line = AlertLine {
                    t,
                    time: wall_iso(),
                };
                serde_json::to_writer(&mut self.out, &line)
                    .map_err(io::Error::from)
                    .and_then(|()| self.out.write_all(b"\n"))
                    .map_err(Error::Output)?;
            } else {
                let root = t
                    .root_cause
                    .as_ref()
                    .map(|r| {
                        format!(
                            "; root cause {} (incident {} since {})",
                            crate::bytes::escape(&r.words()),
                            r.incident,
                            r.since
                        )
                    })
                    .unwrap_or_default();
                eprintln!(
                    "upcause: alert {}: {} ({} in the last {}, log time {}){root}",
                    t.state, t.alert, t.count, t.window, t.at
                );
                let wall = wall_iso();
                self.alert_log.push_back(format!(
                    "{} {} {} ({})",
                    wall.get(11..).unwrap_or(&wall),
                    t.state,
                    t.alert,
                    t.count
                ));
                if self.alert_log.len() > ALERT_LOG {
                    self.alert_log.pop_front();
                }
            }
        }
        if !changed.is_empty() {
            self.out.flush().map_err(Error::Output)?;
        }
        Ok(())
    }

    fn report(
        &mut self,
        cfg: &FollowConfig,
        feeder: &mut Feeder<'_>,
        tails: &[Tail],
        names: &[String],
        interval: (&str, &str),
        is_final: bool,
    ) -> Result<()> {
        let now = feeder.clock.now(Instant::now(), wall_now());
        let (s, e) = feeder.rolling.span(now);
        let mut report = build(feeder, tails, cfg.window, now)
            .with_filters(&cfg.filters)
            .with_server_config(&cfg.server_config);
        // The incidents open, and those closed that ended in the span.
        report.incidents = feeder
            .live
            .all()
            .filter(|t| t.open || t.end >= s)
            .map(|t| t.report.clone())
            .collect();
        let since_start = feeder.requests;
        let res = match self.mode {
            Mode::Json => {
                let live = LiveReport {
                    report: &report,
                    is_final,
                    interval: Bounds {
                        start: interval.0.to_string(),
                        end: interval.1.to_string(),
                    },
                    span: Bounds {
                        start: LocalTime(s).iso(),
                        end: LocalTime(e).iso(),
                    },
                    last: window::format_duration(cfg.last),
                    last_seconds: cfg.last,
                    since_start: SinceStart {
                        total_failures: since_start,
                        causes: CauseId::all()
                            .zip(&feeder.totals)
                            .filter(|(_, n)| **n > 0)
                            .map(|(c, n)| (c.info().id.to_string(), *n))
                            .collect(),
                    },
                    rotations: names
                        .iter()
                        .zip(tails)
                        .map(|(n, t)| (n.clone(), t.rotations))
                        .collect(),
                    dropped_lines: self.out.dropped,
                    lost_bytes_estimate: names
                        .iter()
                        .zip(tails)
                        .map(|(n, t)| (n.clone(), t.lost_bytes_estimate))
                        .collect(),
                    alerts: feeder
                        .alerts
                        .states()
                        .map(|(r, firing, count)| AlertState {
                            alert: r.to_string(),
                            firing,
                            count,
                        })
                        .collect(),
                    open_incidents: feeder.live.open.iter().map(|t| t.id).collect(),
                };
                serde_json::to_writer(&mut self.out, &live)
                    .map_err(io::Error::from)
                    .and_then(|()| self.out.write_all(b"\n"))
                    .and_then(|()| self.out.flush())
            }
            Mode::Screen | Mode::Text => {
                let merged = feeder.rolling.merged(now);
                let marks = CauseId::all()
                    .zip(&merged)
                    .filter(|(_, c)| c.count > 0)
                    .map(|(id, c)| (id.info().id.to_string(), feeder.rolling.marks_of(c, now)))
                    .collect();
                let frame = Frame {
                    report: &report,
                    span: (s, e),
                    window: cfg.window,
                    last: cfg.last,
                    marks,
                    inputs: names
                        .iter()
                        .zip(tails)
                        .enumerate()
                        .map(|(i, (n, t))| InputLine {
                            path: n.clone(),
                            lines: feeder.line_stats(i).total,
                            rotations: t.rotations,
                            lost_bytes: t.lost_bytes_estimate,
                            open_limit_hits: t.open_limit_hits,
                            error: if t.is_open() { None } else { t.error.clone() },
                        })
                        .collect(),
                    alerts: feeder
                        .alerts
                        .states()
                        .map(|(r, f, n)| (r.to_string(), f, n))
                        .collect(),
                    alert_log: self.alert_log.iter().cloned().collect(),
                    incidents: feeder
                        .live
                        .all()
                        .map(|t| (t.id, t.open, &t.report))
                        .collect(),
                    now,
                    since_start,
                    dropped: self.out.dropped,
                    updated: interval.1.get(11..).unwrap_or(interval.1).to_string(),
                    last_frame: is_final,
                };
                let lines = screen::render(&frame, self.top, self.color);
                match &self.terminal {
                    Some(t) => t.draw(&lines, &mut self.out),
                    None => {
                        let mut text = lines.join("\n");
                        text.push_str("\n\n");
                        self.out
                            .write_all(text.as_bytes())
                            .and_then(|()| self.out.flush())
                    }
                }
            }
        };
        res.map_err(Error::Output)
    }
}

/// How each followed path is read: its `--tz-offset`, and the access
/// format the `--config` gives for it (unless `--access-format` gives one
/// for every input).
fn readings(cfg: &FollowConfig) -> Vec<crate::scan::InputReading> {
    let logs = if cfg.access.given.is_none() {
        crate::serverconf::access::access_logs(&cfg.server_config)
    } else {
        Vec::new()
    };
    cfg.paths
        .iter()
        .map(|p| crate::scan::InputReading {
            shift: cfg.shifts.rule_for_path(p).map_or(0, |r| r.seconds),
            access: crate::serverconf::access::log_for(&logs, p).map(|l| l.plan.clone()),
        })
        .collect()
}
