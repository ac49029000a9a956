//! A Fountain screenplay parser: text in, a flat list of screenplay elements out, each with
//! the line it starts on.
//!
//! Written by hand because the `fountain` crate (0.1) covers only part of the syntax: it has
//! no boneyard, notes, dual dialogue, forced elements or line numbers for messages. This
//! parser follows the Fountain 1.1 syntax page and never fails: text it cannot classify is
//! action, as in every Fountain app.

/// One element of a screenplay.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// `Key: value` pairs from the title page, in order; multi-line values joined by `\n`.
    TitlePage(Vec<(String, String)>),
    /// `INT. LIGHTHOUSE - NIGHT`, without a forcing `.` or a `#scene number#`.
    SceneHeading(String),
    /// A paragraph of action, lines joined by `\n`.
    Action(String),
    /// A character cue and what they say.
    Dialogue(DialogueBlock),
    /// `CUT TO:` and other transitions.
    Transition(String),
    /// `> THE END <`.
    Centered(String),
    /// `# Act one`; the level is the number of `#`.
    Section(usize, String),
    /// `= a one-line summary`.
    Synopsis(String),
    /// `~ sung words`.
    Lyrics(String),
    /// `===`.
    PageBreak,
}

/// A character cue followed by parentheticals and speech.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogueBlock {
    /// The name as cued, without extension or forcing `@`.
    pub name: String,
    /// `V.O.`, `O.S.`, `CONT'D`: the cue's parenthesised extensions, joined by a space.
    pub extension: Option<String>,
    /// The cue ends in `^`: spoken at the same time as the previous block.
    pub dual: bool,
    /// Speech and parentheticals in order.
    pub parts: Vec<DialoguePart>,
}

/// A piece of a dialogue block.
#[derive(Debug, Clone, PartialEq)]
pub enum DialoguePart {
    /// `(whispering)`, without the brackets.
    Parenthetical(String),
    /// Spoken words; lines of one speech joined by `\n`.
    Speech(String),
}

/// An element and the line (from 1) it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Line number in the original text, from 1.
    pub line: usize,
    /// What is there.
    pub element: Element,
}

/// Something the parser had to guess about.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseWarning {
    /// Line number, from 1.
    pub line: usize,
    /// What happened.
    pub message: String,
}

/// A parsed screenplay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Screenplay {
    /// Elements in order.
    pub elements: Vec<Located>,
    /// Unclosed comments and the like.
    pub warnings: Vec<ParseWarning>,
}

/// Parses Fountain text. Never fails and never panics; see the module docs.
pub fn parse(text: &str) -> Screenplay {
    let mut warnings = Vec::new();
    let lines = strip_comments(text, &mut warnings);
    let mut elements = Vec::new();
    let body_start = title_page(&lines, &mut elements);
    Body {
        lines: &lines[body_start..],
        at: 0,
        elements,
    }
    .parse_into(warnings)
}

/// A line of text and its original line number.
#[derive(Debug, Clone)]
struct Line {
    number: usize,
    text: String,
}

impl Line {
    fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }
}

/// Removes boneyard (`/* */`) and notes (`[[ ]]`), which may span lines, keeping line
/// numbers. A line that held only a comment disappears instead of becoming blank, so a
/// note inside a paragraph does not split it.
fn strip_comments(text: &str, warnings: &mut Vec<ParseWarning>) -> Vec<Line> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines = Vec::new();
    let mut open: Option<(&str, usize)> = None; // closing marker, line opened
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let mut kept = String::new();
        let mut had_comment = open.is_some();
        let mut rest = raw;
        loop {
            if let Some((close, _)) = open {
                match rest.find(close) {
                    Some(end) => {
                        rest = &rest[end + close.len()..];
                        open = None;
                    }
                    None => break,
                }
            }
            let boneyard = rest.find("/*");
            let note = rest.find("[[");
            let (start, close) = match (boneyard, note) {
                (Some(b), Some(n)) if n < b => (n, "]]"),
                (Some(b), _) => (b, "*/"),
                (None, Some(n)) => (n, "]]"),
                (None, None) => {
                    kept.push_str(rest);
                    break;
                }
            };
            kept.push_str(&rest[..start]);
            rest = &rest[start + 2..];
            open = Some((close, number));
            had_comment = true;
        }
        if had_comment && kept.trim().is_empty() && !raw.trim().is_empty() {
            continue;
        }
        lines.push(Line { number, text: kept });
    }
    if let Some((close, line)) = open {
        let what = if close == "*/" {
            "boneyard `/*` has no closing `*/`"
        } else {
            "note `[[` has no closing `]]`"
        };
        warnings.push(ParseWarning {
            line,
            message: format!("{what}; everything after it was ignored"),
        });
    }
    lines
}

