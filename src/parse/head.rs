//! What every format's parser yields: the server whose layout it is and
//! the fixed prefix of the line ([`Head`]), borrowed from it.

use crate::event::{LocalTime, Server};

/// The fixed prefix of a recognised line, borrowing from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// The server whose layout matched.
    pub server: Server,
    /// Local time as written; `None` only for prefix-less forms.
    pub time: Option<LocalTime>,
    /// The microseconds of that second where the line has them, else
    /// [`NO_MICROS`](crate::event::NO_MICROS).
    pub micros: u32,
    /// Level as written (`error`, `proxy:error` gives `error`, `WARNING`).
    pub level: &'a [u8],
    /// Apache module (`proxy`, `proxy_fcgi`, possibly empty).
    pub module: &'a [u8],
    /// Process id (nginx, Apache 2.4).
    pub pid: Option<u32>,
    /// Thread id (nginx, Apache 2.4 threaded MPMs).
    pub tid: Option<u64>,
    /// nginx: the connection number (`*N`). Apache: its request log id
    /// (`[R:...]` where `ErrorLogFormat` has `%L`), hashed by
    /// [`log_id_hash`](super::apache::log_id_hash) as the access log's `%L`
    /// is (kept here rather than in a field of its own: a larger head
    /// costs every line a longer copy).
    pub cid: Option<u64>,
    /// Everything after the prefix.
    pub body: &'a [u8],
}

impl<'a> Head<'a> {
    /// A line of `server`'s with no prefix left (a cut paste, a message
    /// written before the log was set up): only its body is known.
    pub fn bare(server: Server, body: &'a [u8]) -> Head<'a> {
        Head {
            server,
            time: None,
            micros: crate::event::NO_MICROS,
            level: b"",
            module: b"",
            pid: None,
            tid: None,
            cid: None,
            body,
        }
    }
}
