//! The verdict of `upcause check`: a finished [`Report`] judged against a
//! [`Policy`]. Pure: no I/O, so every rule is unit-tested on hand-made
//! reports and the renderers only format what is decided here.

use std::collections::HashMap;

use serde::Serialize;

pub mod rules;

use crate::report::{CauseReport, ExampleLine, Report};
use crate::serverconf::ServerConfig;
use crate::serverconf::lint::{self, Finding};
use rules::{Policy, Target};

/// Which kind of rule a result is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// At most N failed requests of a cause (or of all, `any`).
    Max,
    /// No failed request of a cause at all.
    Forbid,
    /// At most N failed attempts on an upstream.
    MaxPerUpstream,
    /// A cause the baseline does not have.
    BaselineNew,
    /// A cause grew beyond the baseline's count plus the tolerance.
    BaselineGrowth,
    /// At most N incidents.
    MaxIncidents,
    /// No incident longer than N seconds.
    MaxIncidentSeconds,
    /// At most this share of the access logs' requests answered with a
    /// status (or any 5xx).
    MaxRate,
    /// At most N configuration mistakes (`upcause lint`'s errors).
    MaxLintFindings,
}

/// One rule, judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleResult {
    /// The rule as a person reads it (`max upstream_timeout <= 0`).
    pub rule: String,
    /// Its kind.
    pub kind: RuleKind,
    /// The cause id, `any`, or upstream it is about; `None` for the
    /// "no new cause" baseline rule when no cause is new.
    pub target: Option<String>,
    /// The most allowed.
    pub limit: u64,
    /// What the logs show: failed requests, or failed attempts for
    /// `max_per_upstream`.
    pub actual: u64,
    /// Whether the rule holds.
    pub passed: bool,
    /// For `baseline_growth`: the baseline's count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<u64>,
    /// For `max_rate`: the access logs' requests the rate is out of (0
    /// when none was read: the rule cannot hold). `limit` and `actual` are
    /// then rates in hundredths of a percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// The first line of each cause counted by the rule, earliest first
    /// (in input order); empty when nothing was counted.
    pub examples: Vec<ExampleLine>,
}

impl RuleResult {
    /// What was found against what is allowed, in words; shared by every
    /// output format so that they say the same thing.
    pub fn describe(&self) -> String {
        let n = self.actual;
        let s = if n == 1 { "" } else { "s" };
        let what = match (self.kind, self.target.as_deref()) {
            (RuleKind::MaxIncidents, _) => {
                format!("{n} incident{}", if n == 1 { "" } else { "s" })
            }
            (RuleKind::MaxIncidentSeconds, _) => format!("longest incident {n}s"),
            (RuleKind::MaxLintFindings, _) => format!("{n} configuration mistake{s}"),
            (_, None) => "no cause outside the baseline".to_string(),
            (RuleKind::MaxPerUpstream, Some(u)) => format!("{n} failed attempt{s} on {u}"),
            (_, Some("any")) => format!("{n} failed request{s} over all causes"),
            (_, Some(id)) => format!("{n} failed request{s} of {id}"),
        };
        if self.kind == RuleKind::MaxRate {
            let status = self.target.as_deref().unwrap_or("5xx");
            return match self.requests {
                Some(0) | None => format!(
                    "no access-log request was read, so the rate of {status} cannot be judged"
                ),
                Some(n) => format!(
                    "{} of {n} requests answered {status}, limit {}",
                    percent(self.actual),
                    percent(self.limit)
                ),
            };
        }
        match self.kind {
            RuleKind::BaselineNew if self.target.is_some() => {
                format!("{what}, a cause the baseline does not have")
            }
            RuleKind::BaselineNew => what,
            RuleKind::BaselineGrowth => format!(
                "{what}, baseline {}, limit {}",
                self.baseline.unwrap_or(0),
                self.limit
            ),
            _ => format!("{what}, limit {}", self.limit),
        }
    }
}

/// An input the gate cannot vouch for: it could not be read (completely),
/// or too few of its lines are in a known format. The gate cannot pass on
/// logs it has not seen or did not understand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The input as named.
    pub path: String,
    /// What is wrong with it.
    pub kind: InputErrorKind,
    /// Why, in words.
    pub error: String,
}

