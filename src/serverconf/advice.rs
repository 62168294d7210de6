//! The configuration behind a failure: for a cause, its routes and its
//! upstreams, the location that proxied them (found as nginx finds it),
//! the settings the cause depends on there with where each comes from, and
//! the fix in those terms: "`proxy_read_timeout` is 60s (nginx's default)
//! in `location /reports/` at shop.conf:42: raise it there".

use serde::{Deserialize, Serialize};

use super::ServerConfig;
use super::nginx::{self, Location, Nginx, Site};
use super::source::Origin;

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
    /// The failing upstream, when the failures name one.
    pub upstream: Option<String>,
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

/// The advice for one cause of a report.
pub fn for_cause(
    cfg: &ServerConfig,
    cause: &str,
    routes: &[&str],
    upstreams: &[&str],
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
    for route in wanted {
        for n in &cfg.nginx {
            if let Some((site, loc)) = place(n, route, upstreams) {
                let a = nginx_advice(cfg, n, site, loc, cause, route, upstreams);
                if !out.iter().any(|o| o.at == a.at && o.route == a.route) {
                    out.push(a);
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

fn report(s: &nginx::Setting) -> SettingReport {
    SettingReport {
        name: s.name.clone(),
        value: s.value.clone(),
        at: s.at.as_ref().map(Origin::to_string),
        set_here: s.here,
    }
}

/// Where a setting's value comes from, in words.
fn whence(s: &SettingReport) -> String {
    match (&s.at, s.set_here) {
        (None, _) => "nginx's default".to_string(),
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
            whence(s),
            location,
            loc.at
        ),
        ("header_too_big", Some(s)) => format!(
            "{} is {} ({}) for {} at {}: raise it (e.g. 16k, and {}_buffers to match) there",
            s.name,
            s.value,
            whence(s),
            location,
            loc.at,
            module
        ),
        ("tls_handshake" | "tls_verify", _) => {
            let v = |n: &str| settings.iter().find(|s| s.name == n);
            let sni = v("proxy_ssl_server_name").map_or("off".to_string(), |s| s.value.clone());
            let ca = v("proxy_ssl_trusted_certificate").map_or("not set".to_string(), |s| {
                format!("{} ({})", s.value, whence(s))
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
                whence(r),
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
        .map(|s| format!("; {} is {} ({})", s.name, s.value, whence(s)))
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
            let listens: Vec<String> = cfg
                .pools
                .iter()
                .filter_map(|pool| {
                    pool.listen()
                        .map(|(l, at)| format!("{l} (pool {}, {at})", pool.name))
                })
                .collect();
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
        location: format!("pool {}", pool.name),
        at: pool.at.to_string(),
        pass: pool.listen().map(|(l, at)| format!("listen = {l} at {at}")),
        settings,
        advice,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serverconf::SourceFile;
    use std::path::PathBuf;

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
        let a = for_cause(
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
        let a = for_cause(
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
        let a = for_cause(
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
        let a = for_cause(&c, "upstream_refused", &[], &["http://127.0.0.1:8002"]);
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
        let a = for_cause(
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
        let a = for_cause(&c, "php_fpm_max_children", &[], &["www"]);
        assert_eq!(a[0].settings[0].name, "pm.max_children");
        assert!(
            a[0].advice.contains("pm.max_children = 5 (www.conf:3)"),
            "{}",
            a[0].advice
        );
    }
}
