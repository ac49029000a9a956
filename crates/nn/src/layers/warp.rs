//! Moving a picture's pixels along a flow field, with bilinear sampling.
//!
//! A model that predicts motion as pixels must learn to shift shapes by fractions of a
//! patch through linear layers, and where it is unsure it predicts a blend of the shapes
//! at every place they might be: a ghost. Predicted as a flow, the same motion is a few
//! smooth numbers per pixel, and sampling the picture along it keeps every edge sharp
//! (the warping of flow-based video prediction). Candle has no grid sampler, so this is
//! built from `gather`; the gradient reaches the flow through the interpolation weights.

use candle_core::{DType, Device, Result, Tensor};

/// Samples `image` (batch, channels, height, width) along `flow` (batch, 2, height,
/// width): output pixel (x, y) is the image at (x + flow x, y + flow y), in pixels,
/// interpolated bilinearly, with places beyond the border reading the border. A zero flow
/// returns the image; a whole-pixel flow shifts it exactly.
pub fn warp(image: &Tensor, flow: &Tensor) -> Result<Tensor> {
    let (batch, channels, height, width) = image.dims4()?;
    let (flow_batch, flow_channels, flow_height, flow_width) = flow.dims4()?;
    if (flow_batch, flow_channels, flow_height, flow_width) != (batch, 2, height, width) {
        candle_core::bail!(
            "warp: a flow of shape {:?} does not fit a picture of shape {:?}",
            flow.dims(),
            image.dims()
        );
    }
    if height < 2 || width < 2 {
        candle_core::bail!("warp: a picture needs 2 pixels a side at least, not {height}x{width}");
    }
    let device = image.device();
    let (xs, ys) = pixel_grid(height, width, device)?;
    let source_x = flow
        .narrow(1, 0, 1)?
        .broadcast_add(&xs)?
        .clamp(0f32, (width - 1) as f32)?;
    let source_y = flow
        .narrow(1, 1, 1)?
        .broadcast_add(&ys)?
        .clamp(0f32, (height - 1) as f32)?;
    // The top-left neighbour, kept one pixel inside the right and bottom borders so that
    // its right and lower neighbours exist; the weight then reaches 1 at the border.
    let left = source_x.detach().floor()?.clamp(0f32, (width - 2) as f32)?;
    let top = source_y
        .detach()
        .floor()?
        .clamp(0f32, (height - 2) as f32)?;
    let right_weight = (source_x - &left)?;
    let lower_weight = (source_y - &top)?;

    let flat = image.reshape((batch, channels, height * width))?;
    let corner = |dx: f64, dy: f64| -> Result<Tensor> {
        let index = ((&top + dy)?.affine(width as f64, 0.0)? + (&left + dx)?)?
            .to_dtype(DType::U32)?
            .reshape((batch, 1, height * width))?
            .broadcast_as((batch, channels, height * width))?
            .contiguous()?;
        flat.gather(&index, 2)?
            .reshape((batch, channels, height, width))
    };
    let row = |dy: f64| -> Result<Tensor> {
        let (a, b) = (corner(0.0, dy)?, corner(1.0, dy)?);
        // a + w · (b − a), w broadcast over the channels.
        a.broadcast_add(&(b - &a)?.broadcast_mul(&right_weight)?)
    };
    let (upper, lower) = (row(0.0)?, row(1.0)?);
    upper.broadcast_add(&(lower - &upper)?.broadcast_mul(&lower_weight)?)
}

/// Each pixel's column and row, shaped (1, 1, height, width).
fn pixel_grid(height: usize, width: usize, device: &Device) -> Result<(Tensor, Tensor)> {
    let xs = Tensor::arange(0u32, width as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((1, 1, 1, width))?
        .broadcast_as((1, 1, height, width))?
        .contiguous()?;
    let ys = Tensor::arange(0u32, height as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((1, 1, height, 1))?
        .broadcast_as((1, 1, height, width))?
        .contiguous()?;
    Ok((xs, ys))
}

#[cfg(test)]
mod tests {
    use candle_core::Var;

    use super::*;

    /// A 1 × 1 × 4 × 6 picture whose pixel (x, y) is 10·y + x.
    fn ramp() -> Tensor {
        let values: Vec<f32> = (0..4)
            .flat_map(|y| (0..6).map(move |x| (10 * y + x) as f32))
            .collect();
        Tensor::from_vec(values, (1, 1, 4, 6), &Device::Cpu).unwrap()
    }

    fn constant_flow(dx: f32, dy: f32) -> Tensor {
        let x = Tensor::full(dx, (1, 1, 4, 6), &Device::Cpu).unwrap();
        let y = Tensor::full(dy, (1, 1, 4, 6), &Device::Cpu).unwrap();
        Tensor::cat(&[x, y], 1).unwrap()
    }

    fn pixels(t: &Tensor) -> Vec<Vec<f32>> {
        t.squeeze(0).unwrap().squeeze(0).unwrap().to_vec2().unwrap()
    }

    #[test]
    fn zero_flow_keeps_the_picture_and_whole_pixels_shift_it() {
        let image = ramp();
        assert_eq!(
            pixels(&warp(&image, &constant_flow(0.0, 0.0)).unwrap()),
            pixels(&image)
        );
        // Reading one pixel to the right and one down: pixel (x, y) becomes (x+1, y+1),
        // and the last column and row repeat the border.
        let shifted = pixels(&warp(&image, &constant_flow(1.0, 1.0)).unwrap());
        assert_eq!(shifted[0], vec![11.0, 12.0, 13.0, 14.0, 15.0, 15.0]);
        assert_eq!(shifted[3], vec![31.0, 32.0, 33.0, 34.0, 35.0, 35.0]);
    }

    #[test]
    fn fractions_of_a_pixel_interpolate_between_neighbours() {
        let half = pixels(&warp(&ramp(), &constant_flow(0.5, 0.25)).unwrap());
        // Linear in x and y: (x + 0.5) + 10 · (y + 0.25), inside the picture.
        assert!((half[1][2] - (2.5 + 12.5)).abs() < 1e-5, "{half:?}");
        // Left of the picture reads its border.
        let left = pixels(&warp(&ramp(), &constant_flow(-3.0, 0.0)).unwrap());
        assert_eq!(left[2][..3], [20.0, 20.0, 20.0]);
    }

    #[test]
    fn the_gradient_reaches_the_flow() {
        // Moving the sample point right raises a picture that brightens to the right, by
        // its slope: 1 per pixel along x, 10 along y.
        let flow = Var::from_tensor(&constant_flow(0.3, 0.6)).unwrap();
        let out = warp(&ramp(), flow.as_tensor()).unwrap();
        let grads = out
            .narrow(2, 1, 1)
            .unwrap()
            .narrow(3, 2, 1)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let g: Vec<f32> = grads
            .get(flow.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let at = 6 + 2; // pixel (2, 1) of the x channel
        assert!((g[at] - 1.0).abs() < 1e-5, "{g:?}");
        assert!((g[24 + at] - 10.0).abs() < 1e-5, "{g:?}");
        assert_eq!(g.iter().filter(|v| **v != 0.0).count(), 2);
    }

    #[test]
    fn a_flow_of_the_wrong_shape_is_refused() {
        let flow = Tensor::zeros((1, 2, 4, 5), DType::F32, &Device::Cpu).unwrap();
        assert!(warp(&ramp(), &flow).is_err());
    }
}
