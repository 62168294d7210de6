//! The rules of `upcause check`: a TOML rules file and the same rules as
//! flags, validated into one [`Policy`] before any log is read.
//!
//! A typo in a gate must not pass silently (a misspelt cause id would
//! otherwise never match and the gate would always be green), so unknown
//! keys and unknown cause ids are errors, with the line and column of the
//! rules file where they are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::event::CauseId;
use crate::report::{Report, ReportFilters, SCHEMA_VERSION};

/// What a count rule is about: one cause, or all causes together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// Every failure, whatever its cause (`any`).
    Any,
    /// One cause of the catalog.
    Cause(CauseId),
}

impl Target {
    /// `any` or a cause id of the catalog.
    pub fn parse(s: &str) -> Option<Target> {
        if s == "any" {
            Some(Target::Any)
        } else {
            CauseId::from_id(s).map(Target::Cause)
        }
    }

    /// The id as written in rules and reports.
    pub fn id(self) -> &'static str {
        match self {
            Target::Any => "any",
            Target::Cause(c) => c.info().id,
        }
    }
}

/// The rules of a gate, validated. Built from the command line by `config` (or
/// [`parse_rules`] and [`apply_flags`]) and judged by
/// [`verdict_with_lint`](crate::check::verdict_with_lint).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Causes (or `any`) of which a single failure fails the gate.
    pub forbid: BTreeSet<Target>,
    /// Most failed requests allowed, per cause or for all causes together.
    pub max: BTreeMap<Target, u64>,
    /// Most failed attempts allowed per upstream, keyed as the report
    /// prints upstreams (`http://10.0.1.5:8080`).
    pub max_per_upstream: BTreeMap<String, u64>,
    /// Most incidents allowed.
    pub max_incidents: Option<u64>,
    /// Longest incident allowed, in seconds from its first failure to its
    /// last.
    pub max_incident_seconds: Option<u64>,
    /// Most share of the access logs' requests allowed per status (`502`)
    /// or for all 5xx (`5xx`), in hundredths of a percent.
    pub max_rate: BTreeMap<String, u64>,
    /// The saved report to compare with.
    pub baseline: Option<Baseline>,
    /// Least share of an input's lines that must be in a known format, in
    /// hundredths of a percent (`None`: [`DEFAULT_MIN_RECOGNIZED_BP`]; 0
    /// accepts any input that could be read, even an empty one).
    pub min_recognized_bp: Option<u64>,
    /// Most configuration mistakes allowed (`upcause lint`'s errors on the
    /// `--config` files, with the logs' own findings).
    pub max_lint_findings: Option<u64>,
}

/// The share of recognized lines an input needs by default: 50%.
pub const DEFAULT_MIN_RECOGNIZED_BP: u64 = 5_000;

impl Policy {
    /// The least share of recognized lines, in hundredths of a percent.
    pub fn min_recognized(&self) -> u64 {
        self.min_recognized_bp.unwrap_or(DEFAULT_MIN_RECOGNIZED_BP)
    }

    /// True when there is no rule about failures (the share of recognized
    /// lines is judged whatever the rules).
    pub fn is_empty(&self) -> bool {
        self.forbid.is_empty()
            && self.max.is_empty()
            && self.max_per_upstream.is_empty()
            && self.max_incidents.is_none()
            && self.max_incident_seconds.is_none()
            && self.max_rate.is_empty()
            && self.baseline.is_none()
            && self.max_lint_findings.is_none()
    }
}

/// A saved report and the growth allowed over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Failed requests per cause id in the saved report, as
    /// [`judged_counts`] gives them: an echo's requests in an incident
    /// rooted in another cause are that root's, not its own.
    pub counts: BTreeMap<String, u64>,
    /// Growth allowed per cause, in hundredths of a percent (`10%` is
    /// 1000): integers, so that `10 +10%` is exactly 11.
    pub tolerance_bp: u64,
}

impl Baseline {
    /// Takes the counts out of a saved report.
    pub fn from_report(report: &Report, tolerance_bp: u64) -> Baseline {
        Baseline {
            counts: judged_counts(report),
            tolerance_bp,
        }
    }

    /// The most failed requests allowed for a cause the baseline had
    /// `base` of (rounded down).
    pub fn limit(&self, base: u64) -> u64 {
        let extra = u128::from(base) * u128::from(self.tolerance_bp) / 10_000;
        base.saturating_add(u64::try_from(extra).unwrap_or(u64::MAX))
    }

