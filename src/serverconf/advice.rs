//! The configuration behind a failure: for a cause, its routes and its
//! upstreams, the location that proxied them (found as nginx finds it),
//! the settings the cause depends on there with where each comes from, and
//! the fix in those terms: "`proxy_read_timeout` is 60s (nginx's default)
//! in `location /reports/` at shop.conf:42: raise it there". For Apache,
//! the `ProxyPass` (or `SetHandler "proxy:..."`) httpd chose, found in
//! its order, in the virtual host whose `ErrorLog` the lines came from;
//! where Apache's line names no backend (`AH10124`, `AH01106`,
//! `AH01071`), the backend is the one that rule sends to, marked as taken
//! from the configuration.

use serde::{Deserialize, Serialize};

use super::ServerConfig;
use super::apache::{self, Apache, Route};
use super::nginx::{self, Location, Nginx, Site};
use super::php_fpm;
use super::source::{Origin, Setting};

/// One setting as the advice quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingReport {
    /// The directive (`proxy_read_timeout`, `pm.max_children`).
    pub name: String,
    /// Its value where it applies.
    pub value: String,
    /// Where it is set (`file:line`); `null` for the server's default.
    pub at: Option<String>,
    /// Set in the block itself rather than inherited.
    pub set_here: bool,
}

/// The configuration behind one route (or upstream) of a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    /// The failing route, when the failures name one.
    pub route: Option<String>,
    /// The failing upstream: as the failures name it, or (when they name
    /// none) the backend the configuration sends the route to.
    pub upstream: Option<String>,
    /// True when `upstream` is taken from the configuration, not from the
    /// log lines.
    #[serde(default)]
    pub upstream_from_config: bool,
    /// The block that handled it (`location /api/ at shop.conf:12`).
    pub location: String,
    /// Where that block is.
    pub at: String,
    /// The `*_pass` in effect there (`proxy_pass http://users_api at ...`).
    pub pass: Option<String>,
    /// The settings the cause depends on.
    pub settings: Vec<SettingReport>,
    /// What to change, in these terms.
    pub advice: String,
}

/// Most advice entries per cause.
const MAX_PER_CAUSE: usize = 3;

/// Where a cause's lines came from.
#[derive(Debug, Clone, Default)]
pub struct Logged<'a> {
    /// The log files (a cause's example's file first).
    pub files: Vec<&'a str>,
    /// Some of its failures were logged by nginx.
    pub nginx: bool,
    /// Some were logged by Apache httpd.
    pub apache: bool,
}

impl Logged<'_> {
    /// Lines of both kinds count as possible when no server is known.
    fn either(&self) -> (bool, bool) {
        if self.nginx || self.apache {
            (self.nginx, self.apache)
        } else {
            (true, true)
        }
    }
}

/// The advice for one cause of a report.
pub fn for_cause(
    cfg: &ServerConfig,
    cause: &str,
    routes: &[&str],
    upstreams: &[&str],
    logged: &Logged<'_>,
) -> Vec<Advice> {
    let mut out: Vec<Advice> = Vec::new();
    if cause.starts_with("php_fpm_") {
        // php-fpm's own failures name their pool.
        for up in upstreams {
            if let Some(a) = pool_advice(cfg, cause, up) {
                out.push(a);
            }
        }
        out.truncate(MAX_PER_CAUSE);
        return out;
    }
    let wanted: Vec<Option<&str>> = if routes.is_empty() {
        vec![None]
    } else {
        routes.iter().map(|r| Some(*r)).collect()
    };
    let (by_nginx, by_apache) = logged.either();
    for route in wanted {
        if by_nginx {
            for n in &cfg.nginx {
                if let Some((site, loc)) = place(n, route, upstreams) {
                    let a = nginx_advice(cfg, n, site, loc, cause, route, upstreams);
                    if !out.iter().any(|o| o.at == a.at && o.route == a.route) {
                        out.push(a);
                    }
                }
            }
        }
        if by_apache {
            for ap in &cfg.apache {
                let uri = route.map(path_of);
                if let Some((server, r)) = apache_place(ap, uri, upstreams, &logged.files) {
                    let a = apache_advice(cfg, ap, server, &r, cause, route, upstreams);
                    if !out.iter().any(|o| o.at == a.at && o.route == a.route) {
                        out.push(a);
                    }
                }
            }
        }
        if out.len() >= MAX_PER_CAUSE {
            break;
        }
    }
    out.truncate(MAX_PER_CAUSE);
    out
}

