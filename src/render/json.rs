//! The JSON contract: the serde form of [`Report`], pretty-printed.
//!
//! serde_json escapes control characters, and the report holds lossy UTF-8
//! already, so the output is valid JSON whatever bytes the logs held.

use std::io::{self, Write};

use crate::report::Report;

/// Writes the report as JSON followed by a newline.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
