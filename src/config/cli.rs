//! The command line as typed: declarations only, validated in
//! [`config`](crate::config).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit status, per subcommand:
  analyze  0 analyzed (failures found or not); 2 usage error, or an input could
           not be read or is binary / compressed in a format upcause does not
           read (the others are still analyzed and reported)
  check    0 passed; 1 a rule failed; 2 usage error, bad rules or baseline,
           or an input not read or not recognized (see `upcause check --help`)
  follow   0 stopped by Ctrl-C / SIGTERM; 2 usage error
  merge    0 merged; 2 usage error, a report could not be read, or reports
           counted under different filters (without --force)
  causes   0 listed; 2 unknown cause id

Examples:
  upcause analyze /var/log/nginx/                 # error.log, error.log.1, error.log.2.gz ...
  upcause analyze --since '2026-11-20 10:00' --window 5m error.log
  journalctl -u nginx -o short-iso | upcause analyze -
  upcause analyze --format json error.log | jq '.causes[0]'
  upcause analyze --format html error.log > report.html   # one page, no network";

const ANALYZE_AFTER_HELP: &str = "\
Exit status:
  0  analyzed (whether or not failures were found)
  2  usage error, or an input could not be read, or is binary or compressed in
     a format upcause does not read (the others are still analyzed and
     reported, with the reason in `files[*].error`)

Examples:
  upcause analyze /var/log/nginx/                 # error.log, error.log.1, error.log.2.gz ...
  upcause analyze --since '2026-11-20 10:00' --window 5m error.log
  journalctl -u nginx -o short-iso | upcause analyze -
  upcause analyze --format json error.log | jq '.causes[0]'
  upcause analyze --format html error.log > report.html   # one page, no network";

const MERGE_AFTER_HELP: &str = "\
Exit status:
  0  merged
  2  usage error, a report could not be read (the others are merged), or
     reports counted under different filters (--since, --until, --cause,
     --upstream) without --force

Reports with different windows merge into the coarser window (1m and 5m
give 5m, in any order).";

const CAUSES_AFTER_HELP: &str = "\
Exit status:
  0  listed
  2  unknown cause id (the nearest ids are suggested)";

const CHECK_AFTER_HELP: &str = "\
With no rule at all the gate is `--max any=0`: every failure fails it.

Whatever the rules, an input fails the gate with exit 2 when it cannot be
read, is binary or compressed in a format upcause does not read (zstd,
bzip2, xz ...), or when under --min-recognized (default 50%) of its lines
are in a known error-log format: no gate passes on a log it did not read.
The share is of the lines that hold something (blank lines and the
continuation lines of multi-line records are left out).

Rules file (flags override it, cause by cause):
  forbid = [\"no_live_upstreams\", \"tls_handshake\"]   # any occurrence fails
  [max]                                             # per cause id, or \"any\"
  any = 50
  upstream_timeout = 0
  [max_per_upstream]                                # attempts per upstream
  \"http://10.0.1.5:8080\" = 10
  min_recognized = 50                               # percent, as the flag
A rules file that sets none of these is an error.

Exit status:
  0  every rule passed and every input was read and recognized
  1  a rule failed
  2  usage error, invalid rules or baseline file, an input could not be read
     or was not recognized (see above); whatever the rules say

Examples:
  upcause check --max any=0 logs/nginx/error.log
  upcause check --rules upcause.toml --format junit logs/nginx/ > upcause.xml
  upcause check --baseline baseline.json --tolerance 10 logs/nginx/error.log";

const FOLLOW_AFTER_HELP: &str = "\
Files are followed from their end (--from-start: from their start) across
rename rotation, copytruncate, delete and recreate; a file may appear later.
The rolling report covers the last --last of log time (windows of --window).
Ctrl-C or SIGTERM prints a final report and exits 0.

Exit status:
  0  stopped by Ctrl-C / SIGTERM
  2  usage error (bad duration, alert rule, cause id, metrics address, or the
     metrics address cannot be listened on)

--metrics takes `:9502` or `9502` (loopback only), or an address and port:
`127.0.0.1:9502`, `localhost:9502`, `0.0.0.0:9502` (every interface).

Examples:
  upcause follow /var/log/nginx/error.log
  upcause follow --alert 'upstream_timeout>20/1m' --alert 'any>=100/5m' error.log
  upcause follow --format json --interval 10s --metrics 127.0.0.1:9502 error.log";

/// Why is the site returning 502/503/504? upcause reads nginx, Apache httpd
/// and php-fpm error logs and ranks the upstream failure causes: which
/// upstream failed, how, on which routes, when, the root cause and its
/// echoes, and what to change. Access logs beside them say what clients
/// got; the kernel log and the servers' configuration explain more.
#[derive(Debug, Parser)]
#[command(name = "upcause", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze error, access and kernel logs and rank the causes of 502/503/504 responses.
    #[command(after_help = ANALYZE_AFTER_HELP)]
    Analyze(AnalyzeArgs),
    /// Print the catalog of causes, or one cause's entry: meaning, status
    /// and fix per server.
    #[command(after_help = CAUSES_AFTER_HELP)]
    Causes(CausesArgs),
    /// Fail (exit 1) when the logs break rules: a CI gate.
    #[command(
        after_help = CHECK_AFTER_HELP,
        override_usage = "upcause check [OPTIONS] [PATH]...\n       \
                          upcause check --rules FILE [OPTIONS] [PATH]..."
    )]
    Check(CheckArgs),
    /// Follow live logs across rotation (`tail -F`): a rolling report,
    /// alerts and Prometheus metrics.
    #[command(after_help = FOLLOW_AFTER_HELP)]
    Follow(FollowArgs),
    /// Combine saved `analyze --format json` reports into the report of all
    /// their inputs (for fleets: analyze on each host, merge anywhere).
    #[command(after_help = MERGE_AFTER_HELP)]
    Merge(MergeArgs),
    /// Check the servers' configuration for the mistakes that end in 502s,
    /// with or without their logs: exit 0 clean (notes allowed), 1 with
    /// errors, 2 unreadable.
    Lint(LintArgs),
}

