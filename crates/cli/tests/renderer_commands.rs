//! `moviedreamer train renderer`, `render` and `merge` as a user runs them, at the micro
//! presets: fine-tune a renderer on a micro planner's predictions, render an unseen film,
//! resume an interrupted render to the same bytes, render it in two shards that merge into
//! the same run, and `generate` the film in one command, resumed after an interruption.

mod common;
#[path = "../../media/tests/common/mod.rs"]
mod media_checks;

use std::path::Path;

use common::{moviedreamer, ok, small_world};

/// The bytes of every keyframe of a run directory, in shot order.
fn keyframes(run: &Path) -> Vec<Vec<u8>> {
    keyframes_in(&run.join("keyframes"))
}

/// The bytes of every file in a folder, in name order.
fn keyframes_in(folder: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn failure(args: &[&str]) -> String {
    let out = moviedreamer(args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn train_render_resume_shard_merge_and_generate() {
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
    let (data, tokenizer, identity) = (
        path("data"),
        path("tokenizer/model"),
        path("identity/model"),
    );
    let planner_model = path("planner/model");
    let (planner_run, renderer_run) = (path("planner"), path("renderer"));
    let models = ["--tokenizer", &tokenizer, "--identity", &identity];
    let mut planner = vec!["train", "planner", "--data", &data, "--preset", "micro"];
    planner.extend(models);
    planner.extend(["--out", &planner_run]);
    ok(moviedreamer(&planner));

    let mut train = vec!["train", "renderer", "--data", &data, "--preset", "micro"];
    train.extend(models);
    train.extend(["--planner", &planner_model, "--out", &renderer_run]);
    let out = ok(moviedreamer(&train));
    assert!(out.contains("step 10"), "{out}");
    for file in [
        "renderer/model/model.safetensors",
        "renderer/films-train.safetensors",
        "renderer/predicted-train.safetensors",
        "renderer/loss.png",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    // Resuming reuses the cached tokens and predictions and continues.
    let mut more = train.clone();
    more.extend(["--steps", "12", "--resume"]);
    assert!(ok(moviedreamer(&more)).contains("step 12"));

    // Measured on the unseen films: four rows of PSNR and SSIM, and a sheet.
    let out = ok(moviedreamer(&[
        "eval",
        "renderer",
        "--data",
        &data,
        "--films",
        "1",
        "--steps",
        "2",
        "--sheet-shots",
        "3",
        "--renderer",
        &path("renderer/model"),
        "--planner",
        &planner_model,
        "--tokenizer",
        &tokenizer,
        "--identity",
        &identity,
        "-o",
        &path("eval"),
    ]));
    assert!(
        out.contains("| renderer, planned tokens, identities |"),
        "{out}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("eval/scores.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["keyframes"], 6);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r["psnr"].as_f64().unwrap() > 0.0));
    assert!(dir.path().join("eval/renderer.png").is_file());

    // An unseen film, planned, then rendered whole.
    let script = path("data/test/film-00009/script.yaml");
    ok(moviedreamer(&[
        "plan",
        &script,
        "--planner",
        &planner_model,
        "--identity",
        &path("identity/model"),
        "-o",
        &path("plan.safetensors"),
    ]));
    let render = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "render".to_owned(),
            path("plan.safetensors"),
            "--script".into(),
            script.clone(),
            "--renderer".into(),
            path("renderer/model"),
            "--identity".into(),
            path("identity/model"),
            "--steps".into(),
            "3".into(),
            "--batch".into(),
            "4".into(),
            "-o".into(),
            path(out),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        moviedreamer(&args)
    };
    let out = ok(render("whole", &[]));
    assert!(
        out.contains("rendered 6 keyframes (0 were already done)"),
        "{out}"
    );
    let whole = keyframes(&dir.path().join("whole"));
    assert_eq!(whole.len(), 6);
    let picture = image::load_from_memory(&whole[0]).unwrap();
    assert_eq!((picture.width(), picture.height()), (32, 32));
    assert!(
        whole.windows(2).any(|w| w[0] != w[1]),
        "every keyframe the same"
    );

    // Interrupted: as if killed while its second batch was being written (one keyframe of
    // it on disk, the manifest not yet updated), the rerun renders that batch again and
    // gives the same bytes.
    let run = dir.path().join("whole");
    let manifest_path = run.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    for shot in ["keyframe/000004", "keyframe/000005"] {
        manifest["items"][shot] = serde_json::json!({"status": "pending"});
    }
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();
    std::fs::remove_file(run.join("keyframes/000005.png")).unwrap();
    let out = ok(render("whole", &[]));
    assert!(
        out.contains("rendered 2 keyframes (4 were already done)"),
        "{out}"
    );
    assert_eq!(keyframes(&run), whole);

    // Another seed in the same directory is refused, and leaves it as it was.
    let refused = render("whole", &["--seed", "1"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(err.contains("other settings"), "{err}");
    assert_eq!(keyframes(&run), whole);

    // Two shards, each in its own directory, merged: the same keyframes and manifest.
    let out = ok(render("shard-1", &["--shard", "1/2"]));
    assert!(out.contains("of shots 3..6"), "{out}");
    let err = failure(&["merge", &path("shard-1"), "-o", &path("merged")]);
    assert!(err.contains("shard 0/2 is missing"), "{err}");
    ok(render("shard-0", &["--shard", "0/2"]));
    let out = ok(moviedreamer(&[
        "merge",
        &path("shard-1"),
        &path("shard-0"),
        "-o",
        &path("merged"),
    ]));
    assert!(out.contains("6 keyframes"), "{out}");
    assert_eq!(keyframes(&dir.path().join("merged")), whole);
    let read = |run: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(run).join("manifest.json")).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(read("merged"), read("whole"));
    // The merged directory is a finished run: rendering into it again renders nothing.
    let out = ok(render("merged", &[]));
    assert!(
        out.contains("rendered 0 keyframes (6 were already done)"),
        "{out}"
    );

    // Bad input is named: a shard that is not i/n, a plan that does not fit the script.
    let err = failure(&[
        "render",
        &path("plan.safetensors"),
        "--script",
        &script,
        "--shard",
        "2/2",
        "-o",
        &path("x"),
    ]);
    assert!(err.contains("i/n"), "{err}");
    let err = failure(&[
        "render",
        &script,
        "--script",
        &script,
        "--renderer",
        &path("renderer/model"),
        "--identity",
        &path("identity/model"),
        "-o",
        &path("x"),
    ]);
    assert!(err.contains("cannot read the plan"), "{err}");
    assert!(!dir.path().join("x/manifest.json").exists());

    // The whole pipeline in one command, from a models directory that names its stages.
    ok(moviedreamer(&[
        "train",
        "animator",
        "--data",
        &data,
        "--preset",
        "micro",
        "--steps",
        "4",
        "--out",
        &path("animator"),
    ]));
    std::fs::write(
        dir.path().join("moviedreamer.json"),
        r#"{"planner": "planner/model", "identity": "identity/model",
            "renderer": "renderer/model", "animator": "animator/model"}"#,
    )
    .unwrap();
    let generate = [
        "generate",
        &script,
        "--models",
        &path(""),
        "--render-steps",
        "3",
        "--animate-steps",
        "2",
        "--batch",
        "4",
        "-o",
        &path("film"),
    ];
    let out = ok(moviedreamer(&generate));
    assert!(out.contains("index.html"), "{out}");
    let film = dir.path().join("film");
    // Planned and rendered with the same seed and steps, its keyframes are `render`'s.
    assert_eq!(keyframes(&film.join("render")), whole);
    for file in [
        "plan.safetensors",
        "movie.mp4",
        "index.html",
        "storyboard-001.png",
    ] {
        assert!(film.join(file).is_file(), "{file}");
    }
    let clips = |film: &Path| keyframes_in(&film.join("animate/clips"));
    let movie = std::fs::read(film.join("movie.mp4")).unwrap();
    if media_checks::tool_available("ffprobe") {
        let (frames, seconds, codec, _, _) = media_checks::ffprobe(&film.join("movie.mp4"));
        assert_eq!((frames, codec.as_str()), (6 * 8, "h264"));
        assert!((seconds - 6.0).abs() < 1e-3, "{seconds}");
    }
    // Interrupted after planning and part of the work: rerun, same bytes everywhere.
    let (first_clips, first_keyframes) = (clips(&film), keyframes(&film.join("render")));
    std::fs::remove_file(film.join("render/keyframes/000004.png")).unwrap();
    std::fs::remove_file(film.join("animate/clips/000001.png")).unwrap();
    std::fs::remove_file(film.join("movie.mp4")).unwrap();
    ok(moviedreamer(&generate));
    assert_eq!(keyframes(&film.join("render")), first_keyframes);
    assert_eq!(clips(&film), first_clips);
    assert_eq!(std::fs::read(film.join("movie.mp4")).unwrap(), movie);

    // No trained models where it looks: it says which command trains them.
    let err = failure(&[
        "generate",
        &script,
        "--models",
        &path("nowhere"),
        "-o",
        &path("y"),
    ]);
    assert!(err.contains("moviedreamer train planner"), "{err}");
}
