//! Importing Fountain screenplays into scripts.
//!
//! Each scene heading becomes a scene, each action paragraph a shot, dialogue attaches to
//! the shot before it, and the cast comes from character cues and from the capitalised
//! first mentions screenwriters give new characters in action (`MARA (30s), a keeper`).
//! What a screenplay does not say — shot types, positions — is guessed and can be edited in
//! the YAML the import writes. Messy input imports with warnings; it never fails.

mod parse;

use std::collections::HashMap;
use std::path::Path;

pub use parse::{DialogueBlock, DialoguePart, Element, Located, Screenplay, parse, plain_text};

use crate::diagnostic::{Diagnostic, Location, SourceMap};
use crate::limits::{MAX_CHARACTERS, MAX_SHOTS, MAX_TEXT_CHARS};
use crate::model::{
    Character, DialogueLine, Scene, SceneHeading, Script, Setting, Shot, ShotCharacter, ShotType,
    Style,
};

/// The result of importing a screenplay.
#[derive(Debug, Clone)]
pub struct Import {
    /// The script made from it.
    pub script: Script,
    /// Lines of scenes, shots, cast and dialogue in the screenplay.
    pub source_map: SourceMap,
    /// What had to be guessed, dropped or cut.
    pub warnings: Vec<Diagnostic>,
}

/// Imports Fountain text. `file` names the screenplay in warnings and gives the title when
/// the title page has none.
pub fn import_str(text: &str, file: &Path) -> Import {
    let screenplay = parse(text);
    let mut importer = Importer {
        file,
        script: Script {
            title: String::new(),
            style: Style::default(),
            characters: Vec::new(),
            scenes: Vec::new(),
        },
        source_map: SourceMap::default(),
        warnings: Vec::new(),
        shot_count: 0,
        names: HashMap::new(),
    };
    for warning in &screenplay.warnings {
        importer.warn(warning.line, String::new(), warning.message.clone());
    }
    importer.cast(&screenplay.elements);
    for located in &screenplay.elements {
        importer.element(located);
    }
    importer.finish()
}

struct Importer<'a> {
    file: &'a Path,
    script: Script,
    source_map: SourceMap,
    warnings: Vec<Diagnostic>,
    shot_count: usize,
    /// Upper-case cue name → character id.
    names: HashMap<String, String>,
}

