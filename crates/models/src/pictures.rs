//! Pictures to tensors and back.
//!
//! Models see pixels as f32 in [-1, 1] (channel-first, as candle's convolutions expect), the
//! range diffusion models are trained in. The map `v / 127.5 - 1` and its inverse with
//! rounding give back every u8 exactly, so saving a model's input shows exactly what it saw.

use candle_core::{DType, Device, Result, Tensor, bail};
use image::RgbImage;

/// Stacks pictures of one size into a (B, 3, H, W) f32 tensor with values in [-1, 1].
pub fn to_tensor(images: &[RgbImage], device: &Device) -> Result<Tensor> {
    let Some(first) = images.first() else {
        bail!("cannot make a tensor of no pictures")
    };
    let (width, height) = first.dimensions();
    let plane = (width * height) as usize;
    let mut values = vec![0f32; images.len() * 3 * plane];
    for (b, image) in images.iter().enumerate() {
        if image.dimensions() != (width, height) {
            bail!(
                "picture {b} is {}x{} but picture 0 is {width}x{height}: a batch needs one size",
                image.width(),
                image.height()
            );
        }
        let base = b * 3 * plane;
        for (p, pixel) in image.pixels().enumerate() {
            for c in 0..3 {
                values[base + c * plane + p] = f32::from(pixel[c]) / 127.5 - 1.0;
            }
        }
    }
    Tensor::from_vec(
        values,
        (images.len(), 3, height as usize, width as usize),
        device,
    )
}

/// Turns a (B, 3, H, W) tensor in [-1, 1] back into pictures: values outside the range are
/// clamped (a model's output may overshoot), then rounded to the nearest u8.
pub fn from_tensor(tensor: &Tensor) -> Result<Vec<RgbImage>> {
    let Ok((batch, channels, height, width)) = tensor.dims4() else {
        bail!(
            "expected a (batch, 3, height, width) tensor, got shape {:?}",
            tensor.dims()
        )
    };
    if channels != 3 {
        bail!(
            "expected 3 colour channels, got {channels} (shape {:?})",
            tensor.dims()
        );
    }
    let values = tensor
        .to_device(&Device::Cpu)?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let plane = height * width;
    let mut images = Vec::with_capacity(batch);
    for b in 0..batch {
        let base = b * 3 * plane;
        let mut image = RgbImage::new(width as u32, height as u32);
        for (p, pixel) in image.pixels_mut().enumerate() {
            for c in 0..3 {
                let v = (values[base + c * plane + p] + 1.0) * 127.5;
                // NaN becomes 0 through the saturating cast.
                pixel[c] = v.clamp(0.0, 255.0).round() as u8;
            }
        }
        images.push(image);
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every u8 value in every channel, in a 16x16 picture, and a second different one.
    fn all_values() -> Vec<RgbImage> {
        let a = RgbImage::from_fn(16, 16, |x, y| {
            let v = (y * 16 + x) as u8;
            image::Rgb([v, 255 - v, v.wrapping_mul(7)])
        });
        let b = RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8, y as u8, 128]));
        vec![a, b]
    }

    #[test]
    fn round_trip_is_exact_for_every_u8() {
        let images = all_values();
        let tensor = to_tensor(&images, &Device::Cpu).unwrap();
        assert_eq!(tensor.dims(), &[2, 3, 16, 16]);
        assert_eq!(from_tensor(&tensor).unwrap(), images);
    }

    #[test]
    fn values_span_minus_one_to_one_channel_first() {
        let images = all_values();
        let tensor = to_tensor(&images, &Device::Cpu).unwrap();
        let min = tensor.flatten_all().unwrap().min(0).unwrap();
        let max = tensor.flatten_all().unwrap().max(0).unwrap();
        assert_eq!(min.to_scalar::<f32>().unwrap(), -1.0);
        assert_eq!(max.to_scalar::<f32>().unwrap(), 1.0);
        // Picture 1, green channel, row 5, column 2 holds y = 5.
        let v = tensor
            .get(1)
            .unwrap()
            .get(1)
            .unwrap()
            .get(5)
            .unwrap()
            .get(2)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(v, 5.0 / 127.5 - 1.0);
    }

    #[test]
    fn out_of_range_values_are_clamped() {
        let t = Tensor::from_vec(vec![-3.0f32, 2.0, f32::NAN], (1, 3, 1, 1), &Device::Cpu).unwrap();
        let image = &from_tensor(&t).unwrap()[0];
        assert_eq!(image.get_pixel(0, 0).0, [0, 255, 0]);
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(to_tensor(&[], &Device::Cpu).is_err());
        let mixed = [RgbImage::new(4, 4), RgbImage::new(4, 5)];
        let err = to_tensor(&mixed, &Device::Cpu).unwrap_err();
        assert!(err.to_string().contains("picture 1 is 4x5"), "{err}");
        let grey = Tensor::zeros((1, 1, 4, 4), DType::F32, &Device::Cpu).unwrap();
        assert!(from_tensor(&grey).is_err());
        let flat = Tensor::zeros((3, 4, 4), DType::F32, &Device::Cpu).unwrap();
        assert!(from_tensor(&flat).is_err());
    }
}
