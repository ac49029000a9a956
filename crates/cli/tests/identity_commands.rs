//! Training the identity encoder and measuring it, as a user runs them, at the micro preset.

use std::path::Path;
mod common;

use common::{moviedreamer, ok};

#[test]
fn train_identity_then_measure_it_on_unseen_characters() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    ok(moviedreamer(&[
        "world",
        "generate",
        "--films",
        "10",
        "--shots",
        "6",
        "--size",
        "32",
        "--frames",
        "8",
        "--portraits",
        "2",
        "--out",
        &path("data"),
    ]));
    let train = [
        "train",
        "identity",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--out",
        &path("run"),
    ];
    let out = ok(moviedreamer(&train));
    assert!(out.contains("step 12"), "{out}");
    assert!(Path::new(&path("run/model/model.safetensors")).is_file());

    let out = ok(moviedreamer(&[
        "eval",
        "identity",
        "--data",
        &path("data"),
        "--model",
        &path("run/model"),
        "-o",
        &path("eval"),
    ]));
    assert!(out.contains("keyframe faces of"), "{out}");
    let scores: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("eval/scores.json")).unwrap()).unwrap();
    let accuracy = scores["scores"]["within_film_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy));
    assert!(scores["scores"]["faces"].as_u64().unwrap() > 0);

    // A batch larger than the cast of the whole split is refused with the way out.
    let refused = moviedreamer(&[
        "train",
        "identity",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--batch",
        "5000",
        "--out",
        &path("greedy"),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pass a smaller --batch"));
}
