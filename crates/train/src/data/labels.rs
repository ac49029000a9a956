//! The labels of one keyframe as class indices, read from a line of `labels.jsonl`.
//!
//! Lines are read with serde into typed structs that use StoryWorld's own enums, so a
//! misspelt name is refused with the list of valid ones, and every index we hand to a loss
//! is in range by construction. The only change labels ever undergo is a mirror
//! ([`KeyframeLabels::mirrored`]) or a box transform ([`KeyframeLabels::map_boxes`]): that is
//! what keeps augmented labels true.

use moviedreamer_storyworld::identity::{TRAIT_NAMES, TRAIT_SIZES};
use moviedreamer_storyworld::world::{
    Facing, Location, Pose, SHOT_TYPES, SLOTS, ShotType, Slot, Style, TimeOfDay, shot_type_index,
    slot_index,
};
use serde::{Deserialize, Serialize};

/// Number of location classes.
pub const LOCATION_CLASSES: usize = Location::ALL.len();
/// Number of time-of-day classes.
pub const TIME_CLASSES: usize = TimeOfDay::ALL.len();
/// Number of style classes.
pub const STYLE_CLASSES: usize = Style::ALL.len();
/// Number of shot-type classes.
pub const SHOT_TYPE_CLASSES: usize = SHOT_TYPES.len();
/// Number of slot classes.
pub const SLOT_CLASSES: usize = SLOTS.len();
/// Number of pose classes.
pub const POSE_CLASSES: usize = Pose::ALL.len();
/// Number of facing classes.
pub const FACING_CLASSES: usize = Facing::ALL.len();

/// A box in pixels: (x0, y0, x1, y1).
pub type PixelBox = [f32; 4];

/// One character in a keyframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorLabels {
    /// The character's id in the film's cast (`cast.json`).
    pub id: String,
    /// Slot class index (left, centre, right). In a close-up the figure is drawn in the
    /// middle whatever its slot; the slot is then where it stands in the scene.
    pub slot: usize,
    /// Pose class index ([`Pose::ALL`] order).
    pub pose: usize,
    /// Facing class index (left, front, right).
    pub facing: usize,
    /// Box of the whole figure, clipped to the picture.
    pub bbox: PixelBox,
    /// Box of the head, clipped to the picture.
    pub face_box: PixelBox,
    /// The ten trait class indices, in the order of StoryWorld's `TRAIT_NAMES`.
    pub traits: [usize; 10],
}

/// Everything a keyframe shows, as class indices and boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyframeLabels {
    /// Location class index ([`Location::ALL`] order).
    pub location: usize,
    /// Time-of-day class index ([`TimeOfDay::ALL`] order).
    pub time: usize,
    /// Style class index ([`Style::ALL`] order).
    pub style: usize,
    /// Shot-type class index (wide, medium, close-up).
    pub shot_type: usize,
    /// The characters drawn, in the order of the label line.
    pub actors: Vec<ActorLabels>,
}

impl KeyframeLabels {
    /// Whether this keyframe, at `size` px, shows trait `index` (in the order of
    /// StoryWorld's `TRAIT_NAMES`) of `actor` so that it can be read: large enough
    /// (StoryWorld's `trait_visible`: no eyes or mouth in a small wide shot, no height in a
    /// close-up), not covered by the actor's other traits (`trait_uncovered`: no hair colour
    /// on a bald head, no bun under a top hat) and, for colours, drawn apart from the
    /// trait's other values in this style and light (`trait_value_distinct`: no blue
    /// against violet eyes in sepia).
    pub fn shows_trait(&self, actor: &ActorLabels, index: usize, size: u32) -> bool {
        use moviedreamer_storyworld::render::{
            trait_uncovered, trait_value_distinct, trait_visible,
        };
        let Some(&value) = actor.traits.get(index) else {
            return false;
        };
        let shot = SHOT_TYPES[self.shot_type];
        trait_visible(index, shot, size)
            && trait_uncovered(index, &actor.traits, shot, size)
            && trait_value_distinct(
                index,
                value,
                Style::ALL[self.style],
                Location::ALL[self.location],
                TimeOfDay::ALL[self.time],
            )
    }

    /// The per-channel factor that brings this keyframe's colours back to daylight
    /// (StoryWorld's `daylight_gain`): what the evaluator's white balance is taught.
    pub fn daylight_gain(&self) -> [f32; 3] {
        moviedreamer_storyworld::render::daylight_gain(
            Style::ALL[self.style],
            Location::ALL[self.location],
            TimeOfDay::ALL[self.time],
        )
    }

    /// Whether this keyframe shows its characters' poses: not in a close-up (StoryWorld's
    /// `pose_visible`).
    pub fn shows_pose(&self) -> bool {
        moviedreamer_storyworld::render::pose_visible(SHOT_TYPES[self.shot_type])
    }
}

