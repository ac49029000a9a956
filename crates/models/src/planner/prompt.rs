//! What the planner reads, and in what order.
//!
//! A film prompt is plain numbers: word ids of the style, of each cast member's description
//! and of each shot's text; each cast member's identity embedding; each shot's type and who
//! stands in which slot. [`Layout`] fixes the order of the planner's input sequence for a
//! window of shots:
//!
//! ```text
//! style | cast 1: text, face × F | … | cast C: text, face × F |
//!   shot s: text, type, slot left, slot centre, slot right, visual 1 … visual K | shot s+1 …
//! ```
//!
//! The output at a shot's last slot predicts its first visual token, the output at visual
//! token i predicts token i + 1. A planner that predicts whole keyframes instead puts K
//! query rows between a shot's slots and its visual tokens, and the output at query i
//! predicts token i:
//!
//! ```text
//!   shot s: text, type, slot left, slot centre, slot right, query 1 … query K, visual 1 … visual K
//! ```
//!
//! A window always starts with the whole prefix (style and cast) however far into the film
//! it is, so characters stay bound to their faces.

/// Slots a character can stand in: left, centre, right.
pub const SLOTS: usize = 3;

/// Rows before a shot's visual tokens: its text, its type and its slots.
pub const SHOT_HEADER: usize = 2 + SLOTS;

/// One member of the cast.
#[derive(Debug, Clone, PartialEq)]
pub struct CastPrompt {
    /// Word ids of the description.
    pub text: Vec<u32>,
    /// Identity embedding of the reference faces (the mean over them for several).
    pub face: Vec<f32>,
}

/// One shot.
#[derive(Debug, Clone, PartialEq)]
pub struct ShotPrompt {
    /// Word ids of the scene heading and shot description.
    pub text: Vec<u32>,
    /// Shot type index (wide, medium, close-up).
    pub shot_type: usize,
    /// The cast index standing in each slot, if any.
    pub slots: [Option<usize>; SLOTS],
}

/// A whole film's script, as the planner reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct FilmPrompt {
    /// Word ids of the style description.
    pub style: Vec<u32>,
    /// The cast, in the order slots refer to.
    pub cast: Vec<CastPrompt>,
    /// The shots in film order.
    pub shots: Vec<ShotPrompt>,
}

/// What a row of the input sequence is; each kind has its own learned embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Role {
    /// The style text.
    Style,
    /// A cast member's description.
    CastText,
    /// One of a cast member's face tokens.
    Face,
    /// A shot's text.
    ShotText,
    /// A shot's type.
    ShotType,
    /// Who stands in one slot of a shot.
    Slot,
    /// A keyframe's visual token.
    Visual,
    /// A query that predicts one visual token of its shot (whole-keyframe planners only).
    Query,
}

/// Number of [`Role`]s a planner that predicts token by token embeds (all but the query).
pub const ROLES: usize = 7;

/// The rows the embedding step makes, grouped by kind, in this order: texts (style, cast,
/// shots), faces, shot types, slots, visual tokens, and for whole keyframes the K queries.
/// [`Layout::order`] picks them into sequence order.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// For each sequence position, the row it takes.
    pub order: Vec<u32>,
    /// For each sequence position, its [`Role`].
    pub roles: Vec<u32>,
    /// The positions whose outputs predict the visual tokens given, in order, plus the next
    /// one when the last shot is incomplete.
    pub predict_from: Vec<u32>,
}

impl Layout {
    /// The layout of the prefix of `cast` members with `face_tokens` each, then `shots`
    /// shots, the last of which has only `last_visible` of its `tokens` visual tokens;
    /// with `whole_keyframes`, each shot's tokens are predicted by queries.
    pub fn new(
        cast: usize,
        face_tokens: usize,
        shots: usize,
        tokens: usize,
        last_visible: usize,
        whole_keyframes: bool,
    ) -> Self {
        let texts = 1 + cast + shots;
        let faces_at = texts;
        let types_at = faces_at + cast * face_tokens;
        let slots_at = types_at + shots;
        let visual_at = slots_at + SLOTS * shots;
        let queries_at = visual_at + shots.saturating_sub(1) * tokens + last_visible;
        let mut layout = Layout {
            order: Vec::new(),
            roles: Vec::new(),
            predict_from: Vec::new(),
        };
        layout.push(0, Role::Style);
        for c in 0..cast {
            layout.push(1 + c, Role::CastText);
            for f in 0..face_tokens {
                layout.push(faces_at + c * face_tokens + f, Role::Face);
            }
        }
        for s in 0..shots {
            layout.push(1 + cast + s, Role::ShotText);
            layout.push(types_at + s, Role::ShotType);
            for slot in 0..SLOTS {
                layout.push(slots_at + s * SLOTS + slot, Role::Slot);
            }
            let visible = if s + 1 == shots { last_visible } else { tokens };
            if whole_keyframes {
                for i in 0..tokens {
                    layout.predict_from.push(layout.order.len() as u32);
                    layout.push(queries_at + i, Role::Query);
                }
                for i in 0..visible {
                    layout.push(visual_at + s * tokens + i, Role::Visual);
                }
                continue;
            }
            for i in 0..visible {
                // The position before each token predicts it.
                layout.predict_from.push(layout.order.len() as u32 - 1);
                layout.push(visual_at + s * tokens + i, Role::Visual);
            }
            if visible < tokens {
                layout.predict_from.push(layout.order.len() as u32 - 1);
            }
        }
        layout
    }

