//! nginx's configuration: the block structure exactly as nginx tokenizes it
//! (`src/core/ngx_conf_file.c`: quotes, backslash escapes, `#` comments,
//! `${var}` kept as text), `include`s resolved, and `nginx -T` dumps split
//! back into their files. Then the parts a 502 depends on: upstream
//! groups, servers, locations (nginx's own matching order) and the proxy
//! settings in effect in each (nginx's inheritance and defaults).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::source::{Origin, Setting, SourceFile, read_included};
use crate::error::{Error, Result};

/// One directive: `name args...;` or `name args... { block }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive name.
    pub name: String,
    /// Its arguments, quotes and escapes resolved, variables kept as text.
    pub args: Vec<String>,
    /// Where it is written.
    pub at: Origin,
    /// The block, for block directives.
    pub block: Option<Vec<Directive>>,
}

/// A token of the configuration language.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String, u32),
    Semicolon(u32),
    Open(u32),
    Close(u32),
}

/// Splits a configuration file into tokens, as nginx does.
fn tokenize(text: &str, file: &str) -> Result<Vec<Token>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut line = 1u32;
    let mut i = 0;
    let bad = |line: u32, what: &str| Error::Usage(format!("{file}:{line}: {what}"));
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                out.push(Token::Semicolon(line));
                i += 1;
            }
            b'{' => {
                out.push(Token::Open(line));
                i += 1;
            }
            b'}' => {
                out.push(Token::Close(line));
                i += 1;
            }
            b'"' | b'\'' => {
                let start_line = line;
                let mut word = Vec::new();
                i += 1;
                loop {
                    let Some(&d) = b.get(i) else {
                        return Err(bad(start_line, "unterminated quoted string"));
                    };
                    match d {
                        b'\\' if i + 1 < b.len() => {
                            if b[i + 1] == b'\n' {
                                line += 1;
                            }
                            unescape(b[i + 1], &mut word);
                            i += 2;
                        }
                        _ if d == c => {
                            i += 1;
                            break;
                        }
                        _ => {
                            if d == b'\n' {
                                line += 1;
                            }
                            word.push(d);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Word(
                    String::from_utf8_lossy(&word).into_owned(),
                    start_line,
                ));
            }
            _ => {
                let start_line = line;
                let mut word = Vec::new();
                while i < b.len() {
                    let d = b[i];
                    match d {
                        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'}' => break,
                        // `${name}` is a variable, not a block.
                        b'{' if word.last() == Some(&b'$') => {
                            while i < b.len() && b[i] != b'}' {
                                word.push(b[i]);
                                i += 1;
                            }
                            if i < b.len() {
                                word.push(b'}');
                                i += 1;
                            }
                        }
                        b'{' => break,
                        b'\\' if i + 1 < b.len() => {
                            if b[i + 1] == b'\n' {
                                line += 1;
                            }
                            unescape(b[i + 1], &mut word);
                            i += 2;
                        }
                        _ => {
                            word.push(d);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Word(
                    String::from_utf8_lossy(&word).into_owned(),
                    start_line,
                ));
            }
        }
    }
    Ok(out)
}

/// The character a backslash escapes, as nginx copies it into the token:
/// `\"`, `\'` and `\\` give the character, `\t \r \n` the control
/// characters, and any other escape keeps its backslash (`\.` in a regex).
fn unescape(e: u8, word: &mut Vec<u8>) {
    match e {
        b'"' | b'\'' | b'\\' => word.push(e),
        b't' => word.push(b'\t'),
        b'r' => word.push(b'\r'),
        b'n' => word.push(b'\n'),
        _ => word.extend_from_slice(&[b'\\', e]),
    }
}

/// Builds the directive tree of one file's tokens.
fn tree(tokens: &[Token], file: &str) -> Result<Vec<Directive>> {
    fn level(
        t: &[Token],
        i: &mut usize,
        file: &str,
        nested: Option<u32>,
        depth: u32,
    ) -> Result<Vec<Directive>> {
        let bad = |line: u32, what: &str| Error::Usage(format!("{file}:{line}: {what}"));
        let mut out = Vec::new();
        let mut words: Vec<(String, u32)> = Vec::new();
        while *i < t.len() {
            match &t[*i] {
                Token::Word(w, line) => {
                    words.push((w.clone(), *line));
                    *i += 1;
                }
                Token::Semicolon(line) => {
                    *i += 1;
                    let Some(((name, at), args)) = words.split_first() else {
                        return Err(bad(*line, "unexpected \";\""));
                    };
                    out.push(Directive {
                        name: name.clone(),
                        args: args.iter().map(|(a, _)| a.clone()).collect(),
                        at: Origin::new(file, *at),
                        block: None,
                    });
                    words.clear();
                }
                Token::Open(line) => {
                    *i += 1;
                    let Some(((name, at), args)) = words.split_first() else {
                        return Err(bad(*line, "unexpected \"{\""));
                    };
                    let (name, at) = (name.clone(), *at);
                    let args = args.iter().map(|(a, _)| a.clone()).collect();
                    words.clear();
                    if depth >= MAX_NESTING {
                        return Err(bad(
                            *line,
                            &format!("blocks nested more than {MAX_NESTING} deep"),
                        ));
                    }
                    let block = level(t, i, file, Some(*line), depth + 1)?;
                    out.push(Directive {
                        name,
                        args,
                        at: Origin::new(file, at),
                        block: Some(block),
                    });
                }
                Token::Close(line) => {
                    *i += 1;
                    if !words.is_empty() {
                        return Err(bad(
                            *line,
                            "unexpected \"}\" (a directive before it lacks its \";\")",
                        ));
                    }
                    return match nested {
                        Some(_) => Ok(out),
                        None => Err(bad(*line, "unexpected \"}\"")),
                    };
                }
            }
        }
        if let Some((_, line)) = words.first() {
            return Err(bad(
                *line,
                "unexpected end of file, expecting \";\" or \"}\"",
            ));
        }
        if let Some(open) = nested {
            return Err(bad(
                open,
                "unexpected end of file: this \"{\" is never closed",
            ));
        }
        Ok(out)
    }
    let mut i = 0;
    level(tokens, &mut i, file, None, 0)
}

/// Most blocks (or Apache sections) nested in one another: real
/// configurations use a handful; a file nested deeper is refused rather
/// than walked into a stack overflow.
pub const MAX_NESTING: u32 = 100;

/// Parses one file's text (no includes resolved).
pub fn parse(text: &str, file: &str) -> Result<Vec<Directive>> {
    tree(&tokenize(text, file)?, file)
}

/// The files of an `nginx -T` dump, in order: each starts at a
/// `# configuration file PATH:` line.
pub fn split_dump(text: &str) -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = Vec::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if let Some(path) = trimmed
            .strip_prefix("# configuration file ")
            .and_then(|p| p.strip_suffix(':'))
        {
            files.push(SourceFile {
                path: PathBuf::from(path),
                text: String::new(),
            });
        } else if let Some(f) = files.last_mut() {
            f.text.push_str(line);
        }
    }
    // The dump ends each file with an empty line of its own.
    for f in &mut files {
        if f.text.ends_with("\n\n") {
            f.text.pop();
        }
    }
    files
}