impl Importer<'_> {
    fn warn(&mut self, line: usize, field: String, message: String) {
        let mut warning = Diagnostic::warning(self.file, &SourceMap::default(), field, message);
        warning.location = Some(Location { line, column: 1 });
        self.warnings.push(warning);
    }

    fn mark(&mut self, field: String, line: usize) {
        self.source_map.insert(field, Location { line, column: 1 });
    }

    /// Collects the cast, in order of first appearance, from cues and from capitalised
    /// introductions in action.
    fn cast(&mut self, elements: &[Located]) {
        for located in elements {
            match &located.element {
                Element::Dialogue(block) => {
                    self.add_character(&block.name, String::new(), located.line);
                }
                Element::Action(text) => {
                    for (name, sentence) in introductions(text) {
                        self.add_character(&name, sentence, located.line);
                    }
                }
                _ => {}
            }
        }
    }

    fn add_character(&mut self, name: &str, description: String, line: usize) {
        let key = plain_text(name).trim().to_uppercase();
        if key.is_empty() {
            return;
        }
        if let Some(id) = self.names.get(&key) {
            // A cue seen before its introduction: keep the description when it comes.
            if let Some(c) = self.script.characters.iter_mut().find(|c| &c.id == id)
                && c.description.is_empty()
            {
                c.description = description;
            }
            return;
        }
        if self.script.characters.len() >= MAX_CHARACTERS {
            self.warn(
                line,
                "characters".into(),
                format!(
                    "more than {MAX_CHARACTERS} characters; \"{name}\" and later ones were left out"
                ),
            );
            self.names.insert(key, String::new());
            return;
        }
        let id = self.unique_id(&key);
        self.names.insert(key.clone(), id.clone());
        self.mark(
            format!("characters[{}]", self.script.characters.len()),
            line,
        );
        self.script.characters.push(Character {
            id,
            name: Some(display_name(name)),
            description: clip(description),
            faces: Vec::new(),
            full_body: Vec::new(),
        });
    }

    fn unique_id(&self, name: &str) -> String {
        let base = slug(name);
        let mut id = base.clone();
        let mut n = 2;
        while self.script.characters.iter().any(|c| c.id == id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        id
    }

    fn element(&mut self, located: &Located) {
        let line = located.line;
        match &located.element {
            Element::TitlePage(fields) => {
                for (key, value) in fields {
                    if key.eq_ignore_ascii_case("title") {
                        self.script.title = plain_text(&value.replace('\n', " "));
                    }
                }
            }
            Element::SceneHeading(text) => self.scene(text, line),
            Element::Action(text) => self.action(text, line),
            Element::Lyrics(_) => self.warn(
                line,
                String::new(),
                "lyrics are not filmed; describe the singing in an action line to show it".into(),
            ),
            Element::Dialogue(block) => self.dialogue(block, line),
            // Cuts are what scene changes already do; the rest is for readers, not cameras.
            Element::Transition(_)
            | Element::Centered(_)
            | Element::Section(..)
            | Element::Synopsis(_)
            | Element::PageBreak => {}
        }
    }

    fn scene(&mut self, text: &str, line: usize) {
        let mut heading = parse_heading(&plain_text(text));
        if heading.time.as_deref().is_some_and(is_continuity) {
            let previous = self.script.scenes.last();
            heading.time = previous.and_then(|scene| scene.heading.time.clone());
        }
        self.mark(format!("scenes[{}]", self.script.scenes.len()), line);
        self.script.scenes.push(Scene {
            heading,
            shots: Vec::new(),
        });
    }

    /// The scene new shots go into, opening one if the screenplay starts without a heading.
    fn current_scene(&mut self, line: usize) -> usize {
        if self.script.scenes.is_empty() {
            self.warn(
                line,
                "scenes[0]".into(),
                "text before the first scene heading was put in an opening scene".into(),
            );
            self.scene("OPENING", line);
        }
        self.script.scenes.len() - 1
    }

    fn action(&mut self, text: &str, line: usize) {
        if self.shot_count >= MAX_SHOTS {
            if self.shot_count == MAX_SHOTS {
                self.warn(
                    line,
                    "scenes".into(),
                    format!("more than {MAX_SHOTS} shots; the rest of the screenplay was left out"),
                );
                self.shot_count += 1;
            }
            return;
        }
        let description = plain_text(text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if description.is_empty() {
            return;
        }
        let scene = self.current_scene(line);
        let characters: Vec<ShotCharacter> = self
            .script
            .characters
            .iter()
            .filter(|c| mentions(&description, c.display_name()))
            .map(|c| ShotCharacter::new(c.id.clone()))
            .collect();
        let shot = Shot {
            shot: guess_shot_type(&description, characters.len()),
            description: clip(description),
            characters,
            camera: None,
            duration: None,
            dialogue: Vec::new(),
        };
        let shots = &mut self.script.scenes[scene].shots;
        let field = format!("scenes[{scene}].shots[{}]", shots.len());
        shots.push(shot);
        self.shot_count += 1;
        self.mark(field, line);
    }

    fn dialogue(&mut self, block: &DialogueBlock, line: usize) {
        let Some(id) = self
            .names
            .get(&plain_text(&block.name).trim().to_uppercase())
            .filter(|id| !id.is_empty())
            .cloned()
        else {
            return;
        };
        let scene = self.current_scene(line);
        if self.script.scenes[scene].shots.is_empty() {
            let name = self
                .script
                .character(&id)
                .map(|c| c.display_name().to_owned());
            self.action(&format!("{} speaks.", name.unwrap_or_default()), line);
            if self.script.scenes[scene].shots.is_empty() {
                return; // the shot limit was reached
            }
        }
        let shots = &mut self.script.scenes[scene].shots;
        let shot_index = shots.len() - 1;
        let shot = &mut shots[shot_index];
        if !shot.characters.iter().any(|c| c.id == id) {
            shot.characters.push(ShotCharacter::new(id.clone()));
        }
        let mut parenthetical = None;
        let mut first = true;
        let mut marks = Vec::new();
        for part in &block.parts {
            match part {
                DialoguePart::Parenthetical(text) => parenthetical = Some(plain_text(text)),
                DialoguePart::Speech(text) => {
                    marks.push(format!(
                        "scenes[{scene}].shots[{shot_index}].dialogue[{}]",
                        shot.dialogue.len()
                    ));
                    shot.dialogue.push(DialogueLine {
                        character: id.clone(),
                        line: clip(
                            plain_text(text)
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" "),
                        ),
                        parenthetical: parenthetical.take(),
                        extension: block.extension.clone(),
                        simultaneous: block.dual && first,
                    });
                    first = false;
                }
            }
        }
        for field in marks {
            self.mark(field, line);
        }
    }

    fn finish(mut self) -> Import {
        if self.script.title.trim().is_empty() {
            let stem = self
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.script.title = stem.replace(['-', '_'], " ");
            self.warn(
                1,
                "title".into(),
                format!(
                    "no `Title:` on a title page; the film is called \"{}\"",
                    self.script.title
                ),
            );
        }
        for i in 0..self.script.scenes.len() {
            if self.script.scenes[i].shots.is_empty() {
                let location = self.script.scenes[i].heading.location.clone();
                let line = self
                    .source_map
                    .locate(&format!("scenes[{i}]"))
                    .map_or(1, |l| l.line);
                self.script.scenes[i].shots.push(Shot {
                    description: format!("Establishing shot of the {location}."),
                    shot: ShotType::Wide,
                    characters: Vec::new(),
                    camera: None,
                    duration: None,
                    dialogue: Vec::new(),
                });
                self.mark(format!("scenes[{i}].shots[0]"), line);
                self.warn(
                    line,
                    format!("scenes[{i}]"),
                    "the scene has no action; an establishing shot was added".into(),
                );
            }
        }
        Import {
            script: self.script,
            source_map: self.source_map,
            warnings: self.warnings,
        }
    }
}

