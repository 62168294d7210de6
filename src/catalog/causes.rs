//! The causes: what each one means and how to fix it, per server.
//!
//! Data only. Statuses are what the *client* receives when this failure is
//! the final outcome, per server (Apache answers a refused backend with 503
//! where nginx answers 502). `None` means the server has no such failure.

use crate::error::{Error, Result};
use crate::event::Server::{Apache, Kernel, Nginx, PhpFpm};
use crate::event::{CauseId, PerServer, Server};

/// What a cause means and how to fix it.
#[derive(Debug)]
pub struct CauseInfo {
    /// Stable identifier used in JSON, filters and rules (`upstream_timeout`).
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// HTTP status the client gets, per server.
    pub status: PerServer<Option<u16>>,
    /// What happened, for a human.
    pub meaning: &'static str,
    /// The fix in a few words, for the summary table.
    pub fix_short: &'static str,
    /// The fix in that server's terms (empty where the server has no such
    /// failure).
    pub fix: PerServer<&'static str>,
}

impl CauseInfo {
    /// The fix for `server`, falling back to the nginx wording.
    pub fn fix_for(&self, server: Server) -> &'static str {
        let f = self.fix[server];
        if f.is_empty() {
            self.fix[Server::Nginx]
        } else {
            f
        }
    }
}

/// Causes are known by their place in [`CAUSES`].
impl CauseId {
    /// The cause's description.
    pub fn info(self) -> &'static CauseInfo {
        &CAUSES[self.0 as usize]
    }

    /// Looks a cause up by its id string.
    pub fn from_id(id: &str) -> Option<CauseId> {
        CAUSES
            .iter()
            .position(|c| c.id == id)
            .map(|i| CauseId(i as u16))
    }

    /// All causes, in catalog order.
    pub fn all() -> impl Iterator<Item = CauseId> {
        (0..CAUSES.len()).map(|i| CauseId(i as u16))
    }
}

/// The status the client gets, for each server named; a server not named
/// has no such failure (so a new server is added where it has one).
const fn st(by_server: &[(Server, u16)]) -> PerServer<Option<u16>> {
    let mut out = PerServer([None; Server::COUNT]);
    let mut i = 0;
    while i < by_server.len() {
        out.0[by_server[i].0.index()] = Some(by_server[i].1);
        i += 1;
    }
    out
}

