//! Start-up and configuration errors (fixtures/startup, written by real
//! nginx and Apache started with broken configurations, see
//! fixtures/generate-startup.sh) are a section of their own: never failed
//! requests, each with the configuration's file:line, its count and times,
//! and every line recognised.

mod common;

use common::{bin, fixture, json, stdout};
use serde_json::Value;

fn analyze(files: &[&str], extra: &[&str]) -> Value {
    let out = bin()
        .args(["analyze", "--format", "json", "--threads", "1"])
        .args(extra)
        .args(files.iter().map(|f| fixture(f)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    json(&out)
}

/// (kind, server, message, config, count, untimed, first_seen, last_seen)
type Row = (String, String, String, String, u64, u64, String, String);

fn rows(r: &Value) -> Vec<Row> {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    r["startup_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(&e["kind"]),
                s(&e["server"]),
                s(&e["message"]),
                s(&e["config"]),
                e["count"].as_u64().unwrap(),
                e["untimed"].as_u64().unwrap_or(0),
                s(&e["first_seen"]),
                s(&e["last_seen"]),
            )
        })
        .collect()
}

fn no_failures_all_recognised(r: &Value) {
    assert_eq!(r["total_failures"], 0);
    assert_eq!(r["causes"].as_array().unwrap().len(), 0);
    assert_eq!(
        r["lines"]["unrecognized"], 0,
        "{:#}",
        r["unrecognized_examples"]
    );
    assert_eq!(r["lines"]["matched"], 0);
}

const NGX: &str = "/tmp/upcause-startup/nginx/conf.d/";

#[test]
fn nginx_error_log_and_its_terminal() {
    let r = analyze(
        &["startup/nginx-error.log", "startup/nginx-stderr.log"],
        &[],
    );
    no_failures_all_recognised(&r);
    let t = |s: &str| format!("2026-12-06T10:59:{s}");
    let conf = |f: &str, l: u32| format!("{NGX}{f}.conf:{l}");
    let row = |kind: &str, msg: &str, config: String, n, untimed, first: &str, last: &str| {
        (
            kind.to_string(),
            "nginx".to_string(),
            msg.to_string(),
            config,
            n,
            untimed,
            t(first),
            t(last),
        )
    };
    assert_eq!(
        rows(&r),
        vec![
            row(
                "config_host_not_found",
                "host not found in upstream \"backend.invalid:8080\"",
                conf("upstream-host", 8),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "config_host_not_found",
                "host not found in upstream \"api.internal.invalid\"",
                conf("proxy-pass-host", 8),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "config_invalid",
                "unknown directive \"proxy_pas\"",
                conf("unknown-directive", 8),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "config_invalid",
                "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block",
                conf("uri-part", 8),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "config_invalid",
                "invalid number of arguments in \"proxy_read_timeout\" directive",
                conf("arguments", 8),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "config_file_unreadable",
                "open() \"/tmp/upcause-startup/nginx/conf.d/missing.conf\" failed (2: No such file or directory)",
                conf("include", 9),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "config_file_unreadable",
                "cannot load certificate \"/tmp/upcause-startup/nginx/missing.crt\": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(/tmp/upcause-startup/nginx/missing.crt, r) error:10000080:BIO routines::no such file)",
                "-".into(),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "config_invalid",
                "unexpected \"}\"",
                conf("brace", 9),
                2,
                1,
                "21",
                "21"
            ),
            row(
                "listen_failed",
                "bind() to 127.0.0.1:18933 failed (98: Address already in use)",
                "-".into(),
                10,
                5,
                "22",
                "22"
            ),
            row(
                "listen_failed",
                "still could not bind()",
                "-".into(),
                2,
                1,
                "22",
                "22"
            ),
            // The reload of a running nginx, then `nginx -t`.
            row(
                "config_host_not_found",
                "host not found in upstream \"db-primary.invalid:5000\"",
                conf("site", 8),
                3,
                1,
                "25",
                "26"
            ),
        ]
    );
    let e = &r["startup_errors"][0];
    assert_eq!(e["example"]["line"], 1);
    assert!(
        e["example"]["file"]
            .as_str()
            .unwrap()
            .ends_with("nginx-error.log")
    );
    assert!(e["meaning"].as_str().unwrap().contains("not 502s"));
    assert!(e["fix"].as_str().unwrap().contains("resolver"));
}