/// A label line as parsed, before it becomes an item of the index.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelLine {
    /// The shot's number in the film (its keyframe is `keyframes/<shot:06>.png`).
    pub shot: usize,
    /// The scene the shot belongs to.
    pub scene: usize,
    /// The labels.
    pub labels: KeyframeLabels,
}

/// Where in a line a problem is, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct LineProblem {
    /// The column (from 1) where the JSON reader stopped, when it knows.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.column {
            Some(column) => write!(f, "column {column}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Deserialize)]
struct RawLine {
    shot: usize,
    scene: usize,
    location: Location,
    time: TimeOfDay,
    style: Style,
    shot_type: ShotType,
    actors: Vec<RawActor>,
}

#[derive(Deserialize)]
struct RawActor {
    id: String,
    slot: Slot,
    pose: Pose,
    facing: Facing,
    bbox: PixelBox,
    face_box: PixelBox,
    traits: RawTraits,
}

/// The traits by name; the field order is [`TRAIT_FIELDS`], checked against StoryWorld's
/// `TRAIT_NAMES` by a test so a reordering there cannot silently permute our targets.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraits {
    head: usize,
    skin: usize,
    hair_style: usize,
    hair_colour: usize,
    eyes: usize,
    mouth: usize,
    outfit: usize,
    pattern: usize,
    accessory: usize,
    height: usize,
}

#[cfg(test)]
const TRAIT_FIELDS: [&str; 10] = [
    "head",
    "skin",
    "hair_style",
    "hair_colour",
    "eyes",
    "mouth",
    "outfit",
    "pattern",
    "accessory",
    "height",
];

impl RawTraits {
    fn indices(&self) -> [usize; 10] {
        [
            self.head,
            self.skin,
            self.hair_style,
            self.hair_colour,
            self.eyes,
            self.mouth,
            self.outfit,
            self.pattern,
            self.accessory,
            self.height,
        ]
    }
}

/// Reads one line of `labels.jsonl`. Fields the models do not learn from (event,
/// description, camera) are ignored; names must be StoryWorld's, trait indices in range and
/// boxes finite and ordered.
pub fn parse_label_line(text: &str) -> Result<LabelLine, LineProblem> {
    let raw: RawLine = serde_json::from_str(text).map_err(|err| {
        let full = err.to_string();
        // serde_json appends " at line L column C"; the line is always 1 here and the
        // caller names the file's line, so keep only the column.
        let message = match full.rfind(" at line ") {
            Some(at) => full[..at].to_owned(),
            None => full,
        };
        LineProblem {
            column: (err.column() > 0).then_some(err.column()),
            message,
        }
    })?;
    let problem = |message: String| LineProblem {
        column: None,
        message,
    };
    let mut actors = Vec::with_capacity(raw.actors.len());
    for (a, actor) in raw.actors.into_iter().enumerate() {
        let traits = actor.traits.indices();
        for ((value, size), name) in traits.iter().zip(TRAIT_SIZES).zip(TRAIT_NAMES) {
            if *value >= size {
                return Err(problem(format!(
                    "actors[{a}].traits.{name} is {value}, but there are only {size} values (0 to {})",
                    size - 1
                )));
            }
        }
        for (field, b) in [("bbox", actor.bbox), ("face_box", actor.face_box)] {
            if b.iter().any(|v| !v.is_finite()) || b[0] > b[2] || b[1] > b[3] {
                return Err(problem(format!(
                    "actors[{a}].{field} {b:?} is not a box (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1"
                )));
            }
        }
        actors.push(ActorLabels {
            id: actor.id,
            slot: slot_index(actor.slot),
            pose: actor.pose.index(),
            facing: actor.facing.index(),
            bbox: actor.bbox,
            face_box: actor.face_box,
            traits,
        });
    }
    Ok(LabelLine {
        shot: raw.shot,
        scene: raw.scene,
        labels: KeyframeLabels {
            location: raw.location.index(),
            time: raw.time.index(),
            style: raw.style.index(),
            shot_type: shot_type_index(raw.shot_type),
            actors,
        },
    })
}

/// The slot class seen in a mirror: left and right swap, centre stays.
pub fn mirror_slot(slot: usize) -> usize {
    match SLOTS.get(slot) {
        Some(Slot::Left) => slot_index(Slot::Right),
        Some(Slot::Right) => slot_index(Slot::Left),
        _ => slot,
    }
}

/// The facing class seen in a mirror: left and right swap, front stays.
pub fn mirror_facing(facing: usize) -> usize {
    match Facing::ALL.get(facing) {
        Some(Facing::Left) => Facing::Right.index(),
        Some(Facing::Right) => Facing::Left.index(),
        _ => facing,
    }
}

/// A box seen in a mirror of a picture `width` pixels wide: x0' = W - x1, x1' = W - x0.
pub fn mirror_box(b: PixelBox, width: f32) -> PixelBox {
    [width - b[2], b[1], width - b[0], b[3]]
}

