//! The servers' lifecycle lines (a reload, a restart, workers started or
//! gone): no failures, kept apart so that incidents can tell a deploy.
//! Rare in any log (a few lines per reload), so a plain list, bounded: the
//! first [`MAX_LIFECYCLE`] of the lines that can start a deploy are kept,
//! the rest only counted.

use super::cells::Example;
use crate::event::{Lifecycle, LocalTime, Server};
use crate::order;

/// Most lifecycle lines kept; past it they are counted in
/// [`Lifecycles::folded`].
pub const MAX_LIFECYCLE: usize = 1024;

/// Longest line kept, in bytes.
const MAX_TEXT: usize = 1024;

/// One lifecycle line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleLine {
    /// What it tells.
    pub kind: Lifecycle,
    /// The server that wrote it.
    pub server: Server,
    /// Its time.
    pub time: Option<LocalTime>,
    /// Where it is, and its text (cut).
    pub line: Example,
}

/// The lifecycle lines of a run, in input order.
#[derive(Debug, Clone, Default)]
pub struct Lifecycles {
    /// Lines kept: the kinds that can start a deploy (all but
    /// [`Lifecycle::Exit`], which follows them).
    pub list: Vec<LifecycleLine>,
    /// Such lines past [`MAX_LIFECYCLE`].
    pub folded: u64,
    /// Members taken out of their group ([`Lifecycle::Disabled`]), the
    /// first [`MAX_LIFECYCLE`].
    pub disabled: Vec<LifecycleLine>,
    /// Such lines past [`MAX_LIFECYCLE`].
    pub disabled_folded: u64,
    /// Every lifecycle line seen, kept or not.
    pub count: u64,
}

impl Lifecycles {
    /// Takes one line.
    pub fn add(&mut self, l: &order::Lifecycle<'_>) {
        self.count = self.count.saturating_add(1);
        let ev = l.event;
        if ev.kind == Lifecycle::Exit {
            return;
        }
        let (list, folded) = if ev.kind == Lifecycle::Disabled {
            (&mut self.disabled, &mut self.disabled_folded)
        } else {
            (&mut self.list, &mut self.folded)
        };
        if list.len() >= MAX_LIFECYCLE {
            *folded = folded.saturating_add(1);
            return;
        }
        list.push(LifecycleLine {
            kind: ev.kind,
            server: ev.server,
            time: ev.time,
            line: Example {
                file: l.file,
                line: l.line,
                text: l.text[..l.text.len().min(MAX_TEXT)].to_vec(),
            },
        });
    }

    /// Takes back a line a report kept (for `merge`), bounded as
    /// [`add`](Lifecycles::add) is.
    pub fn restore(&mut self, l: LifecycleLine) {
        self.count = self.count.saturating_add(1);
        let (list, folded) = if l.kind == Lifecycle::Disabled {
            (&mut self.disabled, &mut self.disabled_folded)
        } else {
            (&mut self.list, &mut self.folded)
        };
        if list.len() >= MAX_LIFECYCLE {
            *folded = folded.saturating_add(1);
        } else {
            list.push(l);
        }
    }

    /// Adds another run's lines (its inputs come after ours).
    pub fn merge(&mut self, other: Lifecycles, file_offset: u32) {
        self.count = self.count.saturating_add(other.count);
        self.folded = self.folded.saturating_add(other.folded);
        self.disabled_folded = self.disabled_folded.saturating_add(other.disabled_folded);
        for mut l in other.list.into_iter().chain(other.disabled) {
            let (list, folded) = if l.kind == Lifecycle::Disabled {
                (&mut self.disabled, &mut self.disabled_folded)
            } else {
                (&mut self.list, &mut self.folded)
            };
            if list.len() >= MAX_LIFECYCLE {
                *folded = folded.saturating_add(1);
                continue;
            }
            l.line.file += file_offset;
            list.push(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LifecycleEvent;

    /// However many reloads a log holds, the list stays at
    /// [`MAX_LIFECYCLE`] and the rest are counted; worker exits are
    /// counted, never kept.
    #[test]
    fn the_list_is_bounded_and_the_rest_counted() {
        let mut l = Lifecycles::default();
        let ev = |kind| LifecycleEvent {
            kind,
            server: Server::Nginx,
            time: Some(LocalTime(100)),
            line: 0,
            start: 0,
            end: 1,
            lines: 1,
        };
        let (reload, exit) = (ev(Lifecycle::Reload), ev(Lifecycle::Exit));
        for n in 0..3000u64 {
            let event = if n % 3 == 2 { &exit } else { &reload };
            l.add(&order::Lifecycle {
                event,
                file: 0,
                line: n + 1,
                text: b"reconfiguring",
            });
        }
        assert_eq!(l.list.len(), MAX_LIFECYCLE);
        assert_eq!(l.folded, 2000 - MAX_LIFECYCLE as u64);
        assert_eq!(l.count, 3000);
        assert!(l.list.iter().all(|x| x.kind == Lifecycle::Reload));
        let mut m = Lifecycles::default();
        m.merge(l.clone(), 0);
        m.merge(l, 1);
        assert_eq!(m.list.len(), MAX_LIFECYCLE);
        assert_eq!(
            m.folded,
            2 * (2000 - MAX_LIFECYCLE as u64) + MAX_LIFECYCLE as u64
        );
        assert_eq!(m.count, 6000);
    }
}
