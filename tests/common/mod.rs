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

/// A child started with its stdout read line by line on a thread (so a
/// test waits for a line with a deadline) and its stderr gathered as it
/// comes (so a test sees what was said before the child ends).
pub struct Piped {
    /// The child.
    pub child: std::process::Child,
    /// Its stdout, a line at a time.
    pub lines: std::sync::mpsc::Receiver<String>,
    /// Its stderr so far.
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts `cmd` with stdin closed and stdout and stderr read as [`Piped`]
/// says.
pub fn spawn_piped(cmd: &mut Command) -> Piped {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let (tx, lines) = std::sync::mpsc::channel();
    let out = child.stdout.take().expect("stdout piped");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = gather_stderr(&mut child);
    Piped {
        child,
        lines,
        stderr,
    }
}

/// `child`'s piped stderr, gathered as it comes by a thread of its own.
pub fn gather_stderr(child: &mut std::process::Child) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::Read;
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut err = child.stderr.take().expect("stderr piped");
    let sink = std::sync::Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    stderr
}

/// `child`'s exit status once it has ended, asked until `deadline`;
/// `None` when it still runs then.
pub fn exit_by(
    child: &mut std::process::Child,
    deadline: std::time::Instant,
) -> Option<std::process::ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("child waitable") {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A `client_impact` object's `join`: each method with the lines it tied.
pub fn join_methods(client_impact: &Value) -> Vec<(String, u64)> {
    client_impact["join"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["method"].as_str().unwrap().to_string(),
                j["matched"].as_u64().unwrap(),
            )
        })
        .collect()
}
