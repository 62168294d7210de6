//! `--format html` in a real browser: the page of a mixed fixture (two
//! outages of one nginx, a cascade of another) opened in headless
//! Chromium, which must log nothing to its console (a script error or a
//! blocked load under the page's Content-Security-Policy would), ask the
//! network for nothing (a proxy on 127.0.0.1 that records every request
//! is its only way out; the browser's own calls home, which
//! `--disable-background-networking` does not stop, to Google's update,
//! time and account hosts, are told apart by host), run its script, and show one chart series per cause and the
//! incident cards. Screenshots (light, dark, 375 px wide) are saved
//! under `target/tmp/html/` to be looked at.
//!
//! Without Chromium (`chromium`, `chromium-browser`, `google-chrome` on
//! the PATH, or `UPCAUSE_CHROMIUM`) the browser tests are skipped with a
//! message, unless `UPCAUSE_REQUIRE_CHROMIUM` is set: `.ci/run` installs
//! Debian's `chromium` and sets it, so that they run there.
//! The checks of the page's bytes run everywhere.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{bin, fixture, json};
use serde_json::Value;

fn inputs() -> Vec<PathBuf> {
    vec![
        fixture("nginx/mixed.log"),
        fixture("incidents/cascade_2.log"),
    ]
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str], paths: &[PathBuf]) -> Output {
    let out = bin()
        .current_dir(common::root())
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The page, and the JSON report of the same inputs.
fn page(paths: &[PathBuf], name: &str) -> (PathBuf, String, Value) {
    let html = String::from_utf8(run(&["analyze", "--format", "html"], paths).stdout).unwrap();
    let report = json(&run(&["analyze", "--format", "json"], paths));
    let file = out_dir().join(name);
    std::fs::write(&file, &html).unwrap();
    (file, html, report)
}

/// The JSON block of a page.
fn embedded(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let at = html.find(open).unwrap() + open.len();
    let end = at + html[at..].find("</script>").unwrap();
    serde_json::from_str(&html[at..end]).unwrap()
}

#[test]
fn the_page_is_self_contained_and_embeds_the_json_report_once() {
    let (_, html, report) = page(&inputs(), "static.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    // One style, one script that runs, one data block; nothing fetched.
    assert_eq!(html.matches("<style>").count(), 1);
    assert_eq!(html.matches("<script>").count(), 1);
    assert_eq!(html.matches("<script").count(), 2);
    for fetch in [
        "src=",
        "href=\"http",
        "url(",
        "@import",
        "<link",
        "<img",
        "<iframe",
    ] {
        assert!(!html.contains(fetch), "{fetch}");
    }
    let csp = html
        .split("http-equiv=\"Content-Security-Policy\" content=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(
        csp.contains("script-src 'sha256-") && !csp.contains("unsafe"),
        "{csp}"
    );
    // The data is the report `--format json` prints.
    assert_eq!(embedded(&html), report);
    // The answer first: the cards before the table, the table before the chart.
    let card = html
        .find("Incident 1: 2026-11-21 09:37:49 → 09:38:48 (59s)")
        .unwrap();
    let table = html.find("id=\"cause-table\"").unwrap();
    let chart = html.find("id=\"chart\"").unwrap();
    assert!(card < table && table < chart);
    assert!(html.contains("Incident 3: 2026-12-02 16:05:36 → 16:05:58 (22s)"));
    // The fix in both servers' terms, for each cause.
    for c in report["causes"].as_array().unwrap() {
        let id = c["cause"].as_str().unwrap();
        let row = html
            .split(&format!("<tr data-cause=\"{id}\">"))
            .nth(1)
            .unwrap();
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(row.contains(c["fixes"]["nginx"].as_str().unwrap()), "{row}");
        assert!(
            row.contains(c["fixes"]["apache"].as_str().unwrap()),
            "{row}"
        );
    }
}

/// A log whose request paths carry what could break out of the page.
fn hostile_log(dir: &Path) -> PathBuf {
    let routes = [
        "/</script><script>alert(1)</script>",
        "/<svg onload=alert(2)>",
        "/a\u{202e}gnp.exe",
        "/esc\u{1b}[31mred",
        "/nul\0byte",
        "/q\"'&amp;<!--",
        "/ls\u{2028}ps\u{2029}",
    ];
    let mut log = String::new();
    for (i, r) in routes.iter().enumerate() {
        for k in 0..3 {
            log += &format!(
                "2026/11/21 09:0{i}:1{k} [error] 7#7: *{} connect() failed (111: Connection refused) while connecting to upstream, client: 1.1.1.1, server: s, request: \"GET {r} HTTP/1.1\", upstream: \"http://10.0.0.9:80{r}\", host: \"h\"\n",
                i * 10 + k
            );
        }
    }
    let p = dir.join("hostile.log");
    std::fs::write(&p, log).unwrap();
    p
}

#[test]
fn hostile_log_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html, report) = page(&[hostile_log(dir.path())], "hostile.html");
    assert_eq!(report["total_failures"], 21);
    let lower = html.to_ascii_lowercase();
    assert_eq!(lower.matches("</script").count(), 2, "only our own two");
    assert_eq!(lower.matches("<script").count(), 2);
    assert!(!lower.contains("<svg onload"));
    assert!(!html.contains(['\u{202e}', '\u{1b}', '\0', '\u{2028}', '\u{2029}']));
    assert!(html.contains("&lt;svg onload=alert(2)&gt;"));
    assert!(html.contains("/a\\u{202e}gnp.exe"));
    // The data block still holds the exact text.
    assert_eq!(embedded(&html), report);
}

