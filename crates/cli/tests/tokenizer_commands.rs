//! Training the tokenizer and using it, as a user runs it, at the micro preset.

mod common;

use common::{moviedreamer, ok, small_world};

#[test]
fn train_resume_tokenize_and_reconstruct() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    small_world(&dir.path().join("data"), 4, 32);
    let train = [
        "train",
        "tokenizer",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--out",
        &path("run"),
    ];
    let out = ok(moviedreamer(&train));
    assert!(out.contains("step 20"), "{out}");
    let config = std::fs::read_to_string(dir.path().join("run/model/config.json")).unwrap();
    assert!(config.contains("\"latent_channels\""), "{config}");
    for file in [
        "run/model/config.json",
        "run/model/model.safetensors",
        "run/loss.png",
        "run/metrics.jsonl",
        // The micro preset works in a latent autoencoder's latent space; the autoencoder
        // trains first, in its own run, and comes along in the tokenizer's model.
        "run/autoencoder/model/model.safetensors",
        "run/autoencoder/loss.png",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }

    // The same settings (here read back from the run's checkpoint) train the same weights,
    // byte for byte.
    let twin = [
        "train",
        "tokenizer",
        "--data",
        &path("data"),
        "--settings",
        &path("run/checkpoint/config.json"),
        "--out",
        &path("twin"),
    ];
    ok(moviedreamer(&twin));
    let weights =
        |run: &str| std::fs::read(dir.path().join(run).join("model/model.safetensors")).unwrap();
    assert!(
        weights("run") == weights("twin"),
        "two runs with one seed differ"
    );

    // A settings file that is not one names itself.
    std::fs::write(dir.path().join("bad.json"), "{\"steps\": 3}").unwrap();
    let bad = moviedreamer(&[
        "train",
        "tokenizer",
        "--data",
        &path("data"),
        "--settings",
        &path("bad.json"),
        "--out",
        &path("bad-run"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("bad.json: not valid tokenizer training settings"),
        "{stderr}"
    );

    // A finished run is not overwritten by accident, and --resume continues it.
    let again = moviedreamer(&train);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    let mut more = train.to_vec();
    more.extend(["--steps", "25", "--resume"]);
    assert!(ok(moviedreamer(&more)).contains("step 25"));
    let metrics = std::fs::read_to_string(dir.path().join("run/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 25);

    let keyframe = path("data/test/film-00009/keyframes/000000.png");
    let model = path("run/model");
    let out = ok(moviedreamer(&[
        "tokenize",
        &keyframe,
        &keyframe,
        "--model",
        &model,
        "-o",
        &path("tokens.safetensors"),
    ]));
    // Two keyframes of the micro preset's K = 4 tokens (a 2 × 2 grid) of width 8.
    assert!(out.contains("[2, 4, 8]"), "{out}");
    ok(moviedreamer(&[
        "reconstruct",
        &keyframe,
        "--model",
        &model,
        "-o",
        &path("recon"),
        "--steps",
        "3",
    ]));
    let sheet = image::open(dir.path().join("recon/reconstructions.png")).unwrap();
    assert!(sheet.width() > 2 * 96);
    assert!(dir.path().join("recon/000-000000.png").is_file());

    // Reconstruction quality on held-out keyframes, reported as numbers and a sheet.
    let eval_tokenizer = |count: &str, out: &str, extra: &[&str]| {
        let (data, out) = (path("data"), path(out));
        let mut args = vec![
            "eval",
            "tokenizer",
            "--data",
            &data,
            "--model",
            &model,
            "--count",
            count,
            "--steps",
            "3",
            "-o",
            &out,
        ];
        args.extend_from_slice(extra);
        ok(moviedreamer(&args))
    };
    let read = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(file)).unwrap()).unwrap()
    };
    let out = eval_tokenizer("3", "eval", &[]);
    assert!(out.contains("3 test keyframes: PSNR"), "{out}");
    let scores = read("eval/scores.json");
    assert_eq!(scores["keyframes"], 3);
    assert_eq!(scores["pictures"].as_array().unwrap().len(), 3);
    let ssim = scores["ssim"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&ssim), "{ssim}");
    assert!(scores["psnr"].as_f64().unwrap() > 0.0);
    assert!(dir.path().join("eval/reconstructions.png").is_file());

    // With an evaluator, which labels survive reconstruction: read on every test keyframe
    // (one film of four), the originals' column is exactly `eval evaluator`'s accuracy.
    ok(moviedreamer(&[
        "train",
        "evaluator",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--out",
        &path("evaluator"),
    ]));
    ok(moviedreamer(&[
        "eval",
        "evaluator",
        "--data",
        &path("data"),
        "--model",
        &path("evaluator/model"),
        "-o",
        &path("eval-evaluator"),
    ]));
    let evaluator = path("evaluator/model");
    let out = eval_tokenizer("4", "eval-labels", &["--evaluator", &evaluator]);
    assert!(
        out.contains("| attribute | cases | originals | reconstructions |"),
        "{out}"
    );
    let labels = read("eval-labels/scores.json")["labels"].clone();
    let accuracy = read("eval-evaluator/scores.json")["accuracy"].clone();
    let (labels, accuracy) = (labels.as_array().unwrap(), accuracy.as_array().unwrap());
    assert_eq!(labels.len(), accuracy.len());
    for (label, reference) in labels.iter().zip(accuracy) {
        assert_eq!(label["attribute"], reference["attribute"]);
        assert_eq!(label["cases"], reference["cases"]);
        if reference["cases"] != 0 {
            assert_eq!(label["originals"], reference["accuracy"], "{label}");
            let share = label["reconstructions"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&share), "{label}");
        }
    }
    let wrong_split = moviedreamer(&[
        "eval",
        "tokenizer",
        "--data",
        &path("data"),
        "--model",
        &model,
        "--split",
        "dev",
    ]);
    assert_eq!(wrong_split.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong_split.stderr).contains("use test, validation or train"));
}
