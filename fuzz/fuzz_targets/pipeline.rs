//! Bytes in, full report out: source sniffing (gzip), line reader, parse,
//! classify, correlate, aggregate, report, text and JSON.
//!
//! Properties checked beyond "no panic":
//! - the JSON report parses back and its line counts add up;
//! - for plain (non-gzip) input, `lines.total` is the number of lines of
//!   `split(b'\n')` (no empty last element after a final newline);
//! - the text report holds no control, bidi or invisible format character
//!   except '\n' (everything from the log is escaped);
//! - the HTML page holds none either, no `<` of the log's (exactly two
//!   `<script`), and its JSON block reads back as the JSON report.
#![no_main]

use std::io::Write;
use std::sync::LazyLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use upcause::internals::{AnalyzeConfig, Cli, Command, build_report, html, json, text};

/// One scratch directory per fuzzing process; the input file in it (its
/// name has bytes that must be escaped in text output) is rewritten for
/// every run. `build_report` takes paths, not readers (see README.md).
static INPUT: LazyLock<(tempfile::TempDir, std::path::PathBuf)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in\u{1b}[2J\u{202e}put.log");
    (dir, path)
});

/// What must never reach a terminal raw: controls (but the newlines that
/// end output lines), bidi controls, invisible format characters, line
/// and paragraph separators, tag characters.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c,
            '\u{ad}' | '\u{61c}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

fuzz_target!(|data: &[u8]| {
    let path = &INPUT.1;
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(data))
        .expect("scratch file");
    // The window from the length, so seeds stay plain log files; two
    // threads so the in-order merge of parallel scans is exercised.
    let window = ["1s", "1m", "5m", "1d"][data.len() % 4];
    let args = ["upcause", "analyze", "--window", window, "--threads", "2"];
    let cli = Cli::try_parse_from(
        args.iter()
            .map(|s| s.to_string())
            .chain([path.display().to_string()]),
    )
    .expect("valid command line");
    let Command::Analyze(args) = cli.command else {
        unreachable!()
    };
    let cfg = AnalyzeConfig::from_args(args).expect("valid config");
    let report = build_report(&cfg, &mut |_| {});

    let mut out = Vec::new();
    json::render(&report, &mut out).expect("json renders");
    let v: Value = serde_json::from_slice(&out).expect("JSON report parses");
    let l = &v["lines"];
    let n = |k: &str| l[k].as_u64().unwrap();
    let recognized: u64 = ["nginx", "apache", "php-fpm"]
        .iter()
        .map(|s| l["recognized"][s].as_u64().unwrap())
        .sum();
    assert_eq!(
        n("unrecognized") + n("blank") + n("continuation") + n("oversized") + recognized,
        n("total"),
        "every line is accounted for: {l}"
    );
    assert!(n("matched") <= n("total"));
    let total_failures: u64 = report.causes.iter().map(|c| c.count).sum();
    assert_eq!(total_failures, report.total_failures);
    for c in &report.causes {
        assert!(c.attempts >= c.count);
        // Failures without a time (bare Apache lines) have no window.
        assert!(c.timeline.iter().map(|p| p.count).sum::<u64>() <= c.count);
        assert!(c.timeline.windows(2).all(|w| w[0].start < w[1].start));
        assert!(c.first_seen <= c.last_seen);
    }
    if !data.starts_with(&[0x1f, 0x8b]) {
        let lines = data.split(|&b| b == b'\n').count() as u64
            - u64::from(data.is_empty() || data.ends_with(b"\n"));
        assert_eq!(n("total"), lines);
        assert_eq!(report.files[0].error, None);
    }

    out.clear();
    let opts = text::TextOptions {
        color: false,
        top: 5,
        width: Some(80),
        ascii: false,
    };
    text::render(&report, opts, &mut out).expect("text renders");
    let s = String::from_utf8(out).expect("text output is UTF-8");
    if let Some(c) = s.chars().find(|&c| unsafe_char(c)) {
        panic!("raw {c:?} in text output:\n{s}");
    }

    let mut out = Vec::new();
    html::render(&report, &mut out).expect("html renders");
    let page = String::from_utf8(out).expect("the page is UTF-8");
    if let Some(c) = page.chars().find(|&c| unsafe_char(c)) {
        panic!("raw {c:?} in the page");
    }
    assert_eq!(page.to_ascii_lowercase().matches("<script").count(), 2);
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let at = page.find(open).expect("the data block") + open.len();
    let end = at + page[at..].find("</script>").expect("its end");
    let embedded: Value = serde_json::from_str(&page[at..end]).expect("the block is JSON");
    let whole: Value = serde_json::to_value(&report).expect("the report is JSON");
    if embedded.get("trimmed").is_none() {
        assert_eq!(embedded, whole);
    }
});
