//! PSNR and SSIM between two RGB pictures of the same size.
//!
//! SSIM is written here rather than taken from a crate because the numbers must be
//! comparable with published ones: this is the SSIM of Wang et al. (2004) as most papers
//! report it, with an 11×11 Gaussian window of σ = 1.5, constants K1 = 0.01 and K2 = 0.03 on
//! a data range of 255, population (not sample) statistics, computed over the positions
//! where the window fits inside the picture, per channel, then averaged over channels.
//! (scikit-image's `structural_similarity` with `gaussian_weights=True` follows the same
//! definition.)

use image::RgbImage;

/// Side of the SSIM window: the Gaussian truncated at 3.5 σ on each side.
pub const SSIM_WINDOW: usize = 11;
/// Standard deviation of the SSIM window, in pixels.
pub const SSIM_SIGMA: f64 = 1.5;
const DATA_RANGE: f64 = 255.0;
const C1: f64 = (0.01 * DATA_RANGE) * (0.01 * DATA_RANGE);
const C2: f64 = (0.03 * DATA_RANGE) * (0.03 * DATA_RANGE);

/// Why two pictures cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeMismatch {
    /// Width and height of the first picture.
    pub first: (u32, u32),
    /// Width and height of the second picture.
    pub second: (u32, u32),
}

impl std::fmt::Display for SizeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pictures of different sizes cannot be compared: {}x{} and {}x{}",
            self.first.0, self.first.1, self.second.0, self.second.1
        )
    }
}

impl std::error::Error for SizeMismatch {}

fn check_sizes(a: &RgbImage, b: &RgbImage) -> Result<(), SizeMismatch> {
    if a.dimensions() == b.dimensions() {
        Ok(())
    } else {
        Err(SizeMismatch {
            first: a.dimensions(),
            second: b.dimensions(),
        })
    }
}

/// Peak signal-to-noise ratio in dB over all pixels and channels, with a peak of 255;
/// infinite for identical pictures.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> Result<f64, SizeMismatch> {
    check_sizes(a, b)?;
    let squared: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let mse = squared / a.as_raw().len().max(1) as f64;
    Ok(10.0 * (DATA_RANGE * DATA_RANGE / mse).log10())
}

/// Mean structural similarity, in [-1, 1], 1 for identical pictures. Pictures smaller than
/// the window in either side are compared with a window cut to fit.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> Result<f64, SizeMismatch> {
    check_sizes(a, b)?;
    let (width, height) = (a.width() as usize, a.height() as usize);
    let window = SSIM_WINDOW.min(width).min(height);
    let weights = gaussian_window(window);
    let mut total = 0.0;
    for channel in 0..3 {
        let plane = |image: &RgbImage| -> Vec<f64> {
            image.pixels().map(|p| p.0[channel] as f64).collect()
        };
        let (x, y) = (plane(a), plane(b));
        let product =
            |p: &[f64], q: &[f64]| -> Vec<f64> { p.iter().zip(q).map(|(u, v)| u * v).collect() };
        let filter = |values: &[f64]| filter_valid(values, width, height, &weights);
        let (mu_x, mu_y) = (filter(&x), filter(&y));
        let (xx, yy, xy) = (
            filter(&product(&x, &x)),
            filter(&product(&y, &y)),
            filter(&product(&x, &y)),
        );
        let mut sum = 0.0;
        for i in 0..mu_x.len() {
            let (mx, my) = (mu_x[i], mu_y[i]);
            let var_x = xx[i] - mx * mx;
            let var_y = yy[i] - my * my;
            let cov = xy[i] - mx * my;
            sum += ((2.0 * mx * my + C1) * (2.0 * cov + C2))
                / ((mx * mx + my * my + C1) * (var_x + var_y + C2));
        }
        total += sum / mu_x.len() as f64;
    }
    Ok(total / 3.0)
}

