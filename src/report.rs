//! The report: ranked causes with their evidence, as plain data.
//!
//! Built once from an [`Aggregator`] and then only rendered (text, JSON) or
//! judged; nothing here formats for a terminal. Its serde form is the JSON
//! contract documented in the README, so field names here are stable API.
//! Everything taken from a log is converted to UTF-8 lossily here, once.

pub mod clients;

use serde::{Deserialize, Serialize};

use crate::aggregate::cells::{CELL_ROUTES, Cell, CellKey, Cells};
use crate::aggregate::startup::StartupStats;
use crate::aggregate::{Aggregator, CauseStats, Counts, Example, window};
use crate::catalog::causes::CauseInfo;
use crate::event::{CauseId, LineStats, LocalTime, NO_MICROS, PerServer, Server};
use crate::incidents::{self, Incident, Incidents};
use crate::input::clock::format_offset;
use crate::keys::{Interner, NO_KEY, OTHER};
use crate::order::Filters;
use crate::serverconf::ServerConfig;
use crate::serverconf::advice::{self, Advice};

/// `s` as one shell word: as it is when it holds only characters no
/// shell reads specially, else in single quotes.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/._-+:,@%".contains(&c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Version of the JSON layout; bumped only on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole analysis.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// JSON layout version.
    pub version: u32,
    /// Timeline window as a duration (`1m`).
    pub window: String,
    /// Timeline window in seconds.
    pub window_seconds: i64,
    /// Failed requests over all causes: lines of the web servers (nginx,
    /// Apache) only.
    pub total_failures: u64,
    /// Lines of php-fpm's and the kernel's own (`server reached
    /// pm.max_children`, `Out of memory: Killed process`) over all causes:
    /// they explain failed requests and are not counted as any.
    #[serde(default)]
    pub explaining_lines: u64,
    /// Failed requests seen but left out by the filters.
    #[serde(default)]
    pub excluded_failures: u64,
    /// Failed requests whose lines had no time (the sum of the causes'
    /// `untimed`).
    #[serde(default)]
    pub untimed_failures: u64,
    /// The filters the failures were counted under.
    #[serde(default)]
    pub filters: ReportFilters,
    /// Incidents, oldest first.
    #[serde(default)]
    pub incidents: Vec<IncidentReport>,
    /// The stretches between one incident and the next.
    #[serde(default)]
    pub quiet: Vec<QuietReport>,
    /// Causes in rank order.
    pub causes: Vec<CauseReport>,
    /// Line counts over all inputs.
    pub lines: Lines,
    /// The inputs, in the order read.
    pub files: Vec<FileReport>,
    /// A few lines in no known format, so a wrong format shows at once.
    pub unrecognized_examples: Vec<ExampleLine>,
    /// How many failures had their upstream or route counted as `(other)`
    /// because too many distinct values were seen.
    pub folded: Folded,
    /// What incidents are found from, so that `merge` can find them again
    /// in the merged timelines.
    #[serde(default)]
    pub activity: Activity,
    /// What the access logs say clients got; absent when none was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_impact: Option<clients::ClientImpact>,
    /// Start-up and configuration errors, in the order first met: the
    /// server did not start or reload. No failed requests: they are not
    /// in `causes` nor in any count of failures.
    #[serde(default)]
    pub startup_errors: Vec<StartupReport>,
    /// Files of folders without `*error*log*` files that were not read,
    /// as their first lines showed.
    #[serde(default)]
    pub skipped_files: Vec<SkippedFile>,
    /// Logs whose lines explain the incidents only once shifted by whole
    /// hours or half hours: their clock is likely in another zone. Said,
    /// never applied (`--tz-offset` applies it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clock_warnings: Vec<ClockWarning>,
}

/// A log whose clock looks shifted against the web server's (see
/// [`incidents::clock`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClockWarning {
    /// The log whose times look shifted (php-fpm's, the kernel's).
    pub file: String,
    /// The web server's log its lines line up with once shifted.
    pub against: String,
    /// What to add to `file`'s times: `+01:00`.
    pub offset: String,
    /// The same in seconds.
    pub offset_seconds: i64,
    /// Its lines (one per cause and 10 s window) that explain an incident
    /// once shifted; none does as written.
    pub matched: u64,
    /// Its lines that could explain one.
    pub lines: u64,
    /// The option that lines the logs up.
    pub suggestion: String,
}

/// A file found in a folder and not read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SkippedFile {
    /// Its path.
    pub path: String,
    /// Why: `not an error or access log (unknown format)`, `an access log, read
    /// with a --max-rate rule only` (`check`).
    pub reason: String,
}

/// One start-up or configuration error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StartupReport {
    /// Its kind (`config_invalid`, `config_host_not_found`,
    /// `listen_failed`, `config_file_unreadable`, `startup_failed`).
    pub kind: String,
    /// The kind's title.
    pub title: String,
    /// The server that wrote it.
    pub server: String,
    /// What failed, in the server's words, without the `file:line`.
    pub message: String,
    /// The configuration's `file:line` that failed, where the line names it.
    pub config: Option<String>,
    /// Lines that told it (nginx repeats a failed bind() five times).
    pub count: u64,
    /// Of them, lines with no time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub untimed: u64,
    /// First line's time (ISO 8601, no zone).
    pub first_seen: Option<String>,
    /// Last line's time.
    pub last_seen: Option<String>,
    /// What it means.
    pub meaning: String,
    /// What to change, in the server's terms.
    pub fix: String,
    /// Its first line.
    pub example: ExampleLine,
}

/// One incident.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IncidentReport {
    /// First failure (ISO 8601, no zone).
    pub start: String,
    /// Last failure.
    pub end: String,
    /// From the first failure to the last.
    pub seconds: i64,
    /// The busiest window.
    pub peak: Peak,
    /// Failed requests (php-fpm's own lines add none).
    pub failed_requests: u64,
    /// What went wrong first.
    pub root_cause: RootCause,
    /// Failures that follow from the root cause, not ranked above it.
    pub echoes: Vec<CauseCount>,
    /// Failed requests per cause, echoes included, most first.
    pub causes: Vec<CauseCount>,
    /// Failed attempts per upstream, most first.
    pub upstreams: Vec<UpstreamCount>,
    /// Failed requests per route, most first.
    pub routes: Vec<RouteCount>,
    /// Failed requests per server that logged them (php-fpm: its lines).
    pub servers: ServerCounts,
    /// What to change, for the root cause.
    pub fix: String,
    /// What clients got because of it (with access logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_impact: Option<clients::CauseImpact>,
    /// The reload or restart of a server that logged it, when it started
    /// at most a minute after one: a deploy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployReport>,
}

/// The reload or restart an incident followed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeployReport {
    /// `reload` or `restart`.
    pub kind: String,
    /// The time of its line (ISO 8601, no zone).
    pub at: String,
    /// Seconds from it to the incident's first failure.
    pub seconds_before: i64,
    /// The input as named.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// The line.
    pub text: String,
}

/// The root cause of an incident.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RootCause {
    /// Cause id.
    pub cause: String,
    /// Its title.
    pub title: String,
    /// Where it failed: attempts per upstream, most first.
    pub upstreams: Vec<UpstreamCount>,
    /// Its first line, and lines of other logs that explain it.
    pub evidence: Vec<ExampleLine>,
    /// What the kernel's line says happened, in words, when the kernel
    /// log explains the incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A cause and a count.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CauseCount {
    /// Cause id.
    pub cause: String,
    /// Failed requests.
    pub count: u64,
}

/// Between two incidents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QuietReport {
    /// End of the incident before.
    pub start: String,
    /// Start of the incident after.
    pub end: String,
    /// Seconds between them.
    pub seconds: i64,
    /// Failed requests logged in between (noise).
    pub failed_requests: u64,
}

