//! `upcause lint`: the configuration mistakes that end in 502s, found
//! without any log. Each finding names its place and the cause id the
//! logs would show once the mistake bites, so a CI job can stop a config
//! change before it ships.

use serde::Serialize;

use super::ServerConfig;
use super::advice::Advice;
use super::apache::{self, Apache, Route};
use super::nginx::{self, Location, Nginx};
use super::php_fpm::{self, Pool};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A mistake: requests fail because of it (exit 1).
    Error,
    /// A weakness: nothing fails until something else does (a single
    /// server with nothing to fall back to); reported, exit 0.
    Note,
}

/// One mistake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The cause the logs would show (`socket_missing`).
    pub cause: &'static str,
    /// `error` or `note`.
    pub severity: Severity,
    /// Where (`file:line`).
    pub at: String,
    /// What is wrong and what to change.
    pub message: String,
}

impl Finding {
    fn error(cause: &'static str, at: String, message: String) -> Finding {
        Finding {
            cause,
            severity: Severity::Error,
            at,
            message,
        }
    }

    fn note(cause: &'static str, at: String, message: String) -> Finding {
        Finding {
            cause,
            severity: Severity::Note,
            at,
            message,
        }
    }

    /// The file and line of `at`.
    pub fn place(&self) -> (&str, u64) {
        match self.at.rsplit_once(':') {
            Some((file, line)) => (file, line.parse().unwrap_or(0)),
            None => (&self.at, 0),
        }
    }
}

/// Findings that are errors.
pub fn errors(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
}

/// Sorts findings by file and line, without duplicates.
pub fn sort(out: &mut Vec<Finding>) {
    out.sort_by(|a, b| {
        let (fa, la) = a.place();
        let (fb, lb) = b.place();
        (fa, la, a.cause).cmp(&(fb, lb, b.cause))
    });
    out.dedup();
}

/// Every finding, in file order.
pub fn lint(cfg: &ServerConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in &cfg.nginx {
        let user = nginx_user(n);
        for site in &n.sites {
            for loc in site.all_locations() {
                location(cfg, n, loc, &mut out);
                if let Some(pass) = nginx::pass_of(loc)
                    && pass.target.contains("unix:")
                    && let Some(u) = &user
                {
                    let socket = nginx::pass_host(&pass.target);
                    if let Some(pool) = cfg.pools.iter().find(|p| p.serves(socket))
                        && let Some(why) = denied(pool, u)
                    {
                        out.push(Finding::error(
                            "socket_permission",
                            pass.at.to_string(),
                            format!(
                                "{}_pass {} is pool {}'s socket, which nginx's workers (user {}, \
                                 {}) may not open: {why}",
                                pass.module, pass.target, pool.name, u.name, u.at
                            ),
                        ));
                    }
                }
            }
        }
        for g in n.groups.values() {
            let live: Vec<_> = g
                .members
                .iter()
                .filter(|m| !m.flag("backup") && !m.flag("down"))
                .collect();
            if live.len() == 1 && g.members.iter().all(|m| !m.flag("backup")) {
                out.push(Finding::note(
                    "upstream_refused",
                    g.at.to_string(),
                    format!(
                        "upstream {} has one server ({}), nothing to fall back to: when it \
                         restarts or stops answering, every request to it fails; add a second \
                         server (or a `backup` one)",
                        g.name, live[0].address
                    ),
                ));
            }
            let active: Vec<_> = g.members.iter().filter(|m| !m.flag("backup")).collect();
            if active.len() > 1 && active.iter().all(|m| m.param("max_fails") == Some("0")) {
                out.push(Finding::error(
                    "upstream_refused",
                    g.at.to_string(),
                    format!(
                        "every server of upstream {} has max_fails=0: nginx never stops sending \
                         requests to a dead one; leave max_fails at its default (1) or set it with \
                         fail_timeout",
                        g.name
                    ),
                ));
            }
            if !active.is_empty() && active.iter().all(|m| m.flag("down")) {
                out.push(Finding::error(
                    "no_live_upstreams",
                    g.at.to_string(),
                    format!(
                        "every server of upstream {} is marked down: each request to it fails \
                         with `no live upstreams`",
                        g.name
                    ),
                ));
            }
        }
    }
    for a in &cfg.apache {
        apache_lint(cfg, a, &mut out);
    }
    sort(&mut out);
    out
}

