//! `upcause check`, the CI gate: runs the built binary on small logs in
//! temporary directories and checks exit codes and every output format.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

// Line shapes from src/catalog/tests.rs.
const REFUSED: &str = r#"2026/11/20 10:00:01 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: "GET /api/users/17 HTTP/1.1", upstream: "http://10.0.0.1:80/api/users/17", host: "h""#;
const TIMEOUT: &str = r#"2026/11/20 10:02:30 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: "GET /slow HTTP/1.1", upstream: "http://10.0.1.5:8080/slow", host: "h""#;
const NO_LIVE: &str = r#"2026/11/20 10:03:00 [error] 7#7: *5 no live upstreams while connecting to upstream, client: 1.2.3.4, server: s, request: "GET /a HTTP/1.1", upstream: "http://backend/a", host: "h""#;
const TLS: &str = r#"2026/11/20 10:04:00 [error] 7#7: *11 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:18088/", host: "h""#;

/// A request id per line so that nginx retries are not merged.
fn timeout(n: u32) -> String {
    TIMEOUT.replace("*2 ", &format!("*{} ", 100 + n))
}

/// A temporary directory holding `error.log` (and whatever else a test
/// writes); the binary runs inside it so paths in outputs are short.
struct Dir(tempfile::TempDir);

impl Dir {
    fn with_log(lines: &[&str]) -> Dir {
        let d = Dir(tempfile::tempdir().unwrap());
        d.write(
            "error.log",
            &lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        );
        d
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.0.path().join(name), content).unwrap();
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        common::bin()
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .args(args)
            .output()
            .expect("binary runs")
    }

    fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = common::bin()
            .current_dir(self.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn exit(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// Exit code and one `(passed, rule)` pair per rule, from the JSON output.
fn rules(d: &Dir, args: &[&str]) -> (i32, Vec<(bool, String)>) {
    let mut a = vec!["check", "--format", "json"];
    a.extend_from_slice(args);
    let out = d.run(&a);
    let v = json(&out);
    let rules = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["passed"].as_bool().unwrap(),
                r["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (exit(&out), rules)
}

const RULES: &str = r#"
forbid = ["no_live_upstreams", "tls_handshake"]   # any occurrence fails
[max]
any = 50
upstream_timeout = 0
[max_per_upstream]
"http://10.0.1.5:8080" = 10
"#;

// ------------------------------------------------------------ exit codes

#[test]
fn exit_0_when_every_rule_passes() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT]);
    let out = d.run(&["check", "--max", "any=2", "error.log"]);
    assert_eq!(exit(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "PASS  max any <= 2  actual 2, limit 2\n\
         upcause check: PASS, 1 rule passed (2 failed requests in 2 causes)\n"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn exit_1_when_a_rule_fails() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT]);
    let out = d.run(&["check", "--max", "any=1", "error.log"]);
    assert_eq!(exit(&out), 1);
    assert!(
        stdout(&out).starts_with("FAIL  max any <= 1  actual 2, limit 1, first at error.log:1\n")
    );
}

#[test]
fn without_rules_any_failure_fails() {
    let d = Dir::with_log(&[TIMEOUT]);
    assert_eq!(
        rules(&d, &["error.log"]),
        (1, vec![(false, "max any <= 0".into())])
    );
    // An empty input passes the rule but fails the gate: it shows no
    // failure because it shows nothing (see tests/honesty.rs).
    d.write("empty.log", "");
    assert_eq!(
        rules(&d, &["empty.log"]),
        (2, vec![(true, "max any <= 0".into())])
    );
    assert_eq!(
        rules(&d, &["--min-recognized", "0", "empty.log"]),
        (0, vec![(true, "max any <= 0".into())])
    );
}

