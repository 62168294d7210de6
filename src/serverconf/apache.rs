//! Apache httpd's configuration: lines as httpd reads them
//! (`server/util.c`: `\` continues a line, `#` starts a comment only at
//! the start of a line, words split as `ap_getword_conf` splits them),
//! `<Section>` blocks, `Include`/`IncludeOptional` (globs, relative to
//! `ServerRoot`), `Define` and `${VAR}`, `<IfModule>`/`<IfDefine>`. Then
//! the parts a 502 depends on: the main server and each `<VirtualHost>`,
//! their `ProxyPass`/`ProxyPassMatch` rules (in `<Location>` too), the
//! `SetHandler "proxy:..."` handlers of `<FilesMatch>`, `<Proxy
//! balancer://...>` groups with their `BalancerMember`s, and the settings
//! in effect (`Timeout`, `ProxyTimeout`, `ResponseFieldSize`,
//! `ProxyPreserveHost`, the workers' `timeout=`, `connectiontimeout=`,
//! `retry=`) with httpd's defaults. Also the output of `apachectl -S`,
//! which names the server root, the vhosts' files and the user the
//! workers run as.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::source::{Origin, Setting, SourceFile, read_included};
use crate::error::{Error, Result};

/// One directive, or a `<Section args>` with its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The name as written (httpd compares names case-insensitively).
    pub name: String,
    /// The arguments, quotes resolved.
    pub args: Vec<String>,
    /// Where it is written.
    pub at: Origin,
    /// The block, for a section.
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    /// True when this is directive `name` (any case).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    fn arg(&self, i: usize) -> &str {
        self.args.get(i).map_or("", String::as_str)
    }
}

/// The words of a line, as `ap_getword_conf` splits them: whitespace
/// separates, `"..."` and `'...'` group (a backslash before the quote
/// character keeps it), an unterminated quote runs to the end of the line.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return out;
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&first) {
                    word.push(first);
                    chars.next();
                } else if c == first {
                    break;
                } else {
                    word.push(c);
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
}

/// Parses one file into directives and sections; a section that is not
/// closed, or closed by another name, is an error naming the place.
pub fn parse(text: &str, file: &str) -> Result<Vec<Directive>> {
    let mut root: Vec<Directive> = Vec::new();
    let mut open: Vec<Directive> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let at = Origin::new(file, i as u32 + 1);
        let mut logical = raw.trim_end_matches('\r').to_string();
        while logical.ends_with('\\') {
            logical.pop();
            match lines.next() {
                Some((_, next)) => {
                    logical.push(' ');
                    logical.push_str(next.trim_end_matches('\r').trim_start());
                }
                None => break,
            }
        }
        let line = logical.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("</") {
            let Some(name) = rest.strip_suffix('>') else {
                return Err(Error::Usage(format!(
                    "{at}: </{rest} directive missing closing '>'"
                )));
            };
            let name = name.trim();
            let Some(section) = open.pop() else {
                return Err(Error::Usage(format!(
                    "{at}: </{name}> without matching <{name}> section"
                )));
            };
            if !section.is(name) {
                return Err(Error::Usage(format!(
                    "{at}: expected </{}> (for <{}> at {}) but saw </{name}>",
                    section.name, section.name, section.at
                )));
            }
            match open.last_mut() {
                Some(parent) => parent.block.get_or_insert_with(Vec::new).push(section),
                None => root.push(section),
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('<') {
            let Some(inner) = rest.strip_suffix('>') else {
                return Err(Error::Usage(format!(
                    "{at}: <{} directive missing closing '>'",
                    rest.split_whitespace().next().unwrap_or("")
                )));
            };
            let mut w = words(inner);
            if w.is_empty() || w[0].is_empty() {
                return Err(Error::Usage(format!("{at}: a section without a name")));
            }
            if open.len() >= super::nginx::MAX_NESTING as usize {
                return Err(Error::Usage(format!(
                    "{at}: sections nested more than {} deep",
                    super::nginx::MAX_NESTING
                )));
            }
            let name = w.remove(0);
            open.push(Directive {
                name,
                args: w,
                at,
                block: Some(Vec::new()),
            });
            continue;
        }
        let mut w = words(line);
        let name = w.remove(0);
        let d = Directive {
            name,
            args: w,
            at,
            block: None,
        };
        match open.last_mut() {
            Some(parent) => parent.block.get_or_insert_with(Vec::new).push(d),
            None => root.push(d),
        }
    }
    if let Some(section) = open.pop() {
        return Err(Error::Usage(format!(
            "{}: <{}> is not closed by the end of the file",
            section.at, section.name
        )));
    }
    Ok(root)
}

// ------------------------------------------------------------ loading

/// What `apachectl -S` (`apache2ctl -S`, `httpd -S`) says beside the
/// virtual hosts: the values the configuration files may only name by
/// variable (`User ${APACHE_RUN_USER}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    /// `ServerRoot: "/etc/apache2"`.
    pub server_root: Option<String>,
    /// `User: name="www-data" id=33`.
    pub user: Option<String>,
    /// `Group: name="www-data" id=33`.
    pub group: Option<String>,
    /// `Main ErrorLog: "/var/log/apache2/error.log"`.
    pub main_error_log: Option<String>,
    /// The files the vhost lines name (`(/etc/apache2/sites-enabled/x.conf:1)`).
    pub files: Vec<String>,
}

/// True for the output of `apachectl -S`.
pub fn is_dump(text: &str) -> bool {
    text.lines().take(40).any(|l| {
        let l = l.trim_start();
        l.starts_with("VirtualHost configuration:") || l.starts_with("ServerRoot: \"")
    })
}

