//! Hostile and broken input, run through the binary: huge lines, bytes
//! that are not text, damaged gzip, decompression bombs, key floods, odd
//! files, files that change while read, clock jumps, mixed formats, and
//! terminal escapes in everything the text output shows.
//!
//! Heavy variants are `#[ignore]`d (each over ~20 s in a debug build); run
//! them in release:
//!
//! ```sh
//! cargo test --release --test hostile -- --ignored heavy_
//! ```
//!
//! Memory is measured as the child's peak RSS through `/usr/bin/time -f
//! %M`; without it the memory assertions are skipped with a message. The
//! bound, [`RSS_BOUND_KIB`], is checked at `--threads 2` (memory grows
//! with the scanning threads, the read buffers within a fixed budget;
//! README's "Limits" has the figures).

mod common;

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cause;
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use serde_json::Value;

/// Peak memory allowed for any input, in KiB (64 MiB).
const RSS_BOUND_KIB: u64 = 64 * 1024;

const TIME: &str = "/usr/bin/time";

fn refused(t: &str, cid: u64, route: &str, upstream: &str) -> String {
    format!(
        "{t} [error] 7#7: *{cid} connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET {route} HTTP/1.1\", upstream: \"{upstream}{route}\", host: \"h\"\n"
    )
}

fn timed_out(t: &str, cid: u64) -> String {
    format!(
        "{t} [error] 7#7: *{cid} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /slow HTTP/1.1\", upstream: \"http://10.0.0.2:80/slow\", host: \"h\"\n"
    )
}

fn refused1() -> String {
    refused(
        "2026/11/20 10:00:01",
        1,
        "/api/users/17",
        "http://10.0.0.1:80",
    )
}

fn timeout1() -> String {
    timed_out("2026/11/20 10:02:30", 2)
}

// ------------------------------------------------------------ running

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    /// Peak RSS in KiB, when `/usr/bin/time` measured it.
    rss_kib: Option<u64>,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&self.stdout),
                self.stderr
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("text output is UTF-8")
    }

    /// Asserts the peak RSS bound, or says why it cannot.
    fn assert_rss_below(&self, kib: u64, what: &str) {
        match self.rss_kib {
            Some(rss) => {
                eprintln!("{what}: peak RSS {} KiB", rss);
                assert!(rss < kib, "{what}: peak RSS {rss} KiB, bound {kib} KiB");
            }
            None => eprintln!("{what}: {TIME} is missing; peak RSS not checked"),
        }
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_upcause")
}

/// Runs the binary with `args`, optionally feeding `stdin`, measuring peak
/// RSS when `/usr/bin/time` exists, and killing it after `timeout`.
fn run_with(args: &[OsString], stdin: Option<&[u8]>, timeout: Duration) -> Run {
    let rss_dir = tempfile::tempdir().unwrap();
    let rss_file = rss_dir.path().join("rss");
    let measure = Path::new(TIME).exists();
    let mut cmd = if measure {
        let mut c = Command::new(TIME);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(bin());
        c
    } else {
        Command::new(bin())
    };
    cmd.args(args)
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("binary runs");
    let feeder = stdin.map(|data| {
        let mut w = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        })
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        err.read_to_end(&mut v).map(|_| v)
    });
    let deadline = Instant::now() + timeout;
    let Some(status) = common::exit_by(&mut child, deadline) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("upcause {args:?} did not finish in {timeout:?}");
    };
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let stdout = out_t.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap().unwrap()).into_owned();
    let rss_kib = fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
    Run {
        code: status.code(),
        stdout,
        stderr,
        rss_kib,
    }
}

fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(a: I) -> Vec<OsString> {
    a.into_iter().map(|s| s.as_ref().to_os_string()).collect()
}

/// `analyze --format json` with two scanning threads: peak memory grows
/// with the thread count, so the bound holds on
/// any machine only for a fixed count; two still run the parallel path.
fn analyze_json(paths: &[&Path], timeout_s: u64) -> Run {
    let mut a = args(["analyze", "--format", "json", "--threads", "2"]);
    a.extend(paths.iter().map(|p| p.as_os_str().to_os_string()));
    run_with(&a, None, Duration::from_secs(timeout_s))
}

fn analyze_text(paths: &[&Path]) -> Run {
    let mut a = args(["analyze", "--color", "never"]);
    a.extend(paths.iter().map(|p| p.as_os_str().to_os_string()));
    run_with(&a, None, Duration::from_secs(60))
}

fn stdin_json(input: &[u8]) -> Run {
    run_with(
        &args(["analyze", "--format", "json"]),
        Some(input),
        Duration::from_secs(60),
    )
}

/// Every line is in exactly one category.
fn assert_lines_add_up(r: &Value) {
    let l = &r["lines"];
    let n = |k: &str| l[k].as_u64().unwrap();
    let recognized: u64 = ["nginx", "apache", "php-fpm", "kernel"]
        .iter()
        .map(|s| l["recognized"][s].as_u64().unwrap())
        .sum();
    assert_eq!(
        n("unrecognized") + n("blank") + n("continuation") + n("oversized") + recognized,
        n("total"),
        "{l}"
    );
}

/// Writes `n` bytes of `byte` in 1 MiB pieces (never all in memory).
fn write_run(w: &mut impl Write, byte: u8, n: usize) {
    let piece = vec![byte; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(piece.len());
        w.write_all(&piece[..k]).unwrap();
        left -= k;
    }
}

/// One gzip member of `data`.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

// ------------------------------------------------------------ huge lines

