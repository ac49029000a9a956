//! Slot maps: each identity and costume token written straight onto the patches where its
//! slot stands.
//!
//! Through cross-attention alone, a patch must learn from the slot positions which of the
//! three characters it belongs to, and a short fine-tune did not learn it: identities
//! changed the renderer's keyframes by 0.02 dB (docs/results/renderer.md). A map per slot,
//! a soft column over the slot's third of the frame (left, centre, right), carries each
//! slot's tokens, projected, to its patches, where they are added to the patch embeddings
//! (as layout-grounded generators feed boxes). The maps start at that prior and learn a
//! correction (close-ups put everyone in the centre); the projection starts small, so a
//! renderer fresh from the tokenizer draws what the decoder draws.

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{Init, Linear, VarBuilder};
use moviedreamer_nn::init::small_linear;

use crate::planner::prompt::SLOTS;

/// Width of a slot's column in the prior, as a fraction of the frame.
const COLUMN_WIDTH: f64 = 1.0 / 6.0;

/// Identity and costume tokens (batch, tokens, dim), grouped by slot, → a value per patch.
#[derive(Debug, Clone)]
pub struct SlotMaps {
    prior: Tensor,
    learned: Tensor,
    project: Linear,
}

impl SlotMaps {
    /// Maps over a `grid` × `grid` canvas of patches of `dim` wide embeddings, under `vb`.
    pub fn new(grid: usize, dim: usize, vb: VarBuilder) -> Result<Self> {
        Ok(SlotMaps {
            prior: column_prior(grid, vb.device())?,
            learned: vb.get_with_hints((1, grid * grid, SLOTS), "maps", Init::Const(0.0))?,
            project: small_linear(dim, dim, vb.pp("project"))?,
        })
    }

    /// Each slot's weight on each patch (1, patches, slots).
    pub fn maps(&self) -> Result<Tensor> {
        self.prior.broadcast_add(&self.learned)
    }

    /// `context` (batch, tokens, dim): groups of [`SLOTS`] tokens, each group in slot order
    /// (the identities, then the costumes) → (batch, patches, dim), the sum over tokens of
    /// its slot's map times its projection.
    pub fn patch_bias(&self, context: &Tensor) -> Result<Tensor> {
        let (batch, tokens, _) = context.dims3()?;
        if !tokens.is_multiple_of(SLOTS) {
            candle_core::bail!("slot maps read groups of {SLOTS} tokens, not {tokens}");
        }
        let maps = self.maps()?;
        let maps = Tensor::cat(&vec![&maps; tokens / SLOTS], 2)?;
        let (_, patches, _) = maps.dims3()?;
        maps.broadcast_as((batch, patches, tokens))?
            .contiguous()?
            .matmul(&self.project.forward(context)?.contiguous()?)
    }
}

/// A soft column per slot over the thirds of a frame `width` columns wide (width, slots):
/// a Gaussian of each column's centre around the slot's, [`COLUMN_WIDTH`] wide.
fn slot_columns(width: usize, device: &Device) -> Result<Tensor> {
    let mut values = Vec::with_capacity(width * SLOTS);
    for column in 0..width {
        let x = (column as f64 + 0.5) / width as f64;
        for slot in 0..SLOTS {
            let centre = (slot as f64 + 0.5) / SLOTS as f64;
            let z = (x - centre) / COLUMN_WIDTH;
            values.push((-0.5 * z * z).exp() as f32);
        }
    }
    Tensor::from_vec(values, (width, SLOTS), device)
}

/// Per keyframe, a weight per column of a frame `width` wide (batch, width): 1 plus
/// `weight` times the soft columns of the slots where someone stands (`present`, (batch,
/// slots), 1 or 0). The renderer's training loss uses it to weigh the figures.
pub fn figure_weights(present: &Tensor, width: usize, weight: f64) -> Result<Tensor> {
    let columns = slot_columns(width, present.device())?.t()?;
    (present.matmul(&columns)? * weight)?.affine(1.0, 1.0)
}

/// [`slot_columns`] over a `grid` × `grid` canvas of patches (1, grid × grid, slots), the
/// same in every row, rows of patches in raster order.
fn column_prior(grid: usize, device: &Device) -> Result<Tensor> {
    let columns = slot_columns(grid, device)?;
    Tensor::cat(&vec![&columns; grid], 0)?.unsqueeze(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_nn::VarMap;

    #[test]
    fn a_slot_weighs_most_on_its_own_third() -> Result<()> {
        let grid = 6;
        let prior = column_prior(grid, &Device::Cpu)?
            .squeeze(0)?
            .to_vec2::<f32>()?;
        for row in 0..grid {
            let left = &prior[row * grid];
            let middle = &prior[row * grid + grid / 2];
            let right = &prior[row * grid + grid - 1];
            assert!(left[0] > left[1] && left[1] > left[2], "{left:?}");
            assert!(middle[1] > middle[0] && middle[1] > middle[2], "{middle:?}");
            assert!(right[2] > right[1] && right[1] > right[0], "{right:?}");
        }
        Ok(())
    }

    #[test]
    fn figure_weights_rise_where_someone_stands_and_are_one_elsewhere() -> Result<()> {
        // Keyframe 0: someone on the left; keyframe 1: nobody.
        let present = Tensor::new(&[[1f32, 0.0, 0.0], [0.0, 0.0, 0.0]], &Device::Cpu)?;
        let weights = figure_weights(&present, 12, 3.0)?.to_vec2::<f32>()?;
        let (left, right) = (weights[0][1], weights[0][11]);
        assert!(left > 3.0 && right < 1.01, "left {left}, right {right}");
        assert!(weights[1].iter().all(|&w| w == 1.0), "{:?}", weights[1]);
        Ok(())
    }

    #[test]
    fn a_token_in_the_left_slot_changes_the_left_patches_most() -> Result<()> {
        let (grid, dim) = (4, 8);
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let maps = SlotMaps::new(grid, dim, vb)?;
        // Identities then costumes; only the left identity is set.
        let mut context = vec![0f32; 2 * SLOTS * dim];
        context[..dim].fill(1.0);
        let context = Tensor::from_vec(context, (1, 2 * SLOTS, dim), &Device::Cpu)?;
        let bias = maps.patch_bias(&context)?;
        assert_eq!(bias.dims3()?, (1, grid * grid, dim));
        let strength = bias.sqr()?.sum(2)?.squeeze(0)?.to_vec1::<f32>()?;
        let (first, last) = (strength[0], strength[grid - 1]);
        assert!(
            first > 10.0 * last,
            "left column {first}, right column {last}"
        );
        assert!(maps.patch_bias(&context.narrow(1, 0, 4)?).is_err());
        Ok(())
    }
}
