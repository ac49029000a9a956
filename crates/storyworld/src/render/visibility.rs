//! Which identity traits a keyframe actually shows. A wide shot at 64 px draws a head
//! about 6 px tall, so eyes and mouth are below a pixel; a close-up frames every head at
//! the same place whatever the character's height. Styles and light move colours together
//! too: sepia keeps only the brightness, so an orange and a pink outfit come out one level
//! apart. A reader of pictures (the evaluator) can only be trained on and held to what is
//! drawn large enough, and in colours far enough apart, to see.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use super::canvas::{Canvas, shown_colours};
use super::{draw_standing, framing, ground_y, light};
use crate::identity::{
    Accessory, EYE_COLOURS, HAIR_COLOURS, HairStyle, HeadShape, Identity, OUTFIT_COLOURS, Rgb,
    SKIN_TONES, TRAIT_NAMES, TRAIT_SIZES,
};
use crate::world::{Location, Pose, ShotType, Style, TimeOfDay};

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

/// Whether the rest of a character (its trait indices `traits`, in the order of
/// [`TRAIT_NAMES`]) leaves trait `index` drawn where it can be read, in a picture of side
/// `size` framed as `shot`. Only the hair depends on other traits: a bald head has no hair
/// to show a colour, and a hat covers the top of the head, where a bun or spikes would be
/// (a bun under a top hat is drawn exactly as a short crop). Measured by drawing the head
/// at this scale ([`covered_hair`]); out-of-range traits are not drawn.
pub fn trait_uncovered(index: usize, traits: &[usize; 10], shot: ShotType, size: u32) -> bool {
    let Some(&name) = TRAIT_NAMES.get(index) else {
        return false;
    };
    if !matches!(name, "hair_style" | "hair_colour") {
        return true;
    }
    let Some(identity) = Identity::from_trait_indices(traits) else {
        return false;
    };
    let hair = covered_hair(&identity, shot, size);
    let pixels = if name == "hair_style" {
        hair.style_apart
    } else {
        hair.colour
    };
    pixels as f32 >= READABLE_PIXELS * READABLE_PIXELS
}

/// What a head shows of its hair, in pixels mostly covered (see [`CHANGED_LEVELS`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct HairShown {
    /// Pixels that change when the hair colour goes from black to white.
    colour: u32,
    /// The fewest pixels that change when the hair style becomes any other.
    style_apart: u32,
}

/// Levels (of 255) by which a pixel must change to count: about half the contrast the
/// measurement draws, so a pixel counts when the hair covers most of it.
const CHANGED_LEVELS: i16 = 80;

/// What [`covered_hair`] measured, by what it depends on: head shape, hair style,
/// accessory, shot and size. A head is drawn a few times per key, once per process.
type HairKey = (HeadShape, HairStyle, Accessory, ShotType, u32);
static HAIR_SHOWN: LazyLock<Mutex<HashMap<HairKey, HairShown>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// How much of `identity`'s hair a picture of side `size` framed as `shot` shows, by
/// drawing the head, standing and facing the viewer, at the shot's scale. The colours
/// are fixed and far apart (white hair on dark skin, a black outfit under a cap): the
/// question here is whether the shapes are there; whether their colours are apart in a
/// style and light is [`trait_value_distinct`]'s.
fn covered_hair(identity: &Identity, shot: ShotType, size: u32) -> HairShown {
    let key = (
        identity.head,
        identity.hair_style,
        identity.accessory,
        shot,
        size,
    );
    let cached = HAIR_SHOWN
        .lock()
        .ok()
        .and_then(|cache| cache.get(&key).copied());
    if let Some(shown) = cached {
        return shown;
    }
    let contrasted = |identity: &Identity| Identity {
        skin: 7,
        hair_colour: 6,
        outfit: 9,
        ..*identity
    };
    let own = draw_head(&contrasted(identity), shot, size);
    let black_hair = Identity {
        hair_colour: 0,
        ..contrasted(identity)
    };
    let traits = identity.trait_indices();
    let other_styles = (0..TRAIT_SIZES[2]).filter(|&style| style != traits[2]);
    let shown = HairShown {
        colour: changed_pixels(&own, &draw_head(&black_hair, shot, size)),
        style_apart: other_styles
            .filter_map(|style| {
                let mut other = traits;
                other[2] = style;
                Identity::from_trait_indices(&other)
            })
            .map(|other| changed_pixels(&own, &draw_head(&contrasted(&other), shot, size)))
            .min()
            .unwrap_or(0),
    };
    if let Ok(mut cache) = HAIR_SHOWN.lock() {
        cache.insert(key, shown);
    }
    shown
}

