//! What moves in a shot, as the animator is conditioned on it: each slot's action (left,
//! centre, right) and the camera move, read from the script's shot.
//!
//! Actions are free text in a script (`walk`, `waves hello`, `sits down`); they are mapped
//! to the six motions StoryWorld teaches by the first word that names one. A walk also
//! takes the way it goes from a later `left` or `right` (`walks left`, `walks off to the
//! right`; `from the left` goes right): the keyframe alone rarely shows it, since a figure
//! a few pixels wide looks much the same from either side. Anything else, and an empty
//! slot, is "no known action", the same class classifier-free guidance uses for "no
//! condition".

use moviedreamer_script::model::{CameraMove, Position, Shot};

/// Action classes: 0 is nobody or an unknown action, then the motions in StoryWorld's
/// pose order (a walk here is one whose way is not given), then walks to either side.
pub const ACTIONS: [&str; 9] = [
    "none",
    "stand",
    "walk",
    "wave",
    "sit",
    "jump",
    "talk",
    "walk-left",
    "walk-right",
];
/// The class of a walk whose way is not given.
const WALK: u32 = 2;
/// The classes of walks to the left and to the right.
const WALK_LEFT: u32 = 7;
const WALK_RIGHT: u32 = 8;
/// The camera classes of pans to the left and to the right.
const PAN_LEFT: u32 = 1;
const PAN_RIGHT: u32 = 2;
/// Camera classes: 0 is still (or not given).
pub const CAMERAS: [&str; 5] = ["static", "pan-left", "pan-right", "zoom-in", "zoom-out"];
/// Slots of a shot: left, centre, right.
pub const SLOTS: usize = 3;

/// The motion of one shot as class indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Motion {
    /// Action class per slot (left, centre, right), into [`ACTIONS`].
    pub actions: [u32; SLOTS],
    /// Camera class, into [`CAMERAS`].
    pub camera: u32,
}

/// Word stems that name each action class (index into [`ACTIONS`]).
const ACTION_WORDS: [(&str, u32); 14] = [
    ("stand", 1),
    ("stood", 1),
    ("walk", WALK),
    ("stroll", WALK),
    ("wav", 3),
    ("sit", 4),
    ("sat", 4),
    ("seat", 4),
    ("jump", 5),
    ("leap", 5),
    ("talk", 6),
    ("speak", 6),
    ("chat", 6),
    ("argu", 6),
];

/// The action class a free-text action names (0 when none does).
pub fn action_class(text: &str) -> u32 {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    let named = words.iter().enumerate().find_map(|(at, word)| {
        ACTION_WORDS
            .iter()
            .find(|(stem, _)| word.starts_with(stem))
            .map(|&(_, class)| (at, class))
    });
    match named {
        Some((at, WALK)) => walk_class(&words[at + 1..]),
        Some((_, class)) => class,
        None => 0,
    }
}

/// The class of a walk from the words after the verb: the first `left` or `right` (or
/// `leftwards`, `rightward`) gives its way, turned round when `from` comes just before it
/// or before `the` before it.
fn walk_class(rest: &[String]) -> u32 {
    let Some(at) = rest
        .iter()
        .position(|word| word.starts_with("left") || word.starts_with("right"))
    else {
        return WALK;
    };
    let from = |back: usize| at >= back && rest[at - back] == "from";
    let towards_left =
        rest[at].starts_with("left") != (from(1) || (from(2) && rest[at - 1] == "the"));
    if towards_left { WALK_LEFT } else { WALK_RIGHT }
}

/// The camera class of a camera move.
pub fn camera_class(camera: Option<CameraMove>) -> u32 {
    match camera {
        None | Some(CameraMove::Static) => 0,
        Some(CameraMove::PanLeft) => PAN_LEFT,
        Some(CameraMove::PanRight) => PAN_RIGHT,
        Some(CameraMove::ZoomIn) => 3,
        Some(CameraMove::ZoomOut) => 4,
    }
}

