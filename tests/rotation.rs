//! The rotation harness: a writer thread appends numbered failure lines
//! to a log at about 2,000 lines a second while a rotator rotates it the
//! ways logrotate does, and `upcause follow` must count exactly what was
//! written, less only the lines copytruncate loses by design (written
//! between the copy and the truncation), which the harness measures.
//! Every wait is bounded; each test kills only the child it started.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest wait for the count to settle.
const PATIENCE: Duration = Duration::from_secs(20);

/// Lines per run and rotations per run.
const LINES: u64 = 3_000;
const ROTATIONS: u32 = 4;

/// How the rotator rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Rename to `.1` (older ones shifted), new file, the writer reopens
    /// 20 ms later (postrotate).
    Create,
    /// The same with `-YYYYMMDD` names.
    DateExt,
    /// Copy, then truncate in place; the writer never reopens.
    CopyTruncate,
    /// Copytruncate, then at once more lines than the file held before.
    CopyTruncateRegrow,
    /// Two rename rotations 15 ms apart.
    TwoQuickRenames,
    /// Rename, reopen, and gzip the rotated file at once (then delete it).
    Compress,
    /// Rename and a new file, but the writer is never told: it writes to
    /// its first file throughout.
    NoPostrotate,
}

/// The writer's side: its open file and what it wrote.
struct Writer {
    file: File,
    written: u64,
    next: u64,
}

fn line(i: u64) -> String {
    format!(
        "2026/11/20 10:00:{:02} [error] 7#7: *{i} connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET /api/{i} HTTP/1.1\", upstream: \"http://10.0.0.1:80/api/{i}\", host: \"h\"\n",
        i % 60
    )
}

fn open_append(p: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .unwrap()
}

impl Writer {
    fn write(&mut self, n: u64) {
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(&line(self.next));
            self.next += 1;
        }
        self.file.write_all(text.as_bytes()).unwrap();
        self.written += n;
    }
}

/// Newlines in `p` from byte `from` on.
fn lines_from(p: &Path, from: u64) -> u64 {
    let data = std::fs::read(p).unwrap();
    data.get(from as usize..)
        .map_or(0, |d| d.iter().filter(|&&b| b == b'\n').count() as u64)
}

/// Shifts `base.N` to `base.N+1`, oldest first.
fn shift(base: &Path) {
    let name = |n: u32| PathBuf::from(format!("{}.{n}", base.display()));
    for n in (1..=ROTATIONS * 2 + 2).rev() {
        if name(n).exists() {
            std::fs::rename(name(n), name(n + 1)).unwrap();
        }
    }
}

fn rotate(mode: Mode, k: u32, log: &Path, w: &Mutex<Writer>, lost: &mut u64) {
    let one = PathBuf::from(format!("{}.1", log.display()));
    match mode {
        Mode::Create | Mode::DateExt | Mode::Compress | Mode::NoPostrotate => {
            let to = if mode == Mode::DateExt {
                PathBuf::from(format!("{}-202611{:02}", log.display(), 10 + k))
            } else {
                shift(log);
                one.clone()
            };
            {
                let _g = w.lock().unwrap();
                std::fs::rename(log, &to).unwrap();
                File::create(log).unwrap();
            }
            if mode == Mode::NoPostrotate {
                return;
            }
            std::thread::sleep(Duration::from_millis(if mode == Mode::Compress {
                0
            } else {
                20
            }));
            w.lock().unwrap().file = open_append(log);
            if mode == Mode::Compress {
                let data = std::fs::read(&to).unwrap();
                let gz = open_append(&PathBuf::from(format!("{}.gz", to.display())));
                let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
                enc.write_all(&data).unwrap();
                enc.finish().unwrap();
                std::fs::remove_file(&to).unwrap();
            }
        }
        Mode::TwoQuickRenames => {
            for _ in 0..2 {
                shift(log);
                {
                    let mut g = w.lock().unwrap();
                    std::fs::rename(log, &one).unwrap();
                    g.file = open_append(log);
                }
                std::thread::sleep(Duration::from_millis(15));
            }
        }
        Mode::CopyTruncate | Mode::CopyTruncateRegrow => {
            shift(log);
            // The writer waits while the copy is taken, so that what the
            // copy misses is known exactly: none. (Lines written between
            // the copy and the truncation may or may not have been read
            // from the original before it shrank; `tail.rs`'s unit tests
            // cover that race and its estimate.)
            let mut g = w.lock().unwrap();
            std::fs::copy(log, &one).unwrap();
            let copied = std::fs::metadata(&one).unwrap().len();
            *lost += lines_from(log, copied);
            let held = std::fs::metadata(log).unwrap().len();
            OpenOptions::new()
                .write(true)
                .open(log)
                .unwrap()
                .set_len(0)
                .unwrap();
            if mode == Mode::CopyTruncateRegrow {
                // Past the old offset before the next poll.
                let n = held / line(0).len() as u64 + 20;
                g.write(n);
            }
        }
    }
}

