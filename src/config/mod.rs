//! The command line resolved: values parsed and checked once, before any
//! input is read, so a typo fails fast with exit code 2.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Datelike, Local};

pub mod cli;
mod follow;

pub use follow::follow_config;

use crate::aggregate::window;
use crate::catalog::causes;
use crate::check::rules::{self, Policy, Target};
use crate::error::{Error, Result};
use crate::event::LocalTime;
use crate::follow::FollowConfig;
use crate::input::clock::Shifts;
use crate::order::Filters;
use crate::parse::access::{AccessFormats, Plan};
use crate::parse::time;
use crate::render::gate::GateFormat;
use crate::render::text::TextOptions;
use crate::render::{OutputFormat, ReportFormat};
use crate::report::ReportFilters;
use crate::serverconf::ServerConfig;
use cli::{
    AnalyzeArgs, CheckArgs, CheckFormatArg, Cli, ColorArg, Command, FormatArg, InputArgs, LintArgs,
    ReportFormatArg,
};

/// A subcommand with its command line resolved.
#[derive(Debug, Clone)]
pub enum Job {
    /// `analyze`.
    Analyze(AnalyzeConfig),
    /// `check`.
    Check(CheckConfig),
    /// `follow`.
    Follow(FollowConfig),
    /// `merge`.
    Merge(MergeConfig),
    /// `causes`, in this format: every cause, or only this one.
    Causes(OutputFormat, Option<crate::event::CauseId>),
    /// `lint`: the configuration read (and the logs, if any), in this
    /// format.
    Lint(LintConfig),
}

/// Resolves the command line of any subcommand; every usage error comes
/// out here, before any input is read.
pub fn resolve(cli: Cli) -> Result<Job> {
    Ok(match cli.command {
        Command::Analyze(a) => Job::Analyze(AnalyzeConfig::from_args(a)?),
        Command::Check(a) => Job::Check(CheckConfig::from_args(a)?),
        Command::Follow(a) => Job::Follow(follow_config(a)?),
        Command::Merge(a) => Job::Merge(MergeConfig {
            reports: a.reports,
            force: a.force,
            format: report_format(a.format),
            text: TextOptions {
                color: color_enabled(a.color),
                top: a.top,
                width: text_width(a.width),
                ascii: a.ascii,
            },
        }),
        Command::Lint(a) => Job::Lint(LintConfig::from_args(a)?),
        Command::Causes(a) => {
            let only =
                a.id.map(|id| {
                    crate::event::CauseId::from_id(&id)
                        .ok_or_else(|| Error::Usage(causes::unknown(&id, "upcause causes", false)))
                })
                .transpose()?;
            Job::Causes(output_format(a.format), only)
        }
    })
}

/// Everything `merge` needs.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The saved reports, in order.
    pub reports: Vec<PathBuf>,
    /// Merge reports counted under different filters.
    pub force: bool,
    /// Output format.
    pub format: ReportFormat,
    /// How text looks.
    pub text: TextOptions,
}

/// Everything `analyze` needs, validated.
#[derive(Debug, Clone)]
pub struct AnalyzeConfig {
    /// Inputs as given (directories expanded later).
    pub paths: Vec<PathBuf>,
    /// Directories are read with the folders below them.
    pub recursive: bool,
    /// Output format.
    pub format: ReportFormat,
    /// Timeline window in seconds.
    pub window: i64,
    /// Which failures count.
    pub filters: Filters,
    /// Colours in text output.
    pub color: bool,
    /// Items per list in text output (0: all).
    pub top: usize,
    /// Columns the text report fits into (`None`: no limit).
    pub width: Option<usize>,
    /// ASCII pictures in text output.
    pub ascii: bool,
    /// Year given to syslog stamps that carry none, until a log shows one.
    pub default_year: i32,
    /// When the machine booted, for the kernel's uptime stamps.
    pub boot_time: Option<LocalTime>,
    /// Scanning threads.
    pub threads: usize,
    /// Whether `--threads` chose them: then each gets a chunk if there
    /// are enough; otherwise a small input is left to fewer (see
    /// [`crate::pipeline::RunOptions::bytes_per_worker`]).
    pub threads_given: bool,
    /// No progress bar.
    pub quiet: bool,
    /// The servers' configuration given with `--config`.
    pub server_config: ServerConfig,
    /// How access-log lines are read (`--access-format`).
    pub access: AccessFormats,
    /// Which inputs' times are shifted (`--tz-offset`).
    pub shifts: Shifts,
    /// Directories give their access logs too (`check` only with a
    /// `max_rate` rule, which judges them).
    pub folder_access_logs: bool,
}