impl KeyframeLabels {
    /// The labels of the picture mirrored left to right, `width` pixels wide: slots and
    /// facings swap left and right, boxes are mirrored. Place, time, style, shot type, pose
    /// and traits are what they were (StoryWorld draws no writing, so nothing reads
    /// backwards in a mirror).
    pub fn mirrored(&self, width: f32) -> KeyframeLabels {
        KeyframeLabels {
            actors: self
                .actors
                .iter()
                .map(|actor| ActorLabels {
                    slot: mirror_slot(actor.slot),
                    facing: mirror_facing(actor.facing),
                    bbox: mirror_box(actor.bbox, width),
                    face_box: mirror_box(actor.face_box, width),
                    ..actor.clone()
                })
                .collect(),
            ..self.clone()
        }
    }

    /// Location, time, style and shot type, in that order: what the evaluator reads of
    /// the whole keyframe.
    pub fn scene(&self) -> [usize; 4] {
        [self.location, self.time, self.style, self.shot_type]
    }

    /// The slot class where `actor` is drawn: its slot, except in a close-up, which draws
    /// its one character in the middle whatever its slot. What a reader of the picture can
    /// tell, so the evaluator learns and is scored on this.
    pub fn drawn_slot(&self, actor: &ActorLabels) -> usize {
        if SHOT_TYPES.get(self.shot_type) == Some(&ShotType::CloseUp) {
            slot_index(Slot::Centre)
        } else {
            actor.slot
        }
    }

    /// The labels with every box passed through `f` (for crops and resizes).
    pub fn map_boxes(&self, f: impl Fn(PixelBox) -> PixelBox) -> KeyframeLabels {
        KeyframeLabels {
            actors: self
                .actors
                .iter()
                .map(|actor| ActorLabels {
                    bbox: f(actor.bbox),
                    face_box: f(actor.face_box),
                    ..actor.clone()
                })
                .collect(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"shot": 1, "scene": 0, "event": "arrive", "description": "x", "camera": null, "location": "village", "time": "night", "style": "flat", "shot_type": "close-up", "actors": [{"id": "gasa", "slot": "left", "pose": "walk", "facing": "right", "bbox": [6.04, 26.5, 20.97, 58.63], "face_box": [9.66, 26.5, 15.94, 34.88], "traits": {"head": 2, "skin": 1, "hair_style": 2, "hair_colour": 1, "eyes": 1, "mouth": 2, "outfit": 9, "pattern": 3, "accessory": 4, "height": 1}}]}"#;

    #[test]
    fn trait_fields_follow_storyworld_order() {
        assert_eq!(TRAIT_FIELDS, TRAIT_NAMES);
    }

    #[test]
    fn documented_line_parses_to_class_indices() {
        let line = parse_label_line(LINE).unwrap();
        assert_eq!((line.shot, line.scene), (1, 0));
        let labels = &line.labels;
        assert_eq!(labels.location, Location::Village.index());
        assert_eq!(labels.time, TimeOfDay::Night.index());
        assert_eq!(labels.style, Style::Flat.index());
        assert_eq!(labels.shot_type, 2);
        let actor = &labels.actors[0];
        assert_eq!(actor.id, "gasa");
        assert_eq!((actor.slot, actor.pose, actor.facing), (0, 1, 2));
        assert_eq!(actor.bbox, [6.04, 26.5, 20.97, 58.63]);
        assert_eq!(actor.traits, [2, 1, 2, 1, 1, 2, 9, 3, 4, 1]);
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let unknown = parse_label_line(&LINE.replace("village", "castle")).unwrap_err();
        assert!(unknown.message.contains("castle"), "{unknown}");
        assert!(unknown.message.contains("harbour"), "{unknown}");
        assert!(unknown.column.is_some());
        assert!(!unknown.message.contains("at line"), "{unknown}");

        let range = parse_label_line(&LINE.replace("\"outfit\": 9", "\"outfit\": 10")).unwrap_err();
        assert!(range.message.contains("traits.outfit is 10"), "{range}");

        let reversed = parse_label_line(&LINE.replace("[6.04, 26.5, 20.97", "[26.04, 26.5, 20.97"))
            .unwrap_err();
        assert!(reversed.message.contains("actors[0].bbox"), "{reversed}");

        let truncated = parse_label_line(&LINE[..40]).unwrap_err();
        assert!(truncated.message.contains("EOF"), "{truncated}");
    }

    #[test]
    fn mirror_swaps_sides_and_is_an_involution_on_classes() {
        assert_eq!(mirror_slot(0), 2);
        assert_eq!(mirror_slot(1), 1);
        assert_eq!(mirror_facing(2), 0);
        assert_eq!(mirror_facing(1), 1);
        for i in 0..3 {
            assert_eq!(mirror_slot(mirror_slot(i)), i);
            assert_eq!(mirror_facing(mirror_facing(i)), i);
        }
        assert_eq!(
            mirror_box([1.0, 2.0, 5.0, 6.0], 32.0),
            [27.0, 2.0, 31.0, 6.0]
        );
    }
}
