//! The multimodal script: everything a film is made from before any model runs.
//!
//! A script has a title, a visual style, a cast (each character with a description and
//! reference face images) and scenes of shots. It is read from our YAML layout
//! ([`yaml`]) or imported from a Fountain screenplay ([`fountain`]), then checked by
//! [`validate`], which reports every problem with its file, line, column and field.
//!
//! ```
//! use std::path::Path;
//! let yaml = "title: Pier\nscenes:\n  - heading: {location: pier}\n    shots:\n      - description: Gulls.\n";
//! let (script, _) = moviedreamer_script::yaml::from_yaml_str(yaml, Path::new("pier.yaml")).unwrap();
//! assert_eq!(script.summary().shots, 1);
//! ```

pub mod diagnostic;
pub mod error;
pub mod fountain;
pub mod limits;
pub mod model;
pub mod schema;
pub mod source;
pub mod validate;
pub mod yaml;

pub use diagnostic::{Diagnostic, Location, Severity, SourceMap};
pub use error::ScriptError;
pub use model::*;
pub use source::{Format, LoadedScript, load};

/// A commented starting point for a new script, printed by `moviedreamer script new`.
pub const TEMPLATE: &str = include_str!("template.yaml");