impl AnalyzeConfig {
    /// Validates the arguments.
    pub fn from_args(a: AnalyzeArgs) -> Result<Self> {
        let mut cfg = AnalyzeConfig::from_input(a.input)?;
        cfg.filters.causes = causes::ids(&a.causes)?;
        cfg.filters.upstream = a.upstream.filter(|u| !u.is_empty());
        cfg.color = color_enabled(a.color);
        cfg.format = report_format(a.format);
        cfg.top = a.top;
        cfg.width = text_width(a.width);
        cfg.ascii = a.ascii;
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
        let boot_time = a
            .boot_time
            .as_deref()
            .map(|s| {
                time::parse_user(s).ok_or_else(|| {
                    Error::Usage(format!(
                        "invalid --boot-time '{s}': use '2026-12-02T12:00:00' (uptime -s)"
                    ))
                })
            })
            .transpose()?;
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(Error::Usage("--since must be before --until".into()));
        }
        if let Some(toml) = a
            .paths
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "toml"))
        {
            return Err(Error::Usage(format!(
                "{}: a TOML file given as a log; a rules file goes after --rules: \
                 upcause check --rules {} PATH...",
                toml.display(),
                toml.display()
            )));
        }
        let shifts = Shifts::parse(&a.tz_offset).map_err(Error::Usage)?;
        let server_config = ServerConfig::load(&a.configs)?;
        let access = AccessFormats {
            given: a
                .access_format
                .as_deref()
                .map(|f| Plan::compile(f).map(Arc::new))
                .transpose()
                .map_err(|e| Error::Usage(format!("invalid --access-format: {e}")))?,
            since,
            until,
        };
        Ok(AnalyzeConfig {
            server_config,
            access,
            shifts,
            folder_access_logs: true,
            recursive: !a.no_recursive,
            paths: a.paths,
            format: ReportFormat::Text,
            window,
            filters: Filters {
                since,
                until,
                causes: Vec::new(),
                upstream: None,
            },
            color: false,
            top: 5,
            width: None,
            ascii: false,
            default_year: Local::now().year(),
            boot_time,
            quiet: a.quiet,
            threads: match a.threads {
                Some(0) => return Err(Error::Usage("--threads must be at least 1".into())),
                Some(n) => n,
                None => crate::pipeline::available_cores(),
            },
            threads_given: a.threads.is_some(),
        })
    }
}

/// The width of the text report: `--width` (0: no limit); else on a
/// terminal, `COLUMNS` or the terminal's width; else (a file, a pipe) no
/// limit, so that what is saved or parsed does not depend on a window.
pub fn text_width(flag: Option<usize>) -> Option<usize> {
    match flag {
        Some(0) => None,
        Some(w) => Some(w),
        None if std::io::stdout().is_terminal() => std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0)
            .or_else(terminal_columns),
        None => None,
    }
}

/// Columns of the terminal on stdout.
fn terminal_columns() -> Option<usize> {
    let (terminal_size::Width(w), _) = terminal_size::terminal_size_of(std::io::stdout())?;
    (w > 0).then_some(usize::from(w))
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

/// Everything `check` needs, validated: the analysis (as `analyze` with
/// its defaults), the rules, the output format.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The inputs and time range.
    pub analyze: AnalyzeConfig,
    /// The rules.
    pub policy: Policy,
    /// Output format.
    pub format: GateFormat,
}

impl CheckConfig {
    /// Validates the arguments: every usage error (flags, rules file,
    /// baseline) before any log is read.
    pub fn from_args(a: CheckArgs) -> Result<Self> {
        let mut analyze = AnalyzeConfig::from_input(a.input.clone())?;
        let policy = policy(&a, &analyze)?;
        // An access log fails the gate's --min-recognized unless a
        // max_rate rule judges its lines: a directory then gives none.
        analyze.folder_access_logs = !policy.max_rate.is_empty();
        let format = gate_format(a.format);
        Ok(CheckConfig {
            analyze,
            policy,
            format,
        })
    }
}

