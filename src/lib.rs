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

pub mod aggregate;
pub mod app;
pub mod bytes;
pub mod catalog;
pub mod check;
pub mod config;
pub mod error;
pub mod event;
pub mod exit;
pub mod follow;
pub mod incidents;
pub mod input;
pub mod keys;
pub mod merge;
pub mod order;
pub mod parse;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod scan;

pub use error::{Error, Result};