#[test]
fn apache_terminal_and_error_log() {
    let r = analyze(
        &["startup/apache-stderr.log", "startup/apache-error.log"],
        &[],
    );
    no_failures_all_recognised(&r);
    let row = |kind: &str, msg: &str, config: &str, n, untimed, first: &str, last: &str| {
        (
            kind.to_string(),
            "apache".to_string(),
            msg.to_string(),
            config.to_string(),
            n,
            untimed,
            first.to_string(),
            last.to_string(),
        )
    };
    assert_eq!(
        rows(&r),
        vec![
            row(
                "config_invalid",
                "Invalid command 'ProxyPas', perhaps misspelled or defined by a module not included in the server configuration",
                "/tmp/upcause-startup/apache/syntax.conf:12",
                1,
                1,
                "-",
                "-"
            ),
            row(
                "config_file_unreadable",
                "(21)Is a directory: AH00091: apache2: could not open error log file /tmp/upcause-startup/apache/logdir.",
                "-",
                1,
                1,
                "-",
                "-"
            ),
            row("startup_failed", "Unable to open logs", "-", 2, 2, "-", "-"),
            row(
                "listen_failed",
                "(98)Address already in use: AH00072: make_sock: could not bind to address 127.0.0.1:18943",
                "-",
                1,
                1,
                "-",
                "-"
            ),
            row(
                "listen_failed",
                "no listening sockets available, shutting down",
                "-",
                2,
                1,
                "2026-12-06T10:59:28",
                "2026-12-06T10:59:28"
            ),
            row(
                "listen_failed",
                "(98)Address already in use: AH00072: make_sock: could not bind to address 127.0.0.1:18945",
                "-",
                1,
                1,
                "-",
                "-"
            ),
            row(
                "startup_failed",
                "Unable to open logs, exiting",
                "-",
                1,
                0,
                "2026-12-06T10:59:28",
                "2026-12-06T10:59:28"
            ),
        ]
    );
    // The syntax error and what is wrong are one record of two lines.
    assert_eq!(r["lines"]["continuation"], 1);
}

#[test]
fn text_section_and_time_filters() {
    let out = bin()
        .args(["analyze", "--width", "100"])
        .arg(fixture("startup/nginx-error.log"))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.starts_with("No upstream failures found: 16 lines from 1 input (100.0% recognized)\n"),
        "{text}"
    );
    assert!(text.contains(
        "Start-up and configuration errors: 16 lines in 11 errors, not failed requests (the server did not\n  start or reload)"
    ), "{text}");
    assert!(text.contains("S3. config_invalid: The configuration was refused (nginx)\n   message   unknown directive \"proxy_pas\"\n   config    /tmp/upcause-startup/nginx/conf.d/unknown-directive.conf:8\n   seen      1 time, at 2026-12-06 10:59:21\n"), "{text}");
    assert!(text.contains("S4. config_invalid"), "{text}");
    assert!(text.contains("   means     as S3\n"), "{text}");
    // A time filter applies to them as to failures.
    let r = analyze(
        &["startup/nginx-error.log"],
        &["--since", "2026-12-06 10:59:25"],
    );
    assert_eq!(rows(&r).len(), 1);
    assert_eq!(rows(&r)[0].4, 2);
}

#[test]
fn merged_reports_keep_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut saved = Vec::new();
    for (i, f) in ["startup/nginx-error.log", "startup/nginx-stderr.log"]
        .iter()
        .enumerate()
    {
        let out = bin()
            .args(["analyze", "--format", "json"])
            .arg(fixture(f))
            .output()
            .unwrap();
        let p = dir.path().join(format!("{i}.json"));
        std::fs::write(&p, &out.stdout).unwrap();
        saved.push(p);
    }
    let out = bin()
        .args(["merge", "--format", "json"])
        .args(&saved)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let merged = json(&out);
    let whole = analyze(
        &["startup/nginx-error.log", "startup/nginx-stderr.log"],
        &[],
    );
    assert_eq!(merged["startup_errors"], whole["startup_errors"]);
}
