//! Characters: an identity is a set of visible traits. There are over 30 million
//! combinations, so the characters of test films are never seen in training, and splits
//! are made disjoint by identity (see [`Split`]).

use rand::Rng;
use serde::{Deserialize, Serialize};

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Skin tones, light to dark.
pub const SKIN_TONES: [(&str, Rgb); 8] = [
    ("porcelain", [250, 224, 205]),
    ("peach", [241, 200, 170]),
    ("sand", [226, 180, 140]),
    ("honey", [206, 154, 110]),
    ("olive", [181, 138, 96]),
    ("amber", [160, 110, 70]),
    ("umber", [120, 80, 52]),
    ("ebony", [86, 58, 40]),
];

/// Hair colours.
pub const HAIR_COLOURS: [(&str, Rgb); 8] = [
    ("black", [30, 28, 32]),
    ("brown", [100, 62, 36]),
    ("auburn", [150, 60, 30]),
    ("ginger", [220, 110, 40]),
    ("blond", [235, 200, 110]),
    ("grey", [160, 160, 165]),
    ("white", [240, 240, 235]),
    ("blue", [60, 110, 220]),
];

/// Eye colours.
pub const EYE_COLOURS: [(&str, Rgb); 5] = [
    ("brown", [90, 55, 30]),
    ("blue", [40, 110, 210]),
    ("green", [40, 150, 70]),
    ("grey", [110, 115, 125]),
    ("violet", [140, 60, 190]),
];

/// Outfit colours.
pub const OUTFIT_COLOURS: [(&str, Rgb); 10] = [
    ("red", [210, 50, 50]),
    ("orange", [240, 140, 40]),
    ("yellow", [240, 210, 60]),
    ("green", [60, 160, 80]),
    ("teal", [40, 150, 150]),
    ("blue", [50, 90, 200]),
    ("purple", [130, 70, 180]),
    ("pink", [235, 120, 170]),
    ("white", [235, 235, 230]),
    ("black", [45, 45, 50]),
];

/// The shape of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeadShape {
    /// As wide as tall.
    Round,
    /// Taller than wide, rounded.
    Oval,
    /// Wide jaw, flat top.
    Square,
    /// Narrow and tall.
    Long,
}

/// A hair style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HairStyle {
    /// No hair.
    Bald,
    /// A close cap of hair.
    Short,
    /// Falling to the shoulders.
    Long,
    /// Spikes on top.
    Spiky,
    /// A bun on top.
    Bun,
    /// A cloud of curls.
    Curly,
    /// A tail at the back.
    Ponytail,
}

/// A mouth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mouth {
    /// An upward curve.
    Smile,
    /// A straight line.
    Neutral,
    /// A broad grin.
    Wide,
    /// A small round mouth.
    Small,
}

/// The pattern of an outfit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// One colour.
    Plain,
    /// Horizontal stripes.
    Stripes,
    /// Polka dots.
    Dots,
    /// A checked pattern.
    Check,
}

/// A hat or another accessory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Accessory {
    /// Nothing.
    None,
    /// A tall black hat.
    TopHat,
    /// A peaked cap in the outfit's colour.
    Cap,
    /// A flat beret.
    Beret,
    /// Round glasses.
    Glasses,
    /// A scarf round the neck.
    Scarf,
    /// A bow in the hair.
    Bow,
}

/// How tall a character is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Height {
    /// 85% of medium.
    Short,
    /// The reference height.
    Medium,
    /// 112% of medium.
    Tall,
}

/// Every visible trait of a character. Palettes are indices into the `*_COLOURS` and
/// `SKIN_TONES` tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// Head shape.
    pub head: HeadShape,
    /// Index into [`SKIN_TONES`].
    pub skin: u8,
    /// Hair style.
    pub hair_style: HairStyle,
    /// Index into [`HAIR_COLOURS`].
    pub hair_colour: u8,
    /// Index into [`EYE_COLOURS`].
    pub eyes: u8,
    /// Mouth.
    pub mouth: Mouth,
    /// Index into [`OUTFIT_COLOURS`].
    pub outfit: u8,
    /// Outfit pattern.
    pub pattern: Pattern,
    /// Hat or accessory.
    pub accessory: Accessory,
    /// Height.
    pub height: Height,
}

const HEADS: [HeadShape; 4] = [
    HeadShape::Round,
    HeadShape::Oval,
    HeadShape::Square,
    HeadShape::Long,
];
const HAIR_STYLES: [HairStyle; 7] = [
    HairStyle::Bald,
    HairStyle::Short,
    HairStyle::Long,
    HairStyle::Spiky,
    HairStyle::Bun,
    HairStyle::Curly,
    HairStyle::Ponytail,
];
const MOUTHS: [Mouth; 4] = [Mouth::Smile, Mouth::Neutral, Mouth::Wide, Mouth::Small];
const PATTERNS: [Pattern; 4] = [
    Pattern::Plain,
    Pattern::Stripes,
    Pattern::Dots,
    Pattern::Check,
];
const ACCESSORIES: [Accessory; 7] = [
    Accessory::None,
    Accessory::TopHat,
    Accessory::Cap,
    Accessory::Beret,
    Accessory::Glasses,
    Accessory::Scarf,
    Accessory::Bow,
];
const HEIGHTS: [Height; 3] = [Height::Short, Height::Medium, Height::Tall];

