//! How well a film's keyframes show what its script asked for (issue #9, part 2), from what
//! the evaluator reads in them.
//!
//! Plain numbers in, plain numbers out: the caller runs the evaluator and turns a script or
//! a StoryWorld film's labels into [`ExpectedShot`]s, so the metrics are testable without a
//! network and the same for every stage that makes keyframes.
//!
//! - **Adherence**: the share of shots whose place, time, style and shot type are read as
//!   asked.
//! - **Presence**: precision, recall and F1 of "someone stands in this slot", over every
//!   slot of every shot.
//! - **Identity accuracy**: the share of a character's traits read right in the slot where
//!   it should stand, over every character of every shot. A character's reference (its
//!   portrait) shows exactly its traits, so its traits are what it is compared with; a
//!   trait the shot draws too small to see (no eyes in a small wide shot) is not asked.
//! - **Identity consistency**: the cosine between the evaluator's identity embeddings of one
//!   character in two shots, over every pair of shots that ask for it, overall and by how far
//!   apart the two shots are (a film that forgets its characters decays with distance).
//! - **Identity separation**: that consistency less the mean cosine between two *different*
//!   characters in two shots. Consistency alone rewards sameness: a renderer that draws
//!   every figure alike scores well on it while telling nobody apart. Separation is high only
//!   when a character looks like itself and unlike the others.
//!
//! A character the evaluator does not see in its slot is missed: its traits count as read
//! wrong, and every pair of shots it belongs to scores 0. Otherwise a film that draws
//! nobody would score well, since the embeddings of one empty slot in two shots agree.

use serde::Serialize;

/// Scene attributes, in the order of [`ExpectedShot::scene`].
pub const SCENE_ATTRIBUTES: [&str; 4] = ["location", "time", "style", "shot_type"];

/// Slots a character can stand in (left, centre, right).
pub const SLOTS: usize = 3;

/// Distances between shots (in shots) that the consistency is reported for: 1, 2–4, 5–16,
/// 17–64, 65–256 and more.
pub const DISTANCE_BUCKETS: [(usize, usize); 6] = [
    (1, 1),
    (2, 4),
    (5, 16),
    (17, 64),
    (65, 256),
    (257, usize::MAX),
];

/// A distance bucket's name: `1`, `2-4`, …, `257+` (`to` is `usize::MAX` for the open last
/// one). ASCII, so chart fonts draw it too.
pub fn distance_bucket_name(from: usize, to: usize) -> String {
    match to {
        usize::MAX => format!("{from}+"),
        to if to == from => format!("{from}"),
        to => format!("{from}-{to}"),
    }
}

/// A character a shot asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedCharacter {
    /// Its id in the film's cast: the same id in two shots is the same character.
    pub id: String,
    /// Its trait classes, in the evaluator's trait order; `None` for a trait this shot
    /// draws too small to be read, which is then not scored.
    pub traits: Vec<Option<usize>>,
}

/// What one shot asks to see, as class indices.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedShot {
    /// Location, time, style and shot type ([`SCENE_ATTRIBUTES`]).
    pub scene: [usize; 4],
    /// Who should stand in each slot as drawn (a close-up's one character in the centre).
    pub slots: [Option<ExpectedCharacter>; SLOTS],
}

/// What the evaluator read in one slot of a keyframe.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadSlot {
    /// Whether it reads someone there.
    pub present: bool,
    /// The trait classes it reads there, in its trait order.
    pub traits: Vec<usize>,
    /// Its identity embedding of the slot (unit length).
    pub embedding: Vec<f32>,
}

/// What the evaluator read in one keyframe.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadShot {
    /// Location, time, style and shot type ([`SCENE_ATTRIBUTES`]).
    pub scene: [usize; 4],
    /// Per slot.
    pub slots: [ReadSlot; SLOTS],
}

/// Precision, recall and F1 of presence over all slots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresenceScores {
    /// Of the slots read as occupied, the share that should be.
    pub precision: f64,
    /// Of the slots that should be occupied, the share read so.
    pub recall: f64,
    /// Their harmonic mean.
    pub f1: f64,
}

/// Identity consistency for shots a range of distances apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsistencyAtDistance {
    /// Smallest distance in shots.
    pub from: usize,
    /// Largest distance in shots, `None` for no limit.
    pub to: Option<usize>,
    /// Pairs of shots of one character that far apart.
    pub pairs: usize,
    /// Their mean cosine.
    pub cosine: f64,
}

