//! `analyze` on files that are not what they seem: FIFOs and devices in a
//! directory of logs, a file truncated while the run is stopped, a writer
//! opening the file while it is read. Every wait is bounded; each test
//! stops only the child it started, by its id.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_upcause"))
}

/// Waits for `child` at most `limit`; kills it (by its id) past that.
fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// The offset at which process `pid` reads `path`, if it has it open.
fn reading_offset(pid: u32, path: &std::path::Path) -> Option<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    for fd in fds.flatten() {
        if std::fs::read_link(fd.path()).ok().as_deref() != Some(path) {
            continue;
        }
        let info = std::fs::read_to_string(format!(
            "/proc/{pid}/fdinfo/{}",
            fd.file_name().to_string_lossy()
        ))
        .ok()?;
        return info
            .lines()
            .find_map(|l| l.strip_prefix("pos:"))
            .and_then(|v| v.trim().parse().ok());
    }
    None
}

const REFUSED: &str = "2026/11/20 10:00:01 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET / HTTP/1.1\", upstream: \"http://10.0.0.1:80/\", host: \"h\"\n";

/// `analyze DIR` hung on a FIFO, and on `error.log ->
/// /dev/stderr` (the nginx container image's layout). Only regular files
/// are read from a directory; the others are named in a note.
#[test]
fn analyze_of_a_directory_skips_fifos_and_devices_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("error.log.1"), REFUSED.repeat(3)).unwrap();
    std::os::unix::fs::symlink("/dev/stderr", dir.path().join("error.log")).unwrap();
    let fifo = dir.path().join("php_error.log");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut child = bin()
        .args(["analyze", "--format", "json"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let _ = se.read_to_string(&mut err);
        err
    });
    let status = wait_bounded(&mut child, Duration::from_secs(20));
    so.read_to_string(&mut out).unwrap();
    let err = reader.join().unwrap();
    assert!(status.success(), "{status:?} {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total_failures"], 3, "{out}");
    assert_eq!(v["files"].as_array().unwrap().len(), 1, "{out}");
    // `/dev/stderr` is whatever stderr is: here the pipe the test reads.
    assert!(
        err.lines()
            .any(|l| l.contains("/error.log: skipped: a ") && l.ends_with(", not a regular file")),
        "{err}"
    );
    assert!(
        err.contains("php_error.log: skipped: a FIFO, not a regular file"),
        "{err}"
    );
}

/// `analyze` stopped (Ctrl-Z) while another process truncated
/// the file it read died of SIGBUS with no report, and a writer opening
/// the file (PHP's `error_log()` opens it for every line) was held back
/// up to 92 ms, when files were mapped under a read lease. Files are read
/// in place without a lease: nothing holds a writer back (an `O_NONBLOCK`
/// open, which fails at once while a lease is held, always succeeds), a
/// truncation while stopped takes effect at once, the SIGBUS guard turns
/// the pages cut away into zeros, and the run ends with its report.
#[test]
fn a_file_truncated_while_analyze_is_stopped_still_gives_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        for _ in 0..(96 << 20) / REFUSED.len() {
            f.write_all(REFUSED.as_bytes()).unwrap();
        }
    }
    let mut child = bin()
        .args(["analyze", "--format", "json", "--quiet"])
        .arg(&p)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut so = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    // Until the run has begun to read the file (its offset in
    // /proc/PID/fdinfo), whatever the build's speed.
    let started = Instant::now();
    while reading_offset(child.id(), &p).is_none_or(|pos| pos == 0)
        && started.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    // A PHP-like writer: open, append a line, close, while the file is read.
    let mut slowest = Duration::ZERO;
    for _ in 0..50 {
        let t = Instant::now();
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .expect("a writer is never held back");
        w.write_all(REFUSED.as_bytes()).unwrap();
        drop(w);
        slowest = slowest.max(t.elapsed());
    }
    eprintln!("slowest open+append+close while analyze reads: {slowest:?}");
    let running = child.try_wait().unwrap().is_none();
    signal(&child, "-STOP");
    let t = Instant::now();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let truncate_took = t.elapsed();
    signal(&child, "-CONT");
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    assert!(
        running,
        "the run was stopped mid-file (make the file larger)"
    );
    assert_eq!(status.signal(), None, "{status:?}");
    assert!(
        truncate_took < Duration::from_secs(5),
        "truncate waited {truncate_took:?}"
    );
    let out = out.join().unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).expect("the report");
    assert!(v["total_failures"].as_u64().unwrap() > 0, "{out}");
}

/// A FIFO named on the command line is read as a stream, as before
/// (`analyze <(zcat a.gz)`), and a path to `/dev/zero` is refused as binary.
#[test]
fn explicit_fifos_are_streams_and_dev_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut child = bin()
        .args(["analyze", "--format", "json"])
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(REFUSED.repeat(2).as_bytes()).unwrap();
    drop(w);
    let status = wait_bounded(&mut child, Duration::from_secs(20));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total_failures"], 2);

    let mut child = bin()
        .args(["analyze", "--format", "json", "/dev/zero"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(20));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success());
    assert!(err.contains("binary file"), "{err}");
}
