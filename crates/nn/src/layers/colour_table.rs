//! A learned colour table: every pixel's colour looked up, by trilinear interpolation, in a
//! small 3-D grid of learned vectors.
//!
//! Why: two neighbouring skin tones differ by about 20 of 255 levels, a change of 0.16 in a
//! picture scaled to [-1, 1]. Through a 3×3 convolution with weights of about 0.2 that
//! reaches the next layer as a few hundredths beside edge features a hundred times stronger,
//! and a layer norm at each place then divides out what is left of the brightness. A table
//! gives each small cell of colour space its own vector, so two tones a cell apart can mean
//! unrelated things from the first step; interpolation keeps it smooth for colours between
//! the grid points (a generated keyframe is never exact).

use candle_core::{CpuStorage, CustomOp2, D, DType, Layout, Result, Shape, Tensor};
use candle_nn::VarBuilder;

use crate::ops::{cpu_f32_values, is_f32_cpu};

/// A grid of `points`³ learned vectors over the RGB cube; starts at zero, so a network that
/// adds its output starts as it would without it.
#[derive(Debug, Clone)]
pub struct ColourTable {
    points: usize,
    table: Tensor,
}

impl ColourTable {
    /// `points` grid points per channel (at least 2), vectors of `dim`.
    pub fn new(points: usize, dim: usize, vb: VarBuilder) -> Result<Self> {
        if points < 2 {
            candle_core::bail!(
                "colour table: {points} grid points per channel; it needs at least 2"
            );
        }
        let table = vb.get_with_hints(
            (points * points * points, dim),
            "table",
            candle_nn::Init::Const(0.0),
        )?;
        Ok(ColourTable { points, table })
    }

    /// Pixels (..., 3) in [-1, 1] → their vectors (..., dim). Differentiable in the table,
    /// not in the pixels. f32 CPU tensors take the fused lookup ([`TrilinearLookup`]);
    /// others compose candle's ops.
    pub fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let dims = pixels.dims().to_vec();
        let flat = pixels.flatten_to(D::Minus2)?;
        let out = if is_f32_cpu(&flat) && is_f32_cpu(&self.table) {
            let lookup = TrilinearLookup {
                points: self.points,
            };
            flat.contiguous()?
                .apply_op2(&self.table.contiguous()?, lookup)?
        } else {
            self.composed(&flat)?
        };
        let mut shape = dims;
        *shape.last_mut().expect("pixels have a channel dimension") = self.table.dim(1)?;
        out.reshape(shape)
    }

    /// The lookup composed from candle's ops: pixels (n, 3) → (n, dim).
    fn composed(&self, pixels: &Tensor) -> Result<Tensor> {
        let last = self.points - 1;
        // Grid coordinates, kept just below the last point so every cell has a far corner.
        let grid = ((pixels.to_dtype(DType::F32)? + 1.0)? * (last as f64 / 2.0))?
            .clamp(0.0, last as f64 - 1e-4)?;
        let low = grid.floor()?;
        let frac = (&grid - &low)?;
        let strides = [self.points * self.points, self.points, 1];
        let base = low
            .broadcast_mul(&Tensor::new(&strides.map(|s| s as f32), pixels.device())?)?
            .sum(D::Minus1)?;
        // Per channel, the weight of the cell's low and high corner.
        let high = (0..3)
            .map(|c| frac.narrow(D::Minus1, c, 1))
            .collect::<Result<Vec<_>>>()?;
        let low_weights = high.iter().map(|f| 1.0 - f).collect::<Result<Vec<_>>>()?;
        // One of the cell's eight corners, weighted: bit 2 of `corner` picks red's high side,
        // bit 1 green's, bit 0 blue's.
        let corner_term = |corner: usize| -> Result<Tensor> {
            let up = [corner >> 2 & 1, corner >> 1 & 1, corner & 1];
            let offset: usize = (0..3).map(|c| up[c] * strides[c]).sum();
            let index = (&base + offset as f64)?.to_dtype(DType::U32)?;
            let pick = |c: usize| {
                if up[c] == 1 {
                    &high[c]
                } else {
                    &low_weights[c]
                }
            };
            let weight = ((pick(0) * pick(1))? * pick(2))?;
            self.table.index_select(&index, 0)?.broadcast_mul(&weight)
        };
        let mut out = corner_term(0)?;
        for corner in 1..8 {
            out = (out + corner_term(corner)?)?;
        }
        Ok(out)
    }
}

/// Where a pixel falls in the grid: the flat index of its cell's low corner and, per
/// channel, how far towards the high corner (0 to 1).
fn cell(pixel: &[f32], points: usize) -> (usize, [f32; 3]) {
    let last = (points - 1) as f32;
    let mut base = 0;
    let mut frac = [0f32; 3];
    for c in 0..3 {
        // Kept just below the last point so every cell has a far corner.
        let grid = ((pixel[c] + 1.0) * (last / 2.0)).clamp(0.0, last - 1e-4);
        let low = grid.floor();
        frac[c] = grid - low;
        base = base * points + low as usize;
    }
    (base, frac)
}

/// The eight corners of a cell: each one's offset from the low corner and its weight.
fn corners(points: usize, frac: [f32; 3]) -> [(usize, f32); 8] {
    let strides = [points * points, points, 1];
    std::array::from_fn(|corner| {
        // Bit 2 of `corner` picks red's high side, bit 1 green's, bit 0 blue's.
        let up = [corner >> 2 & 1, corner >> 1 & 1, corner & 1];
        let offset = (0..3).map(|c| up[c] * strides[c]).sum();
        let weight = (0..3)
            .map(|c| if up[c] == 1 { frac[c] } else { 1.0 - frac[c] })
            .product();
        (offset, weight)
    })
}

