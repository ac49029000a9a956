//! Contact sheets: pictures in a grid, each with a caption, as one PNG a person can look
//! at. Captions use the public-domain 8×8 bitmap font of the `font8x8` crate, so nothing
//! depends on fonts installed on the machine.

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};

const PAPER: Rgb<u8> = Rgb([248, 246, 240]);
const INK: Rgb<u8> = Rgb([40, 40, 46]);
const GAP: u32 = 6;
const LINE: u32 = 10;

/// A picture and its caption.
pub struct Tile<'a> {
    /// The picture; every tile of a sheet is shown at the same size.
    pub image: &'a RgbImage,
    /// Text under the picture, wrapped to its width.
    pub caption: String,
}

/// Lays `tiles` out in `columns` columns, each picture scaled to `cell` pixels square
/// (nearest neighbour, so pixels stay crisp) with up to `caption_lines` lines of caption.
pub fn contact_sheet(tiles: &[Tile<'_>], columns: u32, cell: u32, caption_lines: u32) -> RgbImage {
    let columns = columns.max(1);
    let rows = (tiles.len() as u32).div_ceil(columns).max(1);
    let tile_h = cell + 2 + caption_lines * LINE;
    let width = GAP + columns * (cell + GAP);
    let height = GAP + rows * (tile_h + GAP);
    let mut sheet = RgbImage::from_pixel(width, height, PAPER);
    for (i, tile) in tiles.iter().enumerate() {
        let (col, row) = (i as u32 % columns, i as u32 / columns);
        let (x, y) = (GAP + col * (cell + GAP), GAP + row * (tile_h + GAP));
        let picture =
            image::imageops::resize(tile.image, cell, cell, image::imageops::FilterType::Nearest);
        image::imageops::replace(&mut sheet, &picture, x as i64, y as i64);
        let chars_per_line = (cell / 8).max(1) as usize;
        for (k, line) in wrap(&tile.caption, chars_per_line)
            .iter()
            .take(caption_lines as usize)
            .enumerate()
        {
            draw_text(&mut sheet, x, y + cell + 3 + k as u32 * LINE, line, INK);
        }
    }
    sheet
}

/// Splits text into lines of at most `width` characters at spaces (long words are cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: String = word.chars().take(width).collect();
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&std::mem::take(&mut word));
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Draws one line of text with its top-left corner at (`x`, `y`); characters the font
/// lacks are drawn as `?`.
pub fn draw_text(image: &mut RgbImage, x: u32, y: u32, text: &str, colour: Rgb<u8>) {
    draw_text_scaled(image, x, y, text, colour, 1);
}

/// Draws one line of text with every font pixel `scale`×`scale` pixels large (each
/// character `8 * scale` pixels wide).
pub fn draw_text_scaled(
    image: &mut RgbImage,
    x: u32,
    y: u32,
    text: &str,
    colour: Rgb<u8>,
    scale: u32,
) {
    let scale = scale.max(1);
    for (i, c) in text.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(c)
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let left = x + (i as u32 * 8 + col) * scale;
                    let top = y + row as u32 * scale;
                    for (px, py) in (left..left + scale)
                        .flat_map(|px| (top..top + scale).map(move |py| (px, py)))
                    {
                        if px < image.width() && py < image.height() {
                            image.put_pixel(px, py, colour);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_within_the_width() {
        assert_eq!(
            wrap("Mira waves at Tesku across the harbour.", 12),
            ["Mira waves", "at Tesku", "across the", "harbour."]
        );
        assert_eq!(wrap("abcdefghijklmnop", 8), ["abcdefgh"]);
        assert!(wrap("   ", 8).is_empty());
    }

    #[test]
    fn a_sheet_has_room_for_every_tile_and_draws_text() {
        let picture = RgbImage::from_pixel(16, 16, Rgb([255, 0, 0]));
        let tiles: Vec<Tile> = (0..5)
            .map(|i| Tile {
                image: &picture,
                caption: format!("shot {i}"),
            })
            .collect();
        let sheet = contact_sheet(&tiles, 2, 64, 2);
        assert_eq!(sheet.width(), GAP + 2 * (64 + GAP));
        assert_eq!(sheet.height(), GAP + 3 * (64 + 2 + 2 * LINE + GAP));
        // The first picture is scaled into its cell, and its caption leaves ink below it.
        assert_eq!(sheet.get_pixel(GAP + 10, GAP + 10), &Rgb([255, 0, 0]));
        let caption_ink = (GAP..GAP + 64)
            .flat_map(|x| (GAP + 66..GAP + 66 + LINE).map(move |y| (x, y)))
            .filter(|&(x, y)| sheet.get_pixel(x, y) == &INK)
            .count();
        assert!(caption_ink > 20, "{caption_ink}");
    }
}
