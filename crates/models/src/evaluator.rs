//! The evaluator: a network trained only on ground-truth StoryWorld keyframes, apart from
//! every generator, that reads a keyframe's labels back: scene attributes (location, time,
//! style, shot type) and, for each slot (left, centre, right), whether a character stands
//! there and its pose and identity traits. The benchmark scores generated films with it.
//!
//! A ViT over 8 px patches with learned query tokens appended to the patch sequence: one
//! for the scene and one per slot. Each reads its labels through its own linear heads. A
//! slot's identity embedding is the unit-length concatenation of its trait probabilities:
//! two pictures of one character agree in it exactly as far as their traits are read alike,
//! with nothing learned beyond the traits (so it cannot reward a generator for anything
//! but the traits).

use std::path::Path;

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::checkpoint::{CheckpointError, load_model_dir};
use moviedreamer_nn::init::SMALL;
use moviedreamer_nn::layers::{LayerNorm, TransformerBlock, patchify, sincos_positions_2d};
use serde::{Deserialize, Serialize};

use crate::identity::unit_vectors;

/// A named classification head and its number of classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// What it reads, e.g. `location`.
    pub name: String,
    /// How many classes.
    pub classes: usize,
}

/// Sizes of an evaluator and the attributes it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorConfig {
    /// Keyframe side in pixels.
    pub image_size: usize,
    /// Patch side in pixels.
    pub patch: usize,
    /// Transformer width.
    pub dim: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Slots a character can stand in.
    pub slots: usize,
    /// Attributes of the whole keyframe.
    pub scene: Vec<Attribute>,
    /// Pose classes of a character.
    pub poses: usize,
    /// Identity traits of a character.
    pub traits: Vec<Attribute>,
}

impl EvaluatorConfig {
    /// The evaluator for 64 px StoryWorld keyframes, reading the given attributes.
    pub fn storyworld(scene: Vec<Attribute>, poses: usize, traits: Vec<Attribute>) -> Self {
        EvaluatorConfig {
            image_size: 64,
            patch: 8,
            dim: 192,
            depth: 4,
            heads: 6,
            slots: 3,
            scene,
            poses,
            traits,
        }
    }

    /// A tiny evaluator for tests, at `image_size`.
    pub fn micro(
        image_size: usize,
        scene: Vec<Attribute>,
        poses: usize,
        traits: Vec<Attribute>,
    ) -> Self {
        EvaluatorConfig {
            image_size,
            patch: 8,
            dim: 32,
            depth: 1,
            heads: 2,
            ..Self::storyworld(scene, poses, traits)
        }
    }
}

/// What the evaluator reads from a batch of keyframes, as logits.
#[derive(Debug, Clone)]
pub struct Reading {
    /// Per scene attribute: (batch, classes).
    pub scene: Vec<Tensor>,
    /// (batch, slots, 2): absent, present.
    pub presence: Tensor,
    /// (batch, slots, poses).
    pub pose: Tensor,
    /// Per trait: (batch, slots, classes).
    pub traits: Vec<Tensor>,
}

impl Reading {
    /// Identity embeddings (batch, slots, Σ trait classes): the unit-length concatenation of
    /// each slot's trait probabilities.
    pub fn identity_embeddings(&self) -> Result<Tensor> {
        let probabilities = self
            .traits
            .iter()
            .map(|logits| moviedreamer_nn::ops::softmax_last_dim(logits, false))
            .collect::<Result<Vec<_>>>()?;
        unit_vectors(&Tensor::cat(&probabilities, D::Minus1)?)
    }
}

/// Keyframes → their labels.
#[derive(Debug, Clone)]
pub struct Evaluator {
    config: EvaluatorConfig,
    embed: Linear,
    positions: Tensor,
    queries: Tensor,
    blocks: Vec<TransformerBlock>,
    norm: LayerNorm,
    scene: Vec<Linear>,
    presence: Linear,
    pose: Linear,
    traits: Vec<Linear>,
}

