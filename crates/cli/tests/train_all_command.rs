//! `moviedreamer train all` as a user runs it: every stage trained at the micro preset into
//! one directory that `generate` and `bench` take as it is, and a rerun with --resume that
//! keeps what is finished.

mod common;

use common::{moviedreamer, ok, small_world};

#[test]
fn train_every_stage_then_generate_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    small_world(&dir.path().join("data"), 6, 32);
    // The evaluator's own world (the storyworld preset's recipe gives it many characters).
    small_world(&dir.path().join("evaluator-data"), 3, 32);
    let train = [
        "train",
        "all",
        "--data",
        &path("data"),
        "--evaluator-data",
        &path("evaluator-data"),
        "--preset",
        "micro",
        "-o",
        &path("runs"),
    ];
    let out = ok(moviedreamer(&train));
    assert!(out.contains("every stage trained"), "{out}");
    for stage in [
        "tokenizer",
        "identity",
        "planner",
        "renderer",
        "animator",
        "evaluator",
    ] {
        let model = dir
            .path()
            .join("runs")
            .join(stage)
            .join("model/model.safetensors");
        assert!(model.is_file(), "{stage}");
    }
    let names: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("runs/moviedreamer.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(names["renderer"], "renderer/model");

    // Run again without --resume: it refuses to train over the finished stages.
    let again = moviedreamer(&train);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    // With --resume nothing is trained again: each stage is already at its last step, and
    // says so rather than reporting a loss it did not measure.
    let weights = std::fs::read(dir.path().join("runs/planner/model/model.safetensors")).unwrap();
    // Finished stages' files are left untouched, so nothing keyed on them (the planner's
    // tokenized films) is made again.
    let modified = |file: &str| {
        std::fs::metadata(dir.path().join(file))
            .and_then(|m| m.modified())
            .unwrap()
    };
    let tokenizer_written = modified("runs/tokenizer/model/model.safetensors");
    let films_cached = modified("runs/planner/films-train.safetensors");
    let mut resume = train.to_vec();
    resume.push("--resume");
    let resumed = ok(moviedreamer(&resume));
    assert!(resumed.contains("every stage trained"), "{resumed}");
    assert!(
        resumed.contains("planner:\nalready trained (10 steps)"),
        "{resumed}"
    );
    assert!(!resumed.contains("loss"), "{resumed}");
    assert_eq!(
        modified("runs/tokenizer/model/model.safetensors"),
        tokenizer_written
    );
    assert_eq!(
        modified("runs/planner/films-train.safetensors"),
        films_cached
    );
    assert_eq!(
        std::fs::read(dir.path().join("runs/planner/model/model.safetensors")).unwrap(),
        weights
    );

    let out = ok(moviedreamer(&[
        "generate",
        &path("data/test/film-00009/script.yaml"),
        "--models",
        &path("runs"),
        "--render-steps",
        "2",
        "--animate-steps",
        "2",
        "-o",
        &path("film"),
    ]));
    assert!(out.contains("6 shots"), "{out}");
    assert!(dir.path().join("film/movie.mp4").is_file());

    // A second planner with every anti-overfitting measure off, for the bench's row.
    ok(moviedreamer(&[
        "train",
        "planner",
        "--data",
        &path("data"),
        "--preset",
        "micro",
        "--tokenizer",
        &path("runs/tokenizer/model"),
        "--identity",
        &path("runs/identity/model"),
        "--without-measures",
        "-o",
        &path("plain-planner"),
    ]));
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("plain-planner/checkpoint/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["anti_overfitting"]["history_mask"], 0.0);
    assert_eq!(settings["model"]["dropout"], 0.0);

    // The benchmark on the test film: every row, each scored; the ground-truth row scores
    // the film's own keyframes exactly as `eval film` does.
    let bench = [
        "bench",
        "--data",
        &path("data"),
        "--models",
        &path("runs"),
        "--films",
        "1",
        "--render-steps",
        "1",
        "--animate-steps",
        "1",
        "--planner-without-measures",
        &path("plain-planner/model"),
        "-o",
        &path("bench"),
    ];
    let out = ok(moviedreamer(&bench));
    let rows = [
        "| ground truth |",
        "| full MovieDreamer |",
        "| no history |",
        "| no face embeddings in the script |",
        "| no identity-preserving rendering |",
        "| no anti-overfitting |",
        "| oracle (true tokens rendered) |",
    ];
    for row in rows {
        assert!(out.contains(row), "{row} missing:\n{out}");
    }
    let table = std::fs::read_to_string(dir.path().join("bench/bench.md")).unwrap();
    assert!(out.contains(&table), "{out}");
    for chart in ["consistency.png", "consistency-by-shot.png"] {
        let picture = image::open(dir.path().join("bench").join(chart)).unwrap();
        assert!(picture.width() > 100, "{chart}");
    }
    // And consistency by distance between shots, for every row.
    assert!(
        table.contains("| row | 1 | 2–4 | 5–16 | 17–64 | 65–256 | 257+ |"),
        "{table}"
    );
    assert_eq!(
        table.matches("| oracle (true tokens rendered) |").count(),
        2,
        "{table}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bench/bench.json")).unwrap(),
    )
    .unwrap();
    let results = &report["films"];
    assert_eq!(results.as_array().unwrap().len(), rows.len());
    // The Fréchet distance of each generated row to the ground truth.
    let frechet = &report["frechet_distance"];
    assert!(frechet["ground truth"].is_null());
    assert!(frechet["full MovieDreamer"].as_f64().unwrap() >= 0.0);
    assert!(table.contains("| Fréchet distance |"), "{table}");
    assert!(results[1]["seconds_per_keyframe"].as_f64().unwrap() > 0.0);
    // Clips: StoryWorld's own (which start at their keyframe) and the full row's keyframes
    // animated, one clip a shot.
    assert!(
        table.contains("| row | clips | motion | flicker | first frame (PSNR) | s / clip |"),
        "{table}"
    );
    let clips = report["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 2);
    assert_eq!(clips[0]["row"], "ground truth");
    let first_frame = |clip: &serde_json::Value| clip["first_frame_psnr"].as_f64().unwrap();
    assert!(
        clips[0]["clips"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| first_frame(c) >= 40.0),
        "{table}"
    );
    assert_eq!(clips[1]["clips"].as_array().unwrap().len(), 6);
    assert!(clips[1]["seconds_per_clip"].as_f64().unwrap() > 0.0);
    let full_clips = dir.path().join("bench/full/film-00009/animate/clips");
    assert_eq!(std::fs::read_dir(&full_clips).unwrap().count(), 6);
    for row in [
        "full",
        "no-history",
        "no-faces",
        "no-identity-rendering",
        "no-anti-overfitting",
        "oracle",
    ] {
        let keyframes = dir
            .path()
            .join("bench")
            .join(row)
            .join("film-00009/keyframes");
        assert_eq!(std::fs::read_dir(&keyframes).unwrap().count(), 6, "{row}");
    }
    ok(moviedreamer(&[
        "eval",
        "film",
        "--film",
        &path("data/test/film-00009"),
        "--model",
        &path("runs/evaluator/model"),
        "-o",
        &path("eval-film"),
    ]));
    let film: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("eval-film/scores.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results[0]["scores"], film["scores"]);

    // Run again: every keyframe is kept, so no time per keyframe is known this time.
    ok(moviedreamer(&bench));
    let again: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("bench/bench.json")).unwrap(),
    )
    .unwrap();
    assert!(again["films"][1]["seconds_per_keyframe"].is_null());
    assert_eq!(again["films"][1]["scores"], results[1]["scores"]);
}

