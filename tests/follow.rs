//! `upcause follow` as a user runs it: the built binary follows files in a
//! temporary directory while the test appends, rotates, truncates and
//! deletes them, and reads its JSON reports (one object per line) with a
//! timeout. Every wait is bounded; each test kills only the child it
//! started.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::free_port;
use serde_json::Value;

/// Longest wait for any one expected report.
const PATIENCE: Duration = Duration::from_secs(10);

/// A running `upcause follow` with its stdout read line by line.
struct Follow {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// Everything read so far (for failure messages).
    seen: Vec<String>,
}

impl Follow {
    /// Starts `upcause follow --format json --interval 200ms ARGS...`.
    fn start(args: &[&str]) -> Follow {
        Follow::every("200ms", args)
    }

    /// Starts `upcause follow --format json --interval INTERVAL ARGS...`.
    fn every(interval: &str, args: &[&str]) -> Follow {
        let common::Piped {
            child,
            lines,
            stderr,
        } = common::spawn_piped(
            common::bin()
                .args(["follow", "--format", "json", "--interval", interval])
                .args(if args.contains(&"--state") {
                    &[][..]
                } else {
                    &["--no-state"][..]
                })
                .args(args)
                .env_remove("NO_COLOR"),
        );
        Follow {
            child,
            lines,
            stderr,
            seen: Vec::new(),
        }
    }

    /// The next JSON object on stdout, or `None` at the deadline or the end.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                self.seen.push(line);
                Some(v)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The first report (not an alert) for which `ok` holds.
    fn report_where(&mut self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        while let Some(v) = self.next(deadline) {
            if v.get("alert").is_none() && v.get("event").is_none() && ok(&v) {
                return v;
            }
        }
        self.fail(what)
    }

    /// The first alert transition.
    fn alert(&mut self) -> Value {
        let deadline = Instant::now() + PATIENCE;
        while let Some(v) = self.next(deadline) {
            if v.get("alert").is_some() && v.get("state").is_some() {
                return v;
            }
        }
        self.fail("an alert line")
    }

    /// The first report: by then every file was opened and positioned.
    fn ready(&mut self) -> Value {
        self.report_where("the first report", |_| true)
    }

    /// Waits for `n` failed requests since start, then checks that the
    /// count stays there over three more reports (nothing counted twice).
    fn settles_at(&mut self, n: u64) -> Value {
        let v = self.report_where(&format!("{n} failures"), |v| total(v) >= n);
        assert_eq!(total(&v), n, "{v:#}");
        let mut last = v;
        for _ in 0..3 {
            last = self.report_where("another report", |_| true);
            assert_eq!(total(&last), n, "{last:#}");
        }
        last
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(50));
        panic!(
            "no {what} within {PATIENCE:?}; stdout:\n{}\nstderr:\n{}",
            self.seen.join("\n"),
            self.stderr.lock().unwrap()
        );
    }

    /// Sends SIGTERM and returns the exit status and the objects printed
    /// until the end.
    fn terminate(&mut self) -> (ExitStatus, Vec<Value>) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + PATIENCE;
        let mut rest = Vec::new();
        while let Some(v) = self.next(deadline) {
            rest.push(v);
        }
        match common::exit_by(&mut self.child, deadline) {
            Some(status) => (status, rest),
            None => self.fail("exit after SIGTERM"),
        }
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Failed requests since start in a report.
fn total(v: &Value) -> u64 {
    v["since_start"]["total_failures"].as_u64().unwrap()
}

/// A cause's count in the rolling report (0 when absent).
fn count(v: &Value, cause: &str) -> u64 {
    v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == cause)
        .map_or(0, |c| c["count"].as_u64().unwrap())
}

/// An nginx refused-connect line: connection `conn`, second `sec` of
/// 10:00, upstream 10.0.0.`up`.
fn refused(conn: u32, sec: u32, up: u32) -> String {
    format!(
        "2026/11/20 10:00:{sec:02} [error] 7#7: *{conn} connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET /api/users/{conn} HTTP/1.1\", upstream: \"http://10.0.0.{up}:80/api/users/{conn}\", host: \"h\"\n"
    )
}