/// Failures per short window, cause, server and upstream, with their
/// first and last time: what incidents are found from.
///
/// Written in columns, as it holds thousands of cells: each key (cause,
/// server, upstream) and each route once, a cell as one array of numbers
/// naming them by index, the lines apart. The form of older reports, one
/// object per cell, still reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(from = "ActivityForm")]
pub struct Activity {
    /// Window of the cells, in seconds.
    pub window_seconds: i64,
    /// What the cells count, named by index.
    pub keys: Vec<ActivityKey>,
    /// The routes the cells count, named by index.
    pub routes: Vec<String>,
    /// By window start, then as first counted.
    pub cells: Vec<ActivityCell>,
    /// The first line of a cell where a run of its key starts (none in the
    /// window before), by cell.
    pub examples: Vec<ActivityExample>,
    /// The servers' lifecycle lines kept (reloads, restarts, members taken
    /// out of their group), in input order: what deploys and a cascade's
    /// `upstream_disabled` are found from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle: Vec<ActivityLifecycle>,
    /// The microseconds of the cells' first and last failures where the
    /// log wrote them: `[cell, first, last]`, -1 for a second without.
    /// Only the cells that have any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub micros: Vec<[i64; 3]>,
}

/// One lifecycle line of a report's [`Activity`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ActivityLifecycle {
    /// `signal`, `reload`, `stop`, `start`, `crash` or `disabled`.
    pub kind: String,
    /// The server that wrote it.
    pub server: String,
    /// Its time, in seconds since 1970-01-01T00:00:00 of the log's own
    /// clock; absent when the line had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// The input as named.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// The line (lossy UTF-8, cut).
    pub text: String,
}

/// What one or more cells count: a cause on an upstream, logged by one
/// server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub struct ActivityKey {
    /// Cause id.
    pub cause: String,
    /// The server that logged them.
    pub server: String,
    /// The upstream (left out when the failures named none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

/// One key's failures in one window, written as one array of numbers:
/// `[key, first, last, count, attempts, repeats, other_routes, route,
/// count, route, count, ...]`, `key` and each `route` an index into
/// [`Activity::keys`] and [`Activity::routes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCell {
    /// Index in [`Activity::keys`].
    pub key: u32,
    /// First failure in the window, in seconds since 1970-01-01T00:00:00
    /// of the log's own clock (the window is the one that holds it).
    pub first: i64,
    /// Last failure in the window, likewise.
    pub last: i64,
    /// Failed requests.
    pub count: u64,
    /// Attempts.
    pub attempts: u64,
    /// Of `count`, requests counted before under another cause.
    pub repeats: u64,
    /// Failed requests on routes not in `routes`.
    pub other_routes: u64,
    /// Failed requests per route (index in [`Activity::routes`]), a few;
    /// unused slots have the count 0.
    pub routes: [(u32, u64); CELL_ROUTES],
}

impl ActivityCell {
    /// Routes counted, in slot order.
    pub fn route_counts(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.routes.iter().copied().filter(|r| r.1 > 0)
    }
}

impl Serialize for ActivityCell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let routes = self.route_counts().count();
        let mut seq = s.serialize_seq(Some(7 + 2 * routes))?;
        seq.serialize_element(&self.key)?;
        seq.serialize_element(&self.first)?;
        seq.serialize_element(&self.last)?;
        seq.serialize_element(&self.count)?;
        seq.serialize_element(&self.attempts)?;
        seq.serialize_element(&self.repeats)?;
        seq.serialize_element(&self.other_routes)?;
        for (r, n) in self.route_counts() {
            seq.serialize_element(&r)?;
            seq.serialize_element(&n)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ActivityCell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Row;
        impl<'de> serde::de::Visitor<'de> for Row {
            type Value = ActivityCell;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array [key, first, last, count, attempts, repeats, other_routes, route, count, ...]")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ActivityCell, A::Error> {
                use serde::de::Error;
                let short = || A::Error::invalid_length(0, &"at least 7 numbers");
                let mut c = ActivityCell {
                    key: a.next_element()?.ok_or_else(short)?,
                    first: a.next_element()?.ok_or_else(short)?,
                    last: a.next_element()?.ok_or_else(short)?,
                    count: a.next_element()?.ok_or_else(short)?,
                    attempts: a.next_element()?.ok_or_else(short)?,
                    repeats: a.next_element()?.ok_or_else(short)?,
                    other_routes: a.next_element()?.ok_or_else(short)?,
                    routes: [(NO_KEY, 0); CELL_ROUTES],
                };
                let mut slot = 0;
                while let Some(route) = a.next_element::<u32>()? {
                    let n: u64 = a
                        .next_element()?
                        .ok_or_else(|| A::Error::custom("a route index without its count"))?;
                    if n == 0 {
                        continue;
                    }
                    match c.routes.get_mut(slot) {
                        Some(s) => *s = (route, n),
                        // More routes than a cell keeps: counted as others.
                        None => c.other_routes = c.other_routes.saturating_add(n),
                    }
                    slot += 1;
                }
                Ok(c)
            }
        }
        d.deserialize_seq(Row)
    }
}

/// A cell's first line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ActivityExample {
    /// Index in [`Activity::cells`].
    pub cell: u32,
    /// The input as named.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// The line (lossy UTF-8, cut).
    pub text: String,
}

/// [`Activity`] as read: the columns, or (older reports) one object per
/// cell; made columns by [`From`].
#[derive(Deserialize)]
struct ActivityForm {
    #[serde(default)]
    window_seconds: i64,
    #[serde(default)]
    keys: Vec<ActivityKey>,
    #[serde(default)]
    routes: Vec<String>,
    #[serde(default)]
    cells: Vec<CellForm>,
    #[serde(default)]
    examples: Vec<ActivityExample>,
    #[serde(default)]
    lifecycle: Vec<ActivityLifecycle>,
    #[serde(default)]
    micros: Vec<[i64; 3]>,
}

/// A cell as read.
#[derive(Deserialize)]
#[serde(untagged)]
enum CellForm {
    Row(ActivityCell),
    Object(ObjectCell),
}

/// A cell as older reports wrote it.
#[derive(Deserialize)]
struct ObjectCell {
    cause: String,
    server: String,
    #[serde(default)]
    upstream: Option<String>,
    count: u64,
    attempts: u64,
    #[serde(default)]
    repeats: u64,
    first: i64,
    last: i64,
    #[serde(default)]
    routes: Vec<RouteCount>,
    #[serde(default)]
    other_routes: u64,
    #[serde(default)]
    example: Option<ExampleLine>,
}

impl From<ActivityForm> for Activity {
    fn from(f: ActivityForm) -> Activity {
        let mut a = Activity {
            window_seconds: f.window_seconds,
            keys: f.keys,
            routes: f.routes,
            cells: Vec::with_capacity(f.cells.len()),
            examples: f.examples,
            lifecycle: f.lifecycle,
            micros: f.micros,
        };
        // Object cells name their key and routes: found in (or added to)
        // the tables, each once.
        let mut keys: std::collections::HashMap<ActivityKey, u32> =
            std::collections::HashMap::new();
        let mut routes: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        for c in f.cells {
            let o = match c {
                CellForm::Row(c) => {
                    a.cells.push(c);
                    continue;
                }
                CellForm::Object(o) => o,
            };
            if keys.is_empty() && routes.is_empty() {
                keys.extend(a.keys.iter().cloned().zip(0..));
                routes.extend(a.routes.iter().cloned().zip(0..));
            }
            let k = ActivityKey {
                cause: o.cause,
                server: o.server,
                upstream: o.upstream,
            };
            let key = *keys.entry(k.clone()).or_insert_with(|| {
                a.keys.push(k);
                a.keys.len() as u32 - 1
            });
            let mut cell = ActivityCell {
                key,
                first: o.first,
                last: o.last,
                count: o.count,
                attempts: o.attempts,
                repeats: o.repeats,
                other_routes: o.other_routes,
                routes: [(NO_KEY, 0); CELL_ROUTES],
            };
            for (slot, r) in o.routes.into_iter().filter(|r| r.count > 0).enumerate() {
                match cell.routes.get_mut(slot) {
                    Some(s) => {
                        let id = match routes.get(&r.route) {
                            Some(&id) => id,
                            None => {
                                let id = a.routes.len() as u32;
                                routes.insert(r.route.clone(), id);
                                a.routes.push(r.route);
                                id
                            }
                        };
                        *s = (id, r.count);
                    }
                    None => cell.other_routes = cell.other_routes.saturating_add(r.count),
                }
            }
            if let Some(e) = o.example {
                a.examples.push(ActivityExample {
                    cell: a.cells.len() as u32,
                    file: e.file,
                    line: e.line,
                    text: e.text,
                });
            }
            a.cells.push(cell);
        }
        a
    }
}

