//! upcause: why is the site returning 502/503/504?
//!
//! It reads nginx, Apache httpd and php-fpm error logs and ranks the
//! upstream failure causes. Data flows one way:
//!
//! ```text
//! source (files, gzip, stdin) -> lines (chunks of whole lines)
//!   -> scan, in parallel: parse (nginx, apache, php-fpm) -> catalog::classify
//!   -> correlate, in order (multi-line joins, retries)
//!   -> aggregate -> report -> render (text, json) | gate (check)
//! ```
//!
//! [`pipeline`] wires the stages and the threads; [`app`] wires inputs,
//! pipeline and renderers for each subcommand. `check` judges the report
//! against [`rules`] in [`gate`], a CI gate.
//! [`follow`] runs the same stages on live files, across log rotation, into
//! a rolling report, alerts and Prometheus metrics.

pub mod aggregate;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod correlate;
pub mod error;
pub mod exit;
pub mod follow;
pub mod gate;
pub mod lines;
pub mod mapped;
pub mod merge;
pub mod parse;
pub mod pipeline;
pub mod progress;
pub mod render;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;

pub use error::{Error, Result};