/// What is wrong with an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputErrorKind {
    /// It could not be opened or read to its end, or it is binary or
    /// compressed in a format upcause does not read.
    Unreadable,
    /// It was read, but too few of its lines are error-log lines
    /// (`--min-recognized`): an access log, another file, an empty one.
    Unrecognized,
}

/// Every rule judged, in a fixed order: forbid, max, max_per_upstream,
/// max_incidents, max_incident_seconds, baseline_new, baseline_growth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Every rule held and every input was read.
    pub passed: bool,
    /// The rules.
    pub rules: Vec<RuleResult>,
    /// Inputs that could not be read.
    pub input_errors: Vec<InputError>,
}

impl Verdict {
    /// The rules that failed.
    pub fn failed(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| !r.passed)
    }
}

/// Judges `report` against `policy`, without configuration findings.
#[cfg(test)]
pub fn verdict(report: &Report, policy: &Policy) -> Verdict {
    verdict_with_lint(report, policy, &[])
}

/// Every configuration finding: `upcause lint`'s on the configuration,
/// and, with a report of the servers' logs, those the logs prove (a
/// header buffer smaller than the headers they show), in file order.
pub fn lint_findings(cfg: &ServerConfig, report: Option<&Report>) -> Vec<Finding> {
    let mut out = lint::lint(cfg);
    if let Some(r) = report {
        for c in &r.causes {
            out.extend(lint::from_logs(&c.cause, c.count, &c.config));
        }
    }
    lint::sort(&mut out);
    out
}