    /// The tolerance as typed (`10`, `2.5`).
    pub fn tolerance_text(&self) -> String {
        let (whole, frac) = (self.tolerance_bp / 100, self.tolerance_bp % 100);
        match frac {
            0 => whole.to_string(),
            f if f % 10 == 0 => format!("{whole}.{}", f / 10),
            f => format!("{whole}.{f:02}"),
        }
    }
}

/// Failed requests per cause as a baseline compares them: root causes,
/// not echoes. The requests of an echo (`no_live_upstreams`, Apache's
/// workers in error state or busy) listed under an incident whose root
/// cause is another cause follow from that root: they are taken off the
/// echo's count, so that more echoes of the same root are no regression
/// (the root's own count still is). An echo outside any incident, or the
/// root of one, keeps its requests. Every cause of the report has an
/// entry, 0 when all of it was echoes.
pub fn judged_counts(report: &Report) -> BTreeMap<String, u64> {
    let mut echoed: BTreeMap<&str, u64> = BTreeMap::new();
    for i in &report.incidents {
        let root_is_echo =
            CauseId::from_id(&i.root_cause.cause).is_some_and(crate::incidents::is_echo);
        if root_is_echo {
            continue;
        }
        for e in i.echoes.iter().filter(|e| e.cause != i.root_cause.cause) {
            let n = echoed.entry(e.cause.as_str()).or_default();
            *n = n.saturating_add(e.count);
        }
    }
    report
        .causes
        .iter()
        .map(|c| {
            let off = echoed.get(c.cause.as_str()).copied().unwrap_or(0);
            (c.cause.clone(), c.count.saturating_sub(off))
        })
        .collect()
}

/// The rules file as written. Unknown keys are refused so that a typo
/// (`[maximum]`) cannot disable a rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    forbid: Vec<Spanned<String>>,
    #[serde(default)]
    max: BTreeMap<Spanned<String>, u64>,
    #[serde(default)]
    max_per_upstream: BTreeMap<Spanned<String>, u64>,
    /// Percent, as `--min-recognized`.
    #[serde(default)]
    min_recognized: Option<Spanned<f64>>,
    #[serde(default)]
    max_incidents: Option<u64>,
    #[serde(default)]
    max_incident_seconds: Option<u64>,
    /// Status (`502`, `5xx`) -> percent.
    #[serde(default)]
    max_rate: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    max_lint_findings: Option<u64>,
}

/// Reads a rules file (see [`parse_rules`]).
pub fn read_rules(path: &Path) -> Result<Policy> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.to_path_buf(),
        reason: format!("cannot read rules file: {}", crate::error::describe_io(&e)),
    })?;
    parse_rules(&text, path)
}

/// Parses a rules file; `path` only names it in errors, which carry the
/// line and column of the offending key or value.
pub fn parse_rules(text: &str, path: &Path) -> Result<Policy> {
    let file_error = |span: Option<std::ops::Range<usize>>, msg: &str| {
        let msg = msg.trim();
        Error::File {
            path: path.to_path_buf(),
            reason: match span {
                Some(s) => {
                    let (line, col) = line_col(text, s.start);
                    format!("line {line}, column {col}: {msg}")
                }
                None => msg.to_string(),
            },
        }
    };
    let file: RulesFile = toml::from_str(text).map_err(|e| file_error(e.span(), e.message()))?;
    if file.forbid.is_empty()
        && file.max.is_empty()
        && file.max_per_upstream.is_empty()
        && file.min_recognized.is_none()
        && file.max_incidents.is_none()
        && file.max_incident_seconds.is_none()
        && file.max_rate.is_empty()
        && file.max_lint_findings.is_none()
    {
        return Err(file_error(
            None,
            "the rules file sets no rule: write `forbid = [...]`, a `[max]` or \
             `[max_per_upstream]` table, `max_incidents`, `max_incident_seconds`, `max_lint_findings`, a `[max_rate]` table or `min_recognized` (see `upcause check --help`)",
        ));
    }
    let mut policy = Policy {
        max_incidents: file.max_incidents,
        max_incident_seconds: file.max_incident_seconds,
        max_lint_findings: file.max_lint_findings,
        ..Policy::default()
    };
    for (status, pct) in &file.max_rate {
        let key = rate_status(status.get_ref()).ok_or_else(|| {
            file_error(
                Some(status.span()),
                "a [max_rate] key is a status (`502`) or `5xx`",
            )
        })?;
        let v = *pct.get_ref();
        if !(0.0..=100.0).contains(&v) {
            return Err(file_error(
                Some(pct.span()),
                "a [max_rate] value is a percentage from 0 to 100",
            ));
        }
        policy.max_rate.insert(key, (v * 100.0).round() as u64);
    }
    if let Some(pct) = &file.min_recognized {
        let v = *pct.get_ref();
        if !(0.0..=100.0).contains(&v) {
            return Err(file_error(
                Some(pct.span()),
                "min_recognized is a percentage from 0 to 100",
            ));
        }
        policy.min_recognized_bp = Some((v * 100.0).round() as u64);
    }
    for id in &file.forbid {
        let t = Target::parse(id.get_ref())
            .ok_or_else(|| file_error(Some(id.span()), &unknown_cause(id.get_ref(), "forbid")))?;
        policy.forbid.insert(t);
    }
    for (id, &n) in &file.max {
        let t = Target::parse(id.get_ref())
            .ok_or_else(|| file_error(Some(id.span()), &unknown_cause(id.get_ref(), "[max]")))?;
        policy.max.insert(t, n);
    }
    for (upstream, &n) in &file.max_per_upstream {
        if upstream.get_ref().is_empty() {
            return Err(file_error(
                Some(upstream.span()),
                "empty upstream in [max_per_upstream]",
            ));
        }
        policy
            .max_per_upstream
            .insert(upstream.get_ref().clone(), n);
    }
    Ok(policy)
}

