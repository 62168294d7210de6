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

struct Gen {
    rng: Rng,
    routes: Vec<String>,
    upstreams: Vec<String>,
    cid: u64,
    t: i64,
}

impl Gen {
    fn new(seed: u64) -> Gen {
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
        let r = self.rng.below(1000);
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
        match self.rng.below(100) {
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
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match a.as_str() {
            "--format" => format = value(),
            "--size" => size = parse_size(&value()).unwrap_or(size),
            "--seed" => seed = value().parse().unwrap_or(seed),
            "--print-access-format" => {
                println!("{ACCESS_FORMAT}");
                return Ok(());
            }
            _ => {
                eprintln!("usage: genlog [--format nginx|apache|access] [--size 1G] [--seed N]");
                std::process::exit(2);
            }
        }
    }
    let mut g = Gen::new(seed);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut buf = Vec::with_capacity(8192);
    let mut written = 0u64;
    while written < size {
        buf.clear();
        if format == "apache" {
            g.apache(&mut buf);
        } else if format == "access" {
            g.access(&mut buf);
        } else {
            g.nginx(&mut buf);
        }
        out.write_all(&buf)?;
        written += buf.len() as u64;
    }
    out.flush()
}