#[test]
fn line_of_200_mb_without_newline_is_one_oversized_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let mut w = BufWriter::new(File::create(&p).unwrap());
    write_run(&mut w, b'x', 200 << 20);
    w.flush().unwrap();
    drop(w);
    let run = analyze_json(&[&p], 120);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["lines"]["total"], 1);
    assert_eq!(r["lines"]["oversized"], 1);
    assert_eq!(r["lines"]["unrecognized"], 0);
    assert_eq!(r["total_failures"], 0);
    assert_eq!(r["files"][0]["error"], Value::Null);
    run.assert_rss_below(RSS_BOUND_KIB, "200 MB line");
}

#[test]
fn failures_around_a_200_mb_line_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let mut w = BufWriter::new(File::create(&p).unwrap());
    w.write_all(refused1().as_bytes()).unwrap();
    // A huge line that starts like a failure line, then a CRLF end.
    w.write_all(timeout1().trim_end().as_bytes()).unwrap();
    write_run(&mut w, b'y', 200 << 20);
    w.write_all(b"\r\n").unwrap();
    w.write_all(timeout1().as_bytes()).unwrap();
    w.flush().unwrap();
    drop(w);
    let run = analyze_json(&[&p], 120);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["lines"]["total"], 3);
    assert_eq!(r["lines"]["oversized"], 1);
    assert_eq!(r["lines"]["matched"], 2);
    assert_eq!(r["lines"]["recognized"]["nginx"], 2);
    assert_eq!(r["total_failures"], 2);
    assert_eq!(cause(&r, "upstream_refused")["count"], 1);
    assert_eq!(cause(&r, "upstream_timeout")["count"], 1);
    // The example is the real line 3, not the oversized line 2.
    assert_eq!(cause(&r, "upstream_timeout")["example"]["line"], 3);
    assert_lines_add_up(&r);
    run.assert_rss_below(RSS_BOUND_KIB, "200 MB line between failures");
}

// ------------------------------------------------------------ bytes

#[test]
fn nul_and_invalid_utf8_inside_fields_of_a_failure_line() {
    let line: &[u8] = b"2026/11/20 10:00:01 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s\0\xff, request: \"GET /api/\0users/\xff\xfe17?x=\xc3( HTTP/1.1\", upstream: \"http://10.0.\x00.1:80/api\", host: \"h\xed\xa0\x80\"\n";
    let run = stdin_json(line);
    assert_eq!(run.code, Some(0));
    let r = run.json();
    assert_eq!(r["total_failures"], 1);
    let c = cause(&r, "upstream_refused");
    assert_eq!(c["upstreams"][0]["upstream"], "http://10.0.\u{0}.1:80");
    assert_eq!(
        c["routes"][0]["route"],
        "/api/\u{0}users/\u{fffd}\u{fffd}17"
    );
    assert!(c["example"]["text"].as_str().unwrap().contains("\u{fffd}"));

    let text = run_with(
        &args(["analyze", "--color", "never"]),
        Some(line),
        Duration::from_secs(60),
    )
    .text();
    assert!(text.contains("upstream_refused"), "{text}");
    assert!(text.contains("http://10.0.\\x00.1:80"), "{text}");
    assert!(
        text.contains("/api/\\x00users/\u{fffd}\u{fffd}17"),
        "{text}"
    );
    assert!(!text.contains('\0'), "{text}");
}

// ------------------------------------------------------------ gzip

/// `n` failure lines with distinct connections.
fn failure_lines(n: u64) -> String {
    (0..n)
        .map(|i| {
            refused(
                "2026/11/20 10:00:01",
                i + 1,
                &format!("/r/{i}"),
                "http://10.0.0.1:80",
            )
        })
        .collect()
}

#[test]
fn gzip_without_its_trailer_counts_every_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = gzip(failure_lines(300).as_bytes());
    // The last 8 bytes are CRC32 and ISIZE: all data is there, the check
    // is not.
    let p = dir.path().join("error.log.2.gz");
    fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
    let run = analyze_json(&[&p], 60);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("error.log.2.gz"), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["lines"]["total"], 300);
    assert_eq!(r["total_failures"], 300);
    assert!(r["files"][0]["error"].is_string());
}

/// What `flate2` can decode of a damaged gzip file before its error.
fn decodable(bytes: &[u8]) -> Vec<u8> {
    let mut d = flate2::read::MultiGzDecoder::new(bytes);
    let mut out = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn gzip_cut_in_the_middle_keeps_the_lines_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = gzip(failure_lines(2000).as_bytes());
    let cut = &bytes[..bytes.len() / 2];
    let p = dir.path().join("error.log.3.gz");
    fs::write(&p, cut).unwrap();
    let good = decodable(cut);
    let complete = good.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(complete > 100, "the cut leaves lines before it");

    let run = analyze_json(&[&p], 60);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("error.log.3.gz"), "{}", run.stderr);
    let r = run.json();
    assert!(r["files"][0]["error"].is_string());
    // Every complete line before the damage, and the cut line itself
    // (the last line without a newline counts, as at any end of input).
    let partial = u64::from(!good.ends_with(b"\n"));
    assert_eq!(r["lines"]["total"], complete + partial);
    let failures = r["total_failures"].as_u64().unwrap();
    assert!(
        failures == complete || failures == complete + partial,
        "{failures} of {complete}"
    );
    assert_lines_add_up(&r);
}

