//! The autoregressive planner: a LLaMA-style causal transformer that reads a film's script
//! (style, cast with faces, shots) and predicts every keyframe's K visual tokens given all
//! the keyframes before it, token by token.
//!
//! Text enters through the [`TextEncoder`] (trained with the planner), faces as identity
//! embeddings ([`crate::identity`]) projected to a few face tokens, visual tokens through a
//! linear projection of the tokenizer's (normalised) tokens. The head regresses the next
//! visual token with an MSE plus cosine loss. [`prompt`] fixes the sequence layout;
//! [`generate`] plans long films window by window at flat memory, reusing each window's
//! key/value caches.

pub mod diffusion_head;
pub mod generate;
pub mod prompt;
pub mod script_prompt;

use std::path::Path;

use candle_core::{D, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear, linear_no_bias};
use moviedreamer_nn::checkpoint::{CheckpointError, load_model_dir};
use moviedreamer_nn::init::SMALL;
use moviedreamer_nn::layers::{
    CausalBlock, CausalBlockConfig, Dropout, KvCache, RmsNorm, Rope, causal_mask,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::text::{TextBatch, TextEncoder, TextEncoderConfig};
use diffusion_head::{DiffusionHead, DiffusionHeadConfig};
use prompt::{FilmPrompt, Layout, ROLES, SLOTS, ShotPrompt};

/// Sizes and loss weights of a planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerConfig {
    /// Visual tokens per keyframe (the tokenizer's K).
    pub tokens: usize,
    /// Width of a visual token (the tokenizer's D).
    pub token_dim: usize,
    /// Consecutive visual tokens read and predicted together as one position (must divide
    /// `tokens`). A grid tokenizer's many narrow tokens (K = 64, D = 16) would make windows
    /// of thousands of positions; grouped by 4, a keyframe is 16 positions of width 64, and
    /// since grid tokens run in raster order a group is a 4 × 1 strip of the keyframe.
    #[serde(default = "one")]
    pub group: usize,
    /// Per-dimension mean of the tokenizer's tokens over the training films; tokens are
    /// standardised with it and `token_std` on the way in and restored on the way out.
    /// Empty: tokens are used as they are.
    #[serde(default)]
    pub token_mean: Vec<f32>,
    /// Per-dimension standard deviation of the tokens (see `token_mean`).
    #[serde(default)]
    pub token_std: Vec<f32>,
    /// Width of an identity embedding.
    pub face_dim: usize,
    /// Tokens each cast member's face becomes.
    pub face_tokens: usize,
    /// Largest cast a film may have.
    pub max_cast: usize,
    /// Shot types (wide, medium, close-up).
    pub shot_types: usize,
    /// The text encoder.
    pub text: TextEncoderConfig,
    /// Transformer width.
    pub dim: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// SwiGLU hidden width.
    pub hidden: usize,
    /// Shots of history in a window, the current one included, in training and generation.
    pub window: usize,
    /// Dropout on the input embeddings in training.
    pub dropout: f64,
    /// Weight of the mean squared error of the next token.
    pub mse_weight: f64,
    /// Weight of one minus the cosine similarity of the next token.
    pub cosine_weight: f64,
    /// The output head.
    #[serde(default)]
    pub head: PlannerHead,
    /// Predict a keyframe's positions all at once, each read off a learned query row that
    /// follows the shot's header, instead of each from the position before it. No position
    /// can then lean on its neighbour (which teacher forcing rewards and planning cannot
    /// give), so every one must come from the script and the history; and planning takes
    /// one pass per keyframe instead of one per position.
    #[serde(default)]
    pub whole_keyframes: bool,
}

impl PlannerConfig {
    /// A tiny planner for tests.
    pub fn micro(tokens: usize, token_dim: usize, face_dim: usize, vocab_size: usize) -> Self {
        PlannerConfig {
            tokens,
            token_dim,
            group: 1,
            token_mean: Vec::new(),
            token_std: Vec::new(),
            face_dim,
            face_tokens: 1,
            max_cast: 8,
            shot_types: 3,
            text: TextEncoderConfig {
                vocab_size,
                dim: 16,
                depth: 1,
                heads: 2,
                max_words: 24,
            },
            dim: 32,
            depth: 2,
            heads: 4,
            kv_heads: 2,
            hidden: 64,
            window: 4,
            dropout: 0.1,
            mse_weight: 1.0,
            cosine_weight: 0.5,
            head: PlannerHead::Regression,
            whole_keyframes: false,
        }
    }

