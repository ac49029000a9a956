//! Noise schedules and the training-side helpers built on them.
//!
//! A schedule is the table ᾱ_t = ∏_{s≤t}(1 − β_s) over the training timesteps; the forward
//! process is x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε. Training draws one timestep *per sample* (a batch
//! mixes noise levels, which is what makes the loss an unbiased estimate over t), so every
//! helper here takes a `[B]` tensor of timesteps and broadcasts each sample's coefficients over
//! that sample's trailing dimensions, whatever their shape (images, latents, video).
//!
//! The β tables follow diffusers: `linear` and `scaled_linear` are `linspace`s (the latter in
//! √β), and `squaredcos_cap_v2` is the cosine schedule of Nichol & Dhariwal (2021) discretised
//! by `betas_for_alpha_bar` with β capped at 0.999. Values are kept in `f64`.

use candle_core::{DType, Device, Result, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::Prediction;

/// How β grows over the training timesteps (diffusers' `beta_schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BetaSchedule {
    /// β evenly spaced from `beta_start` to `beta_end` (DDPM).
    #[default]
    Linear,
    /// √β evenly spaced from √`beta_start` to √`beta_end`, then squared (latent diffusion).
    #[serde(alias = "scaled_linear")]
    ScaledLinear,
    /// ᾱ(t) = cos²(((t/T) + 0.008)/1.008 · π/2), β capped at 0.999 (diffusers
    /// `"squaredcos_cap_v2"`); ignores `beta_start` and `beta_end`.
    #[serde(alias = "squaredcos_cap_v2", alias = "squaredcos-cap-v2")]
    Cosine,
}

/// The training noise schedule, with diffusers' names and defaults.
///
/// `prediction` lives here because the samplers and the training target must agree on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct ScheduleConfig {
    /// The number of training timesteps T (diffusers `num_train_timesteps`).
    pub num_train_timesteps: usize,
    /// The first β of the linear schedules.
    pub beta_start: f64,
    /// The last β of the linear schedules.
    pub beta_end: f64,
    /// The β schedule.
    pub beta_schedule: BetaSchedule,
    /// What the model predicts (diffusers `prediction_type`).
    pub prediction: Prediction,
}

impl Default for ScheduleConfig {
    /// diffusers' defaults: 1000 steps, linear β from 1e-4 to 0.02, epsilon prediction.
    fn default() -> Self {
        Self {
            num_train_timesteps: 1000,
            beta_start: 0.0001,
            beta_end: 0.02,
            beta_schedule: BetaSchedule::Linear,
            prediction: Prediction::Epsilon,
        }
    }
}

impl ScheduleConfig {
    /// The latent-diffusion (Stable Diffusion) schedule: scaled-linear β from 0.00085 to 0.012
    /// over 1000 steps.
    pub fn latent_diffusion(prediction: Prediction) -> Self {
        Self {
            num_train_timesteps: 1000,
            beta_start: 0.00085,
            beta_end: 0.012,
            beta_schedule: BetaSchedule::ScaledLinear,
            prediction,
        }
    }

    /// The cosine schedule over `num_train_timesteps` steps.
    pub fn cosine(num_train_timesteps: usize, prediction: Prediction) -> Self {
        Self {
            num_train_timesteps,
            beta_schedule: BetaSchedule::Cosine,
            prediction,
            ..Self::default()
        }
    }
}

/// The largest β the cosine schedule allows (diffusers' `max_beta`), so ᾱ never reaches 0.
const COSINE_MAX_BETA: f64 = 0.999;

/// The β, α = 1 − β and ᾱ tables of one [`ScheduleConfig`], plus the training helpers.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseSchedule {
    config: ScheduleConfig,
    betas: Vec<f64>,
    alphas: Vec<f64>,
    alphas_cumprod: Vec<f64>,
}