#[test]
fn gzip_magic_followed_by_garbage_exits_2_and_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log.1");
    let mut bytes = vec![0x1f, 0x8b];
    bytes.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    fs::write(&p, &bytes).unwrap();
    let good = dir.path().join("error.log");
    fs::write(&good, refused1()).unwrap();
    let run = analyze_json(&[&p, &good], 60);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("error.log.1"), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["files"][0]["lines"], 0);
    assert!(r["files"][0]["error"].is_string());
    assert_eq!(r["files"][1]["error"], Value::Null);
    assert_eq!(r["total_failures"], 1);

    // The text report is printed too, with the error in it.
    let run = analyze_text(&[&p, &good]);
    assert_eq!(run.code, Some(2));
    let text = run.text();
    assert!(text.contains("1 failed request"), "{text}");
    assert!(text.contains("error.log.1"), "{text}");
}

#[test]
fn gzip_member_followed_by_garbage_keeps_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = gzip(failure_lines(50).as_bytes());
    bytes.extend_from_slice(b"this is not a gzip member\n");
    let p = dir.path().join("error.log.4.gz");
    fs::write(&p, &bytes).unwrap();
    let run = analyze_json(&[&p], 60);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("error.log.4.gz"), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["lines"]["total"], 50);
    assert_eq!(r["total_failures"], 50);
    assert!(r["files"][0]["error"].is_string());
}

/// A gzip file holding `reps` times (1 MiB of '0', 1 MiB of '0', 1 MiB - 1
/// of '0' and '\n'): one 3 MiB line each, all over the line limit; then
/// `blank_mib` MiB of bare newlines; with a failure line in its own member
/// at each end. Each member is compressed once and repeated, so building a
/// 2 GiB bomb takes little time. Returns the path and the compressed size.
fn gzip_bomb(dir: &Path, reps: usize, blank_mib: usize) -> (PathBuf, u64) {
    let mib = 1 << 20;
    let zeros = gzip(&vec![b'0'; mib]);
    let mut end = vec![b'0'; mib - 1];
    end.push(b'\n');
    let end = gzip(&end);
    let blank = gzip(&vec![b'\n'; mib]);
    let p = dir.join("error.log.9.gz");
    let mut w = BufWriter::new(File::create(&p).unwrap());
    w.write_all(&gzip(refused1().as_bytes())).unwrap();
    for _ in 0..reps {
        w.write_all(&zeros).unwrap();
        w.write_all(&zeros).unwrap();
        w.write_all(&end).unwrap();
    }
    for _ in 0..blank_mib {
        w.write_all(&blank).unwrap();
    }
    w.write_all(&gzip(timeout1().as_bytes())).unwrap();
    w.flush().unwrap();
    drop(w);
    let size = fs::metadata(&p).unwrap().len();
    (p, size)
}

fn check_bomb(reps: usize, blank_mib: usize, timeout_s: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (p, size) = gzip_bomb(dir.path(), reps, blank_mib);
    let expanded = (reps * 3 + blank_mib) as u64;
    eprintln!("gzip bomb: {size} bytes expanding to {expanded} MiB");
    let run = analyze_json(&[&p], timeout_s);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.json();
    let blank = (blank_mib as u64) << 20;
    assert_eq!(r["lines"]["total"], 2 + reps as u64 + blank);
    assert_eq!(r["lines"]["oversized"], reps as u64);
    assert_eq!(r["lines"]["blank"], blank);
    assert_eq!(r["total_failures"], 2);
    run.assert_rss_below(RSS_BOUND_KIB, &format!("gzip bomb of {expanded} MiB"));
}

/// 64 MiB from 70 KB: memory is what matters, and the debug build's
/// zlib-rs inflates at ~13 MiB/s (the 2 GiB bomb is a heavy test).
#[test]
fn gzip_bomb_of_64_mib_is_bounded() {
    check_bomb(21, 1, 120);
}

/// About 30 s in a debug build.
#[test]
#[ignore = "heavy: 2 GiB decompressed; run in release with --ignored heavy_"]
fn heavy_gzip_bomb_of_2_gib_is_bounded() {
    check_bomb(680, 8, 600);
}

// ------------------------------------------------------------ key floods

/// `lines` failures, each on its own connection with its own route
/// (letters, so routes do not fold into `:id`), on `upstreams` upstreams in
/// turn (so each upstream is tried `lines / upstreams` times).
fn key_flood(path: &Path, lines: u64, upstreams: u64) {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    for i in 0..lines {
        let u = i % upstreams;
        writeln!(
            w,
            "2026/11/20 10:{:02}:{:02} [error] 7#7: *{} connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET /r/k{i:x}/a HTTP/1.1\", upstream: \"http://10.{}.{}.{}:80/r\", host: \"h\"",
            (i / 60) % 60,
            i % 60,
            i + 1,
            (u >> 16) & 255,
            (u >> 8) & 255,
            u & 255,
        )
        .unwrap();
    }
    w.flush().unwrap();
}

fn check_key_flood(lines: u64, upstreams: u64, timeout_s: u64) {
    const MAX_UPSTREAMS: u64 = 4096;
    const MAX_ROUTES: u64 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    key_flood(&p, lines, upstreams);
    let run = analyze_json(&[&p], timeout_s);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["total_failures"], lines);
    // Every failure past the cap of distinct routes, and every attempt on
    // an upstream past the cap of distinct upstreams, whichever keys are
    // kept.
    assert_eq!(r["folded"]["routes"], lines - MAX_ROUTES);
    assert_eq!(
        r["folded"]["upstreams"],
        (upstreams - MAX_UPSTREAMS) * (lines / upstreams)
    );
    let c = cause(&r, "upstream_refused");
    let routes = c["routes"].as_array().unwrap();
    assert_eq!(routes.last().unwrap()["route"], "(other)");
    assert_eq!(routes.last().unwrap()["count"], lines - MAX_ROUTES);
    assert_eq!(routes.len() as u64, MAX_ROUTES + 1);
    let ups = c["upstreams"].as_array().unwrap();
    assert_eq!(ups.last().unwrap()["upstream"], "(other)");
    assert_eq!(ups.len() as u64, MAX_UPSTREAMS + 1);
    run.assert_rss_below(
        RSS_BOUND_KIB,
        &format!("{lines} routes, {upstreams} upstreams"),
    );
}

