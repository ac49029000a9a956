//! Clip strips: a clip's frames side by side in one picture, as StoryWorld datasets and
//! animation runs store clips (`clips/<shot>.png`), so a clip is one file a person can look
//! at.

use image::RgbImage;

/// Frames of one size side by side, left to right.
pub fn join_frames(frames: &[RgbImage]) -> RgbImage {
    let (width, height) = frames.first().map(|f| f.dimensions()).unwrap_or((0, 0));
    let mut strip = RgbImage::new(width * frames.len() as u32, height);
    for (k, frame) in frames.iter().enumerate() {
        image::imageops::replace(&mut strip, frame, (k as u32 * width) as i64, 0);
    }
    strip
}

/// A strip cut back into frames `width` pixels wide.
pub fn split_frames(strip: &RgbImage, width: u32) -> Vec<RgbImage> {
    (0..strip.width() / width.max(1))
        .map(|k| image::imageops::crop_imm(strip, k * width, 0, width, strip.height()).to_image())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_a_round_trip() {
        let frames: Vec<RgbImage> = (0..3u8)
            .map(|k| RgbImage::from_pixel(4, 5, image::Rgb([k, 2 * k, 3 * k])))
            .collect();
        let strip = join_frames(&frames);
        assert_eq!(strip.dimensions(), (12, 5));
        assert_eq!(split_frames(&strip, 4), frames);
    }
}
