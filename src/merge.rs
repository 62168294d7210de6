//! Combining saved JSON reports into the report of all their inputs.
//!
//! Fleets analyze archives where they lie (`upcause analyze --format json`
//! on each host) and combine the results anywhere. Each report is turned
//! back into the [`Aggregator`] that produced it and the aggregators are
//! merged, exactly as a parallel run merges its parts; the merged report is
//! then built and rendered as usual, its incidents found again in the
//! merged cells (each report's `activity`), not concatenated.
//!
//! The result is identical to analyzing all inputs at once, in the order
//! the reports are given, because joins and retries never span inputs. It
//! differs only where key caps fold keys: an upstream or route folded into
//! `(other)` in one report stays there, and keys past the caps in the union
//! are folded in the order met.

use std::collections::BTreeMap;
use std::path::Path;

use crate::aggregate::lifecycle::LifecycleLine;
use crate::aggregate::startup::StartupStats;
use crate::aggregate::{Aggregator, CauseStats, Example, FileStats, Sample};
use crate::error::{Error, Result};
use crate::event::{CauseId, Lifecycle, LineStats, LocalTime, Server, StartupId};
use crate::keys::OTHER;
use crate::parse::time;
use crate::report::clients::{self, CauseImpact, ClientImpact};
use crate::report::{Report, ReportFilters, SCHEMA_VERSION};

/// Reads a saved JSON report.
pub fn read_report(path: &Path) -> Result<Report> {
    let bad = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read(path).map_err(|e| bad(crate::error::describe_io(&e)))?;
    let report: Report = serde_json::from_slice(&text)
        .map_err(|e| bad(format!("not an upcause JSON report: {e}")))?;
    if report.version != SCHEMA_VERSION {
        return Err(bad(format!(
            "report version {} (this upcause reads version {SCHEMA_VERSION})",
            report.version
        )));
    }
    Ok(report)
}

/// The aggregator a report was built from (as far as the report tells).
pub fn aggregator_of(r: &Report) -> std::result::Result<Aggregator, String> {
    let mut agg = Aggregator::new(r.window_seconds.max(1));
    for f in &r.files {
        agg.files.push(FileStats {
            path: f.path.clone(),
            lines: LineStats {
                total: f.lines,
                matched: f.matched,
                unrecognized: f.unrecognized,
                oversized: f.oversized,
                continuation: f.continuation,
                blank: f.blank,
                by_server: f.recognized.0,
                excluded: f.excluded_failures,
                access: f.access_lines,
            },
            error: f.error.clone(),
        });
    }
    let file_index = |name: &str| -> u32 {
        agg_file_index(
            &r.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            name,
        )
    };
    for c in &r.causes {
        let id = CauseId::from_id(&c.cause).ok_or_else(|| format!("unknown cause {}", c.cause))?;
        let mut s = CauseStats {
            count: c.count,
            attempts: c.attempts,
            lines: c.lines,
            untimed: c.untimed,
            first: c.first_seen.as_deref().and_then(parse_time),
            last: c.last_seen.as_deref().and_then(parse_time),
            servers: c.servers.0,
            ..CauseStats::default()
        };
        for p in &c.timeline {
            let t = parse_time(&p.start).ok_or_else(|| format!("bad time {}", p.start))?;
            *s.timeline.entry(t.0).or_default() += p.count;
        }
        for u in &c.upstreams {
            let k = key(&mut agg.upstreams, &u.upstream);
            s.upstreams.add(k, u.count);
        }
        for rt in &c.routes {
            let k = key(&mut agg.routes, &rt.route);
            s.routes.add(k, rt.count);
        }
        for st in &c.statuses {
            *s.statuses.entry(st.status).or_default() += st.count;
        }
        s.example = c.example.as_ref().map(|e| Example {
            file: file_index(&e.file),
            line: e.line,
            text: e.text.as_bytes().to_vec(),
        });
        agg.causes[id.0 as usize] = s;
    }
    for e in &r.unrecognized_examples {
        agg.unrecognized.push(Sample {
            file: file_index(&e.file),
            line: e.line,
            text: e.text.as_bytes().to_vec(),
        });
    }
    for s in &r.startup_errors {
        let kind = StartupId::from_id(&s.kind)
            .ok_or_else(|| format!("unknown start-up error {}", s.kind))?;
        let server = Server::ALL
            .into_iter()
            .find(|v| v.name() == s.server)
            .ok_or_else(|| format!("unknown server {}", s.server))?;
        agg.startup.restore(StartupStats {
            kind,
            server,
            message: s.message.as_bytes().to_vec(),
            config: s.config.as_ref().map(|c| c.as_bytes().to_vec()),
            count: s.count,
            untimed: s.untimed,
            first: s.first_seen.as_deref().and_then(parse_time),
            last: s.last_seen.as_deref().and_then(parse_time),
            example: Example {
                file: file_index(&s.example.file),
                line: s.example.line,
                text: s.example.text.as_bytes().to_vec(),
            },
        });
    }
    agg.unread = r
        .skipped_files
        .iter()
        .map(|s| (s.path.clone(), s.reason.clone()))
        .collect();
    agg.cells = crate::report::cells_of(&r.activity, &mut agg, &file_index)?;
    for l in &r.activity.lifecycle {
        let kind = Lifecycle::from_id(&l.kind)
            .ok_or_else(|| format!("unknown lifecycle line kind {}", l.kind))?;
        let server = Server::ALL
            .into_iter()
            .find(|v| v.name() == l.server)
            .ok_or_else(|| format!("unknown server {}", l.server))?;
        agg.lifecycle.restore(LifecycleLine {
            kind,
            server,
            time: l.at.map(LocalTime),
            line: Example {
                file: file_index(&l.file),
                line: l.line,
                text: l.text.as_bytes().to_vec(),
            },
        });
    }
    agg.upstreams.folded += r.folded.upstreams;
    agg.routes.folded += r.folded.routes;
    Ok(agg)
}