#[test]
fn distinct_routes_and_upstreams_past_the_caps_are_folded() {
    check_key_flood(20_000, 5_000, 120);
}

/// Routes fold per request, upstreams per attempt: a request past the route
/// cap that is tried on three servers folds one route and no upstream.
/// Regression: when its attempts fell in different chunks, its route once
/// folded once per chunk; it folds once (README: failed requests).
#[test]
fn retries_past_the_route_cap_fold_once() {
    for across_chunks in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("error.log");
        let mut log: String = (0..10_000u64)
            .map(|i| {
                refused(
                    "2026/11/20 10:00:00",
                    i + 1,
                    &format!("/r/k{i:x}/a"),
                    "http://10.0.0.1:80",
                )
            })
            .collect();
        for server in 1..=3 {
            log += &refused(
                "2026/11/20 10:00:01",
                999_999,
                "/zz/new",
                &format!("http://10.0.0.{server}:80"),
            );
            if across_chunks {
                log += &chunk_breaker();
            }
        }
        fs::write(&p, log).unwrap();
        let run = analyze_json(&[&p], 60);
        let r = run.json();
        assert_eq!(
            r["folded"],
            serde_json::json!({"upstreams": 0, "routes": 1}),
            "across chunks: {across_chunks}"
        );
        let c = cause(&r, "upstream_refused");
        assert_eq!(
            (c["count"].as_u64(), c["attempts"].as_u64()),
            (Some(10_001), Some(10_003))
        );
        assert_eq!(
            c["routes"].as_array().unwrap().last().unwrap(),
            &serde_json::json!({"route": "(other)", "count": 1})
        );
    }
}

/// A line that no chunking (chunks are 1 MiB at most) can put beside its
/// neighbours: over the line limit, so it is skipped as oversized.
fn chunk_breaker() -> String {
    format!("{}\n", "x".repeat(5 << 19))
}

/// 10,000 failures filling both key caps exactly (4,096 upstreams, 10,000
/// routes), then `more` failures on
/// one new upstream and one new route past the caps.
fn past_the_caps(more: u64, breaker: bool) -> String {
    let mut log: String = (0..10_000u64)
        .map(|i| {
            let up = format!("http://10.1.{}.{}:80", (i % 4096) >> 8, i % 256);
            refused("2026/11/20 10:00:00", i + 1, &format!("/r/k{i:x}/a"), &up)
        })
        .collect();
    for i in 0..more {
        log += &refused(
            "2026/11/20 10:00:01",
            100_000 + i,
            "/zz/new",
            "http://192.168.9.9:80",
        );
        if breaker {
            log += &chunk_breaker();
        }
    }
    log
}

/// Regression: `folded` once counted a key past the cap once per chunk
/// (the chunk-to-global key map cached `(other)`), not once per attempt:
/// five attempts on one new upstream past the cap fold as 5 (README:
/// attempts).
#[test]
fn folded_counts_every_attempt_within_one_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    fs::write(&p, past_the_caps(5, false)).unwrap();
    let r = analyze_json(&[&p], 60).json();
    assert_eq!(
        r["folded"],
        serde_json::json!({"upstreams": 5, "routes": 5})
    );
}

/// Regression: failures a filter drops once took key slots (keys were
/// interned before `Filters::keep`), so the kept cause's own upstream and
/// route showed as `(other)` and `folded` counted failures not in the
/// report.
#[test]
fn filtered_out_failures_take_no_key_slots() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let mut log = past_the_caps(0, false);
    log += &timeout1();
    fs::write(&p, log).unwrap();
    let mut a = args(["analyze", "--format", "json", "--cause", "upstream_timeout"]);
    a.push(p.into_os_string());
    let r = run_with(&a, None, Duration::from_secs(60)).json();
    assert_eq!(r["total_failures"], 1);
    assert_eq!(
        r["folded"],
        serde_json::json!({"upstreams": 0, "routes": 0})
    );
    let c = cause(&r, "upstream_timeout");
    assert_eq!(c["upstreams"][0]["upstream"], "http://10.0.0.2:80");
    assert_eq!(c["routes"][0]["route"], "/slow");
}

/// About a minute in a debug build (a 1.2 GB log).
#[test]
#[ignore = "heavy: 5 million lines; run in release with --ignored heavy_"]
fn heavy_five_million_routes_and_a_million_upstreams_are_folded() {
    check_key_flood(5_000_000, 1_000_000, 900);
}

// ------------------------------------------------------------ odd files

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn unreadable_file_exits_2_beside_a_good_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked.log");
    fs::write(&locked, refused1()).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if is_root() || File::open(&locked).is_ok() {
        eprintln!("skipped: running as root, permissions do not stop reads");
        return;
    }
    let good = dir.path().join("error.log");
    fs::write(&good, timeout1()).unwrap();
    let run = analyze_json(&[&locked, &good], 60);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("locked.log") && run.stderr.contains("permission denied"),
        "{}",
        run.stderr
    );
    let r = run.json();
    assert_eq!(r["files"][0]["error"], "permission denied");
    assert_eq!(r["total_failures"], 1);
}

