//! Pastes that changed a log's layout (fixtures/fragments, made by its
//! make.py from real nginx lines): blanks widened inside the context, and
//! lines hard-wrapped at a terminal's width. Each gives the report of the
//! lines it was made from, every line recognised.

mod common;

use common::{bin, fixture, json};
use serde_json::{Value, json};

fn analyze(file: &str) -> Value {
    let out = bin()
        .args(["analyze", "--format", "json", "--threads", "1"])
        .arg(fixture(file))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    json(&out)
}

/// What must agree between a paste and the lines it came from.
fn causes(r: &Value) -> Value {
    Value::Array(
        r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!({
                    "cause": c["cause"], "count": c["count"], "attempts": c["attempts"],
                    "statuses": c["statuses"], "first_seen": c["first_seen"],
                    "last_seen": c["last_seen"], "upstreams": c["upstreams"],
                    "routes": c["routes"], "timeline": c["timeline"],
                })
            })
            .collect(),
    )
}

#[test]
fn widened_blanks_in_the_context() {
    let r = analyze("fragments/widened.log");
    assert_eq!(r["lines"]["unrecognized"], 0);
    assert_eq!(
        causes(&r),
        json!([{
            "cause": "upstream_refused", "count": 14, "attempts": 14,
            "statuses": [{"status": 502, "count": 14}],
            "first_seen": "2026-11-21T09:37:49", "last_seen": "2026-11-21T09:37:55",
            "upstreams": [{"upstream": "http://127.0.0.1:18111", "count": 14}],
            "routes": [{"route": "/api/users/:id", "count": 14}],
            "timeline": [{"start": "2026-11-21T09:37:00", "count": 14}],
        }])
    );
    // The same lines as nginx wrote them: the same requests.
    let lines: Vec<String> = std::fs::read_to_string(fixture("nginx/mixed.log"))
        .unwrap()
        .lines()
        .skip(279)
        .take(60)
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.log");
    std::fs::write(&plain, lines.concat()).unwrap();
    let out = bin()
        .args(["analyze", "--format", "json", "--threads", "1"])
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(causes(&json(&out)), causes(&r));
}

#[test]
fn hard_wrapped_lines_are_joined() {
    let whole = analyze("fragments/errors.log");
    assert_eq!(whole["total_failures"], 135);
    for (file, lines) in [
        ("fragments/wrapped-80.log", 705),
        ("fragments/wrapped-100.log", 555),
    ] {
        let r = analyze(file);
        assert_eq!(r["lines"]["total"], lines, "{file}");
        assert_eq!(
            r["lines"]["unrecognized"], 0,
            "{file}: {:#}",
            r["unrecognized_examples"]
        );
        // Every piece after a line's first is its continuation.
        assert_eq!(r["lines"]["continuation"], lines - 160, "{file}");
        assert_eq!(r["lines"]["recognized"]["nginx"], 160, "{file}");
        assert_eq!(causes(&r), causes(&whole), "{file}");
        // The example is the record's first line, its pieces joined.
        let e = &r["causes"][0]["example"];
        assert_eq!(e["line"], 1, "{file}");
        assert!(
            e["text"]
                .as_str()
                .unwrap()
                .starts_with("2026/11/21 09:37:49 [error] 10421#10421: *652 connect() failed"),
            "{file}"
        );
    }
}
