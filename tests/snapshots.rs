//! Snapshots of what the binary prints for the bundled mixed-traffic
//! fixtures (nginx, Apache httpd, and both together): `analyze` as text and
//! JSON, and `check` in every format, once with a rule that fails and once
//! with a rule that passes. The snapshots live in tests/snapshots/; after an
//! intended change to a report, review the new ones with `cargo insta review`
//! (or rerun with `INSTA_UPDATE=always` and read the diff).
//!
//! Each test also checks a few values against each other (the JSON total is
//! the sum of the causes, the gate's actual count is that total, the exit
//! status), so a snapshot accepted in a hurry cannot hide a wrong number.

mod common;

use std::path::Path;

use serde_json::Value;

/// The inputs, as relative paths: the binary runs from the repository root,
/// so the reports name the files the way a user typing them would.
const INPUTS: [(&str, &[&str]); 3] = [
    ("nginx", &["fixtures/nginx/mixed.log"]),
    ("apache", &["fixtures/apache/mixed.log"]),
    (
        "both",
        &["fixtures/nginx/mixed.log", "fixtures/apache/mixed.log"],
    ),
];

/// A rule the mixed fixtures break (each has 180 failed requests or more).
const FAILING: &str = "any=10";
/// A rule they keep.
const PASSING: &str = "any=100000";

struct Run {
    code: Option<i32>,
    stdout: String,
}

/// Runs `upcause ARGS... PATHS...` from the repository root.
fn upcause(args: &[&str], paths: &[&str]) -> Run {
    let out = common::bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .args(args)
        .args(paths)
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.is_empty(),
        "upcause {args:?} {paths:?} wrote to stderr:\n{stderr}"
    );
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
    }
}

/// Snapshot `name@input`, described by the command line that produced it.
fn snapshot(name: &str, input: &str, args: &[&str], paths: &[&str], stdout: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(input);
    settings.set_description(format!("upcause {} {}", args.join(" "), paths.join(" ")));
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, stdout));
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", run.stdout))
}

fn u64_at(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {pointer}"))
}

const ANALYZE_JSON: [&str; 4] = ["analyze", "-q", "--format", "json"];

/// `analyze --format json` of `paths`: the report, checked for its sum, and
/// the text it was read from.
fn report(paths: &[&str]) -> (Value, String) {
    let run = upcause(&ANALYZE_JSON, paths);
    assert_eq!(run.code, Some(0), "{paths:?}");
    let r = json(&run);
    let causes = r["causes"].as_array().unwrap();
    assert!(!causes.is_empty(), "{paths:?}");
    let sum: u64 = causes.iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(u64_at(&r, "/total_failures"), sum, "{paths:?}");
    (r, run.stdout)
}