/// Reads a title page if the text starts with `Key: value`; returns where the body starts.
fn title_page(lines: &[Line], elements: &mut Vec<Located>) -> usize {
    let first = lines.iter().position(|l| !l.is_blank()).unwrap_or(0);
    if lines.get(first).and_then(|l| title_key(&l.text)).is_none() {
        return 0;
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut at = first;
    while let Some(line) = lines.get(at) {
        if line.is_blank() {
            break;
        }
        if let Some((key, value)) = title_key(&line.text) {
            fields.push((key.to_owned(), value.trim().to_owned()));
        } else if let Some((_, value)) = fields.last_mut() {
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(line.text.trim());
        }
        at += 1;
    }
    elements.push(Located {
        line: lines[first].number,
        element: Element::TitlePage(fields),
    });
    at
}

/// `Key: value` at the start of an unindented line; keys are words and spaces.
fn title_key(text: &str) -> Option<(&str, &str)> {
    if text.starts_with([' ', '\t']) {
        return None;
    }
    let (key, value) = text.split_once(':')?;
    let is_key = !is_transition(text.trim())
        && !key.is_empty()
        && key.len() <= 40
        && key.starts_with(|c: char| c.is_alphabetic())
        && key.chars().all(|c| c.is_alphanumeric() || c == ' ');
    is_key.then_some((key, value))
}

struct Body<'a> {
    lines: &'a [Line],
    at: usize,
    elements: Vec<Located>,
}

impl Body<'_> {
    fn parse_into(mut self, warnings: Vec<ParseWarning>) -> Screenplay {
        let mut previous_blank = true;
        while self.at < self.lines.len() {
            let line = &self.lines[self.at];
            if line.is_blank() {
                previous_blank = true;
                self.at += 1;
                continue;
            }
            self.element(previous_blank);
            previous_blank = false;
        }
        Screenplay {
            elements: self.elements,
            warnings,
        }
    }

    fn next_is_blank(&self) -> bool {
        self.lines
            .get(self.at + 1)
            .is_none_or(|l| l.text.trim().is_empty())
    }

    fn push(&mut self, line: usize, element: Element) {
        self.elements.push(Located { line, element });
    }

    /// Classifies the non-blank line at `self.at` and consumes the element it starts.
    fn element(&mut self, previous_blank: bool) {
        let line = &self.lines[self.at];
        let number = line.number;
        let text = line.text.trim_end();
        let trimmed = text.trim();

        if trimmed.len() >= 3 && trimmed.chars().all(|c| c == '=') {
            self.at += 1;
            return self.push(number, Element::PageBreak);
        }
        if let Some(rest) = trimmed.strip_prefix('#') {
            let level = 1 + rest.chars().take_while(|&c| c == '#').count();
            let title = rest.trim_start_matches('#').trim().to_owned();
            self.at += 1;
            return self.push(number, Element::Section(level, title));
        }
        if let Some(rest) = trimmed.strip_prefix('=') {
            self.at += 1;
            return self.push(number, Element::Synopsis(rest.trim().to_owned()));
        }
        if let Some(rest) = trimmed.strip_prefix('~') {
            self.at += 1;
            return self.push(number, Element::Lyrics(rest.trim().to_owned()));
        }
        if let Some(inner) = trimmed.strip_prefix('>').and_then(|t| t.strip_suffix('<')) {
            self.at += 1;
            return self.push(number, Element::Centered(inner.trim().to_owned()));
        }
        if let Some(rest) = trimmed.strip_prefix('>') {
            self.at += 1;
            return self.push(number, Element::Transition(rest.trim().to_owned()));
        }
        if let Some(rest) = trimmed.strip_prefix('.')
            && rest.starts_with(|c: char| c.is_alphanumeric())
        {
            self.at += 1;
            return self.push(number, Element::SceneHeading(strip_scene_number(rest)));
        }
        if previous_blank && is_scene_heading(trimmed) {
            self.at += 1;
            return self.push(number, Element::SceneHeading(strip_scene_number(trimmed)));
        }
        if previous_blank && self.next_is_blank() && is_transition(trimmed) {
            self.at += 1;
            return self.push(number, Element::Transition(trimmed.to_owned()));
        }
        if let Some(forced) = trimmed.strip_prefix('!') {
            return self.action(Some(forced));
        }
        if previous_blank && !self.next_is_blank() && is_character_cue(trimmed) {
            return self.dialogue();
        }
        self.action(None)
    }

    /// Action: lines up to the next blank line. `first` replaces the first line's text
    /// (a forced `!` line without its `!`).
    fn action(&mut self, first: Option<&str>) {
        let number = self.lines[self.at].number;
        let mut paragraph: Vec<String> = Vec::new();
        while let Some(line) = self.lines.get(self.at) {
            if line.is_blank() {
                break;
            }
            let text = match (paragraph.is_empty(), first) {
                (true, Some(forced)) => forced,
                _ => line.text.strip_prefix('!').unwrap_or(&line.text),
            };
            paragraph.push(text.trim_end().to_owned());
            self.at += 1;
        }
        self.push(number, Element::Action(paragraph.join("\n")));
    }

    /// A cue and the dialogue under it, up to a blank line. A line of exactly two spaces
    /// keeps the speech going, as the syntax allows.
    fn dialogue(&mut self) {
        let cue_line = &self.lines[self.at];
        let number = cue_line.number;
        let mut cue = cue_line.text.trim();
        let dual = cue.ends_with('^');
        cue = cue.trim_end_matches('^').trim_end();
        cue = cue.strip_prefix('@').unwrap_or(cue);
        let (name, extension) = split_extension(cue);
        self.at += 1;

        let mut parts: Vec<DialoguePart> = Vec::new();
        while let Some(line) = self.lines.get(self.at) {
            let intentional_blank = line.text == "  ";
            if line.is_blank() && !intentional_blank {
                break;
            }
            let text = line.text.trim();
            if text.starts_with('(') && text.ends_with(')') && text.len() >= 2 {
                let inner = text[1..text.len() - 1].trim().to_owned();
                parts.push(DialoguePart::Parenthetical(inner));
            } else if let Some(DialoguePart::Speech(speech)) = parts.last_mut() {
                speech.push('\n');
                speech.push_str(text);
            } else {
                parts.push(DialoguePart::Speech(text.to_owned()));
            }
            self.at += 1;
        }
        self.push(
            number,
            Element::Dialogue(DialogueBlock {
                name,
                extension,
                dual,
                parts,
            }),
        );
    }
}

