//! Start-up and configuration errors: the server did not start, or did not
//! reload, because of its configuration or its surroundings.
//!
//! They are no failed requests: while nginx or Apache cannot start, clients
//! get refused connections (nothing listens), and when a reload fails the
//! old configuration keeps serving. So they are kept apart from the causes,
//! in a table of their own ([`KINDS`]), and the report lists them in a
//! section of their own, each with the configuration file and line that
//! failed where the server names one.
//!
//! Message texts: nginx's `ngx_conf_file.c`, `ngx_conf_parse`
//! (`unknown directive`, `invalid number of arguments`, `unexpected`),
//! `ngx_http_upstream_round_robin.c` (`host not found in upstream "%V" in
//! %s:%ui`), `ngx_connection.c` (`bind() to %V failed`, `still could not
//! bind()`), `ngx_event_openssl.c` (`cannot load certificate`), all at the
//! `emerg` level; Apache's `AH00526` (config.c), `AH00072` and `AH00451`
//! (listen.c), `AH00015`, `AH00016`, `AH00019` (main.c, mpm), `AH00091`,
//! `AH02291` (log.c, core.c), written to stderr before the error log is
//! open and to the log while one is.

use crate::bytes::find;
use crate::event::Server::{self, Apache, Nginx};
use crate::event::{PerServer, StartupId};
use crate::parse::Head;
use crate::parse::apache::{Body, NO_LISTENERS, SYNTAX_ERROR};

/// What a kind of start-up error means and how to fix it.
#[derive(Debug)]
pub struct StartupInfo {
    /// Stable identifier used in JSON (`config_invalid`).
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// What happened, for a human.
    pub meaning: &'static str,
    /// The fix in each server's terms.
    pub fix: PerServer<&'static str>,
}

/// Kinds are known by their place in [`KINDS`].
impl StartupId {
    /// The kind's description.
    pub fn info(self) -> &'static StartupInfo {
        &KINDS[usize::from(self.0)]
    }

    /// Looks a kind up by its id string.
    pub fn from_id(id: &str) -> Option<StartupId> {
        KINDS
            .iter()
            .position(|k| k.id == id)
            .map(|i| StartupId(i as u16))
    }
}

const fn fix(nginx: &'static str, apache: &'static str) -> PerServer<&'static str> {
    let mut out = PerServer([""; Server::COUNT]);
    out.0[Nginx.index()] = nginx;
    out.0[Apache.index()] = apache;
    out
}

/// What the server does when its configuration is refused, said once for
/// every kind.
macro_rules! not_502 {
    () => {
        " The server did not start, or did not reload: while it is down clients get refused connections (not 502s), after a failed reload the old configuration and workers keep serving."
    };
}

/// The kinds, in the order the report's section explains them.
pub const KINDS: &[StartupInfo] = &[
    StartupInfo {
        id: "config_invalid",
        title: "The configuration was refused",
        meaning: concat!(
            "A directive is unknown, misspelled, in the wrong place or has wrong arguments (a \"proxy_pass\" with a URI part inside a regex location, a module not loaded).",
            not_502!()
        ),
        fix: fix(
            "Fix the directive at the file:line given (nginx -t shows the first error), run nginx -t until it says the configuration is ok, then reload.",
            "Fix the directive at the line given (a misspelled directive, or LoadModule for the module that defines it), run apachectl configtest until it says Syntax OK, then apachectl graceful.",
        ),
    },
    StartupInfo {
        id: "config_host_not_found",
        title: "A host name in the configuration does not resolve",
        meaning: concat!(
            "nginx resolves the host names of upstream servers and proxy_pass addresses once, when it reads its configuration; one of them did not resolve (a container or service name not up yet, a typo, DNS down), so the configuration was refused.",
            not_502!()
        ),
        fix: fix(
            "Fix the name at the file:line given or make it resolvable before nginx starts (start order, depends_on); to resolve at run time instead, put the name in a variable (set $backend http://name; proxy_pass $backend;) with a resolver, or use server name resolve in an upstream with a zone (nginx 1.27.3+).",
            "Fix the host name, or make it resolvable before Apache starts.",
        ),
    },
    StartupInfo {
        id: "listen_failed",
        title: "The server could not listen on its address",
        meaning: concat!(
            "bind() of a listen address failed: another process holds the port (98: Address already in use: an old instance still running, another web server), the address is not on this host (99: Cannot assign requested address), or a port below 1024 without the right (13: Permission denied).",
            not_502!()
        ),
        fix: fix(
            "Find what holds the port (ss -ltnp 'sport = :80'), stop it or change listen; for an address not yet up at boot, start nginx after the network is online or set net.ipv4.ip_nonlocal_bind=1.",
            "Find what holds the port (ss -ltnp 'sport = :80'), stop it or change Listen (a Listen repeated in ports.conf and a site gives the same error); for an address not yet up at boot, start Apache after the network is online.",
        ),
    },
    StartupInfo {
        id: "config_file_unreadable",
        title: "A file the configuration names cannot be opened",
        meaning: concat!(
            "A file the configuration points at is missing, unreadable or not a file: an include, a certificate or key, an error or access log (or its directory).",
            not_502!()
        ),
        fix: fix(
            "Create the file or fix its path at the file:line given (include, ssl_certificate, ssl_certificate_key, error_log, access_log), check that the master process (root) and the workers (user) may read it, then nginx -t and reload.",
            "Create the file or directory or fix the path (Include, SSLCertificateFile, ErrorLog, CustomLog), check its permissions, then apachectl configtest and graceful.",
        ),
    },
    StartupInfo {
        id: "startup_failed",
        title: "The server stopped while starting",
        meaning: concat!(
            "The server gave up starting or reloading (Apache: Unable to open logs, Configuration Failed, written whenever opening its logs or its listening sockets failed; nginx: another emerg). The line before it in the log or on the terminal says what failed.",
            not_502!()
        ),
        fix: fix(
            "Read the emerg line itself and nginx -t; fix what it names, then reload.",
            "Read the line before it (make_sock: could not bind, could not open error log file) and apachectl configtest; fix what it names, then start again.",
        ),
    },
];

