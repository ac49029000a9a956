//! Classifier-free guidance (Ho & Salimans 2022) over several conditions.
//!
//! MovieDreamer conditions a keyframe on more than one thing (the planned tokens and the
//! characters' identities) and wants a separate guidance scale for each. Training drops
//! every condition *independently* ([`ConditionDropout`]), so the one network learns the
//! output with any subset of conditions; sampling adds the conditions one at a time
//! ([`nested_guidance_weights`], [`run_guided_sampler`]), each with its own scale. With one
//! condition this is the usual CFG: scale 1 gives the conditional output, 0 the
//! unconditional one.

use candle_core::{DType, Device, Result, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The weight of each conditioning level in nested guidance with `scales` (one per
/// condition): level 0 has no condition, level `i` the first `i` conditions, and
///
/// ε̂ = ε₀ + Σᵢ sᵢ·(εᵢ − εᵢ₋₁) = (1 − s₁)·ε₀ + Σᵢ (sᵢ − sᵢ₊₁)·εᵢ + sₙ·εₙ.
///
/// Each condition's scale then acts on what it adds to the ones before it (as InstructPix2Pix
/// guides image and text apart); with one condition this is the usual classifier-free
/// guidance, and with every scale 1 only the fully conditioned level has weight.
pub fn nested_guidance_weights(scales: &[f64]) -> Vec<f64> {
    let n = scales.len();
    (0..=n)
        .map(|level| {
            let own = if level == 0 { 1.0 } else { scales[level - 1] };
            let next = if level == n { 0.0 } else { scales[level] };
            own - next
        })
        .collect()
}

/// Runs `sampler` from step `start` on `sample` (see [`super::run_sampler_from`]; for a
/// full run, start 0 and unit noise times `init_noise_sigma`) with nested classifier-free
/// guidance over `scales.len()` conditions ([`nested_guidance_weights`]).
///
/// `model(input, timesteps, levels)` is called once per step with the sample repeated once
/// per level in `levels` (those of non-zero weight, in increasing order), a matching
/// (batch · levels,) tensor of the step's timestep, and must return its outputs stacked the
/// same way: the caller lays out its conditions level by level. With every scale 1 the
/// model runs once per step, fully conditioned.
pub fn run_guided_sampler<S, F>(
    sampler: &mut S,
    sample: &Tensor,
    start: usize,
    scales: &[f64],
    mut model: F,
) -> Result<Tensor>
where
    S: super::Sampler + ?Sized,
    F: FnMut(&Tensor, &Tensor, &[usize]) -> Result<Tensor>,
{
    let weights = nested_guidance_weights(scales);
    let levels: Vec<usize> = (0..weights.len()).filter(|&l| weights[l] != 0.0).collect();
    let batch = sample.dim(0)?;
    let device = sample.device().clone();
    super::run_sampler_from(sampler, sample, start, |input, t| {
        let input = Tensor::cat(&vec![input.clone(); levels.len()], 0)?;
        let timesteps = Tensor::full(t as f32, batch * levels.len(), &device)?;
        let output = model(&input, &timesteps, &levels)?;
        let mut guided: Option<Tensor> = None;
        for (i, &level) in levels.iter().enumerate() {
            let part = output
                .narrow(0, i * batch, batch)?
                .affine(weights[level], 0.0)?;
            guided = Some(match guided {
                None => part,
                Some(sum) => (sum + part)?,
            });
        }
        guided.ok_or_else(|| candle_core::Error::Msg("guidance with no level to run".into()))
    })
}

/// Stacks one copy of a condition per level along dimension 0: `null` (no condition,
/// broadcastable to `condition`) for the levels below `level_of_condition`, `condition` for
/// the others, as [`run_guided_sampler`]'s model lays out its inputs.
pub fn conditions_by_level(
    condition: &Tensor,
    null: &Tensor,
    level_of_condition: usize,
    levels: &[usize],
) -> Result<Tensor> {
    let null = null.broadcast_as(condition.shape())?.contiguous()?;
    let parts: Vec<&Tensor> = levels
        .iter()
        .map(|&level| {
            if level >= level_of_condition {
                condition
            } else {
                &null
            }
        })
        .collect();
    Tensor::cat(&parts, 0)
}

/// Training-side dropout of conditions, one independent drop probability per condition.
///
/// Independence matters: it is what teaches the model every subset of conditions, including
/// "none", which [`classifier_free_guidance`] combines at sampling time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConditionDropout {
    /// The probability of dropping each condition, in `[0, 1]` (typically 0.1).
    pub probabilities: Vec<f64>,
}

impl ConditionDropout {
    /// Dropout with the given per-condition drop probabilities; fails outside `[0, 1]`.
    pub fn new(probabilities: Vec<f64>) -> Result<Self> {
        let dropout = Self { probabilities };
        dropout.validate()?;
        Ok(dropout)
    }

    /// Draws one `f32` keep mask `[batch]` per condition (1 = keep, 0 = drop), condition by
    /// condition, sample by sample; the same RNG state gives the same masks.
    pub fn sample_keep_masks(
        &self,
        batch: usize,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Vec<Tensor>> {
        self.validate()?;
        self.probabilities
            .iter()
            .map(|p| {
                let keep: Vec<f32> = (0..batch)
                    .map(|_| if rng.random::<f64>() < *p { 0.0 } else { 1.0 })
                    .collect();
                Tensor::from_vec(keep, batch, device)
            })
            .collect()
    }

    fn validate(&self) -> Result<()> {
        if let Some(p) = self
            .probabilities
            .iter()
            .find(|p| !(0.0..=1.0).contains(*p))
        {
            candle_core::bail!("drop probability {p} is outside [0, 1]");
        }
        Ok(())
    }
}

/// Applies a keep mask `[B]` to a condition `[B, …]`: kept samples keep `condition`, dropped
/// ones get `null` (a learned or zero "no condition" embedding broadcastable to one sample,
/// e.g. `[…]` or `[1, …]`), or zeros when `null` is `None`.
///
/// Built from multiplications so gradients reach both the condition and a learned `null`.
pub fn apply_keep_mask(condition: &Tensor, keep: &Tensor, null: Option<&Tensor>) -> Result<Tensor> {
    let batch = condition.dim(0)?;
    if keep.dims() != [batch] {
        candle_core::bail!("keep mask must be [{batch}], got {:?}", keep.dims());
    }
    let mut shape = vec![1; condition.rank()];
    shape[0] = batch;
    let keep = keep.to_dtype(condition.dtype())?.reshape(shape)?;
    let kept = condition.broadcast_mul(&keep)?;
    match null {
        None => Ok(kept),
        Some(null) => {
            let drop = keep.affine(-1.0, 1.0)?;
            let null = null.to_dtype(condition.dtype())?;
            kept + drop.broadcast_mul(&null)?.broadcast_as(condition.shape())?
        }
    }
}

/// The fraction of ones in a 0/1 mask (used by tests and training logs).
pub fn keep_rate(mask: &Tensor) -> Result<f64> {
    let n = mask.elem_count();
    if n == 0 {
        return Ok(0.0);
    }
    let sum = mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
    Ok(sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn t(v: &[f32]) -> Tensor {
        Tensor::new(v, &Device::Cpu).unwrap()
    }

    fn vals(x: &Tensor) -> Vec<f32> {
        x.to_vec1().unwrap()
    }

    #[test]
    fn nested_weights_sum_to_one_and_reduce_to_plain_guidance() {
        assert_eq!(nested_guidance_weights(&[1.0]), vec![0.0, 1.0]);
        assert_eq!(nested_guidance_weights(&[3.0]), vec![-2.0, 3.0]);
        assert_eq!(nested_guidance_weights(&[1.0, 1.0]), vec![0.0, 0.0, 1.0]);
        assert_eq!(nested_guidance_weights(&[2.0, 1.5]), vec![-1.0, 0.5, 1.5]);
        assert_eq!(nested_guidance_weights(&[1.0, 0.0]), vec![0.0, 1.0, 0.0]);
        for scales in [[2.0, 1.5], [0.5, 4.0], [1.0, 0.0]] {
            let sum: f64 = nested_guidance_weights(&scales).iter().sum();
            assert!((sum - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn the_guided_sampler_runs_only_the_levels_it_needs() {
        use crate::diffusion::{DpmSolverConfig, DpmSolverMultistep};
        use crate::diffusion::{Prediction, ScheduleConfig};
        let dev = Device::Cpu;
        let config = ScheduleConfig::cosine(1000, Prediction::Sample);
        let sample = Tensor::zeros((2, 3), DType::F32, &dev).unwrap();
        // Level l predicts the constant l: the guided prediction is Σ w_l·l.
        let run = |scales: &[f64]| {
            let mut sampler =
                DpmSolverMultistep::new(&config, 4, DpmSolverConfig::default()).unwrap();
            let mut seen = Vec::new();
            let out = run_guided_sampler(&mut sampler, &sample, 0, scales, |input, t, levels| {
                assert_eq!(input.dim(0).unwrap(), 2 * levels.len());
                assert_eq!(t.dims(), [2 * levels.len()]);
                seen.push(levels.to_vec());
                let parts: Vec<Tensor> = levels
                    .iter()
                    .map(|&l| Tensor::full(l as f32, (2, 3), &dev).unwrap())
                    .collect();
                Tensor::cat(&parts, 0)
            })
            .unwrap();
            (out.flatten_all().unwrap().to_vec1::<f32>().unwrap(), seen)
        };
        let (out, seen) = run(&[1.0, 1.0]);
        assert!(seen.iter().all(|l| l == &[2]));
        assert!(out.iter().all(|v| (v - 2.0).abs() < 1e-4), "{out:?}");
        let (out, seen) = run(&[2.0, 1.5]);
        assert!(seen.iter().all(|l| l == &[0, 1, 2]));
        // -1·0 + 0.5·1 + 1.5·2 = 3.5
        assert!(out.iter().all(|v| (v - 3.5).abs() < 1e-4), "{out:?}");
    }

    #[test]
    fn conditions_are_laid_out_level_by_level() {
        let cond = Tensor::new(&[[1.0f32, 2.0]], &Device::Cpu).unwrap();
        let null = Tensor::new(&[0.0f32, 0.0], &Device::Cpu).unwrap();
        let laid = conditions_by_level(&cond, &null, 2, &[0, 1, 2]).unwrap();
        assert_eq!(
            laid.to_vec2::<f32>().unwrap(),
            vec![vec![0.0, 0.0], vec![0.0, 0.0], vec![1.0, 2.0]]
        );
    }

    #[test]
    fn masks_have_the_right_rates_and_are_independent() {
        let dropout = ConditionDropout::new(vec![0.1, 0.5, 0.0, 1.0]).unwrap();
        let n = 20_000;
        let masks = dropout
            .sample_keep_masks(n, &mut ChaCha8Rng::seed_from_u64(11), &Device::Cpu)
            .unwrap();
        assert_eq!(masks.len(), 4);
        let m: Vec<Vec<f32>> = masks.iter().map(vals).collect();
        assert!(m.iter().flatten().all(|v| *v == 0.0 || *v == 1.0));
        let rate = |i: usize| keep_rate(&masks[i]).unwrap();
        assert!((rate(0) - 0.9).abs() < 0.01, "{}", rate(0));
        assert!((rate(1) - 0.5).abs() < 0.015, "{}", rate(1));
        assert_eq!(rate(2), 1.0);
        assert_eq!(rate(3), 0.0);
        // Independence: P(keep0 and keep1) ≈ P(keep0)·P(keep1).
        let both = (0..n).filter(|&k| m[0][k] == 1.0 && m[1][k] == 1.0).count() as f64 / n as f64;
        assert!((both - rate(0) * rate(1)).abs() < 0.015, "{both}");

        // Same seed, same masks; another seed, other masks.
        let again = dropout
            .sample_keep_masks(n, &mut ChaCha8Rng::seed_from_u64(11), &Device::Cpu)
            .unwrap();
        assert!(again.iter().zip(&m).all(|(a, b)| vals(a) == *b));
        let other = dropout
            .sample_keep_masks(n, &mut ChaCha8Rng::seed_from_u64(12), &Device::Cpu)
            .unwrap();
        assert_ne!(vals(&other[1]), m[1]);
    }

    #[test]
    fn invalid_probabilities_are_rejected() {
        assert!(ConditionDropout::new(vec![0.1, 1.5]).is_err());
        assert!(ConditionDropout::new(vec![-0.1]).is_err());
        assert!(ConditionDropout::new(vec![f64::NAN]).is_err());
    }

    #[test]
    fn keep_mask_swaps_in_the_null_condition() {
        let dev = Device::Cpu;
        let cond = Tensor::new(&[[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]], &dev).unwrap();
        let keep = t(&[1.0, 0.0, 1.0]);
        let zeroed = apply_keep_mask(&cond, &keep, None).unwrap();
        assert_eq!(
            zeroed.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 2.0], vec![0.0, 0.0], vec![5.0, 6.0]]
        );
        let null = t(&[-1.0, -1.0]);
        let nulled = apply_keep_mask(&cond, &keep, Some(&null)).unwrap();
        assert_eq!(
            nulled.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 2.0], vec![-1.0, -1.0], vec![5.0, 6.0]]
        );
        assert!(apply_keep_mask(&cond, &t(&[1.0]), None).is_err());
    }
}
