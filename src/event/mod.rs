//! The types that flow between the stages: what a scanner makes of a
//! record ([`Event`]), what the ordered stage makes of events ([`Failure`]),
//! and what every stage counts and compares them by (servers, causes, log
//! time, line counts).

mod server;
mod time;

pub use server::{PerServer, Server};
pub use time::LocalTime;

use crate::keys::Key;

/// Index of a cause in the catalog's table of causes (what a cause means
/// is the catalog's to say: `CauseId::info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CauseId(pub u16);

/// Index of a kind of start-up or configuration error in the catalog's
/// table of them (`StartupId::info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StartupId(pub u16);

/// A start-up or configuration error found on a record: no failed request,
/// counted apart. Its texts are in the scan's arena
/// ([`crate::scan::Scan::startup_text`]), as ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartupEvent {
    /// Its kind.
    pub kind: StartupId,
    /// The writing server.
    pub server: Server,
    /// Its time.
    pub time: Option<LocalTime>,
    /// Line index of its first line within the chunk (0-based).
    pub line: u32,
    /// Byte range of the record's text within the chunk.
    pub start: u32,
    /// End of that range.
    pub end: u32,
    /// Physical lines of the record.
    pub lines: u32,
    /// What failed, in the server's words (range in the arena).
    pub message: (u32, u32),
    /// The configuration's `file:line` that failed, where the line names
    /// it (range in the arena).
    pub config: Option<(u32, u32)>,
}

/// A lifecycle line of a server: no failed request, but the workers that
/// served the requests before it may be gone after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lifecycle {
    /// nginx: `signal process started` (`nginx -s reload|stop|quit`).
    Signal,
    /// A reload: nginx `SIGHUP ... reconfiguring`, Apache AH00171, AH00493.
    Reload,
    /// A stop: nginx `SIGTERM ... exiting`, `gracefully shutting down`,
    /// Apache AH00169.
    Stop,
    /// Workers started: nginx `start worker process`, Apache AH00489,
    /// AH00094.
    Start,
    /// A process gone: nginx `exiting`, `exit`, `worker process N exited
    /// with code N`.
    Exit,
    /// Apache's parent process crashed (AH00060).
    Crash,
    /// A member of an upstream group taken out of it after its failures:
    /// nginx `[warn] upstream server temporarily disabled`, Apache AH00959
    /// `disabling worker`. The servers go on; only incidents count these,
    /// as the link between a cascade's root cause and its `no live
    /// upstreams`.
    Disabled,
}

impl Lifecycle {
    /// Stable identifier used in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Lifecycle::Signal => "signal",
            Lifecycle::Reload => "reload",
            Lifecycle::Stop => "stop",
            Lifecycle::Start => "start",
            Lifecycle::Exit => "exit",
            Lifecycle::Crash => "crash",
            Lifecycle::Disabled => "disabled",
        }
    }

    /// The kind of an [`id`](Lifecycle::id).
    pub fn from_id(id: &str) -> Option<Lifecycle> {
        use Lifecycle::*;
        [Signal, Reload, Stop, Start, Exit, Crash, Disabled]
            .into_iter()
            .find(|k| k.id() == id)
    }
}

/// A lifecycle line found on a record (see [`Lifecycle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// What it tells.
    pub kind: Lifecycle,
    /// The writing server.
    pub server: Server,
    /// Its time.
    pub time: Option<LocalTime>,
    /// Line index of its first line within the chunk (0-based).
    pub line: u32,
    /// Byte range of the record's text within the chunk.
    pub start: u32,
    /// End of that range.
    pub end: u32,
    /// Physical lines of the record.
    pub lines: u32,
}

/// How a line takes part in a failure logged over several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A complete failure by itself.
    Alone,
    /// Opens (or adds to) a failure on its Apache thread.
    Lead,
    /// Closes the failure on its Apache thread (the request-level line).
    Final,
    /// Adds to the failure on its Apache thread, never counted alone.
    Attach,
}

/// No sub-second part: the log wrote the time to the second.
pub const NO_MICROS: u32 = u32::MAX;

/// A classified record, compact and owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The cause; `None` for attach-only lines.
    pub cause: Option<CauseId>,
    /// Multi-line role.
    pub role: Role,
    /// Strong or weak evidence.
    pub strong: bool,
    /// Status override from the signature.
    pub status: Option<u16>,
    /// The writing server.
    pub server: Server,
    /// Its time.
    pub time: Option<LocalTime>,
    /// The microseconds of its second where the log wrote them (Apache's
    /// `13:00:01.123456`, the kernel's uptime stamp), else [`NO_MICROS`].
    pub micros: u32,
    /// Process id.
    pub pid: Option<u32>,
    /// Thread id.
    pub tid: Option<u64>,
    /// nginx: a key of (pid, connection, request line), to recognise
    /// retries: the connection number in the low 32 bits (so that requests
    /// logged near each other have keys near each other), a hash of all
    /// three in the high 32.
    pub request: Option<u64>,
    /// Upstream key in the chunk's table, or [`NO_KEY`](crate::keys::NO_KEY).
    pub upstream: u32,
    /// Route key in the chunk's table, or [`NO_KEY`](crate::keys::NO_KEY).
    pub route: u32,
    /// Line index of its first line within the chunk (0-based).
    pub line: u32,
    /// Byte range of the record's text within the chunk.
    pub start: u32,
    /// End of that range.
    pub end: u32,
    /// Physical lines of the record.
    pub lines: u32,
    /// Its request's connection and request line, to find its access line.
    pub join: JoinKey,
}

