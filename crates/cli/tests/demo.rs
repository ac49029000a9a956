//! `moviedreamer demo` as a new user runs it.

use std::process::Command;

#[test]
fn demo_checks_the_bundled_script_and_writes_a_run_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let output = Command::new(env!("CARGO_BIN_EXE_moviedreamer"))
        .args(["demo", "-o", run.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Not built yet"),
        "the demo must say what is missing: {stdout}"
    );

    let manifest = moviedreamer_pipeline::Manifest::load(&run).unwrap();
    assert_eq!(manifest.items.len(), 16);
    assert_eq!(manifest.progress(), [16, 0, 0, 0]);
    assert!(manifest.script_unchanged().unwrap());
}