impl Evaluator {
    /// Builds the evaluator under `vb`.
    pub fn new(cfg: &EvaluatorConfig, vb: VarBuilder) -> Result<Self> {
        if cfg.patch == 0 || !cfg.image_size.is_multiple_of(cfg.patch) {
            candle_core::bail!(
                "evaluator: image size {} must be a multiple of the patch size {}",
                cfg.image_size,
                cfg.patch
            );
        }
        let grid = cfg.image_size / cfg.patch;
        let blocks = (0..cfg.depth)
            .map(|i| TransformerBlock::new(cfg.dim, cfg.heads, 4.0, vb.pp(format!("blocks.{i}"))))
            .collect::<Result<_>>()?;
        let heads = |attributes: &[Attribute], prefix: &str| {
            attributes
                .iter()
                .map(|a| linear(cfg.dim, a.classes, vb.pp(format!("{prefix}.{}", a.name))))
                .collect::<Result<Vec<_>>>()
        };
        Ok(Evaluator {
            embed: linear(3 * cfg.patch * cfg.patch, cfg.dim, vb.pp("embed"))?,
            positions: sincos_positions_2d(grid, grid, cfg.dim, vb.device())?,
            queries: vb.get_with_hints((1, 1 + cfg.slots, cfg.dim), "queries", SMALL)?,
            blocks,
            norm: LayerNorm::new(cfg.dim, true, 1e-6, vb.pp("norm"))?,
            scene: heads(&cfg.scene, "scene")?,
            presence: linear(cfg.dim, 2, vb.pp("presence"))?,
            pose: linear(cfg.dim, cfg.poses, vb.pp("pose"))?,
            traits: heads(&cfg.traits, "traits")?,
            config: cfg.clone(),
        })
    }

    /// Loads a model directory (`config.json` and `model.safetensors`) written by training.
    pub fn load(dir: &Path) -> std::result::Result<Self, CheckpointError> {
        load_model_dir(dir, |config: &EvaluatorConfig, vb| Self::new(config, vb))
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &EvaluatorConfig {
        &self.config
    }

    /// Keyframes (batch, 3, size, size) in [-1, 1] → logits of every attribute.
    pub fn forward(&self, images: &Tensor, train: bool) -> Result<Reading> {
        let batch = images.dim(0)?;
        let patches = self
            .embed
            .forward(&patchify(images, self.config.patch)?)?
            .broadcast_add(&self.positions)?;
        let (_, queries, dim) = self.queries.dims3()?;
        let mut x = Tensor::cat(
            &[
                patches,
                self.queries
                    .broadcast_as((batch, queries, dim))?
                    .contiguous()?,
            ],
            1,
        )?;
        for block in &self.blocks {
            x = block.forward(&x, None, train)?;
        }
        let x = self.norm.forward(&x, train)?;
        let tokens = x.dim(1)?;
        let scene = x.narrow(1, tokens - queries, 1)?.squeeze(1)?;
        let slots = x.narrow(1, tokens - queries + 1, self.config.slots)?;
        Ok(Reading {
            scene: self
                .scene
                .iter()
                .map(|head| head.forward(&scene))
                .collect::<Result<_>>()?,
            presence: self.presence.forward(&slots)?,
            pose: self.pose.forward(&slots)?,
            traits: self
                .traits
                .iter()
                .map(|head| head.forward(&slots))
                .collect::<Result<_>>()?,
        })
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

    fn attribute(name: &str, classes: usize) -> Attribute {
        Attribute {
            name: name.into(),
            classes,
        }
    }

    #[test]
    fn every_head_reads_and_every_weight_learns() {
        let cfg = EvaluatorConfig::micro(
            16,
            vec![attribute("location", 5), attribute("time", 3)],
            4,
            vec![attribute("skin", 6), attribute("hair", 2)],
        );
        let varmap = VarMap::new();
        let evaluator = Evaluator::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let images = randn(&mut rng, (2, 3, 16, 16), &Device::Cpu).unwrap();
        let reading = evaluator.forward(&images, true).unwrap();
        assert_eq!(reading.scene[0].dims(), &[2, 5]);
        assert_eq!(reading.presence.dims(), &[2, 3, 2]);
        assert_eq!(reading.traits[1].dims(), &[2, 3, 2]);
        assert_eq!(reading.identity_embeddings().unwrap().dims(), &[2, 3, 8]);
        let mut loss = reading.presence.sqr().unwrap().mean_all().unwrap();
        for t in reading
            .scene
            .iter()
            .chain(&reading.traits)
            .chain([&reading.pose])
        {
            loss = (loss + t.sqr().unwrap().mean_all().unwrap()).unwrap();
        }
        assert_full_coverage(&varmap, &loss);
    }
}