/// What ties an error-log failure to its request's access-log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JoinKey {
    /// nginx's connection number (`*N`, the access log's `$connection`).
    pub connection: Option<u64>,
    /// Hash of the request line (0 when the line has none).
    pub request: u64,
    /// Hash of Apache's request log id (`[R:%L]`; 0 when none).
    pub log_id: u64,
}

/// One failed request (or one more attempt of it), ready to aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The cause.
    pub cause: CauseId,
    /// The server that logged it.
    pub server: Server,
    /// A status more precise than the cause's own, if the message told it.
    pub status: Option<u16>,
    /// When, as the log wrote it.
    pub time: Option<LocalTime>,
    /// The microseconds of that second, or [`NO_MICROS`].
    pub micros: u32,
    /// The upstream.
    pub upstream: Key,
    /// The normalized route.
    pub route: Key,
    /// False for a retry of a request already counted under this cause.
    pub new_request: bool,
    /// Physical lines that make up this failure.
    pub lines: u32,
    /// Index of the input it came from.
    pub file: u32,
    /// Line number of its first line.
    pub line: u64,
    /// True when its request was counted before under another cause (a
    /// retry that failed otherwise): new for its cause, not a new request.
    pub repeat: bool,
    /// The status its request was counted with before, under other causes,
    /// which the client did not get: the client gets the last attempt's.
    pub restatus: Option<Restatus>,
    /// Its request's connection and request line, to find its access line.
    pub join: JoinKey,
}

#[cfg(test)]
impl Failure {
    /// A new request of `cause` logged by `server` on line 1 of the first
    /// input, with no time, keys, status or join: what tests start from.
    pub fn plain(cause: CauseId, server: Server) -> Failure {
        Failure {
            cause,
            server,
            status: None,
            time: None,
            micros: NO_MICROS,
            upstream: crate::keys::Key::None,
            route: crate::keys::Key::None,
            new_request: true,
            lines: 1,
            file: 0,
            line: 1,
            repeat: false,
            restatus: None,
            join: JoinKey::default(),
        }
    }
}

/// Statuses to correct: one request of each cause in `causes` was counted
/// with status `from`, and goes to the status of the failure that carries
/// this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restatus {
    /// One bit per cause id.
    pub causes: u64,
    /// The status they counted.
    pub from: u16,
}

impl Restatus {
    /// The causes, in id order.
    pub fn causes(self) -> impl Iterator<Item = CauseId> {
        (0..64u16)
            .filter(move |i| self.causes >> i & 1 == 1)
            .map(CauseId)
    }
}

/// One access-log line: a request and what its client got, compact and
/// owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRequest {
    /// When the request ended (nginx's `$time_local`; Apache's `%t` plus
    /// the duration).
    pub time: Option<LocalTime>,
    /// The status the client got.
    pub status: u16,
    /// The request's duration (`$request_time`, `%D`), in milliseconds.
    pub duration_ms: Option<u64>,
    /// Upstream attempts that failed (a 5xx or no status).
    pub failed_attempts: u32,
    /// The last attempt got a response header: a 5xx with one is the
    /// application's own answer. `None` when the format does not tell.
    pub answered_by_upstream: Option<bool>,
    /// The Apache format, whose time is the start.
    pub time_is_start: bool,
    /// nginx `$connection` (the error log's `*N`).
    pub connection: Option<u64>,
    /// Hash of the request line (0 when not logged).
    pub request: u64,
    /// Hash of `$request_id` / Apache's `%L` (0 when not logged).
    pub log_id: u64,
    /// Route key in the chunk's table, or [`NO_KEY`](crate::keys::NO_KEY).
    pub route: u32,
    /// Line index within the chunk (0-based).
    pub line: u32,
}

impl ClientRequest {
    /// The client got a 5xx.
    pub fn failed(&self) -> bool {
        self.status >= 500
    }

    /// A retry recovered from an earlier failed attempt.
    pub fn absorbed(&self) -> bool {
        self.status < 500 && self.failed_attempts > 0
    }
}

/// Unrecognized lines kept as samples.
pub const UNRECOGNIZED_SAMPLES: usize = 5;

/// Line statistics of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Physical lines read.
    pub total: u64,
    /// Lines that are part of a counted failure.
    pub matched: u64,
    /// Lines in no known format.
    pub unrecognized: u64,
    /// Lines over the length limit, skipped.
    pub oversized: u64,
    /// Continuation lines of multi-line records (PHP stack traces).
    pub continuation: u64,
    /// Empty lines.
    pub blank: u64,
    /// Recognised lines per server.
    pub by_server: PerServer<u64>,
    /// Access-log lines (requests, one a line).
    pub access: u64,
    /// Failed requests seen but left out by the filters (`--since`,
    /// `--until`, `--cause`, `--upstream`).
    pub excluded: u64,
}

impl LineStats {
    /// Adds another input's counts.
    pub fn add(&mut self, o: &LineStats) {
        // Saturating: merged reports are input too.
        self.total = self.total.saturating_add(o.total);
        self.matched = self.matched.saturating_add(o.matched);
        self.unrecognized = self.unrecognized.saturating_add(o.unrecognized);
        self.oversized = self.oversized.saturating_add(o.oversized);
        self.continuation = self.continuation.saturating_add(o.continuation);
        self.blank = self.blank.saturating_add(o.blank);
        self.excluded = self.excluded.saturating_add(o.excluded);
        self.access = self.access.saturating_add(o.access);
        for (s, n) in self.by_server.iter_mut() {
            *n = n.saturating_add(o.by_server[s]);
        }
    }
}
