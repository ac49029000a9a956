//! The plot: a small world state (who is where, who has met whom, who wants what) and
//! the planner that picks events the state allows and stages them as shots.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::text::*;
use super::{ActorPlan, CastMember, Event, ScenePlan, ShotPlan, capitalise, pick};
use crate::world::{CameraMove, Facing, Location, Pose, ShotType, Slot, TimeOfDay};

/// Fewest shots in a scene, unless the whole film is shorter.
pub(super) const MIN_SCENE: usize = 4;
/// Most shots in a scene.
pub(super) const MAX_SCENE: usize = 12;
/// Most characters in a shot: one per slot.
pub(super) const MAX_IN_SHOT: usize = 3;
/// Chance that a shot where someone speaks gets a line of dialogue.
const DIALOGUE_CHANCE: f64 = 0.3;
/// Chance that a line gets a reply from the listener in the same shot.
const REPLY_CHANCE: f64 = 0.4;
/// Most close-ups in a row, anywhere in a film.
const MAX_CLOSE_UP_RUN: usize = 2;
/// Chance that a later shot of a conversation cuts to the listener's reaction.
const REACTION_CHANCE: f64 = 0.2;
/// Chance that a later shot of a conversation is a close-up of the speaker instead.
const SPEAKER_CLOSE_UP_CHANCE: f64 = 0.08;
/// Chance of the watcher's reaction in close-up when someone walks in or out.
const WATCHER_CLOSE_UP_CHANCE: f64 = 0.25;
/// Chance of the other's reaction in close-up when strangers meet.
const MEET_CLOSE_UP_CHANCE: f64 = 0.4;
/// Chance of one face in close-up after a group celebrates or rests.
const GATHERING_CLOSE_UP_CHANCE: f64 = 0.3;

/// What a character wants. Reaching it is a plot beat (a celebration) that sets a new one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Goal {
    /// To be in the same place as this character, and to know them.
    Find(usize),
    /// To get to this place.
    Reach(Location),
    /// To have company: four characters together (the whole cast, if smaller).
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

/// Two characters, by cast index.
type Pair = (usize, usize);

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
pub(super) struct Plotter {
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
    /// A goal was celebrated in this scene. One such climax per scene keeps joy rare
    /// enough to mean something; other goals wait for a later scene.
    celebrated: bool,
}

