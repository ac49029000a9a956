//! A drawing surface that applies the film's style to every shape: the background and the
//! characters only say *what* to draw, in their own colours; the canvas decides how fills
//! and outlines look. tiny-skia does the anti-aliased rasterising.

use tiny_skia::{
    Color, FillRule, LineCap, Paint, Path, PathBuilder, Pixmap, Rect, Shader, Stroke, Transform,
};

use crate::identity::Rgb;
use crate::world::Style;

/// The pixel surface plus the current transform from drawing units to pixels.
pub struct Canvas {
    pixmap: Pixmap,
    style: Style,
    transform: Transform,
    /// Pixels per drawing unit, for outline widths that stay constant on screen.
    pixels_per_unit: f32,
    size: f32,
}

impl Canvas {
    /// A square canvas of `size` pixels filled with `background` (styled).
    pub fn new(size: u32, style: Style, background: Rgb) -> Option<Canvas> {
        let mut pixmap = Pixmap::new(size, size)?;
        let [r, g, b] = fill_colour(style, background);
        pixmap.fill(Color::from_rgba8(r, g, b, 255));
        Some(Canvas {
            pixmap,
            style,
            transform: Transform::from_scale(size as f32, size as f32),
            pixels_per_unit: size as f32,
            size: size as f32,
        })
    }

    /// The picture size in pixels.
    pub fn size(&self) -> f32 {
        self.size
    }

    /// Sets the transform from drawing units to pixels; `pixels_per_unit` is its scale.
    pub fn set_transform(&mut self, transform: Transform) {
        self.transform = transform;
        self.pixels_per_unit = (transform.sx * transform.sx + transform.ky * transform.ky).sqrt();
    }

    /// The current transform.
    pub fn transform(&self) -> Transform {
        self.transform
    }

    /// Fills a closed path in the styled version of `colour`, with the style's outline.
    pub fn fill(&mut self, path: Option<Path>, colour: Rgb) {
        let Some(path) = path else {
            return;
        };
        let path = &path;
        let paint = paint(fill_colour(self.style, colour));
        self.pixmap
            .fill_path(path, &paint, FillRule::Winding, self.transform, None);
        if let Some(outline) = outline_colour(self.style, colour) {
            let stroke = Stroke {
                width: self.outline_width(),
                ..Stroke::default()
            };
            self.pixmap
                .stroke_path(path, &paint_rgb(outline), &stroke, self.transform, None);
        }
    }

    /// Fills without any outline, whatever the style: for details (eyes, patterns, stars)
    /// that an outline would smother.
    pub fn fill_plain(&mut self, path: Option<Path>, colour: Rgb) {
        let Some(path) = path else {
            return;
        };
        let paint = paint(fill_colour(self.style, colour));
        self.pixmap
            .fill_path(&path, &paint, FillRule::Winding, self.transform, None);
    }

    /// A thick line with round ends (a limb, a pole, a rope), `width` in drawing units.
    pub fn line(&mut self, points: &[(f32, f32)], width: f32, colour: Rgb) {
        let Some(path) = polyline(points) else {
            return;
        };
        let round = |width| Stroke {
            width,
            line_cap: LineCap::Round,
            line_join: tiny_skia::LineJoin::Round,
            ..Stroke::default()
        };
        if let Some(outline) = outline_colour(self.style, colour) {
            let outer = round(width + 2.0 * self.outline_width());
            self.pixmap
                .stroke_path(&path, &paint_rgb(outline), &outer, self.transform, None);
        }
        let paint = paint(fill_colour(self.style, colour));
        self.pixmap
            .stroke_path(&path, &paint, &round(width), self.transform, None);
    }

    /// Outline width in drawing units: about 1.2 pixels at 64 px, growing gently with size.
    fn outline_width(&self) -> f32 {
        (0.9 + self.size / 200.0) / self.pixels_per_unit
    }

    /// Multiplies every pixel by `light` per channel, then applies the style's toning.
    pub fn finish(mut self, light: [f32; 3]) -> image::RgbImage {
        let size = self.size as u32;
        let mut out = image::RgbImage::new(size, size);
        for (pixel, source) in out.pixels_mut().zip(self.pixmap.pixels_mut().iter()) {
            let rgb = [source.red(), source.green(), source.blue()];
            pixel.0 = finished(self.style, rgb, light).map(|v| v.round().clamp(0.0, 255.0) as u8);
        }
        out
    }
}

