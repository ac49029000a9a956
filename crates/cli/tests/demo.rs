//! `moviedreamer demo` as a new user runs it: without bundled models it says what to do;
//! given models (here a micro set from `train all`), it makes the bundled script's film of
//! 120 shots and scores it against the film's labels.

mod common;

use common::{moviedreamer, ok, small_world};

#[test]
fn without_models_the_demo_says_how_to_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(moviedreamer(&[
        "demo",
        "-o",
        &dir.path().join("run").display().to_string(),
        "--models",
        &dir.path().join("none").display().to_string(),
    ]));
    assert!(out.contains("120 shots"), "{out}");
    assert!(out.contains("No trained models are bundled yet"), "{out}");
    assert!(out.contains("moviedreamer train all"), "{out}");
    assert!(
        !dir.path().join("run").exists(),
        "nothing half-made is left"
    );
}

#[test]
fn with_models_the_demo_makes_the_bundled_film() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    small_world(&dir.path().join("data"), 6, 32);
    ok(moviedreamer(&[
        "train",
        "all",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "-o",
        &path("models"),
    ]));
    let out = ok(moviedreamer(&[
        "demo",
        "-o",
        &path("run"),
        "--models",
        &path("models"),
    ]));
    assert!(out.contains("120 shots"), "{out}");
    assert!(out.contains("movie.mp4"), "{out}");
    assert!(out.contains("index.html"), "{out}");
    // Scored against the film's labels, in the terminal and in the report.
    assert!(out.contains("| adherence: location |"), "{out}");
    let report = std::fs::read_to_string(dir.path().join("run/index.html")).unwrap();
    assert!(report.contains("presence F1"), "{report}");
    for file in [
        "movie.mp4",
        "index.html",
        "storyboard-001.png",
        "render/keyframes/000119.png",
    ] {
        assert!(dir.path().join("run").join(file).is_file(), "{file}");
    }

    // The same run directory with another seed is another film: refused, saying what
    // changed, and the film already there is left as it was (its plan included).
    let plan = std::fs::read(dir.path().join("run/plan.safetensors")).unwrap();
    let again = moviedreamer(&[
        "demo",
        "-o",
        &path("run"),
        "--models",
        &path("models"),
        "--seed",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "{stderr}");
    assert!(
        stderr.contains("holds a demo film made with other models or settings")
            && stderr.contains("seed: 0 → 1"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("run/plan.safetensors")).unwrap(),
        plan
    );
}
