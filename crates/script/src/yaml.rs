//! Reading and writing scripts as YAML.
//!
//! `serde-saphyr` does the typed reading: it never panics, bounds aliases and nesting, and
//! reports the line and column of a malformed document. A second pass with `saphyr`'s
//! marked tree records where every node starts, so that validation can point at a field
//! after the document has been read.

use std::path::Path;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::diagnostic::{Location, SourceMap};
use crate::error::ScriptError;
use crate::model::Script;

/// Reads a script from YAML text. `file` is only used in messages.
pub fn from_yaml_str(text: &str, file: &Path) -> Result<(Script, SourceMap), ScriptError> {
    if is_blank(text) {
        return Err(ScriptError::Syntax {
            path: file.to_path_buf(),
            location: None,
            message: "the script is empty".into(),
            hint: Some("start from the template: `moviedreamer script new -o film.yaml`".into()),
        });
    }
    let script: Script = serde_saphyr::from_str(text).map_err(|err| syntax_error(&err, file))?;
    Ok((script, source_map(text)))
}

/// Writes a script as YAML, in the same layout `from_yaml_str` reads.
pub fn to_yaml_string(script: &Script) -> String {
    // Serialising our own plain data types cannot fail: no maps with non-string keys, no
    // non-finite floats reach here (validation rejects them on the way in).
    serde_saphyr::to_string(script).unwrap_or_else(|err| format!("# cannot write script: {err}\n"))
}

fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

fn syntax_error(err: &serde_saphyr::Error, file: &Path) -> ScriptError {
    let location = err.location().and_then(|l| {
        (l.line() > 0).then(|| Location {
            line: l.line() as usize,
            column: l.column().max(1) as usize,
        })
    });
    let message = err.without_snippet().to_string();
    let hint = if message.contains("unknown field") {
        Some("check the spelling of the key; `moviedreamer script new` prints every key with a comment".into())
    } else if message.contains("unknown variant") {
        Some("use one of the values listed above".into())
    } else if message.contains("missing field") {
        Some("add the missing key; see docs/script-format.md".into())
    } else {
        None
    };
    ScriptError::Syntax {
        path: file.to_path_buf(),
        location,
        message: first_line(&message),
        hint,
    }
}

/// serde-saphyr appends its own location after the message; ours is in front already.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    match line.find(" at line ") {
        Some(cut) => line[..cut].to_owned(),
        None => line.to_owned(),
    }
}

/// Where each node of the document starts, keyed by field path.
fn source_map(text: &str) -> SourceMap {
    let mut map = SourceMap::default();
    if let Ok(documents) = MarkedYaml::load_from_str(text)
        && let Some(root) = documents.first()
    {
        record(root, String::new(), &mut map);
    }
    map
}

fn record(node: &MarkedYaml<'_>, path: String, map: &mut SourceMap) {
    let start = node.span.start;
    map.insert(
        path.clone(),
        Location {
            line: start.line(),
            column: start.col() + 1,
        },
    );
    match &node.data {
        YamlData::Mapping(entries) => {
            for (key, value) in entries {
                let key = match &key.data {
                    YamlData::Value(Scalar::String(key)) => key.to_string(),
                    YamlData::Representation(key, ..) => key.to_string(),
                    _ => continue,
                };
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                record(value, child, map);
            }
        }
        YamlData::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                record(item, format!("{path}[{i}]"), map);
            }
        }
        YamlData::Tagged(_, inner) => record(inner, path, map),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILM: &str = "\
title: Two Keepers
style: {name: sepia}
characters:
  - id: mara
    description: tall, red coat
scenes:
  - heading: {setting: interior, location: lighthouse, time: night}
    shots:
      - description: Mara climbs the stairs.
        shot: wide
        characters: [mara]
      - description: Mara waves.
        characters:
          - {id: mara, position: left, action: wave}
        duration: 3
";

    #[test]
    fn reads_both_spellings_of_a_shot_character() {
        let (script, _) = from_yaml_str(FILM, Path::new("film.yaml")).unwrap();
        let shots = &script.scenes[0].shots;
        assert_eq!(shots[0].characters[0].id, "mara");
        assert_eq!(shots[0].characters[0].position, None);
        assert_eq!(
            shots[1].characters[0].position,
            Some(crate::model::Position::Left)
        );
        assert_eq!(shots[1].characters[0].action.as_deref(), Some("wave"));
    }

    #[test]
    fn records_where_fields_start() {
        let (_, map) = from_yaml_str(FILM, Path::new("film.yaml")).unwrap();
        assert_eq!(
            map.locate("scenes[0].shots[1].characters[0]"),
            Some(Location {
                line: 14,
                column: 13
            })
        );
        assert_eq!(
            map.locate("characters[0].id"),
            Some(Location { line: 4, column: 9 })
        );
    }

    #[test]
    fn written_yaml_reads_back_identically() {
        let (script, _) = from_yaml_str(FILM, Path::new("film.yaml")).unwrap();
        let text = to_yaml_string(&script);
        let (again, _) = from_yaml_str(&text, Path::new("again.yaml")).unwrap();
        assert_eq!(script, again);
    }

    #[test]
    fn a_misspelt_key_is_reported_with_its_line() {
        let text = FILM.replace("description: tall", "descripton: tall");
        let err = from_yaml_str(&text, Path::new("film.yaml")).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("film.yaml:5:"), "{message}");
        assert!(message.contains("descripton"), "{message}");
        assert!(message.contains("help:"), "{message}");
    }

    #[test]
    fn an_empty_document_says_so() {
        let err = from_yaml_str("# nothing yet\n\n", Path::new("film.yaml")).unwrap_err();
        assert!(err.to_string().contains("the script is empty"));
    }
}
