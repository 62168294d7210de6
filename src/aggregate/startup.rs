//! Start-up and configuration errors, counted apart from the failures: by
//! kind, server, message and configuration `file:line`, each with its
//! count, first and last time and first line.

use hashbrown::HashMap;

use super::cells::Example;
use crate::event::{LocalTime, Server, StartupId};
use crate::order::Startup;

/// Most distinct start-up errors kept; past it, they are counted in
/// [`StartupErrors::folded`].
pub const MAX_STARTUP: usize = 256;

/// Longest message or `file:line` kept, in bytes.
const MAX_TEXT: usize = 512;

/// Longest example line kept, in bytes (as a cause's).
const MAX_EXAMPLE: usize = 4096;

/// One start-up error: a kind, the server, the message and the
/// configuration's `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupStats {
    /// Its kind.
    pub kind: StartupId,
    /// The server that wrote it.
    pub server: Server,
    /// What failed, in the server's words.
    pub message: Vec<u8>,
    /// The configuration's `file:line`, where the line named it.
    pub config: Option<Vec<u8>>,
    /// Lines that told it.
    pub count: u64,
    /// Of them, lines with no time.
    pub untimed: u64,
    /// Earliest time seen.
    pub first: Option<LocalTime>,
    /// Latest time seen.
    pub last: Option<LocalTime>,
    /// The earliest line in input order.
    pub example: Example,
}

type Key = (StartupId, Server, Vec<u8>, Option<Vec<u8>>);

/// The start-up errors of a run, in the order first met.
#[derive(Debug, Clone, Default)]
pub struct StartupErrors {
    /// The errors.
    pub list: Vec<StartupStats>,
    /// Lines of errors past [`MAX_STARTUP`] distinct ones.
    pub folded: u64,
    index: HashMap<Key, usize>,
}

fn cut(b: &[u8]) -> Vec<u8> {
    b[..b.len().min(MAX_TEXT)].to_vec()
}

impl StartupErrors {
    /// Counts one line (or record) of a start-up error.
    pub fn add(&mut self, s: &Startup<'_>) {
        let ev = s.event;
        let key = (ev.kind, ev.server, cut(s.message), s.config.map(cut));
        self.count(
            key,
            1,
            u64::from(ev.time.is_none()),
            ev.time,
            ev.time,
            Example {
                file: s.file,
                line: s.line,
                text: s.text[..s.text.len().min(MAX_EXAMPLE)].to_vec(),
            },
        );
    }

    fn count(
        &mut self,
        key: Key,
        n: u64,
        untimed: u64,
        first: Option<LocalTime>,
        last: Option<LocalTime>,
        example: Example,
    ) {
        let at = match self.index.get(&key) {
            Some(&i) => i,
            None if self.list.len() >= MAX_STARTUP => {
                self.folded = self.folded.saturating_add(n);
                return;
            }
            None => {
                let (kind, server, message, config) = key.clone();
                self.list.push(StartupStats {
                    kind,
                    server,
                    message,
                    config,
                    count: 0,
                    untimed: 0,
                    first: None,
                    last: None,
                    example: example.clone(),
                });
                self.index.insert(key, self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let e = &mut self.list[at];
        e.count = e.count.saturating_add(n);
        e.untimed = e.untimed.saturating_add(untimed);
        e.first = e.first.into_iter().chain(first).min();
        e.last = e.last.into_iter().chain(last).max();
        if (example.file, example.line) < (e.example.file, e.example.line) {
            e.example = example;
        }
    }

    /// Puts back one error (a saved report's): kept as it is.
    pub fn restore(&mut self, s: StartupStats) {
        let key = (s.kind, s.server, s.message, s.config);
        self.count(key, s.count, s.untimed, s.first, s.last, s.example);
    }

    /// Adds another run's errors, whose inputs come after ours.
    pub fn merge(&mut self, other: StartupErrors, file_offset: u32) {
        self.folded = self.folded.saturating_add(other.folded);
        for mut s in other.list {
            s.example.file += file_offset;
            self.restore(s);
        }
    }
}