/// A flat picture of side `size` of `identity`'s head at the scale of `shot`, its centre
/// in the middle of the picture (as a close-up places it).
fn draw_head(identity: &Identity, shot: ShotType, size: u32) -> Vec<[u8; 3]> {
    let Some(mut canvas) = Canvas::new(size, Style::Flat, [128, 128, 128]) else {
        return Vec::new();
    };
    let scale = framing(shot).figure_scale;
    let ground = ground_y(ShotType::CloseUp, identity, Pose::Stand, scale);
    draw_standing(&mut canvas, identity, scale, ground);
    canvas.finish([1.0; 3]).pixels().map(|p| p.0).collect()
}

/// Pixels that differ by at least [`CHANGED_LEVELS`] in some channel.
fn changed_pixels(a: &[[u8; 3]], b: &[[u8; 3]]) -> u32 {
    let changed = |p: &[u8; 3], q: &[u8; 3]| {
        (0..3).any(|c| (i16::from(p[c]) - i16::from(q[c])).abs() >= CHANGED_LEVELS)
    };
    a.iter().zip(b).filter(|(p, q)| changed(p, q)).count() as u32
}

/// Levels (of 255) by which two values of a colour trait must differ, in some channel of
/// their fill or outline, to count as drawn apart. Interior pixels keep their exact levels
/// in a lossless keyframe, but a generated keyframe is never that exact: a benchmark that
/// held a generator to a difference of two levels would score noise.
const DISTINCT_LEVELS: f32 = 8.0;

/// The palette of a colour trait (by index in [`TRAIT_NAMES`]) and whether its shapes get
/// the style's outline (eyes are drawn plain); `None` for traits that are shapes.
fn palette(index: usize) -> Option<(Vec<Rgb>, bool)> {
    let colours = |table: &[(&str, Rgb)]| table.iter().map(|&(_, rgb)| rgb).collect();
    match *TRAIT_NAMES.get(index)? {
        "skin" => Some((colours(&SKIN_TONES), true)),
        "hair_colour" => Some((colours(&HAIR_COLOURS), true)),
        "eyes" => Some((colours(&EYE_COLOURS), false)),
        "outfit" => Some((colours(&OUTFIT_COLOURS), true)),
        _ => None,
    }
}

