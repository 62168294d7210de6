//! Rendering a [`Verdict`] of `upcause check`: text for people, JSON for
//! machines, JUnit XML for CI test views, GitHub Actions annotations.
//!
//! Every string that came from a log (upstreams, file names, example
//! lines) goes through [`crate::bytes::escape`] first, so no format can be
//! broken or spoofed by log bytes; each format then applies its own
//! escaping on top (XML entities, GitHub's `%XX` command encoding).

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::check::{InputError, InputErrorKind, RuleKind, RuleResult, Verdict};
use crate::report::{ExampleLine, Report};

use crate::bytes::escape;

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateFormat {
    /// One line per rule.
    Text,
    /// `{"passed", "rules", "input_errors", "report"}`.
    Json,
    /// JUnit XML: one test case per rule.
    Junit,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
}

/// Writes the verdict in `format`.
pub fn render(
    verdict: &Verdict,
    report: &Report,
    format: GateFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        GateFormat::Text => text(verdict, report, out),
        GateFormat::Json => json(verdict, report, out),
        GateFormat::Junit => junit(verdict, out),
        GateFormat::Github => github(verdict, report, out),
    }
}

/// `file:line` of an example.
fn place(e: &ExampleLine) -> String {
    format!("{}:{}", escape(&e.file), e.line)
}

/// The one-line summary shared by text and GitHub output.
fn summary(verdict: &Verdict, report: &Report) -> String {
    let failed = verdict.failed().count();
    let total = verdict.rules.len();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut s = if failed == 0 {
        format!("{} passed", plural(total, "rule", "rules"))
    } else {
        format!("{failed} of {} failed", plural(total, "rule", "rules"))
    };
    let _ = write!(
        s,
        " ({} in {})",
        plural(
            report.total_failures as usize,
            "failed request",
            "failed requests"
        ),
        plural(report.causes.len(), "cause", "causes")
    );
    let count = |kind: InputErrorKind| {
        verdict
            .input_errors
            .iter()
            .filter(|e| e.kind == kind)
            .count()
    };
    let unreadable = count(InputErrorKind::Unreadable);
    if unreadable > 0 {
        let _ = write!(
            s,
            "; {} could not be read",
            plural(unreadable, "input", "inputs")
        );
    }
    let unrecognized = count(InputErrorKind::Unrecognized);
    if unrecognized > 0 {
        let _ = write!(
            s,
            "; {} not recognized as an error log",
            plural(unrecognized, "input", "inputs")
        );
    }
    s
}

// ------------------------------------------------------------------ text

