//! The identity encoder: a face image → a unit vector that is the same for one character
//! whatever the style, pose or framing, and different between characters.
//!
//! A small ViT (patch embedding, fixed 2-D positions, pre-norm blocks, mean pool, projection)
//! trained with a symmetric InfoNCE loss on pairs of views of one character: two portraits,
//! or a portrait and a face cut from a keyframe. The planner reads these vectors as the cast's
//! face tokens, the renderer conditions on them, and the evaluator compares them.

use std::path::Path;

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::checkpoint::{CheckpointError, load_model_dir};
use moviedreamer_nn::layers::{LayerNorm, TransformerBlock, patchify, sincos_positions_2d};
use moviedreamer_nn::ops::masked_cross_entropy;
use serde::{Deserialize, Serialize};

/// Sizes of an identity encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityEncoderConfig {
    /// Side of the square face images it reads, in pixels.
    pub image_size: usize,
    /// Colour channels.
    pub channels: usize,
    /// Patch side in pixels.
    pub patch: usize,
    /// Transformer width.
    pub dim: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of the identity embedding.
    pub embed_dim: usize,
}

impl IdentityEncoderConfig {
    /// A tiny encoder for tests.
    pub fn micro() -> Self {
        IdentityEncoderConfig {
            image_size: 16,
            channels: 3,
            patch: 4,
            dim: 16,
            depth: 1,
            heads: 2,
            embed_dim: 8,
        }
    }

    /// The bundled encoder for StoryWorld faces.
    pub fn storyworld() -> Self {
        IdentityEncoderConfig {
            image_size: 32,
            channels: 3,
            patch: 4,
            dim: 96,
            depth: 3,
            heads: 4,
            embed_dim: 64,
        }
    }
}

/// Face images → identity embeddings.
#[derive(Debug, Clone)]
pub struct IdentityEncoder {
    config: IdentityEncoderConfig,
    embed: Linear,
    positions: Tensor,
    blocks: Vec<TransformerBlock>,
    norm: LayerNorm,
    project: Linear,
}

impl IdentityEncoder {
    /// Builds the encoder under `vb`.
    pub fn new(cfg: &IdentityEncoderConfig, vb: VarBuilder) -> Result<Self> {
        if cfg.patch == 0 || !cfg.image_size.is_multiple_of(cfg.patch) {
            candle_core::bail!(
                "identity encoder: image size {} must be a multiple of the patch size {}",
                cfg.image_size,
                cfg.patch
            );
        }
        let grid = cfg.image_size / cfg.patch;
        let blocks = (0..cfg.depth)
            .map(|i| TransformerBlock::new(cfg.dim, cfg.heads, 4.0, vb.pp(format!("blocks.{i}"))))
            .collect::<Result<_>>()?;
        Ok(IdentityEncoder {
            config: cfg.clone(),
            embed: linear(
                cfg.channels * cfg.patch * cfg.patch,
                cfg.dim,
                vb.pp("embed"),
            )?,
            positions: sincos_positions_2d(grid, grid, cfg.dim, vb.device())?,
            blocks,
            norm: LayerNorm::new(cfg.dim, true, 1e-6, vb.pp("norm"))?,
            project: linear(cfg.dim, cfg.embed_dim, vb.pp("project"))?,
        })
    }

    /// Loads a model directory (`config.json` and `model.safetensors`) written by training.
    pub fn load(dir: &Path) -> std::result::Result<Self, CheckpointError> {
        load_model_dir(dir, |config: &IdentityEncoderConfig, vb| {
            Self::new(config, vb)
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &IdentityEncoderConfig {
        &self.config
    }

    /// Faces (batch, channels, size, size) in [-1, 1] → unit vectors (batch, embed_dim).
    pub fn forward(&self, faces: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self
            .embed
            .forward(&patchify(faces, self.config.patch)?)?
            .broadcast_add(&self.positions)?;
        for block in &self.blocks {
            x = block.forward(&x, None, train)?;
        }
        let pooled = self.norm.forward(&x, train)?.mean(1)?;
        unit_vectors(&self.project.forward(&pooled)?)
    }
}

/// The symmetric InfoNCE loss of two batches of identity embeddings (unit vectors): row i
/// of `a` and row i of `b` show the same character, every other pairing shows different
/// ones. `temperature` sharpens the cosine similarities (0.1 is usual).
pub fn contrastive_loss(a: &Tensor, b: &Tensor, temperature: f64) -> Result<Tensor> {
    let logits = (a.matmul(&b.t()?)? / temperature)?;
    let a_to_b = cross_entropy_on_diagonal(&logits)?;
    let b_to_a = cross_entropy_on_diagonal(&logits.t()?.contiguous()?)?;
    (a_to_b + b_to_a)? / 2.0
}

/// Rows scaled to unit length.
pub fn unit_vectors(x: &Tensor) -> Result<Tensor> {
    let norm = (x.sqr()?.sum_keepdim(D::Minus1)? + 1e-12)?.sqrt()?;
    x.broadcast_div(&norm)
}

/// Mean cross-entropy of each row of square `logits` against its diagonal entry.
fn cross_entropy_on_diagonal(logits: &Tensor) -> Result<Tensor> {
    let n = logits.dim(0)?;
    let diagonal = Tensor::arange(0u32, n as u32, logits.device())?;
    let every_row = Tensor::ones(n, DType::F32, logits.device())?;
    masked_cross_entropy(logits, &diagonal, &every_row)
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
    fn embeddings_are_unit_vectors_and_every_weight_learns() {
        let cfg = IdentityEncoderConfig::micro();
        let varmap = VarMap::new();
        let encoder = IdentityEncoder::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let a = randn(&mut rng, (3, 3, 16, 16), &Device::Cpu).unwrap();
        let b = randn(&mut rng, (3, 3, 16, 16), &Device::Cpu).unwrap();
        let embeddings = encoder.forward(&a, false).unwrap();
        assert_eq!(embeddings.dims(), &[3, 8]);
        let lengths: Vec<f32> = embeddings.sqr().unwrap().sum(1).unwrap().to_vec1().unwrap();
        assert!(
            lengths.iter().all(|l| (l - 1.0).abs() < 1e-5),
            "{lengths:?}"
        );
        let loss = contrastive_loss(
            &encoder.forward(&a, true).unwrap(),
            &encoder.forward(&b, true).unwrap(),
            0.1,
        )
        .unwrap();
        assert_full_coverage(&varmap, &loss);
    }

    #[test]
    fn the_loss_is_low_when_views_match_and_high_when_they_are_swapped() {
        // Logits of three perfectly matched pairs against the same pairs mismatched.
        let matched = Tensor::new(
            &[[10f32, 0., 0.], [0., 10., 0.], [0., 0., 10.]],
            &Device::Cpu,
        )
        .unwrap();
        let low = cross_entropy_on_diagonal(&matched)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let swapped = Tensor::new(
            &[[0f32, 10., 0.], [10., 0., 0.], [0., 0., 10.]],
            &Device::Cpu,
        )
        .unwrap();
        let high = cross_entropy_on_diagonal(&swapped)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(low < 1e-3, "{low}");
        // Two of three rows are wrong by a margin of 10.
        assert!((high - 2.0 * 10.0 / 3.0).abs() < 1e-2, "{high}");
    }

    #[test]
    fn a_patch_that_does_not_tile_the_image_is_an_error() {
        let cfg = IdentityEncoderConfig {
            patch: 5,
            ..IdentityEncoderConfig::micro()
        };
        let varmap = VarMap::new();
        let error = IdentityEncoder::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap_err();
        assert!(error.to_string().contains("multiple of the patch size 5"));
    }
}
