//! A container runtime's partial pieces (CRI `P`) joined to the piece that
//! ends the line (`F`) when the pieces fall on both sides of a chunk
//! boundary: the failure is read whole, with its upstream and route,
//! wherever the boundary falls.
//!
//! A chunk is what one read of 1 MiB + 64 KiB of a file gives, cut after
//! its last whole line (`input::lines::ChunkReader`), so a line that ends
//! at or crosses that offset starts the next chunk.

mod common;

use common::{bin, fixture, json};

/// The first two lines of fixtures/envelopes/cri.log: one nginx line as
/// CRI wrote it in two pieces.
fn pieces() -> (String, String) {
    let text = std::fs::read_to_string(fixture("envelopes/cri.log")).unwrap();
    let mut lines = text.lines();
    let p = format!("{}\n", lines.next().unwrap());
    let f = format!("{}\n", lines.next().unwrap());
    assert!(p.contains(" stderr P ") && f.contains(" stderr F "));
    (p, f)
}

/// A noise line of the same file (an `[info]` line, no failure).
fn filler() -> String {
    let text = std::fs::read_to_string(fixture("envelopes/cri.log")).unwrap();
    format!("{}\n", text.lines().nth(2).unwrap())
}

#[test]
fn partial_pieces_across_the_chunk_boundary() {
    const CHUNK: usize = 1024 * 1024 + 64 * 1024;
    let (p, f) = pieces();
    let fill = filler();
    let dir = tempfile::tempdir().unwrap();
    // Where the P piece's newline falls, counted back from the boundary:
    // right on it or a little before, so that the F piece crosses it (P
    // ends the first chunk, F starts the next); both in the first chunk;
    // the P piece itself crossing it (both in the next chunk).
    for back in [0, 1, 40, f.len() / 2, f.len() + 3, p.len() / 2] {
        let p_end = CHUNK - back;
        let before = p_end - p.len();
        let mut log = String::new();
        while log.len() + fill.len() <= before {
            log.push_str(&fill);
        }
        // The rest as blank lines, so that P ends exactly at `p_end`.
        log.push_str(&"\n".repeat(before - log.len()));
        assert_eq!(log.len(), before);
        log.push_str(&p);
        log.push_str(&f);
        while log.len() < CHUNK + 100 * 1024 {
            log.push_str(&fill);
        }
        let path = dir.path().join(format!("cri-{back}.log"));
        std::fs::write(&path, &log).unwrap();
        for threads in ["1", "2"] {
            let out = bin()
                .args(["analyze", "--format", "json", "--threads", threads])
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0));
            let r = json(&out);
            let c = &r["causes"];
            assert_eq!(c.as_array().unwrap().len(), 1, "{back}: {c:#}");
            assert_eq!(c[0]["cause"], "fastcgi_script", "{back}");
            assert_eq!(c[0]["count"], 1, "{back}");
            assert_eq!(
                c[0]["upstreams"][0]["upstream"], "fastcgi://127.0.0.1:18200",
                "{back}"
            );
            assert_eq!(c[0]["routes"][0]["route"], "/wp-login.php", "{back}");
            assert_eq!(c[0]["lines"], 2, "{back}");
            assert_eq!(c[0]["statuses"][0]["status"], 404, "{back}");
            assert_eq!(
                r["lines"]["unrecognized"], 0,
                "{back}: {:#}",
                r["unrecognized_examples"]
            );
            assert_eq!(r["lines"]["continuation"], 1, "{back}");
            let line = log[..before].matches('\n').count() + 1;
            assert_eq!(c[0]["example"]["line"], line, "{back}");
        }
    }
}
