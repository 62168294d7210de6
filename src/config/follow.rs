//! `follow`'s command line resolved into a [`FollowConfig`].

use std::io::{self, IsTerminal, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{Datelike, Local};

use super::cli::{ColorArg, FollowArgs, FormatArg};
use crate::aggregate::window;
use crate::error::{Error, Result};
use crate::follow::alert::Rule;
use crate::follow::{FollowConfig, Mode};
use crate::order::Filters;
use crate::serverconf::ServerConfig;

/// Most buckets in the rolling window.
const MAX_MARKS: i64 = 10_000;

/// Longest `--baseline`: the cells it keeps are bounded anyway (a longer
/// past only coarsens their window).
const MAX_BASELINE: i64 = 7 * 86_400;

/// `follow`'s command line validated: every usage error before anything
/// runs.
pub fn follow_config(a: FollowArgs) -> Result<FollowConfig> {
    let duration = |s: &str, flag: &str| {
        window::parse_duration(s).ok_or_else(|| {
            Error::Usage(format!(
                "invalid {flag} '{s}': use a duration such as 30s, 1m, 15m, 1h"
            ))
        })
    };
    let window = duration(&a.window, "--window")?;
    let last = duration(&a.last, "--last")?;
    if window > last {
        return Err(Error::Usage(format!(
            "--window {} is longer than --last {}",
            a.window, a.last
        )));
    }
    if last / window > MAX_MARKS {
        return Err(Error::Usage(format!(
            "--last {} holds more than {MAX_MARKS} windows of {}; use a longer --window",
            a.last, a.window
        )));
    }
    let interval = parse_interval(&a.interval).ok_or_else(|| {
        Error::Usage(format!(
            "invalid --interval '{}': use a duration of at least 50ms such as 500ms, 2s, 1m",
            a.interval
        ))
    })?;
    let close_inactive = parse_interval(&a.close_inactive).ok_or_else(|| {
        Error::Usage(format!(
            "invalid --close-inactive '{}': use a duration of at least 50ms such as 10s, 5m, 1h",
            a.close_inactive
        ))
    })?;
    let incident_quiet = duration(&a.incident_quiet, "--incident-quiet")?;
    let baseline = duration(&a.baseline, "--baseline")?;
    if !(60..=MAX_BASELINE).contains(&baseline) {
        return Err(Error::Usage(format!(
            "invalid --baseline '{}': use a duration from 1m to 7d",
            a.baseline
        )));
    }
    let boot_time = a
        .boot_time
        .as_deref()
        .map(|s| {
            crate::parse::time::parse_user(s).ok_or_else(|| {
                Error::Usage(format!(
                    "invalid --boot-time '{s}': use '2026-12-02T12:00:00' (uptime -s)"
                ))
            })
        })
        .transpose()?;
    let access = crate::parse::access::AccessFormats {
        given: a
            .access_format
            .as_deref()
            .map(|f| crate::parse::access::Plan::compile(f).map(std::sync::Arc::new))
            .transpose()
            .map_err(|e| Error::Usage(format!("invalid --access-format: {e}")))?,
        ..Default::default()
    };
    let rules = a
        .alerts
        .iter()
        .map(|s| Rule::parse(s))
        .collect::<Result<Vec<_>>>()?;
    let metrics = a
        .metrics
        .as_deref()
        .map(|s| {
            listen_addr(s).ok_or_else(|| {
                Error::Usage(format!(
                    "invalid --metrics '{s}': use a port (`:9502`, `9502`: on loopback) or an \
                     address and port (`127.0.0.1:9502`, `localhost:9502`, `0.0.0.0:9502`, `[::1]:9502`)"
                ))
            })
        })
        .transpose()?;
    let causes = crate::catalog::causes::ids(&a.causes)?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for p in a.paths {
        check_path(&p)?;
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    let state = match (a.state, a.no_state) {
        (_, true) => None,
        (Some(p), false) => Some(p),
        (None, false) => crate::follow::state::default_path(&paths),
    };
    let server_config = ServerConfig::load(&a.configs)?;
    let tty = io::stdout().is_terminal();
    let mode = match (a.format, tty) {
        (Some(FormatArg::Json), _) | (None, false) => Mode::Json,
        (Some(FormatArg::Text), true) | (None, true) => Mode::Screen,
        (Some(FormatArg::Text), false) => Mode::Text,
    };
    let color = match a.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    Ok(FollowConfig {
        paths,
        from_start: a.from_start,
        mode,
        interval,
        close_inactive,
        state,
        last,
        window,
        rules,
        metrics,
        filters: Filters {
            causes,
            upstream: a.upstream.filter(|u| !u.is_empty()),
            ..Default::default()
        },
        top: if a.top == 0 { usize::MAX } else { a.top },
        color,
        default_year: Local::now().year(),
        boot_time,
        access,
        incident_quiet,
        baseline,
        server_config,
    })
}

/// A path that can be followed: not stdin, a directory, a FIFO or device,
/// or gzip. It need not exist yet.
fn check_path(p: &PathBuf) -> Result<()> {
    let shown = p.display();
    if p.as_os_str() == "-" {
        return Err(Error::Usage(
            "follow reads files, not stdin (`-`); name the log file".into(),
        ));
    }
    if p.is_dir() {
        return Err(Error::Usage(format!(
            "{shown} is a directory; follow the log file in it (e.g. {shown}/error.log)"
        )));
    }
    if let Ok(meta) = std::fs::metadata(p)
        && !meta.is_file()
    {
        return Err(Error::Usage(format!(
            "{shown} is {}, not a regular file; follow reads log files (a pipe or device \
             can be read once with `upcause analyze`)",
            crate::input::source::kind_of(&meta)
        )));
    }
    let mut magic = [0u8; 2];
    if crate::input::source::open_regular(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == [0x1f, 0x8b]
    {
        return Err(Error::Usage(format!(
            "{shown} is gzip-compressed; follow reads live plain logs (use `upcause analyze` for rotated .gz files)"
        )));
    }
    Ok(())
}

/// `200ms`, or any duration `--window` takes; at least 50 ms.
fn parse_interval(s: &str) -> Option<Duration> {
    let d = match s.trim().strip_suffix("ms") {
        Some(ms) => Duration::from_millis(ms.parse().ok()?),
        None => Duration::from_secs(window::parse_duration(s)? as u64),
    };
    (d >= Duration::from_millis(50)).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("200ms"), Some(Duration::from_millis(200)));
        assert_eq!(parse_interval("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_interval("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_interval("10ms"), None);
        assert_eq!(parse_interval("fast"), None);
    }
}

/// The address `--metrics` listens on: `:PORT` or a bare `PORT` on the
/// loopback interface (nothing is exposed unless an address says so), an
/// IP address and port as written, or a host name and port resolved (an
/// IPv4 address first, so `localhost:9502` is `127.0.0.1:9502`).
pub fn listen_addr(s: &str) -> Option<SocketAddr> {
    use std::net::{Ipv4Addr, ToSocketAddrs};
    let s = s.trim();
    let port = |p: &str| p.parse::<u16>().ok();
    if let Some(p) = s.strip_prefix(':').and_then(port).or_else(|| port(s)) {
        return Some(SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let (host, p) = s.rsplit_once(':')?;
    port(p)?;
    if host.is_empty() || host.contains(':') {
        return None;
    }
    let found: Vec<SocketAddr> = s.to_socket_addrs().ok()?.collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
}

#[cfg(test)]
mod listen_tests {
    use super::listen_addr;

    #[test]
    fn metrics_addresses() {
        let a = |s: &str| listen_addr(s).map(|a| a.to_string());
        assert_eq!(a(":9504").as_deref(), Some("127.0.0.1:9504"));
        assert_eq!(a("9504").as_deref(), Some("127.0.0.1:9504"));
        assert_eq!(a("localhost:9504").as_deref(), Some("127.0.0.1:9504"));
        assert_eq!(a("0.0.0.0:9504").as_deref(), Some("0.0.0.0:9504"));
        assert_eq!(a("[::1]:9504").as_deref(), Some("[::1]:9504"));
        assert_eq!(a("127.0.0.1:9504").as_deref(), Some("127.0.0.1:9504"));
        for bad in ["", ":", "x", ":99999", "localhost", "localhost:x", "::1"] {
            assert_eq!(a(bad), None, "{bad}");
        }
    }
}
