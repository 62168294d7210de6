//! Every mode says what it read and what it left out: binary and
//! compressed inputs it cannot read, the share of lines it recognized, the
//! filters that hid failures. Runs the built binary and checks exit codes,
//! stderr and the JSON.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{bin, fixture, json, root, stderr, stdout};
use serde_json::Value;

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Inputs that are no text log, written into `dir`: a copy of an
/// executable, and files that start with the magic bytes of compression
/// formats upcause does not read.
fn not_logs(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let exe = std::fs::read(env!("CARGO_BIN_EXE_upcause")).unwrap();
    let mut v = Vec::new();
    let mut put = |name: &str, bytes: &[u8], why: &'static str| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        v.push((path, why));
    };
    put("ls-copy", &exe, "binary file (NUL bytes)");
    put(
        "error.log.1.lz4",
        b"\x04\x22\x4d\x18\x64\x40\xa7\x05\x00\x00\x80hello",
        "lz4-compressed",
    );
    put(
        "error.log.2.zip",
        b"PK\x03\x04\x14\x00\x00\x00",
        "zip-compressed",
    );
    put(
        "error.log.3.7z",
        b"7z\xbc\xaf\x27\x1c\x00\x04",
        "7-zip-compressed",
    );
    v
}

#[test]
fn analyze_names_binary_and_compressed_inputs_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = not_logs(dir.path());
    let good = fixture("nginx/upstream_timeout.log");
    let mut args = vec!["analyze".to_string(), "--format".into(), "json".into()];
    args.extend(bad.iter().map(|(b, _)| p(b)));
    args.push(p(&good));
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report = json(&out);
    let err = stderr(&out);
    for (i, (path, why)) in bad.iter().enumerate() {
        let f = &report["files"][i];
        assert_eq!(f["path"], p(path));
        let reason = f["error"].as_str().expect("a reason");
        assert!(reason.starts_with(why), "{reason}");
        assert!(
            err.contains(&format!("upcause: {}: {why}", p(path))),
            "{err}"
        );
    }
    // The good input is still analyzed.
    assert_eq!(report["files"][bad.len()]["error"], Value::Null);
    assert_eq!(report["causes"][0]["cause"], "upstream_timeout");
    assert_eq!(report["causes"][0]["count"], 5);
}

#[test]
fn analyze_text_does_not_say_nothing_was_found_in_a_file_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let bad = not_logs(dir.path());
    let out = run(&["analyze", &p(&bad[2].0)]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(!text.contains("No upstream failures found"), "{text}");
    assert!(text.starts_with("Nothing could be read"), "{text}");
    assert!(text.contains("zip-compressed"), "{text}");
}

#[test]
fn gzip_of_a_binary_file_is_refused_too() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log.2.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(env!("CARGO_BIN_EXE_upcause")).unwrap()[..64 * 1024])
        .unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let out = run(&["analyze", "--format", "json", &p(&path)]);
    assert_eq!(out.status.code(), Some(2));
    let reason = json(&out)["files"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.starts_with("binary file"), "{reason}");
}

/// The same log with a UTF-8 byte-order mark in front, read from a file
/// (small: read; large: mapped) and from stdin, gives the same report.
#[test]
fn a_byte_order_mark_at_the_start_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::read(fixture("nginx/upstream_timeout.log")).unwrap();
    let mut with_bom = b"\xef\xbb\xbf".to_vec();
    with_bom.extend_from_slice(&log);
    let plain = dir.path().join("plain.log");
    let bom = dir.path().join("bom.log");
    std::fs::write(&plain, &log).unwrap();
    std::fs::write(&bom, &with_bom).unwrap();
    let summary = |out: &Output| {
        let r = json(out);
        (r["lines"].clone(), r["causes"][0]["count"].clone())
    };
    let want = summary(&run(&["analyze", "--format", "json", &p(&plain)]));
    assert_eq!(want.0["unrecognized"], 0);
    assert_eq!(want.1, 5);
    assert_eq!(
        summary(&run(&["analyze", "--format", "json", &p(&bom)])),
        want
    );
    // Over the size from which files are mapped instead of read: blank
    // lines after the log (an nginx log ends with a newline) pad it.
    let big = dir.path().join("big.log");
    let mut padded = with_bom.clone();
    padded.resize(padded.len() + (9 << 20), b'\n');
    std::fs::write(&big, &padded).unwrap();
    let r = json(&run(&["analyze", "--format", "json", &p(&big)]));
    assert_eq!(r["lines"]["unrecognized"], 0);
    assert_eq!(r["lines"]["recognized"], want.0["recognized"]);
    assert_eq!(r["causes"][0]["count"], 5);
    // stdin
    let mut child = bin()
        .args(["analyze", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&with_bom).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(summary(&out), want);
}