impl Motion {
    /// The motion seen in a mirror: left and right slots swap, walks and pans go the other
    /// way.
    pub fn mirrored(self) -> Self {
        let turn = |action: u32| match action {
            WALK_LEFT => WALK_RIGHT,
            WALK_RIGHT => WALK_LEFT,
            other => other,
        };
        let [left, centre, right] = self.actions;
        Motion {
            actions: [turn(right), turn(centre), turn(left)],
            camera: match self.camera {
                PAN_LEFT => PAN_RIGHT,
                PAN_RIGHT => PAN_LEFT,
                other => other,
            },
        }
    }

    /// The motion a script's shot describes. Characters without a position fill the free
    /// slots left to right.
    pub fn of_shot(shot: &Shot) -> Self {
        let mut motion = Motion {
            actions: [0; SLOTS],
            camera: camera_class(shot.camera),
        };
        let mut taken = [false; SLOTS];
        let slot_of = |position: Position| match position {
            Position::Left => 0,
            Position::Centre => 1,
            Position::Right => 2,
        };
        let action = |c: &moviedreamer_script::model::ShotCharacter| {
            c.action.as_deref().map(action_class).unwrap_or(0)
        };
        for character in &shot.characters {
            if let Some(position) = character.position {
                let slot = slot_of(position);
                taken[slot] = true;
                motion.actions[slot] = action(character);
            }
        }
        for character in shot.characters.iter().filter(|c| c.position.is_none()) {
            if let Some(slot) = taken.iter().position(|t| !t) {
                taken[slot] = true;
                motion.actions[slot] = action(character);
            }
        }
        motion
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moviedreamer_script::model::{ShotCharacter, ShotType};

    #[test]
    fn free_text_actions_map_to_the_motions_they_name() {
        assert_eq!(action_class("walk"), 2);
        assert_eq!(action_class("Waves hello"), 3);
        assert_eq!(action_class("slowly sits down"), 4);
        assert_eq!(action_class("argues with Mara"), 6);
        assert_eq!(action_class("ponders"), 0);
        assert_eq!(action_class("left"), 0);
        assert_eq!(action_class(""), 0);
    }

    #[test]
    fn a_walk_goes_the_way_its_words_say() {
        assert_eq!(action_class("walk"), WALK);
        assert_eq!(action_class("walk left"), WALK_LEFT);
        assert_eq!(action_class("Walks off to the right."), WALK_RIGHT);
        assert_eq!(action_class("strolls leftwards"), WALK_LEFT);
        assert_eq!(action_class("walks in from the left"), WALK_RIGHT);
        assert_eq!(action_class("walks in from right"), WALK_LEFT);
        // A side named before the verb is where they are, not where they go.
        assert_eq!(action_class("on the left, walks"), WALK);
        // Only walks have a way.
        assert_eq!(action_class("waves right"), 3);
        assert_eq!(ACTIONS[WALK_LEFT as usize], "walk-left");
        assert_eq!(ACTIONS[WALK_RIGHT as usize], "walk-right");
    }

    #[test]
    fn a_mirror_swaps_sides_and_turns_walks_and_pans() {
        let motion = Motion {
            actions: [action_class("walk left"), action_class("wave"), 0],
            camera: camera_class(Some(CameraMove::PanLeft)),
        };
        let mirrored = motion.mirrored();
        assert_eq!(mirrored.actions, [0, action_class("wave"), WALK_RIGHT]);
        assert_eq!(mirrored.camera, camera_class(Some(CameraMove::PanRight)));
        assert_eq!(mirrored.mirrored(), motion);
    }

    #[test]
    fn a_shot_gives_each_slot_its_action_and_the_camera_its_move() {
        let mut left = ShotCharacter::new("a");
        left.position = Some(Position::Right);
        left.action = Some("jump".into());
        let mut free = ShotCharacter::new("b");
        free.action = Some("wave".into());
        let shot = Shot {
            description: "x".into(),
            shot: ShotType::Wide,
            characters: vec![left, free],
            camera: Some(CameraMove::PanLeft),
            duration: None,
            dialogue: Vec::new(),
        };
        let motion = Motion::of_shot(&shot);
        assert_eq!(motion.actions, [3, 0, 5]);
        assert_eq!(motion.camera, 1);
    }
}