/// The user a server's workers run as, with where that is said.
struct WebUser {
    name: String,
    group: Option<String>,
    at: String,
}

/// nginx's `user` (only when set: without it the workers run as the user
/// that started nginx, or `nobody` under root, which the file cannot say).
fn nginx_user(n: &Nginx) -> Option<WebUser> {
    let d = n.main_directives.iter().rev().find(|d| d.name == "user")?;
    let name = d.args.first()?.clone();
    Some(WebUser {
        group: d.args.get(1).cloned().or_else(|| Some(name.clone())),
        name,
        at: d.at.to_string(),
    })
}

/// Why `user` may not connect to a pool's socket, from its `listen.owner`,
/// `listen.group`, `listen.mode` (php-fpm's defaults: the pool's `user`
/// and `group`, mode 0660) and `listen.acl_users`/`listen.acl_groups`;
/// `None` when it may, or when the pool does not say enough to tell.
fn denied(pool: &Pool, user: &WebUser) -> Option<String> {
    let get = |k: &str| pool.get(k).map(|(v, at)| (v.to_string(), at.to_string()));
    let listed =
        |k: &str, who: &str| get(k).is_some_and(|(v, _)| v.split(',').any(|x| x.trim() == who));
    if listed("listen.acl_users", &user.name)
        || user
            .group
            .as_deref()
            .is_some_and(|g| listed("listen.acl_groups", g))
    {
        return None;
    }
    let (owner, owner_at) = get("listen.owner").or_else(|| get("user"))?;
    let group = get("listen.group").or_else(|| get("group"));
    let (mode_text, mode_at) =
        get("listen.mode").unwrap_or(("0660".into(), "php-fpm's default".into()));
    let mode = u32::from_str_radix(mode_text.trim_start_matches("0o"), 8).ok()?;
    if user.name == "root" || (owner == user.name && mode & 0o200 != 0) || mode & 0o002 != 0 {
        return None;
    }
    let in_group = match (&group, &user.group) {
        (Some((g, _)), Some(ug)) => g == ug,
        (None, _) => return None,
        (_, None) => return None,
    };
    if in_group && mode & 0o020 != 0 {
        return None;
    }
    let group_text = group
        .map(|(g, at)| format!("group {g} ({at})"))
        .unwrap_or_default();
    Some(format!(
        "the socket is owned by {owner} ({owner_at}), {group_text}, mode {mode_text} ({mode_at}); \
         set listen.owner/listen.group to the web server's user or group, or listen.acl_users"
    ))
}

