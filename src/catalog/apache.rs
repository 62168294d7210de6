//! Apache httpd's classifier: rows looked up by the line's message number
//! (`AH00957`), errno rules, and where the backend is named.

use super::compiled::{Classified, Compiled, between, built, errno_ok, finish};
use super::errno::Errno;
use super::rows::{Errnos, Extract, Match, Phase, Prefix};
use crate::bytes::find;
use crate::parse::Head;
use crate::parse::apache::{Body, Status};

/// The Apache rows, by message number.
pub struct Apache {
    rows: Vec<Compiled>,
    /// Rows by message number (indices into `rows`, in order), so a line
    /// is checked against its own rows only.
    by_ah: hashbrown::HashMap<u32, Vec<usize>>,
    /// Rows that take any message (errno rules).
    any: Vec<usize>,
    /// Rows for lines without a message number (2.2, a few 2.4).
    plain: Vec<usize>,
    /// Every row of `any` needs an errno: a line with a message number of
    /// no row of its own and no status fits none.
    any_needs_errno: bool,
}

impl Apache {
    /// Indexes the Apache rows.
    pub fn new(rows: Vec<Compiled>) -> Apache {
        let mut by_ah: hashbrown::HashMap<u32, Vec<usize>> = hashbrown::HashMap::new();
        let (mut any, mut plain) = (Vec::new(), Vec::new());
        for (i, c) in rows.iter().enumerate() {
            match c.sig.matcher {
                Match::Ah(n) | Match::AhContains(n, _) => by_ah.entry(n).or_default().push(i),
                Match::Any => {
                    any.push(i);
                    plain.push(i);
                }
                _ => plain.push(i),
            }
        }
        for rows in by_ah.values_mut() {
            rows.extend_from_slice(&any);
        }
        let any_needs_errno = any
            .iter()
            .all(|&i| matches!(rows[i].sig.errno, Errnos::Is(_)));
        Apache {
            rows,
            by_ah,
            any,
            plain,
            any_needs_errno,
        }
    }

    /// Classifies an Apache line.
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        self.classify_filtered(head, scratch, true)
    }

    /// [`Apache::classify`], with or without the look at the message
    /// number alone (`filter`), which must not change what it says.
    #[inline]
    fn classify_filtered<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
        filter: bool,
    ) -> Option<Classified<'a>> {
        // mod_ssl reports backend TLS failures at info level; only debug
        // and trace lines are left out.
        if head.level == b"debug" || head.level.starts_with(b"trace") {
            return None;
        }
        let parts = Body::parse_parts(head.body);
        // Most lines of a busy log (`AH00128: File does not exist`,
        // `AH01630: client denied`) have a message number no row asks for:
        // they are told from the number, without a look at the message.
        if let (Some(n), None) = (parts.ah, parts.status)
            && filter
            && self.any_needs_errno
            && !self.by_ah.contains_key(&n)
        {
            return None;
        }
        let body = parts.with_referer();
        if body.ah.is_none() && body.status.is_none() && find(body.message, b"proxy").is_none() {
            return None;
        }
        let errno = body.status.map(|s| match s {
            Status::Code(n) => Errno::of(n),
            Status::Eai(_) => Errno::Dns,
        });
        let remote = body.peer.is_some_and(|p| p.remote);
        let rows = match body.ah {
            Some(n) => self.by_ah.get(&n).unwrap_or(&self.any),
            None => &self.plain,
        };
        for c in rows.iter().map(|&i| &self.rows[i]) {
            let s = &c.sig;
            let msg_ok = c.matches(body.message, body.ah);
            let phase_ok = !matches!(s.phase, Phase::RemotePeer) || remote;
            if !(msg_ok && phase_ok && errno_ok(s.errno, errno)) {
                continue;
            }
            let upstream = match s.extract {
                Extract::ApacheConnect => apache_connect_target(body.message, scratch),
                Extract::Between(a, b, p) => between(body.message, a.as_bytes(), b.as_bytes())
                    .map(|v| with_prefix(p, body.message, v, scratch)),
                Extract::ApacheRemote(scheme) => body
                    .peer
                    .filter(|p| p.remote)
                    .map(|p| built(scratch, &[scheme.as_bytes(), p.addr])),
                _ => None,
            };
            let route = returned_by(body.message);
            return finish(c, errno, upstream, route, None);
        }
        None
    }
}

