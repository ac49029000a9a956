//! The run manifest: `manifest.json` in a run directory says which script, configuration and
//! seed a run was made with and how far every item has got, so an interrupted run resumes
//! where it stopped and a changed script is never mixed with old results.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic::write_atomically;
use crate::error::PipelineError;

/// Name of the manifest file inside a run directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Version of the manifest layout; bumped when a field changes meaning.
pub const MANIFEST_VERSION: u32 = 1;

/// How far one item of work (a keyframe, a clip, the movie) has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemStatus {
    /// Not started.
    Pending,
    /// Started but not finished; redone on resume.
    Running,
    /// Finished; its output file is complete.
    Done,
    /// Failed; the message says why.
    Failed,
}

/// The state of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Where it has got.
    pub status: ItemStatus,
    /// Its output, relative to the run directory, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything needed to resume or reproduce a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version, [`MANIFEST_VERSION`].
    pub version: u32,
    /// The script file the run was made from.
    pub script_path: PathBuf,
    /// SHA-256 of the script file's bytes, in hex.
    pub script_sha256: String,
    /// The run's configuration (models, sizes, guidance), as given.
    pub config: serde_json::Value,
    /// Seeds by name (`plan`, `render`, `animate`).
    pub seeds: BTreeMap<String, u64>,
    /// Items by id (`keyframe/000012`), in order.
    pub items: BTreeMap<String, Item>,
}

impl Manifest {
    /// A fresh manifest for `script_path`, hashing its current contents, with every item
    /// pending.
    pub fn new(
        script_path: &Path,
        config: serde_json::Value,
        seeds: BTreeMap<String, u64>,
        item_ids: impl IntoIterator<Item = String>,
    ) -> Result<Self, PipelineError> {
        let items = item_ids
            .into_iter()
            .map(|id| {
                let item = Item {
                    status: ItemStatus::Pending,
                    output: None,
                    error: None,
                };
                (id, item)
            })
            .collect();
        Ok(Manifest {
            version: MANIFEST_VERSION,
            script_path: script_path.to_path_buf(),
            script_sha256: sha256_file(script_path)?,
            config,
            seeds,
            items,
        })
    }

    /// The manifest of a run in `run_dir`: a fresh one (saved there) when the directory has
    /// none, or the one already there if it was made from the same script bytes, config,
    /// seeds and items, so the run continues; a directory holding another run is refused.
    pub fn open_run(
        run_dir: &Path,
        script_path: &Path,
        config: serde_json::Value,
        seeds: BTreeMap<String, u64>,
        item_ids: impl IntoIterator<Item = String>,
    ) -> Result<Self, PipelineError> {
        let fresh = Manifest::new(script_path, config, seeds, item_ids)?;
        if !run_dir.join(MANIFEST_FILE).is_file() {
            fresh.save(run_dir)?;
            return Ok(fresh);
        }
        let existing = Manifest::load(run_dir)?;
        let other = |message: String| PipelineError::OtherRun {
            path: run_dir.join(MANIFEST_FILE),
            message,
        };
        if existing.script_sha256 != fresh.script_sha256 {
            return Err(other(format!(
                "this run was made from another version of {}",
                script_path.display()
            )));
        }
        if existing.config != fresh.config || existing.seeds != fresh.seeds {
            let mut changed = setting_differences(&existing.config, &fresh.config);
            if existing.seeds != fresh.seeds {
                changed.push(format!("seeds {:?} → {:?}", existing.seeds, fresh.seeds));
            }
            return Err(other(format!(
                "this run was made with other settings ({})",
                changed.join("; ")
            )));
        }
        if existing.items.keys().ne(fresh.items.keys()) {
            return Err(other("this run was made for other items".into()));
        }
        Ok(existing)
    }

    /// Reads `manifest.json` from a run directory.
    pub fn load(run_dir: &Path) -> Result<Self, PipelineError> {
        let path = run_dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| PipelineError::Io {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|err| PipelineError::BadManifest {
                path: path.clone(),
                message: err.to_string(),
            })?;
        if manifest.version != MANIFEST_VERSION {
            return Err(PipelineError::BadManifest {
                path,
                message: format!(
                    "layout version {} is not the supported version {MANIFEST_VERSION}",
                    manifest.version
                ),
            });
        }
        Ok(manifest)
    }