/// (pixels (n, 3), table (points³, dim)) → (n, dim), trilinear, in one pass; its backward
/// pass adds each pixel's gradient onto its cell's eight corners in one more. Composed from
/// candle's ops the lookup was eight gathers, products and sums at the size of the
/// output, each a node of candle's backward pass.
struct TrilinearLookup {
    points: usize,
}

impl CustomOp2 for TrilinearLookup {
    fn name(&self) -> &'static str {
        "colour-table-lookup"
    }

    fn cpu_fwd(
        &self,
        ps: &CpuStorage,
        p_layout: &Layout,
        ts: &CpuStorage,
        t_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let pixels = cpu_f32_values(self.name(), ps, p_layout)?;
        let table = cpu_f32_values(self.name(), ts, t_layout)?;
        let dim = t_layout.shape().dims().last().copied().unwrap_or(1);
        let mut out = vec![0f32; pixels.len() / 3 * dim];
        for (pixel, out) in pixels.chunks_exact(3).zip(out.chunks_exact_mut(dim)) {
            let (base, frac) = cell(pixel, self.points);
            for (offset, weight) in corners(self.points, frac) {
                let row = (base + offset) * dim;
                for (o, &v) in out.iter_mut().zip(&table[row..row + dim]) {
                    *o += weight * v;
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((pixels.len() / 3, dim))))
    }

    fn bwd(
        &self,
        pixels: &Tensor,
        table: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let back = TrilinearLookupBack {
            points: self.points,
            table_shape: table.shape().clone(),
        };
        let grad_table = pixels.apply_op2_no_bwd(&grad.contiguous()?, &back)?;
        Ok((None, Some(grad_table)))
    }
}

/// The table's gradient: each pixel's gradient, weighted, added onto its cell's corners.
struct TrilinearLookupBack {
    points: usize,
    table_shape: Shape,
}

impl CustomOp2 for TrilinearLookupBack {
    fn name(&self) -> &'static str {
        "colour-table-lookup-backward"
    }

    fn cpu_fwd(
        &self,
        ps: &CpuStorage,
        p_layout: &Layout,
        gs: &CpuStorage,
        g_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let pixels = cpu_f32_values(self.name(), ps, p_layout)?;
        let grad = cpu_f32_values(self.name(), gs, g_layout)?;
        let dim = self.table_shape.dims().last().copied().unwrap_or(1);
        let mut table = vec![0f32; self.table_shape.elem_count()];
        for (pixel, grad) in pixels.chunks_exact(3).zip(grad.chunks_exact(dim)) {
            let (base, frac) = cell(pixel, self.points);
            for (offset, weight) in corners(self.points, frac) {
                let row = (base + offset) * dim;
                for (t, &g) in table[row..row + dim].iter_mut().zip(grad) {
                    *t += weight * g;
                }
            }
        }
        Ok((CpuStorage::F32(table), self.table_shape.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::VarMap;

    #[test]
    fn reads_grid_points_exactly_and_interpolates_between_them() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let table = ColourTable::new(3, 1, vb).unwrap();
        // Each grid point's vector is its index: 9 r + 3 g + b.
        let values = Tensor::arange(0f32, 27.0, &Device::Cpu)
            .unwrap()
            .reshape((27, 1))
            .unwrap();
        varmap
            .data()
            .lock()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .set(&values)
            .unwrap();
        let read = |rgb: [f32; 3]| -> f32 {
            let pixel = Tensor::new(&[[rgb]], &Device::Cpu).unwrap();
            table
                .forward(&pixel)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()[0]
        };
        // Black, white and the middle grey sit on grid points.
        assert!((read([-1.0, -1.0, -1.0]) - 0.0).abs() < 1e-3);
        assert!((read([1.0, 1.0, 1.0]) - 26.0).abs() < 1e-2);
        assert!((read([0.0, 0.0, 0.0]) - 13.0).abs() < 1e-3);
        // Halfway between black and the middle in red alone: halfway between 0 and 9.
        assert!((read([-0.5, -1.0, -1.0]) - 4.5).abs() < 1e-3);
        assert_eq!(
            table
                .forward(&Tensor::zeros((2, 4, 5, 3), DType::F32, &Device::Cpu).unwrap())
                .unwrap()
                .dims(),
            &[2, 4, 5, 1]
        );
    }

    #[test]
    fn the_fused_lookup_matches_the_composed_one_and_its_gradient() {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let table = ColourTable::new(5, 4, vb).unwrap();
        let var = varmap.all_vars().pop().unwrap();
        var.set(&Tensor::randn(0f32, 1.0, (125, 4), &Device::Cpu).unwrap())
            .unwrap();
        // Pixels everywhere in the cube, the edges included.
        let pixels = Tensor::rand(-1.2f32, 1.2, (2, 30, 3), &Device::Cpu)
            .unwrap()
            .clamp(-1f32, 1f32)
            .unwrap();
        let fused = table.forward(&pixels).unwrap();
        let composed = table
            .composed(&pixels.flatten_to(1).unwrap())
            .unwrap()
            .reshape((2, 30, 4))
            .unwrap();
        assert!(crate::ops::max_abs_diff(&fused, &composed).unwrap() < 1e-5);
        let upstream = Tensor::randn(0f32, 1.0, (2, 30, 4), &Device::Cpu).unwrap();
        let gradient = |out: Tensor| {
            let grads = (out * &upstream)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            grads.get(var.as_tensor()).unwrap().clone()
        };
        let diff = crate::ops::max_abs_diff(&gradient(fused), &gradient(composed)).unwrap();
        assert!(diff < 1e-5, "the table's gradients differ by {diff}");
    }
}