fn timeout(conn: u32, sec: u32) -> String {
    format!(
        "2026/11/20 10:00:{sec:02} [error] 7#7: *{conn} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /slow HTTP/1.1\", upstream: \"http://10.0.0.9:80/slow\", host: \"h\"\n"
    )
}

fn refused_lines(from: u32, n: u32) -> String {
    (from..from + n).map(|i| refused(i, i % 60, 1)).collect()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn log_in(dir: &tempfile::TempDir) -> (PathBuf, String) {
    let p = dir.path().join("error.log");
    let s = p.display().to_string();
    (p, s)
}

#[test]
fn appended_lines_are_counted_exactly_and_old_ones_not() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, &refused_lines(100, 3));
    let mut f = Follow::start(&[&name]);
    let first = f.ready();
    assert_eq!(total(&first), 0);
    append(&log, &refused_lines(1, 5));
    append(&log, &(timeout(10, 20) + &timeout(11, 21)));
    let v = f.settles_at(7);
    assert_eq!(count(&v, "upstream_refused"), 5);
    assert_eq!(count(&v, "upstream_timeout"), 2);
    assert_eq!(v["files"][0]["lines"], 7);
    assert_eq!(v["lines"]["matched"], 7);
    // The log clock: the latest stamp (10:00:21) and the seconds since.
    assert_eq!(v["span"]["start"], "2026-11-20T09:46:00");
    assert_eq!(v["span"]["end"], "2026-11-20T10:01:00");
    assert_eq!(v["window"], "1m");
    assert_eq!(v["last"], "15m");
    assert_eq!(v["final"], false);
    assert!(v["interval"]["start"].is_string() && v["interval"]["end"].is_string());
}

#[test]
fn from_start_reads_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, &refused_lines(1, 4));
    let mut f = Follow::start(&["--from-start", &name]);
    let v = f.settles_at(4);
    assert_eq!(count(&v, "upstream_refused"), 4);
    append(&log, &refused_lines(5, 1));
    f.settles_at(5);
}

#[test]
fn the_filters_and_what_they_left_out_are_in_each_report() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, &refused_lines(1, 3));
    append(&log, &timeout(9, 30));
    let mut f = Follow::start(&["--from-start", "--cause", "upstream_timeout", &name]);
    let v = f.settles_at(1);
    assert_eq!(count(&v, "upstream_timeout"), 1);
    assert_eq!(
        v["filters"]["causes"],
        serde_json::json!(["upstream_timeout"])
    );
    assert_eq!(v["excluded_failures"], 3);
}

#[test]
fn a_byte_order_mark_at_the_start_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, &format!("\u{feff}{}", refused_lines(1, 2)));
    let mut f = Follow::start(&["--from-start", &name]);
    let v = f.settles_at(2);
    assert_eq!(count(&v, "upstream_refused"), 2);
    assert_eq!(v["lines"]["unrecognized"], 0);
}

#[test]
fn rename_rotation_loses_nothing_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, &refused_lines(100, 2));
    let mut f = Follow::start(&[&name]);
    f.ready();
    append(&log, &refused_lines(1, 3));
    f.settles_at(3);
    // logrotate `create`: rename; the writer goes on writing to the old
    // file until it reopens; a new file takes the name.
    append(&log, &refused_lines(4, 1));
    std::fs::rename(&log, dir.path().join("error.log.1")).unwrap();
    append(&dir.path().join("error.log.1"), &refused_lines(5, 2));
    append(&log, &refused_lines(7, 4));
    // A straggler in the old file after the new one appeared still counts.
    append(&dir.path().join("error.log.1"), &refused_lines(11, 1));
    let v = f.settles_at(11);
    assert_eq!(v["rotations"][&name], 1);
    assert_eq!(v["files"][0]["lines"], 11);
    append(&log, &refused_lines(12, 1));
    let v = f.settles_at(12);
    assert_eq!(count(&v, "upstream_refused"), 12);
    assert_eq!(v["rotations"][&name], 1);
}

