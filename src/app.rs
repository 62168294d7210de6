//! Mode dispatch and the wiring of the stages; the only module that knows
//! them all.

use std::io::{self, BufWriter, IsTerminal, Write};

use crate::aggregate::{Aggregator, FileStats};
use crate::catalog::Catalog;
use crate::check;
use crate::config::cli::Cli;
use crate::config::{self, AnalyzeConfig, CheckConfig, Job, LintConfig, MergeConfig};
use crate::error::{Error, Result, print_error};
use crate::exit::ExitCode;
use crate::input::progress::Progress;
use crate::input::source;
use crate::pipeline::{self, RunOptions};
use crate::render::{self, Output, ReportFormat, text::TextOptions};
use crate::report::Report;
use crate::scan::InputReading;

/// The command: parses the command line, runs it, and turns the outcome
/// into the exit status (a closed pipe, as with `| head`, is the reader's
/// choice, not an error).
pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    match run(Cli::parse()) {
        Ok(code) => code.into(),
        Err(e) if e.is_broken_pipe() => ExitCode::Success.into(),
        Err(e) => {
            print_error(&e);
            ExitCode::InputError.into()
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match config::resolve(cli)? {
        Job::Analyze(cfg) => analyze(cfg),
        Job::Check(cfg) => check(cfg),
        Job::Follow(cfg) => crate::follow::run(cfg),
        Job::Merge(cfg) => merge(cfg),
        Job::Lint(cfg) => lint(cfg),
        Job::Causes(format, only) => {
            write(&Output::Catalog(format, only))?;
            Ok(ExitCode::Success)
        }
    }
}

/// `lint`: the configuration's mistakes (and, with logs, those the logs
/// prove); exit 1 on an error, 2 when a log could not be read.
fn lint(cfg: LintConfig) -> Result<ExitCode> {
    let report = (!cfg.analyze.paths.is_empty())
        .then(|| build_report(&cfg.analyze, &mut |e| print_error(e)));
    let findings = check::lint_findings(&cfg.analyze.server_config, report.as_ref());
    write(&Output::Lint(&findings, cfg.format))?;
    Ok(if report.as_ref().is_some_and(Report::has_input_errors) {
        ExitCode::InputError
    } else if crate::serverconf::lint::errors(&findings) > 0 {
        ExitCode::GateFailed
    } else {
        ExitCode::Success
    })
}

/// `check`: the report of `analyze`, judged against rules; exit 1 when a
/// rule fails, 2 when an input could not be read or too little of it was
/// recognized (whatever the rules say).
pub fn check(cfg: CheckConfig) -> Result<ExitCode> {
    let report = build_report(&cfg.analyze, &mut |e| print_error(e));
    let findings = if cfg.policy.max_lint_findings.is_some() {
        check::lint_findings(&cfg.analyze.server_config, Some(&report))
    } else {
        Vec::new()
    };
    let verdict = check::verdict_with_lint(&report, &cfg.policy, &findings);
    write(&Output::Verdict(&verdict, &report, cfg.format))?;
    let code = if !verdict.input_errors.is_empty() {
        ExitCode::InputError
    } else if verdict.passed {
        ExitCode::Success
    } else {
        ExitCode::GateFailed
    };
    // As in `analyze`: the exit frees the report faster than its drop.
    std::mem::forget(report);
    Ok(code)
}

/// `merge`: saved reports combined; exit 2 when one could not be read.
fn merge(cfg: MergeConfig) -> Result<ExitCode> {
    let mut failed = false;
    let report = crate::merge::merge_reports(&cfg.reports, cfg.force, &mut |e| {
        failed = true;
        print_error(e);
    })?
    .ok_or_else(|| Error::Usage("no report could be read".into()))?;
    if report.filters.mixed {
        print_error(
            &"warning: the merged reports were counted under different filters (--force); the report's filters are the first one's",
        );
    }
    let threads = pipeline::available_cores();
    write(&Output::Report(&report, cfg.format, cfg.text, threads))?;
    Ok(if failed || report.has_input_errors() {
        ExitCode::InputError
    } else {
        ExitCode::Success
    })
}

/// Writes `what` to stdout.
fn write(what: &Output<'_>) -> Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    render::render(what, &mut out)
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// `analyze`: every input through the pipeline, one report.
pub fn analyze(cfg: AnalyzeConfig) -> Result<ExitCode> {
    // The text report lists every input it could not read; on a terminal
    // that is where the reader looks, so stderr does not say it again.
    // Anywhere else (a file, a pipe, JSON) stderr names them too.
    let report_says_it = cfg.format == ReportFormat::Text && io::stdout().is_terminal();
    let counted = count(&cfg, &mut |e| {
        if !report_says_it {
            print_error(e)
        }
    });
    let report = if cfg.format == ReportFormat::Json && cfg.threads >= 2 {
        // The activity, half of a large report's text, is written on a
        // second thread as soon as it is built, while this one builds and
        // writes the rest of the report around it.
        let (activity, around) = render::json::split();
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
        let (report, written) = Report::build_split(
            &counted.agg,
            |a| {
                // An error here means the other half stopped; it says why.
                let _ = activity.write(a);
            },
            |report| {
                let report = counted.finish(report, &cfg);
                let written = around.write(&report, &mut out).and_then(|()| out.flush());
                (report, written)
            },
        );
        written.map_err(Error::Output)?;
        report
    } else {
        let report = counted.finish(Report::build_on(&counted.agg, cfg.threads), &cfg);
        let opts = TextOptions {
            color: cfg.color,
            top: cfg.top,
            width: cfg.width,
            ascii: cfg.ascii,
        };
        write(&Output::Report(&report, cfg.format, opts, cfg.threads))?;
        report
    };
    let code = if report.has_input_errors() {
        ExitCode::InputError
    } else {
        ExitCode::Success
    };
    // The process ends next: the report of a large log holds tens of
    // thousands of strings, and freeing them one by one takes longer than
    // the exit that gives all the memory back at once; so do the counts.
    std::mem::forget(report);
    std::mem::forget(counted);
    Ok(code)
}

/// Bytes read from the start of each regular file to find a boot time,
/// and over all of them.
const BOOT_SNIFF: (u64, u64) = (256 << 10, 4 << 20);

/// The boot time that kernel lines in a syslog or journald envelope give
/// (their wall time less their uptime stamp), from the start of the
/// inputs that are regular files, so that plain `dmesg` lines among the
/// inputs are placed without `--boot-time`. Bounded ([`BOOT_SNIFF`]);
/// standard input, FIFOs and devices are never read ahead.
fn boot_from_inputs(inputs: &[source::InputSpec], year: i32) -> Option<crate::event::LocalTime> {
    use std::io::Read;
    let mut budget = BOOT_SNIFF.1;
    for input in inputs {
        let path = match input {
            source::InputSpec::Path(p) | source::InputSpec::Listed(p) => p,
            source::InputSpec::Stdin => continue,
        };
        if budget == 0 {
            break;
        }
        // Looked at before it is opened: opening a FIFO, even without
        // blocking, would take its writer's lines from the real read.
        let Some(len) = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
        else {
            continue;
        };
        let Ok(file) = source::open_regular(path) else {
            continue;
        };
        let n = BOOT_SNIFF.0.min(budget);
        let Ok((found, read)) = boot_in_head(file.take(n), len, year) else {
            continue;
        };
        budget = budget.saturating_sub(read);
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Bytes read at a time by [`boot_in_head`].
const BOOT_PIECE: usize = 16 << 10;

/// The boot time the start of a file (`head`, bounded, of a file of `len`
/// bytes) gives, as [`crate::parse::envelope::kernel_boot_in`] finds it
/// in all those bytes, and how many bytes were read; an error when the
/// read failed (whatever was found before). Read [`BOOT_PIECE`] bytes at
/// a time, searched a whole line at a time, so that only a few pages are
/// taken however far the look goes.
fn boot_in_head(
    mut head: impl std::io::Read,
    len: u64,
    year: i32,
) -> std::io::Result<(Option<crate::event::LocalTime>, u64)> {
    use crate::parse::envelope::kernel_boot_in;
    // A small file in one piece (one more byte, should it have grown).
    let piece = usize::try_from(len.saturating_add(1)).map_or(BOOT_PIECE, |l| l.min(BOOT_PIECE));
    let mut buf: Vec<u8> = Vec::with_capacity(piece);
    let mut found = None;
    let mut read = 0u64;
    loop {
        let start = buf.len();
        buf.resize(start + piece, 0);
        let got = loop {
            match head.read(&mut buf[start..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                got => break got?,
            }
        };
        buf.truncate(start + got);
        read += got as u64;
        if found.is_some() {
            // Read on to the end, as an error there loses what was found.
            buf.clear();
        } else if got == 0 {
            // The last line, cut where the look ends.
            found = kernel_boot_in(&buf, year);
        } else if let Some(nl) = memchr::memrchr(b'\n', &buf[start..]) {
            let lines = start + nl + 1;
            found = kernel_boot_in(&buf[..lines], year);
            buf.drain(..lines);
        }
        if got == 0 {
            return Ok((found, read));
        }
    }
}

/// Reads every input of `cfg` and builds the report; `warn` hears about
/// each input that could not be read (completely).
pub fn build_report(cfg: &AnalyzeConfig, warn: &mut dyn FnMut(&Error)) -> Report {
    let counted = count(cfg, warn);
    counted.finish(Report::build_on(&counted.agg, cfg.threads), cfg)
}

/// What the inputs were counted into, and what the report needs besides.
struct Counted {
    agg: Aggregator,
    /// The catalog the counts were made with (left to the process's exit
    /// with them after `analyze`).
    _catalog: Catalog,
    /// The access format read in each input that has one, by its name.
    formats: Vec<(String, String)>,
}

impl Counted {
    /// Puts in `report`, built from the counts, what the command line says
    /// (filters, the servers' configuration, access formats, time zones).
    fn finish(&self, report: Report, cfg: &AnalyzeConfig) -> Report {
        let mut report = report
            .with_filters(&cfg.filters)
            .with_server_config(&cfg.server_config);
        for f in &mut report.files {
            f.access_format = self
                .formats
                .iter()
                .find(|(name, _)| *name == f.path)
                .map(|(_, d)| d.clone());
        }
        if !cfg.shifts.is_empty() {
            for f in &mut report.files {
                let input = match f.path.as_str() {
                    "-" => source::InputSpec::Stdin,
                    p => source::InputSpec::Path(p.into()),
                };
                f.tz_offset = cfg
                    .shifts
                    .rule_for(&input)
                    .map(|r| crate::input::clock::format_offset(r.seconds));
            }
        }
        report
    }
}

/// Reads every input of `cfg` through the pipeline; `warn` hears about
/// each input that could not be read (completely).
fn count(cfg: &AnalyzeConfig, warn: &mut dyn FnMut(&Error)) -> Counted {
    if cfg.paths.is_empty() && std::io::IsTerminal::is_terminal(&io::stdin()) {
        eprintln!(
            "upcause: reading the log from stdin (end with Ctrl-D; give paths to read files)"
        );
    }
    let catalog = Catalog::new();
    let mut agg = Aggregator::new(cfg.window);
    let walk = source::Walk {
        recursive: cfg.recursive,
        access: cfg.folder_access_logs,
        looks: &crate::parse::looks,
    };
    let source::Expanded {
        inputs,
        errors,
        skipped,
        unread,
    } = source::expand(&cfg.paths, &walk);
    agg.unread = unread
        .into_iter()
        .map(|(p, why)| (p, why.to_string()))
        .collect();
    for note in &skipped {
        crate::error::print_error(&format!("note: {note}"));
    }
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
    for r in cfg.shifts.unused(&inputs) {
        crate::error::print_error(&format!(
            "warning: --tz-offset {}: no input is that file, under that folder or matches that pattern",
            r.given
        ));
    }
    // The access formats the configuration gives, unless --access-format
    // gives one for every input.
    let access_logs = if cfg.access.given.is_none() {
        crate::serverconf::access::access_logs(&cfg.server_config)
    } else {
        Vec::new()
    };
    // (No path is resolved when no access log is configured.)
    let log_of = |i: &source::InputSpec| match i {
        source::InputSpec::Path(p) | source::InputSpec::Listed(p) if !access_logs.is_empty() => {
            crate::serverconf::access::log_for(&access_logs, p)
        }
        _ => None,
    };
    let reading: Vec<InputReading> = inputs
        .iter()
        .map(|i| InputReading {
            shift: cfg.shifts.seconds_for(i),
            access: log_of(i).map(|l| l.plan.clone()),
        })
        .collect();
    let formats: Vec<(String, String)> = inputs
        .iter()
        .filter_map(|i| Some((i.display_name(), log_of(i)?.describe())))
        .collect();
    // Error logs alone keep no failures for a join with access lines that
    // will not come.
    agg.clients.recent_failures_only = cfg.access.given.is_none()
        && reading.iter().all(|r| r.access.is_none())
        && !inputs
            .iter()
            .any(|i| source::may_hold_access_lines(i, &crate::parse::looks));
    let progress = Progress::wanted(cfg.quiet).then(|| {
        let sizes: Option<Vec<u64>> = inputs.iter().map(source::size_on_disk).collect();
        Progress::new(sizes.map(|s| s.iter().fold(0u64, |a, &b| a.saturating_add(b))))
    });
    let opts = RunOptions {
        catalog: &catalog,
        filters: &cfg.filters,
        default_year: cfg.default_year,
        boot_time: cfg
            .boot_time
            .or_else(|| boot_from_inputs(&inputs, cfg.default_year)),
        threads: cfg.threads,
        bytes_per_worker: if cfg.threads_given {
            0
        } else {
            pipeline::BYTES_PER_WORKER
        },
        progress: progress.as_ref(),
        access: cfg.access.clone(),
        reading: &reading,
    };
    pipeline::run(&inputs, &opts, &mut agg, warn);
    if let Some(p) = &progress {
        p.finish();
    }
    Counted {
        agg,
        _catalog: catalog,
        formats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader giving at most `step` bytes a call, then failing at `fail`
    /// bytes if that is set.
    struct Steps<'a> {
        bytes: &'a [u8],
        step: usize,
        fail: Option<usize>,
    }

    impl std::io::Read for Steps<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.fail == Some(0) {
                return Err(std::io::Error::other("broken"));
            }
            let mut n = self.step.min(buf.len()).min(self.bytes.len());
            if let Some(f) = self.fail.as_mut() {
                n = n.min(*f);
                *f -= n;
            }
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// The boot time read a piece at a time is the one the plain search
    /// over all the bytes finds: kernel lines before, across and after the
    /// pieces' ends, the look cut inside one, lines longer than a piece,
    /// reads of every size; a read that fails is an error.
    #[test]
    fn boot_in_head_is_the_plain_search() {
        let kernel = b"Dec  2 16:05:30 web1 kernel: [14730.412087] php-fpm8.2 invoked oom-killer\n";
        let other = b"Dec  2 16:05:31 web1 kernel: [    2.114532] EXT4-fs (vda1): mounted\n";
        let noise = b"2025/11/21 22:21:05 [error] 10422#10422: *4 upstream timed out\n";
        let mut logs: Vec<Vec<u8>> = Vec::new();
        for before in [0usize, 1, 200, 250, 261, 262, 300, 520] {
            let mut log = Vec::new();
            for _ in 0..before {
                log.extend_from_slice(noise);
            }
            log.extend_from_slice(kernel);
            log.extend_from_slice(other);
            logs.push(log.clone());
            // A line longer than a piece, then the kernel line.
            let mut long = vec![b'x'; BOOT_PIECE * 2 + 17];
            long.push(b'\n');
            long.extend_from_slice(&log);
            logs.push(long);
        }
        logs.push(b"kernel: [ no stamp".to_vec());
        logs.push(Vec::new());
        let mut compared = 0;
        for log in &logs {
            let mut cuts = vec![log.len(), log.len().saturating_sub(20), BOOT_PIECE, 100];
            if let Some(at) = log.windows(9).position(|w| w == b"kernel: [") {
                cuts.extend([at, at + 20, at + 40, at + 60]);
            }
            for cut in cuts {
                let head = &log[..cut.min(log.len())];
                let want = crate::parse::envelope::kernel_boot_in(head, 2025);
                for step in [1usize << 30, BOOT_PIECE, 7000, 333] {
                    for len in [log.len() as u64, 0, 10] {
                        let r = Steps {
                            bytes: head,
                            step,
                            fail: None,
                        };
                        let (got, read) = boot_in_head(r, len, 2025).unwrap();
                        assert_eq!(got, want, "cut {cut} step {step} len {len}");
                        assert_eq!(read, head.len() as u64);
                        compared += 1;
                    }
                }
                if !head.is_empty() {
                    let r = Steps {
                        bytes: head,
                        step: 5000,
                        fail: Some(head.len() - 1),
                    };
                    assert!(boot_in_head(r, log.len() as u64, 2025).is_err());
                }
            }
        }
        assert!(compared > 500);
        assert!(logs.iter().any(|l| {
            crate::parse::envelope::kernel_boot_in(l, 2025).is_some()
                && crate::parse::envelope::kernel_boot_in(&l[..l.len() - 1], 2025).is_some()
        }));
    }
}