/// The output format of a report (`analyze`, `merge`).
pub fn report_format(f: ReportFormatArg) -> ReportFormat {
    match f {
        ReportFormatArg::Text => ReportFormat::Text,
        ReportFormatArg::Json => ReportFormat::Json,
        ReportFormatArg::Html => ReportFormat::Html,
    }
}

/// Everything `lint` needs: the configuration, the logs to read with it
/// (as `analyze` reads them), the output format.
#[derive(Debug, Clone)]
pub struct LintConfig {
    /// The logs, if any, and the configuration (`server_config`).
    pub analyze: AnalyzeConfig,
    /// Output format.
    pub format: GateFormat,
}

impl LintConfig {
    /// Validates the arguments.
    pub fn from_args(a: LintArgs) -> Result<Self> {
        let mut analyze = AnalyzeConfig::from_input(InputArgs {
            paths: a.logs,
            no_recursive: false,
            window: "1m".into(),
            since: None,
            until: None,
            boot_time: None,
            threads: None,
            quiet: true,
            configs: a.configs,
            access_format: None,
            tz_offset: Vec::new(),
        })?;
        analyze.quiet = true;
        Ok(LintConfig {
            analyze,
            format: gate_format(a.format),
        })
    }
}

fn gate_format(f: CheckFormatArg) -> GateFormat {
    match f {
        CheckFormatArg::Text => GateFormat::Text,
        CheckFormatArg::Json => GateFormat::Json,
        CheckFormatArg::Junit => GateFormat::Junit,
        CheckFormatArg::Github => GateFormat::Github,
    }
}

/// The output format of `causes`.
pub fn output_format(f: FormatArg) -> OutputFormat {
    match f {
        FormatArg::Text => OutputFormat::Text,
        FormatArg::Json => OutputFormat::Json,
    }
}

/// Reads everything `check` is told about rules: the rules file, the rule
/// flags (which override the file), the baseline. With no rule at all the
/// gate is `max any = 0`: `upcause check LOG` fails on any failure.
fn policy(a: &CheckArgs, run: &AnalyzeConfig) -> Result<Policy> {
    let mut policy = match &a.rules {
        Some(path) => rules::read_rules(path)?,
        None => Policy::default(),
    };
    rules::apply_flags(&mut policy, &a.max, &a.forbid, &a.max_upstream)?;
    rules::apply_rate_flags(&mut policy, &a.max_rate)?;
    if a.max_incidents.is_some() {
        policy.max_incidents = a.max_incidents;
    }
    if a.max_incident_seconds.is_some() {
        policy.max_incident_seconds = a.max_incident_seconds;
    }
    let tolerance_bp = a
        .tolerance
        .as_deref()
        .map(rules::parse_tolerance)
        .transpose()?
        .unwrap_or(0);
    if let Some(path) = &a.baseline {
        policy.baseline = Some(rules::load_baseline(
            path,
            tolerance_bp,
            run.window,
            &ReportFilters::of(&run.filters),
        )?);
    }
    if let Some(pct) = &a.min_recognized {
        let bp = rules::parse_tolerance(pct).map_err(|_| {
            Error::Usage(format!(
                "invalid --min-recognized '{pct}': use a percentage from 0 to 100 such as 50 or 12.5"
            ))
        })?;
        if bp > 10_000 {
            return Err(Error::Usage(format!(
                "invalid --min-recognized '{pct}': a percentage is at most 100"
            )));
        }
        policy.min_recognized_bp = Some(bp);
    }
    if a.max_lint_findings.is_some() {
        policy.max_lint_findings = a.max_lint_findings;
    }
    if policy.max_lint_findings.is_some() && run.server_config.is_empty() {
        return Err(Error::Usage(
            "max_lint_findings judges the configuration: give it with --config FILE".into(),
        ));
    }
    if policy.is_empty() {
        policy.max.insert(Target::Any, 0);
    }
    Ok(policy)
}