#[test]
fn copytruncate_reads_the_file_again_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let mut f = Follow::start(&[&name]);
    f.ready();
    append(&log, &refused_lines(1, 3));
    f.settles_at(3);
    std::fs::copy(&log, dir.path().join("error.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    // The rotation is seen before the file grows past the old offset.
    let v = f.report_where("the truncation", |v| v["rotations"][&name] == 1);
    assert_eq!(total(&v), 3);
    append(&log, &refused_lines(4, 2));
    let v = f.settles_at(5);
    assert_eq!(v["rotations"][&name], 1);
}

#[test]
fn delete_and_recreate_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let mut f = Follow::start(&[&name]);
    f.ready();
    append(&log, &refused_lines(1, 2));
    f.settles_at(2);
    std::fs::remove_file(&log).unwrap();
    f.report_where("a report after the delete", |_| true);
    append(&log, &refused_lines(3, 3));
    let v = f.settles_at(5);
    assert_eq!(v["rotations"][&name], 1);
}

/// A watched path replaced by a FIFO blocked the whole loop in
/// `open()` (SIGTERM unanswered), and one switched to `/dev/zero` burnt a
/// core. Neither is opened for reading: the file shows why, the loop goes
/// on, and a regular file in their place is followed again.
#[test]
fn a_fifo_or_device_in_the_paths_place_never_blocks_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let mut f = Follow::start(&[&name]);
    f.ready();
    append(&log, &refused_lines(1, 2));
    f.settles_at(2);
    std::fs::rename(&log, dir.path().join("error.log.1")).unwrap();
    assert!(Command::new("mkfifo").arg(&log).status().unwrap().success());
    let v = f.report_where("the FIFO refused", |v| {
        v["files"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("a FIFO, not a regular file"))
    });
    assert_eq!(total(&v), 2);
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &log).unwrap();
    let v = f.report_where("the device refused", |v| {
        v["files"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("a character device"))
    });
    assert_eq!(v["files"][0]["lines"], 2, "nothing read from /dev/zero");
    std::fs::remove_file(&log).unwrap();
    append(&log, &refused_lines(3, 3));
    let v = f.settles_at(5);
    assert_eq!(v["files"][0]["error"], Value::Null);
    let (status, rest) = f.terminate();
    assert!(status.success(), "{status:?}");
    assert_eq!(rest.last().unwrap()["final"], true);
}

/// Waits (bounded) until the state file says the followed file was read
/// to `len` bytes.
fn state_reaches(state: &Path, len: u64) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(state)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
            && v["files"]
                .as_object()
                .and_then(|f| f.values().next())
                .is_some_and(|f| f["current"]["offset"] == len)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "the state never reached {len}: {:?}",
        std::fs::read_to_string(state)
    );
}