#[test]
fn a_missing_evaluator_dataset_is_named_before_any_stage_trains() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    small_world(&dir.path().join("data"), 4, 32);
    let out = moviedreamer(&[
        "train",
        "all",
        "--data",
        &path("data"),
        "--evaluator-data",
        &path("no-such-world"),
        "--preset",
        "micro",
        "-o",
        &path("runs"),
    ]);
    assert!(!out.status.success());
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("--evaluator-data"), "{error}");
    assert!(error.contains("no-such-world"), "{error}");
    assert!(!dir.path().join("runs/tokenizer").exists());
}

#[test]
fn bench_says_what_is_missing_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let failure = |args: &[&str]| {
        let out = moviedreamer(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let bench = |extra: &[&str]| {
        let mut args = vec!["bench", "--models", "no-models", "-o"];
        let out = path("bench");
        args.push(&out);
        args.extend_from_slice(extra);
        failure(&args)
    };

    let missing = path("missing");
    let error = bench(&["--data", &missing]);
    assert!(error.contains("missing/test"), "{error}");
    assert!(error.contains("world generate"), "{error}");

    small_world(&dir.path().join("data"), 4, 32);
    let data = path("data");
    let error = bench(&["--data", &data, "--films", "99"]);
    assert!(
        error.contains("holds 1 test films but --films asks for 99"),
        "{error}"
    );
    let error = bench(&["--data", &data, "--films", "0"]);
    assert!(error.contains("--films must be at least 1"), "{error}");
    let error = bench(&["--data", &data, "--identity-guidance=-1"]);
    assert!(
        error.contains("--identity-guidance -1 is not a guidance scale"),
        "{error}"
    );
    let error = bench(&["--data", &data, "--token-guidance", "NaN"]);
    assert!(
        error.contains("--token-guidance NaN is not a guidance scale"),
        "{error}"
    );
    let error = bench(&["--data", &data]);
    assert!(error.contains("cannot load the planner"), "{error}");
    assert!(error.contains("moviedreamer train planner"), "{error}");
    assert!(!dir.path().join("bench").exists());
}
