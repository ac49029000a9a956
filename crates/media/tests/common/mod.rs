//! Helpers of the media tests (also used by the command tests): test movies and the
//! external tools that check them.

// Each test file uses its own subset.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use image::{Rgb, RgbImage};

/// Frame `index` of a test movie: a yellow square moving right over dark blue.
pub fn moving_square(index: usize, size: u32) -> RgbImage {
    let mut frame = RgbImage::from_pixel(size, size, Rgb([20, 30, 90]));
    let left = (index as u32 * 2) % (size - 16);
    for y in size / 2 - 8..size / 2 + 8 {
        for x in left..left + 16 {
            frame.put_pixel(x, y, Rgb([250, 210, 40]));
        }
    }
    frame
}

/// Whether `tool` can be run. CI sets `MOVIEDREAMER_REQUIRE_TOOLS=1` (and `.ci/run`
/// installs the tools), so there a missing tool fails the test instead of skipping it.
pub fn tool_available(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("-version")
        .output()
        .or_else(|_| Command::new(tool).arg("--version").output())
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("MOVIEDREAMER_REQUIRE_TOOLS").is_none(),
            "{tool} is required (MOVIEDREAMER_REQUIRE_TOOLS is set) but cannot be run"
        );
        eprintln!("skipped: {tool} is not installed (.ci/run installs it)");
    }
    found
}

/// What ffprobe reads from a movie: frame count (by decoding every frame), duration in
/// seconds, codec, width and height.
pub fn ffprobe(path: &Path) -> (usize, f64, String, u32, u32) {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
        ])
        .args([
            "-show_entries",
            "format=duration",
            "-of",
            "default=noprint_wrappers=1",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe rejected {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("ffprobe printed no {name}: {text}"))
            .to_string()
    };
    (
        field("nb_read_frames").parse().unwrap(),
        field("duration").parse().unwrap(),
        field("codec_name"),
        field("width").parse().unwrap(),
        field("height").parse().unwrap(),
    )
}

/// What headless Chromium reads from `video` (a file in `dir`) through an HTML video
/// element: `(duration in seconds, width, height)` once its first frame has decoded, or
/// the media error it reports.
pub fn chromium_reads(dir: &Path, video: &str) -> Result<(f64, u32, u32), String> {
    let page = dir.join("play.html");
    std::fs::write(
        &page,
        format!(
            r#"<!doctype html><html><body><video id="v" src="{video}" preload="auto" muted></video>
<pre id="out">pending</pre><script>
const v = document.getElementById("v"), out = document.getElementById("out");
v.addEventListener("loadeddata", () => {{ out.textContent = "ok " + v.duration + " " + v.videoWidth + " " + v.videoHeight; }});
v.addEventListener("error", () => {{ out.textContent = "error " + (v.error && v.error.code); }});
</script></body></html>"#
        ),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
        ])
        .args(["--no-first-run", "--disable-background-networking"])
        .args([
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            // Containers often have a tiny /dev/shm.
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args([
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
        ])
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let result = dom
        .split("<pre id=\"out\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .ok_or_else(|| format!("chromium printed no page: {dom}"))?;
    let fields: Vec<&str> = result.split_whitespace().collect();
    match fields.as_slice() {
        ["ok", duration, width, height] => Ok((
            duration.parse().map_err(|_| result.to_string())?,
            width.parse().map_err(|_| result.to_string())?,
            height.parse().map_err(|_| result.to_string())?,
        )),
        _ => Err(result.to_string()),
    }
}