/// A restart lost what was written while follow was down (or
/// re-read everything with --from-start). With --state, kill -9 and a
/// restart go on exactly where reading stopped, across a rename rotation
/// and a copytruncate that happened meanwhile.
#[test]
fn kill_9_and_restart_with_state_loses_nothing_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    let state = dir.path().join("state.json");
    let st = state.to_str().unwrap().to_string();
    append(&log, &refused_lines(100, 4));
    let mut f = Follow::start(&["--state", &st, &name]);
    f.ready();
    append(&log, &refused_lines(1, 5));
    f.settles_at(5);
    state_reaches(&state, std::fs::metadata(&log).unwrap().len());
    f.child.kill().unwrap(); // SIGKILL: no final write
    f.child.wait().unwrap();
    // Down: more lines, a rename rotation, the writer still writing to
    // the old file, a new file.
    append(&log, &refused_lines(6, 3));
    let one = dir.path().join("error.log.1");
    std::fs::rename(&log, &one).unwrap();
    append(&one, &refused_lines(9, 2));
    append(&log, &refused_lines(11, 4));
    let mut f = Follow::start(&["--state", &st, &name]);
    let v = f.settles_at(9);
    assert_eq!(v["rotations"][&name], 1);
    state_reaches(&state, std::fs::metadata(&log).unwrap().len());
    f.child.kill().unwrap();
    f.child.wait().unwrap();
    // Down again: copytruncate (the old rotation shifted first).
    std::fs::rename(&one, dir.path().join("error.log.2")).unwrap();
    append(&log, &refused_lines(15, 2));
    std::fs::copy(&log, &one).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &refused_lines(17, 3));
    let mut f = Follow::start(&["--state", &st, &name]);
    f.settles_at(5);
    let (status, _) = f.terminate();
    assert!(status.success());
}

#[test]
fn a_file_that_does_not_exist_yet_is_read_from_its_start_once_it_appears() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    let mut f = Follow::start(&[&name]);
    let v = f.ready();
    let err = v["files"][0]["error"].as_str().unwrap();
    assert!(err.contains("no such file"), "{err}");
    append(&log, &refused_lines(1, 2));
    let v = f.settles_at(2);
    assert_eq!(v["files"][0]["error"], Value::Null);
}

/// A directory that does not exist yet cannot be watched: follow says
/// so and polls, and counts exactly what is written once it exists,
/// across a rotation.
#[test]
fn a_directory_that_cannot_be_watched_is_polled() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("later");
    let log = sub.join("error.log");
    let name = log.display().to_string();
    let mut f = Follow::start(&[&name]);
    f.ready();
    std::fs::create_dir(&sub).unwrap();
    append(&log, &refused_lines(1, 3));
    f.settles_at(3);
    std::fs::rename(&log, sub.join("error.log.1")).unwrap();
    append(&log, &refused_lines(4, 2));
    let v = f.settles_at(5);
    assert_eq!(v["rotations"][&name], 1);
    let (status, _) = f.terminate();
    assert!(status.success());
    // The stderr reader has it all soon after the process is gone.
    let want = format!(
        "upcause: cannot watch {} (no such directory); polling every 100 ms\n",
        sub.display()
    );
    let deadline = Instant::now() + PATIENCE;
    while !f.stderr.lock().unwrap().contains(&want) {
        assert!(
            Instant::now() < deadline,
            "{want} in\n{}",
            f.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_partial_line_is_held_until_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let mut f = Follow::start(&[&name]);
    f.ready();
    let line = refused(1, 1, 1);
    let (head, rest) = line.split_at(60);
    append(&log, head);
    for _ in 0..3 {
        let v = f.report_where("a report", |_| true);
        assert_eq!(v["files"][0]["lines"], 0, "{v:#}");
        assert_eq!(total(&v), 0);
    }
    append(&log, rest);
    let v = f.settles_at(1);
    assert_eq!(v["files"][0]["lines"], 1);
    assert_eq!(v["lines"]["unrecognized"], 0);
}

#[test]
fn records_and_retries_that_span_two_reads_are_joined() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let mut f = Follow::start(&[&name]);
    f.ready();
    // A PHP stack trace over several lines, cut between two reads.
    append(
        &log,
        "2026/11/20 10:00:00 [error] 7#7: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: boom in /var/www/f.php:3\nStack trace:\n",
    );
    f.report_where("a report", |_| true);
    append(
        &log,
        "#0 {main}\n  thrown in /var/www/f.php on line 3\" while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /f.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"h\"\n",
    );
    // nginx trying a second server for the same request, read apart.
    append(&log, &refused(2, 5, 1));
    f.report_where("a report", |_| true);
    append(&log, &refused(2, 5, 2));
    let v = f.settles_at(2);
    assert_eq!(count(&v, "php_fatal"), 1);
    let r = v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == "upstream_refused")
        .unwrap();
    assert_eq!(
        (r["count"].as_u64(), r["attempts"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(v["lines"]["continuation"], 3);
    assert_eq!(v["lines"]["unrecognized"], 0);
}

#[test]
fn an_alert_fires_once_and_resolves_once() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let mut f = Follow::start(&[
        "--alert",
        "upstream_refused>2/2s",
        "--alert",
        "php_fatal>0",
        &name,
    ]);
    let v = f.ready();
    assert_eq!(v["alerts"][0]["firing"], false);
    append(
        &log,
        &(refused(1, 7, 1) + &refused(2, 7, 1) + &refused(3, 7, 1)),
    );
    let a = f.alert();
    assert_eq!(a["alert"], "upstream_refused>2/2s");
    assert_eq!(a["state"], "firing");
    assert_eq!(a["count"], 3);
    assert_eq!(a["at"], "2026-11-20T10:00:07");
    assert_eq!(a["threshold"], 2);
    assert_eq!(a["window_seconds"], 2);
    // The log is quiet: two seconds later on its clock the rule clears.
    let a = f.alert();
    assert_eq!(
        (a["alert"].as_str(), a["state"].as_str()),
        (Some("upstream_refused>2/2s"), Some("resolved"))
    );
    assert_eq!(a["count"], 0);
    let v = f.report_where("a report", |_| true);
    assert_eq!(v["alerts"][0]["firing"], false);
    assert_eq!(v["alerts"][1]["alert"], "php_fatal>0");
    // Nothing else fired meanwhile.
    assert_eq!(f.seen.iter().filter(|l| l.contains("\"state\"")).count(), 2);
}

/// GET http://127.0.0.1:PORT/PATH: status line and body.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// The value of one sample line of the exposition, by its full name.
fn sample(body: &str, series: &str) -> Option<u64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `:PORT` and `localhost:PORT` listen on loopback.
#[test]
fn metrics_take_a_bare_port_or_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    for form in [":{}", "localhost:{}", "{}"] {
        let port = free_port();
        let addr = form.replace("{}", &port.to_string());
        let mut f = Follow::start(&["--metrics", &addr, &name]);
        f.ready();
        let (status, body) = get(port, "/metrics").unwrap_or_else(|| panic!("{addr}: no answer"));
        assert!(status.contains(" 200"), "{addr}: {status}");
        assert!(body.contains("upcause_failed_requests_total"), "{addr}");
    }
}

