//! Movies a user opens: MP4s that ffprobe and Chromium accept with the right frame count
//! and duration, GIFs with the right frames and timing, PNG frame folders, and no half
//! files when something goes wrong.

mod common;

use common::{chromium_reads, ffprobe, moving_square, tool_available};
use image::{Rgb, RgbImage};
use moviedreamer_media::mp4::Mp4Writer;
use moviedreamer_media::{MediaError, MovieFormats, MovieWriter, title_card};

const ALL: MovieFormats = MovieFormats {
    mp4: true,
    gif: true,
    frames: true,
};

/// 30 frames of 64 px scaled 4× and a one-second title at 12 fps.
fn write_test_movie(dir: &std::path::Path) -> moviedreamer_media::MovieSummary {
    let mut movie = MovieWriter::create(dir, 64, 64, 4, 12, ALL).unwrap();
    movie
        .push_title(&["Scene 1".into(), "HARBOUR - NIGHT".into()], 1.0)
        .unwrap();
    for i in 0..30 {
        movie.push(&moving_square(i, 64)).unwrap();
    }
    movie.finish().unwrap()
}

#[test]
fn a_movie_is_written_in_every_format_with_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_test_movie(dir.path());
    assert_eq!(summary.frames, 42);
    assert_eq!(summary.size, (256, 256));
    assert!((summary.seconds() - 3.5).abs() < 1e-9);

    // The PNG folder: every frame, the last one the scaled source picture.
    let frames = dir.path().join("frames");
    assert_eq!(std::fs::read_dir(&frames).unwrap().count(), 42);
    let last = image::open(frames.join("000041.png")).unwrap().to_rgb8();
    let expected = image::imageops::resize(
        &moving_square(29, 64),
        256,
        256,
        image::imageops::FilterType::Nearest,
    );
    assert_eq!(last, expected);
    assert!(!dir.path().join(".frames.partial").exists());

    // The GIF: 42 frames, each shown for 8 hundredths of a second (1/12 s rounded).
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options
        .read_info(std::fs::File::open(dir.path().join("movie.gif")).unwrap())
        .unwrap();
    let mut count = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        assert_eq!(frame.delay, 8);
        assert_eq!((frame.width, frame.height), (256, 256));
        count += 1;
    }
    assert_eq!(count, 42);

    // Nothing else is left in the directory: no temporary files.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["frames", "movie.gif", "movie.mp4"]);
}

#[test]
fn ffprobe_reads_the_expected_frame_count_and_duration() {
    if !tool_available("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_test_movie(dir.path());
    let (frames, seconds, codec, width, height) = ffprobe(&dir.path().join("movie.mp4"));
    assert_eq!(codec, "h264");
    assert_eq!((width, height), (256, 256));
    assert_eq!(frames, 42);
    assert!((seconds - 3.5).abs() < 0.01, "{seconds}");

    // The last frame decodes to the picture that was pushed (H.264 is lossy: close, not
    // equal).
    let decoded = dir.path().join("last.png");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(dir.path().join("movie.mp4"))
        .args([
            "-vf",
            "select=eq(n\\,41)",
            "-fps_mode",
            "passthrough",
            "-frames:v",
            "1",
            "-y",
        ])
        .arg(&decoded)
        .status()
        .unwrap();
    assert!(status.success());
    let decoded = image::open(&decoded).unwrap().to_rgb8();
    let source = image::open(dir.path().join("frames/000041.png"))
        .unwrap()
        .to_rgb8();
    let error: f64 = decoded
        .as_raw()
        .iter()
        .zip(source.as_raw())
        .map(|(&a, &b)| (a as f64 - b as f64).abs())
        .sum::<f64>()
        / source.as_raw().len() as f64;
    assert!(error < 3.0, "mean absolute error {error:.2} of 255");
}

#[test]
fn headless_chromium_plays_the_mp4_and_reads_its_duration() {
    if !tool_available("chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_test_movie(dir.path());
    let (seconds, width, height) = chromium_reads(dir.path(), "movie.mp4").unwrap();
    assert_eq!((width, height), (256, 256));
    assert!((seconds - 3.5).abs() < 0.01, "{seconds}");
}

#[test]
fn a_frame_of_the_wrong_size_is_refused_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("movie.mp4");
    let mut movie = Mp4Writer::create(&path, 64, 64, 8).unwrap();
    movie.push(&moving_square(0, 64)).unwrap();
    let err = movie.push(&moving_square(1, 32)).unwrap_err();
    assert!(
        matches!(err, MediaError::FrameSize { index: 1, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("movie.mp4") && message.contains("32×32"),
        "{message}"
    );
    drop(movie);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn sizes_h264_cannot_hold_are_refused_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let err = Mp4Writer::create(&dir.path().join("m.mp4"), 63, 64, 8)
        .err()
        .unwrap();
    assert!(err.to_string().contains("even sides"), "{err}");
    let err = Mp4Writer::create(&dir.path().join("m.mp4"), 64, 64, 0)
        .err()
        .unwrap();
    assert!(err.to_string().contains("frame rate"), "{err}");
}

#[test]
fn a_title_card_centres_light_text_on_dark() {
    let card = title_card(&["HARBOUR - NIGHT".into()], 256, 256);
    let ink = |rows: std::ops::Range<u32>| {
        rows.flat_map(|y| (0..256).map(move |x| (x, y)))
            .filter(|&(x, y)| card.get_pixel(x, y)[0] > 128)
            .count()
    };
    assert!(ink(118..138) > 100, "text near the middle");
    assert_eq!(
        ink(0..100) + ink(160..256),
        0,
        "nothing far from the middle"
    );
    assert_eq!(card.get_pixel(0, 0), &Rgb([22, 22, 28]));
    let _: RgbImage = card;
}
