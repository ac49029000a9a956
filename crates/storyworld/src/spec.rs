//! What one picture shows: the input of the renderer. A keyframe, a clip frame and a
//! portrait are all a [`FrameSpec`].

use serde::{Deserialize, Serialize};

use crate::identity::Identity;
use crate::world::{Facing, Location, Pose, ShotType, Slot, Style, TimeOfDay};

/// A character in a picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// Who they are.
    pub identity: Identity,
    /// Where they stand.
    pub slot: Slot,
    /// What they are doing.
    pub pose: Pose,
    /// Which way they face.
    pub facing: Facing,
}

/// Where the camera is, relative to the shot's framing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// Horizontal offset of the view, in frame widths (positive looks further right).
    pub pan: f32,
    /// Magnification about the frame centre (1 = the shot's framing).
    pub zoom: f32,
}

impl Default for Camera {
    fn default() -> Self {
        Camera {
            pan: 0.0,
            zoom: 1.0,
        }
    }
}

/// Everything the renderer needs to draw one picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameSpec {
    /// The place.
    pub location: Location,
    /// The time of day.
    pub time: TimeOfDay,
    /// The film's look.
    pub style: Style,
    /// How close the camera is. A close-up shows only the first actor.
    pub shot: ShotType,
    /// The characters, at distinct slots.
    pub actors: Vec<Actor>,
    /// Camera movement applied on top of the shot's framing.
    pub camera: Camera,
    /// How far through its motion each pose is, in [0, 1): walk cycles, waves, jumps and
    /// talking mouths are drawn at this phase. Keyframes use 0.
    pub phase: f32,
    /// How far walkers have walked since the keyframe, in frame widths, each in the
    /// direction they face; 0 in keyframes.
    pub walked: f32,
    /// Head turn for portraits, -1 (towards the left) to 1; 0 elsewhere.
    pub head_turn: f32,
    /// Extra light for portraits, multiplied into the picture (1 = none).
    pub light: f32,
}

impl FrameSpec {
    /// A keyframe: no camera move, motion at its start.
    pub fn keyframe(
        location: Location,
        time: TimeOfDay,
        style: Style,
        shot: ShotType,
        actors: Vec<Actor>,
    ) -> Self {
        FrameSpec {
            location,
            time,
            style,
            shot,
            actors,
            camera: Camera::default(),
            phase: 0.0,
            walked: 0.0,
            head_turn: 0.0,
            light: 1.0,
        }
    }

    /// The actors that appear in the picture: all of them, or the first in a close-up.
    pub fn visible_actors(&self) -> &[Actor] {
        match self.shot {
            ShotType::CloseUp => &self.actors[..self.actors.len().min(1)],
            _ => &self.actors,
        }
    }
}
