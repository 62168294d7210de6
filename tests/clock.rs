//! Logs whose clocks disagree (fixtures/generate-tz.sh: a real nginx
//! writing +01:00 in front of a real php-fpm writing UTC): `--tz-offset`
//! lines them up, and without it the report says which offset would.

mod common;

use serde_json::Value;

const NGINX: &str = "fixtures/tz/nginx-error.log";
const ACCESS: &str = "fixtures/tz/nginx-access.log";
const FPM: &str = "fixtures/tz/php-fpm.log";

fn run(args: &[&str]) -> std::process::Output {
    common::bin()
        .current_dir(common::root())
        .arg("analyze")
        .args(args)
        .output()
        .unwrap()
}

fn analyze(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    common::json(&out)
}

fn incident(r: &Value) -> (&str, &str, &str) {
    let i = r["incidents"].as_array().unwrap();
    assert_eq!(i.len(), 1, "{r:#}");
    (
        i[0]["start"].as_str().unwrap(),
        i[0]["end"].as_str().unwrap(),
        i[0]["root_cause"]["cause"].as_str().unwrap(),
    )
}

#[test]
fn as_written_the_php_fpm_lines_explain_nothing_and_the_report_says_so() {
    let r = analyze(&[NGINX, FPM]);
    assert_eq!(
        incident(&r),
        (
            "2026-12-06T14:38:32",
            "2026-12-06T14:39:43",
            "upstream_timeout"
        )
    );
    let w = r["clock_warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{r:#}");
    assert_eq!(w[0]["file"], FPM);
    assert_eq!(w[0]["against"], NGINX);
    assert_eq!(w[0]["offset"], "+01:00");
    assert_eq!(w[0]["offset_seconds"], 3600);
    assert_eq!(w[0]["matched"], 9);
    assert_eq!(w[0]["lines"], 9);
    assert_eq!(w[0]["suggestion"], format!("--tz-offset {FPM}=+01:00"));

    let text = common::stdout(&run(&[NGINX, FPM]));
    let second = text.lines().nth(1).unwrap();
    assert!(
        second.starts_with(
            "warning: fixtures/tz/php-fpm.log's times look 1 h off: none of its 9 lines fall within"
        ),
        "{text}"
    );
    assert!(
        text.contains("--tz-offset fixtures/tz/php-fpm.log=+01:00 lines them up"),
        "{text}"
    );
}

#[test]
fn tz_offset_lines_php_fpm_up_with_nginx() {
    let expect = |r: &Value| {
        assert_eq!(
            incident(r),
            (
                "2026-12-06T14:38:32",
                "2026-12-06T14:39:43",
                "php_fpm_max_children"
            )
        );
        let ev = &r["incidents"][0]["root_cause"]["evidence"][0];
        assert_eq!(ev["file"], FPM);
        assert_eq!(ev["line"], 4);
        assert_eq!(ev["offset_seconds"], 0);
        assert!(r.get("clock_warnings").is_none(), "{r:#}");
        assert_eq!(
            common::cause(r, "php_fpm_max_children")["first_seen"],
            "2026-12-06T14:38:32"
        );
        assert!(r["files"][0].get("tz_offset").is_none());
        assert_eq!(r["files"][1]["tz_offset"], "+01:00");
    };
    // The file, a glob, the folder with a more specific rule for nginx.
    expect(&analyze(&[
        NGINX,
        FPM,
        "--tz-offset",
        &format!("{FPM}=+01:00"),
    ]));
    expect(&analyze(&[
        NGINX,
        FPM,
        "--tz-offset",
        "fixtures/tz/php*.log=+0100",
    ]));
    let r = analyze(&[
        NGINX,
        FPM,
        "--tz-offset",
        "fixtures/tz=+01:00",
        "--tz-offset",
        &format!("./{NGINX}=+00:00"),
    ]);
    assert_eq!(r["files"][0]["tz_offset"], "+00:00");
    assert_eq!(incident(&r).2, "php_fpm_max_children");
    // The other way round: nginx brought back to UTC.
    let r = analyze(&[NGINX, FPM, "--tz-offset", &format!("{NGINX}=-01:00")]);
    assert_eq!(
        incident(&r),
        (
            "2026-12-06T13:38:32",
            "2026-12-06T13:39:43",
            "php_fpm_max_children"
        )
    );
}

#[test]
fn since_and_until_see_the_shifted_times() {
    let fpm_seen = |extra: &[&str]| {
        let mut a = vec![NGINX, FPM, "--since", "2026-12-06 14:00"];
        a.extend_from_slice(extra);
        let r = analyze(&a);
        r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["cause"] == "php_fpm_max_children")
    };
    assert!(!fpm_seen(&[]));
    assert!(fpm_seen(&["--tz-offset", &format!("{FPM}=+01:00")]));
}