/// `INT./EXT. HARBOUR MARKET - DUSK` → setting, `harbour market`, `dusk`.
fn parse_heading(text: &str) -> SceneHeading {
    let upper = text.to_ascii_uppercase();
    let prefixes = [
        ("INT./EXT", Setting::InteriorExterior),
        ("INT/EXT", Setting::InteriorExterior),
        ("I/E", Setting::InteriorExterior),
        ("INT", Setting::Interior),
        ("EXT", Setting::Exterior),
        ("EST", Setting::Exterior),
    ];
    let (setting, rest) = prefixes
        .iter()
        .find_map(|(prefix, setting)| {
            upper
                .strip_prefix(prefix)
                .filter(|rest| rest.starts_with(['.', ' ']))
                .map(|_| (*setting, &text[prefix.len()..]))
        })
        .unwrap_or((Setting::Exterior, text));
    let rest = rest.trim_start_matches(['.', ' ']).trim();
    let parts: Vec<String> = rest
        .split(" - ")
        .map(|p| p.trim_matches(['-', ' ']).to_lowercase())
        .collect();
    // `FERRY DECK - NIGHT - CONTINUOUS`: the time is the part naming a time of day, else a
    // continuity word, else the last part; the other parts name the place.
    let is_time = |p: &String| TIMES_OF_DAY.contains(&p.as_str());
    let is_continuity = |p: &String| is_continuity(p);
    let time_at = (1..parts.len())
        .find(|&i| is_time(&parts[i]))
        .or_else(|| (1..parts.len()).find(|&i| is_continuity(&parts[i])))
        .or((parts.len() > 1).then(|| parts.len() - 1));
    let time = time_at.map(|i| parts[i].clone()).filter(|t| !t.is_empty());
    let place = parts
        .iter()
        .enumerate()
        .filter(|(i, p)| Some(*i) != time_at && !(*i > 0 && (is_time(p) || is_continuity(p))))
        .map(|(_, p)| p.as_str())
        .collect::<Vec<_>>()
        .join(" - ");
    let location = if place.is_empty() {
        "unknown place".to_owned()
    } else {
        place
    };
    SceneHeading {
        setting,
        location,
        time,
    }
}