/// A canvas pixel as the finished picture shows it (before rounding): multiplied by `light`
/// per channel, then toned by the style (sepia keeps only the brightness).
fn finished(style: Style, rgb: Rgb, light: [f32; 3]) -> [f32; 3] {
    let lit = [0, 1, 2].map(|c| rgb[c] as f32 * light[c]);
    if style == Style::Sepia {
        let luma = 0.299 * lit[0] + 0.587 * lit[1] + 0.114 * lit[2];
        [luma * 1.07 + 12.0, luma * 0.86 + 6.0, luma * 0.62]
    } else {
        lit
    }
}

/// The colours a shape of `colour` shows in a finished picture of `style` under `light`:
/// its fill, and its outline where the shape is `outlined` and the style draws one (neon's
/// outline carries the hue its dark fill hides). What [`Canvas::fill`] (outlined) and
/// [`Canvas::fill_plain`] (not) draw, away from the anti-aliased edges.
pub(crate) fn shown_colours(
    style: Style,
    colour: Rgb,
    outlined: bool,
    light: [f32; 3],
) -> Vec<[f32; 3]> {
    let outline = outline_colour(style, colour).filter(|_| outlined);
    std::iter::once(fill_colour(style, colour))
        .chain(outline)
        .map(|drawn| finished(style, drawn, light))
        .collect()
}

/// How a style colours a fill.
fn fill_colour(style: Style, colour: Rgb) -> Rgb {
    match style {
        Style::Flat | Style::Sepia => colour,
        // Pale washes on white paper.
        Style::Sketch => colour.map(|c| (c as f32 * 0.45 + 250.0 * 0.55) as u8),
        // Deep, dark fills that let the outlines glow.
        Style::Neon => colour.map(|c| (c as f32 * 0.22 + 8.0) as u8),
    }
}

/// The outline a style draws round a shape of this colour, if any.
fn outline_colour(style: Style, colour: Rgb) -> Option<Rgb> {
    match style {
        Style::Flat | Style::Sepia => None,
        Style::Sketch => Some([70, 64, 60]),
        Style::Neon => {
            let max = colour.iter().copied().max().unwrap_or(0).max(1) as f32;
            Some(colour.map(|c| (60.0 + 195.0 * c as f32 / max) as u8))
        }
    }
}

fn paint(colour: Rgb) -> Paint<'static> {
    paint_rgb(colour)
}

fn paint_rgb([r, g, b]: Rgb) -> Paint<'static> {
    Paint {
        shader: Shader::SolidColor(Color::from_rgba8(r, g, b, 255)),
        anti_alias: true,
        ..Paint::default()
    }
}

/// An open path through `points`.
pub fn polyline(points: &[(f32, f32)]) -> Option<Path> {
    let (&(x, y), rest) = points.split_first()?;
    let mut builder = PathBuilder::new();
    builder.move_to(x, y);
    if rest.is_empty() {
        // A single point: a zero-length segment still gets round caps.
        builder.line_to(x + 1e-4, y);
    }
    for &(x, y) in rest {
        builder.line_to(x, y);
    }
    builder.finish()
}

/// A closed polygon through `points`.
pub fn polygon(points: &[(f32, f32)]) -> Option<Path> {
    let (&(x, y), rest) = points.split_first()?;
    let mut builder = PathBuilder::new();
    builder.move_to(x, y);
    for &(x, y) in rest {
        builder.line_to(x, y);
    }
    builder.close();
    builder.finish()
}

/// An ellipse centred at (`cx`, `cy`) with radii `rx`, `ry`.
pub fn ellipse(cx: f32, cy: f32, rx: f32, ry: f32) -> Option<Path> {
    PathBuilder::from_oval(Rect::from_xywh(cx - rx, cy - ry, 2.0 * rx, 2.0 * ry)?)
}

/// A rectangle from its left, top, right and bottom edges.
pub fn rect(left: f32, top: f32, right: f32, bottom: f32) -> Option<Path> {
    Some(PathBuilder::from_rect(Rect::from_ltrb(
        left, top, right, bottom,
    )?))
}

/// A rectangle with rounded corners of radius `r`.
pub fn rounded_rect(left: f32, top: f32, right: f32, bottom: f32, r: f32) -> Option<Path> {
    let r = r
        .min((right - left) / 2.0)
        .min((bottom - top) / 2.0)
        .max(0.0);
    let mut b = PathBuilder::new();
    b.move_to(left + r, top);
    b.line_to(right - r, top);
    b.quad_to(right, top, right, top + r);
    b.line_to(right, bottom - r);
    b.quad_to(right, bottom, right - r, bottom);
    b.line_to(left + r, bottom);
    b.quad_to(left, bottom, left, bottom - r);
    b.line_to(left, top + r);
    b.quad_to(left, top, left + r, top);
    b.close();
    b.finish()
}
