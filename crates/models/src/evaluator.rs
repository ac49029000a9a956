//! The evaluator: a network trained only on ground-truth StoryWorld keyframes, apart from
//! every generator, that reads a keyframe's labels back: scene attributes (location, time,
//! style, shot type) and, for each slot (left, centre, right), whether a character stands
//! there and its pose and identity traits. The benchmark scores generated films with it.
//!
//! Two readers. The scene reader, a ViT over 8 px patches of the whole keyframe with a
//! learned query token, reads location, time, style and shot type. The figure reader, a
//! small convolutional network with weights shared by every slot, reads one vertical band
//! of the keyframe per slot (StoryWorld's slots are fixed places across the frame) and says
//! whether someone stands there, their pose and their traits; the scene reader's output is
//! added to its reading, so it knows the style, the light and the shot type. A colour
//! pool beside it averages the band's full-resolution features where a few learned
//! queries look, so a trait's colour reaches the heads as the colour of its own pixels.
//!
//! Why a reader per band: one ViT with a query per slot, all attending to the whole frame,
//! learned to recognise the training characters from their surroundings and outfit and
//! recall their traits, at chance on unseen characters (docs/results/evaluator.md). A band
//! holds little but its figure, and shared weights see three figures per keyframe. Why
//! convolutions: at equal steps on close-ups, a ViT over the band (4 px patches) still
//! read unseen faces near chance while memorising the training ones; the convolutional
//! reader, whose flattened last map keeps where each colour and edge is, read head shape,
//! eyes and accessories far above chance within 250 steps.
//!
//! Why balance colours: StoryWorld lights a scene by multiplying each colour channel
//! (dusk is warm, night blue outside and lamp-lit inside), so one skin tone under one light
//! is within a few levels of its neighbour under another, and a reader that looks colours up
//! cannot tell them apart without knowing the light. A table learns the gain that undoes
//! the light of each combination of scene classes, the scene heads (which read place, time
//! and style at 97–100 %) say which, and the bands are read balanced. (A gain regressed from
//! the scene reader's features was not precise enough: 2 % of them within 1 % at step 500.)
//!
//! A slot's identity embedding is the unit-length concatenation of its trait probabilities:
//! two pictures of one character agree in it exactly as far as their traits are read alike,
//! with nothing learned beyond the traits (so it cannot reward a generator for anything
//! but the traits).

use std::path::Path;

use candle_core::{D, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::activation::silu;
use moviedreamer_nn::checkpoint::{CheckpointError, load_model_dir};
use moviedreamer_nn::init::{SMALL, small_linear};
use moviedreamer_nn::layers::{
    ColourTable, Conv3x3, ConvResBlock, LayerNorm, TransformerBlock, patchify, sincos_positions_2d,
    space_to_depth,
};
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
    /// Slots a character can stand in, left to right.
    pub slots: usize,
    /// The reader of each slot's band.
    pub figure: FigureReaderConfig,
    /// Attributes of the whole keyframe.
    pub scene: Vec<Attribute>,
    /// Pose classes of a character.
    pub poses: usize,
    /// Identity traits of a character.
    pub traits: Vec<Attribute>,
}

