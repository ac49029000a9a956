//! Cutting images into patch tokens and back, with DiT's conventions: a patch is flattened
//! channel-major `(C, p, p)` on the way in, as a `p`-stride convolution's weights are laid
//! out, and pixel-major `(p, p, C)` on the way out, as DiT's final layer emits it.

use candle_core::{Result, Tensor};

/// (batch, channels, height, width) → (batch, patches, channels · p · p).
pub fn patchify(x: &Tensor, p: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    if p == 0 || !h.is_multiple_of(p) || !w.is_multiple_of(p) {
        candle_core::bail!("patchify: {h}x{w} is not a multiple of the patch size {p}");
    }
    let (gh, gw) = (h / p, w / p);
    x.reshape(vec![b, c, gh, p, gw, p])?
        .permute(vec![0, 2, 4, 1, 3, 5])?
        .reshape((b, gh * gw, c * p * p))
}

/// (batch, patches, p · p · channels) → (batch, channels, height, width).
pub fn unpatchify(
    x: &Tensor,
    p: usize,
    channels: usize,
    height: usize,
    width: usize,
) -> Result<Tensor> {
    let b = x.dim(0)?;
    let (gh, gw) = (height / p, width / p);
    x.reshape(vec![b, gh, gw, p, p, channels])?
        .permute(vec![0, 5, 1, 3, 2, 4])?
        .reshape((b, channels, height, width))
}

/// Fixed 2-D sine-cosine position embeddings for a `rows` × `columns` grid of patches in
/// [`patchify`]'s (row-major) order, shape (1, rows · columns, dim), as in MAE and DiT:
/// the first half of the channels encodes the row, the second the column, each as sines and
/// cosines at geometrically spaced frequencies. Fixed rather than learned because learned
/// embeddings start small and a short training run then never learns where a patch is: the
/// tokenizer's reconstructions came out as the right colours in the wrong places.
pub fn sincos_positions_2d(
    rows: usize,
    columns: usize,
    dim: usize,
    device: &candle_core::Device,
) -> Result<Tensor> {
    if dim == 0 || !dim.is_multiple_of(4) {
        candle_core::bail!("2-D sine-cosine positions need a width divisible by 4, not {dim}");
    }
    let quarter = dim / 4;
    let frequencies: Vec<f64> = (0..quarter)
        .map(|i| 1.0 / 10_000f64.powf(i as f64 / quarter as f64))
        .collect();
    let mut values = Vec::with_capacity(rows * columns * dim);
    for row in 0..rows {
        for column in 0..columns {
            for position in [row, column] {
                values.extend(
                    frequencies
                        .iter()
                        .map(|f| (position as f64 * f).sin() as f32),
                );
                values.extend(
                    frequencies
                        .iter()
                        .map(|f| (position as f64 * f).cos() as f32),
                );
            }
        }
    }
    Tensor::from_vec(values, (1, rows * columns, dim), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn patches_hold_the_right_pixels_and_round_trip() {
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 4.0 * 6.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3, 4, 6))
            .unwrap();
        let patches = patchify(&x, 2).unwrap();
        assert_eq!(patches.dims(), &[2, 6, 12]);
        // Patch 1 of image 0 is rows 0-1, columns 2-3; channel 0 comes first.
        let first = patches
            .get(0)
            .unwrap()
            .get(1)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(&first[..4], &[2.0, 3.0, 8.0, 9.0]);
        // Pixel-major patches unpatchify back to the image.
        let pixel_major = x
            .reshape(vec![2, 3, 2, 2, 3, 2])
            .unwrap()
            .permute(vec![0, 2, 4, 3, 5, 1])
            .unwrap()
            .reshape((2, 6, 12))
            .unwrap();
        let back = unpatchify(&pixel_major, 2, 3, 4, 6).unwrap();
        let diff = (back - &x)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        assert!(patchify(&x, 4).is_err());
    }

    #[test]
    fn sincos_positions_tell_every_patch_apart() {
        let positions = sincos_positions_2d(4, 4, 16, &Device::Cpu).unwrap();
        assert_eq!(positions.dims(), &[1, 16, 16]);
        let rows: Vec<Vec<f32>> = positions.squeeze(0).unwrap().to_vec2().unwrap();
        // Patch (0, 0): sin 0 = 0 and cos 0 = 1 for both row and column halves.
        assert_eq!(rows[0], [[0.0; 4], [1.0; 4], [0.0; 4], [1.0; 4]].concat());
        for i in 0..16 {
            for j in (i + 1)..16 {
                let distance: f32 = rows[i]
                    .iter()
                    .zip(&rows[j])
                    .map(|(a, b)| (a - b).powi(2))
                    .sum();
                assert!(distance > 0.1, "patches {i} and {j} look alike");
            }
        }
        assert!(sincos_positions_2d(2, 2, 6, &Device::Cpu).is_err());
    }
}
