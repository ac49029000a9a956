//! Reading a script file from disk, in whichever format its name says, within the size
//! limits, and checking it.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, SourceMap};
use crate::error::ScriptError;
use crate::limits::MAX_SCRIPT_BYTES;
use crate::model::Script;
use crate::{fountain, validate, yaml};

/// The formats a script can be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Our own YAML layout (`*.yaml`, `*.yml`).
    Yaml,
    /// A Fountain screenplay (`*.fountain`, `*.spmd`), imported with warnings.
    Fountain,
}

impl Format {
    /// The format a file name says, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "fountain" | "spmd" => Some(Format::Fountain),
            _ => None,
        }
    }
}

/// A script read from a file, with what is needed to check it and to report on it.
#[derive(Debug, Clone)]
pub struct LoadedScript {
    /// The file it was read from.
    pub path: PathBuf,
    /// The format it was read in.
    pub format: Format,
    /// The script itself.
    pub script: Script,
    /// Where its fields came from in the file.
    pub source_map: SourceMap,
    /// What an import had to guess or drop (empty for YAML).
    pub import_warnings: Vec<Diagnostic>,
}

impl LoadedScript {
    /// The directory reference image paths are relative to.
    pub fn base_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Import warnings followed by every validation finding, errors and warnings.
    pub fn check(&self) -> Vec<Diagnostic> {
        let mut diagnostics = self.import_warnings.clone();
        diagnostics.extend(validate::validate(
            &self.script,
            &self.source_map,
            &self.path,
            self.base_dir(),
        ));
        diagnostics
    }
}

/// Reads a YAML script or imports a Fountain screenplay, by file extension.
pub fn load(path: &Path) -> Result<LoadedScript, ScriptError> {
    let format = Format::from_path(path).ok_or_else(|| ScriptError::UnknownFormat {
        path: path.to_path_buf(),
    })?;
    let text = read_text(path)?;
    let (script, source_map, import_warnings) = match format {
        Format::Yaml => {
            let (script, map) = yaml::from_yaml_str(&text, path)?;
            (script, map, Vec::new())
        }
        Format::Fountain => {
            let import = fountain::import_str(&text, path);
            (import.script, import.source_map, import.warnings)
        }
    };
    Ok(LoadedScript {
        path: path.to_path_buf(),
        format,
        script,
        source_map,
        import_warnings,
    })
}

/// Reads a UTF-8 text file of at most [`MAX_SCRIPT_BYTES`], without a byte-order mark.
///
/// The size is checked before reading and the read itself is bounded, so a huge file, a
/// device or a growing file cannot exhaust memory.
pub fn read_text(path: &Path) -> Result<String, ScriptError> {
    let io = |source| ScriptError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(io(std::io::Error::other(
            "not a regular file (a directory or a device?)",
        )));
    }
    if metadata.len() > MAX_SCRIPT_BYTES {
        return Err(ScriptError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
            limit: MAX_SCRIPT_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_SCRIPT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(ScriptError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            limit: MAX_SCRIPT_BYTES,
        });
    }
    text_from_bytes(bytes, path)
}

/// Checks that `bytes` are text: UTF-8 with no NUL byte. Drops a leading byte-order mark.
pub fn text_from_bytes(mut bytes: Vec<u8>, path: &Path) -> Result<String, ScriptError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(ScriptError::NotText {
            path: path.to_path_buf(),
            offset,
            what: "a NUL byte",
        });
    }
    String::from_utf8(bytes).map_err(|err| ScriptError::NotText {
        path: path.to_path_buf(),
        offset: err.utf8_error().valid_up_to(),
        what: "an invalid UTF-8 sequence",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.YML")), Some(Format::Yaml));
        assert_eq!(
            Format::from_path(Path::new("x.fountain")),
            Some(Format::Fountain)
        );
        assert_eq!(Format::from_path(Path::new("x.docx")), None);
        assert_eq!(Format::from_path(Path::new("noextension")), None);
    }

    #[test]
    fn binary_bytes_are_rejected_with_their_offset() {
        let err = text_from_bytes(b"title: x\n\xff\xfe".to_vec(), Path::new("f.yaml")).unwrap_err();
        assert!(
            matches!(err, ScriptError::NotText { offset: 9, .. }),
            "{err}"
        );
        let err = text_from_bytes(b"ab\0c".to_vec(), Path::new("f.yaml")).unwrap_err();
        assert!(
            matches!(err, ScriptError::NotText { offset: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let text = text_from_bytes(b"\xEF\xBB\xBFtitle: x".to_vec(), Path::new("f.yaml")).unwrap();
        assert_eq!(text, "title: x");
    }
}
