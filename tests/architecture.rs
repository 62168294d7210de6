//! Layering checks for `src/`.
//!
//! Every top-level module of the library belongs to a stage, and the stages
//! are ordered from the shared bottom types up to the application (see
//! [`STAGES`]). Two rules hold for every file under `src/` except the crate
//! roots `src/lib.rs` and `src/main.rs`:
//!
//! 1. A file of module `M` names `crate::N...` only when `N` is `M` itself or
//!    a stage listed before `M`. Unit tests count too.
//! 2. The file-level dependency graph has no cycle. Its edges are the paths a
//!    file names (`crate::`, `super::`, `self::`, child modules and names
//!    brought in by `use`), resolved to the file that defines the module;
//!    `mod child;` declarations are not edges. Unit tests (`#[cfg(test)]`
//!    items and `tests.rs` files) are left out of this graph, since they
//!    import their parent by design.
//!
//! A top-level module missing from [`STAGES`] fails the check, so a new
//! module cannot slip in unclassified.
//!
//! The sources are read as text: a small lexer blanks out comments and
//! literals, a tokenizer and a `use`-tree parser extract the paths. Only
//! `std` is needed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::Path;

/// Stages, lowest first, with their level.
///
/// Level 0 holds the shared types: those modules may use only the level-0
/// modules listed before them. Every other module may use any stage listed
/// before it. A new top-level module must be added here.
const STAGES: &[(&str, u32)] = &[
    // Seeded generators for unit tests, built for tests only.
    ("testing", 0),
    ("exit", 0),
    ("bytes", 0),
    ("error", 0),
    ("keys", 0),
    ("event", 0),
    ("input", 1),
    ("parse", 2),
    // The servers' configuration files, read beside their logs.
    ("serverconf", 2),
    ("catalog", 3),
    ("scan", 4),
    ("order", 5),
    ("aggregate", 6),
    ("incidents", 7),
    ("report", 8),
    ("merge", 9),
    ("check", 10),
    ("render", 11),
    ("pipeline", 12),
    ("follow", 13),
    ("config", 14),
    ("app", 15),
    // The hidden surface for benches, property tests and fuzz targets:
    // re-exports from every stage.
    ("internals", 16),
];

/// Stages that a stage must not use although they are below it: `follow`
/// runs the stages itself, on live files, and must not depend on the
/// batch run's thread wiring.
const NEVER: &[(&str, &str)] = &[("follow", "pipeline")];

/// Position of a stage in [`STAGES`], lowest first.
fn rank(module: &str) -> Option<usize> {
    STAGES.iter().position(|(name, _)| *name == module)
}

/// Whether a file of stage `from` may name stage `to`.
fn may_use(from: &str, to: &str) -> bool {
    if NEVER.contains(&(from, to)) {
        return false;
    }
    match (rank(from), rank(to)) {
        (Some(from), Some(to)) => to <= from,
        _ => false,
    }
}

/// The stage order as one line, for messages.
fn stage_order() -> String {
    let names: Vec<&str> = STAGES.iter().map(|(name, _)| *name).collect();
    names.join(" < ")
}

// ---------------------------------------------------------------------------
// Lexing