/// A consumer that stopped reading stdout froze ingestion after
/// about 2.5 s, and `/metrics` served frozen values. Output goes through
/// a bounded queue: reports are dropped and counted, the files are read on.
#[test]
fn a_consumer_that_stops_reading_never_freezes_ingestion() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    // stdout is a pipe nobody reads.
    let mut child = Command::new(env!("CARGO_BIN_EXE_upcause"))
        .args([
            "follow",
            "--no-state",
            "--format",
            "json",
            "--interval",
            "50ms",
        ])
        .args(["--metrics", &addr, &name])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let series = format!("upcause_lines_total{{file=\"{name}\"}}");
    let mut written = 0u64;
    let mut last = String::new();
    // Once /metrics answers, the file is open and positioned.
    while get(port, "/metrics").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Lines go on being written until output has been dropped a while.
    while Instant::now() < deadline {
        append(&log, &refused_lines(written as u32 + 1, 50));
        written += 50;
        std::thread::sleep(Duration::from_millis(100));
        if let Some((_, body)) = get(port, "/metrics") {
            let dropped = sample(&body, "upcause_output_dropped_total").unwrap_or(0);
            last = body;
            if dropped >= 20 {
                break;
            }
        }
    }
    // Every line written is counted all the same.
    let mut ok = false;
    while !ok && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        if let Some((_, body)) = get(port, "/metrics") {
            ok = sample(&body, &series) == Some(written)
                && sample(&body, "upcause_output_dropped_total").unwrap_or(0) >= 20;
            last = body;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "after {written} lines:\n{last}");
}