/// Root can open anything; `/proc/self/mem` still fails on read (EIO at
/// offset 0), so this covers an input that breaks after it was opened.
#[test]
fn input_that_fails_on_read_exits_2_beside_a_good_one() {
    let mem = Path::new("/proc/self/mem");
    if !mem.exists() {
        eprintln!("skipped: no /proc/self/mem");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("error.log");
    fs::write(&good, timeout1()).unwrap();
    let run = analyze_json(&[mem, &good], 60);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("/proc/self/mem: input/output error"),
        "{}",
        run.stderr
    );
    let r = run.json();
    assert_eq!(r["files"][0]["path"], "/proc/self/mem");
    assert_eq!(r["files"][0]["lines"], 0);
    assert!(
        r["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("input/output error")
    );
    assert_eq!(r["files"][1]["error"], Value::Null);
    assert_eq!(r["total_failures"], 1);
}

#[test]
fn directory_without_error_logs_exits_2_and_a_folder_named_like_a_log_is_no_log() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::write(empty.join("notes.txt"), "nothing a server wrote\n").unwrap();
    let run = analyze_json(&[&empty], 60);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("empty"), "{}", run.stderr);
    let r = run.json();
    assert_eq!(
        r["files"][0]["error"],
        "directory holds no error logs (*error*log*), and none of its files looks like an error or access log"
    );
    assert_eq!(
        r["skipped_files"][0]["reason"],
        "not an error or access log (unknown format)"
    );
    assert_eq!(r["lines"]["total"], 0);

    // An access log alone is read: what clients got.
    fs::write(
        empty.join("access.log"),
        "127.0.0.1 - - [21/Nov/2026:09:37:49 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl/7.88.1\"\n",
    )
    .unwrap();
    let run = analyze_json(&[&empty], 60);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json()["client_impact"]["statuses"]["502"], 1);
    fs::remove_file(empty.join("access.log")).unwrap();

    // A file with no error log's name is read when its lines are an error
    // log's and its folder holds no *error*log* file.
    fs::write(empty.join("web.out"), refused1()).unwrap();
    let run = analyze_json(&[&empty], 60);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json()["total_failures"], 1);

    // A directory named like an error log inside is skipped, not an error.
    let logs = dir.path().join("logs");
    fs::create_dir_all(logs.join("error.log.d")).unwrap();
    fs::write(logs.join("error.log"), refused1()).unwrap();
    let run = analyze_json(&[&logs], 60);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["files"].as_array().unwrap().len(), 1);
    assert_eq!(r["total_failures"], 1);
}

#[test]
fn fifo_is_read_to_its_end() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("error.log");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        // Non-blocking open fails until the reader is there; retry for a
        // while so the test cannot hang when the binary never opens it.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut f = loop {
            match fs::OpenOptions::new()
                .write(true)
                .custom_flags(0o4000) // O_NONBLOCK
                .open(&writer_path)
            {
                Ok(f) => break f,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("nobody opened the FIFO: {e}"),
            }
        };
        for i in 0..100 {
            let line = refused("2026/11/20 10:00:01", i + 1, "/f", "http://10.0.0.1:80");
            f.write_all(line.as_bytes()).unwrap();
        }
    });
    let run = analyze_json(&[&fifo], 60);
    writer.join().unwrap();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["lines"]["total"], 100);
    assert_eq!(r["total_failures"], 100);
}

#[test]
fn dev_null_and_an_empty_file_report_that_nothing_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("error.log");
    File::create(&empty).unwrap();
    for p in [Path::new("/dev/null"), &empty] {
        let run = analyze_json(&[p], 60);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let r = run.json();
        assert_eq!(r["lines"]["total"], 0);
        assert_eq!(r["total_failures"], 0);
        assert_eq!(r["causes"], serde_json::json!([]));
        assert_eq!(r["files"][0]["path"], p.display().to_string());
        assert_eq!(r["files"][0]["error"], Value::Null);
        let text = analyze_text(&[p]).text();
        assert_eq!(
            text,
            "Nothing to analyze, no line was read: 0 lines from 1 input\n"
        );
    }
}

#[test]
fn file_that_shrinks_while_read_gives_a_sane_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let line = refused("2026/11/20 10:00:01", 1, "/shrink", "http://10.0.0.1:80");
    let lines = 400_000u64;
    {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&p).unwrap());
        for i in 0..lines {
            // Distinct connections: every line is its own failed request.
            let l = line.replacen("*1 ", &format!("*{} ", i + 1), 1);
            w.write_all(l.as_bytes()).unwrap();
        }
        w.flush().unwrap();
    }
    let size = fs::metadata(&p).unwrap().len();
    let child_args = args([
        OsStr::new("analyze"),
        OsStr::new("-f"),
        OsStr::new("json"),
        p.as_os_str(),
    ]);
    let truncator = {
        let p = p.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            // Keep ~1 MB; a write-only open never blocks the reader.
            let f = fs::OpenOptions::new().write(true).open(&p).unwrap();
            f.set_len(1 << 20).unwrap();
        })
    };
    let run = run_with(&child_args, None, Duration::from_secs(120));
    truncator.join().unwrap();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let r = run.json();
    assert_lines_add_up(&r);
    let total = r["lines"]["total"].as_u64().unwrap();
    let failures = r["total_failures"].as_u64().unwrap();
    assert!(total <= lines, "{total}");
    // Whole lines are failures; only a line cut by the shrink may not be.
    assert!(
        failures + 1 >= total && failures <= total,
        "{failures} of {total}"
    );
    assert!(r["lines"]["unrecognized"].as_u64().unwrap() <= 1);
    eprintln!(
        "shrinking file: {total} of {lines} lines read ({} of {size} bytes left)",
        1 << 20
    );
}

