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
        // php-fpm's line explains failures and is none itself.
        5,
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

/// fixtures/fragments/pasted.log: real lines with their start cut off
/// (the time; the time and level; all before the connection number):
/// each is classified, none is given a time.
#[test]
fn pasted_fragments_are_counted_without_a_time() {
    let r = analyze(&[fixtures().join("fragments/pasted.log")]);
    assert_eq!(r["lines"]["unrecognized"], 0);
    // 18 failed requests; php-fpm's `server reached pm.max_children`
    // line explains failures and is none itself.
    assert_eq!(r["total_failures"], 18);
    assert_eq!(r["explaining_lines"], 1);
    assert_eq!(r["untimed_failures"], 18);
    let want = [
        ("upstream_refused", 6, "http://127.0.0.1:18190"),
        ("upstream_timeout", 5, "http://127.0.0.1:18101"),
        ("no_live_upstreams", 4, "backend"),
        ("php_fatal", 3, ""),
        ("php_fpm_max_children", 1, "php-fpm:busy"),
    ];
    let causes = r["causes"].as_array().unwrap();
    assert_eq!(causes.len(), want.len());
    for (c, (cause, n, up)) in causes.iter().zip(want) {
        assert_eq!(c["cause"], cause);
        assert_eq!(c["count"], n, "{cause}");
        assert_eq!(c["untimed"], n, "{cause}");
        assert_eq!(c["first_seen"], Value::Null, "{cause}");
        assert_eq!(c["timeline"].as_array().unwrap().len(), 0, "{cause}");
        let top = c["upstreams"][0]["upstream"].as_str().unwrap_or("");
        assert_eq!(top, up, "{cause}");
    }
    let text = Command::new(env!("CARGO_BIN_EXE_upcause"))
        .args(["analyze", "--color", "never"])
        .arg(fixtures().join("fragments/pasted.log"))
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("note: 18 failed requests came from lines with no time"),
        "{text}"
    );
}

/// nginx numbers connections from `*1` again after a restart: a line of a
/// new worker with the same connection number and request line is another
/// request, not a retry of the old worker's.
#[test]
fn connection_numbers_of_another_worker_are_other_requests() {
    let line = |pid: u32, port: u32| {
        format!(
            "2026/11/21 09:36:49 [error] {pid}#{pid}: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: shop, request: \"GET /api/users/123 HTTP/1.1\", upstream: \"http://127.0.0.1:{port}/api/users/123\", host: \"shop\"\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |text: String| {
        let path = dir.path().join("error.log");
        std::fs::write(&path, text).unwrap();
        let r = analyze(&[path]);
        (
            r["total_failures"].as_u64().unwrap(),
            r["causes"][0]["attempts"].as_u64().unwrap(),
        )
    };
    // One worker: the second server tried is a retry of the same request.
    assert_eq!(run(line(10421, 18190) + &line(10421, 18191)), (1, 2));
    // A restart in between: the new worker's *1 is a request of its own.
    let restart = "2026/11/21 09:36:49 [notice] 10420#10420: signal process started\n";
    assert_eq!(
        run(line(10421, 18190) + restart + &line(10500, 18191)),
        (2, 2)
    );
}

/// The official nginx image logs access lines to stdout and errors to
/// stderr, so Docker's json-file log holds both: its access lines are read
/// as the access log's, and the report's client impact (statuses, what the
/// error lines explain, how they were joined) is that of the two logs
/// given apart.
#[test]
fn a_json_file_log_with_stdout_access_lines_reads_them_as_the_access_log() {
    let dir = fixtures();
    let wrapped = analyze(&[dir.join("envelopes/docker-json-access.log")]);
    reads_as_the_two_logs(&wrapped);
    let w = &wrapped["client_impact"];
    assert_eq!(
        w["statuses"],
        serde_json::json!({"200": 27, "502": 17, "504": 3})
    );
    assert_eq!(w["explained"], 15);
    assert_eq!(w["unexplained"], 5);
}

/// Checks that `report`, of one log holding the access fixture's error
/// and access lines, is the report of the two logs given apart: its lines,
/// failures, causes and client impact.
fn reads_as_the_two_logs(report: &serde_json::Value) {
    let dir = fixtures();
    let plain = analyze(&[
        dir.join("access/nginx-error.log"),
        dir.join("access/nginx-combined.log"),
    ]);
    assert_eq!(report["lines"]["access"], 47);
    assert_eq!(report["lines"]["unrecognized"], 0);
    assert_eq!(report["total_failures"], 22);
    assert_eq!(causes(report), causes(&plain));
    let (got, p) = (&report["client_impact"], &plain["client_impact"]);
    for k in [
        "requests",
        "statuses",
        "routes",
        "explained",
        "unexplained",
        "join",
    ] {
        assert_eq!(got[k], p[k], "{k}");
    }
}

/// A collector shipping the error and the access log of one run (Filebeat
/// objects, the line in `message`): the access lines are read as the
/// access log's, as in the json-file log above.
#[test]
fn a_collectors_access_lines_are_read_as_the_access_log() {
    let dir = fixtures();
    let shipped = analyze(&[dir.join("envelopes/collector-access.jsonl")]);
    reads_as_the_two_logs(&shipped);
    assert_eq!(shipped["client_impact"]["explained"], 15);
}
