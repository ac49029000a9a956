//! DDPM (Ho et al. 2020): ancestral sampling, the reference every faster sampler is
//! measured against.
//!
//! Mirrors diffusers' `DDPMScheduler` with `variance_type="fixed_small"`: each step forms the
//! posterior mean of q(x_prev | x_t, x̂₀) (formula 7 of the paper) and, unless the current
//! timestep is 0, adds noise with the posterior variance β̃ = (1−ᾱ_prev)/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_prev)
//! (clamped at 1e-20). The previous timestep is the next one in the grid (−1, i.e. ᾱ = 1,
//! after the last), as in current diffusers.
//!
//! The noise comes from the RNG the sampler owns, so a seed fixes the whole trajectory.
//! torch's generator cannot be reproduced, so [`Ddpm::step_with_noise`] lets a parity test
//! inject diffusers' own variance noise.
//!
//! Deviations: ᾱ in `f64` (diffusers: `f32`); only the fixed-small variance; no
//! thresholding.

use candle_core::{Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::schedule::{NoiseSchedule, ScheduleConfig, x0_from_output};
use super::{Sampler, TimestepSpacing, check_num_inference_steps, check_step_index};

/// DDPM's knobs, named as in diffusers' `DDPMScheduler` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct DdpmConfig {
    /// How inference timesteps are spaced (diffusers default: leading).
    pub timestep_spacing: TimestepSpacing,
    /// Added to every leading-spaced timestep.
    pub steps_offset: usize,
    /// Clamp the predicted x₀ to `[-r, r]` (diffusers `clip_sample` + `clip_sample_range`);
    /// off by default here, unlike diffusers, because latents are not bounded.
    pub clip_sample: Option<f64>,
}

impl Default for DdpmConfig {
    fn default() -> Self {
        Self {
            timestep_spacing: TimestepSpacing::Leading,
            steps_offset: 0,
            clip_sample: None,
        }
    }
}

/// The DDPM ancestral sampler, holding the RNG its noise comes from.
#[derive(Debug, Clone)]
pub struct Ddpm<R = ChaCha8Rng> {
    schedule: NoiseSchedule,
    config: DdpmConfig,
    timesteps: Vec<usize>,
    model_timesteps: Vec<f64>,
    rng: R,
}

impl<R: Rng> Ddpm<R> {
    /// Builds the sampler for `num_inference_steps` steps; `rng` supplies every step's noise.
    pub fn new(
        schedule: &ScheduleConfig,
        num_inference_steps: usize,
        config: DdpmConfig,
        rng: R,
    ) -> Result<Self> {
        let schedule = NoiseSchedule::new(schedule)?;
        let num_train = schedule.num_train_timesteps();
        check_num_inference_steps(num_inference_steps, num_train)?;
        let timesteps = super::integer_timesteps(
            config.timestep_spacing,
            config.steps_offset,
            num_train,
            num_inference_steps,
        );
        if let Some(t) = timesteps.iter().find(|t| **t >= num_train) {
            candle_core::bail!("timestep {t} (steps_offset too large?) is past the schedule");
        }
        Ok(Self {
            model_timesteps: timesteps.iter().map(|t| *t as f64).collect(),
            timesteps,
            schedule,
            config,
            rng,
        })
    }

    /// The integer timesteps, noisiest first.
    pub fn integer_timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    /// The training schedule the sampler steps through.
    pub fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    /// The sampler's configuration.
    pub fn config(&self) -> &DdpmConfig {
        &self.config
    }

    /// One step with caller-supplied standard-normal `noise` (ignored when the current
    /// timestep is 0, where DDPM adds none). [`Sampler::step`] is this with noise from the
    /// sampler's RNG.
    pub fn step_with_noise(
        &self,
        model_output: &Tensor,
        step_index: usize,
        sample: &Tensor,
        noise: &Tensor,
    ) -> Result<Tensor> {
        check_step_index(step_index, self.timesteps.len())?;
        let t = self.timesteps[step_index];
        let ab = self.schedule.alphas_cumprod();
        let alpha_prod = ab[t];
        let alpha_prod_prev = match self.timesteps.get(step_index + 1) {
            Some(prev) => ab[*prev],
            None => 1.0,
        };
        let beta_prod = 1.0 - alpha_prod;
        let beta_prod_prev = 1.0 - alpha_prod_prev;
        let current_alpha = alpha_prod / alpha_prod_prev;
        let current_beta = 1.0 - current_alpha;

        let mut x0 = x0_from_output(
            sample,
            model_output,
            alpha_prod,
            self.schedule.config().prediction,
        )?;
        if let Some(r) = self.config.clip_sample {
            x0 = x0.clamp(-r, r)?;
        }
        let x0_coeff = alpha_prod_prev.sqrt() * current_beta / beta_prod;
        let sample_coeff = current_alpha.sqrt() * beta_prod_prev / beta_prod;
        let mean = (x0.affine(x0_coeff, 0.0)? + sample.affine(sample_coeff, 0.0)?)?;
        if t == 0 {
            return Ok(mean);
        }
        let variance = (beta_prod_prev / beta_prod * current_beta).max(1e-20);
        mean + noise
            .to_dtype(sample.dtype())?
            .affine(variance.sqrt(), 0.0)?
    }
}

