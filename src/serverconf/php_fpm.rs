//! php-fpm's configuration: `php-fpm.conf` and its pool files (INI:
//! `[pool]` sections, `key = value`, `;` comments, `include=` globs).
//! What matters here is which pool listens where and how big it may grow.

use std::path::Path;

use super::source::{Origin, SourceFile, read_included};
use crate::error::{Error, Result};

/// One pool (`[www]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Its name.
    pub name: String,
    /// Where its section starts.
    pub at: Origin,
    /// Its settings, in file order, `$pool` expanded.
    pub settings: Vec<(String, String, Origin)>,
}

/// Where each pool listens, as `ADDRESS (pool NAME, FILE:LINE)`: what a
/// finding quotes when a socket is no pool's.
pub fn listens(pools: &[Pool]) -> Vec<String> {
    pools
        .iter()
        .filter_map(|p| {
            p.listen()
                .map(|(l, at)| format!("{l} (pool {}, {at})", p.name))
        })
        .collect()
}

impl Pool {
    /// A setting's value and place.
    pub fn get(&self, key: &str) -> Option<(&str, &Origin)> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, at)| (v.as_str(), at))
    }

    /// What the pool listens on: a socket path or `host:port` (`9000`
    /// alone is every address's port 9000).
    pub fn listen(&self) -> Option<(&str, &Origin)> {
        self.get("listen")
    }

    /// True when `target` (a `fastcgi_pass` or `SetHandler` target's
    /// host part) reaches this pool.
    pub fn serves(&self, target: &str) -> bool {
        let Some((listen, _)) = self.listen() else {
            return false;
        };
        if listen.starts_with('/') || target.starts_with('/') {
            return listen == target;
        }
        let port = |a: &str| a.rsplit(':').next().map(str::to_string);
        let host = |a: &str| {
            a.rsplit_once(':')
                .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
        };
        if port(listen) != port(target) {
            return false;
        }
        match (host(listen), host(target)) {
            (None, _) => true,
            (Some(l), _) if l == "0.0.0.0" || l == "::" || l == "*" => true,
            (Some(l), Some(t)) => l == t || (is_loopback(&l) && is_loopback(&t)),
            (Some(_), None) => false,
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "::1"
}

/// The pools of a php-fpm configuration file and the files it includes.
pub fn load(file: &SourceFile) -> Result<Vec<Pool>> {
    let base = file
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut pools = Vec::new();
    let mut depth = 0;
    read(file, &base, &mut pools, &mut depth)?;
    Ok(pools)
}

fn read(file: &SourceFile, base: &Path, pools: &mut Vec<Pool>, depth: &mut u32) -> Result<()> {
    let name = file.path.display().to_string();
    let mut current: Option<Pool> = None;
    for (i, raw) in file.text.lines().enumerate() {
        let at = Origin::new(&name, i as u32 + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            pools.extend(current.take().filter(|p| p.name != "global"));
            current = Some(Pool {
                name: section.trim().to_string(),
                at,
                settings: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(Error::Usage(format!(
                "{at}: expected `key = value` or `[pool]`"
            )));
        };
        let key = key.trim();
        let value = unquote(value.split(" ;").next().unwrap_or(value).trim());
        if key == "include" {
            *depth += 1;
            if *depth > 16 {
                return Err(Error::Usage(format!(
                    "{at}: includes nested too deep (a loop?)"
                )));
            }
            for f in read_included(&value, base, None, &at)? {
                read(&f, base, pools, depth)?;
            }
            *depth -= 1;
            continue;
        }
        if let Some(p) = &mut current {
            let value = value.replace("$pool", &p.name);
            p.settings.push((key.to_string(), value, at));
        }
    }
    pools.extend(current.filter(|p| p.name != "global"));
    Ok(())
}

fn unquote(v: &str) -> String {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn pools(text: &str) -> Vec<Pool> {
        load(&SourceFile {
            path: PathBuf::from("www.conf"),
            text: text.to_string(),
        })
        .unwrap()
    }

    #[test]
    fn pools_with_their_settings_and_places() {
        let p = pools(
            "[global]\npid = /run/php-fpm.pid\n\n; the pool\n[www]\nuser = www-data\n\
             listen = /run/php/php8.2-fpm-$pool.sock\nlisten.mode = 0660\npm = dynamic\n\
             pm.max_children = 5 ; small\n[api]\nlisten = 127.0.0.1:9001\n",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "www");
        let (listen, at) = p[0].listen().unwrap();
        assert_eq!((listen, at.line), ("/run/php/php8.2-fpm-www.sock", 7));
        assert_eq!(p[0].get("pm.max_children").unwrap().0, "5");
        assert!(p[0].serves("/run/php/php8.2-fpm-www.sock"));
        assert!(!p[0].serves("/run/php/php8.1-fpm.sock"));
        assert!(p[1].serves("127.0.0.1:9001"));
        assert!(p[1].serves("localhost:9001"));
        assert!(!p[1].serves("127.0.0.1:9000"));
    }

    #[test]
    fn a_port_alone_listens_everywhere() {
        let p = pools("[www]\nlisten = 9000\n");
        assert!(p[0].serves("10.0.0.5:9000"));
        assert!(!p[0].serves("10.0.0.5:9001"));
    }

    #[test]
    fn a_line_that_is_not_ini_is_an_error_with_its_place() {
        let e = load(&SourceFile {
            path: PathBuf::from("bad.conf"),
            text: "[www]\nlisten\n".into(),
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("bad.conf:2"), "{e}");
    }
}