#[test]
fn merge_writes_the_page_of_the_merged_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut saved = Vec::new();
    for (i, p) in inputs().iter().enumerate() {
        let f = dir.path().join(format!("{i}.json"));
        std::fs::write(
            &f,
            run(&["analyze", "--format", "json"], std::slice::from_ref(p)).stdout,
        )
        .unwrap();
        saved.push(f);
    }
    let html = String::from_utf8(run(&["merge", "--format", "html"], &saved).stdout).unwrap();
    let merged = json(&run(&["merge", "--format", "json"], &saved));
    assert_eq!(embedded(&html), merged);
    assert!(html.contains("Incident 2: 2026-11-21 09:38:51"));
    // html is a format of reports only.
    let out = bin().args(["causes", "--format", "html"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Chromium, when there is one (and a panic when there is none but it
/// is required).
fn chromium() -> Option<PathBuf> {
    let found = find_chromium();
    assert!(
        found.is_some() || std::env::var_os("UPCAUSE_REQUIRE_CHROMIUM").is_none(),
        "UPCAUSE_REQUIRE_CHROMIUM is set and no Chromium was found"
    );
    found
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("UPCAUSE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// What one headless run of the browser gave.
struct Browse {
    /// `--dump-dom`: the document after its script ran.
    dom: String,
    /// Console messages (`INFO:CONSOLE` lines of its log).
    console: Vec<String>,
    /// Requests the browser made to the network (all go through a proxy
    /// on 127.0.0.1 that records them): `GET http://host/...`,
    /// `CONNECT host:443`.
    requests: Vec<String>,
}

fn browse(chrome: &Path, url: &str, extra: &[&str], name: &str) -> Browse {
    let profile = tempfile::tempdir().unwrap();
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    proxy.set_nonblocking(true).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let counter = {
        let (seen, done) = (Arc::clone(&seen), Arc::clone(&done));
        std::thread::spawn(move || {
            while done.load(Ordering::SeqCst) == 0 {
                match proxy.accept() {
                    Ok((mut conn, _)) => {
                        // Its request line; nothing is answered.
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 512];
                        let n = conn.read(&mut buf).unwrap_or(0);
                        let head = String::from_utf8_lossy(&buf[..n]);
                        let line = head.lines().next().unwrap_or("(nothing read)").to_string();
                        seen.lock().unwrap().push(line);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })
    };
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--proxy-server=http://127.0.0.1:{port}"),
            "--proxy-bypass-list=<-loopback>",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a browser that hangs fails the test instead of holding it.
    let started = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = out_reader.join().unwrap();
    let log = err_reader.join().unwrap();
    done.store(1, Ordering::SeqCst);
    counter.join().unwrap();
    std::fs::write(out_dir().join(format!("{name}.log")), &log).unwrap();
    Browse {
        dom,
        console: log
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_string)
            .collect(),
        requests: std::mem::take(&mut *seen.lock().unwrap()),
    }
}

fn url(file: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", file.display())
}

/// The browser's own calls home (component updates, network time,
/// account checks), made whatever page it shows.
fn browsers_own(request: &str) -> bool {
    let target = request.split(' ').nth(1).unwrap_or("");
    let host = target
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    [
        ".google.com",
        ".googleapis.com",
        ".gvt1.com",
        ".gstatic.com",
    ]
    .iter()
    .any(|d| host.ends_with(d))
}

fn assert_clean(b: &Browse, what: &str) {
    assert!(b.console.is_empty(), "{what}: console: {:#?}", b.console);
    let page: Vec<&String> = b.requests.iter().filter(|r| !browsers_own(r)).collect();
    assert!(page.is_empty(), "{what}: network requests: {page:#?}");
}

#[test]
fn chromium_runs_the_page_without_errors_or_network_and_shows_every_cause() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "skipped: no Chromium found (install Debian's chromium, or set UPCAUSE_CHROMIUM)"
        );
        return;
    };
    let (file, _, report) = page(&inputs(), "report.html");
    let b = browse(&chrome, &url(&file, ""), &["--dump-dom"], "dom");
    assert_clean(&b, "page");
    // The script ran to its end.
    assert!(b.dom.contains("data-js=\"ready\""), "{}", b.dom);
    // One series per cause in the chart, in rank order.
    let causes: Vec<&str> = report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cause"].as_str().unwrap())
        .collect();
    assert_eq!(causes.len(), 3);
    let series: Vec<&str> = b
        .dom
        .split("<g class=\"series\" data-cause=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(series, causes);
    assert!(b.dom.contains("<svg viewBox=\"0 0 960 330\""));
    // The incident cards, with their root causes and fixes.
    for text in [
        "Incident 1: 2026-11-21 09:37:49 → 09:38:48 (59s)",
        "Incident 2: 2026-11-21 09:38:51 → 09:39:50 (59s)",
        "Incident 3: 2026-12-02 16:05:36 → 16:05:58 (22s)",
        "no_live_upstreams (178), which follow from the root cause",
        "zoom to this incident",
    ] {
        assert!(b.dom.contains(text), "{text}");
    }
    // The toolbar is shown, the cause list filled in.
    assert!(
        b.dom
            .contains("<option value=\"upstream_timeout\">upstream_timeout (65)</option>")
    );
    assert!(b.dom.contains("3 of 3 causes shown"));

    // A filter in the address: the other causes' rows, sections and series
    // are hidden.
    let b = browse(
        &chrome,
        &url(&file, "#cause=upstream_timeout"),
        &["--dump-dom"],
        "filtered",
    );
    assert_clean(&b, "filtered");
    assert!(b.dom.contains("1 of 3 causes shown"), "{}", b.dom);
    assert!(
        b.dom
            .contains("<tr data-cause=\"upstream_refused\" class=\"off\">")
    );
    assert!(b.dom.contains("<tr data-cause=\"upstream_timeout\">"));
    assert!(
        b.dom
            .contains("<g class=\"series off\" data-cause=\"no_live_upstreams\">")
    );

    // A time range (what brushing the chart sets): 09:38 to 09:39 holds 98
    // refused and 9 timed-out requests, and no cascade.
    let from = 1_795_253_880; // 2026-11-21T09:38:00
    let b = browse(
        &chrome,
        &url(&file, &format!("#from={from}&to={}", from + 60)),
        &["--dump-dom"],
        "range",
    );
    assert_clean(&b, "range");
    assert!(
        b.dom
            .contains("2 of 3 causes shown; 2026-11-21 09:38:00 to 2026-11-21 09:39:00"),
        "{}",
        b.dom
    );
    assert!(
        b.dom
            .contains("data-count=\"upstream_refused\" data-v=\"98\">98</td>")
    );
    assert!(
        b.dom
            .contains("data-count=\"upstream_timeout\" data-v=\"9\">9</td>")
    );

    // Screenshots to look at: light, dark, and a phone's width.
    for (name, extra) in [
        ("light", vec!["--window-size=1280,2400"]),
        (
            "dark",
            vec![
                "--window-size=1280,2400",
                "--force-dark-mode",
                "--blink-settings=preferredColorScheme=0",
            ],
        ),
        ("narrow", vec!["--window-size=375,2400"]),
    ] {
        let png = out_dir().join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let shot = format!("--screenshot={}", png.display());
        let mut args = extra.clone();
        args.push(&shot);
        let b = browse(&chrome, &url(&file, ""), &args, name);
        assert_clean(&b, name);
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{name}"
        );
    }
}

#[test]
fn chromium_shows_the_hostile_page_as_text() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "skipped: no Chromium found (install Debian's chromium, or set UPCAUSE_CHROMIUM)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (file, _, _) = page(&[hostile_log(dir.path())], "hostile.html");
    let b = browse(&chrome, &url(&file, ""), &["--dump-dom"], "hostile");
    assert_clean(&b, "hostile");
    assert!(b.dom.contains("data-js=\"ready\""));
    // Only our own chart and bars are SVG: no element came from the log.
    assert!(!b.dom.contains("<svg onload"));
    assert!(b.dom.contains("/&lt;svg onload=alert(2)&gt;"));
}

/// The checks can fail: a page that loads an image from the network is
/// seen by the proxy, and one whose script throws is seen in the console.
#[test]
fn chromium_checks_see_a_request_and_a_script_error() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "skipped: no Chromium found (install Debian's chromium, or set UPCAUSE_CHROMIUM)"
        );
        return;
    };
    let file = out_dir().join("control.html");
    std::fs::write(
        &file,
        "<!DOCTYPE html><html><body><img src=\"http://upcause-control.test/x.png\">\
         <script>null.x()</script></body></html>",
    )
    .unwrap();
    let b = browse(&chrome, &url(&file, ""), &["--dump-dom"], "control");
    assert!(
        b.requests
            .iter()
            .any(|r| r.contains("upcause-control.test") && !browsers_own(r)),
        "{:#?}",
        b.requests
    );
    assert!(
        b.console.iter().any(|l| l.contains("TypeError")),
        "{:#?}",
        b.console
    );
}

