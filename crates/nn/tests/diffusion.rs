//! End-to-end checks of the samplers against models whose exact answer is known.
//!
//! - An "oracle" that knows the one clean sample x₀ returns the true ε (or v) for whatever
//!   noisy input it is given; every deterministic sampler must then land on x₀.
//! - For Gaussian data x₀ ~ N(0, s²) the ideal denoiser is linear and the probability-flow ODE
//!   has a closed-form solution, so the samplers' integration error can be measured: the
//!   second-order DPM-Solver++ must beat the first-order DDIM and converge faster with steps.

// Inside a module named after the feature so that `cargo test diffusion` selects these too.
mod diffusion {
    use candle_core::{Device, Result, Tensor};
    use moviedreamer_nn::diffusion::{
        Ddim, DdimConfig, Ddpm, DdpmConfig, DpmSolverConfig, DpmSolverMultistep, EulerConfig,
        EulerDiscrete, FinalSigmas, NoiseSchedule, Prediction, Sampler, ScheduleConfig,
        TimestepSpacing, run_sampler,
    };
    use moviedreamer_nn::ops::{max_abs_diff, randn};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// ᾱ at a (possibly fractional) model timestep, through the same σ interpolation the Euler
    /// sampler uses; exact ᾱ_t at whole timesteps.
    fn alpha_bar_at(schedule: &NoiseSchedule, t: f64) -> f64 {
        let sigma = schedule.interpolated_sigma(t);
        1.0 / (1.0 + sigma * sigma)
    }

    /// The model output that a perfect denoiser gives when the clean sample is `x0`:
    /// the ε (or v) that explains `x_t` exactly.
    fn oracle(
        schedule: &NoiseSchedule,
        prediction: Prediction,
        x0: &Tensor,
        x_t: &Tensor,
        t: f64,
    ) -> Result<Tensor> {
        let ab = alpha_bar_at(schedule, t);
        let eps = (x_t - x0.affine(ab.sqrt(), 0.0)?)?.affine(1.0 / (1.0 - ab).sqrt(), 0.0)?;
        match prediction {
            Prediction::Epsilon => Ok(eps),
            Prediction::V => eps.affine(ab.sqrt(), 0.0)? - x0.affine((1.0 - ab).sqrt(), 0.0)?,
            Prediction::Sample => Ok(x0.clone()),
        }
    }

    /// The ideal denoiser's output for data x₀ ~ N(0, s²): E[x₀ | x_t] = x_t·√ᾱ·s²/(ᾱs² + 1 − ᾱ).
    fn gaussian_model(
        schedule: &NoiseSchedule,
        prediction: Prediction,
        s: f64,
        x_t: &Tensor,
        t: f64,
    ) -> Result<Tensor> {
        let ab = alpha_bar_at(schedule, t);
        let x0 = x_t.affine(ab.sqrt() * s * s / (ab * s * s + 1.0 - ab), 0.0)?;
        oracle(schedule, prediction, &x0, x_t, t)
    }