    /// Writes `manifest.json` into `run_dir` atomically: a reader, or a run killed in the
    /// middle, sees the old manifest or the new one, never a mix.
    pub fn save(&self, run_dir: &Path) -> Result<(), PipelineError> {
        let mut json =
            serde_json::to_string_pretty(self).map_err(|err| PipelineError::BadManifest {
                path: run_dir.join(MANIFEST_FILE),
                message: err.to_string(),
            })?;
        json.push('\n');
        write_atomically(&run_dir.join(MANIFEST_FILE), json.as_bytes())
    }

    /// Whether the script file still has the bytes this run was made from.
    pub fn script_unchanged(&self) -> Result<bool, PipelineError> {
        Ok(sha256_file(&self.script_path)? == self.script_sha256)
    }

    /// Sets the status of an item, with its output or error.
    pub fn set(&mut self, id: &str, item: Item) -> Result<(), PipelineError> {
        match self.items.get_mut(id) {
            Some(slot) => {
                *slot = item;
                Ok(())
            }
            None => Err(PipelineError::UnknownItem { id: id.to_owned() }),
        }
    }

    /// Counts of items by status: pending, running, done, failed.
    pub fn progress(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for item in self.items.values() {
            counts[item.status as usize] += 1;
        }
        counts
    }
}

/// SHA-256 of a file's bytes, in lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, PipelineError> {
    let bytes = std::fs::read(path).map_err(|source| PipelineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The settings that differ between `old` and `new`, each as `path: old → new` (long
/// values shortened), so a refused run says what changed rather than printing both whole.
pub fn setting_differences(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    differences("", old, new, &mut out);
    out
}

/// [`setting_differences`] under `path`, appended to `out`.
fn differences(
    path: &str,
    old: &serde_json::Value,
    new: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    if let (Value::Object(a), Value::Object(b)) = (old, new) {
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for key in keys {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let missing = Value::Null;
            differences(
                &inner,
                a.get(key).unwrap_or(&missing),
                b.get(key).unwrap_or(&missing),
                out,
            );
        }
    } else if old != new {
        let short = |v: &Value| {
            let text = v.to_string();
            match text.char_indices().nth(40) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        };
        out.push(format!("{path}: {} → {}", short(old), short(new)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(dir: &Path) -> Manifest {
        let script = dir.join("film.yaml");
        std::fs::write(&script, "title: x\n").unwrap();
        let seeds = BTreeMap::from([("render".to_owned(), 7)]);
        let ids = (0..3).map(|i| format!("keyframe/{i:06}"));
        Manifest::new(&script, serde_json::json!({"steps": 20}), seeds, ids).unwrap()
    }

    #[test]
    fn saves_and_loads_the_same_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = manifest(dir.path());
        m.set(
            "keyframe/000001",
            Item {
                status: ItemStatus::Done,
                output: Some("keyframes/000001.png".into()),
                error: None,
            },
        )
        .unwrap();
        m.save(dir.path()).unwrap();
        let loaded = Manifest::load(dir.path()).unwrap();
        assert_eq!(loaded, m);
        assert_eq!(loaded.progress(), [2, 0, 1, 0]);
        assert_eq!(
            loaded.script_sha256,
            "152f6f6e12c83825d541fc650946a2d479475e3956a864c5df266652fc7a82d7"
        );
    }

    #[test]
    fn a_run_with_other_settings_is_refused_naming_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("film.yaml");
        std::fs::write(&script, "title: x\n").unwrap();
        let config = |bytes: u64| serde_json::json!({"steps": 20, "renderer": {"weights_bytes": bytes, "path": "m"}});
        let seeds = BTreeMap::from([("render".to_owned(), 0)]);
        let ids = || ["a".to_owned()];
        Manifest::open_run(dir.path(), &script, config(1), seeds.clone(), ids()).unwrap();
        let error = Manifest::open_run(dir.path(), &script, config(2), seeds, ids())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("renderer.weights_bytes: 1 → 2") && !error.contains("steps"),
            "{error}"
        );
    }

    #[test]
    fn detects_a_changed_script() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest(dir.path());
        assert!(m.script_unchanged().unwrap());
        std::fs::write(dir.path().join("film.yaml"), "title: y\n").unwrap();
        assert!(!m.script_unchanged().unwrap());
    }

    #[test]
    fn an_unknown_item_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = manifest(dir.path());
        let done = Item {
            status: ItemStatus::Done,
            output: None,
            error: None,
        };
        assert!(m.set("keyframe/999999", done).is_err());
    }

    #[test]
    fn a_corrupt_manifest_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST_FILE), "{ not json").unwrap();
        let err = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("manifest.json"), "{err}");
    }
}