/// Whether value `value` of trait `index` (in the order of [`TRAIT_NAMES`]) is drawn apart
/// from every other value of the trait in a keyframe of this style, place and time: in the
/// finished picture their fills or outlines differ by at least [`DISTINCT_LEVELS`] in some
/// channel. Shape traits (head, hair style, mouth, pattern, accessory, height) always are;
/// an out-of-range value is not.
pub fn trait_value_distinct(
    index: usize,
    value: usize,
    style: Style,
    location: Location,
    time: TimeOfDay,
) -> bool {
    if TRAIT_SIZES
        .get(index)
        .is_none_or(|&classes| value >= classes)
    {
        return false;
    }
    let Some((colours, outlined)) = palette(index) else {
        return true;
    };
    let own = colours[value];
    let light = light(location, time, 1.0);
    let shown = |colour| shown_colours(style, colour, outlined, light);
    let own = shown(own);
    colours
        .iter()
        .enumerate()
        .filter(|&(other, _)| other != value)
        .all(|(_, &other)| {
            own.iter()
                .zip(shown(other))
                .any(|(a, b)| (0..3).any(|c| (a[c] - b[c]).abs() >= DISTINCT_LEVELS))
        })
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

    /// The values of trait `name` drawn apart in `style` by day in a forest.
    fn distinct(name: &str, style: Style) -> Vec<usize> {
        let index = TRAIT_NAMES.iter().position(|t| *t == name).unwrap();
        let classes = TRAIT_SIZES[index];
        (0..classes)
            .filter(|&v| trait_value_distinct(index, v, style, Location::Forest, TimeOfDay::Day))
            .collect()
    }

    #[test]
    fn colours_a_style_draws_alike_are_not_shown() {
        // Flat fills keep every palette apart.
        for name in ["skin", "hair_colour", "eyes", "outfit"] {
            let classes = distinct(name, Style::Flat).len();
            let index = TRAIT_NAMES.iter().position(|t| *t == name).unwrap();
            assert_eq!(classes, TRAIT_SIZES[index], "{name}");
        }
        // Sepia keeps the brightness only: of the eyes, brown alone stands apart (blue and
        // violet come out two levels apart, green and grey seven); of the outfits, yellow,
        // white and black (orange and pink, red and purple, green and teal come out a level
        // or two apart).
        assert_eq!(distinct("eyes", Style::Sepia), [0]);
        assert_eq!(distinct("outfit", Style::Sepia), [2, 8, 9]);
        // Neon's dark fills press the middle skin tones together, and their outlines,
        // scaled to each colour's brightest channel, differ by hue only.
        assert_eq!(distinct("skin", Style::Neon), [0, 1, 2, 5, 6, 7]);
        // Shapes do not depend on the style; out-of-range values never count.
        assert_eq!(distinct("head", Style::Sepia), [0, 1, 2, 3]);
        assert!(!trait_value_distinct(
            0,
            4,
            Style::Flat,
            Location::Forest,
            TimeOfDay::Day
        ));
        assert!(!trait_value_distinct(
            TRAIT_NAMES.len(),
            0,
            Style::Flat,
            Location::Forest,
            TimeOfDay::Day
        ));
    }

    /// Trait indices with this hair style and accessory (by name), the rest the first
    /// value of each trait.
    fn head_with(hair_style: &str, accessory: &str) -> [usize; 10] {
        let mut traits = [0; 10];
        traits[2] = ["bald", "short", "long", "spiky", "bun", "curly", "ponytail"]
            .iter()
            .position(|s| *s == hair_style)
            .unwrap();
        traits[8] = ["none", "top-hat", "cap", "beret", "glasses", "scarf", "bow"]
            .iter()
            .position(|a| *a == accessory)
            .unwrap();
        traits
    }

    fn uncovered(name: &str, traits: [usize; 10], shot: ShotType) -> bool {
        let index = TRAIT_NAMES.iter().position(|t| *t == name).unwrap();
        trait_uncovered(index, &traits, shot, 64)
    }

    #[test]
    fn hair_a_character_does_not_show_is_not_shown() {
        use ShotType::{CloseUp, Medium, Wide};
        // A bald head has no hair colour, in any shot.
        for shot in [Wide, Medium, CloseUp] {
            assert!(!uncovered("hair_colour", head_with("bald", "none"), shot));
            assert!(uncovered("hair_colour", head_with("short", "none"), shot));
        }
        // A top hat covers a bun: drawn exactly as a short crop, so neither shows its
        // style; long hair still falls below the brim.
        for style in ["bun", "short"] {
            assert!(!uncovered(
                "hair_style",
                head_with(style, "top-hat"),
                CloseUp
            ));
            assert!(uncovered("hair_style", head_with(style, "none"), CloseUp));
        }
        assert!(uncovered(
            "hair_style",
            head_with("long", "top-hat"),
            CloseUp
        ));
        // A cap leaves a sliver of a short crop: enough to read in a close-up, not in a
        // wide shot.
        assert!(uncovered("hair_colour", head_with("short", "cap"), CloseUp));
        assert!(!uncovered("hair_colour", head_with("short", "cap"), Wide));
        // Traits other than the hair are never covered; out-of-range ones never drawn.
        assert!(uncovered("eyes", head_with("bald", "top-hat"), CloseUp));
        assert!(!trait_uncovered(TRAIT_NAMES.len(), &[0; 10], CloseUp, 64));
        assert!(!trait_uncovered(3, &[9; 10], CloseUp, 64));
    }

    #[test]
    fn close_ups_hide_the_pose() {
        assert!(pose_visible(ShotType::Wide));
        assert!(pose_visible(ShotType::Medium));
        assert!(!pose_visible(ShotType::CloseUp));
    }
}
