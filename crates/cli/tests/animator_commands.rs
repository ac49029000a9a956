//! `moviedreamer train animator`, `eval animator` and `animate` as a user runs them: train a
//! micro animator, measure it, animate an unseen film into a movie, and resume an
//! interrupted run to the same bytes.

mod common;

use common::{moviedreamer, ok, small_world};

#[test]
fn train_measure_animate_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let data = dir.path().join("data");
    small_world(&data, 6, 32);
    let data = data.display().to_string();

    let trained = ok(moviedreamer(&[
        "train",
        "animator",
        "--data",
        &data,
        "--preset",
        "micro",
        "--steps",
        "4",
        "--out",
        &path("run"),
    ]));
    assert!(trained.contains("step 4"), "{trained}");
    let model = path("run/model");

    let measured = ok(moviedreamer(&[
        "eval",
        "animator",
        "--data",
        &data,
        "--model",
        &model,
        "--count",
        "4",
        "--steps",
        "2",
        "--out",
        &path("eval"),
    ]));
    assert!(measured.contains("| all | 4 |"), "{measured}");
    let scores: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("eval/scores.json")).unwrap(),
    )
    .unwrap();
    let all = &scores["scores"]["by_motion"][0];
    assert_eq!(all["motion"], "all");
    assert!(all["animated_psnr"].as_f64().unwrap() > 5.0, "{all}");
    // Tracking reports a share in [0, 1] for each kind of thing it found moving.
    assert!(measured.contains("| tracked | cases |"), "{measured}");
    for tracked in scores["scores"]["tracked"].as_array().unwrap() {
        let share = tracked["moved_as_told"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share), "{tracked}");
    }
    assert!(dir.path().join("eval/clips.png").is_file());

    // Animate an unseen film from its true keyframes.
    let film = format!("{data}/test/film-00009");
    let animate = |seed: &str| {
        moviedreamer(&[
            "animate",
            &format!("{film}/script.yaml"),
            "--keyframes",
            &format!("{film}/keyframes"),
            "--model",
            &model,
            "--steps",
            "2",
            "--batch",
            "4",
            "--seed",
            seed,
            "-o",
            &path("film"),
        ])
    };
    let first = ok(animate("0"));
    assert!(
        first.contains("animated 6 shots (0 were already done)"),
        "{first}"
    );
    assert!(first.contains("6 shots, 48 frames"), "{first}");
    let clip = |k: usize| std::fs::read(dir.path().join(format!("film/clips/{k:06}.png"))).unwrap();
    let clips: Vec<Vec<u8>> = (0..6).map(clip).collect();
    // Each clip starts at its keyframe.
    let keyframe = image::open(format!("{film}/keyframes/000002.png"))
        .unwrap()
        .to_rgb8();
    let strip = image::load_from_memory(&clips[2]).unwrap().to_rgb8();
    assert_eq!(strip.dimensions(), (32 * 8, 32));
    assert_eq!(
        image::imageops::crop_imm(&strip, 0, 0, 32, 32).to_image(),
        keyframe
    );

    // An interrupted run: two clips never got written. The same command finishes the job
    // and gives the same bytes, though the missing shots now share a batch.
    for k in [1, 4] {
        std::fs::remove_file(dir.path().join(format!("film/clips/{k:06}.png"))).unwrap();
    }
    let resumed = ok(animate("0"));
    assert!(
        resumed.contains("animated 2 shots (4 were already done)"),
        "{resumed}"
    );
    for (k, bytes) in clips.iter().enumerate() {
        assert_eq!(&clip(k), bytes, "clip {k}");
    }
    assert!(dir.path().join("film/movie.mp4").is_file());
    assert!(dir.path().join("film/index.html").is_file());

    // The same directory with another seed would mix two films: refused.
    let other = animate("1");
    assert!(!other.status.success());
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(
        stderr.contains("other settings") && stderr.contains("another output directory"),
        "{stderr}"
    );
}
