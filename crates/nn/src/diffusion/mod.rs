//! Diffusion: noise schedules, training targets, samplers and classifier-free guidance.
//!
//! The samplers follow HuggingFace diffusers' schedulers step for step (`DDPMScheduler`,
//! `DDIMScheduler`, `EulerDiscreteScheduler`, `DPMSolverMultistepScheduler` with
//! `algorithm_type="dpmsolver++"`, `solver_order=2`), because models trained elsewhere and
//! parity tests against diffusers both assume those exact timestep grids and update rules.
//! Their configuration knobs carry diffusers' names so a test can mirror a diffusers config
//! field by field.
//!
//! Layout:
//! - [`schedule`]: beta schedules, the cumulative ᾱ table, and the training helpers
//!   (per-sample `add_noise`, the epsilon / v target, `predict_x0`, timestep sampling).
//! - [`ddpm`], [`ddim`], [`euler`], [`dpm_solver`]: one sampler each, all behind [`Sampler`].
//! - [`guidance`]: classifier-free guidance over several conditions, and the training-side
//!   condition dropout that makes it possible.
//!
//! Schedule math is done in `f64` (diffusers does it in `f32`, see each sampler's docs for
//! what that changes); tensors stay in the dtype the caller gives (normally `f32`).

pub mod ddim;
pub mod ddpm;
pub mod dpm_solver;
pub mod euler;
pub mod guidance;
pub mod schedule;

pub use ddim::{Ddim, DdimConfig};
pub use ddpm::{Ddpm, DdpmConfig};
pub use dpm_solver::{DpmSolverConfig, DpmSolverMultistep, FinalSigmas, SolverType};
pub use euler::{EulerConfig, EulerDiscrete};
pub use guidance::{
    ConditionDropout, apply_keep_mask, conditions_by_level, keep_rate, nested_guidance_weights,
    run_guided_sampler,
};
pub use schedule::{BetaSchedule, NoiseSchedule, ScheduleConfig};

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// What the denoising network is trained to output.
///
/// Stored in model configs so that training (which builds the target) and sampling (which
/// inverts it) can never disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prediction {
    /// The noise ε that was added (diffusers `"epsilon"`).
    #[default]
    #[serde(alias = "eps")]
    Epsilon,
    /// The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀ (diffusers `"v_prediction"`), which keeps the
    /// target's scale bounded at both ends of the schedule.
    #[serde(alias = "v_prediction", alias = "v-prediction")]
    V,
    /// The clean sample x₀ itself (diffusers `"sample"`). Every output is already a
    /// picture, so a model that is still learning gives blurry pictures rather than noise.
    Sample,
}

/// How inference timesteps are laid over the training timesteps (table 2 of
/// "Common Diffusion Noise Schedules and Sample Steps are Flawed", arXiv:2305.08891).
///
/// The three rules are diffusers' `timestep_spacing` values; each sampler applies them exactly
/// as its diffusers counterpart does (DPM-Solver, for instance, spaces `n + 1` points and drops
/// the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimestepSpacing {
    /// Multiples of `num_train / n` starting at 0, plus `steps_offset` (never reaches the
    /// noisiest training step; the Stable Diffusion 1.x convention).
    Leading,
    /// Counts down from the last training step by `num_train / n`; always starts at pure noise.
    Trailing,
    /// `n` evenly spaced points over `[0, num_train − 1]`, rounded (or, for Euler, kept
    /// fractional).
    Linspace,
}

/// One reverse-diffusion sampler with its timestep grid fixed at construction.
///
/// A sampling loop is: `x = noise * init_noise_sigma()`; then for each `i` in
/// `0..timesteps().len()`, feed `scale_model_input(x, i)` and `timesteps()[i]` to the model and
/// set `x = step(output, i, x)`. [`run_sampler`] is that loop.
///
/// `step` must be called with `step_index` 0, 1, 2, … in order: multistep solvers keep a
/// history, which `step_index == 0` resets, so one sampler can run several loops.
pub trait Sampler {
    /// The model timestep for each step, noisiest first.
    ///
    /// These are `f64` because diffusers' Euler scheduler with linspace spacing uses
    /// fractional timesteps (e.g. 832.5); the other samplers return whole numbers.
    fn timesteps(&self) -> &[f64];