/// Reads `apachectl -S` output.
pub fn parse_dump(text: &str) -> Dump {
    let quoted = |l: &str, key: &str| -> Option<String> {
        let rest = l.strip_prefix(key)?.trim();
        Some(rest.trim_matches('"').to_string())
    };
    let named = |l: &str, key: &str| -> Option<String> {
        let rest = l.strip_prefix(key)?.trim();
        let v = rest.strip_prefix("name=\"")?;
        v.split('"').next().map(str::to_string)
    };
    let mut d = Dump::default();
    for l in text.lines().map(str::trim) {
        if let Some(v) = quoted(l, "ServerRoot:") {
            d.server_root = Some(v);
        } else if let Some(v) = quoted(l, "Main ErrorLog:") {
            d.main_error_log = Some(v);
        } else if let Some(v) = named(l, "User:") {
            d.user = Some(v);
        } else if let Some(v) = named(l, "Group:") {
            d.group = Some(v);
        } else if let Some(open) = l.rfind('(')
            && l.ends_with(')')
        {
            let inner = &l[open + 1..l.len() - 1];
            if let Some((file, line)) = inner.rsplit_once(':')
                && line.chars().all(|c| c.is_ascii_digit())
                && !d.files.iter().any(|f| f == file)
            {
                d.files.push(file.to_string());
            }
        }
    }
    d
}

/// The main configuration file under a server root, as httpd's packages
/// name it.
pub fn main_file_under(root: &Path) -> Option<PathBuf> {
    ["apache2.conf", "httpd.conf", "conf/httpd.conf"]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_file())
}

/// Modules compiled into Debian's httpd (and every httpd): `<IfModule>`
/// on them holds.
const BUILT_IN: &[&str] = &[
    "core",
    "so",
    "http",
    "watchdog",
    "log_config",
    "logio",
    "version",
    "unixd",
];

/// The state of a walk over the files: variables, loaded modules, the
/// server root, and bounds against include loops.
struct Walk {
    root: PathBuf,
    vars: BTreeMap<String, String>,
    defines: BTreeSet<String>,
    modules: BTreeSet<String>,
    loaded_any: bool,
    depth: u32,
    files: u32,
}

impl Walk {
    fn subst(&self, s: &str) -> String {
        if !s.contains("${") {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) => {
                    let name = &after[..j];
                    match self.vars.get(name) {
                        Some(v) => out.push_str(v),
                        None => {
                            out.push_str("${");
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Whether a module (`proxy_module`, `mod_proxy.c`) is loaded; `None`
    /// when no `LoadModule` has been seen, so nothing can be told.
    fn module_loaded(&self, name: &str) -> Option<bool> {
        let stem = name
            .trim_start_matches("mod_")
            .trim_end_matches(".c")
            .trim_end_matches("_module");
        if BUILT_IN.contains(&stem) {
            return Some(true);
        }
        if !self.loaded_any {
            return None;
        }
        Some(self.modules.contains(stem))
    }
}

/// Reads a Debian-style `envvars` beside the main file (`export
/// APACHE_RUN_USER=www-data`), as `apache2ctl` sources it; `$SUFFIX` is
/// empty for the default instance.
fn envvars(dir: &Path) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(dir.join("envvars")) else {
        return vars;
    };
    for l in text.lines().map(str::trim) {
        let Some(rest) = l.strip_prefix("export ") else {
            continue;
        };
        let Some((k, v)) = rest.split_once('=') else {
            continue;
        };
        if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let v = v.trim_matches(['"', '\'']).replace("$SUFFIX", "");
        if v.contains(['$', '`']) {
            continue;
        }
        vars.insert(k.to_string(), v);
    }
    vars
}

/// Parses a configuration with everything it includes, conditions
/// evaluated where they can be, variables replaced.
pub fn load(main: &SourceFile, dump: Option<&Dump>) -> Result<Vec<Directive>> {
    let dir = main
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let root = dump
        .and_then(|d| d.server_root.as_deref())
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(|| dir.clone());
    let mut walk = Walk {
        root,
        vars: envvars(&dir),
        defines: BTreeSet::new(),
        modules: BTreeSet::new(),
        loaded_any: false,
        depth: 0,
        files: 0,
    };
    let tree = parse(&main.text, &main.path.display().to_string())?;
    expand(tree, &dir, &mut walk)
}

fn expand(dirs: Vec<Directive>, main_dir: &Path, w: &mut Walk) -> Result<Vec<Directive>> {
    let mut out = Vec::with_capacity(dirs.len());
    for mut d in dirs {
        for a in &mut d.args {
            *a = w.subst(a);
        }
        let lower = d.name.to_ascii_lowercase();
        match lower.as_str() {
            "define" if !d.args.is_empty() => {
                let name = d.args[0].clone();
                w.defines.insert(name.clone());
                if let Some(v) = d.args.get(1) {
                    w.vars.insert(name, v.clone());
                }
            }
            "undefine" if !d.args.is_empty() => {
                w.defines.remove(&d.args[0]);
                w.vars.remove(&d.args[0]);
            }
            "serverroot" if !d.args.is_empty() => {
                let p = PathBuf::from(&d.args[0]);
                if p.is_dir() {
                    w.root = p;
                }
            }
            "loadmodule" if d.args.len() >= 2 => {
                w.loaded_any = true;
                let id = d.args[0].trim_end_matches("_module").to_string();
                w.modules.insert(id);
                if let Some(stem) = Path::new(&d.args[1]).file_stem() {
                    let stem = stem.to_string_lossy();
                    w.modules
                        .insert(stem.trim_start_matches("mod_").to_string());
                }
            }
            "include" | "includeoptional" if d.block.is_none() => {
                let optional = lower == "includeoptional";
                let Some(pattern) = d.args.first().cloned() else {
                    return Err(Error::Usage(format!("{}: {} without a file", d.at, d.name)));
                };
                w.depth += 1;
                if w.depth > 64 {
                    return Err(Error::Usage(format!(
                        "{}: includes nested too deep (a loop?)",
                        d.at
                    )));
                }
                let base = if w.root.is_dir() {
                    w.root.clone()
                } else {
                    main_dir.to_path_buf()
                };
                let full = if Path::new(&pattern).is_absolute() {
                    PathBuf::from(&pattern)
                } else {
                    base.join(&pattern)
                };
                let pattern = if full.is_dir() {
                    format!("{}/*", full.display())
                } else {
                    pattern
                };
                let found = match read_included(&pattern, &base, None, &d.at) {
                    Ok(f) => f,
                    Err(_) if optional => Vec::new(),
                    Err(e) => return Err(e),
                };
                if found.is_empty() && !optional {
                    return Err(Error::Usage(format!(
                        "{}: Include {pattern:?}: no file matches (IncludeOptional allows that)",
                        d.at
                    )));
                }
                for f in found {
                    w.files += 1;
                    if w.files > 10_000 {
                        return Err(Error::Usage(format!(
                            "{}: more than 10000 included files (a loop?)",
                            d.at
                        )));
                    }
                    let parsed = parse(&f.text, &f.path.display().to_string())?;
                    out.extend(expand(parsed, main_dir, w)?);
                }
                w.depth -= 1;
                continue;
            }
            _ => {}
        }
        if let Some(block) = d.block.take() {
            let holds = match lower.as_str() {
                "ifmodule" => {
                    let a = d.arg(0);
                    let (neg, name) = a.strip_prefix('!').map_or((false, a), |n| (true, n));
                    // With no LoadModule seen (a file read alone), what
                    // the section holds is read.
                    w.module_loaded(name).is_none_or(|loaded| loaded != neg)
                }
                "ifdefine" => {
                    let a = d.arg(0);
                    let (neg, name) = a.strip_prefix('!').map_or((false, a), |n| (true, n));
                    w.defines.contains(name) != neg
                }
                "ifversion" | "iffile" | "ifdirective" | "ifsection" => true,
                _ => {
                    d.block = Some(expand(block, main_dir, w)?);
                    out.push(d);
                    continue;
                }
            };
            if holds {
                out.extend(expand(block, main_dir, w)?);
            }
            continue;
        }
        out.push(d);
    }
    Ok(out)
}

// ------------------------------------------------------------ model

/// How a section or rule matches a path.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A prefix (`<Location /api/>`, `ProxyPass /api/`).
    Prefix(String),
    /// A regular expression (`<LocationMatch>`, `ProxyPassMatch`,
    /// `<FilesMatch>`, `~`).
    Regex(String, regex::Regex),
    /// A file name, `*` and `?` wildcards allowed (`<Files>`).
    Name(String),
}

impl Matcher {
    fn new(regex: bool, pattern: &str, caseless: bool) -> Option<Matcher> {
        if regex {
            regex::RegexBuilder::new(pattern)
                .case_insensitive(caseless)
                .build()
                .ok()
                .map(|r| Matcher::Regex(pattern.to_string(), r))
        } else {
            Some(Matcher::Prefix(pattern.to_string()))
        }
    }

    /// True when `path` matches (a prefix as httpd's `alias_match`:
    /// repeated slashes count once).
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Matcher::Prefix(p) => prefix_match(path, p),
            Matcher::Regex(_, r) => r.is_match(path),
            Matcher::Name(n) => glob::Pattern::new(n).is_ok_and(|g| g.matches(path)),
        }
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        match self {
            Matcher::Prefix(p) | Matcher::Regex(p, _) | Matcher::Name(p) => p,
        }
    }
}

