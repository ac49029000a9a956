//! Metrics of an animated clip from its frames and the keyframe it was animated from: how
//! much it moves, how much it flickers, and how faithfully it starts at its keyframe.
//!
//! Flicker is measured on each frame's mean colour: a diffusion sampler that redraws every
//! frame from fresh noise shifts the whole picture's tone from frame to frame, while a few
//! characters walking or waving across a still background barely move the mean. So a clip
//! of real motion scores near zero (StoryWorld's own clips give the floor) and a flickering
//! one does not. Motion (the mean absolute change of each pixel) is reported beside it,
//! since a clip can avoid flicker by not moving at all.

use image::RgbImage;
use serde::Serialize;

use crate::image_metrics::{SizeMismatch, psnr};

/// The metrics of one clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClipScores {
    /// Mean absolute change of a pixel between consecutive frames, 0–255.
    pub motion: f64,
    /// Mean absolute change of a frame's mean colour (per channel) between consecutive
    /// frames, 0–255.
    pub flicker: f64,
    /// PSNR of the first frame against the keyframe, in dB, at most [`EXACT_PSNR`] (for a
    /// first frame equal to its keyframe, whose PSNR is infinite).
    pub first_frame_psnr: f64,
}

/// The PSNR given to a first frame equal to its keyframe: finite, so that means over
/// clips and JSON reports stay numbers.
pub const EXACT_PSNR: f64 = 100.0;

/// Why a clip cannot be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClipError {
    /// Motion and flicker need two frames at least.
    #[error("a clip needs at least two frames to score, this one has {0}")]
    TooFewFrames(usize),
    /// Frames and keyframe must be of one size.
    #[error(transparent)]
    Size(#[from] SizeMismatch),
}

/// Scores `frames` (in order) animated from `keyframe`.
pub fn score_clip(frames: &[RgbImage], keyframe: &RgbImage) -> Result<ClipScores, ClipError> {
    if frames.len() < 2 {
        return Err(ClipError::TooFewFrames(frames.len()));
    }
    let first_frame_psnr = psnr(&frames[0], keyframe)?.min(EXACT_PSNR);
    let mut motion = 0.0;
    let mut flicker = 0.0;
    for pair in frames.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.dimensions() != b.dimensions() {
            return Err(SizeMismatch {
                first: a.dimensions(),
                second: b.dimensions(),
            }
            .into());
        }
        let changes = a.as_raw().iter().zip(b.as_raw());
        motion += changes
            .map(|(&x, &y)| (x as f64 - y as f64).abs())
            .sum::<f64>()
            / a.as_raw().len().max(1) as f64;
        let (mean_a, mean_b) = (mean_colour(a), mean_colour(b));
        flicker += (0..3).map(|c| (mean_a[c] - mean_b[c]).abs()).sum::<f64>() / 3.0;
    }
    let pairs = (frames.len() - 1) as f64;
    Ok(ClipScores {
        motion: motion / pairs,
        flicker: flicker / pairs,
        first_frame_psnr,
    })
}

/// The mean of each channel over the picture.
fn mean_colour(picture: &RgbImage) -> [f64; 3] {
    let mut sum = [0.0; 3];
    for pixel in picture.pixels() {
        for (c, total) in sum.iter_mut().enumerate() {
            *total += pixel[c] as f64;
        }
    }
    let count = (picture.width() as f64 * picture.height() as f64).max(1.0);
    sum.map(|s| s / count)
}

/// The mean of each score over `clips`, `None` when there is none.
pub fn mean_scores(clips: &[ClipScores]) -> Option<ClipScores> {
    if clips.is_empty() {
        return None;
    }
    let n = clips.len() as f64;
    let sum = |value: &dyn Fn(&ClipScores) -> f64| clips.iter().map(value).sum::<f64>() / n;
    Some(ClipScores {
        motion: sum(&|c| c.motion),
        flicker: sum(&|c| c.flicker),
        first_frame_psnr: sum(&|c| c.first_frame_psnr),
    })
}

/// Which way a tracked region may move: along one axis, in whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Left (negative) or right.
    Horizontal,
    /// Up (negative) or down.
    Vertical,
}

/// How far the content of `region` (x0, y0, x1, y1 in pixels) of `from` has moved in `to`
/// along `axis`: the whole-pixel shift within `max_shift` whose region of `to` differs
/// least from it (mean absolute difference; places beyond the border read the border). Of
/// equally good shifts the smallest wins, so a region that does not change stays at 0.
///
/// This is block matching, the oldest motion estimator: enough to tell whether a walker in
/// a generated clip went the way and the distance the true one did, which is what "walkers
/// walk" means, without any learned model in the measurement.
pub fn tracked_shift(
    from: &RgbImage,
    to: &RgbImage,
    region: [f32; 4],
    axis: Axis,
    max_shift: u32,
) -> Result<i32, SizeMismatch> {
    if from.dimensions() != to.dimensions() {
        return Err(SizeMismatch {
            first: from.dimensions(),
            second: to.dimensions(),
        });
    }
    let (width, height) = from.dimensions();
    let clamp_to = |v: f32, limit: u32| (v.max(0.0) as u32).min(limit);
    let (x0, x1) = (clamp_to(region[0], width), clamp_to(region[2], width));
    let (y0, y1) = (clamp_to(region[1], height), clamp_to(region[3], height));
    if x0 >= x1 || y0 >= y1 {
        return Ok(0);
    }
    let difference = |shift: i32| -> u64 {
        let (dx, dy) = match axis {
            Axis::Horizontal => (shift, 0),
            Axis::Vertical => (0, shift),
        };
        let mut total = 0u64;
        for y in y0..y1 {
            let ty = (y as i32 + dy).clamp(0, height as i32 - 1) as u32;
            for x in x0..x1 {
                let tx = (x as i32 + dx).clamp(0, width as i32 - 1) as u32;
                let (a, b) = (from.get_pixel(x, y), to.get_pixel(tx, ty));
                total += (0..3).map(|c| a[c].abs_diff(b[c]) as u64).sum::<u64>();
            }
        }
        total
    };
    let max_shift = max_shift as i32;
    let mut best = (difference(0), 0);
    for magnitude in 1..=max_shift {
        for shift in [-magnitude, magnitude] {
            let d = difference(shift);
            if d < best.0 {
                best = (d, shift);
            }
        }
    }
    Ok(best.1)
}