    /// The standard deviation of the noise a loop must start from.
    fn init_noise_sigma(&self) -> f64 {
        1.0
    }

    /// The tensor to feed the model at `step_index` (identity except for Euler, which works in
    /// σ-space and divides by √(σ²+1)).
    fn scale_model_input(&self, sample: &Tensor, step_index: usize) -> Result<Tensor> {
        check_step_index(step_index, self.timesteps().len())?;
        Ok(sample.clone())
    }

    /// Advances `sample` from step `step_index` to the next, given the model's output there.
    fn step(&mut self, model_output: &Tensor, step_index: usize, sample: &Tensor)
    -> Result<Tensor>;

    /// The number of steps in the loop.
    fn num_steps(&self) -> usize {
        self.timesteps().len()
    }
}

/// Runs a full sampling loop from `noise` (unit variance), calling `model(input, timestep)`
/// once per step, and returns the final sample.
pub fn run_sampler<S, F>(sampler: &mut S, noise: &Tensor, model: F) -> Result<Tensor>
where
    S: Sampler + ?Sized,
    F: FnMut(&Tensor, f64) -> Result<Tensor>,
{
    let sample = noise.affine(sampler.init_noise_sigma(), 0.0)?;
    run_sampler_from(sampler, &sample, 0, model)
}

/// Runs the sampling loop from step `start` on: `sample` is already noised to the level of
/// `sampler.timesteps()[start]` (as SDEdit starts from a noised picture instead of pure
/// noise). Start 0 with unit noise scaled by `init_noise_sigma` is [`run_sampler`].
pub fn run_sampler_from<S, F>(
    sampler: &mut S,
    sample: &Tensor,
    start: usize,
    mut model: F,
) -> Result<Tensor>
where
    S: Sampler + ?Sized,
    F: FnMut(&Tensor, f64) -> Result<Tensor>,
{
    let mut sample = sample.clone();
    let timesteps = sampler.timesteps().to_vec();
    for (i, &t) in timesteps.iter().enumerate().skip(start) {
        let input = sampler.scale_model_input(&sample, i)?;
        let output = model(&input, t)?;
        sample = sampler.step(&output, i, &sample)?;
    }
    Ok(sample)
}

/// Integer timesteps shared by DDPM and DDIM (diffusers' `set_timesteps` for both).
fn integer_timesteps(
    spacing: TimestepSpacing,
    steps_offset: usize,
    num_train: usize,
    num_inference: usize,
) -> Vec<usize> {
    match spacing {
        TimestepSpacing::Linspace => numpy_linspace(0.0, (num_train - 1) as f64, num_inference)
            .into_iter()
            .rev()
            .map(|t| t.round_ties_even() as usize)
            .collect(),
        TimestepSpacing::Leading => {
            let ratio = num_train / num_inference;
            (0..num_inference)
                .rev()
                .map(|i| i * ratio + steps_offset)
                .collect()
        }
        TimestepSpacing::Trailing => trailing_timesteps(num_train, num_inference),
    }
}

/// `round(arange(num_train, 0, -num_train / n)) - 1`, as numpy computes it.
fn trailing_timesteps(num_train: usize, num_inference: usize) -> Vec<usize> {
    let ratio = num_train as f64 / num_inference as f64;
    numpy_arange(num_train as f64, 0.0, -ratio)
        .into_iter()
        .map(|t| (t.round_ties_even() as i64 - 1).max(0) as usize)
        .collect()
}

/// `numpy.linspace(start, stop, num)` (endpoint included, last value exactly `stop`).
fn numpy_linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    (0..num)
        .map(|i| {
            if i == num - 1 {
                stop
            } else {
                i as f64 * step + start
            }
        })
        .collect()
}

