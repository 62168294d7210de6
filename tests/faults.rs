//! The proxy's own faults and the causes around them (fixtures/faults,
//! written by real nginx and Apache, see fixtures/generate-faults.sh): a
//! crashed worker, a group whose servers are all marked down, an IPv6
//! backend on a host without IPv6. Each gives its cause with exact counts,
//! statuses and upstreams, and every line is recognised.

mod common;

use common::{bin, fixture, json, stdout};
use serde_json::{Value, json};

fn analyze(file: &str) -> Value {
    let out = bin()
        .args(["analyze", "--format", "json", "--threads", "1"])
        .arg(fixture(file))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r = json(&out);
    assert_eq!(
        r["lines"]["unrecognized"], 0,
        "{file}: {:#}",
        r["unrecognized_examples"]
    );
    r
}

/// (cause, count, statuses, upstreams, first_seen, last_seen) per cause.
fn causes(r: &Value) -> Value {
    Value::Array(
        r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!([
                    c["cause"],
                    c["count"],
                    c["statuses"],
                    c["upstreams"],
                    c["first_seen"],
                    c["last_seen"]
                ])
            })
            .collect(),
    )
}

#[test]
fn nginx_worker_crash() {
    let r = analyze("faults/nginx-worker-crash.log");
    assert_eq!(
        causes(&r),
        json!([["proxy_worker_crash", 2, [{"status": 502, "count": 2}], [],
                "2026-12-06T11:09:27", "2026-12-06T11:09:28"]])
    );
    assert!(
        r["causes"][0]["meaning"]
            .as_str()
            .unwrap()
            .contains("Counted per crash")
    );
    assert!(
        r["causes"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("worker_rlimit_core")
    );
}

#[test]
fn apache_child_crash() {
    let r = analyze("faults/apache-child-crash.log");
    assert_eq!(
        causes(&r),
        json!([["proxy_worker_crash", 3, [{"status": 502, "count": 3}], [],
                "2026-12-06T11:09:35", "2026-12-06T11:09:35"]])
    );
    assert!(
        r["causes"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("CoreDumpDirectory")
    );
}

#[test]
fn every_server_marked_down() {
    let r = analyze("faults/nginx-all-down.log");
    assert_eq!(
        causes(&r),
        json!([["upstreams_down", 6, [{"status": 502, "count": 6}],
                [{"upstream": "catalog", "count": 6}],
                "2026-12-06T11:09:30", "2026-12-06T11:09:32"]])
    );
    let c = &r["causes"][0];
    assert!(c["meaning"].as_str().unwrap().contains("an inference"));
    let fix = c["fix"].as_str().unwrap();
    assert!(fix.contains("down flag") && fix.contains("max_fails=0") && fix.contains("health"));
    // No failure before them: the group is its own root cause, not an echo.
    assert_eq!(r["incidents"][0]["root_cause"]["cause"], "upstreams_down");
}

#[test]
fn no_live_upstreams_after_failures_stays_an_echo() {
    // The two members failed just before (IPv6 unreachable), then the
    // group had none left.
    let r = analyze("faults/nginx-ipv6-unreachable.log");
    assert_eq!(
        causes(&r),
        json!([
            ["upstream_ipv6_unreachable", 2, [{"status": 502, "count": 2}],
             [{"upstream": "http://[2001:db8::10]:8080", "count": 1},
              {"upstream": "http://[2001:db8::11]:8080", "count": 1},
              {"upstream": "http://[2001:db8::12]:8080", "count": 1}],
             "2026-12-06T11:09:38", "2026-12-06T11:09:38"],
            ["no_live_upstreams", 1, [{"status": 502, "count": 1}],
             [{"upstream": "api", "count": 1}],
             "2026-12-06T11:09:38", "2026-12-06T11:09:38"]
        ])
    );
    assert_eq!(r["causes"][0]["attempts"], 3);
    let fix = r["causes"][0]["fix"].as_str().unwrap();
    assert!(
        fix.contains("ipv6=off") && fix.contains("IPv4 address"),
        "{fix}"
    );
}

#[test]
fn apache_ipv6_backend() {
    let r = analyze("faults/apache-ipv6-unreachable.log");
    assert_eq!(
        causes(&r),
        json!([["upstream_ipv6_unreachable", 2, [{"status": 503, "count": 2}],
                [{"upstream": "http://[2001:db8::10]:8080", "count": 2}],
                "2026-12-06T11:09:40", "2026-12-06T11:09:40"]])
    );
    assert_eq!(r["causes"][0]["lines"], 4);
}

#[test]
fn the_catalog_lists_them() {
    let out = bin().args(["causes", "--format", "json"]).output().unwrap();
    let all = json(&out);
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cause"].as_str().unwrap())
        .collect();
    for id in [
        "upstreams_down",
        "proxy_worker_crash",
        "upstream_ipv6_unreachable",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    let out = bin().args(["causes", "tls_verify"]).output().unwrap();
    let text = stdout(&out);
    for word in [
        "proxy_ssl_verify_depth",
        "proxy_ssl_trusted_certificate",
        "proxy_ssl_server_name on",
        "SSLProxyCheckPeerName",
    ] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
}
