//! `upcause lint`: one line per finding (text), an object (JSON), and the
//! CI formats of `check`: JUnit XML (one test case per finding) and GitHub
//! Actions annotations on the configuration files.

use std::io::{self, Write};

use crate::bytes::escape;
use crate::render::gate::{GateFormat, gh_message, gh_property, xml_escape};
use crate::serverconf::lint::{self, Finding, Severity};

/// Writes the findings in `format`.
pub fn render(findings: &[Finding], format: GateFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        GateFormat::Text => text(findings, out),
        GateFormat::Json => json(findings, out),
        GateFormat::Junit => junit(findings, out),
        GateFormat::Github => github(findings, out),
    }
}

fn level(f: &Finding) -> &'static str {
    match f.severity {
        Severity::Error => "error",
        Severity::Note => "note",
    }
}

/// `3 errors, 1 note`, or `no configuration mistake found`.
fn summary(findings: &[Finding]) -> String {
    let errors = lint::errors(findings);
    let notes = findings.len() - errors;
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match (errors, notes) {
        (0, 0) => "no configuration mistake found".to_string(),
        (0, n) => format!("no configuration mistake found, {}", plural(n, "note")),
        (e, 0) => plural(e, "error"),
        (e, n) => format!("{}, {}", plural(e, "error"), plural(n, "note")),
    }
}

/// `file:line: error: cause: message`, then a count.
fn text(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    for f in findings {
        writeln!(
            out,
            "{}: {}: {}: {}",
            escape(&f.at),
            level(f),
            f.cause,
            escape(&f.message)
        )?;
    }
    writeln!(out, "{}", summary(findings))
}

/// `{"findings": [{cause, severity, at, message}], "count": N, "errors": E}`.
fn json(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    let v = serde_json::json!({
        "findings": findings,
        "count": findings.len(),
        "errors": lint::errors(findings),
    });
    serde_json::to_writer_pretty(&mut *out, &v).map_err(io::Error::from)?;
    writeln!(out)
}

/// One test suite, one test case per finding (an error fails, a note is
/// a passing case with its message as output); without findings, one
/// passing case.
fn junit(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    let errors = lint::errors(findings);
    let tests = findings.len().max(1);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="upcause lint" tests="{tests}" failures="{errors}">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="upcause lint" tests="{tests}" failures="{errors}">"#
    )?;
    if findings.is_empty() {
        writeln!(
            out,
            r#"    <testcase classname="upcause.lint" name="configuration"/>"#
        )?;
    }
    for f in findings {
        let name = xml_escape(&escape(&format!("{} {}", f.cause, f.at)));
        let message = xml_escape(&escape(&f.message));
        writeln!(
            out,
            r#"    <testcase classname="upcause.lint" name="{name}">"#
        )?;
        match f.severity {
            Severity::Error => writeln!(
                out,
                r#"      <failure message="{message}" type="{}">{}: {message}</failure>"#,
                f.cause,
                xml_escape(&escape(&f.at))
            )?,
            Severity::Note => writeln!(out, r#"      <system-out>{message}</system-out>"#)?,
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

/// `::error file=F,line=L,title=upcause lint: CAUSE::MESSAGE` per finding
/// (`::notice` for a note), then the summary as a notice.
fn github(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    for f in findings {
        let (file, line) = f.place();
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Note => "notice",
        };
        writeln!(
            out,
            "::{command} file={},line={line},title={}::{}",
            gh_property(&escape(file)),
            gh_property(&format!("upcause lint: {}", f.cause)),
            gh_message(&escape(&f.message))
        )?;
    }
    writeln!(
        out,
        "::notice title=upcause lint::{}",
        gh_message(&summary(findings))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings() -> Vec<Finding> {
        vec![
            Finding {
                cause: "socket_missing",
                severity: Severity::Error,
                at: "/etc/nginx/site.conf:4".into(),
                message: "fastcgi_pass unix:/a.sock names a socket <none> & listens".into(),
            },
            Finding {
                cause: "upstream_refused",
                severity: Severity::Note,
                at: "/etc/nginx/nginx.conf:9".into(),
                message: "upstream api has one server, 100%".into(),
            },
        ]
    }

    fn render_to(format: GateFormat, f: &[Finding]) -> String {
        let mut out = Vec::new();
        render(f, format, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_and_json_count_errors_and_notes() {
        let t = render_to(GateFormat::Text, &findings());
        assert!(t.starts_with("/etc/nginx/site.conf:4: error: socket_missing: fastcgi_pass"));
        assert!(t.ends_with("1 error, 1 note\n"), "{t}");
        let j: serde_json::Value =
            serde_json::from_str(&render_to(GateFormat::Json, &findings())).unwrap();
        assert_eq!(
            (j["count"].as_u64(), j["errors"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(j["findings"][1]["severity"], "note");
        assert_eq!(
            render_to(GateFormat::Text, &[]),
            "no configuration mistake found\n"
        );
    }

    #[test]
    fn junit_fails_on_errors_only_and_escapes() {
        let x = render_to(GateFormat::Junit, &findings());
        assert!(x.contains(r#"tests="2" failures="1""#), "{x}");
        assert!(x.contains("socket &lt;none&gt; &amp; listens"), "{x}");
        assert!(x.contains("<system-out>upstream api has one server, 100%</system-out>"));
        let x = render_to(GateFormat::Junit, &[]);
        assert!(x.contains(r#"name="configuration"/>"#), "{x}");
    }

    #[test]
    fn github_annotates_the_configuration_files() {
        let g = render_to(GateFormat::Github, &findings());
        let lines: Vec<&str> = g.lines().collect();
        assert!(
            lines[0].starts_with(
                "::error file=/etc/nginx/site.conf,line=4,title=upcause lint%3A socket_missing::"
            ),
            "{g}"
        );
        assert!(
            lines[1].starts_with("::notice file=/etc/nginx/nginx.conf,line=9,"),
            "{g}"
        );
        assert!(lines[1].ends_with("100%25"), "{g}");
        assert_eq!(lines[2], "::notice title=upcause lint::1 error, 1 note");
    }
}