    fn test_data(seed: u64) -> (Tensor, Tensor) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x0 = randn(&mut rng, (2, 3, 4, 4), &Device::Cpu).unwrap();
        let x0 = x0.affine(0.5, 0.0).unwrap();
        let noise = randn(&mut rng, (2, 3, 4, 4), &Device::Cpu).unwrap();
        (x0, noise)
    }

    fn schedules() -> Vec<ScheduleConfig> {
        let mut out = Vec::new();
        for prediction in [Prediction::Epsilon, Prediction::V, Prediction::Sample] {
            out.push(ScheduleConfig {
                prediction,
                ..ScheduleConfig::default()
            });
            out.push(ScheduleConfig::latent_diffusion(prediction));
            out.push(ScheduleConfig::cosine(1000, prediction));
        }
        out
    }

    fn spacings() -> Vec<(TimestepSpacing, usize)> {
        vec![
            (TimestepSpacing::Leading, 1),
            (TimestepSpacing::Trailing, 0),
            (TimestepSpacing::Linspace, 0),
        ]
    }

    /// Runs `sampler` from `noise` with the oracle for `x0` and returns the max error.
    fn oracle_error<S: Sampler>(
        sampler: &mut S,
        config: &ScheduleConfig,
        x0: &Tensor,
        noise: &Tensor,
    ) -> f32 {
        let schedule = NoiseSchedule::new(config).unwrap();
        let out = run_sampler(sampler, noise, |x, t| {
            oracle(&schedule, config.prediction, x0, x, t)
        })
        .unwrap();
        max_abs_diff(&out, x0).unwrap()
    }

    #[test]
    fn ddim_with_an_oracle_recovers_x0() {
        let (x0, noise) = test_data(1);
        for config in schedules() {
            for (spacing, offset) in spacings() {
                let ddim_config = DdimConfig {
                    timestep_spacing: spacing,
                    steps_offset: offset,
                    ..DdimConfig::default()
                };
                let mut s = Ddim::new(&config, 10, ddim_config).unwrap();
                let err = oracle_error(&mut s, &config, &x0, &noise);
                assert!(err < 1e-3, "{config:?} {spacing:?}: {err}");
            }
        }
    }

    #[test]
    fn euler_with_an_oracle_recovers_x0() {
        let (x0, noise) = test_data(2);
        for config in schedules() {
            for (spacing, offset) in spacings() {
                for steps in [7, 10] {
                    let euler_config = EulerConfig {
                        timestep_spacing: spacing,
                        steps_offset: offset,
                    };
                    let mut s = EulerDiscrete::new(&config, steps, euler_config).unwrap();
                    let err = oracle_error(&mut s, &config, &x0, &noise);
                    assert!(err < 1e-3, "{config:?} {spacing:?} {steps}: {err}");
                }
            }
        }
    }

    #[test]
    fn dpm_solver_with_an_oracle_recovers_x0() {
        let (x0, noise) = test_data(3);
        for config in schedules() {
            for (spacing, offset) in spacings() {
                for steps in [10, 20] {
                    let dpm_config = DpmSolverConfig {
                        timestep_spacing: spacing,
                        steps_offset: offset,
                        ..DpmSolverConfig::default()
                    };
                    let mut s = DpmSolverMultistep::new(&config, steps, dpm_config).unwrap();
                    let err = oracle_error(&mut s, &config, &x0, &noise);
                    assert!(err < 1e-3, "{config:?} {spacing:?} {steps}: {err}");
                    // A second loop on the same sampler starts from a clean history.
                    let again = oracle_error(&mut s, &config, &x0, &noise);
                    assert_eq!(err, again);
                }
            }
        }
    }

    #[test]
    fn ddpm_with_an_oracle_lands_on_x0() {
        let (x0, noise) = test_data(4);
        for config in schedules() {
            let rng = ChaCha8Rng::seed_from_u64(9);
            let mut s = Ddpm::new(&config, 50, DdpmConfig::default(), rng).unwrap();
            let err = oracle_error(&mut s, &config, &x0, &noise);
            assert!(err < 1e-3, "{config:?}: {err}");
        }
    }

    #[test]
    fn ddpm_is_deterministic_given_its_rng() {
        let (_, noise) = test_data(5);
        let config = ScheduleConfig::default();
        let schedule = NoiseSchedule::new(&config).unwrap();
        // An imperfect model, so the injected noise shows in the result.
        let run = |seed: u64| {
            let rng = ChaCha8Rng::seed_from_u64(seed);
            let mut s = Ddpm::new(&config, 20, DdpmConfig::default(), rng).unwrap();
            run_sampler(&mut s, &noise, |x, t| {
                gaussian_model(&schedule, config.prediction, 0.5, x, t)?.affine(0.9, 0.0)
            })
            .unwrap()
        };
        let a = run(42);
        let b = run(42);
        let c = run(43);
        assert_eq!(max_abs_diff(&a, &b).unwrap(), 0.0);
        assert!(max_abs_diff(&a, &c).unwrap() > 1e-3);
    }

    /// Relative error of a sampler against the exact probability-flow ODE solution for Gaussian
    /// data x₀ ~ N(0, s²). In σ-space (x̃ = x/√ᾱ) the ODE is dx̃/dσ = σx̃/(s² + σ²), so
    /// x̃(σ) = x̃(σ₀)·√(s² + σ²)/√(s² + σ₀²). `start_scale` turns the unit noise into x̃(σ₀)
    /// (the ᾱ-space samplers start from x = noise, so x̃ = noise/√ᾱ; Euler starts in σ-space) and
    /// the result, in ᾱ-space, is compared with √ᾱ_end·x̃(σ_end).
    fn gaussian_ode_error<S: Sampler>(
        sampler: &mut S,
        config: &ScheduleConfig,
        (sigma_start, sigma_end): (f64, f64),
        start_scale: f64,
        noise: &Tensor,
    ) -> f64 {
        let s = 1.0;
        let schedule = NoiseSchedule::new(config).unwrap();
        let out = run_sampler(sampler, noise, |x, t| {
            gaussian_model(&schedule, config.prediction, s, x, t)
        })
        .unwrap();
        let alpha_end = 1.0 / (1.0 + sigma_end * sigma_end).sqrt();
        let gain = ((s * s + sigma_end * sigma_end) / (s * s + sigma_start * sigma_start)).sqrt();
        let exact = noise.affine(start_scale * gain * alpha_end, 0.0).unwrap();
        let err = max_abs_diff(&out, &exact).unwrap() as f64;
        let scale = exact
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        err / scale
    }

    #[test]
    fn second_order_dpm_solver_converges_faster_than_first_order_ddim() {
        let (_, noise) = test_data(6);
        for prediction in [Prediction::Epsilon, Prediction::V, Prediction::Sample] {
            let config = ScheduleConfig::latent_diffusion(prediction);
            let schedule = NoiseSchedule::new(&config).unwrap();
            let sigmas = schedule.sigmas();
            let (sigma_max, sigma_min) = (sigmas[999], sigmas[0]);
            let start = (1.0 + sigma_max * sigma_max).sqrt(); // x̃ = x / √ᾱ
            let trailing = TimestepSpacing::Trailing;

            // Both integrate from σ_max down to σ_min (DDIM with set_alpha_to_one = false,
            // DPM-Solver++ with final_sigmas_type = sigma_min and no first-order final step), so
            // the only error is the solver's.
            let ddim_err = |steps: usize| {
                let mut ddim = Ddim::new(
                    &config,
                    steps,
                    DdimConfig {
                        timestep_spacing: trailing,
                        set_alpha_to_one: false,
                        ..DdimConfig::default()
                    },
                )
                .unwrap();
                gaussian_ode_error(&mut ddim, &config, (sigma_max, sigma_min), start, &noise)
            };
            let dpm_err = |steps: usize| {
                let mut dpm = DpmSolverMultistep::new(
                    &config,
                    steps,
                    DpmSolverConfig {
                        timestep_spacing: trailing,
                        final_sigmas_type: FinalSigmas::SigmaMin,
                        lower_order_final: false,
                        ..DpmSolverConfig::default()
                    },
                )
                .unwrap();
                gaussian_ode_error(&mut dpm, &config, (sigma_max, sigma_min), start, &noise)
            };
            // At high noise x̂₀ grows like e^λ, which a short grid resolves poorly, so the
            // asymptotic orders only show from a few dozen steps on.
            let (d50, d200) = (ddim_err(50), ddim_err(200));
            let (p50, p200) = (dpm_err(50), dpm_err(200));
            eprintln!(
                "{prediction:?}: ddim {d50:.2e} -> {d200:.2e}, dpm++2m {p50:.2e} -> {p200:.2e}"
            );
            assert!(
                p50 < d50 && p200 < d200 / 3.0,
                "dpm {p50}, {p200} vs ddim {d50}, {d200}"
            );
            // Four times the steps: first order gains about 4x, second order about 10x here
            // (16x in the limit).
            assert!(d50 / d200 > 3.0 && d50 / d200 < 5.0, "ddim {d50} -> {d200}");
            assert!(p50 / p200 > 7.0, "dpm {p50} -> {p200}");

            // Euler and the default (zero-final) DPM-Solver++ end at σ = 0 with a first-order
            // jump; they still converge.
            let euler_err = |steps: usize| {
                let mut euler = EulerDiscrete::new(
                    &config,
                    steps,
                    EulerConfig {
                        timestep_spacing: trailing,
                        steps_offset: 0,
                    },
                )
                .unwrap();
                gaussian_ode_error(&mut euler, &config, (sigma_max, 0.0), sigma_max, &noise)
            };
            let (e10, e40) = (euler_err(10), euler_err(40));
            eprintln!("{prediction:?}: euler {e10:.2e} -> {e40:.2e}");
            assert!(e40 < e10 / 2.5, "euler {e10} -> {e40}");
        }
    }

    #[test]
    fn model_inputs_are_the_alpha_bar_space_sample() {
        // Euler works in σ-space but must hand the model x_t in ᾱ-space: √ᾱ · x̃.
        let config = ScheduleConfig::default();
        let euler = EulerDiscrete::new(&config, 10, EulerConfig::default()).unwrap();
        let x = Tensor::new(&[2.0f32, -4.0], &Device::Cpu).unwrap();
        let sigma = euler.sigmas()[3];
        let scaled: Vec<f32> = euler.scale_model_input(&x, 3).unwrap().to_vec1().unwrap();
        let ab = 1.0 / (1.0 + sigma * sigma);
        assert!((scaled[0] as f64 - 2.0 * ab.sqrt()).abs() < 1e-6);
        assert!(euler.scale_model_input(&x, 10).is_err());
    }
}
