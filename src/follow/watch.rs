//! Waking the follow loop when a followed file may have changed.
//!
//! The directories of the followed paths are watched through `notify`
//! (inotify on Linux, kqueue on the BSDs and macOS): a write, a creation,
//! a rename or a deletion of a file whose name starts with a followed
//! file's name (`error.log`, `error.log.1`, `error.log-20261120`, ...)
//! wakes the loop at once, and the next wake-up comes [`SETTLE`] later at
//! the soonest (a writer's writes meanwhile are folded into one event by
//! the kernel). Polling stays the ground truth: a wake only
//! says "poll now", and the loop still polls every [`SAFETY_POLL`] for
//! what no event tells (a file written over NFS by another host, a rotated
//! file moved to another directory). Where a directory cannot be watched
//! (no inotify, the watch limit reached, a directory that does not exist
//! yet), every file is polled every [`POLL`] as before.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Time between polls of the files where their directories cannot be
/// watched.
pub const POLL: Duration = Duration::from_millis(100);

/// Time between polls while the directories are watched.
pub const SAFETY_POLL: Duration = Duration::from_secs(1);

/// Least time between two wake-ups by events. After one, the watching
/// thread waits this long before it reads the next events, so that the
/// kernel folds the writes meanwhile into one event: a writer that writes
/// line by line (thousands of writes a second) costs at most 100 wake-ups
/// and polls a second instead of one per write, and a line waits at most
/// this long more.
pub const SETTLE: Duration = Duration::from_millis(10);

/// Why the loop wakes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Ctrl-C or SIGTERM.
    Stop,
    /// Something changed in a watched directory.
    Files,
}

/// The watch on the directories of the followed paths.
pub struct Watch {
    watcher: Option<RecommendedWatcher>,
    /// Set by an event until the loop polls; one wake per poll at most.
    pending: Arc<AtomicBool>,
    /// Why the directories are polled rather than watched.
    pub error: Option<String>,
}

impl Watch {
    /// Watches the directories of `paths`; events send [`Wake::Files`]
    /// on `wake`.
    pub fn start(paths: &[PathBuf], wake: Sender<Wake>) -> Watch {
        // Per directory, the file names whose events matter.
        let mut dirs: BTreeMap<PathBuf, Vec<OsString>> = BTreeMap::new();
        for p in paths {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if let Some(name) = p.file_name() {
                dirs.entry(dir).or_default().push(name.to_os_string());
            }
        }
        let pending = Arc::new(AtomicBool::new(false));
        let names: Vec<OsString> = dirs.values().flatten().cloned().collect();
        let flag = Arc::clone(&pending);
        let handler = move |event: notify::Result<Event>| {
            let relevant = match &event {
                Ok(e) => !matches!(e.kind, EventKind::Access(_)) && touches(e, &names),
                // An overflowed queue or a failing watch: look at everything.
                Err(_) => true,
            };
            if relevant && !flag.swap(true, Ordering::AcqRel) {
                let _ = wake.send(Wake::Files);
                std::thread::sleep(SETTLE);
            }
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                return Watch::polling(pending, format!("cannot watch files ({})", describe(&e)));
            }
        };
        for dir in dirs.keys() {
            if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                return Watch::polling(
                    pending,
                    format!("cannot watch {} ({})", dir.display(), describe(&e)),
                );
            }
        }
        Watch {
            watcher: Some(watcher),
            pending,
            error: None,
        }
    }

    fn polling(pending: Arc<AtomicBool>, error: String) -> Watch {
        Watch {
            watcher: None,
            pending,
            error: Some(error),
        }
    }

    /// Whether events wake the loop.
    pub fn is_watching(&self) -> bool {
        self.watcher.is_some()
    }

    /// Longest time between two polls.
    pub fn interval(&self) -> Duration {
        if self.is_watching() {
            SAFETY_POLL
        } else {
            POLL
        }
    }

    /// Called before each poll: events from now on wake the loop again.
    pub fn polling_now(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

/// Why watching failed, in the words of the other messages.
fn describe(e: &notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::PathNotFound => "no such directory".to_string(),
        notify::ErrorKind::MaxFilesWatch => {
            "the limit on inotify watches is reached: fs.inotify.max_user_watches".to_string()
        }
        notify::ErrorKind::Io(io) => crate::error::describe_io(io),
        _ => e.to_string(),
    }
}

/// Whether an event names a followed file or one of its rotated copies.
fn touches(e: &Event, names: &[OsString]) -> bool {
    // An event without a path (a rescan) may concern anything.
    e.paths.is_empty() || e.paths.iter().any(|p| named(p, names))
}

fn named(p: &Path, names: &[OsString]) -> bool {
    let Some(file) = p.file_name() else {
        return true;
    };
    let file = file.as_encoded_bytes();
    names.iter().any(|n| file.starts_with(n.as_encoded_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::mpsc::channel;

    #[test]
    fn rotated_copies_count_and_other_files_do_not() {
        let names = [OsString::from("error.log")];
        for p in ["/l/error.log", "/l/error.log.1", "/l/error.log-20261120.gz"] {
            assert!(named(Path::new(p), &names), "{p}");
        }
        for p in ["/l/access.log", "/l/other-error.log"] {
            assert!(!named(Path::new(p), &names), "{p}");
        }
    }

    #[test]
    fn a_directory_that_does_not_exist_is_polled() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, _rx) = channel();
        let w = Watch::start(&[dir.path().join("later/error.log")], tx);
        assert!(!w.is_watching());
        assert_eq!(w.interval(), POLL);
        let e = w.error.unwrap();
        assert!(e.ends_with("later (no such directory)"), "{e}");
    }

    #[test]
    fn a_write_wakes_the_loop_once_per_poll() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("error.log");
        std::fs::write(&log, "").unwrap();
        let (tx, rx) = channel();
        let w = Watch::start(std::slice::from_ref(&log), tx);
        if !w.is_watching() {
            // No inotify here (a sandbox without it): polling it is.
            assert_eq!(w.interval(), POLL);
            return;
        }
        assert_eq!(w.interval(), SAFETY_POLL);
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        // An unrelated file wakes nothing.
        std::fs::write(dir.path().join("access.log"), "x\n").unwrap();
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        for _ in 0..3 {
            f.write_all(b"line\n").unwrap();
        }
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Wake::Files
        );
        // Not polled yet: the other writes sent nothing more.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        w.polling_now();
        std::fs::rename(&log, dir.path().join("error.log.1")).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Wake::Files
        );
    }
}