#[test]
fn analyze_json() {
    let mut totals = Vec::new();
    for (input, paths) in INPUTS {
        let (r, stdout) = report(paths);
        let listed: Vec<&str> = r["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(listed, paths, "{input}");
        let lines: usize = paths
            .iter()
            .map(|p| {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
                std::fs::read_to_string(path).unwrap().lines().count()
            })
            .sum();
        assert_eq!(u64_at(&r, "/lines/total"), lines as u64, "{input}");
        totals.push(u64_at(&r, "/total_failures"));
        snapshot("analyze_json", input, &ANALYZE_JSON, paths, &stdout);
    }
    // 120 + 60 failed requests per server (fixtures/expected-mixed.tsv).
    assert_eq!(totals, [180, 180, 360]);
}

#[test]
fn analyze_text() {
    for (input, paths) in INPUTS {
        let (r, _) = report(paths);
        let args = ["analyze", "-q", "--color", "never"];
        let run = upcause(&args, paths);
        assert_eq!(run.code, Some(0), "{input}");
        assert!(!run.stdout.contains('\u{1b}'), "{input}: colour with never");
        let causes = r["causes"].as_array().unwrap();
        let head = format!(
            "{} failed requests in {} causes; ",
            r["total_failures"],
            causes.len()
        );
        assert!(
            run.stdout.starts_with(&head),
            "{input}: text does not open with {head:?}:\n{}",
            run.stdout
        );
        for c in causes {
            let line = format!(
                "{}: {} ({})",
                c["cause"].as_str().unwrap(),
                c["title"].as_str().unwrap(),
                c["status"]
            );
            assert!(run.stdout.contains(&line), "{input}: no {line:?}");
        }
        snapshot("analyze_text", input, &args, paths, &run.stdout);
    }
}

/// `check --format FORMAT --max RULE` on every input: the exit status, the
/// snapshot, and per format the values that must agree with the report.
fn check(format: &str, rule: &str, passes: bool) {
    let limit: u64 = rule.split_once('=').unwrap().1.parse().unwrap();
    let outcome = if passes { "pass" } else { "fail" };
    for (input, paths) in INPUTS {
        let (r, _) = report(paths);
        let total = u64_at(&r, "/total_failures");
        assert_eq!(total > limit, !passes, "{input}: {rule} vs {total}");
        let args = ["check", "-q", "--format", format, "--max", rule];
        let run = upcause(&args, paths);
        assert_eq!(
            run.code,
            Some(if passes { 0 } else { 1 }),
            "{input} {format}"
        );
        let out = &run.stdout;
        match format {
            "text" => {
                let verdict = if passes { "PASS" } else { "FAIL" };
                let first = format!("{verdict}  max any <= {limit}  actual {total}, limit {limit}");
                assert!(out.starts_with(&first), "{input}: {out}");
                assert!(
                    out.contains(&format!("upcause check: {verdict}, ")),
                    "{input}: {out}"
                );
            }
            "json" => {
                let v = json(&run);
                assert_eq!(v["passed"], passes, "{input}");
                assert_eq!(u64_at(&v, "/rules/0/limit"), limit, "{input}");
                assert_eq!(u64_at(&v, "/rules/0/actual"), total, "{input}");
                assert_eq!(v["rules"][0]["passed"], passes, "{input}");
                assert_eq!(v["report"], r, "{input}: the gate's report is analyze's");
            }
            "junit" => {
                let doc = roxmltree::Document::parse(out).expect("JUnit is XML");
                let root = doc.root_element();
                assert_eq!(root.tag_name().name(), "testsuites");
                assert_eq!(root.attribute("tests"), Some("1"), "{input}");
                let failures = if passes { "0" } else { "1" };
                assert_eq!(root.attribute("failures"), Some(failures), "{input}");
                let failure = doc.descendants().find(|n| n.has_tag_name("failure"));
                match failure {
                    Some(f) => {
                        assert!(!passes, "{input}");
                        let msg = f.attribute("message").unwrap();
                        assert!(
                            msg.starts_with(&format!(
                                "{total} failed requests over all causes, limit {limit}"
                            )),
                            "{input}: {msg}"
                        );
                    }
                    None => assert!(passes, "{input}: no <failure>"),
                }
            }
            "github" => {
                if passes {
                    assert_eq!(out.lines().count(), 1, "{input}: {out}");
                    assert!(
                        out.starts_with("::notice::upcause check: PASS, "),
                        "{input}: {out}"
                    );
                } else {
                    assert!(out.lines().count() >= 1, "{input}");
                    for l in out.lines() {
                        let file = l
                            .strip_prefix("::error file=")
                            .and_then(|rest| rest.split_once(',').map(|(f, _)| f))
                            .unwrap_or_else(|| panic!("{input}: not an error annotation: {l}"));
                        assert!(paths.contains(&file), "{input}: {file} is not an input");
                        assert!(
                            l.contains(&format!(
                                "::{total} failed requests over all causes, limit {limit}"
                            )),
                            "{input}: {l}"
                        );
                    }
                }
            }
            _ => unreachable!("{format}"),
        }
        snapshot(
            &format!("check_{format}_{outcome}"),
            input,
            &args,
            paths,
            out,
        );
    }
}

#[test]
fn check_text_fails() {
    check("text", FAILING, false);
}

#[test]
fn check_text_passes() {
    check("text", PASSING, true);
}

#[test]
fn check_json_fails() {
    check("json", FAILING, false);
}

#[test]
fn check_json_passes() {
    check("json", PASSING, true);
}

#[test]
fn check_junit_fails() {
    check("junit", FAILING, false);
}

#[test]
fn check_junit_passes() {
    check("junit", PASSING, true);
}

#[test]
fn check_github_fails() {
    check("github", FAILING, false);
}

#[test]
fn check_github_passes() {
    check("github", PASSING, true);
}

/// The HTML page of the nginx fixture: its static part, from `<body>` to
/// the data block (the style sheet, the script and the JSON are checked by
/// `tests/html.rs`: the JSON equals `--format json`, the script runs in a
/// browser).
#[test]
fn analyze_html() {
    let (input, paths) = INPUTS[0];
    let args = ["analyze", "-q", "--format", "html"];
    let run = upcause(&args, paths);
    assert_eq!(run.code, Some(0));
    let body = run.stdout.find("<body>").expect("a body");
    let data = run
        .stdout
        .find("<script type=\"application/json\"")
        .expect("the data");
    let page = &run.stdout[body..data];
    assert!(page.contains("Incident 1: 2026-11-21 09:37:49 → 09:38:48 (59s)"));
    snapshot("analyze_html", input, &args, paths, page);
}

/// `upcause lint` of the configuration the fixtures were written with
/// (nginx, Apache and php-fpm's www pool), in every format, with the
/// Apache header log: the per-case sockets no pool given listens on (two
/// in each server), the header buffer the log overflows, the two
/// single-server groups; the counts each format gives.
#[test]
fn lint_formats() {
    let configs = [
        "--config",
        "fixtures/config/nginx.conf",
        "--config",
        "fixtures/config/httpd.conf",
        "--config",
        "fixtures/config/php-fpm-www.conf",
    ];
    let logs = ["fixtures/apache/header_too_big.log"];
    for format in ["text", "json", "junit", "github"] {
        let args: Vec<&str> = ["lint", "--format", format]
            .into_iter()
            .chain(configs)
            .collect();
        let run = upcause(&args, &logs);
        assert_eq!(run.code, Some(1), "{format}");
        let out = &run.stdout;
        match format {
            "text" => assert!(out.ends_with("\n5 errors, 2 notes\n"), "{out}"),
            "json" => {
                let v = json(&run);
                assert_eq!((u64_at(&v, "/count"), u64_at(&v, "/errors")), (7, 5));
            }
            "junit" => {
                let doc = roxmltree::Document::parse(out).expect("JUnit is XML");
                let root = doc.root_element();
                assert_eq!(root.attribute("tests"), Some("7"));
                assert_eq!(root.attribute("failures"), Some("5"));
                assert_eq!(
                    doc.descendants()
                        .filter(|n| n.has_tag_name("failure"))
                        .count(),
                    5
                );
            }
            _ => {
                assert_eq!(out.lines().filter(|l| l.starts_with("::error ")).count(), 5);
                assert_eq!(
                    out.lines()
                        .filter(|l| l.starts_with("::notice file="))
                        .count(),
                    2
                );
            }
        }
        snapshot(&format!("lint_{format}"), "configs", &args, &logs, out);
    }
}
