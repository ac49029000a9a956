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
}
