//! `--tz-offset PATH=±HH:MM`: which inputs' times are shifted, and by how
//! much.
//!
//! Servers log local time without a zone, and two logs of one machine may
//! be written in different zones (php-fpm or the kernel in UTC, nginx in
//! local time). A rule adds its offset to every time read from the inputs
//! it stands for, so that they line up with the others: `php-fpm.log` in
//! UTC beside nginx at +01:00 takes `php-fpm.log=+01:00`.
//!
//! `PATH` stands for inputs three ways, the most specific first: the same
//! file (compared once both are made absolute, links resolved where the
//! file exists, so `./php.log` and `/var/log/php.log` are one), then
//! every file under a folder (the deepest such folder wins), then a glob
//! (`'/var/log/php*.log'`, `*` not crossing `/`) matched against the
//! input's path as named and as made absolute. `-` is standard input.

use std::path::{Component, Path, PathBuf};

use super::source::InputSpec;

/// One `--tz-offset`: inputs named by `path`, shifted by `seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// As given.
    pub given: String,
    /// Made absolute (links resolved where it exists).
    path: PathBuf,
    /// A glob, where `given` has glob characters.
    glob: Option<glob::Pattern>,
    /// Seconds added to the times of its inputs.
    pub seconds: i64,
}

/// The `--tz-offset` rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shifts {
    rules: Vec<Rule>,
}

impl Shifts {
    /// Reads `PATH=±HH:MM` (or `±HHMM`, `±HH`, `Z`) flags.
    pub fn parse(flags: &[String]) -> Result<Shifts, String> {
        let rules = flags
            .iter()
            .map(|f| {
                let (path, off) = f.rsplit_once('=').ok_or_else(|| {
                    format!("invalid --tz-offset '{f}': use PATH=+HH:MM, e.g. php-fpm.log=+01:00")
                })?;
                if path.is_empty() {
                    return Err(format!(
                        "invalid --tz-offset '{f}': no path before '=' (PATH=+HH:MM)"
                    ));
                }
                let seconds = parse_offset(off).ok_or_else(|| {
                    format!(
                        "invalid --tz-offset '{f}': '{off}' is not an offset: use +HH:MM or -HH:MM, from -12:00 to +14:00"
                    )
                })?;
                let glob = path
                    .contains(['*', '?', '['])
                    .then(|| glob::Pattern::new(path))
                    .transpose()
                    .map_err(|e| format!("invalid --tz-offset '{f}': {e}"))?;
                Ok(Rule {
                    given: path.to_string(),
                    path: absolute(Path::new(path)),
                    glob,
                    seconds,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Shifts { rules })
    }

    /// True when no rule was given.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule for an input, if one stands for it.
    pub fn rule_for(&self, input: &InputSpec) -> Option<&Rule> {
        match input {
            InputSpec::Stdin => self.rules.iter().rev().find(|r| r.given == "-"),
            InputSpec::Path(p) | InputSpec::Listed(p) => self.rule_for_path(p),
        }
    }

    /// Seconds to add to the times of an input (0 without a rule).
    pub fn seconds_for(&self, input: &InputSpec) -> i64 {
        self.rule_for(input).map_or(0, |r| r.seconds)
    }

    /// The rule for a file at `p`.
    pub fn rule_for_path(&self, p: &Path) -> Option<&Rule> {
        if self.rules.is_empty() {
            // Without rules, no path is resolved (a dozen system calls).
            return None;
        }
        let abs = absolute(p);
        let file = self
            .rules
            .iter()
            .rev()
            .find(|r| r.glob.is_none() && r.path == abs);
        let folder = || {
            self.rules
                .iter()
                .rev()
                .filter(|r| r.glob.is_none() && r.given != "-" && abs.starts_with(&r.path))
                .max_by_key(|r| r.path.components().count())
        };
        let glob = || {
            let opts = glob::MatchOptions {
                require_literal_separator: true,
                ..Default::default()
            };
            self.rules.iter().rev().find(|r| {
                r.glob.as_ref().is_some_and(|g| {
                    g.matches_path_with(p, opts) || g.matches_path_with(&abs, opts)
                })
            })
        };
        file.or_else(folder).or_else(glob)
    }

    /// The rules that stand for none of `inputs` (a typo, most likely).
    pub fn unused<'a>(&'a self, inputs: &[InputSpec]) -> Vec<&'a Rule> {
        self.rules
            .iter()
            .filter(|r| {
                !inputs
                    .iter()
                    .any(|i| self.rule_for(i).is_some_and(|m| std::ptr::eq(m, *r)))
            })
            .collect()
    }
}

/// `+01:00`, `-05:30`, `+0100`, `+01`, `Z`, `UTC` as seconds east.
pub fn parse_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits = |d: &str| {
        (!d.is_empty() && d.len() <= 2 && d.bytes().all(|c| c.is_ascii_digit()))
            .then(|| d.parse::<i64>().ok())
            .flatten()
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) if m.len() == 2 => (digits(h)?, digits(m)?),
        Some(_) => return None,
        None if rest.len() == 4 => (digits(&rest[..2])?, digits(&rest[2..])?),
        None => (digits(rest)?, 0),
    };
    let seconds = sign * (h * 3600 + m * 60);
    (m < 60 && (-12 * 3600..=14 * 3600).contains(&seconds)).then_some(seconds)
}