/// Adds the rule flags to `policy`. A flag replaces whatever the rules
/// file said about the same cause (`max` and `forbid` alike) or the same
/// upstream; among flags, the last `--max` for a target wins.
pub fn apply_flags(
    policy: &mut Policy,
    max: &[String],
    forbid: &[String],
    max_upstream: &[String],
) -> Result<()> {
    let mut flags = Policy::default();
    for f in forbid {
        let t = Target::parse(f).ok_or_else(|| Error::Usage(unknown_cause(f, "--forbid")))?;
        flags.forbid.insert(t);
    }
    for f in max {
        let (id, n) = key_count(f, "--max", "CAUSE=N")?;
        let t = Target::parse(id).ok_or_else(|| Error::Usage(unknown_cause(id, "--max")))?;
        flags.max.insert(t, n);
    }
    for f in max_upstream {
        let (upstream, n) = key_count(f, "--max-upstream", "UPSTREAM=N")?;
        flags.max_per_upstream.insert(upstream.to_string(), n);
    }
    for t in flags.forbid.iter().chain(flags.max.keys()) {
        policy.forbid.remove(t);
        policy.max.remove(t);
    }
    policy.forbid.extend(flags.forbid);
    policy.max.extend(flags.max);
    policy.max_per_upstream.extend(flags.max_per_upstream);
    Ok(())
}

/// A `max_rate` status: three digits from 100 to 599, or `5xx`.
fn rate_status(s: &str) -> Option<String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("5xx") {
        return Some("5xx".into());
    }
    let n: u16 = s.parse().ok()?;
    (s.len() == 3 && (100..600).contains(&n)).then(|| n.to_string())
}

/// `--max-rate STATUS=PCT` flags, added to (and overriding) the policy's.
pub fn apply_rate_flags(policy: &mut Policy, flags: &[String]) -> Result<()> {
    for f in flags {
        let bad = || {
            Error::Usage(format!(
                "invalid --max-rate '{f}': use STATUS=PERCENT, such as 502=0.5% or 5xx=1"
            ))
        };
        let (status, pct) = f.split_once('=').ok_or_else(bad)?;
        let status = rate_status(status).ok_or_else(bad)?;
        let bp = parse_tolerance(pct).map_err(|_| bad())?;
        if bp > 10_000 {
            return Err(bad());
        }
        policy.max_rate.insert(status, bp);
    }
    Ok(())
}

/// `KEY=N`, split at the last `=` (an upstream may hold one).
fn key_count<'a>(s: &'a str, flag: &str, form: &str) -> Result<(&'a str, u64)> {
    s.rsplit_once('=')
        .filter(|(k, _)| !k.is_empty())
        .and_then(|(k, n)| Some((k, n.trim().parse::<u64>().ok()?)))
        .ok_or_else(|| {
            Error::Usage(format!(
                "invalid {flag} '{s}': use {form} with N a whole number of failures"
            ))
        })
}

