//! A seeded generator of large, realistic error logs for benchmarks.
//!
//! ```text
//! cargo run --release --example genlog -- --format nginx --size 1G --seed 1 > big.log
//! ```
//!
//! The message forms are those the real servers wrote into fixtures/ (nginx
//! 1.22, Apache 2.4, php-fpm 8.2): about 40% upstream failures of mixed
//! causes over ~20 upstreams and ~2,000 routes, the rest noise (404s,
//! keepalive closes, buffered bodies, client TLS handshakes, rate limiting,
//! PHP warnings over several lines), with long referrers and some lines cut
//! at nginx's 2048-byte limit. The same seed gives the same bytes.
//!
//! `--profile quiet|noisy|outage` sets the share of upstream failures (about
//! 4%, 40% or all of the lines); `--format php-fpm` and `--format kernel`
//! write php-fpm's master log and `/var/log/kern.log` in the forms of
//! fixtures/php-fpm and fixtures/incidents; `--wrap syslog|docker|cri` puts
//! every line in that envelope, as a log shipper or container runtime would.
//!
//! `--format access` writes an nginx access log in the `combined` format
//! followed by `$request_time $upstream_addr $upstream_status
//! $upstream_response_time $upstream_connect_time $upstream_header_time
//! $connection $connection_requests $request_id` ([`ACCESS_FORMAT`]), with
//! values as nginx writes them (see fixtures/access/nginx-upstreams.log):
//! about 2% 5xx (502, 504, 500, 503), 1% 499, some retries a second member
//! answered (`502, 200`), the rest 200, 304 and 404.

use std::io::{self, BufWriter, Write};

/// The `log_format` of `--format access`, for `--access-format`.
pub const ACCESS_FORMAT: &str = r#"log_format bench '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_addr $upstream_status $upstream_response_time $upstream_connect_time $upstream_header_time $connection $connection_requests $request_id';"#;

/// splitmix64: tiny, fast and stable across versions, which a benchmark
/// data set needs more than statistical quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const RESOURCES: &[&str] = &[
    "users",
    "orders",
    "items",
    "carts",
    "payments",
    "invoices",
    "reports",
    "search",
    "sessions",
    "products",
    "reviews",
    "accounts",
    "shipments",
    "coupons",
    "notifications",
    "images",
    "exports",
    "webhooks",
    "teams",
    "projects",
];

/// How much of the log is upstream failures: the same message forms in
/// different proportions, because a quiet day, a noisy one and an outage
/// stress different paths (the skip of noise, the per-failure work).
#[derive(Clone, Copy, PartialEq)]
enum Profile {
    /// About 40% failures (the default, and the README's log).
    Noisy,
    /// About 4% failures: most lines are noise skipped early.
    Quiet,
    /// Only upstream failures, as in the minutes of an outage.
    Outage,
}

/// An envelope put around every physical line, as log shippers and
/// container runtimes write them.
#[derive(Clone, Copy, PartialEq)]
enum Wrap {
    None,
    /// RFC 3164 syslog as rsyslog writes it to a file.
    Syslog,
    /// Docker's json-file driver.
    Docker,
    /// The CRI format of containerd and CRI-O.
    Cri,
}

struct Gen {
    rng: Rng,
    profile: Profile,
    routes: Vec<String>,
    upstreams: Vec<String>,
    cid: u64,
    t: i64,
}

impl Gen {
    fn new(seed: u64, profile: Profile) -> Gen {
        let mut rng = Rng(seed);
        let mut routes = Vec::new();
        // ~2,000 route shapes: /api/v{1,2}/<resource>/{id}/<action>...
        for r in RESOURCES {
            for v in 1..=2 {
                for action in 0..50 {
                    routes.push(format!("/api/v{v}/{r}/{{id}}/action{action}"));
                }
            }
        }
        let upstreams = (0..20)
            .map(|i| format!("10.0.{}.{}:{}", i / 5, 10 + i % 5, 8080 + i % 3))
            .collect();
        let t = 1_763_715_600 + rng.below(86_400) as i64; // a day in Nov 2025
        Gen {
            rng,
            profile,
            routes,
            upstreams,
            cid: 1,
            t,
        }
    }

    fn route(&mut self) -> (String, String) {
        let shape = &self.routes[self.rng.below(self.routes.len() as u64) as usize];
        let id = self.rng.below(1_000_000);
        let path = shape.replace("{id}", &id.to_string());
        let query = if self.rng.chance(30) {
            format!("?page={}&sort=desc", self.rng.below(50))
        } else {
            String::new()
        };
        (path, query)
    }

