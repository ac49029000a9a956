//! Line charts as PNG files: the training loss curve, and any chart of a few labelled lines
//! (the benchmark's identity consistency by distance). plotters draws into a pixel buffer
//! (our build of plotters has no fonts), the public-domain 8×8 bitmap font of `font8x8`
//! labels the axes and the legend, and `image` encodes the result.

use std::path::Path;

use font8x8::UnicodeFonts;

use plotters::prelude::*;

use crate::checkpoint::{CheckpointError, write_atomically};

const WIDTH: u32 = 800;
const HEIGHT: u32 = 450;
/// Pixels per font cell.
const SCALE: i32 = 1;
const TICKS: usize = 5;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its points, in order along x; non-finite ones are left out.
    pub points: Vec<(f64, f64)>,
    /// Its colour (RGB).
    pub colour: [u8; 3],
    /// Stroke width in pixels.
    pub width: u32,
    /// Its name in the legend; `None` keeps it out of the legend.
    pub label: Option<String>,
}

/// A chart: lines over one pair of axes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    /// Drawn in order, the last on top.
    pub lines: Vec<Line>,
    /// The y range shown; `None` fits every point (points outside are clamped to it).
    pub y_range: Option<(f64, f64)>,
    /// Labels on the x axis at these x values, which the axis then spans; `None`: five
    /// evenly spaced numbers.
    pub x_ticks: Option<Vec<(f64, String)>>,
}

/// A chart that could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters (or the PNG encoder) failed.
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] CheckpointError),
}

/// Draws `chart` with a frame, a grid, numbers on the axes and a legend, and writes it to
/// `path` as a PNG, atomically.
pub fn write_chart(chart: &Chart, path: &Path) -> Result<(), PlotError> {
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    draw(chart, &mut rgb).map_err(PlotError::Draw)?;
    let image = image::RgbImage::from_raw(WIDTH, HEIGHT, rgb)
        .ok_or_else(|| PlotError::Draw("pixel buffer of the wrong size".into()))?;
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|err| PlotError::Draw(err.to_string()))?;
    write_atomically(path, png.get_ref())?;
    Ok(())
}

/// The training loss (light: raw, dark: smoothed) and, if any, the validation loss (red)
/// against the step. The top of the y axis follows the smoothed curve, so that early spikes
/// do not flatten the rest.
pub fn loss_chart(train: &[(u64, f64)], validation: &[(u64, f64)]) -> Chart {
    let finite = |points: &[(u64, f64)]| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(|(_, loss)| loss.is_finite())
            .map(|&(step, loss)| (step as f64, loss))
            .collect()
    };
    let (train, validation) = (finite(train), finite(validation));
    let smoothed = smooth(&train);
    let y_min = train
        .iter()
        .chain(&validation)
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min);
    let y_top = smoothed
        .iter()
        .chain(&validation)
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let line = |points: Vec<(f64, f64)>, colour: [u8; 3], width: u32| Line {
        points,
        colour,
        width,
        label: None,
    };
    Chart {
        lines: vec![
            line(train, [170, 200, 235], 1),
            line(smoothed, [20, 70, 160], 2),
            line(validation, [255, 0, 0], 2),
        ],
        y_range: (y_min.is_finite() && y_top.is_finite()).then_some((y_min, y_top)),
        x_ticks: None,
    }
}

/// An exponential moving average whose span grows with the length of the curve.
fn smooth(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let span = (points.len() / 50).max(1) as f64;
    let alpha = 2.0 / (span + 1.0);
    let mut average = None;
    points
        .iter()
        .map(|&(x, y)| {
            let value = average.map_or(y, |a: f64| a + alpha * (y - a));
            average = Some(value);
            (x, value)
        })
        .collect()
}

