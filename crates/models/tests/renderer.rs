//! The renderer at its micro size: every weight learns, it starts from a tokenizer's
//! decoder, a keyframe does not depend on the batch it is rendered in, and the identities
//! carry what the tokens do not.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use image::RgbImage;
use moviedreamer_models::renderer::{Renderer, RendererConfig, SlotCharacter, SlotIdentities};
use moviedreamer_models::tokenizer::{KeyframeTokenizer, TokenizerConfig};
use moviedreamer_nn::checkpoint::{named_vars, save_model};
use moviedreamer_nn::grad_check::assert_full_coverage;
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::ops::{max_abs_diff, randn};
use moviedreamer_nn::optim::{AdamW, AdamWConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const IDENTITY_DIM: usize = 4;

fn renderer_with(config: &RendererConfig) -> (VarMap, Renderer) {
    let varmap = VarMap::new();
    let model = Renderer::new(config, seeded_var_builder(&varmap, 3)).unwrap();
    (varmap, model)
}

fn micro() -> RendererConfig {
    RendererConfig::for_tokenizer(&TokenizerConfig::micro(), IDENTITY_DIM)
}

/// Character A is `[1, 0, 0, 0]`, character B `[0, 1, 0, 0]`.
fn character(which: usize) -> Vec<f32> {
    let mut e = vec![0f32; IDENTITY_DIM];
    e[which] = 1.0;
    e
}

/// A character in a slot, with no costume picture.
fn face(identity: &[f32]) -> Option<SlotCharacter<'_>> {
    Some(SlotCharacter {
        identity,
        costume: None,
    })
}

/// Two 32 px keyframes with a square on the left half: red in the first, green in the
/// second, on black.
fn two_squares() -> Tensor {
    let mut values = vec![-1f32; 2 * 3 * 32 * 32];
    for image in 0..2 {
        for y in 8..24 {
            for x in 0..16 {
                values[image * 3072 + image * 1024 + y * 32 + x] = 1.0;
            }
        }
    }
    Tensor::from_vec(values, (2, 3, 32, 32), &Device::Cpu).unwrap()
}

/// The training loss averaged over 20 draws of noise and timesteps, the same draws every
/// time, so that losses with different conditions compare.
fn mean_loss(
    model: &Renderer,
    images: &Tensor,
    tokens: &Tensor,
    identities: &SlotIdentities,
) -> f32 {
    let mut fixed = ChaCha8Rng::seed_from_u64(5);
    (0..20)
        .map(|_| {
            model
                .training_loss(images, tokens, identities, &mut fixed)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        })
        .sum::<f32>()
        / 20.0
}

#[test]
fn every_weight_gets_a_gradient() {
    // With the figures weighted, so the weighted loss is the one checked.
    let config = RendererConfig {
        identity_dropout: 0.5,
        figure_loss_weight: 2.0,
        tokenizer: TokenizerConfig {
            token_dropout: 0.5,
            ..TokenizerConfig::micro()
        },
        ..micro()
    };
    let (varmap, model) = renderer_with(&config);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let dev = Device::Cpu;
    let images = randn(&mut rng, (8, 3, 32, 32), &dev)
        .unwrap()
        .tanh()
        .unwrap();
    let tokens = randn(&mut rng, (8, 2, 8), &dev).unwrap();
    let (a, b) = (character(0), character(1));
    // Some characters come with a full-body picture, so the costume path learns too.
    let coat = RgbImage::from_pixel(12, 20, image::Rgb([200, 40, 40]));
    let dressed = Some(SlotCharacter {
        identity: &a,
        costume: Some(&coat),
    });
    let slots: Vec<_> = (0..8)
        .map(|i| match i % 3 {
            0 => [dressed, None, face(&b)],
            1 => [None, face(&b), None],
            _ => [None, None, None],
        })
        .collect();
    let identities = SlotIdentities::new(&slots, &config, &dev).unwrap();
    let loss = model
        .training_loss(&images, &tokens, &identities, &mut rng)
        .unwrap();
    assert_full_coverage(&varmap, &loss);
}