/// The echo of an incident's lines that took a member out of its group
/// (nginx `upstream server temporarily disabled`, Apache AH00959): its
/// count is of lines, not failed requests.
pub const DISABLED_ECHO: &str = "upstream_disabled";

/// One cause with its evidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CauseReport {
    /// Cause id (`upstream_timeout`).
    pub cause: String,
    /// Human title.
    pub title: String,
    /// The status clients got (the most common one).
    pub status: Option<u16>,
    /// Failed requests per status, most first.
    pub statuses: Vec<StatusCount>,
    /// Failed requests, and lines of php-fpm and the kernel (`servers`
    /// tells them apart: those lines explain failed requests and are no
    /// failed requests themselves).
    pub count: u64,
    /// Attempts: requests plus their retries on other servers.
    pub attempts: u64,
    /// Share of all failed requests (`total_failures`), 0..1: 0 for a
    /// cause of php-fpm's or the kernel's lines alone.
    pub share: f64,
    /// First failure, as the log wrote it (ISO 8601, no zone).
    pub first_seen: Option<String>,
    /// Last failure.
    pub last_seen: Option<String>,
    /// The window with most failures.
    pub peak: Option<Peak>,
    /// Failed requests per window (windows without any are left out).
    pub timeline: Vec<TimelinePoint>,
    /// Failed requests whose lines had no time (a paste that cut it off,
    /// Apache's bare lines): in `count`, in no window of `timeline`.
    #[serde(default)]
    pub untimed: u64,
    /// Attempts per upstream server, most first.
    pub upstreams: Vec<UpstreamCount>,
    /// Failed requests per normalized route, most first.
    pub routes: Vec<RouteCount>,
    /// The first line of this cause.
    pub example: Option<ExampleLine>,
    /// What to change, for the server that logged most of it.
    pub fix: String,
    /// What to change, per server.
    pub fixes: Fixes,
    /// What the cause means.
    pub meaning: String,
    /// Failed requests per server that logged them.
    pub servers: ServerCounts,
    /// Physical lines that make up these failures.
    pub lines: u64,
    /// The configuration behind it, with `--config`: the location that
    /// routed its routes, the settings it depends on there, the fix in
    /// those terms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<Advice>,
    /// What clients got because of it (with access logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_impact: Option<clients::CauseImpact>,
}

impl CauseReport {
    /// Failed requests the web servers (nginx, Apache) logged.
    pub fn requests(&self) -> u64 {
        self.count.saturating_sub(self.explaining())
    }

    /// Lines of php-fpm and the kernel: they explain failed requests and
    /// add none.
    pub fn explaining(&self) -> u64 {
        self.servers.0.behind_gateways().min(self.count)
    }
}

/// A status and how many failed requests got it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusCount {
    /// HTTP status.
    pub status: u16,
    /// Failed requests.
    pub count: u64,
}

/// The busiest window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Peak {
    /// Window start.
    pub start: String,
    /// Window end (exclusive).
    pub end: String,
    /// Failed requests in it.
    pub count: u64,
}

/// One window of a timeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TimelinePoint {
    /// Window start.
    pub start: String,
    /// Failed requests in it.
    pub count: u64,
}

/// An upstream and its count.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpstreamCount {
    /// The upstream server (`http://10.0.1.5:8080`, `unix:/x.sock`, ...).
    pub upstream: String,
    /// Attempts that failed on it.
    pub count: u64,
}

/// A route and its count.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteCount {
    /// Normalized route (`/api/users/:id`).
    pub route: String,
    /// Failed requests on it.
    pub count: u64,
}

/// A log line with where it is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExampleLine {
    /// The input as named.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// The line (lossy UTF-8, cut if very long).
    pub text: String,
    /// An incident's evidence: when the line was logged, in seconds from
    /// the incident's start (negative: before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<i64>,
}

/// Fixes per server, in each server's terms: a JSON object keyed by
/// [`Server::name`]. A gateway's fix is always there (nginx's wording where
/// the catalog has none of its own); a backend's (php-fpm) only where the
/// cause is its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fixes(pub PerServer<String>);

impl Fixes {
    /// The fixes the catalog gives for a cause.
    pub fn of(info: &CauseInfo) -> Fixes {
        let mut out = Fixes::default();
        for (server, fix) in out.0.iter_mut() {
            *fix = if server.is_gateway() {
                info.fix_for(server)
            } else {
                info.fix[server]
            }
            .to_string();
        }
        out
    }
}

impl Serialize for Fixes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (server, fix) in self.0.iter() {
            if server.is_gateway() || !fix.is_empty() {
                map.serialize_entry(server.name(), fix)?;
            }
        }
        map.end()
    }
}

/// Every gateway's fix is required (as a report writes them all).
impl<'de> Deserialize<'de> for Fixes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let fields = d.deserialize_struct("Fixes", &[], ServerFields::<String>::new())?;
        let mut out = Fixes::default();
        for (server, fix) in out.0.iter_mut() {
            match fields[server].clone() {
                Some(f) => *fix = f,
                None if server.is_gateway() => return Err(D::Error::missing_field(server.name())),
                None => {}
            }
        }
        Ok(out)
    }
}

/// Counts per server: a JSON object with one field per server, named as
/// [`Server::name`] says, in [`Server::ALL`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerCounts(pub PerServer<u64>);

impl Serialize for ServerCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(Server::COUNT))?;
        for (server, n) in self.0.iter() {
            map.serialize_entry(server.name(), n)?;
        }
        map.end()
    }
}

/// Every server's field is required (as a report writes them all), but
/// `kernel`'s: a report written before the kernel log was read has none,
/// and read no kernel lines.
impl<'de> Deserialize<'de> for ServerCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let fields = d.deserialize_struct("ServerCounts", &[], ServerFields::<u64>::new())?;
        let mut out = PerServer::default();
        for (server, n) in out.iter_mut() {
            *n = match (fields[server], server) {
                (Some(n), _) => n,
                (None, Server::Kernel) => 0,
                (None, _) => return Err(D::Error::missing_field(server.name())),
            };
        }
        Ok(ServerCounts(out))
    }
}

/// Reads a JSON object keyed by server name into one value per server,
/// `None` where a server is absent; other keys are ignored, a server named
/// twice is an error.
struct ServerFields<T>(std::marker::PhantomData<T>);

impl<T> ServerFields<T> {
    fn new() -> Self {
        ServerFields(std::marker::PhantomData)
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ServerFields<T> {
    type Value = PerServer<Option<T>>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object keyed by server name")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut fields: PerServer<Option<T>> = PerServer::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match Server::ALL.into_iter().find(|s| s.name() == key) {
                Some(server) if fields[server].is_some() => {
                    return Err(A::Error::duplicate_field(server.name()));
                }
                Some(server) => fields[server] = Some(map.next_value()?),
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// Line counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lines {
    /// Physical lines read.
    pub total: u64,
    /// Lines that are part of a reported failure.
    pub matched: u64,
    /// Lines in no known format.
    pub unrecognized: u64,
    /// Lines over the length limit (skipped).
    pub oversized: u64,
    /// Continuation lines of multi-line records (PHP stack traces).
    pub continuation: u64,
    /// Empty lines.
    pub blank: u64,
    /// Recognised lines per server.
    pub recognized: ServerCounts,
    /// Access-log lines (requests).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub access: u64,
}

/// One input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileReport {
    /// As the user named it (`-` for stdin).
    pub path: String,
    /// Physical lines read.
    pub lines: u64,
    /// Lines that are part of a reported failure.
    pub matched: u64,
    /// Lines in no known format.
    pub unrecognized: u64,
    /// Lines over the length limit.
    pub oversized: u64,
    /// Continuation lines of multi-line records.
    pub continuation: u64,
    /// Empty lines.
    pub blank: u64,
    /// Recognised lines per server.
    pub recognized: ServerCounts,
    /// Failed requests in it left out by the filters.
    #[serde(default)]
    pub excluded_failures: u64,
    /// Access-log lines (requests) in it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub access_lines: u64,
    /// Why it could not be read, or not to its end.
    pub error: Option<String>,
    /// The offset `--tz-offset` added to its times (`+01:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz_offset: Option<String>,
    /// The access format the `--config` gives for it, and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_format: Option<String>,
}

/// The filters of a report, as the command line set them (times resolved:
/// `--since 2h` is recorded as the time it stood for).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportFilters {
    /// `--since`, ISO 8601 without zone.
    pub since: Option<String>,
    /// `--until`.
    pub until: Option<String>,
    /// `--cause` ids (all causes when empty).
    pub causes: Vec<String>,
    /// `--upstream`.
    pub upstream: Option<String>,
    /// Set by `merge --force` when the merged reports had different
    /// filters: the other fields are then the first report's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mixed: bool,
}

