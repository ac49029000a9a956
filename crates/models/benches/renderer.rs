//! Renderer speed at the storyworld preset: keyframes per second rendered from tokens and
//! identities (full DPM-Solver++ sampling) at 64 px, with no guidance (one pass per step)
//! and with both guidance scales set (three passes per step), and one training step.
//!
//! `RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 cargo bench -p moviedreamer-models --bench renderer`
//!
//! The two variables make candle's kernels single-threaded, as the `moviedreamer` binary
//! does; the renderer then splits each batch across the cores itself.

use candle_core::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moviedreamer_models::renderer::{Renderer, RendererConfig, SlotCharacter, SlotIdentities};
use moviedreamer_models::tokenizer::TokenizerConfig;
use moviedreamer_nn::checkpoint::untrained_for_inference;
use moviedreamer_nn::ops::randn;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The binary's allocator.
mod common;

const BATCH: usize = 16;
const STEPS: usize = 20;
const IDENTITY_DIM: usize = 64;

fn renderer(c: &mut Criterion) {
    common::keep_freed_memory();
    let config = RendererConfig::for_tokenizer(&TokenizerConfig::storyworld(), IDENTITY_DIM);
    let model = untrained_for_inference(|vb| Renderer::new(&config, vb)).unwrap();
    let dev = Device::Cpu;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let cfg = &config.tokenizer;
    let tokens = randn(&mut rng, (BATCH, cfg.tokens, cfg.token_dim), &dev).unwrap();
    // Every character comes with a full-body picture: the costlier path.
    let face = vec![0.125f32; IDENTITY_DIM];
    let coat = image::RgbImage::from_pixel(16, 32, image::Rgb([180, 60, 40]));
    let member = Some(SlotCharacter {
        identity: &face,
        costume: Some(&coat),
    });
    let slots: Vec<_> = (0..BATCH)
        .map(|i| match i % 3 {
            0 => [member, None, None],
            1 => [member, member, None],
            _ => [None, member, member],
        })
        .collect();
    let identities = SlotIdentities::new(&slots, &config, &dev).unwrap();
    let indices: Vec<usize> = (0..BATCH).collect();
    let noise = model.shot_noise(0, &indices, &dev).unwrap();
    let images = randn(&mut rng, (BATCH, 3, cfg.image_size, cfg.image_size), &dev)
        .unwrap()
        .tanh()
        .unwrap();

    let mut group = c.benchmark_group("renderer");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    for (token_guidance, identity_guidance) in [(1.0, 1.0), (2.0, 1.5)] {
        group.bench_function(
            format!(
                "render 16 keyframes, 20 steps, token guidance {token_guidance}, identity guidance {identity_guidance}"
            ),
            |b| {
                b.iter(|| {
                    model
                        .render(
                            &tokens,
                            &identities,
                            &noise,
                            STEPS,
                            token_guidance,
                            identity_guidance,
                        )
                        .unwrap()
                })
            },
        );
    }
    group.bench_function(
        "training step (forward and backward) of 16 keyframes",
        |b| {
            b.iter(|| {
                let loss = model
                    .training_loss(
                        &images,
                        &tokens,
                        &identities,
                        &mut ChaCha8Rng::seed_from_u64(2),
                    )
                    .unwrap();
                loss.backward().unwrap()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, renderer);
criterion_main!(benches);