/// Sizes of the figure reader, a small convolutional network that reads one slot's band of
/// the keyframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureReaderConfig {
    /// Width of a band in pixels (bands are spread evenly from the left edge to the right
    /// edge, so they overlap where they are wider than the frame over the slots).
    pub band: usize,
    /// Channels of the first stage; each later stage has twice as many.
    pub channels: usize,
    /// Stages, each a residual block at its resolution, then half the height and width.
    pub stages: usize,
    /// Width of the reading each slot's heads see.
    pub dim: usize,
    /// Grid points per channel of a learned colour table (`moviedreamer_nn::layers::ColourTable`)
    /// whose vector for each pixel is added to the stem's output, so that colours a few
    /// levels apart (neighbouring skin tones) get features of their own; 0 (as in models
    /// saved before it existed) leaves it out.
    #[serde(default)]
    pub colour_grid: usize,
    /// Whether the figure reader reads the keyframe balanced to daylight: a learned table
    /// holds a gain per colour channel for every combination of scene classes (taught the
    /// inverse of the scene's light), read through the scene heads' probabilities, and the
    /// bands are multiplied by it first, so that a skin tone is one colour under every
    /// light instead of colliding with a neighbouring tone under another. `false` in models
    /// saved before it existed.
    #[serde(default)]
    pub white_balance: bool,
    /// Learned queries that each pool one place of the band at full resolution (a colour
    /// pool, [`ColourPool`]), whose pooled features reach the heads past the reading's layer
    /// norm; 0 (as in models saved before it existed) leaves the pool out.
    #[serde(default)]
    pub colour_queries: usize,
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
            // Bands at 0–24, 20–44 and 40–64 px: StoryWorld's wide and medium shots stand
            // their figures about 12, 32 and 52 px across, at most 16 px wide.
            figure: FigureReaderConfig {
                band: 24,
                channels: 24,
                stages: 3,
                dim: 96,
                colour_grid: 33,
                white_balance: true,
                colour_queries: 8,
            },
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
            figure: FigureReaderConfig {
                band: 8,
                channels: 4,
                stages: 2,
                dim: 16,
                colour_grid: 3,
                white_balance: true,
                colour_queries: 2,
            },
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
    /// The natural log of the predicted daylight gain per colour channel (batch, 3), where
    /// the evaluator balances its keyframes ([`FigureReaderConfig::white_balance`]).
    pub log_daylight_gain: Option<Tensor>,
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

    /// One feature vector per keyframe (batch, features): the class probabilities of every
    /// head (scene attributes, then per slot presence, pose and traits), concatenated. The
    /// benchmark's Fréchet distance compares these between generated and true keyframes.
    pub fn features(&self) -> Result<Tensor> {
        let per_slot = std::iter::once(&self.presence)
            .chain(std::iter::once(&self.pose))
            .chain(&self.traits);
        let probabilities = self
            .scene
            .iter()
            .chain(per_slot)
            .map(|logits| {
                let p = moviedreamer_nn::ops::softmax_last_dim(logits, false)?;
                p.flatten_from(1)
            })
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&probabilities, 1)
    }
}

/// The scene reader: a ViT with one read token appended to its patches, pictures → (batch,
/// dim).
#[derive(Debug, Clone)]
struct SceneReader {
    patch: usize,
    embed: Linear,
    positions: Tensor,
    query: Tensor,
    blocks: Vec<TransformerBlock>,
    norm: LayerNorm,
}

impl SceneReader {
    /// A reader of `height` × `width` pictures in patches of `patch`.
    fn new(
        (height, width): (usize, usize),
        (patch, dim, depth, heads): (usize, usize, usize, usize),
        vb: VarBuilder,
    ) -> Result<Self> {
        if patch == 0 || !height.is_multiple_of(patch) || !width.is_multiple_of(patch) {
            candle_core::bail!(
                "evaluator: a {height} x {width} picture does not split into patches of {patch}"
            );
        }
        Ok(SceneReader {
            patch,
            embed: linear(3 * patch * patch, dim, vb.pp("embed"))?,
            positions: sincos_positions_2d(height / patch, width / patch, dim, vb.device())?,
            query: vb.get_with_hints((1, 1, dim), "query", SMALL)?,
            blocks: (0..depth)
                .map(|i| TransformerBlock::new(dim, heads, 4.0, vb.pp(format!("blocks.{i}"))))
                .collect::<Result<_>>()?,
            norm: LayerNorm::new(dim, true, 1e-6, vb.pp("norm"))?,
        })
    }

