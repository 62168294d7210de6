//! A progress bar for long batches, on stderr only.
//!
//! Shown only on a terminal, never in CI (`CI` set) or with `--quiet`, and
//! only once a run has taken more than a second, so short runs and pipes
//! stay clean. It counts input bytes as read from disk (compressed bytes
//! for gzip), so the ETA holds for rotated `.gz` archives too.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a run goes before the bar appears.
const DELAY: Duration = Duration::from_secs(1);

/// Progress of a batch run; cheap to update from the reader thread.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
    /// Bytes of the inputs done before the current one.
    done: AtomicU64,
}

impl Progress {
    /// Whether a bar should be drawn at all.
    pub fn wanted(quiet: bool) -> bool {
        !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
    }

    /// A bar for `total` bytes (a spinner when the total is unknown, as for
    /// stdin); hidden until the run has lasted `DELAY` (one second).
    pub fn new(total: Option<u64>) -> Progress {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::hidden()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
        };
        let template = if total.is_some() {
            "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}"
        } else {
            "{spinner} {bytes} {binary_bytes_per_sec} {wide_msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
            done: AtomicU64::new(0),
        }
    }

    /// A new input starts; `name` is shown beside the bar.
    pub fn start_input(&self, name: &str) {
        self.done.store(self.bar.position(), Ordering::Relaxed);
        self.bar
            .set_message(crate::bytes::escape(name).into_owned());
    }

    /// `bytes` of the current input have been read so far.
    pub fn input_position(&self, bytes: u64) {
        self.bar
            .set_position(self.done.load(Ordering::Relaxed) + bytes);
        if !self.shown.load(Ordering::Relaxed) && self.start.elapsed() >= DELAY {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Removes the bar before the report is printed.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
