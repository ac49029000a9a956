//! The keyframe tokenizer at its micro size: every weight learns, shapes hold, and a few
//! hundred steps fit a couple of keyframes.

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use moviedreamer_models::tokenizer::{KeyframeTokenizer, TokenizerConfig};
use moviedreamer_nn::diffusion::{Prediction, ScheduleConfig};
use moviedreamer_nn::grad_check::{GradProblem, assert_full_coverage, gradient_problems};
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::ops::{max_abs_diff, randn};
use moviedreamer_nn::optim::{AdamW, AdamWConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn tokenizer_with(config: &TokenizerConfig) -> (VarMap, KeyframeTokenizer) {
    let varmap = VarMap::new();
    let model = KeyframeTokenizer::new(config, seeded_var_builder(&varmap, 7)).unwrap();
    (varmap, model)
}

fn tokenizer() -> (VarMap, KeyframeTokenizer) {
    tokenizer_with(&TokenizerConfig::micro())
}

/// Two simple 32 px pictures: a red square on blue, and a green stripe on black.
fn keyframes() -> Tensor {
    let mut values = vec![0f32; 2 * 3 * 32 * 32];
    for y in 0..32 {
        for x in 0..32 {
            let at = |image: usize, channel: usize| image * 3072 + channel * 1024 + y * 32 + x;
            let square = (8..24).contains(&x) && (8..24).contains(&y);
            values[at(0, 0)] = if square { 1.0 } else { -1.0 };
            values[at(0, 2)] = if square { -1.0 } else { 1.0 };
            values[at(0, 1)] = -1.0;
            values[at(1, 1)] = if (12..20).contains(&y) { 1.0 } else { -1.0 };
            values[at(1, 0)] = -1.0;
            values[at(1, 2)] = -1.0;
        }
    }
    Tensor::from_vec(values, (2, 3, 32, 32), &Device::Cpu).unwrap()
}

/// The training loss of eight random 32 px keyframes in [-1, 1], seeded.
fn loss_on_random_keyframes(model: &KeyframeTokenizer) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let images = randn(&mut rng, (8, 3, 32, 32), &Device::Cpu)
        .unwrap()
        .tanh()
        .unwrap();
    model.training_loss(&images, &mut rng).unwrap()
}

#[test]
fn every_weight_gets_a_gradient() {
    // Half the samples lose their tokens, so both the tokens' path and the null tokens
    // take part in the loss.
    let config = TokenizerConfig {
        token_dropout: 0.5,
        ..TokenizerConfig::micro()
    };
    let (varmap, model) = tokenizer_with(&config);
    let loss = loss_on_random_keyframes(&model);
    assert_full_coverage(&varmap, &loss);
}

#[test]
fn in_latent_space_with_grid_tokens_the_autoencoder_stays_frozen_and_the_rest_learns() {
    let config = TokenizerConfig {
        token_dropout: 0.5,
        ..TokenizerConfig::micro_latent()
    };
    let (varmap, model) = tokenizer_with(&config);
    let loss = loss_on_random_keyframes(&model);
    let problems = gradient_problems(&varmap, &loss).unwrap();
    assert!(!problems.is_empty());
    for (name, problem) in &problems {
        assert!(
            name.starts_with("autoencoder.") && *problem == GradProblem::Missing,
            "{name}: {problem:?}"
        );
    }
    let autoencoder = varmap
        .data()
        .lock()
        .unwrap()
        .keys()
        .filter(|name| name.starts_with("autoencoder."))
        .count();
    assert_eq!(
        problems.len(),
        autoencoder,
        "every autoencoder weight is frozen"
    );

    // A 2 × 2 grid of tokens from the latent, keyframes back in pixels.
    let tokens = model.encode(&keyframes(), false).unwrap();
    assert_eq!(tokens.dims(), &[2, 4, 8]);
    let decoded = model
        .decode(&tokens, 3, 1.0, &mut ChaCha8Rng::seed_from_u64(5))
        .unwrap();
    assert_eq!(decoded.dims(), &[2, 3, 32, 32]);
}

#[test]
fn grid_tokens_that_do_not_tile_the_canvas_are_refused_with_the_sizes_that_would() {
    for tokens in [2, 9, 256] {
        let config = TokenizerConfig {
            tokens,
            ..TokenizerConfig::micro_latent()
        };
        let error = KeyframeTokenizer::new(&config, seeded_var_builder(&VarMap::new(), 0))
            .unwrap_err()
            .to_string();
        assert!(error.contains("K = 1, 4, 16"), "{tokens}: {error}");
    }
    let velocity = TokenizerConfig {
        schedule: ScheduleConfig::cosine(1000, Prediction::V),
        ..TokenizerConfig::micro_latent()
    };
    let error = KeyframeTokenizer::new(&velocity, seeded_var_builder(&VarMap::new(), 0))
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"sample\""), "{error}");
}

#[test]
fn shapes_and_seeded_sampling() {
    let (_, model) = tokenizer();
    let images = keyframes();
    let tokens = model.encode(&images, false).unwrap();
    assert_eq!(tokens.dims(), &[2, 2, 8]);
    let a = model
        .decode(&tokens, 4, 2.0, &mut ChaCha8Rng::seed_from_u64(5))
        .unwrap();
    let b = model
        .decode(&tokens, 4, 2.0, &mut ChaCha8Rng::seed_from_u64(5))
        .unwrap();
    assert_eq!(a.dims(), &[2, 3, 32, 32]);
    assert_eq!(max_abs_diff(&a, &b).unwrap(), 0.0);
    let range = a
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(range <= 1.0);
}

#[test]
fn training_reduces_the_loss() {
    let (varmap, model) = tokenizer();
    let mut optimizer = AdamW::new(&varmap, AdamWConfig::default()).unwrap();
    let images = keyframes();
    // The same noise and timesteps before and after, so the two losses compare.
    let held_out = |model: &KeyframeTokenizer| {
        let mut fixed = ChaCha8Rng::seed_from_u64(99);
        let losses: Vec<f32> = (0..8)
            .map(|_| {
                model
                    .training_loss(&images, &mut fixed)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            })
            .collect();
        losses.iter().sum::<f32>() / losses.len() as f32
    };
    let before = held_out(&model);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..200 {
        let loss = model.training_loss(&images, &mut rng).unwrap();
        optimizer.step(&loss.backward().unwrap(), 3e-3).unwrap();
    }
    let after = held_out(&model);
    // Two keyframes are easy to memorise: the decoder should predict them almost exactly
    // (measured: from 1.03 to 0.02).
    assert!(after < 0.2 * before, "loss went from {before} to {after}");
}
