//! One row per signature form: the line, the cause it must give (or none),
//! and the upstream. Lines follow the servers' format strings (see
//! `signatures.rs`); they are hand-written edge cases, the real-server
//! fixtures under `fixtures/` are checked by the integration tests.

use super::*;
use crate::catalog::compiled::Prefilter;
use crate::catalog::nginx::upstream_server;
use crate::catalog::rows::CauseRule;
use crate::event::{CauseId, Role, Server};
use crate::parse::nginx::LazyBody;
use crate::parse::{ParseState, Scratch, parse_head};

fn classify(line: &str) -> Option<(String, Option<String>, Role, bool)> {
    let catalog = Catalog::new();
    let mut scratch = Scratch::default();
    let head = parse_head(line.as_bytes(), &mut ParseState::new(2026), &mut scratch)
        .expect("line must parse");
    catalog.classify(&head, &mut Vec::new()).map(|c| {
        (
            c.cause.map(|c| c.info().id.to_string()).unwrap_or_default(),
            c.upstream.map(|u| String::from_utf8_lossy(u).into_owned()),
            c.role,
            c.strong,
        )
    })
}

/// (line, cause id or "" for none, upstream or "" for none)
const CASES: &[(&str, &str, &str)] = &[
    // ------------------------------------------------------------ nginx
    (
        "2026/12/06 11:07:25 [alert] 30335#30335: worker process 30336 exited on signal 11",
        "proxy_worker_crash",
        "",
    ),
    (
        "2026/12/06 11:07:25 [alert] 30335#30335: worker process 30336 exited on signal 9 (core dumped)",
        "proxy_worker_crash",
        "",
    ),
    (
        r#"2026/12/06 11:09:38 [error] 9137#9137: *1 connect() to [2001:db8::10]:8080 failed (101: Network is unreachable) while connecting to upstream, client: 127.0.0.1, server: shop.example.test, request: "GET /api/users/1 HTTP/1.1", upstream: "http://[2001:db8::10]:8080/api/users/1", host: "127.0.0.1:18955""#,
        "upstream_ipv6_unreachable",
        "http://[2001:db8::10]:8080",
    ),
    (
        r#"2026/12/06 11:09:38 [error] 9137#9137: *1 connect() to 10.0.0.7:8080 failed (101: Network is unreachable) while connecting to upstream, client: 127.0.0.1, server: x, request: "GET / HTTP/1.1", upstream: "http://10.0.0.7:8080/", host: "x""#,
        "upstream_unreachable",
        "http://10.0.0.7:8080",
    ),
    (
        r#"2026/12/06 11:09:38 [error] 9137#9137: *1 connect() to [2001:db8::10]:8080 failed (113: No route to host) while connecting to upstream, client: 127.0.0.1, server: x, request: "GET / HTTP/1.1", upstream: "http://[2001:db8::10]:8080/", host: "x""#,
        "upstream_unreachable",
        "http://[2001:db8::10]:8080",
    ),
    (
        "[Sun Dec 06 11:07:33.681645 2026] [core:notice] [pid 30901:tid 30901] AH00052: child pid 30914 exit signal Segmentation fault (11)",
        "proxy_worker_crash",
        "",
    ),
    (
        "[Sun Dec 06 11:09:40.474305 2026] [proxy:error] [pid 9274:tid 9279] (101)Network is unreachable: AH00957: http: attempt to connect to [2001:db8::10]:8080 (2001:db8::10:8080) failed",
        "upstream_ipv6_unreachable",
        "http://[2001:db8::10]:8080",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET /api/users/1 HTTP/1.1", upstream: "http://127.0.0.1:18081/api/users/1", host: "x""#,
        "upstream_refused",
        "http://127.0.0.1:18081",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#100: *1 connect() failed (61: Connection refused) while connecting to upstream, client: ::1, server: a, request: "GET / HTTP/1.1", upstream: "http://[::1]:8080/", host: "x""#,
        "upstream_refused",
        "http://[::1]:8080",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET /slow HTTP/1.1", upstream: "http://10.0.1.5:8080/slow", host: "h""#,
        "upstream_timeout",
        "http://10.0.1.5:8080",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *2 upstream timed out (110: Connection timed out) while sending request to upstream, client: 1.2.3.4, server: s, request: "POST /up HTTP/1.1", upstream: "http://10.0.1.5:8080/up", host: "h""#,
        "upstream_timeout",
        "http://10.0.1.5:8080",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *3 upstream timed out (110: Connection timed out) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://10.9.9.9:80/", host: "h""#,
        "connect_timeout",
        "http://10.9.9.9:80",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *3 connect() failed (110: Connection timed out) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://10.9.9.9:80/", host: "h""#,
        "connect_timeout",
        "http://10.9.9.9:80",
    ),
    (
        r#"2026/11/20 10:00:00 [crit] 7#7: *4 connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "h""#,
        "socket_missing",
        "unix:/run/php/php8.2-fpm.sock",
    ),
    (
        r#"2026/11/20 10:00:00 [crit] 7#7: *4 connect() to unix:/run/app.sock failed (13: Permission denied) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://unix:/run/app.sock:/", host: "h""#,
        "socket_permission",
        "unix:/run/app.sock",
    ),
    (
        // Cut before the context: the upstream comes from the message.
        "2026/11/20 10:00:00 [error] 7#7: *4 connect() to unix:/run/php/x.sock failed (11: Resource temporarily unavailable) while connecting to upstream",
        "upstream_backlog_full",
        "unix:/run/php/x.sock",
    ),
    (
        r#"2022/04/15 08:16:13 [error] 7164#7164: *20 connect() failed (113: No route to host) while connecting to upstream, client: 10.244.0.0, server: test.local, request: "GET / HTTP/2.0", upstream: "http://127.0.0.1:80/""#,
        "upstream_unreachable",
        "http://127.0.0.1:80",
    ),
    (
        r#"2026/11/20 10:00:00 [crit] 7#7: *4 connect() to 10.0.0.1:80 failed (99: Cannot assign requested address) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://10.0.0.1:80/", host: "h""#,
        "local_ports_exhausted",
        "http://10.0.0.1:80",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *5 no live upstreams while connecting to upstream, client: 1.2.3.4, server: s, request: "GET /a HTTP/1.1", upstream: "http://backend/a", host: "h""#,
        "no_live_upstreams",
        "backend",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *6 upstream prematurely closed connection while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:18083/", host: "h""#,
        "premature_close",
        "http://127.0.0.1:18083",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *6 upstream prematurely closed FastCGI stdout while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET /x.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "h""#,
        "premature_close",
        "fastcgi://127.0.0.1:9000",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *7 recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:18084/", host: "h""#,
        "connection_reset",
        "http://127.0.0.1:18084",
    ),
    (
        // The same errno while talking to the client: not an upstream failure.
        r#"2026/11/20 10:00:00 [info] 7#7: *7 recv() failed (104: Connection reset by peer) while reading client request line, client: 1.2.3.4, server: 0.0.0.0:443"#,
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *8 writev() failed (32: Broken pipe) while sending request to upstream, client: 1.2.3.4, server: s, request: "POST /upload HTTP/1.1", upstream: "http://127.0.0.1:18085/upload", host: "h""#,
        "send_failed",
        "http://127.0.0.1:18085",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *9 upstream sent too big header while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:18086/", host: "h""#,
        "header_too_big",
        "http://127.0.0.1:18086",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *10 upstream sent invalid header: "X-Bad\x01..." while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:18087/", host: "h""#,
        "invalid_header",
        "http://127.0.0.1:18087",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *10 upstream sent no valid HTTP/1.0 header while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:18087/", host: "h""#,
        "invalid_header",
        "http://127.0.0.1:18087",
    ),
    (
        r#"2026/11/20 10:00:00 [warn] 7#7: *10 upstream sent duplicate header line: "A: b", previous value: "A: c", ignored while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:18087/", host: "h""#,
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *11 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:18088/", host: "h""#,
        "tls_handshake",
        "https://127.0.0.1:18088",
    ),
    (
        // A client's failed handshake: not an upstream failure.
        "2020/01/02 03:04:05 [crit] 7#8: *9 SSL_do_handshake() failed (SSL: error:14209102:SSL routines:tls_early_post_process_client_hello:unsupported protocol) while SSL handshaking, client: 1.2.3.4, server: 0.0.0.0:443",
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *12 upstream SSL certificate verify error: (18:self-signed certificate) while SSL handshaking to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:18089/", host: "h""#,
        "tls_verify",
        "https://127.0.0.1:18089",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *13 nosuch.example.invalid could not be resolved (3: Host not found), client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", host: "h""#,
        "dns_resolution",
        "nosuch.example.invalid",
    ),
    (
        "2026/11/20 10:00:00 [error] 7#7: recv() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:53",
        "dns_resolution",
        "resolver 127.0.0.1:53",
    ),
    (
        "2026/11/20 10:00:00 [alert] 7#7: *14 16 worker_connections are not enough while connecting to upstream, client: 1.2.3.4, server: s, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:18081/\", host: \"h\"",
        "worker_connections",
        "http://127.0.0.1:18081",
    ),
    (
        "2026/11/20 10:00:00 [alert] 7#7: 16 worker_connections are not enough",
        "worker_connections",
        "",
    ),
    (
        "2026/11/20 10:00:00 [warn] 7#7: 16 worker_connections are not enough, reusing connections",
        "",
        "",
    ),
    (
        "2026/11/20 10:00:00 [alert] 7#7: *15 socket() failed (24: Too many open files) while connecting to upstream, client: 1.2.3.4, server: s, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:18081/\", host: \"h\"",
        "too_many_open_files",
        "http://127.0.0.1:18081",
    ),
    (
        // nginx retries the accept: a delay, not a failed request.
        "2026/11/20 10:00:00 [crit] 7#7: accept4() failed (24: Too many open files)",
        "",
        "",
    ),
    (
        r#"2020/01/02 03:04:05 [error] 7#8: *851624 FastCGI sent in stderr: "Primary script unknown" while reading response header from upstream, client: 127.0.0.1, server: example.com, request: "GET /login.php HTTP/1.1", upstream: "fastcgi://unix:/var/run/fpm.sock:", host: "example.com""#,
        "fastcgi_script",
        "unix:/var/run/fpm.sock",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *16 FastCGI sent in stderr: "PHP message: PHP Warning:  Undefined variable $x in /var/www/a.php on line 3" while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET /a.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "h""#,
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *16 FastCGI sent in stderr: "PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /var/www/a.php on line 9" while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET /a.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "h""#,
        "php_fatal",
        "fastcgi://127.0.0.1:9000",
    ),
    // Noise that mentions upstreams or errors but is no upstream failure.
    (
        r#"2026/11/20 10:00:00 [warn] 7#7: *17 upstream server temporarily disabled while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:1/", host: "h""#,
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *18 open() "/var/www/html/favicon.ico" failed (2: No such file or directory), client: 1.2.3.4, server: s, request: "GET /favicon.ico HTTP/1.1", host: "h""#,
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [error] 7#7: *19 limiting requests, excess: 0.560 by zone "one", client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", host: "h""#,
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [info] 7#7: *20 client prematurely closed connection, so upstream connection is closed too while reading response header from upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:1/", host: "h""#,
        "",
        "",
    ),
    (
        r#"2026/11/20 10:00:00 [debug] 7#7: *21 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, server: s, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:1/", host: "h""#,
        "",
        "",
    ),
    // ----------------------------------------------------------- Apache
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:18081 (127.0.0.1:18081) failed",
        "upstream_refused",
        "http://127.0.0.1:18081",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] (70007)The timeout specified has expired: AH00957: HTTP: attempt to connect to 10.9.9.9:80 (backend) failed",
        "connect_timeout",
        "http://10.9.9.9:80",
    ),
    (
        "[01/Mar/2021:12:00:19 +0000] [proxy:error] [pid 23964] (113)No route to host: AH00957: HTTP: attempt to connect to 10.1.0.244:9000 (hostname.domain.com) failed",
        "upstream_unreachable",
        "http://10.1.0.244:9000",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] (2)No such file or directory: AH02454: FCGI: attempt to connect to Unix domain socket /run/php/php8.2-fpm.sock (localhost:8000) failed",
        "socket_missing",
        "unix:/run/php/php8.2-fpm.sock",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] (13)Permission denied: AH02454: FCGI: attempt to connect to Unix domain socket /run/php/php8.2-fpm.sock (localhost:8000) failed",
        "socket_permission",
        "unix:/run/php/php8.2-fpm.sock",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy_http:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH01114: HTTP: failed to make connection to backend: 127.0.0.1",
        "connect_failed_unexplained",
        "",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy_http:error] [pid 10:tid 20] (70007)The timeout specified has expired: [client 127.0.0.1:5000] AH01102: error reading status line from remote server 127.0.0.1:18082",
        "upstream_timeout",
        "http://127.0.0.1:18082",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy_http:error] [pid 10:tid 20] (104)Connection reset by peer: [client 127.0.0.1:5000] AH01102: error reading status line from remote server 127.0.0.1:18084",
        "connection_reset",
        "http://127.0.0.1:18084",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy_http:error] [pid 10:tid 20] (70014)End of file found: [client 127.0.0.1:5000] AH01102: error reading status line from remote server 127.0.0.1:18083",
        "premature_close",
        "http://127.0.0.1:18083",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH00898: DNS lookup failure for: nosuch.example.invalid returned by /dns/x",
        "dns_resolution",
        "nosuch.example.invalid",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH00898: Error during SSL Handshake with remote server returned by /tls",
        "tls_handshake",
        "",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH00898: URI cannot be parsed: x returned by /x",
        "",
        "",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy_balancer:error] [pid 10:tid 20] [client 127.0.0.1:5000] AH01170: balancer://mycluster: All workers are in error state",
        "no_live_upstreams",
        "balancer://mycluster",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] AH00940: HTTP: disabled connection for (127.0.0.1:18081)",
        "no_live_upstreams",
        "http://127.0.0.1:18081",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy_http:warn] [pid 10:tid 20] [client 127.0.0.1:5000] AH10124: header size is over the limit allowed by ResponseFieldSize (8190 bytes). Bad response header: 'X-Big: aaaa[...]'",
        "header_too_big",
        "",
    ),
    (
        "[Mon Aug 31 09:30:48.958285 2015] [proxy_fcgi:error] [pid 28787:tid 140169587934976] [client 58.13.45.166:59307] AH01071: Got error 'Primary script unknown\\n'",
        "fastcgi_script",
        "",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy_fcgi:error] [pid 10:tid 20] (70007)The timeout specified has expired: [client 127.0.0.1:5000] AH01075: Error dispatching request to : (polling)",
        "upstream_timeout",
        "",
    ),
    (
        "[Mon Aug 31 09:30:48.958285 2015] [proxy_fcgi:error] [pid 28787:tid 140169587934976] (70008)Partial results are valid but processing is incomplete: [client 58.13.45.166:59307] AH01075: Error dispatching request to : (reading input brigade), referer: http://example.com/index.php?id_product=11&controller=product",
        "",
        "",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [ssl:error] [pid 10:tid 20] [remote 127.0.0.1:18089] AH02039: Certificate Verification: Error (18): self-signed certificate",
        "tls_verify",
        "https://127.0.0.1:18089",
    ),
    (
        // A client certificate failing: not an upstream failure.
        "[Sat Nov 21 10:00:00.000001 2026] [ssl:error] [pid 10:tid 20] [client 1.2.3.4:5] AH02039: Certificate Verification: Error (18): self-signed certificate",
        "",
        "",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [mpm_event:error] [pid 10:tid 20] AH00484: server reached MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting",
        "worker_connections",
        "",
    ),
    (
        "[Wed Jun 06 12:01:23 2018] [error] (111)Connection refused: proxy: HTTP: attempt to connect to 127.0.0.1:8093 (localhost) failed",
        "upstream_refused",
        "http://127.0.0.1:8093",
    ),
    (
        "[Wed Jun 06 12:01:23 2018] [error] [client 139.22.4.209] proxy: DNS lookup failure for: vmware-localhost returned by vmware-localhost:8093",
        "dns_resolution",
        "vmware-localhost",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [proxy:error] [pid 10:tid 20] (24)Too many open files: AH00952: http: error creating fam 2 socket to 127.0.0.1:80 for (127.0.0.1:80)",
        "too_many_open_files",
        "",
    ),
    (
        "[Sat Nov 21 10:00:00.000001 2026] [core:error] [pid 10:tid 20] [client 1.2.3.4:5] AH00126: Invalid URI in request GET /x HTTP/1.1",
        "",
        "",
    ),
    // ---------------------------------------------------------- php-fpm
    (
        "[21-Nov-2026 10:00:00] WARNING: [pool www] server reached pm.max_children setting (1), consider raising it",
        "php_fpm_max_children",
        "php-fpm:www",
    ),
    (
        "[21-Nov-2026 10:00:00] WARNING: [pool www] seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and 5 total children",
        "php_fpm_max_children",
        "php-fpm:www",
    ),
    (
        "[21-Nov-2026 10:00:00] WARNING: [pool www] child 123 exited on signal 11 (SIGSEGV - core dumped) after 1.000000 seconds from start",
        "php_fpm_child_crash",
        "php-fpm:www",
    ),
    (
        "[21-Nov-2026 10:00:00] WARNING: [pool www] child 123 exited on signal 9 (SIGKILL) after 1.000000 seconds from start",
        "php_fpm_child_crash",
        "php-fpm:www",
    ),
    (
        "[21-Nov-2026 10:00:00] WARNING: [pool www] child 123 exited on signal 15 (SIGTERM) after 1.000000 seconds from start",
        "",
        "",
    ),
    (
        "[21-Nov-2026 10:00:00] NOTICE: [pool www] child 123 exited on signal 3 (SIGQUIT) after 1.000000 seconds from start",
        "",
        "",
    ),
    (
        "[21-Nov-2026 10:00:00] NOTICE: [pool www] child 123 exited with code 0 after 1.000000 seconds from start",
        "",
        "",
    ),
    (
        "[21-Nov-2026 10:00:00] WARNING: [pool www] child 123 exited with code 255 after 1.000000 seconds from start",
        "php_fpm_child_crash",
        "php-fpm:www",
    ),
    (
        "[21-Nov-2026 10:00:00] WARNING: [pool www] child 123, script '/var/www/slow.php' (request: \"GET /slow.php?id=5\") execution timed out (2.001234 sec), terminating",
        "php_fpm_terminate_timeout",
        "php-fpm:www",
    ),
    (
        "[21-Nov-2026 10:00:00] NOTICE: fpm is running, pid 99",
        "",
        "",
    ),
    // ----------------------------------------------------------- kernel
    (
        "[14730.412355] Out of memory: Killed process 20031 (php-fpm8.2) total-vm:1048576kB, anon-rss:524288kB, file-rss:4096kB, shmem-rss:8192kB, UID:33 pgtables:1224kB oom_score_adj:0",
        "kernel_oom_kill",
        "kernel:php-fpm8.2",
    ),
    (
        "[14730.412355] Memory cgroup out of memory: Killed process 20031 (php-fpm8.2) total-vm:1048576kB, anon-rss:524288kB, file-rss:4096kB, shmem-rss:8192kB, UID:33 pgtables:1224kB oom_score_adj:0",
        "kernel_oom_kill",
        "kernel:php-fpm8.2",
    ),
    (
        "[14730.412087] php-fpm8.2 invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0",
        "",
        "",
    ),
    (
        "[14730.412301] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid=20031,uid=33",
        "",
        "",
    ),
    (
        "Dec  2 16:05:41 web1 kernel: [14741.207733] php-fpm8.2[20044]: segfault at 0 ip 00007f3a2c1b4e10 sp 00007ffd8a2c3e58 error 4 in libc.so.6[7f3a2c04b000+155000] likely on CPU 1 (core 1, socket 0)",
        "kernel_segfault",
        "kernel:php-fpm8.2",
    ),
    (
        "[Wed Dec  2 16:05:44 2026] TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies.  Check SNMP counters.",
        "kernel_syn_flood",
        "kernel:port 80",
    ),
    (
        "[14744.000112] TCP: request_sock_TCP: Possible SYN flooding on port [::]:443. Sending cookies.",
        "kernel_syn_flood",
        "kernel:port 443",
    ),
    (
        "2026-12-02T16:05:44+0000 web1 kernel: TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. Dropping request.",
        "kernel_syn_flood",
        "kernel:port 80",
    ),
    (
        "[14747.301554] nf_conntrack: nf_conntrack: table full, dropping packet",
        "kernel_conntrack_full",
        "",
    ),
    (
        "[14750.880001] VFS: file-max limit 65536 reached",
        "kernel_file_max",
        "",
    ),
    (
        "[14730.498102] oom_reaper: reaped process 20031 (php-fpm8.2), now anon-rss:0kB, file-rss:0kB, shmem-rss:8192kB",
        "",
        "",
    ),
];

