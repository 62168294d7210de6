//! Deploys: a real nginx reloaded and then restarted during traffic, each
//! time while its backend was unavailable for a few seconds
//! (fixtures/generate-deploy.sh). The incidents' edges to the second, each
//! labelled with the reload or restart line it followed; and the restarted
//! nginx's connection numbers (`*2` again) never merged with the old ones,
//! even where its pids are the old ones.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn analyze(path: &Path) -> Value {
    let out = common::bin()
        .args(["analyze", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (cause, status, count) of every cause.
fn statuses(r: &Value) -> Vec<(String, u64, u64)> {
    let mut v = Vec::new();
    for c in r["causes"].as_array().unwrap() {
        for s in c["statuses"].as_array().unwrap() {
            v.push((
                c["cause"].as_str().unwrap().to_string(),
                s["status"].as_u64().unwrap(),
                s["count"].as_u64().unwrap(),
            ));
        }
    }
    v
}

/// What the clients got in a phase, from the fixture's results.tsv.
fn clients(phase: &str, status: u64) -> u64 {
    let tsv = std::fs::read_to_string(fixture("deploy/results.tsv")).unwrap();
    tsv.lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f[0] == phase && f[1] == status.to_string())
        .map_or(0, |f| f[2].parse().unwrap())
}

#[test]
fn refusals_after_a_reload_and_timeouts_after_a_restart_are_deploys() {
    let log = fixture("deploy/reload_restart.log");
    let r = analyze(&log);
    let inc = r["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 2, "{inc:#?}");

    let (reload, restart) = (&inc[0], &inc[1]);
    assert_eq!(reload["start"], "2026-12-06T12:20:16");
    assert_eq!(reload["end"], "2026-12-06T12:20:20");
    assert_eq!(reload["root_cause"]["cause"], "upstream_refused");
    // The clients' 502s: 17 while the backend was down, one as it came
    // back.
    assert_eq!(
        reload["failed_requests"].as_u64(),
        Some(clients("reload", 502) + clients("between", 502))
    );
    let d = &reload["deploy"];
    assert_eq!(d["kind"], "reload");
    assert_eq!(d["at"], "2026-12-06T12:20:16");
    assert_eq!(d["seconds_before"], 0);
    assert_eq!(d["line"], 7);
    assert!(d["file"].as_str().unwrap().ends_with("reload_restart.log"));
    assert_eq!(
        d["text"],
        "2026/12/06 12:20:16 [notice] 14555#14555: signal 1 (SIGHUP) received from 16271, reconfiguring"
    );

    assert_eq!(restart["start"], "2026-12-06T12:20:59");
    assert_eq!(restart["end"], "2026-12-06T12:21:05");
    assert_eq!(restart["root_cause"]["cause"], "upstream_timeout");
    assert_eq!(
        restart["failed_requests"].as_u64(),
        Some(clients("restart", 504))
    );
    let d = &restart["deploy"];
    assert_eq!(d["kind"], "restart");
    assert_eq!(d["at"], "2026-12-06T12:20:58");
    assert_eq!(d["seconds_before"], 1);
    assert_eq!(d["line"], 36);
    assert_eq!(
        d["text"],
        "2026/12/06 12:20:58 [notice] 14555#14555: signal 15 (SIGTERM) received from 21101, exiting"
    );

    // The lifecycle line is evidence of the root cause, after its first
    // line; and it adds no failed request.
    for (i, line) in [(reload, 7), (restart, 36)] {
        let ev = i["root_cause"]["evidence"].as_array().unwrap();
        assert_eq!(ev.last().unwrap()["line"], line);
        assert_ne!(ev[0]["line"], line);
    }
    assert_eq!(
        statuses(&r),
        [
            ("upstream_timeout".into(), 504, 29),
            ("upstream_refused".into(), 502, 18)
        ]
    );
    assert_eq!(r["total_failures"], 47);
    assert_eq!(r["lines"]["unrecognized"], 0);
}

#[test]
fn the_text_report_says_an_incident_followed_a_deploy() {
    let out = common::bin()
        .args(["analyze", "--color", "never", "-q"])
        .arg(fixture("deploy/reload_restart.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8(out.stdout).unwrap();
    let deploys: Vec<&str> = t.lines().filter(|l| l.starts_with("   deploy ")).collect();
    assert_eq!(deploys.len(), 2, "{t}");
    assert!(
        deploys[0].starts_with("   deploy     started 0s after a reload at 12:20:16 (")
            && deploys[0].ends_with("reload_restart.log:7)"),
        "{t}"
    );
    assert!(
        deploys[1].starts_with("   deploy     started 1s after a restart at 12:20:58 (")
            && deploys[1].ends_with("reload_restart.log:36)"),
        "{t}"
    );
}

/// The restarted nginx numbers its connections from `*1` again: its
/// timeouts on `*26` .. `*58` have the same connection numbers and
/// request line as the refusals of the old nginx 40 s before. With its
/// pids made the old ones (a pid reused), the lifecycle lines between
/// them still keep them apart: every timeout is a request of its own,
/// which got its own 504, and nothing is taken for a retry of an old
/// refusal.
#[test]
fn a_restarted_nginx_is_never_merged_with_the_old_one_even_under_a_reused_pid() {
    let text = std::fs::read_to_string(fixture("deploy/reload_restart.log")).unwrap();
    // The two runs' connection numbers meet (the test has teeth).
    let cids = |pid: &str, what: &str| -> Vec<u64> {
        text.lines()
            .filter(|l| l.contains(&format!("{pid}#{pid}: *")) && l.contains(what))
            .map(|l| {
                let s = &l[l.find(": *").unwrap() + 3..];
                s[..s.find(' ').unwrap()].parse().unwrap()
            })
            .collect()
    };
    let old = cids("16273", "Connection refused");
    let new = cids("21104", "timed out");
    assert!(new.iter().filter(|c| old.contains(c)).count() >= 10);

    let reused = text
        .replace("21104#21104", "16273#16273")
        .replace("21103#21103", "14555#14555");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reused.log");
    std::fs::write(&path, reused).unwrap();
    let (a, b) = (
        analyze(&fixture("deploy/reload_restart.log")),
        analyze(&path),
    );
    assert_eq!(b["total_failures"], 47);
    assert_eq!(statuses(&a), statuses(&b));
    for (x, y) in a["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["incidents"].as_array().unwrap())
    {
        assert_eq!(x["failed_requests"], y["failed_requests"]);
        assert_eq!(x["causes"], y["causes"]);
    }
}

/// A log with no lifecycle line near its outage has no deploy.
#[test]
fn an_outage_with_no_reload_before_it_is_no_deploy() {
    let r = analyze(&fixture("incidents/backend_restart.log"));
    let inc = r["incidents"].as_array().unwrap();
    assert!(!inc.is_empty());
    assert!(inc.iter().all(|i| i.get("deploy").is_none()), "{inc:#?}");
}

#[test]
fn the_html_card_says_an_incident_followed_a_deploy() {
    let out = common::bin()
        .args(["analyze", "--format", "html"])
        .arg(fixture("deploy/reload_restart.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(
            "<dt>deploy</dt><dd>started 0s after a reload at 12:20:16 (<span class=\"mono\">"
        ),
        "no deploy in the first card"
    );
    assert!(page.contains("reload_restart.log:36</span>)</dd>"));
}

/// A saved report keeps the lifecycle lines, so `merge` finds the same
/// deploys as the analysis of the log: alone, and beside another host's
/// report (whose incident follows no deploy).
#[test]
fn merged_reports_keep_their_deploys() {
    let log = fixture("deploy/reload_restart.log");
    let other = fixture("incidents/backend_restart.log");
    let direct = analyze(&log);
    let kept = direct["activity"]["lifecycle"].as_array().unwrap();
    assert!(kept.iter().any(|l| l["kind"] == "reload" && l["line"] == 7));
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, r: &Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec(r).unwrap()).unwrap();
        p
    };
    let a = save("a.json", &direct);
    let b = save("b.json", &analyze(&other));
    let merge = |paths: &[&Path]| -> Value {
        let out = common::bin()
            .args(["merge", "--format", "json"])
            .args(paths)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let deploys = |r: &Value| -> Vec<(String, String, u64)> {
        r["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i.get("deploy").is_some())
            .map(|i| {
                let d = &i["deploy"];
                (
                    i["start"].as_str().unwrap().to_string(),
                    d["kind"].as_str().unwrap().to_string(),
                    d["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let want = vec![
        ("2026-12-06T12:20:16".to_string(), "reload".to_string(), 7),
        ("2026-12-06T12:20:59".to_string(), "restart".to_string(), 36),
    ];
    assert_eq!(deploys(&direct), want);
    let alone = merge(&[&a]);
    assert_eq!(deploys(&alone), want);
    assert_eq!(alone["incidents"], direct["incidents"]);
    let both = merge(&[&a, &b]);
    assert_eq!(deploys(&both), want);
    let together = common::bin()
        .args(["analyze", "--format", "json"])
        .args([&log, &other])
        .output()
        .unwrap();
    let together: Value = serde_json::from_slice(&together.stdout).unwrap();
    assert_eq!(both["incidents"], together["incidents"]);
}
