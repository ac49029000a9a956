//! What the command tests share: running the binary, insisting it succeeded, and making a
//! small StoryWorld dataset to train on.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `moviedreamer` with `args`.
pub fn moviedreamer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moviedreamer"))
        .args(args)
        .output()
        .expect("the moviedreamer binary runs")
}

/// The standard output of a run that must have succeeded (else both outputs, in the panic).
pub fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    stdout
}

/// Generates a StoryWorld dataset of 10 films (film 9 is the test split) of `shots` shots
/// at `size` px into `out`.
pub fn small_world(out: &Path, shots: usize, size: usize) {
    let (shots, size) = (shots.to_string(), size.to_string());
    ok(moviedreamer(&[
        "world",
        "generate",
        "--films",
        "10",
        "--shots",
        &shots,
        "--size",
        &size,
        "--frames",
        "8",
        "--out",
        &out.display().to_string(),
    ]));
}