#[test]
fn exit_2_for_unknown_cause_ids_in_flags() {
    let d = Dir::with_log(&[REFUSED]);
    for args in [
        &["check", "--max", "upstream_timout=1", "error.log"][..],
        &["check", "--forbid", "nope", "error.log"][..],
        &["check", "--max", "any", "error.log"][..],
        &["check", "--max", "any=-1", "error.log"][..],
        &["check", "--max-upstream", "http://x=many", "error.log"][..],
        &["check", "--tolerance", "5", "error.log"][..],
        &["check", "--format", "xml", "error.log"][..],
    ] {
        let out = d.run(args);
        assert_eq!(exit(&out), 2, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing is judged");
        assert!(!out.stderr.is_empty());
    }
    let err = stderr(&d.run(&["check", "--max", "upstream_timout=1", "error.log"]));
    assert!(err.contains("unknown cause 'upstream_timout'"), "{err}");
    assert!(
        err.contains("upstream_timeout"),
        "lists the known ids: {err}"
    );
}

#[test]
fn exit_2_for_an_unknown_key_in_the_rules_file() {
    let d = Dir::with_log(&[REFUSED]);
    d.write("top.toml", "forbid = []\n[maximum]\nany = 1\n");
    let out = d.run(&["check", "--rules", "top.toml", "error.log"]);
    assert_eq!(exit(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("top.toml: line 2, column 2:"), "{err}");
    assert!(err.contains("unknown field `maximum`"), "{err}");

    d.write("cause.toml", "[max]\nany = 1\nupstream_timout = 0\n");
    let out = d.run(&["check", "--rules", "cause.toml", "error.log"]);
    assert_eq!(exit(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("cause.toml: line 3, column 1: unknown cause 'upstream_timout' in [max]"),
        "{err}"
    );

    d.write(
        "forbid.toml",
        "forbid = [\"tls_handshake\", \"any\", \"tls\"]\n",
    );
    let err = stderr(&d.run(&["check", "--rules", "forbid.toml", "error.log"]));
    assert!(
        err.contains("forbid.toml: line 1, column 35: unknown cause 'tls'"),
        "{err}"
    );
}

#[test]
fn exit_2_for_a_toml_syntax_error_with_line_and_column() {
    let d = Dir::with_log(&[REFUSED]);
    d.write(
        "bad.toml",
        "forbid = [\"tls_handshake\"]\n\n[max]\nany = = 3\n",
    );
    let out = d.run(&["check", "--rules", "bad.toml", "error.log"]);
    assert_eq!(exit(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("bad.toml: line 4, column 7:"), "{err}");
    assert!(out.stdout.is_empty());

    d.write("type.toml", "[max]\nany = \"ten\"\n");
    let err = stderr(&d.run(&["check", "--rules", "type.toml", "error.log"]));
    assert!(err.contains("type.toml: line 2, column 7:"), "{err}");

    let out = d.run(&["check", "--rules", "missing.toml", "error.log"]);
    assert_eq!(exit(&out), 2);
    assert!(stderr(&out).contains("missing.toml: cannot read rules file: no such file"));
}

#[test]
fn exit_2_for_a_missing_input_even_when_the_rules_pass() {
    let d = Dir::with_log(&[REFUSED]);
    let out = d.run(&["check", "--max", "any=100", "nope.log", "error.log"]);
    assert_eq!(exit(&out), 2);
    assert!(stderr(&out).contains("nope.log: no such file or directory"));
    let text = stdout(&out);
    assert!(
        text.contains("PASS  max any <= 100  actual 1, limit 100\n"),
        "{text}"
    );
    assert!(
        text.contains("ERROR input nope.log: no such file or directory\n"),
        "{text}"
    );
    assert!(text.ends_with("upcause check: FAIL, 1 rule passed (1 failed request in 1 cause); 1 input could not be read\n"), "{text}");

    // Also when a rule fails: the input error wins.
    let out = d.run(&["check", "--max", "any=0", "nope.log", "error.log"]);
    assert_eq!(exit(&out), 2);
    let v = json(&d.run(&["check", "-f", "json", "nope.log", "error.log"]));
    assert_eq!(v["passed"], false);
    assert_eq!(v["input_errors"][0]["path"], "nope.log");
}

// ------------------------------------------------------------ rules

#[test]
fn the_documented_rules_file() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT, NO_LIVE]);
    d.write("upcause.toml", RULES);
    let (code, r) = rules(&d, &["--rules", "upcause.toml", "error.log"]);
    assert_eq!(code, 1);
    assert_eq!(
        r,
        [
            (false, "forbid no_live_upstreams".to_string()),
            (true, "forbid tls_handshake".to_string()),
            (true, "max any <= 50".to_string()),
            (false, "max upstream_timeout <= 0".to_string()),
            (
                true,
                "max_per_upstream http://10.0.1.5:8080 <= 10".to_string()
            ),
        ]
    );
}

#[test]
fn flags_override_the_file() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT, NO_LIVE]);
    d.write("upcause.toml", RULES);
    let (code, r) = rules(
        &d,
        &[
            "--rules",
            "upcause.toml",
            "--max",
            "upstream_timeout=1",
            "--max",
            "no_live_upstreams=1",
            "--max",
            "any=3",
            "--max-upstream",
            "http://10.0.1.5:8080=0",
            "--forbid",
            "upstream_refused",
            "error.log",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        r,
        [
            // Catalog order within a kind.
            (false, "forbid upstream_refused".to_string()),
            (true, "forbid tls_handshake".to_string()),
            (true, "max any <= 3".to_string()),
            (true, "max upstream_timeout <= 1".to_string()),
            (true, "max no_live_upstreams <= 1".to_string()),
            (
                false,
                "max_per_upstream http://10.0.1.5:8080 <= 0".to_string()
            ),
        ]
    );
    // The last --max for a cause wins; the file's limit no longer applies.
    let (code, _) = rules(
        &d,
        &[
            "--rules",
            "upcause.toml",
            "--max",
            "upstream_timeout=0",
            "--max",
            "upstream_timeout=1",
            "--max",
            "no_live_upstreams=5",
            "error.log",
        ],
    );
    assert_eq!(code, 0);
}