fn text(verdict: &Verdict, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<String> = verdict
        .rules
        .iter()
        .map(|r| escape(&r.rule).into_owned())
        .collect();
    let width = rules.iter().map(|r| r.chars().count()).max().unwrap_or(0);
    for (r, name) in verdict.rules.iter().zip(&rules) {
        let verdict = if r.passed { "PASS" } else { "FAIL" };
        let mut line = if r.kind == RuleKind::MaxRate {
            format!("{verdict}  {name:<width$}  {}", r.describe())
        } else {
            format!(
                "{verdict}  {name:<width$}  actual {}, limit {}",
                r.actual, r.limit
            )
        };
        if r.kind == RuleKind::BaselineNew && r.target.is_some() {
            line.push_str(" (not in baseline)");
        }
        if !r.passed
            && let Some(e) = r.examples.first()
        {
            let _ = write!(line, ", first at {}", place(e));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    for e in &verdict.input_errors {
        writeln!(out, "ERROR input {}: {}", escape(&e.path), escape(&e.error))?;
    }
    writeln!(
        out,
        "upcause check: {}, {}",
        if verdict.passed { "PASS" } else { "FAIL" },
        summary(verdict, report)
    )
}

// ------------------------------------------------------------------ json

#[derive(Serialize)]
struct JsonVerdict<'a> {
    passed: bool,
    rules: &'a [RuleResult],
    input_errors: &'a [InputError],
    report: &'a Report,
}

fn json(verdict: &Verdict, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let v = JsonVerdict {
        passed: verdict.passed,
        rules: &verdict.rules,
        input_errors: &verdict.input_errors,
        report,
    };
    super::json::write(&v, out)
}

// ------------------------------------------------------------------ junit

/// Escapes text for XML 1.0 content and attribute values alike: the five
/// markup characters as entities, tab and line breaks as character
/// references (so attributes keep them), and characters XML 1.0 cannot hold
/// at all (other C0 controls, U+FFFE, U+FFFF) as visible `\u{..}` text.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// One line per example: `file:line: text`.
fn example_lines(r: &RuleResult) -> String {
    r.examples
        .iter()
        .map(|e| format!("{}: {}", place(e), escape(&e.text)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The failure message: what was found, and where first.
fn message(r: &RuleResult) -> String {
    let mut m = escape(&r.describe()).into_owned();
    if let Some(e) = r.examples.first() {
        let _ = write!(m, "; first at {}", place(e));
    }
    m
}

fn kind_name(k: RuleKind) -> &'static str {
    match k {
        RuleKind::Max => "max",
        RuleKind::Forbid => "forbid",
        RuleKind::MaxPerUpstream => "max_per_upstream",
        RuleKind::BaselineNew => "baseline_new",
        RuleKind::BaselineGrowth => "baseline_growth",
        RuleKind::MaxIncidents => "max_incidents",
        RuleKind::MaxIncidentSeconds => "max_incident_seconds",
        RuleKind::MaxRate => "max_rate",
        RuleKind::MaxLintFindings => "max_lint_findings",
    }
}

fn junit(verdict: &Verdict, out: &mut dyn Write) -> io::Result<()> {
    let tests = verdict.rules.len() + verdict.input_errors.len();
    let failures = verdict.failed().count();
    let errors = verdict.input_errors.len();
    let counts = format!(r#"tests="{tests}" failures="{failures}" errors="{errors}""#);
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, r#"<testsuites name="upcause" {counts}>"#);
    let _ = writeln!(
        x,
        r#"  <testsuite name="upcause check" {counts} skipped="0" time="0">"#
    );
    for r in &verdict.rules {
        let _ = write!(
            x,
            r#"    <testcase name="{}" classname="upcause.check.{}" time="0""#,
            xml_escape(&escape(&r.rule)),
            kind_name(r.kind)
        );
        if r.passed {
            x.push_str("/>\n");
        } else {
            let _ = writeln!(
                x,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                xml_escape(&message(r)),
                kind_name(r.kind),
                xml_escape(&example_lines(r))
            );
        }
    }
    for e in &verdict.input_errors {
        let msg = format!("{}: {}", escape(&e.path), escape(&e.error));
        let (verb, kind) = match e.kind {
            InputErrorKind::Unreadable => ("read", "input"),
            InputErrorKind::Unrecognized => ("recognize", "unrecognized_input"),
        };
        let _ = writeln!(
            x,
            "    <testcase name=\"{}\" classname=\"upcause.check.input\" time=\"0\">\n      <error message=\"{}\" type=\"{kind}\"/>\n    </testcase>",
            xml_escape(&format!("{verb} {}", escape(&e.path))),
            xml_escape(&msg)
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    out.write_all(x.as_bytes())
}

// ------------------------------------------------------------------ github

/// Escapes a workflow command's message: `%`, CR and LF.
pub fn gh_message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as a message, plus `:`
/// and `,`, which would end the value.
pub fn gh_property(s: &str) -> String {
    gh_message(s).replace(':', "%3A").replace(',', "%2C")
}

fn github(verdict: &Verdict, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for r in verdict.failed() {
        let title = gh_property(&format!("upcause {}", escape(&r.rule)));
        let what = escape(&r.describe()).into_owned();
        if r.examples.is_empty() {
            writeln!(out, "::error title={title}::{}", gh_message(&what))?;
        }
        for e in &r.examples {
            let msg = format!("{what}\n{}: {}", place(e), escape(&e.text));
            // stdin has no file to point at.
            let file = if e.file == "-" {
                String::new()
            } else {
                format!("file={},line={},", gh_property(&escape(&e.file)), e.line)
            };
            writeln!(out, "::error {file}title={title}::{}", gh_message(&msg))?;
        }
    }
    for e in &verdict.input_errors {
        // stdin has no file to point at.
        let file = if e.path == "-" {
            String::new()
        } else {
            format!("file={},", gh_property(&escape(&e.path)))
        };
        writeln!(
            out,
            "::error {file}title=upcause input::{}",
            gh_message(&format!("{}: {}", escape(&e.path), escape(&e.error)))
        )?;
    }
    if verdict.passed {
        writeln!(
            out,
            "::notice::{}",
            gh_message(&format!(
                "upcause check: PASS, {}",
                summary(verdict, report)
            ))
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping() {
        assert_eq!(
            xml_escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(xml_escape("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
        assert_eq!(
            xml_escape("\0\x1b\u{fffe}é"),
            "\\u{0000}\\u{001b}\\u{fffe}é"
        );
        assert_eq!(xml_escape("]]>"), "]]&gt;");
    }

    #[test]
    fn github_escaping() {
        assert_eq!(gh_message("50% a:b,c\r\nd"), "50%25 a:b,c%0D%0Ad");
        assert_eq!(gh_property("http://h:80,x%\n"), "http%3A//h%3A80%2Cx%25%0A");
    }
}
