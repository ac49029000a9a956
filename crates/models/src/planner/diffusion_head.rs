//! A small per-token diffusion head (as in MAR) that the planner can use instead of plain
//! regression: the transformer's output at a position conditions a denoiser of the next
//! visual token, so a prediction is a sample rather than the mean of what could follow.
//! Plain regression blurs between equally likely keyframes; sampling picks one.
//!
//! The denoiser is an MLP of residual blocks modulated (adaLN) by the sum of the timestep
//! embedding and the projected condition, as MAR's. Training draws `noise_copies` noise
//! levels per token, which is cheap next to the transformer that made the condition.

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::activation::silu;
use moviedreamer_nn::diffusion::{
    DpmSolverConfig, DpmSolverMultistep, NoiseSchedule, Prediction, ScheduleConfig, run_sampler,
};
use moviedreamer_nn::init::small_linear;
use moviedreamer_nn::layers::{LayerNorm, TimestepEmbedder};
use moviedreamer_nn::ops::randn;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Sizes and sampling of a diffusion head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffusionHeadConfig {
    /// Width of the denoiser.
    pub width: usize,
    /// Residual blocks.
    pub depth: usize,
    /// Noise schedule and what the denoiser predicts.
    pub schedule: ScheduleConfig,
    /// Noise levels drawn per token in training.
    pub noise_copies: usize,
    /// DPM-Solver++ steps per token when planning.
    pub sampling_steps: usize,
}

impl DiffusionHeadConfig {
    /// The head used with the bundled planner when `--head diffusion` is asked for.
    pub fn storyworld() -> Self {
        DiffusionHeadConfig {
            width: 256,
            depth: 3,
            schedule: ScheduleConfig::cosine(1000, Prediction::Sample),
            noise_copies: 4,
            sampling_steps: 20,
        }
    }
}

#[derive(Debug, Clone)]
struct ResBlock {
    norm: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    modulation: Linear,
}

impl ResBlock {
    fn new(width: usize, vb: VarBuilder) -> Result<Self> {
        Ok(ResBlock {
            norm: LayerNorm::new(width, false, 1e-6, vb.pp("norm"))?,
            fc1: linear(width, width, vb.pp("fc1"))?,
            fc2: linear(width, width, vb.pp("fc2"))?,
            modulation: small_linear(width, 3 * width, vb.pp("modulation"))?,
        })
    }

    fn forward(&self, x: &Tensor, c: &Tensor, train: bool) -> Result<Tensor> {
        let chunks = self.modulation.forward(&silu(c)?)?.chunk(3, D::Minus1)?;
        let h = self.norm.forward(x, train)?;
        let h = ((h * (&chunks[1] + 1.0)?)? + &chunks[0])?;
        let h = self.fc2.forward(&silu(&self.fc1.forward(&h)?)?)?;
        x + (h * &chunks[2])?
    }
}

/// Condition (rows, dim) → a denoiser of visual tokens (rows, token_dim).
#[derive(Debug, Clone)]
pub struct DiffusionHead {
    config: DiffusionHeadConfig,
    schedule: NoiseSchedule,
    time: TimestepEmbedder,
    condition: Linear,
    input: Linear,
    blocks: Vec<ResBlock>,
    final_norm: LayerNorm,
    final_modulation: Linear,
    out: Linear,
}

impl DiffusionHead {
    /// Builds the head for conditions of width `dim` and tokens of width `token_dim`.
    pub fn new(
        cfg: &DiffusionHeadConfig,
        dim: usize,
        token_dim: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let blocks = (0..cfg.depth)
            .map(|i| ResBlock::new(cfg.width, vb.pp(format!("blocks.{i}"))))
            .collect::<Result<_>>()?;
        Ok(DiffusionHead {
            schedule: NoiseSchedule::new(&cfg.schedule)?,
            time: TimestepEmbedder::new(256, cfg.width, vb.pp("time"))?,
            condition: linear(dim, cfg.width, vb.pp("condition"))?,
            input: linear(token_dim, cfg.width, vb.pp("input"))?,
            blocks,
            final_norm: LayerNorm::new(cfg.width, false, 1e-6, vb.pp("final_norm"))?,
            final_modulation: small_linear(cfg.width, 2 * cfg.width, vb.pp("final_modulation"))?,
            out: small_linear(cfg.width, token_dim, vb.pp("out"))?,
            config: cfg.clone(),
        })
    }

