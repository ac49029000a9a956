//! From a script to the planner's prompt: the same words and numbers in training (StoryWorld
//! films are scripts too) and in generation.
//!
//! A shot's text is its scene heading, its description and each character's place and
//! action (`interior lighthouse day. Mara waves. left wave right stand`); names carry no
//! meaning to the planner (who is who comes through the slots and the faces). Characters
//! with no position in the script fill the free slots centre first, then left, then right;
//! a shot has three slots, so a fourth character is not planned (the renderer still sees it
//! in the text).

use moviedreamer_script::{Position, Scene, Script, Shot, ShotType};

use super::prompt::{CastPrompt, FilmPrompt, SLOTS, ShotPrompt};
use crate::text::{Vocabulary, VocabularyError};

/// The slot index of a position.
pub fn slot_of(position: Position) -> usize {
    match position {
        Position::Left => 0,
        Position::Centre => 1,
        Position::Right => 2,
    }
}

/// The shot-type index the planner uses.
pub fn shot_type_index(shot: ShotType) -> usize {
    match shot {
        ShotType::Wide => 0,
        ShotType::Medium => 1,
        ShotType::CloseUp => 2,
    }
}

/// Every text of a script the planner reads, in prompt order: style, cast, shots. Used to
/// build the vocabulary.
pub fn script_texts(script: &Script) -> Vec<String> {
    std::iter::once(script.style.description.clone())
        .chain(script.characters.iter().map(|c| c.description.clone()))
        .chain(
            script
                .scenes
                .iter()
                .flat_map(|scene| scene.shots.iter().map(move |shot| shot_text(scene, shot))),
        )
        .collect()
}

/// The text of one shot: heading, description, places and actions.
pub fn shot_text(scene: &Scene, shot: &Shot) -> String {
    let heading = &scene.heading;
    let setting = serde_json::to_value(heading.setting)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut text = format!(
        "{setting} {} {}. {}",
        heading.location,
        heading.time.as_deref().unwrap_or(""),
        shot.description
    );
    for character in &shot.characters {
        if let Some(position) = character.position {
            text.push(' ');
            text.push_str(["left", "centre", "right"][slot_of(position)]);
        }
        if let Some(action) = &character.action {
            text.push(' ');
            text.push_str(action);
        }
    }
    text
}

/// Who stands in each slot of `shot`, as indices into the script's cast.
pub fn shot_slots(script: &Script, shot: &Shot) -> [Option<usize>; SLOTS] {
    let mut slots = [None; SLOTS];
    let index = |id: &str| script.characters.iter().position(|c| c.id == id);
    let mut unplaced = Vec::new();
    for character in &shot.characters {
        let Some(cast) = index(&character.id) else {
            continue;
        };
        match character.position.map(slot_of) {
            Some(slot) if slots[slot].is_none() => slots[slot] = Some(cast),
            _ => unplaced.push(cast),
        }
    }
    for cast in unplaced {
        if let Some(slot) = [1, 0, 2].into_iter().find(|&s| slots[s].is_none()) {
            slots[slot] = Some(cast);
        }
    }
    slots
}

/// The planner's prompt for `script`, its texts cut to `max_words` words, with `faces[i]`
/// the identity embedding of cast member i.
pub fn film_prompt(
    script: &Script,
    vocabulary: &Vocabulary,
    max_words: usize,
    faces: &[Vec<f32>],
) -> Result<FilmPrompt, VocabularyError> {
    let encode = |text: &str| vocabulary.encode(text, max_words);
    let cast = script
        .characters
        .iter()
        .zip(faces)
        .map(|(character, face)| {
            Ok(CastPrompt {
                text: encode(&character.description)?,
                face: face.clone(),
            })
        })
        .collect::<Result<_, VocabularyError>>()?;
    let mut shots = Vec::new();
    for scene in &script.scenes {
        for shot in &scene.shots {
            shots.push(ShotPrompt {
                text: encode(&shot_text(scene, shot))?,
                shot_type: shot_type_index(shot.shot),
                slots: shot_slots(script, shot),
            });
        }
    }
    Ok(FilmPrompt {
        style: encode(&script.style.description)?,
        cast,
        shots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = r#"
title: Test
style:
  name: sketch
  description: pale colours with pencil outlines
characters:
- id: mara
  description: a tall person with red hair
- id: ivo
  description: a short person with a hat
- id: zed
  description: a child
scenes:
- heading:
    setting: interior
    location: lighthouse
    time: night
  shots:
  - description: Mara waves at Ivo.
    shot: wide
    characters:
    - id: mara
      position: right
      action: wave
    - ivo
  - description: Everyone at once.
    shot: close-up
    characters:
    - ivo
    - zed
    - id: mara
      position: left
"#;

    fn script() -> Script {
        moviedreamer_script::yaml::from_yaml_str(SCRIPT, std::path::Path::new("test.yaml"))
            .unwrap()
            .0
    }

    #[test]
    fn a_shot_reads_as_heading_description_places_and_actions() {
        let script = script();
        let text = shot_text(&script.scenes[0], &script.scenes[0].shots[0]);
        assert_eq!(
            text,
            "interior lighthouse night. Mara waves at Ivo. right wave"
        );
        assert_eq!(script_texts(&script).len(), 1 + 3 + 2);
    }

    #[test]
    fn characters_without_a_position_fill_the_free_slots_centre_first() {
        let script = script();
        // Mara right as written, Ivo in the centre.
        assert_eq!(
            shot_slots(&script, &script.scenes[0].shots[0]),
            [None, Some(1), Some(0)]
        );
        // Mara left as written, then Ivo centre and Zed right.
        assert_eq!(
            shot_slots(&script, &script.scenes[0].shots[1]),
            [Some(0), Some(1), Some(2)]
        );
    }

    #[test]
    fn the_prompt_has_every_shot_and_cast_member() {
        let script = script();
        let vocabulary = Vocabulary::build(script_texts(&script).into_iter(), 1).unwrap();
        let faces = vec![vec![0.0; 4]; 3];
        let prompt = film_prompt(&script, &vocabulary, 16, &faces).unwrap();
        assert_eq!(prompt.cast.len(), 3);
        assert_eq!(prompt.shots.len(), 2);
        assert_eq!(prompt.shots[1].shot_type, 2);
        assert!(prompt.shots.iter().all(|s| s.text.len() <= 16));
    }
}
