//! The latent autoencoder: a small convolutional autoencoder that maps a keyframe to a
//! spatial latent a quarter of its side (16 × 16 × C for 64 px keyframes) and back.
//!
//! The tokenizer's diffusion decoder, and the renderer built on it, generate this latent
//! instead of pixels, as latent diffusion does. A pixel-space DiT spent the whole training
//! budget learning to draw StoryWorld's outlines at all (docs/results/tokenizer.md); the
//! autoencoder learns that copy-like task alone and fast, and the diffusion model then works
//! on a map with less to draw. Each latent position is scaled to unit RMS over its channels,
//! so the diffusion model's inputs have the scale its noise schedule assumes without a
//! measured scale factor.
//!
//! Channels-last inside ([`moviedreamer_nn::layers::Conv3x3`]); images and latents are
//! (batch, channels, height, width) outside, like every other model's pictures.

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::activation::silu;
use moviedreamer_nn::layers::{Conv3x3, ConvResBlock, LayerNorm, depth_to_space, space_to_depth};
use serde::{Deserialize, Serialize};

/// Sizes of an autoencoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoencoderConfig {
    /// Keyframe side in pixels (a multiple of 4).
    pub image_size: usize,
    /// Colour channels.
    pub channels: usize,
    /// Channels of the latent, whose side is a quarter of the keyframe's.
    pub latent_channels: usize,
    /// Width at half the keyframe's side.
    pub outer_dim: usize,
    /// Width at a quarter of the keyframe's side, where most of the work is done.
    pub inner_dim: usize,
    /// Residual blocks at a quarter of the side, on each of the two sides.
    pub inner_blocks: usize,
}

impl AutoencoderConfig {
    /// A tiny autoencoder for tests (32 px keyframes, 8 × 8 × 4 latents).
    pub fn micro() -> Self {
        AutoencoderConfig {
            image_size: 32,
            channels: 3,
            latent_channels: 4,
            outer_dim: 8,
            inner_dim: 16,
            inner_blocks: 1,
        }
    }

    /// The bundled autoencoder for 64 px StoryWorld keyframes (16 × 16 × 8 latents).
    pub fn storyworld() -> Self {
        AutoencoderConfig {
            image_size: 64,
            latent_channels: 8,
            outer_dim: 32,
            inner_dim: 96,
            inner_blocks: 2,
            ..AutoencoderConfig::micro()
        }
    }

    /// The latent's side.
    pub fn latent_size(&self) -> usize {
        self.image_size / 4
    }
}

/// Keyframe ↔ latent.
#[derive(Debug, Clone)]
pub struct Autoencoder {
    stem: Conv3x3,
    outer_in: ConvResBlock,
    merge: Linear,
    inner_in: Vec<ConvResBlock>,
    latent_norm: LayerNorm,
    to_latent: Linear,
    from_latent: Linear,
    inner_out: Vec<ConvResBlock>,
    split_norm: LayerNorm,
    split: Linear,
    outer_out: ConvResBlock,
    pixel_norm: LayerNorm,
    to_pixels: Linear,
}

impl Autoencoder {
    /// Builds the autoencoder under `vb`.
    pub fn new(config: &AutoencoderConfig, vb: VarBuilder) -> Result<Self> {
        if config.image_size == 0 || !config.image_size.is_multiple_of(4) {
            candle_core::bail!(
                "the autoencoder's image size {} must be a positive multiple of 4",
                config.image_size
            );
        }
        let (outer, inner) = (config.outer_dim, config.inner_dim);
        let blocks = |side: &str| {
            (0..config.inner_blocks)
                .map(|i| ConvResBlock::new(inner, vb.pp(format!("{side}.{i}"))))
                .collect::<Result<Vec<_>>>()
        };
        Ok(Autoencoder {
            stem: Conv3x3::new(4 * config.channels, outer, vb.pp("stem"))?,
            outer_in: ConvResBlock::new(outer, vb.pp("outer_in"))?,
            merge: linear(4 * outer, inner, vb.pp("merge"))?,
            inner_in: blocks("inner_in")?,
            latent_norm: LayerNorm::new(inner, true, 1e-6, vb.pp("latent_norm"))?,
            to_latent: linear(inner, config.latent_channels, vb.pp("to_latent"))?,
            from_latent: linear(config.latent_channels, inner, vb.pp("from_latent"))?,
            inner_out: blocks("inner_out")?,
            split_norm: LayerNorm::new(inner, true, 1e-6, vb.pp("split_norm"))?,
            split: linear(inner, 4 * outer, vb.pp("split"))?,
            outer_out: ConvResBlock::new(outer, vb.pp("outer_out"))?,
            pixel_norm: LayerNorm::new(outer, true, 1e-6, vb.pp("pixel_norm"))?,
            to_pixels: linear(outer, 4 * config.channels, vb.pp("to_pixels"))?,
        })
    }

