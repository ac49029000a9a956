//! Layers safe for training. Each takes `train`: true composes differentiable ops, false
//! may use candle's fused kernels (see [`crate::ops`]). Built as candle-transformers builds
//! models: a config struct, `new(cfg, vb)` and `forward`.

mod attention;
mod block;
mod colour_table;
mod conv;
mod dit;
mod dropout;
mod embed;
mod mlp;
mod neighbours;
mod norm;
mod patch;
mod warp;

pub use attention::{Attention, AttentionConfig, KvCache, Rope, causal_mask};
pub use block::{CausalBlock, CausalBlockConfig, TransformerBlock};
pub use colour_table::ColourTable;
pub use conv::{Conv3x3, ConvResBlock, depth_to_space, space_to_depth};
pub use dit::{DitBlock, DitBlockConfig, modulate};
pub use dropout::Dropout;
pub use embed::{TimestepEmbedder, timestep_embedding};
pub use mlp::{Mlp, SwiGlu};
pub use neighbours::neighbours_3x3;
pub use norm::{LayerNorm, RmsNorm};
pub use patch::{patchify, sincos_positions_2d, unpatchify};
pub use warp::warp;