    fn upstream(&mut self) -> String {
        // A few hot upstreams, a long tail.
        let i = if self.rng.chance(60) {
            self.rng.below(3)
        } else {
            self.rng.below(self.upstreams.len() as u64)
        };
        self.upstreams[i as usize].clone()
    }

    /// A draw below `n` where the values below `failures` are upstream
    /// failures, in the proportion the profile asks for.
    fn roll(&mut self, n: u64, failures: u64) -> u64 {
        match self.profile {
            Profile::Noisy => self.rng.below(n),
            Profile::Outage => self.rng.below(failures),
            Profile::Quiet => {
                if self.rng.chance(4) {
                    self.rng.below(failures)
                } else {
                    failures + self.rng.below(n - failures)
                }
            }
        }
    }

    fn tick(&mut self) {
        if self.rng.chance(3) {
            self.t += 1;
        }
        self.cid += 1;
    }

    fn nginx_time(&self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.t);
        format!("{y:04}/{mo:02}/{d:02} {h:02}:{mi:02}:{s:02}")
    }

    fn apache_time(&self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.t);
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        const DAY: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        let dow = DAY[(self.t.div_euclid(86_400) % 7) as usize];
        format!(
            "{dow} {} {d:02} {h:02}:{mi:02}:{s:02}.{:06} {y}",
            MON[mo as usize - 1],
            self.rng.0 % 1_000_000
        )
    }

    fn client(&mut self) -> String {
        format!("203.0.{}.{}", self.rng.below(256), self.rng.below(256))
    }

    fn referrer(&mut self) -> String {
        if self.rng.chance(5) {
            // A long tracking referrer.
            let junk: String = (0..(200 + self.rng.below(1500)))
                .map(|i| (b'a' + ((i * 7 + self.cid) % 26) as u8) as char)
                .collect();
            format!(", referrer: \"https://www.example.com/landing?utm_source={junk}\"")
        } else if self.rng.chance(50) {
            ", referrer: \"https://www.example.com/\"".to_string()
        } else {
            String::new()
        }
    }

    /// One nginx record (possibly several physical lines).
    fn access(&mut self, out: &mut Vec<u8>) {
        self.tick();
        let (y, mo, d, h, mi, sec) = civil(self.t);
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let (path, q) = self.route();
        let client = self.client();
        let up = self.upstream();
        let roll = self.rng.below(1000);
        let ms = |g: &mut Gen, max: u64| format!("{}.{:03}", 0, g.rng.below(max));
        let (status, ustatus, uaddr, uresp, uconn, uhead, rt) = match roll {
            0..=7 => (
                "502".into(),
                "502".into(),
                up.clone(),
                "0.000".into(),
                "-".into(),
                "-".into(),
                "0.001".into(),
            ),
            8..=11 => (
                "504".into(),
                "504".into(),
                up.clone(),
                "60.001".into(),
                "0.000".into(),
                "-".into(),
                "60.002".into(),
            ),
            12..=14 => (
                "500".into(),
                "500".into(),
                up.clone(),
                ms(self, 900),
                "0.000".into(),
                ms(self, 900),
                ms(self, 999),
            ),
            15..=16 => (
                "503".into(),
                "-".into(),
                "backend".to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "0.000".into(),
            ),
            17..=26 => (
                "499".into(),
                "-".into(),
                up.clone(),
                "-".into(),
                "0.000".into(),
                "-".into(),
                ms(self, 999),
            ),
            27..=36 => {
                let other = self.upstream();
                (
                    "200".into(),
                    "502, 200".into(),
                    format!("{up}, {other}"),
                    "0.000, 0.012".into(),
                    "-, 0.001".into(),
                    "-, 0.011".into(),
                    "0.013".into(),
                )
            }
            37..=136 => (
                "404".into(),
                "404".into(),
                up.clone(),
                ms(self, 50),
                "0.000".into(),
                ms(self, 50),
                ms(self, 60),
            ),
            137..=236 => (
                "304".into(),
                "304".into(),
                up.clone(),
                ms(self, 50),
                "0.000".into(),
                ms(self, 50),
                ms(self, 60),
            ),
            _ => (
                "200".into(),
                "200".into(),
                up.clone(),
                ms(self, 300),
                "0.000".into(),
                ms(self, 300),
                ms(self, 400),
            ),
        };
        let (status, ustatus, uaddr, uresp, uconn, uhead, rt): (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
        ) = (status, ustatus, uaddr, uresp, uconn, uhead, rt);
        let bytes = if status == "200" {
            512 + self.rng.below(20_000)
        } else {
            157
        };
        let agent = if self.rng.chance(50) {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
        } else {
            "okhttp/4.12.0"
        };
        let refr = if self.rng.chance(30) {
            "https://www.example.com/"
        } else {
            "-"
        };
        let id = self.rng.next();
        let _ = writeln!(
            out,
            "{client} - - [{d:02}/{}/{y:04}:{h:02}:{mi:02}:{sec:02} +0000] \"GET {path}{q} HTTP/1.1\" {status} {bytes} \"{refr}\" \"{agent}\" {rt} {uaddr} {ustatus} {uresp} {uconn} {uhead} {} 1 {id:016x}{:016x}",
            MON[mo as usize - 1],
            self.cid,
            id.rotate_left(17)
        );
    }

    fn nginx(&mut self, out: &mut Vec<u8>) {
        self.tick();
        let t = self.nginx_time();
        let pid = 10421 + self.rng.below(4);
        let cid = self.cid;
        let (path, q) = self.route();
        let client = self.client();
        let up = self.upstream();
        let refr = self.referrer();
        let ctx = |method: &str, scheme: &str, up: &str| {
            format!(
                ", client: {client}, server: shop.example.com, request: \"{method} {path}{q} HTTP/1.1\", upstream: \"{scheme}{up}{path}{q}\", host: \"shop.example.com\"{refr}"
            )
        };
        let r = self.roll(1000, 400);
        let line = match r {
            0..=119 => format!(
                "{t} [error] {pid}#{pid}: *{cid} upstream timed out (110: Connection timed out) while reading response header from upstream{}",
                ctx("GET", "http://", &up)
            ),
            120..=219 => format!(
                "{t} [error] {pid}#{pid}: *{cid} connect() failed (111: Connection refused) while connecting to upstream{}",
                ctx("GET", "http://", &up)
            ),
            220..=269 => format!(
                "{t} [error] {pid}#{pid}: *{cid} recv() failed (104: Connection reset by peer) while reading response header from upstream{}",
                ctx("GET", "http://", &up)
            ),
            270..=309 => format!(
                "{t} [error] {pid}#{pid}: *{cid} upstream prematurely closed connection while reading response header from upstream{}",
                ctx("GET", "http://", &up)
            ),
            310..=329 => format!(
                "{t} [error] {pid}#{pid}: *{cid} no live upstreams while connecting to upstream{}",
                ctx("GET", "http://", "backend")
            ),
            330..=344 => format!(
                "{t} [error] {pid}#{pid}: *{cid} upstream sent too big header while reading response header from upstream{}",
                ctx("GET", "http://", &up)
            ),
            345..=359 => format!(
                "{t} [error] {pid}#{pid}: *{cid} writev() failed (32: Broken pipe) while sending request to upstream{}",
                ctx("POST", "http://", &up)
            ),
            360..=374 => format!(
                "{t} [crit] {pid}#{pid}: *{cid} connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream{}",
                ctx("GET", "fastcgi://", "unix:/run/php/php8.2-fpm.sock:")
            ),
            375..=384 => format!(
                "{t} [error] {pid}#{pid}: *{cid} FastCGI sent in stderr: \"Primary script unknown\" while reading response header from upstream{}",
                ctx("GET", "fastcgi://", "127.0.0.1:9000")
            ),
            385..=394 => format!(
                "{t} [error] {pid}#{pid}: *{cid} upstream timed out (110: Connection timed out) while connecting to upstream{}",
                ctx("GET", "http://", &up)
            ),
            395..=399 => format!(
                "{t} [error] {pid}#{pid}: *{cid} SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream{}",
                ctx("GET", "https://", &up)
            ),
            // Noise.
            400..=599 => format!(
                "{t} [error] {pid}#{pid}: *{cid} open() \"/var/www/html{path}\" failed (2: No such file or directory), client: {client}, server: shop.example.com, request: \"GET {path}{q} HTTP/1.1\", host: \"shop.example.com\"{refr}"
            ),
            600..=799 => format!(
                "{t} [info] {pid}#{pid}: *{cid} client {client} closed keepalive connection"
            ),
            800..=869 => format!(
                "{t} [warn] {pid}#{pid}: *{cid} a client request body is buffered to a temporary file /var/cache/nginx/client_temp/00000{cid}, client: {client}, server: shop.example.com, request: \"POST {path} HTTP/1.1\", host: \"shop.example.com\""
            ),
            870..=909 => format!(
                "{t} [info] {pid}#{pid}: *{cid} SSL_do_handshake() failed (SSL: error:0A000102:SSL routines::unsupported protocol) while SSL handshaking, client: {client}, server: 0.0.0.0:443"
            ),
            910..=939 => format!(
                "{t} [error] {pid}#{pid}: *{cid} limiting requests, excess: 10.{:03} by zone \"api\", client: {client}, server: shop.example.com, request: \"GET {path} HTTP/1.1\", host: \"shop.example.com\"",
                self.rng.below(1000)
            ),
            940..=969 => format!(
                "{t} [info] {pid}#{pid}: *{cid} epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream{}",
                ctx("GET", "http://", &up)
            ),
            970..=989 => format!(
                "{t} [error] {pid}#{pid}: *{cid} FastCGI sent in stderr: \"PHP message: PHP Warning:  Undefined array key \"page\" in /var/www/app/index.php on line {}\nPHP message: PHP Deprecated:  strlen(): Passing null to parameter #1 in /var/www/app/lib.php on line 12\" while reading response header from upstream{}",
                self.rng.below(400),
                ctx("GET", "fastcgi://", "127.0.0.1:9000")
            ),
            _ => format!(
                "{t} [warn] {pid}#{pid}: *{cid} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/00000{cid} while reading upstream{}",
                ctx("GET", "http://", &up)
            ),
        };
        // nginx cuts records at 2048 bytes.
        let bytes = line.as_bytes();
        out.extend_from_slice(&bytes[..bytes.len().min(2047)]);
        out.push(b'\n');
    }

    /// One Apache failure or noise event (one or more lines).
    fn apache(&mut self, out: &mut Vec<u8>) {
        self.tick();
        let pid = 10464;
        let tid = 140_000 + self.rng.below(64);
        let client = format!("{}:{}", self.client(), 30_000 + self.rng.below(30_000));
        let (path, _) = self.route();
        let up = self.upstream();
        let t = self.apache_time();
        let mut line = |module: &str, level: &str, rest: String| {
            out.extend_from_slice(
                format!("[{t}] [{module}:{level}] [pid {pid}:tid {tid}] {rest}\n").as_bytes(),
            );
        };
        match self.roll(100, 40) {
            0..=14 => {
                line(
                    "proxy",
                    "error",
                    format!(
                        "(111)Connection refused: AH00957: http: attempt to connect to {up} ({up}) failed"
                    ),
                );
                line(
                    "proxy_http",
                    "error",
                    format!(
                        "[client {client}] AH01114: HTTP: failed to make connection to backend: {}",
                        up.split(':').next().unwrap_or("")
                    ),
                );
            }
            15..=29 => {
                line(
                    "proxy_http",
                    "error",
                    format!(
                        "(70007)The timeout specified has expired: [client {client}] AH01102: error reading status line from remote server {up}"
                    ),
                );
                line(
                    "proxy",
                    "error",
                    format!(
                        "[client {client}] AH00898: Error reading from remote server returned by {path}"
                    ),
                );
            }
            30..=34 => {
                line(
                    "proxy_http",
                    "error",
                    format!(
                        "(104)Connection reset by peer: [client {client}] AH01102: error reading status line from remote server {up}"
                    ),
                );
                line(
                    "proxy",
                    "error",
                    format!(
                        "[client {client}] AH00898: Error reading from remote server returned by {path}"
                    ),
                );
            }
            35..=39 => line(
                "proxy_fcgi",
                "error",
                format!("[client {client}] AH01071: Got error 'Primary script unknown'"),
            ),
            40..=69 => line(
                "core",
                "info",
                format!("[client {client}] AH00128: File does not exist: /var/www/html{path}"),
            ),
            70..=84 => line(
                "authz_core",
                "error",
                format!(
                    "[client {client}] AH01630: client denied by server configuration: /var/www/html/.env"
                ),
            ),
            _ => line(
                "ssl",
                "info",
                format!(
                    "[client {client}] AH01964: Connection to child 12 established (server shop.example.com:443)"
                ),
            ),
        }
    }

    fn fpm_time(&self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.t);
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{d:02}-{}-{y:04} {h:02}:{mi:02}:{s:02}",
            MON[mo as usize - 1]
        )
    }

    /// One php-fpm master log line, in the wording php-fpm 8.2 wrote into
    /// fixtures/php-fpm: children started and exiting (noise), and the
    /// saturation, crash and timeout lines that explain 502s.
    fn php_fpm(&mut self, out: &mut Vec<u8>) {
        self.tick();
        let t = self.fpm_time();
        const POOLS: [&str; 4] = ["www", "shop", "api", "admin"];
        let pool = POOLS[self.rng.below(4) as usize];
        let child = 10_000 + self.rng.below(50_000);
        let (path, q) = self.route();
        let line = match self.roll(100, 40) {
            0..=14 => format!(
                "[{t}] WARNING: [pool {pool}] server reached pm.max_children setting ({}), consider raising it",
                5 + self.rng.below(60)
            ),
            15..=24 => format!(
                "[{t}] WARNING: [pool {pool}] child {child} exited on signal {} after {}.{:06} seconds from start",
                if self.rng.chance(50) {
                    "9 (SIGKILL)"
                } else {
                    "11 (SIGSEGV)"
                },
                self.rng.below(3600),
                self.rng.below(1_000_000)
            ),
            25..=34 => format!(
                "[{t}] WARNING: [pool {pool}] child {child}, script '/var/www/app/public/index.php' (request: \"GET {path}{q}\") execution timed out ({}.{:06} sec), terminating",
                30 + self.rng.below(5),
                self.rng.below(1_000_000)
            ),
            35..=39 => format!(
                "[{t}] WARNING: [pool {pool}] seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning {} children, there are 0 idle, and {} total children",
                1 << self.rng.below(6),
                10 + self.rng.below(40)
            ),
            40..=69 => format!("[{t}] NOTICE: [pool {pool}] child {child} started"),
            70..=94 => format!(
                "[{t}] NOTICE: [pool {pool}] child {child} exited with code 0 after {}.{:06} seconds from start",
                self.rng.below(3600),
                self.rng.below(1_000_000)
            ),
            _ => format!(
                "[{t}] WARNING: [pool {pool}] child {child} said into stderr: \"PHP Warning:  Undefined array key \"page\" in /var/www/app/src/Controller.php on line {}\"",
                self.rng.below(400)
            ),
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }

    /// One kernel log record as rsyslog writes /var/log/kern.log: the
    /// syslog head, the dmesg uptime stamp, then a firewall, audit or
    /// driver line (the noise of a real kern.log) or one of the lines
    /// mm/oom_kill.c, arch/x86/mm/fault.c and the network stack write.
    fn kernel(&mut self, out: &mut Vec<u8>) {
        self.tick();
        let (_, mo, d, h, mi, s) = civil(self.t);
        const MON: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let up = self.t - 1_763_700_000;
        let head = format!(
            "{} {d:>2} {h:02}:{mi:02}:{s:02} web1 kernel: [{up:>5}.{:06}]",
            MON[mo as usize - 1],
            self.cid * 997 % 1_000_000
        );
        let pid = 10_000 + self.rng.below(50_000);
        let client = self.client();
        let line = match self.roll(100, 40) {
            0..=9 => format!(
                "{head} Out of memory: Killed process {pid} (php-fpm8.2) total-vm:{}kB, anon-rss:{}kB, file-rss:4096kB, shmem-rss:8192kB, UID:33 pgtables:1224kB oom_score_adj:0",
                400_000 + self.rng.below(900_000),
                200_000 + self.rng.below(600_000)
            ),
            10..=17 => format!(
                "{head} oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/php8.2-fpm.service,task=php-fpm8.2,pid={pid},uid=33"
            ),
            18..=27 => format!(
                "{head} php-fpm8.2[{pid}]: segfault at 0 ip 00007f3a2c1b4e10 sp 00007ffd8a2c3e58 error 4 in libc.so.6[7f3a2c04b000+155000] likely on CPU 1 (core 1, socket 0)"
            ),
            28..=33 => format!(
                "{head} TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:{}. Sending cookies.",
                [80, 443, 8080][self.rng.below(3) as usize]
            ),
            34..=38 => format!("{head} nf_conntrack: nf_conntrack: table full, dropping packet"),
            39 => format!("{head} VFS: file-max limit 65536 reached"),
            40..=84 => format!(
                "{head} [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={client} DST=10.0.0.5 LEN=44 TOS=0x00 PREC=0x00 TTL={} ID={} PROTO=TCP SPT={} DPT={} WINDOW=1024 RES=0x00 SYN URGP=0",
                40 + self.rng.below(200),
                self.rng.below(65_536),
                1024 + self.rng.below(60_000),
                [22, 23, 3389, 5900, 8443][self.rng.below(5) as usize]
            ),
            85..=94 => format!(
                "{head} audit: type=1400 audit({}.{:03}:{}): apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/nginx\" name=\"/proc/{pid}/status\" pid={pid} comm=\"nginx\" requested_mask=\"r\" denied_mask=\"r\" fsuid=33 ouid=33",
                self.t,
                self.rng.below(1000),
                self.rng.below(100_000)
            ),
            _ => {
                format!("{head} EXT4-fs (vda1): resizing filesystem from 5242880 to 7864320 blocks")
            }
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }

    /// Puts each physical line of `record` into `out` inside the envelope.
    fn wrap(&mut self, wrap: Wrap, program: &str, record: &[u8], out: &mut Vec<u8>) {
        let (y, mo, d, h, mi, s) = civil(self.t);
        for line in record.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let ns = self.rng.below(1_000_000_000);
            match wrap {
                Wrap::None => {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
                Wrap::Syslog => {
                    const MON: [&str; 12] = [
                        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                        "Nov", "Dec",
                    ];
                    let _ = write!(
                        out,
                        "{} {d:>2} {h:02}:{mi:02}:{s:02} web1 {program}: ",
                        MON[mo as usize - 1]
                    );
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
                Wrap::Cri => {
                    let _ = write!(
                        out,
                        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ns:09}Z stderr F "
                    );
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
                Wrap::Docker => {
                    out.extend_from_slice(b"{\"log\":\"");
                    for &b in line {
                        match b {
                            b'"' => out.extend_from_slice(b"\\\""),
                            b'\\' => out.extend_from_slice(b"\\\\"),
                            b'\t' => out.extend_from_slice(b"\\t"),
                            0..=0x1f => {
                                let _ = write!(out, "\\u{b:04x}");
                            }
                            _ => out.push(b),
                        }
                    }
                    let _ = writeln!(
                        out,
                        "\\n\",\"stream\":\"stderr\",\"time\":\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ns:09}Z\"}}"
                    );
                }
            }
        }
    }
}

/// Calendar fields of seconds since 1970 (UTC arithmetic on log-local time).
fn civil(t: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

fn main() -> io::Result<()> {
    let mut format = "nginx".to_string();
    let mut size = 100u64 << 20;
    let mut seed = 1u64;
    let mut profile = Profile::Noisy;
    let mut wrap = Wrap::None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--format" => format = value(),
            "--size" => size = parse_size(&value()).unwrap_or(size),
            "--seed" => seed = value().parse().unwrap_or(seed),
            "--profile" => {
                profile = match value().as_str() {
                    "noisy" => Profile::Noisy,
                    "quiet" => Profile::Quiet,
                    "outage" => Profile::Outage,
                    _ => usage(),
                }
            }
            "--wrap" => {
                wrap = match value().as_str() {
                    "none" => Wrap::None,
                    "syslog" => Wrap::Syslog,
                    "docker" => Wrap::Docker,
                    "cri" => Wrap::Cri,
                    _ => usage(),
                }
            }
            "--print-access-format" => {
                println!("{ACCESS_FORMAT}");
                return Ok(());
            }
            _ => usage(),
        }
    }
    if !["nginx", "apache", "access", "php-fpm", "kernel"].contains(&format.as_str()) {
        usage();
    }
    let mut g = Gen::new(seed, profile);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut buf = Vec::with_capacity(8192);
    let mut wrapped = Vec::with_capacity(16384);
    let mut written = 0u64;
    while written < size {
        buf.clear();
        match format.as_str() {
            "apache" => g.apache(&mut buf),
            "access" => g.access(&mut buf),
            "php-fpm" => g.php_fpm(&mut buf),
            "kernel" => g.kernel(&mut buf),
            _ => g.nginx(&mut buf),
        }
        let record = if wrap == Wrap::None {
            &buf
        } else {
            wrapped.clear();
            let program = match format.as_str() {
                "apache" => "apache2[10464]",
                "php-fpm" => "php-fpm8.2[10300]",
                "kernel" => "kernel",
                _ => "nginx[10420]",
            };
            g.wrap(wrap, program, &buf, &mut wrapped);
            &wrapped
        };
        out.write_all(record)?;
        written += record.len() as u64;
    }
    out.flush()
}

fn usage() -> ! {
    eprintln!(
        "usage: genlog [--format nginx|apache|access|php-fpm|kernel] [--profile noisy|quiet|outage] [--wrap none|syslog|docker|cri] [--size 1G] [--seed N]"
    );
    std::process::exit(2);
}
