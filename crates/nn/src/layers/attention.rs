//! Multi-head attention: self or cross, grouped-query, optional mask and rotary positions.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::ops;

/// Shape of an attention layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionConfig {
    /// Width of the queries' input (and of the output).
    pub dim: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads; fewer than `heads` is grouped-query attention.
    pub kv_heads: usize,
    /// Width of the keys' and values' input for cross-attention; `None` is self-attention.
    pub context_dim: Option<usize>,
    /// Whether the query, value and output projections have biases (DiT: yes, LLaMA: no).
    /// Keys never have one: a key bias shifts every score of a query's row by the same
    /// amount, which softmax cancels, so it could never learn.
    pub bias: bool,
}

/// Attention with its four projections.
#[derive(Debug, Clone)]
pub struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl Attention {
    /// Builds the projections `q`, `k`, `v`, `o` under `vb`.
    pub fn new(cfg: &AttentionConfig, vb: VarBuilder) -> Result<Self> {
        if cfg.heads == 0
            || cfg.kv_heads == 0
            || !cfg.dim.is_multiple_of(cfg.heads)
            || !cfg.heads.is_multiple_of(cfg.kv_heads)
        {
            candle_core::bail!(
                "attention: dim {} must divide into {} heads, and heads into {} key/value heads",
                cfg.dim,
                cfg.heads,
                cfg.kv_heads
            );
        }
        let head_dim = cfg.dim / cfg.heads;
        let kv_in = cfg.context_dim.unwrap_or(cfg.dim);
        let kv_out = cfg.kv_heads * head_dim;
        let make = |i, o, name| {
            if cfg.bias {
                candle_nn::linear(i, o, vb.pp(name))
            } else {
                candle_nn::linear_no_bias(i, o, vb.pp(name))
            }
        };
        Ok(Attention {
            q: make(cfg.dim, cfg.dim, "q")?,
            k: candle_nn::linear_no_bias(kv_in, kv_out, vb.pp("k"))?,
            v: make(kv_in, kv_out, "v")?,
            o: make(cfg.dim, cfg.dim, "o")?,
            heads: cfg.heads,
            kv_heads: cfg.kv_heads,
            head_dim,
        })
    }

    /// Attends from `x` (batch, time, dim) to `context` (batch, source, context_dim), or to
    /// `x` itself when `context` is `None`. `mask` is added to the scores (broadcast to
    /// (batch, heads, time, source)); `rope` rotates queries and keys from position
    /// `offset`.
    pub fn forward(
        &self,
        x: &Tensor,
        context: Option<&Tensor>,
        mask: Option<&Tensor>,
        rope: Option<(&Rope, usize)>,
        train: bool,
    ) -> Result<Tensor> {
        let source = context.unwrap_or(x);
        let (mut q, mut k, v) = self.project(x, source)?;
        if let Some((rope, offset)) = rope {
            q = rope.apply(&q, offset, train)?;
            k = rope.apply(&k, offset, train)?;
        }
        self.attend(&q, k, v, mask, train)
    }

    /// Causal self-attention of new positions `x` (batch, time, dim) to themselves and to
    /// every position in `cache`, which they are then appended to: generation one token at
    /// a time costs one row of attention instead of the whole sequence again. Rotary
    /// positions continue from the cache's length. Inference only.
    pub fn forward_cached(
        &self,
        x: &Tensor,
        cache: &mut KvCache,
        rope: Option<&Rope>,
    ) -> Result<Tensor> {
        let t = x.dim(1)?;
        let offset = cache.len();
        let (mut q, mut k, v) = self.project(x, x)?;
        if let Some(rope) = rope {
            q = rope.apply(&q, offset, false)?;
            k = rope.apply(&k, offset, false)?;
        }
        let (k, v) = cache.append(k, v)?;
        let mask = causal_mask_after(t, offset, x.device())?;
        self.attend(&q, k, v, Some(&mask), false)
    }

    /// Queries from `x` and keys and values from `source`, split into heads:
    /// (batch, heads or kv_heads, length, head_dim).
    fn project(&self, x: &Tensor, source: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let split = |y: Tensor, heads: usize| {
            let (b, len, _) = y.dims3()?;
            y.reshape((b, len, heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        Ok((
            split(self.q.forward(x)?, self.heads)?,
            split(self.k.forward(source)?, self.kv_heads)?,
            split(self.v.forward(source)?, self.kv_heads)?,
        ))
    }

    /// Softmax attention of split heads: q (batch, heads, time, head_dim) over k and v
    /// (batch, kv_heads, source, head_dim), merged back to (batch, time, dim) and projected.
    fn attend(
        &self,
        q: &Tensor,
        k: Tensor,
        v: Tensor,
        mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let (b, _, t, _) = q.dims4()?;
        let k = self.repeat_kv(k)?;
        let v = self.repeat_kv(v)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let mut scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = ops::softmax_last_dim(&scores, train)?;
        let out =
            weights
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((b, t, self.heads * self.head_dim))?;
        self.o.forward(&out)
    }

    /// Repeats each key/value head for the query heads that share it.
    fn repeat_kv(&self, x: Tensor) -> Result<Tensor> {
        let repeats = self.heads / self.kv_heads;
        if repeats == 1 {
            return Ok(x);
        }
        let (b, h, s, d) = x.dims4()?;
        x.unsqueeze(2)?
            .broadcast_as((b, h, repeats, s, d))?
            .reshape((b, h * repeats, s, d))
    }
}

/// Rotary position tables for one head size.
#[derive(Debug, Clone)]
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    /// Tables for positions 0..`max_positions` with base `theta` (10,000 in LLaMA).
    pub fn new(head_dim: usize, max_positions: usize, theta: f64, device: &Device) -> Result<Self> {
        let half = head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| (1.0 / theta.powf(2.0 * i as f64 / head_dim as f64)) as f32)
            .collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, half), device)?;
        let positions = Tensor::arange(0u32, max_positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((max_positions, 1))?;
        let angles = positions.broadcast_mul(&inv_freq)?;
        Ok(Rope {
            cos: angles.cos()?,
            sin: angles.sin()?,
        })
    }

    /// Rotates `x` (batch, heads, time, head_dim) for positions `offset`…
    pub fn apply(&self, x: &Tensor, offset: usize, train: bool) -> Result<Tensor> {
        let t = x.dim(2)?;
        let cos = self.cos.narrow(0, offset, t)?;
        let sin = self.sin.narrow(0, offset, t)?;
        ops::rope(x, &cos, &sin, train)
    }
}