/// Times of day a heading may name.
const TIMES_OF_DAY: &[&str] = &[
    "day",
    "night",
    "dusk",
    "dawn",
    "morning",
    "afternoon",
    "evening",
    "noon",
    "midnight",
    "sunset",
    "sunrise",
    "twilight",
];

/// Heading times that mean "the same time as the scene before".
fn is_continuity(time: &str) -> bool {
    matches!(
        time,
        "continuous" | "later" | "moments later" | "same" | "same time" | "cont'd"
    )
}

/// Words that screenplays capitalise in action without being characters.
const NOT_NAMES: &[&str] = &[
    "A",
    "I",
    "ON",
    "IN",
    "TO",
    "THE",
    "AND",
    "OF",
    "CLOSE",
    "CLOSE-UP",
    "ANGLE",
    "WIDE",
    "POV",
    "INSERT",
    "BACK",
    "SCENE",
    "CONTINUOUS",
    "LATER",
    "FADE",
    "OUT",
    "CUT",
    "SUPER",
    "TITLE",
    "INTERCUT",
    "OS",
    "VO",
    "O.S.",
    "V.O.",
    "CONT'D",
    "END",
    "TV",
    "OK",
    "BANG",
    "BOOM",
    "CRASH",
    "THUD",
    "SLAM",
    "CLICK",
    "RING",
    "BEEP",
    "NO",
    "STOP",
    "HELP",
    "SFX",
    "FX",
    "DAY",
    "NIGHT",
    "MORNING",
    "EVENING",
    "DUSK",
    "DAWN",
    "ESTABLISHING",
    "AERIAL",
    "MONTAGE",
    "FLASHBACK",
];

/// Capitalised introductions in an action paragraph: `MARA (30s), a keeper, climbs.` gives
/// (`MARA`, `MARA (30s), a keeper, climbs.`). A capitalised run counts only when a comma or
/// a bracket follows it, as in an introduction, so sound effects (`a loud BANG.`) do not.
fn introductions(text: &str) -> Vec<(String, String)> {
    let text = plain_text(text).replace('\n', " ");
    let mut found = Vec::new();
    for sentence in sentences(&text) {
        let words: Vec<&str> = sentence.split_whitespace().collect();
        let mut i = 0;
        while i < words.len() {
            let mut run = Vec::new();
            let mut j = i;
            let mut ends_with_comma = false;
            while j < words.len() {
                let word = words[j].trim_end_matches(',');
                let letters = word.trim_matches(|c: char| !c.is_alphabetic());
                let is_name_word = letters.chars().count() >= 2
                    && letters
                        .chars()
                        .all(|c| c.is_uppercase() || c == '\'' || c == '-')
                    && !NOT_NAMES.contains(&letters);
                if !is_name_word || letters.len() != word.len() {
                    break;
                }
                run.push(letters);
                j += 1;
                if words[j - 1].ends_with(',') {
                    ends_with_comma = true;
                    break;
                }
            }
            let bracket_follows = words.get(j).is_some_and(|w| w.starts_with('('));
            if !run.is_empty() && (ends_with_comma || bracket_follows) {
                let after: Vec<&str> = words[j..].to_vec();
                found.push((run.join(" "), introduced_as(&after.join(" "))));
            }
            i = j.max(i + 1);
        }
    }
    found
}

