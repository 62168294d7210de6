//! The command line as typed: declarations only, validated in
//! [`config`](crate::config).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit status:
  0  analyzed (whether or not failures were found)
  2  usage error, or an input could not be read (the others are still analyzed)

Examples:
  upcause analyze /var/log/nginx/                 # error.log, error.log.1, error.log.2.gz ...
  upcause analyze --since '2026-11-20 10:00' --window 5m error.log
  journalctl -u nginx -o short-iso | upcause analyze -
  upcause analyze --format json error.log | jq '.causes[0]'";

/// Why is the site returning 502/503/504? upcause reads nginx, Apache httpd
/// and php-fpm error logs and ranks the upstream failure causes: which
/// upstream failed, how, on which routes, when, and what to change.
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
    /// Analyze error logs and rank the causes of 502/503/504 responses.
    #[command(after_help = AFTER_HELP)]
    Analyze(AnalyzeArgs),
    /// Print the catalog of causes: meaning, status and fix per server.
    Causes(CausesArgs),
}

/// `upcause analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Error logs (plain or gzip), directories of them (*error*log*), or `-`
    /// for stdin. Reads stdin when none is given.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

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

    /// Only this cause (repeatable); `upcause causes` lists the ids.
    #[arg(long = "cause", value_name = "ID")]
    pub causes: Vec<String>,

    /// Only upstreams containing this text (e.g. `10.0.1.5`, `php-fpm`).
    #[arg(long, value_name = "SUBSTRING")]
    pub upstream: Option<String>,

    /// Upstreams and routes listed per cause in text output.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub top: usize,

    /// When to use colours in text output (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// `upcause causes`.
#[derive(Debug, Args)]
pub struct CausesArgs {
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