/// Judges `report` against `policy`, with the configuration's findings
/// judged by `max_lint_findings` (errors count, notes do not).
pub fn verdict_with_lint(report: &Report, policy: &Policy, findings: &[Finding]) -> Verdict {
    let order: HashMap<&str, usize> = report
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let examples = |causes: &mut dyn Iterator<Item = &CauseReport>| first_lines(&order, causes);
    let count = |t: Target| -> (u64, Vec<ExampleLine>) {
        match t {
            Target::Any => (report.total_failures, examples(&mut report.causes.iter())),
            Target::Cause(_) => (
                of_cause(report, t.id()).fold(0u64, |n, c| n.saturating_add(c.count)),
                examples(&mut of_cause(report, t.id())),
            ),
        }
    };
    let mut rules = Vec::new();
    for &t in &policy.forbid {
        let (actual, ex) = count(t);
        rules.push(RuleResult {
            rule: format!("forbid {}", t.id()),
            kind: RuleKind::Forbid,
            target: Some(t.id().to_string()),
            limit: 0,
            actual,
            passed: actual == 0,
            baseline: None,
            requests: None,
            examples: ex,
        });
    }
    for (&t, &limit) in &policy.max {
        let (actual, ex) = count(t);
        rules.push(RuleResult {
            rule: format!("max {} <= {limit}", t.id()),
            kind: RuleKind::Max,
            target: Some(t.id().to_string()),
            limit,
            actual,
            passed: actual <= limit,
            baseline: None,
            requests: None,
            examples: ex,
        });
    }
    for (upstream, &limit) in &policy.max_per_upstream {
        let on = |c: &&CauseReport| c.upstreams.iter().any(|u| &u.upstream == upstream);
        let actual = report
            .causes
            .iter()
            .flat_map(|c| &c.upstreams)
            .filter(|u| &u.upstream == upstream)
            .map(|u| u.count)
            .sum();
        rules.push(RuleResult {
            rule: format!("max_per_upstream {upstream} <= {limit}"),
            kind: RuleKind::MaxPerUpstream,
            target: Some(upstream.clone()),
            limit,
            actual,
            passed: actual <= limit,
            baseline: None,
            requests: None,
            examples: examples(&mut report.causes.iter().filter(on)),
        });
    }
    // Incidents: the root cause's first line of each one counted.
    let evidence = |i: &crate::report::IncidentReport| i.root_cause.evidence.first().cloned();
    if let Some(limit) = policy.max_incidents {
        let actual = report.incidents.len() as u64;
        rules.push(RuleResult {
            rule: format!("max_incidents <= {limit}"),
            kind: RuleKind::MaxIncidents,
            target: Some("incidents".to_string()),
            limit,
            actual,
            passed: actual <= limit,
            baseline: None,
            requests: None,
            examples: report.incidents.iter().filter_map(evidence).collect(),
        });
    }
    if let Some(limit) = policy.max_incident_seconds {
        let longest = report
            .incidents
            .iter()
            .max_by_key(|i| i.seconds)
            .filter(|i| i.seconds > 0);
        let actual = longest.map_or(0, |i| i.seconds.max(0) as u64);
        rules.push(RuleResult {
            rule: format!("max_incident_seconds <= {limit}"),
            kind: RuleKind::MaxIncidentSeconds,
            target: Some("incidents".to_string()),
            limit,
            actual,
            passed: actual <= limit,
            baseline: None,
            requests: None,
            examples: longest
                .filter(|_| actual > limit)
                .and_then(evidence)
                .into_iter()
                .collect(),
        });
    }
    for (status, &limit) in &policy.max_rate {
        let impact = report.client_impact.as_ref();
        let requests = impact.map_or(0, |c| c.requests);
        let count: u64 = impact.map_or(0, |c| {
            c.statuses
                .iter()
                .filter(|(s, _)| match status.as_str() {
                    "5xx" => (500..600).contains(*s),
                    code => code == s.to_string(),
                })
                .map(|(_, n)| n)
                .sum()
        });
        // The rate rounded up, so that a rate just over the limit does
        // not print as the limit.
        let actual = if requests == 0 {
            0
        } else {
            (u128::from(count) * 10_000).div_ceil(u128::from(requests)) as u64
        };
        rules.push(RuleResult {
            rule: format!("max_rate {status} <= {}", percent(limit)),
            kind: RuleKind::MaxRate,
            target: Some(status.clone()),
            limit,
            actual,
            passed: requests > 0
                && u128::from(count) * 10_000 <= u128::from(limit) * u128::from(requests),
            requests: Some(requests),
            baseline: None,
            examples: Vec::new(),
        });
    }
    if let Some(limit) = policy.max_lint_findings {
        let errors: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity == lint::Severity::Error)
            .collect();
        let actual = errors.len() as u64;
        rules.push(RuleResult {
            rule: format!("max_lint_findings <= {limit}"),
            kind: RuleKind::MaxLintFindings,
            target: Some("config".to_string()),
            limit,
            actual,
            passed: actual <= limit,
            requests: None,
            baseline: None,
            examples: errors
                .iter()
                .map(|f| {
                    let (file, line) = f.place();
                    ExampleLine {
                        file: file.to_string(),
                        line,
                        text: format!("{}: {}", f.cause, f.message),
                        offset_seconds: None,
                    }
                })
                .collect(),
        });
    }
    if let Some(base) = &policy.baseline {
        // Root causes, not echoes: an echo's requests under an incident
        // rooted in another cause are judged through that root.
        let judged = rules::judged_counts(report);
        let judged_of = |id: &str| judged.get(id).copied().unwrap_or(0);
        let new: Vec<_> = report
            .causes
            .iter()
            .filter(|c| judged_of(&c.cause) > 0 && !base.counts.contains_key(&c.cause))
            .collect();
        for c in &new {
            rules.push(RuleResult {
                rule: format!("baseline_new {}", c.cause),
                kind: RuleKind::BaselineNew,
                target: Some(c.cause.clone()),
                limit: 0,
                actual: judged_of(&c.cause),
                passed: false,
                baseline: None,
                requests: None,
                examples: examples(&mut std::iter::once(*c)),
            });
        }
        if new.is_empty() {
            rules.push(RuleResult {
                rule: "baseline_new (none)".to_string(),
                kind: RuleKind::BaselineNew,
                target: None,
                limit: 0,
                actual: 0,
                passed: true,
                baseline: None,
                requests: None,
                examples: Vec::new(),
            });
        }
        for (id, &was) in &base.counts {
            let limit = base.limit(was);
            let actual = judged_of(id);
            // An echo that was and is all its roots' says nothing.
            if was == 0 && actual == 0 {
                continue;
            }
            rules.push(RuleResult {
                rule: format!(
                    "baseline_growth {id} <= {limit} (baseline {was} +{}%)",
                    base.tolerance_text()
                ),
                kind: RuleKind::BaselineGrowth,
                target: Some(id.clone()),
                limit,
                actual,
                passed: actual <= limit,
                baseline: Some(was),
                requests: None,
                examples: examples(&mut of_cause(report, id)),
            });
        }
    }
    let input_errors = input_errors(report, policy.min_recognized(), !policy.max_rate.is_empty());
    Verdict {
        passed: input_errors.is_empty() && rules.iter().all(|r| r.passed),
        rules,
        input_errors,
    }
}