/// True when `text` is the output of `nginx -T`.
pub fn is_dump(text: &str) -> bool {
    text.lines()
        .take(5)
        .any(|l| l.starts_with("# configuration file "))
}

/// Parses a configuration with its includes, from the main file or from
/// an `nginx -T` dump (whose files are the includes' only source).
pub fn load(main: &SourceFile, dump: Option<&[SourceFile]>) -> Result<Vec<Directive>> {
    let base = main
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut walk = Walk::default();
    expand(
        parse(&main.text, &main.path.display().to_string())?,
        &base,
        dump,
        &mut walk,
    )
}

/// How deep the includes are nested, and how many files they read in all:
/// a file that includes itself (twice, say) ends in an error, not a hang.
#[derive(Default)]
struct Walk {
    depth: u32,
    files: u32,
}

/// Replaces each `include` by the directives of the files it names.
fn expand(
    dirs: Vec<Directive>,
    base: &Path,
    dump: Option<&[SourceFile]>,
    walk: &mut Walk,
) -> Result<Vec<Directive>> {
    let mut out = Vec::with_capacity(dirs.len());
    for mut d in dirs {
        if d.name == "include" && d.block.is_none() {
            let Some(pattern) = d.args.first() else {
                return Err(Error::Usage(format!("{}: include without a file", d.at)));
            };
            walk.depth += 1;
            if walk.depth > 64 {
                return Err(Error::Usage(format!(
                    "{}: includes nested too deep (a loop?)",
                    d.at
                )));
            }
            for f in read_included(pattern, base, dump, &d.at)? {
                walk.files += 1;
                if walk.files > 10_000 {
                    return Err(Error::Usage(format!(
                        "{}: more than 10000 included files (a loop?)",
                        d.at
                    )));
                }
                let parsed = parse(&f.text, &f.path.display().to_string())?;
                out.extend(expand(parsed, base, dump, walk)?);
            }
            walk.depth -= 1;
            continue;
        }
        if let Some(block) = d.block.take() {
            d.block = Some(expand(block, base, dump, walk)?);
        }
        out.push(d);
    }
    Ok(out)
}