/// One reappearance of a character: the shot, and the cosine of the character's embedding
/// there to its embedding in its first shot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reappearance {
    /// The shot of the reappearance.
    pub shot: usize,
    /// Cosine to the first appearance.
    pub cosine: f64,
}

/// Every metric of one film.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilmScores {
    /// Shots scored.
    pub shots: usize,
    /// Per scene attribute ([`SCENE_ATTRIBUTES`]), the share read as asked.
    pub adherence: [f64; 4],
    /// Whether the right slots are occupied.
    pub presence: PresenceScores,
    /// Share of the asked-for characters' traits read right in their slots; `None` when no
    /// shot asks for anyone (or for no trait it shows).
    pub identity_accuracy: Option<f64>,
    /// Per trait (the evaluator's order), how often it was asked for and read right, so a
    /// caller can score a group of traits (the costume) as [`Self::accuracy_of`] does.
    pub trait_cases: Vec<TraitCases>,
    /// Mean cosine between one character's embeddings in two shots, over all such pairs;
    /// `None` when no character appears twice.
    pub consistency: Option<f64>,
    /// The same by distance between the shots (ranges with no pair left out).
    pub consistency_by_distance: Vec<ConsistencyAtDistance>,
    /// Mean cosine between two different characters' embeddings in two different shots,
    /// over all such pairs (a missed one scores 0, as in [`Self::consistency`]); `None`
    /// when the film has no such pair.
    pub cross_character_cosine: Option<f64>,
    /// [`Self::consistency`] less [`Self::cross_character_cosine`]: how much more alike
    /// one character is to itself than to the others.
    pub identity_separation: Option<f64>,
    /// Every character's every shot after its first, with the cosine to that first one, in
    /// shot order: how a likeness holds up along the film (the benchmark plots it against
    /// the shot index).
    pub reappearances: Vec<Reappearance>,
}

/// How often one trait was asked for, and read right.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TraitCases {
    /// Characters shown in a shot whose slot was scored on this trait.
    pub asked: usize,
    /// Of those, the ones read right.
    pub right: usize,
}

impl FilmScores {
    /// Share of the asked-for cases of the traits `traits` (indices in the evaluator's
    /// order, e.g. the costume's) read right; `None` when none was asked for.
    pub fn accuracy_of(&self, traits: &[usize]) -> Option<f64> {
        let cases = traits.iter().filter_map(|&t| self.trait_cases.get(t));
        let (asked, right) = cases.fold((0, 0), |(a, r), c| (a + c.asked, r + c.right));
        (asked > 0).then(|| right as f64 / asked as f64)
    }
}

/// The film and its readings have different numbers of shots, or a reading has a different
/// number of traits than the script asks about.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(String);

