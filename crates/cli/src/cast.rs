//! The cast from a script: each character's reference faces, read from the files the script
//! names, embedded by the identity encoder and averaged (the planner reads them as the
//! cast's faces, the renderer as who stands in each slot), and its full-body picture (the
//! renderer's costume reference).

use std::path::Path;

use anyhow::Context;
use candle_core::Device;
use image::RgbImage;
use moviedreamer_models::identity::{IdentityEncoder, unit_vectors};
use moviedreamer_script::Script;
use moviedreamer_train::data::faces::reference_face;
use moviedreamer_train::data::to_tensor;

/// Per character (script order), the unit mean embedding of its reference faces, or zeros
/// (no face information) for a character the script gives none for. Face paths are
/// relative to the script's folder.
pub fn cast_identities(
    script_path: &Path,
    script: &Script,
    identity: &IdentityEncoder,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let base = script_path.parent().unwrap_or(Path::new(""));
    let size = identity.config().image_size as u32;
    let mut faces = Vec::with_capacity(script.characters.len());
    for character in &script.characters {
        if character.faces.is_empty() {
            faces.push(vec![0.0; identity.config().embed_dim]);
            continue;
        }
        let images = character
            .faces
            .iter()
            .map(|face| {
                let path = base.join(face);
                let image = image::open(&path)
                    .with_context(|| {
                        format!(
                            "{}: cannot read the face of {} ({})",
                            script_path.display(),
                            character.id,
                            path.display()
                        )
                    })?
                    .to_rgb8();
                Ok(reference_face(&image, size))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let embeddings = identity.forward(&to_tensor(&images, &Device::Cpu)?, false)?;
        faces.push(
            unit_vectors(&embeddings.mean_keepdim(0)?)?
                .squeeze(0)?
                .to_vec1()?,
        );
    }
    Ok(faces)
}

/// Per character (script order), its first full-body picture (the script's `full_body`),
/// which fixes its costume, or `None` where the script gives none.
pub fn cast_costumes(script_path: &Path, script: &Script) -> anyhow::Result<Vec<Option<RgbImage>>> {
    let base = script_path.parent().unwrap_or(Path::new(""));
    script
        .characters
        .iter()
        .map(|character| {
            character
                .full_body
                .first()
                .map(|picture| {
                    let path = base.join(picture);
                    image::open(&path)
                        .map(|image| image.to_rgb8())
                        .with_context(|| {
                            format!(
                                "{}: cannot read the full-body picture of {} ({})",
                                script_path.display(),
                                character.id,
                                path.display()
                            )
                        })
                })
                .transpose()
        })
        .collect()
}
