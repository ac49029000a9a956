//! Which identity traits a keyframe actually shows. A wide shot at 64 px draws a head
//! about 6 px tall, so eyes and mouth are below a pixel; a close-up frames every head at
//! the same place whatever the character's height. A reader of pictures (the evaluator)
//! can only be trained on and held to what is drawn large enough to see.

use super::framing;
use crate::identity::TRAIT_NAMES;
use crate::world::ShotType;

/// The smallest detail, in figure units (a medium-height character is 1 unit tall), that
/// tells one value of each trait from another, in the order of [`TRAIT_NAMES`]. Measured
/// from the drawing code in `figure.rs`:
///
/// - head: an oval head is 0.024 narrower than a round one, a square one differs at its
///   corners by about as much;
/// - skin: the face, about 0.16 wide;
/// - hair style: a bun or ponytail, about 0.04 across;
/// - hair colour: the hair, at least 0.1 across;
/// - eyes: an eye, 0.04 across;
/// - mouth: a small mouth, 0.024 across (the wide one is 0.026 tall);
/// - outfit: the torso, 0.24 wide;
/// - pattern: a stripe, 0.025 tall;
/// - accessory: a lens of the glasses, 0.064 across (hats and scarves are larger);
/// - height: 0.12 to 0.15 between heights (but see [`trait_visible`] for close-ups).
const FINEST_DETAIL: [f32; TRAIT_NAMES.len()] = [
    0.024, 0.16, 0.04, 0.1, 0.04, 0.024, 0.24, 0.025, 0.064, 0.12,
];

/// Pixels a detail must span to be read: below about one and a half, anti-aliasing blends
/// it into its surroundings.
const READABLE_PIXELS: f32 = 1.5;

/// Whether trait `index` (in the order of [`TRAIT_NAMES`]) can be seen in a picture of
/// side `size` framed as `shot`: its finest distinguishing detail spans at least
/// [`READABLE_PIXELS`], and, for height, the shot is not a close-up (close-ups place every
/// head centre at mid-frame and show only head and shoulders, so nothing of the height is
/// drawn). Out-of-range indices are not visible.
pub fn trait_visible(index: usize, shot: ShotType, size: u32) -> bool {
    let Some(detail) = FINEST_DETAIL.get(index) else {
        return false;
    };
    if TRAIT_NAMES[index] == "height" && shot == ShotType::CloseUp {
        return false;
    }
    let pixels_per_unit = size as f32 * framing(shot).figure_scale;
    detail * pixels_per_unit >= READABLE_PIXELS
}

/// Whether a picture framed as `shot` shows what a character's body is doing. A close-up
/// frames head and shoulders where a standing character's are, and keyframes are drawn at
/// the start of the motion (the talker's mouth still closed): sitting, standing, walking
/// and talking look alike there, and only a wave's or a jump's raised arms reach into the
/// frame. With four of six poses the same picture, pose is read in wide and medium shots
/// only.
pub fn pose_visible(shot: ShotType) -> bool {
    shot != ShotType::CloseUp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(shot: ShotType, size: u32) -> Vec<&'static str> {
        (0..TRAIT_NAMES.len())
            .filter(|&t| trait_visible(t, shot, size))
            .map(|t| TRAIT_NAMES[t])
            .collect()
    }

    #[test]
    fn small_wide_shots_hide_faces_and_close_ups_hide_height() {
        assert_eq!(
            visible(ShotType::Wide, 64),
            ["skin", "hair_colour", "outfit", "accessory", "height"]
        );
        assert_eq!(visible(ShotType::Medium, 64).len(), TRAIT_NAMES.len());
        assert_eq!(
            visible(ShotType::CloseUp, 64),
            &TRAIT_NAMES[..TRAIT_NAMES.len() - 1]
        );
        // Larger pictures show more: every trait in a 256 px wide shot.
        assert_eq!(visible(ShotType::Wide, 256).len(), TRAIT_NAMES.len());
        assert!(!trait_visible(TRAIT_NAMES.len(), ShotType::Medium, 64));
    }

    #[test]
    fn close_ups_hide_the_pose() {
        assert!(pose_visible(ShotType::Wide));
        assert!(pose_visible(ShotType::Medium));
        assert!(!pose_visible(ShotType::CloseUp));
    }
}