/// A normalised 1-D Gaussian of `size` taps and σ = [`SSIM_SIGMA`].
fn gaussian_window(size: usize) -> Vec<f64> {
    let centre = (size as f64 - 1.0) / 2.0;
    let taps: Vec<f64> = (0..size)
        .map(|i| (-(i as f64 - centre).powi(2) / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp())
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.iter().map(|t| t / sum).collect()
}

/// Separable filtering of a row-major plane, keeping only positions where the window fits.
fn filter_valid(values: &[f64], width: usize, height: usize, weights: &[f64]) -> Vec<f64> {
    let size = weights.len();
    let (out_w, out_h) = (width + 1 - size, height + 1 - size);
    let mut rows = vec![0.0; out_w * height];
    for y in 0..height {
        for x in 0..out_w {
            rows[y * out_w + x] = (0..size)
                .map(|k| weights[k] * values[y * width + x + k])
                .sum();
        }
    }
    let mut out = vec![0.0; out_w * out_h];
    for y in 0..out_h {
        for x in 0..out_w {
            out[y * out_w + x] = (0..size)
                .map(|k| weights[k] * rows[(y + k) * out_w + x])
                .sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn flat(size: u32, value: u8) -> RgbImage {
        RgbImage::from_pixel(size, size, Rgb([value; 3]))
    }

    /// A deterministic picture with edges and texture.
    fn pattern(size: u32) -> RgbImage {
        RgbImage::from_fn(size, size, |x, y| {
            let v = ((x * 37 + y * 91) % 256) as u8;
            Rgb([v, ((x / 8 + y / 8) % 2 * 200) as u8, (x * 4) as u8])
        })
    }

    #[test]
    fn psnr_of_a_uniform_error_matches_its_formula() {
        // Every value off by 10: MSE 100, PSNR = 10 log10(255² / 100).
        let expected = 10.0 * (255.0f64 * 255.0 / 100.0).log10();
        let value = psnr(&flat(16, 100), &flat(16, 110)).unwrap();
        assert!((value - expected).abs() < 1e-9, "{value} vs {expected}");
        assert!(psnr(&pattern(16), &pattern(16)).unwrap().is_infinite());
    }

    #[test]
    fn ssim_of_flat_pictures_is_the_luminance_term() {
        // Zero variance: the structure term is C2 / C2 = 1, leaving (2ab + C1)/(a² + b² + C1).
        let (a, b) = (100.0, 140.0);
        let expected = (2.0 * a * b + C1) / (a * a + b * b + C1);
        let value = ssim(&flat(32, 100), &flat(32, 140)).unwrap();
        assert!((value - expected).abs() < 1e-9, "{value} vs {expected}");
    }

    #[test]
    fn ssim_is_one_for_identical_pictures_and_falls_with_damage() {
        let original = pattern(64);
        assert!((ssim(&original, &original).unwrap() - 1.0).abs() < 1e-9);
        let damage = |amount: i32| {
            RgbImage::from_fn(64, 64, |x, y| {
                let p = original.get_pixel(x, y).0;
                let noise = if (x * 7 + y * 13) % 3 == 0 {
                    amount
                } else {
                    -amount
                };
                Rgb(p.map(|v| (v as i32 + noise).clamp(0, 255) as u8))
            })
        };
        let (light, heavy) = (
            ssim(&original, &damage(8)).unwrap(),
            ssim(&original, &damage(40)).unwrap(),
        );
        assert!(1.0 > light && light > heavy, "{light} then {heavy}");
        // An inverted picture is anti-correlated.
        let inverted = RgbImage::from_fn(64, 64, |x, y| {
            Rgb(original.get_pixel(x, y).0.map(|v| 255 - v))
        });
        assert!(ssim(&original, &inverted).unwrap() < 0.0);
    }

    #[test]
    fn pictures_of_different_sizes_are_refused() {
        let error = ssim(&flat(16, 0), &flat(17, 0)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "pictures of different sizes cannot be compared: 16x16 and 17x17"
        );
        assert!(psnr(&flat(16, 0), &flat(17, 0)).is_err());
    }

    #[test]
    fn tiny_pictures_use_a_window_that_fits() {
        let value = ssim(&pattern(4), &pattern(4)).unwrap();
        assert!((value - 1.0).abs() < 1e-9);
    }
}