fn draw(chart: &Chart, rgb: &mut [u8]) -> Result<(), String> {
    let lines: Vec<Vec<(f64, f64)>> = chart
        .lines
        .iter()
        .map(|line| {
            line.points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let all = || lines.iter().flatten();
    // The x axis spans the points and any labelled ticks.
    let tick_xs = || chart.x_ticks.iter().flatten().map(|t| t.0);
    let xs = || all().map(|p| p.0).chain(tick_xs());
    let x_min = xs().fold(f64::INFINITY, f64::min);
    let x_max = xs().fold(f64::NEG_INFINITY, f64::max);
    let (x_min, x_max) = if x_min.is_finite() {
        (x_min, x_max.max(x_min + 1.0))
    } else {
        (0.0, 1.0)
    };
    let fitted = (
        all().map(|p| p.1).fold(f64::INFINITY, f64::min),
        all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
    );
    let (y_min, y_top) = match chart.y_range.unwrap_or(fitted) {
        (lo, hi) if lo.is_finite() && hi.is_finite() => (lo, hi),
        _ => (0.0, 1.0),
    };
    let pad = ((y_top - y_min) * 0.05).max(y_top.abs() * 1e-3).max(1e-9);
    let (y_min, y_max) = (y_min - pad, y_top + pad);
    let clamp = |&(x, y): &(f64, f64)| (x, y.clamp(y_min, y_max));

    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let area = root.margin(16, 36, 84, 20);
    let mut plot = ChartBuilder::on(&area)
        .build_cartesian_2d(x_min..x_max, y_min..y_max)
        .map_err(|e| e.to_string())?;

    let grid = RGBColor(225, 225, 225);
    let ticks =
        |lo: f64, hi: f64| (0..TICKS).map(move |i| lo + (hi - lo) * i as f64 / (TICKS - 1) as f64);
    let x_ticks: Vec<(f64, String)> = match &chart.x_ticks {
        Some(labelled) => labelled.clone(),
        None => ticks(x_min, x_max)
            .map(|x| (x, format!("{}", x.round() as i64)))
            .collect(),
    };
    for &(x, _) in &x_ticks {
        plot.draw_series(LineSeries::new([(x, y_min), (x, y_max)], grid))
            .map_err(|e| e.to_string())?;
    }
    for y in ticks(y_min, y_max) {
        plot.draw_series(LineSeries::new([(x_min, y), (x_max, y)], grid))
            .map_err(|e| e.to_string())?;
    }
    for (line, points) in chart.lines.iter().zip(&lines) {
        let [r, g, b] = line.colour;
        plot.draw_series(LineSeries::new(
            points.iter().map(clamp),
            RGBColor(r, g, b).stroke_width(line.width),
        ))
        .map_err(|e| e.to_string())?;
    }
    let frame = [
        (x_min, y_min),
        (x_max, y_min),
        (x_max, y_max),
        (x_min, y_max),
        (x_min, y_min),
    ];
    plot.draw_series(LineSeries::new(frame, BLACK))
        .map_err(|e| e.to_string())?;

    // Tick marks and numbers, in pixels.
    let glyph_height = 8 * SCALE;
    for (x, text) in &x_ticks {
        let (px, py) = plot.backend_coord(&(*x, y_min));
        root.draw(&PathElement::new([(px, py), (px, py + 5)], BLACK))
            .map_err(|e| e.to_string())?;
        draw_text(&root, text, px - text_width(text) / 2, py + 9, BLACK)?;
    }
    for y in ticks(y_min, y_max) {
        let (px, py) = plot.backend_coord(&(x_min, y));
        root.draw(&PathElement::new([(px - 5, py), (px, py)], BLACK))
            .map_err(|e| e.to_string())?;
        let text = number(y, y_max - y_min);
        draw_text(
            &root,
            &text,
            px - 9 - text_width(&text),
            py - glyph_height / 2,
            BLACK,
        )?;
    }
    // The legend, top right inside the frame, one line per label in its line's colour.
    let (right, top) = plot.backend_coord(&(x_max, y_max));
    for (row, line) in chart.lines.iter().filter(|l| l.label.is_some()).enumerate() {
        let label = line.label.as_deref().unwrap_or_default();
        let [r, g, b] = line.colour;
        let y = top + 8 + row as i32 * (glyph_height + 6);
        let x = right - 8 - text_width(label);
        root.draw(&Rectangle::new(
            [(x - 22, y), (x - 6, y + glyph_height)],
            RGBColor(r, g, b).filled(),
        ))
        .map_err(|e| e.to_string())?;
        draw_text(&root, label, x, y, BLACK)?;
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
    colour: RGBColor,
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
                        area.draw_pixel(pixel, &colour).map_err(|e| e.to_string())?;
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
        write_chart(
            &loss_chart(&train, &[(100, 0.9), (200, 0.6), (300, 0.5)]),
            &path,
        )
        .unwrap();
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
        write_chart(&loss_chart(&[], &[]), &path).unwrap();
        write_chart(&loss_chart(&[(0, f64::NAN)], &[]), &path).unwrap();
        image::load_from_memory(&std::fs::read(&path).unwrap()).unwrap();
    }

    #[test]
    fn labelled_lines_get_a_legend_and_their_own_ticks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        let line = |colour: [u8; 3], label: &str, y: f64| Line {
            points: (0..6).map(|x| (x as f64, y - 0.05 * x as f64)).collect(),
            colour,
            width: 2,
            label: Some(label.into()),
        };
        let chart = Chart {
            lines: vec![
                line([0, 128, 0], "full", 0.9),
                line([200, 100, 0], "none", 0.6),
            ],
            y_range: Some((0.0, 1.0)),
            x_ticks: Some((0..6).map(|x| (x as f64, format!("{}", 1 << x))).collect()),
        };
        write_chart(&chart, &path).unwrap();
        let rgb = image::open(&path).unwrap().to_rgb8().into_raw();
        let count = |color: [u8; 3]| rgb.chunks_exact(3).filter(|p| *p == color).count();
        // Each line and its legend swatch (16 × 8 px).
        assert!(count([0, 128, 0]) > 500 + 128, "{}", count([0, 128, 0]));
        assert!(count([200, 100, 0]) > 500 + 128);
    }
}
