//! DPM-Solver++(2M) (Lu et al. 2022): a second-order multistep solver of the diffusion ODE in
//! data-prediction form, good samples in 15–25 steps.
//!
//! Mirrors diffusers' `DPMSolverMultistepScheduler` with `algorithm_type="dpmsolver++"`,
//! `solver_order=2` and its defaults for the knobs not exposed (`lambda_min_clipped = −∞`,
//! no Karras/exponential/beta/Lu sigmas, no thresholding, no SDE variant). Each step converts
//! the model output to x̂₀, then steps in λ = log(α/σ):
//! - first order (the first step, and the last when `lower_order_final` applies):
//!   x_t = (σ_t/σ_s)·x − α_t(e^{−h} − 1)·x̂₀, which is DDIM;
//! - second order otherwise, from the last two x̂₀ (midpoint or Heun form).
//!
//! Here α = 1/√(σ²+1) and σ_t = σ·α, with σ from the σ-space grid; the grid ends with 0
//! (`final_sigmas_type="zero"`, where the last step returns x̂₀) or σ at t = 0 (`"sigma_min"`).
//!
//! Deviation: σ and the step coefficients are computed in `f64` (diffusers: `f32`).

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

use super::schedule::{NoiseSchedule, ScheduleConfig};
use super::{Prediction, Sampler, TimestepSpacing, check_num_inference_steps, check_step_index};

/// The noise level the last step lands on (diffusers' `final_sigmas_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinalSigmas {
    /// σ = 0: the last step returns the clean prediction (diffusers' default).
    Zero,
    /// σ of training step 0.
    #[serde(alias = "sigma_min")]
    SigmaMin,
}

/// The form of the second-order correction (diffusers' `solver_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SolverType {
    /// The midpoint form (diffusers' default and recommendation).
    Midpoint,
    /// The Heun form.
    Heun,
}

/// DPM-Solver++(2M)'s knobs, named as in diffusers' `DPMSolverMultistepScheduler` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct DpmSolverConfig {
    /// How inference timesteps are spaced (diffusers default: linspace).
    pub timestep_spacing: TimestepSpacing,
    /// Added to every leading-spaced timestep.
    pub steps_offset: usize,
    /// Use first order for the last step (and keep second order for the one before) when
    /// there are fewer than 15 steps; stabilises short schedules.
    pub lower_order_final: bool,
    /// Always use first order for the last step.
    pub euler_at_final: bool,
    /// The noise level of the end of the grid.
    pub final_sigmas_type: FinalSigmas,
    /// The second-order form.
    pub solver_type: SolverType,
}

impl Default for DpmSolverConfig {
    fn default() -> Self {
        Self {
            timestep_spacing: TimestepSpacing::Linspace,
            steps_offset: 0,
            lower_order_final: true,
            euler_at_final: false,
            final_sigmas_type: FinalSigmas::Zero,
            solver_type: SolverType::Midpoint,
        }
    }
}

/// The DPM-Solver++(2M) sampler: its grids and the previous step's x̂₀.
#[derive(Debug, Clone)]
pub struct DpmSolverMultistep {
    schedule: NoiseSchedule,
    config: DpmSolverConfig,
    timesteps: Vec<usize>,
    model_timesteps: Vec<f64>,
    sigmas: Vec<f64>,
    /// x̂₀ of the previous step, for the second-order update.
    previous_x0: Option<Tensor>,
    /// How many steps have run (saturating at the solver order, 2), as diffusers'
    /// `lower_order_nums`.
    lower_order_nums: usize,
}

