//! Access logs written by a real nginx beside its error log
//! (fixtures/generate-access.sh): what the clients got, counted exactly as
//! the clients recorded it (results.tsv), and each client 5xx tied to the
//! error-log failure behind it, or said to have none.

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    common::fixture(&format!("access/{name}"))
        .to_string_lossy()
        .into_owned()
}

fn analyze(args: &[&str]) -> Value {
    let out = common::bin()
        .args(["analyze", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    common::json(&out)
}

fn log_format() -> String {
    std::fs::read_to_string(fixture("nginx-log_format.txt")).unwrap()
}

/// What the clients recorded: status -> requests, and (route prefix,
/// status) -> requests.
fn results() -> (BTreeMap<String, u64>, BTreeMap<(String, String), u64>) {
    let text = std::fs::read_to_string(fixture("results.tsv")).unwrap();
    let mut all = BTreeMap::new();
    let mut per = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let n: u64 = f[2].parse().unwrap();
        *all.entry(f[1].to_string()).or_default() += n;
        *per.entry((f[0].to_string(), f[1].to_string())).or_default() += n;
    }
    (all, per)
}

fn statuses(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

#[test]
fn custom_format_counts_what_clients_got_and_joins_by_connection() {
    let r = analyze(&[
        "--access-format",
        &log_format(),
        &fixture("nginx-error.log"),
        &fixture("nginx-upstreams.log"),
    ]);
    let ci = &r["client_impact"];
    let (all, per) = results();
    assert_eq!(statuses(&ci["statuses"]), all);
    assert_eq!(ci["requests"], 47);
    assert_eq!(ci["error_rate"], 0.4255);
    // Every route the clients called, with what they got there.
    for ((prefix, status), n) in &per {
        let route = ci["routes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| {
                x["route"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("/{prefix}/"))
            })
            .fold(0, |a, x| a + x["statuses"][status].as_u64().unwrap_or(0));
        assert_eq!(route, *n, "{prefix} {status}");
    }
    // 17 client 502s and 3 504s: the refused (6), both members refused
    // (2), reset (4) and timed-out (3) ones have their error line; the 5
    // the application answered itself have none, and say so.
    assert_eq!(ci["explained"], 15);
    assert_eq!(ci["unexplained"], 5);
    assert_eq!(ci["unexplained_statuses"], json!({"502": 5}));
    assert_eq!(ci["answered_by_upstream"], json!({"502": 5}));
    // The 7 retried requests: a refused attempt, then the backup's 200.
    assert_eq!(ci["absorbed_requests"], 7);
    // $connection is the error log's *N: every tie is exact.
    assert_eq!(
        common::join_methods(ci),
        [
            ("log_id".to_string(), 0),
            ("connection".to_string(), 22),
            ("request".to_string(), 0),
            ("route".to_string(), 0)
        ]
    );
    let refused = common::cause(&r, "upstream_refused");
    assert_eq!(
        refused["client_impact"],
        json!({"requests": 15, "statuses": {"200": 7, "502": 8}})
    );
    // The timed-out requests' $upstream_response_time: 1.001, 1.002 and
    // 1.002 s against proxy_read_timeout 1s; no other request on the route.
    assert_eq!(
        common::cause(&r, "upstream_timeout")["client_impact"],
        json!({"requests": 3, "statuses": {"504": 3}, "timing": [{
            "route": "/timeout/report/:id",
            "failed": {"timed": 3, "p50_seconds": 1.002, "p95_seconds": 1.002, "max_seconds": 1.002},
            "succeeded": null
        }]})
    );
    assert_eq!(
        common::cause(&r, "connection_reset")["client_impact"],
        json!({"requests": 4, "statuses": {"502": 4}})
    );
    assert_eq!(r["lines"]["access"], 47);
    assert_eq!(r["lines"]["unrecognized"], 0);
}

#[test]
fn combined_format_is_detected_and_joined_by_request_line() {
    let r = analyze(&[&fixture("nginx-error.log"), &fixture("nginx-combined.log")]);
    let ci = &r["client_impact"];
    assert_eq!(statuses(&ci["statuses"]), results().0);
    assert_eq!(r["lines"]["unrecognized"], 0);
    // No $connection, no upstream variables: the request line ties the
    // failures, and nothing tells a retried 200 or the application's own
    // 502 from the rest.
    assert_eq!(ci["explained"], 15);
    assert_eq!(ci["unexplained"], 5);
    assert_eq!(ci["answered_by_upstream"], json!({}));
    assert_eq!(ci["absorbed_requests"], 0);
    assert_eq!(
        common::join_methods(ci),
        [
            ("log_id".to_string(), 0),
            ("connection".to_string(), 0),
            ("request".to_string(), 15),
            ("route".to_string(), 0)
        ]
    );
}

#[test]
fn the_same_format_reads_as_the_directive_or_the_bare_string() {
    let directive = log_format();
    let bare = directive
        .trim()
        .trim_start_matches("log_format upstreams '")
        .trim_end_matches("';");
    let a = analyze(&[
        "--access-format",
        &directive,
        &fixture("nginx-upstreams.log"),
    ]);
    let b = analyze(&["--access-format", bare, &fixture("nginx-upstreams.log")]);
    assert_eq!(a["client_impact"], b["client_impact"]);
    assert_eq!(a["client_impact"]["absorbed_requests"], 7);
}

#[test]
fn error_logs_alone_have_no_client_impact() {
    let r = analyze(&[&fixture("nginx-error.log")]);
    assert!(r.get("client_impact").is_none());
}

#[test]
fn a_bad_access_format_is_a_usage_error() {
    let out = common::bin()
        .args(["analyze", "--access-format", "$remote_addr [$time_local]"])
        .arg(fixture("nginx-upstreams.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("invalid --access-format"),
        "{}",
        common::stderr(&out)
    );
}

/// The text report's clients section and the causes' `clients` lines,
/// for the custom format beside the error log.
#[test]
fn text_report_says_what_clients_got() {
    let out = common::bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "--color", "never", "--width", "100"])
        .args(["--access-format", &log_format()])
        .args([
            "fixtures/access/nginx-error.log",
            "fixtures/access/nginx-upstreams.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let clients = &text[text.find("Clients:").expect("a clients section")..];
    assert!(
        text.contains(
            "   clients   15 requests in the access logs got 200 ×7 (absorbed by a retry), 502 ×8"
        ),
        "{text}"
    );
    insta::assert_snapshot!("access_clients_text", clients);
}

fn check(args: &[&str]) -> (Option<i32>, Value) {
    let out = common::bin()
        .args(["check", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), common::json(&out))
}

/// `check --max-rate` judges the clients' error rates: 17 of 47 requests
/// got a 502 (36.17%), 20 a 5xx (42.55%).
#[test]
fn check_max_rate_judges_client_error_rates() {
    let (error, combined) = (fixture("nginx-error.log"), fixture("nginx-combined.log"));
    let (code, v) = check(&["--max-rate", "502=36.2%", &error, &combined]);
    assert_eq!(code, Some(0), "{v}");
    let rule = &v["rules"][0];
    assert_eq!(rule["kind"], "max_rate");
    assert_eq!(
        (rule["actual"].as_u64(), rule["limit"].as_u64()),
        (Some(3618), Some(3620))
    );
    assert_eq!(rule["requests"], 47);
    let (code, v) = check(&[
        "--max-rate",
        "502=36.1",
        "--max-rate",
        "5xx=50%",
        &error,
        &combined,
    ]);
    assert_eq!(code, Some(1), "{v}");
    let passed: Vec<(String, bool)> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        passed,
        [("502".to_string(), false), ("5xx".to_string(), true)]
    );
    // No access line read: the rate cannot hold.
    let (code, v) = check(&["--max-rate", "502=100%", &error]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["rules"][0]["requests"], 0);
    // A bad rate is a usage error.
    let out = common::bin()
        .args(["check", "--max-rate", "502=abc", &error])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Apache httpd's custom `LogFormat` with `%D %L %{BALANCER_WORKER_NAME}e`
/// beside its error log: the statuses as the clients recorded them
/// (apache-results.tsv). Apache's refused-connection lines name no path,
/// so only the failures whose lines name the route (the reset and the
/// timed-out requests) are tied, by route and time; `%t` is the start and
/// `%D` the duration, so the window is the request's own.
#[test]
fn apache_custom_format_counts_and_joins_by_route() {
    let format = std::fs::read_to_string(fixture("apache-LogFormat.txt")).unwrap();
    let r = analyze(&[
        "--access-format",
        format.trim(),
        &fixture("apache-error.log"),
        &fixture("apache-custom.log"),
    ]);
    let ci = &r["client_impact"];
    let text = std::fs::read_to_string(fixture("apache-results.tsv")).unwrap();
    let mut expected = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        *expected.entry(f[1].to_string()).or_insert(0) += f[2].parse::<u64>().unwrap();
    }
    assert_eq!(statuses(&ci["statuses"]), expected);
    assert_eq!(ci["requests"], 47);
    assert_eq!(r["lines"]["unrecognized"], 0);
    assert_eq!(
        common::join_methods(ci),
        [
            ("log_id".to_string(), 0),
            ("connection".to_string(), 0),
            ("request".to_string(), 0),
            ("route".to_string(), 7)
        ]
    );
    assert_eq!(ci["explained"], 7);
    // %D: 1001410, 1001123 and 1001396 microseconds (ProxyTimeout 1).
    assert_eq!(
        common::cause(&r, "upstream_timeout")["client_impact"],
        json!({"requests": 3, "statuses": {"502": 3}, "timing": [{
            "route": "/timeout/report/:id",
            "failed": {"timed": 3, "p50_seconds": 1.001, "p95_seconds": 1.001, "max_seconds": 1.001},
            "succeeded": null
        }]})
    );
    assert_eq!(
        common::cause(&r, "connection_reset")["client_impact"],
        json!({"requests": 4, "statuses": {"502": 4}})
    );
    // Apache's combined format is read too (detected, no option).
    let c = analyze(&[&fixture("apache-combined.log")]);
    assert_eq!(statuses(&c["client_impact"]["statuses"]), expected);
}

/// Without a `max_rate` rule the gate cannot see an access log's failures:
/// the access log is an input it cannot judge (exit 2), never a pass.
#[test]
fn check_without_max_rate_does_not_pass_an_access_log() {
    let (code, v) = check(&[&fixture("nginx-combined.log")]);
    assert_eq!(code, Some(2), "{v}");
    assert_eq!(v["input_errors"][0]["kind"], "unrecognized");
    let (code, v) = check(&["--max-rate", "5xx=50", &fixture("nginx-combined.log")]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["input_errors"], json!([]));
}

/// `client_impact.timeline` per report window and `client_impact.upstreams`
/// per last attempt's `$upstream_addr`: the requests of results.tsv, spread
/// over the seconds nginx logged them and the members that answered last.
#[test]
fn client_impact_has_a_timeline_and_upstreams() {
    let r = analyze(&[
        "--window",
        "5s",
        "--access-format",
        &log_format(),
        &fixture("nginx-error.log"),
        &fixture("nginx-upstreams.log"),
    ]);
    let ci = &r["client_impact"];
    // 11:11:12-14 (ok, refused, reset, timeout begun) and 11:11:15 on.
    assert_eq!(
        ci["timeline"],
        json!([
            {"start": "2026-12-06T11:11:10", "requests": 28, "statuses": {"502": 6, "504": 2}},
            {"start": "2026-12-06T11:11:15", "requests": 19, "statuses": {"502": 11, "504": 1}},
        ])
    );
    let (all, _) = results();
    let total: u64 = all.values().sum();
    let in_windows: u64 = ci["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(in_windows, total);
    // The retries (18711 then 18710) count on 18710, which answered them;
    // the "both" requests on whichever member was tried last.
    assert_eq!(
        ci["upstreams"],
        json!([
            {"upstream": "127.0.0.1:18710", "requests": 39, "statuses": {"200": 27, "502": 9, "504": 3}},
            {"upstream": "127.0.0.1:18711", "requests": 7, "statuses": {"502": 7}},
            {"upstream": "127.0.0.1:18712", "requests": 1, "statuses": {"502": 1}},
        ])
    );
    // The default window: one minute holds them all.
    let r = analyze(&[
        "--access-format",
        &log_format(),
        &fixture("nginx-upstreams.log"),
    ]);
    assert_eq!(
        r["client_impact"]["timeline"],
        json!([{"start": "2026-12-06T11:11:00", "requests": 47, "statuses": {"502": 17, "504": 3}}])
    );
}

/// The combined format logs no `$upstream_addr`: no upstreams, a timeline.
#[test]
fn combined_format_has_no_client_upstreams() {
    let r = analyze(&[&fixture("nginx-combined.log")]);
    let ci = &r["client_impact"];
    assert_eq!(ci["upstreams"], json!([]));
    assert!(!ci["timeline"].as_array().unwrap().is_empty());
}

/// The text report names the window with the highest client 5xx rate.
#[test]
fn text_report_names_the_peak_client_error_rate() {
    let out = common::bin()
        .args([
            "analyze", "--color", "never", "--width", "100", "--window", "5s",
        ])
        .args(["--access-format", &log_format()])
        .arg(fixture("nginx-upstreams.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains("   peak      5xx rate 63.2% at 11:11:15 (12 of 19 requests)\n"),
        "{text}"
    );
}