// ------------------------------------------------------------ time and formats

#[test]
fn timestamps_out_of_order_and_across_years() {
    let log = [
        timed_out("2026/11/20 10:00:10", 1),
        timed_out("1999/01/01 00:00:00", 2),
        timed_out("2031/05/05 05:05:05", 3),
        timed_out("2026/11/20 09:59:59", 4),
        timed_out("2026/11/20 10:00:50", 5),
    ]
    .concat();
    let run = stdin_json(log.as_bytes());
    assert_eq!(run.code, Some(0));
    let r = run.json();
    let c = cause(&r, "upstream_timeout");
    assert_eq!(c["count"], 5);
    assert_eq!(c["first_seen"], "1999-01-01T00:00:00");
    assert_eq!(c["last_seen"], "2031-05-05T05:05:05");
    assert_eq!(
        c["timeline"],
        serde_json::json!([
            {"start": "1999-01-01T00:00:00", "count": 1},
            {"start": "2026-11-20T09:59:00", "count": 1},
            {"start": "2026-11-20T10:00:00", "count": 2},
            {"start": "2031-05-05T05:05:00", "count": 1},
        ])
    );
    assert_eq!(
        c["peak"],
        serde_json::json!({"start": "2026-11-20T10:00:00", "end": "2026-11-20T10:01:00", "count": 2})
    );
    // The text report draws 32 years of timeline without trouble.
    let text = run_with(
        &args(["analyze", "--color", "never"]),
        Some(log.as_bytes()),
        Duration::from_secs(60),
    );
    assert_eq!(text.code, Some(0));
    assert!(
        text.text()
            .contains("1999-01-01 00:00:00 .. 2031-05-05 05:05:05"),
        "{}",
        text.text()
    );
}

#[test]
fn interleaved_formats_are_each_recognised() {
    let log = [
        // nginx: a failure and noise.
        refused("2026/11/20 10:00:00", 1, "/a", "http://10.0.0.1:80"),
        "2026/11/20 10:00:01 [error] 7#7: *2 open() \"/var/www/x\" failed (2: No such file or directory), client: 1.1.1.1, server: s, request: \"GET /x HTTP/1.1\", host: \"h\"\n".into(),
        // Apache 2.4: a failure and noise.
        "[Fri Nov 20 10:00:02.000001 2026] [proxy:error] [pid 10:tid 20] AH00940: HTTP: disabled connection for (127.0.0.1:18081)\n".into(),
        "[Fri Nov 20 10:00:03.100000 2026] [core:notice] [pid 10:tid 21] AH00094: Command line: '/usr/sbin/apache2'\n".into(),
        // Apache 2.2.
        "[Fri Nov 20 10:00:04 2026] [error] [client 139.22.4.209] (111)Connection refused: proxy: HTTP: attempt to connect to 127.0.0.1:8093 (localhost) failed\n".into(),
        // php-fpm: a failure and noise.
        "[20-Nov-2026 10:00:05] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n".into(),
        "[20-Nov-2026 10:00:06] NOTICE: fpm is running, pid 77\n".into(),
        // Each behind syslog / journald.
        format!("Nov 20 10:00:07 web1 nginx[812]: {}", timed_out("2026/11/20 10:00:07", 9)),
        "2026-11-20T10:00:08+0000 web1 apache2[9]: [Fri Nov 20 10:00:08.100000 2026] [proxy:error] [pid 9:tid 3] AH00940: HTTP: disabled connection for (127.0.0.1:18082)\n".into(),
        "<30>Nov 20 10:00:09 web1 php-fpm[77]: [WARNING] [pool api] child 7 exited on signal 11 (SIGSEGV) after 1.000000 seconds from start\n".into(),
        // The kernel: dmesg, and kern.log.
        "[ 3610.000001] VFS: file-max limit 65536 reached\n".into(),
        "Nov 20 10:00:10 web1 kernel: [ 3611.000002] nf_conntrack: nf_conntrack: table full, dropping packet\n".into(),
        // No known format.
        "PHP Warning:  Undefined variable $x in /var/www/i.php on line 3\n".into(),
    ]
    .concat();
    let run = stdin_json(log.as_bytes());
    assert_eq!(run.code, Some(0));
    let r = run.json();
    assert_eq!(r["lines"]["total"], 13);
    assert_eq!(
        r["lines"]["recognized"],
        serde_json::json!({"nginx": 3, "apache": 4, "php-fpm": 3, "kernel": 2})
    );
    assert_eq!(r["lines"]["unrecognized"], 1);
    assert_lines_add_up(&r);
    assert_eq!(cause(&r, "upstream_refused")["servers"]["nginx"], 1);
    assert_eq!(cause(&r, "upstream_refused")["servers"]["apache"], 1);
    assert_eq!(cause(&r, "upstream_timeout")["count"], 1);
    assert_eq!(cause(&r, "no_live_upstreams")["count"], 2);
    assert_eq!(cause(&r, "php_fpm_max_children")["count"], 1);
    assert_eq!(cause(&r, "php_fpm_child_crash")["count"], 1);
    // php-fpm's two lines and the kernel's two explain failures and are
    // none themselves.
    assert_eq!(r["total_failures"], 5);
    assert_eq!(r["explaining_lines"], 4);
}

