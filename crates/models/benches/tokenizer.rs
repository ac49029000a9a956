//! Keyframe tokenizer speed at the storyworld preset: encoding keyframes per second and
//! decoding (full DPM-Solver++ sampling with guidance) keyframes per second at 64 px.
//!
//! `RAYON_NUM_THREADS=1 CANDLE_NUM_THREADS=1 cargo bench -p moviedreamer-models --bench tokenizer`
//!
//! The two variables make candle's kernels single-threaded, as the `moviedreamer` binary
//! does; the tokenizer then splits each batch across the cores itself.

use candle_core::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moviedreamer_models::tokenizer::{KeyframeTokenizer, TokenizerConfig};
use moviedreamer_nn::checkpoint::untrained_for_inference;
use moviedreamer_nn::ops::randn;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The binary's allocator.
mod common;

const ENCODE_BATCH: usize = 64;
const DECODE_BATCH: usize = 16;
const DECODE_STEPS: usize = 20;

fn tokenizer(c: &mut Criterion) {
    common::keep_freed_memory();
    let config = TokenizerConfig::storyworld();
    let model = untrained_for_inference(|vb| KeyframeTokenizer::new(&config, vb)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let size = config.image_size;
    let images = randn(&mut rng, (ENCODE_BATCH, 3, size, size), &Device::Cpu)
        .unwrap()
        .tanh()
        .unwrap();
    let tokens = model
        .encode(&images.narrow(0, 0, DECODE_BATCH).unwrap(), false)
        .unwrap();

    let mut group = c.benchmark_group("tokenizer");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ENCODE_BATCH as u64));
    group.bench_function("encode 64 keyframes at 64 px", |b| {
        b.iter(|| model.encode(&images, false).unwrap())
    });
    group.throughput(Throughput::Elements(DECODE_BATCH as u64));
    for guidance in [1.0, 2.0] {
        group.bench_function(
            format!("decode 16 keyframes, 20 steps, guidance {guidance}"),
            |b| {
                b.iter(|| {
                    model
                        .decode(
                            &tokens,
                            DECODE_STEPS,
                            guidance,
                            &mut ChaCha8Rng::seed_from_u64(1),
                        )
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, tokenizer);
criterion_main!(benches);
