//! Incidents found by the real binary in logs written by real servers
//! (fixtures/generate-incidents.sh): their edges to the second, root
//! causes, upstreams and echoes; and none in a flat noisy log.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/incidents")
        .join(name)
}

fn analyze(paths: &[&Path], extra: &[&str]) -> Value {
    let out = common::bin()
        .args(["analyze", "--format", "json"])
        .args(extra)
        .args(paths)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn incidents(r: &Value) -> &Vec<Value> {
    r["incidents"].as_array().unwrap()
}

/// (start, end, root cause) of each incident.
fn edges(r: &Value) -> Vec<(String, String, String)> {
    incidents(r)
        .iter()
        .map(|i| {
            (
                i["start"].as_str().unwrap().to_string(),
                i["end"].as_str().unwrap().to_string(),
                i["root_cause"]["cause"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|u| u["upstream"].as_str().unwrap().to_string())
        .collect()
}

fn counts(v: &Value) -> Vec<(String, u64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cause"].as_str().unwrap().to_string(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_timeout_cascade_over_two_members_is_one_incident_rooted_in_them() {
    let r = analyze(&[&fixture("cascade_2.log")], &[]);
    assert_eq!(
        edges(&r),
        [(
            "2026-12-02T16:05:36".into(),
            "2026-12-02T16:05:58".into(),
            "upstream_timeout".into()
        )]
    );
    let i = &incidents(&r)[0];
    let mut roots = names(&i["root_cause"]["upstreams"]);
    roots.sort();
    assert_eq!(roots, ["http://127.0.0.1:18610", "http://127.0.0.1:18611"]);
    // The echoes are listed under the root with their counts, not ranked
    // above, in the cascade's order: the 7 `[warn] upstream server
    // temporarily disabled` lines (no failed requests), then the 178
    // `no live upstreams`.
    assert_eq!(
        counts(&i["echoes"]),
        [
            ("upstream_disabled".to_string(), 7),
            ("no_live_upstreams".to_string(), 178)
        ]
    );
    assert_eq!(r["total_failures"], 183);
    assert_eq!(i["failed_requests"], 180);
    let ev = &i["root_cause"]["evidence"];
    let lines: Vec<u64> = ev
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [83, 82, 86]);
    assert!(
        ev[0]["text"]
            .as_str()
            .unwrap()
            .contains("upstream timed out")
    );
    assert!(
        ev[1]["text"]
            .as_str()
            .unwrap()
            .contains("[warn] 20120#20120: *703 upstream server temporarily disabled")
    );
    assert!(
        ev[2]["text"]
            .as_str()
            .unwrap()
            .contains("no live upstreams")
    );
    assert_eq!(ev[0]["file"], fixture("cascade_2.log").to_str().unwrap());
    let text = text(&[&fixture("cascade_2.log")]);
    assert!(
        text.contains(
            "echoes     upstream_disabled (7 lines), no_live_upstreams (178), \
             which follow from the root cause"
        ),
        "{text}"
    );
}

#[test]
fn a_timeout_cascade_over_three_members_names_all_three() {
    let r = analyze(&[&fixture("cascade_3.log")], &[]);
    assert_eq!(
        edges(&r),
        [(
            "2026-12-02T16:05:36".into(),
            "2026-12-02T16:05:58".into(),
            "upstream_timeout".into()
        )]
    );
    let i = &incidents(&r)[0];
    let mut roots = names(&i["root_cause"]["upstreams"]);
    roots.sort();
    assert_eq!(
        roots,
        [
            "http://127.0.0.1:18612",
            "http://127.0.0.1:18613",
            "http://127.0.0.1:18614"
        ]
    );
    assert_eq!(
        counts(&i["echoes"]),
        [
            ("upstream_disabled".to_string(), 9),
            ("no_live_upstreams".to_string(), 177)
        ]
    );
}

#[test]
fn a_backend_restarted_during_traffic_is_a_short_incident_of_refusals() {
    let r = analyze(&[&fixture("backend_restart.log")], &[]);
    assert_eq!(
        edges(&r),
        [(
            "2026-12-02T16:05:37".into(),
            "2026-12-02T16:05:41".into(),
            "upstream_refused".into()
        )]
    );
    let i = &incidents(&r)[0];
    assert_eq!(
        names(&i["root_cause"]["upstreams"]),
        ["http://127.0.0.1:18615"]
    );
    assert_eq!(i["seconds"], 4);
    assert!(counts(&i["echoes"]).is_empty());
}

#[test]
fn two_outages_of_different_causes_with_quiet_noise_between() {
    let r = analyze(&[&fixture("two_outages.log")], &[]);
    assert_eq!(
        edges(&r),
        [
            (
                "2026-12-02T16:05:45".into(),
                "2026-12-02T16:06:00".into(),
                "upstream_refused".into()
            ),
            (
                "2026-12-02T16:07:01".into(),
                "2026-12-02T16:07:15".into(),
                "upstream_timeout".into()
            ),
        ]
    );
    assert_eq!(
        names(&incidents(&r)[0]["root_cause"]["upstreams"]),
        ["http://127.0.0.1:18616"]
    );
    assert_eq!(
        names(&incidents(&r)[1]["root_cause"]["upstreams"]),
        ["http://127.0.0.1:18617"]
    );
    assert_eq!(incidents(&r)[1]["failed_requests"], 30);
    // Between them, one stray timeout: noise, not an incident.
    let q = &r["quiet"][0];
    assert_eq!(
        (q["start"].as_str(), q["end"].as_str()),
        (Some("2026-12-02T16:06:00"), Some("2026-12-02T16:07:01"))
    );
    assert_eq!(q["failed_requests"], 1);
}

#[test]
fn a_saturated_php_fpm_pool_explains_the_nginx_timeouts_without_adding_requests() {
    for (case, message) in [
        ("fpm_dynamic", "server reached pm.max_children setting (2)"),
        ("fpm_ondemand", "server reached max_children setting (2)"),
    ] {
        let nginx = fixture(&format!("{case}.log"));
        let fpm = fixture(&format!("{case}.php-fpm.log"));
        let alone = analyze(&[&nginx], &[]);
        let both = analyze(&[&nginx, &fpm], &[]);
        let (a, b) = (&incidents(&alone)[0], &incidents(&both)[0]);
        assert_eq!(a["root_cause"]["cause"], "upstream_timeout", "{case}");
        assert_eq!(b["root_cause"]["cause"], "php_fpm_max_children", "{case}");
        assert_eq!(a["failed_requests"], b["failed_requests"], "{case}");
        assert_eq!(b["failed_requests"], 80, "{case}");
        assert_eq!(
            (b["start"].as_str(), b["end"].as_str()),
            (Some("2026-12-02T16:05:34"), Some("2026-12-02T16:05:55"))
        );
        let ev = &b["root_cause"]["evidence"][0];
        assert!(
            ev["text"].as_str().unwrap().contains(message),
            "{case}: {ev}"
        );
        assert_eq!(ev["file"], fpm.to_str().unwrap());
        assert_eq!(b["servers"]["php-fpm"], 1);
        // The php-fpm line explains the 80 timeouts; it is no 81st failed
        // request, nor does it take a share of them.
        assert_eq!(alone["total_failures"], 80, "{case}");
        assert_eq!(both["total_failures"], 80, "{case}");
        assert_eq!(alone["explaining_lines"], 0, "{case}");
        assert_eq!(both["explaining_lines"], 1, "{case}");
        let causes = both["causes"].as_array().unwrap();
        let fpm_cause = causes.last().unwrap();
        assert_eq!(fpm_cause["cause"], "php_fpm_max_children", "{case}");
        assert_eq!(fpm_cause["count"], 1, "{case}");
        assert_eq!(fpm_cause["share"], 0.0, "{case}");
        assert_eq!(causes[0]["cause"], "upstream_timeout", "{case}");
        assert_eq!(causes[0]["share"], 1.0, "{case}");
        // The php-fpm log alone: its line, and no failed request.
        let only = analyze(&[&fpm], &[]);
        assert_eq!(only["total_failures"], 0, "{case}");
        assert_eq!(only["explaining_lines"], 1, "{case}");
    }
}

/// A small deterministic generator.
fn lcg(x: &mut u64) -> u64 {
    *x = x
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *x >> 33
}

/// Composed, not written by a server: the real failure lines of
/// fixtures/nginx/mixed.log with their timestamps replaced, one every few
/// minutes (at random) over two days, a pair close together now and then;
/// with `burst`, 2 refusals a second for that many seconds in the middle.
fn flat_noise(burst: u64) -> (tempfile::TempDir, PathBuf, String, String) {
    let mixed = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/nginx/mixed.log"),
    )
    .unwrap();
    let lines: Vec<&str> = mixed
        .lines()
        .filter(|l| l.contains("connect() failed") || l.contains("upstream timed out"))
        .collect();
    let stamp = |t: i64| {
        let d = chrono::DateTime::from_timestamp(t, 0).unwrap().naive_utc();
        d.format("%Y/%m/%d %H:%M:%S").to_string()
    };
    let mut x = 42;
    let mut out = String::new();
    let start = 1_795_000_000i64;
    let end = start + 2 * 86_400;
    let mid = start + 86_400;
    let mut t = start;
    let mut burst_done = burst == 0;
    let (mut b_start, mut b_end) = (String::new(), String::new());
    while t < end {
        if !burst_done && t >= mid {
            let refused = lines
                .iter()
                .find(|l| l.contains("connect() failed"))
                .unwrap();
            for s in 0..burst as i64 {
                for _ in 0..2 {
                    out.push_str(&format!("{}{}\n", stamp(mid + s), &refused[19..]));
                }
            }
            b_start = chrono::DateTime::from_timestamp(mid, 0)
                .unwrap()
                .naive_utc()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            b_end = chrono::DateTime::from_timestamp(mid + burst as i64 - 1, 0)
                .unwrap()
                .naive_utc()
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            burst_done = true;
            t = mid + burst as i64 + 60;
        }
        let line = lines[(lcg(&mut x) as usize) % lines.len()];
        out.push_str(&format!("{}{}\n", stamp(t), &line[19..]));
        if lcg(&mut x).is_multiple_of(8) {
            out.push_str(&format!("{}{}\n", stamp(t + 2), &line[19..]));
        }
        t += 30 + (lcg(&mut x) % 600) as i64;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flat.log");
    std::fs::write(&path, out).unwrap();
    (dir, path, b_start, b_end)
}

#[test]
fn a_flat_noisy_log_of_two_days_has_no_incident() {
    let (_dir, path, _, _) = flat_noise(0);
    let r = analyze(&[&path], &[]);
    assert!(r["total_failures"].as_u64().unwrap() > 400);
    assert!(incidents(&r).is_empty(), "{}", r["incidents"]);
    // The same noise with a 65-second outage in the middle has exactly
    // that one.
    let (_dir, path, start, end) = flat_noise(65);
    let r = analyze(&[&path], &[]);
    assert_eq!(edges(&r), [(start, end, "upstream_refused".to_string())]);
    assert_eq!(incidents(&r)[0]["failed_requests"], 130);
}

#[test]
fn thread_count_does_not_change_the_incidents() {
    let path = fixture("two_outages.log");
    let one = analyze(&[&path], &["--threads", "1"]);
    let two = analyze(&[&path], &["--threads", "2"]);
    assert_eq!(one, two);
}

#[test]
fn merged_reports_find_incidents_in_the_merged_timelines() {
    // Cut the log inside its first outage: each half holds part of it.
    let text = std::fs::read_to_string(fixture("two_outages.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines
        .iter()
        .position(|l| l.starts_with("2026/12/02 16:05:52"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    std::fs::write(&a, lines[..cut].join("\n") + "\n").unwrap();
    std::fs::write(&b, lines[cut..].join("\n") + "\n").unwrap();
    let both = analyze(&[&a, &b], &[]);
    let mut saved = Vec::new();
    for (p, name) in [(&a, "a.json"), (&b, "b.json")] {
        let r = analyze(&[p], &[]);
        let j = dir.path().join(name);
        std::fs::write(&j, serde_json::to_vec(&r).unwrap()).unwrap();
        saved.push(j);
    }
    let first_half = analyze(&[&a], &[]);
    assert_eq!(incidents(&first_half)[0]["end"], "2026-12-02T16:05:51");
    let out = common::bin()
        .args(["merge", "--format", "json"])
        .args(&saved)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["incidents"], both["incidents"]);
    assert_eq!(
        edges(&merged),
        [
            (
                "2026-12-02T16:05:45".into(),
                "2026-12-02T16:06:00".into(),
                "upstream_refused".into()
            ),
            (
                "2026-12-02T16:07:01".into(),
                "2026-12-02T16:07:15".into(),
                "upstream_timeout".into()
            ),
        ]
    );
}

#[test]
fn check_gates_on_the_number_and_length_of_incidents() {
    let run = |args: &[&str]| {
        let out = common::bin()
            .arg("check")
            .args(args)
            .arg(fixture("two_outages.log"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = run(&["--max-incidents", "1"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAIL  max_incidents <= 1"), "{text}");
    assert!(text.contains("actual 2, limit 1"), "{text}");
    let (code, text) = run(&["--max-incidents", "2", "--max-incident-seconds", "15"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&["--max-incident-seconds", "14"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("max_incident_seconds <= 14") && text.contains("actual 15, limit 14"),
        "{text}"
    );
    // The same rules from a rules file.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "max_incidents = 0\n").unwrap();
    let (code, text) = run(&["--rules", rules.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("max_incidents <= 0"), "{text}");
}

/// Failed requests and 504s per case, as the clients got them
/// (incidents/results.tsv).
fn client_side(case: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(fixture("results.tsv")).unwrap();
    let (mut failed, mut s504) = (0, 0);
    for row in text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
    {
        if row[0] != case {
            continue;
        }
        let (status, n): (u64, u64) = (row[2].parse().unwrap(), row[3].parse().unwrap());
        if status >= 500 {
            failed += n;
        }
        if status == 504 {
            s504 += n;
        }
    }
    (failed, s504)
}

#[test]
fn a_request_that_timed_out_then_met_no_live_upstreams_got_502() {
    for case in ["cascade_2", "cascade_3"] {
        let r = analyze(&[&fixture(&format!("{case}.log"))], &[]);
        let (failed, s504) = client_side(case);
        // Each request once in the incident, whatever its attempts met.
        assert_eq!(incidents(&r)[0]["failed_requests"], failed, "{case}");
        // The timeouts whose retry met "no live upstreams" got that 502;
        // only the others got 504, as the clients saw.
        let timeout = r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cause"] == "upstream_timeout")
            .unwrap();
        let got_504 = timeout["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == 504)
            .map_or(0, |s| s["count"].as_u64().unwrap());
        assert_eq!(got_504, s504, "{case}: {}", timeout["statuses"]);
        let all: u64 = timeout["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["count"].as_u64().unwrap())
            .sum();
        assert_eq!(all, timeout["count"].as_u64().unwrap(), "{case}");
    }
    assert_eq!(client_side("cascade_2"), (180, 2));
    assert_eq!(client_side("cascade_3"), (177, 0));
}

fn text(paths: &[&Path]) -> String {
    let out = common::bin()
        .args(["analyze", "--color", "never", "-q"])
        .args(paths)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_text_report_opens_with_the_incidents_and_says_so_when_there_is_none() {
    let t = text(&[&fixture("cascade_2.log")]);
    let first = t.lines().nth(2).unwrap();
    assert!(
        first.starts_with("Incident 1: 2026-12-02 16:05:36 -> 16:05:58 (22s), 180 failed requests"),
        "{t}"
    );
    assert!(t.contains("   root cause upstream_timeout: Upstream timed out before answering, on http://127.0.0.1:18611 (4), http://127.0.0.1:18610 (3)"), "{t}");
    assert!(
        t.contains("   echoes     upstream_disabled (7 lines), no_live_upstreams (178), which follow from the root cause"),
        "{t}"
    );
    // The incident comes before the ranked table, which still ranks by count.
    let table = t.find("  #  REQUESTS").unwrap();
    assert!(t.find("Incident 1").unwrap() < table);
    assert!(
        t[table..]
            .lines()
            .nth(1)
            .unwrap()
            .contains("no_live_upstreams")
    );
    let fpm = text(&[
        &fixture("fpm_dynamic.log"),
        &fixture("fpm_dynamic.php-fpm.log"),
    ]);
    assert!(
        fpm.contains("   root cause php_fpm_max_children: "),
        "{fpm}"
    );
    assert!(
        fpm.contains("   logged by  nginx (80 requests), php-fpm (1 line)"),
        "{fpm}"
    );
    assert!(fpm.contains("   seen as    upstream_timeout (80)"), "{fpm}");
    let (_dir, path, _, _) = flat_noise(0);
    let flat = text(&[&path]);
    assert_eq!(
        flat.lines().nth(2),
        Some("No incident: failures never rose well above this log's own baseline."),
        "{flat}"
    );
}

/// A report's `activity` as reports wrote it before the columns: one
/// object per cell, its key, routes and line spelled out.
fn activity_as_objects(r: &mut Value) {
    let a = &r["activity"];
    let keys = a["keys"].as_array().unwrap().clone();
    let routes = a["routes"].as_array().unwrap().clone();
    let mut examples = std::collections::HashMap::new();
    for e in a["examples"].as_array().unwrap() {
        let mut line = e.clone();
        let cell = line.as_object_mut().unwrap().remove("cell").unwrap();
        examples.insert(cell.as_u64().unwrap(), line);
    }
    let cells: Vec<Value> = a["cells"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let n: Vec<u64> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            let mut cell = keys[n[0] as usize].as_object().unwrap().clone();
            for (name, at) in [
                ("first", 1),
                ("last", 2),
                ("count", 3),
                ("attempts", 4),
                ("repeats", 5),
                ("other_routes", 6),
            ] {
                cell.insert(name.into(), n[at].into());
            }
            let rs: Vec<Value> = n[7..]
                .chunks(2)
                .map(|p| serde_json::json!({"route": routes[p[0] as usize], "count": p[1]}))
                .collect();
            cell.insert("routes".into(), rs.into());
            if let Some(e) = examples.get(&(i as u64)) {
                cell.insert("example".into(), e.clone());
            }
            Value::Object(cell)
        })
        .collect();
    // The lifecycle lines are no cells: kept as they are.
    let lifecycle = a.get("lifecycle").cloned().unwrap_or(Value::Null);
    r["activity"] = serde_json::json!({
        "window_seconds": a["window_seconds"],
        "cells": cells,
    });
    if !lifecycle.is_null() {
        r["activity"]["lifecycle"] = lifecycle;
    }
}

#[test]
fn reports_with_activity_as_objects_merge_as_the_columns_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut columns = Vec::new();
    let mut objects = Vec::new();
    for name in ["two_outages.log", "cascade_3.log"] {
        let mut r = analyze(&[&fixture(name)], &[]);
        let cells = r["activity"]["cells"].as_array().unwrap().len();
        assert!(cells > 5, "{name}: {cells} cells");
        let j = dir.path().join(format!("{name}.json"));
        std::fs::write(&j, serde_json::to_vec(&r).unwrap()).unwrap();
        columns.push(j);
        activity_as_objects(&mut r);
        assert!(r["activity"]["cells"][0]["cause"].is_string());
        let j = dir.path().join(format!("{name}.objects.json"));
        std::fs::write(&j, serde_json::to_vec(&r).unwrap()).unwrap();
        objects.push(j);
    }
    let merge = |paths: &[PathBuf]| {
        let out = common::bin()
            .args(["merge", "--format", "json"])
            .args(paths)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let new = merge(&columns);
    assert_eq!(
        String::from_utf8_lossy(&merge(&objects)),
        String::from_utf8_lossy(&new)
    );
    let merged: Value = serde_json::from_slice(&new).unwrap();
    let both = analyze(
        &[&fixture("two_outages.log"), &fixture("cascade_3.log")],
        &[],
    );
    assert!(!incidents(&both).is_empty());
    assert_eq!(merged["incidents"], both["incidents"]);
}

/// The kernel's lines (hand-written in the kernel's format, timed against
/// the saturated pool of `fpm_dynamic.log`: see fixtures/README.md).
#[test]
fn a_kernel_oom_kill_is_the_root_cause_without_adding_requests() {
    let nginx = fixture("fpm_dynamic.log");
    let kern = fixture("fpm_dynamic.kern.log");
    let alone = analyze(&[&nginx], &[]);
    let both = analyze(&[&nginx, &kern], &[]);
    assert_eq!(alone["total_failures"], 80);
    assert_eq!(both["total_failures"], 80);
    assert_eq!(both["explaining_lines"], 5);
    assert_eq!(both["untimed_failures"], 0);
    let (a, b) = (&incidents(&alone)[0], &incidents(&both)[0]);
    assert_eq!(a["failed_requests"], b["failed_requests"]);
    assert_eq!(b["failed_requests"], 80);
    assert_eq!(
        (b["start"].as_str(), b["end"].as_str()),
        (Some("2026-12-02T16:05:34"), Some("2026-12-02T16:05:55"))
    );
    assert_eq!(b["root_cause"]["cause"], "kernel_oom_kill");
    assert_eq!(
        b["root_cause"]["detail"],
        "php-fpm8.2 OOM-killed at 2026-12-02T16:05:30, 4s before the first failure: \
         the pool lost children mid-request, their requests got no response"
    );
    assert!(a["root_cause"].get("detail").is_none());
    assert_eq!(
        names(&b["root_cause"]["upstreams"]),
        ["fastcgi://127.0.0.1:18650"]
    );
    assert_eq!(b["servers"]["kernel"], 5);
    assert_eq!(b["servers"]["nginx"], 80);
    let ev = &b["root_cause"]["evidence"];
    let places = |ev: &Value| -> Vec<(String, u64, i64)> {
        ev.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let file = e["file"].as_str().unwrap();
                (
                    file.rsplit('/').next().unwrap().to_string(),
                    e["line"].as_u64().unwrap(),
                    e["offset_seconds"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    // The kill 4 s before the first timeout, then the segfault, the SYN
    // flood on the upstream's port, conntrack and file-max during it; the
    // kernel's five lines do not push nginx's first timeout out.
    let k = |line: u64, off: i64| ("fpm_dynamic.kern.log".to_string(), line, off);
    let nginx_first = ("fpm_dynamic.log".to_string(), 18, 0);
    assert_eq!(
        places(ev),
        [
            k(5, -4),
            k(7, 7),
            k(8, 10),
            k(9, 13),
            k(10, 16),
            nginx_first.clone()
        ]
    );
    // With php-fpm's log too, each server keeps its lines.
    let fpm = fixture("fpm_dynamic.php-fpm.log");
    let all = analyze(&[&nginx, &kern, &fpm], &[]);
    let all_ev = &incidents(&all)[0]["root_cause"]["evidence"];
    assert_eq!(
        places(all_ev),
        [
            k(5, -4),
            k(7, 7),
            k(8, 10),
            k(9, 13),
            k(10, 16),
            ("fpm_dynamic.php-fpm.log".to_string(), 4, 0),
            nginx_first
        ]
    );
    assert_eq!(all["total_failures"], 80);
    assert_eq!(all["explaining_lines"], 6);
    assert!(
        ev[0]["text"]
            .as_str()
            .unwrap()
            .contains("Out of memory: Killed process 20031 (php-fpm8.2)")
    );
    // The kill is counted once (not its `invoked oom-killer` and
    // `oom-kill:` lines), each under its own cause.
    let kernel: Vec<(String, u64)> = counts_of_causes(&both)
        .into_iter()
        .filter(|c| c.0.starts_with("kernel_"))
        .collect();
    assert_eq!(
        kernel,
        [
            ("kernel_conntrack_full".into(), 1),
            ("kernel_file_max".into(), 1),
            ("kernel_oom_kill".into(), 1),
            ("kernel_segfault".into(), 1),
            ("kernel_syn_flood".into(), 1),
        ]
    );
}

fn counts_of_causes(r: &Value) -> Vec<(String, u64)> {
    r["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cause"].as_str().unwrap().to_string(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// dmesg's uptime stamps are placed with `--boot-time`, and untimed
/// without it (never guessed): the kill is then no incident's evidence.
#[test]
fn dmesg_uptime_is_placed_with_the_boot_time_and_untimed_without() {
    let nginx = fixture("fpm_dynamic.log");
    let dmesg = fixture("fpm_dynamic.dmesg.log");
    let placed = analyze(&[&nginx, &dmesg], &["--boot-time", "2026-12-02T12:00:00"]);
    let i = &incidents(&placed)[0];
    assert_eq!(i["root_cause"]["cause"], "kernel_oom_kill");
    assert_eq!(i["failed_requests"], 80);
    let ev = &i["root_cause"]["evidence"][0];
    assert_eq!(ev["file"], dmesg.to_str().unwrap());
    assert_eq!(
        (ev["line"].as_u64(), ev["offset_seconds"].as_i64()),
        (Some(8), Some(-4))
    );
    let oom = |r: &Value| {
        r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cause"] == "kernel_oom_kill")
            .cloned()
            .unwrap()
    };
    assert_eq!(oom(&placed)["first_seen"], "2026-12-02T16:05:30");
    assert_eq!(oom(&placed)["untimed"], 0);

    let untimed = analyze(&[&nginx, &dmesg], &[]);
    let i = &incidents(&untimed)[0];
    assert_eq!(i["root_cause"]["cause"], "upstream_timeout");
    assert_eq!(i["servers"]["kernel"], 0);
    assert_eq!(oom(&untimed)["untimed"], 1);
    assert_eq!(untimed["total_failures"], 80);
    assert_eq!(untimed["untimed_failures"], 0);

    // kern.log beside it gives the boot time: its line `Dec  2 16:05:30
    // web1 kernel: [14730.412355] ...` less its uptime is 12:00:00, so
    // dmesg's kill is placed without --boot-time, wherever kern.log is in
    // the order of the inputs.
    let kern = fixture("fpm_dynamic.kern.log");
    for paths in [[&nginx, &dmesg, &kern], [&nginx, &kern, &dmesg]] {
        let paths: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
        let r = analyze(&paths, &[]);
        assert_eq!(oom(&r)["untimed"], 0);
        assert_eq!(oom(&r)["first_seen"], "2026-12-02T16:05:30");
        // The same kill in both logs.
        assert_eq!(oom(&r)["count"], 2);
        assert_eq!(incidents(&r)[0]["root_cause"]["cause"], "kernel_oom_kill");
        assert_eq!(r["total_failures"], 80);
    }

    let bad = common::bin()
        .args(["analyze", "--boot-time", "yesterday-ish"])
        .arg(&dmesg)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--boot-time"));
}

#[test]
fn the_text_report_names_the_kernel_root_cause_and_when() {
    let t = text(&[
        &fixture("fpm_dynamic.log"),
        &fixture("fpm_dynamic.kern.log"),
    ]);
    assert!(t.contains("   root cause kernel_oom_kill: "), "{t}");
    assert!(
        t.contains("php-fpm8.2 OOM-killed at 2026-12-02T16:05:30, 4s before the first failure"),
        "{t}"
    );
    assert!(
        t.contains("fpm_dynamic.kern.log:5 (4s before the start)"),
        "{t}"
    );
    assert!(
        t.contains("fpm_dynamic.kern.log:7 (7s after the start)"),
        "{t}"
    );
    assert!(
        t.contains("   logged by  nginx (80 requests), kernel (5 lines)"),
        "{t}"
    );
    assert!(t.starts_with("80 failed requests in "), "{t}");
    // The HTML page's card says the same.
    let out = common::bin()
        .args(["analyze", "--format", "html"])
        .args([
            &fixture("fpm_dynamic.log"),
            &fixture("fpm_dynamic.kern.log"),
        ])
        .output()
        .unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    let card = &page[page.find("<dt>root cause</dt>").unwrap()..];
    assert!(
        card.contains(
            "<dd class=\"detail\">php-fpm8.2 OOM-killed at 2026-12-02T16:05:30, \
             4s before the first failure: the pool lost children mid-request, \
             their requests got no response</dd>"
        ),
        "{card}"
    );
    assert!(
        card.contains("fpm_dynamic.kern.log:5</span> (4s before the start)<pre>"),
        "{card}"
    );
}

/// Apache's counterpart of nginx's `temporarily disabled`: AH00959
/// `disabling worker for (127.0.0.1:18711)` (a real Apache 2.4 balancer,
/// fixtures/generate-access.sh), listed among the echoes for the members
/// of the incident only: the two lines about 127.0.0.1:18712, which had
/// no failure in it, are left out.
#[test]
fn apache_disabling_a_worker_is_an_echo_of_its_members() {
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/access/apache-error.log");
    let r = analyze(&[&log], &[]);
    let i = &incidents(&r)[0];
    assert_eq!(i["root_cause"]["cause"], "upstream_refused");
    assert_eq!(
        counts(&i["echoes"]),
        [("upstream_disabled".to_string(), 12)]
    );
    // Apache writes microseconds: the edges are its first and last
    // failure's (lines 3 and 68), to the microsecond; nginx's stay whole
    // seconds (the cascade tests above).
    assert_eq!(
        (
            i["start"].as_str(),
            i["end"].as_str(),
            i["seconds"].as_i64()
        ),
        (
            Some("2026-12-06T11:55:19.977748"),
            Some("2026-12-06T11:55:23.031299"),
            Some(4)
        )
    );
    // A saved report keeps them: merge gives the same edges.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("apache.json");
    std::fs::write(&saved, serde_json::to_vec(&r).unwrap()).unwrap();
    let out = common::bin()
        .args(["merge", "--format", "json"])
        .arg(&saved)
        .output()
        .unwrap();
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["incidents"], r["incidents"]);
    let ev = &i["root_cause"]["evidence"];
    assert_eq!(ev[1]["line"], 30);
    assert!(ev[1]["text"].as_str().unwrap().contains("AH00959"));
    // No failed request more than without them.
    let failed: u64 = counts(&i["causes"]).iter().map(|c| c.1).sum();
    assert_eq!(i["failed_requests"], failed);
}

/// php-fpm's slowlog (fixtures/generate-slowlog.sh: a real php-fpm 8.2
/// pool with request_slowlog_timeout = 1s behind a real nginx 1.22.1 with
/// fastcgi_read_timeout 2s; three clients ask for a script that sleeps
/// 3 s): each multi-line entry is one line of evidence, and the root
/// cause names the slow script and where it waited. The entries add no
/// failed request: 12 timeouts, as the clients got 12 × 504.
#[test]
fn a_php_fpm_slowlog_names_the_slow_script() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/slowlog");
    let (nginx, slow) = (dir.join("nginx.log"), dir.join("slow.log"));
    let tsv = std::fs::read_to_string(dir.join("results.tsv")).unwrap();
    assert!(tsv.lines().any(|l| l == "slow\t504\t12"), "{tsv}");
    // The slowlog alone: 12 entries of 5 lines, each read whole.
    let alone = analyze(&[&slow], &[]);
    assert_eq!(alone["lines"]["recognized"]["php-fpm"], 12);
    assert_eq!(alone["lines"]["unrecognized"], 0);
    assert_eq!(alone["lines"]["continuation"], 47);
    assert_eq!(
        counts_of_causes(&alone),
        [("php_fpm_slow_request".into(), 12)]
    );
    assert_eq!(alone["total_failures"], 0);
    assert_eq!(alone["explaining_lines"], 12);
    // Beside nginx's log: the root cause, with which script was slow.
    let without = analyze(&[&nginx], &[]);
    assert_eq!(
        incidents(&without)[0]["root_cause"]["cause"],
        "upstream_timeout"
    );
    let r = analyze(&[&nginx, &slow], &[]);
    assert_eq!(r["total_failures"], 12);
    let i = &incidents(&r)[0];
    assert_eq!(
        (i["start"].as_str(), i["end"].as_str()),
        (Some("2026-12-06T13:58:02"), Some("2026-12-06T13:58:09"))
    );
    assert_eq!(i["failed_requests"], 12);
    assert_eq!(i["root_cause"]["cause"], "php_fpm_slow_request");
    assert_eq!(
        i["root_cause"]["detail"],
        "/tmp/upcause-slowlog.ygLDV3/www/report.php ran past request_slowlog_timeout \
         at 2026-12-06T13:58:01, 1s before the first failure, waiting in sleep() \
         /tmp/upcause-slowlog.ygLDV3/www/report.php:3"
    );
    let ev = &i["root_cause"]["evidence"];
    assert_eq!(ev[0]["file"], slow.to_str().unwrap());
    assert_eq!(
        (ev[0]["line"].as_u64(), ev[0]["offset_seconds"].as_i64()),
        (Some(2), Some(-1))
    );
    assert!(
        ev[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("[06-Dec-2026 13:58:01]  [pool reports] pid 1238\nscript_filename = ")
    );
    assert_eq!(ev[1]["file"], nginx.to_str().unwrap());
    assert_eq!(ev[1]["line"], 18);
    assert_eq!(i["servers"]["php-fpm"], 12);
    assert_eq!(i["servers"]["nginx"], 12);
}
