//! The access logs a configuration writes, and their formats: nginx
//! `log_format NAME [escape=...] '...' '...';` with `access_log PATH
//! [NAME] ...;` (in `http`, `server` and `location`; `combined` when no
//! format is named, predefined), Apache `LogFormat "..." nick` with
//! `CustomLog PATH nick|"format"` and `TransferLog PATH` (the last
//! `LogFormat` without a nickname, else `common`), in the main server and
//! the `<VirtualHost>`s. So that an access log given as a path is read
//! with the format its server writes, with no `--access-format`.
//!
//! A log is the input whose path is the one written (both made absolute,
//! links resolved), or one of its rotations beside it (`access.log.1`,
//! `access.log.2.gz`, `access.log-20261206`). A relative path (nginx's
//! prefix, Apache's `ServerRoot` are not always known) stands for any
//! input whose path ends with it; a path with variables (`$host`,
//! `${APACHE_LOG_DIR}` left unresolved) is a pattern where each variable
//! is any name. `off`, `syslog:` and piped logs (`"|rotatelogs ..."`)
//! write no file and are left out.

use std::path::Path;
use std::sync::Arc;

use super::ServerConfig;
use super::source::Origin;
use crate::parse::access::Plan;

/// nginx's predefined `combined`.
const NGINX_COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
/// mod_log_config's default (`TransferLog` without `LogFormat`).
const APACHE_COMMON: &str = r#"%h %l %u %t "%r" %>s %b"#;

/// An access log the configuration writes.
#[derive(Debug, Clone)]
pub struct AccessLog {
    /// Its path, as written.
    pub path: String,
    /// Its format, compiled (named after its `log_format` or nickname).
    pub plan: Arc<Plan>,
    /// Where the `access_log` / `CustomLog` line is.
    pub at: Origin,
    /// Where its format is defined (`None`: the server's built-in one).
    pub format_at: Option<Origin>,
}

impl AccessLog {
    /// `log_format upstreams (nginx.conf:15), access_log at nginx.conf:32`.
    pub fn describe(&self) -> String {
        let format = match &self.format_at {
            Some(at) => format!("{} ({}:{})", self.plan.name, at.file, at.line),
            None => format!("{} (built in)", self.plan.name),
        };
        format!("{format}, named at {}:{}", self.at.file, self.at.line)
    }
}

/// Every access log the configurations write, with its format, in the
/// order written. A format that cannot be compiled (no status) leaves its
/// logs out, as a log without a status says nothing of what clients got.
pub fn access_logs(cfg: &ServerConfig) -> Vec<AccessLog> {
    let mut out: Vec<AccessLog> = Vec::new();
    let mut push = |log: AccessLog| {
        if !out
            .iter()
            .any(|o| o.path == log.path && o.plan.name == log.plan.name)
        {
            out.push(log);
        }
    };
    for n in &cfg.nginx {
        let formats: Vec<(String, Arc<Plan>, Origin)> = n
            .sites
            .first()
            .and_then(|s| s.levels.first())
            .into_iter()
            .flatten()
            .filter(|d| d.name == "log_format" && d.args.len() >= 2)
            .filter_map(|d| {
                let pieces: String = d.args[1..]
                    .iter()
                    .filter(|a| !a.starts_with("escape="))
                    .map(String::as_str)
                    .collect();
                let mut plan = Plan::compile(&pieces).ok()?;
                plan.name = d.args[0].clone();
                Some((d.args[0].clone(), Arc::new(plan), d.at.clone()))
            })
            .collect();
        let plan_of = |name: &str| -> Option<(Arc<Plan>, Option<Origin>)> {
            if let Some((_, p, at)) = formats.iter().rev().find(|(n, _, _)| n == name) {
                return Some((p.clone(), Some(at.clone())));
            }
            (name == "combined").then(|| {
                let mut plan = Plan::compile(NGINX_COMBINED).unwrap_or_else(|e| panic!("{e}"));
                plan.name = "combined".into();
                (Arc::new(plan), None)
            })
        };
        for site in &n.sites {
            let levels = site.levels.iter().chain(
                site.all_locations()
                    .into_iter()
                    .filter_map(|l| l.levels.last()),
            );
            for level in levels {
                for d in level.iter().filter(|d| d.name == "access_log") {
                    let Some(path) = d.args.first() else { continue };
                    if path == "off" || path.starts_with("syslog:") {
                        continue;
                    }
                    let name = d
                        .args
                        .get(1)
                        .filter(|a| !a.contains('='))
                        .map_or("combined", String::as_str);
                    if let Some((plan, format_at)) = plan_of(name) {
                        push(AccessLog {
                            path: path.clone(),
                            plan,
                            at: d.at.clone(),
                            format_at,
                        });
                    }
                }
            }
        }
    }
    for a in &cfg.apache {
        let servers = std::iter::once(&a.main_server).chain(&a.vhosts);
        let formats: Vec<(Option<String>, Arc<Plan>, Origin)> = servers
            .clone()
            .flat_map(|s| s.settings.iter())
            .filter(|d| d.name.eq_ignore_ascii_case("LogFormat") && !d.args.is_empty())
            .filter_map(|d| {
                let mut plan = Plan::compile(&d.args[0]).ok()?;
                let nick = d.args.get(1).cloned();
                plan.name = nick.clone().unwrap_or_else(|| "LogFormat".into());
                Some((nick, Arc::new(plan), d.at.clone()))
            })
            .collect();
        let builtin_common = || {
            let mut plan = Plan::compile(APACHE_COMMON).unwrap_or_else(|e| panic!("{e}"));
            plan.name = "common".into();
            (Arc::new(plan), None)
        };
        for s in servers {
            for d in &s.settings {
                let custom = d.name.eq_ignore_ascii_case("CustomLog");
                if !(custom || d.name.eq_ignore_ascii_case("TransferLog")) {
                    continue;
                }
                let Some(path) = d.args.first() else { continue };
                if path.starts_with('|') || path.is_empty() {
                    continue;
                }
                let found = match d.args.get(1) {
                    Some(f) if custom && f.contains('%') => Plan::compile(f).ok().map(|mut p| {
                        p.name = "CustomLog".into();
                        (Arc::new(p), Some(d.at.clone()))
                    }),
                    Some(nick) if custom => formats
                        .iter()
                        .rev()
                        .find(|(n, _, _)| n.as_deref() == Some(nick.as_str()))
                        .map(|(_, p, at)| (p.clone(), Some(at.clone()))),
                    _ => formats
                        .iter()
                        .rev()
                        .find(|(n, _, _)| n.is_none())
                        .map(|(_, p, at)| (p.clone(), Some(at.clone())))
                        .or_else(|| Some(builtin_common())),
                };
                if let Some((plan, format_at)) = found {
                    push(AccessLog {
                        path: path.clone(),
                        plan,
                        at: d.at.clone(),
                        format_at,
                    });
                }
            }
        }
    }
    out
}