#[test]
fn every_signature_form() {
    let mut failures = Vec::new();
    for (line, cause, upstream) in CASES {
        let got = classify(line);
        let (got_cause, got_up) = match &got {
            Some((c, u, _, _)) => (c.as_str(), u.as_deref().unwrap_or("")),
            None => ("", ""),
        };
        if got_cause != *cause || got_up != *upstream {
            failures.push(format!(
                "{line}\n   want ({cause:?}, {upstream:?}) got ({got_cause:?}, {got_up:?})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_required_cause_has_a_case_for_its_servers() {
    for &id in causes::REQUIRED {
        assert!(
            CauseId::from_id(id).is_some(),
            "{id} missing from the catalog"
        );
        assert!(
            CASES.iter().any(|(_, c, _)| *c == id),
            "{id} has no test case"
        );
    }
    // Every cause of the catalog is reachable from some signature.
    for id in CauseId::all() {
        let name = id.info().id;
        let used = signatures::SIGNATURES.iter().any(|s| match s.cause {
            CauseRule::Fixed(c) => c == name,
            CauseRule::ByErrno(t, d) => d == name || t.iter().any(|(_, c)| *c == name),
            _ => false,
        });
        assert!(
            used || causes::INFERRED.contains(&name),
            "cause {name} has no signature"
        );
    }
}

#[test]
fn catalog_texts_are_complete() {
    for c in causes::CAUSES {
        assert!(
            !c.title.is_empty() && !c.meaning.is_empty() && !c.fix_short.is_empty(),
            "{}",
            c.id
        );
        assert!(
            !c.fix[Server::Nginx].is_empty() && !c.fix[Server::Apache].is_empty(),
            "{} needs nginx and Apache fixes",
            c.id
        );
        assert!(
            c.status.iter().any(|(_, s)| s.is_some()),
            "{} has no status",
            c.id
        );
    }
}

#[test]
fn apache_roles_and_strength() {
    let (_, _, role, strong) =
        classify("[Sat Nov 21 10:00:00.1 2026] [proxy_http:error] [pid 1:tid 2] [client 1.1.1.1:1] AH01114: HTTP: failed to make connection to backend: 127.0.0.1").unwrap();
    assert_eq!((role, strong), (Role::Final, false));
    let (c, _, role, _) =
        classify("[Sat Nov 21 10:00:00.1 2026] [proxy:error] [pid 1:tid 2] AH00959: ap_proxy_connect_backend disabling worker for (127.0.0.1:18081) for 60s").unwrap();
    assert_eq!((c.as_str(), role), ("", Role::Attach));
}

#[test]
fn upstream_server_forms() {
    assert_eq!(
        upstream_server(b"http://10.0.1.5:8080/api/x?y=1"),
        b"http://10.0.1.5:8080"
    );
    assert_eq!(
        upstream_server(b"fastcgi://unix:/run/php/php8.2-fpm.sock:"),
        b"unix:/run/php/php8.2-fpm.sock"
    );
    assert_eq!(
        upstream_server(b"http://unix:/tmp/app.sock:/path"),
        b"unix:/tmp/app.sock"
    );
    assert_eq!(
        upstream_server(b"grpc://[::1]:50051"),
        b"grpc://[::1]:50051"
    );
    assert_eq!(upstream_server(b"weird"), b"weird");
}

#[test]
fn packed_prefilter_agrees_with_the_automaton() {
    let packed = Prefilter::new(signatures::NGINX_PREFILTER);
    if cfg!(target_arch = "x86_64") {
        assert!(
            matches!(packed, Prefilter::Packed(_)),
            "x86_64 has a packed searcher"
        );
    }
    let automaton =
        Prefilter::Automaton(aho_corasick::AhoCorasick::new(signatures::NGINX_PREFILTER).unwrap());
    let bodies = [
        "",
        "x",
        "upstream",
        "upstrea",
        "open() \"/var/www/x\" failed (2: No such file or directory), client: 1.2.3.4",
        "connect() failed (24: Too many open files) while connecting",
        "accept4() failed (23: Too many open files in system)",
        "1024 worker_connections are not enough",
        "a client request body is buffered to a temporary file /var/cache/x, client: 1.1.1.1",
        "example.com could not be resolved (3: Host not found)",
        "recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 1.1.1.1",
    ];
    for b in bodies {
        assert_eq!(
            packed.is_match(b.as_bytes()),
            automaton.is_match(b.as_bytes()),
            "{b}"
        );
        for cut in 0..b.len() {
            let h = &b.as_bytes()[cut..];
            assert_eq!(packed.is_match(h), automaton.is_match(h), "{b} from {cut}");
        }
    }
}

/// The rows kept for each first byte of a message, shared between bytes
/// with the same rows, are the rows a plain walk over the table keeps for
/// that byte: a prefix row under the byte its prefix starts with, every
/// other row under every byte.
#[test]
fn nginx_rows_by_first_byte_are_the_plain_ones() {
    let catalog = Catalog::new();
    let rows = &catalog.nginx.rows;
    for first in 0..=255u8 {
        let plain: Vec<usize> = (0..rows.len())
            .filter(|&i| match rows[i].sig.matcher {
                crate::catalog::rows::Match::Prefix(p)
                | crate::catalog::rows::Match::PrefixContains(p, _) => p.as_bytes()[0] == first,
                _ => true,
            })
            .collect();
        assert_eq!(
            catalog.nginx.rows_for(usize::from(first)),
            plain,
            "byte {first}"
        );
    }
}

/// The nginx classification as the table reads, without the shortcuts:
/// the prefilter over the whole line, then every row in order.
fn classify_nginx_plainly<'a>(
    catalog: &Catalog,
    head: &crate::parse::Head<'a>,
    scratch: &'a mut Vec<u8>,
) -> Option<Classified<'a>> {
    if matches!(head.level, b"info" | b"notice" | b"debug")
        || !catalog.nginx.prefilter.is_match(head.body)
    {
        return None;
    }
    let body = LazyBody::parse(head.body);
    let all: Vec<usize> = (0..catalog.nginx.rows.len()).collect();
    let row = catalog.nginx.row(&body, &all)?;
    catalog
        .nginx
        .row_says(&catalog.nginx.rows[row], &body, scratch)
}

/// Every nginx line of the fixtures, and each of them cut and with its
/// message replaced, classifies the same with the shortcuts (first-byte
/// row index, prefilter skipped when the action names the upstream, the
/// memo of line starts, on first sight and when seen again) as plainly.
#[test]
fn nginx_shortcuts_agree_with_the_plain_walk() {
    let catalog = Catalog::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nginx");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read(entry.unwrap().path()).unwrap();
        lines.extend(text.split(|&c| c == b'\n').map(<[u8]>::to_vec));
    }
    let messages: &[&[u8]] = &[
        b"connect() failed (111: Connection refused)",
        b"recv() failed (104: Connection reset by peer)",
        b"upstream timed out (110: Connection timed out)",
        b"open() \"/x\" failed (24: Too many open files)",
        b"x could not be resolved (3: Host not found)",
        b"no live upstreams",
        b"limiting requests, excess: 1.0 by zone \"api\"",
    ];
    let mut variants = Vec::new();
    for l in &lines {
        for cut in [l.len() / 2, l.len().saturating_sub(40)] {
            variants.push(l[..cut].to_vec());
        }
        // Swap the message for others, keeping the rest of the line.
        if let Some(star) = l.iter().position(|&c| c == b'*')
            && let Some(sp) = l[star..].iter().position(|&c| c == b' ')
        {
            let (prefix, rest) = l.split_at(star + sp + 1);
            let tail_at = rest
                .windows(7)
                .position(|w| w == b" while ")
                .or_else(|| rest.windows(10).position(|w| w == b", client: "))
                .unwrap_or(rest.len());
            for m in messages {
                variants.push([prefix, m, &rest[tail_at..]].concat());
            }
        }
    }
    lines.extend(variants);
    let mut compared = 0;
    let mut failures = 0;
    let mut memo = FitMemo::default();
    for l in lines.iter().chain(&lines) {
        let mut st = ParseState::new(2026);
        let mut scratch = Scratch::default();
        let Some(head) = parse_head(l, &mut st, &mut scratch) else {
            continue;
        };
        if head.server != Server::Nginx {
            continue;
        }
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        let fast = catalog.classify(&head, &mut a);
        let plain = classify_nginx_plainly(&catalog, &head, &mut b);
        let memoized = catalog.classify_with(&head, &mut c, Some(&mut memo));
        assert_eq!(fast, plain, "{}", String::from_utf8_lossy(l));
        assert_eq!(memoized, plain, "memo: {}", String::from_utf8_lossy(l));
        compared += 1;
        failures += usize::from(fast.is_some());
    }
    assert!(
        compared > 1000 && failures > 300,
        "{compared} lines, {failures} failures"
    );
}

/// The row filter picks the row the plain walk picks, for every server's
/// rows (not only those that use it): on each row's own text, on that
/// text inside other text, on texts of two rows together, on the message
/// of every line of the php-fpm and kernel fixtures, and on random
/// splices of those.
#[test]
fn row_filter_picks_the_plain_row() {
    use crate::catalog::compiled::{RowFilter, compile};
    use crate::catalog::rows::Match;
    let mut by_server: std::collections::BTreeMap<String, Vec<compiled::Compiled>> =
        Default::default();
    for sig in signatures::SIGNATURES {
        by_server
            .entry(format!("{:?}", sig.server))
            .or_default()
            .push(compile(sig));
    }
    let text = |c: &compiled::Compiled| match c.sig.matcher {
        Match::Prefix(t) | Match::Contains(t) => t.to_string(),
        Match::PrefixContains(p, t) => format!("{p} {t}"),
        Match::AhContains(_, t) => t.to_string(),
        Match::Ah(_) | Match::Any => String::new(),
    };
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    for dir in ["php-fpm", "incidents"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.to_string_lossy().into_owned();
            if !(name.contains("php-fpm")
                || name.ends_with(".kern.log")
                || name.ends_with(".dmesg.log"))
            {
                continue;
            }
            for line in std::fs::read(&path).unwrap().split(|&b| b == b'\n') {
                // The message: past the first "] " (php-fpm level, dmesg stamp).
                let m = crate::bytes::find(line, b"] ").map_or(line, |i| &line[i + 2..]);
                messages.push(m.to_vec());
            }
        }
    }
    assert!(messages.len() > 50, "fixture messages: {}", messages.len());
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        crate::testing::xorshift(&mut seed);
        seed
    };
    for rows in by_server.values() {
        let filter = RowFilter::new(rows);
        let automaton = RowFilter::new_with_automaton(rows);
        let mut all = messages.clone();
        for a in rows {
            all.push(text(a).into_bytes());
            all.push(format!("x {} y", text(a)).into_bytes());
            for b in rows {
                all.push(format!("{} and {}", text(a), text(b)).into_bytes());
            }
        }
        for _ in 0..2000 {
            let a = &messages[next() as usize % messages.len()];
            let b = &messages[next() as usize % messages.len()];
            let (i, j) = (
                next() as usize % (a.len() + 1),
                next() as usize % (b.len() + 1),
            );
            all.push([&a[..i], &b[j..]].concat());
        }
        for m in &all {
            for ah in [None, Some(1114), Some(1102)] {
                let plain = rows.iter().position(|c| c.matches(m, ah));
                for f in [&filter, &automaton] {
                    let fit = f
                        .first_fit(rows, m, ah)
                        .map(|c| rows.iter().position(|r| std::ptr::eq(r, c)).unwrap());
                    assert_eq!(fit, plain, "{:?}", String::from_utf8_lossy(m));
                }
            }
        }
    }
    assert_eq!(by_server.len(), 4, "nginx, Apache, php-fpm and kernel rows");
}