    /// Keyframes (batch, channels, size, size) in [-1, 1] → latents (batch, latent_channels,
    /// size / 4, size / 4), each position at unit RMS over its channels.
    pub fn encode(&self, images: &Tensor, train: bool) -> Result<Tensor> {
        let x = space_to_depth(&images.permute((0, 2, 3, 1))?.contiguous()?)?;
        let x = self.outer_in.forward(&self.stem.forward(&x)?, train)?;
        let mut x = self.merge.forward(&space_to_depth(&x)?)?;
        for block in &self.inner_in {
            x = block.forward(&x, train)?;
        }
        let z = self
            .to_latent
            .forward(&silu(&self.latent_norm.forward(&x, train)?)?)?;
        let rms = (z.sqr()?.mean_keepdim(D::Minus1)? + 1e-6)?.sqrt()?;
        z.broadcast_div(&rms)?.permute((0, 3, 1, 2))?.contiguous()
    }

    /// Latents (batch, latent_channels, size / 4, size / 4) → keyframes (batch, channels,
    /// size, size), unclamped.
    pub fn decode(&self, latents: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self
            .from_latent
            .forward(&latents.permute((0, 2, 3, 1))?.contiguous()?)?;
        for block in &self.inner_out {
            x = block.forward(&x, train)?;
        }
        let x = self
            .split
            .forward(&silu(&self.split_norm.forward(&x, train)?)?)?;
        let x = self.outer_out.forward(&depth_to_space(&x)?, train)?;
        let x = self
            .to_pixels
            .forward(&silu(&self.pixel_norm.forward(&x, train)?)?)?;
        depth_to_space(&x)?.permute((0, 3, 1, 2))?.contiguous()
    }

    /// The training loss of a batch: mean squared error of the reconstruction.
    pub fn reconstruction_loss(&self, images: &Tensor) -> Result<Tensor> {
        let reconstruction = self.decode(&self.encode(images, true)?, true)?;
        (reconstruction - images)?.sqr()?.mean_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::VarMap;
    use moviedreamer_nn::grad_check::assert_full_coverage;
    use moviedreamer_nn::init::seeded_var_builder;
    use moviedreamer_nn::ops::randn;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn latents_are_a_quarter_of_the_side_at_unit_rms_and_every_weight_trains() {
        let varmap = VarMap::new();
        let config = AutoencoderConfig::micro();
        let model = Autoencoder::new(&config, seeded_var_builder(&varmap, 0)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let images = randn(&mut rng, (2, 3, 32, 32), &Device::Cpu).unwrap();
        let latents = model.encode(&images, true).unwrap();
        assert_eq!(latents.dims(), &[2, 4, 8, 8]);
        let rms: Vec<f32> = latents
            .sqr()
            .unwrap()
            .mean(1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(rms.iter().all(|r| (r - 1.0).abs() < 1e-3), "{rms:?}");
        assert_eq!(
            model.decode(&latents, true).unwrap().dims(),
            &[2, 3, 32, 32]
        );
        assert_full_coverage(&varmap, &model.reconstruction_loss(&images).unwrap());
    }

    #[test]
    fn a_side_that_is_not_a_multiple_of_four_is_refused() {
        let varmap = VarMap::new();
        let config = AutoencoderConfig {
            image_size: 30,
            ..AutoencoderConfig::micro()
        };
        let error = Autoencoder::new(&config, seeded_var_builder(&varmap, 0)).unwrap_err();
        assert!(error.to_string().contains("multiple of 4"), "{error}");
    }
}