/// The path after the last ` returned by ` (Apache's `ap_proxyerror`
/// lines end with the request URI).
fn returned_by(msg: &[u8]) -> Option<&[u8]> {
    crate::bytes::rfind(msg, b" returned by ").map(|i| &msg[i + 13..])
}

/// Apache `HTTP: attempt to connect to 10.0.0.5:8080 (backend:8080) failed`,
/// `FCGI: attempt to connect to Unix domain socket /run/php.sock (...) failed`,
/// or the 2.2 form with `proxy: ` in front.
fn apache_connect_target<'a>(msg: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let target = between(msg, b"attempt to connect to ", b" (")?;
    if let Some(path) = target.strip_prefix(b"Unix domain socket ") {
        return Some(built(scratch, &[b"unix:", path]));
    }
    let target = target.strip_suffix(b" failed").unwrap_or(target);
    Some(with_prefix(Prefix::Scheme, msg, target, scratch))
}

/// Puts the prefix in front of an extracted address (in `scratch` when
/// there is one).
fn with_prefix<'a>(p: Prefix, msg: &'a [u8], v: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    match p {
        Prefix::Raw => v,
        Prefix::Http => built(scratch, &[b"http://", v]),
        Prefix::Scheme => {
            let m = msg.strip_prefix(b"proxy: ").unwrap_or(msg);
            let scheme = match find(&m[..m.len().min(12)], b": ") {
                Some(i) if m[..i].iter().all(u8::is_ascii_alphabetic) => &m[..i],
                _ => b"http",
            };
            scratch.clear();
            scratch.extend(scheme.iter().map(u8::to_ascii_lowercase));
            scratch.extend_from_slice(b"://");
            scratch.extend_from_slice(v);
            scratch
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::parse::{ParseState, Scratch, parse_head};

    /// Lines told by their message number alone are classified as the
    /// walk over the rows classifies them: every Apache fixture line, and
    /// each with its message number and status changed.
    #[test]
    fn the_message_number_filter_changes_nothing() {
        let catalog = Catalog::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for dir in ["apache", "faults", "logid", "startup", "incidents"] {
            for f in std::fs::read_dir(root.join(dir)).unwrap() {
                let text = std::fs::read(f.unwrap().path()).unwrap();
                for l in text.split(|&c| c == b'\n').filter(|l| l.starts_with(b"[")) {
                    lines.push(l.to_vec());
                    let s = String::from_utf8_lossy(l);
                    for (from, to) in [
                        ("AH00957", "AH00128"),
                        ("AH01102", "AH01630"),
                        ("AH00898", "AH09999"),
                        ("(111)", ""),
                        ("(70007)", ""),
                        ("AH00128", "AH00957"),
                    ] {
                        lines.push(s.replace(from, to).into_bytes());
                    }
                }
            }
        }
        lines.push(b"[Fri Nov 21 22:21:05.520509 2025] [core:error] [pid 1:tid 2] (24)Too many open files: AH00128: x".to_vec());
        let (mut told, mut filtered) = (0, 0);
        for line in &lines {
            let mut scratch = Scratch::default();
            let Some(head) = parse_head(line, &mut ParseState::new(2026), &mut scratch) else {
                continue;
            };
            if head.server != crate::event::Server::Apache {
                continue;
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let fast = catalog.apache.classify_filtered(&head, &mut a, true);
            let plain = catalog.apache.classify_filtered(&head, &mut b, false);
            assert_eq!(fast, plain, "{}", String::from_utf8_lossy(line));
            told += usize::from(plain.is_some());
            let parts = crate::parse::apache::Body::parse_parts(head.body);
            filtered += usize::from(
                parts.status.is_none()
                    && parts
                        .ah
                        .is_some_and(|n| !catalog.apache.by_ah.contains_key(&n)),
            );
        }
        assert!(told > 100 && filtered > 100, "{told} {filtered}");
    }
}