impl ReportFilters {
    /// The filters of a run.
    pub fn of(f: &Filters) -> ReportFilters {
        ReportFilters {
            since: f.since.map(LocalTime::iso),
            until: f.until.map(LocalTime::iso),
            causes: f.causes.iter().map(|c| c.info().id.to_string()).collect(),
            upstream: f.upstream.clone(),
            mixed: false,
        }
    }

    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.causes.is_empty()
            && self.upstream.is_none()
    }

    /// The filters as flags (`--since 2026-11-20 10:00`, `--cause
    /// upstream_timeout`), for people.
    pub fn flags(&self) -> Vec<String> {
        let time = |t: &str| {
            let t = t.replacen('T', " ", 1);
            t.strip_suffix(":00").map(str::to_string).unwrap_or(t)
        };
        let mut v = Vec::new();
        if let Some(t) = &self.since {
            v.push(format!("--since {}", time(t)));
        }
        if let Some(t) = &self.until {
            v.push(format!("--until {}", time(t)));
        }
        for c in &self.causes {
            v.push(format!("--cause {c}"));
        }
        if let Some(u) = &self.upstream {
            v.push(format!("--upstream {u}"));
        }
        if self.mixed {
            v.push("(merged reports had other filters)".to_string());
        }
        v
    }
}

/// Failures whose keys were folded into `(other)`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Folded {
    /// Attempts whose upstream was counted as `(other)`.
    pub upstreams: u64,
    /// Failures whose route was counted as `(other)`.
    pub routes: u64,
}

impl From<&LineStats> for Lines {
    fn from(s: &LineStats) -> Lines {
        Lines {
            total: s.total,
            matched: s.matched,
            unrecognized: s.unrecognized,
            oversized: s.oversized,
            continuation: s.continuation,
            blank: s.blank,
            recognized: ServerCounts(s.by_server),
            access: s.access,
        }
    }
}

/// A time as ISO 8601 with its microseconds where known
/// (`2026-12-06T11:55:19.018867`), else to the second.
fn iso_micros(t: LocalTime, us: u32) -> String {
    let mut s = t.iso();
    if us < 1_000_000 {
        s += &format!(".{us:06}");
    }
    s
}

