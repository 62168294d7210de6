use super::*;
use crate::keys::Key;

/// Counts a failure at `t` into `a`.
fn add(a: &mut Aggregator, cause: &str, server: Server, t: i64, up: &str, new_request: bool) {
    let f = crate::event::Failure {
        cause: CauseId::from_id(cause).unwrap(),
        server,
        status: None,
        time: Some(LocalTime(t)),
        micros: crate::event::NO_MICROS,
        upstream: Key::None,
        route: Key::None,
        new_request,
        lines: 1,
        file: 0,
        line: t as u64,
        repeat: false,
        restatus: None,
        join: Default::default(),
    };
    let u = a.upstreams.intern(up.as_bytes());
    let r = a.routes.intern(b"/api/x");
    a.add(&f, u, r, format!("line at {t}").as_bytes());
}

fn id(s: &str) -> CauseId {
    CauseId::from_id(s).unwrap()
}

/// A small deterministic generator.
fn lcg(x: &mut u64) -> u64 {
    *x = x
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *x >> 33
}

#[test]
fn baseline_is_median_and_mad_with_the_empty_windows() {
    assert_eq!(baseline(&[], 10), (0.0, 0.0));
    assert_eq!(baseline(&[5, 5, 5], 3), (5.0, 0.0));
    // 2 non-empty of 5: median 0, deviations 0,0,0,1,9 -> 0.
    assert_eq!(baseline(&[1, 9], 5), (0.0, 0.0));
    // 1,2,3,4,100: median 3, deviations 2,1,0,1,97 -> 1.
    assert_eq!(baseline(&[1, 2, 3, 4, 100], 5), (3.0, 1.0));
    // Even count: the mean of the middle two.
    assert_eq!(baseline(&[2, 4], 2), (3.0, 1.0));
    // A span far longer than its cells costs nothing.
    assert_eq!(baseline(&[3], 1 << 40), (0.0, 0.0));
    assert_eq!(threshold((0.0, 0.0)), MIN_EXCESS);
}

#[test]
fn flat_noise_over_two_days_is_no_incident() {
    let mut a = Aggregator::new(60);
    let mut x = 7;
    let mut t = 1_000_000;
    let end = t + 2 * 86_400;
    while t < end {
        let cause = ["upstream_timeout", "upstream_refused", "connection_reset"]
            [(lcg(&mut x) % 3) as usize];
        let up = ["http://a:1", "http://b:1", "http://c:1"][(lcg(&mut x) % 3) as usize];
        add(&mut a, cause, Server::Nginx, t, up, true);
        // Sometimes two close together.
        if lcg(&mut x).is_multiple_of(10) {
            add(&mut a, cause, Server::Nginx, t + 1, up, true);
        }
        t += 20 + (lcg(&mut x) % 400) as i64;
    }
    let found = find(&a);
    assert!(found.incidents.is_empty(), "{:?}", found.incidents);
}

#[test]
fn an_outage_among_noise_has_exact_edges_and_its_peak() {
    let mut a = Aggregator::new(60);
    let mut x = 1;
    for k in 0..200 {
        let t = 10_000 + k * 97 + (lcg(&mut x) % 50) as i64;
        add(
            &mut a,
            "upstream_timeout",
            Server::Nginx,
            t,
            "http://slow:1",
            true,
        );
    }
    // 65 seconds of refusals, 3 a second, from 14_003 to 14_067.
    for s in 14_003..=14_067 {
        for _ in 0..3 {
            add(
                &mut a,
                "upstream_refused",
                Server::Nginx,
                s,
                "http://users:1",
                true,
            );
        }
    }
    let found = find(&a);
    assert_eq!(found.incidents.len(), 1, "{:?}", found.incidents);
    let inc = &found.incidents[0];
    assert_eq!((inc.start.0, inc.end.0), (14_003, 14_067));
    assert_eq!(inc.root, id("upstream_refused"));
    assert_eq!(inc.failed_requests, 65 * 3);
    assert_eq!(inc.peak_count, 30);
    assert_eq!(inc.peak_end - inc.peak_start, 10);
    assert!(inc.echoes.is_empty());
    assert_eq!(inc.servers[Server::Nginx], 195);
}

#[test]
fn a_cascade_is_one_incident_rooted_in_the_members() {
    let mut a = Aggregator::new(60);
    // Two members time out, get disabled, the group has no live servers.
    for s in [50_000, 50_001, 50_011, 50_021] {
        add(
            &mut a,
            "upstream_timeout",
            Server::Nginx,
            s,
            "http://10.0.0.1:80",
            true,
        );
        add(
            &mut a,
            "upstream_timeout",
            Server::Nginx,
            s,
            "http://10.0.0.2:80",
            false,
        );
    }
    for s in 50_002..50_030 {
        for _ in 0..4 {
            add(
                &mut a,
                "no_live_upstreams",
                Server::Nginx,
                s,
                "backend",
                true,
            );
        }
    }
    let found = find(&a);
    assert_eq!(found.incidents.len(), 1);
    let inc = &found.incidents[0];
    assert_eq!(inc.root, id("upstream_timeout"));
    assert_eq!((inc.start.0, inc.end.0), (50_000, 50_029));
    assert_eq!(inc.echoes, [(id("no_live_upstreams"), 28 * 4)]);
    let roots: Vec<u32> = inc.root_upstreams.iter().map(|(u, _)| u).collect();
    assert_eq!(roots.len(), 2);
    assert_eq!(inc.failed_requests, 28 * 4 + 4);
    // The root's first line comes first in the evidence, then the echo's.
    assert_eq!(inc.evidence[0].line.line, 50_000);
    assert_eq!(inc.evidence[1].line.line, 50_002);
}