/// An offset as `+HH:MM`.
pub fn format_offset(seconds: i64) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let a = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// `p` made absolute: links resolved where it exists, else joined to the
/// current folder with `.` and `..` taken out.
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+01:00"), Some(3600));
        assert_eq!(parse_offset("-05:30"), Some(-19_800));
        assert_eq!(parse_offset("+0545"), Some(20_700));
        assert_eq!(parse_offset("+2"), Some(7200));
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("+14:00"), Some(50_400));
        for bad in [
            "01:00", "+15:00", "-13:00", "+1:5", "+01:60", "+", "", "+aa:00",
        ] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        assert_eq!(format_offset(-19_800), "-05:30");
        assert_eq!(format_offset(3600), "+01:00");
    }

    #[test]
    fn file_folder_glob() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("php")).unwrap();
        for f in ["php/www.log", "php/api.log", "nginx.log", "kern.log"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let s = |p: &Path| p.display().to_string();
        let shifts = Shifts::parse(&[
            format!("{}=+01:00", s(d)),
            format!("{}=-02:00", s(&d.join("php"))),
            format!("{}=+05:30", s(&d.join("php/api.log"))),
            format!("{}/k*.log=+03:00", s(d)),
            "-=+04:00".into(),
        ])
        .unwrap();
        let at = |f: &str| shifts.seconds_for(&InputSpec::Listed(d.join(f)));
        assert_eq!(at("php/api.log"), 19_800);
        assert_eq!(at("php/www.log"), -7200);
        assert_eq!(at("nginx.log"), 3600);
        // A folder rule is more specific than a glob.
        assert_eq!(at("kern.log"), 3600);
        assert_eq!(shifts.seconds_for(&InputSpec::Stdin), 14_400);
        let only_glob = Shifts::parse(&[format!("{}/k*.log=+03:00", s(d))]).unwrap();
        assert_eq!(
            only_glob.seconds_for(&InputSpec::Path(d.join("kern.log"))),
            10_800
        );
        assert_eq!(
            only_glob.seconds_for(&InputSpec::Path(d.join("php/kern.log"))),
            0
        );
        assert_eq!(
            only_glob
                .unused(&[InputSpec::Path(d.join("nginx.log"))])
                .len(),
            1
        );
        for bad in ["php.log", "=+01:00", "a.log=+1:5", "a.log=25"] {
            assert!(Shifts::parse(&[bad.into()]).is_err(), "{bad}");
        }
    }
}
