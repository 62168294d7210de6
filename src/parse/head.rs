//! What every format's parser yields: the layout recognised and the fixed
//! prefix of the line ([`Head`]), borrowed from it.

use crate::event::{LocalTime, Server};

/// The line layout that was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid message`.
    Nginx,
    /// `[time] [module:level] [pid N:tid T] ...` (2.4 default ErrorLogFormat).
    Apache24,
    /// `[time] [level] ...` (2.2, no module, no pid).
    Apache22,
    /// `[DD-Mon-YYYY HH:MM:SS] LEVEL: message`.
    PhpFpm,
}

impl Format {
    /// The server behind the format.
    pub fn server(self) -> Server {
        match self {
            Format::Nginx => Server::Nginx,
            Format::Apache24 | Format::Apache22 => Server::Apache,
            Format::PhpFpm => Server::PhpFpm,
        }
    }
}

/// The fixed prefix of a recognised line, borrowing from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// Which layout matched.
    pub format: Format,
    /// Local time as written; `None` only for prefix-less forms.
    pub time: Option<LocalTime>,
    /// Level as written (`error`, `proxy:error` gives `error`, `WARNING`).
    pub level: &'a [u8],
    /// Apache module (`proxy`, `proxy_fcgi`, possibly empty).
    pub module: &'a [u8],
    /// Process id (nginx, Apache 2.4).
    pub pid: Option<u32>,
    /// Thread id (nginx, Apache 2.4 threaded MPMs).
    pub tid: Option<u64>,
    /// nginx connection number (`*N`).
    pub cid: Option<u64>,
    /// Everything after the prefix.
    pub body: &'a [u8],
}
