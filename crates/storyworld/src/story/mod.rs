//! Stories: a grammar that writes films of any length, from ten shots to ten thousand.
//!
//! A film is a cast, a style and scenes of shots. The plot runs on a small world state:
//! where each character is (or that they are away), whom they have met and what they want.
//! Each step picks an event the state allows, weighted towards events that serve someone's
//! goal, stages it as one to four shots and then updates the state. Goals get reached
//! (a celebration), new ones are set, and so long films keep moving. Scenes change place
//! and time; shots vary framing and action; every shot gets a description drawn from
//! varied templates, and some get a line of dialogue.
//!
//! All randomness comes from one seeded stream and the state lives in vectors, so the same
//! arguments always give the same film.

use std::path::PathBuf;

use moviedreamer_script as script;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, Split, sample_name};
use crate::spec::{Actor, FrameSpec};
use crate::world::{CameraMove, Facing, Location, Pose, ShotType, Slot, Style, TimeOfDay};

use plot::Plotter;

mod plot;
mod text;

#[cfg(test)]
mod tests;

/// The most shots a generated film has.
pub const MAX_FILM_SHOTS: usize = 10_000;

/// A plot event; each shot belongs to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// Someone walks into the scene's place.
    Arrive,
    /// Someone walks out of it.
    Leave,
    /// A group journeys to another place: they set off, and arrive in the next scene.
    Travel,
    /// Two strangers meet; from then on they know each other.
    Meet,
    /// Two acquaintances talk.
    Talk,
    /// Two acquaintances argue.
    Argue,
    /// One runs after another.
    Chase,
    /// Joy, often because a goal was reached.
    Celebrate,
    /// Sitting down for a while.
    Rest,
}

impl Event {
    /// Every event, in class-index order.
    pub const ALL: [Event; 9] = [
        Event::Arrive,
        Event::Leave,
        Event::Travel,
        Event::Meet,
        Event::Talk,
        Event::Argue,
        Event::Chase,
        Event::Celebrate,
        Event::Rest,
    ];

    /// The lower-case name, as in label files.
    pub fn name(self) -> &'static str {
        match self {
            Event::Arrive => "arrive",
            Event::Leave => "leave",
            Event::Travel => "travel",
            Event::Meet => "meet",
            Event::Talk => "talk",
            Event::Argue => "argue",
            Event::Chase => "chase",
            Event::Celebrate => "celebrate",
            Event::Rest => "rest",
        }
    }
}

/// A member of a film's cast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CastMember {
    /// The script id: the lower-case name, unique in the film.
    pub id: String,
    /// The display name ("Mirado").
    pub name: String,
    /// How they look.
    pub identity: Identity,
}

/// A character in a shot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActorPlan {
    /// Index into [`Film::cast`].
    pub cast: usize,
    /// Where they stand; distinct within a shot.
    pub slot: Slot,
    /// What they do.
    pub pose: Pose,
    /// Which way they face.
    pub facing: Facing,
}

/// One shot of a film, with exact labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotPlan {
    /// The plot event the shot belongs to.
    pub event: Event,
    /// What the shot shows, in natural language.
    pub description: String,
    /// How close the camera is; a close-up has exactly one actor.
    pub shot: ShotType,
    /// Camera movement during the clip, if any.
    pub camera: Option<CameraMove>,
    /// Who is in frame: at most three, at distinct slots.
    pub actors: Vec<ActorPlan>,
    /// Lines spoken: (cast index, line).
    pub dialogue: Vec<(usize, String)>,
}

impl ShotPlan {
    /// A shot with a still camera and no dialogue; staging adds those where they fit.
    fn new(event: Event, description: String, shot: ShotType, actors: Vec<ActorPlan>) -> Self {
        ShotPlan {
            event,
            description,
            shot,
            camera: None,
            actors,
            dialogue: Vec::new(),
        }
    }
}

/// One scene: a place, a time of day and its shots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenePlan {
    /// Where it happens.
    pub location: Location,
    /// When it happens.
    pub time: TimeOfDay,
    /// Shots in screen order.
    pub shots: Vec<ShotPlan>,
}

/// A whole generated film.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Film {
    /// The title.
    pub title: String,
    /// The look of every frame.
    pub style: Style,
    /// Two to six characters with distinct identities and names.
    pub cast: Vec<CastMember>,
    /// Scenes in screen order.
    pub scenes: Vec<ScenePlan>,
}

impl Film {
    /// Generates a film of exactly `shots` shots (clamped to 1..=10_000) whose cast is
    /// drawn from `split`. Same arguments → identical film.
    pub fn generate(seed: u64, shots: usize, split: Split) -> Film {
        let shots = shots.clamp(1, MAX_FILM_SHOTS);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let size = cast_size(&mut rng, shots);
        let cast = sample_cast(&mut rng, size, split);
        let title = sample_title(&mut rng, &cast);
        let style = pick(&mut rng, Style::ALL);
        let scenes = Plotter::new(rng, &cast).write(shots);
        Film {
            title,
            style,
            cast,
            scenes,
        }
    }

    /// Number of shots.
    pub fn shot_count(&self) -> usize {
        self.scenes.iter().map(|scene| scene.shots.len()).sum()
    }

    /// Every shot in order with its scene: (scene index, shot index in scene,
    /// &ScenePlan, &ShotPlan).
    pub fn shots(&self) -> impl Iterator<Item = (usize, usize, &ScenePlan, &ShotPlan)> {
        self.scenes.iter().enumerate().flat_map(|(i, scene)| {
            scene
                .shots
                .iter()
                .enumerate()
                .map(move |(j, shot)| (i, j, scene, shot))
        })
    }