// ------------------------------------------------------------------ model

/// How a location pattern matches (`location [=|~|~*|^~] pattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// `location /p`: longest prefix, regexes may override it.
    Prefix,
    /// `location ^~ /p`: longest prefix, no regex tried after it.
    PrefixNoRegex,
    /// `location = /p`: exactly this URI.
    Exact,
    /// `location ~ re`.
    Regex,
    /// `location ~* re`: case-insensitive.
    RegexCaseless,
    /// `location @name`: only reached by internal redirects.
    Named,
}

/// Where a location hands requests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// `proxy`, `fastcgi`, `uwsgi`, `grpc`, `scgi`.
    pub module: &'static str,
    /// The target as written (`http://users_api`, `unix:/run/php.sock`).
    pub target: String,
    /// Where the `*_pass` is.
    pub at: Origin,
}

/// A location block.
#[derive(Debug, Clone)]
pub struct Location {
    /// Its modifier.
    pub modifier: Modifier,
    /// Its pattern.
    pub pattern: String,
    /// Where it is written.
    pub at: Origin,
    /// Its directives, with those of the levels around it (outermost
    /// first: `http`, `server`, enclosing locations, then its own).
    pub levels: Vec<Vec<Directive>>,
    /// Locations nested in it.
    pub nested: Vec<Location>,
    regex: Option<regex::Regex>,
}

/// A `server` block.
#[derive(Debug, Clone)]
pub struct Site {
    /// `listen` values.
    pub listen: Vec<String>,
    /// `server_name` values.
    pub names: Vec<String>,
    /// Where it is written.
    pub at: Origin,
    /// Its locations, in order.
    pub locations: Vec<Location>,
    /// The `http` and `server` levels, for settings outside any location.
    pub levels: Vec<Vec<Directive>>,
}

impl Site {
    /// Every location of the server, nested ones after their parent, in
    /// file order.
    pub fn all_locations(&self) -> Vec<&Location> {
        fn walk<'a>(locs: &'a [Location], out: &mut Vec<&'a Location>) {
            for l in locs {
                out.push(l);
                walk(&l.nested, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.locations, &mut out);
        out
    }
}

/// One `server` line of an `upstream` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The address (`127.0.0.1:8001`, `unix:/run/app.sock`, `app.internal`).
    pub address: String,
    /// Its parameters (`max_fails=3`, `backup`, `down`, ...).
    pub params: Vec<String>,
    /// Where it is written.
    pub at: Origin,
}

impl Member {
    /// The value of parameter `name=` when set.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
    }

    /// True for a flag parameter (`down`, `backup`).
    pub fn flag(&self, name: &str) -> bool {
        self.params.iter().any(|p| p == name)
    }
}

/// An `upstream` block.
#[derive(Debug, Clone)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Where it is written.
    pub at: Origin,
    /// Its servers.
    pub members: Vec<Member>,
    /// `keepalive N` when set.
    pub keepalive: Option<(String, Origin)>,
}

/// What nginx would do with the configuration, for the parts that matter
/// to upstream failures.
#[derive(Debug, Clone, Default)]
pub struct Nginx {
    /// The main file.
    pub main: PathBuf,
    /// `upstream` blocks by name.
    pub groups: BTreeMap<String, Group>,
    /// `server` blocks, in order.
    pub sites: Vec<Site>,
    /// The main context's directives outside blocks (`user`).
    pub main_directives: Vec<Directive>,
}

