//! `upcause lint`: the configuration mistakes that end in 502s, found
//! without any log. Each finding names its place and the cause id the
//! logs would show once the mistake bites, so a CI job can stop a config
//! change before it ships.

use serde::Serialize;

use super::ServerConfig;
use super::nginx::{self, Location, Nginx};

/// One mistake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The cause the logs would show (`socket_missing`).
    pub cause: &'static str,
    /// Where (`file:line`).
    pub at: String,
    /// What is wrong and what to change.
    pub message: String,
}

/// Every finding, in file order.
pub fn lint(cfg: &ServerConfig) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in &cfg.nginx {
        for site in &n.sites {
            for loc in site.all_locations() {
                location(cfg, n, loc, &mut out);
            }
        }
        for g in n.groups.values() {
            let active: Vec<_> = g.members.iter().filter(|m| !m.flag("backup")).collect();
            if active.len() > 1 && active.iter().all(|m| m.param("max_fails") == Some("0")) {
                out.push(Finding {
                    cause: "upstream_refused",
                    at: g.at.to_string(),
                    message: format!(
                        "every server of upstream {} has max_fails=0: nginx never stops sending \
                         requests to a dead one; leave max_fails at its default (1) or set it with \
                         fail_timeout",
                        g.name
                    ),
                });
            }
            if !active.is_empty() && active.iter().all(|m| m.flag("down")) {
                out.push(Finding {
                    cause: "no_live_upstreams",
                    at: g.at.to_string(),
                    message: format!(
                        "every server of upstream {} is marked down: each request to it fails \
                         with `no live upstreams`",
                        g.name
                    ),
                });
            }
        }
    }
    let place = |f: &Finding| {
        let (file, line) = f.at.rsplit_once(':').unwrap_or((&f.at, "0"));
        (file.to_string(), line.parse::<u32>().unwrap_or(0), f.cause)
    };
    out.sort_by_key(place);
    out.dedup();
    out
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
        let listens: Vec<String> = cfg
            .pools
            .iter()
            .filter_map(|p| {
                p.listen()
                    .map(|(l, at)| format!("{l} (pool {}, {at})", p.name))
            })
            .collect();
        out.push(Finding {
            cause: "socket_missing",
            at: pass.at.to_string(),
            message: format!(
                "fastcgi_pass {} names a socket no php-fpm pool listens on; the pools listen on {}",
                pass.target,
                listens.join(", ")
            ),
        });
    }
    let group = n.group_of(&pass.target);
    let resolver = nginx::setting(&loc.levels, "resolver").filter(|s| s.at.is_some());
    if pass.target.contains('$') {
        if resolver.is_none() {
            out.push(Finding {
                cause: "dns_resolution",
                at: pass.at.to_string(),
                message: format!(
                    "{}_pass {} has a variable but no resolver is set: nginx cannot resolve the \
                     name at request time (`no resolver defined to resolve ...`); add `resolver`",
                    pass.module, pass.target
                ),
            });
        }
    } else if group.is_none() && !is_socket && is_name(host) && resolver.is_none() {
        out.push(Finding {
            cause: "upstream_refused",
            at: pass.at.to_string(),
            message: format!(
                "{}_pass {} names a host that nginx resolves once, at start: when its address \
                 changes (a container or load balancer moving), requests go to the old one until \
                 a reload; use a resolver with a variable, or an upstream block with `resolve`",
                pass.module, pass.target
            ),
        });
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
            out.push(Finding {
                cause: "premature_close",
                at: loc.at.to_string(),
                message: format!(
                    "upstream {} keeps connections alive ({ka_at}), but location {} does not set \
                     `proxy_http_version 1.1;` and `proxy_set_header Connection \"\";`: the \
                     connections are closed after each request, and a backend closing an idle \
                     one can reset a request",
                    g.name, loc.pattern
                ),
            });
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
                ("upstream_refused", "n.conf:3"),
                ("socket_missing", "n.conf:5"),
                ("premature_close", "n.conf:6"),
                ("upstream_refused", "n.conf:7"),
                ("dns_resolution", "n.conf:8"),
            ]
        );
        assert!(
            f[1].message
                .contains("/run/php/php8.2-fpm.sock (pool www, www.conf:2)")
        );
    }

    #[test]
    fn a_sound_configuration_has_no_finding() {
        let f = lint_of(
            "http {
  upstream ka { server 10.0.0.1:80; keepalive 4; }
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
}