impl<R: Rng> Sampler for Ddpm<R> {
    fn timesteps(&self) -> &[f64] {
        &self.model_timesteps
    }

    fn step(
        &mut self,
        model_output: &Tensor,
        step_index: usize,
        sample: &Tensor,
    ) -> Result<Tensor> {
        check_step_index(step_index, self.timesteps.len())?;
        // Draw only when noise will be used, so the RNG stream depends on the grid alone.
        let noise = if self.timesteps[step_index] > 0 {
            crate::ops::randn(&mut self.rng, sample.shape(), sample.device())?
        } else {
            sample.zeros_like()?
        };
        self.step_with_noise(model_output, step_index, sample, &noise)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use rand::SeedableRng;

    fn ddpm(spacing: TimestepSpacing, offset: usize, n: usize) -> Ddpm {
        let config = DdpmConfig {
            timestep_spacing: spacing,
            steps_offset: offset,
            ..DdpmConfig::default()
        };
        Ddpm::new(
            &ScheduleConfig::default(),
            n,
            config,
            ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap()
    }

    #[test]
    fn timesteps_follow_diffusers_rules() {
        use TimestepSpacing::*;
        assert_eq!(
            ddpm(Leading, 0, 10).integer_timesteps(),
            &[900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
        );
        assert_eq!(
            ddpm(Trailing, 0, 10).integer_timesteps(),
            &[999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
        );
        assert_eq!(
            ddpm(Linspace, 0, 7).integer_timesteps(),
            &[999, 832, 666, 500, 333, 166, 0]
        );
        // With as many steps as training timesteps, every timestep is visited.
        let full = ddpm(Leading, 0, 1000);
        assert_eq!(full.integer_timesteps().len(), 1000);
        assert_eq!(full.integer_timesteps()[0], 999);
        assert_eq!(full.integer_timesteps()[999], 0);
    }

    #[test]
    fn full_grid_step_matches_the_paper() {
        // With all 1000 steps the previous timestep is t − 1 and the coefficients are those of
        // Ho et al. eq. 7: mean = √ᾱ_{t−1} β_t/(1−ᾱ_t) x̂₀ + √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) x_t.
        let s = ddpm(TimestepSpacing::Leading, 0, 1000);
        let dev = Device::Cpu;
        let x = Tensor::new(&[[0.3f32, -1.2]], &dev).unwrap();
        let eps = Tensor::new(&[[0.5f32, 0.25]], &dev).unwrap();
        let noise = Tensor::new(&[[1.0f32, -2.0]], &dev).unwrap();
        let i = 500; // t = 499
        let t = 499;
        let sched = s.schedule();
        let (ab, ab_prev) = (sched.alphas_cumprod()[t], sched.alphas_cumprod()[t - 1]);
        let beta = sched.betas()[t];
        let out: Vec<f32> = s
            .step_with_noise(&eps, i, &x, &noise)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let xs = [0.3f64, -1.2];
        let es = [0.5f64, 0.25];
        let ns = [1.0f64, -2.0];
        for k in 0..2 {
            let x0 = (xs[k] - (1.0 - ab).sqrt() * es[k]) / ab.sqrt();
            let mean = ab_prev.sqrt() * beta / (1.0 - ab) * x0
                + (1.0 - beta).sqrt() * (1.0 - ab_prev) / (1.0 - ab) * xs[k];
            let var = (1.0 - ab_prev) / (1.0 - ab) * beta;
            let want = mean + var.sqrt() * ns[k];
            assert!((out[k] as f64 - want).abs() < 1e-5, "{} vs {want}", out[k]);
        }
    }

    #[test]
    fn last_step_at_t0_adds_no_noise_and_returns_x0() {
        let s = ddpm(TimestepSpacing::Leading, 0, 10);
        let dev = Device::Cpu;
        let x = Tensor::new(&[0.7f32, -0.1, 2.0], &dev).unwrap();
        let out = Tensor::new(&[0.1f32, 0.2, -0.3], &dev).unwrap();
        let noise = Tensor::ones(3, DType::F32, &dev).unwrap();
        let a = s.step_with_noise(&out, 9, &x, &noise).unwrap();
        let b = s
            .step_with_noise(&out, 9, &x, &noise.zeros_like().unwrap())
            .unwrap();
        assert_eq!(crate::ops::max_abs_diff(&a, &b).unwrap(), 0.0);
        let ab = s.schedule().alphas_cumprod()[0];
        let x0 = x0_from_output(&x, &out, ab, Default::default()).unwrap();
        assert!(crate::ops::max_abs_diff(&a, &x0).unwrap() < 1e-6);
    }
}
