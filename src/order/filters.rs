//! Which failures are counted: `--since`, `--until`, `--cause`,
//! `--upstream`.

use memchr::memmem;

use crate::event::{CauseId, Failure, LocalTime};

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
    /// True when the failure (whose upstream is `upstream`) passes every
    /// filter. Failures without a time pass the time filters (they cannot
    /// be placed).
    #[inline]
    pub fn keep(&self, f: &Failure, upstream: Option<&[u8]>) -> bool {
        if !self.causes.is_empty() && !self.causes.contains(&f.cause) {
            return false;
        }
        if !self.keep_time(f.time) {
            return false;
        }
        if let Some(want) = &self.upstream {
            match upstream {
                Some(u) if memmem::find(u, want.as_bytes()).is_some() => {}
                _ => return false,
            }
        }
        true
    }

    /// True when `time` is inside `--since` and `--until` (or unknown).
    #[inline]
    pub fn keep_time(&self, time: Option<LocalTime>) -> bool {
        !time.is_some_and(|t| {
            self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u)
        })
    }
}
