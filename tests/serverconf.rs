//! `--config`: the servers' configuration beside their logs. The nginx
//! configuration in fixtures/config/ is the one fixtures/generate.sh starts
//! nginx with (its server paths under /srv/upcause-fixtures), and
//! nginx-T.txt is what `nginx -T` printed for it; the failures of
//! fixtures/nginx/mixed.log went through its `shop.example.test` server.

mod common;

use std::process::Command;

use serde_json::Value;

/// The binary, run from the repository root (the fixtures' paths are
/// relative to it).
fn at_root() -> Command {
    let mut c = common::bin();
    c.current_dir(common::root());
    c
}

fn analyze(config: &str) -> Value {
    let out = at_root()
        .args([
            "analyze",
            "-q",
            "--format",
            "json",
            "fixtures/nginx/mixed.log",
            "--config",
            config,
        ])
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

fn advice<'a>(r: &'a Value, cause: &str) -> &'a Value {
    let c = r["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cause"] == cause)
        .unwrap_or_else(|| panic!("no {cause}"));
    &c["config"][0]
}

#[test]
fn each_cause_names_the_location_nginx_chose_and_the_setting_in_effect() {
    for (config, file) in [
        ("fixtures/config/nginx.conf", "fixtures/config/nginx.conf"),
        (
            "fixtures/config/nginx-T.txt",
            "/srv/upcause-fixtures/nginx.conf",
        ),
    ] {
        let r = analyze(config);
        // The timeouts: /api/orders/:id went through `location /api/orders/`,
        // whose proxy_read_timeout (2s) is inherited from its server block,
        // as the log's 2-second timeouts show.
        let t = advice(&r, "upstream_timeout");
        assert_eq!(t["route"], "/api/orders/:id", "{config}");
        assert_eq!(
            t["location"],
            "location /api/orders/ of server shop.example.test"
        );
        assert_eq!(t["at"], format!("{file}:373"));
        assert_eq!(
            t["pass"],
            format!("proxy_pass http://orders_api at {file}:373")
        );
        assert_eq!(t["settings"][0]["name"], "proxy_read_timeout");
        assert_eq!(t["settings"][0]["value"], "2s");
        assert_eq!(t["settings"][0]["at"], format!("{file}:370"));
        assert_eq!(t["settings"][0]["set_here"], false);
        // The refusals: the users_api group with its one member.
        let u = advice(&r, "upstream_refused");
        assert_eq!(
            u["location"],
            "location /api/users/ of server shop.example.test"
        );
        let text = u["advice"].as_str().unwrap();
        assert!(
            text.contains(&format!(
                "upstream users_api at {file}:23: 127.0.0.1:18111 max_fails=1 fail_timeout=10s"
            )),
            "{text}"
        );
        assert!(
            text.contains("proxy_next_upstream is error timeout (nginx's default)"),
            "{text}"
        );
    }
}

#[test]
fn without_config_the_report_has_no_config_field() {
    let out = at_root()
        .args([
            "analyze",
            "-q",
            "--format",
            "json",
            "fixtures/nginx/mixed.log",
        ])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["causes"][0].get("config").is_none());
}

#[test]
fn the_text_report_quotes_the_setting_under_its_cause() {
    let out = at_root()
        .args([
            "analyze",
            "-q",
            "--color",
            "never",
            "fixtures/nginx/mixed.log",
        ])
        .args(["--config", "fixtures/config/nginx.conf"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("config") && l.contains("proxy_read_timeout"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("proxy_read_timeout is 2s (inherited from fixtures/config/nginx.conf:370) for location /api/orders/"),
        "{line}"
    );
}

#[test]
fn an_unreadable_or_broken_config_is_a_usage_error_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "http {\n    server {\n        listen 80\n    }\n}\n").unwrap();
    for (config, want) in [
        (bad.display().to_string(), "bad.conf:4".to_string()),
        (
            "/nonexistent/nginx.conf".to_string(),
            "/nonexistent/nginx.conf".to_string(),
        ),
    ] {
        let out = at_root()
            .args([
                "analyze",
                "-q",
                "fixtures/nginx/mixed.log",
                "--config",
                &config,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&want), "{err}");
        assert!(
            out.stdout.is_empty(),
            "nothing is analyzed with a broken --config"
        );
    }
}

fn lint(args: &[&str]) -> (i32, String) {
    let out = at_root().arg("lint").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn lint_finds_the_socket_mismatch_after_an_upgrade_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.conf");
    let pool = dir.path().join("www.conf");
    std::fs::write(
        &site,
        "http {\n  server {\n    location ~ \\.php$ {\n      fastcgi_pass unix:/run/php/php8.1-fpm.sock;\n    }\n  }\n}\n",
    )
    .unwrap();
    std::fs::write(
        &pool,
        "[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n",
    )
    .unwrap();
    let (code, out) = lint(&[
        "--format",
        "json",
        "--config",
        site.to_str().unwrap(),
        "--config",
        pool.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["count"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["cause"], "socket_missing");
    assert_eq!(f["at"], format!("{}:4", site.display()));
    assert!(
        f["message"].as_str().unwrap().contains(&format!(
            "/run/php/php8.2-fpm.sock (pool www, {}:3)",
            pool.display()
        )),
        "{f}"
    );
}

#[test]
fn lint_of_the_fixture_configuration_is_clean_and_unreadable_is_2() {
    // The mixed server keeps its users_api connections alive with HTTP/1.1
    // and an empty Connection header, as it should.
    let (code, out) = lint(&["--config", "fixtures/config/nginx.conf"]);
    assert_eq!((code, out.trim()), (0, "no configuration mistake found"));
    let (code, _) = lint(&["--config", "/nonexistent.conf"]);
    assert_eq!(code, 2);
}
