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
    // Its two single-server groups are notes: reported, exit 0.
    let (code, out) = lint(&["--config", "fixtures/config/nginx.conf"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("fixtures/config/nginx.conf:23: note: upstream_refused: upstream users_api has one server (127.0.0.1:18111), nothing to fall back to"),
        "{out}"
    );
    assert!(
        out.ends_with("no configuration mistake found, 2 notes\n"),
        "{out}"
    );
    let (code, _) = lint(&["--config", "/nonexistent.conf"]);
    assert_eq!(code, 2);
}

/// `analyze --format json LOG --config ...` from the repository root.
fn analyze_with(log: &str, configs: &[&str]) -> Value {
    let mut c = at_root();
    c.args(["analyze", "-q", "--format", "json", log]);
    for f in configs {
        c.args(["--config", f]);
    }
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const HTTPD: &str = "fixtures/config/httpd.conf";

#[test]
fn apache_failures_name_the_proxypass_httpd_chose_and_the_value_in_effect() {
    // fixtures/config/httpd.conf is what generate.sh ran Apache with; each
    // case's <VirtualHost> has its own ErrorLog, so the log names the
    // server, and the route in the log picks its rule in httpd's order.
    let f = HTTPD;
    let r = analyze_with("fixtures/apache/mixed.log", &[f]);
    // /api/orders/:id went through `ProxyPass /api/orders/ ... timeout=2`
    // (the log's 2-second timeouts), not the first rule, /api/users/.
    let t = advice(&r, "upstream_timeout");
    assert_eq!(t["route"], "/api/orders/:id");
    assert_eq!(t["at"], format!("{f}:217"));
    assert_eq!(
        t["pass"],
        format!("ProxyPass /api/orders/ http://127.0.0.1:18112/api/orders/ timeout=2 at {f}:217")
    );
    assert_eq!(
        t["location"],
        "VirtualHost 127.0.0.1:18480 (shop.example.test)"
    );
    assert_eq!(t["settings"][0]["name"], "timeout");
    assert_eq!(t["settings"][0]["value"], "2");
    assert_eq!(t["settings"][0]["set_here"], true);
    assert_eq!(t["upstream_from_config"], false);
    let text = t["advice"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "the backend timeout is timeout=2 (set at {f}:217)"
        )),
        "{text}"
    );
    // The refusals of the users backend: its rule and its retry=5.
    let u = advice(&r, "upstream_refused");
    assert_eq!(u["at"], format!("{f}:216"));
    assert_eq!(u["settings"][0]["name"], "retry");
    assert_eq!(u["settings"][0]["value"], "5");
    assert!(
        u["advice"]
            .as_str()
            .unwrap()
            .contains("sends to the single backend http://127.0.0.1:18111"),
        "{u}"
    );

    // Without timeout= on the rule, the vhost inherits ProxyTimeout 1.
    let r = analyze_with("fixtures/apache/upstream_timeout.log", &[f]);
    let t = advice(&r, "upstream_timeout");
    assert_eq!(t["at"], format!("{f}:68"));
    assert_eq!(t["settings"][0]["name"], "ProxyTimeout");
    assert_eq!(t["settings"][0]["value"], "1");
    assert_eq!(t["settings"][0]["at"], format!("{f}:30"));
    assert_eq!(t["settings"][0]["set_here"], false);
    // connectiontimeout=1 on the rule.
    let r = analyze_with("fixtures/apache/connect_timeout.log", &[f]);
    let t = advice(&r, "connect_timeout");
    assert_eq!(t["settings"][0]["name"], "connectiontimeout");
    assert_eq!(t["settings"][0]["value"], "1");
    assert_eq!(t["settings"][0]["at"], format!("{f}:75"));
    // TLS: the SSLProxy* settings and ProxyPreserveHost, set or default.
    let r = analyze_with("fixtures/apache/tls_verify.log", &[f]);
    let t = advice(&r, "tls_verify");
    let text = t["advice"].as_str().unwrap();
    assert!(
        text.contains(&format!("SSLProxyVerify require (set at {f}:165)"))
            && text.contains("ProxyPreserveHost Off (httpd's default)"),
        "{text}"
    );
    // The balancer, its members and retry's default.
    let r = analyze_with("fixtures/apache/no_live_upstreams.log", &[f]);
    let t = advice(&r, "no_live_upstreams");
    assert_eq!(t["at"], format!("{f}:105"));
    let text = t["advice"].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "balancer://app-pool (at {f}:100): http://127.0.0.1:18190 ({f}:101), http://127.0.0.1:18191 ({f}:102)"
        )) && text.contains("retry=60 (httpd's default)"),
        "{text}"
    );
}