/// What follows a name in an introduction, up to its last comma: `(12), a small girl in a
/// yellow coat, runs in.` → `12, a small girl in a yellow coat`.
fn introduced_as(after_name: &str) -> String {
    let text = after_name.trim().trim_start_matches(',').trim();
    let text = match text.rfind(',') {
        Some(cut) => &text[..cut],
        None => text,
    };
    text.replace(['(', ')'], "")
        .trim_matches([',', ' ', '.'])
        .to_owned()
}

/// Splits text after `.`, `!` or `?` followed by a space.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?') && bytes.get(i + 1) == Some(&b' ') {
            out.push(&text[start..=i]);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Whether `text` mentions `name` as a whole word, ignoring case.
fn mentions(text: &str, name: &str) -> bool {
    let text = text.to_lowercase();
    let name = name.to_lowercase();
    if name.is_empty() {
        return false;
    }
    text.match_indices(&name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Screenplays rarely give shot types; read the usual camera words, else frame people at
/// medium and empty places wide.
fn guess_shot_type(description: &str, people: usize) -> ShotType {
    let upper = description.to_uppercase();
    if [
        "CLOSE ON",
        "CLOSE UP",
        "CLOSE-UP",
        "CLOSEUP",
        "EXTREME CLOSE",
    ]
    .iter()
    .any(|w| upper.starts_with(w))
    {
        ShotType::CloseUp
    } else if ["WIDE", "ESTABLISHING", "AERIAL", "LONG SHOT"]
        .iter()
        .any(|w| upper.starts_with(w))
        || people == 0
    {
        ShotType::Wide
    } else {
        ShotType::Medium
    }
}

/// `OLD TOM` → `old-tom`; ids must start with a letter.
fn slug(name: &str) -> String {
    let mut id = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('-') && !id.is_empty() {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-').to_owned();
    if id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id
    } else {
        format!("character-{id}").trim_end_matches('-').to_owned()
    }
}

/// How to show a cued name: `OLD TOM` → `Old Tom`, while a name already in mixed case
/// (a forced `@McKAY`) keeps it.
fn display_name(name: &str) -> String {
    let name = plain_text(name);
    if name.chars().any(char::is_lowercase) {
        name.trim().to_owned()
    } else {
        title_case(name.trim())
    }
}

/// `OLD TOM` → `Old Tom`.
fn title_case(name: &str) -> String {
    name.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cuts text to the length validation accepts, on a character boundary.
fn clip(text: String) -> String {
    if text.chars().count() <= MAX_TEXT_CHARS {
        text
    } else {
        text.chars().take(MAX_TEXT_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREENPLAY: &str = "\
Title: **The Keepers**
Author: us

EXT. LIGHTHOUSE - DUSK

MARA (30s), a keeper in a red coat, climbs the path. A loud BANG.

MARA
(to herself)
Not again.

LEO
Mara! Wait!

MARA ^
What?

INT. LAMP ROOM - NIGHT

CUT TO:

INT. STAIRS
";

    fn imported() -> Import {
        import_str(SCREENPLAY, Path::new("keepers.fountain"))
    }

    #[test]
    fn title_cast_and_scenes() {
        let import = imported();
        let script = &import.script;
        assert_eq!(script.title, "The Keepers");
        let ids: Vec<&str> = script.characters.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["mara", "leo"]);
        assert_eq!(script.characters[0].name.as_deref(), Some("Mara"));
        assert_eq!(
            script.characters[0].description,
            "30s, a keeper in a red coat"
        );
        assert_eq!(script.scenes.len(), 3);
        assert_eq!(script.scenes[0].heading.setting, Setting::Exterior);
        assert_eq!(script.scenes[0].heading.location, "lighthouse");
        assert_eq!(script.scenes[0].heading.time.as_deref(), Some("dusk"));
        assert_eq!(script.scenes[2].heading.time, None);
        assert_eq!(display_name("McKAY"), "McKAY");
    }

    #[test]
    fn dialogue_attaches_to_the_shot_before_it() {
        let script = imported().script;
        let shot = &script.scenes[0].shots[0];
        assert_eq!(script.scenes[0].shots.len(), 1);
        assert_eq!(shot.dialogue.len(), 3);
        assert_eq!(
            shot.dialogue[0].parenthetical.as_deref(),
            Some("to herself")
        );
        assert_eq!(shot.dialogue[1].character, "leo");
        assert!(shot.dialogue[2].simultaneous);
        let present: Vec<&str> = shot.characters.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(present, ["mara", "leo"]);
    }

    #[test]
    fn empty_scenes_get_an_establishing_shot_and_a_warning() {
        let import = imported();
        let shot = &import.script.scenes[1].shots[0];
        assert_eq!(shot.shot, ShotType::Wide);
        assert!(shot.description.contains("lamp room"));
        let warning = import
            .warnings
            .iter()
            .find(|w| w.field == "scenes[1]")
            .expect("a warning about the empty scene");
        assert_eq!(warning.location.map(|l| l.line), Some(18));
    }

    #[test]
    fn imported_scripts_validate() {
        let import = imported();
        let found = crate::validate::validate(
            &import.script,
            &import.source_map,
            Path::new("keepers.fountain"),
            Path::new("."),
        );
        assert!(!found.iter().any(Diagnostic::is_error), "{found:?}");
    }

    #[test]
    fn headings() {
        let h = parse_heading("INT./EXT. HARBOUR MARKET - DUSK");
        assert_eq!(h.setting, Setting::InteriorExterior);
        assert_eq!(h.location, "harbour market");
        assert_eq!(h.time.as_deref(), Some("dusk"));
        let h = parse_heading("I/E CAR - MOVING - NIGHT");
        assert_eq!(h.location, "car - moving");
        assert_eq!(h.time.as_deref(), Some("night"));
        let h = parse_heading("EXT. FERRY DECK - NIGHT - CONTINUOUS");
        assert_eq!(h.location, "ferry deck");
        assert_eq!(h.time.as_deref(), Some("night"));
        let h = parse_heading("EXT. ROAD - LATER");
        assert_eq!(h.time.as_deref(), Some("later"));
        assert_eq!(parse_heading("INT. -").location, "unknown place");
    }

    #[test]
    fn continuous_scenes_keep_the_time_of_day() {
        let text = "EXT. ROAD - NIGHT\n\nA car.\n\nINT. CAR - CONTINUOUS\n\nA driver.\n";
        let script = import_str(text, Path::new("x.fountain")).script;
        assert_eq!(script.scenes[1].heading.time.as_deref(), Some("night"));
    }

    #[test]
    fn introductions_need_a_comma_or_bracket() {
        let found = introductions("OLD TOM, the ferryman, waves. A loud BANG. SAL (9) runs.");
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["OLD TOM", "SAL"]);
    }

    #[test]
    fn ids_and_names() {
        assert_eq!(slug("OLD TOM"), "old-tom");
        assert_eq!(slug("R2-D2"), "r2-d2");
        assert_eq!(slug("2ND GUARD"), "character-2nd-guard");
        assert_eq!(slug("ÉLODIE"), "lodie");
        assert_eq!(title_case("OLD TOM"), "Old Tom");
    }

    #[test]
    fn text_without_any_heading_goes_into_an_opening_scene() {
        let import = import_str("She walks.\n", Path::new("x.fountain"));
        assert_eq!(import.script.scenes.len(), 1);
        assert_eq!(import.script.title, "x");
        assert!(
            import
                .warnings
                .iter()
                .any(|w| w.message.contains("opening scene"))
        );
    }
}