    /// Pictures (batch, 3, height, width) → the read token (batch, dim).
    fn forward(&self, pictures: &Tensor, train: bool) -> Result<Tensor> {
        let batch = pictures.dim(0)?;
        let patches = self
            .embed
            .forward(&patchify(pictures, self.patch)?)?
            .broadcast_add(&self.positions)?;
        let dim = patches.dim(D::Minus1)?;
        let query = self.query.broadcast_as((batch, 1, dim))?.contiguous()?;
        let mut x = Tensor::cat(&[patches, query], 1)?;
        for block in &self.blocks {
            x = block.forward(&x, None, train)?;
        }
        let last = x.dim(1)? - 1;
        self.norm.forward(&x.narrow(1, last, 1)?.squeeze(1)?, train)
    }
}

/// A small convolutional network over one slot's band: (batch, 3, height, band) → (batch,
/// dim). A 3×3 stem, then per stage a residual block and a halving of height and width
/// (2×2 blocks to channels, then a 1×1 projection to twice the stage's channels), then
/// every position of the last map flattened into one linear layer, so the reading keeps
/// where in the band each colour was (skin at the face, outfit below it).
#[derive(Debug, Clone)]
struct BandReader {
    stem: Conv3x3,
    colours: Option<ColourTable>,
    blocks: Vec<ConvResBlock>,
    downs: Vec<Linear>,
    flatten: Linear,
    norm: LayerNorm,
    pool: Option<ColourPool>,
}

/// Attention pooling of a band's full-resolution features, so that a trait's colour
/// reaches the heads as the colour of its own pixels.
///
/// Why: the band reader's deep path halves the map three times and ends in a layer norm
/// over a 96-wide reading shared by presence, pose and ten traits; it tells light from dark
/// but reads neighbouring skin tones (25–40 levels apart) as each other, while a fixed rule
/// that averages the face's pixels reads every flat face right (docs/results/evaluator.md,
/// "Skin: a fixed rule reads every face"). Here each of a few learned queries scores every
/// pixel, from that pixel's own features (the colour table's cell and its edges) plus the
/// deep map's reading of the 8 px cell around it (which knows where the face and the
/// outfit are), and averages the first stage's features under the softmax of its scores:
/// a face 4 px across still gives its exact colour vector. The pooled vectors go through a
/// small MLP that also sees the scene's context, and are added to the reading after its
/// layer norm.
#[derive(Debug, Clone)]
struct ColourPool {
    /// Pixel features (first stage) → a score per query.
    pixel_scores: Linear,
    /// Last map's features → a score per query for every pixel of its cell.
    cell_scores: Linear,
    /// The pooled features of every query → the hidden layer.
    read: Linear,
    /// The hidden layer → the reading's width; starts small, so the heads first read what
    /// they would without the pool.
    out: Linear,
}

impl ColourPool {
    fn new(cfg: &FigureReaderConfig, vb: VarBuilder) -> Result<Self> {
        let (queries, first, last) = (cfg.colour_queries, cfg.channels, cfg.channels << cfg.stages);
        Ok(ColourPool {
            pixel_scores: linear(first, queries, vb.pp("pixel_scores"))?,
            cell_scores: linear(last, queries, vb.pp("cell_scores"))?,
            read: linear(queries * first, cfg.dim, vb.pp("read"))?,
            out: small_linear(cfg.dim, cfg.dim, vb.pp("out"))?,
        })
    }

    /// First-stage features (batch, h, w, c), the last map (batch, h/s, w/s, c') and the
    /// scene's context (batch, dim) → (batch, dim).
    fn forward(
        &self,
        pixels: &Tensor,
        cells: &Tensor,
        context: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let (batch, h, w, channels) = pixels.dims4()?;
        let (_, ch, cw, _) = cells.dims4()?;
        let (sy, sx) = (h / ch, w / cw);
        let cell_scores = self.cell_scores.forward(cells)?;
        let queries = cell_scores.dim(3)?;
        // Each cell's scores spread over its sy × sx pixels (nearest upsampling).
        let cell_scores = cell_scores
            .reshape((batch, ch, 1, cw, 1, queries))?
            .broadcast_as((batch, ch, sy, cw, sx, queries))?
            .reshape((batch, h * w, queries))?;
        let pixels = pixels.reshape((batch, h * w, channels))?;
        let scores = (self.pixel_scores.forward(&pixels)? + cell_scores)?;
        let weights =
            moviedreamer_nn::ops::softmax_last_dim(&scores.transpose(1, 2)?.contiguous()?, train)?;
        let pooled = weights.matmul(&pixels)?.flatten_from(1)?;
        let hidden = silu(&(self.read.forward(&pooled)? + context)?)?;
        self.out.forward(&hidden)
    }
}