/// A configuration file and a line number in it, as written.
pub type FileLine<'a> = (&'a [u8], &'a [u8]);

/// A start-up error found on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Startup<'a> {
    /// Its kind.
    pub kind: StartupId,
    /// The configuration file and line that failed (`/etc/nginx/x.conf:12`)
    /// as two parts, where the line names them.
    pub config: Option<FileLine<'a>>,
    /// What failed, in the server's words, without the file:line.
    pub message: &'a [u8],
}

fn kind(id: &str) -> StartupId {
    StartupId::from_id(id).unwrap_or_else(|| panic!("unknown start-up kind {id}"))
}

/// The start-up error a line tells, if it tells one. Cheap for every other
/// line: only a level of `emerg` or `alert` (told by its second letter,
/// which no other level of nginx's or Apache's has) or none at all is
/// looked at further; nginx lines at `emerg`, Apache lines at `emerg`,
/// `alert` or with no prefix.
#[inline]
pub fn classify<'a>(head: &Head<'a>) -> Option<Startup<'a>> {
    match head.level {
        [] | [_, b'm' | b'l', ..] => classify_rare(head),
        _ => None,
    }
}

/// [`classify`] past its first look.
#[inline(never)]
fn classify_rare<'a>(head: &Head<'a>) -> Option<Startup<'a>> {
    match (head.server, head.level) {
        (Nginx, b"emerg") => Some(nginx(head.body)),
        (Apache, b"" | b"emerg" | b"alert") => apache(head.body),
        _ => None,
    }
}

/// An nginx `emerg` line: every one of them stops a start or a reload.
#[inline(never)]
fn nginx(body: &[u8]) -> Startup<'_> {
    let (message, config) = nginx_location(body);
    let starts = |p: &[u8]| message.starts_with(p);
    let id = if find(message, b"host not found in ").is_some() {
        "config_host_not_found"
    } else if starts(b"bind() to ") || starts(b"still could not bind()") || starts(b"listen() to ")
    {
        "listen_failed"
    } else if starts(b"open() \"")
        || starts(b"cannot load certificate")
        || starts(b"BIO_new_file")
        || starts(b"mkdir() \"")
    {
        "config_file_unreadable"
    } else if config.is_some() {
        "config_invalid"
    } else {
        "startup_failed"
    };
    Startup {
        kind: kind(id),
        config,
        message,
    }
}

/// Splits ` in /etc/nginx/x.conf:12` off the end of an nginx message.
fn nginx_location(body: &[u8]) -> (&[u8], Option<FileLine<'_>>) {
    let Some(colon) = body.iter().rposition(|&c| c == b':') else {
        return (body, None);
    };
    let digits = &body[colon + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return (body, None);
    }
    let Some(at) = crate::bytes::rfind(&body[..colon], b" in ") else {
        return (body, None);
    };
    let file = &body[at + 4..colon];
    if file.is_empty() || file.contains(&b' ') {
        return (body, None);
    }
    (&body[..at], Some((file, digits)))
}

/// An Apache start-up line, by its message number.
#[inline(never)]
fn apache(body: &[u8]) -> Option<Startup<'_>> {
    if body.starts_with(NO_LISTENERS) {
        return Some(Startup {
            kind: kind("listen_failed"),
            config: None,
            message: NO_LISTENERS,
        });
    }
    let b = Body::parse(body);
    let id = match b.ah? {
        526 => "config_invalid",
        72 | 451 => "listen_failed",
        91 | 2291 => "config_file_unreadable",
        14 | 15 | 16 | 19 => "startup_failed",
        _ => return None,
    };
    if b.ah == Some(526) {
        return Some(syntax_error(body));
    }
    // The system's reason, where Apache gives one, is part of what failed:
    // `(98)Address already in use: AH00072: make_sock: ...`.
    let message = if b.status.is_some() { body } else { b.message };
    Some(Startup {
        kind: kind(id),
        config: None,
        message,
    })
}

