//! The Euler sampler of Karras et al. (2022, algorithm 2 with no churn), in σ-space.
//!
//! Mirrors diffusers' `EulerDiscreteScheduler` with its defaults for the knobs not exposed
//! (linear sigma interpolation, no Karras/exponential/beta sigmas, discrete timesteps,
//! `s_churn = 0`). It integrates the probability-flow ODE for x̃ = x/√ᾱ, whose noise level is
//! σ = √((1−ᾱ)/ᾱ): the sample lives in σ-space, so the loop starts from noise scaled by
//! [`Sampler::init_noise_sigma`] and the model sees x̃/√(σ²+1) (= x in ᾱ-space).
//!
//! Timesteps may be fractional (linspace spacing) and are rounded to `f32` as diffusers
//! stores them; σ at a fractional timestep is interpolated linearly between training steps.
//! The grid ends with σ = 0 (diffusers' `final_sigmas_type="zero"`).
//!
//! Deviation: σ is computed in `f64` (diffusers: `f32`).

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

use super::schedule::{NoiseSchedule, ScheduleConfig};
use super::{Prediction, Sampler, TimestepSpacing, check_num_inference_steps, check_step_index};

/// Euler's knobs, named as in diffusers' `EulerDiscreteScheduler` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct EulerConfig {
    /// How inference timesteps are spaced (diffusers default: linspace).
    pub timestep_spacing: TimestepSpacing,
    /// Added to every leading-spaced timestep.
    pub steps_offset: usize,
}

impl Default for EulerConfig {
    fn default() -> Self {
        Self {
            timestep_spacing: TimestepSpacing::Linspace,
            steps_offset: 0,
        }
    }
}

/// The Euler discrete sampler with its timestep and σ grids.
#[derive(Debug, Clone)]
pub struct EulerDiscrete {
    schedule: NoiseSchedule,
    config: EulerConfig,
    timesteps: Vec<f64>,
    sigmas: Vec<f64>,
    init_noise_sigma: f64,
}

impl EulerDiscrete {
    /// Builds the sampler for `num_inference_steps` steps over the training schedule.
    pub fn new(
        schedule: &ScheduleConfig,
        num_inference_steps: usize,
        config: EulerConfig,
    ) -> Result<Self> {
        let schedule = NoiseSchedule::new(schedule)?;
        let num_train = schedule.num_train_timesteps();
        check_num_inference_steps(num_inference_steps, num_train)?;
        let n = num_inference_steps;
        let raw: Vec<f64> = match config.timestep_spacing {
            TimestepSpacing::Linspace => super::numpy_linspace(0.0, (num_train - 1) as f64, n)
                .into_iter()
                .rev()
                .collect(),
            TimestepSpacing::Leading => {
                let ratio = num_train / n;
                (0..n)
                    .rev()
                    .map(|i| (i * ratio + config.steps_offset) as f64)
                    .collect()
            }
            TimestepSpacing::Trailing => super::trailing_timesteps(num_train, n)
                .into_iter()
                .map(|t| t as f64)
                .collect(),
        };
        // diffusers keeps these as float32.
        let timesteps: Vec<f64> = raw.into_iter().map(|t| t as f32 as f64).collect();
        let mut sigmas: Vec<f64> = timesteps
            .iter()
            .map(|t| schedule.interpolated_sigma(*t))
            .collect();
        let max_sigma = sigmas.iter().copied().fold(0.0, f64::max);
        sigmas.push(0.0);
        let init_noise_sigma = match config.timestep_spacing {
            TimestepSpacing::Linspace | TimestepSpacing::Trailing => max_sigma,
            TimestepSpacing::Leading => (max_sigma * max_sigma + 1.0).sqrt(),
        };
        Ok(Self {
            schedule,
            config,
            timesteps,
            sigmas,
            init_noise_sigma,
        })
    }

    /// σ at each step, noisiest first, followed by the final 0.
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }

    /// The training schedule the σ grid is taken from.
    pub fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    /// The sampler's configuration.
    pub fn config(&self) -> &EulerConfig {
        &self.config
    }
}