// ------------------------------------------------------------ the gate

/// A log in which 10 of 40 lines are error-log lines: a real nginx log
/// followed by 30 lines of this repository's README.
fn quarter_recognized(dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(fixture("nginx/upstream_timeout.log")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let prose: Vec<&str> = readme
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(30)
        .collect();
    for l in prose {
        bytes.extend_from_slice(l.as_bytes());
        bytes.push(b'\n');
    }
    let path = dir.join("quarter.log");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn check(args: &[&str], format: &str) -> Output {
    let mut a = vec!["check", "--max", "any=1000", "--format", format];
    a.extend_from_slice(args);
    run(&a)
}

#[test]
fn check_fails_with_exit_2_on_what_it_did_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let readme = p(&root().join("README.md"));
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let bad = not_logs(dir.path());
    let cases: Vec<(String, &str)> = vec![
        (readme, "none of its"),
        (p(&empty), "empty"),
        (p(&bad[0].0), "binary file"),
        (p(&bad[1].0), "lz4-compressed"),
        (
            p(&quarter_recognized(dir.path())),
            "only 25% of its 40 lines",
        ),
    ];
    for (path, why) in &cases {
        // text
        let out = check(&[path], "text");
        assert_eq!(out.status.code(), Some(2), "{path}: {}", stdout(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!("ERROR input {path}: {why}")),
            "{text}"
        );
        assert!(text.contains("upcause check: FAIL"), "{text}");
        // json
        let out = check(&[path], "json");
        assert_eq!(out.status.code(), Some(2));
        let v = json(&out);
        assert_eq!(v["passed"], false);
        assert_eq!(v["input_errors"][0]["path"], path.as_str());
        let error = v["input_errors"][0]["error"].as_str().unwrap();
        assert!(error.starts_with(why), "{error}");
        let kind = if why.contains("binary") || why.contains("compressed") {
            "unreadable"
        } else {
            "unrecognized"
        };
        assert_eq!(v["input_errors"][0]["kind"], kind);
        // junit: an error test case
        let out = check(&[path], "junit");
        assert_eq!(out.status.code(), Some(2));
        let xml = stdout(&out);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("errors"), Some("1"));
        let err = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
        let msg = err.attribute("message").unwrap();
        assert!(msg.starts_with(&format!("{path}: {why}")), "{msg}");
        // github: an error annotation naming the file
        let out = check(&[path], "github");
        assert_eq!(out.status.code(), Some(2));
        let gh = stdout(&out);
        let line = gh
            .lines()
            .find(|l| l.starts_with("::error file="))
            .unwrap_or_else(|| panic!("{gh}"));
        let escaped = path.replace(':', "%3A").replace(',', "%2C");
        assert!(
            line.starts_with(&format!("::error file={escaped},title=upcause input::")),
            "{line}"
        );
        assert!(line.contains(&why.replace('%', "%25")), "{line}");
        assert!(!gh.contains("::notice"), "{gh}");
    }
}

