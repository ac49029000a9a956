//! Errors that stop a script from being read at all. Problems inside a script that reads
//! are [`Diagnostic`](crate::Diagnostic)s instead, so a user sees all of them at once.

use std::path::PathBuf;

use crate::diagnostic::Location;

/// Why a script file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be opened or read.
    #[error("{}: cannot read the file: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_SCRIPT_BYTES`](crate::limits::MAX_SCRIPT_BYTES).
    #[error(
        "{}: the file is {size} bytes, over the {limit}-byte limit for scripts\n  help: is this really a script? Split very long films into several scripts",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error(
        "{}: byte {offset} is not UTF-8 text ({what}); this looks like a binary file\n  help: scripts are UTF-8 YAML (.yaml, .yml) or Fountain (.fountain) text files",
        path.display()
    )]
    NotText {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first bad byte.
        offset: usize,
        /// What was found there.
        what: &'static str,
    },
    /// The file name does not say which format it is in.
    #[error(
        "{}: unknown script format\n  help: name YAML scripts *.yaml or *.yml and Fountain screenplays *.fountain",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The text is not valid YAML, or does not have the shape of a script.
    #[error("{}: {message}{}", display_at(path, location), hint.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where the problem is, when known.
        location: Option<Location>,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
}

fn display_at(path: &std::path::Path, location: &Option<Location>) -> String {
    match location {
        Some(location) => format!("{}:{location}", path.display()),
        None => path.display().to_string(),
    }
}
