//! Configuration files as read: their text, places in them, and the files
//! an include pattern names.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where a directive is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// The file, as the configuration names it.
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

impl Origin {
    /// A place in `file`.
    pub fn new(file: &str, line: u32) -> Origin {
        Origin {
            file: file.to_string(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A setting's value where it applies, and where that value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The directive or parameter (`proxy_read_timeout`, `ProxyTimeout`,
    /// `timeout`).
    pub name: String,
    /// Its value (arguments joined by spaces).
    pub value: String,
    /// Where it is set; `None` for the server's default.
    pub at: Option<Origin>,
    /// Set in this very block, virtual host or rule (not inherited).
    pub here: bool,
}

/// A configuration file's path and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Its path.
    pub path: PathBuf,
    /// Its text (invalid UTF-8 replaced).
    pub text: String,
}

impl SourceFile {
    /// Reads a file.
    pub fn read(path: &Path) -> Result<SourceFile> {
        let bytes = std::fs::read(path).map_err(|e| Error::Input {
            path: path.display().to_string(),
            source: e,
        })?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// The files an include pattern names, in name order (as nginx and
/// php-fpm sort glob matches): from the dump when reading `nginx -T`
/// output, else from the disk, relative paths against `base`. A pattern
/// without wildcards must name a file; a glob may match none.
pub fn read_included(
    pattern: &str,
    base: &Path,
    dump: Option<&[SourceFile]>,
    at: &Origin,
) -> Result<Vec<SourceFile>> {
    let full = if Path::new(pattern).is_absolute() {
        PathBuf::from(pattern)
    } else {
        base.join(pattern)
    };
    let is_glob = pattern.contains(['*', '?', '[']);
    let full_text = full.display().to_string();
    let glob = glob::Pattern::new(&full_text)
        .map_err(|e| Error::Usage(format!("{at}: bad include pattern {pattern:?}: {e}")))?;
    let mut out: Vec<SourceFile> = match dump {
        Some(files) => files
            .iter()
            .filter(|f| glob.matches_path(&f.path) || f.path == full)
            .cloned()
            .collect(),
        None => {
            let paths = glob::glob(&full_text)
                .map_err(|e| Error::Usage(format!("{at}: bad include pattern {pattern:?}: {e}")))?;
            let mut found = Vec::new();
            for p in paths.flatten() {
                if p.is_file() {
                    found.push(SourceFile::read(&p)?);
                }
            }
            found
        }
    };
    out.sort_by(|a, b| a.path.cmp(&b.path));
    if out.is_empty() && !is_glob {
        return Err(Error::Usage(format!(
            "{at}: include {pattern:?}: no such file ({})",
            full.display()
        )));
    }
    Ok(out)
}