/// Lossy UTF-8 of log bytes.
fn text(b: &[u8]) -> String {
    // Most lines are valid UTF-8: checked (fast) and copied once.
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// `a()` and `b()`, on two threads when `threads` allows it (`b` on the
/// second), else one after the other.
fn both<A, B: Send>(threads: usize, a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B) {
    if threads < 2 {
        let a = a();
        return (a, b());
    }
    std::thread::scope(|s| {
        let second = s.spawn(b);
        let a = a();
        let b = second
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (a, b)
    })
}

impl Report {
    /// Ranks the aggregated counts into a report.
    pub fn build(agg: &Aggregator) -> Report {
        Report::build_on(agg, 1)
    }

    /// [`Report::build`] on up to `threads` threads: with two or more, the
    /// activity and the incidents found in it are built on a second
    /// thread while this one ranks the causes. The same report whatever
    /// the thread count.
    pub fn build_on(agg: &Aggregator, threads: usize) -> Report {
        let order = KeyOrder::of(agg);
        let order = &order;
        let (causes, (activity, (found, skews))) = both(
            threads,
            || causes(agg, order),
            || {
                let example = |e: &Example| example_line(agg, e);
                (activity(agg, order, &example), found_incidents(agg))
            },
        );
        Report::assemble(agg, order, causes, activity, found, skews)
    }

    /// [`Report::build_on`] on two threads for a writer that writes the
    /// activity apart from the rest (half of a large report's text): the
    /// second thread builds the activity, once this one has put the keys
    /// in text order, and hands it to `activity_out` at once, while this
    /// one ranks the causes, finds the incidents and hands the rest of the
    /// report (its activity empty) to `rest`. Building and writing the
    /// activity is the longer part, so the incidents are found on this
    /// thread, beside it. The activity is then put in the report, and the
    /// whole returned with what `rest` gave. `rest` must let
    /// `activity_out` end (take what it writes, or drop the means to)
    /// before it returns.
    pub fn build_split<R>(
        agg: &Aggregator,
        activity_out: impl FnOnce(&Activity) + Send,
        rest: impl FnOnce(Report) -> (Report, R),
    ) -> (Report, R) {
        let order = std::sync::OnceLock::new();
        std::thread::scope(|s| {
            let (order_tx, order_rx) = std::sync::mpsc::sync_channel::<&KeyOrder<'_>>(1);
            let second = s.spawn(move || {
                // Not sent only when this thread panicked before it.
                let order = order_rx.recv().ok()?;
                let example = |e: &Example| example_line(agg, e);
                let activity = activity(agg, order, &example);
                activity_out(&activity);
                Some(activity)
            });
            let order = order.get_or_init(|| KeyOrder::of(agg));
            let _ = order_tx.send(order);
            let causes = causes(agg, order);
            let (found, skews) = found_incidents(agg);
            let report = Report::assemble(agg, order, causes, Activity::default(), found, skews);
            let (mut report, r) = rest(report);
            report.activity = match second.join() {
                Ok(Some(activity)) => activity,
                Ok(None) => unreachable!("the order is sent before the causes are ranked"),
                Err(p) => std::panic::resume_unwind(p),
            };
            (report, r)
        })
    }

    /// The report of `agg` from its parts, built apart.
    fn assemble(
        agg: &Aggregator,
        order: &KeyOrder<'_>,
        mut causes: Vec<CauseReport>,
        activity: Activity,
        found: Incidents,
        skews: Vec<incidents::clock::Skew>,
    ) -> Report {
        let total = agg.total_failures();
        // Failed requests first: a cause of php-fpm's or the kernel's lines
        // alone comes after every cause of failed requests.
        causes.sort_by(|a, b| {
            b.requests()
                .cmp(&a.requests())
                .then(b.count.cmp(&a.count))
                .then(b.attempts.cmp(&a.attempts))
                .then(a.cause.cmp(&b.cause))
        });
        let mut lines = LineStats::default();
        for f in &agg.files {
            lines.add(&f.lines);
        }
        let file_name = |i: u32| {
            agg.files
                .get(i as usize)
                .map(|f| f.path.clone())
                .unwrap_or_default()
        };
        let impact = clients::build(agg);
        let joined = impact.as_ref().map(|(_, j)| j);
        let example = |e: &Example| example_line(agg, e);
        Report {
            version: SCHEMA_VERSION,
            window: window::format_duration(agg.window),
            window_seconds: agg.window,
            total_failures: total,
            explaining_lines: agg.explaining_lines(),
            excluded_failures: lines.excluded,
            untimed_failures: agg
                .causes
                .iter()
                .filter(|c| c.requests() > 0)
                .fold(0u64, |n, c| n.saturating_add(c.untimed)),
            filters: ReportFilters::default(),
            incidents: found
                .incidents
                .iter()
                .map(|i| {
                    let mut r = incident_report(order, i, &example);
                    r.client_impact = joined.map(|j| {
                        let causes: Vec<CauseId> = i.causes.iter().map(|c| c.0).collect();
                        clients::of_span(j, &causes, i.start.0, i.end.0)
                    });
                    r
                })
                .collect(),
            quiet: found
                .quiet
                .iter()
                .map(|q| QuietReport {
                    start: q.start.iso(),
                    end: q.end.iso(),
                    seconds: q.end.0.saturating_sub(q.start.0),
                    failed_requests: q.failed_requests,
                })
                .collect(),
            causes,
            lines: Lines::from(&lines),
            files: agg
                .files
                .iter()
                .map(|f| {
                    let l = Lines::from(&f.lines);
                    FileReport {
                        path: f.path.clone(),
                        lines: l.total,
                        matched: l.matched,
                        unrecognized: l.unrecognized,
                        oversized: l.oversized,
                        continuation: l.continuation,
                        blank: l.blank,
                        recognized: l.recognized,
                        excluded_failures: f.lines.excluded,
                        access_lines: f.lines.access,
                        error: f.error.clone(),
                        tz_offset: None,
                        access_format: None,
                    }
                })
                .collect(),
            unrecognized_examples: agg
                .unrecognized
                .iter()
                .map(|s| ExampleLine {
                    file: file_name(s.file),
                    line: s.line,
                    text: text(&s.text),
                    offset_seconds: None,
                })
                .collect(),
            folded: Folded {
                upstreams: agg.upstreams.folded,
                routes: agg.routes.folded,
            },
            activity,
            client_impact: None,
            startup_errors: startup_errors(agg, &example),
            skipped_files: agg
                .unread
                .iter()
                .map(|(path, reason)| SkippedFile {
                    path: path.clone(),
                    reason: reason.clone(),
                })
                .collect(),
            clock_warnings: skews
                .into_iter()
                .map(|s| {
                    let file = file_name(s.file);
                    let offset = format_offset(s.seconds);
                    ClockWarning {
                        suggestion: format!("--tz-offset {}={offset}", shell_word(&file)),
                        against: file_name(s.against),
                        file,
                        offset,
                        offset_seconds: s.seconds,
                        matched: s.matched,
                        lines: s.lines,
                    }
                })
                .collect(),
        }
        .with_clients(agg, impact)
    }

    /// Adds the access logs' `client_impact`, and each cause's.
    fn with_clients(
        mut self,
        agg: &Aggregator,
        impact: Option<(clients::ClientImpact, crate::aggregate::clients::Joined)>,
    ) -> Report {
        let Some((impact, joined)) = impact else {
            return self;
        };
        for c in &mut self.causes {
            if let Some(id) = CauseId::from_id(&c.cause) {
                let mut ci = clients::of_cause(&joined, id);
                let routes: Vec<&str> = c.routes.iter().map(|r| r.route.as_str()).collect();
                ci.timing = clients::timing_of(agg, &c.cause, &routes);
                c.client_impact = Some(ci);
            }
        }
        self.client_impact = Some(impact);
        self
    }

    /// The report with the filters it was counted under.
    pub fn with_filters(mut self, filters: &Filters) -> Report {
        self.filters = ReportFilters::of(filters);
        self
    }

    /// Adds what the servers' configuration says about each cause.
    pub fn with_server_config(mut self, cfg: &ServerConfig) -> Report {
        if cfg.is_empty() {
            return self;
        }
        let files: Vec<String> = self.files.iter().map(|f| f.path.clone()).collect();
        for c in &mut self.causes {
            let routes: Vec<&str> = c.routes.iter().map(|r| r.route.as_str()).collect();
            let upstreams: Vec<&str> = c.upstreams.iter().map(|u| u.upstream.as_str()).collect();
            let first = c.example.as_ref().map(|e| e.file.as_str());
            let logs: Vec<&str> = first
                .into_iter()
                .chain(
                    files
                        .iter()
                        .map(String::as_str)
                        .filter(|f| Some(*f) != first),
                )
                .collect();
            let count = |s: crate::event::Server| c.servers.0.iter().any(|(x, n)| x == s && *n > 0);
            let logged = advice::Logged {
                files: logs,
                nginx: count(crate::event::Server::Nginx),
                apache: count(crate::event::Server::Apache),
            };
            c.config = advice::for_cause(cfg, &c.cause, &routes, &upstreams, &logged);
            if let Some(note) = timing_note(c) {
                c.fix = format!("{} {note}", c.fix);
            }
        }
        self
    }

    /// True when any input could not be read completely.
    pub fn has_input_errors(&self) -> bool {
        self.files.iter().any(|f| f.error.is_some())
    }
}

/// A timeout cause's durations (from the access logs) against the timeout
/// the configuration sets for its first timed route: `On /api/x/:id the
/// requests that succeeded took p95 58 s (max 59.6 s) against
/// proxy_read_timeout 60s (nginx.conf:14): ...`.
fn timing_note(c: &CauseReport) -> Option<String> {
    let timing = c.client_impact.as_ref()?.timing.first()?;
    let advice = c
        .config
        .iter()
        .find(|a| a.route.as_deref() == Some(timing.route.as_str()))
        .or_else(|| c.config.first())?;
    let setting = advice
        .settings
        .iter()
        .find(|s| s.name.to_ascii_lowercase().contains("timeout"))?;
    let limit = timeout_seconds(&setting.value)?;
    let secs = |x: f64| {
        if x >= 10.0 {
            format!("{x:.0} s")
        } else {
            format!("{x:.1} s")
        }
    };
    let against = format!(
        "{} {}{}",
        setting.name,
        setting.value,
        setting
            .at
            .as_ref()
            .map_or(" (the default)".to_string(), |at| format!(" (set at {at})"))
    );
    let mut parts = Vec::new();
    if let Some(ok) = &timing.succeeded {
        parts.push(format!(
            "the requests that succeeded took p95 {} (max {})",
            secs(ok.p95_seconds),
            secs(ok.max_seconds)
        ));
    }
    if let Some(bad) = &timing.failed {
        let who = if parts.is_empty() {
            "the failed requests took"
        } else {
            "the failed ones"
        };
        parts.push(format!(
            "{who} p95 {} (max {})",
            secs(bad.p95_seconds),
            secs(bad.max_seconds)
        ));
    }
    if parts.is_empty() {
        return None;
    }
    let verdict = match (&timing.succeeded, &timing.failed) {
        (Some(ok), _) if ok.p95_seconds >= 0.8 * limit => {
            "the requests that succeed run close to it: raise it for this route if they are legitimately slow, or make them faster"
        }
        (Some(_), _) => {
            "the requests that succeed are well under it: only some hang, so find those rather than raise the timeout"
        }
        (None, Some(bad)) if bad.p95_seconds >= 0.9 * limit => {
            "they were cut at the timeout, and none succeeded on this route in the sample"
        }
        _ => "none succeeded on this route in the sample",
    };
    Some(format!(
        "On {}, {} against {against}: {verdict}.",
        timing.route,
        parts.join(", ")
    ))
}

/// A timeout value in seconds: nginx's `60s`, `1m`, `500ms`, `60`;
/// Apache's `60`, `timeout=60`.
fn timeout_seconds(v: &str) -> Option<f64> {
    let v = v.rsplit('=').next()?.trim();
    let digits = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: f64 = v[..digits].parse().ok()?;
    let unit = match &v[digits..] {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return None,
    };
    Some(n * unit)
}

/// The start-up errors, in input order.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn startup_errors(
    agg: &Aggregator,
    example: &dyn Fn(&Example) -> ExampleLine,
) -> Vec<StartupReport> {
    let mut list: Vec<&StartupStats> = agg.startup.list.iter().collect();
    list.sort_by_key(|s| (s.example.file, s.example.line));
    list.into_iter()
        .map(|s| {
            let info = s.kind.info();
            StartupReport {
                kind: info.id.to_string(),
                title: info.title.to_string(),
                server: s.server.name().to_string(),
                message: text(&s.message),
                config: s.config.as_deref().map(text),
                count: s.count,
                untimed: s.untimed,
                first_seen: s.first.map(|t| t.iso()),
                last_seen: s.last.map(|t| t.iso()),
                meaning: info.meaning.to_string(),
                fix: info.fix[s.server].to_string(),
                example: example(&s.example),
            }
        })
        .collect()
}

