//! DDIM (Song et al. 2021) with η = 0: the deterministic sampler that first showed a
//! DDPM-trained model can be sampled in a few dozen steps.
//!
//! Mirrors diffusers' `DDIMScheduler` with `eta=0`: each step predicts x₀ and ε, optionally
//! clips x₀, and re-noises x₀ to the previous timestep with the same ε. Two diffusers details
//! are kept on purpose because a parity test depends on them: the previous timestep is always
//! `t − T / n` (integer division) whatever the spacing, and past the start of the schedule
//! ᾱ_prev is `final_alpha_cumprod` (1 with `set_alpha_to_one`, else ᾱ₀).
//!
//! Deviations: ᾱ is computed in `f64` where diffusers uses `f32` (coefficients differ by
//! about 1e-6 relative); η > 0, thresholding and `rescale_betas_zero_snr` are not provided.

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

use super::schedule::{NoiseSchedule, ScheduleConfig, eps_from_output, x0_from_output};
use super::{Sampler, TimestepSpacing, check_num_inference_steps, check_step_index};

/// DDIM's knobs, named as in diffusers' `DDIMScheduler` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct DdimConfig {
    /// How inference timesteps are spaced (diffusers default: leading).
    pub timestep_spacing: TimestepSpacing,
    /// Added to every leading-spaced timestep (Stable Diffusion uses 1).
    pub steps_offset: usize,
    /// Whether ᾱ before the first training step is 1 (true) or ᾱ₀ (false).
    pub set_alpha_to_one: bool,
    /// Clamp the predicted x₀ to `[-r, r]` (diffusers `clip_sample` + `clip_sample_range`).
    /// Off by default here, unlike diffusers: clipping only makes sense for pixel-space data
    /// in `[-1, 1]`, never for latents.
    pub clip_sample: Option<f64>,
}

impl Default for DdimConfig {
    fn default() -> Self {
        Self {
            timestep_spacing: TimestepSpacing::Leading,
            steps_offset: 0,
            set_alpha_to_one: true,
            clip_sample: None,
        }
    }
}

/// The DDIM sampler (η = 0) with its timestep grid.
#[derive(Debug, Clone)]
pub struct Ddim {
    schedule: NoiseSchedule,
    config: DdimConfig,
    timesteps: Vec<usize>,
    model_timesteps: Vec<f64>,
    final_alpha_cumprod: f64,
    step_ratio: usize,
}

impl Ddim {
    /// Builds the sampler for `num_inference_steps` steps over the training schedule.
    pub fn new(
        schedule: &ScheduleConfig,
        num_inference_steps: usize,
        config: DdimConfig,
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
        let final_alpha_cumprod = if config.set_alpha_to_one {
            1.0
        } else {
            schedule.alphas_cumprod()[0]
        };
        Ok(Self {
            model_timesteps: timesteps.iter().map(|t| *t as f64).collect(),
            timesteps,
            final_alpha_cumprod,
            step_ratio: num_train / num_inference_steps,
            schedule,
            config,
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
    pub fn config(&self) -> &DdimConfig {
        &self.config
    }
}

impl Sampler for Ddim {
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
        let t = self.timesteps[step_index];
        let alpha_prod = self.schedule.alphas_cumprod()[t];
        let alpha_prod_prev = match t.checked_sub(self.step_ratio) {
            Some(prev) => self.schedule.alphas_cumprod()[prev],
            None => self.final_alpha_cumprod,
        };
        let prediction = self.schedule.config().prediction;
        let mut x0 = x0_from_output(sample, model_output, alpha_prod, prediction)?;
        let eps = eps_from_output(sample, model_output, alpha_prod, prediction)?;
        if let Some(r) = self.config.clip_sample {
            x0 = x0.clamp(-r, r)?;
        }
        x0.affine(alpha_prod_prev.sqrt(), 0.0)? + eps.affine((1.0 - alpha_prod_prev).sqrt(), 0.0)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(spacing: TimestepSpacing, offset: usize, n: usize) -> Vec<usize> {
        let config = DdimConfig {
            timestep_spacing: spacing,
            steps_offset: offset,
            ..DdimConfig::default()
        };
        Ddim::new(&ScheduleConfig::default(), n, config)
            .unwrap()
            .integer_timesteps()
            .to_vec()
    }

    #[test]
    fn timesteps_follow_diffusers_rules() {
        use TimestepSpacing::*;
        // leading: arange(0, 10) * (1000 // 10), reversed, + offset
        assert_eq!(
            ts(Leading, 0, 10),
            vec![900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
        );
        assert_eq!(
            ts(Leading, 1, 10),
            vec![901, 801, 701, 601, 501, 401, 301, 201, 101, 1]
        );
        // trailing: round(arange(1000, 0, -100)) - 1
        assert_eq!(
            ts(Trailing, 0, 10),
            vec![999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
        );
        // linspace: round(linspace(0, 999, n)) reversed; halves round to even
        // (832.5 -> 832, 499.5 -> 500, 166.5 -> 166)
        assert_eq!(
            ts(Linspace, 0, 10),
            vec![999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
        );
        assert_eq!(ts(Linspace, 0, 7), vec![999, 832, 666, 500, 333, 166, 0]);
        // leading with a ratio that does not divide: 1000 // 3 = 333
        assert_eq!(ts(Leading, 0, 3), vec![666, 333, 0]);
        assert_eq!(ts(Trailing, 0, 3), vec![999, 666, 332]);
    }

    #[test]
    fn rejects_bad_step_counts() {
        let c = ScheduleConfig::default();
        assert!(Ddim::new(&c, 0, DdimConfig::default()).is_err());
        assert!(Ddim::new(&c, 1001, DdimConfig::default()).is_err());
        let offset = DdimConfig {
            steps_offset: 200,
            ..DdimConfig::default()
        };
        assert!(Ddim::new(&c, 5, offset).is_err());
    }

    #[test]
    fn final_alpha_follows_set_alpha_to_one() {
        let c = ScheduleConfig::default();
        let a = Ddim::new(&c, 10, DdimConfig::default()).unwrap();
        assert_eq!(a.final_alpha_cumprod, 1.0);
        let b = Ddim::new(
            &c,
            10,
            DdimConfig {
                set_alpha_to_one: false,
                ..DdimConfig::default()
            },
        )
        .unwrap();
        assert_eq!(b.final_alpha_cumprod, b.schedule().alphas_cumprod()[0]);
    }
}
