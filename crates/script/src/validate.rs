//! Checks a script for everything that would make a film fail or come out wrong, and
//! reports all of it at once.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, SourceMap};
use crate::limits::{
    MAX_CHARACTERS, MAX_REFERENCE_BYTES, MAX_REFERENCE_SIDE, MAX_SHOT_SECONDS, MAX_SHOTS,
    MAX_TEXT_CHARS, MIN_REFERENCE_SIDE,
};
use crate::model::{Script, Shot, ShotType};

/// Every problem in `script`, errors and warnings, in document order.
///
/// `file` names the script in messages; `base_dir` is where relative reference image paths
/// start (the script's folder).
pub fn validate(
    script: &Script,
    source_map: &SourceMap,
    file: &Path,
    base_dir: &Path,
) -> Vec<Diagnostic> {
    let mut check = Checker {
        file,
        source_map,
        found: Vec::new(),
    };
    check.title(script);
    check.characters(script, base_dir);
    check.scenes(script);
    check.found
}

struct Checker<'a> {
    file: &'a Path,
    source_map: &'a SourceMap,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, field: String, message: String, hint: impl Into<String>) {
        let d = Diagnostic::error(self.file, self.source_map, field, message).with_hint(hint);
        self.found.push(d);
    }

    fn warning(&mut self, field: String, message: String, hint: impl Into<String>) {
        let d = Diagnostic::warning(self.file, self.source_map, field, message).with_hint(hint);
        self.found.push(d);
    }

    fn text_length(&mut self, field: String, text: &str) {
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            self.error(
                field,
                format!("{chars} characters of text, over the limit of {MAX_TEXT_CHARS}"),
                "split the text over several shots",
            );
        }
    }

    fn title(&mut self, script: &Script) {
        if script.title.trim().is_empty() {
            self.warning(
                "title".into(),
                "the film has no title".into(),
                "set `title:`; it is shown on the title card and in reports",
            );
        }
        self.text_length("title".into(), &script.title);
        self.text_length("style.description".into(), &script.style.description);
    }

    fn characters(&mut self, script: &Script, base_dir: &Path) {
        if script.characters.len() > MAX_CHARACTERS {
            self.error(
                "characters".into(),
                format!(
                    "{} characters, over the limit of {MAX_CHARACTERS}",
                    script.characters.len()
                ),
                "merge extras into the description of their shots",
            );
        }
        let mut first_index: HashMap<&str, usize> = HashMap::new();
        let mut images = ImageChecks::default();
        for (i, character) in script.characters.iter().enumerate() {
            let field = format!("characters[{i}]");
            let id = character.id.as_str();
            if !is_valid_id(id) {
                self.error(
                    format!("{field}.id"),
                    format!("\"{id}\" is not a valid character id"),
                    "use lower-case letters, digits, '-' and '_', starting with a letter (e.g. \"mara\" or \"old-tom\")",
                );
            }
            if let Some(first) = first_index.insert(id, i) {
                first_index.insert(id, first);
                self.error(
                    format!("{field}.id"),
                    format!("duplicate character id \"{id}\", already used by characters[{first}]"),
                    "give every character its own id",
                );
            }
            self.text_length(format!("{field}.description"), &character.description);
            if character.faces.is_empty() {
                self.warning(
                    format!("{field}.faces"),
                    format!("\"{id}\" has no reference face image; their look will come from the description alone"),
                    "add one face close-up (zero-shot) or several (few-shot) under `faces:`",
                );
            }
            let references = character
                .faces
                .iter()
                .enumerate()
                .map(|(j, p)| (format!("{field}.faces[{j}]"), p))
                .chain(
                    character
                        .full_body
                        .iter()
                        .enumerate()
                        .map(|(j, p)| (format!("{field}.full_body[{j}]"), p)),
                );
            for (field, path) in references {
                if let Err((message, hint)) = images.check(&base_dir.join(path)) {
                    self.error(field, message, hint);
                }
            }
        }
    }

    fn scenes(&mut self, script: &Script) {
        let shot_count: usize = script.scenes.iter().map(|s| s.shots.len()).sum();
        if shot_count == 0 {
            self.error(
                "scenes".into(),
                "the script has no shots, so there is nothing to film".into(),
                "add a scene with at least one shot; `moviedreamer script new` shows how",
            );
        }
        if shot_count > MAX_SHOTS {
            self.error(
                "scenes".into(),
                format!("{shot_count} shots, over the limit of {MAX_SHOTS}"),
                "split the film into several scripts",
            );
        }
        let cast: Vec<&str> = script.characters.iter().map(|c| c.id.as_str()).collect();
        for (i, scene) in script.scenes.iter().enumerate() {
            let field = format!("scenes[{i}]");
            if scene.heading.location.trim().is_empty() {
                self.error(
                    format!("{field}.heading.location"),
                    "the scene has no location".into(),
                    "say where it happens, e.g. `location: harbour`",
                );
            }
            if scene.shots.is_empty() {
                self.warning(
                    format!("{field}.shots"),
                    "the scene has no shots and will not appear in the film".into(),
                    "add shots or remove the scene",
                );
            }
            for (j, shot) in scene.shots.iter().enumerate() {
                self.shot(format!("{field}.shots[{j}]"), shot, &cast);
            }
        }
    }

    fn shot(&mut self, field: String, shot: &Shot, cast: &[&str]) {
        if shot.description.trim().is_empty() {
            self.error(
                format!("{field}.description"),
                "the shot has no description".into(),
                "say what the shot shows; the planner reads it",
            );
        }
        self.text_length(format!("{field}.description"), &shot.description);
        let mut seen = HashSet::new();
        let mut positions = HashSet::new();
        for (k, present) in shot.characters.iter().enumerate() {
            let here = format!("{field}.characters[{k}]");
            if !cast.contains(&present.id.as_str()) {
                self.error(
                    here.clone(),
                    format!("unknown character \"{}\"", present.id),
                    unknown_character_hint(&present.id, cast),
                );
            }
            if !seen.insert(present.id.as_str()) {
                self.error(
                    here.clone(),
                    format!("\"{}\" is listed twice in this shot", present.id),
                    "list each character once per shot",
                );
            }
            if let Some(position) = present.position
                && !positions.insert(position)
            {
                self.warning(
                    here,
                    format!("two characters stand at {position:?}"),
                    "give each character in a shot its own position: left, centre or right",
                );
            }
        }
        if shot.shot == ShotType::CloseUp && shot.characters.len() > 1 {
            self.warning(
                format!("{field}.shot"),
                format!(
                    "a close-up shows one face, but {} characters are listed",
                    shot.characters.len()
                ),
                "use a medium shot for several characters, or list only the one in close-up",
            );
        }
        if let Some(seconds) = shot.duration
            && !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_SHOT_SECONDS)
        {
            self.error(
                format!("{field}.duration"),
                format!("a duration of {seconds} seconds is not possible"),
                format!(
                    "give a duration above 0 and at most {MAX_SHOT_SECONDS} seconds, or leave it out"
                ),
            );
        }
        for (k, line) in shot.dialogue.iter().enumerate() {
            let here = format!("{field}.dialogue[{k}]");
            if !cast.contains(&line.character.as_str()) {
                self.error(
                    format!("{here}.character"),
                    format!("unknown speaker \"{}\"", line.character),
                    unknown_character_hint(&line.character, cast),
                );
            }
            self.text_length(format!("{here}.line"), &line.line);
        }
    }
}

