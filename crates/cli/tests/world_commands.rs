//! `moviedreamer world …` as a user runs it.

mod common;

use common::moviedreamer;

#[test]
fn preview_writes_a_film_sheet_and_a_cast_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let output = moviedreamer(&[
        "world", "preview", "--seed", "3", "--shots", "8", "--out", out,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for name in ["film.png", "cast.png"] {
        let sheet = image::open(dir.path().join(name)).unwrap();
        assert!(sheet.width() > 300 && sheet.height() > 100, "{name}");
    }
}

#[test]
fn generate_writes_splits_and_rejects_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let out = out.to_str().unwrap();
    let ok = moviedreamer(&[
        "world", "generate", "--films", "10", "--shots", "2", "--size", "32", "--frames", "8",
        "--out", out,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for split in ["train", "validation", "test"] {
        assert!(dir.path().join("data").join(split).is_dir(), "{split}");
    }
    for bad in [["--size", "16"], ["--shots", "0"], ["--frames", "40"]] {
        let output = moviedreamer(&[
            "world", "generate", "--films", "1", bad[0], bad[1], "--out", out,
        ]);
        assert_eq!(output.status.code(), Some(1), "{bad:?}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(bad[0]), "{bad:?}: {err}");
    }
}

#[path = "../../media/tests/common/mod.rs"]
mod media_checks;

#[test]
fn movie_assembles_a_films_clips_into_files_a_player_opens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::small_world(&data, 6, 32);
    let film = data.join("test/film-00009");
    let run = dir.path().join("run");
    let stdout = common::ok(moviedreamer(&[
        "world",
        "movie",
        film.to_str().unwrap(),
        "-o",
        run.to_str().unwrap(),
        "--title-seconds",
        "1",
        "--frames",
        "--gif",
    ]));
    // "6 shots, F frames at 8 fps": six 8-frame clips and one 8-frame card per scene.
    let frames: usize = stdout
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(stdout.starts_with("6 shots"), "{stdout}");
    assert!(frames > 48 && (frames - 48).is_multiple_of(8), "{stdout}");
    assert_eq!(
        std::fs::read_dir(run.join("frames")).unwrap().count(),
        frames
    );
    // The first clip frame after the title card is the first keyframe, scaled 4×.
    let keyframe = image::open(film.join("keyframes/000000.png")).unwrap();
    let shown = image::open(run.join("frames/000008.png")).unwrap();
    let expected = keyframe.resize(128, 128, image::imageops::FilterType::Nearest);
    assert_eq!(shown.to_rgb8(), expected.to_rgb8());

    let html = std::fs::read_to_string(run.join("index.html")).unwrap();
    assert!(html.contains("src=\"movie.mp4\"") && html.contains("storyboard-001.png"));
    assert!(image::open(run.join("storyboard-001.png")).unwrap().width() > 500);
    assert!(run.join("movie.gif").is_file());

    let seconds = frames as f64 / 8.0;
    if media_checks::tool_available("ffprobe") {
        let (probed, duration, codec, width, _) = media_checks::ffprobe(&run.join("movie.mp4"));
        assert_eq!((probed, codec.as_str(), width), (frames, "h264", 128));
        assert!((duration - seconds).abs() < 0.01, "{duration} s");
    }
    if media_checks::tool_available("chromium") {
        let (duration, width, _) = media_checks::chromium_reads(&run, "movie.mp4").unwrap();
        assert_eq!(width, 128);
        assert!((duration - seconds).abs() < 0.01, "{duration} s");
    }
}

#[test]
fn movie_explains_what_it_needs_and_leaves_no_half_movie() {
    let dir = tempfile::tempdir().unwrap();
    let output = moviedreamer(&["world", "movie", dir.path().to_str().unwrap(), "-o", "x"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no script.yaml"), "{stderr}");

    let data = dir.path().join("data");
    common::small_world(&data, 4, 32);
    let film = data.join("test/film-00009");
    std::fs::remove_file(film.join("clips/000002.png")).unwrap();
    let run = dir.path().join("run");
    let output = moviedreamer(&[
        "world",
        "movie",
        film.to_str().unwrap(),
        "-o",
        run.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("clips/000002.png"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&run).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
