//! Incidents and client responses live in `upcause follow`: the built
//! binary follows a file in a temporary directory while the test appends
//! logs written by real nginx (`fixtures/incidents/`, `fixtures/access/`)
//! in chunks, and reads its JSON lines, its stderr and its `/metrics`.
//! Every wait is bounded; each test stops only the child it started.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{fixture, free_port};
use serde_json::Value;

/// Longest wait for an event that follows from what was written.
const PATIENCE: Duration = Duration::from_secs(15);

/// Longest wait for an incident to close by time passing: the quiet of
/// `--incident-quiet 50s` (the least it takes) after the last failure,
/// plus slack for a loaded machine.
const CLOSING: Duration = Duration::from_secs(90);

/// A running `upcause follow` with its stdout read line by line.
struct Follow {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    seen: Vec<String>,
}

impl Follow {
    fn start(args: &[&str]) -> Follow {
        let common::Piped {
            child,
            lines,
            stderr,
        } = common::spawn_piped(
            common::bin()
                .args(["follow", "--no-state", "--interval", "500ms"])
                .args(args),
        );
        Follow {
            child,
            lines,
            stderr,
            seen: Vec::new(),
        }
    }

    /// The next line of stdout, or `None` at the deadline or the end.
    fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The first JSON line for which `ok` holds, within `wait`.
    fn json_where(&mut self, what: &str, wait: Duration, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + wait;
        while let Some(line) = self.next_line(deadline) {
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if ok(&v) {
                return v;
            }
        }
        self.fail(what)
    }

    /// The first event of this kind.
    fn event(&mut self, kind: &str, wait: Duration) -> Value {
        self.json_where(kind, wait, |v| v["event"] == kind)
    }

    /// Waits until stderr holds `text`.
    fn stderr_has(&mut self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let s = self.stderr.lock().unwrap().clone();
            if s.contains(text) {
                return s;
            }
            if Instant::now() > deadline {
                self.fail(&format!("{text:?} on stderr"));
            }
            // Keep stdout flowing meanwhile.
            let _ = self.next_line(Instant::now() + Duration::from_millis(50));
        }
    }

    /// SIGTERM; the exit status and the rest of stdout.
    fn terminate(&mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + PATIENCE;
        let mut rest = Vec::new();
        while let Some(l) = self.next_line(deadline) {
            rest.push(l);
        }
        match common::exit_by(&mut self.child, deadline) {
            Some(status) => (status, rest),
            None => self.fail("exit after SIGTERM"),
        }
    }

    fn fail(&mut self, what: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(50));
        let seen: Vec<&str> = self.seen.iter().map(|l| &l[..l.len().min(400)]).collect();
        panic!(
            "no {what}; stdout:\n{}\nstderr:\n{}",
            seen.join("\n"),
            self.stderr.lock().unwrap()
        );
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An empty log file in `dir`.
fn empty_log(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, "").unwrap();
    p
}

/// Appends `src`'s lines to `log`, `chunk` lines per write, `pause`
/// between writes.
fn feed(src: &Path, log: &Path, chunk: usize, pause: Duration) {
    let text = std::fs::read_to_string(src).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    for part in lines.chunks(chunk) {
        f.write_all(part.concat().as_bytes()).unwrap();
        f.flush().unwrap();
        std::thread::sleep(pause);
    }
}

