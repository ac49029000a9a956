//! Parity with the reference implementations: PyTorch for the layers, HuggingFace diffusers
//! for the samplers.
//!
//! The fixtures under `tests/fixtures/` were written by `scripts/parity/make_fixtures.py`
//! (see `scripts/parity/README.md`; CI only reads them). Each holds a case description as
//! JSON metadata, the reference module's weights under our variables' names, its inputs
//! (`input.*`) and outputs (`output.*`); or, for a sampler, its config, timesteps, σ grid and
//! every intermediate sample of a ten-step loop driven by a deterministic fake model. Every
//! comparison must agree to 1e-4 (max absolute difference).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use moviedreamer_nn::checkpoint::{assign, load_tensors, named_vars};
use moviedreamer_nn::diffusion::{
    Ddim, DdimConfig, DpmSolverConfig, DpmSolverMultistep, EulerConfig, EulerDiscrete, Sampler,
    ScheduleConfig,
};
use moviedreamer_nn::layers::{
    Attention, AttentionConfig, DitBlock, DitBlockConfig, Rope, causal_mask,
};
use moviedreamer_nn::ops::max_abs_diff;
use serde_json::Value;

/// The agreement every comparison must reach.
const TOLERANCE: f32 = 1e-4;

/// One fixture file: its tensors and its case description.
struct Fixture {
    path: PathBuf,
    tensors: BTreeMap<String, Tensor>,
    case: Value,
}

impl Fixture {
    fn load(name: &str) -> Fixture {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("{name}.safetensors"));
        let tensors = load_tensors(&path).unwrap_or_else(|e| panic!("{e}"));
        let bytes = std::fs::read(&path).unwrap();
        let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let case = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get("case"))
            .unwrap_or_else(|| panic!("{}: no \"case\" metadata", path.display()));
        let case = serde_json::from_str(case).unwrap();
        Fixture {
            path,
            tensors,
            case,
        }
    }

    fn tensor(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor {name}", self.path.display()))
    }

    /// The layer's weights: every tensor that is not an input or an output.
    fn weights(&self) -> BTreeMap<String, Tensor> {
        self.tensors
            .iter()
            .filter(|(name, _)| !name.starts_with("input.") && !name.starts_with("output."))
            .map(|(name, t)| (name.clone(), t.clone()))
            .collect()
    }

    /// Sets the variables of a freshly built layer from the fixture's weights; the names and
    /// shapes must match exactly.
    fn assign_to(&self, varmap: &VarMap) {
        assign(&self.path, &self.weights(), &named_vars(varmap)).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn vb(varmap: &VarMap) -> VarBuilder<'_> {
    VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu)
}

fn check(what: &str, ours: &Tensor, reference: &Tensor) -> f32 {
    assert_eq!(ours.dims(), reference.dims(), "{what}: shapes differ");
    let diff = max_abs_diff(ours, reference).unwrap();
    println!("{what}: max |diff| = {diff:.3e}");
    assert!(
        diff <= TOLERANCE,
        "{what}: max |diff| = {diff:e} > {TOLERANCE:e}"
    );
    diff
}

// ------------------------------------------------------------------------------------------
// Layers
// ------------------------------------------------------------------------------------------

fn attention_case(name: &str) {
    let fx = Fixture::load(name);
    let cfg: AttentionConfig = serde_json::from_value(fx.case["config"].clone()).unwrap();
    let varmap = VarMap::new();
    let attention = Attention::new(&cfg, vb(&varmap)).unwrap();
    fx.assign_to(&varmap);

    let x = fx.tensor("input.x");
    let context = fx.tensors.get("input.context");
    let mask = match fx.case["causal"].as_bool().unwrap() {
        true => Some(causal_mask(x.dim(1).unwrap(), &Device::Cpu).unwrap()),
        false => None,
    };
    let rope = match &fx.case["rope"] {
        Value::Null => None,
        r => {
            let head_dim = cfg.dim / cfg.heads;
            let max_positions = r["max_positions"].as_u64().unwrap() as usize;
            let theta = r["theta"].as_f64().unwrap();
            let offset = r["offset"].as_u64().unwrap() as usize;
            let rope = Rope::new(head_dim, max_positions, theta, &Device::Cpu).unwrap();
            Some((rope, offset))
        }
    };
    if let Some((rope, offset)) = &rope {
        for train in [false, true] {
            let y = rope
                .apply(fx.tensor("input.rope_x"), *offset, train)
                .unwrap();
            check(
                &format!("{name}: rope alone (train={train})"),
                &y,
                fx.tensor("output.rope_y"),
            );
        }
    }
    for train in [false, true] {
        let y = attention
            .forward(
                x,
                context,
                mask.as_ref(),
                rope.as_ref().map(|(r, o)| (r, *o)),
                train,
            )
            .unwrap();
        check(
            &format!("{name} (train={train})"),
            &y,
            fx.tensor("output.y"),
        );
    }
}

