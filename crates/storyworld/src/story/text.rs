//! The words of a film: what templates may refer to, ways to name places and times,
//! template expansion, and the tables of description templates and dialogue lines.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Event, capitalise, pick};
use crate::world::{Location, TimeOfDay};

/// What a template can refer to.
#[derive(Debug, Clone)]
pub(super) struct Words {
    /// The subject's name (`{a}`).
    pub(super) a: String,
    /// The other's name (`{b}`).
    pub(super) b: String,
    /// Everyone's names, "A, B and C" (`{group}`).
    pub(super) group: String,
    /// Whether the group is more than one, for verb agreement (`{s}`, `{es}`).
    pub(super) plural: bool,
    /// The scene's place (`{place}`, `{at}`, `{into}`).
    pub(super) place: Location,
    /// Where the group is going (`{dest}`).
    pub(super) destination: Location,
    /// The scene's time of day (`{when}`).
    pub(super) time: TimeOfDay,
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
            "into" => pick(rng, place_phrases(self.place)).2.to_owned(),
            "dest" => format!("the {}", self.destination.name()),
            "when" => self.when(rng),
            _ => return None,
        };
        let capital = key.starts_with(|c: char| c.is_ascii_uppercase());
        Some(if capital { capitalise(&word) } else { word })
    }

    /// A phrase for the time of day.
    pub(super) fn when(&self, rng: &mut ChaCha8Rng) -> String {
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

/// Ways to name a place: (noun phrase, "at" phrase, "into" phrase), the plain name first.
fn place_phrases(place: Location) -> &'static [(&'static str, &'static str, &'static str)] {
    match place {
        Location::Harbour => &[
            ("the harbour", "at the harbour", "into the harbour"),
            ("the quay", "on the quay", "onto the quay"),
        ],
        Location::Beach => &[
            ("the beach", "on the beach", "onto the beach"),
            ("the shore", "on the shore", "down to the shore"),
        ],
        Location::Forest => &[
            ("the forest", "in the forest", "into the forest"),
            ("the woods", "in the woods", "into the woods"),
        ],
        Location::Village => &[
            ("the village", "in the village", "into the village"),
            (
                "the village street",
                "in the village street",
                "into the village street",
            ),
        ],
        Location::Meadow => &[
            ("the meadow", "in the meadow", "into the meadow"),
            ("the hills", "on the hills", "up the hills"),
        ],
        Location::Kitchen => &[("the kitchen", "in the kitchen", "into the kitchen")],
        Location::Library => &[
            ("the library", "in the library", "into the library"),
            (
                "the reading room",
                "in the reading room",
                "into the reading room",
            ),
        ],
        Location::Lighthouse => &[
            ("the lighthouse", "at the lighthouse", "into the lighthouse"),
            ("the lamp room", "in the lamp room", "up into the lamp room"),
        ],
    }
}