/// An additive causal mask (time, time): 0 on and below the diagonal, −∞ above.
pub fn causal_mask(time: usize, device: &Device) -> Result<Tensor> {
    causal_mask_after(time, 0, device)
}

/// The causal mask of `time` new positions that follow `past` cached ones:
/// (time, past + time), where new position i sees every cached one and new ones up to i.
fn causal_mask_after(time: usize, past: usize, device: &Device) -> Result<Tensor> {
    let values: Vec<f32> = (0..time)
        .flat_map(|i| {
            (0..past + time).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 })
        })
        .collect();
    Tensor::from_vec(values, (time, past + time), device)
}

/// The keys and values (after rotary positions, before head repetition) of the positions a
/// generating model has seen, one cache per attention layer.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    keys: Option<Tensor>,
    values: Option<Tensor>,
}

impl KvCache {
    /// An empty cache.
    pub fn new() -> Self {
        KvCache::default()
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.keys.as_ref().map_or(0, |k| k.dim(2).unwrap_or(0))
    }

    /// Whether no position is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends new keys and values (batch, kv_heads, time, head_dim) and returns all held.
    fn append(&mut self, keys: Tensor, values: Tensor) -> Result<(Tensor, Tensor)> {
        let (keys, values) = match (self.keys.take(), self.values.take()) {
            (Some(k), Some(v)) => (
                Tensor::cat(&[&k, &keys], 2)?,
                Tensor::cat(&[&v, &values], 2)?,
            ),
            _ => (keys, values),
        };
        self.keys = Some(keys.clone());
        self.values = Some(values.clone());
        Ok((keys, values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{max_abs_diff, randn};
    use candle_nn::VarMap;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn layer(cfg: &AttentionConfig) -> (VarMap, Attention) {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let attention = Attention::new(cfg, vb).unwrap();
        (varmap, attention)
    }

    #[test]
    fn causal_attention_ignores_the_future() {
        let cfg = AttentionConfig {
            dim: 16,
            heads: 4,
            kv_heads: 2,
            context_dim: None,
            bias: false,
        };
        let (_, attention) = layer(&cfg);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let x = randn(&mut rng, (1, 6, 16), &Device::Cpu).unwrap();
        let rope = Rope::new(4, 32, 10_000.0, &Device::Cpu).unwrap();
        let mask = causal_mask(6, &Device::Cpu).unwrap();
        let full = attention
            .forward(&x, None, Some(&mask), Some((&rope, 0)), false)
            .unwrap();
        // Changing the last position leaves the outputs of the earlier ones unchanged.
        let changed = Tensor::cat(
            &[
                x.narrow(1, 0, 5).unwrap(),
                randn(&mut rng, (1, 1, 16), &Device::Cpu).unwrap(),
            ],
            1,
        )
        .unwrap();
        let out = attention
            .forward(&changed, None, Some(&mask), Some((&rope, 0)), false)
            .unwrap();
        let diff = max_abs_diff(
            &full.narrow(1, 0, 5).unwrap(),
            &out.narrow(1, 0, 5).unwrap(),
        )
        .unwrap();
        assert!(diff < 1e-6, "{diff}");
        // The training path computes the same thing.
        let train = attention
            .forward(&x, None, Some(&mask), Some((&rope, 0)), true)
            .unwrap();
        assert!(max_abs_diff(&full, &train).unwrap() < 1e-5);
    }

    #[test]
    fn cached_attention_in_pieces_equals_one_causal_pass() {
        let cfg = AttentionConfig {
            dim: 16,
            heads: 4,
            kv_heads: 2,
            context_dim: None,
            bias: false,
        };
        let (_, attention) = layer(&cfg);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let x = randn(&mut rng, (2, 7, 16), &Device::Cpu).unwrap();
        let rope = Rope::new(4, 32, 10_000.0, &Device::Cpu).unwrap();
        let mask = causal_mask(7, &Device::Cpu).unwrap();
        let full = attention
            .forward(&x, None, Some(&mask), Some((&rope, 0)), false)
            .unwrap();
        // A prefix of four positions at once, then one position at a time.
        let mut cache = KvCache::new();
        let mut pieces = vec![
            attention
                .forward_cached(&x.narrow(1, 0, 4).unwrap(), &mut cache, Some(&rope))
                .unwrap(),
        ];
        for i in 4..7 {
            pieces.push(
                attention
                    .forward_cached(&x.narrow(1, i, 1).unwrap(), &mut cache, Some(&rope))
                    .unwrap(),
            );
        }
        assert_eq!(cache.len(), 7);
        let cached = Tensor::cat(&pieces, 1).unwrap();
        assert!(max_abs_diff(&full, &cached).unwrap() < 1e-5);
    }

    #[test]
    fn cross_attention_takes_a_context_of_another_width() {
        let cfg = AttentionConfig {
            dim: 8,
            heads: 2,
            kv_heads: 2,
            context_dim: Some(12),
            bias: true,
        };
        let (_, attention) = layer(&cfg);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = randn(&mut rng, (2, 5, 8), &Device::Cpu).unwrap();
        let context = randn(&mut rng, (2, 3, 12), &Device::Cpu).unwrap();
        let y = attention
            .forward(&x, Some(&context), None, None, true)
            .unwrap();
        assert_eq!(y.dims(), &[2, 5, 8]);
    }

    #[test]
    fn bad_head_counts_are_errors() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let cfg = AttentionConfig {
            dim: 10,
            heads: 4,
            kv_heads: 4,
            context_dim: None,
            bias: false,
        };
        assert!(Attention::new(&cfg, vb).is_err());
    }
}