#[test]
fn it_starts_from_the_tokenizers_decoder() {
    // In pixel space and in an autoencoder's latent space, whose weights come along.
    for config in [TokenizerConfig::micro(), TokenizerConfig::micro_latent()] {
        let dir = tempfile::tempdir().unwrap();
        let tokenizer_vars = VarMap::new();
        KeyframeTokenizer::new(&config, seeded_var_builder(&tokenizer_vars, 11)).unwrap();
        save_model(dir.path(), &config, &tokenizer_vars, DType::F32).unwrap();

        let (varmap, _) = renderer_with(&RendererConfig::for_tokenizer(&config, IDENTITY_DIM));
        Renderer::init_from_tokenizer(&varmap, dir.path()).unwrap();
        let tokenizer = named_vars(&tokenizer_vars);
        let renderer = named_vars(&varmap);
        let mut shared = 0;
        for (name, var) in &renderer {
            match tokenizer.get(name) {
                Some(original) => {
                    assert_eq!(
                        max_abs_diff(var.as_tensor(), original.as_tensor()).unwrap(),
                        0.0,
                        "{name}"
                    );
                    shared += 1;
                }
                None => assert!(
                    name.starts_with("identity.")
                        || name.starts_with("costume.")
                        || name.contains(".decoupled."),
                    "{name} is neither the tokenizer's nor the identity or costume path's"
                ),
            }
        }
        let taken_over = tokenizer
            .keys()
            .filter(|n| n.starts_with("decoder.") || n.starts_with("autoencoder."))
            .count();
        assert_eq!(
            shared, taken_over,
            "every decoder and autoencoder weight is taken over"
        );
        assert_eq!(
            renderer.keys().any(|n| n.starts_with("autoencoder.")),
            config.autoencoder.is_some()
        );

        // A tokenizer of another shape is refused, naming what does not fit.
        let other = TokenizerConfig {
            decoder_dim: 48,
            ..config.clone()
        };
        let (varmap, _) = renderer_with(&RendererConfig::for_tokenizer(&other, IDENTITY_DIM));
        let err = Renderer::init_from_tokenizer(&varmap, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("wrong shape"), "{err}");
    }
}

#[test]
fn a_keyframe_does_not_depend_on_its_batch() {
    let (_, model) = renderer_with(&micro());
    let dev = Device::Cpu;
    let tokens = randn(&mut ChaCha8Rng::seed_from_u64(1), (3, 2, 8), &dev).unwrap();
    let a = character(0);
    let slots = [[face(&a), None, None], [None; 3], [None, None, face(&a)]];
    let identities = SlotIdentities::new(&slots, model.config(), &dev).unwrap();
    let all = model
        .render(
            &tokens,
            &identities,
            &model.shot_noise(9, &[4, 5, 6], &dev).unwrap(),
            3,
            2.0,
            1.5,
        )
        .unwrap();
    assert_eq!(all.dims(), &[3, 3, 32, 32]);
    let alone = model
        .render(
            &tokens.narrow(0, 2, 1).unwrap(),
            &identities.narrow(2, 1).unwrap(),
            &model.shot_noise(9, &[6], &dev).unwrap(),
            3,
            2.0,
            1.5,
        )
        .unwrap();
    assert_eq!(
        max_abs_diff(&all.narrow(0, 2, 1).unwrap(), &alone).unwrap(),
        0.0
    );
    let reseeded = model
        .render(
            &tokens.narrow(0, 2, 1).unwrap(),
            &identities.narrow(2, 1).unwrap(),
            &model.shot_noise(10, &[6], &dev).unwrap(),
            3,
            2.0,
            1.5,
        )
        .unwrap();
    assert!(max_abs_diff(&reseeded, &alone).unwrap() > 0.0);
    // A wrongly sized embedding is an error, not a panic.
    let short = [0f32; 2];
    assert!(SlotIdentities::new(&[[face(&short), None, None]], model.config(), &dev).is_err());
}