/// A line of an input, its file named.
fn example_line(agg: &Aggregator, e: &Example) -> ExampleLine {
    ExampleLine {
        file: agg
            .files
            .get(e.file as usize)
            .map(|f| f.path.clone())
            .unwrap_or_default(),
        line: e.line,
        text: text(&e.text),
        offset_seconds: None,
    }
}

/// Incidents found in `agg` (by [`incidents::find`]) with their keys and
/// lines as text, as the report gives them: what `follow` tells of the
/// incidents it tracks live.
pub fn incident_reports(agg: &Aggregator, found: &[Incident]) -> Vec<IncidentReport> {
    let order = KeyOrder {
        upstreams: text_order(&agg.upstreams),
        routes: text_order(&agg.routes),
    };
    let example = |e: &Example| example_line(agg, e);
    found
        .iter()
        .map(|i| incident_report(&order, i, &example))
        .collect()
}

/// An incident with its keys and lines as text.
fn incident_report(
    order: &KeyOrder<'_>,
    i: &Incident,
    example: &dyn Fn(&Example) -> ExampleLine,
) -> IncidentReport {
    let counts = |v: &[(CauseId, u64)]| -> Vec<CauseCount> {
        v.iter()
            .map(|&(c, count)| CauseCount {
                cause: c.info().id.to_string(),
                count,
            })
            .collect()
    };
    let ups = |c: &Counts| -> Vec<UpstreamCount> {
        ranked(&order.upstreams, c)
            .into_iter()
            .map(|(upstream, count)| UpstreamCount { upstream, count })
            .collect()
    };
    let info = i.root.info();
    let mut server = Server::Nginx;
    for (s, &n) in i.servers.iter() {
        if s.is_gateway() && n > i.servers[server] {
            server = s;
        }
    }
    let fix = if i.servers[Server::PhpFpm] > 0 && !info.fix[Server::PhpFpm].is_empty() {
        info.fix[Server::PhpFpm]
    } else {
        info.fix_for(server)
    };
    IncidentReport {
        start: iso_micros(i.start, i.start_us),
        end: iso_micros(i.end, i.end_us),
        seconds: i.end.0.saturating_sub(i.start.0),
        peak: Peak {
            start: LocalTime(i.peak_start).iso(),
            end: LocalTime(i.peak_end).iso(),
            count: i.peak_count,
        },
        failed_requests: i.failed_requests,
        root_cause: RootCause {
            cause: info.id.to_string(),
            title: info.title.to_string(),
            upstreams: ups(&i.root_upstreams),
            detail: i.root_detail.clone(),
            evidence: i
                .evidence
                .iter()
                .map(|e| ExampleLine {
                    offset_seconds: Some(e.offset),
                    ..example(&e.line)
                })
                .collect(),
        },
        echoes: {
            // The cascade in order: members taken out of their group, then
            // what the group's requests met.
            let mut e = Vec::with_capacity(i.echoes.len() + 1);
            if i.disabled > 0 {
                e.push(CauseCount {
                    cause: DISABLED_ECHO.to_string(),
                    count: i.disabled,
                });
            }
            e.extend(counts(&i.echoes));
            e
        },
        causes: counts(&i.causes),
        upstreams: ups(&i.upstreams),
        routes: ranked(&order.routes, &i.routes)
            .into_iter()
            .map(|(route, count)| RouteCount { route, count })
            .collect(),
        servers: ServerCounts(i.servers),
        fix: fix.to_string(),
        deploy: i.deploy.as_ref().map(|d| {
            let line = example(&d.line);
            DeployReport {
                kind: d.kind.to_string(),
                at: d.at.iso(),
                seconds_before: i.start.0.saturating_sub(d.at.0),
                file: line.file,
                line: line.line,
                text: line.text,
            }
        }),
        client_impact: None,
    }
}

/// The cells, in columns: each key and route once. A cell's line is
/// written where a run of its key starts (none in the window before): that
/// is where an incident's evidence comes from, and a key failing in every
/// window does not write its line every time.
fn activity(
    agg: &Aggregator,
    order: &KeyOrder<'_>,
    example: &dyn Fn(&Example) -> ExampleLine,
) -> Activity {
    let mut a = Activity {
        window_seconds: agg.cells.window(),
        cells: Vec::with_capacity(agg.cells.len()),
        ..Activity::default()
    };
    // Index in `a.keys` of each key, in `a.routes` of each route id (by
    // id: the interner's ids are dense; `(other)` apart).
    let mut keys: hashbrown::HashMap<CellKey, u32> = hashbrown::HashMap::new();
    let mut routes: Vec<u32> = vec![NO_KEY; agg.routes.len()];
    let mut other_routes: hashbrown::HashMap<u32, u32> = hashbrown::HashMap::new();
    // The last window done each key (by index) was counted in, and the
    // keys of the window being done.
    let mut seen: Vec<i64> = Vec::new();
    let mut counted: Vec<u32> = Vec::new();
    let w = agg.cells.window();
    let mut before = i64::MIN;
    for (start, cs) in agg.cells.windows() {
        let follows = before != i64::MIN && before.saturating_add(w) == start;
        counted.clear();
        for c in cs {
            let key = *keys.entry(c.key).or_insert_with(|| {
                a.keys.push(ActivityKey {
                    cause: c.key.cause.info().id.to_string(),
                    server: c.key.server.name().to_string(),
                    upstream: (c.key.upstream != NO_KEY)
                        .then(|| order.upstreams.text(c.key.upstream)),
                });
                seen.push(i64::MIN);
                a.keys.len() as u32 - 1
            });
            let mut cell = ActivityCell {
                key,
                first: c.first.0,
                last: c.last.0,
                count: c.count,
                attempts: c.attempts,
                repeats: c.repeats,
                other_routes: c.other_routes,
                routes: [(NO_KEY, 0); CELL_ROUTES],
            };
            for (slot, (r, n)) in cell.routes.iter_mut().zip(c.route_counts()) {
                let index = match routes.get_mut(r as usize) {
                    Some(i) => i,
                    None => other_routes.entry(r).or_insert(NO_KEY),
                };
                if *index == NO_KEY {
                    a.routes.push(order.routes.text(r));
                    *index = a.routes.len() as u32 - 1;
                }
                *slot = (*index, n);
            }
            // Counted in the window before: `seen` is set once a window is
            // done.
            let starts_run = !(follows && seen[key as usize] == before);
            counted.push(key);
            if starts_run && c.line.has_text() {
                let e = example(&agg.cells.example(c));
                a.examples.push(ActivityExample {
                    cell: a.cells.len() as u32,
                    file: e.file,
                    line: e.line,
                    text: e.text,
                });
            }
            if c.first_us != NO_MICROS || c.last_us != NO_MICROS {
                let us = |u: u32| if u == NO_MICROS { -1 } else { i64::from(u) };
                a.micros
                    .push([a.cells.len() as i64, us(c.first_us), us(c.last_us)]);
            }
            a.cells.push(cell);
        }
        for &k in &counted {
            seen[k as usize] = start;
        }
        before = start;
    }
    let life = &agg.lifecycle;
    a.lifecycle = life
        .list
        .iter()
        .chain(&life.disabled)
        .map(|l| {
            let e = example(&l.line);
            ActivityLifecycle {
                kind: l.kind.id().to_string(),
                server: l.server.name().to_string(),
                at: l.time.map(|t| t.0),
                file: e.file,
                line: e.line,
                text: e.text,
            }
        })
        .collect();
    a
}