/// The number of values of each trait, in the order of [`Identity::trait_indices`]. Their
/// product is the number of distinct identities.
pub const TRAIT_SIZES: [usize; 10] = [
    HEADS.len(),
    SKIN_TONES.len(),
    HAIR_STYLES.len(),
    HAIR_COLOURS.len(),
    EYE_COLOURS.len(),
    MOUTHS.len(),
    OUTFIT_COLOURS.len(),
    PATTERNS.len(),
    ACCESSORIES.len(),
    HEIGHTS.len(),
];

/// Names of the traits, in the order of [`Identity::trait_indices`].
pub const TRAIT_NAMES: [&str; 10] = [
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

/// Which part of a dataset an identity belongs to. Decided by a hash of the traits alone,
/// so no identity can ever appear in two splits, whatever the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// 80% of identities.
    Train,
    /// 10%.
    Validation,
    /// 10%.
    Test,
}

impl Split {
    /// Every split.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// The directory name of the split.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl Identity {
    /// A random identity from the given split.
    pub fn sample(rng: &mut impl Rng, split: Split) -> Identity {
        loop {
            let identity = Identity::sample_any(rng);
            if identity.split() == split {
                return identity;
            }
        }
    }

    fn sample_any(rng: &mut impl Rng) -> Identity {
        let mut pick = |n: usize| rng.random_range(0..n);
        Identity {
            head: HEADS[pick(HEADS.len())],
            skin: pick(SKIN_TONES.len()) as u8,
            hair_style: HAIR_STYLES[pick(HAIR_STYLES.len())],
            hair_colour: pick(HAIR_COLOURS.len()) as u8,
            eyes: pick(EYE_COLOURS.len()) as u8,
            mouth: MOUTHS[pick(MOUTHS.len())],
            outfit: pick(OUTFIT_COLOURS.len()) as u8,
            pattern: PATTERNS[pick(PATTERNS.len())],
            accessory: ACCESSORIES[pick(ACCESSORIES.len())],
            height: HEIGHTS[pick(HEIGHTS.len())],
        }
    }

    /// The split this identity belongs to.
    pub fn split(&self) -> Split {
        match self.code() % 10 {
            0 => Split::Test,
            1 => Split::Validation,
            _ => Split::Train,
        }
    }

    /// The index of every trait, in the order of [`TRAIT_NAMES`]: the evaluator's targets.
    pub fn trait_indices(&self) -> [usize; 10] {
        let find = |v: &dyn Fn(usize) -> bool, n: usize| (0..n).find(|&i| v(i)).unwrap_or(0);
        [
            find(&|i| HEADS[i] == self.head, HEADS.len()),
            self.skin as usize,
            find(&|i| HAIR_STYLES[i] == self.hair_style, HAIR_STYLES.len()),
            self.hair_colour as usize,
            self.eyes as usize,
            find(&|i| MOUTHS[i] == self.mouth, MOUTHS.len()),
            self.outfit as usize,
            find(&|i| PATTERNS[i] == self.pattern, PATTERNS.len()),
            find(&|i| ACCESSORIES[i] == self.accessory, ACCESSORIES.len()),
            find(&|i| HEIGHTS[i] == self.height, HEIGHTS.len()),
        ]
    }

    /// The identity with these trait indices, in the order of [`TRAIT_NAMES`]: the inverse
    /// of [`Identity::trait_indices`]. `None` when an index is out of its trait's range.
    pub fn from_trait_indices(indices: &[usize; 10]) -> Option<Identity> {
        if indices.iter().zip(TRAIT_SIZES).any(|(&i, size)| i >= size) {
            return None;
        }
        let [
            head,
            skin,
            hair_style,
            hair_colour,
            eyes,
            mouth,
            outfit,
            pattern,
            accessory,
            height,
        ] = *indices;
        Some(Identity {
            head: HEADS[head],
            skin: skin as u8,
            hair_style: HAIR_STYLES[hair_style],
            hair_colour: hair_colour as u8,
            eyes: eyes as u8,
            mouth: MOUTHS[mouth],
            outfit: outfit as u8,
            pattern: PATTERNS[pattern],
            accessory: ACCESSORIES[accessory],
            height: HEIGHTS[height],
        })
    }

    /// A unique number for this combination of traits (mixed-radix), well mixed.
    pub fn code(&self) -> u64 {
        let mut code = 0u64;
        for (index, size) in self.trait_indices().iter().zip(TRAIT_SIZES) {
            code = code * size as u64 + *index as u64;
        }
        // Mixing spreads neighbouring codes over the splits.
        crate::seed::finalise(code)
    }

    /// The skin colour.
    pub fn skin_rgb(&self) -> Rgb {
        SKIN_TONES[self.skin as usize].1
    }