/// `upcause lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// nginx.conf (its includes are followed), `nginx -T` output (`-` for
    /// stdin), apache2.conf/httpd.conf (its includes are followed),
    /// `apachectl -S` output, php-fpm.conf or pool files. Repeatable.
    #[arg(long = "config", value_name = "FILE", required = true)]
    pub configs: Vec<PathBuf>,

    /// Error logs of these servers (optional): findings the logs prove,
    /// such as a header buffer smaller than the headers they show.
    #[arg(value_name = "LOG")]
    pub logs: Vec<PathBuf>,

    /// Output format (junit and github as for `check`).
    #[arg(short, long, value_enum, default_value_t = CheckFormatArg::Text)]
    pub format: CheckFormatArg,
}

/// `upcause merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports written by `upcause analyze --format json`, in input order.
    #[arg(value_name = "REPORT_JSON", required = true)]
    pub reports: Vec<PathBuf>,

    /// Output format: text, json, or html (one self-contained page).
    #[arg(short, long, value_enum, default_value_t = ReportFormatArg::Text)]
    pub format: ReportFormatArg,

    /// Upstreams and routes listed per cause in text output; 0 lists all.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub top: usize,

    /// When to use colours in text output (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// Columns the text report fits into (0: no limit). Default: the
    /// terminal's width (or COLUMNS) on a terminal, no limit elsewhere.
    #[arg(long, value_name = "N")]
    pub width: Option<usize>,

    /// Draw the text report's histogram and sparklines in ASCII, for
    /// terminals without Unicode.
    #[arg(long)]
    pub ascii: bool,

    /// Merge reports counted under different filters (--since, --until,
    /// --cause, --upstream), which are refused otherwise; the merged
    /// report's `filters` then say `mixed`.
    #[arg(long)]
    pub force: bool,
}

/// The inputs and the time range, shared by `analyze` and `check` so both
/// read logs the same way.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Error logs (plain, gzip, bzip2, xz or zstd), directories of them
    /// (*error*log*, and every folder below), or `-` for stdin. Reads stdin
    /// when none is given.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Read only the folders given, not the folders below them.
    #[arg(long)]
    pub no_recursive: bool,

    /// Timeline window: 30s, 1m, 5m, 1h ...
    #[arg(short, long, default_value = "1m", value_name = "DURATION")]
    pub window: String,

    /// Only failures at or after this time: `2026-11-20 10:00[:00]`, a date,
    /// or a duration back from now (`30m`, `2h`, `1d`). Log time, no zone.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only failures before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// When the machine booted (`2026-12-02T12:00:00`, log time, no
    /// zone): places the kernel log's `[12345.678901]` uptime stamps where
    /// nothing else gives their time (`uptime -s` or `journalctl
    /// --list-boots` tell it); without it such lines are untimed.
    #[arg(long, value_name = "TIME")]
    pub boot_time: Option<String>,

    /// Threads scanning the input (default: the available cores, fewer
    /// for plain files under 8 MiB a thread). The result is the same for
    /// any number.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// No progress bar (it is shown only on a terminal, outside CI, for
    /// runs longer than a second, and always on stderr).
    #[arg(short, long)]
    pub quiet: bool,

    /// The servers' configuration, read-only, so that each cause names the
    /// location (or ProxyPass) that routed it and the settings in effect
    /// there: nginx.conf (its includes are followed), the output of `nginx
    /// -T` (`-` for stdin), apache2.conf/httpd.conf (its includes are
    /// followed), the output of `apachectl -S`, php-fpm.conf or pool files.
    /// Repeatable.
    #[arg(long = "config", value_name = "FILE")]
    pub configs: Vec<PathBuf>,

    /// The access logs' format, as written in the server's configuration:
    /// an nginx `log_format` string or directive, or an Apache `LogFormat`
    /// string. Default: the common formats, detected per line.
    #[arg(long = "access-format", value_name = "FORMAT")]
    pub access_format: Option<String>,

    /// Adds an offset to the times of the logs PATH stands for (a file,
    /// every file under a folder, or a glob; `-` for stdin), to line them
    /// up with the others: a php-fpm log in UTC beside nginx in local time
    /// +01:00 takes `php-fpm.log=+01:00` (repeatable).
    #[arg(long = "tz-offset", value_name = "PATH=±HH:MM")]
    pub tz_offset: Vec<String>,
}