/// Every fixture at once (21 causes): a series and a section per cause,
/// the causes after the seventh in two greys in turn.
#[test]
fn every_cause_of_every_fixture_has_its_series() {
    let mut paths = Vec::new();
    for dir in ["nginx", "apache", "php-fpm"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixture(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        files.sort();
        paths.extend(files);
    }
    let (_, html, report) = page(&paths, "all.html");
    let causes = report["causes"].as_array().unwrap();
    assert!(causes.len() >= 20, "{}", causes.len());
    assert_eq!(
        html.matches("<g class=\"series\" data-cause=").count(),
        causes.len()
    );
    assert_eq!(
        html.matches("<section class=\"cause\"").count(),
        causes.len()
    );
    // From the eighth on, two greys in turn.
    for (rank, c) in causes.iter().enumerate().skip(7) {
        let id = c["cause"].as_str().unwrap();
        let class = 7 + (rank - 7) % 2;
        assert!(html.contains(&format!(
            "<g class=\"series\" data-cause=\"{id}\"><path class=\"s{class}\""
        )));
    }
}

/// A month of one failure an hour with one burst: the chart keeps the
/// burst at its height, and its axis is in dates.
#[test]
fn a_month_long_archive_keeps_its_one_burst() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    let line = |day: u32, h: u32, m: u32, s: u32, id: u32| {
        format!(
            "2026/11/{day:02} {h:02}:{m:02}:{s:02} [error] 7#7: *{id} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: s, request: \"GET /slow HTTP/1.1\", upstream: \"http://10.0.0.2:80/slow\", host: \"h\"\n"
        )
    };
    let mut id = 0;
    for day in 1..=30 {
        for h in 0..24 {
            id += 1;
            log += &line(day, h, 0, 0, id);
            if day == 15 && h == 12 {
                for k in 0..200 {
                    id += 1;
                    log += &line(day, h, 30, k % 60, id);
                }
            }
        }
    }
    let p = dir.path().join("month.log");
    std::fs::write(&p, log).unwrap();
    let (_, html, report) = page(&[p], "month.html");
    assert_eq!(report["total_failures"], 720 + 200);
    assert_eq!(report["window"], "1m");
    // 43,200 windows in at most 440 columns, the busiest window kept whole.
    assert!(html.contains(">peak 200 at 11-15 12:30</text>"), "{html}");
    assert!(html.contains("each column is the busiest of its 99 windows"));
    assert!(html.contains(">11-15</text>") || html.contains(">11-16</text>"));
    assert_eq!(embedded(&html), report);
}