#[cfg(test)]
mod tests {
    use image::Rgb;

    use super::*;

    /// A grey background with a dark 4×4 square whose left edge is at `x`.
    fn square_at(x: u32) -> RgbImage {
        let mut picture = RgbImage::from_pixel(32, 32, Rgb([120, 130, 140]));
        for dy in 0..4 {
            for dx in 0..4 {
                picture.put_pixel(x + dx, 10 + dy, Rgb([10, 10, 10]));
            }
        }
        picture
    }

    #[test]
    fn a_held_keyframe_neither_moves_nor_flickers_and_starts_exactly() {
        let keyframe = square_at(4);
        let scores = score_clip(&vec![keyframe.clone(); 8], &keyframe).unwrap();
        assert_eq!(scores.motion, 0.0);
        assert_eq!(scores.flicker, 0.0);
        assert_eq!(scores.first_frame_psnr, EXACT_PSNR);
    }

    #[test]
    fn motion_moves_but_does_not_flicker_while_tone_jumps_flicker() {
        let walking: Vec<RgbImage> = (0..8).map(|t| square_at(4 + 2 * t)).collect();
        let walk = score_clip(&walking, &walking[0]).unwrap();
        // The square moves: pixels change, the picture's mean colour does not.
        assert!(walk.motion > 1.0, "{walk:?}");
        assert!(walk.flicker < 1e-9, "{walk:?}");

        // The same square held still while the whole frame brightens and darkens by 10.
        let flickering: Vec<RgbImage> = (0..8)
            .map(|t| {
                let mut frame = square_at(4);
                let shift = if t % 2 == 0 { 0 } else { 10 };
                frame
                    .pixels_mut()
                    .for_each(|p| p.0 = p.0.map(|v| v + shift));
                frame
            })
            .collect();
        let flicker = score_clip(&flickering, &flickering[0]).unwrap();
        assert!((flicker.flicker - 10.0).abs() < 1e-9, "{flicker:?}");
        assert!(flicker.flicker > 100.0 * walk.flicker.max(0.01));
    }

    #[test]
    fn a_start_away_from_the_keyframe_lowers_first_frame_fidelity() {
        let keyframe = square_at(4);
        let near = score_clip(&[square_at(5), square_at(6)], &keyframe).unwrap();
        let far = score_clip(&[square_at(20), square_at(21)], &keyframe).unwrap();
        assert!(near.first_frame_psnr < EXACT_PSNR);
        // One pixel off differs from the keyframe in two columns of the square; far away
        // in all of it, twice over.
        assert!(
            near.first_frame_psnr > far.first_frame_psnr,
            "{near:?} {far:?}"
        );
    }

    #[test]
    fn unscorable_clips_are_refused() {
        let keyframe = square_at(4);
        assert_eq!(
            score_clip(std::slice::from_ref(&keyframe), &keyframe),
            Err(ClipError::TooFewFrames(1))
        );
        let small = RgbImage::new(16, 16);
        assert!(matches!(
            score_clip(&[small.clone(), small], &keyframe),
            Err(ClipError::Size(_))
        ));
    }

    #[test]
    fn means_are_taken_score_by_score() {
        let scores = |motion, flicker, first_frame_psnr| ClipScores {
            motion,
            flicker,
            first_frame_psnr,
        };
        let mean = mean_scores(&[scores(1.0, 0.0, EXACT_PSNR), scores(3.0, 2.0, 30.0)]).unwrap();
        assert_eq!(mean, scores(2.0, 1.0, 65.0));
        assert_eq!(mean_scores(&[]), None);
    }

    #[test]
    fn tracking_finds_how_far_a_region_moved_and_stays_put_when_it_did_not() {
        let from = square_at(4);
        let region = [4.0, 10.0, 8.0, 14.0];
        let track = |to: &RgbImage, axis| tracked_shift(&from, to, region, axis, 12).unwrap();
        assert_eq!(track(&square_at(11), Axis::Horizontal), 7);
        assert_eq!(track(&square_at(1), Axis::Horizontal), -3);
        assert_eq!(track(&from, Axis::Horizontal), 0);
        // Moved further than the search reaches: the best within reach, not the truth.
        assert_ne!(track(&square_at(20), Axis::Horizontal), 16);
        // Moved down by 5: found along the vertical axis.
        let mut lower = RgbImage::from_pixel(32, 32, Rgb([120, 130, 140]));
        for dy in 0..4 {
            for dx in 0..4 {
                lower.put_pixel(4 + dx, 15 + dy, Rgb([10, 10, 10]));
            }
        }
        assert_eq!(track(&lower, Axis::Vertical), 5);
        assert!(tracked_shift(&from, &RgbImage::new(8, 8), region, Axis::Vertical, 2).is_err());
    }
}
