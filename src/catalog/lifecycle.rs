//! The servers' own lifecycle lines: a reload, a restart, workers started
//! or gone. They are no failed requests; the ordered stage ends the open
//! requests of the old workers at them, and a burst of failures right
//! after a reload or a restart is reported as a deploy.
//!
//! Message texts: nginx's `ngx_process_cycle.c` and `ngx_cycle.c`
//! (`signal process started`, `signal %d (%s) received from %P, %s`,
//! `reconfiguring`, `start worker processes`, `start worker process %P`,
//! `gracefully shutting down`, `exiting`, `exit`, `worker process %P
//! exited with code %d`), all at the `notice` level; Apache's `AH00171`,
//! `AH00493` (a graceful restart), `AH00169`, `AH00170`, `AH00492` (a
//! stop), `AH00489` (running again), `AH00094` (the command line, at every
//! start) at `notice`, and `AH00060` (the parent crashed) at `alert`.

use crate::bytes::find;
use crate::event::Lifecycle;
use crate::event::Server::{Apache, Nginx};
use crate::parse::Head;
use crate::parse::apache::Body;

/// The lifecycle event a line tells, if it tells one. Cheap for every
/// other line: only `notice` and `alert` lines (told by their length and
/// first letter), and nginx's `warn` lines, are looked at further. Called
/// only for lines that are no failure.
#[inline]
pub fn classify(head: &Head<'_>) -> Option<Lifecycle> {
    match head.level {
        b"notice" | b"alert" => classify_rare(head),
        b"warn" if head.server == Nginx => disabled_nginx(head.body),
        _ => None,
    }
}

/// nginx's `upstream server temporarily disabled while ...` (at `warn`,
/// after a member's `max_fails` failures within `fail_timeout`).
#[inline]
fn disabled_nginx(body: &[u8]) -> Option<Lifecycle> {
    body.starts_with(b"upstream server temporarily disabled")
        .then_some(Lifecycle::Disabled)
}

/// The member a [`Lifecycle::Disabled`] line takes out, as its address
/// without a scheme (`127.0.0.1:18610`, `unix:/run/app.sock`): nginx's
/// `upstream: "..."` field, Apache's `disabling worker for (...)`.
pub fn disabled_member(text: &[u8]) -> Option<&[u8]> {
    let raw = if let Some(i) = find(text, b", upstream: \"") {
        let rest = &text[i + 13..];
        super::nginx::upstream_server(&rest[..memchr::memchr(b'"', rest)?])
    } else {
        let i = find(text, b"disabling worker for (")?;
        let rest = &text[i + 22..];
        &rest[..memchr::memchr(b')', rest)?]
    };
    Some(without_scheme(raw))
}

/// An upstream's address without its `scheme://`.
pub fn without_scheme(u: &[u8]) -> &[u8] {
    find(u, b"://").map_or(u, |i| &u[i + 3..])
}

/// Apache's AH00959 `ap_proxy_connect_backend disabling worker for (...)`:
/// a line that also attaches to the failure it follows, so asked of the
/// lines the catalog attaches (few).
pub fn disabled_apache(head: &Head<'_>) -> Option<Lifecycle> {
    (head.server == Apache && Body::parse(head.body).ah == Some(959)).then_some(Lifecycle::Disabled)
}

/// [`classify`] past its first look.
#[cold]
#[inline(never)]
fn classify_rare(head: &Head<'_>) -> Option<Lifecycle> {
    match head.server {
        Nginx => nginx(head.body),
        Apache => apache(head.body),
        _ => None,
    }
}

/// An nginx `notice` line of the master or a worker.
fn nginx(body: &[u8]) -> Option<Lifecycle> {
    let starts = |p: &[u8]| body.starts_with(p);
    Some(if starts(b"signal process started") {
        Lifecycle::Signal
    } else if starts(b"signal ") {
        // `signal 1 (SIGHUP) received from 9, reconfiguring`; the action is
        // last.
        if body.ends_with(b"reconfiguring") {
            Lifecycle::Reload
        } else if body.ends_with(b"exiting") || body.ends_with(b"shutting down") {
            Lifecycle::Stop
        } else {
            return None;
        }
    } else if body == b"reconfiguring" {
        Lifecycle::Reload
    } else if starts(b"start worker process") {
        Lifecycle::Start
    } else if body == b"gracefully shutting down" || body == b"shutting down" {
        Lifecycle::Stop
    } else if body == b"exiting"
        || body == b"exit"
        || (starts(b"worker process ") && find(body, b" exited with code ").is_some())
    {
        Lifecycle::Exit
    } else {
        return None;
    })
}