#[test]
fn min_recognized_sets_the_share_and_zero_accepts_anything_readable() {
    let dir = tempfile::tempdir().unwrap();
    let quarter = p(&quarter_recognized(dir.path()));
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let code = |args: &[&str]| check(args, "json").status.code();
    assert_eq!(code(&[&quarter]), Some(2));
    assert_eq!(code(&["--min-recognized", "25", &quarter]), Some(0));
    assert_eq!(code(&["--min-recognized", "25.5%", &quarter]), Some(2));
    assert_eq!(code(&["--min-recognized", "0", &quarter]), Some(0));
    assert_eq!(code(&["--min-recognized", "0", &p(&empty)]), Some(0));
    // A binary file is never accepted.
    let bad = not_logs(dir.path());
    assert_eq!(code(&["--min-recognized", "0", &p(&bad[0].0)]), Some(2));
    // A good log passes with the default.
    let good = p(&fixture("nginx/mixed.log"));
    let out = check(&[&good], "json");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json(&out)["input_errors"], serde_json::json!([]));
    // A rule failure with a bad input is still exit 2 (the gate could not
    // judge), and both are reported.
    let out = run(&["check", "--format", "json", &good, &quarter]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["rules"][0]["passed"], false);
    assert_eq!(v["input_errors"].as_array().unwrap().len(), 1);
    // The rules file can set it.
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "min_recognized = 20\n[max]\nany = 1000\n").unwrap();
    let out = run(&["check", "--rules", &p(&rules), &quarter]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    for bad in ["x", "-1", "101", "50.555"] {
        let flag = format!("--min-recognized={bad}");
        let out = run(&["check", &flag, &quarter]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("invalid --min-recognized"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn a_toml_file_given_as_a_log_and_a_rules_file_that_sets_nothing_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("upcause.toml");
    std::fs::write(&rules, "[max]\nany = 0\n").unwrap();
    let log = p(&fixture("nginx/upstream_timeout.log"));
    let out = run(&["check", &p(&rules), &log]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}: a TOML file given as a log", p(&rules))),
        "{err}"
    );
    assert!(
        err.contains(&format!("upcause check --rules {} PATH...", p(&rules))),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "# nothing yet\n").unwrap();
    let out = run(&["check", "--rules", &p(&empty), &log]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sets no rule"), "{}", stderr(&out));
    // The usage line and the help teach the syntax.
    let out = run(&["check", "--help"]);
    let help = stdout(&out);
    assert!(
        help.contains("upcause check --rules FILE [OPTIONS] [PATH]..."),
        "{help}"
    );
    assert!(help.contains("--min-recognized"), "{help}");
    let out = run(&["check", "--bogus"]);
    assert!(
        stderr(&out).contains("upcause check --rules FILE"),
        "{}",
        stderr(&out)
    );
}

// ------------------------------------------------------------ filters

#[test]
fn filters_are_in_the_report_with_what_they_left_out() {
    let log = p(&fixture("nginx/mixed.log"));
    let all = json(&run(&["analyze", "--format", "json", &log]));
    let total = all["total_failures"].as_u64().unwrap();
    assert_eq!(all["excluded_failures"], 0);
    assert_eq!(
        all["filters"],
        serde_json::json!({"since": null, "until": null, "causes": [], "upstream": null})
    );
    let out = run(&[
        "analyze",
        "--format",
        "json",
        "--cause",
        "upstream_timeout",
        &log,
    ]);
    let r = json(&out);
    let kept = r["total_failures"].as_u64().unwrap();
    assert!(kept > 0 && kept < total, "{kept} of {total}");
    assert_eq!(r["excluded_failures"].as_u64().unwrap(), total - kept);
    assert_eq!(r["files"][0]["excluded_failures"], r["excluded_failures"]);
    assert_eq!(
        r["filters"]["causes"],
        serde_json::json!(["upstream_timeout"])
    );
    // Text: the filters and what they hid, in the summary line.
    let text = stdout(&run(&["analyze", "--cause", "upstream_timeout", &log]));
    let first = text.lines().next().unwrap();
    assert!(
        first.contains(&format!(
            "--cause upstream_timeout: {} failed requests outside the filters not shown",
            total - kept
        )),
        "{first}"
    );
    // A time filter that leaves nothing says so, not "no failures found".
    let out = run(&["analyze", "--since", "2030-01-01", &log]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "The filters left no upstream failure: --since 2030-01-01 00:00: {total} failed requests outside the filters not shown"
        )),
        "{text}"
    );
    assert!(!text.contains("No upstream failures found"), "{text}");
    let r = json(&run(&[
        "analyze",
        "-f",
        "json",
        "--since",
        "2030-01-01",
        &log,
    ]));
    assert_eq!(r["filters"]["since"], "2030-01-01T00:00:00");
    assert_eq!(r["excluded_failures"].as_u64(), Some(total));
    assert_eq!(r["total_failures"], 0);
}

// ------------------------------------------------------------ merge, baseline

fn save(dir: &Path, name: &str, args: &[&str]) -> String {
    let mut a = vec!["analyze", "--format", "json"];
    a.extend_from_slice(args);
    a.push("");
    let log = p(&fixture("nginx/mixed.log"));
    *a.last_mut().unwrap() = &log;
    let out = run(&a);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.join(name);
    std::fs::write(&path, &out.stdout).unwrap();
    p(&path)
}

#[test]
fn merge_takes_the_coarser_window_whatever_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let one = save(dir.path(), "1m.json", &["--window", "1m"]);
    let five = save(dir.path(), "5m.json", &["--window", "5m"]);
    for pair in [[&one, &five], [&five, &one]] {
        let out = run(&["merge", "--format", "json", pair[0], pair[1]]);
        assert_eq!(out.status.code(), Some(0));
        let r = json(&out);
        assert_eq!(r["window"], "5m", "{pair:?}");
        assert_eq!(r["window_seconds"], 300);
    }
}

