//! Alert rules: `CAUSE>N/DURATION`, firing once when a rule starts to hold
//! and once more when it stops.
//!
//! A rule holds while the failed requests of its cause (or of all causes,
//! `any`) whose log time lies in the last `DURATION` on the follow clock
//! (see [`super::rolling`]) exceed `N` (`>`) or reach it (`>=`). Counts are
//! kept per second, so a rule's window need not match `--window`, and only
//! for the rule's own window, so memory stays bounded.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aggregate::window;
use crate::error::{Error, Result};
use crate::event::{CauseId, LocalTime};

use super::live::Tracked;

/// Longest alert window.
const MAX_WINDOW: i64 = 86_400;

/// One parsed `--alert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// As written (spaces removed), which names it in the output.
    pub text: String,
    /// The cause, or `None` for `any`.
    pub cause: Option<CauseId>,
    /// `>=` rather than `>`.
    pub inclusive: bool,
    /// The threshold.
    pub threshold: u64,
    /// Window in seconds.
    pub window: i64,
}

impl Rule {
    /// Parses `CAUSE>N/DURATION` or `CAUSE>=N/DURATION`; `/DURATION`
    /// defaults to `/1m`.
    pub fn parse(s: &str) -> Result<Rule> {
        let text: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = |why: &str| {
            Error::Usage(format!(
                "invalid --alert '{s}': {why}; use CAUSE>N/DURATION, e.g. 'upstream_timeout>20/1m' or 'any>=100/5m'"
            ))
        };
        let (cause, rest) = text.split_once('>').ok_or_else(|| bad("no '>'"))?;
        let (inclusive, rest) = match rest.strip_prefix('=') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (n, dur) = rest.split_once('/').unwrap_or((rest, "1m"));
        let threshold = n
            .parse::<u64>()
            .map_err(|_| bad(&format!("'{n}' is not a count")))?;
        let window = window::parse_duration(dur)
            .filter(|&w| w <= MAX_WINDOW)
            .ok_or_else(|| bad(&format!("'{dur}' is not a duration of at most 1d")))?;
        let cause = match cause {
            "any" => None,
            id => Some(CauseId::from_id(id).ok_or_else(|| {
                Error::Usage(format!(
                    "invalid --alert '{s}': {}",
                    crate::catalog::causes::unknown(id, "the rule", true)
                ))
            })?),
        };
        Ok(Rule {
            text,
            cause,
            inclusive,
            threshold,
            window,
        })
    }

    fn holds(&self, count: u64) -> bool {
        if self.inclusive {
            count >= self.threshold
        } else {
            count > self.threshold
        }
    }
}

/// A rule and its state.
#[derive(Debug)]
struct Alert {
    rule: Rule,
    seconds: BTreeMap<i64, u64>,
    sum: u64,
    firing: bool,
}

/// A rule that started or stopped holding: what is printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The rule as written.
    pub alert: String,
    /// `firing` or `resolved`.
    pub state: &'static str,
    /// Cause id or `any`.
    pub cause: String,
    /// The threshold.
    pub threshold: u64,
    /// `>` or `>=`.
    pub op: &'static str,
    /// The rule's window (`1m`).
    pub window: String,
    /// Its length in seconds.
    pub window_seconds: i64,
    /// Failed requests in the window now.
    pub count: u64,
    /// The follow clock (log time) when it changed.
    pub at: String,
    /// What went wrong first, when the rule's failures belong to an open
    /// incident: a cascade's `no_live_upstreams` alerts name the members'
    /// `upstream_timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<AlertRoot>,
}

/// The root cause of the incident an alert's failures belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRoot {
    /// Cause id.
    pub cause: String,
    /// Where it failed, most attempts first.
    pub upstreams: Vec<String>,
    /// The incident's id (as in its `incident_open` event).
    pub incident: u64,
    /// The incident's first failure.
    pub since: String,
}

impl AlertRoot {
    /// The root cause of incident `id`, as the incidents stage reported it.
    pub fn of(id: u64, incident: &crate::report::IncidentReport) -> AlertRoot {
        AlertRoot {
            cause: incident.root_cause.cause.clone(),
            upstreams: incident
                .root_cause
                .upstreams
                .iter()
                .map(|u| u.upstream.clone())
                .collect(),
            incident: id,
            since: incident.start.clone(),
        }
    }

    /// In words: `upstream_timeout on http://10.0.0.1:80, http://10.0.0.2:80`.
    pub fn words(&self) -> String {
        if self.upstreams.is_empty() {
            self.cause.clone()
        } else {
            format!("{} on {}", self.cause, self.upstreams.join(", "))
        }
    }
}

/// Names the root cause in each transition to `firing` whose rule's cause
/// (any cause, for `any`) is one of an open incident's: the newest such
/// incident of `open` (oldest first).
pub fn name_roots(changed: &mut [Transition], open: &[Tracked]) {
    for t in changed.iter_mut().filter(|t| t.state == "firing") {
        let hit = open
            .iter()
            .rev()
            .find(|i| t.cause == "any" || i.report.causes.iter().any(|c| c.cause == t.cause));
        if let Some(Tracked { id, report: i, .. }) = hit {
            t.root_cause = Some(AlertRoot::of(*id, i));
        }
    }
}

