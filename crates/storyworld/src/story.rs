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
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, Split, sample_name};
use crate::spec::{Actor, FrameSpec};
use crate::world::{CameraMove, Facing, Location, Pose, ShotType, Slot, Style, TimeOfDay};

/// The most shots a generated film has.
pub const MAX_FILM_SHOTS: usize = 10_000;

/// Fewest shots in a scene, unless the whole film is shorter.
const MIN_SCENE: usize = 4;
/// Most shots in a scene.
const MAX_SCENE: usize = 12;
/// Most characters in a shot: one per slot.
const MAX_IN_SHOT: usize = 3;
/// Chance that a shot where someone speaks gets a line of dialogue.
const DIALOGUE_CHANCE: f64 = 0.3;
/// Chance that a line gets a reply from the listener in the same shot.
const REPLY_CHANCE: f64 = 0.4;

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
    pub fn to_script(&self, faces: impl Fn(usize) -> Vec<PathBuf>) -> script::Script {
        let characters = self
            .cast
            .iter()
            .enumerate()
            .map(|(i, member)| script::Character {
                id: member.id.clone(),
                name: Some(member.name.clone()),
                description: member.identity.describe(),
                faces: faces(i),
                full_body: Vec::new(),
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
                    action: Some(actor.pose.name().to_owned()),
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

/// What a character wants. Reaching it is a plot beat (a celebration) that sets a new one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Goal {
    /// To be in the same place as this character, and to know them.
    Find(usize),
    /// To get to this place.
    Reach(Location),
    /// To have company: three characters together (two in a cast of two).
    Gather,
}

/// One character's share of the world state.
#[derive(Debug, Clone)]
struct Person {
    /// Where they are; `None` while away, off-screen.
    place: Option<Location>,
    /// Bit `j` is set once they have met character `j` (casts have at most six).
    met: u8,
    /// What they want now.
    goal: Goal,
}

/// A plot step, chosen from the state before it is staged as shots.
#[derive(Debug, Clone)]
struct Beat {
    event: Event,
    /// Who acts, the subject first (the chaser, the speaker, the one whose goal it is).
    who: Vec<usize>,
    /// Where a leaver or the travellers go (`None` for a leaver: away).
    to: Option<Location>,
    /// The goal a celebration marks as reached.
    goal: Option<Goal>,
}

impl Beat {
    fn new(event: Event, who: Vec<usize>) -> Beat {
        Beat {
            event,
            who,
            to: None,
            goal: None,
        }
    }
}

/// The plot writer: the world state and the random stream that drives it.
struct Plotter {
    rng: ChaCha8Rng,
    names: Vec<String>,
    people: Vec<Person>,
    /// The current scene's place and time.
    place: Location,
    time: TimeOfDay,
    /// A beat that must come next: someone storming off after an argument.
    queued: Option<Beat>,
    /// A group that set off at the end of a scene and where to: the next scene opens there.
    journey: Option<(Vec<usize>, Location)>,
    /// Someone rested at night, so the next scene starts in the morning.
    slept: bool,
}

impl Plotter {
    /// The opening situation: the first character at the first place, the others there,
    /// elsewhere or away, everyone a stranger with a goal.
    fn new(mut rng: ChaCha8Rng, cast: &[CastMember]) -> Plotter {
        let place = pick(&mut rng, Location::ALL);
        let time = pick(&mut rng, TimeOfDay::ALL);
        let mut plotter = Plotter {
            rng,
            names: cast.iter().map(|member| member.name.clone()).collect(),
            people: Vec::with_capacity(cast.len()),
            place,
            time,
            queued: None,
            journey: None,
            slept: false,
        };
        for i in 0..cast.len() {
            let start = match plotter.rng.random_range(0..10) {
                _ if i == 0 => Some(place),
                0..4 => Some(place),
                4..7 => Some(plotter.other_place(Some(place))),
                _ => None,
            };
            plotter.people.push(Person {
                place: start,
                met: 0,
                goal: Goal::Gather,
            });
        }
        for i in 0..cast.len() {
            plotter.people[i].goal = plotter.new_goal(i);
        }
        plotter
    }

    /// Writes scenes until the film has exactly `total` shots.
    fn write(mut self, total: usize) -> Vec<ScenePlan> {
        let mut scenes = Vec::new();
        let mut left = total;
        while left > 0 {
            let length = self.scene_length(left);
            if !scenes.is_empty() {
                self.move_on();
            }
            scenes.push(self.scene(length));
            left -= length;
        }
        scenes
    }

    /// The length of the next scene: 4 to 12 shots, never leaving a remainder too short
    /// for a scene of its own.
    fn scene_length(&mut self, left: usize) -> usize {
        if left <= MAX_SCENE && (left < 2 * MIN_SCENE || self.rng.random_bool(0.5)) {
            return left;
        }
        self.rng
            .random_range(MIN_SCENE..=MAX_SCENE)
            .min(left - MIN_SCENE)
    }

    /// Cuts to the next scene: where the travellers went, or another place where something
    /// may be going on. Time moves on half the time, and always after a night's rest.
    fn move_on(&mut self) {
        self.place = match &self.journey {
            Some((_, destination)) => *destination,
            None => self.cut_place(),
        };
        let sleep_over = self.slept && self.time == TimeOfDay::Night;
        if sleep_over || self.rng.random_bool(0.5) {
            self.time = match self.time {
                TimeOfDay::Day => TimeOfDay::Dusk,
                TimeOfDay::Dusk => TimeOfDay::Night,
                TimeOfDay::Night => TimeOfDay::Day,
            };
        }
        self.slept = false;
        self.queued = None;
    }

    /// Where a cut goes: usually to another place where someone is, to follow another
    /// thread of the plot; else to a fresh place that someone will walk into.
    fn cut_place(&mut self) -> Location {
        let mut occupied: Vec<Location> = Vec::new();
        for person in &self.people {
            if let Some(place) = person.place
                && place != self.place
                && !occupied.contains(&place)
            {
                occupied.push(place);
            }
        }
        if !occupied.is_empty() && self.rng.random_bool(0.6) {
            pick(&mut self.rng, &occupied)
        } else {
            self.other_place(Some(self.place))
        }
    }

    /// A random place other than `not`.
    fn other_place(&mut self, not: Option<Location>) -> Location {
        let choices: Vec<Location> = Location::ALL
            .iter()
            .copied()
            .filter(|&place| Some(place) != not)
            .collect();
        pick(&mut self.rng, &choices)
    }

    /// A fresh goal for character `i`: someone to find (preferably someone elsewhere), a
    /// place to reach, or now and then company.
    fn new_goal(&mut self, i: usize) -> Goal {
        let n = self.people.len();
        let roll = self.rng.random_range(0..20);
        if roll < 3 && n >= 3 {
            return Goal::Gather;
        }
        if roll < 11 {
            let own = self.people[i].place;
            let elsewhere: Vec<usize> = (0..n)
                .filter(|&j| j != i && (own.is_none() || self.people[j].place != own))
                .collect();
            let others = if elsewhere.is_empty() {
                (0..n).filter(|&j| j != i).collect()
            } else {
                elsewhere
            };
            return Goal::Find(pick(&mut self.rng, &others));
        }
        Goal::Reach(self.other_place(self.people[i].place))
    }

    /// The characters at the scene's place, in cast order.
    fn present(&self) -> Vec<usize> {
        (0..self.people.len())
            .filter(|&i| self.people[i].place == Some(self.place))
            .collect()
    }

    /// Whether `a` and `b` have met.
    fn met(&self, a: usize, b: usize) -> bool {
        self.people[a].met & (1 << b) != 0
    }

    /// Whether character `i`, who is here, has what they wanted.
    fn reached(&self, i: usize, here: &[usize]) -> bool {
        match self.people[i].goal {
            Goal::Find(j) => here.contains(&j) && self.met(i, j),
            Goal::Reach(place) => place == self.place,
            Goal::Gather => here.len() >= self.people.len().min(3),
        }
    }

    /// Writes one scene of exactly `length` shots at the current place and time.
    fn scene(&mut self, length: usize) -> ScenePlan {
        let mut shots = Vec::with_capacity(length + 3);
        if let Some((group, _)) = self.journey.take() {
            shots.extend(self.travel_in(&group));
        }
        let mut opening = shots.is_empty();
        while shots.len() < length {
            let remaining = length - shots.len();
            let beat = self.choose_beat(remaining);
            let staged = self.stage(&beat, opening, remaining);
            self.apply(&beat);
            shots.extend(staged);
            opening = false;
        }
        shots.truncate(length);
        ScenePlan {
            location: self.place,
            time: self.time,
            shots,
        }
    }

    /// Chooses the next beat: a queued one if still possible, else a weighted draw among
    /// the beats that serve goals and the everyday beats the state allows.
    fn choose_beat(&mut self, remaining: usize) -> Beat {
        let here = self.present();
        if let Some(beat) = self.queued.take()
            && here.len() >= 2
            && beat.who.iter().all(|i| here.contains(i))
        {
            return beat;
        }
        let mut options = Vec::new();
        self.goal_beats(&here, remaining, &mut options);
        self.everyday_beats(&here, remaining, &mut options);
        // Never empty: with nobody here someone can arrive, with someone here they can rest.
        let total: u32 = options.iter().map(|(weight, _)| weight).sum();
        let mut roll = self.rng.random_range(0..total);
        for (weight, beat) in options {
            if roll < weight {
                return beat;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total weight")
    }

    /// Beats that serve the goals of those present, weighted above everyday beats: they
    /// are what moves the plot forward.
    fn goal_beats(&mut self, here: &[usize], remaining: usize, options: &mut Vec<(u32, Beat)>) {
        for &i in here {
            let goal = self.people[i].goal;
            if self.reached(i, here) {
                let mut who = vec![i];
                if let Goal::Find(j) = goal {
                    who.push(j);
                }
                let who = self.with_company(who, here, goal == Goal::Gather);
                let beat = Beat {
                    goal: Some(goal),
                    ..Beat::new(Event::Celebrate, who)
                };
                options.push((8, beat));
                continue;
            }
            match goal {
                Goal::Find(j) if here.contains(&j) => {
                    options.push((6, Beat::new(Event::Meet, vec![i, j])));
                }
                Goal::Find(j) => {
                    options.push((2, Beat::new(Event::Arrive, vec![j])));
                    if let Some(there) = self.people[j].place {
                        self.head_for(i, there, here, remaining, options);
                    }
                }
                Goal::Reach(there) => self.head_for(i, there, here, remaining, options),
                Goal::Gather => {
                    if let Some(j) = self.someone_absent(here) {
                        options.push((2, Beat::new(Event::Arrive, vec![j])));
                    }
                }
            }
        }
    }

    /// Ways for `i` to get to `there`: lead a journey when the scene is ending, or slip
    /// away alone before that.
    fn head_for(
        &mut self,
        i: usize,
        there: Location,
        here: &[usize],
        remaining: usize,
        options: &mut Vec<(u32, Beat)>,
    ) {
        if remaining <= 2 {
            let group = self.with_company(vec![i], here, false);
            let beat = Beat {
                to: Some(there),
                ..Beat::new(Event::Travel, group)
            };
            options.push((5, beat));
        } else if here.len() >= 2 {
            let beat = Beat {
                to: Some(there),
                ..Beat::new(Event::Leave, vec![i])
            };
            options.push((1, beat));
        }
    }

    /// Everyday beats the state allows, weighted to suit the moment: arrivals when the
    /// place is empty, rest at night, journeys as the scene ends, meetings between
    /// strangers and talk between acquaintances.
    fn everyday_beats(&mut self, here: &[usize], remaining: usize, options: &mut Vec<(u32, Beat)>) {
        if let Some(j) = self.someone_absent(here) {
            let weight = if here.len() < 2 { 6 } else { 2 };
            options.push((weight, Beat::new(Event::Arrive, vec![j])));
        }
        if here.is_empty() {
            return;
        }
        let first = pick(&mut self.rng, here);
        let resting = self.with_company(vec![first], here, false);
        let weight = if self.time == TimeOfDay::Night { 3 } else { 1 };
        options.push((weight, Beat::new(Event::Rest, resting)));
        if remaining <= 2 {
            let leader = pick(&mut self.rng, here);
            let group = self.with_company(vec![leader], here, false);
            let beat = Beat {
                to: Some(self.other_place(Some(self.place))),
                ..Beat::new(Event::Travel, group)
            };
            options.push((3, beat));
        }
        if here.len() < 2 {
            return;
        }
        let leaver = pick(&mut self.rng, here);
        let beat = Beat {
            to: self.leave_destination(leaver),
            ..Beat::new(Event::Leave, vec![leaver])
        };
        options.push((if here.len() >= 4 { 2 } else { 1 }, beat));
        let (strangers, friends) = self.pairs(here);
        if !strangers.is_empty() {
            let (a, b) = self.pick_pair(&strangers);
            options.push((4, Beat::new(Event::Meet, vec![a, b])));
        }
        if !friends.is_empty() {
            let (a, b) = self.pick_pair(&friends);
            options.push((4, Beat::new(Event::Talk, vec![a, b])));
            options.push((1, Beat::new(Event::Argue, vec![a, b])));
            options.push((1, Beat::new(Event::Chase, vec![a, b])));
            let party = self.with_company(vec![a, b], here, false);
            options.push((1, Beat::new(Event::Celebrate, party)));
        }
    }

    /// `who`, joined by others present up to a full shot: all who fit when `fill`, else a
    /// random number of them.
    fn with_company(&mut self, mut who: Vec<usize>, here: &[usize], fill: bool) -> Vec<usize> {
        let mut others: Vec<usize> = here.iter().copied().filter(|i| !who.contains(i)).collect();
        others.shuffle(&mut self.rng);
        let room = others.len().min(MAX_IN_SHOT.saturating_sub(who.len()));
        let joining = if fill {
            room
        } else {
            self.rng.random_range(0..=room)
        };
        who.extend_from_slice(&others[..joining]);
        who
    }

    /// A random character who is not here, if any.
    fn someone_absent(&mut self, here: &[usize]) -> Option<usize> {
        let absent: Vec<usize> = (0..self.people.len())
            .filter(|i| !here.contains(i))
            .collect();
        (!absent.is_empty()).then(|| pick(&mut self.rng, &absent))
    }

    /// The pairs of those present, split into strangers and acquaintances.
    fn pairs(&self, here: &[usize]) -> (Vec<(usize, usize)>, Vec<(usize, usize)>) {
        let mut strangers = Vec::new();
        let mut friends = Vec::new();
        for (k, &a) in here.iter().enumerate() {
            for &b in &here[k + 1..] {
                if self.met(a, b) {
                    friends.push((a, b));
                } else {
                    strangers.push((a, b));
                }
            }
        }
        (strangers, friends)
    }

    /// A random pair in a random order, so either can lead the beat.
    fn pick_pair(&mut self, pairs: &[(usize, usize)]) -> (usize, usize) {
        let (a, b) = pick(&mut self.rng, pairs);
        if self.rng.random_bool(0.5) {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Where a leaver goes: towards their goal if it lies elsewhere, else away or to some
    /// other place, where a later scene may find them.
    fn leave_destination(&mut self, i: usize) -> Option<Location> {
        match self.people[i].goal {
            Goal::Reach(there) if there != self.place => Some(there),
            Goal::Find(j) if self.people[j].place.is_some_and(|p| p != self.place) => {
                self.people[j].place
            }
            _ if self.rng.random_bool(0.5) => None,
            _ => Some(self.other_place(Some(self.place))),
        }
    }

    /// Updates the world after a beat: who is where, who knows whom, whose goal is done.
    fn apply(&mut self, beat: &Beat) {
        match beat.event {
            Event::Arrive => {
                for &i in &beat.who {
                    self.people[i].place = Some(self.place);
                }
            }
            Event::Leave => {
                for &i in &beat.who {
                    self.people[i].place = beat.to;
                }
            }
            Event::Travel => {
                for &i in &beat.who {
                    self.people[i].place = beat.to;
                }
                self.journey = beat.to.map(|to| (beat.who.clone(), to));
            }
            Event::Meet => {
                let (a, b) = (beat.who[0], beat.who[1]);
                self.people[a].met |= 1 << b;
                self.people[b].met |= 1 << a;
            }
            Event::Argue => self.after_argument(beat.who[0], beat.who[1]),
            Event::Celebrate => {
                if beat.goal.is_some() {
                    let i = beat.who[0];
                    self.people[i].goal = self.new_goal(i);
                }
            }
            Event::Rest => self.slept |= self.time == TimeOfDay::Night,
            Event::Talk | Event::Chase => {}
        }
    }

    /// Sometimes an argument ends with `b` storming off, and `a` later wanting to find
    /// them again: a small subplot that a later reunion resolves.
    fn after_argument(&mut self, a: usize, b: usize) {
        if !self.rng.random_bool(0.4) {
            return;
        }
        self.queued = Some(Beat {
            to: self.leave_destination(b),
            ..Beat::new(Event::Leave, vec![b])
        });
        if self.rng.random_bool(0.5) {
            self.people[a].goal = Goal::Find(b);
        }
    }

    /// The words templates may use, for `who` (the subject first) at the current scene.
    fn words(&self, who: &[usize]) -> Words {
        let name = |k: usize| {
            who.get(k)
                .map(|&i| self.names[i].clone())
                .unwrap_or_default()
        };
        let names: Vec<&str> = who.iter().map(|&i| self.names[i].as_str()).collect();
        let group = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.concat(),
        };
        Words {
            a: name(0),
            b: name(1),
            group,
            plural: who.len() > 1,
            place: self.place,
            destination: self.place,
            time: self.time,
        }
    }

    /// A description from one of `templates`; now and then one that starts with a name
    /// gets the time of day in front, for yet another word order.
    fn say(&mut self, templates: &[&str], words: &Words) -> String {
        let template = pick(&mut self.rng, templates);
        let named = template.starts_with("{a}") || template.starts_with("{group}");
        let timed = template.contains("{when}") || template.contains("{When}");
        let text = expand(&mut self.rng, template, words);
        if named && !timed && self.rng.random_bool(0.15) {
            format!("{}, {text}", capitalise(&words.when(&mut self.rng)))
        } else {
            text
        }
    }

    /// Sometimes a line for `speaker`, addressed to `listener`, and now and then a reply
    /// when the listener is in frame too.
    fn dialogue(
        &mut self,
        event: Event,
        speaker: usize,
        listener: usize,
        listener_in_frame: bool,
    ) -> Vec<(usize, String)> {
        let (lines, replies) = dialogue_lines(event);
        let mut said = Vec::new();
        if !self.rng.random_bool(DIALOGUE_CHANCE) {
            return said;
        }
        said.push((speaker, self.line(lines, speaker, listener)));
        if listener_in_frame && listener != speaker && self.rng.random_bool(REPLY_CHANCE) {
            said.push((listener, self.line(replies, listener, speaker)));
        }
        said
    }

    /// Sometimes a reply, spoken in a reaction close-up.
    fn reply(&mut self, event: Event, speaker: usize, listener: usize) -> Vec<(usize, String)> {
        let (_, replies) = dialogue_lines(event);
        if !self.rng.random_bool(DIALOGUE_CHANCE) {
            return Vec::new();
        }
        vec![(speaker, self.line(replies, speaker, listener))]
    }

    /// One spoken line from `lines`, by `speaker` to `listener`.
    fn line(&mut self, lines: &[&str], speaker: usize, listener: usize) -> String {
        let words = self.words(&[speaker, listener]);
        let template = pick(&mut self.rng, lines);
        expand(&mut self.rng, template, &words)
    }

    /// A random direction of motion across the frame.
    fn heading(&mut self) -> Facing {
        if self.rng.random_bool(0.5) {
            Facing::Left
        } else {
            Facing::Right
        }
    }

    /// With probability `chance`, a pan that follows walkers heading that way.
    fn pan(&mut self, heading: Facing, chance: f64) -> Option<CameraMove> {
        self.rng.random_bool(chance).then_some(match heading {
            Facing::Left => CameraMove::PanLeft,
            _ => CameraMove::PanRight,
        })
    }

    /// A random character here who takes no part in the beat: a witness.
    fn bystander(&mut self, who: &[usize]) -> Option<usize> {
        let others: Vec<usize> = self
            .present()
            .into_iter()
            .filter(|i| !who.contains(i))
            .collect();
        (!others.is_empty()).then(|| pick(&mut self.rng, &others))
    }

    /// Turns a beat into shots. The first beat of a scene may open on the empty place,
    /// and its first shot is wide, to show where we are.
    fn stage(&mut self, beat: &Beat, opening: bool, remaining: usize) -> Vec<ShotPlan> {
        let mut shots = Vec::with_capacity(5);
        if opening && beat.event != Event::Travel && self.rng.random_bool(0.5) {
            shots.push(self.establishing(beat.event));
        }
        match beat.event {
            Event::Arrive | Event::Leave => self.stage_entrance(beat, opening, &mut shots),
            Event::Travel => self.stage_departure(beat, remaining, &mut shots),
            Event::Meet => self.stage_meeting(beat, opening, &mut shots),
            Event::Talk | Event::Argue => self.stage_conversation(beat, opening, &mut shots),
            Event::Chase => self.stage_chase(beat, &mut shots),
            Event::Celebrate | Event::Rest => self.stage_gathering(beat, opening, &mut shots),
        }
        shots
    }

    /// An empty wide shot that shows where the scene happens before anyone acts in it.
    fn establishing(&mut self, event: Event) -> ShotPlan {
        let words = self.words(&[]);
        let mut shot = ShotPlan::new(
            event,
            self.say(ESTABLISH, &words),
            ShotType::Wide,
            Vec::new(),
        );
        if self.rng.random_bool(0.25) {
            let heading = self.heading();
            shot.camera = self.pan(heading, 1.0);
        }
        shot
    }

    /// A close-up of one face, the person the words name first. The camera sometimes
    /// pushes in on the reaction.
    fn close_up(
        &mut self,
        event: Event,
        who: usize,
        pose: Pose,
        templates: &[&str],
        words: &Words,
    ) -> ShotPlan {
        let actor = ActorPlan {
            cast: who,
            slot: Slot::Centre,
            pose,
            facing: Facing::Front,
        };
        let mut shot = ShotPlan::new(
            event,
            self.say(templates, words),
            ShotType::CloseUp,
            vec![actor],
        );
        if self.rng.random_bool(0.35) {
            shot.camera = Some(CameraMove::ZoomIn);
        }
        shot
    }

    /// Someone walks in or out, perhaps watched by someone who stays; then, sometimes,
    /// the watcher's reaction.
    fn stage_entrance(&mut self, beat: &Beat, opening: bool, shots: &mut Vec<ShotPlan>) {
        let walker = beat.who[0];
        let entering = beat.event == Event::Arrive;
        let watcher = self.bystander(&beat.who);
        let heading = self.heading();
        let (templates, reactions) = if entering {
            (ARRIVE, ARRIVE_REACTION)
        } else {
            (LEAVE, LEAVE_REACTION)
        };
        let framing = if opening || self.rng.random_bool(0.6) {
            ShotType::Wide
        } else {
            ShotType::Medium
        };
        let words = self.words(&[walker]);
        let actors = doorway(walker, watcher, heading, entering);
        let mut shot = ShotPlan::new(beat.event, self.say(templates, &words), framing, actors);
        shot.camera = self.pan(heading, 0.3);
        shots.push(shot);
        if let Some(watcher) = watcher
            && self.rng.random_bool(0.5)
        {
            let words = self.words(&[watcher, walker]);
            shots.push(self.close_up(beat.event, watcher, Pose::Stand, reactions, &words));
        }
    }

    /// A group sets off for another place; the scene ends on them walking away.
    fn stage_departure(&mut self, beat: &Beat, remaining: usize, shots: &mut Vec<ShotPlan>) {
        let heading = self.heading();
        let mut words = self.words(&beat.who);
        words.destination = beat.to.unwrap_or(self.place);
        let walkers = procession(&beat.who, heading);
        let mut shot = ShotPlan::new(
            Event::Travel,
            self.say(DEPART, &words),
            ShotType::Wide,
            walkers.clone(),
        );
        shot.camera = self.pan(heading, 0.5);
        shots.push(shot);
        if remaining >= 2 {
            let description = self.say(ON_THE_WAY, &words);
            let mut shot = ShotPlan::new(Event::Travel, description, ShotType::Medium, walkers);
            shot.camera = self.pan(heading, 0.5);
            shots.push(shot);
        }
    }

    /// The opening of a scene reached by a journey: perhaps the empty place, then the
    /// travellers walking in.
    fn travel_in(&mut self, group: &[usize]) -> Vec<ShotPlan> {
        let mut shots = Vec::with_capacity(2);
        if self.rng.random_bool(0.5) {
            shots.push(self.establishing(Event::Travel));
        }
        let heading = self.heading();
        let words = self.words(group);
        let description = self.say(ARRIVE_TOGETHER, &words);
        let mut shot = ShotPlan::new(
            Event::Travel,
            description,
            ShotType::Wide,
            procession(group, heading),
        );
        shot.camera = self.pan(heading, 0.3);
        shots.push(shot);
        shots
    }

    /// Two strangers meet: a wave, often the other's reaction, sometimes introductions.
    fn stage_meeting(&mut self, beat: &Beat, opening: bool, shots: &mut Vec<ShotPlan>) {
        let (a, b) = (beat.who[0], beat.who[1]);
        let words = self.words(&[a, b]);
        let framing = if opening || self.rng.random_bool(0.5) {
            ShotType::Wide
        } else {
            ShotType::Medium
        };
        let answer = if self.rng.random_bool(0.5) {
            Pose::Wave
        } else {
            Pose::Stand
        };
        let a_left = self.rng.random_bool(0.5);
        let pair = |pose_a, pose_b| face_to_face((a, pose_a), (b, pose_b), a_left);
        let mut shot = ShotPlan::new(
            Event::Meet,
            self.say(MEET, &words),
            framing,
            pair(Pose::Wave, answer),
        );
        shot.dialogue = self.dialogue(Event::Meet, a, b, true);
        shots.push(shot);
        if self.rng.random_bool(0.6) {
            let words = self.words(&[b, a]);
            let mut shot = self.close_up(Event::Meet, b, answer, MEET_REACTION, &words);
            shot.dialogue = self.reply(Event::Meet, b, a);
            shots.push(shot);
        }
        if self.rng.random_bool(0.4) {
            let description = self.say(MEET_AFTER, &words);
            let mut shot = ShotPlan::new(
                Event::Meet,
                description,
                ShotType::Medium,
                pair(Pose::Wave, Pose::Wave),
            );
            shot.dialogue = self.dialogue(Event::Meet, a, b, true);
            shots.push(shot);
        }
    }

    /// Two people talk or argue: a two-shot, then close-ups and reverse two-shots as they
    /// take turns. Each keeps their side of the frame throughout.
    fn stage_conversation(&mut self, beat: &Beat, opening: bool, shots: &mut Vec<ShotPlan>) {
        let event = beat.event;
        let (two_shot, speaking, listening) = if event == Event::Talk {
            (TALK, TALK_SPEAKER, TALK_LISTENER)
        } else {
            (ARGUE, ARGUE_SPEAKER, ARGUE_LISTENER)
        };
        let on_left = beat.who[0];
        let (mut speaker, mut listener) = (beat.who[0], beat.who[1]);
        let count = self.rng.random_range(2..=4);
        for k in 0..count {
            let shot = match self.rng.random_range(0..3) {
                0 | 1 if k > 0 && self.rng.random_bool(0.5) => {
                    let words = self.words(&[speaker, listener]);
                    let mut shot = self.close_up(event, speaker, Pose::Talk, speaking, &words);
                    shot.dialogue = self.dialogue(event, speaker, listener, false);
                    shot
                }
                2 if k > 0 => {
                    let words = self.words(&[listener, speaker]);
                    self.close_up(event, listener, Pose::Stand, listening, &words)
                }
                _ => {
                    let framing = if k == 0 && opening {
                        ShotType::Wide
                    } else {
                        ShotType::Medium
                    };
                    let words = self.words(&[speaker, listener]);
                    let actors = face_to_face(
                        (speaker, Pose::Talk),
                        (listener, Pose::Stand),
                        speaker == on_left,
                    );
                    let mut shot =
                        ShotPlan::new(event, self.say(two_shot, &words), framing, actors);
                    shot.dialogue = self.dialogue(event, speaker, listener, true);
                    shot
                }
            };
            shots.push(shot);
            if self.rng.random_bool(0.5) {
                std::mem::swap(&mut speaker, &mut listener);
            }
        }
    }

    /// One runs and the other gives chase, wide across the place, the camera following.
    fn stage_chase(&mut self, beat: &Beat, shots: &mut Vec<ShotPlan>) {
        let (chaser, runner) = (beat.who[0], beat.who[1]);
        let heading = self.heading();
        let words = self.words(&[chaser, runner]);
        let runners = procession(&[runner, chaser], heading);
        let mut shot = ShotPlan::new(
            Event::Chase,
            self.say(CHASE, &words),
            ShotType::Wide,
            runners.clone(),
        );
        shot.camera = self.pan(heading, 0.6);
        shots.push(shot);
        if self.rng.random_bool(0.5) {
            let description = self.say(CHASE_ON, &words);
            let mut shot = ShotPlan::new(Event::Chase, description, ShotType::Medium, runners);
            shot.camera = self.pan(heading, 0.6);
            shots.push(shot);
        }
    }

    /// A group celebrates (jumping or waving) or rests (sitting), then perhaps one face in
    /// close-up. A celebration of a reached goal says which goal.
    fn stage_gathering(&mut self, beat: &Beat, opening: bool, shots: &mut Vec<ShotPlan>) {
        let celebrating = beat.event == Event::Celebrate;
        let mut members = Vec::with_capacity(beat.who.len());
        for &i in &beat.who {
            let pose = match celebrating {
                false => Pose::Sit,
                true if self.rng.random_bool(0.5) => Pose::Jump,
                true => Pose::Wave,
            };
            members.push((i, pose));
        }
        let templates = match (beat.event, beat.goal) {
            (Event::Rest, _) => REST,
            (_, Some(Goal::Find(_))) => FOUND,
            (_, Some(Goal::Reach(_))) => REACHED,
            (_, Some(Goal::Gather)) => GATHERED,
            (_, None) => CELEBRATE,
        };
        let framing = if opening || self.rng.random_bool(0.5) {
            ShotType::Wide
        } else {
            ShotType::Medium
        };
        let words = self.words(&beat.who);
        let mut shot = ShotPlan::new(
            beat.event,
            self.say(templates, &words),
            framing,
            huddle(&members),
        );
        let (a, b) = (beat.who[0], beat.who.get(1).copied().unwrap_or(beat.who[0]));
        if celebrating {
            shot.dialogue = self.dialogue(Event::Celebrate, a, b, true);
        }
        shots.push(shot);
        if self.rng.random_bool(0.5) {
            let (i, pose) = pick(&mut self.rng, &members);
            let words = self.words(&[i]);
            let (templates, pose) = if celebrating {
                (CELEBRATE_CLOSE, Pose::Wave)
            } else {
                (REST_CLOSE, pose)
            };
            let mut shot = self.close_up(beat.event, i, pose, templates, &words);
            if celebrating {
                shot.dialogue = self.dialogue(Event::Celebrate, i, i, false);
            }
            shots.push(shot);
        }
    }
}

/// A walker coming in or going out, and perhaps a watcher who stays. The walker faces the
/// way they go: coming in, they are near the edge they came from; going out, near the
/// edge they make for. The watcher stands on the other side, turned towards them.
fn doorway(
    walker: usize,
    watcher: Option<usize>,
    heading: Facing,
    entering: bool,
) -> Vec<ActorPlan> {
    let walker_at_left = (heading == Facing::Right) == entering;
    let (walker_slot, watcher_slot, watcher_facing) = if walker_at_left {
        (Slot::Left, Slot::Right, Facing::Left)
    } else {
        (Slot::Right, Slot::Left, Facing::Right)
    };
    let mut actors = vec![ActorPlan {
        cast: walker,
        slot: walker_slot,
        pose: Pose::Walk,
        facing: heading,
    }];
    actors.extend(watcher.map(|cast| ActorPlan {
        cast,
        slot: watcher_slot,
        pose: Pose::Stand,
        facing: watcher_facing,
    }));
    actors
}

/// Up to three walkers in a line, all facing the way they go, the first of them in front.
fn procession(who: &[usize], heading: Facing) -> Vec<ActorPlan> {
    let slots: &[Slot] = match (who.len(), heading) {
        (1, _) => &[Slot::Centre],
        (2, Facing::Left) => &[Slot::Left, Slot::Right],
        (2, _) => &[Slot::Right, Slot::Left],
        (_, Facing::Left) => &[Slot::Left, Slot::Centre, Slot::Right],
        _ => &[Slot::Right, Slot::Centre, Slot::Left],
    };
    who.iter()
        .zip(slots)
        .map(|(&cast, &slot)| ActorPlan {
            cast,
            slot,
            pose: Pose::Walk,
            facing: heading,
        })
        .collect()
}

/// Two people face to face: the one on the left looks right, the other looks left.
fn face_to_face(
    first: (usize, Pose),
    second: (usize, Pose),
    first_on_left: bool,
) -> Vec<ActorPlan> {
    if first_on_left {
        huddle(&[first, second])
    } else {
        let mut actors = huddle(&[second, first]);
        actors.reverse();
        actors
    }
}

/// Up to three people gathered: the outer ones turn inwards, the middle one faces the
/// camera; one alone stands in the centre, facing front.
fn huddle(members: &[(usize, Pose)]) -> Vec<ActorPlan> {
    let places: &[(Slot, Facing)] = match members.len() {
        1 => &[(Slot::Centre, Facing::Front)],
        2 => &[(Slot::Left, Facing::Right), (Slot::Right, Facing::Left)],
        _ => &[
            (Slot::Left, Facing::Right),
            (Slot::Centre, Facing::Front),
            (Slot::Right, Facing::Left),
        ],
    };
    members
        .iter()
        .zip(places)
        .map(|(&(cast, pose), &(slot, facing))| ActorPlan {
            cast,
            slot,
            pose,
            facing,
        })
        .collect()
}

/// What a template can refer to.
#[derive(Debug, Clone)]
struct Words {
    /// The subject's name (`{a}`).
    a: String,
    /// The other's name (`{b}`).
    b: String,
    /// Everyone's names, "A, B and C" (`{group}`).
    group: String,
    /// Whether the group is more than one, for verb agreement (`{s}`, `{es}`).
    plural: bool,
    place: Location,
    destination: Location,
    time: TimeOfDay,
}

impl Words {
    /// The word for `key`; a key starting in upper case gets a capital letter. Place and
    /// time words are drawn from synonyms on each use.
    fn get(&self, key: &str, rng: &mut ChaCha8Rng) -> Option<String> {
        let word = match key.to_ascii_lowercase().as_str() {
            "a" => self.a.clone(),
            "b" => self.b.clone(),
            "group" => self.group.clone(),
            "s" => if self.plural { "" } else { "s" }.to_owned(),
            "es" => if self.plural { "" } else { "es" }.to_owned(),
            "place" => pick(rng, place_phrases(self.place)).0.to_owned(),
            "at" => pick(rng, place_phrases(self.place)).1.to_owned(),
            "dest" => format!("the {}", self.destination.name()),
            "when" => self.when(rng),
            _ => return None,
        };
        let capital = key.starts_with(|c: char| c.is_ascii_uppercase());
        Some(if capital { capitalise(&word) } else { word })
    }

    /// A phrase for the time of day.
    fn when(&self, rng: &mut ChaCha8Rng) -> String {
        let phrases: &[&str] = match self.time {
            TimeOfDay::Day => &["in the morning", "by day", "in daylight", "at midday"],
            TimeOfDay::Dusk => &[
                "at dusk",
                "at sunset",
                "in the evening light",
                "as evening falls",
            ],
            TimeOfDay::Night => &["at night", "in the dark", "late at night", "by moonlight"],
        };
        pick(rng, phrases).to_owned()
    }
}

/// Ways to name a place: (noun phrase, "at" phrase), the plain name first.
fn place_phrases(place: Location) -> &'static [(&'static str, &'static str)] {
    match place {
        Location::Harbour => &[
            ("the harbour", "at the harbour"),
            ("the quay", "on the quay"),
        ],
        Location::Beach => &[("the beach", "on the beach"), ("the shore", "on the shore")],
        Location::Forest => &[
            ("the forest", "in the forest"),
            ("the woods", "in the woods"),
        ],
        Location::Village => &[
            ("the village", "in the village"),
            ("the village street", "in the village street"),
        ],
        Location::Meadow => &[
            ("the meadow", "in the meadow"),
            ("the hills", "on the hills"),
        ],
        Location::Kitchen => &[("the kitchen", "in the kitchen")],
        Location::Library => &[
            ("the library", "in the library"),
            ("the reading room", "in the reading room"),
        ],
        Location::Lighthouse => &[
            ("the lighthouse", "at the lighthouse"),
            ("the lamp room", "in the lamp room"),
        ],
    }
}

/// Fills a template: `[x|y|z]` picks one alternative (which may hold keys), `{key}`
/// inserts a word from `words`. An unknown key is left as written.
fn expand(rng: &mut ChaCha8Rng, template: &str, words: &Words) -> String {
    let mut out = String::with_capacity(template.len() + 24);
    let mut rest = template;
    while let Some(start) = rest.find(['[', '{']) {
        out.push_str(&rest[..start]);
        let choice = rest.as_bytes()[start] == b'[';
        let close = if choice { ']' } else { '}' };
        let Some(length) = rest[start..].find(close) else {
            break;
        };
        let inner = &rest[start + 1..start + length];
        if choice {
            let alternative = inner
                .split('|')
                .nth(rng.random_range(0..inner.split('|').count()));
            out.push_str(&expand(rng, alternative.unwrap_or_default(), words));
        } else {
            match words.get(inner, rng) {
                Some(word) => out.push_str(&word),
                None => out.push_str(&rest[start..=start + length]),
            }
        }
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    out
}

/// The lines and the replies that fit an event; none for events without talk.
fn dialogue_lines(event: Event) -> (&'static [&'static str], &'static [&'static str]) {
    match event {
        Event::Meet => (MEET_LINES, MEET_REPLIES),
        Event::Talk => (TALK_LINES, TALK_REPLIES),
        Event::Argue => (ARGUE_LINES, ARGUE_REPLIES),
        Event::Celebrate => (CELEBRATE_LINES, CELEBRATE_REPLIES),
        _ => (&[], &[]),
    }
}

// Description templates. `{a}` is the person the shot is about (in a close-up, the face
// shown), `{b}` the other one, `{group}` everyone in the beat; `{s}`/`{es}` agree a verb
// with the group; `{place}`, `{at}`, `{dest}` and `{when}` name places and times.

const ESTABLISH: &[&str] = &[
    "{Place} {when}. [All is quiet|Nobody is about|Nothing stirs].",
    "[A wide view of|A view across|Wide on] {place} {when}.",
    "{When}, {place} [lies quiet|is empty|waits].",
    "{Place}, [empty|quiet|still], {when}.",
    "[Establishing shot|Opening shot]: {place} {when}.",
];

const ARRIVE: &[&str] = &[
    "{a} [walks|wanders|strolls|hurries] into {place}.",
    "{a} arrives {at}.",
    "Into {place} [comes|walks|steps] {a}.",
    "{a} [comes|steps] into {place}, looking around.",
    "{When}, {a} [walks|comes] into {place}.",
    "{a} [turns up|shows up] {at} {when}.",
    "[Here comes|In walks] {a}, [at last|unannounced|right on time].",
];

const ARRIVE_REACTION: &[&str] = &[
    "Close on {a}, who [looks up|turns round|notices {b}].",
    "{a} [sees|spots|notices] {b} come in.",
    "A close-up of {a}, [surprised|curious|glad] to see {b}.",
];

const LEAVE: &[&str] = &[
    "{a} [walks out of|leaves|slips out of] {place}.",
    "{a} turns and walks away.",
    "[Without a word|Quietly|Suddenly], {a} leaves {place}.",
    "{a} heads off, leaving {place} behind.",
    "Out of {place} goes {a}.",
    "{a} [walks|wanders] off {when}.",
];

const LEAVE_REACTION: &[&str] = &[
    "Close on {a}, watching {b} go.",
    "{a} [watches|stares after] {b}.",
    "A close-up of {a}, [alone now|looking after {b}|sighing].",
];

const DEPART: &[&str] = &[
    "{group} set{s} off for {dest}.",
    "{group} leave{s} {place}, heading for {dest}.",
    "Heading for {dest}, {group} walk{s} away from {place}.",
    "{group} start{s} the [long|short] walk to {dest}.",
    "[Off|Away] to {dest}: {group} walk{s} out of {place}.",
];

const ON_THE_WAY: &[&str] = &[
    "{group} walk{s} on towards {dest}.",
    "On the way to {dest}, {group} keep{s} walking.",
    "{group} keep{s} [going|walking|moving].",
    "[Step by step|Steadily|Briskly], {group} walk{s} on.",
];

const ARRIVE_TOGETHER: &[&str] = &[
    "{group} walk{s} into {place}.",
    "{group} arrive{s} {at} {when}.",
    "{When}, {group} reach{es} {place}.",
    "After the [long|short] walk, {group} come{s} into {place}.",
    "[At last|Finally], {group} [arrive{s} {at}|reach{es} {place}].",
    "Into {place} walk{s} {group}.",
];

const MEET: &[&str] = &[
    "{a} waves at {b} across {place}.",
    "{a} [spots|notices] {b} and waves.",
    "{a} and {b} meet for the first time.",
    "For the first time, {a} [meets|comes face to face with] {b}.",
    "{a} greets {b}, a stranger {at}.",
    "{When}, {a} [meets|runs into] {b} {at}.",
    "{a} waves hello to {b}.",
];

const MEET_REACTION: &[&str] = &[
    "Close on {a}, [surprised|curious|smiling shyly].",
    "{a} looks at {b} [curiously|warily|with a smile].",
    "A close-up of {a}, who [waves back|smiles|nods].",
];

const MEET_AFTER: &[&str] = &[
    "{a} and {b} [introduce themselves|exchange names|say hello].",
    "{a} says hello to {b}.",
    "Now {a} and {b} [know each other|are acquainted].",
];

const TALK: &[&str] = &[
    "{a} [chats|talks] with {b}.",
    "{b} listens as {a} talks.",
    "{a} and {b} [talk|chat] {when}.",
    "{a} leans in and talks to {b}.",
    "{At}, {a} talks to {b}.",
    "{a} tells {b} [a story|the news|about the day].",
    "Deep in conversation, {a} talks with {b} {at}.",
];

const TALK_SPEAKER: &[&str] = &[
    "Close on {a}, [talking|speaking|explaining].",
    "{a}, in close-up, [talks|goes on talking|explains].",
    "A close-up of {a} telling {b} [everything|the plan|a secret].",
];

const TALK_LISTENER: &[&str] = &[
    "Close on {a}, [listening|nodding|thinking it over].",
    "{a} listens to {b} [closely|carefully|with a frown].",
    "A close-up of {a}, who [nods|smiles|raises an eyebrow].",
];

const ARGUE: &[&str] = &[
    "{a} argues with {b}.",
    "{a} and {b} [argue|quarrel|bicker] {at}.",
    "{a} [shouts|snaps] at {b}.",
    "Voices rise: {a} and {b} are arguing.",
    "{a} [points at|glares at] {b} and argues.",
    "{When}, {a} and {b} fall out.",
];

const ARGUE_SPEAKER: &[&str] = &[
    "Close on {a}, [furious|red in the face|shouting].",
    "{a} [shouts|snaps back] in close-up.",
    "A close-up of {a}, [angry|fuming] at {b}.",
];

const ARGUE_LISTENER: &[&str] = &[
    "Close on {a}, [hurt|frowning|offended].",
    "{a} glares back at {b}.",
    "A close-up of {a}, [stung|silent|fuming].",
];

const CHASE: &[&str] = &[
    "{a} chases {b} across {place}.",
    "{b} runs, with {a} close behind.",
    "{a} [races|dashes|runs] after {b}.",
    "Across {place}, {a} chases {b}.",
    "{b} [flees|runs off] {at}, {a} in pursuit.",
    "{When}, {a} [chases|runs after] {b}.",
];

const CHASE_ON: &[&str] = &[
    "{a} [gains on|closes in on] {b}.",
    "{b} runs on, {a} just behind.",
    "Still running, {a} [is catching up with|gains on] {b}.",
];

const CELEBRATE: &[&str] = &[
    "{group} celebrate{s} {at}.",
    "{group} [jump{s} for joy|cheer{s}].",
    "{When}, {group} celebrate{s}.",
    "[Cheers|Joy|Laughter] {at}: {group} celebrate{s}.",
    "{group} dance{s} and cheer{s}.",
];

const FOUND: &[&str] = &[
    "{a} has found {b} at last!",
    "At last, {a} and {b} are together again.",
    "{a} cheers: {b} is here at last.",
    "[Overjoyed|Delighted], {a} [hugs|greets] {b}.",
];

const REACHED: &[&str] = &[
    "{a} has reached {place} at last!",
    "At last {a} is {at}, and celebrates.",
    "{a} cheers: {place}, at last!",
    "[Overjoyed|Delighted], {a} [jumps for joy|cheers] {at}.",
];

const GATHERED: &[&str] = &[
    "Friends [together|gathered], {group} celebrate{s}.",
    "Everyone is here: {group} cheer{s}.",
    "{group} celebrate{s} being together {at}.",
];

const CELEBRATE_CLOSE: &[&str] = &[
    "Close on {a}, [beaming|laughing|grinning].",
    "{a}, in close-up, [laughs|cheers|beams].",
    "A close-up of {a}, [overjoyed|delighted].",
];

const REST: &[&str] = &[
    "{group} sit{s} down to rest {at}.",
    "{group} rest{s} for a while.",
    "{When}, {group} sit{s} quietly {at}.",
    "Tired, {group} sit{s} down.",
    "{group} take{s} a break {at}.",
    "{At}, {group} sit{s} and rest{s}.",
];

const REST_CLOSE: &[&str] = &[
    "Close on {a}, [resting|half asleep|deep in thought].",
    "{a} [yawns|sighs] and rests.",
    "A close-up of {a}, sitting [quietly|still].",
];

// Dialogue. `{a}` is the speaker, `{b}` the one spoken to.

const MEET_LINES: &[&str] = &[
    "Have we met before?",
    "Hello there! I'm {a}.",
    "I don't think we've met.",
    "Who might you be?",
    "Nice to meet you!",
    "I'm {a}. And you are?",
];

const MEET_REPLIES: &[&str] = &[
    "I'm {a}. Pleased to meet you.",
    "Hello!",
    "Nice to meet you too.",
];

const TALK_LINES: &[&str] = &[
    "Have you been {at} long?",
    "I was hoping to find you here, {b}.",
    "What do you make of it, {b}?",
    "Listen, I have an idea.",
    "Tell me everything.",
    "It's lovely {at} {when}.",
    "Where are the others?",
];

const TALK_REPLIES: &[&str] = &[
    "Really?",
    "I know what you mean.",
    "Go on.",
    "Hmm, maybe.",
    "Of course!",
];

const ARGUE_LINES: &[&str] = &[
    "You never listen!",
    "That's not what you said!",
    "How could you, {b}?",
    "This is all your fault!",
    "Leave me alone!",
    "I'm not going anywhere!",
];

const ARGUE_REPLIES: &[&str] = &[
    "No, you never listen!",
    "Fine!",
    "That's not fair!",
    "Me? What about you?",
];

const CELEBRATE_LINES: &[&str] = &[
    "We did it!",
    "Hooray!",
    "At last!",
    "What a day!",
    "This calls for a party!",
];

const CELEBRATE_REPLIES: &[&str] = &["Hooray!", "Best day ever!", "We did it!"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn the_same_seed_gives_the_same_film_and_another_seed_another() {
        let film = Film::generate(7, 300, Split::Train);
        assert_eq!(film, Film::generate(7, 300, Split::Train));
        assert_ne!(film, Film::generate(8, 300, Split::Train));
    }

    #[test]
    fn films_have_exactly_the_requested_number_of_shots() {
        for shots in [1, 2, 3, 7, 10, 13, 200, 10_000] {
            for seed in 0..3 {
                let film = Film::generate(seed, shots, Split::Train);
                assert_eq!(film.shot_count(), shots, "seed {seed}");
                assert_eq!(film.shots().count(), shots);
                assert!(film.scenes.iter().all(|s| s.shots.len() <= MAX_SCENE));
                if shots >= MIN_SCENE {
                    assert!(
                        film.scenes.iter().all(|s| s.shots.len() >= 3),
                        "seed {seed}"
                    );
                }
            }
        }
        assert_eq!(Film::generate(1, 0, Split::Train).shot_count(), 1);
        assert_eq!(
            Film::generate(1, 50_000, Split::Train).shot_count(),
            MAX_FILM_SHOTS
        );
    }

    #[test]
    fn casts_are_two_to_six_distinct_characters_from_the_split() {
        for seed in 0..30 {
            let split = Split::ALL[seed as usize % 3];
            for shots in [10, 300] {
                let film = Film::generate(seed, shots, split);
                let cast = &film.cast;
                assert!((2..=6).contains(&cast.len()), "{}", cast.len());
                let identities: Vec<Identity> = cast.iter().map(|c| c.identity).collect();
                for (k, identity) in identities.iter().enumerate() {
                    assert!(!identities[k + 1..].contains(identity));
                    assert_eq!(identity.split(), split);
                }
                let names: BTreeSet<&str> = cast.iter().map(|c| c.name.as_str()).collect();
                let ids: BTreeSet<&str> = cast.iter().map(|c| c.id.as_str()).collect();
                assert_eq!(names.len(), cast.len());
                assert_eq!(ids.len(), cast.len());
                assert!(ids.iter().all(|id| script::validate::is_valid_id(id)));
                assert!(!film.title.is_empty());
            }
        }
    }

    #[test]
    fn shots_have_at_most_three_actors_at_distinct_slots_and_close_ups_one() {
        for seed in 0..10 {
            let film = Film::generate(seed, 400, Split::Train);
            for (_, _, _, shot) in film.shots() {
                assert!(shot.actors.len() <= MAX_IN_SHOT, "{shot:?}");
                let slots: BTreeSet<usize> = shot
                    .actors
                    .iter()
                    .map(|a| crate::world::slot_index(a.slot))
                    .collect();
                let cast: BTreeSet<usize> = shot.actors.iter().map(|a| a.cast).collect();
                assert_eq!(slots.len(), shot.actors.len(), "{shot:?}");
                assert_eq!(cast.len(), shot.actors.len(), "{shot:?}");
                assert!(cast.iter().all(|&i| i < film.cast.len()));
                if shot.shot == ShotType::CloseUp {
                    assert_eq!(shot.actors.len(), 1, "{shot:?}");
                    assert_eq!(shot.actors[0].facing, Facing::Front);
                }
                assert!(
                    shot.dialogue
                        .iter()
                        .all(|(i, line)| *i < film.cast.len() && !line.is_empty())
                );
                assert!(
                    !shot.description.contains(['{', '}', '[', ']']),
                    "{}",
                    shot.description
                );
            }
        }
    }

    #[test]
    fn poses_follow_the_event() {
        let film = Film::generate(3, 2_000, Split::Train);
        for (_, _, _, shot) in film.shots() {
            for actor in &shot.actors {
                let allowed: &[Pose] = match shot.event {
                    Event::Arrive | Event::Leave => &[Pose::Walk, Pose::Stand],
                    Event::Travel | Event::Chase => &[Pose::Walk],
                    Event::Meet => &[Pose::Wave, Pose::Stand],
                    Event::Talk | Event::Argue => &[Pose::Talk, Pose::Stand],
                    Event::Celebrate => &[Pose::Jump, Pose::Wave],
                    Event::Rest => &[Pose::Sit],
                };
                assert!(allowed.contains(&actor.pose), "{shot:?}");
            }
            if matches!(shot.event, Event::Talk | Event::Argue) && shot.actors.len() == 2 {
                let facing = |slot| {
                    shot.actors
                        .iter()
                        .find(|a| a.slot == slot)
                        .map(|a| a.facing)
                };
                assert_eq!(facing(Slot::Left), Some(Facing::Right));
                assert_eq!(facing(Slot::Right), Some(Facing::Left));
            }
        }
    }

    #[test]
    fn long_films_change_place_and_time() {
        for seed in 0..5 {
            let film = Film::generate(seed, 500, Split::Train);
            let places: BTreeSet<usize> = film.scenes.iter().map(|s| s.location.index()).collect();
            let times: BTreeSet<usize> = film.scenes.iter().map(|s| s.time.index()).collect();
            assert!(places.len() >= 5, "seed {seed}: {places:?}");
            assert_eq!(times.len(), 3, "seed {seed}");
            for pair in film.scenes.windows(2) {
                assert_ne!(pair[0].location, pair[1].location);
            }
        }
    }

    #[test]
    fn every_event_occurs_and_descriptions_vary() {
        let film = Film::generate(11, 2_000, Split::Train);
        let events: BTreeSet<usize> = film
            .shots()
            .map(|(_, _, _, shot)| Event::ALL.iter().position(|&e| e == shot.event).unwrap())
            .collect();
        assert_eq!(events.len(), Event::ALL.len(), "{events:?}");

        let film = Film::generate(12, 500, Split::Train);
        let distinct: BTreeSet<&str> = film
            .shots()
            .map(|(_, _, _, s)| s.description.as_str())
            .collect();
        assert!(distinct.len() * 2 >= 500, "{} distinct", distinct.len());
    }

    #[test]
    fn some_but_not_most_speaking_shots_have_dialogue() {
        let film = Film::generate(5, 2_000, Split::Train);
        let speaking: Vec<&ShotPlan> = film
            .shots()
            .map(|(_, _, _, shot)| shot)
            .filter(|shot| {
                matches!(
                    shot.event,
                    Event::Talk | Event::Argue | Event::Meet | Event::Celebrate
                )
            })
            .collect();
        let with_lines = speaking
            .iter()
            .filter(|shot| !shot.dialogue.is_empty())
            .count();
        let share = with_lines as f64 / speaking.len() as f64;
        assert!((0.15..=0.45).contains(&share), "{share}");
        assert!(film.shots().all(|(_, _, _, s)| s.dialogue.is_empty()
            || matches!(
                s.event,
                Event::Talk | Event::Argue | Event::Meet | Event::Celebrate
            )));
    }

    #[test]
    fn keyframe_specs_carry_the_plan() {
        let film = Film::generate(9, 60, Split::Test);
        for (i, j, scene, shot) in film.shots() {
            let spec = film.keyframe_spec(i, j);
            assert_eq!(
                (spec.location, spec.time, spec.style, spec.shot),
                (scene.location, scene.time, film.style, shot.shot)
            );
            assert_eq!(spec.actors.len(), shot.actors.len());
            for (actor, plan) in spec.actors.iter().zip(&shot.actors) {
                assert_eq!(actor.identity, film.cast[plan.cast].identity);
                assert_eq!(
                    (actor.slot, actor.pose, actor.facing),
                    (plan.slot, plan.pose, plan.facing)
                );
            }
        }
    }

    #[test]
    fn scripts_of_films_validate_without_errors() {
        for (seed, shots) in [(1, 10), (2, 300), (3, 2_000)] {
            let film = Film::generate(seed, shots, Split::Validation);
            let script = film.to_script(|_| Vec::new());
            let found = script::validate::validate(
                &script,
                &script::SourceMap::default(),
                Path::new("film.yaml"),
                Path::new("."),
            );
            let errors: Vec<String> = found
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(script.summary().shots, shots);
            assert_eq!(script.characters.len(), film.cast.len());
            assert_eq!(script.scenes.len(), film.scenes.len());
        }
        let film = Film::generate(4, 30, Split::Train);
        let script = film.to_script(|i| vec![PathBuf::from(format!("faces/{i}.png"))]);
        assert_eq!(
            script.characters[1].faces,
            vec![PathBuf::from("faces/1.png")]
        );
        assert_eq!(
            script.characters[0].name.as_deref(),
            Some(film.cast[0].name.as_str())
        );
    }

    #[test]
    fn every_template_expands_fully() {
        let words = Words {
            a: "Mira".into(),
            b: "Tesku".into(),
            group: "Mira and Tesku".into(),
            plural: true,
            place: Location::Harbour,
            destination: Location::Forest,
            time: TimeOfDay::Dusk,
        };
        let all = [
            ESTABLISH,
            ARRIVE,
            ARRIVE_REACTION,
            LEAVE,
            LEAVE_REACTION,
            DEPART,
            ON_THE_WAY,
            ARRIVE_TOGETHER,
            MEET,
            MEET_REACTION,
            MEET_AFTER,
            TALK,
            TALK_SPEAKER,
            TALK_LISTENER,
            ARGUE,
            ARGUE_SPEAKER,
            ARGUE_LISTENER,
            CHASE,
            CHASE_ON,
            CELEBRATE,
            FOUND,
            REACHED,
            GATHERED,
            CELEBRATE_CLOSE,
            REST,
            REST_CLOSE,
            MEET_LINES,
            MEET_REPLIES,
            TALK_LINES,
            TALK_REPLIES,
            ARGUE_LINES,
            ARGUE_REPLIES,
            CELEBRATE_LINES,
            CELEBRATE_REPLIES,
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for template in all.iter().flat_map(|set| set.iter()) {
            for _ in 0..5 {
                let text = expand(&mut rng, template, &words);
                assert!(!text.contains(['{', '}', '[', ']']), "{template} -> {text}");
                assert!(text.starts_with(|c: char| c.is_uppercase()), "{text}");
            }
        }
        let single = Words {
            plural: false,
            group: "Mira".into(),
            ..words
        };
        assert_eq!(
            expand(&mut rng, "{group} walk{s} and reach{es} {dest}.", &single),
            "Mira walks and reaches the forest."
        );
    }
}

#[cfg(test)]
mod peek_tmp {
    use super::*;
    #[test]
    #[ignore]
    fn peek() {
        let t = std::time::Instant::now();
        let big = Film::generate(1, 10_000, Split::Train);
        eprintln!("10k in {:?}, {} scenes", t.elapsed(), big.scenes.len());
        let film = Film::generate(42, 80, Split::Train);
        eprintln!("TITLE {} style {:?} cast {:?}", film.title, film.style, film.cast.iter().map(|c| &c.name).collect::<Vec<_>>());
        for (i, j, scene, shot) in film.shots() {
            if j == 0 { eprintln!("== scene {i}: {:?} {:?}", scene.location, scene.time); }
            let who: Vec<String> = shot.actors.iter().map(|a| format!("{}:{:?}/{:?}/{:?}", film.cast[a.cast].name, a.slot, a.pose, a.facing)).collect();
            eprintln!("  [{:?} {:?} {:?}] {}  {:?} {:?}", shot.event, shot.shot, shot.camera, shot.description, who, shot.dialogue);
        }
        let mut counts = std::collections::BTreeMap::new();
        for (_, _, _, s) in big.shots() { *counts.entry(s.event.name()).or_insert(0) += 1; }
        eprintln!("{counts:?}");
        let d: std::collections::BTreeSet<&str> = big.shots().map(|(_,_,_,s)| s.description.as_str()).collect();
        eprintln!("distinct {}", d.len());
        let lens: Vec<usize> = big.scenes.iter().map(|s| s.shots.len()).collect();
        eprintln!("scene len min {} max {}", lens.iter().min().unwrap(), lens.iter().max().unwrap());
    }
}
