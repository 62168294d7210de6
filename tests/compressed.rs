//! Rotated logs compressed with bzip2, xz and zstd (logrotate's
//! `compresscmd`), made by the real tools from real fixture logs (see
//! fixtures/README.md), are read by their magic bytes and give exactly the
//! report of the plain log, also when a file holds several streams one
//! after the other; formats upcause does not read are still refused.

mod common;

use common::{bin, fixture, json};
use serde_json::Value;

fn analyze(paths: &[std::path::PathBuf]) -> (Option<i32>, Value) {
    let out = bin()
        .args(["analyze", "--format", "json", "--threads", "1"])
        .args(paths)
        .output()
        .unwrap();
    (out.status.code(), json(&out))
}

/// The report without the input names.
fn without_names(mut r: Value) -> Value {
    for f in r["files"].as_array_mut().unwrap() {
        f["path"] = Value::Null;
    }
    let strip = |v: &mut Value| {
        if let Some(e) = v.get_mut("example").filter(|e| e.is_object()) {
            e["file"] = Value::Null;
        }
    };
    for c in r["causes"].as_array_mut().unwrap() {
        strip(c);
    }
    for i in r["incidents"].as_array_mut().unwrap() {
        for e in i["root_cause"]["evidence"].as_array_mut().unwrap() {
            e["file"] = Value::Null;
        }
    }
    for e in r["activity"]["examples"].as_array_mut().unwrap() {
        e["file"] = Value::Null;
    }
    r
}

#[test]
fn each_compression_gives_the_plain_report() {
    for (plain, compressed) in [
        ("nginx/mixed.log", "compressed/nginx-mixed.log.bz2"),
        ("nginx/mixed.log", "compressed/nginx-mixed.log.xz"),
        ("nginx/mixed.log", "compressed/nginx-mixed.log.zst"),
        (
            "nginx/mixed.log",
            "compressed/nginx-mixed-two-parts.log.bz2",
        ),
        ("nginx/mixed.log", "compressed/nginx-mixed-two-parts.log.xz"),
        (
            "nginx/mixed.log",
            "compressed/nginx-mixed-two-parts.log.zst",
        ),
        ("apache/mixed.log", "compressed/apache-mixed.log.zst"),
    ] {
        let (code, want) = analyze(&[fixture(plain)]);
        assert_eq!(code, Some(0));
        let (code, got) = analyze(&[fixture(compressed)]);
        assert_eq!(code, Some(0), "{compressed}");
        assert_eq!(got["total_failures"], 180, "{compressed}");
        assert_eq!(
            got["lines"]["total"], want["lines"]["total"],
            "{compressed}"
        );
        assert_eq!(
            without_names(got),
            without_names(want.clone()),
            "{compressed}"
        );
    }
}

#[test]
fn a_directory_of_mixed_rotations_is_read_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(fixture(from), dir.path().join(to)).unwrap();
    };
    copy("compressed/nginx-mixed.log.zst", "error.log.4.zst");
    copy("compressed/nginx-mixed.log.xz", "error.log.3.xz");
    copy("compressed/nginx-mixed.log.bz2", "error.log.2.bz2");
    copy("nginx/mixed.log", "error.log.1");
    let (code, r) = analyze(&[dir.path().to_path_buf()]);
    assert_eq!(code, Some(0));
    let names: Vec<String> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            p.rsplit('/').next().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "error.log.4.zst",
            "error.log.3.xz",
            "error.log.2.bz2",
            "error.log.1"
        ]
    );
    assert_eq!(r["total_failures"], 4 * 180);
}

#[test]
fn a_corrupt_stream_is_an_input_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, from) in [
        ("error.log.1.bz2", "compressed/nginx-mixed.log.bz2"),
        ("error.log.1.xz", "compressed/nginx-mixed.log.xz"),
        ("error.log.1.zst", "compressed/nginx-mixed.log.zst"),
    ] {
        let mut bytes = std::fs::read(fixture(from)).unwrap();
        let at = bytes.len() / 2;
        bytes.truncate(at);
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let (code, r) = analyze(std::slice::from_ref(&path));
        assert_eq!(code, Some(2), "{name}");
        assert!(
            r["files"][0]["error"].is_string(),
            "{name}: {:#}",
            r["files"]
        );
    }
}