/// The pages of an empty log (nothing to draw, no toolbar) and of a paste
/// whose lines lost their times (causes, but no timeline) run as cleanly.
#[test]
fn chromium_runs_the_pages_of_an_empty_log_and_of_untimed_failures() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "skipped: no Chromium found (install Debian's chromium, or set UPCAUSE_CHROMIUM)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    for (paths, name, text) in [
        (
            vec![empty],
            "empty",
            "Nothing to analyze, no line was read:",
        ),
        (
            vec![fixture("fragments/pasted.log")],
            "untimed",
            "No failure carries a time: nothing to draw.",
        ),
    ] {
        let (file, html, _) = page(&paths, &format!("{name}.html"));
        assert!(html.contains(text), "{name}");
        let b = browse(&chrome, &url(&file, ""), &["--dump-dom"], name);
        assert_clean(&b, name);
        assert!(b.dom.contains("data-js=\"ready\""), "{name}");
    }
}

/// The clients' 5xx rate line on the failures chart: drawn from
/// `client_impact.timeline` where access logs were read, absent without.
#[test]
fn the_client_5xx_rate_line_is_drawn_where_an_access_log_was_given() {
    let format = std::fs::read_to_string(fixture("access/nginx-log_format.txt")).unwrap();
    let paths = [
        fixture("access/nginx-error.log"),
        fixture("access/nginx-upstreams.log"),
    ];
    let html = String::from_utf8(
        run(
            &[
                "analyze",
                "--format",
                "html",
                "--window",
                "5s",
                "--access-format",
                &format,
            ],
            &paths,
        )
        .stdout,
    )
    .unwrap();
    let file = out_dir().join("access.html");
    std::fs::write(&file, &html).unwrap();
    // Two 5-second windows: 8 of 28 (28.6%) and 12 of 19 (63.2%) on a
    // right axis up to 80% (ticks of 20), over the plot from y 270 to 46.
    assert!(
        html.contains(
            "<path class=\"rate-line\" id=\"client-rate\" d=\"M64 190H484V93.2H904\">\
             <title>clients' 5xx rate: 20 of 47 requests over the span</title></path>"
        ),
        "{html}"
    );
    for tick in ["0%", "20%", "40%", "60%", "80%"] {
        assert!(html.contains(&format!(">{tick}</text>")), "{tick}");
    }
    assert!(html.contains("clients' 5xx rate (right axis)</li>"));
    // Without access logs: no line, no right axis, no legend entry.
    let (_, plain, _) = page(&[fixture("access/nginx-error.log")], "no-access.html");
    assert!(!plain.contains("class=\"rate-line\""));
    assert!(!plain.contains("id=\"client-rate\""));
    assert!(!plain.contains("5xx rate"));
    assert!(!plain.contains("0%</text>"));

    let Some(chrome) = chromium() else {
        eprintln!(
            "skipped: no Chromium found (install Debian's chromium, or set UPCAUSE_CHROMIUM)"
        );
        return;
    };
    let b = browse(&chrome, &url(&file, ""), &["--dump-dom"], "access");
    assert_clean(&b, "access");
    assert!(b.dom.contains("id=\"client-rate\""));
    for (name, extra) in [
        ("access-light", vec!["--window-size=1280,2600"]),
        (
            "access-dark",
            vec![
                "--window-size=1280,2600",
                "--force-dark-mode",
                "--blink-settings=preferredColorScheme=0",
            ],
        ),
    ] {
        let png = out_dir().join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let shot = format!("--screenshot={}", png.display());
        let mut args = extra.clone();
        args.push(&shot);
        let b = browse(&chrome, &url(&file, ""), &args, name);
        assert_clean(&b, name);
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{name}");
    }
}
