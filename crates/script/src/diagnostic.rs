//! Messages about a script that point at the file, line, column and field at fault and say
//! how to fix it.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a source file, both numbers counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where each field of a loaded script came from, keyed by field path such as
/// `scenes[2].shots[0].characters[1]`.
///
/// YAML records every node; a Fountain import records scenes, shots and dialogue lines.
/// Looking up a path that was not recorded falls back to its nearest recorded parent, so
/// a message always points as close to the problem as the source allows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceMap {
    locations: HashMap<String, Location>,
}

impl SourceMap {
    /// Records where `field` starts.
    pub fn insert(&mut self, field: impl Into<String>, location: Location) {
        self.locations.insert(field.into(), location);
    }

    /// Where `field` starts, or where its nearest recorded parent does.
    pub fn locate(&self, field: &str) -> Option<Location> {
        let mut path = field;
        loop {
            if let Some(location) = self.locations.get(path) {
                return Some(*location);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The script can still be used, perhaps not as the author meant.
    Warning,
    /// The script cannot be used until this is fixed.
    Error,
}

/// One finding about a script.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file the finding is about.
    pub file: PathBuf,
    /// Line and column, where known.
    pub location: Option<Location>,
    /// The field path, such as `characters[1].faces[0]`; empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error about `field`, located through `source_map`.
    pub fn error(file: &Path, source_map: &SourceMap, field: String, message: String) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            location: source_map.locate(&field),
            field,
            message,
            hint: None,
        }
    }

    /// A warning about `field`, located through `source_map`.
    pub fn warning(file: &Path, source_map: &SourceMap, field: String, message: String) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, source_map, field, message)
        }
    }

    /// Adds advice on how to fix the problem.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this is an error rather than a warning.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(location) = self.location {
            write!(f, ":{location}")?;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {severity}: ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_falls_back_to_the_nearest_recorded_parent() {
        let mut map = SourceMap::default();
        map.insert("scenes[1]", Location { line: 7, column: 3 });
        map.insert("scenes[1].shots[0]", Location { line: 9, column: 5 });
        assert_eq!(
            map.locate("scenes[1].shots[0].characters[2]"),
            Some(Location { line: 9, column: 5 })
        );
        assert_eq!(
            map.locate("scenes[1].heading.location"),
            Some(Location { line: 7, column: 3 })
        );
        assert_eq!(map.locate("characters[0]"), None);
    }

    #[test]
    fn display_names_file_line_field_and_hint() {
        let mut map = SourceMap::default();
        map.insert("characters[0].id", Location { line: 4, column: 9 });
        let d = Diagnostic::error(
            Path::new("film.yaml"),
            &map,
            "characters[0].id".into(),
            "duplicate id \"mara\"".into(),
        )
        .with_hint("give every character its own id");
        assert_eq!(
            d.to_string(),
            "film.yaml:4:9: error: characters[0].id: duplicate id \"mara\"\n  help: give every character its own id"
        );
    }
}