#[test]
fn two_outages_with_quiet_between_and_a_stray_timeout_alone() {
    let mut a = Aggregator::new(60);
    for s in 1000..1015 {
        add(
            &mut a,
            "upstream_refused",
            Server::Nginx,
            s,
            "http://users:1",
            true,
        );
        add(
            &mut a,
            "upstream_refused",
            Server::Nginx,
            s,
            "http://users:1",
            true,
        );
    }
    add(
        &mut a,
        "upstream_timeout",
        Server::Nginx,
        1060,
        "http://orders:1",
        true,
    );
    for s in 1100..1120 {
        add(
            &mut a,
            "upstream_timeout",
            Server::Nginx,
            s,
            "http://orders:1",
            true,
        );
    }
    let found = find(&a);
    let got: Vec<(i64, i64, CauseId)> = found
        .incidents
        .iter()
        .map(|i| (i.start.0, i.end.0, i.root))
        .collect();
    assert_eq!(
        got,
        [
            (1000, 1014, id("upstream_refused")),
            (1100, 1119, id("upstream_timeout"))
        ]
    );
    assert_eq!(
        found.quiet,
        [Quiet {
            start: LocalTime(1014),
            end: LocalTime(1100),
            failed_requests: 1
        }]
    );
    // A lone burst under the minimum size is no incident.
    let mut b = Aggregator::new(60);
    for _ in 0..4 {
        add(
            &mut b,
            "upstream_timeout",
            Server::Nginx,
            500,
            "http://x:1",
            true,
        );
    }
    assert!(find(&b).incidents.is_empty());
}

#[test]
fn php_fpm_lines_explain_the_fastcgi_failures_and_add_no_requests() {
    let mut a = Aggregator::new(60);
    add(
        &mut a,
        "php_fpm_max_children",
        Server::PhpFpm,
        7_995,
        "php-fpm:shop",
        true,
    );
    for s in 8_000..8_010 {
        add(
            &mut a,
            "upstream_timeout",
            Server::Nginx,
            s,
            "unix:/run/php/php8.2-fpm-shop.sock",
            true,
        );
    }
    // Another pool's line, named by no upstream, is left out.
    add(
        &mut a,
        "php_fpm_child_crash",
        Server::PhpFpm,
        8_001,
        "php-fpm:admin",
        true,
    );
    let found = find(&a);
    assert_eq!(found.incidents.len(), 1);
    let inc = &found.incidents[0];
    assert_eq!(inc.root, id("php_fpm_max_children"));
    assert_eq!(inc.failed_requests, 10);
    assert_eq!(inc.causes, [(id("upstream_timeout"), 10)]);
    assert_eq!(inc.servers[Server::PhpFpm], 1);
    assert_eq!(inc.evidence[0].line.line, 7_995);
    assert_eq!(inc.evidence[1].line.line, 8_000);
    assert!(names_pool("unix:/run/php/php8.2-fpm-shop.sock", "shop"));
    assert!(!names_pool(
        "unix:/run/php/php8.2-fpm-shopping.sock",
        "shop"
    ));
    assert!(!names_pool("é", "shop"));
}

#[test]
fn a_crashing_pool_behind_a_tcp_address_is_the_root_when_no_address_names_a_pool() {
    let mut a = Aggregator::new(60);
    for s in 9_000..9_008 {
        add(
            &mut a,
            "php_fpm_child_crash",
            Server::PhpFpm,
            s,
            "php-fpm:crash",
            true,
        );
        add(
            &mut a,
            "connection_reset",
            Server::Nginx,
            s,
            "fastcgi://127.0.0.1:9000",
            true,
        );
    }
    let found = find(&a);
    let inc = &found.incidents[0];
    assert_eq!(inc.root, id("php_fpm_child_crash"));
    assert_eq!(inc.failed_requests, 8);
    assert_eq!(inc.servers[Server::PhpFpm], 8);
    assert_eq!((inc.start.0, inc.end.0), (9_000, 9_007));
    // Behind a proxy_pass to HTTP, php-fpm explains nothing.
    let mut b = Aggregator::new(60);
    for s in 9_000..9_008 {
        add(
            &mut b,
            "php_fpm_child_crash",
            Server::PhpFpm,
            s,
            "php-fpm:crash",
            true,
        );
        add(
            &mut b,
            "connection_reset",
            Server::Nginx,
            s,
            "http://127.0.0.1:8080",
            true,
        );
    }
    let found = find(&b);
    assert_eq!(found.incidents.len(), 1);
    assert_eq!(found.incidents[0].root, id("connection_reset"));
    assert_eq!(found.incidents[0].servers[Server::PhpFpm], 0);
}