/// nginx's defaults for the directives the advice quotes.
const DEFAULTS: &[(&str, &str)] = &[
    ("proxy_connect_timeout", "60s"),
    ("proxy_read_timeout", "60s"),
    ("proxy_send_timeout", "60s"),
    ("proxy_buffer_size", "4k"),
    ("proxy_buffers", "8 4k"),
    ("proxy_busy_buffers_size", "8k"),
    ("proxy_next_upstream", "error timeout"),
    ("proxy_next_upstream_tries", "0"),
    ("proxy_next_upstream_timeout", "0"),
    ("proxy_http_version", "1.0"),
    ("proxy_ssl_verify", "off"),
    ("proxy_ssl_verify_depth", "1"),
    ("proxy_ssl_server_name", "off"),
    ("fastcgi_connect_timeout", "60s"),
    ("fastcgi_read_timeout", "60s"),
    ("fastcgi_send_timeout", "60s"),
    ("fastcgi_buffer_size", "4k"),
    ("fastcgi_buffers", "8 4k"),
    ("fastcgi_next_upstream", "error timeout"),
    ("uwsgi_connect_timeout", "60s"),
    ("uwsgi_read_timeout", "60s"),
    ("uwsgi_send_timeout", "60s"),
    ("uwsgi_buffer_size", "4k"),
    ("uwsgi_next_upstream", "error timeout"),
    ("grpc_connect_timeout", "60s"),
    ("grpc_read_timeout", "60s"),
    ("grpc_send_timeout", "60s"),
    ("grpc_buffer_size", "4k"),
    ("grpc_next_upstream", "error timeout"),
    ("scgi_connect_timeout", "60s"),
    ("scgi_read_timeout", "60s"),
    ("scgi_send_timeout", "60s"),
    ("scgi_buffer_size", "4k"),
    ("resolver_timeout", "30s"),
    ("large_client_header_buffers", "4 8k"),
];

/// The value of `name` in effect at the innermost of `levels`: the
/// innermost level that sets it wins (for directives that may repeat, such
/// as `proxy_set_header`, all of that level's lines), else the default.
pub fn setting(levels: &[Vec<Directive>], name: &str) -> Option<Setting> {
    let innermost = levels.len();
    for (depth, level) in levels.iter().enumerate().rev() {
        let found: Vec<&Directive> = level.iter().filter(|d| d.name == name).collect();
        if let Some(last) = found.last() {
            let value = found
                .iter()
                .map(|d| d.args.join(" "))
                .collect::<Vec<_>>()
                .join("; ");
            return Some(Setting {
                name: name.to_string(),
                value,
                at: Some(last.at.clone()),
                here: depth + 1 == innermost,
            });
        }
    }
    DEFAULTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| Setting {
            name: name.to_string(),
            value: (*v).to_string(),
            at: None,
            here: false,
        })
}

