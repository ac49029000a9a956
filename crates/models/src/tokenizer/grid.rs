//! Spatial tokens: a keyframe's canvas → a √K × √K grid of tokens by convolutions, and back.
//!
//! The learned-query encoder and the DiT decoder each learn slowly to put a keyframe's
//! layout into a few tokens and to draw it back, while the same number of values as a small
//! grid, made by halving the canvas's side with residual convolutions and read back by
//! doubling it, learned 2.6 dB more in 400 steps (docs/results/tokenizer.md, "A latent
//! autoencoder, and spatial tokens"). [`GridEncoder`] makes the tokens; [`GridDecoder`]
//! turns them into a coarse canvas, which the diffusion decoder takes as its starting guess
//! and refines.
//!
//! Tokens are the grid's cells in row-major order: (batch, K, D), as the planner expects.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use moviedreamer_nn::init::small_linear;
use moviedreamer_nn::layers::{ConvResBlock, depth_to_space, space_to_depth};

use super::TokenizerConfig;

/// The grid's side and how many times the canvas's side is halved to reach it, or an error
/// that says which sizes do not fit.
fn grid_geometry(cfg: &TokenizerConfig) -> Result<(usize, usize)> {
    let (_, side) = cfg.canvas();
    let grid = cfg.tokens.isqrt();
    let halvings = (side / grid.max(1)).checked_ilog2().unwrap_or(0) as usize;
    if grid * grid != cfg.tokens || grid << halvings != side {
        candle_core::bail!(
            "grid tokens need K to be a square whose side divides the canvas side {side} by a power of two (K = 1, 4, 16, 64, …); K is {}",
            cfg.tokens
        );
    }
    Ok((grid, halvings))
}

/// One resolution of a grid encoder or decoder: residual blocks at that resolution, then a
/// linear map over the channels: with space-to-depth before it or depth-to-space after it,
/// the change of resolution; in the decoder's last stage, the projection to the canvas.
#[derive(Debug, Clone)]
struct Stage {
    blocks: Vec<ConvResBlock>,
    resize: Linear,
}

impl Stage {
    /// Blocks of `cfg`'s width, then a linear map of `resize_in` → `resize_out` channels.
    fn new(
        cfg: &TokenizerConfig,
        resize_in: usize,
        resize_out: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        Self::with_map(cfg, linear(resize_in, resize_out, vb.pp("resize"))?, vb)
    }

    /// Blocks of `cfg`'s width, then the given linear map.
    fn with_map(cfg: &TokenizerConfig, resize: Linear, vb: VarBuilder) -> Result<Self> {
        let blocks = (0..cfg.encoder_depth)
            .map(|i| ConvResBlock::new(cfg.encoder_dim, vb.pp(format!("blocks.{i}"))))
            .collect::<Result<_>>()?;
        Ok(Stage { blocks, resize })
    }

    fn blocks(&self, mut x: Tensor, train: bool) -> Result<Tensor> {
        for block in &self.blocks {
            x = block.forward(&x, train)?;
        }
        Ok(x)
    }
}

/// Canvas → grid tokens. Width `encoder_dim`, `encoder_depth` residual blocks per
/// resolution.
#[derive(Debug, Clone)]
pub struct GridEncoder {
    embed: Linear,
    down: Vec<Stage>,
    to_tokens: Linear,
}

impl GridEncoder {
    /// Builds the encoder under `vb`.
    pub fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        let (_, halvings) = grid_geometry(cfg)?;
        let (channels, _) = cfg.canvas();
        let width = cfg.encoder_dim;
        let down = (0..halvings)
            .map(|i| Stage::new(cfg, 4 * width, width, vb.pp(format!("down.{i}"))))
            .collect::<Result<_>>()?;
        Ok(GridEncoder {
            embed: linear(channels, width, vb.pp("embed"))?,
            down,
            to_tokens: linear(width, cfg.token_dim, vb.pp("to_tokens"))?,
        })
    }

    /// Canvases (batch, channels, side, side) → tokens (batch, K, token_dim).
    pub fn forward(&self, canvases: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = self
            .embed
            .forward(&canvases.permute((0, 2, 3, 1))?.contiguous()?)?;
        for stage in &self.down {
            x = stage
                .resize
                .forward(&space_to_depth(&stage.blocks(x, train)?)?)?;
        }
        let tokens = self.to_tokens.forward(&x)?;
        tokens.flatten(1, 2)
    }
}

/// Grid tokens → a coarse canvas: the encoder's path in reverse. Its own weights, with the
/// encoder's sizes.
#[derive(Debug, Clone)]
pub struct GridDecoder {
    grid: usize,
    from_tokens: Linear,
    up: Vec<Stage>,
    last: Stage,
}

impl GridDecoder {
    /// Builds the decoder under `vb`.
    pub fn new(cfg: &TokenizerConfig, vb: VarBuilder) -> Result<Self> {
        let (grid, halvings) = grid_geometry(cfg)?;
        let (channels, _) = cfg.canvas();
        let width = cfg.encoder_dim;
        let up = (0..halvings)
            .map(|i| Stage::new(cfg, width, 4 * width, vb.pp(format!("up.{i}"))))
            .collect::<Result<_>>()?;
        Ok(GridDecoder {
            grid,
            from_tokens: linear(cfg.token_dim, width, vb.pp("from_tokens"))?,
            up,
            // Small, as the DiT's last layer: the first coarse canvases are near zero instead
            // of large random values (a first loss of 131 in latent units, measured), which
            // take many clipped steps to undo.
            last: Stage::with_map(
                cfg,
                small_linear(width, channels, vb.pp("last").pp("resize"))?,
                vb.pp("last"),
            )?,
        })
    }

    /// Tokens (batch, K, token_dim) → canvases (batch, channels, side, side).
    pub fn forward(&self, tokens: &Tensor, train: bool) -> Result<Tensor> {
        let (batch, _, dim) = tokens.dims3()?;
        let mut x = self
            .from_tokens
            .forward(&tokens.reshape((batch, self.grid, self.grid, dim))?)?;
        for stage in &self.up {
            x = depth_to_space(&stage.resize.forward(&stage.blocks(x, train)?)?)?;
        }
        let x = self.last.resize.forward(&self.last.blocks(x, train)?)?;
        x.permute((0, 3, 1, 2))?.contiguous()
    }
}