fn prefix_match(uri: &str, prefix: &str) -> bool {
    let squash = |s: &str| -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c == '/' && out.ends_with('/') {
                continue;
            }
            out.push(c);
        }
        out
    };
    let (u, p) = (squash(uri), squash(prefix));
    if let Some(rest) = u.strip_prefix(&p) {
        // `ProxyPass /api` takes /api, /api/x, not /apix (alias_match
        // wants the prefix to end at a slash or at the end of the path).
        p.ends_with('/') || rest.is_empty() || rest.starts_with('/')
    } else {
        false
    }
}

/// A `ProxyPass` or `ProxyPassMatch`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `ProxyPass` or `ProxyPassMatch`.
    pub directive: &'static str,
    /// The path it takes.
    pub matcher: Matcher,
    /// Where it sends them (`!` for none).
    pub target: String,
    /// `key=value` parameters (`timeout`, `retry`, ...), keys lowercased.
    pub params: Vec<(String, String)>,
    /// The `<Location>` it is written in, with its place.
    pub location: Option<(String, Origin)>,
    /// Where it is written.
    pub at: Origin,
}

impl Rule {
    /// A parameter's value.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `ProxyPass /api/ http://127.0.0.1:8080/ timeout=5` as written.
    pub fn text(&self) -> String {
        let mut s = match &self.location {
            Some(_) => format!("{} {}", self.directive, self.target),
            None => format!(
                "{} {} {}",
                self.directive,
                self.matcher.pattern(),
                self.target
            ),
        };
        for (k, v) in &self.params {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}

/// A `SetHandler "proxy:..."` in `<Files>`/`<FilesMatch>` (or a
/// `<Location>`): PHP through php-fpm, as Debian's php-fpm config does it.
#[derive(Debug, Clone)]
pub struct Handler {
    /// The section's pattern.
    pub matcher: Matcher,
    /// Matched against the file name (`<Files*>`) rather than the path.
    pub on_files: bool,
    /// The section as written (`<FilesMatch "\.php$">`).
    pub section: String,
    /// Where the section starts.
    pub section_at: Origin,
    /// The target after `proxy:` (`unix:/run/php/x.sock|fcgi://localhost`).
    pub target: String,
    /// Where the `SetHandler` is.
    pub at: Origin,
}

/// The main server or a `<VirtualHost>`.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// The `<VirtualHost>` addresses; empty for the main server.
    pub addrs: Vec<String>,
    /// `ServerName` and `ServerAlias`.
    pub names: Vec<String>,
    /// Where it starts.
    pub at: Option<Origin>,
    /// `ErrorLog`, with its place.
    pub error_log: Option<(String, Origin)>,
    /// Its `ProxyPass`/`ProxyPassMatch` rules, in order.
    pub rules: Vec<Rule>,
    /// The rules written in `<Location>` sections, in order.
    pub location_rules: Vec<Rule>,
    /// Its `SetHandler "proxy:..."` handlers, in order.
    pub handlers: Vec<Handler>,
    /// Its directives outside sections.
    pub settings: Vec<Directive>,
}

impl Server {
    /// `VirtualHost 127.0.0.1:8080 (shop.example)` or `the main server`.
    pub fn describe(&self) -> String {
        if self.addrs.is_empty() {
            return "the main server".to_string();
        }
        match self.names.first() {
            Some(n) => format!("VirtualHost {} ({n})", self.addrs.join(" ")),
            None => format!("VirtualHost {}", self.addrs.join(" ")),
        }
    }

