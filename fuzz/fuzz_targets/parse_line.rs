//! One line of arbitrary bytes through every parser and the catalog.
//!
//! Properties: nothing panics; every borrowed field of the parse lies
//! inside the input line (the parsers only ever slice it); a recognised
//! line keeps its body inside the line.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use upcause::internals::{Catalog, ParseState, apache, nginx, parse_head, php_fpm, Scratch};

static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::new);

/// True when `part` is a sub-slice of `whole` (same memory).
fn inside(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

fuzz_target!(|data: &[u8]| {
    // The line reader never hands out a line with '\n' in it; the parsers
    // still must not panic on one, so the raw bytes go in as they are.
    let mut state = ParseState::new(2026);
    if let Some(head) = parse_head(data, &mut state, &mut Scratch::default()) {
        // A decoded envelope (JSON, a joined record) is read from the
        // scratch; anything else only slices the line.
        if !data.contains(&b'{') && !data.contains(&b'\n') {
            assert!(inside(data, head.body));
            assert!(inside(data, head.level));
            assert!(inside(data, head.module));
        }
        if let Some(t) = head.time {
            // Rendering the time must not panic either.
            let _ = t.iso();
        }
        let _ = CATALOG.classify(&head, &mut Vec::new());
    }
    // The body parsers on their own, on any bytes.
    let b = nginx::Body::parse(data);
    for part in [b.message, b.action] {
        assert!(inside(data, part));
    }
    let c = &b.ctx;
    for v in [
        c.client, c.server, c.request, c.upstream, c.host, c.referrer, c.resolver,
    ]
    .into_iter()
    .flatten()
    {
        assert!(inside(data, v));
    }
    let a = apache::Body::parse(data);
    assert!(inside(data, a.message));
    if let Some(r) = a.referer {
        assert!(inside(data, r));
    }
    if let Some(p) = a.peer {
        assert!(inside(data, p.addr));
    }
    let p = php_fpm::Body::parse(data);
    assert!(inside(data, p.message));
    // Each line of a multi-line input, with state carried over (syslog
    // year hints), as the pipeline does it.
    let mut state = ParseState::new(1970);
    for line in data.split(|&b| b == b'\n') {
        if let Some(head) = parse_head(line, &mut state, &mut Scratch::default()) {
            let _ = CATALOG.classify(&head, &mut Vec::new());
        }
    }
});