impl Sampler for EulerDiscrete {
    fn timesteps(&self) -> &[f64] {
        &self.timesteps
    }

    fn init_noise_sigma(&self) -> f64 {
        self.init_noise_sigma
    }

    fn scale_model_input(&self, sample: &Tensor, step_index: usize) -> Result<Tensor> {
        check_step_index(step_index, self.timesteps.len())?;
        let sigma = self.sigmas[step_index];
        sample.affine(1.0 / (sigma * sigma + 1.0).sqrt(), 0.0)
    }

    fn step(
        &mut self,
        model_output: &Tensor,
        step_index: usize,
        sample: &Tensor,
    ) -> Result<Tensor> {
        check_step_index(step_index, self.timesteps.len())?;
        let sigma = self.sigmas[step_index];
        let pred_x0 = match self.schedule.config().prediction {
            Prediction::Epsilon => (sample - model_output.affine(sigma, 0.0)?)?,
            Prediction::V => {
                let c_out = -sigma / (sigma * sigma + 1.0).sqrt();
                let c_skip = 1.0 / (sigma * sigma + 1.0);
                (model_output.affine(c_out, 0.0)? + sample.affine(c_skip, 0.0)?)?
            }
            Prediction::Sample => model_output.clone(),
        };
        let derivative = (sample - pred_x0)?.affine(1.0 / sigma, 0.0)?;
        let dt = self.sigmas[step_index + 1] - sigma;
        sample + derivative.affine(dt, 0.0)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn euler(spacing: TimestepSpacing, offset: usize, n: usize) -> EulerDiscrete {
        let config = EulerConfig {
            timestep_spacing: spacing,
            steps_offset: offset,
        };
        EulerDiscrete::new(&ScheduleConfig::default(), n, config).unwrap()
    }

    #[test]
    fn timesteps_follow_diffusers_rules() {
        use TimestepSpacing::*;
        assert_eq!(
            euler(Linspace, 0, 10).timesteps(),
            &[
                999.0, 888.0, 777.0, 666.0, 555.0, 444.0, 333.0, 222.0, 111.0, 0.0
            ]
        );
        // Euler keeps linspace timesteps fractional.
        assert_eq!(
            euler(Linspace, 0, 7).timesteps(),
            &[999.0, 832.5, 666.0, 499.5, 333.0, 166.5, 0.0]
        );
        assert_eq!(
            euler(Leading, 1, 10).timesteps(),
            &[
                901.0, 801.0, 701.0, 601.0, 501.0, 401.0, 301.0, 201.0, 101.0, 1.0
            ]
        );
        assert_eq!(
            euler(Trailing, 0, 10).timesteps(),
            &[
                999.0, 899.0, 799.0, 699.0, 599.0, 499.0, 399.0, 299.0, 199.0, 99.0
            ]
        );
        // Non-representable linspace points are stored as f32, like diffusers.
        let t = euler(Linspace, 0, 6).timesteps()[1];
        assert_eq!(t, (4.0 * (999.0f64 / 5.0)) as f32 as f64);
    }

    #[test]
    fn sigmas_interpolate_and_end_at_zero() {
        let e = euler(TimestepSpacing::Linspace, 0, 7);
        let s = e.schedule().sigmas();
        assert_eq!(e.sigmas().len(), 8);
        assert_eq!(e.sigmas()[0], s[999]);
        assert!((e.sigmas()[1] - (s[832] + s[833]) / 2.0).abs() < 1e-12);
        assert_eq!(*e.sigmas().last().unwrap(), 0.0);
    }

    #[test]
    fn init_noise_sigma_depends_on_spacing() {
        let lin = euler(TimestepSpacing::Linspace, 0, 10);
        assert_eq!(lin.init_noise_sigma(), lin.sigmas()[0]);
        let trail = euler(TimestepSpacing::Trailing, 0, 10);
        assert_eq!(trail.init_noise_sigma(), trail.sigmas()[0]);
        let lead = euler(TimestepSpacing::Leading, 1, 10);
        let s = lead.sigmas()[0];
        assert!((lead.init_noise_sigma() - (s * s + 1.0).sqrt()).abs() < 1e-12);
    }
}
