//! Scores of reconstructed pictures against their originals: what the tokenizer ablation
//! and `moviedreamer reconstruct` report.

use image::RgbImage;
use serde::Serialize;

use crate::image_metrics::{SizeMismatch, psnr, ssim};

/// PSNR and SSIM of one reconstruction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PictureScore {
    /// PSNR in dB (infinite for a perfect copy).
    pub psnr: f64,
    /// SSIM in [-1, 1].
    pub ssim: f64,
}

/// Scores of a set of reconstructions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconstructionScores {
    /// Mean PSNR in dB over the pictures.
    pub psnr: f64,
    /// Mean SSIM over the pictures.
    pub ssim: f64,
    /// Each picture's scores, in input order.
    pub pictures: Vec<PictureScore>,
}

/// Scores `reconstructions` against `originals`, pair by pair. Means of an empty set are
/// NaN.
pub fn score(
    originals: &[RgbImage],
    reconstructions: &[RgbImage],
) -> Result<ReconstructionScores, SizeMismatch> {
    let pictures = originals
        .iter()
        .zip(reconstructions)
        .map(|(original, reconstruction)| {
            Ok(PictureScore {
                psnr: psnr(original, reconstruction)?,
                ssim: ssim(original, reconstruction)?,
            })
        })
        .collect::<Result<Vec<_>, SizeMismatch>>()?;
    let mean =
        |f: fn(&PictureScore) -> f64| pictures.iter().map(f).sum::<f64>() / pictures.len() as f64;
    Ok(ReconstructionScores {
        psnr: mean(|p| p.psnr),
        ssim: mean(|p| p.ssim),
        pictures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn means_are_over_pictures_in_input_order() {
        let grey = |v| RgbImage::from_pixel(16, 16, Rgb([v; 3]));
        let scores = score(&[grey(100), grey(100)], &[grey(110), grey(120)]).unwrap();
        assert_eq!(scores.pictures.len(), 2);
        assert!(scores.pictures[0].psnr > scores.pictures[1].psnr);
        let mean = (scores.pictures[0].psnr + scores.pictures[1].psnr) / 2.0;
        assert!((scores.psnr - mean).abs() < 1e-12);
        assert!(score(&[grey(0)], &[RgbImage::new(8, 8)]).is_err());
    }
}