#[test]
fn access_log_times_are_shifted_too() {
    let join = |extra: &[&str]| {
        let mut a = vec![NGINX, ACCESS];
        a.extend_from_slice(extra);
        let r = analyze(&a);
        (
            r["client_impact"]["explained"].as_u64().unwrap(),
            r["client_impact"]["unexplained"].as_u64().unwrap(),
            r["incidents"][0]["start"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(join(&[]), (158, 0, "2026-12-06T14:38:32".into()));
    // Only the access log moved: no client 5xx falls in its failure's time.
    assert_eq!(
        join(&["--tz-offset", &format!("{ACCESS}=-01:00")]),
        (0, 158, "2026-12-06T14:38:32".into())
    );
    assert_eq!(
        join(&[
            "--tz-offset",
            &format!("{ACCESS}=-01:00"),
            "--tz-offset",
            &format!("{NGINX}=-01:00")
        ]),
        (158, 0, "2026-12-06T13:38:32".into())
    );
}

#[test]
fn bad_and_unused_offsets() {
    for bad in ["php.log", "php.log=+25:00", "=+01:00", "php.log=01:00"] {
        let out = run(&[NGINX, "--tz-offset", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            common::stderr(&out).contains("invalid --tz-offset"),
            "{bad}: {}",
            common::stderr(&out)
        );
    }
    let out = run(&[NGINX, "--format", "json", "--tz-offset", "nope.log=+01:00"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        common::stderr(&out).contains("warning: --tz-offset nope.log: no input is that file"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn a_kernel_log_off_by_two_hours_is_told_and_logs_that_agree_are_not() {
    let i = |f: &str| format!("fixtures/incidents/{f}");
    let (web, fpm, kern) = (
        i("fpm_dynamic.log"),
        i("fpm_dynamic.php-fpm.log"),
        i("fpm_dynamic.kern.log"),
    );
    let r = analyze(&[&web, &fpm, &kern]);
    assert!(r.get("clock_warnings").is_none(), "{r:#}");
    assert_eq!(r["incidents"][0]["root_cause"]["cause"], "kernel_oom_kill");
    // The kernel log moved two hours back: its five lines (an OOM kill, a
    // segfault, SYN flooding, conntrack, file-max) explain nothing, and
    // +02:00 is what brings them back.
    let r = analyze(&[&web, &fpm, &kern, "--tz-offset", &format!("{kern}=-02:00")]);
    assert_eq!(
        r["incidents"][0]["root_cause"]["cause"],
        "php_fpm_max_children"
    );
    let w = &r["clock_warnings"];
    assert_eq!(w.as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(w[0]["file"], kern.as_str());
    assert_eq!(w[0]["against"], web.as_str());
    assert_eq!(w[0]["offset"], "+02:00");
    assert_eq!(
        (w[0]["matched"].as_u64(), w[0]["lines"].as_u64()),
        (Some(5), Some(5))
    );
    // Every incident fixture together, in one zone: nothing to say.
    let all: Vec<String> = std::fs::read_dir(common::fixture("incidents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| p.display().to_string())
        .collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let r = analyze(&all);
    assert!(r.get("clock_warnings").is_none(), "{r:#}");
}

#[test]
fn follow_shifts_the_followed_files_it_is_told_to() {
    let first_seen = |extra: &[&str]| {
        let state = tempfile::tempdir().unwrap();
        let child = common::bin()
            .current_dir(common::root())
            .args(["follow", "--from-start", "--no-state", "--format", "json"])
            .args(["--interval", "200ms", "--last", "3h", NGINX, FPM])
            .args(extra)
            .env("XDG_STATE_HOME", state.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let pid = child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let text = common::stdout(&out);
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        common::cause(&last, "php_fpm_max_children")["first_seen"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(first_seen(&[]), "2026-12-06T13:38:32");
    assert_eq!(
        first_seen(&["--tz-offset", &format!("{FPM}=+01:00")]),
        "2026-12-06T14:38:32"
    );
}

#[test]
fn the_html_page_says_it_too() {
    let out = run(&["--format", "html", NGINX, FPM]);
    let page = common::stdout(&out);
    assert!(
        page.contains(
            "<p class=\"note\">fixtures/tz/php-fpm.log's times look off by +01:00: none of its 9 \
             lines fall within the incidents of fixtures/tz/nginx-error.log as written, 9 do once \
             shifted. Times are compared as written: <code>--tz-offset \
             fixtures/tz/php-fpm.log=+01:00</code> lines them up.</p>"
        ),
        "{page}"
    );
}