// ------------------------------------------------------------ output safety

/// Characters that must never reach a terminal raw (besides the newlines
/// that end output lines): C0 except '\n', DEL, C1, bidi controls,
/// invisible format characters, line and paragraph separators.
fn raw_danger(c: char) -> bool {
    (c != '\n' && c.is_control())
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{061c}' | '\u{feff}' | '\u{e0000}'..='\u{e007f}')
}

/// Removes the SGR colour sequences the renderer itself writes.
fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\u{1b}[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            rest = &after[end + 1..];
        } else {
            // Not a colour: keep the ESC so the check below sees it.
            out.push('\u{1b}');
            rest = &rest[i + 1..];
        }
    }
    out.push_str(rest);
    out
}

fn assert_no_raw_danger(what: &str, out: &str) {
    let clean = strip_sgr(out);
    if let Some(c) = clean.chars().find(|&c| raw_danger(c)) {
        panic!("{what}: raw {c:?} in output:\n{out}");
    }
}

#[test]
fn terminal_escapes_in_logs_never_reach_text_output_raw() {
    let dir = tempfile::tempdir().unwrap();
    // In a file name too.
    let p = dir
        .path()
        .join("err\u{1b}[31m\u{202e}or\u{2066}.log\u{9b}2J");
    let evil_up = "http://ev\u{1b}[31mil\u{9b}2J\u{202e}:80";
    let evil_route = "/a\u{1b}]0;title\u{7}/\u{2067}b\u{2069}/\u{7f}c\u{2028}";
    let mut log = refused("2026/11/20 10:00:01", 1, evil_route, evil_up);
    log.push_str("\u{1b}[2J\u{1b}[H\u{202e}garbage\u{e0041}\u{85}\r\n");
    log.push_str(&timed_out("2026/11/20 10:00:02", 2).replace("\"h\"", "\"\u{1b}[5mh\u{8}\""));
    fs::write(&p, &log).unwrap();
    let missing = dir.path().join("gone\u{1b}[31m\u{202e}.log");

    for color in ["never", "always"] {
        let run = run_with(
            &args([
                OsStr::new("analyze"),
                OsStr::new("--color"),
                OsStr::new(color),
                p.as_os_str(),
                missing.as_os_str(),
            ]),
            None,
            Duration::from_secs(60),
        );
        assert_eq!(run.code, Some(2));
        let text = run.text();
        assert_no_raw_danger(&format!("analyze --color {color}"), &text);
        for shown in [
            // the upstream, in the table and the cause block
            "http://ev\\x1b[31mil\\u{009b}2J\\u{202e}:80",
            // the route
            "/a\\x1b]0;title\\x07/\\u{2067}b\\u{2069}/\\x7fc\\u{2028}",
            // the unrecognized sample
            "\\x1b[2J\\x1b[H\\u{202e}garbage\\u{e0041}\\u{0085}",
            // the file name, in example and note lines
            "err\\x1b[31m\\u{202e}or\\u{2066}.log\\u{009b}2J",
            "gone\\x1b[31m\\u{202e}.log",
        ] {
            assert!(
                text.contains(shown),
                "--color {color}: {shown:?} not in\n{text}"
            );
        }
    }

    // `check` text and GitHub output carry example lines and file names.
    for format in ["text", "github"] {
        let run = run_with(
            &args([
                OsStr::new("check"),
                OsStr::new("--format"),
                OsStr::new(format),
                p.as_os_str(),
            ]),
            None,
            Duration::from_secs(60),
        );
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert_no_raw_danger(&format!("check --format {format}"), &run.text());
        assert!(run.text().contains("\\x1b[31m"), "{}", run.text());
    }

    // JSON keeps the data as it was (escaped by JSON itself).
    let run = analyze_json(&[&p], 60);
    let r = run.json();
    let c = cause(&r, "upstream_refused");
    assert_eq!(c["upstreams"][0]["upstream"], evil_up);
    assert_eq!(c["routes"][0]["route"], evil_route);
    assert_eq!(r["files"][0]["path"], p.display().to_string());
}

/// Regression: input names on stderr were once printed raw, so a crafted
/// file name in a log directory reached the terminal (stdout escaped it).
#[test]
fn stderr_names_of_unreadable_inputs_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone\u{1b}]0;pwned\u{7}\u{202e}.log");
    let run = analyze_json(&[&missing], 60);
    assert_eq!(run.code, Some(2));
    assert_no_raw_danger("stderr", &run.stderr);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Whatever the bytes, the JSON report parses and the text report has
    /// nothing raw that a terminal would act on.
    #[test]
    fn any_bytes_give_valid_json_and_safe_text(
        parts in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..200),
                Just(refused1().into_bytes()),
                Just(b"2026/11/20 10:00:00 [error] 1#1: *1 upstream timed out (110: x) while connecting to upstream, upstream: \"".to_vec()),
                Just(b"[Fri Nov 20 10:23:45.1 2026] [proxy:error] [pid 1:tid 2] AH00957: HTTP: attempt to connect to ".to_vec()),
                Just(b"\n".to_vec()),
            ],
            0..12,
        )
    ) {
        let input = parts.concat();
        let run = stdin_json(&input);
        let r = run.json();
        // Exit 0, or 2 when the bytes are refused as binary or compressed
        // data (the report then says so).
        let refused = r["files"][0]["error"].as_str().is_some_and(|e| {
            e.starts_with("binary file") || e.contains("-compressed, which upcause does not read")
        });
        prop_assert_eq!(run.code, Some(if refused { 2 } else { 0 }));
        assert_lines_add_up(&r);
        let text = run_with(&args(["analyze", "--color", "never"]), Some(&input), Duration::from_secs(60));
        prop_assert_eq!(text.code, run.code);
        assert_no_raw_danger("text", &text.text());
    }
}

