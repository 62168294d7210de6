//! The `/metrics` server of `upcause follow` against hostile clients: a
//! 100 MiB request head, 2,000 idle connections and a slow head
//! (slowloris), and a limit of 40 open files. The built binary runs as a
//! user runs it; the test reads its memory and threads from
//! `/proc/PID/status`. Every wait is bounded; each test kills only the
//! child it started.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::free_port;

/// Longest wait for any one thing to happen.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running `upcause follow --metrics` with its stderr collected.
struct Follow {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Follow {
    /// Follows `log` with metrics on a free port, with at most `files`
    /// open files when given (`ulimit -n` in a shell that then execs it).
    fn start(log: &Path, files: Option<u32>) -> Follow {
        let port = free_port();
        let bin = env!("CARGO_BIN_EXE_upcause");
        let args = [
            "follow",
            "--no-state",
            "--format",
            "json",
            "--interval",
            "1h",
            "--metrics",
            &format!("127.0.0.1:{port}"),
            &log.display().to_string(),
        ]
        .map(str::to_string);
        let mut cmd = match files {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin)
                    .args(&args);
                c
            }
            None => {
                let mut c = common::bin();
                c.args(&args);
                c
            }
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        let stderr = common::gather_stderr(&mut child);
        let f = Follow {
            child,
            port,
            stderr,
        };
        let deadline = Instant::now() + PATIENCE;
        while f.get("/metrics").is_none_or(|(s, _)| !s.contains(" 200 ")) {
            f.alive();
            assert!(Instant::now() < deadline, "no /metrics; {}", f.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        f
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// GET PATH: status line and body, `None` when refused or closed.
    fn get(&self, path: &str) -> Option<(String, String)> {
        let mut s = TcpStream::connect_timeout(&self.addr(), Duration::from_secs(2)).ok()?;
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

    /// `/metrics` answered 200, waiting for it up to [`PATIENCE`].
    fn metrics(&self) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some((status, body)) = self.get("/metrics")
                && status == "HTTP/1.1 200 OK"
            {
                return body;
            }
            self.alive();
            assert!(
                Instant::now() < deadline,
                "/metrics does not answer; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A field of `/proc/PID/status` (kB for memory).
    fn status(&self, field: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("{field} in\n{s}"))
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Panics unless the process still runs.
    fn alive(&self) {
        let mut c = std::process::Command::new("kill");
        let ok = c
            .args(["-0", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "follow exited; stderr:\n{}", self.stderr());
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one sample line of the exposition.
fn sample(body: &str, series: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{series} in\n{body}"))
}

fn empty_log(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let log = dir.path().join("error.log");
    std::fs::write(&log, "").unwrap();
    log
}

/// One request head of 100 MiB: once buffered whole (1 GiB of head, 1 GB
/// resident). Now the head is read into 16 KiB at most and answered 431.
#[test]
fn a_100_mib_request_head_is_refused_without_growing() {
    let dir = tempfile::tempdir().unwrap();
    let f = Follow::start(&empty_log(&dir), None);
    let hwm_before = f.status("VmHWM");
    let mut s = TcpStream::connect(f.addr()).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = s.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let mut sent = 0usize;
        let chunk = vec![b'a'; 1 << 20];
        if writer
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
            .is_err()
        {
            return sent;
        }
        for _ in 0..100 {
            match writer.write_all(&chunk) {
                Ok(()) => sent += chunk.len(),
                Err(_) => break,
            }
        }
        sent
    });
    let mut resp = Vec::new();
    let read = s.read_to_end(&mut resp);
    let sent = sending.join().unwrap();
    let text = String::from_utf8_lossy(&resp);
    // 431, or the connection reset under the bytes still arriving.
    assert!(
        text.starts_with("HTTP/1.1 431 Request Header Fields Too Large")
            || (resp.is_empty()
                && read
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset)),
        "{read:?} {text}"
    );
    assert!(sent < 100 << 20, "the whole head was taken in");
    let hwm = f.status("VmHWM");
    eprintln!(
        "100 MiB head: {} answered, {} MiB sent before the server closed, VmHWM {hwm_before} kB before, {hwm} kB after",
        text.lines().next().unwrap_or("(reset)"),
        sent >> 20
    );
    assert!(hwm < 64 * 1024, "peak RSS {hwm} kB");
    assert!(f.metrics().contains("upcause_lines_total"));
    assert!(!f.stderr().contains("panicked"), "{}", f.stderr());
}

/// A slow head was never dropped. Now a head must come within 5 s.
#[test]
fn a_slow_head_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let f = Follow::start(&empty_log(&dir), None);
    let t0 = Instant::now();
    let mut slow = TcpStream::connect(f.addr()).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut head = b"GET /metrics HTTP/1.1\r\nX-Slow: "
        .iter()
        .chain(std::iter::repeat(&b'a'));
    let mut buf = [0u8; 256];
    let answer = loop {
        assert!(t0.elapsed() < PATIENCE, "the slow head is fed on");
        if slow.write_all(&[*head.next().unwrap()]).is_err() {
            break 0;
        }
        match slow.read(&mut buf) {
            // Its end, or an answer before it.
            Ok(n) => break n,
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                break 0;
            }
            Err(_) => {}
        }
    };
    let took = t0.elapsed();
    eprintln!("slow head dropped after {took:?}");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(8),
        "{took:?}"
    );
    assert!(
        !String::from_utf8_lossy(&buf[..answer]).contains(" 200 "),
        "answered"
    );
}

/// 9,000 idle sockets made 9,004 threads. Now one thread serves every
/// connection, at most 128 at once (more are closed at once and counted),
/// and an idle one is dropped after 5 s: `/metrics` answers a new client.
#[test]
fn idle_connections_are_bounded_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let f = Follow::start(&empty_log(&dir), None);
    let threads_before = f.status("Threads");
    let rss_before = f.status("VmRSS");
    let t0 = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..2000 {
        assert!(t0.elapsed() < PATIENCE, "{} connected", idle.len());
        let s = TcpStream::connect_timeout(&f.addr(), Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        idle.push(s);
    }
    let threads = f.status("Threads");
    let rss = f.status("VmRSS");
    eprintln!(
        "2,000 idle connections (opened in {:?}): {threads} threads (before: {threads_before}), VmRSS {rss} kB (before: {rss_before} kB)",
        t0.elapsed()
    );
    assert!(threads <= threads_before, "{threads} threads");
    assert!(rss < 64 * 1024, "RSS {rss} kB");
    let body = f.metrics();
    eprintln!(
        "a new client answered {:?} after the first idle connection",
        t0.elapsed()
    );
    let refused = sample(&body, "upcause_metrics_connections_refused_total");
    assert!(refused >= 1000, "{refused} refused");
    // The idle connections were dropped: each reads its end.
    let mut buf = [0u8; 16];
    for s in idle.iter_mut().take(300) {
        match s.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("an idle connection still open: {other:?}"),
        }
    }
    let hwm = f.status("VmHWM");
    eprintln!("{refused} connections refused; VmHWM {hwm} kB");
    assert!(hwm < 64 * 1024, "peak RSS {hwm} kB");
    assert!(f.status("Threads") <= threads_before);
    assert!(!f.stderr().contains("panicked"), "{}", f.stderr());
}

/// Under a 1024-file limit the accept thread panicked and `/metrics`
/// refused connections for good while the process looked healthy. Under
/// 40, connections are accepted until descriptors run out, which is said
/// once (at most once a minute); once they are closed, `/metrics` answers
/// again.
#[test]
fn running_out_of_file_descriptors_is_said_and_recovered_from() {
    let dir = tempfile::tempdir().unwrap();
    let f = Follow::start(&empty_log(&dir), Some(40));
    let deadline = Instant::now() + PATIENCE;
    let mut held = Vec::new();
    // Until descriptors run out (then the backlog fills and connecting
    // hangs or is refused).
    while held.len() < 400 && Instant::now() < deadline {
        match TcpStream::connect_timeout(&f.addr(), Duration::from_millis(300)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
        if f.stderr().contains("cannot accept connections") {
            break;
        }
    }
    while !f.stderr().contains("cannot accept connections") {
        assert!(
            Instant::now() < deadline,
            "{} connections, nothing said; stderr:\n{}",
            held.len(),
            f.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Meanwhile a new client is not answered.
    assert!(f.get("/metrics").is_none());
    let n = held.len();
    drop(held);
    let t0 = Instant::now();
    let body = f.metrics();
    eprintln!(
        "fd limit 40: ran out after {n} connections, /metrics answered again {:?} after they were closed",
        t0.elapsed()
    );
    assert!(sample(&body, "upcause_metrics_accept_errors_total") >= 1);
    f.alive();
    let err = f.stderr();
    assert_eq!(err.matches("cannot accept connections").count(), 1, "{err}");
    assert!(err.contains("accepting connections again"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