/// `host:port` (or a socket path) of an upstream as a report names it
/// (`http://127.0.0.1:8001`, `fastcgi://unix:/run/php.sock`,
/// `unix:/run/php.sock`).
fn endpoint(upstream: &str) -> &str {
    nginx::pass_host(upstream)
}

/// True when the location's pass reaches `upstream`.
fn reaches(n: &Nginx, loc: &Location, upstream: &str) -> bool {
    let Some(pass) = nginx::pass_of(loc) else {
        return false;
    };
    let want = endpoint(upstream);
    let host = nginx::pass_host(&pass.target);
    if host == want {
        return true;
    }
    match n.group_of(&pass.target) {
        Some(g) => g
            .members
            .iter()
            .any(|m| nginx::pass_host(&m.address) == want),
        // An upstream named by its group (`no live upstreams`).
        None => false,
    }
}

/// The site and location that handled `route` towards one of `upstreams`:
/// where several servers have one, the one whose pass reaches a failing
/// upstream wins; without a route, the first location that reaches one.
fn place<'a>(
    n: &'a Nginx,
    route: Option<&str>,
    upstreams: &[&str],
) -> Option<(&'a Site, &'a Location)> {
    let reaches_any = |loc: &Location| upstreams.iter().any(|u| reaches(n, loc, u));
    match route {
        Some(route) => {
            let found: Vec<(&Site, &Location)> = n
                .sites
                .iter()
                .filter_map(|s| Nginx::find(s, route).map(|l| (s, l)))
                .collect();
            found
                .iter()
                .find(|(_, l)| reaches_any(l))
                .or_else(|| found.iter().find(|(_, l)| nginx::pass_of(l).is_some()))
                .copied()
        }
        None => n.sites.iter().find_map(|s| {
            let locs = s.all_locations();
            locs.into_iter().find(|l| reaches_any(l)).map(|l| (s, l))
        }),
    }
}

fn report(s: &Setting) -> SettingReport {
    SettingReport {
        name: s.name.clone(),
        value: s.value.clone(),
        at: s.at.as_ref().map(Origin::to_string),
        set_here: s.here,
    }
}

/// Where a setting's value comes from, in words; `server` names whose
/// default applies when it is set nowhere (`nginx`, `httpd`).
fn whence(s: &SettingReport, server: &str) -> String {
    match (&s.at, s.set_here) {
        (None, _) => format!("{server}'s default"),
        (Some(at), true) => format!("set at {at}"),
        (Some(at), false) => format!("inherited from {at}"),
    }
}