#[test]
fn any_counts_every_cause() {
    let d = Dir::with_log(&[REFUSED, &timeout(1), &timeout(2), TLS]);
    assert_eq!(rules(&d, &["--max", "any=4", "error.log"]).0, 0);
    assert_eq!(rules(&d, &["--max", "any=3", "error.log"]).0, 1);
    assert_eq!(
        rules(&d, &["--forbid", "any", "error.log"]).1,
        [(false, "forbid any".to_string())]
    );
    // Each cause's first line, earliest first.
    let v = json(&d.run(&["check", "-f", "json", "--max", "any=0", "error.log"]));
    let lines: Vec<u64> = v["rules"][0]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 2, 4]);
}

#[test]
fn max_per_upstream_counts_attempts() {
    let d = Dir::with_log(&[REFUSED, &timeout(1), &timeout(2)]);
    let (code, r) = rules(
        &d,
        &[
            "--max-upstream",
            "http://10.0.1.5:8080=1",
            "--max-upstream",
            "http://10.0.0.1:80=1",
            "error.log",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        r,
        [
            (true, "max_per_upstream http://10.0.0.1:80 <= 1".to_string()),
            (
                false,
                "max_per_upstream http://10.0.1.5:8080 <= 1".to_string()
            ),
        ]
    );
}

#[test]
fn time_range_and_stdin_like_analyze() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT]);
    let (code, r) = rules(
        &d,
        &[
            "--since",
            "2026-11-20 10:01",
            "--forbid",
            "upstream_refused",
            "error.log",
        ],
    );
    assert_eq!((code, r[0].0), (0, true));
    let out = d.run_stdin(
        &["check", "--max", "any=1", "-"],
        &format!("{REFUSED}\n{TIMEOUT}\n"),
    );
    assert_eq!(exit(&out), 1);
    assert!(stdout(&out).contains("first at -:1"), "{}", stdout(&out));
}

// ------------------------------------------------------------ baseline

/// Saves `analyze --format json` of these lines as `name`.
fn save_baseline(d: &Dir, name: &str, lines: &[&str]) {
    d.write(
        "base.log",
        &lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    );
    let out = d.run(&["analyze", "--format", "json", "base.log"]);
    assert_eq!(exit(&out), 0);
    std::fs::write(d.path().join(name), out.stdout).unwrap();
}