/// Scores the readings of a film's keyframes, shot by shot, against what each shot asks.
pub fn score_film(expected: &[ExpectedShot], read: &[ReadShot]) -> Result<FilmScores, Mismatch> {
    if expected.len() != read.len() {
        return Err(Mismatch(format!(
            "the film has {} shots but {} keyframes were read",
            expected.len(),
            read.len()
        )));
    }
    let shots = expected.len();
    let share = |right: usize, cases: usize| right as f64 / cases.max(1) as f64;

    let adherence = std::array::from_fn(|a| {
        let right = expected
            .iter()
            .zip(read)
            .filter(|(e, r)| e.scene[a] == r.scene[a])
            .count();
        share(right, shots)
    });

    let (mut true_positive, mut read_present, mut asked) = (0, 0, 0);
    let mut trait_cases: Vec<TraitCases> = Vec::new();
    // Per character id, every shot that asks for it and the embedding read there.
    let mut appearances: Vec<(&str, Vec<Appearance>)> = Vec::new();
    for (index, (e, r)) in expected.iter().zip(read).enumerate() {
        for (want, got) in e.slots.iter().zip(&r.slots) {
            read_present += usize::from(got.present);
            let Some(character) = want else { continue };
            asked += 1;
            true_positive += usize::from(got.present);
            if character.traits.len() != got.traits.len() {
                return Err(Mismatch(format!(
                    "shot {index}: {} traits asked for {} but {} read",
                    character.traits.len(),
                    character.id,
                    got.traits.len()
                )));
            }
            if trait_cases.len() < character.traits.len() {
                trait_cases.resize(character.traits.len(), TraitCases::default());
            }
            // A missed character shows none of its traits.
            for ((want, read), cases) in character
                .traits
                .iter()
                .zip(&got.traits)
                .zip(&mut trait_cases)
            {
                let Some(want) = want else { continue };
                cases.asked += 1;
                cases.right += usize::from(got.present && want == read);
            }
            let appearance = Appearance {
                shot: index,
                embedding: got.present.then_some(got.embedding.as_slice()),
            };
            match appearances.iter_mut().find(|(id, _)| *id == character.id) {
                Some((_, seen)) => seen.push(appearance),
                None => appearances.push((&character.id, vec![appearance])),
            }
        }
    }
    // Nothing read where nothing was asked is no false positive and no miss.
    let precision = if read_present == 0 {
        1.0
    } else {
        share(true_positive, read_present)
    };
    let recall = if asked == 0 {
        1.0
    } else {
        share(true_positive, asked)
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };

    let mut buckets = [(0usize, 0.0f64); DISTANCE_BUCKETS.len()];
    for (_, seen) in &appearances {
        for (i, a) in seen.iter().enumerate() {
            for b in &seen[i + 1..] {
                let distance = b.shot - a.shot;
                let bucket = DISTANCE_BUCKETS
                    .iter()
                    .position(|&(from, to)| (from..=to).contains(&distance))
                    .expect("the buckets cover every distance from 1");
                buckets[bucket].0 += 1;
                buckets[bucket].1 += a.similarity(b);
            }
        }
    }
    let (mut cross_pairs, mut cross_total) = (0usize, 0.0f64);
    for (i, (_, seen)) in appearances.iter().enumerate() {
        for (_, others) in &appearances[i + 1..] {
            for a in seen {
                for b in others.iter().filter(|b| b.shot != a.shot) {
                    cross_pairs += 1;
                    cross_total += a.similarity(b);
                }
            }
        }
    }
    let cross_character_cosine = (cross_pairs > 0).then(|| cross_total / cross_pairs as f64);
    let mut reappearances: Vec<Reappearance> = appearances
        .iter()
        .flat_map(|(_, seen)| {
            let first = &seen[0];
            seen[1..].iter().map(move |again| Reappearance {
                shot: again.shot,
                cosine: first.similarity(again),
            })
        })
        .collect();
    reappearances.sort_by_key(|r| r.shot);
    let pairs: usize = buckets.iter().map(|b| b.0).sum();
    let (traits_asked, traits_right) = trait_cases
        .iter()
        .fold((0, 0), |(a, r), c| (a + c.asked, r + c.right));
    let total: f64 = buckets.iter().map(|b| b.1).sum();
    let consistency = (pairs > 0).then(|| total / pairs as f64);

    Ok(FilmScores {
        shots,
        adherence,
        presence: PresenceScores {
            precision,
            recall,
            f1,
        },
        identity_accuracy: (traits_asked > 0).then(|| share(traits_right, traits_asked)),
        trait_cases,
        consistency,
        consistency_by_distance: DISTANCE_BUCKETS
            .iter()
            .zip(buckets)
            .filter(|(_, (pairs, _))| *pairs > 0)
            .map(|(&(from, to), (pairs, sum))| ConsistencyAtDistance {
                from,
                to: (to != usize::MAX).then_some(to),
                pairs,
                cosine: sum / pairs as f64,
            })
            .collect(),
        cross_character_cosine,
        identity_separation: consistency.zip(cross_character_cosine).map(|(c, x)| c - x),
        reappearances,
    })
}

/// A shot that asks for a character, and the identity embedding read there if the
/// evaluator sees the character at all.
struct Appearance<'a> {
    shot: usize,
    embedding: Option<&'a [f32]>,
}

impl Appearance<'_> {
    /// The cosine of the two embeddings; 0 where either shot misses the character.
    fn similarity(&self, other: &Appearance) -> f64 {
        match (self.embedding, other.embedding) {
            (Some(a), Some(b)) => cosine(a, b),
            _ => 0.0,
        }
    }
}

