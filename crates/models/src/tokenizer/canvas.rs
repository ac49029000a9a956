//! The canvas: what the tokenizer's encoder reads and its diffusion decoder generates. With
//! a latent autoencoder in the config it is the autoencoder's latent (latent diffusion);
//! without one, the keyframe's pixels (tokenizers made before the autoencoder).
//!
//! The renderer, which is the tokenizer's decoder extended, holds the same canvas, so both
//! turn keyframes into canvases and back in one place.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::TokenizerConfig;
use crate::autoencoder::Autoencoder;

/// Where the autoencoder's weights live, in the tokenizer and the renderer alike.
pub const AUTOENCODER: &str = "autoencoder";

/// Keyframes ↔ canvases.
#[derive(Debug, Clone)]
pub struct Canvas {
    autoencoder: Option<Autoencoder>,
    channels: usize,
    side: usize,
}

impl Canvas {
    /// The canvas of `cfg`, its autoencoder (if any) under `vb`'s `autoencoder.*`.
    pub fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        if let Some(ae) = &cfg.autoencoder
            && (ae.image_size != cfg.image_size || ae.channels != cfg.channels)
        {
            candle_core::bail!(
                "the autoencoder is for {} px pictures of {} channels, the tokenizer for {} px of {}: make them agree",
                ae.image_size,
                ae.channels,
                cfg.image_size,
                cfg.channels
            );
        }
        let autoencoder = cfg
            .autoencoder
            .as_ref()
            .map(|ae| Autoencoder::new(ae, vb.pp(AUTOENCODER)))
            .transpose()?;
        let (channels, side) = cfg.canvas();
        Ok(Canvas {
            autoencoder,
            channels,
            side,
        })
    }

    /// The shape of a batch of canvases.
    pub fn shape(&self, batch: usize) -> (usize, usize, usize, usize) {
        (batch, self.channels, self.side, self.side)
    }

    /// Keyframes (batch, channels, size, size) in [-1, 1] → canvases. The autoencoder is
    /// trained before and apart from what reads its latents, so no gradient flows into it.
    pub fn from_keyframes(&self, images: &Tensor) -> Result<Tensor> {
        match &self.autoencoder {
            Some(autoencoder) => Ok(autoencoder.encode(images, false)?.detach()),
            None => Ok(images.clone()),
        }
    }

    /// Canvases → keyframes in [-1, 1].
    pub fn to_keyframes(&self, canvases: &Tensor) -> Result<Tensor> {
        match &self.autoencoder {
            Some(autoencoder) => autoencoder.decode(canvases, false)?.clamp(-1f32, 1f32),
            None => canvases.clamp(-1f32, 1f32),
        }
    }
}