/// `INT.`, `EXT.`, `EST.`, `INT./EXT.`, `INT/EXT.`, `I/E` followed by a space or dot.
pub fn is_scene_heading(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    ["INT./EXT", "INT/EXT", "I/E", "INT", "EXT", "EST"]
        .iter()
        .any(|prefix| {
            upper
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(['.', ' ']))
        })
}

/// Drops a trailing `#1A#` scene number.
fn strip_scene_number(heading: &str) -> String {
    let heading = heading.trim();
    if heading.ends_with('#')
        && let Some(open) = heading[..heading.len() - 1].rfind('#')
    {
        return heading[..open].trim_end().to_owned();
    }
    heading.to_owned()
}

/// An upper-case line ending in `TO:`, alone in its paragraph.
fn is_transition(text: &str) -> bool {
    text.ends_with("TO:") && is_upper_case(text)
}

/// A cue is upper case with at least one letter, perhaps with a lower-case extension in
/// brackets, or forced with `@`.
fn is_character_cue(text: &str) -> bool {
    if text.starts_with('@') {
        return text.len() > 1;
    }
    let text = text.trim_end_matches('^').trim_end();
    let (name, _) = split_extension(text);
    !name.is_empty()
        && is_upper_case(&name)
        && !name.ends_with(':')
        && name.chars().any(|c| c.is_alphabetic())
}

fn is_upper_case(text: &str) -> bool {
    text.chars().any(|c| c.is_alphabetic()) && !text.chars().any(|c| c.is_lowercase())
}