#[test]
fn baseline_fails_on_a_new_cause() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT]);
    save_baseline(&d, "base.json", &[REFUSED]);
    let out = d.run(&[
        "check",
        "--format",
        "json",
        "--baseline",
        "base.json",
        "error.log",
    ]);
    assert_eq!(exit(&out), 1);
    let v = json(&out);
    let new = &v["rules"][0];
    assert_eq!(new["kind"], "baseline_new");
    assert_eq!(new["target"], "upstream_timeout");
    assert_eq!(new["actual"], 1);
    assert_eq!(new["passed"], false);
    assert_eq!(new["examples"][0]["line"], 2);
    let growth = &v["rules"][1];
    assert_eq!(growth["kind"], "baseline_growth");
    assert_eq!(growth["target"], "upstream_refused");
    assert_eq!(growth["passed"], true);
    // No tolerance excuses a new cause.
    let out = d.run(&[
        "check",
        "--baseline",
        "base.json",
        "--tolerance",
        "1000",
        "error.log",
    ]);
    assert_eq!(exit(&out), 1);

    // Same causes: passes.
    save_baseline(&d, "same.json", &[REFUSED, TIMEOUT]);
    let (code, r) = rules(&d, &["--baseline", "same.json", "error.log"]);
    assert_eq!(code, 0);
    assert_eq!(r[0], (true, "baseline_new (none)".to_string()));
}

#[test]
fn baseline_growth_with_and_without_tolerance() {
    // 5 timeouts now, 4 in the baseline.
    let now: Vec<String> = (0..5).map(timeout).collect();
    let now: Vec<&str> = now.iter().map(String::as_str).collect();
    let d = Dir::with_log(&now);
    save_baseline(&d, "base.json", &now[..4]);
    let growth = |extra: &[&str]| {
        let mut args = vec!["--baseline", "base.json"];
        args.extend_from_slice(extra);
        args.push("error.log");
        rules(&d, &args)
    };
    assert_eq!(
        growth(&[]),
        (
            1,
            vec![
                (true, "baseline_new (none)".to_string()),
                (
                    false,
                    "baseline_growth upstream_timeout <= 4 (baseline 4 +0%)".to_string()
                ),
            ]
        )
    );
    // +20% of 4 is 4.8: still 4 allowed.
    assert_eq!(growth(&["--tolerance", "20"]).0, 1);
    assert_eq!(
        growth(&["--tolerance", "25%"]),
        (
            0,
            vec![
                (true, "baseline_new (none)".to_string()),
                (
                    true,
                    "baseline_growth upstream_timeout <= 5 (baseline 4 +25%)".to_string()
                ),
            ]
        )
    );
    let out = d.run(&["check", "--baseline", "base.json", "error.log"]);
    assert_eq!(
        stdout(&out).lines().nth(1).unwrap(),
        "FAIL  baseline_growth upstream_timeout <= 4 (baseline 4 +0%)  actual 5, limit 4, first at error.log:1"
    );
    // Fewer failures than the baseline pass.
    let d2 = Dir::with_log(&now[..2]);
    std::fs::copy(d.path().join("base.json"), d2.path().join("base.json")).unwrap();
    assert_eq!(rules(&d2, &["--baseline", "base.json", "error.log"]).0, 0);
}

#[test]
fn an_unreadable_baseline_is_a_usage_error() {
    let d = Dir::with_log(&[REFUSED]);
    d.write("bad.json", "{\"version\": 1,");
    for args in [
        &["check", "--baseline", "bad.json", "error.log"][..],
        &["check", "--baseline", "missing.json", "error.log"][..],
    ] {
        let out = d.run(args);
        assert_eq!(exit(&out), 2, "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).contains(".json: "), "{}", stderr(&out));
    }
}

// ------------------------------------------------------------ formats

#[test]
fn text_has_one_line_per_rule() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT, NO_LIVE]);
    d.write("upcause.toml", RULES);
    let out = d.run(&["check", "--rules", "upcause.toml", "error.log"]);
    assert_eq!(
        stdout(&out),
        "\
FAIL  forbid no_live_upstreams                     actual 1, limit 0, first at error.log:3
PASS  forbid tls_handshake                         actual 0, limit 0
PASS  max any <= 50                                actual 3, limit 50
FAIL  max upstream_timeout <= 0                    actual 1, limit 0, first at error.log:2
PASS  max_per_upstream http://10.0.1.5:8080 <= 10  actual 1, limit 10
upcause check: FAIL, 2 of 5 rules failed (3 failed requests in 3 causes)
"
    );
}