    /// The bundled planner for StoryWorld films.
    pub fn storyworld(tokens: usize, token_dim: usize, face_dim: usize, vocab_size: usize) -> Self {
        PlannerConfig {
            face_tokens: 2,
            max_cast: 8,
            text: TextEncoderConfig {
                vocab_size,
                dim: 128,
                depth: 2,
                heads: 4,
                max_words: 40,
            },
            dim: 256,
            depth: 6,
            heads: 8,
            kv_heads: 2,
            hidden: 768,
            window: 16,
            dropout: 0.2,
            group: 4,
            whole_keyframes: true,
            ..Self::micro(tokens, token_dim, face_dim, vocab_size)
        }
    }

    /// Positions a keyframe's visual tokens take: `tokens` in groups of `group`.
    pub fn positions(&self) -> usize {
        self.tokens / self.group
    }

    /// Width of one visual position: `group` tokens side by side.
    fn position_dim(&self) -> usize {
        self.token_dim * self.group
    }

    /// Rows a shot takes after its header: its visual positions, and as many queries for
    /// whole keyframes.
    fn shot_rows(&self) -> usize {
        self.positions() * if self.whole_keyframes { 2 } else { 1 }
    }

    /// Longest sequence a window can make: the prefix of a full cast and `window` shots.
    fn max_positions(&self) -> usize {
        1 + self.max_cast * (1 + self.face_tokens)
            + self.window * (prompt::SHOT_HEADER + self.shot_rows())
    }

    /// Roles the planner embeds: a query's too for whole keyframes.
    fn roles(&self) -> usize {
        ROLES + usize::from(self.whole_keyframes)
    }
}

fn one() -> usize {
    1
}

/// What turns the transformer's output into the next visual token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PlannerHead {
    /// A linear regression of the token (MSE plus cosine loss), as in the paper.
    #[default]
    Regression,
    /// A small per-token diffusion model conditioned on the output, as in MAR: planning
    /// samples a token instead of taking the mean of the likely ones.
    Diffusion(DiffusionHeadConfig),
}

#[derive(Debug, Clone)]
enum Head {
    Regression(Linear),
    Diffusion(Box<DiffusionHead>),
}

/// The planner's weights.
#[derive(Debug, Clone)]
pub struct Planner {
    config: PlannerConfig,
    text: TextEncoder,
    text_in: Linear,
    face_in: Linear,
    visual_in: Linear,
    roles: Tensor,
    cast_ids: Tensor,
    shot_types: Tensor,
    slots: Tensor,
    masked_keyframe: Tensor,
    /// The query rows of whole-keyframe planners (positions, dim).
    queries: Option<Tensor>,
    blocks: Vec<CausalBlock>,
    rope: Rope,
    norm: RmsNorm,
    head: Head,
    token_mean: Tensor,
    token_std: Tensor,
}

/// A window of a film, ready to embed: the prompt of its prefix and shots, and the visual
/// positions given so far (normalised, tokens grouped), (visible, group × token_dim).
struct Window<'a> {
    film: &'a FilmPrompt,
    shots: &'a [ShotPrompt],
    visual: Tensor,
    /// Per shot of the window: replace its visual tokens by the learned mask token.
    masked: Vec<bool>,
}

