//! `upcause merge`: saved reports combine into the report of all inputs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn bin(args: &[&str]) -> Output {
    common::bin()
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn fixture(p: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(p)
        .display()
        .to_string()
}

fn save(dir: &Path, name: &str, args: &[&str]) -> String {
    let out = bin(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    let p = dir.join(name);
    std::fs::write(&p, &out.stdout).unwrap();
    p.display().to_string()
}

#[test]
fn merged_reports_equal_one_analysis_of_all_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        fixture("nginx/mixed.log"),
        fixture("apache/tls_verify.log"),
        fixture("nginx/php_fatal.log"),
        fixture("php-fpm/php_fpm_child_crash.log"),
        fixture("apache/mixed.log"),
    ];
    let mut parts = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        parts.push(save(
            dir.path(),
            &format!("part{i}.json"),
            &["analyze", "--format", "json", input],
        ));
    }
    let mut all = vec!["analyze", "--format", "json"];
    all.extend(inputs.iter().map(String::as_str));
    let whole = bin(&all);
    let mut merge = vec!["merge", "--format", "json"];
    merge.extend(parts.iter().map(String::as_str));
    let merged = bin(&merge);
    assert_eq!(merged.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&whole.stdout)
    );
    // Text is rendered from the same report.
    let mut text = vec!["merge"];
    text.extend(parts.iter().map(String::as_str));
    let mut text_all = vec!["analyze"];
    text_all.extend(inputs.iter().map(String::as_str));
    assert_eq!(bin(&text).stdout, bin(&text_all).stdout);
}

#[test]
fn merging_a_merge_is_associative_with_different_windows() {
    let dir = tempfile::tempdir().unwrap();
    let a = save(
        dir.path(),
        "a.json",
        &[
            "analyze",
            "-f",
            "json",
            "-w",
            "1m",
            &fixture("nginx/mixed.log"),
        ],
    );
    let b = save(
        dir.path(),
        "b.json",
        &[
            "analyze",
            "-f",
            "json",
            "-w",
            "10m",
            &fixture("apache/mixed.log"),
        ],
    );
    let out = bin(&["merge", "-f", "json", &a, &b]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The coarser window wins; counts add up.
    assert_eq!(r["window"], "10m");
    let refused = r["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == "upstream_refused")
        .unwrap();
    assert_eq!(refused["count"], 240);
    assert_eq!(refused["servers"]["nginx"], 120);
    assert_eq!(refused["servers"]["apache"], 120);
    let statuses: Vec<(u64, u64)> = refused["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["status"].as_u64().unwrap(), s["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(statuses, [(502, 120), (503, 120)]);
    assert_eq!(r["files"].as_array().unwrap().len(), 2);
}

#[test]
fn unreadable_reports_exit_2_and_the_rest_is_merged() {
    let dir = tempfile::tempdir().unwrap();
    let good = save(
        dir.path(),
        "good.json",
        &[
            "analyze",
            "-f",
            "json",
            &fixture("nginx/upstream_refused.log"),
        ],
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let out = bin(&[
        "merge",
        "-f",
        "json",
        &good,
        bad.to_str().unwrap(),
        "/no/such.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.json") && stderr.contains("not an upcause JSON report"),
        "{stderr}"
    );
    assert!(stderr.contains("/no/such.json"), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["total_failures"], 5);
    let none = bin(&["merge", "/no/such.json"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(none.stdout.is_empty());
}

#[test]
fn client_impact_is_summed_from_the_hosts_reports() {
    let dir = tempfile::tempdir().unwrap();
    let a = |f: &str| fixture(&format!("access/{f}"));
    let (ne, na, ae, aa) = (
        a("nginx-error.log"),
        a("nginx-combined.log"),
        a("apache-error.log"),
        a("apache-combined.log"),
    );
    let nginx = save(
        dir.path(),
        "n.json",
        &["analyze", "--format", "json", &ne, &na],
    );
    let apache = save(
        dir.path(),
        "a.json",
        &["analyze", "--format", "json", &ae, &aa],
    );
    let json = |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let whole = json(&bin(&["analyze", "--format", "json", &ne, &na, &ae, &aa]));
    let merged = json(&bin(&["merge", "--format", "json", &nginx, &apache]));
    // The hosts' logs tie nothing across hosts, so the sums are exactly
    // the analysis of all their logs at once.
    assert_eq!(merged["client_impact"], whole["client_impact"]);
    let ci = &merged["client_impact"];
    assert_eq!(ci["requests"], 94);
    assert_eq!(ci["statuses"]["502"], 29);
    assert_eq!(ci["statuses"]["503"], 11);
    assert_eq!(ci["error_rate"], 0.4574);
    for c in whole["causes"].as_array().unwrap() {
        let m = common::cause(&merged, c["cause"].as_str().unwrap());
        assert_eq!(m["client_impact"], c["client_impact"], "{}", c["cause"]);
    }
    // One host twice: every count doubled, every rate the same.
    let twice = json(&bin(&["merge", "--format", "json", &nginx, &nginx]));
    let one = json(&bin(&["merge", "--format", "json", &nginx]));
    assert_eq!(
        twice["client_impact"]["requests"].as_u64().unwrap(),
        2 * one["client_impact"]["requests"].as_u64().unwrap()
    );
    assert_eq!(
        twice["client_impact"]["error_rate"],
        one["client_impact"]["error_rate"]
    );
    assert_eq!(
        twice["client_impact"]["routes"][0]["requests"]
            .as_u64()
            .unwrap(),
        2 * one["client_impact"]["routes"][0]["requests"]
            .as_u64()
            .unwrap()
    );
    let text = String::from_utf8_lossy(&bin(&["merge", &nginx, &apache]).stdout).into_owned();
    assert!(
        text.contains("Clients: 94 requests in the access logs, 43 answered with a 5xx (45.7%)"),
        "{text}"
    );
}
