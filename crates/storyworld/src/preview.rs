//! Previews a person can look at: a film's keyframes with their shot text, and its cast's
//! reference portraits.

use image::RgbImage;

use crate::render::{PortraitVariant, RenderError, render, render_portrait};
use crate::story::Film;
use moviedreamer_media::sheet::{Tile, contact_sheet};

/// Keyframes of the first `max_shots` shots of `film`, six to a row, each captioned with
/// its number, place and time, and its description.
pub fn film_sheet(film: &Film, size: u32, max_shots: usize) -> Result<RgbImage, RenderError> {
    let mut pictures = Vec::new();
    let mut captions = Vec::new();
    for (i, (scene_index, shot_index, scene, shot)) in film.shots().take(max_shots).enumerate() {
        let (image, _) = render(&film.keyframe_spec(scene_index, shot_index), size)?;
        pictures.push(image);
        captions.push(format!(
            "{i}. {} {}: {}",
            scene.location.name(),
            scene.time.name(),
            shot.description
        ));
    }
    let tiles: Vec<Tile> = pictures
        .iter()
        .zip(captions)
        .map(|(image, caption)| Tile { image, caption })
        .collect();
    Ok(contact_sheet(&tiles, 6, 160, 5))
}

/// `portraits` reference portraits of every cast member, one row each, captioned with the
/// character's name.
pub fn cast_sheet(film: &Film, size: u32, portraits: usize) -> Result<RgbImage, RenderError> {
    let mut pictures = Vec::new();
    let mut captions = Vec::new();
    for member in &film.cast {
        for k in 0..portraits {
            pictures.push(render_portrait(
                &member.identity,
                PortraitVariant::nth(k),
                size,
            )?);
            captions.push(format!("{} ({})", member.name, k + 1));
        }
    }
    let tiles: Vec<Tile> = pictures
        .iter()
        .zip(captions)
        .map(|(image, caption)| Tile { image, caption })
        .collect();
    Ok(contact_sheet(&tiles, portraits.max(1) as u32, 112, 1))
}