impl Planner {
    /// Builds the planner under `vb`.
    pub fn new(config: &PlannerConfig, vb: VarBuilder) -> Result<Self> {
        let check = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(candle_core::Error::Msg(format!("planner config: {what}")))
            }
        };
        check(
            config.tokens > 0 && config.token_dim > 0,
            "tokens and token_dim must be positive",
        )?;
        check(
            config.group > 0 && config.tokens.is_multiple_of(config.group),
            &format!(
                "group ({}) must divide tokens ({}, the tokenizer's K); set \"group\" in the settings",
                config.group, config.tokens
            ),
        )?;
        check(config.window > 0, "window must hold at least one shot")?;
        for stats in [&config.token_mean, &config.token_std] {
            check(
                stats.is_empty() || stats.len() == config.token_dim,
                "token_mean and token_std need token_dim values each, or none",
            )?;
        }
        check(
            config.dim.is_multiple_of(config.heads)
                && (config.dim / config.heads).is_multiple_of(2),
            "dim must split into heads of even width (rotary positions)",
        )?;
        let block = CausalBlockConfig {
            dim: config.dim,
            heads: config.heads,
            kv_heads: config.kv_heads,
            hidden: config.hidden,
        };
        let blocks = (0..config.depth)
            .map(|i| CausalBlock::new(&block, vb.pp(format!("blocks.{i}"))))
            .collect::<Result<_>>()?;
        let device = vb.device().clone();
        let stats = |values: &[f32], default: f32| {
            let values = if values.is_empty() {
                vec![default; config.token_dim]
            } else {
                values.to_vec()
            };
            Tensor::from_vec(values, config.token_dim, &device)
        };
        Ok(Planner {
            text: TextEncoder::new(&config.text, vb.pp("text"))?,
            text_in: linear(config.text.dim, config.dim, vb.pp("text_in"))?,
            face_in: linear(
                config.face_dim,
                config.face_tokens * config.dim,
                vb.pp("face_in"),
            )?,
            visual_in: linear(config.position_dim(), config.dim, vb.pp("visual_in"))?,
            roles: vb.get_with_hints((config.roles(), config.dim), "roles", SMALL)?,
            // One more than the cast: "nobody" in a slot.
            cast_ids: vb.get_with_hints((config.max_cast + 1, config.dim), "cast_ids", SMALL)?,
            shot_types: vb.get_with_hints((config.shot_types, config.dim), "shot_types", SMALL)?,
            slots: vb.get_with_hints((SLOTS, config.dim), "slots", SMALL)?,
            masked_keyframe: vb.get_with_hints((1, config.dim), "masked_keyframe", SMALL)?,
            queries: config
                .whole_keyframes
                .then(|| vb.get_with_hints((config.positions(), config.dim), "queries", SMALL))
                .transpose()?,
            blocks,
            rope: Rope::new(
                config.dim / config.heads,
                config.max_positions(),
                10_000.0,
                &device,
            )?,
            norm: RmsNorm::new(config.dim, 1e-5, vb.pp("norm"))?,
            head: match &config.head {
                PlannerHead::Regression => Head::Regression(linear_no_bias(
                    config.dim,
                    config.position_dim(),
                    vb.pp("head"),
                )?),
                PlannerHead::Diffusion(head) => Head::Diffusion(Box::new(DiffusionHead::new(
                    head,
                    config.dim,
                    config.position_dim(),
                    vb.pp("diffusion_head"),
                )?)),
            },
            token_mean: stats(&config.token_mean, 0.0)?,
            token_std: stats(&config.token_std, 1.0)?,
            config: config.clone(),
        })
    }

    /// Loads a model directory (`config.json`, `model.safetensors`).
    pub fn load(dir: &Path) -> std::result::Result<Self, CheckpointError> {
        load_model_dir(dir, |config: &PlannerConfig, vb| Self::new(config, vb))
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &PlannerConfig {
        &self.config
    }

    /// Tokenizer tokens (…, token_dim) → the planner's standardised scale.
    pub fn normalise(&self, tokens: &Tensor) -> Result<Tensor> {
        tokens
            .broadcast_sub(&self.token_mean)?
            .broadcast_div(&self.token_std)
    }

    /// The planner's scale → tokenizer tokens.
    pub fn denormalise(&self, tokens: &Tensor) -> Result<Tensor> {
        tokens
            .broadcast_mul(&self.token_std)?
            .broadcast_add(&self.token_mean)
    }

    /// Checks a film against the config, naming what does not fit.
    pub fn check_film(&self, film: &FilmPrompt) -> Result<()> {
        let cfg = &self.config;
        if film.cast.len() > cfg.max_cast {
            candle_core::bail!(
                "the cast has {} members; this planner takes at most {}",
                film.cast.len(),
                cfg.max_cast
            );
        }
        for (i, member) in film.cast.iter().enumerate() {
            if member.face.len() != cfg.face_dim {
                candle_core::bail!(
                    "cast member {i} has a face embedding of {} values; the planner takes {}",
                    member.face.len(),
                    cfg.face_dim
                );
            }
        }
        for (s, shot) in film.shots.iter().enumerate() {
            if shot.shot_type >= cfg.shot_types {
                candle_core::bail!("shot {s} has shot type {}", shot.shot_type);
            }
            if let Some(c) = shot.slots.iter().flatten().find(|&&c| c >= film.cast.len()) {
                candle_core::bail!("shot {s} places cast member {c}, who is not in the cast");
            }
        }
        Ok(())
    }

    /// The projected text vectors (texts, dim) of `texts` (word ids), in order.
    fn text_rows(&self, texts: &[&[u32]], train: bool, device: &Device) -> Result<Tensor> {
        let max_words = self.config.text.max_words;
        let texts: Vec<Vec<u32>> = texts
            .iter()
            .map(|ids| {
                let ids: Vec<u32> = ids.iter().take(max_words).copied().collect();
                if ids.is_empty() { vec![0] } else { ids }
            })
            .collect();
        let texts = TextBatch::pad(&texts, 0, device)?;
        self.text_in.forward(&self.text.forward(&texts, train)?)
    }

    /// The input embeddings (1, length, dim) of a window, and its layout. `texts` holds the
    /// text rows (style, cast, the window's shots) when the caller has them already.
    fn embed(
        &self,
        window: &Window,
        texts: Option<Tensor>,
        rng: Option<&mut impl Rng>,
    ) -> Result<(Tensor, Layout)> {
        let cfg = &self.config;
        let device = window.visual.device();
        let (cast, shots) = (window.film.cast.len(), window.shots.len());
        let visible = window.visual.dim(0)?;
        let last_visible = visible - (shots - 1) * cfg.positions();
        let layout = Layout::new(
            cast,
            cfg.face_tokens,
            shots,
            cfg.positions(),
            last_visible,
            cfg.whole_keyframes,
        );

        // Texts: style, cast descriptions, shot texts, each one vector.
        let text_rows = match texts {
            Some(rows) => rows,
            None => {
                let texts: Vec<&[u32]> = std::iter::once(window.film.style.as_slice())
                    .chain(window.film.cast.iter().map(|c| c.text.as_slice()))
                    .chain(window.shots.iter().map(|s| s.text.as_slice()))
                    .collect();
                self.text_rows(&texts, rng.is_some(), device)?
            }
        };
        // The cast's own id is added to its text and face rows, so slots can point at them.
        let cast_index = Tensor::arange(0u32, cast as u32, device)?;
        let cast_ids = self.cast_ids.index_select(&cast_index, 0)?;
        let text_rows = if cast > 0 {
            let (style, rest) = (text_rows.narrow(0, 0, 1)?, text_rows.narrow(0, 1, cast)?);
            let shots_rows = text_rows.narrow(0, 1 + cast, shots)?;
            Tensor::cat(&[style, (rest + &cast_ids)?, shots_rows], 0)?
        } else {
            text_rows
        };

        let mut rows = vec![text_rows];
        if cast > 0 {
            let faces: Vec<f32> = window
                .film
                .cast
                .iter()
                .flat_map(|c| c.face.clone())
                .collect();
            let faces = Tensor::from_vec(faces, (cast, cfg.face_dim), device)?;
            let face_rows = self
                .face_in
                .forward(&faces)?
                .reshape((cast, cfg.face_tokens, cfg.dim))?
                .broadcast_add(&cast_ids.unsqueeze(1)?)?
                .reshape((cast * cfg.face_tokens, cfg.dim))?;
            rows.push(face_rows);
        }
        let types: Vec<u32> = window.shots.iter().map(|s| s.shot_type as u32).collect();
        rows.push(
            self.shot_types
                .index_select(&Tensor::new(types.as_slice(), device)?, 0)?,
        );
        let nobody = cfg.max_cast as u32;
        let occupants: Vec<u32> = window
            .shots
            .iter()
            .flat_map(|s| s.slots.map(|slot| slot.map_or(nobody, |c| c as u32)))
            .collect();
        let slot_rows = (self
            .cast_ids
            .index_select(&Tensor::new(occupants.as_slice(), device)?, 0)?
            .reshape((shots, SLOTS, cfg.dim))?
            .broadcast_add(&self.slots)?)
        .reshape((shots * SLOTS, cfg.dim))?;
        rows.push(slot_rows);
        if visible > 0 {
            let visual_rows = self.visual_in.forward(&window.visual)?;
            let keep: Vec<f32> = (0..visible)
                .map(|i| f32::from(!window.masked[i / cfg.positions()]))
                .collect();
            let keep = Tensor::from_vec(keep, (visible, 1), device)?;
            let masked = keep.affine(-1.0, 1.0)?;
            rows.push(
                (visual_rows.broadcast_mul(&keep)?
                    + masked.broadcast_mul(&self.masked_keyframe)?)?,
            );
        }
        if let Some(queries) = &self.queries {
            rows.push(queries.clone());
        }
        let table = Tensor::cat(&rows, 0)?;
        let order = Tensor::new(layout.order.as_slice(), device)?;
        let roles = Tensor::new(layout.roles.as_slice(), device)?;
        let mut x = (table.index_select(&order, 0)? + self.roles.index_select(&roles, 0)?)?;
        if let Some(rng) = rng {
            x = Dropout::new(cfg.dropout).forward(&x, Some(rng))?;
        }
        Ok((x.unsqueeze(0)?, layout))
    }

    /// The normalised final states at `positions` (rows, dim): what the head reads.
    fn outputs(&self, hidden: &Tensor, positions: &[u32], train: bool) -> Result<Tensor> {
        let positions = Tensor::new(positions, hidden.device())?;
        let picked = hidden.squeeze(0)?.index_select(&positions, 0)?;
        self.norm.forward(&picked, train)
    }

    /// The next tokens (normalised) the head makes of `outputs`: the regression, or a
    /// sample of the diffusion head.
    fn next_tokens(&self, outputs: &Tensor, rng: &mut impl Rng) -> Result<Tensor> {
        match &self.head {
            Head::Regression(head) => head.forward(outputs),
            Head::Diffusion(head) => head.sample(outputs, self.config.position_dim(), rng),
        }
    }

    /// The training loss of one window of a film: `shots` (a range of the film's shots, at
    /// most `window` long) with their tokenizer tokens `tokens` (shots, K, token_dim), the
    /// keyframes flagged in `masked` hidden from the input (history masking). Teacher
    /// forcing: every visual token is predicted from the true ones before it (for whole
    /// keyframes, from the true earlier keyframes).
    pub fn training_loss(
        &self,
        film: &FilmPrompt,
        shots: std::ops::Range<usize>,
        tokens: &Tensor,
        masked: Vec<bool>,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        let (outputs, targets) =
            self.teacher_forced(film, shots, tokens, masked, Some(&mut *rng))?;
        match &self.head {
            Head::Regression(head) => self.regression_loss(&head.forward(&outputs)?, &targets),
            Head::Diffusion(head) => head.loss(&outputs, &targets, rng),
        }
    }

    /// Every visual token of a window predicted from the true ones before it, in tokenizer
    /// scale (shots, K, token_dim): what training fits, without dropout or masking. `rng`
    /// draws the diffusion head's samples.
    pub fn teacher_forced_predictions(
        &self,
        film: &FilmPrompt,
        shots: std::ops::Range<usize>,
        tokens: &Tensor,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        let masked = vec![false; shots.len()];
        let (outputs, _) = self.teacher_forced(
            film,
            shots,
            tokens,
            masked,
            None::<&mut rand_chacha::ChaCha8Rng>,
        )?;
        let predicted = self.next_tokens(&outputs, rng)?;
        self.denormalise(&predicted.reshape(tokens.shape())?)
    }

    /// The head's inputs (rows, dim) and the normalised targets (rows, position_dim) of a
    /// window; in training (`rng` given) with dropout.
    fn teacher_forced(
        &self,
        film: &FilmPrompt,
        shots: std::ops::Range<usize>,
        tokens: &Tensor,
        masked: Vec<bool>,
        rng: Option<&mut impl Rng>,
    ) -> Result<(Tensor, Tensor)> {
        let cfg = &self.config;
        let count = shots.len();
        if count == 0 || count > cfg.window || masked.len() != count || shots.end > film.shots.len()
        {
            candle_core::bail!(
                "a window has 1 to {} of the film's {} shots and a mask flag per shot (got shots {shots:?}, {} flags)",
                cfg.window,
                film.shots.len(),
                masked.len()
            );
        }
        let targets = self
            .normalise(tokens)?
            .reshape((count * cfg.positions(), cfg.position_dim()))?;
        let train = rng.is_some();
        let window = Window {
            film,
            shots: &film.shots[shots],
            visual: targets.clone(),
            masked,
        };
        let (x, layout) = self.embed(&window, None, rng)?;
        let hidden = self.run(&x, train)?;
        let outputs = self.outputs(&hidden, &layout.predict_from, train)?;
        Ok((outputs, targets))
    }

    /// MSE plus cosine loss of regressed against target tokens (rows, token_dim).
    pub fn regression_loss(&self, predicted: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let mse = (predicted - targets)?.sqr()?.mean_all()?;
        let dot = (predicted * targets)?.sum(D::Minus1)?;
        let norms = (predicted.sqr()?.sum(D::Minus1)? * targets.sqr()?.sum(D::Minus1)?)?
            .affine(1.0, 1e-12)?
            .sqrt()?;
        let cosine = (dot / norms)?.mean_all()?;
        (mse * self.config.mse_weight)? + (cosine.affine(-1.0, 1.0)? * self.config.cosine_weight)?
    }

    /// All blocks over a whole sequence with a causal mask (training).
    fn run(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mask = causal_mask(x.dim(1)?, x.device())?;
        let mut x = x.clone();
        for block in &self.blocks {
            x = block.forward(&x, &mask, &self.rope, train)?;
        }
        Ok(x)
    }

    /// All blocks over new positions after those held in `caches` (generation).
    fn run_cached(&self, x: &Tensor, caches: &mut [KvCache]) -> Result<Tensor> {
        let mut x = x.clone();
        for (block, cache) in self.blocks.iter().zip(caches.iter_mut()) {
            x = block.forward_cached(&x, cache, &self.rope)?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::prompt::CastPrompt;
    use candle_nn::VarMap;
    use moviedreamer_nn::grad_check::assert_full_coverage;
    use moviedreamer_nn::init::seeded_var_builder;
    use moviedreamer_nn::ops::randn;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A film of `shots` shots with two cast members, for tests.
    pub(crate) fn film(shots: usize, face_dim: usize) -> FilmPrompt {
        FilmPrompt {
            style: vec![1, 2],
            cast: (0..2)
                .map(|c| CastPrompt {
                    text: vec![3 + c as u32, 5],
                    face: (0..face_dim).map(|i| ((i + c) % 3) as f32 - 1.0).collect(),
                })
                .collect(),
            shots: (0..shots)
                .map(|s| ShotPrompt {
                    text: vec![6 + (s % 3) as u32, 9],
                    shot_type: s % 3,
                    slots: [Some(s % 2), None, (s % 3 == 0).then_some(1 - s % 2)],
                })
                .collect(),
        }
    }

    pub(crate) fn micro_planner(varmap: &VarMap) -> Planner {
        let cfg = PlannerConfig::micro(3, 4, 6, 12);
        Planner::new(&cfg, seeded_var_builder(varmap, 0)).unwrap()
    }

    #[test]
    fn one_training_step_reaches_every_weight() {
        let varmap = VarMap::new();
        let planner = micro_planner(&varmap);
        let film = film(6, 6);
        planner.check_film(&film).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let tokens = randn(&mut rng, (3, 3, 4), &Device::Cpu).unwrap();
        let loss = planner
            .training_loss(&film, 2..5, &tokens, vec![false, true, false], &mut rng)
            .unwrap();
        assert!(loss.to_scalar::<f32>().unwrap().is_finite());
        assert_full_coverage(&varmap, &loss);
    }

    #[test]
    fn the_loss_is_zero_for_a_perfect_prediction_and_grows_with_the_error() {
        let varmap = VarMap::new();
        let planner = micro_planner(&varmap);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let targets = randn(&mut rng, (5, 4), &Device::Cpu).unwrap();
        let exact = planner
            .regression_loss(&targets, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(exact.abs() < 1e-5, "{exact}");
        let off = planner
            .regression_loss(&(&targets * 0.5).unwrap(), &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let opposite = planner
            .regression_loss(&targets.neg().unwrap(), &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(0.0 < off && off < opposite, "{off} {opposite}");
    }

    #[test]
    fn films_that_do_not_fit_are_refused_with_the_reason() {
        let varmap = VarMap::new();
        let planner = micro_planner(&varmap);
        let mut bad = film(2, 6);
        bad.shots[1].slots[0] = Some(5);
        let error = planner.check_film(&bad).unwrap_err().to_string();
        assert!(error.contains("shot 1 places cast member 5"), "{error}");
        let mut bad = film(2, 6);
        bad.cast[0].face.pop();
        let error = planner.check_film(&bad).unwrap_err().to_string();
        assert!(
            error.contains("cast member 0 has a face embedding of 5 values"),
            "{error}"
        );
    }
}
