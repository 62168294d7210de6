//! The state file (`--state`): where reading of every followed path
//! stands, so that a restart goes on exactly where the last run stopped.
//!
//! Written at most once a second while something changed, and on exit,
//! atomically: the new content goes to a temporary file beside it, which
//! is flushed to disk (`fsync`) and renamed over the old one, and the
//! directory is flushed too, so a crash (kill -9, power loss) leaves the
//! old state or the new one, never a torn one. Offsets are those of whole
//! lines already counted: after a crash, what was read since the last
//! write (at most about a second) is read and counted again; nothing is
//! skipped (at-least-once).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::tail::TailState;

/// The format's version; another one is not read.
const VERSION: u32 = 1;

/// What the state file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Per followed path, as given on the command line.
    pub files: BTreeMap<String, TailState>,
}

impl State {
    /// A state of these paths.
    pub fn new(files: BTreeMap<String, TailState>) -> State {
        State {
            version: VERSION,
            files,
        }
    }
}

/// Reads the state at `path`: `Ok(None)` when there is none yet; an
/// error for one that cannot be read or is not a state of this version.
pub fn load(path: &Path) -> io::Result<Option<State>> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let state: State = serde_json::from_slice(&text).map_err(io::Error::other)?;
    if state.version != VERSION {
        return Err(io::Error::other(format!(
            "state format version {} (this upcause reads {VERSION})",
            state.version
        )));
    }
    Ok(Some(state))
}

/// Writes `state` to `path` atomically (write, fsync, rename, fsync of
/// the directory), creating the directory if need be.
pub fn save(path: &Path, state: &State) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = dir.join(name);
    {
        let mut f = File::create(&tmp)?;
        serde_json::to_writer(&mut f, state).map_err(io::Error::other)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // The rename itself, made durable.
    File::open(&dir)?.sync_all()
}

/// The default state file of following `paths`: one per set of paths,
/// under `$XDG_STATE_HOME/upcause/` (`~/.local/state/upcause/` when that
/// is not set); `None` when neither is known.
pub fn default_path(paths: &[PathBuf]) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    // FNV-1a of the absolute paths: stable across versions and runs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in paths {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
        for b in abs.as_os_str().as_encoded_bytes().iter().chain(b"\0") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Some(base.join("upcause").join(format!("follow-{h:016x}.json")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::follow::tail::FileState;

    #[test]
    fn saved_state_reads_back_and_a_torn_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/state.json");
        assert_eq!(load(&p).unwrap(), None);
        let mut files = BTreeMap::new();
        files.insert(
            "/var/log/e.log".to_string(),
            TailState {
                current: Some(FileState {
                    dev: 1,
                    ino: 2,
                    fingerprint: "6162".into(),
                    offset: 7,
                }),
                rotated: Vec::new(),
            },
        );
        let s = State::new(files);
        save(&p, &s).unwrap();
        assert_eq!(load(&p).unwrap(), Some(s));
        assert!(!dir.path().join("sub/state.json.tmp").exists());
        fs::write(&p, b"{\"version\":1,\"fi").unwrap();
        assert!(load(&p).is_err());
        fs::write(&p, b"{\"version\":9,\"files\":{}}").unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("version 9"));
    }

    #[test]
    fn the_default_is_per_set_of_paths() {
        let a = default_path(&[PathBuf::from("/var/log/a.log")]);
        let b = default_path(&[PathBuf::from("/var/log/b.log")]);
        if let (Some(a), Some(b)) = (a, b) {
            assert_ne!(a, b);
            assert!(a.to_string_lossy().contains("upcause/follow-"));
            assert_eq!(
                Some(a),
                default_path(&[PathBuf::from("/var/log/a.log")]),
                "stable"
            );
        }
    }
}