/// A percentage (`10`, `2.5`, `10%`) in hundredths of a percent; at most
/// two decimals so that limits stay exact.
pub fn parse_tolerance(s: &str) -> Result<u64> {
    let bad = || {
        Error::Usage(format!(
            "invalid --tolerance '{s}': use a percentage such as 0, 10, 2.5 or 10%"
        ))
    };
    let t = s.trim();
    let t = t.strip_suffix('%').unwrap_or(t);
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 2 {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

/// Reads a saved `analyze --format json` report.
/// It must have been counted as this run counts (`run_window` seconds,
/// `run_filters`): see [`Baseline`].
pub fn load_baseline(
    path: &Path,
    tolerance_bp: u64,
    run_window: i64,
    run_filters: &ReportFilters,
) -> Result<Baseline> {
    let err = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        err(format!(
            "cannot read baseline: {}",
            crate::error::describe_io(&e)
        ))
    })?;
    let report: Report = serde_json::from_slice(&bytes).map_err(|e| {
        err(format!(
            "not a saved `upcause analyze --format json` report: {e}"
        ))
    })?;
    if report.version != SCHEMA_VERSION {
        return Err(err(format!(
            "baseline has report version {}, this upcause writes version {SCHEMA_VERSION}",
            report.version
        )));
    }
    if let Some(why) = unlike(&report, run_window, run_filters) {
        return Err(err(format!("a baseline counted differently: {why}")));
    }
    Ok(Baseline::from_report(&report, tolerance_bp))
}

/// Why a baseline's counts cannot be compared with those of a run with
/// `window` seconds and `filters`, if they cannot: other cause or upstream
/// filters (which change what is counted), another window, or a time range
/// bounded on other sides. Its time range itself may differ: a baseline is
/// of another time.
fn unlike(base: &Report, window: i64, filters: &ReportFilters) -> Option<String> {
    let f = &base.filters;
    if f.mixed {
        return Some("it was merged from reports with different filters".into());
    }
    let none = |v: Vec<String>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut causes = f.causes.clone();
    causes.sort();
    let mut run_causes = filters.causes.clone();
    run_causes.sort();
    if causes != run_causes || f.upstream != filters.upstream {
        let of = |f: &ReportFilters| {
            let mut v: Vec<String> = f.causes.iter().map(|c| format!("--cause {c}")).collect();
            v.extend(f.upstream.iter().map(|u| format!("--upstream {u}")));
            none(v)
        };
        return Some(format!(
            "its filters are {}, this check's {}; make the baseline with the same ones",
            of(f),
            of(filters)
        ));
    }
    let bounds = |f: &ReportFilters| (f.since.is_some(), f.until.is_some());
    if bounds(f) != bounds(filters) {
        let of = |f: &ReportFilters| {
            let mut v = Vec::new();
            if f.since.is_some() {
                v.push("--since".to_string());
            }
            if f.until.is_some() {
                v.push("--until".to_string());
            }
            none(v)
        };
        return Some(format!(
            "its time range was bounded by {}, this check's by {}: the counts cover spans of another kind",
            of(f),
            of(filters)
        ));
    }
    // The baseline's window may have grown from the same one (a long log
    // coarsens its timeline).
    let mut w = window.max(1);
    while w < base.window_seconds {
        w = crate::aggregate::window::coarser(w);
    }
    if w != base.window_seconds {
        let d = crate::aggregate::window::format_duration;
        return Some(format!(
            "it was made with --window {}, this check uses --window {}",
            d(base.window_seconds),
            d(window)
        ));
    }
    None
}

