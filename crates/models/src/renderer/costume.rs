//! The costume encoder: a full-body picture of a character → one token for the renderer.
//!
//! A face embedding says who someone is, not what they wear. Where a script gives a
//! full-body picture, this small encoder turns it into a costume token: every patch is
//! projected, and the projections of all patches, side by side, are mapped to the decoder's
//! width, so the token keeps which colour sits where (coat above, trousers below). It trains
//! with the renderer, end to end.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use image::RgbImage;
use image::imageops::FilterType;
use moviedreamer_nn::activation::gelu;
use moviedreamer_nn::layers::patchify;

/// Patch side of the costume encoder, in pixels.
const PATCH: usize = 8;
/// Width of a patch's projection.
const PATCH_WIDTH: usize = 32;

/// Full-body pictures (n, channels, size, size) → costume tokens (n, dim).
#[derive(Debug, Clone)]
pub struct CostumeEncoder {
    embed: Linear,
    out: Linear,
}

impl CostumeEncoder {
    /// An encoder of `size` px pictures with `channels` colours into tokens of `dim`.
    pub fn new(size: usize, channels: usize, dim: usize, vb: VarBuilder) -> Result<Self> {
        if size == 0 || !size.is_multiple_of(PATCH) {
            candle_core::bail!("costume pictures of {size} px must be a multiple of {PATCH} px");
        }
        let patches = (size / PATCH) * (size / PATCH);
        Ok(CostumeEncoder {
            embed: linear(channels * PATCH * PATCH, PATCH_WIDTH, vb.pp("embed"))?,
            out: linear(patches * PATCH_WIDTH, dim, vb.pp("out"))?,
        })
    }

    /// The costume token of each picture.
    pub fn forward(&self, pictures: &Tensor) -> Result<Tensor> {
        let n = pictures.dim(0)?;
        let patches = gelu(&self.embed.forward(&patchify(pictures, PATCH)?)?)?;
        self.out.forward(&patches.reshape((n, ()))?)
    }
}

/// A picture made square and `size` px on a side, as the costume encoder reads it: the
/// shorter side padded with the colour of the top-left pixel (the background, in a
/// full-body picture), then resized.
pub fn fit_square(picture: &RgbImage, size: u32) -> RgbImage {
    let (w, h) = picture.dimensions();
    if (w, h) == (size, size) {
        return picture.clone();
    }
    let side = w.max(h).max(1);
    let background = picture
        .get_pixel_checked(0, 0)
        .copied()
        .unwrap_or(image::Rgb([0, 0, 0]));
    let mut square = RgbImage::from_pixel(side, side, background);
    image::imageops::overlay(
        &mut square,
        picture,
        i64::from((side - w) / 2),
        i64::from((side - h) / 2),
    );
    image::imageops::resize(&square, size, size, FilterType::Triangle)
}