    fn own(&self, name: &str) -> Option<&Directive> {
        self.settings.iter().rev().find(|d| d.is(name))
    }
}

/// A `BalancerMember`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its URL.
    pub url: String,
    /// `key=value` parameters, keys lowercased.
    pub params: Vec<(String, String)>,
    /// Where it is written.
    pub at: Origin,
}

impl Member {
    /// A parameter's value.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Marked disabled (`status=+D`, `status=D`) or stopped (`S`).
    pub fn is_disabled(&self) -> bool {
        self.param("status").is_some_and(|s| {
            let s = s.to_ascii_uppercase();
            !s.starts_with('-') && (s.contains('D') || s.contains('S'))
        })
    }

    /// A hot standby (`status=+H`) or a spare (`R`).
    pub fn is_standby(&self) -> bool {
        self.param("status").is_some_and(|s| {
            let s = s.to_ascii_uppercase();
            !s.starts_with('-') && (s.contains('H') || s.contains('R'))
        })
    }
}

/// A `<Proxy balancer://name>` group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balancer {
    /// `balancer://name`.
    pub name: String,
    /// Where it is defined (its first section or member).
    pub at: Origin,
    /// Its members.
    pub members: Vec<Member>,
    /// `ProxySet` parameters, with their places.
    pub params: Vec<(String, String, Origin)>,
}

/// httpd's defaults for the settings the advice quotes.
const DEFAULTS: &[(&str, &str)] = &[
    // core.c, DEFAULT_TIMEOUT in httpd.h (Debian's apache2.conf sets 300)
    ("Timeout", "60"),
    // mod_proxy_http: HUGE_STRING_LEN
    ("ResponseFieldSize", "8192"),
    ("ProxyPreserveHost", "Off"),
    // mod_ssl: SSLProxyVerify none, SSLProxyCheckPeerName on
    ("SSLProxyVerify", "none"),
    ("SSLProxyCheckPeerName", "on"),
    ("ProxyBadHeader", "IsError"),
    ("retry", "60"),
];

/// A `<Proxy URL>` section's `ProxySet` parameters: the URL, the
/// parameters (keys lowercased), the section's place.
pub type Worker = (String, Vec<(String, String)>, Origin);

/// An Apache configuration.
#[derive(Debug, Clone, Default)]
pub struct Apache {
    /// The main file.
    pub main: PathBuf,
    /// The main server.
    pub main_server: Server,
    /// The `<VirtualHost>`s, in order.
    pub vhosts: Vec<Server>,
    /// `balancer://` groups by name.
    pub balancers: BTreeMap<String, Balancer>,
    /// `ProxySet` parameters of `<Proxy URL>` sections for plain workers.
    pub workers: Vec<Worker>,
    /// `User` (from `apachectl -S` when the file names a variable).
    pub user: Option<(String, Option<Origin>)>,
    /// `Group`.
    pub group: Option<(String, Option<Origin>)>,
}

/// How a request was routed.
#[derive(Debug, Clone, Copy)]
pub enum Route<'a> {
    /// A `ProxyPass`/`ProxyPassMatch`.
    Pass(&'a Rule),
    /// A `SetHandler "proxy:..."`.
    Handler(&'a Handler),
}

impl<'a> Route<'a> {
    /// The target (`http://...`, `unix:/...|fcgi://...`).
    pub fn target(&self) -> &'a str {
        match self {
            Route::Pass(r) => &r.target,
            Route::Handler(h) => &h.target,
        }
    }

    /// Where the routing directive is.
    pub fn at(&self) -> &'a Origin {
        match self {
            Route::Pass(r) => &r.at,
            Route::Handler(h) => &h.at,
        }
    }

    /// The directive as written, with its section for a handler.
    pub fn text(&self) -> String {
        match self {
            Route::Pass(r) => r.text(),
            Route::Handler(h) => format!("{} SetHandler \"proxy:{}\"", h.section, h.target),
        }
    }
}

fn kv_params(args: &[String]) -> Vec<(String, String)> {
    args.iter()
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect()
}

/// The `balancer://name` part of a target, without a path.
pub fn balancer_name(target: &str) -> Option<String> {
    let rest = target.strip_prefix("balancer://")?;
    let name = rest.split('/').next().unwrap_or(rest);
    Some(format!("balancer://{}", name.to_ascii_lowercase()))
}