    /// The hair colour.
    pub fn hair_rgb(&self) -> Rgb {
        HAIR_COLOURS[self.hair_colour as usize].1
    }

    /// The eye colour.
    pub fn eye_rgb(&self) -> Rgb {
        EYE_COLOURS[self.eyes as usize].1
    }

    /// The outfit colour.
    pub fn outfit_rgb(&self) -> Rgb {
        OUTFIT_COLOURS[self.outfit as usize].1
    }

    /// Height relative to a medium character.
    pub fn height_scale(&self) -> f32 {
        match self.height {
            Height::Short => 0.85,
            Height::Medium => 1.0,
            Height::Tall => 1.12,
        }
    }

    /// A plain description, as a script's character description: "a tall person with
    /// short ginger hair, green eyes and a red striped outfit, wearing a top hat".
    pub fn describe(&self) -> String {
        let height = match self.height {
            Height::Short => "short",
            Height::Medium => "medium-height",
            Height::Tall => "tall",
        };
        let head = match self.head {
            HeadShape::Round => "round",
            HeadShape::Oval => "oval",
            HeadShape::Square => "square",
            HeadShape::Long => "long",
        };
        let hair = match self.hair_style {
            HairStyle::Bald => "a bald head".to_owned(),
            style => format!(
                "{} {} hair",
                match style {
                    HairStyle::Short => "short",
                    HairStyle::Long => "long",
                    HairStyle::Spiky => "spiky",
                    HairStyle::Bun => "a bun of",
                    HairStyle::Curly => "curly",
                    _ => "a ponytail of",
                },
                HAIR_COLOURS[self.hair_colour as usize].0
            ),
        };
        let pattern = match self.pattern {
            Pattern::Plain => "plain",
            Pattern::Stripes => "striped",
            Pattern::Dots => "dotted",
            Pattern::Check => "checked",
        };
        let accessory = match self.accessory {
            Accessory::None => "",
            Accessory::TopHat => ", wearing a top hat",
            Accessory::Cap => ", wearing a cap",
            Accessory::Beret => ", wearing a beret",
            Accessory::Glasses => ", wearing glasses",
            Accessory::Scarf => ", wearing a scarf",
            Accessory::Bow => ", wearing a bow",
        };
        format!(
            "a {height} person with a {head} {} face, {hair}, {} eyes and a {} {pattern} outfit{accessory}",
            SKIN_TONES[self.skin as usize].0,
            EYE_COLOURS[self.eyes as usize].0,
            OUTFIT_COLOURS[self.outfit as usize].0,
        )
    }
}

/// A generated display name: two or three syllables, capitalised ("Mirado", "Tesku").
pub fn sample_name(rng: &mut impl Rng) -> String {
    const ONSETS: [&str; 16] = [
        "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "sh", "th",
    ];
    const VOWELS: [&str; 7] = ["a", "e", "i", "o", "u", "ai", "ou"];
    let syllables = rng.random_range(2..=3);
    let mut name = String::new();
    for _ in 0..syllables {
        name.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
        name.push_str(VOWELS[rng.random_range(0..VOWELS.len())]);
    }
    if rng.random_bool(0.4) {
        name.push_str(["n", "r", "l", "s"][rng.random_range(0..4)]);
    }
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn there_are_over_a_million_identities() {
        let combinations: usize = TRAIT_SIZES.iter().product();
        assert!(combinations > 1_000_000, "{combinations}");
    }

    #[test]
    fn sampled_identities_land_in_their_split() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for split in Split::ALL {
            for _ in 0..50 {
                assert_eq!(Identity::sample(&mut rng, split).split(), split);
            }
        }
    }

    #[test]
    fn splits_are_roughly_80_10_10() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut counts = [0usize; 3];
        for _ in 0..10_000 {
            let split = Identity::sample_any(&mut rng).split();
            counts[Split::ALL.iter().position(|&s| s == split).unwrap()] += 1;
        }
        assert!((7_600..8_400).contains(&counts[0]), "{counts:?}");
        assert!((800..1_200).contains(&counts[1]), "{counts:?}");
        assert!((800..1_200).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn codes_are_unique_per_identity() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut seen = std::collections::HashMap::new();
        for _ in 0..5_000 {
            let identity = Identity::sample_any(&mut rng);
            let previous = seen.insert(identity.code(), identity);
            assert!(previous.is_none_or(|p| p == identity));
        }
    }

    #[test]
    fn trait_indices_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..200 {
            let identity = Identity::sample_any(&mut rng);
            let indices = identity.trait_indices();
            assert_eq!(Identity::from_trait_indices(&indices), Some(identity));
        }
        let mut out_of_range = [0; 10];
        out_of_range[2] = TRAIT_SIZES[2];
        assert_eq!(Identity::from_trait_indices(&out_of_range), None);
    }

    #[test]
    fn names_are_capitalised_words() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..100 {
            let name = sample_name(&mut rng);
            assert!(name.len() >= 4, "{name}");
            assert!(name.chars().next().unwrap().is_ascii_uppercase());
            assert!(name.chars().skip(1).all(|c| c.is_ascii_lowercase()));
        }
    }
}
