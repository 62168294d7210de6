//! Rendering: one dispatch ([`render`]) for everything printed on stdout, a
//! finished report, a verdict or the catalog; text for people, JSON for
//! machines, a self-contained HTML page for a report.
//!
//! Renderers see only the report, never the stream, and write to any
//! `io::Write`. Anything that came from a log is escaped before it reaches
//! a terminal: control characters and bidirectional overrides in a log
//! line could otherwise rewrite what the reader sees.

pub mod causes;
mod clients;
pub mod gate;
mod histogram;
pub mod html;
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
    /// `analyze`, `merge`: a report, how text looks, and how many threads
    /// may write it (the same bytes for any number).
    Report(&'a Report, ReportFormat, TextOptions, usize),
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
        Output::Report(r, ReportFormat::Text, opts, _) => text::render(r, opts, out),
        Output::Report(r, ReportFormat::Json, _, threads) => json::render_on(r, threads, out),
        Output::Report(r, ReportFormat::Html, _, _) => html::render(r, out),
        Output::Verdict(v, r, format) => gate::render(v, r, format, out),
        Output::Catalog(OutputFormat::Text, only) => causes::text(only, out),
        Output::Catalog(OutputFormat::Json, only) => causes::json(only, out),
        Output::Lint(f, format) => lint::render(f, format, out),
    }
}

/// Output formats of a report (`analyze`, `merge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Human-readable report.
    Text,
    /// The JSON contract.
    Json,
    /// One self-contained HTML page.
    Html,
}

/// Output formats of the catalog and `lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable report.
    Text,
    /// The JSON contract.
    Json,
}
