//! Runs the built binary on logs and checks its JSON, text and exit codes.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::{bin, cause, json, root};
use serde_json::Value;

/// Public sample logs from other projects' test suites (see
/// fixtures/public/README.md for where each comes from).
fn corpus() -> PathBuf {
    root().join("fixtures/public")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn analyze_json(paths: &[&Path], extra: &[&str]) -> (Value, Output) {
    let mut args: Vec<String> = vec!["analyze".into(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let out = bin().args(&args).output().unwrap();
    (json(&out), out)
}

const REFUSED: &str = r#"2026/11/20 10:00:01 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /api/users/17?x=1 HTTP/1.1", upstream: "http://10.0.0.1:80/api/users/17?x=1", host: "h"
"#;
const TIMEOUT: &str = r#"2026/11/20 10:02:30 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: "GET /slow HTTP/1.1", upstream: "http://10.0.0.2:80/slow", host: "h"
"#;

// ------------------------------------------------------------ public corpus

#[test]
fn every_public_sample_is_analyzed_without_error() {
    let mut files = Vec::new();
    let mut stack = vec![corpus()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("fixtures/public is present") {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "log") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 15, "corpus too small: {}", files.len());
    for f in files {
        let (r, out) = analyze_json(&[&f], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", f.display());
        let bytes = std::fs::read(&f).unwrap();
        let lines = bytes.split(|&b| b == b'\n').count() as u64
            - u64::from(bytes.last() == Some(&b'\n') || bytes.is_empty());
        assert_eq!(r["lines"]["total"], lines, "{}", f.display());
        let l = &r["lines"];
        let accounted = l["unrecognized"].as_u64().unwrap()
            + l["blank"].as_u64().unwrap()
            + l["continuation"].as_u64().unwrap()
            + l["oversized"].as_u64().unwrap()
            + ["nginx", "apache", "php-fpm"]
                .iter()
                .map(|s| l["recognized"][s].as_u64().unwrap())
                .sum::<u64>();
        assert_eq!(
            accounted,
            lines,
            "every line is accounted for in {}",
            f.display()
        );
    }
}

#[test]
fn nginx_cascade_from_a_real_windows_server() {
    let f = corpus().join("madsmtm-nginx-error-log/tests/output-samples/error.log");
    let (r, _) = analyze_json(&[&f], &[]);
    assert_eq!(r["causes"][0]["cause"], "no_live_upstreams");
    assert_eq!(r["causes"][0]["count"], 16);
    assert_eq!(r["causes"][0]["upstreams"][0]["upstream"], "localhost");
    assert_eq!(r["causes"][0]["status"], 502);
    let t = cause(&r, "upstream_timeout");
    assert_eq!(t["count"], 3);
    assert_eq!(t["status"], 504);
    assert_eq!(t["first_seen"], "2019-01-10T10:02:43");
    assert_eq!(r["total_failures"], 19);
    assert_eq!(r["lines"]["matched"], 19);
}

#[test]
fn client_side_handshake_and_php_notices_are_not_failures() {
    // aasaam sample: client SSL handshakes, naxsi, Lua; one real
    // "Primary script unknown".
    let f = corpus().join("aasaam-nginx-error-log-parser/samples/error.log");
    let (r, _) = analyze_json(&[&f], &[]);
    assert_eq!(r["total_failures"], 1);
    let c = cause(&r, "fastcgi_script");
    assert_eq!(c["upstreams"][0]["upstream"], "unix:/var/run/fpm.sock");
    assert_eq!(c["status"], 404);
}

// ------------------------------------------------------------ inputs

#[test]
fn stdin_and_dash_read_the_same_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    std::fs::write(&p, format!("{REFUSED}{TIMEOUT}")).unwrap();
    let (from_file, _) = analyze_json(&[&p], &[]);
    for args in [
        &["analyze", "-f", "json"][..],
        &["analyze", "-f", "json", "-"][..],
    ] {
        let out = run_stdin(args, format!("{REFUSED}{TIMEOUT}").as_bytes());
        assert_eq!(out.status.code(), Some(0));
        let r = json(&out);
        // Same analysis; only the example's file name differs.
        let mut expected = from_file["causes"].clone();
        for c in expected.as_array_mut().unwrap() {
            c["example"]["file"] = "-".into();
        }
        assert_eq!(r["causes"], expected);
        assert_eq!(r["files"][0]["path"], "-");
    }
}

#[test]
fn gzip_by_content_with_rotated_names_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(REFUSED.as_bytes()).unwrap();
    std::fs::write(dir.path().join("error.log.2.gz"), gz.finish().unwrap()).unwrap();
    // A gzip member without the .gz name, as some rotations leave it.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(REFUSED.as_bytes()).unwrap();
    std::fs::write(dir.path().join("error.log.1"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("error.log"), TIMEOUT).unwrap();
    std::fs::write(dir.path().join("other.log"), "not an error log\n").unwrap();
    let (r, out) = analyze_json(&[dir.path()], &[]);
    assert_eq!(out.status.code(), Some(0));
    let names: Vec<String> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            Path::new(f["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["error.log.2.gz", "error.log.1", "error.log"]);
    assert_eq!(cause(&r, "upstream_refused")["count"], 2);
    assert_eq!(cause(&r, "upstream_timeout")["count"], 1);
    assert_eq!(r["lines"]["total"], 3);
}

#[test]
fn missing_file_beside_a_good_one_exits_2_and_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("error.log");
    std::fs::write(&good, REFUSED).unwrap();
    let missing = dir.path().join("nope.log");
    let (r, out) = analyze_json(&[&missing, &good], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nope.log") && stderr.contains("no such file"),
        "{stderr}"
    );
    assert_eq!(r["total_failures"], 1);
    assert_eq!(r["files"][0]["error"], "no such file or directory");
    assert_eq!(r["files"][1]["error"], Value::Null);
}

#[test]
fn text_summary_says_what_could_not_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("error.log");
    std::fs::write(&good, REFUSED).unwrap();
    let missing = dir.path().join("nope.log");
    let text = |paths: &[&std::path::Path]| {
        let mut a = vec!["analyze", "--color", "never"];
        a.extend(paths.iter().map(|p| p.to_str().unwrap()));
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stdout).unwrap()
    };
    let only_missing = text(&[&missing]);
    assert_eq!(
        only_missing.lines().next(),
        Some("Nothing could be read: 0 lines from 1 input, 1 with a read error"),
        "{only_missing}"
    );
    let both = text(&[&missing, &good]);
    assert!(
        both.lines()
            .next()
            .is_some_and(|l| l.ends_with("from 2 inputs, 1 with a read error (100.0% recognized)")),
        "{both}"
    );
}

#[test]
fn truncated_gzip_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..200 {
        gz.write_all(REFUSED.as_bytes()).unwrap();
    }
    let bytes = gz.finish().unwrap();
    let p = dir.path().join("error.log.3.gz");
    std::fs::write(&p, &bytes[..bytes.len() - 12]).unwrap();
    let (r, out) = analyze_json(&[&p], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error.log.3.gz"));
    assert!(r["files"][0]["error"].is_string());
    let n = r["total_failures"].as_u64().unwrap();
    assert!(n > 100 && n <= 200, "{n}");
}

#[test]
fn odd_bytes_crlf_and_no_final_newline() {
    let log = format!(
        "{}\r\n\0\0garbage \u{1b}[31m\n{}",
        REFUSED.trim_end(),
        TIMEOUT.trim_end()
    );
    let out = run_stdin(&["analyze", "-f", "json"], log.as_bytes());
    let r = json(&out);
    assert_eq!(r["total_failures"], 2);
    assert_eq!(r["lines"]["total"], 3);
    assert_eq!(r["lines"]["unrecognized"], 1);
    assert_eq!(r["unrecognized_examples"][0]["line"], 2);
}

#[test]
fn empty_input_reports_that_nothing_was_read() {
    let out = run_stdin(&["analyze"], b"");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Nothing to analyze, no line was read"),
        "{text}"
    );
}

// ------------------------------------------------------------ options

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["analyze", "--window", "soon"][..],
        &["analyze", "--cause", "nope"][..],
        &["analyze", "--since", "whenever"][..],
        &["analyze", "--since", "2026-11-21", "--until", "2026-11-20"][..],
        &["frobnicate"][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = run(&["analyze", "--cause", "nope"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("upstream_timeout"));
}

#[test]
fn window_peak_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("error.log");
    let mut log = String::new();
    for (i, minute) in [0, 0, 1, 1, 1, 5].iter().enumerate() {
        log.push_str(&format!(
            "2026/11/20 10:{minute:02}:{:02} [error] 7#7: *{i} connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET /r/{i} HTTP/1.1\", upstream: \"http://10.0.0.{}:80/r\", host: \"h\"\n",
            i * 3,
            i % 2 + 1
        ));
    }
    log.push_str(TIMEOUT);
    std::fs::write(&p, log).unwrap();
    let (r, _) = analyze_json(&[&p], &[]);
    let c = cause(&r, "upstream_refused");
    assert_eq!(c["count"], 6);
    assert_eq!(
        c["peak"],
        serde_json::json!({"start": "2026-11-20T10:01:00", "end": "2026-11-20T10:02:00", "count": 3})
    );
    assert_eq!(c["timeline"].as_array().unwrap().len(), 3);
    assert_eq!(
        c["routes"][0],
        serde_json::json!({"route": "/r/:id", "count": 6})
    );
    assert_eq!(c["share"], 0.8571);

    let (r, _) = analyze_json(&[&p], &["--window", "5m"]);
    let c = cause(&r, "upstream_refused");
    assert_eq!(c["peak"]["count"], 5);
    assert_eq!(r["window"], "5m");

    let (r, _) = analyze_json(
        &[&p],
        &["--since", "2026-11-20 10:01", "--until", "2026-11-20 10:02"],
    );
    assert_eq!(r["total_failures"], 3);
    let (r, _) = analyze_json(&[&p], &["--cause", "upstream_timeout"]);
    assert_eq!(r["causes"].as_array().unwrap().len(), 1);
    let (r, _) = analyze_json(&[&p], &["--upstream", "10.0.0.2"]);
    assert_eq!(r["total_failures"], 4);
    assert_eq!(
        cause(&r, "upstream_refused")["upstreams"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn output_is_deterministic() {
    let f = corpus().join("madsmtm-nginx-error-log/tests/output-samples/error.log");
    for fmt in ["json", "text"] {
        let a = run(&["analyze", "-f", fmt, f.to_str().unwrap()]);
        let b = run(&["analyze", "-f", fmt, f.to_str().unwrap()]);
        assert_eq!(a.stdout, b.stdout);
    }
}

#[test]
fn text_escapes_log_bytes_and_has_no_colour_off_a_terminal() {
    let evil = REFUSED.replace("/api/users/17", "/\u{1b}]0;pwned\u{7}\u{202e}x");
    let out = run_stdin(&["analyze"], evil.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(!text.contains('\u{202e}'));
    assert!(text.contains("\\x1b]0;pwned"), "{text}");
    assert!(text.contains("upstream_refused"));
    let out = run_stdin(&["analyze", "--color", "always"], REFUSED.as_bytes());
    assert!(String::from_utf8(out.stdout).unwrap().contains("\u{1b}["));
}

#[test]
fn causes_lists_the_catalog() {
    let out = run(&["causes", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cause"].as_str().unwrap())
        .collect();
    for id in ["upstream_refused", "php_fpm_child_crash", "tls_verify"] {
        assert!(ids.contains(&id));
    }
    let refused = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == "upstream_refused")
        .unwrap();
    assert_eq!(refused["status_by_server"]["nginx"], 502);
    assert_eq!(refused["status_by_server"]["apache"], 503);
    let text = String::from_utf8(run(&["causes"]).stdout).unwrap();
    assert!(text.contains("proxy_read_timeout") && text.contains("ProxyTimeout"));
}

#[test]
fn readme_lists_every_cause_and_ci_runs_its_test_command() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let out = run(&["causes", "--format", "json"]);
    for c in json(&out).as_array().unwrap() {
        let id = c["cause"].as_str().unwrap();
        assert!(
            readme.contains(&format!("`{id}`")),
            "README misses cause {id}"
        );
    }
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let test_cmd = "cargo test --locked";
    assert!(readme.contains(test_cmd) && ci.contains(test_cmd));
    // The example command of the README runs on a bundled log.
    let example = readme
        .lines()
        .find(|l| l.starts_with("cargo run --release -- analyze "))
        .expect("README has the example command");
    let path = example.rsplit(' ').next().unwrap();
    assert!(root().join(path).is_file(), "{path} is bundled");
}

/// A text report never says "no upstream failures" about input it did not
/// read: an empty file, or lines in no known format.
#[test]
fn analyze_never_gives_the_all_clear_on_nothing_read() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("error.log");
    let words = dir.path().join("words.log");
    std::fs::write(&empty, "").unwrap();
    std::fs::write(&words, "hello\nworld\n").unwrap();
    for (path, want) in [
        (
            &empty,
            "Nothing to analyze, no line was read: 0 lines from 1 input",
        ),
        (
            &words,
            "No line is in a known error-log format, so nothing can be said: 2 lines from 1 input (0.0% recognized)",
        ),
    ] {
        let out = bin()
            .args(["analyze", "-q", "--color", "never"])
            .arg(path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.lines().next(), Some(want), "{text}");
        assert!(!text.contains("No upstream failures found"), "{text}");
    }
}
