//! The vocabulary of StoryWorld: places, times of day, styles, poses. Every keyframe label
//! is one of these values, so each enum lists its variants in a fixed order (`ALL`) that
//! datasets and the evaluator use as class indices.

use serde::{Deserialize, Serialize};

pub use moviedreamer_script::{CameraMove, Position as Slot, ShotType};

/// Implements `ALL`, `index()` and `name()` for a label enum; names are the kebab-case
/// serde names used in scripts and label files.
macro_rules! label_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in class-index order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The class index of this value.
            pub fn index(self) -> usize {
                Self::ALL.iter().position(|&v| v == self).unwrap_or(0)
            }

            /// The lower-case name used in scripts and label files.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            /// The value with this name, if any.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }
        }
    };
}

/// A place with its own layout and props.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Location {
    /// Quay, sea and moored boats.
    Harbour,
    /// Sand, waves, a parasol.
    Beach,
    /// Tall trees and mushrooms.
    Forest,
    /// A street of houses with a lamp post.
    Village,
    /// Rolling hills, a fence and flowers.
    Meadow,
    /// Tiled floor, table, cupboard, window.
    Kitchen,
    /// Bookshelves, a rug and a reading lamp.
    Library,
    /// The lamp room: the great lens, stairs, a porthole.
    Lighthouse,
}

label_enum!(Location {
    Harbour => "harbour",
    Beach => "beach",
    Forest => "forest",
    Village => "village",
    Meadow => "meadow",
    Kitchen => "kitchen",
    Library => "library",
    Lighthouse => "lighthouse",
});

impl Location {
    /// Whether the place is indoors.
    pub fn is_interior(self) -> bool {
        matches!(
            self,
            Location::Kitchen | Location::Library | Location::Lighthouse
        )
    }
}

/// The time of day: it changes the sky, the palette and the light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeOfDay {
    /// Bright, neutral light.
    Day,
    /// Warm, low light and an orange sky.
    Dusk,
    /// Dark blue light, moon and stars.
    Night,
}

label_enum!(TimeOfDay {
    Day => "day",
    Dusk => "dusk",
    Night => "night",
});

/// The film's global look. A style changes colours and strokes, never what is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// Plain fills, no outlines.
    Flat,
    /// Pale fills on paper with dark pencil outlines.
    Sketch,
    /// Dark fills with glowing outlines in each shape's colour.
    Neon,
    /// Flat drawing toned brown like an old photograph.
    Sepia,
}

label_enum!(Style {
    Flat => "flat",
    Sketch => "sketch",
    Neon => "neon",
    Sepia => "sepia",
});

/// What a character's body is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pose {
    /// Upright, arms down.
    Stand,
    /// Mid-stride.
    Walk,
    /// One arm raised.
    Wave,
    /// Seated.
    Sit,
    /// In the air, arms up.
    Jump,
    /// Mouth open, one hand gesturing.
    Talk,
}

label_enum!(Pose {
    Stand => "stand",
    Walk => "walk",
    Wave => "wave",
    Sit => "sit",
    Jump => "jump",
    Talk => "talk",
});

/// Which way a character faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Facing {
    /// Towards the left edge of the frame.
    Left,
    /// Towards the camera.
    Front,
    /// Towards the right edge of the frame.
    Right,
}

label_enum!(Facing {
    Left => "left",
    Front => "front",
    Right => "right",
});

impl Facing {
    /// -1 for left, 0 for front, 1 for right.
    pub fn sign(self) -> f32 {
        match self {
            Facing::Left => -1.0,
            Facing::Front => 0.0,
            Facing::Right => 1.0,
        }
    }
}

/// Slots in class-index order: left, centre, right.
pub const SLOTS: [Slot; 3] = [Slot::Left, Slot::Centre, Slot::Right];

/// Shot types in class-index order.
pub const SHOT_TYPES: [ShotType; 3] = [ShotType::Wide, ShotType::Medium, ShotType::CloseUp];

/// The class index of a slot.
pub fn slot_index(slot: Slot) -> usize {
    SLOTS.iter().position(|&s| s == slot).unwrap_or(1)
}

/// The class index of a shot type.
pub fn shot_type_index(shot: ShotType) -> usize {
    SHOT_TYPES.iter().position(|&s| s == shot).unwrap_or(1)
}

/// The lower-case name of a shot type, as in scripts.
pub fn shot_type_name(shot: ShotType) -> &'static str {
    match shot {
        ShotType::Wide => "wide",
        ShotType::Medium => "medium",
        ShotType::CloseUp => "close-up",
    }
}

/// The lower-case name of a slot, as in scripts.
pub fn slot_name(slot: Slot) -> &'static str {
    match slot {
        Slot::Left => "left",
        Slot::Centre => "centre",
        Slot::Right => "right",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_indices_and_names_round_trip() {
        for (i, &location) in Location::ALL.iter().enumerate() {
            assert_eq!(location.index(), i);
            assert_eq!(Location::from_name(location.name()), Some(location));
        }
        assert_eq!(Location::ALL.len(), 8);
        assert_eq!(Style::ALL.len(), 4);
        assert_eq!(Pose::from_name("wave"), Some(Pose::Wave));
        assert_eq!(slot_index(Slot::Right), 2);
    }
}
