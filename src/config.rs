//! The command line resolved: values parsed and checked once, before any
//! input is read, so a typo fails fast with exit code 2.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::{Datelike, Local};

use crate::aggregate::window;
use crate::catalog::{CauseId, causes::CAUSES};
use crate::cli::{AnalyzeArgs, ColorArg, FormatArg, InputArgs};
use crate::error::{Error, Result};
use crate::parse::{LocalTime, time};
use crate::pipeline::Filters;
use crate::render::OutputFormat;

/// Everything `analyze` needs, validated.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// Inputs as given (directories expanded later).
    pub paths: Vec<PathBuf>,
    /// Output format.
    pub format: OutputFormat,
    /// Timeline window in seconds.
    pub window: i64,
    /// Which failures count.
    pub filters: Filters,
    /// Colours in text output.
    pub color: bool,
    /// Items per list in text output.
    pub top: usize,
    /// Year given to syslog stamps that carry none, until a log shows one.
    pub default_year: i32,
    /// Scanning threads.
    pub threads: usize,
    /// No progress bar.
    pub quiet: bool,
}

/// The causes named by `--cause`; an unknown id is a usage error that lists
/// the known ones.
pub fn cause_ids(ids: &[String]) -> Result<Vec<CauseId>> {
    ids.iter()
        .map(|id| {
            CauseId::from_id(id).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown cause '{id}'; known causes: {}",
                    CAUSES.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
                ))
            })
        })
        .collect()
}

impl AnalyzeConfig {
    /// Validates the arguments.
    pub fn from_args(a: AnalyzeArgs) -> Result<Self> {
        let mut cfg = AnalyzeConfig::from_input(a.input)?;
        cfg.filters.causes = cause_ids(&a.causes)?;
        cfg.filters.upstream = a.upstream.filter(|u| !u.is_empty());
        cfg.color = color_enabled(a.color);
        cfg.format = match a.format {
            FormatArg::Text => OutputFormat::Text,
            FormatArg::Json => OutputFormat::Json,
        };
        cfg.top = a.top.max(1);
        Ok(cfg)
    }

    /// Validates the inputs and time range alone, with the defaults of
    /// `analyze` for the rest (text, no colour, no cause or upstream
    /// filter): what `check` needs to build the same report as `analyze`.
    pub fn from_input(a: InputArgs) -> Result<Self> {
        let window = window::parse_duration(&a.window).ok_or_else(|| {
            Error::Usage(format!(
                "invalid --window '{}': use a duration such as 30s, 1m, 5m, 1h",
                a.window
            ))
        })?;
        let now = LocalTime::from_naive(Local::now().naive_local());
        let since = a
            .since
            .as_deref()
            .map(|s| user_time(s, "--since", now))
            .transpose()?;
        let until = a
            .until
            .as_deref()
            .map(|s| user_time(s, "--until", now))
            .transpose()?;
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(Error::Usage("--since must be before --until".into()));
        }
        Ok(AnalyzeConfig {
            paths: a.paths,
            format: OutputFormat::Text,
            window,
            filters: Filters {
                since,
                until,
                causes: Vec::new(),
                upstream: None,
            },
            color: false,
            top: 5,
            default_year: Local::now().year(),
            quiet: a.quiet,
            threads: match a.threads {
                Some(0) => return Err(Error::Usage("--threads must be at least 1".into())),
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
        })
    }
}

/// Colour for text on stdout: asked for, or a terminal without NO_COLOR.
pub fn color_enabled(c: ColorArg) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// An absolute time, a date, or a duration back from `now`.
fn user_time(s: &str, flag: &str, now: LocalTime) -> Result<LocalTime> {
    if let Some(t) = time::parse_user(s) {
        return Ok(t);
    }
    if let Some(d) = window::parse_duration(s) {
        return Ok(LocalTime(now.0 - d));
    }
    Err(Error::Usage(format!(
        "invalid {flag} '{s}': use '2026-11-20 10:00', '2026-11-20' or a duration back from now such as 30m, 2h, 1d"
    )))
}