/// Cosine of two vectors (0 when either is zero).
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A character every one of whose traits the shot shows.
    fn character(id: &str, traits: &[usize]) -> Option<ExpectedCharacter> {
        Some(ExpectedCharacter {
            id: id.into(),
            traits: traits.iter().map(|&t| Some(t)).collect(),
        })
    }

    fn slot(present: bool, traits: &[usize], embedding: &[f32]) -> ReadSlot {
        ReadSlot {
            present,
            traits: traits.to_vec(),
            embedding: embedding.to_vec(),
        }
    }

    fn empty() -> ReadSlot {
        slot(false, &[0, 0], &[0.0, 1.0])
    }

    /// Three shots of two characters: every number worked out by hand.
    #[test]
    fn scores_match_a_film_worked_by_hand() {
        let expected = vec![
            ExpectedShot {
                scene: [0, 1, 2, 0],
                slots: [character("ana", &[1, 2]), None, character("bo", &[3, 4])],
            },
            ExpectedShot {
                scene: [0, 1, 2, 2],
                slots: [None, character("ana", &[1, 2]), None],
            },
            ExpectedShot {
                scene: [0, 0, 2, 1],
                slots: [character("ana", &[1, 2]), None, None],
            },
        ];
        let read = vec![
            ReadShot {
                // Everything right; bo's second trait wrong.
                scene: [0, 1, 2, 0],
                slots: [
                    slot(true, &[1, 2], &[1.0, 0.0]),
                    empty(),
                    slot(true, &[3, 0], &[0.0, 1.0]),
                ],
            },
            ReadShot {
                // Shot type wrong; ana missed in the centre, someone read on the right.
                scene: [0, 1, 2, 1],
                slots: [
                    empty(),
                    slot(false, &[1, 0], &[0.6, 0.8]),
                    slot(true, &[0, 0], &[1.0, 0.0]),
                ],
            },
            ReadShot {
                // Time wrong.
                scene: [0, 1, 2, 1],
                slots: [slot(true, &[1, 2], &[1.0, 0.0]), empty(), empty()],
            },
        ];
        let scores = score_film(&expected, &read).unwrap();
        assert_eq!(scores.shots, 3);
        assert_eq!(scores.adherence, [1.0, 2.0 / 3.0, 1.0, 2.0 / 3.0]);
        // Read present: 4 slots, of which 3 asked; asked: 4 slots, 3 read.
        assert_eq!(scores.presence.precision, 0.75);
        assert_eq!(scores.presence.recall, 0.75);
        assert!((scores.presence.f1 - 0.75).abs() < 1e-12);
        // Traits asked: 4 characters × 2 = 8; wrong: bo's second, and both of ana's in
        // shot 1, where she is missed (her first trait would have been read right).
        assert_eq!(scores.identity_accuracy, Some(5.0 / 8.0));
        assert_eq!(scores.accuracy_of(&[0]), Some(0.75));
        assert_eq!(scores.accuracy_of(&[1]), Some(0.5));
        assert_eq!(scores.accuracy_of(&[0, 1]), scores.identity_accuracy);
        assert_eq!(scores.accuracy_of(&[2]), None);
        // ana in shots 0, 1, 2, missed in 1 (her embedding there, cos 0.6 to the others,
        // does not count): pairs (0,1) and (1,2) score 0 at distance 1, (0,2) cos 1 at 2;
        // bo appears once.
        assert!((scores.consistency.unwrap() - 1.0 / 3.0).abs() < 1e-6);
        let by_distance = &scores.consistency_by_distance;
        assert_eq!(by_distance.len(), 2);
        assert_eq!(
            (by_distance[0].from, by_distance[0].to, by_distance[0].pairs),
            (1, Some(1), 2)
        );
        assert_eq!(by_distance[0].cosine, 0.0);
        assert_eq!(
            (by_distance[1].from, by_distance[1].to, by_distance[1].pairs),
            (2, Some(4), 1)
        );
        assert!((by_distance[1].cosine - 1.0).abs() < 1e-6);
        // bo (shot 0, [0, 1]) against ana in the other shots: missed in 1 (0), [1, 0] in
        // 2 (0); so separation is the consistency itself.
        assert_eq!(scores.cross_character_cosine, Some(0.0));
        assert!((scores.identity_separation.unwrap() - 1.0 / 3.0).abs() < 1e-6);
        // ana again in shot 1 (missed) and in shot 2 (the same as in shot 0).
        let again: Vec<(usize, f64)> = scores
            .reappearances
            .iter()
            .map(|r| (r.shot, (r.cosine * 1e6).round() / 1e6))
            .collect();
        assert_eq!(again, [(1, 0.0), (2, 1.0)]);
    }

    #[test]
    fn a_film_with_nobody_has_no_identity_scores_and_mismatches_are_named() {
        let expected = vec![ExpectedShot {
            scene: [0; 4],
            slots: [None, None, None],
        }];
        let read = vec![ReadShot {
            scene: [0; 4],
            slots: [empty(), empty(), empty()],
        }];
        let scores = score_film(&expected, &read).unwrap();
        assert_eq!(scores.identity_accuracy, None);
        assert_eq!(scores.consistency, None);
        assert!(scores.consistency_by_distance.is_empty());
        assert_eq!(scores.identity_separation, None);
        assert!(scores.reappearances.is_empty());
        // Nobody asked and nobody read: presence is perfect.
        assert_eq!(scores.presence.f1, 1.0);

        let error = score_film(&expected, &[]).unwrap_err();
        assert!(
            error.to_string().contains("1 shots but 0 keyframes"),
            "{error}"
        );
        let asks = vec![ExpectedShot {
            scene: [0; 4],
            slots: [character("ana", &[1, 2, 3]), None, None],
        }];
        let error = score_film(&asks, &read).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("3 traits asked for ana but 2 read"),
            "{error}"
        );
    }

    /// Two characters in two shots each, every figure read with the embedding `draw(id)`.
    fn two_characters_twice(draw: impl Fn(&str) -> [f32; 2]) -> FilmScores {
        let shot = ExpectedShot {
            scene: [0; 4],
            slots: [character("ana", &[1]), None, character("bo", &[2])],
        };
        let read = ReadShot {
            scene: [0; 4],
            slots: [
                slot(true, &[1], &draw("ana")),
                empty(),
                slot(true, &[2], &draw("bo")),
            ],
        };
        score_film(&[shot.clone(), shot], &[read.clone(), read]).unwrap()
    }

    #[test]
    fn separation_tells_a_film_of_lookalikes_from_one_of_distinct_characters() {
        let near = |value: Option<f64>, want: f64| (value.unwrap() - want).abs() < 1e-6;
        let lookalikes = two_characters_twice(|_| [1.0, 0.0]);
        assert!(near(lookalikes.consistency, 1.0));
        assert!(near(lookalikes.cross_character_cosine, 1.0));
        assert!(near(lookalikes.identity_separation, 0.0));

        let distinct = two_characters_twice(|id| match id {
            "ana" => [1.0, 0.0],
            _ => [0.6, 0.8],
        });
        assert!(near(distinct.consistency, 1.0));
        // ana (shot 0) with bo (shot 1) and bo (shot 0) with ana (shot 1); not within a shot.
        assert!(near(distinct.cross_character_cosine, 0.6));
        assert!(near(distinct.identity_separation, 0.4));
    }

    #[test]
    fn traits_a_shot_draws_too_small_are_not_scored() {
        let read = vec![ReadShot {
            scene: [0; 4],
            slots: [slot(true, &[1, 9, 3], &[1.0, 0.0]), empty(), empty()],
        }];
        // The second trait is read wrong, but this shot does not show it.
        let expected = vec![ExpectedShot {
            scene: [0; 4],
            slots: [
                Some(ExpectedCharacter {
                    id: "ana".into(),
                    traits: vec![Some(1), None, Some(4)],
                }),
                None,
                None,
            ],
        }];
        let scores = score_film(&expected, &read).unwrap();
        assert_eq!(scores.identity_accuracy, Some(0.5));
        assert_eq!(scores.accuracy_of(&[1]), None);
        assert_eq!(scores.accuracy_of(&[2]), Some(0.0));

        // A shot that shows none of its character's traits asks for none.
        let hidden = vec![ExpectedShot {
            scene: [0; 4],
            slots: [
                Some(ExpectedCharacter {
                    id: "ana".into(),
                    traits: vec![None; 3],
                }),
                None,
                None,
            ],
        }];
        let scores = score_film(&hidden, &read).unwrap();
        assert_eq!(scores.identity_accuracy, None);
        assert_eq!(scores.presence.f1, 1.0);
    }
}
