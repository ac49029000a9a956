//! Augmentation that keeps labels true.
//!
//! StoryWorld labels are exact, and a model can only learn exact things from them if every
//! augmented picture still matches its labels. So:
//!
//! - **crop**: a small random crop, resized back to the original size (bilinear); the boxes
//!   go through the same map. No side is cut past the centre of any face, so every labelled
//!   character stays at least half visible and its labels stay true.
//! - **flip**: a mirror with probability 0.5, applied to the labels too: left and right
//!   slots and facings swap and boxes are mirrored. It is the only augmentation that
//!   changes a class label.
//! - **jitter**: brightness and contrast, kept small so that day, dusk and night (which
//!   StoryWorld tells apart by light and palette) stay recognisable.
//!
//! Randomness comes only from the caller's RNG, and [`Augment::apply`] draws the same
//! number of values whatever the settings, so a run is reproduced exactly from its seed.

use image::{Rgb, RgbImage};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::labels::{KeyframeLabels, PixelBox};

/// Largest `crop` honoured: a quarter from each side still leaves half the picture.
pub const MAX_CROP: f32 = 0.25;
/// Largest `jitter` honoured.
pub const MAX_JITTER: f32 = 0.5;

/// Augmentation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Largest fraction cut from each side (drawn independently per side), e.g. 1/16.
    /// Clamped to [0, [`MAX_CROP`]].
    pub crop: f32,
    /// Whether to mirror half of the pictures.
    pub flip: bool,
    /// Amplitude of brightness (a shift of up to `jitter` of full scale) and contrast (a
    /// factor in 1 ± `jitter`). Clamped to [0, [`MAX_JITTER`]].
    pub jitter: f32,
}

impl Default for Augment {
    /// The settings for StoryWorld training: 1/16 crop, flips, ±8% light.
    fn default() -> Self {
        Augment {
            crop: 1.0 / 16.0,
            flip: true,
            jitter: 0.08,
        }
    }
}

/// A rectangle of the source picture in pixels (x0, y0, x1, y1), continuous coordinates:
/// pixel (i, j) covers [i, i + 1) x [j, j + 1).
pub type CropRect = [f32; 4];

impl Augment {
    /// No augmentation: pictures and labels pass through unchanged.
    pub const NONE: Augment = Augment {
        crop: 0.0,
        flip: false,
        jitter: 0.0,
    };

    /// Augments one picture and its labels. Seven values are drawn from `rng` every time
    /// (four crop sides, the flip, brightness, contrast).
    pub fn apply(
        &self,
        image: &RgbImage,
        labels: &KeyframeLabels,
        rng: &mut impl Rng,
    ) -> (RgbImage, KeyframeLabels) {
        let crop = sane(self.crop, MAX_CROP);
        let jitter = sane(self.jitter, MAX_JITTER);
        let cuts: [f32; 4] = std::array::from_fn(|_| rng.random::<f32>() * crop);
        let flip = rng.random_bool(0.5) && self.flip;
        let brightness = (rng.random::<f32>() * 2.0 - 1.0) * jitter;
        let contrast = 1.0 + (rng.random::<f32>() * 2.0 - 1.0) * jitter;

        let (mut image, mut labels) = if crop > 0.0 {
            let rect = safe_crop(image.width(), image.height(), labels, cuts);
            crop_resize(image, labels, rect)
        } else {
            (image.clone(), labels.clone())
        };
        if flip {
            (image, labels) = flip_horizontal(&image, &labels);
        }
        if jitter > 0.0 {
            image = adjust_light(&image, brightness, contrast);
        }
        (image, labels)
    }
}

/// A setting clamped to [0, max]; NaN means off.
fn sane(value: f32, max: f32) -> f32 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, max)
    }
}

/// The crop rectangle for cuts given as fractions of the side (left, right, top, bottom),
/// each reduced so that no face centre falls outside the rectangle.
pub fn safe_crop(width: u32, height: u32, labels: &KeyframeLabels, cuts: [f32; 4]) -> CropRect {
    let (w, h) = (width as f32, height as f32);
    let mut left = cuts[0] * w;
    let mut right = cuts[1] * w;
    let mut top = cuts[2] * h;
    let mut bottom = cuts[3] * h;
    for actor in &labels.actors {
        let f = actor.face_box;
        let (cx, cy) = ((f[0] + f[2]) / 2.0, (f[1] + f[3]) / 2.0);
        left = left.min(cx);
        right = right.min(w - cx);
        top = top.min(cy);
        bottom = bottom.min(h - cy);
    }
    [left, top, w - right, h - bottom]
}