#[test]
fn metrics_are_served_with_exact_counters() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut f = Follow::start(&["--metrics", &addr, &name]);
    f.ready();
    let file = format!("file=\"{name}\"");
    append(
        &log,
        &(refused(1, 1, 1) + &refused(2, 2, 1) + &refused(3, 3, 2)),
    );
    append(&log, &(timeout(4, 4) + "not a log line\n"));
    f.settles_at(4);
    std::fs::rename(&log, dir.path().join("error.log.1")).unwrap();
    append(&log, &refused(5, 5, 2));
    f.settles_at(5);
    let (status, body) = get(port, "/metrics").expect("metrics answer");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let want = [
        (
            "upcause_failures_total{cause=\"upstream_refused\",upstream=\"http://10.0.0.1:80\"}"
                .to_string(),
            2,
        ),
        (
            "upcause_failures_total{cause=\"upstream_refused\",upstream=\"http://10.0.0.2:80\"}"
                .to_string(),
            2,
        ),
        (
            "upcause_failures_total{cause=\"upstream_timeout\",upstream=\"http://10.0.0.9:80\"}"
                .to_string(),
            1,
        ),
        (
            "upcause_failed_requests_total{cause=\"upstream_refused\"}".to_string(),
            4,
        ),
        (
            "upcause_failed_requests_total{cause=\"upstream_timeout\"}".to_string(),
            1,
        ),
        (
            "upcause_failed_requests_total{cause=\"tls_verify\"}".to_string(),
            0,
        ),
        (format!("upcause_lines_total{{{file}}}"), 6),
        (format!("upcause_unrecognized_lines_total{{{file}}}"), 1),
        (format!("upcause_rotations_total{{{file}}}"), 1),
    ];
    for (series, n) in &want {
        assert_eq!(sample(&body, series), Some(*n), "{series} in\n{body}");
    }
    for t in [
        "# TYPE upcause_failures_total counter",
        "# TYPE upcause_rotations_total counter",
        "# HELP upcause_lines_total ",
    ] {
        assert!(body.contains(t), "{t} in\n{body}");
    }
    let (status, _) = get(port, "/").unwrap();
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

