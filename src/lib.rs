//! upcause: why is the site returning 502/503/504?
//!
//! It reads nginx, Apache httpd and php-fpm error logs and ranks the
//! upstream failure causes. One folder per stage, in data-flow order; a
//! stage uses only the stages before it:
//!
//! ```text
//! input     sources (files, gzip, stdin), the line cutter, the reader thread
//!   -> parse     one file per log format; detection; syslog prefixes
//!   -> catalog   what a message means: causes, signature rows, classifiers
//!   -> scan      the parallel stage: chunk -> events, route normalization
//!   -> order     the ordered stage: records across chunks, joins, retries, filters
//!   -> aggregate counts by cause, upstream, route and window
//!   -> incidents spans above the baseline, root causes and their echoes
//!   -> report    the finished report (the JSON contract)
//!   -> merge     reports of many hosts into one
//!   -> check     the CI gate's verdict and rules
//!   -> render    text, JSON, JUnit, GitHub annotations, the catalog listing
//! ```
//!
//! [`pipeline`] wires the threads; [`follow`] runs the same stages on live
//! files, across rotation; [`config`] resolves every subcommand's command
//! line before any input is read; [`app`] dispatches. Under them all, the
//! types that flow between the stages: [`event`], [`keys`], [`bytes`],
//! [`error`].

#![deny(unsafe_code)]
// The documentation is the developers' map of the stages (`cargo doc
// --document-private-items`); the public surface is one function, so
// links between internal items are the rule, not a leak.
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod aggregate;
pub(crate) mod app;
pub(crate) mod bytes;
pub(crate) mod catalog;
pub(crate) mod check;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod exit;
pub(crate) mod follow;
pub(crate) mod incidents;
pub(crate) mod input;
pub(crate) mod keys;
pub(crate) mod merge;
pub(crate) mod order;
pub(crate) mod parse;
pub(crate) mod pipeline;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod scan;
pub(crate) mod serverconf;
#[cfg(test)]
pub(crate) mod testing;

/// The `upcause` command, as `src/main.rs` runs it.
pub use app::main;

/// Not a stable interface: the pieces that the benchmarks, the property
/// tests and the fuzz targets drive directly, one stage at a time. The
/// command-line tool is the product; this may change in any release.
#[doc(hidden)]
pub mod internals {
    pub use crate::aggregate::Aggregator;
    pub use crate::app::build_report;
    pub use crate::bytes::escape;
    pub use crate::catalog::Catalog;
    pub use crate::catalog::causes::REQUIRED;
    pub use crate::config::AnalyzeConfig;
    pub use crate::config::cli::{Cli, Command};
    pub use crate::input::lines::{ChunkReader, Piece, split_lines};
    pub use crate::input::source::InputSpec;
    pub use crate::order::{Filters, Sequencer};
    pub use crate::parse::{ParseState, Scratch, apache, nginx, parse_head, php_fpm};
    pub use crate::pipeline::{RunOptions, run};
    pub use crate::render::{html, json, text};
    pub use crate::scan::{Scan, Scanner};
}
