//! Mode dispatch and the wiring of the stages; the only module that knows
//! them all.

use std::io::{self, BufWriter, Write};

use crate::aggregate::{Aggregator, FileStats};
use crate::catalog::{Catalog, CauseId};
use crate::cli::{CheckArgs, CheckFormatArg, Cli, Command, FormatArg};
use crate::config::AnalyzeConfig;
use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::gate;
use crate::pipeline::{self, RunOptions};
use crate::progress::Progress;
use crate::render::{self, OutputFormat, gate::GateFormat, text::TextOptions};
use crate::report::Report;
use crate::rules;
use crate::source;

/// Prints an error on stderr. Errors name inputs, and a file name can hold
/// anything (escape sequences included), so the text is escaped like log
/// text is in the report.
pub fn print_error(e: &dyn std::fmt::Display) {
    eprintln!("upcause: {}", render::escape(&e.to_string()));
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze(AnalyzeConfig::from_args(args)?),
        Command::Causes(args) => causes(args.format),
        Command::Check(args) => check(args),
        Command::Follow(args) => crate::follow::run(args),
        Command::Merge(args) => merge(args),
    }
}

/// `check`: the report of `analyze`, judged against rules; exit 1 when a
/// rule fails, 2 when an input could not be read (whatever the rules say).
pub fn check(args: CheckArgs) -> Result<ExitCode> {
    // Every usage error (flags, rules file, baseline) before any log is read.
    let policy = rules::policy_from_args(&args)?;
    let format = match args.format {
        CheckFormatArg::Text => GateFormat::Text,
        CheckFormatArg::Json => GateFormat::Json,
        CheckFormatArg::Junit => GateFormat::Junit,
        CheckFormatArg::Github => GateFormat::Github,
    };
    let cfg = AnalyzeConfig::from_input(args.input)?;
    let report = build_report(&cfg, &mut |e| print_error(e));
    let verdict = gate::verdict(&report, &policy);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    render::gate::render(&verdict, &report, format, &mut out)
        .and_then(|()| out.flush())
        .map_err(Error::Output)?;
    Ok(if report.has_input_errors() {
        ExitCode::InputError
    } else if verdict.passed {
        ExitCode::Success
    } else {
        ExitCode::GateFailed
    })
}

/// `merge`: saved reports combined; exit 2 when one could not be read.
fn merge(args: crate::cli::MergeArgs) -> Result<ExitCode> {
    let mut failed = false;
    let report = crate::merge::merge_reports(&args.reports, &mut |e| {
        failed = true;
        print_error(e);
    })
    .ok_or_else(|| Error::Usage("no report could be read".into()))?;
    let format = match args.format {
        FormatArg::Text => OutputFormat::Text,
        FormatArg::Json => OutputFormat::Json,
    };
    write_report(
        &report,
        format,
        TextOptions {
            color: crate::config::color_enabled(args.color),
            top: args.top.max(1),
        },
    )?;
    Ok(if failed || report.has_input_errors() {
        ExitCode::InputError
    } else {
        ExitCode::Success
    })
}

/// Writes a report to stdout in `format`.
fn write_report(report: &Report, format: OutputFormat, opts: TextOptions) -> Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    match format {
        OutputFormat::Json => render::json::render(report, &mut out),
        OutputFormat::Text => render::text::render(report, opts, &mut out),
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)
}

/// `analyze`: every input through the pipeline, one report.
pub fn analyze(cfg: AnalyzeConfig) -> Result<ExitCode> {
    let report = build_report(&cfg, &mut |e| print_error(e));
    write_report(
        &report,
        cfg.format,
        TextOptions {
            color: cfg.color,
            top: cfg.top,
        },
    )?;
    Ok(if report.has_input_errors() {
        ExitCode::InputError
    } else {
        ExitCode::Success
    })
}

/// Reads every input of `cfg` and builds the report; `warn` hears about
/// each input that could not be read (completely).
pub fn build_report(cfg: &AnalyzeConfig, warn: &mut dyn FnMut(&Error)) -> Report {
    if cfg.paths.is_empty() && std::io::IsTerminal::is_terminal(&io::stdin()) {
        eprintln!(
            "upcause: reading the log from stdin (end with Ctrl-D; give paths to read files)"
        );
    }
    let catalog = Catalog::new();
    let mut agg = Aggregator::new(cfg.window);
    let (inputs, errors) = source::expand(&cfg.paths);
    for e in errors {
        warn(&e);
        if let Error::Input { path, source } = &e {
            agg.files.push(FileStats {
                path: path.clone(),
                lines: Default::default(),
                error: Some(source.to_string()),
            });
        }
    }
    let progress = Progress::wanted(cfg.quiet).then(|| {
        let sizes: Option<Vec<u64>> = inputs.iter().map(source::size_on_disk).collect();
        Progress::new(sizes.map(|s| s.iter().fold(0u64, |a, &b| a.saturating_add(b))))
    });
    let opts = RunOptions {
        catalog: &catalog,
        filters: &cfg.filters,
        default_year: cfg.default_year,
        threads: cfg.threads,
        progress: progress.as_ref(),
    };
    pipeline::run(&inputs, &opts, &mut agg, warn);
    if let Some(p) = &progress {
        p.finish();
    }
    Report::build(&agg)
}

/// `causes`: the catalog.
fn causes(format: FormatArg) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let res = match format {
        FormatArg::Json => {
            let list: Vec<serde_json::Value> = CauseId::all()
                .map(|id| {
                    let c = id.info();
                    serde_json::json!({
                        "cause": c.id,
                        "title": c.title,
                        "status": {"nginx": c.status[0], "apache": c.status[1], "php-fpm": c.status[2]},
                        "meaning": c.meaning,
                        "fix": {"nginx": c.fix[0], "apache": c.fix[1], "php-fpm": c.fix[2]},
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
        FormatArg::Text => CauseId::all().try_for_each(|id| {
            let c = id.info();
            let status = |i: usize| c.status[i].map_or("-".to_string(), |s| s.to_string());
            writeln!(out, "{}  {}", c.id, c.title)?;
            writeln!(
                out,
                "    status   nginx {}, apache {}{}",
                status(0),
                status(1),
                c.status[2]
                    .map(|s| format!(", php-fpm {s}"))
                    .unwrap_or_default()
            )?;
            writeln!(out, "    means    {}", c.meaning)?;
            writeln!(out, "    nginx    {}", c.fix[0])?;
            writeln!(out, "    apache   {}", c.fix[1])?;
            if !c.fix[2].is_empty() {
                writeln!(out, "    php-fpm  {}", c.fix[2])?;
            }
            writeln!(out)
        }),
    };
    res.and_then(|()| out.flush()).map_err(Error::Output)?;
    Ok(ExitCode::Success)
}
