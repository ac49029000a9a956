//! The animator at its micro size: every weight learns, clips start at their keyframe, an
//! untrained model changes nothing, sampling is seeded, a short training run makes a
//! square move only when the motion says "walk", and a chained animator reads the previous
//! shot's last frame.

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use image::RgbImage;
use moviedreamer_models::animator::{
    Animator, AnimatorConfig, ClipSampling, Motion, MotionBatch, PreviousFrames,
};
use moviedreamer_nn::grad_check::assert_full_coverage;
use moviedreamer_nn::init::seeded_var_builder;
use moviedreamer_nn::ops::{max_abs_diff, randn};
use moviedreamer_nn::optim::{AdamW, AdamWConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn animator_with(config: &AnimatorConfig) -> (VarMap, Animator) {
    let varmap = VarMap::new();
    let model = Animator::new(config, seeded_var_builder(&varmap, 3)).unwrap();
    (varmap, model)
}

fn sampling(steps: usize, guidance: f64, start_noise: f64) -> ClipSampling {
    ClipSampling {
        steps,
        guidance,
        start_noise,
    }
}

const WALK: Motion = Motion {
    actions: [0, 2, 0],
    camera: 0,
};
const STAND: Motion = Motion {
    actions: [0, 1, 0],
    camera: 0,
};

/// A 32 px clip of 4 frames: a white 8 px square on black, starting at x = 4 and moving
/// right by `step` pixels a frame.
fn square_clip(step: usize) -> Vec<f32> {
    let mut values = vec![-1f32; 4 * 3 * 32 * 32];
    for frame in 0..4 {
        let left = 4 + frame * step;
        for c in 0..3 {
            for y in 12..20 {
                for x in left..left + 8 {
                    values[((frame * 3 + c) * 32 + y) * 32 + x] = 1.0;
                }
            }
        }
    }
    values
}

/// Horizontal centre of the bright pixels of the last frame of clip `b`.
fn last_frame_centre(clips: &Tensor, b: usize) -> f32 {
    let frame = clips
        .get(b)
        .unwrap()
        .get(3)
        .unwrap()
        .get(0)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let (mut sum, mut count) = (0f32, 0f32);
    for row in &frame {
        for (x, &v) in row.iter().enumerate() {
            if v > 0.0 {
                sum += x as f32;
                count += 1.0;
            }
        }
    }
    sum / count.max(1.0)
}

#[test]
fn every_weight_gets_a_gradient() {
    let config = AnimatorConfig {
        motion_dropout: 0.5,
        ..AnimatorConfig::micro()
    };
    let (varmap, model) = animator_with(&config);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let clips = randn(&mut rng, (6, 4, 3, 32, 32), &Device::Cpu)
        .unwrap()
        .tanh()
        .unwrap();
    let motions = [WALK, STAND, WALK, STAND, WALK, STAND];
    let motion = MotionBatch::new(&motions, &Device::Cpu).unwrap();
    // Half the clips carry on from a previous shot, so the chaining weights learn too.
    let grey = RgbImage::from_pixel(32, 32, image::Rgb([90, 120, 200]));
    let previous: Vec<Option<RgbImage>> =
        (0..6).map(|i| (i % 2 == 0).then(|| grey.clone())).collect();
    let previous = PreviousFrames::new(&previous, 32, &Device::Cpu).unwrap();
    let loss = model
        .training_loss(&clips, &motion, &previous, &mut rng)
        .unwrap();
    assert_full_coverage(&varmap, &loss);
}

#[test]
fn clips_start_at_their_keyframe_and_sampling_is_seeded() {
    let (_, model) = animator_with(&AnimatorConfig::micro());
    let clip = Tensor::from_vec(square_clip(4), (1, 4, 3, 32, 32), &Device::Cpu).unwrap();
    let keyframe = clip.get(0).unwrap().get(0).unwrap().unsqueeze(0).unwrap();
    let motion = MotionBatch::new(&[WALK], &Device::Cpu).unwrap();
    let none = PreviousFrames::none(1, model.config(), &Device::Cpu).unwrap();
    let animate = |seed| {
        let noise = model
            .noise(1, &mut ChaCha8Rng::seed_from_u64(seed), &Device::Cpu)
            .unwrap();
        model
            .animate(&keyframe, &motion, &none, &noise, sampling(4, 2.0, 1.0))
            .unwrap()
    };
    let (a, b) = (animate(5), animate(5));
    // Starting halfway, from the keyframe held still and noised, is seeded as well.
    let noise = model
        .noise(1, &mut ChaCha8Rng::seed_from_u64(5), &Device::Cpu)
        .unwrap();
    let half = |_| {
        model
            .animate(&keyframe, &motion, &none, &noise, sampling(4, 2.0, 0.5))
            .unwrap()
    };
    let (c, d) = (half(0), half(1));
    assert_eq!(max_abs_diff(&c, &d).unwrap(), 0.0);
    assert!(max_abs_diff(&a, &c).unwrap() > 0.0);
    assert!(
        model
            .animate(&keyframe, &motion, &none, &noise, sampling(4, 2.0, 0.0))
            .is_err()
    );
    assert_eq!(a.dims(), &[1, 4, 3, 32, 32]);
    assert_eq!(max_abs_diff(&a, &b).unwrap(), 0.0);
    let first = a.get(0).unwrap().get(0).unwrap().unsqueeze(0).unwrap();
    assert_eq!(max_abs_diff(&first, &keyframe).unwrap(), 0.0);
    // Untrained, the model predicts "no change": every frame is close to the keyframe.
    let still = keyframe
        .unsqueeze(1)
        .unwrap()
        .broadcast_as(a.shape())
        .unwrap();
    let change = (&a - &still)
        .unwrap()
        .abs()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(change < 0.1, "mean change {change}");
}

/// Training steps and learning rate of the motion test.
const STEPS: usize = 1500;
const LR: f64 = 1e-3;

#[test]
fn a_short_training_run_moves_the_square_only_when_told_to_walk() {
    let config = AnimatorConfig::micro();
    let (varmap, model) = animator_with(&config);
    let mut optimizer = AdamW::new(&varmap, AdamWConfig::default()).unwrap();
    let mut values = square_clip(4);
    values.extend(square_clip(0));
    let clips = Tensor::from_vec(values, (2, 4, 3, 32, 32), &Device::Cpu).unwrap();
    let motion = MotionBatch::new(&[WALK, STAND], &Device::Cpu).unwrap();
    let none = PreviousFrames::none(2, model.config(), &Device::Cpu).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..STEPS {
        let loss = model
            .training_loss(&clips, &motion, &none, &mut rng)
            .unwrap();
        optimizer.step(&loss.backward().unwrap(), LR).unwrap();
    }
    // The same keyframe, animated once walking and once standing.
    let keyframe = clips.get(0).unwrap().get(0).unwrap().unsqueeze(0).unwrap();
    let keyframes = Tensor::cat(&[&keyframe, &keyframe], 0).unwrap();
    let noise = model
        .noise(2, &mut ChaCha8Rng::seed_from_u64(2), &Device::Cpu)
        .unwrap();
    let animated = model
        .animate(&keyframes, &motion, &none, &noise, sampling(10, 3.0, 1.0))
        .unwrap();
    let start = 4.0 + 3.5;
    let walked = last_frame_centre(&animated, 0) - start;
    let stood = last_frame_centre(&animated, 1) - start;
    // The walker's square ends 12 px to the right (measured: 11.2 px); the stander's stays.
    assert!((walked - 12.0).abs() < 4.0, "walked {walked} px");
    assert!(stood.abs() < 3.0, "stood {stood} px");
}

/// Two clips from the same keyframe with the same motion ("stand"): one walks on where its
/// previous shot ended bright, the other stays where its previous shot ended dark. Only the
/// previous frame tells them apart, so a chained animator must read it: with the previous
/// frames swapped its loss must be far higher.
#[test]
fn a_chained_animator_carries_on_from_the_previous_frame() {
    let config = AnimatorConfig {
        previous_dropout: 0.0,
        ..AnimatorConfig::micro()
    };
    let (varmap, model) = animator_with(&config);
    let mut optimizer = AdamW::new(&varmap, AdamWConfig::default()).unwrap();
    let mut values = square_clip(4);
    values.extend(square_clip(0));
    let clips = Tensor::from_vec(values, (2, 4, 3, 32, 32), &Device::Cpu).unwrap();
    let motion = MotionBatch::new(&[STAND, STAND], &Device::Cpu).unwrap();
    let bright = RgbImage::from_pixel(32, 32, image::Rgb([240, 240, 240]));
    let dark = RgbImage::from_pixel(32, 32, image::Rgb([20, 20, 20]));
    let previous = PreviousFrames::new(
        &[Some(bright.clone()), Some(dark.clone())],
        32,
        &Device::Cpu,
    )
    .unwrap();
    let swapped = PreviousFrames::new(&[Some(dark), Some(bright)], 32, &Device::Cpu).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..400 {
        let loss = model
            .training_loss(&clips, &motion, &previous, &mut rng)
            .unwrap();
        optimizer.step(&loss.backward().unwrap(), LR).unwrap();
    }
    // The same noise and timesteps for both.
    let loss = |previous: &PreviousFrames| {
        let mut fixed = ChaCha8Rng::seed_from_u64(7);
        (0..20)
            .map(|_| {
                model
                    .training_loss(&clips, &motion, previous, &mut fixed)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            })
            .sum::<f32>()
            / 20.0
    };
    let (right, wrong) = (loss(&previous), loss(&swapped));
    assert!(
        right < 0.7 * wrong,
        "loss {right} with the right previous frames, {wrong} swapped"
    );

    // An animator trained without chaining refuses previous frames instead of ignoring them.
    let (_, unchained) = animator_with(&AnimatorConfig {
        chain: false,
        ..AnimatorConfig::micro()
    });
    let noise = unchained
        .noise(2, &mut ChaCha8Rng::seed_from_u64(2), &Device::Cpu)
        .unwrap();
    let keyframes = clips.narrow(1, 0, 1).unwrap().squeeze(1).unwrap();
    let err = unchained
        .animate(
            &keyframes,
            &motion,
            &previous,
            &noise,
            sampling(2, 1.0, 1.0),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("without previous frames"), "{err}");
}