impl Plotter {
    /// The opening situation: the first character at the first place, the others there,
    /// elsewhere or away, everyone a stranger with a goal.
    pub(super) fn new(mut rng: ChaCha8Rng, cast: &[CastMember]) -> Plotter {
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
            celebrated: false,
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
    pub(super) fn write(mut self, total: usize) -> Vec<ScenePlan> {
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
    /// thread of the plot (the more people there, the likelier); else to a fresh place
    /// that someone will walk into.
    fn cut_place(&mut self) -> Location {
        let occupied: Vec<Location> = self
            .people
            .iter()
            .filter_map(|person| person.place)
            .filter(|&place| place != self.place)
            .collect();
        if !occupied.is_empty() && self.rng.random_bool(0.75) {
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
            Goal::Gather => here.len() >= self.people.len().min(4),
        }
    }

    /// Writes one scene of exactly `length` shots at the current place and time.
    fn scene(&mut self, length: usize) -> ScenePlan {
        let mut shots = Vec::with_capacity(length + 3);
        if let Some((group, _)) = self.journey.take() {
            shots.extend(self.travel_in(&group));
        }
        let mut opening = shots.is_empty();
        self.celebrated = false;
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
                if self.celebrated {
                    continue;
                }
                let mut who = vec![i];
                if let Goal::Find(j) = goal {
                    who.push(j);
                }
                let who = self.with_company(who, here, goal == Goal::Gather);
                let beat = Beat {
                    goal: Some(goal),
                    ..Beat::new(Event::Celebrate, who)
                };
                options.push((12, beat));
                continue;
            }
            match goal {
                Goal::Find(j) if here.contains(&j) => {
                    options.push((12, Beat::new(Event::Meet, vec![i, j])));
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
            options.push((10, beat));
        } else if here.len() >= 2 {
            let beat = Beat {
                to: Some(there),
                ..Beat::new(Event::Leave, vec![i])
            };
            options.push((2, beat));
        }
    }

    /// Everyday beats the state allows, weighted to suit the moment: arrivals when the
    /// place is empty, rest at night, journeys as the scene ends, meetings between
    /// strangers and talk between acquaintances.
    fn everyday_beats(&mut self, here: &[usize], remaining: usize, options: &mut Vec<(u32, Beat)>) {
        if let Some(j) = self.someone_absent(here) {
            let weight = if here.len() < 2 { 5 } else { 2 };
            options.push((weight, Beat::new(Event::Arrive, vec![j])));
        }
        if here.is_empty() {
            return;
        }
        let first = pick(&mut self.rng, here);
        let resting = self.with_company(vec![first], here, false);
        let weight = if self.time == TimeOfDay::Night { 5 } else { 2 };
        options.push((weight, Beat::new(Event::Rest, resting)));
        if remaining <= 2 {
            let leader = pick(&mut self.rng, here);
            let group = self.with_company(vec![leader], here, false);
            let beat = Beat {
                to: Some(self.other_place(Some(self.place))),
                ..Beat::new(Event::Travel, group)
            };
            options.push((6, beat));
        }
        if here.len() < 2 {
            return;
        }
        let leaver = pick(&mut self.rng, here);
        let beat = Beat {
            to: self.leave_destination(leaver),
            ..Beat::new(Event::Leave, vec![leaver])
        };
        options.push((if here.len() >= 4 { 4 } else { 2 }, beat));
        let (strangers, friends) = self.pairs(here);
        if !strangers.is_empty() {
            let (a, b) = self.pick_pair(&strangers);
            options.push((8, Beat::new(Event::Meet, vec![a, b])));
        }
        if !friends.is_empty() {
            let (a, b) = self.pick_pair(&friends);
            options.push((10, Beat::new(Event::Talk, vec![a, b])));
            options.push((3, Beat::new(Event::Argue, vec![a, b])));
            options.push((2, Beat::new(Event::Chase, vec![a, b])));
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
    fn pairs(&self, here: &[usize]) -> (Vec<Pair>, Vec<Pair>) {
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
    fn pick_pair(&mut self, pairs: &[Pair]) -> Pair {
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
                    self.celebrated = true;
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
    /// (and is not about a close-up) gets the time of day in front, for yet another word
    /// order.
    fn say(&mut self, templates: &[&str], words: &Words) -> String {
        let template = pick(&mut self.rng, templates);
        let named = (template.starts_with("{a}") || template.starts_with("{group}"))
            && !template.contains("close-up");
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
    /// and its first shot is wide, to show where we are. No beat opens on a close-up, so
    /// runs of close-ups stay within a beat, where [`room_for_close_up`] limits them.
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
        debug_assert!(shots.first().is_some_and(|s| s.shot != ShotType::CloseUp));
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
            && self.rng.random_bool(WATCHER_CLOSE_UP_CHANCE)
            && room_for_close_up(shots, watcher)
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
        if self.rng.random_bool(MEET_CLOSE_UP_CHANCE) && room_for_close_up(shots, b) {
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

    /// Two people talk or argue: mostly medium two-shots (wide when the talk opens the
    /// scene), turned around as they take turns, and now and then a close-up of the
    /// listener's reaction or, more rarely, of the speaker. Each keeps their side of the
    /// frame throughout.
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
            let roll: f64 = self.rng.random();
            let face = match roll {
                _ if k == 0 => None,
                r if r < REACTION_CHANCE => Some((listener, speaker, Pose::Stand, listening)),
                r if r < REACTION_CHANCE + SPEAKER_CLOSE_UP_CHANCE => {
                    Some((speaker, listener, Pose::Talk, speaking))
                }
                _ => None,
            }
            .filter(|&(who, ..)| room_for_close_up(shots, who));
            let shot = match face {
                Some((who, other, pose, templates)) => {
                    let words = self.words(&[who, other]);
                    let mut shot = self.close_up(event, who, pose, templates, &words);
                    if who == speaker {
                        shot.dialogue = self.dialogue(event, speaker, listener, false);
                    }
                    shot
                }
                None => {
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
        if !self.rng.random_bool(GATHERING_CLOSE_UP_CHANCE) {
            return;
        }
        let (i, pose) = pick(&mut self.rng, &members);
        if !room_for_close_up(shots, i) {
            return;
        }
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

/// Whether a close-up of `who` may follow the beat's `shots`: fewer than
/// [`MAX_CLOSE_UP_RUN`] close-ups just before it, and not one of the same face.
fn room_for_close_up(shots: &[ShotPlan], who: usize) -> bool {
    let run = shots
        .iter()
        .rev()
        .take_while(|shot| shot.shot == ShotType::CloseUp)
        .count();
    let same_face = shots.last().is_some_and(|last| {
        last.shot == ShotType::CloseUp && last.actors.iter().any(|actor| actor.cast == who)
    });
    run < MAX_CLOSE_UP_RUN && !same_face
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
