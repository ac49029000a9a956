//! Training the planner on top of a tokenizer and an identity encoder, then planning a film
//! the planner never saw, as a user runs it, at the micro presets.

mod common;

use common::{moviedreamer, ok, small_world};

#[test]
fn train_the_planner_and_plan_an_unseen_film() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    small_world(&dir.path().join("data"), 6, 32);
    for stage in ["tokenizer", "identity"] {
        ok(moviedreamer(&[
            "train",
            stage,
            "--data",
            &path("data"),
            "--preset",
            "micro",
            "--out",
            &path(stage),
        ]));
    }
    let train = [
        "train",
        "planner",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--tokenizer",
        &path("tokenizer/model"),
        "--identity",
        &path("identity/model"),
        "--out",
        &path("planner"),
    ];
    let out = ok(moviedreamer(&train));
    assert!(out.contains("step 10"), "{out}");
    for file in [
        "planner/model/model.safetensors",
        "planner/model/tokenizer.json",
        "planner/films-train.safetensors",
        "planner/loss.png",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }

    // Resuming reuses the cached tokens and continues.
    let mut more = train.to_vec();
    more.extend(["--steps", "12", "--resume"]);
    assert!(ok(moviedreamer(&more)).contains("step 12"));

    // A test film: characters the planner never saw, given by their portraits.
    let out = ok(moviedreamer(&[
        "plan",
        &path("data/test/film-00009/script.yaml"),
        "--planner",
        &path("planner/model"),
        "--identity",
        &path("identity/model"),
        "-o",
        &path("plan.safetensors"),
    ]));
    assert!(out.contains("planned 6 keyframes"), "{out}");
    // Six shots of the micro tokenizer's K = 4 tokens (its 2 × 2 grid) of width 8.
    assert!(out.contains("[6, 4, 8]"), "{out}");

    // Scores and a sheet on the unseen films.
    let out = ok(moviedreamer(&[
        "eval",
        "planner",
        "--data",
        &path("data"),
        "--planner",
        &path("planner/model"),
        "--tokenizer",
        &path("tokenizer/model"),
        "--identity",
        &path("identity/model"),
        "--sheet-shots",
        "3",
        "-o",
        &path("eval"),
    ]));
    assert!(out.contains("teacher-forced: MSE"), "{out}");
    let scores: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("eval/scores.json")).unwrap()).unwrap();
    assert_eq!(scores["scores"]["keyframes"].as_u64(), Some(6));
    assert!(
        scores["scores"]["planned_mse"]
            .as_f64()
            .unwrap()
            .is_finite()
    );
    // The no-model baseline: the keyframe before, repeated; the same scale as the rest.
    let previous = scores["scores"]["previous_keyframe_cosine"]
        .as_f64()
        .unwrap();
    assert!((-1.0..=1.0).contains(&previous), "{previous}");
    assert!(out.contains("the keyframe before, repeated"), "{out}");
    let sheet = image::open(path("eval/planned.png")).unwrap();
    assert!(sheet.width() > 3 * 32);

    // The diffusion head (as in MAR) trains and plans through the same commands.
    ok(moviedreamer(&[
        "train",
        "planner",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--head",
        "diffusion",
        "--steps",
        "3",
        "--tokenizer",
        &path("tokenizer/model"),
        "--identity",
        &path("identity/model"),
        "--out",
        &path("planner-diffusion"),
    ]));
    let out = ok(moviedreamer(&[
        "plan",
        &path("data/test/film-00009/script.yaml"),
        "--planner",
        &path("planner-diffusion/model"),
        "--identity",
        &path("identity/model"),
        "--seed",
        "7",
        "-o",
        &path("plan-diffusion.safetensors"),
    ]));
    assert!(out.contains("planned 6 keyframes"), "{out}");

    // A missing planner says how to make one.
    let missing = moviedreamer(&[
        "plan",
        &path("data/test/film-00009/script.yaml"),
        "--planner",
        &path("nowhere"),
        "-o",
        &path("x.safetensors"),
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("moviedreamer train planner"));
}