#[test]
fn merge_refuses_reports_with_other_filters_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let all = save(dir.path(), "all.json", &[]);
    let timeouts = save(dir.path(), "t.json", &["--cause", "upstream_timeout"]);
    let out = run(&["merge", "--format", "json", &all, &timeouts]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "upcause: {timeouts}: counted with other filters (--cause upstream_timeout) than {all} (none)"
        )),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    let out = run(&["merge", "--force", "--format", "json", &all, &timeouts]);
    assert_eq!(out.status.code(), Some(0));
    let r = json(&out);
    assert_eq!(r["filters"]["mixed"], true);
    assert!(
        stderr(&out).contains("different filters"),
        "{}",
        stderr(&out)
    );
    // Same filters merge, and keep them.
    let again = save(dir.path(), "t2.json", &["--cause", "upstream_timeout"]);
    let r = json(&run(&["merge", "--format", "json", &timeouts, &again]));
    assert_eq!(
        r["filters"]["causes"],
        serde_json::json!(["upstream_timeout"])
    );
    assert_eq!(r["filters"].get("mixed"), None);
}

#[test]
fn baseline_counted_with_other_filters_or_window_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = p(&fixture("nginx/mixed.log"));
    let cases = [
        (
            save(dir.path(), "c.json", &["--cause", "upstream_timeout"]),
            vec![],
            "its filters are --cause upstream_timeout, this check's none",
        ),
        (
            save(dir.path(), "w.json", &["--window", "5m"]),
            vec![],
            "it was made with --window 5m, this check uses --window 1m",
        ),
        (
            save(dir.path(), "s.json", &[]),
            vec!["--since", "2026-01-01"],
            "its time range was bounded by none, this check's by --since",
        ),
    ];
    for (base, extra, why) in &cases {
        let mut a = vec!["check", "--baseline", base.as_str()];
        a.extend(extra.iter().copied());
        a.push(&log);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(2), "{why}");
        assert!(out.stdout.is_empty());
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "upcause: {base}: a baseline counted differently: {why}"
            )),
            "{err}"
        );
    }
    // The same window and filters are fine.
    let base = save(dir.path(), "ok.json", &["--window", "5m"]);
    let out = run(&["check", "--window", "5m", "--baseline", &base, &log]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

// ------------------------------------------------------------ the catalog

#[test]
fn causes_prints_one_entry_and_suggests_the_nearest_id() {
    let out = run(&["causes", "upstream_timeout"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("upstream_timeout  "), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .count(),
        1,
        "{text}"
    );
    assert!(text.contains("proxy_read_timeout"), "{text}");
    let out = run(&["causes", "--format", "json", "upstream_timeout"]);
    let v = json(&out);
    assert_eq!(v["cause"], "upstream_timeout");
    for typo in [
        "upstream_timout",
        "upstream-timeout",
        "UPSTREAM_TIMEOUT",
        "upstream_timeot",
    ] {
        let out = run(&["causes", typo]);
        assert_eq!(out.status.code(), Some(2), "{typo}");
        assert!(out.stdout.is_empty());
        let err = stderr(&out);
        assert!(
            err.contains("did you mean upstream_timeout?"),
            "{typo}: {err}"
        );
    }
    let err = stderr(&run(&["causes", "timeout"]));
    assert!(err.contains("did you mean one of "), "{err}");
    assert!(err.contains("upstream_timeout"), "{err}");
    // The same suggestion wherever a cause id is given.
    let err = stderr(&run(&["analyze", "--cause", "upstrem_refused", "-"]));
    assert!(err.contains("did you mean upstream_refused?"), "{err}");
    let err = stderr(&run(&["check", "--forbid", "tls_verfy", "-"]));
    assert!(err.contains("did you mean tls_verify?"), "{err}");
}

/// `causes --format json` calls the per-server fixes `fixes`, as a report
/// does, with the same fields and words.
#[test]
fn causes_json_uses_the_report_names() {
    let catalog = json(&run(&["causes", "--format", "json"]));
    let report = json(&run(&[
        "analyze",
        "--format",
        "json",
        &p(&fixture("nginx/upstream_timeout.log")),
    ]));
    let c = &report["causes"][0];
    let entry = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["cause"] == c["cause"])
        .unwrap();
    assert_eq!(entry["fixes"], c["fixes"]);
    assert_eq!(entry.get("fix"), None, "{entry:#}");
    assert_eq!(entry["title"], c["title"]);
    assert_eq!(entry["meaning"], c["meaning"]);
    assert_eq!(entry["status_by_server"]["nginx"], 504);
    for e in catalog.as_array().unwrap() {
        assert!(
            e["fixes"]["nginx"].as_str().is_some_and(|s| !s.is_empty()),
            "{e:#}"
        );
        assert!(
            e["fix_short"].as_str().is_some_and(|s| !s.is_empty()),
            "{e:#}"
        );
    }
}

// ------------------------------------------------------------ messages

/// One style everywhere: `upcause: PATH: reason`, lower case, without the
/// OS's "(os error N)".
#[test]
fn error_messages_have_one_style_across_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let gone = p(&dir.path().join("gone.json"));
    let want = format!("upcause: {gone}: no such file or directory\n");
    let analyze = run(&["analyze", "--format", "json", &gone]);
    let merge = run(&["merge", &gone]);
    assert_eq!(analyze.status.code(), Some(2));
    assert_eq!(merge.status.code(), Some(2));
    assert_eq!(stderr(&analyze), want);
    assert!(stderr(&merge).starts_with(&want), "{}", stderr(&merge));
    let check = run(&["check", "--baseline", &gone, "-"]);
    assert_eq!(
        stderr(&check),
        format!("upcause: {gone}: cannot read baseline: no such file or directory\n")
    );
    // A directory read as a report.
    let merge = run(&["merge", &p(dir.path())]);
    let err = stderr(&merge);
    assert!(
        err.starts_with(&format!("upcause: {}: is a directory", p(dir.path()))),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
    for out in [&analyze, &merge, &check] {
        assert!(!stderr(out).contains("os error"));
    }
}

/// On a terminal the text report names the inputs it could not read, and
/// stderr does not say it a second time. (Needs `script` from util-linux
/// for a terminal; skipped without it.)
#[test]
fn a_directory_without_error_logs_is_told_once_on_a_terminal() {
    let Ok(s) = Command::new("script").arg("--version").output() else {
        eprintln!("no `script`: skipped");
        return;
    };
    if !s.status.success() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("access.log"), b"x\n").unwrap();
    let cmd = format!(
        "{} analyze --color never {}",
        env!("CARGO_BIN_EXE_upcause"),
        p(dir.path())
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let seen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert_eq!(
        seen.matches("directory holds no error logs").count(),
        1,
        "{seen}"
    );
    assert!(seen.starts_with("Nothing could be read"), "{seen}");
    // Off a terminal, stderr names it (the report may be going to a file).
    let out = run(&["analyze", &p(dir.path())]);
    assert_eq!(
        stderr(&out)
            .matches("directory holds no error logs")
            .count(),
        1
    );
    assert_eq!(
        stdout(&out)
            .matches("directory holds no error logs")
            .count(),
        1
    );
}

// ------------------------------------------------------------ build

#[test]
fn the_release_binary_ships_without_debug_info_and_profiling_keeps_it() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let profile = &manifest["profile"];
    let release = &profile["release"];
    assert_eq!(release["debug"].as_bool(), Some(false));
    assert_eq!(release["strip"].as_bool(), Some(true));
    let profiling = &profile["profiling"];
    assert_eq!(profiling["inherits"].as_str(), Some("release"));
    assert_ne!(profiling["debug"].as_bool(), Some(false));
    assert_eq!(profiling["strip"].as_bool(), Some(false));
}