impl Nginx {
    /// Reads the parts of a directive tree that matter here.
    pub fn from_tree(main: PathBuf, root: &[Directive]) -> Nginx {
        let mut out = Nginx {
            main,
            main_directives: flat(root),
            ..Nginx::default()
        };
        for http in root.iter().filter(|d| d.name == "http") {
            let Some(http_block) = &http.block else {
                continue;
            };
            for d in http_block {
                match (d.name.as_str(), &d.block) {
                    ("upstream", Some(b)) => {
                        let name = d.args.first().cloned().unwrap_or_default();
                        let members = b
                            .iter()
                            .filter(|m| m.name == "server" && !m.args.is_empty())
                            .map(|m| Member {
                                address: m.args[0].clone(),
                                params: m.args[1..].to_vec(),
                                at: m.at.clone(),
                            })
                            .collect();
                        let keepalive = b
                            .iter()
                            .find(|m| m.name == "keepalive")
                            .map(|m| (m.args.join(" "), m.at.clone()));
                        out.groups.insert(
                            name.clone(),
                            Group {
                                name,
                                at: d.at.clone(),
                                members,
                                keepalive,
                            },
                        );
                    }
                    ("server", Some(b)) => {
                        let levels = vec![flat(http_block), flat(b)];
                        let values = |n: &str| -> Vec<String> {
                            b.iter()
                                .filter(|x| x.name == n)
                                .flat_map(|x| x.args.iter().cloned())
                                .collect()
                        };
                        out.sites.push(Site {
                            listen: values("listen"),
                            names: values("server_name"),
                            at: d.at.clone(),
                            locations: locations(b, &levels),
                            levels,
                        });
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// The location of `site` that nginx picks for `uri`.
    pub fn find<'a>(site: &'a Site, uri: &str) -> Option<&'a Location> {
        find_in(&site.locations, uri).map(|(l, _)| l)
    }

    /// The upstream group a pass target names, if any.
    pub fn group_of(&self, target: &str) -> Option<&Group> {
        let host = pass_host(target);
        self.groups.get(host)
    }
}

/// The directives of a block without its nested blocks (those are levels
/// of their own).
fn flat(block: &[Directive]) -> Vec<Directive> {
    block
        .iter()
        .filter(|d| d.block.is_none())
        .cloned()
        .collect()
}

fn locations(block: &[Directive], outer: &[Vec<Directive>]) -> Vec<Location> {
    block
        .iter()
        .filter(|d| d.name == "location" && d.block.is_some())
        .filter_map(|d| {
            let b = d.block.as_deref().unwrap_or_default();
            let (modifier, pattern) = match d.args.as_slice() {
                [m, p] => (
                    match m.as_str() {
                        "=" => Modifier::Exact,
                        "~" => Modifier::Regex,
                        "~*" => Modifier::RegexCaseless,
                        "^~" => Modifier::PrefixNoRegex,
                        _ => return None,
                    },
                    p.clone(),
                ),
                [p] if p.starts_with('@') => (Modifier::Named, p.clone()),
                [p] if p.starts_with('=') => (Modifier::Exact, p[1..].to_string()),
                [p] if p.starts_with("~*") => (Modifier::RegexCaseless, p[2..].to_string()),
                [p] if p.starts_with('~') => (Modifier::Regex, p[1..].to_string()),
                [p] if p.starts_with("^~") => (Modifier::PrefixNoRegex, p[2..].to_string()),
                [p] => (Modifier::Prefix, p.clone()),
                _ => return None,
            };
            let regex = match modifier {
                Modifier::Regex => regex::Regex::new(&pattern).ok(),
                Modifier::RegexCaseless => regex::RegexBuilder::new(&pattern)
                    .case_insensitive(true)
                    .build()
                    .ok(),
                _ => None,
            };
            let mut levels = outer.to_vec();
            levels.push(flat(b));
            Some(Location {
                modifier,
                pattern,
                at: d.at.clone(),
                nested: locations(b, &levels),
                levels,
                regex,
            })
        })
        .collect()
}

/// How a location was found (nginx's `ngx_http_core_find_location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// `=` matched, or a regex: final.
    Final,
    /// A `^~` prefix: no regex after it.
    NoRegex,
    /// A plain prefix: regexes may still override it.
    Prefix,
}

fn find_in<'a>(locs: &'a [Location], uri: &str) -> Option<(&'a Location, Found)> {
    if let Some(l) = locs
        .iter()
        .find(|l| l.modifier == Modifier::Exact && l.pattern == uri)
    {
        return Some((l, Found::Final));
    }
    let prefix = locs
        .iter()
        .filter(|l| matches!(l.modifier, Modifier::Prefix | Modifier::PrefixNoRegex))
        .filter(|l| uri.starts_with(l.pattern.as_str()))
        .max_by_key(|l| l.pattern.len());
    let mut best = prefix.map(|l| {
        let found = if l.modifier == Modifier::PrefixNoRegex {
            Found::NoRegex
        } else {
            Found::Prefix
        };
        (l, found)
    });
    if let Some((l, _)) = best
        && !l.nested.is_empty()
        && let Some(inner) = find_in(&l.nested, uri)
    {
        if inner.1 != Found::Prefix {
            return Some(inner);
        }
        best = Some((inner.0, best.map_or(Found::Prefix, |b| b.1)));
    }
    if let Some((_, Found::NoRegex)) = best {
        return best;
    }
    for l in locs {
        if let Some(re) = &l.regex
            && re.is_match(uri)
        {
            if let Some(inner) = find_in(&l.nested, uri) {
                return Some((inner.0, Found::Final));
            }
            return Some((l, Found::Final));
        }
    }
    best
}

/// The `*_pass` in effect in a location (not inherited: nginx takes it
/// from the location itself).
pub fn pass_of(loc: &Location) -> Option<Pass> {
    const MODULES: &[(&str, &str)] = &[
        ("proxy_pass", "proxy"),
        ("fastcgi_pass", "fastcgi"),
        ("uwsgi_pass", "uwsgi"),
        ("grpc_pass", "grpc"),
        ("scgi_pass", "scgi"),
    ];
    let own = loc.levels.last()?;
    own.iter().find_map(|d| {
        let module = MODULES.iter().find(|(n, _)| *n == d.name)?.1;
        Some(Pass {
            module,
            target: d.args.first().cloned().unwrap_or_default(),
            at: d.at.clone(),
        })
    })
}

/// The host part of a pass target: `users_api` of `http://users_api/x`,
/// `127.0.0.1:9000` of `127.0.0.1:9000`, the path of `unix:/run/x.sock`.
pub fn pass_host(target: &str) -> &str {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    if let Some(path) = rest.strip_prefix("unix:") {
        return path.split(':').next().unwrap_or(path);
    }
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_of(text: &str) -> Vec<Directive> {
        parse(text, "t.conf").unwrap()
    }

    #[test]
    fn tokens_follow_nginx_quoting_and_comments() {
        let t = tree_of(
            "a \"x y\" 'q\\'s' b\\;c; # comment ; {\nlog_format m '$remote_addr \"$request\"' ${x}y;\n",
        );
        assert_eq!(t[0].name, "a");
        assert_eq!(t[0].args, ["x y", "q's", "b\\;c"]);
        assert_eq!(t[1].args, ["m", "$remote_addr \"$request\"", "${x}y"]);
        assert_eq!(t[1].at.line, 2);
    }

    #[test]
    fn blocks_nested_beyond_reason_are_an_error_not_a_crash() {
        let text = "a {".repeat(50_000) + &"}".repeat(50_000);
        let e = parse(&text, "t.conf").unwrap_err().to_string();
        assert!(
            e.contains("t.conf:1: blocks nested more than 100 deep"),
            "{e}"
        );
    }

    #[test]
    fn blocks_nest_and_lines_are_kept() {
        let t = tree_of("http {\n  server {\n    location / { proxy_pass http://a; }\n  }\n}\n");
        let server = &t[0].block.as_ref().unwrap()[0];
        let loc = &server.block.as_ref().unwrap()[0];
        assert_eq!(
            (loc.name.as_str(), loc.args.as_slice()),
            ("location", &["/".to_string()][..])
        );
        assert_eq!(loc.at.line, 3);
        assert_eq!(loc.block.as_ref().unwrap()[0].args, ["http://a"]);
    }

    #[test]
    fn syntax_errors_name_the_file_and_line() {
        for (text, line, what) in [
            ("a b\n}\n", 2, "lacks its"),
            ("http {\n a;\n", 1, "never closed"),
            ("a \"b;\n\n", 1, "unterminated"),
            ("}\n", 1, "unexpected \"}\""),
            ("x;\n;\n", 2, "unexpected \";\""),
        ] {
            let e = parse(text, "bad.conf").unwrap_err().to_string();
            assert!(
                e.contains(&format!("bad.conf:{line}")) && e.contains(what),
                "{text:?}: {e}"
            );
        }
    }

    fn site(text: &str) -> Nginx {
        Nginx::from_tree(PathBuf::from("t.conf"), &tree_of(text))
    }

    #[test]
    fn locations_are_matched_in_nginx_order() {
        let n = site(
            "http { server {
                location / { proxy_pass http://root; }
                location /api/ { proxy_pass http://api;
                    location ~ \\.json$ { proxy_pass http://json; } }
                location ^~ /static/ { root /srv; }
                location = /api/health { return 200; }
                location ~* \\.(png|JPG)$ { proxy_pass http://img; }
                location /static/deep/ { }
            } }",
        );
        let s = &n.sites[0];
        let at = |uri: &str| {
            let l = Nginx::find(s, uri).unwrap();
            format!("{:?} {}", l.modifier, l.pattern)
        };
        assert_eq!(at("/x"), "Prefix /");
        assert_eq!(at("/api/users/:id"), "Prefix /api/");
        assert_eq!(at("/api/health"), "Exact /api/health");
        // A regex nested in the longest prefix wins over the outer ones.
        assert_eq!(at("/api/a.json"), "Regex \\.json$");
        // Regexes override a plain prefix, case-insensitively for ~*.
        assert_eq!(at("/logo.png"), "RegexCaseless \\.(png|JPG)$");
        assert_eq!(at("/api/logo.jpg"), "RegexCaseless \\.(png|JPG)$");
        // ^~ stops the regexes; the longest prefix still wins.
        assert_eq!(at("/static/a.png"), "PrefixNoRegex /static/");
        assert_eq!(at("/static/deep/a.png"), "RegexCaseless \\.(png|JPG)$");
    }

    #[test]
    fn settings_inherit_from_outer_levels_and_default() {
        let n = site(
            "http { proxy_read_timeout 30s; proxy_set_header A a;
               server { proxy_set_header B b; proxy_set_header C c;
                 location /a/ { proxy_read_timeout 5s; proxy_pass http://x; }
                 location /b/ { proxy_pass http://x; }
               } }",
        );
        let s = &n.sites[0];
        let a = Nginx::find(s, "/a/1").unwrap();
        let b = Nginx::find(s, "/b/1").unwrap();
        let r = setting(&a.levels, "proxy_read_timeout").unwrap();
        assert_eq!((r.value.as_str(), r.here), ("5s", true));
        let r = setting(&b.levels, "proxy_read_timeout").unwrap();
        assert_eq!(
            (r.value.as_str(), r.here, r.at.unwrap().line),
            ("30s", false, 1)
        );
        let r = setting(&b.levels, "proxy_connect_timeout").unwrap();
        assert_eq!((r.value.as_str(), r.at), ("60s", None));
        // An array directive set at a level replaces all outer ones.
        let h = setting(&b.levels, "proxy_set_header").unwrap();
        assert_eq!(h.value, "B b; C c");
        assert_eq!(pass_of(a).unwrap().target, "http://x");
    }

    #[test]
    fn upstream_groups_and_pass_hosts() {
        let n = site(
            "http { upstream app { server 10.0.0.1:80 max_fails=0; server unix:/run/a.sock backup; keepalive 8; }
               server { location / { proxy_pass http://app/x; } } }",
        );
        let g = n.group_of("http://app/x").unwrap();
        assert_eq!(g.members.len(), 2);
        assert_eq!(g.members[0].param("max_fails"), Some("0"));
        assert!(g.members[1].flag("backup"));
        assert_eq!(g.keepalive.as_ref().unwrap().0, "8");
        assert_eq!(
            pass_host("unix:/run/php/php8.2-fpm.sock"),
            "/run/php/php8.2-fpm.sock"
        );
        assert_eq!(pass_host("http://unix:/run/a.sock:/p"), "/run/a.sock");
        assert_eq!(pass_host("127.0.0.1:9000"), "127.0.0.1:9000");
    }

    #[test]
    fn a_dump_splits_into_its_files() {
        let dump = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
                    # configuration file /etc/nginx/nginx.conf:\nhttp { include /etc/nginx/conf.d/*.conf; }\n\n\
                    # configuration file /etc/nginx/conf.d/a.conf:\nserver { listen 80; }\n\n";
        assert!(is_dump(dump));
        let files = split_dump(dump);
        assert_eq!(files.len(), 2);
        assert_eq!(files[1].path, PathBuf::from("/etc/nginx/conf.d/a.conf"));
        let root = load(&files[0], Some(&files)).unwrap();
        let n = Nginx::from_tree(files[0].path.clone(), &root);
        assert_eq!(n.sites[0].listen, ["80"]);
        assert_eq!(n.sites[0].at.file, "/etc/nginx/conf.d/a.conf");
    }
}