/// Merges saved reports, in order; `warn` hears about reports that could
/// not be read (they are left out). Reports counted under different
/// filters are refused (their counts do not add up to anything), unless
/// `force`: the merged report then says its filters are mixed.
pub fn merge_reports(
    paths: &[std::path::PathBuf],
    force: bool,
    warn: &mut dyn FnMut(&Error),
) -> Result<Option<Report>> {
    let mut merged: Option<Aggregator> = None;
    let mut filters: Option<(ReportFilters, &Path)> = None;
    let mut mixed = false;
    // What clients got: the reports keep counts, not the access lines, so
    // these are summed as they are (the join cannot be made again).
    let mut impacts: Vec<ClientImpact> = Vec::new();
    let mut cause_impacts: BTreeMap<String, Vec<CauseImpact>> = BTreeMap::new();
    for path in paths {
        let read = read_report(path).and_then(|r| {
            let agg = aggregator_of(&r).map_err(|reason| Error::File {
                path: path.clone(),
                reason,
            })?;
            for c in &r.causes {
                if let Some(i) = &c.client_impact {
                    cause_impacts
                        .entry(c.cause.clone())
                        .or_default()
                        .push(i.clone());
                }
            }
            impacts.extend(r.client_impact);
            Ok((r.filters, agg))
        });
        let (these, agg) = match read {
            Ok(a) => a,
            Err(e) => {
                warn(&e);
                continue;
            }
        };
        match &filters {
            None => filters = Some((these, path)),
            Some((first, first_path)) if !same_filters(first, &these) => {
                if !force {
                    return Err(Error::File {
                        path: path.clone(),
                        reason: format!(
                            "counted with other filters ({}) than {} ({}): their counts do not add up; \
                             use --force to merge them anyway",
                            describe(&these),
                            first_path.display(),
                            describe(first)
                        ),
                    });
                }
                mixed = true;
            }
            Some(_) => {}
        }
        match &mut merged {
            None => merged = Some(agg),
            Some(m) => m.merge(agg),
        }
    }
    Ok(merged.map(|m| {
        let mut report = Report::build(&m);
        report.client_impact = clients::merged(&impacts, report.window_seconds);
        for c in &mut report.causes {
            c.client_impact = cause_impacts.get(&c.cause).and_then(CauseImpact::merged);
        }
        if let Some((f, _)) = filters {
            report.filters = ReportFilters { mixed, ..f };
        }
        report
    }))
}

/// True when two reports were counted under the same filters.
fn same_filters(a: &ReportFilters, b: &ReportFilters) -> bool {
    let key = |f: &ReportFilters| {
        let mut causes = f.causes.clone();
        causes.sort();
        (f.since.clone(), f.until.clone(), causes, f.upstream.clone())
    };
    key(a) == key(b) && !a.mixed && !b.mixed
}

/// Filters in words, `none` for none.
fn describe(f: &ReportFilters) -> String {
    if f.is_empty() && !f.mixed {
        "none".to_string()
    } else {
        f.flags().join(", ")
    }
}

fn parse_time(s: &str) -> Option<LocalTime> {
    time::iso(s.as_bytes())
}

/// The key id of a report's key string, `(other)` staying `(other)`.
fn key(interner: &mut crate::keys::Interner, k: &str) -> u32 {
    if k == "(other)" {
        OTHER
    } else {
        interner.intern(k.as_bytes())
    }
}

/// Index of the first file with this name (examples name their file).
fn agg_file_index(names: &[&str], name: &str) -> u32 {
    names.iter().position(|n| *n == name).unwrap_or(0) as u32
}