impl BandReader {
    fn new(height: usize, cfg: &FigureReaderConfig, vb: VarBuilder) -> Result<Self> {
        let shrink = 1usize << cfg.stages;
        if cfg.channels == 0 || !height.is_multiple_of(shrink) || !cfg.band.is_multiple_of(shrink) {
            candle_core::bail!(
                "evaluator: a {height} x {} band does not halve {} times",
                cfg.band,
                cfg.stages
            );
        }
        let width = |stage: usize| cfg.channels << stage;
        let last = (height / shrink) * (cfg.band / shrink) * width(cfg.stages);
        Ok(BandReader {
            stem: Conv3x3::new(3, width(0), vb.pp("stem"))?,
            colours: (cfg.colour_grid > 0)
                .then(|| ColourTable::new(cfg.colour_grid, width(0), vb.pp("colours")))
                .transpose()?,
            blocks: (0..cfg.stages)
                .map(|i| ConvResBlock::new(width(i), vb.pp(format!("blocks.{i}"))))
                .collect::<Result<_>>()?,
            downs: (0..cfg.stages)
                .map(|i| linear(4 * width(i), width(i + 1), vb.pp(format!("downs.{i}"))))
                .collect::<Result<_>>()?,
            flatten: linear(last, cfg.dim, vb.pp("flatten"))?,
            norm: LayerNorm::new(cfg.dim, true, 1e-6, vb.pp("norm"))?,
            pool: (cfg.colour_queries > 0)
                .then(|| ColourPool::new(cfg, vb.pp("pool")))
                .transpose()?,
        })
    }

    /// Bands (batch, 3, height, band) → (batch, dim), plus `context` (batch, dim).
    fn forward(&self, bands: &Tensor, context: &Tensor, train: bool) -> Result<Tensor> {
        let pixels = bands.permute((0, 2, 3, 1))?.contiguous()?;
        let mut x = self.stem.forward(&pixels)?;
        if let Some(colours) = &self.colours {
            x = (x + colours.forward(&pixels)?)?;
        }
        let mut first_stage = None;
        for (block, down) in self.blocks.iter().zip(&self.downs) {
            let features = block.forward(&x, train)?;
            x = down.forward(&space_to_depth(&features)?)?;
            first_stage.get_or_insert(features);
        }
        let flat = x.flatten_from(1)?;
        let reading = self
            .norm
            .forward(&(self.flatten.forward(&silu(&flat)?)? + context)?, train)?;
        match (&self.pool, first_stage) {
            (Some(pool), Some(pixels)) => reading + pool.forward(&pixels, &x, context, train)?,
            _ => Ok(reading),
        }
    }
}

/// Keyframes → their labels.
#[derive(Debug, Clone)]
pub struct Evaluator {
    config: EvaluatorConfig,
    scene_reader: SceneReader,
    figure_reader: BandReader,
    /// The scene reader's output → the figure reader's starting read token.
    scene_to_figure: Linear,
    /// The log daylight gain per colour channel of every combination of scene classes
    /// (one place, time, style and shot type): a learned table read through the scene
    /// heads' joint probabilities.
    daylight_gain: Option<Linear>,
    scene: Vec<Linear>,
    presence: Linear,
    pose: Linear,
    traits: Vec<Linear>,
}

