//! `upcause causes`: the catalog of causes, what each means, the status
//! per server and the fix in each server's terms.

use std::io::{self, Write};

use crate::event::CauseId;
use crate::report::Fixes;

/// The causes to list: all, or the one asked for.
fn listed(only: Option<CauseId>) -> Box<dyn Iterator<Item = CauseId>> {
    match only {
        Some(id) => Box::new(std::iter::once(id)),
        None => Box::new(CauseId::all()),
    }
}

/// The catalog as text: one block per cause.
pub fn text(only: Option<CauseId>, out: &mut dyn Write) -> io::Result<()> {
    listed(only).try_for_each(|id| {
        let c = id.info();
        // A gateway's status and fix are always shown; a backend's where
        // the cause is its own.
        let statuses: Vec<String> = c
            .status
            .iter()
            .filter(|&(s, st)| s.is_gateway() || st.is_some())
            .map(|(s, st)| {
                format!(
                    "{} {}",
                    s.name(),
                    st.map_or("-".to_string(), |v| v.to_string())
                )
            })
            .collect();
        writeln!(out, "{}  {}", c.id, c.title)?;
        writeln!(out, "    status   {}", statuses.join(", "))?;
        writeln!(out, "    means    {}", c.meaning)?;
        writeln!(out, "    in short {}", c.fix_short)?;
        for (s, fix) in c.fix.iter() {
            if s.is_gateway() || !fix.is_empty() {
                writeln!(out, "    {:<9}{fix}", s.name())?;
            }
        }
        writeln!(out)
    })
}

/// The catalog as JSON: an array of `{cause, title, status_by_server,
/// meaning, fix_short, fixes}`; `fixes` is keyed by server as in a report.
/// With an id: that cause's object alone.
pub fn json(only: Option<CauseId>, out: &mut dyn Write) -> io::Result<()> {
    let list: Vec<serde_json::Value> = listed(only)
        .map(|id| {
            let c = id.info();
            let statuses: serde_json::Map<String, serde_json::Value> = c
                .status
                .iter()
                .map(|(s, v)| (s.name().to_string(), serde_json::json!(v)))
                .collect();
            serde_json::json!({
                "cause": c.id,
                "title": c.title,
                "status_by_server": statuses,
                "meaning": c.meaning,
                "fix_short": c.fix_short,
                "fixes": Fixes::of(c),
            })
        })
        .collect();
    match (only, list.as_slice()) {
        (Some(_), [one]) => serde_json::to_writer_pretty(&mut *out, one),
        _ => serde_json::to_writer_pretty(&mut *out, &list),
    }
    .map_err(io::Error::from)?;
    writeln!(out)
}