/// The directives of `module` that a cause depends on.
fn directives(cause: &str, module: &str) -> Vec<String> {
    let d = |suffix: &str| format!("{module}_{suffix}");
    match cause {
        "upstream_timeout" => vec![d("read_timeout")],
        "connect_timeout" => vec![d("connect_timeout")],
        "send_failed" | "send_timeout" => vec![d("send_timeout")],
        "header_too_big" => vec![d("buffer_size"), d("buffers")],
        "upstream_refused" | "premature_close" | "connection_reset" | "no_live_upstreams" => {
            vec![d("next_upstream")]
        }
        "tls_handshake" | "tls_verify" => vec![
            "proxy_ssl_verify".into(),
            "proxy_ssl_trusted_certificate".into(),
            "proxy_ssl_verify_depth".into(),
            "proxy_ssl_server_name".into(),
        ],
        "dns_resolution" => vec!["resolver".into(), "resolver_timeout".into()],
        _ => Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn nginx_advice(
    cfg: &ServerConfig,
    n: &Nginx,
    site: &Site,
    loc: &Location,
    cause: &str,
    route: Option<&str>,
    upstreams: &[&str],
) -> Advice {
    let pass = nginx::pass_of(loc);
    let module = pass.as_ref().map_or("proxy", |p| p.module);
    let settings: Vec<SettingReport> = directives(cause, module)
        .iter()
        .filter_map(|name| nginx::setting(&loc.levels, name))
        .map(|s| report(&s))
        .collect();
    let name = match &site.names.first() {
        Some(n) => format!(" of server {n}"),
        None => String::new(),
    };
    let location = format!("location {}{}", loc.pattern, name);
    let pass_text = pass
        .as_ref()
        .map(|p| format!("{}_pass {} at {}", p.module, p.target, p.at));
    let first = settings.first();
    let advice = match (cause, first) {
        ("upstream_timeout" | "connect_timeout" | "send_failed", Some(s)) => format!(
            "{} is {} ({}) for {} at {}: raise it there, for the routes that are \
             legitimately slow, rather than globally; or make the backend answer sooner",
            s.name,
            s.value,
            whence(s, "nginx"),
            location,
            loc.at
        ),
        ("header_too_big", Some(s)) => format!(
            "{} is {} ({}) for {} at {}: raise it (e.g. 16k, and {}_buffers to match) there",
            s.name,
            s.value,
            whence(s, "nginx"),
            location,
            loc.at,
            module
        ),
        ("tls_handshake" | "tls_verify", _) => {
            let v = |n: &str| settings.iter().find(|s| s.name == n);
            let sni = v("proxy_ssl_server_name").map_or("off".to_string(), |s| s.value.clone());
            let ca = v("proxy_ssl_trusted_certificate").map_or("not set".to_string(), |s| {
                format!("{} ({})", s.value, whence(s, "nginx"))
            });
            format!(
                "for {} at {}: proxy_ssl_server_name is {sni}, proxy_ssl_trusted_certificate is {ca}; \
                 an upstream that needs SNI wants proxy_ssl_server_name on, a chain with \
                 intermediates wants them in the trusted file and a large enough proxy_ssl_verify_depth",
                location, loc.at
            )
        }
        ("dns_resolution", _) => match settings
            .iter()
            .find(|s| s.name == "resolver" && s.at.is_some())
        {
            Some(r) => format!(
                "resolver {} ({}) for {} at {}: check that it answers for the upstream's name",
                r.value,
                whence(r, "nginx"),
                location,
                loc.at
            ),
            None => format!(
                "no resolver is set for {} at {}: a proxy_pass with a variable needs one",
                location, loc.at
            ),
        },
        ("socket_missing" | "socket_permission", _) => {
            socket_advice(cfg, pass.as_ref(), cause, &location, &loc.at)
        }
        ("no_live_upstreams" | "upstream_refused" | "premature_close" | "connection_reset", _) => {
            group_advice(n, pass.as_ref(), &settings, &location, &loc.at)
        }
        _ => format!(
            "handled by {} at {}{}",
            location,
            loc.at,
            pass_text
                .as_ref()
                .map(|p| format!(", {p}"))
                .unwrap_or_default()
        ),
    };
    Advice {
        route: route.map(str::to_string),
        upstream: upstreams
            .iter()
            .find(|u| reaches(n, loc, u))
            .or(upstreams.first())
            .map(|u| u.to_string()),
        upstream_from_config: false,
        location,
        at: loc.at.to_string(),
        pass: pass_text,
        settings,
        advice,
    }
}

fn group_advice(
    n: &Nginx,
    pass: Option<&nginx::Pass>,
    settings: &[SettingReport],
    location: &str,
    at: &Origin,
) -> String {
    let next = settings
        .first()
        .map(|s| format!("; {} is {} ({})", s.name, s.value, whence(s, "nginx")))
        .unwrap_or_default();
    let Some(p) = pass else {
        return format!("{location} at {at} passes to no upstream");
    };
    match n.group_of(&p.target) {
        Some(g) => {
            let members: Vec<String> = g
                .members
                .iter()
                .map(|m| {
                    let mut s = m.address.clone();
                    for flag in ["down", "backup"] {
                        if m.flag(flag) {
                            s.push_str(&format!(" {flag}"));
                        }
                    }
                    s.push_str(&format!(
                        " max_fails={} fail_timeout={}",
                        m.param("max_fails").unwrap_or("1"),
                        m.param("fail_timeout").unwrap_or("10s")
                    ));
                    s
                })
                .collect();
            let down = g.members.iter().filter(|m| m.flag("down")).count();
            let all_down = if down > 0 && down == g.members.len() {
                " (every server is marked down)"
            } else {
                ""
            };
            format!(
                "{location} at {at} passes to upstream {} at {}: {}{all_down}{next}",
                g.name,
                g.at,
                members.join(", ")
            )
        }
        None => format!(
            "{location} at {at} passes to the single server {} ({}): with no other server to \
             try, every failure of it reaches the clients{next}",
            p.target, p.at
        ),
    }
}

fn socket_advice(
    cfg: &ServerConfig,
    pass: Option<&nginx::Pass>,
    cause: &str,
    location: &str,
    at: &Origin,
) -> String {
    let Some(p) = pass else {
        return format!("{location} at {at} passes to no socket");
    };
    let socket = nginx::pass_host(&p.target);
    match cfg.pools.iter().find(|pool| pool.serves(socket)) {
        Some(pool) => {
            let (listen, lat) = pool.listen().unwrap_or(("", &pool.at));
            if cause == "socket_permission" {
                let v = |k: &str| {
                    pool.get(k)
                        .map_or("(default)".to_string(), |(v, at)| format!("{v} ({at})"))
                };
                format!(
                    "{}_pass {} ({}) is pool {}'s socket ({listen}, {lat}): listen.owner {}, \
                     listen.group {}, listen.mode {} must let nginx's user connect",
                    p.module,
                    p.target,
                    p.at,
                    pool.name,
                    v("listen.owner"),
                    v("listen.group"),
                    v("listen.mode")
                )
            } else {
                format!(
                    "{}_pass {} ({}) is pool {}'s socket ({lat}): php-fpm is not running, or \
                     failed to create it",
                    p.module, p.target, p.at, pool.name
                )
            }
        }
        None if cfg.pools.is_empty() => format!(
            "{}_pass {} at {}: give the php-fpm pool files with --config to check that a pool \
             listens there",
            p.module, p.target, p.at
        ),
        None => {
            let listens = php_fpm::listens(&cfg.pools);
            format!(
                "{}_pass {} ({}) names a socket no php-fpm pool listens on; the pools listen on {}",
                p.module,
                p.target,
                p.at,
                listens.join(", ")
            )
        }
    }
}

fn pool_advice(cfg: &ServerConfig, cause: &str, upstream: &str) -> Option<Advice> {
    let name = upstream.strip_prefix("pool ").unwrap_or(upstream);
    let pool = cfg.pools.iter().find(|p| p.name == name)?;
    let keys: &[&str] = match cause {
        "php_fpm_max_children" => &["pm", "pm.max_children", "pm.max_spare_servers"],
        "php_fpm_child_crash" | "php_fpm_terminate_timeout" => {
            &["request_terminate_timeout", "pm.max_requests"]
        }
        _ => &["pm", "pm.max_children"],
    };
    let settings: Vec<SettingReport> = keys
        .iter()
        .filter_map(|k| {
            pool.get(k).map(|(v, at)| SettingReport {
                name: k.to_string(),
                value: v.to_string(),
                at: Some(at.to_string()),
                set_here: true,
            })
        })
        .collect();
    let quoted: Vec<String> = settings
        .iter()
        .map(|s| {
            format!(
                "{} = {} ({})",
                s.name,
                s.value,
                s.at.as_deref().unwrap_or("")
            )
        })
        .collect();
    let advice = match cause {
        "php_fpm_max_children" => format!(
            "pool {}: {}; raise pm.max_children as far as memory allows (about the memory \
             for PHP divided by one worker's size), or make the slow scripts faster",
            pool.name,
            quoted.join(", ")
        ),
        _ => format!("pool {}: {}", pool.name, quoted.join(", ")),
    };
    Some(Advice {
        route: None,
        upstream: Some(upstream.to_string()),
        upstream_from_config: false,
        location: format!("pool {}", pool.name),
        at: pool.at.to_string(),
        pass: pool.listen().map(|(l, at)| format!("listen = {l} at {at}")),
        settings,
        advice,
    })
}

// ------------------------------------------------------------ Apache

/// The path of a route as the report names it (`/login (GET)` is the path
/// `/login` with its method).
fn path_of(route: &str) -> &str {
    match route.rsplit_once(" (") {
        Some((path, m)) if m.ends_with(')') => path,
        _ => route,
    }
}

/// True when an upstream as a report names it (`http://127.0.0.1:8080`,
/// `unix:/run/x.sock`, `fcgi://127.0.0.1:9000`, `balancer://app`, a bare
/// host) is the same endpoint as `target`.
fn same_endpoint(upstream: &str, target: &str) -> bool {
    let u = apache::endpoint(upstream).to_ascii_lowercase();
    let t = apache::endpoint(target).to_ascii_lowercase();
    if u == t {
        return true;
    }
    let host = |s: &str| -> String {
        match s.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !s.starts_with('/') => {
                h.to_string()
            }
            _ => s.to_string(),
        }
    };
    // A host named without its port (`DNS lookup failure for: name`).
    (!u.contains(':') || !t.contains(':')) && !u.starts_with('/') && host(&u) == host(&t)
}

/// True when a route sends to `upstream`, itself or as a member of its
/// balancer.
fn apache_reaches(a: &Apache, r: &Route<'_>, upstream: &str) -> bool {
    let target = r.target();
    if let Some(b) = a.balancer_of(target) {
        let name = apache::balancer_name(target).unwrap_or_default();
        return apache::balancer_name(upstream).is_some_and(|u| u == name)
            || b.members.iter().any(|m| same_endpoint(upstream, &m.url));
    }
    target != "!" && same_endpoint(upstream, target)
}

/// Every rule and handler that applies in a server (the main server's
/// too, for a virtual host), in httpd's order.
fn all_routes<'a>(a: &'a Apache, s: &'a apache::Server) -> Vec<Route<'a>> {
    let mut chain = vec![&a.main_server];
    if !std::ptr::eq(s, &a.main_server) {
        chain.push(s);
    }
    let mut out: Vec<Route<'a>> = Vec::new();
    for srv in &chain {
        out.extend(srv.location_rules.iter().map(Route::Pass));
    }
    for srv in &chain {
        out.extend(srv.rules.iter().map(Route::Pass));
    }
    for srv in &chain {
        out.extend(srv.handlers.iter().map(Route::Handler));
    }
    out.retain(|r| r.target() != "!");
    out
}

/// The server and the rule that handled `uri` towards one of
/// `upstreams`. The servers are those whose `ErrorLog` the lines came
/// from, when that says; with a route, httpd's own choice in each (one
/// that reaches a failing upstream first); without one, the rule that
/// reaches a failing upstream, or the one rule of the server the log
/// belongs to.
fn apache_place<'a>(
    a: &'a Apache,
    uri: Option<&str>,
    upstreams: &[&str],
    logs: &[&str],
) -> Option<(&'a apache::Server, Route<'a>)> {
    let mut by_log: Vec<&apache::Server> = Vec::new();
    for l in logs {
        for s in a.servers_logging_to(l) {
            if !by_log.iter().any(|x| std::ptr::eq(*x, s)) {
                by_log.push(s);
            }
        }
    }
    let narrowed = !by_log.is_empty();
    let candidates: Vec<&apache::Server> = if narrowed {
        by_log
    } else {
        a.servers().collect()
    };
    let reaches_any = |r: &Route<'_>| upstreams.iter().any(|u| apache_reaches(a, r, u));
    match uri {
        Some(uri) => {
            let found: Vec<(&apache::Server, Route<'a>)> = candidates
                .iter()
                .filter_map(|s| a.route(s, uri).map(|r| (*s, r)))
                .collect();
            if let Some(hit) = found.iter().find(|(_, r)| reaches_any(r)) {
                return Some(*hit);
            }
            if upstreams.is_empty() && (narrowed || found.len() == 1) {
                return found.first().copied();
            }
            None
        }
        None => {
            for s in &candidates {
                if let Some(r) = all_routes(a, s).into_iter().find(|r| reaches_any(r)) {
                    return Some((s, r));
                }
            }
            if narrowed && candidates.len() == 1 {
                let routes = all_routes(a, candidates[0]);
                if routes.len() == 1 {
                    return Some((candidates[0], routes[0]));
                }
            }
            None
        }
    }
}

/// `ProxyTimeout 1 (inherited from httpd.conf:40)`, `timeout=2 (set at
/// httpd.conf:95)`, `Timeout 60 (httpd's default)`.
fn apache_quote(s: &SettingReport) -> String {
    let value = if s
        .name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
    {
        format!("{}={}", s.name, s.value)
    } else {
        format!("{} {}", s.name, s.value)
    };
    format!("{value} ({})", whence(s, "httpd"))
}

/// The backend a target names, as a report would (`http://127.0.0.1:8080`,
/// `unix:/run/x.sock`, `balancer://app`).
fn backend_of(target: &str) -> String {
    if let Some(b) = apache::balancer_name(target) {
        return b;
    }
    let t = target.strip_prefix("proxy:").unwrap_or(target);
    if t.starts_with("unix:") {
        return format!("unix:{}", apache::endpoint(t));
    }
    match t.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://{}", apache::endpoint(t)),
        None => t.to_string(),
    }
}