#[test]
fn self_attention_with_gqa_rope_and_causal_mask_matches_torch() {
    attention_case("attention_self_gqa_rope_causal");
}

#[test]
fn cross_attention_with_bias_matches_torch_multihead_attention() {
    attention_case("attention_cross_bias");
}

fn dit_case(name: &str) {
    let fx = Fixture::load(name);
    let cfg: DitBlockConfig = serde_json::from_value(fx.case["config"].clone()).unwrap();
    let varmap = VarMap::new();
    let block = DitBlock::new(&cfg, vb(&varmap)).unwrap();
    fx.assign_to(&varmap);
    let context = fx.tensors.get("input.context");
    assert_eq!(context.is_some(), cfg.context_dim.is_some());
    for train in [false, true] {
        let y = block
            .forward(fx.tensor("input.x"), fx.tensor("input.c"), context, train)
            .unwrap();
        check(
            &format!("{name} (train={train})"),
            &y,
            fx.tensor("output.y"),
        );
    }
}

#[test]
fn dit_block_matches_the_dit_reference() {
    dit_case("dit_block");
}

#[test]
fn dit_block_with_cross_attention_matches_the_reference() {
    dit_case("dit_block_cross");
}

// ------------------------------------------------------------------------------------------
// Samplers
// ------------------------------------------------------------------------------------------