impl Evaluator {
    /// Builds the evaluator under `vb`.
    pub fn new(cfg: &EvaluatorConfig, vb: VarBuilder) -> Result<Self> {
        let figure = &cfg.figure;
        if cfg.slots == 0 || figure.band == 0 || figure.band > cfg.image_size {
            candle_core::bail!(
                "evaluator: {} slots with bands of {} px do not fit a {} px keyframe",
                cfg.slots,
                figure.band,
                cfg.image_size
            );
        }
        let side = cfg.image_size;
        let heads = |attributes: &[Attribute], width: usize, prefix: &str| {
            attributes
                .iter()
                .map(|a| linear(width, a.classes, vb.pp(format!("{prefix}.{}", a.name))))
                .collect::<Result<Vec<_>>>()
        };
        Ok(Evaluator {
            scene_reader: SceneReader::new(
                (side, side),
                (cfg.patch, cfg.dim, cfg.depth, cfg.heads),
                vb.pp("scene_reader"),
            )?,
            figure_reader: BandReader::new(side, figure, vb.pp("figure_reader"))?,
            scene_to_figure: linear(cfg.dim, figure.dim, vb.pp("scene_to_figure"))?,
            daylight_gain: figure
                .white_balance
                .then(|| {
                    let combinations = cfg.scene.iter().map(|a| a.classes).product();
                    let table = vb.get_with_hints(
                        (3, combinations),
                        "daylight_gain",
                        candle_nn::Init::Const(0.0),
                    )?;
                    Ok::<_, candle_core::Error>(Linear::new(table, None))
                })
                .transpose()?,
            scene: heads(&cfg.scene, cfg.dim, "scene")?,
            presence: linear(figure.dim, 2, vb.pp("presence"))?,
            pose: linear(figure.dim, cfg.poses, vb.pp("pose"))?,
            traits: heads(&cfg.traits, figure.dim, "traits")?,
            config: cfg.clone(),
        })
    }

    /// Left edge in pixels of each slot's band: spread evenly from the left edge of the
    /// keyframe to its right edge.
    pub fn band_starts(&self) -> Vec<usize> {
        let (slots, band) = (self.config.slots, self.config.figure.band);
        let room = self.config.image_size - band;
        (0..slots)
            .map(|i| {
                if slots == 1 {
                    room / 2
                } else {
                    i * room / (slots - 1)
                }
            })
            .collect()
    }