// ------------------------------------------------------------ saved reports

/// A real report (two causes, two years, an escape, an unrecognized
/// line), as JSON; made once.
fn sample_report() -> Value {
    static REPORT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        let log = [
            refused1(),
            timeout1(),
            refused(
                "2027/01/01 00:00:00",
                3,
                "/b/\u{1b}[1m",
                "http://10.0.0.3:80",
            ),
            "garbage line\n".to_string(),
        ]
        .concat();
        stdin_json(log.as_bytes()).json()
    });
    REPORT.clone()
}

/// Replaces numbers and strings of `v`, depth first, as `picks` says: a
/// pick below 64 leaves the value alone; otherwise numbers become extreme
/// or arbitrary and strings become hostile or malformed.
fn mutate(v: &mut Value, picks: &[(u8, u64)], at: &mut usize) {
    let mut next = || {
        let p = picks[*at % picks.len()];
        *at += 1;
        p
    };
    match v {
        Value::Number(_) => {
            let (pick, n) = next();
            if pick >= 232 {
                *v = match pick % 6 {
                    0 => Value::from(0u64),
                    // Up to 2^32: sums of a few cannot overflow (that
                    // case is `merge_of_huge_counts_does_not_crash`).
                    1 => Value::from(u64::from(u32::MAX)),
                    2 => Value::from(n >> 32),
                    3 => Value::from(n & 0xffff),
                    4 => Value::from(-(n as i64 & 0xffff)),
                    _ => Value::from(1.5),
                };
            }
        }
        Value::String(s) => {
            let (pick, n) = next();
            if pick >= 232 {
                *s = match pick % 7 {
                    0 => String::new(),
                    1 => "\u{1b}]0;pwned\u{7}\u{202e}\u{2028}\u{9b}".into(),
                    2 => "9999-12-31T23:59:59".into(),
                    3 => "0000-01-01T00:00:00".into(),
                    4 => format!("{n}"),
                    5 => "(other)".into(),
                    _ => "x".repeat((n % 5000) as usize),
                };
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| mutate(x, picks, at)),
        Value::Object(o) => o.values_mut().for_each(|x| mutate(x, picks, at)),
        _ => {}
    }
}

/// Fixed in `src/render/text.rs`: a saved report whose file has
/// more unrecognized lines than lines made `merge`'s text summary panic
/// ("attempt to subtract with overflow"; a wrapped percentage in release).
#[test]
fn merge_text_of_inconsistent_line_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = sample_report();
    report["files"][0]["lines"] = Value::from(0);
    report["files"][0]["unrecognized"] = Value::from(5);
    let a = dir.path().join("a.json");
    fs::write(&a, serde_json::to_vec(&report).unwrap()).unwrap();
    let run = run_with(
        &args([
            OsStr::new("merge"),
            OsStr::new("--color"),
            OsStr::new("never"),
            a.as_os_str(),
        ]),
        None,
        Duration::from_secs(60),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = run.text();
    let first = text.lines().next().unwrap_or_default();
    assert!(first.ends_with("; 0 lines from 1 input"), "{text}");
}

/// Regression: counts read from saved reports were once added unchecked,
/// so two reports whose counts sum past `u64::MAX` panicked a debug build
/// and wrapped in release; they saturate.
#[test]
fn merge_of_huge_counts_does_not_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = sample_report();
    report["causes"][0]["count"] = Value::from(u64::MAX / 2 + 1);
    let a = dir.path().join("a.json");
    fs::write(&a, serde_json::to_vec(&report).unwrap()).unwrap();
    let run = run_with(
        &args([OsStr::new("merge"), a.as_os_str(), a.as_os_str()]),
        None,
        Duration::from_secs(60),
    );
    assert!(
        matches!(run.code, Some(0 | 2)),
        "exit {:?}: {}",
        run.code,
        run.stderr
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Saved reports are files anyone can edit. Whatever numbers and
    /// strings they hold, `merge` rejects them (exit 2) or merges them
    /// (exit 0): it never crashes, and its text shows nothing raw.
    #[test]
    fn crafted_reports_never_crash_merge(
        picks in proptest::collection::vec((any::<u8>(), any::<u64>()), 1..64),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut report = sample_report();
        let mut at = 0;
        mutate(&mut report, &picks, &mut at);
        let a = dir.path().join("a.json");
        fs::write(&a, serde_json::to_vec(&report).unwrap()).unwrap();
        for format in ["text", "json"] {
            let run = run_with(
                &args([OsStr::new("merge"), OsStr::new("--format"), OsStr::new(format), a.as_os_str(), a.as_os_str()]),
                None,
                Duration::from_secs(60),
            );
            if run.code == Some(101) {
                let mut l = run.stderr.lines().skip_while(|l| !l.contains("panicked at"));
                eprintln!("PANIC {} {}", l.next().unwrap_or(""), l.next().unwrap_or(""));
            }
            prop_assert!(
                matches!(run.code, Some(0 | 2)),
                "merge -f {} exited {:?}:\n{}\nreport: {}",
                format, run.code, run.stderr, report
            );
            if run.code == Some(0) && format == "json" {
                run.json();
            } else if run.code == Some(0) {
                assert_no_raw_danger("merge text", &run.text());
            }
        }
    }
}
