//! Training the evaluator and measuring its accuracy, as a user runs them, at the micro
//! preset.

use std::process::{Command, Output};

fn moviedreamer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moviedreamer"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[test]
fn train_the_evaluator_and_read_its_accuracy_per_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    ok(moviedreamer(&[
        "world",
        "generate",
        "--films",
        "10",
        "--shots",
        "4",
        "--size",
        "32",
        "--frames",
        "8",
        "--out",
        &path("data"),
    ]));
    let out = ok(moviedreamer(&[
        "train",
        "evaluator",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--out",
        &path("run"),
    ]));
    assert!(out.contains("step 10"), "{out}");

    let out = ok(moviedreamer(&[
        "eval",
        "evaluator",
        "--data",
        &path("data"),
        "--model",
        &path("run/model"),
        "-o",
        &path("eval"),
    ]));
    for attribute in ["location", "shot_type", "presence", "pose", "hair_colour"] {
        assert!(out.contains(&format!("| {attribute} |")), "{out}");
    }
    let scores: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("eval/scores.json")).unwrap()).unwrap();
    let rows = scores["accuracy"].as_array().unwrap();
    assert_eq!(rows.len(), 4 + 2 + 10);
    // One test film of four keyframes: four cases for each scene attribute, three slots each.
    assert_eq!(rows[0]["cases"].as_u64(), Some(4));
    assert_eq!(rows[4]["cases"].as_u64(), Some(12));

    // The evaluator reads the size it was trained at, and says so.
    ok(moviedreamer(&[
        "world",
        "generate",
        "--films",
        "10",
        "--shots",
        "2",
        "--size",
        "64",
        "--frames",
        "8",
        "--out",
        &path("big"),
    ]));
    let wrong = moviedreamer(&[
        "eval",
        "evaluator",
        "--data",
        &path("big"),
        "--model",
        &path("run/model"),
        "-o",
        &path("eval-big"),
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("the evaluator takes 32 px"));
}
