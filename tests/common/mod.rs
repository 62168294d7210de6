//! What the integration tests share: the binary with a clean environment,
//! the repository root, JSON out of a run, a cause out of a report, a free
//! port. Each test file uses what it needs (`mod common;`).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The built `upcause`, with the environment that changes its output
/// (colour, CI detection, terminal width) removed.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_upcause"));
    c.env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("COLUMNS");
    c
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under fixtures/.
pub fn fixture(p: &str) -> PathBuf {
    root().join("fixtures").join(p)
}

/// A run's stdout as JSON; the panic shows both streams.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A run's stdout, lossily.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A run's stderr, lossily.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The cause `id` of a report.
pub fn cause<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == id)
        .unwrap_or_else(|| panic!("no cause {id} in {report:#}"))
}

/// A port on 127.0.0.1 nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