/// The inputs that could not be read, and those read whose share of lines
/// in a known format is under `min_bp` hundredths of a percent. The share
/// is of the lines that hold something: blank lines and the continuation
/// lines of multi-line records are left out, lines over the length limit
/// count as not recognized. With `min_bp` 0 any input that could be read
/// passes, even an empty one. Access-log lines count as known only when
/// `access_judged` (a `max_rate` rule judges them): otherwise an access
/// log would pass a gate that cannot see its failures.
pub fn input_errors(report: &Report, min_bp: u64, access_judged: bool) -> Vec<InputError> {
    let mut v = Vec::new();
    for f in &report.files {
        if let Some(e) = &f.error {
            v.push(InputError {
                path: f.path.clone(),
                kind: InputErrorKind::Unreadable,
                error: e.clone(),
            });
            continue;
        }
        if min_bp == 0 {
            continue;
        }
        let access = if access_judged { f.access_lines } else { 0 };
        let recognized = f
            .recognized
            .0
            .iter()
            .fold(access, |a, (_, &n)| a.saturating_add(n));
        let judged = recognized
            .saturating_add(f.unrecognized)
            .saturating_add(f.oversized);
        let pct = |bp: u64| {
            if bp.is_multiple_of(100) {
                format!("{}%", bp / 100)
            } else {
                format!("{}%", bp as f64 / 100.0)
            }
        };
        let lines = |n: u64| format!("{n} line{}", if n == 1 { "" } else { "s" });
        let error = if judged == 0 {
            "empty: no line to judge (`--min-recognized 0` accepts empty inputs)".to_string()
        } else if recognized == 0 {
            format!(
                "none of its {} is in a known error-log format (nginx, Apache httpd, php-fpm): \
                 an access log or another file? (`--min-recognized 0` accepts it)",
                lines(judged)
            )
        } else if u128::from(recognized) * 10_000 < u128::from(min_bp) * u128::from(judged) {
            let share_bp = (u128::from(recognized) * 10_000 / u128::from(judged)) as u64;
            format!(
                "only {} of its {} in a known error-log format, under --min-recognized {}",
                pct(share_bp),
                lines(judged),
                pct(min_bp)
            )
        } else {
            continue;
        };
        v.push(InputError {
            path: f.path.clone(),
            kind: InputErrorKind::Unrecognized,
            error,
        });
    }
    v
}

/// The report's entries for one cause id.
fn of_cause<'a>(report: &'a Report, id: &'a str) -> impl Iterator<Item = &'a CauseReport> {
    report.causes.iter().filter(move |c| c.cause == id)
}

/// The first line of each of `causes`, earliest first: by the order the
/// inputs were read, then by line.
fn first_lines(
    order: &HashMap<&str, usize>,
    causes: &mut dyn Iterator<Item = &CauseReport>,
) -> Vec<ExampleLine> {
    let mut v: Vec<ExampleLine> = causes.filter_map(|c| c.example.clone()).collect();
    v.sort_by_key(|e| {
        (
            order.get(e.file.as_str()).copied().unwrap_or(usize::MAX),
            e.line,
        )
    });
    v.dedup();
    v
}

