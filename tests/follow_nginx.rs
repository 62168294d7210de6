//! End to end with a real nginx: its error log is followed while requests
//! fail, across a rotation done the way logrotate does it (rename, then
//! SIGUSR1 so nginx reopens its log).
//!
//! Ignored by default (it needs nginx and curl); `.ci/run` runs it with
//! `cargo test --locked --test follow_nginx -- --ignored`. nginx runs as an
//! ordinary process from a config of ours in a temporary directory, on
//! 127.0.0.1 only, and is stopped by its PID (as fixtures/generate.sh does).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::free_port;
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(15);

fn nginx_binary() -> PathBuf {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    });
    from_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
        .expect("nginx is installed (.ci/run installs it)")
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{sig} {pid}");
}

/// A child process stopped (SIGTERM, then SIGKILL) when dropped.
struct Stopped(Child);

impl Stopped {
    /// SIGTERM and wait (bounded); SIGKILL if it does not go.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(s)) = self.0.try_wait() {
            return Some(s);
        }
        signal(self.0.id(), "TERM");
        if let Some(s) = common::exit_by(&mut self.0, Instant::now() + Duration::from_secs(10)) {
            return Some(s);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
        None
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts nginx proxying 127.0.0.1:`port` to the closed `backend` port.
fn start_nginx(dir: &Path, port: u16, backend: u16) -> Stopped {
    let d = dir.display();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let user = if root {
        // Workers reopen the log on SIGUSR1 as this user.
        let group = Command::new("id")
            .args(["-gn", "nobody"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|g| !g.is_empty())
            .unwrap_or_else(|| "nogroup".into());
        format!("user nobody {group};")
    } else {
        String::new()
    };
    let conf = format!(
        "worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log error;
{user}
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ proxy_pass http://127.0.0.1:{backend}; }}
    }}
}}
"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let nginx = nginx_binary();
    let test = Command::new(&nginx)
        .args(["-t", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let child = Command::new(&nginx)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let nginx = Stopped(child);
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx does not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

/// One request through nginx; it must fail with 502.
fn request(port: u16, i: u32) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .arg(format!("http://127.0.0.1:{port}/api/users/{i}"))
        .output()
        .expect("curl is installed");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "502");
}

struct Follow {
    child: Stopped,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Follow {
    fn start(log: &Path) -> Follow {
        let mut child = common::bin()
            .args([
                "follow",
                "--no-state",
                "--format",
                "json",
                "--interval",
                "200ms",
            ])
            .arg(log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follow {
            child: Stopped(child),
            lines: rx,
            seen: Vec::new(),
        }
    }

    fn report_where(&mut self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            let v: Value = serde_json::from_str(&line).unwrap();
            self.seen.push(line);
            // Incident events are not reports.
            if v.get("event").is_none() && ok(&v) {
                return v;
            }
        }
        panic!("no {what}; got:\n{}", self.seen.join("\n"));
    }

    fn refused_settles_at(&mut self, n: u64) -> Value {
        let v = self.report_where(&format!("{n} refused"), |v| refused(v) >= n);
        for _ in 0..3 {
            let v = self.report_where("a report", |_| true);
            assert_eq!(refused(&v), n, "{v:#}");
        }
        assert_eq!(refused(&v), n, "{v:#}");
        v
    }
}

/// upstream_refused requests since follow started.
fn refused(v: &Value) -> u64 {
    v["since_start"]["causes"]["upstream_refused"]
        .as_u64()
        .unwrap_or(0)
}

fn span_count(v: &Value, cause: &str) -> u64 {
    v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == cause)
        .map_or(0, |c| c["count"].as_u64().unwrap())
}

#[test]
#[ignore = "needs nginx and curl; run by .ci/run"]
fn real_nginx_log_is_followed_across_a_sigusr1_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["logs", "tmp"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    // nginx workers (nobody, when we are root) reopen the log themselves.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [d.to_path_buf(), d.join("logs")] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let (port, backend) = (free_port(), free_port());
    let mut nginx = start_nginx(d, port, backend);
    let log = d.join("logs/error.log");
    let mut f = Follow::start(&log);
    f.report_where("the first report", |_| true);

    let mut sent = 0;
    for _ in 0..4 {
        sent += 1;
        request(port, sent);
    }
    f.refused_settles_at(4);

    // logrotate's way: rename; nginx goes on writing to the renamed file
    // until SIGUSR1 makes it reopen the path.
    std::fs::rename(&log, d.join("logs/error.log.1")).unwrap();
    for _ in 0..3 {
        sent += 1;
        request(port, sent);
    }
    let pid: u32 = std::fs::read_to_string(d.join("nginx.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, nginx.0.id(), "the master is our child");
    signal(pid, "USR1");
    let deadline = Instant::now() + PATIENCE;
    while !log.exists() {
        assert!(Instant::now() < deadline, "nginx did not reopen its log");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..5 {
        sent += 1;
        request(port, sent);
    }
    let v = f.refused_settles_at(12);
    assert_eq!(v["rotations"][log.display().to_string()], 1, "{v:#}");
    assert_eq!(span_count(&v, "upstream_refused"), 12, "{v:#}");
    let up = format!("http://127.0.0.1:{backend}");
    assert_eq!(v["causes"][0]["upstreams"][0]["upstream"], up.as_str());
    // Every line nginx wrote is accounted for, in both files.
    let written: u64 = ["logs/error.log", "logs/error.log.1"]
        .iter()
        .map(|p| {
            let mut s = String::new();
            std::fs::File::open(d.join(p))
                .unwrap()
                .read_to_string(&mut s)
                .unwrap();
            s.lines()
                .filter(|l| l.contains("(111: Connection refused)"))
                .count() as u64
        })
        .sum();
    assert_eq!(written, 12);

    let status = f.child.stop();
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    let last: Value =
        serde_json::from_str(f.lines.iter().last().expect("a final report").as_str()).unwrap();
    assert_eq!(last["final"], true);
    assert_eq!(refused(&last), 12);
    nginx.stop();
}
