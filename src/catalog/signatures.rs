//! The signature table: which message gives which cause.
//!
//! Message texts are the format strings of nginx (src/http/ngx_http_upstream.c,
//! src/event/ngx_event_connect.c, ...), Apache httpd (modules/proxy/*.c, AH
//! numbers) and php-fpm (sapi/fpm/fpm/*.c). Rows are tried in order per
//! server; the first match wins, so exceptions (`Ignore`) and specific rows
//! come before general ones.

use super::errno::Errno;
use super::errno::Errno::*;
use super::rows::CauseRule::{Attach, ByErrno, Fixed, Ignore};
use super::rows::Extract::{self, *};
use super::rows::Match::*;
use super::rows::Phase::{self, Action, RemotePeer, Upstream};
use super::rows::Prefix::{Http, Raw, Scheme};
use super::rows::Signature;
use crate::event::Role::{self, Final};
use crate::event::Server::{Apache, Kernel, Nginx, PhpFpm};

/// Tokens that let an nginx line past the prefilter: `upstream` (in every
/// upstream action and most upstream messages) and the few failures that
/// do not mention it. Lines at the `alert` level (a worker that died) skip
/// it: they are rare, and a token more would cost every line.
pub const NGINX_PREFILTER: &[&str] = &[
    "upstream",
    "worker_connections",
    "resolv",
    "(24: ",
    "(23: ",
    "files are available",
    "Too many open files",
];

/// Errno meanings of a failed connect, for nginx and Apache alike.
const CONNECT: &[(Errno, &str)] = &[
    (Refused, "upstream_refused"),
    (TimedOut, "connect_timeout"),
    (NoEntry, "socket_missing"),
    (Permission, "socket_permission"),
    (Unreachable, "upstream_unreachable"),
    // To an IPv6 address, this is `upstream_ipv6_unreachable` (see
    // `compiled::finish`).
    (NetUnreachable, "upstream_unreachable"),
    (Again, "upstream_backlog_full"),
    (AddrNotAvail, "local_ports_exhausted"),
    (Reset, "connection_reset"),
    (TooManyFiles, "too_many_open_files"),
    (Dns, "dns_resolution"),
];

/// Errno meanings of a failed read of the response.
const READ: &[(Errno, &str)] = &[
    (TimedOut, "upstream_timeout"),
    (Reset, "connection_reset"),
    (Pipe, "connection_reset"),
    (Eof, "premature_close"),
    (Refused, "upstream_refused"),
];

/// Errno meanings of a failed write of the request.
const SEND: &[(Errno, &str)] = &[
    (TimedOut, "upstream_timeout"),
    (Refused, "upstream_refused"),
];

/// An nginx row: one line is one failure, the upstream is in the
/// `upstream:` field (or the peer named in the message).
const fn ngx(m: super::rows::Match, cause: super::rows::CauseRule) -> Signature {
    Signature::new(Nginx, m, cause).extract(NginxPeer)
}
/// An Apache row: a failure is told over several lines, this one leads
/// unless the row says otherwise; where the upstream is, the row says.
const fn ap(m: super::rows::Match, cause: super::rows::CauseRule) -> Signature {
    Signature::new(Apache, m, cause).role(Role::Lead)
}
/// A php-fpm row: the upstream is the pool.
const fn fpm(m: super::rows::Match, cause: super::rows::CauseRule) -> Signature {
    Signature::new(PhpFpm, m, cause).extract(PhpPool)
}

/// A kernel row: the process or port named is the upstream (the
/// classifier finds it).
const fn krn(m: super::rows::Match, cause: super::rows::CauseRule) -> Signature {
    Signature::new(Kernel, m, cause)
}

const UP: Phase = Upstream;
const BETWEEN_PARENS_SCHEME: Extract = Between("(", ")", Scheme);

