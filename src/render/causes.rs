//! `upcause causes`: the catalog of causes, what each means, the status
//! per server and the fix in each server's terms.

use std::io::{self, Write};

use crate::event::{CauseId, Server};

/// The catalog as text: one block per cause.
pub fn text(out: &mut dyn Write) -> io::Result<()> {
    CauseId::all().try_for_each(|id| {
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
        for (s, fix) in c.fix.iter() {
            if s.is_gateway() || !fix.is_empty() {
                writeln!(out, "    {:<9}{fix}", s.name())?;
            }
        }
        writeln!(out)
    })
}

/// The catalog as JSON: an array of `{cause, title, status, meaning, fix}`,
/// statuses and fixes keyed by server.
pub fn json(out: &mut dyn Write) -> io::Result<()> {
    let per_server = |v: Vec<(Server, serde_json::Value)>| {
        serde_json::Value::Object(
            v.into_iter()
                .map(|(s, v)| (s.name().to_string(), v))
                .collect(),
        )
    };
    let list: Vec<serde_json::Value> = CauseId::all()
        .map(|id| {
            let c = id.info();
            serde_json::json!({
                "cause": c.id,
                "title": c.title,
                "status": per_server(c.status.iter().map(|(s, v)| (s, serde_json::json!(v))).collect()),
                "meaning": c.meaning,
                "fix": per_server(c.fix.iter().map(|(s, v)| (s, serde_json::json!(v))).collect()),
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &list).map_err(io::Error::from)?;
    writeln!(out)
}