fn apache_lint(cfg: &ServerConfig, a: &Apache, out: &mut Vec<Finding>) {
    let user = a.user.as_ref().map(|(name, at)| WebUser {
        name: name.clone(),
        group: a.group.as_ref().map(|(g, _)| g.clone()),
        at: at
            .as_ref()
            .map_or("from apachectl -S".to_string(), |o| o.to_string()),
    });
    let mut seen: Vec<String> = Vec::new();
    for server in a.servers() {
        let routes = server
            .location_rules
            .iter()
            .chain(&server.rules)
            .map(Route::Pass)
            .chain(server.handlers.iter().map(Route::Handler));
        for r in routes {
            let target = r.target();
            let at = r.at().to_string();
            if seen.contains(&at) {
                continue;
            }
            seen.push(at.clone());
            if target.starts_with("unix:") {
                let socket = apache::endpoint(target);
                match cfg.pools.iter().find(|p| p.serves(socket)) {
                    None if !cfg.pools.is_empty() => {
                        let listens = php_fpm::listens(&cfg.pools);
                        out.push(Finding::error(
                            "socket_missing",
                            at.clone(),
                            format!(
                                "{} names a socket no php-fpm pool listens on; the pools listen on {}",
                                r.text(),
                                listens.join(", ")
                            ),
                        ));
                    }
                    Some(pool) => {
                        if let Some(u) = &user
                            && let Some(why) = denied(pool, u)
                        {
                            out.push(Finding::error(
                                "socket_permission",
                                at.clone(),
                                format!(
                                    "{} is pool {}'s socket, which httpd's workers (User {}, {}) \
                                     may not open: {why}",
                                    r.text(),
                                    pool.name,
                                    u.name,
                                    u.at
                                ),
                            ));
                        }
                    }
                    None => {}
                }
            }
            if apache::balancer_name(target).is_some() && a.balancer_of(target).is_none() {
                out.push(Finding::error(
                    "no_live_upstreams",
                    at.clone(),
                    format!(
                        "{} sends to a balancer that no <Proxy {}> or BalancerMember defines: \
                         every request to it fails",
                        r.text(),
                        apache::balancer_name(target).unwrap_or_default()
                    ),
                ));
            }
        }
    }
    for b in a.balancers.values() {
        let active: Vec<&apache::Member> = b
            .members
            .iter()
            .filter(|m| !m.is_disabled() && !m.is_standby())
            .collect();
        if b.members.is_empty() {
            out.push(Finding::error(
                "no_live_upstreams",
                b.at.to_string(),
                format!(
                    "{} has no BalancerMember: every request to it fails (AH01170)",
                    b.name
                ),
            ));
        } else if b.members.iter().all(|m| m.is_disabled()) {
            out.push(Finding::error(
                "no_live_upstreams",
                b.at.to_string(),
                format!(
                    "every member of {} is disabled (status=+D or +S): every request to it fails \
                     (AH01170, 503)",
                    b.name
                ),
            ));
        } else if active.len() == 1 && b.members.len() == 1 {
            out.push(Finding::note(
                "upstream_refused",
                b.at.to_string(),
                format!(
                    "{} has one member ({}), nothing to fall back to: when it fails, every request \
                     fails for retry= seconds; add a second BalancerMember (or a hot standby, \
                     status=+H)",
                    b.name, active[0].url
                ),
            ));
        }
    }
}

/// Findings from what the logs show, given with the configuration: a
/// header buffer (`proxy_buffer_size`, `ResponseFieldSize`) smaller than
/// the response headers the logs show, at the place to change it.
pub fn from_logs(cause: &str, count: u64, advice: &[Advice]) -> Vec<Finding> {
    if cause != "header_too_big" || count == 0 {
        return Vec::new();
    }
    advice
        .iter()
        .filter_map(|a| {
            let s = a.settings.first()?;
            let whence = match (&s.at, s.set_here) {
                (None, _) => "the default".to_string(),
                (Some(at), true) => format!("set at {at}"),
                (Some(at), false) => format!("inherited from {at}"),
            };
            let at = if s.set_here {
                s.at.clone().unwrap_or_else(|| a.at.clone())
            } else {
                a.at.clone()
            };
            Some(Finding::error(
                "header_too_big",
                at,
                format!(
                    "{} is {} ({whence}) for {}{}: the logs show {count} failed request{} whose \
                     response headers did not fit; raise it there",
                    s.name,
                    s.value,
                    a.location,
                    a.route
                        .as_ref()
                        .map(|r| format!(" (route {r})"))
                        .unwrap_or_default(),
                    if count == 1 { "" } else { "s" }
                ),
            ))
        })
        .collect()
}