/// A running `upcause follow --format json` with its stdout read line by line.
struct Follow {
    child: Child,
    lines: Receiver<String>,
}

impl Follow {
    fn start(path: &Path) -> Follow {
        let mut child = Command::new(env!("CARGO_BIN_EXE_upcause"))
            .args([
                "follow",
                "--no-state",
                "--format",
                "json",
                "--interval",
                "200ms",
            ])
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Follow { child, lines: rx }
    }

    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let l = self.lines.recv_timeout(left).ok()?;
        Some(serde_json::from_str(&l).unwrap())
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn total(v: &Value) -> u64 {
    v["since_start"]["total_failures"].as_u64().unwrap()
}

/// Runs one mode: the counts follow reports must be what was written,
/// less what copytruncate lost.
fn run(mode: Mode) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    File::create(&log).unwrap();
    let mut f = Follow::start(&log);
    f.next(Instant::now() + PATIENCE).expect("the first report");
    let w = Arc::new(Mutex::new(Writer {
        file: open_append(&log),
        written: 0,
        next: 0,
    }));
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (w, done) = (Arc::clone(&w), Arc::clone(&done));
        std::thread::spawn(move || {
            while w.lock().unwrap().next < LINES {
                w.lock().unwrap().write(10);
                std::thread::sleep(Duration::from_millis(5));
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut lost = 0;
    for k in 0..ROTATIONS {
        std::thread::sleep(Duration::from_millis(250));
        rotate(mode, k, &log, &w, &mut lost);
    }
    writer.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
    let written = w.lock().unwrap().written;
    let want = written - lost;
    let deadline = Instant::now() + PATIENCE;
    let mut last = Value::Null;
    let mut stable = 0;
    while let Some(v) = f.next(deadline) {
        // Alert transitions and incident events are not reports.
        if v.get("alert").is_some() || v.get("event").is_some() {
            continue;
        }
        let n = total(&v);
        assert!(
            n <= want,
            "{mode:?}: counted {n}, more than {want} written: {v:#}"
        );
        stable = if n == want { stable + 1 } else { 0 };
        last = v;
        if stable == 3 {
            break;
        }
    }
    assert_eq!(
        total(&last),
        want,
        "{mode:?}: {written} written, {lost} lost to copytruncate"
    );
    let name = log.display().to_string();
    let rotations = last["rotations"][&name].as_u64().unwrap();
    assert!(rotations >= u64::from(ROTATIONS), "{mode:?}: {last:#}");
    let estimate = last["lost_bytes_estimate"][&name].as_u64().unwrap();
    assert!(
        estimate <= lost * line(LINES).len() as u64,
        "{mode:?}: estimate {estimate} for {lost} lines"
    );
    eprintln!(
        "{mode:?}: {written} lines written, {lost} lost to copytruncate, estimate {estimate} bytes"
    );
}

#[test]
fn create() {
    run(Mode::Create);
}

#[test]
fn dateext() {
    run(Mode::DateExt);
}

#[test]
fn copytruncate() {
    run(Mode::CopyTruncate);
}

/// The file regrows past the old offset before the next poll, and at
/// times while follow is reading it: nothing is read from the old offset
/// in the new content, and no line is counted twice.
#[test]
fn copytruncate_with_fast_regrowth() {
    run(Mode::CopyTruncateRegrow);
}

#[test]
fn two_quick_renames() {
    run(Mode::TwoQuickRenames);
}

#[test]
fn compress_right_after_rotate() {
    run(Mode::Compress);
}

#[test]
fn no_postrotate() {
    run(Mode::NoPostrotate);
}
