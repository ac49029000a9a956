//! The loss curve as a PNG: plotters draws into a pixel buffer (our build of plotters has no
//! fonts), the public-domain 8×8 bitmap font of `font8x8` labels the axes, and `image`
//! encodes the result.

use std::path::Path;

use font8x8::UnicodeFonts;

use plotters::prelude::*;

use super::TrainError;
use crate::checkpoint::write_atomically;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 450;
/// Pixels per font cell.
const SCALE: i32 = 1;
const TICKS: usize = 5;

/// Draws the training loss (light: raw, dark: smoothed) and, if any, the validation loss
/// (red) against the step, with a frame, a grid and numbers on the axes, and writes it to
/// `path` as a PNG, atomically.
pub(crate) fn plot_loss(
    train: &[(u64, f64)],
    validation: &[(u64, f64)],
    path: &Path,
) -> Result<(), TrainError> {
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    draw(train, validation, &mut rgb).map_err(|message| TrainError::Plot {
        path: path.to_path_buf(),
        message,
    })?;
    let image = image::RgbImage::from_raw(WIDTH, HEIGHT, rgb).ok_or_else(|| TrainError::Plot {
        path: path.to_path_buf(),
        message: "pixel buffer of the wrong size".into(),
    })?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|err| TrainError::Plot {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
    write_atomically(path, png.get_ref())?;
    Ok(())
}

/// An exponential moving average whose span grows with the length of the curve.
fn smooth(points: &[(u64, f64)]) -> Vec<(f64, f64)> {
    let span = (points.len() / 50).max(1) as f64;
    let alpha = 2.0 / (span + 1.0);
    let mut average = None;
    points
        .iter()
        .map(|&(step, loss)| {
            let value = average.map_or(loss, |a: f64| a + alpha * (loss - a));
            average = Some(value);
            (step as f64, value)
        })
        .collect()
}

fn draw(train: &[(u64, f64)], validation: &[(u64, f64)], rgb: &mut [u8]) -> Result<(), String> {
    let finite = |points: &[(u64, f64)]| -> Vec<(u64, f64)> {
        points
            .iter()
            .copied()
            .filter(|(_, loss)| loss.is_finite())
            .collect()
    };
    let (train, validation) = (finite(train), finite(validation));
    let smoothed = smooth(&train);

    let steps = train.iter().chain(&validation).map(|&(step, _)| step);
    let x_min = steps.clone().min().unwrap_or(0) as f64;
    let x_max = (steps.max().unwrap_or(1) as f64).max(x_min + 1.0);
    // The top follows the smoothed curve so that early spikes do not flatten the rest.
    let y_min = train
        .iter()
        .chain(&validation)
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min);
    let y_top = smoothed
        .iter()
        .map(|p| p.1)
        .chain(validation.iter().map(|p| p.1))
        .fold(f64::NEG_INFINITY, f64::max);
    let (y_min, y_top) = if y_min.is_finite() && y_top.is_finite() {
        (y_min, y_top)
    } else {
        (0.0, 1.0)
    };
    let pad = ((y_top - y_min) * 0.05).max(y_top.abs() * 1e-3).max(1e-9);
    let (y_min, y_max) = (y_min - pad, y_top + pad);
    let clamp = |(x, y): (f64, f64)| (x, y.clamp(y_min, y_max));

    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let area = root.margin(16, 36, 84, 20);
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(x_min..x_max, y_min..y_max)
        .map_err(|e| e.to_string())?;

    let grid = RGBColor(225, 225, 225);
    let ticks =
        |lo: f64, hi: f64| (0..TICKS).map(move |i| lo + (hi - lo) * i as f64 / (TICKS - 1) as f64);
    for x in ticks(x_min, x_max) {
        chart
            .draw_series(LineSeries::new([(x, y_min), (x, y_max)], grid))
            .map_err(|e| e.to_string())?;
    }
    for y in ticks(y_min, y_max) {
        chart
            .draw_series(LineSeries::new([(x_min, y), (x_max, y)], grid))
            .map_err(|e| e.to_string())?;
    }
    let raw = train.iter().map(|&(step, loss)| clamp((step as f64, loss)));
    chart
        .draw_series(LineSeries::new(raw, RGBColor(170, 200, 235)))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(
            smoothed.iter().copied().map(clamp),
            RGBColor(20, 70, 160).stroke_width(2),
        ))
        .map_err(|e| e.to_string())?;
    let validation = validation
        .iter()
        .map(|&(step, loss)| clamp((step as f64, loss)));
    chart
        .draw_series(LineSeries::new(validation, RED.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    let frame = [
        (x_min, y_min),
        (x_max, y_min),
        (x_max, y_max),
        (x_min, y_max),
        (x_min, y_min),
    ];
    chart
        .draw_series(LineSeries::new(frame, BLACK))
        .map_err(|e| e.to_string())?;

    // Tick marks and numbers, in pixels.
    let glyph_height = 8 * SCALE;
    for x in ticks(x_min, x_max) {
        let (px, py) = chart.backend_coord(&(x, y_min));
        root.draw(&PathElement::new([(px, py), (px, py + 5)], BLACK))
            .map_err(|e| e.to_string())?;
        let text = format!("{}", x.round() as i64);
        draw_text(&root, &text, px - text_width(&text) / 2, py + 9)?;
    }
    for y in ticks(y_min, y_max) {
        let (px, py) = chart.backend_coord(&(x_min, y));
        root.draw(&PathElement::new([(px - 5, py), (px, py)], BLACK))
            .map_err(|e| e.to_string())?;
        let text = number(y, y_max - y_min);
        draw_text(
            &root,
            &text,
            px - 9 - text_width(&text),
            py - glyph_height / 2,
        )?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

/// A tick label: enough decimals to tell ticks `range / 4` apart, or scientific notation.
fn number(value: f64, range: f64) -> String {
    let magnitude = value.abs().max(range);
    if magnitude != 0.0 && !(1e-3..1e6).contains(&magnitude) {
        return format!("{value:.2e}");
    }
    let step = (range / (TICKS - 1) as f64).max(f64::MIN_POSITIVE);
    let decimals = (-step.log10().floor() + 1.0).clamp(0.0, 6.0) as usize;
    format!("{value:.decimals$}")
}

/// The 8×8 glyph of a character, one row per byte, bit 0 on the left.
fn glyph(c: char) -> Option<[u8; 8]> {
    font8x8::BASIC_FONTS.get(c)
}

fn text_width(text: &str) -> i32 {
    text.chars().count() as i32 * 8 * SCALE
}

fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    x: i32,
    y: i32,
) -> Result<(), String> {
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        let left = x + i as i32 * 8 * SCALE;
        for (row, bits) in rows.iter().enumerate() {
            for column in 0..8 {
                if bits & (1 << column) == 0 {
                    continue;
                }
                for dy in 0..SCALE {
                    for dx in 0..SCALE {
                        let pixel = (left + column * SCALE + dx, y + row as i32 * SCALE + dy);
                        area.draw_pixel(pixel, &BLACK).map_err(|e| e.to_string())?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short_and_distinct() {
        assert_eq!(number(0.5, 1.0), "0.50");
        assert_eq!(number(2.0, 4.0), "2.0");
        assert_eq!(number(1234.0, 1000.0), "1234");
        assert_eq!(number(0.0123, 0.004), "0.0123");
        assert_eq!(number(2e-5, 1e-5), "2.00e-5");
        assert!("0123456789.-+e".chars().all(|c| glyph(c).is_some()));
    }

    #[test]
    fn the_plot_is_a_png_with_the_curve_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let train: Vec<(u64, f64)> = (0..300)
            .map(|s| (s, 2.0 / (1.0 + s as f64 * 0.05) + 0.1 * ((s % 7) as f64)))
            .collect();
        plot_loss(&train, &[(100, 0.9), (200, 0.6), (300, 0.5)], &path).unwrap();
        let picture = image::load_from_memory(&std::fs::read(&path).unwrap())
            .unwrap()
            .to_rgb8();
        assert_eq!((picture.width(), picture.height()), (WIDTH, HEIGHT));
        let rgb = picture.into_raw();
        let count = |color: [u8; 3]| rgb.chunks_exact(3).filter(|p| *p == color).count();
        assert!(count([20, 70, 160]) > 500, "the smoothed curve");
        assert!(count([255, 0, 0]) > 100, "the validation curve");
        assert!(count([0, 0, 0]) > 2000, "frame, ticks and numbers");

        // Nothing to draw yet, or only a NaN: still a valid picture.
        plot_loss(&[], &[], &path).unwrap();
        plot_loss(&[(0, f64::NAN)], &[], &path).unwrap();
        image::load_from_memory(&std::fs::read(&path).unwrap()).unwrap();
    }
}
