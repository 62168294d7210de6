//! Access logs read with the format their server's configuration gives
//! (`--config`), no `--access-format`: fixtures/access/nginx.conf and
//! httpd.conf are the configurations the real nginx and Apache of
//! fixtures/generate-access.sh ran with (their temp dir named
//! /srv/upcause-access), so each test lays the logs out where they name
//! them.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A folder holding the configurations (their paths pointed at it) and
/// the logs where they write them.
fn layout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["nginx/logs", "apache/logs"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    for conf in ["nginx.conf", "httpd.conf"] {
        let text = std::fs::read_to_string(common::fixture(&format!("access/{conf}"))).unwrap();
        std::fs::write(
            d.join(conf),
            text.replace("/srv/upcause-access", &d.display().to_string()),
        )
        .unwrap();
    }
    for (from, to) in [
        ("nginx-error.log", "nginx/logs/error.log"),
        ("nginx-upstreams.log", "nginx/logs/upstreams.log"),
        ("nginx-combined.log", "nginx/logs/combined.log"),
        ("apache-error.log", "apache/logs/error.log"),
        ("apache-custom.log", "apache/logs/custom.log"),
    ] {
        std::fs::copy(common::fixture(&format!("access/{from}")), d.join(to)).unwrap();
    }
    dir
}