#[test]
fn each_subcommand_help_lists_the_exit_codes_it_returns() {
    let help = |sub: &str| stdout(&run(&[sub, "--help"]));
    let analyze = help("analyze");
    let codes = analyze.split("Exit status:").nth(1).unwrap();
    assert!(codes.contains("  0  analyzed"), "{analyze}");
    assert!(codes.contains("  2  usage error"), "{analyze}");
    assert!(
        !codes.contains("  1  "),
        "analyze never exits 1:\n{analyze}"
    );
    assert!(help("check").contains("  1  a rule failed"));
    assert!(help("merge").contains("without --force"));
    assert!(help("causes").contains("unknown cause id"));
    assert!(help("follow").contains("stopped by Ctrl-C"));
    let top = stdout(&run(&["--help"]));
    for sub in ["analyze", "check", "follow", "merge", "causes"] {
        assert!(top.contains(&format!("\n  {sub:<8} 0 ")), "{sub}:\n{top}");
    }
}

#[test]
fn metrics_address_forms_are_accepted_and_bad_ones_refused() {
    let log = p(&fixture("nginx/upstream_timeout.log"));
    let out = run(&["follow", "--metrics", "localhost:x", &log]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("upcause: invalid --metrics 'localhost:x': use a port (`:9502`"),
        "{err}"
    );
}
