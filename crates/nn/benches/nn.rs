//! Attention and a DiT block at the storyworld size, forward and forward + backward, with
//! the machine's matmul peak measured in the same run for comparison.
//!
//! `cargo bench -p moviedreamer-nn --bench nn`. Each group prints time per iteration;
//! GFLOP/s figures are printed to stderr at the end (FLOPs counted by hand below).

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use criterion::{Criterion, criterion_group, criterion_main};
use moviedreamer_nn::layers::{Attention, AttentionConfig, DitBlock, DitBlockConfig};
use moviedreamer_nn::ops::randn;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The storyworld preset's decoder: 64 px keyframes in 4 px patches (256 tokens) of
/// width 256, 4 heads, MLP ratio 4, cross-attending to 8 keyframe tokens, batch 16.
const BATCH: usize = 16;
const TOKENS: usize = 256;
const DIM: usize = 256;
const HEADS: usize = 4;
const CONTEXT: usize = 8;

fn attention_flops() -> f64 {
    let (b, n, d) = (BATCH as f64, TOKENS as f64, DIM as f64);
    // q, k, v, o projections, then scores and weighted sum.
    4.0 * 2.0 * b * n * d * d + 2.0 * 2.0 * b * n * n * d
}

fn dit_flops() -> f64 {
    let (b, n, d, s) = (BATCH as f64, TOKENS as f64, DIM as f64, CONTEXT as f64);
    let cross = 2.0 * 2.0 * b * n * d * d + 2.0 * 2.0 * b * s * d * d + 2.0 * 2.0 * b * n * s * d;
    let mlp = 2.0 * 2.0 * b * n * d * 4.0 * d;
    attention_flops() + cross + mlp + 2.0 * b * d * 6.0 * d
}

fn input(shape: &[usize], seed: u64) -> Tensor {
    randn(&mut ChaCha8Rng::seed_from_u64(seed), shape, &Device::Cpu).unwrap()
}

/// Seconds per call of `f`, the median of `runs` calls after one warm-up.
fn seconds(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn benches(c: &mut Criterion) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let attention = Attention::new(
        &AttentionConfig {
            dim: DIM,
            heads: HEADS,
            kv_heads: HEADS,
            context_dim: None,
            bias: true,
        },
        vb.pp("attention"),
    )
    .unwrap();
    let block = DitBlock::new(
        &DitBlockConfig {
            dim: DIM,
            heads: HEADS,
            mlp_ratio: 4.0,
            context_dim: Some(DIM),
            decoupled_context_dim: None,
        },
        vb.pp("dit"),
    )
    .unwrap();
    let x = input(&[BATCH, TOKENS, DIM], 1);
    let cond = input(&[BATCH, DIM], 2);
    let context = input(&[BATCH, CONTEXT, DIM], 3);

    let attention_forward = || attention.forward(&x, None, None, None, false).unwrap();
    let attention_backward = || {
        let y = attention.forward(&x, None, None, None, true).unwrap();
        y.sqr().unwrap().mean_all().unwrap().backward().unwrap()
    };
    let dit_forward = || block.forward(&x, &cond, Some(&context), false).unwrap();
    let dit_backward = || {
        let y = block.forward(&x, &cond, Some(&context), true).unwrap();
        y.sqr().unwrap().mean_all().unwrap().backward().unwrap()
    };

    let mut group = c.benchmark_group("nn");
    group.sample_size(10);
    group.bench_function("attention forward", |b| b.iter(attention_forward));
    group.bench_function("attention forward+backward", |b| b.iter(attention_backward));
    group.bench_function("dit block forward", |b| b.iter(dit_forward));
    group.bench_function("dit block forward+backward", |b| b.iter(dit_backward));
    group.finish();

    // GFLOP/s next to the matmul peak, measured now on the same machine. Backward costs
    // about twice the forward, so a training step is counted as three forward passes.
    let mut peak: f64 = 0.0;
    for n in [512usize, 1024, 2048] {
        let a = input(&[n, n], 4);
        let b = input(&[n, n], 5);
        let secs = seconds(5, || {
            a.matmul(&b).unwrap();
        });
        let gflops = 2.0 * (n as f64).powi(3) / secs / 1e9;
        eprintln!("matmul {n}x{n}x{n} f32: {gflops:.1} GFLOP/s");
        peak = peak.max(gflops);
    }
    eprintln!("peak: {peak:.1} GFLOP/s");
    let rows = [
        (
            "attention forward",
            attention_flops(),
            seconds(10, || {
                attention_forward();
            }),
        ),
        (
            "attention forward+backward",
            3.0 * attention_flops(),
            seconds(10, || {
                attention_backward();
            }),
        ),
        (
            "dit block forward",
            dit_flops(),
            seconds(10, || {
                dit_forward();
            }),
        ),
        (
            "dit block forward+backward",
            3.0 * dit_flops(),
            seconds(10, || {
                dit_backward();
            }),
        ),
    ];
    for (name, flops, secs) in rows {
        let gflops = flops / secs / 1e9;
        eprintln!(
            "{name:28} {:8.1} ms  {:6.1} GFLOP/s  {:5.1}% of peak",
            secs * 1e3,
            gflops,
            100.0 * gflops / peak
        );
    }
}

criterion_group!(nn_benches, benches);
criterion_main!(nn_benches);