/// The fix in the terms of each server named; empty for the others.
const fn fix(by_server: &[(Server, &'static str)]) -> PerServer<&'static str> {
    let mut out = PerServer([""; Server::COUNT]);
    let mut i = 0;
    while i < by_server.len() {
        out.0[by_server[i].0.index()] = by_server[i].1;
        i += 1;
    }
    out
}

/// The causes named by `--cause`; an unknown id is a usage error that
/// suggests the nearest ids and lists the known ones.
pub fn ids(ids: &[String]) -> Result<Vec<CauseId>> {
    ids.iter()
        .map(|id| CauseId::from_id(id).ok_or_else(|| Error::Usage(unknown(id, "--cause", false))))
        .collect()
}

/// The message for an unknown cause id given in `place` (`--cause`,
/// `[max]`): the nearest known ids, then all of them (and `any`, where
/// `any_ok`).
pub fn unknown(id: &str, place: &str, any_ok: bool) -> String {
    let near = nearest(id);
    let hint = match near.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        many => format!("; did you mean one of {}?", many.join(", ")),
    };
    let any = if any_ok { "any, " } else { "" };
    format!(
        "unknown cause '{id}' in {place}{hint} (known: {any}{})",
        CAUSES.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
    )
}

/// The known ids nearest to `id`: those that contain it or that it
/// contains (`timeout`, `upstream_timeout_fastcgi`), else those within a
/// few typing mistakes of it; at most three, nearest first.
pub fn nearest(id: &str) -> Vec<&'static str> {
    let id = id.trim().to_ascii_lowercase().replace('-', "_");
    if id.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(usize, &'static str)> = CAUSES
        .iter()
        .filter_map(|c| {
            let d = edit_distance(&id, c.id);
            let close = d <= (c.id.len().max(id.len()) / 3).max(2);
            let part = id.len() >= 4 && (c.id.contains(id.as_str()) || id.contains(c.id));
            (close || part).then_some((if close { d } else { 100 + d }, c.id))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, id)| id).collect()
}

/// Levenshtein distance of two ASCII-ish strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The causes upcause must always tell apart (the catalog has more); the
/// tests hold the catalog and the fixtures to this list.
pub const REQUIRED: &[&str] = &[
    "upstream_refused",
    "upstream_timeout",
    "connect_timeout",
    "socket_missing",
    "socket_permission",
    "no_live_upstreams",
    "premature_close",
    "connection_reset",
    "send_failed",
    "header_too_big",
    "invalid_header",
    "tls_handshake",
    "tls_verify",
    "dns_resolution",
    "worker_connections",
    "too_many_open_files",
    "fastcgi_script",
    "php_fpm_max_children",
    "php_fpm_child_crash",
];

/// Causes that no signature row names: `upstreams_down` is inferred by the
/// ordered stage from what came before (a group out of servers with no
/// failure of them logged before), `upstream_ipv6_unreachable` is
/// `upstream_unreachable` with ENETUNREACH towards an IPv6 address
/// (`compiled::finish`).
#[cfg(test)]
pub const INFERRED: &[&str] = &["upstreams_down", "upstream_ipv6_unreachable"];

/// Every cause the catalog knows, in `upcause causes` order.
#[rustfmt::skip]
pub const CAUSES: &[CauseInfo] = &[
    CauseInfo {
        id: "upstream_refused",
        title: "Upstream refused the connection",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "Nothing accepts connections at the upstream address: the backend is down, restarting, or listening on another port or interface.",
        fix_short: "start the backend / fix its address",
        fix: fix(&[
            (Nginx, "Start or repair the backend and check the address in proxy_pass / fastcgi_pass / the upstream block; with several servers, max_fails and fail_timeout let nginx skip a dead one."),
            (Apache, "Start or repair the backend and check the ProxyPass / BalancerMember URL; Apache puts the worker in error state for retry= seconds (default 60), so use retry=0 for a single backend or add balancer members."),
        ]),
    },
    CauseInfo {
        id: "connect_timeout",
        title: "Connecting to the upstream timed out",
        status: st(&[(Nginx, 504), (Apache, 503)]),
        meaning: "The TCP handshake with the backend did not complete in time: packets are dropped (firewall DROP, dead host) or the backend is too overloaded to accept.",
        fix_short: "check reachability / backend accept capacity",
        fix: fix(&[
            (Nginx, "Check reachability (firewall, security groups, routing) and the backend's accept capacity; keep proxy_connect_timeout short (default 60s, e.g. 5s) so proxy_next_upstream can try another server."),
            (Apache, "Check reachability and the backend's accept capacity; connectiontimeout= on the ProxyPass / BalancerMember bounds the wait."),
        ]),
    },
    CauseInfo {
        id: "upstream_timeout",
        title: "Upstream timed out before answering",
        status: st(&[(Nginx, 504), (Apache, 502)]),
        meaning: "The backend accepted the request but sent no response header within the read timeout: a slow endpoint, a saturated worker pool, or a wait on a lock or database.",
        fix_short: "speed up slow routes / raise proxy_read_timeout",
        fix: fix(&[
            (Nginx, "Fix the slow routes listed (or add backend capacity); raise proxy_read_timeout / fastcgi_read_timeout / uwsgi_read_timeout (default 60s) only in the locations that are legitimately slow."),
            (Apache, "Fix the slow routes listed (or add backend capacity); raise ProxyTimeout, or timeout= on the ProxyPass, only for legitimately slow routes."),
        ]),
    },
    CauseInfo {
        id: "socket_missing",
        title: "Upstream unix socket does not exist",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "The unix socket named in the configuration does not exist: the backend (php-fpm, gunicorn, uwsgi) is not running or listens on another path.",
        fix_short: "start the backend / fix the socket path",
        fix: fix(&[
            (Nginx, "Start the backend and make fastcgi_pass / proxy_pass unix:... match its listen path (e.g. the php-fpm pool's listen = /run/php/php8.2-fpm.sock)."),
            (Apache, "Start the backend and make SetHandler \"proxy:unix:/path.sock|fcgi://localhost\" (or the ProxyPass unix: URL) match its listen path."),
        ]),
    },
    CauseInfo {
        id: "socket_permission",
        title: "Permission denied connecting to the upstream",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "The web server's user may not connect: the unix socket's owner or mode (or a directory on its path) excludes it, or SELinux forbids the connection.",
        fix_short: "fix socket owner/mode (listen.owner/group/mode)",
        fix: fix(&[
            (Nginx, "Give the nginx user access: php-fpm listen.owner / listen.group / listen.mode (e.g. www-data, 0660), directory permissions on the socket path; under SELinux: setsebool -P httpd_can_network_connect 1."),
            (Apache, "Give the Apache user access: php-fpm listen.owner / listen.group / listen.mode, directory permissions on the socket path; under SELinux: setsebool -P httpd_can_network_connect 1."),
        ]),
    },
    CauseInfo {
        id: "no_live_upstreams",
        title: "No live upstream servers left",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "Every server of the upstream group was marked down after earlier failures (nginx max_fails / fail_timeout, Apache worker error state and retry), so requests fail without trying. The failures that marked them down come first in the timeline.",
        fix_short: "fix what marked the servers down",
        fix: fix(&[
            (Nginx, "Fix the failures that disabled the servers (the other causes, just before the peak); tune max_fails / fail_timeout, add servers or a backup server to the upstream block."),
            (Apache, "Fix the failures that put the workers in error state; tune retry=, failonstatus / failontimeout, add BalancerMembers or a hot standby (status=+H)."),
        ]),
    },
    CauseInfo {
        id: "premature_close",
        title: "Upstream closed the connection without a response",
        status: st(&[(Nginx, 502), (Apache, 502)]),
        meaning: "The backend closed the connection before a complete response header: its worker crashed or was killed (OOM, request_terminate_timeout, max_requests recycling), or it closed a keepalive connection the proxy was reusing.",
        fix_short: "check backend crashes / keepalive timeouts",
        fix: fix(&[
            (Nginx, "Check the backend's own log at these times (crashes, OOM kills, php-fpm 'exited on signal'); for keepalive races make the backend's keepalive timeout longer than nginx's upstream keepalive_timeout."),
            (Apache, "Check the backend's own log at these times for crashes; for keepalive races set disablereuse=On or make the backend's keepalive timeout longer than Apache's."),
        ]),
    },
    CauseInfo {
        id: "connection_reset",
        title: "Upstream reset the connection",
        status: st(&[(Nginx, 502), (Apache, 502)]),
        meaning: "The backend answered with a TCP reset: its process died or restarted mid-request, its accept queue overflowed, or something in between killed the connection.",
        fix_short: "check backend crashes / restarts",
        fix: fix(&[
            (Nginx, "Look for backend crashes and restarts at the peak (php-fpm 'exited on signal', container restarts); for keepalive races keep nginx's upstream keepalive_timeout below the backend's."),
            (Apache, "Look for backend crashes and restarts at the peak; for keepalive races set disablereuse=On or a shorter ttl= than the backend's keepalive timeout."),
        ]),
    },
    CauseInfo {
        id: "send_failed",
        title: "Sending the request to the upstream failed",
        status: st(&[(Nginx, 502), (Apache, 502)]),
        meaning: "The connection broke while the proxy was still sending the request (broken pipe or reset): the backend rejected a large body, crashed, or closed a reused keepalive connection.",
        fix_short: "check backend body limits / crashes",
        fix: fix(&[
            (Nginx, "Compare client_max_body_size with the backend's own body limit, check backend crashes; for keepalive races keep upstream keepalive_timeout below the backend's."),
            (Apache, "Compare LimitRequestBody with the backend's body limit, check backend crashes; set disablereuse=On for keepalive races."),
        ]),
    },
    CauseInfo {
        id: "header_too_big",
        title: "Upstream response header too big",
        status: st(&[(Nginx, 502), (Apache, 502)]),
        meaning: "The backend's response headers (big cookies, a long CSP, many Set-Cookie lines) do not fit in the proxy's header buffer.",
        fix_short: "raise proxy_buffer_size / fastcgi_buffer_size",
        fix: fix(&[
            (Nginx, "Raise proxy_buffer_size (with proxy_buffers) or fastcgi_buffer_size / uwsgi_buffer_size, e.g. to 16k or 32k, or make the application send smaller headers."),
            (Apache, "Raise ResponseFieldSize (mod_proxy_http, default 8190) or make the application send smaller headers."),
        ]),
    },
    CauseInfo {
        id: "invalid_header",
        title: "Upstream sent an invalid response",
        status: st(&[(Nginx, 502), (Apache, 502)]),
        meaning: "The backend's response is not valid HTTP or FastCGI: a bad status line or header byte, conflicting Content-Length / Transfer-Encoding, or the wrong protocol on that port (HTTP to a FastCGI port, TLS to a plain port).",
        fix_short: "fix backend headers / scheme and port",
        fix: fix(&[
            (Nginx, "Check that the scheme and port match the backend (proxy_pass vs fastcgi_pass, http vs https) and fix the headers the backend sends."),
            (Apache, "Check that the ProxyPass scheme and port match the backend and fix the status line and headers it sends."),
        ]),
    },
    CauseInfo {
        id: "tls_handshake",
        title: "TLS handshake with the upstream failed",
        status: st(&[(Nginx, 502), (Apache, 500)]),
        meaning: "The proxy could not set up TLS with the backend: the port speaks plain HTTP, protocol or cipher mismatch, or the backend requires SNI.",
        fix_short: "check TLS port / proxy_ssl_server_name",
        fix: fix(&[
            (Nginx, "Check that the upstream port speaks TLS; set proxy_ssl_server_name on (and proxy_ssl_name), align proxy_ssl_protocols / proxy_ssl_ciphers with the backend."),
            (Apache, "Set SSLProxyEngine on, check that the port speaks TLS, align SSLProxyProtocol / SSLProxyCipherSuite with the backend."),
        ]),
    },
    CauseInfo {
        id: "tls_verify",
        title: "Upstream TLS certificate rejected",
        status: st(&[(Nginx, 502), (Apache, 500)]),
        meaning: "The backend's certificate failed verification: unknown or self-signed issuer, an intermediate missing or a chain longer than the verify depth, expired, or issued for another name (often because no SNI was sent and the backend answered with its default certificate).",
        fix_short: "trust the backend CA / renew its certificate",
        fix: fix(&[
            (Nginx, "Point proxy_ssl_trusted_certificate at the CA that signed the backend certificate (with the intermediates when the backend does not send them: unable to get local issuer certificate), raise proxy_ssl_verify_depth (default 1) when the chain is longer (certificate chain too long), renew expired certificates; for a name mismatch or a backend that serves another certificate without SNI, set proxy_ssl_server_name on and proxy_ssl_name to the name in the certificate."),
            (Apache, "Set SSLProxyCACertificateFile (or SSLProxyCACertificatePath) to the backend's CA with its intermediates (unable to get local issuer certificate), raise SSLProxyVerifyDepth when the chain is longer, renew expired certificates; for a name mismatch check SSLProxyCheckPeerName / SSLProxyCheckPeerCN and the name in ProxyPass (Apache sends it as SNI)."),
        ]),
    },
    CauseInfo {
        id: "dns_resolution",
        title: "Upstream host name could not be resolved",
        status: st(&[(Nginx, 502), (Apache, 500)]),
        meaning: "The proxy could not resolve the backend's name when the request came: NXDOMAIN, a resolver timeout, or no resolver configured. (Apache answers 502 up to 2.4.57, 500 from 2.4.59.)",
        fix_short: "fix the name / the resolver",
        fix: fix(&[
            (Nginx, "Fix the name or its DNS records; check the resolver directive's address (Docker 127.0.0.11, kube-dns) and resolver_timeout; proxy_pass with variables needs a resolver."),
            (Apache, "Fix the name or its DNS records; Apache resolves worker names with the system resolver: check /etc/resolv.conf and the ProxyPass host."),
        ]),
    },
    CauseInfo {
        id: "worker_connections",
        title: "Proxy ran out of connection slots",
        status: st(&[(Nginx, 500), (Apache, 503)]),
        meaning: "The proxy itself hit its connection limit. In nginx each proxied request holds two connections (client and upstream), so worker_connections runs out under load; in Apache every MaxRequestWorkers slot is busy and new requests queue.",
        fix_short: "raise worker_connections / MaxRequestWorkers",
        fix: fix(&[
            (Nginx, "Raise worker_connections (and worker_rlimit_nofile to at least twice that); reuse upstream connections with keepalive in the upstream block."),
            (Apache, "Raise MaxRequestWorkers (with ServerLimit / ThreadsPerChild) as memory allows, and find what keeps workers busy (usually a slow backend)."),
        ]),
    },
    CauseInfo {
        id: "too_many_open_files",
        title: "Too many open files",
        status: st(&[(Nginx, 500), (Apache, 503)]),
        meaning: "The process hit its file-descriptor limit (EMFILE / ENFILE): new client or upstream sockets cannot be opened.",
        fix_short: "raise worker_rlimit_nofile / LimitNOFILE",
        fix: fix(&[
            (Nginx, "Raise worker_rlimit_nofile and the service limit (systemd LimitNOFILE=, ulimit -n); check for descriptor leaks."),
            (Apache, "Raise the service's file limit (systemd LimitNOFILE=, ulimit -n in envvars); check for descriptor leaks."),
        ]),
    },
    CauseInfo {
        id: "fastcgi_script",
        title: "FastCGI script not found or not allowed",
        status: st(&[(Nginx, 404), (Apache, 404)]),
        meaning: "php-fpm could not run the script it was given: 'Primary script unknown' (the path does not exist: wrong root or SCRIPT_FILENAME, or a scanner asking for scripts the site does not have; answered 404) or 'Access to the script ... has been denied' (security.limit_extensions; answered 403).",
        fix_short: "fix SCRIPT_FILENAME / root",
        fix: fix(&[
            (Nginx, "Set fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name with the right root, and try_files $uri =404 so missing scripts never reach php-fpm; check security.limit_extensions for 'Access denied'."),
            (Apache, "Check DocumentRoot and the script path in ProxyPassMatch / SetHandler \"proxy:...|fcgi://...\"; check security.limit_extensions for 'Access denied'."),
        ]),
    },
    CauseInfo {
        id: "php_fatal",
        title: "PHP fatal error",
        status: st(&[(Nginx, 500), (Apache, 500)]),
        meaning: "The PHP script died with a fatal error (uncaught exception, memory_limit, max_execution_time, parse error); php-fpm passed its stderr to the web server and the client got a 500.",
        fix_short: "fix the PHP error in the example",
        fix: fix(&[
            (Nginx, "Fix the PHP code shown in the example (the stack trace names file and line); for 'Allowed memory size' raise memory_limit or fix the leak, for 'Maximum execution time' speed up the script."),
            (Apache, "Fix the PHP code shown in the example (the stack trace names file and line); for 'Allowed memory size' raise memory_limit or fix the leak, for 'Maximum execution time' speed up the script."),
        ]),
    },
    CauseInfo {
        id: "php_fpm_max_children",
        title: "php-fpm pool is out of workers",
        status: st(&[(Nginx, 504), (Apache, 503), (PhpFpm, 504)]),
        meaning: "Every pm.max_children worker of the pool was busy: new requests wait in the listen backlog until the proxy times out (504) or the backlog fills (502, 'Resource temporarily unavailable').",
        fix_short: "raise pm.max_children / fix slow scripts",
        fix: fix(&[
            (Nginx, "Raise pm.max_children as memory allows (RAM / worker RSS), find slow scripts with request_slowlog_timeout, tune listen.backlog."),
            (Apache, "Raise pm.max_children as memory allows (RAM / worker RSS), find slow scripts with request_slowlog_timeout, tune listen.backlog."),
            (PhpFpm, "Raise pm.max_children as memory allows (RAM / worker RSS), find slow scripts with request_slowlog_timeout, tune listen.backlog."),
        ]),
    },
    CauseInfo {
        id: "php_fpm_child_crash",
        title: "php-fpm worker crashed",
        status: st(&[(Nginx, 502), (Apache, 503), (PhpFpm, 502)]),
        meaning: "A php-fpm worker died while serving (SIGSEGV / SIGBUS from an extension, SIGKILL from the OOM killer, a non-zero exit): its request got no response.",
        fix_short: "get a backtrace / check OOM kills",
        fix: fix(&[
            (Nginx, "Get a core dump and backtrace (rlimit_core, debug symbols), disable the faulty extension; check dmesg for OOM kills against memory_limit x pm.max_children."),
            (Apache, "Get a core dump and backtrace (rlimit_core, debug symbols), disable the faulty extension; check dmesg for OOM kills against memory_limit x pm.max_children."),
            (PhpFpm, "Get a core dump and backtrace (rlimit_core, debug symbols), disable the faulty extension; check dmesg for OOM kills against memory_limit x pm.max_children."),
        ]),
    },
    CauseInfo {
        id: "kernel_oom_kill",
        title: "The kernel's OOM killer killed a process",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "The machine (or the process's memory cgroup) ran out of memory and the kernel killed the process named: a php-fpm child or the backend behind the upstream died mid-request, so the proxy got a reset or a closed connection, then refusals until it was restarted.",
        fix_short: "bound memory: pm.max_children x per-child memory",
        fix: fix(&[
            (Nginx, "Make the backend fit in memory: for php-fpm, pm.max_children x the children's RSS (plus memory_limit headroom) must stay below the RAM or the cgroup's MemoryMax; lower pm.max_children or add memory, and set pm.max_requests to recycle leaking children."),
            (Apache, "Make the backend fit in memory: for php-fpm, pm.max_children x the children's RSS must stay below the RAM or the cgroup's MemoryMax; lower MaxRequestWorkers / pm.max_children or add memory."),
            (Kernel, "Bound the backend's memory: pm.max_children x per-child RSS (and memory_limit) below the RAM or the cgroup limit (MemoryMax=); watch total-vm / anon-rss in the kill line for which process grew."),
        ]),
    },
    CauseInfo {
        id: "kernel_segfault",
        title: "A process crashed (segfault)",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "The kernel killed the process named for an invalid memory access (SIGSEGV): a php-fpm child or the backend died mid-request; its library is named after ' in '.",
        fix_short: "get a backtrace of the crashing process",
        fix: fix(&[
            (Nginx, "Get a core dump and backtrace of the process named (php-fpm: rlimit_core, debug symbols); the ' in LIBRARY' of the line points at the faulty extension or library: update or disable it."),
            (Apache, "Get a core dump and backtrace of the process named (php-fpm: rlimit_core, debug symbols; Apache: CoreDumpDirectory); the ' in LIBRARY' of the line points at the faulty module or library: update or disable it."),
            (Kernel, "Get a core dump and backtrace of the process named; the ' in LIBRARY' of the line points at the faulty extension or library: update or disable it."),
        ]),
    },
    CauseInfo {
        id: "kernel_syn_flood",
        title: "SYN flooding: the listen queue of a port overflowed",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "New connections arrived faster than the process listening on the port accepted them and its SYN backlog filled: the kernel sent SYN cookies or dropped connections; on a backend's port the proxy sees refusals and timeouts, on the web server's port clients do.",
        fix_short: "raise somaxconn / the listen backlog",
        fix: fix(&[
            (Nginx, "Raise net.core.somaxconn and net.ipv4.tcp_max_syn_backlog, and the listen backlog of the socket: listen 80 backlog=4096 in nginx, listen.backlog in php-fpm; if it is an attack, rate-limit upstream of the host."),
            (Apache, "Raise net.core.somaxconn and net.ipv4.tcp_max_syn_backlog, and ListenBacklog (Apache) or listen.backlog (php-fpm); if it is an attack, rate-limit upstream of the host."),
            (Kernel, "Raise net.core.somaxconn and net.ipv4.tcp_max_syn_backlog, and the listening socket's backlog (nginx listen ... backlog=, php-fpm listen.backlog)."),
        ]),
    },
    CauseInfo {
        id: "kernel_conntrack_full",
        title: "The connection-tracking table is full",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "netfilter's connection-tracking table reached nf_conntrack_max and the kernel dropped new packets: connections to clients and to upstreams fail at random (timeouts, refusals) for everything on the machine.",
        fix_short: "raise nf_conntrack_max",
        fix: fix(&[
            (Nginx, "Raise net.netfilter.nf_conntrack_max (and the hash size, nf_conntrack_buckets), shorten nf_conntrack_tcp_timeout_time_wait, or exempt the web traffic from tracking (NOTRACK / raw table); upstream keepalive opens fewer connections."),
            (Apache, "Raise net.netfilter.nf_conntrack_max (and the hash size, nf_conntrack_buckets), shorten nf_conntrack_tcp_timeout_time_wait, or exempt the web traffic from tracking (NOTRACK / raw table); keepalive to the backends opens fewer connections."),
            (Kernel, "Raise net.netfilter.nf_conntrack_max (and nf_conntrack_buckets), shorten nf_conntrack_tcp_timeout_time_wait, or exempt the web traffic from tracking."),
        ]),
    },
    CauseInfo {
        id: "kernel_file_max",
        title: "The system-wide open files limit was reached",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "Every file handle of the machine (fs.file-max) was in use: no process could open a socket or a file, so connections to upstreams and from clients failed.",
        fix_short: "raise fs.file-max / LimitNOFILE",
        fix: fix(&[
            (Nginx, "Raise fs.file-max (sysctl), the services' LimitNOFILE= (systemd) and worker_rlimit_nofile in nginx; find what holds the handles (leaked connections, lsof)."),
            (Apache, "Raise fs.file-max (sysctl) and the service's LimitNOFILE= (systemd); find what holds the handles (leaked connections, lsof)."),
            (Kernel, "Raise fs.file-max (sysctl), the services' LimitNOFILE= (systemd), nginx's worker_rlimit_nofile; find what holds the handles."),
        ]),
    },
    CauseInfo {
        id: "php_fpm_terminate_timeout",
        title: "php-fpm killed a request that ran too long",
        status: st(&[(Nginx, 502), (Apache, 503), (PhpFpm, 502)]),
        meaning: "request_terminate_timeout expired and php-fpm terminated the worker running the script; the proxy sees the connection close without a response.",
        fix_short: "fix the slow script / request_terminate_timeout",
        fix: fix(&[
            (Nginx, "Fix the slow script (request_slowlog_timeout shows where it waits) or raise request_terminate_timeout; keep it at or below fastcgi_read_timeout so the cause stays visible."),
            (Apache, "Fix the slow script (request_slowlog_timeout shows where it waits) or raise request_terminate_timeout; keep it at or below ProxyTimeout so the cause stays visible."),
            (PhpFpm, "Fix the slow script (request_slowlog_timeout shows where it waits) or raise request_terminate_timeout."),
        ]),
    },
    CauseInfo {
        id: "php_fpm_slow_request",
        title: "php-fpm request ran past request_slowlog_timeout",
        status: st(&[(Nginx, 504), (Apache, 504), (PhpFpm, 504)]),
        meaning: "The pool's slowlog caught a request still running after request_slowlog_timeout: its entry names the script and the PHP stack where it waited (sleep, a database or HTTP call, a lock). Requests that slow hold their worker and outlast the proxy's read timeout (504), and fill the pool for the others.",
        fix_short: "speed up the slow script in the slowlog",
        fix: fix(&[
            (Nginx, "Speed up the script and the call the slowlog's stack names (its newest frame is where it waited); keep fastcgi_read_timeout above the time it legitimately needs, and request_terminate_timeout at or below it."),
            (Apache, "Speed up the script and the call the slowlog's stack names (its newest frame is where it waited); keep ProxyTimeout above the time it legitimately needs, and request_terminate_timeout at or below it."),
            (PhpFpm, "Speed up the script and the call the slowlog's stack names (its newest frame is where it waited); set request_terminate_timeout so a stuck request cannot hold its worker for ever."),
        ]),
    },
    CauseInfo {
        id: "upstream_unreachable",
        title: "Upstream host unreachable",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "The network reports the backend unreachable (no route to host, network unreachable, host down): the host is off, a firewall rejects, or the container network is wrong.",
        fix_short: "check host / routing / firewall",
        fix: fix(&[
            (Nginx, "Check that the host is up, the routing and firewall rules (REJECT), security groups and the container or pod network."),
            (Apache, "Check that the host is up, the routing and firewall rules (REJECT), security groups and the container or pod network."),
        ]),
    },
    CauseInfo {
        id: "upstream_backlog_full",
        title: "Upstream listen queue full",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "Connecting to the backend's unix socket returned EAGAIN: its listen backlog is full because every worker is busy.",
        fix_short: "add backend workers / raise backlog",
        fix: fix(&[
            (Nginx, "Add backend workers (pm.max_children, gunicorn --workers), raise the backend's listen backlog and net.core.somaxconn, find the slow requests."),
            (Apache, "Add backend workers (pm.max_children, gunicorn --workers), raise the backend's listen backlog and net.core.somaxconn, find the slow requests."),
        ]),
    },
    CauseInfo {
        id: "local_ports_exhausted",
        title: "No free local ports towards the upstream",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "connect() failed with EADDRNOTAVAIL: the ephemeral ports towards this backend are used up, usually by many short-lived connections in TIME_WAIT.",
        fix_short: "use upstream keepalive / widen port range",
        fix: fix(&[
            (Nginx, "Reuse connections: keepalive N in the upstream block with proxy_http_version 1.1 and proxy_set_header Connection \"\"; widen net.ipv4.ip_local_port_range."),
            (Apache, "Reuse backend connections (keep the default connection reuse, no disablereuse); widen net.ipv4.ip_local_port_range."),
        ]),
    },
    CauseInfo {
        id: "upstream_busy",
        title: "Upstream connection pool exhausted",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "Every connection the proxy may open to this backend is in use (Apache max= on the worker), or every balancer member is busy.",
        fix_short: "raise max= / add members",
        fix: fix(&[
            (Nginx, "Raise max_conns on the upstream servers or add servers."),
            (Apache, "Raise max= on the ProxyPass / BalancerMember, add members, or speed up the backend."),
        ]),
    },
    CauseInfo {
        id: "connect_failed_unexplained",
        title: "Connecting to the backend failed, reason not logged",
        status: st(&[(Apache, 503)]),
        meaning: "Apache logged that it could not connect to the backend (AH01114 for HTTP, AH01079 for FastCGI, AH00896 for AJP) but no line says why: the AH00957 line with the system error is missing from the excerpt or below the LogLevel, or the worker was already in error state after an earlier failure and no connect was tried (retry=, default 60 s).",
        fix_short: "find the AH00957 errno / check the backend",
        fix: fix(&[
            (Nginx, "nginx always logs why a connect failed (connect() failed (N: ...)); behind Apache, follow Apache's advice."),
            (Apache, "Look for the AH00957 / AH00959 lines just before it (LogLevel proxy:debug shows every attempt) to learn whether the backend refused, timed out or was unreachable; check the backend is up at the ProxyPass / SetHandler address, and with a single backend use retry=0 so one failure does not block it for 60 s."),
        ]),
    },
    CauseInfo {
        id: "upstreams_down",
        title: "Every server of the group is marked down, none failed before",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "The group had no server to try, and no failure of its servers was logged before it in the same input (within 10 minutes): an inference from what the log does not hold. Every server is marked down in the configuration (nginx down, Apache status=+D or +S, a balancer-manager change), failed an active health check (health_check, the upstream check module), or was taken out by max_fails=0 / a drained member; or the lines with the failures are not in the excerpt read.",
        fix_short: "check down flags / health checks",
        fix: fix(&[
            (Nginx, "Look at the upstream block: remove the down flag from the servers that should take traffic (or add a server without it, or a backup server), check the health checks and the backend's health endpoint; with max_fails=0 nginx never marks a server failed, so a group that is empty anyway is down by configuration."),
            (Apache, "Look at the BalancerMembers: remove status=+D / +S (or re-enable them in balancer-manager), check the health checks (mod_proxy_hcheck hcmethod, hcuri) and the backend's health endpoint, add a hot standby (status=+H)."),
        ]),
    },
    CauseInfo {
        id: "proxy_worker_crash",
        title: "The proxy's own worker process crashed",
        status: st(&[(Nginx, 502), (Apache, 502)]),
        meaning: "A worker process of nginx (worker process N exited on signal 11) or a child of Apache (AH00052: child pid N exit signal Segmentation fault (11)) died on a signal: every connection it held is cut without a response, which clients see as a reset and a load balancer in front as a 502 (the status given here). Counted per crash, not per request: the log does not say how many requests the worker held. SIGSEGV, SIGBUS and SIGABRT are a bug in the server or a module; SIGKILL is usually the OOM killer.",
        fix_short: "find the crashing module / the OOM killer",
        fix: fix(&[
            (Nginx, "Enable core dumps (worker_rlimit_core, working_directory) and get a backtrace; check third-party modules (remove them one by one, nginx -V lists them), upgrade nginx and OpenSSL; for signal 9 look for the OOM killer in the kernel log (dmesg) and the memory of the workers."),
            (Apache, "Enable core dumps (CoreDumpDirectory) and get a backtrace; check the modules (mod_php in a threaded MPM, third-party modules), upgrade Apache; for signal 9 look for the OOM killer in the kernel log and lower MaxRequestWorkers or MaxConnectionsPerChild."),
        ]),
    },
    CauseInfo {
        id: "upstream_ipv6_unreachable",
        title: "IPv6 upstream address unreachable",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "Connecting to the backend's IPv6 address failed with Network is unreachable: this host has no IPv6 route, often because a resolver returned AAAA records (or the name resolves to both families) and the server tries the IPv6 address first or only.",
        fix_short: "resolver ipv6=off / use an IPv4 address",
        fix: fix(&[
            (Nginx, "Set resolver ... ipv6=off (nginx 1.5.8+) for names resolved at run time, or use an IPv4 address (or a name with only A records) in proxy_pass / the upstream block; otherwise give the host an IPv6 route."),
            (Apache, "Use an IPv4 address (or a name with only A records) in ProxyPass / BalancerMember, or give the host an IPv6 route; Apache tries every address a name resolves to, so an IPv4 one in the same name is tried next."),
        ]),
    },
    CauseInfo {
        id: "connect_failed",
        title: "Connecting to the upstream failed",
        status: st(&[(Nginx, 502), (Apache, 503)]),
        meaning: "The connection to the backend failed with an uncommon system error; the example line shows which.",
        fix_short: "read the errno in the example",
        fix: fix(&[
            (Nginx, "Read the system error in the example line; check the backend address, the network and local resource limits."),
            (Apache, "Read the system error in the example line; check the backend address, the network and local resource limits."),
        ]),
    },
];
