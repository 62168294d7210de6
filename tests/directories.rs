//! Directories as `/var/log` holds them, built from real fixtures: read
//! into every folder below (links followed, each file once), rotations in
//! order per folder, access logs beside the error logs, files of folders
//! without `*error*log*` taken by their first lines, and the others listed
//! as not read.

mod common;

use std::fs;
use std::path::Path;

use common::{bin, fixture, json, stdout};
use serde_json::Value;

fn tree(root: &Path) {
    fs::create_dir_all(root.join("nginx/old")).unwrap();
    fs::create_dir_all(root.join("pods/ingress_ctrl/controller")).unwrap();
    fs::create_dir_all(root.join("containers")).unwrap();
    fs::create_dir_all(root.join("app")).unwrap();
    let copy = |from: &str, to: &str| {
        fs::copy(fixture(from), root.join(to)).unwrap();
    };
    copy("nginx/upstream_timeout.log", "nginx/error.log");
    copy("nginx/upstream_refused.log", "nginx/error.log.1");
    copy(
        "compressed/nginx-mixed.log.zst",
        "nginx/old/error.log.2.zst",
    );
    copy("dirs/access.log", "nginx/access.log");
    copy("envelopes/cri.log", "pods/ingress_ctrl/controller/0.log");
    std::os::unix::fs::symlink(
        root.join("pods/ingress_ctrl/controller/0.log"),
        root.join("containers/ingress-nginx-controller_ingress_controller-1.log"),
    )
    .unwrap();
    copy("dirs/access.log", "app/access.log.1");
    copy("dirs/web.out", "app/web.out");
    fs::write(root.join("app/README"), "notes about the app\n").unwrap();
}

fn analyze(args: &[&str], root: &Path) -> (Option<i32>, Value) {
    let out = bin()
        .args(["analyze", "--format", "json", "--threads", "1"])
        .args(args)
        .arg(root)
        .output()
        .unwrap();
    (out.status.code(), json(&out))
}

fn relative(r: &Value, key: &str, field: &str, root: &Path) -> Vec<String> {
    r[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f[field]
                .as_str()
                .unwrap()
                .strip_prefix(&format!("{}/", root.display()))
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn var_log_is_read_through() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let (code, r) = analyze(&[], root);
    assert_eq!(code, Some(0));
    assert_eq!(
        relative(&r, "files", "path", root),
        [
            "app/web.out",
            "app/access.log.1",
            "containers/ingress-nginx-controller_ingress_controller-1.log",
            "nginx/error.log.1",
            "nginx/error.log",
            "nginx/access.log",
            "nginx/old/error.log.2.zst",
        ]
    );
    assert_eq!(relative(&r, "skipped_files", "path", root), ["app/README"]);
    assert_eq!(
        r["skipped_files"][0]["reason"],
        "not an error or access log (unknown format)"
    );
    // Both access logs (one by its name, one by its lines): 3 requests
    // each, all 502.
    assert_eq!(r["client_impact"]["requests"], 6);
    assert_eq!(r["client_impact"]["statuses"]["502"], 6);
    assert_eq!(r["files"][1]["access_lines"], 3);
    assert_eq!(r["files"][5]["access_lines"], 3);
    assert_eq!(r["lines"]["unrecognized"], 0);
    // web.out: 3 refused; the CRI log: 5 scripts not found; the plain
    // rotations: refused.log and 5 timeouts; mixed.log: 120 + 60.
    let count = |id: &str| {
        r["causes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cause"] == id)
            .map_or(0, |c| c["count"].as_u64().unwrap())
    };
    let refused_alone = analyze(&[], &fixture("nginx/upstream_refused.log")).1["total_failures"]
        .as_u64()
        .unwrap();
    assert_eq!(count("upstream_refused"), 3 + refused_alone + 120);
    assert_eq!(count("upstream_timeout"), 5 + 60);
    assert_eq!(count("fastcgi_script"), 5);

    let out = bin()
        .args(["analyze", "--width", "200"])
        .arg(root)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("note: 1 file not read: it is in a folder without *error*log* files, and its first lines are no error or access log's:"), "{text}");
    assert!(
        text.contains("/app/README: not an error or access log (unknown format)"),
        "{text}"
    );
}

#[test]
fn no_recursive_reads_the_folder_given_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let (code, r) = analyze(&["--no-recursive"], &root.join("nginx"));
    assert_eq!(code, Some(0));
    assert_eq!(
        relative(&r, "files", "path", &root.join("nginx")),
        ["error.log.1", "error.log", "access.log"]
    );
    let (code, r) = analyze(&["--no-recursive"], root);
    assert_eq!(code, Some(2));
    assert_eq!(
        r["files"][0]["error"],
        "directory holds no error logs (*error*log*)"
    );
}