/// `numpy.arange(start, stop, step)` for floats: `ceil((stop − start) / step)` values,
/// filled as numpy does (`start + i·δ` with `δ = (start + step) − start`).
fn numpy_arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let len = ((stop - start) / step).ceil().max(0.0) as usize;
    let delta = (start + step) - start;
    (0..len)
        .map(|i| match i {
            0 => start,
            1 => start + step,
            _ => start + i as f64 * delta,
        })
        .collect()
}

/// Checks the inference step count against the training schedule, as diffusers does.
fn check_num_inference_steps(num_inference: usize, num_train: usize) -> Result<()> {
    if num_inference == 0 {
        candle_core::bail!("num_inference_steps must be at least 1");
    }
    if num_inference > num_train {
        candle_core::bail!(
            "num_inference_steps ({num_inference}) cannot exceed num_train_timesteps ({num_train})"
        );
    }
    Ok(())
}

/// Checks that a step index is inside the grid.
fn check_step_index(step_index: usize, num_steps: usize) -> Result<()> {
    if step_index >= num_steps {
        candle_core::bail!("step index {step_index} is out of range for {num_steps} steps");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_helpers_match_numpy() {
        // np.linspace(0, 999, 7) = [0, 166.5, 333, 499.5, 666, 832.5, 999]
        assert_eq!(
            numpy_linspace(0.0, 999.0, 7),
            vec![0.0, 166.5, 333.0, 499.5, 666.0, 832.5, 999.0]
        );
        // np.arange(1000, 0, -62.5) has 16 values ending at 62.5.
        let a = numpy_arange(1000.0, 0.0, -62.5);
        assert_eq!(a.len(), 16);
        assert_eq!(a[15], 62.5);
        // round-half-to-even, as numpy rounds: 937.5 -> 938, 812.5 -> 812.
        let t = trailing_timesteps(1000, 16);
        assert_eq!(&t[..5], &[999, 937, 874, 811, 749]);
        assert_eq!(&t[13..], &[187, 124, 61]);
        assert_eq!(trailing_timesteps(1000, 3), vec![999, 666, 332]);
        assert_eq!(trailing_timesteps(10, 4), vec![9, 7, 4, 1]);
    }

    #[test]
    fn prediction_and_spacing_serialise_kebab_case() {
        assert_eq!(serde_json::to_string(&Prediction::V).unwrap(), "\"v\"");
        assert_eq!(
            serde_json::from_str::<Prediction>("\"v_prediction\"").unwrap(),
            Prediction::V
        );
        assert_eq!(
            serde_json::to_string(&TimestepSpacing::Trailing).unwrap(),
            "\"trailing\""
        );
    }

    #[test]
    fn sampler_configs_serialise_with_defaults() {
        let dpm: DpmSolverConfig =
            serde_json::from_str(r#"{"final-sigmas-type":"sigma_min","solver-type":"heun"}"#)
                .unwrap();
        assert_eq!(dpm.final_sigmas_type, FinalSigmas::SigmaMin);
        assert_eq!(dpm.solver_type, SolverType::Heun);
        assert!(dpm.lower_order_final);
        assert_eq!(dpm.timestep_spacing, TimestepSpacing::Linspace);
        let ddim = DdimConfig {
            clip_sample: Some(1.0),
            ..DdimConfig::default()
        };
        let json = serde_json::to_string(&ddim).unwrap();
        assert!(json.contains("\"set-alpha-to-one\":true"), "{json}");
        assert_eq!(serde_json::from_str::<DdimConfig>(&json).unwrap(), ddim);
        let euler: EulerConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(euler, EulerConfig::default());
        let ddpm: DdpmConfig = serde_json::from_str(r#"{"steps-offset":1}"#).unwrap();
        assert_eq!(ddpm.steps_offset, 1);
    }
}