fn from_json<T: serde::de::DeserializeOwned>(value: &Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn schedule_config(case: &Value) -> ScheduleConfig {
    let cfg = &case["config"];
    ScheduleConfig {
        num_train_timesteps: case["num_train_timesteps"].as_u64().unwrap() as usize,
        beta_start: cfg["beta_start"].as_f64().unwrap(),
        beta_end: cfg["beta_end"].as_f64().unwrap(),
        beta_schedule: from_json(&cfg["beta_schedule"]),
        prediction: from_json(&cfg["prediction_type"]),
    }
}

fn steps_offset(cfg: &Value) -> usize {
    cfg["steps_offset"].as_u64().unwrap() as usize
}

/// Runs the fixture's loop with our sampler, step by step from the reference's first sample,
/// and compares the timesteps, σ grid, initial noise scale, every model input and every
/// sample.
fn run_sampler_case(name: &str, sampler: &mut dyn Sampler, sigmas: Option<&[f64]>, fx: &Fixture) {
    // Timesteps: whole numbers, or f32 values for Euler's fractional ones; exactly equal.
    let reference: Vec<f32> = fx.tensor("timesteps").to_vec1().unwrap();
    let ours: Vec<f32> = sampler.timesteps().iter().map(|t| *t as f32).collect();
    assert_eq!(ours, reference, "{name}: timesteps");

    // σ grid and the initial noise scale (diffusers keeps them in f32; we use f64).
    if let Some(sigmas) = sigmas {
        let reference: Vec<f32> = fx.tensor("sigmas").to_vec1().unwrap();
        assert_eq!(sigmas.len(), reference.len(), "{name}: sigma count");
        for (i, (ours, theirs)) in sigmas.iter().zip(&reference).enumerate() {
            let diff = (ours - *theirs as f64).abs();
            assert!(
                diff <= TOLERANCE as f64 * (*theirs as f64).max(1.0),
                "{name}: sigma {i}: {ours} vs {theirs}"
            );
        }
    }
    let reference_sigma = fx.case["init_noise_sigma"].as_f64().unwrap();
    let ours_sigma = sampler.init_noise_sigma();
    assert!(
        (ours_sigma - reference_sigma).abs() <= 1e-5 * reference_sigma.max(1.0),
        "{name}: init_noise_sigma {ours_sigma} vs {reference_sigma}"
    );
    let init = fx.tensor("noise").affine(ours_sigma, 0.0).unwrap();
    let mut worst = check(
        &format!("{name}: initial sample"),
        &init,
        fx.tensor("init_sample"),
    );

    // The loop, with the fake model 0.3 · input + 0.1 · model_noise.
    let model_noise = fx.tensor("model_noise");
    let inputs = fx.tensor("model_inputs");
    let samples = fx.tensor("samples");
    let mut sample = fx.tensor("init_sample").clone();
    for i in 0..sampler.num_steps() {
        let input = sampler.scale_model_input(&sample, i).unwrap();
        let what = format!("{name}: model input {i}");
        worst = worst.max(check(&what, &input, &inputs.get(i).unwrap()));
        let output =
            (input.affine(0.3, 0.0).unwrap() + model_noise.affine(0.1, 0.0).unwrap()).unwrap();
        sample = sampler.step(&output, i, &sample).unwrap();
        let what = format!("{name}: sample after step {i}");
        worst = worst.max(check(&what, &sample, &samples.get(i).unwrap()));
    }
    assert_eq!(
        samples.dim(0).unwrap(),
        sampler.num_steps(),
        "{name}: step count"
    );
    println!("{name}: worst over the loop {worst:.3e}");
}

fn num_steps(case: &Value) -> usize {
    case["num_inference_steps"].as_u64().unwrap() as usize
}

fn ddim_case(name: &str) {
    let fx = Fixture::load(name);
    assert_eq!(fx.case["class"], "DDIMScheduler");
    let cfg = &fx.case["config"];
    let config = DdimConfig {
        timestep_spacing: from_json(&cfg["timestep_spacing"]),
        steps_offset: steps_offset(cfg),
        set_alpha_to_one: cfg["set_alpha_to_one"].as_bool().unwrap(),
        clip_sample: match cfg["clip_sample"].as_bool().unwrap() {
            true => Some(cfg["clip_sample_range"].as_f64().unwrap_or(1.0)),
            false => None,
        },
    };
    let mut ddim = Ddim::new(&schedule_config(&fx.case), num_steps(&fx.case), config).unwrap();
    run_sampler_case(name, &mut ddim, None, &fx);
}

fn euler_case(name: &str) {
    let fx = Fixture::load(name);
    assert_eq!(fx.case["class"], "EulerDiscreteScheduler");
    let cfg = &fx.case["config"];
    let config = EulerConfig {
        timestep_spacing: from_json(&cfg["timestep_spacing"]),
        steps_offset: steps_offset(cfg),
    };
    let mut euler =
        EulerDiscrete::new(&schedule_config(&fx.case), num_steps(&fx.case), config).unwrap();
    let sigmas = euler.sigmas().to_vec();
    run_sampler_case(name, &mut euler, Some(&sigmas), &fx);
}

fn dpm_case(name: &str) {
    let fx = Fixture::load(name);
    assert_eq!(fx.case["class"], "DPMSolverMultistepScheduler");
    let cfg = &fx.case["config"];
    let config = DpmSolverConfig {
        timestep_spacing: from_json(&cfg["timestep_spacing"]),
        steps_offset: steps_offset(cfg),
        lower_order_final: cfg["lower_order_final"].as_bool().unwrap(),
        euler_at_final: cfg["euler_at_final"].as_bool().unwrap(),
        final_sigmas_type: from_json(&cfg["final_sigmas_type"]),
        solver_type: from_json(&cfg["solver_type"]),
    };
    let mut dpm =
        DpmSolverMultistep::new(&schedule_config(&fx.case), num_steps(&fx.case), config).unwrap();
    let sigmas = dpm.sigmas().to_vec();
    run_sampler_case(name, &mut dpm, Some(&sigmas), &fx);
    // The sampler resets its history at step 0, so a second loop gives the same answer.
    run_sampler_case(
        &format!("{name} (second loop)"),
        &mut dpm,
        Some(&sigmas),
        &fx,
    );
}

#[test]
fn ddim_matches_diffusers_step_by_step() {
    for name in [
        "ddim_scaled_linear_eps_leading",
        "ddim_linear_v_trailing",
        "ddim_cosine_v_linspace",
        "ddim_cosine_eps_leading_clip",
    ] {
        ddim_case(name);
    }
}

#[test]
fn euler_matches_diffusers_step_by_step() {
    for name in [
        "euler_scaled_linear_eps_linspace",
        "euler_scaled_linear_v_linspace_7",
        "euler_scaled_linear_eps_trailing",
        "euler_linear_v_leading",
        "euler_cosine_eps_leading",
    ] {
        euler_case(name);
    }
}

#[test]
fn dpm_solver_pp_2m_matches_diffusers_step_by_step() {
    for name in [
        "dpm_scaled_linear_eps_linspace",
        "dpm_linear_v_trailing_heun_sigma_min",
        "dpm_cosine_v_leading",
        "dpm_scaled_linear_eps_leading_euler_final",
    ] {
        dpm_case(name);
    }
}

/// Every fixture written by `make_fixtures.py` (those with a `"case"` in their metadata) is
/// named by one of the tests above, so a regenerated set cannot silently go unchecked.
#[test]
fn every_parity_fixture_is_tested() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let source = include_str!("parity.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "safetensors") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let Ok((_, metadata)) = safetensors::SafeTensors::read_metadata(&bytes) else {
            continue;
        };
        if metadata
            .metadata()
            .as_ref()
            .is_none_or(|m| !m.contains_key("case"))
        {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            source.contains(&format!("\"{name}\"")),
            "fixture {name} has no test"
        );
    }
}