/// `/metrics` once it answers.
fn metrics(port: u16) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            write!(
                s,
                "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut resp = String::new();
            if s.read_to_string(&mut resp).is_ok()
                && let Some((_, body)) = resp.split_once("\r\n\r\n")
            {
                return body.to_string();
            }
        }
        assert!(Instant::now() < deadline, "/metrics never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of one sample, by its full name and labels.
fn sample(body: &str, series: &str) -> Option<u64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Names of a list of `{upstream, count}`, sorted.
fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["upstream"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

/// `analyze`'s incidents of a fixture.
fn analyzed(files: &[&Path], args: &[&str]) -> Vec<Value> {
    let out = common::bin()
        .args(["analyze", "--format", "json"])
        .args(args)
        .args(files)
        .output()
        .unwrap();
    common::json(&out)["incidents"].as_array().unwrap().clone()
}

const M0: &str = "upcause_incident_open{upstream=\"http://127.0.0.1:18610\"}";
const M1: &str = "upcause_incident_open{upstream=\"http://127.0.0.1:18611\"}";

/// A timeout cascade over two members (`upstream timed out` on each, then
/// `no live upstreams` for the group) opens one incident whose root cause
/// is the members' timeouts, the echo listed under it; the alert on the
/// echo names that root cause; the gauge is 1 on the members while it is
/// open; and with the log quiet (nothing more written) it closes by time
/// alone, with what `analyze` says of the same log.
#[test]
fn a_cascade_opens_an_incident_on_its_root_cause_and_closes_when_the_log_goes_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_log(dir.path(), "error.log");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut f = Follow::start(&[
        "--format",
        "json",
        "--metrics",
        &addr,
        "--incident-quiet",
        "50s",
        "--alert",
        "no_live_upstreams>20/1m",
        log.to_str().unwrap(),
    ]);
    // Once /metrics answers the file is open and positioned.
    let before = metrics(port);
    assert_eq!(sample(&before, "upcause_incidents_total"), Some(0));
    assert!(!before.contains("upcause_incident_open{"), "{before}");

    let src = fixture("incidents/cascade_2.log");
    feed(&src, &log, 25, Duration::from_millis(60));

    let open = f.event("incident_open", PATIENCE);
    assert_eq!(open["id"], 1);
    assert_eq!(open["start"], "2026-12-02T16:05:36");
    assert_eq!(open["root_cause"]["cause"], "upstream_timeout");
    assert_eq!(
        names(&open["root_cause"]["upstreams"]),
        ["http://127.0.0.1:18610", "http://127.0.0.1:18611"]
    );
    // The cascade's order: members taken out, then the group's requests.
    assert_eq!(open["echoes"][0]["cause"], "upstream_disabled");
    assert_eq!(open["echoes"][1]["cause"], "no_live_upstreams");
    assert!(open["servers"]["nginx"].as_u64().unwrap() > 0, "{open:#}");
    // The alert is on the echo; it names the root cause.
    let alert = f.json_where("the alert", PATIENCE, |v| {
        v["alert"] == "no_live_upstreams>20/1m" && v["state"] == "firing"
    });
    assert_eq!(
        alert["root_cause"]["cause"], "upstream_timeout",
        "{alert:#}"
    );
    assert_eq!(alert["root_cause"]["incident"], 1);
    let mut ups: Vec<&str> = alert["root_cause"]["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    ups.sort();
    assert_eq!(ups, ["http://127.0.0.1:18610", "http://127.0.0.1:18611"]);

    // Every line is written: the gauge is 1 on both members, one incident.
    let deadline = Instant::now() + PATIENCE;
    let body = loop {
        let b = metrics(port);
        if sample(&b, M0) == Some(1) && sample(&b, M1) == Some(1) {
            break b;
        }
        if Instant::now() > deadline {
            f.fail(&format!("the gauge at 1 on both members:\n{b}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(sample(&body, "upcause_incidents_total"), Some(1), "{body}");
    assert_eq!(
        sample(&body, "upcause_incident_open{upstream=\"pool2\"}"),
        Some(1)
    );

    // Nothing more is written: it closes by time passing.
    let mut updates = Vec::new();
    let close = f.json_where("the incident closing", CLOSING, |v| {
        v["event"] == "incident_close"
    });
    let mut opened = 0;
    for l in &f.seen {
        let v: Value = serde_json::from_str(l).unwrap();
        opened += u32::from(v["event"] == "incident_open");
        if v["event"] == "incident_update" {
            updates.push(v);
        }
    }
    assert_eq!(opened, 1, "opened once only");
    // Updates told the counts growing.
    assert!(!updates.is_empty());
    for w in updates.windows(2) {
        assert!(w[0]["failed_requests"].as_u64() <= w[1]["failed_requests"].as_u64());
    }
    assert_eq!(
        (close["id"].as_u64(), close["reason"].as_str()),
        (Some(1), Some("quiet"))
    );
    // The same incident as `analyze` finds in the same lines (line numbers
    // too: following began at the file's first line).
    let mut want = analyzed(&[&src], &[]).remove(0);
    let mut got = close.clone();
    for v in [&mut want, &mut got] {
        for e in v["root_cause"]["evidence"].as_array_mut().unwrap() {
            e.as_object_mut().unwrap().remove("file");
        }
    }
    for key in [
        "start",
        "end",
        "seconds",
        "peak",
        "failed_requests",
        "root_cause",
        "echoes",
        "causes",
        "upstreams",
        "routes",
        "servers",
        "fix",
    ] {
        assert_eq!(got[key], want[key], "{key}");
    }
    assert_eq!(close["failed_requests"], 180);
    assert_eq!(close["end"], "2026-12-02T16:05:58");
    assert_eq!(close["echoes"][0]["cause"], "upstream_disabled");
    assert_eq!(close["echoes"][0]["count"], 7);
    assert_eq!(close["echoes"][1]["count"], 178);
    let body = metrics(port);
    assert_eq!(sample(&body, M0), Some(0), "{body}");
    assert_eq!(sample(&body, M1), Some(0), "{body}");
    assert_eq!(sample(&body, "upcause_incidents_total"), Some(1));

    let (status, rest) = f.terminate();
    assert_eq!(status.code(), Some(0));
    // No second close at exit; the final report lists the closed one.
    let last: Value = serde_json::from_str(rest.last().expect("a final report")).unwrap();
    assert!(rest.iter().all(|l| !l.contains("\"event\":")), "{rest:?}");
    assert_eq!(last["final"], true);
    assert_eq!(last["open_incidents"], serde_json::json!([]));
    assert_eq!(
        last["incidents"][0]["root_cause"]["cause"],
        "upstream_timeout"
    );
}

/// Off a terminal in text mode: the opening and the alert are said on
/// stderr with the root cause, the frames show the open incident (start,
/// duration so far, failed requests, root cause and upstreams, echoes, who
/// logged it), and Ctrl-C / SIGTERM closes it.
#[test]
fn text_mode_tells_the_incident_and_sigterm_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_log(dir.path(), "error.log");
    let mut f = Follow::start(&[
        "--format",
        "text",
        "--alert",
        "any>50/1m",
        log.to_str().unwrap(),
    ]);
    // The first frame: the file is open and positioned.
    let deadline = Instant::now() + PATIENCE;
    while f.next_line(deadline).is_some_and(|l| !l.contains(" FILES")) {}
    feed(
        &fixture("incidents/cascade_3.log"),
        &log,
        100,
        Duration::from_millis(20),
    );
    let err = f.stderr_has("upcause: incident 1 open: upstream_timeout on http://127.0.0.1:186");
    let err = if err.contains("upcause: alert firing: any>50/1m") {
        err
    } else {
        f.stderr_has("upcause: alert firing: any>50/1m")
    };
    let alert = err
        .lines()
        .find(|l| l.starts_with("upcause: alert firing"))
        .unwrap();
    assert!(
        alert.contains("; root cause upstream_timeout on http://127.0.0.1:186"),
        "{alert}"
    );
    // A frame with the open incident.
    let deadline = Instant::now() + PATIENCE;
    let mut frame = Vec::new();
    loop {
        let Some(l) = f.next_line(deadline) else {
            f.fail("a frame with the open incident")
        };
        if l.starts_with("upcause follow") {
            frame.clear();
        }
        frame.push(l);
        if frame.iter().any(|l| l.contains("#1 OPEN")) && frame.iter().any(|l| l.contains(" FILES"))
        {
            break;
        }
    }
    let text = frame.join("\n");
    assert!(text.contains(" INCIDENTS (1 open, 0 closed)"), "{text}");
    assert!(text.contains("#1 OPEN  since 16:05:"), "{text}");
    assert!(text.contains("so far (last failure"), "{text}");
    assert!(
        text.contains("      root cause  upstream_timeout on http://127.0.0.1:186"),
        "{text}"
    );
    assert!(
        text.contains("      echoes      upstream_disabled (")
            && text.contains(" lines), no_live_upstreams ("),
        "{text}"
    );
    assert!(text.contains("      logged by   nginx ("), "{text}");

    let (status, rest) = f.terminate();
    assert_eq!(status.code(), Some(0));
    let err = f.stderr.lock().unwrap().clone();
    let closed = err
        .lines()
        .find(|l| l.starts_with("upcause: incident 1 closed: upstream_timeout on "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        closed.contains("failed requests; echoes: upstream_disabled 9, no_live_upstreams"),
        "{closed}"
    );
    // The final frame lists it closed.
    let last = rest.join("\n");
    assert!(last.contains("final report"), "{last}");
    assert!(last.contains(" INCIDENTS (0 open, 1 closed)"), "{last}");
    assert!(last.contains("#1 closed  16:05:"), "{last}");
}

/// `--boot-time` places the kernel log's uptime stamps as for `analyze`:
/// the OOM kill 4 s before the first failure is the incident's root
/// cause; without it the kill is untimed and the root is the timeouts. An
/// incident still open when follow stops closes with `reason: exit`.
#[test]
fn boot_time_places_dmesg_so_the_oom_kill_is_the_root_cause() {
    let nginx_src = fixture("incidents/fpm_dynamic.log");
    let dmesg_src = fixture("incidents/fpm_dynamic.dmesg.log");
    let run = |boot: Option<&str>| -> (Value, Value) {
        let dir = tempfile::tempdir().unwrap();
        let dmesg = empty_log(dir.path(), "dmesg.log");
        let log = empty_log(dir.path(), "error.log");
        let mut args = vec!["--format", "json"];
        if let Some(b) = boot {
            args.extend(["--boot-time", b]);
        }
        let (d, l) = (
            dmesg.to_str().unwrap().to_string(),
            log.to_str().unwrap().to_string(),
        );
        args.extend([d.as_str(), l.as_str()]);
        let mut f = Follow::start(&args);
        // The first report: both files are open and positioned.
        f.json_where("the first report", PATIENCE, |v| v.get("final").is_some());
        feed(&dmesg_src, &dmesg, 100, Duration::from_millis(10));
        feed(&nginx_src, &log, 40, Duration::from_millis(30));
        let open = f.event("incident_open", PATIENCE);
        // Stopped well within the quiet: still open, closed at exit.
        let (status, rest) = f.terminate();
        assert_eq!(status.code(), Some(0));
        let close = rest
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["event"] == "incident_close")
            .unwrap_or_else(|| panic!("no close at exit: {rest:?}"));
        (open, close)
    };
    let (open, close) = run(Some("2026-12-02T12:00:00"));
    assert_eq!(open["root_cause"]["cause"], "kernel_oom_kill", "{open:#}");
    assert_eq!(close["reason"], "exit");
    assert_eq!(close["root_cause"]["cause"], "kernel_oom_kill");
    let ev = &close["root_cause"]["evidence"][0];
    assert!(ev["file"].as_str().unwrap().ends_with("dmesg.log"), "{ev}");
    assert_eq!(
        (ev["line"].as_u64(), ev["offset_seconds"].as_i64()),
        (Some(8), Some(-4))
    );
    let want = analyzed(
        &[&nginx_src, &dmesg_src],
        &["--boot-time", "2026-12-02T12:00:00"],
    );
    assert_eq!(close["failed_requests"], want[0]["failed_requests"]);
    assert_eq!(close["start"], want[0]["start"]);
    assert_eq!(close["end"], want[0]["end"]);

    let (open, _) = run(None);
    assert_eq!(open["root_cause"]["cause"], "upstream_timeout", "{open:#}");
    assert_eq!(open["servers"]["kernel"], 0);

    let bad = common::bin()
        .args(["follow", "--no-state", "--boot-time", "yesterday-ish"])
        .arg(&dmesg_src)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(common::stderr(&bad).contains("--boot-time"));
}

/// Access lines followed live are counted in
/// `upcause_client_responses_total{status,route,upstream}`: the route
/// normalized, the upstream the last attempt's address (`--access-format`
/// gives the custom `log_format`), as `fixtures/access/results.tsv` says
/// the clients got them.
#[test]
fn access_lines_count_client_responses_by_status_route_and_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_log(dir.path(), "access.log");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let format = std::fs::read_to_string(fixture("access/nginx-log_format.txt")).unwrap();
    let mut f = Follow::start(&[
        "--format",
        "json",
        "--metrics",
        &addr,
        "--access-format",
        format.trim(),
        log.to_str().unwrap(),
    ]);
    let before = metrics(port);
    assert!(
        !before.contains("upcause_client_responses_total{"),
        "{before}"
    );
    feed(
        &fixture("access/nginx-upstreams.log"),
        &log,
        10,
        Duration::from_millis(20),
    );
    let series = |body: &str| -> Vec<(String, u64)> {
        body.lines()
            .filter_map(|l| l.strip_prefix("upcause_client_responses_total"))
            .map(|l| {
                let (labels, n) = l.rsplit_once(' ').unwrap();
                (labels.to_string(), n.parse().unwrap())
            })
            .collect()
    };
    let deadline = Instant::now() + PATIENCE;
    let got = loop {
        let s = series(&metrics(port));
        if s.iter().map(|x| x.1).sum::<u64>() >= 47 {
            break s;
        }
        if Instant::now() > deadline {
            f.fail(&format!("47 client responses in /metrics: {s:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let s = |status: &str, route: &str, up: &str, n: u64| {
        (
            format!("{{status=\"{status}\",route=\"{route}\",upstream=\"{up}\"}}"),
            n,
        )
    };
    assert_eq!(
        got,
        [
            s("200", "/ok/items/:id", "127.0.0.1:18710", 20),
            // Retried on the second member, which answered.
            s("200", "/retry/orders/:id", "127.0.0.1:18710", 7),
            s("502", "/app502/search/:id", "127.0.0.1:18710", 5),
            s("502", "/both/users/:id", "127.0.0.1:18711", 1),
            s("502", "/both/users/:id", "127.0.0.1:18712", 1),
            s("502", "/refused/cart/:id", "127.0.0.1:18711", 6),
            s("502", "/reset/pay/:id", "127.0.0.1:18710", 4),
            s("504", "/timeout/report/:id", "127.0.0.1:18710", 3),
        ]
    );
    // Per route and status, what the clients got (results.tsv).
    let tsv = std::fs::read_to_string(fixture("access/results.tsv")).unwrap();
    for row in tsv.lines().skip(1) {
        let c: Vec<&str> = row.split('\t').collect();
        let n: u64 = got
            .iter()
            .filter(|(l, _)| {
                l.contains(&format!("status=\"{}\"", c[1]))
                    && l.contains(&format!("route=\"/{}/", c[0]))
            })
            .map(|x| x.1)
            .sum();
        assert_eq!(n.to_string(), c[2], "{row}");
    }
    let (status, _) = f.terminate();
    assert_eq!(status.code(), Some(0));
}

/// A log followed `--from-start` gives the incidents `analyze` gives, on
/// every single-file incident fixture and the deploy fixture (a reload or
/// restart just before an incident is its deploy live too); those over
/// before the log's end close by quiet, the last by quiet or at exit.
#[test]
fn from_start_the_incidents_are_those_of_analyze() {
    for name in [
        "backend_restart.log",
        "cascade_2.log",
        "cascade_3.log",
        "fpm_dynamic.log",
        "fpm_ondemand.log",
        "two_outages.log",
        "../deploy/reload_restart.log",
        // Beside php-fpm's own log: its lines are the root cause.
        "fpm_dynamic.log+fpm_dynamic.php-fpm.log",
        "fpm_ondemand.log+fpm_ondemand.php-fpm.log",
    ] {
        let srcs: Vec<PathBuf> = name
            .split('+')
            .map(|n| fixture(&format!("incidents/{n}")))
            .collect();
        let paths: Vec<&Path> = srcs.iter().map(PathBuf::as_path).collect();
        let want = analyzed(&paths, &[]);
        assert!(!want.is_empty(), "{name}");
        let mut args = vec!["--format", "json", "--from-start"];
        args.extend(srcs.iter().map(|p| p.to_str().unwrap()));
        let mut f = Follow::start(&args);
        // The first report comes after the first look for incidents.
        f.json_where("the first report", PATIENCE, |v| v.get("final").is_some());
        let (status, _) = f.terminate();
        assert_eq!(status.code(), Some(0));
        let events: Vec<Value> = f
            .seen
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("event").is_some())
            .collect();
        let opened: Vec<&Value> = events
            .iter()
            .filter(|v| v["event"] == "incident_open")
            .collect();
        let mut closed: Vec<&Value> = events
            .iter()
            .filter(|v| v["event"] == "incident_close")
            .collect();
        assert_eq!(opened.len(), want.len(), "{name}: {events:#?}");
        closed.sort_by_key(|v| v["start"].as_str().unwrap().to_string());
        assert_eq!(closed.len(), want.len(), "{name}");
        for (got, want) in closed.iter().zip(&want) {
            for key in [
                "start",
                "end",
                "peak",
                "failed_requests",
                "echoes",
                "causes",
                "upstreams",
                "routes",
                "servers",
            ] {
                assert_eq!(got[key], want[key], "{name}: {key}");
            }
            // A reload or restart just before: a deploy, as in `analyze`.
            let deploy = |v: &Value| {
                let mut d = v["deploy"].clone();
                if let Some(o) = d.as_object_mut() {
                    o.remove("file");
                }
                d
            };
            assert_eq!(deploy(got), deploy(want), "{name}");
            assert_eq!(
                got["root_cause"]["cause"], want["root_cause"]["cause"],
                "{name}"
            );
            assert_eq!(
                got["root_cause"]["upstreams"], want["root_cause"]["upstreams"],
                "{name}"
            );
        }
        // Closed by quiet once a minute (the default --incident-quiet) had
        // passed since their last failure on the log's clock; at exit,
        // those with less.
        let secs = |v: &Value, k: &str| {
            chrono::NaiveDateTime::parse_from_str(v[k].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp()
        };
        for c in &closed {
            let after = secs(c, "at") - secs(c, "end");
            match c["reason"].as_str() {
                Some("quiet") => assert!(after >= 60, "{name}: {c}"),
                Some("exit") => assert!(after < 60, "{name}: {c}"),
                _ => panic!("{name}: {c}"),
            }
        }
    }
}

/// The new options' usage errors exit 2 and name the option.
#[test]
fn incident_and_access_options_are_checked_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = empty_log(dir.path(), "error.log");
    for (args, flag) in [
        (&["--incident-quiet", "soon"][..], "--incident-quiet"),
        (&["--baseline", "30s"][..], "--baseline"),
        (&["--baseline", "8d"][..], "--baseline"),
        (&["--boot-time", "2026-13-01T00:00:00"][..], "--boot-time"),
        (
            &["--access-format", "log_format x '$nonsense"][..],
            "--access-format",
        ),
    ] {
        let out = common::bin()
            .args(["follow", "--no-state"])
            .args(args)
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            common::stderr(&out).contains(flag),
            "{args:?}: {}",
            common::stderr(&out)
        );
    }
}