    /// The denoiser's prediction for noisy tokens `x` at `timesteps` (rows,) f32.
    fn forward(
        &self,
        x: &Tensor,
        timesteps: &Tensor,
        condition: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let c = (self.time.forward(timesteps)? + self.condition.forward(condition)?)?;
        let mut h = self.input.forward(x)?;
        for block in &self.blocks {
            h = block.forward(&h, &c, train)?;
        }
        let chunks = self
            .final_modulation
            .forward(&silu(&c)?)?
            .chunk(2, D::Minus1)?;
        let h = self.final_norm.forward(&h, train)?;
        let h = ((h * (&chunks[1] + 1.0)?)? + &chunks[0])?;
        self.out.forward(&h)
    }

    /// The denoising loss of true tokens `targets` (rows, token_dim) given `condition`
    /// (rows, dim), over `noise_copies` random noise levels per token.
    pub fn loss(&self, condition: &Tensor, targets: &Tensor, rng: &mut impl Rng) -> Result<Tensor> {
        let copies = self.config.noise_copies.max(1);
        let condition = condition.repeat((copies, 1))?;
        let targets = targets.repeat((copies, 1))?;
        let rows = targets.dim(0)?;
        let timesteps =
            self.schedule
                .sample_timesteps_towards_noise(rows, 1.0, rng, targets.device())?;
        let noise = randn(rng, targets.shape(), targets.device())?;
        let noisy = self.schedule.add_noise(&targets, &noise, &timesteps)?;
        let prediction =
            self.forward(&noisy, &timesteps.to_dtype(DType::F32)?, &condition, true)?;
        let target = self.schedule.target(
            &targets,
            &noise,
            &timesteps,
            self.config.schedule.prediction,
        )?;
        (prediction - target)?.sqr()?.mean_all()
    }

    /// Samples one token per row of `condition` with DPM-Solver++.
    pub fn sample(
        &self,
        condition: &Tensor,
        token_dim: usize,
        rng: &mut impl Rng,
    ) -> Result<Tensor> {
        let rows = condition.dim(0)?;
        let noise = randn(rng, (rows, token_dim), condition.device())?;
        let mut sampler = DpmSolverMultistep::new(
            &self.config.schedule,
            self.config.sampling_steps,
            DpmSolverConfig::default(),
        )?;
        run_sampler(&mut sampler, &noise, |input, t| {
            let timesteps = Tensor::full(t as f32, rows, condition.device())?;
            self.forward(input, &timesteps, condition, false)
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
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn head(varmap: &VarMap) -> DiffusionHead {
        let cfg = DiffusionHeadConfig {
            width: 16,
            depth: 2,
            sampling_steps: 5,
            ..DiffusionHeadConfig::storyworld()
        };
        DiffusionHead::new(&cfg, 8, 4, seeded_var_builder(varmap, 0)).unwrap()
    }

    #[test]
    fn the_loss_reaches_every_weight_and_sampling_is_seeded() {
        let varmap = VarMap::new();
        let head = head(&varmap);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let condition = randn(&mut rng, (3, 8), &Device::Cpu).unwrap();
        let targets = randn(&mut rng, (3, 4), &Device::Cpu).unwrap();
        let loss = head.loss(&condition, &targets, &mut rng).unwrap();
        assert_full_coverage(&varmap, &loss);
        let a = head
            .sample(&condition, 4, &mut ChaCha8Rng::seed_from_u64(5))
            .unwrap();
        let b = head
            .sample(&condition, 4, &mut ChaCha8Rng::seed_from_u64(5))
            .unwrap();
        assert_eq!(a.dims(), &[3, 4]);
        assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
    }

    #[test]
    fn a_trained_head_samples_the_token_its_condition_stands_for() {
        // Two conditions, each always followed by its own token: after a short training
        // the samples land near the right one.
        let varmap = VarMap::new();
        let head = head(&varmap);
        let mut optimizer = moviedreamer_nn::optim::AdamW::new(
            &varmap,
            moviedreamer_nn::optim::AdamWConfig::default(),
        )
        .unwrap();
        let device = Device::Cpu;
        let condition = Tensor::new(
            &[
                [1f32, 0., 0., 0., 0., 0., 0., 0.],
                [0., 1., 0., 0., 0., 0., 0., 0.],
            ],
            &device,
        )
        .unwrap();
        let targets = Tensor::new(&[[1f32, 1., -1., -1.], [-1., -1., 1., 1.]], &device).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..300 {
            let loss = head.loss(&condition, &targets, &mut rng).unwrap();
            let grads = loss.backward().unwrap();
            optimizer.step(&grads, 1e-2).unwrap();
        }
        let samples = head.sample(&condition, 4, &mut rng).unwrap();
        let error = (samples - &targets)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        let error = error.to_scalar::<f32>().unwrap();
        assert!(error < 0.3, "{error}");
    }
}