    fn push(&mut self, row: usize, role: Role) {
        self.order.push(row as u32);
        self.roles.push(role as u32);
    }

    /// Sequence length.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the sequence is empty (never: the style is always there).
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl FilmPrompt {
    /// The same film with its cast listed in another order: `order[i]` is the old index of
    /// the new i-th member, and every slot is renumbered to match. In training this keeps
    /// the planner from tying a character to a position in the cast list.
    pub fn with_cast_order(&self, order: &[usize]) -> FilmPrompt {
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        FilmPrompt {
            style: self.style.clone(),
            cast: order.iter().map(|&old| self.cast[old].clone()).collect(),
            shots: self
                .shots
                .iter()
                .map(|shot| ShotPrompt {
                    slots: shot.slots.map(|slot| slot.map(|old| new_index[old])),
                    ..shot.clone()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_predicts_every_visual_token_from_the_position_before_it() {
        // One cast member with one face token, two shots of two tokens.
        let layout = Layout::new(1, 1, 2, 2, 2, false);
        // Rows: texts 0..4 (style, cast, shot, shot), face 4, types 5..7, slots 7..13,
        // visual 13..17.
        assert_eq!(
            layout.order,
            vec![0, 1, 4, 2, 5, 7, 8, 9, 13, 14, 3, 6, 10, 11, 12, 15, 16]
        );
        let v = Role::Visual as u32;
        assert_eq!(layout.roles[8], v);
        assert_eq!(layout.roles[9], v);
        assert_eq!(layout.roles[7], Role::Slot as u32);
        // Token 1 of shot 1 from the last slot (7), token 2 from token 1 (8); shot 2 alike.
        assert_eq!(layout.predict_from, vec![7, 8, 14, 15]);
        assert_eq!(layout.len(), 17);
    }

    #[test]
    fn an_incomplete_last_shot_predicts_its_next_token() {
        let layout = Layout::new(0, 2, 1, 3, 1, false);
        // style, shot text, type, three slots, one visual token.
        assert_eq!(layout.len(), 7);
        assert_eq!(layout.predict_from, vec![5, 6]);
        let empty = Layout::new(0, 2, 1, 3, 0, false);
        assert_eq!(empty.predict_from, vec![5]);
    }

    #[test]
    fn whole_keyframes_are_predicted_by_queries_that_see_no_token_of_their_own_shot() {
        // No cast, two shots of two tokens; rows: texts 0..3, types 3..5, slots 5..11,
        // visual 11..15, queries 15..17.
        let layout = Layout::new(0, 1, 2, 2, 2, true);
        assert_eq!(
            layout.order,
            vec![
                0, 1, 3, 5, 6, 7, 15, 16, 11, 12, 2, 4, 8, 9, 10, 15, 16, 13, 14
            ]
        );
        assert_eq!(layout.predict_from, vec![6, 7, 15, 16]);
        let q = Role::Query as u32;
        assert!(
            layout
                .predict_from
                .iter()
                .all(|&p| layout.roles[p as usize] == q)
        );
        // Planning the second shot: its queries come last, after the first shot's tokens.
        let planning = Layout::new(0, 1, 2, 2, 0, true);
        assert_eq!(planning.len(), 17);
        assert_eq!(planning.predict_from, vec![6, 7, 15, 16]);
        assert_eq!(&planning.order[15..], &[13, 14]);
    }

    #[test]
    fn reordering_the_cast_renumbers_the_slots() {
        let member = |word| CastPrompt {
            text: vec![word],
            face: vec![word as f32],
        };
        let film = FilmPrompt {
            style: vec![1],
            cast: vec![member(10), member(20), member(30)],
            shots: vec![ShotPrompt {
                text: vec![2],
                shot_type: 0,
                slots: [Some(0), None, Some(2)],
            }],
        };
        let reordered = film.with_cast_order(&[2, 0, 1]);
        assert_eq!(reordered.cast[0].text, vec![30]);
        // Member 0 is now at 1 and member 2 at 0: the same people in the same slots.
        assert_eq!(reordered.shots[0].slots, [Some(1), None, Some(0)]);
    }
}