/// The cells a report's activity stands for, keyed into `agg`'s interners
/// and inputs (`file_index` of an example's file); for `merge`.
pub fn cells_of(
    a: &Activity,
    agg: &mut Aggregator,
    file_index: &dyn Fn(&str) -> u32,
) -> std::result::Result<Cells, String> {
    let mut cells = Cells::new(if a.window_seconds > 0 {
        a.window_seconds
    } else {
        crate::aggregate::cells::CELL_WINDOW
    });
    let key = |interner: &mut Interner, k: &str| {
        if k == "(other)" {
            OTHER
        } else {
            interner.intern(k.as_bytes())
        }
    };
    let mut keys = Vec::with_capacity(a.keys.len());
    for k in &a.keys {
        let cause =
            CauseId::from_id(&k.cause).ok_or_else(|| format!("unknown cause {}", k.cause))?;
        let server = Server::ALL
            .into_iter()
            .find(|s| s.name() == k.server)
            .ok_or_else(|| format!("unknown server {}", k.server))?;
        let upstream = k
            .upstream
            .as_deref()
            .map_or(NO_KEY, |u| key(&mut agg.upstreams, u));
        keys.push(CellKey {
            cause,
            server,
            upstream,
        });
    }
    let routes: Vec<u32> = a.routes.iter().map(|r| key(&mut agg.routes, r)).collect();
    let mut examples = vec![None; a.cells.len()];
    for e in &a.examples {
        let slot = examples
            .get_mut(e.cell as usize)
            .ok_or_else(|| format!("example of cell {}, of {} cells", e.cell, a.cells.len()))?;
        *slot = Some(e);
    }
    let mut micros = vec![(NO_MICROS, NO_MICROS); a.cells.len()];
    for &[cell, first, last] in &a.micros {
        let us = |u: i64| u32::try_from(u).ok().filter(|&u| u < 1_000_000);
        let slot = usize::try_from(cell)
            .ok()
            .and_then(|i| micros.get_mut(i))
            .ok_or_else(|| format!("microseconds of cell {cell}, of {} cells", a.cells.len()))?;
        *slot = (
            us(first).unwrap_or(NO_MICROS),
            us(last).unwrap_or(NO_MICROS),
        );
    }
    for ((c, e), (first_us, last_us)) in a.cells.iter().zip(examples).zip(micros) {
        let &cell_key = keys
            .get(c.key as usize)
            .ok_or_else(|| format!("cell of key {}, of {} keys", c.key, keys.len()))?;
        let (first, last) = (
            LocalTime(c.first.min(c.last)),
            LocalTime(c.first.max(c.last)),
        );
        let (file, line, line_text) = match e {
            Some(e) => (file_index(&e.file), e.line, e.text.as_bytes()),
            None => (0, 0, &b""[..]),
        };
        let mut cell = Cell::new(cell_key, first, file, line);
        cell.count = c.count;
        cell.attempts = c.attempts;
        cell.repeats = c.repeats.min(c.count);
        cell.last = last;
        (cell.first_us, cell.last_us) = (first_us, last_us);
        cell.other_routes = c.other_routes;
        for (r, n) in c.route_counts() {
            let &id = routes
                .get(r as usize)
                .ok_or_else(|| format!("cell of route {r}, of {} routes", routes.len()))?;
            cell.add_route(id, n);
        }
        cells.insert(first.0, cell, line_text);
    }
    Ok(cells)
}

/// [`text_order`] of the upstreams and the routes.
struct KeyOrder<'a> {
    upstreams: KeyTexts<'a>,
    routes: KeyTexts<'a>,
}

impl<'a> KeyOrder<'a> {
    fn of(agg: &'a Aggregator) -> KeyOrder<'a> {
        KeyOrder {
            upstreams: text_order(&agg.upstreams),
            routes: text_order(&agg.routes),
        }
    }
}

fn cause_report(
    agg: &Aggregator,
    order: &KeyOrder<'_>,
    id: CauseId,
    c: &CauseStats,
    total: u64,
) -> CauseReport {
    let info = id.info();
    let server = Aggregator::dominant_server(c);
    let peak = c
        .timeline
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(&start, &count)| Peak {
            start: LocalTime(start).iso(),
            end: LocalTime(start + agg.window).iso(),
            count,
        });
    let mut statuses: Vec<StatusCount> = c
        .statuses
        .iter()
        .map(|(&status, &count)| StatusCount { status, count })
        .collect();
    statuses.sort_by(|a, b| b.count.cmp(&a.count).then(a.status.cmp(&b.status)));
    let example = c.example.as_ref().map(|e| example_line(agg, e));
    CauseReport {
        cause: info.id.to_string(),
        title: info.title.to_string(),
        status: statuses.first().map(|s| s.status),
        statuses,
        count: c.count,
        attempts: c.attempts,
        share: if total == 0 {
            0.0
        } else {
            (c.requests() as f64 / total as f64 * 10_000.0).round() / 10_000.0
        },
        first_seen: c.first.map(LocalTime::iso),
        last_seen: c.last.map(LocalTime::iso),
        untimed: c.untimed,
        peak,
        timeline: c
            .timeline
            .iter()
            .map(|(&start, &count)| TimelinePoint {
                start: LocalTime(start).iso(),
                count,
            })
            .collect(),
        upstreams: ranked(&order.upstreams, &c.upstreams)
            .into_iter()
            .map(|(upstream, count)| UpstreamCount { upstream, count })
            .collect(),
        routes: ranked(&order.routes, &c.routes)
            .into_iter()
            .map(|(route, count)| RouteCount { route, count })
            .collect(),
        example,
        fix: info.fix_for(server).to_string(),
        fixes: Fixes::of(info),
        meaning: info.meaning.to_string(),
        servers: ServerCounts(c.servers),
        lines: c.lines,
        config: Vec::new(),
        client_impact: None,
    }
}

/// Keys as the report shows them (lossy UTF-8, converted once however
/// many causes name a key), and each key's place when sorted so: a key
/// with invalid bytes sorts where its text does, keys with the same text
/// by id.
struct KeyTexts<'a> {
    text: Vec<std::borrow::Cow<'a, str>>,
    place: Vec<u32>,
    /// The ids in text order: the id at each place.
    ids: Vec<u32>,
}

impl KeyTexts<'_> {
    /// The text of a key id (`(other)` for [`OTHER`]).
    fn text(&self, id: u32) -> String {
        match self.text.get(id as usize) {
            Some(t) => t.to_string(),
            None => "(other)".to_string(),
        }
    }
}

fn text_order(keys: &Interner) -> KeyTexts<'_> {
    let text: Vec<std::borrow::Cow<'_, str>> = (0..keys.len() as u32)
        .map(|id| String::from_utf8_lossy(keys.key(id)))
        .collect();
    let mut ids: Vec<u32> = (0..text.len() as u32).collect();
    ids.sort_unstable_by(|&a, &b| text[a as usize].cmp(&text[b as usize]).then(a.cmp(&b)));
    let mut place = vec![0u32; ids.len()];
    for (p, &id) in ids.iter().enumerate() {
        place[id as usize] = p as u32;
    }
    KeyTexts { text, place, ids }
}

/// The causes with failures, in the catalog's order.
fn causes(agg: &Aggregator, order: &KeyOrder<'_>) -> Vec<CauseReport> {
    let total = agg.total_failures();
    CauseId::all()
        .zip(&agg.causes)
        .filter(|(_, c)| c.count > 0)
        .map(|(id, c)| cause_report(agg, order, id, c, total))
        .collect()
}

/// The incidents in `agg`'s cells, and the clock skews they show.
fn found_incidents(agg: &Aggregator) -> (Incidents, Vec<incidents::clock::Skew>) {
    let found = incidents::find(agg);
    let skews = incidents::clock::skews(&found.incidents, &agg.cells, &agg.upstreams);
    (found, skews)
}