/// `upcause analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Inputs and time range.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format: text, json, or html (one self-contained page).
    #[arg(short, long, value_enum, default_value_t = ReportFormatArg::Text)]
    pub format: ReportFormatArg,

    /// Only this cause (repeatable); `upcause causes` lists the ids.
    #[arg(long = "cause", value_name = "ID")]
    pub causes: Vec<String>,

    /// Only upstreams containing this text (e.g. `10.0.1.5`, `php-fpm`).
    #[arg(long, value_name = "SUBSTRING")]
    pub upstream: Option<String>,

    /// Upstreams and routes listed per cause in text output; 0 lists all.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub top: usize,

    /// When to use colours in text output (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// Columns the text report fits into (0: no limit). Default: the
    /// terminal's width (or COLUMNS) on a terminal, no limit elsewhere.
    #[arg(long, value_name = "N")]
    pub width: Option<usize>,

    /// Draw the text report's histogram and sparklines in ASCII, for
    /// terminals without Unicode.
    #[arg(long)]
    pub ascii: bool,
}

/// `upcause check`: the analysis of `analyze`, judged against rules.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Inputs and time range (as for `analyze`).
    #[command(flatten)]
    pub input: InputArgs,

    /// Rules file (TOML: `forbid`, `[max]`, `[max_per_upstream]`); the
    /// flags below override it.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// Most failed requests allowed for a cause id, or `any` for all causes
    /// together (repeatable).
    #[arg(long = "max", value_name = "CAUSE=N")]
    pub max: Vec<String>,

    /// Fail on any failure of this cause (repeatable).
    #[arg(long = "forbid", value_name = "CAUSE")]
    pub forbid: Vec<String>,

    /// Most failed attempts allowed on an upstream, written as the report
    /// prints it (`http://10.0.1.5:8080`) (repeatable).
    #[arg(long = "max-upstream", value_name = "UPSTREAM=N")]
    pub max_upstream: Vec<String>,

    /// Most share of the access logs' requests allowed to get a status,
    /// or any 5xx: `502=0.5%`, `5xx=1` (repeatable). Fails when no access
    /// line was read.
    #[arg(long = "max-rate", value_name = "STATUS=PCT")]
    pub max_rate: Vec<String>,

    /// Most incidents allowed (spans where failures rose well above the
    /// log's baseline).
    #[arg(long = "max-incidents", value_name = "N")]
    pub max_incidents: Option<u64>,

    /// Longest incident allowed, in seconds from its first failure to its
    /// last.
    #[arg(long = "max-incident-seconds", value_name = "N")]
    pub max_incident_seconds: Option<u64>,

    /// A saved `upcause analyze --format json` report: fail on a cause it
    /// does not have, or on a cause that grew beyond --tolerance.
    #[arg(long, value_name = "REPORT_JSON")]
    pub baseline: Option<PathBuf>,

    /// Growth over the baseline's count allowed per cause, in percent
    /// (`10`, `2.5`, `10%`); default 0.
    #[arg(long, value_name = "PCT", requires = "baseline")]
    pub tolerance: Option<String>,

    /// Most configuration mistakes allowed (errors of `upcause lint` on the
    /// --config files, with the logs' own findings); needs --config.
    #[arg(long = "max-lint-findings", value_name = "N")]
    pub max_lint_findings: Option<u64>,

    /// Least share of each input's lines that must be in a known error-log
    /// format, in percent (`50`, `12.5`, `50%`); under it the input is an
    /// input error (exit 2). Default 50, or the rules file's
    /// `min_recognized`; 0 accepts any input that could be read, even an
    /// empty one.
    #[arg(long, value_name = "PCT")]
    pub min_recognized: Option<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CheckFormatArg::Text)]
    pub format: CheckFormatArg,
}

