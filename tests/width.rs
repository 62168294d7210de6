//! The text report fits the width it is given: every line at 60, 80 and
//! 200 columns, the table's rows unbroken at 80, long keys cut with an
//! ellipsis, the example line wrapped under its label.

mod common;

use common::root;
use std::path::PathBuf;
use std::process::Command;

/// Every fixture of every server: 21 causes, long upstreams (unix
/// sockets), long routes and example lines.
fn all_fixtures() -> Vec<String> {
    let mut v = Vec::new();
    for dir in ["nginx", "apache", "php-fpm"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        files.sort();
        v.extend(files.iter().map(|p| p.display().to_string()));
    }
    v
}

fn text(extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_upcause"))
        .arg("analyze")
        .args(["--color", "never"])
        .args(extra)
        .args(all_fixtures())
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

/// Display columns: every character the report prints takes one (log text
/// is escaped; the marks and the ellipsis are narrow).
fn width(line: &str) -> usize {
    line.chars().count()
}

#[test]
fn every_line_fits_at_60_80_and_200_columns() {
    for w in [60usize, 80, 200] {
        let report = text(&["--width", &w.to_string()]);
        assert!(report.lines().count() > 100, "{report}");
        for line in report.lines() {
            assert!(
                width(line) <= w,
                "{w} columns: {} wide:\n{line}",
                width(line)
            );
        }
    }
    // Without a width (not a terminal), lines are as long as they come.
    let unbounded = text(&[]);
    assert!(unbounded.lines().any(|l| width(l) > 200));
}

#[test]
fn at_80_columns_table_rows_are_whole_and_cut_with_an_ellipsis() {
    let report = text(&["--width", "80"]);
    let lines: Vec<&str> = report.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#  REQUESTS"))
        .unwrap();
    let rows: Vec<&str> = lines[head + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    assert_eq!(rows.len(), 21, "{report}");
    for (i, row) in rows.iter().enumerate() {
        // One row per cause, numbered in order: none broken over two lines.
        assert!(
            row.trim_start().starts_with(&format!("{} ", i + 1)),
            "{row}"
        );
        assert!(width(row) <= 80);
    }
    // The socket paths are longer than the column: cut, with an ellipsis.
    assert!(
        rows.iter()
            .any(|r| r.contains("unix:/tmp/") && r.ends_with('…')),
        "{report}"
    );
    // At 200 columns nothing in the table is cut and the fixes are shown.
    let wide = text(&["--width", "200"]);
    assert!(wide.contains("  FIX"));
    let head = wide
        .lines()
        .find(|l| l.trim_start().starts_with("#  REQUESTS"))
        .unwrap();
    assert!(head.ends_with("FIX"), "{head}");
}

#[test]
fn the_example_wraps_under_its_label() {
    let report = text(&["--width", "60"]);
    let lines: Vec<&str> = report.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("   example   "))
        .unwrap();
    // The log line follows on lines of its own, all under the label's
    // value column, and together they are the line.
    let pieces: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| l.starts_with("             ") && !l.trim().is_empty())
        .copied()
        .collect();
    assert!(pieces.len() >= 3, "{:#?}", &lines[at..at + 6]);
    let joined: String = pieces.iter().map(|p| &p[13..]).collect();
    assert!(joined.starts_with("2026/11/"), "{joined}");
    assert!(
        joined.contains("while connecting to upstream") || joined.contains("upstream"),
        "{joined}"
    );
}

#[test]
fn sparklines_draw_empty_windows_as_dots_and_say_what_a_full_block_is() {
    let report = text(&[]);
    let timelines: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("   timeline  "))
        .collect();
    assert!(!timelines.is_empty());
    for t in &timelines {
        let marks: String = t[13..].split("  ").next().unwrap().to_string();
        assert!(marks.chars().all(|c| "·▁▂▃▄▅▆▇█".contains(c)), "{t}");
        assert!(marks.contains('█'), "{t}");
        assert!(t.contains(" per mark, █ = "), "{t}");
    }
    assert!(timelines.iter().any(|t| t.contains('·')), "{timelines:#?}");
}

#[test]
fn top_0_lists_every_upstream_and_route() {
    let one = text(&["--top", "1"]);
    let all = text(&["--top", "0"]);
    let more = |t: &str| {
        t.lines()
            .filter(|l| l.trim_end().ends_with(" more"))
            .count()
    };
    assert!(more(&one) > 0, "{one}");
    assert_eq!(more(&all), 0, "{all}");
    // Every upstream of the first cause is listed: the five of it.
    let line = all
        .lines()
        .find(|l| l.starts_with("   upstreams "))
        .unwrap();
    assert!(line.contains("http://127.0.0.1:18111 (240)"), "{line}");
    assert!(all.contains("http://127.0.0.1:18191 (2)"), "{all}");
}

/// The README's example is what the binary prints.
#[test]
fn readme_example_is_the_real_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let cmd = "$ upcause analyze --width 100 fixtures/nginx/mixed.log\n";
    let at = readme.find(cmd).expect("README shows the example") + cmd.len();
    let shown = &readme[at..at + readme[at..].find("```").unwrap()];
    let out = Command::new(env!("CARGO_BIN_EXE_upcause"))
        .current_dir(root())
        .args(["analyze", "--width", "100", "fixtures/nginx/mixed.log"])
        .output()
        .unwrap();
    assert_eq!(shown, String::from_utf8(out.stdout).unwrap());
}

/// `--ascii`: the histogram, the sparklines and the cuts in ASCII; only
/// log text may hold anything else (the mixed fixture holds none).
#[test]
fn ascii_draws_the_pictures_in_ascii() {
    let out = Command::new(env!("CARGO_BIN_EXE_upcause"))
        .current_dir(root())
        .args([
            "analyze",
            "--ascii",
            "--width",
            "100",
            "fixtures/nginx/mixed.log",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("   107 |        ########\n"), "{text}");
    assert!(
        text.contains("       ++-------+-------+-------\n"),
        "{text}"
    );
    assert!(
        text.contains("   timeline  _#.  09:37 .. 09:39, 1m per mark, # = 98\n"),
        "{text}"
    );
    assert!(text.contains("start the backend / fix it~\n"), "{text}");
}