/// Fills a template: `[x|y|z]` picks one alternative (which may hold keys), `{key}`
/// inserts a word from `words`. An unknown key is left as written.
pub(super) fn expand(rng: &mut ChaCha8Rng, template: &str, words: &Words) -> String {
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
pub(super) fn dialogue_lines(event: Event) -> (&'static [&'static str], &'static [&'static str]) {
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
// with the group; `{place}`, `{at}`, `{into}`, `{dest}` and `{when}` name places
// and times.

pub(super) const ESTABLISH: &[&str] = &[
    "{Place} {when}. [All is quiet|Nobody is about|Nothing stirs].",
    "[A wide view of|A view across|Wide on] {place} {when}.",
    "{When}, {place} [lies quiet|is empty|waits].",
    "{Place}, [empty|quiet|still], {when}.",
    "[Establishing shot|Opening shot]: {place} {when}.",
];

pub(super) const ARRIVE: &[&str] = &[
    "{a} [walks|wanders|strolls|hurries] {into}.",
    "{a} arrives {at}.",
    "{Into} [comes|walks|steps] {a}.",
    "{a} [comes|steps] {into}, looking around.",
    "{When}, {a} [walks|comes] {into}.",
    "{a} [turns up|shows up] {at} {when}.",
    "[Here comes|In walks] {a}, [at last|unannounced|right on time].",
];

pub(super) const ARRIVE_REACTION: &[&str] = &[
    "Close on {a}, who [looks up|turns round|notices {b}].",
    "{a} [sees|spots|notices] {b} come in.",
    "A close-up of {a}, [surprised|curious|glad] to see {b}.",
];

pub(super) const LEAVE: &[&str] = &[
    "{a} [leaves|walks away from|slips away from] {place}.",
    "{a} turns and walks away.",
    "[Without a word|Quietly|Suddenly], {a} leaves {place}.",
    "{a} heads off, leaving {place} behind.",
    "Away from {place} goes {a}.",
    "{a} [walks|wanders] off {when}.",
];

pub(super) const LEAVE_REACTION: &[&str] = &[
    "Close on {a}, watching {b} go.",
    "{a} [watches|stares after] {b}.",
    "A close-up of {a}, [alone now|looking after {b}|sighing].",
];

pub(super) const DEPART: &[&str] = &[
    "{group} set{s} off for {dest}.",
    "{group} leave{s} {place}, heading for {dest}.",
    "Heading for {dest}, {group} walk{s} away from {place}.",
    "{group} start{s} the [long|short] walk to {dest}.",
    "[Off|Away] to {dest}: {group} leave{s} {place}.",
];

pub(super) const ON_THE_WAY: &[&str] = &[
    "{group} walk{s} on towards {dest}.",
    "On the way to {dest}, {group} keep{s} walking.",
    "{group} keep{s} [going|walking|moving].",
    "[Step by step|Steadily|Briskly], {group} walk{s} on.",
];

pub(super) const ARRIVE_TOGETHER: &[&str] = &[
    "{group} walk{s} {into}.",
    "{group} arrive{s} {at} {when}.",
    "{When}, {group} reach{es} {place}.",
    "After the [long|short] walk, {group} come{s} {into}.",
    "[At last|Finally], {group} [arrive{s} {at}|reach{es} {place}].",
    "{Into} walk{s} {group}.",
];

pub(super) const MEET: &[&str] = &[
    "{a} waves at {b} across {place}.",
    "{a} [spots|notices] {b} and waves.",
    "{a} and {b} meet for the first time.",
    "For the first time, {a} [meets|comes face to face with] {b}.",
    "{a} greets {b}, a stranger {at}.",
    "{When}, {a} [meets|runs into] {b} {at}.",
    "{a} waves hello to {b}.",
];

pub(super) const MEET_REACTION: &[&str] = &[
    "Close on {a}, [surprised|curious|smiling shyly].",
    "{a} looks at {b} [curiously|warily|with a smile].",
    "A close-up of {a}, who [waves back|smiles|nods].",
];

pub(super) const MEET_AFTER: &[&str] = &[
    "{a} and {b} [introduce themselves|exchange names|say hello].",
    "{a} says hello to {b}.",
    "Now {a} and {b} [know each other|are acquainted].",
];

pub(super) const TALK: &[&str] = &[
    "{a} [chats|talks] with {b}.",
    "{b} listens as {a} talks.",
    "{a} and {b} [talk|chat] {when}.",
    "{a} leans in and talks to {b}.",
    "{At}, {a} talks to {b}.",
    "{a} tells {b} [a story|the news|about the day].",
    "Deep in conversation, {a} talks with {b} {at}.",
];

pub(super) const TALK_SPEAKER: &[&str] = &[
    "Close on {a}, [talking|speaking|explaining].",
    "{a}, in close-up, [talks|goes on talking|explains].",
    "A close-up of {a} telling {b} [everything|the plan|a secret].",
];

pub(super) const TALK_LISTENER: &[&str] = &[
    "Close on {a}, [listening|nodding|thinking it over].",
    "{a} listens to {b} [closely|carefully|with a frown].",
    "A close-up of {a}, who [nods|smiles|raises an eyebrow].",
];

pub(super) const ARGUE: &[&str] = &[
    "{a} argues with {b}.",
    "{a} and {b} [argue|quarrel|bicker] {at}.",
    "{a} [shouts|snaps] at {b}.",
    "Voices rise: {a} and {b} are arguing.",
    "{a} [points at|glares at] {b} and argues.",
    "{When}, {a} and {b} fall out.",
];

pub(super) const ARGUE_SPEAKER: &[&str] = &[
    "Close on {a}, [furious|red in the face|shouting].",
    "{a} [shouts|snaps back] in close-up.",
    "A close-up of {a}, [angry|fuming] at {b}.",
];

pub(super) const ARGUE_LISTENER: &[&str] = &[
    "Close on {a}, [hurt|frowning|offended].",
    "{a} glares back at {b}.",
    "A close-up of {a}, [stung|silent|fuming].",
];

pub(super) const CHASE: &[&str] = &[
    "{a} chases {b} across {place}.",
    "{b} runs, with {a} close behind.",
    "{a} [races|dashes|runs] after {b}.",
    "Across {place}, {a} chases {b}.",
    "{b} [flees|runs off] {at}, {a} in pursuit.",
    "{When}, {a} [chases|runs after] {b}.",
];

pub(super) const CHASE_ON: &[&str] = &[
    "{a} [gains on|closes in on] {b}.",
    "{b} runs on, {a} just behind.",
    "Still running, {a} [is catching up with|gains on] {b}.",
];

pub(super) const CELEBRATE: &[&str] = &[
    "{group} celebrate{s} {at}.",
    "{group} cheer{s} [loudly|happily|and laugh{s}].",
    "{When}, {group} celebrate{s} {at}.",
    "[Cheers|Joy|Laughter] {at}: {group} celebrate{s}.",
    "{group} [celebrate{s}|rejoice{s}] {when}.",
];

pub(super) const FOUND: &[&str] = &[
    "{a} has found {b} at last!",
    "At last, {a} and {b} are together.",
    "{a} cheers: {b} is here at last.",
    "[Overjoyed|Delighted], {a} greets {b}.",
];

pub(super) const REACHED: &[&str] = &[
    "{a} has reached {place} at last!",
    "At last {a} is {at}, and celebrates.",
    "{a} cheers: {place}, at last!",
    "[Overjoyed|Delighted], {a} [cheers|rejoices] {at}.",
];

pub(super) const GATHERED: &[&str] = &[
    "Friends [together|gathered], {group} celebrate{s}.",
    "Everyone is here: {group} cheer{s}.",
    "{group} celebrate{s} being together {at}.",
];

pub(super) const CELEBRATE_CLOSE: &[&str] = &[
    "Close on {a}, [beaming|laughing|grinning].",
    "{a}, in close-up, [laughs|cheers|beams].",
    "A close-up of {a}, [overjoyed|delighted].",
];

pub(super) const REST: &[&str] = &[
    "{group} sit{s} down to rest {at}.",
    "{group} rest{s} for a while.",
    "{When}, {group} sit{s} quietly {at}.",
    "Tired, {group} sit{s} down.",
    "{group} take{s} a break {at}.",
    "{At}, {group} sit{s} and rest{s}.",
];

pub(super) const REST_CLOSE: &[&str] = &[
    "Close on {a}, [resting|half asleep|deep in thought].",
    "{a} [yawns|sighs] and rests.",
    "A close-up of {a}, sitting [quietly|still].",
];

// Dialogue. `{a}` is the speaker, `{b}` the one spoken to.

pub(super) const MEET_LINES: &[&str] = &[
    "Have we met before?",
    "Hello there! I'm {a}.",
    "I don't think we've met.",
    "Who might you be?",
    "Nice to meet you!",
    "I'm {a}. And you are?",
];

pub(super) const MEET_REPLIES: &[&str] = &[
    "I'm {a}. Pleased to meet you.",
    "Hello!",
    "Nice to meet you too.",
];

pub(super) const TALK_LINES: &[&str] = &[
    "Have you been {at} long?",
    "I was hoping to find you here, {b}.",
    "What do you make of it, {b}?",
    "Listen, I have an idea.",
    "Tell me everything.",
    "It's lovely {at} {when}.",
    "Where are the others?",
];

pub(super) const TALK_REPLIES: &[&str] = &[
    "Really?",
    "I know what you mean.",
    "Go on.",
    "Hmm, maybe.",
    "Of course!",
];

pub(super) const ARGUE_LINES: &[&str] = &[
    "You never listen!",
    "That's not what you said!",
    "How could you, {b}?",
    "This is all your fault!",
    "Leave me alone!",
    "I'm not going anywhere!",
];

pub(super) const ARGUE_REPLIES: &[&str] = &[
    "No, you never listen!",
    "Fine!",
    "That's not fair!",
    "Me? What about you?",
];

pub(super) const CELEBRATE_LINES: &[&str] = &[
    "We did it!",
    "Hooray!",
    "At last!",
    "What a day!",
    "This calls for a party!",
];

pub(super) const CELEBRATE_REPLIES: &[&str] = &["Hooray!", "Best day ever!", "We did it!"];
