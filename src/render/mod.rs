//! Rendering: one dispatch ([`render`]) for everything printed on stdout, a
//! finished report, a verdict or the catalog; text for people, JSON for
//! machines.
//!
//! Renderers see only the report, never the stream, and write to any
//! `io::Write`. Anything that came from a log is escaped before it reaches
//! a terminal: control characters and bidirectional overrides in a log
//! line could otherwise rewrite what the reader sees.

pub mod causes;
pub mod gate;
mod incidents;
pub mod json;
mod lint;
pub mod text;
mod words;

use std::io::{self, Write};

use crate::check::Verdict;
use crate::event::CauseId;
use crate::report::Report;
use crate::serverconf::lint::Finding;
use gate::GateFormat;
use text::TextOptions;

/// Everything upcause prints on stdout, for the one dispatch.
pub enum Output<'a> {
    /// `analyze`, `merge`: a report.
    Report(&'a Report, OutputFormat, TextOptions),
    /// `check`: the verdict on a report.
    Verdict(&'a Verdict, &'a Report, GateFormat),
    /// `causes`: the catalog, or one cause of it.
    Catalog(OutputFormat, Option<CauseId>),
    /// `lint`: the findings in a configuration.
    Lint(&'a [Finding], GateFormat),
}

/// Writes `what` to `out`.
pub fn render(what: &Output<'_>, out: &mut dyn Write) -> io::Result<()> {
    match *what {
        Output::Report(r, OutputFormat::Text, opts) => text::render(r, opts, out),
        Output::Report(r, OutputFormat::Json, _) => json::render(r, out),
        Output::Verdict(v, r, format) => gate::render(v, r, format, out),
        Output::Catalog(OutputFormat::Text, only) => causes::text(only, out),
        Output::Catalog(OutputFormat::Json, only) => causes::json(only, out),
        Output::Lint(f, format) => lint::render(f, format, out),
    }
}

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable report.
    Text,
    /// The JSON contract.
    Json,
}
