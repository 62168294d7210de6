//! `upcause lint`: one line per finding (text) or an array (JSON).

use std::io::{self, Write};

use crate::bytes::escape;
use crate::serverconf::lint::Finding;

/// `file:line: cause: message`, then a count.
pub fn text(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    for f in findings {
        writeln!(
            out,
            "{}: {}: {}",
            escape(&f.at),
            f.cause,
            escape(&f.message)
        )?;
    }
    match findings.len() {
        0 => writeln!(out, "no configuration mistake found"),
        1 => writeln!(out, "1 finding"),
        n => writeln!(out, "{n} findings"),
    }
}

/// `{"findings": [{cause, at, message}], "count": N}`.
pub fn json(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    let v = serde_json::json!({ "findings": findings, "count": findings.len() });
    serde_json::to_writer_pretty(&mut *out, &v).map_err(io::Error::from)?;
    writeln!(out)
}
