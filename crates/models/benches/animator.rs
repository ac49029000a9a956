//! Animator speed at the storyworld preset: clips per second when animating 8 shots at
//! 64 px (8 frames each, DPM-Solver++ 10 steps, without and with motion guidance), and one
//! training step's forward and backward pass on 8 clips.
//!
//! `RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 cargo bench -p moviedreamer-models --bench animator`
//!
//! The two variables make candle's kernels single-threaded, as the `moviedreamer` binary
//! does; the animator then splits each batch across the cores itself.

use candle_core::{DType, Device, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moviedreamer_models::animator::{
    Animator, AnimatorConfig, ClipSampling, Motion, MotionBatch, PreviousFrames,
};
use moviedreamer_nn::checkpoint::untrained_for_inference;
use moviedreamer_nn::ops::randn;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The binary's allocator.
mod common;

const SHOTS: usize = 8;
const STEPS: usize = 10;

fn animator(c: &mut Criterion) {
    common::keep_freed_memory();
    let config = AnimatorConfig::storyworld();
    let model = untrained_for_inference(|vb| Animator::new(&config, vb)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let size = config.image_size;
    let clips = randn(
        &mut rng,
        (SHOTS, config.frames, 3, size, size),
        &Device::Cpu,
    )
    .unwrap()
    .tanh()
    .unwrap();
    let keyframes = clips.narrow(1, 0, 1).unwrap().squeeze(1).unwrap();
    let walk = Motion {
        actions: [2, 0, 3],
        camera: 1,
    };
    let motion = MotionBatch::new(&[walk; SHOTS], &Device::Cpu).unwrap();
    let indices: Vec<usize> = (0..SHOTS).collect();
    let noise = model.shot_noise(0, &indices, &Device::Cpu).unwrap();
    // Every clip carries on from a previous shot: the chained path, the costlier one.
    let previous = PreviousFrames {
        frames: keyframes.clone(),
        present: Tensor::ones(SHOTS, DType::F32, &Device::Cpu).unwrap(),
    };

    let mut group = c.benchmark_group("animator");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SHOTS as u64));
    for guidance in [1.0, 2.0] {
        group.bench_function(
            format!("animate 8 clips, 10 steps, guidance {guidance}"),
            |b| {
                b.iter(|| {
                    model
                        .animate(
                            &keyframes,
                            &motion,
                            &previous,
                            &noise,
                            ClipSampling {
                                steps: STEPS,
                                guidance,
                                start_noise: 1.0,
                            },
                        )
                        .unwrap()
                })
            },
        );
    }
    group.bench_function("training forward and backward, 8 clips", |b| {
        b.iter(|| {
            let loss = model
                .training_loss(
                    &clips,
                    &motion,
                    &previous,
                    &mut ChaCha8Rng::seed_from_u64(1),
                )
                .unwrap();
            loss.backward().unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, animator);
criterion_main!(benches);