/// An Apache `notice` or `alert` line, by its message number.
fn apache(body: &[u8]) -> Option<Lifecycle> {
    Some(match Body::parse(body).ah? {
        171 | 493 => Lifecycle::Reload,
        169 | 170 | 492 => Lifecycle::Stop,
        489 | 94 => Lifecycle::Start,
        60 => Lifecycle::Crash,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseState, Scratch, parse_head};

    fn of(line: &str) -> Option<Lifecycle> {
        let mut scratch = Scratch::default();
        let h = parse_head(line.as_bytes(), &mut ParseState::new(2026), &mut scratch)?;
        classify(&h)
    }

    #[test]
    fn members_taken_out_of_their_group() {
        assert_eq!(
            of(
                r#"2026/12/02 16:05:36 [warn] 20120#20120: *703 upstream server temporarily disabled while reading response header from upstream, client: 127.0.0.1, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:18610/", host: "h""#
            ),
            Some(Lifecycle::Disabled)
        );
        assert_eq!(
            of(
                "2026/12/02 16:05:36 [warn] 20120#20120: *703 an upstream response is buffered to a temporary file"
            ),
            None
        );
        let mut scratch = Scratch::default();
        let line = "[Sat Nov 21 09:37:12.033786 2026] [proxy:error] [pid 10464:tid 10493] AH00959: ap_proxy_connect_backend disabling worker for (127.0.0.1:18190) for 60s";
        let h = parse_head(line.as_bytes(), &mut ParseState::new(2026), &mut scratch).unwrap();
        assert_eq!(disabled_apache(&h), Some(Lifecycle::Disabled));
        assert_eq!(
            disabled_member(line.as_bytes()),
            Some(&b"127.0.0.1:18190"[..])
        );
        assert_eq!(
            disabled_member(br#"2026/12/02 16:05:36 [warn] 1#1: *7 upstream server temporarily disabled while connecting to upstream, client: 127.0.0.1, server: s, request: "GET /a HTTP/1.1", upstream: "http://127.0.0.1:18610/a", host: "h""#),
            Some(&b"127.0.0.1:18610"[..])
        );
        assert_eq!(
            without_scheme(b"fastcgi://unix:/run/php.sock"),
            b"unix:/run/php.sock"
        );
    }

    #[test]
    fn nginx_lines() {
        use Lifecycle::*;
        for (line, want) in [
            (
                "2026/12/06 12:00:01 [notice] 7#7: signal process started",
                Some(Signal),
            ),
            (
                "2026/12/06 12:00:01 [notice] 5#5: signal 1 (SIGHUP) received from 7, reconfiguring",
                Some(Reload),
            ),
            (
                "2026/12/06 12:00:01 [notice] 5#5: reconfiguring",
                Some(Reload),
            ),
            (
                "2026/12/06 12:00:01 [notice] 5#5: start worker processes",
                Some(Start),
            ),
            (
                "2026/12/06 12:00:01 [notice] 5#5: start worker process 9",
                Some(Start),
            ),
            (
                "2026/12/06 12:00:01 [notice] 6#6: gracefully shutting down",
                Some(Stop),
            ),
            ("2026/12/06 12:00:01 [notice] 6#6: exiting", Some(Exit)),
            ("2026/12/06 12:00:01 [notice] 6#6: exit", Some(Exit)),
            (
                "2026/12/06 12:00:01 [notice] 5#5: worker process 6 exited with code 0",
                Some(Exit),
            ),
            (
                "2026/12/06 12:00:01 [notice] 5#5: signal 15 (SIGTERM) received from 1, exiting",
                Some(Stop),
            ),
            (
                "2026/12/06 12:00:01 [notice] 5#5: signal 17 (SIGCHLD) received from 6",
                None,
            ),
            (
                "2026/12/06 12:00:01 [notice] 5#5: using the \"epoll\" event method",
                None,
            ),
            ("2026/12/06 12:00:01 [error] 5#5: exiting", None),
        ] {
            assert_eq!(of(line), want, "{line}");
        }
    }

    #[test]
    fn apache_lines() {
        use Lifecycle::*;
        let l = |lvl: &str, msg: &str| {
            format!("[Sun Dec 06 12:00:01.000000 2026] [{lvl}] [pid 5:tid 5] {msg}")
        };
        for (line, want) in [
            (
                l(
                    "mpm_event:notice",
                    "AH00493: SIGUSR1 received.  Doing graceful restart",
                ),
                Some(Reload),
            ),
            (
                l(
                    "mpm_prefork:notice",
                    "AH00171: Graceful restart requested, doing restart",
                ),
                Some(Reload),
            ),
            (
                l("mpm_event:notice", "AH00169: caught SIGTERM, shutting down"),
                Some(Stop),
            ),
            (
                l(
                    "mpm_event:notice",
                    "AH00489: Apache/2.4.66 (Debian) configured -- resuming normal operations",
                ),
                Some(Start),
            ),
            (
                l("core:notice", "AH00094: Command line: '/usr/sbin/apache2'"),
                Some(Start),
            ),
            (
                l(
                    "core:alert",
                    "AH00060: seg fault or similar nasty error detected in the parent process",
                ),
                Some(Crash),
            ),
            (
                l(
                    "core:notice",
                    "AH00052: child pid 9 exit signal Segmentation fault (11)",
                ),
                None,
            ),
        ] {
            assert_eq!(of(&line), want, "{line}");
        }
    }
}