impl NoiseSchedule {
    /// Builds the tables; fails on an empty schedule or β outside (0, 1).
    pub fn new(config: &ScheduleConfig) -> Result<Self> {
        let n = config.num_train_timesteps;
        if n == 0 {
            candle_core::bail!("num_train_timesteps must be at least 1");
        }
        let betas: Vec<f64> = match config.beta_schedule {
            BetaSchedule::Linear => linspace(config.beta_start, config.beta_end, n),
            BetaSchedule::ScaledLinear => {
                linspace(config.beta_start.sqrt(), config.beta_end.sqrt(), n)
                    .into_iter()
                    .map(|b| b * b)
                    .collect()
            }
            BetaSchedule::Cosine => {
                let alpha_bar = |t: f64| {
                    ((t + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
                        .cos()
                        .powi(2)
                };
                (0..n)
                    .map(|i| {
                        let t1 = i as f64 / n as f64;
                        let t2 = (i + 1) as f64 / n as f64;
                        (1.0 - alpha_bar(t2) / alpha_bar(t1)).min(COSINE_MAX_BETA)
                    })
                    .collect()
            }
        };
        if let Some(b) = betas.iter().find(|b| !(**b > 0.0 && **b < 1.0)) {
            candle_core::bail!("beta {b} is outside (0, 1); check beta_start and beta_end");
        }
        let alphas: Vec<f64> = betas.iter().map(|b| 1.0 - b).collect();
        let alphas_cumprod = alphas
            .iter()
            .scan(1.0, |acc, a| {
                *acc *= a;
                Some(*acc)
            })
            .collect();
        Ok(Self {
            config: config.clone(),
            betas,
            alphas,
            alphas_cumprod,
        })
    }

    /// The configuration the tables were built from.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// The number of training timesteps T.
    pub fn num_train_timesteps(&self) -> usize {
        self.betas.len()
    }

    /// β_t for t in 0..T.
    pub fn betas(&self) -> &[f64] {
        &self.betas
    }

    /// α_t = 1 − β_t.
    pub fn alphas(&self) -> &[f64] {
        &self.alphas
    }

    /// ᾱ_t = ∏_{s≤t} α_s, strictly decreasing in (0, 1).
    pub fn alphas_cumprod(&self) -> &[f64] {
        &self.alphas_cumprod
    }

    /// ᾱ_t for one timestep; fails past the end of the schedule.
    pub fn alpha_bar(&self, t: usize) -> Result<f64> {
        match self.alphas_cumprod.get(t) {
            Some(a) => Ok(*a),
            None => candle_core::bail!(
                "timestep {t} is outside the schedule of {} steps",
                self.alphas_cumprod.len()
            ),
        }
    }

    /// The σ-space noise level √((1 − ᾱ_t)/ᾱ_t) of every training timestep (Euler and
    /// DPM-Solver work with x/√ᾱ, whose noise has this standard deviation).
    pub fn sigmas(&self) -> Vec<f64> {
        self.alphas_cumprod
            .iter()
            .map(|a| ((1.0 - a) / a).sqrt())
            .collect()
    }

    /// σ at a possibly fractional timestep, interpolated linearly between neighbouring
    /// training timesteps and clamped at the ends (numpy's `interp`, as diffusers uses).
    pub fn interpolated_sigma(&self, t: f64) -> f64 {
        let sigma = |i: usize| {
            let a = self.alphas_cumprod[i];
            ((1.0 - a) / a).sqrt()
        };
        let last = self.alphas_cumprod.len() - 1;
        if t.is_nan() || t <= 0.0 {
            return sigma(0);
        }
        if t >= last as f64 {
            return sigma(last);
        }
        let lo = t.floor() as usize;
        let frac = t - lo as f64;
        if frac == 0.0 {
            return sigma(lo);
        }
        let (s0, s1) = (sigma(lo), sigma(lo + 1));
        s0 + (s1 - s0) * frac
    }

    /// Draws one training timestep per sample, uniformly in `0..T`, as a `u32` tensor `[batch]`.
    pub fn sample_timesteps(
        &self,
        batch: usize,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Tensor> {
        let n = self.num_train_timesteps() as u32;
        let values: Vec<u32> = (0..batch).map(|_| rng.random_range(0..n)).collect();
        Tensor::from_vec(values, batch, device)
    }

    /// Draws one training timestep per sample leaning towards high noise:
    /// t = T − 1 − ⌊T·u^power⌋ for u uniform in [0, 1), so `power` = 1 is uniform and
    /// `power` = 2 makes the noisiest tenth of the schedule about three times as likely as
    /// uniform sampling does. A model that must carry information through its condition
    /// (a diffusion autoencoder's tokens) learns that at high noise, where the noisy input
    /// tells it nothing.
    pub fn sample_timesteps_towards_noise(
        &self,
        batch: usize,
        power: f64,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Tensor> {
        if !(power.is_finite() && power > 0.0) {
            candle_core::bail!("the timestep power must be a positive number, not {power}");
        }
        let n = self.num_train_timesteps();
        let values: Vec<u32> = (0..batch)
            .map(|_| {
                let u: f64 = rng.random();
                let back = ((n as f64) * u.powf(power)).floor() as usize;
                (n - 1 - back.min(n - 1)) as u32
            })
            .collect();
        Tensor::from_vec(values, batch, device)
    }

    /// The forward process with per-sample timesteps: √ᾱ_{t_b}·x₀ + √(1−ᾱ_{t_b})·ε for each
    /// sample b. `timesteps` is an integer tensor `[B]` (u32 or i64) and `x0`, `noise` are
    /// `[B, …]`.
    pub fn add_noise(&self, x0: &Tensor, noise: &Tensor, timesteps: &Tensor) -> Result<Tensor> {
        let (sqrt_ab, sqrt_1m_ab) = self.coefficients(x0, timesteps)?;
        x0.broadcast_mul(&sqrt_ab)? + noise.broadcast_mul(&sqrt_1m_ab)?
    }

    /// The regression target for a noised batch: ε itself for epsilon prediction,
    /// v = √ᾱ·ε − √(1−ᾱ)·x₀ for v prediction, or x₀ for sample prediction, per sample.
    pub fn target(
        &self,
        x0: &Tensor,
        noise: &Tensor,
        timesteps: &Tensor,
        prediction: Prediction,
    ) -> Result<Tensor> {
        match prediction {
            Prediction::Epsilon => {
                self.coefficients(x0, timesteps)?;
                Ok(noise.clone())
            }
            Prediction::V => {
                let (sqrt_ab, sqrt_1m_ab) = self.coefficients(x0, timesteps)?;
                noise.broadcast_mul(&sqrt_ab)? - x0.broadcast_mul(&sqrt_1m_ab)?
            }
            Prediction::Sample => {
                self.coefficients(x0, timesteps)?;
                Ok(x0.clone())
            }
        }
    }

    /// Recovers x₀ from a noised batch and the model's output, per sample:
    /// (x_t − √(1−ᾱ)·ε)/√ᾱ for epsilon, √ᾱ·x_t − √(1−ᾱ)·v for v.
    pub fn predict_x0(
        &self,
        sample: &Tensor,
        model_output: &Tensor,
        timesteps: &Tensor,
        prediction: Prediction,
    ) -> Result<Tensor> {
        let (sqrt_ab, sqrt_1m_ab) = self.coefficients(sample, timesteps)?;
        match prediction {
            Prediction::Epsilon => {
                (sample - model_output.broadcast_mul(&sqrt_1m_ab)?)?.broadcast_div(&sqrt_ab)
            }
            Prediction::V => {
                sample.broadcast_mul(&sqrt_ab)? - model_output.broadcast_mul(&sqrt_1m_ab)?
            }
            Prediction::Sample => Ok(model_output.clone()),
        }
    }

    /// Recovers ε from a noised batch and the model's output, per sample:
    /// the output itself for epsilon, √ᾱ·v + √(1−ᾱ)·x_t for v.
    pub fn predict_epsilon(
        &self,
        sample: &Tensor,
        model_output: &Tensor,
        timesteps: &Tensor,
        prediction: Prediction,
    ) -> Result<Tensor> {
        match prediction {
            Prediction::Epsilon => {
                self.coefficients(sample, timesteps)?;
                Ok(model_output.clone())
            }
            Prediction::V => {
                let (sqrt_ab, sqrt_1m_ab) = self.coefficients(sample, timesteps)?;
                model_output.broadcast_mul(&sqrt_ab)? + sample.broadcast_mul(&sqrt_1m_ab)?
            }
            Prediction::Sample => {
                let (sqrt_ab, sqrt_1m_ab) = self.coefficients(sample, timesteps)?;
                (sample - model_output.broadcast_mul(&sqrt_ab)?)?.broadcast_div(&sqrt_1m_ab)
            }
        }
    }

    /// √ᾱ_{t_b} and √(1−ᾱ_{t_b}) shaped `[B, 1, …, 1]` to broadcast over `like`, in its dtype.
    fn coefficients(&self, like: &Tensor, timesteps: &Tensor) -> Result<(Tensor, Tensor)> {
        let batch = like.dim(0)?;
        if timesteps.dims() != [batch] {
            candle_core::bail!(
                "timesteps must be [{batch}] (one per sample), got {:?}",
                timesteps.dims()
            );
        }
        let ts: Vec<i64> = timesteps.to_dtype(DType::I64)?.to_vec1()?;
        let mut sqrt_ab = Vec::with_capacity(batch);
        let mut sqrt_1m_ab = Vec::with_capacity(batch);
        for t in ts {
            let a = usize::try_from(t)
                .ok()
                .and_then(|t| self.alphas_cumprod.get(t))
                .copied();
            let Some(a) = a else {
                candle_core::bail!(
                    "timestep {t} is outside the schedule of {} steps",
                    self.alphas_cumprod.len()
                );
            };
            sqrt_ab.push(a.sqrt());
            sqrt_1m_ab.push((1.0 - a).sqrt());
        }
        let mut shape = vec![1; like.rank()];
        shape[0] = batch;
        let make = |v: Vec<f64>| {
            Tensor::from_vec(v, shape.as_slice(), like.device())?.to_dtype(like.dtype())
        };
        Ok((make(sqrt_ab)?, make(sqrt_1m_ab)?))
    }
}

/// x₀ from a model output at one noise level ᾱ (the scalar form the samplers use).
pub fn x0_from_output(
    sample: &Tensor,
    model_output: &Tensor,
    alpha_bar: f64,
    prediction: Prediction,
) -> Result<Tensor> {
    let (sqrt_ab, sqrt_1m_ab) = (alpha_bar.sqrt(), (1.0 - alpha_bar).sqrt());
    match prediction {
        Prediction::Epsilon => {
            (sample - model_output.affine(sqrt_1m_ab, 0.0)?)?.affine(1.0 / sqrt_ab, 0.0)
        }
        Prediction::V => sample.affine(sqrt_ab, 0.0)? - model_output.affine(sqrt_1m_ab, 0.0)?,
        Prediction::Sample => Ok(model_output.clone()),
    }
}

/// ε from a model output at one noise level ᾱ (the scalar form the samplers use).
pub fn eps_from_output(
    sample: &Tensor,
    model_output: &Tensor,
    alpha_bar: f64,
    prediction: Prediction,
) -> Result<Tensor> {
    match prediction {
        Prediction::Epsilon => Ok(model_output.clone()),
        Prediction::V => {
            model_output.affine(alpha_bar.sqrt(), 0.0)?
                + sample.affine((1.0 - alpha_bar).sqrt(), 0.0)?
        }
        Prediction::Sample => (sample - model_output.affine(alpha_bar.sqrt(), 0.0)?)?
            .affine(1.0 / (1.0 - alpha_bar).sqrt(), 0.0),
    }
}

/// `n` evenly spaced values from `start` to `end` inclusive (`torch.linspace`).
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (end - start) / (n - 1) as f64;
    (0..n)
        .map(|i| {
            if i == n - 1 {
                end
            } else {
                start + step * i as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn schedules() -> Vec<ScheduleConfig> {
        vec![
            ScheduleConfig::default(),
            ScheduleConfig::latent_diffusion(Prediction::Epsilon),
            ScheduleConfig::cosine(1000, Prediction::V),
            ScheduleConfig::cosine(50, Prediction::Epsilon),
        ]
    }

    #[test]
    fn betas_monotone_and_alpha_bar_strictly_decreasing_in_unit_interval() {
        for config in schedules() {
            let s = NoiseSchedule::new(&config).unwrap();
            assert_eq!(s.betas().len(), config.num_train_timesteps);
            for w in s.betas().windows(2) {
                assert!(w[1] >= w[0], "{config:?}: betas not monotone");
            }
            let ab = s.alphas_cumprod();
            assert!(ab.iter().all(|a| *a > 0.0 && *a < 1.0), "{config:?}");
            for w in ab.windows(2) {
                assert!(w[1] < w[0], "{config:?}: alpha bar not decreasing");
            }
        }
    }

    #[test]
    fn scaled_linear_endpoints() {
        let s = NoiseSchedule::new(&ScheduleConfig::latent_diffusion(Prediction::Epsilon)).unwrap();
        assert!((s.betas()[0] - 0.00085).abs() < 1e-15);
        assert!((s.betas()[999] - 0.012).abs() < 1e-15);
        // Midpoint is the square of the mean square root, below the arithmetic mean.
        let mid = ((0.00085f64.sqrt() + 0.012f64.sqrt()) / 2.0).powi(2);
        let s3 = NoiseSchedule::new(&ScheduleConfig {
            num_train_timesteps: 3,
            ..ScheduleConfig::latent_diffusion(Prediction::Epsilon)
        })
        .unwrap();
        assert!((s3.betas()[1] - mid).abs() < 1e-15);
    }

    #[test]
    fn cosine_alpha_bar_matches_closed_form() {
        let n = 1000;
        let s = NoiseSchedule::new(&ScheduleConfig::cosine(n, Prediction::Epsilon)).unwrap();
        let f = |t: f64| {
            ((t / n as f64 + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
                .cos()
                .powi(2)
        };
        // ᾱ_t = f(t + 1) / f(0) wherever the 0.999 cap did not bite (all but the last step).
        for t in 0..n - 1 {
            let closed = f((t + 1) as f64) / f(0.0);
            let got = s.alphas_cumprod()[t];
            assert!(
                (got - closed).abs() <= 1e-12 * closed.max(1e-300) + 1e-15,
                "t={t}"
            );
        }
        assert_eq!(s.betas()[n - 1], COSINE_MAX_BETA);
        let last = s.alphas_cumprod()[n - 2] * (1.0 - COSINE_MAX_BETA);
        assert!((s.alphas_cumprod()[n - 1] - last).abs() < 1e-18);
    }

    #[test]
    fn tiny_linear_schedule_by_hand() {
        let s = NoiseSchedule::new(&ScheduleConfig {
            num_train_timesteps: 4,
            beta_start: 0.1,
            beta_end: 0.4,
            ..ScheduleConfig::default()
        })
        .unwrap();
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(s.betas(), &[0.1, 0.2, 0.3, 0.4]));
        assert!(close(s.alphas(), &[0.9, 0.8, 0.7, 0.6]));
        assert!(close(s.alphas_cumprod(), &[0.9, 0.72, 0.504, 0.3024]));
        // σ_1 = √(0.28 / 0.72); halfway between t=1 and t=2 interpolates linearly.
        let s1 = (0.28f64 / 0.72).sqrt();
        let s2 = (0.496f64 / 0.504).sqrt();
        assert!((s.interpolated_sigma(1.0) - s1).abs() < 1e-12);
        assert!((s.interpolated_sigma(1.5) - (s1 + s2) / 2.0).abs() < 1e-12);
        assert!((s.interpolated_sigma(7.0) - s.sigmas()[3]).abs() < 1e-12);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let bad = ScheduleConfig {
            beta_end: 1.5,
            ..ScheduleConfig::default()
        };
        assert!(NoiseSchedule::new(&bad).is_err());
        let empty = ScheduleConfig {
            num_train_timesteps: 0,
            ..ScheduleConfig::default()
        };
        assert!(NoiseSchedule::new(&empty).is_err());
    }

    #[test]
    fn add_noise_uses_each_samples_own_alpha_bar() {
        let dev = Device::Cpu;
        let s = NoiseSchedule::new(&ScheduleConfig::default()).unwrap();
        let ts = Tensor::new(&[0u32, 500, 999], &dev).unwrap();
        let ones = Tensor::ones((3, 2, 2, 2), DType::F32, &dev).unwrap();
        let zeros = ones.zeros_like().unwrap();
        let signal = s.add_noise(&ones, &zeros, &ts).unwrap();
        let noise = s.add_noise(&zeros, &ones, &ts).unwrap();
        for (b, t) in [0usize, 500, 999].into_iter().enumerate() {
            let a = s.alphas_cumprod()[t];
            let sig: Vec<f32> = signal
                .get(b)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let noi: Vec<f32> = noise
                .get(b)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert!(sig.iter().all(|v| (*v as f64 - a.sqrt()).abs() < 1e-6));
            assert!(
                noi.iter()
                    .all(|v| (*v as f64 - (1.0 - a).sqrt()).abs() < 1e-6)
            );
        }
        // A timestep past the end and a wrongly sized timestep tensor are errors.
        let past = Tensor::new(&[0u32, 1, 1000], &dev).unwrap();
        assert!(s.add_noise(&ones, &zeros, &past).is_err());
        let short = Tensor::new(&[0u32, 1], &dev).unwrap();
        assert!(s.add_noise(&ones, &zeros, &short).is_err());
    }

    #[test]
    fn predict_x0_inverts_add_noise_for_both_targets() {
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for config in schedules() {
            let s = NoiseSchedule::new(&config).unwrap();
            let batch = 6;
            let x0 = crate::ops::randn(&mut rng, (batch, 3, 4), &dev).unwrap();
            let noise = crate::ops::randn(&mut rng, (batch, 3, 4), &dev).unwrap();
            let t = s.sample_timesteps(batch, &mut rng, &dev).unwrap();
            let xt = s.add_noise(&x0, &noise, &t).unwrap();

            let v = s.target(&x0, &noise, &t, Prediction::V).unwrap();
            let back = s.predict_x0(&xt, &v, &t, Prediction::V).unwrap();
            assert!(
                crate::ops::max_abs_diff(&back, &x0).unwrap() < 1e-5,
                "{config:?}"
            );
            let eps = s.predict_epsilon(&xt, &v, &t, Prediction::V).unwrap();
            assert!(
                crate::ops::max_abs_diff(&eps, &noise).unwrap() < 1e-5,
                "{config:?}"
            );

            // Epsilon inversion divides by √ᾱ, so keep to timesteps where that is well
            // conditioned in f32.
            let last = (s.num_train_timesteps() - 1) as u32;
            let t_mid: Vec<u32> = [0u32, 10, 100, 300, 500, 700]
                .iter()
                .map(|t| (*t).min(last * 7 / 10))
                .collect();
            let t_mid = Tensor::new(t_mid.as_slice(), &dev).unwrap();
            let xt = s.add_noise(&x0, &noise, &t_mid).unwrap();
            let e = s.target(&x0, &noise, &t_mid, Prediction::Epsilon).unwrap();
            assert_eq!(crate::ops::max_abs_diff(&e, &noise).unwrap(), 0.0);
            let back = s.predict_x0(&xt, &e, &t_mid, Prediction::Epsilon).unwrap();
            assert!(
                crate::ops::max_abs_diff(&back, &x0).unwrap() < 1e-5,
                "{config:?}"
            );
        }
    }

    #[test]
    fn scalar_conversions_agree_with_per_sample_ones() {
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = NoiseSchedule::new(&ScheduleConfig::default()).unwrap();
        let x = crate::ops::randn(&mut rng, (1, 5), &dev).unwrap();
        let out = crate::ops::randn(&mut rng, (1, 5), &dev).unwrap();
        let t = Tensor::new(&[321u32], &dev).unwrap();
        let a = s.alphas_cumprod()[321];
        for p in [Prediction::Epsilon, Prediction::V, Prediction::Sample] {
            let per = s.predict_x0(&x, &out, &t, p).unwrap();
            let scalar = x0_from_output(&x, &out, a, p).unwrap();
            assert!(crate::ops::max_abs_diff(&per, &scalar).unwrap() < 1e-6);
            let per = s.predict_epsilon(&x, &out, &t, p).unwrap();
            let scalar = eps_from_output(&x, &out, a, p).unwrap();
            assert!(crate::ops::max_abs_diff(&per, &scalar).unwrap() < 1e-6);
        }
    }

    #[test]
    fn timesteps_towards_noise_lean_to_the_noisy_end() {
        let dev = Device::Cpu;
        let s = NoiseSchedule::new(&ScheduleConfig::cosine(1000, Prediction::Sample)).unwrap();
        let draw = |power| {
            s.sample_timesteps_towards_noise(20_000, power, &mut ChaCha8Rng::seed_from_u64(3), &dev)
                .unwrap()
                .to_vec1::<u32>()
                .unwrap()
        };
        let share_noisiest = |values: &[u32]| {
            values.iter().filter(|&&t| t >= 900).count() as f64 / values.len() as f64
        };
        let (uniform, leaning) = (draw(1.0), draw(2.0));
        assert!(uniform.iter().chain(&leaning).all(|&t| t < 1000));
        assert!((share_noisiest(&uniform) - 0.1).abs() < 0.01);
        // P(t ≥ 900) = P(u² < 0.1) = √0.1 ≈ 0.316.
        assert!((share_noisiest(&leaning) - 0.316).abs() < 0.015);
        assert!(
            s.sample_timesteps_towards_noise(1, 0.0, &mut ChaCha8Rng::seed_from_u64(3), &dev)
                .is_err()
        );
    }

    #[test]
    fn sample_timesteps_is_seeded_and_in_range() {
        let dev = Device::Cpu;
        let s = NoiseSchedule::new(&ScheduleConfig::cosine(20, Prediction::V)).unwrap();
        let a = s
            .sample_timesteps(4096, &mut ChaCha8Rng::seed_from_u64(5), &dev)
            .unwrap();
        let b = s
            .sample_timesteps(4096, &mut ChaCha8Rng::seed_from_u64(5), &dev)
            .unwrap();
        assert_eq!(a.dtype(), DType::U32);
        let (a, b): (Vec<u32>, Vec<u32>) = (a.to_vec1().unwrap(), b.to_vec1().unwrap());
        assert_eq!(a, b);
        assert!(a.iter().all(|t| *t < 20));
        // Every timestep is drawn (uniform over 20 values, 4096 draws).
        let mut seen = [false; 20];
        a.iter().for_each(|t| seen[*t as usize] = true);
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = ScheduleConfig::cosine(100, Prediction::V);
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"beta-schedule\":\"cosine\""), "{json}");
        assert_eq!(serde_json::from_str::<ScheduleConfig>(&json).unwrap(), c);
        let partial: ScheduleConfig =
            serde_json::from_str(r#"{"beta-schedule":"squaredcos_cap_v2"}"#).unwrap();
        assert_eq!(partial.beta_schedule, BetaSchedule::Cosine);
        assert_eq!(partial.num_train_timesteps, 1000);
    }
}
