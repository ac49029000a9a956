//! The 3×3 neighbourhood of every position of a channels-last map, side by side: the
//! input of a 3×3 convolution as one matrix product ([`super::Conv3x3`]).
//!
//! Why an op of its own: candle's backward pass gives every node of the graph a fresh
//! zeroed gradient and adds into it, so each full-size intermediate costs a zero fill, an
//! allocation and an addition. The neighbourhoods are nine times the map; built from
//! candle's ops (shifted copies of a padded map, or a gather and a reshape) they were two
//! to eighteen such nodes, and most of the evaluator's training step went to zero fills,
//! additions and fresh pages rather than to its matrix products (docs/results/evaluator.md,
//! "Where a training step's time went, again"). Here gathering is one node, and its
//! backward pass adds each neighbour's gradient back onto its position in one pass.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use crate::ops::{cpu_f32_values, is_f32_cpu};

/// (batch, h, w, channels) → (batch · h · w, 9 · channels): row by row, each position's
/// nine neighbours (dy, then dx, from −1 to 1), zeros beyond the edge. f32 CPU tensors
/// take the fused op; others a gather through a zero position.
pub fn neighbours_3x3(x: &Tensor) -> Result<Tensor> {
    let (batch, h, w, channels) = x.dims4()?;
    if is_f32_cpu(x) {
        return x.contiguous()?.apply_op1(Neighbours { h, w });
    }
    let zero = Tensor::zeros((batch, 1, channels), x.dtype(), x.device())?;
    let positions = Tensor::cat(&[&x.reshape((batch, h * w, channels))?, &zero], 1)?;
    let index: Vec<u32> = (0..h * w)
        .flat_map(|p| neighbour_positions(p / w, p % w, h, w))
        .map(|n| n.unwrap_or(h * w) as u32)
        .collect();
    let index = Tensor::from_vec(index, h * w * 9, x.device())?;
    positions
        .index_select(&index, 1)?
        .reshape((batch * h * w, 9 * channels))
}

/// The flat positions (y · w + x) of the nine neighbours of (y, x) in an `h` × `w` map,
/// `None` beyond the edge.
fn neighbour_positions(y: usize, x: usize, h: usize, w: usize) -> [Option<usize>; 9] {
    std::array::from_fn(|k| {
        let (ny, nx) = ((y + k / 3).checked_sub(1)?, (x + k % 3).checked_sub(1)?);
        (ny < h && nx < w).then_some(ny * w + nx)
    })
}

/// The gather, for maps of `h` × `w`.
struct Neighbours {
    h: usize,
    w: usize,
}

impl CustomOp1 for Neighbours {
    fn name(&self) -> &'static str {
        "neighbours-3x3"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32_values(self.name(), storage, layout)?;
        let (h, w) = (self.h, self.w);
        let channels = layout.shape().dims().last().copied().unwrap_or(1);
        let maps = x.len() / (h * w * channels);
        // Filled in order rather than zeroed first: most neighbours are inside the map.
        let mut out = Vec::with_capacity(x.len() * 9);
        for row in 0..maps * h * w {
            let (map, p) = (row / (h * w), row % (h * w));
            let base = map * h * w;
            for n in neighbour_positions(p / w, p % w, h, w) {
                match n {
                    Some(n) => {
                        let from = (base + n) * channels;
                        out.extend_from_slice(&x[from..from + channels]);
                    }
                    None => out.resize(out.len() + channels, 0.0),
                }
            }
        }
        let shape = Shape::from((maps * h * w, 9 * channels));
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let back = NeighboursBack {
            h: self.h,
            w: self.w,
            shape: arg.shape().clone(),
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&back)?))
    }
}

/// The gather's gradient: each neighbour's gradient added back onto its position.
struct NeighboursBack {
    h: usize,
    w: usize,
    /// The map's shape (batch, h, w, channels).
    shape: Shape,
}

impl CustomOp1 for NeighboursBack {
    fn name(&self) -> &'static str {
        "neighbours-3x3-backward"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let grad = cpu_f32_values(self.name(), storage, layout)?;
        let (h, w) = (self.h, self.w);
        let channels = self.shape.dims().last().copied().unwrap_or(1);
        let mut out = vec![0f32; self.shape.elem_count()];
        for (row, neighbourhood) in grad.chunks_exact(9 * channels).enumerate() {
            let (map, p) = (row / (h * w), row % (h * w));
            let base = map * h * w;
            let positions = neighbour_positions(p / w, p % w, h, w);
            for (slot, n) in neighbourhood.chunks_exact(channels).zip(positions) {
                if let Some(n) = n {
                    let to = (base + n) * channels;
                    for (o, g) in out[to..to + channels].iter_mut().zip(slot) {
                        *o += g;
                    }
                }
            }
        }
        Ok((CpuStorage::F32(out), self.shape.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::max_abs_diff;
    use candle_core::{DType, Device, IndexOp, Var};

    #[test]
    fn the_fused_gather_and_its_gradient_match_the_generic_one() {
        let map = Tensor::randn(0f32, 1.0, (2, 5, 4, 3), &Device::Cpu).unwrap();
        let x = Var::from_tensor(&map).unwrap();
        let fused = neighbours_3x3(x.as_tensor()).unwrap();
        // The generic path, as any other dtype would take it, computed in f64.
        let generic = neighbours_3x3(&x.as_tensor().to_dtype(DType::F64).unwrap())
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        assert_eq!(fused.dims(), &[40, 27]);
        assert_eq!(max_abs_diff(&fused, &generic).unwrap(), 0.0);
        // The corner (0, 0) sees zeros above and to its left, itself in the middle.
        let corner: Vec<f32> = fused.get(0).unwrap().to_vec1().unwrap();
        let own: Vec<f32> = map.i((0, 0, 0)).unwrap().to_vec1().unwrap();
        assert_eq!(&corner[..12], &[0.0; 12]);
        assert_eq!(&corner[12..15], own.as_slice());
        let upstream = Tensor::randn(0f32, 1.0, (40, 27), &Device::Cpu).unwrap();
        let fused_grad = (fused * &upstream)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let generic_grad = (neighbours_3x3(&x.as_tensor().to_dtype(DType::F64).unwrap()).unwrap()
            * upstream.to_dtype(DType::F64).unwrap())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
        let diff = max_abs_diff(
            fused_grad.get(&x).unwrap(),
            &generic_grad.get(&x).unwrap().to_dtype(DType::F32).unwrap(),
        )
        .unwrap();
        assert!(diff < 1e-5, "gradients differ by {diff}");
    }
}