fn analyze(args: &[&Path]) -> Value {
    let out = common::bin()
        .args(["analyze", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    common::json(&out)
}

#[test]
fn nginx_log_format_and_access_log_from_the_configuration() {
    let dir = layout();
    let d = dir.path();
    let p = |s: &str| -> PathBuf { d.join(s) };
    let conf = p("nginx.conf");
    let (error, upstreams) = (p("nginx/logs/error.log"), p("nginx/logs/upstreams.log"));
    // Without the configuration the custom lines are read as `combined`
    // up to its end, without $connection: tied by request line only.
    let plain = analyze(&[&error, &upstreams]);
    assert_eq!(
        common::join_methods(&plain["client_impact"]),
        [
            ("log_id".into(), 0),
            ("connection".into(), 0),
            ("request".into(), 15),
            ("route".into(), 0)
        ]
    );
    assert!(plain["files"][1].get("access_format").is_none());
    // With it: `log_format upstreams` (two-piece pieces joined) for
    // logs/upstreams.log, so $connection ties each line to its `*N`.
    let r = analyze(&[Path::new("--config"), &conf, &error, &upstreams]);
    assert_eq!(
        common::join_methods(&r["client_impact"]),
        [
            ("log_id".into(), 0),
            ("connection".into(), 22),
            ("request".into(), 0),
            ("route".into(), 0)
        ]
    );
    assert_eq!(r["client_impact"]["requests"], 47);
    assert_eq!(r["client_impact"]["explained"], 15);
    assert_eq!(r["client_impact"]["absorbed_requests"], 7);
    assert_eq!(
        r["files"][1]["access_format"],
        format!("upstreams ({c}:15), named at {c}:31", c = conf.display())
    );
    // A rotation of it is read alike; `combined` (built in) for the other.
    std::fs::rename(&upstreams, p("nginx/logs/upstreams.log.1")).unwrap();
    let combined = p("nginx/logs/combined.log");
    let r = analyze(&[
        Path::new("--config"),
        &conf,
        &error,
        &p("nginx/logs/upstreams.log.1"),
        &combined,
    ]);
    assert_eq!(r["client_impact"]["requests"], 94);
    assert!(
        r["files"][1]["access_format"]
            .as_str()
            .unwrap()
            .starts_with("upstreams (")
    );
    assert_eq!(
        r["files"][2]["access_format"],
        format!("combined (built in), named at {}:30", conf.display())
    );
}

#[test]
fn apache_log_format_and_custom_log_from_the_configuration() {
    let dir = layout();
    let d = dir.path();
    let conf = d.join("httpd.conf");
    let (error, custom) = (
        d.join("apache/logs/error.log"),
        d.join("apache/logs/custom.log"),
    );
    let plain = analyze(&[&error, &custom]);
    // `common` reads the start of each line: no balancer member.
    assert_eq!(plain["client_impact"]["upstreams"], serde_json::json!([]));
    let r = analyze(&[Path::new("--config"), &conf, &error, &custom]);
    assert_eq!(
        r["files"][1]["access_format"],
        format!("custom ({c}:9), named at {c}:35", c = conf.display())
    );
    let ups: Vec<(String, u64)> = r["client_impact"]["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["upstream"].as_str().unwrap().into(),
                u["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ups,
        [
            ("http://127.0.0.1:18710".into(), 4),
            ("http://127.0.0.1:18711".into(), 4),
            ("http://127.0.0.1:18712".into(), 1)
        ]
    );
    assert_eq!(r["client_impact"]["statuses"]["503"], 11);
}

#[test]
fn access_format_flag_wins_over_the_configuration() {
    let dir = layout();
    let d = dir.path();
    let out = common::bin()
        .args(["analyze", "--format", "json", "--config"])
        .arg(d.join("nginx.conf"))
        // The real format with $connection read as another variable.
        .args([
            "--access-format",
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
             $request_time $upstream_addr $upstream_status $upstream_response_time \
             $upstream_connect_time $upstream_header_time $pid $connection_requests $request_id",
        ])
        .arg(d.join("nginx/logs/error.log"))
        .arg(d.join("nginx/logs/upstreams.log"))
        .output()
        .unwrap();
    let r = common::json(&out);
    assert!(r["files"][1].get("access_format").is_none());
    assert_eq!(
        common::join_methods(&r["client_impact"]),
        [
            ("log_id".into(), 0),
            ("connection".into(), 0),
            ("request".into(), 22),
            ("route".into(), 0)
        ]
    );
}

#[test]
fn a_timeouts_fix_weighs_its_durations_against_the_configured_timeout() {
    let dir = layout();
    let d = dir.path();
    let conf = d.join("nginx.conf");
    let r = analyze(&[
        Path::new("--config"),
        &conf,
        &d.join("nginx/logs/error.log"),
        &d.join("nginx/logs/upstreams.log"),
    ]);
    let fix = common::cause(&r, "upstream_timeout")["fix"]
        .as_str()
        .unwrap();
    assert!(
        fix.ends_with(&format!(
            "On /timeout/report/:id, the failed requests took p95 1.0 s (max 1.0 s) against \
             proxy_read_timeout 1s (set at {}:14): they were cut at the timeout, and none \
             succeeded on this route in the sample.",
            conf.display()
        )),
        "{fix}"
    );
    // Without the configuration there is no timeout to weigh them against.
    let r = analyze(&[
        &d.join("nginx/logs/error.log"),
        &d.join("nginx/logs/upstreams.log"),
    ]);
    assert!(
        !common::cause(&r, "upstream_timeout")["fix"]
            .as_str()
            .unwrap()
            .contains("p95")
    );
}

/// fixtures/logid: a real Apache writing `[R:%L]` in its error log and
/// `%L` in its access log, laid out where its httpd.conf names them.
fn logid_layout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("apache/logs")).unwrap();
    let text = std::fs::read_to_string(common::fixture("logid/httpd.conf")).unwrap();
    std::fs::write(
        d.join("httpd.conf"),
        text.replace("/srv/upcause-logid", &d.display().to_string()),
    )
    .unwrap();
    for (from, to) in [
        ("apache-error.log", "apache/logs/error.log"),
        ("apache-access.log", "apache/logs/access.log"),
    ] {
        std::fs::copy(common::fixture(&format!("logid/{from}")), d.join(to)).unwrap();
    }
    dir
}

#[test]
fn apache_log_ids_tie_each_client_5xx_to_its_error_lines() {
    let dir = logid_layout();
    let d = dir.path();
    let (error, access) = (
        d.join("apache/logs/error.log"),
        d.join("apache/logs/access.log"),
    );
    let r = analyze(&[
        Path::new("--config"),
        &d.join("httpd.conf"),
        &error,
        &access,
    ]);
    assert_eq!(
        common::join_methods(&r["client_impact"]),
        [
            ("log_id".into(), 10),
            ("connection".into(), 0),
            ("request".into(), 0),
            ("route".into(), 0)
        ]
    );
    let ci = &r["client_impact"];
    assert_eq!(
        (ci["explained"].as_u64(), ci["unexplained"].as_u64()),
        (Some(10), Some(0))
    );
    // Each cause's clients, as results.tsv says they got them.
    for (cause, status, n) in [
        ("upstream_refused", "503", 4),
        ("upstream_timeout", "502", 3),
        ("connection_reset", "502", 3),
    ] {
        let c = common::cause(&r, cause);
        assert_eq!(c["count"], n, "{cause}");
        assert_eq!(c["client_impact"]["statuses"][status], n, "{cause}");
    }
    assert_eq!(r["lines"]["unrecognized"], 0);
    // Without the log id (the access lines read as `common`), the refused
    // connections' lines name no path: only the route ties the others.
    let plain = analyze(&[&error, &access]);
    assert_eq!(
        common::join_methods(&plain["client_impact"]),
        [
            ("log_id".into(), 0),
            ("connection".into(), 0),
            ("request".into(), 0),
            ("route".into(), 6)
        ]
    );
    assert_eq!(plain["client_impact"]["unexplained"], 4);
}

/// The metrics a `follow --metrics` serves, once they hold `want` (or
/// after 10 s), then SIGTERM.
fn follow_metrics(extra: &[&Path], log: &Path, want: &str) -> String {
    use std::io::{Read, Write};
    let port = common::free_port();
    let state = tempfile::tempdir().unwrap();
    let child = common::bin()
        .args(["follow", "--from-start", "--no-state", "--format", "json"])
        .args([
            "--interval",
            "200ms",
            "--metrics",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .arg(log)
        .env("XDG_STATE_HOME", state.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut got = String::new();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
        got.clear();
        let _ = s.read_to_string(&mut got);
        if got.contains(want) {
            break;
        }
    }
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let _ = child.wait_with_output();
    got
}

#[test]
fn follow_reads_a_followed_access_log_with_its_configured_format() {
    let dir = layout();
    let d = dir.path();
    let log = d.join("nginx/logs/upstreams.log");
    let series = "upcause_client_responses_total{status=\"200\",route=\"/ok/items/:id\",upstream=\"127.0.0.1:18710\"} 20";
    let with = follow_metrics(
        &[Path::new("--config"), &d.join("nginx.conf")],
        &log,
        series,
    );
    assert!(with.contains(series), "{with}");
    // Read as `combined`, the line has no $upstream_addr.
    let plain_series = "upcause_client_responses_total{status=\"200\",route=\"/ok/items/:id\",upstream=\"(none)\"} 20";
    let without = follow_metrics(&[], &log, plain_series);
    assert!(without.contains(plain_series), "{without}");
}