/// `upcause follow`.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Error logs to follow (plain files; they need not exist yet).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Read what the files hold first, instead of starting at their end.
    #[arg(long)]
    pub from_start: bool,

    /// Output: `text` redraws a live screen, `json` writes one report
    /// object per line per interval. Default: text on a terminal, else json.
    #[arg(short, long, value_enum)]
    pub format: Option<FormatArg>,

    /// How often to report: 500ms, 2s, 1m ...
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub interval: String,

    /// Span of the rolling report, in log time: 5m, 15m, 1h ...
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub last: String,

    /// Bucket of the rolling report (one sparkline mark).
    #[arg(short, long, default_value = "1m", value_name = "DURATION")]
    pub window: String,

    /// Alert rule `CAUSE>N/DURATION` (or `>=`; CAUSE may be `any`), e.g.
    /// `upstream_timeout>20/1m` (repeatable).
    #[arg(long = "alert", value_name = "RULE")]
    pub alerts: Vec<String>,

    /// Serve Prometheus metrics at http://ADDR/metrics: `:9502` (loopback),
    /// `localhost:9502`, `0.0.0.0:9502` (every interface).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,

    /// Save where reading stands here (at most every second and on exit) and
    /// resume from it [default: $XDG_STATE_HOME/upcause/follow-HASH.json].
    #[arg(long, value_name = "FILE", conflicts_with = "no_state")]
    pub state: Option<PathBuf>,

    /// Keep no state: start at the end of the files (or their start with
    /// --from-start) every time.
    #[arg(long)]
    pub no_state: bool,

    /// Keep reading a rotated-away file until it has not grown for this long.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub close_inactive: String,

    /// An incident closes once none of its failures was logged for this
    /// long, in log time (at least 50s: a failure sooner could still join
    /// its span).
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub incident_quiet: String,

    /// How much of the past, in log time, the incidents' baseline spans
    /// (failures well above it are an incident): 1h, 6h, 1d ...
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub baseline: String,

    /// When the machine booted (`2026-12-02T12:00:00`, log time, no zone):
    /// places the kernel log's `[12345.678901]` uptime stamps, as for
    /// `analyze`.
    #[arg(long, value_name = "TIME")]
    pub boot_time: Option<String>,

    /// The access logs' format, as for `analyze`: an nginx `log_format`
    /// string or directive, or an Apache `LogFormat` string. Default: the
    /// common formats, detected per line.
    #[arg(long = "access-format", value_name = "FORMAT")]
    pub access_format: Option<String>,

    /// Only this cause (repeatable); `upcause causes` lists the ids.
    #[arg(long = "cause", value_name = "ID")]
    pub causes: Vec<String>,

    /// Only upstreams containing this text.
    #[arg(long, value_name = "SUBSTRING")]
    pub upstream: Option<String>,

    /// The servers' configuration, read-only, so that each cause of the
    /// JSON reports names the location (or ProxyPass) that routed it and the
    /// setting to change there (nginx.conf, `nginx -T` output, apache2.conf,
    /// `apachectl -S` output, php-fpm pools; repeatable).
    #[arg(long = "config", value_name = "FILE")]
    pub configs: Vec<PathBuf>,

    /// Adds an offset to the times of the files PATH stands for (a file,
    /// the files under a folder, or a glob), to line them up with the
    /// others: `php-fpm.log=+01:00` (repeatable).
    #[arg(long = "tz-offset", value_name = "PATH=±HH:MM")]
    pub tz_offset: Vec<String>,

    /// Causes and upstreams listed on the live screen; 0 lists all.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub top: usize,

    /// When to use colours on the live screen (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// `upcause causes`.
#[derive(Debug, Args)]
pub struct CausesArgs {
    /// Only this cause's entry (`upstream_timeout`); all when none.
    #[arg(value_name = "ID")]
    pub id: Option<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// For people.
    Text,
    /// For machines (documented in the README).
    Json,
}

/// `--format` of a report (`analyze`, `merge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    /// For people.
    Text,
    /// For machines (documented in the README).
    Json,
    /// One self-contained HTML page: charts, tables, the JSON inside.
    Html,
}

/// `check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormatArg {
    /// One line per rule, for people.
    Text,
    /// The verdict and the report, for machines.
    Json,
    /// JUnit XML, for CI test-report views.
    Junit,
    /// GitHub Actions workflow annotations.
    Github,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