#[test]
fn json_has_rules_and_the_analyze_report() {
    let d = Dir::with_log(&[REFUSED, TIMEOUT]);
    let out = d.run(&[
        "check",
        "-f",
        "json",
        "--max",
        "upstream_timeout=0",
        "--forbid",
        "tls_verify",
        "error.log",
    ]);
    assert_eq!(exit(&out), 1);
    let v = json(&out);
    assert_eq!(v["passed"], false);
    assert_eq!(
        v["rules"],
        serde_json::json!([
            {"rule": "forbid tls_verify", "kind": "forbid", "target": "tls_verify",
             "limit": 0, "actual": 0, "passed": true, "examples": []},
            {"rule": "max upstream_timeout <= 0", "kind": "max", "target": "upstream_timeout",
             "limit": 0, "actual": 1, "passed": false,
             "examples": [{"file": "error.log", "line": 2, "text": TIMEOUT}]},
        ])
    );
    assert_eq!(v["input_errors"], serde_json::json!([]));
    let analyze = json(&d.run(&["analyze", "-f", "json", "error.log"]));
    assert_eq!(v["report"], analyze);
}

#[test]
fn junit_is_xml_with_one_testcase_per_rule() {
    // A log line full of markup and bytes XML cannot hold.
    let evil = TIMEOUT.replace("/slow", "/a&b<c>]]>\"'\u{1}\u{1b}[31m");
    let d = Dir::with_log(&[REFUSED, &evil, NO_LIVE]);
    d.write("upcause.toml", RULES);
    let out = d.run(&[
        "check",
        "--format",
        "junit",
        "--rules",
        "upcause.toml",
        "error.log",
        "nope.log",
    ]);
    assert_eq!(exit(&out), 2);
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attribute("name"), Some("upcause check"));
    assert_eq!(suite.attribute("tests"), Some("6"));
    assert_eq!(suite.attribute("failures"), Some("2"));
    assert_eq!(suite.attribute("errors"), Some("1"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 6);
    let names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        [
            "forbid no_live_upstreams",
            "forbid tls_handshake",
            "max any <= 50",
            "max upstream_timeout <= 0",
            "max_per_upstream http://10.0.1.5:8080 <= 10",
            "read nope.log",
        ]
    );
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(
        failures[1].attribute("message"),
        Some("1 failed request of upstream_timeout, limit 0; first at error.log:2")
    );
    let body = failures[1].text().unwrap();
    assert!(body.starts_with("error.log:2: "), "{body}");
    assert!(body.contains("/a&b<c>]]>\"'\\x01\\x1b[31m"), "{body}");
    let errors: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("error"))
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].attribute("message"),
        Some("nope.log: no such file or directory")
    );

    // All passing: no failure elements.
    let out = d.run(&["check", "--format", "junit", "--max", "any=10", "error.log"]);
    assert_eq!(exit(&out), 0);
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        1
    );
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
}