/// The access log among `logs` that `input` is (or is a rotation of).
pub fn log_for<'a>(logs: &'a [AccessLog], input: &Path) -> Option<&'a AccessLog> {
    let abs = input.canonicalize().ok().or_else(|| {
        std::env::current_dir()
            .ok()
            .map(|d| d.join(input))
            .filter(|p| p.is_absolute())
    })?;
    let (dir, name) = (abs.parent()?, abs.file_name()?.to_str()?);
    logs.iter().rev().find(|l| written_to(&l.path, dir, name))
}

/// Whether the file `name` in `dir` is `written` or one of its rotations.
fn written_to(written: &str, dir: &Path, name: &str) -> bool {
    let p = Path::new(written);
    let (Some(wname), wdir) = (p.file_name().and_then(|n| n.to_str()), p.parent()) else {
        return false;
    };
    let name_fits = |pattern: &str| {
        rotation_of(pattern, name) || (has_variable(pattern) && fits_vars(pattern, name, false))
    };
    if !name_fits(wname) {
        return false;
    }
    let wdir = wdir.unwrap_or(Path::new(""));
    if has_variable(&wdir.to_string_lossy()) {
        return fits_vars(&wdir.to_string_lossy(), &dir.to_string_lossy(), true);
    }
    if p.is_absolute() {
        let canonical = wdir.canonicalize().unwrap_or_else(|_| wdir.to_path_buf());
        canonical == dir || wdir == dir
    } else {
        dir.ends_with(wdir)
    }
}

/// `name` is `base`, or `base` followed by a rotation's suffix: `.N`,
/// `.N.gz` (any compression), `-DATE`.
fn rotation_of(base: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(base) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(tail) = rest.strip_prefix('.').or_else(|| rest.strip_prefix('-')) else {
        return false;
    };
    let digits = tail.split('.').next().unwrap_or("");
    !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
        && tail[digits.len()..]
            .split('.')
            .skip(1)
            .all(|ext| ["gz", "bz2", "xz", "zst", "lz4", "old"].contains(&ext))
}

fn has_variable(s: &str) -> bool {
    s.contains('$')
}

/// `pattern` with each `$var` / `${var}` taken as any text (without `/`
/// unless `any_path`; a file name may have a rotation's suffix after it).
fn fits_vars(pattern: &str, text: &str, any_path: bool) -> bool {
    let mut glob = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if chars.peek() == Some(&'{') {
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
            } else {
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '_')
                {
                    chars.next();
                }
            }
            glob.push('*');
        } else {
            glob.push_str(&glob::Pattern::escape(&c.to_string()));
        }
    }
    let opts = glob::MatchOptions {
        require_literal_separator: !any_path,
        ..Default::default()
    };
    glob::Pattern::new(&glob).is_ok_and(|g| {
        g.matches_with(text, opts)
            || (!any_path
                && (1..text.len())
                    .filter(|&i| matches!(text.as_bytes()[i], b'.' | b'-'))
                    .any(|i| g.matches_with(&text[..i], opts) && rotation_of(&text[..i], text)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations() {
        assert!(rotation_of("access.log", "access.log"));
        assert!(rotation_of("access.log", "access.log.1"));
        assert!(rotation_of("access.log", "access.log.12.gz"));
        assert!(rotation_of("access.log", "access.log-20261206"));
        assert!(rotation_of("access.log", "access.log-20261206.zst"));
        assert!(!rotation_of("access.log", "access.log.bak"));
        assert!(!rotation_of("access.log", "access.logger"));
        assert!(!rotation_of("access.log", "other.log"));
    }

    #[test]
    fn paths() {
        let d = Path::new("/var/log/nginx");
        assert!(written_to("/var/log/nginx/access.log", d, "access.log.1"));
        assert!(!written_to("/var/log/nginx/access.log", d, "api.log"));
        assert!(!written_to("/srv/access.log", d, "access.log"));
        assert!(written_to(
            "logs/access.log",
            Path::new("/usr/share/nginx/logs"),
            "access.log"
        ));
        assert!(written_to(
            "/var/log/nginx/$host.access.log",
            d,
            "shop.access.log"
        ));
        assert!(written_to(
            "${APACHE_LOG_DIR}/access.log",
            Path::new("/var/log/apache2"),
            "access.log.2.gz"
        ));
        assert!(!written_to(
            "/var/log/nginx/$host.access.log",
            d,
            "error.log"
        ));
    }
}