/// Time from appending a line to seeing it counted at /metrics.
#[test]
fn an_appended_line_is_counted_within_250ms() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut f = Follow::every("10s", &["--metrics", &addr, &name]);
    let series = "upcause_failed_requests_total{cause=\"upstream_refused\"}";
    let deadline = Instant::now() + PATIENCE;
    while get(port, "/metrics").is_none_or(|(_, b)| sample(&b, series) != Some(0)) {
        if Instant::now() > deadline {
            f.fail("the metrics server");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut took = Vec::new();
    for i in 1..=10u64 {
        let t0 = Instant::now();
        append(&log, &refused(i as u32, 1, 1));
        loop {
            let (_, body) = get(port, "/metrics").unwrap();
            if sample(&body, series) == Some(i) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "line {i} not counted"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        took.push(t0.elapsed());
        // Appends at another phase of the poll each time.
        std::thread::sleep(Duration::from_millis(37));
    }
    took.sort();
    eprintln!(
        "append-to-count latency: min {:?}, median {:?}, max {:?}",
        took[0], took[5], took[9]
    );
    assert!(took[5] < Duration::from_millis(250), "{took:?}");
}

#[test]
fn sigterm_prints_a_final_report_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    // No report before the signal (one a minute); /metrics answering says
    // the files are open and the signal handler is in place.
    let mut f = Follow::every("1m", &["--metrics", &addr, &name]);
    let deadline = Instant::now() + PATIENCE;
    while get(port, "/metrics").is_none() {
        if Instant::now() > deadline {
            f.fail("the metrics server");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Appended just before the signal: read before the final report.
    append(&log, &refused_lines(1, 2));
    let (status, rest) = f.terminate();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert_eq!(rest.len(), 1, "{rest:?}");
    let last = &rest[0];
    assert_eq!(last["final"], true);
    assert_eq!(total(last), 2);
    assert_eq!(count(last, "upstream_refused"), 2);
    assert_eq!(last["files"][0]["lines"], 2);
}

#[test]
fn usage_errors_exit_2_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (log, name) = log_in(&dir);
    append(&log, "");
    let gz = dir.path().join("error.log.2.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0]).unwrap();
    let dirname = dir.path().display().to_string();
    let fifo = dir.path().join("fifo.log");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let zero = dir.path().join("zero.log");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for (args, says) in [
        (
            vec![fifo.to_str().unwrap()],
            "is a FIFO, not a regular file",
        ),
        (
            vec![zero.to_str().unwrap()],
            "is a character device, not a regular file",
        ),
        (
            vec!["--alert", "upstream_timout>1/1m", &name],
            "unknown cause 'upstream_timout'",
        ),
        (
            vec!["--alert", "upstream_timeout<1", &name],
            "invalid --alert",
        ),
        (vec!["--metrics", "localhost", &name], "invalid --metrics"),
        (vec!["--interval", "1ms", &name], "invalid --interval"),
        (
            vec!["--window", "5m", "--last", "1m", &name],
            "longer than --last",
        ),
        (vec![&dirname], "is a directory"),
        (vec!["-"], "not stdin"),
        (vec![gz.to_str().unwrap()], "gzip"),
    ] {
        let out = common::bin()
            .arg("follow")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A port already taken.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = common::bin()
        .args(["follow", "--metrics", &addr, &name])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
}

/// Every fixture (real nginx, Apache and php-fpm logs) followed from its
/// start gives what `analyze` gives: the same requests per cause since the
/// start, and, as each fixture spans less than 15 minutes, the same causes,
/// counts, attempts and upstreams in the rolling report.
#[test]
fn every_fixture_followed_from_start_matches_analyze() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    for server in ["nginx", "apache", "php-fpm"] {
        for e in std::fs::read_dir(root.join(server)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "log") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 40, "{}", files.len());
    /// Per cause: id, count, attempts, upstreams with their counts.
    type Summary = Vec<(String, u64, u64, Vec<(String, u64)>)>;
    let summary = |v: &Value| -> Summary {
        v["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["cause"].as_str().unwrap().to_string(),
                    c["count"].as_u64().unwrap(),
                    c["attempts"].as_u64().unwrap(),
                    c["upstreams"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|u| {
                            (
                                u["upstream"].as_str().unwrap().to_string(),
                                u["count"].as_u64().unwrap(),
                            )
                        })
                        .collect(),
                )
            })
            .collect()
    };
    // A few at a time, each stopped after its first report.
    for group in files.chunks(8) {
        let mut running: Vec<(PathBuf, Follow)> = group
            .iter()
            .map(|p| {
                let f = Follow::every("100ms", &["--from-start", p.to_str().unwrap()]);
                (p.clone(), f)
            })
            .collect();
        for (p, f) in &mut running {
            f.ready();
            let (status, rest) = f.terminate();
            assert_eq!(status.code(), Some(0), "{}", p.display());
            let live = rest.last().expect("a final report");
            let out = common::bin()
                .args(["analyze", "--format", "json"])
                .arg(&*p)
                .output()
                .unwrap();
            let want: Value = serde_json::from_slice(&out.stdout).unwrap();
            let by_cause: serde_json::Map<String, Value> = want["causes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["cause"].as_str().unwrap().to_string(), c["count"].clone()))
                .collect();
            assert_eq!(
                live["since_start"]["causes"],
                Value::Object(by_cause),
                "{}",
                p.display()
            );
            assert_eq!(summary(live), summary(&want), "{}", p.display());
            assert_eq!(live["lines"], want["lines"], "{}", p.display());
        }
    }
}