fn location(cfg: &ServerConfig, n: &Nginx, loc: &Location, out: &mut Vec<Finding>) {
    let Some(pass) = nginx::pass_of(loc) else {
        return;
    };
    let host = nginx::pass_host(&pass.target);
    let is_socket = pass.target.contains("unix:");
    // A FastCGI socket that no pool given listens on.
    if is_socket
        && pass.module == "fastcgi"
        && !cfg.pools.is_empty()
        && !cfg.pools.iter().any(|p| p.serves(host))
    {
        let listens = php_fpm::listens(&cfg.pools);
        out.push(Finding::error(
            "socket_missing",
            pass.at.to_string(),
            format!(
                "fastcgi_pass {} names a socket no php-fpm pool listens on; the pools listen on {}",
                pass.target,
                listens.join(", ")
            ),
        ));
    }
    let group = n.group_of(&pass.target);
    let resolver = nginx::setting(&loc.levels, "resolver").filter(|s| s.at.is_some());
    if pass.target.contains('$') {
        if resolver.is_none() {
            out.push(Finding::error(
                "dns_resolution",
                pass.at.to_string(),
                format!(
                    "{}_pass {} has a variable but no resolver is set: nginx cannot resolve the \
                     name at request time (`no resolver defined to resolve ...`); add `resolver`",
                    pass.module, pass.target
                ),
            ));
        }
    } else if group.is_none() && !is_socket && is_name(host) && resolver.is_none() {
        out.push(Finding::error(
            "upstream_refused",
            pass.at.to_string(),
            format!(
                "{}_pass {} names a host that nginx resolves once, at start: when its address \
                 changes (a container or load balancer moving), requests go to the old one until \
                 a reload; use a resolver with a variable, or an upstream block with `resolve`",
                pass.module, pass.target
            ),
        ));
    }
    // keepalive to a group needs HTTP/1.1 and an empty Connection header.
    if pass.module == "proxy"
        && let Some(g) = group
        && let Some((_, ka_at)) = &g.keepalive
    {
        let version = nginx::setting(&loc.levels, "proxy_http_version").map(|s| s.value);
        let headers = nginx::setting(&loc.levels, "proxy_set_header")
            .map(|s| s.value)
            .unwrap_or_default();
        let connection_cleared = headers.split("; ").any(|h| {
            h.eq_ignore_ascii_case("connection ") || h.eq_ignore_ascii_case("connection \"\"")
        });
        if version.as_deref() != Some("1.1") || !connection_cleared {
            out.push(Finding::error(
                "premature_close",
                loc.at.to_string(),
                format!(
                    "upstream {} keeps connections alive ({ka_at}), but location {} does not set \
                     `proxy_http_version 1.1;` and `proxy_set_header Connection \"\";`: the \
                     connections are closed after each request, and a backend closing an idle \
                     one can reset a request",
                    g.name, loc.pattern
                ),
            ));
        }
    }
}