/// Every rule of the run.
#[derive(Debug, Default)]
pub struct Alerts {
    alerts: Vec<Alert>,
}

impl Alerts {
    /// Rules, none holding.
    pub fn new(rules: Vec<Rule>) -> Alerts {
        Alerts {
            alerts: rules
                .into_iter()
                .map(|rule| Alert {
                    rule,
                    seconds: BTreeMap::new(),
                    sum: 0,
                    firing: false,
                })
                .collect(),
        }
    }

    /// Counts `n` failed requests of `cause` at log second `sec` (ignored
    /// outside every window: older, or ahead of the clock).
    pub fn record(&mut self, cause: CauseId, sec: i64, n: u64, now: i64) {
        for a in &mut self.alerts {
            if a.rule.cause.is_some_and(|c| c != cause) || sec <= now - a.rule.window || sec > now {
                continue;
            }
            *a.seconds.entry(sec).or_default() += n;
            a.sum += n;
        }
    }

    /// Forgets what left each window and returns the rules that changed.
    pub fn evaluate(&mut self, now: i64) -> Vec<Transition> {
        let mut out = Vec::new();
        for a in &mut self.alerts {
            let keep = a.seconds.split_off(&(now - a.rule.window + 1));
            a.sum -= a.seconds.values().sum::<u64>();
            a.seconds = keep;
            let holds = a.rule.holds(a.sum);
            if holds != a.firing {
                a.firing = holds;
                out.push(Transition {
                    alert: a.rule.text.clone(),
                    state: if holds { "firing" } else { "resolved" },
                    cause: a.rule.cause.map_or("any", |c| c.info().id).to_string(),
                    threshold: a.rule.threshold,
                    op: if a.rule.inclusive { ">=" } else { ">" },
                    window: window::format_duration(a.rule.window),
                    window_seconds: a.rule.window,
                    count: a.sum,
                    at: LocalTime(now).iso(),
                    root_cause: None,
                });
            }
        }
        out
    }

    /// Each rule as written, and whether it holds.
    pub fn states(&self) -> impl Iterator<Item = (&str, bool, u64)> {
        self.alerts
            .iter()
            .map(|a| (a.rule.text.as_str(), a.firing, a.sum))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CauseId {
        CauseId::from_id(s).unwrap()
    }

    #[test]
    fn parses_rules() {
        let r = Rule::parse("upstream_timeout>20/1m").unwrap();
        assert_eq!(
            (r.cause, r.inclusive, r.threshold, r.window),
            (Some(id("upstream_timeout")), false, 20, 60)
        );
        let r = Rule::parse(" any >= 5 / 30s ").unwrap();
        assert_eq!(
            (r.cause, r.inclusive, r.threshold, r.window),
            (None, true, 5, 30)
        );
        assert_eq!(r.text, "any>=5/30s");
        assert_eq!(Rule::parse("any>3").unwrap().window, 60);
        for bad in [
            "upstream_timout>1/1m",
            "any",
            "any>x/1m",
            "any>1/1y",
            "any>1/2d",
            "any<3",
        ] {
            let e = Rule::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--alert"), "{bad}: {e}");
        }
        assert!(
            Rule::parse("upstream_timout>1")
                .unwrap_err()
                .to_string()
                .contains("unknown cause 'upstream_timout'")
        );
    }

    #[test]
    fn fires_once_and_resolves_once() {
        let refused = id("upstream_refused");
        let mut a = Alerts::new(vec![
            Rule::parse("upstream_refused>2/10s").unwrap(),
            Rule::parse("any>=1/10s").unwrap(),
        ]);
        a.record(refused, 100, 2, 100);
        let t = a.evaluate(100);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].alert.as_str(), t[0].state), ("any>=1/10s", "firing"));
        a.record(refused, 101, 1, 101);
        a.record(id("upstream_timeout"), 101, 1, 101);
        let t = a.evaluate(101);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].state, t[0].count), ("firing", 3));
        // Still holding: nothing new.
        a.record(refused, 102, 1, 102);
        assert!(a.evaluate(105).is_empty());
        // Second 100 leaves the window at 110, 101 at 111, 102 at 112.
        assert!(a.evaluate(109).is_empty());
        let t = a.evaluate(110);
        assert_eq!(
            (t[0].alert.as_str(), t[0].state, t[0].count),
            ("upstream_refused>2/10s", "resolved", 2)
        );
        assert!(a.evaluate(111).is_empty());
        let t = a.evaluate(112);
        assert_eq!(
            (t[0].alert.as_str(), t[0].state),
            ("any>=1/10s", "resolved")
        );
        // Old news does not count.
        a.record(refused, 50, 9, 112);
        assert!(a.evaluate(112).is_empty());
    }
}