/// `MARA (V.O.) (CONT'D)` → (`MARA`, `V.O. CONT'D`).
fn split_extension(cue: &str) -> (String, Option<String>) {
    let Some(open) = cue.find('(') else {
        return (cue.trim().to_owned(), None);
    };
    let name = cue[..open].trim().to_owned();
    let extensions: Vec<&str> = cue[open..]
        .split(['(', ')'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let extension = (!extensions.is_empty()).then(|| extensions.join(" "));
    (name, extension)
}

/// Removes emphasis markers (`*italic*`, `**bold**`, `_underline_`) and resolves backslash
/// escapes, leaving the words.
pub fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '*' | '_' => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Vec<Element> {
        parse(text)
            .elements
            .into_iter()
            .map(|l| l.element)
            .collect()
    }

    #[test]
    fn title_page_with_indented_values() {
        let text = "Title: The Keepers\nCredit: written by\nAuthor:\n    Ana\n    Ben\n\nEXT. PIER - DAY\n";
        let parsed = elements(text);
        assert_eq!(
            parsed[0],
            Element::TitlePage(vec![
                ("Title".into(), "The Keepers".into()),
                ("Credit".into(), "written by".into()),
                ("Author".into(), "Ana\nBen".into()),
            ])
        );
        assert_eq!(parsed[1], Element::SceneHeading("EXT. PIER - DAY".into()));
    }

    #[test]
    fn scene_heading_kinds_forced_and_numbered() {
        for heading in [
            "INT. HOUSE - DAY",
            "EXT. ROAD",
            "INT./EXT. CAR - NIGHT",
            "INT/EXT. CAR",
            "I/E CAR",
            "est. city",
        ] {
            assert!(is_scene_heading(heading), "{heading}");
        }
        assert!(!is_scene_heading("INTERIOR DESIGN"));
        assert!(!is_scene_heading("EXTRA"));
        let parsed = elements("\n.SNIPER SCOPE POV\n\nINT. HOUSE - DAY #12A#\n");
        assert_eq!(
            parsed,
            vec![
                Element::SceneHeading("SNIPER SCOPE POV".into()),
                Element::SceneHeading("INT. HOUSE - DAY".into()),
            ]
        );
        assert_eq!(
            elements("..not a heading"),
            vec![Element::Action("..not a heading".into())]
        );
    }

    #[test]
    fn dialogue_with_extension_parenthetical_and_dual() {
        let text = "MARA (V.O.)\n(quietly)\nThe lamp is out.\nAgain.\n\nLEO ^\nNo!\n";
        let parsed = elements(text);
        assert_eq!(
            parsed[0],
            Element::Dialogue(DialogueBlock {
                name: "MARA".into(),
                extension: Some("V.O.".into()),
                dual: false,
                parts: vec![
                    DialoguePart::Parenthetical("quietly".into()),
                    DialoguePart::Speech("The lamp is out.\nAgain.".into()),
                ],
            })
        );
        let Element::Dialogue(leo) = &parsed[1] else {
            panic!("{parsed:?}")
        };
        assert!(leo.dual);
        assert_eq!(leo.name, "LEO");
    }

    #[test]
    fn forced_cue_and_lower_case_names() {
        let parsed = elements("@McCLANE\nYippee.\n");
        let Element::Dialogue(block) = &parsed[0] else {
            panic!("{parsed:?}")
        };
        assert_eq!(block.name, "McCLANE");
    }

    #[test]
    fn an_upper_case_line_with_nothing_under_it_is_action() {
        assert_eq!(
            elements("BANG!\n\nShe runs."),
            vec![
                Element::Action("BANG!".into()),
                Element::Action("She runs.".into())
            ]
        );
    }

    #[test]
    fn transitions_centred_page_breaks_sections_synopses_lyrics() {
        let text = "CUT TO:\n\n> FADE OUT.\n\n> THE END <\n\n===\n\n# Act One\n\n## Arrival\n\n= Mara arrives.\n\n~ la la la\n";
        assert_eq!(
            elements(text),
            vec![
                Element::Transition("CUT TO:".into()),
                Element::Transition("FADE OUT.".into()),
                Element::Centered("THE END".into()),
                Element::PageBreak,
                Element::Section(1, "Act One".into()),
                Element::Section(2, "Arrival".into()),
                Element::Synopsis("Mara arrives.".into()),
                Element::Lyrics("la la la".into()),
            ]
        );
    }

    #[test]
    fn boneyard_and_notes_are_removed_keeping_line_numbers() {
        let text = "/* cut\nscene */\nEXT. PIER - DAY\n\nMara [[check name]] walks.\n[[a note alone]]\nShe waves.\n";
        let parsed = parse(text);
        assert_eq!(parsed.elements[0].line, 3);
        assert_eq!(
            parsed.elements[0].element,
            Element::SceneHeading("EXT. PIER - DAY".into())
        );
        assert_eq!(parsed.elements[1].line, 5);
        assert_eq!(
            parsed.elements[1].element,
            Element::Action("Mara  walks.\nShe waves.".into())
        );
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn an_unclosed_boneyard_is_a_warning() {
        let parsed = parse("Walks.\n\n/* forever\n\nmore");
        assert_eq!(parsed.elements.len(), 1);
        assert_eq!(parsed.warnings[0].line, 3);
    }

    #[test]
    fn emphasis_is_removed_and_escapes_kept() {
        assert_eq!(
            plain_text("**Bold** *it* _under_ \\*star\\*"),
            "Bold it under *star*"
        );
    }

    #[test]
    fn intentional_blank_keeps_dialogue_together() {
        let parsed = elements("MARA\nFirst.\n  \nSecond.\n");
        let Element::Dialogue(block) = &parsed[0] else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            block.parts,
            vec![DialoguePart::Speech("First.\n\nSecond.".into())]
        );
    }

    #[test]
    fn windows_line_endings() {
        assert_eq!(
            elements("INT. HOUSE - DAY\r\n\r\nShe sits.\r\n"),
            vec![
                Element::SceneHeading("INT. HOUSE - DAY".into()),
                Element::Action("She sits.".into()),
            ]
        );
    }
}