/// True for a host name (not an address).
fn is_name(host: &str) -> bool {
    let h = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let h = h.trim_matches(['[', ']']);
    !h.is_empty() && h.parse::<std::net::IpAddr>().is_err() && h != "localhost"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serverconf::SourceFile;
    use std::path::PathBuf;

    fn lint_of(nginx_conf: &str, pool: Option<&str>) -> Vec<Finding> {
        let mut c = ServerConfig::default();
        c.add(&SourceFile {
            path: PathBuf::from("n.conf"),
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
        lint(&c)
    }

    #[test]
    fn each_mistake_is_found_with_its_place_and_cause() {
        let f = lint_of(
            "http {
  upstream ka { server 10.0.0.1:80; keepalive 4; }
  upstream dead { server 10.0.0.2:80 max_fails=0; server 10.0.0.3:80 max_fails=0; }
  server {
    location ~ \\.php$ { fastcgi_pass unix:/run/php/php8.1-fpm.sock; }
    location /ka/ { proxy_pass http://ka; }
    location /name/ { proxy_pass http://api.internal:8080; }
    location /var/ { proxy_pass http://$host:8080; }
  }
}
",
            Some("[www]\nlisten = /run/php/php8.2-fpm.sock\n"),
        );
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.cause, f.at.as_str())).collect();
        assert_eq!(
            got,
            [
                ("upstream_refused", "n.conf:2"),
                ("upstream_refused", "n.conf:3"),
                ("socket_missing", "n.conf:5"),
                ("premature_close", "n.conf:6"),
                ("upstream_refused", "n.conf:7"),
                ("dns_resolution", "n.conf:8"),
            ]
        );
        assert_eq!(f[0].severity, Severity::Note);
        assert!(
            f[0].message
                .contains("upstream ka has one server (10.0.0.1:80)")
        );
        assert!(
            f[2].message
                .contains("/run/php/php8.2-fpm.sock (pool www, www.conf:2)")
        );
        assert_eq!(errors(&f), 5);
    }

    #[test]
    fn a_sound_configuration_has_no_finding() {
        let f = lint_of(
            "http {
  upstream ka { server 10.0.0.1:80; server 10.0.0.4:80; keepalive 4; }
  server {
    resolver 127.0.0.53;
    location ~ \\.php$ { fastcgi_pass unix:/run/php/php8.2-fpm.sock; }
    location /ka/ { proxy_pass http://ka; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
    location /var/ { proxy_pass http://$host:8080; }
    location /ip/ { proxy_pass http://127.0.0.1:8080; }
  }
}
",
            Some("[www]\nlisten = /run/php/php8.2-fpm.sock\n"),
        );
        assert_eq!(f, []);
    }

    fn lint_files(files: &[(&str, &str)]) -> Vec<Finding> {
        let mut c = ServerConfig::default();
        for (name, text) in files {
            c.add(&SourceFile {
                path: PathBuf::from(name),
                text: text.to_string(),
            })
            .unwrap();
        }
        lint(&c)
    }

    #[test]
    fn a_socket_the_workers_may_not_open() {
        let pool = "[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/fpm.sock\n\
                    listen.owner = app\nlisten.group = app\nlisten.mode = 0660\n";
        let nginx = "user nginx;\nhttp {\n  server {\n    location ~ \\.php$ { fastcgi_pass unix:/run/php/fpm.sock; }\n  }\n}\n";
        let f = lint_files(&[("n.conf", nginx), ("www.conf", pool)]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].cause, f[0].at.as_str()),
            ("socket_permission", "n.conf:4")
        );
        assert!(
            f[0].message.contains("(user nginx, n.conf:1)")
                && f[0].message.contains("owned by app (www.conf:5)"),
            "{}",
            f[0].message
        );
        // The web server's group may, with mode 0660.
        let ok = pool.replace("listen.group = app", "listen.group = nginx");
        assert_eq!(lint_files(&[("n.conf", nginx), ("www.conf", &ok)]), []);
        // Apache's User, through a SetHandler.
        let apache = "User app2\nGroup app2\n<FilesMatch \"\\.php$\">\n  SetHandler \"proxy:unix:/run/php/fpm.sock|fcgi://localhost\"\n</FilesMatch>\n";
        let f = lint_files(&[("apache2.conf", apache), ("www.conf", pool)]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].cause, f[0].at.as_str()),
            ("socket_permission", "apache2.conf:4")
        );
        assert!(
            f[0].message.contains("(User app2, apache2.conf:1)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn apache_mistakes() {
        let f = lint_files(&[
            (
                "apache2.conf",
                "<Proxy balancer://dead>\n  BalancerMember http://10.0.0.1 status=+D\n  BalancerMember http://10.0.0.2 status=D\n</Proxy>\n\
                 <Proxy balancer://one>\n  BalancerMember http://10.0.0.3\n</Proxy>\n\
                 <VirtualHost *:80>\n  ProxyPass /a balancer://dead/\n  ProxyPass /b balancer://nosuch/\n\
                 ProxyPass /c unix:/run/php/php8.1-fpm.sock|fcgi://localhost/\n</VirtualHost>\n",
            ),
            ("www.conf", "[www]\nlisten = /run/php/php8.2-fpm.sock\n"),
        ]);
        let got: Vec<(&str, &str, Severity)> = f
            .iter()
            .map(|f| (f.cause, f.at.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("no_live_upstreams", "apache2.conf:1", Severity::Error),
                ("upstream_refused", "apache2.conf:5", Severity::Note),
                ("no_live_upstreams", "apache2.conf:10", Severity::Error),
                ("socket_missing", "apache2.conf:11", Severity::Error),
            ]
        );
    }

    #[test]
    fn a_header_buffer_the_logs_overflow() {
        let a = Advice {
            route: Some("/login".into()),
            upstream: Some("http://10.0.0.1:80".into()),
            upstream_from_config: true,
            location: "VirtualHost *:80 (shop)".into(),
            at: "apache2.conf:12".into(),
            pass: None,
            settings: vec![crate::serverconf::advice::SettingReport {
                name: "ResponseFieldSize".into(),
                value: "8192".into(),
                at: None,
                set_here: false,
            }],
            advice: String::new(),
        };
        let f = from_logs("header_too_big", 5, std::slice::from_ref(&a));
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].cause, f[0].at.as_str()),
            ("header_too_big", "apache2.conf:12")
        );
        assert!(
            f[0].message.starts_with("ResponseFieldSize is 8192 (the default) for VirtualHost *:80 (shop) (route /login): the logs show 5 failed requests"),
            "{}",
            f[0].message
        );
        assert_eq!(from_logs("upstream_timeout", 5, &[a]), []);
    }
}