#[test]
fn apache_lines_without_a_backend_get_it_from_the_config() {
    let f = HTTPD;
    let pool = "fixtures/config/php-fpm-www.conf";
    for (log, cause, route, backend, at) in [
        (
            "header_too_big",
            "header_too_big",
            Some("/login (GET)"),
            "http://127.0.0.1:18104",
            133,
        ),
        (
            "invalid_header",
            "invalid_header",
            Some("/api/items/7 (GET)"),
            "http://127.0.0.1:18105",
            140,
        ),
        (
            "fastcgi_script",
            "fastcgi_script",
            None,
            "fcgi://127.0.0.1:18200",
            181,
        ),
        (
            "php_fatal",
            "php_fatal",
            None,
            "fcgi://127.0.0.1:18200",
            188,
        ),
    ] {
        let r = analyze_with(&format!("fixtures/apache/{log}.log"), &[f, pool]);
        let c = r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cause"] == cause)
            .unwrap();
        assert_eq!(
            c["upstreams"],
            serde_json::json!([]),
            "{log}: the log names none"
        );
        let a = &c["config"][0];
        assert_eq!(a["route"].as_str(), route, "{log}");
        assert_eq!(a["upstream"], backend, "{log}");
        assert_eq!(a["upstream_from_config"], true, "{log}");
        assert_eq!(a["at"], format!("{f}:{at}"), "{log}");
        let text = a["advice"].as_str().unwrap();
        assert!(
            text.starts_with(&format!("backend {backend} (from config): ")),
            "{text}"
        );
    }
    // The value the fix quotes: ResponseFieldSize, httpd's default 8192
    // (the limit AH10124 reports).
    let r = analyze_with("fixtures/apache/header_too_big.log", &[f]);
    let a = advice(&r, "header_too_big");
    assert_eq!(a["settings"][0]["name"], "ResponseFieldSize");
    assert_eq!(a["settings"][0]["value"], "8192");
    assert_eq!(a["settings"][0]["at"], Value::Null);
    // The php-fpm pool behind a FastCGI timeout, with pm.max_children.
    let r = analyze_with("fixtures/apache/upstream_timeout_fastcgi.log", &[f, pool]);
    let text = advice(&r, "upstream_timeout")["advice"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("timeout=1 (set at {f}:195)"))
            && text.contains(&format!("pm.max_children = 4 ({pool}:16)")),
        "{text}"
    );
}

#[test]
fn apachectl_s_output_gives_the_user_and_the_files_agree() {
    // The socket the workers may not open, with the user from the file;
    // apache2-S.txt beside it changes nothing there but is read first.
    for configs in [
        vec![HTTPD],
        vec!["fixtures/config/apache2-S.txt", HTTPD],
        vec![HTTPD, "fixtures/config/apache2-S.txt"],
    ] {
        let r = analyze_with("fixtures/apache/socket_permission.log", &configs);
        let a = advice(&r, "socket_permission");
        assert_eq!(a["at"], format!("{HTTPD}:92"), "{configs:?}");
        let text = a["advice"].as_str().unwrap();
        assert!(
            text.contains(&format!("httpd's User nobody ({HTTPD}:9) may not connect")),
            "{text}"
        );
    }
}

