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

use candle_core::{D, DType, Result, Tensor};
use candle_nn::VarBuilder;

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
    /// not in the pixels.
    pub fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let dims = pixels.dims().to_vec();
        let last = self.points - 1;
        // Grid coordinates, kept just below the last point so every cell has a far corner.
        let grid = ((pixels.flatten_to(D::Minus2)?.to_dtype(DType::F32)? + 1.0)?
            * (last as f64 / 2.0))?
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
        let mut shape = dims;
        *shape.last_mut().expect("pixels have a channel dimension") = self.table.dim(1)?;
        out.reshape(shape)
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
}