/// All signatures, per server in match order.
#[rustfmt::skip]
pub const SIGNATURES: &[Signature] = &[
    // ---------------------------------------------------------------- nginx
    // Anything that fails while talking to the resolver is a DNS failure.
    ngx(Any, Fixed("dns_resolution")).phase(Action("resolving")).extract(NginxResolver),
    ngx(Prefix("upstream timed out"), Fixed("connect_timeout")).phase(Action("connecting to upstream")),
    ngx(Prefix("upstream timed out"), Fixed("upstream_timeout")),
    ngx(Prefix("connect() to "), ByErrno(CONNECT, "connect_failed")),
    ngx(Prefix("connect() failed"), ByErrno(CONNECT, "connect_failed")),
    ngx(Prefix("kevent() reported that connect() failed"), ByErrno(CONNECT, "connect_failed")),
    ngx(Prefix("no live upstreams"), Fixed("no_live_upstreams")).extract(NginxGroup),
    ngx(Prefix("upstream prematurely closed"), Fixed("premature_close")),
    ngx(Prefix("upstream sent too big header"), Fixed("header_too_big")),
    // Warnings and informational "upstream sent ..." lines: the response goes on.
    ngx(PrefixContains("upstream sent duplicate header line", ", ignored"), Ignore),
    ngx(Prefix("upstream sent more data than specified"), Ignore),
    ngx(Prefix("upstream sent data after "), Ignore),
    ngx(Prefix("upstream sent too big early hints"), Ignore),
    ngx(Prefix("upstream sent goaway"), Fixed("premature_close")),
    ngx(Prefix("upstream sent "), Fixed("invalid_header")),
    ngx(Prefix("upstream rejected request"), Fixed("connection_reset")),
    ngx(Prefix("upstream prematurely sent response"), Fixed("tls_handshake")),
    ngx(Prefix("upstream SSL certificate"), Fixed("tls_verify")),
    ngx(PrefixContains("SSL_do_handshake() failed", "certificate verify failed"), Fixed("tls_verify")).phase(UP),
    ngx(Prefix("SSL_do_handshake() failed"), Fixed("tls_handshake")).phase(UP),
    ngx(Prefix("peer closed connection in SSL handshake"), Fixed("tls_handshake")).phase(UP),
    ngx(Prefix("SSL_set_tlsext_host_name"), Fixed("tls_handshake")).phase(UP),
    ngx(Prefix("SSL_read() failed"), Fixed("premature_close")).phase(UP),
    ngx(Prefix("SSL_write() failed"), Fixed("send_failed")).phase(UP),
    ngx(Prefix("recv() failed"), ByErrno(READ, "connection_reset")).phase(UP),
    ngx(Prefix("readv() failed"), ByErrno(READ, "connection_reset")).phase(UP),
    ngx(Prefix("kevent() reported that upstream closed"), Fixed("premature_close")),
    ngx(Prefix("writev() failed"), ByErrno(SEND, "send_failed")).phase(UP),
    ngx(Prefix("send() failed"), ByErrno(SEND, "send_failed")).phase(UP),
    ngx(Prefix("sendfile() failed"), ByErrno(SEND, "send_failed")).phase(UP),
    // FastCGI stderr is a failure only for these payloads (warnings and
    // notices from PHP are not).
    ngx(PrefixContains("FastCGI sent in stderr", "Primary script unknown"), Fixed("fastcgi_script")).status(404),
    ngx(PrefixContains("FastCGI sent in stderr", "Access to the script"), Fixed("fastcgi_script")).status(403),
    ngx(PrefixContains("FastCGI sent in stderr", "PHP Fatal error"), Fixed("php_fatal")),
    ngx(PrefixContains("FastCGI sent in stderr", "PHP Parse error"), Fixed("php_fatal")),
    ngx(Contains(" could not be resolved"), Fixed("dns_resolution")).extract(NginxResolvedName),
    ngx(Prefix("no resolver defined to resolve "), Fixed("dns_resolution")).extract(NginxResolvedName),
    ngx(Contains("host not found in upstream \""), Fixed("dns_resolution")).extract(NginxResolvedName),
    ngx(Contains(" worker_connections are not enough, reusing"), Ignore),
    ngx(Contains(" worker_connections are not enough"), Fixed("worker_connections")),
    ngx(Contains("files are available"), Fixed("too_many_open_files")),
    // The proxy's own worker died on a signal (the master logs it at alert).
    ngx(PrefixContains("worker process ", " exited on signal "), Fixed("proxy_worker_crash")).extract(Extract::None),
    // A failed accept() delays a client (nginx retries), it fails no request.
    ngx(Prefix("accept4() failed"), Ignore),
    ngx(Prefix("accept() failed"), Ignore),
    ngx(Any, Fixed("too_many_open_files")).errno(&[TooManyFiles]),
    // --------------------------------------------------------------- Apache
    // Connect failures (AH00957 and friends): the errno tells how.
    ap(Ah(957), ByErrno(CONNECT, "connect_failed")).extract(ApacheConnect),
    ap(Ah(939), ByErrno(CONNECT, "connect_failed")).extract(ApacheConnect),
    ap(Ah(2454), ByErrno(CONNECT, "connect_failed")).extract(ApacheConnect),
    ap(Ah(959), Attach),
    ap(Ah(940), Fixed("no_live_upstreams")).role(Final).extract(BETWEEN_PARENS_SCHEME),
    ap(Ah(1170), Fixed("no_live_upstreams")).role(Final).extract(Between("", ": All workers", Raw)),
    ap(Ah(1167), Fixed("no_live_upstreams")).role(Final).extract(Between("", ": All workers", Raw)),
    ap(Ah(1171), Fixed("no_live_upstreams")).role(Final).extract(Between("", ": No workers", Raw)),
    ap(Ah(941), Fixed("upstream_busy")).extract(BETWEEN_PARENS_SCHEME),
    ap(Ah(934), Fixed("upstream_busy")),
    ap(Ah(952), Fixed("too_many_open_files")).errno(&[TooManyFiles]),
    ap(Ah(935), Fixed("too_many_open_files")).errno(&[TooManyFiles]),
    // "failed to make connection to backend": the request-level line of a
    // connect failure; the AH00957 before it says why, and without it the
    // reason is not guessed.
    ap(Ah(1114), Fixed("connect_failed_unexplained")).role(Final).weak(),
    ap(Ah(1079), Fixed("connect_failed_unexplained")).role(Final).weak(),
    ap(Ah(896), Fixed("connect_failed_unexplained")).role(Final).weak(),
    ap(Ah(866), Fixed("connect_failed_unexplained")).role(Final).weak(),
    ap(Ah(10101), Fixed("connect_failed_unexplained")).role(Final).weak(),
    ap(Ah(2452), Fixed("connect_failed_unexplained")).role(Final).weak(),
    // Reading the response.
    ap(Ah(1102), ByErrno(READ, "premature_close")).extract(Between("remote server ", " ", Http)),
    ap(AhContains(898, "DNS lookup failure for: "), Fixed("dns_resolution")).role(Final).extract(Between("DNS lookup failure for: ", " returned by", Raw)),
    ap(AhContains(898, "Error during SSL Handshake"), Fixed("tls_handshake")).role(Final),
    ap(AhContains(898, "Corrupt status line"), Fixed("invalid_header")).role(Final),
    ap(AhContains(898, "interim responses"), Fixed("invalid_header")).role(Final),
    ap(AhContains(898, "Unexpected Upgrade"), Fixed("invalid_header")).role(Final),
    ap(AhContains(898, "Malformed connection header"), Fixed("invalid_header")).role(Final),
    ap(AhContains(898, "Timeout on 100-Continue"), Fixed("upstream_timeout")).role(Final),
    ap(AhContains(898, "Error reading from remote server"), ByErrno(READ, "premature_close")).role(Final).weak(),
    ap(Ah(898), Ignore),
    ap(Ah(1110), ByErrno(READ, "premature_close")),
    ap(Ah(1097), ByErrno(SEND, "send_failed")).extract(Between("failed to ", " ", Http)),
    ap(Ah(1084), ByErrno(SEND, "send_failed")).extract(Between("failed to ", " ", Http)),
    ap(Ah(10154), ByErrno(SEND, "send_failed")).extract(Between("failed to ", " ", Http)),
    // "bad header" follows the line that says what was bad (AH10124, AH10404).
    ap(Ah(1106), Fixed("invalid_header")).weak(),
    ap(Ah(1099), Fixed("invalid_header")),
    ap(Ah(10124), Fixed("header_too_big")),
    ap(Ah(10404), Fixed("invalid_header")).weak(),
    // mod_proxy_fcgi.
    ap(Ah(1067), ByErrno(READ, "premature_close")),
    ap(Ah(1068), Fixed("invalid_header")),
    ap(Ah(1069), Fixed("invalid_header")),
    ap(Ah(1072), Fixed("invalid_header")),
    ap(Ah(2537), Fixed("invalid_header")),
    ap(Ah(1070), Fixed("invalid_header")),
    // AH01071 is the only line of its failure.
    ap(AhContains(1071, "Primary script unknown"), Fixed("fastcgi_script")).role(Final).status(404),
    ap(AhContains(1071, "Access to the script"), Fixed("fastcgi_script")).role(Final).status(403),
    ap(AhContains(1071, "PHP Fatal error"), Fixed("php_fatal")).role(Final),
    ap(AhContains(1071, "PHP Parse error"), Fixed("php_fatal")).role(Final),
    ap(Ah(1073), ByErrno(SEND, "send_failed")),
    ap(Ah(1074), ByErrno(SEND, "send_failed")),
    // Reading the client's body, not an upstream failure.
    ap(AhContains(1075, "(reading input brigade)"), Ignore),
    ap(Ah(1075), ByErrno(READ, "premature_close")).role(Final),
    // TLS to the backend (mod_ssl logs these at info level).
    ap(Ah(2003), Fixed("tls_handshake")).extract(ApacheRemote("https://")),
    ap(Ah(1961), Fixed("tls_handshake")),
    ap(Ah(961), Fixed("tls_handshake")),
    ap(Ah(2004), Fixed("tls_verify")).extract(ApacheRemote("https://")),
    ap(Ah(2411), Fixed("tls_verify")).extract(ApacheRemote("https://")),
    ap(Ah(2005), Fixed("tls_verify")).extract(ApacheRemote("https://")),
    ap(Ah(2039), Fixed("tls_verify")).phase(RemotePeer).extract(ApacheRemote("https://")),
    ap(Ah(2276), Fixed("tls_verify")).phase(RemotePeer).extract(ApacheRemote("https://")),
    // A child of Apache died on a signal (AH00051 when it left a core).
    ap(Ah(52), Fixed("proxy_worker_crash")).role(Role::Alone),
    ap(Ah(51), Fixed("proxy_worker_crash")).role(Role::Alone),
    // Apache out of workers.
    ap(Ah(484), Fixed("worker_connections")),
    ap(Ah(161), Fixed("worker_connections")),
    ap(Ah(286), Fixed("worker_connections")),
    // Apache 2.2 (no AH numbers).
    ap(Contains("attempt to connect to"), ByErrno(CONNECT, "connect_failed")).extract(ApacheConnect),
    ap(Prefix("ap_proxy_connect_backend disabling worker"), Attach),
    ap(Contains("disabled connection for"), Fixed("no_live_upstreams")).extract(BETWEEN_PARENS_SCHEME),
    ap(Contains("All workers are in error state"), Fixed("no_live_upstreams")).extract(Between("(", ")", Raw)),
    ap(Contains("all workers are busy"), Fixed("upstream_busy")),
    ap(Contains("error reading status line from remote server"), ByErrno(READ, "premature_close")).extract(Between("remote server ", " ", Http)),
    ap(Contains("DNS lookup failure for: "), Fixed("dns_resolution")).role(Final).extract(Between("DNS lookup failure for: ", " returned by", Raw)),
    ap(Contains("Error during SSL Handshake with remote server"), Fixed("tls_handshake")).role(Final),
    ap(Contains("Error reading from remote server"), ByErrno(READ, "premature_close")).role(Final).weak(),
    ap(Contains("pass request body failed"), ByErrno(SEND, "send_failed")),
    ap(Contains("failed to make connection to backend"), Fixed("connect_failed_unexplained")).role(Final).weak(),
    ap(Any, Fixed("too_many_open_files")).errno(&[TooManyFiles]),
    // -------------------------------------------------------------- php-fpm
    fpm(Contains("reached pm.max_children setting"), Fixed("php_fpm_max_children")),
    fpm(Contains("reached max_children setting"), Fixed("php_fpm_max_children")),
    fpm(Contains("maximum number of processes has been reached"), Fixed("php_fpm_max_children")),
    // A pool spawning in a burst, short of idle workers: the pressure
    // before max_children is reached.
    fpm(Contains("seems busy (you may need to increase pm.start_servers"), Fixed("php_fpm_max_children")),
    fpm(Contains("execution timed out"), Fixed("php_fpm_terminate_timeout")),
    // A slowlog entry (its record: head, script, stack).
    fpm(Contains("\nscript_filename = "), Fixed("php_fpm_slow_request")),
    // A worker ending on SIGTERM follows a terminate or a stop; SIGQUIT is a
    // graceful reload. Neither is a crash.
    fpm(Contains("(SIGTERM"), Ignore),
    fpm(Contains("(SIGQUIT"), Ignore),
    fpm(Contains("exited on signal"), Fixed("php_fpm_child_crash")),
    fpm(Contains("exited with code 0 "), Ignore),
    fpm(Contains("exited with code"), Fixed("php_fpm_child_crash")),
    fpm(Contains("child failed to initialize"), Fixed("php_fpm_child_crash")),
    // --------------------------------------------------------------- kernel
    // mm/oom_kill.c: one kill is told in three lines; it is counted once, on
    // `%s: Killed process %d (%s) total-vm:...` ("Out of memory" or "Memory
    // cgroup out of memory"). `%s invoked oom-killer: gfp_mask=...` names
    // the process that asked for memory, not the one killed, and
    // `oom-kill:constraint=...,task=%s,pid=%d,uid=%d` repeats the kill.
    krn(Contains(" invoked oom-killer: "), Ignore),
    krn(Prefix("oom-kill:"), Ignore),
    krn(Contains(": Killed process "), Fixed("kernel_oom_kill")),
    // arch/x86/mm/fault.c: `%s[%d]: segfault at %lx ip %px sp %px error %lx`.
    krn(Contains("]: segfault at "), Fixed("kernel_segfault")),
    // net/ipv4/tcp_input.c: `%s: Possible SYN flooding on port %d. %s.`.
    krn(Contains("Possible SYN flooding on port "), Fixed("kernel_syn_flood")),
    // net/netfilter/nf_conntrack_core.c.
    krn(Contains("table full, dropping packet"), Fixed("kernel_conntrack_full")),
    // fs/file_table.c: `VFS: file-max limit %lu reached`.
    krn(Prefix("VFS: file-max limit "), Fixed("kernel_file_max")),
];