fn unknown_cause(id: &str, place: &str) -> String {
    crate::catalog::causes::unknown(id, place, true)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(id: &str) -> Target {
        Target::parse(id).unwrap()
    }

    fn parse(text: &str) -> Result<Policy> {
        parse_rules(text, Path::new("upcause.toml"))
    }

    #[test]
    fn reads_the_documented_file() {
        let p = parse(
            r#"
forbid = ["no_live_upstreams", "tls_handshake"]
[max]
any = 50
upstream_timeout = 0
[max_per_upstream]
"http://10.0.1.5:8080" = 10
"#,
        )
        .unwrap();
        assert_eq!(
            p.forbid,
            [cause("no_live_upstreams"), cause("tls_handshake")].into()
        );
        assert_eq!(
            p.max,
            [(Target::Any, 50), (cause("upstream_timeout"), 0)].into()
        );
        assert_eq!(
            p.max_per_upstream,
            [("http://10.0.1.5:8080".to_string(), 10)].into()
        );
    }

    #[test]
    fn a_rules_file_that_sets_nothing_is_an_error() {
        for text in ["", "# rules\n", "[max]\n", "forbid = []\n"] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains("sets no rule"), "{text:?}: {e}");
        }
        let p = parse("min_recognized = 0\n").unwrap();
        assert_eq!(p.min_recognized_bp, Some(0));
        assert!(p.is_empty());
        assert_eq!(
            parse("min_recognized = 12.5").unwrap().min_recognized(),
            1250
        );
        assert_eq!(Policy::default().min_recognized(), 5000);
        let e = parse("min_recognized = 101").unwrap_err().to_string();
        assert!(e.contains("line 1, column 18"), "{e}");
    }

    #[test]
    fn errors_name_line_and_column() {
        let msg = |t: &str| parse(t).unwrap_err().to_string();
        let m = msg("forbid = []\n[maxx]\nany = 1\n");
        assert!(m.starts_with("upcause.toml: line 2, column "), "{m}");
        assert!(m.contains("maxx"), "{m}");
        let m = msg("[max]\nany = 1\n  upstream_timeot = 3\n");
        assert!(m.starts_with("upcause.toml: line 3, column 3:"), "{m}");
        assert!(m.contains("unknown cause 'upstream_timeot'"), "{m}");
        let m = msg("forbid = [\"tls_handshake\", \"nope\"]");
        assert!(m.starts_with("upcause.toml: line 1, column 28:"), "{m}");
        let m = msg("[max]\nany = -1\n");
        assert!(m.starts_with("upcause.toml: line 2, column 7:"), "{m}");
        let m = msg("[max\n");
        assert!(m.starts_with("upcause.toml: line 1, column "), "{m}");
        let m = msg("[max_per_upstream]\n\"\" = 1\n");
        assert!(m.contains("line 2, column 1: empty upstream"), "{m}");
    }

    #[test]
    fn flags_override_the_file_per_target() {
        let mut p = parse(
            "forbid = [\"tls_handshake\"]\n[max]\nany = 50\nupstream_timeout = 0\n[max_per_upstream]\n\"u\" = 1\n",
        )
        .unwrap();
        apply_flags(
            &mut p,
            &["tls_handshake=3".into(), "any=5".into(), "any=7".into()],
            &["upstream_timeout".into()],
            &["u=9".into(), "http://h/?a=b=2".into()],
        )
        .unwrap();
        assert_eq!(p.forbid, [cause("upstream_timeout")].into());
        assert_eq!(
            p.max,
            [(Target::Any, 7), (cause("tls_handshake"), 3)].into()
        );
        assert_eq!(
            p.max_per_upstream,
            [("u".to_string(), 9), ("http://h/?a=b".to_string(), 2)].into()
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for (max, forbid, up) in [
            (&["nope=1"][..], &[][..], &[][..]),
            (&["any"][..], &[][..], &[][..]),
            (&["any=-1"][..], &[][..], &[][..]),
            (&["=1"][..], &[][..], &[][..]),
            (&[][..], &["nope"][..], &[][..]),
            (&[][..], &[][..], &["u=x"][..]),
        ] {
            let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            let e = apply_flags(&mut Policy::default(), &s(max), &s(forbid), &s(up));
            assert!(
                matches!(e, Err(Error::Usage(_))),
                "{max:?} {forbid:?} {up:?}"
            );
        }
    }

    #[test]
    fn tolerance_is_exact() {
        assert_eq!(parse_tolerance("10").unwrap(), 1000);
        assert_eq!(parse_tolerance("10%").unwrap(), 1000);
        assert_eq!(parse_tolerance("2.5").unwrap(), 250);
        assert_eq!(parse_tolerance("0.05").unwrap(), 5);
        for bad in ["", "-1", "x", "1.234", ".5", "1e3", "nan"] {
            assert!(parse_tolerance(bad).is_err(), "{bad}");
        }
        let b = |bp| Baseline {
            counts: BTreeMap::new(),
            tolerance_bp: bp,
        };
        assert_eq!(b(1000).limit(10), 11);
        assert_eq!(b(1000).limit(9), 9);
        assert_eq!(b(0).limit(10), 10);
        assert_eq!(b(700).limit(100), 107);
        assert_eq!(b(250).tolerance_text(), "2.5");
        assert_eq!(b(5).tolerance_text(), "0.05");
        assert_eq!(b(1000).tolerance_text(), "10");
    }
}