impl DpmSolverMultistep {
    /// Builds the sampler for `num_inference_steps` steps over the training schedule.
    pub fn new(
        schedule: &ScheduleConfig,
        num_inference_steps: usize,
        config: DpmSolverConfig,
    ) -> Result<Self> {
        let schedule = NoiseSchedule::new(schedule)?;
        let num_train = schedule.num_train_timesteps();
        check_num_inference_steps(num_inference_steps, num_train)?;
        let n = num_inference_steps;
        // With lambda_min_clipped = -inf no timestep is clipped, so the last is num_train.
        let last_timestep = num_train;
        let timesteps: Vec<usize> = match config.timestep_spacing {
            // n + 1 points over [0, T − 1], noisiest first, dropping the final 0.
            TimestepSpacing::Linspace => {
                super::numpy_linspace(0.0, (last_timestep - 1) as f64, n + 1)
                    .into_iter()
                    .rev()
                    .take(n)
                    .map(|t| t.round_ties_even() as usize)
                    .collect()
            }
            TimestepSpacing::Leading => {
                let ratio = last_timestep / (n + 1);
                (1..=n)
                    .rev()
                    .map(|i| i * ratio + config.steps_offset)
                    .collect()
            }
            TimestepSpacing::Trailing => super::trailing_timesteps(num_train, n),
        };
        let mut sigmas: Vec<f64> = timesteps
            .iter()
            .map(|t| schedule.interpolated_sigma(*t as f64))
            .collect();
        sigmas.push(match config.final_sigmas_type {
            FinalSigmas::Zero => 0.0,
            FinalSigmas::SigmaMin => schedule.sigmas()[0],
        });
        Ok(Self {
            model_timesteps: timesteps.iter().map(|t| *t as f64).collect(),
            timesteps,
            sigmas,
            schedule,
            config,
            previous_x0: None,
            lower_order_nums: 0,
        })
    }

    /// The integer timesteps, noisiest first.
    pub fn integer_timesteps(&self) -> &[usize] {
        &self.timesteps
    }

    /// σ at each step, noisiest first, followed by the final σ.
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }

    /// The training schedule the σ grid is taken from.
    pub fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    /// The sampler's configuration.
    pub fn config(&self) -> &DpmSolverConfig {
        &self.config
    }

    /// Whether step `step_index` uses the first-order update (diffusers' `lower_order_nums`
    /// and `lower_order_final` rules).
    pub fn is_first_order(&self, step_index: usize) -> bool {
        let n = self.timesteps.len();
        let lower_order_final = step_index + 1 == n
            && (self.config.euler_at_final
                || (self.config.lower_order_final && n < 15)
                || self.config.final_sigmas_type == FinalSigmas::Zero);
        let history = if step_index == 0 {
            0
        } else {
            self.lower_order_nums
        };
        history < 1 || lower_order_final
    }
}

/// (α, σ) of the ᾱ-space process at σ-space noise level `sigma`.
fn alpha_sigma(sigma: f64) -> (f64, f64) {
    let alpha = 1.0 / (sigma * sigma + 1.0).sqrt();
    (alpha, sigma * alpha)
}

impl Sampler for DpmSolverMultistep {
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
        let first_order = self.is_first_order(step_index);
        if step_index == 0 {
            self.previous_x0 = None;
            self.lower_order_nums = 0;
        }

        let (alpha_s0, sigma_s0) = alpha_sigma(self.sigmas[step_index]);
        let x0 = match self.schedule.config().prediction {
            Prediction::Epsilon => {
                (sample - model_output.affine(sigma_s0, 0.0)?)?.affine(1.0 / alpha_s0, 0.0)?
            }
            Prediction::V => {
                (sample.affine(alpha_s0, 0.0)? - model_output.affine(sigma_s0, 0.0)?)?
            }
            Prediction::Sample => model_output.clone(),
        };

        let (alpha_t, sigma_t) = alpha_sigma(self.sigmas[step_index + 1]);
        // λ = log α − log σ; at σ_t = 0, λ_t = +∞ and e^{−h} = 0, which the f64 math handles.
        let lambda_t = alpha_t.ln() - sigma_t.ln();
        let lambda_s0 = alpha_s0.ln() - sigma_s0.ln();
        let h = lambda_t - lambda_s0;
        let exp_m1 = (-h).exp() - 1.0;
        let sample_coeff = sigma_t / sigma_s0;
        let x0_coeff = -alpha_t * exp_m1;