/// Cuts `rect` out of the picture and resizes it back to the picture's size with bilinear
/// sampling; boxes are mapped the same way and clipped to the frame.
pub fn crop_resize(
    image: &RgbImage,
    labels: &KeyframeLabels,
    rect: CropRect,
) -> (RgbImage, KeyframeLabels) {
    let (width, height) = image.dimensions();
    let (w, h) = (width as f32, height as f32);
    let sx = w / (rect[2] - rect[0]).max(1.0);
    let sy = h / (rect[3] - rect[1]).max(1.0);
    let out = RgbImage::from_fn(width, height, |i, j| {
        // Centre of the output pixel, back in source pixel-index coordinates.
        let x = rect[0] + (i as f32 + 0.5) / sx - 0.5;
        let y = rect[1] + (j as f32 + 0.5) / sy - 0.5;
        bilinear(image, x, y)
    });
    let labels = labels.map_boxes(|b: PixelBox| {
        [
            ((b[0] - rect[0]) * sx).clamp(0.0, w),
            ((b[1] - rect[1]) * sy).clamp(0.0, h),
            ((b[2] - rect[0]) * sx).clamp(0.0, w),
            ((b[3] - rect[1]) * sy).clamp(0.0, h),
        ]
    });
    (out, labels)
}

/// The colour at (x, y) in pixel-index coordinates, interpolated between the four nearest
/// pixels; outside the picture the edge pixels extend.
pub(crate) fn bilinear(image: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (width, height) = image.dimensions();
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |px: u32, py: u32| image.get_pixel(px, py).0;
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    Rgb(std::array::from_fn(|k| {
        let top = f32::from(a[k]) * (1.0 - fx) + f32::from(b[k]) * fx;
        let bottom = f32::from(c[k]) * (1.0 - fx) + f32::from(d[k]) * fx;
        (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
    }))
}

/// Mirrors the picture left to right and its labels with it.
pub fn flip_horizontal(image: &RgbImage, labels: &KeyframeLabels) -> (RgbImage, KeyframeLabels) {
    (
        image::imageops::flip_horizontal(image),
        labels.mirrored(image.width() as f32),
    )
}

/// Scales every value's distance from the picture's mean by `contrast`, then shifts it by
/// `brightness` (a fraction of full scale); clamped and rounded.
pub fn adjust_light(image: &RgbImage, brightness: f32, contrast: f32) -> RgbImage {
    let count = (image.as_raw().len()).max(1) as f32;
    let mean = image.as_raw().iter().map(|&v| f32::from(v)).sum::<f32>() / count;
    let shift = brightness * 255.0;
    let mut out = image.clone();
    for v in out.iter_mut() {
        let adjusted = (f32::from(*v) - mean) * contrast + mean + shift;
        *v = adjusted.round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::labels::ActorLabels;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn labels_with(face: PixelBox, bbox: PixelBox) -> KeyframeLabels {
        KeyframeLabels {
            location: 0,
            time: 0,
            style: 0,
            shot_type: 1,
            actors: vec![ActorLabels {
                id: "a".into(),
                slot: 0,
                pose: 0,
                facing: 0,
                bbox,
                face_box: face,
                traits: [0; 10],
            }],
        }
    }

    /// A black 64x64 picture with a white rectangle exactly covering `b`.
    fn white_box(b: [u32; 4]) -> RgbImage {
        RgbImage::from_fn(64, 64, |x, y| {
            let inside = x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
            Rgb(if inside { [255; 3] } else { [0; 3] })
        })
    }

    /// The bounds of the pixels brighter than half.
    fn bright_bounds(image: &RgbImage) -> [u32; 4] {
        let mut b = [u32::MAX, u32::MAX, 0, 0];
        for (x, y, p) in image.enumerate_pixels() {
            if p[0] > 127 {
                b = [b[0].min(x), b[1].min(y), b[2].max(x + 1), b[3].max(y + 1)];
            }
        }
        b
    }

    #[test]
    fn crop_moves_pixels_and_boxes_together() {
        let image = white_box([20, 16, 36, 40]);
        let labels = labels_with([20.0, 16.0, 36.0, 24.0], [20.0, 16.0, 36.0, 40.0]);
        let rect = [4.0, 2.0, 60.0, 58.0];
        let (out, mapped) = crop_resize(&image, &labels, rect);
        let bbox = mapped.actors[0].bbox;
        let scale = 64.0 / 56.0;
        assert_eq!(
            bbox,
            [16.0 * scale, 14.0 * scale, 32.0 * scale, 38.0 * scale]
        );
        let seen = bright_bounds(&out);
        for k in 0..4 {
            assert!(
                (seen[k] as f32 - bbox[k]).abs() <= 1.0,
                "side {k}: pixels end at {}, box says {}",
                seen[k],
                bbox[k]
            );
        }
        // Widths scale by the same factor as the picture.
        let before = labels.actors[0].face_box;
        let after = mapped.actors[0].face_box;
        assert!(((after[2] - after[0]) - (before[2] - before[0]) * scale).abs() < 1e-4);
    }

    #[test]
    fn no_crop_is_the_identity() {
        let image = RgbImage::from_fn(32, 32, |x, y| Rgb([x as u8 * 7, y as u8 * 5, 9]));
        let labels = labels_with([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 32.0, 32.0]);
        let (out, same) = crop_resize(&image, &labels, [0.0, 0.0, 32.0, 32.0]);
        assert_eq!(out, image);
        assert_eq!(same, labels);
    }

    #[test]
    fn crops_never_cut_past_a_face_centre() {
        // A face near the left edge: its centre is at x = 3.
        let labels = labels_with([1.0, 30.0, 5.0, 34.0], [0.0, 28.0, 8.0, 60.0]);
        let rect = safe_crop(64, 64, &labels, [0.25; 4]);
        assert_eq!(rect, [3.0, 16.0, 48.0, 48.0]);
        let (_, mapped) = crop_resize(&RgbImage::new(64, 64), &labels, rect);
        let face = mapped.actors[0].face_box;
        assert!(face[2] > face[0], "the face is still there: {face:?}");
    }

    #[test]
    fn light_changes_pixels_and_is_bounded() {
        let image = RgbImage::from_fn(8, 8, |x, y| Rgb([x as u8 * 30, y as u8 * 30, 100]));
        assert_eq!(adjust_light(&image, 0.0, 1.0), image);
        let brighter = adjust_light(&image, 0.2, 1.0);
        assert_eq!(brighter.get_pixel(1, 1).0, [81, 81, 151]);
        assert_eq!(brighter.get_pixel(7, 7).0, [255, 255, 151]);
        let flat = adjust_light(&image, 0.0, 0.0);
        let first = flat.get_pixel(0, 0).0[0];
        assert!(flat.iter().all(|&v| v == first));
    }

    #[test]
    fn apply_is_deterministic_and_none_is_the_identity() {
        let image = white_box([10, 10, 30, 50]);
        let labels = labels_with([12.0, 10.0, 28.0, 20.0], [10.0, 10.0, 30.0, 50.0]);
        let augment = Augment::default();
        let a = augment.apply(&image, &labels, &mut ChaCha8Rng::seed_from_u64(5));
        let b = augment.apply(&image, &labels, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(a, b);
        let none = Augment::NONE.apply(&image, &labels, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(none, (image, labels));
    }

    #[test]
    fn apply_flips_about_half_the_time() {
        let image = white_box([0, 0, 8, 64]);
        let labels = labels_with([0.0, 0.0, 8.0, 8.0], [0.0, 0.0, 8.0, 64.0]);
        let flips_only = Augment {
            crop: 0.0,
            flip: true,
            jitter: 0.0,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let flipped = (0..400)
            .filter(|_| flips_only.apply(&image, &labels, &mut rng).1.actors[0].slot == 2)
            .count();
        assert!((150..250).contains(&flipped), "{flipped} of 400");
    }
}