#[test]
fn github_annotations_point_at_the_first_offending_lines() {
    let pct = TIMEOUT.replace("/slow", "/100%,done");
    let d = Dir::with_log(&[REFUSED, &pct, NO_LIVE]);
    // A file name with the characters GitHub needs escaped in properties.
    std::fs::rename(d.path().join("error.log"), d.path().join("err,or:1%.log")).unwrap();
    d.write("upcause.toml", RULES);
    let out = d.run(&[
        "check",
        "--format",
        "github",
        "--rules",
        "upcause.toml",
        "--max",
        "any=2",
        "err,or:1%.log",
    ]);
    assert_eq!(exit(&out), 1);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let msg_line = |l: &str| l.replace('%', "%25");
    assert_eq!(
        lines,
        [
            format!(
                "::error file=err%2Cor%3A1%25.log,line=3,title=upcause forbid no_live_upstreams::1 failed request of no_live_upstreams, limit 0%0Aerr,or:1%25.log:3: {}",
                msg_line(NO_LIVE)
            ),
            format!(
                "::error file=err%2Cor%3A1%25.log,line=1,title=upcause max any <= 2::3 failed requests over all causes, limit 2%0Aerr,or:1%25.log:1: {}",
                msg_line(REFUSED)
            ),
            format!(
                "::error file=err%2Cor%3A1%25.log,line=2,title=upcause max any <= 2::3 failed requests over all causes, limit 2%0Aerr,or:1%25.log:2: {}",
                msg_line(&pct)
            ),
            format!(
                "::error file=err%2Cor%3A1%25.log,line=3,title=upcause max any <= 2::3 failed requests over all causes, limit 2%0Aerr,or:1%25.log:3: {}",
                msg_line(NO_LIVE)
            ),
            format!(
                "::error file=err%2Cor%3A1%25.log,line=2,title=upcause max upstream_timeout <= 0::1 failed request of upstream_timeout, limit 0%0Aerr,or:1%25.log:2: {}",
                msg_line(&pct)
            ),
        ]
    );
    assert!(lines[2].contains("/100%25,done"));

    // All passing: one notice.
    let out = d.run(&[
        "check",
        "--format",
        "github",
        "--max",
        "any=3",
        "err,or:1%.log",
    ]);
    assert_eq!(exit(&out), 0);
    assert_eq!(
        stdout(&out),
        "::notice::upcause check: PASS, 1 rule passed (3 failed requests in 3 causes)\n"
    );

    // Unreadable input: an error annotation on the file.
    let out = d.run(&[
        "check",
        "--format",
        "github",
        "--max",
        "any=3",
        "err,or:1%.log",
        "nope.log",
    ]);
    assert_eq!(exit(&out), 2);
    assert_eq!(
        stdout(&out),
        "::error file=nope.log,title=upcause input::nope.log: no such file or directory\n"
    );
}

/// Baselines compare root causes, not echoes: the real timeout cascade of
/// fixtures/incidents/cascade_2.log (5 timeouts, then 178 `no live
/// upstreams`) against its own first 300 lines (the same 5 timeouts, 102
/// echoes) passes, since more echoes of the same root are no regression;
/// another log's new root cause fails.
#[test]
fn baseline_judges_root_causes_not_echoes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/incidents");
    let cascade = std::fs::read_to_string(root.join("cascade_2.log")).unwrap();
    let first: Vec<&str> = cascade.lines().take(300).collect();
    let d = Dir::with_log(&[]);
    save_baseline(&d, "base.json", &first);
    let base = json(&d.run(&["analyze", "--format", "json", "base.log"]));
    assert_eq!(
        base["incidents"][0]["root_cause"]["cause"],
        "upstream_timeout"
    );
    assert_eq!(
        base["incidents"][0]["echoes"],
        serde_json::json!([
            {"cause": "upstream_disabled", "count": 7},
            {"cause": "no_live_upstreams", "count": 102}
        ])
    );
    let full = root.join("cascade_2.log");
    let (code, r) = rules(&d, &["--baseline", "base.json", full.to_str().unwrap()]);
    assert_eq!(
        r,
        [
            (true, "baseline_new (none)".to_string()),
            (
                true,
                "baseline_growth upstream_timeout <= 5 (baseline 5 +0%)".to_string()
            ),
        ]
    );
    assert_eq!(code, 0);
    // A new root cause is one: the refusals and the reset of another
    // outage, and its timeouts beyond the baseline's 5.
    let other = root.join("two_outages.log");
    let (code, r) = rules(&d, &["--baseline", "base.json", other.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        r.contains(&(false, "baseline_new upstream_refused".to_string())),
        "{r:?}"
    );
    assert!(
        r.contains(&(false, "baseline_new connection_reset".to_string())),
        "{r:?}"
    );
    // Echoes with no root in sight are no echoes: three `no live
    // upstreams` alone are `upstreams_down`, new to the baseline.
    let echoes: Vec<&str> = cascade
        .lines()
        .filter(|l| l.contains("no live upstreams"))
        .take(3)
        .collect();
    d.write(
        "echoes.log",
        &echoes.iter().map(|l| format!("{l}\n")).collect::<String>(),
    );
    let (code, r) = rules(&d, &["--baseline", "base.json", "echoes.log"]);
    assert_eq!(code, 1, "{r:?}");
    assert_eq!(r[0], (false, "baseline_new upstreams_down".to_string()));
}