/// Hundredths of a percent as a percentage (`50` is `0.5%`).
fn percent(bp: u64) -> String {
    if bp.is_multiple_of(100) {
        format!("{}%", bp / 100)
    } else {
        format!("{:.2}%", bp as f64 / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::rules::Baseline;
    use crate::report::{FileReport, Fixes, UpstreamCount};

    fn cause(
        id: &str,
        count: u64,
        upstreams: &[(&str, u64)],
        file: &str,
        line: u64,
    ) -> CauseReport {
        CauseReport {
            cause: id.to_string(),
            title: String::new(),
            status: None,
            statuses: Vec::new(),
            count,
            attempts: upstreams.iter().map(|u| u.1).sum(),
            share: 0.0,
            first_seen: None,
            last_seen: None,
            untimed: 0,
            peak: None,
            timeline: Vec::new(),
            upstreams: upstreams
                .iter()
                .map(|&(u, n)| UpstreamCount {
                    upstream: u.to_string(),
                    count: n,
                })
                .collect(),
            routes: Vec::new(),
            example: Some(ExampleLine {
                file: file.to_string(),
                line,
                text: format!("{id} line"),
                offset_seconds: None,
            }),
            fix: String::new(),
            fixes: Fixes::default(),
            meaning: String::new(),
            servers: Default::default(),
            lines: count,
            config: Vec::new(),
            client_impact: None,
        }
    }

    fn report(causes: Vec<CauseReport>) -> Report {
        let file = |p: &str| FileReport {
            path: p.to_string(),
            lines: 10,
            matched: 1,
            unrecognized: 0,
            oversized: 0,
            continuation: 0,
            blank: 0,
            recognized: {
                let mut r = crate::report::ServerCounts::default();
                r.0[crate::event::Server::Nginx] = 10;
                r
            },
            excluded_failures: 0,
            error: None,
            access_lines: 0,
            tz_offset: None,
            access_format: None,
        };
        Report {
            version: 1,
            window: "1m".into(),
            window_seconds: 60,
            total_failures: causes.iter().map(|c| c.count).sum(),
            explaining_lines: 0,
            excluded_failures: 0,
            untimed_failures: 0,
            filters: Default::default(),
            causes,
            lines: Default::default(),
            files: vec![file("b.log"), file("a.log")],
            unrecognized_examples: Vec::new(),
            folded: Default::default(),
            incidents: Vec::new(),
            quiet: Vec::new(),
            activity: Default::default(),
            client_impact: None,
            startup_errors: Vec::new(),
            skipped_files: Vec::new(),
            clock_warnings: Vec::new(),
        }
    }

    fn sample() -> Report {
        report(vec![
            cause(
                "upstream_timeout",
                5,
                &[("http://u1", 4), ("http://u2", 2)],
                "a.log",
                3,
            ),
            cause("upstream_refused", 2, &[("http://u2", 2)], "b.log", 9),
        ])
    }

    fn t(id: &str) -> Target {
        Target::parse(id).unwrap()
    }

    #[test]
    fn empty_policy_passes() {
        let v = verdict(&sample(), &Policy::default());
        assert!(v.passed);
        assert!(v.rules.is_empty());
    }

    #[test]
    fn max_per_cause_and_any() {
        let policy = Policy {
            max: [
                (Target::Any, 7),
                (t("upstream_timeout"), 4),
                (t("tls_verify"), 0),
            ]
            .into(),
            ..Policy::default()
        };
        let v = verdict(&sample(), &policy);
        assert!(!v.passed);
        let rules: Vec<(&str, u64, u64, bool)> = v
            .rules
            .iter()
            .map(|r| (r.rule.as_str(), r.limit, r.actual, r.passed))
            .collect();
        assert_eq!(
            rules,
            [
                ("max any <= 7", 7, 7, true),
                ("max upstream_timeout <= 4", 4, 5, false),
                ("max tls_verify <= 0", 0, 0, true),
            ]
        );
        // `any` lists every cause's first line, in input order (b.log was
        // read first).
        let any: Vec<(&str, u64)> = v.rules[0]
            .examples
            .iter()
            .map(|e| (e.file.as_str(), e.line))
            .collect();
        assert_eq!(any, [("b.log", 9), ("a.log", 3)]);
        assert_eq!(v.rules[1].examples[0].text, "upstream_timeout line");
        assert!(v.rules[2].examples.is_empty());
        assert_eq!(v.failed().count(), 1);
        assert_eq!(
            v.rules[1].describe(),
            "5 failed requests of upstream_timeout, limit 4"
        );
    }

    #[test]
    fn forbid() {
        let policy = Policy {
            forbid: [t("upstream_refused"), t("tls_handshake")].into(),
            ..Policy::default()
        };
        let v = verdict(&sample(), &policy);
        assert_eq!(v.rules.len(), 2);
        assert_eq!(v.rules[0].rule, "forbid upstream_refused");
        assert!(!v.rules[0].passed);
        assert_eq!(v.rules[0].actual, 2);
        assert_eq!(v.rules[0].examples[0].line, 9);
        assert_eq!(v.rules[1].rule, "forbid tls_handshake");
        assert!(v.rules[1].passed);
        assert!(!v.passed);
    }

    #[test]
    fn max_per_upstream_counts_attempts_over_causes() {
        let policy = Policy {
            max_per_upstream: [
                ("http://u1".to_string(), 4),
                ("http://u2".to_string(), 3),
                ("http://u3".to_string(), 0),
            ]
            .into(),
            ..Policy::default()
        };
        let v = verdict(&sample(), &policy);
        let r: Vec<(u64, bool, usize)> = v
            .rules
            .iter()
            .map(|r| (r.actual, r.passed, r.examples.len()))
            .collect();
        assert_eq!(r, [(4, true, 1), (4, false, 2), (0, true, 0)]);
        assert_eq!(v.rules[1].kind, RuleKind::MaxPerUpstream);
        assert_eq!(
            v.rules[1].describe(),
            "4 failed attempts on http://u2, limit 3"
        );
    }

    #[test]
    fn baseline_new_and_growth() {
        let base = |counts: &[(&str, u64)], bp| Policy {
            baseline: Some(Baseline {
                counts: counts.iter().map(|&(c, n)| (c.to_string(), n)).collect(),
                tolerance_bp: bp,
            }),
            ..Policy::default()
        };
        // Same causes, same counts: passes.
        let v = verdict(
            &sample(),
            &base(&[("upstream_timeout", 5), ("upstream_refused", 2)], 0),
        );
        assert!(v.passed, "{v:#?}");
        assert_eq!(v.rules[0].rule, "baseline_new (none)");
        assert_eq!(v.rules[0].target, None);
        // A new cause fails, with its example.
        let v = verdict(&sample(), &base(&[("upstream_timeout", 9)], 0));
        assert!(!v.passed);
        let new = &v.rules[0];
        assert_eq!(
            (new.kind, new.target.as_deref(), new.actual, new.passed),
            (RuleKind::BaselineNew, Some("upstream_refused"), 2, false)
        );
        assert_eq!(new.examples[0].line, 9);
        assert!(v.rules[1].passed);
        // Growth: 5 over a baseline of 4 fails at 0%, 20% allows 4.8 -> 4,
        // 25% allows 5.
        for (bp, passed) in [(0, false), (2000, false), (2500, true)] {
            let v = verdict(
                &sample(),
                &base(&[("upstream_timeout", 4), ("upstream_refused", 2)], bp),
            );
            let g = v
                .rules
                .iter()
                .find(|r| r.target.as_deref() == Some("upstream_timeout"))
                .unwrap();
            assert_eq!(g.kind, RuleKind::BaselineGrowth);
            assert_eq!(g.passed, passed, "{bp}");
            assert_eq!(g.baseline, Some(4));
            assert_eq!(v.passed, passed);
        }
        // A cause that went away passes with 0.
        let v = verdict(
            &sample(),
            &base(
                &[
                    ("upstream_timeout", 5),
                    ("upstream_refused", 2),
                    ("tls_verify", 3),
                ],
                0,
            ),
        );
        assert!(v.passed);
        let gone = v
            .rules
            .iter()
            .find(|r| r.target.as_deref() == Some("tls_verify"))
            .unwrap();
        assert_eq!((gone.actual, gone.limit), (0, 3));
        assert_eq!(
            gone.rule,
            "baseline_growth tls_verify <= 3 (baseline 3 +0%)"
        );
    }

    #[test]
    fn an_unreadable_input_never_passes() {
        let mut r = sample();
        r.files[1].error = Some("no such file or directory".into());
        let v = verdict(&r, &Policy::default());
        assert!(!v.passed);
        assert_eq!(v.input_errors[0].path, "a.log");
    }
}