/// The endpoint of a target: `127.0.0.1:8080` of
/// `http://127.0.0.1:8080/x`, the path of `unix:/run/x.sock|fcgi://...`.
pub fn endpoint(target: &str) -> &str {
    let t = target.strip_prefix("proxy:").unwrap_or(target);
    if let Some(path) = t.strip_prefix("unix:") {
        return path.split('|').next().unwrap_or(path);
    }
    let rest = t.split_once("://").map_or(t, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

impl Apache {
    /// Reads the parts of a directive tree that matter here.
    pub fn from_tree(main: PathBuf, root: &[Directive], dump: Option<&Dump>) -> Apache {
        let mut out = Apache {
            main,
            ..Apache::default()
        };
        let mut main_server = Server::default();
        out.read_server(root, &mut main_server, None);
        for d in root.iter().filter(|d| d.is("VirtualHost")) {
            let mut s = Server {
                addrs: d.args.clone(),
                at: Some(d.at.clone()),
                ..Server::default()
            };
            out.read_server(d.block.as_deref().unwrap_or_default(), &mut s, None);
            out.vhosts.push(s);
        }
        for (key, field) in [("User", 0), ("Group", 1)] {
            let from_file = main_server
                .own(key)
                .map(|d| (d.arg(0).to_string(), Some(d.at.clone())));
            let from_dump = dump.and_then(|d| {
                if field == 0 {
                    d.user.clone()
                } else {
                    d.group.clone()
                }
            });
            let v = match (from_file, from_dump) {
                (Some((v, at)), _) if !v.contains("${") => Some((v, at)),
                (Some((_, at)), Some(d)) => Some((d, at)),
                (None, Some(d)) => Some((d, None)),
                (f, None) => f,
            };
            if field == 0 {
                out.user = v;
            } else {
                out.group = v;
            }
        }
        if main_server.error_log.is_none()
            && let Some(log) = dump.and_then(|d| d.main_error_log.clone())
        {
            main_server.error_log = Some((log, Origin::new("apachectl -S", 0)));
        }
        out.main_server = main_server;
        out
    }

    /// Reads one server's directives (the main server's, skipping its
    /// virtual hosts; or a `<VirtualHost>`'s block). `location` is the
    /// enclosing `<Location>` while inside one.
    fn read_server(&mut self, block: &[Directive], s: &mut Server, location: Option<&Directive>) {
        for d in block {
            let lower = d.name.to_ascii_lowercase();
            match (lower.as_str(), &d.block) {
                ("virtualhost", Some(_)) => {}
                ("location" | "locationmatch", Some(b)) => {
                    self.read_server(b, s, Some(d));
                }
                ("directory" | "directorymatch" | "if" | "elseif" | "else", Some(b)) => {
                    // Files sections inside stay file matches; settings
                    // there are not server-wide.
                    let mut inner = Server::default();
                    self.read_server(b, &mut inner, location);
                    s.handlers.extend(inner.handlers);
                }
                ("files" | "filesmatch", Some(b)) => {
                    let regex = lower == "filesmatch" || d.arg(0) == "~";
                    let pattern = if d.arg(0) == "~" { d.arg(1) } else { d.arg(0) };
                    let matcher = if regex {
                        Matcher::new(true, pattern, false)
                    } else {
                        Some(Matcher::Name(pattern.to_string()))
                    };
                    for h in b.iter().filter(|x| x.is("SetHandler")) {
                        if let (Some(m), Some(t)) = (&matcher, h.arg(0).strip_prefix("proxy:")) {
                            s.handlers.push(Handler {
                                matcher: m.clone(),
                                on_files: true,
                                section: format!("<{} \"{}\">", d.name, pattern),
                                section_at: d.at.clone(),
                                target: t.to_string(),
                                at: h.at.clone(),
                            });
                        }
                    }
                }
                ("proxy" | "proxymatch", Some(b)) => self.read_proxy_section(d, b),
                (_, Some(_)) => {}
                ("proxypass" | "proxypassmatch", None) => {
                    if let Some(r) = rule(d, location) {
                        if r.location.is_some() {
                            s.location_rules.push(r);
                        } else {
                            s.rules.push(r);
                        }
                    }
                }
                ("sethandler", None) => {
                    if let (Some(loc), Some(t)) = (location, d.arg(0).strip_prefix("proxy:")) {
                        let regex = loc.is("LocationMatch") || loc.arg(0) == "~";
                        let pattern = if loc.arg(0) == "~" {
                            loc.arg(1)
                        } else {
                            loc.arg(0)
                        };
                        if let Some(m) = Matcher::new(regex, pattern, false) {
                            s.handlers.push(Handler {
                                matcher: m,
                                on_files: false,
                                section: format!("<{} \"{}\">", loc.name, pattern),
                                section_at: loc.at.clone(),
                                target: t.to_string(),
                                at: d.at.clone(),
                            });
                        }
                    }
                }
                ("balancermember", None) if d.args.len() >= 2 => {
                    // `BalancerMember balancer://name url ...` outside a section.
                    if let Some(name) = balancer_name(d.arg(0)) {
                        self.add_member(&name, d, 1);
                    }
                }
                ("proxyset", None) => {
                    if let Some(name) = balancer_name(d.arg(0)) {
                        let b = self.balancer(&name, &d.at);
                        for (k, v) in kv_params(&d.args[1..]) {
                            b.params.push((k, v, d.at.clone()));
                        }
                    }
                }
                _ => {
                    if location.is_none() {
                        match lower.as_str() {
                            "servername" | "serveralias" => s.names.extend(d.args.iter().cloned()),
                            "errorlog" if !d.args.is_empty() => {
                                s.error_log = Some((d.args[0].clone(), d.at.clone()));
                            }
                            _ => {}
                        }
                        s.settings.push(d.clone());
                    }
                }
            }
        }
    }

    fn balancer(&mut self, name: &str, at: &Origin) -> &mut Balancer {
        self.balancers
            .entry(name.to_string())
            .or_insert_with(|| Balancer {
                name: name.to_string(),
                at: at.clone(),
                members: Vec::new(),
                params: Vec::new(),
            })
    }

    fn add_member(&mut self, name: &str, d: &Directive, url_index: usize) {
        let Some(url) = d.args.get(url_index) else {
            return;
        };
        let member = Member {
            url: url.clone(),
            params: kv_params(&d.args[url_index + 1..]),
            at: d.at.clone(),
        };
        self.balancer(name, &d.at).members.push(member);
    }

    fn read_proxy_section(&mut self, d: &Directive, block: &[Directive]) {
        let url = d.arg(0);
        if let Some(name) = balancer_name(url) {
            self.balancer(&name, &d.at);
            for x in block {
                if x.is("BalancerMember") {
                    let idx = usize::from(balancer_name(x.arg(0)).is_some());
                    self.add_member(&name, x, idx);
                } else if x.is("ProxySet") {
                    let b = self.balancer(&name, &d.at);
                    let skip = usize::from(balancer_name(x.arg(0)).is_some());
                    for (k, v) in kv_params(&x.args[skip.min(x.args.len())..]) {
                        b.params.push((k, v, x.at.clone()));
                    }
                }
            }
        } else {
            let params: Vec<(String, String)> = block
                .iter()
                .filter(|x| x.is("ProxySet"))
                .flat_map(|x| kv_params(&x.args))
                .collect();
            if !params.is_empty() {
                self.workers.push((url.to_string(), params, d.at.clone()));
            }
        }
    }

    /// Every server: the main one, then the virtual hosts.
    pub fn servers(&self) -> impl Iterator<Item = &Server> {
        std::iter::once(&self.main_server).chain(self.vhosts.iter())
    }

    /// True for the main server.
    fn is_main(&self, s: &Server) -> bool {
        std::ptr::eq(s, &self.main_server)
    }

    /// The rule or handler httpd uses for `uri` in `server`: a
    /// `ProxyPass` of the last `<Location>` that matches (the main
    /// server's sections merged before the virtual host's); then the
    /// server rules in order, the main server's first, the first match
    /// winning (`!` stops proxying); then, for a file, the last matching
    /// `<Files*>`/`<Location>` handler.
    pub fn route<'a>(&'a self, server: &'a Server, uri: &str) -> Option<Route<'a>> {
        let chain: Vec<&Server> = if self.is_main(server) {
            vec![server]
        } else {
            vec![&self.main_server, server]
        };
        let loc = chain
            .iter()
            .flat_map(|s| s.location_rules.iter())
            .rfind(|r| r.location.as_ref().is_some_and(|_| r.matcher.matches(uri)));
        let mut proxied = true;
        if let Some(r) = loc {
            if r.target == "!" {
                proxied = false;
            } else {
                return Some(Route::Pass(r));
            }
        }
        if proxied {
            for r in chain.iter().flat_map(|s| s.rules.iter()) {
                if r.matcher.matches(uri) {
                    if r.target == "!" {
                        break;
                    }
                    return Some(Route::Pass(r));
                }
            }
        }
        let name = uri.rsplit('/').next().unwrap_or(uri);
        chain
            .iter()
            .flat_map(|s| s.handlers.iter())
            .rfind(|h| h.matcher.matches(if h.on_files { name } else { uri }))
            .map(Route::Handler)
    }

    /// A server setting in effect in `server`: its own, else the main
    /// server's, else httpd's default (`ProxyTimeout` defaults to
    /// `Timeout`).
    pub fn setting(&self, server: &Server, name: &str) -> Option<Setting> {
        if let Some(d) = server.own(name) {
            return Some(Setting {
                name: d.name.clone(),
                value: d.args.join(" "),
                at: Some(d.at.clone()),
                here: !self.is_main(server),
            });
        }
        if !self.is_main(server)
            && let Some(d) = self.main_server.own(name)
        {
            return Some(Setting {
                name: d.name.clone(),
                value: d.args.join(" "),
                at: Some(d.at.clone()),
                here: false,
            });
        }
        if name.eq_ignore_ascii_case("ProxyTimeout") {
            return None;
        }
        DEFAULTS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, v)| Setting {
                name: (*n).to_string(),
                value: (*v).to_string(),
                at: None,
                here: false,
            })
    }

    /// A worker parameter (`timeout`, `retry`, ...) for a route: on the
    /// rule, else in a `ProxySet` of a `<Proxy>` section for its URL or its
    /// balancer; `None` when not set anywhere.
    pub fn worker_param(&self, route: &Route<'_>, key: &str) -> Option<Setting> {
        if let Route::Pass(r) = route
            && let Some(v) = r.param(key)
        {
            return Some(Setting {
                name: key.to_string(),
                value: v.to_string(),
                at: Some(r.at.clone()),
                here: true,
            });
        }
        let target = route.target();
        if let Some(b) = balancer_name(target).and_then(|n| self.balancers.get(&n))
            && let Some((_, v, at)) = b.params.iter().rev().find(|(k, _, _)| k == key)
        {
            return Some(Setting {
                name: key.to_string(),
                value: v.clone(),
                at: Some(at.clone()),
                here: false,
            });
        }
        // `<Proxy "unix:/run/php/x.sock|fcgi://localhost">`, or the part
        // after the `|` alone (`<Proxy "fcgi://localhost">`).
        let after_pipe = target.split_once('|').map(|(_, t)| t);
        self.workers
            .iter()
            .rev()
            .filter(|(url, _, _)| {
                let url = url.trim_end_matches('/');
                target.starts_with(url) || after_pipe.is_some_and(|t| t.starts_with(url))
            })
            .find_map(|(_, params, at)| {
                params
                    .iter()
                    .rev()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| Setting {
                        name: key.to_string(),
                        value: v.clone(),
                        at: Some(at.clone()),
                        here: false,
                    })
            })
    }

    /// The timeout for reading the backend's answer on a route: the
    /// worker's `timeout=`, else `ProxyTimeout`, else `Timeout`.
    pub fn read_timeout(&self, server: &Server, route: &Route<'_>) -> Setting {
        self.worker_param(route, "timeout")
            .or_else(|| self.setting(server, "ProxyTimeout"))
            .or_else(|| self.setting(server, "Timeout"))
            .unwrap_or(Setting {
                name: "Timeout".into(),
                value: "60".into(),
                at: None,
                here: false,
            })
    }

    /// The connect timeout: `connectiontimeout=`, else the read timeout.
    pub fn connect_timeout(&self, server: &Server, route: &Route<'_>) -> Setting {
        self.worker_param(route, "connectiontimeout")
            .unwrap_or_else(|| self.read_timeout(server, route))
    }

    /// `retry=` (60 s by default): how long a worker in error state is
    /// left alone.
    pub fn retry(&self, route: &Route<'_>) -> Setting {
        self.worker_param(route, "retry").unwrap_or(Setting {
            name: "retry".into(),
            value: "60".into(),
            at: None,
            here: false,
        })
    }

    /// The balancer a route sends to.
    pub fn balancer_of(&self, target: &str) -> Option<&Balancer> {
        balancer_name(target).and_then(|n| self.balancers.get(&n))
    }

    /// The servers whose error log is `log` (a path as given to upcause):
    /// the same path, else the same file name; a virtual host without an
    /// `ErrorLog` writes to the main server's.
    pub fn servers_logging_to(&self, log: &str) -> Vec<&Server> {
        let name = |p: &str| Path::new(p).file_name().map(|n| n.to_os_string());
        let main_log = self.main_server.error_log.as_ref().map(|(l, _)| l.as_str());
        fn own_log(s: &Server) -> Option<&str> {
            s.error_log.as_ref().map(|(l, _)| l.as_str())
        }
        let log_of = |s: &Server| own_log(s).or(main_log).map(str::to_string);
        for exact in [true, false] {
            let found: Vec<&Server> = self
                .servers()
                .filter(|s| {
                    log_of(s).is_some_and(|l| {
                        if exact {
                            l == log
                        } else {
                            name(&l).is_some() && name(&l) == name(log)
                        }
                    })
                })
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }
}