    /// Loads a model directory (`config.json` and `model.safetensors`) written by training.
    pub fn load(dir: &Path) -> std::result::Result<Self, CheckpointError> {
        load_model_dir(dir, |config: &EvaluatorConfig, vb| Self::new(config, vb))
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &EvaluatorConfig {
        &self.config
    }

    /// The keyframes balanced to daylight by the gain the scene heads' reading picks from
    /// the table, and the log gain; unchanged, and no gain, without a white balance.
    fn balance(
        &self,
        images: &Tensor,
        scene_logits: &[Tensor],
    ) -> Result<(Tensor, Option<Tensor>)> {
        let Some(table) = &self.daylight_gain else {
            return Ok((images.clone(), None));
        };
        let log_gain = table.forward(&joint_probabilities(scene_logits)?)?;
        // The table learns from its own target only (detached), so the figure reader
        // cannot bend the gain into something other than the light.
        let gain = log_gain
            .detach()
            .exp()?
            .reshape((images.dim(0)?, 3, 1, 1))?;
        let unit = ((images + 1.0)? / 2.0)?;
        let balanced = ((unit.broadcast_mul(&gain)?.clamp(0.0, 1.0)? * 2.0)? - 1.0)?;
        Ok((balanced, Some(log_gain)))
    }

    /// Keyframes (batch, 3, size, size) in [-1, 1] → logits of every attribute.
    pub fn forward(&self, images: &Tensor, train: bool) -> Result<Reading> {
        let (batch, _, _, side) = images.dims4()?;
        if side != self.config.image_size {
            candle_core::bail!(
                "evaluator: keyframes are {side} px wide; this evaluator reads {} px",
                self.config.image_size
            );
        }
        let scene = self.scene_reader.forward(images, train)?;
        let scene_logits = self
            .scene
            .iter()
            .map(|head| head.forward(&scene))
            .collect::<Result<Vec<_>>>()?;
        let (balanced, log_daylight_gain) = self.balance(images, &scene_logits)?;
        let images = &balanced;
        // Every slot's band, slot-minor: (batch × slots, 3, side, band).
        let band = self.config.figure.band;
        let bands = self
            .band_starts()
            .into_iter()
            .map(|start| images.narrow(3, start, band))
            .collect::<Result<Vec<_>>>()?;
        let bands = Tensor::stack(&bands, 1)?.reshape(((), 3, side, band))?;
        let context = self
            .scene_to_figure
            .forward(&scene)?
            .unsqueeze(1)?
            .repeat((1, self.config.slots, 1))?
            .reshape((batch * self.config.slots, ()))?;
        let slots = self
            .figure_reader
            .forward(&bands, &context, train)?
            .reshape((batch, self.config.slots, ()))?;
        Ok(Reading {
            scene: scene_logits,
            presence: self.presence.forward(&slots)?,
            pose: self.pose.forward(&slots)?,
            traits: self
                .traits
                .iter()
                .map(|head| head.forward(&slots))
                .collect::<Result<_>>()?,
            log_daylight_gain,
        })
    }
}

/// The joint class probabilities of independent heads (batch, Π classes), first head
/// slowest, from their logits; detached, so that what is read through them does not
/// teach the heads.
fn joint_probabilities(logits: &[Tensor]) -> Result<Tensor> {
    let mut joint: Option<Tensor> = None;
    for head in logits {
        let p = moviedreamer_nn::ops::softmax_last_dim(&head.detach(), false)?;
        joint = Some(match joint {
            None => p,
            Some(j) => j
                .unsqueeze(2)?
                .broadcast_mul(&p.unsqueeze(1)?)?
                .flatten_from(1)?,
        });
    }
    joint.ok_or_else(|| candle_core::Error::Msg("evaluator: no scene heads".into()))
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
        let gain = reading.log_daylight_gain.as_ref().expect("micro balances");
        assert_eq!(gain.dims(), &[2, 3]);
        // Against a gain away from the table's start at zero, as training's target is.
        let gain = (gain - 0.5).unwrap();
        for t in reading
            .scene
            .iter()
            .chain(&reading.traits)
            .chain([&reading.pose, &gain])
        {
            loss = (loss + t.sqr().unwrap().mean_all().unwrap()).unwrap();
        }
        assert_full_coverage(&varmap, &loss);
    }

    #[test]
    fn sure_scene_heads_pick_one_combination_of_the_light_table() {
        // Place 1 of 2, time 0 of 3: the light table's column 1 × 3 + 0.
        let place = Tensor::new(&[[0f32, 30.0]], &Device::Cpu).unwrap();
        let time = Tensor::new(&[[30f32, 0.0, 0.0]], &Device::Cpu).unwrap();
        let joint = joint_probabilities(&[place, time]).unwrap();
        let joint: Vec<f32> = joint.squeeze(0).unwrap().to_vec1().unwrap();
        assert_eq!(joint.len(), 6);
        assert!(joint[3] > 0.999, "{joint:?}");
        assert!((joint.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn storyworld_bands_cover_the_frame_around_each_slot() {
        let cfg = EvaluatorConfig::storyworld(vec![attribute("location", 5)], 4, vec![]);
        let evaluator = Evaluator::new(&cfg, seeded_var_builder(&VarMap::new(), 0)).unwrap();
        assert_eq!(evaluator.band_starts(), vec![0, 20, 40]);
        let wrong = EvaluatorConfig {
            figure: FigureReaderConfig {
                band: 65,
                ..cfg.figure.clone()
            },
            ..cfg
        };
        let err = Evaluator::new(&wrong, seeded_var_builder(&VarMap::new(), 0)).unwrap_err();
        assert!(err.to_string().contains("bands of 65 px"), "{err}");
    }
}