/// Keys by count, most first, ties by key; `(other)` always last. Ties
/// are broken by each key's place in text order ([`text_order`]), without
/// comparing the keys again for every cause.
fn ranked(keys: &KeyTexts<'_>, counts: &Counts) -> Vec<(String, u64)> {
    let place = |id: u32| keys.place.get(id as usize).copied().unwrap_or(u32::MAX);
    // Counts under 2^31, as they are but on logs of billions of failures:
    // the rank in 64 bits (other, 31 bits of count, place), sorted alone,
    // the key found again from its place (a place past the keys is
    // `(other)`, as the text of an id past them is).
    const LOW: u64 = (1 << 31) - 1;
    if counts.iter().all(|(_, n)| n <= LOW) {
        let mut v: Vec<u64> = counts
            .iter()
            .map(|(id, n)| u64::from(id == OTHER) << 63 | (LOW - n) << 32 | u64::from(place(id)))
            .collect();
        v.sort_unstable();
        return v
            .into_iter()
            .map(|r| {
                let id = keys.ids.get(r as u32 as usize).copied().unwrap_or(OTHER);
                (keys.text(id), LOW - (r >> 32 & LOW))
            })
            .collect();
    }
    // (other last, most first, text order) packed in one integer, so the
    // sort compares one number.
    let mut v: Vec<(u128, u32, u64)> = counts
        .iter()
        .map(|(id, n)| {
            let rank = u128::from(id == OTHER) << 96 | u128::from(!n) << 32 | u128::from(place(id));
            (rank, id, n)
        })
        .collect();
    v.sort_unstable_by_key(|x| x.0);
    v.into_iter().map(|(_, id, n)| (keys.text(id), n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Built on two threads, the activity handed out as soon as it is
    /// built and the rest handed on without it, the report is the one
    /// built on one thread (or two, the other way).
    #[test]
    fn a_report_built_split_is_the_one_built_whole() {
        let log = include_str!("../fixtures/incidents/cascade_2.log");
        let catalog = crate::catalog::Catalog::new();
        let filters = Filters::default();
        let mut agg = Aggregator::new(60);
        let mut seq = crate::order::Sequencer::new(&catalog, &filters, 2026);
        let mut scanner = crate::scan::Scanner::new(&catalog, 2026);
        let mut scan = crate::scan::Scan::default();
        seq.begin_input("cascade_2.log".into(), &mut agg);
        scanner.scan(log.as_bytes(), false, &mut scan);
        seq.chunk(log.as_bytes(), &scan, &mut agg);
        seq.end_input(None, &mut agg);
        let whole = Report::build(&agg);
        assert!(!whole.incidents.is_empty() && !whole.activity.cells.is_empty());
        assert_eq!(Report::build_on(&agg, 2), whole);
        let handed = std::sync::Mutex::new(None);
        let (split, rest) = Report::build_split(
            &agg,
            |a| *handed.lock().unwrap() = Some(a.clone()),
            |r| {
                let without = r.activity == Activity::default();
                (r, without)
            },
        );
        assert_eq!(split, whole);
        assert!(rest, "the rest comes without the activity");
        assert_eq!(handed.into_inner().unwrap(), Some(whole.activity));
    }

    #[test]
    fn timeout_values() {
        for (v, secs) in [
            ("60s", 60.0),
            ("1m", 60.0),
            ("500ms", 0.5),
            ("90", 90.0),
            ("timeout=2", 2.0),
        ] {
            assert_eq!(timeout_seconds(v), Some(secs), "{v}");
        }
        assert_eq!(timeout_seconds("1m30s"), None);
        assert_eq!(shell_word("a/b.log"), "a/b.log");
        assert_eq!(shell_word("my logs/it's.log"), "'my logs/it'\\''s.log'");
    }

    /// The columns round-trip, and the object form of older reports reads
    /// as the same columns (routes past a cell's slots counted as others).
    #[test]
    fn activity_reads_both_forms() {
        let columns = r#"{"window_seconds": 10,
            "keys": [{"cause": "upstream_timeout", "server": "nginx", "upstream": "u1"},
                     {"cause": "no_live_upstreams", "server": "nginx"}],
            "routes": ["/a", "/b"],
            "cells": [[0,100,105,3,4,1,0,0,2,1,1], [1,101,101,1,1,0,2]],
            "examples": [{"cell": 1, "file": "e.log", "line": 7, "text": "x"}]}"#;
        let a: Activity = serde_json::from_str(columns).unwrap();
        assert_eq!(a.cells[0].routes[..2], [(0, 2), (1, 1)]);
        assert_eq!((a.cells[1].key, a.cells[1].other_routes), (1, 2));
        let again: Activity = serde_json::from_slice(&serde_json::to_vec(&a).unwrap()).unwrap();
        assert_eq!(again, a);

        let objects = r#"{"window_seconds": 10, "cells": [
            {"cause": "upstream_timeout", "server": "nginx", "upstream": "u1", "count": 3,
             "attempts": 4, "repeats": 1, "first": 100, "last": 105,
             "routes": [{"route": "/a", "count": 2}, {"route": "/b", "count": 1}]},
            {"cause": "no_live_upstreams", "server": "nginx", "count": 1, "attempts": 1,
             "first": 101, "last": 101, "other_routes": 2,
             "example": {"file": "e.log", "line": 7, "text": "x"}}]}"#;
        let old: Activity = serde_json::from_str(objects).unwrap();
        assert_eq!(old, a);
        // Six routes in an object cell: four kept, two more as others.
        let many = r#"{"cells": [{"cause": "upstream_timeout", "server": "nginx", "count": 6,
            "attempts": 6, "first": 1, "last": 1, "other_routes": 1, "routes": [
            {"route": "/1", "count": 1}, {"route": "/2", "count": 1}, {"route": "/3", "count": 1},
            {"route": "/4", "count": 1}, {"route": "/5", "count": 1}, {"route": "/6", "count": 1}]}]}"#;
        let m: Activity = serde_json::from_str(many).unwrap();
        assert_eq!((m.routes.len(), m.cells[0].other_routes), (4, 3));
        // A row too short, a route without its count: errors, not panics.
        for bad in [
            r#"{"cells": [[0,1,2]]}"#,
            r#"{"cells": [[0,1,2,3,4,5,6,7]]}"#,
        ] {
            assert!(serde_json::from_str::<Activity>(bad).is_err(), "{bad}");
        }
    }

    /// The ranking as plainly as it can be said: other last, most first,
    /// then by the key's text, then by id.
    fn ranked_plainly(keys: &Interner, counts: &Counts) -> Vec<(String, u64)> {
        let text = |id: u32| {
            if (id as usize) < keys.len() {
                String::from_utf8_lossy(keys.key(id)).into_owned()
            } else {
                "(other)".to_string()
            }
        };
        let mut v: Vec<(bool, std::cmp::Reverse<u64>, String, u32)> = counts
            .iter()
            .map(|(id, n)| (id == OTHER, std::cmp::Reverse(n), text(id), id))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n, t, _)| (t, n.0)).collect()
    }

    /// The packed ranks (64 bits under 2^31 a count, 128 above) give the
    /// plain ranking: ties, counts at and past 2^31, `(other)`.
    #[test]
    fn ranked_is_the_plain_ranking() {
        let mut keys = Interner::new(1 << 12);
        let ids: Vec<u32> = (0..300u32)
            .map(|i| keys.intern(format!("/r{}", (i * 7919) % 300).as_bytes()))
            .collect();
        let order = text_order(&keys);
        for big in [0u64, (1 << 31) - 1, 1 << 31, u64::MAX / 2] {
            let mut counts = Counts::default();
            for (i, &id) in ids.iter().enumerate() {
                let n = (i as u64 * 2_654_435_761) % 7 + 1;
                counts.add(id, if i % 50 == 3 { big.max(1) } else { n });
            }
            counts.add(OTHER, 3);
            assert_eq!(
                ranked(&order, &counts),
                ranked_plainly(&keys, &counts),
                "{big}"
            );
        }
    }

    #[test]
    fn ranked_by_count_then_key_text_with_other_last() {
        let mut keys = Interner::new(16);
        let mut counts = Counts::default();
        // Interned out of order, so that ids and places differ. `/\x80` is
        // shown as `/\u{fffd}`, which sorts after `/€` though its raw byte
        // sorts before.
        let keyed: [(&[u8], u64); 7] = [
            (b"/b", 5),
            (b"/c", 7),
            (b"/\x80", 5),
            (b"/a", 5),
            ("/€".as_bytes(), 5),
            ("/é".as_bytes(), 5),
            (b"/A", 5),
        ];
        for (key, n) in keyed {
            counts.add(keys.intern(key), n);
        }
        counts.add(OTHER, 9);
        let order = text_order(&keys);
        let got: Vec<(String, u64)> = ranked(&order, &counts);
        let want = [
            ("/c", 7),
            ("/A", 5),
            ("/a", 5),
            ("/b", 5),
            ("/é", 5),
            ("/€", 5),
            ("/\u{fffd}", 5),
            ("(other)", 9),
        ];
        let want: Vec<(String, u64)> = want.iter().map(|&(k, n)| (k.to_string(), n)).collect();
        assert_eq!(got, want);
    }
}