        let next = match (&self.previous_x0, first_order) {
            (Some(prev_x0), false) => {
                let (alpha_s1, sigma_s1) = alpha_sigma(self.sigmas[step_index - 1]);
                let lambda_s1 = alpha_s1.ln() - sigma_s1.ln();
                let r0 = (lambda_s0 - lambda_s1) / h;
                // D1 = (x̂₀ − x̂₀_prev) / r0
                let d1_coeff = match self.config.solver_type {
                    SolverType::Midpoint => -0.5 * alpha_t * exp_m1,
                    SolverType::Heun => alpha_t * (exp_m1 / h + 1.0),
                } / r0;
                let d1 = (&x0 - prev_x0)?;
                ((sample.affine(sample_coeff, 0.0)? + x0.affine(x0_coeff, 0.0)?)?
                    + d1.affine(d1_coeff, 0.0)?)?
            }
            _ => (sample.affine(sample_coeff, 0.0)? + x0.affine(x0_coeff, 0.0)?)?,
        };

        self.previous_x0 = Some(x0);
        self.lower_order_nums = (self.lower_order_nums + 1).min(2);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dpm(spacing: TimestepSpacing, offset: usize, n: usize) -> DpmSolverMultistep {
        let config = DpmSolverConfig {
            timestep_spacing: spacing,
            steps_offset: offset,
            ..DpmSolverConfig::default()
        };
        DpmSolverMultistep::new(&ScheduleConfig::default(), n, config).unwrap()
    }

    #[test]
    fn timesteps_follow_diffusers_rules() {
        use TimestepSpacing::*;
        // linspace: round(linspace(0, 999, 11))[::-1][:-1]; 899.1 -> 899, 499.5 -> 500
        assert_eq!(
            dpm(Linspace, 0, 10).integer_timesteps(),
            &[999, 899, 799, 699, 599, 500, 400, 300, 200, 100]
        );
        // leading: (arange(0, 11) * (1000 // 11))[::-1][:-1] + offset
        assert_eq!(
            dpm(Leading, 0, 10).integer_timesteps(),
            &[900, 810, 720, 630, 540, 450, 360, 270, 180, 90]
        );
        assert_eq!(
            dpm(Leading, 1, 10).integer_timesteps(),
            &[901, 811, 721, 631, 541, 451, 361, 271, 181, 91]
        );
        assert_eq!(
            dpm(Trailing, 0, 10).integer_timesteps(),
            &[999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
        );
    }

    #[test]
    fn sigmas_come_from_the_training_grid_and_end_per_config() {
        let d = dpm(TimestepSpacing::Trailing, 0, 10);
        let s = d.schedule().sigmas();
        assert_eq!(d.sigmas()[0], s[999]);
        assert_eq!(d.sigmas()[9], s[99]);
        assert_eq!(d.sigmas()[10], 0.0);
        let min = DpmSolverMultistep::new(
            &ScheduleConfig::default(),
            10,
            DpmSolverConfig {
                final_sigmas_type: FinalSigmas::SigmaMin,
                ..DpmSolverConfig::default()
            },
        )
        .unwrap();
        assert_eq!(min.sigmas()[10], s[0]);
    }

    #[test]
    fn order_schedule_matches_diffusers() {
        let d = dpm(TimestepSpacing::Linspace, 0, 20);
        // lower_order_nums is 0 before the first step, so step 0 is first order; for the
        // others it would be 1 or 2 once the loop is running.
        let mut d2 = d.clone();
        d2.lower_order_nums = 2;
        assert!(d.is_first_order(0));
        assert!((1..19).all(|i| !d2.is_first_order(i)));
        // final_sigmas_type = zero forces the last step to first order even with 20 steps.
        assert!(d2.is_first_order(19));
        let mut long_min = DpmSolverMultistep::new(
            &ScheduleConfig::default(),
            20,
            DpmSolverConfig {
                final_sigmas_type: FinalSigmas::SigmaMin,
                ..DpmSolverConfig::default()
            },
        )
        .unwrap();
        long_min.lower_order_nums = 2;
        assert!(!long_min.is_first_order(19));
    }
}