/// Whether `id` is a valid character id: a lower-case letter, then lower-case letters,
/// digits, `-` or `_`.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn unknown_character_hint(id: &str, cast: &[&str]) -> String {
    let closest = cast
        .iter()
        .map(|known| (edit_distance(id, known), *known))
        .min()
        .filter(|(distance, _)| *distance <= 2);
    match closest {
        Some((_, known)) => format!("did you mean \"{known}\"?"),
        None if cast.is_empty() => {
            format!("add \"{id}\" to `characters:`; the script has no cast yet")
        }
        None => format!(
            "add \"{id}\" to `characters:` or use one of: {}",
            cast.join(", ")
        ),
    }
}

/// Levenshtein distance, for "did you mean" hints. Hand-written: a dozen lines do not
/// justify a dependency.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Checks reference images once each, however often the script names them.
#[derive(Default)]
struct ImageChecks {
    done: HashMap<PathBuf, Result<(), (String, String)>>,
}

impl ImageChecks {
    fn check(&mut self, path: &Path) -> Result<(), (String, String)> {
        self.done
            .entry(path.to_path_buf())
            .or_insert_with(|| check_reference_image(path))
            .clone()
    }
}

/// Opens a reference image far enough to know it is a usable picture. Returns what is
/// wrong and how to fix it.
fn check_reference_image(path: &Path) -> Result<(), (String, String)> {
    let shown = path.display();
    let metadata = std::fs::metadata(path).map_err(|err| {
        let hint = "paths are relative to the folder of the script file".to_owned();
        if err.kind() == std::io::ErrorKind::NotFound {
            (format!("reference image {shown} does not exist"), hint)
        } else {
            (format!("cannot read reference image {shown}: {err}"), hint)
        }
    })?;
    if !metadata.is_file() {
        return Err((
            format!("reference image {shown} is not a file"),
            "name a PNG or JPEG file".into(),
        ));
    }
    if metadata.len() > MAX_REFERENCE_BYTES {
        return Err((
            format!(
                "reference image {shown} is {} bytes, over the limit of {MAX_REFERENCE_BYTES}",
                metadata.len()
            ),
            format!("shrink it; at most {MAX_REFERENCE_SIDE} pixels a side are used"),
        ));
    }
    let not_an_image = |err: &dyn std::fmt::Display| {
        (
            format!("reference image {shown} is not a readable PNG or JPEG image: {err}"),
            "save the picture as PNG or JPEG".to_owned(),
        )
    };
    let reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|err| not_an_image(&err))?;
    if reader.format().is_none() {
        return Err(not_an_image(&"unknown file type"));
    }
    let (width, height) = reader.into_dimensions().map_err(|err| not_an_image(&err))?;
    let sides = MIN_REFERENCE_SIDE..=MAX_REFERENCE_SIDE;
    if !sides.contains(&width) || !sides.contains(&height) {
        return Err((
            format!("reference image {shown} is {width}x{height} pixels"),
            format!(
                "use an image between {MIN_REFERENCE_SIDE} and {MAX_REFERENCE_SIDE} pixels on each side"
            ),
        ));
    }
    // The header can be fine while the pixels are cut short; decode them all.
    image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|err| not_an_image(&err))?
        .decode()
        .map_err(|err| not_an_image(&err))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::from_yaml_str;

    fn diagnostics(yaml: &str) -> Vec<Diagnostic> {
        let (script, map) = from_yaml_str(yaml, Path::new("film.yaml")).unwrap();
        validate(&script, &map, Path::new("film.yaml"), Path::new("."))
    }

    fn errors(yaml: &str) -> Vec<String> {
        diagnostics(yaml)
            .into_iter()
            .filter(Diagnostic::is_error)
            .map(|d| d.to_string())
            .collect()
    }

    const CAST: &str = "title: t\ncharacters:\n  - id: mara\n  - id: leo\n";

    #[test]
    fn an_unknown_character_is_located_and_a_near_miss_suggested() {
        let yaml = format!(
            "{CAST}scenes:\n  - heading: {{location: pier}}\n    shots:\n      - description: they meet\n        characters: [mara, lee]\n"
        );
        let errors = errors(&yaml);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("film.yaml:9:"),
            "line of the shot character: {}",
            errors[0]
        );
        assert!(errors[0].contains("scenes[0].shots[0].characters[1]"));
        assert!(errors[0].contains("did you mean \"leo\""));
    }

    #[test]
    fn duplicate_ids_name_the_first_use() {
        let yaml = "title: t\ncharacters:\n  - id: mara\n  - id: mara\nscenes:\n  - heading: {location: pier}\n    shots:\n      - description: x\n";
        let errors = errors(yaml);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("characters[1].id"));
        assert!(errors[0].contains("already used by characters[0]"));
    }

    #[test]
    fn a_script_without_shots_is_an_error() {
        let errors = errors("title: t\n");
        assert!(errors[0].contains("no shots"), "{errors:?}");
    }

    #[test]
    fn impossible_durations_are_errors() {
        for bad in ["-1", "0", "601", ".nan", ".inf"] {
            let yaml = format!(
                "title: t\nscenes:\n  - heading: {{location: pier}}\n    shots:\n      - description: x\n        duration: {bad}\n"
            );
            let errors = errors(&yaml);
            assert!(
                errors.iter().any(|e| e.contains("duration")),
                "{bad}: {errors:?}"
            );
        }
    }

    #[test]
    fn a_missing_reference_image_is_an_error_naming_the_path() {
        let yaml = "title: t\ncharacters:\n  - id: mara\n    faces: [no/such/face.png]\nscenes:\n  - heading: {location: pier}\n    shots:\n      - description: x\n";
        let errors = errors(yaml);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("characters[0].faces[0]"));
        assert!(errors[0].contains("no/such/face.png does not exist"));
        assert!(errors[0].starts_with("film.yaml:4:"), "{}", errors[0]);
    }

    #[test]
    fn a_text_file_named_png_is_not_an_image() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("face.png"), "hello").unwrap();
        let result = check_reference_image(&dir.path().join("face.png"));
        assert!(result.unwrap_err().0.contains("not a readable PNG or JPEG"));
    }

    #[test]
    fn tiny_and_valid_reference_images() {
        let dir = tempfile::tempdir().unwrap();
        let tiny = dir.path().join("tiny.png");
        image::RgbImage::new(8, 8).save(&tiny).unwrap();
        assert!(check_reference_image(&tiny).unwrap_err().0.contains("8x8"));
        let good = dir.path().join("good.png");
        image::RgbImage::new(64, 64).save(&good).unwrap();
        assert_eq!(check_reference_image(&good), Ok(()));
    }

    #[test]
    fn ids_must_be_lower_case_words() {
        assert!(is_valid_id("mara"));
        assert!(is_valid_id("old-tom_2"));
        assert!(!is_valid_id("Mara"));
        assert!(!is_valid_id("2mara"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("ma ra"));
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("leo", "lee"), 1);
        assert_eq!(edit_distance("mara", "maria"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