/// A `ProxyPass`/`ProxyPassMatch` directive as a rule; in a `<Location>`
/// the path is the section's.
fn rule(d: &Directive, location: Option<&Directive>) -> Option<Rule> {
    let mut regex = d.is("ProxyPassMatch");
    let mut args: &[String] = &d.args;
    let directive = if regex { "ProxyPassMatch" } else { "ProxyPass" };
    let (matcher, target, params, loc) = match location {
        Some(l) => {
            let lregex = l.is("LocationMatch") || l.arg(0) == "~";
            let pattern = if l.arg(0) == "~" { l.arg(1) } else { l.arg(0) };
            let m = Matcher::new(lregex || regex, pattern, false)?;
            let target = args.first()?.clone();
            (
                m,
                target,
                kv_params(&args[1..]),
                Some((format!("<{} {}>", l.name, pattern), l.at.clone())),
            )
        }
        None => {
            if args.first().is_some_and(|a| a == "~") {
                regex = true;
                args = &args[1..];
            }
            let path = args.first()?;
            let target = args.get(1)?.clone();
            (
                Matcher::new(regex, path, false)?,
                target,
                kv_params(&args[2..]),
                None,
            )
        }
    };
    Some(Rule {
        directive,
        matcher,
        target,
        params,
        location: loc,
        at: d.at.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Apache {
        let tree = parse(text, "httpd.conf").unwrap();
        Apache::from_tree(PathBuf::from("httpd.conf"), &tree, None)
    }

    #[test]
    fn words_follow_httpd_quoting() {
        assert_eq!(
            words(r#"SetHandler "proxy:unix:/run/a b.sock|fcgi://localhost" 'x \' y' z"#),
            [
                "SetHandler",
                "proxy:unix:/run/a b.sock|fcgi://localhost",
                "x ' y",
                "z"
            ]
        );
    }

    #[test]
    fn sections_nest_continuations_join_and_lines_are_kept() {
        let t = parse(
            "# c\nTimeout 30\n<VirtualHost *:80>\n  ProxyPass /a \\\n    http://b/\n  <Location /x>\n  </Location>\n</VirtualHost>\n",
            "h.conf",
        )
        .unwrap();
        assert_eq!(t[0].at.line, 2);
        let vh = t[1].block.as_ref().unwrap();
        assert_eq!(vh[0].args, ["/a", "http://b/"]);
        assert_eq!(vh[0].at.line, 4);
        assert_eq!(vh[1].name, "Location");
        assert_eq!(vh[1].at.line, 6);
    }

    #[test]
    fn broken_sections_are_errors_with_their_place() {
        for (text, want) in [
            (
                "<VirtualHost *:80>\nServerName a\n",
                "h.conf:1: <VirtualHost> is not closed",
            ),
            (
                "ServerName a\n</Location>\n",
                "h.conf:2: </Location> without matching",
            ),
            (
                "<Location /a>\n</Directory>\n",
                "h.conf:2: expected </Location>",
            ),
            (
                "<Location /a\n",
                "h.conf:1: <Location directive missing closing '>'",
            ),
        ] {
            let e = parse(text, "h.conf").unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn proxypass_order_is_httpds() {
        let a = conf(
            "ProxyTimeout 7\n\
             <VirtualHost *:80>\n\
             ServerName shop\n\
             ProxyPass /api/private !\n\
             ProxyPass /api http://10.0.0.1:8080/api timeout=30 retry=0\n\
             ProxyPass /api/users http://10.0.0.2:8080/\n\
             ProxyPassMatch ^/(.*\\.php)$ fcgi://127.0.0.1:9000/var/www/$1\n\
             <Location /reports/>\n\
             ProxyPass http://10.0.0.3:8080/ connectiontimeout=2\n\
             </Location>\n\
             <FilesMatch \"\\.phtml$\">\n\
             SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n\
             </FilesMatch>\n\
             </VirtualHost>\n",
        );
        let vh = &a.vhosts[0];
        let target = |uri: &str| a.route(vh, uri).map(|r| r.target().to_string());
        // The first rule that matches wins, however long the next one is.
        assert_eq!(target("/api/users/7").unwrap(), "http://10.0.0.1:8080/api");
        assert_eq!(target("/api/private/x"), None);
        assert_eq!(target("/apix"), None);
        // A <Location>'s ProxyPass goes before the server's rules.
        assert_eq!(target("/reports/1").unwrap(), "http://10.0.0.3:8080/");
        assert_eq!(
            target("/index.php").unwrap(),
            "fcgi://127.0.0.1:9000/var/www/$1"
        );
        assert_eq!(
            target("/x/page.phtml").unwrap(),
            "unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
        );
        let r = a.route(vh, "/api/users/7").unwrap();
        let t = a.read_timeout(vh, &r);
        assert_eq!(
            (t.name.as_str(), t.value.as_str(), t.at.unwrap().line),
            ("timeout", "30", 5)
        );
        assert_eq!(a.retry(&r).value, "0");
        let r = a.route(vh, "/reports/1").unwrap();
        let t = a.read_timeout(vh, &r);
        assert_eq!(
            (t.name.as_str(), t.value.as_str(), t.here),
            ("ProxyTimeout", "7", false)
        );
        assert_eq!(a.connect_timeout(vh, &r).value, "2");
        assert_eq!(a.retry(&r).at, None);
        assert_eq!(a.setting(vh, "ResponseFieldSize").unwrap().value, "8192");
    }

    #[test]
    fn a_proxy_section_sets_its_workers_parameters() {
        let a = conf(
            "<Proxy \"fcgi://localhost/\">\n  ProxySet timeout=90\n</Proxy>\n\
             <FilesMatch \"\\.php$\">\n  SetHandler \"proxy:unix:/run/php/x.sock|fcgi://localhost\"\n</FilesMatch>\n",
        );
        let s = &a.main_server;
        let r = a.route(s, "/index.php").unwrap();
        let t = a.read_timeout(s, &r);
        assert_eq!(
            (t.name.as_str(), t.value.as_str(), t.at.unwrap().line),
            ("timeout", "90", 1)
        );
    }

    #[test]
    fn without_proxytimeout_the_timeout_is_timeouts() {
        let a = conf("<VirtualHost *:80>\nProxyPass / http://b/\n</VirtualHost>\n");
        let vh = &a.vhosts[0];
        let r = a.route(vh, "/x").unwrap();
        let t = a.read_timeout(vh, &r);
        assert_eq!(
            (t.name.as_str(), t.value.as_str(), t.at),
            ("Timeout", "60", None)
        );
    }

    #[test]
    fn balancers_with_their_members() {
        let a = conf(
            "<Proxy balancer://App>\n\
             BalancerMember http://10.0.0.1:80 status=+D\n\
             BalancerMember http://10.0.0.2:80 retry=5\n\
             ProxySet lbmethod=byrequests\n\
             </Proxy>\n\
             BalancerMember balancer://app http://10.0.0.3:80 status=+H\n\
             ProxyPass / balancer://app/\n",
        );
        let b = a.balancer_of("balancer://app/").unwrap();
        assert_eq!(b.members.len(), 3);
        assert!(b.members[0].is_disabled());
        assert!(!b.members[1].is_disabled());
        assert!(b.members[2].is_standby());
        assert_eq!(b.params[0].0, "lbmethod");
        assert_eq!(b.at.line, 1);
    }

    #[test]
    fn includes_resolve_against_the_server_root_with_variables() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sites")).unwrap();
        std::fs::write(
            d.path().join("sites/b.conf"),
            "<VirtualHost *:81>\nErrorLog ${LOGS}/b.log\n</VirtualHost>\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("sites/a.conf"),
            "<VirtualHost *:80>\n</VirtualHost>\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("envvars"),
            "export APACHE_RUN_USER=www-data\nexport LOGS=/var/log/apache2$SUFFIX\n",
        )
        .unwrap();
        let main = d.path().join("apache2.conf");
        std::fs::write(
            &main,
            "User ${APACHE_RUN_USER}\nLoadModule proxy_module mod_proxy.so\n\
             <IfModule nosuch_module>\nInclude missing.conf\n</IfModule>\n<IfModule mod_proxy.c>\nIncludeOptional sites/*.conf\n</IfModule>\n\
             IncludeOptional none/*.conf\n",
        )
        .unwrap();
        let file = SourceFile::read(&main).unwrap();
        let tree = load(&file, None).unwrap();
        let a = Apache::from_tree(main.clone(), &tree, None);
        assert_eq!(a.vhosts.len(), 2);
        assert_eq!(a.vhosts[0].addrs, ["*:80"]);
        assert!(
            a.vhosts[0]
                .at
                .as_ref()
                .unwrap()
                .file
                .ends_with("sites/a.conf")
        );
        assert_eq!(
            a.vhosts[1].error_log.as_ref().unwrap().0,
            "/var/log/apache2/b.log"
        );
        assert_eq!(a.user.as_ref().unwrap().0, "www-data");
        // Include (not Optional) of nothing is an error with its place.
        std::fs::write(&main, "\nInclude nothing/*.conf\n").unwrap();
        let e = load(&SourceFile::read(&main).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("apache2.conf:2") && e.contains("no file matches"),
            "{e}"
        );
    }

    #[test]
    fn sections_nested_beyond_reason_are_an_error_not_a_crash() {
        let text = "<If x>\n".repeat(50_000) + &"</If>\n".repeat(50_000);
        let e = parse(&text, "h.conf").unwrap_err().to_string();
        assert!(
            e.contains("h.conf:101: sections nested more than 100 deep"),
            "{e}"
        );
    }

    #[test]
    fn an_include_loop_is_an_error_not_a_hang() {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("httpd.conf");
        std::fs::write(&main, "ServerName a\nInclude httpd.conf\n").unwrap();
        let e = load(&SourceFile::read(&main).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested too deep"), "{e}");
    }

    #[test]
    fn apachectl_s_output_is_read() {
        let d = parse_dump(
            "VirtualHost configuration:\n*:80                   localhost (/etc/apache2/sites-enabled/000-default.conf:1)\n\
             ServerRoot: \"/etc/apache2\"\nMain DocumentRoot: \"/var/www/html\"\n\
             Main ErrorLog: \"/var/log/apache2/error.log\"\nUser: name=\"www-data\" id=33\nGroup: name=\"www-data\" id=33\n",
        );
        assert_eq!(d.server_root.as_deref(), Some("/etc/apache2"));
        assert_eq!(d.user.as_deref(), Some("www-data"));
        assert_eq!(d.group.as_deref(), Some("www-data"));
        assert_eq!(d.files, ["/etc/apache2/sites-enabled/000-default.conf"]);
        assert!(is_dump("VirtualHost configuration:\n"));
    }

    #[test]
    fn an_error_log_names_its_server() {
        let a = conf(
            "ErrorLog /var/log/main.log\n<VirtualHost *:80>\nErrorLog /srv/logs/shop.log\n</VirtualHost>\n\
             <VirtualHost *:81>\n</VirtualHost>\n",
        );
        let s = a.servers_logging_to("fixtures/shop.log");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].addrs, ["*:80"]);
        let s = a.servers_logging_to("/var/log/main.log");
        assert_eq!(s.len(), 2);
        assert!(a.servers_logging_to("other.log").is_empty());
    }

    proptest::proptest! {
        /// Any text either parses or is an error with a place: never a
        /// panic, in the parser or in the model built from what it read.
        #[test]
        fn any_text_parses_or_errs(lines in proptest::collection::vec(
            "[<>/\\\\\"' #a-zA-Z:|=*~^$.()\\[\\]!{}-]{0,24}", 0..24)) {
            let text = lines.join("\n");
            if let Ok(tree) = parse(&text, "p.conf") {
                let a = Apache::from_tree(PathBuf::from("p.conf"), &tree, None);
                for s in a.servers() {
                    let _ = a.route(s, "/index.php");
                    let _ = a.setting(s, "Timeout");
                }
            }
        }
    }

    #[test]
    fn endpoints_of_targets() {
        assert_eq!(endpoint("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(
            endpoint("unix:/run/php/x.sock|fcgi://localhost"),
            "/run/php/x.sock"
        );
        assert_eq!(
            endpoint("fcgi://127.0.0.1:9000/var/www/$1"),
            "127.0.0.1:9000"
        );
        assert_eq!(endpoint("balancer://app/"), "app");
    }
}
