//! Classifier-free guidance (Ho & Salimans 2022) over several conditions.
//!
//! MovieDreamer conditions each keyframe on more than one thing (the script tokens and the
//! character identity, for instance) and wants a separate guidance scale for each. Training
//! makes that possible by dropping every condition *independently* ([`ConditionDropout`]), so
//! the one network learns the unconditional output and every single-condition output; at
//! sampling time the composition
//!
//! ε̂ = ε(∅) + Σᵢ sᵢ·(ε(cᵢ) − ε(∅))
//!
//! ([`classifier_free_guidance`]) adds each condition's direction with its own scale. With one
//! condition this is the usual CFG; scale 1 returns the conditional output and 0 the
//! unconditional one.

use candle_core::{DType, Device, Result, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `unconditional + Σ scaleᵢ·(conditionedᵢ − unconditional)`; every tensor has the same shape.
///
/// Each `conditioned` entry is the model's output with exactly one condition present, paired
/// with that condition's guidance scale.
pub fn classifier_free_guidance(
    unconditional: &Tensor,
    conditioned: &[(Tensor, f64)],
) -> Result<Tensor> {
    let mut guided = unconditional.clone();
    for (cond, scale) in conditioned {
        if cond.dims() != unconditional.dims() {
            candle_core::bail!(
                "conditioned output {:?} does not match the unconditional {:?}",
                cond.dims(),
                unconditional.dims()
            );
        }
        guided = (guided + (cond - unconditional)?.affine(*scale, 0.0)?)?;
    }
    Ok(guided)
}

/// Guidance from one batched model call: `output` stacks `1 + scales.len()` equal chunks along
/// dimension 0, the unconditional chunk first, then one chunk per condition in `scales` order.
///
/// Running all variants as one batch is how samplers usually pay for guidance.
pub fn guidance_from_batch(output: &Tensor, scales: &[f64]) -> Result<Tensor> {
    let parts = 1 + scales.len();
    let total = output.dim(0)?;
    if !total.is_multiple_of(parts) {
        candle_core::bail!("batch of {total} does not split into {parts} equal chunks");
    }
    let size = total / parts;
    let unconditional = output.narrow(0, 0, size)?;
    let conditioned = scales
        .iter()
        .enumerate()
        .map(|(i, s)| Ok((output.narrow(0, (i + 1) * size, size)?, *s)))
        .collect::<Result<Vec<_>>>()?;
    classifier_free_guidance(&unconditional, &conditioned)
}

/// Runs `sampler` from step `start` on `sample` (see [`super::run_sampler_from`]; for a
/// full run, start 0 and unit noise times `init_noise_sigma`) with classifier-free guidance
/// on one condition: `model(input, timesteps)` gets the sample and a (batch,) tensor of the
/// step's timestep, both doubled along the batch when `guidance` is not 1 (the caller then
/// lays its conditions out as [null; real] in the same order), and the two halves are
/// combined with [`guidance_from_batch`]. With guidance 1 the model runs once per step.
pub fn run_guided_sampler<S, F>(
    sampler: &mut S,
    sample: &Tensor,
    start: usize,
    guidance: f64,
    mut model: F,
) -> Result<Tensor>
where
    S: super::Sampler + ?Sized,
    F: FnMut(&Tensor, &Tensor) -> Result<Tensor>,
{
    let guided = guidance != 1.0;
    let copies = if guided { 2 } else { 1 };
    let batch = sample.dim(0)?;
    let device = sample.device().clone();
    super::run_sampler_from(sampler, sample, start, |input, t| {
        let input = Tensor::cat(&vec![input.clone(); copies], 0)?;
        let timesteps = Tensor::full(t as f32, batch * copies, &device)?;
        let output = model(&input, &timesteps)?;
        if guided {
            guidance_from_batch(&output, &[guidance])
        } else {
            Ok(output)
        }
    })
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
    fn scale_one_is_conditional_and_zero_is_unconditional() {
        let u = t(&[1.0, -2.0, 0.5]);
        let c = t(&[3.0, 1.0, -0.5]);
        let one = classifier_free_guidance(&u, &[(c.clone(), 1.0)]).unwrap();
        assert_eq!(vals(&one), vals(&c));
        let zero = classifier_free_guidance(&u, &[(c.clone(), 0.0)]).unwrap();
        assert_eq!(vals(&zero), vals(&u));
        let none = classifier_free_guidance(&u, &[]).unwrap();
        assert_eq!(vals(&none), vals(&u));
    }

    #[test]
    fn several_conditions_add_their_directions() {
        let u = t(&[1.0, 0.0]);
        let a = t(&[2.0, 0.0]);
        let b = t(&[1.0, 4.0]);
        let g = classifier_free_guidance(&u, &[(a.clone(), 7.5), (b.clone(), 0.5)]).unwrap();
        assert_eq!(vals(&g), vec![1.0 + 7.5, 2.0]);
        // The batched form agrees.
        let batch = Tensor::cat(&[&u, &a, &b], 0)
            .unwrap()
            .reshape((3, 2))
            .unwrap();
        let gb = guidance_from_batch(&batch, &[7.5, 0.5]).unwrap();
        assert_eq!(
            gb.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vals(&g)
        );
        assert!(guidance_from_batch(&batch, &[1.0]).is_err());
        assert!(classifier_free_guidance(&u, &[(t(&[1.0]), 1.0)]).is_err());
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
