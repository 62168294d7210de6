//! The logs under fixtures/ were written by real nginx, Apache httpd and
//! php-fpm (fixtures/generate.sh). Every fixture must give its expected top
//! cause, upstream and count; the mixed ones their phases.
//!
//! `regenerated_fixtures_still_classify` (ignored by default, run by CI)
//! makes the real servers write the logs again into a temporary folder and
//! checks them the same way, so a format change in a new server release
//! shows up.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cause;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn analyze(path: &Path) -> Value {
    let out = common::bin()
        .args(["analyze", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", path.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Rows of a TSV file with a header line.
fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Checks every row of `dir/expected.tsv`; with `exact_counts` false the
/// count only has to be positive and at most the expected one (live
/// servers race).
fn check_expected(dir: &Path, exact_counts: bool) -> usize {
    let mut problems = Vec::new();
    let rows = rows(&dir.join("expected.tsv"));
    for row in &rows {
        let [path, want_cause, want_up, want_n] = &row[..] else {
            panic!("bad row {row:?}");
        };
        let want_n: u64 = want_n.parse().unwrap();
        let r = analyze(&dir.join(path));
        let top = &r["causes"][0];
        let up = top["upstreams"][0]["upstream"].as_str().unwrap_or("-");
        // The count is the wanted cause's, wherever it ranks: when a race
        // puts its alternative on top, the alternative's count says nothing
        // about the requests the wanted cause was expected for.
        let n = r["causes"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["cause"] == want_cause.as_str()))
            .and_then(|c| c["count"].as_u64())
            .unwrap_or(0);
        let count_ok = if exact_counts {
            n == want_n
        } else {
            n > 0 && n <= want_n
        };
        let cause_ok = top["cause"] == want_cause.as_str()
            || (!exact_counts && racy_alternative(want_cause, top["cause"].as_str().unwrap_or("")));
        if !cause_ok || up != want_up || !count_ok {
            problems.push(format!(
                "{path}: want {want_cause} {want_up} {want_n}, got {} {up} (and {want_cause} {n})",
                top["cause"]
            ));
        }
        // Every fixture is made only of lines the tool understands.
        if r["lines"]["unrecognized"] != 0 {
            problems.push(format!(
                "{path}: {} unrecognized lines",
                r["lines"]["unrecognized"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    rows.len()
}

/// With live servers a dying backend is seen as a reset (RST) or as a close
/// (FIN) depending on timing, and a reset while the body is still being sent
/// as a send failure or a reset: both are right for that run.
fn racy_alternative(want: &str, got: &str) -> bool {
    matches!(
        (want, got),
        ("connection_reset", "premature_close")
            | ("premature_close", "connection_reset")
            | ("send_failed", "connection_reset")
    )
}

#[test]
fn every_fixture_gives_its_top_cause_upstream_and_count() {
    let n = check_expected(&fixtures(), true);
    assert!(n >= 40, "only {n} fixtures");
}

#[test]
fn every_required_cause_the_servers_can_produce_has_a_fixture() {
    let have: Vec<String> = rows(&fixtures().join("expected.tsv"))
        .into_iter()
        .map(|r| r[1].clone())
        .collect();
    // The README of fixtures/ explains why the others cannot be produced on
    // one machine (see "Not produced").
    for &id in upcause::internals::REQUIRED {
        assert!(have.iter().any(|h| h == id), "no fixture for {id}");
    }
}

#[test]
fn mixed_fixtures_show_each_upstream_failing_in_its_own_phase() {
    let dir = fixtures();
    let rows = rows(&dir.join("expected-mixed.tsv"));
    assert_eq!(rows.len(), 4);
    for row in &rows {
        let [path, id, up, n, first_minute] = &row[..] else {
            panic!("bad row {row:?}");
        };
        let r = analyze(&dir.join(path));
        let c = cause(&r, id);
        assert_eq!(c["count"], n.parse::<u64>().unwrap(), "{path} {id}");
        assert_eq!(c["upstreams"].as_array().unwrap().len(), 1, "{path} {id}");
        assert_eq!(c["upstreams"][0]["upstream"], up.as_str(), "{path} {id}");
        assert!(
            c["first_seen"]
                .as_str()
                .unwrap()
                .starts_with(first_minute.as_str()),
            "{path} {id}: {}",
            c["first_seen"]
        );
        // Noise (404s, client aborts, rate limiting) is not counted.
        assert_eq!(r["causes"].as_array().unwrap().len(), 2, "{path}");
    }
    for server in ["nginx", "apache"] {
        let r = analyze(&dir.join(server).join("mixed.log"));
        let refused = cause(&r, "upstream_refused");
        let timeout = cause(&r, "upstream_timeout");
        // Phases: the refusals end before the timeouts start.
        assert!(
            refused["last_seen"].as_str().unwrap() < timeout["first_seen"].as_str().unwrap(),
            "{server}"
        );
        assert_eq!(timeout["routes"][0]["route"], "/api/orders/:id");
        assert_eq!(timeout["peak"]["start"], "2026-11-21T09:39:00");
        assert_eq!(r["lines"]["unrecognized"], 0);
    }
    let r = analyze(&dir.join("nginx/mixed.log"));
    assert_eq!(
        cause(&r, "upstream_refused")["routes"][0]["route"],
        "/api/users/:id"
    );
    assert!(r["lines"]["total"].as_u64().unwrap() > 1000);
}

#[test]
fn apache_tls_failures_are_one_failure_each_not_send_failures() {
    // mod_ssl and mod_proxy log a failed TLS handshake as eight lines,
    // including AH01084 / AH01097 "pass request body failed".
    for (file, id, up) in [
        (
            "apache/tls_handshake.log",
            "tls_handshake",
            "https://127.0.0.1:18100",
        ),
        (
            "apache/tls_verify.log",
            "tls_verify",
            "https://127.0.0.1:18108",
        ),
    ] {
        let r = analyze(&fixtures().join(file));
        assert_eq!(r["causes"].as_array().unwrap().len(), 1, "{file}: {r:#}");
        let c = cause(&r, id);
        assert_eq!(c["count"], 5);
        assert_eq!(c["upstreams"][0]["upstream"], up);
        assert_eq!(c["routes"][0]["route"], "/api/payments");
        assert_eq!(c["status"], 500);
    }
}

#[test]
fn nginx_php_fatal_error_is_one_record_over_several_lines() {
    let r = analyze(&fixtures().join("nginx/php_fatal.log"));
    let c = cause(&r, "php_fatal");
    assert_eq!(c["count"], 3);
    assert_eq!(c["routes"][0]["route"], "/fatal.php");
    assert!(
        c["example"]["text"]
            .as_str()
            .unwrap()
            .contains("Stack trace:\n#0 ")
    );
    assert!(r["lines"]["continuation"].as_u64().unwrap() >= 15);
}

/// Runs fixtures/generate.sh with the real servers into a temporary folder
/// and checks what they wrote. Needs nginx, apache2, php-fpm and curl
/// (`.ci/run` installs them).
#[test]
#[ignore = "starts real nginx, Apache httpd and php-fpm (about 3 minutes)"]
fn regenerated_fixtures_still_classify() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("bash")
        .arg(fixtures().join("generate.sh"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "generate.sh failed: {status}");
    let n = check_expected(dir.path(), false);
    assert!(n >= 40, "only {n} fixtures regenerated");
    for row in rows(&dir.path().join("expected-mixed.tsv")) {
        let r = analyze(&dir.path().join(&row[0]));
        let c = cause(&r, &row[1]);
        assert_eq!(c["upstreams"][0]["upstream"], row[2].as_str(), "{row:?}");
        assert!(c["count"].as_u64().unwrap() > 0, "{row:?}");
    }
}
