//! Logs as containers, process managers, collectors and syslog wrap them
//! (fixtures/envelopes, made by its make.py around real servers' lines):
//! each gives exactly the report of the lines inside it (causes, counts,
//! upstreams, routes, statuses, first and last times), every line is
//! recognised, and the counts are the ones written below.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn analyze(paths: &[PathBuf]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_upcause"))
        .args(["analyze", "--format", "json", "--threads", "1"])
        .args(paths)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{paths:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What must agree between a wrapped log and its source lines.
fn causes(r: &Value) -> Vec<Value> {
    r["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            serde_json::json!({
                "cause": c["cause"], "count": c["count"], "attempts": c["attempts"],
                "statuses": c["statuses"], "first_seen": c["first_seen"],
                "last_seen": c["last_seen"], "upstreams": c["upstreams"],
                "routes": c["routes"], "servers": c["servers"], "timeline": c["timeline"],
            })
        })
        .collect()
}

/// (fixture, its sources, failed requests, top cause)
const CASES: &[(&str, &[&str], u64, &str)] = &[
    (
        "compose-v1.log",
        &["nginx/mixed.log"],
        180,
        "upstream_refused",
    ),
    (
        "compose-v2-colour.log",
        &["apache/mixed.log"],
        180,
        "upstream_refused",
    ),
    (
        "foreman.log",
        &["nginx/upstream_timeout.log"],
        5,
        "upstream_timeout",
    ),
    ("docker-t.log", &["nginx/php_fatal.log"], 3, "php_fatal"),
    (
        "s6.log",
        &["apache/upstream_timeout.log"],
        5,
        "upstream_timeout",
    ),
    (
        "kubectl-prefix.log",
        &["nginx/no_live_upstreams.log"],
        5,
        "no_live_upstreams",
    ),
    (
        "docker-json.log",
        &["nginx/mixed.log"],
        180,
        "upstream_refused",
    ),
    (
        "cri.log",
        &["nginx/fastcgi_script.log"],
        5,
        "fastcgi_script",
    ),
    (
        "journal.json",
        &["apache/upstream_refused.log"],
        5,
        "upstream_refused",
    ),
    (
        "collector.jsonl",
        &[
            "nginx/upstream_refused.log",
            "php-fpm/php_fpm_max_children.log",
        ],
        6,
        "upstream_refused",
    ),
    (
        "rfc5424.log",
        &["apache/upstream_timeout.log"],
        5,
        "upstream_timeout",
    ),
];

#[test]
fn envelopes_give_the_report_of_their_lines() {
    let dir = fixtures();
    for &(name, sources, failures, top) in CASES {
        let wrapped = analyze(&[dir.join("envelopes").join(name)]);
        let plain = analyze(&sources.iter().map(|s| dir.join(s)).collect::<Vec<_>>());
        assert_eq!(causes(&wrapped), causes(&plain), "{name}");
        assert_eq!(wrapped["total_failures"], failures, "{name}");
        assert_eq!(wrapped["causes"][0]["cause"], top, "{name}");
        let lines = &wrapped["lines"];
        assert_eq!(lines["unrecognized"], 0, "{name}");
        let recognised: u64 = lines["recognized"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        // Every line is a server's line or a continuation of one (a
        // PHP stack trace, a container's second piece).
        assert_eq!(
            recognised + lines["continuation"].as_u64().unwrap(),
            lines["total"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            lines["recognized"], plain["lines"]["recognized"],
            "{name}: lines per server"
        );
    }
}

#[test]
fn threads_do_not_change_envelope_reports() {
    let dir = fixtures().join("envelopes");
    for &(name, ..) in CASES {
        let run = |threads: &str| {
            Command::new(env!("CARGO_BIN_EXE_upcause"))
                .args(["analyze", "--format", "json", "--threads", threads])
                .arg(Path::new(&dir).join(name))
                .output()
                .unwrap()
                .stdout
        };
        assert_eq!(run("1"), run("2"), "{name}");
    }
}