/// The php-fpm pool behind a target, as a clause: `; it is php-fpm pool
/// www (www.conf:5): pm = static (...), pm.max_children = 2 (...)`.
fn pool_clause(cfg: &ServerConfig, target: &str) -> String {
    let ep = apache::endpoint(target);
    let Some(pool) = cfg.pools.iter().find(|p| p.serves(ep)) else {
        return String::new();
    };
    let quoted: Vec<String> = ["pm", "pm.max_children", "request_terminate_timeout"]
        .iter()
        .filter_map(|k| pool.get(k).map(|(v, at)| format!("{k} = {v} ({at})")))
        .collect();
    format!(
        "; it is php-fpm pool {} ({}){}{}: with every child busy, requests wait in the \
         listen queue; raise pm.max_children as far as memory allows, or make the slow scripts faster",
        pool.name,
        pool.at,
        if quoted.is_empty() { "" } else { ": " },
        quoted.join(", ")
    )
}

/// `, served by php-fpm pool www (www.conf:5)`, when a pool given
/// listens where the target points.
fn pool_name(cfg: &ServerConfig, target: &str) -> String {
    let ep = apache::endpoint(target);
    cfg.pools
        .iter()
        .find(|p| p.serves(ep))
        .map(|p| format!(", served by php-fpm pool {} ({})", p.name, p.at))
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn apache_advice(
    cfg: &ServerConfig,
    a: &Apache,
    server: &apache::Server,
    r: &Route<'_>,
    cause: &str,
    route: Option<&str>,
    upstreams: &[&str],
) -> Advice {
    let target = r.target();
    let at = r.at().clone();
    let rule = format!("{} at {at}", r.text());
    let location = server.describe();
    let known = upstreams.iter().find(|u| apache_reaches(a, r, u));
    let (upstream, from_config) = match (known, upstreams.first()) {
        (Some(u), _) => (Some(u.to_string()), false),
        (None, None) => (Some(backend_of(target)), true),
        (None, Some(u)) => (Some(u.to_string()), false),
    };
    let lead = if from_config {
        format!("backend {} (from config): ", backend_of(target))
    } else {
        String::new()
    };
    let is_pass = matches!(r, Route::Pass(_));
    let mut settings: Vec<SettingReport> = Vec::new();
    let text = match cause {
        "upstream_timeout" | "send_failed" | "send_timeout" => {
            let t = report(&a.read_timeout(server, r));
            let how = if is_pass {
                "set timeout= on that ProxyPass for the routes that are legitimately slow, \
                 rather than raising ProxyTimeout or Timeout for everything"
                    .to_string()
            } else {
                format!(
                    "set it for this backend alone with <Proxy \"{target}\"> ProxySet timeout=N \
                     </Proxy> rather than raising ProxyTimeout or Timeout for everything"
                )
            };
            let s = format!(
                "the backend timeout is {} for {rule} in {location}: {how}; or make the backend \
                 answer sooner{}",
                apache_quote(&t),
                pool_clause(cfg, target)
            );
            settings.push(t);
            s
        }
        "connect_timeout" => {
            let t = report(&a.connect_timeout(server, r));
            let s = format!(
                "the connect timeout is {} for {rule} in {location}: the backend did not accept \
                 in time (a full accept queue, a firewall dropping packets); raise \
                 connectiontimeout= there only for a backend that is slow to accept{}",
                apache_quote(&t),
                pool_clause(cfg, target)
            );
            settings.push(t);
            s
        }
        "header_too_big" => {
            let t = a.setting(server, "ResponseFieldSize").map(|s| report(&s));
            let s = match &t {
                Some(t) => format!(
                    "{} for {location}, which sends {} there: raise it in that VirtualHost \
                     (e.g. ResponseFieldSize 65536), or make the backend send smaller headers",
                    apache_quote(t),
                    r.text()
                ),
                None => format!("{rule} in {location}"),
            };
            settings.extend(t);
            s
        }
        "invalid_header" => {
            let t = a.setting(server, "ProxyBadHeader").map(|s| report(&s));
            let s = format!(
                "{rule} in {location}{}: the backend's response headers are not valid HTTP; \
                 fix the backend (ProxyBadHeader Ignore would only drop the bad lines)",
                t.as_ref()
                    .map(|t| format!(", {}", apache_quote(t)))
                    .unwrap_or_default()
            );
            settings.extend(t);
            s
        }
        "socket_missing" | "socket_permission" => {
            apache_socket_advice(cfg, a, target, cause, &rule, &location)
        }
        "dns_resolution" => format!(
            "{rule} in {location}: the name {} does not resolve from this host; httpd looks it \
             up when it connects: check the name, the resolver (/etc/resolv.conf), or use an address",
            apache::endpoint(target)
                .rsplit_once(':')
                .map_or(apache::endpoint(target), |(h, _)| h)
        ),
        "fastcgi_script" => format!(
            "{rule} in {location}{}: php-fpm found no script at the path this sends \
             (SCRIPT_FILENAME): that path must exist as php-fpm sees it (its chroot or \
             container, the same document root), and the script must be there",
            pool_name(cfg, target)
        ),
        "upstream_refused"
        | "premature_close"
        | "connection_reset"
        | "no_live_upstreams"
        | "connect_failed_unexplained" => {
            let retry = report(&a.retry(r));
            let s = match a.balancer_of(target) {
                Some(b) => {
                    let members: Vec<String> = b
                        .members
                        .iter()
                        .map(|m| {
                            let mut t = format!("{} ({})", m.url, m.at);
                            if let Some(st) = m.param("status") {
                                t.push_str(&format!(" status={st}"));
                            }
                            t
                        })
                        .collect();
                    format!(
                        "{rule} in {location} sends to {} (at {}): {}; a member that fails is \
                         left alone for {}, and with every member in error state each request \
                         fails (AH01170)",
                        b.name,
                        b.at,
                        if members.is_empty() {
                            "no BalancerMember".to_string()
                        } else {
                            members.join(", ")
                        },
                        apache_quote(&retry)
                    )
                }
                None => format!(
                    "{rule} in {location} sends to the single backend {}: after a failure httpd \
                     leaves it alone for {} and answers 503 meanwhile; with no other backend \
                     nothing takes over: a balancer:// with a second BalancerMember (or a hot \
                     standby, status=+H), or a lower retry=",
                    backend_of(target),
                    apache_quote(&retry)
                ),
            };
            settings.push(retry);
            s
        }
        "tls_handshake" | "tls_verify" => {
            let quoted: Vec<String> = [
                "SSLProxyVerify",
                "SSLProxyCheckPeerName",
                "SSLProxyCACertificateFile",
                "ProxyPreserveHost",
            ]
            .iter()
            .filter_map(|n| a.setting(server, n))
            .map(|s| {
                let r = report(&s);
                let q = apache_quote(&r);
                settings.push(r);
                q
            })
            .collect();
            format!(
                "{rule} in {location}{}{}: the backend's certificate must verify against \
                 SSLProxyCACertificateFile and carry the name httpd checks (the URL's host, or \
                 the client's Host with ProxyPreserveHost On, which is also the SNI name sent)",
                if quoted.is_empty() { "" } else { ": " },
                quoted.join(", ")
            )
        }
        _ => format!("handled by {rule} in {location}{}", pool_name(cfg, target)),
    };
    Advice {
        route: route.map(str::to_string),
        upstream,
        upstream_from_config: from_config,
        location,
        at: at.to_string(),
        pass: Some(rule),
        settings,
        advice: format!("{lead}{text}"),
    }
}

fn apache_socket_advice(
    cfg: &ServerConfig,
    a: &Apache,
    target: &str,
    cause: &str,
    rule: &str,
    location: &str,
) -> String {
    let socket = apache::endpoint(target);
    match cfg.pools.iter().find(|pool| pool.serves(socket)) {
        Some(pool) => {
            let (listen, lat) = pool.listen().unwrap_or(("", &pool.at));
            if cause == "socket_permission" {
                let v = |k: &str| {
                    pool.get(k)
                        .map_or("(default)".to_string(), |(v, at)| format!("{v} ({at})"))
                };
                let user = a
                    .user
                    .as_ref()
                    .map_or("httpd's User".to_string(), |(u, at)| match at {
                        Some(at) => format!("httpd's User {u} ({at})"),
                        None => format!("httpd's User {u}"),
                    });
                format!(
                    "{rule} in {location} is pool {}'s socket ({listen}, {lat}): listen.owner {}, \
                     listen.group {}, listen.mode {} must let {user} connect",
                    pool.name,
                    v("listen.owner"),
                    v("listen.group"),
                    v("listen.mode")
                )
            } else {
                format!(
                    "{rule} in {location} is pool {}'s socket ({lat}): php-fpm is not running, \
                     or failed to create it",
                    pool.name
                )
            }
        }
        _ if cause == "socket_permission" => {
            let user = a
                .user
                .as_ref()
                .map_or("httpd's User".to_string(), |(u, at)| match at {
                    Some(at) => format!("httpd's User {u} ({at})"),
                    None => format!("httpd's User {u}"),
                });
            format!(
                "{rule} in {location}: {user} may not connect to {socket}{}: the owner, group \
                 and mode of the socket (listen.owner, listen.group, listen.mode of the pool that \
                 creates it) must let it",
                if cfg.pools.is_empty() {
                    ""
                } else {
                    " (no php-fpm pool given listens there)"
                }
            )
        }
        None if cfg.pools.is_empty() => format!(
            "{rule} in {location}: the socket {socket} does not exist; give the php-fpm pool \
             files with --config to check that a pool listens there"
        ),
        None => {
            let listens = php_fpm::listens(&cfg.pools);
            format!(
                "{rule} in {location} names a socket no php-fpm pool listens on; the pools listen \
                 on {}",
                listens.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serverconf::SourceFile;
    use std::path::PathBuf;

    fn for_cause_any(
        c: &ServerConfig,
        cause: &str,
        routes: &[&str],
        upstreams: &[&str],
    ) -> Vec<Advice> {
        for_cause(c, cause, routes, upstreams, &Logged::default())
    }

    fn config(nginx_conf: &str, pool: Option<&str>) -> ServerConfig {
        let mut c = ServerConfig::default();
        c.add(&SourceFile {
            path: PathBuf::from("shop.conf"),
            text: nginx_conf.into(),
        })
        .unwrap();
        if let Some(p) = pool {
            c.add(&SourceFile {
                path: PathBuf::from("www.conf"),
                text: p.into(),
            })
            .unwrap();
        }
        c
    }

    const SHOP: &str = "http {
    proxy_read_timeout 30s;
    upstream users_api { server 127.0.0.1:8001 max_fails=2; server 127.0.0.1:8002; }
    server {
        server_name shop.test;
        location /api/users/ { proxy_pass http://users_api; }
        location /reports/ { proxy_pass http://127.0.0.1:8003; proxy_read_timeout 90s; }
        location / { proxy_pass http://127.0.0.1:8004; }
        location ~ \\.php$ { fastcgi_pass unix:/run/php/php8.1-fpm.sock; }
    }
}
";

    #[test]
    fn a_timeout_names_the_location_and_where_its_value_comes_from() {
        let c = config(SHOP, None);
        let a = for_cause_any(
            &c,
            "upstream_timeout",
            &["/reports/:id"],
            &["http://127.0.0.1:8003"],
        );
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].location, "location /reports/ of server shop.test");
        assert_eq!(a[0].at, "shop.conf:7");
        assert_eq!(a[0].settings[0].value, "90s");
        assert!(
            a[0].advice
                .contains("proxy_read_timeout is 90s (set at shop.conf:7)"),
            "{}",
            a[0].advice
        );
        let a = for_cause_any(
            &c,
            "upstream_timeout",
            &["/other"],
            &["http://127.0.0.1:8004"],
        );
        assert!(
            a[0].advice.contains("is 30s (inherited from shop.conf:2)"),
            "{}",
            a[0].advice
        );
        let a = for_cause_any(
            &c,
            "connect_timeout",
            &["/other"],
            &["http://127.0.0.1:8004"],
        );
        assert!(
            a[0].advice
                .contains("proxy_connect_timeout is 60s (nginx's default)"),
            "{}",
            a[0].advice
        );
    }

    #[test]
    fn a_group_member_is_found_behind_its_group() {
        let c = config(SHOP, None);
        let a = for_cause_any(&c, "upstream_refused", &[], &["http://127.0.0.1:8002"]);
        assert_eq!(a[0].location, "location /api/users/ of server shop.test");
        assert!(
            a[0].advice.contains("upstream users_api at shop.conf:3"),
            "{}",
            a[0].advice
        );
        assert!(
            a[0].advice
                .contains("127.0.0.1:8001 max_fails=2 fail_timeout=10s"),
            "{}",
            a[0].advice
        );
    }

    #[test]
    fn a_socket_no_pool_listens_on_is_named_with_the_pools() {
        let pool = "[www]\nlisten = /run/php/php8.2-fpm.sock\npm.max_children = 5\n";
        let c = config(SHOP, Some(pool));
        let a = for_cause_any(
            &c,
            "socket_missing",
            &["/index.php"],
            &["unix:/run/php/php8.1-fpm.sock"],
        );
        assert!(
            a[0].advice.contains("names a socket no php-fpm pool listens on; the pools listen on /run/php/php8.2-fpm.sock (pool www, www.conf:2)"),
            "{}",
            a[0].advice
        );
        let a = for_cause_any(&c, "php_fpm_max_children", &[], &["www"]);
        assert_eq!(a[0].settings[0].name, "pm.max_children");
        assert!(
            a[0].advice.contains("pm.max_children = 5 (www.conf:3)"),
            "{}",
            a[0].advice
        );
    }
}