/// `AH00526: Syntax error on line 12 of /x.conf:` and, joined to it, the
/// line that says what is wrong.
fn syntax_error(body: &[u8]) -> Startup<'_> {
    let after = &body[body.len().min(SYNTAX_ERROR.len())..];
    let config = (|| {
        let digits = after.iter().take_while(|c| c.is_ascii_digit()).count();
        let rest = after[digits..].strip_prefix(b" of ")?;
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let file = rest[..end].strip_suffix(b":")?;
        (digits > 0 && !file.is_empty()).then_some((file, &after[..digits]))
    })();
    let message = match memchr::memchr(b'\n', body) {
        Some(nl) if nl + 1 < body.len() => &body[nl + 1..],
        _ => b"Syntax error",
    };
    Startup {
        kind: kind("config_invalid"),
        config,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{ParseState, Scratch, parse_head};

    fn of(line: &str) -> Option<(&'static str, Option<String>, String)> {
        let scratch = Box::leak(Box::new(Scratch::default()));
        let line: &'static str = Box::leak(line.to_string().into_boxed_str());
        let h = parse_head(line.as_bytes(), &mut ParseState::new(2026), scratch)?;
        let s = classify(&h)?;
        Some((
            s.kind.info().id,
            s.config.map(|(f, l)| {
                format!(
                    "{}:{}",
                    String::from_utf8_lossy(f),
                    String::from_utf8_lossy(l)
                )
            }),
            String::from_utf8_lossy(s.message).into_owned(),
        ))
    }

    #[test]
    fn nginx_emerg_lines() {
        assert_eq!(
            of(
                "2026/12/06 10:54:03 [emerg] 18358#18358: host not found in upstream \"backend.invalid:8080\" in /etc/nginx/conf.d/x.conf:8"
            ),
            Some((
                "config_host_not_found",
                Some("/etc/nginx/conf.d/x.conf:8".into()),
                "host not found in upstream \"backend.invalid:8080\"".into()
            ))
        );
        assert_eq!(
            of("nginx: [emerg] unknown directive \"proxy_pas\" in /etc/nginx/x.conf:3")
                .map(|x| x.0),
            Some("config_invalid")
        );
        assert_eq!(
            of(
                "2026/12/06 10:54:04 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)"
            ),
            Some((
                "listen_failed",
                None,
                "bind() to 0.0.0.0:80 failed (98: Address already in use)".into()
            ))
        );
        // The same words at run time (a proxy_pass with a variable) are a
        // failed request, not a start-up error.
        assert_eq!(
            of(
                "2026/12/06 10:54:04 [error] 1#1: *5 host not found in upstream \"x\", client: 1.2.3.4"
            ),
            None
        );
        assert_eq!(
            of("nginx: configuration file /etc/nginx/nginx.conf test failed"),
            None
        );
    }

    #[test]
    fn apache_lines() {
        assert_eq!(
            of("(98)Address already in use: AH00072: make_sock: could not bind to address 127.0.0.1:80").map(|x| x.0),
            Some("listen_failed")
        );
        assert_eq!(
            of("no listening sockets available, shutting down").map(|x| x.0),
            Some("listen_failed")
        );
        assert_eq!(
            of("[Sun Dec 06 10:54:33.412911 2026] [:emerg] [pid 1:tid 1] AH00019: Unable to open logs, exiting").map(|x| x.0),
            Some("startup_failed")
        );
        assert_eq!(
            of("AH00015: Unable to open logs").map(|x| x.0),
            Some("startup_failed")
        );
        let h = Head::bare(
            Apache,
            b"AH00526: Syntax error on line 12 of /etc/apache2/x.conf:\nInvalid command 'ProxyPas', perhaps misspelled",
        );
        let s = classify(&h).unwrap();
        assert_eq!(s.kind.info().id, "config_invalid");
        assert_eq!(s.config, Some((&b"/etc/apache2/x.conf"[..], &b"12"[..])));
        assert_eq!(s.message, b"Invalid command 'ProxyPas', perhaps misspelled");
        // A child's crash is a cause, not a start-up error.
        assert_eq!(
            of(
                "[Sun Dec 06 10:54:32.577953 2026] [core:notice] [pid 1:tid 1] AH00052: child pid 19347 exit signal Segmentation fault (11)"
            ),
            None
        );
    }

    #[test]
    fn every_kind_is_explained() {
        for k in KINDS {
            assert!(k.meaning.ends_with(not_502!()), "{}", k.id);
            assert!(!k.fix[Nginx].is_empty() && !k.fix[Apache].is_empty());
        }
    }
}
