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