#[test]
fn the_text_report_marks_the_backend_from_config() {
    let out = at_root()
        .args([
            "analyze",
            "-q",
            "--color",
            "never",
            "fixtures/apache/header_too_big.log",
            "--config",
            HTTPD,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("config"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(
            "backend http://127.0.0.1:18104 (from config): ResponseFieldSize 8192 (httpd's default)"
        ),
        "{line}"
    );
}

#[test]
fn a_broken_apache_config_is_an_error_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("httpd.conf");
    std::fs::write(
        &bad,
        "ServerName a\n<VirtualHost *:80>\n  ProxyPass / http://b/\n  FancyUnknown x y\n",
    )
    .unwrap();
    let out = at_root()
        .args(["analyze", "-q", "fixtures/apache/mixed.log", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:2: <VirtualHost> is not closed", bad.display())),
        "{err}"
    );
    // Unknown directives are kept, never an error.
    std::fs::write(
        &bad,
        "ServerName a\n<VirtualHost *:80>\n  FancyUnknown x y\n  <FancySection z>\n  </FancySection>\n</VirtualHost>\n",
    )
    .unwrap();
    let out = at_root()
        .args(["lint", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn follow_names_the_rule_too() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    // The same file name as the vhost's ErrorLog, as on the server.
    let log = dir.path().join("mixed.log");
    std::fs::copy(common::root().join("fixtures/apache/mixed.log"), &log).unwrap();
    let mut child = at_root()
        .args([
            "follow",
            "--from-start",
            "--no-state",
            "--format",
            "json",
            "--interval",
            "200ms",
            "--last",
            "1000d",
            "--window",
            "1d",
            "--config",
            HTTPD,
        ])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first report that has read the whole file (a few at most, one
    // every 200 ms).
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut found = None;
    for _ in 0..25 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let r: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if r["lines"]["total"] == 408 {
            found = Some(r);
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let r = found.expect("a report of the whole file");
    let t = advice(&r, "upstream_timeout");
    assert_eq!(t["at"], format!("{HTTPD}:217"));
    assert_eq!(t["settings"][0]["value"], "2");
}

#[test]
fn lint_with_logs_finds_the_header_buffer_they_overflow() {
    for (log, config, at, quote) in [
        (
            "fixtures/nginx/header_too_big.log",
            "fixtures/config/nginx.conf",
            "fixtures/config/nginx.conf:151",
            "proxy_buffer_size is 4k (the default) for location / of server header-too-big.example.test",
        ),
        (
            "fixtures/apache/header_too_big.log",
            HTTPD,
            "fixtures/config/httpd.conf:133",
            "ResponseFieldSize is 8192 (the default) for VirtualHost 127.0.0.1:18410 (header-too-big.example.test)",
        ),
    ] {
        let (code, out) = lint(&["--format", "json", "--config", config, log]);
        assert_eq!(code, 1, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["cause"] == "header_too_big")
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(f["at"], at);
        assert_eq!(f["severity"], "error");
        let m = f["message"].as_str().unwrap();
        assert!(
            m.starts_with(quote) && m.contains("the logs show 5 failed requests"),
            "{m}"
        );
    }
    // A log that cannot be read is exit 2, as for analyze.
    let (code, _) = lint(&["--config", HTTPD, "/nonexistent/error.log"]);
    assert_eq!(code, 2);
}

#[test]
fn lint_speaks_checks_ci_formats() {
    let args = [
        "--config",
        HTTPD,
        "--config",
        "fixtures/config/php-fpm-www.conf",
    ];
    let (code, out) = lint(&[&args[..], &["--format", "github"]].concat());
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with(
            "::error file=fixtures/config/httpd.conf,line=83,title=upcause lint%3A socket_missing::"
        ),
        "{out}"
    );
    assert_eq!(lines[2], "::notice title=upcause lint::2 errors");
    let (code, out) = lint(&[&args[..], &["--format", "junit"]].concat());
    assert_eq!(code, 1);
    assert!(
        out.contains(r#"<testsuite name="upcause lint" tests="2" failures="2">"#),
        "{out}"
    );
    assert!(
        out.contains(r#"<testcase classname="upcause.lint" name="socket_missing fixtures/config/httpd.conf:92">"#),
        "{out}"
    );
}

fn check(args: &[&str]) -> (i32, String) {
    let out = at_root().arg("check").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_gates_on_the_configurations_mistakes() {
    // The logs alone pass a generous gate; the configuration's two
    // socket mistakes fail max_lint_findings = 0, with their places.
    let base = [
        "fixtures/apache/mixed.log",
        "--max",
        "any=1000",
        "--config",
        HTTPD,
        "--config",
        "fixtures/config/php-fpm-www.conf",
    ];
    let (code, out) = check(&[&base[..], &["--format", "json"]].concat());
    assert_eq!(code, 0, "{out}");
    let (code, out) =
        check(&[&base[..], &["--format", "json", "--max-lint-findings", "0"]].concat());
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let rule = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "max_lint_findings")
        .unwrap();
    assert_eq!(
        (rule["actual"].as_u64(), rule["passed"].as_bool()),
        (Some(2), Some(false))
    );
    assert_eq!(rule["examples"][0]["file"], HTTPD);
    assert_eq!(rule["examples"][0]["line"], 83);
    let (code, _) = check(&[&base[..], &["--max-lint-findings", "2"]].concat());
    assert_eq!(code, 0);
    // From a rules file too; without --config it is a usage error.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "max_lint_findings = 0\n").unwrap();
    let r = rules.to_str().unwrap();
    let (code, out) = check(&[&base[..], &["--rules", r, "--format", "github"]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("max_lint_findings <= 0"), "{out}");
    let (code, _) = check(&["fixtures/apache/mixed.log", "--rules", r]);
    assert_eq!(code, 2);
}

#[test]
#[ignore = "reads Debian's installed nginx, apache2 and php-fpm configuration; .ci/run runs it after installing the packages"]
fn lint_of_debians_default_configurations_is_clean() {
    let first = |pattern: &str| {
        glob::glob(pattern)
            .ok()
            .and_then(|mut g| g.next())
            .and_then(Result::ok)
    };
    let mut checked = 0;
    for set in [
        vec!["/etc/nginx/nginx.conf", "/etc/php/*/fpm/php-fpm.conf"],
        vec![
            "/etc/apache2/apache2.conf",
            "/etc/apache2/conf-available/php*-fpm.conf",
            "/etc/php/*/fpm/php-fpm.conf",
        ],
    ] {
        let files: Vec<std::path::PathBuf> = set.iter().filter_map(|p| first(p)).collect();
        if files.len() < set.len() {
            eprintln!("skipped {set:?}: not all installed (apt-get install nginx apache2 php-fpm)");
            continue;
        }
        let mut args = Vec::new();
        for f in &files {
            args.push("--config".to_string());
            args.push(f.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out) = lint(&args);
        assert_eq!(
            (code, out.trim()),
            (0, "no configuration mistake found"),
            "{set:?}"
        );
        checked += 1;
    }
    eprintln!("{checked} of 2 default configurations checked");
}