/// Two keyframes with the same tokens: a red square where character A stands on the left,
/// a green one where character B does. Only the identities can tell them apart, so once
/// trained, the renderer's loss with the characters swapped must be far above its loss
/// with the right ones, and its one-step prediction from pure noise must lean to the right
/// colour.
#[test]
fn identities_carry_what_the_tokens_do_not() {
    let config = RendererConfig {
        identity_dropout: 0.2,
        ..micro()
    };
    let (varmap, model) = renderer_with(&config);
    let dev = Device::Cpu;
    let images = two_squares();
    let tokens = Tensor::zeros((2, 2, 8), DType::F32, &dev).unwrap();
    let (a, b) = (character(0), character(1));
    let slots = [[face(&a), None, None], [face(&b), None, None]];
    let identities = SlotIdentities::new(&slots, model.config(), &dev).unwrap();
    let swapped = SlotIdentities::new(&[slots[1], slots[0]], model.config(), &dev).unwrap();
    let mut optimizer = AdamW::new(&varmap, AdamWConfig::default()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..500 {
        let loss = model
            .training_loss(&images, &tokens, &identities, &mut rng)
            .unwrap();
        optimizer.step(&loss.backward().unwrap(), 3e-3).unwrap();
    }
    // The same noise and timesteps for both, so the losses compare.
    let loss = |identities: &SlotIdentities| mean_loss(&model, &images, &tokens, identities);
    let (right, wrong) = (loss(&identities), loss(&swapped));
    assert!(
        right < 0.7 * wrong,
        "loss {right} with the right identities, {wrong} swapped"
    );

    let noise = model.shot_noise(0, &[0, 1], &dev).unwrap();
    let predicted = model
        .render(&tokens, &identities, &noise, 1, 1.0, 1.0)
        .unwrap();
    let distance = |a: &Tensor, b: &Tensor| {
        (a - b)
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    for (shot, other) in [(0, 1), (1, 0)] {
        let own = distance(&predicted.get(shot).unwrap(), &images.get(shot).unwrap());
        let theirs = distance(&predicted.get(shot).unwrap(), &images.get(other).unwrap());
        assert!(
            own < theirs,
            "keyframe {shot}: {own} from its own, {theirs} from the other"
        );
    }
}

/// Two keyframes with the same tokens and the same character on the left, in a red coat in
/// one and a green coat in the other: only the full-body pictures tell them apart, so the
/// loss with the pictures swapped must be well above the loss with the right ones.
#[test]
fn full_body_pictures_carry_the_costume() {
    let config = RendererConfig {
        identity_dropout: 0.0,
        ..micro()
    };
    let (varmap, model) = renderer_with(&config);
    let dev = Device::Cpu;
    let images = two_squares();
    let tokens = Tensor::zeros((2, 2, 8), DType::F32, &dev).unwrap();
    let a = character(0);
    // Full-body pictures of another size than the renderer's: they are fitted to it.
    let red = RgbImage::from_pixel(10, 24, image::Rgb([230, 20, 20]));
    let green = RgbImage::from_pixel(10, 24, image::Rgb([20, 230, 20]));
    let dressed = |coat| {
        [
            Some(SlotCharacter {
                identity: &a,
                costume: Some(coat),
            }),
            None,
            None,
        ]
    };
    let right = SlotIdentities::new(&[dressed(&red), dressed(&green)], &config, &dev).unwrap();
    let swapped = SlotIdentities::new(&[dressed(&green), dressed(&red)], &config, &dev).unwrap();
    let mut optimizer = AdamW::new(&varmap, AdamWConfig::default()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..500 {
        let loss = model
            .training_loss(&images, &tokens, &right, &mut rng)
            .unwrap();
        optimizer.step(&loss.backward().unwrap(), 3e-3).unwrap();
    }
    let loss = |identities: &SlotIdentities| mean_loss(&model, &images, &tokens, identities);
    let (with_right, with_swapped) = (loss(&right), loss(&swapped));
    assert!(
        with_right < 0.7 * with_swapped,
        "loss {with_right} with the right costumes, {with_swapped} swapped"
    );
}
