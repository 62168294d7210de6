//! The end of a run (building the report, writing it) may take a second
//! thread: the bytes written must be the same for any `--threads`, in
//! every output form, whatever parts a report has (incidents, clock
//! warnings, access logs' client impact, start-up errors, deploys).

mod common;

use common::{bin, root};

/// stdout of `upcause ARGS --threads N`, from the repository root (paths
/// in reports are as given).
fn run(args: &[&str], threads: usize) -> Vec<u8> {
    let out = bin()
        .current_dir(root())
        .args(args)
        .args(["--threads", &threads.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn any_thread_count_writes_the_same_report() {
    let inputs: &[&[&str]] = &[
        &["fixtures/nginx", "fixtures/apache", "fixtures/php-fpm"],
        &["fixtures/incidents"],
        &["fixtures/tz/nginx-error.log", "fixtures/tz/php-fpm.log"],
        &["fixtures/access", "fixtures/deploy", "fixtures/startup"],
    ];
    for files in inputs {
        for form in [
            &["analyze", "-q", "--format", "json"][..],
            &["analyze", "-q", "--color", "never"],
            &["analyze", "-q", "--format", "html"],
            &["check", "-q", "--format", "json", "--max", "any=10"],
        ] {
            let args: Vec<&str> = form.iter().chain(files.iter()).copied().collect();
            let one = run(&args, 1);
            assert!(
                one.len() > 1000,
                "{args:?}: {}",
                String::from_utf8_lossy(&one)
            );
            for threads in [2, 3, 8] {
                assert!(
                    run(&args, threads) == one,
                    "{args:?} at {threads} threads differs from 1 thread"
                );
            }
        }
    }
}

/// The activity, written on a second thread, has cells and their lines
/// here: the test above compares more than empty lists.
#[test]
fn the_compared_reports_have_an_activity() {
    let one = run(
        &["analyze", "-q", "--format", "json", "fixtures/incidents"],
        2,
    );
    let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
    assert!(v["activity"]["cells"].as_array().unwrap().len() > 10);
    assert!(v["activity"]["examples"].as_array().unwrap().len() > 10);
    assert!(!v["incidents"].as_array().unwrap().is_empty());
}