    /// The keyframe spec of a shot: its place, time, the film's style, the framing and
    /// the actors with their cast identities.
    ///
    /// # Panics
    ///
    /// If `scene` or `shot` is out of range.
    pub fn keyframe_spec(&self, scene: usize, shot: usize) -> FrameSpec {
        let scene = &self.scenes[scene];
        let plan = &scene.shots[shot];
        let actors = plan
            .actors
            .iter()
            .map(|actor| Actor {
                identity: self.cast[actor.cast].identity,
                slot: actor.slot,
                pose: actor.pose,
                facing: actor.facing,
            })
            .collect();
        FrameSpec::keyframe(scene.location, scene.time, self.style, plan.shot, actors)
    }

    /// The film as a multimodal script: the cast with descriptions and the portraits that
    /// `faces(cast_index)` names, one scene per scene plan and one shot per shot plan,
    /// with positions, actions, camera moves and dialogue.
    pub fn to_script(
        &self,
        faces: impl Fn(usize) -> Vec<PathBuf>,
        full_body: impl Fn(usize) -> Vec<PathBuf>,
    ) -> script::Script {
        let characters = self
            .cast
            .iter()
            .enumerate()
            .map(|(i, member)| script::Character {
                id: member.id.clone(),
                name: Some(member.name.clone()),
                description: member.identity.describe(),
                faces: faces(i),
                full_body: full_body(i),
            })
            .collect();
        let scenes = self
            .scenes
            .iter()
            .map(|scene| script::Scene {
                heading: script::SceneHeading {
                    setting: if scene.location.is_interior() {
                        script::Setting::Interior
                    } else {
                        script::Setting::Exterior
                    },
                    location: scene.location.name().to_owned(),
                    time: Some(scene.time.name().to_owned()),
                },
                shots: scene
                    .shots
                    .iter()
                    .map(|shot| self.script_shot(shot))
                    .collect(),
            })
            .collect();
        script::Script {
            title: self.title.clone(),
            style: script::Style {
                name: self.style.name().to_owned(),
                description: style_description(self.style).to_owned(),
            },
            characters,
            scenes,
        }
    }

    /// One shot in script form: actors become characters with position and action.
    fn script_shot(&self, shot: &ShotPlan) -> script::Shot {
        script::Shot {
            description: shot.description.clone(),
            shot: shot.shot,
            characters: shot
                .actors
                .iter()
                .map(|actor| script::ShotCharacter {
                    id: self.cast[actor.cast].id.clone(),
                    position: Some(actor.slot),
                    action: Some(action_text(actor.pose, actor.facing)),
                })
                .collect(),
            camera: shot.camera,
            duration: None,
            dialogue: shot
                .dialogue
                .iter()
                .map(|(speaker, line)| script::DialogueLine {
                    character: self.cast[*speaker].id.clone(),
                    line: line.clone(),
                    parenthetical: None,
                    extension: None,
                    simultaneous: false,
                })
                .collect(),
        }
    }
}

/// A shot character's action as a script writes it: the pose, and for a walk the way it
/// goes (walkers walk the way they face; one facing front walks on the spot).
fn action_text(pose: Pose, facing: Facing) -> String {
    match (pose, facing) {
        (Pose::Walk, Facing::Left) => "walk left".to_owned(),
        (Pose::Walk, Facing::Right) => "walk right".to_owned(),
        _ => pose.name().to_owned(),
    }
}

/// The style's description for the text encoder, matching what the renderer does.
fn style_description(style: Style) -> &'static str {
    match style {
        Style::Flat => "plain flat colours without outlines",
        Style::Sketch => "pale colours on paper with dark pencil outlines",
        Style::Neon => "dark scenes with glowing neon outlines",
        Style::Sepia => "a flat drawing toned brown like an old photograph",
    }
}

/// A uniformly random element of a non-empty slice.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// The text with its first letter in upper case.
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// How many characters a film has: two for the shortest films, up to six for long ones,
/// and at least three once there is room for subplots.
fn cast_size(rng: &mut ChaCha8Rng, shots: usize) -> usize {
    let most = (2 + shots / 10).min(6);
    let least = if shots >= 100 { 3 } else { 2 };
    rng.random_range(least..=most)
}

/// Draws a cast with distinct identities and distinct names (hence distinct ids).
fn sample_cast(rng: &mut ChaCha8Rng, size: usize, split: Split) -> Vec<CastMember> {
    let mut cast: Vec<CastMember> = Vec::with_capacity(size);
    while cast.len() < size {
        let identity = Identity::sample(rng, split);
        if cast.iter().any(|member| member.identity == identity) {
            continue;
        }
        let (name, id) = loop {
            let name = sample_name(rng);
            let id = slug(&name);
            if !cast.iter().any(|member| member.id == id) {
                break (name, id);
            }
        };
        cast.push(CastMember { id, name, identity });
    }
    cast
}

/// A valid script id for a display name: lower-case letters and digits, other characters
/// as `-`, starting with a letter.
fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        slug
    } else {
        format!("c-{slug}")
    }
}

/// A title about the first two characters or a place.
fn sample_title(rng: &mut ChaCha8Rng, cast: &[CastMember]) -> String {
    let (a, b) = (&cast[0].name, &cast[1].name);
    let place = format!("the {}", capitalise(pick(rng, Location::ALL).name()));
    match rng.random_range(0..9) {
        0 => format!("The Lantern of {a}"),
        1 => format!("{a} and {b}"),
        2 => format!("The Long Road to {place}"),
        3 => format!("{a}'s Journey"),
        4 => format!("A Night at {place}"),
        5 => format!("Letters from {place}"),
        6 => format!("Where {b} Went"),
        7 => format!("Finding {b}"),
        _ => format!("{a}, {b} and {place}"),
    }
}