fn is_ident(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// End (exclusive) of a string literal whose body starts at `i`.
fn string_end(c: &[char], mut i: usize) -> usize {
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    c.len()
}

/// End (exclusive) of a raw string literal with `hashes` hashes whose body
/// starts at `i`.
fn raw_string_end(c: &[char], mut i: usize, hashes: usize) -> usize {
    while i < c.len() {
        if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        i += 1;
    }
    c.len()
}

/// Replaces comments (line, doc and nested block comments), string literals
/// (plain, byte, C and raw) and character literals with spaces, keeping the
/// line breaks so that line numbers stay right. Lifetimes are kept.
fn blank(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let end = if ch == '/' && at(i + 1) == '/' {
            let mut j = i;
            while j < c.len() && c[j] != '\n' {
                j += 1;
            }
            j
        } else if ch == '/' && at(i + 1) == '*' {
            let (mut j, mut depth) = (i + 2, 1);
            while j < c.len() && depth > 0 {
                if c[j] == '/' && at(j + 1) == '*' {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && at(j + 1) == '/' {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            j.min(c.len())
        } else if ch == '"' {
            string_end(&c, i + 1)
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                let mut j = i + 3;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                (j + 1).min(c.len())
            } else if at(i + 2) == '\'' && at(i + 1) != '\n' {
                i + 3
            } else {
                // A lifetime or a label.
                out.push(ch);
                i += 1;
                continue;
            }
        } else if is_ident(ch) {
            let mut j = i;
            while j < c.len() && is_ident(c[j]) {
                j += 1;
            }
            let mut hashes = 0;
            while at(j + hashes) == '#' {
                hashes += 1;
            }
            let word: String = c[i..j].iter().collect();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(j + hashes) == '"' {
                raw_string_end(&c, j + hashes + 1, hashes)
            } else {
                out.push_str(&word);
                i = j;
                continue;
            }
        } else {
            out.push(ch);
            i += 1;
            continue;
        };
        for &x in &c[i..end] {
            out.push(if x == '\n' { '\n' } else { ' ' });
        }
        i = end;
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    /// `::`
    Sep,
    Punct(char),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Splits blanked source into words, `::` and single punctuation characters.
fn tokenize(text: &str) -> Vec<Token> {
    let c: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if is_ident(ch) {
            let mut j = i;
            while j < c.len() && is_ident(c[j]) {
                j += 1;
            }
            let mut word: String = c[i..j].iter().collect();
            if word == "r" && c.get(j) == Some(&'#') && c.get(j + 1).is_some_and(|&x| is_ident(x)) {
                // A raw identifier, `r#name`.
                let mut k = j + 1;
                while k < c.len() && is_ident(c[k]) {
                    k += 1;
                }
                word = c[j + 1..k].iter().collect();
                j = k;
            }
            toks.push(Token {
                tok: Tok::Word(word),
                line,
            });
            i = j;
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            toks.push(Token {
                tok: Tok::Sep,
                line,
            });
            i += 2;
        } else {
            toks.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    toks
}

struct Toks(Vec<Token>);

impl Toks {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn word(&self, i: usize) -> Option<&str> {
        match self.0.get(i) {
            Some(Token {
                tok: Tok::Word(w), ..
            }) => Some(w),
            _ => None,
        }
    }

    fn is(&self, i: usize, p: char) -> bool {
        matches!(self.0.get(i), Some(Token { tok: Tok::Punct(q), .. }) if *q == p)
    }

    fn sep(&self, i: usize) -> bool {
        matches!(self.0.get(i), Some(Token { tok: Tok::Sep, .. }))
    }

    fn line(&self, i: usize) -> usize {
        self.0.get(i).map_or(0, |t| t.line)
    }

    /// Index of the bracket closing the one opened at `open`.
    fn matching(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for i in open..self.len() {
            if self.is(i, '(') || self.is(i, '[') || self.is(i, '{') {
                depth += 1;
            } else if self.is(i, ')') || self.is(i, ']') || self.is(i, '}') {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
        }
        self.len().saturating_sub(1)
    }

    /// Index of the last token of the item starting at `start`: its `;` or
    /// the `}` closing its body.
    fn item_end(&self, start: usize) -> usize {
        let mut j = start;
        while j < self.len() {
            if self.is(j, '(') || self.is(j, '[') {
                j = self.matching(j) + 1;
            } else if self.is(j, ';') {
                return j;
            } else if self.is(j, '{') {
                return self.matching(j);
            } else {
                j += 1;
            }
        }
        self.len().saturating_sub(1)
    }

    /// Whether the attribute body `from..to` is a `cfg` that needs `test`.
    fn is_test_cfg(&self, from: usize, to: usize) -> bool {
        let words: Vec<&str> = (from..to).filter_map(|i| self.word(i)).collect();
        words.first() == Some(&"cfg") && words.contains(&"test") && !words.contains(&"not")
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// One path named in a file, e.g. `crate::scan::Scanner` or `super::*`.
#[derive(Clone, Debug, PartialEq)]
struct Ref {
    line: usize,
    /// The segments as written, root included: `["crate", "scan", "Scanner"]`.
    path: Vec<String>,
    /// Inline modules (`mod name { ... }`) around the path within the file.
    scope: Vec<String>,
    /// Inside a `#[cfg(test)]` item.
    test: bool,
    /// Part of a `use` item.
    in_use: bool,
    /// The name a `use` leaf brings into scope.
    binds: Option<String>,
    /// A `use ...::*` leaf.
    glob: bool,
    /// Followed by `!`: a macro.
    macro_call: bool,
}

impl Ref {
    fn text(&self) -> String {
        let path = self.path.join("::");
        if self.glob { path + "::*" } else { path }
    }
}

/// A `mod name;` or `mod name { ... }` at the top of a file.
#[derive(Clone, Debug, PartialEq)]
struct ModDecl {
    name: String,
    test: bool,
}

#[derive(Debug, Default)]
struct Parsed {
    refs: Vec<Ref>,
    mods: Vec<ModDecl>,
    /// The file starts with `#![cfg(test)]`.
    whole_test: bool,
}

struct Leaf {
    path: Vec<String>,
    line: usize,
    binds: Option<String>,
    glob: bool,
    macro_call: bool,
}

/// Parses the path or `use` tree at `i` below `prefix`, pushing one leaf per
/// path it names, and returns the index after it.
fn tree(t: &Toks, in_use: &[bool], i: usize, prefix: &[String], out: &mut Vec<Leaf>) -> usize {
    if t.is(i, '*') {
        out.push(Leaf {
            path: prefix.to_vec(),
            line: t.line(i),
            binds: None,
            glob: true,
            macro_call: false,
        });
        return i + 1;
    }
    if t.is(i, '{') {
        let mut j = i + 1;
        while j < t.len() && !t.is(j, '}') {
            let next = tree(t, in_use, j, prefix, out);
            j = if next > j { next } else { j + 1 };
        }
        return j + 1;
    }
    let Some(word) = t.word(i) else {
        return i;
    };
    let mut path = prefix.to_vec();
    if word != "self" || prefix.is_empty() {
        path.push(word.to_string());
    }
    if t.sep(i + 1) && (t.word(i + 2).is_some() || t.is(i + 2, '{') || t.is(i + 2, '*')) {
        return tree(t, in_use, i + 2, &path, out);
    }
    let mut j = i + 1;
    let mut binds = path
        .last()
        .filter(|s| !matches!(s.as_str(), "crate" | "self" | "super"))
        .cloned();
    if in_use[i]
        && t.word(j) == Some("as")
        && let Some(alias) = t.word(j + 1)
    {
        binds = (alias != "_").then(|| alias.to_string());
        j += 2;
    }
    let macro_call = t.is(j, '!');
    out.push(Leaf {
        path,
        line: t.line(i),
        binds,
        glob: false,
        macro_call,
    });
    j
}

/// Extracts the paths and module declarations of one source file.
fn parse(src: &str) -> Parsed {
    let t = Toks(tokenize(&blank(src)));
    let n = t.len();

    // Items under `#[cfg(test)]`.
    let mut test = vec![false; n];
    let mut whole_test = false;
    let mut i = 0;
    while i < n {
        if t.is(i, '#') {
            let inner = t.is(i + 1, '!');
            let open = if inner { i + 2 } else { i + 1 };
            if t.is(open, '[') {
                let close = t.matching(open);
                if t.is_test_cfg(open + 1, close) {
                    if inner {
                        whole_test = true;
                    } else {
                        let mut k = close + 1;
                        while t.is(k, '#') && t.is(k + 1, '[') {
                            k = t.matching(k + 1) + 1;
                        }
                        let end = t.item_end(k).max(i);
                        test[i..=end.min(n - 1)].fill(true);
                    }
                }
                i = close + 1;
                continue;
            }
        }
        i += 1;
    }

    // Inline modules, module declarations and `use` items.
    let mut scopes: Vec<Vec<String>> = vec![Vec::new()];
    let mut scope_of = vec![0usize; n];
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut mods = Vec::new();
    let mut in_use = vec![false; n];
    let mut inside_use = false;
    for i in 0..n {
        if t.word(i) == Some("mod")
            && let Some(name) = t.word(i + 1)
            && stack.is_empty()
            && (t.is(i + 2, ';') || t.is(i + 2, '{'))
        {
            mods.push(ModDecl {
                name: name.to_string(),
                test: test[i] || whole_test,
            });
        }
        if t.is(i, '{') {
            depth += 1;
            if i >= 2
                && t.word(i - 2) == Some("mod")
                && let Some(name) = t.word(i - 1)
            {
                stack.push((name.to_string(), depth));
                scopes.push(stack.iter().map(|(name, _)| name.clone()).collect());
            }
        }
        scope_of[i] = scopes.len() - 1;
        if t.is(i, '}') {
            if stack.last().is_some_and(|(_, d)| *d == depth) {
                stack.pop();
                scopes.push(stack.iter().map(|(name, _)| name.clone()).collect());
            }
            depth = depth.saturating_sub(1);
        }
        if t.word(i) == Some("use") {
            inside_use = true;
        }
        in_use[i] = inside_use;
        if t.is(i, ';') {
            inside_use = false;
        }
    }

    // Paths: a word followed by `::`, not itself preceded by `::`.
    let mut refs = Vec::new();
    let mut i = 0;
    while i < n {
        if t.word(i).is_some() && t.sep(i + 1) && !(i > 0 && t.sep(i - 1)) {
            let mut leaves = Vec::new();
            let end = tree(&t, &in_use, i, &[], &mut leaves);
            for leaf in leaves {
                refs.push(Ref {
                    line: leaf.line,
                    path: leaf.path,
                    scope: scopes[scope_of[i]].clone(),
                    test: test[i] || whole_test,
                    in_use: in_use[i],
                    binds: leaf.binds,
                    glob: leaf.glob,
                    macro_call: leaf.macro_call,
                });
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    Parsed {
        refs,
        mods,
        whole_test,
    }
}

// ---------------------------------------------------------------------------
// The crate layout

/// The module path of a file: `src/x/y.rs` and `src/x/y/mod.rs` are `x::y`,
/// `src/lib.rs` is the crate root.
fn module_of(rel: &str) -> Vec<String> {
    let inner = rel.strip_prefix("src/").unwrap_or(rel);
    let inner = inner.strip_suffix(".rs").unwrap_or(inner);
    let mut parts: Vec<String> = inner.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod") || parts == ["lib"] {
        parts.pop();
    }
    parts
}

struct Unit {
    rel: String,
    module: Vec<String>,
    parsed: Parsed,
    /// A `tests.rs` file or a module declared under `#[cfg(test)]`.
    test_file: bool,
}

type Aliases = BTreeMap<(Vec<String>, String), Vec<String>>;

struct Layout {
    units: Vec<Unit>,
    modules: BTreeMap<Vec<String>, usize>,
    /// Names re-exported at the crate root by `src/lib.rs`, with their path.
    reexports: BTreeMap<String, Vec<String>>,
    /// Top-level modules: those with files and those `src/lib.rs` declares.
    top: BTreeSet<String>,
}

impl Layout {
    /// Reads every `.rs` file under `src/`.
    fn read() -> Layout {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Vec::new();
        collect(&root.join("src"), root, &mut sources);
        assert!(
            !sources.is_empty(),
            "no .rs files under {}/src",
            root.display()
        );
        Layout::new(sources)
    }

    /// Builds the layout from `(path relative to the package, text)` pairs.
    fn new(sources: Vec<(String, String)>) -> Layout {
        let mut lib = Parsed::default();
        let mut units = Vec::new();
        for (rel, text) in sources {
            if rel == "src/main.rs" || rel.starts_with("src/bin/") {
                continue;
            }
            let parsed = parse(&text);
            if rel == "src/lib.rs" {
                lib = parsed;
                continue;
            }
            units.push(Unit {
                module: module_of(&rel),
                rel,
                parsed,
                test_file: false,
            });
        }
        units.retain(|u| !u.module.is_empty());
        units.sort_by(|a, b| a.rel.cmp(&b.rel));

        let mut modules = BTreeMap::new();
        for (idx, u) in units.iter().enumerate() {
            modules.entry(u.module.clone()).or_insert(idx);
        }
        let mut top: BTreeSet<String> = units.iter().map(|u| u.module[0].clone()).collect();
        top.extend(lib.mods.iter().map(|m| m.name.clone()));

        // Test files: `tests.rs`, `#![cfg(test)]`, `#[cfg(test)] mod name;`
        // in the parent, and everything below those.
        let declared_test = |module: &[String]| {
            let (name, parent) = module.split_last().expect("a module path");
            let decls = if parent.is_empty() {
                Some(&lib.mods)
            } else {
                modules.get(parent).map(|&p: &usize| &units[p].parsed.mods)
            };
            decls.is_some_and(|d| d.iter().any(|m| m.test && m.name == *name))
        };
        let direct: Vec<bool> = units
            .iter()
            .map(|u| {
                u.rel.ends_with("/tests.rs") || u.parsed.whole_test || declared_test(&u.module)
            })
            .collect();
        let test_modules: Vec<Vec<String>> = units
            .iter()
            .zip(&direct)
            .filter(|(_, t)| **t)
            .map(|(u, _)| u.module.clone())
            .collect();
        for u in &mut units {
            u.test_file = test_modules.iter().any(|m| u.module.starts_with(m));
        }

        let mut reexports = BTreeMap::new();
        for r in &lib.refs {
            let Some(name) = r.binds.as_ref().filter(|_| r.in_use && !r.glob) else {
                continue;
            };
            let path = match r.path[0].as_str() {
                "crate" | "self" => r.path[1..].to_vec(),
                first if top.contains(first) => r.path.clone(),
                _ => continue,
            };
            if !path.is_empty() {
                reexports.insert(name.clone(), path);
            }
        }
        Layout {
            units,
            modules,
            reexports,
            top,
        }
    }

    /// The top-level module a `crate::` path (without `crate`) lands in.
    fn stage_of(&self, path: &[String]) -> Option<String> {
        let first = path.first()?;
        if self.top.contains(first) {
            return Some(first.clone());
        }
        let target = self.reexports.get(first)?.first()?;
        self.top.contains(target).then(|| target.clone())
    }

    /// The path from the crate root that `r` names in `unit`, if it is a path
    /// into this crate.
    fn absolute(&self, unit: &Unit, r: &Ref, aliases: &Aliases) -> Option<Vec<String>> {
        let mut here = unit.module.clone();
        here.extend(r.scope.iter().cloned());
        let first = r.path.first()?;
        match first.as_str() {
            "crate" => Some(r.path[1..].to_vec()),
            "self" => Some([here.as_slice(), &r.path[1..]].concat()),
            "super" => {
                let ups = r.path.iter().take_while(|s| *s == "super").count();
                let base = here.len().checked_sub(ups)?;
                Some([&here[..base], &r.path[ups..]].concat())
            }
            name => {
                let mut child = here.clone();
                child.push(name.to_string());
                if self.modules.contains_key(&child) {
                    Some([here.as_slice(), &r.path].concat())
                } else {
                    let target = aliases.get(&(r.scope.clone(), name.to_string()))?;
                    Some([target.as_slice(), &r.path[1..]].concat())
                }
            }
        }
    }

    /// Names brought into scope by the `use` items of `unit` that point into
    /// this crate, keyed by inline module and name.
    fn aliases(&self, unit: &Unit) -> Aliases {
        let mut aliases = Aliases::new();
        // A few rounds, so that `use a::b; use b::c;` resolves too.
        for _ in 0..3 {
            for r in unit.parsed.refs.iter().filter(|r| r.in_use && !r.glob) {
                let Some(name) = &r.binds else {
                    continue;
                };
                if let Some(path) = self.absolute(unit, r, &aliases) {
                    aliases.insert((r.scope.clone(), name.clone()), path);
                }
            }
        }
        aliases
    }

    /// The file defining the longest module prefix of `path`.
    fn longest(&self, path: &[String]) -> Option<usize> {
        (1..=path.len())
            .rev()
            .find_map(|k| self.modules.get(&path[..k]).copied())
    }

    /// The file a path from the crate root resolves to, following the
    /// re-exports of `src/lib.rs`.
    fn resolve(&self, path: &[String]) -> Option<usize> {
        self.longest(path).or_else(|| {
            let target = self.reexports.get(path.first()?)?;
            self.longest(&[target.as_slice(), &path[1..]].concat())
        })
    }

    /// Rule 1 failures.
    fn layering(&self) -> Vec<String> {
        let mut upward: BTreeMap<(&str, String), Vec<usize>> = BTreeMap::new();
        let mut problems = Vec::new();
        for u in &self.units {
            let from = &u.module[0];
            if rank(from).is_none() {
                continue; // Reported by `every_module_has_a_stage`.
            }
            for r in &u.parsed.refs {
                if r.path[0] != "crate" || r.path.len() < 2 {
                    continue;
                }
                match self.stage_of(&r.path[1..]) {
                    Some(to) if rank(&to).is_none() || may_use(from, &to) => {}
                    Some(to) => upward.entry((&u.rel, to)).or_default().push(r.line),
                    None if r.macro_call && r.path.len() == 2 => {}
                    None => problems.push(format!(
                        "{}:{} names {}, which is neither a module nor re-exported by \
                         src/lib.rs, so it has no stage",
                        u.rel,
                        r.line,
                        r.text()
                    )),
                }
            }
        }
        for ((rel, to), mut lines) in upward {
            lines.sort_unstable();
            lines.dedup();
            let from = &module_of(rel)[0];
            let both_bottom = [from.as_str(), to.as_str()]
                .iter()
                .all(|m| rank(m).is_some_and(|r| STAGES[r].1 == 0));
            let note = if both_bottom {
                "; level-0 modules may use only those listed before them"
            } else {
                ""
            };
            let shown: Vec<String> = lines.iter().take(12).map(|l| l.to_string()).collect();
            let more = if lines.len() > 12 { ", ..." } else { "" };
            let which = if lines.len() == 1 { "line" } else { "lines" };
            problems.push(format!(
                "{rel} imports crate::{to} (stage `{to}` is above `{from}`{note}) at {which} {}{more}",
                shown.join(", ")
            ));
        }
        problems.sort();
        problems
    }

    /// Top-level modules missing from [`STAGES`].
    fn unknown_modules(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for name in &self.top {
            if rank(name).is_some() {
                continue;
            }
            let file = match self.modules.get(std::slice::from_ref(name)) {
                Some(&i) => self.units[i].rel.clone(),
                None if self.units.iter().any(|u| u.module[0] == *name) => format!("src/{name}/"),
                None => "declared in src/lib.rs".to_string(),
            };
            let users: BTreeSet<&str> = self
                .units
                .iter()
                .filter(|u| u.module[0] != *name)
                .filter(|u| {
                    u.parsed.refs.iter().any(|r| {
                        r.path[0] == "crate" && self.stage_of(&r.path[1..]).as_ref() == Some(name)
                    })
                })
                .map(|u| u.rel.as_str())
                .collect();
            let used = if users.is_empty() {
                String::new()
            } else {
                format!(
                    "; used by {}",
                    users.into_iter().collect::<Vec<_>>().join(", ")
                )
            };
            problems.push(format!(
                "module `{name}` ({file}) has no stage: add it to STAGES in \
                 tests/architecture.rs at the level it belongs to, or move it into a \
                 staged module{used}"
            ));
        }
        problems
    }

    /// The file graph of Rule 2, with the first path behind each edge.
    fn graph(&self) -> BTreeMap<usize, BTreeMap<usize, (usize, String)>> {
        let mut graph: BTreeMap<usize, BTreeMap<usize, (usize, String)>> = BTreeMap::new();
        for (idx, u) in self.units.iter().enumerate() {
            if u.test_file {
                continue;
            }
            let aliases = self.aliases(u);
            for r in u.parsed.refs.iter().filter(|r| !r.test) {
                let Some(path) = self.absolute(u, r, &aliases) else {
                    continue;
                };
                let Some(to) = self.resolve(&path) else {
                    continue;
                };
                if to != idx && !self.units[to].test_file {
                    graph
                        .entry(idx)
                        .or_default()
                        .entry(to)
                        .or_insert_with(|| (r.line, r.text()));
                }
            }
        }
        graph
    }

    /// Rule 2 failures: one cycle for each group of files that depend on
    /// each other.
    fn cycles(&self) -> Vec<String> {
        let graph = self.graph();
        let edges: BTreeMap<usize, BTreeSet<usize>> = graph
            .iter()
            .map(|(from, to)| (*from, to.keys().copied().collect()))
            .collect();
        find_cycles(self.units.len(), &edges)
            .into_iter()
            .map(|(cycle, group)| {
                let rel = |i: &usize| self.units[*i].rel.as_str();
                let files: Vec<&str> = cycle.iter().map(rel).collect();
                let mut text = format!("cycle: {}", files.join(" -> "));
                for pair in cycle.windows(2) {
                    let (line, path) = &graph[&pair[0]][&pair[1]];
                    text.push_str(&format!(
                        "\n      {}:{line} uses {path} (in {})",
                        self.units[pair[0]].rel, self.units[pair[1]].rel
                    ));
                }
                if group.len() + 1 > cycle.len() {
                    let all: Vec<&str> = group.iter().map(rel).collect();
                    text.push_str(&format!(
                        "\n      ({} files depend on each other here: {})",
                        group.len(),
                        all.join(", ")
                    ));
                }
                text
            })
            .collect()
    }
}

/// Collects `(path relative to root, text)` for every `.rs` file under `dir`.
fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            // A file removed since the directory was listed is skipped.
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push((rel.to_string_lossy().replace('\\', "/"), text));
        }
    }
}

/// Strongly connected components of a graph on `0..n` (Tarjan).
fn components(n: usize, edges: &BTreeMap<usize, BTreeSet<usize>>) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a BTreeMap<usize, BTreeSet<usize>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let successors: Vec<usize> = s.edges.get(&v).into_iter().flatten().copied().collect();
        for w in successors {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if s.index[v] == Some(s.low[v]) {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort_unstable();
            s.out.push(component);
        }
    }
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// For every strongly connected component with more than one node: one
/// shortest cycle through its lowest node, as `[a, b, ..., a]`, and the
/// component's nodes.
fn find_cycles(
    n: usize,
    edges: &BTreeMap<usize, BTreeSet<usize>>,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut cycles: Vec<(Vec<usize>, Vec<usize>)> = components(n, edges)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|component| {
            let start = component[0];
            let inside: BTreeSet<usize> = component.iter().copied().collect();
            let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
            let mut queue = VecDeque::from([start]);
            while let Some(u) = queue.pop_front() {
                for &v in edges.get(&u).into_iter().flatten() {
                    if v == start {
                        let mut cycle = vec![u];
                        let mut x = u;
                        while x != start {
                            x = prev[&x];
                            cycle.push(x);
                        }
                        cycle.reverse();
                        cycle.push(start);
                        return (cycle, component);
                    }
                    if inside.contains(&v) && !prev.contains_key(&v) {
                        prev.insert(v, u);
                        queue.push_back(v);
                    }
                }
            }
            unreachable!("a strongly connected component has a cycle through every node")
        })
        .collect();
    cycles.sort();
    cycles
}

fn fail_if_any(problems: &[String], what: &str) {
    if !problems.is_empty() {
        panic!(
            "{what} ({} found):\n  - {}\n",
            problems.len(),
            problems.join("\n  - ")
        );
    }
}

// ---------------------------------------------------------------------------
// The checks

/// The files where `unsafe` code may be, each block with its SAFETY
/// argument: the SIMD loads of the byte searches, and files read in place
/// with the SIGBUS guard that keeps a truncation from ending the run. The
/// crate denies `unsafe_code` everywhere else.
const AUDITED_UNSAFE: &[&str] = &["src/bytes.rs", "src/input/mapped.rs"];

#[test]
fn unsafe_code_is_only_in_the_audited_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    collect(&root.join("src"), root, &mut sources);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (path, text) in &sources {
        let code = blank(text);
        let blocks = code
            .match_indices("unsafe")
            .filter(|(i, _)| {
                let before = code[..*i].chars().next_back();
                let after = code[i + "unsafe".len()..].chars().next();
                !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
            })
            .count();
        if blocks == 0 {
            continue;
        }
        seen.insert(path.as_str());
        if !AUDITED_UNSAFE.contains(&path.as_str()) {
            problems.push(format!("{path}: {blocks} unsafe"));
            continue;
        }
        // Every unsafe block or impl says why it is sound just above.
        let lines: Vec<&str> = code.lines().collect();
        let raw: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let opens = line.contains("unsafe {") || line.trim_start().starts_with("unsafe impl");
            if !opens {
                continue;
            }
            let argued = raw[..n]
                .iter()
                .rev()
                .take(12)
                .take_while(|l| !l.trim().is_empty())
                .any(|l| l.contains("SAFETY"));
            if !argued {
                problems.push(format!(
                    "{path}:{}: unsafe without a SAFETY argument above it",
                    n + 1
                ));
            }
        }
    }
    fail_if_any(&problems, "unsafe code outside the audited files");
    assert!(
        seen.contains("src/input/mapped.rs"),
        "the audit list names files that hold the unsafe code: {seen:?}"
    );
}

#[test]
fn every_module_has_a_stage() {
    let mut seen = BTreeSet::new();
    for (name, _) in STAGES {
        assert!(
            seen.insert(name),
            "stage `{name}` is listed twice in STAGES"
        );
    }
    let problems = Layout::read().unknown_modules();
    fail_if_any(
        &problems,
        &format!(
            "top-level modules outside the stage order (lowest first: {})",
            stage_order()
        ),
    );
}

#[test]
fn stages_only_import_lower_stages() {
    let problems = Layout::read().layering();
    fail_if_any(
        &problems,
        &format!(
            "files name a stage above their own; a stage may use only itself and the stages \
             before it (lowest first: {})",
            stage_order()
        ),
    );
}

#[test]
fn files_do_not_depend_on_each_other_in_a_cycle() {
    let problems = Layout::read().cycles();
    fail_if_any(
        &problems,
        "files depend on each other in a cycle (unit tests left out); move what both sides \
         need into a file below them",
    );
}

// ---------------------------------------------------------------------------
// Tests of the checker itself

/// The paths of `src` that start at `crate`, without the root.
fn crate_paths(src: &str) -> Vec<String> {
    parse(src)
        .refs
        .iter()
        .filter(|r| r.path[0] == "crate")
        .map(|r| r.text()["crate::".len()..].to_string())
        .collect()
}

#[test]
fn parser_reads_grouped_imports_and_skips_comments_and_strings() {
    let src = r##"
//! Only in docs: [`crate::scan`].
use crate::{error::Error, parse::{self, Head as H}, keys::*};
/* crate::pipeline::run() /* nested crate::app */ still a comment crate::follow */
/// Calls [`crate::report::Report`].
fn f() -> &'static str {
    let _quote = '"';
    let _tick = '\'';
    crate::bytes::find(b"crate::merge", r"crate::render");
    let _s = "crate::config \" crate::check";
    let _r = r#"crate::order " crate::input"#;
    crate::event::Event::<u8>::new(x as u8) // crate::aggregate
}
"##;
    assert_eq!(
        crate_paths(src),
        [
            "error::Error",
            "parse",
            "parse::Head",
            "keys::*",
            "bytes::find",
            "event::Event"
        ]
    );
    let refs = parse(src).refs;
    let binds: Vec<Option<&str>> = refs.iter().map(|r| r.binds.as_deref()).collect();
    assert_eq!(&binds[..4], [Some("Error"), Some("parse"), Some("H"), None]);
    assert_eq!(refs[0].line, 3);
    assert_eq!(refs.last().unwrap().line, 12);
    assert!(refs[..4].iter().all(|r| r.in_use));
    assert!(!refs[4].in_use);
}

#[test]
fn parser_keeps_lifetimes_and_skips_char_literals() {
    let src = "fn g<'a>(x: &'a u8) -> char {\n    let _b = b'\\\\';\n    \
               crate::input::read(x);\n    r#type::f();\n    '}'\n}\nmod after { \
               use crate::scan::Scanner; }\n";
    let parsed = parse(src);
    let paths: Vec<String> = parsed.refs.iter().map(Ref::text).collect();
    assert_eq!(
        paths,
        ["crate::input::read", "type::f", "crate::scan::Scanner"]
    );
    // The `'}'` literal does not close the function, so `after` is a
    // top-level inline module.
    assert_eq!(parsed.refs[2].scope, ["after"]);
    assert_eq!(parsed.refs[0].line, 3);
}

#[test]
fn parser_marks_cfg_test_items_and_inline_modules() {
    let src = "use super::Parent;\n\
               mod inner { use super::Sibling; }\n\
               #[cfg(test)]\n\
               #[allow(unused)]\n\
               mod tests {\n    use super::*;\n    fn t() { crate::app::run(); }\n}\n\
               #[cfg(test)]\n\
               mod more;\n\
               #[cfg(not(test))]\n\
               fn after() { crate::scan::x(); log::info!(); }\n";
    let parsed = parse(src);
    let seen: Vec<(String, Vec<String>, bool)> = parsed
        .refs
        .iter()
        .map(|r| (r.text(), r.scope.clone(), r.test))
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        seen,
        [
            ("super::Parent".to_string(), vec![], false),
            ("super::Sibling".to_string(), strings(&["inner"]), false),
            ("super::*".to_string(), strings(&["tests"]), true),
            ("crate::app::run".to_string(), strings(&["tests"]), true),
            ("crate::scan::x".to_string(), vec![], false),
            ("log::info".to_string(), vec![], false),
        ]
    );
    assert!(parsed.refs[5].macro_call);
    let mods: Vec<(&str, bool)> = parsed
        .mods
        .iter()
        .map(|m| (m.name.as_str(), m.test))
        .collect();
    assert_eq!(mods, [("inner", false), ("tests", true), ("more", true)]);
}

fn sample() -> Layout {
    let files = [
        (
            "src/lib.rs",
            "pub mod error;\npub mod catalog;\npub mod app;\npub mod widget;\npub use error::Error;\n",
        ),
        (
            "src/error.rs",
            "use crate::catalog::Rule;\npub struct Error;\n",
        ),
        (
            "src/catalog/mod.rs",
            "mod rules;\n#[cfg(test)]\nmod tests;\npub use rules::Rule;\npub fn f() {}\n",
        ),
        (
            "src/catalog/rules.rs",
            "use super::f;\npub struct Rule;\n#[cfg(test)]\nmod tests { use super::super::*; }\n",
        ),
        (
            "src/catalog/tests.rs",
            "use super::*;\nuse crate::app::main;\n",
        ),
        (
            "src/app.rs",
            "use crate::catalog as cat;\n\
             pub fn main() -> crate::Error { cat::rules::Rule; crate::widget::w(); todo!() }\n",
        ),
        ("src/widget.rs", "pub fn w() {}\n"),
        ("src/main.rs", "fn main() { upcause::app::main() }\n"),
    ];
    Layout::new(
        files
            .iter()
            .map(|(rel, text)| (rel.to_string(), text.to_string()))
            .collect(),
    )
}

#[test]
fn checker_resolves_paths_to_files() {
    let layout = sample();
    let rel = |i: &usize| layout.units[*i].rel.as_str();
    let edges: BTreeSet<(&str, &str)> = layout
        .graph()
        .iter()
        .flat_map(|(from, to)| to.keys().map(move |t| (rel(from), rel(t))))
        .collect();
    let expected: BTreeSet<(&str, &str)> = [
        ("src/app.rs", "src/catalog/mod.rs"),
        ("src/app.rs", "src/catalog/rules.rs"),
        ("src/app.rs", "src/error.rs"),
        ("src/app.rs", "src/widget.rs"),
        ("src/catalog/mod.rs", "src/catalog/rules.rs"),
        ("src/catalog/rules.rs", "src/catalog/mod.rs"),
        ("src/error.rs", "src/catalog/mod.rs"),
    ]
    .into_iter()
    .collect();
    assert_eq!(edges, expected);
    assert!(
        layout
            .units
            .iter()
            .any(|u| u.rel == "src/catalog/tests.rs" && u.test_file)
    );
}

#[test]
fn checker_reports_each_rule() {
    let layout = sample();
    assert_eq!(
        layout.layering(),
        [
            "src/catalog/tests.rs imports crate::app (stage `app` is above `catalog`) at line 2",
            "src/error.rs imports crate::catalog (stage `catalog` is above `error`) at line 1",
        ]
    );
    let unknown = layout.unknown_modules();
    assert_eq!(unknown.len(), 1);
    assert!(unknown[0].starts_with("module `widget` (src/widget.rs) has no stage"));
    assert!(unknown[0].ends_with("; used by src/app.rs"));
    let cycles = layout.cycles();
    assert_eq!(cycles.len(), 1);
    assert!(
        cycles[0].starts_with(
            "cycle: src/catalog/mod.rs -> src/catalog/rules.rs -> src/catalog/mod.rs\n"
        )
    );
    assert!(cycles[0].contains("src/catalog/mod.rs:4 uses rules::Rule"));
    assert!(cycles[0].contains("src/catalog/rules.rs:1 uses super::f"));
}

#[test]
fn stage_order_puts_level_zero_first() {
    assert!(may_use("error", "exit"));
    assert!(may_use("error", "bytes"));
    assert!(!may_use("exit", "error"));
    assert!(may_use("event", "keys"));
    assert!(!may_use("scan", "pipeline"));
    assert!(may_use("pipeline", "scan"));
    assert!(may_use("scan", "scan"));
    assert!(!may_use("scan", "correlate"));
    assert!(!may_use("follow", "pipeline"));
    assert!(!may_use("follow", "app"));
    assert!(may_use("follow", "render"));
    let bottom: Vec<&str> = STAGES
        .iter()
        .filter(|(_, level)| *level == 0)
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(
        bottom,
        ["testing", "exit", "bytes", "error", "keys", "event"]
    );
}

#[test]
fn cycles_are_found_once_per_group() {
    let edges: BTreeMap<usize, BTreeSet<usize>> = [
        (0, vec![1]),
        (1, vec![2]),
        (2, vec![0, 3]),
        (3, vec![4]),
        (4, vec![3, 5]),
    ]
    .into_iter()
    .map(|(from, to)| (from, to.into_iter().collect()))
    .collect();
    assert_eq!(
        find_cycles(6, &edges),
        [
            (vec![0, 1, 2, 0], vec![0, 1, 2]),
            (vec![3, 4, 3], vec![3, 4])
        ]
    );
    assert!(find_cycles(3, &BTreeMap::from([(0, BTreeSet::from([1]))])).is_empty());
}
